//! METADATA (RFC 5464): the typed commands and their results.
//!
//! - [`Session::typed_get_metadata`] sends `GETMETADATA (MAXSIZE n DEPTH
//!   d) mailbox (entries)`; result [`TypedOutcome::metadata`]: each entry and
//!   its value (bytes, kept as sent, or `None` for NIL), and the
//!   `[METADATA LONGENTRIES n]` the server reports when MAXSIZE left
//!   values out.
//! - [`Session::typed_set_metadata`] sends `SETMETADATA mailbox (entry
//!   value …)`; a value of `None` removes the entry.
//!
//! The mailbox `""` means the server's metadata (needs METADATA or
//! METADATA-SERVER); any other mailbox needs METADATA. Each command
//! refuses, nothing sent, when the capability is missing or an entry name
//! is not one: it must start with `/private/` or `/shared/`, and hold no
//! `*`, `%`, control characters, 8-bit characters, `//`, or a final `/`.
//!
//! ```
//! use imap4_proto::metadata::{Depth, MetadataOptions};
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 METADATA] hi\r\n");
//! s.read_greeting().unwrap();
//! let o = MetadataOptions { max_size: Some(1024), depth: Some(Depth::One) };
//! let p = s.typed_get_metadata("INBOX", &["/private/comment"], &o).unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A0 GETMETADATA (MAXSIZE 1024 DEPTH 1) \"INBOX\" \"/private/comment\"\r\n"[..]
//! );
//! s.receive(b"* METADATA INBOX (/private/comment \"hello\")\r\n\
//!     A0 OK [METADATA LONGENTRIES 2000] done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let m = s.complete_typed(p, Ok(t)).unwrap().metadata().unwrap();
//! assert_eq!(m.get("/private/comment"), Some(&b"hello"[..]));
//! assert_eq!(m.long_entries, Some(2000));
//! ```

use crate::parse::{self, Code, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{TypedKind, TypedOutcome};

/// How deep below each entry GETMETADATA looks (RFC 5464 `DEPTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Depth {
    /// `DEPTH 0`: the entry itself only (the default).
    Zero,
    /// `DEPTH 1`: the entry and its direct children.
    One,
    /// `DEPTH infinity`: the entry and everything below it.
    Infinity,
}

impl Depth {
    fn as_str(self) -> &'static str {
        match self {
            Depth::Zero => "0",
            Depth::One => "1",
            Depth::Infinity => "infinity",
        }
    }
}

/// The options of GETMETADATA (RFC 5464); the default sends none.
///
/// ```
/// use imap4_proto::metadata::{Depth, MetadataOptions};
///
/// let o = MetadataOptions { max_size: Some(4096), ..MetadataOptions::default() };
/// assert!(o.depth.is_none());
/// let _deep = MetadataOptions { depth: Some(Depth::Infinity), ..o };
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MetadataOptions {
    /// `MAXSIZE n`: values longer than `n` octets are left out, and the
    /// server reports the longest one's size
    /// ([`Metadata::long_entries`]).
    pub max_size: Option<u64>,
    /// `DEPTH`: how far below each entry to look.
    pub depth: Option<Depth>,
}

/// One metadata entry and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MetadataEntry {
    /// The entry name, e.g. `/private/comment`.
    pub name: String,
    /// The value's bytes as the server sent them (a value may be binary),
    /// or `None` when the entry has no value (NIL).
    pub value: Option<Vec<u8>>,
}

impl MetadataEntry {
    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        self.value
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// What GETMETADATA returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Metadata {
    /// The mailbox, decoded (`""` for the server's metadata).
    pub mailbox: String,
    /// The entries, in the server's order (an entry without a value is
    /// left out by some servers and sent as NIL by others).
    pub entries: Vec<MetadataEntry>,
    /// `[METADATA LONGENTRIES n]`: MAXSIZE left out values, the longest
    /// of them `n` octets.
    pub long_entries: Option<u64>,
}

impl Metadata {
    /// The value of entry `name` (entry names compare in any case), if
    /// the server sent one that is not NIL.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .and_then(|e| e.value.as_deref())
    }
}

/// Checks an entry name (RFC 5464 section 3.2).
pub fn check_entry_name(name: &str) -> Result<(), SessionError> {
    let bad = |why: &str| {
        Err(SessionError::Usage(format!(
            "{name:?} is not a metadata entry name: {why}"
        )))
    };
    let lower = name.to_ascii_lowercase();
    let rest = match (
        lower.strip_prefix("/private/"),
        lower.strip_prefix("/shared/"),
    ) {
        (Some(r), _) | (_, Some(r)) => r,
        _ => return bad("it must start with /private/ or /shared/"),
    };
    if rest.is_empty() || name.ends_with('/') {
        return bad("it must not end with /");
    }
    if name.contains("//") {
        return bad("it must not hold //");
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(' '..='~').contains(&c) || c == '*' || c == '%')
    {
        return bad(&format!(
            "{c:?} is not allowed (no *, %, control or non-ASCII characters)"
        ));
    }
    Ok(())
}

