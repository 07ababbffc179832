//! The exact text a user sees for the common failures, in both drivers:
//! each case produces the error, prints its `Display` (run with
//! `--nocapture` to see the list) and checks what matters in it: the kind,
//! the host and port, the mailbox, command and state, the server's reason,
//! and for timeouts what timed out and after how long.

use std::time::Duration;

use imap4::typed::{FetchAttr, SeqSet};
use imap4::{Config, Detail, Error, ErrorKind, Imap4, ResponseCode, TlsOptions};
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::Dovecot;

/// Short enough to keep the tests fast, long enough for a loaded machine
/// to connect to a local server.
const TIMEOUT: Duration = Duration::from_millis(1500);
const UNKNOWN_HOST: &str = "no-such-host.invalid";

fn cfg() -> Config {
    Config {
        connect_timeout: Some(TIMEOUT),
        ..Config::default()
    }
}

fn ca(d: &Dovecot) -> TlsOptions {
    TlsOptions::new().ca_file(d.ca_file()).only_given_roots()
}

/// One driver's results: every case is printed, and every miss recorded,
/// so that one run shows the whole list.
struct Report {
    driver: &'static str,
    misses: Vec<String>,
}

impl Report {
    fn new(driver: &'static str) -> Report {
        Report {
            driver,
            misses: Vec::new(),
        }
    }

    fn miss(&mut self, case: &str, what: String) {
        self.misses
            .push(format!("[{}] {case}: {what}", self.driver));
    }

    /// Prints the case and its text, checks the kind and that every one
    /// of `needles` is in the text, and (`typed`) that no Python repr
    /// leaked into it.
    fn check(&mut self, case: &str, err: &Error, kind: ErrorKind, needles: &[&str], typed: bool) {
        let text = err.to_string();
        println!("[{}] {case}: {:?}: {text}", self.driver, err.kind());
        if err.kind() != kind {
            self.miss(case, format!("kind {:?}, not {kind:?}: {text}", err.kind()));
        }
        for n in needles {
            if !text.contains(n) {
                self.miss(case, format!("{n:?} not in {text:?}"));
            }
        }
        if typed && (text.contains("b'") || text.contains("b\"")) {
            self.miss(
                case,
                format!("a Python repr in the typed API's text: {text:?}"),
            );
        }
    }

    fn finish(self) {
        assert!(self.misses.is_empty(), "\n{}", self.misses.join("\n"));
    }
}

/// What the nine cases need: a Dovecot, a port nobody listens on, and
/// a server that accepts and never greets.
struct World {
    d: Dovecot,
    closed_port: u16,
}

impl World {
    fn new() -> World {
        World {
            d: Dovecot::start().expect("start dovecot"),
            closed_port: imap4_testkit::free_port(),
        }
    }
}

fn silent_server() -> FakeServer {
    FakeServer::start(vec![Step::hang()]).expect("fake server")
}

// ----- the expectations, shared by both drivers ------------------------------

fn wrong_password_login(r: &mut Report, err: &Error) {
    // imaplib's own message (`raise self.error(dat[-1])`): the server's
    // reason, as Python shows bytes; transcripts.rs pins it.
    r.check(
        "1a wrong password (LOGIN)",
        err,
        ErrorKind::Error,
        &["[AUTHENTICATIONFAILED] Authentication failed."],
        false,
    );
    assert_eq!(err.server_status(), Some("NO"));
    match err.detail() {
        Detail::Refused {
            status: "NO",
            code: Some(ResponseCode::AuthenticationFailed),
            ..
        } => {}
        d => r.miss("1a", format!("detail {d:?}")),
    }
    if err.response_code() != Some(ResponseCode::AuthenticationFailed) {
        r.miss("1a", format!("response_code {:?}", err.response_code()));
    }
}

