//! COMPRESS=DEFLATE (RFC 4978) in both drivers: against Dovecot's
//! `imap_zlib` (every body of a few hundred messages fetched with and
//! without compression, byte-identical, with the bytes read from the socket
//! counted and printed), and against scripted servers (bytes piggy-backed
//! on the OK, a decompression bomb, ordering errors).
#![cfg(feature = "tokio")]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imap4::typed::{FetchAttr, SeqSet};
use imap4::{Config, Imap4, Transport};
use imap4_testkit::fake::{FakeServer, Step};
use imap4_testkit::Dovecot;

/// Messages in the mailbox fetched in full.
const MESSAGES: usize = 300;
const SEED: u64 = 4978;

/// Bytes moved over the socket, counted below the driver.
#[derive(Debug, Default)]
struct Wire {
    read: AtomicU64,
    written: AtomicU64,
}

impl Wire {
    fn read(&self) -> u64 {
        self.read.load(Ordering::SeqCst)
    }
    fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

/// A TCP transport that counts what it reads and writes.
struct Counted {
    inner: TcpStream,
    wire: Arc<Wire>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.wire.read.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.wire.written.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for Counted {
    fn shutdown(&mut self) -> io::Result<()> {
        Transport::shutdown(&mut self.inner)
    }
    fn socket(&self) -> Option<&TcpStream> {
        Some(&self.inner)
    }
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(t)
    }
    fn set_write_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(t)
    }
}

/// Every message's UID and full body, in UID order.
type Bodies = Vec<(u32, Vec<u8>)>;

fn collect(fetches: &imap4::typed::Fetches) -> Bodies {
    let mut out: Bodies = fetches
        .iter()
        .map(|f| {
            let f = f.unwrap();
            (f.uid().unwrap(), f.section("").expect("BODY[]").to_vec())
        })
        .collect();
    out.sort_by_key(|b| b.0);
    out
}

fn attrs() -> Vec<FetchAttr> {
    vec![FetchAttr::Uid, FetchAttr::full_peek()]
}

/// Logs in over a counted transport, optionally turns COMPRESS on, fetches
/// every body; returns them and the bytes read and written after login.
fn fetch_blocking(d: &Dovecot, compress: bool) -> (Bodies, u64, u64) {
    let wire = Arc::new(Wire::default());
    let stream = TcpStream::connect(d.addr()).unwrap();
    let t = Counted {
        inner: stream,
        wire: Arc::clone(&wire),
    };
    let mut m = Imap4::with_transport(Box::new(t), Config::default()).unwrap();
    m.typed().login_auto("alice", d.password()).unwrap();
    assert!(
        m.capabilities().iter().any(|c| c == "COMPRESS=DEFLATE"),
        "{:?}",
        m.capabilities()
    );
    let (r0, w0) = (wire.read(), wire.written());
    if compress {
        m.typed().compress().unwrap();
        assert!(m.is_compressed());
    }
    let inbox = m.typed().select("INBOX").unwrap();
    assert_eq!(inbox.exists as usize, MESSAGES);
    let fetches = m.typed().fetch(&SeqSet::all(), &attrs()).unwrap();
    let bodies = collect(&fetches);
    // The imaplib surface works on the same compressed stream.
    let r = m.fetch("1", "(BODY.PEEK[])").unwrap();
    let Some(lit) = r.data[0].as_literal() else {
        panic!("{r:?}")
    };
    assert_eq!(&lit.body[..], &bodies[0].1[..]);
    assert_eq!(m.logout().unwrap().typ, "BYE");
    (bodies, wire.read() - r0, wire.written() - w0)
}

