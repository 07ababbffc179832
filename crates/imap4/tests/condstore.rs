//! CONDSTORE and QRESYNC (RFC 7162), ENABLE (RFC 5161) and the resync
//! helper, against the test kit's real Dovecot, in both drivers; the
//! capability errors (nothing sent) against a scripted server.
//!
//! The property test (`resync_returns_exactly_the_changes_*`) makes random
//! changes through a second connection (appends, expunges, flag changes)
//! between two sessions and checks that `resync` reports exactly those,
//! with QRESYNC, with CONDSTORE only and with the plain fallback. Its
//! cases come from a fixed seed, so a failure names a case that fails
//! again. The resync tests (property, new UIDVALIDITY, tokio driver) run
//! on Cyrus 3.6 too; it needed no quirk of its own.

use std::collections::{BTreeMap, BTreeSet};

use imap4::typed::{
    FetchAttr, Known, MailboxChanges, QresyncParams, Resync, ResyncStrategy, SearchKey,
    SelectOptions, StatusAttr, StoreOp, UidSet,
};
use imap4::Imap4;
use imap4_testkit::{Cyrus, Dovecot, ImapServer};

fn login(d: &dyn ImapServer) -> Imap4 {
    let mut m = Imap4::connect(d.host(), d.port()).expect("connect");
    m.login("alice", d.password()).expect("login");
    m
}

/// The flags without `\Recent` (a session flag: which session sees a
/// message first decides it), sorted.
fn lasting(flags: &[String]) -> BTreeSet<String> {
    flags
        .iter()
        .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
        .cloned()
        .collect()
}

