//! SASL authentication through the typed API: every mechanism against a
//! real Dovecot (SASL-IR on and off, both drivers), the automatic login's
//! choices, and scripted servers for what Dovecot never does (a wrong SCRAM
//! signature, an OAuth error, an aborted exchange, SASL-IR refused).

mod support;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use imap4::sasl::{
    AutoLogin, CramMd5, Login, LoginMethod, Mechanism, Plain, SaslError, Scram, XOAuth2,
};
use imap4::{Config, ErrorKind, Imap4, State, TlsOptions, Transport};
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::Dovecot;

/// A TCP transport that records every byte the client sends.
struct Recorder {
    inner: TcpStream,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sent.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for Recorder {
    fn shutdown(&mut self) -> io::Result<()> {
        Transport::shutdown(&mut self.inner)
    }

    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(t)
    }
}

fn config() -> Config {
    Config {
        read_timeout: Some(Duration::from_secs(20)),
        ..Config::default()
    }
}

/// A plaintext connection whose outgoing bytes are recorded.
fn recorded(host: &str, port: u16) -> (Imap4, Arc<Mutex<Vec<u8>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let inner = TcpStream::connect((host, port)).unwrap();
    let t = Recorder {
        inner,
        sent: Arc::clone(&sent),
    };
    (Imap4::with_transport(Box::new(t), config()).unwrap(), sent)
}

fn sent_lines(sent: &Arc<Mutex<Vec<u8>>>) -> Vec<String> {
    String::from_utf8_lossy(&sent.lock().unwrap())
        .split("\r\n")
        .map(str::to_string)
        .collect()
}

/// The line carrying the AUTHENTICATE command, without its tag.
fn authenticate_line(sent: &Arc<Mutex<Vec<u8>>>) -> String {
    sent_lines(sent)
        .into_iter()
        .find_map(|l| {
            l.split_once(' ')
                .filter(|(_, rest)| rest.starts_with("AUTHENTICATE"))
                .map(|(_, rest)| rest.to_string())
        })
        .unwrap_or_default()
}

fn mechanisms(user: &str, password: &str) -> Vec<Box<dyn Mechanism>> {
    vec![
        Box::new(Plain::new(user, password)),
        Box::new(Login::new(user, password)),
        Box::new(CramMd5::new(user, password)),
        Box::new(Scram::sha1(user, password)),
        Box::new(Scram::sha256(user, password)),
    ]
}

// ===== against Dovecot ====================================================

#[test]
fn every_mechanism_logs_in_with_and_without_sasl_ir() {
    for sasl_ir in [true, false] {
        let d = Dovecot::builder()
            .sasl_ir(sasl_ir)
            .messages("alice", 2, 7)
            .start()
            .unwrap();
        for mut mech in mechanisms("alice", d.password()) {
            let name = mech.name().to_string();
            let (mut m, sent) = recorded(d.host(), d.port());
            assert_eq!(m.capabilities().iter().any(|c| c == "SASL-IR"), sasl_ir);
            assert!(m.capabilities().iter().any(|c| c == "AUTH=PLAIN"));
            let a = m
                .typed()
                .authenticate(&mut *mech)
                .unwrap_or_else(|e| panic!("{name} (SASL-IR {sasl_ir}): {e}"));
            assert_eq!(a.mechanism.as_deref(), Some(name.as_str()));
            assert!(a.capabilities_updated);
            assert_eq!(m.state(), State::Auth);
            // The capabilities are the post-login ones now.
            assert!(m.capabilities().iter().any(|c| c == "IMAP4REV1"));
            assert!(
                !m.capabilities().iter().any(|c| c.starts_with("AUTH=")),
                "{name}: stale capabilities {:?}",
                m.capabilities()
            );
            // The initial response is on the command line exactly when the
            // server offers SASL-IR and the mechanism is client-first.
            let line = authenticate_line(&sent);
            let client_first = matches!(name.as_str(), "PLAIN" | "SCRAM-SHA-1" | "SCRAM-SHA-256");
            let words = line.split(' ').count();
            assert_eq!(
                words,
                if sasl_ir && client_first { 3 } else { 2 },
                "{name}, SASL-IR {sasl_ir}: {line:?}"
            );
            assert_eq!(m.typed().select("INBOX").unwrap().exists, 2);
            m.logout().unwrap();
        }
    }
}

#[test]
fn wrong_password_is_a_typed_error_and_the_connection_stays_usable() {
    let d = Dovecot::start().unwrap();
    for mut mech in mechanisms("alice", "wrong") {
        let name = mech.name().to_string();
        let mut m = Imap4::connect_with(d.host(), d.port(), config()).unwrap();
        let e = m.typed().authenticate(&mut *mech).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Error, "{name}: {e}");
        let a = e.auth_failure().unwrap_or_else(|| panic!("{name}: {e:?}"));
        assert_eq!(a.mechanism.as_deref(), Some(name.as_str()));
        assert_eq!(a.status.as_deref(), Some("NO"));
        assert!(
            String::from_utf8_lossy(&a.text).contains("AUTHENTICATIONFAILED"),
            "{name}: {a}"
        );
        assert_eq!(e.server_status(), Some("NO"));
        assert!(
            e.to_string()
                .starts_with(&format!("AUTHENTICATE {name} failed: NO")),
            "{e}"
        );
        assert_eq!(m.state(), State::NonAuth);
        // Same connection, right password.
        let mut ok = Scram::sha256("alice", d.password());
        m.typed().authenticate(&mut ok).unwrap();
        assert_eq!(m.state(), State::Auth);
    }
    // Unknown user.
    let mut m = Imap4::connect_with(d.host(), d.port(), config()).unwrap();
    let e = m
        .typed()
        .authenticate(&mut Scram::sha1("nobody", "x"))
        .unwrap_err();
    assert_eq!(e.auth_failure().unwrap().status.as_deref(), Some("NO"));
}

