//! An IMAP4rev1 client: Python imaplib's API, in Rust, on a sans-IO core.
//!
//! [`Imap4`] keeps imaplib's shapes: one method per IMAP command, each
//! returning a [`Response`] (imaplib's `(typ, data)`), and an [`Error`]
//! whose [`kind`](Error::kind) is imaplib's `error`, `abort` or `readonly`.
//! Code ported from Python reads the same:
//!
//! ```no_run
//! use imap4::{Data, Imap4};
//!
//! let mut m = Imap4::connect("imap.example.org", imap4::IMAP4_PORT)?;
//! m.login("alice", "secret")?;
//! m.select("INBOX", false)?;
//! let r = m.search(None, &["ALL"])?;
//! for num in r.data[0].as_line().unwrap_or_default().split(|&b| b == b' ') {
//!     let num = String::from_utf8_lossy(num);
//!     let msg = m.fetch(&num, "(RFC822)")?;
//!     if let Data::Literal(lit) = &msg.data[0] {
//!         println!("Message {num}\n{}\n", String::from_utf8_lossy(&lit.body));
//!     }
//! }
//! m.close()?;
//! m.logout()?;
//! # Ok::<(), imap4::Error>(())
//! ```
//!
//! # The typed API
//!
//! The same connection, Rust-native: typed arguments and parsed results,
//! with the login picked for you ([`Typed::login_auto`]: SCRAM where
//! offered, never a password in plaintext without TLS).
//!
//! ```no_run
//! use imap4::typed::{FetchAttr, SearchKey};
//! use imap4::{Imap4, TlsOptions};
//!
//! let mut m = Imap4::connect_ssl_with("imap.example.org", 993, TlsOptions::default())?;
//! m.typed().login_auto("alice", "secret")?;
//! let inbox = m.typed().select("INBOX")?;
//! println!("{} messages", inbox.exists);
//! let unseen = m.typed().uid_search(&SearchKey::Unseen)?;
//! for f in m.typed().uid_fetch(&unseen, &[FetchAttr::Envelope])?.iter() {
//!     let subject = f?.envelope().and_then(|e| e.subject_decoded());
//!     println!("{subject:?}");
//! }
//! # Ok::<(), imap4::Error>(())
//! ```
//!
//! # TLS
//!
//! [`Imap4::connect_ssl`] (implicit TLS) and [`Imap4::connect_starttls`]
//! verify the certificate and host name (rustls with the `ring` provider);
//! [`TlsOptions`] adds a private CA or a client certificate.
//!
//! # Async
//!
//! With the `tokio` feature, `imap4::tokio::Imap4` has the same methods,
//! awaited, and is cancellation-safe: dropping a command's future never
//! corrupts the connection.
//!
//! ```ignore
//! let mut m = imap4::tokio::Imap4::connect_ssl("imap.example.org", 993).await?;
//! m.typed().login_auto("alice", "secret").await?;
//! ```
//!
//! The protocol itself (framing, encoding, the session state machine) lives
//! in the `imap4-proto` crate; this crate only moves bytes. Every type the
//! API hands out is re-exported here (the typed results in [`typed`], SASL
//! in [`sasl`]), so `imap4` is the only dependency a program needs.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tokio` | no | the async driver `imap4::tokio::Imap4` |
//! | `serde` | no | `Serialize` for every typed result (below) |
//!
//! - `tokio`: the async driver `imap4::tokio::Imap4`, with the same
//!   methods, awaited.
//! - `serde`: `serde::Serialize` for every result of the typed API
//!   ([`typed::SelectedMailbox`], [`typed::MailboxInfo`],
//!   [`typed::MailboxStatus`], [`typed::Fetches`] and the
//!   [`typed::Fetch`]es it yields, with their envelopes and body
//!   structures, [`typed::UidSet`], [`typed::UidMapping`], [`Event`],
//!   [`MailboxState`], [`sasl::LoginMethod`], [`Authenticated`], …), and
//!   `Deserialize` for the plain ones ([`typed::SelectedMailbox`],
//!   [`typed::MailboxStatus`], [`MailboxState`], [`sasl::LoginMethod`]).
//!   Byte strings from the server ([`typed::ByteStr`], a mailbox's
//!   `raw_name`, fetched message data) serialize as strings, invalid UTF-8
//!   replaced by U+FFFD; sequence and UID sets as their IMAP text
//!   (`"1:3,7"`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
pub mod idle;
mod methods;
mod stream;
mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
mod transport;
pub mod typed;
pub mod util;

pub use client::{
    debug, set_debug, Config, Imap4, DEFAULT_CONNECT_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT,
    DEFAULT_WRITE_TIMEOUT, IMAP4_PORT, IMAP4_SSL_PORT,
};
pub use error::{Detail, Error, ErrorKind};
pub use idle::{Event, Idle, IdleConfig, MailboxState};
/// The date/time crate of the typed dates ([`typed::Envelope::date_parsed`],
/// [`typed::Fetch::internal_date_parsed`]: `chrono::DateTime<FixedOffset>`).
pub use imap4_proto::chrono;
pub use imap4_proto::proxy::{Proxy, ProxyKind};
pub use imap4_proto::sasl;
pub use imap4_proto::ResponseCode;
pub use imap4_proto::{AuthFailed, Authenticated, Data, Limits, LiteralData, Response, State};
/// The TLS session type returned by [`Imap4::ssl`].
pub use rustls::ClientConnection as TlsSession;
pub use tls::TlsOptions;
pub use transport::Transport;
pub use typed::Typed;
pub use util::{int2ap, internaldate2tuple, parse_flags, time2internaldate};

/// The README's code blocks, compiled (not run) as doc tests, so they
/// cannot rot (they use the async driver, hence the feature).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
