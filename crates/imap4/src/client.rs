//! The blocking imaplib-compatible client, [`Imap4`].
//!
//! Every method is a thin call into the sans-IO [`Session`] of
//! `imap4-proto`; this file only moves bytes.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use imap4_proto::proxy::{Handshake, Proxy, ProxyError};
use imap4_proto::sasl::{Mechanism, Secret};
use imap4_proto::{
    Authenticated, Begin, ErrorKind, Limits, Pending, Poll, Response, Session, State, Trace,
};

use crate::error::Error;
use crate::stream::StreamTransport;
use crate::tls::{TlsOptions, TlsTransport};
use crate::transport::{Closed, Transport};
use crate::util::int2ap;

/// The IMAP port, 143.
pub const IMAP4_PORT: u16 = 143;

/// The IMAP-over-TLS port, 993.
pub const IMAP4_SSL_PORT: u16 = 993;

/// The AUTHENTICATE callback: challenge in, answer out (`None` cancels).
type Authobject<'a> = &'a mut dyn FnMut(&[u8]) -> Option<Vec<u8>>;

/// Who answers AUTHENTICATE challenges.
pub(crate) enum Auth<'a> {
    /// Nobody (not an AUTHENTICATE command).
    None,
    /// imaplib's callback.
    Callback(Authobject<'a>),
    /// A SASL mechanism, driven by the session.
    Mechanism(&'a mut dyn Mechanism),
    /// A typed command whose responses are handed out as they arrive
    /// (streaming), not collected.
    Each(&'a mut (dyn FnMut(bytes::Bytes) + Send)),
    /// A typed command whose responses and streamed bodies are handed out
    /// as they arrive.
    Streamed(&'a mut (dyn FnMut(imap4_proto::Streamed) + Send)),
}

/// Why driving a command stopped: the protocol, or the transport.
enum Stop {
    Session(imap4_proto::SessionError),
    Io(Error),
}

static DEBUG: AtomicU32 = AtomicU32::new(0);

/// Sets the process-wide default debug level for new connections
/// (imaplib's module-level `Debug`). Every command and response is traced
/// through `tracing` at DEBUG level (target `imap4`, passwords and
/// AUTHENTICATE data redacted) whenever a subscriber enables that, whatever
/// the level; a level above 3 makes the events too (for a subscriber that
/// filters by other means).
pub fn set_debug(level: u32) {
    DEBUG.store(level, Ordering::Relaxed);
}

/// The process-wide default debug level (imaplib's `Debug`).
pub fn debug() -> u32 {
    DEBUG.load(Ordering::Relaxed)
}

/// The default [`Config::connect_timeout`]: 30 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default [`Config::write_timeout`]: 60 seconds.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default [`Config::response_timeout`]: 5 minutes.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(300);

/// Connection settings beyond host and port.
///
/// The defaults never hang: a server that does not answer the TCP
/// connection, the TLS handshake or with a greeting within
/// [`DEFAULT_CONNECT_TIMEOUT`], that stops reading for
/// [`DEFAULT_WRITE_TIMEOUT`], or that sends no complete response for
/// [`DEFAULT_RESPONSE_TIMEOUT`] while a command waits (silent, or
/// trickling one endless response) ends in a timeout error
/// ([`Error::is_timeout`]). Each can be changed or turned off (`None`).
///
/// ```
/// use std::time::Duration;
/// let config = imap4::Config {
///     response_timeout: Some(Duration::from_secs(30)),
///     ..imap4::Config::default()
/// };
/// assert_eq!(config.connect_timeout, Some(imap4::DEFAULT_CONNECT_TIMEOUT));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Limits protecting against hostile servers.
    pub limits: Limits,
    /// Timeout for connecting: the TCP connection, the TLS handshake
    /// (implicit TLS and STARTTLS) and the greeting, each. Default
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Option<Duration>,
    /// Timeout for each read (`None`: no per-read limit, as in imaplib;
    /// [`Config::response_timeout`] still applies).
    pub read_timeout: Option<Duration>,
    /// Timeout for each write (a server that stops reading). Default
    /// [`DEFAULT_WRITE_TIMEOUT`].
    pub write_timeout: Option<Duration>,
    /// Deadline for a whole command, from sending it to its completion
    /// (`None`, the default: none). Unlike the other timeouts, nothing
    /// the server sends stretches it.
    pub command_timeout: Option<Duration>,
    /// How long a command may wait for the next complete response (the
    /// clock restarts at each one): a silent server, or one that trickles
    /// a response byte by byte, times out; a long FETCH that keeps
    /// answering does not. Default [`DEFAULT_RESPONSE_TIMEOUT`].
    pub response_timeout: Option<Duration>,
    /// Debug level for this connection (`None`: the process-wide
    /// [`debug()`] at connect time).
    pub debug: Option<u32>,
    /// Refuse to send credentials in plaintext: LOGIN and AUTHENTICATE fail
    /// (nothing sent) unless the connection is TLS, and a PREAUTH greeting
    /// over a plaintext connection is an error. Referrals are never
    /// followed either way.
    pub require_tls: bool,
    /// Reach the server through this proxy (SOCKS5 or HTTP CONNECT; `None`,
    /// the default: directly). The proxy resolves the server's host name;
    /// TLS still verifies the certificate against the server's name, not
    /// the proxy's. The TCP connection to the proxy and the proxy's
    /// handshake together must finish within
    /// [`Config::connect_timeout`].
    pub proxy: Option<Proxy>,
    /// Take the capabilities the greeting announces (`* OK [CAPABILITY
    /// ...]`, as Dovecot, Cyrus and most servers send) instead of asking
    /// with the CAPABILITY command imaplib sends at connect: one round trip
    /// less. Without them in the greeting the command is sent anyway; after
    /// STARTTLS it always is. Default `false`: imaplib's exact exchange.
    pub greeting_capabilities: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            read_timeout: None,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            command_timeout: None,
            response_timeout: Some(DEFAULT_RESPONSE_TIMEOUT),
            debug: None,
            require_tls: false,
            proxy: None,
            greeting_capabilities: false,
        }
    }
}

