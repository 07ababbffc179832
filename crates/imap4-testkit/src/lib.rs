//! Test fixtures for imap4: real IMAP servers in temp dirs (Dovecot, Cyrus,
//! Courier and GNU Mailutils, behind one [`ImapServer`] trait), deterministic
//! test mail, and a scripted raw-bytes fake server for hostile-server and
//! transcript tests. Not published; used as a dev-dependency.
//!
//! ```no_run
//! use imap4_testkit::{ImapServer, Kind};
//! // Every kind, each with 5 generated messages in alice's INBOX.
//! for kind in Kind::ALL {
//!     let server = kind.builder().messages("alice", 5, 42).start()?;
//!     println!(
//!         "{kind}: log in as {} on 127.0.0.1:{} (TLS {}), Sent is {:?}",
//!         server.login_name("alice"),
//!         server.port(),
//!         server.tls_port(),
//!         server.mailbox("Sent"),
//!     );
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpStream;
//!
//! // A real server with 5 generated messages in alice's INBOX.
//! let server = imap4_testkit::Dovecot::builder().messages("alice", 5, 42).start()?;
//! let stream = TcpStream::connect((server.host(), server.port()))?;
//! let mut lines = BufReader::new(stream.try_clone()?);
//! let mut line = String::new();
//! lines.read_line(&mut line)?;
//! assert!(line.starts_with("* OK"));
//! (&stream).write_all(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n")?;
//! let mut transcript = String::new();
//! while !line.starts_with("b ") {
//!     line.clear();
//!     lines.read_line(&mut line)?;
//!     transcript.push_str(&line);
//! }
//! assert!(transcript.contains("* 5 EXISTS"));
//!
//! // A scripted fake server.
//! use imap4_testkit::fake::{FakeServer, Step};
//! let fake = FakeServer::start(vec![
//!     Step::send("* OK fake ready\r\n"),
//!     Step::expect("{tag} NOOP"),
//!     Step::send("{tag} OK done\r\n"),
//! ])?;
//! let stream = TcpStream::connect(fake.addr())?;
//! let mut lines = BufReader::new(stream.try_clone()?);
//! line.clear();
//! lines.read_line(&mut line)?;
//! (&stream).write_all(b"x1 NOOP\r\n")?;
//! line.clear();
//! lines.read_line(&mut line)?;
//! assert_eq!(line, "x1 OK done\r\n");
//! assert_eq!(fake.finish().unwrap(), b"x1 NOOP\r\n");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Dovecot fixtures need the Debian packages `dovecot-core`, `dovecot-imapd`
//! and `openssl`; they work as root (mail is then owned by the `dovecot`
//! user) and as an ordinary user. Cyrus, Courier (root only) and Mailutils
//! need their packages too; `scripts/install-deps.sh` installs everything
//! (see [`Kind`] for the lists).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod courier;
mod cyrus;
mod daemon;
mod dovecot;
pub mod fake;
mod generate;
mod maildir;
mod mailutils;
pub mod oauth2;
mod pkgs;
pub mod proxy;
mod raw;
pub mod relay;
mod rng;
mod server;
mod sys;
mod tls;

pub use courier::Courier;
pub use cyrus::Cyrus;
pub use dovecot::{Dovecot, DovecotBuilder, DEFAULT_AUTH_MECHANISMS};
pub use generate::{
    generate, generate_message, internal_date, message_id, parent_of, GeneratedMessage,
};
pub use mailutils::Mailutils;
pub use server::{ImapServer, Kind, Namespace, Quirks, ServerBuilder};

/// The password of every user of every server the kit starts.
pub const PASSWORD: &str = "secret";
pub use tls::TestCerts;

/// A loopback TCP port that was free a moment ago (bound to `127.0.0.1:0`,
/// then released). Another process may take it before you bind it: retry on
/// `AddrInUse`.
///
/// # Panics
/// If no loopback socket can be bound at all.
pub fn free_port() -> u16 {
    match sys::free_ports(1) {
        Ok(ports) => ports[0],
        Err(e) => panic!("cannot bind 127.0.0.1:0: {e}"),
    }
}
