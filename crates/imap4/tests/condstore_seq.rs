//! CONDSTORE by sequence numbers (`FETCH … (CHANGEDSINCE n)` and `STORE …
//! (UNCHANGEDSINCE n)`) on the test kit's Dovecot, in both drivers: only
//! the message changed after `n` is reported, and only it is left out of
//! a conditional store (in `[MODIFIED]`, as a sequence number).

use imap4::typed::{FetchAttr, SelectOptions, SeqSet, StoreOp};
use imap4::Imap4;
use imap4_testkit::Dovecot;

macro_rules! scenario {
    ($m:ident, [$($await:tt)*]) => {{
        let sync = $m.typed().select_with("INBOX", &SelectOptions::condstore())$($await)*.unwrap();
        let before = sync.mailbox.highest_modseq.expect("HIGHESTMODSEQ");
        // message 3 changes after `before`
        $m.typed().store(&SeqSet::single(3), StoreOp::Add, &["$Changed"], true)$($await)*.unwrap();
        let changed = $m
            .typed()
            .fetch_changed_since(&SeqSet::all(), &[FetchAttr::Uid, FetchAttr::Flags], before)$($await)*
            .unwrap();
        let changes = changed.flag_changes().unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].seq, 3);
        assert!(changes[0].flags.iter().any(|f| f == "$Changed"));
        assert!(changes[0].modseq > Some(before));

        // a store unchanged since `before` skips message 3
        let r = $m
            .typed()
            .store_unchanged_since(&SeqSet::from(1..=4), before, StoreOp::Add, &["$Batch"], true)$($await)*
            .unwrap();
        assert_eq!(r.modified.iter().collect::<Vec<_>>(), [3]);
        let flags = $m.typed().fetch(&SeqSet::from(1..=4), &[FetchAttr::Flags])$($await)*.unwrap();
        let batch: Vec<u32> = flags
            .iter()
            .map(|f| f.unwrap())
            .filter(|f| f.flags().unwrap().iter().any(|x| x.is("$Batch")))
            .map(|f| f.seq)
            .collect();
        assert_eq!(batch, [1, 2, 4]);
        // modseq 0 is refused before sending
        assert!($m.typed().fetch_changed_since(&SeqSet::all(), &[FetchAttr::Flags], 0)$($await)*.is_err());
        $m.typed().noop()$($await)*.unwrap();
    }};
}

#[test]
fn seq_changedsince_and_unchangedsince_dovecot_blocking() {
    let d = Dovecot::builder().messages("alice", 5, 31).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    scenario!(m, []);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_changedsince_and_unchangedsince_dovecot_tokio() {
    let d = Dovecot::builder().messages("alice", 5, 32).start().unwrap();
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    scenario!(m, [.await]);
    m.logout().await.unwrap();
}
