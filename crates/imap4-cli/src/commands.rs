//! The commands, each on one logged-in connection.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use imap4::typed::{Envelope, Fetch, FetchAttr, SearchKey, StatusAttr, StoreOp, UidSet};
use imap4::Imap4;
use serde::Serialize;

use crate::cli::{Expunge, FlagOp};
use crate::output::{fail, json_line, table, Class, Failure, Phase};
use crate::trace;

/// Output settings.
#[derive(Clone, Copy)]
pub struct Out {
    /// JSON instead of text.
    pub json: bool,
    /// stderr is a terminal (progress bars allowed).
    pub progress: bool,
    /// stdout is a terminal (rows show the progress; no bar beside them).
    pub stdout_is_terminal: bool,
}

fn local(what: impl std::fmt::Display, e: io::Error) -> Failure {
    Failure::new(Class::Local, format!("{what}: {e}"))
}

fn stdout_error(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // the reader has what it wanted (`imap4 list | head`): not a
        // failure, and nothing to say
        std::process::exit(0);
    }
    local("writing the output", e)
}

fn parse_uids(s: &str) -> Result<UidSet, Failure> {
    s.parse::<UidSet>()
        .map_err(|e| Failure::new(Class::Usage, format!("bad UID set {s:?}: {e}")))
}

fn open_mailbox(
    m: &mut Imap4,
    mailbox: &str,
    write: bool,
) -> Result<imap4::typed::SelectedMailbox, Failure> {
    let r = if write {
        m.typed().select(mailbox)
    } else {
        m.typed().examine(mailbox)
    };
    r.map_err(|e| {
        let mut f = fail(e, Phase::Mailbox);
        f.message = format!("{mailbox}: {}", f.message);
        f
    })
}

fn need(m: &mut Imap4, capability: &str, what: &str) -> Result<(), Failure> {
    if m.typed().has_capability(capability) {
        Ok(())
    } else {
        Err(Failure::new(
            Class::ServerNo,
            format!("the server lacks {capability}, needed for {what}"),
        ))
    }
}

// ---------------------------------------------------------------- ls

/// One mailbox, as `ls --json` prints it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MailboxOut {
    /// The name, decoded to UTF-8.
    pub name: String,
    /// The hierarchy delimiter, if any.
    pub delimiter: Option<String>,
    /// The LIST attributes (`\HasNoChildren`, `\Sent`…).
    pub attributes: Vec<String>,
    /// The special use (RFC 6154), without the backslash: `sent`,
    /// `drafts`, `trash`, `junk`, `archive`, `all`, `flagged`.
    pub special_use: Option<String>,
    /// Whether the user is subscribed to it.
    pub subscribed: bool,
    /// Whether it can be selected (not `\Noselect`/`\NonExistent`).
    pub selectable: bool,
    /// STATUS MESSAGES (absent with --no-counts or when not selectable).
    pub messages: Option<u32>,
    /// STATUS UNSEEN.
    pub unseen: Option<u32>,
}

/// `ls --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LsOut {
    /// The mailboxes, in the server's order.
    pub mailboxes: Vec<MailboxOut>,
}

const SPECIAL_USES: [&str; 7] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

/// The raw names of the subscribed mailboxes (LSUB).
fn subscriptions(m: &mut Imap4, pattern: &str) -> Result<Vec<Vec<u8>>, Failure> {
    let subscribed = m
        .typed()
        .lsub("", pattern)
        .map_err(|e| fail(e, Phase::Work))?;
    Ok(subscribed.into_iter().map(|b| b.raw_name).collect())
}

