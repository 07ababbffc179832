//! A throw-away GNU Mailutils imap4d 3.15 on loopback ports in a temp dir.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon::{self, Daemon};
use crate::raw::{self, RawClient};
use crate::server::{self, ImapServer, Kind, Namespace, Quirks};
use crate::sys::{self, shell_quote};
use crate::tls;

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The virtual domain every user belongs to.
const DOMAIN: &str = "localhost";
/// Folders made for every user at start; all but Archive subscribed.
const FOLDERS: [(&str, bool); 5] = [
    ("Drafts", true),
    ("Sent", true),
    ("Trash", true),
    ("Junk", true),
    ("Archive", false),
];

/// A running throw-away GNU Mailutils imap4d: Maildir mailboxes in the
/// personal namespace `""` with `/`, users in a virtual domain (log in as
/// `alice@localhost`: [`ImapServer::login_name`]); PLAIN, LOGIN and
/// CRAM-MD5 work. Every command and response is logged
/// ([`ImapServer::log`]).
///
/// Needs `mailutils-imap4d` (installs beside Dovecot). As root, mail is
/// owned by the `mail` user. Quirks: APPEND ignores flags and date (the
/// kit's [`ImapServer::fill`] sets the flags with STORE afterwards), UIDs
/// are not consecutive, EXPUNGE is answered with `* n EXPUNGED`, and
/// appends by another connection show up only after a re-SELECT.
#[derive(Debug)]
pub struct Mailutils {
    dir: PathBuf,
    port: u16,
    tls_port: u16,
    users: Vec<String>,
    daemon: Option<Daemon>,
}

impl Mailutils {
    /// Starts an instance with the users `alice` and `bob`.
    pub fn start() -> io::Result<Mailutils> {
        Mailutils::start_with(&[])
    }

    /// Starts an instance with `alice`, `bob` and `users`.
    pub fn start_with(users: &[String]) -> io::Result<Mailutils> {
        let users = server::with_default_users(users);
        for u in &users {
            server::check_user(u)?;
        }
        tls::material()?;
        let dir = sys::make_temp_dir("imap4tk-mailutils")?;
        let mut m = Mailutils {
            dir,
            port: 0,
            tls_port: 0,
            users,
            daemon: None,
        };
        m.prepare()?;
        m.launch()?;
        for u in &m.users {
            let mut r = RawClient::login(m.addr(), &m.login_name(u), crate::PASSWORD)?;
            for (f, subscribe) in FOLDERS {
                r.expect_ok(&format!("CREATE {}", raw::quote(f)))?;
                if subscribe {
                    r.expect_ok(&format!("SUBSCRIBE {}", raw::quote(f)))?;
                }
            }
            r.logout();
        }
        Ok(m)
    }

    /// The home directory of `user` (INBOX is the Maildir `INBOX/` in it).
    pub fn home(&self, user: &str) -> PathBuf {
        self.dir.join("home").join(user)
    }

