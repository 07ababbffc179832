//! What every fixture offers, whichever server it runs: [`ImapServer`],
//! [`Kind`] and the kind-independent [`ServerBuilder`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::{Courier, Cyrus, Dovecot, Mailutils};

/// The IMAP servers the kit starts, all from Debian's packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Dovecot 2.3 (`dovecot-core`, `dovecot-imapd`): see [`Dovecot`].
    Dovecot,
    /// Cyrus IMAP 3.6 (`cyrus-common`, `sasl2-bin`, the unpacked
    /// `cyrus-imapd`): see [`Cyrus`].
    Cyrus,
    /// Courier-IMAP 5 (`courier-base`, `courier-authdaemon`,
    /// `courier-authlib-userdb`, the unpacked `courier-imap`; root only):
    /// see [`Courier`].
    Courier,
    /// GNU Mailutils imap4d 3.15 (`mailutils-imap4d`): see [`Mailutils`].
    Mailutils,
}

impl Kind {
    /// Every kind, Dovecot first.
    pub const ALL: [Kind; 4] = [Kind::Dovecot, Kind::Cyrus, Kind::Courier, Kind::Mailutils];

    /// The lower-case name: `dovecot`, `cyrus`, `courier`, `mailutils`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dovecot => "dovecot",
            Kind::Cyrus => "cyrus",
            Kind::Courier => "courier",
            Kind::Mailutils => "mailutils",
        }
    }

    /// A builder for a server of this kind.
    pub fn builder(self) -> ServerBuilder {
        ServerBuilder {
            kind: self,
            users: Vec::new(),
            fills: Vec::new(),
        }
    }

    /// Starts a server of this kind with the default users and no mail.
    pub fn start(self) -> io::Result<Box<dyn ImapServer>> {
        self.builder().start()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A server's personal namespace: where a user's own mailboxes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// The prefix of every personal mailbox but INBOX: `""` (Dovecot,
    /// Mailutils) or `"INBOX."` (Cyrus's standard namespace, Courier).
    pub prefix: &'static str,
    /// The hierarchy delimiter: `/` or `.`.
    pub delimiter: char,
}

impl Namespace {
    /// The server's name for `path`, a mailbox written the kit's way
    /// (`/`-separated below the personal root, `INBOX` for the inbox):
    /// `"Projects/2024"` is `"INBOX.Projects.2024"` in `INBOX.` with `.`.
    /// `INBOX` (any case) and the empty name stay as they are.
    pub fn mailbox(&self, path: &str) -> String {
        if path.is_empty() || path.eq_ignore_ascii_case("INBOX") {
            return path.to_string();
        }
        let mut out = String::from(self.prefix);
        out.extend(
            path.chars()
                .map(|c| if c == '/' { self.delimiter } else { c }),
        );
        out
    }
}

/// Server behaviour a test has to know about, one flag per difference that
/// a capability does not announce. Each is a fact seen on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quirks {
    /// SELECT reports `[UIDNEXT n]` (Courier does not).
    pub select_uidnext: bool,
    /// APPEND stores the INTERNALDATE it is given (Mailutils stores the
    /// time of the APPEND).
    pub append_keeps_date: bool,
    /// APPEND stores the flags it is given (Mailutils ignores them; the kit
    /// sets them with STORE afterwards).
    pub append_keeps_flags: bool,
    /// UIDs of appended messages are consecutive (Mailutils skips some).
    pub dense_uids: bool,
    /// A message appended by another connection shows up in the selected
    /// mailbox at the next NOOP (Mailutils notices only when the mailbox
    /// directory's whole-second mtime changed, so tests re-SELECT).
    pub sees_appends_at_once: bool,
    /// RENAME of a missing mailbox is answered NO (Courier answers OK).
    pub rename_missing_fails: bool,
}

/// A running throw-away IMAP server of any [`Kind`], on loopback ports in a
/// temp dir, stopped and removed when dropped.
///
/// Every instance has the users `alice` and `bob` (plus those added with
/// [`ServerBuilder::user`]), all with the password [`ImapServer::password`];
/// log in with [`ImapServer::login_name`] (Mailutils wants
/// `user@localhost`). TLS certificates come from the kit's CA
/// ([`ImapServer::ca_file`]), valid for `localhost` and `127.0.0.1`.
pub trait ImapServer: fmt::Debug + Send + Sync {
    /// Which server this is.
    fn kind(&self) -> Kind;

    /// The listening address, always `"127.0.0.1"`.
    fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// Plain IMAP port (STARTTLS offered, plaintext login allowed).
    fn port(&self) -> u16;

    /// Implicit-TLS IMAP port.
    fn tls_port(&self) -> u16;

