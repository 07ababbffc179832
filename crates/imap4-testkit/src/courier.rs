//! A throw-away Courier-IMAP 5 server on loopback ports in a temp dir.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon::{self, Daemon};
use crate::raw::{self, RawClient};
use crate::server::{self, ImapServer, Kind, Namespace, Quirks};
use crate::sys::{self, shell_quote};
use crate::{pkgs, tls};

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The capabilities Courier advertises (it adds ACL, STARTTLS, ENABLE and
/// UTF8=ACCEPT itself); AUTH=PLAIN only after TLS.
const CAPS: &str = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT \
                    THREAD=REFERENCES SORT QUOTA IDLE AUTH=CRAM-MD5";
/// Folders made for every user at start; all but Archive subscribed (as
/// the Dovecot fixture has them).
const FOLDERS: [(&str, bool); 5] = [
    ("Drafts", true),
    ("Sent", true),
    ("Trash", true),
    ("Junk", true),
    ("Archive", false),
];
/// The mail owner (from `courier-base`).
const MAIL_USER: &str = "courier";

/// A running throw-away Courier-IMAP 5 server: folders below `INBOX.` with
/// `.` as the delimiter, Maildir++ mailboxes (1 GiB quota) in the temp
/// dir, users in a private userdb (LOGIN, CRAM-MD5; PLAIN after TLS).
///
/// Root only: Courier's auth library has compiled-in paths below
/// `/etc/courier` and `/run/courier`, so the servers run in a private mount
/// namespace (`unshare -m`) with the temp dir's copies bind-mounted there;
/// nothing outside the temp dir changes. Needs `courier-base`,
/// `courier-authdaemon` and `courier-authlib-userdb` installed and
/// `courier-imap` unpacked (see `scripts/install-deps.sh`).
///
/// Courier waits 5 s before it answers a failed LOGIN, and polls for
/// changes during IDLE every 5 s here.
#[derive(Debug)]
pub struct Courier {
    dir: PathBuf,
    port: u16,
    tls_port: u16,
    users: Vec<String>,
    pkg: PathBuf,
    daemon: Option<Daemon>,
}

impl Courier {
    /// Starts an instance with the users `alice` and `bob`.
    pub fn start() -> io::Result<Courier> {
        Courier::start_with(&[])
    }

    /// Starts an instance with `alice`, `bob` and `users`.
    pub fn start_with(users: &[String]) -> io::Result<Courier> {
        let users = server::with_default_users(users);
        for u in &users {
            server::check_user(u)?;
        }
        if !sys::ids()?.root {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "Courier fixtures need root (a private mount namespace, setuid imapd)",
            ));
        }
        let pkg = pkgs::unpacked("courier-imap", "usr/bin/imapd")?;
        tls::material()?;
        let dir = sys::make_temp_dir("imap4tk-courier")?;
        let mut c = Courier {
            dir,
            port: 0,
            tls_port: 0,
            users,
            pkg,
            daemon: None,
        };
        c.prepare()?;
        c.launch()?;
        for u in &c.users {
            let mut r = RawClient::login(c.addr(), u, crate::PASSWORD)?;
            for (f, subscribe) in FOLDERS {
                let name = c.mailbox(f);
                r.expect_ok(&format!("CREATE {}", raw::quote(&name)))?;
                if subscribe {
                    r.expect_ok(&format!("SUBSCRIBE {}", raw::quote(&name)))?;
                }
            }
            r.logout();
        }
        Ok(c)
    }

    /// The home directory of `user` (mail in `Maildir/`).
    pub fn home(&self, user: &str) -> PathBuf {
        self.dir.join("mail").join(user)
    }

    fn prepare(&self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let d = &self.dir;
        for sub in ["etc", "run/authdaemon", "mail", "log", "tls"] {
            fs::create_dir_all(d.join(sub))?;
        }
        tls::write_files(&d.join("tls"))?;
        daemon::run(
            Command::new("cp")
                .arg("-a")
                .arg("/etc/courier/.")
                .arg(d.join("etc")),
        )?;
        for f in ["imapd", "imapd-ssl"] {
            fs::copy(self.pkg.join("etc/courier").join(f), d.join("etc").join(f))?;
        }
        let rc = d.join("etc/authdaemonrc");
        let text = fs::read_to_string(&rc)?
            .lines()
            .map(|l| {
                if l.starts_with("authmodulelist=") {
                    "authmodulelist=\"authuserdb\"".to_string()
                } else if l.starts_with("DEBUG_LOGIN=") {
                    "DEBUG_LOGIN=0".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        fs::write(&rc, text + "\n")?;
        let mut pem = fs::read(d.join("tls/key.pem"))?;
        pem.extend(fs::read(d.join("tls/chain.pem"))?);
        fs::write(d.join("etc/imapd.pem"), pem)?;
        daemon::run(
            Command::new("chown")
                .arg("-R")
                .arg("root:courier")
                .arg(d.join("etc")),
        )?;
        fs::set_permissions(d.join("etc/imapd.pem"), fs::Permissions::from_mode(0o640))?;
        daemon::run(
            Command::new("chown")
                .arg("courier:courier")
                .arg(d.join("run/authdaemon")),
        )?;
        fs::set_permissions(d.join("run/authdaemon"), fs::Permissions::from_mode(0o750))?;
        daemon::run(Command::new("chown").arg("root:courier").arg(d.join("run")))?;
        fs::set_permissions(d.join("run"), fs::Permissions::from_mode(0o775))?;

        let pw = |flag: &str| -> io::Result<String> {
            let out = daemon::run(Command::new("sh").arg("-c").arg(format!(
                "printf '%s\\n%s\\n' {p} {p} | userdbpw {flag}",
                p = crate::PASSWORD
            )))?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let (hmac, crypt) = (pw("-hmac-md5")?, pw("-md5")?);
        let (uid, gid) = (id_of(&["-u", MAIL_USER])?, id_of(&["-g", MAIL_USER])?);
        let mut userdb = String::new();
        for u in &self.users {
            let home = self.home(u);
            fs::create_dir_all(&home)?;
            let maildir = home.join("Maildir");
            daemon::run(Command::new("maildirmake").arg(&maildir))?;
            // a Maildir++ quota makes GETQUOTAROOT answer
            daemon::run(
                Command::new("maildirmake")
                    .args(["-q", "1073741824S"])
                    .arg(&maildir),
            )?;
            daemon::run(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{uid}:{gid}"))
                    .arg(&home),
            )?;
            userdb.push_str(&format!(
                "{u}\tuid={uid}|gid={gid}|home={}|mail={}|systempw={crypt}|hmac-md5pw={hmac}\n",
                home.display(),
                maildir.display()
            ));
        }
        fs::write(d.join("etc/userdb"), userdb)?;
        fs::set_permissions(d.join("etc/userdb"), fs::Permissions::from_mode(0o600))?;
        Ok(())
    }

    /// The script run inside the private mount namespace: auth daemon,
    /// then the plain and the implicit-TLS listeners.
    fn script(&self) -> String {
        let d = self.dir.display();
        let pkg = self.pkg.display();
        format!(
            r#"#!/bin/sh
set -e
mount --bind "{d}/etc" /etc/courier
mkdir -p /run/courier && mount --bind "{d}/run" /run/courier
makeuserdb
set -a; . /etc/courier/authdaemonrc; set +a
/usr/lib/courier/courier-authlib/authdaemond >>"{d}/log/authdaemond.log" 2>&1 &
echo $! >>"{d}/pids"
# imapd must not greet before logins can be checked: wait (bounded) for
# the auth daemon's socket
i=0
while [ ! -S "$authdaemonvar/socket" ]; do
  i=$((i+1)); [ $i -le 300 ] || {{ echo "authdaemond made no socket in 30 s"; exit 1; }}
  sleep 0.1
done
set -a
. /etc/courier/imapd
. /etc/courier/imapd-ssl
IMAP_CAPABILITY="{CAPS}"
IMAP_CAPABILITY_TLS="{CAPS} AUTH=PLAIN"
IMAP_STARTTLS=YES
TLS_CERTFILE=/etc/courier/imapd.pem
TLS_CACHEFILE=
IMAP_ULIMITD=
IMAP_ENHANCEDIDLE=0
IMAP_IDLE_TIMEOUT=5
set +a
/usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=200 -maxperip=200 -nodnslookup -noidentlookup \
  {port} {pkg}/usr/lib/courier/courier/imaplogin {pkg}/usr/bin/imapd Maildir >>"{d}/log/imapd.log" 2>&1 &
echo $! >>"{d}/pids"
IMAP_TLS=1 IMAP_STARTTLS=NO /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=200 -maxperip=200 \
  -nodnslookup -noidentlookup {tls} /usr/bin/couriertls -server -tcpd \
  {pkg}/usr/lib/courier/courier/imaplogin {pkg}/usr/bin/imapd Maildir >>"{d}/log/imapd-ssl.log" 2>&1 &
echo $! >>"{d}/pids"
echo "Courier-IMAP listening on {port}" >>"{d}/log/imapd.log"
wait
"#,
            port = self.port,
            tls = self.tls_port,
        )
    }

    fn launch(&mut self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.dir.clone();
        let how = daemon::Launch {
            what: "courier",
            mark: "Courier-IMAP",
            timeout: START_TIMEOUT,
            log: &|| log_of(&dir),
        };
        let (d, port, tls_port) = daemon::launch(&how, |port, tls_port| {
            self.port = port;
            self.tls_port = tls_port;
            let script = self.dir.join("run-inside-ns.sh");
            fs::write(&script, self.script())?;
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755))?;
            let out = fs::File::create(self.dir.join("log/stdout.log"))?;
            let err = out.try_clone()?;
            let mut cmd = Command::new("unshare");
            cmd.args(["--mount", "--propagation", "private"])
                .arg(&script)
                .stdout(out)
                .stderr(err);
            let _ = fs::remove_file(self.dir.join("pids"));
            let mut d = Daemon::spawn(&mut cmd, &self.dir, "unshare (util-linux)")?;
            d.also_kill_listed_in(self.dir.join("pids"));
            Ok(d)
        })?;
        (self.port, self.tls_port) = (port, tls_port);
        self.daemon = Some(d);
        Ok(())
    }
}

fn id_of(args: &[&str]) -> io::Result<u32> {
    let out = daemon::run(Command::new("id").args(args))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("`id {}` printed no number", args.join(" "))))
}

