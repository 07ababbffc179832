//! `imap4 backup` against a Gmail-like server: labels are folders, a
//! message with several labels is in several folders (and in
//! `[Gmail]/All Mail`) under one `X-GM-MSGID`, and the backup downloads
//! each message once. Dovecot has no X-GM-EXT-1, so this is a small
//! scripted server (one thread per connection, answering the commands a
//! backup sends) that counts the bodies it sends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_imap4");

/// The folders: (name, UIDVALIDITY, the X-GM-MSGID of UID 1, 2, ...).
const FOLDERS: [(&str, u32, &[u64]); 3] = [
    ("INBOX", 11, &[1001, 1002, 1003]),
    ("Work", 12, &[1002, 1004]),
    ("[Gmail]/All Mail", 13, &[1001, 1002, 1003, 1004]),
];

/// The message with this Gmail id (a `From ` line in the body, for the
/// mbox escaping).
fn message(gm: u64) -> Vec<u8> {
    format!(
        "From: a@example.com\r\nSubject: m{gm}\r\nMessage-ID: <{gm}@example.com>\r\n\r\n\
         body of {gm}\r\nFrom the start of a line\r\n"
    )
    .into_bytes()
}

struct Gmail {
    port: u16,
    bodies: Arc<AtomicUsize>,
}

impl Gmail {
    fn start() -> Gmail {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(AtomicUsize::new(0));
        let b = bodies.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let b = b.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &b);
                });
            }
        });
        Gmail { port, bodies }
    }
}

/// `1:3,5`, `2:*` against the folder's largest UID.
fn uid_set(set: &str, max: u32) -> Vec<u32> {
    let n = |s: &str| {
        if s == "*" {
            max
        } else {
            s.parse().unwrap_or(0)
        }
    };
    let mut out = Vec::new();
    for part in set.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (a, b) = (n(a).min(n(b)), n(a).max(n(b)));
        out.extend((a..=b).filter(|u| (1..=max).contains(u)));
    }
    out
}

fn serve(conn: TcpStream, bodies: &AtomicUsize) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut w = conn;
    w.write_all(b"* OK [CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS] Gimap ready\r\n")?;
    let mut selected: Option<usize> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        let (tag, rest) = l.split_once(' ').unwrap_or((l, ""));
        let (cmd, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let mut out = Vec::new();
        match cmd.to_ascii_uppercase().as_str() {
            "CAPABILITY" => out.extend_from_slice(b"* CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS\r\n"),
            "LIST" => {
                for (name, _, _) in FOLDERS {
                    let attrs = if name.starts_with("[Gmail]") {
                        "\\HasNoChildren \\All"
                    } else {
                        "\\HasNoChildren"
                    };
                    out.extend_from_slice(
                        format!("* LIST ({attrs}) \"/\" \"{name}\"\r\n").as_bytes(),
                    );
                }
            }
            "SELECT" | "EXAMINE" => {
                let name = args.split('"').nth(1).unwrap_or(args);
                let Some(i) = FOLDERS.iter().position(|f| f.0.eq_ignore_ascii_case(name)) else {
                    w.write_all(format!("{tag} NO no such folder\r\n").as_bytes())?;
                    continue;
                };
                selected = Some(i);
                let (_, uv, ids) = FOLDERS[i];
                out.extend_from_slice(
                    format!(
                        "* FLAGS (\\Seen \\Flagged)\r\n* {} EXISTS\r\n* OK [UIDVALIDITY {uv}] v\r\n\
                         * OK [UIDNEXT {}] n\r\n",
                        ids.len(),
                        ids.len() + 1
                    )
                    .as_bytes(),
                );
            }
            "UID" => {
                let Some(f) = selected else {
                    w.write_all(format!("{tag} BAD nothing selected\r\n").as_bytes())?;
                    continue;
                };
                let ids = FOLDERS[f].2;
                let (sub, rest) = args.split_once(' ').unwrap_or((args, ""));
                match sub.to_ascii_uppercase().as_str() {
                    "SEARCH" => {
                        out.extend_from_slice(b"* SEARCH");
                        for u in 1..=ids.len() {
                            out.extend_from_slice(format!(" {u}").as_bytes());
                        }
                        out.extend_from_slice(b"\r\n");
                    }
                    "FETCH" => {
                        let (set, items) = rest.split_once(' ').unwrap_or((rest, ""));
                        let items = items.to_ascii_uppercase();
                        for uid in uid_set(set, ids.len() as u32) {
                            let gm = ids[uid as usize - 1];
                            let msg = message(gm);
                            let mut resp = format!("* {uid} FETCH (UID {uid}");
                            if items.contains("FLAGS") {
                                resp.push_str(" FLAGS (\\Seen)");
                            }
                            if items.contains("INTERNALDATE") {
                                resp.push_str(" INTERNALDATE \"01-Jan-2024 10:00:00 +0000\"");
                            }
                            if items.contains("RFC822.SIZE") {
                                resp.push_str(&format!(" RFC822.SIZE {}", msg.len()));
                            }
                            if items.contains("X-GM-MSGID") {
                                resp.push_str(&format!(" X-GM-MSGID {gm}"));
                            }
                            out.extend_from_slice(resp.as_bytes());
                            if items.contains("BODY.PEEK[]") || items.contains("BODY[]") {
                                bodies.fetch_add(1, Ordering::SeqCst);
                                out.extend_from_slice(
                                    format!(" BODY[] {{{}}}\r\n", msg.len()).as_bytes(),
                                );
                                out.extend_from_slice(&msg);
                            }
                            out.extend_from_slice(b")\r\n");
                        }
                    }
                    _ => {}
                }
            }
            "LOGOUT" => {
                w.write_all(format!("* BYE bye\r\n{tag} OK bye\r\n").as_bytes())?;
                return Ok(());
            }
            _ => {}
        }
        out.extend_from_slice(format!("{tag} OK done\r\n").as_bytes());
        w.write_all(&out)?;
    }
}

