//! ESEARCH (RFC 4731) and SEARCHRES (RFC 5182) against the test kit's
//! Dovecot, in both drivers: MIN, MAX, ALL and COUNT equal what a plain
//! UID SEARCH finds; SAVE then `UID FETCH $` returns exactly the saved
//! messages (and SAVE with MIN saves the lowest only, as RFC 5182 says),
//! `$` in UID STORE, UID COPY and UID MOVE;
//! the same against Cyrus (ESEARCH without SEARCHRES: SAVE refused, nothing
//! sent); ESORT (RFC 5267) equals a plain UID SORT in order, on Dovecot
//! (and Cyrus where offered); a scripted server without the extensions
//! gets nothing sent.

use imap4::typed::{FetchAttr, SearchKey, SearchReturn, StoreOp, UidSet};
use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

/// Whether the server offers SEARCHRES.
const DOVECOT: bool = true;
const CYRUS: bool = false;

/// ESORT (RFC 5267): `UID SORT RETURN (…)` equals a plain UID SORT, for
/// several orders and a narrowing key: ALL in the same order, MIN and MAX
/// its first and last, COUNT its length.
/// `$by_uid`: the server's MIN and MAX without ALL are the lowest and
/// highest UID (Cyrus 3.6), not the first and last sorted (Dovecot, RFC
/// 5267).
macro_rules! esort_scenario {
    ($m:ident, $by_uid:expr, [$($await:tt)*]) => {{
        use imap4::typed::{SortCriterion, SortKey};
        use SearchReturn::*;
        $m.typed().select("INBOX")$($await)*.unwrap();
        $m.typed().uid_store(&UidSet::from_numbers([3, 4, 8, 9, 10]), StoreOp::Add, &["$Sorted"], true)$($await)*.unwrap();
        let orders = [
            vec![SortCriterion::desc(SortKey::Arrival)],
            vec![SortCriterion::asc(SortKey::Size), SortCriterion::desc(SortKey::Arrival)],
            vec![SortCriterion::desc(SortKey::Subject), SortCriterion::asc(SortKey::Arrival)],
        ];
        let keys = [SearchKey::All, SearchKey::Keyword("$Sorted".into())];
        let mut reordered = false;
        for by in &orders {
            for key in &keys {
                let plain = $m.typed().uid_sort(by, key)$($await)*.unwrap();
                assert!(!plain.is_empty());
                reordered |= plain.windows(2).any(|w| w[0] > w[1]);
                let r = $m.typed().uid_sort_return(by, key, &[Min, Max, Count, All])$($await)*.unwrap();
                assert_eq!(r.all, plain, "{by:?} {key:?}");
                assert_eq!(r.min, plain.first().copied());
                assert_eq!(r.max, plain.last().copied());
                assert_eq!(r.count, Some(plain.len() as u32));
                let r = $m.typed().uid_sort_return(by, key, &[Min, Max])$($await)*.unwrap();
                let (lo, hi) = (plain.iter().min().copied(), plain.iter().max().copied());
                if $by_uid {
                    assert_eq!((r.min, r.max), (lo, hi), "{by:?} {key:?}");
                } else {
                    assert_eq!((r.min, r.max), (plain.first().copied(), plain.last().copied()));
                }
                let r = $m.typed().uid_sort_return(by, key, &[Count])$($await)*.unwrap();
                assert_eq!((r.count, r.min), (Some(plain.len() as u32), None));
                assert!(r.all.is_empty());
            }
        }
        // the orders were not all plain ascending UIDs
        assert!(reordered);
        let none = SearchKey::Keyword("$Nothing".into());
        let r = $m.typed().uid_sort_return(&orders[0], &none, &[Min, All, Count])$($await)*.unwrap();
        assert_eq!((r.count, r.min, r.all.len()), (Some(0), None, 0));
    }};
}

