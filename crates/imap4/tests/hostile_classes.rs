//! One test per class of hostile-server behaviour, run against both
//! drivers (blocking `Imap4` and, with the `tokio` feature, the async one)
//! over a real loopback socket to the test kit's scripted `FakeServer`.
//!
//! Each case is a script and a check written once; `both!` runs the check
//! with and without `.await`.

use std::time::Duration;

use imap4::typed::{SearchKey, UidSet};
use imap4::{Config, Error, Limits};
use imap4_testkit::fake::{FakeServer, Step};

const PREAUTH: &str = "* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH UIDPLUS] ready\r\n";

/// The greeting, and the CAPABILITY command every connect sends.
fn greet(greeting: &str) -> Vec<Step> {
    vec![
        Step::send(greeting),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 ESEARCH UIDPLUS AUTH=PLAIN AUTH=X-LOOP\r\n{tag} OK\r\n"),
    ]
}

fn select_steps() -> Vec<Step> {
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} SELECT"),
            Step::send("* 3 EXISTS\r\n{tag} OK [READ-WRITE] selected\r\n"),
        ],
    )
}

fn with(mut steps: Vec<Step>, more: Vec<Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

/// No control byte that a terminal would act on.
fn assert_clean(e: &Error) {
    let shown = e.to_string();
    assert!(
        !shown.chars().any(|c| c.is_control()),
        "control characters reach the message: {shown:?}"
    );
}

/// Defines `mod $name { blocking(), tokio() }`: connect to a fake server
/// running `$script` with `$config`, then run `$check!(m, [await tokens])`.
macro_rules! both {
    ($name:ident, $script:expr, $config:expr, $check:ident) => {
        mod $name {
            use super::*;

            #[test]
            fn blocking() {
                let server = FakeServer::start($script).expect("fake server");
                let mut m = imap4::Imap4::connect_with("127.0.0.1", server.port(), $config)
                    .expect("connect");
                $check!(m, []);
            }

            #[cfg(feature = "tokio")]
            #[tokio::test]
            async fn tokio() {
                let server = FakeServer::start($script).expect("fake server");
                let mut m =
                    imap4::tokio::Imap4::connect_with("127.0.0.1", server.port(), $config)
                        .await
                        .expect("connect");
                $check!(m, [.await]);
            }
        }
    };
}

// ---------------------------------------------------------------------------
// A server-given range is never expanded into memory.
// ---------------------------------------------------------------------------

macro_rules! esearch_range {
    ($m:ident, [$($aw:tt)*]) => {{
        $m.typed().select("INBOX")$($aw)*.unwrap();
        let set = $m.typed().uid_search(&SearchKey::All)$($aw)*.unwrap();
        assert_eq!(set.len(), u64::from(u32::MAX));
        assert_eq!(set.to_string(), "1:4294967295");
        assert!(set.contains(3_000_000_000));
    }};
}
both!(
    esearch_all_range,
    with(
        select_steps(),
        vec![
            Step::expect_prefix("{tag} UID SEARCH"),
            Step::send("* ESEARCH (TAG \"{tag}\") UID ALL 1:4294967295\r\n{tag} OK done\r\n"),
        ]
    ),
    Config::default(),
    esearch_range
);

// ---------------------------------------------------------------------------
// Untagged responses a command collects are bounded.
// ---------------------------------------------------------------------------

fn flood_exists() -> Vec<Step> {
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} NOOP"),
            Step::Send(b"* 1 EXISTS\r\n".repeat(200_000)),
            Step::send("{tag} OK done\r\n"),
        ],
    )
}

fn small_collection() -> Config {
    Config {
        limits: Limits {
            max_collected_responses: 100_000,
            ..Limits::default()
        },
        ..Config::default()
    }
}

macro_rules! flood_imaplib {
    ($m:ident, [$($aw:tt)*]) => {{
        let e = $m.noop()$($aw)*.unwrap_err();
        assert!(e.is_abort(), "{e}");
        assert!(e.to_string().contains("Limits::max_collected_responses"), "{e}");
        // The connection is broken, and says so.
        assert!($m.noop()$($aw)*.unwrap_err().is_abort());
    }};
}
both!(
    exists_flood_imaplib,
    flood_exists(),
    small_collection(),
    flood_imaplib
);

