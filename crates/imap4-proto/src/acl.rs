//! ACL (RFC 4314): the typed commands and their results.
//!
//! - [`Session::typed_get_acl`]: `GETACL mailbox`, result
//!   [`TypedOutcome::acl`]: who has which [`Rights`].
//! - [`Session::typed_set_acl`]: `SETACL mailbox identifier rights`, the
//!   rights replaced, added to (`+`) or taken away (`-`) by a
//!   [`RightsChange`].
//! - [`Session::typed_delete_acl`]: `DELETEACL mailbox identifier`.
//! - [`Session::typed_list_rights`]: `LISTRIGHTS mailbox identifier`,
//!   result [`TypedOutcome::list_rights`].
//! - [`Session::typed_my_rights`]: `MYRIGHTS mailbox`, result
//!   [`TypedOutcome::my_rights`].
//!
//! Each refuses, nothing sent, when the server does not offer ACL. Rights
//! are checked before anything is sent: lower-case letters and digits
//! only (RFC 4314's `lrswipkxtea`, the obsolete `c` and `d`, and the
//! letters and digits servers define).
//!
//! ```
//! use imap4_proto::acl::{Rights, RightsChange};
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 ACL] hi\r\n");
//! s.read_greeting().unwrap();
//! let add = RightsChange::Add("lr".parse().unwrap());
//! let p = s.typed_set_acl("INBOX", "bob", &add).unwrap();
//! assert_eq!(&s.take_output().unwrap()[..], b"A0 SETACL \"INBOX\" \"bob\" \"+lr\"\r\n");
//! s.receive(b"A0 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! s.complete_typed(p, Ok(t)).unwrap();
//!
//! let p = s.typed_get_acl("INBOX").unwrap();
//! s.take_output();
//! s.receive(b"* ACL INBOX alice lrswipkxtea bob lr\r\nA1 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let acl = s.complete_typed(p, Ok(t)).unwrap().acl().unwrap();
//! assert_eq!(acl[1].identifier, "bob");
//! assert_eq!(acl[1].rights, Rights::parse("rl").unwrap());
//! assert!(acl[0].rights.contains('a'));
//! ```

use crate::parse::{self, ByteStr, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{TypedKind, TypedOutcome};

/// RFC 4314's rights, in its order: lookup, read, keep seen, write,
/// insert, post, create, delete mailbox, delete messages, expunge,
/// administer.
pub const RFC4314_RIGHTS: &str = "lrswipkxtea";

/// A rights string that is not one: it holds something other than
/// lower-case letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rights {0:?}: lower-case letters and digits only (RFC 4314)")]
pub struct InvalidRights(pub String);

/// A set of ACL rights (RFC 4314): each a lower-case letter or a digit.
/// Shown in RFC 4314's order (`lrswipkxtea`), then other letters, then
/// digits.
///
/// ```
/// use imap4_proto::acl::Rights;
///
/// let r: Rights = "rl".parse().unwrap();
/// assert_eq!(r.to_string(), "lr");
/// assert!(r.contains('l') && !r.contains('w'));
/// assert_eq!(r.union(Rights::parse("w").unwrap()).to_string(), "lrw");
/// assert!(Rights::parse("L").is_err() && Rights::parse("l r").is_err());
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Rights {
    /// Bit `i` for letter `'a' + i` (0..26), bit `26 + d` for digit `d`.
    bits: u64,
}

fn bit(c: char) -> Option<u64> {
    match c {
        'a'..='z' => Some(1 << (c as u32 - 'a' as u32)),
        '0'..='9' => Some(1 << (26 + c as u32 - '0' as u32)),
        _ => None,
    }
}

impl Rights {
    /// No rights.
    pub const EMPTY: Rights = Rights { bits: 0 };

    /// Parses a rights string: lower-case letters and digits, in any
    /// order, repeats allowed (the empty string is no rights).
    pub fn parse(s: &str) -> Result<Rights, InvalidRights> {
        let mut bits = 0;
        for c in s.chars() {
            bits |= bit(c).ok_or_else(|| InvalidRights(s.to_string()))?;
        }
        Ok(Rights { bits })
    }

    /// Whether `right` is in the set.
    pub fn contains(self, right: char) -> bool {
        bit(right).is_some_and(|b| self.bits & b != 0)
    }

    /// Whether every right of `other` is in the set.
    pub fn contains_all(self, other: Rights) -> bool {
        self.bits & other.bits == other.bits
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The rights in either set.
    pub fn union(self, other: Rights) -> Rights {
        Rights {
            bits: self.bits | other.bits,
        }
    }

    /// The rights in this set and not in `other`.
    pub fn difference(self, other: Rights) -> Rights {
        Rights {
            bits: self.bits & !other.bits,
        }
    }

    /// Each right, in display order.
    pub fn iter(self) -> impl Iterator<Item = char> {
        let others = ('a'..='z').filter(|c| !RFC4314_RIGHTS.contains(*c));
        RFC4314_RIGHTS
            .chars()
            .chain(others)
            .chain('0'..='9')
            .filter(move |c| self.contains(*c))
    }
}

impl std::fmt::Debug for Rights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rights({:?})", self.to_string())
    }
}