/// The timeouts a driver enforces, taken from [`Config`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) connect: Option<Duration>,
    pub(crate) read: Option<Duration>,
    /// Used by the async driver (the blocking one sets it on the socket).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) write: Option<Duration>,
    pub(crate) command: Option<Duration>,
    pub(crate) response: Option<Duration>,
}

impl Timeouts {
    pub(crate) fn from_config(c: &Config) -> Self {
        Timeouts {
            connect: c.connect_timeout,
            read: c.read_timeout,
            write: c.write_timeout,
            command: c.command_timeout,
            response: c.response_timeout,
        }
    }

    /// The bound on one step of connecting (a TLS handshake, the
    /// greeting): the connect timeout, within the command timeout.
    pub(crate) fn connect_phase(&self) -> Option<Duration> {
        min_timeout(self.connect, self.command)
    }
}

/// When the wait for the server must end: a fixed deadline (the command
/// timeout, or the connect timeout while connecting) and one that moves
/// each time a complete response arrives (the response timeout). Both
/// drivers use it; the session's response count tells progress.
pub(crate) struct Deadline {
    fixed: Option<Instant>,
    response: Option<Duration>,
    progress: Instant,
    seen: u64,
}

impl Deadline {
    /// For a command.
    pub(crate) fn command(t: &Timeouts, session: &Session) -> Self {
        let now = Instant::now();
        Deadline {
            fixed: t.command.map(|d| now + d),
            response: t.response,
            progress: now,
            seen: session.progress(),
        }
    }

    /// For a step of connecting (the greeting).
    pub(crate) fn connect(t: &Timeouts, session: &Session) -> Self {
        let now = Instant::now();
        Deadline {
            fixed: t.connect_phase().map(|d| now + d),
            response: None,
            progress: now,
            seen: session.progress(),
        }
    }

    /// The instant the next read must finish by (`None`: no limit).
    pub(crate) fn next(&mut self, session: &Session) -> Option<Instant> {
        let seen = session.progress();
        if seen != self.seen {
            self.seen = seen;
            self.progress = Instant::now();
        }
        let moving = self.response.map(|d| self.progress + d);
        match (self.fixed, moving) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A blocking IMAP4 connection with imaplib's API.
///
/// Every command method returns a [`Response`] — imaplib's `(typ, data)` —
/// or an [`Error`] whose [`kind`](Error::kind) is imaplib's `error`, `abort`
/// or `readonly`.
///
/// Arguments follow imaplib's quoting rules: an argument in parentheses or
/// double quotes goes out unchanged, one made of letters, digits and
/// ``_!#$%&'*+,.:;<=>?^`|~-`` goes out unchanged, anything else is quoted
/// (or sent as a literal if it holds CR or LF). So `create("My Folder")`
/// works, and `fetch("1", "(BODY[])")` must keep its parentheses.
///
/// ```no_run
/// let mut m = imap4::Imap4::connect("", imap4::IMAP4_PORT)?;
/// m.login("alice", "secret")?;
/// m.select("INBOX", false)?;
/// let found = m.search(None, &["ALL"])?;
/// let nums = found.data[0].as_line().unwrap_or_default().to_vec();
/// for num in nums.split(|&b| b == b' ').filter(|n| !n.is_empty()) {
///     let num = std::str::from_utf8(num).unwrap();
///     let msg = m.fetch(num, "(RFC822)")?;
///     println!("Message {num}: {:?}", msg.data);
/// }
/// m.close()?;
/// m.logout()?;
/// # Ok::<(), imap4::Error>(())
/// ```
pub struct Imap4 {
    transport: Box<dyn Transport>,
    timeouts: Timeouts,
    /// The read timeout last set on the transport.
    applied_read_timeout: Option<Duration>,
    require_tls: bool,
    pub(crate) session: Session,
    debug: u32,
    host: String,
    port: u16,
}

impl std::fmt::Debug for Imap4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap4")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("state", &self.session.state())
            .finish_non_exhaustive()
    }
}

