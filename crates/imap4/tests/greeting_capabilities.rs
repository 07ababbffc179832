//! `Config::greeting_capabilities`: the greeting's `[CAPABILITY ...]`
//! stands in for the CAPABILITY command imaplib sends at connect; without
//! it (the default) the exchange stays imaplib's, and a greeting without
//! capabilities always gets the command.

use imap4::{Config, Imap4};
use imap4_testkit::fake::{FakeServer, Step};

const GREETING: &str = "* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] ready\r\n";

fn trusting() -> Config {
    Config {
        greeting_capabilities: true,
        ..Config::default()
    }
}

/// The greeting with capabilities, then straight to NOOP: a CAPABILITY
/// command in between fails the script.
fn no_capability_command() -> Vec<Step> {
    vec![
        Step::send(GREETING),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

/// What imaplib does, whatever the greeting says.
fn capability_command(greeting: &str) -> Vec<Step> {
    vec![
        Step::send(greeting),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n{tag} OK\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

fn check(m: &Imap4) {
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE", "AUTH=PLAIN"]);
    assert_eq!(m.protocol_version(), "IMAP4REV1");
}

#[test]
fn greeting_capabilities_save_the_command() {
    let fake = FakeServer::start(no_capability_command()).unwrap();
    let mut m = Imap4::connect_with("127.0.0.1", fake.port(), trusting()).unwrap();
    check(&m);
    m.noop().unwrap();
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn the_default_sends_capability_as_imaplib_does() {
    let fake = FakeServer::start(capability_command(GREETING)).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    check(&m);
    m.noop().unwrap();
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn a_greeting_without_capabilities_still_gets_the_command() {
    for greeting in [
        "* OK ready\r\n",
        // a CAPABILITY code naming no IMAP version is not taken
        "* OK [CAPABILITY IDLE] ready\r\n",
    ] {
        let fake = FakeServer::start(capability_command(greeting)).unwrap();
        let mut m = Imap4::connect_with("127.0.0.1", fake.port(), trusting()).unwrap();
        check(&m);
        m.noop().unwrap();
        drop(m);
        fake.finish().unwrap();
    }
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn greeting_capabilities_save_the_command_tokio() {
    let fake = FakeServer::start(no_capability_command()).unwrap();
    let mut m = imap4::tokio::Imap4::connect_with("127.0.0.1", fake.port(), trusting())
        .await
        .unwrap();
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE", "AUTH=PLAIN"]);
    m.noop().await.unwrap();
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn a_greeting_without_capabilities_still_gets_the_command_tokio() {
    let fake = FakeServer::start(capability_command("* OK ready\r\n")).unwrap();
    let mut m = imap4::tokio::Imap4::connect_with("127.0.0.1", fake.port(), trusting())
        .await
        .unwrap();
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE", "AUTH=PLAIN"]);
    m.noop().await.unwrap();
    drop(m);
    fake.finish().unwrap();
}
