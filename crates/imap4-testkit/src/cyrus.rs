//! A throw-away Cyrus IMAP 3.6 server on loopback ports in a temp dir.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::daemon::{self, Daemon};
use crate::raw::{self, RawClient};
use crate::server::{self, ImapServer, Kind, Namespace, Quirks};
use crate::{pkgs, sys, tls};

/// How long a start waits for the greeting.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Cyrus's own tools (from `cyrus-common`).
const BIN: &str = "/usr/lib/cyrus/bin";
/// The folders every user gets at first login (all subscribed).
const FOLDERS: &str = "Drafts | Sent | Trash | Junk | Archive";

/// A running throw-away Cyrus IMAP 3.6 server, in the standard namespace:
/// personal folders below `INBOX.` with `.` as the delimiter
/// (`INBOX.Sent`). Users live in a sasldb (PLAIN, LOGIN, CRAM-MD5,
/// SCRAM-SHA-1 and SCRAM-SHA-256 all work); each user's INBOX and the
/// folders Drafts, Sent, Trash, Junk and Archive are created at start.
/// The admin `cyrus` (password `secret`) exists too.
///
/// Needs `cyrus-common` and `sasl2-bin` installed and `cyrus-imapd`
/// unpacked (see `scripts/install-deps.sh`). Cyrus logs only to syslog, so
/// [`ImapServer::log`] has only what its master wrote before that. As
/// root, Cyrus runs as the `cyrus` user. Dropping the value stops it.
#[derive(Debug)]
pub struct Cyrus {
    dir: PathBuf,
    port: u16,
    tls_port: u16,
    users: Vec<String>,
    daemon: Option<Daemon>,
}

impl Cyrus {
    /// Starts an instance with the users `alice` and `bob`.
    pub fn start() -> io::Result<Cyrus> {
        Cyrus::start_with(&[])
    }

    /// Starts an instance with `alice`, `bob` and `users`.
    pub fn start_with(users: &[String]) -> io::Result<Cyrus> {
        let users = server::with_default_users(users);
        for u in &users {
            server::check_user(u)?;
        }
        let pkg = pkgs::unpacked("cyrus-imapd", "usr/lib/cyrus/bin/imapd")?;
        tls::material()?;
        let dir = sys::make_temp_dir("imap4tk-cyrus")?;
        let mut c = Cyrus {
            dir,
            port: 0,
            tls_port: 0,
            users,
            daemon: None,
        };
        c.prepare()?;
        c.launch(&pkg)?;
        // the first login of each user creates its INBOX and folders
        for u in &c.users {
            RawClient::login(c.addr(), u, crate::PASSWORD)?.logout();
        }
        Ok(c)
    }

