//! `imap4 backup`: an incremental, one-way backup of an account's folders
//! into a Maildir, mbox files or `.eml` files, with its state in an SQLite
//! database beside them.
//!
//! One run:
//!
//! 1. LIST the folders (with LIST-STATUS where offered: UIDVALIDITY,
//!    UIDNEXT, MESSAGES, HIGHESTMODSEQ of every folder in one command). A
//!    folder whose status equals what the state recorded after the last
//!    complete run is not opened at all: a run with nothing new costs one
//!    LIST.
//! 2. A folder seen for the first time: SELECT (CONDSTORE), UID SEARCH,
//!    then UID FETCH of batches of messages, each body streamed to a
//!    temporary file, hashed, moved into place; after each batch one
//!    `syncfs` (unless `--no-fsync`), then one state transaction.
//! 3. A folder known before: [`imap4`'s resync](imap4::typed::Resync)
//!    (QRESYNC, else CONDSTORE, else every message's flags): new messages
//!    are downloaded, flag changes mirrored (Maildir file names), messages
//!    gone from the server forgotten by UID and kept on disk.
//! 4. A folder whose UIDVALIDITY changed: the server's messages are
//!    matched to the backup's by Message-ID, size and INTERNALDATE (one
//!    fetch of those, no bodies); only the unmatched are downloaded. The
//!    run then ends with a warning (exit code 10), never a failure.
//!
//! 5. On Gmail (X-GM-EXT-1), where a label is a folder and a message
//!    with three labels is in three folders (and in `[Gmail]/All Mail`),
//!    each batch first asks for the messages' `X-GM-MSGID`s: a message
//!    the backup already holds under another label is copied from the
//!    backup (its bytes checked against the recorded SHA-256), not
//!    downloaded again (`deduplicated` in the folder's report).
//!
//! An interrupted run (killed, disconnected) leaves the folder marked in
//! the state; the next run first removes the files of the batch that was
//! not committed (and cuts an mbox back to its committed length), so it
//! fetches at most that batch again and never stores a message twice.

mod state;
pub mod store;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use imap4::typed::{
    FetchAttr, FetchPart, ListOptions, MailboxInfo, MailboxStatus, Resync, SearchKey,
    SelectOptions, StatusAttr, UidSet,
};
use imap4::Imap4;
use serde::Serialize;

use crate::commands::Out;
use crate::output::{fail, json_line, Class, Failure, Phase};
use state::{NewMessage, State};
use store::{FolderStore, Format, Stored};

/// What `backup` was asked to do.
pub struct BackupArgs<'a> {
    /// The backup's directory.
    pub to: &'a Path,
    /// How messages are stored.
    pub format: Format,
    /// Folders to back up (patterns, `*` matching anything); empty: all.
    pub folders: &'a [String],
    /// Folders to leave out (patterns).
    pub exclude: &'a [String],
    /// Make every batch durable before the state records it.
    pub fsync: bool,
    /// Only say what would be downloaded; change nothing.
    pub dry_run: bool,
    /// Messages per UID FETCH (and per state commit).
    pub batch: usize,
    /// Print nothing (`watch` reports the summary itself).
    pub quiet: bool,
    /// Only messages matching this (`--since`, `--larger`…), searched on
    /// the server.
    pub filter: Option<&'a SearchKey>,
    /// Recreate the state from the server and the files (no bodies
    /// downloaded); the old state is kept beside it as `….old`.
    pub rebuild: bool,
}

/// What one folder's backup did (a `folder` event in `--json`).
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct FolderReport {
    /// The folder's name.
    pub folder: String,
    /// Its store, relative to the backup directory.
    pub path: String,
    /// Messages downloaded (with `--dry-run`: that would be).
    pub downloaded: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Messages whose flags changed (mirrored).
    pub flags_changed: u64,
    /// Messages gone from the server (their local copies are kept).
    pub vanished: u64,
    /// After a UIDVALIDITY change: messages matched to the backup (not
    /// downloaded again).
    pub reconciled: u64,
    /// Gmail: messages copied from the backup's copy under another label
    /// (same `X-GM-MSGID`), not downloaded.
    pub deduplicated: u64,
    /// Nothing changed since the last run: the folder was not opened.
    pub unchanged: bool,
    /// How changes were found: `new`, `qresync`, `condstore`, `plain`,
    /// `status` (unchanged by LIST-STATUS), `uidvalidity`.
    pub method: String,
    /// Files of an interrupted run removed before starting.
    pub recovered: u64,
    /// Something needing attention (a UIDVALIDITY change).
    pub warning: Option<String>,
}

