//! Read, write and connect timeouts: each ends in an Abort with
//! `is_timeout()`, the connection is unusable afterwards (no half-read
//! response is reused, nothing more is sent), and stream children are
//! killed.
//!
//! Servers that "never answer" are listeners that never accept, or script
//! threads blocked on a read of the client (which only ends when the client
//! closes) or on a channel the test signals: no sleeps.

mod support;

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use imap4::{Config, Error, Imap4, TlsOptions};
use support::{
    children, flat, is_none, process_exists, read_pid, serve, shell_quote, Peer, Pki, TempDir,
};

const TIMEOUT: Duration = Duration::from_millis(300);
/// Far more than any timeout here: a slower failure means the timeout did
/// not work.
const TOO_LONG: Duration = Duration::from_secs(10);

fn cfg() -> Config {
    Config {
        read_timeout: Some(TIMEOUT),
        write_timeout: Some(TIMEOUT),
        connect_timeout: Some(TIMEOUT),
        ..Config::default()
    }
}

fn assert_timeout(what: &str, err: &Error, started: Instant) {
    assert!(err.is_abort(), "{what}: {err:?}");
    assert!(err.is_timeout(), "{what}: not a timeout: {err:?}");
    assert!(err.to_string().contains("timed out"), "{what}: {err}");
    let took = started.elapsed();
    // Socket timeouts can fire a tick early; never much earlier.
    assert!(
        took >= TIMEOUT - Duration::from_millis(50),
        "{what}: after {took:?}"
    );
    assert!(took < TOO_LONG, "{what}: after {took:?}");
}

