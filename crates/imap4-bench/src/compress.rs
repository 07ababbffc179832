//! `imap4-bench compress`: COMPRESS=DEFLATE (RFC 4978) end to end.
//!
//! The test kit's Dovecot (its `imap_zlib` plugin on) with 10,000
//! generated messages in one INBOX; each run, in a child process of its own
//! (`imap4-bench compress-client DRIVER MODE PORT PASSWORD`), connects over
//! a transport that counts the bytes read from and written to the socket
//! (below the driver, so after deflate and before inflate), logs in, turns
//! COMPRESS on or not (the typed `compress()`), selects INBOX, fetches every
//! message's `UID BODY.PEEK[]` with `UID FETCH` in batches of 250, and logs
//! out. Both drivers (blocking and tokio, on a current-thread runtime), each
//! without and with COMPRESS; CPython's imaplib (no COMPRESS) as a plain
//! reference.
//!
//! Each child measures wall time and CPU (user + sys, `getrusage`) from
//! just before connecting to just after LOGOUT, and a SHA-256 over every
//! message in UID order: the UID (4 bytes, big-endian), the body's length
//! (8 bytes, big-endian), the body. The CPU spent hashing is measured
//! around each batch's hashing and left out of the CPU column. Every
//! checksum must equal the one computed from the generator
//! (`imap4_testkit::generate(seed, i).to_crlf()` for UID i+1), or the bench
//! exits non-zero.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imap4::typed::{Bound, FetchAttr, Fetches, UidSet};
use imap4::{Config, Imap4, Transport};
use sha2::{Digest, Sha256};

use crate::{cpu_times, median, python, Error};

/// The mailbox's size and generator seed.
const MESSAGES: usize = 10_000;
const SEED: u64 = 4978;
/// UIDs per `UID FETCH`.
const BATCH: u32 = 250;
/// The CPython reference, run with `python3 -c`.
const IMAPLIB_CLIENT: &str = include_str!("../imaplib_compress.py");

/// One run: `(driver, mode)`.
const RUNS: [(&str, &str); 5] = [
    ("blocking", "plain"),
    ("blocking", "deflate"),
    ("tokio", "plain"),
    ("tokio", "deflate"),
    ("imaplib", "plain"),
];

/// What a child reports.
#[derive(Debug, Clone, Default)]
struct Sample {
    wall: f64,
    /// Client CPU, hashing left out.
    cpu: f64,
    /// CPU spent hashing (left out of `cpu`).
    hash_cpu: f64,
    read: u64,
    written: u64,
    messages: u64,
    sha256: String,
}

impl Sample {
    fn format(&self) -> String {
        format!(
            "RESULT wall={:.6} cpu={:.6} hash_cpu={:.6} read={} written={} messages={} sha256={}",
            self.wall, self.cpu, self.hash_cpu, self.read, self.written, self.messages, self.sha256
        )
    }

    fn parse(line: &str) -> Option<Sample> {
        let mut s = Sample::default();
        for kv in line.strip_prefix("RESULT ")?.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "wall" => s.wall = v.parse().ok()?,
                "cpu" => s.cpu = v.parse().ok()?,
                "hash_cpu" => s.hash_cpu = v.parse().ok()?,
                "read" => s.read = v.parse().ok()?,
                "written" => s.written = v.parse().ok()?,
                "messages" => s.messages = v.parse().ok()?,
                "sha256" => s.sha256 = v.to_string(),
                _ => {}
            }
        }
        Some(s)
    }
}

