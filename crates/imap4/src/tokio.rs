//! The async driver on tokio (feature `tokio`): the same core, the same
//! methods and semantics as the blocking [`crate::Imap4`], awaited.
//!
//! ```no_run
//! # async fn demo() -> Result<(), imap4::Error> {
//! let mut m = imap4::tokio::Imap4::connect("localhost", imap4::IMAP4_PORT).await?;
//! m.login("alice", "secret").await?;
//! let r = m.select("INBOX", false).await?;
//! println!("{} messages", String::from_utf8_lossy(r.data[0].as_line().unwrap_or_default()));
//! m.logout().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::net::TcpStream;
use ::tokio::time::{timeout_at, Instant};
use imap4_proto::sasl::{AutoLogin, LoginMethod, Mechanism, Secret};
use imap4_proto::typed::TypedOutcome;
use imap4_proto::{
    Authenticated, Begin, ErrorKind, Pending, Poll, Response, Session, SessionError, State, Tagged,
};

use crate::client::{
    after_read, connect_limit, debug, emit_trace, greeting_failed, min_timeout, peer_name,
    proxy_name, proxy_refused, proxy_timed_out, random_tag_prefix, transport_failed, Config,
    Deadline, FirstBytes, Timeouts,
};
use crate::error::Error;
use crate::typed::{
    FetchAttr, Fetches, MailboxInfo, MailboxStatus, MailboxVerb, SearchKey, SelectedMailbox,
    SeqSet, SetArg, StatusAttr, StoreOp, UidMapping, UidSet,
};
use crate::TlsOptions;
use bytes::Bytes;
use imap4_proto::proxy::Handshake;

#[path = "live.rs"]
mod live;
pub use live::{
    connect, connect_starttls, connect_tls, Client, Connection, Events, FetchStream, JobFuture,
    OwnedFetch, EVENT_CAPACITY, STREAM_CAPACITY,
};

/// An async byte stream to an IMAP server. TCP and TLS over any
/// `AsyncTransport` are provided; implement it to run over anything else.
pub trait AsyncTransport: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TLS session, if this transport is TLS.
    fn tls(&self) -> Option<&rustls::ClientConnection> {
        None
    }

    /// The TCP socket underneath, if there is one.
    fn socket(&self) -> Option<&TcpStream> {
        None
    }
}

impl AsyncTransport for TcpStream {
    fn socket(&self) -> Option<&TcpStream> {
        Some(self)
    }
}

impl AsyncTransport for tokio_rustls::client::TlsStream<Box<dyn AsyncTransport>> {
    fn tls(&self) -> Option<&rustls::ClientConnection> {
        Some(self.get_ref().1)
    }

    fn socket(&self) -> Option<&TcpStream> {
        self.get_ref().0.socket()
    }
}

/// A child process's stdin and stdout as a transport (`connect_stream`).
struct ChildTransport {
    child: ::tokio::process::Child,
    stdin: Option<::tokio::process::ChildStdin>,
    stdout: ::tokio::process::ChildStdout,
}

impl ChildTransport {
    fn spawn(command: &str) -> std::io::Result<ChildTransport> {
        use ::tokio::io::AsyncBufReadExt as _;
        let mut child = ::tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("child has no stdout"))?;
        if let Some(stderr) = child.stderr.take() {
            ::tokio::spawn(async move {
                let mut lines = ::tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    tracing::debug!(target: "imap4::stream", "stderr: {l}");
                }
            });
        }
        Ok(ChildTransport {
            child,
            stdin,
            stdout,
        })
    }
}

impl AsyncRead for ChildTransport {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ::tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChildTransport {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.stdin.as_mut() {
            Some(w) => std::pin::Pin::new(w).poll_write(cx, buf),
            None => std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.stdin.as_mut() {
            Some(w) => std::pin::Pin::new(w).poll_flush(cx),
            None => std::task::Poll::Ready(Ok(())),
        }
    }

    /// Closes the child's stdin: the server sees EOF and finishes.
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.stdin = None;
        let _ = self.child.try_wait();
        std::task::Poll::Ready(Ok(()))
    }
}

