//! `imap4 copy SRC DST`: copies an account's folders to another server
//! (or another account), bytes, flags and INTERNALDATE kept, rerunnable
//! without duplicates.
//!
//! One run:
//!
//! 1. The source's folders with one LIST (with LIST-STATUS: each folder's
//!    UIDVALIDITY, UIDNEXT and MESSAGES). A folder whose status is what the
//!    state recorded after its last complete pass is not opened; when no
//!    folder needs work, the destination is not even connected to.
//! 2. Each folder is mapped to a destination folder: `--map` first, then
//!    INBOX to INBOX, then a special-use folder (Sent, Drafts, Trash,
//!    Junk, Archive) to the destination's folder of the same use, else the
//!    same name with the source's personal-namespace prefix and hierarchy
//!    delimiter replaced by the destination's. Missing folders are created.
//! 3. The source folder is EXAMINEd (never changed) and the destination
//!    folder SELECTed (a server appends faster into a selected mailbox).
//!    The source UIDs not yet copied are fetched in batches (at most
//!    `--batch` messages and `--batch-bytes` bytes each) and appended with
//!    one MULTIAPPEND per batch where offered (else one APPEND each,
//!    pipelined where literals need no go-ahead); the new UIDs
//!    (APPENDUID) are recorded.
//!
//! The state (SQLite, one file per source/destination pair) records every
//! copied message. A batch is recorded as pending before it is sent; after
//! an interruption the next run looks in the destination, from the UIDNEXT
//! the batch started at, for the pending messages (by Message-ID, size and
//! INTERNALDATE), records the ones it finds and copies only the others.
//! A UIDVALIDITY change on either side is reconciled the same way over the
//! whole folder, reported, and never copies a message twice.

pub mod state;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use imap4::typed::{
    AppendMessage, Bound, FetchAttr, MailboxInfo, MailboxStatus, SearchKey, SelectOptions,
    SpecialUse, StoreOp, UidSet,
};
use imap4::Imap4;
use serde::Serialize;

use crate::backup::{flag_strings, list_folders, lock, no_uid_validity};
use crate::commands::Out;
use crate::config::Account;
use crate::matching::pair;
use crate::output::{fail, json_line, Class, Failure, Phase};
use state::{Copied, FolderRow, Key, State};

/// What `copy` was asked to do.
pub struct CopyArgs<'a> {
    /// The state database.
    pub state: &'a Path,
    /// Source folders to copy (patterns); empty: all.
    pub folders: &'a [String],
    /// Source folders to leave out (patterns).
    pub exclude: &'a [String],
    /// Explicit mappings, source folder → destination folder (children
    /// follow their parent).
    pub maps: &'a [(String, String)],
    /// Only say what would be copied; change nothing on either server.
    pub dry_run: bool,
    /// At most this many messages per APPEND.
    pub batch: usize,
    /// At most this many bytes per APPEND (a larger message goes alone).
    pub batch_bytes: u64,
    /// How a batch is APPENDed.
    pub append: crate::cli::AppendMode,
    /// Only messages matching this (server-side SEARCH); `None`: all.
    pub filter: Option<&'a SearchKey>,
}

/// What one folder's copy did (a `folder` event in `--json`).
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct CopyFolderReport {
    /// The source folder.
    pub folder: String,
    /// The destination folder.
    pub destination: String,
    /// The destination folder was created.
    pub created: bool,
    /// Messages copied (with `--dry-run`: that would be).
    pub copied: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Messages already in the destination from earlier runs.
    pub already: u64,
    /// Messages of an interrupted run found in the destination (recorded,
    /// not copied again).
    pub recovered: u64,
    /// After a UIDVALIDITY change: messages matched to the records.
    pub reconciled: u64,
    /// Nothing changed in the source since the last complete pass: the
    /// folder was not opened.
    pub unchanged: bool,
    /// Messages copied in earlier runs whose flags changed on the source
    /// since, now mirrored on the destination (CONDSTORE).
    pub flags_changed: u64,
    /// Something needing attention (a UIDVALIDITY change).
    pub warning: Option<String>,
    /// The folder was created on the destination and subscribed there,
    /// as it is on the source.
    pub subscribed: bool,
    /// Messages the destination refused (the exit code is then 9).
    pub errors: Vec<String>,
}

/// The end of a run (the `done` event in `--json`).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct CopySummary {
    /// Folders looked at.
    pub folders: u64,
    /// Messages copied.
    pub copied: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Flag changes mirrored.
    pub flags_changed: u64,
    /// Warnings (the exit code is then 10).
    pub warnings: Vec<String>,
    /// Folders or messages that failed (the exit code is then 9).
    pub errors: Vec<String>,
    /// Nothing was changed (`--dry-run`).
    pub dry_run: bool,
}

/// The JSON Lines `copy --json` prints, by `event`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CopyEvent {
    /// A batch of messages is appended and recorded.
    Batch {
        /// The source folder.
        folder: String,
        /// Messages in this batch.
        messages: u64,
        /// Messages of the folder done so far in this run.
        done: u64,
        /// Messages of the folder to copy in this run.
        total: u64,
    },
    /// A folder is done.
    Folder(CopyFolderReport),
    /// The connection was lost; the run starts again on a new one
    /// (resuming from what is committed).
    Reconnect(crate::retry::Reconnect),
    /// The run is done.
    Done(CopySummary),
}

