//! UNAUTHENTICATE (RFC 8437) and REPLACE (RFC 8508) against a scripted
//! server, in both drivers (the kit's Dovecot 2.3 has neither): the exact
//! bytes, the APPENDUID of the replacement and the expunge of the old
//! message, the reset to NOT AUTHENTICATED (capabilities asked for again,
//! mailbox state gone, a second login); without the capabilities both
//! refused with nothing sent.

use imap4::typed::UidSet;
use imap4::{Imap4, State};
use imap4_testkit::fake::{FakeServer, Step};

const DRAFT: &[u8] = b"Subject: x\r\n\r\nbody\r\n";

fn script() -> Vec<Step> {
    vec![
        Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN UNAUTHENTICATE REPLACE UIDPLUS] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send(
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN UNAUTHENTICATE REPLACE UIDPLUS\r\n{tag} OK\r\n",
        ),
        Step::expect("{tag} LOGIN alice \"secret\""),
        Step::send("{tag} OK [CAPABILITY IMAP4rev1 UNAUTHENTICATE REPLACE UIDPLUS QRESYNC] in\r\n"),
        Step::expect("{tag} SELECT \"Drafts\""),
        Step::send("* 2 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} UID REPLACE 3 \"Drafts\" {20}"),
        Step::send("+ go\r\n"),
        Step::read_exact(DRAFT.len() + 2),
        Step::send(
            "* OK [APPENDUID 9 4] stored\r\n* 2 EXPUNGE\r\n* 2 EXISTS\r\n{tag} OK replaced\r\n",
        ),
        Step::expect("{tag} UNAUTHENTICATE"),
        Step::send("{tag} OK not authenticated now\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 AUTH=PLAIN UNAUTHENTICATE\r\n{tag} OK\r\n"),
        Step::expect("{tag} LOGIN bob \"other\""),
        Step::send("{tag} OK in\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

macro_rules! scenario {
    ($m:ident, [$($await:tt)*]) => {{
        $m.login("alice", "secret")$($await)*.unwrap();
        assert!($m.typed().has_capability("QRESYNC"));
        $m.typed().select("Drafts")$($await)*.unwrap();
        let e = $m.typed().uid_replace(0, "Drafts", DRAFT)$($await)*.unwrap_err();
        assert!(e.to_string().contains("UID 0"), "{e}");
        let mapping = $m.typed().uid_replace(3, "Drafts", DRAFT)$($await)*.unwrap().unwrap();
        assert_eq!((mapping.uid_validity, mapping.destination), (9, UidSet::single(4)));
        assert_eq!($m.mailbox_state().unwrap().exists, 2);

        $m.typed().unauthenticate()$($await)*.unwrap();
        assert_eq!($m.state(), State::NonAuth);
        assert!($m.mailbox_state().is_none());
        assert!(!$m.typed().has_capability("QRESYNC"));
        assert!($m.typed().has_capability("AUTH=PLAIN"));
        // commands of the authenticated states: refused, nothing sent
        assert!($m.typed().select("INBOX")$($await)*.is_err());
        assert!($m.typed().unauthenticate()$($await)*.is_err());
        $m.login("bob", "other")$($await)*.unwrap();
        assert_eq!($m.state(), State::Auth);
        $m.typed().noop()$($await)*.unwrap();
    }};
}

#[test]
fn unauthenticate_and_replace_blocking() {
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    scenario!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticate_and_replace_tokio() {
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    scenario!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}

fn plain_script() -> Vec<Step> {
    vec![
        Step::send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS\r\n{tag} OK\r\n"),
        Step::expect("{tag} LOGIN alice \"secret\""),
        Step::send("{tag} OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
        Step::expect("{tag} SELECT \"Drafts\""),
        Step::send("* 2 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

macro_rules! without {
    ($m:ident, [$($await:tt)*]) => {{
        $m.login("alice", "secret")$($await)*.unwrap();
        $m.typed().select("Drafts")$($await)*.unwrap();
        let e = $m.typed().uid_replace(3, "Drafts", DRAFT)$($await)*.unwrap_err();
        assert!(e.to_string().contains("REPLACE"), "{e}");
        let e = $m.typed().unauthenticate()$($await)*.unwrap_err();
        assert!(e.to_string().contains("UNAUTHENTICATE"), "{e}");
        assert_eq!($m.state(), State::Selected);
        $m.typed().noop()$($await)*.unwrap();
    }};
}

#[test]
fn without_the_capabilities_nothing_is_sent_blocking() {
    let fake = FakeServer::start(plain_script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_capabilities_nothing_is_sent_tokio() {
    let fake = FakeServer::start(plain_script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
