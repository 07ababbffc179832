//! End-to-end benchmark: imap4 against CPython's imaplib on a real Dovecot.
//!
//! ```text
//! cargo run --release -p imap4-bench [-- [--messages N] [--runs N] [--out FILE] [--no-append]]
//! ```
//!
//! Starts the test kit's Dovecot with `N` (default 10,000) generated
//! messages for user `bench`, then runs two workloads, each client in a child
//! process of its own so that CPU time and peak RSS are per client:
//!
//! - `envelope`: `UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
//!   imap4 turns every response into a typed, fully parsed
//!   [`imap4_proto::parse::Fetch`] (ENVELOPE included) and keeps them all;
//!   imaplib returns the unparsed bytes.
//! - `bodies`: every message's `BODY.PEEK[]`, `UID FETCH a:b` in chunks of 100.
//!
//! The clients: imap4 through its typed API (`m.typed().uid_fetch(…)`),
//! imap4 through its imaplib API (`m.uid("FETCH", …)`; in `envelope` the
//! data is put back into wire form and parsed with `parse_response`), and
//! CPython's imaplib (`imaplib_client.py`, run with `python3 -c`), the typed
//! peers from crates.io (`imap` and `async-imap`, see `peers.rs`), ImapFlow
//! on Node.js where `node` and `npm` are installed (`imapflow/client.mjs`,
//! installed with `npm ci` from its lock file into `target/imapflow-peer`;
//! the row is left out otherwise); plus a reference row, the "floor" (see
//! `floor.rs`).
//!
//! Each child measures its own wall time, CPU time (user + sys, from
//! `getrusage`, from just before connecting to just after LOGOUT) and peak RSS
//! (`VmHWM`). Rounds rotate the order of the clients; the table shows the
//! median of the rounds, and is appended to `BENCHMARKS.md` at the workspace
//! root.
//!
//! Other sub-commands (used by the above, or by hand):
//! - `client imap4|imap4-imaplib|imap4-each|imap4-tokio|rust-imap|async-imap|floor envelope|bodies HOST PORT`: one
//!   client run;
//! - `compress [--runs N]`: COMPRESS=DEFLATE in both drivers (see
//!   `compress.rs`), and its child `compress-client DRIVER MODE PORT PASSWORD`;
//! - `body [--runs N]`: one 200 MiB body streamed in one command (see
//!   `body.rs`), and its child `body-client WAY PORT PASSWORD SIZE`;
//! - `cli [--runs N] [--list-runs N] [--append]`: the `imap4` command
//!   against curl and Himalaya, one shot each (see `cli.rs`), and its
//!   children `cli-child` and `cli-floor`;
//! - `idle-scale [--sessions N]`: RSS per idle async session (see
//!   `idle_scale.rs`), and its children `idle-scale-client PORT N` and
//!   `idle-scale-server N`;
//! - `serve [--messages N]`: only the Dovecot, for profiling a client by hand;
//! - `capture-fixtures DIR`: records the parser benchmark's inputs from Dovecot.
#![forbid(unsafe_code)]

mod body;
mod capture;
mod cli;
mod compress;
mod floor;
mod hostile;
mod idle_scale;
mod peers;
mod pipeline;
mod stream;

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use imap4::typed::{Bound, FetchAttr, Fetches, UidSet};
use imap4::{Data, Imap4};
use imap4_proto::parse::{parse_response, Fetch, FetchItem, Response, Untagged};

/// The CPython side, run with `python3 -c`.
const IMAPLIB_CLIENT: &str = include_str!("../imaplib_client.py");
/// Messages per `UID FETCH` in the `bodies` workload.
const CHUNK: usize = 100;
/// What the `envelope` workload fetches.
const ENVELOPE_ITEMS: &str = "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)";
/// The issue's target: imap4's client CPU at most this fraction of imaplib's.
const CPU_TARGET: f64 = 0.2;

type Error = Box<dyn std::error::Error>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("client") => client(&args[1..]),
        Some("body") => body::run(&args[1..]),
        Some("cli") => cli::run(&args[1..]),
        Some("cli-child") => cli::child(&args[1..]),
        Some("cli-floor") => cli::floor(&args[1..]),
        Some("body-client") => body::client(&args[1..]),
        Some("hostile") => hostile::run(),
        Some("idle-scale") => idle_scale::run(&args[1..]),
        Some("idle-scale-client") => idle_scale::client(&args[1..]),
        Some("idle-scale-server") => idle_scale::server(&args[1..]),
        Some("pipeline") => pipeline::run(),
        Some("stream") => stream::run(),
        Some("compress") => compress::run(&args[1..]),
        Some("compress-client") => compress::client(&args[1..]),
        Some("stream-client") => match (
            args.get(1),
            args.get(2).and_then(|p| p.parse().ok()),
            args.get(3),
        ) {
            (Some(way), Some(port), Some(pw)) => stream::client(way, port, pw),
            _ => Err("usage: imap4-bench stream-client WAY PORT PASSWORD".into()),
        },
        Some("hostile-client") => match (args.get(1), args.get(2).and_then(|p| p.parse().ok())) {
            (Some(case), Some(port)) => hostile::client(case, port),
            _ => Err("usage: imap4-bench hostile-client CASE PORT".into()),
        },
        Some("serve") => serve(&args[1..]),
        Some("capture-fixtures") => match args.get(1) {
            Some(dir) => capture::run(Path::new(dir)).map_err(Error::from),
            None => Err("usage: imap4-bench capture-fixtures DIR".into()),
        },
        Some("-h") | Some("--help") => {
            println!("{}", usage());
            Ok(())
        }
        _ => Options::parse(&args).and_then(|o| orchestrate(&o)),
    };
    if let Err(e) = result {
        eprintln!("imap4-bench: {e}");
        std::process::exit(1);
    }
}

