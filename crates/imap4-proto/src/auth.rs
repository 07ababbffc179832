//! AUTHENTICATE driven by a [`Mechanism`] (RFC 3501 §6.2.2, SASL-IR RFC
//! 4959), and the typed LOGIN: the whole exchange runs in the core, and a
//! command is reported successful only when the mechanism confirmed it.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;

use crate::parse::{self, Code, Response as Parsed, Untagged};
use crate::response::Data;
use crate::sasl::{Mechanism, SaslError, Secret, Wiped};
use crate::session::{Pending, Poll, Session, SessionError, State, Tagged};
use crate::typed::{TypedKind, TypedOutcome};

/// The SASL state of the AUTHENTICATE command in flight.
#[derive(Debug)]
pub(crate) struct SaslRun {
    id: u64,
    /// `None` for the LOGIN command.
    mechanism: Option<String>,
    /// The initial response, when the server does not take it on the
    /// command line (no SASL-IR): sent in answer to the first challenge.
    initial: Option<Wiped>,
    /// Why the client side failed.
    failure: Option<SaslError>,
    /// The mechanism accepted the server's success.
    finished: bool,
}

/// Why authentication failed: which mechanism, what the server said, and
/// what the client found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthFailed {
    /// The SASL mechanism (`"SCRAM-SHA-256"`), or `None` for the LOGIN
    /// command.
    pub mechanism: Option<String>,
    /// The server's tagged status: `"NO"` or `"BAD"` when it refused,
    /// `"OK"` when it claimed success the client could not accept (the
    /// connection is then closed), `None` when nothing was sent.
    pub status: Option<String>,
    /// The server's text after the status (response code included).
    pub text: Bytes,
    /// What the mechanism found wrong (a wrong server signature, an OAuth
    /// error, …), if anything.
    pub sasl: Option<SaslError>,
}

impl AuthFailed {
    fn what(&self) -> String {
        match &self.mechanism {
            Some(m) => format!("AUTHENTICATE {m}"),
            None => "LOGIN".to_string(),
        }
    }

    /// Whether the server refused the credentials (it answered NO or BAD).
    pub fn refused_by_server(&self) -> bool {
        matches!(self.status.as_deref(), Some("NO" | "BAD"))
    }
}

impl fmt::Display for AuthFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(&self.text);
        match (&self.status, &self.sasl) {
            (Some(s), Some(e)) if s == "OK" => write!(
                f,
                "{} failed: the server reported success, but {e}; connection closed",
                self.what()
            ),
            (Some(s), Some(e)) => write!(f, "{} failed: {e} (server: {s} {text})", self.what()),
            (Some(s), None) => write!(f, "{} failed: {s} {text}", self.what()),
            (None, Some(e)) => write!(f, "{} failed: {e}", self.what()),
            (None, None) => write!(f, "{} failed", self.what()),
        }
    }
}

impl std::error::Error for AuthFailed {}

/// A successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Authenticated {
    /// The SASL mechanism, or `None` for the LOGIN command.
    pub mechanism: Option<String>,
    /// Whether the server sent its new capabilities with its OK (a
    /// `CAPABILITY` response code or untagged response), and
    /// [`Session::capabilities`] now holds them. When `false`, ask with
    /// [`Session::refresh_capabilities`]: the capabilities from before
    /// authentication are stale.
    pub capabilities_updated: bool,
}

