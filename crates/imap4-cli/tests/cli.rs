//! The built `imap4` binary against the test kit's Dovecot (and Cyrus):
//! every command end to end, JSON output checked against the published
//! schema, exit codes, byte-exact `show`, and no `\Seen` from reading.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use imap4::typed::{FetchAttr, SearchKey, UidSet};
use imap4::Imap4;
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::{Dovecot, Kind};

const BIN: &str = env!("CARGO_BIN_EXE_imap4");

/// One Dovecot for the whole file; each test has its own user.
fn dovecot() -> &'static Dovecot {
    static D: OnceLock<Dovecot> = OnceLock::new();
    D.get_or_init(|| {
        let mut b = Dovecot::builder().oauth2(true);
        for (i, u) in USERS.iter().enumerate() {
            b = b.messages(u, 30, 7 + i as u64);
        }
        b.start().expect("dovecot")
    })
}

const USERS: [&str; 13] = [
    "ls", "search", "list", "show", "append", "flag", "mv", "rm", "boxes", "raw", "auth", "codes",
    "zip",
];

/// A run of the binary with a clean environment: HOME in a temp dir, no
/// configuration or netrc of the machine's.
struct Run {
    home: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
}

impl Run {
    fn new() -> Run {
        Run {
            home: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
        }
    }

    /// As `user` on the file's Dovecot, plaintext, password from the
    /// environment.
    fn on(user: &str) -> Run {
        let d = dovecot();
        Run::at(d.port(), user, d.password())
    }

    /// As `login` on a plaintext port of any server.
    fn at(port: u16, login: &str, password: &str) -> Run {
        let mut r = Run::new();
        let port = port.to_string();
        r.args(&[
            "--tls",
            "none",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "-u",
            login,
        ]);
        r.env("IMAP4_PASSWORD", password);
        r
    }

    fn arg(&mut self, a: impl AsRef<str>) -> &mut Run {
        self.args.push(a.as_ref().to_string());
        self
    }

    fn args(&mut self, a: &[&str]) -> &mut Run {
        for x in a {
            self.arg(x);
        }
        self
    }