fn emit(out: &Out, event: &CopyEvent) -> Result<(), Failure> {
    let mut o = io::stdout().lock();
    let r = if out.json {
        json_line(&mut o, event)
    } else {
        match event {
            CopyEvent::Batch { .. } => Ok(()),
            CopyEvent::Folder(f) => {
                let what = if f.unchanged {
                    "unchanged".to_string()
                } else {
                    let mut s = format!(
                        "{} {} ({}), {} already there",
                        f.copied,
                        if f.copied > 0 && f.bytes == 0 {
                            "to copy"
                        } else {
                            "copied"
                        },
                        crate::backup::human_bytes(f.bytes),
                        f.already
                    );
                    if f.created {
                        s.push_str(", folder created");
                    }
                    if f.subscribed {
                        s.push_str(" and subscribed");
                    }
                    if f.recovered > 0 {
                        s.push_str(&format!(", {} found from an interrupted run", f.recovered));
                    }
                    if f.flags_changed > 0 {
                        s.push_str(&format!(", {} flag changes", f.flags_changed));
                    }
                    if !f.errors.is_empty() {
                        s.push_str(&format!(", {} refused", f.errors.len()));
                    }
                    s
                };
                writeln!(o, "{} -> {}: {what}", f.folder, f.destination)
            }
            CopyEvent::Reconnect(r) => writeln!(io::stderr(), "{}", r.text()),
            CopyEvent::Done(s) => writeln!(
                o,
                "{}{} folders, {} messages copied ({})",
                if s.dry_run { "dry run: " } else { "" },
                s.folders,
                s.copied,
                crate::backup::human_bytes(s.bytes),
            ),
        }
    };
    r.map_err(|e| Failure::new(Class::Local, format!("writing the output: {e}")))
}

fn db_error(e: rusqlite::Error) -> Failure {
    Failure::new(Class::Local, format!("the copy's state database: {e}"))
}

/// `user@host:port`: how the state names a side.
pub fn side_name(a: &Account) -> String {
    format!("{}@{}:{}", a.user, a.host, a.port)
}

/// The default state file of a pair:
/// `$XDG_STATE_HOME/imap4/copy/SRC--DST.sqlite` (else under
/// `~/.local/state`).
pub fn default_state(src: &Account, dst: &Account) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let clean = |s: String| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "@.-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    Some(base.join("imap4/copy").join(format!(
        "{}--{}.sqlite",
        clean(side_name(src)),
        clean(side_name(dst))
    )))
}

/// How the destination names folders.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Its hierarchy delimiter.
    pub delimiter: Option<char>,
    /// Its personal namespace's prefix (`""`, `INBOX.`).
    pub prefix: String,
    /// Its special-use folders.
    pub special: HashMap<SpecialUse, String>,
}

/// The destination name of source folder `info` (see the [module
/// documentation](self)).
pub fn map_name(
    info: &MailboxInfo,
    src_prefix: &str,
    dst: &Layout,
    maps: &[(String, String)],
) -> String {
    let name = info.name.as_str();
    let src_delim = info.delimiter;
    let dst_delim = dst.delimiter;
    let join = |parts: &[&str]| -> String {
        let fixed: Vec<String> = parts
            .iter()
            .map(|p| match dst_delim {
                // a destination delimiter inside a name part would split it
                Some(d) if src_delim != Some(d) => p.replace(d, "_"),
                _ => (*p).to_string(),
            })
            .collect();
        match dst_delim {
            Some(d) => fixed.join(&d.to_string()),
            None => fixed.join("_"),
        }
    };
    let split = |s: &str| -> Vec<String> {
        match src_delim {
            Some(d) => s.split(d).map(str::to_string).collect(),
            None => vec![s.to_string()],
        }
    };
    for (a, b) in maps {
        if name == a {
            return b.clone();
        }
        if let Some(d) = src_delim {
            if let Some(rest) = name.strip_prefix(&format!("{a}{d}")) {
                let parts = split(rest);
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                let sep = dst_delim.map_or("_".to_string(), |c| c.to_string());
                return format!("{b}{sep}{}", join(&parts));
            }
        }
    }
    if name.eq_ignore_ascii_case("INBOX") {
        return "INBOX".into();
    }
    let uses = SpecialUse::ALL_USES
        .iter()
        .copied()
        .filter(|u| info.has_attribute(u.attribute()));
    for u in uses {
        if let Some(d) = dst.special.get(&u) {
            return d.clone();
        }
    }
    let local = if !src_prefix.is_empty() && name.len() > src_prefix.len() {
        name.strip_prefix(src_prefix).unwrap_or(name)
    } else {
        name
    };
    let parts = split(local);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    if parts.len() > 1 && parts[0].eq_ignore_ascii_case("INBOX") {
        // a child of INBOX stays one wherever the prefix is
        let mut p = vec!["INBOX"];
        p.extend(&parts[1..]);
        return join(&p);
    }
    format!("{}{}", dst.prefix, join(&parts))
}

/// The destination connection, opened when a folder first needs it.
struct Destination {
    m: Imap4,
    layout: Layout,
    existing: HashSet<String>,
    selected: Option<SelectedDst>,
}

#[derive(Clone)]
struct SelectedDst {
    name: String,
    uid_validity: u32,
    uid_next: Option<u32>,
    /// PERMANENTFLAGS allows any keyword, or the flags it allows.
    keywords: Option<HashSet<String>>,
}

struct Run<'a> {
    src: &'a mut Imap4,
    dst_account: &'a Account,
    dst: Option<Destination>,
    out: &'a Out,
    args: &'a CopyArgs<'a>,
    state: Option<State>,
    /// The source's personal namespace prefix, asked for when first needed.
    src_prefix: Option<String>,
    /// The source's subscribed folders (LSUB), once asked.
    src_subscribed: Option<HashSet<String>>,
}

