//! Typed command arguments: sets, fetch attributes, search keys, flags.
//!
//! Every value here is valid by construction (or by `FromStr`/`TryFrom`
//! validation) and is written to the wire only through
//! [`crate::encode::CommandBuilder`], so user text can never inject CR, LF
//! or NUL into a command line.

use std::fmt;
use std::str::FromStr;

use crate::encode::{CommandBuilder, EncodeError};

/// One bound of a range: a number, or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Bound {
    /// A number (never 0).
    Num(u32),
    /// `*`.
    Star,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Num(n) => write!(f, "{n}"),
            Bound::Star => f.write_str("*"),
        }
    }
}

/// Why a set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sequence set {0:?}: expected e.g. \"1,3:5,7:*\" with numbers above 0")]
pub struct InvalidSet(pub String);

/// The ranges shared by [`SeqSet`] and [`UidSet`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Ranges(Vec<(Bound, Bound)>);

impl Ranges {
    fn parse(s: &str) -> Result<Ranges, InvalidSet> {
        let bad = || InvalidSet(s.to_string());
        let bound = |t: &str| -> Result<Bound, InvalidSet> {
            if t == "*" {
                return Ok(Bound::Star);
            }
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            match t.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Bound::Num(n)),
                _ => Err(bad()),
            }
        };
        let mut v = Vec::new();
        for part in s.split(',') {
            let r = match part.split_once(':') {
                Some((a, b)) => (bound(a)?, bound(b)?),
                None => {
                    let b = bound(part)?;
                    (b, b)
                }
            };
            v.push(r);
        }
        Ok(Ranges(v))
    }

    fn from_numbers(nums: impl IntoIterator<Item = u32>) -> Ranges {
        let mut n: Vec<u32> = nums.into_iter().filter(|&x| x > 0).collect();
        n.sort_unstable();
        n.dedup();
        let mut v: Vec<(Bound, Bound)> = Vec::new();
        for x in n {
            match v.last_mut() {
                Some((_, Bound::Num(end))) if end.checked_add(1) == Some(x) => *end = x,
                _ => v.push((Bound::Num(x), Bound::Num(x))),
            }
        }
        Ranges(v)
    }

    /// Ranges `(first, last)` of numbers, sorted and merged where they
    /// overlap or touch: never expanded into numbers.
    fn from_ranges(ranges: impl IntoIterator<Item = (u32, u32)>) -> Ranges {
        let mut r: Vec<(u32, u32)> = ranges
            .into_iter()
            .filter_map(|(a, b)| {
                let (lo, hi) = (a.min(b), a.max(b));
                (hi > 0).then_some((lo.max(1), hi))
            })
            .collect();
        r.sort_unstable();
        let mut v: Vec<(Bound, Bound)> = Vec::with_capacity(r.len());
        for (lo, hi) in r {
            match v.last_mut() {
                Some((_, Bound::Num(end))) if lo <= end.saturating_add(1) => {
                    *end = (*end).max(hi);
                }
                _ => v.push((Bound::Num(lo), Bound::Num(hi))),
            }
        }
        Ranges(v)
    }

    /// The numeric ranges of `self` not in `other` (both normalized
    /// first; ranges with `*` left out of both).
    fn difference(&self, other: &Ranges) -> Ranges {
        let a = Ranges::from_ranges(self.numeric());
        let b = Ranges::from_ranges(other.numeric());
        let b: Vec<(u32, u32)> = b.numeric().collect();
        let mut out = Vec::new();
        let mut j = 0;
        for (mut lo, hi) in a.numeric() {
            // skip the ranges of `b` wholly below this one
            while j < b.len() && b[j].1 < lo {
                j += 1;
            }
            let mut k = j;
            let mut done = false;
            while k < b.len() && b[k].0 <= hi {
                let (blo, bhi) = b[k];
                if blo > lo {
                    out.push((lo, blo - 1));
                }
                if bhi >= hi {
                    done = true;
                    break;
                }
                lo = bhi + 1;
                k += 1;
            }
            if !done {
                out.push((lo, hi));
            }
        }
        Ranges::from_ranges(out)
    }

    /// The numeric ranges (ranges with `*` have no known end: left out).
    fn numeric(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter().filter_map(|&(a, b)| match (a, b) {
            (Bound::Num(a), Bound::Num(b)) => Some((a.min(b), a.max(b))),
            _ => None,
        })
    }

    fn len(&self) -> u64 {
        self.numeric().map(|(a, b)| u64::from(b - a) + 1).sum()
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|&(a, b)| match (a, b) {
            (Bound::Num(a), Bound::Num(b)) => a.min(b)..=a.max(b),
            // `*` has no value without the mailbox; yield nothing for it.
            #[allow(clippy::reversed_empty_ranges)]
            _ => 1..=0,
        })
    }

    fn contains(&self, x: u32) -> bool {
        self.0.iter().any(|&(a, b)| match (a, b) {
            (Bound::Num(a), Bound::Num(b)) => (a.min(b)..=a.max(b)).contains(&x),
            (Bound::Num(a), Bound::Star) | (Bound::Star, Bound::Num(a)) => x >= a,
            (Bound::Star, Bound::Star) => false,
        })
    }
}

