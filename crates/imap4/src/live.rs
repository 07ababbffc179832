//! The live connection in the tokio-postgres shape: a [`Client`] to issue
//! commands from any number of tasks, and a [`Connection`] future that owns
//! the socket and the session and must be spawned.
//!
//! ```no_run
//! use tokio::time::Instant;
//! use imap4::typed::{FetchAttr, UidSet};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), imap4::Error> {
//! let (client, connection) = imap4::tokio::connect("localhost", 143, imap4::Config::default()).await?;
//! let driver = tokio::spawn(connection);
//! client.login_auto("alice", "secret").await?;
//! client.select("INBOX").await?;
//! // Commands from several tasks are pipelined on the one connection.
//! let (one, two, attrs) = (UidSet::single(1), UidSet::single(2), [FetchAttr::Envelope]);
//! let (a, b) = tokio::join!(client.uid_fetch(&one, &attrs), client.uid_fetch(&two, &attrs));
//! println!("{} + {} responses", a?.raw_len(), b?.raw_len());
//! // New mail, pushed by the server (IDLE runs while nothing else does).
//! let event = client.idle(Instant::now() + Duration::from_secs(60)).await?;
//! println!("{event:?}");
//! client.logout().await?;
//! driver.await.expect("the connection task panicked")?;
//! # Ok(()) }
//! ```
//!
//! How it works: the [`Connection`] task selects over the clients'
//! requests, the socket and its timers. Commands that cannot change what
//! later commands mean (UID FETCH, UID SEARCH, UID STORE, NOOP) are queued
//! in the session as they arrive, so many are in flight at once; the
//! oldest is polled first. UID FETCH requests for the same attributes that
//! wait together go out as one command of the union of their sets, each
//! request getting the responses of its own UIDs. A server may run
//! pipelined commands in parallel (Dovecot does), so FETCH responses are
//! routed by their UID (two UID commands with overlapping sets are never
//! in flight together) and SEARCH responses to the one SEARCH in flight.
//! Commands that change the connection's state (LOGIN, SELECT,
//! EXAMINE, LOGOUT) wait until nothing else is in flight, run alone, and
//! later requests wait behind them. IDLE runs when a task waits for events
//! ([`Client::idle`], [`Events::idle`]) and nothing else is in flight; the
//! next request ends it with DONE first.
//!
//! Cancellation: dropping any future of a [`Client`] method, at any await
//! point, never corrupts the connection: the command runs to its end in
//! the connection task and its result is discarded (a command not yet sent
//! is not sent). The timeouts of the [`Config`] apply as in
//! [`Imap4`]: a command (or a read) that takes too long closes the
//! connection, and every request then fails with an abort.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll as TaskPoll};

use ::tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::sync::{broadcast, mpsc, oneshot};
use ::tokio::task::JoinHandle;
use ::tokio::time::Instant;
use bytes::Bytes;
use imap4_proto::sasl::{LoginMethod, Secret};
use imap4_proto::typed::TypedOutcome;
use imap4_proto::{
    Authenticated, ErrorKind, Event, IdleConfig, IdleStep, MailboxState, Pending, Poll, Session,
    SessionError, State,
};

use super::Imap4;
use crate::client::{after_read, emit_trace, transport_failed, Config, Deadline};
use crate::error::Error;
use crate::typed::{
    Bound, Fetch, FetchAttr, Fetches, ParsedResponse, SearchKey, SelectedMailbox, SetArg, StoreOp,
    UidSet, Untagged,
};
use crate::TlsOptions;

/// Requests waiting for the connection task (a full queue makes the
/// clients wait: back-pressure).
const REQUEST_QUEUE: usize = 1024;
/// Commands queued in the session at once.
const MAX_IN_FLIGHT: usize = 1024;
/// Requests taken from the queue in one go (fairness with the socket).
const BATCH: usize = 256;
/// Responses buffered for a [`FetchStream`] before the connection stops
/// reading the socket.
pub const STREAM_CAPACITY: usize = 64;
/// Events buffered for each [`Events`] receiver; a receiver that falls
/// further behind misses the oldest ([`Events::missed`]).
pub const EVENT_CAPACITY: usize = 1024;

// ----- connecting --------------------------------------------------------------

/// Connects over TCP (see [`Imap4::connect_with`]) and returns the
/// [`Client`] and the [`Connection`] future to spawn.
///
/// ```no_run
/// # async fn run() -> Result<(), imap4::Error> {
/// let (client, connection) = imap4::tokio::connect("localhost", 143, imap4::Config::default()).await?;
/// tokio::spawn(connection);
/// client.login_auto("alice", "secret").await?;
/// # Ok(()) }
/// ```
pub async fn connect(host: &str, port: u16, config: Config) -> Result<(Client, Connection), Error> {
    Ok(Imap4::connect_with(host, port, config).await?.into_live())
}

/// Connects with implicit TLS (see [`Imap4::connect_ssl_config`]).
///
/// ```no_run
/// use imap4::{Config, TlsOptions};
/// # async fn run() -> Result<(), imap4::Error> {
/// let (client, connection) =
///     imap4::tokio::connect_tls("imap.example.org", 993, TlsOptions::default(), Config::default()).await?;
/// tokio::spawn(connection);
/// client.login("alice", "secret").await?;
/// # Ok(()) }
/// ```
pub async fn connect_tls(
    host: &str,
    port: u16,
    tls: TlsOptions,
    config: Config,
) -> Result<(Client, Connection), Error> {
    Ok(Imap4::connect_ssl_config(host, port, tls, config)
        .await?
        .into_live())
}

/// Connects in plaintext and upgrades with STARTTLS before anything else
/// (see [`Imap4::connect_starttls_config`]).
///
/// ```no_run
/// use imap4::{Config, TlsOptions};
/// # async fn run() -> Result<(), imap4::Error> {
/// let (client, connection) =
///     imap4::tokio::connect_starttls("imap.example.org", 143, TlsOptions::default(), Config::default()).await?;
/// tokio::spawn(connection);
/// client.login("alice", "secret").await?;
/// # Ok(()) }
/// ```
pub async fn connect_starttls(
    host: &str,
    port: u16,
    tls: TlsOptions,
    config: Config,
) -> Result<(Client, Connection), Error> {
    Ok(Imap4::connect_starttls_config(host, port, tls, config)
        .await?
        .into_live())
}

impl Imap4 {
    /// Turns this connection into a [`Client`] and the [`Connection`]
    /// future that drives it (spawn it). Whatever this connection left
    /// unfinished (a dropped command future, a running IDLE) is settled
    /// first by the connection task.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), imap4::Error> {
    /// let mut m = imap4::tokio::Imap4::connect("localhost", 143).await?;
    /// m.typed().login_auto("alice", "secret").await?;
    /// let (client, connection) = m.into_live();
    /// tokio::spawn(connection);
    /// client.select("INBOX").await?;
    /// # Ok(()) }
    /// ```
    pub fn into_live(mut self) -> (Client, Connection) {
        self.session.enable_events();
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            closed: Mutex::new(None),
            events: Mutex::new(Some(events)),
            mailbox: Mutex::new(self.session.mailbox_state().cloned()),
        });
        let driver = Driver {
            m: self,
            rx,
            shared: Arc::clone(&shared),
            ops: VecDeque::new(),
            waiting: VecDeque::new(),
            idlers: Vec::new(),
            backlog: None,
            idle_timer: None,
            idle_stopping: false,
            read_since: Instant::now(),
            io: IoState::default(),
            clients_gone: false,
        };
        let client = Client { tx, shared };
        let connection = Connection {
            inner: Box::pin(driver.run()),
        };
        (client, connection)
    }

    /// [`Imap4::into_live`], the connection spawned with `tokio::spawn`;
    /// the handle returns how the connection ended.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), imap4::Error> {
    /// let mut m = imap4::tokio::Imap4::connect("localhost", 143).await?;
    /// m.typed().login_auto("alice", "secret").await?;
    /// let (client, handle) = m.spawn_live();
    /// client.logout().await?;
    /// handle.await.expect("connection task")?;
    /// # Ok(()) }
    /// ```
    pub fn spawn_live(self) -> (Client, JoinHandle<Result<(), Error>>) {
        let (client, connection) = self.into_live();
        (client, connection.spawn())
    }
}

