//! IMAP4rev2 (RFC 9051) as a server speaking it answers, scripted: no
//! server of the test kit offers it (Dovecot 2.3, Cyrus 3.6, Courier 5 and
//! Mailutils 3.15 are IMAP4rev1). ENABLE IMAP4rev2, a SELECT without
//! RECENT, SEARCH answered with ESEARCH (rev2 has no `* SEARCH`), STATUS
//! DELETED, and LIST's `\Subscribed` standing in for LSUB.

use imap4::typed::{ListOptions, SearchKey, StatusAttr};
use imap4::Imap4;
use imap4_testkit::fake::{FakeServer, Step};

fn script() -> Vec<Step> {
    let caps = "IMAP4rev1 IMAP4rev2 ENABLE LIST-EXTENDED";
    vec![
        Step::send(format!("* PREAUTH [CAPABILITY {caps}] hi\r\n")),
        Step::expect("{tag} CAPABILITY"),
        Step::send(format!("* CAPABILITY {caps}\r\n{{tag}} OK\r\n")),
        Step::expect("{tag} ENABLE IMAP4rev2"),
        Step::send("* ENABLED IMAP4rev2\r\n{tag} OK\r\n"),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send(
            "* 3 EXISTS\r\n* OK [UIDVALIDITY 9] v\r\n* OK [UIDNEXT 12] n\r\n\
             * FLAGS (\\Seen \\Deleted)\r\n* LIST () \"/\" INBOX\r\n\
             {tag} OK [READ-WRITE] done\r\n",
        ),
        Step::expect("{tag} UID SEARCH UNSEEN"),
        Step::send("* ESEARCH (TAG \"{tag}\") UID ALL 4,7:8\r\n{tag} OK done\r\n"),
        Step::expect("{tag} STATUS \"INBOX\" (MESSAGES DELETED)"),
        Step::send("* STATUS INBOX (MESSAGES 3 DELETED 1)\r\n{tag} OK\r\n"),
        Step::expect("{tag} LIST (SUBSCRIBED) \"\" \"*\""),
        Step::send(
            "* LIST (\\Subscribed) \"/\" INBOX\r\n* LIST (\\Subscribed \\NonExistent) \"/\" Gone\r\n\
             {tag} OK\r\n",
        ),
    ]
}

#[test]
fn a_rev2_session_reads_as_rev1_does() {
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    assert!(m.typed().has_capability("IMAP4rev2"));
    assert_eq!(m.typed().enable(&["IMAP4rev2"]).unwrap(), ["IMAP4REV2"]);
    assert!(m.typed().is_enabled("IMAP4rev2"));
    let inbox = m.typed().select("INBOX").unwrap();
    assert_eq!((inbox.exists, inbox.recent), (3, 0), "no RECENT in rev2");
    assert_eq!(inbox.uid_next, Some(12));
    let unseen = m.typed().uid_search(&SearchKey::Unseen).unwrap();
    assert_eq!(unseen.iter().collect::<Vec<_>>(), [4, 7, 8], "ESEARCH read");
    let st = m
        .typed()
        .status("INBOX", &[StatusAttr::Messages, StatusAttr::Deleted])
        .unwrap();
    assert_eq!((st.messages, st.deleted), (Some(3), Some(1)));
    let subscribed = m
        .typed()
        .list_extended("", &["*"], &ListOptions::default().subscribed())
        .unwrap();
    let names: Vec<&str> = subscribed.iter().map(|l| l.info.name.as_str()).collect();
    assert_eq!(names, ["INBOX", "Gone"]);
    assert!(subscribed[1].info.has_attribute("\\NonExistent"));
    drop(m);
    fake.finish().unwrap();
}
