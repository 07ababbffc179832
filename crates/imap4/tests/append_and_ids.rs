//! MULTIAPPEND (RFC 3502), APPENDLIMIT (RFC 7889), OBJECTID (RFC 8474),
//! SAVEDATE (RFC 8514), PREVIEW (RFC 8970), BINARY.SIZE (RFC 3516) and
//! STATUS=SIZE (RFC 8438) in the typed API of both drivers: on the test
//! kit's Dovecot (MULTIAPPEND, SAVEDATE, PREVIEW, BINARY, STATUS=SIZE) and
//! Cyrus (OBJECTID, APPENDLIMIT); a scripted server without them gets
//! nothing sent. Pipelined APPENDs (one command per message) on Dovecot
//! (LITERAL+) and Courier (synchronizing literals only, no MULTIAPPEND).

use imap4::typed::{AppendMessage, FetchAttr, StatusAttr, UidSet};
use imap4::Imap4;
use imap4_testkit::{Courier, Cyrus, Dovecot, ImapServer};

const ONE: &[u8] = b"From: a@example.org\r\nSubject: one\r\n\r\nThe first message.\r\n";
const TWO: &[u8] = b"From: b@example.org\r\nSubject: two\r\n\r\nThe second one.\r\n";
const THREE: &[u8] = b"From: c@example.org\r\nSubject: three\r\n\r\nAnd a third.\r\n";

macro_rules! dovecot_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        for cap in ["MULTIAPPEND", "SAVEDATE", "PREVIEW", "BINARY", "STATUS=SIZE"] {
            assert!($m.typed().has_capability(cap), "Dovecot offers {cap}");
        }
        $m.typed().create("Batch")$($await)*.unwrap();
        let seen = ["\\Seen"];
        let flagged = ["\\Flagged", "$Important"];
        let batch = [
            AppendMessage::new(ONE),
            AppendMessage {
                flags: &seen,
                internal_date: Some("01-Feb-2026 10:00:00 +0000"),
                ..AppendMessage::new(TWO)
            },
            AppendMessage { flags: &flagged, ..AppendMessage::new(THREE) },
        ];
        let mapping = $m.typed().append_many("Batch", &batch)$($await)*.unwrap().unwrap();
        let uids: Vec<u32> = mapping.destination.iter().collect();
        assert_eq!(uids.len(), 3, "{mapping:?}");

        // a malformed date is refused before sending (a BAD in the middle
        // of a LITERAL+ command would make the server read the message
        // bytes after it as commands)
        let bad = [
            AppendMessage::new(ONE),
            AppendMessage { internal_date: Some("01-Foo-2026 10:00:00 +0000"), ..AppendMessage::new(TWO) },
        ];
        let e = $m.typed().append_many("Batch", &bad)$($await)*.unwrap_err();
        assert!(e.to_string().contains("not an IMAP date-time"), "{e}");
        // all or nothing: the server refusing the last message adds none
        let refused = [AppendMessage::new(ONE), AppendMessage::new(&b""[..])];
        let e = $m.typed().append_many("Batch", &refused)$($await)*.unwrap_err();
        assert!(!e.is_abort(), "{e}");
        let st = $m
            .typed()
            .status("Batch", &[StatusAttr::Messages, StatusAttr::Size])$($await)*
            .unwrap();
        assert_eq!(st.messages, Some(3));
        assert_eq!(st.size, Some((ONE.len() + TWO.len() + THREE.len()) as u64));

        $m.typed().examine("Batch")$($await)*.unwrap();
        let set = UidSet::from_numbers(uids.iter().copied());
        let attrs = [
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::full_peek(),
            FetchAttr::SaveDate,
            FetchAttr::Preview { lazy: false },
            FetchAttr::BinarySize { section: "1".into() },
        ];
        let fetched = $m.typed().uid_fetch(&set, &attrs)$($await)*.unwrap();
        let mut got = Vec::new();
        for f in fetched.iter() {
            let f = f.unwrap();
            let flags: Vec<String> = f.flags().unwrap().iter().map(|x| x.0.to_str_lossy().into_owned()).collect();
            let body = f.section("").unwrap().to_vec();
            assert!(f.save_date().expect("SAVEDATE answered").is_some());
            let preview = f.preview().expect("PREVIEW answered").unwrap().to_str_lossy().into_owned();
            let text = String::from_utf8_lossy(&body);
            let text = text.split("\r\n\r\n").nth(1).unwrap().trim();
            assert_eq!(preview, text, "the preview of a short text message is its text");
            assert_eq!(f.binary_size("1"), Some(text.len() as u64 + 2));
            got.push((f.uid().unwrap(), flags, body));
        }
        got.sort();
        assert_eq!(got[0].2, ONE);
        assert_eq!(got[1].2, TWO);
        assert_eq!(got[2].2, THREE);
        assert!(got[1].1.contains(&"\\Seen".to_string()), "{:?}", got[1].1);
        assert!(got[2].1.contains(&"$Important".to_string()), "{:?}", got[2].1);

        // a message holding NUL goes as a BINARY literal8 (~{n})
        let nul = b"From: z@example.org\r\nSubject: nul\r\n\r\nbefore\0after\r\n";
        let m8 = $m.typed().append("Batch", &[], None, &nul[..])$($await)*.unwrap().unwrap();
        let u8_ = m8.destination.iter().next().unwrap();
        $m.typed().examine("Batch")$($await)*.unwrap();
        let f = $m
            .typed()
            .uid_fetch(&UidSet::single(u8_), &[FetchAttr::Binary { section: "".into() }])$($await)*
            .unwrap();
        let f = f.iter().next().unwrap().unwrap();
        assert_eq!(f.section("").unwrap(), &nul[..], "BINARY[] gives the bytes back, NUL included");

        // OBJECTID is not Dovecot 2.3's: refused, nothing sent
        let e = $m.typed().uid_fetch(&set, &[FetchAttr::EmailId])$($await)*.unwrap_err();
        assert!(e.to_string().contains("OBJECTID"), "{e}");
        let e = $m.typed().status("INBOX", &[StatusAttr::MailboxId])$($await)*.unwrap_err();
        assert!(e.to_string().contains("OBJECTID"), "{e}");
        // the connection is fine afterwards
        $m.typed().noop()$($await)*.unwrap();
    }};
}