/// `[--runs N]` (default 3, at least 1), the only argument of the
/// `body` and `compress` sub-commands.
fn runs_arg(args: &[String]) -> Result<usize, Error> {
    let mut rounds = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                rounds = it
                    .next()
                    .ok_or("--runs needs a value")?
                    .parse::<usize>()?
                    .max(1)
            }
            _ => return Err(format!("unknown argument {a:?}").into()),
        }
    }
    Ok(rounds)
}

fn usage() -> &'static str {
    "usage: imap4-bench [--messages N] [--runs N] [--out FILE] [--no-append]\n\
     \x20      imap4-bench client imap4|imap4-imaplib|imap4-each|imap4-tokio|rust-imap|async-imap|floor envelope|bodies HOST PORT\n\
     \x20      imap4-bench serve [--messages N]   (for profiling a client by hand)\n\
     \x20      imap4-bench capture-fixtures DIR\n\
     \x20      imap4-bench hostile   (client peak RSS per hostile-server class)\n\
     \x20      imap4-bench idle-scale [--sessions N]  (RSS per idle async session: N and 1,000 in IDLE)\n\
     \x20      imap4-bench pipeline  (naive, pipelined, batched fetches over 5 ms links)\n\
     \x20      imap4-bench stream    (peak RSS: collected vs streamed ENVELOPE listing)\n\
     \x20      imap4-bench body [--runs N]      (one 200 MiB body: streamed, chunked, held; CPU vs a bare socket)\n\
     \x20      imap4-bench compress [--runs N]  (wire bytes and CPU without and with COMPRESS=DEFLATE)\n\
     \x20      imap4-bench cli [--runs N] [--list-runs N] [--append]  (the imap4 command vs curl and Himalaya, one shot each)\n\
     Set IMAP4_BENCH_PYTHON to choose the Python interpreter (default python3)."
}

// ----- the orchestrator -------------------------------------------------------

/// `serve`: the benchmark's Dovecot, until stdin closes (to profile a client
/// by hand: `valgrind --tool=callgrind imap4-bench client imap4 envelope
/// 127.0.0.1 PORT`).
fn serve(args: &[String]) -> Result<(), Error> {
    let o = Options::parse(args)?;
    let server = imap4_testkit::Dovecot::builder()
        .messages("bench", o.messages, 42)
        .start()?;
    println!("127.0.0.1 {}", server.port());
    io::stdout().flush()?;
    let mut sink = String::new();
    while io::stdin().read_line(&mut sink)? > 0 {}
    drop(server);
    Ok(())
}

struct Options {
    messages: usize,
    runs: usize,
    out: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, Error> {
        let mut o = Options {
            messages: 10_000,
            runs: 9,
            out: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../BENCHMARKS.md")),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--messages" => o.messages = value()?.parse()?,
                "--runs" => o.runs = value()?.parse::<usize>()?.max(1),
                "--out" => o.out = Some(PathBuf::from(value()?)),
                "--no-append" => o.out = None,
                _ => return Err(format!("unknown argument {a:?}\n{}", usage()).into()),
            }
        }
        Ok(o)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Envelope,
    Bodies,
}