// ----- shared state ---------------------------------------------------------------

/// What the connection task and its clients share.
#[derive(Debug)]
struct Shared {
    /// Why the connection ended, once it did.
    closed: Mutex<Option<Closed>>,
    /// The event channel (`None` once the connection ended: receivers
    /// then see the end).
    events: Mutex<Option<broadcast::Sender<Event>>>,
    /// The mailbox state as the connection task last saw it.
    mailbox: Mutex<Option<MailboxState>>,
}

#[derive(Debug, Clone)]
struct Closed {
    message: String,
    timeout: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The error every request gets once the connection is gone.
    fn closed_error(&self) -> Error {
        match lock(&self.closed).clone() {
            Some(c) => closed_error(&c),
            None => Error::new(
                ErrorKind::Abort,
                "connection closed: the Connection future is gone (dropped or aborted)",
            ),
        }
    }

    fn set_closed(&self, c: Closed) {
        let mut closed = lock(&self.closed);
        if closed.is_none() {
            *closed = Some(c);
        }
        drop(closed);
        *lock(&self.events) = None;
    }
}

fn closed_error(c: &Closed) -> Error {
    let message = format!("connection closed: {}", c.message);
    if c.timeout {
        let e = std::io::Error::new(std::io::ErrorKind::TimedOut, message.clone());
        Error::io_with_message(e, message)
    } else {
        Error::new(ErrorKind::Abort, message)
    }
}

// ----- requests ---------------------------------------------------------------------

/// Queues a pipelined command in the session.
type Begin = Box<dyn FnOnce(&mut Session) -> Result<Pending, SessionError> + Send>;
/// A command run alone, on the whole connection; its output is the text of
/// its error, if it failed, and what hands its result to the client (called
/// once the mailbox state and the events are published).
type ExclusiveFuture<'a> = Pin<Box<dyn Future<Output = (Option<String>, Reply)> + Send + 'a>>;
type Reply = Box<dyn FnOnce() + Send>;
type Exclusive = Box<dyn for<'a> FnOnce(&'a mut Imap4) -> ExclusiveFuture<'a> + Send>;
/// A future borrowing the connection: what a job given to
/// [`Client::with_connection`] returns (`Box::pin(async move { ... })`).
pub type JobFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

enum Request {
    /// A pipelined command.
    Queue {
        begin: Begin,
        sink: Sink,
        route: Route,
        /// A UID FETCH that may be merged with its neighbours.
        merge: Option<Merge>,
    },
    /// A command run alone (LOGIN, SELECT, LOGOUT…).
    Exclusive(Exclusive),
    /// A task waits for events: IDLE while nothing else runs.
    Idle(Idler),
}

/// Where a pipelined command's result goes.
enum Sink {
    /// The whole outcome, once the command completed.
    Outcome(oneshot::Sender<Result<TypedOutcome, Error>>),
    /// Each response as it arrives (a [`FetchStream`]).
    Stream(mpsc::Sender<Item>),
}

impl Sink {
    /// Nobody waits for the result any more.
    fn is_closed(&self) -> bool {
        match self {
            Sink::Outcome(tx) => tx.is_closed(),
            Sink::Stream(tx) => tx.is_closed(),
        }
    }
}

/// What a [`FetchStream`] receives.
#[derive(Debug)]
enum Item {
    Frame(Bytes),
    Failed(Error),
    End,
}

/// A task waiting for events until `until`; an IDLE that cannot start is
/// reported on `tx` (whose closing means the task stopped waiting).
struct Idler {
    until: Instant,
    tx: oneshot::Sender<Error>,
}

/// A UID FETCH request that can share one command with other requests
/// for the same attributes (UID FETCH requests waiting together are sent
/// as one command of the union of their sets; each gets the responses of
/// its own UIDs).
struct Merge {
    set: UidSet,
    attrs: Vec<FetchAttr>,
}

/// Requests merged into one UID FETCH at most.
const MAX_MERGED: usize = 512;

/// A pipelined command in flight.
struct Op {
    pending: Pending,
    deadline: Deadline,
    /// What the command as a whole owns (see [`Route`]).
    route: Route,
    /// Who waits for it: one request, or the requests merged into it.
    parts: Vec<Part>,
    /// The attributes of a merged UID FETCH (to run its requests one by
    /// one if it fails).
    merged: Option<Vec<FetchAttr>>,
}

/// A request a command answers.
struct Part {
    route: Route,
    /// The set of a merged request.
    set: Option<UidSet>,
    sink: Sink,
    /// Its responses so far (an [`Sink::Outcome`]).
    frames: Vec<Bytes>,
}

impl Op {
    /// Whether its responses are taken as they arrive: streams, and
    /// results nobody waits for any more.
    fn incremental(&self) -> bool {
        self.parts.iter().all(|p| match &p.sink {
            Sink::Stream(_) => true,
            Sink::Outcome(tx) => tx.is_closed(),
        })
    }
}

/// Which untagged responses a pipelined command owns.
///
/// A server may run pipelined commands in parallel (Dovecot does): the
/// FETCH responses of later commands can come before the tagged reply of
/// an earlier one, so order alone does not tell whose they are. The UID of
/// a FETCH response does: UID FETCH and UID STORE responses carry it, and
/// two such commands are in flight together only if their UID sets are
/// disjoint. SEARCH responses go to the one SEARCH in flight (never two at
/// once). The rest (EXISTS, EXPUNGE, …) stays with the command whose
/// window it arrived in, where only the mailbox state uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// UID FETCH or UID STORE of these UIDs (inclusive ranges; `*` counts
    /// as everything).
    Uids(Vec<(u32, u32)>),
    /// UID SEARCH.
    Search,
    /// Anything else (NOOP).
    Other,
}

impl Route {
    fn uids(set: &UidSet) -> Route {
        Route::Uids(
            set.ranges()
                .iter()
                .map(|r| match *r {
                    (Bound::Num(a), Bound::Num(b)) => (a.min(b), a.max(b)),
                    _ => (1, u32::MAX),
                })
                .collect(),
        )
    }

    fn contains(&self, uid: u32) -> bool {
        match self {
            Route::Uids(r) => r.iter().any(|&(a, b)| a <= uid && uid <= b),
            _ => false,
        }
    }

    /// Whether the two could not be told apart in flight together.
    fn conflicts(&self, other: &Route) -> bool {
        match (self, other) {
            (Route::Uids(a), Route::Uids(b)) => a
                .iter()
                .any(|&(a0, a1)| b.iter().any(|&(b0, b1)| a0 <= b1 && b0 <= a1)),
            (Route::Search, Route::Search) => true,
            _ => false,
        }
    }
}

