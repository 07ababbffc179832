//! NOTIFY (RFC 5465): the typed command, and the events it makes the
//! server send.
//!
//! - [`Session::typed_notify_set`] sends `NOTIFY SET [STATUS] (filter
//!   (events)) …` built from a [`NotifySpec`]; with
//!   [`NotifySpec::status`] the server answers with the STATUS of every
//!   mailbox the spec names ([`TypedOutcome::notify_statuses`]).
//! - [`Session::typed_notify_none`] sends `NOTIFY NONE`: no more
//!   notifications.
//!
//! What the server then reports about other mailboxes arrives as
//! unsolicited STATUS, LIST and METADATA responses (new and expunged
//! messages; created, deleted and renamed mailboxes; subscriptions;
//! metadata changes). With events on ([`Session::enable_events`], and
//! always during IDLE), each becomes an [`Event::Status`](crate::Event::Status),
//! [`Event::List`](crate::Event::List) or [`Event::Metadata`](crate::Event::Metadata); changes in the selected
//! mailbox come as they always do (EXISTS, EXPUNGE, FETCH…), the FETCH
//! that `MessageNew (attrs)` asks for as an [`Event::Fetch`](crate::Event::Fetch), and a
//! server that drops notifications says so with
//! [`Event::NotificationOverflow`](crate::Event::NotificationOverflow). The STATUS and LIST answers of a
//! LIST, LSUB, STATUS or NOTIFY command are never events.
//!
//! Both commands refuse, nothing sent, when the server lacks NOTIFY, and
//! a spec RFC 5465 forbids (MessageNew without MessageExpunge, FlagChange
//! without both, fetch attributes outside SELECTED, two SELECTED groups,
//! no group) is refused before anything is sent too.
//!
//! ```
//! use imap4_proto::notify::{NotifyEvent, NotifyMailboxes, NotifySpec};
//! use imap4_proto::{Event, Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 NOTIFY] hi\r\n");
//! s.read_greeting().unwrap();
//! let spec = NotifySpec::new().group(
//!     NotifyMailboxes::Personal,
//!     [NotifyEvent::message_new(), NotifyEvent::MessageExpunge, NotifyEvent::MailboxName],
//! );
//! let p = s.typed_notify_set(&spec).unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A0 NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))\r\n"[..]
//! );
//! s.receive(b"A0 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! s.complete_typed(p, Ok(t)).unwrap();
//!
//! // later, while a NOOP (or IDLE) runs: another mailbox got mail
//! s.enable_events();
//! let p = s.typed_noop().unwrap();
//! s.take_output();
//! s.receive(b"* STATUS Lists (MESSAGES 4 UIDNEXT 9)\r\nA1 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! s.complete_typed(p, Ok(t)).unwrap();
//! let Some(Event::Status(st)) = s.take_event() else { panic!() };
//! assert_eq!((st.mailbox.as_str(), st.messages), ("Lists", Some(4)));
//! ```

use crate::command::FetchAttr;
use crate::parse::Untagged;
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{status_into, MailboxStatus, TypedKind, TypedOutcome};

/// Which mailboxes a group of a NOTIFY command watches (RFC 5465
/// section 6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyMailboxes {
    /// `SELECTED`: the selected mailbox, whichever it is at the time.
    Selected,
    /// `SELECTED-DELAYED`: the selected mailbox, expunges held back until
    /// a command that allows them (NOOP, IDLE…).
    SelectedDelayed,
    /// `INBOXES`: the mailboxes mail is delivered to.
    Inboxes,
    /// `PERSONAL`: every mailbox in the user's personal namespace.
    Personal,
    /// `SUBSCRIBED`: the subscribed mailboxes.
    Subscribed,
    /// `SUBTREE (names)`: these mailboxes and all mailboxes under them
    /// (names in UTF-8, encoded as the server needs).
    Subtree(Vec<String>),
    /// `MAILBOXES (names)`: exactly these mailboxes.
    Mailboxes(Vec<String>),
}

impl NotifyMailboxes {
    fn is_selected(&self) -> bool {
        matches!(
            self,
            NotifyMailboxes::Selected | NotifyMailboxes::SelectedDelayed
        )
    }
}