impl Workload {
    fn arg(self) -> &'static str {
        match self {
            Workload::Envelope => "envelope",
            Workload::Bodies => "bodies",
        }
    }

    fn describe(self, messages: usize) -> String {
        match self {
            Workload::Envelope => format!(
                "(a) `UID FETCH 1:* {ENVELOPE_ITEMS}`, {messages} messages (imap4: typed, fully parsed)"
            ),
            Workload::Bodies => format!(
                "(b) `UID FETCH a:b (BODY.PEEK[])` in chunks of {CHUNK}, {messages} messages"
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    /// imap4's typed API (`m.typed().uid_fetch(…)`).
    Imap4 = 0,
    /// imap4's imaplib API (`m.uid("FETCH", …)`), FETCH data parsed with
    /// `parse_response` in (a).
    Imap4Imaplib = 1,
    Imaplib = 2,
    /// A reference, not a client: the same commands over a bare socket,
    /// everything received read into one reused buffer and dropped.
    Floor = 3,
    /// rust-imap (`imap` 3.0.0-alpha.15), typed.
    RustImap = 4,
    /// async-imap 0.12 on tokio, typed.
    AsyncImap = 5,
    /// imap4's typed API, streamed (`uid_fetch_each`: each response parsed
    /// and dropped as it arrives, as async-imap's stream does).
    Imap4Each = 6,
    /// imap4's typed API on its tokio driver (`imap4::tokio`), collected
    /// as [`Client::Imap4`]: the same runtime as async-imap's row.
    Imap4Tokio = 7,
    /// ImapFlow 2.10.2 on Node.js (`imapflow/client.mjs`), typed: only
    /// where `node` and `npm` are (see [`imapflow_peer`]).
    ImapFlow = 8,
}

const CLIENTS: [Client; 9] = [
    Client::Imap4Tokio,
    Client::Imap4Each,
    Client::Imap4,
    Client::Imap4Imaplib,
    Client::Imaplib,
    Client::Floor,
    Client::RustImap,
    Client::AsyncImap,
    Client::ImapFlow,
];

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Imap4 => "imap4, typed API",
            Client::Imap4Imaplib => "imap4, imaplib API",
            Client::Imaplib => "CPython imaplib",
            Client::Floor => "(floor: read & discard, no parsing)",
            Client::RustImap => "rust-imap 3.0.0-alpha.15 (`imap`), typed",
            Client::AsyncImap => "async-imap 0.12 (tokio), typed",
            Client::Imap4Each => "imap4, typed API, streamed (`uid_fetch_each`)",
            Client::Imap4Tokio => "imap4 on tokio, typed API (`m.typed().uid_fetch(…).await`)",
            Client::ImapFlow => "ImapFlow 2.10.2 (Node.js), typed",
        }
    }

    /// The `client` sub-command's name for it (none for the Python one).
    fn arg(self) -> &'static str {
        match self {
            Client::Imap4 => "imap4",
            Client::Imap4Imaplib => "imap4-imaplib",
            Client::Imaplib => "",
            Client::Floor => "floor",
            Client::RustImap => "rust-imap",
            Client::AsyncImap => "async-imap",
            Client::Imap4Each => "imap4-each",
            Client::Imap4Tokio => "imap4-tokio",
            Client::ImapFlow => "imapflow",
        }
    }
}

/// What one child process reports.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    wall: f64,
    user: f64,
    sys: f64,
    /// The whole process's CPU time (interpreter start-up included).
    proc_cpu: f64,
    rss_kb: u64,
    items: u64,
    bytes: u64,
    /// Page faults (minor + major, `getrusage`) over the same span as the
    /// CPU time; 0 where a client does not report them.
    faults: u64,
}

impl Sample {
    fn cpu(&self) -> f64 {
        self.user + self.sys
    }

    fn parse(line: &str) -> Option<Sample> {
        let mut s = Sample::default();
        for kv in line.strip_prefix("RESULT ")?.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "wall" => s.wall = v.parse().ok()?,
                "user" => s.user = v.parse().ok()?,
                "sys" => s.sys = v.parse().ok()?,
                "proc_cpu" => s.proc_cpu = v.parse().ok()?,
                "rss_kb" => s.rss_kb = v.parse().ok()?,
                "items" => s.items = v.parse().ok()?,
                "bytes" => s.bytes = v.parse().ok()?,
                "faults" => s.faults = v.parse().ok()?,
                _ => {}
            }
        }
        Some(s)
    }

    fn format(&self) -> String {
        format!(
            "RESULT wall={:.6} user={:.6} sys={:.6} proc_cpu={:.6} rss_kb={} items={} bytes={} \
             faults={}",
            self.wall,
            self.user,
            self.sys,
            self.proc_cpu,
            self.rss_kb,
            self.items,
            self.bytes,
            self.faults
        )
    }
}

fn python() -> String {
    std::env::var("IMAP4_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn node() -> String {
    std::env::var("IMAP4_BENCH_NODE").unwrap_or_else(|_| "node".to_string())
}

/// The ImapFlow peer's files, installed with `npm ci` (the versions pinned
/// by `imapflow/package-lock.json`).
const IMAPFLOW_FILES: [(&str, &str); 3] = [
    ("package.json", include_str!("../imapflow/package.json")),
    (
        "package-lock.json",
        include_str!("../imapflow/package-lock.json"),
    ),
    ("client.mjs", include_str!("../imapflow/client.mjs")),
];

/// Installs the ImapFlow peer under `target/imapflow-peer` (once: `npm
/// ci` from the registry) and returns its directory; `None`, said on
/// stderr, where Node.js or npm is missing or the install fails: the run
/// goes on without that row.
fn imapflow_peer() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/imapflow-peer");
    let Some(version) = command_output(&node(), &["--version"]) else {
        eprintln!("imap4-bench: no Node.js ({}): no ImapFlow row", node());
        return None;
    };
    let installed = |dir: &Path| dir.join("node_modules/imapflow/package.json").is_file();
    let fresh = IMAPFLOW_FILES
        .iter()
        .all(|(name, text)| std::fs::read_to_string(dir.join(name)).is_ok_and(|t| t == *text));
    if !(fresh && installed(&dir)) {
        let write = || -> io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            for (name, text) in IMAPFLOW_FILES {
                std::fs::write(dir.join(name), text)?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            eprintln!(
                "imap4-bench: cannot write {}: {e}: no ImapFlow row",
                dir.display()
            );
            return None;
        }
        eprintln!("imap4-bench: installing ImapFlow with npm ci (Node.js {version})…");
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !installed(&dir) {
            eprintln!(
                "imap4-bench: npm ci failed in {}: no ImapFlow row",
                dir.display()
            );
            return None;
        }
    }
    Some(dir)
}

