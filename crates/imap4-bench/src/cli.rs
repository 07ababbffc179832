//! `imap4-bench cli`: the `imap4` command against curl and Himalaya, one
//! shot each (connect to exit), as a shell script would run them.
//!
//! Starts the test kit's Dovecot with 10,000 generated messages in
//! `alice`'s INBOX and 1,000 in `bob`'s (for the flat-RSS check), then
//! runs every command as a child process of `imap4-bench cli-child`, which
//! spawns it, waits for it, and reports its wall time, its user + sys CPU
//! and its peak RSS (`getrusage(RUSAGE_CHILDREN)`: the wrapper has exactly
//! one child, so `ru_maxrss` is that child's). All clients speak plaintext
//! IMAP over loopback. The workloads:
//!
//! - `fetch`: one message by UID (the middle one) to `/dev/null`:
//!   `imap4 show UID`, `himalaya message read --raw UID`,
//!   `curl imap://…/INBOX;UID=N`;
//! - `ls`: the mailboxes: `imap4 ls` (with counts: one STATUS per
//!   mailbox), `imap4 ls --no-counts`, `himalaya mailbox list`, curl's
//!   LIST (`imap://…/`);
//! - `list`: every envelope as JSON: `imap4 list --json` (JSON Lines),
//!   `himalaya --json envelope list --page-size N` (one JSON document);
//!   curl has no such command. `imap4 list --json` on bob's 1,000 messages
//!   too: its peak RSS should match the 10,000-message one.
//!
//! A floor row per workload (`cli-floor`: this executable, a bare socket
//! sending LOGIN and the same commands, reading until the tagged reply)
//! shows what the server and one process start cost any client.
//!
//! Outputs are checked on a first (warm-up) run of every row, written to
//! files: imap4's `show` must equal the message's bytes fetched with
//! `BODY.PEEK[]` through the library (or the bench fails), its `list
//! --json` must have one `{"uid":…}` line per message, its `ls` must list
//! INBOX with its count; the other clients' results are shown in the
//! table's check column. The timed runs write to `/dev/null` and must exit
//! 0. Rounds rotate the order of the rows; the table gives medians.
//!
//! ```text
//! cargo build --release -p imap4-bench -p imap4-cli
//! ./target/release/imap4-bench cli [--runs N] [--list-runs N] [--messages N] [--append] [--out FILE]
//! ```
//!
//! `--runs` (default 5) counts the one-shot rounds, `--list-runs`
//! (default 3) the envelope-listing rounds; the section is printed, and
//! appended to `BENCHMARKS.md` (or `--out`) only with `--append`.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use imap4::Imap4;

use crate::{machine, median, now_utc, Error};

const USER: &str = "alice";
const SMALL_USER: &str = "bob";
const PASSWORD: &str = "secret";
/// Generated-message seeds of the two mailboxes.
const SEED: u64 = 42;
const SMALL_SEED: u64 = 43;
/// The issue's targets, in milliseconds of wall time (connect to exit).
const FETCH_TARGET_MS: f64 = 15.0;
const LS_TARGET_MS: f64 = 10.0;
const LIST_TARGET_MS: f64 = 150.0;

struct Options {
    runs: usize,
    list_runs: usize,
    messages: usize,
    out: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, Error> {
        let mut o = Options {
            runs: 5,
            list_runs: 3,
            messages: 10_000,
            out: None,
        };
        let default_out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../BENCHMARKS.md");
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--runs" => o.runs = value()?.parse::<usize>()?.max(1),
                "--list-runs" => o.list_runs = value()?.parse::<usize>()?.max(1),
                "--messages" => o.messages = value()?.parse::<usize>()?.max(10),
                "--append" => o.out = Some(o.out.take().unwrap_or_else(|| default_out.clone())),
                "--out" => o.out = Some(PathBuf::from(value()?)),
                _ => {
                    return Err(format!(
                        "unknown argument {a:?}\nusage: imap4-bench cli [--runs N] \
                         [--list-runs N] [--messages N] [--append] [--out FILE]"
                    )
                    .into())
                }
            }
        }
        Ok(o)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Fetch,
    Ls,
    List,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Fetch => "fetch one message",
            Workload::Ls => "list mailboxes",
            Workload::List => "all envelopes as JSON",
        }
    }
}

