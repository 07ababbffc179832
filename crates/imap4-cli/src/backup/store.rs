//! Where `imap4 backup` puts messages: a Maildir per folder, an mbox file
//! per folder (mboxrd), or one `.eml` file per message.
//!
//! Every message is written to a temporary file first (its bytes exactly
//! as the server sent them, hashed on the way) and only then moved into
//! place, so a store never holds half a message under its final name.
//!
//! Names on disk:
//!
//! - A folder's path is its name split at the hierarchy delimiter, each
//!   part escaped: `%` as `%25`, `/` as `%2F`, NUL as `%00`; a part that is
//!   empty, starts with `.`, is `cur`, `new` or `tmp` (Maildir's own
//!   directories) or ends with `.eml` or `.mbox` has its first character
//!   (or the dot) escaped, so no folder can collide with a store's files.
//! - Maildir: `FOLDER/cur/UIDVALIDITY_UID.imap4:2,FLAGS` (flags as Maildir
//!   letters: D draft, F flagged, R answered, S seen, T deleted).
//! - eml: `FOLDER/UIDVALIDITY_UID.eml`.
//! - mbox: `FOLDER.mbox`, mboxrd: each message is a `From imap4 DATE`
//!   line, the message with every line matching `^>*From ` given one more
//!   `>`, then one LF. A reader gets the bytes back exactly by dropping the
//!   separator line and that last LF and removing one `>` from every line
//!   matching `^>+From `.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How messages are stored.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A Maildir per folder; flags mirrored in the file names.
    Maildir,
    /// One mbox file per folder (mboxrd escaping, reversible); flags only
    /// in the state database.
    Mbox,
    /// One `.eml` file per message; flags only in the state database.
    Eml,
}

impl Format {
    /// The name, as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Maildir => "maildir",
            Format::Mbox => "mbox",
            Format::Eml => "eml",
        }
    }
}

/// The directory for temporary files of the eml and mbox stores.
const TMP_DIR: &str = ".imap4-tmp";

/// Escapes one part of a folder name for the file system.
fn escape_part(part: &str) -> String {
    let mut s = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '%' => s.push_str("%25"),
            '/' => s.push_str("%2F"),
            '\0' => s.push_str("%00"),
            c => s.push(c),
        }
    }
    let reserved = matches!(s.as_str(), "cur" | "new" | "tmp");
    if s.is_empty() {
        s.push('%');
    } else if s.starts_with('.') {
        s.replace_range(0..1, "%2E");
    } else if reserved {
        let first = s.as_bytes()[0];
        s.replace_range(0..1, &format!("%{first:02X}"));
    } else if let Some(stem) = s.strip_suffix(".eml").or_else(|| s.strip_suffix(".mbox")) {
        let ext = &s[stem.len() + 1..];
        s = format!("{stem}%2E{ext}");
    }
    s
}

/// The store's path of folder `name` (relative to the backup's root),
/// its parts split at `delimiter`.
pub fn folder_path(name: &str, delimiter: Option<char>, format: Format) -> String {
    let parts: Vec<String> = match delimiter {
        Some(d) => name.split(d).map(escape_part).collect(),
        None => vec![escape_part(name)],
    };
    let mut p = parts.join("/");
    if format == Format::Mbox {
        p.push_str(".mbox");
    }
    p
}

/// The Maildir letters of IMAP flags, in ASCII order.
pub fn maildir_letters(flags: &[String]) -> String {
    let mut letters: Vec<char> = flags
        .iter()
        .filter_map(|f| match f.to_ascii_lowercase().as_str() {
            "\\draft" => Some('D'),
            "\\flagged" => Some('F'),
            "\\answered" => Some('R'),
            "\\seen" => Some('S'),
            "\\deleted" => Some('T'),
            _ => None,
        })
        .collect();
    letters.sort_unstable();
    letters.dedup();
    letters.into_iter().collect()
}

/// mboxrd escaping, fed in pieces: every line matching `^>*From ` gets one
/// more `>`.
#[derive(Debug)]
struct Escaper {
    line_start: bool,
    /// Bytes at a line start that may still become `>*From `.
    pending: Vec<u8>,
}

