//! `imap4 copy`, the built binary between accounts of the test kit's
//! Dovecot (and from Dovecot to Courier): every message byte-identical
//! with its flags and INTERNALDATE, reruns that copy nothing twice,
//! `kill -9` at ten points and a crash between APPEND and the state's
//! commit resumed without duplicates or gaps, a UIDVALIDITY change on the
//! source reconciled, `--dry-run` changing nothing, folder names mapped to
//! the destination's namespace, and the JSON events against the schema.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use imap4::typed::{Bound, FetchAttr, StoreOp, UidSet};
use imap4::Imap4;
use imap4_testkit::{Courier, Dovecot, ImapServer};

const BIN: &str = env!("CARGO_BIN_EXE_imap4");

/// Source users and their INBOX sizes; each has an empty `*_dst` partner.
const SOURCES: [(&str, usize); 10] = [
    ("cutc", 150),
    ("subs", 3),
    ("filt", 30),
    ("fid", 120),
    ("killed", 200),
    ("fp", 60),
    ("uidv", 40),
    ("dry", 20),
    ("cour", 15),
    ("pipe", 25),
];

fn dovecot() -> &'static Dovecot {
    static D: OnceLock<Dovecot> = OnceLock::new();
    D.get_or_init(|| {
        let mut b = Dovecot::builder();
        for (i, (u, n)) in SOURCES.iter().enumerate() {
            b = b.messages(u, *n, 70 + i as u64).user(&format!("{u}_dst"));
        }
        b = b
            .messages_in("subs", "Lists/rust", 4, 92)
            .messages_in("subs", "Other", 2, 93)
            .messages_in("fid", "Lists/rust", 30, 90)
            .messages_in("cour", "Lists/rust", 5, 91);
        b.start().expect("dovecot")
    })
}

fn url(user: &str, port: u16) -> String {
    format!("imap://{user}@127.0.0.1:{port}")
}

/// `imap4 --tls none copy SRC DST --state STATE ARGS`, clean environment.
fn copy_cmd(src: &str, dst: &str, state: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", state.parent().unwrap())
        .env("IMAP4_PASSWORD", dovecot().password())
        .args(["--tls", "none", "copy", src, dst, "--state"])
        .arg(state)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn pair(user: &str) -> (String, String) {
    let p = dovecot().port();
    (url(user, p), url(&format!("{user}_dst"), p))
}

fn run(src: &str, dst: &str, state: &Path, args: &[&str], code: i32) -> Vec<serde_json::Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out: Output = copy_cmd(src, dst, state, &all).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "copy {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    events(&out.stdout)
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(BIN).arg("schema").output().unwrap();
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        jsonschema::validator_for(&schema["copy"]).unwrap()
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

fn folder<'a>(events: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "folder" && e["folder"] == name)
        .unwrap_or_else(|| panic!("no folder event for {name}: {events:?}"))
}

fn done(events: &[serde_json::Value]) -> &serde_json::Value {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "done", "{events:?}");
    last
}

/// A message as a server has it: (bytes, sorted flags, INTERNALDATE).
type Msg = (Vec<u8>, Vec<String>, String);

fn login(host: &str, port: u16, user: &str) -> Imap4 {
    let mut m = Imap4::connect(host, port).unwrap();
    m.login(user, dovecot().password()).unwrap();
    m
}