impl AsyncTransport for ChildTransport {}

/// The AUTHENTICATE callback: challenge in, answer out (`None` cancels).
type Authobject<'a> = &'a mut (dyn FnMut(&[u8]) -> Option<Vec<u8>> + Send);

/// Who answers AUTHENTICATE challenges.
enum Auth<'a> {
    /// Nobody (not an AUTHENTICATE command).
    None,
    /// imaplib's callback.
    Callback(Authobject<'a>),
    /// A SASL mechanism, driven by the session.
    Mechanism(&'a mut dyn Mechanism),
    /// A typed command whose responses are handed out as they arrive
    /// (streaming), not collected.
    Each(&'a mut (dyn FnMut(Bytes) + Send)),
    /// A typed command whose responses and streamed bodies are handed out
    /// as they arrive.
    Streamed(&'a mut (dyn FnMut(imap4_proto::Streamed) + Send)),
    /// A command whose streamed body goes to an async writer (the first
    /// write error is kept, and the command still runs to its end).
    Sink(&'a mut BodySink<'a>),
}

/// Why driving a command stopped: the protocol, or the transport.
enum Stop {
    Session(SessionError),
    Io(Error),
}

/// Connects to `host:port`, directly or through the configured proxy
/// (the handshake's bytes are the core's; this only moves them).
async fn connect_tcp(host: &str, port: u16, config: &Config) -> Result<TcpStream, Error> {
    let Some(proxy) = &config.proxy else {
        return connect_direct(host, port, config.connect_timeout).await;
    };
    let limit = config.connect_timeout;
    let work = async {
        let mut stream = connect_direct(&proxy.host, proxy.port, None)
            .await
            .map_err(|e| e.context(&format!("cannot reach {}", proxy_name(proxy))))?;
        let mut h = Handshake::new(proxy, host, port).map_err(proxy_refused)?;
        let mut buf = [0u8; 512];
        loop {
            if let Some(out) = h.take_output() {
                stream.write_all(&out).await.map_err(Error::io)?;
            }
            if h.is_done() {
                return Ok(stream);
            }
            let want = h.wants().min(buf.len());
            match stream.read(&mut buf[..want]).await {
                Ok(0) => return Err(proxy_refused(h.receive_eof())),
                Ok(n) => {
                    h.receive(&buf[..n]).map_err(proxy_refused)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(e)),
            }
        }
    };
    match limit {
        None => work.await,
        Some(t) => ::tokio::time::timeout(t, work)
            .await
            .map_err(|_| proxy_timed_out(proxy, limit))?,
    }
}

async fn connect_direct(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
) -> Result<TcpStream, Error> {
    let host = if host.is_empty() { "localhost" } else { host };
    let connect = TcpStream::connect((host, port));
    let failed = |e| Error::connect(host, port, e);
    let stream = match timeout {
        None => connect.await.map_err(failed)?,
        Some(t) => ::tokio::time::timeout(t, connect)
            .await
            .map_err(|_| {
                failed(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ))
            })?
            .map_err(failed)?,
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Runs the TLS handshake over `inner` with `host` (`port` for the
/// messages, 0 if unknown), bounded by `deadline`.
async fn handshake(
    inner: Box<dyn AsyncTransport>,
    tls: &TlsOptions,
    (host, port): (&str, u16),
    deadline: Option<Instant>,
    timeouts: &Timeouts,
) -> Result<Box<dyn AsyncTransport>, Error> {
    let (config, name) = tls.config_for(host)?;
    let connect = tokio_rustls::TlsConnector::from(Arc::clone(&config)).connect(name, inner);
    let result = match deadline {
        None => connect.await,
        Some(d) => timeout_at(d, connect).await.unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ))
        }),
    };
    result
        .map(|s| Box::new(s) as Box<dyn AsyncTransport>)
        .map_err(|e| {
            let peer = peer_name(host, port);
            crate::tls::handshake_failed(e, peer.as_deref(), connect_limit(timeouts))
        })
}

/// An async IMAP4 connection with imaplib's API (every command method is
/// `async`). See [`crate::Imap4`] for the semantics, which are identical.
pub struct Imap4 {
    transport: Box<dyn AsyncTransport>,
    session: Session,
    debug: u32,
    host: String,
    /// The port connected to (0: a transport the caller supplied).
    port: u16,
    require_tls: bool,
    timeouts: Timeouts,
    /// Output taken from the session but not yet written (a write future
    /// dropped half-way leaves the rest here, never lost).
    unwritten: Bytes,
    /// A command's future is running; still set at the next command means
    /// that future was dropped (see [`Imap4::settle`]).
    busy: bool,
}

impl std::fmt::Debug for Imap4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("tokio::Imap4")
            .field("host", &self.host)
            .field("state", &self.session.state())
            .finish_non_exhaustive()
    }
}

