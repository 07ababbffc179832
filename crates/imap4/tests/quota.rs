//! QUOTA (RFC 9208) against the test kit's Dovecot (GETQUOTAROOT,
//! GETQUOTA, usage after an APPEND, SETQUOTA refused with a NO) and Cyrus
//! (SETQUOTA by the admin, seen by the user), in both drivers; a scripted
//! server without QUOTA gets nothing sent.

use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

/// A message of about 20 KiB, so STORAGE (in KiB) has to grow.
fn big_message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: quota\r\n\r\n".to_vec();
    for i in 0..400 {
        m.extend_from_slice(
            format!("line {i:04} of a message that takes some room\r\n").as_bytes(),
        );
    }
    m
}

macro_rules! dovecot_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        assert!($m.typed().has_capability("QUOTA"));
        let r = $m.typed().get_quota_root("INBOX")$($await)*.unwrap();
        assert_eq!(r.mailbox, "INBOX");
        assert_eq!(r.roots, ["User quota"]);
        let q = r.quota("User quota").expect("QUOTA with the root");
        let storage = q.resource("STORAGE").expect("STORAGE");
        // alice's userdb rule: storage=1G, in KiB
        assert_eq!(storage.limit, 1024 * 1024);
        let before = storage.usage;

        let msg = big_message();
        $m.typed().append("INBOX", &[], None, msg.clone())$($await)*.unwrap();
        let q = $m.typed().get_quota("User quota")$($await)*.unwrap();
        assert_eq!(q.root, "User quota");
        let after = q.resource("STORAGE").unwrap().usage;
        let grown = after - before;
        let kib = msg.len() as u64 / 1024;
        assert!(grown >= kib && grown <= kib + 1, "grew {grown} KiB for {} bytes", msg.len());

        // Dovecot does not let users set quotas: a NO, as a typed error
        let e = $m.typed().set_quota("User quota", &[("STORAGE", 10)])$($await)*.unwrap_err();
        assert_eq!(e.server_status(), Some("NO"), "{e}");
        assert!(e.to_string().contains("SETQUOTA"), "{e}");
        // an unknown root is a NO too, and the connection still works
        let e = $m.typed().get_quota("no such root")$($await)*.unwrap_err();
        assert_eq!(e.server_status(), Some("NO"), "{e}");
        let again = $m.typed().get_quota("User quota")$($await)*.unwrap();
        assert_eq!(again.resource("STORAGE").unwrap().usage, after);
    }};
}

#[test]
fn quota_dovecot_blocking() {
    let d = Dovecot::builder().messages("alice", 2, 31).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    dovecot_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_dovecot_tokio() {
    let d = Dovecot::builder().messages("alice", 2, 32).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    dovecot_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

macro_rules! cyrus_scenario {
    ($admin:ident, $alice:ident, [$($await:tt)*]) => {{
        let q = $admin.typed().set_quota("user.alice", &[("STORAGE", 2048)])$($await)*.unwrap();
        // Cyrus answers SETQUOTA with the new QUOTA or nothing
        if let Some(q) = q.first() {
            assert_eq!(q.resource("STORAGE").unwrap().limit, 2048);
        }
        let r = $alice.typed().get_quota_root("INBOX")$($await)*.unwrap();
        assert_eq!(r.roots.len(), 1, "{r:?}");
        let q = r.quota(&r.roots[0]).unwrap();
        assert_eq!(q.resource("STORAGE").unwrap().limit, 2048);
        // a user may not set her own quota
        let e = $alice.typed().set_quota(&r.roots[0], &[("STORAGE", 1)])$($await)*.unwrap_err();
        assert_eq!(e.server_status(), Some("NO"), "{e}");
    }};
}

#[test]
fn quota_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut admin = Imap4::connect(c.host(), c.port()).unwrap();
    admin.login("cyrus", c.password()).unwrap();
    let mut alice = Imap4::connect(c.host(), c.port()).unwrap();
    alice.login("alice", c.password()).unwrap();
    cyrus_scenario!(admin, alice, []);
    admin.logout().unwrap();
    alice.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut admin = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    admin.login("cyrus", c.password()).await.unwrap();
    let mut alice = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    alice.login("alice", c.password()).await.unwrap();
    cyrus_scenario!(admin, alice, [.await]);
    admin.logout().await.unwrap();
    alice.logout().await.unwrap();
}

macro_rules! without_quota {
    ($m:ident, [$($await:tt)*]) => {{
        let e = $m.typed().get_quota_root("INBOX")$($await)*.unwrap_err();
        assert!(e.to_string().contains("QUOTA"), "{e}");
        let e = $m.typed().get_quota("")$($await)*.unwrap_err();
        assert!(e.to_string().contains("QUOTA"), "{e}");
        let e = $m.typed().set_quota("", &[("STORAGE", 1)])$($await)*.unwrap_err();
        assert!(e.to_string().contains("QUOTA"), "{e}");
        $m.typed().noop()$($await)*.unwrap();
    }};
}

fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 ACL] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 ACL\r\n{tag} OK\r\n"),
        // the only command the server sees after CAPABILITY
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

#[test]
fn without_quota_nothing_is_sent_blocking() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without_quota!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_quota_nothing_is_sent_tokio() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without_quota!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