fn run_child(client: Client, workload: Workload, port: u16) -> Result<Sample, Error> {
    let port = port.to_string();
    let mut cmd = match client {
        Client::Imap4
        | Client::Imap4Imaplib
        | Client::Floor
        | Client::RustImap
        | Client::AsyncImap
        | Client::Imap4Each
        | Client::Imap4Tokio => {
            let mut c = Command::new(std::env::current_exe()?);
            c.args(["client", client.arg()]);
            c
        }
        Client::Imaplib => {
            let mut c = Command::new(python());
            c.args(["-c", IMAPLIB_CLIENT]);
            c
        }
        Client::ImapFlow => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/imapflow-peer");
            let mut c = Command::new(node());
            c.arg("client.mjs").current_dir(dir);
            c
        }
    };
    let out = cmd
        .args([workload.arg(), "127.0.0.1", &port])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{} {} failed ({}): {stdout}",
            client.name(),
            workload.arg(),
            out.status
        )
        .into());
    }
    stdout
        .lines()
        .find_map(Sample::parse)
        .ok_or_else(|| format!("{} printed no RESULT line: {stdout}", client.name()).into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of each measure over the rounds.
fn summarize(samples: &[Sample]) -> Sample {
    let m = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    Sample {
        wall: m(|s| s.wall),
        user: m(|s| s.user),
        sys: m(|s| s.sys),
        proc_cpu: m(|s| s.proc_cpu),
        rss_kb: m(|s| s.rss_kb as f64) as u64,
        items: samples[0].items,
        bytes: samples[0].bytes,
        faults: m(|s| s.faults as f64) as u64,
    }
}

fn orchestrate(o: &Options) -> Result<(), Error> {
    let started = Instant::now();
    eprintln!(
        "imap4-bench: starting Dovecot with {} messages…",
        o.messages
    );
    let server = imap4_testkit::Dovecot::builder()
        .messages("bench", o.messages, 42)
        .start()?;
    eprintln!(
        "imap4-bench: Dovecot up on port {} after {:.1?}",
        server.port(),
        started.elapsed()
    );
    let imapflow = imapflow_peer().is_some();
    let clients: Vec<Client> = CLIENTS
        .into_iter()
        .filter(|&c| c != Client::ImapFlow || imapflow)
        .collect();
    let workloads = [Workload::Envelope, Workload::Bodies];
    // Warm-up (not measured): Dovecot builds its index and cache, and the
    // mail files get into the page cache.
    for w in workloads {
        let s = run_child(Client::Imap4, w, server.port())?;
        eprintln!("imap4-bench: warm-up {}: {:.2} s", w.arg(), s.wall);
    }
    // samples[workload][client]
    let mut samples: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); CLIENTS.len()]; 2];
    for round in 0..o.runs {
        for (wi, &w) in workloads.iter().enumerate() {
            let mut order = clients.clone();
            order.rotate_left(round % clients.len());
            for c in order {
                let s = run_child(c, w, server.port())?;
                eprintln!(
                    "imap4-bench: round {} {} {}: wall {:.3} s, cpu {:.3} s, rss {} KiB, {} items",
                    round + 1,
                    w.arg(),
                    c.name(),
                    s.wall,
                    s.cpu(),
                    s.rss_kb,
                    s.items
                );
                samples[wi][c as usize].push(s);
            }
        }
    }
    drop(server);

    let mut table = String::new();
    let mut verdicts = Vec::new();
    table.push_str(
        "| workload | client | wall (s) | client CPU (s) | user / sys (s) | peak RSS (MiB) | page faults |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for (wi, &w) in workloads.iter().enumerate() {
        let ours = summarize(&samples[wi][Client::Imap4 as usize]);
        let ours_imaplib = summarize(&samples[wi][Client::Imap4Imaplib as usize]);
        let theirs = summarize(&samples[wi][Client::Imaplib as usize]);
        let floor = summarize(&samples[wi][Client::Floor as usize]);
        let rust_imap = summarize(&samples[wi][Client::RustImap as usize]);
        let async_imap = summarize(&samples[wi][Client::AsyncImap as usize]);
        let ours_each = summarize(&samples[wi][Client::Imap4Each as usize]);
        let ours_tokio = summarize(&samples[wi][Client::Imap4Tokio as usize]);
        let imapflow_row = imapflow.then(|| summarize(&samples[wi][Client::ImapFlow as usize]));
        let checked = [
            (Client::Imap4Each, &ours_each),
            (Client::Imap4Tokio, &ours_tokio),
            (Client::Imap4, &ours),
            (Client::Imap4Imaplib, &ours_imaplib),
            (Client::RustImap, &rust_imap),
            (Client::AsyncImap, &async_imap),
        ];
        for (c, s) in checked
            .into_iter()
            .chain(imapflow_row.as_ref().map(|s| (Client::ImapFlow, s)))
        {
            if s.items != theirs.items || s.items != o.messages as u64 {
                return Err(format!(
                    "{}: {} got {} messages, CPython {} (expected {})",
                    w.arg(),
                    c.name(),
                    s.items,
                    theirs.items,
                    o.messages
                )
                .into());
            }
            if w == Workload::Bodies && s.bytes != theirs.bytes {
                return Err(format!(
                    "bodies: {} got {} bytes, CPython {}",
                    c.name(),
                    s.bytes,
                    theirs.bytes
                )
                .into());
            }
        }
        let desc = w.describe(o.messages);
        let row = |table: &mut String, first: &str, name: &str, s: &Sample| {
            let _ = writeln!(
                table,
                "| {first} | {name} | {:.3} | {:.3} | {:.3} / {:.3} | {:.1} | {} |",
                s.wall,
                s.cpu(),
                s.user,
                s.sys,
                s.rss_kb as f64 / 1024.0,
                s.faults
            );
        };
        // a bold row of ratios: `s` against `of`
        let ratio = |table: &mut String, label: &str, s: &Sample, of: &Sample| {
            let _ = writeln!(
                table,
                "| | **{label}** | **{:.2}** | **{:.2}** | {:.2} / {:.2} | **{:.2}** | |",
                s.wall / of.wall,
                s.cpu() / of.cpu(),
                s.user / of.user,
                s.sys / of.sys,
                s.rss_kb as f64 / of.rss_kb as f64
            );
        };
        row(&mut table, &desc, Client::Imaplib.name(), &theirs);
        for (c, s) in [
            (Client::Imap4, &ours),
            (Client::Imap4Imaplib, &ours_imaplib),
        ] {
            row(&mut table, "", c.name(), s);
            ratio(&mut table, &format!("{} / CPython", c.name()), s, &theirs);
        }
        row(&mut table, "", Client::Imap4Each.name(), &ours_each);
        row(&mut table, "", Client::Imap4Tokio.name(), &ours_tokio);
        for (c, s) in [
            (Client::RustImap, &rust_imap),
            (Client::AsyncImap, &async_imap),
        ]
        .into_iter()
        .chain(imapflow_row.as_ref().map(|s| (Client::ImapFlow, s)))
        {
            row(&mut table, "", c.name(), s);
            for (label, ours) in [
                ("typed", &ours),
                ("streamed", &ours_each),
                ("tokio typed", &ours_tokio),
            ] {
                ratio(&mut table, &format!("imap4 {label} / {}", c.arg()), ours, s);
            }
        }
        row(&mut table, "", Client::Floor.name(), &floor);
        // async-imap hands out each FETCH as it arrives and keeps none:
        // imap4's streamed row does the same, the collected row keeps
        // every response (and, for (a), every parsed result).
        let peer_ratio = ours_each.cpu() / async_imap.cpu();
        let floor_ratio = ours_each.cpu() / floor.cpu();
        let faults_ratio = ours_each.faults as f64 / floor.faults.max(1) as f64;
        verdicts.push(format!(
            "- {}: client CPU imap4 streamed/async-imap = {:.2} (collected and kept: {:.2}){}; \
             imap4 typed/rust-imap = {:.2}; /floor = {:.2} (collected: {:.2}){}.",
            w.arg(),
            peer_ratio,
            ours.cpu() / async_imap.cpu(),
            if w == Workload::Envelope {
                format!(
                    " (issue 12 (a): ≤ 0.35, **{}**)",
                    if peer_ratio <= 0.35 { "met" } else { "missed" }
                )
            } else {
                String::new()
            },
            ours.cpu() / rust_imap.cpu(),
            floor_ratio,
            ours.cpu() / floor.cpu(),
            if w == Workload::Bodies {
                format!(
                    " (issue 12 (b): CPU ≤ 1.2x the floor, **{}**; page faults streamed {} \
                     (collected {}) vs the floor's {}: {:.1}x, ≤ 2x **{}**)",
                    if floor_ratio <= 1.2 { "met" } else { "missed" },
                    ours_each.faults,
                    ours.faults,
                    floor.faults,
                    faults_ratio,
                    if faults_ratio <= 2.0 { "met" } else { "missed" },
                )
            } else {
                String::new()
            }
        ));
        let cpu_ratio = ours.cpu() / theirs.cpu();
        verdicts.push(format!(
            "- {}: client CPU imap4 (typed API)/CPython = {:.2} (target ≤ {CPU_TARGET:.2}): **{}** \
             (imaplib API: {:.2}). The read-and-discard floor is {:.2} of CPython's CPU{}.",
            w.arg(),
            cpu_ratio,
            if cpu_ratio <= CPU_TARGET {
                "met"
            } else {
                "missed"
            },
            ours_imaplib.cpu() / theirs.cpu(),
            floor.cpu() / theirs.cpu(),
            if w == Workload::Bodies {
                format!(
                    " ({:.1} MiB of bodies)",
                    ours.bytes as f64 / (1 << 20) as f64
                )
            } else {
                String::new()
            }
        ));
        verdicts.push(format!(
            "  Whole-process CPU, start-up included: imap4 {:.3} s, CPython {:.3} s.",
            ours.proc_cpu, theirs.proc_cpu
        ));
    }

    let report = format!(
        "## End-to-end: imap4 vs CPython imaplib, rust-imap, async-imap and ImapFlow ({date})\n\n\
         Command: `cargo run --release -p imap4-bench` (median of {runs} rounds after a warm-up, \
         the order of the clients rotating; each client in its own process; CPU = user + sys \
         from just before connecting to just after LOGOUT, by getrusage — the sum is exact, \
         the user/sys split is sampled by the kernel; RSS = VmHWM).\n\n\
         Machine: {machine}\n\n\
         {table}\n\
         {verdicts}\n",
        date = now_utc(),
        runs = o.runs,
        machine = machine(),
        verdicts = verdicts.join("\n"),
    );
    println!("\n{report}");
    if let Some(path) = &o.out {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        write!(f, "\n{report}")?;
        eprintln!("imap4-bench: appended to {}", path.display());
    }
    Ok(())
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn now_utc() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "date unknown".into())
}

