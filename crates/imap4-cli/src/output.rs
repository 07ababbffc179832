//! Failures and their exit codes, JSON and human output.

use std::fmt;
use std::io::{self, Write};

use imap4::{Detail, ResponseCode};
use serde::Serialize;

/// The class of a failure; each has its own exit code (see
/// [`crate::cli::EXIT_CODES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A local failure: a file, stdout.
    Local,
    /// Bad arguments or configuration.
    Usage,
    /// The server could not be reached or timed out.
    Connect,
    /// TLS failed.
    Tls,
    /// Authentication failed or no credentials.
    Auth,
    /// The mailbox does not exist.
    MailboxNotFound,
    /// The server said NO or BAD.
    ServerNo,
    /// The server broke the protocol or a limit.
    Protocol,
    /// Some of the work was done.
    Partial,
    /// Everything was done, and something needs attention (a backup
    /// reconciled a UIDVALIDITY change).
    Warning,
    /// Everything was done, and something changed (with `--changed-exit`
    /// only): not an error.
    Changed,
}

impl Class {
    /// The exit code.
    pub fn code(self) -> u8 {
        match self {
            Class::Local => 1,
            Class::Usage => 2,
            Class::Connect => 3,
            Class::Tls => 4,
            Class::Auth => 5,
            Class::MailboxNotFound => 6,
            Class::ServerNo => 7,
            Class::Protocol => 8,
            Class::Partial => 9,
            Class::Warning => 10,
            Class::Changed => 11,
        }
    }
}

/// A failure: its class and what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub class: Class,
    pub message: String,
    /// Worth another try on a new connection: the connection was lost
    /// (I/O error, timeout, BYE, closed) or the server is throttling
    /// ("Suggested Backoff Time", Office 365).
    pub retry: bool,
}

impl Failure {
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
            retry: false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The phase a library error happened in, which decides some classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    Login,
    Mailbox,
    Work,
}

/// Classifies a library error.
pub fn classify(e: &imap4::Error, phase: Phase) -> Class {
    match e.detail() {
        Detail::Tls(_) => Class::Tls,
        Detail::Timeout | Detail::Io(_) | Detail::Bye { .. } | Detail::Closed => {
            if phase == Phase::Connect {
                Class::Connect
            } else {
                Class::Protocol
            }
        }
        Detail::Auth(_) => Class::Auth,
        Detail::Refused { code, text, .. } => {
            if phase == Phase::Login
                || matches!(
                    code,
                    Some(ResponseCode::AuthenticationFailed | ResponseCode::AuthorizationFailed)
                )
            {
                return Class::Auth;
            }
            if matches!(
                code,
                Some(ResponseCode::NonExistent | ResponseCode::TryCreate)
            ) || (phase == Phase::Mailbox && code.is_none() && mentions_missing(text))
            {
                return Class::MailboxNotFound;
            }
            Class::ServerNo
        }
        Detail::Limit { .. } | Detail::Protocol => Class::Protocol,
        Detail::Usage if phase == Phase::Connect => {
            // STARTTLS missing, or the plaintext refusal
            if e.to_string().contains("TLS") {
                Class::Tls
            } else {
                Class::Connect
            }
        }
        Detail::Usage if phase == Phase::Login => Class::Auth,
        Detail::Usage => Class::Usage,
        _ => Class::ServerNo,
    }
}

/// Whether a refusal's text says the mailbox does not exist (servers
/// without RFC 5530 codes: Courier, Mailutils, older Cyrus).
fn mentions_missing(text: &[u8]) -> bool {
    let t = String::from_utf8_lossy(text).to_ascii_lowercase();
    [
        "not exist",
        "doesn't exist",
        "nonexistent",
        "no such",
        "not found",
        "unknown mailbox",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Turns a library error into a failure of its class.
pub fn fail(e: imap4::Error, phase: Phase) -> Failure {
    let lost = matches!(
        e.detail(),
        Detail::Timeout | Detail::Io(_) | Detail::Bye { .. } | Detail::Closed
    );
    let mut f = Failure::new(classify(&e, phase), e.to_string());
    f.retry = lost || crate::retry::throttled(&f.message);
    f
}

/// Writes `value` as one line of JSON.
pub fn json_line<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Prints rows as a table with aligned columns (the last one unpadded).
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.enumerate() {
            if i + 1 < n {
                s.push_str(c);
                s.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            } else {
                s.push_str(c);
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, &mut header.iter().copied())?;
    for r in rows {
        line(out, &mut r.iter().map(String::as_str))?;
    }
    Ok(())
}

/// The JSON printed on stderr for a failure in `--json` mode.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ErrorOut<'a> {
    /// The failure.
    pub error: ErrorBody<'a>,
}

/// What [`ErrorOut`] holds.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ErrorBody<'a> {
    /// The class.
    pub class: Class,
    /// The exit code.
    pub exit_code: u8,
    /// What went wrong.
    pub message: &'a str,
}
