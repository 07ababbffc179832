//! Helpers shared by the fuzz targets: input splitting, limits drawn from
//! fuzz bytes, a checker for the bytes a client writes, and a small driver
//! that runs scripted exchanges on an [`imap4_proto::Session`].
//!
//! Everything here uses only the public API of `imap4-proto`.

use imap4_proto::frame::literal_announcement;
use imap4_proto::{Limits, Pending, Poll, Session, SessionError};

// ----- input splitting -------------------------------------------------------

/// Takes `n` bytes from the front of `data` (fewer if it is shorter).
pub fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, tail) = data.split_at(n);
    *data = tail;
    head
}

/// Takes one byte from the front of `data` (0 once it is empty).
pub fn byte(data: &mut &[u8]) -> u8 {
    take(data, 1).first().copied().unwrap_or(0)
}

/// Splits `data` into chunks whose sizes cycle through `sizes` (a size of 0
/// yields an empty chunk, never twice in a row). No sizes: one chunk.
pub fn chunks<'a>(data: &'a [u8], sizes: &'a [u8]) -> Chunks<'a> {
    Chunks {
        data,
        sizes,
        i: 0,
        last_empty: false,
    }
}

/// See [`chunks`].
pub struct Chunks<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    i: usize,
    last_empty: bool,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let mut n = if self.sizes.is_empty() {
            self.data.len()
        } else {
            usize::from(self.sizes[self.i % self.sizes.len()])
        };
        self.i += 1;
        if n == 0 && self.last_empty {
            n = 1;
        }
        self.last_empty = n == 0;
        Some(take(&mut self.data, n))
    }
}

/// Limits drawn from four fuzz bytes: tiny (and zero) limits, so that
/// every limit check is reached with short inputs.
pub fn small_limits(b: [u8; 4]) -> Limits {
    Limits {
        max_line_len: usize::from(b[0]) * 2,
        max_literal_len: u64::from(b[1]),
        max_depth: usize::from(b[2] % 16),
        max_literals: usize::from(b[3] % 8),
        ..Limits::default()
    }
}

/// Default limits when the selector's high bit is clear, small ones from
/// the next four bytes of `data` otherwise.
pub fn limits_from(selector: u8, data: &mut &[u8]) -> Limits {
    if selector & 0x80 == 0 {
        Limits::default()
    } else {
        let b = take(data, 4);
        let mut a = [0u8; 4];
        a[..b.len()].copy_from_slice(b);
        small_limits(a)
    }
}

// ----- the client's bytes ----------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Wire {
    /// At the start of a line (a command, or a continuation answer).
    LineStart,
    /// Inside a line.
    InLine,
    /// Inside literal data announced by the previous line.
    Literal { remaining: u64, full: u64 },
}

/// Checks the byte stream a client writes, chunk by chunk as
/// [`Session::take_output`] hands it out:
///
/// - every line ends with CRLF and holds no other CR, no LF and no NUL;
/// - a line ending in `{N}` / `{N+}` is followed by exactly N bytes of
///   literal data, then by the rest of the command;
/// - data of a synchronizing literal (`{N}`) is never handed out in the
///   same chunk as the line announcing it (the server's `+` must come
///   first);
/// - literal data holds no NUL.
#[derive(Debug)]
pub struct WireChecker {
    state: Wire,
    line: Vec<u8>,
    /// Tag of the command being written, if one is.
    tag: Option<Vec<u8>>,
    /// Everything written so far (for failure messages).
    written: Vec<u8>,
}

impl Default for WireChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl WireChecker {
    /// A checker at the start of the stream.
    pub fn new() -> Self {
        WireChecker {
            state: Wire::LineStart,
            line: Vec::new(),
            tag: None,
            written: Vec::new(),
        }
    }

    /// Everything written so far.
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    /// Whether the stream is between commands (no line or literal open).
    pub fn at_command_boundary(&self) -> bool {
        self.state == Wire::LineStart && self.tag.is_none()
    }

    /// Whether the stream stopped right after announcing a literal (the
    /// session waits for a continuation request).
    pub fn awaiting_literal(&self) -> bool {
        matches!(self.state, Wire::Literal { remaining, full } if remaining == full)
    }