impl Escaper {
    fn new() -> Self {
        Escaper {
            line_start: true,
            pending: Vec::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        const FROM: &[u8] = b"From ";
        while !data.is_empty() {
            if self.line_start {
                let mut i = 0;
                let mut decided = false;
                while i < data.len() {
                    let b = data[i];
                    let gts = self.pending.iter().take_while(|&&c| c == b'>').count();
                    let matched = self.pending.len() - gts;
                    if matched == 0 && b == b'>' {
                        self.pending.push(b);
                        i += 1;
                    } else if b == FROM[matched] {
                        self.pending.push(b);
                        i += 1;
                        if matched + 1 == FROM.len() {
                            out.push(b'>');
                            out.append(&mut self.pending);
                            decided = true;
                            break;
                        }
                    } else {
                        out.append(&mut self.pending);
                        decided = true;
                        break;
                    }
                }
                data = &data[i..];
                if !decided {
                    return; // the rest may still match
                }
                self.line_start = false;
            }
            match data.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    out.extend_from_slice(&data[..=nl]);
                    data = &data[nl + 1..];
                    self.line_start = true;
                }
                None => {
                    out.extend_from_slice(data);
                    data = &[];
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.pending);
    }
}

/// Undoes the mbox store's escaping of one message (the bytes between
/// its `From ` line and the separator LF).
pub fn mboxrd_unescape(escaped: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(escaped.len());
    for line in escaped.split_inclusive(|&b| b == b'\n') {
        let gts = line.iter().take_while(|&&c| c == b'>').count();
        if gts > 0 && line[gts..].starts_with(b"From ") {
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Splits an mbox file written by this store into its messages, unescaped.
#[cfg(test)]
pub fn mbox_messages(mbox: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < mbox.len() {
        if mbox[at..].starts_with(b"From ") && (at == 0 || mbox[at - 1] == b'\n') {
            starts.push(at);
        }
        match mbox[at..].iter().position(|&b| b == b'\n') {
            Some(nl) => at += nl + 1,
            None => break,
        }
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(mbox.len());
        let body_start = s + mbox[s..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        // the separator LF before the next message (or the end)
        let body_end = end.saturating_sub(1).max(body_start);
        out.push(mboxrd_unescape(&mbox[body_start..body_end]));
    }
    out
}

/// The bytes of a message stored in this backup (under `root`, in
/// `format`), as the server sent them: a Maildir or `.eml` file whole, or
/// the message at `offset` of an mbox, unescaped; `size` is the size the
/// state recorded (an mbox message ends there). The caller checks the
/// SHA-256.
pub fn read_stored(
    root: &Path,
    format: Format,
    path: &str,
    offset: Option<u64>,
    size: u64,
) -> io::Result<Vec<u8>> {
    let file = root.join(path);
    let Format::Mbox = format else {
        return fs::read(file);
    };
    use std::io::{BufRead, BufReader, Read};
    let mut f = File::open(file)?;
    f.seek(SeekFrom::Start(offset.unwrap_or(0)))?;
    let mut r = BufReader::new(f);
    let mut line = Vec::new();
    // the `From ` line
    r.read_until(b'\n', &mut line)?;
    if !line.starts_with(b"From ") {
        return Err(io::Error::other(format!(
            "{path}: no message at {offset:?}"
        )));
    }
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(64 << 20));
    // escaped lines are one byte longer: read until `size` bytes are out
    while (out.len() as u64) < size {
        line.clear();
        if (&mut r).take(size + 1).read_until(b'\n', &mut line)? == 0 {
            break;
        }
        out.extend_from_slice(&mboxrd_unescape(&line));
    }
    out.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    Ok(out)
}

/// The most header bytes kept to find the Message-ID in.
const HEADER_CAP: usize = 64 * 1024;

/// A message being received: its temporary file, hash and size, and the
/// start of its header (for the Message-ID).
pub struct Incoming {
    file: File,
    tmp: PathBuf,
    hasher: Sha256,
    size: u64,
    header: Vec<u8>,
    header_done: bool,
    escaper: Option<Escaper>,
    scratch: Vec<u8>,
}

impl Incoming {
    /// Takes the next bytes of the message.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.hasher.update(data);
        self.size += data.len() as u64;
        if !self.header_done {
            let from = self.header.len().saturating_sub(3);
            let room = HEADER_CAP - self.header.len();
            self.header.extend_from_slice(&data[..data.len().min(room)]);
            if let Some(end) = header_end_from(&self.header, from) {
                self.header.truncate(end);
                self.header_done = true;
            } else if self.header.len() >= HEADER_CAP {
                self.header_done = true;
            }
        }
        match &mut self.escaper {
            Some(e) => {
                self.scratch.clear();
                e.feed(data, &mut self.scratch);
                self.file.write_all(&self.scratch)
            }
            None => self.file.write_all(data),
        }
    }
}

/// Where the header ends (the blank line: LF, optional CR, LF), if it does
/// in `bytes`, looking at line ends from `from` on.
fn header_end_from(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') {
        let i = at + nl;
        match bytes.get(i + 1) {
            Some(b'\n') => return Some(i + 1),
            Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => return Some(i + 1),
            _ => at = i + 1,
        }
    }
    None
}

/// The Message-ID in a message's header (or a `HEADER.FIELDS
/// (MESSAGE-ID)` fetch), unfolded and trimmed.
pub fn message_id(header: &[u8]) -> Option<String> {
    let header = &header[..header_end_from(header, 0).unwrap_or(header.len())];
    let text = String::from_utf8_lossy(header);
    let mut lines = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut v = value.trim().to_string();
        while let Some(next) = lines.peek() {
            if next.starts_with([' ', '\t']) {
                v.push_str(next.trim());
                lines.next();
            } else {
                break;
            }
        }
        return (!v.is_empty()).then_some(v);
    }
    None
}

/// Whether a file name is one this store gives messages
/// (`UIDVALIDITY_UID.imap4:2,FLAGS` or `UIDVALIDITY_UID.eml`): only those
/// are ever removed.
fn is_ours(name: &str, format: Format) -> bool {
    parse_name(name, format).is_some()
}

/// The (UIDVALIDITY, UID) a message file of ours is named after.
fn parse_name(name: &str, format: Format) -> Option<(u32, u32)> {
    let base = match format {
        Format::Maildir => name.split_once(".imap4:2,").map(|(b, _)| b),
        Format::Eml => name.strip_suffix(".eml"),
        Format::Mbox => None,
    }?;
    let (uv, uid) = base.split_once('_')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !(digits(uv) && digits(uid)) {
        return None;
    }
    Some((uv.parse().ok()?, uid.parse().ok()?))
}

/// A stored message, as the state records it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The path, relative to the backup's root.
    pub path: String,
    /// Where it starts in an mbox.
    pub offset: Option<u64>,
    /// Its size in bytes (as the server sent it).
    pub size: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// Its Message-ID.
    pub message_id: Option<String>,
}