/// CPU model and count, kernel, and the versions of the other programs.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let py = command_output(&python(), &["--version"]).unwrap_or_else(|| "python3 ?".into());
    let dovecot = command_output("dovecot", &["--version"]).unwrap_or_else(|| "?".into());
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into());
    let node = command_output(&node(), &["--version"])
        .map_or_else(|| "no Node.js".into(), |v| format!("Node.js {v}"));
    format!(
        "{cores} cores ({model}), Linux {}, {rustc}, {py}, {node}, Dovecot {dovecot}",
        kernel.trim()
    )
}

// ----- the imap4 client -------------------------------------------------------

fn client(args: &[String]) -> Result<(), Error> {
    let [which, mode, host, port] = args else {
        return Err(usage().into());
    };
    let port: u16 = port.parse()?;
    let sample = measure(|| match which.as_str() {
        "imap4" => imap4_client(mode, host, port, true),
        "imap4-imaplib" => imap4_client(mode, host, port, false),
        "floor" => Ok(floor::run(mode, host, port, CHUNK, ENVELOPE_ITEMS)?),
        "rust-imap" => peers::rust_imap(mode, host, port),
        "imap4-each" => imap4_each(mode, host, port),
        "imap4-tokio" => imap4_tokio(mode, host, port),
        "async-imap" => peers::async_imap(mode, host, port),
        _ => {
            Err(format!("unknown client {which:?} (the imaplib client is a Python script)").into())
        }
    })?;
    println!("{}", sample.format());
    io::stdout().flush()?;
    Ok(())
}