/// A mechanism name as IMAP carries it: 1 to 20 of `A-Z 0-9 - _`.
fn valid_mechanism_name(name: &str) -> bool {
    (1..=20).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Session {
    /// Starts AUTHENTICATE with `mechanism`. With SASL-IR (RFC 4959)
    /// advertised, its initial response goes on the command line (`=` when
    /// empty). Drive it with [`Session::poll_sasl`] (never
    /// [`Session::poll`]) and finish it with [`Session::complete_sasl`].
    pub fn sasl_authenticate(
        &mut self,
        mechanism: &mut dyn Mechanism,
    ) -> Result<Pending, SessionError> {
        let name = mechanism.name().to_ascii_uppercase();
        if !valid_mechanism_name(&name) {
            return Err(SessionError::Usage(format!(
                "invalid SASL mechanism name {name:?}"
            )));
        }
        if self.is_broken() {
            return Err(SessionError::Closed("connection is broken".into()));
        }
        if self.state() != State::NonAuth {
            return Err(SessionError::IllegalState {
                command: "AUTHENTICATE".into(),
                state: self.state(),
                allowed: State::NonAuth.as_str().into(),
            });
        }
        let initial = mechanism.initial_response().map_err(|e| {
            SessionError::Auth(Box::new(AuthFailed {
                mechanism: Some(name.clone()),
                status: None,
                text: Bytes::new(),
                sasl: Some(e),
            }))
        })?;
        let initial = initial.map(Wiped);
        let inline = self.supports("SASL-IR");
        let pending = self.typed_with(
            "AUTHENTICATE",
            TypedKind::Authenticate,
            &[State::NonAuth],
            true,
            |_, c| {
                c.raw(name.as_bytes())?;
                if inline {
                    match &initial {
                        Some(ir) if ir.0.is_empty() => {
                            c.secret_raw(b"=")?;
                        }
                        Some(ir) => {
                            c.secret_raw(B64.encode(&ir.0).as_bytes())?;
                        }
                        None => {}
                    }
                }
                Ok(())
            },
        )?;
        self.sasl = Some(SaslRun {
            id: pending.id(),
            mechanism: Some(name),
            initial: if inline { None } else { initial },
            failure: None,
            finished: false,
        });
        Ok(pending)
    }

    /// LOGIN (the command) as a typed command: the password is quoted (or
    /// a literal) and never traced; finish it with
    /// [`Session::complete_sasl`], like AUTHENTICATE.
    pub fn typed_login(&mut self, user: &str, password: &Secret) -> Result<Pending, SessionError> {
        let pending = self.typed_with(
            "LOGIN",
            TypedKind::Authenticate,
            &[State::NonAuth],
            false,
            |_, c| {
                c.string(user.as_bytes())?;
                c.secret_string(password.expose().as_bytes())?;
                Ok(())
            },
        )?;
        self.sasl = Some(SaslRun {
            id: pending.id(),
            mechanism: None,
            initial: None,
            failure: None,
            finished: true,
        });
        Ok(pending)
    }

    /// [`Session::poll`] for a command started with
    /// [`Session::sasl_authenticate`]: challenges are answered by
    /// `mechanism` (never returned), a failing mechanism cancels the
    /// exchange, and the mechanism's [`Mechanism::finish`] judges the
    /// server's success before [`Poll::Done`] is returned.
    pub fn poll_sasl(
        &mut self,
        pending: &Pending,
        mechanism: &mut dyn Mechanism,
    ) -> Result<Poll, SessionError> {
        loop {
            match self.poll(pending)? {
                Poll::Challenge(challenge) => {
                    let answer = self.sasl_answer(pending.id(), mechanism, &challenge);
                    match answer {
                        Ok(a) => self.answer_challenge(pending, Some(&a.0)),
                        Err(e) => {
                            if let Some(run) = self.sasl_run(pending.id()) {
                                run.failure.get_or_insert(e);
                            }
                            self.answer_challenge(pending, None);
                        }
                    }
                }
                Poll::Done(tagged) => {
                    if let Some(run) = self.sasl_run(pending.id()) {
                        if run.failure.is_none() {
                            if tagged.0 == "OK" {
                                match mechanism.finish(None) {
                                    Ok(()) => run.finished = true,
                                    Err(e) => run.failure = Some(e),
                                }
                            } else {
                                run.failure = mechanism.server_error().cloned();
                            }
                        }
                    }
                    return Ok(Poll::Done(tagged));
                }
                Poll::NeedInput => return Ok(Poll::NeedInput),
            }
        }
    }

    fn sasl_run(&mut self, id: u64) -> Option<&mut SaslRun> {
        self.sasl.as_mut().filter(|r| r.id == id)
    }

    fn sasl_answer(
        &mut self,
        id: u64,
        mechanism: &mut dyn Mechanism,
        challenge: &[u8],
    ) -> Result<Wiped, SaslError> {
        let Some(run) = self.sasl_run(id) else {
            return Err(SaslError::UnexpectedChallenge);
        };
        if run.failure.is_some() {
            return Err(SaslError::UnexpectedChallenge);
        }
        if let Some(initial) = run.initial.take() {
            // No SASL-IR: the server's first, empty challenge asks for the
            // initial response.
            if !challenge.is_empty() {
                return Err(SaslError::UnexpectedChallenge);
            }
            return Ok(initial);
        }
        mechanism.step(challenge).map(Wiped)
    }

    /// A challenge that is not base64 was cancelled by the session.
    pub(crate) fn sasl_malformed_challenge(&mut self, id: u64) {
        if let Some(run) = self.sasl_run(id) {
            run.failure.get_or_insert(SaslError::Malformed(
                "the server's challenge is not base64".into(),
            ));
        }
    }

    /// Judges a completed AUTHENTICATE (or typed LOGIN): `Ok` only for an
    /// OK the mechanism confirmed. An OK it did not confirm breaks the
    /// connection: the server is not who it claims to be.
    pub(crate) fn sasl_verdict(
        &mut self,
        id: u64,
        typ: &str,
        data: &[Data],
    ) -> Result<(), SessionError> {
        let run = match self.sasl.take() {
            Some(r) if r.id == id => r,
            other => {
                self.sasl = other;
                SaslRun {
                    id,
                    mechanism: None,
                    initial: None,
                    failure: Some(SaslError::ServerNotVerified),
                    finished: false,
                }
            }
        };
        let text = match data.last() {
            Some(Data::Line(b)) => b.clone(),
            _ => Bytes::new(),
        };
        if typ == "OK" && run.failure.is_none() && run.finished {
            return Ok(());
        }
        let failure = AuthFailed {
            mechanism: run.mechanism,
            status: Some(typ.to_string()),
            text,
            sasl: match (typ, run.failure) {
                ("OK", None) => Some(SaslError::ServerNotVerified),
                (_, f) => f,
            },
        };
        if typ == "OK" {
            self.fail_transport(&failure.to_string());
        }
        Err(SessionError::Auth(Box::new(failure)))
    }

    /// Completes a command started with [`Session::sasl_authenticate`] or
    /// [`Session::typed_login`]: an error (a [`SessionError::Auth`] when
    /// the server refused or the mechanism failed) unless the server said
    /// OK and the mechanism confirmed it. On success the state is AUTH and
    /// the capabilities the server sent with its OK replace the old ones.
    pub fn complete_sasl(
        &mut self,
        pending: Pending,
        outcome: Result<Tagged, SessionError>,
    ) -> Result<Authenticated, SessionError> {
        let id = pending.id();
        let mechanism = self
            .sasl
            .as_ref()
            .filter(|r| r.id == id)
            .and_then(|r| r.mechanism.clone());
        let out = self.complete_typed(pending, outcome);
        if self.sasl.as_ref().is_some_and(|r| r.id == id) {
            // Ended without a verdict (a transport error).
            self.sasl = None;
        }
        let out = out?;
        self.set_state(State::Auth);
        let capabilities_updated = match capabilities_in(&out) {
            Some(line) => self.set_capabilities(&[Data::Line(line)]).is_ok(),
            None => false,
        };
        Ok(Authenticated {
            mechanism,
            capabilities_updated,
        })
    }
}

/// The capabilities in an authentication's outcome: the tagged OK's
/// `[CAPABILITY ...]` code, or else the last untagged CAPABILITY.
fn capabilities_in(out: &TypedOutcome) -> Option<Bytes> {
    let join = |caps: &[parse::Capability<'_>]| {
        let words: Vec<String> = caps.iter().map(|c| c.to_str_lossy().into_owned()).collect();
        let line = words.join(" ");
        let upper = line.to_ascii_uppercase();
        let ok = upper
            .split_whitespace()
            .any(|w| w == "IMAP4REV1" || w == "IMAP4");
        ok.then(|| Bytes::from(line))
    };
    if let Some(Code::Capability(caps)) = out.code() {
        if let Some(line) = join(&caps) {
            return Some(line);
        }
    }
    let mut found = None;
    for f in &out.frames {
        if let Ok(Parsed::Data(Untagged::Capability(caps))) = parse::parse_response(f) {
            found = join(&caps).or(found);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::{External, Plain, Scram, XOAuth2};
    use crate::{ErrorKind, Limits};

    fn greeted(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "T");
        s.receive(format!("* OK [CAPABILITY {caps}] hi\r\n").as_bytes());
        assert!(s.read_greeting().unwrap());
        let p = s.refresh_capabilities().unwrap().pending().unwrap();
        s.take_output();
        s.receive(format!("* CAPABILITY {caps}\r\nT0 OK done\r\n").as_bytes());
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete(p, Ok(t)).unwrap();
        s
    }

    /// Runs `mech` against `server` (fed in one piece), collecting the
    /// client's output.
    fn run(
        s: &mut Session,
        mech: &mut dyn Mechanism,
        server: &[&str],
    ) -> (Vec<String>, Result<Authenticated, SessionError>) {
        let p = s.sasl_authenticate(mech).unwrap();
        let mut sent = Vec::new();
        let mut lines = server.iter();
        loop {
            if let Some(out) = s.take_output() {
                sent.push(String::from_utf8_lossy(&out).trim_end().to_string());
            }
            match s.poll_sasl(&p, mech) {
                Ok(Poll::NeedInput) => match lines.next() {
                    Some(l) => s.receive(format!("{l}\r\n").as_bytes()),
                    None => panic!("client waits; sent {sent:?}"),
                },
                Ok(Poll::Done(t)) => {
                    if let Some(out) = s.take_output() {
                        sent.push(String::from_utf8_lossy(&out).trim_end().to_string());
                    }
                    return (sent, s.complete_sasl(p, Ok(t)));
                }
                Ok(Poll::Challenge(_)) => panic!("challenge returned"),
                Err(e) => return (sent, s.complete_sasl(p, Err(e))),
            }
        }
    }

    #[test]
    fn sasl_ir_puts_the_initial_response_on_the_command_line() {
        let mut s = greeted("IMAP4rev1 SASL-IR AUTH=PLAIN");
        s.set_tracing(true);
        let mut m = Plain::new("tim", "tanstaaf");
        let (sent, r) = run(
            &mut s,
            &mut m,
            &["T1 OK [CAPABILITY IMAP4rev1 IDLE MOVE] Logged in"],
        );
        assert_eq!(sent, ["T1 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZg=="]);
        let a = r.unwrap();
        assert_eq!(a.mechanism.as_deref(), Some("PLAIN"));
        assert!(a.capabilities_updated);
        assert_eq!(s.capabilities(), ["IMAP4REV1", "IDLE", "MOVE"]);
        assert_eq!(s.state(), State::Auth);
        let trace = format!("{:?}", s.drain_trace());
        assert!(
            trace.contains("T1 AUTHENTICATE PLAIN <redacted>"),
            "{trace}"
        );
        assert!(!trace.contains("AHRpbQ"), "{trace}");

        // An empty initial response is "=".
        let mut s = greeted("IMAP4rev1 SASL-IR AUTH=EXTERNAL");
        let (sent, r) = run(&mut s, &mut External::new(), &["T1 OK done"]);
        assert_eq!(sent, ["T1 AUTHENTICATE EXTERNAL ="]);
        assert!(!r.unwrap().capabilities_updated);
    }

    #[test]
    fn without_sasl_ir_the_initial_response_answers_the_first_challenge() {
        let mut s = greeted("IMAP4rev1 AUTH=PLAIN");
        let mut m = Plain::new("tim", "tanstaaf");
        let (sent, r) = run(
            &mut s,
            &mut m,
            &["+ ", "* CAPABILITY IMAP4rev1 X", "T1 OK done"],
        );
        assert_eq!(sent, ["T1 AUTHENTICATE PLAIN", "AHRpbQB0YW5zdGFhZg=="]);
        assert!(r.unwrap().capabilities_updated, "untagged CAPABILITY");
        assert_eq!(s.capabilities(), ["IMAP4REV1", "X"]);

        let mut s = greeted("IMAP4rev1");
        let (sent, r) = run(&mut s, &mut External::new(), &["+", "T1 OK done"]);
        assert_eq!(sent, ["T1 AUTHENTICATE EXTERNAL", ""]);
        r.unwrap();

        // A non-empty first challenge for a client-first mechanism.
        let mut s = greeted("IMAP4rev1");
        let (sent, r) = run(
            &mut s,
            &mut Plain::new("a", "b"),
            &["+ aGVsbG8=", "T1 BAD cancelled"],
        );
        assert_eq!(sent, ["T1 AUTHENTICATE PLAIN", "*"]);
        let e = r.unwrap_err();
        let a = e.auth_failure().unwrap();
        assert_eq!(a.sasl, Some(SaslError::UnexpectedChallenge));
        assert_eq!(s.state(), State::NonAuth);
    }

    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn scram() -> Scram {
        Scram::sha256("user", "pencil").with_nonce("rOprNGfwEbeRWgbNEkqO")
    }

    fn b64(s: &str) -> String {
        format!("+ {}", B64.encode(s))
    }

    #[test]
    fn scram_exchange_is_verified_before_success() {
        let mut s = greeted("IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256");
        let (sent, r) = run(
            &mut s,
            &mut scram(),
            &[&b64(SERVER_FIRST), &b64(SERVER_FINAL), "T1 OK done"],
        );
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert_eq!(
            sent[0],
            format!(
                "T1 AUTHENTICATE SCRAM-SHA-256 {}",
                B64.encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            )
        );
        assert_eq!(sent[2], "");
        r.unwrap();
        assert_eq!(s.state(), State::Auth);
    }

    #[test]
    fn wrong_server_signature_cancels_and_fails() {
        let mut s = greeted("IMAP4rev1 SASL-IR");
        let bad = "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let (sent, r) = run(
            &mut s,
            &mut scram(),
            &[&b64(SERVER_FIRST), &b64(bad), "T1 BAD cancelled"],
        );
        assert_eq!(sent[2], "*");
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Error);
        let a = e.auth_failure().unwrap();
        assert_eq!(a.mechanism.as_deref(), Some("SCRAM-SHA-256"));
        assert_eq!(a.status.as_deref(), Some("BAD"));
        assert_eq!(a.sasl, Some(SaslError::ServerSignatureMismatch));
        assert_eq!(e.server_reply(), Some(("BAD", &b"cancelled"[..])));
        assert!(e.to_string().contains("signature"), "{e}");
        assert_eq!(s.state(), State::NonAuth);
        assert!(!s.is_broken());

        // A server that says OK anyway is not believed, and the
        // connection is closed.
        let mut s = greeted("IMAP4rev1 SASL-IR");
        let (_, r) = run(
            &mut s,
            &mut scram(),
            &[&b64(SERVER_FIRST), &b64(bad), "T1 OK welcome"],
        );
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Abort);
        assert_eq!(
            e.auth_failure().unwrap().sasl,
            Some(SaslError::ServerSignatureMismatch)
        );
        assert!(s.is_broken());
        assert_ne!(s.state(), State::Auth);
    }

    #[test]
    fn success_without_server_final_is_refused() {
        let mut s = greeted("IMAP4rev1 SASL-IR");
        let (sent, r) = run(&mut s, &mut scram(), &[&b64(SERVER_FIRST), "T1 OK welcome"]);
        assert_eq!(sent.len(), 2);
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Abort);
        let a = e.auth_failure().unwrap();
        assert_eq!(a.status.as_deref(), Some("OK"));
        assert_eq!(a.sasl, Some(SaslError::ServerNotVerified));
        assert!(s.is_broken());
        assert!(s.noop().is_err());
    }

    #[test]
    fn server_refusal_names_the_mechanism() {
        let mut s = greeted("IMAP4rev1 SASL-IR");
        let (_, r) = run(
            &mut s,
            &mut scram(),
            &[
                &b64(SERVER_FIRST),
                "T1 NO [AUTHENTICATIONFAILED] Authentication failed.",
            ],
        );
        let e = r.unwrap_err();
        assert_eq!(
            e.to_string(),
            "AUTHENTICATE SCRAM-SHA-256 failed: NO [AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(e.auth_failure().unwrap().sasl, None);
        assert_eq!(s.state(), State::NonAuth);
    }

    #[test]
    fn xoauth2_error_json_is_answered_and_decoded() {
        let mut s = greeted("IMAP4rev1 SASL-IR AUTH=XOAUTH2");
        let json = r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
        let (sent, r) = run(
            &mut s,
            &mut XOAuth2::new("u@example.com", "tok"),
            &[
                &b64(json),
                "T1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
            ],
        );
        assert_eq!(sent[1], "", "an empty response, not a cancel");
        let e = r.unwrap_err();
        let Some(SaslError::OAuth(o)) = &e.auth_failure().unwrap().sasl else {
            panic!("{e:?}")
        };
        assert_eq!(o.status, "400");
        assert_eq!(o.scope.as_deref(), Some("https://mail.google.com/"));
    }

    #[test]
    fn challenge_that_is_not_base64_cancels() {
        let mut s = greeted("IMAP4rev1");
        let (sent, r) = run(&mut s, &mut scram(), &["+ not base64!", "T1 BAD cancelled"]);
        assert_eq!(sent, ["T1 AUTHENTICATE SCRAM-SHA-256", "*"]);
        assert!(matches!(
            r.unwrap_err().auth_failure().unwrap().sasl,
            Some(SaslError::Malformed(_))
        ));
    }

    #[test]
    fn plain_poll_and_imaplib_complete_never_confirm_an_unverified_login() {
        let mut s = greeted("IMAP4rev1 SASL-IR");
        let mut m = scram();
        let p = s.sasl_authenticate(&mut m).unwrap();
        s.take_output();
        // The driver wrongly answers nothing and uses the imaplib path.
        s.receive(b"T1 OK welcome\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let e = s.complete(p, Ok(t)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Abort);
        assert!(s.is_broken());
    }

    #[test]
    fn state_and_names_are_checked_before_sending() {
        let mut s = greeted("IMAP4rev1");
        s.set_state(State::Auth);
        assert!(matches!(
            s.sasl_authenticate(&mut Plain::new("a", "b")),
            Err(SessionError::IllegalState { .. })
        ));
        let mut s = greeted("IMAP4rev1");
        let mut bad = Scram::sha1("a", "b").with_nonce("x,y");
        let e = s.sasl_authenticate(&mut bad).unwrap_err();
        assert!(e.auth_failure().unwrap().status.is_none());
        assert!(s.take_output().is_none(), "nothing sent");
    }

    #[test]
    fn typed_login() {
        let mut s = greeted("IMAP4rev1");
        s.set_tracing(true);
        let p = s.typed_login("tim", &Secret::new("p w")).unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"T1 LOGIN \"tim\" \"p w\"\r\n"
        );
        s.receive(b"T1 NO [AUTHENTICATIONFAILED] nope\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let e = s.complete_sasl(p, Ok(t)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "LOGIN failed: NO [AUTHENTICATIONFAILED] nope"
        );
        assert!(!format!("{:?}", s.drain_trace()).contains("p w"));
        let p = s.typed_login("tim", &Secret::new("pw")).unwrap();
        s.take_output();
        s.receive(b"T2 OK [CAPABILITY IMAP4rev1 ENABLE] hi\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let a = s.complete_sasl(p, Ok(t)).unwrap();
        assert_eq!(a.mechanism, None);
        assert!(a.capabilities_updated);
        assert_eq!(s.state(), State::Auth);
    }

    #[test]
    fn id_command() {
        let mut s = greeted("IMAP4rev1 ID");
        let p = s
            .typed_id(Some(&[("name", Some("imap4")), ("os", None)]))
            .unwrap();
        assert_eq!(
            &s.take_output().unwrap()[..],
            b"T1 ID (\"name\" \"imap4\" \"os\" NIL)\r\n"
        );
        s.receive(b"* ID (\"name\" \"Dovecot\" \"support-url\" NIL)\r\nT1 OK done\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let out = s.complete_typed(p, Ok(t)).unwrap();
        assert_eq!(
            out.server_id(),
            [
                ("name".to_string(), Some("Dovecot".to_string())),
                ("support-url".to_string(), None)
            ]
        );
        let p = s.typed_id(None).unwrap();
        assert_eq!(&s.take_output().unwrap()[..], b"T2 ID NIL\r\n");
        s.receive(b"* ID NIL\r\nT2 OK done\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        assert!(s.complete_typed(p, Ok(t)).unwrap().server_id().is_empty());
        let mut s = greeted("IMAP4rev1");
        assert!(s.typed_id(None).is_err());
        assert!(s.take_output().is_none());
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        fn server_line() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..80).prop_map(|b| {
                    let mut l = b"+ ".to_vec();
                    l.extend_from_slice(B64.encode(b).as_bytes());
                    l
                }),
                "r=rOprNGfwEbeRWgbNEkqO[a-z]{0,4},s=QSXCR\\+Q6sek8bf92,i=[0-9]{1,2}"
                    .prop_map(|c| format!("+ {}", B64.encode(c)).into_bytes()),
                "v=[A-Za-z0-9+/]{0,44}={0,2}"
                    .prop_map(|c| format!("+ {}", B64.encode(c)).into_bytes()),
                proptest::collection::vec(any::<u8>(), 0..40),
                Just(b"+ ".to_vec()),
                Just(b"* OK noise".to_vec()),
            ]
        }

        proptest! {
            /// Whatever the server sends, nothing panics, and a SCRAM login
            /// succeeds only if the server proved it knows the password.
            #[test]
            fn no_unverified_scram_success(
                lines in proptest::collection::vec(server_line(), 0..6),
                end in prop_oneof![Just("OK"), Just("NO"), Just("BAD")],
                sasl_ir in any::<bool>(),
            ) {
                let mut s = greeted(if sasl_ir { "IMAP4rev1 SASL-IR" } else { "IMAP4rev1" });
                let mut m = scram().with_iteration_limits(1, 99);
                let Ok(p) = s.sasl_authenticate(&mut m) else { return Ok(()) };
                for l in &lines {
                    s.receive(l);
                    s.receive(b"\r\n");
                }
                s.receive(format!("T1 {end} done\r\n").as_bytes());
                s.take_output();
                let outcome = match s.poll_sasl(&p, &mut m) {
                    Ok(Poll::Done(t)) => Ok(t),
                    Ok(Poll::NeedInput) => Err(s.receive_eof()),
                    Ok(Poll::Challenge(_)) => panic!("challenge returned"),
                    Err(e) => Err(e),
                };
                if s.complete_sasl(p, outcome).is_ok() {
                    prop_assert!(m.is_verified());
                    prop_assert_eq!(s.state(), State::Auth);
                } else {
                    prop_assert_ne!(s.state(), State::Auth);
                }
            }
        }
    }
}