/// The command names (second word) of every line in `bytes`.
fn commands(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_server_that_never_greets() {
    // Connections complete in the kernel's backlog; nobody ever accepts.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();

    let t = Instant::now();
    let err = Imap4::connect_with("127.0.0.1", port, cfg()).expect_err("no greeting");
    assert_timeout("plain", &err, t);

    let t = Instant::now();
    let err = Imap4::connect_starttls_config("127.0.0.1", port, TlsOptions::new(), cfg())
        .expect_err("no greeting");
    assert_timeout("connect_starttls", &err, t);

    // Implicit TLS: the handshake itself waits for the ServerHello.
    let t = Instant::now();
    let err = Imap4::connect_ssl_config("127.0.0.1", port, TlsOptions::new(), cfg())
        .expect_err("no ServerHello");
    assert_timeout("implicit TLS handshake", &err, t);
    drop(listener);
}

/// Greets, opens a mailbox with one message, then answers FETCH with
/// `partial` and goes silent until the client closes. Returns nothing;
/// the transcript tells what the client sent.
fn stalling_server(partial: &'static str) -> impl FnOnce(&mut Peer) -> std::io::Result<()> + Send {
    move |p: &mut Peer| {
        p.greet("* PREAUTH hi\r\n", "IMAP4rev1 AUTH=PLAIN")?;
        let tag = p.expect("SELECT")?;
        p.send(format!(
            "* 1 EXISTS\r\n* FLAGS (\\Seen)\r\n{tag} OK [READ-WRITE] done\r\n"
        ))?;
        let tag = p.expect("FETCH")?;
        p.send(partial.replace("{tag}", &tag))?;
        Ok(())
    }
}

#[test]
fn a_server_that_stops_mid_response() {
    for (what, partial) in [
        ("in a literal", "* 1 FETCH (BODY[] {100}\r\n0123456789"),
        ("in the line announcing a literal", "* 1 FETCH (BODY[] {10"),
        (
            "after a complete literal",
            "* 1 FETCH (BODY[] {10}\r\n0123456789",
        ),
        (
            "in the tagged reply",
            "* 1 FETCH (FLAGS (\\Seen))\r\n{tag} OK FET",
        ),
        ("before any answer", ""),
    ] {
        let server = serve(stalling_server(partial));
        let mut m = Imap4::connect_with("127.0.0.1", server.port(), cfg()).expect("connect");
        m.select("INBOX", false).expect("select");
        let t = Instant::now();
        let err = m.fetch("1", "(BODY[])").expect_err(what);
        assert_timeout(what, &err, t);
        assert!(err.to_string().contains("FETCH"), "{what}: {err}");
        // Nothing of the half-read response is handed out later...
        for code in ["FETCH", "EXISTS"] {
            let r = m.response(code);
            assert!(
                is_none(&r.data) || !flat(&r.data).windows(4).any(|w| w == b"0123"),
                "{what}: {code}: {:?}",
                r.data
            );
        }
        // ...and the connection is dead: the next command fails at once,
        // without sending anything.
        let t = Instant::now();
        let err = m.noop().expect_err("after a timeout");
        assert!(err.is_abort(), "{what}: {err:?}");
        assert!(t.elapsed() < TIMEOUT, "{what}: the next command waited");
        m.fetch("1", "(BODY[])").expect_err("after a timeout");
        drop(m);
        let served = server.finish();
        served.result.expect("server script");
        assert_eq!(
            commands(&served.plain),
            ["CAPABILITY", "SELECT", "FETCH"],
            "{what}"
        );
    }
}

#[test]
fn a_tls_server_that_stops_in_a_literal() {
    let pki = Pki::new();
    let config = pki.server_config();
    let server = serve(move |p: &mut Peer| -> std::io::Result<()> {
        p.start_tls(config)?;
        stalling_server("* 1 FETCH (BODY[] {100}\r\n0123456789")(p)
    });
    let mut m = Imap4::connect_ssl_config(
        "localhost",
        server.port(),
        TlsOptions::new().ca_file(&pki.ca_file).only_given_roots(),
        cfg(),
    )
    .expect("connect");
    m.select("INBOX", false).expect("select");
    let t = Instant::now();
    let err = m.fetch("1", "(BODY[])").expect_err("stalled");
    assert_timeout("TLS", &err, t);
    m.noop().expect_err("after a timeout");
    drop(m);
    let served = server.finish();
    served.result.expect("server script");
    assert_eq!(commands(&served.secure), ["CAPABILITY", "SELECT", "FETCH"]);
}

#[test]
fn a_server_silent_after_the_starttls_ok() {
    let pki = Pki::new();
    let server = serve(|p: &mut Peer| -> std::io::Result<()> {
        p.greet("* OK hi\r\n", "IMAP4rev1 STARTTLS")?;
        let tag = p.expect("STARTTLS")?;
        p.send(format!("{tag} OK Begin TLS negotiation now\r\n"))?;
        // Never answer the ClientHello (drain() reads until the client
        // closes).
        Ok(())
    });
    let t = Instant::now();
    let err = Imap4::connect_starttls_config(
        "127.0.0.1",
        server.port(),
        TlsOptions::new().ca_file(&pki.ca_file),
        cfg(),
    )
    .expect_err("no ServerHello");
    assert_timeout("STARTTLS handshake", &err, t);
    let served = server.finish();
    served.result.expect("server script");
}

#[test]
fn a_server_that_stops_reading() {
    // APPEND of a message far larger than both sides' socket buffers to a
    // server that sends the continuation and then never reads again.
    let (release, wait) = mpsc::channel::<()>();
    let server = serve(move |p: &mut Peer| -> std::io::Result<()> {
        p.greet("* PREAUTH hi\r\n", "IMAP4rev1 AUTH=PLAIN")?;
        let tag = p.expect("APPEND")?;
        p.send("+ go ahead\r\n")?;
        let _ = wait.recv();
        let _ = tag;
        Ok(())
    });
    let mut m = Imap4::connect_with("127.0.0.1", server.port(), cfg()).expect("connect");
    let line = format!("{}\r\n", "x".repeat(76));
    let message = line.repeat((64 << 20) / line.len());
    let t = Instant::now();
    let err = m
        .append("INBOX", None, None, message.as_bytes())
        .expect_err("write must time out");
    assert_timeout("write", &err, t);
    m.noop().expect_err("after a timeout");
    release.send(()).expect("release the server");
    drop(m);
    let served = server.finish();
    served.result.expect("server script");
    assert!(!served.plain.ends_with(b"NOOP\r\n"));
}

#[test]
fn connect_timeout_with_a_full_backlog() {
    // Fill the listener's accept queue (nobody accepts): Linux then drops
    // further SYNs, so a connect hangs until its timeout. Fullness is
    // detected, not assumed: connects complete in microseconds on loopback
    // until the queue is full, and the first one that does not within a
    // whole second marks it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let full = loop {
        if held.len() > 5000 {
            break false;
        }
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break true,
            Err(e) => panic!("connect: {e}"),
        }
    };
    if !full {
        eprintln!(
            "SKIPPED connect_timeout_with_a_full_backlog: the backlog did not fill \
             after {} connections on this system",
            held.len()
        );
        return;
    }
    let port = addr.port();
    let t = Instant::now();
    let err = Imap4::connect_with("127.0.0.1", port, cfg()).expect_err("connect timeout");
    assert_timeout("connect_with", &err, t);
    let t = Instant::now();
    let err = Imap4::connect_ssl_config("127.0.0.1", port, TlsOptions::new(), cfg())
        .expect_err("connect timeout");
    assert_timeout("connect_ssl_config", &err, t);
    let t = Instant::now();
    let err = Imap4::connect_starttls_config("127.0.0.1", port, TlsOptions::new(), cfg())
        .expect_err("connect timeout");
    assert_timeout("connect_starttls_config", &err, t);
    drop(held);
    drop(listener);
}

