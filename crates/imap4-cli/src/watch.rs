//! `imap4 watch`: wait for changes in folders and act on each.
//!
//! Where the server offers NOTIFY (RFC 5465) and several folders are
//! watched, one connection watches them all: the first folder is
//! EXAMINEd, the others are reported by STATUS. Otherwise each folder
//! has its own connection in IDLE (RFC 2177; NOOP polling on a server
//! without IDLE). The library's IDLE handles the timing: IDLE is renewed
//! before the server's 30-minute limit, a silent server is probed
//! (`--keepalive`) and declared dead when the probe goes unanswered
//! (`--probe-timeout`). A connection that fails is reopened with
//! exponential backoff (`--backoff` doubling up to `--backoff-max`), and
//! what changed meanwhile is reported once it is back.
//!
//! Every change is a JSON Lines event (`--json`) or a line of text. On
//! each batch of changes, `--exec CMD` runs (`sh -c`, one at a time;
//! changes that arrive while it runs are handed to the next run), and
//! `--backup DIR` runs an incremental backup of the watched folders.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};

use imap4::typed::{
    Bound, FetchAttr, MailboxStatus, NotifyEvent, NotifyMailboxes, NotifySpec, SearchKey, SeqSet,
    StatusAttr, UidSet,
};
use imap4::{Event, IdleConfig, Imap4};
use serde::Serialize;

use crate::backup::{self, store::Format, BackupArgs, BackupSummary};
use crate::commands::Out;
use crate::config::Account;
use crate::connect;
use crate::output::{fail, json_line, Class, Failure, Phase};

/// At most this many change events wait for the next `--exec` run (the
/// rest are counted, not kept: a hook that hangs never costs unbounded
/// memory).
const MAX_PENDING: usize = 1000;

/// At most this many events of the server are taken into one report (the
/// rest go into the next).
const MAX_BATCH: usize = 1000;

/// A connection that lasted this long (or `--backoff-max`, if longer)
/// resets the reconnect delay to `--backoff`.
const STABLE: Duration = Duration::from_secs(60);

/// At most this many ranges of expunged UIDs are kept for one report
/// (more are counted, not listed).
const MAX_RANGES: usize = 10_000;

/// At most this many bytes of changes wait for the next `--exec` run.
const MAX_PENDING_BYTES: usize = 4 << 20;

/// `IMAP4_UIDS` longer than this is left empty (the hook's stdin has
/// every change): an environment variable over 128 KiB cannot be passed.
const MAX_UIDS_ENV: usize = 64 << 10;

/// What `watch` does.
#[derive(Debug, Clone)]
pub struct WatchArgs {
    /// The folders (names, not patterns); the first is the one selected
    /// when one connection watches them all.
    pub folders: Vec<String>,
    /// A shell command to run on each batch of changes.
    pub exec: Option<String>,
    /// An incremental backup to run at the start and on each change.
    pub backup: Option<BackupTarget>,
    /// Use NOTIFY where offered (one connection for every folder).
    pub notify: bool,
    /// The most connections to open (one per folder without NOTIFY).
    pub max_connections: usize,
    /// IDLE timing.
    pub idle: IdleConfig,
    /// The first reconnect delay.
    pub backoff_min: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
    /// Stop after this many changes (and their hook and backup).
    pub count: Option<u64>,
}

/// Where `--backup` writes.
#[derive(Debug, Clone)]
pub struct BackupTarget {
    /// The backup directory.
    pub dir: PathBuf,
    /// Its format.
    pub format: Format,
    /// Make each batch durable.
    pub fsync: bool,
}

