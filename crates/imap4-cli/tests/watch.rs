//! `imap4 watch`, the built binary against the test kit's servers: a
//! message delivered by a second connection is reported with its UID and
//! runs the hook (its input and environment checked), flag changes and
//! expunges are reported with their UIDs, several folders are watched over
//! one NOTIFY connection or one IDLE connection each, `--backup` keeps a
//! Maildir current, a server that goes silent (a relay that black-holes
//! the connection) is detected and reconnected to, with what arrived
//! meanwhile reported, fatal errors end the command with their exit code,
//! and Cyrus and Courier work too; a scripted server whose UID SEARCH
//! misses new UIDs (as GNU Mailutils does) is handled by sequence numbers.
//! Every event is checked against `imap4 schema`.
//!
//! Waits are for events, never for time: each has a generous deadline
//! that only a broken build reaches.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use imap4::typed::{StoreOp, UidSet};
use imap4::Imap4;
use imap4_testkit::relay::Relay;
use imap4_testkit::{Dovecot, ImapServer, Kind};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imap4");

/// Only a broken build waits this long for an event.
const DEADLINE: Duration = Duration::from_secs(60);

fn dovecot() -> &'static Dovecot {
    static D: OnceLock<Dovecot> = OnceLock::new();
    D.get_or_init(|| {
        let mut b = Dovecot::builder();
        for (i, u) in [
            "deliver", "multi", "nonotify", "silent", "bk", "fatal", "renum",
        ]
        .iter()
        .enumerate()
        {
            b = b.messages(u, 5, 200 + i as u64);
        }
        b = b
            .messages_in("multi", "Work", 3, 210)
            .messages_in("nonotify", "Work", 3, 211);
        b.start().expect("dovecot")
    })
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(BIN).arg("schema").output().unwrap();
        let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
        jsonschema::validator_for(&schema["watch"]).unwrap()
    })
}

/// A running `imap4 --json watch`, its events read as they come.
struct Watch {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    _home: tempfile::TempDir,
}

