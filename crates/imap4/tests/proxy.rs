//! Proxies (`Config::proxy`) in both drivers: SOCKS5 and HTTP CONNECT, with
//! and without credentials, carrying plaintext, STARTTLS and implicit-TLS
//! sessions to a real Dovecot through the test kit's forwarding proxies;
//! TLS names checked against the target; refusing, wrong-credential and
//! silent proxies.
#![cfg(feature = "tokio")]

use std::time::{Duration, Instant};

use imap4::{Config, Imap4, Proxy, TlsOptions};
use imap4_testkit::proxy::ProxyServer;
use imap4_testkit::Dovecot;

#[derive(Debug, Clone, Copy)]
enum Mode {
    Plain,
    StartTls,
    Tls,
}

const MODES: [Mode; 3] = [Mode::Plain, Mode::StartTls, Mode::Tls];

/// The kit's proxies, each with the client-side `Proxy` that reaches it.
fn proxies() -> Vec<(&'static str, ProxyServer, Proxy)> {
    let socks = ProxyServer::socks5().start().unwrap();
    let socks_auth = ProxyServer::socks5()
        .credentials("proxyuser", "proxypass")
        .start()
        .unwrap();
    let http = ProxyServer::http().start().unwrap();
    let http_auth = ProxyServer::http()
        .credentials("proxyuser", "proxypass")
        .start()
        .unwrap();
    let s = Proxy::socks5("127.0.0.1", socks.port());
    let sa =
        Proxy::socks5("127.0.0.1", socks_auth.port()).with_credentials("proxyuser", "proxypass");
    let h = Proxy::http("127.0.0.1", http.port());
    let ha = Proxy::http("127.0.0.1", http_auth.port()).with_credentials("proxyuser", "proxypass");
    vec![
        ("socks5", socks, s),
        ("socks5+auth", socks_auth, sa),
        ("http", http, h),
        ("http+auth", http_auth, ha),
    ]
}

fn config(proxy: &Proxy) -> Config {
    Config {
        proxy: Some(proxy.clone()),
        connect_timeout: Some(Duration::from_secs(10)),
        ..Config::default()
    }
}

fn tls(d: &Dovecot) -> TlsOptions {
    TlsOptions::new().ca_file(d.ca_file())
}

/// One blocking session through `proxy` to `localhost` (a name the proxy
/// resolves); returns the port it asked the proxy for.
fn blocking_session(d: &Dovecot, proxy: &Proxy, mode: Mode) -> u16 {
    let (mut m, port) = match mode {
        Mode::Plain => (
            Imap4::connect_with("localhost", d.port(), config(proxy)).unwrap(),
            d.port(),
        ),
        Mode::StartTls => (
            Imap4::connect_starttls_config("localhost", d.port(), tls(d), config(proxy)).unwrap(),
            d.port(),
        ),
        Mode::Tls => (
            Imap4::connect_ssl_config("localhost", d.tls_port(), tls(d), config(proxy)).unwrap(),
            d.tls_port(),
        ),
    };
    assert_eq!(m.ssl().is_some(), !matches!(mode, Mode::Plain), "{mode:?}");
    m.login("alice", d.password()).unwrap();
    assert_eq!(m.typed().select("INBOX").unwrap().exists, 3);
    assert_eq!(m.logout().unwrap().typ, "BYE");
    port
}

async fn tokio_session(d: &Dovecot, proxy: &Proxy, mode: Mode) -> u16 {
    use imap4::tokio::Imap4;
    let (mut m, port) = match mode {
        Mode::Plain => (
            Imap4::connect_with("localhost", d.port(), config(proxy))
                .await
                .unwrap(),
            d.port(),
        ),
        Mode::StartTls => (
            Imap4::connect_starttls_config("localhost", d.port(), tls(d), config(proxy))
                .await
                .unwrap(),
            d.port(),
        ),
        Mode::Tls => (
            Imap4::connect_ssl_config("localhost", d.tls_port(), tls(d), config(proxy))
                .await
                .unwrap(),
            d.tls_port(),
        ),
    };
    assert_eq!(m.ssl().is_some(), !matches!(mode, Mode::Plain), "{mode:?}");
    m.login("alice", d.password()).await.unwrap();
    assert_eq!(m.typed().select("INBOX").await.unwrap().exists, 3);
    assert_eq!(m.logout().await.unwrap().typ, "BYE");
    port
}

#[test]
fn every_proxy_carries_plaintext_starttls_and_tls_sessions_in_both_drivers() {
    let d = Dovecot::builder().messages("alice", 3, 7).start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, server, proxy) in proxies() {
        let mut expected = Vec::new();
        for mode in MODES {
            let port = blocking_session(&d, &proxy, mode);
            expected.push(format!("localhost:{port}"));
            let port = rt.block_on(tokio_session(&d, &proxy, mode));
            expected.push(format!("localhost:{port}"));
        }
        // The proxy was asked by name and resolved it itself.
        assert_eq!(server.requests(), expected, "{name}");
        if name.starts_with("socks5") {
            assert!(
                server.address_types().iter().all(|t| *t == "domain"),
                "{name}"
            );
        }
        eprintln!("{name}: {} sessions through the proxy", expected.len());
    }
}

