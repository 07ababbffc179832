//! UNAUTHENTICATE (RFC 8437) and REPLACE (RFC 8508).

use bytes::Bytes;

use crate::command::flag_list;
use crate::parse::Code;
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{TypedKind, TypedOutcome};

impl Session {
    /// `UNAUTHENTICATE` (RFC 8437): back to the not-authenticated state
    /// on the same connection, to log in again (as another user, say).
    /// On OK the session forgets what the login brought: the selected
    /// mailbox and its state, ENABLEd extensions (UTF-8 mode too). The
    /// capabilities are those of the OK's `[CAPABILITY …]` code when it
    /// has one ([`TypedOutcome::capabilities_announced`]); without it
    /// they are stale until a CAPABILITY command (the drivers send one).
    /// An error, nothing sent, without the UNAUTHENTICATE capability or
    /// when not logged in.
    ///
    /// ```
    /// use imap4_proto::{Limits, Poll, Session, State};
    ///
    /// let mut s = Session::new(Limits::default(), "A");
    /// s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 UNAUTHENTICATE] hi\r\n");
    /// s.read_greeting().unwrap();
    /// let p = s.typed_unauthenticate().unwrap();
    /// assert_eq!(&s.take_output().unwrap()[..], b"A0 UNAUTHENTICATE\r\n");
    /// s.receive(b"A0 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] not authenticated\r\n");
    /// let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
    /// let out = s.complete_typed(p, Ok(t)).unwrap();
    /// assert!(out.capabilities_announced());
    /// assert_eq!(s.state(), State::NonAuth);
    /// assert!(s.supports("AUTH=PLAIN"));
    /// ```
    pub fn typed_unauthenticate(&mut self) -> Result<Pending, SessionError> {
        if !self.supports("UNAUTHENTICATE") {
            return Err(SessionError::Usage(
                "the server does not offer UNAUTHENTICATE (nothing sent)".into(),
            ));
        }
        self.typed(
            "UNAUTHENTICATE",
            TypedKind::Unauthenticate,
            &[State::Auth, State::Selected],
            |_, _| Ok(()),
        )
    }

    /// After UNAUTHENTICATE's OK: everything the login brought is gone.
    pub(crate) fn reset_to_nonauth(&mut self) {
        self.set_state(State::NonAuth);
        self.set_readonly(false);
        self.clear_utf8();
        self.live.enabled.clear();
        self.reset_mailbox(false);
        self.clear_untagged();
    }

    /// `UID REPLACE uid mailbox [(flags)] [date] literal` (RFC 8508):
    /// appends `message` to `mailbox` and expunges message `uid` of the
    /// selected mailbox, atomically (editing a draft). An error, nothing
    /// sent, without the REPLACE capability, with an INTERNALDATE that is
    /// not one, or a message above the server's APPENDLIMIT. The new
    /// message's UID (UIDPLUS): [`TypedOutcome::uid_mapping`].
    ///
    /// ```
    /// use imap4_proto::{Limits, Poll, Session};
    ///
    /// let mut s = Session::new(Limits::default(), "A");
    /// s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 REPLACE] hi\r\n");
    /// s.read_greeting().unwrap();
    /// let p = s.typed_select("Drafts", false).unwrap();
    /// s.take_output();
    /// s.receive(b"* 2 EXISTS\r\nA0 OK [READ-WRITE] done\r\n");
    /// let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
    /// s.complete_typed(p, Ok(t)).unwrap();
    ///
    /// let msg = bytes::Bytes::from_static(b"Subject: v2\r\n\r\nhi\r\n");
    /// let _p = s.typed_uid_replace(7, "Drafts", &["\\Draft"], None, msg).unwrap();
    /// // the message follows once the server says `+`
    /// assert_eq!(
    ///     &s.take_output().unwrap()[..],
    ///     &b"A1 UID REPLACE 7 \"Drafts\" (\\Draft) {19}\r\n"[..]
    /// );
    /// ```
    pub fn typed_uid_replace(
        &mut self,
        uid: u32,
        mailbox: &str,
        flags: &[&str],
        internal_date: Option<&str>,
        message: Bytes,
    ) -> Result<Pending, SessionError> {
        if !self.supports("REPLACE") {
            return Err(SessionError::Usage(
                "the server does not offer REPLACE (nothing sent)".into(),
            ));
        }
        if uid == 0 {
            return Err(SessionError::Usage(
                "UID 0 names no message (nothing sent)".into(),
            ));
        }
        self.check_append_limit(message.len())?;
        if let Some(d) = internal_date {
            Self::check_internal_date(d)?;
        }
        self.typed(
            "UID REPLACE",
            TypedKind::Plain,
            &[State::Selected],
            |s, c| {
                c.raw(uid.to_string().as_bytes())?;
                s.mailbox_arg(c, mailbox)?;
                if !flags.is_empty() {
                    flag_list(c, flags)?;
                }
                if let Some(d) = internal_date {
                    c.string(d.as_bytes())?;
                }
                c.literal(message)?;
                Ok(())
            },
        )
    }
}