impl std::str::FromStr for Rights {
    type Err = InvalidRights;
    fn from_str(s: &str) -> Result<Rights, InvalidRights> {
        Rights::parse(s)
    }
}

impl std::fmt::Display for Rights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.iter() {
            std::fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Rights {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How SETACL changes an identifier's rights.
///
/// ```
/// use imap4_proto::acl::{Rights, RightsChange};
///
/// let lr = Rights::parse("lr").unwrap();
/// assert_eq!(RightsChange::Add(lr).to_string(), "+lr");
/// assert_eq!(RightsChange::Remove(lr).to_string(), "-lr");
/// assert_eq!(RightsChange::Replace(lr).to_string(), "lr");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum RightsChange {
    /// The identifier has exactly these rights afterwards.
    Replace(Rights),
    /// These rights are added (`+`).
    Add(Rights),
    /// These rights are taken away (`-`).
    Remove(Rights),
}

impl std::fmt::Display for RightsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RightsChange::Replace(r) => write!(f, "{r}"),
            RightsChange::Add(r) => write!(f, "+{r}"),
            RightsChange::Remove(r) => write!(f, "-{r}"),
        }
    }
}

/// One entry of a mailbox's ACL: an identifier (a user, a group, or a
/// negative right's `-user`) and its rights.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AclEntry {
    /// The identifier, as the server sent it (`anyone`, `alice`, `-bob`).
    pub identifier: String,
    /// Its rights.
    pub rights: Rights,
}

/// What LISTRIGHTS reports: the rights an identifier always has on the
/// mailbox, and the rights that can be granted (each group all or none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ListedRights {
    /// The mailbox, decoded.
    pub mailbox: String,
    /// The identifier asked about.
    pub identifier: String,
    /// The rights it always has.
    pub required: Rights,
    /// The rights that can be granted, in groups granted together.
    pub optional: Vec<Rights>,
}

fn need_acl(s: &Session) -> Result<(), SessionError> {
    if s.supports("ACL") {
        Ok(())
    } else {
        Err(SessionError::Usage("the server does not offer ACL".into()))
    }
}

fn check_identifier(identifier: &str) -> Result<(), SessionError> {
    if identifier.is_empty() {
        return Err(SessionError::Usage(
            "an ACL identifier cannot be empty".into(),
        ));
    }
    Ok(())
}

impl Session {
    /// `GETACL mailbox` (RFC 4314). An error, nothing sent, without ACL.
    /// Result: [`TypedOutcome::acl`].
    pub fn typed_get_acl(&mut self, mailbox: &str) -> Result<Pending, SessionError> {
        need_acl(self)?;
        self.typed(
            "GETACL",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| s.mailbox_arg(c, mailbox),
        )
    }

