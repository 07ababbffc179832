//! LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
//! CREATE-SPECIAL-USE (RFC 6154) and NAMESPACE (RFC 2342): the typed
//! commands and their results.
//!
//! - [`Session::typed_list_extended`]: `LIST (selection) reference
//!   (patterns) RETURN (options)`, with [`ListOptions`]; the result,
//!   [`TypedOutcome::listed`], is one [`ListedMailbox`] per mailbox, with
//!   its STATUS when `RETURN (STATUS (…))` asked for it.
//! - [`Session::typed_list_special_use`]: the special-use folders
//!   ([`TypedOutcome::special_use_folders`]): `LIST (SPECIAL-USE) "" "*"`
//!   where the server offers SPECIAL-USE and LIST-EXTENDED, else a plain
//!   `LIST "" "*"` whose attributes are scanned (servers such as Dovecot
//!   report `\Sent` there too).
//! - [`Session::typed_create_special_use`]: `CREATE name (USE (\Sent))`.
//! - [`Session::typed_namespace`]: NAMESPACE, result
//!   [`TypedOutcome::namespaces`].
//!
//! Each refuses, nothing sent, when the server lacks the capability.
//!
//! ```
//! use imap4_proto::command::StatusAttr;
//! use imap4_proto::list::ListOptions;
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 LIST-EXTENDED LIST-STATUS] hi\r\n");
//! s.read_greeting().unwrap();
//! let options = ListOptions::default()
//!     .subscribed()
//!     .return_children()
//!     .return_status(&[StatusAttr::Messages]);
//! let p = s.typed_list_extended("", &["*"], &options).unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A0 LIST (SUBSCRIBED) \"\" \"*\" RETURN (CHILDREN STATUS (MESSAGES))\r\n"[..]
//! );
//! s.receive(b"* LIST (\\Subscribed \\HasNoChildren) \"/\" Sent\r\n\
//!     * STATUS Sent (MESSAGES 3)\r\nA0 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let listed = s.complete_typed(p, Ok(t)).unwrap().listed().unwrap();
//! assert_eq!(listed[0].info.name, "Sent");
//! assert_eq!(listed[0].status.as_ref().unwrap().messages, Some(3));
//! ```

use crate::command::StatusAttr;
use crate::parse::{self, ListItem, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{status_into, MailboxInfo, MailboxStatus, TypedKind, TypedOutcome};

/// A special use of a mailbox (RFC 6154), as its attribute names it.
///
/// ```
/// use imap4_proto::list::SpecialUse;
///
/// assert_eq!(SpecialUse::Sent.attribute(), "\\Sent");
/// assert_eq!(SpecialUse::from_attribute("\\junk"), Some(SpecialUse::Junk));
/// assert_eq!(SpecialUse::from_attribute("\\HasChildren"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum SpecialUse {
    /// `\All`: every message of the account (a virtual mailbox).
    All,
    /// `\Archive`: archived messages.
    Archive,
    /// `\Drafts`: drafts.
    Drafts,
    /// `\Flagged`: the flagged messages (a virtual mailbox).
    Flagged,
    /// `\Junk`: spam.
    Junk,
    /// `\Sent`: sent messages.
    Sent,
    /// `\Trash`: deleted messages.
    Trash,
}

impl SpecialUse {
    /// Every special use, in RFC 6154's order.
    pub const ALL_USES: [SpecialUse; 7] = [
        SpecialUse::All,
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Flagged,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
    ];

    /// The attribute, e.g. `\Sent`.
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// The use an attribute names (any case), if it is one.
    pub fn from_attribute(attribute: &str) -> Option<SpecialUse> {
        SpecialUse::ALL_USES
            .into_iter()
            .find(|u| u.attribute().eq_ignore_ascii_case(attribute))
    }
}

impl std::fmt::Display for SpecialUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.attribute())
    }
}

