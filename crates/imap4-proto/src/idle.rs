//! IDLE (RFC 2177), driven by the time the caller passes in.
//!
//! [`Session::idle_start`] begins; the driver then calls
//! [`Session::idle_poll`] with the current time whenever bytes arrived or
//! the instant it was told to wake up at has come. The core decides
//! everything else: re-issuing IDLE before the server's 30-minute limit,
//! probing a server that has been silent too long (DONE, then NOOP) and
//! declaring the connection dead when the probe goes unanswered, and, on a
//! server without IDLE, polling with NOOP. Events come out one at a time;
//! [`Session::idle_stop`] ends it with DONE.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use imap4_proto::{IdleConfig, IdleStep, Limits, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH hi\r\n");
//! s.read_greeting().unwrap();
//! let caps = s.refresh_capabilities().unwrap().pending().unwrap();
//! s.take_output();
//! s.receive(b"* CAPABILITY IMAP4rev1 IDLE\r\nA0 OK\r\n");
//! let imap4_proto::Poll::Done(t) = s.poll(&caps).unwrap() else { panic!() };
//! s.complete(caps, Ok(t)).unwrap();
//! let t0 = Instant::now();
//! s.idle_start(t0, IdleConfig::default()).unwrap();
//! assert_eq!(&s.take_output().unwrap()[..], b"A1 IDLE\r\n");
//! s.receive(b"+ idling\r\n* 4 EXISTS\r\n");
//! assert!(matches!(s.idle_poll(t0).unwrap(), IdleStep::Event(_)));
//! // Nothing else: wake up when the refresh or the keepalive probe is due.
//! let IdleStep::Wait { until } = s.idle_poll(t0).unwrap() else { panic!() };
//! assert_eq!(until, Some(t0 + IdleConfig::default().keepalive));
//! s.idle_stop(t0);
//! assert_eq!(&s.take_output().unwrap()[..], b"DONE\r\n");
//! s.receive(b"A1 OK done\r\n");
//! assert!(matches!(s.idle_poll(t0).unwrap(), IdleStep::Done));
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::live::Event;
use crate::session::{Finish, Pending, Poll, Session, SessionError};
use crate::State;

/// IDLE timing. Every interval is measured on the `now` the driver passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleConfig {
    /// Re-issue IDLE after this long (RFC 2177: servers may end an IDLE
    /// after 30 minutes). Default 29 minutes.
    pub refresh: Duration,
    /// A server silent this long is probed: DONE, then NOOP. Default 5
    /// minutes (Dovecot says "Still here" every 2).
    pub keepalive: Duration,
    /// How long the server may take to answer IDLE, DONE or the probe
    /// before the connection is declared dead. Default 30 seconds.
    pub probe_timeout: Duration,
    /// Without IDLE on the server (or with [`IdleConfig::poll_only`]):
    /// the interval between NOOPs. Default 60 seconds.
    pub poll_interval: Duration,
    /// Poll with NOOP even where the server offers IDLE: for a server
    /// whose IDLE reports nothing (GNU Mailutils 3.15 sends no EXISTS to
    /// a session in IDLE). Default false.
    pub poll_only: bool,
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            refresh: Duration::from_secs(29 * 60),
            keepalive: Duration::from_secs(5 * 60),
            probe_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(60),
            poll_only: false,
        }
    }
}

/// What [`Session::idle_poll`] says.
#[derive(Debug)]
pub enum IdleStep {
    /// Something happened.
    Event(Event),
    /// Nothing yet: write [`Session::take_output`], then wait for bytes
    /// from the server, or until `until` (then call again).
    Wait {
        /// When to call [`Session::idle_poll`] again without new bytes.
        until: Option<Instant>,
    },
    /// IDLE is over ([`Session::idle_stop`] was answered).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// IDLE sent; waiting for `+`.
    Starting,
    /// The server is idling.
    Idling,
    /// DONE sent; waiting for IDLE's tagged reply.
    Ending,
    /// NOOP sent (a probe, or a poll without IDLE).
    Noop,
    /// No IDLE on the server: waiting for the next poll.
    Waiting,
}

