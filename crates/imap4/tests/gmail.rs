//! Gmail (X-GM-EXT-1) against a scripted server, in both drivers (there
//! is no Gmail here): the exact bytes of X-GM-RAW, X-GM-MSGID and
//! X-GM-THRID searches and of STORE X-GM-LABELS, the labels read back
//! (quoted and system labels), and without X-GM-EXT-1 every one of them
//! refused with nothing sent.

use imap4::typed::{FetchAttr, SearchKey, StoreOp, UidSet};
use imap4::Imap4;
use imap4_testkit::fake::{FakeServer, Step};

fn gmail_script() -> Vec<Step> {
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS] Gimap ready\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS\r\n{tag} OK\r\n"),
        Step::expect("{tag} SELECT \"[Gmail]/All Mail\""),
        Step::send("* 3 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} UID SEARCH X-GM-RAW \"has:attachment in:\\\"my box\\\"\""),
        Step::send("* SEARCH 4 7\r\n{tag} OK done\r\n"),
        Step::expect("{tag} UID SEARCH X-GM-MSGID 1278455344230334865"),
        Step::send("* SEARCH 7\r\n{tag} OK done\r\n"),
        Step::expect("{tag} UID SEARCH NOT X-GM-THRID 1266894439832287888"),
        Step::send("* SEARCH 4\r\n{tag} OK done\r\n"),
        Step::expect("{tag} UID FETCH 4,7 (UID X-GM-MSGID X-GM-THRID X-GM-LABELS)"),
        Step::send(
            "* 1 FETCH (UID 4 X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888 \
             X-GM-LABELS (\\Inbox \"My Label\" Work))\r\n\
             * 2 FETCH (UID 7 X-GM-MSGID 2 X-GM-THRID 3 X-GM-LABELS ())\r\n{tag} OK done\r\n",
        ),
        Step::expect(
            "{tag} UID STORE 4,7 +X-GM-LABELS (\\Important \"Work/Q1\" \"with \\\"quotes\\\"\")",
        ),
        Step::send(
            "* 1 FETCH (UID 4 X-GM-LABELS (\\Inbox \\Important \"My Label\" Work \"Work/Q1\" \
             \"with \\\"quotes\\\"\"))\r\n\
             * 2 FETCH (UID 7 X-GM-LABELS (\\Important \"Work/Q1\" \"with \\\"quotes\\\"\"))\r\n\
             {tag} OK done\r\n",
        ),
        Step::expect("{tag} UID STORE 7 -X-GM-LABELS (\\Important)"),
        Step::send("* 2 FETCH (UID 7 X-GM-LABELS (\"Work/Q1\"))\r\n{tag} OK done\r\n"),
        Step::expect("{tag} UID STORE 4 X-GM-LABELS ()"),
        Step::send("* 1 FETCH (UID 4 X-GM-LABELS ())\r\n{tag} OK done\r\n"),
    ]
}

fn labels(f: &imap4::typed::Fetches) -> Vec<(u32, Vec<String>)> {
    f.iter()
        .map(|f| {
            let f = f.unwrap();
            let l = f
                .gm_labels()
                .unwrap()
                .iter()
                .map(|l| l.to_str_lossy().into_owned())
                .collect();
            (f.uid().unwrap(), l)
        })
        .collect()
}

