//! Implicit TLS and STARTTLS against a real Dovecot (the test kit's), and
//! certificate cases Dovecot cannot easily play (expired, not yet valid,
//! client certificates) against a small rustls server in a thread.

mod support;

use std::time::Duration;

use imap4::{Config, Data, Imap4, State, TlsOptions};
use imap4_testkit::Dovecot;
use support::{
    assert_no_credentials, contains, flat, serve, server_config, server_config_client_auth, Ca,
    Peer, Pki, TempDir, Validity, CLIENT_TIMEOUT,
};

const SEED: u64 = 42;
const MESSAGES: usize = 3;

fn dovecot() -> Dovecot {
    Dovecot::builder()
        .messages("alice", MESSAGES, SEED)
        .start()
        .expect("start dovecot")
}

/// Default settings plus a failsafe read timeout.
fn config() -> Config {
    Config {
        read_timeout: Some(CLIENT_TIMEOUT),
        ..Config::default()
    }
}

fn has_cap(m: &Imap4, cap: &str) -> bool {
    m.capabilities().iter().any(|c| c == cap)
}

/// LOGIN, SELECT INBOX, FETCH the first message's Message-ID, LOGOUT.
fn use_mailbox(m: &mut Imap4) {
    let r = m.login("alice", "secret").expect("login");
    assert_eq!(r.typ, "OK");
    assert_eq!(m.state(), State::Auth);
    let r = m.select("INBOX", false).expect("select");
    assert_eq!(r.typ, "OK");
    assert_eq!(r.data, vec![Data::Line(MESSAGES.to_string().into())]);
    let r = m
        .uid("FETCH", &["1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"])
        .expect("fetch");
    let id = imap4_testkit::message_id(SEED, 0);
    assert!(
        contains(&flat(&r.data), id.as_bytes()),
        "{id} not in {:?}",
        r.data
    );
    let r = m.logout().expect("logout");
    assert_eq!(r.typ, "BYE");
    assert_eq!(m.state(), State::Logout);
}

// ----- implicit TLS against Dovecot ---------------------------------------------

#[test]
fn implicit_tls_verified_with_the_kit_ca() {
    let d = dovecot();
    for host in ["127.0.0.1", "localhost"] {
        let tls = TlsOptions::new().ca_file(d.ca_file());
        let mut m = Imap4::connect_ssl_config(host, d.tls_port(), tls, config())
            .unwrap_or_else(|e| panic!("connect_ssl to {host}: {e}"));
        let session = m.ssl().expect("ssl() is Some over implicit TLS");
        assert!(!session.is_handshaking());
        assert!(session.protocol_version().is_some());
        assert!(session.negotiated_cipher_suite().is_some());
        let sock = m.socket().expect("socket() is Some over TLS on TCP");
        assert_eq!(sock.peer_addr().unwrap(), d.tls_addr());
        assert!(m.welcome().starts_with(b"* OK"), "{:?}", m.welcome());
        assert_eq!(m.state(), State::NonAuth);
        assert!(has_cap(&m, "IMAP4REV1"), "{:?}", m.capabilities());
        // Dovecot offers STARTTLS only on plaintext connections: these
        // capabilities were read over TLS.
        assert!(!has_cap(&m, "STARTTLS"), "{:?}", m.capabilities());
        use_mailbox(&mut m);
    }
    // The convenience constructor without Config.
    let tls = TlsOptions::new().ca_file(d.ca_file()).only_given_roots();
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls).expect("connect_ssl_with");
    assert!(m.ssl().is_some() && m.socket().is_some());
    use_mailbox(&mut m);
}

#[test]
fn implicit_tls_by_ip_with_server_name() {
    let d = dovecot();
    // Verify as "localhost" while connecting to 127.0.0.1.
    let tls = TlsOptions::new()
        .ca_file(d.ca_file())
        .server_name("localhost");
    let mut m = Imap4::connect_ssl_config(d.host(), d.tls_port(), tls, config()).expect("connect");
    assert!(m.ssl().is_some());
    use_mailbox(&mut m);
}