/// The selection and return options of an extended LIST (RFC 5258,
/// RFC 5819, RFC 6154). The default asks for nothing extra; set fields or
/// chain the builder methods.
///
/// ```
/// use imap4_proto::command::StatusAttr;
/// use imap4_proto::list::ListOptions;
///
/// let o = ListOptions::default().subscribed().return_status(&[StatusAttr::Unseen]);
/// assert!(o.subscribed && o.return_status.is_some() && !o.remote);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Selection `SUBSCRIBED`: only subscribed mailboxes (and implies
    /// the `SUBSCRIBED` return option).
    pub subscribed: bool,
    /// Selection `REMOTE`: mailboxes on other servers too.
    pub remote: bool,
    /// Selection `RECURSIVEMATCH`: parents of matching mailboxes, with
    /// `CHILDINFO`; needs another selection option (`SUBSCRIBED`).
    pub recursive_match: bool,
    /// Selection `SPECIAL-USE` (RFC 6154): only mailboxes with a special
    /// use (implies the `SPECIAL-USE` return option).
    pub special_use: bool,
    /// Return `SUBSCRIBED`: the `\Subscribed` attribute.
    pub return_subscribed: bool,
    /// Return `CHILDREN`: `\HasChildren` or `\HasNoChildren`.
    pub return_children: bool,
    /// Return `SPECIAL-USE` (RFC 6154): the special-use attributes.
    pub return_special_use: bool,
    /// Return `STATUS (…)` (RFC 5819, LIST-STATUS): each selectable
    /// mailbox's STATUS with these items.
    pub return_status: Option<Vec<StatusAttr>>,
}

impl ListOptions {
    /// With the `SUBSCRIBED` selection option.
    pub fn subscribed(mut self) -> Self {
        self.subscribed = true;
        self
    }

    /// With the `REMOTE` selection option.
    pub fn remote(mut self) -> Self {
        self.remote = true;
        self
    }

    /// With the `RECURSIVEMATCH` selection option.
    pub fn recursive_match(mut self) -> Self {
        self.recursive_match = true;
        self
    }

    /// With the `SPECIAL-USE` selection option.
    pub fn special_use(mut self) -> Self {
        self.special_use = true;
        self
    }

    /// With the `SUBSCRIBED` return option.
    pub fn return_subscribed(mut self) -> Self {
        self.return_subscribed = true;
        self
    }

    /// With the `CHILDREN` return option.
    pub fn return_children(mut self) -> Self {
        self.return_children = true;
        self
    }

    /// With the `SPECIAL-USE` return option.
    pub fn return_special_use(mut self) -> Self {
        self.return_special_use = true;
        self
    }

    /// With the `STATUS (attrs)` return option.
    pub fn return_status(mut self, attrs: &[StatusAttr]) -> Self {
        self.return_status = Some(attrs.to_vec());
        self
    }

    /// The selection options and the return options as sent (each
    /// parenthesized, `None` when empty), after the capability checks.
    fn encode(&self, s: &Session) -> Result<(Option<String>, Option<String>), SessionError> {
        let need = |cap: &str, what: &str| {
            if s.supports(cap) {
                Ok(())
            } else {
                Err(SessionError::Usage(format!(
                    "the server does not offer {cap} (needed for {what})"
                )))
            }
        };
        need("LIST-EXTENDED", "an extended LIST")?;
        let mut sel = Vec::new();
        if self.subscribed {
            sel.push("SUBSCRIBED");
        }
        if self.remote {
            sel.push("REMOTE");
        }
        if self.special_use {
            need("SPECIAL-USE", "LIST (SPECIAL-USE)")?;
            sel.push("SPECIAL-USE");
        }
        if self.recursive_match {
            if sel.is_empty() {
                return Err(SessionError::Usage(
                    "RECURSIVEMATCH needs another selection option, e.g. SUBSCRIBED (RFC 5258)"
                        .into(),
                ));
            }
            sel.push("RECURSIVEMATCH");
        }
        let mut ret = Vec::new();
        if self.return_subscribed {
            ret.push("SUBSCRIBED".to_string());
        }
        if self.return_children {
            ret.push("CHILDREN".to_string());
        }
        if self.return_special_use {
            need("SPECIAL-USE", "RETURN (SPECIAL-USE)")?;
            ret.push("SPECIAL-USE".to_string());
        }
        if let Some(attrs) = &self.return_status {
            need("LIST-STATUS", "RETURN (STATUS …)")?;
            if attrs.is_empty() {
                return Err(SessionError::Usage(
                    "RETURN (STATUS …) needs at least one status item".into(),
                ));
            }
            let items: Vec<&str> = attrs.iter().map(|a| a.as_str()).collect();
            ret.push(format!("STATUS ({})", items.join(" ")));
        }
        let paren = |v: Vec<String>| (!v.is_empty()).then(|| format!("({})", v.join(" ")));
        Ok((
            paren(sel.into_iter().map(String::from).collect()),
            paren(ret),
        ))
    }
}

