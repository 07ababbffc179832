//! Every kind of server starts, holds the generated mail, greets in
//! stream mode where it has one, and is gone after drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use imap4_testkit::{ImapServer, Kind};

/// Sends `commands` (tagged t1, t2, ...) and returns everything up to the
/// last tagged reply.
fn session(s: &dyn ImapServer, commands: &[String]) -> String {
    let stream = TcpStream::connect(s.addr()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut out = String::new();
    r.read_line(&mut out).unwrap();
    for (i, c) in commands.iter().enumerate() {
        let tag = format!("t{}", i + 1);
        (&stream)
            .write_all(format!("{tag} {c}\r\n").as_bytes())
            .unwrap();
        loop {
            let mut line = Vec::new();
            r.read_until(b'\n', &mut line).unwrap();
            assert!(!line.is_empty(), "EOF after {out}");
            let text = String::from_utf8_lossy(&line).into_owned();
            out.push_str(&text);
            if let Some(n) = text
                .trim_end()
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<u64>().ok())
            {
                let mut lit = Vec::new();
                (&mut r).take(n).read_to_end(&mut lit).unwrap();
                out.push_str(&String::from_utf8_lossy(&lit));
                continue;
            }
            if text.starts_with(&format!("{tag} ")) {
                break;
            }
        }
    }
    out
}

fn check(kind: Kind) {
    let s = kind
        .builder()
        .user("carol")
        .messages("alice", 5, 11)
        .start()
        .unwrap();
    assert_eq!(s.kind(), kind);
    let inbox = s.mailbox("INBOX");
    let sent = s.mailbox("Sent");
    let login = format!("LOGIN {} {}", s.login_name("alice"), s.password());
    let out = session(
        &*s,
        &[
            login,
            "LIST \"\" *".into(),
            format!("SELECT {inbox}"),
            "FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])".into(),
            "LOGOUT".into(),
        ],
    );
    assert!(out.contains("* 5 EXISTS"), "{kind}: {out}");
    assert!(
        out.contains(&format!("{sent}\r\n"))
            || out.contains(&format!("{sent}\n"))
            || out.contains(&format!("\"{sent}\"")),
        "{kind}: no {sent} in {out}"
    );
    for i in 0..5 {
        let m = imap4_testkit::generate(11, i);
        let id = imap4_testkit::message_id(11, i);
        assert!(out.contains(&id), "{kind}: message {i} missing in {out}");
        // Cyrus pads the day with a space, the others with a zero
        let date = imap4_testkit::internal_date(m.unix_time);
        let fetch = out
            .lines()
            .find(|l| l.starts_with(&format!("* {} FETCH", i + 1)))
            .unwrap_or_else(|| panic!("{kind}: no FETCH {} in {out}", i + 1))
            .replace("INTERNALDATE \" ", "INTERNALDATE \"0");
        if s.quirks().append_keeps_date {
            assert!(fetch.contains(&date), "{kind}: date of {i} in {fetch}");
        }
        // the generated flags arrived (via STORE where APPEND drops them)
        for flag in ["\\Seen", "\\Flagged", "\\Answered"] {
            assert_eq!(
                fetch.contains(flag),
                m.imap_flags().contains(&flag),
                "{kind}: {flag} of message {i}: {fetch}"
            );
        }
    }

    // the extra user can log in
    let out = session(
        &*s,
        &[format!("LOGIN {} {}", s.login_name("carol"), s.password())],
    );
    assert!(out.contains("t1 OK"), "{kind}: {out}");

    if let Some(cmd) = s.stream_command("alice") {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with("* PREAUTH"), "{kind}: {line:?} from {cmd}");
        // LOGOUT, then read to EOF: Mailutils' imap4d spins when its
        // stdout closes before it exits
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"z LOGOUT\r\n").unwrap();
        drop(stdin);
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert!(rest.contains("z OK"), "{kind}: {rest}");
        child.wait().unwrap();
    } else {
        assert_eq!(kind, Kind::Cyrus);
    }
    let dir = s.dir().to_path_buf();
    let port = s.port();
    drop(s);
    assert!(!dir.exists(), "{kind}: {dir:?} left behind");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "{kind}: still listening"
    );
}

#[test]
fn dovecot() {
    check(Kind::Dovecot);
}

#[test]
fn cyrus() {
    check(Kind::Cyrus);
}

#[test]
fn courier() {
    check(Kind::Courier);
}

#[test]
fn mailutils() {
    check(Kind::Mailutils);
}

/// Run by `the_watchdog_stops_every_kind_when_the_test_process_dies` in a
/// child process: starts the server named by the environment and waits.
#[test]
#[ignore = "helper, runs only inside another test"]
fn watchdog_helper() {
    let Some(name) = std::env::var_os("IMAP4_TESTKIT_WATCHDOG_KIND") else {
        return;
    };
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name).unwrap();
    let s = kind.start().unwrap();
    println!("READY {} {} {}", s.port(), s.tls_port(), s.dir().display());
    std::thread::sleep(std::time::Duration::from_secs(60));
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn the_watchdog_stops_every_kind_when_the_test_process_dies() {
    for kind in Kind::ALL {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "watchdog_helper", "--ignored", "--nocapture"])
            .env("IMAP4_TESTKIT_WATCHDOG_KIND", kind.name())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        let mut line = String::new();
        while !line.starts_with("READY") {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                let mut why = String::new();
                let _ = err.read_to_string(&mut why);
                panic!("{kind}: helper ended: {why}");
            }
            if let Some(at) = line.find("READY") {
                line = line[at..].to_string();
            }
        }
        let mut words = line.split_whitespace().skip(1);
        let port: u16 = words.next().unwrap().parse().unwrap();
        let tls_port: u16 = words.next().unwrap().parse().unwrap();
        let dir = std::path::PathBuf::from(words.next().unwrap());
        assert!(
            listening(port) && listening(tls_port) && dir.exists(),
            "{kind}"
        );
        child.kill().unwrap(); // SIGKILL: no destructors run
        child.wait().unwrap();
        // bounded poll of the clean-up another process does
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while (listening(port) || listening(tls_port) || dir.exists())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            !listening(port) && !listening(tls_port),
            "{kind} still listening"
        );
        assert!(!dir.exists(), "{kind}: {} left behind", dir.display());
    }
}
