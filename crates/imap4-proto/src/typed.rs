//! Typed commands on the same session as the imaplib surface: typed
//! arguments in, typed results out, no second protocol implementation.
//!
//! While a typed command runs, the untagged responses it provokes are kept
//! raw (they share memory with the received bytes) and parsed on demand
//! with [`crate::parse::parse_response`].

use bytes::Bytes;

use crate::command::{
    fetch_attrs, flag_list, FetchAttr, SearchKey, SeqSet, StatusAttr, StoreOp, UidSet,
};
use crate::encode::{CommandBuilder, EncodeError};
use crate::parse::{self, utf7, Code, Fetch, Response as Parsed, StatusKind, Untagged};
use crate::response::Data;
use crate::session::{Finish, Pending, Session, SessionError, State, Tagged};

/// What a typed command changes when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypedKind {
    Plain,
    Select {
        readonly: bool,
    },
    Close,
    /// AUTHENTICATE with a SASL mechanism, or a typed LOGIN (see `auth.rs`).
    Authenticate,
    /// ENABLE (see `condstore.rs`): UTF-8 mode once `UTF8=ACCEPT` is
    /// enabled.
    Enable,
    /// UNAUTHENTICATE (see `replace.rs`): back to NOT AUTHENTICATED.
    Unauthenticate,
}

/// The raw outcome of a typed command: the tagged line and the untagged
/// responses received while it ran.
#[derive(Debug, Clone)]
pub struct TypedOutcome {
    /// The tagged response line (without CRLF).
    pub tagged: Bytes,
    /// The untagged responses, raw and complete (parse each with
    /// [`crate::parse::parse_response`]).
    pub frames: Vec<Bytes>,
    /// Whether UTF-8 mode was on (mailbox names are UTF-8, not modified
    /// UTF-7).
    pub utf8: bool,
}

impl TypedOutcome {
    /// Every untagged response, typed; the first one that cannot be parsed
    /// is an error ([`SessionError::Unparsable`]) instead of being skipped,
    /// so that a number too large for its field never reads as 0.
    pub fn checked(&self) -> Result<Vec<Untagged<'_>>, SessionError> {
        let mut out = Vec::with_capacity(self.frames.len());
        for f in &self.frames {
            match parse::parse_response(f) {
                Ok(Parsed::Data(d)) => out.push(d),
                Ok(_) => {}
                Err(error) => {
                    return Err(SessionError::Unparsable {
                        error,
                        raw: f.clone(),
                    })
                }
            }
        }
        Ok(out)
    }

    /// The response code of the tagged response, if any.
    pub fn code(&self) -> Option<Code<'_>> {
        match parse::parse_response(&self.tagged) {
            Ok(Parsed::Status(s)) => s.code,
            _ => None,
        }
    }

    /// Every untagged response that parses, typed.
    pub fn untagged(&self) -> impl Iterator<Item = Untagged<'_>> {
        self.frames
            .iter()
            .filter_map(|f| match parse::parse_response(f) {
                Ok(Parsed::Data(d)) => Some(d),
                _ => None,
            })
    }

    /// The codes of untagged status responses (`* OK [UIDNEXT 5]`), and of
    /// the tagged response, in order.
    pub fn codes(&self) -> impl Iterator<Item = Code<'_>> {
        self.frames
            .iter()
            .chain(std::iter::once(&self.tagged))
            .filter_map(|f| match parse::parse_response(f) {
                Ok(Parsed::Status(s)) => s.code,
                _ => None,
            })
    }
}

/// FETCH results: the raw responses, parsed as you iterate (no copy of
/// message data is made).
///
/// With the `serde` feature it serializes as a sequence of [`Fetch`]es
/// (parsed while serializing; other untagged data is left out), and a
/// response that cannot be parsed fails the serialization with its
/// [`parse::ParseError`] as the error's text.
#[derive(Debug, Clone, Default)]
pub struct Fetches {
    frames: Vec<Bytes>,
}

impl Fetches {
    /// Wraps raw responses.
    pub fn new(frames: Vec<Bytes>) -> Self {
        Fetches { frames }
    }