/// A mailbox from an extended LIST: its name and attributes, its STATUS
/// when `RETURN (STATUS …)` asked for it, and its `CHILDINFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ListedMailbox {
    /// The mailbox, as a plain LIST reports it.
    pub info: MailboxInfo,
    /// Its STATUS (LIST-STATUS), if the server sent one (it sends none
    /// for a `\NoSelect` or `\NonExistent` mailbox).
    pub status: Option<MailboxStatus>,
    /// The `CHILDINFO` extended data (e.g. `SUBSCRIBED`: a child matches
    /// the selection though this mailbox does not).
    pub child_info: Vec<String>,
}

impl ListedMailbox {
    /// The special uses among the mailbox's attributes.
    pub fn special_uses(&self) -> Vec<SpecialUse> {
        special_uses_of(&self.info)
    }
}

/// One namespace (RFC 2342): the prefix of its mailbox names and their
/// hierarchy delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NamespaceEntry {
    /// The prefix, decoded like a mailbox name (e.g. `""` or `INBOX.`).
    pub prefix: String,
    /// The hierarchy delimiter (`None` for a flat namespace).
    pub delimiter: Option<char>,
}

/// What NAMESPACE reports: the personal namespaces, other users' and the
/// shared ones (each empty when the server has none of that kind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Namespaces {
    /// The user's own mailboxes.
    pub personal: Vec<NamespaceEntry>,
    /// Other users' mailboxes.
    pub other: Vec<NamespaceEntry>,
    /// Shared mailboxes.
    pub shared: Vec<NamespaceEntry>,
}

/// The [`MailboxInfo`] of a LIST response.
pub(crate) fn mailbox_info(l: &ListItem<'_>, utf8: bool) -> MailboxInfo {
    MailboxInfo {
        name: parse::decode_mailbox_name(l.mailbox.raw.as_bytes(), utf8).into_owned(),
        raw_name: l.mailbox.raw.as_bytes().to_vec(),
        delimiter: l.delimiter.map(char::from),
        attributes: l
            .attributes
            .iter()
            .map(|a| a.0.to_str_lossy().into_owned())
            .collect(),
    }
}

fn special_uses_of(info: &MailboxInfo) -> Vec<SpecialUse> {
    info.attributes
        .iter()
        .filter_map(|a| SpecialUse::from_attribute(a))
        .collect()
}

impl Session {
    /// An extended LIST (RFC 5258): `LIST (selection) reference
    /// (patterns) RETURN (options)`, the parts left out that `options`
    /// does not ask for (one pattern is sent without parentheses). An
    /// error, nothing sent, without LIST-EXTENDED (and LIST-STATUS for
    /// `return_status`, SPECIAL-USE for the special-use options), without
    /// patterns, or for RECURSIVEMATCH alone. Result:
    /// [`TypedOutcome::listed`].
    pub fn typed_list_extended(
        &mut self,
        reference: &str,
        patterns: &[&str],
        options: &ListOptions,
    ) -> Result<Pending, SessionError> {
        let (sel, ret) = options.encode(self)?;
        if patterns.is_empty() {
            return Err(SessionError::Usage(
                "an extended LIST needs at least one mailbox pattern".into(),
            ));
        }
        self.typed(
            "LIST",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                if let Some(sel) = &sel {
                    c.raw(sel.as_bytes())?;
                }
                s.mailbox_arg(c, reference)?;
                if let [one] = patterns {
                    s.mailbox_arg(c, one)?;
                } else {
                    c.open_list();
                    for p in patterns {
                        s.mailbox_arg(c, p)?;
                    }
                    c.close_list();
                }
                if let Some(ret) = &ret {
                    c.raw(b"RETURN")?;
                    c.raw(ret.as_bytes())?;
                }
                Ok(())
            },
        )
    }

    /// The LIST that finds the special-use folders: `LIST (SPECIAL-USE)
    /// "" "*"` where the server offers SPECIAL-USE and LIST-EXTENDED,
    /// else a plain `LIST "" "*"` (whose attributes carry the special
    /// uses on servers like Dovecot). Result:
    /// [`TypedOutcome::special_use_folders`].
    pub fn typed_list_special_use(&mut self) -> Result<Pending, SessionError> {
        if self.supports("SPECIAL-USE") && self.supports("LIST-EXTENDED") {
            self.typed_list_extended("", &["*"], &ListOptions::default().special_use())
        } else {
            self.typed_list("", "*")
        }
    }

    /// `CREATE mailbox (USE (\Sent))` (RFC 6154): creates a mailbox with
    /// a special use. An error, nothing sent, without CREATE-SPECIAL-USE.
    pub fn typed_create_special_use(
        &mut self,
        mailbox: &str,
        special_use: SpecialUse,
    ) -> Result<Pending, SessionError> {
        if !self.supports("CREATE-SPECIAL-USE") {
            return Err(SessionError::Usage(
                "the server does not offer CREATE-SPECIAL-USE".into(),
            ));
        }
        let opt = format!("(USE ({}))", special_use.attribute());
        self.typed(
            "CREATE",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.raw(opt.as_bytes())?;
                Ok(())
            },
        )
    }

    /// NAMESPACE (RFC 2342). An error, nothing sent, without NAMESPACE.
    /// Result: [`TypedOutcome::namespaces`].
    pub fn typed_namespace(&mut self) -> Result<Pending, SessionError> {
        if !self.supports("NAMESPACE") && !self.supports("IMAP4rev2") {
            return Err(SessionError::Usage(
                "the server does not offer NAMESPACE".into(),
            ));
        }
        self.typed(
            "NAMESPACE",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |_, _| Ok(()),
        )
    }
}

