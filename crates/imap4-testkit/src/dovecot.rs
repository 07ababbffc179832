//! A throw-away Dovecot 2.3 IMAP server on loopback ports in a temp dir.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::daemon::{self, Daemon};
use crate::sys::{self, shell_quote, Ids};
use crate::{maildir, tls};

/// How long [`DovecotBuilder::start`] waits for the greeting.
const START_TIMEOUT: Duration = Duration::from_secs(30);
use crate::PASSWORD;
/// `secret` as Dovecot stores SCRAM-SHA-256 keys (`doveadm pw -s
/// SCRAM-SHA-256 -p secret`: iterations, salt, StoredKey, ServerKey).
const SCRAM_SHA256_SECRET: &str = "{SCRAM-SHA-256}4096,oJkEldtNrkree7THKzXXlg==,keJfbantB9QL9ejIQQX8FdpmrqejfE5C9XShE1O5YmY=,NylLJAsDoGckS7fXJ6OvXlikVCvPgq6/gjQEH/5qbuM=";
/// Users every instance has.
const DEFAULT_USERS: [&str; 3] = ["alice", "bob", "bench"];
/// The SASL mechanisms offered unless [`DovecotBuilder::auth_mechanisms`]
/// says otherwise (the `{PLAIN}` passdb makes all of them work; SCRAM-SHA-256
/// is checked against stored SCRAM keys, as a real server keeps them).
pub const DEFAULT_AUTH_MECHANISMS: &str = "plain login cram-md5 scram-sha-1 scram-sha-256";
/// The capabilities advertised (before and after login) when SASL-IR is
/// turned off with [`DovecotBuilder::sasl_ir`]: Dovecot's banner without
/// `SASL-IR`. `AUTH=` entries and `STARTTLS` are still added.
const CAPABILITY_WITHOUT_SASL_IR: &str =
    "IMAP4rev1 LITERAL+ LOGIN-REFERRALS ID ENABLE IDLE UNSELECT UIDPLUS MOVE NAMESPACE";

/// A running throw-away Dovecot IMAP server.
///
/// Everything (configuration, TLS files, Maildirs, sockets, logs) lives in a
/// fresh temp dir; the server listens on two free loopback ports: plain IMAP
/// with STARTTLS ([`Dovecot::port`]) and implicit TLS ([`Dovecot::tls_port`]).
/// Users `alice`, `bob` and `bench` (plus any added with
/// [`DovecotBuilder::user`]) have the password `secret`; PLAIN, LOGIN,
/// CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 all work, also without TLS.
///
/// Dropping the value stops the server (SIGTERM to the master's process
/// group, SIGKILL after 5 s, then waits for the master) and removes the temp
/// dir. Should the test process die without running
/// destructors (killed, aborted, or the value lives in a `static`), a small
/// watchdog process notices that its pipe from the test process closed and
/// does the same clean-up.
///
/// Instances are fully independent: many may run at once, in threads of one
/// test binary and in several test binaries.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// let server = imap4_testkit::Dovecot::builder().messages("alice", 3, 42).start()?;
/// let stream = std::net::TcpStream::connect((server.host(), server.port()))?;
/// let mut reader = BufReader::new(stream.try_clone()?);
/// let mut line = String::new();
/// reader.read_line(&mut line)?;
/// assert!(line.starts_with("* OK"));
/// (&stream).write_all(b"a LOGIN alice secret\r\n")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Dovecot {
    dir: PathBuf,
    port: u16,
    tls_port: u16,
    daemon: Option<Daemon>,
    users: Vec<String>,
    ids: &'static Ids,
    auth_mechanisms: String,
    sasl_ir: bool,
    client_cert_auth: bool,
    compress: bool,
    oauth2: bool,
}

/// Configures a [`Dovecot`] before starting it; see [`Dovecot::builder`].
#[derive(Debug, Clone)]
pub struct DovecotBuilder {
    users: Vec<String>,
    fills: Vec<(String, String, usize, u64)>,
    auth_mechanisms: String,
    sasl_ir: bool,
    client_cert_auth: bool,
    compress: bool,
    oauth2: bool,
}

impl Default for DovecotBuilder {
    fn default() -> Self {
        DovecotBuilder {
            users: DEFAULT_USERS.iter().map(|u| u.to_string()).collect(),
            fills: Vec::new(),
            auth_mechanisms: DEFAULT_AUTH_MECHANISMS.to_string(),
            sasl_ir: true,
            client_cert_auth: false,
            compress: true,
            oauth2: false,
        }
    }
}

