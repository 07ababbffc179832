//! IDLE and the live mailbox state against the test kit's Dovecot, in both
//! drivers: another connection appends, flags and expunges; the idling
//! connection sees each as an event.

use std::time::Duration;

use imap4::typed::{StoreOp, UidSet};
use imap4::{Event, Imap4};
use imap4_testkit::Dovecot;

const WITHIN: Duration = Duration::from_secs(1);

fn login(d: &Dovecot) -> Imap4 {
    let mut m = Imap4::connect(d.host(), d.port()).expect("connect");
    m.login("alice", d.password()).expect("login");
    m
}

const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: new\r\n\r\nhello\r\n";

/// Where the second connection goes.
#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    password: String,
}

fn server(d: &Dovecot) -> Server {
    Server {
        host: d.host().to_string(),
        port: d.port(),
        password: d.password().to_string(),
    }
}

/// Makes the changes on a second connection, one at a time.
fn change(d: &Server, step: usize) {
    let mut other = Imap4::connect(&d.host, d.port).expect("connect");
    other.login("alice", &d.password).expect("login");
    other.typed().select("INBOX").unwrap();
    match step {
        0 => {
            other.typed().append("INBOX", &[], None, MESSAGE).unwrap();
        }
        1 => {
            other
                .typed()
                .uid_store(&UidSet::single(1), StoreOp::Add, &["\\Flagged"], true)
                .unwrap();
        }
        _ => {
            other
                .typed()
                .uid_store(&UidSet::single(2), StoreOp::Add, &["\\Deleted"], true)
                .unwrap();
            other.typed().uid_expunge(&UidSet::single(2)).unwrap();
        }
    }
    other.logout().unwrap();
}

/// Waits for an event matching `want`, skipping others (RECENT, say).
macro_rules! expect_event {
    ($idle:ident, [$($aw:tt)*], $want:pat) => {{
        let deadline = std::time::Instant::now() + WITHIN;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match $idle.wait(left)$($aw)*.unwrap() {
                Some(e @ $want) => break e,
                Some(_) => continue,
                None => panic!("no {} within {WITHIN:?}", stringify!($want)),
            }
        }
    }};
}

#[test]
fn blocking_idle_sees_changes_made_elsewhere() {
    let d = Dovecot::builder().messages("alice", 5, 1).start().unwrap();
    let mut m = login(&d);
    m.typed().select("INBOX").unwrap();
    assert_eq!(m.mailbox_state().unwrap().exists, 5);
    let mut idle = m.idle().unwrap();
    // Nothing happens: the wait ends empty.
    assert!(idle.wait(Duration::from_millis(100)).unwrap().is_none());
    change(&server(&d), 0);
    expect_event!(idle, [], Event::Exists(6));
    change(&server(&d), 1);
    let e = expect_event!(idle, [], Event::Flags { .. });
    let Event::Flags { seq, flags, .. } = e else {
        unreachable!()
    };
    assert_eq!(seq, 1);
    assert!(flags.iter().any(|f| f == "\\Flagged"), "{flags:?}");
    change(&server(&d), 2);
    expect_event!(idle, [], Event::Expunge(2) | Event::Vanished { .. });
    idle.done().unwrap();
    // The state is what a fresh SELECT reports.
    let live = m.mailbox_state().unwrap().clone();
    assert_eq!(live.exists, 5);
    let fresh = m.typed().select("INBOX").unwrap();
    assert_eq!(fresh.exists, live.exists);
    assert_eq!(fresh.uid_validity, live.uid_validity);
    m.logout().unwrap();
}