/// The shorter of two optional timeouts (`None` is no timeout).
/// Tells the session what a read into its buffer ([`Session::read_buf`],
/// already committed) came to: bytes, EOF (an abort), or an I/O failure
/// (the session is broken; nothing half-read is kept).
pub(crate) fn after_read(session: &mut Session, read: io::Result<usize>) -> Result<(), Error> {
    match read {
        Ok(0) => Err(session.receive_eof().into()),
        Ok(_) => Ok(()),
        Err(e) => Err(transport_failed(session, e)),
    }
}

/// Breaks the session after an I/O failure and returns the error to report.
pub(crate) fn transport_failed(session: &mut Session, e: io::Error) -> Error {
    session.fail_transport(&format!("socket error: {e}"));
    Error::io(e)
}

/// Whether commands and responses are traced: imaplib's debug level above
/// 3, or a `tracing` subscriber that wants DEBUG events of `imap4`.
pub(crate) fn wants_trace(debug: u32) -> bool {
    debug > 3 || tracing::enabled!(target: "imap4", tracing::Level::DEBUG)
}

/// Sends the session's trace lines to `tracing` (DEBUG, target `imap4`;
/// passwords and AUTHENTICATE data redacted by the session), then turns
/// collecting on or off as [`wants_trace`] now says, so a subscriber set
/// up after the connection was made still sees what follows.
pub(crate) fn emit_trace(session: &mut Session, debug: u32) {
    for t in session.drain_trace() {
        match t {
            Trace::Sent(s) => tracing::debug!(target: "imap4", "> {s}"),
            Trace::Received(s) => tracing::debug!(target: "imap4", "< {s}"),
        }
    }
    session.set_tracing(wants_trace(debug));
}

