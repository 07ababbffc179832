//! A scripted raw-bytes IMAP server for hostile-server and transcript tests.
//!
//! [`FakeServer::start`] listens on `127.0.0.1:0` and serves exactly one
//! connection in a background thread, following a script of [`Step`]s: send
//! these bytes, expect that line, close now, hang... Every read has a timeout
//! (10 s by default), so a test never hangs forever, and [`FakeServer::finish`]
//! reports the first mismatch or returns everything the client sent.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use imap4_testkit::fake::{FakeServer, Step};
//!
//! let server = FakeServer::start(vec![
//!     Step::send("* OK [CAPABILITY IMAP4rev1] ready\r\n"),
//!     Step::expect("{tag} LOGIN alice secret"),
//!     Step::send("{tag} OK logged in\r\n"),
//!     Step::expect_eof(),
//! ])?;
//! let stream = std::net::TcpStream::connect(server.addr())?;
//! let mut reader = BufReader::new(stream.try_clone()?);
//! let mut greeting = String::new();
//! reader.read_line(&mut greeting)?;
//! (&stream).write_all(b"A001 LOGIN alice secret\r\n")?;
//! let mut reply = String::new();
//! reader.read_line(&mut reply)?;
//! assert_eq!(reply, "A001 OK logged in\r\n");
//! drop((stream, reader));
//! assert_eq!(server.finish().unwrap(), b"A001 LOGIN alice secret\r\n");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Tags
//! Every line the script reads whose first word is followed by a space (a
//! command line such as `a1 LOGIN ...`) makes that first word the remembered
//! tag; single-word lines (`DONE`, a SASL response, `*`) leave it alone. In
//! [`Step::Send`] and [`Step::SendSplit`], `{tag}` is replaced by the
//! remembered tag and `{next_tag}` by the tag the client will use next
//! (the remembered tag with its trailing number plus one: the reply a
//! hostile server piggy-backs on an earlier one); in [`Step::Expect`] and
//! [`Step::ExpectPrefix`], `{tag}`
//! stands for the first word of the line being checked.
//!
//! ## End of the script
//! When the last step is done, the server shuts down its sending side (the
//! client reads EOF) and discards whatever the client still sends until the
//! client closes, [`FakeServer::finish`] is called or the server is dropped;
//! then it closes the socket. Use [`Step::Close`] for an abrupt close and
//! [`Step::Hang`] to keep the connection open.
//!
//! ## Lines
//! A client line must end in CRLF (a bare LF is reported as a mismatch); a
//! trailing CRLF in an `Expect` pattern is optional.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod starttls;

/// The default timeout of every read (and of waiting for the client).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest client line accepted (guards against runaway clients).
const MAX_LINE: usize = 16 << 20;