/// Runs one client's session `f` (which returns its item and byte
/// counts) and measures it: wall time and CPU time (user + sys,
/// `getrusage`) around it, and the process's peak RSS after it.
fn measure(f: impl FnOnce() -> Result<(u64, u64), Error>) -> Result<Sample, Error> {
    let f0 = page_faults()?;
    let (u0, s0) = cpu_times()?;
    let t0 = Instant::now();
    let (items, bytes) = f()?;
    let wall = t0.elapsed().as_secs_f64();
    let (u1, s1) = cpu_times()?;
    let f1 = page_faults()?;
    Ok(Sample {
        wall,
        user: u1 - u0,
        sys: s1 - s0,
        proc_cpu: u1 + s1,
        rss_kb: vm_hwm_kb(),
        items,
        bytes,
        faults: f1.saturating_sub(f0),
    })
}

fn imap4_client(mode: &str, host: &str, port: u16, typed: bool) -> Result<(u64, u64), Error> {
    let mut m = Imap4::connect(host, port)?;
    m.login("bench", "secret")?;
    let n = if typed {
        m.typed().examine("INBOX")?.exists as usize
    } else {
        let r = m.select("INBOX", true)?;
        match r.data.first().and_then(Data::as_line) {
            Some(l) => String::from_utf8_lossy(l).trim().parse()?,
            None => return Err("SELECT returned no message count".into()),
        }
    };
    let counts = match (mode, typed) {
        ("envelope", true) => typed_envelopes(&mut m)?,
        ("envelope", false) => envelopes(&mut m)?,
        ("bodies", true) => typed_bodies(&mut m, n)?,
        ("bodies", false) => bodies(&mut m, n)?,
        _ => return Err(format!("unknown mode {mode:?}").into()),
    };
    m.logout()?;
    Ok(counts)
}