/// ENABLE, SELECT (CONDSTORE), MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE with a
/// MODIFIED set (the conflicting change made by a second connection),
/// then QRESYNC: SELECT with VANISHED (EARLIER) and the changes, UID FETCH
/// CHANGEDSINCE VANISHED, and a plain VANISHED applied to the mailbox
/// state. `$m` is a logged-in connection of either driver; `[.await]`
/// for the async one.
macro_rules! condstore_scenario {
    ($d:expr, $m:ident, [$($await:tt)*]) => {{
        let d: &Dovecot = $d;
        let mut other = login(d);
        other.typed().select("INBOX").unwrap();

        for cap in ["ENABLE", "CONDSTORE", "QRESYNC"] {
            assert!($m.typed().has_capability(cap), "Dovecot offers {cap}");
        }
        assert!(!$m.typed().is_enabled("CONDSTORE"));
        let enabled = $m.typed().enable(&["CONDSTORE"])$($await)*.unwrap();
        assert_eq!(enabled, ["CONDSTORE"]);
        assert!($m.typed().is_enabled("condstore"));

        let sync = $m
            .typed()
            .select_with("INBOX", &SelectOptions::condstore())$($await)*
            .unwrap();
        assert_eq!(sync.mailbox.exists, 6);
        assert!(!sync.no_modseq);
        assert!(sync.vanished.is_empty() && sync.changes.is_empty());
        let h0 = sync.mailbox.highest_modseq.expect("HIGHESTMODSEQ");
        let uid_validity = sync.mailbox.uid_validity.unwrap();
        let all = UidSet::from(1..=6);
        let fetched = $m
            .typed()
            .uid_fetch(&all, &[FetchAttr::Uid, FetchAttr::ModSeq])$($await)*
            .unwrap();
        let modseqs: Vec<u64> = fetched.iter().map(|f| f.unwrap().modseq().unwrap()).collect();
        assert_eq!(modseqs.len(), 6);
        assert!(modseqs.iter().all(|v| (1..=h0).contains(v)));

        // Nothing changed since h0; then the other connection flags UID 2.
        let none = $m
            .typed()
            .uid_fetch_changed_since(&all, &[FetchAttr::Flags], h0)$($await)*
            .unwrap();
        assert_eq!(none.flag_changes().unwrap(), []);
        other.typed().uid_store(&UidSet::single(2), StoreOp::Add, &["$Mark"], true).unwrap();
        // Dovecot announces the change (without UID: QRESYNC is not on)
        // at the end of the next command, which answers from before it.
        $m.typed().noop()$($await)*.unwrap();
        let changed = $m
            .typed()
            .uid_fetch_changed_since(&all, &[FetchAttr::Flags], h0)$($await)*
            .unwrap();
        let changes = changed.flag_changes().unwrap();
        let uids: BTreeSet<u32> = changes.iter().map(|c| c.uid).collect();
        assert_eq!(uids, BTreeSet::from([2]));
        assert!(changes.iter().all(|c| c.has_flag("$Mark") && c.modseq > Some(h0)));
        let h1 = changes.iter().filter_map(|c| c.modseq).max().unwrap();

        // A conflicting change: UID 3 is changed by the other connection
        // after h1, so a store UNCHANGEDSINCE h1 leaves it alone.
        other.typed().uid_store(&UidSet::single(3), StoreOp::Add, &["$Other"], true).unwrap();
        let stored = $m
            .typed()
            .uid_store_unchanged_since(&UidSet::from(3..=4), h1, StoreOp::Add, &["$Stored"], false)$($await)*
            .unwrap();
        assert_eq!(stored.modified.to_string(), "3");
        let now = $m
            .typed()
            .uid_fetch(&UidSet::from(3..=4), &[FetchAttr::Uid, FetchAttr::Flags])$($await)*
            .unwrap();
        for f in now.iter() {
            let f = f.unwrap();
            let stored = f.flags().unwrap().iter().any(|fl| fl.is("$Stored"));
            assert_eq!(stored, f.uid() == Some(4), "{f:?}");
        }
        let h2 = $m.typed().status("INBOX", &[StatusAttr::HighestModSeq])$($await)*.unwrap()
            .highest_modseq.unwrap();

        // QRESYNC: UID 5 is expunged elsewhere, UID 1 changed; SELECT
        // (QRESYNC) from h1 reports both, with the changes of 3 and 4.
        other.typed().uid_store(&UidSet::single(5), StoreOp::Add, &["\\Deleted"], true).unwrap();
        other.typed().uid_expunge(&UidSet::single(5)).unwrap();
        other.typed().uid_store(&UidSet::single(1), StoreOp::Add, &["$Late"], true).unwrap();
        // ENABLE is for the authenticated state
        assert!($m.typed().enable(&["QRESYNC"])$($await)*.is_err());
        $m.typed().unselect()$($await)*.unwrap();
        let q = SelectOptions::qresync(QresyncParams::new(uid_validity, h1).known_uids(all.clone()));
        let e = $m.typed().select_with("INBOX", &q)$($await)*.unwrap_err();
        assert!(e.to_string().contains("ENABLE QRESYNC first"), "{e}");
        assert_eq!($m.typed().enable(&["QRESYNC"])$($await)*.unwrap(), ["QRESYNC"]);
        let sync = $m.typed().select_with("INBOX", &q)$($await)*.unwrap();
        assert_eq!(sync.vanished.to_string(), "5");
        let uids: BTreeSet<u32> = sync.changes.iter().map(|c| c.uid).collect();
        assert_eq!(uids, BTreeSet::from([1, 3, 4]));
        assert!(sync.changes.iter().all(|c| c.modseq > Some(h1)));
        let three = sync.changes.iter().find(|c| c.uid == 3).unwrap();
        assert!(three.has_flag("$Other") && !three.has_flag("$Stored"));
        assert_eq!(sync.mailbox.exists, 5);
        assert!(sync.mailbox.highest_modseq > Some(h2));
        // VANISHED (EARLIER) took nothing from the live count
        assert_eq!($m.mailbox_state().unwrap().exists, 5);

        // UID FETCH (CHANGEDSINCE … VANISHED)
        let r = $m
            .typed()
            .uid_fetch_changed_since_vanished(&all, &[FetchAttr::Flags], h2)$($await)*
            .unwrap();
        assert_eq!(r.vanished.to_string(), "5");
        let uids: BTreeSet<u32> = r.flag_changes().unwrap().iter().map(|c| c.uid).collect();
        assert_eq!(uids, BTreeSet::from([1]));

        // A VANISHED that is not EARLIER (an expunge now) is applied.
        other.typed().uid_store(&UidSet::single(6), StoreOp::Add, &["\\Deleted"], true).unwrap();
        other.typed().uid_expunge(&UidSet::single(6)).unwrap();
        $m.typed().noop()$($await)*.unwrap();
        assert_eq!($m.mailbox_state().unwrap().exists, 4);
        let left = $m.typed().uid_search(&SearchKey::All)$($await)*.unwrap();
        assert_eq!(left.to_string(), "1:4");
        other.logout().unwrap();
    }};
}

