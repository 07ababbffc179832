//! `imap4 backup`, the built binary against the test kit's Dovecot: every
//! format byte-identical to what the server sends, incremental runs
//! (nothing new, new mail, flag changes, expunges), a UIDVALIDITY change
//! reconciled without downloading, `kill -9` mid-run resumed without
//! duplicates, a connection reset mid-run reopened and resumed,
//! `--dry-run`, folder filters, and the JSON events against the published
//! schema.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use imap4::typed::{Bound, FetchAttr, StoreOp, UidSet};
use imap4::Imap4;
use imap4_testkit::Dovecot;

const BIN: &str = env!("CARGO_BIN_EXE_imap4");

const USERS: [(&str, usize); 12] = [
    ("cut", 200),
    ("chg", 5),
    ("rebuild", 30),
    ("sized", 40),
    ("maildir", 60),
    ("mbox", 40),
    ("eml", 40),
    ("uidv", 50),
    ("killed", 240),
    ("dry", 20),
    ("filters", 10),
    ("schema", 10),
];

fn dovecot() -> &'static Dovecot {
    static D: OnceLock<Dovecot> = OnceLock::new();
    D.get_or_init(|| {
        let mut b = Dovecot::builder();
        for (i, (u, n)) in USERS.iter().enumerate() {
            b = b.messages(u, *n, 40 + i as u64);
        }
        b.start().expect("dovecot")
    })
}

/// `imap4 --tls none ... backup ARGS` as `user`, with a clean environment.
fn backup_cmd(user: &str, dir: &Path, args: &[&str]) -> Command {
    backup_cmd_at(dovecot().port(), user, dir, args)
}

/// [`backup_cmd`] through another port (a relay in front of the Dovecot).
fn backup_cmd_at(port: u16, user: &str, dir: &Path, args: &[&str]) -> Command {
    let d = dovecot();
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.parent().unwrap())
        .env("IMAP4_PASSWORD", d.password())
        .args(["--tls", "none", "--host", "127.0.0.1", "-u", user])
        .arg("--port")
        .arg(port.to_string())
        .arg("backup")
        .arg("--to")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn backup(user: &str, dir: &Path, args: &[&str], code: i32) -> Vec<serde_json::Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out: Output = backup_cmd(user, dir, &all).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "backup {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    events(&out.stdout)
}

/// The published schema of `backup --json`.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(BIN).arg("schema").output().unwrap();
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        jsonschema::validator_for(&schema["backup"]).unwrap()
    })
}

fn events(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let errors: Vec<String> = validator().iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{l}: {errors:?}");
            v
        })
        .collect()
}

fn done(events: &[serde_json::Value]) -> &serde_json::Value {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "done", "{events:?}");
    last
}

fn folder<'a>(events: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "folder" && e["folder"] == name)
        .unwrap_or_else(|| panic!("no folder event for {name}: {events:?}"))
}

fn library(user: &str) -> Imap4 {
    let d = dovecot();
    let mut m = Imap4::connect("127.0.0.1", d.port()).unwrap();
    m.login(user, d.password()).unwrap();
    m
}

/// Every message of the user's INBOX as the server sends it: UID →
/// (bytes, flags).
fn server_inbox(user: &str) -> BTreeMap<u32, (Vec<u8>, Vec<String>)> {
    let mut m = library(user);
    m.typed().examine("INBOX").unwrap();
    let attrs = [
        FetchAttr::Uid,
        FetchAttr::Flags,
        FetchAttr::Section {
            section: String::new(),
            peek: true,
            partial: None,
        },
    ];
    let fetches = m
        .typed()
        .uid_fetch(&UidSet::range(1, Bound::Star), &attrs)
        .unwrap();
    let mut out = BTreeMap::new();
    for f in fetches.iter() {
        let f = f.unwrap();
        let flags = f.flags().unwrap().iter().map(|x| x.0.to_string()).collect();
        out.insert(f.uid().unwrap(), (f.section("").unwrap().to_vec(), flags));
    }
    let _ = m.logout();
    out
}