/// Why DONE was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Stop,
    Refresh,
    Probe,
}

#[derive(Debug)]
pub(crate) struct IdleRun {
    cfg: IdleConfig,
    phase: Phase,
    pending: Option<Pending>,
    then: Then,
    stop: bool,
    /// When the current IDLE began.
    since: Instant,
    /// When bytes last arrived, and the response count then.
    last_rx: Instant,
    seen: u64,
    /// The server must answer what was just sent by then.
    answer_by: Option<Instant>,
    next_poll: Instant,
}

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Session {
    /// Starts IDLE (or NOOP polling where the server lacks IDLE); events
    /// are recorded from now on.
    pub fn idle_start(&mut self, now: Instant, cfg: IdleConfig) -> Result<(), SessionError> {
        if self.live.idle.is_some() {
            return Err(SessionError::Usage("IDLE is already running".into()));
        }
        if !matches!(self.state(), State::Auth | State::Selected) {
            return Err(SessionError::IllegalState {
                command: "IDLE".into(),
                state: self.state(),
                allowed: "AUTH, SELECTED".into(),
            });
        }
        self.enable_events();
        let mut run = IdleRun {
            cfg,
            phase: Phase::Waiting,
            pending: None,
            then: Then::Stop,
            stop: false,
            since: now,
            last_rx: now,
            seen: self.responses_received(),
            answer_by: None,
            next_poll: now + cfg.poll_interval,
        };
        if self.supports("IDLE") && !cfg.poll_only {
            self.send_idle(&mut run, now)?;
        }
        self.live.idle = Some(run);
        self.live.idling = true;
        Ok(())
    }

    /// Whether IDLE (or its NOOP polling) is running.
    pub fn idle_running(&self) -> bool {
        self.live.idle.is_some()
    }

    /// Asks IDLE to end: DONE goes out as soon as the server idles; keep
    /// calling [`Session::idle_poll`] until it says [`IdleStep::Done`].
    pub fn idle_stop(&mut self, now: Instant) {
        let Some(mut run) = self.live.idle.take() else {
            return;
        };
        run.stop = true;
        if run.phase == Phase::Idling {
            self.send_done(&mut run, now, Then::Stop);
        }
        self.live.idle = Some(run);
    }

    fn send_done(&mut self, run: &mut IdleRun, now: Instant, then: Then) {
        if let Some(p) = &run.pending {
            self.queue_raw(p, Bytes::from_static(b"DONE\r\n"));
        }
        run.phase = Phase::Ending;
        run.then = then;
        run.answer_by = Some(now + run.cfg.probe_timeout);
    }

    fn send_noop(&mut self, run: &mut IdleRun, now: Instant) -> Result<(), SessionError> {
        run.pending = Some(self.send("NOOP", Finish::Simple, false, |_| Ok(()))?);
        run.phase = Phase::Noop;
        run.answer_by = Some(now + run.cfg.probe_timeout);
        Ok(())
    }

    fn send_idle(&mut self, run: &mut IdleRun, now: Instant) -> Result<(), SessionError> {
        self.live.idle_continued = false;
        run.pending = Some(self.send("IDLE", Finish::Simple, false, |_| Ok(()))?);
        run.phase = Phase::Starting;
        run.since = now;
        run.answer_by = Some(now + run.cfg.probe_timeout);
        Ok(())
    }

    /// Processes what arrived, applies the timers for `now`, and says what
    /// happened. Errors end IDLE (a dead connection is
    /// [`SessionError::Closed`]).
    pub fn idle_poll(&mut self, now: Instant) -> Result<IdleStep, SessionError> {
        self.idle_poll_inner(now, true)
    }

    /// Like [`Session::idle_poll`], but events stay queued (for
    /// [`Session::take_event`]) instead of being returned: for a driver
    /// that is only finishing IDLE.
    pub fn idle_poll_quiet(&mut self, now: Instant) -> Result<IdleStep, SessionError> {
        self.idle_poll_inner(now, false)
    }

    fn idle_poll_inner(&mut self, now: Instant, events: bool) -> Result<IdleStep, SessionError> {
        let Some(mut run) = self.live.idle.take() else {
            return Ok(match self.take_event().filter(|_| events) {
                Some(e) => IdleStep::Event(e),
                None => IdleStep::Done,
            });
        };
        let r = self.idle_step(&mut run, now, events);
        match &r {
            Ok(IdleStep::Done) => self.live.idling = false,
            Err(e) => {
                self.live.idling = false;
                self.fail(e);
            }
            _ => self.live.idle = Some(run),
        }
        r
    }

    fn idle_step(
        &mut self,
        run: &mut IdleRun,
        now: Instant,
        events: bool,
    ) -> Result<IdleStep, SessionError> {
        loop {
            if events {
                if let Some(e) = self.take_event() {
                    return Ok(IdleStep::Event(e));
                }
            }
            let mut finished = None;
            if let Some(p) = &run.pending {
                match self.poll(p)? {
                    Poll::Done((typ, data)) => finished = Some((typ, data)),
                    Poll::NeedInput => {}
                    Poll::Challenge(_) => {
                        return Err(SessionError::UnexpectedResponse(Bytes::from_static(
                            b"AUTHENTICATE challenge during IDLE",
                        )))
                    }
                }
            }
            if events && !self.live.events.is_empty() && finished.is_none() {
                continue;
            }
            if self.responses_received() != run.seen {
                run.seen = self.responses_received();
                run.last_rx = now;
            }
            if run.phase == Phase::Starting && self.live.idle_continued {
                self.live.idle_continued = false;
                run.phase = Phase::Idling;
                run.answer_by = None;
                if run.stop {
                    self.send_done(run, now, Then::Stop);
                }
            }
            if let Some((typ, data)) = finished {
                run.pending = None;
                run.answer_by = None;
                if typ != "OK" {
                    let text = match data.last() {
                        Some(crate::Data::Line(b)) => b.clone(),
                        _ => Bytes::new(),
                    };
                    return Err(SessionError::Command {
                        message: format!("IDLE failed: {typ} {}", crate::sanitize_bytes(&text)),
                        status: typ,
                        text,
                    });
                }
                let has_idle = self.supports("IDLE") && !run.cfg.poll_only;
                match (run.phase, run.then) {
                    _ if run.stop => return Ok(IdleStep::Done),
                    (Phase::Ending, Then::Probe) => self.send_noop(run, now)?,
                    (Phase::Noop, _) if !has_idle => {
                        run.phase = Phase::Waiting;
                        run.next_poll = now + run.cfg.poll_interval;
                    }
                    // Refreshed, probed, or ended by the server: idle again.
                    _ => self.send_idle(run, now)?,
                }
                continue;
            }
            if let Some(by) = run.answer_by {
                if now >= by {
                    return Err(SessionError::Closed(format!(
                        "connection dead: the server did not answer within {:?} (IDLE keepalive)",
                        run.cfg.probe_timeout
                    )));
                }
            }
            match run.phase {
                Phase::Idling => {
                    if now >= run.since + run.cfg.refresh {
                        self.send_done(run, now, Then::Refresh);
                        continue;
                    }
                    if now >= run.last_rx + run.cfg.keepalive {
                        self.send_done(run, now, Then::Probe);
                        continue;
                    }
                }
                Phase::Waiting => {
                    if run.stop {
                        return Ok(IdleStep::Done);
                    }
                    if now >= run.next_poll {
                        self.send_noop(run, now)?;
                        continue;
                    }
                }
                _ => {}
            }
            let timer = match run.phase {
                Phase::Idling => {
                    Some((run.since + run.cfg.refresh).min(run.last_rx + run.cfg.keepalive))
                }
                Phase::Waiting => Some(run.next_poll),
                _ => None,
            };
            if matches!(run.phase, Phase::Idling | Phase::Waiting) {
                // Waiting for the server with nothing half-read: hold no
                // receive buffer meanwhile.
                self.release_buffers();
            }
            return Ok(IdleStep::Wait {
                until: min(timer, run.answer_by),
            });
        }
    }
}