/// `copy`: see the [module documentation](self).
pub fn copy(
    src: &mut Imap4,
    dst_account: &Account,
    out: &Out,
    args: &CopyArgs<'_>,
    names: (&str, &str),
    summary: &mut CopySummary,
) -> Result<(), Failure> {
    let mut _lock = None;
    let state = if args.dry_run {
        State::open_existing(args.state).map_err(|e| Failure::new(Class::Local, e))?
    } else {
        if let Some(dir) = args.state.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::new(Class::Local, format!("{}: {e}", dir.display())))?;
        }
        let mut lock_path = args.state.as_os_str().to_owned();
        lock_path.push(".lock");
        _lock = Some(lock(Path::new(&lock_path), || {
            format!(
                "another copy is running with the state {}",
                args.state.display()
            )
        })?);
        Some(State::open(args.state, names.0, names.1).map_err(|e| Failure::new(Class::Local, e))?)
    };
    let mut run = Run {
        src,
        dst_account,
        dst: None,
        out,
        args,
        state,
        src_prefix: None,
        src_subscribed: None,
    };
    let folders = list_folders(run.src, args.folders, args.exclude)?;
    *summary = CopySummary {
        dry_run: args.dry_run,
        ..Default::default()
    };
    for (info, status) in folders {
        if is_virtual(&info) && !args.folders.iter().any(|p| p == &info.name) {
            continue;
        }
        match run.folder(&info, status.as_ref()) {
            Ok(report) => {
                summary.folders += 1;
                summary.copied += report.copied;
                summary.bytes += report.bytes;
                summary.flags_changed += report.flags_changed;
                if let Some(w) = &report.warning {
                    summary.warnings.push(w.clone());
                }
                summary
                    .errors
                    .extend(report.errors.iter().map(|e| format!("{}: {e}", info.name)));
                emit(out, &CopyEvent::Folder(report))?;
            }
            Err(f)
                if f.retry
                    || matches!(f.class, Class::Local | Class::Protocol | Class::Connect) =>
            {
                return Err(f)
            }
            Err(f) => {
                if !out.json {
                    eprintln!("imap4: {}: {}", info.name, f.message);
                }
                summary.errors.push(format!("{}: {}", info.name, f.message));
            }
        }
    }
    if let Some(mut d) = run.dst.take() {
        let _ = d.m.logout();
    }
    let errors = summary.errors.len();
    let warnings = summary.warnings.clone();
    emit(out, &CopyEvent::Done(summary.clone()))?;
    if errors > 0 {
        return Err(Failure::new(
            Class::Partial,
            format!("{errors} folders or messages could not be copied"),
        ));
    }
    if !warnings.is_empty() {
        return Err(Failure::new(Class::Warning, warnings.join("; ")));
    }
    Ok(())
}

/// `\All` and `\Flagged` folders show messages that are in other folders
/// too: copied only when named exactly with `--folder`.
fn is_virtual(info: &MailboxInfo) -> bool {
    info.has_attribute("\\All") || info.has_attribute("\\Flagged")
}

/// The personal namespace's prefix (`""` without NAMESPACE).
fn personal_prefix(m: &mut Imap4) -> String {
    if !m.typed().has_capability("NAMESPACE") {
        return String::new();
    }
    m.typed()
        .namespace()
        .ok()
        .and_then(|n| n.personal.into_iter().next())
        .map(|p| p.prefix)
        .unwrap_or_default()
}

/// The items that identify a message in a folder.
fn key_attrs() -> [FetchAttr; 4] {
    [
        FetchAttr::Uid,
        FetchAttr::Rfc822Size,
        FetchAttr::InternalDate,
        FetchAttr::Section {
            section: MESSAGE_ID_SECTION.into(),
            peek: true,
            partial: None,
        },
    ]
}

const MESSAGE_ID_SECTION: &str = "HEADER.FIELDS (MESSAGE-ID)";

/// (UID, key) of every message of the selected mailbox from UID `from` on.
fn scan(m: &mut Imap4, from: u32, exists: u32) -> Result<Vec<(Key, u32)>, Failure> {
    let mut found = Vec::new();
    if exists == 0 {
        return Ok(found);
    }
    m.typed()
        .uid_fetch_each(
            &UidSet::range(from.max(1), Bound::Star),
            &key_attrs(),
            |f| {
                let Some(uid) = f.uid().filter(|u| *u >= from) else {
                    return;
                };
                let id = f
                    .section(MESSAGE_ID_SECTION)
                    .and_then(crate::backup::store::message_id)
                    .unwrap_or_default();
                let date = f.internal_date_parsed().map_or(0, |d| d.timestamp());
                if let Some(size) = f.rfc822_size() {
                    found.push(((id, size, date), uid));
                }
            },
        )
        .map_err(|e| fail(e, Phase::Work))?;
    Ok(found)
}

/// A message fetched from the source, ready to append.
struct Outgoing {
    copied: Copied,
    flags: Vec<String>,
    date: Option<String>,
    body: bytes::Bytes,
}

