//! Small operating-system helpers built on std and the usual command-line
//! tools (`id`, `kill`), so the crate needs neither libc nor `unsafe`.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Who runs what, decided once per process.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    /// The test process runs as uid 0.
    pub root: bool,
    /// Owner of mail files (`dovecot` as root, else the invoking user).
    pub mail_uid: u32,
    pub mail_gid: u32,
    /// `default_internal_user` / `default_internal_group`.
    pub internal_user: String,
    pub internal_group: String,
    /// `default_login_user`.
    pub login_user: String,
}

fn id(args: &[&str]) -> io::Result<String> {
    let out = Command::new("id").args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "`id {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn id_num(args: &[&str]) -> io::Result<u32> {
    let s = id(args)?;
    s.parse()
        .map_err(|_| io::Error::other(format!("`id {}` printed {s:?}", args.join(" "))))
}

fn load_ids() -> io::Result<Ids> {
    if id_num(&["-u"])? == 0 {
        // Debian's dovecot package users: login as dovenull, the rest as dovecot.
        let user = "dovecot";
        Ok(Ids {
            root: true,
            mail_uid: id_num(&["-u", user])?,
            mail_gid: id_num(&["-g", user])?,
            internal_user: user.to_string(),
            internal_group: id(&["-gn", user])?,
            login_user: "dovenull".to_string(),
        })
    } else {
        let user = id(&["-un"])?;
        Ok(Ids {
            root: false,
            mail_uid: id_num(&["-u"])?,
            mail_gid: id_num(&["-g"])?,
            internal_group: id(&["-gn"])?,
            login_user: user.clone(),
            internal_user: user,
        })
    }
}

/// The process-wide [`Ids`].
pub(crate) fn ids() -> io::Result<&'static Ids> {
    static IDS: OnceLock<Result<Ids, String>> = OnceLock::new();
    IDS.get_or_init(|| load_ids().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))
}

/// Creates a fresh, uniquely named directory (mode 0755) under the system temp
/// dir. Unix socket paths are limited to 108 bytes and Dovecot puts its
/// sockets below this dir, so a very long `$TMPDIR` is replaced by `/tmp`.
pub(crate) fn make_temp_dir(prefix: &str) -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut base = std::env::temp_dir();
    if base.as_os_str().len() > 60 {
        base = PathBuf::from("/tmp");
    }
    let pid = std::process::id();
    for _ in 0..1000 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("{prefix}-{pid}-{n}-{:04x}", nanos & 0xffff));
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not create a unique temp dir"))
}

/// Removes a directory tree, retrying briefly while exiting processes still
/// write into it.
pub(crate) fn remove_dir_retry(dir: &Path) {
    for _ in 0..20 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Sends `signal` (e.g. "TERM") to a process, or to a process group when
/// `target` is negative. Errors (no such process) are ignored.
pub(crate) fn signal(target: i64, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(target.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// SIGKILLs every process whose working directory is `dir` or below it
/// (server helpers that left their process group). Reads `/proc`.
pub(crate) fn kill_processes_in(dir: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id().to_string();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str() else { continue };
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) {
            match pid.parse::<i64>() {
                Ok(n) if n > 1 && cwd.starts_with(dir) => signal(n, "KILL"),
                _ => {}
            }
        }
    }
}

/// Quotes a string for a POSIX shell command line.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Picks `n` distinct free loopback ports (all bound at once, then released).
pub(crate) fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/tmp/a-b"), "/tmp/a-b");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn ports_are_distinct() {
        let p = free_ports(3).unwrap();
        assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
    }
}