/// Typed: a run of EXISTS is kept as its last (nothing piles up), and
/// what does pile up (FETCH answers) hits the limit.
fn flood_typed_script() -> Vec<Step> {
    with(
        flood_exists(),
        vec![
            Step::expect_prefix("{tag} NOOP"),
            Step::Send(b"* 1 FETCH (FLAGS ())\r\n".repeat(200_000)),
            Step::send("{tag} OK done\r\n"),
        ],
    )
}

macro_rules! flood_typed {
    ($m:ident, [$($aw:tt)*]) => {{
        let nothing = $m.typed().noop()$($aw)*.unwrap();
        assert_eq!(nothing.raw_len(), 1, "200,000 EXISTS are kept as their last");
        let e = $m.typed().noop()$($aw)*.unwrap_err();
        assert!(e.to_string().contains("Limits::max_collected_responses"), "{e}");
    }};
}
both!(
    exists_flood_typed,
    flood_typed_script(),
    small_collection(),
    flood_typed
);

// ---------------------------------------------------------------------------
// One response's total size is bounded (each literal under its own limit).
// ---------------------------------------------------------------------------

fn many_literals() -> Vec<Step> {
    let mut reply = b"* 1 FETCH (UID 1".to_vec();
    for i in 1..=4 {
        reply.extend_from_slice(format!(" BODY[{i}] {{{}}}\r\n", 10 << 20).as_bytes());
        if i < 4 {
            reply.extend(std::iter::repeat_n(b'x', 10 << 20));
        }
    }
    with(
        select_steps(),
        vec![
            Step::expect_prefix("{tag} FETCH"),
            Step::Send(reply),
            Step::Hang,
        ],
    )
}

macro_rules! literal_total {
    ($m:ident, [$($aw:tt)*]) => {{
        $m.select("INBOX", false)$($aw)*.unwrap();
        let e = $m.fetch("1", "(BODY[1] BODY[2] BODY[3] BODY[4])")$($aw)*.unwrap_err();
        assert!(e.is_abort(), "{e}");
        assert!(e.to_string().contains("Limits::max_response_len"), "{e}");
    }};
}
both!(
    response_total_size,
    many_literals(),
    Config {
        limits: Limits {
            max_literal_len: 16 << 20,
            max_response_len: 32 << 20,
            ..Limits::default()
        },
        ..Config::default()
    },
    literal_total
);

// ---------------------------------------------------------------------------
// Many distinct untagged names: linear, and kept in order.
// ---------------------------------------------------------------------------

fn letters(mut i: usize) -> String {
    let mut n = String::from("X-");
    for _ in 0..4 {
        n.push(char::from(b'A' + (i % 26) as u8));
        i /= 26;
    }
    n
}

fn distinct_names() -> Vec<Step> {
    let mut flood = Vec::new();
    for i in 0..60_000 {
        flood.extend_from_slice(format!("* {} x\r\n", letters(i)).as_bytes());
    }
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} NOOP"),
            Step::Send(flood),
            Step::send("{tag} OK done\r\n"),
        ],
    )
}

macro_rules! names {
    ($m:ident, [$($aw:tt)*]) => {{
        $m.noop()$($aw)*.unwrap();
        let store = $m.untagged_responses();
        let ours: Vec<&str> = store
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| n.starts_with("X-"))
            .collect();
        assert_eq!(ours.len(), 60_000);
        assert_eq!(ours[12_345], letters(12_345));
    }};
}
both!(
    distinct_untagged_names,
    distinct_names(),
    Config::default(),
    names
);

// ---------------------------------------------------------------------------
// A streamed body never accepts more than the chunk it asked for.
// ---------------------------------------------------------------------------

fn oversized_chunk() -> Vec<Step> {
    with(
        select_steps(),
        vec![
            Step::expect_prefix("{tag} UID FETCH 1 (BODY.PEEK[]<0.1048576>)"),
            Step::send("* 1 FETCH (UID 1 BODY[]<0> {150000000}\r\n"),
            Step::Hang,
        ],
    )
}

macro_rules! chunk_cap {
    ($m:ident, [$($aw:tt)*]) => {{
        $m.typed().select("INBOX")$($aw)*.unwrap();
        let mut sink = Vec::new();
        let e = $m
            .typed()
            .uid_fetch_body_to_chunked(1, "", &mut sink, imap4::typed::DEFAULT_CHUNK)$($aw)*
            .unwrap_err();
        assert!(e.to_string().contains("150000000"), "{e}");
        assert!(e.to_string().contains("1048576"), "{e}");
        assert!(sink.is_empty());
    }};
}
both!(
    streamed_chunk_cap,
    oversized_chunk(),
    Config::default(),
    chunk_cap
);