#[test]
fn implicit_tls_refused_when_the_ca_is_not_trusted() {
    let d = dovecot();
    // Default options: the platform's roots (or webpki-roots), not the kit's CA.
    let err = Imap4::connect_ssl_config(d.host(), d.tls_port(), TlsOptions::new(), config())
        .expect_err("untrusted CA must be refused");
    assert!(err.is_abort(), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    let err = Imap4::connect_ssl(d.host(), d.tls_port()).expect_err("connect_ssl defaults");
    assert!(err.to_string().contains("certificate"), "{err}");
    // Another CA only.
    let pki = Pki::new();
    let tls = TlsOptions::new().ca_file(&pki.ca_file).only_given_roots();
    let err = Imap4::connect_ssl_config(d.host(), d.tls_port(), tls, config())
        .expect_err("wrong CA must be refused");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn implicit_tls_refused_when_the_name_does_not_match() {
    let d = dovecot();
    let tls = TlsOptions::new()
        .ca_file(d.ca_file())
        .server_name("wrong.example");
    let err = Imap4::connect_ssl_config(d.host(), d.tls_port(), tls, config())
        .expect_err("name mismatch must be refused");
    assert!(err.is_abort(), "{err:?}");
    assert!(err.to_string().contains("wrong.example"), "{err}");
}

#[test]
fn danger_accept_invalid_certs_connects_to_an_untrusted_server() {
    let d = dovecot();
    let tls = TlsOptions::new()
        .danger_accept_invalid_certs()
        .server_name("wrong.example");
    let mut m = Imap4::connect_ssl_config(d.host(), d.tls_port(), tls, config()).expect("connect");
    assert!(m.ssl().is_some());
    use_mailbox(&mut m);
}

#[test]
fn bad_tls_files_are_an_error_at_connect() {
    let d = dovecot();
    let pki = Pki::new();
    let dir = TempDir::new("badfiles");
    let client = pki.ca.client_cert("alice");
    let (cert, key) = client.write(&dir, "client");
    let other = pki.ca.client_cert("other");
    let (_, other_key) = other.write(&dir, "other");
    let missing = dir.join("missing.pem");
    let garbage = dir.write("garbage.pem", "this is not PEM at all\n");
    let empty = dir.write("empty.pem", "");
    let broken = dir.write(
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
    );
    let cases: Vec<(&str, TlsOptions, Option<&std::path::Path>)> = vec![
        (
            "missing ca_file",
            TlsOptions::new().ca_file(&missing),
            Some(&missing),
        ),
        (
            "ca_file without certificates",
            TlsOptions::new().ca_file(&garbage),
            Some(&garbage),
        ),
        (
            "empty ca_file",
            TlsOptions::new().ca_file(&empty),
            Some(&empty),
        ),
        (
            "corrupt PEM in ca_file",
            TlsOptions::new().ca_file(&broken),
            Some(&broken),
        ),
        (
            "ca_file holding a private key",
            TlsOptions::new().ca_file(&key),
            Some(&key),
        ),
        (
            "missing client certificate",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .client_cert(&missing, &key),
            Some(&missing),
        ),
        (
            "missing client key",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .client_cert(&cert, &missing),
            Some(&missing),
        ),
        (
            "client key file without a key",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .client_cert(&cert, &cert),
            Some(&cert),
        ),
        (
            "client cert file without a certificate",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .client_cert(&key, &key),
            Some(&key),
        ),
        (
            "client key not matching the certificate",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .client_cert(&cert, &other_key),
            None,
        ),
        (
            "invalid server name",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .server_name("not a host name!"),
            None,
        ),
    ];
    for (what, tls, path) in cases {
        let err = Imap4::connect_ssl_config(d.host(), d.tls_port(), tls.clone(), config())
            .expect_err(what);
        if let Some(path) = path {
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{what}: {err}"
            );
        }
        // STARTTLS reports the same problem (and never sends credentials).
        let err =
            Imap4::connect_starttls_config(d.host(), d.port(), tls, config()).expect_err(what);
        if let Some(path) = path {
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{what} (STARTTLS): {err}"
            );
        }
    }
}

// ----- certificate cases against a rustls server ---------------------------------

/// Implicit TLS server: handshake, greet, answer CAPABILITY and LOGOUT.
/// Returns the handshake outcome and the client certificates presented.
fn tls_imap_script(
    config: std::sync::Arc<rustls::ServerConfig>,
) -> impl FnOnce(&mut Peer) -> Result<Option<Vec<rustls::pki_types::CertificateDer<'static>>>, String>
       + Send
       + 'static {
    move |p: &mut Peer| {
        p.start_tls(config).map_err(|e| e.to_string())?;
        let certs = p.client_certificates();
        p.greet("* OK [CAPABILITY IMAP4rev1] hi\r\n", "IMAP4rev1 AUTH=PLAIN")
            .map_err(|e| e.to_string())?;
        let tag = p.expect("LOGOUT").map_err(|e| e.to_string())?;
        p.send(format!("* BYE bye\r\n{tag} OK LOGOUT completed\r\n"))
            .map_err(|e| e.to_string())?;
        Ok(certs)
    }
}

