//! ESEARCH (RFC 4731) and SEARCHRES (RFC 5182): the typed commands and
//! their results.
//!
//! - [`Session::typed_uid_search_return`] sends `UID SEARCH RETURN (MIN
//!   MAX ALL COUNT SAVE) key`; result [`TypedOutcome::uid_esearch`], an
//!   [`ESearchResult`].
//! - With [`SearchReturn::Save`] the server keeps the matching messages
//!   as the saved result `$`; the result's [`ESearchResult::saved`] holds
//!   a [`SearchRes`] marker, and [`Session::typed_uid_fetch_saved`],
//!   [`Session::typed_uid_store_saved`] and
//!   [`Session::typed_uid_copy_saved`] send `UID FETCH $ (…)`, `UID STORE
//!   $ …`, `UID COPY $ …` and `UID MOVE $ …`: the encoder writes `$` only
//!   there, and only when the server offers SEARCHRES.
//!
//! - ESORT (RFC 5267): [`Session::typed_uid_sort_return`] sends `UID
//!   SORT RETURN (…) (criteria) UTF-8 key`; result
//!   [`TypedOutcome::uid_esort`], an [`ESortResult`] whose ALL is a
//!   `Vec<u32>` in sort order (a [`UidSet`] would lose the order).
//!
//! Each refuses, nothing sent, when the server lacks ESEARCH (for MIN,
//! MAX, ALL, COUNT), SEARCHRES (for SAVE and `$`), or ESORT and SORT.
//!
//! ```
//! use imap4_proto::command::SearchKey;
//! use imap4_proto::command::FetchAttr;
//! use imap4_proto::esearch::SearchReturn;
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH SEARCHRES] hi\r\n");
//! s.read_greeting().unwrap();
//! let p = s.typed_select("INBOX", false).unwrap();
//! s.take_output();
//! s.receive(b"* 9 EXISTS\r\nA0 OK [READ-WRITE] done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! s.complete_typed(p, Ok(t)).unwrap();
//!
//! let ret = [SearchReturn::Min, SearchReturn::Count, SearchReturn::Save];
//! let p = s.typed_uid_search_return(&SearchKey::Unseen, &ret).unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A1 UID SEARCH RETURN (MIN COUNT SAVE) UNSEEN\r\n"[..]
//! );
//! s.receive(b"* ESEARCH (TAG \"A1\") UID MIN 4 COUNT 3\r\nA1 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let r = s.complete_typed(p, Ok(t)).unwrap().uid_esearch(&ret).unwrap();
//! assert_eq!((r.min, r.count), (Some(4), Some(3)));
//!
//! let saved = r.saved.unwrap();
//! let _p = s.typed_uid_fetch_saved(saved, &[FetchAttr::Flags]).unwrap();
//! assert_eq!(&s.take_output().unwrap()[..], b"A2 UID FETCH $ (FLAGS)\r\n");
//! ```

use crate::command::{fetch_attrs, flag_list, FetchAttr, SearchKey, StoreOp, UidSet};
use crate::parse::{self, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{SortCriterion, TypedKind, TypedOutcome};

/// A result option of an extended SEARCH (RFC 4731, RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum SearchReturn {
    /// `MIN`: the lowest matching UID.
    Min,
    /// `MAX`: the highest matching UID.
    Max,
    /// `ALL`: every matching UID, as a set.
    All,
    /// `COUNT`: how many messages match.
    Count,
    /// `SAVE` (SEARCHRES): the server keeps the matches as `$`.
    Save,
}

impl SearchReturn {
    /// The option's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchReturn::Min => "MIN",
            SearchReturn::Max => "MAX",
            SearchReturn::All => "ALL",
            SearchReturn::Count => "COUNT",
            SearchReturn::Save => "SAVE",
        }
    }
}

/// The saved search result `$` (RFC 5182): proof that a SEARCH with
/// [`SearchReturn::Save`] succeeded on this connection, to use as the
/// set of a later command ([`Session::typed_uid_fetch_saved`]). The
/// server forgets it on SELECT, EXAMINE, CLOSE and the next SAVE (and a
/// failed SAVE leaves `$` empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SearchRes {
    _private: (),
}