    /// Checks one chunk of output.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.written.extend_from_slice(chunk);
        if let Wire::Literal { remaining: 0, .. } = self.state {
            self.state = Wire::InLine;
        }
        let mut i = 0;
        while i < chunk.len() {
            match self.state {
                Wire::Literal { remaining, full } => {
                    let n = remaining.min((chunk.len() - i) as u64) as usize;
                    let data = &chunk[i..i + n];
                    assert!(
                        !data.contains(&0),
                        "NUL in literal data: {:?}",
                        String::from_utf8_lossy(&self.written)
                    );
                    i += n;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        Wire::InLine
                    } else {
                        Wire::Literal { remaining, full }
                    };
                }
                Wire::LineStart | Wire::InLine => {
                    let b = chunk[i];
                    i += 1;
                    self.state = Wire::InLine;
                    self.line.push(b);
                    if b == b'\n' {
                        let sync = self.end_line();
                        if sync {
                            assert_eq!(
                                i,
                                chunk.len(),
                                "synchronizing literal handed out before the server's continuation: {:?}",
                                String::from_utf8_lossy(&self.written)
                            );
                        }
                    }
                }
            }
        }
    }

    /// A line (with its LF) is complete; returns whether it announced a
    /// synchronizing literal.
    fn end_line(&mut self) -> bool {
        let line = std::mem::take(&mut self.line);
        let shown = || String::from_utf8_lossy(&line).into_owned();
        assert!(
            line.ends_with(b"\r\n"),
            "line not ended by CRLF (bare LF): {:?}",
            shown()
        );
        let content = &line[..line.len() - 2];
        assert!(
            !content.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0),
            "CR, LF or NUL inside a command line: {:?}",
            shown()
        );
        if self.tag.is_none() {
            let end = content
                .iter()
                .position(|&b| b == b' ')
                .unwrap_or(content.len());
            self.tag = Some(content[..end].to_vec());
        }
        match literal_announcement(content) {
            Some(n) => {
                let sync = !content.ends_with(b"+}");
                self.state = Wire::Literal {
                    remaining: n,
                    full: n,
                };
                sync
            }
            _ => {
                self.state = Wire::LineStart;
                self.tag = None;
                false
            }
        }
    }

    /// The command tagged `tag` completed (or failed): output it had not
    /// handed out yet is dropped by the session, so a literal it was still
    /// waiting to send is forgotten.
    pub fn command_done(&mut self, tag: &[u8]) {
        if self.tag.as_deref() == Some(tag) && self.awaiting_literal() {
            self.state = Wire::LineStart;
            self.tag = None;
        }
    }
}

// ----- driving a session -------------------------------------------------------

/// A session plus the bookkeeping the targets need: the tag of the next
/// command and a [`WireChecker`] over everything the session writes.
pub struct Driver {
    /// The session.
    pub s: Session,
    /// Checks all output.
    pub wire: WireChecker,
    prefix: String,
    next_tag: u64,
}

impl Driver {
    /// A fresh session with tag prefix `prefix`.
    pub fn new(limits: Limits, prefix: &str) -> Self {
        Driver {
            s: Session::new(limits, prefix),
            wire: WireChecker::new(),
            prefix: prefix.to_string(),
            next_tag: 0,
        }
    }

    /// The tag the next queued command gets.
    pub fn next_tag(&self) -> String {
        format!("{}{}", self.prefix, self.next_tag)
    }

    /// Records that a command was queued; returns its tag.
    pub fn queued(&mut self) -> String {
        let t = self.next_tag();
        self.next_tag += 1;
        t
    }

    /// Moves everything the session wants to write through the checker.
    pub fn flush(&mut self) {
        while let Some(out) = self.s.take_output() {
            self.wire.feed(&out);
        }
    }

    /// Feeds the greeting; panics unless it is accepted.
    pub fn greet(&mut self, greeting: &[u8]) {
        self.s.receive(greeting);
        assert!(self.s.read_greeting().expect("greeting"));
    }

    /// Runs a command queued by the caller (`pending`, tag `tag`) to
    /// completion against a scripted server: every synchronizing literal
    /// gets a `+`, then `reply` (which must end with the tagged response)
    /// is fed. Returns the tagged outcome.
    pub fn script(
        &mut self,
        pending: &Pending,
        tag: &str,
        reply: &[u8],
    ) -> Result<imap4_proto::Tagged, SessionError> {
        self.flush();
        while self.wire.awaiting_literal() {
            self.s.receive(b"+ go\r\n");
            match self.s.poll(pending)? {
                Poll::NeedInput => {}
                other => panic!("unexpected poll result before the reply: {other:?}"),
            }
            let before = self.wire.written().len();
            self.flush();
            assert!(
                self.wire.written().len() > before,
                "a line announces a literal that the session never sends: {:?}",
                String::from_utf8_lossy(self.wire.written())
            );
        }
        self.s.receive(reply);
        let r = loop {
            match self.s.poll(pending) {
                Ok(Poll::Done(t)) => break Ok(t),
                Ok(Poll::Challenge(_)) => self.s.answer_challenge(pending, None),
                Ok(Poll::NeedInput) => panic!("scripted reply did not complete {tag}"),
                Err(e) => break Err(e),
            }
        };
        self.flush();
        self.wire.command_done(tag.as_bytes());
        r
    }
}

/// The server bytes of an exchange transcript in
/// `crates/imap4-proto/tests/fixtures/dovecot/*.imap` style: lines starting
/// with `C: ` are the client's and are dropped.
pub fn server_bytes(transcript: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = transcript;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let line = &rest[..end];
        if !line.starts_with(b"C: ") {
            out.extend_from_slice(line);
        }
        rest = &rest[end..];
    }
    out
}

/// Whether `needle` occurs in `haystack` (ASCII case-insensitive).
pub fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len().max(1))
        .any(|w| w.eq_ignore_ascii_case(needle))
}
