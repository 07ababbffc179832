//! [`InlineVec`]: a list that keeps a single item inline.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// A list that keeps a single item inline and allocates only for more:
/// the usual one address of a `From:` or parameter of a body part costs no
/// allocation. It is used like a `Vec` (it dereferences to a slice,
/// iterates, collects, and compares with `Vec`s, arrays and slices).
///
/// It has no `Drop` of its own, so, like a `Vec`, a parsed response holding
/// it may be dropped after the bytes it borrows from have moved on.
///
/// ```
/// use imap4_proto::parse::{parse_response, Response, Untagged};
///
/// let r = parse_response(
///     b"* 1 FETCH (ENVELOPE (NIL NIL ((\"Ann\" NIL \"ann\" \"example.org\")) NIL NIL NIL NIL NIL NIL NIL))\r\n",
/// )
/// .unwrap();
/// let Response::Data(Untagged::Fetch(f)) = r else { panic!() };
/// let from = &f.envelope().unwrap().from;
/// assert_eq!(from.len(), 1);
/// assert_eq!(from[0].email().as_deref(), Some("ann@example.org"));
/// assert!(from.iter().all(|a| a.host.is_some()));
/// ```
#[derive(Clone)]
pub struct InlineVec<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    One(T),
    /// Empty, or more than one item.
    Heap(Vec<T>),
}

impl<T> InlineVec<T> {
    /// An empty list (no allocation).
    pub const fn new() -> Self {
        InlineVec(Repr::Heap(Vec::new()))
    }

    /// Adds `item` at the end.
    #[inline]
    pub fn push(&mut self, item: T) {
        match &mut self.0 {
            Repr::Heap(v) if v.capacity() == 0 => self.0 = Repr::One(item),
            Repr::Heap(v) => v.push(item),
            Repr::One(_) => self.spill(item),
        }
    }

    /// A second item: both move to the heap.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, item: T) {
        let mut v = Vec::with_capacity(4);
        if let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Heap(Vec::new())) {
            v.push(first);
        }
        v.push(item);
        self.0 = Repr::Heap(v);
    }

    /// The items as a `Vec`.
    pub fn into_vec(self) -> Vec<T> {
        match self.0 {
            Repr::One(t) => vec![t],
            Repr::Heap(v) => v,
        }
    }

    /// Whether the items live on the heap (more than one of them, or
    /// converted from a `Vec` with room allocated).
    pub fn spilled(&self) -> bool {
        matches!(&self.0, Repr::Heap(v) if v.capacity() > 0)
    }
}

impl<T> Default for InlineVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for InlineVec<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::One(t) => std::slice::from_ref(t),
            Repr::Heap(v) => v,
        }
    }
}

impl<T> DerefMut for InlineVec<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::One(t) => std::slice::from_mut(t),
            Repr::Heap(v) => v,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for InlineVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq> PartialEq for InlineVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl<T: Eq> Eq for InlineVec<T> {}

impl<T: Hash> Hash for InlineVec<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self[..].hash(state);
    }
}

impl<T: PartialEq> PartialEq<Vec<T>> for InlineVec<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self[..] == other[..]
    }
}

impl<T: PartialEq> PartialEq<[T]> for InlineVec<T> {
    fn eq(&self, other: &[T]) -> bool {
        self[..] == *other
    }
}

impl<T: PartialEq, const M: usize> PartialEq<[T; M]> for InlineVec<T> {
    fn eq(&self, other: &[T; M]) -> bool {
        self[..] == other[..]
    }
}

impl<T> From<Vec<T>> for InlineVec<T> {
    fn from(v: Vec<T>) -> Self {
        InlineVec(Repr::Heap(v))
    }
}

impl<T> From<InlineVec<T>> for Vec<T> {
    fn from(v: InlineVec<T>) -> Self {
        v.into_vec()
    }
}

impl<T> FromIterator<T> for InlineVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = InlineVec::new();
        v.extend(iter);
        v
    }
}