#[test]
fn a_stream_command_that_never_greets() {
    let dir = TempDir::new("timeouts-stream");
    let pidfile = dir.join("child.pid");
    let pid_q = shell_quote(&pidfile.to_string_lossy());

    // Silent from the start.
    let t = Instant::now();
    let err = Imap4::connect_stream_with(&format!("echo $$ > {pid_q}; exec sleep 30"), cfg())
        .expect_err("no greeting");
    assert_timeout("stream", &err, t);
    if let Some(pid) = read_pid(&pidfile) {
        assert!(!process_exists(pid), "sleep {pid} survived");
    }

    // A greeting that never completes: the byte received proves the pid
    // file was written first.
    let _ = std::fs::remove_file(&pidfile);
    let t = Instant::now();
    let err = Imap4::connect_stream_with(
        &format!("echo $$ > {pid_q}; printf '* OK'; exec sleep 30"),
        cfg(),
    )
    .expect_err("no complete greeting");
    assert_timeout("stream, partial greeting", &err, t);
    let pid = read_pid(&pidfile).expect("pid file");
    assert!(!process_exists(pid), "sleep {pid} survived");
    assert!(!children().contains(&pid));

    // Greets, then goes silent: the command times out; the child is
    // killed when the connection is dropped.
    let _ = std::fs::remove_file(&pidfile);
    let script = format!(
        "echo $$ > {pid_q}; printf '* PREAUTH [CAPABILITY IMAP4rev1] hi\\r\\n'; \
         IFS= read -r line; tag=${{line%% *}}; \
         printf '* CAPABILITY IMAP4rev1\\r\\n%s OK done\\r\\n' \"$tag\"; exec sleep 30"
    );
    let mut m = Imap4::connect_stream_with(&script, cfg()).expect("connect_stream");
    let pid = read_pid(&pidfile).expect("pid file");
    let t = Instant::now();
    let err = m.noop().expect_err("no answer");
    assert_timeout("stream NOOP", &err, t);
    m.noop().expect_err("after a timeout");
    drop(m);
    assert!(!process_exists(pid), "sleep {pid} survived the drop");
}

// ----- known bugs (ignored: run with --ignored to reproduce) ---------------------------

#[test]

fn bug_command_timeout_does_not_bound_the_implicit_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let config = Config {
            command_timeout: Some(TIMEOUT),
            ..Config::default()
        };
        let r = Imap4::connect_ssl_config("127.0.0.1", port, TlsOptions::new(), config);
        let _ = tx.send(r.map(|_| ()));
    });
    // The plain connect times out after TIMEOUT with the same config; the
    // TLS one never returns (the thread is left blocked).
    match rx.recv_timeout(TOO_LONG) {
        Ok(r) => assert!(r.is_err()),
        Err(_) => panic!("connect_ssl_config still blocked after {TOO_LONG:?}"),
    }
    drop(listener);
}