impl Run<'_> {
    fn state(&mut self) -> &mut State {
        self.state.as_mut().expect("a state outside --dry-run")
    }

    fn dst(&mut self) -> Result<&mut Destination, Failure> {
        if self.dst.is_none() {
            let mut m = crate::connect::open(self.dst_account)?;
            let prefix = personal_prefix(&mut m);
            let listed = m.typed().list("", "*").map_err(|e| fail(e, Phase::Work))?;
            let mut layout = Layout {
                delimiter: listed.iter().find_map(|i| i.delimiter),
                prefix,
                special: HashMap::new(),
            };
            for i in &listed {
                for u in SpecialUse::ALL_USES {
                    if i.has_attribute(u.attribute()) {
                        layout.special.entry(u).or_insert_with(|| i.name.clone());
                    }
                }
            }
            if layout.special.is_empty() && m.typed().has_capability("SPECIAL-USE") {
                for (u, i) in m
                    .typed()
                    .special_use_folders()
                    .map_err(|e| fail(e, Phase::Work))?
                {
                    layout.special.entry(u).or_insert(i.name);
                }
            }
            let existing = listed.into_iter().map(|i| i.name).collect();
            self.dst = Some(Destination {
                m,
                layout,
                existing,
                selected: None,
            });
        }
        Ok(self.dst.as_mut().expect("just connected"))
    }

    /// Creates (unless it exists) and SELECTs the destination folder.
    fn select_dst(
        &mut self,
        name: &str,
        report: &mut CopyFolderReport,
    ) -> Result<SelectedDst, Failure> {
        let d = self.dst()?;
        if let Some(s) = d.selected.as_ref().filter(|s| s.name == name) {
            return Ok(s.clone());
        }
        if !d.existing.contains(name) && !name.eq_ignore_ascii_case("INBOX") {
            d.m.typed()
                .create(name)
                .map_err(|e| fail(e, Phase::Mailbox))?;
            d.existing.insert(name.to_string());
            report.created = true;
        }
        let sel =
            d.m.typed()
                .select(name)
                .map_err(|e| fail(e, Phase::Mailbox))?;
        let keywords =
            if sel.permanent_flags.is_empty() || sel.permanent_flags.iter().any(|f| f == "\\*") {
                None
            } else {
                Some(
                    sel.permanent_flags
                        .iter()
                        .map(|f| f.to_ascii_lowercase())
                        .collect(),
                )
            };
        let s = SelectedDst {
            name: name.to_string(),
            uid_validity: sel.uid_validity.ok_or_else(|| no_uid_validity(name))?,
            uid_next: sel.uid_next,
            keywords,
        };
        d.selected = Some(s.clone());
        Ok(s)
    }

    fn folder(
        &mut self,
        info: &MailboxInfo,
        status: Option<&MailboxStatus>,
    ) -> Result<CopyFolderReport, Failure> {
        let name = info.name.as_str();
        let row = match &self.state {
            Some(s) => s.folder(name).map_err(db_error)?,
            None => None,
        };
        let mut report = CopyFolderReport {
            folder: name.to_string(),
            ..Default::default()
        };
        if let (Some(r), Some(s)) = (&row, status) {
            report.destination = r.dst_name.clone();
            if r.complete
                && r.pending_from.is_none()
                && r.src_uid_validity.is_some()
                && r.src_uid_validity == s.uid_validity
                && r.src_uid_next == s.uid_next
                && r.src_messages == s.messages
                && (s.highest_modseq.is_none() || s.highest_modseq == r.src_highest_modseq)
            {
                report.unchanged = true;
                return Ok(report);
            }
        }
        let dst_name = match &row {
            Some(r) => r.dst_name.clone(),
            None => {
                let prefix = match &self.src_prefix {
                    Some(p) => p.clone(),
                    None => personal_prefix(self.src),
                };
                self.src_prefix = Some(prefix.clone());
                let layout = self.dst()?.layout.clone();
                map_name(info, &prefix, &layout, self.args.maps)
            }
        };
        report.destination = dst_name.clone();
        // CONDSTORE: HIGHESTMODSEQ, so that later flag changes are found
        let sel = if self.src.typed().has_capability("CONDSTORE") {
            self.src
                .typed()
                .examine_with(name, &SelectOptions::condstore())
                .map_err(|e| fail(e, Phase::Mailbox))?
                .mailbox
        } else {
            self.src
                .typed()
                .examine(name)
                .map_err(|e| fail(e, Phase::Mailbox))?
        };
        let src_uv = sel.uid_validity.ok_or_else(|| no_uid_validity(name))?;
        let uids: Vec<u32> = if sel.exists == 0 {
            Vec::new()
        } else {
            let key = self.args.filter.cloned().unwrap_or(SearchKey::All);
            self.src
                .typed()
                .uid_search(&key)
                .map_err(|e| fail(e, Phase::Work))?
                .iter()
                .collect()
        };
        if self.args.dry_run {
            let copied: HashSet<u32> = match (&self.state, &row) {
                (Some(s), Some(r)) if r.src_uid_validity == Some(src_uv) => s
                    .copied(r.id)
                    .map_err(db_error)?
                    .into_iter()
                    .map(|c| c.src_uid)
                    .collect(),
                _ => HashSet::new(),
            };
            report.already = uids.iter().filter(|u| copied.contains(u)).count() as u64;
            report.copied = uids.len() as u64 - report.already;
            report.created = !self.dst()?.existing.contains(&dst_name)
                && !dst_name.eq_ignore_ascii_case("INBOX");
            return Ok(report);
        }
        let row = match row {
            Some(r) => r,
            None => self.state().add_folder(name, &dst_name).map_err(db_error)?,
        };
        let dsel = self.select_dst(&dst_name, &mut report)?;
        if report.created && self.src_is_subscribed(name)? {
            // a folder it creates is subscribed as its source is
            self.dst()?
                .m
                .typed()
                .subscribe(&dst_name)
                .map_err(|e| fail(e, Phase::Mailbox))?;
            report.subscribed = true;
        }
        let copied = self.settle(&row, src_uv, sel.exists, &dsel, &mut report)?;
        let done: HashSet<u32> = copied.iter().map(|c| c.src_uid).collect();
        let missing: Vec<u32> = uids.iter().copied().filter(|u| !done.contains(u)).collect();
        report.already = (uids.len() - missing.len()) as u64;
        let mut from = copied
            .iter()
            .filter_map(|c| c.dst_uid)
            .max()
            .map_or(1, |u| u + 1)
            .max(dsel.uid_next.unwrap_or(1));
        self.transfer(name, &row, &dsel, &missing, &mut from, &mut report)?;
        if let (Some(since), Some(now)) = (row.src_highest_modseq, sel.highest_modseq) {
            if now > since && row.src_uid_validity == Some(src_uv) {
                self.mirror_flags(&copied, since, &dsel, &mut report)?;
            }
        }
        if report.errors.is_empty() {
            // after a filtered pass the folder is not "unchanged" next time:
            // what the filter left out is still to copy
            let uid_next = sel.uid_next.filter(|_| self.args.filter.is_none());
            self.state()
                .finish_folder(
                    row.id,
                    uid_next,
                    sel.exists,
                    sel.highest_modseq.unwrap_or(0),
                )
                .map_err(db_error)?;
        }
        Ok(report)
    }

    /// Whether the source folder `name` is subscribed (one LSUB per run).
    fn src_is_subscribed(&mut self, name: &str) -> Result<bool, Failure> {
        if self.src_subscribed.is_none() {
            let subs = self
                .src
                .typed()
                .lsub("", "*")
                .map_err(|e| fail(e, Phase::Work))?;
            self.src_subscribed = Some(subs.into_iter().map(|i| i.name).collect());
        }
        Ok(self
            .src_subscribed
            .as_ref()
            .is_some_and(|s| s.contains(name)))
    }

    /// Sets on the destination the flags of the messages (copied before)
    /// whose flags changed on the source since `since` (CHANGEDSINCE):
    /// the source's flags win.
    fn mirror_flags(
        &mut self,
        copied: &[Copied],
        since: u64,
        dsel: &SelectedDst,
        report: &mut CopyFolderReport,
    ) -> Result<(), Failure> {
        let dst_of: HashMap<u32, u32> = copied
            .iter()
            .filter_map(|c| Some((c.src_uid, c.dst_uid?)))
            .collect();
        if dst_of.is_empty() {
            return Ok(());
        }
        let changes = self
            .src
            .typed()
            .uid_fetch_changed_since(&UidSet::all(), &[FetchAttr::Flags], since)
            .map_err(|e| fail(e, Phase::Work))?
            .flag_changes()
            .map_err(|e| Failure::new(Class::Protocol, e.to_string()))?;
        // one STORE per flag set
        let mut groups: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
        for c in changes {
            if let Some(&d) = dst_of.get(&c.uid) {
                let mut flags = dst_flags(c.flags, dsel);
                flags.sort();
                groups.entry(flags).or_default().push(d);
            }
        }
        let d = self.dst()?;
        for (flags, uids) in groups {
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            // bounded command lines, however scattered the UIDs
            for chunk in uids.chunks(1000) {
                d.m.typed()
                    .uid_store(
                        &UidSet::from_numbers(chunk.iter().copied()),
                        StoreOp::Replace,
                        &flags,
                        true,
                    )
                    .map_err(|e| fail(e, Phase::Work))?;
                report.flags_changed += chunk.len() as u64;
            }
        }
        Ok(())
    }

    /// Brings the folder's records up to date with both servers before
    /// copying: the pending batch of an interrupted run, UIDVALIDITY
    /// changes. Returns the copied messages.
    fn settle(
        &mut self,
        row: &FolderRow,
        src_uv: u32,
        src_exists: u32,
        dsel: &SelectedDst,
        report: &mut CopyFolderReport,
    ) -> Result<Vec<Copied>, Failure> {
        let name = report.folder.clone();
        let mut copied = self.state().copied(row.id).map_err(db_error)?;
        let dst_changed = row
            .dst_uid_validity
            .is_some_and(|uv| uv != dsel.uid_validity);
        if dst_changed {
            // the destination folder was recreated: what of ours is there?
            let pending = self.state().pending(row.id).map_err(db_error)?;
            let d = self.dst()?;
            let exists = live_exists(&d.m);
            let theirs = scan(&mut d.m, 1, exists)?;
            let ours: Vec<(Key, Copied)> = copied
                .into_iter()
                .chain(pending)
                .map(|c| (c.key.clone(), c))
                .collect();
            let p = pair(ours, theirs);
            copied = p.pairs.into_iter().map(at_dst_uid).collect();
            report.reconciled = copied.len() as u64;
            let src = row.src_uid_validity.unwrap_or(src_uv);
            self.state()
                .replace(row.id, src, Some(dsel.uid_validity), &copied)
                .map_err(db_error)?;
            report.warning = Some(format!(
                "{name}: the destination {}'s UIDVALIDITY changed: {} of the copied messages \
                 found there, the others are copied again",
                dsel.name, report.reconciled
            ));
        } else if let Some(from) = row.pending_from {
            let pending = self.state().pending(row.id).map_err(db_error)?;
            let known: HashSet<u32> = copied.iter().filter_map(|c| c.dst_uid).collect();
            let d = self.dst()?;
            let exists = live_exists(&d.m);
            let theirs: Vec<(Key, u32)> = scan(&mut d.m, from, exists)?
                .into_iter()
                .filter(|(_, u)| !known.contains(u))
                .collect();
            let ours = pending.into_iter().map(|c| (c.key.clone(), c)).collect();
            let found: Vec<Copied> = pair(ours, theirs)
                .pairs
                .into_iter()
                .map(at_dst_uid)
                .collect();
            report.recovered = found.len() as u64;
            self.state()
                .commit_batch(row.id, &found)
                .map_err(db_error)?;
            copied.extend(found);
        }
        match row.src_uid_validity {
            Some(uv) if uv != src_uv => {
                // the source's UIDs changed: find our messages under their new UIDs
                let theirs = scan(self.src, 1, src_exists)?;
                let ours: Vec<(Key, Copied)> =
                    copied.into_iter().map(|c| (c.key.clone(), c)).collect();
                let p = pair(ours, theirs);
                copied = p
                    .pairs
                    .into_iter()
                    .map(|(c, uid)| Copied { src_uid: uid, ..c })
                    .collect();
                report.reconciled = copied.len() as u64;
                self.state()
                    .replace(row.id, src_uv, Some(dsel.uid_validity), &copied)
                    .map_err(db_error)?;
                report.warning = Some(format!(
                    "{name}: UIDVALIDITY changed from {uv} to {src_uv}: {} messages matched the \
                     copied ones by Message-ID, size and date; only the others are copied",
                    report.reconciled
                ));
            }
            Some(_) => {}
            None => self
                .state()
                .set_src_uid_validity(row.id, src_uv)
                .map_err(db_error)?,
        }
        Ok(copied)
    }

    /// Copies `missing` (source UIDs of the EXAMINEd folder) in batches.
    fn transfer(
        &mut self,
        name: &str,
        row: &FolderRow,
        dsel: &SelectedDst,
        missing: &[u32],
        from: &mut u32,
        report: &mut CopyFolderReport,
    ) -> Result<(), Failure> {
        if missing.is_empty() {
            return Ok(());
        }
        // sizes first: batches are cut by bytes as well as by count
        let mut sizes: HashMap<u32, u64> = HashMap::with_capacity(missing.len());
        self.src
            .typed()
            .uid_fetch_each(
                &UidSet::from_numbers(missing.iter().copied()),
                &[FetchAttr::Uid, FetchAttr::Rfc822Size],
                |f| {
                    if let (Some(u), Some(s)) = (f.uid(), f.rfc822_size()) {
                        sizes.insert(u, s);
                    }
                },
            )
            .map_err(|e| fail(e, Phase::Work))?;
        let missing: Vec<u32> = missing
            .iter()
            .copied()
            .filter(|u| sizes.contains_key(u)) // expunged meanwhile
            .collect();
        let total = missing.len() as u64;
        let bar = crate::progress::messages(self.out, total);
        let mut done = 0u64;
        let mut batches: Vec<Vec<u32>> = Vec::new();
        let (mut cur, mut cur_bytes) = (Vec::new(), 0u64);
        for u in missing {
            let s = sizes[&u];
            if !cur.is_empty()
                && (cur.len() >= self.args.batch.max(1) || cur_bytes + s > self.args.batch_bytes)
            {
                batches.push(std::mem::take(&mut cur));
                cur_bytes = 0;
            }
            cur.push(u);
            cur_bytes += s;
        }
        if !cur.is_empty() {
            batches.push(cur);
        }
        use crate::cli::AppendMode;
        let mode = self.args.append;
        let multi = matches!(mode, AppendMode::Auto | AppendMode::Multi)
            && self.dst()?.m.typed().has_capability("MULTIAPPEND");
        // Pipelined APPENDs pay only with non-synchronizing literals: with
        // synchronizing ones each go-ahead is a small write after the last
        // OK, which a server with Nagle on (Courier) holds for the
        // client's delayed ACK, so they measured slower than one at a time
        // (`imap4-bench pipeline`).
        for batch in batches {
            let msgs = self.fetch_batch(&batch, dsel)?;
            let n = msgs.len() as u64;
            if multi && msgs.len() > 1 {
                match self.append(row.id, dsel, &msgs, from) {
                    Ok(()) => {}
                    // refused as a whole (nothing appended): one by one,
                    // to find the culprit
                    Err(Refusal::Message(_)) => {
                        for m in &msgs {
                            self.append_one(row.id, dsel, m, from, report)?;
                        }
                    }
                    Err(Refusal::Stop(f)) => return Err(f),
                }
            } else if msgs.len() > 1
                && (mode == AppendMode::Pipelined
                    || mode == AppendMode::Auto && {
                        let d = self.dst()?;
                        msgs.iter()
                            .all(|m| d.m.typed().literal_non_sync(m.body.len()))
                    })
            {
                self.append_pipelined(row.id, dsel, &msgs, from, report)?;
            } else {
                for m in &msgs {
                    self.append_one(row.id, dsel, m, from, report)?;
                }
            }
            report.copied += n;
            report.bytes += msgs.iter().map(|m| m.body.len() as u64).sum::<u64>();
            done += n;
            bar.set_position(done);
            emit(
                self.out,
                &CopyEvent::Batch {
                    folder: name.to_string(),
                    messages: n,
                    done,
                    total,
                },
            )?;
        }
        report.copied -= report.errors.len() as u64;
        bar.finish_and_clear();
        Ok(())
    }

    /// One message alone; a refusal is recorded in the report.
    fn append_one(
        &mut self,
        folder: i64,
        dsel: &SelectedDst,
        m: &Outgoing,
        from: &mut u32,
        report: &mut CopyFolderReport,
    ) -> Result<(), Failure> {
        match self.append(folder, dsel, std::slice::from_ref(m), from) {
            Ok(()) => Ok(()),
            Err(Refusal::Message(f)) => {
                self.state().commit_batch(folder, &[]).map_err(db_error)?;
                report
                    .errors
                    .push(format!("UID {}: {}", m.copied.src_uid, f.message));
                Ok(())
            }
            Err(Refusal::Stop(f)) => Err(f),
        }
    }

    /// Appends `msgs` without MULTIAPPEND: one APPEND each, pipelined
    /// (one round trip for the batch with LITERAL+), recorded as pending
    /// first; then the messages the destination took are recorded as
    /// copied and each it refused goes to the report.
    fn append_pipelined(
        &mut self,
        folder: i64,
        dsel: &SelectedDst,
        msgs: &[Outgoing],
        from: &mut u32,
        report: &mut CopyFolderReport,
    ) -> Result<(), Failure> {
        let records = self.begin(folder, dsel, msgs, *from)?;
        let flags = flag_lists(msgs);
        let batch = append_batch(msgs, &flags);
        let d = self.dst()?;
        let results =
            d.m.typed()
                .append_pipelined(&dsel.name, &batch)
                .map_err(|e| fail(e, Phase::Work))?;
        failpoint("copy-after-append");
        let mut taken = Vec::with_capacity(records.len());
        for ((mut record, m), r) in records.into_iter().zip(msgs).zip(results) {
            match r.map_err(refusal) {
                Ok(mapping) => {
                    if let Some(map) = mapping.filter(|m| m.uid_validity == dsel.uid_validity) {
                        if let Some(u) = map.destination.iter().next() {
                            record.dst_uid = Some(u);
                            *from = (*from).max(u + 1);
                        }
                    }
                    taken.push(record);
                }
                Err(Refusal::Message(f)) => report
                    .errors
                    .push(format!("UID {}: {}", m.copied.src_uid, f.message)),
                // the connection is gone: the pending batch is matched
                // on the destination when the run resumes
                Err(Refusal::Stop(f)) => return Err(f),
            }
        }
        self.state().commit_batch(folder, &taken).map_err(db_error)
    }

    /// Records `msgs` as a pending batch (appended from UIDNEXT `from`)
    /// before they are sent; their records.
    fn begin(
        &mut self,
        folder: i64,
        dsel: &SelectedDst,
        msgs: &[Outgoing],
        from: u32,
    ) -> Result<Vec<Copied>, Failure> {
        let records: Vec<Copied> = msgs.iter().map(|m| m.copied.clone()).collect();
        self.state()
            .begin_batch(folder, dsel.uid_validity, from, &records)
            .map_err(db_error)?;
        Ok(records)
    }

    /// Appends `msgs` in one command (MULTIAPPEND for several), recorded
    /// as pending first and as copied after.
    fn append(
        &mut self,
        folder: i64,
        dsel: &SelectedDst,
        msgs: &[Outgoing],
        from: &mut u32,
    ) -> Result<(), Refusal> {
        let records = self
            .begin(folder, dsel, msgs, *from)
            .map_err(Refusal::Stop)?;
        let flags = flag_lists(msgs);
        let batch = append_batch(msgs, &flags);
        let d = self.dst().map_err(Refusal::Stop)?;
        let r = if batch.len() == 1 {
            let b = &batch[0];
            d.m.typed()
                .append(&dsel.name, b.flags, b.internal_date, b.message.clone())
        } else {
            d.m.typed().append_many(&dsel.name, &batch)
        };
        let mapping = r.map_err(refusal)?;
        failpoint("copy-after-append");
        let mut records = records;
        if let Some(map) = mapping.filter(|m| m.uid_validity == dsel.uid_validity) {
            let uids: Vec<u32> = map.destination.iter().collect();
            if uids.len() == records.len() {
                for (r, u) in records.iter_mut().zip(&uids) {
                    r.dst_uid = Some(*u);
                }
                if let Some(max) = uids.iter().max() {
                    *from = (*from).max(max + 1);
                }
            }
        }
        self.state()
            .commit_batch(folder, &records)
            .map_err(|e| Refusal::Stop(db_error(e)))
    }

    /// Fetches the bodies, flags and dates of `uids` from the source.
    fn fetch_batch(&mut self, uids: &[u32], dsel: &SelectedDst) -> Result<Vec<Outgoing>, Failure> {
        let attrs = [
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Section {
                section: String::new(),
                peek: true,
                partial: None,
            },
        ];
        let fetched = self
            .src
            .typed()
            .uid_fetch(&UidSet::from_numbers(uids.iter().copied()), &attrs)
            .map_err(|e| fail(e, Phase::Work))?;
        let mut out = Vec::with_capacity(uids.len());
        for f in fetched.iter() {
            let f = f.map_err(|e| Failure::new(Class::Protocol, e.to_string()))?;
            let (Some(uid), Some(body)) = (f.uid(), f.section("")) else {
                continue; // an unsolicited update
            };
            let flags = dst_flags(flag_strings(&f), dsel);
            let key = (
                crate::backup::store::message_id(body).unwrap_or_default(),
                body.len() as u64,
                f.internal_date_parsed().map_or(0, |d| d.timestamp()),
            );
            out.push(Outgoing {
                copied: Copied {
                    src_uid: uid,
                    dst_uid: None,
                    key,
                },
                flags,
                date: f
                    .internal_date()
                    .map(|d| String::from_utf8_lossy(d).trim().to_string()),
                body: bytes::Bytes::copy_from_slice(body),
            });
        }
        // in UID order, as the state and APPENDUID pair them
        out.sort_by_key(|m| m.copied.src_uid);
        Ok(out)
    }
}