/// `ls`: one LIST with RETURN (SUBSCRIBED STATUS …) where LIST-EXTENDED and
/// LIST-STATUS are offered; else LIST, LSUB and a STATUS per mailbox.
pub fn ls(
    m: &mut Imap4,
    out: &Out,
    pattern: &str,
    counts: bool,
    only_subscribed: bool,
) -> Result<(), Failure> {
    let extended = m.typed().has_capability("LIST-EXTENDED")
        && (!counts || m.typed().has_capability("LIST-STATUS"));
    // LIST-EXTENDED (+ LIST-STATUS): subscriptions and counts in one
    // command; else LIST, LSUB and a STATUS per mailbox
    let (list, subscribed, mut statuses) = if extended {
        let mut o = imap4::typed::ListOptions::default().return_subscribed();
        if m.typed().has_capability("SPECIAL-USE") {
            // with RETURN options, servers (Dovecot) send the special-use
            // attributes only when asked
            o = o.return_special_use();
        }
        if counts {
            o = o.return_status(&[StatusAttr::Messages, StatusAttr::Unseen]);
        }
        let listed = m
            .typed()
            .list_extended("", &[pattern], &o)
            .map_err(|e| fail(e, Phase::Work))?;
        let mut infos = Vec::new();
        let mut subs = Vec::new();
        let mut statuses = std::collections::HashMap::new();
        for mut l in listed {
            if l.info.has_attribute("\\Subscribed") {
                subs.push(l.info.raw_name.clone());
            }
            l.info
                .attributes
                .retain(|a| !a.eq_ignore_ascii_case("\\Subscribed"));
            if let Some(st) = l.status {
                statuses.insert(l.info.raw_name.clone(), st);
            }
            infos.push(l.info);
        }
        (infos, subs, Some(statuses))
    } else {
        let list = m
            .typed()
            .list("", pattern)
            .map_err(|e| fail(e, Phase::Work))?;
        let subs = subscriptions(m, pattern)?;
        (list, subs, None)
    };
    let mut rows = Vec::new();
    for b in list {
        let is_sub = subscribed.contains(&b.raw_name);
        if only_subscribed && !is_sub {
            continue;
        }
        let selectable = !b.has_attribute("\\Noselect") && !b.has_attribute("\\NonExistent");
        let special_use = SPECIAL_USES
            .iter()
            .find(|u| b.has_attribute(u))
            .map(|u| u[1..].to_ascii_lowercase());
        let (mut messages, mut unseen) = (None, None);
        if let Some(st) = statuses.as_mut().and_then(|st| st.remove(&b.raw_name)) {
            messages = st.messages;
            unseen = st.unseen;
        } else if counts && selectable && statuses.is_none() {
            match m
                .typed()
                .status(&b.name, &[StatusAttr::Messages, StatusAttr::Unseen])
            {
                Ok(s) => {
                    messages = s.messages;
                    unseen = s.unseen;
                }
                // a mailbox listed but not STATUS-able (ACL, races):
                // shown without counts
                Err(e) if e.is_error() => {}
                Err(e) => return Err(fail(e, Phase::Work)),
            }
        }
        rows.push(MailboxOut {
            name: b.name,
            delimiter: b.delimiter.map(String::from),
            attributes: b.attributes,
            special_use,
            subscribed: is_sub,
            selectable,
            messages,
            unseen,
        });
    }
    let mut w = io::stdout().lock();
    if out.json {
        json_line(&mut w, &LsOut { mailboxes: rows }).map_err(stdout_error)?;
        return Ok(());
    }
    let opt = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.name,
                if counts {
                    opt(r.messages)
                } else {
                    String::new()
                },
                if counts { opt(r.unseen) } else { String::new() },
                r.special_use.unwrap_or_default(),
                if r.subscribed {
                    "yes".into()
                } else {
                    "no".into()
                },
            ]
        })
        .collect();
    table(
        &mut w,
        &["MAILBOX", "MESSAGES", "UNSEEN", "USE", "SUBSCRIBED"],
        &rows,
    )
    .map_err(stdout_error)
}

// ---------------------------------------------------------------- search

/// `search --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SearchOut {
    /// The mailbox searched.
    pub mailbox: String,
    /// How many messages matched.
    pub count: u64,
    /// The matching UIDs as an IMAP set (`1:5,9`; empty if none).
    pub set: String,
    /// The matching UIDs, ascending.
    pub uids: Vec<u32>,
}

/// `search`: EXAMINE, UID SEARCH; UIDs out.
pub fn search(m: &mut Imap4, out: &Out, mailbox: &str, key: &SearchKey) -> Result<(), Failure> {
    open_mailbox(m, mailbox, false)?;
    let uids = m
        .typed()
        .uid_search(key)
        .map_err(|e| fail(e, Phase::Work))?;
    let mut w = BufWriter::new(io::stdout().lock());
    if out.json {
        let o = SearchOut {
            mailbox: mailbox.to_string(),
            count: uids.len(),
            set: uids.to_string(),
            uids: uids.iter().collect(),
        };
        json_line(&mut w, &o).map_err(stdout_error)?;
    } else {
        for u in uids.iter() {
            writeln!(w, "{u}").map_err(stdout_error)?;
        }
    }
    w.flush().map_err(stdout_error)
}

// ---------------------------------------------------------------- list

/// An address in [`EnvelopeOut`].
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AddressOut {
    /// The display name, RFC 2047 words decoded.
    pub name: Option<String>,
    /// `mailbox@host`.
    pub email: Option<String>,
}

/// One message, as `list --json` prints it: one JSON object per line.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EnvelopeOut {
    /// The UID.
    pub uid: u32,
    /// The flags.
    pub flags: Vec<String>,
    /// RFC822.SIZE in bytes.
    pub size: Option<u64>,
    /// INTERNALDATE in RFC 3339.
    pub internal_date: Option<String>,
    /// The Date: header in RFC 3339 (as sent if it cannot be parsed).
    pub date: Option<String>,
    /// The Subject:, RFC 2047 words decoded.
    pub subject: Option<String>,
    /// From:.
    pub from: Vec<AddressOut>,
    /// To:.
    pub to: Vec<AddressOut>,
    /// Cc:.
    pub cc: Vec<AddressOut>,
    /// Message-ID:.
    pub message_id: Option<String>,
}