impl Imap4 {
    /// Connects over TCP, reads the greeting and asks for capabilities.
    pub async fn connect(host: &str, port: u16) -> Result<Imap4, Error> {
        Imap4::connect_with(host, port, Config::default()).await
    }

    /// [`Imap4::connect`] with settings.
    pub async fn connect_with(host: &str, port: u16, config: Config) -> Result<Imap4, Error> {
        let stream = connect_tcp(host, port, &config).await?;
        Imap4::start(Box::new(stream), config, host, port).await
    }

    /// Connects with implicit TLS, verifying the certificate.
    pub async fn connect_ssl(host: &str, port: u16) -> Result<Imap4, Error> {
        Imap4::connect_ssl_config(host, port, TlsOptions::default(), Config::default()).await
    }

    /// [`Imap4::connect_ssl`] with TLS options.
    pub async fn connect_ssl_with(host: &str, port: u16, tls: TlsOptions) -> Result<Imap4, Error> {
        Imap4::connect_ssl_config(host, port, tls, Config::default()).await
    }

    /// [`Imap4::connect_ssl`] with TLS options and settings.
    pub async fn connect_ssl_config(
        host: &str,
        port: u16,
        tls: TlsOptions,
        config: Config,
    ) -> Result<Imap4, Error> {
        // Load the options before connecting: bad files fail without I/O.
        tls.config_for(host)?;
        let stream = connect_tcp(host, port, &config).await?;
        let phase = Timeouts::from_config(&config).connect_phase();
        let deadline = min_timeout(config.read_timeout, phase).map(|t| Instant::now() + t);
        let timeouts = Timeouts::from_config(&config);
        let tls = handshake(Box::new(stream), &tls, (host, port), deadline, &timeouts).await?;
        Imap4::start(tls, config, host, port).await
    }

    /// Connects in plaintext and upgrades with STARTTLS before anything
    /// else; credentials can never go out in plaintext on the result.
    pub async fn connect_starttls(host: &str, port: u16, tls: TlsOptions) -> Result<Imap4, Error> {
        Imap4::connect_starttls_config(host, port, tls, Config::default()).await
    }

    /// [`Imap4::connect_starttls`] with settings.
    pub async fn connect_starttls_config(
        host: &str,
        port: u16,
        tls: TlsOptions,
        config: Config,
    ) -> Result<Imap4, Error> {
        let config = Config {
            require_tls: true,
            ..config
        };
        let mut m = Imap4::connect_with(host, port, config).await?;
        if !m.session.has_capability("STARTTLS") {
            let _ = m.transport.shutdown().await;
            return Err(Error::new(
                ErrorKind::Error,
                "server does not offer STARTTLS, and TLS is required",
            ));
        }
        m.starttls(tls).await?;
        Ok(m)
    }

