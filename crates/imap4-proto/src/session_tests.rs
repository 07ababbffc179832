//! Tests of the session core.

mod matching {
    use super::super::*;

    #[test]
    fn untagged_shapes() {
        let m = |s: &'static [u8]| {
            let line = Bytes::from_static(s);
            match_untagged(&line).map(|shape| (shape.typ(&line).to_owned(), shape.data(&line)))
        };
        assert_eq!(
            m(b"* OK hi"),
            Some(("OK".into(), Bytes::from_static(b"hi")))
        );
        assert_eq!(
            m(b"* 3 EXISTS"),
            Some(("EXISTS".into(), Bytes::from_static(b"3")))
        );
        assert_eq!(
            m(b"* 1 FETCH (UID 4)"),
            Some(("FETCH".into(), Bytes::from_static(b"1 (UID 4)")))
        );
        assert_eq!(m(b"* SEARCH"), Some(("SEARCH".into(), Bytes::new())));
        assert_eq!(
            m(b"* 7 RECENT"),
            Some(("RECENT".into(), Bytes::from_static(b"7")))
        );
        assert_eq!(
            m(b"* 7 X-Y z"),
            Some(("X-Y".into(), Bytes::from_static(b"7 z")))
        );
        assert_eq!(
            m(b"* 7 FETCH "),
            Some(("FETCH".into(), Bytes::from_static(b"7")))
        );
        assert_eq!(m(b"* ok lower"), None);
        assert_eq!(m(b"* 12"), None);
        assert_eq!(m(b"+ go"), None);
    }

    #[test]
    fn response_codes() {
        let m = |s: &'static [u8]| match_response_code(&Bytes::from_static(s));
        assert_eq!(
            m(b"[READ-WRITE] ok"),
            Some(("READ-WRITE".into(), Bytes::new()))
        );
        assert_eq!(
            m(b"[UIDNEXT 5] Predicted [x]"),
            Some(("UIDNEXT".into(), Bytes::from_static(b"5] Predicted [x")))
        );
        assert_eq!(m(b"[UIDNEXT 5 no close"), None);
        assert_eq!(m(b"[X1]"), None);
        assert_eq!(m(b"no code"), None);
    }
}

mod trace {
    use super::super::*;

    fn greeted() -> Session {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n");
        assert!(s.read_greeting().unwrap());
        s
    }

    #[test]
    fn passwords_and_authenticate_data_never_reach_the_trace() {
        let mut s = greeted();
        s.set_tracing(true);
        let p = s.login("alice", "hunter2").unwrap().pending().unwrap();
        let out = s.take_output().unwrap();
        assert_eq!(&out[..], b"T0 LOGIN alice \"hunter2\"\r\n");
        s.receive(b"T0 NO [AUTHENTICATIONFAILED] nope\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        assert!(s.complete(p, Ok(t)).is_err());

        let p = s.authenticate("PLAIN").unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"+ \r\n");
        let Poll::Challenge(c) = s.poll(&p).unwrap() else {
            panic!()
        };
        assert!(c.is_empty());
        s.answer_challenge(&p, Some(b"\0alice\0hunter2"));
        let sent = s.take_output().unwrap();
        assert_eq!(&sent[..], b"AGFsaWNlAGh1bnRlcjI=\r\n");
        let trace = format!("{:?}", s.drain_trace());
        assert!(trace.contains("T0 LOGIN alice <redacted>"), "{trace}");
        assert!(!trace.contains("hunter2"), "{trace}");
        assert!(!trace.contains("AGFsaWNl"), "{trace}");
    }

    #[test]
    fn pipelined_commands_complete_independently() {
        let mut s = greeted();
        let a = s.noop().unwrap().pending().unwrap();
        let b = s.noop().unwrap().pending().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T0 NOOP\r\nT1 NOOP\r\n");
        // Completions arrive in the other order.
        s.receive(b"T1 OK second\r\nT0 OK first\r\n");
        let Poll::Done((typ, data)) = s.poll(&b).unwrap() else {
            panic!()
        };
        assert_eq!(
            (typ.as_str(), data),
            ("OK", vec![Data::Line(Bytes::from_static(b"second"))])
        );
        let Poll::Done((_, data)) = s.poll(&a).unwrap() else {
            panic!()
        };
        assert_eq!(data, vec![Data::Line(Bytes::from_static(b"first"))]);
    }

    #[test]
    fn synchronizing_literal_waits_for_continuation() {
        let mut s = greeted();
        s.set_state(State::Auth);
        let p = s.create("a\nb").unwrap().pending().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T0 CREATE {3}\r\n");
        assert!(s.take_output().is_none(), "literal held back until '+'");
        assert!(matches!(s.poll(&p).unwrap(), Poll::NeedInput));
        s.receive(b"+ go\r\n");
        assert!(matches!(s.poll(&p).unwrap(), Poll::NeedInput));
        assert_eq!(&s.take_output().unwrap()[..], b"a\nb\r\n");
    }

    #[test]
    fn literal_is_dropped_when_the_server_refuses_it() {
        let mut s = greeted();
        s.set_state(State::Auth);
        let p = s.create("a\nb").unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"T0 NO [TOOBIG] no\r\n");
        assert!(matches!(s.poll(&p).unwrap(), Poll::Done(_)));
        assert!(s.take_output().is_none(), "the literal must never be sent");
        // The next command goes out normally.
        let _q = s.noop().unwrap().pending().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T1 NOOP\r\n");
    }
}

/// Hostile-server classes: each test fails on the code before the fix.
mod hardening {
    use super::super::*;
    use crate::command::{FetchAttr, SearchKey, UidSet};
    use crate::typed::SetArg;