    /// Each FETCH response, parsed. A response that cannot be parsed at
    /// all yields an error (odd items inside a FETCH are kept raw, not
    /// errors).
    pub fn iter(&self) -> impl Iterator<Item = Result<Fetch<'_>, parse::ParseError>> {
        self.frames
            .iter()
            .filter_map(|f| match parse::parse_response(f) {
                Ok(Parsed::Data(Untagged::Fetch(fetch))) => Some(Ok(fetch)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
    }

    /// Number of raw responses held (FETCH and any unsolicited data).
    pub fn raw_len(&self) -> usize {
        self.frames.len()
    }

    /// Splits the answers of one UID FETCH of the union of `sets` (see
    /// [`merge_uid_sets`]) into what a UID FETCH of each set would have
    /// returned: a FETCH response goes to every set holding its UID;
    /// anything else (unsolicited data) to the first.
    pub fn split_by_uid(&self, sets: &[&UidSet]) -> Vec<Fetches> {
        let mut out = vec![Fetches::default(); sets.len()];
        for frame in &self.frames {
            let uid = parse::fetch_uid(frame, crate::Limits::default().max_depth);
            let mut given = false;
            if let Some(uid) = uid {
                for (i, set) in sets.iter().enumerate() {
                    if set.contains(uid) {
                        out[i].frames.push(frame.clone());
                        given = true;
                    }
                }
            }
            if !given {
                if let Some(first) = out.first_mut() {
                    first.frames.push(frame.clone());
                }
            }
        }
        out
    }
}

/// Most ranges in the union of merged UID sets: the command line stays
/// under about 8 KB (RFC 7162 section 4's advice for line lengths).
pub const MERGED_RANGES: usize = 500;

/// Groups UID sets to fetch them in few commands: consecutive sets are
/// merged while their union has at most `max_ranges` ranges. A server
/// answers one UID FETCH of a union as fast as one batched fetch, where
/// a command per set costs its per-command work each time (300
/// one-message fetches pipelined: 2.7x one batched fetch on Dovecot).
/// Returns each group's union and the indexes of its sets; empty sets are
/// in no group, and a set holding `*` is a group of its own (`n:*` can
/// match a message below `n`, which a union cannot tell apart).
pub fn merge_uid_sets(sets: &[UidSet], max_ranges: usize) -> Vec<(UidSet, Vec<usize>)> {
    let has_star = |s: &UidSet| {
        s.ranges()
            .iter()
            .any(|&(a, b)| a == crate::command::Bound::Star || b == crate::command::Bound::Star)
    };
    let mut groups: Vec<(UidSet, Vec<usize>)> = Vec::new();
    let mut open = false;
    for (i, set) in sets.iter().enumerate() {
        if set.is_empty() {
            continue;
        }
        if has_star(set) {
            groups.push((set.clone(), vec![i]));
            open = false;
            continue;
        }
        if open {
            if let Some((union, members)) = groups.last_mut() {
                let merged = union.union(set);
                if merged.ranges().len() <= max_ranges {
                    *union = merged;
                    members.push(i);
                    continue;
                }
            }
        }
        groups.push((set.clone(), vec![i]));
        open = true;
    }
    groups
}

#[cfg(feature = "serde")]
impl serde::Serialize for Fetches {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut seq = s.serialize_seq(None)?;
        for fetch in self.iter() {
            seq.serialize_element(&fetch.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

/// Bytes from the server as a string, invalid UTF-8 replaced (like
/// [`parse::ByteStr`]).
#[cfg(feature = "serde")]
fn ser_lossy<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

/// What SELECT or EXAMINE tells about a mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SelectedMailbox {
    /// Number of messages (EXISTS).
    pub exists: u32,
    /// RECENT.
    pub recent: u32,
    /// FLAGS: the flags defined in the mailbox.
    pub flags: Vec<String>,
    /// PERMANENTFLAGS: the flags that can be stored (`\*`: new keywords).
    pub permanent_flags: Vec<String>,
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// UIDNEXT.
    pub uid_next: Option<u32>,
    /// UNSEEN: the first unseen message.
    pub unseen: Option<u32>,
    /// HIGHESTMODSEQ (CONDSTORE).
    pub highest_modseq: Option<u64>,
    /// Opened read-only.
    pub read_only: bool,
}

/// A mailbox from LIST.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MailboxInfo {
    /// The name, decoded (modified UTF-7 or UTF-8).
    pub name: String,
    /// The name as the server sent it (use it in commands if decoding
    /// lost something). Serialized as a string, invalid UTF-8 replaced,
    /// like every byte string from the server.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_lossy"))]
    pub raw_name: Vec<u8>,
    /// The hierarchy delimiter.
    pub delimiter: Option<char>,
    /// Attributes (`\HasNoChildren`, `\Sent`, …).
    pub attributes: Vec<String>,
}

impl MailboxInfo {
    /// Whether the mailbox has this attribute (case-insensitive).
    pub fn has_attribute(&self, attr: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attr))
    }
}

/// RFC 3501 `date-time` without its quotes: `DD-Mon-YYYY HH:MM:SS +ZZZZ`,
/// the day one or two digits (or a space and one digit), a real date and
/// time. The parser of INTERNALDATE answers ([`parse::parse_internal_date`])
/// judges the fields; it forgives extra blanks, which would go out as
/// they are, so the shape is checked here.
fn is_date_time(s: &str) -> bool {
    let printable = s.bytes().all(|b| (0x20..0x7f).contains(&b));
    let single_blanks = !s.contains("  ") && !s.ends_with(' ');
    let leading = !s.starts_with(' ') || s.as_bytes().get(2) == Some(&b'-');
    printable && single_blanks && leading && parse::parse_internal_date(s.as_bytes()).is_some()
}

#[cfg(test)]
mod date_time_tests {
    use super::is_date_time;

    #[test]
    fn date_times_are_checked() {
        for ok in [
            "01-Feb-2026 10:00:00 +0000",
            "1-Feb-2026 10:00:00 +0000",
            " 1-feb-2026 23:59:60 -1130",
            "31-Dec-1999 00:00:00 +0100",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "",
            "01-Foo-2026 10:00:00 +0000",
            "00-Feb-2026 10:00:00 +0000",
            "32-Feb-2026 10:00:00 +0000",
            "01-Feb-26 10:00:00 +0000",
            "01-Feb-2026 24:00:00 +0000",
            "01-Feb-2026 10:00 +0000",
            "01-Feb-2026 10:00:00 0000",
            "01-Feb-2026 10:00:00 +00000",
            "01-Feb-2026 10:00:00 +0000\r\nX",
            "01-Feb-2026  10:00:00 +0000",
            "01-Feb-2026 10:00:00 +ÿ000",
            "01-Feb-2026 10:00:00 +0é0",
        ] {
            assert!(!is_date_time(bad), "{bad:?}");
        }
    }
}

/// One message of a MULTIAPPEND ([`Session::typed_append_many`]).
#[derive(Debug, Clone)]
pub struct AppendMessage<'a> {
    /// Its flags (validated).
    pub flags: &'a [&'a str],
    /// Its INTERNALDATE (`"DD-Mon-YYYY HH:MM:SS +ZZZZ"`, no quotes).
    pub internal_date: Option<&'a str>,
    /// The message, sent as it is.
    pub message: Bytes,
}

impl<'a> AppendMessage<'a> {
    /// A message without flags or date.
    pub fn new(message: impl Into<Bytes>) -> Self {
        AppendMessage {
            flags: &[],
            internal_date: None,
            message: message.into(),
        }
    }
}

/// STATUS results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MailboxStatus {
    /// The mailbox name, decoded.
    pub mailbox: String,
    /// MESSAGES.
    pub messages: Option<u32>,
    /// RECENT.
    pub recent: Option<u32>,
    /// UIDNEXT.
    pub uid_next: Option<u32>,
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// UNSEEN.
    pub unseen: Option<u32>,
    /// HIGHESTMODSEQ.
    pub highest_modseq: Option<u64>,
    /// SIZE.
    pub size: Option<u64>,
    /// MAILBOXID (OBJECTID, RFC 8474), without its parentheses.
    pub mailbox_id: Option<String>,
    /// APPENDLIMIT (RFC 7889), in bytes; NIL (no limit) is `u64::MAX`.
    pub append_limit: Option<u64>,
    /// DELETED (IMAP4rev2).
    pub deleted: Option<u32>,
    /// Other items: (name, raw value).
    pub other: Vec<(String, String)>,
}

/// Where APPEND, COPY or MOVE put messages (UIDPLUS).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UidMapping {
    /// UIDVALIDITY of the destination mailbox.
    pub uid_validity: u32,
    /// Source UIDs (COPY and MOVE only).
    pub source: Option<UidSet>,
    /// UIDs in the destination.
    pub destination: UidSet,
}