    /// `host():port()` as a socket address.
    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port()))
    }

    /// The temp dir holding everything of this instance.
    fn dir(&self) -> &Path;

    /// PEM of the test CA that signed the server certificate.
    fn ca_file(&self) -> PathBuf {
        self.dir().join("tls/ca.pem")
    }

    /// The password of every user: `"secret"`.
    fn password(&self) -> &str {
        crate::PASSWORD
    }

    /// The users of this instance (their short names).
    fn users(&self) -> &[String];

    /// What `user` sends as its LOGIN name (`"alice"`, or
    /// `"alice@localhost"` on Mailutils).
    fn login_name(&self, user: &str) -> String {
        user.to_string()
    }

    /// A `sh -c` command line running the server pre-authenticated as
    /// `user` on stdin/stdout (imaplib's `IMAP4_stream`), or `None` where
    /// the server has no such mode (Cyrus).
    fn stream_command(&self, user: &str) -> Option<String>;

    /// The personal namespace.
    fn namespace(&self) -> Namespace;

    /// The server's name for a mailbox written the kit's way; see
    /// [`Namespace::mailbox`].
    fn mailbox(&self, path: &str) -> String {
        self.namespace().mailbox(path)
    }

    /// What this server does differently.
    fn quirks(&self) -> Quirks;

    /// The server's log so far (empty where it logs only to syslog).
    fn log(&self) -> String;

    /// Puts messages `0..count` generated for `seed` (see
    /// [`crate::generate`]) into `user`'s `mailbox` (written the kit's way,
    /// created if missing), in index order, with their flags and, where the
    /// server keeps it, their date as INTERNALDATE. On a fresh mailbox
    /// message `k` is sequence number `k + 1`.
    fn fill(&self, user: &str, mailbox: &str, count: usize, seed: u64) -> io::Result<()>;
}

/// Configures a server of any [`Kind`]; see [`Kind::builder`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    kind: Kind,
    users: Vec<String>,
    fills: Vec<(String, String, usize, u64)>,
}

impl ServerBuilder {
    /// Adds a user (password `secret`). Letters, digits and `-_`.
    pub fn user(mut self, name: &str) -> Self {
        if !self.users.iter().any(|u| u == name) {
            self.users.push(name.to_string());
        }
        self
    }

    /// Puts `count` generated messages for `seed` into the user's INBOX
    /// once the server runs (adds the user if needed).
    pub fn messages(self, user: &str, count: usize, seed: u64) -> Self {
        self.messages_in(user, "INBOX", count, seed)
    }

    /// Like [`ServerBuilder::messages`] for any mailbox, written the kit's
    /// way (`"Archive/2023"`); see [`ImapServer::fill`].
    pub fn messages_in(mut self, user: &str, mailbox: &str, count: usize, seed: u64) -> Self {
        self = self.user(user);
        self.fills
            .push((user.to_string(), mailbox.to_string(), count, seed));
        self
    }

    /// Starts the server, then fills the mailboxes. The error of a failed
    /// start names the server and includes its log.
    pub fn start(self) -> io::Result<Box<dyn ImapServer>> {
        for u in &self.users {
            check_user(u)?;
        }
        let server: Box<dyn ImapServer> = match self.kind {
            Kind::Dovecot => {
                let mut b = Dovecot::builder();
                for u in &self.users {
                    b = b.user(u);
                }
                for (user, mailbox, count, seed) in &self.fills {
                    b = b.messages_in(user, mailbox, *count, *seed);
                }
                return Ok(Box::new(b.start()?));
            }
            Kind::Cyrus => Box::new(Cyrus::start_with(&self.users)?),
            Kind::Courier => Box::new(Courier::start_with(&self.users)?),
            Kind::Mailutils => Box::new(Mailutils::start_with(&self.users)?),
        };
        for (user, mailbox, count, seed) in &self.fills {
            server.fill(user, mailbox, *count, *seed).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("{}: filling {user}'s {mailbox}: {e}", self.kind),
                )
            })?;
        }
        Ok(server)
    }
}

/// User names every server takes: letters, digits, `-` and `_`.
pub(crate) fn check_user(u: &str) -> io::Result<()> {
    let ok = !u.is_empty()
        && u.len() <= 32
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        && !u.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid user name {u:?}"),
        ))
    }
}

/// The default users plus `extra`, each once, in order.
pub(crate) fn with_default_users(extra: &[String]) -> Vec<String> {
    let mut users: Vec<String> = ["alice", "bob"].iter().map(|s| s.to_string()).collect();
    for u in extra {
        if !users.contains(u) {
            users.push(u.clone());
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_map_kit_names() {
        let dot = Namespace {
            prefix: "INBOX.",
            delimiter: '.',
        };
        let slash = Namespace {
            prefix: "",
            delimiter: '/',
        };
        assert_eq!(dot.mailbox("Projects/2024"), "INBOX.Projects.2024");
        assert_eq!(dot.mailbox("inbox"), "inbox");
        assert_eq!(dot.mailbox(""), "");
        assert_eq!(slash.mailbox("Projects/2024"), "Projects/2024");
        assert!(check_user("py").is_ok());
        assert!(check_user("a b").is_err());
        assert!(check_user("a@b").is_err());
    }
}