#[test]
fn a_dropped_idle_handle_is_ended_by_the_next_command() {
    let d = Dovecot::builder().messages("alice", 3, 2).start().unwrap();
    let mut m = login(&d);
    m.typed().select("INBOX").unwrap();
    {
        let mut idle = m.idle().unwrap();
        assert!(idle.wait(Duration::from_millis(50)).unwrap().is_none());
    }
    change(&server(&d), 0);
    // NOOP first ends IDLE (DONE), then runs; the new message is known.
    m.noop().unwrap();
    assert_eq!(m.mailbox_state().unwrap().exists, 4);
    let r = m.fetch("4", "(FLAGS)").unwrap();
    assert_eq!(r.typ, "OK");
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_idle_sees_changes_made_elsewhere() {
    let d = Dovecot::builder().messages("alice", 5, 3).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    m.typed().select("INBOX").await.unwrap();
    let mut idle = m.idle().await.unwrap();
    assert!(idle
        .wait(Duration::from_millis(100))
        .await
        .unwrap()
        .is_none());
    let s = server(&d);
    let changer = tokio::task::spawn_blocking(move || change(&s, 0));
    expect_event!(idle, [.await], Event::Exists(6));
    changer.await.unwrap();
    // A wait cancelled mid-way (a timeout around it) does not break IDLE.
    let _ =
        tokio::time::timeout(Duration::from_millis(20), idle.wait(Duration::from_secs(5))).await;
    let s = server(&d);
    tokio::task::spawn_blocking(move || change(&s, 2))
        .await
        .unwrap();
    expect_event!(idle, [.await], Event::Expunge(2) | Event::Vanished { .. });
    idle.done().await.unwrap();
    assert_eq!(m.mailbox_state().unwrap().exists, 5);
    let r = m.fetch("5", "(FLAGS)").await.unwrap();
    assert_eq!(r.typ, "OK");
    m.logout().await.unwrap();
}

mod scripted {
    use super::*;
    use imap4::IdleConfig;
    use imap4_testkit::fake::{FakeServer, Step};

    fn quick() -> IdleConfig {
        IdleConfig {
            keepalive: Duration::from_millis(150),
            probe_timeout: Duration::from_millis(150),
            poll_interval: Duration::from_millis(50),
            ..IdleConfig::default()
        }
    }

    fn greet(caps: &str) -> Vec<Step> {
        vec![
            Step::send("* PREAUTH hi\r\n"),
            Step::expect("{tag} CAPABILITY"),
            Step::send(format!("* CAPABILITY IMAP4rev1 {caps}\r\n{{tag}} OK\r\n")),
        ]
    }

    #[test]
    fn a_server_that_goes_silent_is_found_dead() {
        let mut script = greet("IDLE");
        script.extend([
            Step::expect("{tag} IDLE"),
            Step::send("+ idling\r\n"),
            // Silent from here: the keepalive probe's DONE gets no answer.
            Step::expect("DONE"),
            Step::Hang,
        ]);
        let server = FakeServer::start(script).unwrap();
        let mut m = Imap4::connect("127.0.0.1", server.port()).unwrap();
        let mut idle = m.idle_with(quick()).unwrap();
        let e = idle.wait(Duration::from_secs(5)).unwrap_err();
        assert!(e.to_string().contains("connection dead"), "{e}");
        assert!(e.is_abort());
        assert!(
            m.noop().unwrap_err().is_abort(),
            "the connection stays broken"
        );
    }

    #[test]
    fn without_idle_the_handle_polls_with_noop() {
        let mut script = greet("");
        script.extend([
            Step::expect("{tag} NOOP"),
            Step::send("{tag} OK nothing\r\n"),
            Step::expect("{tag} NOOP"),
            Step::send("* 7 EXISTS\r\n{tag} OK\r\n"),
            Step::expect("{tag} NOOP"),
            Step::send("{tag} OK\r\n"),
        ]);
        let server = FakeServer::start(script).unwrap();
        let mut m = Imap4::connect("127.0.0.1", server.port()).unwrap();
        let mut idle = m.idle_with(quick()).unwrap();
        assert_eq!(
            idle.wait(Duration::from_secs(5)).unwrap(),
            Some(Event::Exists(7))
        );
        idle.done().unwrap();
        // The next command goes out as usual.
        m.noop().unwrap();
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn tokio_a_server_that_goes_silent_is_found_dead() {
        let mut script = greet("IDLE");
        script.extend([
            Step::expect("{tag} IDLE"),
            Step::send("+ idling\r\n"),
            Step::expect("DONE"),
            Step::Hang,
        ]);
        let server = FakeServer::start(script).unwrap();
        let mut m = imap4::tokio::Imap4::connect("127.0.0.1", server.port())
            .await
            .unwrap();
        let mut idle = m.idle_with(quick()).await.unwrap();
        let e = idle.wait(Duration::from_secs(5)).await.unwrap_err();
        assert!(e.to_string().contains("connection dead"), "{e}");
    }
}