impl<T> Extend<T> for InlineVec<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for item in iter {
            self.push(item);
        }
    }
}

impl<'s, T> IntoIterator for &'s InlineVec<T> {
    type Item = &'s T;
    type IntoIter = std::slice::Iter<'s, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'s, T> IntoIterator for &'s mut InlineVec<T> {
    type Item = &'s mut T;
    type IntoIter = std::slice::IterMut<'s, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T> IntoIterator for InlineVec<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter(match self.0 {
            Repr::One(t) => IterRepr::One(Some(t).into_iter()),
            Repr::Heap(v) => IterRepr::Heap(v.into_iter()),
        })
    }
}

/// The items of an [`InlineVec`], by value.
#[derive(Debug)]
pub struct IntoIter<T>(IterRepr<T>);

#[derive(Debug)]
enum IterRepr<T> {
    One(std::option::IntoIter<T>),
    Heap(std::vec::IntoIter<T>),
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match &mut self.0 {
            IterRepr::One(it) => it.next(),
            IterRepr::Heap(it) => it.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::One(it) => it.size_hint(),
            IterRepr::Heap(it) => it.size_hint(),
        }
    }
}

impl<T> DoubleEndedIterator for IntoIter<T> {
    fn next_back(&mut self) -> Option<T> {
        match &mut self.0 {
            IterRepr::One(it) => it.next_back(),
            IterRepr::Heap(it) => it.next_back(),
        }
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for InlineVec<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::InlineVec;

    #[test]
    fn keeps_one_inline_then_spills_keeping_order() {
        let mut v: InlineVec<String> = InlineVec::new();
        assert!(v.is_empty() && !v.spilled());
        v.push("a".into());
        assert!(!v.spilled(), "one item is kept inline");
        assert_eq!(v, ["a".to_string()]);
        v.push("b".into());
        assert!(v.spilled());
        v.push("c".into());
        assert_eq!(v, vec!["a".to_string(), "b".into(), "c".into()]);
        v[1].push('!');
        assert_eq!(&v[..], ["a", "b!", "c"]);
        let back: Vec<String> = v.clone().into_iter().rev().collect();
        assert_eq!(back, ["c", "b!", "a"]);
        assert_eq!(format!("{v:?}"), r#"["a", "b!", "c"]"#);
        let one: InlineVec<String> = std::iter::once("x".to_string()).collect();
        assert!(!one.spilled());
        assert_eq!(one.clone().into_iter().len(), 1);
        assert_eq!(one.into_vec(), ["x"]);
        // An empty Vec converted keeps taking the inline item first.
        let mut from_vec: InlineVec<u8> = Vec::new().into();
        from_vec.push(1);
        assert!(!from_vec.spilled());
        let empty: InlineVec<u8> = InlineVec::default();
        assert_eq!(empty, InlineVec::from(Vec::with_capacity(8)));
        assert_eq!(empty.into_iter().next(), None);
    }

    /// Like a `Vec`, it has no `Drop` of its own: a value borrowing from a
    /// buffer may be dropped after the buffer moved (this must compile).
    #[test]
    fn borrowing_value_may_outlive_its_last_use() {
        let buf = String::from("abc");
        let v: InlineVec<&str> = std::iter::once(&buf[..]).collect();
        assert_eq!(v.len(), 1);
        let moved = buf;
        assert_eq!(moved, "abc");
    }

    /// With `serde`, it serializes as the sequence a `Vec` would.
    #[cfg(feature = "serde")]
    #[test]
    fn serializes_as_a_sequence() {
        let mut v: InlineVec<u32> = InlineVec::new();
        assert_eq!(serde_json::to_string(&v).unwrap(), "[]");
        v.push(1);
        assert_eq!(serde_json::to_string(&v).unwrap(), "[1]");
        v.push(2);
        v.push(3);
        assert_eq!(serde_json::to_string(&v).unwrap(), "[1,2,3]");
    }
}