/// An event a NOTIFY group asks for (RFC 5465 section 5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyEvent {
    /// `MessageNew [(attrs)]`: new messages; the fetch attributes (for
    /// SELECTED groups only) make the server send a FETCH of them with
    /// each new message. Needs [`NotifyEvent::MessageExpunge`] in the same
    /// group.
    MessageNew(Vec<FetchAttr>),
    /// `MessageExpunge`: expunged messages.
    MessageExpunge,
    /// `FlagChange`: flag changes (needs MessageNew and MessageExpunge).
    FlagChange,
    /// `AnnotationChange`: annotation changes (needs MessageNew and
    /// MessageExpunge).
    AnnotationChange,
    /// `MailboxName`: mailboxes created, deleted or renamed (LIST).
    MailboxName,
    /// `SubscriptionChange`: subscriptions (LIST with `\Subscribed`).
    SubscriptionChange,
    /// `MailboxMetadataChange` (METADATA): a mailbox's metadata changed.
    MailboxMetadataChange,
    /// `ServerMetadataChange` (METADATA): the server's metadata changed.
    ServerMetadataChange,
}

impl NotifyEvent {
    /// `MessageNew` without fetch attributes.
    ///
    /// ```
    /// use imap4_proto::notify::NotifyEvent;
    /// assert_eq!(NotifyEvent::message_new(), NotifyEvent::MessageNew(vec![]));
    /// ```
    pub fn message_new() -> NotifyEvent {
        NotifyEvent::MessageNew(Vec::new())
    }

    fn name(&self) -> &'static str {
        match self {
            NotifyEvent::MessageNew(_) => "MessageNew",
            NotifyEvent::MessageExpunge => "MessageExpunge",
            NotifyEvent::FlagChange => "FlagChange",
            NotifyEvent::AnnotationChange => "AnnotationChange",
            NotifyEvent::MailboxName => "MailboxName",
            NotifyEvent::SubscriptionChange => "SubscriptionChange",
            NotifyEvent::MailboxMetadataChange => "MailboxMetadataChange",
            NotifyEvent::ServerMetadataChange => "ServerMetadataChange",
        }
    }
}

/// One event group: the mailboxes and what to report about them (no
/// events: `NONE`, nothing about these mailboxes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyGroup {
    /// The mailboxes.
    pub mailboxes: NotifyMailboxes,
    /// The events; empty means `NONE`.
    pub events: Vec<NotifyEvent>,
}

/// What `NOTIFY SET` asks for: event groups, and whether the server
/// should first send the STATUS of every mailbox they name.
///
/// ```
/// use imap4_proto::command::FetchAttr;
/// use imap4_proto::notify::{NotifyEvent, NotifyMailboxes, NotifySpec};
///
/// let spec = NotifySpec::new()
///     .status()
///     .group(
///         NotifyMailboxes::Selected,
///         [NotifyEvent::MessageNew(vec![FetchAttr::Uid, FetchAttr::Flags]),
///          NotifyEvent::MessageExpunge, NotifyEvent::FlagChange],
///     )
///     .group(NotifyMailboxes::Subtree(vec!["Lists".into()]), [NotifyEvent::message_new(), NotifyEvent::MessageExpunge]);
/// assert_eq!(spec.groups.len(), 2);
/// assert!(spec.status);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySpec {
    /// `STATUS`: the server sends the STATUS of the watched mailboxes
    /// right away.
    pub status: bool,
    /// The event groups (at least one).
    pub groups: Vec<NotifyGroup>,
}

impl NotifySpec {
    /// An empty spec (add groups with [`NotifySpec::group`]).
    pub fn new() -> NotifySpec {
        NotifySpec::default()
    }

    /// Sets the `STATUS` indicator.
    pub fn status(mut self) -> NotifySpec {
        self.status = true;
        self
    }

    /// Adds a group: `mailboxes` and the `events` to report about them
    /// (none: `NONE`).
    pub fn group(
        mut self,
        mailboxes: NotifyMailboxes,
        events: impl IntoIterator<Item = NotifyEvent>,
    ) -> NotifySpec {
        self.groups.push(NotifyGroup {
            mailboxes,
            events: events.into_iter().collect(),
        });
        self
    }

