//! The client session state machine.
//!
//! It owns the framer, hands out tags, queues encoded commands (holding back
//! whatever follows a synchronizing literal until the server's `+`), routes
//! tagged completions to the command that is waiting for them, collects
//! untagged data by name (imaplib's `untagged_responses`), records response
//! codes, and tracks the connection state. Several commands may be in flight
//! at once.

use std::collections::VecDeque;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};

use crate::compress::Deflate;
use crate::encode::{CommandBuilder, EncodeError, Fragment, LiteralMode};
pub use crate::error::{ErrorKind, SessionError};
use crate::frame::{Frame, Framer, Item, Part};
use crate::response::{python_repr, Data, Response};
pub use crate::state::{State, COMMANDS};
use crate::store::UntaggedStore;
use crate::Limits;

/// A debug trace line; secrets are already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// Something the client sent.
    Sent(String),
    /// A response the client received.
    Received(String),
}

/// The tagged result of a command: imaplib's `(typ, [data])`.
pub type Tagged = (String, Vec<Data>);

/// Commands that address messages by sequence number (RFC 9051 section
/// 5.5).
/// Commands whose answers are STATUS, LIST or METADATA responses: while
/// one runs, those responses are not NOTIFY notifications (RFC 5465).
const LISTING_COMMANDS: [&str; 7] = [
    "LIST",
    "LSUB",
    "XLIST",
    "STATUS",
    "NOTIFY",
    "GETMETADATA",
    "GETANNOTATION",
];

const SEQ_COMMANDS: [&str; 7] = ["FETCH", "STORE", "COPY", "MOVE", "SEARCH", "SORT", "THREAD"];

/// Commands during which a server must not send EXPUNGE (RFC 9051
/// section 7.5.1; RFC 5256 for SORT and THREAD). Any other may cause one.
const NO_EXPUNGE_COMMANDS: [&str; 5] = ["FETCH", "STORE", "SEARCH", "SORT", "THREAD"];

/// Bytes of streamed body that count as much progress as one complete
/// response (see [`Session::progress`]): 64 KiB.
pub const STREAM_PROGRESS: u64 = 64 << 10;

/// What a streamed typed command yields, in wire order (see
/// [`Session::poll_streamed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Streamed {
    /// A complete untagged response, raw, for the typed parser. A FETCH
    /// whose body streamed holds that body as an empty literal.
    Response(Bytes),
    /// A streamed body starts (see [`Session::stream_bodies`]).
    BodyStart {
        /// The message sequence number of its FETCH response.
        seq: u32,
        /// The item as the server named it, e.g. `BODY[]`.
        section: Bytes,
        /// Its size in bytes, as announced.
        size: u64,
    },
    /// The next piece of the body the last `BodyStart` announced.
    BodyData(Bytes),
}

/// What happens after the tagged response arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finish {
    /// Return `(typ, data)` as it is.
    Simple,
    /// imaplib's `_untagged_response(typ, dat, name)`.
    Untagged(String),
    /// CAPABILITY: untagged CAPABILITY; with `refresh`, the session's
    /// capabilities are replaced (imaplib's `_get_capabilities`).
    Capability { refresh: bool },
    /// SELECT/EXAMINE.
    Select { mailbox: String, readonly: bool },
    /// LOGIN and AUTHENTICATE: NO raises; state becomes AUTH.
    Login { decode_error: bool },
    /// CLOSE and UNSELECT: state becomes AUTH whatever happens.
    LeaveSelected,
    /// LOGOUT.
    Logout,
    /// GETQUOTAROOT: `[quotaroot, quota]`.
    QuotaRoot,
    /// ENABLE: switch to UTF-8 mode if `UTF8=ACCEPT` was enabled.
    Enable { utf8: bool },
    /// RECENT after the NOOP.
    Recent,
    /// STARTTLS (the driver switches the transport, then asks for
    /// capabilities again).
    StartTls,
    /// A typed command (see `typed.rs`).
    Typed(crate::typed::TypedKind),
}

/// A command that has been queued and awaits its tagged response.
#[derive(Debug)]
#[must_use = "a pending command must be polled and completed"]
pub struct Pending {
    id: u64,
    name: String,
    finish: Finish,
}

impl Pending {
    /// The command's name (e.g. `"FETCH"`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is LOGOUT (the driver shuts the transport down after it).
    pub fn is_logout(&self) -> bool {
        self.finish == Finish::Logout
    }

    pub(crate) fn finish(&self) -> &Finish {
        &self.finish
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether this is STARTTLS (the driver starts TLS after an OK).
    pub fn is_starttls(&self) -> bool {
        self.finish == Finish::StartTls
    }
}

/// How a method call begins.
#[derive(Debug)]
pub enum Begin {
    /// The result is known without talking to the server.
    Done(Response),
    /// A command was queued: write [`Session::take_output`], then
    /// [`Session::poll`] it and [`Session::complete`] it.
    Sent(Pending),
}

impl Begin {
    /// The pending command, if one was sent.
    pub fn pending(self) -> Option<Pending> {
        match self {
            Begin::Sent(p) => Some(p),
            Begin::Done(_) => None,
        }
    }
}

/// What [`Session::poll`] needs next.
#[derive(Debug)]
pub enum Poll {
    /// The command completed with this tagged result.
    Done(Tagged),
    /// More bytes from the server are needed.
    NeedInput,
    /// AUTHENTICATE: the server sent this (base64-decoded) challenge; answer
    /// with [`Session::answer_challenge`].
    Challenge(Vec<u8>),
}

#[derive(Debug)]
enum Out {
    Bytes(Bytes),
    /// Wait for a continuation request before sending more (a synchronizing
    /// literal follows).
    WaitContinuation,
    /// AUTHENTICATE exchange: each continuation request is answered by the
    /// caller until the command completes.
    Authenticate,
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    tag: Bytes,
    /// The stream position (bytes received) when the command's first
    /// bytes were handed out for writing; `None` while it waits to be sent.
    written_at: Option<u64>,
    /// The largest literal this command expects (see
    /// [`Session::set_literal_cap`]).
    literal_cap: Option<u64>,
    /// Body literals of at least this size stream (see
    /// [`Session::stream_bodies`]).
    stream_min: Option<u64>,
    /// It addresses messages by sequence number (see
    /// [`Session::held_back`]).
    uses_seq: bool,
    /// Its responses may include EXPUNGE.
    may_expunge: bool,
    /// A SEARCH or UID SEARCH: untagged SEARCH and ESEARCH answer it.
    searches: bool,
    /// AUTHENTICATE challenges answered so far.
    auth_steps: usize,
    /// FETCH responses answer this command (FETCH, STORE, UID …).
    fetches: bool,
    /// STATUS, LIST and METADATA responses answer this command (LIST,
    /// STATUS, NOTIFY, GETMETADATA …): they are not notifications.
    lists: bool,
    /// Its caller stopped waiting (see [`Session::abandon_in_flight`]).
    abandoned: bool,
    /// The untagged name whose data this command returns (imaplib's
    /// `_untagged_response(name)`), if any.
    collects: Option<String>,
    result: Option<Tagged>,
    /// The tagged response line as received.
    raw: Option<Bytes>,
    /// A typed command (its untagged data is captured raw).
    typed: bool,
    /// What was captured for it (see [`Session::capture_target`]).
    capture: Vec<Streamed>,
    /// Bytes in `capture`.
    captured_bytes: u64,
    /// The UIDs a typed UID command asked for: a FETCH response carrying
    /// one of them answers it, whatever else is in flight.
    uids: Option<crate::command::UidSet>,
    expect_bye: bool,
}

/// The client session. See the module documentation.
#[derive(Debug)]
pub struct Session {
    framer: Framer,
    out: VecDeque<(u64, Out)>,
    tag_prefix: Vec<u8>,
    tagnum: u64,
    next_id: u64,
    in_flight: Vec<InFlight>,
    untagged: UntaggedStore,
    pub(crate) state: State,
    capabilities: Vec<String>,
    /// Capabilities the server announced after `capabilities` was set (a
    /// `[CAPABILITY ...]` response code, as in LOGIN's OK, or an untagged
    /// CAPABILITY). imaplib's `capabilities` stays as it was; the typed
    /// API's checks use these.
    announced: Option<Vec<String>>,
    protocol_version: Option<String>,
    is_readonly: bool,
    utf8: bool,
    welcome: Option<Bytes>,
    continuation: Option<Bytes>,
    pending_challenge: Option<(u64, Vec<u8>)>,
    stray_continuation: Option<Bytes>,
    /// What typed commands that completed captured, until
    /// [`Session::complete_typed`] takes it (command id, capture).
    finished: Vec<(u64, Vec<Streamed>)>,
    /// Responses and bytes held in every capture (in flight and finished).
    capture_count: usize,
    capture_bytes: u64,
    /// The command and untagged name of the last response captured, when
    /// it is EXISTS or RECENT (a run of them is kept as its last).
    capture_tail: Option<(u64, String)>,
    /// Responses processed over the session's life.
    responses: u64,
    /// Bytes of streamed bodies received over the session's life.
    streamed_bytes: u64,
    /// Abandoned commands are being drained: their untagged data is
    /// dropped (see [`Session::abandon_in_flight`]).
    discarding: bool,
    /// The mailbox state and the event queue (see `live.rs`).
    pub(crate) live: crate::live::Live,
    /// The tagged line of the last completed typed command.
    pub(crate) last_tagged_raw: Option<Bytes>,
    extra_commands: Vec<(String, State)>,
    trace: Option<Vec<Trace>>,
    broken: Option<String>,
    /// The AUTHENTICATE exchange run by a SASL mechanism, if one is.
    pub(crate) sasl: Option<crate::auth::SaslRun>,
    /// COMPRESS=DEFLATE, once the server accepted it.
    deflate: Option<Box<Deflate>>,
    /// The COMPRESS command in flight: nothing else is written until its
    /// tagged reply.
    compress_id: Option<u64>,
    /// Commands written while compressed input was still pending: their
    /// stream position is known once the input received before them is
    /// inflated (compressed position, command id).
    marks: VecDeque<(u64, u64)>,
}

impl Session {
    /// A session in state LOGOUT (not yet greeted) using tags
    /// `<tag_prefix>0`, `<tag_prefix>1`, …
    pub fn new(limits: Limits, tag_prefix: &str) -> Self {
        Session {
            framer: Framer::new(limits),
            out: VecDeque::new(),
            tag_prefix: tag_prefix.as_bytes().to_vec(),
            tagnum: 0,
            next_id: 0,
            in_flight: Vec::new(),
            untagged: UntaggedStore::default(),
            state: State::Logout,
            capabilities: Vec::new(),
            announced: None,
            protocol_version: None,
            is_readonly: false,
            utf8: false,
            welcome: None,
            continuation: None,
            pending_challenge: None,
            stray_continuation: None,
            finished: Vec::new(),
            capture_count: 0,
            capture_bytes: 0,
            capture_tail: None,
            responses: 0,
            streamed_bytes: 0,
            discarding: false,
            live: crate::live::Live::default(),
            last_tagged_raw: None,
            extra_commands: Vec::new(),
            trace: None,
            broken: None,
            sasl: None,
            deflate: None,
            compress_id: None,
            marks: VecDeque::new(),
        }
    }

