//! imaplib's `untagged_responses`: untagged data collected by name.
//!
//! Names keep the order of their first arrival (imaplib's dict order), and
//! every lookup goes through an index, so a server that sends many
//! distinct names costs linear time, never quadratic. The store also keeps
//! the count and size of what it holds, for the collection limits.

use std::collections::HashMap;

use crate::response::Data;

/// The bytes a piece of untagged data holds.
pub(crate) fn data_len(d: &Data) -> u64 {
    match d {
        Data::None => 0,
        Data::Line(b) => b.len() as u64,
        Data::Literal(l) => (l.header.len() + l.body.len()) as u64,
        Data::List(v) => v.iter().map(data_len).sum(),
    }
}

#[derive(Debug, Default)]
pub(crate) struct UntaggedStore {
    entries: Vec<(String, Vec<Data>)>,
    /// Bytes held by each entry, parallel to `entries`.
    sizes: Vec<u64>,
    index: HashMap<String, usize>,
    count: usize,
    bytes: u64,
}

impl UntaggedStore {
    pub(crate) fn as_slice(&self) -> &[(String, Vec<Data>)] {
        &self.entries
    }

    /// How many pieces of data are held.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// How many bytes they hold.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn append(&mut self, name: &str, data: Data) {
        let len = data_len(&data);
        self.count += 1;
        self.bytes += len;
        match self.index.get(name) {
            Some(&i) => {
                self.entries[i].1.push(data);
                self.sizes[i] += len;
            }
            None => {
                self.index.insert(name.to_string(), self.entries.len());
                self.entries.push((name.to_string(), vec![data]));
                self.sizes.push(len);
            }
        }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Vec<Data>> {
        self.index.get(name).map(|&i| &self.entries[i].1)
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<Vec<Data>> {
        let i = self.index.remove(name)?;
        let (_, data) = self.entries.remove(i);
        let size = self.sizes.remove(i);
        self.count -= data.len();
        self.bytes -= size;
        for (n, _) in &self.entries[i..] {
            if let Some(j) = self.index.get_mut(n) {
                *j -= 1;
            }
        }
        Some(data)
    }

    pub(crate) fn clear(&mut self) {
        *self = UntaggedStore::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn line(s: &'static str) -> Data {
        Data::Line(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn keeps_first_arrival_order_and_accounts() {
        let mut s = UntaggedStore::default();
        s.append("EXISTS", line("3"));
        s.append("FLAGS", line("(\\Seen)"));
        s.append("EXISTS", line("4"));
        s.append("OK", line("[UIDNEXT 5] x"));
        let names: Vec<&str> = s.as_slice().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["EXISTS", "FLAGS", "OK"]);
        assert_eq!((s.count(), s.bytes()), (4, 1 + 7 + 1 + 13));
        assert_eq!(s.take("FLAGS").unwrap(), vec![line("(\\Seen)")]);
        assert_eq!((s.count(), s.bytes()), (3, 15));
        // The index still finds entries that moved.
        assert_eq!(s.get("OK").unwrap(), &vec![line("[UIDNEXT 5] x")]);
        assert_eq!(s.get("EXISTS").unwrap().len(), 2);
        assert!(!s.contains("FLAGS"));
        s.append("FLAGS", line("()"));
        let names: Vec<&str> = s.as_slice().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["EXISTS", "OK", "FLAGS"]);
        s.clear();
        assert_eq!((s.count(), s.bytes(), s.as_slice().len()), (0, 0, 0));
    }
}