/// What a row's output must show.
#[derive(Clone)]
enum Check {
    /// Exactly these bytes; `strict`: the bench fails otherwise.
    Bytes { want: Vec<u8>, strict: bool },
    /// Mentions INBOX (any case); with `count`, also that number.
    Inbox { count: Option<usize>, strict: bool },
    /// JSON Lines: `n` lines, each an object starting `{"uid":`.
    JsonLines(usize),
    /// One JSON document with `n` `"id":` keys (Himalaya's listing).
    JsonIds(usize),
    /// The floor reports its byte count only.
    Floor,
}

/// One row of the table: a command run as a child process.
struct Row {
    workload: Workload,
    label: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    check: Check,
    /// Which row's wall time the ratio column divides by.
    base: bool,
    checked: String,
    samples: Vec<Sample>,
}

#[derive(Clone, Copy, Default)]
struct Sample {
    wall: f64,
    user: f64,
    sys: f64,
    rss_kb: u64,
}

impl Sample {
    fn parse(line: &str) -> Option<(Sample, i32)> {
        let mut s = Sample::default();
        let mut code = -1;
        for kv in line.strip_prefix("CHILD ")?.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "wall" => s.wall = v.parse().ok()?,
                "user" => s.user = v.parse().ok()?,
                "sys" => s.sys = v.parse().ok()?,
                "rss_kb" => s.rss_kb = v.parse().ok()?,
                "code" => code = v.parse().ok()?,
                _ => {}
            }
        }
        Some((s, code))
    }
}

/// `cli-child OUT PROGRAM ARGS…`: runs PROGRAM with stdout to OUT (and
/// stderr to OUT.err unless OUT is /dev/null), and prints `CHILD wall=…
/// user=… sys=… rss_kb=… code=…` for it.
pub fn child(args: &[String]) -> Result<(), Error> {
    let [out, program, rest @ ..] = args else {
        return Err("usage: imap4-bench cli-child OUT PROGRAM [ARGS…]".into());
    };
    let stdout = std::fs::File::create(out)?;
    let stderr = if out == "/dev/null" {
        Stdio::null()
    } else {
        Stdio::from(std::fs::File::create(format!("{out}.err"))?)
    };
    let t0 = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .status()?;
    let wall = t0.elapsed().as_secs_f64();
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    println!(
        "CHILD wall={wall:.6} user={:.6} sys={:.6} rss_kb={} code={}",
        secs(u.user_time()),
        secs(u.system_time()),
        u.max_rss(),
        status.code().unwrap_or(-1)
    );
    Ok(())
}