    // ----- accessors -------------------------------------------------------

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The capabilities the server announced last, upper-cased, in its
    /// order: those of the latest `[CAPABILITY ...]` response code or
    /// untagged CAPABILITY response (a LOGIN's OK carries one on most
    /// servers), else [`Session::capabilities`]. Unlike imaplib's
    /// `capabilities`, which only CAPABILITY at connect (and after
    /// STARTTLS) sets, these follow the server after login. The typed
    /// API checks extensions against these.
    pub fn current_capabilities(&self) -> &[String] {
        self.announced.as_deref().unwrap_or(&self.capabilities)
    }

    /// Whether [`Session::current_capabilities`] has `cap` (any case).
    pub fn supports(&self, cap: &str) -> bool {
        self.current_capabilities()
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cap))
    }

    /// The server's capabilities, upper-cased, in the server's order.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// Whether the server advertised `cap` (case-insensitive).
    pub fn has_capability(&self, cap: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cap))
    }

    /// `IMAP4REV1` or `IMAP4`, once known.
    pub fn protocol_version(&self) -> Option<&str> {
        self.protocol_version.as_deref()
    }

    /// The greeting line.
    pub fn welcome(&self) -> Option<&Bytes> {
        self.welcome.as_ref()
    }

    /// Whether the selected mailbox was opened read-only on request.
    pub fn is_readonly(&self) -> bool {
        self.is_readonly
    }

    /// Whether UTF-8 mode (`ENABLE UTF8=ACCEPT`) is on.
    pub fn utf8_enabled(&self) -> bool {
        self.utf8
    }

    /// The data of the last continuation request (`+ data`), if it had any.
    pub fn continuation_response(&self) -> Option<&Bytes> {
        self.continuation.as_ref()
    }

    /// The tag prefix.
    pub fn tag_prefix(&self) -> &[u8] {
        &self.tag_prefix
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.framer.limits()
    }

    /// Changes the limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.framer.set_limits(limits);
    }

    /// imaplib's `untagged_responses`: untagged data collected by name, in
    /// order of first arrival.
    pub fn untagged_responses(&self) -> &[(String, Vec<Data>)] {
        self.untagged.as_slice()
    }

    /// How many responses the session has processed: a driver that sees
    /// this change knows the server is making progress (it resets its
    /// response deadline).
    pub fn responses_received(&self) -> u64 {
        self.responses
    }

    /// Progress for the response timeout: complete responses, plus one
    /// for every [`STREAM_PROGRESS`] bytes of streamed body, so a body
    /// arriving at a usable rate keeps a command alive, and a server
    /// trickling one byte at a time does not.
    pub fn progress(&self) -> u64 {
        self.responses + self.streamed_bytes / STREAM_PROGRESS
    }

    /// Turns trace collection on or off (see [`Session::drain_trace`]).
    pub fn set_tracing(&mut self, on: bool) {
        if on != self.trace.is_some() {
            self.trace = if on { Some(Vec::new()) } else { None };
        }
    }

    /// Whether trace lines are being collected.
    pub fn is_tracing(&self) -> bool {
        self.trace.is_some()
    }

    /// Takes the trace lines collected since the last call.
    pub fn drain_trace(&mut self) -> Vec<Trace> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn trace(&mut self, t: impl FnOnce() -> Trace) {
        if let Some(v) = self.trace.as_mut() {
            v.push(t());
        }
    }

    /// Whether the connection failed; no further command can succeed.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    // ----- byte plumbing ----------------------------------------------------

    /// Feeds bytes received from the server (compressed ones once
    /// COMPRESS=DEFLATE is on: they are inflated as responses are read).
    pub fn receive(&mut self, data: &[u8]) {
        match self.deflate.as_mut() {
            Some(d) => d.receive(data),
            None => self.framer.feed(data),
        }
    }

    /// The receive buffer with room reserved for the next read, for a
    /// driver to read into directly instead of calling
    /// [`Session::receive`] (no copy): append the bytes read (tokio's
    /// `AsyncReadExt::read_buf` does, or see [`Session::read_into`]), then
    /// call [`Session::commit`]. Only append: the bytes already in it are
    /// the session's. Under COMPRESS=DEFLATE it is the compressed input.
    ///
    /// The room starts small ([`crate::frame::MIN_READ`]) and doubles with
    /// each read that fills it (up to [`crate::frame::MAX_READ`]); while
    /// IDLE waits with no response in progress the session gives the
    /// buffer back (see [`Session::release_buffers`]).
    pub fn read_buf(&mut self) -> &mut BytesMut {
        match self.deflate.as_mut() {
            Some(d) => d.read_buf(self.framer.read_size()),
            None => self.framer.read_buf(),
        }
    }

    /// Counts the bytes appended to [`Session::read_buf`] since it was
    /// handed out as received, and returns how many.
    pub fn commit(&mut self) -> usize {
        match self.deflate.as_mut() {
            Some(d) => {
                let n = d.commit();
                self.framer.note_read(n);
                n
            }
            None => self.framer.commit(),
        }
    }

    /// Reads once with `read` (a blocking `std::io::Read::read`, say)
    /// straight into the receive buffer and commits what it read (see
    /// [`Session::read_buf`]); the room handed to `read` is zeroed.
    pub fn read_into<E>(
        &mut self,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        if self.deflate.is_none() {
            return self.framer.read_into(read);
        }
        let want = self.framer.read_size();
        let buf = self.read_buf();
        let len = buf.len();
        buf.resize(len + want, 0);
        let r = read(&mut buf[len..]);
        let n = r.as_ref().map_or(0, |n| (*n).min(want));
        buf.truncate(len + n);
        self.commit();
        r.map(|_| n)
    }

    /// Gives the receive buffers back if no response is in progress, so
    /// that a connection waiting between responses holds none (the
    /// session does this itself while IDLE waits; when the last command
    /// in flight completes it gives back only a buffer that grew past
    /// [`crate::frame::KEEP_BETWEEN_COMMANDS`]). Returns whether they were
    /// released.
    pub fn release_buffers(&mut self) -> bool {
        self.commit();
        if let Some(d) = self.deflate.as_mut() {
            d.release();
        }
        self.framer.release()
    }

    /// Bytes the session holds allocated for input not yet processed (the
    /// framer's buffer and arena room; not the compressed input).
    pub fn input_allocated(&self) -> usize {
        self.framer.allocated()
    }

    /// The bytes received and not yet part of a processed response (after
    /// inflating, under COMPRESS=DEFLATE), without taking them.
    pub fn unprocessed(&self) -> &[u8] {
        self.framer.unprocessed()
    }

    /// Whether COMPRESS=DEFLATE is on.
    pub fn is_compressed(&self) -> bool {
        self.deflate.is_some()
    }

    /// The COMPRESS=DEFLATE codec, once compression is on (its counters
    /// tell how much went over the wire).
    pub fn compression(&self) -> Option<&Deflate> {
        self.deflate.as_deref()
    }

    /// Bytes to write as they are, outside any command (imaplib's `send()`
    /// hook): compressed once COMPRESS=DEFLATE is on.
    pub fn encode_raw(&mut self, data: &[u8]) -> Result<Bytes, SessionError> {
        match self.deflate.as_mut() {
            Some(d) => Ok(Bytes::from(d.compress(data)?)),
            None => Ok(Bytes::copy_from_slice(data)),
        }
    }

    /// The next complete response: from the framer, inflating compressed
    /// input one bounded chunk at a time while the framer needs more (so
    /// the framer's limits stop a decompression bomb early).
    fn next_item(&mut self) -> Result<Option<Item>, SessionError> {
        loop {
            if let Some(item) = self.framer.next_item()? {
                return Ok(Some(item));
            }
            let Some(d) = self.deflate.as_mut() else {
                return Ok(None);
            };
            let until = self.marks.front().map(|m| m.0);
            let chunk = d.inflate(until)?;
            if !chunk.is_empty() {
                self.framer.feed(chunk);
                continue;
            }
            // Nothing more before the next mark: the commands written at
            // this point of the compressed stream now have a position.
            let at = d.consumed();
            match self.marks.front() {
                Some(&(pos, _)) if pos <= at => {
                    let fed = self.framer.fed();
                    while let Some(&(pos, id)) = self.marks.front() {
                        if pos > at {
                            break;
                        }
                        self.marks.pop_front();
                        if let Some(f) = self.in_flight.iter_mut().find(|f| f.id == id) {
                            f.written_at.get_or_insert(fed);
                        }
                    }
                }
                _ => return Ok(None),
            }
        }
    }

    /// The stream position of a command handed out for writing now, or a
    /// mark to settle it once the input received before it is inflated.
    fn mark_written(&mut self, id: u64) {
        let Some(f) = self.in_flight.iter_mut().find(|f| f.id == id) else {
            return;
        };
        if f.written_at.is_some() {
            return;
        }
        match self.deflate.as_deref() {
            Some(d) if !d.is_drained() => {
                if !self.marks.iter().any(|m| m.1 == id) {
                    self.marks.push_back((d.received(), id));
                }
            }
            _ => f.written_at = Some(self.framer.fed()),
        }
    }

    /// Turns COMPRESS=DEFLATE on after the server's tagged OK: whatever
    /// was received after the OK is already compressed.
    fn start_compression(&mut self) {
        let rest = self.framer.take_buffered();
        let mut d = Box::new(Deflate::new());
        d.receive(&rest);
        self.deflate = Some(d);
    }

    /// Tells the session the server closed the connection.
    pub fn receive_eof(&mut self) -> SessionError {
        let e = if self.framer.buffered() > 0 && !self.framer.in_literal() {
            // imaplib reports a partial line at EOF as unterminated.
            let partial = self.framer.take_buffered();
            let shown = &partial[..partial.len().min(200)];
            SessionError::Closed(format!(
                "socket error: unterminated line: {}",
                python_repr(shown)
            ))
        } else {
            SessionError::Closed("socket error: EOF".into())
        };
        self.fail(&e);
        e
    }

    /// Marks the session broken after a transport error (I/O failure or
    /// timeout): any half-read response is discarded and every later
    /// command fails with an abort.
    pub fn fail_transport(&mut self, what: &str) {
        self.broken = Some(what.to_string());
        self.framer.take_buffered();
        if let Some(d) = self.deflate.as_mut() {
            d.clear_pending();
        }
        self.out.clear();
    }

    pub(crate) fn fail(&mut self, e: &SessionError) {
        // A connection-level failure breaks the session; `Abort(_)` is
        // imaplib's abort for conditions that leave it usable.
        if e.kind() == ErrorKind::Abort && !matches!(e, SessionError::Abort(_)) {
            // later commands report the cause, not the command it broke
            let cause = match e {
                SessionError::InCommand { source, .. } => source.to_string(),
                e => e.to_string(),
            };
            self.broken = Some(cause);
        }
    }

    /// Takes everything received but not yet processed (imaplib's
    /// `read()`/`readline()` hooks, and STARTTLS, which must see nothing
    /// here).
    ///
    /// With COMPRESS=DEFLATE on, compressed input is inflated into the
    /// result, up to [`Limits::max_response_len`] bytes (the rest stays
    /// pending); corrupt input breaks the session.
    pub fn take_unprocessed(&mut self) -> Bytes {
        let mut out = self.framer.take_buffered();
        let max = self.framer.limits().max_response_len;
        let mut failed = None;
        if let Some(d) = self.deflate.as_mut() {
            while (out.len() as u64) < max {
                match d.inflate(None) {
                    Ok([]) => break,
                    Ok(chunk) => out.extend_from_slice(chunk),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failed {
            self.fail_transport(&e.to_string());
        }
        out.freeze()
    }

    /// Gives back the unused end of what [`Session::take_unprocessed`]
    /// returned: it is read again before anything received later (it is
    /// already decompressed).
    pub fn put_back(&mut self, data: &[u8]) {
        let later = self.framer.take_buffered();
        self.framer.feed(data);
        self.framer.feed(&later);
    }

    /// Whether bytes are buffered that have not been processed.
    pub fn has_unprocessed(&self) -> bool {
        self.framer.buffered() > 0 || self.deflate.as_ref().is_some_and(|d| !d.is_drained())
    }

    /// The next bytes to write, if any may be written now.
    ///
    /// Once COMPRESS=DEFLATE is on, the bytes are compressed and end with a
    /// sync flush. While COMPRESS itself awaits its reply, nothing else is
    /// handed out.
    pub fn take_output(&mut self) -> Option<Bytes> {
        let mut first: Option<Bytes> = None;
        let mut joined: Option<Vec<u8>> = None;
        while let Some((id, Out::Bytes(_))) = self.out.front() {
            if self.compress_id.is_some_and(|c| c != *id) {
                break;
            }
            if self.held_back(*id) {
                break;
            }
            let Some((id, Out::Bytes(b))) = self.out.pop_front() else {
                break;
            };
            self.mark_written(id);
            match (&mut joined, &first) {
                (Some(j), _) => j.extend_from_slice(&b),
                (None, Some(f)) => {
                    let mut j = Vec::with_capacity(f.len() + b.len());
                    j.extend_from_slice(f);
                    j.extend_from_slice(&b);
                    joined = Some(j);
                }
                (None, None) => first = Some(b),
            }
        }
        let out = joined.map(Bytes::from).or(first)?;
        match self.deflate.as_mut() {
            None => Some(out),
            Some(d) => match d.compress(&out) {
                Ok(c) => Some(Bytes::from(c)),
                Err(e) => {
                    self.fail_transport(&e.to_string());
                    None
                }
            },
        }
    }

    /// Removes commands from the in-flight list, and what they captured.
    fn forget(&mut self, ids: &[u64]) {
        for &id in ids {
            self.take_capture_of(id);
        }
        self.in_flight.retain(|f| !ids.contains(&f.id));
    }

    /// RFC 9051 section 5.5: a command that uses message sequence
    /// numbers is not sent while an earlier command that may cause
    /// EXPUNGE (anything but FETCH, STORE, SEARCH, SORT and THREAD by
    /// sequence number; UID commands may too) is still in progress, for
    /// the numbers could mean other messages by the time the server reads
    /// them. It waits in the session, and every command after it waits
    /// too (answers are matched in order), until those complete.
    fn held_back(&self, id: u64) -> bool {
        let Some(idx) = self.in_flight.iter().position(|f| f.id == id) else {
            return false;
        };
        let f = &self.in_flight[idx];
        f.written_at.is_none()
            && f.uses_seq
            && self.in_flight[..idx]
                .iter()
                .any(|e| e.may_expunge && e.result.is_none())
    }

    // ----- commands ---------------------------------------------------------

    /// Whether a literal of `len` bytes goes without waiting for the
    /// server's go-ahead (`LITERAL+`, or `LITERAL-` up to 4096 bytes), so
    /// that commands carrying it pipeline without a round trip each.
    pub fn literal_non_sync(&self, len: usize) -> bool {
        self.literal_mode().non_sync(len)
    }

    pub(crate) fn literal_mode(&self) -> LiteralMode {
        LiteralMode {
            literal_plus: self.has_capability("LITERAL+"),
            literal_minus: self.has_capability("LITERAL-"),
            utf8: self.utf8,
        }
    }

    /// Checks imaplib's state table for `name`.
    pub(crate) fn check_state(&self, name: &str) -> Result<(), SessionError> {
        let allowed: Vec<State> = match COMMANDS.iter().find(|(n, _)| *n == name) {
            Some((_, states)) => states.to_vec(),
            None => match self.extra_commands.iter().find(|(n, _)| n == name) {
                Some((_, s)) => vec![*s],
                None => return Err(SessionError::Usage(format!("unknown command {name}"))),
            },
        };
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(SessionError::IllegalState {
                command: name.to_string(),
                state: self.state,
                allowed: allowed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    }

    /// Whether `name` is in imaplib's table (or was added by `xatom`).
    pub(crate) fn is_known_command(&self, name: &str) -> bool {
        COMMANDS.iter().any(|(n, _)| *n == name)
            || self.extra_commands.iter().any(|(n, _)| n == name)
    }

    /// Registers an extension command as allowed in the current state
    /// (imaplib's `xatom` does this for names it does not know).
    pub(crate) fn register_command(&mut self, name: &str) {
        if !self.is_known_command(name) {
            self.extra_commands.push((name.to_string(), self.state));
        }
    }

    /// imaplib's `_command`: checks, then encodes and queues a command.
    /// `build` adds the arguments.
    pub(crate) fn command(
        &mut self,
        name: &str,
        finish: Finish,
        authenticate: bool,
        build: impl FnOnce(&mut CommandBuilder) -> Result<(), EncodeError>,
    ) -> Result<Begin, SessionError> {
        // imaplib checks the state first: on a dead connection a command
        // illegal in the current state is still an `error`, not an `abort`
        self.check_state(name)?;
        if let Some(why) = &self.broken {
            return Err(SessionError::Closed(why.clone()));
        }
        for typ in ["OK", "NO", "BAD"] {
            self.remove_untagged(typ);
        }
        if self.contains_untagged("READ-ONLY") && !self.is_readonly {
            return Err(SessionError::ReadOnly(
                "mailbox status changed to READ-ONLY".into(),
            ));
        }
        Ok(Begin::Sent(self.send(name, finish, authenticate, build)?))
    }

    /// Encodes and queues a command without imaplib's checks; returns its
    /// handle. This is the pipelining entry point: any number of commands
    /// may be queued before polling.
    pub(crate) fn send(
        &mut self,
        name: &str,
        finish: Finish,
        authenticate: bool,
        build: impl FnOnce(&mut CommandBuilder) -> Result<(), EncodeError>,
    ) -> Result<Pending, SessionError> {
        let mut builder = CommandBuilder::new(&self.next_tag(), name, self.literal_mode())?;
        build(&mut builder)?;
        self.send_built(name, finish, authenticate, builder)
    }

    /// The tag the next command will get.
    pub(crate) fn next_tag(&self) -> Vec<u8> {
        let mut tag = self.tag_prefix.clone();
        tag.extend_from_slice(self.tagnum.to_string().as_bytes());
        tag
    }

    /// Makes `pending` the COMPRESS command: nothing else is written until
    /// its tagged reply, and an OK turns compression on.
    pub(crate) fn compress_sent(&mut self, pending: &Pending) {
        self.compress_id = Some(pending.id);
    }

    /// Whether any command is in flight.
    pub(crate) fn any_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Queues a command built (with [`Session::next_tag`]) by the caller.
    pub(crate) fn send_built(
        &mut self,
        name: &str,
        finish: Finish,
        authenticate: bool,
        builder: CommandBuilder,
    ) -> Result<Pending, SessionError> {
        let tag = self.next_tag();
        let (frags, trace) = builder.finish_traced();
        self.tagnum += 1;
        let id = self.next_id;
        self.next_id += 1;
        self.stray_continuation = None;
        self.trace(|| Trace::Sent(crate::sanitize(&trace).into_owned()));
        for frag in frags {
            match frag {
                Fragment::Line(l) => self.out.push_back((id, Out::Bytes(Bytes::from(l)))),
                Fragment::Literal { data, sync } => {
                    if sync {
                        self.out.push_back((id, Out::WaitContinuation));
                    }
                    self.out.push_back((id, Out::Bytes(data)));
                }
            }
        }
        if authenticate {
            self.out.push_back((id, Out::Authenticate));
        }
        self.in_flight.push(InFlight {
            id,
            tag: Bytes::from(tag),
            written_at: None,
            literal_cap: None,
            stream_min: None,
            uses_seq: SEQ_COMMANDS.contains(&name),
            may_expunge: !NO_EXPUNGE_COMMANDS.contains(&name),
            searches: name.ends_with("SEARCH"),
            auth_steps: 0,
            abandoned: false,
            collects: match &finish {
                Finish::Untagged(n) => Some(n.clone()),
                _ => None,
            },
            fetches: name.contains("FETCH")
                || name.contains("STORE")
                || name == "UID"
                || name == "PARTIAL",
            lists: LISTING_COMMANDS.contains(&name),
            result: None,
            raw: None,
            // imaplib expects BYE for any command named LOGOUT (xatom too).
            expect_bye: name == "LOGOUT",
            typed: matches!(finish, Finish::Typed(_)),
            capture: Vec::new(),
            captured_bytes: 0,
            uids: None,
        });
        self.update_literal_cap();
        Ok(Pending {
            id,
            name: name.to_string(),
            finish,
        })
    }

    /// Queues raw bytes for `pending` (IDLE's `DONE`).
    pub(crate) fn queue_raw(&mut self, pending: &Pending, bytes: Bytes) {
        self.out.push_back((pending.id, Out::Bytes(bytes)));
    }

    /// Answers the current AUTHENTICATE challenge: `Some(bytes)` is sent
    /// base64-encoded, `None` cancels the exchange (`*`).
    pub fn answer_challenge(&mut self, pending: &Pending, answer: Option<&[u8]>) {
        self.answer_challenge_for(pending.id, answer);
    }

    fn answer_challenge_for(&mut self, pending_id: u64, answer: Option<&[u8]>) {
        self.pending_challenge = None;
        let line = match answer {
            Some(a) => {
                let mut l = B64.encode(a).into_bytes();
                l.extend_from_slice(b"\r\n");
                l
            }
            None => b"*\r\n".to_vec(),
        };
        self.trace(|| Trace::Sent("<authenticate data redacted>".into()));
        // Insert before the Authenticate marker, which stays at the head.
        let pos = self
            .out
            .iter()
            .position(|(id, o)| matches!(o, Out::Authenticate) && *id == pending_id)
            .unwrap_or(0);
        self.out
            .insert(pos, (pending_id, Out::Bytes(Bytes::from(line))));
    }

    /// Gives up on every command in flight. A driver whose caller stopped
    /// waiting (an async future dropped at an await point) calls this and
    /// then [`Session::poll_abandoned`] until it returns `true`: the
    /// abandoned commands run to their end (an APPEND still sends its
    /// literal when the server asks; an AUTHENTICATE is cancelled with
    /// `*` at its next challenge) and what they yield is discarded, so the
    /// next command starts in step.
    pub fn abandon_in_flight(&mut self) {
        let mut collected = Vec::new();
        for f in &mut self.in_flight {
            f.abandoned = true;
            collected.extend(f.collects.take());
        }
        // What they gathered so far is theirs: nobody will take it now.
        for name in collected {
            self.untagged.take(&name);
        }
        self.discarding = self.has_abandoned();
    }

    /// Whether abandoned commands are still waiting for their end.
    pub fn has_abandoned(&self) -> bool {
        self.in_flight.iter().any(|f| f.abandoned)
    }

    /// Processes responses until every abandoned command has completed
    /// (`Ok(true)`) or more input is needed (`Ok(false)`; write
    /// [`Session::take_output`] first).
    pub fn poll_abandoned(&mut self) -> Result<bool, SessionError> {
        let r = self.poll_abandoned_inner();
        if let Err(e) = &r {
            self.fail(e);
        }
        r
    }

    fn poll_abandoned_inner(&mut self) -> Result<bool, SessionError> {
        if let Some(why) = &self.broken {
            return Err(SessionError::Closed(why.clone()));
        }
        loop {
            if let Some((id, _)) = self.pending_challenge {
                if self.in_flight.iter().any(|f| f.id == id && f.abandoned) {
                    self.answer_challenge_for(id, None);
                }
            }
            let done: Vec<u64> = self
                .in_flight
                .iter()
                .filter(|f| f.abandoned && f.result.is_some())
                .map(|f| f.id)
                .collect();
            if !done.is_empty() {
                self.forget(&done);
                self.out.retain(|(id, _)| !done.contains(id));
                self.update_literal_cap();
            }
            if !self.has_abandoned() {
                self.discarding = false;
                self.last_tagged_raw = None;
                return Ok(true);
            }
            self.check_bye()?;
            if !self.step()? {
                return Ok(false);
            }
        }
    }

    /// Processes the next response or streamed body piece; `false` if
    /// more input is needed.
    fn step(&mut self) -> Result<bool, SessionError> {
        match self.next_item()? {
            None => Ok(false),
            Some(Item::Frame(frame)) => self.process(frame).map(|()| true),
            Some(Item::BodyStart { seq, section, size }) => {
                self.stream_piece(Streamed::BodyStart { seq, section, size });
                Ok(true)
            }
            Some(Item::BodyData(data)) => {
                self.streamed_bytes += data.len() as u64;
                self.stream_piece(Streamed::BodyData(data));
                Ok(true)
            }
        }
    }

    /// A piece of a streamed body goes to the capture of the command
    /// streaming it (dropped while abandoned commands are drained).
    fn stream_piece(&mut self, piece: Streamed) {
        if self.discarding {
            return;
        }
        // body streaming is on only while streaming commands are in
        // flight: the oldest is the one receiving
        if let Some(f) = self
            .in_flight
            .iter_mut()
            .find(|f| f.typed && f.result.is_none())
        {
            f.capture.push(piece);
            self.capture_count += 1;
            self.capture_tail = None;
        }
    }

    // ----- receiving --------------------------------------------------------

    /// Processes buffered responses until `pending` completes, more input is
    /// needed, or an AUTHENTICATE challenge must be answered. Implements
    /// imaplib's `_get_tagged_response` (BYE aborts, LOGOUT returns BYE).
    pub fn poll(&mut self, pending: &Pending) -> Result<Poll, SessionError> {
        let r = self.poll_inner(pending);
        if let Err(e) = &r {
            self.fail(e);
            if self.compress_id == Some(pending.id) {
                self.compress_id = None;
            }
            self.forget(&[pending.id]);
            self.out.retain(|(id, _)| *id != pending.id);
        }
        if matches!(r, Ok(Poll::Done(_)) | Err(_)) {
            self.update_literal_cap();
            if self.in_flight.is_empty() {
                // Between commands: keep a buffer of the usual size for
                // the next command, not one a large response grew.
                self.framer.trim(crate::frame::KEEP_BETWEEN_COMMANDS);
            }
        }
        r
    }

    fn poll_inner(&mut self, pending: &Pending) -> Result<Poll, SessionError> {
        if let Some(why) = &self.broken {
            return Err(SessionError::Closed(why.clone()));
        }
        loop {
            if let Some((id, challenge)) = self.pending_challenge.take() {
                if id == pending.id {
                    return Ok(Poll::Challenge(challenge));
                }
                // Another command's challenge (a pipelined AUTHENTICATE):
                // keep it for that command.
                self.pending_challenge = Some((id, challenge));
            }
            let idx = self
                .in_flight
                .iter()
                .position(|f| f.id == pending.id)
                .ok_or_else(|| SessionError::Usage("command is not in flight".into()))?;
            if pending.finish == Finish::StartTls {
                if let Some(line) = self.stray_continuation.take() {
                    return Err(SessionError::UnexpectedResponse(line));
                }
            }
            if self.in_flight[idx].result.is_some() {
                let mut f = self.in_flight.remove(idx);
                self.last_tagged_raw = f.raw.take();
                if f.typed {
                    self.capture_bytes -= f.captured_bytes;
                    self.finished.push((f.id, std::mem::take(&mut f.capture)));
                }
                self.out.retain(|(id, _)| *id != f.id);
                return Ok(Poll::Done(f.result.unwrap_or_default()));
            }
            if self.in_flight[idx].expect_bye {
                if let Some(bye) = self.take_untagged("BYE") {
                    self.forget(&[pending.id]);
                    self.out.retain(|(id, _)| *id != pending.id);
                    return Ok(Poll::Done(("BYE".into(), bye)));
                }
            }
            self.check_bye()?;
            if !self.step()? {
                return Ok(Poll::NeedInput);
            }
        }
    }

    /// Reads the greeting (imaplib's `_connect` up to the CAPABILITY
    /// command). Returns `Ok(false)` if more input is needed.
    pub fn read_greeting(&mut self) -> Result<bool, SessionError> {
        // body streaming is never on before the greeting
        let Some(Item::Frame(frame)) = self.next_item()? else {
            return Ok(false);
        };
        let line = Bytes::copy_from_slice(frame.first_line());
        self.process(frame)?;
        self.welcome = Some(line.clone());
        if self.contains_untagged("PREAUTH") {
            self.state = State::Auth;
        } else if self.contains_untagged("OK") {
            self.state = State::NonAuth;
        } else {
            return Err(SessionError::Usage(python_repr(&line)));
        }
        Ok(true)
    }

    /// Takes the capabilities of the greeting's `[CAPABILITY ...]` response
    /// code as [`Session::capabilities`], as the CAPABILITY command imaplib
    /// sends after the greeting would have set them, and returns `true`;
    /// `false` (nothing changed) when the greeting carried none, or none
    /// naming IMAP4rev1 or IMAP4. Saves a round trip at connect; imaplib's
    /// exchange sends the command anyway.
    pub fn adopt_greeting_capabilities(&mut self) -> bool {
        let Some(caps) = self.announced.take() else {
            return false;
        };
        let version = ["IMAP4REV1", "IMAP4"]
            .iter()
            .find(|v| caps.iter().any(|c| c == *v))
            .map(|v| v.to_string());
        if version.is_none() {
            self.announced = Some(caps);
            return false;
        }
        self.capabilities = caps;
        self.protocol_version = version;
        true
    }

    /// Replaces the capabilities from a CAPABILITY response's data and
    /// settles the protocol version (imaplib's `_get_capabilities`).
    pub(crate) fn set_capabilities(&mut self, data: &[Data]) -> Result<(), SessionError> {
        let Some(Data::Line(last)) = data.last() else {
            return Err(SessionError::Usage(
                "no CAPABILITY response from server".into(),
            ));
        };
        let text = String::from_utf8_lossy(last).to_uppercase();
        self.capabilities = text.split_whitespace().map(str::to_string).collect();
        self.announced = None;
        self.protocol_version = ["IMAP4REV1", "IMAP4"]
            .iter()
            .find(|v| self.capabilities.iter().any(|c| c == *v))
            .map(|v| v.to_string());
        if self.protocol_version.is_none() {
            return Err(SessionError::Usage("server not IMAP4 compliant".into()));
        }
        Ok(())
    }

    /// Limits the literals of the command `pending` to `cap` bytes: while
    /// only such commands are in flight, a literal announced larger (a
    /// server answering a 1 MiB partial fetch with 150 MB) is refused
    /// before any of it is buffered.
    pub fn set_literal_cap(&mut self, pending: &Pending, cap: u64) {
        if let Some(f) = self.in_flight.iter_mut().find(|f| f.id == pending.id) {
            f.literal_cap = Some(cap);
        }
        self.update_literal_cap();
    }

    /// After the commands in flight changed: the framer's literal cap
    /// (the largest of the in-flight commands' caps, none if any of them
    /// has none), and whether FETCH responses are answers or unilateral.
    pub(crate) fn update_literal_cap(&mut self) {
        self.live.fetching = self.in_flight.iter().filter(|f| f.fetches).count();
        self.live.listing = self.in_flight.iter().filter(|f| f.lists).count();
        let mut cap: Option<u64> = None;
        for f in &self.in_flight {
            match f.literal_cap {
                None => {
                    cap = None;
                    break;
                }
                Some(c) => cap = Some(cap.map_or(c, |m: u64| m.max(c))),
            }
        }
        self.framer.set_literal_cap(cap);
        // bodies stream only while every command in flight asked for it
        let stream = self
            .in_flight
            .iter()
            .map(|f| f.stream_min)
            .try_fold(None, |acc: Option<u64>, m| {
                m.map(|m| Some(acc.map_or(m, |a| a.max(m))))
            })
            .flatten();
        self.framer.set_stream_bodies(stream);
    }

    /// Forgets everything learned before a STARTTLS handshake: capabilities
    /// and untagged data.
    pub(crate) fn forget_pre_tls(&mut self) {
        self.capabilities.clear();
        self.announced = None;
        self.untagged.clear();
        self.continuation = None;
    }

    fn check_bye(&self) -> Result<(), SessionError> {
        if let Some(v) = self.untagged.get("BYE") {
            if let Some(last) = v.last() {
                let text = match last {
                    Data::Line(b) => String::from_utf8_lossy(b).into_owned(),
                    other => format!("{other:?}"),
                };
                return Err(SessionError::Bye(text));
            }
        }
        Ok(())
    }

    /// imaplib's `_get_response` for one framed response.
    fn process(&mut self, frame: Frame) -> Result<(), SessionError> {
        self.responses += 1;
        let offset = frame.offset();
        let raw = frame.raw().clone();
        let parts = frame.into_parts();
        if self.trace.is_some() {
            let shown = parts
                .iter()
                .map(|p| match p {
                    Part::Line(l) => crate::sanitize_bytes(l),
                    Part::Literal(b) => format!("<{} bytes>", b.len()),
                })
                .collect::<Vec<_>>()
                .join("");
            self.trace(|| Trace::Received(shown));
        }
        let mut parts = parts.into_iter();
        let Some(Part::Line(line)) = parts.next() else {
            return Ok(());
        };

        if let Some((tag_len, typ_end)) = self.match_tagged(&line) {
            let tag = line.slice(..tag_len);
            let typ = String::from_utf8_lossy(&line[tag_len + 1..typ_end]).into_owned();
            let dat = line.slice((typ_end + 1).min(line.len())..);
            let Some(f) = self.in_flight.iter_mut().find(|f| f.tag == tag) else {
                return Err(SessionError::UnexpectedTagged(line));
            };
            // A reply that started arriving before its command went out
            // (piggy-backed on an earlier reply) was not sent in answer to
            // it: an attack, or a server out of step. Never match it.
            if f.written_at.is_none_or(|w| offset < w) {
                return Err(SessionError::EarlyTagged(line));
            }
            f.result = Some((typ.clone(), vec![Data::Line(dat.clone())]));
            f.raw = Some(raw.clone());
            let id = f.id;
            self.observe(&typ, &line, &raw)?;
            if self.compress_id == Some(id) {
                self.compress_id = None;
                if typ == "OK" {
                    self.start_compression();
                }
            }
            self.response_code(&typ, &dat);
            return Ok(());
        }

        let Some(shape) = match_untagged(&line) else {
            if line.first() == Some(&b'+') {
                let data = line.strip_prefix(b"+ ").map(|_| line.slice(2..));
                self.continuation = data.clone();
                return self.on_continuation(data.unwrap_or_default(), line);
            }
            return Err(SessionError::UnexpectedResponse(line));
        };
        let typ = shape.typ(&line);
        self.observe(typ, &line, &raw)?;
        if (self.live.idling || self.discarding) && typ != "BYE" {
            // During IDLE, data goes to the mailbox state and the events;
            // what abandoned commands yield is dropped.
            return Ok(());
        }
        if let Some(i) = self.capture_target(typ, &raw) {
            let len = raw.len() as u64;
            let f = &mut self.in_flight[i];
            // A run of EXISTS (or RECENT) responses means only its last:
            // keep that one, so a flood of them costs nothing.
            let counter = matches!(typ, "EXISTS" | "RECENT");
            let run = counter
                && self
                    .capture_tail
                    .as_ref()
                    .is_some_and(|(id, t)| *id == f.id && *t == typ);
            match f.capture.last_mut() {
                Some(Streamed::Response(last)) if run => {
                    let old = last.len() as u64;
                    *last = raw;
                    f.captured_bytes = f.captured_bytes - old + len;
                    self.capture_bytes = self.capture_bytes - old + len;
                }
                _ => {
                    f.capture.push(Streamed::Response(raw));
                    f.captured_bytes += len;
                    self.capture_bytes += len;
                    self.capture_count += 1;
                }
            }
            self.capture_tail = counter.then(|| (f.id, typ.to_owned()));
            self.check_collected()?;
            if !matches!(typ, "OK" | "NO" | "BAD" | "BYE" | "PREAUTH") {
                // Typed commands take their data from the capture; keeping
                // it in imaplib's store too would hold it forever.
                return Ok(());
            }
        }
        let mut dat = shape.data(&line);
        while let Some(Part::Literal(body)) = parts.next() {
            self.append_untagged(typ, Data::literal(dat, body));
            dat = match parts.next() {
                Some(Part::Line(l)) => l,
                _ => Bytes::new(),
            };
        }
        self.append_untagged(typ, Data::Line(dat.clone()));
        self.response_code(typ, &dat);
        self.check_collected()
    }

    /// The collection limits: what the store and a typed command's
    /// capture hold together.
    fn check_collected(&self) -> Result<(), SessionError> {
        let limits = self.framer.limits();
        let count = self.untagged.count() + self.capture_count;
        if count > limits.max_collected_responses {
            return Err(SessionError::LimitExceeded {
                limit: "max_collected_responses",
                value: limits.max_collected_responses as u64,
            });
        }
        if self.untagged.bytes() + self.capture_bytes > limits.max_collected_bytes {
            return Err(SessionError::LimitExceeded {
                limit: "max_collected_bytes",
                value: limits.max_collected_bytes,
            });
        }
        Ok(())
    }

    /// Takes the responses captured so far for the oldest typed command in
    /// flight (the rest keeps being captured; [`Session::poll_each`] takes
    /// those of the command it polls): a driver streaming a FETCH hands
    /// them out as they arrive, so memory holds one batch of reads, not
    /// the whole result.
    pub fn drain_captured(&mut self) -> Vec<Bytes> {
        self.drain_streamed()
            .into_iter()
            .filter_map(|s| match s {
                Streamed::Response(b) => Some(b),
                _ => None,
            })
            .collect()
    }

    /// [`Session::drain_captured`] with the pieces of streamed bodies
    /// (see [`Session::stream_bodies`]) in their place among the
    /// responses.
    pub fn drain_streamed(&mut self) -> Vec<Streamed> {
        let Some(f) = self.in_flight.iter_mut().find(|f| f.typed) else {
            return Vec::new();
        };
        let id = f.id;
        self.take_capture_of(id)
    }

    /// Takes what was captured for command `id` so far (in flight or
    /// finished), with the counts adjusted.
    fn take_capture_of(&mut self, id: u64) -> Vec<Streamed> {
        let taken = match self.in_flight.iter_mut().find(|f| f.id == id) {
            Some(f) => {
                self.capture_bytes -= f.captured_bytes;
                f.captured_bytes = 0;
                std::mem::take(&mut f.capture)
            }
            None => match self.finished.iter().position(|(i, _)| *i == id) {
                Some(k) => self.finished.remove(k).1,
                None => Vec::new(),
            },
        };
        self.capture_count -= taken.len();
        if self.capture_tail.as_ref().is_some_and(|(i, _)| *i == id) {
            self.capture_tail = None;
        }
        taken
    }

    /// Which in-flight typed command a captured response goes to: a
    /// FETCH carrying a UID goes to the oldest UID command whose set
    /// holds it (a server may run pipelined commands side by side and
    /// interleave their answers), a SEARCH or ESEARCH to the oldest
    /// SEARCH in flight, anything else to the oldest typed command still
    /// waiting for its tagged reply.
    fn capture_target(&self, typ: &str, raw: &[u8]) -> Option<usize> {
        let waiting = |f: &InFlight| f.typed && f.result.is_none();
        // With one command waiting, everything goes to it: no need to
        // look for a UID in every FETCH of a long listing.
        let mut all = self
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, f)| waiting(f));
        let oldest = all.next()?.0;
        if all.next().is_none() {
            return Some(oldest);
        }
        if matches!(typ, "SEARCH" | "ESEARCH") {
            if let Some(i) = self.in_flight.iter().position(|f| waiting(f) && f.searches) {
                return Some(i);
            }
        }
        if typ == "FETCH"
            && self
                .in_flight
                .iter()
                .any(|f| waiting(f) && f.uids.is_some())
        {
            if let Some(uid) = crate::parse::fetch_uid(raw, self.framer.limits().max_depth) {
                let owner = self
                    .in_flight
                    .iter()
                    .position(|f| waiting(f) && f.uids.as_ref().is_some_and(|u| u.contains(uid)));
                if owner.is_some() {
                    return owner;
                }
            }
        }
        Some(oldest)
    }

    /// Routes FETCH responses carrying these UIDs to `pending` (a typed
    /// UID FETCH or UID STORE), see [`Session::capture_target`].
    pub(crate) fn route_uids(&mut self, pending: &Pending, set: &crate::command::UidSet) {
        if let Some(f) = self.in_flight.iter_mut().find(|f| f.id == pending.id) {
            f.uids = Some(set.clone());
        }
    }

    /// [`Session::poll`] for a typed command whose bodies stream: what
    /// it captured so far, responses and body pieces in wire order, goes
    /// to `each`.
    pub fn poll_streamed(
        &mut self,
        pending: &Pending,
        each: &mut dyn FnMut(Streamed),
    ) -> Result<Poll, SessionError> {
        let polled = self.poll(pending);
        for piece in self.take_capture_of(pending.id) {
            each(piece);
        }
        polled
    }

    /// Streams the body literals of `pending` (a typed FETCH): while it
    /// and only such commands are in flight, each body item (`BODY[…]`,
    /// `BINARY[…]`, `RFC822…`) of at least `min` bytes is handed out in
    /// pieces as it arrives ([`Streamed::BodyStart`], then
    /// [`Streamed::BodyData`]) by [`Session::poll_streamed`], and appears
    /// empty in its FETCH response. Memory stays at about one read,
    /// whatever the body's size, in one command.
    pub fn stream_bodies(&mut self, pending: &Pending, min: u64) {
        if let Some(f) = self.in_flight.iter_mut().find(|f| f.id == pending.id) {
            f.stream_min = Some(min);
        }
        self.update_literal_cap();
    }

    /// [`Session::poll`] for a streamed typed command: what it captured
    /// so far goes to `each` (see [`Session::drain_captured`]).
    pub fn poll_each(
        &mut self,
        pending: &Pending,
        each: &mut dyn FnMut(Bytes),
    ) -> Result<Poll, SessionError> {
        let polled = self.poll(pending);
        for piece in self.take_capture_of(pending.id) {
            if let Streamed::Response(frame) = piece {
                each(frame);
            }
        }
        polled
    }

    /// Takes what a typed command captured.
    pub(crate) fn take_capture(&mut self, id: u64) -> Vec<Bytes> {
        self.take_capture_of(id)
            .into_iter()
            .filter_map(|s| match s {
                Streamed::Response(b) => Some(b),
                _ => None,
            })
            .collect()
    }

    fn on_continuation(&mut self, data: Bytes, line: Bytes) -> Result<(), SessionError> {
        match self.out.front() {
            Some((_, Out::WaitContinuation)) => {
                self.out.pop_front();
            }
            Some((id, Out::Authenticate)) => {
                let id = *id;
                let max = self.framer.limits().max_auth_steps;
                if let Some(f) = self.in_flight.iter_mut().find(|f| f.id == id) {
                    f.auth_steps += 1;
                    if f.auth_steps > max {
                        return Err(SessionError::LimitExceeded {
                            limit: "max_auth_steps",
                            value: max as u64,
                        });
                    }
                }
                match B64.decode(&data[..]) {
                    Ok(decoded) => self.pending_challenge = Some((id, decoded)),
                    Err(_) => {
                        // Not base64: cancel the exchange; the server's
                        // tagged BAD/NO then ends the command with an error.
                        self.sasl_malformed_challenge(id);
                        self.out
                            .push_front((id, Out::Bytes(Bytes::from_static(b"*\r\n"))));
                    }
                }
            }
            // A continuation nobody asked for is ignored, as imaplib does,
            // except in answer to STARTTLS (see `poll`); IDLE waits for it.
            _ => {
                self.stray_continuation = Some(line);
                self.live.idle_continued = true;
            }
        }
        Ok(())
    }

    /// Matches `<prefix><digits> <TYPE>[ <data>]`; returns the tag length
    /// and the end of the type.
    fn match_tagged(&self, line: &[u8]) -> Option<(usize, usize)> {
        let rest = line.strip_prefix(&self.tag_prefix[..])?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let tag_len = self.tag_prefix.len() + digits;
        if line.get(tag_len) != Some(&b' ') {
            return None;
        }
        let typ_len = line[tag_len + 1..]
            .iter()
            .take_while(|b| b.is_ascii_uppercase())
            .count();
        if typ_len == 0 {
            return None;
        }
        let typ_end = tag_len + 1 + typ_len;
        // imaplib requires a space after the type; a bare `TAG OK` is
        // accepted too (servers that omit the text).
        match line.get(typ_end) {
            None | Some(b' ') => Some((tag_len, typ_end)),
            _ => None,
        }
    }

    /// Records a bracketed response code of an OK/NO/BAD response.
    fn response_code(&mut self, typ: &str, dat: &Bytes) {
        if typ == "CAPABILITY" {
            self.announce_capabilities(dat);
            return;
        }
        if !matches!(typ, "OK" | "NO" | "BAD" | "PREAUTH") {
            return;
        }
        if let Some((code, data)) = match_response_code(dat) {
            if code == "CAPABILITY" {
                self.announce_capabilities(&data);
            }
            if typ != "PREAUTH" {
                self.append_untagged(&code, Data::Line(data));
            }
        }
    }

    /// Notes capabilities the server announced (see
    /// [`Session::current_capabilities`]).
    fn announce_capabilities(&mut self, data: &[u8]) {
        let caps: Vec<String> = String::from_utf8_lossy(data)
            .to_uppercase()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if caps.iter().any(|c| c.starts_with("IMAP4")) {
            self.announced = Some(caps);
        }
    }

    // ----- untagged store ---------------------------------------------------

    fn append_untagged(&mut self, typ: &str, dat: Data) {
        self.untagged.append(typ, dat);
    }

    pub(crate) fn contains_untagged(&self, name: &str) -> bool {
        self.untagged.contains(name)
    }

    pub(crate) fn get_untagged(&self, name: &str) -> Option<&Vec<Data>> {
        self.untagged.get(name)
    }

    pub(crate) fn take_untagged(&mut self, name: &str) -> Option<Vec<Data>> {
        self.untagged.take(name)
    }

    fn remove_untagged(&mut self, name: &str) {
        self.untagged.take(name);
    }

    pub(crate) fn clear_untagged(&mut self) {
        self.untagged.clear();
    }

    /// imaplib's `_untagged_response(typ, dat, name)`.
    pub(crate) fn untagged_response(
        &mut self,
        typ: String,
        dat: Vec<Data>,
        name: &str,
    ) -> Response {
        if typ == "NO" {
            return Response::new(typ, dat);
        }
        match self.take_untagged(name) {
            Some(data) => Response::new(typ, data),
            None => Response::new(typ, vec![Data::None]),
        }
    }

    pub(crate) fn set_state(&mut self, state: State) {
        self.state = state;
    }

    pub(crate) fn set_readonly(&mut self, ro: bool) {
        self.is_readonly = ro;
    }

    pub(crate) fn set_utf8(&mut self) {
        self.utf8 = true;
    }

    /// UTF-8 mode off (UNAUTHENTICATE: a new session on the connection).
    pub(crate) fn clear_utf8(&mut self) {
        self.utf8 = false;
    }

    /// imaplib's `_command_complete` plus the method's own finishing step.
    /// `outcome` is what polling gave (or the error that ended it).
    pub fn complete(
        &mut self,
        pending: Pending,
        outcome: Result<Tagged, SessionError>,
    ) -> Result<Response, SessionError> {
        if let (Finish::Typed(crate::typed::TypedKind::Authenticate), Ok((typ, data))) =
            (&pending.finish, &outcome)
        {
            // A SASL exchange completed through the imaplib path: still
            // never a success the mechanism did not confirm.
            self.sasl_verdict(pending.id, typ, data)?;
        }
        let Pending { name, finish, .. } = pending;
        if matches!(finish, Finish::LeaveSelected) {
            self.state = State::Auth;
        }
        let (typ, data) = match outcome {
            Ok(t) => t,
            Err(e) => {
                let wrapped = SessionError::InCommand {
                    command: name,
                    source: Box::new(e),
                };
                self.fail(&wrapped);
                return Err(wrapped);
            }
        };
        if name != "LOGOUT" {
            if let Err(e) = self.check_bye() {
                self.fail(&e);
                return Err(e);
            }
        }
        if typ == "BAD" {
            let text = match data.last() {
                Some(Data::Line(b)) => b.clone(),
                _ => Bytes::new(),
            };
            return Err(SessionError::Command {
                message: format!("{name} command error: {typ} {:?}", Data::List(data.clone())),
                status: typ,
                text,
            });
        }
        self.finish(finish, typ, data)
    }
}

/// Where the type of an untagged response line is, and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UntaggedShape {
    /// Length of `NUM` in `* NUM TYPE`, 0 for `* TYPE`.
    digits: usize,
    /// Length of `TYPE`.
    typ: usize,
}

impl UntaggedShape {
    /// Where `TYPE` starts.
    fn typ_start(self) -> usize {
        if self.digits == 0 {
            2
        } else {
            2 + self.digits + 1
        }
    }

    /// The type: upper-case letters and `-`, so always UTF-8.
    fn typ(self, line: &[u8]) -> &str {
        let start = self.typ_start();
        std::str::from_utf8(&line[start..start + self.typ]).unwrap_or_default()
    }

    /// imaplib's data: what follows the type, with `NUM ` in front for
    /// the second form. Built only when imaplib's store keeps it (a copy
    /// of the line for the second form).
    fn data(self, line: &Bytes) -> Bytes {
        let end = self.typ_start() + self.typ;
        let rest = if line.get(end) == Some(&b' ') {
            line.slice(end + 1..)
        } else {
            Bytes::new()
        };
        if self.digits == 0 {
            return rest;
        }
        let num = line.slice(2..2 + self.digits);
        if rest.is_empty() {
            return num;
        }
        let mut joined = Vec::with_capacity(self.digits + 1 + rest.len());
        joined.extend_from_slice(&num);
        joined.push(b' ');
        joined.extend_from_slice(&rest);
        Bytes::from(joined)
    }
}

/// Matches `* TYPE[ data]` or `* NUM TYPE[ data]`.
fn match_untagged(line: &[u8]) -> Option<UntaggedShape> {
    let rest = line.strip_prefix(b"* ")?;
    let type_len = |s: &[u8]| {
        s.iter()
            .take_while(|&&b| b.is_ascii_uppercase() || b == b'-')
            .count()
    };
    let n = type_len(rest);
    if n > 0 {
        return Some(UntaggedShape { digits: 0, typ: n });
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b' ') {
        return None;
    }
    let n = type_len(&rest[digits + 1..]);
    (n > 0).then_some(UntaggedShape { digits, typ: n })
}

/// imaplib's `Response_code`: `[TYPE]` or `[TYPE data]` at the start, the
/// data running to the last `]`.
fn match_response_code(dat: &Bytes) -> Option<(String, Bytes)> {
    let rest = dat.strip_prefix(b"[")?;
    let n = rest
        .iter()
        .take_while(|&&b| b.is_ascii_uppercase() || b == b'-')
        .count();
    if n == 0 {
        return None;
    }
    let code = String::from_utf8_lossy(&rest[..n]).into_owned();
    match rest.get(n) {
        Some(b']') => Some((code, Bytes::new())),
        Some(b' ') => {
            let data_start = 1 + n + 1;
            let close = dat[data_start..].iter().rposition(|&b| b == b']')?;
            Some((code, dat.slice(data_start..data_start + close)))
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
