//! `imap4-bench hostile`: the client's peak RSS against each hostile-server
//! class, with the default configuration.
//!
//! The hostile server runs in this process and generates its bytes as it
//! writes them (so its own memory never counts); each client runs in a
//! child process (`imap4-bench hostile-client CASE PORT`) that reports its
//! outcome and its own peak RSS (`VmHWM`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Instant;

use imap4::typed::SearchKey;
use imap4::{Config, Imap4};

use crate::Error;

/// Each case: name, what it does.
pub const CASES: &[(&str, &str)] = &[
    (
        "esearch-all-range",
        "UID SEARCH answered ESEARCH ALL 1:4294967295",
    ),
    (
        "exists-flood-imaplib",
        "NOOP answered with 5,000,000 `* 1 EXISTS`",
    ),
    ("exists-flood-typed", "typed NOOP, 5,000,000 `* 1 EXISTS`"),
    ("literals-40x10MiB", "one FETCH with 40 literals of 10 MiB"),
    (
        "collected-bytes-100MiB",
        "NOOP answered with 100 FETCH responses of 1 MiB each",
    ),
    (
        "distinct-names-60k",
        "NOOP with 60,000 distinct untagged names",
    ),
    (
        "chunk-150MB",
        "1 MiB partial fetch answered with a 150 MB literal",
    ),
    ("literal-4GiB", "a literal announced as 4 GiB"),
    ("endless-line", "a response line that never ends"),
    ("thread-chain", "THREAD of one 500,000-message chain"),
];

/// Runs every case and prints a Markdown table.
pub fn run() -> Result<(), Error> {
    let exe = std::env::current_exe()?;
    println!("| case | outcome | client peak RSS | time |");
    println!("|---|---|---|---|");
    for (case, what) in CASES {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let case_name = case.to_string();
        let server = std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let _ = serve(&case_name, stream);
            }
        });
        let started = Instant::now();
        let out = Command::new(&exe)
            .args(["hostile-client", case, &port.to_string()])
            .output()?;
        let took = started.elapsed();
        let _ = server.join();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let outcome = lines.next().unwrap_or("(no output)").to_string();
        let rss = lines.next().unwrap_or("?").to_string();
        let status = if out.status.success() {
            String::new()
        } else {
            format!(
                " (exit {:?}: {})",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            )
        };
        println!(
            "| {what} | {outcome}{status} | {rss} | {:.2} s |",
            took.as_secs_f64()
        );
    }
    Ok(())
}

/// Writes `unit` `count` times in batches.
fn repeat(w: &mut TcpStream, unit: &[u8], count: usize) -> std::io::Result<()> {
    let per = (64 * 1024 / unit.len().max(1)).max(1);
    let batch = unit.repeat(per);
    let mut left = count;
    while left > 0 {
        let n = left.min(per);
        w.write_all(&batch[..n * unit.len()])?;
        left -= n;
    }
    Ok(())
}

fn serve(case: &str, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut w = stream;
    let mut line = String::new();
    let mut next = |reader: &mut BufReader<TcpStream>| -> std::io::Result<String> {
        line.clear();
        reader.read_line(&mut line)?;
        Ok(line.split(' ').next().unwrap_or("").to_string())
    };
    w.write_all(b"* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH] ready\r\n")?;
    let tag = next(&mut reader)?; // CAPABILITY
    w.write_all(format!("* CAPABILITY IMAP4rev1 ESEARCH\r\n{tag} OK\r\n").as_bytes())?;
    let needs_select = matches!(
        case,
        "esearch-all-range" | "literals-40x10MiB" | "chunk-150MB" | "literal-4GiB" | "thread-chain"
    );
    if needs_select {
        let tag = next(&mut reader)?;
        w.write_all(format!("* 3 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n").as_bytes())?;
    }
    let tag = next(&mut reader)?;
    match case {
        "esearch-all-range" => w.write_all(
            format!("* ESEARCH (TAG \"{tag}\") UID ALL 1:4294967295\r\n{tag} OK\r\n").as_bytes(),
        )?,
        "exists-flood-imaplib" | "exists-flood-typed" => {
            repeat(&mut w, b"* 1 EXISTS\r\n", 5_000_000)?;
            w.write_all(format!("{tag} OK\r\n").as_bytes())?;
        }
        "literals-40x10MiB" => {
            w.write_all(b"* 1 FETCH (UID 1")?;
            let chunk = vec![b'x'; 1 << 20];
            for i in 1..=40 {
                w.write_all(format!(" BODY[{i}] {{{}}}\r\n", 10 << 20).as_bytes())?;
                for _ in 0..10 {
                    w.write_all(&chunk)?;
                }
            }
            w.write_all(format!(")\r\n{tag} OK\r\n").as_bytes())?;
        }
        "collected-bytes-100MiB" => {
            let chunk = vec![b'x'; 1 << 20];
            for i in 1..=100 {
                w.write_all(format!("* {i} FETCH (BODY[] {{{}}}\r\n", chunk.len()).as_bytes())?;
                w.write_all(&chunk)?;
                w.write_all(b")\r\n")?;
            }
            w.write_all(format!("{tag} OK\r\n").as_bytes())?;
        }
        "distinct-names-60k" => {
            let mut all = Vec::new();
            for i in 0..60_000usize {
                let mut n = String::from("X-");
                let mut k = i;
                for _ in 0..4 {
                    n.push(char::from(b'A' + (k % 26) as u8));
                    k /= 26;
                }
                all.extend_from_slice(format!("* {n} x\r\n").as_bytes());
            }
            w.write_all(&all)?;
            w.write_all(format!("{tag} OK\r\n").as_bytes())?;
        }
        "chunk-150MB" => {
            w.write_all(b"* 1 FETCH (UID 1 BODY[]<0> {150000000}\r\n")?;
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..143 {
                w.write_all(&chunk)?;
            }
        }
        "literal-4GiB" => {
            w.write_all(b"* 1 FETCH (UID 1 BODY[] {4294967296}\r\n")?;
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..512 {
                w.write_all(&chunk)?;
            }
        }
        "endless-line" => {
            let chunk = vec![b'x'; 1 << 20];
            w.write_all(b"* OK ")?;
            for _ in 0..512 {
                w.write_all(&chunk)?;
            }
        }
        "thread-chain" => {
            w.write_all(b"* THREAD (")?;
            repeat(&mut w, b"1 ", 500_000)?;
            w.write_all(format!(")\r\n{tag} OK\r\n").as_bytes())?;
        }
        _ => {}
    }
    Ok(())
}