/// The JSON Lines `watch --json` prints, by `event`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A connection is up and watching these folders.
    Connected {
        /// The folders this connection watches.
        folders: Vec<String>,
        /// Whether it uses NOTIFY (else IDLE on the one folder).
        notify: bool,
    },
    /// New messages in a folder.
    New {
        /// The folder.
        folder: String,
        /// Their UIDs, as an IMAP set (`5:7,9`).
        uids: String,
        /// How many.
        count: u64,
        /// Messages in the folder now.
        exists: u32,
    },
    /// Messages were expunged from a folder.
    Expunged {
        /// The folder.
        folder: String,
        /// How many.
        count: u64,
        /// Their UIDs as an IMAP set, where the server said (QRESYNC's
        /// VANISHED); else empty.
        uids: String,
        /// Messages in the folder now.
        exists: u32,
    },
    /// A message's flags changed.
    Flags {
        /// The folder.
        folder: String,
        /// The message's UID, where the server said (QRESYNC).
        uid: Option<u32>,
        /// Its sequence number.
        seq: u32,
        /// The flags it has now.
        flags: Vec<String>,
    },
    /// Another watched folder changed (NOTIFY): its STATUS now.
    Status {
        /// The folder.
        folder: String,
        /// MESSAGES.
        messages: Option<u32>,
        /// UIDNEXT.
        uid_next: Option<u32>,
        /// UNSEEN.
        unseen: Option<u32>,
    },
    /// A folder's UIDVALIDITY changed: every UID known for it is void.
    UidValidity {
        /// The folder.
        folder: String,
        /// The new UIDVALIDITY.
        uid_validity: u32,
    },
    /// `[ALERT]`: text the server wants a person to read.
    Alert {
        /// The text (sanitized).
        text: String,
    },
    /// A connection failed; it is reopened after `retry_in_ms`.
    Disconnected {
        /// The folders it watched.
        folders: Vec<String>,
        /// Why.
        error: String,
        /// The delay before the next attempt, in milliseconds.
        retry_in_ms: u64,
    },
    /// The `--exec` command finished.
    Hook {
        /// Its exit code (none: killed by a signal, or it could not start).
        exit_code: Option<i32>,
        /// How long it ran, in milliseconds.
        ms: u64,
        /// The changes it was given.
        changes: u64,
        /// Why it could not run, if it could not.
        error: Option<String>,
    },
    /// The `--backup` run finished.
    Backup {
        /// Whether it succeeded (perhaps with a warning in `error`).
        ok: bool,
        /// How long it took, in milliseconds.
        ms: u64,
        /// Messages downloaded.
        downloaded: u64,
        /// Flag changes mirrored.
        flags_changed: u64,
        /// Messages gone from the server.
        vanished: u64,
        /// Why it failed, or a warning (a UIDVALIDITY change reconciled).
        error: Option<String>,
    },
}

impl WatchEvent {
    /// Whether this is a change of the mailboxes (what hooks and backups
    /// run on).
    fn is_change(&self) -> bool {
        matches!(
            self,
            WatchEvent::New { .. }
                | WatchEvent::Expunged { .. }
                | WatchEvent::Flags { .. }
                | WatchEvent::Status { .. }
                | WatchEvent::UidValidity { .. }
        )
    }

    fn folder(&self) -> Option<&str> {
        match self {
            WatchEvent::New { folder, .. }
            | WatchEvent::Expunged { folder, .. }
            | WatchEvent::Flags { folder, .. }
            | WatchEvent::Status { folder, .. }
            | WatchEvent::UidValidity { folder, .. } => Some(folder),
            _ => None,
        }
    }

    /// The line printed without `--json`.
    fn text(&self) -> Option<String> {
        Some(match self {
            WatchEvent::Connected { folders, notify } => format!(
                "watching {}{}",
                folders.join(", "),
                if *notify { " (NOTIFY)" } else { "" }
            ),
            WatchEvent::New {
                folder,
                uids,
                count,
                ..
            } => format!("{folder}: {count} new (UID {uids})"),
            WatchEvent::Expunged { folder, count, .. } => format!("{folder}: {count} expunged"),
            WatchEvent::Flags {
                folder,
                uid,
                seq,
                flags,
            } => match uid {
                Some(u) => format!("{folder}: UID {u} flags ({})", flags.join(" ")),
                None => format!("{folder}: message {seq} flags ({})", flags.join(" ")),
            },
            WatchEvent::Status {
                folder,
                messages,
                uid_next,
                ..
            } => format!(
                "{folder}: changed ({} messages, UIDNEXT {})",
                messages.map_or("?".into(), |n| n.to_string()),
                uid_next.map_or("?".into(), |n| n.to_string())
            ),
            WatchEvent::UidValidity {
                folder,
                uid_validity,
            } => format!("{folder}: UIDVALIDITY changed to {uid_validity}"),
            WatchEvent::Alert { text } => format!("ALERT: {text}"),
            WatchEvent::Disconnected {
                folders,
                error,
                retry_in_ms,
            } => format!(
                "{}: disconnected ({error}); retrying in {:.1} s",
                folders.join(", "),
                *retry_in_ms as f64 / 1000.0
            ),
            WatchEvent::Hook {
                exit_code, error, ..
            } => match (exit_code, error) {
                (_, Some(e)) => format!("hook: {e}"),
                (Some(0), None) => return None,
                (Some(c), None) => format!("hook: exited with {c}"),
                (None, None) => "hook: killed by a signal".into(),
            },
            WatchEvent::Backup {
                ok,
                ms,
                downloaded,
                error,
                ..
            } => match (ok, error) {
                (true, None) => format!("backup: {downloaded} downloaded in {ms} ms"),
                (true, Some(w)) => format!("backup: {downloaded} downloaded; {w}"),
                (false, e) => format!("backup: failed: {}", e.as_deref().unwrap_or("?")),
            },
        })
    }
}