#[test]
fn dovecot_bodies_are_identical_with_and_without_compress_in_both_drivers() {
    let d = Dovecot::builder()
        .messages("alice", MESSAGES, SEED)
        .start()
        .unwrap();
    let (plain, plain_read, plain_written) = fetch_blocking(&d, false);
    let (deflated, deflated_read, deflated_written) = fetch_blocking(&d, true);
    assert_eq!(plain.len(), MESSAGES);
    assert_eq!(
        plain[0].1,
        imap4_testkit::generate(SEED, 0).to_crlf(),
        "the first body is the generated message"
    );
    assert!(plain == deflated, "bodies differ with COMPRESS");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tokio_plain, tokio_deflated, tokio_read) = rt.block_on(async {
        let plain = tokio_fetch(&d, false).await;
        let deflated = tokio_fetch(&d, true).await;
        (plain.0, deflated.0, (plain.1, deflated.1))
    });
    assert!(tokio_plain == plain, "async driver: plain bodies differ");
    assert!(
        tokio_deflated == plain,
        "async driver: bodies differ with COMPRESS"
    );

    let total: usize = plain.iter().map(|b| b.1.len()).sum();
    eprintln!(
        "COMPRESS=DEFLATE wire bytes for {MESSAGES} messages ({total} body bytes), after login:\n\
         \x20 blocking, plain:    read {plain_read:>9}  written {plain_written:>6}\n\
         \x20 blocking, deflated: read {deflated_read:>9}  written {deflated_written:>6}  ({:.1}% of plain read)\n\
         \x20 tokio,    plain:    read {:>9}\n\
         \x20 tokio,    deflated: read {:>9}",
        100.0 * deflated_read as f64 / plain_read as f64,
        tokio_read.0,
        tokio_read.1,
    );
    assert!(plain_read > total as u64);
    // The generated messages carry base64 attachments, which deflate
    // cannot shrink much: expect a fifth saved at least.
    assert!(
        deflated_read * 10 < plain_read * 8,
        "compression saved too little: {deflated_read} vs {plain_read}"
    );
    assert!(tokio_read.1 * 10 < tokio_read.0 * 8);
}

/// The async version of [`fetch_blocking`]: bodies and bytes read after
/// login.
async fn tokio_fetch(d: &Dovecot, compress: bool) -> (Bodies, u64) {
    let wire = Arc::new(Wire::default());
    let stream = tokio::net::TcpStream::connect(d.addr()).await.unwrap();
    let t = tokio_counted::Counted {
        inner: stream,
        wire: Arc::clone(&wire),
    };
    let mut m = imap4::tokio::Imap4::with_transport(Box::new(t), Config::default())
        .await
        .unwrap();
    m.typed().login_auto("alice", d.password()).await.unwrap();
    let r0 = wire.read();
    if compress {
        m.typed().compress().await.unwrap();
        assert!(m.is_compressed());
    }
    m.typed().select("INBOX").await.unwrap();
    let fetches = m.typed().fetch(&SeqSet::all(), &attrs()).await.unwrap();
    let bodies = collect(&fetches);
    assert_eq!(m.logout().await.unwrap().typ, "BYE");
    (bodies, wire.read() - r0)
}

mod tokio_counted {
    use std::pin::Pin;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    pub struct Counted {
        pub inner: tokio::net::TcpStream,
        pub wire: Arc<super::Wire>,
    }

    impl AsyncRead for Counted {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let before = buf.filled().len();
            let r = Pin::new(&mut self.inner).poll_read(cx, buf);
            let n = buf.filled().len() - before;
            self.wire.read.fetch_add(n as u64, Ordering::SeqCst);
            r
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let r = Pin::new(&mut self.inner).poll_write(cx, buf);
            if let Poll::Ready(Ok(n)) = &r {
                self.wire.written.fetch_add(*n as u64, Ordering::SeqCst);
            }
            r
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }
        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    impl imap4::tokio::AsyncTransport for Counted {}
}

#[test]
fn dovecot_without_imap_zlib_refuses_before_sending() {
    let d = Dovecot::builder().compress(false).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.typed().login_auto("alice", d.password()).unwrap();
    assert!(!m.capabilities().iter().any(|c| c.starts_with("COMPRESS")));
    let e = m.typed().compress().unwrap_err();
    assert!(e.to_string().contains("COMPRESS=DEFLATE"), "{e}");
    assert!(!m.is_compressed());
    m.typed().noop().unwrap();
}

