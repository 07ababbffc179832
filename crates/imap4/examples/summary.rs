//! A summary of a mailbox with the typed API, against any server:
//! its folders (with their special use), then the newest messages of INBOX.
//!
//! ```sh
//! IMAP4_HOST=imap.example.org IMAP4_USER=alice IMAP4_PASSWORD=secret \
//!     cargo run -p imap4 --example summary
//! ```
//!
//! Settings, from the environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `IMAP4_HOST` | server name (required) | |
//! | `IMAP4_PORT` | port | 993, or 143 unless `IMAP4_TLS=tls` |
//! | `IMAP4_TLS` | `tls` (implicit TLS), `starttls` or `none` | `tls` |
//! | `IMAP4_CA_FILE` | PEM file of an extra CA to trust | the system's roots |
//! | `IMAP4_USER`, `IMAP4_PASSWORD` | credentials | `$USER`, empty |
//! | `IMAP4_MAILBOX` | the mailbox to summarize | `INBOX` |
//! | `IMAP4_COUNT` | how many of its newest messages to show | 10 |
//!
//! The login is `login_auto`: the strongest mechanism the server offers,
//! and never a password in plaintext without TLS.

use imap4::typed::{FetchAttr, SearchKey};
use imap4::{Imap4, TlsOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let host = env("IMAP4_HOST").ok_or("set IMAP4_HOST (see the example's docs)")?;
    let mode = env("IMAP4_TLS").unwrap_or_else(|| "tls".into());
    let port = match env("IMAP4_PORT") {
        Some(p) => p.parse()?,
        None if mode == "tls" => imap4::IMAP4_SSL_PORT,
        None => imap4::IMAP4_PORT,
    };
    let mut tls = TlsOptions::new();
    if let Some(ca) = env("IMAP4_CA_FILE") {
        tls = tls.ca_file(ca);
    }
    let mut m = match mode.as_str() {
        "tls" => Imap4::connect_ssl_with(&host, port, tls)?,
        "starttls" => Imap4::connect_starttls(&host, port, tls)?,
        "none" => Imap4::connect(&host, port)?,
        other => return Err(format!("IMAP4_TLS={other}: use tls, starttls or none").into()),
    };
    let user = env("IMAP4_USER")
        .or_else(|| env("USER"))
        .unwrap_or_default();
    let password = env("IMAP4_PASSWORD").unwrap_or_default();
    let method = m.typed().login_auto(&user, password)?;
    println!(
        "logged in to {host}:{port} as {user} with {}",
        method.as_str()
    );

    println!("\nfolders:");
    for b in m.typed().list("", "*")? {
        let uses: Vec<&str> = [
            "\\Sent",
            "\\Drafts",
            "\\Trash",
            "\\Junk",
            "\\Archive",
            "\\All",
        ]
        .into_iter()
        .filter(|u| b.has_attribute(u))
        .collect();
        println!(
            "  {}{}",
            b.name,
            if uses.is_empty() {
                String::new()
            } else {
                format!("  ({})", uses.join(" "))
            }
        );
    }

    let mailbox = env("IMAP4_MAILBOX").unwrap_or_else(|| "INBOX".into());
    let count: usize = env("IMAP4_COUNT").map_or(Ok(10), |c| c.parse())?;
    let selected = m.typed().examine(&mailbox)?;
    println!("\n{mailbox}: {} messages", selected.exists);
    let uids = m.typed().uid_search(&SearchKey::All)?;
    let all: Vec<u32> = uids.iter().collect();
    let newest = &all[all.len().saturating_sub(count)..];
    if !newest.is_empty() {
        let set = newest.iter().copied().collect();
        let fetched = m.typed().uid_fetch(
            &set,
            &[FetchAttr::Uid, FetchAttr::Rfc822Size, FetchAttr::Envelope],
        )?;
        for f in fetched.iter() {
            let f = f?;
            let env = f.envelope();
            // RFC 2047 encoded-words decoded (`=?utf-8?q?...?=`)
            let subject = env.and_then(|e| e.subject_decoded()).unwrap_or_default();
            let from = env
                .and_then(|e| e.from.first())
                .and_then(|a| a.email())
                .unwrap_or_default();
            println!(
                "  uid {:>6}  {:>8} bytes  {from}  {subject}",
                f.uid().unwrap_or(0),
                f.rfc822_size().unwrap_or(0)
            );
        }
    }
    m.logout()?;
    Ok(())
}
