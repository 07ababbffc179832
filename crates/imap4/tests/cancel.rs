//! Cancellation safety of the async driver: a command's future dropped at
//! an await point (here under `tokio::time::timeout`, with timeouts chosen
//! to land at different points) never corrupts the connection: the next
//! commands return exactly their own results.
#![cfg(feature = "tokio")]

use std::time::Duration;

use imap4::tokio::Imap4;
use imap4::typed::{FetchAttr, UidSet};
use imap4::Data;
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::Dovecot;
use tokio::time::timeout;

/// Polls `fut` `polls` times (letting the runtime run I/O in between),
/// then drops it if it is not done: successive `polls` drop it at
/// successive await points.
async fn poll_then_drop<F: std::future::Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..polls {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        // Pacing, not synchronization: give the reactor a turn.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

fn big_message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    for i in 0..400_000 {
        m.extend_from_slice(
            format!("line {i:06} of a large body, to fill literals\r\n").as_bytes(),
        );
    }
    m
}

#[tokio::test]
async fn a_dropped_fetch_with_a_literal_leaves_the_connection_in_step() {
    let d = Dovecot::builder().messages("alice", 3, 5).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    m.login("alice", d.password()).await.unwrap();
    let big = big_message();
    let uid = m
        .typed()
        .append("INBOX", &[], None, big.clone())
        .await
        .unwrap()
        .and_then(|u| u.destination.iter().next())
        .expect("APPENDUID");
    let sel = m.select("INBOX", false).await.unwrap();
    assert_eq!(sel.typ, "OK");
    let mut dropped = 0;
    let mut finished = false;
    for polls in 1..400 {
        if finished {
            break;
        }
        let uid_text = uid.to_string();
        match poll_then_drop(m.uid("FETCH", &[&uid_text, "(BODY[])"]), polls).await {
            None => dropped += 1,
            Some(r) => {
                // It finished: its own result is right too.
                finished = true;
                let r = r.unwrap();
                assert!(
                    matches!(r.data.first().and_then(Data::as_literal), Some(l) if l.body[..] == big[..]),
                    "the completed FETCH got its own body"
                );
            }
        }
        // The next commands see exactly their own answers.
        let flags = m.fetch("2", "(FLAGS)").await.unwrap();
        assert_eq!(flags.typ, "OK");
        let Some(Data::Line(line)) = flags.data.first() else {
            panic!("{flags:?}")
        };
        assert!(line.starts_with(b"2 (FLAGS ("), "{line:?}");
        assert_eq!(
            flags.data.len(),
            1,
            "nothing of the dropped FETCH leaked in"
        );
        let body = m
            .typed()
            .uid_fetch(
                &UidSet::single(uid),
                &[FetchAttr::Section {
                    section: String::new(),
                    peek: true,
                    partial: None,
                }],
            )
            .await
            .unwrap();
        let f = body.iter().next().unwrap().unwrap();
        let got = f.items.iter().find_map(|i| match i {
            imap4::typed::FetchItem::BodySection { data, .. } => data.clone(),
            _ => None,
        });
        let got = got.map(|b| b.0.into_owned()).unwrap_or_default();
        assert!(
            got == big,
            "body of {} bytes, wanted {}",
            got.len(),
            big.len()
        );
    }
    eprintln!("FETCH futures dropped half-way: {dropped}");
    assert!(
        dropped >= 3,
        "some commands were dropped half-way ({dropped})"
    );
    m.logout().await.unwrap();
}

fn greet(caps: &str) -> Vec<Step> {
    let greeting = if caps.contains("AUTH=") {
        "* OK hi\r\n"
    } else {
        "* PREAUTH hi\r\n"
    };
    vec![
        Step::send(greeting),
        Step::expect("{tag} CAPABILITY"),
        Step::send(format!("* CAPABILITY IMAP4rev1 {caps}\r\n{{tag}} OK\r\n")),
    ]
}