fn wrong_password_auto(r: &mut Report, err: &Error) {
    r.check(
        "1b wrong password (login_auto)",
        err,
        ErrorKind::Error,
        &["SCRAM-SHA-256", "NO", "AUTHENTICATIONFAILED"],
        true,
    );
    if err.auth_failure().is_none() {
        r.miss("1b", "no auth_failure()".into());
    }
    if !matches!(err.detail(), Detail::Auth(a) if a.mechanism.as_deref() == Some("SCRAM-SHA-256")) {
        r.miss("1b", format!("detail {:?}", err.detail()));
    }
}

fn unknown_host(r: &mut Report, err: &Error) {
    r.check(
        "2 unknown host",
        err,
        ErrorKind::Abort,
        &[&format!("{UNKNOWN_HOST}:143")],
        false,
    );
    if !matches!(err.detail(), Detail::Io(_)) {
        r.miss("2", format!("detail {:?}", err.detail()));
    }
}

fn closed_port(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "3 closed port",
        err,
        ErrorKind::Abort,
        &[&format!("127.0.0.1:{port}"), "refused"],
        false,
    );
    if !matches!(err.detail(), Detail::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused) {
        r.miss("3", format!("detail {:?}", err.detail()));
    }
}

fn tls_to_plaintext(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "4 TLS to a plaintext port",
        err,
        ErrorKind::Abort,
        &[
            &format!("127.0.0.1:{port}"),
            "did not answer with TLS",
            "STARTTLS",
        ],
        false,
    );
    if !matches!(err.detail(), Detail::Tls(_)) {
        r.miss("4", format!("detail {:?}", err.detail()));
    }
}

fn plaintext_to_tls(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "5 plaintext to a TLS port",
        err,
        ErrorKind::Abort,
        &[&format!("127.0.0.1:{port}"), "TLS port", "connect_ssl"],
        false,
    );
    if !matches!(err.detail(), Detail::Timeout) {
        r.miss("5", format!("detail {:?}", err.detail()));
    }
}

/// A TLS server that answers a plaintext client's silence with an alert
/// (as some do when their handshake times out), and one that just closes.
fn tls_alert_server() -> FakeServer {
    FakeServer::start(vec![
        Step::send(b"\x15\x03\x03\x00\x02\x02\x28"),
        Step::close(),
    ])
    .expect("fake server")
}

fn closing_server() -> FakeServer {
    FakeServer::start(vec![Step::close()]).expect("fake server")
}

fn tls_alert(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "5b plaintext to a TLS port that sends an alert",
        err,
        ErrorKind::Abort,
        &[
            &format!("127.0.0.1:{port} did not greet with IMAP"),
            "TLS port",
            "connect_ssl",
        ],
        false,
    );
}

fn closed_without_greeting(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "5c a server that closes without a greeting",
        err,
        ErrorKind::Abort,
        &[
            &format!("127.0.0.1:{port} closed the connection"),
            "connect_ssl",
        ],
        false,
    );
}

fn wrong_name(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "6 wrong certificate name",
        err,
        ErrorKind::Abort,
        &[&format!("127.0.0.1:{port}"), "wrong.example", "localhost"],
        false,
    );
    if !matches!(
        err.detail(),
        Detail::Tls(rustls::Error::InvalidCertificate(_))
    ) {
        r.miss("6", format!("detail {:?}", err.detail()));
    }
}

/// imaplib's `select` does not raise on NO: it returns it.
fn missing_mailbox_imaplib(r: &mut Report, res: Result<imap4::Response, Error>) {
    const CASE: &str = "7a missing mailbox (imaplib returns NO)";
    match res {
        Ok(resp) => {
            println!("[{}] {CASE}: {} {:?}", r.driver, resp.typ, resp.data);
            let text = format!("{:?}", resp.data);
            if resp.typ != "NO" || !text.contains("doesn't exist: NoSuchBox") {
                r.miss(CASE, format!("{} {text}", resp.typ));
            }
        }
        Err(e) => r.miss(CASE, format!("raised {e}")),
    }
}