pub(crate) fn min_timeout(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Socket read timeouts are set in steps of this (rounded up): a deadline
/// that moves with every read (the response timeout) or shrinks with
/// every read (the command timeout) would otherwise cost a system call
/// per read. A read may then wait up to one step past the deadline; the
/// next read finds it passed.
pub(crate) const TIMEOUT_STEP: Duration = Duration::from_millis(100);

/// `t` rounded up to a whole number of [`TIMEOUT_STEP`]s (never zero
/// unless `t` is).
pub(crate) fn coarse_timeout(t: Option<Duration>) -> Option<Duration> {
    let step = TIMEOUT_STEP.as_nanos();
    t.map(|d| {
        let n = d.as_nanos().div_ceil(step).saturating_mul(step);
        Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
    })
}

/// `host:port` as error messages name a server; `None` for a transport
/// the caller supplied (port 0).
pub(crate) fn peer_name(host: &str, port: u16) -> Option<String> {
    if port == 0 {
        return None;
    }
    let host = if host.is_empty() { "localhost" } else { host };
    Some(if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// The timeout that ends a step of connecting first (the TLS handshake,
/// the greeting), and the name of its [`Config`] field.
pub(crate) fn connect_limit(t: &Timeouts) -> Option<(Duration, &'static str)> {
    [
        (t.connect, "Config::connect_timeout"),
        (t.command, "Config::command_timeout"),
        (t.read, "Config::read_timeout"),
    ]
    .into_iter()
    .filter_map(|(d, name)| d.map(|d| (d, name)))
    .min_by_key(|(d, _)| *d)
}

/// ` within 1.5s (Config::connect_timeout{extra})`, or just
/// ` ({extra})` without a limit.
pub(crate) fn within(limit: Option<(Duration, &'static str)>, extra: &str) -> String {
    match limit {
        Some((d, name)) => format!(" within {d:?} ({name}{extra})"),
        None if extra.is_empty() => String::new(),
        None => format!(" ({})", extra.trim_start_matches("; ")),
    }
}

/// Whether `bytes` start like a TLS record (content type 20 to 23,
/// protocol version 3.x): a TLS server's alert or handshake.
fn looks_like_tls(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && (0x14..=0x17).contains(&bytes[0]) && bytes[1] == 3
}

/// The first bytes a server sent, kept while waiting for its greeting to
/// explain a failure.
#[derive(Default)]
pub(crate) struct FirstBytes(Vec<u8>);

impl FirstBytes {
    /// Notes the bytes received so far while no response is complete
    /// (the session's unprocessed input starts with the stream's start).
    pub(crate) fn note(&mut self, unprocessed: &[u8]) {
        if self.0.len() < 8 {
            self.0.clear();
            self.0
                .extend_from_slice(&unprocessed[..unprocessed.len().min(8)]);
        }
    }
}

/// Explains a failure to get the greeting of `peer` (`None`: a transport
/// the caller supplied, whose errors keep imaplib's messages): a timeout
/// names the server, the limit and the setting; a server that answered in
/// TLS, or closed without a word, on a plaintext connection gets a hint
/// that this may be a TLS port. Other failures (a BYE, a greeting that is
/// not OK or PREAUTH) keep imaplib's messages.
pub(crate) fn greeting_failed(
    e: Error,
    peer: Option<&str>,
    tls: bool,
    first: &FirstBytes,
    limit: Option<(Duration, &'static str)>,
) -> Error {
    const HINT: &str = "is this a TLS port? use connect_ssl";
    let Some(peer) = peer else { return e };
    if !tls && looks_like_tls(&first.0) {
        return e.with_message(format!(
            "{peer} did not greet with IMAP: it answered in TLS ({HINT})"
        ));
    }
    let hint = if tls {
        String::new()
    } else {
        format!("; {HINT}")
    };
    if e.is_timeout() {
        return e.with_message(format!(
            "socket error: timed out: no greeting from {peer}{}",
            within(limit, &hint)
        ));
    }
    let eof = matches!(
        e.session_error(),
        Some(imap4_proto::SessionError::Closed(m)) if m == "socket error: EOF"
    );
    if eof && first.0.is_empty() {
        let hint = if tls {
            String::new()
        } else {
            format!(" ({HINT})")
        };
        return e.with_message(format!(
            "socket error: EOF: {peer} closed the connection without a greeting{hint}"
        ));
    }
    e
}

pub(crate) fn random_tag_prefix() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    let n = 4096 + h.finish() % (65536 - 4096);
    String::from_utf8(int2ap(n)).unwrap_or_else(|_| "IMAP".into())
}

/// Connects to `host:port`, directly or through the configured proxy.
pub(crate) fn connect_tcp(host: &str, port: u16, config: &Config) -> Result<TcpStream, Error> {
    let Some(proxy) = &config.proxy else {
        return connect_direct(host, port, config.connect_timeout);
    };
    let deadline = config.connect_timeout.map(|t| Instant::now() + t);
    let mut stream = connect_direct(&proxy.host, proxy.port, config.connect_timeout)
        .map_err(|e| e.context(&format!("cannot reach {}", proxy_name(proxy))))?;
    proxy_handshake(
        &mut stream,
        proxy,
        host,
        port,
        deadline,
        config.connect_timeout,
    )?;
    stream.set_read_timeout(None).map_err(Error::io)?;
    Ok(stream)
}

/// The proxy as error messages name it.
pub(crate) fn proxy_name(proxy: &Proxy) -> String {
    let kind = match proxy.kind {
        imap4_proto::proxy::ProxyKind::Socks5 => "SOCKS5",
        imap4_proto::proxy::ProxyKind::HttpConnect => "HTTP",
    };
    format!("{kind} proxy {}", proxy.display_addr())
}

/// A refusing proxy: an abort naming the proxy and its reason.
pub(crate) fn proxy_refused(e: ProxyError) -> Error {
    let message = format!("proxy error: {e}");
    Error::io_with_message(
        io::Error::new(io::ErrorKind::ConnectionRefused, e.0),
        message,
    )
}

/// A proxy that did not finish its handshake in time.
pub(crate) fn proxy_timed_out(proxy: &Proxy, limit: Option<Duration>) -> Error {
    let message = format!(
        "proxy error: {} did not complete its handshake within {:?} (Config::connect_timeout)",
        proxy_name(proxy),
        limit.unwrap_or_default()
    );
    Error::io_with_message(
        io::Error::new(io::ErrorKind::TimedOut, message.clone()),
        message,
    )
}

/// Runs the proxy handshake on `stream` (the bytes are the core's; this
/// only moves them), reading never past its end.
fn proxy_handshake(
    stream: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    limit: Option<Duration>,
) -> Result<(), Error> {
    use std::io::{Read, Write};
    let mut h = Handshake::new(proxy, host, port).map_err(proxy_refused)?;
    let mut buf = [0u8; 512];
    let left = |deadline: Option<Instant>| -> Result<Option<Duration>, Error> {
        match deadline {
            None => Ok(None),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(proxy_timed_out(proxy, limit))
                } else {
                    Ok(Some(left))
                }
            }
        }
    };
    loop {
        if let Some(out) = h.take_output() {
            stream
                .set_write_timeout(left(deadline)?)
                .map_err(Error::io)?;
            stream.write_all(&out).map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    proxy_timed_out(proxy, limit)
                }
                _ => Error::io(e),
            })?;
        }
        if h.is_done() {
            return Ok(());
        }
        let want = h.wants().min(buf.len());
        stream
            .set_read_timeout(left(deadline)?)
            .map_err(Error::io)?;
        match stream.read(&mut buf[..want]) {
            Ok(0) => return Err(proxy_refused(h.receive_eof())),
            Ok(n) => {
                h.receive(&buf[..n]).map_err(proxy_refused)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(proxy_timed_out(proxy, limit))
            }
            Err(e) => return Err(Error::io(e)),
        }
    }
}

