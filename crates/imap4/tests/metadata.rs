//! METADATA (RFC 5464) against the test kit's Dovecot: server metadata
//! (`""`) and INBOX's, set → get → remove → get, a binary value kept byte
//! for byte, MAXSIZE with `[METADATA LONGENTRIES n]`, DEPTH, and a
//! mailbox's entries on Cyrus, in both drivers; a scripted server without METADATA gets nothing sent.

use imap4::typed::{Depth, MetadataOptions};
use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

macro_rules! metadata_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        assert!($m.typed().has_capability("METADATA"));
        let none = MetadataOptions::default();
        for mailbox in ["", "INBOX"] {
            let entry = "/private/comment";
            let text = format!("note on {mailbox:?}");
            // nothing yet
            let md = $m.typed().get_metadata(mailbox, &[entry], &none)$($await)*.unwrap();
            assert_eq!(md.get(entry), None, "{md:?}");

            $m.typed().set_metadata(mailbox, &[(entry, Some(text.as_bytes()))])$($await)*.unwrap();
            let md = $m.typed().get_metadata(mailbox, &[entry], &none)$($await)*.unwrap();
            assert_eq!(md.mailbox, mailbox);
            assert_eq!(md.get(entry), Some(text.as_bytes()), "{md:?}");
            assert_eq!(md.long_entries, None);

            $m.typed().set_metadata(mailbox, &[(entry, None)])$($await)*.unwrap();
            let md = $m.typed().get_metadata(mailbox, &[entry], &none)$($await)*.unwrap();
            assert_eq!(md.get(entry), None, "{md:?}");
        }

        // a binary value (8-bit, CR LF, controls) goes as a literal and
        // comes back byte for byte
        let binary: Vec<u8> = (1u8..=255).chain(*b"\r\nend").collect();
        let long = vec![b'x'; 300];
        $m.typed()
            .set_metadata("INBOX", &[
                ("/private/vendor/imap4/bin", Some(&binary[..])),
                ("/private/vendor/imap4/long", Some(&long[..])),
                ("/private/vendor/imap4/short", Some(&b"s"[..])),
            ])$($await)*
            .unwrap();
        let md = $m
            .typed()
            .get_metadata("INBOX", &["/private/vendor/imap4/bin", "/private/vendor/imap4/short"], &none)$($await)*
            .unwrap();
        assert_eq!(md.get("/private/vendor/imap4/bin"), Some(&binary[..]));
        assert_eq!(md.get("/private/vendor/imap4/short"), Some(&b"s"[..]));
        // NUL goes as a BINARY literal8 (Dovecot offers BINARY): Dovecot
        // reads it (no BAD) but keeps no NUL in its attributes
        let nul: Vec<u8> = (0u8..=255).collect();
        let e = $m.typed().set_metadata("INBOX", &[("/private/vendor/imap4/nul", Some(&nul[..]))])$($await)*.unwrap_err();
        assert_eq!(e.server_status(), Some("NO"), "{e}");
        assert!(e.to_string().contains("[CANNOT]") && e.to_string().contains("NUL"), "{e}");

        // MAXSIZE leaves the long values out and says how long they are
        let small = MetadataOptions { max_size: Some(10), depth: None };
        let md = $m
            .typed()
            .get_metadata("INBOX", &["/private/vendor/imap4/long", "/private/vendor/imap4/short"], &small)$($await)*
            .unwrap();
        assert_eq!(md.get("/private/vendor/imap4/short"), Some(&b"s"[..]));
        assert_eq!(md.get("/private/vendor/imap4/long"), None, "{md:?}");
        assert_eq!(md.long_entries, Some(300));

        // DEPTH 1 below the vendor entry finds all three
        let one = MetadataOptions { max_size: None, depth: Some(Depth::One) };
        let md = $m.typed().get_metadata("INBOX", &["/private/vendor/imap4"], &one)$($await)*.unwrap();
        let mut names: Vec<&str> = md
            .entries
            .iter()
            .filter(|e| e.value.is_some())
            .map(|e| e.name.as_str())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["/private/vendor/imap4/bin", "/private/vendor/imap4/long", "/private/vendor/imap4/short"]
        );

        // bad entry names never reach the server
        for bad in ["/private/*", "comment", "/shared/a\r\nb", "/private/x/"] {
            let e = $m.typed().get_metadata("INBOX", &[bad], &none)$($await)*.unwrap_err();
            assert!(e.to_string().contains("entry name"), "{e}");
        }
        // a mailbox that does not exist: the server's NO, typed
        let e = $m
            .typed()
            .set_metadata("No Such Box", &[("/private/comment", Some(&b"x"[..]))])$($await)*
            .unwrap_err();
        assert_eq!(e.server_status(), Some("NO"), "{e}");
    }};
}