#[test]
fn expired_and_not_yet_valid_certificates_are_refused() {
    let pki = Pki::new();
    let trust = || TlsOptions::new().ca_file(&pki.ca_file).only_given_roots();

    // Control: a valid certificate from the same CA connects.
    let server = serve(tls_imap_script(pki.server_config()));
    let mut m =
        Imap4::connect_ssl_config("localhost", server.port(), trust(), config()).expect("valid");
    assert!(m.ssl().is_some());
    assert_eq!(m.logout().expect("logout").typ, "BYE");
    drop(m);
    assert!(server.finish().result.is_ok());

    for (what, validity, word) in [
        ("expired", Validity::EXPIRED, "expired"),
        ("not yet valid", Validity::NOT_YET_VALID, "not valid yet"),
    ] {
        let leaf = pki.ca.server_cert(&["localhost", "127.0.0.1"], validity);
        let server = serve(tls_imap_script(server_config(&leaf, &pki.ca)));
        let err = Imap4::connect_ssl_config("localhost", server.port(), trust(), config())
            .expect_err(what);
        assert!(err.is_abort(), "{what}: {err:?}");
        assert!(err.to_string().contains(word), "{what}: {err}");
        let served = server.finish();
        assert!(served.result.is_err(), "{what}: server handshake succeeded");

        // Accepted only when verification is switched off.
        let server = serve(tls_imap_script(server_config(&leaf, &pki.ca)));
        let mut m = Imap4::connect_ssl_config(
            "localhost",
            server.port(),
            TlsOptions::new().danger_accept_invalid_certs(),
            config(),
        )
        .expect("danger_accept_invalid_certs");
        assert!(m.ssl().is_some());
        m.logout().expect("logout");
        drop(m);
        assert!(server.finish().result.is_ok());
    }
}

#[test]
fn a_client_certificate_is_presented() {
    let pki = Pki::new();
    let client_ca = Ca::new("client CA");
    let dir = TempDir::new("clientcert");
    let client = client_ca.client_cert("alice");
    let (cert, key) = client.write(&dir, "alice");
    let require = || server_config_client_auth(&pki.server, &pki.ca, &client_ca);
    let trust = || TlsOptions::new().ca_file(&pki.ca_file).only_given_roots();

    let server = serve(tls_imap_script(require()));
    let mut m = Imap4::connect_ssl_config(
        "localhost",
        server.port(),
        trust().client_cert(&cert, &key),
        config(),
    )
    .expect("connect with client certificate");
    assert!(m.ssl().is_some());
    assert_eq!(m.logout().expect("logout").typ, "BYE");
    drop(m);
    let presented = server
        .finish()
        .result
        .expect("server handshake")
        .expect("client certificates");
    assert_eq!(presented.first(), Some(&client.cert_der));

    // Without a certificate the server refuses the handshake.
    let server = serve(tls_imap_script(require()));
    let err = Imap4::connect_ssl_config("localhost", server.port(), trust(), config())
        .expect_err("no client certificate");
    assert!(err.is_abort(), "{err:?}");
    let served = server.finish();
    assert!(
        served.result.is_err(),
        "server accepted a missing certificate"
    );

    // A certificate from a CA the server does not trust is refused too.
    let stranger = Ca::new("stranger CA").client_cert("mallory");
    let (scert, skey) = stranger.write(&dir, "mallory");
    let server = serve(tls_imap_script(require()));
    let err = Imap4::connect_ssl_config(
        "localhost",
        server.port(),
        trust().client_cert(&scert, &skey),
        config(),
    )
    .expect_err("untrusted client certificate");
    assert!(err.is_abort(), "{err:?}");
    assert!(server.finish().result.is_err());

    // STARTTLS presents the certificate as well.
    let config_tls = require();
    let server = serve(move |p: &mut Peer| -> Result<_, String> {
        let e = |e: std::io::Error| e.to_string();
        p.greet("* OK hi\r\n", "IMAP4rev1 STARTTLS LOGINDISABLED")
            .map_err(e)?;
        let tag = p.expect("STARTTLS").map_err(e)?;
        p.send(format!("{tag} OK Begin TLS negotiation now\r\n"))
            .map_err(e)?;
        p.start_tls(config_tls).map_err(e)?;
        let certs = p.client_certificates();
        let tag = p.expect("CAPABILITY").map_err(e)?;
        p.send(format!(
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"
        ))
        .map_err(e)?;
        let tag = p.expect("LOGOUT").map_err(e)?;
        p.send(format!("* BYE bye\r\n{tag} OK done\r\n"))
            .map_err(e)?;
        Ok(certs)
    });
    let mut m = Imap4::connect_starttls_config(
        "localhost",
        server.port(),
        trust().client_cert(&cert, &key),
        config(),
    )
    .expect("STARTTLS with client certificate");
    assert!(m.ssl().is_some());
    m.logout().expect("logout");
    drop(m);
    let served = server.finish();
    let presented = served
        .result
        .expect("server side")
        .expect("client certificates");
    assert_eq!(presented.first(), Some(&client.cert_der));
    assert_no_credentials(&served.plain);
}

// ----- STARTTLS against Dovecot ----------------------------------------------------