#[test]
fn multiappend_savedate_preview_binary_size_dovecot_blocking() {
    let d = Dovecot::builder().start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    dovecot_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiappend_savedate_preview_binary_size_dovecot_tokio() {
    let d = Dovecot::builder().start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    dovecot_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

macro_rules! cyrus_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        assert!($m.typed().has_capability("OBJECTID"));
        assert_eq!($m.typed().append_limit(), Some(4_294_967_295));
        $m.typed().create("INBOX.Ids")$($await)*.unwrap();
        let first = $m.typed().append("INBOX", &[], None, ONE)$($await)*.unwrap().unwrap();
        let uid = first.destination.iter().next().unwrap();
        $m.typed().select("INBOX")$($await)*.unwrap();
        let copied = $m
            .typed()
            .uid_copy(&UidSet::single(uid), "INBOX.Ids")$($await)*
            .unwrap()
            .unwrap();
        let ids = |f: &imap4::typed::Fetches| {
            let f = f.iter().next().unwrap().unwrap();
            (
                f.email_id().unwrap().to_str_lossy().into_owned(),
                f.thread_id().unwrap().map(|t| t.to_str_lossy().into_owned()),
            )
        };
        let attrs = [FetchAttr::Uid, FetchAttr::EmailId, FetchAttr::ThreadId];
        let here = $m.typed().uid_fetch(&UidSet::single(uid), &attrs)$($await)*.unwrap();
        let (email, thread) = ids(&here);
        assert!(!email.is_empty());
        // RFC 8474: a copy keeps the EMAILID
        $m.typed().examine("INBOX.Ids")$($await)*.unwrap();
        let copy_uid = copied.destination.iter().next().unwrap();
        let there = $m.typed().uid_fetch(&UidSet::single(copy_uid), &attrs)$($await)*.unwrap();
        assert_eq!(ids(&there), (email, thread));

        // MAILBOXID differs between mailboxes and survives RENAME (Cyrus
        // 3.6 advertises APPENDLIMIT=N but refuses it as a STATUS item)
        let attrs = [StatusAttr::MailboxId];
        let inbox = $m.typed().status("INBOX", &attrs)$($await)*.unwrap();
        let before = $m.typed().status("INBOX.Ids", &attrs)$($await)*.unwrap();
        let id = before.mailbox_id.clone().unwrap();
        assert!(!id.is_empty() && !id.contains('('), "{id}");
        assert_ne!(inbox.mailbox_id, before.mailbox_id);
        $m.typed().unselect()$($await)*.unwrap();
        $m.typed().rename("INBOX.Ids", "INBOX.Renamed")$($await)*.unwrap();
        let after = $m.typed().status("INBOX.Renamed", &attrs)$($await)*.unwrap();
        assert_eq!(after.mailbox_id, Some(id));
    }};
}