impl DovecotBuilder {
    /// Adds a user (password `secret`). `alice`, `bob` and `bench` always exist.
    /// Names may contain letters, digits and `.-_@+`.
    pub fn user(mut self, name: &str) -> Self {
        if !self.users.iter().any(|u| u == name) {
            self.users.push(name.to_string());
        }
        self
    }

    /// Puts `count` generated messages (see [`crate::generate_message`]) for
    /// `seed` into the user's INBOX before the server starts. Adds the user if
    /// needed. Several calls add up (with distinct seeds, or the same messages
    /// appear twice).
    pub fn messages(self, user: &str, count: usize, seed: u64) -> Self {
        self.messages_in(user, "INBOX", count, seed)
    }

    /// Like [`DovecotBuilder::messages`] for any mailbox (`/` separated, e.g.
    /// `"Archive/2023"`); see [`Dovecot::fill`].
    pub fn messages_in(mut self, user: &str, mailbox: &str, count: usize, seed: u64) -> Self {
        self = self.user(user);
        self.fills
            .push((user.to_string(), mailbox.to_string(), count, seed));
        self
    }

    /// The SASL mechanisms Dovecot offers (its `auth_mechanisms`, space
    /// separated, e.g. `"plain login"`); the default is
    /// [`DEFAULT_AUTH_MECHANISMS`]. Lower-case letters, digits and `-`.
    pub fn auth_mechanisms(mut self, mechanisms: &str) -> Self {
        self.auth_mechanisms = mechanisms.to_string();
        self
    }

    /// Whether Dovecot advertises SASL-IR (RFC 4959; on by default). Off,
    /// the capabilities before and after login are a fixed short list
    /// (IMAP4rev1 LITERAL+ LOGIN-REFERRALS ID ENABLE IDLE UNSELECT UIDPLUS
    /// MOVE NAMESPACE, plus `AUTH=` and STARTTLS before login).
    pub fn sasl_ir(mut self, on: bool) -> Self {
        self.sasl_ir = on;
        self
    }

    /// Turns on SASL EXTERNAL with TLS client certificates: Dovecot asks
    /// for a client certificate, verifies it against the kit's CA, takes
    /// the user name from its common name, and offers `AUTH=EXTERNAL` (over
    /// TLS). Mint certificates with [`Dovecot::client_cert`].
    pub fn client_cert_auth(mut self, on: bool) -> Self {
        self.client_cert_auth = on;
        self
    }

    /// Whether Dovecot offers COMPRESS=DEFLATE (RFC 4978, its `imap_zlib`
    /// plugin; on by default). Dovecot advertises it after login only.
    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    /// Turns on OAuth 2.0 (XOAUTH2 and OAUTHBEARER) with Dovecot's `oauth2`
    /// passdb validating JWTs locally (`introspection_mode = local`): the
    /// kit makes an HS256 key, and [`Dovecot::oauth2_token`] signs tokens
    /// for any user of the instance (user name in the `email` claim).
    pub fn oauth2(mut self, on: bool) -> Self {
        self.oauth2 = on;
        self
    }

    /// Creates the temp dir, writes configuration, users, TLS files and
    /// messages, starts `dovecot -F` and waits (up to 30 s) until the plain
    /// port greets with `* OK`. The error of a failed start includes the log.
    pub fn start(self) -> io::Result<Dovecot> {
        for u in &self.users {
            let ok = !u.is_empty()
                && u.len() <= 64
                && u.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@+".contains(&b))
                && !u.starts_with('.');
            if !ok {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid user name {u:?}"),
                ));
            }
        }
        let mechs_ok = !self.auth_mechanisms.trim().is_empty()
            && self
                .auth_mechanisms
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"- ".contains(&b));
        if !mechs_ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid auth_mechanisms {:?}", self.auth_mechanisms),
            ));
        }
        let ids = sys::ids()?;
        tls::material()?;
        let dir = sys::make_temp_dir("imap4tk")?;
        let mut server = Dovecot {
            dir,
            port: 0,
            tls_port: 0,
            daemon: None,
            users: self.users.clone(),
            ids,
            auth_mechanisms: self.auth_mechanisms.clone(),
            sasl_ir: self.sasl_ir,
            client_cert_auth: self.client_cert_auth,
            compress: self.compress,
            oauth2: self.oauth2,
        };
        server.prepare()?;
        for (user, mailbox, count, seed) in &self.fills {
            server.fill(user, mailbox, *count, *seed)?;
        }
        server.launch()?;
        Ok(server)
    }
}