impl Watch {
    fn start(port: u16, user: &str, password: &str, args: &[&str]) -> Watch {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("IMAP4_PASSWORD", password)
            .args(["--json", "--tls", "none", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--user", user, "watch"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut pipe, sink) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Watch {
            child,
            events: rx,
            seen: Vec::new(),
            stderr,
            _home: home,
        }
    }

    /// The next event of this kind (others before it are kept in `seen`).
    fn next(&mut self, kind: &str) -> Value {
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    let errors: Vec<String> =
                        validator().iter_errors(&v).map(|e| e.to_string()).collect();
                    assert!(errors.is_empty(), "{v} against the schema: {errors:?}");
                    self.seen.push(v.clone());
                    if v["event"] == kind {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no `{kind}` event; seen: {:#?}\nstderr: {}",
                    self.seen,
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Waits for the process to end by itself (its stdout closes); its
    /// exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => self.seen.push(v),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("watch did not exit"),
            }
        }
        self.child.wait().unwrap().code()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(port: u16, user: &str) -> Imap4 {
    let mut m = Imap4::connect("127.0.0.1", port).unwrap();
    m.login(user, dovecot().password()).unwrap();
    m
}

/// APPENDs a small message; its UID.
fn deliver(m: &mut Imap4, mailbox: &str, n: usize) -> u32 {
    let msg = format!("Message-ID: <w{n}@example>\r\nSubject: watch {n}\r\n\r\nbody {n}\r\n");
    let map = m
        .typed()
        .append(mailbox, &[], None, msg.into_bytes())
        .unwrap()
        .expect("APPENDUID");
    let uid = map.destination.iter().next().unwrap();
    uid
}

#[test]
fn delivery_runs_the_hook_and_changes_are_reported() {
    let d = dovecot();
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("hook.log");
    let hook = format!(
        "{{ echo \"$IMAP4_FOLDER|$IMAP4_UIDS|$IMAP4_CHANGES\"; cat; }} >> '{}'",
        log.display()
    );
    let mut w = Watch::start(d.port(), "deliver", d.password(), &["--exec", &hook]);
    let up = w.next("connected");
    assert_eq!(up["folders"], serde_json::json!(["INBOX"]));
    assert_eq!(up["notify"], false, "one folder: plain IDLE");

    let mut m = login(d.port(), "deliver");
    let t = Instant::now();
    let uid = deliver(&mut m, "INBOX", 1);
    let new = w.next("new");
    assert_eq!(new["folder"], "INBOX");
    assert_eq!(new["uids"], uid.to_string());
    assert_eq!(new["count"], 1);
    assert_eq!(new["exists"], 6);
    let ran = w.next("hook");
    eprintln!("delivery to hook end: {:?}", t.elapsed());
    assert_eq!(ran["exit_code"], 0, "{ran}");
    assert_eq!(ran["changes"], 1);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(format!("INBOX|{uid}|1").as_str()));
    let input: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(input, new, "the hook's stdin is the change as printed");

    // flags: with QRESYNC enabled the server names the UID
    m.typed().select("INBOX").unwrap();
    m.typed()
        .uid_store(&UidSet::single(uid), StoreOp::Add, &["\\Flagged"], true)
        .unwrap();
    let flags = w.next("flags");
    assert_eq!(flags["uid"], uid);
    assert!(
        flags["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("\\Flagged")),
        "{flags}"
    );
    w.next("hook");
    // expunge: VANISHED with the UID
    m.typed()
        .uid_store(&UidSet::single(uid), StoreOp::Add, &["\\Deleted"], true)
        .unwrap();
    m.typed().uid_expunge(&UidSet::single(uid)).unwrap();
    let gone = w.next("expunged");
    assert_eq!(gone["uids"], uid.to_string(), "{gone}");
    assert_eq!(gone["count"], 1);
    assert_eq!(gone["exists"], 5);
}

#[test]
fn several_folders_over_one_notify_connection_or_one_idle_each() {
    let d = dovecot();
    let mut w = Watch::start(
        d.port(),
        "multi",
        d.password(),
        &["--folder", "INBOX", "--folder", "Work"],
    );
    let up = w.next("connected");
    assert_eq!(up["folders"], serde_json::json!(["INBOX", "Work"]));
    assert_eq!(up["notify"], true, "Dovecot offers NOTIFY");
    let mut m = login(d.port(), "multi");
    let uid = deliver(&mut m, "Work", 2);
    let st = w.next("status");
    assert_eq!(st["folder"], "Work");
    assert_eq!(st["messages"], 4);
    assert_eq!(st["uid_next"], uid + 1);
    // the selected one is still watched on the same connection
    let uid = deliver(&mut m, "INBOX", 3);
    let new = w.next("new");
    assert_eq!(
        (&new["folder"], &new["uids"]),
        (&"INBOX".into(), &uid.to_string().into())
    );
    assert_eq!(
        w.seen.iter().filter(|e| e["event"] == "connected").count(),
        1
    );

    let mut w = Watch::start(
        d.port(),
        "nonotify",
        d.password(),
        &["--folder", "INBOX", "--folder", "Work", "--no-notify"],
    );
    let mut folders = vec![w.next("connected"), w.next("connected")]
        .into_iter()
        .map(|e| {
            assert_eq!(e["notify"], false);
            e["folders"][0].as_str().unwrap().to_string()
        })
        .collect::<Vec<_>>();
    folders.sort();
    assert_eq!(folders, ["INBOX", "Work"]);
    let mut m = login(d.port(), "nonotify");
    let uid = deliver(&mut m, "Work", 4);
    let new = w.next("new");
    assert_eq!(
        (&new["folder"], &new["uids"]),
        (&"Work".into(), &uid.to_string().into())
    );
}

#[test]
fn a_silent_server_is_detected_and_what_arrived_meanwhile_is_reported() {
    let d = dovecot();
    let relay = Relay::start(d.addr()).unwrap();
    let mut w = Watch::start(
        relay.port(),
        "silent",
        d.password(),
        &[
            "--keepalive",
            "0.5",
            "--probe-timeout",
            "2",
            "--backoff",
            "0.05",
        ],
    );
    w.next("connected");
    // the watcher probes after 0.5 s of silence, and is answered until now
    relay.freeze();
    // delivered while the watcher's connection is a black hole: it can
    // only learn of it from the next connection
    let mut m = login(d.port(), "silent");
    let uid = deliver(&mut m, "INBOX", 5);
    let down = w.next("disconnected");
    assert_eq!(down["folders"], serde_json::json!(["INBOX"]));
    assert_eq!(down["retry_in_ms"], 50);
    w.next("connected");
    assert!(relay.connections() >= 2);
    let new = w.next("new");
    assert_eq!(new["uids"], uid.to_string(), "caught up after reconnecting");
    // and the new connection works
    let uid = deliver(&mut m, "INBOX", 6);
    let new = w.next("new");
    assert_eq!(new["uids"], uid.to_string());
    let mut reported: Vec<&Value> = w
        .seen
        .iter()
        .filter(|e| e["event"] == "new")
        .map(|e| &e["uids"])
        .collect();
    let n = reported.len();
    reported.dedup();
    assert_eq!(reported.len(), n, "each new message once: {:#?}", w.seen);
}

#[test]
fn a_uidvalidity_change_is_reported_and_new_mail_still_found() {
    let d = dovecot();
    let mut w = Watch::start(
        d.port(),
        "renum",
        d.password(),
        &["--backoff", "0.05", "--keepalive", "0.5"],
    );
    w.next("connected");
    let out = d
        .doveadm(&[
            "mailbox",
            "update",
            "-u",
            "renum",
            "--uid-validity",
            "4242",
            "INBOX",
        ])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v = w.next("uid_validity");
    assert_eq!(v["uid_validity"], 4242, "{v}");
    assert_eq!(v["folder"], "INBOX");
    let mut m = login(d.port(), "renum");
    let uid = deliver(&mut m, "INBOX", 8);
    let new = w.next("new");
    assert_eq!(new["uids"], uid.to_string(), "{:#?}", w.seen);
    assert_eq!(
        new["count"], 1,
        "only the new message, in the new numbering"
    );
}

#[test]
fn backup_follows_each_change_and_count_ends_the_watch() {
    let d = dovecot();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("bk");
    let dir_s = dir.to_str().unwrap();
    let mut w = Watch::start(
        d.port(),
        "bk",
        d.password(),
        &["--backup", dir_s, "--no-fsync", "--count", "1"],
    );
    // the first backup runs at the start
    let first = w.next("backup");
    assert_eq!(first["ok"], true, "{first}");
    let files = |sub: &str| {
        std::fs::read_dir(dir.join("INBOX").join(sub))
            .map(|r| r.count())
            .unwrap_or(0)
    };
    let stored = files("cur") + files("new");
    assert_eq!(stored, 5);
    let mut m = login(d.port(), "bk");
    deliver(&mut m, "INBOX", 7);
    w.next("new");
    let again = w.next("backup");
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(files("cur") + files("new"), 6);
    assert_eq!(w.exit_code(), Some(0), "--count 1: done after one change");
    assert!(Path::new(&dir).join(".imap4-backup.lock").exists());
}

#[test]
fn fatal_errors_end_the_watch_with_their_exit_code() {
    let d = dovecot();
    let mut w = Watch::start(d.port(), "fatal", "wrong", &[]);
    assert_eq!(w.exit_code(), Some(5), "authentication failed");
    let mut w = Watch::start(d.port(), "fatal", d.password(), &["--folder", "Nope"]);
    assert_eq!(w.exit_code(), Some(6), "no such folder");
    let mut w = Watch::start(
        d.port(),
        "fatal",
        d.password(),
        &[
            "--no-notify",
            "--folder",
            "INBOX",
            "--folder",
            "Sent",
            "--max-connections",
            "1",
        ],
    );
    assert_eq!(w.exit_code(), Some(2), "more connections than allowed");
    // the first connection is made in the foreground: an unreachable
    // server at the start is an error (later ones are retried)
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut w = Watch::start(port, "fatal", d.password(), &[]);
    assert_eq!(w.exit_code(), Some(3), "connect failed");
}

#[test]
fn cyrus_and_courier_report_new_mail_in_idle() {
    for kind in [Kind::Cyrus, Kind::Courier] {
        let s: Box<dyn ImapServer> = match kind.builder().messages("alice", 3, 220).start() {
            Ok(s) => s,
            Err(e) => panic!("{kind:?} does not start: {e}"),
        };
        let user = s.login_name("alice");
        let mut w = Watch::start(s.port(), &user, s.password(), &[]);
        w.next("connected");
        let mut m = Imap4::connect("127.0.0.1", s.port()).unwrap();
        m.login(&user, s.password()).unwrap();
        let msg = b"Subject: other\r\n\r\nbody\r\n".to_vec();
        m.typed().append("INBOX", &[], None, msg).unwrap();
        let new = w.next("new");
        assert_eq!(new["folder"], "INBOX", "{kind:?}");
        assert_eq!(new["count"], 1, "{kind:?}: {new}");
        assert_eq!(new["exists"], 4, "{kind:?}: {new}");
        let _ = m.logout();
    }
}

#[test]
fn new_mail_is_found_when_uid_search_misses_it() {
    use imap4_testkit::fake::{FakeServer, Step};
    // GNU Mailutils: `UID SEARCH UID 4:*` answers nothing although
    // message 4 (UID 4) is new; polled with NOOP (its IDLE says nothing)
    let fake = FakeServer::start(vec![
        Step::send("* OK [CAPABILITY IMAP4rev1 IDLE] fake\r\n"),
        Step::ExpectPrefix(b"{tag} LOGIN".to_vec()),
        Step::send("{tag} OK [CAPABILITY IMAP4rev1 IDLE] in\r\n"),
        Step::ExpectPrefix(b"{tag} STATUS".to_vec()),
        Step::send("* STATUS INBOX (UIDNEXT 4)\r\n{tag} OK done\r\n"),
        Step::ExpectPrefix(b"{tag} EXAMINE".to_vec()),
        Step::send(
            "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 4] n\r\n{tag} OK [READ-ONLY] done\r\n",
        ),
        Step::ExpectPrefix(b"{tag} UID SEARCH".to_vec()),
        Step::send("* SEARCH\r\n{tag} OK done\r\n"),
        Step::ExpectPrefix(b"{tag} NOOP".to_vec()),
        Step::send("* 4 EXISTS\r\n{tag} OK done\r\n"),
        Step::ExpectPrefix(b"{tag} UID SEARCH UID 4:*".to_vec()),
        Step::send("* SEARCH\r\n{tag} OK done\r\n"),
        Step::ExpectPrefix(b"{tag} FETCH 4 (UID)".to_vec()),
        Step::send("* 4 FETCH (UID 4)\r\n{tag} OK done\r\n"),
        Step::Hang,
    ])
    .unwrap();
    let mut w = Watch::start(fake.port(), "x", "y", &["--poll-only", "--poll", "0.1"]);
    w.next("connected");
    let new = w.next("new");
    assert_eq!(new["uids"], "4", "{new}");
    assert_eq!(new["count"], 1);
    assert_eq!(new["exists"], 4);
}
