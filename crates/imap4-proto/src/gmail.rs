//! Gmail's IMAP extensions (X-GM-EXT-1): labels.
//!
//! - [`Session::typed_uid_store_labels`]: `UID STORE set
//!   [+|-]X-GM-LABELS (labels)`; the FETCH responses carry the labels
//!   the messages have now ([`crate::parse::Fetch::gm_labels`]).
//! - The search keys [`SearchKey::GmRaw`](crate::command::SearchKey::GmRaw),
//!   [`SearchKey::GmMsgId`](crate::command::SearchKey::GmMsgId) and
//!   [`SearchKey::GmThrId`](crate::command::SearchKey::GmThrId), and the
//!   fetch attributes `GmMsgId`, `GmThrId` and `GmLabels` of
//!   [`FetchAttr`](crate::command::FetchAttr).
//!
//! Each is refused, nothing sent, when the server does not advertise
//! X-GM-EXT-1.
//!
//! A label is sent as an atom when it is a system label (`\Inbox`,
//! `\Important`, `\Starred`: a backslash and atom characters), else as a
//! quoted string (a literal when it holds CR, LF or, outside UTF-8 mode,
//! 8-bit characters). NUL is refused.
//!
//! ```
//! use imap4_proto::command::{StoreOp, UidSet};
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 X-GM-EXT-1] hi\r\n");
//! s.read_greeting().unwrap();
//! let p = s.typed_select("INBOX", false).unwrap();
//! s.take_output();
//! s.receive(b"* 9 EXISTS\r\nA0 OK [READ-WRITE] done\r\n");
//! let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//! s.complete_typed(p, Ok(t)).unwrap();
//!
//! let p = s
//!     .typed_uid_store_labels(&UidSet::single(5), StoreOp::Add, &["\\Important", "Work/Q1"])
//!     .unwrap();
//! assert_eq!(
//!     &s.take_output().unwrap()[..],
//!     &b"A1 UID STORE 5 +X-GM-LABELS (\\Important \"Work/Q1\")\r\n"[..]
//! );
//! ```

use crate::command::{StoreOp, UidSet};
use crate::encode::{is_atom_char, EncodeError};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::TypedKind;

/// Whether a label goes out as an atom: a system label, `\` and atom
/// characters.
fn is_system_label(label: &str) -> bool {
    label
        .strip_prefix('\\')
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(is_atom_char))
}