/// The checksum of one message, as every client computes it.
fn hash_message(h: &mut Sha256, uid: u32, body: &[u8]) {
    h.update(uid.to_be_bytes());
    h.update((body.len() as u64).to_be_bytes());
    h.update(body);
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum straight from the generator.
fn expected_sha256() -> String {
    let mut h = Sha256::new();
    for i in 0..MESSAGES {
        hash_message(
            &mut h,
            i as u32 + 1,
            &imap4_testkit::generate(SEED, i).to_crlf(),
        );
    }
    hex(&h.finalize())
}

/// Starts Dovecot, runs every client `--runs N` times (default 3, the order
/// rotating each round), prints the table of medians; exits non-zero if a
/// checksum differs.
pub fn run(args: &[String]) -> Result<(), Error> {
    let rounds = crate::runs_arg(args)?;
    let t = Instant::now();
    let server = imap4_testkit::Dovecot::builder()
        .messages("bench", MESSAGES, SEED)
        .start()?;
    eprintln!(
        "imap4-bench: Dovecot up with {MESSAGES} messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let expected = expected_sha256();
    let total: usize = (0..MESSAGES)
        .map(|i| imap4_testkit::generate(SEED, i).crlf_len())
        .sum();
    let port = server.port();
    let password = server.password().to_string();

    // Warm-up: Dovecot builds its index and cache, the files get into the
    // page cache.
    let w = run_child("blocking", "plain", port, &password)?;
    eprintln!("imap4-bench: warm-up: {:.2} s", w.wall);

    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); RUNS.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..RUNS.len()).collect();
        order.rotate_left(round % RUNS.len());
        for i in order {
            let (driver, mode) = RUNS[i];
            let s = run_child(driver, mode, port, &password)?;
            eprintln!(
                "imap4-bench: round {} {driver} {mode}: wall {:.3} s, cpu {:.3} s (+{:.3} s hashing), \
                 read {} written {}, {} messages, sha256 {}",
                round + 1,
                s.wall,
                s.cpu,
                s.hash_cpu,
                s.read,
                s.written,
                s.messages,
                s.sha256
            );
            samples[i].push(s);
        }
    }
    drop(server);

    // Every run of every client must have fetched the generated bytes.
    let mut mismatches = Vec::new();
    for (i, runs) in samples.iter().enumerate() {
        for s in runs {
            if s.sha256 != expected || s.messages != MESSAGES as u64 {
                mismatches.push(format!(
                    "{} {}: {} messages, sha256 {} (expected {MESSAGES}, {expected})",
                    RUNS[i].0, RUNS[i].1, s.messages, s.sha256
                ));
            }
        }
    }

    let med = |i: usize, f: fn(&Sample) -> f64| median(samples[i].iter().map(f).collect());
    println!(
        "\nUID FETCH of every message's UID BODY.PEEK[] in batches of {BATCH}, {MESSAGES} messages \
         ({:.1} MiB of bodies), median of {rounds} runs; bytes are the whole session's, \
         connect to LOGOUT (imap4 logs in with `login_auto`, SCRAM-SHA-256; imaplib with LOGIN); \
         sha256 = {expected}\n\nMachine: {}\n",
        total as f64 / (1 << 20) as f64,
        crate::machine()
    );
    println!(
        "| driver | mode | wall (s) | client CPU (s) | hashing CPU (s, not included) | bytes read | \
         bytes written | read, deflate / plain | checksums match |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for (i, &(driver, mode)) in RUNS.iter().enumerate() {
        let read = med(i, |s| s.read as f64);
        let ratio = match mode {
            "deflate" => {
                let plain = RUNS
                    .iter()
                    .position(|r| *r == (driver, "plain"))
                    .map_or(f64::NAN, |p| med(p, |s| s.read as f64));
                format!("{:.3}", read / plain)
            }
            _ if driver == "imaplib" => "—".to_string(),
            _ => "1".to_string(),
        };
        let ok = samples[i]
            .iter()
            .all(|s| s.sha256 == expected && s.messages == MESSAGES as u64);
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0} | {ratio} | {} |",
            if driver == "imaplib" {
                "CPython imaplib"
            } else {
                driver
            },
            if mode == "deflate" {
                "COMPRESS=DEFLATE"
            } else {
                "plain"
            },
            med(i, |s| s.wall),
            med(i, |s| s.cpu),
            med(i, |s| s.hash_cpu),
            read,
            med(i, |s| s.written as f64),
            if ok { "yes" } else { "**NO**" }
        );
    }
    if !mismatches.is_empty() {
        return Err(format!("checksums differ:\n{}", mismatches.join("\n")).into());
    }
    Ok(())
}

fn run_child(driver: &str, mode: &str, port: u16, password: &str) -> Result<Sample, Error> {
    let port = port.to_string();
    let mut cmd = if driver == "imaplib" {
        let mut c = Command::new(python());
        c.args(["-c", IMAPLIB_CLIENT, &port, password, &BATCH.to_string()]);
        c
    } else {
        let mut c = Command::new(std::env::current_exe()?);
        c.args(["compress-client", driver, mode, &port, password]);
        c
    };
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{driver} {mode} failed ({}): {stdout}", out.status).into());
    }
    stdout
        .lines()
        .find_map(Sample::parse)
        .ok_or_else(|| format!("{driver} {mode} printed no RESULT line: {stdout}").into())
}

// ----- the child ----------------------------------------------------------------

/// Bytes moved over the socket, counted below the driver.
#[derive(Debug, Default)]
struct Wire {
    read: AtomicU64,
    written: AtomicU64,
}

/// A TCP transport that counts what it reads and writes.
struct Counted {
    inner: TcpStream,
    wire: Arc<Wire>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.wire.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.wire.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for Counted {
    fn shutdown(&mut self) -> io::Result<()> {
        Transport::shutdown(&mut self.inner)
    }
    fn socket(&self) -> Option<&TcpStream> {
        Some(&self.inner)
    }
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(t)
    }
    fn set_write_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(t)
    }
}

/// The async counterpart of [`Counted`].
struct TokioCounted {
    inner: tokio::net::TcpStream,
    wire: Arc<Wire>,
}