    /// Runs `command` with `sh -c` and speaks IMAP over its stdin and
    /// stdout (imaplib's `IMAP4_stream`, through `tokio::process`); its
    /// stderr goes to the debug trace. A PREAUTH greeting puts the
    /// connection in AUTH state. The child is killed and reaped when the
    /// connection is dropped.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), imap4::Error> {
    /// let mut m = imap4::tokio::Imap4::connect_stream("/usr/lib/dovecot/imap").await?;
    /// m.select("INBOX", true).await?;
    /// m.logout().await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_stream(command: &str) -> Result<Imap4, Error> {
        Imap4::connect_stream_with(command, Config::default()).await
    }

    /// [`Imap4::connect_stream`] with settings (read timeouts apply; the
    /// connect timeout does not).
    pub async fn connect_stream_with(command: &str, config: Config) -> Result<Imap4, Error> {
        let t = ChildTransport::spawn(command).map_err(Error::io)?;
        Imap4::start(Box::new(t), config, "", 0).await
    }

    /// Runs the protocol over a transport the caller supplies.
    pub async fn with_transport(
        transport: Box<dyn AsyncTransport>,
        config: Config,
    ) -> Result<Imap4, Error> {
        Imap4::start(transport, config, "", 0).await
    }

    async fn start(
        transport: Box<dyn AsyncTransport>,
        config: Config,
        host: &str,
        port: u16,
    ) -> Result<Imap4, Error> {
        let mut m = Imap4 {
            transport,
            session: Session::new(config.limits.clone(), &random_tag_prefix()),
            debug: config.debug.unwrap_or_else(debug),
            host: host.to_string(),
            port,
            require_tls: config.require_tls,
            timeouts: Timeouts::from_config(&config),
            unwritten: Bytes::new(),
            busy: false,
        };
        m.session.set_tracing(crate::client::wants_trace(m.debug));
        if let Err(e) = m.greet(config.greeting_capabilities).await {
            let _ = m.transport.shutdown().await;
            return Err(e);
        }
        Ok(m)
    }

    async fn greet(&mut self, greeting_capabilities: bool) -> Result<(), Error> {
        let mut first = FirstBytes::default();
        if let Err(e) = self.await_greeting(&mut first).await {
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
            self.run(|s| s.refresh_capabilities()).await?;
        }
        Ok(())
    }

    /// Reads until the greeting is in, keeping the first bytes received.
    async fn await_greeting(&mut self, first: &mut FirstBytes) -> Result<(), Error> {
        let mut deadline = Deadline::connect(&self.timeouts, &self.session);
        loop {
            let greeted = self.session.read_greeting();
            emit_trace(&mut self.session, self.debug);
            if greeted? {
                return Ok(());
            }
            let until = deadline.next(&self.session).map(Instant::from_std);
            self.fill(until).await?;
            first.note(self.session.unprocessed());
        }
    }

    // ----- the driver ---------------------------------------------------------

    /// Reads once (bounded by `deadline` and the read timeout) and hands
    /// the bytes to the session; returns how many were read.
    async fn fill(&mut self, deadline: Option<Instant>) -> Result<usize, Error> {
        let per_read = self.timeouts.read.map(|t| Instant::now() + t);
        let until = match (deadline, per_read) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Straight into the session's buffer; a read that did not finish
        // appended nothing.
        let read = self.transport.read_buf(self.session.read_buf());
        let result = match until {
            None => read.await,
            Some(u) => match timeout_at(u, read).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "read timed out",
                )),
            },
        };
        self.session.commit();
        let n = result.as_ref().map_or(0, |n| *n);
        after_read(&mut self.session, result)?;
        Ok(n)
    }

    /// Waits for bytes until `wake`; the time running out is no error
    /// (IDLE's timers). Cancel-safe: a read that did not finish took
    /// nothing.
    async fn fill_until(&mut self, wake: std::time::Instant) -> Result<(), Error> {
        let read = self.transport.read_buf(self.session.read_buf());
        let r = timeout_at(Instant::from_std(wake), read).await;
        self.session.commit();
        match r {
            Err(_) => Ok(()),
            Ok(r) => after_read(&mut self.session, r),
        }
    }

    /// Writes what the session has to send. Cancel-safe: one `write` at a
    /// time, and what it did not take stays in `unwritten`.
    async fn flush(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        loop {
            if self.unwritten.is_empty() {
                match self.session.take_output() {
                    Some(out) => self.unwritten = out,
                    None => break,
                }
            }
            let write = self.transport.write(&self.unwritten);
            let r = match self.timeouts.write {
                None => write.await,
                Some(t) => ::tokio::time::timeout(t, write).await.unwrap_or_else(|_| {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "write timed out",
                    ))
                }),
            };
            match r {
                Ok(0) => {
                    let e = std::io::Error::new(std::io::ErrorKind::WriteZero, "connection closed");
                    return Err(transport_failed(&mut self.session, e));
                }
                Ok(n) => {
                    let _ = self.unwritten.split_to(n);
                    wrote = true;
                }
                Err(e) => return Err(transport_failed(&mut self.session, e)),
            }
        }
        if wrote {
            if let Err(e) = self.transport.flush().await {
                return Err(transport_failed(&mut self.session, e));
            }
        }
        Ok(())
    }

    async fn drive(&mut self, pending: &Pending, mut auth: Auth<'_>) -> Result<Tagged, Stop> {
        let mut deadline = Deadline::command(&self.timeouts, &self.session);
        loop {
            self.flush().await.map_err(Stop::Io)?;
            let polled = match &mut auth {
                Auth::Mechanism(m) => self.session.poll_sasl(pending, &mut **m),
                Auth::Each(each) => self.session.poll_each(pending, &mut **each),
                Auth::Streamed(each) => self.session.poll_streamed(pending, &mut **each),
                Auth::Sink(sink) => {
                    let mut pieces = Vec::new();
                    let polled = self.session.poll_streamed(pending, &mut |p| pieces.push(p));
                    for piece in &pieces {
                        sink.take(piece).await;
                    }
                    polled
                }
                _ => self.session.poll(pending),
            };
            emit_trace(&mut self.session, self.debug);
            match polled.map_err(Stop::Session)? {
                Poll::Done(t) => return Ok(t),
                Poll::NeedInput => {
                    self.flush().await.map_err(Stop::Io)?;
                    let until = deadline.next(&self.session).map(Instant::from_std);
                    self.fill(until).await.map_err(Stop::Io)?;
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

    async fn execute<T>(
        &mut self,
        pending: Pending,
        auth: Auth<'_>,
        complete: impl FnOnce(
            &mut Session,
            Pending,
            Result<Tagged, SessionError>,
        ) -> Result<T, SessionError>,
    ) -> Result<T, Error> {
        // Cleared below; still set at the next command if this future is
        // dropped at an await point in between.
        self.busy = true;
        let driven = self.drive(&pending, auth).await;
        self.busy = false;
        let outcome = match driven {
            Ok(t) => Ok(t),
            Err(Stop::Session(e)) => Err(e),
            Err(Stop::Io(e)) => {
                let e = e.in_command(pending.name());
                let _ = complete(
                    &mut self.session,
                    pending,
                    Err(SessionError::Closed(e.to_string())),
                );
                let _ = self.transport.shutdown().await;
                return Err(e);
            }
        };
        let logout = pending.is_logout();
        let result = complete(&mut self.session, pending, outcome);
        emit_trace(&mut self.session, self.debug);
        if logout {
            let _ = self.transport.shutdown().await;
        }
        Ok(result?)
    }

    async fn run_with_auth(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Begin, SessionError>,
        auth: Option<Authobject<'_>>,
    ) -> Result<Response, Error> {
        self.settle().await?;
        let pending = match begin(&mut self.session)? {
            Begin::Done(r) => return Ok(r),
            Begin::Sent(p) => p,
        };
        let auth = match auth {
            Some(f) => Auth::Callback(f),
            None => Auth::None,
        };
        self.execute(pending, auth, Session::complete).await
    }

    pub(crate) async fn run(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Begin, SessionError>,
    ) -> Result<Response, Error> {
        self.run_with_auth(begin, None).await
    }

    /// Brings the connection back in step before a command: commands
    /// whose futures were dropped are run to their end and what they yield
    /// is discarded ([`Session::abandon_in_flight`]); a running IDLE is
    /// ended. Itself cancel-safe: a dropped `settle` resumes at the next
    /// command.
    async fn settle(&mut self) -> Result<(), Error> {
        if self.busy || self.session.has_abandoned() {
            self.busy = false;
            self.session.abandon_in_flight();
            let mut deadline = Deadline::command(&self.timeouts, &self.session);
            loop {
                self.flush().await?;
                if self.session.poll_abandoned()? {
                    break;
                }
                self.flush().await?;
                let until = deadline.next(&self.session).map(Instant::from_std);
                self.fill(until).await?;
            }
            emit_trace(&mut self.session, self.debug);
        }
        self.end_idle().await
    }

    /// Runs a typed command whose responses go to `each` as they arrive.
    pub(crate) async fn run_typed_each(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Pending, SessionError>,
        each: &mut (dyn FnMut(Bytes) + Send),
    ) -> Result<TypedOutcome, Error> {
        self.settle().await?;
        let pending = begin(&mut self.session)?;
        self.execute(pending, Auth::Each(each), Session::complete_typed)
            .await
    }

    /// Runs a typed command whose responses and streamed bodies go to
    /// `each` as they arrive.
    pub(crate) async fn run_typed_streamed(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Pending, SessionError>,
        each: &mut (dyn FnMut(imap4_proto::Streamed) + Send),
    ) -> Result<TypedOutcome, Error> {
        self.settle().await?;
        let pending = begin(&mut self.session)?;
        self.execute(pending, Auth::Streamed(each), Session::complete_typed)
            .await
    }

    /// Runs typed commands pipelined (see the blocking driver's
    /// `run_typed_many`).
    pub(crate) async fn run_typed_many(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Vec<Result<Pending, SessionError>>,
    ) -> Result<Vec<Result<TypedOutcome, Error>>, Error> {
        self.settle().await?;
        let begun = begin(&mut self.session);
        let mut out = Vec::with_capacity(begun.len());
        for p in begun {
            out.push(match p {
                Ok(p) => self.execute(p, Auth::None, Session::complete_typed).await,
                Err(e) => Err(e.into()),
            });
        }
        Ok(out)
    }

    /// Runs a typed command (see [`crate::typed`]) and returns its raw
    /// outcome; the typed result builders of `imap4_proto::typed` apply.
    pub(crate) async fn run_typed(
        &mut self,
        begin: impl FnOnce(&mut Session) -> Result<Pending, SessionError>,
    ) -> Result<TypedOutcome, Error> {
        self.settle().await?;
        let pending = begin(&mut self.session)?;
        self.execute(pending, Auth::None, Session::complete_typed)
            .await
    }

    // ----- transport hooks --------------------------------------------------

    /// Reads `size` bytes from the server (imaplib's `read()`), starting
    /// with any bytes received but not yet processed; fewer at EOF.
    pub async fn read(&mut self, size: usize) -> Result<Vec<u8>, Error> {
        self.settle().await?;
        let mut out = self.session.take_unprocessed().to_vec();
        while out.len() < size {
            if self.fill(None).await? == 0 {
                break;
            }
            // through the session: it inflates under COMPRESS
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
    pub async fn readline(&mut self) -> Result<Vec<u8>, Error> {
        self.settle().await?;
        let max = self.session.limits().max_line_len;
        let mut out = self.session.take_unprocessed().to_vec();
        loop {
            if let Some(i) = out.iter().position(|&b| b == b'\n') {
                self.session.put_back(&out[i + 1..]);
                out.truncate(i + 1);
            }
            if out.len() > max {
                return Err(Error::new(
                    ErrorKind::Error,
                    format!("got more than {max} bytes"),
                ));
            }
            if out.last() == Some(&b'\n') {
                return Ok(out);
            }
            if self.fill(None).await? == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&self.session.take_unprocessed());
        }
    }

    /// Sends `data` to the server as it is (imaplib's `send()`; deflated
    /// under COMPRESS).
    pub async fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        self.settle().await?;
        let data = self.session.encode_raw(data)?;
        self.transport.write_all(&data).await.map_err(Error::io)?;
        self.transport.flush().await.map_err(Error::io)
    }

    /// The TCP socket, where the transport has one (imaplib's `socket()`).
    pub fn socket(&self) -> Option<&TcpStream> {
        self.transport.socket()
    }

    /// AUTHENTICATE with a SASL mechanism, run by the session (see
    /// [`Typed::authenticate`]).
    pub(crate) async fn run_sasl(
        &mut self,
        mechanism: &mut dyn Mechanism,
    ) -> Result<Authenticated, Error> {
        self.settle().await?;
        let pending = self.session.sasl_authenticate(mechanism)?;
        self.execute(pending, Auth::Mechanism(mechanism), Session::complete_sasl)
            .await
    }

    /// The LOGIN command, typed (see [`Typed::login_auto`]).
    pub(crate) async fn run_typed_login(
        &mut self,
        user: &str,
        password: &Secret,
    ) -> Result<Authenticated, Error> {
        self.settle().await?;
        let pending = self.session.typed_login(user, password)?;
        self.execute(pending, Auth::None, Session::complete_sasl)
            .await
    }

    // ----- imaplib's commands --------------------------------------------------

    crate::methods::imaplib_commands!([async] [.await] [+ Send]);

    /// STARTTLS, hardened exactly as [`crate::Imap4::starttls`].
    pub async fn starttls(&mut self, tls: TlsOptions) -> Result<Response, Error> {
        if self.transport.tls().is_some() {
            return Err(Error::new(
                ErrorKind::Abort,
                "TLS session already established",
            ));
        }
        // Load the options first: bad options are an error with nothing sent.
        let host = self.host.clone();
        tls.config_for(&host)?;
        let response = match self.run(|s| s.starttls()).await {
            Ok(r) => r,
            Err(e) => {
                if self.session.is_broken() {
                    let _ = self.shutdown().await;
                }
                return Err(e);
            }
        };
        let deadline = min_timeout(self.timeouts.read, self.timeouts.connect_phase())
            .map(|t| Instant::now() + t);
        let inner = std::mem::replace(&mut self.transport, Box::new(ClosedTransport));
        match handshake(inner, &tls, (&host, self.port), deadline, &self.timeouts).await {
            Ok(t) => self.transport = t,
            Err(e) => {
                self.session.fail_transport(&e.to_string());
                return Err(e);
            }
        }
        self.session.tls_established();
        self.run(|s| s.refresh_capabilities()).await?;
        Ok(response)
    }

    /// The typed, Rust-native API on this connection (async).
    pub fn typed(&mut self) -> Typed<'_> {
        Typed { m: self }
    }

    /// The TLS session, `None` without TLS.
    pub fn ssl(&self) -> Option<&rustls::ClientConnection> {
        self.transport.tls()
    }

    /// Closes the connection.
    pub async fn shutdown(&mut self) -> Result<(), Error> {
        self.session.fail_transport("connection shut down");
        self.transport.shutdown().await.map_err(Error::io)
    }

    crate::methods::session_attributes!();

    crate::idle::live_methods!([async] [.await]);

    /// Starts IDLE (RFC 2177) with the default [`crate::idle::IdleConfig`];
    /// on a server without IDLE the same handle polls with NOOP.
    pub async fn idle(&mut self) -> Result<Idle<'_>, Error> {
        self.idle_with(crate::idle::IdleConfig::default()).await
    }

    /// [`Imap4::idle`] with chosen intervals.
    pub async fn idle_with(&mut self, config: crate::idle::IdleConfig) -> Result<Idle<'_>, Error> {
        self.settle().await?;
        self.session.idle_start(std::time::Instant::now(), config)?;
        Ok(Idle { m: self })
    }
}