/// What the threads tell the main loop.
enum Msg {
    Event(WatchEvent),
    Fatal(Failure),
    HookDone(WatchEvent),
    BackupDone(WatchEvent),
}

/// The most simultaneous IMAP connections a provider allows one account,
/// by host name: Gmail 15 (its documented limit; more are refused with
/// `NO [ALERT] Too many simultaneous connections`).
pub fn provider_connection_limit(host: &str) -> Option<(&'static str, usize)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    (under("gmail.com") || under("googlemail.com")).then_some(("Gmail", 15))
}

/// Whether `watch` may open `connections` (one per group of folders,
/// plus one for `--backup`): within `--max-connections` and within what
/// the provider allows the account.
fn check_connections(
    host: &str,
    folders: usize,
    connections: usize,
    backup: bool,
    max: usize,
) -> Result<(), Failure> {
    let total = connections + usize::from(backup);
    let why = if connections > max {
        Some(format!("more than --max-connections {max}"))
    } else {
        match provider_connection_limit(host) {
            Some((provider, limit)) if total > limit => Some(format!(
                "{}more than the {limit} {provider} allows an account",
                if backup { "with the backup's, " } else { "" }
            )),
            _ => None,
        }
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Failure::new(
            Class::Usage,
            format!(
                "watching {folders} folders takes {connections} connections without NOTIFY, \
                 {why}: watch fewer folders"
            ),
        )),
    }
}

