//! Debian packages the kit unpacks privately instead of installing.
//!
//! `cyrus-imapd` and `courier-imap` both declare `Conflicts: imap-server`:
//! installing either removes `dovecot-imapd`. Their libraries and tools
//! (`cyrus-common`, `courier-base`, ...) install normally; the small
//! conflicting package is fetched with `apt-get download` and unpacked with
//! `dpkg-deb -x` into `$IMAP4_TESTKIT_PKGS` (default
//! `/var/cache/imap4-testkit`), without registering it with dpkg.
//! `scripts/install-deps.sh` does this ahead of time; the kit does it on
//! first use when the directory is writable.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Where unpacked packages live.
pub(crate) fn base() -> PathBuf {
    std::env::var_os("IMAP4_TESTKIT_PKGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/imap4-testkit"))
}

/// The root of the unpacked `package` (containing `marker`, a path inside
/// it such as `usr/bin/imapd`), downloading and unpacking it if needed.
pub(crate) fn unpacked(package: &str, marker: &str) -> io::Result<PathBuf> {
    static LOCK: Mutex<()> = Mutex::new(());
    let root = base().join(package);
    if root.join(marker).exists() {
        return Ok(root);
    }
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if root.join(marker).exists() {
        return Ok(root);
    }
    let fail = |why: String| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{package} is not unpacked in {} ({why}); run scripts/install-deps.sh as root",
                base().display()
            ),
        )
    };
    std::fs::create_dir_all(base()).map_err(|e| fail(e.to_string()))?;
    let work = base().join(format!(".{package}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| fail(e.to_string()))?;
    let result = (|| {
        let run = |cmd: &mut Command| -> Result<(), String> {
            let out = cmd
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("{cmd:?}: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{cmd:?}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        run(Command::new("apt-get")
            .arg("download")
            .arg(package)
            .current_dir(&work))?;
        let deb = std::fs::read_dir(&work)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or("apt-get download left no .deb")?;
        let tree = work.join("tree");
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree))?;
        if !tree.join(marker).exists() {
            return Err(format!("{marker} is not in {}", deb.display()));
        }
        std::fs::rename(&tree, &root).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(()) => Ok(root),
        Err(_) if root.join(marker).exists() => Ok(root),
        Err(why) => Err(fail(why)),
    }
}
