//! The scripted fake server against plain std sockets (and openssl s_client).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::TestCerts;

fn client(server: &FakeServer) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn line(reader: &mut impl BufRead) -> String {
    let mut s = String::new();
    reader.read_line(&mut s).unwrap();
    s
}

#[test]
fn round_trip_with_tags() {
    let server = FakeServer::start(vec![
        Step::send("* OK ready\r\n"),
        Step::expect("{tag} LOGIN alice secret\r\n"),
        Step::send("{tag} OK logged in\r\n"),
        Step::expect_prefix("{tag} SELECT"),
        Step::send("* 3 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        Step::expect("{tag} IDLE"),
        Step::send("+ idling\r\n"),
        Step::expect("DONE"),
        // DONE is not a tag: {tag} is still the IDLE command's
        Step::send("{tag} OK IDLE terminated\r\n"),
        Step::read_line(),
        Step::send("* BYE\r\n{tag} OK bye\r\n"),
        Step::expect_eof(),
    ])
    .unwrap();
    assert_eq!(server.addr().port(), server.port());
    let (mut w, mut r) = client(&server);
    assert_eq!(line(&mut r), "* OK ready\r\n");
    w.write_all(b"A1 LOGIN alice secret\r\n").unwrap();
    assert_eq!(line(&mut r), "A1 OK logged in\r\n");
    w.write_all(b"A2 SELECT INBOX\r\n").unwrap();
    assert_eq!(line(&mut r), "* 3 EXISTS\r\n");
    assert_eq!(line(&mut r), "A2 OK [READ-WRITE] done\r\n");
    w.write_all(b"A3 IDLE\r\n").unwrap();
    assert_eq!(line(&mut r), "+ idling\r\n");
    w.write_all(b"DONE\r\n").unwrap();
    assert_eq!(line(&mut r), "A3 OK IDLE terminated\r\n");
    w.write_all(b"A4 LOGOUT\r\n").unwrap();
    assert_eq!(line(&mut r), "* BYE\r\n");
    assert_eq!(line(&mut r), "A4 OK bye\r\n");
    drop((w, r));
    assert_eq!(
        server.finish().unwrap(),
        b"A1 LOGIN alice secret\r\nA2 SELECT INBOX\r\nA3 IDLE\r\nDONE\r\nA4 LOGOUT\r\n"
    );
}

#[test]
fn mismatch_is_reported() {
    let server = FakeServer::start(vec![
        Step::send("* OK\r\n"),
        Step::expect("{tag} LOGIN alice secret"),
    ])
    .unwrap();
    let (mut w, mut r) = client(&server);
    line(&mut r);
    w.write_all(b"a LOGIN bob x\r\n").unwrap();
    let err = server.finish().unwrap_err();
    assert!(err.contains("step 1"), "{err}");
    assert!(err.contains("a LOGIN bob x"), "{err}");
}

#[test]
fn bare_lf_is_a_mismatch() {
    let server = FakeServer::start(vec![Step::read_line()]).unwrap();
    let (mut w, _r) = client(&server);
    w.write_all(b"a NOOP\n").unwrap();
    let err = server.finish().unwrap_err();
    assert!(err.contains("CRLF"), "{err}");
}

#[test]
fn send_split_arrives_completely() {
    let payload = "* 1 FETCH (BODY[] {11}\r\nhello world)\r\n";
    let server = FakeServer::start(vec![Step::send_split(payload)]).unwrap();
    let (_w, mut r) = client(&server);
    let mut got = String::new();
    r.read_to_string(&mut got).unwrap();
    assert_eq!(got, payload);
    assert_eq!(server.finish().unwrap(), b"");
}

#[test]
fn literal_with_read_exact() {
    let server = FakeServer::start(vec![
        Step::expect("{tag} APPEND INBOX {5}"),
        Step::send("+ go ahead\r\n"),
        Step::read_exact(5),
        Step::expect(""),
        Step::send("{tag} OK appended\r\n"),
    ])
    .unwrap();
    let (mut w, mut r) = client(&server);
    w.write_all(b"t APPEND INBOX {5}\r\n").unwrap();
    assert_eq!(line(&mut r), "+ go ahead\r\n");
    w.write_all(b"a\r\nb\n\r\n").unwrap();
    assert_eq!(line(&mut r), "t OK appended\r\n");
    assert_eq!(
        server.finish().unwrap(),
        b"t APPEND INBOX {5}\r\na\r\nb\n\r\n"
    );
}

#[test]
fn expect_eof_fails_when_the_client_talks() {
    let server = FakeServer::start(vec![Step::expect_eof()]).unwrap();
    let (mut w, _r) = client(&server);
    w.write_all(b"x NOOP\r\n").unwrap();
    let err = server.finish().unwrap_err();
    assert!(err.contains("expected EOF"), "{err}");
}

#[test]
fn close_ends_the_connection() {
    let server = FakeServer::start(vec![Step::send("* OK\r\n"), Step::close()]).unwrap();
    let (_w, mut r) = client(&server);
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"* OK\r\n");
    server.finish().unwrap();
}