fn missing_mailbox(r: &mut Report, err: &Error) {
    const CASE: &str = "7b missing mailbox (typed)";
    r.check(
        CASE,
        err,
        ErrorKind::Error,
        &["SELECT \"NoSuchBox\" failed: NO", "doesn't exist"],
        true,
    );
    if err.server_status() != Some("NO") {
        r.miss(
            CASE,
            format!("server_status() is {:?}", err.server_status()),
        );
    }
    if !matches!(err.detail(), Detail::Refused { status: "NO", .. }) {
        r.miss(CASE, format!("detail {:?}", err.detail()));
    }
}

fn wrong_state(r: &mut Report, err: &Error, typed: bool) {
    let case = if typed {
        "8b FETCH before SELECT (typed)"
    } else {
        "8a FETCH before SELECT"
    };
    r.check(
        case,
        err,
        ErrorKind::Error,
        &["FETCH", "AUTH", "SELECTED"],
        typed,
    );
    if !matches!(
        err.detail(),
        Detail::IllegalState {
            command: "FETCH",
            state: imap4::State::Auth
        }
    ) {
        r.miss(case, format!("detail {:?}", err.detail()));
    }
}

fn silent(r: &mut Report, err: &Error, port: u16) {
    r.check(
        "9 a silent server",
        err,
        ErrorKind::Abort,
        &[
            &format!("127.0.0.1:{port}"),
            "greeting",
            "timed out",
            &format!("{TIMEOUT:?}"),
            "Config::connect_timeout",
        ],
        false,
    );
    if !err.is_timeout() {
        r.miss("9", "not is_timeout()".into());
    }
    if !matches!(err.detail(), Detail::Timeout) {
        r.miss("9", format!("detail {:?}", err.detail()));
    }
}

// ----- the blocking driver -----------------------------------------------------

#[test]
fn blocking() {
    let mut report = Report::new("blocking");
    let r = &mut report;
    let w = World::new();
    let d = &w.d;

    let mut m = Imap4::connect_with(d.host(), d.port(), cfg()).expect("connect");
    wrong_password_login(r, &m.login("alice", "wrong").expect_err("wrong password"));
    drop(m);
    let mut m = Imap4::connect_ssl_config(d.host(), d.tls_port(), ca(d), cfg()).expect("connect");
    let err = m
        .typed()
        .login_auto("alice", "wrong")
        .expect_err("wrong password");
    wrong_password_auto(r, &err);
    drop(m);

    unknown_host(
        r,
        &Imap4::connect_with(UNKNOWN_HOST, 143, cfg()).expect_err("unknown host"),
    );
    closed_port(
        r,
        &Imap4::connect_with("127.0.0.1", w.closed_port, cfg()).expect_err("closed port"),
        w.closed_port,
    );
    tls_to_plaintext(
        r,
        &Imap4::connect_ssl_config(d.host(), d.port(), ca(d), cfg()).expect_err("TLS to plain"),
        d.port(),
    );
    plaintext_to_tls(
        r,
        &Imap4::connect_with(d.host(), d.tls_port(), cfg()).expect_err("plain to TLS"),
        d.tls_port(),
    );
    let s = tls_alert_server();
    let err = Imap4::connect_with("127.0.0.1", s.port(), cfg()).expect_err("TLS alert");
    tls_alert(r, &err, s.port());
    let s = closing_server();
    let err = Imap4::connect_with("127.0.0.1", s.port(), cfg()).expect_err("EOF");
    closed_without_greeting(r, &err, s.port());
    let tls = ca(d).server_name("wrong.example");
    wrong_name(
        r,
        &Imap4::connect_ssl_config(d.host(), d.tls_port(), tls, cfg()).expect_err("wrong name"),
        d.tls_port(),
    );

    let mut m = Imap4::connect_with(d.host(), d.port(), cfg()).expect("connect");
    m.login("alice", d.password()).expect("login");
    missing_mailbox_imaplib(r, m.select("NoSuchBox", false));
    let err = m.typed().select("NoSuchBox").expect_err("missing mailbox");
    missing_mailbox(r, &err);
    let err = m.fetch("1", "(FLAGS)").expect_err("FETCH in AUTH");
    wrong_state(r, &err, false);
    let err = m
        .typed()
        .fetch(&SeqSet::all(), &[FetchAttr::Flags])
        .expect_err("FETCH in AUTH");
    wrong_state(r, &err, true);
    m.logout().expect("logout");

    let s = silent_server();
    let err = Imap4::connect_with("127.0.0.1", s.port(), cfg()).expect_err("no greeting");
    silent(r, &err, s.port());
    report.finish();
}

