//! The blocking client against hostile and broken servers.
//!
//! Most tests drive `Imap4` over an in-memory transport that serves a
//! scripted byte sequence (in chunks of a chosen size), records what the
//! client writes, and then reports EOF, a timeout, or an endless repetition
//! of one byte. Two tests use a real TCP socket to check read timeouts.
//!
//! The rule under test: bytes from the network never cause a panic,
//! unbounded memory, or a hang without a timeout; every limit is
//! configurable; the error kinds are imaplib's (`error`, `abort`,
//! `readonly`); and once a connection has aborted, it stays broken.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use imap4::{Config, Data, Error, ErrorKind, Imap4, Limits, Response, Transport};

// ---------------------------------------------------------------------------
// Allocation watch: the largest single allocation the process ever asked for.
// ---------------------------------------------------------------------------

struct Watch;

static LARGEST_ALLOC: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only records sizes.
unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOC.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOC.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOC.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static WATCH: Watch = Watch;

/// No test here needs anything near this much in one piece.
const HUGE_ALLOC: usize = 256 << 20;

// ---------------------------------------------------------------------------
// The scripted transport
// ---------------------------------------------------------------------------

/// What the transport does once the script is used up.
#[derive(Debug, Clone, Copy)]
enum End {
    /// `Ok(0)`: the server closed the connection.
    Eof,
    /// The read times out (as a socket with a read timeout would).
    TimedOut,
    /// The server sends this byte forever.
    Repeat(u8),
}

#[derive(Debug, Default)]
struct Log {
    written: Vec<u8>,
    served: usize,
}

struct Scripted {
    script: Vec<u8>,
    /// Commands written, and where the reply to the next one starts.
    held: Option<(usize, usize)>,
    pos: usize,
    chunk: usize,
    end: End,
    log: Arc<Mutex<Log>>,
}

/// Positions in `b` where a line starts with `T<digits> ` (a tagged line).
fn tagged_line_starts(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..b.len()).filter(move |&i| {
        (i == 0 || b[i - 1] == b'\n') && b[i] == b'T' && {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            digits > 0 && b.get(i + 1 + digits) == Some(&b' ')
        }
    })
}

impl Scripted {
    /// Where the script may be served up to now. Like a real server, the
    /// script answers a command only once the client has written it: with
    /// `w` commands written, it serves up to the start of its `w+1`-th
    /// tagged line. (The client refuses a reply that arrives before its
    /// command was written.)
    fn servable(&mut self) -> usize {
        let written = tagged_line_starts(&self.log.lock().unwrap().written).count();
        match self.held {
            Some((w, at)) if w == written => at,
            _ => {
                let at = tagged_line_starts(&self.script)
                    .nth(written)
                    .unwrap_or(self.script.len());
                self.held = Some((written, at));
                at
            }
        }
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.chunk);
        let servable = self.servable();
        if self.pos < self.script.len() && self.pos >= servable {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "scripted: the reply waits for a command the client has not written",
            ));
        }
        let n = if self.pos < self.script.len() {
            let n = want.min(servable - self.pos);
            buf[..n].copy_from_slice(&self.script[self.pos..self.pos + n]);
            self.pos += n;
            n
        } else {
            match self.end {
                End::Eof => 0,
                End::TimedOut => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "scripted timeout"))
                }
                End::Repeat(b) => {
                    buf[..want].fill(b);
                    want
                }
            }
        };
        self.log.lock().unwrap().served += n;
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.log.lock().unwrap().written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Scripted {}

/// A client over a scripted transport, and the transport's log.
fn open(
    script: &[u8],
    chunk: usize,
    end: End,
    config: Config,
) -> (Result<Imap4, Error>, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let t = Scripted {
        script: script.to_vec(),
        held: None,
        pos: 0,
        chunk: chunk.max(1),
        end,
        log: log.clone(),
    };
    let m = Imap4::with_transport_and_tag_prefix(Box::new(t), config, "T");
    (m, log)
}