/// A running IDLE on an async connection ([`Imap4::idle`]). Dropping it,
/// or a cancelled [`Idle::wait`], is safe: the next command on the
/// connection ends IDLE first.
#[derive(Debug)]
pub struct Idle<'a> {
    m: &'a mut Imap4,
}

impl Idle<'_> {
    /// Waits up to `timeout` for the next event; `Ok(None)` when the time
    /// is up with nothing new.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Option<crate::idle::Event>, Error> {
        self.m
            .idle_next(std::time::Instant::now() + timeout, true)
            .await
    }

    /// The mailbox state so far.
    pub fn mailbox_state(&self) -> Option<&crate::idle::MailboxState> {
        self.m.mailbox_state()
    }

    /// Ends IDLE (DONE) and waits for the server's answer.
    pub async fn done(self) -> Result<(), Error> {
        self.m.end_idle().await
    }
}

/// The typed API on an async connection (borrowed from [`Imap4::typed`]);
/// the same methods as [`crate::Typed`], awaited.
#[derive(Debug)]
pub struct Typed<'a> {
    m: &'a mut Imap4,
}

impl Typed<'_> {
    crate::typed::typed_commands!([async] [.await]);

    /// Streams `BODY.PEEK[section]` of the message with this UID into
    /// `out` as it arrives, in one command (see the blocking
    /// [`crate::Typed::uid_fetch_body_to`]); memory stays at about one
    /// read whatever the message's size. Dropping the future at any await
    /// point leaves the connection usable: the next command first drains
    /// the rest of this one.
    pub async fn uid_fetch_body_to<W: AsyncWrite + Unpin + Send + ?Sized>(
        &mut self,
        uid: u32,
        section: &str,
        out: &mut W,
    ) -> Result<u64, Error> {
        let mut out = out; // `&mut &mut W` is sized, so it coerces to `dyn`
        let mut pick = crate::typed::BodyPick::new(uid);
        let mut failed = None;
        self.m.settle().await?;
        let pending = crate::typed::BodyPick::begin(uid, section)(&mut self.m.session)?;
        let mut sink = BodySink {
            pick: &mut pick,
            out: &mut out,
            failed: &mut failed,
        };
        self.m
            .execute(pending, Auth::Sink(&mut sink), Session::complete_typed)
            .await?;
        if let Some(e) = failed {
            return Err(Error::io(e));
        }
        out.flush().await.map_err(Error::io)?;
        pick.finish()
    }

    /// [`Typed::uid_fetch_body_to`] in partial fetches, one command per
    /// chunk of `chunk` bytes (see the blocking
    /// [`crate::Typed::uid_fetch_body_to_chunked`]).
    pub async fn uid_fetch_body_to_chunked<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        uid: u32,
        section: &str,
        out: &mut W,
        chunk: u32,
    ) -> Result<u64, Error> {
        let mut body = crate::typed::PartialBody::new(uid, section, chunk);
        while let Some((set, attrs)) = body.next_request().map_err(crate::typed::partial_error)? {
            let fetches = self
                .uid_fetch_capped(&set, &attrs, u64::from(chunk.max(1)))
                .await?;
            let data = body.accept(&fetches).map_err(crate::typed::partial_error)?;
            out.write_all(&data).await.map_err(Error::io)?;
        }
        out.flush().await.map_err(Error::io)?;
        Ok(body.offset())
    }
}

/// Where [`Typed::uid_fetch_body_to`] writes: the bytes of the one body
/// it asked for go to `out`; the first write error is kept and the rest
/// of the command is drained.
pub(crate) struct BodySink<'a> {
    pick: &'a mut crate::typed::BodyPick,
    out: &'a mut (dyn AsyncWrite + Unpin + Send + 'a),
    failed: &'a mut Option<std::io::Error>,
}

impl BodySink<'_> {
    async fn take(&mut self, piece: &imap4_proto::Streamed) {
        if self.failed.is_some() {
            return;
        }
        if let Some(bytes) = self.pick.pick(piece) {
            if let Err(e) = self.out.write_all(&bytes).await {
                *self.failed = Some(e);
            }
        }
    }
}

/// The transport of a connection handed over during STARTTLS.
struct ClosedTransport;

impl AsyncRead for ClosedTransport {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut ::tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "connection closed",
        )))
    }
}

impl AsyncWrite for ClosedTransport {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "connection closed",
        )))
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

impl AsyncTransport for ClosedTransport {}
