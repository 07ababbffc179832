//! `imap4-bench body`: one 200 MiB message's body, end to end.
//!
//! The test kit's Dovecot with one generated message (UID 1) and one of
//! about 200 MiB (UID 2), put straight into `Maildir/new` as in
//! `crates/imap4/tests/streaming_memory.rs`. Each client, in a child
//! process of its own (`imap4-bench body-client WAY PORT PASSWORD SIZE`, or
//! `python3 -c` for CPython), connects, logs in (LOGIN), SELECTs INBOX,
//! fetches UID 2's `BODY.PEEK[]` and logs out:
//!
//! - `floor`: a bare socket that sends `UID FETCH 2 (BODY.PEEK[])` and
//!   reads every byte into one reused buffer (the reference: no framing,
//!   no parsing, no copy; `floor.rs` does the other workloads' commands);
//! - `blocking` / `tokio`: `typed().uid_fetch_body_to` into `io::sink()` /
//!   `tokio::io::sink()`, ONE command, the body written as it arrives;
//! - `chunked`: `typed().uid_fetch_body_to_chunked` with
//!   [`DEFAULT_CHUNK`] (one partial fetch per MiB);
//! - `imaplib-api`: imap4's imaplib surface, `m.uid("FETCH", &["2",
//!   "(BODY.PEEK[])"])`, which holds the whole body;
//! - `cpython`: CPython's `imaplib` `uid('FETCH', '2', '(BODY.PEEK[])')`,
//!   which holds the whole body too.
//!
//! Each child measures its wall time and CPU time (user + sys,
//! `getrusage`) from just before connecting to just after LOGOUT, and its
//! peak RSS (`VmHWM`), with `crate::measure` (CPython: the same in Python).
//! Every client but the floor must report exactly the message's size in
//! bytes (the floor: at least that many, protocol included), or the bench
//! exits non-zero. Rounds rotate the order of the clients; the table shows
//! the medians.