fn written(log: &Arc<Mutex<Log>>) -> Vec<u8> {
    log.lock().unwrap().written.clone()
}

fn served(log: &Arc<Mutex<Log>>) -> usize {
    log.lock().unwrap().served
}

/// Runs `f` on its own thread; a panic is passed on, and not finishing in
/// `limit` is a failure (a hang) instead of a stuck test run.
fn with_deadline<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("hang: the client did not finish within {limit:?}"),
    }
}

const DEADLINE: Duration = Duration::from_secs(60);

#[track_caller]
fn assert_kind(e: &Error, kind: ErrorKind) {
    assert_eq!(e.kind(), kind, "wrong kind for error: {e}");
}

#[track_caller]
fn assert_abort(r: Result<Response, Error>, needle: &str) -> Error {
    let e = r.expect_err("expected an abort");
    assert_kind(&e, ErrorKind::Abort);
    assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    e
}

/// After an abort, every command fails with an abort at once: nothing is
/// sent and no (stale) byte is read.
#[track_caller]
fn assert_broken(m: &mut Imap4, log: &Arc<Mutex<Log>>) {
    let (w, s) = (written(log).len(), served(log));
    let e = m.noop().expect_err("a broken connection must refuse NOOP");
    assert_kind(&e, ErrorKind::Abort);
    // (a command illegal in the state is imaplib's `error` first, also on a
    // dead connection: LIST is legal in AUTH and SELECTED)
    let e = m.list("\"\"", "*").expect_err("… and LIST");
    assert_kind(&e, ErrorKind::Abort);
    assert_eq!(written(log).len(), w, "a broken connection sent a command");
    assert_eq!(served(log), s, "a broken connection read more data");
}

// ---------------------------------------------------------------------------
// The valid exchange
// ---------------------------------------------------------------------------

const GREETING: &[u8] = b"* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n";
const CAPS: &[u8] = b"* CAPABILITY IMAP4rev1\r\nT0 OK CAPABILITY completed\r\n";
const SELECTED: &[u8] = b"* 1 EXISTS\r\nT1 OK [READ-WRITE] SELECT completed\r\n";
const FETCH_REPLY: &[u8] = b"* 1 FETCH (BODY[] {5}\r\nhello)\r\nT2 OK FETCH completed\r\n";
const SENT: &[u8] = b"T0 CAPABILITY\r\nT1 SELECT INBOX\r\nT2 FETCH 1 (BODY[])\r\n";

fn fetch_result() -> Response {
    Response::new(
        "OK",
        vec![
            Data::literal(
                Bytes::from_static(b"1 (BODY[] {5}"),
                Bytes::from_static(b"hello"),
            ),
            Data::Line(Bytes::from_static(b")")),
        ],
    )
}

fn script(rest: &[u8]) -> Vec<u8> {
    [GREETING, CAPS, SELECTED, rest].concat()
}

/// Connects and selects INBOX over the script `GREETING CAPS SELECTED rest`.
fn selected(rest: &[u8], chunk: usize, end: End, config: Config) -> (Imap4, Arc<Mutex<Log>>) {
    let (m, log) = open(&script(rest), chunk, end, config);
    let mut m = m.expect("connect");
    let r = m.select("INBOX", false).expect("select");
    assert_eq!(r.typ, "OK");
    (m, log)
}

fn limits(line: usize, literal: u64, depth: usize) -> Config {
    Config {
        limits: Limits {
            max_line_len: line,
            max_literal_len: literal,
            // These tests are about the three limits above.
            max_response_len: u64::MAX,
            max_depth: depth,
            ..Limits::default()
        },
        ..Config::default()
    }
}

#[test]
fn valid_exchange() {
    for chunk in [usize::MAX, 1, 5] {
        let (mut m, log) = selected(FETCH_REPLY, chunk, End::Eof, Config::default());
        assert_eq!(m.fetch("1", "(BODY[])").unwrap(), fetch_result());
        assert_eq!(written(&log), SENT);
    }
}

