//! The async driver against a real Dovecot and scripted servers.
#![cfg(feature = "tokio")]

use std::time::Duration;

use imap4::tokio::Imap4;
use imap4::{Config, Data, TlsOptions};
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::Dovecot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaplib_surface_over_tcp() {
    let d = Dovecot::builder().messages("alice", 4, 2).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    assert!(m.capabilities().iter().any(|c| c == "IMAP4REV1"));
    assert_eq!(m.login("alice", d.password()).await.unwrap().typ, "OK");
    let r = m.select("INBOX", false).await.unwrap();
    assert_eq!(r.data, vec![Data::Line("4".into())]);
    let r = m.search(None, &["ALL"]).await.unwrap();
    assert_eq!(r.data[0].as_line(), Some(&b"1 2 3 4"[..]));
    let r = m.fetch("2", "(RFC822)").await.unwrap();
    let Some(lit) = r.data[0].as_literal() else {
        panic!("{r:?}")
    };
    assert_eq!(&lit.body[..], &imap4_testkit::generate(2, 1).to_crlf()[..]);
    assert_eq!(
        m.append("INBOX", Some("\\Seen"), None, b"Subject: x\n\nbody\n")
            .await
            .unwrap()
            .typ,
        "OK"
    );
    assert_eq!(m.noop().await.unwrap().typ, "OK");
    // select() left its EXISTS in place (as imaplib does); NOOP added one.
    assert_eq!(
        m.response("EXISTS").data,
        vec![Data::Line("4".into()), Data::Line("5".into())]
    );
    // A BAD is imaplib's error, and the connection stays usable.
    assert!(m.xatom("FROBNICATE", &[]).await.unwrap_err().is_error());
    // The futures are Send: the connection can move to another task.
    let handle = tokio::spawn(async move {
        let r = m.logout().await.unwrap();
        assert_eq!(r.typ, "BYE");
    });
    handle.await.unwrap();
}

#[tokio::test]
async fn authentication_and_tls() {
    let d = Dovecot::start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    let creds = format!("\0alice\0{}", d.password()).into_bytes();
    let r = m
        .authenticate("PLAIN", move |_| Some(creds.clone()))
        .await
        .unwrap();
    assert_eq!(r.typ, "OK");
    m.logout().await.unwrap();

    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    m.login_cram_md5("alice", d.password()).await.unwrap();
    m.logout().await.unwrap();

    let tls = TlsOptions::new().ca_file(d.ca_file());
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls.clone())
        .await
        .unwrap();
    assert!(m.ssl().is_some());
    m.login("alice", d.password()).await.unwrap();
    m.logout().await.unwrap();

    // Not trusted by default.
    let e = Imap4::connect_ssl("localhost", d.tls_port())
        .await
        .unwrap_err();
    assert!(e.is_abort(), "{e}");

    let mut m = Imap4::connect_starttls("localhost", d.port(), tls)
        .await
        .unwrap();
    assert!(m.ssl().is_some());
    assert!(
        !m.capabilities().iter().any(|c| c == "STARTTLS"),
        "capabilities re-read over TLS"
    );
    m.login("alice", d.password()).await.unwrap();
    m.logout().await.unwrap();
}

#[tokio::test]
async fn typed_commands_run_on_the_async_driver() {
    let d = Dovecot::builder().messages("alice", 3, 4).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).await.unwrap();
    m.login("alice", d.password()).await.unwrap();
    let inbox = m.typed().select("INBOX").await.unwrap();
    assert_eq!(inbox.exists, 3);
    let set = imap4::typed::UidSet::all();
    let attrs = [
        imap4::typed::FetchAttr::Uid,
        imap4::typed::FetchAttr::Envelope,
    ];
    let fetches = m.typed().uid_fetch(&set, &attrs).await.unwrap();
    let uids: Vec<u32> = fetches.iter().map(|f| f.unwrap().uid().unwrap()).collect();
    assert_eq!(uids, vec![1, 2, 3]);

    // The raw hooks, as imaplib's read/readline/send/socket.
    assert!(m.socket().is_some());
    m.send(b"x1 NOOP\r\n").await.unwrap();
    let line = m.readline().await.unwrap();
    assert!(
        line.starts_with(b"x1 OK"),
        "{:?}",
        String::from_utf8_lossy(&line)
    );
    m.send(b"x2 NOOP\r\n").await.unwrap();
    let head = m.read(5).await.unwrap();
    assert_eq!(head, b"x2 OK");
    let rest = m.readline().await.unwrap();
    assert!(rest.ends_with(b"\r\n"));

    // The typed wrapper, awaited.
    let inbox = m.typed().examine("INBOX").await.unwrap();
    assert!(inbox.read_only);
    let found = m
        .typed()
        .uid_search(&imap4::typed::SearchKey::All)
        .await
        .unwrap();
    assert_eq!(found.iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    let mut body = Vec::new();
    let n = m
        .typed()
        .uid_fetch_body_to_chunked(2, "", &mut body, 700)
        .await
        .unwrap();
    assert_eq!(n as usize, body.len());
    assert_eq!(body, imap4_testkit::generate(4, 1).to_crlf());
}