fn need_metadata(s: &Session, mailbox: &str) -> Result<(), SessionError> {
    if s.supports("METADATA") || (mailbox.is_empty() && s.supports("METADATA-SERVER")) {
        Ok(())
    } else if mailbox.is_empty() {
        Err(SessionError::Usage(
            "the server offers neither METADATA nor METADATA-SERVER".into(),
        ))
    } else {
        Err(SessionError::Usage(
            "the server does not offer METADATA (needed for a mailbox's metadata)".into(),
        ))
    }
}

impl Session {
    /// `GETMETADATA [(options)] mailbox entries` (RFC 5464): one entry
    /// goes without parentheses. An error, nothing sent, without the
    /// capability, without entries, or for an entry name that is not one
    /// ([`check_entry_name`]). Result: [`TypedOutcome::metadata`].
    pub fn typed_get_metadata(
        &mut self,
        mailbox: &str,
        entries: &[&str],
        options: &MetadataOptions,
    ) -> Result<Pending, SessionError> {
        need_metadata(self, mailbox)?;
        if entries.is_empty() {
            return Err(SessionError::Usage(
                "GETMETADATA needs at least one entry".into(),
            ));
        }
        for e in entries {
            check_entry_name(e)?;
        }
        let mut opts = Vec::new();
        if let Some(n) = options.max_size {
            opts.push(format!("MAXSIZE {n}"));
        }
        if let Some(d) = options.depth {
            opts.push(format!("DEPTH {}", d.as_str()));
        }
        let opts = (!opts.is_empty()).then(|| format!("({})", opts.join(" ")));
        self.typed(
            "GETMETADATA",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                if let Some(o) = &opts {
                    c.raw(o.as_bytes())?;
                }
                s.mailbox_arg(c, mailbox)?;
                c.strings(entries)?;
                Ok(())
            },
        )
    }

    /// `SETMETADATA mailbox (entry value …)` (RFC 5464): sets each entry
    /// to its value, or removes it for `None` (NIL). A value of printable
    /// ASCII goes quoted, any other as a literal; one holding NUL as a
    /// BINARY literal8 (`~{n}`) where the server offers BINARY, refused
    /// otherwise. An error,
    /// nothing sent, without the capability, without entries, or for an
    /// entry name that is not one. The server's NO carries why (e.g.
    /// `[METADATA MAXSIZE n]`, `[METADATA TOOMANY]`) in its text.
    pub fn typed_set_metadata(
        &mut self,
        mailbox: &str,
        entries: &[(&str, Option<&[u8]>)],
    ) -> Result<Pending, SessionError> {
        need_metadata(self, mailbox)?;
        if entries.is_empty() {
            return Err(SessionError::Usage(
                "SETMETADATA needs at least one entry".into(),
            ));
        }
        for (e, _) in entries {
            check_entry_name(e)?;
        }
        self.typed(
            "SETMETADATA",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.open_list();
                for (e, v) in entries {
                    c.string(e.as_bytes())?;
                    match v {
                        None => {
                            c.raw(b"NIL")?;
                        }
                        Some(v) if v.iter().all(|b| (0x20..0x7f).contains(b)) => {
                            c.string(v)?;
                        }
                        // NUL only in a literal8, to a server with BINARY
                        Some(v) if v.contains(&0) && s.supports("BINARY") => {
                            c.literal8(bytes::Bytes::copy_from_slice(v))?;
                        }
                        Some(v) => {
                            c.literal(bytes::Bytes::copy_from_slice(v))?;
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
    /// GETMETADATA results: the entries of every `* METADATA` response,
    /// in order, and `[METADATA LONGENTRIES n]` from the tagged OK.
    pub fn metadata(&self) -> Result<Metadata, SessionError> {
        let mut out = Metadata::default();
        let mut first = true;
        for d in self.checked()? {
            if let Untagged::Metadata { mailbox, entries } = d {
                if first {
                    out.mailbox =
                        parse::decode_mailbox_name(mailbox.raw.as_bytes(), self.utf8).into_owned();
                    first = false;
                }
                out.entries
                    .extend(entries.iter().map(|(name, value)| MetadataEntry {
                        name: name.to_str_lossy().into_owned(),
                        value: value.as_ref().map(|v| v.as_bytes().to_vec()),
                    }));
            }
        }
        for code in self.codes() {
            if let Code::Other {
                name,
                data: Some(data),
            } = code
            {
                if !name.as_bytes().eq_ignore_ascii_case(b"METADATA") {
                    continue;
                }
                let data = data.to_str_lossy();
                let mut words = data.split_ascii_whitespace();
                if words
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("LONGENTRIES"))
                {
                    out.long_entries = words.next().and_then(|n| n.parse().ok());
                }
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
    fn entry_names_are_checked() {
        for ok in [
            "/private/comment",
            "/shared/comment",
            "/Shared/Vendor/x.y/z",
            "/private/a b",
        ] {
            assert!(check_entry_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/private/",
            "/shared",
            "private/comment",
            "/public/x",
            "/private/x/",
            "/private//x",
            "/private/*",
            "/shared/a%",
            "/private/a\r\nb",
            "/private/a\0",
            "/private/é",
            "/private/\t",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusals_send_nothing() {
        let mut s = session("ACL");
        let o = MetadataOptions::default();
        for e in [
            s.typed_get_metadata("", &["/private/comment"], &o)
                .unwrap_err(),
            s.typed_get_metadata("INBOX", &["/private/comment"], &o)
                .unwrap_err(),
            s.typed_set_metadata("INBOX", &[("/private/comment", None)])
                .unwrap_err(),
        ] {
            assert!(e.to_string().contains("METADATA"), "{e}");
        }
        // METADATA-SERVER: the server's entries only
        let mut s2 = session("METADATA-SERVER");
        let e = s2
            .typed_get_metadata("INBOX", &["/shared/comment"], &o)
            .unwrap_err();
        assert!(e.to_string().contains("METADATA"), "{e}");
        assert!(s2.typed_get_metadata("INBOX", &[], &o).is_err());
        assert!(s2.typed_set_metadata("", &[]).is_err());
        assert!(s2.typed_get_metadata("", &["/private/*"], &o).is_err());
        assert!(s2
            .typed_set_metadata("", &[("/private/x", None), ("/bad", None)])
            .is_err());
        assert!(s.take_output().is_none() && s2.take_output().is_none());
        let _p = s2.typed_get_metadata("", &["/shared/comment"], &o).unwrap();
        assert_eq!(
            &s2.take_output().unwrap()[..],
            b"A0 GETMETADATA \"\" \"/shared/comment\"\r\n"
        );
    }

    #[test]
    fn set_encodes_nil_quoted_and_literal_values() {
        let mut s = session("METADATA");
        let p = s
            .typed_set_metadata(
                "INBOX",
                &[
                    ("/private/a", Some(&b"say \"hi\""[..])),
                    ("/private/b", None),
                    ("/shared/c", Some(&b"\x01\xff\r\n"[..])),
                ],
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A0 SETMETADATA \"INBOX\" (\"/private/a\" \"say \\\"hi\\\"\" \"/private/b\" NIL \
               \"/shared/c\" {4}\r\n"[..]
        );
        // the binary value goes as a literal, after the continuation
        s.receive(b"+ go\r\n");
        assert!(matches!(s.poll(&p).unwrap(), Poll::NeedInput));
        assert_eq!(&s.take_output().unwrap()[..], b"\x01\xff\r\n)\r\n");
        run(&mut s, p, b"A0 OK done\r\n");
        // NUL is refused before anything is sent
        assert!(s
            .typed_set_metadata("INBOX", &[("/private/a", Some(&b"a\0b"[..]))])
            .is_err());
        assert!(s.take_output().is_none());
        // with BINARY, a literal8
        let mut s = session("METADATA BINARY");
        let p = s
            .typed_set_metadata("INBOX", &[("/private/a", Some(&b"a\0b"[..]))])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A0 SETMETADATA \"INBOX\" (\"/private/a\" ~{3}\r\n"[..]
        );
        s.receive(b"+ go\r\n");
        assert!(matches!(s.poll(&p).unwrap(), Poll::NeedInput));
        assert_eq!(&s.take_output().unwrap()[..], b"a\0b)\r\n");
    }

    #[test]
    fn get_reads_values_nil_literals_and_longentries() {
        let mut s = session("METADATA");
        let p = s
            .typed_get_metadata(
                "",
                &["/private/a", "/shared/b"],
                &MetadataOptions {
                    max_size: None,
                    depth: Some(Depth::Infinity),
                },
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A0 GETMETADATA (DEPTH infinity) \"\" (\"/private/a\" \"/shared/b\")\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* METADATA \"\" (/private/a {3}\r\n\x01\xfe\n /shared/b NIL)\r\n\
              * METADATA \"\" (/shared/b/c \"x\")\r\nA0 OK [METADATA LONGENTRIES 77] done\r\n",
        );
        let m = t.metadata().unwrap();
        assert_eq!(m.mailbox, "");
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.get("/private/a"), Some(&b"\x01\xfe\n"[..]));
        assert_eq!(m.entries[0].value_str(), None);
        assert_eq!(m.entries[1].value, None);
        assert_eq!(m.get("/shared/b"), None);
        assert_eq!(m.entries[2].value_str(), Some("x"));
        assert_eq!(m.long_entries, Some(77));
    }
}
