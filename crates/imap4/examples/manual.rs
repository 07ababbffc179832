//! The example from imaplib's manual, in Rust:
//!
//! ```text
//! M = imaplib.IMAP4()
//! M.login(getpass.getuser(), getpass.getpass())
//! M.select()
//! typ, data = M.search(None, 'ALL')
//! for num in data[0].split():
//!     typ, data = M.fetch(num, '(RFC822)')
//!     print('Message %s\n%s\n' % (num, data[0][1]))
//! M.close()
//! M.logout()
//! ```
//!
//! With `IMAP4_HOST` (and `IMAP4_PORT`, `IMAP4_USER`, `IMAP4_PASSWORD`) set,
//! it talks to that server. Otherwise it brings up a throw-away Dovecot on
//! a free loopback port, with a few sample messages, and talks to that.

use imap4::{Data, Imap4};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok();
    // Keep the fixture alive until the end of main.
    let mut _dovecot = None;
    let (host, port, user, password) = match env("IMAP4_HOST") {
        Some(host) => (
            host,
            env("IMAP4_PORT").map_or(Ok(imap4::IMAP4_PORT), |p| p.parse())?,
            env("IMAP4_USER").unwrap_or_else(|| env("USER").unwrap_or_default()),
            env("IMAP4_PASSWORD").unwrap_or_default(),
        ),
        None => {
            eprintln!("starting a local Dovecot with sample mail…");
            let d = imap4_testkit::Dovecot::builder()
                .messages("alice", 5, 1)
                .start()?;
            let conn = (
                d.host().to_string(),
                d.port(),
                "alice".to_string(),
                d.password().to_string(),
            );
            _dovecot = Some(d);
            conn
        }
    };

    let mut m = Imap4::connect(&host, port)?;
    m.login(&user, &password)?;
    m.select("INBOX", false)?;
    let r = m.search(None, &["ALL"])?;
    let nums = r.data[0].as_line().unwrap_or_default().to_vec();
    // imaplib's manual prints every message whole; with real mail that is
    // mostly base64 attachments, so each message gets one line (size,
    // subject) and only the smallest one is shown whole.
    let mut messages = Vec::new();
    for num in nums.split(|&b| b == b' ').filter(|n| !n.is_empty()) {
        let num = String::from_utf8_lossy(num).into_owned();
        let r = m.fetch(&num, "(RFC822)")?;
        if let Some(Data::Literal(lit)) = r.data.first() {
            let body = &lit.body;
            println!("Message {num}: {} bytes, {}", body.len(), subject(body));
            messages.push((num, body.clone()));
        }
    }
    let total: usize = messages.iter().map(|(_, b)| b.len()).sum();
    println!("{} messages, {total} bytes", messages.len());
    if let Some((num, body)) = messages.iter().min_by_key(|(_, b)| b.len()) {
        println!("\nMessage {num}\n{}\n", String::from_utf8_lossy(body));
    }
    m.close()?;
    m.logout()?;
    Ok(())
}

/// The message's Subject header, RFC 2047 words decoded.
fn subject(message: &[u8]) -> String {
    let head = message
        .split(|&b| b == b'\n')
        .take_while(|l| !l.is_empty() && *l != b"\r");
    let mut subject: Option<Vec<u8>> = None;
    for line in head {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match (&mut subject, line.first()) {
            // a folded continuation of the subject
            (Some(s), Some(b' ' | b'\t')) => s.extend_from_slice(line),
            (Some(_), _) => break,
            (None, _) if line.len() > 8 && line[..8].eq_ignore_ascii_case(b"subject:") => {
                subject = Some(line[8..].to_vec());
            }
            _ => {}
        }
    }
    subject
        .map(|s| imap4::typed::decode_encoded_words(&s).trim().to_string())
        .unwrap_or_else(|| "(no subject)".into())
}