/// The end of a run (the `done` event in `--json`).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct BackupSummary {
    /// Folders backed up.
    pub folders: u64,
    /// Messages downloaded.
    pub downloaded: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Flag changes mirrored.
    pub flags_changed: u64,
    /// Messages gone from the server.
    pub vanished: u64,
    /// Gmail: messages copied from another label's copy, not downloaded.
    pub deduplicated: u64,
    /// Warnings (the exit code is then 10).
    pub warnings: Vec<String>,
    /// Folders that failed (the exit code is then 9).
    pub errors: Vec<String>,
    /// Nothing was changed (`--dry-run`).
    pub dry_run: bool,
}

/// The JSON Lines `backup --json` prints, by `event`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BackupEvent {
    /// A batch of messages is stored and committed.
    Batch {
        /// The folder.
        folder: String,
        /// Messages in this batch.
        messages: u64,
        /// Messages of the folder done so far in this run.
        done: u64,
        /// Messages of the folder to download in this run.
        total: u64,
    },
    /// A folder is done.
    Folder(FolderReport),
    /// The connection was lost; the run starts again on a new one
    /// (resuming from what is committed).
    Reconnect(crate::retry::Reconnect),
    /// The run is done.
    Done(BackupSummary),
}

fn emit(out: &Out, args: &BackupArgs<'_>, event: &BackupEvent) -> Result<(), Failure> {
    if args.quiet {
        return Ok(());
    }
    let mut o = io::stdout().lock();
    let r = if out.json {
        json_line(&mut o, event)
    } else {
        match event {
            BackupEvent::Batch { .. } => Ok(()),
            BackupEvent::Folder(f) => {
                let what = if f.unchanged {
                    "unchanged".to_string()
                } else {
                    let verb = if f.downloaded > 0 && f.bytes == 0 {
                        "to download"
                    } else {
                        "downloaded"
                    };
                    format!(
                        "{} {verb} ({}), {} flag changes, {} gone from the server{}{}",
                        f.downloaded,
                        human_bytes(f.bytes),
                        f.flags_changed,
                        f.vanished,
                        if f.reconciled > 0 {
                            format!(", {} matched after a UIDVALIDITY change", f.reconciled)
                        } else {
                            String::new()
                        },
                        if f.deduplicated > 0 {
                            format!(", {} copied from another label", f.deduplicated)
                        } else {
                            String::new()
                        }
                    )
                };
                writeln!(o, "{}: {what}", f.folder)
            }
            BackupEvent::Reconnect(r) => writeln!(io::stderr(), "{}", r.text()),
            BackupEvent::Done(s) => writeln!(
                o,
                "{}{} folders, {} messages downloaded ({}), {} flag changes, {} gone from the server",
                if s.dry_run { "dry run: " } else { "" },
                s.folders,
                s.downloaded,
                human_bytes(s.bytes),
                s.flags_changed,
                s.vanished
            ),
        }
    };
    r.map_err(|e| Failure::new(Class::Local, format!("writing the output: {e}")))
}

pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The HIGHESTMODSEQ and UIDNEXT a pass records. After a filtered pass,
/// none: what the filter left out is not in the backup, so the next run
/// must open the folder (not find its status unchanged) and list every
/// message (a mod-sequence would only show what changed, never the
/// messages left out).
fn pass_status(
    filter: Option<&SearchKey>,
    highest_modseq: Option<u64>,
    uid_next: Option<u32>,
) -> (u64, Option<u32>) {
    match filter {
        Some(_) => (0, None),
        None => (highest_modseq.unwrap_or(0), uid_next),
    }
}

/// Moves an existing state database (and its WAL files) aside as
/// `….old`, for `--rebuild-state`.
fn set_aside_state(root: &Path) -> Result<(), Failure> {
    for suffix in ["", "-wal", "-shm"] {
        let from = root.join(format!("{}{suffix}", state::FILE));
        if from.exists() {
            let to = root.join(format!("{}{suffix}.old", state::FILE));
            fs::rename(&from, &to).map_err(|e| local(from.display(), e))?;
        }
    }
    Ok(())
}

/// `*` matches any run of characters, everything else itself.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // classic two-pointer wildcard match
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

pub fn no_uid_validity(mailbox: &str) -> Failure {
    Failure::new(
        Class::Protocol,
        format!("{mailbox}: the server sent no UIDVALIDITY"),
    )
}

/// A FETCH response's flags as text (`\Seen`, `$Label`).
pub fn flag_strings(f: &imap4::typed::Fetch<'_>) -> Vec<String> {
    f.flags()
        .unwrap_or_default()
        .iter()
        .map(|fl| fl.0.to_string())
        .collect()
}

