//! The Dovecot fixture against itself: start, login, fill, stream mode, TLS,
//! doveadm, clean-up.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use imap4_testkit::{generate, message_id, Dovecot};

/// A minimal line-based IMAP client for these tests.
struct Imap<R: BufRead, W: Write> {
    reader: R,
    writer: W,
}

impl<R: BufRead, W: Write> Imap<R, W> {
    /// One response line, with any literals it announces appended.
    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        loop {
            let start = line.len();
            let n = self.reader.read_until(b'\n', &mut line).expect("read");
            assert!(n > 0, "EOF; got so far: {}", line.escape_ascii());
            let part = &line[start..];
            let Some(open) = part.iter().rposition(|&b| b == b'{') else {
                return line;
            };
            let Some(len) = part[open + 1..]
                .strip_suffix(b"}\r\n")
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<usize>().ok())
            else {
                return line;
            };
            let mut lit = vec![0; len];
            self.reader.read_exact(&mut lit).expect("literal");
            line.extend_from_slice(&lit);
        }
    }

    /// Sends `tag command` and returns all lines up to and including the
    /// tagged one.
    fn cmd(&mut self, tag: &str, command: &str) -> Vec<Vec<u8>> {
        write!(self.writer, "{tag} {command}\r\n").expect("write");
        self.writer.flush().expect("flush");
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            let done = line.starts_with(format!("{tag} ").as_bytes());
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    fn ok(&mut self, tag: &str, command: &str) -> String {
        let lines = self.cmd(tag, command);
        let text = String::from_utf8_lossy(&lines.concat()).into_owned();
        let last = lines.last().expect("tagged line");
        assert!(
            last.starts_with(format!("{tag} OK").as_bytes()),
            "{command} failed:\n{text}"
        );
        text
    }
}

fn connect(server: &Dovecot) -> Imap<BufReader<TcpStream>, TcpStream> {
    let stream = TcpStream::connect((server.host(), server.port())).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut imap = Imap {
        reader: BufReader::new(stream.try_clone().unwrap()),
        writer: stream,
    };
    let greeting = imap.line();
    assert!(greeting.starts_with(b"* OK"), "{}", greeting.escape_ascii());
    imap
}

#[test]
fn login_and_select_shows_filled_messages() {
    let server = Dovecot::builder().messages("alice", 25, 7).start().unwrap();
    assert_eq!(server.host(), "127.0.0.1");
    assert_eq!(server.password(), "secret");
    let mut imap = connect(&server);
    let caps = imap.ok("c", "CAPABILITY");
    for cap in [
        "STARTTLS",
        "AUTH=PLAIN",
        "AUTH=CRAM-MD5",
        "AUTH=SCRAM-SHA-256",
    ] {
        assert!(caps.contains(cap), "{cap} missing: {caps}");
    }
    let login = imap.ok("a", "LOGIN alice secret");
    let select = imap.ok("b", "SELECT INBOX");
    assert!(select.contains("* 25 EXISTS"), "{select}");
    let caps = imap.ok("d", "CAPABILITY");
    for cap in [
        "METADATA",
        "QUOTA",
        "ACL",
        "COMPRESS=DEFLATE",
        "SPECIAL-USE",
        "MOVE",
        "QRESYNC",
    ] {
        assert!(caps.contains(cap), "{cap} missing: {caps}\n{login}");
    }
    let list = imap.ok("e", "LIST \"\" \"*\"");
    for mbox in ["\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"] {
        assert!(list.contains(mbox), "{mbox} missing: {list}");
    }
    imap.ok("z", "LOGOUT");
}

#[test]
fn wrong_password_is_refused() {
    let server = Dovecot::start().unwrap();
    let mut imap = connect(&server);
    let lines = imap.cmd("a", "LOGIN bob wrong");
    assert!(lines.last().unwrap().starts_with(b"a NO"));
    imap.ok("b", "LOGIN bob secret");
}

#[test]
fn two_instances_are_independent() {
    let a = Dovecot::start().unwrap();
    let b = Dovecot::builder().user("carol").start().unwrap();
    let ports = [a.port(), a.tls_port(), b.port(), b.tls_port()];
    for (i, p) in ports.iter().enumerate() {
        assert!(!ports[i + 1..].contains(p), "{ports:?}");
    }
    assert_ne!(a.dir(), b.dir());
    assert_ne!(a.pid(), b.pid());
    connect(&b).ok("a", "LOGIN carol secret");
    let lines = connect(&a).cmd("a", "LOGIN carol secret");
    assert!(lines.last().unwrap().starts_with(b"a NO"));
}