#[test]
fn condstore_and_qresync_commands_blocking() {
    let d = Dovecot::builder().messages("alice", 6, 11).start().unwrap();
    let mut m = login(&d);
    condstore_scenario!(&d, m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condstore_and_qresync_commands_tokio() {
    let d = Dovecot::builder().messages("alice", 6, 12).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    condstore_scenario!(&d, m, [.await]);
    m.logout().await.unwrap();
}

// ----- the resync property test ----------------------------------------------

/// splitmix64: the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FLAGS: [&str; 4] = ["\\Seen", "\\Flagged", "$A", "$B"];

/// The server's mailbox as the changes leave it: UID -> flags.
type Model = BTreeMap<u32, BTreeSet<String>>;

fn message(n: u64) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: m{n}\r\n\r\nbody {n}\r\n").into_bytes()
}

/// Random changes through `b` (which has `mailbox` selected): appends,
/// expunges and flag toggles; returns the UIDs whose flags were changed.
fn random_changes(b: &mut Imap4, mailbox: &str, model: &mut Model, rng: &mut Rng) -> BTreeSet<u32> {
    let mut touched = BTreeSet::new();
    for _ in 0..1 + rng.below(8) {
        let uids: Vec<u32> = model.keys().copied().collect();
        match rng.below(5) {
            0 | 1 if !uids.is_empty() => {
                let uid = uids[rng.below(uids.len())];
                let flag = FLAGS[rng.below(FLAGS.len())];
                let flags = model.get_mut(&uid).unwrap();
                let op = if flags.remove(flag) {
                    StoreOp::Remove
                } else {
                    flags.insert(flag.to_string());
                    StoreOp::Add
                };
                b.typed()
                    .uid_store(&UidSet::single(uid), op, &[flag], true)
                    .unwrap();
                touched.insert(uid);
            }
            2 if !uids.is_empty() => {
                let uid = uids[rng.below(uids.len())];
                b.typed()
                    .uid_store(&UidSet::single(uid), StoreOp::Add, &["\\Deleted"], true)
                    .unwrap();
                b.typed().uid_expunge(&UidSet::single(uid)).unwrap();
                model.remove(&uid);
                touched.remove(&uid);
            }
            _ => {
                let flags: Vec<&str> = FLAGS
                    .iter()
                    .copied()
                    .filter(|_| rng.below(3) == 0)
                    .collect();
                let mapping = b
                    .typed()
                    .append(mailbox, &flags, None, message(rng.next()))
                    .unwrap();
                let uid = mapping
                    .expect("APPENDUID")
                    .destination
                    .iter()
                    .next()
                    .unwrap();
                model.insert(uid, flags.iter().map(|f| f.to_string()).collect());
            }
        }
    }
    b.typed().noop().unwrap();
    touched
}

/// What the server holds after a round of changes.
struct Truth {
    /// UID -> flags.
    model: Model,
    /// The UIDs whose flags were changed this round.
    touched: BTreeSet<u32>,
    /// STATUS UIDNEXT and HIGHESTMODSEQ.
    status: (u32, u64),
}

/// Checks a resync's result against the truth.
fn check(what: &str, c: &MailboxChanges, known: &Known, truth: &Truth) {
    let Truth {
        model,
        touched,
        status,
    } = truth;
    let now: BTreeSet<u32> = model.keys().copied().collect();
    let knew: BTreeSet<u32> = known.uids.iter().collect();
    let new: BTreeSet<u32> = now.difference(&knew).copied().collect();
    let vanished: BTreeSet<u32> = knew.difference(&now).copied().collect();
    assert_eq!(c.new.iter().collect::<BTreeSet<_>>(), new, "{what}: new");
    assert_eq!(
        c.vanished.iter().collect::<BTreeSet<_>>(),
        vanished,
        "{what}: vanished"
    );
    let expect_changed: BTreeSet<u32> = if c.exact {
        touched
            .intersection(&knew)
            .filter(|u| now.contains(u))
            .copied()
            .collect()
    } else {
        knew.intersection(&now).copied().collect()
    };
    let got: Vec<u32> = c.changed.iter().map(|f| f.uid).collect();
    assert_eq!(
        got,
        expect_changed.iter().copied().collect::<Vec<_>>(),
        "{what}: changed"
    );
    for f in &c.changed {
        assert_eq!(
            lasting(&f.flags),
            model[&f.uid],
            "{what}: flags of UID {}",
            f.uid
        );
    }
    assert_eq!(c.exists as usize, model.len(), "{what}: exists");
    assert_eq!(c.uid_next, Some(status.0), "{what}: UIDNEXT");
    if c.strategy != ResyncStrategy::Plain {
        assert_eq!(c.highest_modseq, Some(status.1), "{what}: HIGHESTMODSEQ");
    }
}

/// Every strategy from a fresh connection; each must see the same
/// changes. Returns what to know next time.
fn resync_all(
    d: &dyn ImapServer,
    mailbox: &str,
    known: &Known,
    truth: &Truth,
    case: usize,
    tally: &mut [usize; 3],
) -> Known {
    let mut next = None;
    for strategy in [
        ResyncStrategy::Qresync,
        ResyncStrategy::Condstore,
        ResyncStrategy::Plain,
        ResyncStrategy::Auto,
    ] {
        let mut c = login(d);
        let r = c.typed().resync_with(mailbox, known, strategy).unwrap();
        let Resync::Changes(changes) = r else {
            panic!("case {case} {strategy:?}: {r:?}")
        };
        let expected = match strategy {
            ResyncStrategy::Auto => ResyncStrategy::Qresync,
            s => s,
        };
        assert_eq!(changes.strategy, expected);
        assert_eq!(changes.exact, strategy != ResyncStrategy::Plain);
        check(&format!("case {case} {strategy:?}"), &changes, known, truth);
        if strategy == ResyncStrategy::Qresync {
            next = Some(changes.known_after(known));
            tally[0] += changes.new.len() as usize;
            tally[1] += changes.vanished.len() as usize;
            tally[2] += changes.changed.len();
        }
        c.logout().unwrap();
    }
    next.unwrap()
}

fn status(b: &mut Imap4, mailbox: &str) -> (u32, u64) {
    let st = b
        .typed()
        .status(mailbox, &[StatusAttr::UidNext, StatusAttr::HighestModSeq])
        .unwrap();
    (st.uid_next.unwrap(), st.highest_modseq.unwrap())
}

#[test]
fn resync_returns_exactly_the_changes_with_every_strategy() {
    let d = Dovecot::builder().start().unwrap();
    resync_property(&d, 16, 0x7162_0003);
}

/// The same on Cyrus 3.6 (CONDSTORE and QRESYNC too; mailboxes under
/// `INBOX.`).
#[test]
fn resync_returns_exactly_the_changes_on_cyrus() {
    let c = Cyrus::start().unwrap();
    assert!(login(&c).typed().has_capability("QRESYNC"));
    resync_property(&c, 10, 0x7162_0004);
}

/// `cases` mailboxes, each: messages, a first session's knowledge, then
/// two rounds of random changes, each checked with every strategy.
fn resync_property(d: &dyn ImapServer, cases: usize, seed: u64) {
    let mut b = login(d);
    let mut rng = Rng(seed);
    let mut tally = [0usize; 3];
    for case in 0..cases {
        let mailbox = d.mailbox(&format!("P{case}"));
        b.typed().create(&mailbox).unwrap();
        let mut model = Model::new();
        for _ in 0..rng.below(8) {
            let flags: Vec<&str> = FLAGS
                .iter()
                .copied()
                .filter(|_| rng.below(2) == 0)
                .collect();
            let uid = b
                .typed()
                .append(&mailbox, &flags, None, message(rng.next()))
                .unwrap()
                .unwrap()
                .destination
                .iter()
                .next()
                .unwrap();
            model.insert(uid, flags.iter().map(|f| f.to_string()).collect());
        }
        // the first session: what it knows
        let known = {
            let mut a = login(d);
            let sync = a
                .typed()
                .select_with(&mailbox, &SelectOptions::condstore())
                .unwrap();
            let uids = if sync.mailbox.exists == 0 {
                UidSet::default()
            } else {
                a.typed().uid_search(&SearchKey::All).unwrap()
            };
            a.logout().unwrap();
            Known::new(
                sync.mailbox.uid_validity.unwrap(),
                sync.mailbox.highest_modseq.unwrap(),
                uids,
            )
        };
        assert_eq!(
            known.uids.iter().collect::<Vec<_>>(),
            model.keys().copied().collect::<Vec<_>>()
        );
        // two rounds: changes, resync, and again from what it returned
        b.typed().select(&mailbox).unwrap();
        let mut known = known;
        for round in 0..2 {
            let touched = random_changes(&mut b, &mailbox, &mut model, &mut rng);
            let truth = Truth {
                model: model.clone(),
                touched,
                status: status(&mut b, &mailbox),
            };
            known = resync_all(d, &mailbox, &known, &truth, case * 10 + round, &mut tally);
        }
        b.typed().unselect().unwrap();
    }
    b.logout().unwrap();
    // the cases did exercise every kind of change
    assert!(
        tally.iter().all(|&n| n >= 5),
        "new, vanished, changed: {tally:?}"
    );
    eprintln!("new, vanished, changed over the cases: {tally:?}");
}

/// A mailbox deleted and created again has a new UIDVALIDITY: every
/// strategy says start over.
#[test]
fn a_new_uidvalidity_is_start_over() {
    let d = Dovecot::builder().start().unwrap();
    new_uidvalidity(&d);
}

#[test]
fn a_new_uidvalidity_is_start_over_on_cyrus() {
    let c = Cyrus::start().unwrap();
    new_uidvalidity(&c);
}

fn new_uidvalidity(d: &dyn ImapServer) {
    let again = d.mailbox("Again");
    let again = again.as_str();
    let mut b = login(d);
    b.typed().create(again).unwrap();
    b.typed().append(again, &[], None, message(1)).unwrap();
    let sync = b
        .typed()
        .select_with(again, &SelectOptions::condstore())
        .unwrap();
    let known = Known::new(
        sync.mailbox.uid_validity.unwrap(),
        sync.mailbox.highest_modseq.unwrap(),
        UidSet::single(1),
    );
    b.typed().unselect().unwrap();
    b.typed().delete(again).unwrap();
    b.typed().create(again).unwrap();
    b.typed().append(again, &[], None, message(2)).unwrap();
    for strategy in [
        ResyncStrategy::Qresync,
        ResyncStrategy::Condstore,
        ResyncStrategy::Plain,
    ] {
        let mut c = login(d);
        match c.typed().resync_with(again, &known, strategy).unwrap() {
            Resync::StartOver {
                new_uid_validity,
                mailbox,
            } => {
                assert!(new_uid_validity.is_some());
                assert_ne!(new_uid_validity, Some(known.uid_validity));
                assert_eq!(mailbox.exists, 1);
            }
            other => panic!("{strategy:?}: {other:?}"),
        }
        c.logout().unwrap();
    }
    b.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_in_the_tokio_driver() {
    let d = Dovecot::builder().messages("alice", 5, 3).start().unwrap();
    resync_tokio(&d).await;
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_in_the_tokio_driver_on_cyrus() {
    let c = Cyrus::start().unwrap();
    let mut b = login(&c);
    for n in 1..=5 {
        b.typed().append("INBOX", &[], None, message(n)).unwrap();
    }
    b.logout().unwrap();
    resync_tokio(&c).await;
}

/// INBOX holds UIDs 1..=5: a flag change, an expunge and an append from
/// a blocking connection, then every strategy from the tokio driver.
#[cfg(feature = "tokio")]
async fn resync_tokio(d: &dyn ImapServer) {
    let mut b = login(d);
    let sync = b
        .typed()
        .select_with("INBOX", &SelectOptions::condstore())
        .unwrap();
    let known = Known::new(
        sync.mailbox.uid_validity.unwrap(),
        sync.mailbox.highest_modseq.unwrap(),
        UidSet::from(1..=5),
    );
    b.typed()
        .uid_store(&UidSet::single(2), StoreOp::Add, &["$X"], true)
        .unwrap();
    b.typed()
        .uid_store(&UidSet::single(4), StoreOp::Add, &["\\Deleted"], true)
        .unwrap();
    b.typed().uid_expunge(&UidSet::single(4)).unwrap();
    b.typed()
        .append("INBOX", &["$X"], None, message(9))
        .unwrap();
    for strategy in [
        ResyncStrategy::Auto,
        ResyncStrategy::Condstore,
        ResyncStrategy::Plain,
    ] {
        let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
            .await
            .unwrap();
        m.login("alice", d.password()).await.unwrap();
        let Resync::Changes(c) = m
            .typed()
            .resync_with("INBOX", &known, strategy)
            .await
            .unwrap()
        else {
            panic!("{strategy:?}")
        };
        assert_eq!(
            (c.new.to_string(), c.vanished.to_string()),
            ("6".into(), "4".into())
        );
        let changed: Vec<u32> = c.changed.iter().map(|f| f.uid).collect();
        if c.exact {
            assert_eq!(changed, [2]);
        } else {
            assert_eq!(changed, [1, 2, 3, 5]);
        }
        assert!(c
            .changed
            .iter()
            .find(|f| f.uid == 2)
            .unwrap()
            .has_flag("$X"));
        m.logout().await.unwrap();
    }
    b.logout().unwrap();
}

// ----- a server without the extensions ----------------------------------------

/// Every command refuses, nothing sent, on a server without ENABLE,
/// CONDSTORE and QRESYNC (the script expects exactly the commands that
/// are sent); resync falls back to the plain strategy.
macro_rules! without_extensions {
    ($m:ident, [$($await:tt)*]) => {{
        let all = UidSet::from(1..=2);
        let e = $m.typed().enable(&["QRESYNC"])$($await)*.unwrap_err();
        assert!(e.to_string().contains("ENABLE"), "{e}");
        let e = $m.typed().select_with("INBOX", &SelectOptions::condstore())$($await)*.unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let q = SelectOptions::qresync(QresyncParams::new(5, 9));
        let e = $m.typed().examine_with("INBOX", &q)$($await)*.unwrap_err();
        assert!(e.to_string().contains("QRESYNC"), "{e}");
        $m.typed().select("INBOX")$($await)*.unwrap();
        let e = $m.typed().uid_fetch_changed_since(&all, &[FetchAttr::Flags], 9)$($await)*.unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let e = $m.typed().uid_fetch_changed_since_vanished(&all, &[FetchAttr::Flags], 9)$($await)*.unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let e = $m
            .typed()
            .uid_store_unchanged_since(&all, 9, StoreOp::Add, &["\\Seen"], false)$($await)*
            .unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let known = Known::new(5, 9, UidSet::from(1..=3));
        for strategy in [ResyncStrategy::Qresync, ResyncStrategy::Condstore] {
            let e = $m.typed().resync_with("INBOX", &known, strategy)$($await)*.unwrap_err();
            assert!(e.to_string().contains("does not offer"), "{e}");
        }
        // the fallback: SELECT, then every message's flags
        let Resync::Changes(c) = $m.typed().resync("INBOX", &known)$($await)*.unwrap() else {
            panic!()
        };
        assert_eq!(c.strategy, ResyncStrategy::Plain);
        assert!(!c.exact);
        assert_eq!((c.new.to_string(), c.vanished.to_string()), ("4".into(), "2".into()));
        assert_eq!(c.changed.iter().map(|f| f.uid).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(c.highest_modseq, None);
    }};
}

fn script_without_extensions() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 UIDPLUS\r\n{tag} OK\r\n"),
        // the first command sent after the refusals
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send("* 3 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} SELECT \"INBOX\""),
        Step::send(
            "* 3 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\n* OK [UIDNEXT 5] x\r\n{tag} OK [READ-WRITE] done\r\n",
        ),
        Step::expect("{tag} UID FETCH 1:* (UID FLAGS)"),
        Step::send(
            "* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 3 FLAGS (\\Seen))\r\n\
             * 3 FETCH (UID 4 FLAGS ())\r\n{tag} OK done\r\n",
        ),
    ]
}

#[test]
fn without_the_extensions_nothing_is_sent_blocking() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script_without_extensions()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    without_extensions!(m, []);
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_extensions_nothing_is_sent_tokio() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script_without_extensions()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    without_extensions!(m, [.await]);
    drop(m);
    fake.finish().unwrap();
}