impl fmt::Display for Ranges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}:{b}")?;
            }
        }
        Ok(())
    }
}

macro_rules! set_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A set of ", $what, " (`1,3:5,7:*`). Never empty once built from a string.")]
        ///
        /// Message sequence numbers and UIDs are different types, so one
        /// cannot be passed where the other is meant.
        ///
        /// With the `serde` feature it serializes as its IMAP text
        /// (`"1,3:5,7:*"`; `""` when empty).
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name(Ranges);

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl $name {
            /// `1:*`: everything.
            pub fn all() -> Self {
                $name(Ranges(vec![(Bound::Num(1), Bound::Star)]))
            }

            /// One number (0 is not a valid number and gives an empty set).
            pub fn single(n: u32) -> Self {
                Self::from_numbers([n])
            }

            /// `first:last`.
            pub fn range(first: u32, last: Bound) -> Self {
                $name(Ranges(vec![(Bound::Num(first.max(1)), last)]))
            }

            /// A set holding these numbers, compressed into ranges.
            pub fn from_numbers(nums: impl IntoIterator<Item = u32>) -> Self {
                $name(Ranges::from_numbers(nums))
            }

            /// A set holding these ranges `(first, last)` (inclusive, in
            /// any order), merged where they overlap. Nothing is expanded:
            /// `(1, u32::MAX)` costs one range.
            pub fn from_ranges(ranges: impl IntoIterator<Item = (u32, u32)>) -> Self {
                $name(Ranges::from_ranges(ranges))
            }

            /// Whether the set is empty (only possible when built from no
            /// numbers). An empty set cannot be sent: commands given one
            /// fail to encode (the typed API answers them without asking
            /// the server).
            pub fn is_empty(&self) -> bool {
                self.0 .0.is_empty()
            }

            /// How many numbers the set holds, counted range by range
            /// without expanding it (ranges ending in `*` count nothing;
            /// overlapping ranges of a set parsed from a string count
            /// twice).
            pub fn len(&self) -> u64 {
                self.0.len()
            }

            /// The ranges of known numbers as `(first, last)`, inclusive
            /// (ranges with `*` left out).
            pub fn numeric_ranges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
                self.0.numeric()
            }

            /// The union of two sets (ranges merged, nothing expanded;
            /// ranges with `*` are kept as they are).
            pub fn union(&self, other: &Self) -> Self {
                let stars = self
                    .0
                     .0
                    .iter()
                    .chain(other.0 .0.iter())
                    .filter(|(a, b)| *a == Bound::Star || *b == Bound::Star)
                    .copied();
                let mut r = Ranges::from_ranges(self.0.numeric().chain(other.0.numeric()));
                r.0.extend(stars);
                $name(r)
            }

            /// The numbers of `self` that are not in `other`, as ranges
            /// (nothing expanded; ranges with `*` are left out of both
            /// sets, their end not being known).
            ///
            /// ```
            #[doc = concat!("use imap4_proto::command::", stringify!($name), ";")]
            #[doc = concat!("let a = ", stringify!($name), "::from(1..=10);")]
            #[doc = concat!("let b: ", stringify!($name), " = \"3:4,9:20\".parse().unwrap();")]
            /// assert_eq!(a.difference(&b).to_string(), "1:2,5:8");
            /// ```
            pub fn difference(&self, other: &Self) -> Self {
                $name(self.0.difference(&other.0))
            }

            /// The numbers in both sets, as ranges (ranges with `*` are
            /// left out of both).
            pub fn intersection(&self, other: &Self) -> Self {
                let a = $name(Ranges::from_ranges(self.0.numeric()));
                let only_a = a.0.difference(&other.0);
                $name(a.0.difference(&only_a))
            }

            /// The numbers of the set (ranges ending in `*` contribute
            /// nothing: their end is not known without the mailbox).
            pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
                self.0.iter()
            }

            /// Whether `n` is in the set.
            pub fn contains(&self, n: u32) -> bool {
                self.0.contains(n)
            }

            /// The ranges.
            pub fn ranges(&self) -> &[(Bound, Bound)] {
                &self.0 .0
            }
        }

        impl FromStr for $name {
            type Err = InvalidSet;
            fn from_str(s: &str) -> Result<Self, InvalidSet> {
                Ranges::parse(s).map($name)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidSet;
            fn try_from(s: &str) -> Result<Self, InvalidSet> {
                s.parse()
            }
        }

        /// Collects numbers into a set ([`from_numbers`](Self::from_numbers)).
        impl FromIterator<u32> for $name {
            fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
                $name::from_numbers(iter)
            }
        }

        impl From<u32> for $name {
            fn from(n: u32) -> Self {
                Self::single(n)
            }
        }

        impl From<std::ops::RangeInclusive<u32>> for $name {
            fn from(r: std::ops::RangeInclusive<u32>) -> Self {
                $name(Ranges(vec![(
                    Bound::Num((*r.start()).max(1)),
                    Bound::Num((*r.end()).max(1)),
                )]))
            }
        }

        impl From<std::ops::RangeFrom<u32>> for $name {
            fn from(r: std::ops::RangeFrom<u32>) -> Self {
                Self::range(r.start, Bound::Star)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

set_type!(SeqSet, "message sequence numbers");
set_type!(UidSet, "UIDs");

/// A FETCH attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchAttr {
    /// UID.
    Uid,
    /// FLAGS.
    Flags,
    /// INTERNALDATE.
    InternalDate,
    /// RFC822.SIZE.
    Rfc822Size,
    /// ENVELOPE.
    Envelope,
    /// BODYSTRUCTURE.
    BodyStructure,
    /// MODSEQ (CONDSTORE).
    ModSeq,
    /// `BODY[section]<start.len>` (or `BODY.PEEK[...]`, which does not set
    /// `\Seen`). `section` is e.g. `""`, `"TEXT"`, `"1.2"`, `"HEADER"`.
    Section {
        /// The section spec (validated when encoded).
        section: String,
        /// Use BODY.PEEK.
        peek: bool,
        /// A partial range: (start, length).
        partial: Option<(u32, u32)>,
    },
    /// `BINARY.PEEK[section]` (RFC 3516): decoded content.
    Binary {
        /// The section part (`""`, `"1"`, `"1.2"`).
        section: String,
    },
    /// RFC822.HEADER.
    Rfc822Header,
    /// `BINARY.SIZE[section]` (RFC 3516): the decoded size of a part.
    BinarySize {
        /// The section part (`""`, `"1"`, `"1.2"`).
        section: String,
    },
    /// EMAILID (OBJECTID, RFC 8474): the message's id, the same in every
    /// mailbox it is copied to.
    EmailId,
    /// THREADID (OBJECTID, RFC 8474).
    ThreadId,
    /// SAVEDATE (RFC 8514): when the message was saved in this mailbox.
    SaveDate,
    /// PREVIEW (RFC 8970): a short plain-text preview; `lazy` lets the
    /// server answer NIL rather than compute one now.
    Preview {
        /// `PREVIEW (LAZY)`.
        lazy: bool,
    },
    /// X-GM-MSGID (Gmail's X-GM-EXT-1): the message's id in the account.
    GmMsgId,
    /// X-GM-THRID (Gmail): the thread's id.
    GmThrId,
    /// X-GM-LABELS (Gmail): the message's labels.
    GmLabels,
}

impl FetchAttr {
    /// The capability the server must advertise for this attribute, if
    /// any: the typed API refuses, with nothing sent, to ask for it
    /// otherwise.
    pub fn required_capability(&self) -> Option<&'static str> {
        match self {
            FetchAttr::ModSeq => Some("CONDSTORE"),
            FetchAttr::Binary { .. } | FetchAttr::BinarySize { .. } => Some("BINARY"),
            FetchAttr::EmailId | FetchAttr::ThreadId => Some("OBJECTID"),
            FetchAttr::SaveDate => Some("SAVEDATE"),
            FetchAttr::Preview { .. } => Some("PREVIEW"),
            FetchAttr::GmMsgId | FetchAttr::GmThrId | FetchAttr::GmLabels => Some("X-GM-EXT-1"),
            _ => None,
        }
    }

    /// `BODY.PEEK[]`: the whole message, without setting `\Seen`.
    pub fn full_peek() -> Self {
        FetchAttr::Section {
            section: String::new(),
            peek: true,
            partial: None,
        }
    }

    fn encode(&self, out: &mut String) -> Result<(), EncodeError> {
        let section_ok = |s: &str| {
            s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
                && !s.contains(']')
                && !s.contains('[')
        };
        match self {
            FetchAttr::Uid => out.push_str("UID"),
            FetchAttr::Flags => out.push_str("FLAGS"),
            FetchAttr::InternalDate => out.push_str("INTERNALDATE"),
            FetchAttr::Rfc822Size => out.push_str("RFC822.SIZE"),
            FetchAttr::Envelope => out.push_str("ENVELOPE"),
            FetchAttr::BodyStructure => out.push_str("BODYSTRUCTURE"),
            FetchAttr::ModSeq => out.push_str("MODSEQ"),
            FetchAttr::Rfc822Header => out.push_str("RFC822.HEADER"),
            FetchAttr::Section {
                section,
                peek,
                partial,
            } => {
                if !section_ok(section) {
                    return Err(EncodeError::LineBreak);
                }
                out.push_str(if *peek { "BODY.PEEK[" } else { "BODY[" });
                out.push_str(section);
                out.push(']');
                if let Some((start, len)) = partial {
                    out.push_str(&format!("<{start}.{len}>"));
                }
            }
            FetchAttr::Binary { section } | FetchAttr::BinarySize { section } => {
                if !section.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    return Err(EncodeError::LineBreak);
                }
                out.push_str(if matches!(self, FetchAttr::Binary { .. }) {
                    "BINARY.PEEK["
                } else {
                    "BINARY.SIZE["
                });
                out.push_str(section);
                out.push(']');
            }
            FetchAttr::EmailId => out.push_str("EMAILID"),
            FetchAttr::ThreadId => out.push_str("THREADID"),
            FetchAttr::SaveDate => out.push_str("SAVEDATE"),
            FetchAttr::Preview { lazy: false } => out.push_str("PREVIEW"),
            FetchAttr::Preview { lazy: true } => out.push_str("PREVIEW (LAZY)"),
            FetchAttr::GmMsgId => out.push_str("X-GM-MSGID"),
            FetchAttr::GmThrId => out.push_str("X-GM-THRID"),
            FetchAttr::GmLabels => out.push_str("X-GM-LABELS"),
        }
        Ok(())
    }
}