#[test]
fn login_auto_picks_scram_and_never_sends_a_password_in_plaintext() {
    let d = Dovecot::start().unwrap();
    // Plaintext connection: SCRAM-SHA-256, the strongest offered.
    let (mut m, sent) = recorded(d.host(), d.port());
    assert_eq!(
        m.typed().login_auto("alice", d.password()).unwrap(),
        LoginMethod::ScramSha256
    );
    assert_eq!(m.state(), State::Auth);
    assert!(authenticate_line(&sent).starts_with("AUTHENTICATE SCRAM-SHA-256 "));
    assert!(!String::from_utf8_lossy(&sent.lock().unwrap()).contains(d.password()));

    // Over TLS (1.3, so with a channel binding): Dovecot 2.3 offers no
    // -PLUS mechanism, so SCRAM-SHA-256 saying "y" (the client could bind).
    let tls = TlsOptions::new().ca_file(d.ca_file());
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls.clone()).unwrap();
    assert_eq!(m.tls_exporter().map(|cb| cb.len()), Some(32));
    assert!(!m.capabilities().iter().any(|c| c.ends_with("-PLUS")));
    assert_eq!(
        m.typed().login_auto("alice", d.password()).unwrap(),
        LoginMethod::ScramSha256
    );
    m.logout().unwrap();

    // Only cleartext mechanisms: refused without TLS, nothing sent ...
    let d = Dovecot::builder()
        .auth_mechanisms("plain login")
        .start()
        .unwrap();
    let (mut m, sent) = recorded(d.host(), d.port());
    let e = m.typed().login_auto("alice", d.password()).unwrap_err();
    assert!(e.is_error());
    assert!(e.to_string().contains("plaintext"), "{e}");
    let all = String::from_utf8_lossy(&sent.lock().unwrap()).into_owned();
    assert!(
        !all.contains("AUTHENTICATE") && !all.contains("LOGIN "),
        "{all}"
    );
    assert_eq!(m.state(), State::NonAuth);
    // ... unless explicitly allowed,
    let danger = AutoLogin {
        danger_allow_plaintext_password: true,
        ..AutoLogin::default()
    };
    assert_eq!(
        m.typed()
            .login_auto_with("alice", d.password(), &danger)
            .unwrap(),
        LoginMethod::Plain
    );
    // ... and fine over TLS.
    let tls = TlsOptions::new().ca_file(d.ca_file());
    let mut m = Imap4::connect_starttls("localhost", d.port(), tls).unwrap();
    assert_eq!(
        m.typed().login_auto("alice", d.password()).unwrap(),
        LoginMethod::Plain
    );
    assert!(m.capabilities().iter().any(|c| c == "IDLE"));
    m.logout().unwrap();

    // Wrong password through login_auto: the typed error.
    let mut m = Imap4::connect_with(d.host(), d.port(), config()).unwrap();
    let e = m
        .typed()
        .login_auto_with("alice", "wrong", &danger)
        .unwrap_err();
    assert_eq!(
        e.auth_failure().unwrap().mechanism.as_deref(),
        Some("PLAIN")
    );
}

#[test]
fn login_auto_respects_logindisabled() {
    // Without PLAIN, Dovecot disables the LOGIN command (LOGINDISABLED),
    // even over TLS, and CRAM-MD5 is never chosen: no way to log in.
    let d = Dovecot::builder()
        .auth_mechanisms("cram-md5")
        .start()
        .unwrap();
    let tls = TlsOptions::new().ca_file(d.ca_file());
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls).unwrap();
    assert!(m.capabilities().iter().any(|c| c == "LOGINDISABLED"));
    let e = m.typed().login_auto("alice", d.password()).unwrap_err();
    assert!(e.to_string().contains("LOGINDISABLED"), "{e}");
    assert_eq!(m.state(), State::NonAuth);
    // The caller can still pick CRAM-MD5 explicitly.
    m.typed()
        .authenticate(&mut CramMd5::new("alice", d.password()))
        .unwrap();
}