#[test]
fn starttls_then_login() {
    let d = dovecot();
    let mut m = Imap4::connect_with(d.host(), d.port(), config()).expect("connect");
    assert!(m.ssl().is_none());
    assert!(m.socket().is_some());
    assert!(has_cap(&m, "STARTTLS"), "{:?}", m.capabilities());
    let before = m.capabilities().to_vec();

    let r = m
        .starttls(TlsOptions::new().ca_file(d.ca_file()))
        .expect("starttls");
    assert_eq!(r.typ, "OK");
    assert!(m.ssl().is_some());
    assert_eq!(m.socket().unwrap().peer_addr().unwrap(), d.addr());
    // Capabilities were asked again, over TLS: Dovecot no longer offers
    // STARTTLS there.
    assert!(!has_cap(&m, "STARTTLS"), "{:?}", m.capabilities());
    assert!(has_cap(&m, "IMAP4REV1"), "{:?}", m.capabilities());
    assert_ne!(m.capabilities(), &before[..]);
    assert_eq!(m.protocol_version(), "IMAP4REV1");

    // Twice: imaplib's abort, and nothing is sent.
    let err = m
        .starttls(TlsOptions::new().ca_file(d.ca_file()))
        .expect_err("second STARTTLS");
    assert!(err.is_abort(), "{err:?}");
    assert_eq!(err.to_string(), "TLS session already established");
    use_mailbox(&mut m);
}

#[test]
fn connect_starttls_works_and_refuses_bad_certificates() {
    let d = dovecot();
    let mut m = Imap4::connect_starttls(d.host(), d.port(), TlsOptions::new().ca_file(d.ca_file()))
        .expect("connect_starttls");
    assert!(m.ssl().is_some());
    assert!(!has_cap(&m, "STARTTLS"), "{:?}", m.capabilities());
    use_mailbox(&mut m);

    for (what, tls) in [
        ("untrusted CA", TlsOptions::new()),
        (
            "wrong name",
            TlsOptions::new()
                .ca_file(d.ca_file())
                .server_name("wrong.example"),
        ),
    ] {
        let err = Imap4::connect_starttls_config(d.host(), d.port(), tls.clone(), config())
            .expect_err(what);
        assert!(err.is_abort(), "{what}: {err:?}");
        // starttls() on a plain connection: the same refusal, and the
        // connection is unusable afterwards.
        let mut m = Imap4::connect_with(d.host(), d.port(), config()).expect("connect");
        let err = m.starttls(tls).expect_err(what);
        assert!(err.is_abort(), "{what}: {err:?}");
        assert!(m.ssl().is_none());
        let err = m
            .login("alice", "secret")
            .expect_err("login after failed TLS");
        assert!(err.is_abort(), "{what}: {err:?}");
        let err = m.noop().expect_err("noop after failed TLS");
        assert!(err.is_abort(), "{what}: {err:?}");
    }
}

#[test]
fn starttls_on_an_implicit_tls_connection_is_an_abort() {
    let d = dovecot();
    let mut m = Imap4::connect_ssl_config(
        d.host(),
        d.tls_port(),
        TlsOptions::new().ca_file(d.ca_file()),
        config(),
    )
    .expect("connect");
    let err = m
        .starttls(TlsOptions::new().ca_file(d.ca_file()))
        .expect_err("STARTTLS over TLS");
    assert!(err.is_abort(), "{err:?}");
    assert_eq!(err.to_string(), "TLS session already established");
    // Nothing was sent: the connection still works.
    assert_eq!(m.noop().expect("noop").typ, "OK");
    m.logout().expect("logout");
}

#[test]
fn require_tls_over_implicit_tls_allows_login() {
    let d = dovecot();
    let cfg = Config {
        require_tls: true,
        read_timeout: Some(Duration::from_secs(20)),
        ..Config::default()
    };
    let mut m = Imap4::connect_ssl_config(
        d.host(),
        d.tls_port(),
        TlsOptions::new().ca_file(d.ca_file()),
        cfg,
    )
    .expect("connect");
    use_mailbox(&mut m);
}

// ----- known bugs (ignored: run with --ignored to reproduce) ---------------------------

#[test]

fn bug_starttls_with_bad_tls_options_reports_error_on_a_dead_connection() {
    let d = dovecot();
    let mut m = Imap4::connect_with(d.host(), d.port(), config()).expect("connect");
    // The options are checked only after STARTTLS was sent and accepted,
    // when the plaintext connection is already given up.
    let err = m
        .starttls(TlsOptions::new().ca_file("/nonexistent/ca.pem"))
        .expect_err("missing ca_file");
    let usable = m.noop().is_ok();
    assert!(
        err.is_abort() || usable,
        "{err:?} says the connection is usable (Error, not Abort), but it is not"
    );
}