/// Encodes `(a b c)` for a list of fetch attributes.
pub(crate) fn fetch_attrs(c: &mut CommandBuilder, attrs: &[FetchAttr]) -> Result<(), EncodeError> {
    let mut s = String::from("(");
    for (i, a) in attrs.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        a.encode(&mut s)?;
    }
    s.push(')');
    c.raw(s.as_bytes())?;
    Ok(())
}

/// A calendar date for SEARCH (`1-Feb-2024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
}

impl Date {
    /// A date, checked: year 1–9999, month 1–12, a day that exists in that
    /// month (leap years included).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Date, InvalidDate> {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if !(1..=9999).contains(&year) || day == 0 || day > days {
            return Err(InvalidDate { year, month, day });
        }
        Ok(Date { year, month, day })
    }

    /// Whether the fields make a real date (see [`Date::new`]).
    pub fn is_valid(&self) -> bool {
        Date::new(self.year, self.month, self.day).is_ok()
    }
}

/// A [`Date`] that does not exist (month 13, 30 February, year 0…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid date: year {year}, month {month}, day {day}")]
pub struct InvalidDate {
    /// The year given.
    pub year: u16,
    /// The month given.
    pub month: u8,
    /// The day given.
    pub day: u8,
}

/// RFC 3501 `date-text`: `D-Mon-YYYY`, the year always four digits. The
/// fields are public, so an invalid date can be built; the search encoder
/// refuses it ([`Date::is_valid`]) rather than send a different date.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m = MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .copied()
            .unwrap_or("???");
        write!(f, "{}-{}-{:04}", self.day, m, self.year)
    }
}