/// The Maildir's messages: UID → (bytes, Maildir flag letters). Panics on
/// a UID stored twice.
fn maildir(dir: &Path, uid_validity: Option<&str>) -> HashMap<u32, (Vec<u8>, String)> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(dir.join("INBOX/cur")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let (base, letters) = name.split_once(":2,").unwrap();
        let (uv, uid) = base.trim_end_matches(".imap4").split_once('_').unwrap();
        if uid_validity.is_some_and(|want| want != uv) {
            continue;
        }
        let bytes = std::fs::read(dir.join("INBOX/cur").join(&name)).unwrap();
        let prev = out.insert(uid.parse().unwrap(), (bytes, letters.to_string()));
        assert!(prev.is_none(), "UID {uid} stored twice");
    }
    out
}

fn letters(flags: &[String]) -> String {
    let mut l: Vec<char> = flags
        .iter()
        .filter_map(|f| match f.as_str() {
            "\\Draft" => Some('D'),
            "\\Flagged" => Some('F'),
            "\\Answered" => Some('R'),
            "\\Seen" => Some('S'),
            "\\Deleted" => Some('T'),
            _ => None,
        })
        .collect();
    l.sort_unstable();
    l.into_iter().collect()
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |r| r.count())
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("backup");
    (t, dir)
}

#[test]
fn maildir_backup_is_byte_exact_then_incremental() {
    let (_t, dir) = tmp();
    let first = backup("maildir", &dir, &[], 0);
    let inbox = folder(&first, "INBOX");
    assert_eq!(inbox["downloaded"], 60);
    assert_eq!(inbox["method"], "new");
    let server = server_inbox("maildir");
    let local = maildir(&dir, None);
    assert_eq!(local.len(), 60);
    for (uid, (bytes, flags)) in &server {
        let (got, l) = &local[uid];
        assert!(got == bytes, "UID {uid} differs");
        assert_eq!(*l, letters(flags), "UID {uid}");
    }
    assert_eq!(files_in(&dir.join("INBOX/tmp")), 0);

    // nothing new: no folder is even opened
    let again = backup("maildir", &dir, &[], 0);
    assert_eq!(done(&again)["downloaded"], 0);
    for e in again.iter().filter(|e| e["event"] == "folder") {
        assert_eq!(e["unchanged"], true, "{e}");
        assert_eq!(e["method"], "status");
    }

    // flags, an expunge and two new messages on the server
    let mut m = library("maildir");
    m.typed().select("INBOX").unwrap();
    m.typed()
        .uid_store(&UidSet::from(1..=5), StoreOp::Add, &["\\Flagged"], true)
        .unwrap();
    m.typed()
        .uid_store(&UidSet::from(6..=8), StoreOp::Remove, &["\\Seen"], true)
        .unwrap();
    m.typed()
        .uid_store(&UidSet::from(9..=9), StoreOp::Add, &["\\Deleted"], true)
        .unwrap();
    m.typed().expunge().unwrap();
    for i in 0..2 {
        let msg = format!("Message-ID: <new{i}@test>\r\nSubject: new {i}\r\n\r\nhello\r\n");
        m.typed()
            .append("INBOX", &[], None, msg.into_bytes())
            .unwrap();
    }
    let _ = m.logout();
    let third = backup("maildir", &dir, &[], 0);
    let inbox = folder(&third, "INBOX");
    assert_eq!(inbox["downloaded"], 2, "{inbox}");
    assert_eq!(inbox["vanished"], 1);
    assert_eq!(inbox["method"], "qresync");
    assert!(inbox["flags_changed"].as_u64().unwrap() >= 5, "{inbox}");
    let server = server_inbox("maildir");
    let local = maildir(&dir, None);
    // the expunged message stays in the backup
    assert_eq!(local.len(), 62);
    assert!(local.contains_key(&9) && !server.contains_key(&9));
    for (uid, (bytes, flags)) in &server {
        let (got, l) = &local[uid];
        assert!(got == bytes, "UID {uid} differs");
        assert_eq!(*l, letters(flags), "UID {uid} flags");
    }
}

