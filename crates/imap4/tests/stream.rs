//! `Imap4::connect_stream` (imaplib's IMAP4_stream): Dovecot's `imap`
//! binary pre-authenticated on stdin/stdout, child reaping, and stderr kept
//! out of the protocol.
//!
//! Every command is wrapped as `echo $$ > pidfile; <command>`: the shell the
//! library starts writes its pid, then `exec`s the server, so the pid is the
//! child's for its whole life and can be checked in /proc (a zombie keeps
//! its /proc entry until reaped). The pid file is written before the
//! greeting, so it exists once the connection is up.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use imap4::{Config, Data, Imap4, State};
use imap4_testkit::Dovecot;
use support::{
    children, contains, flat, is_none, process_exists, process_state, read_pid, shell_quote,
    TempDir, CLIENT_TIMEOUT,
};

const SEED: u64 = 7;
const MESSAGES: usize = 4;

fn dovecot() -> Dovecot {
    Dovecot::builder()
        .messages("alice", MESSAGES, SEED)
        .start()
        .expect("start dovecot")
}

fn config() -> Config {
    Config {
        read_timeout: Some(CLIENT_TIMEOUT),
        ..Config::default()
    }
}

/// `command` prefixed with writing the shell's pid into a fresh pid file.
fn with_pidfile(dir: &TempDir, command: &str) -> (String, PathBuf) {
    let pidfile = dir.join("child.pid");
    let wrapped = format!(
        "echo $$ > {}; {command}",
        shell_quote(&pidfile.to_string_lossy())
    );
    (wrapped, pidfile)
}

fn assert_gone(pid: u32, when: &str) {
    assert!(
        !process_exists(pid),
        "{when}: child {pid} still exists (state {:?})",
        process_state(pid)
    );
    assert!(
        !children().contains(&pid),
        "{when}: {pid} still a child of the test process"
    );
}

fn to_lf(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .replace("\r\n", "\n")
        .into_bytes()
}

#[test]
fn preauth_select_fetch_logout_then_reaped() {
    let d = dovecot();
    let dir = TempDir::new("stream");
    let (cmd, pidfile) = with_pidfile(&dir, &d.stream_command("alice"));
    let mut m = Imap4::connect_stream_with(&cmd, config()).expect("connect_stream");
    let pid = read_pid(&pidfile).expect("pid file written before the greeting");
    assert!(children().contains(&pid), "{pid} is not our child");

    assert_eq!(
        m.state(),
        State::Auth,
        "PREAUTH puts the connection in AUTH"
    );
    assert!(m.welcome().starts_with(b"* PREAUTH"), "{:?}", m.welcome());
    assert!(m.ssl().is_none());
    assert!(m.socket().is_none());
    assert!(m.capabilities().iter().any(|c| c == "IMAP4REV1"));

    let r = m.select("INBOX", false).expect("select");
    assert_eq!(r.data, vec![Data::Line(MESSAGES.to_string().into())]);
    assert_eq!(m.state(), State::Selected);
    for uid in 1..=MESSAGES {
        let r = m
            .uid("FETCH", &[&uid.to_string(), "(RFC822)"])
            .expect("uid fetch");
        let body = r
            .data
            .iter()
            .find_map(|d| match d {
                Data::Literal(l) => Some(l.body.clone()),
                _ => None,
            })
            .expect("a literal");
        assert_eq!(
            to_lf(&body),
            imap4_testkit::generate_message(SEED, uid - 1),
            "message UID {uid}"
        );
    }
    let r = m.search(None, &["ALL"]).expect("search");
    assert_eq!(flat(&r.data), b"1 2 3 4\n");

    let r = m.logout().expect("logout");
    assert_eq!(r.typ, "BYE");
    assert_eq!(m.state(), State::Logout);
    // Reaped by logout itself, before drop.
    assert_gone(pid, "after logout");
    drop(m);
    assert_gone(pid, "after drop");
}

#[test]
fn child_reaped_on_drop_without_logout() {
    let d = dovecot();
    let dir = TempDir::new("stream-drop");
    let (cmd, pidfile) = with_pidfile(&dir, &d.stream_command("alice"));
    let mut m = Imap4::connect_stream_with(&cmd, config()).expect("connect_stream");
    let pid = read_pid(&pidfile).expect("pid");
    m.select("INBOX", true).expect("examine");
    assert!(process_exists(pid));
    drop(m);
    assert_gone(pid, "after drop");
}

/// A shell IMAP server that answers CAPABILITY and then ignores its stdin
/// for 30 s: closing stdin does not end it, the library must kill it.
const STUBBORN: &str = r#"printf '* PREAUTH [CAPABILITY IMAP4rev1] stubborn\r\n'
IFS= read -r line; tag=${line%% *}
printf '* CAPABILITY IMAP4rev1\r\n%s OK done\r\n' "$tag"
exec sleep 30"#;