/// What `UID SEARCH RETURN (…)` found. A field is `None` (or, for
/// `all`, empty) when its option was not asked for or nothing matched
/// (RFC 4731 leaves MIN, MAX and ALL out then; COUNT is 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ESearchResult {
    /// MIN: the lowest matching UID.
    pub min: Option<u32>,
    /// MAX: the highest matching UID.
    pub max: Option<u32>,
    /// ALL: the matching UIDs.
    pub all: UidSet,
    /// COUNT: how many messages match.
    pub count: Option<u32>,
    /// MODSEQ (CONDSTORE): the highest mod-sequence of the matches, when
    /// the search used MODSEQ.
    pub modseq: Option<u64>,
    /// With SAVE: the saved result `$`, to use in later commands.
    pub saved: Option<SearchRes>,
    /// PARTIAL (RFC 9394): the page asked for and the matching UIDs in it.
    pub partial: Option<PartialPage>,
}

/// A page of search results (PARTIAL, RFC 9394), by position among the
/// matches in UID order: `First { from: 1, to: 100 }` is the first hundred
/// (`1:100`), `Last { from: 1, to: 100 }` the last hundred (`-1:-100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum PartialRange {
    /// Positions counted from the lowest UID, 1-based.
    First {
        /// The first position (at least 1).
        from: u32,
        /// The last position (at least `from`).
        to: u32,
    },
    /// Positions counted from the highest UID, 1-based.
    Last {
        /// The first position from the end (at least 1).
        from: u32,
        /// The last position from the end (at least `from`).
        to: u32,
    },
}

impl PartialRange {
    fn check(self) -> Result<(), SessionError> {
        let (PartialRange::First { from, to } | PartialRange::Last { from, to }) = self;
        if from == 0 || to < from || to > i32::MAX as u32 {
            return Err(SessionError::Usage(format!(
                "{self:?} is not a PARTIAL range (1 <= from <= to <= 2^31-1)"
            )));
        }
        Ok(())
    }
}

impl std::fmt::Display for PartialRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartialRange::First { from, to } => write!(f, "{from}:{to}"),
            PartialRange::Last { from, to } => write!(f, "-{from}:-{to}"),
        }
    }
}

/// What a PARTIAL search returned: the range (as the server echoed it)
/// and the matching UIDs in it (empty for NIL: no match there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PartialPage {
    /// The range, as the server sent it (`1:100`, `-1:-100`).
    pub range: String,
    /// The UIDs of the matches at those positions.
    pub uids: UidSet,
}

/// What `UID SORT RETURN (…)` found (ESORT, RFC 5267). MIN and MAX
/// are by sort order: the first and the last sorted message, not the
/// lowest and highest UID — except from a server that gets this wrong
/// (Cyrus 3.6) when ALL was not asked for too: with ALL they are always
/// taken from its order. A field is `None` (or, for `all`, empty) when
/// its option was not asked for or nothing matched.
///
/// ```
/// use imap4_proto::esearch::ESortResult;
///
/// let r = ESortResult { min: Some(9), max: Some(2), all: vec![9, 4, 5, 2], count: Some(4), ..Default::default() };
/// assert_eq!(r.all.first(), r.min.as_ref());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ESortResult {
    /// MIN: the UID that sorts first.
    pub min: Option<u32>,
    /// MAX: the UID that sorts last.
    pub max: Option<u32>,
    /// ALL: the matching UIDs, in sort order.
    pub all: Vec<u32>,
    /// COUNT: how many messages match.
    pub count: Option<u32>,
    /// MODSEQ (CONDSTORE): the highest mod-sequence of the matches, when
    /// the search used MODSEQ.
    pub modseq: Option<u64>,
}

/// The UIDs of an ESORT `ALL`, in order: `a:b` ranges run from `a` to
/// `b`, downwards when `a > b`. At most `limit` UIDs (a range cannot
/// make memory unbounded); `None` for anything else.
fn ordered_uids(text: &str, limit: usize) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let (a, b) = match part.split_once(':') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        if a == 0 || b == 0 || out.len() + (a.abs_diff(b) as usize) >= limit {
            return None;
        }
        if a <= b {
            out.extend(a..=b);
        } else {
            out.extend((b..=a).rev());
        }
    }
    Some(out)
}