fn slow(bytes: &str) -> Step {
    Step::Trickle {
        bytes: bytes.as_bytes().to_vec(),
        interval: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn a_dropped_streamed_body_leaves_the_connection_in_step() {
    let d = Dovecot::builder().messages("alice", 3, 5).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    m.login("alice", d.password()).await.unwrap();
    let big = big_message();
    let uid = m
        .typed()
        .append("INBOX", &[], None, big.clone())
        .await
        .unwrap()
        .and_then(|u| u.destination.iter().next())
        .expect("APPENDUID");
    m.typed().select("INBOX").await.unwrap();
    let mut dropped = 0;
    for polls in 1..400 {
        let mut sink = Vec::new();
        match poll_then_drop(m.typed().uid_fetch_body_to(uid, "", &mut sink), polls).await {
            None => {
                dropped += 1;
                assert!(sink.len() < big.len());
            }
            Some(r) => {
                assert_eq!(r.unwrap(), big.len() as u64);
                assert!(sink == big, "the completed stream got its own body");
                break;
            }
        }
        // the next commands see exactly their own answers
        let flags = m.fetch("2", "(FLAGS)").await.unwrap();
        assert_eq!(
            flags.data.len(),
            1,
            "nothing of the dropped stream leaked in"
        );
        assert!(
            matches!(flags.data.first(), Some(Data::Line(l)) if l.starts_with(b"2 (FLAGS (")),
            "{flags:?}"
        );
        let mut again = Vec::new();
        let n = m
            .typed()
            .uid_fetch_body_to(uid, "", &mut again)
            .await
            .unwrap();
        assert_eq!(n, big.len() as u64);
        assert!(again == big, "a later stream gets the whole body");
    }
    eprintln!("streamed-body futures dropped half-way: {dropped}");
    assert!(
        dropped >= 3,
        "some streams were dropped half-way ({dropped})"
    );
    m.logout().await.unwrap();
}

#[tokio::test]
async fn a_dropped_append_waiting_for_continuation_still_completes_in_step() {
    let mut script = greet("");
    script.extend([
        Step::expect("{tag} APPEND INBOX {5}"),
        slow("+ go\r\n"),
        Step::read_exact(7),
        Step::send("{tag} OK [APPENDUID 1 9] appended\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("* 9 EXISTS\r\n{tag} OK noop\r\n"),
        Step::expect("{tag} LOGOUT"),
        Step::send("* BYE\r\n{tag} OK\r\n"),
    ]);
    let server = FakeServer::start(script).unwrap();
    let mut m = Imap4::connect("127.0.0.1", server.port()).await.unwrap();
    let r = timeout(
        Duration::from_millis(30),
        m.append("INBOX", None, None, b"hello"),
    )
    .await;
    assert!(r.is_err(), "dropped while waiting for '+'");
    let r = m.noop().await.unwrap();
    assert_eq!(r.typ, "OK");
    assert_eq!(r.data, vec![Data::Line(bytes::Bytes::from_static(b"noop"))]);
    m.logout().await.unwrap();
    let sent = server.finish().unwrap();
    assert!(
        sent.windows(7).any(|w| w == b"hello\r\n"),
        "the literal went out when the server asked"
    );
}

#[tokio::test]
async fn a_dropped_authenticate_is_cancelled_with_a_star() {
    let mut script = greet("AUTH=PLAIN");
    script.extend([
        Step::expect("{tag} AUTHENTICATE PLAIN"),
        slow("+ \r\n"),
        Step::expect("*"),
        Step::send("{tag} BAD cancelled\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK still here\r\n"),
    ]);
    let server = FakeServer::start(script).unwrap();
    let mut m = Imap4::connect("127.0.0.1", server.port()).await.unwrap();
    let mut answer = |_: &[u8]| Some(b"\0alice\0secret".to_vec());
    let r = timeout(
        Duration::from_millis(20),
        m.authenticate("PLAIN", &mut answer),
    )
    .await;
    assert!(r.is_err(), "dropped while waiting for the challenge: {r:?}");
    let r = m.noop().await.unwrap();
    assert_eq!(
        r.data,
        vec![Data::Line(bytes::Bytes::from_static(b"still here"))]
    );
    assert_eq!(m.state().as_str(), "NONAUTH");
    drop(m);
    let sent = server.finish().unwrap();
    assert!(
        !sent.windows(5).any(|w| w == b"alice"),
        "no credentials after the drop"
    );
}

#[tokio::test]
async fn a_dropped_idle_wait_and_a_dropped_done_are_harmless() {
    let d = Dovecot::builder().messages("alice", 2, 6).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    m.login("alice", d.password()).await.unwrap();
    m.select("INBOX", false).await.unwrap();
    {
        let mut idle = m.idle().await.unwrap();
        let _ = timeout(
            Duration::from_millis(30),
            idle.wait(Duration::from_secs(10)),
        )
        .await;
        let _ = timeout(Duration::from_micros(1), idle.done()).await;
    }
    let r = m.fetch("2", "(FLAGS)").await.unwrap();
    let Some(Data::Line(line)) = r.data.first() else {
        panic!("{r:?}")
    };
    assert!(line.starts_with(b"2 (FLAGS"), "{line:?}");
    m.logout().await.unwrap();
}