#[test]
fn objectid_and_appendlimit_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login("alice", c.password()).unwrap();
    cyrus_scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objectid_and_appendlimit_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    m.login("alice", c.password()).await.unwrap();
    cyrus_scenario!(m, [.await]);
    m.logout().await.unwrap();
}

/// A server with APPENDLIMIT=40 and none of the other extensions: every
/// refusal happens before anything is sent (the script expects the NOOP
/// right after the selection).
fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS APPENDLIMIT=40] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 UIDPLUS APPENDLIMIT=40\r\n{tag} OK\r\n"),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

macro_rules! without_extensions {
    ($m:ident, [$($await:tt)*]) => {{
        assert_eq!($m.typed().append_limit(), Some(40));
        $m.typed().select("INBOX")$($await)*.unwrap();
        let all = UidSet::all();
        for (attr, cap) in [
            (FetchAttr::EmailId, "OBJECTID"),
            (FetchAttr::SaveDate, "SAVEDATE"),
            (FetchAttr::Preview { lazy: true }, "PREVIEW"),
            (FetchAttr::BinarySize { section: "1".into() }, "BINARY"),
            (FetchAttr::GmLabels, "X-GM-EXT-1"),
            (FetchAttr::ModSeq, "CONDSTORE"),
        ] {
            let e = $m.typed().uid_fetch(&all, &[FetchAttr::Uid, attr])$($await)*.unwrap_err();
            assert!(e.to_string().contains(cap), "{e}");
        }
        for (attr, cap) in [
            (StatusAttr::Size, "STATUS=SIZE"),
            (StatusAttr::MailboxId, "OBJECTID"),
            (StatusAttr::Deleted, "IMAP4REV2"),
        ] {
            let e = $m.typed().status("INBOX", &[StatusAttr::Messages, attr])$($await)*.unwrap_err();
            assert!(e.to_string().contains(cap), "{e}");
        }
        // two messages need MULTIAPPEND; one above APPENDLIMIT is refused
        let two = [AppendMessage::new(ONE), AppendMessage::new(TWO)];
        let e = $m.typed().append_many("INBOX", &two)$($await)*.unwrap_err();
        assert!(e.to_string().contains("MULTIAPPEND"), "{e}");
        let e = $m.typed().append("INBOX", &[], None, ONE)$($await)*.unwrap_err();
        assert!(e.to_string().contains("APPENDLIMIT of 40"), "{e}");
        let e = $m.typed().append("INBOX", &[], None, &b"a\0b"[..])$($await)*.unwrap_err();
        assert!(e.to_string().contains("BINARY"), "{e}");
        let e = $m.typed().append_many("INBOX", &[])$($await)*.unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
        $m.typed().noop()$($await)*.unwrap();
    }};
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

/// 30 messages APPENDed pipelined into `$folder`, with `$refuse` one of
/// them refused (an empty message, which Dovecot refuses and Courier
/// takes): the others are added, in order, each with its own UID, byte for
/// byte; the refusal is that message's alone.
macro_rules! pipelined_scenario {
    ($m:ident, $folder:expr, $refuse:expr, [$($await:tt)*]) => {{
        let folder: &str = $folder;
        let refused = if $refuse { 7 } else { usize::MAX };
        $m.typed().create(folder)$($await)*.unwrap();
        let bodies: Vec<Vec<u8>> = (0..30)
            .map(|i| format!("From: p@example.org\r\nSubject: pipelined {i}\r\n\r\nbody {i}\r\n").into_bytes())
            .collect();
        let seen = ["\\Seen"];
        let mut batch: Vec<AppendMessage<'_>> = bodies
            .iter()
            .map(|b| AppendMessage { flags: &seen, ..AppendMessage::new(b.clone()) })
            .collect();
        if $refuse {
            batch[refused] = AppendMessage::new(&b""[..]);
        }
        let results = $m.typed().append_pipelined(folder, &batch)$($await)*.unwrap();
        assert_eq!(results.len(), 30);
        let mut uids = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match (i == refused, r) {
                (true, Err(e)) => assert!(!e.is_abort(), "{e}"),
                (true, Ok(u)) => panic!("an empty message was taken: {u:?}"),
                (_, Ok(u)) => uids.push(u.as_ref().expect("APPENDUID").destination.iter().next().unwrap()),
                (_, Err(e)) => panic!("message {i} refused: {e}"),
            }
        }
        assert!(uids.windows(2).all(|w| w[0] < w[1]), "UIDs in order: {uids:?}");
        // the connection is in step afterwards
        $m.typed().noop()$($await)*.unwrap();
        $m.typed().examine(folder)$($await)*.unwrap();
        let fetched = $m
            .typed()
            .uid_fetch(&UidSet::all(), &[FetchAttr::Uid, FetchAttr::Flags, FetchAttr::full_peek()])$($await)*
            .unwrap();
        let mut got = Vec::new();
        for f in fetched.iter() {
            let f = f.unwrap();
            let flags: Vec<String> = f.flags().unwrap().iter().map(|x| x.0.to_str_lossy().into_owned()).collect();
            assert!(flags.contains(&"\\Seen".to_string()), "{flags:?}");
            got.push((f.uid().unwrap(), f.section("").unwrap().to_vec()));
        }
        got.sort();
        let want: Vec<(u32, Vec<u8>)> = uids
            .iter()
            .copied()
            .zip(bodies.iter().enumerate().filter(|(i, _)| *i != refused).map(|(_, b)| b.clone()))
            .collect();
        assert_eq!(got, want);
    }};
}

#[test]
fn pipelined_appends_dovecot_blocking() {
    let d = Dovecot::builder().start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    assert!(m.typed().has_capability("LITERAL+"));
    pipelined_scenario!(m, "Piped", true, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_appends_dovecot_tokio() {
    let d = Dovecot::builder().start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    pipelined_scenario!(m, "Piped", true, [.await]);
    m.logout().await.unwrap();
}

#[test]
fn pipelined_appends_with_synchronizing_literals_courier() {
    let s = Courier::start().unwrap();
    let mut m = Imap4::connect(s.host(), s.port()).unwrap();
    m.login(&s.login_name("alice"), s.password()).unwrap();
    assert!(!m.typed().has_capability("LITERAL+"));
    assert!(!m.typed().has_capability("MULTIAPPEND"));
    pipelined_scenario!(m, "INBOX.Piped", false, []);
    m.logout().unwrap();
}