/// Gives a response to the request(s) of `op` it answers: the one whose
/// UIDs it is about, in a merged command; else the first.
fn give(parts: &mut [Part], backlog: &mut Option<Backlog>, frame: Bytes) {
    let mut to_part = |part: &mut Part, frame: Bytes| match &part.sink {
        Sink::Stream(tx) => deliver(backlog, tx, Item::Frame(frame)),
        Sink::Outcome(tx) if tx.is_closed() => {}
        Sink::Outcome(_) => part.frames.push(frame),
    };
    if parts.len() > 1 {
        if let Some(uid) =
            imap4_proto::parse::fetch_uid(&frame, imap4_proto::Limits::default().max_depth)
        {
            let mut given = false;
            for part in parts.iter_mut().filter(|p| p.route.contains(uid)) {
                to_part(part, frame.clone());
                given = true;
            }
            if given {
                return;
            }
        }
    }
    if let Some(part) = parts.first_mut() {
        to_part(part, frame);
    }
}

/// Responses for slow [`FetchStream`]s, each with its stream: nothing more
/// is read from the socket until they are delivered.
struct Backlog {
    items: VecDeque<(mpsc::Sender<Item>, Item)>,
}

#[derive(Default)]
struct IoState {
    /// Written since the last flush.
    need_flush: bool,
    /// A write has been blocked since then (the write timeout).
    write_since: Option<Instant>,
}

enum Io {
    /// Some output went out (or the write timer changed).
    Wrote,
    Read(std::io::Result<usize>),
    WriteFailed(std::io::Error),
}

enum Woke {
    Request(Option<Request>),
    Io(Io),
    Permit(Result<mpsc::OwnedPermit<Item>, mpsc::error::SendError<()>>),
    Timer,
}

// ----- the connection task ------------------------------------------------------

