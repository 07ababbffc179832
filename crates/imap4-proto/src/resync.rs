//! Mailbox resynchronization: from what a client knew of a mailbox
//! (UIDVALIDITY, HIGHESTMODSEQ, the UIDs it holds), the new, changed and
//! vanished messages, by the best means the server offers.
//!
//! [`ResyncRun`] is the sans-IO plan; the drivers run it with
//! `typed().resync(mailbox, &known)`. The strategies
//! ([`ResyncStrategy`]):
//!
//! - **QRESYNC** (RFC 7162 section 3.2.5): `ENABLE QRESYNC` once per
//!   connection (after an UNSELECT if a mailbox is selected: ENABLE is for
//!   the authenticated state), then one `SELECT mailbox (QRESYNC
//!   (uidvalidity modseq known-uids))`: the server answers with `VANISHED
//!   (EARLIER)` and the FETCH responses of everything changed. One
//!   exchange. The known-uids sent are the known UIDs and every UID above
//!   them (`1:5,7:4294967295` for 1 to 5 and 7 known), since a server may
//!   report changes of the known-uids only, and new messages have higher
//!   UIDs.
//! - **CONDSTORE** (RFC 7162 section 3.1): `SELECT mailbox (CONDSTORE)`,
//!   then, pipelined, `UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE modseq)`
//!   (the changed and the new messages) and `UID SEARCH UID known` (which
//!   known messages are still there; with `RETURN (ALL)` where ESEARCH
//!   is offered, so the answer stays a few ranges). Two exchanges. A
//!   fetch answer holding a FETCH without UID (a server's late report of a
//!   change made meanwhile: Dovecot sends it at the end of the command,
//!   having answered for that message from before the change) is asked
//!   for again, up to [`FETCH_ATTEMPTS`] times; the plain strategy does
//!   the same.
//! - **Plain** (no mod-sequences): `SELECT mailbox`, then `UID FETCH 1:*
//!   (UID FLAGS)`. Which messages are new and which vanished is exact;
//!   which changed cannot be known, so every surviving known message is
//!   reported with its flags and [`MailboxChanges::exact`] is `false`.
//!   So it is for a mailbox that says `NOMODSEQ` (whatever the strategy:
//!   the plain fetch follows the SELECT), and with `Auto` a server that
//!   does not enable QRESYNC after all gets CONDSTORE (or plain).
//!
//! A different UIDVALIDITY (or none) is [`Resync::StartOver`]: every UID
//! the client held is void.
//!
//! `known` must describe the mailbox as it was at `highest_modseq` (every
//! UID present then, as a previous resync or SELECT left it): a message
//! present now and not in `known.uids` is new, one in `known.uids` and not
//! present now vanished. A message both new and changed is only new.
//!
//! ```
//! use imap4_proto::command::UidSet;
//! use imap4_proto::resync::{Known, Resync, ResyncRun, ResyncStrategy};
//! use imap4_proto::{Limits, Poll, Session};
//!
//! let mut s = Session::new(Limits::default(), "A");
//! s.receive(b"* PREAUTH [CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC] hi\r\n");
//! s.read_greeting().unwrap();
//! let known = Known::new(7, 100, UidSet::from(1..=5));
//! let mut run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Auto).unwrap();
//! let replies: [&[u8]; 2] = [
//!     b"* ENABLED QRESYNC\r\nA0 OK\r\n",
//!     b"* 5 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 7] x\r\n\
//!       * OK [HIGHESTMODSEQ 104] x\r\n* VANISHED (EARLIER) 2\r\n\
//!       * 3 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (103))\r\n\
//!       * 5 FETCH (UID 6 FLAGS () MODSEQ (104))\r\nA1 OK [READ-WRITE] x\r\n",
//! ];
//! for reply in replies {
//!     let pending: Vec<_> = run.begin(&mut s).into_iter().map(|p| p.unwrap()).collect();
//!     s.take_output().unwrap();
//!     s.receive(reply);
//!     let mut outs = Vec::new();
//!     for p in pending {
//!         let Poll::Done(t) = s.poll(&p).unwrap() else { panic!() };
//!         outs.push(s.complete_typed(p, Ok(t)).unwrap());
//!     }
//!     run.accept(&s, outs).unwrap();
//! }
//! assert!(run.is_done());
//! let Resync::Changes(c) = run.finish().unwrap() else { panic!() };
//! assert_eq!((c.new.to_string(), c.vanished.to_string()), ("6".into(), "2".into()));
//! assert_eq!(c.changed.len(), 1);
//! assert_eq!((c.changed[0].uid, c.highest_modseq, c.exact), (4, Some(104), true));
//! ```

