//! The reference row: the benchmark's commands over a bare socket, every
//! byte that comes back read into one reused buffer and dropped. No framing,
//! no parsing, no copy: what any client pays at least (system calls, the
//! kernel's copy out of the socket).

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Bytes kept from the end of what was read, to find the tagged line.
const TAIL: usize = 4096;

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The last bytes received (at most [`TAIL`]).
    tail: Vec<u8>,
    total: u64,
    next_tag: u32,
}

impl Conn {
    /// Reads until the stream pauses on a complete line starting with
    /// `tag ` (the server sends nothing after a command's tagged
    /// response, so only the end of each read needs looking at).
    fn wait(&mut self, tag: &str) -> io::Result<()> {
        self.tail.clear();
        self.tail.extend_from_slice(b"\r\n");
        loop {
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            self.total += n as u64;
            let got = &self.buf[..n];
            if got.len() >= TAIL {
                self.tail.clear();
                self.tail.extend_from_slice(&got[got.len() - TAIL..]);
            } else {
                self.tail.extend_from_slice(got);
                if self.tail.len() > 2 * TAIL {
                    self.tail.drain(..self.tail.len() - TAIL);
                }
            }
            if let Some(body) = self.tail.strip_suffix(b"\r\n") {
                let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let line = &body[start..];
                if line.starts_with(tag.as_bytes()) && line.get(tag.len()) == Some(&b' ') {
                    return if line[tag.len() + 1..].starts_with(b"OK") {
                        Ok(())
                    } else {
                        Err(io::Error::other(String::from_utf8_lossy(line).into_owned()))
                    };
                }
            }
        }
    }

    fn command(&mut self, command: &str) -> io::Result<()> {
        self.next_tag += 1;
        let tag = format!("f{}", self.next_tag);
        self.stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())?;
        self.wait(&tag)
    }
}

/// Runs `mode` (`envelope` or `bodies`); returns (0, bytes received).
pub fn run(
    mode: &str,
    host: &str,
    port: u16,
    chunk: usize,
    envelope_items: &str,
) -> io::Result<(u64, u64)> {
    let mut c = Conn {
        stream: TcpStream::connect((host, port))?,
        buf: vec![0; 256 * 1024],
        tail: Vec::with_capacity(3 * TAIL),
        total: 0,
        next_tag: 0,
    };
    // The greeting: one line.
    while !c.tail.ends_with(b"\r\n") {
        let n = c.stream.read(&mut c.buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        c.tail.extend_from_slice(&c.buf[..n]);
    }
    c.command("LOGIN bench secret")?;
    c.command("EXAMINE INBOX")?;
    // The message count, from `* N EXISTS` (small: all of it is in `tail`).
    let text = String::from_utf8_lossy(&c.tail).into_owned();
    let n: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("* ")?.strip_suffix(" EXISTS")?.parse().ok())
        .ok_or_else(|| io::Error::other("no EXISTS in the EXAMINE response"))?;
    match mode {
        "envelope" => c.command(&format!("UID FETCH 1:* {envelope_items}"))?,
        "bodies" => {
            for (a, b) in crate::chunks(n, chunk) {
                c.command(&format!("UID FETCH {a}:{b} (BODY.PEEK[])"))?;
            }
        }
        _ => return Err(io::Error::other(format!("unknown mode {mode:?}"))),
    }
    c.next_tag += 1;
    let tag = format!("f{}", c.next_tag);
    c.stream.write_all(format!("{tag} LOGOUT\r\n").as_bytes())?;
    c.wait(&tag)?;
    Ok((0, c.total))
}
