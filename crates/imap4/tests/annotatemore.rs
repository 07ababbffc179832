//! ANNOTATEMORE (METADATA's predecessor, older Cyrus) on the test kit's
//! Cyrus, which still offers it, in both drivers: set → get → remove → get
//! on a mailbox and the server, a wildcard GET that finds Cyrus's own
//! `/vendor/cmu/...` entries; Dovecot (no ANNOTATEMORE) gets nothing sent.

use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

macro_rules! cyrus_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        assert!($m.typed().has_capability("ANNOTATEMORE"));
        $m.typed()
            .set_annotation("INBOX", "/comment", &[
                ("value.shared", Some(&b"team \"inbox\""[..])),
                ("value.priv", Some("für mich".as_bytes())),
            ])$($await)*
            .unwrap();
        let got = $m
            .typed()
            .get_annotation("INBOX", &["/comment"], &["value.shared", "value.priv", "size.shared"])$($await)*
            .unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].entry, "/comment");
        assert_eq!(got[0].get("value.shared"), Some(&b"team \"inbox\""[..]));
        assert_eq!(got[0].get("value.priv"), Some("für mich".as_bytes()));
        assert_eq!(got[0].get("size.shared"), Some(&b"12"[..]));

        // a wildcard finds Cyrus's own entries too
        let all = $m.typed().get_annotation("INBOX", &["*"], &["value.shared"])$($await)*.unwrap();
        assert!(all.iter().any(|a| a.entry == "/comment"), "{all:?}");
        assert!(all.iter().any(|a| a.entry.starts_with("/vendor/cmu/cyrus-imapd/")), "{all:?}");

        // NIL removes one attribute, the other stays
        $m.typed().set_annotation("INBOX", "/comment", &[("value.shared", None)])$($await)*.unwrap();
        let got = $m.typed().get_annotation("INBOX", &["/comment"], &["value.*"])$($await)*.unwrap();
        assert_eq!(got[0].get("value.shared"), None);
        assert_eq!(got[0].get("value.priv"), Some("für mich".as_bytes()));

        // the server's own annotations: mailbox ""
        let server = $m.typed().get_annotation("", &["/comment"], &["value.shared"])$($await)*.unwrap();
        assert_eq!(server[0].mailbox, "");

        // refused before sending: a wildcard in SET
        let e = $m.typed().set_annotation("INBOX", "/com*", &[("value.shared", None)])$($await)*.unwrap_err();
        assert!(e.to_string().contains("wildcard"), "{e}");
    }};
}

#[test]
fn annotatemore_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login("alice", c.password()).unwrap();
    cyrus_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotatemore_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    m.login("alice", c.password()).await.unwrap();
    cyrus_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

#[test]
fn dovecot_has_no_annotatemore_and_gets_nothing() {
    let d = Dovecot::builder().start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    let e = m
        .typed()
        .get_annotation("INBOX", &["/comment"], &["value.shared"])
        .unwrap_err();
    assert!(e.to_string().contains("ANNOTATEMORE"), "{e}");
    // the connection is as it was
    m.typed().noop().unwrap();
    m.logout().unwrap();
}