#[test]
fn truncated_at_every_offset() {
    with_deadline(DEADLINE, || {
        let full = script(FETCH_REPLY);
        let connected = GREETING.len() + CAPS.len();
        let selected_at = connected + SELECTED.len();
        for chunk in [usize::MAX, 1, 5] {
            for cut in 0..=full.len() {
                let what = format!("cut at {cut} (chunk {chunk})");
                let (m, log) = open(&full[..cut], chunk, End::Eof, Config::default());
                let mut m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        assert!(cut < connected, "{what}: connect failed: {e}");
                        assert_kind(&e, ErrorKind::Abort);
                        let msg = e.to_string();
                        assert!(
                            msg.contains("EOF") || msg.contains("unterminated line"),
                            "{what}: {e}"
                        );
                        continue;
                    }
                };
                assert!(cut >= connected, "{what}: connected on a truncated reply");
                match m.select("INBOX", false) {
                    Ok(_) => assert!(cut >= selected_at, "{what}: selected on a truncated reply"),
                    Err(e) => {
                        assert!(cut < selected_at, "{what}: {e}");
                        assert_kind(&e, ErrorKind::Abort);
                        assert_broken(&mut m, &log);
                        continue;
                    }
                }
                match m.fetch("1", "(BODY[])") {
                    Ok(r) => {
                        assert_eq!(cut, full.len(), "{what}: fetched from a truncated reply");
                        assert_eq!(r, fetch_result());
                    }
                    Err(e) => {
                        assert!(cut < full.len(), "{what}: {e}");
                        assert_kind(&e, ErrorKind::Abort);
                        let msg = e.to_string();
                        assert!(
                            msg.contains("EOF") || msg.contains("unterminated line"),
                            "{what}: {e}"
                        );
                        assert!(e.to_string().starts_with("command: FETCH"), "{what}: {e}");
                        assert_broken(&mut m, &log);
                    }
                }
            }
        }
    });
}