/// A record paired with the destination message found for it.
/// The flags a message keeps on the destination: not `\Recent`, nor
/// keywords the destination's PERMANENTFLAGS refuses.
fn dst_flags(flags: Vec<String>, dsel: &SelectedDst) -> Vec<String> {
    flags
        .into_iter()
        .filter(|fl| !fl.eq_ignore_ascii_case("\\Recent"))
        .filter(|fl| match &dsel.keywords {
            None => true,
            Some(allowed) => allowed.contains(&fl.to_ascii_lowercase()),
        })
        .collect()
}

fn at_dst_uid((c, uid): (Copied, u32)) -> Copied {
    Copied {
        dst_uid: Some(uid),
        ..c
    }
}

/// Why an APPEND failed.
enum Refusal {
    /// The server refused this command (a message it will not take, or
    /// one the library refused to send): the others may still go.
    Message(Failure),
    /// Nothing more can go: the connection failed, the destination is
    /// over its quota, the state cannot be written.
    Stop(Failure),
}

/// The flags of each message, as the library's APPEND takes them.
fn flag_lists(msgs: &[Outgoing]) -> Vec<Vec<&str>> {
    msgs.iter()
        .map(|m| m.flags.iter().map(String::as_str).collect())
        .collect()
}

/// The messages as APPEND arguments (`flags` from [`flag_lists`]).
fn append_batch<'a>(msgs: &'a [Outgoing], flags: &'a [Vec<&'a str>]) -> Vec<AppendMessage<'a>> {
    msgs.iter()
        .zip(flags)
        .map(|(m, f)| AppendMessage {
            flags: f,
            internal_date: m.date.as_deref(),
            message: m.body.clone(),
        })
        .collect()
}