    fn greeted_with(limits: Limits) -> Session {
        let mut s = Session::new(limits, "T");
        s.receive(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n");
        assert!(s.read_greeting().unwrap());
        s
    }

    fn greeted() -> Session {
        greeted_with(Limits::default())
    }

    fn selected() -> Session {
        let mut s = greeted();
        s.set_state(State::Selected);
        s
    }

    /// Polls until done or error.
    fn run(s: &mut Session, p: &Pending) -> Result<Tagged, SessionError> {
        loop {
            match s.poll(p)? {
                Poll::Done(t) => return Ok(t),
                Poll::NeedInput => panic!("needs input"),
                Poll::Challenge(_) => {
                    s.answer_challenge(p, Some(b"x"));
                    s.take_output();
                }
            }
        }
    }

    #[test]
    fn a_tagged_reply_piggy_backed_on_an_earlier_one_is_refused() {
        let mut s = greeted();
        let a = s.noop().unwrap().pending().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T0 NOOP\r\n");
        // The reply to T0 carries a forged reply for the next command.
        s.receive(b"T0 OK done\r\nT1 OK [READ-WRITE] forged\r\n");
        let t = run(&mut s, &a).unwrap();
        s.complete(a, Ok(t)).unwrap();
        let b = s.noop().unwrap().pending().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T1 NOOP\r\n");
        let e = run(&mut s, &b).unwrap_err();
        assert!(matches!(e, SessionError::EarlyTagged(_)), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Abort);
        assert!(s.is_broken(), "the connection cannot be trusted any more");
    }

    #[test]
    fn a_tagged_reply_for_a_command_not_yet_written_is_refused() {
        let mut s = greeted();
        let a = s.noop().unwrap().pending().unwrap();
        // Nothing was taken for writing: T0 has not gone out.
        s.receive(b"T0 OK early\r\n");
        assert!(matches!(
            s.poll(&a).unwrap_err(),
            SessionError::EarlyTagged(_)
        ));
    }

    #[test]
    fn a_reply_after_the_write_matches_even_in_the_same_read() {
        let mut s = greeted();
        let a = s.noop().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* 1 EXISTS\r\nT0 OK fine\r\n");
        assert!(run(&mut s, &a).is_ok());
    }

    #[test]
    fn many_distinct_untagged_names_are_kept_in_order() {
        let mut s = greeted();
        let p = s.noop().unwrap().pending().unwrap();
        s.take_output();
        // Names of letters only: X-AAAA, X-AAAB, …
        let name = |mut i: usize| {
            let mut n = String::from("X-");
            for _ in 0..4 {
                n.push(char::from(b'A' + (i % 26) as u8));
                i /= 26;
            }
            n
        };
        let mut wire = Vec::new();
        for i in 0..60_000 {
            wire.extend_from_slice(format!("* {} data\r\n", name(i)).as_bytes());
        }
        wire.extend_from_slice(format!("* {} again\r\nT0 OK\r\n", name(7)).as_bytes());
        s.receive(&wire);
        run(&mut s, &p).unwrap();
        let store: Vec<_> = s
            .untagged_responses()
            .iter()
            .filter(|(n, _)| n.starts_with("X-"))
            .collect();
        assert_eq!(store.len(), 60_000);
        assert_eq!(store[7].0, name(7));
        assert_eq!(store[7].1.len(), 2);
        assert_eq!(store[59_999].0, name(59_999));
    }

    #[test]
    fn untagged_responses_collected_are_bounded() {
        let limits = Limits {
            max_collected_responses: 10,
            ..Limits::default()
        };
        let mut s = greeted_with(limits);
        let p = s.noop().unwrap().pending().unwrap();
        s.take_output();
        s.receive(&b"* 1 EXISTS\r\n".repeat(11));
        let e = s.poll(&p).unwrap_err();
        assert_eq!(
            e,
            SessionError::LimitExceeded {
                limit: "max_collected_responses",
                value: 10
            }
        );
        assert!(e.to_string().contains("Limits::max_collected_responses"));
        assert!(s.is_broken());
    }

    #[test]
    fn bytes_collected_are_bounded_for_typed_commands_too() {
        let limits = Limits {
            max_collected_bytes: 100,
            ..Limits::default()
        };
        let mut s = greeted_with(limits);
        s.set_state(State::Selected);
        let p = s
            .typed_fetch(SetArg::Uid(&UidSet::all()), &[FetchAttr::Flags])
            .unwrap();
        s.take_output();
        s.receive(&b"* 1 FETCH (FLAGS (\\Seen \\Answered))\r\n".repeat(3));
        let e = s.poll(&p).unwrap_err();
        assert!(
            matches!(
                e,
                SessionError::LimitExceeded {
                    limit: "max_collected_bytes",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn collection_limits_count_what_is_held_not_what_was_seen() {
        // 30 responses over three commands, 10 at a time, with a limit of
        // 15: what a command takes is no longer counted.
        let limits = Limits {
            max_collected_responses: 15,
            ..Limits::default()
        };
        let mut s = greeted_with(limits);
        s.set_state(State::Selected);
        for i in 0..3 {
            let p = s.search(None, &["ALL"]).unwrap().pending().unwrap();
            s.take_output();
            s.receive(&b"* SEARCH 1\r\n".repeat(10));
            s.receive(format!("T{i} OK\r\n").as_bytes());
            let t = run(&mut s, &p).unwrap();
            let r = s.complete(p, Ok(t)).unwrap();
            assert_eq!(r.data.len(), 10);
        }
    }

    #[test]
    fn a_challenge_survives_polling_another_pipelined_command_first() {
        // Fuzz finding: polling the NOOP first used to drop the
        // AUTHENTICATE challenge, and AUTHENTICATE then waited forever.
        let mut s = greeted();
        let auth = s.authenticate("PLAIN").unwrap().pending().unwrap();
        let noop = s.noop().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"+ \r\n");
        assert!(matches!(s.poll(&noop).unwrap(), Poll::NeedInput));
        assert!(matches!(s.poll(&auth).unwrap(), Poll::Challenge(_)));
    }

    #[test]
    fn authenticate_cannot_go_on_forever() {
        let limits = Limits {
            max_auth_steps: 3,
            ..Limits::default()
        };
        let mut s = greeted_with(limits);
        let p = s.authenticate("X-ENDLESS").unwrap().pending().unwrap();
        s.take_output();
        s.receive(&b"+ YQ==\r\n".repeat(4));
        let e = run(&mut s, &p).unwrap_err();
        assert_eq!(
            e,
            SessionError::LimitExceeded {
                limit: "max_auth_steps",
                value: 3
            }
        );
    }

    #[test]
    fn a_capped_fetch_refuses_a_larger_literal_before_reading_it() {
        let mut s = selected();
        let p = s
            .typed_fetch(SetArg::Uid(&UidSet::single(1)), &[FetchAttr::Uid])
            .unwrap();
        s.set_literal_cap(&p, 1 << 20);
        s.take_output();
        s.receive(b"* 1 FETCH (UID 1 BODY[]<0> {150000000}\r\n");
        let e = s.poll(&p).unwrap_err();
        assert!(
            matches!(
                e,
                SessionError::Frame(crate::frame::FrameError::LiteralTooLarge {
                    size: 150_000_000,
                    limit: 1048576
                })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn the_cap_is_lifted_when_the_capped_command_is_done() {
        let mut s = selected();
        let p = s
            .typed_fetch(SetArg::Uid(&UidSet::single(1)), &[FetchAttr::Uid])
            .unwrap();
        s.set_literal_cap(&p, 4);
        s.take_output();
        s.receive(b"* 1 FETCH (UID 1 BODY[]<0> {4}\r\nabcd)\r\nT0 OK\r\n");
        let t = run(&mut s, &p).unwrap();
        s.complete_typed(p, Ok(t)).unwrap();
        let q = s
            .typed_fetch(SetArg::Uid(&UidSet::single(1)), &[FetchAttr::Uid])
            .unwrap();
        s.take_output();
        s.receive(b"* 1 FETCH (UID 1 BODY[] {10}\r\n0123456789)\r\nT1 OK\r\n");
        assert!(run(&mut s, &q).is_ok());
    }

    fn typed_outcome(s: &mut Session, p: Pending, reply: &[u8]) -> crate::typed::TypedOutcome {
        s.take_output();
        s.receive(reply);
        let t = run(s, &p).unwrap();
        s.complete_typed(p, Ok(t)).unwrap()
    }

    #[test]
    fn a_number_too_large_is_an_error_not_zero() {
        let mut s = greeted();
        s.set_state(State::Auth);
        let p = s.typed_select("INBOX", false).unwrap();
        let out = typed_outcome(
            &mut s,
            p,
            b"* 18446744073709551616 EXISTS\r\n* 0 RECENT\r\nT0 OK [READ-WRITE] done\r\n",
        );
        let e = out.selected(false).unwrap_err();
        assert!(matches!(e, SessionError::Unparsable { .. }), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Error);
        let mut s = greeted();
        s.set_state(State::Auth);
        let p = s.typed_status("INBOX", &[]).unwrap();
        let out = typed_outcome(
            &mut s,
            p,
            b"* STATUS INBOX (MESSAGES 4294967296)\r\nT0 OK\r\n",
        );
        assert!(matches!(out.status(), Err(SessionError::Unparsable { .. })));
        // a STATUS line the parser cannot read, or none at all: an error,
        // not an empty status that looks like an empty mailbox
        for reply in [
            &b"* STATUS (MESSAGES 1\r\nT1 OK\r\n"[..],
            b"T2 OK no data\r\n",
        ] {
            let p = s.typed_status("INBOX", &[]).unwrap();
            let out = typed_outcome(&mut s, p, reply);
            let e = out.status().unwrap_err();
            assert!(matches!(e, SessionError::Unparsable { .. }), "{e:?}");
            assert_eq!(e.kind(), ErrorKind::Error);
        }
    }

    #[test]
    fn a_server_range_is_never_expanded() {
        let mut s = selected();
        let p = s.typed_search(true, &SearchKey::All).unwrap();
        let out = typed_outcome(
            &mut s,
            p,
            b"* ESEARCH (TAG \"T0\") UID ALL 1:4294967295\r\nT0 OK\r\n",
        );
        let ranges = out.search_ranges().unwrap();
        assert_eq!(ranges, [(1, u32::MAX)]);
        let set = UidSet::from_ranges(ranges);
        assert_eq!(set.len(), u64::from(u32::MAX));
        assert!(set.contains(4_000_000_000));
        assert_eq!(set.to_string(), "1:4294967295");
    }

    #[test]
    fn charset_is_decided_from_the_strings_not_their_debug_text() {
        let mut s = selected();
        let _p = s
            .typed_search(false, &SearchKey::Cc("\u{30e}".into()))
            .unwrap();
        let out = s.take_output().unwrap();
        assert!(
            out.starts_with(b"T0 SEARCH CHARSET UTF-8 CC {2}\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn utf8_mode_names_keep_their_ampersand() {
        let mut s = greeted();
        s.set_state(State::Auth);
        s.set_utf8();
        let p = s.typed_list("", "*").unwrap();
        let out = typed_outcome(
            &mut s,
            p,
            b"* LIST () \"/\" \"&-\"\r\n* LIST () \"/\" \"caf\xc3\xa9 & co\"\r\nT0 OK\r\n",
        );
        let names: Vec<String> = out
            .mailboxes()
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["&-", "café & co"]);
    }

    #[test]
    fn control_characters_in_mailbox_names_never_go_out_raw() {
        let mut s = greeted();
        s.set_state(State::Auth);
        let _p = s.typed_list("", "a\x1bb\x07").unwrap();
        let out = s.take_output().unwrap();
        assert!(!out.iter().any(|&b| b == 0x1b || b == 0x07), "{out:?}");
        assert_eq!(&out[..], b"T0 LIST \"\" \"a&ABs-b&AAc-\"\r\n");
        // In UTF-8 mode they are refused.
        s.set_utf8();
        assert!(s.typed_list("", "a\x1b").is_err());
    }

    #[test]
    fn xatom_names_cannot_announce_literals_or_break_lines() {
        let mut s = greeted();
        for name in ["X{5}", "X\r\nA1 LOGOUT", "X Y{3}"] {
            assert!(s.xatom(name, &[]).is_err(), "{name:?}");
        }
        assert!(s.take_output().is_none(), "nothing was queued");
        let bad = Session::new(Limits::default(), "T\r\n");
        let mut bad = bad;
        bad.receive(b"* OK hi\r\n");
        bad.read_greeting().unwrap();
        assert!(bad.noop().is_err(), "a tag prefix with CRLF is refused");
    }

    #[test]
    fn server_text_in_errors_has_no_control_bytes() {
        let mut s = greeted();
        let p = s.noop().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* BYE \x1b[2J\x07gone\r\n");
        let e = s.poll(&p).unwrap_err();
        let shown = e.to_string();
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown}"
        );
        assert!(shown.contains("\\x1b[2J\\x07gone"), "{shown}");

        let mut s = selected();
        let p = s.typed_noop().unwrap();
        s.take_output();
        s.receive(b"T0 NO \x1b]0;pwned\x07\r\n");
        let t = run(&mut s, &p).unwrap();
        let shown = s.complete_typed(p, Ok(t)).unwrap_err().to_string();
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown}"
        );
    }
}

/// The mailbox state, events and IDLE with a fake clock.
mod live_idle {
    use super::super::*;
    use crate::{Event, IdleConfig, IdleStep};
    use std::time::{Duration, Instant};

    fn preauth(caps: &str) -> Session {
        preauth_with(Limits::default(), caps)
    }

    /// Greeted (PREAUTH) and capabilities known: tag A0 is used.
    fn preauth_with(limits: Limits, caps: &str) -> Session {
        let mut s = Session::new(limits, "A");
        s.receive(b"* PREAUTH hi\r\n");
        assert!(s.read_greeting().unwrap());
        let p = s.refresh_capabilities().unwrap().pending().unwrap();
        s.take_output();
        s.receive(format!("* CAPABILITY IMAP4rev1 {caps}\r\nA0 OK\r\n").as_bytes());
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete(p, Ok(t)).unwrap();
        s
    }

    fn selected(caps: &str) -> Session {
        let mut s = preauth(caps);
        let p = s.select("INBOX", false).unwrap().pending().unwrap();
        s.take_output();
        s.receive(
            b"* 3 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 7] v\r\n\
              * OK [UIDNEXT 4] n\r\nA1 OK [READ-WRITE] done\r\n",
        );
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete(p, Ok(t)).unwrap();
        s
    }

    fn out(s: &mut Session) -> String {
        s.take_output()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn wait(s: &mut Session, now: Instant) -> Option<Instant> {
        match s.idle_poll(now).unwrap() {
            IdleStep::Wait { until } => until,
            other => panic!("expected Wait, got {other:?}"),
        }
    }

    #[test]
    fn the_mailbox_state_follows_every_response_whatever_the_command() {
        let mut s = selected("");
        let m = s.mailbox_state().unwrap().clone();
        assert_eq!(
            (m.exists, m.uid_validity, m.uid_next),
            (3, Some(7), Some(4))
        );
        assert_eq!(m.flags, ["\\Seen"]);
        // Unilateral data arriving during a SEARCH (imaplib surface).
        let p = s.search(None, &["ALL"]).unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* 5 EXISTS\r\n* 2 EXPUNGE\r\n* SEARCH 1 2 3 4\r\nA2 OK\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete(p, Ok(t)).unwrap();
        assert_eq!(s.mailbox_state().unwrap().exists, 4);
        // No events unless asked for.
        assert_eq!(s.pending_events(), 0);
    }

    #[test]
    fn idle_delivers_events_and_ends_with_done() {
        let mut s = selected("IDLE");
        let t0 = Instant::now();
        s.idle_start(t0, IdleConfig::default()).unwrap();
        assert_eq!(out(&mut s), "A2 IDLE\r\n");
        s.receive(b"+ idling\r\n* 4 EXISTS\r\n* 1 FETCH (FLAGS (\\Seen) UID 9)\r\n* 3 EXPUNGE\r\n");
        let mut events = Vec::new();
        while let IdleStep::Event(e) = s.idle_poll(t0).unwrap() {
            events.push(e);
        }
        assert_eq!(
            events,
            [
                Event::Exists(4),
                Event::Flags {
                    seq: 1,
                    uid: Some(9),
                    flags: vec!["\\Seen".into()],
                    modseq: None
                },
                Event::Expunge(3),
            ]
        );
        assert_eq!(s.mailbox_state().unwrap().exists, 3);
        // Nothing accumulates in imaplib's store during IDLE.
        // (SELECT left its one EXISTS there, as imaplib does.)
        let exists: Vec<_> = s
            .untagged_responses()
            .iter()
            .filter(|(n, _)| n == "EXISTS" || n == "FETCH" || n == "EXPUNGE")
            .map(|(_, v)| v.len())
            .collect();
        assert_eq!(exists, [1]);
        s.idle_stop(t0);
        assert_eq!(out(&mut s), "DONE\r\n");
        s.receive(b"A2 OK idle done\r\n");
        assert!(matches!(s.idle_poll(t0).unwrap(), IdleStep::Done));
        assert!(!s.idle_running());
        // The connection goes on.
        let _n = s.noop().unwrap().pending().unwrap();
        assert_eq!(out(&mut s), "A3 NOOP\r\n");
    }

    #[test]
    fn done_waits_for_the_servers_continuation() {
        let mut s = selected("IDLE");
        let t0 = Instant::now();
        s.idle_start(t0, IdleConfig::default()).unwrap();
        out(&mut s);
        s.idle_stop(t0);
        assert_eq!(out(&mut s), "", "no DONE before '+'");
        s.receive(b"+ idling\r\n");
        wait(&mut s, t0);
        assert_eq!(out(&mut s), "DONE\r\n");
    }

    #[test]
    fn idle_is_reissued_before_the_servers_limit() {
        let cfg = IdleConfig::default();
        let mut s = selected("IDLE");
        let t0 = Instant::now();
        s.idle_start(t0, cfg).unwrap();
        out(&mut s);
        s.receive(b"+ idling\r\n");
        // The server keeps saying it is there, so no probe; the refresh
        // comes at 29 minutes.
        let mut now = t0;
        for _ in 0..28 {
            now += Duration::from_secs(60);
            s.receive(b"* OK Still here\r\n");
            wait(&mut s, now);
            assert_eq!(out(&mut s), "");
        }
        now += Duration::from_secs(60);
        s.receive(b"* OK Still here\r\n");
        wait(&mut s, now);
        assert_eq!(out(&mut s), "DONE\r\n");
        s.receive(b"A2 OK done\r\n");
        wait(&mut s, now);
        assert_eq!(out(&mut s), "A3 IDLE\r\n");
    }

    #[test]
    fn a_silent_server_is_probed_then_declared_dead() {
        let cfg = IdleConfig::default();
        let mut s = selected("IDLE");
        let t0 = Instant::now();
        s.idle_start(t0, cfg).unwrap();
        out(&mut s);
        s.receive(b"+ idling\r\n");
        assert_eq!(wait(&mut s, t0), Some(t0 + cfg.keepalive));
        let t1 = t0 + cfg.keepalive;
        wait(&mut s, t1);
        assert_eq!(out(&mut s), "DONE\r\n", "the probe starts with DONE");
        // The server answers DONE: then a NOOP, and IDLE again.
        s.receive(b"A2 OK done\r\n");
        wait(&mut s, t1);
        assert_eq!(out(&mut s), "A3 NOOP\r\n");
        s.receive(b"A3 OK noop\r\n");
        wait(&mut s, t1);
        assert_eq!(out(&mut s), "A4 IDLE\r\n");
        s.receive(b"+ idling\r\n");
        assert_eq!(wait(&mut s, t1), Some(t1 + cfg.keepalive));
        let t2 = t1 + cfg.keepalive;
        wait(&mut s, t2);
        assert_eq!(out(&mut s), "DONE\r\n");
        // Now it stays silent: dead after the probe timeout.
        let until = wait(&mut s, t2);
        assert_eq!(until, Some(t2 + cfg.probe_timeout));
        let e = s.idle_poll(t2 + cfg.probe_timeout).unwrap_err();
        assert!(e.to_string().contains("connection dead"), "{e}");
        assert_eq!(e.kind(), ErrorKind::Abort);
    }

    #[test]
    fn without_idle_the_same_api_polls_with_noop() {
        let cfg = IdleConfig::default();
        let mut s = selected("");
        let t0 = Instant::now();
        s.idle_start(t0, cfg).unwrap();
        assert_eq!(out(&mut s), "", "no IDLE on this server");
        assert_eq!(wait(&mut s, t0), Some(t0 + cfg.poll_interval));
        let t1 = t0 + cfg.poll_interval;
        wait(&mut s, t1);
        assert_eq!(out(&mut s), "A2 NOOP\r\n");
        s.receive(b"* 9 EXISTS\r\nA2 OK\r\n");
        assert!(matches!(
            s.idle_poll(t1).unwrap(),
            IdleStep::Event(Event::Exists(9))
        ));
        assert_eq!(wait(&mut s, t1), Some(t1 + cfg.poll_interval));
        s.idle_stop(t1);
        assert!(matches!(s.idle_poll(t1).unwrap(), IdleStep::Done));
    }

    #[test]
    fn poll_only_polls_with_noop_although_the_server_has_idle() {
        let cfg = IdleConfig {
            poll_only: true,
            ..IdleConfig::default()
        };
        let mut s = selected("IDLE");
        let t0 = Instant::now();
        s.idle_start(t0, cfg).unwrap();
        assert_eq!(out(&mut s), "", "no IDLE sent");
        assert_eq!(wait(&mut s, t0), Some(t0 + cfg.poll_interval));
        let t1 = t0 + cfg.poll_interval;
        wait(&mut s, t1);
        assert_eq!(out(&mut s), "A2 NOOP\r\n");
        s.receive(b"* 4 EXISTS\r\nA2 OK\r\n");
        assert!(matches!(
            s.idle_poll(t1).unwrap(),
            IdleStep::Event(Event::Exists(4))
        ));
        // back to waiting, not to IDLE
        assert_eq!(wait(&mut s, t1), Some(t1 + cfg.poll_interval));
        assert_eq!(out(&mut s), "");
    }

    #[test]
    fn the_event_queue_is_bounded() {
        let limits = Limits {
            max_events: 5,
            ..Limits::default()
        };
        let mut s = preauth_with(limits, "IDLE");
        let t0 = Instant::now();
        s.idle_start(t0, IdleConfig::default()).unwrap();
        out(&mut s);
        s.receive(b"+ idling\r\n");
        for n in 1..=6 {
            s.receive(format!("* {n} EXISTS\r\n").as_bytes());
        }
        // The caller never takes events here (a bug); the queue refuses to
        // grow past its bound.
        let mut r = Ok(IdleStep::Done);
        for _ in 0..10 {
            r = s.idle_poll(t0);
            if r.is_err() {
                break;
            }
            // Put the event back: nobody consumes it.
            if let Ok(IdleStep::Event(e)) = &r {
                s.live.events.push_front(e.clone());
            }
        }
        let e = r.unwrap_err();
        assert!(e.to_string().contains("max_events"), "{e}");
    }
}

mod compress {
    use super::super::*;
    use crate::compress::Deflate;
    use crate::frame::FrameError;

    /// A session greeted by a server offering COMPRESS=DEFLATE, and the
    /// server's end of the codec.
    fn greeted() -> Session {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE STARTTLS] hi\r\n");
        assert!(s.read_greeting().unwrap());
        let p = s.refresh_capabilities().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE STARTTLS\r\nT0 OK\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete(p, Ok(t)).unwrap();
        s
    }

    /// Sends COMPRESS; the server answers OK and, in the same packet,
    /// `after` compressed. Returns the server's codec.
    fn compressed(s: &mut Session, after: &[u8]) -> (Deflate, Pending) {
        let p = s.typed_compress().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T1 COMPRESS DEFLATE\r\n");
        let mut server = Deflate::new();
        let mut packet = b"T1 OK DEFLATE active\r\n".to_vec();
        packet.extend_from_slice(&server.compress(after).unwrap());
        s.receive(&packet);
        (server, p)
    }

    fn inflate(d: &mut Deflate, wire: &[u8]) -> Vec<u8> {
        d.receive(wire);
        let mut out = Vec::new();
        loop {
            let c = d.inflate(None).unwrap();
            if c.is_empty() {
                return out;
            }
            out.extend_from_slice(c);
        }
    }

    #[test]
    fn bytes_after_the_ok_are_inflated_and_output_is_deflated() {
        let mut s = greeted();
        let (mut server, p) = compressed(&mut s, b"* 7 EXISTS\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        assert!(s.is_compressed());
        let p = s.typed_noop().unwrap();
        let wire = s.take_output().unwrap();
        assert_ne!(&wire[..], b"T2 NOOP\r\n");
        let mut client_side = Deflate::new();
        assert_eq!(inflate(&mut client_side, &wire), b"T2 NOOP\r\n");
        s.receive(&server.compress(b"T2 OK done\r\n").unwrap());
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let out = s.complete_typed(p, Ok(t)).unwrap();
        // The EXISTS that came in the OK's packet was read as compressed
        // data, and belongs to the NOOP's updates.
        assert_eq!(out.frames.len(), 1, "{:?}", out.frames);
        assert_eq!(&out.frames[0][..], b"* 7 EXISTS\r\n");
        let raw = s.encode_raw(b"x\r\n").unwrap();
        assert_eq!(inflate(&mut client_side, &raw), b"x\r\n");
    }

    #[test]
    fn nothing_else_is_written_until_compress_is_answered() {
        let mut s = greeted();
        let p = s.typed_compress().unwrap();
        let wire = s.take_output().unwrap();
        assert_eq!(&wire[..], b"T1 COMPRESS DEFLATE\r\n");
        let noop = s.noop().unwrap().pending().unwrap();
        assert!(
            s.take_output().is_none(),
            "NOOP went out before COMPRESS's reply"
        );
        let mut server = Deflate::new();
        s.receive(b"T1 OK go\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        let wire = s.take_output().unwrap();
        assert_eq!(inflate(&mut Deflate::new(), &wire), b"T2 NOOP\r\n");
        s.receive(&server.compress(b"T2 OK\r\n").unwrap());
        assert!(matches!(s.poll(&noop).unwrap(), Poll::Done(_)));
    }

    #[test]
    fn a_refused_compress_leaves_the_stream_plain() {
        let mut s = greeted();
        let p = s.typed_compress().unwrap();
        s.take_output();
        s.receive(b"T1 NO [COMPRESSIONACTIVE] TLS compression is on\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let e = s.complete_typed(p, Ok(t)).unwrap_err();
        assert!(e.to_string().contains("COMPRESSIONACTIVE"), "{e}");
        assert!(!s.is_compressed());
        let p = s.noop().unwrap().pending().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T2 NOOP\r\n");
        s.receive(b"T2 OK\r\n");
        assert!(matches!(s.poll(&p).unwrap(), Poll::Done(_)));
    }

    #[test]
    fn ordering_and_capability_are_checked_before_anything_is_sent() {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        assert!(s.typed_compress().is_err());
        assert!(s.take_output().is_none());

        let mut s = greeted();
        let _noop = s.noop().unwrap().pending().unwrap();
        let e = s.typed_compress().unwrap_err();
        assert!(e.to_string().contains("pipelined"), "{e}");

        let mut s = greeted();
        let (_server, p) = compressed(&mut s, b"");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        let e = s.starttls().unwrap_err();
        assert!(e.to_string().contains("STARTTLS after COMPRESS"), "{e}");
        let e = s.typed_compress().unwrap_err();
        assert!(e.to_string().contains("already active"), "{e}");
        assert!(s.take_output().is_none());
    }

    #[test]
    fn a_decompression_bomb_hits_the_line_limit_in_bounded_memory() {
        let mut s = greeted();
        let (mut server, p) = compressed(&mut s, b"");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        let p = s.typed_noop().unwrap();
        s.take_output();
        // 64 MiB of one endless line, compressed to ~64 KiB.
        let mut line = b"* OK ".to_vec();
        line.resize(64 << 20, b'A');
        let bomb = server.compress(&line).unwrap();
        assert!(bomb.len() < 128 << 10, "{}", bomb.len());
        s.receive(&bomb);
        let e = s.poll(&p).unwrap_err();
        assert!(
            matches!(e, SessionError::Frame(FrameError::LineTooLong { .. })),
            "{e:?}"
        );
        // Only what the framer needed was inflated.
        let d = s.compression().unwrap();
        assert!(
            d.inflated() < (1 << 20) + 2 * Deflate::CHUNK as u64,
            "{d:?}"
        );
        assert!(s.is_broken());
    }

    #[test]
    fn an_early_tagged_reply_inside_the_compressed_stream_is_refused() {
        let mut s = greeted();
        // The server piggy-backs the reply to the next command (T2) on the
        // compressed data after its OK to COMPRESS.
        let (_server, p) = compressed(&mut s, b"T2 OK forged\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        let p = s.typed_noop().unwrap();
        s.take_output();
        let e = s.poll(&p).unwrap_err();
        assert!(matches!(e, SessionError::EarlyTagged(_)), "{e:?}");
    }

    #[test]
    fn corrupt_compressed_data_breaks_the_session() {
        let mut s = greeted();
        let (_server, p) = compressed(&mut s, b"");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        let p = s.typed_noop().unwrap();
        s.take_output();
        s.receive(&[0xff; 32]);
        let e = s.poll(&p).unwrap_err();
        assert!(matches!(e, SessionError::Compression(_)), "{e:?}");
        assert!(s.is_broken());
    }
}

/// imaplib's order of checks and its state bookkeeping on a connection that
/// is gone (seen on GNU Mailutils, which drops the connection on a SEARCH
/// without criteria).
mod dead_connection {
    use super::super::*;

    fn selected() -> Session {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        let p = s.select("INBOX", false).unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* 2 EXISTS\r\nT0 OK [READ-WRITE] done\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("SELECT not done")
        };
        s.complete(p, Ok(t)).unwrap();
        assert_eq!(s.state(), State::Selected);
        s.fail_transport("socket error: EOF");
        s
    }

    #[test]
    fn close_and_unselect_leave_selected_even_when_nothing_can_be_sent() {
        for unselect in [false, true] {
            let mut s = selected();
            let e = if unselect { s.unselect() } else { s.close() }.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Abort);
            assert_eq!(s.state(), State::Auth, "imaplib's finally: state = AUTH");
        }
        // imaplib's close() sets AUTH even when CLOSE is illegal
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        assert_eq!(s.close().unwrap_err().kind(), ErrorKind::Error);
        assert_eq!(s.state(), State::Auth);
    }

    #[test]
    fn the_state_is_checked_before_the_connection() {
        let mut s = selected();
        s.close().unwrap_err();
        // illegal in AUTH: imaplib's error, though the connection is gone
        let e = s.expunge().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Error, "{e}");
        // legal: the abort names the cause, not the command it broke
        let e = s.noop().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Abort);
        assert_eq!(e.to_string(), "socket error: EOF");
    }
}

/// Capabilities announced after connect (LOGIN's `[CAPABILITY ...]`):
/// imaplib's list stays, the typed checks follow the server.
mod announced_capabilities {
    use super::super::*;

    #[test]
    fn a_login_ok_with_capabilities_updates_the_current_ones_only() {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n");
        assert!(s.read_greeting().unwrap());
        assert_eq!(s.current_capabilities(), ["IMAP4REV1", "AUTH=PLAIN"]);
        let p = s.refresh_capabilities().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nT0 OK\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("CAPABILITY not done")
        };
        s.complete(p, Ok(t)).unwrap();
        assert!(!s.supports("COMPRESS=DEFLATE"));
        assert!(s.typed_compress().is_err(), "nothing announced it yet");

        let p = s.login("alice", "secret").unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"T1 OK [CAPABILITY IMAP4rev1 IDLE COMPRESS=DEFLATE] Logged in\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("LOGIN not done")
        };
        s.complete(p, Ok(t)).unwrap();
        // imaplib's attribute is as CPython leaves it
        assert_eq!(s.capabilities(), ["IMAP4REV1", "AUTH=PLAIN"]);
        assert_eq!(
            s.current_capabilities(),
            ["IMAP4REV1", "IDLE", "COMPRESS=DEFLATE"]
        );
        assert!(s.supports("idle"));
        assert!(s.typed_compress().is_ok());
    }

    #[test]
    fn an_untagged_capability_counts_and_a_refresh_resets() {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        let p = s.noop().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"* CAPABILITY IMAP4rev1 MOVE\r\nT0 OK\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("NOOP not done")
        };
        s.complete(p, Ok(t)).unwrap();
        assert!(s.supports("MOVE"));
        // a CAPABILITY without IMAP4rev1 is not a capability list
        let p = s.noop().unwrap().pending().unwrap();
        s.take_output();
        s.receive(b"T1 OK [CAPABILITY nonsense] hm\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("NOOP not done")
        };
        s.complete(p, Ok(t)).unwrap();
        assert!(s.supports("MOVE"));
    }
}

mod ordering {
    //! RFC 9051 section 5.5: what may be pipelined, and what waits.
    use super::super::*;
    use crate::command::{FetchAttr, SearchKey, SeqSet, StoreOp, UidSet};
    use crate::typed::SetArg;

    fn selected() -> Session {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        let p = s.typed_select("INBOX", false).unwrap();
        s.take_output().unwrap();
        s.receive(b"* 5 EXISTS\r\nT0 OK [READ-WRITE] done\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        s
    }

    fn written(s: &mut Session) -> String {
        let mut all = String::new();
        while let Some(b) = s.take_output() {
            all.push_str(&String::from_utf8_lossy(&b));
        }
        all
    }

    fn finish(s: &mut Session, p: Pending, reply: &[u8]) {
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("not done")
        };
        s.complete_typed(p, Ok(t)).unwrap();
    }

    #[test]
    fn a_sequence_number_command_waits_for_one_that_may_expunge() {
        let mut s = selected();
        let noop = s.typed_noop().unwrap();
        let fetch = s
            .typed_fetch(SetArg::Seq(&SeqSet::single(5)), &[FetchAttr::Flags])
            .unwrap();
        let uid_fetch = s
            .typed_fetch(SetArg::Uid(&UidSet::single(9)), &[FetchAttr::Flags])
            .unwrap();
        // only NOOP goes out: the FETCH waits, and the UID FETCH behind it
        assert_eq!(written(&mut s), "T1 NOOP\r\n");
        // the NOOP's EXPUNGE renumbers message 5: it is 4 now
        finish(&mut s, noop, b"* 3 EXPUNGE\r\nT1 OK done\r\n");
        assert_eq!(
            written(&mut s),
            "T2 FETCH 5 (FLAGS)\r\nT3 UID FETCH 9 (FLAGS)\r\n"
        );
        finish(&mut s, fetch, b"T2 OK\r\n");
        finish(&mut s, uid_fetch, b"T3 OK\r\n");
    }

    #[test]
    fn commands_that_cannot_expunge_pipeline_freely() {
        let mut s = selected();
        let set = SeqSet::single(1);
        let a = s
            .typed_fetch(SetArg::Seq(&set), &[FetchAttr::Flags])
            .unwrap();
        let b = s
            .typed_store(SetArg::Seq(&set), StoreOp::Add, &["\\Seen"], true)
            .unwrap();
        let c = s.typed_search(false, &SearchKey::All).unwrap();
        let d = s.typed_copy(SetArg::Seq(&set), "Archive", false).unwrap();
        // FETCH + STORE + SEARCH + COPY: none of the first three expunges
        let out = written(&mut s);
        assert_eq!(out.lines().count(), 4, "{out}");
        // and UID commands never wait: after a COPY that may expunge
        let e = s
            .typed_fetch(SetArg::Uid(&UidSet::single(3)), &[FetchAttr::Flags])
            .unwrap();
        assert!(written(&mut s).starts_with("T5 UID FETCH"));
        // but a sequence-number COPY after the COPY does (COPY + COPY)
        let f = s.typed_copy(SetArg::Seq(&set), "Archive", false).unwrap();
        assert_eq!(written(&mut s), "");
        for (p, tag) in [(a, "T1"), (b, "T2"), (c, "T3"), (d, "T4")] {
            finish(&mut s, p, format!("{tag} OK\r\n").as_bytes());
        }
        // the UID FETCH may expunge too, so the COPY still waits
        assert_eq!(written(&mut s), "");
        finish(&mut s, e, b"T5 OK\r\n");
        assert!(written(&mut s).starts_with("T6 COPY 1"));
        finish(&mut s, f, b"T6 OK\r\n");
    }
}

mod counter_runs {
    //! A run of EXISTS (or RECENT) is captured as its last response.
    use super::super::*;

    fn session(limit: usize) -> Session {
        let mut s = Session::new(
            Limits {
                max_collected_responses: limit,
                ..Limits::default()
            },
            "T",
        );
        s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        s
    }

    #[test]
    fn a_flood_of_exists_costs_one_response() {
        let mut s = session(10);
        let p = s.typed_noop().unwrap();
        s.take_output().unwrap();
        let mut input = Vec::new();
        for n in 1..=1000 {
            input.extend_from_slice(format!("* {n} EXISTS\r\n").as_bytes());
        }
        input.extend_from_slice(b"T0 OK\r\n");
        s.receive(&input);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("not done")
        };
        assert_eq!(s.capture_count, 1);
        assert_eq!(s.complete_typed(p, Ok(t)).unwrap().frames.len(), 1);
        assert_eq!((s.capture_count, s.capture_bytes), (0, 0));
    }

    #[test]
    fn other_responses_between_keep_their_order() {
        let mut s = session(100);
        let p = s.typed_noop().unwrap();
        s.take_output().unwrap();
        s.receive(b"* 5 EXISTS\r\n* 6 EXISTS\r\n* 3 EXPUNGE\r\n* 6 EXISTS\r\n* 1 RECENT\r\n* 2 RECENT\r\nT0 OK\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!("not done")
        };
        let out = s.complete_typed(p, Ok(t)).unwrap();
        let kept: Vec<Vec<u8>> = out.frames.iter().map(|b| b.to_vec()).collect();
        assert_eq!(
            kept,
            [
                &b"* 6 EXISTS\r\n"[..],
                b"* 3 EXPUNGE\r\n",
                b"* 6 EXISTS\r\n",
                b"* 2 RECENT\r\n"
            ]
        );
    }
}

mod routing {
    //! Answers of pipelined UID commands go to the command whose UIDs they
    //! carry, even when the server interleaves them.
    use super::super::*;
    use crate::command::{FetchAttr, UidSet};
    use crate::typed::SetArg;

