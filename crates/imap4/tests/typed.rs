//! The typed API against a real Dovecot.

use imap4::typed::{FetchAttr, SearchKey, StatusAttr, StoreOp, UidSet};
use imap4::Imap4;
use imap4_testkit::Dovecot;

fn login(d: &Dovecot, user: &str) -> Imap4 {
    let mut m = Imap4::connect(d.host(), d.port()).expect("connect");
    m.login(user, d.password()).expect("login");
    m
}

#[test]
fn select_search_fetch_envelopes() {
    let d = Dovecot::builder().messages("alice", 20, 3).start().unwrap();
    let mut m = login(&d, "alice");
    let inbox = m.typed().select("INBOX").unwrap();
    assert_eq!(inbox.exists, 20);
    assert!(inbox.uid_validity.is_some());
    assert_eq!(inbox.uid_next, Some(21));
    assert!(!inbox.read_only);
    assert!(inbox.permanent_flags.iter().any(|f| f == "\\Seen"));

    let all = m.typed().uid_search(&SearchKey::All).unwrap();
    assert_eq!(all.iter().count(), 20);
    let fetches = m
        .typed()
        .uid_fetch(
            &all,
            &[
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::BodyStructure,
            ],
        )
        .unwrap();
    let mut n = 0;
    for f in fetches.iter() {
        let f = f.unwrap();
        n += 1;
        assert!(f.uid().is_some());
        let env = f.envelope().expect("envelope");
        assert!(env.message_id.is_some());
        assert!(!env.from.is_empty());
        assert!(f.body_structure().is_some());
        assert!(
            f.items
                .iter()
                .all(|i| !matches!(i, imap4::typed::FetchItem::Other { .. })),
            "unparsed item in {f:?}"
        );
    }
    assert_eq!(n, 20);

    // Search keys with text are quoted safely, 8-bit via CHARSET UTF-8.
    let none = m
        .typed()
        .search(&SearchKey::Subject("no such \"subject\" ü\r\n".into()))
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn streamed_body_equals_the_whole_body() {
    let d = Dovecot::builder().messages("alice", 5, 9).start().unwrap();
    let mut m = login(&d, "alice");
    m.typed().select("INBOX").unwrap();
    for uid in 1..=5u32 {
        let whole = m
            .typed()
            .uid_fetch(&UidSet::single(uid), &[FetchAttr::full_peek()])
            .unwrap();
        let body = whole
            .iter()
            .next()
            .unwrap()
            .unwrap()
            .section("")
            .unwrap()
            .to_vec();
        let mut streamed = Vec::new();
        // A chunk size that does not divide the size, and one that might.
        let n = m
            .typed()
            .uid_fetch_body_to_chunked(uid, "", &mut streamed, 1000)
            .unwrap();
        assert_eq!(n as usize, body.len());
        assert_eq!(streamed, body);
        let mut streamed = Vec::new();
        m.typed().uid_fetch_body_to(uid, "", &mut streamed).unwrap();
        assert_eq!(streamed, body);
    }
    let err = m
        .typed()
        .uid_fetch_body_to(999, "", &mut Vec::new())
        .unwrap_err();
    assert!(err.is_error(), "{err}");
}

#[test]
fn mailboxes_status_append_copy_move_store_expunge() {
    let d = Dovecot::builder().messages("alice", 3, 5).start().unwrap();
    let mut m = login(&d, "alice");
    let name = "Entwürfe & Пробы";
    m.typed().create(name).unwrap();
    let boxes = m.typed().list("", "*").unwrap();
    let found = boxes.iter().find(|b| b.name == name).expect("decoded name");
    assert!(found.raw_name.is_ascii(), "sent as modified UTF-7");
    assert_eq!(found.delimiter, Some('/'));
    assert!(boxes.iter().any(|b| b.has_attribute("\\Sent")));

    let mapping = m
        .typed()
        .append(
            name,
            &["\\Seen", "$Label1"],
            Some("01-Jan-2020 10:00:00 +0000"),
            &b"Subject: x\r\n\r\nhello\r\n"[..],
        )
        .unwrap()
        .expect("UIDPLUS");
    assert_eq!(mapping.destination.iter().collect::<Vec<_>>(), vec![1]);
    let st = m
        .typed()
        .status(
            name,
            &[
                StatusAttr::Messages,
                StatusAttr::UidNext,
                StatusAttr::Unseen,
                StatusAttr::HighestModSeq,
            ],
        )
        .unwrap();
    assert_eq!(
        (st.messages, st.uid_next, st.unseen),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(st.mailbox, name);

    m.typed().select("INBOX").unwrap();
    let copied = m
        .typed()
        .uid_copy(&"1:2".parse().unwrap(), name)
        .unwrap()
        .expect("COPYUID");
    assert_eq!(
        copied.source.unwrap().iter().collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(copied.destination.iter().collect::<Vec<_>>(), vec![2, 3]);
    let moved = m
        .typed()
        .uid_move(&UidSet::single(3), name)
        .unwrap()
        .expect("COPYUID on MOVE");
    assert_eq!(moved.destination.iter().collect::<Vec<_>>(), vec![4]);

    let changed = m
        .typed()
        .uid_store(&UidSet::single(1), StoreOp::Add, &["\\Deleted"], false)
        .unwrap();
    let f = changed.iter().next().unwrap().unwrap();
    assert!(f.flags().unwrap().iter().any(|fl| fl.is("\\Deleted")));
    assert!(m
        .typed()
        .uid_store(&UidSet::single(1), StoreOp::Add, &["bad flag"], false)
        .unwrap_err()
        .is_error());
    let gone = m.typed().expunge().unwrap();
    assert_eq!(gone, vec![1]);
    assert_eq!(m.state(), imap4::State::Selected);
    m.typed().close().unwrap();
    assert_eq!(m.state(), imap4::State::Auth);

    // NO is an error carrying the server's status and text.
    let err = m.typed().select("does-not-exist").unwrap_err();
    assert_eq!(err.server_status(), Some("NO"));
    assert_eq!(m.state(), imap4::State::Auth);
    m.typed().rename(name, "Renamed").unwrap();
    m.typed().delete("Renamed").unwrap();
    // The imaplib surface still works on the same connection afterwards.
    let r = m.select("INBOX", true).unwrap();
    assert_eq!(r.typ, "OK");
    m.logout().unwrap();
}

#[test]
fn pipelined_fetches_equal_one_batched_fetch() {
    // 300 commands in flight: Dovecot runs pipelined FETCHes side by side
    // and interleaves their answers, so each must be routed by its UID
    const N: u32 = 300;
    let d = Dovecot::builder()
        .messages("alice", N as usize, 4)
        .start()
        .unwrap();
    let mut m = login(&d, "alice");
    m.typed().select("INBOX").unwrap();
    let attrs = [FetchAttr::Uid, FetchAttr::Flags, FetchAttr::Envelope];
    let batched = m.typed().uid_fetch(&UidSet::from(1..=N), &attrs).unwrap();
    let batched: Vec<String> = batched
        .iter()
        .map(|f| format!("{:?}", f.unwrap()))
        .collect();
    let sets: Vec<UidSet> = (1..=N)
        .map(UidSet::single)
        .chain([UidSet::from_numbers([])])
        .collect();
    // overlapping sets each get all of theirs, as separate commands would
    let overlapping = [UidSet::from(5..=7), UidSet::from(6..=8)];
    let both = m.typed().uid_fetch_pipelined(&overlapping, &attrs).unwrap();
    let uids = |f: &imap4::typed::Fetches| -> Vec<Option<u32>> {
        f.iter().map(|f| f.unwrap().uid()).collect()
    };
    assert_eq!(uids(&both[0]), [Some(5), Some(6), Some(7)]);
    assert_eq!(uids(&both[1]), [Some(6), Some(7), Some(8)]);
    let piped = m.typed().uid_fetch_pipelined(&sets, &attrs).unwrap();
    assert_eq!(piped.len(), N as usize + 1);
    assert_eq!(piped[N as usize].raw_len(), 0, "an empty set asks nothing");
    // every command got exactly its own message
    for (i, fetches) in piped[..N as usize].iter().enumerate() {
        let uids: Vec<Option<u32>> = fetches.iter().map(|f| f.unwrap().uid()).collect();
        assert_eq!(uids, [Some(i as u32 + 1)], "answers of UID FETCH {}", i + 1);
    }
    let piped: Vec<String> = piped
        .iter()
        .flat_map(|f| {
            f.iter()
                .map(|f| format!("{:?}", f.unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(piped, batched);
    // The connection is in step afterwards.
    assert_eq!(m.noop().unwrap().typ, "OK");
}

#[test]
fn streamed_fetch_yields_what_a_collected_fetch_does() {
    let d = Dovecot::builder()
        .messages("alice", 120, 8)
        .start()
        .unwrap();
    let mut m = login(&d, "alice");
    m.typed().select("INBOX").unwrap();
    let attrs = [
        FetchAttr::Uid,
        FetchAttr::Envelope,
        FetchAttr::BodyStructure,
    ];
    let collected: Vec<String> = m
        .typed()
        .uid_fetch(&UidSet::all(), &attrs)
        .unwrap()
        .iter()
        .map(|f| format!("{:?}", f.unwrap()))
        .collect();
    let mut streamed = Vec::new();
    let n = m
        .typed()
        .uid_fetch_each(&UidSet::all(), &attrs, |f| streamed.push(format!("{f:?}")))
        .unwrap();
    assert_eq!(n, 120);
    assert_eq!(streamed, collected);
    assert_eq!(m.noop().unwrap().typ, "OK");
}

/// After the imaplib `login()`, the typed API knows what the LOGIN's OK
/// announced (Dovecot adds COMPRESS=DEFLATE and more after login), while
/// imaplib's `capabilities()` stays as CPython leaves it.
#[test]
fn typed_checks_follow_the_capabilities_announced_at_login() {
    let d = Dovecot::builder().messages("alice", 2, 1).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    let before = m.capabilities().to_vec();
    assert!(!before.iter().any(|c| c == "COMPRESS=DEFLATE"));
    m.login("alice", d.password()).unwrap();
    assert_eq!(m.capabilities(), &before[..], "imaplib parity");
    assert!(m.typed().has_capability("COMPRESS=DEFLATE"));
    assert!(m.typed().current_capabilities().iter().any(|c| c == "MOVE"));
    m.typed().compress().unwrap();
    assert_eq!(m.typed().select("INBOX").unwrap().exists, 2);
    m.logout().unwrap();
}

/// SORT, THREAD, COPY and MOVE by sequence number, and the typed LOGIN,
/// against Dovecot; the results agree with the generator and with the
/// imaplib surface.
#[test]
fn sort_thread_copy_move_and_login() {
    use imap4::typed::{SeqSet, SortCriterion, SortKey, Thread, ThreadAlgorithm};
    const N: usize = 16;
    const SEED: u64 = 21;
    let d = Dovecot::builder()
        .messages("alice", N, SEED)
        .start()
        .unwrap();

    // typed LOGIN: refused without TLS, nothing sent; fine over TLS
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    let e = m.typed().login("alice", d.password()).unwrap_err();
    assert!(e.to_string().contains("plaintext"), "{e}");
    assert_eq!(m.state(), imap4::State::NonAuth);
    let tls = imap4::TlsOptions::new().ca_file(d.ca_file());
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls).unwrap();
    let a = m.typed().login("alice", d.password()).unwrap();
    assert!(a.capabilities_updated);
    assert!(m.typed().has_capability("SORT"));

    m.typed().select("INBOX").unwrap();
    let all: Vec<u32> = (1..=N as u32).collect();
    let arrival = m
        .typed()
        .sort(&[SortCriterion::asc(SortKey::Arrival)], &SearchKey::All)
        .unwrap();
    assert_eq!(arrival, all);
    let reverse = m
        .typed()
        .sort(&[SortCriterion::desc(SortKey::Arrival)], &SearchKey::All)
        .unwrap();
    assert_eq!(reverse, all.iter().rev().copied().collect::<Vec<_>>());
    // by size, ties by sequence number (RFC 5256)
    let sizes: Vec<usize> = (0..N)
        .map(|i| imap4_testkit::generate(SEED, i).crlf_len())
        .collect();
    let mut by_size = all.clone();
    by_size.sort_by_key(|&n| (sizes[n as usize - 1], n));
    let sorted = m
        .typed()
        .sort(&[SortCriterion::asc(SortKey::Size)], &SearchKey::All)
        .unwrap();
    assert_eq!(sorted, by_size);
    // the same as imaplib's SORT, parsed by hand
    let typed = m
        .typed()
        .uid_sort(&[SortCriterion::asc(SortKey::Subject)], &SearchKey::All)
        .unwrap();
    let raw = m.uid("SORT", &["(SUBJECT)", "UTF-8", "ALL"]).unwrap();
    let raw: Vec<u32> = raw.data[0]
        .as_line()
        .unwrap()
        .split(|&b| b == b' ')
        .map(|n| std::str::from_utf8(n).unwrap().parse().unwrap())
        .collect();
    assert_eq!(typed, raw);

    // THREAD REFERENCES: every message once, each reply under its parent
    let threads = m
        .typed()
        .thread(ThreadAlgorithm::References, &SearchKey::All)
        .unwrap();
    let mut seen: Vec<u32> = threads.iter().flat_map(Thread::all_messages).collect();
    seen.sort_unstable();
    assert_eq!(seen, all);
    fn parents(t: &Thread, above: Option<u32>, out: &mut Vec<(u32, Option<u32>)>) {
        let mut up = above;
        for &m in &t.messages {
            out.push((m, up));
            up = Some(m);
        }
        for c in &t.children {
            parents(c, up, out);
        }
    }
    let mut edges = Vec::new();
    for t in &threads {
        parents(t, None, &mut edges);
    }
    let mut replies = 0;
    for (msg, parent) in edges {
        let want = imap4_testkit::parent_of(SEED, msg as usize - 1).map(|p| p as u32 + 1);
        if let Some(want) = want {
            assert_eq!(parent, Some(want), "message {msg}");
            replies += 1;
        }
    }
    assert!(replies >= 2, "the mailbox has replies to check ({replies})");

    // COPY and MOVE by sequence number
    m.typed().copy(&SeqSet::from(1..=2), "Archive").unwrap();
    let st = m
        .typed()
        .status("Archive", &[imap4::typed::StatusAttr::Messages])
        .unwrap();
    assert_eq!(st.messages, Some(2));
    m.typed()
        .move_messages(&SeqSet::single(3), "Archive")
        .unwrap();
    m.noop().unwrap();
    assert_eq!(m.mailbox_state().unwrap().exists, N as u32 - 1);
    m.logout().unwrap();
}

/// A server without SORT or THREAD=REFS: the typed commands refuse,
/// nothing sent.
#[test]
fn sort_and_thread_need_the_capability() {
    use imap4::typed::{SortCriterion, SortKey, ThreadAlgorithm};
    use imap4_testkit::fake::{FakeServer, Step};
    let fake = FakeServer::start(vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 THREAD=REFERENCES] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 THREAD=REFERENCES\r\n{tag} OK\r\n"),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send("* 2 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} THREAD REFERENCES UTF-8 ALL"),
        Step::send("* THREAD (1 2)\r\n{tag} OK done\r\n"),
    ])
    .unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    m.typed().select("INBOX").unwrap();
    let e = m
        .typed()
        .sort(&[SortCriterion::asc(SortKey::Date)], &SearchKey::All)
        .unwrap_err();
    assert!(e.to_string().contains("SORT"), "{e}");
    let e = m
        .typed()
        .thread(ThreadAlgorithm::Refs, &SearchKey::All)
        .unwrap_err();
    assert!(e.to_string().contains("THREAD=REFS"), "{e}");
    let t = m
        .typed()
        .thread(ThreadAlgorithm::References, &SearchKey::All)
        .unwrap();
    assert_eq!(t[0].messages, [1, 2]);
    drop(m);
    fake.finish().unwrap();
}
