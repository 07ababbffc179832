//! QUOTA (RFC 9208, formerly RFC 2087): the typed commands and their
//! results.
//!
//! - [`Session::typed_get_quota`]: `GETQUOTA root`; result
//!   [`TypedOutcome::quotas`].
//! - [`Session::typed_get_quota_root`]: `GETQUOTAROOT mailbox`; result
//!   [`TypedOutcome::quota_roots`]: the mailbox's quota roots and each
//!   root's usage and limits.
//! - [`Session::typed_set_quota`]: `SETQUOTA root (resource limit …)`.
//!
//! Each refuses, nothing sent, when the server does not offer QUOTA.
//! Usage and limits are in the resource's units: STORAGE counts KiB
//! (units of 1024 octets), MESSAGE counts messages.
//!
//! ```
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 QUOTA] hi\r\n");
//! s.read_greeting().unwrap();
//! let p = s.typed_get_quota_root("INBOX").unwrap();
//! assert_eq!(&s.take_output().unwrap()[..], b"A0 GETQUOTAROOT \"INBOX\"\r\n");
//! s.receive(b"* QUOTAROOT INBOX \"User quota\"\r\n\
//!     * QUOTA \"User quota\" (STORAGE 10 1048576)\r\nA0 OK done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! let roots = s.complete_typed(p, Ok(t)).unwrap().quota_roots().unwrap();
//! assert_eq!(roots.roots, ["User quota"]);
//! let storage = roots.quotas[0].resource("storage").unwrap();
//! assert_eq!((storage.usage, storage.limit), (10, 1048576));
//! ```

use crate::encode::is_atom_char;
use crate::parse::{self, Untagged};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{TypedKind, TypedOutcome};

/// The largest limit SETQUOTA can send (RFC 9208: a 63-bit number).
pub const MAX_QUOTA_LIMIT: u64 = i64::MAX as u64;

/// One resource of a quota root: its name, what is used and the limit.
///
/// ```
/// use imap4_proto::quota::QuotaResource;
///
/// let r = QuotaResource { name: "STORAGE".into(), usage: 512, limit: 1024 };
/// assert_eq!(r.remaining(), 512);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct QuotaResource {
    /// The resource as the server names it: `STORAGE` (KiB), `MESSAGE`
    /// (messages), `MAILBOX`, `ANNOTATION-STORAGE`, …
    pub name: String,
    /// The current usage, in the resource's units.
    pub usage: u64,
    /// The limit, in the resource's units.
    pub limit: u64,
}

impl QuotaResource {
    /// What is left before the limit (0 when over it).
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.usage)
    }
}

/// A quota root and its resources, as a `* QUOTA` response reports them.
///
/// ```
/// use imap4_proto::quota::{Quota, QuotaResource};
///
/// let q = Quota {
///     root: "User quota".into(),
///     resources: vec![QuotaResource { name: "STORAGE".into(), usage: 1, limit: 2 }],
/// };
/// assert!(q.resource("Storage").is_some() && q.resource("MESSAGE").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Quota {
    /// The quota root's name (`""` is a valid root).
    pub root: String,
    /// Its resources, in the server's order.
    pub resources: Vec<QuotaResource>,
}

impl Quota {
    /// The resource named `name` (any case), if the root has it.
    pub fn resource(&self, name: &str) -> Option<&QuotaResource> {
        self.resources
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }
}

/// What GETQUOTAROOT reports: the mailbox's quota roots and the quota of
/// each root the server described.
///
/// ```
/// use imap4_proto::quota::QuotaRoots;
///
/// let r = QuotaRoots::default();
/// assert!(r.roots.is_empty() && r.quota("").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct QuotaRoots {
    /// The mailbox, decoded.
    pub mailbox: String,
    /// Its quota roots (none: the mailbox has no quota).
    pub roots: Vec<String>,
    /// The quotas the server sent, in its order.
    pub quotas: Vec<Quota>,
}

impl QuotaRoots {
    /// The quota of `root`, if the server sent it.
    pub fn quota(&self, root: &str) -> Option<&Quota> {
        self.quotas.iter().find(|q| q.root == root)
    }
}