impl Dovecot {
    /// Starts an instance with the default users and empty mailboxes.
    pub fn start() -> io::Result<Dovecot> {
        Dovecot::builder().start()
    }

    /// A builder to add users and pre-filled mailboxes.
    pub fn builder() -> DovecotBuilder {
        DovecotBuilder::default()
    }

    /// The listening address, always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// Plain IMAP port (STARTTLS offered, plaintext login allowed).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Implicit-TLS IMAP port.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// `host():port()` as a socket address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `host():tls_port()` as a socket address.
    pub fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tls_port))
    }

    /// The temp dir holding everything of this instance.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The generated `dovecot.conf`.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    /// PEM of the test CA that signed the server certificate (trust it to
    /// verify the server as `localhost` or `127.0.0.1`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// PEM of the test CA's private key, to mint further certificates.
    pub fn ca_key_file(&self) -> PathBuf {
        self.dir.join("tls/ca.key")
    }

    /// PEM of the server's certificate chain (leaf, then CA).
    pub fn chain_file(&self) -> PathBuf {
        self.dir.join("tls/chain.pem")
    }

    /// PEM of the server's private key.
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("tls/key.pem")
    }

    /// Dovecot's log file.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("log/dovecot.log")
    }

    /// The current contents of the log (and of the master's stdout/stderr).
    pub fn log(&self) -> String {
        log_of(&self.dir)
    }

    /// The password of every user: `"secret"`.
    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// Mints a TLS client certificate for `user` (its common name), signed
    /// by the test CA: returns the PEM files of the certificate and of its
    /// private key. With [`DovecotBuilder::client_cert_auth`], it logs in
    /// as `user` with SASL EXTERNAL.
    pub fn client_cert(&self, user: &str) -> io::Result<(PathBuf, PathBuf)> {
        let ok = !user.is_empty()
            && user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@+".contains(&b));
        if !ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid user name {user:?}"),
            ));
        }
        tls::mint_client_cert(&self.dir.join("tls"), user)
    }

    /// The users of this instance.
    pub fn users(&self) -> &[String] {
        &self.users
    }

    /// The home directory of `user` (its mail is in `Maildir/` below).
    pub fn home(&self, user: &str) -> PathBuf {
        self.dir.join("home").join(user)
    }

    /// The PID of the Dovecot master process.
    pub fn pid(&self) -> u32 {
        self.daemon.as_ref().map_or(0, Daemon::pid)
    }

    /// Writes messages `0..count` generated for `seed` (see
    /// [`crate::generate_message`]) straight into the user's Maildir:
    /// `"INBOX"` is `~/Maildir/cur`, other mailboxes `~/Maildir/.<name>/cur`
    /// with `/` turned into `.` (`"a/b"` is `.a.b`; names are stored in
    /// modified UTF-7, and may not contain `.`). Missing folders are created.
    /// Files get the mail uid, the flags and mtime (INTERNALDATE) of the
    /// generated message; Dovecot numbers files it has not seen in `Date`
    /// order, so in a fresh mailbox message `k` (0-based) gets UID `k + 1`.
    /// Works before and while the server runs (each file appears in `cur/`
    /// complete, by rename from `tmp/`).
    pub fn fill(&self, user: &str, mailbox: &str, count: usize, seed: u64) -> io::Result<()> {
        if !self.users.iter().any(|u| u == user) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no user {user:?} in this Dovecot"),
            ));
        }
        let owner = self
            .ids
            .root
            .then_some((self.ids.mail_uid, self.ids.mail_gid));
        maildir::fill(&self.home(user), mailbox, count, seed, owner)
    }

    /// A `sh -c` command line running Dovecot's `imap` binary pre-authenticated
    /// as `user` on stdin/stdout against this instance's mail: it first prints
    /// `* PREAUTH [CAPABILITY ...] Logged in as <user>`. Its log goes to
    /// stderr, keep that apart from stdout. When the tests run as root, stdin
    /// and stdout must be pipes (Dovecot refuses sockets there); mail is then
    /// accessed as the `dovecot` user.
    ///
    /// ```
    /// use std::io::{BufRead, BufReader};
    /// use std::process::{Command, Stdio};
    /// let server = imap4_testkit::Dovecot::start()?;
    /// let mut child = Command::new("sh")
    ///     .arg("-c")
    ///     .arg(server.stream_command("alice"))
    ///     .stdin(Stdio::piped())
    ///     .stdout(Stdio::piped())
    ///     .stderr(Stdio::null())
    ///     .spawn()?;
    /// let mut line = String::new();
    /// BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
    /// assert!(line.starts_with("* PREAUTH"));
    /// drop(child.stdin.take()); // EOF: imap exits
    /// child.wait()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stream_command(&self, user: &str) -> String {
        let home = self.home(user);
        let conf = self.config_file();
        format!(
            "exec env -i USER={user} HOME={home} PATH=/usr/bin:/bin /usr/lib/dovecot/imap -c {conf} \
             -o log_path=/dev/stderr -o info_log_path=/dev/stderr -o debug_log_path=/dev/stderr",
            user = shell_quote(user),
            home = shell_quote(&home.to_string_lossy()),
            conf = shell_quote(&conf.to_string_lossy()),
        )
    }

    /// Runs `doveadm -c <config> <args...>` against this instance, e.g.
    /// `["mailbox", "status", "-u", "alice", "messages", "INBOX"]`.
    pub fn doveadm(&self, args: &[&str]) -> io::Result<Output> {
        Command::new("doveadm")
            .arg("-c")
            .arg(self.config_file())
            .args(args)
            .stdin(Stdio::null())
            .output()
    }

    /// The HS256 key tokens are signed with (see [`Dovecot::oauth2_token`]).
    pub fn oauth2_key(&self) -> Vec<u8> {
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("imap4-testkit oauth2 key for {name}").into_bytes()
    }

    /// A JWT for `user`, valid for `seconds` from now (negative: expired
    /// that long ago), signed with the instance's key. Needs
    /// [`DovecotBuilder::oauth2`].
    pub fn oauth2_token(&self, user: &str, seconds: i64) -> String {
        let now = crate::oauth2::unix_now();
        let (iat, exp) = if seconds >= 0 {
            (now - 5, now + seconds)
        } else {
            (now + seconds - 3600, now + seconds)
        };
        crate::oauth2::jwt_hs256(&self.oauth2_key(), &crate::oauth2::claims(user, iat, exp))
    }

    /// The oauth2 passdb's settings and its key dictionary.
    fn write_oauth2_files(&self) -> io::Result<()> {
        use base64::Engine as _;
        let d = &self.dir;
        let key = base64::engine::general_purpose::STANDARD.encode(self.oauth2_key());
        // dict-fs maps the lookup key shared/<azp>/<alg>/<kid> below the
        // prefix.
        let keydir = d.join("oauth2-keys/default/HS256");
        fs::create_dir_all(&keydir)?;
        fs::write(keydir.join("default"), &key)?;
        fs::write(
            d.join("oauth2.conf.ext"),
            format!(
                "introspection_mode = local
                 local_validation_key_dict = fs:posix:prefix={}/oauth2-keys/
                 username_attribute = email
                 username_format = %Lu
",
                d.display()
            ),
        )?;
        Ok(())
    }

    /// Directories, users file, TLS files; homes owned by the mail uid.
    fn prepare(&self) -> io::Result<()> {
        let d = &self.dir;
        for sub in ["run", "state", "log", "home", "tls"] {
            fs::create_dir(d.join(sub))?;
        }
        tls::write_files(&d.join("tls"))?;
        let owner = self
            .ids
            .root
            .then_some((self.ids.mail_uid, self.ids.mail_gid));
        let mut users = String::new();
        let mut scram_users = String::new();
        for u in &self.users {
            let home = self.home(u);
            fs::create_dir(&home)?;
            let quota = match u.as_str() {
                "bob" => "100M",
                "bench" => "10G",
                _ => "1G",
            };
            users.push_str(&format!(
                "{u}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::userdb_quota_rule=*:storage={quota}\n",
                uid = self.ids.mail_uid,
                gid = self.ids.mail_gid,
                home = home.display(),
            ));
            scram_users.push_str(&format!("{u}:{SCRAM_SHA256_SECRET}\n"));
        }
        fs::write(d.join("users"), users)?;
        fs::write(d.join("users-scram"), scram_users)?;
        if self.oauth2 {
            self.write_oauth2_files()?;
        }
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(d.join("home"), Some(uid), Some(gid))?;
            for u in &self.users {
                std::os::unix::fs::chown(self.home(u), Some(uid), Some(gid))?;
            }
        }
        Ok(())
    }

    /// Picks ports, writes the config, starts Dovecot and waits for it;
    /// retries with new ports when one was taken in between.
    fn launch(&mut self) -> io::Result<()> {
        let token = format!(
            "imap4-testkit {}-{}",
            std::process::id(),
            self.dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let dir = self.dir.clone();
        let how = daemon::Launch {
            what: "dovecot",
            mark: &token,
            timeout: START_TIMEOUT,
            log: &|| log_of(&dir),
        };
        let (d, port, tls_port) = daemon::launch(&how, |port, tls_port| {
            self.port = port;
            self.tls_port = tls_port;
            fs::write(self.config_file(), self.config(&token))?;
            let out = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("log/stdout.log"))?;
            let err = out.try_clone()?;
            let mut command = Command::new("dovecot");
            command
                .arg("-F")
                .arg("-c")
                .arg(self.config_file())
                .stdout(out)
                .stderr(err);
            Daemon::spawn(
                &mut command,
                &self.dir,
                "dovecot (is dovecot-core installed?)",
            )
        })?;
        (self.port, self.tls_port) = (port, tls_port);
        self.daemon = Some(d);
        Ok(())
    }

    /// Stops the server (its whole process group) and the watchdog.
    fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop();
        }
    }

    fn config(&self, token: &str) -> String {
        let ids = self.ids;
        let ssl_dh = if Path::new("/usr/share/dovecot/dh.pem").exists() {
            "ssl_dh = </usr/share/dovecot/dh.pem"
        } else {
            ""
        };
        let rootless = if ids.root {
            ""
        } else {
            "# not root: chroot() is impossible\n\
             service imap-login {\n  chroot =\n}\n\
             service anvil {\n  chroot =\n}\n"
        };
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        CONFIG
            .replace("@OAUTH2@", if self.oauth2 { OAUTH2_CONFIG } else { "" })
            .replace(
                "@CLIENT_CERT@",
                if self.client_cert_auth {
                    CLIENT_CERT_CONFIG
                } else {
                    ""
                },
            )
            .replace("@IMAP_ZLIB@", if self.compress { " imap_zlib" } else { "" })
            .replace("@DIR@", &self.dir.to_string_lossy())
            .replace("@INSTANCE@", &name)
            .replace("@GREETING@", &format!("{token} Dovecot ready."))
            .replace("@INTERNAL_USER@", &ids.internal_user)
            .replace("@INTERNAL_GROUP@", &ids.internal_group)
            .replace("@LOGIN_USER@", &ids.login_user)
            .replace("@MAIL_UID@", &ids.mail_uid.to_string())
            .replace("@MAIL_GID@", &ids.mail_gid.to_string())
            .replace("@SSL_DH@", ssl_dh)
            .replace("@PORT@", &self.port.to_string())
            .replace("@TLS_PORT@", &self.tls_port.to_string())
            .replace("@ROOTLESS@", rootless)
            .replace("@AUTH_MECHANISMS@", &{
                let mut m = self.auth_mechanisms.clone();
                if self.client_cert_auth {
                    m.push_str(" external");
                }
                if self.oauth2 {
                    m.push_str(" xoauth2 oauthbearer");
                }
                m
            })
            .replace(
                "@IMAP_CAPABILITY@",
                &if self.sasl_ir {
                    String::new()
                } else {
                    format!("imap_capability = {CAPABILITY_WITHOUT_SASL_IR}")
                },
            )
    }
}