use crate::command::{Bound, FetchAttr, SearchKey, UidSet};
use crate::condstore::{flag_changes, FlagChange, SelectOptions};
use crate::session::{Pending, Session, SessionError, State};
use crate::typed::{Fetches, SelectedMailbox, SetArg, TypedKind, TypedOutcome};

/// What the client knew of a mailbox.
///
/// ```
/// use imap4_proto::command::UidSet;
/// use imap4_proto::resync::Known;
///
/// let known = Known::new(1700000000, 42, UidSet::from_numbers([1, 2, 3, 9]));
/// assert_eq!(known.uids.to_string(), "1:3,9");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Known {
    /// The mailbox's UIDVALIDITY then.
    pub uid_validity: u32,
    /// Its HIGHESTMODSEQ then (0 when unknown: every message is then
    /// reported as changed).
    pub highest_modseq: u64,
    /// Every UID it held then (ranges with `*` are ignored).
    pub uids: UidSet,
}

impl Known {
    /// What the client knew.
    pub fn new(uid_validity: u32, highest_modseq: u64, uids: UidSet) -> Self {
        Known {
            uid_validity,
            highest_modseq,
            uids,
        }
    }
}

/// How to resynchronize (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum ResyncStrategy {
    /// The best the server offers: QRESYNC, else CONDSTORE, else plain.
    #[default]
    Auto,
    /// QRESYNC (an error, nothing sent, without it).
    Qresync,
    /// CONDSTORE without QRESYNC (an error, nothing sent, without it).
    Condstore,
    /// No mod-sequences: UID FETCH of every message's flags.
    Plain,
}

/// What changed in a mailbox since what the client knew.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MailboxChanges {
    /// Messages present now that the client did not know.
    pub new: UidSet,
    /// Known messages, still present, whose flags (may have) changed: all
    /// of them when [`Self::exact`] is `false`. Sorted by UID; none is in
    /// `new`.
    pub changed: Vec<FlagChange>,
    /// Known messages that are gone.
    pub vanished: UidSet,
    /// `changed` holds exactly the messages changed since
    /// `known.highest_modseq` (QRESYNC, CONDSTORE); `false` when the
    /// server cannot tell (plain strategy, NOMODSEQ mailbox), and
    /// `changed` is then every surviving known message.
    pub exact: bool,
    /// The strategy used.
    pub strategy: ResyncStrategy,
    /// UIDVALIDITY (the same as known).
    pub uid_validity: u32,
    /// UIDNEXT now.
    pub uid_next: Option<u32>,
    /// HIGHESTMODSEQ now: remember it for the next resync (`None`
    /// without CONDSTORE).
    pub highest_modseq: Option<u64>,
    /// The number of messages now.
    pub exists: u32,
}

/// The outcome of a resynchronization. The mailbox is selected
/// (read-write) afterwards either way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum Resync {
    /// UIDVALIDITY changed (or the server sent none): every UID the client
    /// held is void; fetch the mailbox again.
    StartOver {
        /// The mailbox's UIDVALIDITY now.
        new_uid_validity: Option<u32>,
        /// The mailbox as SELECT reported it.
        mailbox: SelectedMailbox,
    },
    /// What changed.
    Changes(MailboxChanges),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Unselect,
    Enable,
    Select,
    /// CONDSTORE with a mod-sequence: CHANGEDSINCE fetch and SEARCH.
    Changed,
    /// Every message's flags (`exact`: every message counts as changed,
    /// known mod-sequence 0).
    All {
        exact: bool,
    },
    Done,
}