// ---------------------------------------------------------------------------
// A whole body streams in one FETCH, and a failing writer leaves the
// connection in step.
// ---------------------------------------------------------------------------

const BODY_LEN: u64 = 3_000_000;

fn one_fetch_body() -> Vec<Step> {
    let mut steps = select_steps();
    for _ in 0..2 {
        steps.extend([
            Step::expect("{tag} UID FETCH 1 (BODY.PEEK[])"),
            Step::send_repeat(
                format!("* 1 FETCH (UID 1 BODY[] {{{BODY_LEN}}}\r\n"),
                b'x',
                BODY_LEN,
            ),
            Step::send(" FLAGS (\\Seen))\r\n{tag} OK done\r\n"),
        ]);
    }
    steps.extend([
        Step::expect("{tag} UID FETCH 2 (BODY.PEEK[])"),
        Step::send("{tag} OK no such message\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("* 4 EXISTS\r\n{tag} OK\r\n"),
    ]);
    steps
}

/// A writer that fails once it has taken `limit` bytes.
struct Failing {
    taken: u64,
    limit: u64,
}

impl std::io::Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.taken >= self.limit {
            return Err(std::io::Error::other("disk full"));
        }
        self.taken += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "tokio")]
impl tokio::io::AsyncWrite for Failing {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(std::io::Write::write(self.get_mut(), buf))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

macro_rules! body_in_one_fetch {
    ($m:ident, [$($aw:tt)*]) => {{
        $m.typed().select("INBOX")$($aw)*.unwrap();
        let mut sink = Vec::new();
        let n = $m.typed().uid_fetch_body_to(1, "", &mut sink)$($aw)*.unwrap();
        assert_eq!(n, BODY_LEN);
        assert_eq!(sink.len() as u64, BODY_LEN);
        assert!(sink.iter().all(|&b| b == b'x'));
        let mut failing = Failing { taken: 0, limit: 1 << 20 };
        let e = $m.typed().uid_fetch_body_to(1, "", &mut failing)$($aw)*.unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert!(failing.taken < BODY_LEN);
        let e = $m.typed().uid_fetch_body_to(2, "", &mut sink)$($aw)*.unwrap_err();
        assert!(e.to_string().contains("no message with UID 2"), "{e}");
        // the script checks every command: the connection is in step
        assert_eq!($m.noop()$($aw)*.unwrap().typ, "OK");
    }};
}
both!(
    body_streams_in_one_fetch,
    one_fetch_body(),
    Config::default(),
    body_in_one_fetch
);

// ---------------------------------------------------------------------------
// Server text with terminal control bytes never reaches a message raw.
// ---------------------------------------------------------------------------

fn authenticate_no() -> Vec<Step> {
    let g = greet("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n");
    with(
        g,
        vec![
            Step::expect("{tag} AUTHENTICATE PLAIN"),
            Step::send("+ \r\n"),
            Step::read_line(),
            Step::send("{tag} NO \x1b[31mdenied\x07 \x1b]0;pwned\x07\r\n"),
        ],
    )
}

macro_rules! auth_text {
    ($m:ident, [$($aw:tt)*]) => {{
        let mut answer = |_: &[u8]| Some(b"\0alice\0secret".to_vec());
        let e = $m.authenticate("PLAIN", &mut answer)$($aw)*.unwrap_err();
        assert_clean(&e);
        assert!(e.to_string().contains("denied"), "{e}");
    }};
}
both!(
    control_bytes_authenticate,
    authenticate_no(),
    Config::default(),
    auth_text
);

macro_rules! bye_text {
    ($m:ident, [$($aw:tt)*]) => {{
        let e = $m.noop()$($aw)*.unwrap_err();
        assert_clean(&e);
        assert!(e.to_string().contains("\\x1b[2J"), "{e}");
    }};
}
both!(
    control_bytes_bye,
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} NOOP"),
            Step::send("* BYE \x1b[2J\x07bye\r\n"),
        ]
    ),
    Config::default(),
    bye_text
);

macro_rules! typed_text {
    ($m:ident, [$($aw:tt)*]) => {{
        let e = $m.typed().select("INBOX")$($aw)*.unwrap_err();
        assert_clean(&e);
        assert_eq!(e.server_status(), Some("NO"));
    }};
}
both!(
    control_bytes_typed,
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} SELECT"),
            Step::send("{tag} NO \x1b[2J\x1b[Hno such mailbox\x07\r\n"),
        ]
    ),
    Config::default(),
    typed_text
);