fn backup(port: u16, dir: &Path, format: &str) -> Vec<serde_json::Value> {
    backup_with(port, dir, format, &[])
}

fn backup_with(port: u16, dir: &Path, format: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.parent().unwrap())
        .env("IMAP4_PASSWORD", "secret")
        .args([
            "--tls",
            "none",
            "--host",
            "127.0.0.1",
            "-u",
            "alice",
            "--auth",
            "login",
        ])
        .arg("--port")
        .arg(port.to_string())
        .args(["--json", "backup", "--format", format, "--no-fsync", "--to"])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// (downloaded, deduplicated) per folder, from the `folder` events.
fn per_folder(events: &[serde_json::Value]) -> BTreeMap<String, (u64, u64)> {
    events
        .iter()
        .filter(|e| e["event"] == "folder")
        .map(|e| {
            (
                e["folder"].as_str().unwrap().to_string(),
                (
                    e["downloaded"].as_u64().unwrap(),
                    e["deduplicated"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Every stored message's bytes, by folder (Maildir `cur/` files, or the
/// mbox's messages, mboxrd-unescaped).
fn stored(dir: &Path, format: &str) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for (name, _, _) in FOLDERS {
        let mut msgs = Vec::new();
        if format == "maildir" {
            let Ok(files) = std::fs::read_dir(dir.join(name).join("cur")) else {
                continue;
            };
            for f in files {
                msgs.push(std::fs::read(f.unwrap().path()).unwrap());
            }
        } else {
            let bytes = std::fs::read(dir.join(format!("{name}.mbox"))).unwrap();
            let mut current: Option<Vec<u8>> = None;
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                if line.starts_with(b"From imap4 ") {
                    msgs.extend(current.take());
                    current = Some(Vec::new());
                    continue;
                }
                let m = current.as_mut().expect("a message before any From line");
                let gts = line.iter().take_while(|&&c| c == b'>').count();
                if gts > 0 && line[gts..].starts_with(b"From ") {
                    m.extend_from_slice(&line[1..]);
                } else {
                    m.extend_from_slice(line);
                }
            }
            msgs.extend(current);
            // the separator LF after each message
            for m in &mut msgs {
                assert_eq!(m.pop(), Some(b'\n'));
            }
        }
        out.insert(name.to_string(), msgs);
    }
    out
}

#[test]
fn each_gmail_message_is_downloaded_once_whatever_its_labels() {
    for format in ["maildir", "mbox"] {
        let gmail = Gmail::start();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("backup");
        let events = backup(gmail.port, &dir, format);
        // INBOX first: all three downloaded; Work: 1002 copied, 1004
        // downloaded; All Mail: all four copied
        let want: BTreeMap<String, (u64, u64)> = [
            ("INBOX".to_string(), (3, 0)),
            ("Work".to_string(), (1, 1)),
            ("[Gmail]/All Mail".to_string(), (0, 4)),
        ]
        .into();
        assert_eq!(per_folder(&events), want, "{format}");
        assert_eq!(
            gmail.bodies.load(Ordering::SeqCst),
            4,
            "{format}: four messages, four bodies"
        );
        let done = events.iter().find(|e| e["event"] == "done").unwrap();
        assert_eq!(done["downloaded"], 4);
        assert_eq!(done["deduplicated"], 5);
        // every folder holds its messages, byte for byte
        let got = stored(&dir, format);
        for (name, _, ids) in FOLDERS {
            let mut want: Vec<Vec<u8>> = ids.iter().map(|&g| message(g)).collect();
            let mut have = got[name].clone();
            want.sort();
            have.sort();
            assert_eq!(have, want, "{format}: {name}");
        }
        // a second run has nothing to do
        let again = backup(gmail.port, &dir, format);
        assert!(
            per_folder(&again).values().all(|&(d, c)| d == 0 && c == 0),
            "{again:?}"
        );
        assert_eq!(gmail.bodies.load(Ordering::SeqCst), 4);
    }
}

/// A copy whose bytes changed on disk since it was stored is not used:
/// that message is downloaded again for the other label.
#[test]
fn a_changed_local_copy_is_downloaded_again() {
    let gmail = Gmail::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("backup");
    backup_with(gmail.port, &dir, "maildir", &["--folder", "INBOX"]);
    assert_eq!(gmail.bodies.load(Ordering::SeqCst), 3);
    // spoil INBOX's copy of 1002 (UID 2)
    let cur = dir.join("INBOX").join("cur");
    let spoilt = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == message(1002))
        .expect("1002 in INBOX");
    std::fs::write(&spoilt, b"not the message").unwrap();
    let events = backup_with(gmail.port, &dir, "maildir", &["--folder", "Work"]);
    assert_eq!(per_folder(&events)["Work"], (2, 0), "{events:?}");
    assert_eq!(gmail.bodies.load(Ordering::SeqCst), 5);
    let got = stored(&dir, "maildir");
    let mut work = got["Work"].clone();
    work.sort();
    assert_eq!(work, vec![message(1002), message(1004)]);
}
