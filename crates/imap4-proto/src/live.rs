//! The live mailbox: a state of the selected mailbox kept true by every
//! response, whatever command is running, and a bounded queue of the
//! events the server pushes (new mail, expunges, flag changes, alerts…).
//!
//! Every untagged response passes through [`Session::observe`] as it is
//! processed, for the imaplib surface and the typed one alike: EXISTS,
//! RECENT, EXPUNGE, VANISHED, FLAGS and the codes of status responses
//! update [`MailboxState`]. Events are recorded once a caller asks for
//! them ([`Session::enable_events`], and always during IDLE); the queue is
//! bounded by [`crate::Limits::max_events`], and overflowing it is an
//! error, never unbounded memory.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::command::UidSet;
use crate::parse::{self, Code, Response as Parsed, StatusKind, Untagged};
use crate::session::{Session, SessionError};

/// What is known of the selected mailbox, kept up to date by every
/// response the server sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MailboxState {
    /// Number of messages (EXISTS, less expunged messages).
    pub exists: u32,
    /// RECENT.
    pub recent: u32,
    /// FLAGS: the flags defined in the mailbox.
    pub flags: Vec<String>,
    /// PERMANENTFLAGS.
    pub permanent_flags: Vec<String>,
    /// UIDVALIDITY.
    pub uid_validity: Option<u32>,
    /// UIDNEXT.
    pub uid_next: Option<u32>,
    /// HIGHESTMODSEQ (CONDSTORE), raised by every MODSEQ seen.
    pub highest_modseq: Option<u64>,
    /// Whether the mailbox is read-only (`[READ-ONLY]`).
    pub read_only: bool,
}

/// Something the server told the client without being asked (or while
/// answering another command).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum Event {
    /// The mailbox now has this many messages (more than before: new mail).
    Exists(u32),
    /// RECENT changed.
    Recent(u32),
    /// The message with this sequence number was expunged (later numbers
    /// moved down by one).
    Expunge(u32),
    /// These UIDs were expunged (QRESYNC's VANISHED; `earlier` for the
    /// ones reported on resynchronization).
    Vanished {
        /// `(EARLIER)`.
        earlier: bool,
        /// The UIDs, never expanded.
        uids: UidSet,
    },
    /// A message's flags changed (a FETCH nobody asked for).
    Flags {
        /// The sequence number.
        seq: u32,
        /// The UID, if the server sent it.
        uid: Option<u32>,
        /// The flags it has now.
        flags: Vec<String>,
        /// Its MODSEQ, if the server sent it.
        modseq: Option<u64>,
    },
    /// A FETCH nobody asked for that carries more than flags, UID and
    /// MODSEQ: what NOTIFY's `MessageNew (attrs)` (RFC 5465) sends for
    /// each new message of the selected mailbox. The response is kept
    /// raw; [`Event::fetch`] parses it. When it holds FLAGS too, an
    /// [`Event::Flags`] comes first.
    Fetch {
        /// The sequence number.
        seq: u32,
        /// The UID, if the server sent it.
        uid: Option<u32>,
        /// The whole response (serialized as text, invalid UTF-8
        /// replaced).
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser_bytes"))]
        raw: Bytes,
    },
    /// The mailbox's FLAGS changed.
    MailboxFlags(Vec<String>),
    /// UIDVALIDITY changed: every UID the client knew is void.
    UidValidity(u32),
    /// `[ALERT]`: text the server wants a person to see (sanitized).
    Alert(String),
    /// The server is closing the connection (sanitized text).
    Bye(String),
    /// A STATUS nobody asked for: what NOTIFY (RFC 5465) reports about a
    /// mailbox other than the selected one (new or expunged messages).
    Status(crate::typed::MailboxStatus),
    /// A LIST nobody asked for (NOTIFY's MailboxName and
    /// SubscriptionChange): a mailbox was created, renamed (`old_name`),
    /// deleted (attribute `\NonExistent`), or (un)subscribed
    /// (`\Subscribed`).
    List {
        /// The mailbox as the LIST response describes it.
        mailbox: crate::typed::MailboxInfo,
        /// Its name before a rename (`OLDNAME`), decoded.
        old_name: Option<String>,
    },
    /// A METADATA nobody asked for (NOTIFY's MailboxMetadataChange and
    /// ServerMetadataChange): these entries of `mailbox` (`""`: the
    /// server's) changed; fetch them with GETMETADATA.
    Metadata {
        /// The mailbox, decoded; empty for server metadata.
        mailbox: String,
        /// The entry names.
        entries: Vec<String>,
    },
    /// `[NOTIFICATIONOVERFLOW]` (RFC 5465): the server stopped sending
    /// notifications (it behaves as after `NOTIFY NONE`); resynchronize
    /// and set NOTIFY again.
    NotificationOverflow,
}