/// `cli-floor fetch|ls|list PORT USER [UID]`: a bare socket: LOGIN, the
/// workload's commands, LOGOUT, every reply read and dropped; prints the
/// bytes received (the floor's "output").
pub fn floor(args: &[String]) -> Result<(), Error> {
    let (mode, port, user) = match args {
        [m, p, u, ..] => (m.as_str(), p.parse::<u16>()?, u.as_str()),
        _ => {
            return Err(
                "usage: imap4-bench cli-floor fetch|ls|ls-counts|list PORT USER [UID]".into(),
            )
        }
    };
    let uid = args.get(3).map(String::as_str).unwrap_or("1");
    let fetch = format!("UID FETCH {uid} (BODY.PEEK[])");
    let commands: Vec<&str> = match mode {
        "fetch" => vec!["EXAMINE INBOX", &fetch],
        "ls" => vec!["LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE)"],
        "ls-counts" => {
            vec!["LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))"]
        }
        "list" => vec![
            "EXAMINE INBOX",
            "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)",
        ],
        _ => return Err(format!("unknown floor mode {mode:?}").into()),
    };
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    let mut tail: Vec<u8> = Vec::new();
    // the greeting, then each command until its tagged reply
    let mut wait_for = |s: &mut TcpStream, marker: &[u8]| -> Result<(), Error> {
        tail.clear();
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            total += n as u64;
            tail.extend_from_slice(&buf[..n]);
            if let Some(at) = find(&tail, marker) {
                let rest = &tail[at + marker.len()..];
                if rest.contains(&b'\n') {
                    if !rest.starts_with(b"OK") && !rest.starts_with(b" OK") {
                        return Err(format!(
                            "floor: {}",
                            String::from_utf8_lossy(&tail[at..]).trim()
                        )
                        .into());
                    }
                    return Ok(());
                }
            }
            let keep = tail.len().saturating_sub(256);
            tail.drain(..keep);
        }
    };
    wait_for(&mut s, b"* ")?;
    let login = format!("LOGIN {user} {PASSWORD}");
    let all = std::iter::once(login.as_str())
        .chain(commands)
        .chain(std::iter::once("LOGOUT"));
    for (i, c) in all.enumerate() {
        s.write_all(format!("f{i} {c}\r\n").as_bytes())?;
        wait_for(&mut s, format!("f{i} ").as_bytes())?;
    }
    println!("{total}");
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Runs `row` once through `cli-child`, its output to `out`.
fn run_once(row: &Row, out: &Path) -> Result<Sample, Error> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("cli-child")
        .arg(out)
        .arg(&row.program)
        .args(&row.args)
        .env_remove("IMAP4_ACCOUNT")
        .env_remove("IMAP4_CONFIG")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in &row.env {
        cmd.env(k, v);
    }
    let o = cmd.output()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let (s, code) = text
        .lines()
        .find_map(Sample::parse)
        .ok_or_else(|| format!("cli-child printed no CHILD line for {}: {text}", row.label))?;
    if code != 0 {
        let err = std::fs::read_to_string(format!("{}.err", out.display())).unwrap_or_default();
        return Err(format!("{} exited with {code}: {}", row.label, err.trim()).into());
    }
    Ok(s)
}

/// Checks a warm-up run's output; returns the check column's text.
fn check(row: &Row, out: &[u8]) -> Result<String, Error> {
    let fail =
        |what: String| -> Result<String, Error> { Err(format!("{}: {what}", row.label).into()) };
    match &row.check {
        Check::Bytes { want, strict } => {
            if out == &want[..] {
                Ok(format!("{} bytes, exact", out.len()))
            } else if *strict {
                fail(format!(
                    "{} bytes written, not the message's {} bytes",
                    out.len(),
                    want.len()
                ))
            } else {
                Ok(format!(
                    "{} bytes, DIFFER from the message's {}",
                    out.len(),
                    want.len()
                ))
            }
        }
        Check::Inbox { count, strict } => {
            let text = String::from_utf8_lossy(out);
            let inbox = text
                .lines()
                .find(|l| l.to_ascii_lowercase().contains("inbox"));
            let ok = match (inbox, count) {
                (Some(l), Some(n)) => l.split_whitespace().any(|w| w == n.to_string()),
                (Some(_), None) => true,
                (None, _) => false,
            };
            let mailboxes = text.lines().filter(|l| !l.trim().is_empty()).count();
            match (ok, *strict) {
                (true, _) => Ok(match count {
                    Some(n) => format!("INBOX listed, {n} messages"),
                    None => "INBOX listed".into(),
                } + &format!(" ({mailboxes} lines)")),
                (false, true) => fail(format!("INBOX (with its count) not in {text:?}")),
                (false, false) => Ok("INBOX NOT listed".into()),
            }
        }
        Check::JsonLines(n) => {
            let lines: Vec<&[u8]> = out
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            let good = lines.iter().filter(|l| l.starts_with(b"{\"uid\":")).count();
            if lines.len() != *n || good != *n {
                return fail(format!(
                    "{} lines ({good} envelope objects), expected {n}",
                    lines.len()
                ));
            }
            Ok(format!("{n} JSON lines"))
        }
        Check::JsonIds(n) => {
            let ids = out.windows(5).filter(|w| w == b"\"id\":").count();
            Ok(if ids == *n {
                format!("{n} envelopes, one JSON document")
            } else {
                format!("{ids} envelopes (expected {n}), one JSON document")
            })
        }
        Check::Floor => Ok(format!(
            "{} bytes received",
            String::from_utf8_lossy(out).trim()
        )),
    }
}