#[test]
fn garbled_byte_at_every_offset() {
    let failures = with_deadline(DEADLINE, || {
        let garbage: &[u8] = b"\0\n\r{}()\"\\*+ X9~\xff";
        let body = FETCH_REPLY.windows(5).position(|w| w == b"hello").unwrap();
        let mut failures = Vec::new();
        for offset in 0..FETCH_REPLY.len() {
            for &g in garbage {
                if FETCH_REPLY[offset] == g {
                    continue;
                }
                let mut reply = FETCH_REPLY.to_vec();
                reply[offset] = g;
                for chunk in [usize::MAX, 3] {
                    let what = format!(
                        "byte {offset} set to {g:#04x} (chunk {chunk}): \"{}\"",
                        String::from_utf8_lossy(&reply).escape_debug()
                    );
                    let reply = reply.clone();
                    let outcome = catch_unwind(AssertUnwindSafe(move || {
                        let (mut m, log) = selected(&reply, chunk, End::Eof, Config::default());
                        match m.fetch("1", "(BODY[])") {
                            Ok(r) => {
                                if (body..body + 5).contains(&offset) {
                                    // Literal data is opaque: the garbled
                                    // byte comes back as it is.
                                    let mut want = b"hello".to_vec();
                                    want[offset - body] = g;
                                    assert!(
                                        matches!(r.data[0].as_literal(), Some(l) if l.body[..] == want[..]),
                                        "{r:?}"
                                    );
                                }
                                Ok(())
                            }
                            Err(e) => {
                                if e.kind() == ErrorKind::Abort {
                                    assert_broken(&mut m, &log);
                                    Ok(())
                                } else if e.kind() == ErrorKind::Error {
                                    Ok(())
                                } else {
                                    Err(format!("unexpected kind: {e:?}"))
                                }
                            }
                        }
                    }));
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(msg)) => failures.push(format!("{what}: {msg}")),
                        Err(_) => failures.push(format!("{what}: panicked")),
                    }
                }
            }
        }
        failures
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Line length
// ---------------------------------------------------------------------------

#[test]
fn line_longer_than_max_line_len_aborts() {
    with_deadline(DEADLINE, || {
        // Exactly at the limit is fine.
        let mut at = b"* 1 FETCH (UID ".to_vec();
        at.resize(63, b'7');
        at.push(b')');
        assert_eq!(at.len(), 64);
        at.extend_from_slice(b"\r\nT2 OK done\r\n");
        let (mut m, _) = selected(&at, 7, End::Eof, limits(64, 1 << 20, 64));
        assert!(m.fetch("1", "(UID)").unwrap().is_ok());

        // One byte more is an abort.
        let mut over = b"* 1 FETCH (UID ".to_vec();
        over.resize(64, b'7');
        over.push(b')');
        over.extend_from_slice(b"\r\nT2 OK done\r\n");
        let (mut m, log) = selected(&over, 7, End::Eof, limits(64, 1 << 20, 64));
        assert_abort(m.fetch("1", "(UID)"), "longer than 64 bytes");
        assert_broken(&mut m, &log);
    });
}

#[test]
fn endless_line_is_cut_off_at_the_limit() {
    with_deadline(DEADLINE, || {
        // Small limit, server sending one line forever.
        let (mut m, log) = selected(b"* 1 FETCH (", 4096, End::Repeat(b'a'), limits(100, 10, 8));
        let before = served(&log);
        assert_abort(m.fetch("1", "(UID)"), "longer than 100 bytes");
        assert!(
            served(&log) - before <= 2 * 4096,
            "read {} bytes",
            served(&log) - before
        );
        assert_broken(&mut m, &log);

        // Default limit (1 MiB).
        let (mut m, log) = selected(
            b"* 1 FETCH (",
            usize::MAX,
            End::Repeat(b'a'),
            Config::default(),
        );
        let before = served(&log);
        assert_abort(m.fetch("1", "(UID)"), "longer than 1048576 bytes");
        let read = served(&log) - before;
        assert!(read <= (1 << 20) + (128 << 10), "read {read} bytes");
        assert_broken(&mut m, &log);
    });
}

#[test]
fn greeting_longer_than_max_line_len_fails_connect() {
    let (m, _) = open(GREETING, 5, End::Eof, limits(16, 10, 8));
    let e = m.expect_err("the greeting is longer than 16 bytes");
    assert_kind(&e, ErrorKind::Abort);
    assert!(e.to_string().contains("longer than 16"), "{e}");
    // And an endless greeting line under the default limits.
    let (m, log) = open(b"* OK ", usize::MAX, End::Repeat(b'x'), Config::default());
    assert_kind(&m.expect_err("endless greeting"), ErrorKind::Abort);
    assert!(served(&log) <= (1 << 20) + (128 << 10));
}

#[test]
fn limits_can_be_changed_on_a_live_connection() {
    let mut over = b"* 1 FETCH (UID ".to_vec();
    over.resize(64, b'7');
    over.extend_from_slice(b")\r\nT2 OK done\r\n");
    let (mut m, log) = selected(&over, 7, End::Eof, Config::default());
    m.set_limits(Limits {
        max_line_len: 32,
        ..Limits::default()
    });
    assert_eq!(m.limits().max_line_len, 32);
    assert_abort(m.fetch("1", "(UID)"), "longer than 32 bytes");
    assert_broken(&mut m, &log);
}

// ---------------------------------------------------------------------------
// Literal size
// ---------------------------------------------------------------------------

#[test]
fn literal_of_4_gib_is_refused_at_once() {
    with_deadline(DEADLINE, || {
        let start = Instant::now();
        // The server announces 4 GiB and then really sends it.
        let (mut m, log) = selected(
            b"* 1 FETCH (BODY[] {4294967295}\r\n",
            usize::MAX,
            End::Repeat(b'x'),
            Config::default(),
        );
        let before = served(&log);
        let e = assert_abort(m.fetch("1", "(BODY[])"), "4294967295");
        assert!(e.to_string().contains("above the limit"), "{e}");
        assert!(
            served(&log) - before <= 64 << 10,
            "read on after the refusal"
        );
        assert_broken(&mut m, &log);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(LARGEST_ALLOC.load(Ordering::Relaxed) < HUGE_ALLOC);
    });
}

#[test]
fn literal_of_4_gib_allowed_then_eof_aborts_without_allocating() {
    with_deadline(DEADLINE, || {
        let start = Instant::now();
        let (mut m, log) = selected(
            b"* 1 FETCH (BODY[] {4294967295}\r\nabc",
            3,
            End::Eof,
            limits(1 << 20, u64::MAX, 64),
        );
        assert_abort(m.fetch("1", "(BODY[])"), "EOF");
        assert_broken(&mut m, &log);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        let largest = LARGEST_ALLOC.load(Ordering::Relaxed);
        assert!(largest < HUGE_ALLOC, "an allocation of {largest} bytes");
    });
}

#[test]
fn max_literal_len_is_enforced() {
    let (mut m, _) = selected(
        b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\nT2 OK done\r\n",
        4,
        End::Eof,
        limits(1 << 20, 10, 64),
    );
    let r = m.fetch("1", "(BODY[])").unwrap();
    assert!(matches!(r.data[0].as_literal(), Some(l) if l.body.len() == 10));
    let (mut m, log) = selected(
        b"* 1 FETCH (BODY[] {11}\r\n",
        4,
        End::Repeat(b'x'),
        limits(1 << 20, 10, 64),
    );
    assert_abort(m.fetch("1", "(BODY[])"), "above the limit of 10");
    assert_broken(&mut m, &log);
}

// ---------------------------------------------------------------------------
// Nesting depth
// ---------------------------------------------------------------------------

fn deep_fetch(parens: usize) -> Vec<u8> {
    let mut v = b"* 1 FETCH ".to_vec();
    v.resize(v.len() + parens, b'(');
    v.extend_from_slice(b"\r\nT2 OK done\r\n");
    v
}

#[test]
fn a_million_open_parens_abort_cleanly() {
    with_deadline(DEADLINE, || {
        let (mut m, log) = selected(
            &deep_fetch(1_000_000),
            usize::MAX,
            End::Eof,
            Config::default(),
        );
        let e = assert_abort(m.fetch("1", "(UID)"), "nested deeper than 64");
        assert!(e.to_string().starts_with("command: FETCH"), "{e}");
        assert_broken(&mut m, &log);
    });
}

#[test]
fn a_million_open_parens_accepted_with_raised_limits() {
    with_deadline(DEADLINE, || {
        let (mut m, _) = selected(
            &deep_fetch(1_000_000),
            usize::MAX,
            End::Eof,
            limits(2 << 20, 256 << 20, 2_000_000),
        );
        let r = m.fetch("1", "(UID)").expect("accepted as data");
        assert_eq!(r.typ, "OK");
        let line = r.data[0].as_line().expect("one line");
        assert_eq!(line.len(), 2 + 1_000_000);
        assert!(line.starts_with(b"1 (("));
    });
}

#[test]
fn max_depth_is_enforced() {
    let (mut m, _) = selected(
        b"* 1 FETCH (X ((\"(((\" 1)))\r\nT2 OK done\r\n",
        4,
        End::Eof,
        limits(1 << 20, 10, 3),
    );
    assert!(
        m.fetch("1", "(X)").unwrap().is_ok(),
        "parens in quotes don't count"
    );
    let (mut m, log) = selected(
        b"* 1 FETCH (X (((1))))\r\nT2 OK done\r\n",
        4,
        End::Eof,
        limits(1 << 20, 10, 3),
    );
    assert_abort(m.fetch("1", "(X)"), "nested deeper than 3");
    assert_broken(&mut m, &log);
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

#[test]
fn tagged_reply_with_an_unknown_tag_aborts() {
    for (reply, needle) in [
        (&b"X2 OK done\r\n"[..], "unexpected response"),
        (b"T2x OK done\r\n", "unexpected response"),
        (b"T02 OK done\r\n", "unexpected tagged response"),
        (b"T99 OK done\r\n", "unexpected tagged response"),
    ] {
        let (mut m, log) = selected(reply, 4, End::Eof, Config::default());
        assert_abort(m.noop(), needle);
        assert_broken(&mut m, &log);
    }
}

#[test]
fn tagged_reply_for_a_tag_not_yet_sent_aborts() {
    // During FETCH (T2), the reply for T3.
    let (mut m, log) = selected(
        b"T3 OK done\r\nT2 OK done\r\n",
        4,
        End::Eof,
        Config::default(),
    );
    assert_abort(
        m.fetch("1", "(UID)"),
        "unexpected tagged response: b'T3 OK done'",
    );
    assert_broken(&mut m, &log);
    // During the CAPABILITY of connect (T0), the reply for T1.
    let (m, _) = open(
        &[GREETING, b"T1 OK done\r\nT0 OK done\r\n"].concat(),
        4,
        End::Eof,
        Config::default(),
    );
    let e = m.expect_err("reply for an unsent tag");
    assert_kind(&e, ErrorKind::Abort);
    assert!(e.to_string().contains("unexpected tagged response"), "{e}");
}

#[test]
fn tagged_reply_for_a_completed_tag_aborts() {
    let (mut m, log) = selected(
        b"T1 OK again\r\nT2 OK done\r\n",
        4,
        End::Eof,
        Config::default(),
    );
    assert_abort(m.fetch("1", "(UID)"), "unexpected tagged response");
    assert_broken(&mut m, &log);
}

// ---------------------------------------------------------------------------
// BYE
// ---------------------------------------------------------------------------

#[test]
fn untagged_bye_mid_command_aborts_with_its_text() {
    // Served one byte at a time, so the stale reply after the BYE is still
    // unread when the client gives up: it must stay unread.
    let (mut m, log) = selected(
        b"* 1 FETCH (FLAGS ())\r\n* BYE server shutting down\r\nT2 OK done\r\n",
        1,
        End::Eof,
        Config::default(),
    );
    let e = assert_abort(m.fetch("1", "(FLAGS)"), "server shutting down");
    assert!(e.to_string().starts_with("command: FETCH"), "{e}");
    assert_broken(&mut m, &log);
}

#[test]
fn greeting_bye_is_an_error() {
    let (m, log) = open(b"* BYE go away\r\n", 4, End::Eof, Config::default());
    let e = m.expect_err("BYE greeting");
    assert_kind(&e, ErrorKind::Error);
    assert!(e.to_string().contains("go away"), "{e}");
    assert!(
        written(&log).is_empty(),
        "nothing is sent after a BYE greeting"
    );
}

// ---------------------------------------------------------------------------
// READ-ONLY (imaplib's `readonly`)
// ---------------------------------------------------------------------------

#[test]
fn select_answered_read_only_is_a_readonly_error() {
    let (m, log) = open(
        &[GREETING, CAPS, b"* 1 EXISTS\r\nT1 OK [READ-ONLY] done\r\n"].concat(),
        4,
        End::Eof,
        Config::default(),
    );
    let mut m = m.expect("connect");
    let e = m
        .select("INBOX", false)
        .expect_err("asked read-write, got read-only");
    assert_kind(&e, ErrorKind::ReadOnly);
    assert!(e.is_abort(), "readonly is a kind of abort");
    assert!(e.to_string().contains("INBOX is not writable"), "{e}");
    // Every later command raises readonly too, without sending anything.
    let w = written(&log).len();
    assert_kind(&m.noop().expect_err("still read-only"), ErrorKind::ReadOnly);
    assert_eq!(written(&log).len(), w);
}

#[test]
fn mailbox_turning_read_only_mid_session_is_a_readonly_error() {
    let (mut m, log) = selected(
        b"* OK [READ-ONLY] now read-only\r\nT2 OK done\r\nT3 OK done\r\n",
        4,
        End::Eof,
        Config::default(),
    );
    assert!(m.noop().expect("the NOOP itself succeeds").is_ok());
    let w = written(&log).len();
    let e = m.fetch("1", "(UID)").expect_err("mailbox became read-only");
    assert_kind(&e, ErrorKind::ReadOnly);
    assert!(e.to_string().contains("READ-ONLY"), "{e}");
    assert_eq!(written(&log).len(), w, "the command was not sent");
}

// ---------------------------------------------------------------------------
// Greeting garbage, empty lines, NUL, stray continuations
// ---------------------------------------------------------------------------

#[test]
fn greeting_garbage() {
    for (greeting, kind) in [
        (&b"garbage\r\n"[..], ErrorKind::Abort),
        (b"\xff\x00\x01junk\r\n", ErrorKind::Abort),
        (b"\r\n", ErrorKind::Abort),
        (b"\n", ErrorKind::Abort),
        (b"T0 OK early\r\n", ErrorKind::Abort),
        (b"* FOO bar\r\n", ErrorKind::Error),
        (b"+ hello\r\n", ErrorKind::Error),
        // imaplib only knows upper-case response types.
        (b"* ok lowercase\r\n", ErrorKind::Abort),
        (b"no line end", ErrorKind::Abort),
        (b"", ErrorKind::Abort),
        (b"* 1 FETCH (BODY[] {5}\r\nhel", ErrorKind::Abort),
    ] {
        for chunk in [usize::MAX, 1] {
            let (m, _) = open(greeting, chunk, End::Eof, Config::default());
            let e = m.expect_err("garbage greeting");
            let shown = String::from_utf8_lossy(greeting);
            assert_eq!(e.kind(), kind, "{:?}: {e}", shown);
        }
    }
}

#[test]
fn empty_lines_abort_like_imaplib() {
    // imaplib raises abort("unexpected response: b''") for an empty line.
    for blank in [&b"\r\n"[..], b"\n"] {
        let reply = [b"* 1 FETCH (UID 1)\r\n", blank, b"T2 OK done\r\n"].concat();
        let (mut m, log) = selected(&reply, 4, End::Eof, Config::default());
        assert_abort(m.fetch("1", "(UID)"), "unexpected response: b''");
        assert_broken(&mut m, &log);
    }
}

#[test]
fn nul_bytes_in_responses_are_data() {
    let (m, _) = open(
        &[b"* PREAUTH hi\0there\r\n", CAPS].concat(),
        4,
        End::Eof,
        Config::default(),
    );
    let m = m.expect("NUL in the greeting text is harmless");
    assert_eq!(m.welcome(), b"* PREAUTH hi\0there");

    let (mut m, _) = selected(
        b"* 1 FETCH (BODY[] {3}\r\na\0b FLAGS (\\Seen))\r\n* 1 FETCH (X \"\0\")\r\nT2 OK \0done\r\n",
        5,
        End::Eof,
        Config::default(),
    );
    let r = m.fetch("1", "(BODY[])").unwrap();
    assert_eq!(
        r,
        Response::new(
            "OK",
            vec![
                Data::literal(
                    Bytes::from_static(b"1 (BODY[] {3}"),
                    Bytes::from_static(b"a\0b"),
                ),
                Data::Line(Bytes::from_static(b" FLAGS (\\Seen))")),
                Data::Line(Bytes::from_static(b"1 (X \"\0\")")),
            ]
        )
    );
    assert!(m.noop().is_err(), "script is over: EOF");
}

#[test]
fn stray_continuation_is_ignored() {
    let (mut m, log) = selected(
        b"+\r\n+ go ahead\r\n* 1 FETCH (UID 7)\r\nT2 OK done\r\n",
        3,
        End::Eof,
        Config::default(),
    );
    let r = m.fetch("1", "(UID)").unwrap();
    assert_eq!(
        r,
        Response::new("OK", vec![Data::Line(Bytes::from_static(b"1 (UID 7)"))])
    );
    assert_eq!(
        m.continuation_response().map(|b| &b[..]),
        Some(&b"go ahead"[..])
    );
    assert_eq!(
        written(&log),
        b"T0 CAPABILITY\r\nT1 SELECT INBOX\r\nT2 FETCH 1 (UID)\r\n",
        "a stray '+' must not make the client send anything"
    );
}

// ---------------------------------------------------------------------------
// Broken connections stay broken
// ---------------------------------------------------------------------------

#[test]
fn after_an_abort_the_next_command_aborts_without_reading() {
    // EOF.
    let (mut m, log) = selected(b"* 1 FETCH (UID 1)\r\n", 4, End::Eof, Config::default());
    assert_abort(m.fetch("1", "(UID)"), "EOF");
    assert_broken(&mut m, &log);
    // A protocol error, with a valid reply waiting behind it.
    let (mut m, log) = selected(
        b"garbage\r\nT2 OK done\r\nT3 OK done\r\n",
        1,
        End::Eof,
        Config::default(),
    );
    assert_abort(m.fetch("1", "(UID)"), "unexpected response: b'garbage'");
    assert_broken(&mut m, &log);
    // A read timeout in the middle of a literal.
    let (mut m, log) = selected(
        b"* 1 FETCH (BODY[] {10}\r\nabc",
        4,
        End::TimedOut,
        Config::default(),
    );
    let e = m.fetch("1", "(BODY[])").expect_err("timeout");
    assert_kind(&e, ErrorKind::Abort);
    assert!(e.is_timeout(), "{e:?}");
    assert_broken(&mut m, &log);
}

// ---------------------------------------------------------------------------
// Real TCP socket: read timeouts
// ---------------------------------------------------------------------------

/// Reads one command line and returns its tag.
fn next_tag(r: &mut impl BufRead) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("read a command");
    line.split(' ').next().unwrap_or_default().to_string()
}

#[test]
fn tcp_server_stalling_mid_literal_times_out() {
    with_deadline(DEADLINE, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut w = stream;
            w.write_all(GREETING).unwrap();
            let tag = next_tag(&mut r);
            write!(w, "* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n").unwrap();
            let tag = next_tag(&mut r);
            write!(w, "* 1 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n").unwrap();
            let _fetch = next_tag(&mut r);
            w.write_all(b"* 1 FETCH (BODY[] {100}\r\nabc").unwrap();
            // Say nothing more; wait for the client to hang up.
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
            rest
        });
        let config = Config {
            read_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let mut m = Imap4::connect_with("127.0.0.1", port, config).expect("connect");
        m.select("INBOX", false).expect("select");
        let start = Instant::now();
        let e = m.fetch("1", "(BODY[])").expect_err("the server stalls");
        let waited = start.elapsed();
        assert_kind(&e, ErrorKind::Abort);
        assert!(e.is_timeout(), "{e:?}");
        assert!(e.to_string().starts_with("command: FETCH"), "{e}");
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        // Broken: fails at once, without waiting for another timeout.
        let start = Instant::now();
        assert_kind(&m.noop().expect_err("broken"), ErrorKind::Abort);
        assert!(start.elapsed() < Duration::from_millis(250));
        drop(m);
        let after = server.join().unwrap();
        assert!(
            after.is_empty(),
            "nothing sent after the timeout: {after:?}"
        );
    });
}

#[test]
fn tcp_server_that_never_greets_times_out() {
    with_deadline(DEADLINE, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut stream, _): (TcpStream, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let _ = stream.read_to_end(&mut got);
            got
        });
        let config = Config {
            read_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let start = Instant::now();
        let e = Imap4::connect_with("127.0.0.1", port, config).expect_err("no greeting");
        let waited = start.elapsed();
        assert_kind(&e, ErrorKind::Abort);
        assert!(e.is_timeout(), "{e:?}");
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        let got = server.join().unwrap();
        assert!(
            got.is_empty(),
            "the client sent {got:?} before any greeting"
        );
    });
}