#[cfg(feature = "serde")]
fn ser_bytes<S: serde::Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl Event {
    /// The parsed FETCH of an [`Event::Fetch`] (its items, such as the
    /// ENVELOPE a NOTIFY `MessageNew (ENVELOPE)` asked for); `None` for
    /// other events.
    ///
    /// ```
    /// use imap4_proto::Event;
    ///
    /// let e = Event::Fetch { seq: 3, uid: Some(9), raw: bytes::Bytes::from_static(b"* 3 FETCH (UID 9 RFC822.SIZE 120)\r\n") };
    /// assert_eq!(e.fetch().unwrap().uid(), Some(9));
    /// ```
    pub fn fetch(&self) -> Option<parse::Fetch<'_>> {
        match self {
            Event::Fetch { raw, .. } => match parse::parse_response(raw) {
                Ok(Parsed::Data(Untagged::Fetch(f))) => Some(f),
                _ => None,
            },
            _ => None,
        }
    }
}

fn flag_strings(f: &[parse::Flag<'_>]) -> Vec<String> {
    f.iter().map(|f| f.0.to_str_lossy().into_owned()).collect()
}

/// The session's live part: the mailbox state and the event queue.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) mailbox: MailboxState,
    pub(crate) events_on: bool,
    pub(crate) events: VecDeque<Event>,
    /// A FETCH or STORE is in flight: FETCH responses answer it, they are
    /// not unilateral flag changes.
    pub(crate) fetching: usize,
    /// A LIST, STATUS, NOTIFY or GETMETADATA is in flight: STATUS, LIST
    /// and METADATA responses answer it, they are not notifications.
    pub(crate) listing: usize,
    /// IDLE's state, while it runs (see `idle.rs`).
    pub(crate) idle: Option<crate::idle::IdleRun>,
    /// IDLE is running: untagged data goes to events, not to imaplib's
    /// store (a long IDLE must not accumulate anything).
    pub(crate) idling: bool,
    /// A continuation request arrived that no command was waiting for
    /// (IDLE's `+ idling`).
    pub(crate) idle_continued: bool,
    /// The extensions the server said it ENABLED (RFC 5161), upper-cased;
    /// an ENABLE lasts as long as the connection.
    pub(crate) enabled: Vec<String>,
}

impl Session {
    /// The selected mailbox as every response so far has left it; `None`
    /// unless a mailbox is selected.
    pub fn mailbox_state(&self) -> Option<&MailboxState> {
        (self.state() == crate::State::Selected).then_some(&self.live.mailbox)
    }

    /// Starts recording [`Event`]s (IDLE does so by itself). Without it
    /// nothing is queued, so a program that never reads events never
    /// pays for them.
    pub fn enable_events(&mut self) {
        self.live.events_on = true;
    }

    /// Takes the oldest queued event.
    pub fn take_event(&mut self) -> Option<Event> {
        self.live.events.pop_front()
    }

    /// How many events are queued.
    pub fn pending_events(&self) -> usize {
        self.live.events.len()
    }

    /// Forgets the mailbox state (a new SELECT or EXAMINE starts).
    pub(crate) fn reset_mailbox(&mut self, read_only: bool) {
        self.live.mailbox = MailboxState {
            read_only,
            ..MailboxState::default()
        };
    }

    /// FETCH responses now are news (events on, no FETCH or STORE in
    /// flight that they could answer).
    fn unilateral_fetch(&self) -> bool {
        self.live.events_on && self.live.fetching == 0
    }