/// The connection future: owns the socket and the session and runs every
/// command the [`Client`]s send. Spawn it (`tokio::spawn(connection)` or
/// [`Connection::spawn`]); nothing happens on the connection unless it
/// runs. It completes with `Ok(())` after a LOGOUT, or once every
/// [`Client`] is dropped and their commands are done (it logs out then),
/// and with the cause when the connection fails.
///
/// ```no_run
/// # async fn run() -> Result<(), imap4::Error> {
/// let (client, connection) = imap4::tokio::connect("localhost", 143, imap4::Config::default()).await?;
/// let handle = tokio::spawn(connection);
/// drop(client);
/// handle.await.expect("connection task")?;
/// # Ok(()) }
/// ```
#[must_use = "the connection does nothing unless it is spawned or awaited"]
pub struct Connection {
    inner: Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Future for Connection {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> TaskPoll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl Connection {
    /// Spawns the connection with `tokio::spawn`; the handle returns how
    /// it ended.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), imap4::Error> {
    /// let (client, connection) = imap4::tokio::connect("localhost", 143, imap4::Config::default()).await?;
    /// let handle = connection.spawn();
    /// client.logout().await?;
    /// handle.await.expect("connection task")?;
    /// # Ok(()) }
    /// ```
    pub fn spawn(self) -> JoinHandle<Result<(), Error>> {
        ::tokio::spawn(self)
    }
}

struct Driver {
    m: Imap4,
    rx: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
    /// Pipelined commands in the session, oldest first.
    ops: VecDeque<Op>,
    /// Requests received, not yet queued (behind an exclusive one, or
    /// while IDLE ends).
    waiting: VecDeque<Request>,
    idlers: Vec<Idler>,
    backlog: Option<Backlog>,
    /// When IDLE's timers want the session polled again.
    idle_timer: Option<Instant>,
    /// DONE was asked for.
    idle_stopping: bool,
    /// The last read, or when commands went in flight (the read timeout).
    read_since: Instant,
    io: IoState,
    /// Every client is gone.
    clients_gone: bool,
}

/// How the main loop ends well.
enum End {
    LoggedOut,
    ClientsGone,
}

impl Driver {
    async fn run(mut self) -> Result<(), Error> {
        match self.run_inner().await {
            Ok(end) => {
                let message = match end {
                    End::LoggedOut => "logged out",
                    End::ClientsGone => "every Client was dropped",
                };
                self.finish(Closed {
                    message: message.into(),
                    timeout: false,
                })
                .await;
                Ok(())
            }
            Err(e) => {
                self.m.session.fail_transport(&e.to_string());
                self.finish(Closed {
                    message: e.to_string(),
                    timeout: e.is_timeout(),
                })
                .await;
                Err(e)
            }
        }
    }

    /// Tells everyone the connection is over and closes it.
    async fn finish(&mut self, closed: Closed) {
        // first the cause, then the channels: a client seeing its reply
        // channel closed reads the cause
        self.shared.set_closed(closed);
        self.ops.clear();
        self.waiting.clear();
        self.idlers.clear();
        self.backlog = None;
        self.rx.close();
        while self.rx.try_recv().is_ok() {}
        let shutdown = self.m.transport.shutdown();
        let _ = ::tokio::time::timeout(std::time::Duration::from_secs(5), shutdown).await;
    }

    async fn run_inner(&mut self) -> Result<End, Error> {
        self.m.settle().await?;
        loop {
            let mut progress = self.process()?;
            if let Some(end) = self.admit().await? {
                return Ok(end);
            }
            progress |= self.process()?;
            progress |= self.manage_idle()?;
            self.publish();
            if progress {
                continue;
            }
            if self.clients_gone
                && self.ops.is_empty()
                && self.waiting.is_empty()
                && self.backlog.is_none()
                && !self.m.session.idle_running()
            {
                if self.m.session.state() != State::Logout && !self.m.session.is_broken() {
                    let _ = self.m.logout().await;
                }
                return Ok(End::ClientsGone);
            }
            self.wait().await?;
        }
    }

    /// Sends events and the mailbox state to the clients.
    fn publish(&mut self) {
        {
            let events = lock(&self.shared.events);
            while let Some(e) = self.m.session.take_event() {
                if let Some(tx) = events.as_ref() {
                    let _ = tx.send(e);
                }
            }
        }
        let mut mailbox = lock(&self.shared.mailbox);
        if mailbox.as_ref() != self.m.session.mailbox_state() {
            *mailbox = self.m.session.mailbox_state().cloned();
        }
    }

    /// Moves waiting requests into the session; runs an exclusive one once
    /// nothing else is in flight. Returns how the connection ends, if a
    /// request ended it.
    async fn admit(&mut self) -> Result<Option<End>, Error> {
        while let Some(front) = self.waiting.front() {
            if self.m.session.idle_running() {
                break;
            }
            match front {
                Request::Queue { route, .. } => {
                    // responses that could not be told apart wait
                    if self.ops.len() >= MAX_IN_FLIGHT
                        || self.ops.iter().any(|o| o.route.conflicts(route))
                    {
                        break;
                    }
                    let Some(Request::Queue {
                        begin,
                        sink,
                        route,
                        merge,
                    }) = self.waiting.pop_front()
                    else {
                        break;
                    };
                    match merge {
                        Some(m) if matches!(sink, Sink::Outcome(_)) => {
                            self.queue_merged(m, sink)?
                        }
                        _ => self.queue(begin, sink, route)?,
                    }
                }
                Request::Exclusive(_) => {
                    if !self.ops.is_empty() {
                        break;
                    }
                    let Some(Request::Exclusive(job)) = self.waiting.pop_front() else {
                        break;
                    };
                    if self.io.need_flush {
                        let flushed = self.m.transport.flush().await;
                        if let Err(e) = flushed {
                            return Err(transport_failed(&mut self.m.session, e));
                        }
                        self.io.need_flush = false;
                    }
                    let (failed, reply) = job(&mut self.m).await;
                    self.publish();
                    reply();
                    if self.m.session.is_broken() {
                        let why = failed.unwrap_or_else(|| "connection failed".into());
                        return Err(Error::new(ErrorKind::Abort, why));
                    }
                    if self.m.session.state() == State::Logout {
                        return Ok(Some(End::LoggedOut));
                    }
                }
                Request::Idle(_) => {
                    if let Some(Request::Idle(i)) = self.waiting.pop_front() {
                        self.idlers.push(i);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Queues a pipelined command in the session (not at all if nobody
    /// waits for it any more).
    fn queue(&mut self, begin: Begin, sink: Sink, route: Route) -> Result<(), Error> {
        if sink.is_closed() {
            return Ok(());
        }
        let part = Part {
            route: route.clone(),
            set: None,
            sink,
            frames: Vec::new(),
        };
        self.begin(begin, route, vec![part], None)
    }

    /// Queues a UID FETCH for `first` and every UID FETCH for the same
    /// attributes waiting right behind it that can go now, as one command.
    fn queue_merged(&mut self, first: Merge, sink: Sink) -> Result<(), Error> {
        let Merge { set, attrs } = first;
        let mut parts = vec![Part {
            route: Route::uids(&set),
            set: Some(set),
            sink,
            frames: Vec::new(),
        }];
        while parts.len() < MAX_MERGED {
            let Some(Request::Queue {
                sink: Sink::Outcome(_),
                merge: Some(next),
                route,
                ..
            }) = self.waiting.front()
            else {
                break;
            };
            if next.attrs != attrs || self.ops.iter().any(|o| o.route.conflicts(route)) {
                break;
            }
            let Some(Request::Queue {
                sink,
                merge: Some(next),
                route,
                ..
            }) = self.waiting.pop_front()
            else {
                break;
            };
            parts.push(Part {
                route,
                set: Some(next.set),
                sink,
                frames: Vec::new(),
            });
        }
        parts.retain(|p| !p.sink.is_closed());
        let mut union = UidSet::default();
        for p in &parts {
            if let Some(set) = &p.set {
                union = union.union(set);
            }
        }
        if union.is_empty() {
            return Ok(());
        }
        let route = Route::uids(&union);
        let merged = (parts.len() > 1).then(|| attrs.clone());
        let begin: Begin = Box::new(move |s| s.typed_fetch(SetArg::Uid(&union), &attrs));
        self.begin(begin, route, parts, merged)
    }

    fn begin(
        &mut self,
        begin: Begin,
        route: Route,
        parts: Vec<Part>,
        merged: Option<Vec<FetchAttr>>,
    ) -> Result<(), Error> {
        match begin(&mut self.m.session) {
            Ok(pending) => {
                if self.ops.is_empty() {
                    self.read_since = Instant::now();
                }
                let deadline = Deadline::command(&self.m.timeouts, &self.m.session);
                self.ops.push_back(Op {
                    pending,
                    deadline,
                    route,
                    parts,
                    merged,
                });
                Ok(())
            }
            Err(e) => {
                let broken = self.m.session.is_broken();
                let text = e.to_string();
                let mut e = Some(Error::from(e));
                for part in parts {
                    let err = e
                        .take()
                        .unwrap_or_else(|| Error::new(ErrorKind::Error, text.clone()));
                    deliver_end(&mut self.backlog, part.sink, Err(err));
                }
                if broken {
                    return Err(Error::new(ErrorKind::Abort, text));
                }
                Ok(())
            }
        }
    }

    /// The oldest command ended with `outcome`: the session completes it,
    /// then its requests get their results (`complete`).
    fn complete_front(&mut self, outcome: Result<imap4_proto::Tagged, SessionError>) {
        if let Some(op) = self.ops.pop_front() {
            let Op {
                pending,
                parts,
                merged,
                ..
            } = op;
            let r = self.m.session.complete_typed(pending, outcome);
            emit_trace(&mut self.m.session, self.m.debug);
            self.complete(parts, merged, r);
        }
    }

    /// A command completed: each request it answers gets its responses;
    /// a merged UID FETCH that failed is retried request by request (so
    /// each gets its own answer).
    fn complete(
        &mut self,
        mut parts: Vec<Part>,
        merged: Option<Vec<FetchAttr>>,
        r: Result<TypedOutcome, SessionError>,
    ) {
        match r {
            Ok(mut out) => {
                // the session routed each response to the command it
                // answers (by UID, or to the SEARCH), even when the server
                // ran pipelined commands side by side
                for f in std::mem::take(&mut out.frames) {
                    give(&mut parts, &mut self.backlog, f);
                }
                self.publish();
                for Part { sink, frames, .. } in parts {
                    let outcome = TypedOutcome {
                        tagged: out.tagged.clone(),
                        frames,
                        utf8: out.utf8,
                    };
                    deliver_end(&mut self.backlog, sink, Ok(outcome));
                }
            }
            Err(e) => {
                if let Some(attrs) = merged {
                    for part in parts.into_iter().rev() {
                        let Some(set) = part.set else { continue };
                        let attrs = attrs.clone();
                        self.waiting.push_front(Request::Queue {
                            begin: Box::new(move |s| s.typed_fetch(SetArg::Uid(&set), &attrs)),
                            sink: part.sink,
                            route: part.route,
                            merge: None,
                        });
                    }
                    return;
                }
                let text = e.to_string();
                let kind = e.kind();
                let mut e = Some(Error::from(e));
                for part in parts {
                    let err = e.take().unwrap_or_else(|| Error::new(kind, text.clone()));
                    deliver_end(&mut self.backlog, part.sink, Err(err));
                }
            }
        }
    }

    /// Processes what the session has received: the oldest command first,
    /// or IDLE. Returns whether anything completed.
    fn process(&mut self) -> Result<bool, Error> {
        if self.backlog.is_some() {
            return Ok(false);
        }
        let mut progress = false;
        if self.m.session.idle_running() {
            let step = self.m.session.idle_poll_quiet(std::time::Instant::now());
            emit_trace(&mut self.m.session, self.m.debug);
            match step {
                Ok(IdleStep::Wait { until }) => {
                    self.idle_timer = until.map(Instant::from_std);
                }
                Ok(IdleStep::Done) | Ok(IdleStep::Event(_)) => {
                    self.idle_timer = None;
                    self.idle_stopping = false;
                    progress = true;
                }
                Err(e) => {
                    self.idle_timer = None;
                    self.idle_stopping = false;
                    if self.m.session.is_broken() {
                        return Err(e.into());
                    }
                    let text = e.to_string();
                    for i in self.idlers.drain(..) {
                        let _ = i.tx.send(Error::new(ErrorKind::Error, text.clone()));
                    }
                    progress = true;
                }
            }
            return Ok(progress);
        }
        while let Some(op) = self.ops.front() {
            // Streams, and results nobody waits for, are taken as they
            // arrive; the others when the command completes.
            let mut frames = Vec::new();
            let polled = if op.incremental() {
                self.m
                    .session
                    .poll_each(&op.pending, &mut |f| frames.push(f))
            } else {
                self.m.session.poll(&op.pending)
            };
            emit_trace(&mut self.m.session, self.m.debug);
            for f in frames {
                give(&mut self.ops[0].parts, &mut self.backlog, f);
            }
            match polled {
                Ok(Poll::NeedInput) => break,
                Ok(Poll::Challenge(_)) => {
                    // no pipelined command authenticates
                    self.m.session.answer_challenge(&self.ops[0].pending, None);
                }
                Ok(Poll::Done(tagged)) => {
                    progress = true;
                    self.complete_front(Ok(tagged));
                    self.read_since = Instant::now();
                }
                Err(e) => {
                    progress = true;
                    let broken = self.m.session.is_broken();
                    let text = e.to_string();
                    self.complete_front(Err(e));
                    if broken {
                        return Err(Error::new(ErrorKind::Abort, text));
                    }
                }
            }
            if self.backlog.is_some() {
                break;
            }
        }
        Ok(progress)
    }

    /// Starts IDLE when a task waits for events and nothing else runs;
    /// ends it when a request comes or nobody waits any more. Returns
    /// whether it started or stopped IDLE.
    fn manage_idle(&mut self) -> Result<bool, Error> {
        let now = Instant::now();
        self.idlers.retain(|i| i.until > now && !i.tx.is_closed());
        let quiet = self.ops.is_empty() && self.waiting.is_empty() && self.backlog.is_none();
        let want = quiet && !self.idlers.is_empty() && !self.clients_gone;
        let running = self.m.session.idle_running();
        if want && !running {
            let started = self
                .m
                .session
                .idle_start(std::time::Instant::now(), IdleConfig::default());
            return match started {
                Ok(()) => Ok(true),
                Err(e) => {
                    if self.m.session.is_broken() {
                        return Err(e.into());
                    }
                    let text = e.to_string();
                    for i in self.idlers.drain(..) {
                        let _ = i.tx.send(Error::new(e.kind(), text.clone()));
                    }
                    Ok(false)
                }
            };
        }
        if running && !want && !self.idle_stopping {
            self.m.session.idle_stop(std::time::Instant::now());
            self.idle_stopping = true;
            return Ok(true);
        }
        Ok(false)
    }

    /// When the loop must wake up without I/O.
    fn next_timer(&mut self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.backlog.is_none() {
            if let Some(op) = self.ops.front_mut() {
                at(op.deadline.next(&self.m.session).map(Instant::from_std));
                at(self.m.timeouts.read.map(|d| self.read_since + d));
            }
        }
        if self.m.session.idle_running() {
            at(self.idle_timer);
        }
        at(self.idlers.iter().map(|i| i.until).min());
        if let (Some(since), Some(d)) = (self.io.write_since, self.m.timeouts.write) {
            at(Some(since + d));
        }
        t
    }

    /// A timer fired: a timeout closes the connection.
    fn on_timer(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        if let (Some(since), Some(d)) = (self.io.write_since, self.m.timeouts.write) {
            if now >= since + d {
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out");
                return Err(transport_failed(&mut self.m.session, e));
            }
        }
        if self.backlog.is_none() {
            if let Some(op) = self.ops.front_mut() {
                let read = self.m.timeouts.read.map(|d| self.read_since + d);
                let command = op.deadline.next(&self.m.session).map(Instant::from_std);
                if read.is_some_and(|t| now >= t) || command.is_some_and(|t| now >= t) {
                    let name = op.pending.name().to_string();
                    let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
                    return Err(transport_failed(&mut self.m.session, e).in_command(&name));
                }
            }
        }
        Ok(())
    }

    /// Waits for a request, socket progress, room in a stream or a timer.
    async fn wait(&mut self) -> Result<(), Error> {
        let accepting =
            self.waiting.is_empty() && !self.clients_gone && self.ops.len() < MAX_IN_FLIGHT;
        // Unsolicited data with nothing to process it waits in the session
        // (bounded): it is read on once a command or IDLE runs.
        let reading = self.backlog.is_none()
            && (!self.ops.is_empty()
                || self.m.session.idle_running()
                || !self.m.session.has_unprocessed());
        let timer = self.next_timer();
        let sleep = async move {
            match timer {
                Some(t) => ::tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let permit_tx = self
            .backlog
            .as_ref()
            .and_then(|b| b.items.front())
            .map(|(tx, _)| tx.clone());
        let permit = async move {
            match permit_tx {
                Some(tx) => tx.reserve_owned().await,
                None => std::future::pending().await,
            }
        };
        let m = &mut self.m;
        let io = &mut self.io;
        let io_fut = std::future::poll_fn(|cx| poll_io(m, io, reading, cx));
        let woke = ::tokio::select! {
            r = self.rx.recv(), if accepting => Woke::Request(r),
            r = io_fut => Woke::Io(r),
            p = permit => Woke::Permit(p),
            () = sleep => Woke::Timer,
        };
        match woke {
            Woke::Request(None) => self.clients_gone = true,
            Woke::Request(Some(r)) => {
                self.accept(r);
                for _ in 1..BATCH {
                    match self.rx.try_recv() {
                        Ok(r) => self.accept(r),
                        Err(_) => break,
                    }
                }
            }
            Woke::Io(Io::Wrote) => {}
            Woke::Io(Io::Read(r)) => {
                self.read_since = Instant::now();
                after_read(&mut self.m.session, r)?;
            }
            Woke::Io(Io::WriteFailed(e)) => {
                return Err(transport_failed(&mut self.m.session, e));
            }
            Woke::Permit(Ok(permit)) => self.drain_backlog(Some(permit)),
            Woke::Permit(Err(_)) => self.drain_backlog(None),
            Woke::Timer => self.on_timer()?,
        }
        Ok(())
    }

    /// Takes a request in: a waiting task's interest in events at once,
    /// commands in their order.
    fn accept(&mut self, r: Request) {
        match r {
            Request::Idle(i) => self.idlers.push(i),
            r => self.waiting.push_back(r),
        }
    }

    /// Delivers what the streams have room for.
    fn drain_backlog(&mut self, permit: Option<mpsc::OwnedPermit<Item>>) {
        let Some(b) = self.backlog.as_mut() else {
            return;
        };
        match permit {
            Some(permit) => {
                if let Some((_, item)) = b.items.pop_front() {
                    permit.send(item);
                }
            }
            // that stream was dropped: forget what it would have got
            None => {
                if let Some((gone, _)) = b.items.pop_front() {
                    b.items.retain(|(tx, _)| !tx.same_channel(&gone));
                }
            }
        }
        while let Some((tx, item)) = b.items.pop_front() {
            match tx.try_send(item) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(item)) => {
                    b.items.push_front((tx, item));
                    return;
                }
            }
        }
        self.end_backlog();
    }

    /// The backlog is delivered (or its stream dropped): reading resumes,
    /// and the time spent waiting for the consumer does not count against
    /// the command's timeouts.
    fn end_backlog(&mut self) {
        self.backlog = None;
        self.read_since = Instant::now();
        if let Some(op) = self.ops.front_mut() {
            op.deadline = Deadline::command(&self.m.timeouts, &self.m.session);
        }
    }
}

/// Hands a response to a stream, or keeps it for later if the stream is
/// full (then nothing more is read until it is delivered).
fn deliver(backlog: &mut Option<Backlog>, tx: &mpsc::Sender<Item>, item: Item) {
    if let Some(b) = backlog.as_mut() {
        b.items.push_back((tx.clone(), item));
        return;
    }
    match tx.try_send(item) {
        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
        Err(mpsc::error::TrySendError::Full(item)) => {
            *backlog = Some(Backlog {
                items: VecDeque::from([(tx.clone(), item)]),
            });
        }
    }
}

/// A command's end goes to whoever waits for it.
fn deliver_end(backlog: &mut Option<Backlog>, sink: Sink, r: Result<TypedOutcome, Error>) {
    match sink {
        Sink::Outcome(tx) => {
            let _ = tx.send(r);
        }
        Sink::Stream(tx) => {
            let item = match r {
                Ok(_) => Item::End,
                Err(e) => Item::Failed(e),
            };
            deliver(backlog, &tx, item);
        }
    }
}

/// Writes what the session has to send and reads (when `reading`), both at
/// once: a server blocked on writing to us never blocks our writes.
fn poll_io(m: &mut Imap4, st: &mut IoState, reading: bool, cx: &mut Context<'_>) -> TaskPoll<Io> {
    let mut wrote = false;
    loop {
        if m.unwritten.is_empty() {
            match m.session.take_output() {
                Some(out) => m.unwritten = out,
                None => break,
            }
        }
        match Pin::new(&mut m.transport).poll_write(cx, &m.unwritten) {
            TaskPoll::Ready(Ok(0)) => {
                let e = std::io::Error::new(std::io::ErrorKind::WriteZero, "connection closed");
                return TaskPoll::Ready(Io::WriteFailed(e));
            }
            TaskPoll::Ready(Ok(n)) => {
                let _ = m.unwritten.split_to(n);
                wrote = true;
                st.need_flush = true;
            }
            TaskPoll::Ready(Err(e)) => return TaskPoll::Ready(Io::WriteFailed(e)),
            TaskPoll::Pending => break,
        }
    }
    if m.unwritten.is_empty() && st.need_flush {
        match Pin::new(&mut m.transport).poll_flush(cx) {
            TaskPoll::Ready(Ok(())) => st.need_flush = false,
            TaskPoll::Ready(Err(e)) => return TaskPoll::Ready(Io::WriteFailed(e)),
            TaskPoll::Pending => {}
        }
    }
    let blocked = !m.unwritten.is_empty() || st.need_flush;
    if !blocked {
        st.write_since = None;
    } else if wrote || st.write_since.is_none() {
        // the write timer (re)starts: the caller recomputes its timers
        st.write_since = Some(Instant::now());
        return TaskPoll::Ready(Io::Wrote);
    }
    if wrote {
        return TaskPoll::Ready(Io::Wrote);
    }
    if reading {
        // Straight into the session's buffer: polled once, the read either
        // appended its bytes or (pending) nothing.
        let read = std::pin::pin!(m.transport.read_buf(m.session.read_buf()));
        let r = read.poll(cx);
        m.session.commit();
        if let TaskPoll::Ready(r) = r {
            return TaskPoll::Ready(Io::Read(r));
        }
    }
    TaskPoll::Pending
}

// ----- the client -------------------------------------------------------------------

/// A handle to a live connection: cheap to clone, `Send + Sync`, usable
/// from any number of tasks at once (their commands are pipelined). Every
/// method takes `&self`; dropping any of their futures is safe (the
/// command still runs to its end and its result is discarded).
///
/// ```no_run
/// use imap4::typed::{FetchAttr, UidSet};
/// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
/// let mut tasks = Vec::new();
/// for uid in 1..=8 {
///     let client = client.clone();
///     tasks.push(tokio::spawn(async move {
///         client.uid_fetch(&UidSet::single(uid), &[FetchAttr::Flags]).await
///     }));
/// }
/// for t in tasks {
///     let fetches = t.await.expect("task")?;
///     println!("{} responses", fetches.raw_len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    tx: mpsc::Sender<Request>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Client {
    async fn send(&self, r: Request) -> Result<(), Error> {
        self.tx
            .send(r)
            .await
            .map_err(|_| self.shared.closed_error())
    }

    /// Runs a pipelined typed command.
    async fn pipelined(
        &self,
        begin: Begin,
        route: Route,
        merge: Option<Merge>,
    ) -> Result<TypedOutcome, Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Request::Queue {
            begin,
            sink: Sink::Outcome(tx),
            route,
            merge,
        })
        .await?;
        rx.await.map_err(|_| self.shared.closed_error())?
    }

    /// Runs `job` alone on the connection.
    async fn exclusive<T: Send + 'static>(
        &self,
        job: impl for<'a> FnOnce(&'a mut Imap4) -> JobFuture<'a, T> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        let run: Exclusive = Box::new(move |m: &mut Imap4| -> ExclusiveFuture<'_> {
            Box::pin(async move {
                let r = job(m).await;
                let failed = r.as_ref().err().map(|e| e.to_string());
                let reply: Reply = Box::new(move || {
                    let _ = tx.send(r);
                });
                (failed, reply)
            })
        });
        self.send(Request::Exclusive(run)).await?;
        rx.await.map_err(|_| self.shared.closed_error())?
    }

    /// Runs `job` alone on the connection: after every command already
    /// sent, before any sent later. The job gets the connection's
    /// [`Imap4`], so the whole typed API (every extension: QUOTA, ACL,
    /// METADATA, ESEARCH, CONDSTORE/QRESYNC, MULTIAPPEND, …) is available
    /// to the live client without a second connection; what the server
    /// reports meanwhile still updates [`Client::mailbox_state`] and reaches
    /// [`Client::events`]. Dropping the returned future does not cancel the
    /// job once sent: it runs to the end, so the connection is never left
    /// half-way through a command.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let quota = client
    ///     .with_connection(|m| Box::pin(async move { m.typed().get_quota_root("INBOX").await }))
    ///     .await?;
    /// println!("{:?}", quota.quotas);
    /// # Ok(()) }
    /// ```
    pub async fn with_connection<T: Send + 'static>(
        &self,
        job: impl for<'a> FnOnce(&'a mut Imap4) -> JobFuture<'a, T> + Send + 'static,
    ) -> Result<T, Error> {
        self.exclusive(job).await
    }