use std::io::{self, BufWriter, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Instant;

use imap4::typed::DEFAULT_CHUNK;
use imap4::{Data, Imap4};

use crate::{machine, measure, now_utc, python, summarize, Error, Sample};

/// The message's size on the wire (CRLF line ends), about.
const TARGET: u64 = 200 << 20;
/// The big message's UID (the generated message before it is UID 1).
const UID: u32 = 2;
/// One line of the big message's body (without its line end).
const LINE: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmno";
/// Its header, with the blank line (LF line ends, as in the Maildir file).
const HEADER: &[u8] = b"From: a@example.com\nSubject: big\n\n";
/// The floor's read buffer.
const FLOOR_BUF: usize = 256 * 1024;
/// Bytes the floor keeps from the end of what it read, to find a tagged line.
const TAIL: usize = 512;

/// The clients, in table order: the `body-client` way and the row's name.
const WAYS: [(&str, &str); 6] = [
    ("floor", "(floor: bare socket, read & discard)"),
    (
        "blocking",
        "imap4 blocking `uid_fetch_body_to` → `io::sink()` (1 command)",
    ),
    (
        "tokio",
        "imap4 tokio `uid_fetch_body_to` → `tokio::io::sink()` (1 command)",
    ),
    (
        "chunked",
        "imap4 blocking `uid_fetch_body_to_chunked`, 1 MiB chunks (1 command per MiB)",
    ),
    (
        "imaplib-api",
        "imap4 imaplib API `m.uid(\"FETCH\", …)` (holds the body)",
    ),
    (
        "cpython",
        "CPython imaplib `uid('FETCH', …)` (holds the body)",
    ),
];

/// The CPython client, run as `python3 -c <this> HOST PORT PASSWORD UID`;
/// prints a RESULT line like [`Sample::format`].
const IMAPLIB_BODY: &str = r#"
import imaplib, resource, sys, time

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime

def faults():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt + r.ru_majflt

def vm_hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

host, port, password, uid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
f0 = faults()
u0, s0 = cpu()
t0 = time.perf_counter()
m = imaplib.IMAP4(host, port)
m.login("bench", password)
typ, data = m.select("INBOX")
assert typ == "OK", (typ, data)
typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
assert typ == "OK", typ
items = nbytes = 0
for it in data:
    if isinstance(it, tuple):
        items += 1
        nbytes += len(it[1])
m.logout()
wall = time.perf_counter() - t0
u1, s1 = cpu()
f1 = faults()
print("RESULT wall=%.6f user=%.6f sys=%.6f proc_cpu=%.6f rss_kb=%d items=%d bytes=%d faults=%d"
      % (wall, u1 - u0, s1 - s0, u1 + s1, vm_hwm_kb(), items, nbytes, f1 - f0))
"#;

/// Writes the big message into `maildir`'s `new/` (LF line ends, owned as
/// the Maildir is); returns its size as the server sends it (CRLF).
fn put_big_message(maildir: &std::path::Path) -> Result<u64, Error> {
    let path = maildir.join("new").join("1700000000.big.host:2,");
    let header_lines = HEADER.iter().filter(|&&b| b == b'\n').count() as u64;
    let header_size = HEADER.len() as u64 + header_lines;
    let line_size = LINE.len() as u64 + 2;
    let lines = (TARGET - header_size) / line_size;
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    w.write_all(HEADER)?;
    let mut block = Vec::with_capacity(4096 * (LINE.len() + 1));
    for _ in 0..4096 {
        block.extend_from_slice(LINE);
        block.push(b'\n');
    }
    let mut left = lines;
    while left > 0 {
        let n = left.min(4096) as usize;
        w.write_all(&block[..n * (LINE.len() + 1)])?;
        left -= n as u64;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let st = Command::new("chown")
        .arg("--reference")
        .arg(maildir)
        .arg(&path)
        .status()?;
    if !st.success() {
        return Err(format!("chown --reference {} failed: {st}", maildir.display()).into());
    }
    Ok(header_size + lines * line_size)
}

/// Runs one client in a child process; returns what it reported.
fn run_child(way: &str, port: u16, password: &str, size: u64) -> Result<Sample, Error> {
    let port = port.to_string();
    let mut cmd = if way == "cpython" {
        let mut c = Command::new(python());
        c.args(["-c", IMAPLIB_BODY, "127.0.0.1", &port, password])
            .arg(UID.to_string());
        c
    } else {
        let mut c = Command::new(std::env::current_exe()?);
        c.args(["body-client", way, &port, password])
            .arg(size.to_string());
        c
    };
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("body client {way} failed ({}): {stdout}", out.status).into());
    }
    let s = stdout
        .lines()
        .find_map(Sample::parse)
        .ok_or_else(|| format!("body client {way} printed no RESULT line: {stdout}"))?;
    let complete = if way == "floor" {
        s.bytes >= size
    } else {
        s.bytes == size
    };
    if !complete {
        return Err(format!(
            "body client {way} received {} bytes for a {size}-byte message",
            s.bytes
        )
        .into());
    }
    Ok(s)
}