/// The selectable folders matching `include` (every folder when empty)
/// and none of `exclude` (`*` patterns), with their status (UIDVALIDITY,
/// UIDNEXT, MESSAGES and, with CONDSTORE, HIGHESTMODSEQ) and special-use
/// attributes where the server returns them with LIST (LIST-STATUS,
/// SPECIAL-USE): one command for the whole account.
pub fn list_folders(
    m: &mut Imap4,
    include: &[String],
    exclude: &[String],
) -> Result<Vec<(MailboxInfo, Option<MailboxStatus>)>, Failure> {
    let t = m.typed();
    let listed: Vec<(MailboxInfo, Option<MailboxStatus>)> =
        if t.has_capability("LIST-EXTENDED") && t.has_capability("LIST-STATUS") {
            let mut attrs = vec![
                StatusAttr::UidValidity,
                StatusAttr::UidNext,
                StatusAttr::Messages,
            ];
            if t.has_capability("CONDSTORE") || t.has_capability("QRESYNC") {
                attrs.push(StatusAttr::HighestModSeq);
            }
            let mut o = ListOptions::default().return_status(&attrs);
            if t.has_capability("SPECIAL-USE") {
                o = o.return_special_use();
            }
            let list = m
                .typed()
                .list_extended("", &["*"], &o)
                .map_err(|e| fail(e, Phase::Work))?;
            list.into_iter().map(|l| (l.info, l.status)).collect()
        } else {
            let list = m.typed().list("", "*").map_err(|e| fail(e, Phase::Work))?;
            list.into_iter().map(|i| (i, None)).collect()
        };
    Ok(listed
        .into_iter()
        .filter(|(i, _)| {
            !i.attributes.iter().any(|a| {
                a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
            })
        })
        .filter(|(i, _)| include.is_empty() || include.iter().any(|p| glob(p, &i.name)))
        .filter(|(i, _)| !exclude.iter().any(|p| glob(p, &i.name)))
        .collect())
}

fn db_error(e: rusqlite::Error) -> Failure {
    Failure::new(Class::Local, format!("the backup's state database: {e}"))
}

fn local(what: impl std::fmt::Display, e: io::Error) -> Failure {
    Failure::new(Class::Local, format!("{what}: {e}"))
}

/// Takes the lock at `path` (one run at a time); `busy` says who holds it.
pub fn lock(path: &Path, busy: impl FnOnce() -> String) -> Result<File, Failure> {
    let f = File::create(path).map_err(|e| local(path.display(), e))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| Failure::new(Class::Local, busy()))?;
    Ok(f)
}

/// The items fetched for every message backed up.
fn body_attrs() -> [FetchAttr; 5] {
    [
        FetchAttr::Uid,
        FetchAttr::Flags,
        FetchAttr::InternalDate,
        FetchAttr::Rfc822Size,
        FetchAttr::Section {
            section: String::new(),
            peek: true,
            partial: None,
        },
    ]
}

/// What matches a message across a UIDVALIDITY change: (Message-ID or
/// empty, size, INTERNALDATE as sent).
type MatchKey = (String, u64, String);

const MESSAGE_ID_SECTION: &str = "HEADER.FIELDS (MESSAGE-ID)";

/// One run's context.
struct Run<'a> {
    m: &'a mut Imap4,
    out: &'a Out,
    args: &'a BackupArgs<'a>,
    state: Option<State>,
}

/// `backup`: see the [module documentation](self). What it did is left
/// in `summary` (also when it fails part-way).
pub fn backup_into(
    m: &mut Imap4,
    out: &Out,
    args: &BackupArgs<'_>,
    summary: &mut BackupSummary,
) -> Result<(), Failure> {
    let root = args.to;
    let mut _lock = None;
    if args.rebuild && args.format == Format::Mbox {
        return Err(Failure::new(
            Class::Usage,
            "--rebuild-state reads Maildir and .eml stores; an mbox names no UIDs",
        ));
    }
    let state = if args.dry_run {
        State::open_existing(root).map_err(|e| Failure::new(Class::Local, e))?
    } else {
        fs::create_dir_all(root).map_err(|e| local(root.display(), e))?;
        _lock = Some(lock(&root.join(".imap4-backup.lock"), || {
            format!("another backup is running in {}", root.display())
        })?);
        if args.rebuild {
            set_aside_state(root)?;
        }
        Some(
            State::open(root, args.format, args.fsync)
                .map_err(|e| Failure::new(Class::Local, e))?,
        )
    };
    let mut run = Run {
        m,
        out,
        args,
        state,
    };
    let folders = run.folders()?;
    summary.dry_run = args.dry_run;
    for (info, status) in folders {
        let r = if args.rebuild {
            run.rebuild_folder(&info)
        } else {
            run.folder(&info, status.as_ref())
        };
        match r {
            Ok(report) => {
                summary.folders += 1;
                summary.downloaded += report.downloaded;
                summary.bytes += report.bytes;
                summary.flags_changed += report.flags_changed;
                summary.vanished += report.vanished;
                summary.deduplicated += report.deduplicated;
                if let Some(w) = &report.warning {
                    summary.warnings.push(w.clone());
                }
                emit(out, args, &BackupEvent::Folder(report))?;
            }
            // the connection is gone or the disk failed: stop
            Err(f)
                if f.retry
                    || matches!(f.class, Class::Local | Class::Protocol | Class::Connect) =>
            {
                return Err(f)
            }
            Err(f) => {
                if !out.json && !args.quiet {
                    eprintln!("imap4: {}: {}", info.name, f.message);
                }
                summary.errors.push(format!("{}: {}", info.name, f.message));
            }
        }
    }
    let errors = summary.errors.len();
    let warnings = summary.warnings.clone();
    emit(out, args, &BackupEvent::Done(summary.clone()))?;
    if errors > 0 {
        return Err(Failure::new(
            Class::Partial,
            format!("{errors} folders could not be backed up"),
        ));
    }
    if !warnings.is_empty() {
        return Err(Failure::new(Class::Warning, warnings.join("; ")));
    }
    Ok(())
}