/// One folder's store.
pub struct FolderStore {
    root: PathBuf,
    rel: String,
    format: Format,
    /// The mbox file, its length.
    mbox: Option<(File, u64)>,
    seq: u64,
}

impl FolderStore {
    /// Opens (creating) folder `rel`'s store under `root`; for an mbox,
    /// cut back to `mbox_length`, the length the state recorded (what an
    /// interrupted run appended after it is dropped).
    pub fn open(root: &Path, rel: &str, format: Format, mbox_length: u64) -> io::Result<Self> {
        let dir = root.join(rel);
        let mut mbox = None;
        match format {
            Format::Maildir => {
                for sub in ["cur", "new", "tmp"] {
                    fs::create_dir_all(dir.join(sub))?;
                }
            }
            Format::Eml => {
                fs::create_dir_all(&dir)?;
                fs::create_dir_all(root.join(TMP_DIR))?;
            }
            Format::Mbox => {
                if let Some(parent) = dir.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::create_dir_all(root.join(TMP_DIR))?;
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&dir)?;
                if f.metadata()?.len() != mbox_length {
                    f.set_len(mbox_length)?;
                }
                mbox = Some((f, mbox_length));
            }
        }
        Ok(FolderStore {
            root: root.to_path_buf(),
            rel: rel.to_string(),
            format,
            mbox,
            seq: 0,
        })
    }

    /// The mbox's length (0 for other formats).
    pub fn mbox_length(&self) -> u64 {
        self.mbox.as_ref().map_or(0, |m| m.1)
    }

    fn tmp_dir(&self) -> PathBuf {
        match self.format {
            Format::Maildir => self.root.join(&self.rel).join("tmp"),
            _ => self.root.join(TMP_DIR),
        }
    }

    /// Starts receiving a message.
    pub fn begin(&mut self) -> io::Result<Incoming> {
        self.seq += 1;
        let tmp = self
            .tmp_dir()
            .join(format!("{}_{}.imap4", std::process::id(), self.seq));
        // read back for an mbox
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        Ok(Incoming {
            file,
            tmp,
            hasher: Sha256::new(),
            size: 0,
            header: Vec::new(),
            header_done: false,
            escaper: (self.format == Format::Mbox).then(Escaper::new),
            scratch: Vec::new(),
        })
    }

    /// Moves a received message into place as `uid_validity`/`uid` with
    /// `flags`; `from_line_date` is the date of an mbox `From ` line.
    pub fn finish(
        &mut self,
        mut inc: Incoming,
        uid_validity: u32,
        uid: u32,
        flags: &[String],
        from_line_date: &str,
    ) -> io::Result<Stored> {
        if let Some(e) = &mut inc.escaper {
            let mut rest = Vec::new();
            e.finish(&mut rest);
            inc.file.write_all(&rest)?;
        }
        let sha256: [u8; 32] = inc.hasher.finalize().into();
        let message_id = message_id(&inc.header);
        let (path, offset) = match self.format {
            Format::Maildir => {
                let rel = format!(
                    "{}/cur/{uid_validity}_{uid}.imap4:2,{}",
                    self.rel,
                    maildir_letters(flags)
                );
                drop(inc.file);
                fs::rename(&inc.tmp, self.root.join(&rel))?;
                (rel, None)
            }
            Format::Eml => {
                let rel = format!("{}/{uid_validity}_{uid}.eml", self.rel);
                drop(inc.file);
                fs::rename(&inc.tmp, self.root.join(&rel))?;
                (rel, None)
            }
            Format::Mbox => {
                let Some((mbox, len)) = &mut self.mbox else {
                    return Err(io::Error::other("mbox not open"));
                };
                let start = *len;
                mbox.seek(SeekFrom::Start(start))?;
                let from = format!("From imap4 {from_line_date}\n");
                mbox.write_all(from.as_bytes())?;
                inc.file.seek(SeekFrom::Start(0))?;
                let copied = io::copy(&mut inc.file, mbox)?;
                mbox.write_all(b"\n")?;
                *len = start + from.len() as u64 + copied + 1;
                drop(inc.file);
                fs::remove_file(&inc.tmp)?;
                (self.rel.clone(), Some(start))
            }
        };
        Ok(Stored {
            path,
            offset,
            size: inc.size,
            sha256,
            message_id,
        })
    }

    /// Gives a stored message new flags: a Maildir file is renamed (its
    /// new path returned); other formats keep flags in the state only.
    pub fn set_flags(&self, path: &str, flags: &[String]) -> io::Result<Option<String>> {
        if self.format != Format::Maildir {
            return Ok(None);
        }
        let base = path.rsplit_once(":2,").map_or(path, |(b, _)| b);
        let new = format!("{base}:2,{}", maildir_letters(flags));
        if new == path {
            return Ok(None);
        }
        match fs::rename(self.root.join(path), self.root.join(&new)) {
            Ok(()) => Ok(Some(new)),
            // gone locally (deleted by the user): nothing to rename
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// After an interrupted run: removes temporary files and every message
    /// file of ours that the state does not know (`known`: paths relative
    /// to the root), so what was not committed is fetched again rather
    /// than kept twice. Returns how many files were removed.
    pub fn recover(&self, known: &HashSet<String>) -> io::Result<usize> {
        let mut removed = 0;
        let tmp = self.tmp_dir();
        if let Ok(entries) = fs::read_dir(&tmp) {
            let pid = format!("{}_", std::process::id());
            for e in entries {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                // another run's leftovers (a concurrent run is excluded by
                // the state database's lock)
                if name.ends_with(".imap4") && !name.starts_with(&pid) {
                    fs::remove_file(e.path())?;
                    removed += 1;
                }
            }
        }
        let dirs: Vec<(PathBuf, String)> = match self.format {
            Format::Maildir => ["cur", "new"]
                .iter()
                .map(|d| {
                    (
                        self.root.join(&self.rel).join(d),
                        format!("{}/{d}/", self.rel),
                    )
                })
                .collect(),
            Format::Eml => vec![(self.root.join(&self.rel), format!("{}/", self.rel))],
            Format::Mbox => Vec::new(),
        };
        for (dir, prefix) in dirs {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                let ours = is_ours(&name, self.format);
                if ours && !known.contains(&format!("{prefix}{name}")) {
                    fs::remove_file(e.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// The message files of ours in the folder's store (Maildir `cur` and
    /// `new`, or the `.eml` files): (path relative to the root,
    /// UIDVALIDITY, UID). An mbox names no UIDs: none.
    pub fn local_messages(&self) -> io::Result<Vec<(String, u32, u32)>> {
        let dirs: Vec<String> = match self.format {
            Format::Maildir => vec![format!("{}/cur", self.rel), format!("{}/new", self.rel)],
            Format::Eml => vec![self.rel.clone()],
            Format::Mbox => Vec::new(),
        };
        let mut out = Vec::new();
        for rel in dirs {
            let Ok(entries) = fs::read_dir(self.root.join(&rel)) else {
                continue;
            };
            for e in entries {
                let name = e?.file_name().to_string_lossy().into_owned();
                if let Some((uv, uid)) = parse_name(&name, self.format) {
                    out.push((format!("{rel}/{name}"), uv, uid));
                }
            }
        }
        out.sort_by_key(|(_, uv, uid)| (*uv, *uid));
        Ok(out)
    }

    /// What the state records of a stored file: its size, SHA-256 and
    /// Message-ID, read from the disk.
    pub fn describe(&self, rel: &str) -> io::Result<Stored> {
        let bytes = fs::read(self.root.join(rel))?;
        Ok(Stored {
            path: rel.to_string(),
            offset: None,
            size: bytes.len() as u64,
            sha256: Sha256::digest(&bytes).into(),
            message_id: message_id(&bytes),
        })
    }

    /// Makes everything written so far durable: one `syncfs` of the file
    /// system holding the store (the files, their names and the
    /// directories), instead of an fsync per message.
    pub fn sync(&self) -> io::Result<()> {
        let dir = File::open(&self.root)?;
        rustix::fs::syncfs(&dir).map_err(io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(data: &[u8], piece: usize) -> Vec<u8> {
        let mut e = Escaper::new();
        let mut out = Vec::new();
        for c in data.chunks(piece.max(1)) {
            e.feed(c, &mut out);
        }
        e.finish(&mut out);
        out
    }

    #[test]
    fn mboxrd_escapes_from_lines_in_any_pieces_and_round_trips() {
        let msg = b"From: a\r\nSubject: x\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\nFro\r\n>Fr\r\nnot From \r\nFrom";
        let want = b"From: a\r\nSubject: x\r\n\r\n>From here\r\n>>From there\r\n>>>From x\r\nFro\r\n>Fr\r\nnot From \r\nFrom";
        for piece in [1, 2, 3, 5, 7, 64] {
            let got = escape(msg, piece);
            assert_eq!(got, want, "piece {piece}");
            assert_eq!(mboxrd_unescape(&got), msg);
        }
        // a trailing "From " at the very end is escaped too
        assert_eq!(escape(b"x\nFrom ", 1), b"x\n>From ");
    }

    #[test]
    fn mbox_messages_split_and_unescape() {
        let mut mbox = Vec::new();
        let msgs: [&[u8]; 3] = [b"A: 1\r\n\r\nFrom x\r\n", b"B: 2\r\n\r\nno newline", b""];
        for m in msgs {
            mbox.extend_from_slice(b"From imap4 Thu Jan  1 00:00:00 1970\n");
            mbox.extend_from_slice(&escape(m, 4));
            mbox.push(b'\n');
        }
        assert_eq!(mbox_messages(&mbox), msgs.map(|m| m.to_vec()).to_vec());
    }

    #[test]
    fn folder_names_cannot_escape_or_collide() {
        let p = |n: &str| folder_path(n, Some('/'), Format::Maildir);
        assert_eq!(p("INBOX"), "INBOX");
        assert_eq!(p("Lists/dev"), "Lists/dev");
        assert_eq!(p("../etc"), "%2E./etc");
        assert_eq!(p("a/cur"), "a/%63ur");
        assert_eq!(p("a//b"), "a/%/b");
        assert_eq!(p("100%"), "100%25");
        assert_eq!(p("x.eml"), "x%2Eeml");
        assert_eq!(
            folder_path("a/b.c", Some('.'), Format::Mbox),
            "a%2Fb/c.mbox"
        );
        assert_eq!(folder_path(".hidden", None, Format::Eml), "%2Ehidden");
    }

    #[test]
    fn only_our_own_file_names_are_ever_removed() {
        assert!(is_ours("17_42.imap4:2,FS", Format::Maildir));
        assert!(is_ours("17_42.eml", Format::Eml));
        assert!(!is_ours("notes.eml", Format::Eml));
        assert!(!is_ours("1672561720.M0P8.host:2,S", Format::Maildir));
        assert!(!is_ours("17_42.eml", Format::Maildir));
        assert!(!is_ours("_42.eml", Format::Eml));
    }

    #[test]
    fn maildir_letters_are_sorted_and_known_only() {
        let f = |v: &[&str]| maildir_letters(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(f(&["\\Seen", "\\Flagged", "$Junk", "\\Answered"]), "FRS");
        assert_eq!(f(&["\\Deleted", "\\Draft", "\\seen"]), "DST");
        assert_eq!(f(&[]), "");
    }

    #[test]
    fn message_id_is_found_unfolded() {
        let h = b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\n\r\nMessage-ID: <body@x>\r\n";
        assert_eq!(message_id(h).as_deref(), Some("<a@b>"));
        assert_eq!(
            message_id(b"message-id: <c@d>\r\n\r\n").as_deref(),
            Some("<c@d>")
        );
        assert_eq!(message_id(b"Subject: y\r\n\r\nMessage-ID: <no>\r\n"), None);
    }
}