/// `body [--runs N]`: starts Dovecot with the big message, runs every
/// client once to warm up and then `N` times (default 3, the order
/// rotating each round), and prints the table of medians.
pub fn run(args: &[String]) -> Result<(), Error> {
    let rounds = crate::runs_arg(args)?;
    let t = Instant::now();
    let server = imap4_testkit::Dovecot::builder()
        .messages("bench", 1, 200)
        .start()?;
    let size = put_big_message(&server.home("bench").join("Maildir"))?;
    eprintln!(
        "imap4-bench body: Dovecot on port {} with a {size}-byte message, after {:.1?}",
        server.port(),
        t.elapsed()
    );
    let (port, password) = (server.port(), server.password());
    // Warm-up (not measured): Dovecot indexes the message, the file gets
    // into the page cache.
    for (way, _) in WAYS {
        let s = run_child(way, port, password, size)?;
        eprintln!("imap4-bench body: warm-up {way}: {:.2} s", s.wall);
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); WAYS.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..WAYS.len()).collect();
        order.rotate_left(round % WAYS.len());
        for i in order {
            let way = WAYS[i].0;
            let s = run_child(way, port, password, size)?;
            eprintln!(
                "imap4-bench body: round {} {way}: wall {:.3} s, cpu {:.3} s, rss {} KiB, {} bytes",
                round + 1,
                s.wall,
                s.cpu(),
                s.rss_kb,
                s.bytes
            );
            samples[i].push(s);
        }
    }
    drop(server);

    let medians: Vec<Sample> = samples.iter().map(|s| summarize(s)).collect();
    let floor_cpu = medians[0].cpu();
    println!(
        "`./target/release/imap4-bench body` ({date}): UID {UID}, {size} bytes \
         ({mib:.1} MiB) of `BODY.PEEK[]`, median of {rounds} rounds after a warm-up.\n\
         Machine: {machine}\n",
        date = now_utc(),
        mib = size as f64 / (1 << 20) as f64,
        machine = machine(),
    );
    println!(
        "| client | wall (s) | CPU (s) | user / sys (s) | peak RSS (MiB) | CPU / floor | page faults | faults / floor |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let floor_faults = medians[0].faults.max(1) as f64;
    for ((_, name), s) in WAYS.iter().zip(&medians) {
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} / {:.3} | {:.1} | {:.2} | {} | {:.2} |",
            s.wall,
            s.cpu(),
            s.user,
            s.sys,
            s.rss_kb as f64 / 1024.0,
            s.cpu() / floor_cpu,
            s.faults,
            s.faults as f64 / floor_faults
        );
    }
    Ok(())
}

/// `body-client WAY PORT PASSWORD SIZE`: one run; checks that it received
/// the whole message (`SIZE` bytes) and prints a RESULT line.
pub fn client(args: &[String]) -> Result<(), Error> {
    let [way, port, password, size] = args else {
        return Err(
            "usage: imap4-bench body-client floor|blocking|tokio|chunked|imaplib-api \
             PORT PASSWORD SIZE"
                .into(),
        );
    };
    let port: u16 = port.parse()?;
    let size: u64 = size.parse()?;
    let sample = measure(|| {
        let bytes = match way.as_str() {
            "floor" => floor(port, password)?,
            "blocking" => blocking(port, password, false)?,
            "chunked" => blocking(port, password, true)?,
            "tokio" => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(async_client(port, password))?,
            "imaplib-api" => imaplib_api(port, password)?,
            _ => return Err(format!("unknown way {way:?}").into()),
        };
        Ok((1, bytes))
    })?;
    let complete = if way == "floor" {
        sample.bytes >= size
    } else {
        sample.bytes == size
    };
    if !complete {
        return Err(format!(
            "{way}: received {} bytes for a {size}-byte message",
            sample.bytes
        )
        .into());
    }
    println!("{}", sample.format());
    io::stdout().flush()?;
    Ok(())
}

/// The blocking driver's typed API: `uid_fetch_body_to` (one command) or
/// `uid_fetch_body_to_chunked` (1 MiB partial fetches) into a sink.
fn blocking(port: u16, password: &str, chunked: bool) -> Result<u64, Error> {
    let mut m = Imap4::connect("127.0.0.1", port)?;
    m.login("bench", password)?;
    m.typed().select("INBOX")?;
    let mut sink = io::sink();
    let n = if chunked {
        m.typed()
            .uid_fetch_body_to_chunked(UID, "", &mut sink, DEFAULT_CHUNK)?
    } else {
        m.typed().uid_fetch_body_to(UID, "", &mut sink)?
    };
    m.logout()?;
    Ok(n)
}