/// One step of a [`FakeServer`] script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes; `{tag}` becomes the remembered tag.
    Send(Vec<u8>),
    /// Like [`Step::Send`], but one byte per `write()` with a flush after each
    /// (TCP_NODELAY is on), to exercise clients' partial-read handling.
    SendSplit(Vec<u8>),
    /// Read one client line (up to CRLF); it must equal this, where `{tag}`
    /// stands for the line's own first word. Remembers the tag.
    Expect(Vec<u8>),
    /// Read one line; it must start with this (same `{tag}` handling).
    ExpectPrefix(Vec<u8>),
    /// Read one line, accept anything, remember its tag.
    ReadLine,
    /// Read exactly this many raw bytes (e.g. literal data).
    ReadExact(usize),
    /// The client must close the connection (read returns 0) within the
    /// timeout, without sending anything more.
    ExpectEof,
    /// Close the connection now (remaining steps that need it fail).
    Close,
    /// Keep the connection open and silent until [`FakeServer::finish`] is
    /// called or the server is dropped.
    Hang,
    /// Write these bytes one at a time, `interval` apart (a server that
    /// trickles a response to defeat per-read timeouts); stops quietly
    /// when the client closes.
    Trickle {
        /// The bytes (`{tag}` substituted).
        bytes: Vec<u8>,
        /// The pause between two bytes.
        interval: Duration,
    },
    /// Write `reply` (`{tag}` substituted), then turn on COMPRESS=DEFLATE
    /// (RFC 4978) both ways: `piggyback` goes out compressed in the same
    /// write as the reply (the bytes a client must not misread as plain),
    /// and from then on every write is deflated (with a sync flush) and
    /// every read inflated; the transcript holds the inflated bytes.
    StartCompress {
        /// The tagged reply to COMPRESS, sent plain.
        reply: Vec<u8>,
        /// Sent compressed right behind it, in the same write.
        piggyback: Vec<u8>,
    },
    /// Write `prefix`, then `count` copies of `byte`, in 64 KiB writes
    /// (deflated under [`Step::StartCompress`]: a decompression bomb);
    /// stops quietly when the client closes.
    SendRepeat {
        /// Written first (`{tag}` substituted).
        prefix: Vec<u8>,
        /// The byte repeated.
        byte: u8,
        /// How many times.
        count: u64,
    },
    /// Start TLS as the server: the client's handshake and all following
    /// steps go through TLS with this certificate chain (leaf first) and
    /// private key. Uses the `openssl s_server` command as the TLS engine
    /// (plaintext passes through its stdin/stdout). After this step,
    /// [`Step::SendSplit`] writes still go one byte at a time to the engine,
    /// but TLS records may merge them.
    StartTls {
        /// PEM file: server certificate first, then intermediates/CA.
        cert_chain_pem: PathBuf,
        /// PEM file: the server's private key.
        key_pem: PathBuf,
    },
}

impl Step {
    /// [`Step::Send`]
    pub fn send(bytes: impl AsRef<[u8]>) -> Step {
        Step::Send(bytes.as_ref().to_vec())
    }

    /// [`Step::SendSplit`]
    pub fn send_split(bytes: impl AsRef<[u8]>) -> Step {
        Step::SendSplit(bytes.as_ref().to_vec())
    }

    /// [`Step::Expect`]
    pub fn expect(line: impl AsRef<[u8]>) -> Step {
        Step::Expect(line.as_ref().to_vec())
    }

    /// [`Step::ExpectPrefix`]
    pub fn expect_prefix(prefix: impl AsRef<[u8]>) -> Step {
        Step::ExpectPrefix(prefix.as_ref().to_vec())
    }

    /// [`Step::ReadLine`]
    pub fn read_line() -> Step {
        Step::ReadLine
    }

    /// [`Step::ReadExact`]
    pub fn read_exact(n: usize) -> Step {
        Step::ReadExact(n)
    }

    /// [`Step::ExpectEof`]
    pub fn expect_eof() -> Step {
        Step::ExpectEof
    }

    /// [`Step::Close`]
    pub fn close() -> Step {
        Step::Close
    }

    /// [`Step::Hang`]
    pub fn hang() -> Step {
        Step::Hang
    }

    /// [`Step::StartCompress`]
    pub fn start_compress(reply: impl AsRef<[u8]>, piggyback: impl AsRef<[u8]>) -> Step {
        Step::StartCompress {
            reply: reply.as_ref().to_vec(),
            piggyback: piggyback.as_ref().to_vec(),
        }
    }

    /// [`Step::SendRepeat`]
    pub fn send_repeat(prefix: impl AsRef<[u8]>, byte: u8, count: u64) -> Step {
        Step::SendRepeat {
            prefix: prefix.as_ref().to_vec(),
            byte,
            count,
        }
    }

    /// [`Step::StartTls`]
    pub fn start_tls(cert_chain_pem: impl Into<PathBuf>, key_pem: impl Into<PathBuf>) -> Step {
        Step::StartTls {
            cert_chain_pem: cert_chain_pem.into(),
            key_pem: key_pem.into(),
        }
    }
}

