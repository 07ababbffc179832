//! UTF8=ACCEPT (RFC 6855) on the test kit's Courier-IMAP, which offers
//! it, in both drivers: after ENABLE, mailbox names travel as UTF-8
//! (a session without UTF-8 mode sees the same mailbox through modified
//! UTF-7), a message with UTF-8 headers is appended as `UTF8 (~{n})` and
//! comes back byte for byte, and a non-ASCII search goes without CHARSET.

use imap4::typed::{FetchAttr, SearchKey, UidSet};
use imap4::Imap4;
use imap4_testkit::{Courier, ImapServer};

const BOX: &str = "Entwürfe";
const MESSAGE: &str = "From: Jörg <joerg@example.org>\r\nSubject: Grüße aus Köln\r\n\
                       Content-Type: text/plain; charset=utf-8\r\n\r\nSchöne Grüße!\r\n";

macro_rules! utf8_scenario {
    ($m:ident, $plain:ident, $s:ident, [$($await:tt)*]) => {{
        let name = $s.mailbox(BOX);
        let name = name.as_str();
        assert!($m.typed().has_capability("UTF8=ACCEPT"));
        assert!(!$m.typed().is_enabled("UTF8=ACCEPT"));
        let on = $m.typed().enable(&["UTF8=ACCEPT"])$($await)*.unwrap();
        assert_eq!(on, ["UTF8=ACCEPT"]);
        assert!($m.typed().is_enabled("UTF8=ACCEPT"));

        $m.typed().create(name)$($await)*.unwrap();
        let listed = $m.typed().list("", "*")$($await)*.unwrap();
        assert!(listed.iter().any(|l| l.name == name), "{listed:?}");
        // the same mailbox, seen by a session in modified UTF-7
        let other = $plain.typed().list("", "*")$($await)*.unwrap();
        assert!(other.iter().any(|l| l.name == name), "{other:?}");

        let appended = $m.typed().append(name, &[], None, MESSAGE.as_bytes())$($await)*.unwrap();
        $m.typed().examine(name)$($await)*.unwrap();
        let all = $m.typed().uid_search(&SearchKey::All)$($await)*.unwrap();
        let uid = all.iter().next().expect("the message is there");
        if let Some(a) = appended {
            assert_eq!(a.destination.iter().next(), Some(uid));
        }
        let fetched = $m
            .typed()
            .uid_fetch(&UidSet::single(uid), &[FetchAttr::full_peek()])$($await)*
            .unwrap();
        let f = fetched.iter().next().unwrap().unwrap();
        assert_eq!(f.section("").unwrap(), MESSAGE.as_bytes());

        // UTF-8 search strings go without CHARSET in UTF-8 mode
        let hit = $m.typed().uid_search(&SearchKey::Subject("Grüße".into()))$($await)*.unwrap();
        assert_eq!(hit.iter().collect::<Vec<_>>(), [uid]);
        let miss = $m.typed().uid_search(&SearchKey::Subject("Tschüss".into()))$($await)*.unwrap();
        assert!(miss.is_empty());
    }};
}

#[test]
fn utf8_accept_courier_blocking() {
    let s = Courier::start().unwrap();
    let mut m = Imap4::connect(s.host(), s.port()).unwrap();
    m.login(&s.login_name("alice"), s.password()).unwrap();
    let mut plain = Imap4::connect(s.host(), s.port()).unwrap();
    plain.login(&s.login_name("alice"), s.password()).unwrap();
    utf8_scenario!(m, plain, s, []);
    m.logout().unwrap();
    plain.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_accept_courier_tokio() {
    let s = Courier::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(s.host(), s.port())
        .await
        .unwrap();
    m.login(&s.login_name("alice"), s.password()).await.unwrap();
    let mut plain = imap4::tokio::Imap4::connect(s.host(), s.port())
        .await
        .unwrap();
    plain
        .login(&s.login_name("alice"), s.password())
        .await
        .unwrap();
    utf8_scenario!(m, plain, s, [.await]);
    m.logout().await.unwrap();
    plain.logout().await.unwrap();
}

/// With BINARY too, the message goes in RFC 6855's `UTF8 (~{n})` form.
#[test]
fn utf8_append_form_with_binary() {
    use imap4_testkit::fake::{FakeServer, Step};
    let n = MESSAGE.len();
    let fake = FakeServer::start(vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT BINARY] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT BINARY\r\n{tag} OK\r\n"),
        Step::expect("{tag} ENABLE UTF8=ACCEPT"),
        Step::send("* ENABLED UTF8=ACCEPT\r\n{tag} OK\r\n"),
        Step::expect(format!("{{tag}} APPEND \"{BOX}\" UTF8 (~{{{n}}}")),
        Step::send("+ go\r\n"),
        Step::ReadExact(n),
        Step::expect(")"),
        Step::send("{tag} OK [APPENDUID 3 9] done\r\n"),
    ])
    .unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    m.typed().enable(&["UTF8=ACCEPT"]).unwrap();
    let a = m
        .typed()
        .append(BOX, &[], None, MESSAGE.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(a.destination.iter().collect::<Vec<_>>(), [9]);
    drop(m);
    let transcript = fake.finish().unwrap();
    let sent = String::from_utf8_lossy(&transcript);
    assert!(sent.contains(MESSAGE), "{sent}");
}
