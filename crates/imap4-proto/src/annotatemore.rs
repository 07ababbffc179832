//! ANNOTATEMORE (draft-daboo-imap-annotatemore), METADATA's predecessor,
//! which older Cyrus servers speak (and Cyrus 3 still does): the typed
//! commands and their results.
//!
//! - [`Session::typed_get_annotation`] sends `GETANNOTATION mailbox
//!   (entries) (attributes)`; entries and attributes may hold the `*` and
//!   `%` wildcards. Result: [`TypedOutcome::annotations`], one
//!   [`Annotation`] per entry with its attributes' values.
//! - [`Session::typed_set_annotation`] sends `SETANNOTATION mailbox entry
//!   (attribute value …)`; a value of `None` (NIL) removes it.
//!
//! Entries start with `/` (`/comment`, `/vendor/…`); attributes are
//! `value.priv`, `value.shared`, `size.priv`, `size.shared` (or wildcard
//! forms in a GET). Both commands refuse, nothing sent, without
//! ANNOTATEMORE or for a name with control or non-ASCII characters.
//!
//! ```
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 ANNOTATEMORE] hi\r\n");
//! s.read_greeting().unwrap();
//! let p = s.typed_get_annotation("INBOX", &["/comment"], &["value.shared"]).unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A0 GETANNOTATION \"INBOX\" \"/comment\" \"value.shared\"\r\n"[..]
//! );
//! s.receive(b"* ANNOTATION INBOX \"/comment\" (\"value.shared\" \"hi\")\r\nA0 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let a = s.complete_typed(p, Ok(t)).unwrap().annotations().unwrap();
//! assert_eq!(a[0].get("value.shared"), Some(&b"hi"[..]));
//! ```

use crate::parse::{self, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{TypedKind, TypedOutcome};

/// One entry's annotation: its attributes and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Annotation {
    /// The mailbox, decoded (`""`: the server's).
    pub mailbox: String,
    /// The entry, e.g. `/comment`.
    pub entry: String,
    /// (attribute, value) pairs in the server's order; the value is
    /// `None` for NIL (not set).
    pub attributes: Vec<(String, Option<Vec<u8>>)>,
}

impl Annotation {
    /// The value of `attribute` (`value.shared`, …), if set.
    pub fn get(&self, attribute: &str) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(attribute))
            .and_then(|(_, v)| v.as_deref())
    }
}