/// imap4's typed API on the tokio driver (a current-thread runtime, as
/// async-imap's row), collected as [`typed_envelopes`] and
/// [`typed_bodies`] do.
fn imap4_tokio(mode: &str, host: &str, port: u16) -> Result<(u64, u64), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut m = imap4::tokio::Imap4::connect(host, port).await?;
        m.login("bench", "secret").await?;
        let n = m.typed().examine("INBOX").await?.exists as usize;
        let counts = match mode {
            "envelope" => count_envelopes(
                &m.typed()
                    .uid_fetch(&UidSet::all(), &envelope_attrs())
                    .await?,
            )?,
            "bodies" => {
                let (mut items, mut bytes) = (0, 0);
                for (a, b) in chunks(n, CHUNK) {
                    let fetches = m
                        .typed()
                        .uid_fetch(&range(a, b), &[FetchAttr::full_peek()])
                        .await?;
                    let (i, by) = count_bodies(&fetches)?;
                    items += i;
                    bytes += by;
                }
                (items, bytes)
            }
            _ => return Err(format!("unknown mode {mode:?}").into()),
        };
        m.logout().await?;
        Ok(counts)
    })
}

/// imap4's typed API, streamed: `uid_fetch_each` (each response parsed
/// and dropped as it comes).
fn imap4_each(mode: &str, host: &str, port: u16) -> Result<(u64, u64), Error> {
    let mut m = Imap4::connect(host, port)?;
    m.login("bench", "secret")?;
    let n = m.typed().examine("INBOX")?.exists as usize;
    let (mut items, mut bytes) = (0u64, 0u64);
    let mut bad: Option<String> = None;
    match mode {
        "envelope" => {
            m.typed()
                .uid_fetch_each(
                    &UidSet::all(),
                    &envelope_attrs(),
                    |f| match complete_envelope_fetch(&f) {
                        Ok(size) => {
                            items += 1;
                            bytes += size;
                        }
                        Err(e) => bad = Some(e.to_string()),
                    },
                )?;
        }
        "bodies" => {
            let attrs = [FetchAttr::full_peek()];
            for (a, b) in chunks(n, CHUNK) {
                m.typed()
                    .uid_fetch_each(&range(a, b), &attrs, |f| match f.section("") {
                        Some(body) => {
                            items += 1;
                            bytes += body.len() as u64;
                        }
                        None => bad = Some("a FETCH without BODY[]".into()),
                    })?;
            }
        }
        _ => return Err(format!("unknown mode {mode:?}").into()),
    }
    if let Some(e) = bad {
        return Err(e.into());
    }
    m.logout()?;
    Ok((items, bytes))
}

/// Checks that a FETCH has all of (a)'s items; returns its RFC822.SIZE.
fn complete_envelope_fetch(f: &Fetch<'_>) -> Result<u64, Error> {
    let mut have = [false; 4];
    let mut size = 0;
    for item in &f.items {
        match item {
            FetchItem::Flags(_) => have[0] = true,
            FetchItem::InternalDate(_) => have[1] = true,
            FetchItem::Rfc822Size(n) => {
                have[2] = true;
                size = *n;
            }
            FetchItem::Envelope(_) => have[3] = true,
            _ => {}
        }
    }
    if have != [true; 4] {
        return Err(format!("incomplete FETCH: {f:?}").into());
    }
    Ok(size)
}

/// (a) with the typed API: every message's flags, date, size and envelope,
/// parsed and kept.
fn typed_envelopes(m: &mut Imap4) -> Result<(u64, u64), Error> {
    count_envelopes(&m.typed().uid_fetch(&UidSet::all(), &envelope_attrs())?)
}

/// (b) with the typed API: `UID FETCH a:b (BODY.PEEK[])` in chunks, each
/// response parsed (the literal is borrowed, not copied).
fn typed_bodies(m: &mut Imap4, n: usize) -> Result<(u64, u64), Error> {
    let (mut items, mut bytes) = (0u64, 0u64);
    for (a, b) in chunks(n, CHUNK) {
        let (i, by) = count_bodies(
            &m.typed()
                .uid_fetch(&range(a, b), &[FetchAttr::full_peek()])?,
        )?;
        items += i;
        bytes += by;
    }
    Ok((items, bytes))
}

/// (a) with the imaplib API: every message's flags, date, size and
/// envelope, typed by putting imaplib's shapes back into wire form and
/// parsing them.
fn envelopes(m: &mut Imap4) -> Result<(u64, u64), Error> {
    let r = m.uid("FETCH", &["1:*", ENVELOPE_ITEMS])?;
    if !r.is_ok() {
        return Err(format!("UID FETCH: {r:?}").into());
    }
    // The imaplib shapes, put back into wire form (one buffer for all),
    // then parsed.
    let (wire, spans) = reassemble(&r.data);
    drop(r);
    let mut fetches: Vec<Fetch<'_>> = Vec::with_capacity(spans.len());
    for span in spans {
        match parse_response(&wire[span.clone()]) {
            Ok(Response::Data(Untagged::Fetch(f))) => fetches.push(f),
            Ok(other) => return Err(format!("not a FETCH: {other:?}").into()),
            Err(e) => return Err(format!("{e}: {:?}", String::from_utf8_lossy(&wire[span])).into()),
        }
    }
    let mut bytes = 0u64;
    for f in &fetches {
        bytes += complete_envelope_fetch(f)?;
    }
    Ok((fetches.len() as u64, bytes))
}