#[test]
fn scripted_login_command_fallback() {
    // No mechanism at all: the LOGIN command, here allowed in plaintext.
    let fake = script(
        "IMAP4rev1",
        vec![
            Step::expect(r#"{tag} LOGIN "tim" "wrong""#),
            Step::send("{tag} NO [AUTHENTICATIONFAILED] nope\r\n"),
            Step::expect(r#"{tag} LOGIN "tim" "p\"w""#),
            Step::send("{tag} OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n"),
        ],
    );
    let mut m = connect(&fake);
    assert!(m.typed().login_auto("tim", "wrong").is_err(), "no TLS");
    let danger = AutoLogin {
        danger_allow_plaintext_password: true,
        ..AutoLogin::default()
    };
    let e = m
        .typed()
        .login_auto_with("tim", "wrong", &danger)
        .unwrap_err();
    let a = e.auth_failure().unwrap();
    assert_eq!(a.mechanism, None);
    assert_eq!(
        e.to_string(),
        "LOGIN failed: NO [AUTHENTICATIONFAILED] nope"
    );
    assert_eq!(
        m.typed().login_auto_with("tim", "p\"w", &danger).unwrap(),
        LoginMethod::LoginCommand
    );
    assert_eq!(m.state(), State::Auth);
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE"]);
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn require_tls_stops_every_mechanism() {
    let d = Dovecot::start().unwrap();
    let (mut m, sent) = {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let t = Recorder {
            inner: TcpStream::connect(d.addr()).unwrap(),
            sent: Arc::clone(&sent),
        };
        let c = Config {
            require_tls: true,
            ..config()
        };
        (Imap4::with_transport(Box::new(t), c).unwrap(), sent)
    };
    for mut mech in mechanisms("alice", d.password()) {
        assert!(m.typed().authenticate(&mut *mech).is_err());
    }
    assert!(m.typed().login_auto("alice", d.password()).is_err());
    assert!(!String::from_utf8_lossy(&sent.lock().unwrap()).contains("AUTHENTICATE"));
}

#[test]
fn id_before_and_after_login() {
    let d = Dovecot::start().unwrap();
    let mut m = Imap4::connect_with(d.host(), d.port(), config()).unwrap();
    let id = m
        .typed()
        .id(Some(&[("name", Some("imap4")), ("version", Some("0.1"))]))
        .unwrap();
    assert!(
        id.iter()
            .any(|(k, v)| k == "name" && v.as_deref() == Some("Dovecot")),
        "{id:?}"
    );
    m.typed().login_auto("alice", d.password()).unwrap();
    let id = m.typed().id(None).unwrap();
    assert!(id.iter().any(|(k, _)| k == "name"), "{id:?}");
    m.logout().unwrap();
}

// ===== scripted servers ===================================================

const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn b64(s: &str) -> String {
    B64.encode(s)
}

/// Greeting and the CAPABILITY exchange every connection starts with.
fn greeting(caps: &str) -> Vec<Step> {
    vec![
        Step::send(format!("* OK [CAPABILITY {caps}] fake\r\n")),
        Step::expect("{tag} CAPABILITY"),
        Step::send(format!("* CAPABILITY {caps}\r\n{{tag}} OK done\r\n")),
    ]
}

fn script(caps: &str, rest: Vec<Step>) -> FakeServer {
    let mut steps = greeting(caps);
    steps.extend(rest);
    FakeServer::start(steps).unwrap()
}

fn connect(fake: &FakeServer) -> Imap4 {
    Imap4::connect_with("127.0.0.1", fake.port(), config()).unwrap()
}

fn rfc7677() -> Scram {
    Scram::sha256("user", "pencil").with_nonce(NONCE)
}

#[test]
fn scripted_rfc7677_exchange_succeeds() {
    let fake = script(
        "IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256",
        vec![
            Step::expect(format!(
                "{{tag}} AUTHENTICATE SCRAM-SHA-256 {}",
                b64(&format!("n,,n=user,r={NONCE}"))
            )),
            Step::send(format!("+ {}\r\n", b64(SERVER_FIRST))),
            Step::expect(b64(CLIENT_FINAL)),
            Step::send(format!("+ {}\r\n", b64(SERVER_FINAL))),
            Step::expect(""),
            Step::send("{tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let a = m.typed().authenticate(&mut rfc7677()).unwrap();
    assert!(a.capabilities_updated);
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE"]);
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn scripted_wrong_scram_server_signature() {
    let bad = "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let exchange = |end: &str| {
        vec![
            Step::expect_prefix("{tag} AUTHENTICATE SCRAM-SHA-256 "),
            Step::send(format!("+ {}\r\n", b64(SERVER_FIRST))),
            Step::expect(b64(CLIENT_FINAL)),
            Step::send(format!("+ {}\r\n", b64(bad))),
            // The client cancels instead of acknowledging.
            Step::expect("*"),
            Step::send(format!("{{tag}} {end}\r\n")),
        ]
    };
    // An honest server ends the cancelled exchange with BAD.
    let mut steps = exchange("BAD AUTHENTICATE cancelled");
    steps.extend([
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK still here\r\n"),
    ]);
    let fake = script("IMAP4rev1 SASL-IR", steps);
    let mut m = connect(&fake);
    let e = m.typed().authenticate(&mut rfc7677()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Error);
    let a = e.auth_failure().unwrap();
    assert_eq!(a.sasl, Some(SaslError::ServerSignatureMismatch));
    assert_eq!(a.mechanism.as_deref(), Some("SCRAM-SHA-256"));
    assert!(e.to_string().contains("does not know the password"), "{e}");
    assert_eq!(m.state(), State::NonAuth);
    m.noop().unwrap();
    drop(m);
    fake.finish().unwrap();

    // An impostor that claims success anyway: an abort, connection closed.
    let mut steps = exchange("OK welcome");
    steps.push(Step::expect_eof());
    let fake = script("IMAP4rev1 SASL-IR", steps);
    let mut m = connect(&fake);
    let e = m.typed().authenticate(&mut rfc7677()).unwrap_err();
    assert!(e.is_abort(), "{e}");
    assert_eq!(
        e.auth_failure().unwrap().sasl,
        Some(SaslError::ServerSignatureMismatch)
    );
    assert_ne!(m.state(), State::Auth);
    assert!(m.typed().noop().is_err());
    fake.finish().unwrap();

    // An impostor that skips its proof.
    let fake = script(
        "IMAP4rev1 SASL-IR",
        vec![
            Step::expect_prefix("{tag} AUTHENTICATE SCRAM-SHA-256 "),
            Step::send(format!("+ {}\r\n", b64(SERVER_FIRST))),
            Step::expect(b64(CLIENT_FINAL)),
            Step::send("{tag} OK welcome\r\n"),
            Step::expect_eof(),
        ],
    );
    let mut m = connect(&fake);
    let e = m.typed().authenticate(&mut rfc7677()).unwrap_err();
    assert!(e.is_abort());
    assert_eq!(
        e.auth_failure().unwrap().sasl,
        Some(SaslError::ServerNotVerified)
    );
    fake.finish().unwrap();
}

#[test]
fn scripted_xoauth2_json_error() {
    let json = r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
    let fake = script(
        "IMAP4rev1 SASL-IR AUTH=XOAUTH2",
        vec![
            Step::expect(format!(
                "{{tag}} AUTHENTICATE XOAUTH2 {}",
                b64("user=someone@example.com\x01auth=Bearer ya29.token\x01\x01")
            )),
            Step::send(format!("+ {}\r\n", b64(json))),
            // An empty response lets the server finish.
            Step::expect(""),
            Step::send("{tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let mut x = XOAuth2::new("someone@example.com", "ya29.token");
    let e = m.typed().authenticate(&mut x).unwrap_err();
    assert!(e.is_error());
    let a = e.auth_failure().unwrap();
    assert_eq!(a.mechanism.as_deref(), Some("XOAUTH2"));
    assert_eq!(a.status.as_deref(), Some("NO"));
    let Some(SaslError::OAuth(o)) = &a.sasl else {
        panic!("{a:?}")
    };
    assert_eq!(o.status, "400");
    assert_eq!(o.scope.as_deref(), Some("https://mail.google.com/"));
    assert_eq!(o.schemes.as_deref(), Some("Bearer"));
    assert!(e.to_string().contains("400"), "{e}");
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn scripted_aborted_exchanges() {
    // The client aborts: the server's nonce does not extend ours.
    let fake = script(
        "IMAP4rev1 SASL-IR",
        vec![
            Step::expect_prefix("{tag} AUTHENTICATE SCRAM-SHA-1 "),
            Step::send(format!(
                "+ {}\r\n",
                b64("r=other,s=QSXCR+Q6sek8bf92,i=4096")
            )),
            Step::expect("*"),
            Step::send("{tag} BAD AUTHENTICATE cancelled\r\n"),
            Step::expect("{tag} NOOP"),
            Step::send("{tag} OK fine\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let mut s = Scram::sha1("user", "pencil").with_nonce("fyko+d2lbbFgONRv9qkxdawL");
    let e = m.typed().authenticate(&mut s).unwrap_err();
    let a = e.auth_failure().unwrap();
    assert_eq!(a.sasl, Some(SaslError::NonceMismatch));
    assert_eq!(a.status.as_deref(), Some("BAD"));
    m.noop().unwrap();
    drop(m);
    fake.finish().unwrap();

    // A hostile iteration count is refused before any work is done.
    let fake = script(
        "IMAP4rev1 SASL-IR",
        vec![
            Step::expect_prefix("{tag} AUTHENTICATE SCRAM-SHA-256 "),
            Step::send(format!(
                "+ {}\r\n",
                b64(&format!("r={NONCE}xyz,s=QSXCR+Q6sek8bf92,i=4000000000"))
            )),
            Step::expect("*"),
            Step::send("{tag} BAD cancelled\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let e = m.typed().authenticate(&mut rfc7677()).unwrap_err();
    assert!(matches!(
        e.auth_failure().unwrap().sasl,
        Some(SaslError::IterationCount {
            count: 4_000_000_000,
            ..
        })
    ));
    drop(m);
    fake.finish().unwrap();

    // The server aborts: it closes the connection mid-exchange.
    let fake = script(
        "IMAP4rev1 SASL-IR",
        vec![
            Step::expect_prefix("{tag} AUTHENTICATE SCRAM-SHA-256 "),
            Step::send(format!("+ {}\r\n", b64(SERVER_FIRST))),
            Step::expect(b64(CLIENT_FINAL)),
            Step::close(),
        ],
    );
    let mut m = connect(&fake);
    let e = m.typed().authenticate(&mut rfc7677()).unwrap_err();
    assert!(e.is_abort(), "{e}");
    assert!(e.auth_failure().is_none());
    assert_ne!(m.state(), State::Auth);
    fake.finish().unwrap();

    // The server refuses the exchange at once.
    let fake = script(
        "IMAP4rev1",
        vec![
            Step::expect("{tag} AUTHENTICATE SCRAM-SHA-256"),
            Step::send("{tag} NO [UNAVAILABLE] try later\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let e = m.typed().authenticate(&mut rfc7677()).unwrap_err();
    let a = e.auth_failure().unwrap();
    assert_eq!(a.status.as_deref(), Some("NO"));
    assert_eq!(&a.text[..], b"[UNAVAILABLE] try later");
    drop(m);
    fake.finish().unwrap();
}

#[test]
fn scripted_sasl_ir_refused_and_not_offered() {
    // A server that advertises SASL-IR but refuses the initial response.
    let fake = script(
        "IMAP4rev1 SASL-IR AUTH=PLAIN",
        vec![
            Step::expect(format!(
                "{{tag}} AUTHENTICATE PLAIN {}",
                b64("\0tim\0tanstaaf")
            )),
            Step::send("{tag} BAD [CLIENTBUG] Initial response not allowed\r\n"),
            Step::expect("{tag} NOOP"),
            Step::send("{tag} OK fine\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let e = m
        .typed()
        .authenticate(&mut Plain::new("tim", "tanstaaf"))
        .unwrap_err();
    assert!(e.is_error());
    let a = e.auth_failure().unwrap();
    assert_eq!(a.mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(a.status.as_deref(), Some("BAD"));
    assert_eq!(a.sasl, None);
    assert_eq!(e.server_status(), Some("BAD"));
    assert_eq!(m.state(), State::NonAuth);
    m.noop().unwrap();
    drop(m);
    fake.finish().unwrap();

    // Without SASL-IR, the initial response waits for the first challenge,
    // and an empty one is an empty line.
    let fake = script(
        "IMAP4rev1 AUTH=PLAIN",
        vec![
            Step::expect("{tag} AUTHENTICATE PLAIN"),
            Step::send("+ \r\n"),
            Step::expect(b64("\0tim\0tanstaaf")),
            Step::send("{tag} OK done\r\n"),
            Step::expect("{tag} CAPABILITY"),
            Step::send("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n"),
        ],
    );
    let mut m = connect(&fake);
    let a = m
        .typed()
        .authenticate(&mut Plain::new("tim", "tanstaaf"))
        .unwrap();
    assert!(a.capabilities_updated, "asked with CAPABILITY");
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE"]);
    drop(m);
    fake.finish().unwrap();
}

// ===== login_auto and SCRAM on every real server ==========================

/// What `login_auto` picks on each server of the kit, over implicit TLS and
/// over plaintext, in the blocking driver (`Err` holds a piece of the
/// error). Cyrus 3.6 and Mailutils 3.15 advertise SCRAM-*-PLUS but bind
/// only with tls-unique, which TLS 1.3 does not define: they refuse the
/// tls-exporter binding and login_auto falls back to SCRAM-SHA-256.
fn expected(kind: imap4_testkit::Kind, tls: bool) -> Result<LoginMethod, &'static str> {
    use imap4_testkit::Kind;
    match (kind, tls) {
        (Kind::Courier, true) => Ok(LoginMethod::Plain),
        // Courier offers only CRAM-MD5 without TLS, which login_auto
        // never picks
        (Kind::Courier, false) => Err("would send the password in plaintext"),
        _ => Ok(LoginMethod::ScramSha256),
    }
}

#[test]
fn login_auto_and_scram_on_every_server() {
    for kind in imap4_testkit::Kind::ALL {
        let s = kind.start().unwrap_or_else(|e| panic!("start {kind}: {e}"));
        let user = s.login_name("alice");
        let tls = TlsOptions::new().ca_file(s.ca_file());
        for over_tls in [true, false] {
            let mut m = if over_tls {
                Imap4::connect_ssl_with("localhost", s.tls_port(), tls.clone())
            } else {
                Imap4::connect(s.host(), s.port())
            }
            .unwrap();
            let got = m.typed().login_auto(&user, s.password());
            match (expected(kind, over_tls), got) {
                (Ok(want), Ok(got)) => {
                    assert_eq!(got, want, "{kind} tls={over_tls}");
                    assert_eq!(m.state(), State::Auth);
                    m.noop().unwrap();
                }
                (Err(want), Err(e)) => assert!(e.to_string().contains(want), "{kind}: {e}"),
                (want, got) => panic!("{kind} tls={over_tls}: want {want:?}, got {got:?}"),
            }
        }
        // Every SCRAM the server offers, by hand, with the server's
        // signature verified.
        let m = Imap4::connect(s.host(), s.port()).unwrap();
        let offered = |c: &str| m.capabilities().iter().any(|x| x == c);
        let both = [offered("AUTH=SCRAM-SHA-1"), offered("AUTH=SCRAM-SHA-256")];
        drop(m);
        for (sha256, on) in [(false, both[0]), (true, both[1])] {
            if !on {
                assert_eq!(kind, imap4_testkit::Kind::Courier, "{kind} lacks SCRAM");
                continue;
            }
            let mut m = Imap4::connect(s.host(), s.port()).unwrap();
            let mut mech = if sha256 {
                Scram::sha256(&user, s.password())
            } else {
                Scram::sha1(&user, s.password())
            };
            m.typed().authenticate(&mut mech).unwrap();
            assert!(mech.is_verified(), "{kind}: server signature");
            // the wrong password: the server's reason, typed
            let mut m = Imap4::connect(s.host(), s.port()).unwrap();
            let mut mech = if sha256 {
                Scram::sha256(&user, "wrong")
            } else {
                Scram::sha1(&user, "wrong")
            };
            let e = m.typed().authenticate(&mut mech).unwrap_err();
            let a = e.auth_failure().unwrap_or_else(|| panic!("{kind}: {e}"));
            assert!(a.refused_by_server(), "{kind}: {a:?}");
            assert_eq!(a.mechanism.as_deref(), Some(mech.name()));
        }
    }
}

/// With the binding required, the -PLUS refusal of a tls-unique-only server
/// is the error, naming the mechanism and the server's reason; in the
/// async driver too.
#[test]
fn required_channel_binding_is_not_given_up_on_cyrus() {
    let s = imap4_testkit::Kind::Cyrus.start().expect("start Cyrus");
    let strict = AutoLogin {
        require_channel_binding: true,
        ..AutoLogin::default()
    };
    let tls = TlsOptions::new().ca_file(s.ca_file());
    let mut m = Imap4::connect_ssl_with("localhost", s.tls_port(), tls.clone()).unwrap();
    let e = m
        .typed()
        .login_auto_with("alice", s.password(), &strict)
        .unwrap_err();
    let a = e.auth_failure().unwrap();
    assert_eq!(a.mechanism.as_deref(), Some("SCRAM-SHA-256-PLUS"));
    assert_eq!(a.status.as_deref(), Some("NO"));
    assert!(!a.text.is_empty());
    assert_eq!(m.state(), State::NonAuth);

    #[cfg(feature = "tokio")]
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut m = imap4::tokio::Imap4::connect_ssl_with("localhost", s.tls_port(), tls)
                .await
                .unwrap();
            assert_eq!(
                m.typed().login_auto("alice", s.password()).await.unwrap(),
                LoginMethod::ScramSha256
            );
            let mut m = imap4::tokio::Imap4::connect_ssl_with(
                "localhost",
                s.tls_port(),
                TlsOptions::new().ca_file(s.ca_file()),
            )
            .await
            .unwrap();
            let e = m
                .typed()
                .login_auto_with("alice", s.password(), &strict)
                .await
                .unwrap_err();
            assert_eq!(
                e.auth_failure().unwrap().mechanism.as_deref(),
                Some("SCRAM-SHA-256-PLUS")
            );
        });
    }
}

// ===== SCRAM-SHA-256-PLUS against a scripted TLS server =====================

/// HMAC-SHA-256.
fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// The server side of SCRAM-SHA-256-PLUS (RFC 5802 §3 computed
/// independently of the client library) on a TLS connection: checks that
/// the client bound the exchange to this TLS channel and its proof, then
/// proves it knows the password. Returns what the client's `c=` said.
fn scram_plus_server(p: &mut support::Peer, password: &str) -> Result<String, String> {
    let e = |e: io::Error| e.to_string();
    let exporter = p.tls_exporter().ok_or("no exporter")?;
    let (tag, rest) = p.command().map_err(e)?.ok_or("EOF")?;
    let ir = rest
        .strip_prefix("AUTHENTICATE SCRAM-SHA-256-PLUS ")
        .ok_or(format!("unexpected {rest:?}"))?;
    let client_first = String::from_utf8(B64.decode(ir).map_err(|e| e.to_string())?).unwrap();
    let gs2 = "p=tls-exporter,,";
    let bare = client_first
        .strip_prefix(gs2)
        .ok_or(format!("no channel binding: {client_first:?}"))?;
    let nonce = bare.split_once(",r=").ok_or("no nonce")?.1;
    let salt = b"0123456789abcdef";
    let server_first = format!("r={nonce}SeRvEr,s={},i=4096", B64.encode(salt));
    p.send(format!("+ {}\r\n", B64.encode(&server_first)))
        .map_err(e)?;
    let line = p.line().map_err(e)?.ok_or("EOF")?;
    let client_final = String::from_utf8(
        B64.decode(String::from_utf8_lossy(&line).trim_end())
            .map_err(|e| e.to_string())?,
    )
    .unwrap();
    let (without_proof, proof) = client_final.rsplit_once(",p=").ok_or("no proof")?;
    let c = without_proof
        .strip_prefix("c=")
        .and_then(|r| r.split(',').next())
        .ok_or("no c=")?
        .to_string();
    let mut input = gs2.as_bytes().to_vec();
    input.extend_from_slice(&exporter);
    if c != B64.encode(&input) {
        p.send(format!(
            "+ {}\r\n",
            B64.encode("e=channel-bindings-dont-match")
        ))
        .map_err(e)?;
        p.line().map_err(e)?;
        p.send(format!(
            "{tag} NO [AUTHENTICATIONFAILED] channel binding\r\n"
        ))
        .map_err(e)?;
        return Ok(c);
    }
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, 4096, &mut salted);
    let client_key = hmac256(&salted, b"Client Key");
    let stored_key = <sha2::Sha256 as sha2::Digest>::digest(&client_key);
    let signature = hmac256(&stored_key, auth_message.as_bytes());
    let expected: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    if B64.decode(proof).map_err(|e| e.to_string())? != expected {
        return Err("wrong client proof".into());
    }
    let server_signature = hmac256(&hmac256(&salted, b"Server Key"), auth_message.as_bytes());
    p.send(format!(
        "+ {}\r\n",
        B64.encode(format!("v={}", B64.encode(server_signature)))
    ))
    .map_err(e)?;
    let ack = p.line().map_err(e)?.ok_or("EOF")?;
    if ack != b"\r\n" {
        return Err(format!("expected an empty response, got {ack:?}"));
    }
    p.send(format!(
        "{tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"
    ))
    .map_err(e)?;
    Ok(c)
}

fn plus_server(pki: &support::Pki) -> support::Server<Result<String, String>> {
    let config = pki.server_config();
    support::serve(move |p| {
        p.start_tls(config).map_err(|e| e.to_string())?;
        p.greet(
            "* OK fake\r\n",
            "IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=PLAIN",
        )
        .map_err(|e| e.to_string())?;
        scram_plus_server(p, "pencil")
    })
}

#[test]
fn scram_sha256_plus_binds_to_the_tls_channel() {
    let pki = support::Pki::new();
    let tls = TlsOptions::new().ca_file(&pki.ca_file);

    // login_auto picks -PLUS when the server offers it over TLS 1.3.
    let server = plus_server(&pki);
    let mut m = Imap4::connect_ssl_with("localhost", server.port(), tls.clone()).unwrap();
    assert_eq!(
        m.typed().login_auto("user", "pencil").unwrap(),
        LoginMethod::ScramSha256Plus
    );
    assert_eq!(m.state(), State::Auth);
    assert_eq!(m.capabilities(), ["IMAP4REV1", "IDLE"]);
    drop(m);
    server.finish().result.unwrap();

    // The same with a mechanism built by hand from the driver's exporter.
    let server = plus_server(&pki);
    let mut m = Imap4::connect_ssl_with("localhost", server.port(), tls.clone()).unwrap();
    let cb = m.tls_exporter().unwrap();
    let mut s = Scram::sha256_plus("user", "pencil", cb);
    m.typed().authenticate(&mut s).unwrap();
    assert!(s.is_verified());
    drop(m);
    server.finish().result.unwrap();

    // Bound to another channel (a man in the middle's): the server says so.
    let server = plus_server(&pki);
    let mut m = Imap4::connect_ssl_with("localhost", server.port(), tls).unwrap();
    let mut s = Scram::sha256_plus("user", "pencil", vec![0; 32]);
    let e = m.typed().authenticate(&mut s).unwrap_err();
    let a = e.auth_failure().unwrap();
    assert_eq!(
        a.sasl,
        Some(SaslError::Scram(
            imap4::sasl::ScramServerError::ChannelBindingsDontMatch
        ))
    );
    assert_eq!(a.status.as_deref(), Some("NO"));
    drop(m);
    server.finish().result.unwrap();
}

// ===== the async driver ===================================================

#[cfg(feature = "tokio")]
mod async_driver {
    use super::*;
    use imap4::tokio::Imap4;

    async fn connect(d: &Dovecot) -> Imap4 {
        Imap4::connect_with(d.host(), d.port(), config())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn scram_sha256_plus_binds_to_the_tls_channel() {
        let pki = support::Pki::new();
        let tls = TlsOptions::new().ca_file(&pki.ca_file);
        let server = plus_server(&pki);
        let mut m = Imap4::connect_ssl_with("localhost", server.port(), tls.clone())
            .await
            .unwrap();
        assert_eq!(
            m.typed().login_auto("user", "pencil").await.unwrap(),
            LoginMethod::ScramSha256Plus
        );
        assert_eq!(m.state(), State::Auth);
        drop(m);
        server.finish().result.unwrap();

        // Bound to another channel: the server says so, typed.
        let server = plus_server(&pki);
        let mut m = Imap4::connect_ssl_with("localhost", server.port(), tls)
            .await
            .unwrap();
        let mut s = Scram::sha256_plus("user", "pencil", vec![0; 32]);
        let e = m.typed().authenticate(&mut s).await.unwrap_err();
        assert_eq!(
            e.auth_failure().unwrap().sasl,
            Some(SaslError::Scram(
                imap4::sasl::ScramServerError::ChannelBindingsDontMatch
            ))
        );
        drop(m);
        server.finish().result.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_mechanism_with_and_without_sasl_ir() {
        for sasl_ir in [true, false] {
            let d = Dovecot::builder().sasl_ir(sasl_ir).start().unwrap();
            for mut mech in mechanisms("alice", d.password()) {
                let name = mech.name().to_string();
                let mut m = connect(&d).await;
                // The future is Send: run it on another task.
                let (mut m, r) = tokio::spawn(async move {
                    let r = m.typed().authenticate(&mut *mech).await;
                    (m, r.map(|a| a.mechanism))
                })
                .await
                .unwrap();
                assert_eq!(r.unwrap().as_deref(), Some(name.as_str()));
                assert_eq!(m.state(), State::Auth);
                assert!(!m.capabilities().iter().any(|c| c.starts_with("AUTH=")));
                assert_eq!(m.capabilities().iter().any(|c| c == "SASL-IR"), sasl_ir);
                m.typed().select("INBOX").await.unwrap();
                m.logout().await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn external_with_a_client_certificate() {
        use imap4::sasl::External;
        let d = Dovecot::builder().client_cert_auth(true).start().unwrap();
        let (cert, key) = d.client_cert("alice").unwrap();
        let tls = TlsOptions::new()
            .ca_file(d.ca_file())
            .client_cert(&cert, &key);
        let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls)
            .await
            .unwrap();
        let a = m
            .typed()
            .authenticate(&mut External::new())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
        assert_eq!(a.mechanism.as_deref(), Some("EXTERNAL"));
        assert_eq!(m.state(), State::Auth);
        m.typed().select("INBOX").await.unwrap();
        m.logout().await.unwrap();

        // Without a certificate: refused by the server, typed error.
        let tls = TlsOptions::new().ca_file(d.ca_file());
        let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls)
            .await
            .unwrap();
        let e = m
            .typed()
            .authenticate(&mut External::new())
            .await
            .unwrap_err();
        let f = e.auth_failure().unwrap();
        assert_eq!(f.mechanism.as_deref(), Some("EXTERNAL"));
        assert_eq!(f.status.as_deref(), Some("NO"));
    }

    #[tokio::test]
    async fn wrong_password_and_login_auto() {
        let d = Dovecot::start().unwrap();
        for mut mech in mechanisms("alice", "wrong") {
            let name = mech.name().to_string();
            let mut m = connect(&d).await;
            let e = m.typed().authenticate(&mut *mech).await.unwrap_err();
            let a = e.auth_failure().unwrap();
            assert_eq!(a.mechanism.as_deref(), Some(name.as_str()));
            assert_eq!(a.status.as_deref(), Some("NO"));
            assert_eq!(m.state(), State::NonAuth);
        }
        let mut m = connect(&d).await;
        let method = tokio::spawn(async move {
            let r = m.typed().login_auto("alice", d.password()).await;
            drop(m);
            (r, d)
        });
        let (r, d) = method.await.unwrap();
        assert_eq!(r.unwrap(), LoginMethod::ScramSha256);

        let tls = TlsOptions::new().ca_file(d.ca_file());
        let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls)
            .await
            .unwrap();
        assert_eq!(m.tls_exporter().map(|c| c.len()), Some(32));
        assert_eq!(
            m.typed().login_auto("alice", d.password()).await.unwrap(),
            LoginMethod::ScramSha256
        );
        m.logout().await.unwrap();

        let d = Dovecot::builder().auth_mechanisms("plain").start().unwrap();
        let mut m = connect(&d).await;
        assert!(m.typed().login_auto("alice", d.password()).await.is_err());
        assert_eq!(m.state(), State::NonAuth);
    }

    #[tokio::test]
    async fn scripted_wrong_signature() {
        let bad = "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let fake = script(
            "IMAP4rev1 SASL-IR",
            vec![
                Step::expect_prefix("{tag} AUTHENTICATE SCRAM-SHA-256 "),
                Step::send(format!("+ {}\r\n", b64(SERVER_FIRST))),
                Step::expect(b64(CLIENT_FINAL)),
                Step::send(format!("+ {}\r\n", b64(bad))),
                Step::expect("*"),
                Step::send("{tag} OK welcome anyway\r\n"),
                Step::expect_eof(),
            ],
        );
        let mut m = Imap4::connect_with("127.0.0.1", fake.port(), config())
            .await
            .unwrap();
        let e = m.typed().authenticate(&mut rfc7677()).await.unwrap_err();
        assert!(e.is_abort());
        assert_eq!(
            e.auth_failure().unwrap().sasl,
            Some(SaslError::ServerSignatureMismatch)
        );
        assert_ne!(m.state(), State::Auth);
        tokio::task::spawn_blocking(move || fake.finish())
            .await
            .unwrap()
            .unwrap();
    }
}

// ===== EXTERNAL with a TLS client certificate ==============================

#[test]
fn external_with_a_client_certificate() {
    use imap4::sasl::External;
    let d = Dovecot::builder().client_cert_auth(true).start().unwrap();
    let (cert, key) = d.client_cert("alice").unwrap();
    let tls = TlsOptions::new()
        .ca_file(d.ca_file())
        .client_cert(&cert, &key);
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls.clone()).unwrap();
    assert!(
        m.capabilities().iter().any(|c| c == "AUTH=EXTERNAL"),
        "{:?}",
        m.capabilities()
    );
    let a = m
        .typed()
        .authenticate(&mut External::new())
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    assert_eq!(a.mechanism.as_deref(), Some("EXTERNAL"));
    assert_eq!(m.state(), State::Auth);
    m.typed().select("INBOX").unwrap();
    m.logout().unwrap();

    // Acting as the certificate's own identity, explicitly.
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls).unwrap();
    m.typed()
        .authenticate(&mut External::with_authzid("alice"))
        .unwrap();
    m.logout().unwrap();

    // Without a certificate: refused by the server, typed error.
    let tls = TlsOptions::new().ca_file(d.ca_file());
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls).unwrap();
    let e = m.typed().authenticate(&mut External::new()).unwrap_err();
    let f = e.auth_failure().unwrap();
    assert_eq!(f.mechanism.as_deref(), Some("EXTERNAL"));
    assert_eq!(f.status.as_deref(), Some("NO"));
    // Passwords still work on that instance.
    m.typed().login_auto("alice", d.password()).unwrap();

    // A certificate for a user the server does not know.
    let (cert, key) = d.client_cert("mallory").unwrap();
    let tls = TlsOptions::new()
        .ca_file(d.ca_file())
        .client_cert(&cert, &key);
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls).unwrap();
    assert!(m.typed().authenticate(&mut External::new()).is_err());
}
