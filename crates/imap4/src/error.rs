//! The error users see: opaque, with imaplib's three kinds.

use std::fmt;
use std::io;

use imap4_proto::SessionError;

pub use imap4_proto::ErrorKind;

/// An error from an IMAP operation.
///
/// [`Error::kind`] tells which of imaplib's exceptions it corresponds to:
/// [`ErrorKind::Error`] (the command failed or was misused),
/// [`ErrorKind::Abort`] (the connection is unusable: close it and retry), or
/// [`ErrorKind::ReadOnly`] (the mailbox became read-only; a kind of abort,
/// as in imaplib where `readonly` subclasses `abort`). `Display` carries
/// imaplib's message, including the server's text where there is one.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<Source>,
}

enum Source {
    Session(SessionError),
    Io(io::Error),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    /// An I/O failure, which imaplib reports as `abort("socket error: …")`.
    pub(crate) fn io(e: io::Error) -> Self {
        let message = if is_timeout(&e) {
            "socket error: timed out".to_string()
        } else {
            format!("socket error: {e}")
        };
        Error {
            inner: Box::new(Inner {
                kind: ErrorKind::Abort,
                message,
                source: Some(Source::Io(e)),
            }),
        }
    }

    /// A failure to reach `host:port` (resolving or connecting): the
    /// message names both, e.g. `socket error: cannot connect to
    /// imap.example.org:993: Connection refused (os error 111)`.
    pub(crate) fn connect(host: &str, port: u16, e: io::Error) -> Self {
        let mut err = Error::io(e);
        let what = if err.is_timeout() {
            "timed out".to_string()
        } else {
            match &err.inner.source {
                Some(Source::Io(e)) => e.to_string(),
                _ => String::new(),
            }
        };
        err.inner.message = format!("socket error: cannot connect to {host}:{port}: {what}");
        err
    }

    /// An I/O failure with a message of its own (a proxy that refused or
    /// timed out): still an abort, still [`Error::is_timeout`] if it is one.
    pub(crate) fn io_with_message(e: io::Error, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind: ErrorKind::Abort,
                message: message.into(),
                source: Some(Source::Io(e)),
            }),
        }
    }

    /// Replaces the message, keeping the kind and the source (so a
    /// timeout stays [`Error::is_timeout`]).
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }

    /// The session core's error behind this one, if any.
    pub(crate) fn session_error(&self) -> Option<&SessionError> {
        match &self.inner.source {
            Some(Source::Session(s)) => Some(s),
            _ => None,
        }
    }

    /// Names the mailbox in a typed command's refusal: `SELECT failed: NO
    /// …` becomes `SELECT "Archive" failed: NO …` (the server's text need
    /// not name it). Other errors are returned as they are.
    pub(crate) fn naming_mailbox(mut self, mailbox: &str) -> Self {
        if self.server_status().is_none() {
            return self;
        }
        if let Some(at) = self.inner.message.find(" failed: ") {
            let verb = &self.inner.message[..at];
            if !verb.is_empty() && verb.bytes().all(|b| b.is_ascii_uppercase()) {
                self.inner.message.insert_str(at, &format!(" {mailbox:?}"));
            }
        }
        self
    }

    /// Prefixes the message with `context: `.
    pub(crate) fn context(mut self, context: &str) -> Self {
        self.inner.message = format!("{context}: {}", self.inner.message);
        self
    }

    /// Prefixes the message with imaplib's `command: NAME => `.
    pub(crate) fn in_command(mut self, name: &str) -> Self {
        self.inner.message = format!("command: {name} => {}", self.inner.message);
        self
    }

    /// Which of imaplib's exceptions this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// imaplib's `error`: the command failed or was used wrongly; the
    /// connection is still usable.
    pub fn is_error(&self) -> bool {
        self.inner.kind == ErrorKind::Error
    }

    /// imaplib's `abort` (including `readonly`, which is a kind of abort):
    /// the connection is unusable.
    pub fn is_abort(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Abort | ErrorKind::ReadOnly)
    }

    /// imaplib's `readonly`.
    pub fn is_readonly(&self) -> bool {
        self.inner.kind == ErrorKind::ReadOnly
    }

    /// Whether a read, write or connect timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(&self.inner.source, Some(Source::Io(e)) if is_timeout(e))
    }

    /// The server's status (`"NO"` or `"BAD"`) when the server refused the
    /// command.
    pub fn server_status(&self) -> Option<&str> {
        match &self.inner.source {
            Some(Source::Session(s)) => s.server_reply().map(|(st, _)| st),
            _ => None,
        }
    }

    /// Why authentication failed, for errors of the typed API's
    /// `authenticate` and `login_auto`: the mechanism, the server's status
    /// and text, and what the client found wrong (e.g.
    /// [`SaslError::ServerSignatureMismatch`](imap4_proto::sasl::SaslError::ServerSignatureMismatch)).
    pub fn auth_failure(&self) -> Option<&imap4_proto::AuthFailed> {
        match &self.inner.source {
            Some(Source::Session(s)) => s.auth_failure(),
            _ => None,
        }
    }

    /// The server's text (response code included) when the server refused
    /// the command.
    pub fn server_text(&self) -> Option<&[u8]> {
        match &self.inner.source {
            Some(Source::Session(s)) => s.server_reply().map(|(_, t)| t),
            _ => None,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// A typed result that could not be parsed (what iterating
/// [`Fetches`](crate::typed::Fetches) yields on a malformed response), so
/// `?` works in a function returning [`Error`]: kind `error`, the
/// connection stays usable.
impl From<imap4_proto::parse::ParseError> for Error {
    fn from(error: imap4_proto::parse::ParseError) -> Self {
        Error::from(SessionError::Unparsable {
            error,
            raw: bytes::Bytes::new(),
        })
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        Error {
            inner: Box::new(Inner {
                kind: e.kind(),
                message: e.to_string(),
                source: Some(Source::Session(e)),
            }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.source {
            Some(Source::Session(e)) => Some(e),
            Some(Source::Io(e)) => Some(e),
            None => None,
        }
    }
}
