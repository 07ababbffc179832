//! Errors of the session core.

use bytes::Bytes;

use crate::auth::AuthFailed;
use crate::encode::EncodeError;
use crate::frame::FrameError;
use crate::response::{python_repr, sanitize};
use crate::state::State;

/// imaplib's three exception classes (exactly these three: match on them
/// exhaustively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// imaplib's `error`: the command failed or was used wrongly.
    Error,
    /// imaplib's `abort`: the connection is unusable; close and retry.
    Abort,
    /// imaplib's `readonly` (a kind of abort): the mailbox became read-only.
    ReadOnly,
}

/// A precise error from the session core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The byte stream broke a limit or could not be framed.
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// A command argument cannot be encoded.
    #[error("{0}")]
    Encode(#[from] EncodeError),
    /// A tagged response whose tag matches no command in flight.
    #[error("unexpected tagged response: {}", python_repr(.0))]
    UnexpectedTagged(Bytes),
    /// A tagged response that started arriving before its command was
    /// sent: it cannot be the answer to it (a reply piggy-backed on an
    /// earlier one, as in CVE-2026-42246). The connection is broken.
    #[error("tagged response arrived before its command was sent: {}", python_repr(.0))]
    EarlyTagged(Bytes),
    /// The server made the client hold more than a [`crate::Limits`] field
    /// allows (named in `limit`).
    #[error("server exceeded Limits::{limit} ({value})")]
    LimitExceeded {
        /// The name of the `Limits` field.
        limit: &'static str,
        /// Its value.
        value: u64,
    },
    /// A response a typed result needs could not be parsed (a number too
    /// large for its field, say); the connection stays usable.
    #[error("unparsable response from the server ({error}): {}", python_repr(&.raw[..raw.len().min(200)]))]
    Unparsable {
        /// Why it could not be parsed.
        error: crate::parse::ParseError,
        /// The response as received.
        raw: Bytes,
    },
    /// A line that is neither tagged, untagged nor a continuation.
    #[error("unexpected response: {}", python_repr(.0))]
    UnexpectedResponse(Bytes),
    /// The server said BYE.
    #[error("{}", sanitize(.0))]
    Bye(String),
    /// The connection ended (EOF) or failed earlier.
    #[error("{}", sanitize(.0))]
    Closed(String),
    /// A command used in a state that does not allow it.
    #[error("command {command} illegal in state {state}, only allowed in states {allowed}")]
    IllegalState {
        /// The command.
        command: String,
        /// The current state.
        state: State,
        /// The allowed states, comma separated.
        allowed: String,
    },
    /// The selected mailbox is read-only (imaplib's `readonly`).
    #[error("{}", sanitize(.0))]
    ReadOnly(String),
    /// The server answered BAD, or NO where imaplib raises.
    #[error("{}", sanitize(message))]
    Command {
        /// imaplib's message, e.g. `CREATE command error: BAD [b'...']`.
        message: String,
        /// `"BAD"` or `"NO"`.
        status: String,
        /// The server's text after the status, response code included.
        text: Bytes,
    },
    /// Any other misuse, with imaplib's message.
    #[error("{}", sanitize(.0))]
    Usage(String),
    /// Another condition imaplib raises `abort` for (e.g. STARTTLS when
    /// the server does not offer it).
    #[error("{}", sanitize(.0))]
    Abort(String),
    /// Authentication failed: the server refused the credentials, or the
    /// SASL mechanism refused the server (see [`AuthFailed`]).
    #[error("{0}")]
    Auth(Box<AuthFailed>),
    /// COMPRESS=DEFLATE failed: the server's compressed data is corrupt
    /// (the connection is broken).
    #[error("{0}")]
    Compression(#[from] crate::compress::DeflateError),
    /// An abort raised while a command was running, with imaplib's
    /// `command: NAME => ` prefix.
    #[error("command: {command} => {source}")]
    InCommand {
        /// The command that was running.
        command: String,
        /// What went wrong.
        source: Box<SessionError>,
    },
}

impl SessionError {
    /// Which imaplib exception this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SessionError::Frame(_)
            | SessionError::UnexpectedTagged(_)
            | SessionError::EarlyTagged(_)
            | SessionError::LimitExceeded { .. }
            | SessionError::UnexpectedResponse(_)
            | SessionError::Bye(_)
            | SessionError::Closed(_)
            | SessionError::Compression(_)
            | SessionError::Abort(_) => ErrorKind::Abort,
            SessionError::ReadOnly(_) => ErrorKind::ReadOnly,
            SessionError::Encode(_)
            | SessionError::Unparsable { .. }
            | SessionError::IllegalState { .. }
            | SessionError::Command { .. }
            | SessionError::Usage(_) => ErrorKind::Error,
            SessionError::Auth(a) => {
                if a.status.as_deref() == Some("OK") {
                    ErrorKind::Abort
                } else {
                    ErrorKind::Error
                }
            }
            SessionError::InCommand { source, .. } => source.kind(),
        }
    }

    /// The authentication failure, if this is one.
    pub fn auth_failure(&self) -> Option<&AuthFailed> {
        match self {
            SessionError::Auth(a) => Some(a),
            SessionError::InCommand { source, .. } => source.auth_failure(),
            _ => None,
        }
    }

    /// The server's status and text when the server refused a command.
    pub fn server_reply(&self) -> Option<(&str, &[u8])> {
        match self {
            SessionError::Command { status, text, .. } => Some((status, text)),
            SessionError::Auth(a) if a.refused_by_server() => {
                Some((a.status.as_deref().unwrap_or_default(), &a.text))
            }
            SessionError::InCommand { source, .. } => source.server_reply(),
            _ => None,
        }
    }
}