/// Every message of `mailbox`, by UID (EXAMINE: nothing changes).
fn contents(m: &mut Imap4, mailbox: &str) -> BTreeMap<u32, Msg> {
    let sel = m.typed().examine(mailbox).unwrap();
    let mut out = BTreeMap::new();
    if sel.exists == 0 {
        return out;
    }
    let attrs = [
        FetchAttr::Uid,
        FetchAttr::Flags,
        FetchAttr::InternalDate,
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
    for f in fetches.iter() {
        let f = f.unwrap();
        let mut flags: Vec<String> = f
            .flags()
            .unwrap()
            .iter()
            .map(|x| x.0.to_string())
            .filter(|x| x != "\\Recent")
            .collect();
        flags.sort();
        let date = f.internal_date_parsed().unwrap().timestamp().to_string();
        out.insert(
            f.uid().unwrap(),
            (f.section("").unwrap().to_vec(), flags, date),
        );
    }
    out
}

fn dovecot_contents(user: &str, mailbox: &str) -> BTreeMap<u32, Msg> {
    let d = dovecot();
    contents(&mut login("127.0.0.1", d.port(), user), mailbox)
}

/// The messages as a sorted list (UIDs differ between servers).
fn sorted(m: &BTreeMap<u32, Msg>) -> Vec<Msg> {
    let mut v: Vec<Msg> = m.values().cloned().collect();
    v.sort();
    v
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state.sqlite");
    (t, state)
}

#[test]
fn copies_are_byte_identical_and_reruns_copy_nothing_twice() {
    let (_t, state) = tmp();
    let (src, dst) = pair("fid");
    let before = dovecot_contents("fid", "INBOX");
    let ev = run(&src, &dst, &state, &["--batch", "25"], 0);
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["copied"], 120, "{inbox}");
    assert_eq!(inbox["destination"], "INBOX");
    let lists = folder(&ev, "Lists/rust");
    assert_eq!(lists["copied"], 30, "{lists}");
    assert_eq!(lists["created"], true, "{lists}");
    let batches = ev.iter().filter(|e| e["event"] == "batch").count();
    assert_eq!(batches, 5 + 2, "batches of at most 25: {ev:?}");
    assert_eq!(done(&ev)["copied"], 150);
    // bytes, flags and dates as on the source; the source unchanged (no \Seen)
    for mb in ["INBOX", "Lists/rust"] {
        let s = dovecot_contents("fid", mb);
        let d = dovecot_contents("fid_dst", mb);
        assert_eq!(sorted(&s), sorted(&d), "{mb}");
        assert!(s.values().any(|m| m.1.is_empty()), "some unseen messages");
    }
    assert_eq!(
        before,
        dovecot_contents("fid", "INBOX"),
        "the source changed"
    );
    // a rerun: nothing opened, nothing copied
    let again = run(&src, &dst, &state, &[], 0);
    assert_eq!(folder(&again, "INBOX")["unchanged"], true, "{again:?}");
    assert_eq!(done(&again)["copied"], 0);
    // new mail on the source: only it is copied
    let d = dovecot();
    let mut m = login("127.0.0.1", d.port(), "fid");
    for i in 0..5 {
        let msg = format!("Message-ID: <new{i}@example>\r\nSubject: new {i}\r\n\r\nbody {i}\r\n");
        m.typed()
            .append("INBOX", &["\\Flagged"], None, msg.into_bytes())
            .unwrap();
    }
    let third = run(&src, &dst, &state, &[], 0);
    let inbox = folder(&third, "INBOX");
    assert_eq!(inbox["copied"], 5, "{inbox}");
    assert_eq!(inbox["already"], 120, "{inbox}");
    assert_eq!(folder(&third, "Lists/rust")["unchanged"], true);
    assert_eq!(
        sorted(&dovecot_contents("fid", "INBOX")),
        sorted(&dovecot_contents("fid_dst", "INBOX"))
    );
    // flags changed on the source after the copy are mirrored (CONDSTORE)
    m.typed().select("INBOX").unwrap();
    let uids = |r: std::ops::RangeInclusive<u32>| UidSet::from_numbers(r);
    m.typed()
        .uid_store(&uids(1..=5), StoreOp::Add, &["\\Flagged", "work"], true)
        .unwrap();
    m.typed()
        .uid_store(&uids(6..=8), StoreOp::Replace, &["\\Answered"], true)
        .unwrap();
    m.typed().unselect().unwrap();
    let fourth = run(&src, &dst, &state, &[], 0);
    let inbox = folder(&fourth, "INBOX");
    assert_eq!(inbox["flags_changed"], 8, "{inbox}");
    assert_eq!(inbox["copied"], 0, "{inbox}");
    assert_eq!(done(&fourth)["flags_changed"], 8);
    assert_eq!(
        sorted(&dovecot_contents("fid", "INBOX")),
        sorted(&dovecot_contents("fid_dst", "INBOX")),
        "the destination's flags follow the source's"
    );
    let fifth = run(&src, &dst, &state, &[], 0);
    assert_eq!(folder(&fifth, "INBOX")["unchanged"], true, "{fifth:?}");
    // the same state for another pair is refused
    let (other, _) = pair("dry");
    let out = copy_cmd(&other, &dst, &state, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the state of a copy from"));
}

/// Every source message exactly once in the destination.
fn assert_exact_copy(user: &str) {
    let s = sorted(&dovecot_contents(user, "INBOX"));
    let d = sorted(&dovecot_contents(&format!("{user}_dst"), "INBOX"));
    assert_eq!(s.len(), d.len(), "no duplicates, no gaps");
    assert!(s == d, "the copies differ from the originals");
}

#[test]
fn killed_copies_resume_without_duplicates_or_gaps() {
    let (_t, state) = tmp();
    let (src, dst) = pair("killed");
    let total = 200u64;
    let batch = 10u64;
    let mut committed = 0u64;
    // kill -9 at ten points: each run killed after its k-th batch event,
    // wherever it then is (fetching, appending, committing)
    for k in [1u64, 2, 1, 3, 1, 2, 1, 1, 2, 1] {
        let mut child = copy_cmd(&src, &dst, &state, &["--json", "--batch", "10"])
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        let mut base = None;
        for line in BufReader::new(stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if v["event"] == "batch" {
                seen += 1;
                let total_now = v["total"].as_u64().unwrap();
                let b = *base.get_or_insert(total - total_now);
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
    let ev = run(&src, &dst, &state, &["--batch", "10"], 0);
    let inbox = folder(&ev, "INBOX");
    let copied = inbox["copied"].as_u64().unwrap();
    let recovered = inbox["recovered"].as_u64().unwrap();
    // what was reported was recorded; at most one batch is looked for again
    assert!(copied + committed <= total, "{inbox}");
    assert!(recovered <= batch, "{inbox}");
    assert_exact_copy("killed");
}

#[test]
fn a_destination_connection_lost_mid_run_is_reopened_and_the_copy_resumes() {
    let (_t, state) = tmp();
    let d = dovecot();
    let relay = imap4_testkit::relay::Relay::start(d.addr()).unwrap();
    // the destination's first connection is reset after some of the
    // APPENDs' answers
    relay.cut_after(0, 3000);
    let src = url("cutc", d.port());
    let dst = url("cutc_dst", relay.port());
    let ev = run(
        &src,
        &dst,
        &state,
        &["--batch", "10", "--folder", "INBOX"],
        0,
    );
    let again: Vec<&serde_json::Value> = ev.iter().filter(|e| e["event"] == "reconnect").collect();
    assert_eq!(again.len(), 1, "{ev:?}");
    assert_eq!(relay.connections(), 2);
    assert_exact_copy("cutc");
    // nothing left to do
    let ev = run(&src, &dst, &state, &["--folder", "INBOX"], 0);
    assert_eq!(done(&ev)["copied"], 0);
}

#[test]
fn a_crash_between_append_and_commit_is_recovered_not_repeated() {
    let (_t, state) = tmp();
    let (src, dst) = pair("fp");
    // the destination stores the 3rd batch, then the process dies before
    // its state records it
    let out = copy_cmd(&src, &dst, &state, &["--json", "--batch", "10"])
        .env("IMAP4_FAILPOINT", "copy-after-append:3")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(dovecot_contents("fp_dst", "INBOX").len(), 30);
    let ev = run(&src, &dst, &state, &["--batch", "10"], 0);
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["recovered"], 10, "{inbox}");
    assert_eq!(inbox["already"], 30, "{inbox}");
    assert_eq!(inbox["copied"], 30, "{inbox}");
    assert_exact_copy("fp");
}

#[test]
fn a_uidvalidity_change_on_the_source_copies_nothing_twice() {
    let (_t, state) = tmp();
    let (src, dst) = pair("uidv");
    run(&src, &dst, &state, &["--folder", "INBOX"], 0);
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
    let ev = run(&src, &dst, &state, &["--folder", "INBOX"], 10);
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["reconciled"], 40, "{inbox}");
    assert_eq!(inbox["copied"], 0, "{inbox}");
    assert!(inbox["warning"].as_str().unwrap().contains("UIDVALIDITY"));
    assert_exact_copy("uidv");
    // and the next run is quiet again
    let ev = run(&src, &dst, &state, &["--folder", "INBOX"], 0);
    assert_eq!(folder(&ev, "INBOX")["unchanged"], true, "{ev:?}");
}

#[test]
fn dry_run_changes_nothing_on_either_side() {
    let (_t, state) = tmp();
    let (src, dst) = pair("dry");
    let ev = run(
        &src,
        &dst,
        &state,
        &["--dry-run", "--map", "INBOX=Moved"],
        0,
    );
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["copied"], 20, "{inbox}");
    assert_eq!(inbox["destination"], "Moved");
    assert_eq!(inbox["created"], true, "{inbox}");
    assert_eq!(done(&ev)["dry_run"], true);
    assert!(!state.exists(), "a state was written");
    let d = dovecot();
    let mut m = login("127.0.0.1", d.port(), "dry_dst");
    let names: Vec<String> = m
        .typed()
        .list("", "*")
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(!names.iter().any(|n| n == "Moved"), "{names:?}");
    assert!(dovecot_contents("dry_dst", "INBOX").is_empty());
    // filters are server-side searches
    let ev = run(&src, &dst, &state, &["--dry-run", "--larger", "1G"], 0);
    assert_eq!(folder(&ev, "INBOX")["copied"], 0, "{ev:?}");
}

#[test]
fn a_filtered_copy_leaves_the_rest_for_an_unfiltered_one() {
    let (_t, state) = tmp();
    let (src, dst) = pair("filt");
    let mut m = login("127.0.0.1", dovecot().port(), "filt");
    m.typed().examine("INBOX").unwrap();
    let big = m
        .typed()
        .uid_search(&imap4::typed::SearchKey::Larger(4000))
        .unwrap()
        .len();
    let _ = m.logout();
    assert!(big > 0 && big < 30, "a filter that splits: {big}");
    let ev = run(
        &src,
        &dst,
        &state,
        &["--folder", "INBOX", "--larger", "4000"],
        0,
    );
    assert_eq!(folder(&ev, "INBOX")["copied"], big);
    assert_eq!(dovecot_contents("filt_dst", "INBOX").len() as u64, big);
    let ev = run(&src, &dst, &state, &["--folder", "INBOX"], 0);
    let inbox = folder(&ev, "INBOX");
    assert_eq!(inbox["unchanged"], false, "{inbox}");
    assert_eq!(inbox["copied"], 30 - big, "{inbox}");
    assert_exact_copy("filt");
}

#[test]
fn folders_it_creates_are_subscribed_as_on_the_source() {
    let (_t, state) = tmp();
    let d = dovecot();
    let mut m = login("127.0.0.1", d.port(), "subs");
    m.typed().subscribe("Lists/rust").unwrap();
    m.typed().unsubscribe("Other").unwrap_or(());
    let _ = m.logout();
    let (src, dst) = pair("subs");
    let ev = run(&src, &dst, &state, &[], 0);
    assert_eq!(folder(&ev, "Lists/rust")["subscribed"], true, "{ev:?}");
    assert_eq!(folder(&ev, "Other")["subscribed"], false, "{ev:?}");
    let mut m = login("127.0.0.1", d.port(), "subs_dst");
    let subs: Vec<String> = m
        .typed()
        .lsub("", "*")
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(subs.iter().any(|n| n == "Lists/rust"), "{subs:?}");
    assert!(!subs.iter().any(|n| n == "Other"), "{subs:?}");
    // `--changed-exit`: 0 when nothing changed, 11 when something was copied
    run(&src, &dst, &state, &["--changed-exit"], 0);
    let mut m = login("127.0.0.1", d.port(), "subs");
    m.typed()
        .append(
            "Other",
            &[],
            None,
            b"Subject: one more\r\n\r\nx\r\n".to_vec(),
        )
        .unwrap();
    let _ = m.logout();
    let ev = run(&src, &dst, &state, &["--changed-exit"], 11);
    assert_eq!(done(&ev)["copied"], 1);
}

#[test]
fn folders_follow_the_destinations_namespace_on_courier() {
    let c = match Courier::start_with(&["cour".to_string()]) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            panic!("Courier needs root, as CI runs: {e}")
        }
        Err(e) => panic!("{e}"),
    };
    let (_t, state) = tmp();
    let src = url("cour", dovecot().port());
    let dst = url(&c.login_name("cour"), c.port());
    let ev = run(&src, &dst, &state, &["--batch", "4"], 0);
    // Courier: everything below `INBOX.`, `.` as the delimiter
    let lists = folder(&ev, "Lists/rust");
    assert_eq!(lists["destination"], "INBOX.Lists.rust", "{lists}");
    assert_eq!(lists["copied"], 5, "{lists}");
    assert_eq!(folder(&ev, "Sent")["destination"], "INBOX.Sent");
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login(&c.login_name("cour"), c.password()).unwrap();
    for (from, to) in [("INBOX", "INBOX"), ("Lists/rust", "INBOX.Lists.rust")] {
        let s = sorted(&dovecot_contents("cour", from));
        let d = sorted(&contents(&mut m, to));
        assert!(s == d, "{from} -> {to}: the copies differ");
    }
    let again = run(&src, &dst, &state, &[], 0);
    assert_eq!(done(&again)["copied"], 0, "{again:?}");
}