impl Session {
    /// Encodes a mailbox name: modified UTF-7, or UTF-8 in UTF-8 mode.
    ///
    /// Control characters are never sent raw: modified UTF-7 encodes them,
    /// and in UTF-8 mode (where names are Net-Unicode, RFC 6855) they are
    /// refused.
    pub(crate) fn mailbox_arg(
        &self,
        c: &mut CommandBuilder,
        mailbox: &str,
    ) -> Result<(), EncodeError> {
        if self.utf8_enabled() {
            if mailbox.chars().any(char::is_control) {
                return Err(EncodeError::InvalidArgument(format!(
                    "mailbox name {mailbox:?} holds control characters"
                )));
            }
            c.string(mailbox.as_bytes())?;
        } else if mailbox
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'&')
        {
            c.string(mailbox.as_bytes())?;
        } else {
            c.string(utf7::encode(mailbox).as_bytes())?;
        }
        Ok(())
    }

    /// Queues a typed command: its untagged responses are captured raw.
    pub(crate) fn typed(
        &mut self,
        name: &str,
        kind: TypedKind,
        states: &[State],
        build: impl FnOnce(&Session, &mut CommandBuilder) -> Result<(), EncodeError>,
    ) -> Result<Pending, SessionError> {
        self.typed_with(name, kind, states, false, build)
    }

    /// [`Session::typed`], with an AUTHENTICATE exchange when
    /// `authenticate`.
    pub(crate) fn typed_with(
        &mut self,
        name: &str,
        kind: TypedKind,
        states: &[State],
        authenticate: bool,
        build: impl FnOnce(&Session, &mut CommandBuilder) -> Result<(), EncodeError>,
    ) -> Result<Pending, SessionError> {
        if self.is_broken() {
            return Err(SessionError::Closed("connection is broken".into()));
        }
        if !states.contains(&self.state()) {
            return Err(SessionError::IllegalState {
                command: name.to_string(),
                state: self.state(),
                allowed: states
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut c = CommandBuilder::new(&self.next_tag(), name, self.literal_mode())?;
        build(self, &mut c)?;
        self.send_built(name, Finish::Typed(kind), authenticate, c)
    }

    /// Completes a typed command: NO and BAD are errors; the state changes
    /// a successful SELECT or CLOSE implies are applied.
    pub fn complete_typed(
        &mut self,
        pending: Pending,
        outcome: Result<Tagged, SessionError>,
    ) -> Result<TypedOutcome, SessionError> {
        let frames = self.take_capture(pending.id());
        let kind = match pending.finish() {
            Finish::Typed(k) => *k,
            _ => TypedKind::Plain,
        };
        let name = pending.name().to_string();
        if kind == TypedKind::Close {
            self.set_state(State::Auth);
        }
        let (typ, data) = outcome.map_err(|e| SessionError::InCommand {
            command: name.clone(),
            source: Box::new(e),
        })?;
        if kind == TypedKind::Authenticate {
            self.sasl_verdict(pending.id(), &typ, &data)?;
        }
        let tagged = self.last_tagged_raw.take().unwrap_or_default();
        if typ != "OK" {
            if let TypedKind::Select { .. } = kind {
                self.set_state(State::Auth);
            }
            let text = match data.last() {
                Some(Data::Line(b)) => b.clone(),
                _ => Bytes::new(),
            };
            return Err(SessionError::Command {
                message: format!("{name} failed: {typ} {}", String::from_utf8_lossy(&text)),
                status: typ,
                text,
            });
        }
        if let TypedKind::Select { readonly } = kind {
            self.set_state(State::Selected);
            self.set_readonly(readonly);
        }
        if kind == TypedKind::Enable && self.is_enabled("UTF8=ACCEPT") {
            self.set_utf8();
        }
        let mut tagged = tagged;
        while tagged.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            tagged.truncate(tagged.len() - 1);
        }
        let out = TypedOutcome {
            tagged,
            frames,
            utf8: self.utf8_enabled(),
        };
        if kind == TypedKind::Unauthenticate {
            self.reset_to_nonauth();
        }
        Ok(out)
    }

    // ----- typed commands ------------------------------------------------------

    /// SELECT (or EXAMINE when `readonly`) `mailbox`, name encoded as the
    /// server requires.
    pub fn typed_select(&mut self, mailbox: &str, readonly: bool) -> Result<Pending, SessionError> {
        let name = if readonly { "EXAMINE" } else { "SELECT" };
        self.clear_untagged();
        self.reset_mailbox(readonly);
        self.typed(
            name,
            TypedKind::Select { readonly },
            &[State::Auth, State::Selected],
            |s, c| s.mailbox_arg(c, mailbox),
        )
    }

    /// Refuses, before anything is sent, when an item's capability
    /// (`NAME`, or `NAME=...` for APPENDLIMIT-style ones) is not offered.
    pub(crate) fn require_capabilities<T: std::fmt::Debug>(
        &self,
        needs: impl Iterator<Item = (Option<&'static str>, T)>,
    ) -> Result<(), SessionError> {
        for (cap, item) in needs {
            if let Some(cap) = cap {
                if !self.supports_capability_name(cap) {
                    return Err(SessionError::Usage(format!(
                        "{item:?} needs the {cap} capability, which the server does not \
                         advertise (nothing sent)"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether the server advertises `name` itself or with a value
    /// (`APPENDLIMIT=35651584` for `APPENDLIMIT`).
    pub fn supports_capability_name(&self, name: &str) -> bool {
        self.current_capabilities().iter().any(|c| {
            c.eq_ignore_ascii_case(name)
                || (c.len() > name.len()
                    && c.as_bytes()[name.len()] == b'='
                    && c.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes()))
        })
    }

    /// Refuses, before anything is sent, a search key whose capability
    /// the server does not offer ([`SearchKey::required_capability`]).
    pub(crate) fn check_search_key(&self, key: &SearchKey) -> Result<(), SessionError> {
        self.require_capabilities(std::iter::once((key.required_capability(), key)))
    }

    /// FETCH or UID FETCH.
    pub fn typed_fetch(
        &mut self,
        set: SetArg<'_>,
        attrs: &[FetchAttr],
    ) -> Result<Pending, SessionError> {
        self.require_capabilities(attrs.iter().map(|a| (a.required_capability(), a)))?;
        let (name, set_text) = set.command("FETCH");
        let p = self.typed(&name, TypedKind::Plain, &[State::Selected], |_, c| {
            c.set(&set_text)?;
            fetch_attrs(c, attrs)
        })?;
        set.route(self, &p);
        Ok(p)
    }

    /// SEARCH or UID SEARCH with a typed key (strings are sent as UTF-8
    /// with `CHARSET UTF-8` when they are not ASCII).
    pub fn typed_search(&mut self, uid: bool, key: &SearchKey) -> Result<Pending, SessionError> {
        self.check_search_key(key)?;
        let name = if uid { "UID SEARCH" } else { "SEARCH" };
        let needs_charset = !key.is_ascii() && !self.utf8_enabled();
        self.typed(name, TypedKind::Plain, &[State::Selected], |_, c| {
            if needs_charset {
                c.raw(b"CHARSET UTF-8")?;
            }
            key.encode(c)
        })
    }

    /// SORT or UID SORT (RFC 5256) of the messages matching `key`, by
    /// `criteria` (at least one), charset UTF-8. Refused, nothing sent,
    /// when the server does not advertise SORT.
    pub fn typed_sort(
        &mut self,
        uid: bool,
        criteria: &[SortCriterion],
        key: &SearchKey,
    ) -> Result<Pending, SessionError> {
        if !self.supports("SORT") {
            return Err(SessionError::Usage("the server does not offer SORT".into()));
        }
        if criteria.is_empty() {
            return Err(SessionError::Usage(
                "SORT needs at least one criterion".into(),
            ));
        }
        self.check_search_key(key)?;
        let name = if uid { "UID SORT" } else { "SORT" };
        let list = sort_criteria(criteria);
        self.typed(name, TypedKind::Plain, &[State::Selected], |_, c| {
            c.raw(list.as_bytes())?;
            c.raw(b"UTF-8")?;
            key.encode(c)
        })
    }

    /// THREAD or UID THREAD (RFC 5256) of the messages matching `key` with
    /// `algorithm`, charset UTF-8. Refused, nothing sent, when the server
    /// does not advertise `THREAD=<algorithm>`.
    pub fn typed_thread(
        &mut self,
        uid: bool,
        algorithm: ThreadAlgorithm,
        key: &SearchKey,
    ) -> Result<Pending, SessionError> {
        let alg = algorithm.as_str();
        if !self.supports(&format!("THREAD={alg}")) {
            return Err(SessionError::Usage(format!(
                "the server does not offer THREAD={alg}"
            )));
        }
        self.check_search_key(key)?;
        let name = if uid { "UID THREAD" } else { "THREAD" };
        self.typed(name, TypedKind::Plain, &[State::Selected], |_, c| {
            c.raw(alg.as_bytes())?;
            c.raw(b"UTF-8")?;
            key.encode(c)
        })
    }

    /// STORE or UID STORE (`.SILENT` when `silent`).
    pub fn typed_store(
        &mut self,
        set: SetArg<'_>,
        op: StoreOp,
        flags: &[&str],
        silent: bool,
    ) -> Result<Pending, SessionError> {
        let (name, set_text) = set.command("STORE");
        let item = store_item(op, silent);
        let p = self.typed(&name, TypedKind::Plain, &[State::Selected], |_, c| {
            c.set(&set_text)?;
            c.raw(item.as_bytes())?;
            flag_list(c, flags)
        })?;
        set.route(self, &p);
        Ok(p)
    }

    /// COPY / UID COPY, or MOVE / UID MOVE when `move_`.
    pub fn typed_copy(
        &mut self,
        set: SetArg<'_>,
        mailbox: &str,
        move_: bool,
    ) -> Result<Pending, SessionError> {
        let (name, set_text) = set.command(if move_ { "MOVE" } else { "COPY" });
        self.typed(&name, TypedKind::Plain, &[State::Selected], |s, c| {
            c.set(&set_text)?;
            s.mailbox_arg(c, mailbox)
        })
    }

    /// LIST `reference` `pattern` (pattern encoded like a mailbox name).
    pub fn typed_list(&mut self, reference: &str, pattern: &str) -> Result<Pending, SessionError> {
        self.typed_list_verb("LIST", reference, pattern)
    }

    /// LSUB `reference` `pattern`: the subscribed mailboxes (read them
    /// with [`TypedOutcome::mailboxes`]).
    pub fn typed_lsub(&mut self, reference: &str, pattern: &str) -> Result<Pending, SessionError> {
        self.typed_list_verb("LSUB", reference, pattern)
    }

    fn typed_list_verb(
        &mut self,
        verb: &str,
        reference: &str,
        pattern: &str,
    ) -> Result<Pending, SessionError> {
        self.typed(
            verb,
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, reference)?;
                s.mailbox_arg(c, pattern)
            },
        )
    }

    /// STATUS `mailbox` (attrs).
    pub fn typed_status(
        &mut self,
        mailbox: &str,
        attrs: &[StatusAttr],
    ) -> Result<Pending, SessionError> {
        self.require_capabilities(attrs.iter().map(|a| (a.required_capability(), a)))?;
        let list = format!(
            "({})",
            attrs
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
        self.typed(
            "STATUS",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.raw(list.as_bytes())?;
                Ok(())
            },
        )
    }

    /// CREATE, DELETE, SUBSCRIBE or UNSUBSCRIBE `mailbox` (`verb`).
    pub fn typed_mailbox_command(
        &mut self,
        verb: MailboxVerb,
        mailbox: &str,
    ) -> Result<Pending, SessionError> {
        self.typed(
            verb.as_str(),
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| s.mailbox_arg(c, mailbox),
        )
    }

    /// RENAME `from` `to`.
    pub fn typed_rename(&mut self, from: &str, to: &str) -> Result<Pending, SessionError> {
        self.typed(
            "RENAME",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, from)?;
                s.mailbox_arg(c, to)
            },
        )
    }

    /// The server-wide APPENDLIMIT (RFC 7889) in bytes, when the
    /// capability carries one (`APPENDLIMIT=35651584`); `None` without the
    /// capability or when limits are per mailbox (`APPENDLIMIT` alone: ask
    /// with STATUS).
    pub fn append_limit(&self) -> Option<u64> {
        self.current_capabilities().iter().find_map(|c| {
            let (name, value) = c.split_once('=')?;
            if name.eq_ignore_ascii_case("APPENDLIMIT") {
                value.parse().ok()
            } else {
                None
            }
        })
    }

    /// Refuses an INTERNALDATE that is not RFC 3501's `date-time` before
    /// sending: a server answers a malformed one with BAD in the middle of
    /// the command, and with LITERAL+ it would then read the message
    /// bytes that follow as commands.
    pub(crate) fn check_internal_date(date: &str) -> Result<(), SessionError> {
        if is_date_time(date) {
            Ok(())
        } else {
            Err(SessionError::Usage(format!(
                "{date:?} is not an IMAP date-time (\"DD-Mon-YYYY HH:MM:SS +ZZZZ\"; nothing sent)"
            )))
        }
    }

    /// APPEND's message: a literal; in UTF-8 mode (`UTF8=ACCEPT` enabled)
    /// one with 8-bit bytes as `UTF8 (~{n})` (RFC 6855) where the server
    /// reads literal8 (offers BINARY), else as a plain literal; one holding NUL
    /// bytes (which no plain literal may) as a BINARY literal8 where the
    /// server offers BINARY (RFC 3516), refused otherwise, nothing sent.
    fn append_literal(&self, c: &mut CommandBuilder, message: Bytes) -> Result<(), EncodeError> {
        // RFC 6855: in UTF-8 mode a message with 8-bit bytes (UTF-8
        // headers) is sent as `UTF8 (~{n})`; only to a server that also
        // offers BINARY: Courier-IMAP 5 (UTF8=ACCEPT, no BINARY) does not
        // read literal8 and refuses that form, while it stores the message
        // from a plain literal (with an ALERT)
        if self.utf8_enabled() && !message.is_ascii() && self.supports("BINARY") {
            c.raw(b"UTF8")?;
            c.open_list();
            c.literal8(message)?;
            c.close_list();
        } else if message.contains(&0) && self.supports("BINARY") {
            c.literal8(message)?;
        } else {
            c.literal(message)?;
        }
        Ok(())
    }

    /// Before an APPEND: a message with NUL bytes needs BINARY.
    fn check_append_nul(&self, message: &[u8]) -> Result<(), SessionError> {
        if message.contains(&0) && !self.supports("BINARY") {
            return Err(SessionError::Usage(
                "the message holds NUL bytes, which only a BINARY literal (RFC 3516) can carry, \
                 and the server does not advertise BINARY (nothing sent)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Refuses a message above the server's APPENDLIMIT before sending.
    pub(crate) fn check_append_limit(&self, len: usize) -> Result<(), SessionError> {
        match self.append_limit() {
            Some(limit) if len as u64 > limit => Err(SessionError::Usage(format!(
                "the message is {len} bytes, above the server's APPENDLIMIT of {limit} \
                 (nothing sent)"
            ))),
            _ => Ok(()),
        }
    }

    /// APPEND `message` to `mailbox` with `flags` (validated) and an
    /// optional INTERNALDATE string (`"DD-Mon-YYYY HH:MM:SS +ZZZZ"`,
    /// without quotes). The message is sent as it is (no line-end
    /// conversion). Refused, with nothing sent, above the server's
    /// [`Session::append_limit`].
    pub fn typed_append(
        &mut self,
        mailbox: &str,
        flags: &[&str],
        internal_date: Option<&str>,
        message: Bytes,
    ) -> Result<Pending, SessionError> {
        // a batch of one: the same checks, the same command
        self.typed_append_many(
            mailbox,
            &[AppendMessage {
                flags,
                internal_date,
                message,
            }],
        )
    }

    /// APPEND of several messages in one command (MULTIAPPEND, RFC 3502):
    /// the server adds all of them or none. Each has its own flags and
    /// date. Refused, with nothing sent, without MULTIAPPEND (unless there
    /// is a single message), with no message, or when one is above the
    /// server's [`Session::append_limit`]. With UIDPLUS the answer's
    /// APPENDUID lists the new UIDs in order.
    pub fn typed_append_many(
        &mut self,
        mailbox: &str,
        messages: &[AppendMessage<'_>],
    ) -> Result<Pending, SessionError> {
        if messages.is_empty() {
            return Err(SessionError::Usage(
                "APPEND needs at least one message (nothing sent)".into(),
            ));
        }
        if messages.len() > 1 && !self.supports("MULTIAPPEND") {
            return Err(SessionError::Usage(
                "several messages in one APPEND need MULTIAPPEND, which the server does not \
                 advertise (nothing sent)"
                    .into(),
            ));
        }
        for m in messages {
            self.check_append_limit(m.message.len())?;
            self.check_append_nul(&m.message)?;
            if let Some(d) = m.internal_date {
                Self::check_internal_date(d)?;
            }
        }
        self.typed(
            "APPEND",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                for m in messages {
                    if !m.flags.is_empty() {
                        flag_list(c, m.flags)?;
                    }
                    if let Some(d) = m.internal_date {
                        c.string(d.as_bytes())?;
                    }
                    s.append_literal(c, m.message.clone())?;
                }
                Ok(())
            },
        )
    }

    /// EXPUNGE, or UID EXPUNGE `set` (UIDPLUS).
    pub fn typed_expunge(&mut self, uids: Option<&UidSet>) -> Result<Pending, SessionError> {
        match uids {
            None => self.typed("EXPUNGE", TypedKind::Plain, &[State::Selected], |_, _| {
                Ok(())
            }),
            Some(set) => {
                let text = set.to_string();
                self.typed(
                    "UID EXPUNGE",
                    TypedKind::Plain,
                    &[State::Selected],
                    |_, c| {
                        c.set(&text)?;
                        Ok(())
                    },
                )
            }
        }
    }

    /// CLOSE (`expunge`) or UNSELECT.
    pub fn typed_close(&mut self, expunge: bool) -> Result<Pending, SessionError> {
        let name = if expunge { "CLOSE" } else { "UNSELECT" };
        self.typed(name, TypedKind::Close, &[State::Selected], |_, _| Ok(()))
    }

    /// ID (RFC 2971): the client's parameters (name, value or NIL), or
    /// `ID NIL` for `None`. Refused, with nothing sent, when the server
    /// does not advertise ID.
    pub fn typed_id(
        &mut self,
        params: Option<&[(&str, Option<&str>)]>,
    ) -> Result<Pending, SessionError> {
        if !self.supports("ID") {
            return Err(SessionError::Usage("Server does not support ID".into()));
        }
        self.typed(
            "ID",
            TypedKind::Plain,
            &[State::NonAuth, State::Auth, State::Selected],
            |_, c| {
                match params {
                    None => {
                        c.raw(b"NIL")?;
                    }
                    Some(params) => {
                        c.open_list();
                        for (k, v) in params {
                            c.string(k.as_bytes())?;
                            match v {
                                Some(v) => c.string(v.as_bytes())?,
                                None => c.raw(b"NIL")?,
                            };
                        }
                        c.close_list();
                    }
                }
                Ok(())
            },
        )
    }

    /// COMPRESS DEFLATE (RFC 4978). Refused, with nothing sent, when the
    /// server does not advertise `COMPRESS=DEFLATE`, when compression is
    /// already on, or while other commands are in flight (nothing may be
    /// pipelined around it). After the server's OK, everything is
    /// compressed both ways, beginning with the first byte after the OK;
    /// until the reply, nothing else is written.
    pub fn typed_compress(&mut self) -> Result<Pending, SessionError> {
        if self.is_compressed() {
            return Err(SessionError::Usage("compression is already active".into()));
        }
        if !self.supports("COMPRESS=DEFLATE") {
            return Err(SessionError::Usage(
                "Server does not support COMPRESS=DEFLATE".into(),
            ));
        }
        if self.any_in_flight() {
            return Err(SessionError::Usage(
                "COMPRESS cannot be pipelined: other commands are in flight".into(),
            ));
        }
        let pending = self.typed(
            "COMPRESS",
            TypedKind::Plain,
            &[State::NonAuth, State::Auth, State::Selected],
            |_, c| {
                c.raw(b"DEFLATE")?;
                Ok(())
            },
        )?;
        self.compress_sent(&pending);
        Ok(pending)
    }

    /// NOOP (to collect unsolicited updates).
    pub fn typed_noop(&mut self) -> Result<Pending, SessionError> {
        self.typed(
            "NOOP",
            TypedKind::Plain,
            &[State::NonAuth, State::Auth, State::Selected],
            |_, _| Ok(()),
        )
    }
}

/// The STORE data item: `FLAGS`, `+FLAGS` or `-FLAGS`, `.SILENT` when
/// `silent`.
pub(crate) fn store_item(op: StoreOp, silent: bool) -> String {
    let item = match op {
        StoreOp::Replace => "FLAGS",
        StoreOp::Add => "+FLAGS",
        StoreOp::Remove => "-FLAGS",
    };
    if silent {
        format!("{item}.SILENT")
    } else {
        item.to_string()
    }
}

/// CREATE, DELETE, SUBSCRIBE or UNSUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxVerb {
    /// CREATE.
    Create,
    /// DELETE.
    Delete,
    /// SUBSCRIBE.
    Subscribe,
    /// UNSUBSCRIBE.
    Unsubscribe,
}

impl MailboxVerb {
    fn as_str(self) -> &'static str {
        match self {
            MailboxVerb::Create => "CREATE",
            MailboxVerb::Delete => "DELETE",
            MailboxVerb::Subscribe => "SUBSCRIBE",
            MailboxVerb::Unsubscribe => "UNSUBSCRIBE",
        }
    }
}

/// A set argument: sequence numbers (plain command) or UIDs (`UID`
/// command). The two cannot be confused.
#[derive(Debug, Clone, Copy)]
pub enum SetArg<'a> {
    /// Message sequence numbers.
    Seq(&'a SeqSet),
    /// UIDs.
    Uid(&'a UidSet),
}

impl SetArg<'_> {
    /// Whether the set names no message (a command on it would ask the
    /// server nothing).
    pub fn is_empty(&self) -> bool {
        match self {
            SetArg::Seq(s) => s.is_empty(),
            SetArg::Uid(s) => s.is_empty(),
        }
    }

    pub(crate) fn command(&self, verb: &str) -> (String, String) {
        match self {
            SetArg::Seq(s) => (verb.to_string(), s.to_string()),
            SetArg::Uid(s) => (format!("UID {verb}"), s.to_string()),
        }
    }

    /// A UID command's FETCH answers are routed by UID.
    pub(crate) fn route(&self, session: &mut Session, pending: &Pending) {
        if let SetArg::Uid(set) = self {
            session.route_uids(pending, set);
        }
    }
}

// ----- result builders ----------------------------------------------------------

impl TypedOutcome {
    /// SELECT/EXAMINE results.
    pub fn selected(&self, readonly_requested: bool) -> Result<SelectedMailbox, SessionError> {
        let mut m = SelectedMailbox {
            read_only: readonly_requested,
            ..SelectedMailbox::default()
        };
        let flag_strings =
            |f: &[parse::Flag<'_>]| f.iter().map(|f| f.0.to_str_lossy().into_owned()).collect();
        for d in self.checked()? {
            match d {
                Untagged::Exists(n) => m.exists = n,
                Untagged::Recent(n) => m.recent = n,
                Untagged::Flags(f) => m.flags = flag_strings(&f),
                _ => {}
            }
        }
        for code in self.codes() {
            match code {
                Code::PermanentFlags(f) => m.permanent_flags = flag_strings(&f),
                Code::UidValidity(v) => m.uid_validity = Some(v),
                Code::UidNext(v) => m.uid_next = Some(v),
                Code::Unseen(v) => m.unseen = Some(v),
                Code::HighestModSeq(v) => m.highest_modseq = Some(v),
                Code::ReadOnly => m.read_only = true,
                Code::ReadWrite => m.read_only = false,
                _ => {}
            }
        }
        Ok(m)
    }

    /// SEARCH results (also ESEARCH ALL) as ranges `(first, last)`, never
    /// expanded: `ALL 1:4294967295` is one range. Build a set with
    /// [`SeqSet::from_ranges`] or [`UidSet::from_ranges`].
    pub fn search_ranges(&self) -> Result<Vec<(u32, u32)>, SessionError> {
        let mut out = Vec::new();
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            match d {
                Some(Untagged::Search { numbers, .. }) => {
                    out.extend(numbers.iter().map(|&n| (n, n)))
                }
                Some(Untagged::ESearch(e)) => {
                    if let Some(all) = e.all {
                        let set: SeqSet =
                            all.to_str_lossy()
                                .parse()
                                .map_err(|_| SessionError::Unparsable {
                                    error: parse::ParseError {
                                        offset: 0,
                                        expected: "a sequence set after ALL",
                                    },
                                    raw: frame.clone(),
                                })?;
                        out.extend(set.numeric_ranges());
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Each frame parsed (`None` for status responses), or the first error.
    pub(crate) fn checked_all(&self) -> Result<Vec<Option<Untagged<'_>>>, SessionError> {
        self.frames
            .iter()
            .map(|f| match parse::parse_response(f) {
                Ok(Parsed::Data(d)) => Ok(Some(d)),
                Ok(_) => Ok(None),
                Err(error) => Err(SessionError::Unparsable {
                    error,
                    raw: f.clone(),
                }),
            })
            .collect()
    }

    /// LIST (or LSUB) results (names decoded as the session's UTF-8 mode says).
    pub fn mailboxes(&self) -> Result<Vec<MailboxInfo>, SessionError> {
        Ok(self
            .checked()?
            .into_iter()
            .filter_map(|d| match d {
                Untagged::List(l) | Untagged::Lsub(l) => Some(MailboxInfo {
                    name: parse::decode_mailbox_name(l.mailbox.raw.as_bytes(), self.utf8)
                        .into_owned(),
                    raw_name: l.mailbox.raw.as_bytes().to_vec(),
                    delimiter: l.delimiter.map(char::from),
                    attributes: l
                        .attributes
                        .iter()
                        .map(|a| a.0.to_str_lossy().into_owned())
                        .collect(),
                }),
                _ => None,
            })
            .collect())
    }

    /// SORT results: message numbers or UIDs, in the server's order.
    pub fn sorted(&self) -> Result<Vec<u32>, SessionError> {
        Ok(self
            .checked()?
            .into_iter()
            .filter_map(|d| match d {
                Untagged::Sort(v) => Some(v),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// THREAD results: the threads, in the server's order.
    pub fn threads(&self) -> Result<Vec<parse::Thread>, SessionError> {
        Ok(self
            .checked()?
            .into_iter()
            .filter_map(|d| match d {
                Untagged::Thread(v) => Some(v),
                _ => None,
            })
            .flatten()
            .collect())
    }

    /// STATUS results; a value too large for its field is an error, and
    /// so is a completed STATUS without a readable `* STATUS` response
    /// (never an empty result that looks like a mailbox without
    /// messages).
    pub fn status(&self) -> Result<MailboxStatus, SessionError> {
        let mut st = MailboxStatus::default();
        let mut seen = false;
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            let Some(Untagged::Status { mailbox, items }) = d else {
                continue;
            };
            seen = true;
            status_into(&mut st, frame, &mailbox, &items, self.utf8)?;
        }
        if !seen {
            let raw = self
                .frames
                .iter()
                .find(|f| f.len() >= 9 && f[..9].eq_ignore_ascii_case(b"* STATUS "))
                .cloned()
                .unwrap_or_default();
            return Err(SessionError::Unparsable {
                error: parse::ParseError {
                    offset: 0,
                    expected: "a STATUS response: mailbox (name value ...)",
                },
                raw,
            });
        }
        Ok(st)
    }

    /// APPENDUID or COPYUID, if the server sent one (UIDPLUS).
    pub fn uid_mapping(&self) -> Option<UidMapping> {
        self.codes().find_map(|c| match c {
            Code::AppendUid { uid_validity, uids } => Some(UidMapping {
                uid_validity,
                source: None,
                destination: uids.to_str_lossy().parse().ok()?,
            }),
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => Some(UidMapping {
                uid_validity,
                source: source.to_str_lossy().parse().ok(),
                destination: destination.to_str_lossy().parse().ok()?,
            }),
            _ => None,
        })
    }

    /// ID results: the server's parameters (empty for `ID NIL`).
    pub fn server_id(&self) -> Vec<(String, Option<String>)> {
        self.untagged()
            .filter_map(|d| match d {
                Untagged::Id(params) => Some(params.unwrap_or_default()),
                _ => None,
            })
            .flatten()
            .map(|(k, v)| {
                (
                    k.to_str_lossy().into_owned(),
                    v.map(|v| v.to_str_lossy().into_owned()),
                )
            })
            .collect()
    }

    /// EXPUNGE results: the expunged sequence numbers, in order.
    pub fn expunged(&self) -> Result<Vec<u32>, SessionError> {
        Ok(self
            .checked()?
            .into_iter()
            .filter_map(|d| match d {
                Untagged::Expunge(n) => Some(n),
                _ => None,
            })
            .collect())
    }

    /// The tagged status (OK here, since failures are errors).
    pub fn status_kind(&self) -> Option<StatusKind> {
        match parse::parse_response(&self.tagged) {
            Ok(Parsed::Status(s)) => Some(s.kind),
            _ => None,
        }
    }

    /// FETCH results.
    pub fn into_fetches(self) -> Fetches {
        Fetches::new(self.frames)
    }
}

/// Why a streamed body could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartialBodyError {
    /// The server returned no data for the message: there is no message
    /// with this UID.
    #[error("no message with UID {0}")]
    NoSuchMessage(u32),
    /// Partial fetches address at most 4 GiB.
    #[error("message larger than 4 GiB cannot be fetched in parts")]
    TooLarge,
    /// A FETCH response could not be parsed.
    #[error("unparsable FETCH response: {0}")]
    Parse(#[from] parse::ParseError),
}

/// Fetches one section of one message in partial fetches
/// (`BODY.PEEK[section]<offset.chunk>`), so that memory stays bounded by
/// the chunk size whatever the message's size. The drivers loop:
/// [`PartialBody::next_request`], run a UID FETCH, then
/// [`PartialBody::accept`] the results and write the chunk it returns.
#[derive(Debug, Clone)]
pub struct PartialBody {
    uid: u32,
    section: String,
    chunk: u32,
    offset: u64,
    done: bool,
}

impl PartialBody {
    /// Streams `BODY.PEEK[section]` of message `uid` in chunks of `chunk`
    /// bytes (at least 1).
    pub fn new(uid: u32, section: &str, chunk: u32) -> Self {
        PartialBody {
            uid,
            section: section.to_string(),
            chunk: chunk.max(1),
            offset: 0,
            done: false,
        }
    }

    /// The UID set and attributes of the next UID FETCH, or `None` when
    /// the whole section has been received.
    pub fn next_request(&self) -> Result<Option<(UidSet, [FetchAttr; 1])>, PartialBodyError> {
        if self.done {
            return Ok(None);
        }
        let start = u32::try_from(self.offset).map_err(|_| PartialBodyError::TooLarge)?;
        Ok(Some((
            UidSet::single(self.uid),
            [FetchAttr::Section {
                section: self.section.clone(),
                peek: true,
                partial: Some((start, self.chunk)),
            }],
        )))
    }

    /// Takes the results of the last request and returns the chunk they
    /// carry (empty at the end).
    pub fn accept<'f>(
        &mut self,
        fetches: &'f Fetches,
    ) -> Result<std::borrow::Cow<'f, [u8]>, PartialBodyError> {
        let start = self.offset;
        let mut found = None;
        for f in fetches.iter() {
            let f = f?;
            if f.uid().is_some_and(|u| u != self.uid) {
                continue;
            }
            found = f.items.into_iter().find_map(|item| match item {
                parse::FetchItem::BodySection { data, origin, .. }
                    if origin.is_none_or(|o| u64::from(o) == start) =>
                {
                    Some(data.map(|d| d.0).unwrap_or_default())
                }
                _ => None,
            });
            if found.is_some() {
                break;
            }
        }
        let Some(data) = found else {
            if start == 0 {
                return Err(PartialBodyError::NoSuchMessage(self.uid));
            }
            self.done = true;
            return Ok(std::borrow::Cow::Borrowed(&[]));
        };
        self.offset += data.len() as u64;
        if data.len() < self.chunk as usize {
            self.done = true;
        }
        Ok(data)
    }

    /// Bytes received so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// A SORT key (RFC 5256; DISPLAYFROM and DISPLAYTO from RFC 5957).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortKey {
    /// Arrival order (INTERNALDATE).
    Arrival,
    /// The first Cc address's mailbox.
    Cc,
    /// The Date header (sent date).
    Date,
    /// The first From address's mailbox.
    From,
    /// RFC822.SIZE.
    Size,
    /// The base subject (Re:, Fwd: and the like removed).
    Subject,
    /// The first To address's mailbox.
    To,
    /// The first From address's display name (SORT=DISPLAY).
    DisplayFrom,
    /// The first To address's display name (SORT=DISPLAY).
    DisplayTo,
}

impl SortKey {
    /// The key as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Arrival => "ARRIVAL",
            SortKey::Cc => "CC",
            SortKey::Date => "DATE",
            SortKey::From => "FROM",
            SortKey::Size => "SIZE",
            SortKey::Subject => "SUBJECT",
            SortKey::To => "TO",
            SortKey::DisplayFrom => "DISPLAYFROM",
            SortKey::DisplayTo => "DISPLAYTO",
        }
    }
}

/// One SORT criterion: a key, ascending or reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// What to sort by.
    pub key: SortKey,
    /// Descending instead of ascending.
    pub reverse: bool,
}

impl SortCriterion {
    /// Ascending by `key`.
    pub fn asc(key: SortKey) -> Self {
        SortCriterion {
            key,
            reverse: false,
        }
    }

    /// Descending by `key`.
    pub fn desc(key: SortKey) -> Self {
        SortCriterion { key, reverse: true }
    }
}

/// A THREAD algorithm (RFC 5256; REFS from RFC 9051's registry, offered by
/// Dovecot and Cyrus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreadAlgorithm {
    /// ORDEREDSUBJECT: by base subject, then date.
    OrderedSubject,
    /// REFERENCES: by the References and In-Reply-To headers.
    References,
    /// REFS: like REFERENCES, threads ordered by their latest message.
    Refs,
}

impl ThreadAlgorithm {
    /// The algorithm as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadAlgorithm::OrderedSubject => "ORDEREDSUBJECT",
            ThreadAlgorithm::References => "REFERENCES",
            ThreadAlgorithm::Refs => "REFS",
        }
    }
}

/// Fills `st` from one `* STATUS` response (`frame`, parsed as
/// `mailbox` and `items`); a value too large for its field is an error.
/// A SORT command's criteria list: `(REVERSE DATE SUBJECT)`.
pub(crate) fn sort_criteria(criteria: &[SortCriterion]) -> String {
    let mut list = String::from("(");
    for (i, c) in criteria.iter().enumerate() {
        if i > 0 {
            list.push(' ');
        }
        if c.reverse {
            list.push_str("REVERSE ");
        }
        list.push_str(c.key.as_str());
    }
    list.push(')');
    list
}

pub(crate) fn status_into(
    st: &mut MailboxStatus,
    frame: &Bytes,
    mailbox: &parse::Mailbox<'_>,
    items: &[parse::StatusItem<'_>],
    utf8: bool,
) -> Result<(), SessionError> {
    let too_large = || SessionError::Unparsable {
        error: parse::ParseError {
            offset: 0,
            expected: "a STATUS value that fits in 32 bits",
        },
        raw: frame.clone(),
    };
    let small = |v: Option<u64>| match v {
        None => Ok(None),
        Some(v) => u32::try_from(v).map(Some).map_err(|_| too_large()),
    };
    st.mailbox = parse::decode_mailbox_name(mailbox.raw.as_bytes(), utf8).into_owned();
    for i in items {
        match i.name.to_str_lossy().to_ascii_uppercase().as_str() {
            "MESSAGES" => st.messages = small(i.value)?,
            "RECENT" => st.recent = small(i.value)?,
            "UIDNEXT" => st.uid_next = small(i.value)?,
            "UIDVALIDITY" => st.uid_validity = small(i.value)?,
            "UNSEEN" => st.unseen = small(i.value)?,
            "HIGHESTMODSEQ" => st.highest_modseq = i.value,
            "SIZE" => st.size = i.value,
            "DELETED" => st.deleted = small(i.value)?,
            "APPENDLIMIT" => {
                st.append_limit = Some(i.value.unwrap_or(u64::MAX));
                if i.value.is_none() && !i.raw.as_bytes().eq_ignore_ascii_case(b"NIL") {
                    return Err(SessionError::Unparsable {
                        error: parse::ParseError {
                            offset: 0,
                            expected: "APPENDLIMIT: a number or NIL",
                        },
                        raw: frame.clone(),
                    });
                }
            }
            "MAILBOXID" => {
                let raw = i.raw.to_str_lossy();
                st.mailbox_id = Some(
                    raw.trim_start_matches('(')
                        .trim_end_matches(')')
                        .trim()
                        .to_string(),
                );
            }
            other => st
                .other
                .push((other.to_string(), i.raw.to_str_lossy().into_owned())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod merge_tests {
    use super::*;
    use crate::command::Bound;

    #[test]
    fn consecutive_sets_merge_until_the_range_limit() {
        let sets: Vec<UidSet> = [1, 2, 3, 10, 12]
            .into_iter()
            .map(UidSet::single)
            .chain([
                UidSet::from_numbers([]),
                UidSet::range(20, Bound::Star),
                UidSet::single(30),
            ])
            .collect();
        let groups = merge_uid_sets(&sets, 2);
        let shown: Vec<(String, Vec<usize>)> = groups
            .iter()
            .map(|(u, m)| (u.to_string(), m.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("1:3,10".to_string(), vec![0, 1, 2, 3]),
                ("12".to_string(), vec![4]),
                ("20:*".to_string(), vec![6]),
                ("30".to_string(), vec![7]),
            ]
        );
    }

    #[test]
    fn answers_split_to_every_set_holding_their_uid() {
        let frames = [
            &b"* 1 FETCH (UID 5 FLAGS ())\r\n"[..],
            b"* 2 FETCH (FLAGS () UID 6)\r\n",
            b"* 9 EXISTS\r\n",
        ]
        .map(Bytes::from_static)
        .to_vec();
        let all = Fetches::new(frames);
        let (a, b, c) = (UidSet::single(5), UidSet::from(5..=6), UidSet::single(7));
        let parts = all.split_by_uid(&[&a, &b, &c]);
        let uids: Vec<Vec<Option<u32>>> = parts
            .iter()
            .map(|p| p.iter().map(|f| f.unwrap().uid()).collect())
            .collect();
        assert_eq!(uids, [vec![Some(5)], vec![Some(5), Some(6)], vec![]]);
        // the unsolicited EXISTS goes with the first set
        assert_eq!(
            parts.iter().map(Fetches::raw_len).collect::<Vec<_>>(),
            [2, 2, 0]
        );
    }
}