    fn push_event(&mut self, e: Event) -> Result<(), SessionError> {
        if !self.live.events_on {
            return Ok(());
        }
        let max = self.limits().max_events;
        if self.live.events.len() >= max {
            return Err(SessionError::LimitExceeded {
                limit: "max_events",
                value: max as u64,
            });
        }
        self.live.events.push_back(e);
        Ok(())
    }

    /// Applies one untagged response (`typ` is its imaplib name) to the
    /// mailbox state and the event queue.
    ///
    /// A FETCH is parsed only when it can matter: it is unilateral and
    /// events are on, or its first line carries a MODSEQ (cheap to check:
    /// the first line of a body fetch is short, literal data is never
    /// scanned).
    pub(crate) fn observe(
        &mut self,
        typ: &str,
        first_line: &[u8],
        raw: &Bytes,
    ) -> Result<(), SessionError> {
        let relevant = match typ {
            "EXISTS" | "RECENT" | "EXPUNGE" | "VANISHED" | "FLAGS" | "OK" | "NO" | "BAD"
            | "BYE" | "ENABLED" => true,
            "STATUS" | "LIST" | "METADATA" => self.live.events_on && self.live.listing == 0,
            "FETCH" => self.unilateral_fetch() || mentions_modseq(first_line),
            _ => false,
        };
        if !relevant {
            return Ok(());
        }
        let depth = self.limits().max_depth;
        // What does not parse changes nothing here; the command that
        // reads it reports it.
        let Ok(parsed) = parse::parse_response_with_depth(raw, depth) else {
            return Ok(());
        };
        match parsed {
            Parsed::Data(d) => self.observe_data(d, raw),
            Parsed::Status(s) => {
                let text = crate::sanitize(&s.text.to_str_lossy()).into_owned();
                if s.kind == StatusKind::Bye {
                    return self.push_event(Event::Bye(text));
                }
                match s.code {
                    Some(code) => self.observe_code(code, text),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    fn observe_data(&mut self, d: Untagged<'_>, raw: &Bytes) -> Result<(), SessionError> {
        let m = &mut self.live.mailbox;
        match d {
            Untagged::Exists(n) => {
                let grew = n > m.exists;
                m.exists = n;
                if grew {
                    return self.push_event(Event::Exists(n));
                }
            }
            Untagged::Recent(n) => {
                m.recent = n;
                return self.push_event(Event::Recent(n));
            }
            Untagged::Expunge(n) => {
                m.exists = m.exists.saturating_sub(1);
                return self.push_event(Event::Expunge(n));
            }
            Untagged::Vanished { earlier, uids } => {
                let Ok(set) = uids.to_str_lossy().parse::<UidSet>() else {
                    return Ok(());
                };
                if !earlier {
                    // Messages that vanish now leave the mailbox now.
                    let gone = u32::try_from(set.len()).unwrap_or(u32::MAX);
                    m.exists = m.exists.saturating_sub(gone);
                }
                return self.push_event(Event::Vanished { earlier, uids: set });
            }
            Untagged::Enabled(caps) => {
                for c in caps {
                    let c = c.to_str_lossy().to_ascii_uppercase();
                    if !self.live.enabled.contains(&c) {
                        self.live.enabled.push(c);
                    }
                }
            }
            Untagged::Flags(f) => {
                m.flags = flag_strings(&f);
                let flags = m.flags.clone();
                return self.push_event(Event::MailboxFlags(flags));
            }
            Untagged::Fetch(f) => {
                let modseq = f.items.iter().find_map(|i| match i {
                    parse::FetchItem::ModSeq(v) => Some(*v),
                    _ => None,
                });
                if let Some(v) = modseq {
                    m.highest_modseq = Some(m.highest_modseq.map_or(v, |h| h.max(v)));
                }
                if !self.unilateral_fetch() {
                    return Ok(());
                }
                let more = f.items.iter().any(|i| {
                    !matches!(
                        i,
                        parse::FetchItem::Flags(_)
                            | parse::FetchItem::Uid(_)
                            | parse::FetchItem::ModSeq(_)
                    )
                });
                // FLAGS first (a flag change, as ever), then, when the
                // response carries more, all of it as an Event::Fetch.
                if let Some(flags) = f.flags() {
                    let e = Event::Flags {
                        seq: f.seq,
                        uid: f.uid(),
                        flags: flag_strings(flags),
                        modseq,
                    };
                    self.push_event(e)?;
                }
                if more {
                    let e = Event::Fetch {
                        seq: f.seq,
                        uid: f.uid(),
                        raw: raw.clone(),
                    };
                    return self.push_event(e);
                }
            }
            Untagged::Status { mailbox, items } => {
                let mut st = crate::typed::MailboxStatus::default();
                let utf8 = self.utf8_enabled();
                // A value too large for its field: no event (the raw
                // response is not kept here to report it).
                if crate::typed::status_into(&mut st, &Bytes::new(), &mailbox, &items, utf8).is_ok()
                {
                    return self.push_event(Event::Status(st));
                }
            }
            Untagged::List(l) => {
                let utf8 = self.utf8_enabled();
                let mailbox = crate::list::mailbox_info(&l, utf8);
                let old_name = l
                    .oldname
                    .as_ref()
                    .map(|o| parse::decode_mailbox_name(o.raw.as_bytes(), utf8).into_owned());
                return self.push_event(Event::List { mailbox, old_name });
            }
            Untagged::Metadata { mailbox, entries } => {
                let utf8 = self.utf8_enabled();
                let e = Event::Metadata {
                    mailbox: parse::decode_mailbox_name(mailbox.raw.as_bytes(), utf8).into_owned(),
                    entries: entries
                        .iter()
                        .map(|(name, _)| name.to_str_lossy().into_owned())
                        .collect(),
                };
                return self.push_event(e);
            }
            _ => {}
        }
        Ok(())
    }

    fn observe_code(&mut self, code: Code<'_>, text: String) -> Result<(), SessionError> {
        let m = &mut self.live.mailbox;
        match code {
            Code::PermanentFlags(f) => m.permanent_flags = flag_strings(&f),
            Code::UidNext(v) => m.uid_next = Some(v),
            Code::HighestModSeq(v) => m.highest_modseq = Some(v),
            Code::ReadOnly => m.read_only = true,
            Code::ReadWrite => m.read_only = false,
            Code::UidValidity(v) => {
                let changed = m.uid_validity.is_some_and(|old| old != v);
                m.uid_validity = Some(v);
                if changed {
                    return self.push_event(Event::UidValidity(v));
                }
            }
            Code::Alert => return self.push_event(Event::Alert(text)),
            Code::Other { name, .. }
                if name
                    .as_bytes()
                    .eq_ignore_ascii_case(b"NOTIFICATIONOVERFLOW") =>
            {
                return self.push_event(Event::NotificationOverflow)
            }
            _ => {}
        }
        Ok(())
    }
}
/// Whether `line` contains `MODSEQ` in any case. It looks for the rare
/// `Q` first (`memchr2`, many bytes per step) and only then at the five
/// bytes before it: an ENVELOPE line is hundreds of bytes long, and this
/// runs on every FETCH response.
fn mentions_modseq(line: &[u8]) -> bool {
    memchr::memchr2_iter(b'Q', b'q', line)
        .any(|q| q >= 5 && line[q - 5..q].eq_ignore_ascii_case(b"MODSE"))
}

#[cfg(test)]
mod tests {
    use super::mentions_modseq;

    #[test]
    fn modseq_is_found_in_any_case_and_only_whole() {
        for yes in [
            &b"* 1 FETCH (UID 4 MODSEQ (12))"[..],
            b"* 1 FETCH (uid 4 modseq (12))",
            b"MoDsEq",
            b"* 2 FETCH (FLAGS () ModSeq (1) X-QUIRK q)",
            b"Q q MODSEQ",
        ] {
            assert!(mentions_modseq(yes), "{:?}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"* 1 FETCH (UID 4 FLAGS (\\Seen))"[..],
            b"Q",
            b"q MODSE",
            b"ODSEQ",
            b"MODSE Q",
            b"* 3 FETCH (ENVELOPE (\"quoted-printable\" \"Quarterly\"))",
            b"",
        ] {
            assert!(!mentions_modseq(no), "{:?}", String::from_utf8_lossy(no));
        }
    }
}
