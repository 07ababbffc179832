//! A tiny line-level IMAP client the kit uses to set servers up (create
//! mailboxes, append the generated mail). Independent of the crates under
//! test, so a bug there cannot hide in the fixtures.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long any single reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection in the middle of a session.
pub(crate) struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
    who: String,
}

/// The tagged status of a command and the untagged lines before it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: String,
    pub text: String,
    pub untagged: Vec<String>,
}

impl Reply {
    pub(crate) fn ok(&self) -> bool {
        self.status == "OK"
    }
}

/// `s` as an IMAP quoted string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl RawClient {
    /// Connects and reads the greeting.
    pub(crate) fn connect(addr: SocketAddr, who: &str) -> io::Result<RawClient> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        let mut c = RawClient {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            tag: 0,
            who: who.to_string(),
        };
        let greeting = c.line()?;
        if !greeting.starts_with("* OK") && !greeting.starts_with("* PREAUTH") {
            return Err(io::Error::other(format!(
                "{}: unexpected greeting {greeting:?}",
                c.who
            )));
        }
        Ok(c)
    }

    /// Connects and logs in, failing unless LOGIN says OK.
    pub(crate) fn login(addr: SocketAddr, user: &str, password: &str) -> io::Result<RawClient> {
        let mut c = RawClient::connect(addr, user)?;
        c.expect_ok(&format!("LOGIN {} {}", quote(user), quote(password)))?;
        Ok(c)
    }

    /// One response line, the line end removed; a literal `{n}` at the end
    /// is read and appended (as `{n}` plus the bytes, lossily decoded).
    fn line(&mut self) -> io::Result<String> {
        let mut out = String::new();
        loop {
            let mut raw = Vec::new();
            self.reader.read_until(b'\n', &mut raw)?;
            if raw.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{}: the server closed the connection", self.who),
                ));
            }
            while matches!(raw.last(), Some(b'\n' | b'\r')) {
                raw.pop();
            }
            let text = String::from_utf8_lossy(&raw).into_owned();
            let literal = text
                .strip_suffix('}')
                .and_then(|t| t.rfind('{').map(|i| &t[i + 1..]))
                .and_then(|n| n.trim_end_matches('+').parse::<u64>().ok());
            out.push_str(&text);
            match literal {
                Some(n) if n <= 64 << 20 => {
                    let mut data = Vec::new();
                    (&mut self.reader).take(n).read_to_end(&mut data)?;
                    out.push_str(&String::from_utf8_lossy(&data));
                }
                _ => return Ok(out),
            }
        }
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("k{}", self.tag)
    }

    /// Reads until the tagged reply of `tag`.
    fn reply(&mut self, tag: &str) -> io::Result<Reply> {
        let mut untagged = Vec::new();
        loop {
            let line = self.line()?;
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
                return Ok(Reply {
                    status: status.to_ascii_uppercase(),
                    text: text.to_string(),
                    untagged,
                });
            }
            untagged.push(line);
        }
    }

    /// Sends one command (no literals) and reads its reply.
    pub(crate) fn command(&mut self, command: &str) -> io::Result<Reply> {
        let tag = self.next_tag();
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())?;
        self.reply(&tag)
    }

    /// [`RawClient::command`], failing unless the reply is OK.
    pub(crate) fn expect_ok(&mut self, command: &str) -> io::Result<Reply> {
        let r = self.command(command)?;
        if r.ok() {
            Ok(r)
        } else {
            Err(io::Error::other(format!(
                "{}: {command:?} answered {} {}",
                self.who, r.status, r.text
            )))
        }
    }

    /// APPENDs `message` (CRLF line ends) with a synchronizing literal.
    pub(crate) fn append(
        &mut self,
        mailbox: &str,
        flags: &[&str],
        date: Option<&str>,
        message: &[u8],
    ) -> io::Result<Reply> {
        let tag = self.next_tag();
        let mut line = format!("{tag} APPEND {} ({})", quote(mailbox), flags.join(" "));
        if let Some(d) = date {
            line.push(' ');
            line.push_str(&quote(d));
        }
        line.push_str(&format!(" {{{}}}\r\n", message.len()));
        self.writer.write_all(line.as_bytes())?;
        let go = self.line()?;
        if !go.starts_with('+') {
            return Err(io::Error::other(format!(
                "{}: APPEND to {mailbox:?}: no continuation but {go:?}",
                self.who
            )));
        }
        self.writer.write_all(message)?;
        self.writer.write_all(b"\r\n")?;
        let r = self.reply(&tag)?;
        if r.ok() {
            Ok(r)
        } else {
            Err(io::Error::other(format!(
                "{}: APPEND to {mailbox:?} answered {} {}",
                self.who, r.status, r.text
            )))
        }
    }

    /// LOGOUT, ignoring what the server says.
    pub(crate) fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

/// The number in `* N EXISTS` among `lines`.
pub(crate) fn exists(lines: &[String]) -> Option<usize> {
    lines.iter().find_map(|l| {
        let rest = l.strip_prefix("* ")?;
        let (n, word) = rest.split_once(' ')?;
        word.eq_ignore_ascii_case("EXISTS")
            .then(|| n.parse().ok())
            .flatten()
    })
}

/// APPENDs messages `0..count` of `seed` to `mailbox` (the server's name)
/// over `c`, in index order, with their flags and dates.
pub(crate) fn append_generated(
    c: &mut RawClient,
    mailbox: &str,
    count: usize,
    seed: u64,
) -> io::Result<()> {
    for i in 0..count {
        let m = crate::generate(seed, i);
        let date = crate::internal_date(m.unix_time);
        c.append(mailbox, &m.imap_flags(), Some(&date), &m.to_crlf())?;
    }
    Ok(())
}

/// Logs in as `login`, creates the mailbox `name` unless `inbox` (one that
/// exists already is fine), and APPENDs messages `0..count` of `seed` to
/// it; returns the connection, still logged in.
pub(crate) fn fill_by_append(
    addr: SocketAddr,
    login: &str,
    name: &str,
    inbox: bool,
    count: usize,
    seed: u64,
) -> io::Result<RawClient> {
    let mut c = RawClient::login(addr, login, crate::PASSWORD)?;
    if !inbox {
        // NO [ALREADYEXISTS] is fine
        c.command(&format!("CREATE {}", quote(name)))?;
    }
    append_generated(&mut c, name, count, seed)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_exists() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        let lines = vec!["* FLAGS ()".to_string(), "* 12 EXISTS".to_string()];
        assert_eq!(exists(&lines), Some(12));
        assert_eq!(exists(&lines[..1]), None);
    }
}