/// A SEARCH key. Strings are sent quoted or as literals, never raw, so
/// they cannot break the command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchKey {
    /// ALL.
    All,
    /// ANSWERED.
    Answered,
    /// DELETED.
    Deleted,
    /// DRAFT.
    Draft,
    /// FLAGGED.
    Flagged,
    /// SEEN.
    Seen,
    /// UNANSWERED.
    Unanswered,
    /// UNDELETED.
    Undeleted,
    /// UNDRAFT.
    Undraft,
    /// UNFLAGGED.
    Unflagged,
    /// UNSEEN.
    Unseen,
    /// NEW.
    New,
    /// OLD.
    Old,
    /// RECENT.
    Recent,
    /// KEYWORD flag.
    Keyword(String),
    /// UNKEYWORD flag.
    Unkeyword(String),
    /// FROM string.
    From(String),
    /// TO string.
    To(String),
    /// CC string.
    Cc(String),
    /// BCC string.
    Bcc(String),
    /// SUBJECT string.
    Subject(String),
    /// BODY string.
    Body(String),
    /// TEXT string.
    Text(String),
    /// HEADER field string.
    Header(String, String),
    /// BEFORE date (internal date).
    Before(Date),
    /// ON date.
    On(Date),
    /// SINCE date.
    Since(Date),
    /// SENTBEFORE date.
    SentBefore(Date),
    /// SENTON date.
    SentOn(Date),
    /// SENTSINCE date.
    SentSince(Date),
    /// LARGER n.
    Larger(u64),
    /// SMALLER n.
    Smaller(u64),
    /// UID set.
    Uid(UidSet),
    /// A sequence set.
    Seq(SeqSet),
    /// MODSEQ n (CONDSTORE).
    ModSeq(u64),
    /// NOT key.
    Not(Box<SearchKey>),
    /// OR key key.
    Or(Box<SearchKey>, Box<SearchKey>),
    /// All of these (a parenthesized list).
    And(Vec<SearchKey>),
    /// `X-GM-RAW string` (Gmail's X-GM-EXT-1): a search in Gmail's own
    /// syntax (`has:attachment in:inbox`), sent quoted or as a literal.
    GmRaw(String),
    /// `X-GM-MSGID n` (Gmail): the message with this id.
    GmMsgId(u64),
    /// `X-GM-THRID n` (Gmail): the messages of this thread.
    GmThrId(u64),
}

