//! Sans-IO IMAP4rev1 client core for the `imap4` crate.
//!
//! Nothing here touches a socket, a thread or a clock. The caller feeds the
//! bytes it received into a [`Session`], writes the bytes the session asks
//! it to write, and asks the session whether a command has completed. The
//! blocking and async drivers of the `imap4` crate are such callers; so can
//! be a test, a fuzzer or an exotic event loop.
//!
//! ```
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "ABCD");
//! s.receive(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
//! assert!(s.read_greeting().unwrap());
//! let begin = s.noop().unwrap();
//! let pending = begin.pending().unwrap();
//! assert_eq!(&s.take_output().unwrap()[..], b"ABCD0 NOOP\r\n");
//! s.receive(b"* 3 EXISTS\r\nABCD0 OK done\r\n");
//! let Poll::Done(outcome) = s.poll(&pending).unwrap() else { panic!() };
//! let response = s.complete(pending, Ok(outcome)).unwrap();
//! assert_eq!(response.typ, "OK");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acl;
pub mod annotatemore;
mod auth;
mod code;
pub mod command;
pub mod compress;
pub mod condstore;
pub mod encode;
mod error;
pub mod esearch;
pub mod frame;
pub mod gmail;
mod idle;
mod imaplib;
pub mod list;
mod live;
pub mod metadata;
pub mod notify;
pub mod parse;
pub mod proxy;
pub mod quota;
mod replace;
mod response;
pub mod resync;
pub mod sasl;
mod session;
mod state;
mod store;
pub mod typed;

pub use auth::{AuthFailed, Authenticated};
pub use code::ResponseCode;
pub use idle::{IdleConfig, IdleStep};
pub use live::{Event, MailboxState};
pub use response::{python_repr, sanitize, sanitize_bytes, Data, LiteralData, Response};
pub use session::{
    Begin, ErrorKind, Pending, Poll, Session, SessionError, State, Streamed, Tagged, Trace,
    COMMANDS, STREAM_PROGRESS,
};

/// The date/time crate of the typed dates ([`parse::Envelope::date_parsed`],
/// [`parse::Fetch::internal_date_parsed`]), re-exported so that callers name
/// the same `DateTime<FixedOffset>`.
pub use chrono;

/// Limits that protect a connection from a hostile or broken server.
/// Every limit is checked before memory is committed, and breaking one
/// ends the connection with an error that names it.
///
/// The defaults keep a client under 64 MiB whatever a server sends (each
/// hostile case of `imap4-bench hostile` is measured so), and still fit a
/// real mailbox of a million messages: a `FETCH 1:* (FLAGS)` of 1,000,000
/// messages is about 1,000,000 responses and 35 MB. Bodies larger than
/// 48 MiB, or richer listings of a million messages, are for the
/// streaming API (`uid_fetch_body_to`, `uid_fetch_streamed`,
/// `uid_fetch_each`), which no collection limit applies to; or raise the
/// limits:
///
/// ```
/// let limits = imap4_proto::Limits {
///     max_literal_len: 512 << 20,
///     max_response_len: 513 << 20,
///     max_collected_bytes: 1 << 30,
///     ..imap4_proto::Limits::default()
/// };
/// assert_eq!(limits.max_line_len, 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest response line, excluding literal data. Default 1 MiB
    /// (imaplib's `_MAXLINE` is 1,000,000).
    pub max_line_len: usize,
    /// Largest literal the client will buffer. Default 48 MiB (a message
    /// of 50 MB, the largest most providers accept, fits); streamed
    /// bodies are not buffered and not bound by it.
    pub max_literal_len: u64,
    /// Largest single response: its lines and literals together. Default
    /// 49 MiB (the largest literal and its lines; 40 literals of 10 MiB in
    /// one FETCH are refused).
    pub max_response_len: u64,
    /// Deepest nesting of parenthesized lists. Default 64.
    pub max_depth: usize,
    /// Most literals in one response. Default 100,000 (a FETCH of many
    /// body sections holds a few dozen); bounds the bookkeeping a server
    /// can make the client keep with endless empty literals.
    pub max_literals: usize,
    /// Most untagged responses the client holds at once for commands to
    /// collect: imaplib's `untagged_responses` store plus what a typed
    /// command gathers. Default 1,048,576 (a million-message FETCH and
    /// what comes with it).
    pub max_collected_responses: usize,
    /// Most bytes (as received) of the untagged responses held at once,
    /// counted like [`Limits::max_collected_responses`]. Default 48 MiB
    /// (a million messages' FLAGS take about 35 MB).
    pub max_collected_bytes: u64,
    /// Most continuation requests one AUTHENTICATE may answer. Default 32
    /// (real mechanisms need one to three).
    pub max_auth_steps: usize,
    /// Most [`Event`]s queued and not yet taken (events are recorded only
    /// once asked for, and during IDLE). Default 100,000.
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 1 << 20,
            max_literal_len: 48 << 20,
            max_response_len: 49 << 20,
            max_depth: 64,
            max_literals: 100_000,
            max_collected_responses: 1 << 20,
            max_collected_bytes: 48 << 20,
            max_auth_steps: 32,
            max_events: 100_000,
        }
    }
}
