//! `imap4-bench stream`: peak RSS of a typed ENVELOPE listing, collected
//! (`uid_fetch`) and streamed (`uid_fetch_each`), at two mailbox sizes.
//! Each client is a child process (`imap4-bench stream-client WAY PORT
//! PASSWORD`) that reports its own `VmHWM`.

use std::process::Command;

use imap4::typed::{FetchAttr, UidSet};
use imap4::Imap4;

use crate::Error;

/// Runs both ways at 10,000 and 50,000 messages; prints a table.
pub fn run() -> Result<(), Error> {
    let exe = std::env::current_exe()?;
    println!("| messages | collected (`uid_fetch`) | streamed (`uid_fetch_each`) |");
    println!("|---|---|---|");
    for n in [10_000usize, 50_000] {
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
            if way != "warm" {
                cells.push(text);
            }
        }
        println!("| {n} | {} | {} |", cells[0], cells[1]);
    }
    Ok(())
}

/// The child.
pub fn client(way: &str, port: u16, password: &str) -> Result<(), Error> {
    let mut m = Imap4::connect("127.0.0.1", port)?;
    m.login("bench", password)?;
    m.typed().select("INBOX")?;
    let attrs = [FetchAttr::Uid, FetchAttr::Envelope];
    let mut subjects = 0usize;
    let n = match way {
        "collected" => {
            let f = m.typed().uid_fetch(&UidSet::all(), &attrs)?;
            for x in f.iter() {
                subjects += x?
                    .envelope()
                    .and_then(|e| e.subject.as_ref())
                    .map_or(0, |s| s.0.len());
            }
            f.raw_len() as u64
        }
        _ => m.typed().uid_fetch_each(&UidSet::all(), &attrs, |f| {
            subjects += f
                .envelope()
                .and_then(|e| e.subject.as_ref())
                .map_or(0, |s| s.0.len());
        })?,
    };
    m.logout()?;
    let hwm = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        .unwrap_or_default();
    println!("{hwm} ({n} responses, {subjects} subject bytes)");
    Ok(())
}