impl SearchKey {
    /// Whether every string in the key is ASCII (otherwise the search goes
    /// out with `CHARSET UTF-8`, unless UTF-8 mode is on).
    pub fn is_ascii(&self) -> bool {
        use SearchKey::*;
        match self {
            Keyword(s) | Unkeyword(s) | From(s) | To(s) | Cc(s) | Bcc(s) | Subject(s) | Body(s)
            | Text(s) | GmRaw(s) => s.is_ascii(),
            Header(h, s) => h.is_ascii() && s.is_ascii(),
            Not(k) => k.is_ascii(),
            Or(a, b) => a.is_ascii() && b.is_ascii(),
            And(keys) => keys.iter().all(SearchKey::is_ascii),
            _ => true,
        }
    }

    /// The capability the key (or a key inside it) needs, if any: the
    /// typed search commands refuse it, nothing sent, when the server
    /// lacks it (X-GM-EXT-1 for [`SearchKey::GmRaw`],
    /// [`SearchKey::GmMsgId`] and [`SearchKey::GmThrId`]).
    ///
    /// ```
    /// use imap4_proto::command::SearchKey;
    ///
    /// let k = SearchKey::Or(Box::new(SearchKey::Unseen), Box::new(SearchKey::GmRaw("is:starred".into())));
    /// assert_eq!(k.required_capability(), Some("X-GM-EXT-1"));
    /// assert_eq!(SearchKey::Unseen.required_capability(), None);
    /// ```
    pub fn required_capability(&self) -> Option<&'static str> {
        use SearchKey::*;
        match self {
            GmRaw(_) | GmMsgId(_) | GmThrId(_) => Some("X-GM-EXT-1"),
            Not(k) => k.required_capability(),
            Or(a, b) => a.required_capability().or_else(|| b.required_capability()),
            And(keys) => keys.iter().find_map(SearchKey::required_capability),
            _ => None,
        }
    }

    pub(crate) fn encode(&self, c: &mut CommandBuilder) -> Result<(), EncodeError> {
        use SearchKey::*;
        let word = |c: &mut CommandBuilder, w: &str| c.raw(w.as_bytes()).map(|_| ());
        let flag = |c: &mut CommandBuilder, w: &str, f: &str| -> Result<(), EncodeError> {
            if f.is_empty() || !f.bytes().all(crate::encode::is_flag_char) {
                return Err(EncodeError::LineBreak);
            }
            c.raw(w.as_bytes())?;
            c.raw(f.as_bytes())?;
            Ok(())
        };
        let text = |c: &mut CommandBuilder, w: &str, s: &str| -> Result<(), EncodeError> {
            c.raw(w.as_bytes())?;
            c.string(s.as_bytes())?;
            Ok(())
        };
        let date = |c: &mut CommandBuilder, w: &str, d: &Date| -> Result<(), EncodeError> {
            if !d.is_valid() {
                return Err(EncodeError::InvalidArgument(format!("{d:?} is not a date")));
            }
            c.raw(w.as_bytes())?;
            c.raw(d.to_string().as_bytes())?;
            Ok(())
        };
        match self {
            All => word(c, "ALL"),
            Answered => word(c, "ANSWERED"),
            Deleted => word(c, "DELETED"),
            Draft => word(c, "DRAFT"),
            Flagged => word(c, "FLAGGED"),
            Seen => word(c, "SEEN"),
            Unanswered => word(c, "UNANSWERED"),
            Undeleted => word(c, "UNDELETED"),
            Undraft => word(c, "UNDRAFT"),
            Unflagged => word(c, "UNFLAGGED"),
            Unseen => word(c, "UNSEEN"),
            New => word(c, "NEW"),
            Old => word(c, "OLD"),
            Recent => word(c, "RECENT"),
            Keyword(f) => flag(c, "KEYWORD", f),
            Unkeyword(f) => flag(c, "UNKEYWORD", f),
            From(s) => text(c, "FROM", s),
            To(s) => text(c, "TO", s),
            Cc(s) => text(c, "CC", s),
            Bcc(s) => text(c, "BCC", s),
            Subject(s) => text(c, "SUBJECT", s),
            Body(s) => text(c, "BODY", s),
            Text(s) => text(c, "TEXT", s),
            Header(h, s) => {
                c.raw(b"HEADER")?;
                c.string(h.as_bytes())?;
                c.string(s.as_bytes())?;
                Ok(())
            }
            Before(d) => date(c, "BEFORE", d),
            On(d) => date(c, "ON", d),
            Since(d) => date(c, "SINCE", d),
            SentBefore(d) => date(c, "SENTBEFORE", d),
            SentOn(d) => date(c, "SENTON", d),
            SentSince(d) => date(c, "SENTSINCE", d),
            Larger(n) => word(c, &format!("LARGER {n}")),
            Smaller(n) => word(c, &format!("SMALLER {n}")),
            ModSeq(n) => word(c, &format!("MODSEQ {n}")),
            GmRaw(s) => text(c, "X-GM-RAW", s),
            GmMsgId(n) => word(c, &format!("X-GM-MSGID {n}")),
            GmThrId(n) => word(c, &format!("X-GM-THRID {n}")),
            Uid(set) => {
                c.raw(b"UID")?;
                c.set(&set.to_string()).map(|_| ())
            }
            Seq(set) => c.set(&set.to_string()).map(|_| ()),
            Not(k) => {
                c.raw(b"NOT")?;
                k.encode(c)
            }
            Or(a, b) => {
                c.raw(b"OR")?;
                a.encode(c)?;
                b.encode(c)
            }
            And(keys) => {
                if keys.is_empty() {
                    return word(c, "ALL");
                }
                c.open_list();
                for k in keys {
                    k.encode(c)?;
                }
                c.close_list();
                Ok(())
            }
        }
    }
}