/// The child: connect with the default configuration, run the case, print
/// the outcome and the peak RSS.
///
/// With `IMAP4_HOSTILE_TIGHT=1` in the environment, tighter limits are used
/// (500,000 collected responses, 32 MiB per response) to show that memory
/// follows the limits.
pub fn client(case: &str, port: u16) -> Result<(), Error> {
    let mut config = Config::default();
    if std::env::var_os("IMAP4_HOSTILE_TIGHT").is_some() {
        config.limits.max_collected_responses = 500_000;
        config.limits.max_response_len = 32 << 20;
        config.limits.max_literal_len = 32 << 20;
    }
    let mut m = Imap4::connect_with("127.0.0.1", port, config)?;
    let outcome: Result<String, imap4::Error> = (|| match case {
        "esearch-all-range" => {
            m.typed().select("INBOX")?;
            let set = m.typed().uid_search(&SearchKey::All)?;
            Ok(format!(
                "a set of {} UIDs in {} range(s)",
                set.len(),
                set.ranges().len()
            ))
        }
        "exists-flood-imaplib" | "distinct-names-60k" | "collected-bytes-100MiB" => {
            m.noop()?;
            Ok(format!("{} names stored", m.untagged_responses().len()))
        }
        "exists-flood-typed" => {
            m.typed().noop()?;
            Ok("completed".into())
        }
        "literals-40x10MiB" => {
            m.select("INBOX", false)?;
            m.fetch("1", "(BODY[])")?;
            Ok("completed".into())
        }
        "chunk-150MB" => {
            m.typed().select("INBOX")?;
            let mut sink = std::io::sink();
            m.typed()
                .uid_fetch_body_to_chunked(1, "", &mut sink, imap4::typed::DEFAULT_CHUNK)?;
            Ok("completed".into())
        }
        "literal-4GiB" => {
            m.select("INBOX", false)?;
            m.fetch("1", "(BODY[])")?;
            Ok("completed".into())
        }
        "endless-line" => {
            m.noop()?;
            Ok("completed".into())
        }
        "thread-chain" => {
            m.select("INBOX", false)?;
            let r = m.thread("REFERENCES", "UTF-8", &["ALL"])?;
            let line = r.data.first().and_then(|d| d.as_line()).unwrap_or_default();
            let wire = [&b"* THREAD "[..], line, b"\r\n"].concat();
            // Typed: parse, clone, compare, print and drop the tree.
            let parsed = imap4_proto::parse::parse_response(&wire);
            let copy = parsed.clone();
            let shown = format!("{copy:?}").len();
            Ok(format!(
                "parsed ({}), {shown} bytes printed",
                if parsed == copy { "equal" } else { "differs" }
            ))
        }
        other => Ok(format!("unknown case {other}")),
    })();
    let outcome = match outcome {
        Ok(s) => format!("ok: {s}"),
        Err(e) => {
            let s = e.to_string();
            format!("error: {}", &s[..s.len().min(110)])
        }
    };
    println!("{outcome}");
    println!("{}", peak_rss());
    let _ = std::io::stdout().flush();
    Ok(())
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}