/// State shared between the handle and the script thread.
#[derive(Debug, Default)]
struct Shared {
    /// Drop: abort everything now.
    stop: AtomicBool,
    /// finish(): end `Hang` and the final drain.
    release: AtomicBool,
    /// A clone of the accepted socket, to unblock the thread on drop.
    conn: Mutex<Option<TcpStream>>,
    /// The TLS engine process, to kill on drop.
    engine: Mutex<Option<std::process::Child>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn released(&self) -> bool {
        self.stopped() || self.release.load(Ordering::SeqCst)
    }
}

/// A one-connection scripted server on `127.0.0.1`; see the [module docs](self).
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    timeout: Duration,
    shared: Arc<Shared>,
    result: Receiver<Result<Vec<u8>, String>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts serving `script` on a free loopback port with the default
    /// 10 s read timeout.
    pub fn start(script: Vec<Step>) -> io::Result<FakeServer> {
        FakeServer::start_with_timeout(script, DEFAULT_TIMEOUT)
    }

    /// Like [`FakeServer::start`] with another timeout for accepting the
    /// client and for each read.
    pub fn start_with_timeout(script: Vec<Step>, timeout: Duration) -> io::Result<FakeServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("fake-imap-{}", addr.port()))
            .spawn(move || {
                let result = serve(listener, script, timeout, &thread_shared);
                if let Ok(mut engine) = thread_shared.engine.lock() {
                    if let Some(mut child) = engine.take() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                }
                let _ = tx.send(result);
            })?;
        Ok(FakeServer {
            addr,
            timeout,
            shared,
            result: rx,
            thread: Some(thread),
        })
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address to connect to (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits (up to the timeout plus 2 s) for the script to end and returns
    /// every byte the script read from the client, or a description of the
    /// first mismatch or error. Ends a pending [`Step::Hang`].
    pub fn finish(self) -> Result<Vec<u8>, String> {
        self.shared.release.store(true, Ordering::SeqCst);
        match self
            .result
            .recv_timeout(self.timeout + Duration::from_secs(2))
        {
            Ok(result) => result,
            Err(_) => Err(format!(
                "fake server: script did not finish within {:?}",
                self.timeout + Duration::from_secs(2)
            )),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Ok(conn) = self.shared.conn.lock() {
            if let Some(conn) = conn.as_ref() {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
        if let Ok(mut engine) = self.shared.engine.lock() {
            if let Some(child) = engine.as_mut() {
                let _ = child.kill();
            }
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts one client and runs the script.
fn serve(
    listener: TcpListener,
    script: Vec<Step>,
    timeout: Duration,
    shared: &Arc<Shared>,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if shared.stopped() {
                    return Err("fake server: dropped before a client connected".into());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "fake server: no client connected within {timeout:?}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(format!("fake server: accept failed: {e}")),
        }
    };
    drop(listener);
    let setup = || -> io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(())
    };
    setup().map_err(|e| format!("fake server: socket setup failed: {e}"))?;
    if let (Ok(mut slot), Ok(clone)) = (shared.conn.lock(), stream.try_clone()) {
        *slot = Some(clone);
    }
    let mut conn = Conn {
        io: Io::Tcp(stream),
        buf: Vec::new(),
        transcript: Vec::new(),
        tag: None,
        timeout,
        shared: Arc::clone(shared),
        deflate: None,
    };
    for (n, step) in script.iter().enumerate() {
        if shared.stopped() {
            return Err("fake server: dropped while the script was running".into());
        }
        conn.step(step)
            .map_err(|e| format!("fake server: step {n} ({}): {e}", describe(step)))?;
    }
    conn.drain();
    Ok(conn.transcript)
}

fn describe(step: &Step) -> String {
    let show = |b: &[u8]| {
        let s = b.escape_ascii().to_string();
        if s.len() > 80 {
            format!("\"{}...\"", &s[..77])
        } else {
            format!("\"{s}\"")
        }
    };
    match step {
        Step::Send(b) => format!("Send {}", show(b)),
        Step::SendSplit(b) => format!("SendSplit {}", show(b)),
        Step::Expect(b) => format!("Expect {}", show(b)),
        Step::ExpectPrefix(b) => format!("ExpectPrefix {}", show(b)),
        Step::ReadLine => "ReadLine".into(),
        Step::ReadExact(n) => format!("ReadExact {n}"),
        Step::ExpectEof => "ExpectEof".into(),
        Step::Close => "Close".into(),
        Step::Hang => "Hang".into(),
        Step::Trickle { bytes, interval } => format!("Trickle {} every {interval:?}", show(bytes)),
        Step::StartTls { .. } => "StartTls".into(),
        Step::StartCompress { reply, .. } => format!("StartCompress {}", show(reply)),
        Step::SendRepeat {
            prefix,
            byte,
            count,
        } => format!("SendRepeat {} then {count} x {byte:#04x}", show(prefix)),
    }
}

/// Where the script's bytes go: the client socket, or the TLS engine.
enum Io {
    Tcp(TcpStream),
    Tls(starttls::Engine),
    Closed,
}

struct Conn {
    io: Io,
    /// Received but not yet consumed client bytes.
    buf: Vec<u8>,
    /// Every client byte consumed by the script.
    transcript: Vec<u8>,
    tag: Option<Vec<u8>>,
    timeout: Duration,
    shared: Arc<Shared>,
    /// COMPRESS=DEFLATE, once on.
    deflate: Option<Box<Codec>>,
}

/// The server's COMPRESS=DEFLATE state: raw deflate both ways.
struct Codec {
    tx: flate2::Compress,
    rx: flate2::Decompress,
}

impl Codec {
    fn new() -> Codec {
        Codec {
            tx: flate2::Compress::new(flate2::Compression::default(), false),
            rx: flate2::Decompress::new(false),
        }
    }

    /// Deflates `data`, ending with a sync flush.
    fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        let start = self.tx.total_in();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let done = (self.tx.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            self.tx
                .compress_vec(&data[done..], &mut out, flate2::FlushCompress::Sync)
                .map_err(|e| format!("deflate failed: {e}"))?;
            if (self.tx.total_in() - start) as usize == data.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }

    /// Inflates `data` (the client's small commands) into `out`.
    fn decompress(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        loop {
            if out.capacity() - out.len() < 4096 {
                out.reserve(64 * 1024);
            }
            let before = self.rx.total_in();
            self.rx
                .decompress_vec(data, out, flate2::FlushDecompress::Sync)
                .map_err(|e| format!("client sent corrupt compressed data: {e}"))?;
            let used = (self.rx.total_in() - before) as usize;
            data = &data[used..];
            if data.is_empty() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

impl Conn {
    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Send(bytes) => {
                let bytes = self.with_tag(bytes)?;
                self.write(&bytes)
            }
            Step::SendSplit(bytes) => {
                let bytes = self.with_tag(bytes)?;
                for b in bytes {
                    self.write(&[b])?;
                }
                Ok(())
            }
            Step::Trickle { bytes, interval } => {
                let bytes = self.with_tag(bytes)?;
                for b in bytes {
                    if self.shared.stopped() || self.write(&[b]).is_err() {
                        return Ok(());
                    }
                    // Pacing, not synchronization: the client is meant to
                    // give up long before the bytes run out.
                    std::thread::sleep(*interval);
                }
                Ok(())
            }
            Step::Expect(pattern) => {
                let line = self.read_line()?;
                let body = strip_crlf(&line)?;
                let first = first_word(body);
                let want = replace(pattern, b"{tag}", first);
                let want = want.strip_suffix(b"\r\n").unwrap_or(&want);
                if body != want {
                    return Err(format!(
                        "expected \"{}\", got \"{}\"",
                        want.escape_ascii(),
                        line.escape_ascii()
                    ));
                }
                self.remember_tag(body);
                Ok(())
            }
            Step::ExpectPrefix(pattern) => {
                let line = self.read_line()?;
                let body = strip_crlf(&line)?;
                let want = replace(pattern, b"{tag}", first_word(body));
                if !line.starts_with(&want) {
                    return Err(format!(
                        "expected a line starting with \"{}\", got \"{}\"",
                        want.escape_ascii(),
                        line.escape_ascii()
                    ));
                }
                self.remember_tag(body);
                Ok(())
            }
            Step::ReadLine => {
                let line = self.read_line()?;
                let body = strip_crlf(&line)?;
                self.remember_tag(body);
                Ok(())
            }
            Step::ReadExact(n) => {
                let deadline = Instant::now() + self.timeout;
                while self.buf.len() < *n {
                    if self.fill(deadline)? == 0 {
                        return Err(format!(
                            "client closed after {} of {n} bytes: \"{}\"",
                            self.buf.len(),
                            self.buf.escape_ascii()
                        ));
                    }
                }
                let data: Vec<u8> = self.buf.drain(..*n).collect();
                self.transcript.extend_from_slice(&data);
                Ok(())
            }
            Step::ExpectEof => {
                if !self.buf.is_empty() {
                    return Err(format!(
                        "expected EOF, client sent \"{}\"",
                        self.buf.escape_ascii()
                    ));
                }
                let deadline = Instant::now() + self.timeout;
                match self.fill(deadline) {
                    Ok(0) => Ok(()),
                    Ok(_) => Err(format!(
                        "expected EOF, client sent \"{}\"",
                        self.buf.escape_ascii()
                    )),
                    // a reset is a close too
                    Err(e) if e.contains("reset") => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Step::Close => {
                self.close();
                Ok(())
            }
            Step::Hang => {
                while !self.shared.released() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(())
            }
            Step::StartCompress { reply, piggyback } => {
                let mut packet = self.with_tag(reply)?;
                let mut codec = Box::new(Codec::new());
                let piggyback = self.with_tag(piggyback)?;
                packet.extend_from_slice(&codec.compress(&piggyback)?);
                self.write_raw(&packet)?;
                // Client bytes already read after COMPRESS are compressed.
                let pending = std::mem::take(&mut self.buf);
                codec.decompress(&pending, &mut self.buf)?;
                self.deflate = Some(codec);
                Ok(())
            }
            Step::SendRepeat {
                prefix,
                byte,
                count,
            } => {
                let prefix = self.with_tag(prefix)?;
                if self.write(&prefix).is_err() {
                    return Ok(());
                }
                let block = vec![*byte; 64 * 1024];
                let mut left = *count;
                while left > 0 {
                    let n = left.min(block.len() as u64) as usize;
                    if self.shared.stopped() || self.write(&block[..n]).is_err() {
                        return Ok(());
                    }
                    left -= n as u64;
                }
                Ok(())
            }
            Step::StartTls {
                cert_chain_pem,
                key_pem,
            } => {
                let Io::Tcp(stream) = std::mem::replace(&mut self.io, Io::Closed) else {
                    return Err("StartTls needs a plain TCP connection".into());
                };
                let pending = std::mem::take(&mut self.buf);
                let engine = starttls::Engine::start(
                    stream,
                    &pending,
                    cert_chain_pem,
                    key_pem,
                    self.timeout,
                    &self.shared,
                )
                .map_err(|e| format!("cannot start TLS: {e}"))?;
                self.io = Io::Tls(engine);
                Ok(())
            }
        }
    }

    fn with_tag(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        if !contains(bytes, b"{tag}") && !contains(bytes, b"{next_tag}") {
            return Ok(bytes.to_vec());
        }
        match &self.tag {
            Some(tag) => {
                let digits = tag.iter().rev().take_while(|b| b.is_ascii_digit()).count();
                let (prefix, num) = tag.split_at(tag.len() - digits);
                let next = std::str::from_utf8(num)
                    .ok()
                    .and_then(|n| n.parse::<u64>().ok())
                    .map(|n| [prefix, (n + 1).to_string().as_bytes()].concat())
                    .unwrap_or_else(|| tag.clone());
                let b = replace(bytes, b"{next_tag}", &next);
                Ok(replace(&b, b"{tag}", tag))
            }
            None => Err("{tag} used before any tagged client line was read".into()),
        }
    }

    fn remember_tag(&mut self, line: &[u8]) {
        if let Some(space) = line.iter().position(|&b| b == b' ') {
            if space > 0 {
                self.tag = Some(line[..space].to_vec());
            }
        }
    }

    /// Writes `bytes`, deflated once COMPRESS is on.
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        match self.deflate.as_mut() {
            Some(codec) => {
                let wire = codec.compress(bytes)?;
                self.write_raw(&wire)
            }
            None => self.write_raw(bytes),
        }
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        let r = match &mut self.io {
            Io::Tcp(s) => s.write_all(bytes).and_then(|()| s.flush()),
            Io::Tls(e) => e.write(bytes),
            Io::Closed => return Err("connection already closed".into()),
        };
        r.map_err(|e| format!("write failed: {e}"))
    }

    /// Reads more client bytes into `buf`; `Ok(0)` at EOF.
    fn fill(&mut self, deadline: Instant) -> Result<usize, String> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.shared.stopped() {
                return Err("fake server dropped".into());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "timed out after {:?} waiting for the client",
                    self.timeout
                ));
            }
            // short slices so a drop or finish() is noticed promptly
            let wait = (deadline - now).min(Duration::from_millis(100));
            let r = match &mut self.io {
                Io::Tcp(s) => {
                    let _ = s.set_read_timeout(Some(wait));
                    s.read(&mut chunk)
                }
                Io::Tls(e) => e.read(&mut chunk, wait),
                Io::Closed => return Err("connection already closed".into()),
            };
            match r {
                Ok(n) => {
                    match self.deflate.as_mut() {
                        Some(codec) => codec.decompress(&chunk[..n], &mut self.buf)?,
                        None => self.buf.extend_from_slice(&chunk[..n]),
                    }
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(format!("connection reset by client: {e}"))
                }
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    }

    /// One line including its LF; consumed into the transcript.
    fn read_line(&mut self) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + self.timeout;
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..scanned + pos + 1).collect();
                self.transcript.extend_from_slice(&line);
                return Ok(line);
            }
            scanned = self.buf.len();
            if scanned > MAX_LINE {
                return Err(format!("client line longer than {MAX_LINE} bytes"));
            }
            if self.fill(deadline)? == 0 {
                return Err(format!(
                    "client closed the connection; unterminated line: \"{}\"",
                    self.buf.escape_ascii()
                ));
            }
        }
    }

    fn close(&mut self) {
        match std::mem::replace(&mut self.io, Io::Closed) {
            Io::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Both);
            }
            Io::Tls(e) => e.close(),
            Io::Closed => {}
        }
    }

    /// After the last step: send FIN, then read and discard until the client
    /// closes (or finish()/drop/timeout), so unread client bytes do not turn
    /// our close into a reset that could destroy data the client has not read.
    fn drain(&mut self) {
        match &mut self.io {
            Io::Tcp(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            Io::Tls(e) => e.shutdown_write(),
            Io::Closed => return,
        }
        let deadline = Instant::now() + self.timeout;
        while !self.shared.released() && Instant::now() < deadline {
            self.buf.clear();
            match self.fill(Instant::now() + Duration::from_millis(50)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.starts_with("timed out") => {}
                Err(_) => break,
            }
        }
        self.close();
    }
}

fn strip_crlf(line: &[u8]) -> Result<&[u8], String> {
    line.strip_suffix(b"\r\n").ok_or_else(|| {
        format!(
            "client line not terminated by CRLF: \"{}\"",
            line.escape_ascii()
        )
    })
}

fn first_word(line: &[u8]) -> &[u8] {
    line.split(|&b| b == b' ').next().unwrap_or(line)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(replace(b"{tag} OK {tag}", b"{tag}", b"a1"), b"a1 OK a1");
        assert_eq!(first_word(b"a1 NOOP"), b"a1");
        assert_eq!(first_word(b"DONE"), b"DONE");
        assert!(strip_crlf(b"x\n").is_err());
        assert_eq!(strip_crlf(b"x\r\n").unwrap(), b"x");
    }
}