#[test]
fn dovecot_starttls_after_compress_is_refused_and_the_connection_goes_on() {
    let d = Dovecot::builder().messages("alice", 2, 1).start().unwrap();
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.typed().login_auto("alice", d.password()).unwrap();
    m.typed().compress().unwrap();
    let tls = imap4::TlsOptions::new().ca_file(d.ca_file());
    let e = m.starttls(tls).unwrap_err();
    assert!(e.to_string().contains("STARTTLS after COMPRESS"), "{e}");
    let e = m.typed().compress().unwrap_err();
    assert!(e.to_string().contains("already active"), "{e}");
    assert_eq!(m.typed().select("INBOX").unwrap().exists, 2);
    m.logout().unwrap();
}

// ----- scripted servers ---------------------------------------------------------

const GREETING: &str = "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE STARTTLS] ready\r\n";

/// The greeting and the CAPABILITY exchange every connection starts with.
fn greeting() -> Vec<Step> {
    vec![
        Step::send(GREETING),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE STARTTLS\r\n{tag} OK\r\n"),
    ]
}

/// `greeting()` then `rest`.
fn script(rest: Vec<Step>) -> Vec<Step> {
    let mut s = greeting();
    s.extend(rest);
    s
}

fn quick() -> Config {
    Config {
        response_timeout: Some(Duration::from_secs(20)),
        ..Config::default()
    }
}