    /// `SETACL mailbox identifier [+|-]rights` (RFC 4314). An error,
    /// nothing sent, without ACL or for an empty identifier.
    pub fn typed_set_acl(
        &mut self,
        mailbox: &str,
        identifier: &str,
        change: &RightsChange,
    ) -> Result<Pending, SessionError> {
        need_acl(self)?;
        check_identifier(identifier)?;
        let rights = change.to_string();
        self.typed(
            "SETACL",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.string(identifier.as_bytes())?;
                c.string(rights.as_bytes())?;
                Ok(())
            },
        )
    }

    /// `DELETEACL mailbox identifier` (RFC 4314): removes the
    /// identifier's entry. An error, nothing sent, without ACL or for an
    /// empty identifier.
    pub fn typed_delete_acl(
        &mut self,
        mailbox: &str,
        identifier: &str,
    ) -> Result<Pending, SessionError> {
        need_acl(self)?;
        check_identifier(identifier)?;
        self.typed(
            "DELETEACL",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.string(identifier.as_bytes())?;
                Ok(())
            },
        )
    }

    /// `LISTRIGHTS mailbox identifier` (RFC 4314). An error, nothing
    /// sent, without ACL or for an empty identifier. Result:
    /// [`TypedOutcome::list_rights`].
    pub fn typed_list_rights(
        &mut self,
        mailbox: &str,
        identifier: &str,
    ) -> Result<Pending, SessionError> {
        need_acl(self)?;
        check_identifier(identifier)?;
        self.typed(
            "LISTRIGHTS",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| {
                s.mailbox_arg(c, mailbox)?;
                c.string(identifier.as_bytes())?;
                Ok(())
            },
        )
    }

    /// `MYRIGHTS mailbox` (RFC 4314). An error, nothing sent, without
    /// ACL. Result: [`TypedOutcome::my_rights`].
    pub fn typed_my_rights(&mut self, mailbox: &str) -> Result<Pending, SessionError> {
        need_acl(self)?;
        self.typed(
            "MYRIGHTS",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| s.mailbox_arg(c, mailbox),
        )
    }
}

impl TypedOutcome {
    fn missing(&self, expected: &'static str) -> SessionError {
        SessionError::Unparsable {
            error: parse::ParseError {
                offset: 0,
                expected,
            },
            raw: self.tagged.clone(),
        }
    }

    fn rights_of(frame: &bytes::Bytes, r: &ByteStr<'_>) -> Result<Rights, SessionError> {
        Rights::parse(&r.to_str_lossy()).map_err(|_| SessionError::Unparsable {
            error: parse::ParseError {
                offset: 0,
                expected: "rights: lower-case letters and digits",
            },
            raw: frame.clone(),
        })
    }