#[test]
fn drop_kills_the_process_and_removes_the_dir() {
    let server = Dovecot::start().unwrap();
    let pid = server.pid();
    let dir = server.dir().to_path_buf();
    let proc_dir = format!("/proc/{pid}");
    assert!(Path::new(&proc_dir).exists());
    assert!(server.config_file().exists());
    assert!(server.ca_file().exists());
    assert!(server.ca_key_file().exists());
    drop(server);
    assert!(!Path::new(&proc_dir).exists(), "pid {pid} still exists");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn fill_while_running_keeps_order_flags_and_bytes() {
    let server = Dovecot::start().unwrap();
    let seed = 99;
    server.fill("bob", "INBOX", 40, seed).unwrap();
    server.fill("bob", "Work/Reports", 7, seed + 1).unwrap();
    server.fill("bob", "Entwürfe & Co", 2, 5).unwrap();
    let mut imap = connect(&server);
    imap.ok("a", "LOGIN bob secret");
    let select = imap.ok("b", "SELECT INBOX");
    assert!(select.contains("* 40 EXISTS"), "{select}");
    let ids = imap.ok("c", "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
    let mut at = 0;
    for k in 0..40 {
        let want = message_id(seed, k);
        let pos = ids[at..]
            .find(&want)
            .unwrap_or_else(|| panic!("message {k} {want} out of order:\n{ids}"));
        at += pos;
    }
    for k in [0usize, 3, 39] {
        let m = generate(seed, k);
        let lines = imap.cmd(
            "d",
            &format!("FETCH {} (FLAGS RFC822.SIZE BODY.PEEK[])", k + 1),
        );
        let fetch = &lines[0];
        let text = String::from_utf8_lossy(fetch);
        assert!(
            text.contains(&format!("RFC822.SIZE {}", m.crlf_len())),
            "{k}: {}",
            &text[..200]
        );
        for flag in m.imap_flags() {
            assert!(text.contains(flag), "{k}: {flag} in {}", &text[..200]);
        }
        let crlf = m.to_crlf();
        assert!(
            fetch.windows(crlf.len()).any(|w| w == crlf.as_slice()),
            "body of message {k} differs"
        );
    }
    let status = imap.ok("e", "STATUS \"Work/Reports\" (MESSAGES)");
    assert!(status.contains("MESSAGES 7"), "{status}");
    let list = imap.ok("f", "LIST \"\" \"*\"");
    assert!(list.contains(" Work/Reports\r\n"), "{list}");
    assert!(list.contains("Entw&APw-rfe &- Co"), "{list}");
    let internal = imap.ok("g", "FETCH 1 INTERNALDATE");
    assert!(internal.contains("01-Jan-2023"), "{internal}");
    assert!(server.fill("nobody", "INBOX", 1, 1).is_err());
    assert!(server.fill("bob", "a.b", 1, 1).is_err());
}

#[test]
fn stream_command_is_preauthenticated() {
    let server = Dovecot::builder().messages("bob", 3, 1).start().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(server.stream_command("bob"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut imap = Imap {
        reader: BufReader::new(child.stdout.take().unwrap()),
        writer: child.stdin.take().unwrap(),
    };
    let greeting = imap.line();
    assert!(
        greeting.starts_with(b"* PREAUTH"),
        "{}",
        greeting.escape_ascii()
    );
    let status = imap.ok("a", "STATUS INBOX (MESSAGES)");
    assert!(status.contains("MESSAGES 3"), "{status}");
    imap.ok("b", "APPEND Drafts {5+}\r\nhello");
    imap.ok("c", "LOGOUT");
    drop(imap);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // the append is visible through the daemon too
    let mut net = connect(&server);
    net.ok("a", "LOGIN bob secret");
    let status = net.ok("b", "STATUS Drafts (MESSAGES)");
    assert!(status.contains("MESSAGES 1"), "{status}");
}

#[test]
fn doveadm_sees_the_instance() {
    let server = Dovecot::builder().messages("alice", 12, 3).start().unwrap();
    let out = server
        .doveadm(&["mailbox", "status", "-u", "alice", "messages", "INBOX"])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "INBOX messages=12"
    );
}

/// Runs `openssl s_client` with the test CA and hostname verification,
/// sends `input` and returns its output once a line starts with `b ` (the
/// reply to the last command) or after 20 s.
fn s_client(args: &[&str], ca: &Path, input: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .arg("s_client")
        .args(args)
        .arg("-CAfile")
        .arg(ca)
        .args([
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-crlf",
            "-quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut out = String::new();
    while let Ok(line) =
        rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("b ") {
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let rest = child.wait_with_output().unwrap();
    out.push_str(&String::from_utf8_lossy(&rest.stderr));
    out
}

#[test]
fn tls_port_and_starttls_verify_with_the_test_ca() {
    let server = Dovecot::start().unwrap();
    let implicit = s_client(
        &["-connect", &format!("127.0.0.1:{}", server.tls_port())],
        &server.ca_file(),
        b"a LOGIN alice secret\nb LOGOUT\n",
    );
    assert!(implicit.contains("* OK"), "{implicit}");
    assert!(implicit.contains("a OK"), "{implicit}");
    let starttls = s_client(
        &[
            "-connect",
            &format!("127.0.0.1:{}", server.port()),
            "-starttls",
            "imap",
        ],
        &server.ca_file(),
        b"a LOGIN alice secret\nb LOGOUT\n",
    );
    assert!(starttls.contains("a OK"), "{starttls}");
}

/// Run by `watchdog_cleans_up_after_a_killed_test_process` in a child process.
#[test]
#[ignore = "helper, runs only inside another test"]
fn watchdog_helper() {
    if std::env::var_os("IMAP4_TESTKIT_WATCHDOG_HELPER").is_none() {
        return;
    }
    let server = Dovecot::start().unwrap();
    println!("READY {} {}", server.pid(), server.dir().display());
    std::thread::sleep(Duration::from_secs(60));
}

fn alive(pid: u32) -> bool {
    // a zombie (not reaped by an init that does not reap) counts as gone
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn watchdog_cleans_up_after_a_killed_test_process() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "watchdog_helper", "--ignored", "--nocapture"])
        .env("IMAP4_TESTKIT_WATCHDOG_HELPER", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("READY") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "helper ended");
        if let Some(at) = line.find("READY") {
            line = line[at..].to_string();
        }
    }
    let mut words = line.split_whitespace().skip(1);
    let pid: u32 = words.next().unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(words.next().unwrap());
    assert!(alive(pid) && dir.exists());
    child.kill().unwrap(); // SIGKILL: no destructors run
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while (alive(pid) || dir.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "dovecot {pid} survived");
    assert!(!dir.exists(), "{} left behind", dir.display());
}
