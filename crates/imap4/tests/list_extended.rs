//! LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC
//! 6154) and NAMESPACE against the test kit's Dovecot, CREATE-SPECIAL-USE
//! (the USE option reaches Cyrus: a second `\Sent` is refused with USEATTR)
//! and NAMESPACE against Cyrus, in both drivers; a scripted server without
//! the extensions gets nothing sent.

use imap4::typed::{ListOptions, SpecialUse, StatusAttr};
use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

macro_rules! dovecot_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        for cap in ["LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "NAMESPACE"] {
            assert!($m.typed().has_capability(cap), "Dovecot offers {cap}");
        }
        let o = ListOptions::default()
            .return_children()
            .return_status(&[StatusAttr::Messages, StatusAttr::UidNext]);
        let listed = $m.typed().list_extended("", &["*"], &o)$($await)*.unwrap();
        let names: Vec<&str> = listed.iter().map(|l| l.info.name.as_str()).collect();
        for n in ["INBOX", "Sent", "Drafts", "Trash", "Junk"] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
        for l in &listed {
            let st = l.status.as_ref().expect("RETURN (STATUS) for every mailbox");
            let plain = $m.typed().status(&l.info.name, &[StatusAttr::Messages, StatusAttr::UidNext])$($await)*.unwrap();
            assert_eq!((st.messages, st.uid_next), (plain.messages, plain.uid_next), "{}", l.info.name);
            assert!(l.info.has_attribute("\\HasNoChildren") || l.info.has_attribute("\\HasChildren"));
        }
        let inbox = listed.iter().find(|l| l.info.name == "INBOX").unwrap();
        assert_eq!(inbox.status.as_ref().unwrap().messages, Some(4));

        // two patterns, SUBSCRIBED selection (Archive is created, not subscribed)
        let subs = $m
            .typed()
            .list_extended("", &["Sent", "Archive"], &ListOptions::default().subscribed())$($await)*
            .unwrap();
        let subs: Vec<&str> = subs.iter().map(|l| l.info.name.as_str()).collect();
        assert_eq!(subs, ["Sent"]);

        let sent = $m.typed().special_use_folder(SpecialUse::Sent)$($await)*.unwrap().unwrap();
        assert_eq!(sent.name, "Sent");
        let archive = $m.typed().special_use_folder(SpecialUse::Archive)$($await)*.unwrap().unwrap();
        assert_eq!(archive.name, "Archive");
        assert_eq!($m.typed().special_use_folder(SpecialUse::Flagged)$($await)*.unwrap(), None);
        let mut all: Vec<(SpecialUse, String)> = $m
            .typed()
            .special_use_folders()$($await)*
            .unwrap()
            .into_iter()
            .map(|(u, mb)| (u, mb.name))
            .collect();
        all.sort();
        assert_eq!(
            all,
            [
                (SpecialUse::Archive, "Archive".to_string()),
                (SpecialUse::Drafts, "Drafts".into()),
                (SpecialUse::Junk, "Junk".into()),
                (SpecialUse::Sent, "Sent".into()),
                (SpecialUse::Trash, "Trash".into()),
            ]
        );

        let ns = $m.typed().namespace()$($await)*.unwrap();
        assert_eq!(ns.personal[0].prefix, "");
        assert_eq!(ns.personal[0].delimiter, Some('/'));
    }};
}

#[test]
fn list_extended_special_use_namespace_dovecot_blocking() {
    let d = Dovecot::builder().messages("alice", 4, 21).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    dovecot_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_extended_special_use_namespace_dovecot_tokio() {
    let d = Dovecot::builder().messages("alice", 4, 22).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    dovecot_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

macro_rules! cyrus_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        assert!($m.typed().has_capability("CREATE-SPECIAL-USE"));
        let ns = $m.typed().namespace()$($await)*.unwrap();
        assert_eq!(ns.personal[0].prefix, "INBOX.");
        assert_eq!(ns.personal[0].delimiter, Some('.'));
        let sent = $m.typed().special_use_folder(SpecialUse::Sent)$($await)*.unwrap().unwrap();
        assert_eq!(sent.name, "INBOX.Sent");
        // Cyrus reads the USE option: a second \Sent conflicts with the
        // kit's INBOX.Sent (USEATTR), and the folder is not created
        let e = $m
            .typed()
            .create_special_use("INBOX.Outbox", SpecialUse::Sent)$($await)*
            .unwrap_err();
        assert!(e.to_string().contains("[USEATTR] SPECIAL-USE flag conflict"), "{e}");
        let outbox = $m.typed().list("", "INBOX.Outbox")$($await)*.unwrap();
        assert!(outbox.is_empty(), "{outbox:?}");
    }};
}

#[test]
fn create_special_use_and_namespace_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login("alice", c.password()).unwrap();
    cyrus_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_special_use_and_namespace_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    m.login("alice", c.password()).await.unwrap();
    cyrus_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

macro_rules! without_extensions {
    ($m:ident, [$($await:tt)*]) => {{
        let e = $m.typed().list_extended("", &["*"], &ListOptions::default())$($await)*.unwrap_err();
        assert!(e.to_string().contains("LIST-EXTENDED"), "{e}");
        let e = $m.typed().create_special_use("X", SpecialUse::Sent)$($await)*.unwrap_err();
        assert!(e.to_string().contains("CREATE-SPECIAL-USE"), "{e}");
        let e = $m.typed().namespace()$($await)*.unwrap_err();
        assert!(e.to_string().contains("NAMESPACE"), "{e}");
        // the lookup falls back to a plain LIST and its attributes
        let sent = $m.typed().special_use_folder(SpecialUse::Sent)$($await)*.unwrap().unwrap();
        assert_eq!(sent.name, "Sent Items");
    }};
}

fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1\r\n{tag} OK\r\n"),
        Step::expect("{tag} LIST \"\" \"*\""),
        Step::send(
            "* LIST () \"/\" INBOX\r\n* LIST (\\Sent) \"/\" \"Sent Items\"\r\n{tag} OK done\r\n",
        ),
    ]
}

#[test]
fn without_the_extensions_nothing_is_sent_blocking() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without_extensions!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_extensions_nothing_is_sent_tokio() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without_extensions!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