#[tokio::test]
async fn synchronizing_literal_waits_for_continuation() {
    let fake = FakeServer::start(vec![
        Step::send("* OK [CAPABILITY IMAP4rev1] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n"),
        Step::expect("{tag} LOGIN alice {4}"),
        Step::send("+ go\r\n"),
        Step::read_exact(6),
        Step::send("{tag} OK logged in\r\n"),
        Step::expect_eof(),
    ])
    .unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).await.unwrap();
    // A password with a line break is sent as a literal, after the '+'.
    assert_eq!(m.login("alice", "a\r\nb").await.unwrap().typ, "OK");
    drop(m);
    let sent = fake.finish().unwrap();
    assert!(
        sent.ends_with(b"{4}\r\na\r\nb\r\n"),
        "{}",
        String::from_utf8_lossy(&sent)
    );
}

#[tokio::test]
async fn timeouts_and_truncation_abort() {
    // A server that never greets.
    let fake = FakeServer::start(vec![Step::hang()]).unwrap();
    let config = Config {
        read_timeout: Some(Duration::from_millis(200)),
        ..Config::default()
    };
    let e = Imap4::connect_with("127.0.0.1", fake.port(), config)
        .await
        .unwrap_err();
    assert!(e.is_abort() && e.is_timeout(), "{e}");

    // A server that stops in the middle of a literal, then closes.
    let fake = FakeServer::start(vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n"),
        Step::expect("{tag} SELECT INBOX"),
        Step::send("* 1 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} FETCH 1 (RFC822)"),
        Step::send("* 1 FETCH (RFC822 {100}\r\nonly a few bytes"),
        Step::close(),
    ])
    .unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).await.unwrap();
    m.select("INBOX", false).await.unwrap();
    let e = m.fetch("1", "(RFC822)").await.unwrap_err();
    assert!(e.is_abort(), "{e}");
    assert!(e.to_string().starts_with("command: FETCH"), "{e}");
    assert!(
        m.noop().await.unwrap_err().is_abort(),
        "the connection is finished"
    );
}

#[tokio::test]
async fn streamed_fetch_on_the_async_driver() {
    let d = imap4_testkit::Dovecot::builder()
        .messages("alice", 50, 9)
        .start()
        .unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    m.typed().select("INBOX").await.unwrap();
    let mut uids = Vec::new();
    let n = m
        .typed()
        .uid_fetch_each(
            &imap4::typed::UidSet::all(),
            &[imap4::typed::FetchAttr::Uid],
            |f| uids.extend(f.uid()),
        )
        .await
        .unwrap();
    assert_eq!(n, 50);
    assert_eq!(uids.len(), 50);
    m.logout().await.unwrap();
}

#[tokio::test]
async fn sort_and_thread_on_the_async_driver() {
    use imap4::typed::{SearchKey, SortCriterion, SortKey, ThreadAlgorithm};
    let d = Dovecot::builder().messages("alice", 6, 3).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    m.typed().select("INBOX").await.unwrap();
    let s = m
        .typed()
        .sort(&[SortCriterion::desc(SortKey::Arrival)], &SearchKey::All)
        .await
        .unwrap();
    assert_eq!(s, [6, 5, 4, 3, 2, 1]);
    let t = m
        .typed()
        .uid_thread(ThreadAlgorithm::OrderedSubject, &SearchKey::All)
        .await
        .unwrap();
    let mut all: Vec<u32> = t.iter().flat_map(|t| t.all_messages()).collect();
    all.sort_unstable();
    assert_eq!(all, [1, 2, 3, 4, 5, 6]);
    m.logout().await.unwrap();
}