impl crate::ImapServer for Dovecot {
    fn kind(&self) -> crate::Kind {
        crate::Kind::Dovecot
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

    fn stream_command(&self, user: &str) -> Option<String> {
        Some(Dovecot::stream_command(self, user))
    }

    fn namespace(&self) -> crate::Namespace {
        crate::Namespace {
            prefix: "",
            delimiter: '/',
        }
    }

    fn quirks(&self) -> crate::Quirks {
        crate::Quirks {
            select_uidnext: true,
            append_keeps_date: true,
            append_keeps_flags: true,
            dense_uids: true,
            sees_appends_at_once: true,
            rename_missing_fails: true,
        }
    }

    fn log(&self) -> String {
        Dovecot::log(self)
    }

    fn fill(&self, user: &str, mailbox: &str, count: usize, seed: u64) -> io::Result<()> {
        Dovecot::fill(self, user, mailbox, count, seed)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        sys::remove_dir_retry(&self.dir);
    }
}

fn log_of(dir: &Path) -> String {
    let mut s = fs::read_to_string(dir.join("log/dovecot.log")).unwrap_or_default();
    s.push_str(&fs::read_to_string(dir.join("log/stdout.log")).unwrap_or_default());
    s
}

/// EXTERNAL with client certificates: verified against the kit's CA, user
/// name from the common name, no password for EXTERNAL (the certificate is
/// the credential; the userdb still has to know the user).
const CLIENT_CERT_CONFIG: &str = r#"ssl_ca = <@DIR@/tls/ca.pem
ssl_verify_client_cert = yes
# the test CA publishes no CRL
ssl_require_crl = no
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
passdb {
  driver = static
  args = nopassword=y
  mechanisms = external
}
"#;

/// OAuth 2.0: JWTs validated locally against the kit's key dictionary.
const OAUTH2_CONFIG: &str = r#"passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = @DIR@/oauth2.conf.ext
}
"#;