fn need_quota(s: &Session) -> Result<(), SessionError> {
    if s.supports("QUOTA") {
        Ok(())
    } else {
        Err(SessionError::Usage(
            "the server does not offer QUOTA".into(),
        ))
    }
}

impl Session {
    /// `GETQUOTA root` (RFC 9208). An error, nothing sent, without QUOTA.
    /// Result: [`TypedOutcome::quotas`].
    pub fn typed_get_quota(&mut self, root: &str) -> Result<Pending, SessionError> {
        need_quota(self)?;
        self.typed(
            "GETQUOTA",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |_, c| {
                c.string(root.as_bytes())?;
                Ok(())
            },
        )
    }

    /// `GETQUOTAROOT mailbox` (RFC 9208). An error, nothing sent,
    /// without QUOTA. Result: [`TypedOutcome::quota_roots`].
    pub fn typed_get_quota_root(&mut self, mailbox: &str) -> Result<Pending, SessionError> {
        need_quota(self)?;
        self.typed(
            "GETQUOTAROOT",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |s, c| s.mailbox_arg(c, mailbox),
        )
    }

    /// `SETQUOTA root (resource limit …)` (RFC 9208): sets these limits
    /// of `root` (an empty list removes every limit). An error, nothing
    /// sent, without QUOTA, for a resource name that is not an atom, or
    /// for a limit above [`MAX_QUOTA_LIMIT`]. Most servers let only an
    /// administrator set quotas; the server's NO is a
    /// [`SessionError::Command`]. The result's [`TypedOutcome::quotas`]
    /// has any QUOTA the server sent back.
    pub fn typed_set_quota(
        &mut self,
        root: &str,
        limits: &[(&str, u64)],
    ) -> Result<Pending, SessionError> {
        need_quota(self)?;
        let mut list = String::from("(");
        for (i, (name, limit)) in limits.iter().enumerate() {
            if name.is_empty() || !name.bytes().all(is_atom_char) {
                return Err(SessionError::Usage(format!(
                    "{name:?} is not a quota resource name (an atom such as STORAGE)"
                )));
            }
            if *limit > MAX_QUOTA_LIMIT {
                return Err(SessionError::Usage(format!(
                    "quota limit {limit} is above {MAX_QUOTA_LIMIT}"
                )));
            }
            if i > 0 {
                list.push(' ');
            }
            list.push_str(&format!("{} {limit}", name.to_ascii_uppercase()));
        }
        list.push(')');
        self.typed(
            "SETQUOTA",
            TypedKind::Plain,
            &[State::Auth, State::Selected],
            |_, c| {
                c.string(root.as_bytes())?;
                c.raw(list.as_bytes())?;
                Ok(())
            },
        )
    }
}

fn quota_of(root: &parse::ByteStr<'_>, resources: &[parse::QuotaResource<'_>]) -> Quota {
    Quota {
        root: root.to_str_lossy().into_owned(),
        resources: resources
            .iter()
            .map(|r| QuotaResource {
                name: r.name.to_str_lossy().to_ascii_uppercase(),
                usage: r.usage,
                limit: r.limit,
            })
            .collect(),
    }
}

impl TypedOutcome {
    /// Every `* QUOTA` response, in the server's order (GETQUOTA,
    /// SETQUOTA and GETQUOTAROOT results).
    pub fn quotas(&self) -> Result<Vec<Quota>, SessionError> {
        let mut out = Vec::new();
        for d in self.checked()? {
            if let Untagged::Quota { root, resources } = d {
                out.push(quota_of(&root, &resources));
            }
        }
        Ok(out)
    }

