//! The error users see: opaque, with imaplib's three kinds.

use std::fmt;
use std::io;

use imap4_proto::{ResponseCode, SessionError};

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

/// What went wrong, precisely, for matching; see [`Error::detail`].
/// [`Error::kind`] stays imaplib's coarse three-way split.
#[derive(Debug)]
#[non_exhaustive]
pub enum Detail<'a> {
    /// The server refused the command (NO or BAD).
    Refused {
        /// `"NO"` or `"BAD"`.
        status: &'a str,
        /// The response code at the start of the text, if any.
        code: Option<ResponseCode>,
        /// The server's text after the status (code included), raw.
        text: &'a [u8],
    },
    /// The server said BYE and closed the connection.
    Bye {
        /// The server's text.
        text: &'a str,
    },
    /// Authentication failed: the mechanism, the server's status and
    /// reason, what the client found wrong.
    Auth(&'a imap4_proto::AuthFailed),
    /// A connect, read or write timed out (the message names which).
    Timeout,
    /// TLS failed: the handshake, or the certificate or its name.
    Tls(&'a rustls::Error),
    /// Another I/O failure (connection refused, reset, name not found…).
    Io(&'a io::Error),
    /// The server made the client hold more than a [`crate::Limits`] field
    /// allows.
    Limit {
        /// The field's name, e.g. `"max_line_len"`.
        limit: &'static str,
        /// Its value.
        value: u64,
    },
    /// The server broke the protocol (unparsable or unexpected responses,
    /// corrupt compressed data); the message has the details.
    Protocol,
    /// The command is not allowed in the connection's state.
    IllegalState {
        /// The command.
        command: &'a str,
        /// The state it was tried in.
        state: crate::State,
    },
    /// The selected mailbox is (or became) read-only.
    ReadOnly,
    /// The connection was already closed or broken.
    Closed,
    /// A wrong use of the API: a bad argument, a capability the server
    /// lacks, credentials refused to go out without TLS, …
    Usage,
}

fn session_detail(e: &SessionError) -> Detail<'_> {
    use imap4_proto::frame::FrameError as F;
    match e {
        SessionError::Command { status, text, .. } => Detail::Refused {
            status,
            code: ResponseCode::parse(text),
            text,
        },
        SessionError::Auth(a) => Detail::Auth(a),
        SessionError::Bye(text) => Detail::Bye { text },
        SessionError::InCommand { source, .. } => session_detail(source),
        SessionError::LimitExceeded { limit, value } => Detail::Limit {
            limit,
            value: *value,
        },
        SessionError::Frame(f) => match f {
            F::LineTooLong { limit } => Detail::Limit {
                limit: "max_line_len",
                value: *limit as u64,
            },
            F::LiteralTooLarge { limit, .. } => Detail::Limit {
                limit: "max_literal_len",
                value: *limit,
            },
            F::TooManyLiterals { limit } => Detail::Limit {
                limit: "max_literals",
                value: *limit as u64,
            },
            F::TooDeep { limit } => Detail::Limit {
                limit: "max_depth",
                value: *limit as u64,
            },
            F::ResponseTooLarge { limit } => Detail::Limit {
                limit: "max_response_len",
                value: *limit,
            },
            _ => Detail::Protocol,
        },
        SessionError::IllegalState { command, state, .. } => Detail::IllegalState {
            command,
            state: *state,
        },
        SessionError::ReadOnly(_) => Detail::ReadOnly,
        SessionError::Closed(_) => Detail::Closed,
        SessionError::Usage(_) | SessionError::Encode(_) => Detail::Usage,
        _ => Detail::Protocol,
    }
}

impl Error {
    /// What went wrong, precisely: the server's refusal with its parsed
    /// response code, a BYE, an authentication failure, a timeout, a TLS
    /// or other I/O failure, a limit the server broke, a protocol
    /// violation, a command in the wrong state, or a misuse.
    ///
    /// ```no_run
    /// use imap4::{Detail, Imap4, ResponseCode};
    /// # fn run(m: &mut Imap4) -> Result<(), imap4::Error> {
    /// match m.typed().select("Archive/2019") {
    ///     Ok(mailbox) => println!("{} messages", mailbox.exists),
    ///     Err(e) => match e.detail() {
    ///         Detail::Refused { code: Some(ResponseCode::NonExistent), .. } => {
    ///             println!("no such mailbox")
    ///         }
    ///         Detail::Timeout => println!("the server is slow: {e}"),
    ///         _ => return Err(e),
    ///     },
    /// }
    /// # Ok(()) }
    /// ```
    pub fn detail(&self) -> Detail<'_> {
        match &self.inner.source {
            Some(Source::Session(s)) => session_detail(s),
            Some(Source::Io(e)) if is_timeout(e) => Detail::Timeout,
            Some(Source::Io(e)) => {
                match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(t) => Detail::Tls(t),
                    None => Detail::Io(e),
                }
            }
            None => match self.inner.kind {
                ErrorKind::ReadOnly => Detail::ReadOnly,
                ErrorKind::Abort => Detail::Protocol,
                ErrorKind::Error => Detail::Usage,
            },
        }
    }

    /// The response code of the server's refusal, if it sent one
    /// (`[NONEXISTENT]`, `[AUTHENTICATIONFAILED]`, …).
    pub fn response_code(&self) -> Option<ResponseCode> {
        self.server_text().and_then(ResponseCode::parse)
    }
}