/// Puts imaplib-shaped FETCH data back into wire form: `* N FETCH …` with
/// its literals, each response CRLF-terminated, all in one buffer; returns
/// the buffer and each response's span.
fn reassemble(data: &[Data]) -> (Vec<u8>, Vec<Range<usize>>) {
    fn first_line(buf: &mut Vec<u8>, dat: &[u8]) {
        // imaplib's data is `N rest`; the wire has `* N FETCH rest`.
        let sp = dat.iter().position(|&b| b == b' ').unwrap_or(dat.len());
        buf.extend_from_slice(b"* ");
        buf.extend_from_slice(&dat[..sp]);
        buf.extend_from_slice(b" FETCH");
        buf.extend_from_slice(&dat[sp..]);
    }
    let total: usize = data
        .iter()
        .map(|d| match d {
            Data::Line(l) => l.len() + 12,
            Data::Literal(l) => l.header.len() + l.body.len() + 12,
            _ => 0,
        })
        .sum();
    let mut buf = Vec::with_capacity(total);
    let mut spans = Vec::with_capacity(data.len());
    let mut start: Option<usize> = None;
    for d in data {
        let (line, body) = match d {
            Data::Line(l) => (l, None),
            Data::Literal(l) => (&l.header, Some(&l.body)),
            _ => continue,
        };
        if start.is_none() {
            start = Some(buf.len());
            first_line(&mut buf, line);
        } else {
            buf.extend_from_slice(line);
        }
        buf.extend_from_slice(b"\r\n");
        match body {
            Some(b) => buf.extend_from_slice(b),
            None => {
                if let Some(s) = start.take() {
                    spans.push(s..buf.len());
                }
            }
        }
    }
    (buf, spans)
}

/// (b) with the imaplib API: every body, `UID FETCH a:b (BODY.PEEK[])` in
/// chunks.
fn bodies(m: &mut Imap4, n: usize) -> Result<(u64, u64), Error> {
    let (mut items, mut bytes) = (0u64, 0u64);
    for (a, b) in chunks(n, CHUNK) {
        let r = m.uid("FETCH", &[&format!("{a}:{b}"), "(BODY.PEEK[])"])?;
        if !r.is_ok() {
            return Err(format!("UID FETCH {a}:{b}: {}", r.typ).into());
        }
        for d in &r.data {
            if let Data::Literal(l) = d {
                items += 1;
                bytes += l.body.len() as u64;
            }
        }
    }
    Ok((items, bytes))
}

/// The `bodies` workload's UID ranges for `n` messages: `(a, b)` for
/// `UID FETCH a:b`, `chunk` messages each.
pub fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    (1..=n)
        .step_by(chunk.max(1))
        .map(move |a| (a, (a + chunk.max(1) - 1).min(n)))
}

/// What (a) asks for: flags, date, size and envelope.
fn envelope_attrs() -> [FetchAttr; 4] {
    [
        FetchAttr::Flags,
        FetchAttr::InternalDate,
        FetchAttr::Rfc822Size,
        FetchAttr::Envelope,
    ]
}

/// (a)'s answer, every response parsed and kept: (messages, sizes).
fn count_envelopes(fetches: &Fetches) -> Result<(u64, u64), Error> {
    let parsed = fetches.iter().collect::<Result<Vec<Fetch<'_>>, _>>()?;
    let mut bytes = 0;
    for f in &parsed {
        bytes += complete_envelope_fetch(f)?;
    }
    Ok((parsed.len() as u64, bytes))
}

/// One (b) answer, every response parsed (the literal is borrowed, not
/// copied): (messages, body bytes).
fn count_bodies(fetches: &Fetches) -> Result<(u64, u64), Error> {
    let (mut items, mut bytes) = (0u64, 0u64);
    for f in fetches.iter() {
        let f = f?;
        let body = f.section("").ok_or_else(|| format!("no BODY[] in {f:?}"))?;
        items += 1;
        bytes += body.len() as u64;
    }
    Ok((items, bytes))
}

/// The UID set `a:b`.
fn range(a: usize, b: usize) -> UidSet {
    UidSet::range(a as u32, Bound::Num(b as u32))
}

/// This process's user and system CPU time so far, in seconds.
fn cpu_times() -> Result<(f64, f64), Error> {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_SELF)?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok((secs(u.user_time()), secs(u.system_time())))
}

/// This process's page faults so far (minor + major).
fn page_faults() -> Result<u64, Error> {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_SELF)?;
    Ok((u.minor_page_faults() + u.major_page_faults()).max(0) as u64)
}

/// Peak resident set size (VmHWM) in KiB.
fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