/// A STATUS attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusAttr {
    /// MESSAGES.
    Messages,
    /// RECENT.
    Recent,
    /// UIDNEXT.
    UidNext,
    /// UIDVALIDITY.
    UidValidity,
    /// UNSEEN.
    Unseen,
    /// HIGHESTMODSEQ (CONDSTORE).
    HighestModSeq,
    /// SIZE (RFC 8438).
    Size,
    /// MAILBOXID (OBJECTID, RFC 8474): an id that survives RENAME.
    MailboxId,
    /// APPENDLIMIT (RFC 7889): the largest message APPEND accepts here.
    AppendLimit,
    /// DELETED (IMAP4rev2, RFC 9051): messages marked `\Deleted`.
    Deleted,
}

impl StatusAttr {
    /// The attribute's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusAttr::Messages => "MESSAGES",
            StatusAttr::Recent => "RECENT",
            StatusAttr::UidNext => "UIDNEXT",
            StatusAttr::UidValidity => "UIDVALIDITY",
            StatusAttr::Unseen => "UNSEEN",
            StatusAttr::HighestModSeq => "HIGHESTMODSEQ",
            StatusAttr::Size => "SIZE",
            StatusAttr::MailboxId => "MAILBOXID",
            StatusAttr::AppendLimit => "APPENDLIMIT",
            StatusAttr::Deleted => "DELETED",
        }
    }

    /// The capability the server must advertise for this attribute, if
    /// any: the typed API refuses, with nothing sent, to ask for it
    /// otherwise.
    pub fn required_capability(self) -> Option<&'static str> {
        match self {
            StatusAttr::HighestModSeq => Some("CONDSTORE"),
            StatusAttr::Size => Some("STATUS=SIZE"),
            StatusAttr::MailboxId => Some("OBJECTID"),
            StatusAttr::AppendLimit => Some("APPENDLIMIT"),
            StatusAttr::Deleted => Some("IMAP4REV2"),
            _ => None,
        }
    }
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// Replace the flags (`FLAGS`).
    Replace,
    /// Add flags (`+FLAGS`).
    Add,
    /// Remove flags (`-FLAGS`).
    Remove,
}