    /// GETQUOTAROOT results; a completed GETQUOTAROOT without a
    /// `* QUOTAROOT` response is an error.
    pub fn quota_roots(&self) -> Result<QuotaRoots, SessionError> {
        let mut found: Option<QuotaRoots> = None;
        let mut quotas = Vec::new();
        for d in self.checked()? {
            match d {
                Untagged::QuotaRoot { mailbox, roots } if found.is_none() => {
                    found = Some(QuotaRoots {
                        mailbox: parse::decode_mailbox_name(mailbox.raw.as_bytes(), self.utf8)
                            .into_owned(),
                        roots: roots
                            .iter()
                            .map(|r| r.to_str_lossy().into_owned())
                            .collect(),
                        quotas: Vec::new(),
                    })
                }
                Untagged::Quota { root, resources } => quotas.push(quota_of(&root, &resources)),
                _ => {}
            }
        }
        let mut r = found.ok_or_else(|| SessionError::Unparsable {
            error: parse::ParseError {
                offset: 0,
                expected: "a QUOTAROOT response",
            },
            raw: self.tagged.clone(),
        })?;
        r.quotas = quotas;
        Ok(r)
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

    fn run(s: &mut Session, p: Pending, reply: &[u8]) -> Result<TypedOutcome, SessionError> {
        let _ = s.take_output();
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t))
    }

    #[test]
    fn refusals_send_nothing() {
        let mut s = session("ACL");
        for e in [
            s.typed_get_quota("").unwrap_err(),
            s.typed_get_quota_root("INBOX").unwrap_err(),
            s.typed_set_quota("", &[("STORAGE", 1)]).unwrap_err(),
        ] {
            assert!(e.to_string().contains("QUOTA"), "{e}");
        }
        let mut s2 = session("QUOTA");
        assert!(s2.typed_set_quota("", &[("STOR AGE", 1)]).is_err());
        assert!(s2.typed_set_quota("", &[("STORAGE)", 1)]).is_err());
        assert!(s2.typed_set_quota("", &[("", 1)]).is_err());
        assert!(s2.typed_set_quota("", &[("STORAGE", u64::MAX)]).is_err());
        assert!(s2.typed_get_quota("a\0b").is_err());
        assert!(s.take_output().is_none() && s2.take_output().is_none());
    }

    #[test]
    fn encodes_and_reads_results() {
        let mut s = session("QUOTA");
        let p = s
            .typed_set_quota("User quota", &[("storage", 512), ("MESSAGE", 10)])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A0 SETQUOTA \"User quota\" (STORAGE 512 MESSAGE 10)\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* QUOTA \"User quota\" (STORAGE 3 512 MESSAGE 1 10)\r\nA0 OK set\r\n",
        )
        .unwrap();
        let q = t.quotas().unwrap();
        assert_eq!(q[0].resource("message").unwrap().limit, 10);
        assert_eq!(q[0].resources.len(), 2);

        let p = s.typed_get_quota("").unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"A1 GETQUOTA \"\"\r\n");
        let e = run(&mut s, p, b"A1 NO [NONEXISTENT] no such root\r\n").unwrap_err();
        assert!(matches!(e, SessionError::Command { ref status, .. } if status == "NO"));

        // a root line break goes as a literal, never onto the line
        let p = s.typed_get_quota("a\r\nb").unwrap();
        let out = s.take_output().unwrap();
        assert!(out.starts_with(b"A2 GETQUOTA {4}\r\n"), "{out:?}");
        drop(p);

        let mut s = session("QUOTA");
        let p = s.typed_get_quota_root("Sent").unwrap();
        s.take_output();
        let t = run(
            &mut s,
            p,
            b"* QUOTAROOT Sent \"\" other\r\n* QUOTA \"\" (STORAGE 1 2)\r\n\
              * QUOTA other ()\r\nA0 OK done\r\n",
        )
        .unwrap();
        let r = t.quota_roots().unwrap();
        assert_eq!(r.mailbox, "Sent");
        assert_eq!(r.roots, ["", "other"]);
        assert_eq!(r.quota("").unwrap().resources[0].remaining(), 1);
        assert!(r.quota("other").unwrap().resources.is_empty());

        // no QUOTAROOT response: an error, not an empty result
        let p = s.typed_get_quota_root("Sent").unwrap();
        let t = run(&mut s, p, b"A1 OK done\r\n").unwrap();
        assert!(t.quota_roots().is_err());
    }
}