/// Greeting, COMPRESS answered with an EXISTS piggy-backed (compressed) on
/// the OK, then a compressed NOOP exchange and LOGOUT.
fn piggyback_script() -> Vec<Step> {
    script(vec![
        Step::expect("{tag} COMPRESS DEFLATE"),
        Step::start_compress("{tag} OK DEFLATE active\r\n", "* 9 EXISTS\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("* 10 EXISTS\r\n{tag} OK done\r\n"),
        Step::expect("{tag} LOGOUT"),
        Step::send("* BYE bye\r\n{tag} OK\r\n"),
    ])
}

#[test]
fn scripted_bytes_piggy_backed_on_the_ok_are_inflated_blocking() {
    let server = FakeServer::start(piggyback_script()).unwrap();
    let mut m = Imap4::connect_with("127.0.0.1", server.port(), quick()).unwrap();
    m.enable_events();
    m.typed().compress().unwrap();
    m.typed().noop().unwrap();
    // The EXISTS piggy-backed on the OK and the one sent with the NOOP.
    let events: Vec<_> = std::iter::from_fn(|| m.take_event()).collect();
    assert_eq!(events, [imap4::Event::Exists(9), imap4::Event::Exists(10)]);
    m.logout().unwrap();
    let sent = server.finish().unwrap();
    assert!(sent.ends_with(b"LOGOUT\r\n"), "{}", sent.escape_ascii());
}

#[tokio::test]
async fn scripted_bytes_piggy_backed_on_the_ok_are_inflated_tokio() {
    let server = FakeServer::start(piggyback_script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect_with("127.0.0.1", server.port(), quick())
        .await
        .unwrap();
    m.enable_events();
    m.typed().compress().await.unwrap();
    m.typed().noop().await.unwrap();
    // The EXISTS piggy-backed on the OK and the one sent with the NOOP.
    let events: Vec<_> = std::iter::from_fn(|| m.take_event()).collect();
    assert_eq!(events, [imap4::Event::Exists(9), imap4::Event::Exists(10)]);
    m.logout().await.unwrap();
    server.finish().unwrap();
}

/// After COMPRESS, the NOOP is answered by 4 GiB of one line (about 4 MiB
/// compressed, streamed); the client must stop at the line limit.
fn bomb_script() -> Vec<Step> {
    script(vec![
        Step::expect("{tag} COMPRESS DEFLATE"),
        Step::start_compress("{tag} OK\r\n", ""),
        Step::expect("{tag} NOOP"),
        Step::send_repeat("* OK ", b'A', 4 << 30),
    ])
}

fn assert_line_limit(e: &imap4::Error) {
    assert!(e.is_abort(), "{e}");
    assert!(
        e.to_string().contains("max_line_len") || e.to_string().contains("line"),
        "{e}"
    );
}

#[test]
fn scripted_decompression_bomb_hits_the_line_limit_blocking() {
    let server = FakeServer::start(bomb_script()).unwrap();
    let mut m = Imap4::connect_with("127.0.0.1", server.port(), quick()).unwrap();
    m.typed().compress().unwrap();
    let e = m.typed().noop().unwrap_err();
    assert_line_limit(&e);
    let d = m.session().compression().unwrap();
    eprintln!(
        "bomb: {} compressed bytes read, {} inflated",
        d.consumed(),
        d.inflated()
    );
    assert!(d.inflated() < 2 << 20, "{d:?}");
    drop(m);
    drop(server);
}

#[tokio::test]
async fn scripted_decompression_bomb_hits_the_line_limit_tokio() {
    let server = FakeServer::start(bomb_script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect_with("127.0.0.1", server.port(), quick())
        .await
        .unwrap();
    m.typed().compress().await.unwrap();
    let e = m.typed().noop().await.unwrap_err();
    assert_line_limit(&e);
    assert!(m.session().compression().unwrap().inflated() < 2 << 20);
    drop(m);
    drop(server);
}

/// A literal inflating past a lowered response limit: the limits count
/// decompressed bytes.
#[test]
fn scripted_limits_apply_to_decompressed_bytes() {
    let server = FakeServer::start(script(vec![
        Step::expect("{tag} COMPRESS DEFLATE"),
        Step::start_compress("{tag} OK\r\n", ""),
        Step::expect("{tag} NOOP"),
        Step::send_repeat("* 1 FETCH (BODY[] {4000000}\r\n", b'x', 4_000_000),
    ]))
    .unwrap();
    let config = Config {
        limits: imap4::Limits {
            max_literal_len: 1 << 20,
            ..imap4::Limits::default()
        },
        ..quick()
    };
    let mut m = Imap4::connect_with("127.0.0.1", server.port(), config).unwrap();
    m.typed().compress().unwrap();
    let e = m.typed().noop().unwrap_err();
    assert!(e.to_string().contains("literal"), "{e}");
    drop(server);
}

#[test]
fn scripted_starttls_after_compress_is_refused_with_nothing_sent_both_drivers() {
    let script = || {
        script(vec![
            Step::expect("{tag} COMPRESS DEFLATE"),
            Step::start_compress("{tag} OK\r\n", ""),
            Step::expect("{tag} NOOP"),
            Step::send("{tag} OK\r\n"),
            Step::expect_eof(),
        ])
    };
    let server = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect_with("127.0.0.1", server.port(), quick()).unwrap();
    m.typed().compress().unwrap();
    let e = m.starttls(imap4::TlsOptions::default()).unwrap_err();
    assert!(e.to_string().contains("STARTTLS after COMPRESS"), "{e}");
    m.typed().noop().unwrap();
    drop(m);
    let sent = server.finish().unwrap();
    assert!(
        !imap4_contains(&sent, b"STARTTLS"),
        "{}",
        sent.escape_ascii()
    );

    let server = FakeServer::start(script()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut m = imap4::tokio::Imap4::connect_with("127.0.0.1", server.port(), quick())
            .await
            .unwrap();
        m.typed().compress().await.unwrap();
        let e = m.starttls(imap4::TlsOptions::default()).await.unwrap_err();
        assert!(e.to_string().contains("STARTTLS after COMPRESS"), "{e}");
        m.typed().noop().await.unwrap();
    });
    let sent = server.finish().unwrap();
    assert!(
        !imap4_contains(&sent, b"STARTTLS"),
        "{}",
        sent.escape_ascii()
    );
}

fn imap4_contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn scripted_compress_refused_by_the_server_keeps_the_stream_plain() {
    let server = FakeServer::start(script(vec![
        Step::expect("{tag} COMPRESS DEFLATE"),
        Step::send("{tag} NO [COMPRESSIONACTIVE] already compressing\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK\r\n"),
    ]))
    .unwrap();
    let mut m = Imap4::connect_with("127.0.0.1", server.port(), quick()).unwrap();
    let e = m.typed().compress().unwrap_err();
    assert!(e.to_string().contains("COMPRESSIONACTIVE"), "{e}");
    assert!(!m.is_compressed());
    m.typed().noop().unwrap();
    drop(m);
    server.finish().unwrap();
}