fn need(s: &Session, capability: &str, what: &str) -> Result<(), SessionError> {
    if s.supports(capability) {
        Ok(())
    } else {
        Err(SessionError::Usage(format!(
            "the server does not offer {capability} (needed for {what})"
        )))
    }
}

impl Session {
    /// `UID SEARCH RETURN (options) key` (RFC 4731; SAVE: RFC 5182),
    /// strings sent as UTF-8 with `CHARSET UTF-8` when they are not ASCII.
    /// An error, nothing sent, without ESEARCH (SEARCHRES for SAVE) or
    /// without options (`RETURN ()` would mean ALL: ask for it). Result:
    /// [`TypedOutcome::uid_esearch`].
    pub fn typed_uid_search_return(
        &mut self,
        key: &SearchKey,
        returns: &[SearchReturn],
    ) -> Result<Pending, SessionError> {
        if returns.is_empty() {
            return Err(SessionError::Usage(
                "an extended SEARCH needs at least one RETURN option".into(),
            ));
        }
        for r in returns {
            match r {
                SearchReturn::Save => need(self, "SEARCHRES", "RETURN (SAVE)")?,
                _ => need(self, "ESEARCH", "SEARCH RETURN (…)")?,
            }
        }
        self.check_search_key(key)?;
        let mut names: Vec<&str> = Vec::new();
        for r in returns {
            if !names.contains(&r.as_str()) {
                names.push(r.as_str());
            }
        }
        let list = format!("({})", names.join(" "));
        let needs_charset = !key.is_ascii() && !self.utf8_enabled();
        self.typed(
            "UID SEARCH",
            TypedKind::Plain,
            &[State::Selected],
            |_, c| {
                c.raw(b"RETURN")?;
                c.raw(list.as_bytes())?;
                if needs_charset {
                    c.raw(b"CHARSET UTF-8")?;
                }
                key.encode(c)
            },
        )
    }

    /// `UID SEARCH RETURN (PARTIAL range [options]) key` (PARTIAL, RFC
    /// 9394): one page of the matches, by position in UID order, with MIN,
    /// MAX, COUNT (of all the matches) if asked for too. An error, nothing
    /// sent, without PARTIAL, for a range that is not one, or with ALL or
    /// SAVE beside it. Result: [`TypedOutcome::uid_esearch`] (its
    /// `partial`).
    pub fn typed_uid_search_partial(
        &mut self,
        key: &SearchKey,
        range: PartialRange,
        also: &[SearchReturn],
    ) -> Result<Pending, SessionError> {
        need(self, "PARTIAL", "SEARCH RETURN (PARTIAL …)")?;
        range.check()?;
        if also
            .iter()
            .any(|r| matches!(r, SearchReturn::All | SearchReturn::Save))
        {
            return Err(SessionError::Usage(
                "PARTIAL goes with MIN, MAX and COUNT, not ALL or SAVE".into(),
            ));
        }
        self.check_search_key(key)?;
        let mut names = vec![format!("PARTIAL {range}")];
        for r in also {
            if !names.iter().any(|n| n == r.as_str()) {
                names.push(r.as_str().to_string());
            }
        }
        let list = format!("({})", names.join(" "));
        let needs_charset = !key.is_ascii() && !self.utf8_enabled();
        self.typed(
            "UID SEARCH",
            TypedKind::Plain,
            &[State::Selected],
            |_, c| {
                c.raw(b"RETURN")?;
                c.raw(list.as_bytes())?;
                if needs_charset {
                    c.raw(b"CHARSET UTF-8")?;
                }
                key.encode(c)
            },
        )
    }