/// Splits an mboxrd file (as documented for the store) into messages.
fn unmbox(mbox: &[u8]) -> Vec<Vec<u8>> {
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    for line in mbox.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(last) = msgs.last_mut() {
                assert_eq!(last.pop(), Some(b'\n'), "separator LF");
            }
            msgs.push(Vec::new());
            continue;
        }
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        let cur = msgs.last_mut().expect("a From line first");
        if gts > 0 && line[gts..].starts_with(b"From ") {
            cur.extend_from_slice(&line[1..]);
        } else {
            cur.extend_from_slice(line);
        }
    }
    if let Some(last) = msgs.last_mut() {
        assert_eq!(last.pop(), Some(b'\n'), "separator LF");
    }
    msgs
}

#[test]
fn mbox_and_eml_are_byte_exact() {
    // a message with lines an mbox must escape
    let mut m = library("mbox");
    let tricky = b"Message-ID: <tricky@test>\r\nSubject: x\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\nFrom";
    m.typed()
        .append("INBOX", &[], None, tricky.to_vec())
        .unwrap();
    let _ = m.logout();

    let (_t, dir) = tmp();
    let ev = backup("mbox", &dir, &["--format", "mbox", "--batch", "7"], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], 41);
    let server = server_inbox("mbox");
    let mbox = std::fs::read(dir.join("INBOX.mbox")).unwrap();
    let msgs = unmbox(&mbox);
    let want: Vec<&Vec<u8>> = server.values().map(|(b, _)| b).collect();
    assert_eq!(msgs.len(), want.len());
    for (i, (got, want)) in msgs.iter().zip(&want).enumerate() {
        assert!(got == *want, "message {i} differs");
    }
    assert!(msgs.iter().any(|m| m.as_slice() == tricky));
    // a rerun appends nothing
    backup("mbox", &dir, &["--format", "mbox"], 0);
    assert_eq!(std::fs::read(dir.join("INBOX.mbox")).unwrap(), mbox);
    // the format of a backup directory stays
    let out = backup_cmd("mbox", &dir, &["--format", "eml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mbox format"));

    let (_t2, dir) = tmp();
    backup("eml", &dir, &["--format", "eml"], 0);
    let server = server_inbox("eml");
    let mut n = 0;
    for e in std::fs::read_dir(dir.join("INBOX")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let uid: u32 = name
            .trim_end_matches(".eml")
            .split_once('_')
            .unwrap()
            .1
            .parse()
            .unwrap();
        let bytes = std::fs::read(dir.join("INBOX").join(&name)).unwrap();
        assert!(bytes == server[&uid].0, "UID {uid} differs");
        n += 1;
    }
    assert_eq!(n, 40);
}

#[test]
fn uidvalidity_change_is_reconciled_without_downloading() {
    let (_t, dir) = tmp();
    backup("uidv", &dir, &[], 0);
    let before = maildir(&dir, None);
    let out = dovecot()
        .doveadm(&[
            "mailbox",
            "update",
            "-u",
            "uidv",
            "--uid-validity",
            "4242",
            "INBOX",
        ])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // exit 10: ok, with a warning
    let ev = backup("uidv", &dir, &[], 10);
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["method"], "uidvalidity");
    assert_eq!(inbox["downloaded"], 0, "{inbox}");
    assert_eq!(inbox["reconciled"], 50);
    assert!(inbox["warning"].as_str().unwrap().contains("4242"));
    assert_eq!(done(&ev)["warnings"].as_array().unwrap().len(), 1);
    // the same files, nothing twice
    let after = maildir(&dir, None);
    assert_eq!(after.len(), before.len());
    // the next run knows the new UIDVALIDITY: nothing to do
    let ev = backup("uidv", &dir, &[], 0);
    assert_eq!(folder(&ev, "INBOX")["unchanged"], true);
    // and new mail gets the new UIDVALIDITY in its name
    let mut m = library("uidv");
    m.typed()
        .append(
            "INBOX",
            &[],
            None,
            b"Message-ID: <late@x>\r\n\r\nlate\r\n".to_vec(),
        )
        .unwrap();
    let _ = m.logout();
    let ev = backup("uidv", &dir, &[], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], 1);
    assert_eq!(maildir(&dir, Some("4242")).len(), 1);
}

