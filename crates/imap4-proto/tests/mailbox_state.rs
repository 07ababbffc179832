//! Property: whatever commands run, and however the server interleaves
//! EXISTS, EXPUNGE, VANISHED and FETCH with their answers, the session's
//! mailbox state equals what a fresh SELECT would report.

use imap4_proto::command::{FetchAttr, UidSet};
use imap4_proto::typed::SetArg;
use imap4_proto::{Limits, Poll, Session};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Change {
    Append,
    Expunge(usize),
    Vanish(usize),
    Flag(usize, u64),
}

#[derive(Debug, Clone, Copy)]
enum Cmd {
    ImaplibNoop,
    ImaplibSearch,
    TypedNoop,
    TypedFetch,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => Just(Change::Append),
        2 => (0usize..1000).prop_map(Change::Expunge),
        1 => (0usize..1000).prop_map(Change::Vanish),
        2 => (0usize..1000, 1u64..1000).prop_map(|(i, m)| Change::Flag(i, m)),
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        Just(Cmd::ImaplibNoop),
        Just(Cmd::ImaplibSearch),
        Just(Cmd::TypedNoop),
        Just(Cmd::TypedFetch),
    ]
}

/// The server's mailbox: UIDs in sequence order.
struct Model {
    uids: Vec<u32>,
    next_uid: u32,
    modseq: u64,
}

impl Model {
    /// Applies a change and returns the untagged response announcing it.
    fn apply(&mut self, c: &Change) -> Option<String> {
        match *c {
            Change::Append => {
                self.uids.push(self.next_uid);
                self.next_uid += 1;
                Some(format!("* {} EXISTS\r\n", self.uids.len()))
            }
            Change::Expunge(i) if !self.uids.is_empty() => {
                let i = i % self.uids.len();
                self.uids.remove(i);
                Some(format!("* {} EXPUNGE\r\n", i + 1))
            }
            Change::Vanish(i) if !self.uids.is_empty() => {
                let uid = self.uids.remove(i % self.uids.len());
                Some(format!("* VANISHED {uid}\r\n"))
            }
            Change::Flag(i, m) if !self.uids.is_empty() => {
                let i = i % self.uids.len();
                self.modseq = self.modseq.max(m);
                Some(format!(
                    "* {} FETCH (UID {} FLAGS (\\Seen) MODSEQ ({m}))\r\n",
                    i + 1,
                    self.uids[i]
                ))
            }
            _ => None,
        }
    }
}

fn done(s: &mut Session, p: &imap4_proto::Pending) -> imap4_proto::Tagged {
    match s.poll(p).unwrap() {
        Poll::Done(t) => t,
        other => panic!("not done: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn state_equals_a_fresh_select(
        start in 0u32..20,
        rounds in proptest::collection::vec((cmd(), proptest::collection::vec(change(), 0..6)), 1..25),
        events in any::<bool>(),
    ) {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(b"* PREAUTH hi\r\n");
        s.read_greeting().unwrap();
        if events {
            s.enable_events();
        }
        let p = s.select("INBOX", false).unwrap().pending().unwrap();
        s.take_output();
        s.receive(format!("* {start} EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [HIGHESTMODSEQ 1] m\r\nA0 OK [READ-WRITE] ok\r\n").as_bytes());
        let t = done(&mut s, &p);
        s.complete(p, Ok(t)).unwrap();
        let mut model = Model { uids: (1..=start).collect(), next_uid: start + 1, modseq: 1 };
        for (n, (c, changes)) in rounds.iter().enumerate() {
            let tag = format!("A{}", n + 1);
            let mut reply = String::new();
            for ch in changes {
                if let Some(r) = model.apply(ch) {
                    reply.push_str(&r);
                }
            }
            match c {
                Cmd::ImaplibNoop => {
                    let p = s.noop().unwrap().pending().unwrap();
                    s.take_output();
                    s.receive(format!("{reply}{tag} OK\r\n").as_bytes());
                    let t = done(&mut s, &p);
                    s.complete(p, Ok(t)).unwrap();
                }
                Cmd::ImaplibSearch => {
                    let p = s.search(None, &["ALL"]).unwrap().pending().unwrap();
                    s.take_output();
                    s.receive(format!("{reply}* SEARCH\r\n{tag} OK\r\n").as_bytes());
                    let t = done(&mut s, &p);
                    s.complete(p, Ok(t)).unwrap();
                }
                Cmd::TypedNoop => {
                    let p = s.typed_noop().unwrap();
                    s.take_output();
                    s.receive(format!("{reply}{tag} OK\r\n").as_bytes());
                    let t = done(&mut s, &p);
                    s.complete_typed(p, Ok(t)).unwrap();
                }
                Cmd::TypedFetch => {
                    let p = s.typed_fetch(SetArg::Uid(&UidSet::all()), &[FetchAttr::Flags]).unwrap();
                    s.take_output();
                    s.receive(format!("{reply}{tag} OK\r\n").as_bytes());
                    let t = done(&mut s, &p);
                    s.complete_typed(p, Ok(t)).unwrap();
                }
            }
            let state = s.mailbox_state().unwrap();
            prop_assert_eq!(state.exists as usize, model.uids.len(), "after round {}", n);
            prop_assert_eq!(state.uid_validity, Some(42));
            prop_assert_eq!(state.highest_modseq, Some(model.modseq));
        }
    }
}