fn refusal(e: imap4::Error) -> Refusal {
    let over_quota = matches!(
        e.detail(),
        imap4::Detail::Refused {
            code: Some(imap4::ResponseCode::OverQuota),
            ..
        }
    );
    let f = fail(e, Phase::Work);
    if over_quota {
        Refusal::Stop(Failure::new(
            Class::ServerNo,
            format!(
                "the destination is over its quota; what was copied is recorded ({})",
                f.message
            ),
        ))
    } else if !f.retry && matches!(f.class, Class::ServerNo | Class::Usage) {
        Refusal::Message(f)
    } else {
        Refusal::Stop(f)
    }
}

/// A crash for the tests, at a named point: `IMAP4_FAILPOINT=NAME:N`
/// aborts the process the N-th time it passes `name` (here: after the
/// destination stored a batch, before the state records it, the one
/// window `kill -9` hits only by chance).
fn failpoint(name: &str) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static PASSED: AtomicU32 = AtomicU32::new(0);
    let Ok(spec) = std::env::var("IMAP4_FAILPOINT") else {
        return;
    };
    let Some((n, at)) = spec.split_once(':') else {
        return;
    };
    if n == name && at.parse() == Ok(PASSED.fetch_add(1, Ordering::SeqCst) + 1) {
        std::process::abort();
    }
}