#[test]
fn child_ignoring_eof_is_killed_on_drop() {
    let dir = TempDir::new("stream-stubborn");
    let (cmd, pidfile) = with_pidfile(&dir, STUBBORN);
    let m = Imap4::connect_stream_with(&cmd, config()).expect("connect_stream");
    let pid = read_pid(&pidfile).expect("pid");
    assert_eq!(m.state(), State::Auth);
    let t = Instant::now();
    drop(m);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "drop waited {:?}",
        t.elapsed()
    );
    assert_gone(pid, "after drop");
}

#[test]
fn failed_stream_commands_are_errors_and_reaped() {
    for (what, command) in [
        ("exits at once", "exit 3"),
        ("not IMAP", "printf 'HTTP/1.0 200 OK\\r\\n'; exec sleep 30"),
        ("no such program", "exec /nonexistent/imap-server"),
        ("greets with BYE", "printf '* BYE not today\\r\\n'"),
    ] {
        let dir = TempDir::new("stream-fail");
        let (cmd, pidfile) = with_pidfile(&dir, command);
        let t = Instant::now();
        let err = Imap4::connect_stream_with(&cmd, config()).expect_err(what);
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{what}: {:?}",
            t.elapsed()
        );
        assert!(!err.to_string().is_empty());
        if let Some(pid) = read_pid(&pidfile) {
            assert_gone(pid, what);
        }
    }
}

#[test]
fn stderr_never_reaches_the_protocol() {
    let d = dovecot();
    let dir = TempDir::new("stream-stderr");
    // IMAP-looking junk and 300 KB (well over a pipe buffer) on stderr
    // before the server starts, and Dovecot's debug log on stderr during
    // the session.
    let noisy = format!(
        "printf '* BYE junk on stderr\\r\\n* 99 EXISTS\\r\\nA0 OK junk\\r\\n' >&2; \
         head -c 300000 /dev/zero | tr '\\0' x >&2; \
         {} -o mail_debug=yes -o auth_debug=yes",
        d.stream_command("alice")
    );
    let (cmd, pidfile) = with_pidfile(&dir, &noisy);
    let mut m = Imap4::connect_stream_with(&cmd, config()).expect("connect_stream");
    let pid = read_pid(&pidfile).expect("pid");
    assert_eq!(m.state(), State::Auth);
    assert!(m.welcome().starts_with(b"* PREAUTH"), "{:?}", m.welcome());
    let r = m.select("INBOX", false).expect("select");
    assert_eq!(flat(&r.data), format!("{MESSAGES}\n").as_bytes());
    let r = m.fetch("1:*", "(FLAGS)").expect("fetch");
    assert_eq!(r.data.len(), MESSAGES);
    assert!(is_none(&m.response("BYE").data));
    for (name, data) in m.untagged_responses() {
        let all = flat(data);
        assert!(
            // "99" only where the junk `* 99 EXISTS` would land: a random
            // UIDVALIDITY may well contain those digits
            !contains(&all, b"junk")
                && !contains(&all, b"xxxx")
                && (!name.eq_ignore_ascii_case("EXISTS") || !contains(&all, b"99")),
            "stderr leaked into {name}: {:?}",
            String::from_utf8_lossy(&all)
        );
    }
    assert_eq!(m.logout().expect("logout").typ, "BYE");
    assert_gone(pid, "after logout");
}

/// A shell IMAP server writing IMAP-looking junk to stderr around every
/// answer.
const CHATTY: &str = r#"printf '* PREAUTH [CAPABILITY IMAP4rev1] chatty\r\n'
while IFS= read -r line; do
  tag=${line%% *}
  printf '* 99 EXISTS\r\n%s OK FORGED-BY-STDERR\r\n* BYE stderr\r\n' "$tag" >&2
  case "$line" in
    *CAPABILITY*) printf '* CAPABILITY IMAP4rev1\r\n%s OK done\r\n' "$tag" ;;
    *LOGOUT*) printf '* BYE bye\r\n%s OK done\r\n' "$tag"; exit 0 ;;
    *) printf '%s OK done\r\n' "$tag" ;;
  esac
  printf 'after %s\r\n' "$tag" >&2
done"#;

#[test]
fn stderr_during_the_session_is_ignored() {
    let dir = TempDir::new("stream-chatty");
    let (cmd, pidfile) = with_pidfile(&dir, CHATTY);
    let mut m = Imap4::connect_stream_with(&cmd, config()).expect("connect_stream");
    let pid = read_pid(&pidfile).expect("pid");
    for _ in 0..3 {
        let r = m.noop().expect("noop");
        assert_eq!(r.typ, "OK");
        assert_eq!(flat(&r.data), b"done\n");
    }
    assert!(is_none(&m.response("EXISTS").data));
    assert!(is_none(&m.response("BYE").data));
    assert_eq!(m.logout().expect("logout").typ, "BYE");
    assert_gone(pid, "after logout");
}