impl Run<'_> {
    fn work(&self, e: imap4::Error) -> Failure {
        fail(e, Phase::Work)
    }

    /// Every UID of the selected mailbox of `exists` messages that the
    /// filter lets through (no command for an empty one).
    fn selected_uids(&mut self, exists: u32) -> Result<UidSet, Failure> {
        if exists == 0 {
            return Ok(UidSet::default());
        }
        let key = self.args.filter.unwrap_or(&SearchKey::All);
        self.m.typed().uid_search(key).map_err(|e| self.work(e))
    }

    /// `uids` less what the filter leaves out (never downloaded, and
    /// looked at again by each run: the state knows only what was
    /// stored). [`Self::selected_uids`] is filtered already.
    fn filtered(&mut self, uids: &UidSet) -> Result<UidSet, Failure> {
        let Some(key) = self.args.filter.filter(|_| !uids.is_empty()) else {
            return Ok(uids.clone());
        };
        let allowed = self.m.typed().uid_search(key).map_err(|e| self.work(e))?;
        Ok(UidSet::from_numbers(
            uids.iter().filter(|u| allowed.contains(*u)),
        ))
    }

    fn state(&mut self) -> &mut State {
        self.state.as_mut().expect("a state outside --dry-run")
    }

    /// The folders to back up, with their status where LIST-STATUS gave it.
    fn folders(&mut self) -> Result<Vec<(MailboxInfo, Option<MailboxStatus>)>, Failure> {
        list_folders(self.m, self.args.folders, self.args.exclude)
    }

    fn folder(
        &mut self,
        info: &MailboxInfo,
        status: Option<&MailboxStatus>,
    ) -> Result<FolderReport, Failure> {
        let name = info.name.as_str();
        let format = self.args.format;
        let row = match &self.state {
            Some(s) => s.folder(name).map_err(db_error)?,
            None => None,
        };
        let path = row.as_ref().map_or_else(
            || store::folder_path(name, info.delimiter, format),
            |r| r.path.clone(),
        );
        let mut report = FolderReport {
            folder: name.to_string(),
            path: path.clone(),
            ..Default::default()
        };
        if let (Some(r), Some(s)) = (&row, status) {
            let same = !r.dirty
                && r.uid_validity.is_some()
                && r.uid_validity == s.uid_validity
                && r.uid_next == s.uid_next
                && r.messages == s.messages
                && s.highest_modseq
                    .is_some_and(|h| h > 0 && h == r.highest_modseq);
            if same {
                report.unchanged = true;
                report.method = "status".into();
                return Ok(report);
            }
        }
        if self.args.dry_run {
            return self.dry_run(name, row.as_ref(), report);
        }
        let row = match row {
            Some(r) => r,
            None => self.state().add_folder(name, &path).map_err(db_error)?,
        };
        let root = self.args.to;
        let mut store = FolderStore::open(root, &row.path, format, row.mbox_length)
            .map_err(|e| local(root.join(&row.path).display(), e))?;
        if row.dirty {
            let known = self.state().paths(row.id).map_err(db_error)?;
            report.recovered = store
                .recover(&known)
                .map_err(|e| local(root.join(&row.path).display(), e))?
                as u64;
        }
        let Some(uid_validity) = row.uid_validity else {
            // first time: everything
            report.method = "new".into();
            let mut t = self.m.typed();
            let sel = if t.has_capability("CONDSTORE") {
                t.select_with(name, &SelectOptions::condstore())
                    .map(|s| s.mailbox)
            } else {
                t.select(name)
            }
            .map_err(|e| fail(e, Phase::Mailbox))?;
            let uv = sel.uid_validity.ok_or_else(|| no_uid_validity(name))?;
            let uids = self.selected_uids(sel.exists)?;
            self.download(name, row.id, &mut store, uv, &uids, &mut report)?;
            let (modseq, uid_next) =
                pass_status(self.args.filter, sel.highest_modseq, sel.uid_next);
            self.state()
                .finish_folder(row.id, uv, modseq, uid_next, Some(sel.exists))
                .map_err(db_error)?;
            return Ok(report);
        };
        let known = imap4::typed::Known::new(
            uid_validity,
            row.highest_modseq,
            UidSet::from_numbers(self.state().uids(row.id).map_err(db_error)?),
        );
        let r = self
            .m
            .typed()
            .resync(name, &known)
            .map_err(|e| fail(e, Phase::Mailbox))?;
        match r {
            Resync::Changes(c) => {
                report.method = match c.strategy {
                    imap4::typed::ResyncStrategy::Qresync => "qresync",
                    imap4::typed::ResyncStrategy::Condstore => "condstore",
                    _ => "plain",
                }
                .into();
                let vanished: Vec<u32> = c.vanished.iter().collect();
                if !vanished.is_empty() {
                    self.state().vanish(row.id, &vanished).map_err(db_error)?;
                }
                report.vanished = vanished.len() as u64;
                if !c.changed.is_empty() {
                    let by_uid = self.state().by_uid(row.id).map_err(db_error)?;
                    let mut updates = Vec::new();
                    for ch in &c.changed {
                        let Some((id, flags, path)) = by_uid.get(&ch.uid) else {
                            continue;
                        };
                        let now = ch.flags.join(" ");
                        if &now == flags {
                            continue;
                        }
                        let path = store
                            .set_flags(path, &ch.flags)
                            .map_err(|e| local(root.join(path).display(), e))?
                            .unwrap_or_else(|| path.clone());
                        updates.push((*id, now, path));
                    }
                    report.flags_changed = updates.len() as u64;
                    self.state().update_flags(&updates).map_err(db_error)?;
                }
                let new = self.filtered(&c.new)?;
                self.download(name, row.id, &mut store, uid_validity, &new, &mut report)?;
                let (modseq, uid_next) =
                    pass_status(self.args.filter, c.highest_modseq, c.uid_next);
                self.state()
                    .finish_folder(row.id, uid_validity, modseq, uid_next, Some(c.exists))
                    .map_err(db_error)?;
            }
            Resync::StartOver {
                new_uid_validity,
                mailbox,
            } => {
                report.method = "uidvalidity".into();
                let uv = new_uid_validity.ok_or_else(|| no_uid_validity(name))?;
                let (matched, fetch) = self.reconcile(row.id, &store, mailbox.exists, uv)?;
                report.reconciled = matched as u64;
                let fetch = self.filtered(&fetch)?;
                self.download(name, row.id, &mut store, uv, &fetch, &mut report)?;
                let (modseq, uid_next) =
                    pass_status(self.args.filter, mailbox.highest_modseq, mailbox.uid_next);
                self.state()
                    .finish_folder(row.id, uv, modseq, uid_next, Some(mailbox.exists))
                    .map_err(db_error)?;
                report.warning = Some(format!(
                    "{name}: UIDVALIDITY changed from {uid_validity} to {uv}: {matched} messages \
                     matched the backup by Message-ID, size and date, {} downloaded",
                    report.downloaded
                ));
            }
            _ => {
                return Err(Failure::new(
                    Class::Protocol,
                    format!("{name}: an unknown resync outcome"),
                ))
            }
        }
        Ok(report)
    }

    /// `--rebuild-state`: records the folder's files that the server
    /// still has (same UIDVALIDITY and UID, same size), with the server's
    /// flags (a Maildir file renamed to match); files the server no
    /// longer has are kept and recorded as gone. Nothing is downloaded:
    /// the folder's status is left unrecorded, so that the next run lists
    /// every message and downloads what has no file.
    fn rebuild_folder(&mut self, info: &MailboxInfo) -> Result<FolderReport, Failure> {
        let name = info.name.as_str();
        let format = self.args.format;
        let path = store::folder_path(name, info.delimiter, format);
        let mut report = FolderReport {
            folder: name.to_string(),
            path: path.clone(),
            method: "rebuild".into(),
            ..Default::default()
        };
        let row = match self.state().folder(name).map_err(db_error)? {
            Some(r) => r,
            None => self.state().add_folder(name, &path).map_err(db_error)?,
        };
        let root = self.args.to;
        let store = FolderStore::open(root, &row.path, format, 0)
            .map_err(|e| local(root.join(&row.path).display(), e))?;
        let sel = self
            .m
            .typed()
            .examine(name)
            .map_err(|e| fail(e, Phase::Mailbox))?;
        let uv = sel.uid_validity.ok_or_else(|| no_uid_validity(name))?;
        // the server's messages: UID -> (size, flags, INTERNALDATE)
        let mut server: HashMap<u32, (u64, Vec<String>, Option<String>)> = HashMap::new();
        if sel.exists > 0 {
            let attrs = [
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::Rfc822Size,
                FetchAttr::InternalDate,
            ];
            let all = UidSet::range(1, imap4::typed::Bound::Star);
            self.m
                .typed()
                .uid_fetch_each(&all, &attrs, |f| {
                    if let (Some(uid), Some(size)) = (f.uid(), f.rfc822_size()) {
                        let date = f
                            .internal_date()
                            .map(|d| String::from_utf8_lossy(d).trim().to_string());
                        server.insert(uid, (size, flag_strings(&f), date));
                    }
                })
                .map_err(|e| self.work(e))?;
        }
        let mut matched = Vec::new();
        let mut gone = Vec::new();
        for (rel, fuv, fuid) in store
            .local_messages()
            .map_err(|e| local(root.join(&row.path).display(), e))?
        {
            let stored = store
                .describe(&rel)
                .map_err(|e| local(root.join(&rel).display(), e))?;
            match server.get(&fuid) {
                Some((size, flags, date)) if fuv == uv && *size == stored.size => {
                    let path = store
                        .set_flags(&rel, flags)
                        .map_err(|e| local(root.join(&rel).display(), e))?
                        .unwrap_or(rel);
                    matched.push(NewMessage {
                        uid: fuid,
                        flags: flags.to_vec(),
                        internal_date: date.clone(),
                        stored: Stored { path, ..stored },
                        gm_msgid: None,
                    });
                }
                _ => gone.push((
                    fuv,
                    NewMessage {
                        uid: fuid,
                        flags: Vec::new(),
                        internal_date: None,
                        stored,
                        gm_msgid: None,
                    },
                )),
            }
        }
        // files of messages the server no longer has (or of an older
        // UIDVALIDITY): recorded, then their UIDs forgotten, as a normal
        // run leaves them
        let mut by_uv: std::collections::BTreeMap<u32, Vec<NewMessage>> = Default::default();
        for (fuv, m) in gone {
            by_uv.entry(fuv).or_default().push(m);
        }
        for (fuv, msgs) in &by_uv {
            self.state()
                .commit_batch(row.id, *fuv, msgs, 0)
                .map_err(db_error)?;
            let uids: Vec<u32> = msgs.iter().map(|m| m.uid).collect();
            self.state().vanish(row.id, &uids).map_err(db_error)?;
        }
        self.state()
            .commit_batch(row.id, uv, &matched, 0)
            .map_err(db_error)?;
        self.state()
            .finish_folder(row.id, uv, 0, None, Some(sel.exists))
            .map_err(db_error)?;
        report.reconciled = matched.len() as u64;
        let kept: usize = by_uv.values().map(Vec::len).sum();
        let missing = server.len().saturating_sub(matched.len());
        if kept > 0 || missing > 0 {
            report.warning = Some(format!(
                "{name}: state rebuilt from {} files; {kept} files of messages no longer on the \
                 server kept, {missing} messages without a file (the next run downloads them)",
                matched.len()
            ));
        }
        Ok(report)
    }

    /// After a UIDVALIDITY change (the mailbox selected): matches the
    /// server's messages to the recorded ones by (Message-ID, size,
    /// INTERNALDATE), one to one (without a Message-ID only where size
    /// and date are unique on both sides); records the matches. Returns how many
    /// matched and the UIDs to download.
    fn reconcile(
        &mut self,
        folder: i64,
        store: &FolderStore,
        exists: u32,
        uv: u32,
    ) -> Result<(usize, UidSet), Failure> {
        let old = self.state().old_messages(folder).map_err(db_error)?;
        // key: (Message-ID or "", size, INTERNALDATE as sent); a message
        // without Message-ID is matched only when its size and date are
        // unique on both sides (see crate::matching::pair)
        let ours: Vec<(MatchKey, usize)> = old
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                let date = o.internal_date.clone()?;
                Some(((o.message_id.clone().unwrap_or_default(), o.size, date), i))
            })
            .collect();
        let mut theirs: Vec<(MatchKey, (u32, Vec<String>))> = Vec::new();
        let mut fetch = Vec::new();
        if exists > 0 {
            let attrs = [
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Section {
                    section: MESSAGE_ID_SECTION.into(),
                    peek: true,
                    partial: None,
                },
            ];
            let all = UidSet::range(1, imap4::typed::Bound::Star);
            self.m
                .typed()
                .uid_fetch_each(&all, &attrs, |f| {
                    let Some(uid) = f.uid() else { return };
                    let flags = flag_strings(&f);
                    let id = f
                        .section(MESSAGE_ID_SECTION)
                        .and_then(store::message_id)
                        .unwrap_or_default();
                    let date = f
                        .internal_date()
                        .map(|d| String::from_utf8_lossy(d).into_owned());
                    match (f.rfc822_size(), date) {
                        (Some(size), Some(date)) => theirs.push(((id, size, date), (uid, flags))),
                        _ => fetch.push(uid),
                    }
                })
                .map_err(|e| self.work(e))?;
        }
        let paired = crate::matching::pair(ours, theirs);
        fetch.extend(paired.theirs.iter().map(|(uid, _)| *uid));
        fetch.sort_unstable();
        let mut matched = Vec::new();
        for (i, (uid, flags)) in paired.pairs {
            let o = &old[i];
            let path = store
                .set_flags(&o.path, &flags)
                .map_err(|e| local(&o.path, e))?
                .unwrap_or_else(|| o.path.clone());
            matched.push((o.id, uid, flags.join(" "), path));
        }
        let n = matched.len();
        self.state()
            .reassign(folder, uv, &matched)
            .map_err(db_error)?;
        Ok((n, UidSet::from_numbers(fetch)))
    }

    /// Downloads `uids` into the store in batches, committing each.
    fn download(
        &mut self,
        name: &str,
        folder: i64,
        store: &mut FolderStore,
        uid_validity: u32,
        uids: &UidSet,
        report: &mut FolderReport,
    ) -> Result<(), Failure> {
        let all: Vec<u32> = uids.iter().collect();
        if all.is_empty() {
            return Ok(());
        }
        self.state().set_dirty(folder).map_err(db_error)?;
        let total = all.len() as u64;
        let bar = crate::progress::messages(self.out, total);
        let attrs = body_attrs();
        let mut done_total = 0u64;
        let gmail = self.m.typed().has_capability("X-GM-EXT-1");
        for chunk in all.chunks(self.args.batch.max(1)) {
            let mut set = UidSet::from_numbers(chunk.iter().copied());
            let mut done: Vec<NewMessage> = Vec::with_capacity(chunk.len());
            let mut gm_ids = HashMap::new();
            if gmail {
                let (ids, copies) = self.gmail_copies(&set, store, uid_validity)?;
                gm_ids = ids;
                report.deduplicated += copies.len() as u64;
                let have: std::collections::HashSet<u32> = copies.iter().map(|m| m.uid).collect();
                set = UidSet::from_numbers(chunk.iter().copied().filter(|u| !have.contains(u)));
                done.extend(copies);
            }
            let copied = done.len();
            let mut disk_error: Option<String> = None;
            let r = {
                let mut current = None;
                let store = &mut *store;
                let done = &mut done;
                let disk_error = &mut disk_error;
                let bar = &bar;
                self.m
                    .typed()
                    .uid_fetch_streamed(&set, &attrs, move |part| {
                        let r = take_part(store, &mut current, done, uid_validity, part);
                        if let Err(e) = &r {
                            disk_error.get_or_insert_with(|| e.to_string());
                        } else {
                            bar.set_position(done_total + done.len() as u64);
                        }
                        r
                    })
            };
            for m in &mut done[copied..] {
                m.gm_msgid = m.gm_msgid.or_else(|| gm_ids.get(&m.uid).copied());
            }
            // what completed is kept, whatever happened after it
            if !done.is_empty() {
                if self.args.fsync {
                    store.sync().map_err(|e| local(self.args.to.display(), e))?;
                }
                let len = store.mbox_length();
                self.state()
                    .commit_batch(folder, uid_validity, &done, len)
                    .map_err(db_error)?;
            }
            done_total += done.len() as u64;
            report.downloaded += (done.len() - copied) as u64;
            report.bytes += done[copied..].iter().map(|d| d.stored.size).sum::<u64>();
            if let Some(e) = disk_error {
                return Err(Failure::new(
                    Class::Local,
                    format!("{}: {e}", self.args.to.display()),
                ));
            }
            r.map_err(|e| self.work(e))?;
            emit(
                self.out,
                self.args,
                &BackupEvent::Batch {
                    folder: name.to_string(),
                    messages: done.len() as u64,
                    done: done_total,
                    total,
                },
            )?;
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// Gmail: the `X-GM-MSGID` of each message of `set` (one UID FETCH,
    /// no bodies), and the messages the backup already holds under
    /// another label, stored into `store` from that copy. A copy whose
    /// bytes no longer match the recorded SHA-256 (or that cannot be
    /// read) is not used: that message is downloaded.
    fn gmail_copies(
        &mut self,
        set: &UidSet,
        store: &mut FolderStore,
        uid_validity: u32,
    ) -> Result<(HashMap<u32, u64>, Vec<NewMessage>), Failure> {
        let attrs = [
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::GmMsgId,
        ];
        // (UID, X-GM-MSGID, flags, INTERNALDATE as sent, mbox date)
        let mut meta = Vec::new();
        self.m
            .typed()
            .uid_fetch_each(set, &attrs, |f| {
                if let (Some(uid), Some(gm)) = (f.uid(), f.gm_msgid()) {
                    let date = f
                        .internal_date()
                        .map(|d| String::from_utf8_lossy(d).into_owned());
                    meta.push((uid, gm, flag_strings(&f), date, mbox_date(&f)));
                }
            })
            .map_err(|e| self.work(e))?;
        let ids: HashMap<u32, u64> = meta.iter().map(|m| (m.0, m.1)).collect();
        let wanted: Vec<u64> = meta.iter().map(|m| m.1).collect();
        let copies = self.state().gmail_copies(&wanted).map_err(db_error)?;
        let root = self.args.to;
        let mut out = Vec::new();
        for (uid, gm, flags, date, from_line) in meta {
            let Some(copy) = copies.get(&gm) else {
                continue;
            };
            let Ok(bytes) =
                store::read_stored(root, self.args.format, &copy.path, copy.offset, copy.size)
            else {
                continue;
            };
            if bytes.len() as u64 != copy.size
                || <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(&bytes)) != copy.sha256
            {
                continue;
            }
            let stored = (|| {
                let mut inc = store.begin()?;
                inc.write(&bytes)?;
                store.finish(inc, uid_validity, uid, &flags, &from_line)
            })()
            .map_err(|e| local(root.display(), e))?;
            out.push(NewMessage {
                uid,
                flags,
                internal_date: date,
                stored,
                gm_msgid: Some(gm),
            });
        }
        Ok((ids, out))
    }

    /// `--dry-run`: what a run would download (EXAMINE and a UID SEARCH;
    /// nothing written).
    fn dry_run(
        &mut self,
        name: &str,
        row: Option<&state::FolderRow>,
        mut report: FolderReport,
    ) -> Result<FolderReport, Failure> {
        let sel = self
            .m
            .typed()
            .examine(name)
            .map_err(|e| fail(e, Phase::Mailbox))?;
        let server: Vec<u32> = self.selected_uids(sel.exists)?.iter().collect();
        match row {
            Some(r) if r.uid_validity.is_some() && r.uid_validity == sel.uid_validity => {
                report.method = "dry-run".into();
                let known = match &self.state {
                    Some(s) => s.uids(r.id).map_err(db_error)?,
                    None => Vec::new(),
                };
                let k: std::collections::HashSet<u32> = known.iter().copied().collect();
                let s: std::collections::HashSet<u32> = server.iter().copied().collect();
                report.downloaded = server.iter().filter(|u| !k.contains(u)).count() as u64;
                report.vanished = known.iter().filter(|u| !s.contains(u)).count() as u64;
            }
            Some(r) if r.uid_validity.is_some() => {
                report.method = "uidvalidity".into();
                report.downloaded = server.len() as u64;
                report.warning = Some(format!(
                    "{name}: UIDVALIDITY changed; a run would match the backup's messages and \
                     download only the others (at most {})",
                    server.len()
                ));
            }
            _ => {
                report.method = "new".into();
                report.downloaded = server.len() as u64;
            }
        }
        Ok(report)
    }
}

