//! The examples run against real servers, configured only through the
//! environment as their docs say (the binaries are the ones `cargo test`
//! builds next to the test binaries).

use std::path::PathBuf;
use std::process::Command;

use imap4_testkit::Kind;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: a plain `cargo test` builds the examples, a filtered \
         one (`--test examples`) does not: `cargo build -p imap4 --example {name}` first",
        path.display()
    );
    path
}

/// `summary` over implicit TLS and STARTTLS on Dovecot and over TLS on
/// Cyrus (its other namespace): folders with their special use, and the
/// newest messages' senders and sizes.
#[test]
fn summary_runs_against_the_test_servers() {
    for kind in [Kind::Dovecot, Kind::Cyrus] {
        let s = kind
            .builder()
            .messages("alice", 12, 5)
            .start()
            .unwrap_or_else(|e| panic!("start {kind}: {e}"));
        let modes: &[(&str, u16)] = match kind {
            Kind::Dovecot => &[("tls", s.tls_port()), ("starttls", s.port())],
            _ => &[("tls", s.tls_port())],
        };
        for (mode, port) in modes {
            let out = Command::new(example("summary"))
                .env("IMAP4_HOST", "localhost")
                .env("IMAP4_PORT", port.to_string())
                .env("IMAP4_TLS", mode)
                .env("IMAP4_CA_FILE", s.ca_file())
                .env("IMAP4_USER", s.login_name("alice"))
                .env("IMAP4_PASSWORD", s.password())
                .env("IMAP4_COUNT", "3")
                .output()
                .expect("run the summary example");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{kind} {mode}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.contains("with SCRAM-SHA-256"), "{kind} {mode}: {text}");
            let sent = s.mailbox("Sent");
            assert!(
                text.lines()
                    .any(|l| l.trim() == format!("{sent}  (\\Sent)")),
                "{kind} {mode}: {text}"
            );
            assert!(text.contains("INBOX: 12 messages"), "{kind} {mode}: {text}");
            for i in 9..12 {
                let m = imap4_testkit::generate(5, i);
                let line = text
                    .lines()
                    .find(|l| l.trim_start().starts_with(&format!("uid {:>6} ", i + 1)))
                    .unwrap_or_else(|| panic!("{kind} {mode}: no uid {} in {text}", i + 1));
                assert!(
                    line.contains(&format!("{} bytes", m.crlf_len())),
                    "{kind} {mode}: {line}"
                );
                assert!(
                    line.ends_with(&m.subject),
                    "{kind} {mode}: decoded subject in {line}"
                );
            }
        }
        // no IMAP4_HOST: a clear message, not a panic
        let out = Command::new(example("summary"))
            .env_remove("IMAP4_HOST")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("set IMAP4_HOST"));
    }
}

/// The demo (`scripts/demo.sh` runs `manual`): imaplib's manual example,
/// one line per message and the smallest message whole.
#[test]
fn manual_prints_a_summary() {
    let d = imap4_testkit::Dovecot::builder()
        .messages("alice", 4, 8)
        .start()
        .expect("start Dovecot");
    let out = Command::new(example("manual"))
        .env("IMAP4_HOST", d.host())
        .env("IMAP4_PORT", d.port().to_string())
        .env("IMAP4_USER", "alice")
        .env("IMAP4_PASSWORD", d.password())
        .output()
        .expect("run the manual example");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs: Vec<_> = (0..4).map(|i| imap4_testkit::generate(8, i)).collect();
    for (i, m) in msgs.iter().enumerate() {
        let line = format!("Message {}: {} bytes, {}", i + 1, m.crlf_len(), m.subject);
        assert!(text.lines().any(|l| l == line), "no {line:?} in {text}");
    }
    let total: usize = msgs.iter().map(|m| m.crlf_len()).sum();
    assert!(
        text.contains(&format!("4 messages, {total} bytes")),
        "{text}"
    );
    let smallest = (0..4).min_by_key(|&i| msgs[i].crlf_len()).unwrap();
    assert!(
        text.contains(&format!("\nMessage {}\n", smallest + 1)),
        "{text}"
    );
    assert!(
        text.len() < 4 * 1024 + msgs[smallest].crlf_len() * 2,
        "a summary, not every body"
    );
}