/// Finds the `imap4` binary next to this executable.
fn imap4_binary() -> Result<PathBuf, Error> {
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("imap4");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no imap4 binary at {} (build it: cargo build --release -p imap4-cli)",
            bin.display()
        )
        .into())
    }
}

/// `$HIMALAYA`, /work/tools/himalaya/bin/himalaya, or on PATH.
fn himalaya_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HIMALAYA") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let tools = Path::new("/work/tools/himalaya/bin/himalaya");
    if tools.is_file() {
        return Some(tools.to_path_buf());
    }
    on_path("himalaya")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn version(program: &Path, arg: &str) -> String {
    Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The message's bytes as the server has them, through the library
/// (`BODY.PEEK[]`).
fn reference_message(port: u16, uid: u32) -> Result<Vec<u8>, Error> {
    let mut m = Imap4::connect("127.0.0.1", port)?;
    m.login(USER, PASSWORD)?;
    m.typed().examine("INBOX")?;
    let mut body = Vec::new();
    m.typed().uid_fetch_body_to(uid, "", &mut body)?;
    m.logout()?;
    Ok(body)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// `cli [--runs N] [--list-runs N] [--messages N] [--append] [--out FILE]`.
pub fn run(args: &[String]) -> Result<(), Error> {
    let o = Options::parse(args)?;
    let imap4 = imap4_binary()?;
    let himalaya = himalaya_binary();
    let curl = on_path("curl");
    let (n, small) = (o.messages, (o.messages / 10).max(1));
    // The message fetched: the first at or after the middle stored without
    // flags. Dovecot 2.3 keeps Maildir file names without their `:2,<flags>`
    // part in dovecot-uidlist and opens `cur/<that name>` first, so in every
    // session the first open of a message whose file name carries flags
    // misses and rescans all of cur/ (20 ms at 10,000 messages), whichever
    // client asks: server time the floor row would show, not the client's.
    let uid = (n / 2..n)
        .find(|&i| imap4_testkit::generate(SEED, i).maildir_flags.is_empty())
        .unwrap_or(n / 2) as u32
        + 1;

    let t = Instant::now();
    let server = imap4_testkit::Dovecot::builder()
        .messages(USER, n, SEED)
        .messages(SMALL_USER, small, SMALL_SEED)
        .start()?;
    let port = server.port();
    eprintln!(
        "imap4-bench cli: Dovecot on port {port} ({n} messages for {USER}, {small} for \
         {SMALL_USER}) after {:.1?}",
        t.elapsed()
    );
    let dir = std::env::temp_dir().join(format!("imap4-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("xdg"))?;
    let want = reference_message(port, uid)?;

    let p = port.to_string();
    let imap4_env = vec![
        ("IMAP4_PASSWORD".to_string(), PASSWORD.to_string()),
        (
            "XDG_CONFIG_HOME".to_string(),
            dir.join("xdg").display().to_string(),
        ),
    ];
    let conn = |user: &str| -> Vec<String> {
        [
            "--tls",
            "none",
            "--host",
            "127.0.0.1",
            "--port",
            &p,
            "-u",
            user,
        ]
        .map(String::from)
        .to_vec()
    };
    let imap4_row = |workload, label: &str, args: Vec<String>, user: &str, check, base| Row {
        workload,
        label: label.to_string(),
        program: imap4.clone(),
        args: args.into_iter().chain(conn(user)).collect(),
        env: imap4_env.clone(),
        check,
        base,
        checked: String::new(),
        samples: Vec::new(),
    };
    let sv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let me = std::env::current_exe()?;
    let floor_row = |workload, mode: &str, user: &str| Row {
        workload,
        label: format!("(floor: bare socket, LOGIN + the same commands, `cli-floor {mode}`)"),
        program: me.clone(),
        args: vec![
            "cli-floor".into(),
            mode.into(),
            p.clone(),
            user.into(),
            uid.to_string(),
        ],
        env: Vec::new(),
        check: Check::Floor,
        base: false,
        checked: String::new(),
        samples: Vec::new(),
    };
    let mut rows = vec![
        imap4_row(
            Workload::Fetch,
            &format!("`imap4 show {uid}`"),
            sv(&["show", &uid.to_string()]),
            USER,
            Check::Bytes {
                want: want.clone(),
                strict: true,
            },
            true,
        ),
        imap4_row(
            Workload::Fetch,
            &format!("`imap4 show {uid} --auth plain` (PLAIN instead of SCRAM)"),
            sv(&["show", &uid.to_string(), "--auth", "plain"]),
            USER,
            Check::Bytes {
                want: want.clone(),
                strict: true,
            },
            false,
        ),
        imap4_row(
            Workload::Ls,
            "`imap4 ls` (one LIST ... RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN)))",
            sv(&["ls"]),
            USER,
            Check::Inbox {
                count: Some(n),
                strict: true,
            },
            true,
        ),
        imap4_row(
            Workload::Ls,
            "`imap4 ls --auth plain` (PLAIN instead of SCRAM)",
            sv(&["ls", "--auth", "plain"]),
            USER,
            Check::Inbox {
                count: Some(n),
                strict: true,
            },
            false,
        ),
        imap4_row(
            Workload::Ls,
            "`imap4 ls --no-counts` (one LIST ... RETURN (SUBSCRIBED SPECIAL-USE))",
            sv(&["ls", "--no-counts"]),
            USER,
            Check::Inbox {
                count: None,
                strict: true,
            },
            false,
        ),
        imap4_row(
            Workload::List,
            &format!("`imap4 list --json` ({n} messages)"),
            sv(&["list", "--json"]),
            USER,
            Check::JsonLines(n),
            true,
        ),
        imap4_row(
            Workload::List,
            &format!("`imap4 list --json` ({small} messages, {SMALL_USER})"),
            sv(&["list", "--json"]),
            SMALL_USER,
            Check::JsonLines(small),
            false,
        ),
    ];
    let mut notes = Vec::new();
    match &himalaya {
        Some(h) => {
            let cfg = dir.join("himalaya.toml");
            let mut toml = String::new();
            for (i, u) in [USER, SMALL_USER].iter().enumerate() {
                writeln!(
                    toml,
                    "[accounts.{u}]\ndefault = {}\nimap.server = \"imap://127.0.0.1:{port}\"\n\
                     imap.starttls = false\nimap.sasl.plain.username = \"{u}\"\n\
                     imap.sasl.plain.password.raw = \"{PASSWORD}\"\n\
                     mailbox.alias.inbox = \"INBOX\"\n",
                    i == 0
                )?;
            }
            std::fs::write(&cfg, toml)?;
            let hrow = |workload, label: String, args: Vec<String>, check| Row {
                workload,
                label,
                program: h.clone(),
                args: [sv(&["-c", &cfg.display().to_string()]), args].concat(),
                env: Vec::new(),
                check,
                base: false,
                checked: String::new(),
                samples: Vec::new(),
            };
            rows.push(hrow(
                Workload::Fetch,
                format!("Himalaya `message read --raw {uid}`"),
                sv(&["message", "read", "--raw", &uid.to_string()]),
                Check::Bytes {
                    want: want.clone(),
                    strict: false,
                },
            ));
            rows.push(hrow(
                Workload::Ls,
                "Himalaya `mailbox list`".into(),
                sv(&["mailbox", "list"]),
                Check::Inbox {
                    count: None,
                    strict: false,
                },
            ));
            rows.push(hrow(
                Workload::List,
                format!("Himalaya `--json envelope list --page-size {n}` ({n} messages)"),
                sv(&["--json", "envelope", "list", "--page-size", &n.to_string()]),
                Check::JsonIds(n),
            ));
            rows.push(hrow(
                Workload::List,
                format!(
                    "Himalaya `--json envelope list --page-size {n}` ({small} messages, {SMALL_USER})"
                ),
                sv(&[
                    "-a",
                    SMALL_USER,
                    "--json",
                    "envelope",
                    "list",
                    "--page-size",
                    &n.to_string(),
                ]),
                Check::JsonIds(small),
            ));
        }
        None => notes.push(
            "Himalaya: not found (HIMALAYA, /work/tools/himalaya/bin, PATH); skipped.".to_string(),
        ),
    }
    match &curl {
        Some(c) => {
            let crow = |workload, label: String, url: String, check| Row {
                workload,
                label,
                program: c.clone(),
                args: vec!["-s".into(), "-u".into(), format!("{USER}:{PASSWORD}"), url],
                env: Vec::new(),
                check,
                base: false,
                checked: String::new(),
                samples: Vec::new(),
            };
            // curl's FETCH without PEEK sets \Seen, and Dovecot renames the
            // file (`:2,S`) but keeps the old name in dovecot-uidlist: every
            // later session opening it misses, then rescans cur/ (10 ms at
            // 10,000 messages). curl gets a message of its own so the others'
            // stays as the fill left it.
            let curl_uid = uid + 1;
            let curl_want = reference_message(port, curl_uid)?;
            rows.push(crow(
                Workload::Fetch,
                format!(
                    "curl `imap://…/INBOX;UID={curl_uid}` (no PEEK: sets \\Seen; its own message, \
                     {} bytes)",
                    curl_want.len()
                ),
                format!("imap://127.0.0.1:{port}/INBOX;UID={curl_uid}"),
                Check::Bytes {
                    want: curl_want,
                    strict: false,
                },
            ));
            rows.push(crow(
                Workload::Ls,
                "curl `imap://…/` (LIST)".into(),
                format!("imap://127.0.0.1:{port}/"),
                Check::Inbox {
                    count: None,
                    strict: false,
                },
            ));
            notes.push(
                "curl has no envelope listing (`-X 'UID FETCH 1:* …'` of a 10k mailbox fails \
                 with exit 56, see ../shared/CLI-ANCHORS.md): n/a."
                    .into(),
            );
        }
        None => notes.push("curl: not on PATH; skipped.".into()),
    }
    rows.push(floor_row(Workload::Fetch, "fetch", USER));
    rows.push(floor_row(Workload::Ls, "ls-counts", USER));
    rows.push(floor_row(Workload::Ls, "ls", USER));
    rows.push(floor_row(Workload::List, "list", USER));

    // warm-up and checks: every row once, output to a file
    for (i, row) in rows.iter_mut().enumerate() {
        let out = dir.join(format!("row{i}.out"));
        let s = run_once(row, &out)?;
        let bytes = std::fs::read(&out)?;
        row.checked = check(row, &bytes)?;
        eprintln!(
            "imap4-bench cli: warm-up {}: {:.1} ms, {}",
            row.label,
            s.wall * 1e3,
            row.checked
        );
    }
    let load_before = loadavg();
    let started = now_utc();
    for (workload_set, rounds) in [
        (&[Workload::Fetch, Workload::Ls][..], o.runs),
        (&[Workload::List][..], o.list_runs),
    ] {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| workload_set.contains(&rows[i].workload))
            .collect();
        for round in 0..rounds {
            let mut order = idx.clone();
            order.rotate_left(round % idx.len().max(1));
            for i in order {
                let s = run_once(&rows[i], Path::new("/dev/null"))?;
                eprintln!(
                    "imap4-bench cli: round {} {}: {:.1} ms, cpu {:.1} ms, rss {} KiB",
                    round + 1,
                    rows[i].label,
                    s.wall * 1e3,
                    (s.user + s.sys) * 1e3,
                    s.rss_kb
                );
                rows[i].samples.push(s);
            }
        }
    }
    let load_after = loadavg();
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    // the section
    let med = |r: &Row, f: fn(&Sample) -> f64| median(r.samples.iter().map(f).collect());
    let mut md = String::new();
    writeln!(md, "## CLI: one-shot commands ({started})\n")?;
    writeln!(
        md,
        "`cargo build --release -p imap4-bench -p imap4-cli && ./target/release/imap4-bench cli{}`: \
         the test kit's Dovecot with {n} generated messages in {USER}'s INBOX and {small} in \
         {SMALL_USER}'s, plaintext IMAP on loopback for every client. Each command is a child \
         process (of `imap4-bench cli-child`, which spawns it and waits): wall time from spawn to \
         exit, user + sys CPU and peak RSS (`ru_maxrss`) of that process. Median of {} rounds for \
         the one-shot rows, {} for the envelope listings, after a checked warm-up run of every \
         row (outputs to files and checked: the check column); the timed runs write to \
         `/dev/null`. The order of the rows rotates each round. Load average (1 min) {load_before} \
         before the timed rounds, {load_after} after.\n",
        args.iter()
            .map(|a| format!(" {a}"))
            .collect::<String>()
            .replace(" --append", ""),
        o.runs,
        o.list_runs,
    )?;
    writeln!(md, "Machine: {}", machine())?;
    writeln!(
        md,
        "imap4: {}; Himalaya: {}; curl: {}.\n",
        version(&imap4, "--version"),
        himalaya
            .as_deref()
            .map(|h| version(h, "--version"))
            .unwrap_or_else(|| "not found".into()),
        curl.as_deref()
            .map(|c| version(c, "--version"))
            .unwrap_or_else(|| "not found".into()),
    )?;
    writeln!(
        md,
        "| workload | client | wall (ms) | CPU user+sys (ms) | peak RSS (MiB) | wall / imap4 | output |\n\
         |---|---|---:|---:|---:|---:|---|"
    )?;
    let mut verdicts = Vec::new();
    for w in [Workload::Fetch, Workload::Ls, Workload::List] {
        let base = rows
            .iter()
            .find(|r| r.workload == w && r.base)
            .map(|r| med(r, |s| s.wall))
            .unwrap_or(f64::NAN);
        for r in rows.iter().filter(|r| r.workload == w) {
            let wall = med(r, |s| s.wall);
            writeln!(
                md,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {} |",
                w.name(),
                r.label,
                wall * 1e3,
                med(r, |s| s.user + s.sys) * 1e3,
                med(r, |s| s.rss_kb as f64) / 1024.0,
                wall / base,
                r.checked
            )?;
        }
        let target = match w {
            Workload::Fetch => FETCH_TARGET_MS,
            Workload::Ls => LS_TARGET_MS,
            Workload::List => LIST_TARGET_MS,
        };
        let got = base * 1e3;
        verdicts.push(format!(
            "{}: imap4 {got:.1} ms, target ≤ {target} ms: {}",
            w.name(),
            if got <= target { "met" } else { "MISSED" }
        ));
    }
    if w_rss(&rows).is_some() {
        let (big, little) = w_rss(&rows).unwrap_or_default();
        verdicts.push(format!(
            "flat RSS: `imap4 list --json` peaks at {:.1} MiB for {n} messages, {:.1} MiB for {small}",
            big / 1024.0,
            little / 1024.0
        ));
    }
    writeln!(md)?;
    for v in verdicts.iter().chain(&notes) {
        writeln!(md, "- {v}")?;
    }
    print!("{md}");
    io::stdout().flush()?;
    if let Some(path) = &o.out {
        let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
        write!(f, "\n{md}")?;
        eprintln!("imap4-bench cli: appended to {}", path.display());
    }
    Ok(())
}

/// The median peak RSS (KiB) of the two `imap4 list --json` rows.
fn w_rss(rows: &[Row]) -> Option<(f64, f64)> {
    let mut it = rows
        .iter()
        .filter(|r| r.workload == Workload::List && r.program.ends_with("imap4"));
    let rss = |r: &Row| median(r.samples.iter().map(|s| s.rss_kb as f64).collect());
    Some((rss(it.next()?), rss(it.next()?)))
}