    /// Whether the connection has ended (every request now fails).
    ///
    /// ```no_run
    /// # fn run(client: imap4::tokio::Client) {
    /// if client.is_closed() {
    ///     eprintln!("reconnecting");
    /// }
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || lock(&self.shared.closed).is_some()
    }

    /// Logs in with the strongest method the server offers (see
    /// [`crate::tokio::Typed::login_auto`]); returns the method used. Runs
    /// alone on the connection.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let method = client.login_auto("alice", "secret").await?;
    /// println!("logged in with {method:?}");
    /// # Ok(()) }
    /// ```
    pub async fn login_auto(
        &self,
        user: &str,
        secret: impl Into<Secret>,
    ) -> Result<LoginMethod, Error> {
        let user = user.to_string();
        let secret = secret.into();
        self.exclusive(move |m| Box::pin(async move { m.typed().login_auto(&user, secret).await }))
            .await
    }

    /// The LOGIN command, typed (see [`crate::tokio::Typed::login`]:
    /// refused, nothing sent, without TLS). Runs alone on the connection.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// client.login("alice", "secret").await?;
    /// # Ok(()) }
    /// ```
    pub async fn login(
        &self,
        user: &str,
        password: impl Into<Secret>,
    ) -> Result<Authenticated, Error> {
        let user = user.to_string();
        let secret = password.into();
        self.exclusive(move |m| Box::pin(async move { m.typed().login(&user, secret).await }))
            .await
    }

    /// SELECT a mailbox. Runs alone: commands sent before it complete
    /// first, commands sent after it wait for it.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let inbox = client.select("INBOX").await?;
    /// println!("{} messages", inbox.exists);
    /// # Ok(()) }
    /// ```
    pub async fn select(&self, mailbox: &str) -> Result<SelectedMailbox, Error> {
        let mailbox = mailbox.to_string();
        self.exclusive(move |m| Box::pin(async move { m.typed().select(&mailbox).await }))
            .await
    }

    /// EXAMINE a mailbox (read-only), like [`Client::select`].
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let archive = client.examine("Archive").await?;
    /// assert!(archive.read_only);
    /// # Ok(()) }
    /// ```
    pub async fn examine(&self, mailbox: &str) -> Result<SelectedMailbox, Error> {
        let mailbox = mailbox.to_string();
        self.exclusive(move |m| Box::pin(async move { m.typed().examine(&mailbox).await }))
            .await
    }

    /// UID FETCH, pipelined with the other tasks' commands (an empty set
    /// fetches nothing and asks the server nothing). Requests for the same
    /// attributes that wait in the connection task together share one
    /// command; a request whose UIDs overlap those of a UID command in
    /// flight waits for it.
    ///
    /// ```no_run
    /// use imap4::typed::{FetchAttr, UidSet};
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let fetches = client.uid_fetch(&UidSet::from(1..=10), &[FetchAttr::Envelope]).await?;
    /// for f in fetches.iter() {
    ///     println!("{:?}", f?.envelope().and_then(|e| e.subject_decoded()));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn uid_fetch(&self, set: &UidSet, attrs: &[FetchAttr]) -> Result<Fetches, Error> {
        if set.is_empty() {
            return Ok(Fetches::default());
        }
        let merge = Merge {
            set: set.clone(),
            attrs: attrs.to_vec(),
        };
        let route = Route::uids(set);
        let (set, attrs) = (set.clone(), attrs.to_vec());
        let out = self
            .pipelined(
                Box::new(move |s| s.typed_fetch(SetArg::Uid(&set), &attrs)),
                route,
                Some(merge),
            )
            .await?;
        Ok(out.into_fetches())
    }

    /// UID FETCH, streamed: each FETCH response is handed out as it
    /// arrives ([`FetchStream::next`]), at most [`STREAM_CAPACITY`]
    /// buffered; a consumer that falls behind stops the connection from
    /// reading the socket (memory stays bounded, and other commands wait).
    /// Dropping the stream discards the rest.
    ///
    /// ```no_run
    /// use imap4::typed::{FetchAttr, UidSet};
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let mut stream = client.uid_fetch_stream(&UidSet::from(1..=100_000), &[FetchAttr::Envelope]).await?;
    /// while let Some(f) = stream.next().await {
    ///     let f = f?;
    ///     println!("{:?}", f.get().uid());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn uid_fetch_stream(
        &self,
        set: &UidSet,
        attrs: &[FetchAttr],
    ) -> Result<FetchStream, Error> {
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        let stream = FetchStream {
            rx,
            shared: Arc::clone(&self.shared),
            done: false,
        };
        if set.is_empty() {
            let _ = tx.try_send(Item::End);
            return Ok(stream);
        }
        let route = Route::uids(set);
        let (set, attrs) = (set.clone(), attrs.to_vec());
        self.send(Request::Queue {
            begin: Box::new(move |s| s.typed_fetch(SetArg::Uid(&set), &attrs)),
            sink: Sink::Stream(tx),
            route,
            merge: None,
        })
        .await?;
        Ok(stream)
    }

    /// UID SEARCH, pipelined: the matching UIDs, as a set of ranges.
    ///
    /// ```no_run
    /// use imap4::typed::SearchKey;
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let unseen = client.uid_search(&SearchKey::Unseen).await?;
    /// println!("{unseen}");
    /// # Ok(()) }
    /// ```
    pub async fn uid_search(&self, key: &SearchKey) -> Result<UidSet, Error> {
        let key = key.clone();
        let out = self
            .pipelined(
                Box::new(move |s| s.typed_search(true, &key)),
                Route::Search,
                None,
            )
            .await?;
        Ok(UidSet::from_ranges(out.search_ranges()?))
    }

    /// UID STORE, pipelined: changes flags; returns the FETCH responses
    /// (empty when `silent`).
    ///
    /// ```no_run
    /// use imap4::typed::{StoreOp, UidSet};
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// client.uid_store(&UidSet::single(7), StoreOp::Add, &["\\Seen"], true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn uid_store(
        &self,
        set: &UidSet,
        op: StoreOp,
        flags: &[&str],
        silent: bool,
    ) -> Result<Fetches, Error> {
        if set.is_empty() {
            return Ok(Fetches::default());
        }
        let route = Route::uids(set);
        let set = set.clone();
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let out = self
            .pipelined(
                Box::new(move |s| {
                    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                    s.typed_store(SetArg::Uid(&set), op, &flags, silent)
                }),
                route,
                None,
            )
            .await?;
        Ok(out.into_fetches())
    }

    /// NOOP, pipelined; returns the unsolicited updates it collected.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// client.noop().await?;
    /// println!("{:?}", client.mailbox_state());
    /// # Ok(()) }
    /// ```
    pub async fn noop(&self) -> Result<Fetches, Error> {
        let out = self
            .pipelined(Box::new(|s| s.typed_noop()), Route::Other, None)
            .await?;
        Ok(out.into_fetches())
    }

    /// LOGOUT, after every command sent before it; the [`Connection`]
    /// then completes with `Ok(())` and later requests fail.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// client.logout().await?;
    /// assert!(client.noop().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn logout(&self) -> Result<(), Error> {
        self.exclusive(|m| Box::pin(async move { m.logout().await.map(|_| ()) }))
            .await
    }

    /// The selected mailbox as the connection last saw it (every response
    /// updates it, whichever command brought it); `None` unless a mailbox
    /// is selected.
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// client.select("INBOX").await?;
    /// println!("{:?}", client.mailbox_state().map(|s| s.exists));
    /// # Ok(()) }
    /// ```
    pub fn mailbox_state(&self) -> Option<MailboxState> {
        lock(&self.shared.mailbox).clone()
    }

    /// A receiver of the events the server reports from now on (new
    /// mail, expunges, flag changes, alerts…), with whatever command they
    /// arrive; [`Events::idle`] also asks the server to push them (IDLE).
    ///
    /// ```no_run
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// let mut events = client.events();
    /// while let Some(e) = events.next().await {
    ///     println!("{e:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> Events {
        let rx = match lock(&self.shared.events).as_ref() {
            Some(tx) => tx.subscribe(),
            // closed: a receiver that ends at once
            None => broadcast::channel(1).1,
        };
        Events {
            rx,
            tx: self.tx.downgrade(),
            shared: Arc::clone(&self.shared),
            missed: 0,
        }
    }

    /// Waits for the next event until `until`, with IDLE running while
    /// nothing else is in flight (on a server without IDLE the connection
    /// polls with NOOP); `Ok(None)` when the time is up. Events from
    /// before the call are not seen: to miss none, loop on
    /// [`Events::idle`].
    ///
    /// ```no_run
    /// use tokio::time::Instant;
    /// use std::time::Duration;
    /// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
    /// if let Some(event) = client.idle(Instant::now() + Duration::from_secs(300)).await? {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn idle(&self, until: Instant) -> Result<Option<Event>, Error> {
        self.events().idle(until).await
    }
}