impl TypedOutcome {
    /// Whether the tagged response carried `[CAPABILITY …]` (after
    /// UNAUTHENTICATE: the capabilities of the new, unauthenticated
    /// state; without it, ask with CAPABILITY).
    pub fn capabilities_announced(&self) -> bool {
        matches!(self.code(), Some(Code::Capability(_)))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Event, Limits, Poll, Session, State};

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(format!("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN {caps}] hi\r\n").as_bytes());
        s.read_greeting().unwrap();
        s
    }

    fn login(s: &mut Session, reply: &[u8]) {
        let p = s.typed_login("alice", &"pw".into()).unwrap();
        let _ = s.take_output();
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_sasl(p, Ok(t)).unwrap();
    }

    fn run(s: &mut Session, p: crate::Pending, reply: &[u8]) -> crate::typed::TypedOutcome {
        let _ = s.take_output();
        s.receive(reply);
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap()
    }

    #[test]
    fn unauthenticate_resets_the_session() {
        let mut s = session("UNAUTHENTICATE ENABLE UTF8=ACCEPT");
        assert!(s.typed_unauthenticate().is_err(), "not logged in yet");
        assert!(s.take_output().is_none());
        login(
            &mut s,
            b"A0 OK [CAPABILITY IMAP4rev1 UNAUTHENTICATE ENABLE UTF8=ACCEPT QRESYNC] in\r\n",
        );
        assert!(s.supports("QRESYNC"));
        let p = s.typed_enable(&["UTF8=ACCEPT"]).unwrap();
        run(&mut s, p, b"* ENABLED UTF8=ACCEPT\r\nA1 OK done\r\n");
        assert!(s.utf8_enabled());
        let p = s.typed_select("INBOX", false).unwrap();
        run(
            &mut s,
            p,
            b"* 4 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\nA2 OK [READ-WRITE] done\r\n",
        );
        assert_eq!(s.mailbox_state().unwrap().exists, 4);

        let p = s.typed_unauthenticate().unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"A3 UNAUTHENTICATE\r\n");
        let t = run(
            &mut s,
            p,
            b"A3 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN UNAUTHENTICATE] bye for now\r\n",
        );
        assert!(t.capabilities_announced());
        assert_eq!(s.state(), State::NonAuth);
        assert!(!s.utf8_enabled());
        assert!(!s.is_enabled("UTF8=ACCEPT"));
        assert!(s.mailbox_state().is_none());
        // the OK's capabilities replace the login's
        assert!(!s.supports("QRESYNC"));
        assert!(s.supports("AUTH=PLAIN"));
        // commands of the authenticated state are refused before sending
        assert!(s.typed_select("INBOX", false).is_err());
        assert!(s.take_output().is_none());
        // and one can log in again
        login(&mut s, b"A4 OK in\r\n");
        assert_eq!(s.state(), State::Auth);
        assert_eq!(s.take_event(), None::<Event>);
    }

    #[test]
    fn unauthenticate_refused_without_the_capability_and_no_reset_on_no() {
        let mut s = session("");
        login(&mut s, b"A0 OK in\r\n");
        let e = s.typed_unauthenticate().unwrap_err();
        assert!(e.to_string().contains("UNAUTHENTICATE"), "{e}");
        assert!(s.take_output().is_none());

        let mut s = session("UNAUTHENTICATE");
        login(&mut s, b"A0 OK in\r\n");
        let p = s.typed_unauthenticate().unwrap();
        let _ = s.take_output();
        s.receive(b"A1 NO not now\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        assert!(s.complete_typed(p, Ok(t)).is_err());
        assert_eq!(s.state(), State::Auth);
    }

    #[test]
    fn replace_encodes_and_is_refused_without_the_capability() {
        use bytes::Bytes;
        let mut s = session("UIDPLUS");
        login(&mut s, b"A0 OK in\r\n");
        let p = s.typed_select("Drafts", false).unwrap();
        run(&mut s, p, b"* 2 EXISTS\r\nA1 OK [READ-WRITE] done\r\n");
        let msg = Bytes::from_static(b"Subject: x\r\n\r\nbody\r\n");
        let e = s
            .typed_uid_replace(3, "Drafts", &[], None, msg.clone())
            .unwrap_err();
        assert!(e.to_string().contains("REPLACE"), "{e}");
        assert!(s.take_output().is_none());

        let mut s = session("REPLACE UIDPLUS");
        login(&mut s, b"A0 OK in\r\n");
        // not selected: refused
        assert!(s
            .typed_uid_replace(3, "Drafts", &[], None, msg.clone())
            .is_err());
        let p = s.typed_select("Drafts", false).unwrap();
        run(&mut s, p, b"* 2 EXISTS\r\nA1 OK [READ-WRITE] done\r\n");
        assert!(s
            .typed_uid_replace(0, "Drafts", &[], None, msg.clone())
            .is_err());
        assert!(s
            .typed_uid_replace(3, "Drafts", &[], Some("yesterday"), msg.clone())
            .is_err());
        assert!(s.take_output().is_none());
        let p = s
            .typed_uid_replace(
                3,
                "Drafts",
                &["\\Draft", "$Edited"],
                Some("01-Feb-2024 10:00:00 +0000"),
                msg,
            )
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&s.take_output().unwrap()).unwrap(),
            "A2 UID REPLACE 3 \"Drafts\" (\\Draft $Edited) \"01-Feb-2024 10:00:00 +0000\" {20}\r\n"
        );
        s.receive(b"+ go\r\n");
        let _ = s.poll(&p).unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"Subject: x\r\n\r\nbody\r\n\r\n"
        );
        s.receive(
            b"* OK [APPENDUID 9 4] replacement\r\n* 2 EXPUNGE\r\n* 2 EXISTS\r\nA2 OK done\r\n",
        );
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let t = s.complete_typed(p, Ok(t)).unwrap();
        let m = t.uid_mapping().unwrap();
        assert_eq!((m.uid_validity, m.destination.to_string()), (9, "4".into()));
        assert_eq!(s.mailbox_state().unwrap().exists, 2);
    }
}