    fn owner() -> io::Result<(u32, u32)> {
        let id = |args: &[&str]| -> io::Result<u32> {
            let out = daemon::run(Command::new("id").args(args))?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|_| io::Error::other("id printed no number"))
        };
        if sys::ids()?.root {
            Ok((id(&["-u", "mail"])?, id(&["-g", "mail"])?))
        } else {
            Ok((id(&["-u"])?, id(&["-g"])?))
        }
    }

    /// The settings both the daemon and the stream mode use.
    fn common_config(&self) -> String {
        let d = self.dir.display();
        format!(
            r#"logging {{ syslog no; severity info; }}
auth {{ authorization virtdomain; authentication generic; }}
virtdomain {{ passwd-dir "{d}/passwd"; }}
gsasl {{ enable yes; cram-passwd "{d}/cram-passwd"; }}
mailbox {{ mailbox-type maildir; }}
namespace personal {{ prefix "" {{ directory "$home"; delimiter "/"; }} }}
tls-file-checks {{ key-file none; cert-file none; ca-file none; }}
tls {{ ssl-certificate-file "{d}/tls/chain.pem"; ssl-key-file "{d}/tls/key.pem"; }}
"#
        )
    }

    fn prepare(&self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let d = &self.dir;
        for sub in ["home", "passwd", "log", "tls"] {
            fs::create_dir_all(d.join(sub))?;
        }
        tls::write_files(&d.join("tls"))?;
        let (uid, gid) = Mailutils::owner()?;
        let out = daemon::run(Command::new("openssl").args(["passwd", "-6", crate::PASSWORD]))?;
        let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut passwd = String::new();
        let mut cram = String::new();
        for u in &self.users {
            let home = self.home(u);
            for sub in ["cur", "new", "tmp"] {
                // else the first APPEND is NO [TRYCREATE]
                fs::create_dir_all(home.join("INBOX").join(sub))?;
            }
            daemon::run(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{uid}:{gid}"))
                    .arg(&home),
            )?;
            passwd.push_str(&format!(
                "{u}:{hash}:{uid}:{gid}::{}:/bin/false\n",
                home.display()
            ));
            cram.push_str(&format!("{u}@{DOMAIN}\t{}\n", crate::PASSWORD));
            // stream mode: a pre-authentication program per user
            let pre = d.join(format!("preauth-{u}"));
            fs::write(&pre, format!("#!/bin/sh\necho {u}@{DOMAIN}\n"))?;
            fs::set_permissions(&pre, fs::Permissions::from_mode(0o755))?;
            fs::write(
                d.join(format!("stream-{u}.conf")),
                format!(
                    "{}preauth \"{}\";\npreauth-only yes;\n",
                    self.common_config(),
                    pre.display()
                ),
            )?;
        }
        fs::write(d.join("passwd").join(DOMAIN), passwd)?;
        fs::write(d.join("cram-passwd"), cram)?;
        fs::set_permissions(d.join("cram-passwd"), fs::Permissions::from_mode(0o600))?;
        Ok(())
    }

    fn launch(&mut self) -> io::Result<()> {
        let dir = self.dir.clone();
        let how = daemon::Launch {
            what: "mailutils imap4d",
            mark: "IMAP4rev1",
            timeout: START_TIMEOUT,
            log: &|| log_of(&dir),
        };
        let (d, port, tls_port) = daemon::launch(&how, |port, tls_port| {
            self.port = port;
            self.tls_port = tls_port;
            let conf = self.dir.join("imap4d.conf");
            fs::write(
                &conf,
                format!(
                    "{}mode daemon;\nforeground yes;\npidfile \"{}\";\n\
                     server 127.0.0.1:{port} {{ tls-mode ondemand; transcript yes; }}\n\
                     server 127.0.0.1:{tls_port} {{ tls-mode connection; transcript yes; }}\n",
                    self.common_config(),
                    self.dir.join("imap4d.pid").display(),
                ),
            )?;
            daemon::run(
                Command::new("imap4d")
                    .arg("--no-site-config")
                    .arg(format!("--config-file={}", conf.display()))
                    .arg("--config-lint"),
            )
            .map_err(|e| io::Error::new(e.kind(), format!("mailutils configuration: {e}")))?;
            let out = fs::File::create(self.dir.join("log/imap4d.log"))?;
            let err = out.try_clone()?;
            let mut cmd = Command::new("imap4d");
            cmd.arg("--no-site-config")
                .arg(format!("--config-file={}", conf.display()))
                .stdout(out)
                .stderr(err);
            Daemon::spawn(
                &mut cmd,
                &self.dir,
                "imap4d (is mailutils-imap4d installed?)",
            )
        })?;
        (self.port, self.tls_port) = (port, tls_port);
        self.daemon = Some(d);
        Ok(())
    }
}

fn log_of(dir: &Path) -> String {
    let mut s = fs::read_to_string(dir.join("log/imap4d.log")).unwrap_or_default();
    s.push_str(&fs::read_to_string(dir.join("log/stream.log")).unwrap_or_default());
    s
}

impl ImapServer for Mailutils {
    fn kind(&self) -> Kind {
        Kind::Mailutils
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

    fn login_name(&self, user: &str) -> String {
        format!("{user}@{DOMAIN}")
    }

    /// imap4d in inetd mode with a pre-authentication program that names
    /// `user`: it greets with `* PREAUTH`.
    fn stream_command(&self, user: &str) -> Option<String> {
        Some(format!(
            "exec imap4d --no-site-config --config-file={} 2>>{}",
            shell_quote(
                &self
                    .dir
                    .join(format!("stream-{user}.conf"))
                    .to_string_lossy()
            ),
            shell_quote(&self.dir.join("log/stream.log").to_string_lossy()),
        ))
    }

    fn namespace(&self) -> Namespace {
        Namespace {
            prefix: "",
            delimiter: '/',
        }
    }

    fn quirks(&self) -> Quirks {
        Quirks {
            select_uidnext: true,
            append_keeps_date: false,
            append_keeps_flags: false,
            dense_uids: false,
            sees_appends_at_once: false,
            rename_missing_fails: true,
        }
    }

    fn log(&self) -> String {
        log_of(&self.dir)
    }

    /// APPENDs, then (Mailutils ignores APPEND's flags) SELECTs the
    /// mailbox once and sets each new message's flags with STORE.
    fn fill(&self, user: &str, mailbox: &str, count: usize, seed: u64) -> io::Result<()> {
        let name = self.mailbox(mailbox);
        let inbox = mailbox.eq_ignore_ascii_case("INBOX");
        let mut c = raw::fill_by_append(
            self.addr(),
            &self.login_name(user),
            &name,
            inbox,
            count,
            seed,
        )?;
        let selected = c.expect_ok(&format!("SELECT {}", raw::quote(&name)))?;
        let exists = raw::exists(&selected.untagged).unwrap_or(0);
        let first = exists.checked_sub(count).ok_or_else(|| {
            io::Error::other(format!("{name}: {exists} messages after appending {count}"))
        })?;
        for i in 0..count {
            let m = crate::generate(seed, i);
            c.expect_ok(&format!(
                "STORE {} FLAGS.SILENT ({})",
                first + i + 1,
                m.imap_flags().join(" ")
            ))?;
        }
        c.expect_ok("CLOSE")?;
        c.logout();
        Ok(())
    }
}

impl Drop for Mailutils {
    fn drop(&mut self) {
        // the daemon stops (Daemon's drop) before its dir goes
        drop(self.daemon.take());
        sys::remove_dir_retry(&self.dir);
    }
}
