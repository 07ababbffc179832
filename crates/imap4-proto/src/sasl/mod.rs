//! SASL mechanisms (RFC 4422), sans-IO: each one turns server challenges
//! into client responses and, for the mechanisms that can, verifies that
//! the server knows the secret too.
//!
//! The [`Session`](crate::Session) drives a [`Mechanism`] through an
//! AUTHENTICATE exchange ([`Session::sasl_authenticate`](crate::Session::sasl_authenticate)):
//! it sends the initial response (on the command line when the server
//! offers `SASL-IR`, RFC 4959), answers each `+` challenge with
//! [`Mechanism::step`], cancels the exchange (`*`) when the mechanism
//! fails, and calls [`Mechanism::finish`] before it reports success, so a
//! SCRAM server that cannot prove it knows the password never yields a
//! successful login.
//!
//! ```
//! use imap4_proto::sasl::{Mechanism, Scram};
//!
//! // RFC 7677's example exchange, with its client nonce.
//! let mut m = Scram::sha256("user", "pencil").with_nonce("rOprNGfwEbeRWgbNEkqO");
//! assert_eq!(m.name(), "SCRAM-SHA-256");
//! let first = m.initial_response().unwrap().unwrap();
//! assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
//! let fin = m.step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
//!     s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").unwrap();
//! assert!(fin.starts_with(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="));
//! m.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
//! m.finish(None).unwrap(); // the server proved it knows the password
//! ```

use std::fmt;

use zeroize::Zeroize;

mod choose;
mod oauth;
mod scram;
mod simple;

pub use choose::{AutoLogin, LoginMethod};
pub use oauth::{OAuthBearer, OAuthError, XOAuth2};
pub use scram::{ChannelBinding, Scram, ScramHash, ScramServerError};
pub use simple::{cram_md5_response, CramMd5, External, Login, Plain};

/// A SASL mechanism on the client side, as a state machine without I/O.
///
/// The session calls [`initial_response`](Mechanism::initial_response)
/// once, then [`step`](Mechanism::step) for each server challenge, then
/// [`finish`](Mechanism::finish) when the server reports success. Any
/// error cancels the exchange. Implementations must not panic, whatever
/// the challenge bytes.
pub trait Mechanism: Send {
    /// The registered mechanism name, upper-case (`"SCRAM-SHA-256"`).
    fn name(&self) -> &str;

    /// The client's first message, for client-first mechanisms: `Some`
    /// (possibly empty) is sent with the command when the server offers
    /// SASL-IR, else in answer to the server's first, empty challenge.
    /// `None`: the mechanism waits for the server's first challenge.
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError>;

    /// The answer to a (base64-decoded) server challenge. An error cancels
    /// the exchange.
    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError>;

    /// The server reported success. `additional_data` is the data a
    /// protocol sends with the success (IMAP sends none: SCRAM's final
    /// message arrives as the last challenge). A mechanism that
    /// authenticates the server fails here unless the server proved
    /// itself; the session then reports a failure, not a login.
    fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), SaslError>;

    /// After the server refused the exchange: why, if a challenge told
    /// the mechanism (e.g. the JSON error of XOAUTH2 and OAUTHBEARER).
    fn server_error(&self) -> Option<&SaslError> {
        None
    }

    /// Whether the exchange reveals a reusable secret (a password or a
    /// bearer token) to anyone who can read the connection: true for
    /// PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER. Such mechanisms belong on
    /// TLS connections only.
    fn reveals_secret(&self) -> bool;
}

/// A password or token: never printed (`Debug` and `Display` show
/// `<redacted>`), wiped from memory when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&String> for Secret {
    fn from(s: &String) -> Self {
        Secret(s.clone())
    }
}

impl From<&Secret> for Secret {
    fn from(s: &Secret) -> Self {
        s.clone()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A byte buffer wiped when dropped (a client message holding a secret).
pub(crate) struct Wiped(pub(crate) Vec<u8>);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Wiped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes redacted>", self.0.len())
    }
}

/// Why a mechanism failed on the client side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// A credential cannot be sent with this mechanism (e.g. a NUL in a
    /// PLAIN user name, a character SASLprep prohibits).
    #[error("invalid credential: {0}")]
    InvalidCredential(String),
    /// The server's message does not follow the mechanism's syntax.
    #[error("malformed server message: {0}")]
    Malformed(String),
    /// The server sent a challenge when the mechanism expected none.
    #[error("unexpected server challenge")]
    UnexpectedChallenge,
    /// SCRAM: the server's nonce does not extend the client's.
    #[error("the server's nonce does not extend the client's nonce")]
    NonceMismatch,
    /// SCRAM: the server asked for an iteration count outside the allowed
    /// range (a hostile server could burn CPU, or weaken the proof).
    #[error("iteration count {count} outside the allowed range {min}..={max}")]
    IterationCount {
        /// What the server asked for.
        count: u64,
        /// The smallest count allowed.
        min: u32,
        /// The largest count allowed.
        max: u32,
    },
    /// SCRAM: the server's signature is wrong: it does not know the
    /// password (an impostor, or a man in the middle).
    #[error("the server's signature is wrong: the server does not know the password")]
    ServerSignatureMismatch,
    /// The server reported success without proving that it knows the
    /// password (SCRAM's final message was missing).
    #[error("the server reported success without proving that it knows the password")]
    ServerNotVerified,
    /// SCRAM: the server reported an error (`e=`).
    #[error("server error: {0}")]
    Scram(ScramServerError),
    /// XOAUTH2 / OAUTHBEARER: the server's JSON error.
    #[error("{0}")]
    OAuth(OAuthError),
    /// The channel binding is unusable.
    #[error("channel binding: {0}")]
    ChannelBinding(String),
    /// The random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// The standard escaping of a SCRAM/GS2 `saslname`: `=` becomes `=3D`,
/// `,` becomes `=2C`.
pub(crate) fn escape_saslname(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '=' => out.push_str("=3D"),
            ',' => out.push_str("=2C"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