    #[test]
    fn interleaved_fetch_answers_reach_their_own_command() {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        s.state = State::Selected;
        let sets = [UidSet::single(10), UidSet::single(20), UidSet::single(30)];
        let ps: Vec<Pending> = sets
            .iter()
            .map(|u| s.typed_fetch(SetArg::Uid(u), &[FetchAttr::Flags]).unwrap())
            .collect();
        while s.take_output().is_some() {}
        // the server answers the second and third before the first's OK,
        // and one FETCH without a UID (a flag change nobody asked for)
        s.receive(
            b"* 2 FETCH (UID 20 FLAGS ())\r\n* 1 FETCH (UID 10 FLAGS ())\r\n\
              * 3 FETCH (FLAGS (\\Seen) UID 30)\r\n* 9 FETCH (FLAGS ())\r\nT0 OK\r\nT1 OK\r\nT2 OK\r\n",
        );
        let mut got = Vec::new();
        for p in ps {
            let Poll::Done(t) = s.poll(&p).unwrap() else {
                panic!("not done")
            };
            let out = s.complete_typed(p, Ok(t)).unwrap();
            got.push(
                out.frames
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim_end().to_string())
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(
            got,
            [
                vec!["* 1 FETCH (UID 10 FLAGS ())", "* 9 FETCH (FLAGS ())"],
                vec!["* 2 FETCH (UID 20 FLAGS ())"],
                vec!["* 3 FETCH (FLAGS (\\Seen) UID 30)"],
            ]
        );
        assert_eq!((s.capture_count, s.capture_bytes), (0, 0));
    }

    #[test]
    fn search_answers_reach_the_search_in_flight() {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        assert!(s.read_greeting().unwrap());
        s.state = State::Selected;
        let fetch = s
            .typed_fetch(SetArg::Uid(&UidSet::single(10)), &[FetchAttr::Flags])
            .unwrap();
        let search = s
            .typed_search(true, &crate::command::SearchKey::All)
            .unwrap();
        while s.take_output().is_some() {}
        // the SEARCH is answered before the FETCH's tagged OK
        s.receive(b"* SEARCH 10 11\r\n* 1 FETCH (UID 10 FLAGS ())\r\nT0 OK\r\nT1 OK\r\n");
        let mut got = Vec::new();
        for p in [fetch, search] {
            let Poll::Done(t) = s.poll(&p).unwrap() else {
                panic!("not done")
            };
            let out = s.complete_typed(p, Ok(t)).unwrap();
            got.push(out.frames.len());
        }
        assert_eq!(got, [1, 1]);
    }
}

mod buffers {
    use super::super::*;
    use crate::compress::Deflate;