macro_rules! gmail_scenario {
    ($m:ident, [$($await:tt)*]) => {{
        $m.typed().select("[Gmail]/All Mail")$($await)*.unwrap();
        let raw = SearchKey::GmRaw("has:attachment in:\"my box\"".into());
        let found = $m.typed().uid_search(&raw)$($await)*.unwrap();
        assert_eq!(found, UidSet::from_numbers([4, 7]));
        let one = $m.typed().uid_search(&SearchKey::GmMsgId(1278455344230334865))$($await)*.unwrap();
        assert_eq!(one, UidSet::single(7));
        let not = SearchKey::Not(Box::new(SearchKey::GmThrId(1266894439832287888)));
        assert_eq!($m.typed().uid_search(&not)$($await)*.unwrap(), UidSet::single(4));
        let attrs = [FetchAttr::Uid, FetchAttr::GmMsgId, FetchAttr::GmThrId, FetchAttr::GmLabels];
        let f = $m.typed().uid_fetch(&found, &attrs)$($await)*.unwrap();
        let first = f.iter().next().unwrap().unwrap();
        assert_eq!(first.gm_msgid(), Some(1278455344230334865));
        assert_eq!(first.gm_thrid(), Some(1266894439832287888));
        assert_eq!(
            labels(&f),
            [
                (4, vec!["\\Inbox".to_string(), "My Label".into(), "Work".into()]),
                (7, vec![])
            ]
        );
        let f = $m
            .typed()
            .uid_store_labels(&found, StoreOp::Add, &["\\Important", "Work/Q1", "with \"quotes\""])$($await)*
            .unwrap();
        assert_eq!(labels(&f)[1], (7, vec!["\\Important".to_string(), "Work/Q1".into(), "with \"quotes\"".into()]));
        let f = $m.typed().uid_store_labels(&UidSet::single(7), StoreOp::Remove, &["\\Important"])$($await)*.unwrap();
        assert_eq!(labels(&f), [(7, vec!["Work/Q1".to_string()])]);
        let f = $m.typed().uid_store_labels(&UidSet::single(4), StoreOp::Replace, &[])$($await)*.unwrap();
        assert_eq!(labels(&f), [(4, vec![])]);
        // an empty set: nothing sent
        assert_eq!($m.typed().uid_store_labels(&UidSet::default(), StoreOp::Add, &["x"])$($await)*.unwrap().raw_len(), 0);
    }};
}

#[test]
fn gmail_extensions_blocking() {
    let fake = FakeServer::start(gmail_script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    gmail_scenario!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gmail_extensions_tokio() {
    let fake = FakeServer::start(gmail_script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    gmail_scenario!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}

fn plain_script() -> Vec<Step> {
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH SORT] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 ESEARCH SORT\r\n{tag} OK\r\n"),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send("* 3 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

macro_rules! without_gmail {
    ($m:ident, [$($await:tt)*]) => {{
        $m.typed().select("INBOX")$($await)*.unwrap();
        let keys = [
            SearchKey::GmRaw("is:starred".into()),
            SearchKey::GmMsgId(1),
            SearchKey::Or(Box::new(SearchKey::Seen), Box::new(SearchKey::GmThrId(2))),
        ];
        for key in &keys {
            let e = $m.typed().uid_search(key)$($await)*.unwrap_err();
            assert!(e.to_string().contains("X-GM-EXT-1"), "{e}");
            let by = [imap4::typed::SortCriterion::asc(imap4::typed::SortKey::Date)];
            assert!($m.typed().uid_sort(&by, key)$($await)*.is_err());
            let r = [imap4::typed::SearchReturn::Count];
            assert!($m.typed().uid_search_return(key, &r)$($await)*.is_err());
        }
        let e = $m.typed().uid_store_labels(&UidSet::single(1), StoreOp::Add, &["\\Inbox"])$($await)*.unwrap_err();
        assert!(e.to_string().contains("X-GM-EXT-1"), "{e}");
        let e = $m.typed().uid_store_labels(&UidSet::default(), StoreOp::Add, &["\\Inbox"])$($await)*.unwrap_err();
        assert!(e.to_string().contains("X-GM-EXT-1"), "{e}");
        assert!($m.typed().uid_fetch(&UidSet::single(1), &[FetchAttr::GmLabels])$($await)*.is_err());
        $m.typed().noop()$($await)*.unwrap();
    }};
}

#[test]
fn without_x_gm_ext_1_nothing_is_sent_blocking() {
    let fake = FakeServer::start(plain_script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without_gmail!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_x_gm_ext_1_nothing_is_sent_tokio() {
    let fake = FakeServer::start(plain_script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without_gmail!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