#[test]
fn killed_backups_resume_without_duplicates_or_gaps() {
    let (_t, dir) = tmp();
    let total = 240u64;
    let batch = 5u64;
    // messages whose commit some run reported, counted across the runs
    let mut committed = 0u64;
    // kill -9 at ten points: each run killed after its k-th batch event,
    // wherever it then is (fetching, writing files, committing)
    for k in [1u64, 1, 2, 1, 1, 1, 1, 2, 1, 1] {
        let mut child = backup_cmd(
            "killed",
            &dir,
            &["--json", "--folder", "INBOX", "--batch", "5"],
        )
        .spawn()
        .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        let mut base = None;
        for line in BufReader::new(stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if v["event"] == "batch" {
                seen += 1;
                let to_do = v["total"].as_u64().unwrap();
                let b = *base.get_or_insert(total - to_do);
                committed = committed.max(b + v["done"].as_u64().unwrap());
                if seen == k {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(
        committed < total,
        "the kills came too late to test anything"
    );
    // what was reported committed is never fetched again
    let ev = backup("killed", &dir, &["--folder", "INBOX", "--batch", "5"], 0);
    let inbox = folder(&ev, "INBOX");
    let downloaded = inbox["downloaded"].as_u64().unwrap();
    assert!(downloaded + committed <= total, "{inbox}");
    // the files of at most the one batch in flight are thrown away and
    // fetched again
    assert!(inbox["recovered"].as_u64().unwrap() <= batch, "{inbox}");
    let server = server_inbox("killed");
    let local = maildir(&dir, None);
    assert_eq!(local.len() as u64, total, "no duplicates, no gaps");
    for (uid, (bytes, _)) in &server {
        assert!(local[uid].0 == *bytes, "UID {uid} differs");
    }
    assert_eq!(files_in(&dir.join("INBOX/tmp")), 0);
}

#[test]
fn a_connection_lost_mid_run_is_reopened_and_the_run_resumes() {
    let (_t, dir) = tmp();
    let relay = imap4_testkit::relay::Relay::start(dovecot().addr()).unwrap();
    // the first connection is reset in the middle of the bodies
    relay.cut_after(0, 1 << 20);
    let out = backup_cmd_at(
        relay.port(),
        "cut",
        &dir,
        &["--json", "--batch", "25", "--no-fsync"],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events(&out.stdout);
    let again: Vec<&serde_json::Value> = ev.iter().filter(|e| e["event"] == "reconnect").collect();
    assert_eq!(again.len(), 1, "{ev:?}");
    assert_eq!(again[0]["attempt"], 1);
    assert_eq!(again[0]["retry_in_ms"], 1000);
    assert_eq!(relay.connections(), 2);
    // some batches were committed before the reset: the second run
    // downloads only the rest
    let before = ev
        .iter()
        .take_while(|e| e["event"] != "reconnect")
        .filter(|e| e["event"] == "batch")
        .count();
    assert!(before > 0, "the reset came after the first batch: {ev:?}");
    let downloaded = folder(&ev, "INBOX")["downloaded"].as_u64().unwrap();
    assert!(downloaded <= 200 - 25 * before as u64, "{ev:?}");
    let server = server_inbox("cut");
    let local = maildir(&dir, None);
    assert_eq!(local.len(), 200, "no duplicates, no gaps");
    for (uid, (bytes, _)) in &server {
        assert!(local[uid].0 == *bytes, "UID {uid} differs");
    }
    assert_eq!(files_in(&dir.join("INBOX/tmp")), 0);
    // `--retries 0`: the lost connection is the run's failure
    let (_t2, dir2) = tmp();
    let relay = imap4_testkit::relay::Relay::start(dovecot().addr()).unwrap();
    relay.cut_after(0, 1 << 20);
    let out = backup_cmd_at(relay.port(), "cut", &dir2, &["--retries", "0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_throttled_run_waits_as_long_as_the_server_suggests() {
    use imap4_testkit::fake::{FakeServer, Step};
    // Office 365's throttling: a NO with a suggested wait, then BYE
    let fake = FakeServer::start(vec![
        Step::send("* OK [CAPABILITY IMAP4rev1] fake\r\n"),
        Step::ReadLine,
        Step::send("{tag} OK [CAPABILITY IMAP4rev1 LIST-STATUS] in\r\n"),
        Step::ReadLine,
        Step::send(
            "{tag} NO Request is throttled. Suggested Backoff Time: 20 milliseconds\r\n\
             * BYE Connection closed. 14\r\n",
        ),
        Step::Close,
    ])
    .unwrap();
    let (_t, dir) = tmp();
    let out = backup_cmd_at(fake.port(), "x", &dir, &["--json", "--retries", "1"])
        .output()
        .unwrap();
    let ev = events(&out.stdout);
    let again = ev
        .iter()
        .find(|e| e["event"] == "reconnect")
        .unwrap_or_else(|| panic!("{ev:?} {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(again["retry_in_ms"], 20, "the server's suggestion: {again}");
    assert!(
        again["error"].as_str().unwrap().contains("throttled"),
        "{again}"
    );
    // the fake serves one connection: the reconnect is refused, and that
    // was the last attempt
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn message_filters_are_searched_on_the_server() {
    let (_t, dir) = tmp();
    let mut m = library("sized");
    m.typed().examine("INBOX").unwrap();
    let big: Vec<u32> = m
        .typed()
        .uid_search(&imap4::typed::SearchKey::Larger(4000))
        .unwrap()
        .iter()
        .collect();
    let _ = m.logout();
    assert!(
        !big.is_empty() && big.len() < 40,
        "a filter that splits: {}",
        big.len()
    );
    let dry = backup("sized", &dir, &["--larger", "4000", "--dry-run"], 0);
    assert_eq!(folder(&dry, "INBOX")["downloaded"], big.len());
    let ev = backup("sized", &dir, &["--larger", "4000", "--folder", "INBOX"], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], big.len());
    let mut local: Vec<u32> = maildir(&dir, None).into_keys().collect();
    local.sort_unstable();
    assert_eq!(local, big, "exactly the messages the server found");
    // without the filter, the rest
    let ev = backup("sized", &dir, &["--folder", "INBOX"], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], 40 - big.len());
    assert_eq!(maildir(&dir, None).len(), 40);
    let out = backup_cmd("sized", &dir, &["--since", "yesterday-ish"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad date is a usage error");
}

#[test]
fn a_lost_state_is_rebuilt_from_the_server_and_the_files() {
    let (_t, dir) = tmp();
    backup("rebuild", &dir, &["--folder", "INBOX"], 0);
    // meanwhile: flags change on the server, a file is lost, and so is
    // the state
    let mut m = library("rebuild");
    m.typed().select("INBOX").unwrap();
    m.typed()
        .uid_store(&UidSet::from(1..=3), StoreOp::Add, &["\\Flagged"], true)
        .unwrap();
    let _ = m.logout();
    let lost = maildir(&dir, None);
    let victim = std::fs::read_dir(dir.join("INBOX/cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("_5.imap4"))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    for f in [
        ".imap4-backup.sqlite",
        ".imap4-backup.sqlite-wal",
        ".imap4-backup.sqlite-shm",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    // rebuilt: nothing downloaded, the missing file reported
    let ev = backup(
        "rebuild",
        &dir,
        &["--folder", "INBOX", "--rebuild-state"],
        10,
    );
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["method"], "rebuild", "{inbox}");
    assert_eq!(inbox["downloaded"], 0, "{inbox}");
    assert_eq!(inbox["reconciled"], 29, "{inbox}");
    assert!(
        inbox["warning"]
            .as_str()
            .unwrap()
            .contains("1 messages without a file"),
        "{inbox}"
    );
    let local = maildir(&dir, None);
    assert_eq!(local.len(), 29);
    for uid in 1..=3 {
        assert!(
            local[&uid].1.contains('F'),
            "UID {uid} renamed to the server's flags"
        );
    }
    // the next run downloads only the lost one; then nothing
    let ev = backup("rebuild", &dir, &["--folder", "INBOX"], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], 1, "{ev:?}");
    let local = maildir(&dir, None);
    let server = server_inbox("rebuild");
    assert_eq!(local.len(), 30);
    for (uid, (bytes, flags)) in &server {
        assert!(local[uid].0 == *bytes, "UID {uid} differs");
        assert_eq!(local[uid].1, letters(flags), "UID {uid}'s flags");
    }
    assert_eq!(local[&5].0, lost[&5].0);
    let ev = backup("rebuild", &dir, &["--folder", "INBOX"], 0);
    assert_eq!(folder(&ev, "INBOX")["unchanged"], true, "{ev:?}");
    // rebuilding a state that exists keeps the old one beside it
    let ev = backup(
        "rebuild",
        &dir,
        &["--folder", "INBOX", "--rebuild-state"],
        0,
    );
    assert_eq!(folder(&ev, "INBOX")["reconciled"], 30);
    assert!(dir.join(".imap4-backup.sqlite.old").exists());
    let ev = backup("rebuild", &dir, &["--folder", "INBOX"], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], 0, "{ev:?}");
    // an mbox names no UIDs: refused
    let (_t2, dir2) = tmp();
    backup(
        "rebuild",
        &dir2,
        &["--format", "mbox", "--rebuild-state"],
        2,
    );
}

#[test]
fn changed_exit_says_whether_anything_changed() {
    let (_t, dir) = tmp();
    let run = |code: i32| {
        let out = backup_cmd("chg", &dir, &["--changed-exit"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "a success prints no error");
    };
    run(11);
    run(0);
    let mut m = library("chg");
    m.typed().select("INBOX").unwrap();
    m.typed()
        .uid_store(&UidSet::from(1..=1), StoreOp::Add, &["\\Flagged"], true)
        .unwrap();
    let _ = m.logout();
    run(11);
    // without the flag, a run that changed something is still 0
    let mut m = library("chg");
    m.typed().select("INBOX").unwrap();
    m.typed()
        .uid_store(&UidSet::from(2..=2), StoreOp::Add, &["\\Flagged"], true)
        .unwrap();
    let _ = m.logout();
    backup("chg", &dir, &[], 0);
}

#[test]
fn dry_run_changes_nothing() {
    let (_t, dir) = tmp();
    let ev = backup("dry", &dir, &["--dry-run"], 0);
    assert_eq!(folder(&ev, "INBOX")["downloaded"], 20);
    assert_eq!(done(&ev)["dry_run"], true);
    assert!(!dir.exists());
    backup("dry", &dir, &[], 0);
    let state = std::fs::read(dir.join(".imap4-backup.sqlite")).unwrap();
    let ev = backup("dry", &dir, &["--dry-run"], 0);
    assert_eq!(done(&ev)["downloaded"], 0);
    assert_eq!(
        std::fs::read(dir.join(".imap4-backup.sqlite")).unwrap(),
        state
    );
    // \Seen untouched by the backup (BODY.PEEK)
    let server = server_inbox("dry");
    let unseen = server
        .values()
        .filter(|(_, f)| !f.iter().any(|x| x == "\\Seen"))
        .count();
    assert!(unseen > 0);
}

#[test]
fn folder_filters_choose_what_is_backed_up() {
    let (_t, dir) = tmp();
    let ev = backup(
        "filters",
        &dir,
        &["--exclude", "INBOX", "--exclude", "J*"],
        0,
    );
    assert!(ev
        .iter()
        .all(|e| e["folder"] != "INBOX" && e["folder"] != "Junk"));
    assert!(dir.join("Sent/cur").is_dir() && !dir.join("INBOX").exists());
    let (_t2, dir) = tmp();
    let ev = backup("filters", &dir, &["--folder", "INBOX"], 0);
    let folders: Vec<&serde_json::Value> = ev.iter().filter(|e| e["event"] == "folder").collect();
    assert_eq!(folders.len(), 1);
    assert_eq!(done(&ev)["folders"], 1);
}

#[test]
fn human_output_and_the_lock() {
    let (_t, dir) = tmp();
    let out = backup_cmd("schema", &dir, &[]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("INBOX: 10 downloaded"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("10 messages downloaded"),
        "{text}"
    );
    // a second run while one holds the directory is refused
    let lock = std::fs::File::open(dir.join(".imap4-backup.lock")).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let out = backup_cmd("schema", &dir, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another backup is running"));
}