/// A resynchronization in progress, sans-IO: [`ResyncRun::begin`] queues
/// the next commands, the driver runs them (pipelined) and hands their
/// outcomes to [`ResyncRun::accept`], until [`ResyncRun::is_done`]; then
/// [`ResyncRun::finish`]. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct ResyncRun {
    mailbox: String,
    known: Known,
    strategy: ResyncStrategy,
    stage: Stage,
    selected: Option<SelectedMailbox>,
    result: Option<Resync>,
    /// Fetch steps run again (see [`ResyncRun::again`]).
    attempts: u8,
    /// The strategy was [`ResyncStrategy::Auto`]: a server that does not
    /// enable QRESYNC after all gets the next best.
    auto: bool,
}

impl ResyncRun {
    /// Plans the resynchronization of `mailbox` with `strategy` on
    /// `session` (logged in). An error, nothing sent, when the strategy
    /// needs what the server lacks: QRESYNC needs ENABLE, QRESYNC and a
    /// known UIDVALIDITY and HIGHESTMODSEQ above 0 (and, with a mailbox
    /// selected and QRESYNC not yet enabled, UNSELECT); CONDSTORE needs
    /// CONDSTORE.
    pub fn new(
        session: &Session,
        mailbox: &str,
        known: Known,
        strategy: ResyncStrategy,
    ) -> Result<ResyncRun, SessionError> {
        let s = session;
        if !matches!(s.state(), State::Auth | State::Selected) {
            return Err(SessionError::IllegalState {
                command: "resync".into(),
                state: s.state(),
                allowed: "AUTH, SELECTED".into(),
            });
        }
        let enabled = s.is_enabled("QRESYNC");
        let qresync_problem = if !s.supports("QRESYNC") {
            Some("the server does not offer QRESYNC")
        } else if !enabled && !s.supports("ENABLE") {
            Some("the server does not offer ENABLE (needed for QRESYNC)")
        } else if known.uid_validity == 0 || known.highest_modseq == 0 {
            Some("QRESYNC needs the known UIDVALIDITY and HIGHESTMODSEQ (above 0)")
        } else if !enabled && s.state() == State::Selected && !s.supports("UNSELECT") {
            Some("QRESYNC must be enabled before a mailbox is selected (no UNSELECT to leave it)")
        } else {
            None
        };
        let requested = strategy;
        let strategy = match strategy {
            ResyncStrategy::Auto if qresync_problem.is_none() => ResyncStrategy::Qresync,
            ResyncStrategy::Auto if s.supports("CONDSTORE") => ResyncStrategy::Condstore,
            ResyncStrategy::Auto => ResyncStrategy::Plain,
            ResyncStrategy::Qresync => {
                if let Some(why) = qresync_problem {
                    return Err(SessionError::Usage(why.into()));
                }
                ResyncStrategy::Qresync
            }
            ResyncStrategy::Condstore if !s.supports("CONDSTORE") => {
                return Err(SessionError::Usage(
                    "the server does not offer CONDSTORE".into(),
                ))
            }
            other => other,
        };
        let stage = match strategy {
            ResyncStrategy::Qresync if !enabled && s.state() == State::Selected => Stage::Unselect,
            ResyncStrategy::Qresync if !enabled => Stage::Enable,
            _ => Stage::Select,
        };
        Ok(ResyncRun {
            mailbox: mailbox.to_string(),
            known,
            strategy,
            stage,
            selected: None,
            result: None,
            attempts: 0,
            auto: requested == ResyncStrategy::Auto,
        })
    }

    /// The strategy chosen ([`ResyncStrategy::Auto`] resolved).
    pub fn strategy(&self) -> ResyncStrategy {
        self.strategy
    }

    /// The mailbox being resynchronized.
    pub fn mailbox(&self) -> &str {
        &self.mailbox
    }