#[test]
fn metadata_dovecot_blocking() {
    let d = Dovecot::builder().messages("alice", 1, 51).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    metadata_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_dovecot_tokio() {
    let d = Dovecot::builder().messages("alice", 1, 52).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    metadata_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

/// Cyrus: a mailbox's `/private/comment` and `/shared/comment`, set →
/// get → remove → get, and a binary value.
macro_rules! cyrus_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        assert!($m.typed().has_capability("METADATA"));
        let none = MetadataOptions::default();
        let entries = ["/private/comment", "/shared/comment"];
        $m.typed()
            .set_metadata("INBOX.Sent", &[(entries[0], Some(&b"mine"[..])), (entries[1], Some(&b"ours"[..]))])$($await)*
            .unwrap();
        let md = $m.typed().get_metadata("INBOX.Sent", &entries, &none)$($await)*.unwrap();
        assert_eq!(md.mailbox, "INBOX.Sent");
        assert_eq!(md.get(entries[0]), Some(&b"mine"[..]), "{md:?}");
        assert_eq!(md.get(entries[1]), Some(&b"ours"[..]), "{md:?}");
        // Cyrus offers BINARY but reads no literal8 in SETMETADATA: as the
        // literal8 is synchronizing, it refuses before the bytes go, and
        // the connection goes on
        let nul: Vec<u8> = (0u8..=255).collect();
        let e = $m.typed().set_metadata("INBOX.Sent", &[(entries[0], Some(&nul[..]))])$($await)*.unwrap_err();
        assert_eq!(e.server_status(), Some("BAD"), "{e}");
        $m.typed().noop()$($await)*.unwrap();
        let binary: Vec<u8> = (1u8..=255).collect();
        $m.typed().set_metadata("INBOX.Sent", &[(entries[0], Some(&binary[..])), (entries[1], None)])$($await)*.unwrap();
        let md = $m.typed().get_metadata("INBOX.Sent", &entries, &none)$($await)*.unwrap();
        assert_eq!(md.get(entries[0]), Some(&binary[..]), "{md:?}");
        assert_eq!(md.get(entries[1]), None, "{md:?}");
        let small = MetadataOptions { max_size: Some(10), depth: None };
        let md = $m.typed().get_metadata("INBOX.Sent", &entries, &small)$($await)*.unwrap();
        assert_eq!(md.get(entries[0]), None, "{md:?}");
        assert_eq!(md.long_entries, Some(255));
    }};
}

#[test]
fn metadata_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login("alice", c.password()).unwrap();
    cyrus_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    m.login("alice", c.password()).await.unwrap();
    cyrus_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

macro_rules! without_metadata {
    ($m:ident, [$($await:tt)*]) => {{
        let o = MetadataOptions::default();
        let e = $m.typed().get_metadata("INBOX", &["/private/comment"], &o)$($await)*.unwrap_err();
        assert!(e.to_string().contains("METADATA"), "{e}");
        let e = $m.typed().get_metadata("", &["/private/comment"], &o)$($await)*.unwrap_err();
        assert!(e.to_string().contains("METADATA"), "{e}");
        let e = $m.typed().set_metadata("", &[("/private/comment", None)])$($await)*.unwrap_err();
        assert!(e.to_string().contains("METADATA"), "{e}");
        $m.typed().noop()$($await)*.unwrap();
    }};
}

fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 ACL QUOTA] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 ACL QUOTA\r\n{tag} OK\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

#[test]
fn without_metadata_nothing_is_sent_blocking() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without_metadata!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metadata_nothing_is_sent_tokio() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without_metadata!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