// ---------------------------------------------------------------------------
// A tagged reply that arrives before its command was written is refused.
// ---------------------------------------------------------------------------

macro_rules! early_reply {
    ($m:ident, [$($aw:tt)*]) => {{
        $m.noop()$($aw)*.unwrap();
        // The next command's reply already arrived with the first one.
        let e = $m.select("INBOX", false)$($aw)*.unwrap_err();
        assert!(e.is_abort(), "{e}");
        assert!(e.to_string().contains("before its command was sent"), "{e}");
        assert_eq!($m.state().as_str(), "AUTH", "the forged SELECT reply was not believed");
    }};
}
both!(
    early_tagged_reply,
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} NOOP"),
            Step::send("{tag} OK done\r\n{next_tag} OK [READ-WRITE] forged\r\n"),
            Step::read_line(),
            Step::Hang,
        ]
    ),
    Config::default(),
    early_reply
);

// ---------------------------------------------------------------------------
// A number too large for its field is an error, never 0.
// ---------------------------------------------------------------------------

macro_rules! big_number {
    ($m:ident, [$($aw:tt)*]) => {{
        let e = $m.typed().select("INBOX")$($aw)*.unwrap_err();
        assert!(e.is_error(), "{e}");
        assert!(e.to_string().contains("18446744073709551616"), "{e}");
    }};
}
both!(
    number_out_of_range,
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} SELECT"),
            Step::send("* 18446744073709551616 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
        ]
    ),
    Config::default(),
    big_number
);

// ---------------------------------------------------------------------------
// No hang: a trickling server, an endless AUTHENTICATE.
// ---------------------------------------------------------------------------

macro_rules! trickle {
    ($m:ident, [$($aw:tt)*]) => {{
        let started = std::time::Instant::now();
        let e = $m.noop()$($aw)*.unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert!(started.elapsed() < Duration::from_secs(8), "gave up in time");
    }};
}
both!(
    trickling_server,
    with(
        greet(PREAUTH),
        vec![
            Step::expect_prefix("{tag} NOOP"),
            Step::Trickle {
                bytes: [b"* OK ".as_slice(), &[b'x'; 500]].concat(),
                interval: Duration::from_millis(20),
            },
        ]
    ),
    Config {
        // Each read returns within 20 ms: only the response deadline can
        // stop this server.
        read_timeout: Some(Duration::from_secs(1)),
        response_timeout: Some(Duration::from_millis(400)),
        ..Config::default()
    },
    trickle
);

fn endless_authenticate() -> Vec<Step> {
    let g = greet("* OK [CAPABILITY IMAP4rev1 AUTH=X-LOOP] hi\r\n");
    let mut steps = with(g, vec![Step::expect("{tag} AUTHENTICATE X-LOOP")]);
    for _ in 0..40 {
        steps.push(Step::send("+ YQ==\r\n"));
        steps.push(Step::read_line());
    }
    steps.push(Step::Hang);
    steps
}

macro_rules! auth_loop {
    ($m:ident, [$($aw:tt)*]) => {{
        let mut answer = |_: &[u8]| Some(b"again".to_vec());
        let e = $m.authenticate("X-LOOP", &mut answer)$($aw)*.unwrap_err();
        assert!(e.to_string().contains("Limits::max_auth_steps"), "{e}");
    }};
}
both!(
    endless_auth,
    endless_authenticate(),
    Config::default(),
    auth_loop
);

#[test]
fn the_default_configuration_has_every_timeout_that_prevents_a_hang() {
    let c = Config::default();
    assert_eq!(c.connect_timeout, Some(imap4::DEFAULT_CONNECT_TIMEOUT));
    assert_eq!(c.write_timeout, Some(imap4::DEFAULT_WRITE_TIMEOUT));
    assert_eq!(c.response_timeout, Some(imap4::DEFAULT_RESPONSE_TIMEOUT));
    let l = Limits::default();
    assert!(l.max_collected_responses >= 1_000_000);
    assert!(l.max_response_len >= l.max_literal_len);
    // An empty set is answered without asking the server.
    assert!(UidSet::from_numbers([]).is_empty());
}

#[test]
fn a_refused_connection_names_the_host_and_port() {
    // A port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = imap4::Imap4::connect("127.0.0.1", port).unwrap_err();
    assert!(e.is_abort());
    assert!(
        e.to_string().starts_with(&format!(
            "socket error: cannot connect to 127.0.0.1:{port}: "
        )),
        "{e}"
    );
}