/// Parses a number of seconds (`30`, `0.5`) as a duration.
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v.is_finite() && v > 0.0 && v < 1e9) {
        return Err(format!("`{s}`: seconds must be more than 0"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Runs until a fatal error, `--count`, or the process is stopped.
pub fn watch(account: &Account, out: &Out, args: &WatchArgs) -> Result<(), Failure> {
    let mut account = account.clone();
    // one prompt at most: reconnects reuse what was typed (commands are
    // run again: a token command gives a fresh token each time)
    if account.token_command.is_none() && account.password_command.is_none() {
        if let Ok(crate::config::Credential::Password(p)) = crate::config::credential(&account) {
            account.password = Some(crate::config::Secret(p));
        }
    }
    // the first connection in the foreground: bad credentials, a missing
    // folder or TLS trouble are reported at once, with their exit code
    let mut first = connect::open(&account)?;
    for f in &args.folders {
        first
            .typed()
            .status(f, &[StatusAttr::UidNext])
            .map_err(|e| fail(e, Phase::Mailbox))?;
    }
    let notify = args.notify && args.folders.len() > 1 && first.typed().has_capability("NOTIFY");
    let groups: Vec<Vec<String>> = if notify {
        vec![args.folders.clone()]
    } else {
        args.folders.iter().map(|f| vec![f.clone()]).collect()
    };
    check_connections(
        &account.host,
        args.folders.len(),
        groups.len(),
        args.backup.is_some(),
        args.max_connections,
    )?;
    let (tx, rx) = mpsc::sync_channel(1024);
    let mut first = Some(first);
    let (min, max) = (args.backoff_min, args.backoff_max.max(args.backoff_min));
    for folders in groups {
        let mut w = Watcher {
            account: account.clone(),
            folders,
            notify,
            idle: args.idle,
            known: HashMap::new(),
            tx: tx.clone(),
        };
        let conn = first.take();
        std::thread::Builder::new()
            .name("imap4-watch".into())
            .spawn(move || w.run(conn, min, max))
            .map_err(|e| Failure::new(Class::Local, format!("starting a thread: {e}")))?;
    }
    Main::new(account, out, args).run(tx, rx)
}

/// What a folder looked like when last seen (kept across reconnects, so
/// that what changed while disconnected is reported once back).
#[derive(Debug, Clone, Copy, Default)]
struct Known {
    uid_validity: Option<u32>,
    uid_next: Option<u32>,
    messages: Option<u32>,
    unseen: Option<u32>,
}

/// One connection's loop: connect, watch, and on failure wait and again.
struct Watcher {
    account: Account,
    folders: Vec<String>,
    notify: bool,
    idle: IdleConfig,
    known: HashMap<String, Known>,
    tx: SyncSender<Msg>,
}

/// The main loop is gone: the watcher stops.
struct Gone;

/// Why a session ended.
enum End {
    Gone,
    Failed(Failure),
}

impl From<Gone> for End {
    fn from(_: Gone) -> End {
        End::Gone
    }
}

impl From<Failure> for End {
    fn from(f: Failure) -> End {
        End::Failed(f)
    }
}

fn work(e: imap4::Error) -> End {
    End::Failed(fail(e, Phase::Work))
}

/// Failures that waiting will not mend, before a connection ever worked.
fn fatal(class: Class) -> bool {
    matches!(
        class,
        Class::Auth | Class::Usage | Class::MailboxNotFound | Class::Tls | Class::Local
    )
}

impl Watcher {
    fn send(&self, e: WatchEvent) -> Result<(), Gone> {
        self.tx.send(Msg::Event(e)).map_err(|_| Gone)
    }

    fn run(&mut self, mut conn: Option<Imap4>, min: Duration, max: Duration) {
        let mut delay = min;
        let mut ever = false;
        loop {
            let mut up = false;
            let started = std::time::Instant::now();
            let end = self.session(conn.take(), &mut up);
            let f = match end {
                End::Gone => return,
                End::Failed(f) => f,
            };
            if up {
                ever = true;
                // a connection that worked for a while starts the backoff
                // over; one that fails right after its setup does not
                if started.elapsed() >= STABLE.max(max) {
                    delay = min;
                }
            } else if !ever && fatal(f.class) && !f.retry {
                let _ = self.tx.send(Msg::Fatal(f));
                return;
            }
            // a throttling server says how long to wait
            let delay_now = crate::retry::suggested(&f.message).map_or(delay, |s| s.max(delay));
            let event = WatchEvent::Disconnected {
                folders: self.folders.clone(),
                error: f.message,
                retry_in_ms: delay_now.as_millis() as u64,
            };
            if self.send(event).is_err() {
                return;
            }
            std::thread::sleep(delay_now);
            delay = (delay * 2).min(max);
        }
    }

    /// One connection, until it fails.
    fn session(&mut self, conn: Option<Imap4>, up: &mut bool) -> End {
        let mut m = match conn {
            Some(m) => m,
            None => match connect::open(&self.account) {
                Ok(m) => m,
                Err(f) => return End::Failed(f),
            },
        };
        let r = self.watching(&mut m, up);
        if m.state() != imap4::State::Logout {
            // a dead connection: nothing to say goodbye to
            let _ = m.shutdown();
        }
        match r {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    fn watching(&mut self, m: &mut Imap4, up: &mut bool) -> Result<std::convert::Infallible, End> {
        // what the server says during the setup is kept for the first
        // report, not lost
        m.enable_events();
        // QRESYNC: flag changes carry UIDs, expunges come as VANISHED
        if m.typed().has_capability("QRESYNC") {
            m.typed().enable(&["QRESYNC"]).map_err(work)?;
        }
        let folder = self.folders[0].clone();
        let sel = m
            .typed()
            .examine(&folder)
            .map_err(|e| End::Failed(fail(e, Phase::Mailbox)))?;
        // a server without UIDNEXT (Courier): the last message's UID + 1
        let uid_next = match sel.uid_next {
            Some(n) => Some(n),
            None => Some(
                self.last_uid(m, sel.exists)?
                    .map_or(1, |u| u.saturating_add(1)),
            ),
        };
        let statuses = if self.notify {
            let events = || {
                [
                    NotifyEvent::message_new(),
                    NotifyEvent::MessageExpunge,
                    NotifyEvent::FlagChange,
                ]
            };
            let spec = NotifySpec::new()
                .status()
                .group(NotifyMailboxes::Selected, events())
                .group(
                    NotifyMailboxes::Mailboxes(self.folders[1..].to_vec()),
                    events(),
                );
            m.typed().notify_set(&spec).map_err(work)?
        } else {
            Vec::new()
        };
        self.send(WatchEvent::Connected {
            folders: self.folders.clone(),
            notify: self.notify,
        })?;
        *up = true;
        // what changed while disconnected
        let now = Known {
            uid_validity: sel.uid_validity,
            uid_next,
            messages: Some(sel.exists),
            unseen: None,
        };
        self.catch_up(m, &folder, now, sel.exists)?;
        for st in statuses {
            self.status(st)?;
        }
        if self.notify {
            // a folder NOTIFY gave no STATUS for: a baseline now, so that
            // its first change is not taken for one
            let missing: Vec<String> = self.folders[1..]
                .iter()
                .filter(|f| !self.known.contains_key(*f))
                .cloned()
                .collect();
            for f in missing {
                let st = m
                    .typed()
                    .status(
                        &f,
                        &[
                            StatusAttr::Messages,
                            StatusAttr::UidNext,
                            StatusAttr::UidValidity,
                        ],
                    )
                    .map_err(work)?;
                self.known.insert(
                    f,
                    Known {
                        uid_validity: st.uid_validity,
                        uid_next: st.uid_next,
                        messages: st.messages,
                        unseen: st.unseen,
                    },
                );
            }
        }
        loop {
            let mut new_mail = false;
            let mut expunged = 0u64;
            let mut vanished: Vec<(u32, u32)> = Vec::new();
            let mut vanished_complete = true;
            let mut renumbered = false;
            let exists;
            {
                let mut idle = m.idle_with(self.idle).map_err(work)?;
                // wait for something, then take whatever came with it (at
                // most MAX_BATCH events: a server that never stops talking
                // is reported in parts, in bounded memory)
                let mut timeout = Duration::from_secs(24 * 3600);
                let mut taken = 0;
                while taken < MAX_BATCH {
                    match idle.wait(timeout).map_err(work)? {
                        None if timeout.is_zero() => break,
                        None => continue,
                        Some(e) => {
                            timeout = Duration::ZERO;
                            taken += 1;
                            match e {
                                Event::Exists(_) => new_mail = true,
                                Event::Expunge(_) => expunged += 1,
                                Event::Vanished {
                                    earlier: false,
                                    uids,
                                } => {
                                    expunged += uids.len();
                                    if vanished_complete {
                                        vanished.extend(uids.numeric_ranges());
                                        if vanished.len() > MAX_RANGES {
                                            // merged, and if still too many,
                                            // counted only
                                            vanished = UidSet::from_ranges(vanished)
                                                .numeric_ranges()
                                                .collect();
                                            if vanished.len() > MAX_RANGES {
                                                vanished = Vec::new();
                                                vanished_complete = false;
                                            }
                                        }
                                    }
                                }
                                Event::UidValidity(v) => {
                                    renumbered = true;
                                    self.event(&folder, Event::UidValidity(v))?;
                                }
                                other => self.event(&folder, other)?,
                            }
                        }
                    }
                }
                exists = idle.mailbox_state().map_or(0, |s| s.exists);
            }
            if renumbered {
                // every UID known is void: start again from what the
                // mailbox says now
                let st = m.mailbox_state().cloned().unwrap_or_default();
                let uid_next = match st.uid_next {
                    Some(n) => Some(n),
                    None => Some(self.last_uid(m, exists)?.map_or(1, |u| u.saturating_add(1))),
                };
                self.known.insert(
                    folder.clone(),
                    Known {
                        uid_validity: st.uid_validity,
                        uid_next,
                        messages: Some(exists),
                        unseen: None,
                    },
                );
                continue;
            }
            if expunged > 0 {
                let k = self.known.entry(folder.clone()).or_default();
                k.messages = Some(exists);
                self.send(WatchEvent::Expunged {
                    folder: folder.clone(),
                    count: expunged,
                    uids: UidSet::from_ranges(vanished).to_string(),
                    exists,
                })?;
            }
            if new_mail {
                self.new_messages(m, &folder, exists)?;
            }
        }
    }

    /// The UID of message `exists` (the last one), if any.
    fn last_uid(&mut self, m: &mut Imap4, exists: u32) -> Result<Option<u32>, End> {
        if exists == 0 {
            return Ok(None);
        }
        let fetches = m
            .typed()
            .fetch(&SeqSet::single(exists), &[FetchAttr::Uid])
            .map_err(work)?;
        Ok(fetches
            .iter()
            .filter_map(Result::ok)
            .filter_map(|f| f.uid())
            .max())
    }

    /// Reports what changed in the selected folder since it was last seen.
    fn catch_up(
        &mut self,
        m: &mut Imap4,
        folder: &str,
        now: Known,
        exists: u32,
    ) -> Result<(), End> {
        let Some(before) = self.known.insert(folder.to_string(), now) else {
            return Ok(());
        };
        if before.uid_validity != now.uid_validity {
            if let Some(v) = now.uid_validity {
                self.send(WatchEvent::UidValidity {
                    folder: folder.to_string(),
                    uid_validity: v,
                })?;
            }
            return Ok(());
        }
        if let Some(k) = self.known.get_mut(folder) {
            // the search below starts where the last session stopped
            k.uid_next = before.uid_next;
        }
        let new = if now.uid_next != before.uid_next {
            self.new_messages(m, folder, exists)?
        } else {
            0
        };
        // what is missing, once the new ones are counted, was expunged
        let count = (u64::from(before.messages.unwrap_or(0)) + new)
            .saturating_sub(u64::from(now.messages.unwrap_or(0)));
        if count > 0 {
            self.send(WatchEvent::Expunged {
                folder: folder.to_string(),
                count,
                uids: String::new(),
                exists,
            })?;
        }
        Ok(())
    }

    /// UID SEARCH for the messages from the last known UIDNEXT on, and a
    /// `new` event for them.
    fn new_messages(&mut self, m: &mut Imap4, folder: &str, exists: u32) -> Result<u64, End> {
        let from = self
            .known
            .get(folder)
            .and_then(|k| k.uid_next)
            .unwrap_or(1)
            .max(1);
        let found = m
            .typed()
            .uid_search(&SearchKey::Uid(UidSet::range(from, Bound::Star)))
            .map_err(work)?;
        // `N:*` always matches the last message, even below N
        let mut new = UidSet::from_ranges(
            found
                .numeric_ranges()
                .filter_map(|(a, b)| (b >= from).then_some((a.max(from), b))),
        );
        let before = self.known.get(folder).and_then(|k| k.messages);
        if let Some(before) = before.filter(|b| new.is_empty() && exists > *b) {
            // more messages, none at or above UIDNEXT: a server whose new
            // UIDs do not follow its UIDNEXT (GNU Mailutils). The messages
            // past the last count are the new ones.
            let fetched = m
                .typed()
                .fetch(
                    &SeqSet::range(before + 1, Bound::Num(exists)),
                    &[FetchAttr::Uid],
                )
                .map_err(work)?;
            new = UidSet::from_numbers(
                fetched
                    .iter()
                    .filter_map(Result::ok)
                    .filter_map(|f| f.uid()),
            );
        }
        let k = self.known.entry(folder.to_string()).or_default();
        k.messages = Some(exists);
        let Some(last) = new.numeric_ranges().map(|(_, b)| b).max() else {
            return Ok(0);
        };
        k.uid_next = Some(last.saturating_add(1));
        self.send(WatchEvent::New {
            folder: folder.to_string(),
            uids: new.to_string(),
            count: new.len(),
            exists,
        })?;
        Ok(new.len())
    }

    /// A STATUS from NOTIFY: a `status` event when the folder changed.
    fn status(&mut self, st: MailboxStatus) -> Result<(), End> {
        let before = self.known.get(&st.mailbox).copied();
        let k = self.known.entry(st.mailbox.clone()).or_default();
        let mut now = *k;
        now.messages = st.messages.or(now.messages);
        now.uid_next = st.uid_next.or(now.uid_next);
        now.unseen = st.unseen.or(now.unseen);
        now.uid_validity = st.uid_validity.or(now.uid_validity);
        *k = now;
        let Some(before) = before else {
            return Ok(());
        };
        if before.uid_validity != now.uid_validity {
            if let Some(v) = now.uid_validity {
                self.send(WatchEvent::UidValidity {
                    folder: st.mailbox,
                    uid_validity: v,
                })?;
            }
        } else if (before.messages, before.uid_next, before.unseen)
            != (now.messages, now.uid_next, now.unseen)
        {
            self.send(WatchEvent::Status {
                folder: st.mailbox,
                messages: now.messages,
                uid_next: now.uid_next,
                unseen: now.unseen,
            })?;
        }
        Ok(())
    }

    /// Any other event of the connection.
    fn event(&mut self, folder: &str, e: Event) -> Result<(), End> {
        match e {
            Event::Flags {
                seq, uid, flags, ..
            } => self.send(WatchEvent::Flags {
                folder: folder.to_string(),
                uid,
                seq,
                flags,
            })?,
            Event::UidValidity(v) => {
                self.known
                    .entry(folder.to_string())
                    .or_default()
                    .uid_validity = Some(v);
                self.send(WatchEvent::UidValidity {
                    folder: folder.to_string(),
                    uid_validity: v,
                })?
            }
            Event::Status(st) => self.status(st)?,
            Event::Alert(text) => self.send(WatchEvent::Alert { text })?,
            Event::NotificationOverflow => {
                return Err(End::Failed(Failure::new(
                    Class::Protocol,
                    "the server stopped its notifications (NOTIFICATIONOVERFLOW)",
                )))
            }
            _ => {}
        }
        Ok(())
    }
}

/// A job (the hook, the backup) that runs one at a time; what arrives
/// while it runs waits for the next run.
#[derive(Debug, Default)]
struct Job {
    running: bool,
    pending: Vec<WatchEvent>,
    /// The JSON size of `pending`.
    pending_bytes: usize,
    /// Changes beyond [`MAX_PENDING`] or [`MAX_PENDING_BYTES`], counted
    /// only.
    dropped: u64,
    /// Whether anything waits (the backup only needs to know that).
    due: bool,
}

impl Job {
    fn add(&mut self, e: &WatchEvent, keep: bool) {
        self.due = true;
        if !keep {
            return;
        }
        let size = serde_json::to_string(e).map_or(0, |j| j.len());
        if self.pending.len() < MAX_PENDING && self.pending_bytes + size <= MAX_PENDING_BYTES {
            self.pending.push(e.clone());
            self.pending_bytes += size;
        } else {
            self.dropped += 1;
        }
    }

    fn busy(&self) -> bool {
        self.running || self.due
    }
}

/// The main thread: prints events and runs the hook and the backup.
struct Main<'a> {
    account: Account,
    out: &'a Out,
    args: &'a WatchArgs,
    hook: Job,
    backup: Job,
    changes: u64,
}

impl<'a> Main<'a> {
    fn new(account: Account, out: &'a Out, args: &'a WatchArgs) -> Self {
        Main {
            account,
            out,
            args,
            hook: Job::default(),
            backup: Job::default(),
            changes: 0,
        }
    }

    fn print(&self, e: &WatchEvent) -> Result<(), Failure> {
        let r = if self.out.json {
            json_line(&mut io::stdout().lock(), e)
        } else if let Some(line) = e.text() {
            if matches!(e, WatchEvent::Disconnected { .. }) {
                writeln!(io::stderr().lock(), "imap4: {line}")
            } else {
                writeln!(io::stdout().lock(), "{line}")
            }
        } else {
            Ok(())
        };
        r.map_err(|e| Failure::new(Class::Local, format!("writing the output: {e}")))
    }

    fn run(mut self, tx: SyncSender<Msg>, rx: Receiver<Msg>) -> Result<(), Failure> {
        if self.args.backup.is_some() {
            self.backup.due = true;
        }
        loop {
            self.start_jobs(&tx)?;
            if let Some(n) = self.args.count {
                if self.changes >= n && !self.hook.busy() && !self.backup.busy() {
                    return Ok(());
                }
            }
            // `tx` is held here, so this waits until something happens
            let Ok(msg) = rx.recv() else {
                return Ok(());
            };
            match msg {
                Msg::Event(e) => {
                    self.print(&e)?;
                    if e.is_change() {
                        self.changes += 1;
                        if self.args.exec.is_some() {
                            self.hook.add(&e, true);
                        }
                        if self.args.backup.is_some() {
                            self.backup.add(&e, false);
                        }
                    }
                }
                Msg::Fatal(f) => return Err(f),
                Msg::HookDone(e) => {
                    self.hook.running = false;
                    self.print(&e)?;
                }
                Msg::BackupDone(e) => {
                    self.backup.running = false;
                    self.print(&e)?;
                }
            }
        }
    }

    fn start_jobs(&mut self, done: &SyncSender<Msg>) -> Result<(), Failure> {
        if let Some(cmd) = &self.args.exec {
            if self.hook.due && !self.hook.running {
                let changes = std::mem::take(&mut self.hook.pending);
                let dropped = std::mem::take(&mut self.hook.dropped);
                self.hook.pending_bytes = 0;
                self.hook.due = false;
                self.hook.running = true;
                let (cmd, done) = (cmd.clone(), done.clone());
                std::thread::Builder::new()
                    .name("imap4-watch-hook".into())
                    .spawn(move || {
                        let _ = done.send(Msg::HookDone(run_hook(&cmd, &changes, dropped)));
                    })
                    .map_err(|e| Failure::new(Class::Local, format!("starting a thread: {e}")))?;
            }
        }
        if let Some(target) = &self.args.backup {
            if self.backup.due && !self.backup.running {
                self.backup.due = false;
                self.backup.running = true;
                let (target, done) = (target.clone(), done.clone());
                let (account, folders) = (self.account.clone(), self.args.folders.clone());
                std::thread::Builder::new()
                    .name("imap4-watch-backup".into())
                    .spawn(move || {
                        let e = run_backup(&account, &folders, &target);
                        let _ = done.send(Msg::BackupDone(e));
                    })
                    .map_err(|e| Failure::new(Class::Local, format!("starting a thread: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Runs `sh -c CMD` with the changes as JSON Lines on its stdin.
fn run_hook(cmd: &str, changes: &[WatchEvent], dropped: u64) -> WatchEvent {
    let t = Instant::now();
    let total = changes.len() as u64 + dropped;
    let first = changes.iter().find_map(|e| e.folder()).unwrap_or_default();
    let mut folders: Vec<&str> = Vec::new();
    for f in changes.iter().filter_map(|e| e.folder()) {
        if !folders.contains(&f) {
            folders.push(f);
        }
    }
    let uids = changes
        .iter()
        .filter_map(|e| match e {
            WatchEvent::New { folder, uids, .. } if folder == first => Some(uids.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(",");
    let uids = if uids.len() > MAX_UIDS_ENV {
        String::new()
    } else {
        uids
    };
    let mut input = Vec::new();
    for e in changes {
        let _ = json_line(&mut input, e);
    }
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("IMAP4_FOLDER", first)
        .env("IMAP4_FOLDERS", folders.join("\n"))
        .env("IMAP4_UIDS", uids)
        .env("IMAP4_CHANGES", total.to_string())
        .stdin(Stdio::piped())
        // our stdout is the event stream: the hook's goes to stderr
        .stdout(Stdio::from(io::stderr()))
        .spawn();
    let ended = spawned.and_then(|mut child| {
        // written beside the wait: a hook that does not read its input
        // (or leaves a child holding the pipe) never blocks the watch
        let writer = child.stdin.take().map(|mut stdin| {
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            })
        });
        let status = child.wait();
        drop(writer);
        status
    });
    let ms = t.elapsed().as_millis() as u64;
    match ended {
        Ok(status) => WatchEvent::Hook {
            exit_code: status.code(),
            ms,
            changes: total,
            error: None,
        },
        Err(e) => WatchEvent::Hook {
            exit_code: None,
            ms,
            changes: total,
            error: Some(format!("cannot run `{cmd}`: {e}")),
        },
    }
}

/// One incremental backup of the watched folders, on its own connection.
fn run_backup(account: &Account, folders: &[String], target: &BackupTarget) -> WatchEvent {
    let t = Instant::now();
    let out = Out {
        json: false,
        progress: false,
        stdout_is_terminal: false,
    };
    let args = BackupArgs {
        to: &target.dir,
        format: target.format,
        folders,
        exclude: &[],
        fsync: target.fsync,
        dry_run: false,
        batch: 500,
        quiet: true,
        filter: None,
        rebuild: false,
    };
    let mut summary = BackupSummary::default();
    let r = connect::open(account).and_then(|mut m| {
        let r = backup::backup_into(&mut m, &out, &args, &mut summary);
        let _ = m.logout();
        r
    });
    let (ok, error) = match r {
        Ok(()) => (true, None),
        // a UIDVALIDITY change reconciled: done, with something to say
        Err(f) if f.class == Class::Warning => (true, Some(f.message)),
        Err(f) => (false, Some(f.message)),
    };
    WatchEvent::Backup {
        ok,
        ms: t.elapsed().as_millis() as u64,
        downloaded: summary.downloaded,
        flags_changed: summary.flags_changed,
        vanished: summary.vanished,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_hosts_are_known_by_name_only() {
        for h in [
            "imap.gmail.com",
            "IMAP.GMAIL.COM.",
            "imap.googlemail.com",
            "gmail.com",
        ] {
            assert_eq!(provider_connection_limit(h), Some(("Gmail", 15)), "{h}");
        }
        for h in [
            "notgmail.com",
            "imap.gmail.com.evil.org",
            "127.0.0.1",
            "mail.example.org",
        ] {
            assert_eq!(provider_connection_limit(h), None, "{h}");
        }
    }

    #[test]
    fn connections_stay_within_the_cap_and_the_provider_limit() {
        let ok = |host, conns, backup, max| check_connections(host, conns, conns, backup, max);
        assert!(ok("mail.example.org", 10, true, 10).is_ok());
        let e = ok("mail.example.org", 11, false, 10).unwrap_err();
        assert_eq!(e.class, Class::Usage);
        assert!(e.message.contains("--max-connections 10"), "{}", e.message);
        // Gmail: 15 in all, the backup's connection included
        assert!(ok("imap.gmail.com", 15, false, 20).is_ok());
        assert!(ok("imap.gmail.com", 14, true, 20).is_ok());
        let e = ok("imap.gmail.com", 15, true, 20).unwrap_err();
        assert!(e.message.contains("the 15 Gmail allows"), "{}", e.message);
        assert!(ok("imap.gmail.com", 16, false, 20).is_err());
        assert!(ok("mail.example.org", 16, false, 20).is_ok());
    }
}