/// The configuration, after /work/shared's dovecot_start.sh recipe.
const CONFIG: &str = r#"# generated by imap4-testkit
instance_name = @INSTANCE@
base_dir = @DIR@/run
state_dir = @DIR@/state
log_path = @DIR@/log/dovecot.log
info_log_path = @DIR@/log/dovecot.log
debug_log_path = @DIR@/log/dovecot.log
protocols = imap
listen = 127.0.0.1
verbose_proctitle = yes
login_greeting = @GREETING@

default_internal_user = @INTERNAL_USER@
default_internal_group = @INTERNAL_GROUP@
default_login_user = @LOGIN_USER@
first_valid_uid = @MAIL_UID@
first_valid_gid = @MAIL_GID@
mail_uid = @MAIL_UID@
mail_gid = @MAIL_GID@

ssl = yes
ssl_cert = <@DIR@/tls/chain.pem
ssl_key = <@DIR@/tls/key.pem
@SSL_DH@
ssl_min_protocol = TLSv1.2

# test fixture: plaintext auth allowed on the non-TLS port
disable_plaintext_auth = no
auth_mechanisms = @AUTH_MECHANISMS@
@IMAP_CAPABILITY@
@CLIENT_CERT@
@OAUTH2@
auth_cache_size = 0
auth_verbose = yes
# tests with wrong passwords should not wait (the default is 2 s)
auth_failure_delay = 0