#[test]
fn pipelined_and_single_appends_copy_the_same_bytes() {
    // Dovecot offers MULTIAPPEND: --append chooses the other ways
    for (mode, piped) in [("pipelined", true), ("single", false)] {
        let (_t, state) = tmp();
        let (src, _) = pair("pipe");
        let dst_user = "pipe_dst";
        let dst = url(dst_user, dovecot().port());
        let mut all = vec![
            "--json", "-v", "--folder", "INBOX", "--batch", "10", "--append", mode,
        ];
        all.push("--map");
        let target = format!("INBOX=Copy-{mode}");
        all.push(&target);
        let out = copy_cmd(&src, &dst, &state, &all).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ev = events(&out.stdout);
        assert_eq!(done(&ev)["copied"], 25, "{ev:?}");
        // in the trace: pipelined, the second APPEND of a batch goes out
        // before the first one's answer; one at a time, it does not
        let trace = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = trace.lines().collect();
        let appends: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(&format!("APPEND \"Copy-{mode}\"")))
            .collect();
        let first_answer = (0..lines.len())
            .find(|&i| lines[i].contains("[APPENDUID"))
            .expect("an APPENDUID answer in the trace");
        assert_eq!(appends.len(), 25, "one APPEND per message: {trace}");
        assert_eq!(appends[1] < first_answer, piped, "{mode}: {trace}");
        let s = sorted(&dovecot_contents("pipe", "INBOX"));
        let d = sorted(&dovecot_contents(dst_user, &format!("Copy-{mode}")));
        assert!(s == d, "{mode}: the copies differ");
        let again = run(
            &src,
            &dst,
            &state,
            &["--folder", "INBOX", "--map", &target],
            0,
        );
        assert_eq!(done(&again)["copied"], 0, "{again:?}");
    }
}