// ----- the async driver --------------------------------------------------------

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio() {
    use imap4::tokio::Imap4;
    let mut report = Report::new("tokio");
    let r = &mut report;
    let w = World::new();
    let d = &w.d;

    let mut m = Imap4::connect_with(d.host(), d.port(), cfg())
        .await
        .expect("connect");
    let err = m.login("alice", "wrong").await.expect_err("wrong password");
    wrong_password_login(r, &err);
    drop(m);
    let mut m = Imap4::connect_ssl_config(d.host(), d.tls_port(), ca(d), cfg())
        .await
        .expect("connect");
    let err = m
        .typed()
        .login_auto("alice", "wrong")
        .await
        .expect_err("wrong password");
    wrong_password_auto(r, &err);
    drop(m);

    let err = Imap4::connect_with(UNKNOWN_HOST, 143, cfg())
        .await
        .expect_err("unknown host");
    unknown_host(r, &err);
    let err = Imap4::connect_with("127.0.0.1", w.closed_port, cfg())
        .await
        .expect_err("closed port");
    closed_port(r, &err, w.closed_port);
    let err = Imap4::connect_ssl_config(d.host(), d.port(), ca(d), cfg())
        .await
        .expect_err("TLS to plain");
    tls_to_plaintext(r, &err, d.port());
    let err = Imap4::connect_with(d.host(), d.tls_port(), cfg())
        .await
        .expect_err("plain to TLS");
    plaintext_to_tls(r, &err, d.tls_port());
    let s = tls_alert_server();
    let err = Imap4::connect_with("127.0.0.1", s.port(), cfg())
        .await
        .expect_err("TLS alert");
    tls_alert(r, &err, s.port());
    let s = closing_server();
    let err = Imap4::connect_with("127.0.0.1", s.port(), cfg())
        .await
        .expect_err("EOF");
    closed_without_greeting(r, &err, s.port());
    let tls = ca(d).server_name("wrong.example");
    let err = Imap4::connect_ssl_config(d.host(), d.tls_port(), tls, cfg())
        .await
        .expect_err("wrong name");
    wrong_name(r, &err, d.tls_port());

    let mut m = Imap4::connect_with(d.host(), d.port(), cfg())
        .await
        .expect("connect");
    m.login("alice", d.password()).await.expect("login");
    missing_mailbox_imaplib(r, m.select("NoSuchBox", false).await);
    let err = m
        .typed()
        .select("NoSuchBox")
        .await
        .expect_err("missing mailbox");
    missing_mailbox(r, &err);
    let err = m.fetch("1", "(FLAGS)").await.expect_err("FETCH in AUTH");
    wrong_state(r, &err, false);
    let err = m
        .typed()
        .fetch(&SeqSet::all(), &[FetchAttr::Flags])
        .await
        .expect_err("FETCH in AUTH");
    wrong_state(r, &err, true);
    m.logout().await.expect("logout");

    let s = silent_server();
    let err = Imap4::connect_with("127.0.0.1", s.port(), cfg())
        .await
        .expect_err("no greeting");
    silent(r, &err, s.port());
    report.finish();
}