// ----- streams and events -------------------------------------------------------

/// The responses of [`Client::uid_fetch_stream`], one FETCH at a time.
/// Dropping it discards the rest (the connection stays in step).
///
/// ```no_run
/// use imap4::typed::{FetchAttr, UidSet};
/// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
/// let stream = client.uid_fetch_stream(&UidSet::from(1..=10), &[FetchAttr::Flags]).await?;
/// let all = stream.collect().await?;
/// println!("{} responses", all.raw_len());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FetchStream {
    rx: mpsc::Receiver<Item>,
    shared: Arc<Shared>,
    done: bool,
}

impl FetchStream {
    /// The next FETCH response (other untagged responses are skipped),
    /// `None` once the command completed; an error ends the stream (a
    /// response that cannot be parsed is an error and the stream goes
    /// on).
    ///
    /// ```no_run
    /// # async fn run(mut stream: imap4::tokio::FetchStream) -> Result<(), imap4::Error> {
    /// while let Some(f) = stream.next().await {
    ///     println!("{:?}", f?.get().flags());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Result<OwnedFetch, Error>> {
        while !self.done {
            match self.rx.recv().await {
                Some(Item::Frame(frame)) => match imap4_proto::parse::parse_response(&frame) {
                    Ok(ParsedResponse::Data(Untagged::Fetch(_))) => {
                        return Some(Ok(OwnedFetch { frame }))
                    }
                    Ok(_) => {}
                    Err(error) => {
                        let e = SessionError::Unparsable { error, raw: frame };
                        return Some(Err(e.into()));
                    }
                },
                Some(Item::Failed(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Item::End) => self.done = true,
                None => {
                    self.done = true;
                    return Some(Err(self.shared.closed_error()));
                }
            }
        }
        None
    }