    /// Feeds `data` the way a driver does: read straight into the
    /// session's buffer.
    fn read(s: &mut Session, data: &[u8]) {
        let mut data = data;
        while !data.is_empty() {
            let n = s
                .read_into(|b| -> Result<usize, ()> {
                    let n = b.len().min(data.len());
                    b[..n].copy_from_slice(&data[..n]);
                    Ok(n)
                })
                .unwrap();
            data = &data[n..];
        }
    }

    fn greeted(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "T");
        read(
            &mut s,
            format!("* OK [CAPABILITY {caps}] hi\r\n").as_bytes(),
        );
        assert!(s.read_greeting().unwrap());
        s
    }

    #[test]
    fn a_grown_buffer_is_given_back_once_the_last_command_completes() {
        let mut s = greeted("IMAP4rev1");
        let p = s.typed_noop().unwrap();
        s.take_output();
        let mut wire = b"* 1 FETCH (BODY[] {600000}\r\n".to_vec();
        wire.resize(wire.len() + 600_000, b'x');
        wire.extend_from_slice(b")\r\nT0 OK done\r\n");
        read(&mut s, &wire);
        assert!(s.input_allocated() > crate::frame::KEEP_BETWEEN_COMMANDS);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        assert!(s.input_allocated() <= 64 << 10, "{}", s.input_allocated());
        s.complete_typed(p, Ok(t)).unwrap();
        // a buffer of the usual size stays for the next command
        let p = s.typed_noop().unwrap();
        s.take_output();
        read(&mut s, &[b"* 1 EXISTS\r\n".as_slice(); 300].concat());
        read(&mut s, b"T1 OK done\r\n");
        let Poll::Done(_) = s.poll(&p).unwrap() else {
            panic!()
        };
        assert!(s.input_allocated() > 0);
        assert!(s.release_buffers());
        assert_eq!(s.input_allocated(), 0);
    }