    /// The instance's `imapd.conf`.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("imapd.conf")
    }

    /// The run-time user and group (`cyrus` and its group as root).
    fn run_as() -> io::Result<(String, String)> {
        let id = |args: &[&str]| -> io::Result<String> {
            let out = daemon::run(Command::new("id").args(args))?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let user = if id(&["-u"])? == "0" {
            "cyrus".to_string()
        } else {
            id(&["-un"])?
        };
        let group = id(&["-gn", &user])?;
        Ok((user, group))
    }

    fn prepare(&self) -> io::Result<()> {
        let d = &self.dir;
        for sub in [
            "conf/proc",
            "conf/lock",
            "conf/socket",
            "conf/db",
            "conf/log",
            "conf/msg",
            "conf/ptclient",
            "conf/quota",
            "conf/user",
            "spool",
            "sieve",
            "run",
            "log",
            "tls",
        ] {
            fs::create_dir_all(d.join(sub))?;
        }
        tls::write_files(&d.join("tls"))?;
        Ok(())
    }

    fn token(&self) -> String {
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("imap4tk-{}", name.trim_start_matches("imap4tk-"))
    }

    /// Users into the sasldb (the realm is the server name), then owner
    /// and modes for the run-time user.
    fn write_users(&self, realm: &str, user: &str, group: &str) -> io::Result<()> {
        let db = self.dir.join("sasldb2");
        let _ = fs::remove_file(&db);
        for u in self.users.iter().map(String::as_str).chain(["cyrus"]) {
            let mut child = Command::new("saslpasswd2")
                .arg("-f")
                .arg(&db)
                .args(["-u", realm, "-p", "-c", u])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot run saslpasswd2 (is sasl2-bin installed?): {e}"),
                    )
                })?;
            child
                .stdin
                .take()
                .ok_or_else(|| io::Error::other("no stdin"))?
                .write_all(crate::PASSWORD.as_bytes())?;
            let out = child.wait_with_output()?;
            if !out.status.success() {
                return Err(io::Error::other(format!(
                    "saslpasswd2 {u}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        daemon::run(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:{group}"))
                .arg(&self.dir),
        )?;
        daemon::run(Command::new("chmod").arg("640").arg(&db))?;
        Ok(())
    }

    fn config(&self, pkg: &Path, name: &str, user: &str, group: &str) -> (String, String) {
        let d = self.dir.display();
        let imapd = format!(
            "configdirectory: {d}/conf
partition-default: {d}/spool
defaultpartition: default
proc_path: {d}/conf/proc
mboxname_lockpath: {d}/conf/lock
sievedir: {d}/sieve
lmtpsocket: {d}/conf/socket/lmtp
idlesocket: {d}/conf/socket/idle
notifysocket: {d}/conf/socket/notify
servername: {name}
syslog_prefix: {name}
cyrus_user: {user}
cyrus_group: {group}
admins: cyrus
unixhierarchysep: no
altnamespace: no
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {d}/sasldb2
sasl_mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
tls_server_cert: {d}/tls/chain.pem
tls_server_key: {d}/tls/key.pem
autocreate_quota: 1048576
autocreate_post: 1
autocreate_inbox_folders: {FOLDERS}
autocreate_subscribe_folders: {FOLDERS}
xlist-drafts: Drafts
xlist-sent: Sent
xlist-trash: Trash
xlist-junk: Junk
xlist-archive: Archive
specialusealways: 1
annotation_allow_undefined: 1
annotation_enable_legacy_commands: 1
imapidresponse: 1
delete_mode: immediate
expunge_mode: immediate
umask: 077
hashimapspool: false
"
        );
        let bin = pkg.join("usr/lib/cyrus/bin");
        let bin = bin.display();
        let master = format!(
            "START {{
  recover cmd=\"{BIN}/ctl_cyrusdb -C {d}/imapd.conf -r\"
}}
SERVICES {{
  imap  cmd=\"{bin}/imapd -C {d}/imapd.conf\" listen=\"127.0.0.1:{port}\" prefork=1 maxchild=200
  imaps cmd=\"{bin}/imapd -s -C {d}/imapd.conf\" listen=\"127.0.0.1:{tls}\" prefork=0 maxchild=200
}}
EVENTS {{
  checkpoint cmd=\"{BIN}/ctl_cyrusdb -C {d}/imapd.conf -c\" period=30
}}
DAEMON {{
  idled cmd=\"{bin}/idled -C {d}/imapd.conf\"
}}
",
            port = self.port,
            tls = self.tls_port,
        );
        (imapd, master)
    }

    fn launch(&mut self, pkg: &Path) -> io::Result<()> {
        let (user, group) = Cyrus::run_as()?;
        let name = self.token();
        let dir = self.dir.clone();
        let how = daemon::Launch {
            what: "cyrus",
            mark: &name,
            timeout: START_TIMEOUT,
            log: &|| log_of(&dir),
        };
        let (d, port, tls_port) = daemon::launch(&how, |port, tls_port| {
            self.port = port;
            self.tls_port = tls_port;
            let (imapd, master) = self.config(pkg, &name, &user, &group);
            fs::write(self.dir.join("imapd.conf"), imapd)?;
            fs::write(self.dir.join("cyrus.conf"), master)?;
            self.write_users(&name, &user, &group)?;
            let out = fs::File::create(self.dir.join("log/stdout.log"))?;
            let err = out.try_clone()?;
            let mut cmd = Command::new(format!("{BIN}/master"));
            cmd.arg("-C")
                .arg(self.dir.join("imapd.conf"))
                .arg("-M")
                .arg(self.dir.join("cyrus.conf"))
                .arg("-p")
                .arg(self.dir.join("run/master.pid"))
                .arg("-L")
                .arg(self.dir.join("log/master.log"))
                .stdout(out)
                .stderr(err);
            Daemon::spawn(
                &mut cmd,
                &self.dir,
                "Cyrus's master (is cyrus-common installed?)",
            )
        })?;
        (self.port, self.tls_port) = (port, tls_port);
        self.daemon = Some(d);
        Ok(())
    }
}

fn log_of(dir: &Path) -> String {
    let mut s = fs::read_to_string(dir.join("log/master.log")).unwrap_or_default();
    s.push_str(&fs::read_to_string(dir.join("log/stdout.log")).unwrap_or_default());
    s
}

impl ImapServer for Cyrus {
    fn kind(&self) -> Kind {
        Kind::Cyrus
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn tls_port(&self) -> u16 {
        self.tls_port
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn users(&self) -> &[String] {
        &self.users
    }

    /// Cyrus's imapd has no pre-authenticated stdin/stdout mode.
    fn stream_command(&self, _user: &str) -> Option<String> {
        None
    }

    fn namespace(&self) -> Namespace {
        Namespace {
            prefix: "INBOX.",
            delimiter: '.',
        }
    }

    fn quirks(&self) -> Quirks {
        Quirks {
            select_uidnext: true,
            append_keeps_date: true,
            append_keeps_flags: true,
            dense_uids: true,
            sees_appends_at_once: true,
            rename_missing_fails: true,
        }
    }

    fn log(&self) -> String {
        log_of(&self.dir)
    }

    fn fill(&self, user: &str, mailbox: &str, count: usize, seed: u64) -> io::Result<()> {
        let name = self.mailbox(mailbox);
        let inbox = mailbox.eq_ignore_ascii_case("INBOX");
        raw::fill_by_append(self.addr(), user, &name, inbox, count, seed)?.logout();
        Ok(())
    }
}

impl Drop for Cyrus {
    fn drop(&mut self) {
        // the daemon stops (Daemon's drop) before its dir goes
        drop(self.daemon.take());
        sys::remove_dir_retry(&self.dir);
    }
}
