//! A server process the kit owns: started in its own process group,
//! stopped with its whole group, and cleaned up by a watchdog should the
//! test process die without running destructors.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::sys;

/// A running server process (and its process group).
#[derive(Debug)]
pub(crate) struct Daemon {
    child: Option<Child>,
    watchdog: Option<(Child, ChildStdin)>,
    /// Processes whose working directory is below this dir are killed on
    /// stop too (helpers that left the process group, such as the gamin
    /// server Courier's imapd spawns).
    dir: PathBuf,
    /// A file of further process ids (one per line) to kill on stop: the
    /// server's daemons that start their own sessions.
    pid_file: Option<PathBuf>,
}

impl Daemon {
    /// Spawns `command` as the leader of a new process group, with a
    /// watchdog that kills the group and removes `dir` when this process
    /// goes away.
    pub(crate) fn spawn(command: &mut Command, dir: &Path, what: &str) -> io::Result<Daemon> {
        use std::os::unix::process::CommandExt;
        // helpers that leave the process group (Courier's couriertcpd)
        // still work in the dir, where stop and the watchdog find them
        let child = command
            .stdin(Stdio::null())
            .current_dir(dir)
            .process_group(0)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {what}: {e}")))?;
        let watchdog = spawn_watchdog(child.id(), dir).ok();
        Ok(Daemon {
            child: Some(child),
            watchdog,
            dir: dir.to_path_buf(),
            pid_file: None,
        })
    }

    /// Also kills the processes listed in `file` (one id per line) on stop.
    pub(crate) fn also_kill_listed_in(&mut self, file: PathBuf) {
        self.pid_file = Some(file);
    }

    fn kill_listed(&self, signal: &str) {
        let Some(file) = &self.pid_file else { return };
        let Ok(text) = std::fs::read_to_string(file) else {
            return;
        };
        for pid in text.lines().filter_map(|l| l.trim().parse::<i64>().ok()) {
            if pid > 1 {
                sys::signal(pid, signal);
            }
        }
    }

    /// The process id of the group leader.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The leader's exit status if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Stops the group: SIGTERM, up to 5 s for the leader to exit, then
    /// SIGKILL to whatever is left; then the stray helpers below the dir.
    pub(crate) fn stop(&mut self) {
        if let Some((mut dog, stdin)) = self.watchdog.take() {
            // kill the watchdog first: closing its stdin would trigger it
            let _ = dog.kill();
            let _ = dog.wait();
            drop(stdin);
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = i64::from(child.id());
        self.kill_listed("TERM");
        if let Ok(None) = child.try_wait() {
            sys::signal(-pid, "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // the leader is gone or stuck: kill whatever is left of its group
        // (the group id stays reserved while members exist, so this cannot
        // hit an unrelated process)
        sys::signal(-pid, "KILL");
        self.kill_listed("KILL");
        let _ = child.kill();
        let _ = child.wait();
        sys::kill_processes_in(&self.dir);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `sh` in its own process group that waits for EOF on its stdin (which
/// only this process holds) and then kills the server's process group and
/// removes the dir: clean-up for when the test process dies without running
/// `Drop`.
fn spawn_watchdog(pgid: u32, dir: &Path) -> io::Result<(Child, ChildStdin)> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(
            // (dash's kill takes no "--"; "-TERM -PGID" is unambiguous)
            "read _ || :; kill -TERM -$1 2>/dev/null; i=0; \
             while [ $i -lt 50 ] && kill -0 -$1 2>/dev/null; do sleep 0.1; i=$((i+1)); done; \
             kill -KILL -$1 2>/dev/null; \
             for p in /proc/[0-9]*; do case \"$(readlink $p/cwd 2>/dev/null)\" in \"$2\"|\"$2\"/*) kill -KILL ${p#/proc/} 2>/dev/null;; esac; done; \
             rm -rf -- \"$2\"",
        )
        .arg("imap4-testkit-watchdog")
        .arg(pgid.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("watchdog has no stdin"))?;
    Ok((child, stdin))
}

/// Why a start attempt failed.
pub(crate) enum Retry {
    /// A port was taken meanwhile (or the server may have lost a race for
    /// it): try again with new ones.
    Port(io::Error),
    /// Anything else: give up.
    No(io::Error),
}

/// Connects and reads the first line (the greeting), then says LOGOUT.
pub(crate) fn greeting(addr: std::net::SocketAddr) -> io::Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let _ = (&stream).write_all(b"x LOGOUT\r\n");
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before greeting",
        ));
    }
    Ok(line)
}

/// Waits up to `timeout` until `addr` greets with `* OK` and a line
/// containing `mark`, while `daemon` runs. `log` gives the server's log
/// for error messages.
pub(crate) fn wait_for_greeting(
    daemon: &mut Daemon,
    addr: std::net::SocketAddr,
    mark: &str,
    timeout: Duration,
    what: &str,
    log: &dyn Fn() -> String,
) -> Result<(), Retry> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = daemon.try_wait() {
            let log = log();
            let e = io::Error::other(format!(
                "{what} exited during start-up ({status}); log:\n{log}"
            ));
            return Err(
                if log.contains("Address already in use") || log.contains("in use") {
                    Retry::Port(e)
                } else {
                    Retry::No(e)
                },
            );
        }
        match greeting(addr) {
            Ok(line) if line.starts_with("* OK") && line.contains(mark) => return Ok(()),
            Ok(line) => {
                return Err(Retry::Port(io::Error::other(format!(
                    "{addr} answered with a foreign greeting: {line:?}"
                ))));
            }
            Err(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => {
                return Err(Retry::No(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{what} (pid {}) did not greet on {addr} within {timeout:?} ({e}); log:\n{}",
                        daemon.pid(),
                        log()
                    ),
                )));
            }
        }
    }
}

/// Runs `command` to completion, failing with its stderr unless it
/// succeeds.
pub(crate) fn run(command: &mut Command) -> io::Result<std::process::Output> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {command:?}: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(io::Error::other(format!(
            "{command:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        )))
    }
}

/// What a server's start needs from [`launch`].
pub(crate) struct Launch<'a> {
    /// The server's name in messages (`"cyrus"`).
    pub what: &'a str,
    /// What its greeting must contain.
    pub mark: &'a str,
    /// How long to wait for the greeting.
    pub timeout: Duration,
    /// The server's log, for error messages.
    pub log: &'a dyn Fn() -> String,
}

/// How many times a start is retried when a picked port was taken
/// meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// Picks two free loopback ports, lets `spawn` write the configuration
/// for them and start the server, and waits for its greeting on the
/// first; retries with new ports when one was taken in between. Returns
/// the running daemon and its (plain, TLS) ports.
pub(crate) fn launch(
    how: &Launch<'_>,
    mut spawn: impl FnMut(u16, u16) -> io::Result<Daemon>,
) -> io::Result<(Daemon, u16, u16)> {
    let mut last_error = None;
    for _ in 0..PORT_ATTEMPTS {
        let ports = sys::free_ports(2)?;
        let mut d = spawn(ports[0], ports[1])?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], ports[0]));
        match wait_for_greeting(&mut d, addr, how.mark, how.timeout, how.what, how.log) {
            Ok(()) => return Ok((d, ports[0], ports[1])),
            Err(Retry::Port(e)) => last_error = Some(e),
            Err(Retry::No(e)) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other(format!("{} did not start", how.what))))
}