    /// `UID SORT RETURN (options) (criteria) UTF-8 key` (ESORT, RFC
    /// 5267): MIN, MAX, COUNT and ALL of the sorted matches. An error,
    /// nothing sent, without ESORT or SORT, without options or criteria,
    /// or with [`SearchReturn::Save`] (not offered here). Result:
    /// [`TypedOutcome::uid_esort`].
    pub fn typed_uid_sort_return(
        &mut self,
        criteria: &[SortCriterion],
        key: &SearchKey,
        returns: &[SearchReturn],
    ) -> Result<Pending, SessionError> {
        need(self, "ESORT", "SORT RETURN (…)")?;
        need(self, "SORT", "SORT RETURN (…)")?;
        if returns.is_empty() || criteria.is_empty() {
            return Err(SessionError::Usage(
                "an extended SORT needs at least one RETURN option and one criterion".into(),
            ));
        }
        if returns.contains(&SearchReturn::Save) {
            return Err(SessionError::Usage(
                "SORT RETURN (SAVE) is not offered: use UID SEARCH RETURN (SAVE)".into(),
            ));
        }
        let mut names: Vec<&str> = Vec::new();
        for r in returns {
            if !names.contains(&r.as_str()) {
                names.push(r.as_str());
            }
        }
        self.check_search_key(key)?;
        let list = format!("({})", names.join(" "));
        let sort = crate::typed::sort_criteria(criteria);
        self.typed("UID SORT", TypedKind::Plain, &[State::Selected], |_, c| {
            c.raw(b"RETURN")?;
            c.raw(list.as_bytes())?;
            c.raw(sort.as_bytes())?;
            c.raw(b"UTF-8")?;
            key.encode(c)
        })
    }

    /// `UID FETCH $ (attrs)` (RFC 5182): fetches the messages of the
    /// saved search result. An error, nothing sent, without SEARCHRES.
    /// Read the result with [`TypedOutcome::into_fetches`].
    pub fn typed_uid_fetch_saved(
        &mut self,
        saved: SearchRes,
        attrs: &[FetchAttr],
    ) -> Result<Pending, SessionError> {
        let _ = saved;
        need(self, "SEARCHRES", "the saved result $")?;
        self.typed("UID FETCH", TypedKind::Plain, &[State::Selected], |_, c| {
            c.saved_result();
            fetch_attrs(c, attrs)
        })
    }

    /// `UID STORE $ [+|-]FLAGS[.SILENT] (flags)` (RFC 5182): changes the
    /// flags of the saved search result's messages. An error, nothing
    /// sent, without SEARCHRES. The result's FETCH responses:
    /// [`TypedOutcome::into_fetches`].
    pub fn typed_uid_store_saved(
        &mut self,
        saved: SearchRes,
        op: StoreOp,
        flags: &[&str],
        silent: bool,
    ) -> Result<Pending, SessionError> {
        let _ = saved;
        need(self, "SEARCHRES", "the saved result $")?;
        let item = crate::typed::store_item(op, silent);
        self.typed("UID STORE", TypedKind::Plain, &[State::Selected], |_, c| {
            c.saved_result();
            c.raw(item.as_bytes())?;
            flag_list(c, flags)
        })
    }

    /// `UID COPY $ mailbox`, or `UID MOVE $ mailbox` when `move_` (RFC
    /// 5182): copies or moves the saved search result's messages. An
    /// error, nothing sent, without SEARCHRES. The UID mapping (UIDPLUS):
    /// [`TypedOutcome::uid_mapping`].
    pub fn typed_uid_copy_saved(
        &mut self,
        saved: SearchRes,
        mailbox: &str,
        move_: bool,
    ) -> Result<Pending, SessionError> {
        let _ = saved;
        need(self, "SEARCHRES", "the saved result $")?;
        let name = if move_ { "UID MOVE" } else { "UID COPY" };
        self.typed(name, TypedKind::Plain, &[State::Selected], |s, c| {
            c.saved_result();
            s.mailbox_arg(c, mailbox)
        })
    }
}