fn check_name(kind: &str, name: &str, entry: bool) -> Result<(), SessionError> {
    let bad = |why: &str| {
        Err(SessionError::Usage(format!(
            "{name:?} is not an annotation {kind}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if entry && !name.starts_with(['/', '*', '%']) {
        return bad("it must start with / (or be a wildcard pattern)");
    }
    if let Some(c) = name.chars().find(|c| !(' '..='~').contains(c)) {
        return bad(&format!(
            "{c:?} is not allowed (no control or non-ASCII characters)"
        ));
    }
    Ok(())
}

fn need_annotatemore(s: &Session) -> Result<(), SessionError> {
    if s.supports("ANNOTATEMORE") {
        Ok(())
    } else {
        Err(SessionError::Usage(
            "the server does not offer ANNOTATEMORE (nothing sent; METADATA, RFC 5464, is its \
             successor)"
                .into(),
        ))
    }
}

impl Session {
    /// `GETANNOTATION mailbox entries attributes` (ANNOTATEMORE): one entry
    /// or attribute goes without parentheses; wildcards (`*`, `%`) are
    /// allowed. An error, nothing sent, without ANNOTATEMORE, without
    /// entries or attributes, or for a name that is not one. Result:
    /// [`TypedOutcome::annotations`].
    pub fn typed_get_annotation(
        &mut self,
        mailbox: &str,
        entries: &[&str],
        attributes: &[&str],
    ) -> Result<Pending, SessionError> {
        need_annotatemore(self)?;
        if entries.is_empty() || attributes.is_empty() {
            return Err(SessionError::Usage(
                "GETANNOTATION needs at least one entry and one attribute".into(),
            ));
        }
        for e in entries {
            check_name("entry", e, true)?;
        }
        for a in attributes {
            check_name("attribute", a, false)?;
        }
        self.typed(
            "GETANNOTATION",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.strings(entries)?;
                c.strings(attributes)?;
                Ok(())
            },
        )
    }

    /// `SETANNOTATION mailbox entry (attribute value …)` (ANNOTATEMORE):
    /// sets each attribute, or removes it for `None` (NIL). Values go
    /// quoted or as literals; NUL is refused. An error, nothing sent,
    /// without ANNOTATEMORE, without attributes, for a wildcard, or for a
    /// name that is not one.
    pub fn typed_set_annotation(
        &mut self,
        mailbox: &str,
        entry: &str,
        attributes: &[(&str, Option<&[u8]>)],
    ) -> Result<Pending, SessionError> {
        need_annotatemore(self)?;
        if attributes.is_empty() {
            return Err(SessionError::Usage(
                "SETANNOTATION needs at least one attribute".into(),
            ));
        }
        check_name("entry", entry, true)?;
        for (a, _) in attributes {
            check_name("attribute", a, false)?;
        }
        if entry.contains(['*', '%']) || attributes.iter().any(|(a, _)| a.contains(['*', '%'])) {
            return Err(SessionError::Usage(
                "SETANNOTATION takes no wildcards (* or %)".into(),
            ));
        }
        self.typed(
            "SETANNOTATION",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.string(entry.as_bytes())?;
                c.open_list();
                for (a, v) in attributes {
                    c.string(a.as_bytes())?;
                    match v {
                        None => {
                            c.raw(b"NIL")?;
                        }
                        Some(v) => {
                            c.string(v)?;
                        }
                    }
                }
                c.close_list();
                Ok(())
            },
        )
    }
}

impl TypedOutcome {
    /// GETANNOTATION results: one [`Annotation`] per entry of every `*
    /// ANNOTATION` response, in order.
    pub fn annotations(&self) -> Result<Vec<Annotation>, SessionError> {
        let mut out = Vec::new();
        for d in self.checked()? {
            if let Untagged::Annotation { mailbox, entries } = d {
                let mailbox =
                    parse::decode_mailbox_name(mailbox.raw.as_bytes(), self.utf8).into_owned();
                for (entry, attrs) in entries {
                    out.push(Annotation {
                        mailbox: mailbox.clone(),
                        entry: entry.to_str_lossy().into_owned(),
                        attributes: attrs
                            .iter()
                            .map(|(a, v)| {
                                (
                                    a.to_str_lossy().into_owned(),
                                    v.as_ref().map(|v| v.as_bytes().to_vec()),
                                )
                            })
                            .collect(),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Limits, Poll, Session};

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(format!("* PREAUTH [CAPABILITY IMAP4rev1 {caps}] hi\r\n").as_bytes());
        s.read_greeting().unwrap();
        s
    }

    #[test]
    fn set_encodes_lists_nil_and_refuses_bad_names() {
        let mut s = session("ANNOTATEMORE");
        let p = s
            .typed_set_annotation(
                "INBOX",
                "/comment",
                &[
                    ("value.shared", Some(&b"say \"hi\""[..])),
                    ("value.priv", None),
                ],
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A0 SETANNOTATION \"INBOX\" \"/comment\" (\"value.shared\" \"say \\\"hi\\\"\" \
               \"value.priv\" NIL)\r\n"[..]
        );
        s.receive(b"A0 OK done\r\n");
        assert!(matches!(s.poll(&p).unwrap(), Poll::Done(_)));
        for (entry, attr) in [
            ("comment", "value.shared"),
            ("/c\r\nX", "value.shared"),
            ("/comment", "value\u{e9}"),
            ("/com*", "value.shared"),
            ("/comment", "value.*"),
        ] {
            assert!(
                s.typed_set_annotation("INBOX", entry, &[(attr, None)])
                    .is_err(),
                "{entry:?} {attr:?}"
            );
        }
        assert!(s.typed_set_annotation("INBOX", "/comment", &[]).is_err());
        assert!(s
            .typed_set_annotation("INBOX", "/comment", &[("value.shared", Some(&b"a\0"[..]))])
            .is_err());
        assert!(s.take_output().is_none(), "nothing sent");
    }

    #[test]
    fn get_sends_lists_and_reads_every_entry() {
        let mut s = session("ANNOTATEMORE");
        let p = s
            .typed_get_annotation("INBOX", &["/comment", "/vendor/*"], &["value.*"])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A0 GETANNOTATION \"INBOX\" (\"/comment\" \"/vendor/*\") \"value.*\"\r\n"[..]
        );
        s.receive(
            b"* ANNOTATION INBOX \"/vendor/x\" (\"value.shared\" NIL)\r\n\
              * ANNOTATION INBOX \"/comment\" (\"value.priv\" {4}\r\nmine \"value.shared\" \"s\")\r\n\
              A0 OK done\r\n",
        );
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let a = s.complete_typed(p, Ok(t)).unwrap().annotations().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].entry, "/vendor/x");
        assert_eq!(a[0].get("value.shared"), None);
        assert_eq!(a[1].get("value.priv"), Some(&b"mine"[..]));
        assert_eq!(a[1].get("VALUE.SHARED"), Some(&b"s"[..]));
        assert_eq!(a[1].mailbox, "INBOX");
    }

    #[test]
    fn without_the_capability_nothing_is_sent() {
        let mut s = session("METADATA");
        let e = s
            .typed_get_annotation("INBOX", &["/comment"], &["value.shared"])
            .unwrap_err();
        assert!(e.to_string().contains("ANNOTATEMORE"), "{e}");
        assert!(s
            .typed_set_annotation("INBOX", "/comment", &[("value.shared", None)])
            .is_err());
        assert!(s.take_output().is_none());
    }
}
