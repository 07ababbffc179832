//! Pairing messages across two listings by what identifies a message when
//! its UID does not: (Message-ID, size, INTERNALDATE). `backup` pairs a
//! mailbox with its backup after a UIDVALIDITY change; `copy` pairs its
//! records with the destination after an interruption or a UIDVALIDITY
//! change on either side.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// What identifies a message without its UID: the Message-ID (empty when
/// it has none), the size in bytes, and the INTERNALDATE (as a string or
/// a timestamp, whichever both sides agree on).
pub type Key<D> = (String, u64, D);

/// Pairs `ours` with `theirs` one to one by [`Key`], in order: the n-th of
/// ours with a key goes with the n-th of theirs with that key. A key
/// without a Message-ID pairs only where it is unique on both sides (two
/// messages of one size and date and no Message-ID cannot be told apart).
///
/// Returns the pairs and, in their order, the unpaired of `ours` and of
/// `theirs`.
pub fn pair<D, A, B>(ours: Vec<(Key<D>, A)>, theirs: Vec<(Key<D>, B)>) -> Paired<A, B>
where
    D: Eq + Hash + Clone,
{
    let mut ambiguous: HashSet<Key<D>> = HashSet::new();
    {
        let mut count: HashMap<&Key<D>, (usize, usize)> = HashMap::new();
        for (k, _) in &ours {
            if k.0.is_empty() {
                count.entry(k).or_default().0 += 1;
            }
        }
        for (k, _) in &theirs {
            if k.0.is_empty() {
                count.entry(k).or_default().1 += 1;
            }
        }
        for (k, (a, b)) in count {
            if a > 1 || b > 1 {
                ambiguous.insert(k.clone());
            }
        }
    }
    let mut pool: HashMap<Key<D>, std::collections::VecDeque<A>> = HashMap::new();
    let mut out = Paired {
        pairs: Vec::new(),
        ours: Vec::new(),
        theirs: Vec::new(),
    };
    for (k, a) in ours {
        if ambiguous.contains(&k) {
            out.ours.push(a);
        } else {
            pool.entry(k).or_default().push_back(a);
        }
    }
    for (k, b) in theirs {
        match pool.get_mut(&k).and_then(|v| v.pop_front()) {
            Some(a) => out.pairs.push((a, b)),
            None => out.theirs.push(b),
        }
    }
    out.ours.extend(pool.into_values().flatten());
    out
}

/// What [`pair`] found.
#[derive(Debug)]
pub struct Paired<A, B> {
    /// Messages found on both sides.
    pub pairs: Vec<(A, B)>,
    /// Ours with no partner.
    pub ours: Vec<A>,
    /// Theirs with no partner.
    pub theirs: Vec<B>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: &str, size: u64, date: i64) -> Key<i64> {
        (id.to_string(), size, date)
    }

    #[test]
    fn pairs_by_id_size_and_date_one_to_one() {
        let ours = vec![
            (k("<a@x>", 10, 1), 'a'),
            (k("<b@x>", 20, 2), 'b'),
            (k("<b@x>", 20, 2), 'B'),
            (k("<c@x>", 30, 3), 'c'),
        ];
        let theirs = vec![
            (k("<b@x>", 20, 2), 2),
            (k("<a@x>", 10, 1), 1),
            (k("<c@x>", 31, 3), 3), // another size: another message
            (k("<b@x>", 20, 2), 4),
            (k("<b@x>", 20, 2), 5), // a third copy has no partner
        ];
        let p = pair(ours, theirs);
        assert_eq!(p.pairs, vec![('b', 2), ('a', 1), ('B', 4)]);
        assert_eq!(p.ours, vec!['c']);
        assert_eq!(p.theirs, vec![3, 5]);
    }

    #[test]
    fn without_message_id_only_unique_keys_pair() {
        let ours = vec![
            (k("", 10, 1), 'x'),
            (k("", 20, 2), 'y'),
            (k("", 20, 2), 'z'),
        ];
        let theirs = vec![(k("", 10, 1), 1), (k("", 20, 2), 2)];
        let p = pair(ours, theirs);
        assert_eq!(p.pairs, vec![('x', 1)]);
        let mut left = p.ours;
        left.sort();
        assert_eq!(left, vec!['y', 'z']);
        assert_eq!(p.theirs, vec![2]);
        // unique on our side but not on theirs: still refused
        let p = pair(
            vec![(k("", 5, 5), 'q')],
            vec![(k("", 5, 5), 1), (k("", 5, 5), 2)],
        );
        assert!(p.pairs.is_empty());
    }
}