# SCRAM-SHA-256 against stored SCRAM keys, as a server that offers it
# should keep them (verifying against the plaintext would cost Dovecot 4,096
# PBKDF2 rounds at every login); every other mechanism against the plaintext
passdb {
  driver = passwd-file
  mechanisms = scram-sha-256
  args = username_format=%u @DIR@/users-scram
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u @DIR@/users
}
userdb {
  driver = passwd-file
  args = username_format=%u @DIR@/users
}

mail_location = maildir:~/Maildir
mail_attribute_dict = file:%h/Maildir/dovecot-attributes
mail_plugins = $mail_plugins quota acl zlib
mailbox_list_index = yes
maildir_very_dirty_syncs = no
# throw-away test data: no need to wait for the disk
mail_fsync = never

namespace inbox {
  type = private
  separator = /
  prefix =
  inbox = yes
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = create
  }
}

protocol imap {
  mail_plugins = $mail_plugins imap_quota imap_acl@IMAP_ZLIB@
  imap_metadata = yes
  mail_max_userip_connections = 200
  imap_idle_notify_interval = 2 mins
}

plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1G
  quota_grace = 0
  acl = vfile
  acl_globals_only = no
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = @PORT@
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = @TLS_PORT@
    ssl = yes
  }
  # one login process proxies many connections
  service_count = 0
  process_min_avail = 1
  client_limit = 1000
}
service imap {
  process_limit = 1024
  # a mail process ready for the next login (Dovecot starts one per
  # connection; starting it after the password check cost 3-6 ms per login)
  process_min_avail = 2
}
# no growing delays after failed logins from 127.0.0.1 (the auth penalty):
# auth cannot reach anvil's penalty socket, so the penalty is off
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# pre-authenticated imap processes started by hand (stream mode) may report
# to the stats service whatever their uid
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
@ROOTLESS@"#;