/// Encodes a flag list `(\Seen $Junk)`, validating each flag.
pub(crate) fn flag_list(c: &mut CommandBuilder, flags: &[&str]) -> Result<(), EncodeError> {
    let mut s = String::from("(");
    for (i, f) in flags.iter().enumerate() {
        let body = f.strip_prefix('\\').unwrap_or(f);
        if body.is_empty() || !body.bytes().all(crate::encode::is_flag_char) {
            return Err(EncodeError::LineBreak);
        }
        if i > 0 {
            s.push(' ');
        }
        s.push_str(f);
    }
    s.push(')');
    c.raw(s.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_and_always_four_digit_years() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2024, 13, 1).is_err());
        assert!(Date::new(2024, 4, 31).is_err());
        assert!(Date::new(0, 1, 1).is_err());
        assert_eq!(Date::new(999, 1, 5).unwrap().to_string(), "5-Jan-0999");
        // A date built by hand that does not exist is refused, not clamped.
        let bad = Date {
            year: 2024,
            month: 14,
            day: 40,
        };
        let mut c = CommandBuilder::new(b"A1", "SEARCH", LiteralMode::default()).unwrap();
        assert!(SearchKey::Since(bad).encode(&mut c).is_err());
    }

    #[test]
    fn sets_count_and_merge_without_expanding() {
        let s = UidSet::from_ranges([(5, 9), (1, 3), (4, 4), (100, u32::MAX)]);
        assert_eq!(s.to_string(), "1:9,100:4294967295");
        assert_eq!(s.len(), 9 + u64::from(u32::MAX - 99));
        let u = s.union(&UidSet::from(10..=99));
        assert_eq!(u.to_string(), "1:4294967295");
        assert_eq!(UidSet::from_numbers([]).len(), 0);
    }

    #[test]
    fn set_difference_and_intersection_work_on_ranges() {
        let a = UidSet::from_ranges([(1, 10), (20, 30), (u32::MAX - 1, u32::MAX)]);
        let b: UidSet = "5,7:8,10:21,25,4294967295,40:*".parse().unwrap();
        assert_eq!(
            a.difference(&b).to_string(),
            "1:4,6,9,22:24,26:30,4294967294"
        );
        assert_eq!(
            a.intersection(&b).to_string(),
            "5,7:8,10,20:21,25,4294967295"
        );
        assert!(a.difference(&a).is_empty());
        assert_eq!(a.intersection(&UidSet::default()), UidSet::default());
        assert_eq!(UidSet::default().difference(&a), UidSet::default());
        // against expanded numbers
        let (x, y) = (
            UidSet::from(1..=60),
            "2:9,31:33,59:70".parse::<UidSet>().unwrap(),
        );
        let d: Vec<u32> = (1..=60).filter(|n| !y.contains(*n)).collect();
        assert_eq!(x.difference(&y).iter().collect::<Vec<_>>(), d);
        let i: Vec<u32> = (1..=60).filter(|n| y.contains(*n)).collect();
        assert_eq!(x.intersection(&y).iter().collect::<Vec<_>>(), i);
    }
    use crate::encode::{Fragment, LiteralMode};

    fn line(f: impl FnOnce(&mut CommandBuilder)) -> String {
        let mut c = CommandBuilder::new(b"A1", "X", LiteralMode::default()).unwrap();
        f(&mut c);
        let frags = c.finish();
        frags
            .iter()
            .map(|f| match f {
                Fragment::Line(l) => String::from_utf8_lossy(l).into_owned(),
                Fragment::Literal { data, .. } => format!("<{}>", String::from_utf8_lossy(data)),
            })
            .collect()
    }

    #[test]
    fn sets() {
        assert_eq!(SeqSet::from_numbers([5, 1, 2, 3, 9]).to_string(), "1:3,5,9");
        assert_eq!(UidSet::all().to_string(), "1:*");
        assert_eq!(
            "1,3:5,7:*".parse::<UidSet>().unwrap().to_string(),
            "1,3:5,7:*"
        );
        assert!("0".parse::<SeqSet>().is_err());
        assert!("1 2".parse::<SeqSet>().is_err());
        assert!("1\r\n".parse::<SeqSet>().is_err());
        assert!("".parse::<SeqSet>().is_err());
        let s: UidSet = "2:4,10:*".parse().unwrap();
        assert!(s.contains(3) && s.contains(1000) && !s.contains(5));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![2, 3, 4]);
    }

    #[test]
    fn search_keys_quote_safely() {
        let k = SearchKey::And(vec![
            SearchKey::From("Bob \"the\" Builder".into()),
            SearchKey::Not(Box::new(SearchKey::Seen)),
            SearchKey::Or(
                Box::new(SearchKey::Subject("a\r\nb".into())),
                Box::new(SearchKey::Larger(10)),
            ),
            SearchKey::Since(Date {
                year: 2024,
                month: 2,
                day: 1,
            }),
        ]);
        let l = line(|c| k.encode(c).unwrap());
        assert_eq!(
            l,
            "A1 X (FROM \"Bob \\\"the\\\" Builder\" NOT SEEN OR SUBJECT {4}\r\n<a\r\nb> LARGER 10 SINCE 1-Feb-2024)\r\n"
        );
        let mut c = CommandBuilder::new(b"A1", "X", LiteralMode::default()).unwrap();
        assert!(SearchKey::Keyword("a b".into()).encode(&mut c).is_err());
    }

    #[test]
    fn fetch_attr_encoding() {
        let l = line(|c| {
            fetch_attrs(
                c,
                &[
                    FetchAttr::Uid,
                    FetchAttr::Envelope,
                    FetchAttr::Section {
                        section: "HEADER.FIELDS (SUBJECT)".into(),
                        peek: true,
                        partial: Some((0, 100)),
                    },
                ],
            )
            .unwrap()
        });
        assert_eq!(
            l,
            "A1 X (UID ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.100>)\r\n"
        );
        let mut c = CommandBuilder::new(b"A1", "X", LiteralMode::default()).unwrap();
        let evil = FetchAttr::Section {
            section: "]\r\nA2 DELETE INBOX".into(),
            peek: false,
            partial: None,
        };
        assert!(fetch_attrs(&mut c, &[evil]).is_err());
    }

    #[test]
    fn flags_are_validated() {
        assert_eq!(
            line(|c| flag_list(c, &["\\Seen", "$Junk"]).unwrap()),
            "A1 X (\\Seen $Junk)\r\n"
        );
        let mut c = CommandBuilder::new(b"A1", "X", LiteralMode::default()).unwrap();
        assert!(flag_list(&mut c, &["\\Seen)"]).is_err());
        assert!(flag_list(&mut c, &["a b"]).is_err());
    }
}