impl tokio::io::AsyncRead for TokioCounted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.wire.read.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl tokio::io::AsyncWrite for TokioCounted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &r {
            self.wire.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl imap4::tokio::AsyncTransport for TokioCounted {}

/// The running checksum, and the CPU spent on it.
struct Checksum {
    h: Sha256,
    messages: u64,
    next_uid: u32,
    cpu: f64,
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            h: Sha256::new(),
            messages: 0,
            next_uid: 1,
            cpu: 0.0,
        }
    }

    /// Hashes one batch's bodies in UID order (they must be the UIDs that
    /// follow the last batch's); only the sorting and hashing are counted
    /// in `cpu`, not the typed API's parsing.
    fn batch(&mut self, fetches: &Fetches) -> Result<(), Error> {
        let parsed = fetches
            .iter()
            .collect::<Result<Vec<imap4::typed::Fetch<'_>>, _>>()?;
        let mut got = Vec::with_capacity(parsed.len());
        for f in &parsed {
            let uid = f.uid().ok_or_else(|| format!("no UID in {f:?}"))?;
            let body = f.section("").ok_or_else(|| format!("no BODY[] in {f:?}"))?;
            got.push((uid, body));
        }
        let c0 = cpu()?;
        got.sort_unstable_by_key(|g| g.0);
        for (uid, body) in got {
            if uid != self.next_uid {
                return Err(format!("UID {uid} where {} was expected", self.next_uid).into());
            }
            hash_message(&mut self.h, uid, body);
            self.next_uid += 1;
            self.messages += 1;
        }
        self.cpu += cpu()? - c0;
        Ok(())
    }
}

fn cpu() -> Result<f64, Error> {
    let (u, s) = cpu_times()?;
    Ok(u + s)
}

fn batches(n: u32) -> impl Iterator<Item = UidSet> {
    (1..=n)
        .step_by(BATCH as usize)
        .map(move |a| UidSet::range(a, Bound::Num((a + BATCH - 1).min(n))))
}

fn attrs() -> [FetchAttr; 2] {
    [FetchAttr::Uid, FetchAttr::full_peek()]
}

/// `compress-client DRIVER MODE PORT PASSWORD`: one run; prints a RESULT
/// line.
pub fn client(args: &[String]) -> Result<(), Error> {
    let [driver, mode, port, password] = args else {
        return Err(
            "usage: imap4-bench compress-client blocking|tokio plain|deflate PORT PASSWORD".into(),
        );
    };
    let port: u16 = port.parse()?;
    let compress = match mode.as_str() {
        "plain" => false,
        "deflate" => true,
        _ => return Err(format!("unknown mode {mode:?}").into()),
    };
    let wire = Arc::new(Wire::default());
    let mut sum = Checksum::new();
    let c0 = cpu()?;
    let t0 = Instant::now();
    match driver.as_str() {
        "blocking" => blocking(port, password, compress, &wire, &mut sum)?,
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async_client(port, password, compress, &wire, &mut sum))?,
        _ => return Err(format!("unknown driver {driver:?}").into()),
    }
    let wall = t0.elapsed().as_secs_f64();
    let total_cpu = cpu()? - c0;
    let s = Sample {
        wall,
        cpu: total_cpu - sum.cpu,
        hash_cpu: sum.cpu,
        read: wire.read.load(Ordering::Relaxed),
        written: wire.written.load(Ordering::Relaxed),
        messages: sum.messages,
        sha256: hex(&sum.h.finalize()),
    };
    println!("{}", s.format());
    io::stdout().flush()?;
    Ok(())
}

fn has_compress(caps: &[String]) -> bool {
    caps.iter()
        .any(|c| c.eq_ignore_ascii_case("COMPRESS=DEFLATE"))
}

fn blocking(
    port: u16,
    password: &str,
    compress: bool,
    wire: &Arc<Wire>,
    sum: &mut Checksum,
) -> Result<(), Error> {
    let t = Counted {
        inner: TcpStream::connect(("127.0.0.1", port))?,
        wire: Arc::clone(wire),
    };
    let mut m = Imap4::with_transport(Box::new(t), Config::default())?;
    m.typed().login_auto("bench", password)?;
    if compress {
        if !has_compress(m.capabilities()) {
            return Err(format!("no COMPRESS=DEFLATE after login: {:?}", m.capabilities()).into());
        }
        m.typed().compress()?;
        if !m.is_compressed() {
            return Err("compress() returned but the stream is not compressed".into());
        }
    }
    let n = m.typed().select("INBOX")?.exists;
    for set in batches(n) {
        let fetches = m.typed().uid_fetch(&set, &attrs())?;
        sum.batch(&fetches)?;
    }
    m.logout()?;
    Ok(())
}

async fn async_client(
    port: u16,
    password: &str,
    compress: bool,
    wire: &Arc<Wire>,
    sum: &mut Checksum,
) -> Result<(), Error> {
    let t = TokioCounted {
        inner: tokio::net::TcpStream::connect(("127.0.0.1", port)).await?,
        wire: Arc::clone(wire),
    };
    let mut m = imap4::tokio::Imap4::with_transport(Box::new(t), Config::default()).await?;
    m.typed().login_auto("bench", password).await?;
    if compress {
        if !has_compress(m.capabilities()) {
            return Err(format!("no COMPRESS=DEFLATE after login: {:?}", m.capabilities()).into());
        }
        m.typed().compress().await?;
        if !m.is_compressed() {
            return Err("compress() returned but the stream is not compressed".into());
        }
    }
    let n = m.typed().select("INBOX").await?.exists;
    for set in batches(n) {
        let fetches = m.typed().uid_fetch(&set, &attrs()).await?;
        sum.batch(&fetches)?;
    }
    m.logout().await?;
    Ok(())
}
