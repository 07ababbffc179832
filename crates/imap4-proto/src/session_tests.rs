//! Tests of the session core.

mod matching {
    use super::super::*;

    #[test]
    fn untagged_shapes() {
        let m = |s: &'static [u8]| match_untagged(&Bytes::from_static(s));
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
