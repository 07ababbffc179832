//! `imap4-bench capture-fixtures DIR`: records inputs of the parser
//! benchmark (`crates/imap4-proto/benches/parse.rs`) from a real Dovecot, as
//! the exact bytes that came off the wire.
//!
//! Written files (each one complete response, CRLF included):
//! - `fetch_envelope_bodystructure.bin`: `UID FETCH` of FLAGS, INTERNALDATE,
//!   RFC822.SIZE, ENVELOPE and BODYSTRUCTURE for a generated reply with Cc
//!   whose body is multipart/mixed holding a multipart/alternative;
//! - `list.bin`: one `LIST` response (a special-use mailbox).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use imap4_proto::frame::Framer;
use imap4_proto::parse::{parse_response, BodyStructure, Response, Untagged};
use imap4_proto::Limits;
use imap4_testkit::Dovecot;

/// How many generated messages to choose from.
const CANDIDATES: usize = 300;

pub fn run(dir: &Path) -> io::Result<()> {
    let server = Dovecot::builder()
        .messages("bench", CANDIDATES, 42)
        .start()?;
    let wire = converse(
        &server,
        &[
            "a LOGIN bench secret".to_string(),
            "b EXAMINE INBOX".to_string(),
            format!(
                "c UID FETCH 1:{CANDIDATES} (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
            ),
            "d LIST \"\" \"*\"".to_string(),
            "e LOGOUT".to_string(),
        ],
    )?;
    let responses = split(&wire)?;

    let fetch = responses
        .iter()
        .copied()
        .find(|r| is_rich_fetch(r))
        .ok_or_else(|| io::Error::other("no nested-multipart reply with Cc among the messages"))?;
    let list = responses
        .iter()
        .copied()
        .filter(|r| r.starts_with(b"* LIST "))
        .max_by_key(|r| r.iter().filter(|&&b| b == b'\\').count())
        .ok_or_else(|| io::Error::other("no LIST response"))?;

    std::fs::create_dir_all(dir)?;
    for (name, bytes) in [
        ("fetch_envelope_bodystructure.bin", fetch),
        ("list.bin", list),
    ] {
        std::fs::write(dir.join(name), bytes)?;
        println!(
            "{}: {} bytes\n  {}",
            dir.join(name).display(),
            bytes.len(),
            String::from_utf8_lossy(bytes).trim_end()
        );
    }
    Ok(())
}

/// Sends the commands (pipelined) and reads until the server closes.
fn converse(server: &Dovecot, commands: &[String]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    for c in commands {
        stream.write_all(c.as_bytes())?;
        stream.write_all(b"\r\n")?;
    }
    let mut wire = Vec::new();
    stream.read_to_end(&mut wire)?;
    Ok(wire)
}

/// Splits the byte stream into complete responses (line plus literals).
fn split(wire: &[u8]) -> io::Result<Vec<&[u8]>> {
    let mut framer = Framer::new(Limits::default());
    framer.feed(wire);
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(frame) = framer.next_frame().map_err(io::Error::other)? {
        out.push(&wire[at..at + frame.raw_len()]);
        at += frame.raw_len();
    }
    Ok(out)
}

/// A FETCH of a reply with Cc whose body is a multipart holding a multipart.
fn is_rich_fetch(raw: &[u8]) -> bool {
    let Ok(Response::Data(Untagged::Fetch(f))) = parse_response(raw) else {
        return false;
    };
    let Some(env) = f.envelope() else {
        return false;
    };
    let nested = match f.body_structure() {
        Some(BodyStructure::Multi { parts, .. }) => parts
            .iter()
            .any(|p| matches!(p, BodyStructure::Multi { .. })),
        _ => false,
    };
    nested && env.in_reply_to.is_some() && !env.cc.is_empty()
}
