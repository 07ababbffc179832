//! Writing generated messages straight into a Dovecot Maildir++ tree.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use crate::generate;

/// Ownership to give created files and directories (`None`: leave as is).
pub(crate) type Owner = Option<(u32, u32)>;

/// The directory of `mailbox` below the user's `Maildir` root:
/// `INBOX` is the root itself, `a/b` is `.a.b` (names in modified UTF-7).
pub(crate) fn mailbox_dir(maildir: &Path, mailbox: &str) -> io::Result<PathBuf> {
    if mailbox.eq_ignore_ascii_case("INBOX") {
        return Ok(maildir.to_path_buf());
    }
    let invalid = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("mailbox name {mailbox:?}: {why}"),
        )
    };
    let mut name = String::new();
    for part in mailbox.split('/') {
        if part.is_empty() {
            return Err(invalid("empty hierarchy level"));
        }
        if part.contains('.') || part.chars().any(char::is_control) {
            return Err(invalid("'.' and control characters are not allowed"));
        }
        name.push('.');
        name.push_str(&utf7_imap(part));
    }
    Ok(maildir.join(name))
}

/// RFC 3501 modified UTF-7, as Dovecot stores mailbox names on disk.
fn utf7_imap(s: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            let k = c.len() + 1; // output characters for this chunk, no padding
            for i in 0..k {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

fn mkdir_owned(dir: &Path, owner: Owner) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match fs::create_dir(dir) {
        Ok(()) => {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates `Maildir` (and the mailbox folder with its `maildirfolder` marker)
/// with `cur`, `new`, `tmp`, owned by `owner`.
fn create_mailbox(home: &Path, mailbox: &str, owner: Owner) -> io::Result<PathBuf> {
    let maildir = home.join("Maildir");
    mkdir_owned(home, owner)?;
    mkdir_owned(&maildir, owner)?;
    let dir = mailbox_dir(&maildir, mailbox)?;
    mkdir_owned(&dir, owner)?;
    for sub in ["cur", "new", "tmp"] {
        mkdir_owned(&dir.join(sub), owner)?;
    }
    if dir != maildir {
        let marker = dir.join("maildirfolder");
        if !marker.exists() {
            File::create(&marker)?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&marker, Some(uid), Some(gid))?;
            }
        }
    }
    Ok(dir)
}

/// Writes messages `0..count` of `seed` into `<home>/Maildir[/.<mailbox>]/cur`.
///
/// File names are `<ts>.M<n>P<pid>Q<i>.gen,S=<size>,W=<crlf size>[:2,<flags>]`
/// where `<ts>` is the `Date:` time and `<n>` a per-process counter, so Dovecot
/// (which sorts files it has not seen yet by that time) numbers them in index
/// order and repeated fills never overwrite each other. Files are written in
/// `tmp/` and renamed into `cur/` (by several threads: if a client looks at
/// the mailbox during the fill, UIDs may come out of index order).
pub(crate) fn fill(
    home: &Path,
    mailbox: &str,
    count: usize,
    seed: u64,
    owner: Owner,
) -> io::Result<()> {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let dir = create_mailbox(home, mailbox, owner)?;
    let first_serial = SERIAL.fetch_add(count as u64, Ordering::Relaxed);
    let pid = std::process::id();
    let next = AtomicUsize::new(0);
    let error: Mutex<Option<io::Error>> = Mutex::new(None);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4)
        .min(count.max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let serial = first_serial + i as u64;
                if let Err(e) = write_one(&dir, seed, i, serial, pid, owner) {
                    next.store(count, Ordering::Relaxed);
                    if let Ok(mut slot) = error.lock() {
                        slot.get_or_insert(e);
                    }
                    return;
                }
            });
        }
    });
    match error.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

fn write_one(
    dir: &Path,
    seed: u64,
    i: usize,
    serial: u64,
    pid: u32,
    owner: Owner,
) -> io::Result<()> {
    let m = generate::generate(seed, i);
    let mut name = format!(
        "{ts}.M{serial}P{pid}Q{i}.gen,S={size},W={vsize}",
        ts = m.unix_time,
        size = m.bytes.len(),
        vsize = m.crlf_len(),
    );
    // No `:2,` without flags: Dovecot 2.3 keeps file names without their
    // `:2,...` part in dovecot-uidlist and opens `cur/<that name>` first, so
    // in each session the first open of a message whose name has one misses
    // (ENOENT) and rescans all of cur/ (20 ms at 10,000 messages). A flagless
    // message named without it is found at once; flagged ones still pay the
    // rescan, as in any Dovecot 2.3 Maildir.
    if !m.maildir_flags.is_empty() {
        name.push_str(":2,");
        name.push_str(&m.maildir_flags);
    }
    // the Maildir way: complete the file in tmp/, then move it into cur/, so
    // a running Dovecot never sees a half-written file or a wrong mtime
    let tmp = dir.join("tmp").join(&name);
    let mut f = File::create(&tmp)?;
    f.write_all(&m.bytes)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
    }
    let mtime = UNIX_EPOCH + Duration::from_secs(m.unix_time.max(0) as u64);
    f.set_times(fs::FileTimes::new().set_modified(mtime).set_accessed(mtime))?;
    drop(f);
    fs::rename(&tmp, dir.join("cur").join(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names() {
        let root = Path::new("/m");
        assert_eq!(mailbox_dir(root, "INBOX").unwrap(), root);
        assert_eq!(mailbox_dir(root, "inbox").unwrap(), root);
        assert_eq!(mailbox_dir(root, "a/b").unwrap(), Path::new("/m/.a.b"));
        assert_eq!(mailbox_dir(root, "Sent").unwrap(), Path::new("/m/.Sent"));
        assert!(mailbox_dir(root, "a.b").is_err());
        assert!(mailbox_dir(root, "a//b").is_err());
        assert_eq!(utf7_imap("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(utf7_imap("A&B"), "A&-B");
        assert_eq!(utf7_imap("台北"), "&U,BTFw-");
        assert_eq!(utf7_imap("~peter/mail/日本語"), "~peter/mail/&ZeVnLIqe-");
    }
}