#[test]
fn hang_ends_on_finish_and_on_drop() {
    let server = FakeServer::start(vec![Step::send("* OK\r\n"), Step::hang()]).unwrap();
    let (_w, mut r) = client(&server);
    line(&mut r);
    r.get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert!(r.read(&mut buf).is_err(), "hang sends nothing");
    let t = Instant::now();
    server.finish().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));

    let server = FakeServer::start(vec![Step::hang()]).unwrap();
    let (_w, _r) = client(&server);
    std::thread::sleep(Duration::from_millis(50));
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn reads_time_out() {
    let server = FakeServer::start_with_timeout(
        vec![Step::send("* OK\r\n"), Step::read_line()],
        Duration::from_millis(300),
    )
    .unwrap();
    let (_w, _r) = client(&server);
    let err = server.finish().unwrap_err();
    assert!(err.contains("timed out"), "{err}");

    let server =
        FakeServer::start_with_timeout(vec![Step::read_line()], Duration::from_millis(200))
            .unwrap();
    let err = server.finish().unwrap_err();
    assert!(err.contains("no client"), "{err}");
}

#[test]
fn tag_before_any_line_is_an_error() {
    let server = FakeServer::start(vec![Step::send("{tag} OK\r\n")]).unwrap();
    let (_w, _r) = client(&server);
    assert!(server.finish().unwrap_err().contains("{tag}"));
}

#[test]
fn starttls_with_openssl_s_client() {
    let certs = TestCerts::new().unwrap();
    let server = FakeServer::start(vec![
        Step::send("* OK [CAPABILITY IMAP4rev1 STARTTLS] fake\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK done\r\n"),
        Step::expect("{tag} STARTTLS"),
        Step::send("{tag} OK begin TLS\r\n"),
        Step::start_tls(certs.chain_file(), certs.key_file()),
        Step::expect("a1 NOOP"),
        Step::send("a1 OK secret noop\r\n"),
        Step::expect("a2 LOGOUT"),
        Step::send_split("* BYE\r\na2 OK\r\n"),
    ])
    .unwrap();
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(server.addr().to_string())
        .args(["-starttls", "imap", "-CAfile"])
        .arg(certs.ca_file())
        .args([
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-crlf",
            "-quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a1 NOOP\na2 LOGOUT\n").unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut got = String::new();
    while !got.ends_with("a2 OK\r\n") {
        let n = stdout.read_line(&mut got).unwrap();
        assert!(n > 0, "{got}");
    }
    // (s_client may echo a line of its own STARTTLS negotiation first)
    assert!(
        got.ends_with("a1 OK secret noop\r\n* BYE\r\na2 OK\r\n"),
        "{got}"
    );
    drop(stdin);
    let transcript = server.finish().unwrap();
    let text = String::from_utf8_lossy(&transcript);
    assert!(
        text.ends_with("STARTTLS\r\na1 NOOP\r\na2 LOGOUT\r\n"),
        "{text}"
    );
    let _ = child.wait();
}