fn log_of(dir: &Path) -> String {
    [
        "stdout.log",
        "authdaemond.log",
        "imapd.log",
        "imapd-ssl.log",
    ]
    .iter()
    .map(|f| fs::read_to_string(dir.join("log").join(f)).unwrap_or_default())
    .collect()
}

impl ImapServer for Courier {
    fn kind(&self) -> Kind {
        Kind::Courier
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

    /// Courier's imapd started with `AUTHENTICATED=<user>` as the mail
    /// user in the user's home: it greets with `* PREAUTH`.
    fn stream_command(&self, user: &str) -> Option<String> {
        let home = self.home(user);
        Some(format!(
            "cd {home} && exec env -i HOME={home} AUTHENTICATED={user} IMAP_CAPABILITY={caps} \
             setpriv --reuid={MAIL_USER} --regid={MAIL_USER} --clear-groups {imapd} {maildir} \
             2>>{log}",
            home = shell_quote(&home.to_string_lossy()),
            user = shell_quote(user),
            caps = shell_quote(CAPS),
            imapd = shell_quote(&self.pkg.join("usr/bin/imapd").to_string_lossy()),
            maildir = shell_quote(&home.join("Maildir").to_string_lossy()),
            log = shell_quote(&self.dir.join("log/stream.log").to_string_lossy()),
        ))
    }

    fn namespace(&self) -> Namespace {
        Namespace {
            prefix: "INBOX.",
            delimiter: '.',
        }
    }

    fn quirks(&self) -> Quirks {
        Quirks {
            select_uidnext: false,
            append_keeps_date: true,
            append_keeps_flags: true,
            dense_uids: true,
            sees_appends_at_once: true,
            rename_missing_fails: false,
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

impl Drop for Courier {
    fn drop(&mut self) {
        // the daemon stops (Daemon's drop) before its dir goes
        drop(self.daemon.take());
        sys::remove_dir_retry(&self.dir);
    }
}