    /// Whether the result is ready ([`ResyncRun::finish`]).
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Queues the next commands (none once done); run them all, then
    /// [`ResyncRun::accept`] their outcomes in this order.
    pub fn begin(&mut self, s: &mut Session) -> Vec<Result<Pending, SessionError>> {
        let all = UidSet::range(1, Bound::Star);
        match self.stage {
            Stage::Unselect => vec![s.typed_close(false)],
            Stage::Enable => vec![s.typed_enable(&["QRESYNC"])],
            Stage::Select => {
                let options = match self.strategy {
                    ResyncStrategy::Qresync => SelectOptions::qresync(
                        crate::condstore::QresyncParams::new(
                            self.known.uid_validity,
                            self.known.highest_modseq,
                        )
                        .known_uids(self.qresync_uids()),
                    ),
                    ResyncStrategy::Condstore => SelectOptions::condstore(),
                    _ => SelectOptions::default(),
                };
                vec![s.typed_select_with(&self.mailbox, false, &options)]
            }
            Stage::Changed => {
                let attrs = [FetchAttr::Uid, FetchAttr::Flags];
                let fetch = s.typed_fetch_changed_since(
                    SetArg::Uid(&all),
                    &attrs,
                    self.known.highest_modseq,
                    false,
                );
                let known = self.known_numeric();
                if known.is_empty() {
                    return vec![fetch];
                }
                vec![fetch, search_uids(s, &known)]
            }
            Stage::All { exact } => {
                let mut attrs = vec![FetchAttr::Uid, FetchAttr::Flags];
                if exact {
                    attrs.push(FetchAttr::ModSeq);
                }
                vec![s.typed_fetch(SetArg::Uid(&all), &attrs)]
            }
            Stage::Done => Vec::new(),
        }
    }

    /// Takes the outcomes of the commands [`ResyncRun::begin`] queued, in
    /// order.
    pub fn accept(&mut self, s: &Session, outcomes: Vec<TypedOutcome>) -> Result<(), SessionError> {
        let mut outcomes = outcomes.into_iter();
        let mut next = || {
            outcomes
                .next()
                .ok_or_else(|| SessionError::Usage("resync: an outcome is missing".into()))
        };
        match self.stage {
            Stage::Unselect => self.stage = Stage::Enable,
            Stage::Enable => {
                next()?;
                if !s.is_enabled("QRESYNC") {
                    if !self.auto {
                        return Err(SessionError::Usage(
                            "the server did not ENABLE QRESYNC".into(),
                        ));
                    }
                    // Auto: the next best
                    self.strategy = if s.supports("CONDSTORE") {
                        ResyncStrategy::Condstore
                    } else {
                        ResyncStrategy::Plain
                    };
                }
                self.stage = Stage::Select;
            }
            Stage::Select => {
                let sync = next()?.selected_sync(false)?;
                let m = &sync.mailbox;
                if m.uid_validity != Some(self.known.uid_validity) {
                    self.result = Some(Resync::StartOver {
                        new_uid_validity: m.uid_validity,
                        mailbox: sync.mailbox,
                    });
                    self.stage = Stage::Done;
                    return Ok(());
                }
                let mod_sequences = !sync.no_modseq && m.highest_modseq.is_some();
                self.stage = match self.strategy {
                    ResyncStrategy::Qresync if mod_sequences => {
                        let present = UidSet::from_numbers(sync.changes.iter().map(|c| c.uid));
                        self.result = Some(self.changes(
                            m,
                            present,
                            sync.changes.clone(),
                            Some(sync.vanished.clone()),
                            true,
                        ));
                        Stage::Done
                    }
                    _ if m.exists == 0 => {
                        let exact = self.strategy != ResyncStrategy::Plain && mod_sequences;
                        self.result =
                            Some(self.changes(m, UidSet::default(), Vec::new(), None, exact));
                        Stage::Done
                    }
                    ResyncStrategy::Condstore if mod_sequences => {
                        if self.known.highest_modseq == 0 {
                            Stage::All { exact: true }
                        } else {
                            Stage::Changed
                        }
                    }
                    _ => Stage::All { exact: false },
                };
                self.selected = Some(sync.mailbox);
            }
            Stage::Changed => {
                let fetched = next()?;
                let known = self.known_numeric();
                let searched = if known.is_empty() {
                    None
                } else {
                    Some(next()?)
                };
                if self.again(&fetched)? {
                    return Ok(());
                }
                let changes = reported(&fetched)?;
                let still = match searched {
                    Some(out) => UidSet::from_ranges(out.search_ranges()?),
                    None => UidSet::default(),
                };
                let vanished = known.difference(&still).union(&fetched.vanished()?);
                let present = UidSet::from_numbers(changes.iter().map(|c| c.uid));
                let m = self.selected.clone().unwrap_or_default();
                self.result = Some(self.changes(&m, present, changes, Some(vanished), true));
                self.stage = Stage::Done;
            }
            Stage::All { exact } => {
                let fetched = next()?;
                if self.again(&fetched)? {
                    return Ok(());
                }
                let changes = reported(&fetched)?;
                let present = UidSet::from_numbers(changes.iter().map(|c| c.uid));
                let known = self.known_numeric();
                let gone = fetched.vanished()?;
                let vanished = known.difference(&present).union(&gone);
                let m = self.selected.clone().unwrap_or_default();
                self.result = Some(self.changes(&m, present, changes, Some(vanished), exact));
                self.stage = Stage::Done;
            }
            Stage::Done => {}
        }
        Ok(())
    }

