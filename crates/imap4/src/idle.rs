//! IDLE, the live mailbox state and events, on both drivers.
//!
//! The core decides everything (see `imap4_proto::IdleConfig`: refresh
//! before the server's 30-minute limit, keepalive probes, dead-peer
//! detection, NOOP polling where the server has no IDLE); the drivers only
//! wait for bytes or for the instant the core names. Both drivers get
//! their methods from one macro; the handles differ only in `async`.
//!
//! ```no_run
//! use std::time::Duration;
//! let mut m = imap4::Imap4::connect("localhost", imap4::IMAP4_PORT)?;
//! m.login("alice", "secret")?;
//! m.typed().select("INBOX")?;
//! let mut idle = m.idle()?;
//! while let Some(event) = idle.wait(Duration::from_secs(60))? {
//!     println!("{event:?}");
//! }
//! idle.done()?;
//! println!("{:?}", m.mailbox_state());
//! # Ok::<(), imap4::Error>(())
//! ```

use std::time::{Duration, Instant};

pub use imap4_proto::{Event, IdleConfig, MailboxState};

use crate::error::Error;
use crate::Imap4;

/// Defines the live-mailbox methods on a driver with `session`, `debug`,
/// `flush()` and `fill_until(Instant)`.
macro_rules! live_methods {
    ([$($async:tt)*] [$($await:tt)*]) => {
        /// The selected mailbox as every response so far has left it
        /// (EXISTS, EXPUNGE, VANISHED, FLAGS, UIDVALIDITY, UIDNEXT,
        /// HIGHESTMODSEQ, read-only), whatever command brought them.
        /// `None` unless a mailbox is selected.
        pub fn mailbox_state(&self) -> Option<&imap4_proto::MailboxState> {
            self.session.mailbox_state()
        }

        /// Starts recording [`crate::idle::Event`]s from every response
        /// (IDLE does this by itself); take them with
        /// [`Self::take_event`]. The queue is bounded by
        /// `Limits::max_events`.
        pub fn enable_events(&mut self) {
            self.session.enable_events()
        }

        /// Takes the oldest queued event, if any (no I/O).
        pub fn take_event(&mut self) -> Option<imap4_proto::Event> {
            self.session.take_event()
        }

        /// Runs IDLE until an event, the end of IDLE, or `until`.
        pub(crate) $($async)* fn idle_next(
            &mut self,
            until: std::time::Instant,
            events: bool,
        ) -> Result<Option<imap4_proto::Event>, Error> {
            loop {
                self.flush()$($await)*?;
                let now = std::time::Instant::now();
                let step = if events {
                    self.session.idle_poll(now)
                } else {
                    self.session.idle_poll_quiet(now)
                };
                crate::client::emit_trace(&mut self.session, self.debug);
                match step? {
                    imap4_proto::IdleStep::Event(e) => return Ok(Some(e)),
                    imap4_proto::IdleStep::Done => return Ok(None),
                    imap4_proto::IdleStep::Wait { until: timer } => {
                        self.flush()$($await)*?;
                        if now >= until {
                            return Ok(None);
                        }
                        let wake = timer.map_or(until, |t| t.min(until));
                        self.fill_until(wake)$($await)*?;
                    }
                }
            }
        }

        /// Ends a running IDLE (DONE) and waits for the server's answer;
        /// events that arrive meanwhile stay queued. Every command does
        /// this first, so an IDLE handle that was dropped (or a future
        /// that was cancelled) never breaks the next command.
        pub(crate) $($async)* fn end_idle(&mut self) -> Result<(), Error> {
            if !self.session.idle_running() {
                return Ok(());
            }
            self.session.idle_stop(std::time::Instant::now());
            while self.session.idle_running() {
                // The core's probe timeout bounds this wait.
                let far = std::time::Instant::now() + std::time::Duration::from_secs(3600);
                self.idle_next(far, false)$($await)*?;
            }
            Ok(())
        }
    };
}
pub(crate) use live_methods;

/// A running IDLE on a blocking connection ([`Imap4::idle`]).
///
/// Dropping it without [`Idle::done`] is safe: the next command on the
/// connection ends IDLE first.
#[derive(Debug)]
pub struct Idle<'a> {
    m: &'a mut Imap4,
}

impl Imap4 {
    /// Starts IDLE (RFC 2177) with the default [`IdleConfig`]; on a server
    /// without IDLE the same handle polls with NOOP.
    pub fn idle(&mut self) -> Result<Idle<'_>, Error> {
        self.idle_with(IdleConfig::default())
    }

    /// [`Imap4::idle`] with chosen intervals.
    pub fn idle_with(&mut self, config: IdleConfig) -> Result<Idle<'_>, Error> {
        self.end_idle()?;
        self.session.idle_start(Instant::now(), config)?;
        Ok(Idle { m: self })
    }
}

impl Idle<'_> {
    /// Waits up to `timeout` for the next event; `Ok(None)` when the time
    /// is up with nothing new. The connection is kept alive meanwhile.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<Event>, Error> {
        self.m.idle_next(Instant::now() + timeout, true)
    }

    /// The mailbox state so far.
    pub fn mailbox_state(&self) -> Option<&MailboxState> {
        self.m.mailbox_state()
    }

    /// Ends IDLE (DONE) and waits for the server's answer.
    pub fn done(self) -> Result<(), Error> {
        self.m.end_idle()
    }
}