impl Session {
    /// `UID STORE set [+|-]X-GM-LABELS (labels)` (Gmail): sets, adds or
    /// removes labels. An error, nothing sent, without X-GM-EXT-1 or with
    /// an empty set. Read the result with
    /// [`crate::typed::TypedOutcome::into_fetches`].
    pub fn typed_uid_store_labels(
        &mut self,
        set: &UidSet,
        op: StoreOp,
        labels: &[&str],
    ) -> Result<Pending, SessionError> {
        if !self.supports("X-GM-EXT-1") {
            return Err(SessionError::Usage(
                "the server does not offer X-GM-EXT-1 (needed for X-GM-LABELS; nothing sent)"
                    .into(),
            ));
        }
        if set.is_empty() {
            return Err(EncodeError::EmptySet.into());
        }
        let item = match op {
            StoreOp::Replace => "X-GM-LABELS",
            StoreOp::Add => "+X-GM-LABELS",
            StoreOp::Remove => "-X-GM-LABELS",
        };
        let set_text = set.to_string();
        let p = self.typed("UID STORE", TypedKind::Plain, &[State::Selected], |_, c| {
            c.set(&set_text)?;
            c.raw(item.as_bytes())?;
            c.open_list();
            for l in labels {
                if is_system_label(l) {
                    c.raw(l.as_bytes())?;
                } else {
                    c.string(l.as_bytes())?;
                }
            }
            c.close_list();
            Ok(())
        })?;
        self.route_uids(&p, set);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{FetchAttr, SearchKey};
    use crate::parse::{parse_response, Response, Untagged};
    use crate::typed::{SetArg, TypedOutcome};
    use crate::{Limits, Poll};

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(
            format!("* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH SORT ESORT {caps}] hi\r\n").as_bytes(),
        );
        s.read_greeting().unwrap();
        let p = s.typed_select("INBOX", false).unwrap();
        s.take_output();
        s.receive(b"* 9 EXISTS\r\nA0 OK [READ-WRITE] done\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        s
    }

    fn run(s: &mut Session, p: Pending, reply: &[u8]) -> TypedOutcome {
        let _ = s.take_output();
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap()
    }

    #[test]
    fn refused_without_x_gm_ext_1() {
        use crate::esearch::SearchReturn;
        use crate::typed::{SortCriterion, SortKey};
        let mut s = session("");
        let raw = SearchKey::GmRaw("has:attachment".into());
        let nested = SearchKey::Not(Box::new(SearchKey::And(vec![
            SearchKey::Seen,
            SearchKey::GmThrId(7),
        ])));
        for key in [&raw, &SearchKey::GmMsgId(1), &nested] {
            let e = s.typed_search(true, key).unwrap_err();
            assert!(e.to_string().contains("X-GM-EXT-1"), "{e}");
            assert!(s
                .typed_uid_search_return(key, &[SearchReturn::Count])
                .is_err());
            let by = [SortCriterion::asc(SortKey::Date)];
            assert!(s.typed_sort(true, &by, key).is_err());
            assert!(s
                .typed_uid_sort_return(&by, key, &[SearchReturn::Min])
                .is_err());
        }
        let e = s
            .typed_uid_store_labels(&UidSet::single(1), StoreOp::Add, &["Work"])
            .unwrap_err();
        assert!(e.to_string().contains("X-GM-EXT-1"), "{e}");
        assert!(s
            .typed_fetch(SetArg::Uid(&UidSet::single(1)), &[FetchAttr::GmLabels])
            .is_err());
        assert!(s.take_output().is_none());
    }

    #[test]
    fn encodes_keys_and_labels() {
        let mut s = session("X-GM-EXT-1");
        let p = s
            .typed_search(
                true,
                &SearchKey::GmRaw("has:attachment in:\"my box\"".into()),
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A1 UID SEARCH X-GM-RAW \"has:attachment in:\\\"my box\\\"\"\r\n"[..]
        );
        run(&mut s, p, b"* SEARCH 4\r\nA1 OK done\r\n");
        let p = s
            .typed_search(
                true,
                &SearchKey::Or(
                    Box::new(SearchKey::GmMsgId(1278455344230334865)),
                    Box::new(SearchKey::GmThrId(1266894439832287888)),
                ),
            )
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            &b"A2 UID SEARCH OR X-GM-MSGID 1278455344230334865 X-GM-THRID 1266894439832287888\r\n"
                [..]
        );
        run(&mut s, p, b"* SEARCH\r\nA2 OK done\r\n");
        // non-ASCII: CHARSET UTF-8, the string as a literal
        let p = s
            .typed_search(true, &SearchKey::GmRaw("subject:caf\u{e9}".into()))
            .unwrap();
        let out = s.take_output().unwrap();
        assert!(
            out.starts_with(b"A3 UID SEARCH CHARSET UTF-8 X-GM-RAW {13}\r\n"),
            "{out:?}"
        );
        s.receive(b"+ go\r\n");
        let _ = s.take_output();
        run(&mut s, p, b"* SEARCH 2\r\nA3 OK done\r\n");

        let p = s
            .typed_uid_store_labels(
                &UidSet::from_numbers([5, 6, 7]),
                StoreOp::Replace,
                &["\\Inbox", "My Label", "back\\slash \"q\"", "\\not system"],
            )
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&s.take_output().unwrap()).unwrap(),
            "A4 UID STORE 5:7 X-GM-LABELS (\\Inbox \"My Label\" \"back\\\\slash \\\"q\\\"\" \
             \"\\\\not system\")\r\n"
        );
        let t = run(
            &mut s,
            p,
            b"* 1 FETCH (X-GM-LABELS (\\Inbox \"My Label\" Work \\Important) UID 5)\r\nA4 OK done\r\n",
        );
        let f = t.into_fetches();
        let f: Vec<_> = f.iter().map(Result::unwrap).collect();
        let labels: Vec<String> = f[0]
            .gm_labels()
            .unwrap()
            .iter()
            .map(|l| l.to_str_lossy().into_owned())
            .collect();
        assert_eq!(labels, ["\\Inbox", "My Label", "Work", "\\Important"]);
        assert_eq!(f[0].uid(), Some(5));

        let p = s
            .typed_uid_store_labels(&UidSet::single(9), StoreOp::Remove, &["\\Starred"])
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"A5 UID STORE 9 -X-GM-LABELS (\\Starred)\r\n"
        );
        run(&mut s, p, b"A5 OK done\r\n");
        assert!(s
            .typed_uid_store_labels(&UidSet::default(), StoreOp::Add, &["x"])
            .is_err());
        assert!(s
            .typed_uid_store_labels(&UidSet::single(1), StoreOp::Add, &["a\0b"])
            .is_err());
        assert!(s.take_output().is_none());
    }

    #[test]
    fn parses_labels_gmail_sends() {
        // quoted labels with spaces, escaped quotes, system labels, an
        // empty list, and a literal
        let raw = b"* 3 FETCH (X-GM-THRID 1266894439832287888 X-GM-MSGID 1278455344230334865 \
                    X-GM-LABELS (\\Sent \"a \\\"b\\\"\" {4}\r\nq\"rs \\Draft) UID 12)\r\n";
        let Ok(Response::Data(Untagged::Fetch(f))) = parse_response(raw) else {
            panic!()
        };
        let labels: Vec<String> = f
            .gm_labels()
            .unwrap()
            .iter()
            .map(|l| l.to_str_lossy().into_owned())
            .collect();
        assert_eq!(labels, ["\\Sent", "a \"b\"", "q\"rs", "\\Draft"]);
        assert_eq!(f.gm_msgid(), Some(1278455344230334865));
        assert_eq!(f.gm_thrid(), Some(1266894439832287888));
        let Ok(Response::Data(Untagged::Fetch(f))) =
            parse_response(b"* 4 FETCH (X-GM-LABELS () UID 13)\r\n")
        else {
            panic!()
        };
        assert!(f.gm_labels().unwrap().is_empty());
    }
}