    /// Whether to run the fetch step again: its answer holds a FETCH
    /// without UID (a CONDSTORE server's report of a change it had not
    /// announced yet, e.g. Dovecot's at the end of a command, with the
    /// command's own answer for that message made before the change), at
    /// most [`FETCH_ATTEMPTS`] times. The next answer comes after the
    /// server announced the change, so it carries it with its UID.
    fn again(&mut self, fetched: &TypedOutcome) -> Result<bool, SessionError> {
        let uidless = Fetches::new(fetched.frames.clone())
            .iter()
            .any(|f| f.is_ok_and(|f| f.uid().is_none() && f.flags().is_some()));
        if uidless && self.attempts + 1 < FETCH_ATTEMPTS {
            self.attempts += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// The result, once [`ResyncRun::is_done`].
    pub fn finish(self) -> Result<Resync, SessionError> {
        self.result
            .ok_or_else(|| SessionError::Usage("resync has not completed".into()))
    }

    /// The `known-uids` of the QRESYNC SELECT: the known UIDs and every
    /// UID above them. A server may report changes of the known-uids
    /// only (RFC 7162 section 3.2.5; Dovecot does), and new messages all
    /// have UIDs above the known ones; vanished UIDs that were never
    /// known are dropped from the result.
    fn qresync_uids(&self) -> UidSet {
        let known = self.known_numeric();
        match known.numeric_ranges().last() {
            Some((_, max)) if max < u32::MAX => known.union(&UidSet::from(max + 1..=u32::MAX)),
            _ => known,
        }
    }

    /// The known UIDs without `*` ranges.
    fn known_numeric(&self) -> UidSet {
        UidSet::from_ranges(self.known.uids.numeric_ranges())
    }

    /// The changes, from the messages reported present (`present`, with
    /// their flags in `reported`) and the UIDs reported gone: with
    /// `vanished` `None`, every known message not present is gone.
    fn changes(
        &self,
        m: &SelectedMailbox,
        present: UidSet,
        reported: Vec<FlagChange>,
        vanished: Option<UidSet>,
        exact: bool,
    ) -> Resync {
        let known = self.known_numeric();
        let vanished = match vanished {
            Some(v) => v.intersection(&known),
            None => known.clone(),
        };
        let gone_now = |uid: u32| vanished.contains(uid);
        let new = present.difference(&known).difference(&vanished);
        let mut changed: Vec<FlagChange> = reported
            .into_iter()
            .filter(|c| known.contains(c.uid) && !gone_now(c.uid))
            .collect();
        changed.sort_by_key(|c| c.uid);
        // a message reported twice (unsolicited FETCH): the last report
        changed.dedup_by(|later, earlier| {
            let same = later.uid == earlier.uid;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        Resync::Changes(MailboxChanges {
            new,
            changed,
            vanished,
            exact,
            strategy: self.strategy,
            uid_validity: self.known.uid_validity,
            uid_next: m.uid_next,
            highest_modseq: m.highest_modseq,
            exists: m.exists,
        })
    }
}

/// Most times the fetch step runs when its answers keep holding FETCH
/// responses without UID (see [`ResyncRun`]); the last answer is used as
/// it is.
pub const FETCH_ATTEMPTS: u8 = 3;

/// The FETCH responses of `out` with UID and FLAGS.
fn reported(out: &TypedOutcome) -> Result<Vec<FlagChange>, SessionError> {
    flag_changes(&Fetches::new(out.frames.clone())).map_err(|error| SessionError::Unparsable {
        error,
        raw: Default::default(),
    })
}

/// `UID SEARCH [RETURN (ALL)] UID set`: the UIDs of `set` still present
/// (ESEARCH's ALL where offered, so the answer is a few ranges).
fn search_uids(s: &mut Session, set: &UidSet) -> Result<Pending, SessionError> {
    let esearch = s.supports("ESEARCH");
    let key = SearchKey::Uid(set.clone());
    s.typed(
        "UID SEARCH",
        TypedKind::Plain,
        &[State::Selected],
        |_, c| {
            if esearch {
                c.raw(b"RETURN (ALL)")?;
            }
            key.encode(c)
        },
    )
}

impl MailboxChanges {
    /// What to remember for the next resync: UIDVALIDITY, HIGHESTMODSEQ
    /// (0 without) and the UIDs now present, computed from `known` and
    /// these changes.
    pub fn known_after(&self, known: &Known) -> Known {
        Known {
            uid_validity: self.uid_validity,
            highest_modseq: self.highest_modseq.unwrap_or(0),
            uids: UidSet::from_ranges(known.uids.numeric_ranges())
                .difference(&self.vanished)
                .union(&self.new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Poll};

    fn session(caps: &str) -> Session {
        let mut s = Session::new(Limits::default(), "A");
        s.receive(format!("* PREAUTH [CAPABILITY IMAP4rev1 {caps}] hi\r\n").as_bytes());
        assert!(s.read_greeting().unwrap());
        s
    }

    /// Runs `run` to its end, answering each step with the next reply
    /// (`{tag}` stands for each command's tag in turn); returns what was
    /// sent.
    fn drive(s: &mut Session, run: &mut ResyncRun, replies: &[&str]) -> Vec<String> {
        let mut sent = Vec::new();
        for reply in replies {
            assert!(!run.is_done());
            let pending: Vec<Pending> = run.begin(s).into_iter().map(|p| p.unwrap()).collect();
            let out = String::from_utf8_lossy(&s.take_output().unwrap()).into_owned();
            let mut reply = reply.to_string();
            for line in out.lines() {
                let tag = line.split(' ').next().unwrap_or_default();
                reply = reply.replacen("{tag}", tag, 1);
            }
            sent.push(out);
            s.receive(reply.as_bytes());
            let mut outs = Vec::new();
            for p in pending {
                let Poll::Done(t) = s.poll(&p).unwrap() else {
                    panic!("not done")
                };
                outs.push(s.complete_typed(p, Ok(t)).unwrap());
            }
            run.accept(s, outs).unwrap();
        }
        assert!(run.is_done());
        sent
    }

    fn changes(r: Resync) -> MailboxChanges {
        match r {
            Resync::Changes(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn condstore_fetches_changes_and_searches_the_known() {
        let mut s = session("CONDSTORE ESEARCH");
        let known = Known::new(9, 50, UidSet::from(1..=4));
        let mut run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Auto).unwrap();
        assert_eq!(run.strategy(), ResyncStrategy::Condstore);
        let sent = drive(
            &mut s,
            &mut run,
            &[
                "* 4 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n* OK [HIGHESTMODSEQ 60] x\r\n{tag} OK [READ-WRITE] x\r\n",
                "* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (55))\r\n\
                 * 4 FETCH (UID 7 FLAGS (\\Seen) MODSEQ (60))\r\n\
                 * 3 FETCH (UID 6 FLAGS () MODSEQ (58))\r\n{tag} OK x\r\n\
                 * ESEARCH (TAG \"A2\") UID ALL 1,3\r\n{tag} OK x\r\n",
            ],
        );
        assert_eq!(sent[0], "A0 SELECT \"INBOX\" (CONDSTORE)\r\n");
        assert_eq!(
            sent[1],
            "A1 UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 50)\r\nA2 UID SEARCH RETURN (ALL) UID 1:4\r\n"
        );
        let c = changes(run.finish().unwrap());
        assert_eq!(c.new.to_string(), "6:7");
        assert_eq!(c.vanished.to_string(), "2,4");
        assert_eq!(c.changed.iter().map(|c| c.uid).collect::<Vec<_>>(), [3]);
        assert!(c.exact);
        assert_eq!(c.highest_modseq, Some(60));
    }

    #[test]
    fn a_late_change_without_uid_makes_the_fetch_run_again() {
        let mut s = session("CONDSTORE");
        let known = Known::new(9, 50, UidSet::default());
        let mut run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Auto).unwrap();
        let sent = drive(
            &mut s,
            &mut run,
            &[
                "* 2 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n* OK [HIGHESTMODSEQ 60] x\r\n{tag} OK x\r\n",
                "* 1 FETCH (UID 1 FLAGS () MODSEQ (55))\r\n* 2 FETCH (MODSEQ (61) FLAGS ($X))\r\n{tag} OK x\r\n",
                "* 1 FETCH (UID 1 FLAGS () MODSEQ (55))\r\n* 2 FETCH (UID 2 FLAGS ($X) MODSEQ (61))\r\n{tag} OK x\r\n",
            ],
        );
        assert_eq!(sent[1], sent[2].replace("A2", "A1"));
        let c = changes(run.finish().unwrap());
        assert_eq!(c.new.to_string(), "1:2");
    }

    #[test]
    fn no_qresync_after_all_and_nomodseq_fall_back() {
        let mut s = session("ENABLE CONDSTORE QRESYNC");
        let known = Known::new(9, 50, UidSet::from(1..=2));
        let mut run = ResyncRun::new(&s, "INBOX", known.clone(), ResyncStrategy::Auto).unwrap();
        let sent = drive(
            &mut s,
            &mut run,
            &[
                "{tag} OK nothing enabled\r\n",
                "* 1 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n* OK [NOMODSEQ] x\r\n{tag} OK x\r\n",
                "* 1 FETCH (UID 2 FLAGS ())\r\n{tag} OK x\r\n",
            ],
        );
        assert_eq!(sent[1], "A1 SELECT \"INBOX\" (CONDSTORE)\r\n");
        assert_eq!(sent[2], "A2 UID FETCH 1:* (UID FLAGS)\r\n");
        let c = changes(run.finish().unwrap());
        assert_eq!((c.strategy, c.exact), (ResyncStrategy::Condstore, false));
        assert_eq!(
            (c.new.to_string(), c.vanished.to_string()),
            ("".into(), "1".into())
        );
        // forced QRESYNC that the server will not enable: an error
        let mut s = session("ENABLE CONDSTORE QRESYNC");
        let mut run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Qresync).unwrap();
        let p: Vec<Pending> = run.begin(&mut s).into_iter().map(|p| p.unwrap()).collect();
        s.take_output().unwrap();
        s.receive(b"A0 OK nothing\r\n");
        let p = p.into_iter().next().unwrap();
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        let out = s.complete_typed(p, Ok(t)).unwrap();
        assert!(run.accept(&s, vec![out]).is_err());
    }

    #[test]
    fn plain_reports_every_survivor_and_a_new_uidvalidity_starts_over() {
        let mut s = session("");
        let known = Known::new(9, 0, UidSet::from(1..=3));
        let mut run = ResyncRun::new(&s, "INBOX", known.clone(), ResyncStrategy::Auto).unwrap();
        assert_eq!(run.strategy(), ResyncStrategy::Plain);
        let sent = drive(
            &mut s,
            &mut run,
            &[
                "* 2 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n{tag} OK [READ-WRITE] x\r\n",
                "* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 5 FLAGS (\\Seen))\r\n{tag} OK x\r\n",
            ],
        );
        assert_eq!(sent[1], "A1 UID FETCH 1:* (UID FLAGS)\r\n");
        let c = changes(run.finish().unwrap());
        assert_eq!(
            (c.new.to_string(), c.vanished.to_string()),
            ("5".into(), "2:3".into())
        );
        assert_eq!(c.changed.len(), 1);
        assert!(!c.exact);
        assert_eq!(c.known_after(&known).uids.to_string(), "1,5");

        let mut run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Plain).unwrap();
        drive(
            &mut s,
            &mut run,
            &["* 2 EXISTS\r\n* OK [UIDVALIDITY 10] x\r\n{tag} OK [READ-WRITE] x\r\n"],
        );
        assert!(matches!(
            run.finish().unwrap(),
            Resync::StartOver {
                new_uid_validity: Some(10),
                ..
            }
        ));
    }

    #[test]
    fn qresync_from_a_selected_mailbox_unselects_and_enables_first() {
        let mut s = session("ENABLE CONDSTORE QRESYNC UNSELECT");
        let p = s.typed_select("INBOX", false).unwrap();
        s.take_output().unwrap();
        s.receive(b"* 1 EXISTS\r\nA0 OK [READ-WRITE] x\r\n");
        let Poll::Done(t) = s.poll(&p).unwrap() else {
            panic!()
        };
        s.complete_typed(p, Ok(t)).unwrap();
        let known = Known::new(9, 50, UidSet::from(1..=4));
        let mut run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Qresync).unwrap();
        let sent = drive(
            &mut s,
            &mut run,
            &[
                "{tag} OK x\r\n",
                "* ENABLED QRESYNC\r\n{tag} OK x\r\n",
                "* 3 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n* OK [HIGHESTMODSEQ 70] x\r\n\
                 * VANISHED (EARLIER) 2,11\r\n* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (61))\r\n\
                 * 3 FETCH (UID 12 FLAGS () MODSEQ (70))\r\n{tag} OK [READ-WRITE] x\r\n",
            ],
        );
        assert_eq!(
            sent,
            [
                "A1 UNSELECT\r\n",
                "A2 ENABLE QRESYNC\r\n",
                "A3 SELECT \"INBOX\" (QRESYNC (9 50 1:4294967295))\r\n"
            ]
        );
        let c = changes(run.finish().unwrap());
        // 11 was never known: not reported as vanished
        assert_eq!(
            (c.new.to_string(), c.vanished.to_string()),
            ("12".into(), "2".into())
        );
        assert_eq!(c.changed[0].uid, 1);
        assert_eq!(s.mailbox_state().unwrap().exists, 3);
        // a second resync on this connection needs no ENABLE
        let known = Known::new(9, 70, UidSet::from_numbers([1, 3, 4, 12]));
        let run = ResyncRun::new(&s, "INBOX", known, ResyncStrategy::Auto).unwrap();
        assert_eq!(run.stage, Stage::Select);
    }

    #[test]
    fn forced_strategies_need_their_capabilities() {
        let s = session("CONDSTORE");
        let known = Known::new(9, 50, UidSet::from(1..=4));
        let e = ResyncRun::new(&s, "INBOX", known.clone(), ResyncStrategy::Qresync).unwrap_err();
        assert!(e.to_string().contains("QRESYNC"), "{e}");
        let s = session("");
        let e = ResyncRun::new(&s, "INBOX", known.clone(), ResyncStrategy::Condstore).unwrap_err();
        assert!(e.to_string().contains("CONDSTORE"), "{e}");
        let s = session("ENABLE QRESYNC CONDSTORE");
        let e = ResyncRun::new(
            &s,
            "INBOX",
            Known::new(9, 0, UidSet::default()),
            ResyncStrategy::Qresync,
        )
        .unwrap_err();
        assert!(e.to_string().contains("HIGHESTMODSEQ"), "{e}");
    }
}