impl TypedOutcome {
    /// `UID SORT RETURN (…)` results (ESORT): the `* ESEARCH` response
    /// for this command (one with another command's `TAG` is left
    /// alone), ALL in the server's (sort) order. An ALL of more UIDs
    /// than a response of `Limits::default().max_response_len` bytes
    /// could list one by one (half that) is unparsable: ranges are never
    /// expanded past it.
    pub fn uid_esort(&self) -> Result<ESortResult, SessionError> {
        let tag = self.tagged.split(|&b| b == b' ').next().unwrap_or(&[]);
        let mut out = ESortResult::default();
        let limit =
            usize::try_from(crate::Limits::default().max_response_len / 2).unwrap_or(usize::MAX);
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            let Some(Untagged::ESearch(e)) = d else {
                continue;
            };
            if e.tag.as_ref().is_some_and(|t| t.as_bytes() != tag) {
                continue;
            }
            out.min = e.min.or(out.min);
            out.max = e.max.or(out.max);
            out.count = e.count.or(out.count);
            out.modseq = e.modseq.or(out.modseq);
            if let Some(all) = e.all {
                let uids = ordered_uids(&all.to_str_lossy(), limit).ok_or_else(|| {
                    SessionError::Unparsable {
                        error: parse::ParseError {
                            offset: 0,
                            expected: "UIDs in sort order after ALL",
                        },
                        raw: frame.clone(),
                    }
                })?;
                out.all.extend(uids);
            }
        }
        // Cyrus 3.6 quirk: its MIN and MAX are the lowest and highest
        // UID, where RFC 5267 (and Dovecot) mean the first and last in
        // sort order. With ALL at hand, the order is known: take them
        // from it, so that every server gives the same answer.
        if let (Some(first), Some(last)) = (out.all.first(), out.all.last()) {
            if out.min.is_some() {
                out.min = Some(*first);
            }
            if out.max.is_some() {
                out.max = Some(*last);
            }
        }
        Ok(out)
    }

    /// `UID SEARCH RETURN (…)` results: the `* ESEARCH` response for this
    /// command (one with another command's `TAG` is left alone), and
    /// [`ESearchResult::saved`] when `returns` held SAVE (the command
    /// succeeded, so the server saved the result). With SAVE alone the
    /// server sends no ESEARCH and the other fields stay empty.
    pub fn uid_esearch(&self, returns: &[SearchReturn]) -> Result<ESearchResult, SessionError> {
        let tag = self.tagged.split(|&b| b == b' ').next().unwrap_or(&[]);
        let mut out = ESearchResult {
            saved: returns
                .contains(&SearchReturn::Save)
                .then_some(SearchRes { _private: () }),
            ..ESearchResult::default()
        };
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            let Some(Untagged::ESearch(e)) = d else {
                continue;
            };
            if e.tag.as_ref().is_some_and(|t| t.as_bytes() != tag) {
                continue;
            }
            out.min = e.min.or(out.min);
            out.max = e.max.or(out.max);
            out.count = e.count.or(out.count);
            out.modseq = e.modseq.or(out.modseq);
            if let Some(all) = e.all {
                let set: UidSet =
                    all.to_str_lossy()
                        .parse()
                        .map_err(|_| SessionError::Unparsable {
                            error: parse::ParseError {
                                offset: 0,
                                expected: "a UID set after ALL",
                            },
                            raw: frame.clone(),
                        })?;
                out.all = out.all.union(&set);
            }
            for (name, raw) in &e.other {
                if !name.as_bytes().eq_ignore_ascii_case(b"PARTIAL") {
                    continue;
                }
                let bad = || SessionError::Unparsable {
                    error: parse::ParseError {
                        offset: 0,
                        expected: "PARTIAL (range uid-set-or-NIL)",
                    },
                    raw: frame.clone(),
                };
                let text = raw.to_str_lossy();
                let inner = text
                    .strip_prefix('(')
                    .and_then(|t| t.strip_suffix(')'))
                    .ok_or_else(bad)?;
                let (range, set) = inner.split_once(' ').ok_or_else(bad)?;
                let uids = if set.eq_ignore_ascii_case("NIL") {
                    UidSet::default()
                } else {
                    set.parse().map_err(|_| bad())?
                };
                out.partial = Some(PartialPage {
                    range: range.to_string(),
                    uids,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Poll};

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(format!("* PREAUTH [CAPABILITY IMAP4rev1 {caps}] hi\r\n").as_bytes());
        s.read_greeting().unwrap();
        let p = s.typed_select("INBOX", false).unwrap();
        s.take_output();
        s.receive(b"* 9 EXISTS\r\nA0 OK [READ-WRITE] done\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        s
    }

    fn run(s: &mut Session, p: Pending, reply: &[u8]) -> TypedOutcome {
        let _ = s.take_output();
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap()
    }

    #[test]
    fn esort_encodes_keeps_order_and_refuses() {
        use crate::typed::{SortCriterion, SortKey};
        use SearchReturn::*;
        let by = [
            SortCriterion::desc(SortKey::Date),
            SortCriterion::asc(SortKey::Subject),
        ];
        let mut s = session("SORT ESEARCH");
        assert!(s
            .typed_uid_sort_return(&by, &SearchKey::All, &[Min])
            .is_err());
        let mut s = session("SORT ESORT");
        assert!(s.typed_uid_sort_return(&by, &SearchKey::All, &[]).is_err());
        assert!(s
            .typed_uid_sort_return(&[], &SearchKey::All, &[Min])
            .is_err());
        assert!(s
            .typed_uid_sort_return(&by, &SearchKey::All, &[Save])
            .is_err());
        assert!(s.take_output().is_none());
        let mut s2 = session("ESORT");
        assert!(s2
            .typed_uid_sort_return(&by, &SearchKey::All, &[Min])
            .is_err());
        assert!(s2.take_output().is_none());

        let p = s
            .typed_uid_sort_return(&by, &SearchKey::Unseen, &[Min, Max, Count, All, Min])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A1 UID SORT RETURN (MIN MAX COUNT ALL) (REVERSE DATE SUBJECT) UTF-8 UNSEEN\r\n"[..]
        );
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"Z\") UID ALL 1:2\r\n\
              * ESEARCH (TAG \"A1\") UID MIN 9 MAX 2 COUNT 6 ALL 9,4:6,3:2\r\nA1 OK done\r\n",
        );
        let r = t.uid_esort().unwrap();
        assert_eq!(r.all, [9, 4, 5, 6, 3, 2]);
        assert_eq!((r.min, r.max, r.count), (Some(9), Some(2), Some(6)));
        // a server that sends the lowest and highest UID as MIN and MAX
        let p = s
            .typed_uid_sort_return(&by, &SearchKey::All, &[Min, Max, All])
            .unwrap();
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"A2\") UID MIN 2 MAX 9 ALL 9,4:6,3:2\r\nA2 OK done\r\n",
        );
        let r = t.uid_esort().unwrap();
        assert_eq!((r.min, r.max, r.count), (Some(9), Some(2), None));
        let p = s
            .typed_uid_sort_return(&by, &SearchKey::All, &[All])
            .unwrap();
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"A3\") UID ALL 1:4294967295\r\nA3 OK done\r\n",
        );
        assert!(
            t.uid_esort().is_err(),
            "a huge range is refused, not expanded"
        );
    }

    #[test]
    fn partial_pages_are_sent_and_read() {
        use SearchReturn::*;
        let mut s = session("ESEARCH PARTIAL");
        let p = s
            .typed_uid_search_partial(
                &SearchKey::Unseen,
                PartialRange::Last { from: 1, to: 100 },
                &[Count],
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A1 UID SEARCH RETURN (PARTIAL -1:-100 COUNT) UNSEEN\r\n"[..]
        );
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"A1\") UID COUNT 250 PARTIAL (-1:-100 151:200,300:349)\r\nA1 OK done\r\n",
        );
        let r = t.uid_esearch(&[Count]).unwrap();
        assert_eq!(r.count, Some(250));
        let page = r.partial.unwrap();
        assert_eq!(page.range, "-1:-100");
        assert_eq!(page.uids.len(), 100);
        // no match in the range: NIL
        let p = s
            .typed_uid_search_partial(
                &SearchKey::All,
                PartialRange::First { from: 501, to: 600 },
                &[],
            )
            .unwrap();
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"A2\") UID PARTIAL (501:600 NIL)\r\nA2 OK done\r\n",
        );
        assert!(t.uid_esearch(&[]).unwrap().partial.unwrap().uids.is_empty());
        // refused before sending
        for bad in [
            PartialRange::First { from: 0, to: 10 },
            PartialRange::Last { from: 10, to: 5 },
        ] {
            assert!(s
                .typed_uid_search_partial(&SearchKey::All, bad, &[])
                .is_err());
        }
        let ok = PartialRange::First { from: 1, to: 10 };
        assert!(s
            .typed_uid_search_partial(&SearchKey::All, ok, &[All])
            .is_err());
        assert!(s.take_output().is_none());
        let mut without = session("ESEARCH");
        let e = without
            .typed_uid_search_partial(&SearchKey::All, ok, &[])
            .unwrap_err();
        assert!(e.to_string().contains("PARTIAL"), "{e}");
        assert!(without.take_output().is_none());
    }

    #[test]
    fn refusals_send_nothing() {
        use SearchReturn::*;
        let mut s = session("");
        let e = s
            .typed_uid_search_return(&SearchKey::All, &[Min])
            .unwrap_err();
        assert!(e.to_string().contains("ESEARCH"), "{e}");
        let mut s2 = session("ESEARCH");
        let e = s2
            .typed_uid_search_return(&SearchKey::All, &[Min, Save])
            .unwrap_err();
        assert!(e.to_string().contains("SEARCHRES"), "{e}");
        assert!(s2.typed_uid_search_return(&SearchKey::All, &[]).is_err());
        let e = s2
            .typed_uid_fetch_saved(SearchRes { _private: () }, &[FetchAttr::Flags])
            .unwrap_err();
        assert!(e.to_string().contains("SEARCHRES"), "{e}");
        let saved = SearchRes { _private: () };
        assert!(s2
            .typed_uid_store_saved(saved, StoreOp::Add, &["\\Seen"], false)
            .is_err());
        assert!(s2.typed_uid_copy_saved(saved, "Archive", false).is_err());
        assert!(s.take_output().is_none() && s2.take_output().is_none());
    }

    #[test]
    fn encodes_and_reads_results() {
        use SearchReturn::*;
        let mut s = session("ESEARCH SEARCHRES");
        let key = SearchKey::Subject("café".into());
        let ret = [Min, Max, All, Count, Min];
        let p = s.typed_uid_search_return(&key, &ret).unwrap();
        let out = s.take_output().unwrap();
        assert!(
            out.starts_with(b"A1 UID SEARCH RETURN (MIN MAX ALL COUNT) CHARSET UTF-8 SUBJECT "),
            "{out:?}"
        );
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"Z9\") UID MIN 1 COUNT 99\r\n\
              * ESEARCH (TAG \"A1\") UID MIN 2 MAX 9 ALL 2:4,9 COUNT 4\r\nA1 OK done\r\n",
        );
        let r = t.uid_esearch(&ret).unwrap();
        assert_eq!((r.min, r.max, r.count), (Some(2), Some(9), Some(4)));
        assert_eq!(r.all.to_string(), "2:4,9");
        assert!(r.saved.is_none());

        // SAVE alone: no ESEARCH comes, the marker does
        let p = s
            .typed_uid_search_return(&SearchKey::Seen, &[Save])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A2 UID SEARCH RETURN (SAVE) SEEN\r\n"
        );
        let t = run(&mut s, p, b"A2 OK saved\r\n");
        let r = t.uid_esearch(&[Save]).unwrap();
        assert_eq!(r.count, None);
        assert!(r.all.is_empty());
        let saved = r.saved.expect("saved");
        let p = s
            .typed_uid_fetch_saved(saved, &[FetchAttr::Uid, FetchAttr::Flags])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A3 UID FETCH $ (UID FLAGS)\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* 1 FETCH (UID 3 FLAGS (\\Seen))\r\nA3 OK done\r\n",
        );
        assert_eq!(t.into_fetches().iter().count(), 1);
        let p = s
            .typed_uid_store_saved(saved, StoreOp::Add, &["$X"], true)
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A4 UID STORE $ +FLAGS.SILENT ($X)\r\n"
        );
        run(&mut s, p, b"A4 OK done\r\n");
        let p = s.typed_uid_copy_saved(saved, "Archive", true).unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A5 UID MOVE $ \"Archive\"\r\n"
        );
        run(&mut s, p, b"A5 OK done\r\n");

        // no match: COUNT 0, nothing else
        let p = s
            .typed_uid_search_return(&SearchKey::Deleted, &[Min, Count])
            .unwrap();
        let t = run(
            &mut s,
            p,
            b"* ESEARCH (TAG \"A6\") UID COUNT 0\r\nA6 OK done\r\n",
        );
        let r = t.uid_esearch(&[Min, Count]).unwrap();
        assert_eq!((r.min, r.count), (None, Some(0)));
    }
}