/// The tokio driver's typed API: `uid_fetch_body_to` into a sink.
async fn async_client(port: u16, password: &str) -> Result<u64, Error> {
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", port).await?;
    m.login("bench", password).await?;
    m.typed().select("INBOX").await?;
    let n = m
        .typed()
        .uid_fetch_body_to(UID, "", &mut tokio::io::sink())
        .await?;
    m.logout().await?;
    Ok(n)
}

/// imap4's imaplib surface: the whole body in the response's data.
fn imaplib_api(port: u16, password: &str) -> Result<u64, Error> {
    // The body is held whole: raise the limits on a literal, a response
    // and the responses collected (48, 49 and 48 MiB by default) above
    // the message's size for this row; the defaults stay as they are.
    let mut config = imap4::Config::default();
    config.limits.max_literal_len = 2 * TARGET;
    config.limits.max_response_len = 2 * TARGET + (1 << 20);
    config.limits.max_collected_bytes = 2 * TARGET + (1 << 20);
    let mut m = Imap4::connect_with("127.0.0.1", port, config)?;
    m.login("bench", password)?;
    let r = m.select("INBOX", false)?;
    if !r.is_ok() {
        return Err(format!("SELECT: {}", r.typ).into());
    }
    let r = m.uid("FETCH", &[&UID.to_string(), "(BODY.PEEK[])"])?;
    if !r.is_ok() {
        return Err(format!("UID FETCH: {}", r.typ).into());
    }
    let n = r
        .data
        .iter()
        .map(|d| match d {
            Data::Literal(l) => l.body.len() as u64,
            _ => 0,
        })
        .sum();
    drop(r);
    m.logout()?;
    Ok(n)
}

/// The reference: LOGIN, SELECT, `UID FETCH 2 (BODY.PEEK[])` and LOGOUT
/// over a bare socket, every byte read into one reused buffer and dropped;
/// returns the number of bytes received. (`floor.rs` sends the other
/// workloads' commands, `1:*` or ranges after EXAMINE, hence this one.)
fn floor(port: u16, password: &str) -> Result<u64, Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    let mut buf = vec![0u8; FLOOR_BUF];
    let mut tail = Vec::with_capacity(3 * TAIL);
    let mut total = 0u64;
    let mut wait = |stream: &mut TcpStream, prefix: &[u8]| -> Result<(), Error> {
        // Reads until the stream pauses after a complete line that starts
        // with `prefix` (the server sends nothing after a tagged response,
        // so only the end of each read needs looking at).
        tail.clear();
        tail.extend_from_slice(b"\r\n");
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            total += n as u64;
            let got = &buf[..n];
            if got.len() >= TAIL {
                tail.clear();
                tail.extend_from_slice(&got[got.len() - TAIL..]);
            } else {
                tail.extend_from_slice(got);
                if tail.len() > 2 * TAIL {
                    tail.drain(..tail.len() - TAIL);
                }
            }
            if let Some(body) = tail.strip_suffix(b"\r\n") {
                let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let line = &body[start..];
                if let Some(rest) = line.strip_prefix(prefix) {
                    return if rest.starts_with(b"OK") {
                        Ok(())
                    } else {
                        Err(String::from_utf8_lossy(line).into_owned().into())
                    };
                }
            }
        }
    };
    wait(&mut stream, b"* ")?; // the greeting
    let commands = [
        format!("LOGIN bench {password}"),
        "SELECT INBOX".to_string(),
        format!("UID FETCH {UID} (BODY.PEEK[])"),
        "LOGOUT".to_string(),
    ];
    for (i, command) in commands.iter().enumerate() {
        let tag = format!("f{}", i + 1);
        stream.write_all(format!("{tag} {command}\r\n").as_bytes())?;
        wait(&mut stream, format!("{tag} ").as_bytes())?;
    }
    Ok(total)
}