impl TypedOutcome {
    /// Extended LIST results: each mailbox in the server's order, with
    /// the STATUS the server sent for it (matched by name, before or
    /// after its LIST response) and its CHILDINFO.
    pub fn listed(&self) -> Result<Vec<ListedMailbox>, SessionError> {
        let mut out: Vec<ListedMailbox> = Vec::new();
        let mut statuses: Vec<(Vec<u8>, MailboxStatus)> = Vec::new();
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            match d {
                Some(Untagged::List(l)) => out.push(ListedMailbox {
                    info: mailbox_info(&l, self.utf8),
                    status: None,
                    child_info: l
                        .childinfo
                        .iter()
                        .map(|c| c.to_str_lossy().into_owned())
                        .collect(),
                }),
                Some(Untagged::Status { mailbox, items }) => {
                    let mut st = MailboxStatus::default();
                    status_into(&mut st, frame, &mailbox, &items, self.utf8)?;
                    statuses.push((mailbox.raw.as_bytes().to_vec(), st));
                }
                _ => {}
            }
        }
        for (raw, st) in statuses {
            let same = |m: &&mut ListedMailbox| {
                m.info.raw_name == raw
                    || (m.info.name.eq_ignore_ascii_case("INBOX") && st.mailbox == "INBOX")
            };
            if let Some(m) = out.iter_mut().find(same) {
                m.status = Some(st);
            }
        }
        Ok(out)
    }

    /// The special-use folders a LIST reported: each (use, mailbox), in
    /// the server's order (a mailbox with two uses appears twice).
    pub fn special_use_folders(&self) -> Result<Vec<(SpecialUse, MailboxInfo)>, SessionError> {
        let mut out = Vec::new();
        for d in self.checked()? {
            if let Untagged::List(l) = d {
                let info = mailbox_info(&l, self.utf8);
                for u in special_uses_of(&info) {
                    out.push((u, info.clone()));
                }
            }
        }
        Ok(out)
    }

    /// NAMESPACE results; a completed NAMESPACE without a `* NAMESPACE`
    /// response is an error.
    pub fn namespaces(&self) -> Result<Namespaces, SessionError> {
        let entries = |v: &[parse::Namespace<'_>], utf8: bool| -> Vec<NamespaceEntry> {
            v.iter()
                .map(|n| NamespaceEntry {
                    prefix: parse::decode_mailbox_name(n.prefix.as_bytes(), utf8).into_owned(),
                    delimiter: n.delimiter.map(char::from),
                })
                .collect()
        };
        for d in self.checked()? {
            if let Untagged::Namespace {
                personal,
                other,
                shared,
            } = d
            {
                return Ok(Namespaces {
                    personal: entries(&personal, self.utf8),
                    other: entries(&other, self.utf8),
                    shared: entries(&shared, self.utf8),
                });
            }
        }
        Err(SessionError::Unparsable {
            error: parse::ParseError {
                offset: 0,
                expected: "a NAMESPACE response",
            },
            raw: self.tagged.clone(),
        })
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
    fn refusals_send_nothing() {
        let mut s = session("");
        let o = ListOptions::default();
        let e = s.typed_list_extended("", &["*"], &o).unwrap_err();
        assert!(e.to_string().contains("LIST-EXTENDED"), "{e}");
        assert!(s
            .typed_create_special_use("S", SpecialUse::Sent)
            .unwrap_err()
            .to_string()
            .contains("CREATE-SPECIAL-USE"));
        assert!(s.typed_namespace().is_err());
        let mut s2 = session("LIST-EXTENDED");
        for o in [
            ListOptions::default().return_status(&[StatusAttr::Messages]),
            ListOptions::default().special_use(),
            ListOptions::default().return_special_use(),
            ListOptions::default().recursive_match(),
            ListOptions::default().return_status(&[]),
        ] {
            assert!(s2.typed_list_extended("", &["*"], &o).is_err(), "{o:?}");
        }
        assert!(s2
            .typed_list_extended("", &[], &ListOptions::default())
            .is_err());
        assert!(s.take_output().is_none() && s2.take_output().is_none());
    }

    #[test]
    fn encodes_every_option_and_several_patterns() {
        let mut s = session("LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE NAMESPACE");
        let o = ListOptions {
            subscribed: true,
            remote: true,
            recursive_match: true,
            special_use: true,
            return_subscribed: true,
            return_children: true,
            return_special_use: true,
            return_status: Some(vec![StatusAttr::Messages, StatusAttr::Unseen]),
        };
        let _p = s.typed_list_extended("", &["INBOX", "Sent*"], &o).unwrap();
        assert_eq!(
            String::from_utf8(s.take_output().unwrap().to_vec()).unwrap(),
            "A0 LIST (SUBSCRIBED REMOTE SPECIAL-USE RECURSIVEMATCH) \"\" (\"INBOX\" \"Sent*\") \
             RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n"
        );
        let p = s
            .typed_create_special_use("Gesendet", SpecialUse::Sent)
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A1 CREATE \"Gesendet\" (USE (\\Sent))\r\n"
        );
        drop(p);
    }

    #[test]
    fn results() {
        let mut s = session("LIST-EXTENDED LIST-STATUS SPECIAL-USE NAMESPACE");
        let o = ListOptions::default()
            .subscribed()
            .recursive_match()
            .return_status(&[StatusAttr::Messages]);
        let p = s.typed_list_extended("", &["%"], &o).unwrap();
        let t = run(
            &mut s,
            p,
            b"* STATUS INBOX (MESSAGES 4)\r\n* LIST (\\Subscribed) \"/\" INBOX\r\n\
              * LIST () \"/\" Foo (CHILDINFO (\"SUBSCRIBED\"))\r\n\
              * LIST (\\Sent \\Subscribed) \"/\" Sent\r\n* STATUS Sent (MESSAGES 2)\r\n\
              A0 OK done\r\n",
        );
        let l = t.listed().unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].status.as_ref().unwrap().messages, Some(4));
        assert_eq!(l[1].child_info, ["SUBSCRIBED"]);
        assert!(l[1].status.is_none());
        assert_eq!(l[2].special_uses(), [SpecialUse::Sent]);
        assert_eq!(l[2].status.as_ref().unwrap().messages, Some(2));

        let p = s.typed_list_special_use().unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A1 LIST (SPECIAL-USE) \"\" \"*\"\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* LIST (\\Sent) \"/\" Sent\r\n* LIST (\\Junk \\Trash) \"/\" Bin\r\nA1 OK done\r\n",
        );
        let f = t.special_use_folders().unwrap();
        let uses: Vec<_> = f.iter().map(|(u, m)| (*u, m.name.as_str())).collect();
        assert_eq!(
            uses,
            [
                (SpecialUse::Sent, "Sent"),
                (SpecialUse::Junk, "Bin"),
                (SpecialUse::Trash, "Bin")
            ]
        );

        let p = s.typed_namespace().unwrap();
        let t = run(
            &mut s,
            p,
            b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"shared.\" \".\")(\"#x/\" NIL))\r\nA2 OK done\r\n",
        );
        let n = t.namespaces().unwrap();
        assert_eq!(n.personal[0].prefix, "INBOX.");
        assert_eq!(n.personal[0].delimiter, Some('.'));
        assert!(n.other.is_empty());
        assert_eq!(n.shared.len(), 2);
        assert_eq!(n.shared[1].delimiter, None);

        // without SPECIAL-USE: a plain LIST
        let mut s = session("");
        let _p = s.typed_list_special_use().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"A0 LIST \"\" \"*\"\r\n");
    }
}
