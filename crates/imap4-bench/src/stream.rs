//! `imap4-bench stream`: peak RSS of a typed ENVELOPE listing, collected
//! (`uid_fetch`) and streamed (`uid_fetch_each`), at 10,000 and 100,000
//! messages (the project's target). Each client is a child process
//! (`imap4-bench stream-client WAY PORT PASSWORD`) that reports its own
//! `VmHWM` and how many responses it got; a count other than the mailbox's
//! makes the bench fail, so that a broken run cannot look small.

use std::process::Command;

use imap4::typed::{FetchAttr, UidSet};
use imap4::Imap4;

use crate::Error;

/// The mailbox sizes.
const SIZES: [usize; 2] = [10_000, 100_000];

/// Runs both ways at each of [`SIZES`]; prints a table (peak RSS in MiB).
pub fn run() -> Result<(), Error> {
    let exe = std::env::current_exe()?;
    println!("| messages | collected (`uid_fetch`) | streamed (`uid_fetch_each`) |");
    println!("|---|---|---|");
    for n in SIZES {
        let server = imap4_testkit::Dovecot::builder()
            .messages("bench", n, 11)
            .start()?;
        let mut cells = Vec::new();
        for way in ["warm", "collected", "streamed"] {
            let out = Command::new(&exe)
                .args([
                    "stream-client",
                    way,
                    &server.port().to_string(),
                    server.password(),
                ])
                .output()?;
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.status.success() {
                return Err(format!("stream-client {way} failed ({}): {text}", out.status).into());
            }
            // `KiB RESPONSES SUBJECT_BYTES`
            let mut fields = text.split_whitespace().map(str::parse::<u64>);
            let (Some(Ok(kib)), Some(Ok(responses))) = (fields.next(), fields.next()) else {
                return Err(format!("stream-client {way} printed {text:?}").into());
            };
            if responses != n as u64 {
                return Err(format!("stream-client {way}: {responses} responses for {n}").into());
            }
            if way != "warm" {
                cells.push(format!("{:.1} MiB", kib as f64 / 1024.0));
            }
        }
        println!("| {} | {} | {} |", thousands(n), cells[0], cells[1]);
    }
    Ok(())
}

/// `n` with a comma between each group of three digits.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The child: prints its peak RSS in KiB, the number of FETCH responses
/// and the number of subject bytes seen.
pub fn client(way: &str, port: u16, password: &str) -> Result<(), Error> {
    let mut m = Imap4::connect("127.0.0.1", port)?;
    m.login("bench", password)?;
    m.typed().select("INBOX")?;
    let attrs = [FetchAttr::Uid, FetchAttr::Envelope];
    let mut subjects = 0usize;
    let n = match way {
        "collected" => {
            let f = m.typed().uid_fetch(&UidSet::all(), &attrs)?;
            let mut count = 0u64;
            for x in f.iter() {
                subjects += x?
                    .envelope()
                    .and_then(|e| e.subject.as_ref())
                    .map_or(0, |s| s.0.len());
                count += 1;
            }
            count
        }
        _ => m.typed().uid_fetch_each(&UidSet::all(), &attrs, |f| {
            subjects += f
                .envelope()
                .and_then(|e| e.subject.as_ref())
                .map_or(0, |s| s.0.len());
        })?,
    };
    m.logout()?;
    println!("{} {n} {subjects}", crate::vm_hwm_kb());
    Ok(())
}