fn addresses(list: &[imap4::typed::Address<'_>]) -> Vec<AddressOut> {
    list.iter()
        .filter(|a| a.mailbox.is_some() || a.name.is_some())
        .map(|a| AddressOut {
            name: a.name_decoded(),
            email: a.email(),
        })
        .collect()
}

fn envelope_out(f: &Fetch<'_>) -> Option<EnvelopeOut> {
    let uid = f.uid()?;
    let env: Option<&Envelope<'_>> = f.envelope();
    let text = |b: &Option<imap4::typed::ByteStr<'_>>| b.as_ref().map(|s| s.to_string());
    Some(EnvelopeOut {
        uid,
        flags: crate::backup::flag_strings(f),
        size: f.rfc822_size(),
        internal_date: f.internal_date_parsed().map(|d| d.to_rfc3339()),
        date: env.and_then(|e| {
            e.date_parsed()
                .map(|d| d.to_rfc3339())
                .or_else(|| text(&e.date))
        }),
        subject: env.and_then(|e| e.subject_decoded()),
        from: env.map(|e| addresses(&e.from)).unwrap_or_default(),
        to: env.map(|e| addresses(&e.to)).unwrap_or_default(),
        cc: env.map(|e| addresses(&e.cc)).unwrap_or_default(),
        message_id: env.and_then(|e| text(&e.message_id)),
    })
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn envelope_row(e: &EnvelopeOut) -> String {
    let date = e
        .date
        .as_deref()
        .or(e.internal_date.as_deref())
        .map(|d| d.get(..16).unwrap_or(d).replace('T', " "))
        .unwrap_or_default();
    let from = e
        .from
        .first()
        .map(|a| a.name.clone().or(a.email.clone()).unwrap_or_default())
        .unwrap_or_default();
    let has = |f: &str| e.flags.iter().any(|x| x.eq_ignore_ascii_case(f));
    let flags: String = [
        if has("\\Seen") { ' ' } else { 'N' },
        if has("\\Flagged") { '!' } else { ' ' },
        if has("\\Answered") { 'R' } else { ' ' },
    ]
    .iter()
    .collect();
    format!(
        "{:>7}  {}  {:16}  {:24}  {}",
        e.uid,
        flags,
        date,
        cut(&from, 24),
        e.subject.as_deref().unwrap_or("")
    )
}

/// Which UIDs `list` shows, in the order it shows them, as sets of at
/// most `chunk` messages (bounded memory when reversing).
fn pages(all: &UidSet, limit: Option<usize>, page: usize, newest: bool) -> Vec<Vec<u32>> {
    let mut uids: Vec<u32> = all.iter().collect();
    if newest {
        uids.reverse();
    }
    if let Some(n) = limit {
        let start = n.saturating_mul(page.saturating_sub(1));
        uids = uids.into_iter().skip(start).take(n).collect();
    }
    uids.chunks(500).map(<[u32]>::to_vec).collect()
}

const LIST_ATTRS: [FetchAttr; 5] = [
    FetchAttr::Uid,
    FetchAttr::Flags,
    FetchAttr::Rfc822Size,
    FetchAttr::InternalDate,
    FetchAttr::Envelope,
];

#[allow(clippy::too_many_arguments)]
/// `list`: EXAMINE, then one streamed UID FETCH of the whole mailbox, or
/// UID SEARCH and fetches of at most 500 UIDs in the order shown.
pub fn list(
    m: &mut Imap4,
    out: &Out,
    mailbox: &str,
    key: &SearchKey,
    limit: Option<usize>,
    page: usize,
    newest: bool,
) -> Result<(), Failure> {
    let selected = open_mailbox(m, mailbox, false)?;
    let mut w = BufWriter::with_capacity(1 << 16, io::stdout());
    if !out.json {
        writeln!(
            w,
            "{:>7}  FLG  {:16}  {:24}  SUBJECT",
            "UID", "DATE", "FROM"
        )
        .map_err(stdout_error)?;
    }
    let write_one = |w: &mut BufWriter<io::Stdout>, e: &EnvelopeOut| {
        if out.json {
            json_line(w, e)
        } else {
            writeln!(w, "{}", envelope_row(e))
        }
    };
    if selected.exists == 0 {
        // nothing to list (and `1:*` is an error on some servers)
    } else if *key == SearchKey::All && limit.is_none() && !newest {
        // the whole mailbox: one command, streamed
        let bar = crate::progress::messages(out, u64::from(selected.exists));
        let mut failed: Option<io::Error> = None;
        m.typed()
            .uid_fetch_each(&UidSet::all(), &LIST_ATTRS, |f| {
                if failed.is_some() {
                    return;
                }
                if let Some(e) = envelope_out(&f) {
                    bar.inc(1);
                    if let Err(x) = write_one(&mut w, &e) {
                        failed = Some(x);
                    }
                }
            })
            .map_err(|e| fail(e, Phase::Work))?;
        bar.finish_and_clear();
        if let Some(e) = failed {
            return Err(stdout_error(e));
        }
    } else {
        let all = m
            .typed()
            .uid_search(key)
            .map_err(|e| fail(e, Phase::Work))?;
        let chunks = pages(&all, limit, page, newest);
        let total: usize = chunks.iter().map(Vec::len).sum();
        let bar = crate::progress::messages(out, total as u64);
        for chunk in chunks {
            let set = UidSet::from_numbers(chunk.iter().copied());
            let mut got: Vec<EnvelopeOut> = Vec::with_capacity(chunk.len());
            m.typed()
                .uid_fetch_each(&set, &LIST_ATTRS, |f| got.extend(envelope_out(&f)))
                .map_err(|e| fail(e, Phase::Work))?;
            // in the order asked for (the server answers in its own)
            let pos: std::collections::HashMap<u32, usize> =
                chunk.iter().enumerate().map(|(i, &u)| (u, i)).collect();
            got.sort_by_key(|e| pos.get(&e.uid).copied().unwrap_or(usize::MAX));
            bar.inc(got.len() as u64);
            for e in &got {
                write_one(&mut w, e).map_err(stdout_error)?;
            }
        }
        bar.finish_and_clear();
    }
    w.flush().map_err(stdout_error)
}

// ---------------------------------------------------------------- show

/// `show --json` (to stdout: the bytes in base64; to a file: where).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ShowOut {
    /// The UID.
    pub uid: u32,
    /// The section (empty: the whole message).
    pub part: String,
    /// The number of bytes.
    pub size: u64,
    /// The file written, with --output.
    pub path: Option<String>,
    /// The bytes, base64 (standard alphabet, padded), without --output.
    pub base64: Option<String>,
    /// Whether \Seen was set (--mark-seen).
    pub marked_seen: bool,
}

fn check_section(part: &str) -> Result<String, Failure> {
    let p = part.trim().to_ascii_uppercase();
    let ok = p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    if !ok {
        return Err(Failure::new(
            Class::Usage,
            format!("bad part {part:?}: expected a section such as HEADER, TEXT, 1, 1.2 or 2.MIME"),
        ));
    }
    Ok(p)
}

/// Where `-o` writes. A regular file (new or existing) is written as a
/// temp file beside it, fsynced and renamed over it, so a failure leaves no
/// half file and the old one intact (its permissions are kept); through a
/// symlink, the file it points to is replaced and the link stays. Anything
/// else that exists (`/dev/null`, `/dev/stdout`, a FIFO) is written to
/// directly: renaming over it would replace a device with a plain file.
enum AtomicFile {
    Replace {
        tmp: PathBuf,
        path: PathBuf,
        file: Option<BufWriter<std::fs::File>>,
    },
    Direct(BufWriter<std::fs::File>),
}

impl AtomicFile {
    fn create(path: &Path) -> io::Result<AtomicFile> {
        use std::os::unix::fs::PermissionsExt;
        // through a symlink: the file it points to (or will point to)
        let path = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
                Ok(target) => target,
                Err(_) => {
                    let link = std::fs::read_link(path)?;
                    path.parent().unwrap_or(Path::new(".")).join(link)
                }
            },
            _ => path.to_path_buf(),
        };
        let existing = std::fs::metadata(&path).ok();
        if let Some(m) = &existing {
            if !m.is_file() && !m.is_dir() {
                let f = std::fs::OpenOptions::new().write(true).open(&path)?;
                return Ok(AtomicFile::Direct(BufWriter::with_capacity(1 << 16, f)));
            }
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.imap4-{}.tmp", std::process::id()));
        let file = std::fs::File::create(&tmp)?;
        if let Some(m) = existing.filter(|m| m.is_file()) {
            let mode = m.permissions().mode();
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        Ok(AtomicFile::Replace {
            tmp,
            path,
            file: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    fn commit(mut self) -> io::Result<()> {
        match &mut self {
            AtomicFile::Direct(f) => f.flush(),
            AtomicFile::Replace { tmp, path, file } => {
                if let Some(f) = file.take() {
                    let f = f.into_inner().map_err(|e| e.into_error())?;
                    f.sync_all()?;
                }
                std::fs::rename(&*tmp, &*path)
            }
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            AtomicFile::Direct(f) => f.write(buf),
            AtomicFile::Replace { file, .. } => file.as_mut().map_or(Ok(0), |f| f.write(buf)),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            AtomicFile::Direct(f) => f.flush(),
            AtomicFile::Replace { file, .. } => file.as_mut().map_or(Ok(()), |f| f.flush()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let AtomicFile::Replace {
            tmp, file: Some(_), ..
        } = self
        {
            let _ = std::fs::remove_file(&*tmp);
        }
    }
}

fn fetch_error(e: imap4::Error, uid: u32, mailbox: &str, writing_failed: bool) -> Failure {
    if let (true, imap4::Detail::Io(io)) = (writing_failed, e.detail()) {
        if io.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0); // see stdout_error
        }
        return Failure::new(Class::Local, format!("writing message {uid}: {e}"));
    }
    if e.to_string().contains("no message") || e.to_string().contains("No message") {
        return Failure::new(
            Class::MailboxNotFound,
            format!("no message with UID {uid} in {mailbox}"),
        );
    }
    fail(e, Phase::Work)
}

/// `show`/`fetch`: one streamed `UID FETCH uid (BODY.PEEK[section])`.
pub fn show(
    m: &mut Imap4,
    out: &Out,
    mailbox: &str,
    uid: u32,
    part: &str,
    output: Option<&Path>,
    mark_seen: bool,
) -> Result<(), Failure> {
    let section = check_section(part)?;
    open_mailbox(m, mailbox, mark_seen)?;
    let size;
    let mut base64 = None;
    match output {
        Some(path) => {
            let f = AtomicFile::create(path).map_err(|e| local(path.display(), e))?;
            let mut f = crate::progress::Bytes::new(out, f);
            size = m
                .typed()
                .uid_fetch_body_to(uid, &section, &mut f)
                .map_err(|e| fetch_error(e, uid, mailbox, f.failed))?;
            f.into_inner()
                .commit()
                .map_err(|e| local(path.display(), e))?;
        }
        None if out.json => {
            let mut buf = Vec::new();
            size = m
                .typed()
                .uid_fetch_body_to(uid, &section, &mut buf)
                .map_err(|e| fetch_error(e, uid, mailbox, false))?;
            use base64::Engine;
            base64 = Some(base64::engine::general_purpose::STANDARD.encode(&buf));
        }
        None => {
            let mut w = crate::progress::Bytes::new(
                &Out {
                    progress: false,
                    ..*out
                },
                BufWriter::with_capacity(1 << 16, io::stdout()),
            );
            size = m
                .typed()
                .uid_fetch_body_to(uid, &section, &mut w)
                .map_err(|e| fetch_error(e, uid, mailbox, w.failed))?;
        }
    }
    if mark_seen {
        m.typed()
            .uid_store(&UidSet::single(uid), StoreOp::Add, &["\\Seen"], true)
            .map_err(|e| fail(e, Phase::Work))?;
    }
    if out.json {
        let o = ShowOut {
            uid,
            part: section,
            size,
            path: output.map(|p| p.display().to_string()),
            base64,
            marked_seen: mark_seen,
        };
        json_line(&mut io::stdout().lock(), &o).map_err(stdout_error)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- append

/// One appended message in [`AppendOut`].
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AppendedOut {
    /// The file (`-` for stdin).
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its UID, if the server reports it (UIDPLUS).
    pub uid: Option<u32>,
    /// The mailbox's UIDVALIDITY, with `uid`.
    pub uid_validity: Option<u32>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// `append --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AppendOut {
    /// The mailbox.
    pub mailbox: String,
    /// Each message, in order.
    pub messages: Vec<AppendedOut>,
}

/// An INTERNALDATE from RFC 3339 or IMAP's own form.
pub fn internal_date(s: &str) -> Result<String, Failure> {
    use imap4::chrono::DateTime;
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.format("%d-%b-%Y %H:%M:%S %z").to_string());
    }
    if let Ok(d) = DateTime::parse_from_str(s, "%d-%b-%Y %H:%M:%S %z") {
        return Ok(d.format("%d-%b-%Y %H:%M:%S %z").to_string());
    }
    Err(Failure::new(
        Class::Usage,
        format!("bad date {s:?}: expected RFC 3339 (2026-12-01T10:00:00+01:00) or 01-Dec-2026 10:00:00 +0100"),
    ))
}

/// `append`: one APPEND per file (or stdin); a refused message does not
/// stop the others (partial failure).
pub fn append(
    m: &mut Imap4,
    out: &Out,
    mailbox: &str,
    flags: &[String],
    date: Option<&str>,
    files: &[PathBuf],
) -> Result<(), Failure> {
    let date = date.map(internal_date).transpose()?;
    let flags: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .filter(|f| !f.is_empty())
        .collect();
    let stdin_only = [PathBuf::from("-")];
    let files = if files.is_empty() {
        &stdin_only[..]
    } else {
        files
    };
    let bar = crate::progress::messages(out, files.len() as u64);
    let mut results = Vec::new();
    let mut failures = 0usize;
    for path in files {
        let name = path.display().to_string();
        let bytes = if name == "-" {
            let mut v = Vec::new();
            io::stdin().read_to_end(&mut v).map(|_| v)
        } else {
            std::fs::read(path)
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                failures += 1;
                results.push(AppendedOut {
                    file: name.clone(),
                    size: 0,
                    uid: None,
                    uid_validity: None,
                    error: Some(format!("cannot read {name}: {e}")),
                });
                continue;
            }
        };
        let size = bytes.len() as u64;
        match m.typed().append(mailbox, &flags, date.as_deref(), bytes) {
            Ok(map) => results.push(AppendedOut {
                file: name,
                size,
                uid: map.as_ref().and_then(|m| m.destination.iter().next()),
                uid_validity: map.as_ref().map(|m| m.uid_validity),
                error: None,
            }),
            Err(e) => {
                let class = imap4_class(&e);
                if class != Class::ServerNo {
                    // the connection is gone or the mailbox missing: stop
                    return Err(Failure::new(class, format!("{mailbox}: {e}")));
                }
                failures += 1;
                results.push(AppendedOut {
                    file: name,
                    size,
                    uid: None,
                    uid_validity: None,
                    error: Some(e.to_string()),
                });
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut w = io::stdout().lock();
    if out.json {
        json_line(
            &mut w,
            &AppendOut {
                mailbox: mailbox.to_string(),
                messages: results.clone(),
            },
        )
        .map_err(stdout_error)?;
    } else {
        for r in &results {
            match (&r.error, r.uid) {
                (Some(e), _) => eprintln!("imap4: {}: {e}", r.file),
                (None, Some(uid)) => writeln!(w, "{}\t{uid}", r.file).map_err(stdout_error)?,
                (None, None) => writeln!(w, "{}\t-", r.file).map_err(stdout_error)?,
            }
        }
    }
    partial(failures, results.len(), "messages could not be appended")
}

fn imap4_class(e: &imap4::Error) -> Class {
    crate::output::classify(e, Phase::Mailbox)
}

fn partial(failures: usize, total: usize, what: &str) -> Result<(), Failure> {
    match failures {
        0 => Ok(()),
        n if n == total => Err(Failure::new(Class::ServerNo, format!("all {n} {what}"))),
        n => Err(Failure::new(
            Class::Partial,
            format!("{n} of {total} {what}"),
        )),
    }
}

// ---------------------------------------------------------------- flag

/// One message in [`FlagOut`].
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FlaggedOut {
    /// The UID.
    pub uid: u32,
    /// Its flags after the change.
    pub flags: Vec<String>,
}

/// `flag --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FlagOut {
    /// The messages changed, with their flags now.
    pub messages: Vec<FlaggedOut>,
}

/// `flag`: SELECT, UID STORE; the flags after the change out.
pub fn flag(
    m: &mut Imap4,
    out: &Out,
    mailbox: &str,
    op: FlagOp,
    uids: &str,
    flags: &[String],
) -> Result<(), Failure> {
    let set = parse_uids(uids)?;
    if flags.is_empty() && op != FlagOp::Set {
        return Err(Failure::new(Class::Usage, "no flags given"));
    }
    open_mailbox(m, mailbox, true)?;
    let op = match op {
        FlagOp::Add => StoreOp::Add,
        FlagOp::Remove => StoreOp::Remove,
        FlagOp::Set => StoreOp::Replace,
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let fetches = m
        .typed()
        .uid_store(&set, op, &flags, false)
        .map_err(|e| fail(e, Phase::Work))?;
    let mut msgs = Vec::new();
    for f in fetches.iter() {
        let f = f.map_err(|e| Failure::new(Class::Protocol, e.to_string()))?;
        if let (Some(uid), Some(fl)) = (f.uid(), f.flags()) {
            msgs.push(FlaggedOut {
                uid,
                flags: fl.iter().map(|x| x.0.to_string()).collect(),
            });
        }
    }
    let mut w = io::stdout().lock();
    if out.json {
        json_line(&mut w, &FlagOut { messages: msgs }).map_err(stdout_error)
    } else {
        for f in &msgs {
            writeln!(w, "{}\t{}", f.uid, f.flags.join(" ")).map_err(stdout_error)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- mv, cp, rm

/// `mv --json` and `cp --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TransferOut {
    /// The source mailbox.
    pub mailbox: String,
    /// The destination mailbox.
    pub destination: String,
    /// The UIDs asked for.
    pub uids: String,
    /// The UIDs they have in the destination (UIDPLUS), in the same
    /// order as `source_uids`.
    pub destination_uids: Option<String>,
    /// The source UIDs the server reported copying (UIDPLUS).
    pub source_uids: Option<String>,
    /// The destination's UIDVALIDITY (UIDPLUS).
    pub uid_validity: Option<u32>,
    /// How a move was done: `move` (RFC 6851) or `copy+expunge`.
    pub method: String,
}

/// `mv` and `cp`: UID MOVE (or UID COPY + UID EXPUNGE), UID COPY.
pub fn transfer(
    m: &mut Imap4,
    out: &Out,
    mailbox: &str,
    uids: &str,
    destination: &str,
    moving: bool,
) -> Result<(), Failure> {
    let set = parse_uids(uids)?;
    open_mailbox(m, mailbox, moving)?;
    let has_move = m.typed().has_capability("MOVE");
    let has_uidplus = m.typed().has_capability("UIDPLUS");
    let dest_error = |e: imap4::Error| {
        let mut f = fail(e, Phase::Mailbox);
        f.message = format!("{destination}: {}", f.message);
        f
    };
    let (map, method) = if moving && has_move {
        (
            m.typed().uid_move(&set, destination).map_err(dest_error)?,
            "move",
        )
    } else if moving {
        if !has_uidplus {
            return Err(Failure::new(
                Class::ServerNo,
                "the server has neither MOVE nor UIDPLUS: a move would have to expunge other deleted messages too; use `cp` then `rm --expunge all`",
            ));
        }
        let map = m.typed().uid_copy(&set, destination).map_err(dest_error)?;
        m.typed()
            .uid_store(&set, StoreOp::Add, &["\\Deleted"], true)
            .map_err(|e| fail(e, Phase::Work))?;
        m.typed()
            .uid_expunge(&set)
            .map_err(|e| fail(e, Phase::Work))?;
        (map, "copy+expunge")
    } else {
        (
            m.typed().uid_copy(&set, destination).map_err(dest_error)?,
            "copy",
        )
    };
    let o = TransferOut {
        mailbox: mailbox.to_string(),
        destination: destination.to_string(),
        uids: set.to_string(),
        destination_uids: map.as_ref().map(|m| m.destination.to_string()),
        source_uids: map
            .as_ref()
            .and_then(|m| m.source.as_ref().map(|s| s.to_string())),
        uid_validity: map.as_ref().map(|m| m.uid_validity),
        method: method.to_string(),
    };
    let mut w = io::stdout().lock();
    if out.json {
        json_line(&mut w, &o).map_err(stdout_error)
    } else {
        match (&o.source_uids, &o.destination_uids) {
            (Some(s), Some(d)) => writeln!(w, "{s} -> {destination} {d}"),
            _ => writeln!(w, "{} -> {destination}", o.uids),
        }
        .map_err(stdout_error)
    }
}

/// `rm --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RmOut {
    /// The mailbox.
    pub mailbox: String,
    /// The UIDs marked \Deleted.
    pub deleted: String,
    /// What was expunged.
    pub expunge: Expunge,
    /// How many messages the server expunged.
    pub expunged: usize,
}

/// `rm`: UID STORE +FLAGS.SILENT (\\Deleted), then the expunge policy.
pub fn rm(
    m: &mut Imap4,
    out: &Out,
    mailbox: &str,
    uids: &str,
    policy: Expunge,
) -> Result<(), Failure> {
    let set = parse_uids(uids)?;
    open_mailbox(m, mailbox, true)?;
    if policy == Expunge::Uids {
        need(
            m,
            "UIDPLUS",
            "expunging only these messages (or use --expunge all|none)",
        )?;
    }
    m.typed()
        .uid_store(&set, StoreOp::Add, &["\\Deleted"], true)
        .map_err(|e| fail(e, Phase::Work))?;
    let expunged = match policy {
        Expunge::Uids => m.typed().uid_expunge(&set),
        Expunge::All => m.typed().expunge(),
        Expunge::None => Ok(Vec::new()),
    }
    .map_err(|e| fail(e, Phase::Work))?
    .len();
    let mut w = io::stdout().lock();
    if out.json {
        json_line(
            &mut w,
            &RmOut {
                mailbox: mailbox.to_string(),
                deleted: set.to_string(),
                expunge: policy,
                expunged,
            },
        )
        .map_err(stdout_error)
    } else {
        writeln!(w, "{expunged} expunged").map_err(stdout_error)
    }
}

// ---------------------------------------------------------------- mailboxes

/// `mkdir`, `rmdir` and `rename --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MailboxOpOut {
    /// `created`, `deleted` or `renamed`.
    pub done: String,
    /// The mailbox (the new name for `rename`).
    pub mailbox: String,
    /// The old name, for `rename`.
    pub from: Option<String>,
}

/// `mkdir`, `rmdir`, `rename`: CREATE, DELETE, RENAME.
pub fn mailbox_op(
    m: &mut Imap4,
    out: &Out,
    done: &str,
    name: &str,
    from: Option<&str>,
) -> Result<(), Failure> {
    let r = match (done, from) {
        ("created", _) => m.typed().create(name),
        ("deleted", _) => m.typed().delete(name),
        (_, Some(from)) => m.typed().rename(from, name),
        _ => Ok(()),
    };
    r.map_err(|e| {
        let mut f = fail(e, Phase::Mailbox);
        f.message = format!("{}: {}", from.unwrap_or(name), f.message);
        f
    })?;
    if out.json {
        json_line(
            &mut io::stdout().lock(),
            &MailboxOpOut {
                done: done.to_string(),
                mailbox: name.to_string(),
                from: from.map(String::from),
            },
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- raw

/// One command of `raw --json` (one JSON object per line).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RawOut {
    /// The command as given.
    pub command: String,
    /// `OK`, `NO` or `BAD` (or `error` if it could not be sent).
    pub status: String,
    /// The lines sent (`C: ` stripped; passwords redacted).
    pub sent: Vec<String>,
    /// The lines the server answered with, its tagged completion last.
    pub received: Vec<String>,
    /// What went wrong, if it did.
    pub error: Option<String>,
}

/// Splits a raw command line at the spaces outside quotes, parentheses
/// and brackets: `FETCH 1 (FLAGS BODY[HEADER.FIELDS (FROM)])` is three
/// words. Each word goes out as it is when it is an atom or wrapped in
/// parentheses or quotes, else quoted (the library's imaplib rules), so
/// nothing typed can end the line early.
pub fn raw_words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    let mut start = None;
    for (i, c) in line.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            ' ' if depth <= 0 => {
                if let Some(s) = start.take() {
                    words.push(&line[s..i]);
                }
                continue;
            }
            '"' => quoted = true,
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        words.push(&line[s..]);
    }
    words
}

/// `raw`: each line of `commands` (or stdin) as one tagged command.
pub fn raw(m: &mut Imap4, out: &Out, commands: &[String]) -> Result<(), Failure> {
    let interactive = commands.is_empty() && std::io::IsTerminal::is_terminal(&io::stdin());
    let mut lines: Box<dyn Iterator<Item = io::Result<String>>> = if commands.is_empty() {
        Box::new(io::stdin().lines())
    } else {
        Box::new(commands.iter().cloned().map(Ok))
    };
    let mut failures = 0usize;
    let mut count = 0usize;
    loop {
        if interactive {
            eprint!("imap4> ");
            let _ = io::stderr().flush();
        }
        let Some(line) = lines.next() else { break };
        let line = line.map_err(|e| local("reading stdin", e))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        count += 1;
        let words = raw_words(line);
        let name = words.first().copied().unwrap_or("");
        let args = &words[1..];
        let capture = trace::capture();
        // the commands that change the connection's state go through
        // their own methods, so the session knows the state
        let r = match (name.to_ascii_uppercase().as_str(), args) {
            ("SELECT", [mailbox]) => m.select(mailbox, false),
            ("EXAMINE", [mailbox]) => m.select(mailbox, true),
            ("CLOSE", []) => m.close(),
            ("UNSELECT", []) => m.unselect(),
            ("LOGOUT", []) => m.logout(),
            _ => m.xatom(name, args),
        };
        let (sent, received) = capture.take();
        let (status, error) = match &r {
            Ok(resp) => (resp.typ.to_string(), None),
            Err(e) => match e.server_status() {
                Some(s) => (s.to_string(), None),
                None => ("error".to_string(), Some(e.to_string())),
            },
        };
        if status != "OK" {
            failures += 1;
        }
        let mut w = io::stdout().lock();
        if out.json {
            json_line(
                &mut w,
                &RawOut {
                    command: line.to_string(),
                    status,
                    sent,
                    received,
                    error: error.clone(),
                },
            )
            .map_err(stdout_error)?;
        } else {
            for s in &sent {
                writeln!(w, "C: {s}").map_err(stdout_error)?;
            }
            for s in &received {
                writeln!(w, "S: {s}").map_err(stdout_error)?;
            }
            if let Some(e) = &error {
                writeln!(w, "imap4: {e}").map_err(stdout_error)?;
            }
        }
        w.flush().map_err(stdout_error)?;
        if let Err(e) = r {
            if !e.is_error() {
                // the connection is gone
                return Err(fail(e, Phase::Work));
            }
        }
        if name.eq_ignore_ascii_case("LOGOUT") {
            break;
        }
    }
    if failures > 0 && !interactive {
        return partial(failures, count, "commands did not end in OK");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_lines_split_outside_lists_and_quotes() {
        assert_eq!(raw_words("NOOP"), ["NOOP"]);
        assert_eq!(
            raw_words("STATUS INBOX (MESSAGES UNSEEN)"),
            ["STATUS", "INBOX", "(MESSAGES UNSEEN)"]
        );
        assert_eq!(
            raw_words(r#"SEARCH SUBJECT "a \" b" FROM x"#),
            ["SEARCH", "SUBJECT", r#""a \" b""#, "FROM", "x"]
        );
        assert_eq!(
            raw_words("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)])"),
            [
                "UID",
                "FETCH",
                "1:*",
                "(FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)])"
            ]
        );
        assert_eq!(raw_words("  LIST  \"\" *  "), ["LIST", "\"\"", "*"]);
    }

    #[test]
    fn list_pages() {
        let all: UidSet = "1:10".parse().unwrap();
        assert_eq!(pages(&all, Some(3), 1, true), vec![vec![10, 9, 8]]);
        assert_eq!(pages(&all, Some(3), 4, true), vec![vec![1]]);
        assert_eq!(pages(&all, Some(3), 2, false), vec![vec![4, 5, 6]]);
        assert!(pages(&all, Some(3), 5, false).is_empty());
        let big: UidSet = "1:1200".parse().unwrap();
        let p = pages(&big, None, 1, true);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0][0], 1200);
    }

    #[test]
    fn sections_and_dates() {
        assert_eq!(check_section("header").unwrap(), "HEADER");
        assert_eq!(check_section("1.2.mime").unwrap(), "1.2.MIME");
        assert!(check_section("HEADER.FIELDS (FROM)").is_err());
        assert!(check_section("1]\r\nX").is_err());
        assert_eq!(
            internal_date("2026-12-01T10:00:00+01:00").unwrap(),
            "01-Dec-2026 10:00:00 +0100"
        );
        assert_eq!(
            internal_date("01-Dec-2026 10:00:00 +0100").unwrap(),
            "01-Dec-2026 10:00:00 +0100"
        );
        assert!(internal_date("yesterday").is_err());
    }
}