    #[test]
    fn a_pipelined_response_keeps_its_buffer() {
        let mut s = greeted("IMAP4rev1");
        let p = s.typed_noop().unwrap();
        s.take_output();
        read(&mut s, b"T0 OK done\r\n* 1 FETCH (BODY[] {5}\r\nab");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        assert!(!s.release_buffers(), "a started response stays");
        assert_eq!(s.unprocessed(), b"* 1 FETCH (BODY[] {5}\r\nab");
    }

    #[test]
    fn idle_waits_holding_no_buffer() {
        let mut s = Session::new(Limits::default(), "T");
        read(&mut s, b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n");
        assert!(s.read_greeting().unwrap());
        let t0 = std::time::Instant::now();
        s.idle_start(t0, crate::IdleConfig::default()).unwrap();
        s.take_output();
        read(&mut s, b"+ idling\r\n");
        assert!(matches!(s.idle_poll(t0), Ok(crate::IdleStep::Wait { .. })));
        assert_eq!(s.input_allocated(), 0);
        read(&mut s, b"* 4 EXISTS\r\n");
        assert!(matches!(s.idle_poll(t0), Ok(crate::IdleStep::Event(_))));
        assert!(matches!(s.idle_poll(t0), Ok(crate::IdleStep::Wait { .. })));
        assert_eq!(s.input_allocated(), 0);
    }

    #[test]
    fn compressed_input_is_read_in_place_too() {
        let mut s = greeted("IMAP4rev1 COMPRESS=DEFLATE");
        let p = s.typed_compress().unwrap();
        s.take_output();
        let mut server = Deflate::new();
        let mut packet = b"T0 OK DEFLATE active\r\n".to_vec();
        packet.extend_from_slice(&server.compress(b"* 7 EXISTS\r\n").unwrap());
        read(&mut s, &packet);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        assert!(s.is_compressed());
        let p = s.typed_noop().unwrap();
        s.take_output();
        let wire = server.compress(b"* 8 EXISTS\r\nT1 OK noop\r\n").unwrap();
        let before = s.compression().unwrap().received();
        read(&mut s, &wire);
        assert_eq!(
            s.compression().unwrap().received() - before,
            wire.len() as u64
        );
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        assert!(s.release_buffers());
        assert_eq!(s.input_allocated(), 0);
    }
}
