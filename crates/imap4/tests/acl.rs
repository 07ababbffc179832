//! ACL (RFC 4314) against the test kit's Dovecot (MYRIGHTS, SETACL for
//! another user then GETACL, +/- changes, LISTRIGHTS, DELETEACL) and Cyrus
//! (the same, and the other user's MYRIGHTS on the shared folder), in both
//! drivers; a scripted server without ACL gets nothing sent.

use imap4::typed::{Rights, RightsChange, RFC4314_RIGHTS};
use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

fn rights(s: &str) -> Rights {
    Rights::parse(s).unwrap()
}

/// `$m` owns `$mailbox` and grants rights on it to `$who`.
macro_rules! acl_scenario {
    ($m:ident, $mailbox:expr, $who:expr, [$($await:tt)*]) => {{
        let mailbox: &str = $mailbox;
        let who: &str = $who;
        assert!($m.typed().has_capability("ACL"));
        let mine = $m.typed().my_rights(mailbox)$($await)*.unwrap();
        assert!(mine.contains_all(rights(RFC4314_RIGHTS)), "owner has {mine}");

        let bob_rights = |acl: &[imap4::typed::AclEntry]| {
            acl.iter().find(|e| e.identifier == who).map(|e| e.rights)
        };
        let acl = $m.typed().get_acl(mailbox)$($await)*.unwrap();
        assert_eq!(bob_rights(&acl), None, "{acl:?}");

        $m.typed().set_acl(mailbox, who, &RightsChange::Replace(rights("lr")))$($await)*.unwrap();
        let acl = $m.typed().get_acl(mailbox)$($await)*.unwrap();
        assert_eq!(bob_rights(&acl), Some(rights("lr")), "{acl:?}");
        $m.typed().set_acl(mailbox, who, &RightsChange::Add(rights("sw")))$($await)*.unwrap();
        $m.typed().set_acl(mailbox, who, &RightsChange::Remove(rights("r")))$($await)*.unwrap();
        let acl = $m.typed().get_acl(mailbox)$($await)*.unwrap();
        assert_eq!(bob_rights(&acl), Some(rights("lsw")), "{acl:?}");

        let l = $m.typed().list_rights(mailbox, who)$($await)*.unwrap();
        assert_eq!(l.identifier, who);
        let grantable = l.optional.iter().fold(l.required, |a, r| a.union(*r));
        assert!(grantable.contains_all(rights("lrsw")), "{l:?}");
        l
    }};
}

macro_rules! acl_delete {
    ($m:ident, $mailbox:expr, $who:expr, [$($await:tt)*]) => {{
        $m.typed().delete_acl($mailbox, $who)$($await)*.unwrap();
        let acl = $m.typed().get_acl($mailbox)$($await)*.unwrap();
        assert!(acl.iter().all(|e| e.identifier != $who), "{acl:?}");
    }};
}

#[test]
fn acl_dovecot_blocking() {
    let d = Dovecot::builder().messages("alice", 1, 41).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    acl_scenario!(m, "INBOX", "bob", []);
    acl_delete!(m, "INBOX", "bob", []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_dovecot_tokio() {
    let d = Dovecot::builder().messages("alice", 1, 42).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    acl_scenario!(m, "INBOX", "bob", [.await]);
    acl_delete!(m, "INBOX", "bob", [.await]);
    m.logout().await.unwrap();
}

#[test]
fn acl_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login("alice", c.password()).unwrap();
    let mut bob = Imap4::connect(c.host(), c.port()).unwrap();
    bob.login("bob", c.password()).unwrap();
    acl_scenario!(m, "INBOX.Sent", "bob", []);
    // the grant is real: bob now has exactly those rights on alice's folder
    let theirs = bob.typed().my_rights("user.alice.Sent").unwrap();
    assert_eq!(theirs, rights("lsw"));
    acl_delete!(m, "INBOX.Sent", "bob", []);
    // a mailbox that does not exist: the server's NO, typed (Dovecot
    // answers MYRIGHTS with the default rights even then)
    let e = m.typed().my_rights("INBOX.No.Such").unwrap_err();
    assert_eq!(e.server_status(), Some("NO"), "{e}");
    // and bob's rights are gone
    let e = bob.typed().my_rights("user.alice.Sent").unwrap_err();
    assert_eq!(e.server_status(), Some("NO"), "{e}");
    m.logout().unwrap();
    bob.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    m.login("alice", c.password()).await.unwrap();
    let mut bob = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    bob.login("bob", c.password()).await.unwrap();
    acl_scenario!(m, "INBOX.Sent", "bob", [.await]);
    let theirs = bob.typed().my_rights("user.alice.Sent").await.unwrap();
    assert_eq!(theirs, rights("lsw"));
    acl_delete!(m, "INBOX.Sent", "bob", [.await]);
    m.logout().await.unwrap();
    bob.logout().await.unwrap();
}

macro_rules! without_acl {
    ($m:ident, [$($await:tt)*]) => {{
        let lr = RightsChange::Add(rights("lr"));
        let e = $m.typed().get_acl("INBOX")$($await)*.unwrap_err();
        assert!(e.to_string().contains("ACL"), "{e}");
        let e = $m.typed().set_acl("INBOX", "bob", &lr)$($await)*.unwrap_err();
        assert!(e.to_string().contains("ACL"), "{e}");
        let e = $m.typed().delete_acl("INBOX", "bob")$($await)*.unwrap_err();
        assert!(e.to_string().contains("ACL"), "{e}");
        let e = $m.typed().list_rights("INBOX", "bob")$($await)*.unwrap_err();
        assert!(e.to_string().contains("ACL"), "{e}");
        let e = $m.typed().my_rights("INBOX")$($await)*.unwrap_err();
        assert!(e.to_string().contains("ACL"), "{e}");
        $m.typed().noop()$($await)*.unwrap();
    }};
}

fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 QUOTA] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 QUOTA\r\n{tag} OK\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

#[test]
fn without_acl_nothing_is_sent_blocking() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without_acl!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_acl_nothing_is_sent_tokio() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without_acl!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