macro_rules! esearch_scenario {
    ($m:ident, $searchres:expr, [$($await:tt)*]) => {{
        use SearchReturn::*;
        assert!($m.typed().has_capability("ESEARCH"));
        assert_eq!($m.typed().has_capability("SEARCHRES"), $searchres);
        $m.typed().select("INBOX")$($await)*.unwrap();
        let picked = UidSet::from_numbers([2, 5, 6, 7, 11]);
        $m.typed().uid_store(&picked, StoreOp::Add, &["$Pick"], true)$($await)*.unwrap();
        let key = SearchKey::Keyword("$Pick".into());

        let plain = $m.typed().uid_search(&key)$($await)*.unwrap();
        assert_eq!(plain, picked);
        let r = $m.typed().uid_search_return(&key, &[Min, Max, All, Count])$($await)*.unwrap();
        assert_eq!(r.all, plain);
        assert_eq!(r.min, plain.iter().next());
        assert_eq!(r.max, plain.iter().last());
        assert_eq!(r.count, Some(plain.len() as u32));
        assert!(r.saved.is_none());
        // only what was asked for comes back
        let r = $m.typed().uid_search_return(&key, &[Count])$($await)*.unwrap();
        assert_eq!((r.count, r.min, r.max), (Some(5), None, None));
        assert!(r.all.is_empty());
        // no match: COUNT 0 and nothing else
        let none = SearchKey::Keyword("$Nothing".into());
        let r = $m.typed().uid_search_return(&none, &[Min, All, Count])$($await)*.unwrap();
        assert_eq!((r.count, r.min), (Some(0), None));
        assert!(r.all.is_empty());
        // a larger match, compared with the plain search too
        let all = $m.typed().uid_search(&SearchKey::All)$($await)*.unwrap();
        let r = $m.typed().uid_search_return(&SearchKey::All, &[All, Count])$($await)*.unwrap();
        assert_eq!(r.all, all);
        assert_eq!(r.count, Some(all.len() as u32));

        if $searchres {
            // SAVE, then UID FETCH $ returns exactly those messages
            let r = $m.typed().uid_search_return(&key, &[Save])$($await)*.unwrap();
            let saved = r.saved.expect("saved");
            let fetched = $m
                .typed()
                .uid_fetch_saved(saved, &[FetchAttr::Uid, FetchAttr::Flags])$($await)*
                .unwrap();
            let uids: UidSet = fetched
                .iter()
                .map(|f| {
                    let f = f.unwrap();
                    assert!(f.flags().unwrap().iter().any(|fl| fl.is("$Pick")), "{f:?}");
                    f.uid().unwrap()
                })
                .collect();
            assert_eq!(uids, picked);

            // SAVE with MIN saves the lowest match only (RFC 5182 section 2.4)
            let r = $m.typed().uid_search_return(&key, &[Min, Save])$($await)*.unwrap();
            assert_eq!(r.min, Some(2));
            let fetched = $m
                .typed()
                .uid_fetch_saved(r.saved.unwrap(), &[FetchAttr::Uid])$($await)*
                .unwrap();
            let uids: Vec<u32> = fetched.iter().map(|f| f.unwrap().uid().unwrap()).collect();
            assert_eq!(uids, [2]);

            // `$` in STORE, COPY and MOVE: only the saved messages change
            let r = $m.typed().uid_search_return(&key, &[Save])$($await)*.unwrap();
            let saved = r.saved.unwrap();
            $m.typed().uid_store_saved(saved, StoreOp::Add, &["$Saved"], true)$($await)*.unwrap();
            let marked = $m.typed().uid_search(&SearchKey::Keyword("$Saved".into()))$($await)*.unwrap();
            assert_eq!(marked, picked);
            let copied = $m.typed().uid_copy_saved(saved, "Archive")$($await)*.unwrap();
            if let Some(map) = &copied {
                assert_eq!(map.source.as_ref(), Some(&picked));
            }
            let archive = $m.typed().status("Archive", &[imap4::typed::StatusAttr::Messages])$($await)*.unwrap();
            assert_eq!(archive.messages, Some(5));
            let before = $m.typed().uid_search(&SearchKey::All)$($await)*.unwrap();
            $m.typed().uid_move_saved(saved, "Trash")$($await)*.unwrap();
            let after = $m.typed().uid_search(&SearchKey::All)$($await)*.unwrap();
            assert_eq!(after, before.difference(&picked));
        } else {
            // Cyrus has no SEARCHRES: SAVE is refused before it is sent,
            // and the connection goes on
            let e = $m.typed().uid_search_return(&key, &[Min, Save])$($await)*.unwrap_err();
            assert!(e.to_string().contains("SEARCHRES"), "{e}");
            assert_eq!($m.typed().uid_search(&key)$($await)*.unwrap(), picked);
        }
    }};
}

#[test]
fn esearch_searchres_dovecot_blocking() {
    let d = Dovecot::builder()
        .messages("alice", 12, 61)
        .start()
        .unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    esearch_scenario!(m, DOVECOT, []);
    assert!(m.typed().has_capability("ESORT"));
    esort_scenario!(m, false, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esearch_searchres_dovecot_tokio() {
    let d = Dovecot::builder()
        .messages("alice", 12, 62)
        .start()
        .unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    esearch_scenario!(m, DOVECOT, [.await]);
    assert!(m.typed().has_capability("ESORT"));
    esort_scenario!(m, false, [.await]);
    m.logout().await.unwrap();
}

/// Cyrus: twelve messages appended to alice's (empty) INBOX, UIDs 1..=12.
#[test]
fn esearch_searchres_cyrus_blocking() {
    let c = Cyrus::start().unwrap();
    let mut m = Imap4::connect(c.host(), c.port()).unwrap();
    m.login("alice", c.password()).unwrap();
    for i in 0..12 {
        let msg = format!("From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n");
        m.typed()
            .append("INBOX", &[], None, msg.into_bytes())
            .unwrap();
    }
    esearch_scenario!(m, CYRUS, []);
    if m.typed().has_capability("ESORT") {
        esort_scenario!(m, true, []);
    }
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esearch_searchres_cyrus_tokio() {
    let c = Cyrus::start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(c.host(), c.port())
        .await
        .unwrap();
    m.login("alice", c.password()).await.unwrap();
    for i in 0..12 {
        let msg = format!("From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n");
        m.typed()
            .append("INBOX", &[], None, msg.into_bytes())
            .await
            .unwrap();
    }
    esearch_scenario!(m, CYRUS, [.await]);
    if m.typed().has_capability("ESORT") {
        esort_scenario!(m, true, [.await]);
    }
    m.logout().await.unwrap();
}

macro_rules! without_extensions {
    ($m:ident, [$($await:tt)*]) => {{
        use SearchReturn::*;
        $m.typed().select("INBOX")$($await)*.unwrap();
        let e = $m.typed().uid_search_return(&SearchKey::All, &[Min, Count])$($await)*.unwrap_err();
        assert!(e.to_string().contains("ESEARCH"), "{e}");
        let e = $m.typed().uid_search_return(&SearchKey::All, &[Save])$($await)*.unwrap_err();
        assert!(e.to_string().contains("SEARCHRES"), "{e}");
        let by = [imap4::typed::SortCriterion::asc(imap4::typed::SortKey::Date)];
        let e = $m.typed().uid_sort_return(&by, &SearchKey::All, &[Min])$($await)*.unwrap_err();
        assert!(e.to_string().contains("ESORT"), "{e}");
        $m.typed().noop()$($await)*.unwrap();
    }};
}

fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 SORT] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 SORT\r\n{tag} OK\r\n"),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send("* 3 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
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