    /// Collects the rest into [`Fetches`] (as [`Client::uid_fetch`]).
    ///
    /// ```no_run
    /// # async fn run(stream: imap4::tokio::FetchStream) -> Result<(), imap4::Error> {
    /// let fetches = stream.collect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn collect(mut self) -> Result<Fetches, Error> {
        let mut frames = Vec::new();
        while let Some(f) = self.next().await {
            frames.push(f?.frame);
        }
        Ok(Fetches::new(frames))
    }
}

/// One FETCH response, owned (it keeps the received bytes; [`Self::get`]
/// parses them without copying message data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFetch {
    frame: Bytes,
}

impl OwnedFetch {
    /// The response, parsed.
    ///
    /// ```no_run
    /// # fn run(f: imap4::tokio::OwnedFetch) {
    /// println!("UID {:?}", f.get().uid());
    /// # }
    /// ```
    pub fn get(&self) -> Fetch<'_> {
        match imap4_proto::parse::parse_response(&self.frame) {
            Ok(ParsedResponse::Data(Untagged::Fetch(f))) => f,
            // FetchStream::next checked this very parse
            _ => unreachable!("an OwnedFetch holds a FETCH response"),
        }
    }

    /// The response as received (without CRLF).
    ///
    /// ```no_run
    /// # fn run(f: imap4::tokio::OwnedFetch) {
    /// println!("{}", String::from_utf8_lossy(f.raw()));
    /// # }
    /// ```
    pub fn raw(&self) -> &Bytes {
        &self.frame
    }
}