/// The selected mailbox's message count as the responses so far left it.
fn live_exists(m: &Imap4) -> u32 {
    m.mailbox_state().map_or(0, |s| s.exists)
}

/// Parses `--map A=B`.
pub fn parse_map(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("{s:?}: expected SOURCE=DESTINATION")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, delim: char, attrs: &[&str]) -> MailboxInfo {
        MailboxInfo {
            name: name.into(),
            raw_name: name.as_bytes().to_vec(),
            delimiter: Some(delim),
            attributes: attrs.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn names_follow_the_destinations_layout() {
        let courier = Layout {
            delimiter: Some('.'),
            prefix: "INBOX.".into(),
            special: [(SpecialUse::Sent, "INBOX.Sent Items".to_string())].into(),
        };
        let none: &[(String, String)] = &[];
        assert_eq!(
            map_name(&info("INBOX", '/', &[]), "", &courier, none),
            "INBOX"
        );
        assert_eq!(
            map_name(&info("inbox", '/', &[]), "", &courier, none),
            "INBOX"
        );
        assert_eq!(
            map_name(&info("Lists/rust", '/', &[]), "", &courier, none),
            "INBOX.Lists.rust"
        );
        // a destination delimiter inside a name part does not split it
        assert_eq!(
            map_name(&info("v1.2/notes", '/', &[]), "", &courier, none),
            "INBOX.v1_2.notes"
        );
        // special use wins over the name
        assert_eq!(
            map_name(&info("Sent", '/', &["\\Sent"]), "", &courier, none),
            "INBOX.Sent Items"
        );
        // back from Courier to a flat-prefix server
        let dovecot = Layout {
            delimiter: Some('/'),
            prefix: String::new(),
            special: HashMap::new(),
        };
        assert_eq!(
            map_name(
                &info("INBOX.Lists.rust", '.', &[]),
                "INBOX.",
                &dovecot,
                none
            ),
            "Lists/rust"
        );
        assert_eq!(
            map_name(
                &info("INBOX.Sent", '.', &["\\Sent"]),
                "INBOX.",
                &dovecot,
                none
            ),
            "Sent"
        );
        // a child of INBOX on a server without prefix
        assert_eq!(
            map_name(&info("INBOX/sub", '/', &[]), "", &courier, none),
            "INBOX.sub"
        );
        // --map, and its children
        let maps = vec![("Old".to_string(), "Archive/2019".to_string())];
        assert_eq!(
            map_name(&info("Old", '/', &[]), "", &dovecot, &maps),
            "Archive/2019"
        );
        assert_eq!(
            map_name(&info("Old/a", '/', &[]), "", &dovecot, &maps),
            "Archive/2019/a"
        );
    }

    #[test]
    fn map_arguments() {
        assert_eq!(parse_map("A=B/c").unwrap(), ("A".into(), "B/c".into()));
        assert!(parse_map("A").is_err());
        assert!(parse_map("=B").is_err());
    }
}