/// The date of a message's mbox `From ` line: its INTERNALDATE, or the
/// epoch when the server sent none.
fn mbox_date(f: &imap4::typed::Fetch<'_>) -> String {
    f.internal_date_parsed()
        .map(|d| d.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|| "Thu Jan  1 00:00:00 1970".into())
}

/// Handles one piece of a streamed body fetch.
fn take_part(
    store: &mut FolderStore,
    current: &mut Option<store::Incoming>,
    done: &mut Vec<NewMessage>,
    uid_validity: u32,
    part: FetchPart<'_>,
) -> io::Result<()> {
    match part {
        FetchPart::BodyStart { .. } => {
            *current = Some(store.begin()?);
        }
        FetchPart::BodyData(bytes) => match current {
            Some(inc) => inc.write(bytes)?,
            None => return Err(io::Error::other("body data without a body")),
        },
        FetchPart::Fetch(f) => {
            let Some(uid) = f.uid() else {
                *current = None;
                return Ok(()); // an unsolicited flag update
            };
            let inc = match current.take() {
                Some(inc) => inc,
                // a body sent as a quoted string comes in the response
                None => match f.section("") {
                    Some(data) => {
                        let mut inc = store.begin()?;
                        inc.write(data)?;
                        inc
                    }
                    None => return Ok(()),
                },
            };
            let flags: Vec<String> = flag_strings(&f);
            let stored = store.finish(inc, uid_validity, uid, &flags, &mbox_date(&f))?;
            done.push(NewMessage {
                uid,
                flags,
                internal_date: f
                    .internal_date()
                    .map(|d| String::from_utf8_lossy(d).into_owned()),
                stored,
                gm_msgid: f.gm_msgid(),
            });
        }
        _ => {}
    }
    Ok(())
}

/// The default backup directory for an account: `USER@HOST` here.
pub fn default_dir(user: &str, host: &str) -> PathBuf {
    PathBuf::from(format!("{user}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_stars_only() {
        assert!(glob("*", "INBOX"));
        assert!(glob("Lists/*", "Lists/dev"));
        assert!(!glob("Lists/*", "INBOX"));
        assert!(glob("*Sent*", "[Gmail]/Sent Mail"));
        assert!(glob("INBOX", "INBOX"));
        assert!(!glob("INBOX", "INBOX/a"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXbY"));
    }
}