/// The events of a connection ([`Client::events`]): each receiver sees
/// every event from its creation on, buffered up to [`EVENT_CAPACITY`].
///
/// ```no_run
/// use tokio::time::Instant;
/// use std::time::Duration;
/// # async fn run(client: imap4::tokio::Client) -> Result<(), imap4::Error> {
/// let mut events = client.events();
/// loop {
///     match events.idle(Instant::now() + Duration::from_secs(600)).await? {
///         Some(e) => println!("{e:?}"),
///         None => println!("nothing new for ten minutes"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Events {
    rx: broadcast::Receiver<Event>,
    tx: mpsc::WeakSender<Request>,
    shared: Arc<Shared>,
    missed: u64,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Queue { .. } => "Request::Queue",
            Request::Exclusive(_) => "Request::Exclusive",
            Request::Idle(_) => "Request::Idle",
        })
    }
}

impl Events {
    /// The next event, waiting as long as it takes (events come with the
    /// responses to commands, and during IDLE); `None` once the
    /// connection ended.
    ///
    /// ```no_run
    /// # async fn run(mut events: imap4::tokio::Events) {
    /// while let Some(e) = events.next().await {
    ///     println!("{e:?}");
    /// }
    /// # }
    /// ```
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            match self.rx.recv().await {
                Ok(e) => return Some(e),
                Err(broadcast::error::RecvError::Lagged(n)) => self.missed += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next event if one is already here (no waiting).
    ///
    /// ```no_run
    /// # fn run(mut events: imap4::tokio::Events) {
    /// while let Some(e) = events.try_next() {
    ///     println!("{e:?}");
    /// }
    /// # }
    /// ```
    pub fn try_next(&mut self) -> Option<Event> {
        loop {
            match self.rx.try_recv() {
                Ok(e) => return Some(e),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.missed += n,
                Err(_) => return None,
            }
        }
    }

    /// Waits for the next event until `until`, with IDLE running on the
    /// connection while nothing else is in flight; `Ok(None)` when the
    /// time is up; an error when the connection is gone or IDLE cannot
    /// run (no mailbox state to watch before login).
    ///
    /// ```no_run
    /// use tokio::time::Instant;
    /// use std::time::Duration;
    /// # async fn run(mut events: imap4::tokio::Events) -> Result<(), imap4::Error> {
    /// while let Some(e) = events.idle(Instant::now() + Duration::from_secs(60)).await? {
    ///     println!("{e:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn idle(&mut self, until: Instant) -> Result<Option<Event>, Error> {
        if let Some(e) = self.try_next() {
            return Ok(Some(e));
        }
        let (tx, mut failed) = oneshot::channel();
        let Some(requests) = self.tx.upgrade() else {
            return Err(self.shared.closed_error());
        };
        requests
            .send(Request::Idle(Idler { until, tx }))
            .await
            .map_err(|_| self.shared.closed_error())?;
        drop(requests);
        let mut idling = true;
        loop {
            ::tokio::select! {
                r = self.rx.recv() => match r {
                    Ok(e) => return Ok(Some(e)),
                    Err(broadcast::error::RecvError::Lagged(n)) => self.missed += n,
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(self.shared.closed_error())
                    }
                },
                r = &mut failed, if idling => match r {
                    Ok(e) => return Err(e),
                    Err(_) => idling = false,
                },
                () = ::tokio::time::sleep_until(until) => return Ok(None),
            }
        }
    }

    /// How many events this receiver missed by falling more than
    /// [`EVENT_CAPACITY`] behind.
    ///
    /// ```no_run
    /// # fn run(events: imap4::tokio::Events) {
    /// assert_eq!(events.missed(), 0);
    /// # }
    /// ```
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

// Compile-time checks of the promised auto traits.
#[allow(dead_code)]
fn assert_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send::<Connection>();
    send::<FetchStream>();
    send::<Events>();
}