fn connect_direct(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let host = if host.is_empty() { "localhost" } else { host };
    let stream = match timeout {
        None => TcpStream::connect((host, port)).map_err(|e| Error::connect(host, port, e))?,
        Some(t) => {
            let mut last = None;
            let mut found = None;
            let addrs = (host, port)
                .to_socket_addrs()
                .map_err(|e| Error::connect(host, port, e))?;
            for addr in addrs {
                match TcpStream::connect_timeout(&addr, t) {
                    Ok(s) => {
                        found = Some(s);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            match found {
                Some(s) => s,
                None => {
                    return Err(Error::connect(
                        host,
                        port,
                        last.unwrap_or_else(|| {
                            io::Error::new(io::ErrorKind::NotFound, "no address for host")
                        }),
                    ))
                }
            }
        }
    };
    // Commands are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl Imap4 {
    /// Connects over TCP to `host:port` (`""` means localhost), reads the
    /// greeting and asks for the server's capabilities.
    pub fn connect(host: &str, port: u16) -> Result<Imap4, Error> {
        Imap4::connect_with(host, port, Config::default())
    }

    /// [`Imap4::connect`] with settings.
    pub fn connect_with(host: &str, port: u16, config: Config) -> Result<Imap4, Error> {
        let stream = connect_tcp(host, port, &config)?;
        Imap4::build(Box::new(stream), config, &random_tag_prefix(), host, port)
    }

    /// Connects with implicit TLS (IMAPS, port [`IMAP4_SSL_PORT`]), verifying
    /// the server's certificate against the platform's trust store.
    pub fn connect_ssl(host: &str, port: u16) -> Result<Imap4, Error> {
        Imap4::connect_ssl_with(host, port, TlsOptions::default())
    }

    /// [`Imap4::connect_ssl`] with TLS options.
    pub fn connect_ssl_with(host: &str, port: u16, tls: TlsOptions) -> Result<Imap4, Error> {
        Imap4::connect_ssl_config(host, port, tls, Config::default())
    }

    /// [`Imap4::connect_ssl`] with TLS options and connection settings.
    pub fn connect_ssl_config(
        host: &str,
        port: u16,
        tls: TlsOptions,
        config: Config,
    ) -> Result<Imap4, Error> {
        let conn = TlsTransport::prepare(&tls, host)?;
        let mut stream: Box<dyn Transport> = Box::new(connect_tcp(host, port, &config)?);
        let phase = Timeouts::from_config(&config).connect_phase();
        let deadline = phase.map(|t| Instant::now() + t);
        stream
            .set_read_timeout(min_timeout(config.read_timeout, phase))
            .map_err(Error::io)?;
        stream
            .set_write_timeout(config.write_timeout)
            .map_err(Error::io)?;
        let timeouts = Timeouts::from_config(&config);
        let peer = peer_name(host, port);
        let tls = TlsTransport::handshake(
            stream,
            conn,
            deadline,
            peer.as_deref(),
            connect_limit(&timeouts),
        )?;
        Imap4::build(Box::new(tls), config, &random_tag_prefix(), host, port)
    }

    /// Connects in plaintext and upgrades with STARTTLS before anything
    /// else: an error if the server does not offer STARTTLS, greets with
    /// PREAUTH, or the upgrade fails. Credentials can never go out in
    /// plaintext on the returned connection (`require_tls` is set).
    pub fn connect_starttls(host: &str, port: u16, tls: TlsOptions) -> Result<Imap4, Error> {
        Imap4::connect_starttls_config(host, port, tls, Config::default())
    }

    /// [`Imap4::connect_starttls`] with connection settings.
    pub fn connect_starttls_config(
        host: &str,
        port: u16,
        tls: TlsOptions,
        config: Config,
    ) -> Result<Imap4, Error> {
        let config = Config {
            require_tls: true,
            ..config
        };
        let stream = connect_tcp(host, port, &config)?;
        let mut m = Imap4::build(Box::new(stream), config, &random_tag_prefix(), host, port)?;
        if !m.session.has_capability("STARTTLS") {
            let _ = m.transport.shutdown();
            return Err(Error::new(
                ErrorKind::Error,
                "server does not offer STARTTLS, and TLS is required",
            ));
        }
        m.starttls(tls)?;
        Ok(m)
    }

    /// Runs `command` with `sh -c` and speaks IMAP over its stdin and
    /// stdout (imaplib's `IMAP4_stream`); its stderr goes to the debug
    /// trace. A PREAUTH greeting puts the connection in AUTH state. The
    /// child is reaped on logout or drop.
    pub fn connect_stream(command: &str) -> Result<Imap4, Error> {
        Imap4::connect_stream_with(command, Config::default())
    }

    /// [`Imap4::connect_stream`] with settings (read timeouts apply; the
    /// connect and write timeouts do not).
    pub fn connect_stream_with(command: &str, config: Config) -> Result<Imap4, Error> {
        let t = StreamTransport::spawn(command).map_err(Error::io)?;
        Imap4::with_transport(Box::new(t), config)
    }

    /// Runs the protocol over a transport the caller supplies: reads the
    /// greeting and asks for capabilities.
    pub fn with_transport(transport: Box<dyn Transport>, config: Config) -> Result<Imap4, Error> {
        Imap4::build(transport, config, &random_tag_prefix(), "", 0)
    }

    /// Like [`Imap4::with_transport`] with a fixed tag prefix instead of a
    /// random one, for tests that need exact transcripts.
    #[doc(hidden)]
    pub fn with_transport_and_tag_prefix(
        transport: Box<dyn Transport>,
        config: Config,
        prefix: &str,
    ) -> Result<Imap4, Error> {
        Imap4::build(transport, config, prefix, "", 0)
    }

    fn build(
        mut transport: Box<dyn Transport>,
        config: Config,
        prefix: &str,
        host: &str,
        port: u16,
    ) -> Result<Imap4, Error> {
        transport
            .set_read_timeout(config.read_timeout)
            .map_err(Error::io)?;
        transport
            .set_write_timeout(config.write_timeout)
            .map_err(Error::io)?;
        let mut m = Imap4 {
            transport,
            timeouts: Timeouts::from_config(&config),
            applied_read_timeout: config.read_timeout,
            require_tls: config.require_tls,
            session: Session::new(config.limits.clone(), prefix),
            debug: config.debug.unwrap_or_else(debug),
            host: host.to_string(),
            port,
        };
        m.session.set_tracing(wants_trace(m.debug));
        if let Err(e) = m.start(config.greeting_capabilities) {
            let _ = m.transport.shutdown();
            return Err(e);
        }
        Ok(m)
    }

    fn start(&mut self, greeting_capabilities: bool) -> Result<(), Error> {
        let mut first = FirstBytes::default();
        if let Err(e) = self.await_greeting(&mut first) {
            let peer = peer_name(&self.host, self.port);
            let tls = self.transport.tls().is_some();
            let limit = connect_limit(&self.timeouts);
            return Err(greeting_failed(e, peer.as_deref(), tls, &first, limit));
        }
        if self.require_tls && self.transport.tls().is_none() && self.session.state() == State::Auth
        {
            return Err(Error::new(
                ErrorKind::Error,
                "PREAUTH greeting over a connection without TLS, and TLS is required",
            ));
        }
        if !(greeting_capabilities && self.session.adopt_greeting_capabilities()) {
            self.run(|s| s.refresh_capabilities())?;
        }
        Ok(())
    }

    /// Reads until the greeting is in, keeping the first bytes received.
    fn await_greeting(&mut self, first: &mut FirstBytes) -> Result<(), Error> {
        let mut deadline = Deadline::connect(&self.timeouts, &self.session);
        loop {
            let greeted = self.session.read_greeting();
            self.emit_trace();
            if greeted? {
                return Ok(());
            }
            let until = deadline.next(&self.session);
            self.fill(until)?;
            first.note(self.session.unprocessed());
        }
    }

    // ----- the driver -------------------------------------------------------

    /// Sets the transport's read timeout, skipping the system call when it
    /// is already in force.
    fn apply_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        if self.applied_read_timeout != t {
            self.transport.set_read_timeout(t)?;
            self.applied_read_timeout = t;
        }
        Ok(())
    }

    /// Reads once (bounded by `deadline`) and hands the bytes to the
    /// session; returns how many were read.
    fn fill(&mut self, deadline: Option<Instant>) -> Result<usize, Error> {
        // Each read may wait at most until the command's deadline.
        let wanted = match deadline {
            None => self.timeouts.read,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.session.fail_transport("command timed out");
                    return Err(Error::io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "command timed out",
                    )));
                }
                min_timeout(self.timeouts.read, Some(left))
            }
        };
        if let Err(e) = self.apply_read_timeout(coarse_timeout(wanted)) {
            return Err(Error::io(e));
        }
        let read = self.read_once();
        let n = read.as_ref().map_or(0, |n| *n);
        after_read(&mut self.session, read)?;
        Ok(n)
    }

    /// One read from the transport straight into the session's buffer
    /// (retried if interrupted).
    fn read_once(&mut self) -> io::Result<usize> {
        let transport = &mut self.transport;
        loop {
            match self.session.read_into(|b| transport.read(b)) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// Waits for bytes until `wake`; the time running out is no error
    /// (IDLE's timers).
    fn fill_until(&mut self, wake: Instant) -> Result<(), Error> {
        let left = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        self.apply_read_timeout(Some(left)).map_err(Error::io)?;
        match self.read_once() {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(())
            }
            r => after_read(&mut self.session, r),
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        while let Some(out) = self.session.take_output() {
            if let Err(e) = self.transport.write_all(&out) {
                return Err(transport_failed(&mut self.session, e));
            }
            wrote = true;
        }
        if wrote {
            if let Err(e) = self.transport.flush() {
                return Err(transport_failed(&mut self.session, e));
            }
        }
        Ok(())
    }

    fn emit_trace(&mut self) {
        emit_trace(&mut self.session, self.debug);
    }

    /// Drives `pending` to its tagged response.
    fn drive(
        &mut self,
        pending: &Pending,
        mut auth: Auth<'_>,
    ) -> Result<imap4_proto::Tagged, Stop> {
        let mut deadline = Deadline::command(&self.timeouts, &self.session);
        loop {
            self.flush().map_err(Stop::Io)?;
            let polled = match &mut auth {
                Auth::Mechanism(m) => self.session.poll_sasl(pending, &mut **m),
                Auth::Each(each) => self.session.poll_each(pending, &mut **each),
                Auth::Streamed(each) => self.session.poll_streamed(pending, &mut **each),
                _ => self.session.poll(pending),
            };
            self.emit_trace();
            match polled.map_err(Stop::Session)? {
                Poll::Done(t) => return Ok(t),
                Poll::NeedInput => {
                    // A continuation may have released held-back output (a
                    // literal): send it before waiting for the server.
                    self.flush().map_err(Stop::Io)?;
                    let until = deadline.next(&self.session);
                    self.fill(until).map_err(Stop::Io)?;
                }
                Poll::Challenge(data) => {
                    let answer = match &mut auth {
                        Auth::Callback(f) => f(&data),
                        _ => None,
                    };
                    self.session.answer_challenge(pending, answer.as_deref());
                }
            }
        }
    }

    fn run_with_auth(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Begin, imap4_proto::SessionError>,
        auth: Option<Authobject<'_>>,
    ) -> Result<Response, Error> {
        self.end_idle()?;
        let pending = match begin(&mut self.session)? {
            Begin::Done(r) => return Ok(r),
            Begin::Sent(p) => p,
        };
        let auth = match auth {
            Some(f) => Auth::Callback(f),
            None => Auth::None,
        };
        self.execute(pending, auth, Session::complete)
    }

    /// Drives `pending` to completion and finishes it with `complete`
    /// (imaplib's shaping, or the typed one).
    pub(crate) fn execute<T>(
        &mut self,
        pending: Pending,
        auth: Auth<'_>,
        complete: impl FnOnce(
            &mut Session,
            Pending,
            Result<imap4_proto::Tagged, imap4_proto::SessionError>,
        ) -> Result<T, imap4_proto::SessionError>,
    ) -> Result<T, Error> {
        let outcome = match self.drive(&pending, auth) {
            Ok(t) => Ok(t),
            Err(Stop::Session(session_error)) => Err(session_error),
            Err(Stop::Io(io_error)) => {
                // Keep imaplib's "command: NAME => …" context on I/O errors.
                let io_error = io_error.in_command(pending.name());
                let closed = imap4_proto::SessionError::Closed(io_error.to_string());
                let _ = complete(&mut self.session, pending, Err(closed));
                let _ = self.transport.shutdown();
                return Err(io_error);
            }
        };
        let logout = pending.is_logout();
        let result = complete(&mut self.session, pending, outcome);
        self.emit_trace();
        if logout {
            let _ = self.transport.shutdown();
        }
        Ok(result?)
    }

    /// Runs a typed command (see [`crate::typed`]).
    pub(crate) fn run_typed(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Pending, imap4_proto::SessionError>,
    ) -> Result<imap4_proto::typed::TypedOutcome, Error> {
        self.end_idle()?;
        let pending = begin(&mut self.session)?;
        self.execute(pending, Auth::None, Session::complete_typed)
    }

    /// Runs typed commands pipelined: `begin` queues them all, they go
    /// out in one write, and each is then completed in order. Every queued
    /// command is driven to its end even when an earlier one fails.
    pub(crate) fn run_typed_many(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Vec<Result<Pending, imap4_proto::SessionError>>,
    ) -> Result<Vec<Result<imap4_proto::typed::TypedOutcome, Error>>, Error> {
        self.end_idle()?;
        let begun = begin(&mut self.session);
        Ok(begun
            .into_iter()
            .map(|p| self.execute(p?, Auth::None, Session::complete_typed))
            .collect())
    }

    /// Runs a typed command whose responses go to `each` as they arrive.
    pub(crate) fn run_typed_each(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Pending, imap4_proto::SessionError>,
        each: &mut (dyn FnMut(bytes::Bytes) + Send),
    ) -> Result<imap4_proto::typed::TypedOutcome, Error> {
        self.end_idle()?;
        let pending = begin(&mut self.session)?;
        self.execute(pending, Auth::Each(each), Session::complete_typed)
    }

    /// Runs a typed command whose responses and streamed bodies go to
    /// `each` as they arrive.
    pub(crate) fn run_typed_streamed(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Pending, imap4_proto::SessionError>,
        each: &mut (dyn FnMut(imap4_proto::Streamed) + Send),
    ) -> Result<imap4_proto::typed::TypedOutcome, Error> {
        self.end_idle()?;
        let pending = begin(&mut self.session)?;
        self.execute(pending, Auth::Streamed(each), Session::complete_typed)
    }

    /// AUTHENTICATE with a SASL mechanism, run by the session (see
    /// [`crate::Typed::authenticate`]).
    pub(crate) fn run_sasl(
        &mut self,
        mechanism: &mut dyn Mechanism,
    ) -> Result<Authenticated, Error> {
        self.end_idle()?;
        let pending = self.session.sasl_authenticate(mechanism)?;
        self.execute(pending, Auth::Mechanism(mechanism), Session::complete_sasl)
    }

    /// The LOGIN command, typed (see [`crate::Typed::login_auto`]).
    pub(crate) fn run_typed_login(
        &mut self,
        user: &str,
        password: &Secret,
    ) -> Result<Authenticated, Error> {
        self.end_idle()?;
        let pending = self.session.typed_login(user, password)?;
        self.execute(pending, Auth::None, Session::complete_sasl)
    }

    pub(crate) fn run(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Begin, imap4_proto::SessionError>,
    ) -> Result<Response, Error> {
        self.run_with_auth(begin, None)
    }

    // ----- imaplib's commands ----------------------------------------------

    crate::methods::imaplib_commands!([] [] []);

    /// STARTTLS: upgrades the connection to TLS (CPython's `starttls`).
    ///
    /// Hardened against STARTTLS injection: any byte the server sent after
    /// its tagged OK and before the handshake is an error and the
    /// connection is closed unprocessed; everything learned before TLS
    /// (capabilities, untagged data) is forgotten, and capabilities are
    /// asked again over TLS. A NO, BAD or continuation answer is an error,
    /// as is a server that does not advertise STARTTLS.
    pub fn starttls(&mut self, tls: TlsOptions) -> Result<Response, Error> {
        if self.transport.tls().is_some() {
            return Err(Error::new(
                ErrorKind::Abort,
                "TLS session already established",
            ));
        }
        // Load the options first: bad options are an error with nothing sent.
        let conn = TlsTransport::prepare(&tls, &self.host)?;
        let response = match self.run(|s| s.starttls()) {
            Ok(r) => r,
            Err(e) => {
                if self.session.is_broken() {
                    let _ = self.shutdown();
                }
                return Err(e);
            }
        };
        let phase = self.timeouts.connect_phase();
        let deadline = phase.map(|t| Instant::now() + t);
        let handshake_timeout = min_timeout(self.timeouts.read, phase);
        if let Err(e) = self.apply_read_timeout(handshake_timeout) {
            self.session.fail_transport(&e.to_string());
            return Err(Error::io(e));
        }
        let inner = std::mem::replace(&mut self.transport, Box::new(Closed));
        let peer = peer_name(&self.host, self.port);
        let limit = connect_limit(&self.timeouts);
        match TlsTransport::handshake(inner, conn, deadline, peer.as_deref(), limit) {
            Ok(t) => self.transport = Box::new(t),
            Err(e) => {
                self.session.fail_transport(&e.to_string());
                return Err(e);
            }
        }
        self.session.tls_established();
        self.run(|s| s.refresh_capabilities())?;
        Ok(response)
    }

    /// The TLS session (imaplib's `ssl()`), `None` without TLS.
    pub fn ssl(&self) -> Option<&rustls::ClientConnection> {
        self.transport.tls()
    }

    // ----- transport hooks --------------------------------------------------

    /// Reads `size` bytes from the server (imaplib's `read()`), starting
    /// with any bytes received but not yet processed.
    pub fn read(&mut self, size: usize) -> Result<Vec<u8>, Error> {
        self.apply_read_timeout(self.timeouts.read)
            .map_err(Error::io)?;
        let mut out = self.session.take_unprocessed().to_vec();
        while out.len() < size {
            // Through the session: it inflates under COMPRESS.
            let n = self.read_once().map_err(Error::io)?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&self.session.take_unprocessed());
        }
        if out.len() > size {
            self.session.put_back(&out[size..]);
            out.truncate(size);
        }
        Ok(out)
    }

    /// Reads one line, CRLF included (imaplib's `readline()`); a line
    /// longer than the line limit is an error.
    pub fn readline(&mut self) -> Result<Vec<u8>, Error> {
        self.apply_read_timeout(self.timeouts.read)
            .map_err(Error::io)?;
        let max = self.session.limits().max_line_len;
        let mut out = self.session.take_unprocessed().to_vec();
        loop {
            if let Some(i) = out.iter().position(|&b| b == b'\n') {
                self.session.put_back(&out[i + 1..]);
                out.truncate(i + 1);
                if out.len() > max {
                    return Err(Error::new(
                        ErrorKind::Error,
                        format!("got more than {max} bytes"),
                    ));
                }
                return Ok(out);
            }
            if out.len() > max {
                return Err(Error::new(
                    ErrorKind::Error,
                    format!("got more than {max} bytes"),
                ));
            }
            let n = self.read_once().map_err(Error::io)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&self.session.take_unprocessed());
        }
    }

    /// Sends `data` to the server as it is (imaplib's `send()`; deflated
    /// under COMPRESS).
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        let data = self.session.encode_raw(data)?;
        self.transport.write_all(&data).map_err(Error::io)?;
        self.transport.flush().map_err(Error::io)
    }

    /// Closes the connection (imaplib's `shutdown()`).
    pub fn shutdown(&mut self) -> Result<(), Error> {
        self.session.fail_transport("connection shut down");
        self.transport.shutdown().map_err(Error::io)
    }

    /// The TCP socket, where the transport has one (imaplib's `socket()`).
    pub fn socket(&self) -> Option<&TcpStream> {
        self.transport.socket()
    }

    crate::methods::session_attributes!();

    crate::idle::live_methods!([] []);

    /// The typed, Rust-native API on this same connection: typed
    /// arguments, parsed results, streamed bodies. See [`crate::Typed`].
    pub fn typed(&mut self) -> crate::Typed<'_> {
        crate::Typed::new(self)
    }
}
