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

mod auth;
pub mod command;
pub mod encode;
mod error;
pub mod frame;
mod imaplib;
pub mod parse;
mod response;
pub mod sasl;
mod session;
mod state;
pub mod typed;

pub use auth::{AuthFailed, Authenticated};
pub use response::{python_repr, Data, Response};
pub use session::{
    Begin, ErrorKind, Pending, Poll, Session, SessionError, State, Tagged, Trace, COMMANDS,
};

/// Limits that protect a connection from a hostile or broken server.
/// Every limit is checked before memory is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest response line, excluding literal data. Default 1 MiB
    /// (imaplib's `_MAXLINE` is 1,000,000).
    pub max_line_len: usize,
    /// Largest literal the client will buffer. Default 256 MiB.
    pub max_literal_len: u64,
    /// Deepest nesting of parenthesized lists. Default 64.
    pub max_depth: usize,
    /// Most literals in one response. Default 100,000 (a FETCH of many
    /// body sections holds a few dozen); bounds the bookkeeping a server
    /// can make the client keep with endless empty literals.
    pub max_literals: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 1 << 20,
            max_literal_len: 256 << 20,
            max_depth: 64,
            max_literals: 100_000,
        }
    }
}