    fn env(&mut self, k: &str, v: &str) -> &mut Run {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    fn stdin(&mut self, b: &[u8]) -> &mut Run {
        self.stdin = b.to_vec();
        self
    }

    fn run(&self) -> Output {
        let mut c = Command::new(BIN);
        c.args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        let data = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    /// Runs and expects exit code `code`.
    fn code(&self, code: i32) -> Output {
        let out = self.run();
        assert_eq!(
            out.status.code(),
            Some(code),
            "imap4 {:?}\nstdout: {}\nstderr: {}",
            self.args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn ok(&self) -> Output {
        self.code(0)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// The published schema (`imap4 schema`), by command.
fn schema() -> &'static serde_json::Value {
    static S: OnceLock<serde_json::Value> = OnceLock::new();
    S.get_or_init(|| serde_json::from_slice(&Run::new().args(&["schema"]).ok().stdout).unwrap())
}

/// Parses `out` as JSON Lines and checks every line against the schema
/// of `command`.
fn json_lines(command: &str, out: &[u8]) -> Vec<serde_json::Value> {
    let validator = jsonschema::validator_for(&schema()[command]).unwrap();
    text(out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{command}: {l}\n{errors:?}");
            v
        })
        .collect()
}

fn json_one(command: &str, out: &[u8]) -> serde_json::Value {
    let mut v = json_lines(command, out);
    assert_eq!(v.len(), 1, "{}", text(out));
    v.pop().unwrap()
}

fn library(user: &str) -> Imap4 {
    let d = dovecot();
    let mut m = Imap4::connect("127.0.0.1", d.port()).unwrap();
    m.login(user, d.password()).unwrap();
    m
}

fn flags_of(m: &mut Imap4, mailbox: &str, uid: u32) -> Vec<String> {
    m.typed().examine(mailbox).unwrap();
    let f = m
        .typed()
        .uid_fetch(&UidSet::single(uid), &[FetchAttr::Flags])
        .unwrap();
    let f = f.iter().next().unwrap().unwrap();
    f.flags().unwrap().iter().map(|x| x.0.to_string()).collect()
}

fn body_of(m: &mut Imap4, mailbox: &str, uid: u32, section: &str) -> Vec<u8> {
    m.typed().examine(mailbox).unwrap();
    let mut v = Vec::new();
    m.typed().uid_fetch_body_to(uid, section, &mut v).unwrap();
    v
}

#[test]
fn compress_is_on_when_asked_and_off_on_loopback_by_default() {
    for (mode, on) in [("on", true), ("auto", false), ("off", false)] {
        let out = Run::on("zip")
            .args(&["-v", "--compress", mode, "list", "--json", "-n", "5"])
            .ok();
        let trace = text(&out.stderr);
        assert_eq!(trace.contains("COMPRESS DEFLATE"), on, "{mode}: {trace}");
        let rows = json_lines("list", &out.stdout);
        assert_eq!(rows.len(), 5, "{mode}: the listing works either way");
    }
    // from the configuration file too
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let d = dovecot();
    std::fs::write(
        &config,
        format!(
            "[accounts.z]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nuser = \"zip\"\ncompress = \"on\"\n",
            d.port()
        ),
    )
    .unwrap();
    let out = Run::new()
        .env("IMAP4_PASSWORD", d.password())
        .args(&["--config", config.to_str().unwrap(), "-a", "z", "-v", "ls"])
        .ok();
    assert!(text(&out.stderr).contains("COMPRESS DEFLATE"));
}

#[test]
fn ls_lists_mailboxes_with_counts_special_use_and_subscriptions() {
    let out = Run::on("ls").args(&["ls", "--json"]).ok();
    let v = json_one("ls", &out.stdout);
    let boxes = v["mailboxes"].as_array().unwrap();
    let inbox = boxes.iter().find(|b| b["name"] == "INBOX").unwrap();
    assert_eq!(inbox["messages"], 30);
    let mut m = library("ls");
    let unseen = m
        .typed()
        .status("INBOX", &[imap4::typed::StatusAttr::Unseen])
        .unwrap();
    assert_eq!(inbox["unseen"], unseen.unseen.unwrap());
    let sent = boxes.iter().find(|b| b["special_use"] == "sent").unwrap();
    assert_eq!(sent["name"], "Sent");
    // the kit's Dovecot subscribes the special-use folders, not Archive
    assert_eq!(sent["subscribed"], true);
    let archive = boxes.iter().find(|b| b["name"] == "Archive").unwrap();
    assert_eq!(archive["subscribed"], false);
    let out = Run::on("ls")
        .args(&["ls", "--json", "--subscribed", "--no-counts"])
        .ok();
    let v = json_one("ls", &out.stdout);
    let names: Vec<&str> = v["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Sent") && !names.contains(&"Archive"),
        "{names:?}"
    );
    assert!(v["mailboxes"][0]["messages"].is_null());
    // the table
    let t = text(&Run::on("ls").arg("ls").ok().stdout);
    assert!(t.starts_with("MAILBOX"), "{t}");
    assert!(
        t.lines()
            .any(|l| l.starts_with("INBOX") && l.contains(" 30 ")),
        "{t}"
    );
}

#[test]
fn search_turns_the_query_into_a_server_side_search() {
    let mut m = library("search");
    m.typed().examine("INBOX").unwrap();
    let expected = m
        .typed()
        .uid_search(&SearchKey::Or(
            Box::new(SearchKey::Flagged),
            Box::new(SearchKey::And(vec![
                SearchKey::Unseen,
                SearchKey::Larger(2000),
            ])),
        ))
        .unwrap();
    assert!(!expected.is_empty());
    let out = Run::on("search")
        .args(&[
            "search",
            "flagged",
            "or",
            "(unseen",
            "larger:2000)",
            "--json",
        ])
        .ok();
    let v = json_one("search", &out.stdout);
    let got: Vec<u32> = v["uids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(got, expected.iter().collect::<Vec<_>>());
    assert_eq!(v["count"], expected.len());
    // plain output: one UID per line
    let t = text(
        &Run::on("search")
            .args(&["search", "flagged", "or", "(unseen", "larger:2000)"])
            .ok()
            .stdout,
    );
    assert_eq!(
        t.lines()
            .map(|l| l.parse::<u32>().unwrap())
            .collect::<Vec<_>>(),
        got
    );
    // a message's own Message-ID finds exactly it
    let f = m
        .typed()
        .uid_fetch(&UidSet::single(5), &[FetchAttr::Envelope])
        .unwrap();
    let id = f
        .iter()
        .next()
        .unwrap()
        .unwrap()
        .envelope()
        .unwrap()
        .message_id
        .as_ref()
        .unwrap()
        .to_string();
    let out = Run::on("search")
        .arg("search")
        .arg(format!("header:Message-ID:{id}"))
        .ok();
    assert_eq!(text(&out.stdout), "5\n");
    // `-TERM` negates (and is not taken for an option)
    let expected = m
        .typed()
        .uid_search(&SearchKey::And(vec![
            SearchKey::Unseen,
            SearchKey::Not(Box::new(SearchKey::Flagged)),
        ]))
        .unwrap();
    let t = text(
        &Run::on("search")
            .args(&["search", "unseen", "-flagged"])
            .ok()
            .stdout,
    );
    assert_eq!(
        t.lines()
            .map(|l| l.parse::<u32>().unwrap())
            .collect::<Vec<_>>(),
        expected.iter().collect::<Vec<_>>()
    );
    // a bad query: usage, nothing sent
    let out = Run::on("search")
        .args(&["search", "since:yesterday"])
        .code(2);
    assert!(text(&out.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn list_streams_every_envelope_and_pages() {
    let out = Run::on("list").args(&["list", "--json"]).ok();
    let lines = json_lines("list", &out.stdout);
    assert_eq!(lines.len(), 30);
    let uids: Vec<u64> = lines.iter().map(|l| l["uid"].as_u64().unwrap()).collect();
    assert_eq!(uids, (1..=30).collect::<Vec<_>>());
    let mut m = library("list");
    m.typed().examine("INBOX").unwrap();
    let f = m
        .typed()
        .uid_fetch(
            &UidSet::single(7),
            &[FetchAttr::Envelope, FetchAttr::Rfc822Size],
        )
        .unwrap();
    let f = f.iter().next().unwrap().unwrap();
    assert_eq!(
        lines[6]["subject"].as_str(),
        f.envelope().unwrap().subject_decoded().as_deref()
    );
    assert_eq!(lines[6]["size"].as_u64(), f.rfc822_size());
    // a page, newest first
    let out = Run::on("list")
        .args(&["list", "--json", "--newest", "-n", "4", "-p", "2"])
        .ok();
    let page: Vec<u64> = json_lines("list", &out.stdout)
        .iter()
        .map(|l| l["uid"].as_u64().unwrap())
        .collect();
    assert_eq!(page, vec![26, 25, 24, 23]);
    // of a search
    let expected = m.typed().uid_search(&SearchKey::Unseen).unwrap();
    let out = Run::on("list").args(&["list", "--json", "unseen"]).ok();
    let got: Vec<u32> = json_lines("list", &out.stdout)
        .iter()
        .map(|l| l["uid"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(got, expected.iter().collect::<Vec<_>>());
    // a reader that stops early (`imap4 show … | head -1`) is no failure:
    // a 4 MiB message, far more than a pipe holds, and one line read
    let big: Vec<u8> = [
        b"Subject: big\r\n\r\n".to_vec(),
        b"0123456789abcdef\r\n".repeat(1 << 18),
    ]
    .concat();
    let map = m
        .typed()
        .append("Archive", &[], None, big)
        .unwrap()
        .unwrap();
    let uid = map.destination.iter().next().unwrap().to_string();
    let mut c = Command::new(BIN);
    c.args(&Run::on("list").args)
        .args(["show", "-m", "Archive", &uid]);
    c.env_clear().env("IMAP4_PASSWORD", dovecot().password());
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert_eq!(first, "Subject: big\r\n");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    // an empty mailbox lists nothing, whatever the server thinks of 1:*
    let out = Run::on("list")
        .args(&["list", "--json", "-m", "Trash"])
        .ok();
    assert!(out.stdout.is_empty());
    // the table has a header and one row per message
    let t = text(&Run::on("list").args(&["list", "-n", "3"]).ok().stdout);
    assert_eq!(t.lines().count(), 4, "{t}");
}

#[test]
fn show_writes_the_exact_bytes_and_sets_no_seen_flag() {
    let mut m = library("show");
    let unseen = {
        m.typed().examine("INBOX").unwrap();
        m.typed().uid_search(&SearchKey::Unseen).unwrap()
    };
    let uid = unseen.iter().next().expect("an unseen message");
    let expected = body_of(&mut m, "INBOX", uid, "");
    let out = Run::on("show").arg("show").arg(uid.to_string()).ok();
    assert_eq!(out.stdout, expected, "show is byte-exact");
    let out = Run::on("show").arg("fetch").arg(uid.to_string()).ok();
    assert_eq!(out.stdout, expected, "fetch is the same command");
    assert!(
        !flags_of(&mut m, "INBOX", uid).iter().any(|f| f == "\\Seen"),
        "reading set \\Seen"
    );
    // a part, and to a file
    let header = body_of(&mut m, "INBOX", uid, "HEADER");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.eml");
    Run::on("show")
        .args(&[
            "show",
            &uid.to_string(),
            "--part",
            "header",
            "-o",
            file.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(std::fs::read(&file).unwrap(), header);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    // JSON: the bytes in base64
    let out = Run::on("show")
        .args(&["show", &uid.to_string(), "--json"])
        .ok();
    let v = json_one("show", &out.stdout);
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD
        .decode(v["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(b, expected);
    assert_eq!(v["size"], expected.len());
    assert!(!flags_of(&mut m, "INBOX", uid).iter().any(|f| f == "\\Seen"));
    // -o never replaces what is not a regular file: /dev/null stays the
    // device (a rename over it, as root, once made it a plain file that
    // kept every byte written to it), a FIFO gets the bytes
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let was_device = std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device();
    Run::on("show")
        .args(&["show", &uid.to_string(), "-o", "/dev/null"])
        .ok();
    let still_device = std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device();
    assert_eq!(still_device, was_device, "-o /dev/null replaced the device");
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    Run::on("show")
        .args(&["show", &uid.to_string(), "-o", fifo.to_str().unwrap()])
        .ok();
    assert_eq!(
        reader.join().unwrap(),
        expected,
        "the bytes through the FIFO"
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // through a symlink the file it points to is replaced, the link stays;
    // an existing file keeps its permissions
    let real = dir.path().join("real.eml");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.eml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    Run::on("show")
        .args(&["show", &uid.to_string(), "-o", link.to_str().unwrap()])
        .ok();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), expected);
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // --mark-seen does
    let seen = dir.path().join("seen.eml");
    Run::on("show")
        .args(&[
            "show",
            &uid.to_string(),
            "--mark-seen",
            "-o",
            seen.to_str().unwrap(),
        ])
        .ok();
    assert!(flags_of(&mut m, "INBOX", uid).iter().any(|f| f == "\\Seen"));
    // no such message: "not found", and no file
    let missing = dir.path().join("missing.eml");
    let out = Run::on("show")
        .args(&["show", "9999", "-o", missing.to_str().unwrap()])
        .code(6);
    assert!(text(&out.stderr).contains("9999"));
    assert!(!missing.exists());
}

#[test]
fn append_stores_files_and_stdin_with_flags_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.eml");
    let body_a = b"From: a@example.org\r\nSubject: first\r\n\r\nline one\r\n".to_vec();
    std::fs::write(&a, &body_a).unwrap();
    let out = Run::on("append")
        .args(&[
            "append",
            "--json",
            "--flags",
            "\\Flagged,$Work",
            "--date",
            "2026-12-01T10:00:00+01:00",
            a.to_str().unwrap(),
        ])
        .ok();
    let v = json_one("append", &out.stdout);
    let uid = v["messages"][0]["uid"].as_u64().unwrap() as u32;
    let mut m = library("append");
    assert_eq!(body_of(&mut m, "INBOX", uid, ""), body_a);
    let flags = flags_of(&mut m, "INBOX", uid);
    assert!(
        flags.contains(&"\\Flagged".to_string()) && flags.contains(&"$Work".to_string()),
        "{flags:?}"
    );
    m.typed().examine("INBOX").unwrap();
    let f = m
        .typed()
        .uid_fetch(&UidSet::single(uid), &[FetchAttr::InternalDate])
        .unwrap();
    let date = f
        .iter()
        .next()
        .unwrap()
        .unwrap()
        .internal_date_parsed()
        .unwrap();
    assert_eq!(date.timestamp(), 1_796_115_600, "{date}"); // 2026-12-01T09:00:00Z
                                                           // from stdin, into another mailbox
    let body_b = b"Subject: from stdin\r\n\r\nhello\r\n".to_vec();
    let out = Run::on("append")
        .args(&["append", "-m", "Drafts"])
        .stdin(&body_b)
        .ok();
    let uid: u32 = text(&out.stdout)
        .trim()
        .split('\t')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body_of(&mut m, "Drafts", uid, ""), body_b);
    // one unreadable file of two: partial failure, the other stored
    let count = || {
        let mut m = library("append");
        m.typed()
            .status("Drafts", &[imap4::typed::StatusAttr::Messages])
            .unwrap()
            .messages
    };
    let before = count();
    let out = Run::on("append")
        .args(&[
            "append",
            "-m",
            "Drafts",
            a.to_str().unwrap(),
            dir.path().join("nope.eml").to_str().unwrap(),
        ])
        .code(9);
    assert!(text(&out.stderr).contains("nope.eml"));
    assert_eq!(count(), before.map(|n| n + 1));
    // into a mailbox that does not exist
    Run::on("append")
        .args(&["append", "-m", "NoSuchBox", a.to_str().unwrap()])
        .code(6);
}

#[test]
fn flag_adds_removes_and_sets() {
    let mut m = library("flag");
    let out = Run::on("flag")
        .args(&["flag", "add", "1:3", "\\Flagged", "$Todo", "--json"])
        .ok();
    let v = json_one("flag", &out.stdout);
    assert_eq!(v["messages"].as_array().unwrap().len(), 3);
    for uid in 1..=3 {
        let f = flags_of(&mut m, "INBOX", uid);
        assert!(
            f.contains(&"$Todo".to_string()) && f.contains(&"\\Flagged".to_string()),
            "{f:?}"
        );
    }
    Run::on("flag").args(&["flag", "remove", "2", "$Todo"]).ok();
    assert!(!flags_of(&mut m, "INBOX", 2).contains(&"$Todo".to_string()));
    Run::on("flag")
        .args(&["flag", "set", "3", "\\Answered"])
        .ok();
    let f = flags_of(&mut m, "INBOX", 3);
    assert!(
        f.contains(&"\\Answered".to_string()) && !f.contains(&"$Todo".to_string()),
        "{f:?}"
    );
    Run::on("flag")
        .args(&["flag", "add", "1", "bad flag"])
        .code(2);
    Run::on("flag")
        .args(&["flag", "add", "x:y", "\\Seen"])
        .code(2);
}

#[test]
fn mv_and_cp_keep_the_bytes_and_report_the_new_uids() {
    let mut m = library("mv");
    let b4 = body_of(&mut m, "INBOX", 4, "");
    let out = Run::on("mv").args(&["cp", "4", "Archive", "--json"]).ok();
    let v = json_one("cp", &out.stdout);
    let new = v["destination_uids"]
        .as_str()
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert_eq!(body_of(&mut m, "Archive", new, ""), b4);
    assert_eq!(body_of(&mut m, "INBOX", 4, ""), b4, "cp keeps the source");
    let out = Run::on("mv").args(&["mv", "4:5", "Archive", "--json"]).ok();
    let v = json_one("mv", &out.stdout);
    assert_eq!(v["method"], "move");
    m.typed().examine("INBOX").unwrap();
    assert!(m
        .typed()
        .uid_search(&SearchKey::Uid("4:5".parse().unwrap()))
        .unwrap()
        .is_empty());
    Run::on("mv").args(&["mv", "6", "NoSuchBox"]).code(6);
}

#[test]
fn rm_expunges_by_policy() {
    let mut m = library("rm");
    // another message already marked \Deleted must survive `rm` of one
    m.typed().select("INBOX").unwrap();
    m.typed()
        .uid_store(
            &UidSet::single(10),
            imap4::typed::StoreOp::Add,
            &["\\Deleted"],
            true,
        )
        .unwrap();
    let out = Run::on("rm").args(&["rm", "1", "--json"]).ok();
    assert_eq!(json_one("rm", &out.stdout)["expunged"], 1);
    m.typed().examine("INBOX").unwrap();
    let left = m.typed().uid_search(&SearchKey::All).unwrap();
    assert!(!left.contains(1) && left.contains(10));
    Run::on("rm").args(&["rm", "2", "--expunge", "none"]).ok();
    m.typed().examine("INBOX").unwrap();
    assert!(m
        .typed()
        .uid_search(&SearchKey::Deleted)
        .unwrap()
        .contains(2));
    let out = Run::on("rm")
        .args(&["rm", "3", "--expunge", "all", "--json"])
        .ok();
    assert_eq!(
        json_one("rm", &out.stdout)["expunged"],
        3,
        "3, plus 2 and 10"
    );
    m.typed().examine("INBOX").unwrap();
    assert!(m
        .typed()
        .uid_search(&SearchKey::Deleted)
        .unwrap()
        .is_empty());
}

#[test]
fn mkdir_rename_rmdir() {
    let mut m = library("boxes");
    let out = Run::on("boxes")
        .args(&["mkdir", "Projects/2026", "--json"])
        .ok();
    assert_eq!(json_one("mkdir", &out.stdout)["done"], "created");
    Run::on("boxes").args(&["mkdir", "Projects/2026"]).code(7);
    Run::on("boxes")
        .args(&["rename", "Projects/2026", "Projects/Done"])
        .ok();
    let names: Vec<String> = m
        .typed()
        .list("", "Projects/*")
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, vec!["Projects/Done".to_string()]);
    Run::on("boxes").args(&["rmdir", "Projects/Done"]).ok();
    assert!(m.typed().list("", "Projects/Done").unwrap().is_empty());
    Run::on("boxes").args(&["rmdir", "Projects/Done"]).code(6);
    // non-ASCII names travel as modified UTF-7 and come back decoded
    Run::on("boxes").args(&["mkdir", "Entwürfe"]).ok();
    let out = Run::on("boxes").args(&["ls", "--json", "--no-counts"]).ok();
    assert!(json_one("ls", &out.stdout)["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == "Entwürfe"));
}

#[test]
fn raw_sends_commands_and_shows_the_trace() {
    let input = b"NOOP\nSTATUS INBOX (MESSAGES)\n# a comment\nEXAMINE INBOX\nUID FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\n";
    let out = Run::on("raw").arg("raw").stdin(input).ok();
    let t = text(&out.stdout);
    assert!(
        t.lines()
            .any(|l| l.starts_with("C: ") && l.ends_with(" STATUS INBOX (MESSAGES)")),
        "{t}"
    );
    assert!(t.contains("S: * STATUS INBOX (MESSAGES 30)"), "{t}");
    assert!(t.contains("HEADER.FIELDS (SUBJECT)] {"), "{t}");
    let out = Run::on("raw")
        .args(&["raw", "--json", "-c", "NOOP", "-c", "BOGUS"])
        .code(9);
    let v = json_lines("raw", &out.stdout);
    assert_eq!(v[0]["status"], "OK");
    assert_eq!(v[1]["status"], "BAD");
    // a line break cannot be smuggled into a command
    let out = Run::on("raw")
        .args(&["raw", "--json", "-c", "NOOP\r\nDELETE INBOX"])
        .code(7);
    assert!(json_lines("raw", &out.stdout)[0]["sent"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn the_trace_never_shows_the_password() {
    // PLAIN puts the password on the wire (base64): the trace must not
    let d = Dovecot::builder()
        .auth_mechanisms("plain login")
        .start()
        .unwrap();
    let out = Run::at(d.port(), "alice", d.password())
        .args(&["-v", "ls", "--no-counts"])
        .ok();
    let err = text(&out.stderr);
    assert!(err.contains("> ") && err.contains("< "), "{err}");
    assert!(
        err.contains("AUTHENTICATE PLAIN") || err.contains("LOGIN"),
        "{err}"
    );
    assert!(!err.contains(d.password()), "{err}");
    use base64::Engine;
    let plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{}", d.password()));
    assert!(!err.contains(&plain), "{err}");
    assert!(!err.contains(&plain[..12]), "{err}");
}

/// The client lines of a `-v` trace.
fn sent(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.starts_with("> ")).collect()
}

#[test]
fn auth_picks_the_mechanism_and_the_greeting_saves_capability() {
    let d = dovecot();
    let mechanism = |extra: &[&str], config: Option<&str>| -> String {
        let mut r = Run::on("auth");
        if let Some(c) = config {
            let path = r.home.path().join("config.toml");
            std::fs::write(&path, c).unwrap();
            r.args(&["--config", path.to_str().unwrap()]);
        }
        let out = r.args(extra).args(&["-v", "ls", "--no-counts"]).ok();
        let err = text(&out.stderr);
        let lines = sent(&err);
        // the greeting's [CAPABILITY] is used: no CAPABILITY command
        assert!(!lines.iter().any(|l| l.ends_with(" CAPABILITY")), "{err}");
        let auth = lines
            .iter()
            .find(|l| l.contains(" AUTHENTICATE ") || l.contains(" LOGIN "))
            .unwrap_or_else(|| panic!("no login in {err}"));
        assert!(!auth.contains(d.password()), "{auth}");
        auth.split_whitespace()
            .nth(3)
            .unwrap_or("LOGIN")
            .to_string()
    };
    assert_eq!(mechanism(&[], None), "SCRAM-SHA-256");
    assert_eq!(mechanism(&["--auth", "auto"], None), "SCRAM-SHA-256");
    assert_eq!(mechanism(&["--auth", "scram"], None), "SCRAM-SHA-256");
    assert_eq!(mechanism(&["--auth", "plain"], None), "PLAIN");
    assert_eq!(mechanism(&["--auth", "login"], None), "LOGIN");
    let config = "[accounts.x]\nauth = \"plain\"\n";
    assert_eq!(mechanism(&[], Some(config)), "PLAIN");
    // the flag wins over the file
    assert_eq!(
        mechanism(&["--auth", "scram"], Some(config)),
        "SCRAM-SHA-256"
    );

    // a server without SCRAM: --auth scram fails before any password goes out
    let plain_only = Dovecot::builder()
        .auth_mechanisms("plain login")
        .start()
        .unwrap();
    let out = Run::at(plain_only.port(), "alice", plain_only.password())
        .args(&["--auth", "scram", "-v", "ls", "--no-counts"])
        .code(5);
    let err = text(&out.stderr);
    assert!(err.contains("SCRAM-SHA-256"), "{err}");
    assert!(
        !sent(&err).iter().any(|l| l.contains("AUTHENTICATE")),
        "{err}"
    );
}

#[test]
fn credentials_from_command_env_netrc_config_url_and_oauth2() {
    let d = dovecot();
    let port = d.port().to_string();
    let base = [
        "--tls",
        "none",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "-u",
        "auth",
    ];
    // a password command
    Run::new()
        .args(&base)
        .args(&[
            "--password-command",
            "printf 'secret\\n'",
            "ls",
            "--no-counts",
        ])
        .ok();
    // a named environment variable
    Run::new()
        .args(&base)
        .args(&["--password-env", "MY_PW", "ls"])
        .env("MY_PW", "secret")
        .ok();
    // netrc
    let r = Run::new();
    std::fs::write(
        r.home.path().join(".netrc"),
        "machine 127.0.0.1 login auth password secret\n",
    )
    .unwrap();
    let mut r = r;
    r.args(&base).args(&["ls"]).ok();
    // nothing found and no terminal: authentication class, with a hint
    let out = Run::new().args(&base).args(&["ls"]).code(5);
    assert!(
        text(&out.stderr).contains("password_command"),
        "{}",
        text(&out.stderr)
    );
    // a wrong password
    Run::new()
        .args(&base)
        .args(&["ls"])
        .env("IMAP4_PASSWORD", "wrong")
        .code(5);
    // the configuration file: a default account, TLS with the kit's CA
    let mut r = Run::new();
    let cfg = r.home.path().join(".config/imap4");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "default = \"work\"\n\n[accounts.work]\nhost = \"localhost\"\nport = {}\ntls = \"implicit\"\nuser = \"auth\"\npassword_command = \"echo secret\"\nca_file = {:?}\nmailbox = \"Sent\"\n\n[accounts.other]\nhost = \"localhost\"\nport = {}\nuser = \"auth\"\npassword_env = \"OTHER\"\nca_file = {:?}\n",
            d.tls_port(),
            d.ca_file(),
            d.port(),
            d.ca_file()
        ),
    )
    .unwrap();
    let out = r.args(&["search", "--json"]).ok();
    assert_eq!(json_one("search", &out.stdout)["mailbox"], "Sent");
    // the other account: STARTTLS on the plain port
    let mut r2 = Run::new();
    std::fs::create_dir_all(r2.home.path().join(".config/imap4")).unwrap();
    std::fs::copy(
        cfg.join("config.toml"),
        r2.home.path().join(".config/imap4/config.toml"),
    )
    .unwrap();
    r2.args(&["-a", "other", "ls", "--no-counts"])
        .env("OTHER", "secret")
        .ok();
    Run::new().args(&["-a", "nope", "ls"]).code(2);
    // a URL, anywhere on the line; STARTTLS is required on imap://
    let url = format!("imap://auth@localhost:{}", d.port());
    Run::new()
        .args(&["ls", &url, "--ca-file", d.ca_file().to_str().unwrap()])
        .env("IMAP4_PASSWORD", "secret")
        .ok();
    let out = Run::new()
        .args(&["ls", &url])
        .env("IMAP4_PASSWORD", "secret")
        .code(4);
    assert!(
        text(&out.stderr).contains("certificate") || text(&out.stderr).contains("Unknown"),
        "{}",
        text(&out.stderr)
    );
    Run::new()
        .args(&["ls", &format!("imap://auth:secret@localhost:{}", d.port())])
        .code(2);
    // OAuth2: a token command, OAUTHBEARER or XOAUTH2 on Dovecot's oauth2 passdb
    let token = d.oauth2_token("auth", 300);
    Run::new()
        .args(&base)
        .args(&[
            "--token-command",
            &format!("echo {token}"),
            "ls",
            "--no-counts",
        ])
        .ok();
    let stale = d.oauth2_token("auth", -300);
    Run::new()
        .args(&base)
        .args(&["--token-command", &format!("echo {stale}"), "ls"])
        .code(5);
}

#[test]
fn exit_codes_by_class() {
    let d = dovecot();
    // usage
    Run::new().args(&["ls", "--bogus"]).code(2);
    Run::new().args(&["ls"]).code(2); // no server at all
                                      // connect: nothing listens
    let port = imap4_testkit::free_port().to_string();
    let out = Run::new()
        .args(&[
            "--tls",
            "none",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "-u",
            "x",
            "ls",
        ])
        .env("IMAP4_PASSWORD", "x")
        .code(3);
    assert!(text(&out.stderr).contains("127.0.0.1"));
    // TLS: implicit TLS against the plain port
    Run::new()
        .args(&[
            "--tls",
            "implicit",
            "--host",
            "127.0.0.1",
            "--port",
            &d.port().to_string(),
            "-u",
            "codes",
            "--timeout",
            "5",
            "ls",
        ])
        .env("IMAP4_PASSWORD", "secret")
        .code(4);
    // mailbox not found, server NO
    Run::on("codes").args(&["list", "-m", "Nope"]).code(6);
    Run::on("codes").args(&["mkdir", "INBOX"]).code(7);
    // protocol: a server that answers garbage
    let fake = FakeServer::start(vec![
        Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"),
        Step::expect_prefix(""),
        Step::send("* this is not IMAP at all ((((\r\n"),
        Step::hang(),
    ])
    .unwrap();
    let out = Run::new()
        .args(&[
            "--tls",
            "none",
            "--host",
            "127.0.0.1",
            "--port",
            &fake.port().to_string(),
            "-u",
            "x",
            "--timeout",
            "5",
            "ls",
            "--json",
        ])
        .env("IMAP4_PASSWORD", "x")
        .code(8);
    let err = json_one("error", &out.stderr);
    assert_eq!(err["error"]["class"], "protocol");
    assert_eq!(err["error"]["exit_code"], 8);
    drop(fake);
    // the documented list matches the classes
    let help = text(&Run::new().arg("--help").ok().stdout);
    for line in ["0  ok", "5  authentication", "6  mailbox", "9  partial"] {
        assert!(help.contains(line), "{line}: {help}");
    }
}

#[test]
fn completions_man_page_and_schema_file() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Run::new().args(&["completions", shell]).ok();
        assert!(text(&out.stdout).contains("imap4"), "{shell}");
    }
    let man = text(&Run::new().arg("man").ok().stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH imap4"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("Exit codes"));
    // the schema published in the repository is the one the binary has
    let file: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        &file,
        schema(),
        "crates/imap4-cli/schema.json is stale: run `imap4 schema > crates/imap4-cli/schema.json`"
    );
}

#[test]
fn works_on_cyrus_too() {
    let s = Kind::Cyrus
        .builder()
        .messages("alice", 12, 3)
        .start()
        .unwrap();
    let port = s.port().to_string();
    let login = s.login_name("alice");
    let mut r = Run::new();
    r.args(&[
        "--host",
        "localhost",
        "--port",
        &port,
        "-u",
        &login,
        "--ca-file",
        s.ca_file().to_str().unwrap(),
    ])
    .env("IMAP4_PASSWORD", s.password());
    let args = r.args.clone();
    let run = |extra: &[&str]| {
        let mut r = Run::new();
        r.args = args.clone();
        r.env("IMAP4_PASSWORD", s.password());
        r.args(extra);
        r
    };
    let v = json_one("ls", &run(&["ls", "--json"]).ok().stdout);
    let inbox = v["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "INBOX")
        .cloned()
        .unwrap();
    assert_eq!(inbox["messages"], 12);
    assert_eq!(
        json_lines("list", &run(&["list", "--json"]).ok().stdout).len(),
        12
    );
    let mut m = Imap4::connect(s.host(), s.port()).unwrap();
    m.login(&login, s.password()).unwrap();
    m.typed().examine("INBOX").unwrap();
    let uid = m
        .typed()
        .uid_search(&SearchKey::Unseen)
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let mut expected = Vec::new();
    m.typed().uid_fetch_body_to(uid, "", &mut expected).unwrap();
    assert_eq!(run(&["show", &uid.to_string()]).ok().stdout, expected);
    m.typed().examine("INBOX").unwrap();
    assert!(
        m.typed()
            .uid_search(&SearchKey::Unseen)
            .unwrap()
            .contains(uid),
        "no \\Seen on Cyrus"
    );
    let msg = b"Subject: cyrus\r\n\r\nhi\r\n";
    run(&["append"]).stdin(msg).ok();
    run(&["list", "-m", "NoSuchBox"]).code(6);
}

#[test]
fn ls_without_list_extended_uses_list_lsub_and_status() {
    // GNU Mailutils offers neither LIST-EXTENDED nor LIST-STATUS
    let s = Kind::Mailutils
        .builder()
        .messages("alice", 5, 9)
        .start()
        .unwrap();
    let mut m = Imap4::connect(s.host(), s.port()).unwrap();
    assert!(!m.typed().has_capability("LIST-EXTENDED"));
    m.login(&s.login_name("alice"), s.password()).unwrap();
    let unseen = m
        .typed()
        .status("INBOX", &[imap4::typed::StatusAttr::Unseen])
        .unwrap()
        .unseen;
    let out = Run::at(s.port(), &s.login_name("alice"), s.password())
        .args(&["ls", "--json"])
        .ok();
    let v = json_one("ls", &out.stdout);
    let boxes = v["mailboxes"].as_array().unwrap();
    let inbox = boxes.iter().find(|b| b["name"] == "INBOX").unwrap();
    assert_eq!(inbox["messages"], 5);
    assert_eq!(inbox["unseen"].as_u64(), unseen.map(u64::from));
    assert!(boxes.iter().any(|b| b["subscribed"] == true), "{v}");
}
