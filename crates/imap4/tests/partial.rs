//! PARTIAL (RFC 9394), paged UID SEARCH, in both drivers against a scripted
//! server (no test kit server offers it: Dovecot 2.3 and Cyrus 3.6 predate
//! it), and refused with nothing sent by the kit's Dovecot.

use imap4::typed::{PartialRange, SearchKey, SearchReturn};
use imap4::Imap4;
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::Dovecot;

fn script() -> Vec<Step> {
    let caps = "IMAP4rev1 ESEARCH PARTIAL";
    vec![
        Step::send(format!("* PREAUTH [CAPABILITY {caps}] hi\r\n")),
        Step::expect("{tag} CAPABILITY"),
        Step::send(format!("* CAPABILITY {caps}\r\n{{tag}} OK\r\n")),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send("* 400 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} UID SEARCH RETURN (PARTIAL 1:100 COUNT) SEEN"),
        Step::send("* ESEARCH (TAG \"{tag}\") UID PARTIAL (1:100 2:101) COUNT 300\r\n{tag} OK\r\n"),
        Step::expect("{tag} UID SEARCH RETURN (PARTIAL -301:-400) SEEN"),
        Step::send("* ESEARCH (TAG \"{tag}\") UID PARTIAL (-301:-400 NIL)\r\n{tag} OK\r\n"),
    ]
}

macro_rules! scenario {
    ($m:ident, [$($await:tt)*]) => {{
        $m.typed().select("INBOX")$($await)*.unwrap();
        let first = PartialRange::First { from: 1, to: 100 };
        let r = $m
            .typed()
            .uid_search_partial(&SearchKey::Seen, first, &[SearchReturn::Count])$($await)*
            .unwrap();
        assert_eq!(r.count, Some(300));
        let page = r.partial.unwrap();
        assert_eq!(page.range, "1:100");
        assert_eq!(page.uids.iter().collect::<Vec<_>>(), (2..=101).collect::<Vec<_>>());
        // past the end: NIL, an empty page
        let beyond = PartialRange::Last { from: 301, to: 400 };
        let r = $m.typed().uid_search_partial(&SearchKey::Seen, beyond, &[])$($await)*.unwrap();
        assert!(r.partial.unwrap().uids.is_empty());
    }};
}

#[test]
fn paged_search_blocking() {
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    scenario!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn paged_search_tokio() {
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    scenario!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn dovecot_has_no_partial_and_gets_nothing() {
    let d = Dovecot::builder().messages("alice", 3, 5).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    m.typed().select("INBOX").unwrap();
    let e = m
        .typed()
        .uid_search_partial(&SearchKey::All, PartialRange::First { from: 1, to: 2 }, &[])
        .unwrap_err();
    assert!(e.to_string().contains("PARTIAL"), "{e}");
    m.typed().noop().unwrap();
    m.logout().unwrap();
}