    /// GETACL results: the entries of the first `* ACL` response, in the
    /// server's order. None is an error; rights other than lower-case
    /// letters and digits are an error ([`SessionError::Unparsable`]).
    pub fn acl(&self) -> Result<Vec<AclEntry>, SessionError> {
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            if let Some(Untagged::Acl { entries, .. }) = d {
                return entries
                    .iter()
                    .map(|(who, rights)| {
                        Ok(AclEntry {
                            identifier: who.to_str_lossy().into_owned(),
                            rights: Self::rights_of(frame, rights)?,
                        })
                    })
                    .collect();
            }
        }
        Err(self.missing("an ACL response"))
    }

    /// LISTRIGHTS results; none is an error.
    pub fn list_rights(&self) -> Result<ListedRights, SessionError> {
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            if let Some(Untagged::ListRights {
                mailbox,
                identifier,
                required,
                optional,
            }) = d
            {
                return Ok(ListedRights {
                    mailbox: parse::decode_mailbox_name(mailbox.raw.as_bytes(), self.utf8)
                        .into_owned(),
                    identifier: identifier.to_str_lossy().into_owned(),
                    required: Self::rights_of(frame, &required)?,
                    optional: optional
                        .iter()
                        .map(|r| Self::rights_of(frame, r))
                        .collect::<Result<_, _>>()?,
                });
            }
        }
        Err(self.missing("a LISTRIGHTS response"))
    }

    /// MYRIGHTS results; none is an error.
    pub fn my_rights(&self) -> Result<Rights, SessionError> {
        for (frame, d) in self.frames.iter().zip(self.checked_all()?) {
            if let Some(Untagged::MyRights { rights, .. }) = d {
                return Self::rights_of(frame, &rights);
            }
        }
        Err(self.missing("a MYRIGHTS response"))
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
    fn rights_are_a_checked_set() {
        let r = Rights::parse("aelrr9x0").unwrap();
        assert_eq!(r.to_string(), "lrxea09");
        assert_eq!(r.iter().count(), 7);
        for bad in ["L", "l r", "+l", "lé", "l\r\n", "*"] {
            assert!(Rights::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Rights::parse("").unwrap().is_empty());
        assert_eq!(format!("{r:?}"), "Rights(\"lrxea09\")");
        let all = Rights::parse(RFC4314_RIGHTS).unwrap();
        assert!(all.contains_all(r.difference(Rights::parse("09").unwrap())));
        assert!(!r.contains('Z') && !r.contains('-'));
        let cd = Rights::parse("dc").unwrap();
        assert_eq!(cd.to_string(), "cd");
    }

    #[test]
    fn refusals_send_nothing() {
        let mut s = session("QUOTA");
        let lr = RightsChange::Add(Rights::parse("lr").unwrap());
        for e in [
            s.typed_get_acl("INBOX").unwrap_err(),
            s.typed_set_acl("INBOX", "bob", &lr).unwrap_err(),
            s.typed_delete_acl("INBOX", "bob").unwrap_err(),
            s.typed_list_rights("INBOX", "bob").unwrap_err(),
            s.typed_my_rights("INBOX").unwrap_err(),
        ] {
            assert!(e.to_string().contains("ACL"), "{e}");
        }
        let mut s2 = session("ACL");
        assert!(s2.typed_set_acl("INBOX", "", &lr).is_err());
        assert!(s2.typed_delete_acl("INBOX", "").is_err());
        assert!(s2.typed_set_acl("INBOX", "b\0b", &lr).is_err());
        assert!(s.take_output().is_none() && s2.take_output().is_none());
    }

    #[test]
    fn encodes_and_reads_results() {
        let mut s = session("ACL RIGHTS=texk");
        let p = s
            .typed_set_acl(
                "Shared/Team",
                "-bob",
                &RightsChange::Remove(Rights::parse("w").unwrap()),
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A0 SETACL \"Shared/Team\" \"-bob\" \"-w\"\r\n"
        );
        run(&mut s, p, b"A0 OK done\r\n");
        let p = s.typed_delete_acl("INBOX", "bob").unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A1 DELETEACL \"INBOX\" \"bob\"\r\n"
        );
        run(&mut s, p, b"A1 OK done\r\n");

        let p = s.typed_list_rights("INBOX", "bob").unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A2 LISTRIGHTS \"INBOX\" \"bob\"\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* LISTRIGHTS INBOX bob \"\" l r s w i p k x t e a 0 1\r\nA2 OK done\r\n",
        );
        let l = t.list_rights().unwrap();
        assert_eq!(
            (l.mailbox.as_str(), l.identifier.as_str()),
            ("INBOX", "bob")
        );
        assert!(l.required.is_empty());
        assert_eq!(l.optional.len(), 13);
        assert_eq!(l.optional[12].to_string(), "1");

        let p = s.typed_my_rights("INBOX").unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"A3 MYRIGHTS \"INBOX\"\r\n");
        let t = run(
            &mut s,
            p,
            b"* MYRIGHTS INBOX lrswipkxtecda\r\nA3 OK done\r\n",
        );
        let r = t.my_rights().unwrap();
        assert!(r.contains_all(Rights::parse(RFC4314_RIGHTS).unwrap()));

        // a rights string the server should not send is an error, not dropped
        let p = s.typed_my_rights("INBOX").unwrap();
        let t = run(&mut s, p, b"* MYRIGHTS INBOX LR\r\nA4 OK done\r\n");
        assert!(matches!(
            t.my_rights(),
            Err(SessionError::Unparsable { .. })
        ));
        // no ACL response: an error
        let p = s.typed_get_acl("INBOX").unwrap();
        let t = run(&mut s, p, b"A5 OK done\r\n");
        assert!(t.acl().is_err());
        let p = s.typed_get_acl("INBOX").unwrap();
        let t = run(
            &mut s,
            p,
            b"* ACL INBOX \"anyone\" \"\" alice lrswipkxtea\r\nA6 OK done\r\n",
        );
        let acl = t.acl().unwrap();
        assert_eq!(acl[0].identifier, "anyone");
        assert!(acl[0].rights.is_empty());
    }
}