    /// The rules of RFC 5465 section 5 a server would answer BAD to.
    fn check(&self) -> Result<(), SessionError> {
        let bad = |m: String| Err(SessionError::Usage(format!("NOTIFY: {m} (nothing sent)")));
        if self.groups.is_empty() {
            return bad(
                "at least one event group is needed (NOTIFY NONE stops notifications)".into(),
            );
        }
        if self
            .groups
            .iter()
            .filter(|g| g.mailboxes.is_selected())
            .count()
            > 1
        {
            return bad("only one SELECTED or SELECTED-DELAYED group is allowed".into());
        }
        for g in &self.groups {
            if let NotifyMailboxes::Subtree(v) | NotifyMailboxes::Mailboxes(v) = &g.mailboxes {
                if v.is_empty() {
                    return bad("SUBTREE and MAILBOXES need at least one mailbox".into());
                }
            }
            let has = |name: &str| g.events.iter().any(|e| e.name() == name);
            let new = has("MessageNew");
            let expunge = has("MessageExpunge");
            if new != expunge {
                return bad(format!(
                    "{:?}: MessageNew and MessageExpunge go together",
                    g.mailboxes
                ));
            }
            if (has("FlagChange") || has("AnnotationChange")) && !new {
                return bad(format!(
                    "{:?}: FlagChange and AnnotationChange need MessageNew and MessageExpunge",
                    g.mailboxes
                ));
            }
            for e in &g.events {
                if let NotifyEvent::MessageNew(attrs) = e {
                    if !attrs.is_empty() && !g.mailboxes.is_selected() {
                        return bad(
                            "fetch attributes with MessageNew are for the SELECTED group only"
                                .into(),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

impl Session {
    fn need_notify(&self) -> Result<(), SessionError> {
        if self.supports("NOTIFY") {
            Ok(())
        } else {
            Err(SessionError::Usage(
                "the server does not offer NOTIFY (needed for NOTIFY SET and NOTIFY NONE; nothing sent)"
                    .into(),
            ))
        }
    }

    /// `NOTIFY SET [STATUS] (mailboxes (events)) …` (RFC 5465). An
    /// error, nothing sent, without NOTIFY, with a spec RFC 5465 forbids
    /// (see [`crate::notify`]), or with fetch attributes the server lacks
    /// the capability for. With [`NotifySpec::status`], the first STATUS
    /// responses: [`TypedOutcome::notify_statuses`].
    pub fn typed_notify_set(&mut self, spec: &NotifySpec) -> Result<Pending, SessionError> {
        self.need_notify()?;
        spec.check()?;
        let attrs = spec
            .groups
            .iter()
            .flat_map(|g| &g.events)
            .flat_map(|e| match e {
                NotifyEvent::MessageNew(a) => a.as_slice(),
                _ => &[],
            });
        self.require_capabilities(attrs.map(|a| (a.required_capability(), a)))?;
        self.typed(
            "NOTIFY",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                c.raw(b"SET")?;
                if spec.status {
                    c.raw(b"STATUS")?;
                }
                for g in &spec.groups {
                    c.open_list();
                    let names = match &g.mailboxes {
                        NotifyMailboxes::Selected => {
                            c.raw(b"SELECTED")?;
                            None
                        }
                        NotifyMailboxes::SelectedDelayed => {
                            c.raw(b"SELECTED-DELAYED")?;
                            None
                        }
                        NotifyMailboxes::Inboxes => {
                            c.raw(b"INBOXES")?;
                            None
                        }
                        NotifyMailboxes::Personal => {
                            c.raw(b"PERSONAL")?;
                            None
                        }
                        NotifyMailboxes::Subscribed => {
                            c.raw(b"SUBSCRIBED")?;
                            None
                        }
                        NotifyMailboxes::Subtree(v) => {
                            c.raw(b"SUBTREE")?;
                            Some(v)
                        }
                        NotifyMailboxes::Mailboxes(v) => {
                            c.raw(b"MAILBOXES")?;
                            Some(v)
                        }
                    };
                    if let Some(names) = names {
                        c.open_list();
                        for n in names {
                            s.mailbox_arg(c, n)?;
                        }
                        c.close_list();
                    }
                    if g.events.is_empty() {
                        c.raw(b"NONE")?;
                    } else {
                        c.open_list();
                        for e in &g.events {
                            c.raw(e.name().as_bytes())?;
                            if let NotifyEvent::MessageNew(attrs) = e {
                                if !attrs.is_empty() {
                                    crate::command::fetch_attrs(c, attrs)?;
                                }
                            }
                        }
                        c.close_list();
                    }
                    c.close_list();
                }
                Ok(())
            },
        )
    }

    /// `NOTIFY NONE` (RFC 5465): the server stops sending notifications
    /// (the selected mailbox's changes come as without NOTIFY). An
    /// error, nothing sent, without NOTIFY.
    pub fn typed_notify_none(&mut self) -> Result<Pending, SessionError> {
        self.need_notify()?;
        self.typed(
            "NOTIFY",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |_, c| {
                c.raw(b"NONE")?;
                Ok(())
            },
        )
    }
}

impl TypedOutcome {
    /// The STATUS responses a `NOTIFY SET STATUS` brought, one per
    /// mailbox, in the server's order.
    pub fn notify_statuses(&self) -> Result<Vec<MailboxStatus>, SessionError> {
        let mut out = Vec::new();
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            if let Some(Untagged::Status { mailbox, items }) = d {
                let mut st = MailboxStatus::default();
                status_into(&mut st, frame, &mailbox, &items, self.utf8)?;
                out.push(st);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, Limits, Poll};
    use NotifyEvent::*;

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(format!("* PREAUTH [CAPABILITY IMAP4rev1 {caps}] hi\r\n").as_bytes());
        s.read_greeting().unwrap();
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
    fn refused_without_notify_or_with_a_bad_spec() {
        let mut s = session("");
        let spec = NotifySpec::new().group(NotifyMailboxes::Personal, [MailboxName]);
        let e = s.typed_notify_set(&spec).unwrap_err();
        assert!(e.to_string().contains("NOTIFY"), "{e}");
        assert!(s.typed_notify_none().is_err());
        assert!(s.take_output().is_none());

        let mut s = session("NOTIFY");
        let bad = [
            NotifySpec::new(),
            NotifySpec::new().group(NotifyMailboxes::Inboxes, [NotifyEvent::message_new()]),
            NotifySpec::new().group(NotifyMailboxes::Inboxes, [MessageExpunge, FlagChange]),
            NotifySpec::new().group(NotifyMailboxes::Inboxes, [FlagChange]),
            NotifySpec::new().group(
                NotifyMailboxes::Personal,
                [MessageNew(vec![FetchAttr::Uid]), MessageExpunge],
            ),
            NotifySpec::new()
                .group(NotifyMailboxes::Selected, [])
                .group(NotifyMailboxes::SelectedDelayed, []),
            NotifySpec::new().group(NotifyMailboxes::Mailboxes(vec![]), [MailboxName]),
            // PREVIEW needs its capability
            NotifySpec::new().group(
                NotifyMailboxes::Selected,
                [
                    MessageNew(vec![FetchAttr::Preview { lazy: false }]),
                    MessageExpunge,
                ],
            ),
        ];
        for spec in &bad {
            assert!(s.typed_notify_set(spec).is_err(), "{spec:?}");
        }
        assert!(s.take_output().is_none());
        // a line break in a mailbox name never reaches the line
        let spec = NotifySpec::new().group(NotifyMailboxes::Mailboxes(vec!["a\r\nb".into()]), []);
        let _p = s.typed_notify_set(&spec).unwrap();
        let out = s.take_output().unwrap();
        assert_eq!(
            out.iter().filter(|&&b| b == b'\n' || b == b'\r').count(),
            2,
            "{out:?}"
        );
        assert!(out.ends_with(b"NONE)\r\n"), "{out:?}");
    }

    #[test]
    fn encodes_every_group_and_event() {
        let mut s = session("NOTIFY");
        let spec = NotifySpec::new()
            .status()
            .group(
                NotifyMailboxes::Selected,
                [
                    MessageNew(vec![FetchAttr::Uid, FetchAttr::Flags]),
                    MessageExpunge,
                    FlagChange,
                    AnnotationChange,
                ],
            )
            .group(
                NotifyMailboxes::Inboxes,
                [NotifyEvent::message_new(), MessageExpunge],
            )
            .group(
                NotifyMailboxes::Subtree(vec!["Lists".into(), "Caf\u{e9}".into()]),
                [NotifyEvent::message_new(), MessageExpunge],
            )
            .group(NotifyMailboxes::Mailboxes(vec!["Spam".into()]), [])
            .group(
                NotifyMailboxes::Subscribed,
                [SubscriptionChange, MailboxName],
            )
            .group(
                NotifyMailboxes::Personal,
                [MailboxMetadataChange, ServerMetadataChange],
            );
        let p = s.typed_notify_set(&spec).unwrap();
        let out = s.take_output().unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "A0 NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange \
             AnnotationChange)) (INBOXES (MessageNew MessageExpunge)) (SUBTREE (\"Lists\" \
             \"Caf&AOk-\") (MessageNew MessageExpunge)) (MAILBOXES (\"Spam\") NONE) (SUBSCRIBED \
             (SubscriptionChange MailboxName)) (PERSONAL (MailboxMetadataChange \
             ServerMetadataChange))\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 1 UNSEEN 1)\r\n\
              * STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 2 UNSEEN 0)\r\nA0 OK done\r\n",
        );
        let st = t.notify_statuses().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!((st[1].mailbox.as_str(), st[1].uid_next), ("Lists", Some(1)));

        let p = s.typed_notify_none().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"A1 NOTIFY NONE\r\n");
        run(&mut s, p, b"A1 OK done\r\n");
    }

    #[test]
    fn notifications_become_events_but_command_answers_do_not() {
        let mut s = session("NOTIFY");
        s.enable_events();
        // answers of STATUS / LIST / NOTIFY are not events
        let p = s
            .typed_status("INBOX", &[crate::command::StatusAttr::Messages])
            .unwrap();
        run(&mut s, p, b"* STATUS INBOX (MESSAGES 2)\r\nA0 OK done\r\n");
        let p = s.typed_list("", "*").unwrap();
        run(&mut s, p, b"* LIST () \"/\" INBOX\r\nA1 OK done\r\n");
        let spec = NotifySpec::new().status().group(
            NotifyMailboxes::Inboxes,
            [NotifyEvent::message_new(), MessageExpunge],
        );
        let p = s.typed_notify_set(&spec).unwrap();
        run(&mut s, p, b"* STATUS INBOX (MESSAGES 2)\r\nA2 OK done\r\n");
        assert_eq!(s.take_event(), None);

        // what comes during NOOP is
        let p = s.typed_noop().unwrap();
        run(
            &mut s,
            p,
            b"* STATUS Lists (MESSAGES 5 UIDNEXT 12)\r\n\
              * LIST () \"/\" New\r\n\
              * LIST (\\NonExistent) \"/\" Gone\r\n\
              * LIST () \"/\" Renamed (\"OLDNAME\" (\"Old\"))\r\n\
              * METADATA Lists /private/comment\r\n\
              * OK [NOTIFICATIONOVERFLOW] lost some\r\n\
              * 4 FETCH (UID 9 FLAGS (\\Seen) ENVELOPE (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n\
              * 4 FETCH (UID 9 FLAGS (\\Seen \\Flagged) MODSEQ (5))\r\nA3 OK done\r\n",
        );
        let Some(Event::Status(st)) = s.take_event() else {
            panic!()
        };
        assert_eq!(
            (st.mailbox.as_str(), st.messages, st.uid_next),
            ("Lists", Some(5), Some(12))
        );
        let Some(Event::List { mailbox, old_name }) = s.take_event() else {
            panic!()
        };
        assert_eq!((mailbox.name.as_str(), old_name), ("New", None));
        let Some(Event::List { mailbox, .. }) = s.take_event() else {
            panic!()
        };
        assert!(mailbox.has_attribute("\\NonExistent"));
        let Some(Event::List { mailbox, old_name }) = s.take_event() else {
            panic!()
        };
        assert_eq!(
            (mailbox.name.as_str(), old_name.as_deref()),
            ("Renamed", Some("Old"))
        );
        assert_eq!(
            s.take_event(),
            Some(Event::Metadata {
                mailbox: "Lists".into(),
                entries: vec!["/private/comment".into()]
            })
        );
        assert_eq!(s.take_event(), Some(Event::NotificationOverflow));
        // MessageNew (attrs): the flags as ever, then the whole FETCH
        assert!(matches!(
            s.take_event(),
            Some(Event::Flags {
                seq: 4,
                uid: Some(9),
                ..
            })
        ));
        let e = s.take_event().unwrap();
        assert!(
            matches!(
                e,
                Event::Fetch {
                    seq: 4,
                    uid: Some(9),
                    ..
                }
            ),
            "{e:?}"
        );
        let f = e.fetch().unwrap();
        let subject = f
            .envelope()
            .unwrap()
            .subject
            .as_ref()
            .unwrap()
            .to_str_lossy()
            .into_owned();
        assert_eq!(subject, "hi");
        // a flag change alone is no Event::Fetch
        assert!(matches!(
            s.take_event(),
            Some(Event::Flags {
                modseq: Some(5),
                ..
            })
        ));
        assert_eq!(s.take_event(), None);
    }
}