#[test]
fn tls_names_are_checked_against_the_target_not_the_proxy() {
    let d = Dovecot::start().unwrap();
    // The proxy is reached as "localhost" (a name the certificate covers);
    // the target is "imap.test", which only the proxy can resolve and the
    // certificate does not cover.
    let server = ProxyServer::socks5()
        .alias("imap.test", [127, 0, 0, 1].into())
        .start()
        .unwrap();
    let proxy = Proxy::socks5("localhost", server.port());
    let e =
        Imap4::connect_ssl_config("imap.test", d.tls_port(), tls(&d), config(&proxy)).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt
        .block_on(imap4::tokio::Imap4::connect_ssl_config(
            "imap.test",
            d.tls_port(),
            tls(&d),
            config(&proxy),
        ))
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // The tunnel itself worked: plaintext to the same name is fine.
    let mut m = Imap4::connect_with("imap.test", d.port(), config(&proxy)).unwrap();
    m.logout().unwrap();
    // With the expected name given explicitly, TLS to it succeeds.
    let named = tls(&d).server_name("localhost");
    let mut m =
        Imap4::connect_ssl_config("imap.test", d.tls_port(), named, config(&proxy)).unwrap();
    m.logout().unwrap();
    assert_eq!(server.requests().len(), 4);
}

/// Both drivers' error for connecting through `proxy` to `port`.
fn both_errors(proxy: &Proxy, port: u16, timeout: Duration) -> Vec<(imap4::Error, Duration)> {
    let config = Config {
        proxy: Some(proxy.clone()),
        connect_timeout: Some(timeout),
        ..Config::default()
    };
    let start = Instant::now();
    let e = Imap4::connect_with("localhost", port, config.clone()).unwrap_err();
    let blocking = (e, start.elapsed());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let e = rt
        .block_on(imap4::tokio::Imap4::connect_with("localhost", port, config))
        .unwrap_err();
    vec![blocking, (e, start.elapsed())]
}

#[test]
fn refusing_proxies_give_a_clear_error_naming_the_proxy_and_the_reason() {
    let d = Dovecot::start().unwrap();
    let socks = ProxyServer::socks5().refuse().start().unwrap();
    let http = ProxyServer::http().refuse().start().unwrap();
    let socks_auth = ProxyServer::socks5()
        .credentials("u", "right")
        .start()
        .unwrap();
    let http_auth = ProxyServer::http()
        .credentials("u", "right")
        .start()
        .unwrap();
    let cases = [
        (
            Proxy::socks5("127.0.0.1", socks.port()),
            format!("SOCKS5 proxy 127.0.0.1:{}", socks.port()),
            "connection refused (reply code 5)",
        ),
        (
            Proxy::http("127.0.0.1", http.port()),
            format!("HTTP proxy 127.0.0.1:{}", http.port()),
            "HTTP 403 Forbidden",
        ),
        (
            Proxy::socks5("127.0.0.1", socks_auth.port()).with_credentials("u", "wrong"),
            format!("SOCKS5 proxy 127.0.0.1:{}", socks_auth.port()),
            "authentication failed",
        ),
        (
            Proxy::socks5("127.0.0.1", socks_auth.port()),
            format!("SOCKS5 proxy 127.0.0.1:{}", socks_auth.port()),
            "requires authentication",
        ),
        (
            Proxy::http("127.0.0.1", http_auth.port()).with_credentials("u", "wrong"),
            format!("HTTP proxy 127.0.0.1:{}", http_auth.port()),
            "HTTP 407 Proxy Authentication Required",
        ),
    ];
    for (proxy, name, reason) in cases {
        for (e, _) in both_errors(&proxy, d.port(), Duration::from_secs(10)) {
            let text = e.to_string();
            assert!(e.is_abort() && !e.is_timeout(), "{text}");
            assert!(text.contains(&name), "{text} (want {name})");
            assert!(text.contains(reason), "{text} (want {reason})");
            assert!(text.contains(&format!("localhost:{}", d.port())), "{text}");
            eprintln!("{text}");
        }
    }
    // A target the proxy may not reach (not loopback) is refused by it.
    let open = ProxyServer::socks5().start().unwrap();
    let proxy = Proxy::socks5("127.0.0.1", open.port());
    let e = Imap4::connect_with(
        "192.0.2.1",
        143,
        Config {
            proxy: Some(proxy),
            ..Config::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("not allowed by ruleset"), "{e}");
}

#[test]
fn a_silent_proxy_times_out_within_the_connect_timeout() {
    let socks = ProxyServer::socks5().silent().start().unwrap();
    let http = ProxyServer::http().silent().start().unwrap();
    let timeout = Duration::from_millis(300);
    for proxy in [
        Proxy::socks5("127.0.0.1", socks.port()),
        Proxy::http("127.0.0.1", http.port()),
    ] {
        for (e, took) in both_errors(&proxy, 143, timeout) {
            assert!(e.is_timeout(), "{e}");
            assert!(e.to_string().contains(&proxy.display_addr()), "{e}");
            assert!(took >= timeout, "{took:?}");
            assert!(took < Duration::from_secs(5), "{took:?}");
        }
    }
    assert_eq!(socks.connections(), 2);
    assert_eq!(http.connections(), 2);
}

#[test]
fn an_unreachable_proxy_names_itself() {
    // A port with nothing listening: bound, then closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = Proxy::http("127.0.0.1", port);
    for (e, _) in both_errors(&proxy, 143, Duration::from_secs(5)) {
        assert!(
            e.to_string()
                .contains(&format!("cannot reach HTTP proxy 127.0.0.1:{port}")),
            "{e}"
        );
    }
}
