//! Accounts: the configuration file, URLs, flags, and where the password
//! comes from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::cli::{AuthMode, CompressMode, Global, TlsMode};
use crate::output::{Class, Failure};

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The account used when none is named.
    pub default: Option<String>,
    /// The accounts by name.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
}

/// One account in the configuration file; every field can also be given
/// as a flag, which wins.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The server's host name.
    pub host: Option<String>,
    /// The port (993 with implicit TLS, else 143).
    pub port: Option<u16>,
    /// implicit, starttls or none.
    pub tls: Option<TlsMode>,
    /// The login name.
    pub user: Option<String>,
    /// How a password logs in: auto, scram, plain or login.
    pub auth: Option<AuthMode>,
    /// A shell command printing the password.
    pub password_command: Option<String>,
    /// An environment variable holding the password.
    pub password_env: Option<String>,
    /// Look the password up in ~/.netrc (default true).
    pub netrc: Option<bool>,
    /// A shell command printing an OAuth2 access token.
    pub token_command: Option<String>,
    /// CA certificates to trust (PEM).
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM).
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub client_key: Option<PathBuf>,
    /// DANGEROUS: accept any certificate.
    pub insecure: Option<bool>,
    /// The default mailbox (else INBOX).
    pub mailbox: Option<String>,
    /// Seconds for connecting and for each response.
    pub timeout: Option<u64>,
    /// COMPRESS=DEFLATE: off, on or auto.
    pub compress: Option<CompressMode>,
}

/// Everything needed to connect and log in.
#[derive(Debug, Clone)]
pub struct Account {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub auth: AuthMode,
    pub password_command: Option<String>,
    pub password_env: Option<String>,
    pub netrc: bool,
    pub token_command: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub insecure: bool,
    pub mailbox: String,
    pub timeout: Option<u64>,
    pub compress: CompressMode,
    /// A password already read (by `watch`, which reconnects without
    /// asking again); never printed.
    pub password: Option<Secret>,
}

/// A password held in memory; its `Debug` hides it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The default configuration file's path.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("imap4/config.toml"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/imap4/config.toml"))
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::new(Class::Usage, message)
}

/// Reads the configuration file: the one named (which must exist), or
/// the default one if it exists.
pub fn load(path: Option<&Path>) -> Result<ConfigFile, Failure> {
    let (path, must) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_config_path() {
            Some(p) => (p, false),
            None => return Ok(ConfigFile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !must && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ConfigFile::default())
        }
        Err(e) => return Err(usage(format!("cannot read {}: {e}", path.display()))),
    };
    toml::from_str(&text).map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// What an `imap://` or `imaps://` URL says.
#[derive(Debug, PartialEq)]
pub struct UrlParts {
    pub host: String,
    pub port: Option<u16>,
    pub tls: TlsMode,
    pub user: Option<String>,
    pub mailbox: Option<String>,
}

/// Parses `imap[s]://[user@]host[:port][/mailbox]` (RFC 5092's server and
/// mailbox parts; `;AUTH=` and a password in the URL are refused).
pub fn parse_url(s: &str) -> Result<UrlParts, Failure> {
    let u = url::Url::parse(s).map_err(|e| usage(format!("bad URL {s:?}: {e}")))?;
    let tls = match u.scheme() {
        "imaps" => TlsMode::Implicit,
        "imap" => TlsMode::Starttls,
        other => return Err(usage(format!("not an IMAP URL (scheme {other})"))),
    };
    if u.password().is_some() {
        return Err(usage(
            "a password does not belong in a URL (it ends up in shell history); use password_command, an environment variable, ~/.netrc or the prompt",
        ));
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| usage(format!("no host in URL {s:?}")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let decode = |t: &str| {
        url::form_urlencoded::parse(format!("x={}", t.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut user = (!u.username().is_empty()).then(|| decode(u.username()));
    if let Some(name) = &user {
        if name.to_ascii_lowercase().contains(";auth=") {
            return Err(usage(
                "URL ;AUTH= is not supported: use --token-command for OAuth2",
            ));
        }
        if name.is_empty() {
            user = None;
        }
    }
    let path = u.path().trim_start_matches('/');
    let mailbox = (!path.is_empty()).then(|| decode(path));
    Ok(UrlParts {
        host,
        port: u.port(),
        tls,
        user,
        mailbox,
    })
}

/// Resolves the account from the configuration, a URL and the flags
/// (flags win over the URL, which wins over the configuration).
pub fn resolve(global: &Global, file: &ConfigFile) -> Result<Account, Failure> {
    let mut base = AccountConfig::default();
    let mut url = None;
    match global.account.as_deref() {
        Some(a) if a.contains("://") => url = Some(parse_url(a)?),
        Some(name) => {
            base = file.accounts.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = file.accounts.keys().map(String::as_str).collect();
                usage(format!(
                    "no account {name:?} in the configuration (accounts: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            })?;
        }
        None => {
            if let Some(name) = &file.default {
                base = file.accounts.get(name).cloned().ok_or_else(|| {
                    usage(format!(
                        "the default account {name:?} is not in the configuration"
                    ))
                })?;
            } else if file.accounts.len() == 1 {
                base = file.accounts.values().next().cloned().unwrap_or_default();
            } else if !file.accounts.is_empty() && global.host.is_none() {
                return Err(usage(
                    "several accounts and no `default`: name one with --account",
                ));
            }
        }
    }
    if let Some(u) = url {
        base.host = Some(u.host);
        base.port = u.port.or(base.port);
        base.tls = Some(u.tls);
        base.user = u.user.or(base.user);
        base.mailbox = u.mailbox.or(base.mailbox);
    }
    let host = global
        .host
        .clone()
        .or(base.host)
        .ok_or_else(|| usage("no server: give an account, an imaps:// URL or --host"))?;
    let port = global.port.or(base.port);
    let tls = global.tls.or(base.tls).unwrap_or(match port {
        Some(993) | None => TlsMode::Implicit,
        _ => TlsMode::Starttls,
    });
    let port = port.unwrap_or(if tls == TlsMode::Implicit { 993 } else { 143 });
    let user = global
        .user
        .clone()
        .or(base.user)
        .or_else(|| std::env::var("USER").ok())
        .ok_or_else(|| usage("no user name: give --user or `user` in the account"))?;
    let client_cert = match (
        global.client_cert.clone().or(base.client_cert),
        global.client_key.clone().or(base.client_key),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(usage(
                "a client certificate needs both client_cert and client_key",
            ))
        }
    };
    Ok(Account {
        host,
        port,
        tls,
        user,
        auth: global.auth.or(base.auth).unwrap_or(AuthMode::Auto),
        password_command: global.password_command.clone().or(base.password_command),
        password_env: global.password_env.clone().or(base.password_env),
        netrc: base.netrc.unwrap_or(true),
        token_command: global.token_command.clone().or(base.token_command),
        ca_file: global.ca_file.clone().or(base.ca_file),
        client_cert,
        insecure: global.insecure || base.insecure.unwrap_or(false),
        mailbox: base.mailbox.unwrap_or_else(|| "INBOX".to_string()),
        timeout: global.timeout.or(base.timeout),
        compress: global
            .compress
            .or(base.compress)
            .unwrap_or(CompressMode::Auto),
        password: None,
    })
}

/// What to log in with.
pub enum Credential {
    /// A password (LOGIN, or the best SASL mechanism offered).
    Password(String),
    /// An OAuth2 access token.
    Token(String),
}

/// Runs `command` with `sh -c` and returns its first line of output.
fn run_secret_command(what: &str, command: &str) -> Result<String, Failure> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::new(Class::Auth, format!("cannot run the {what}: {e}")))?;
    if !out.status.success() {
        return Err(Failure::new(
            Class::Auth,
            format!("the {what} failed ({})", out.status),
        ));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| Failure::new(Class::Auth, format!("the {what} printed non-UTF-8")))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        return Err(Failure::new(
            Class::Auth,
            format!("the {what} printed nothing"),
        ));
    }
    Ok(line)
}

/// The password of `login` on `host` in a netrc file, if any.
pub fn netrc_lookup(text: &str, host: &str, login: &str) -> Option<String> {
    let mut words = text.split_whitespace();
    let mut best: Option<String> = None;
    let mut fallback: Option<String> = None;
    // Entries: `machine NAME` or `default`, then `login L`, `password P`…
    // (Some(true): this host, Some(false): another one, None: `default`)
    let mut current: Option<(Option<bool>, Option<String>, Option<String>)> = None;
    let finish = |entry: Option<(Option<bool>, Option<String>, Option<String>)>,
                  best: &mut Option<String>,
                  fallback: &mut Option<String>| {
        if let Some((is_host, l, Some(p))) = entry {
            let login_ok = l.as_deref().is_none_or(|l| l == login);
            match is_host {
                Some(true) if login_ok && best.is_none() => *best = Some(p),
                None if login_ok && fallback.is_none() => *fallback = Some(p),
                _ => {}
            }
        }
    };
    while let Some(w) = words.next() {
        match w {
            "machine" => {
                finish(current.take(), &mut best, &mut fallback);
                let name = words.next()?;
                current = Some((Some(name.eq_ignore_ascii_case(host)), None, None));
            }
            "default" => {
                finish(current.take(), &mut best, &mut fallback);
                current = Some((None, None, None));
            }
            "login" => {
                let v = words.next()?.to_string();
                if let Some(c) = current.as_mut() {
                    c.1 = Some(v);
                }
            }
            "password" => {
                let v = words.next()?.to_string();
                if let Some(c) = current.as_mut() {
                    c.2 = Some(v);
                }
            }
            "account" => {
                words.next();
            }
            "macdef" => {
                finish(current.take(), &mut best, &mut fallback);
                // a macro runs to the next empty line; skip it crudely
                break;
            }
            _ => {}
        }
    }
    finish(current.take(), &mut best, &mut fallback);
    best.or(fallback)
}

/// Finds the credential: the token command, the password command, the
/// environment variable (the account's, then IMAP4_PASSWORD), ~/.netrc,
/// then a prompt on the terminal.
pub fn credential(a: &Account) -> Result<Credential, Failure> {
    if let Some(c) = &a.token_command {
        return Ok(Credential::Token(run_secret_command("token command", c)?));
    }
    if let Some(p) = &a.password {
        return Ok(Credential::Password(p.0.clone()));
    }
    if let Some(c) = &a.password_command {
        return Ok(Credential::Password(run_secret_command(
            "password command",
            c,
        )?));
    }
    for var in a
        .password_env
        .iter()
        .map(String::as_str)
        .chain(["IMAP4_PASSWORD"])
    {
        if let Ok(p) = std::env::var(var) {
            if !p.is_empty() {
                return Ok(Credential::Password(p));
            }
        }
    }
    if a.netrc {
        let path = std::env::var_os("NETRC")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netrc")));
        if let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) {
            if let Some(p) = netrc_lookup(&text, &a.host, &a.user) {
                return Ok(Credential::Password(p));
            }
        }
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let p = rpassword::prompt_password(format!("Password for {}@{}: ", a.user, a.host))
            .map_err(|e| Failure::new(Class::Auth, format!("cannot read the password: {e}")))?;
        return Ok(Credential::Password(p));
    }
    Err(Failure::new(
        Class::Auth,
        format!(
            "no password for {}@{}: set password_command, IMAP4_PASSWORD, ~/.netrc, or run on a terminal to be asked",
            a.user, a.host
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("imaps://alice@imap.example.org/Archive%2F2019").unwrap();
        assert_eq!(u.host, "imap.example.org");
        assert_eq!(u.tls, TlsMode::Implicit);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.mailbox.as_deref(), Some("Archive/2019"));
        let u = parse_url("imap://bob%40example.org@[::1]:1143").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, Some(1143));
        assert_eq!(u.user.as_deref(), Some("bob@example.org"));
        assert_eq!(u.tls, TlsMode::Starttls);
        assert!(parse_url("imaps://a:pw@host").is_err());
        assert!(parse_url("http://host").is_err());
        assert!(parse_url("imap://a;AUTH=*@host").is_err());
    }

    #[test]
    fn netrc() {
        let t = "machine other login alice password no\n\
                 machine imap.example.org login bob password b0b\n\
                 machine imap.example.org login alice password s3cret\n\
                 default login alice password fallback\n";
        assert_eq!(
            netrc_lookup(t, "imap.example.org", "alice").as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            netrc_lookup(t, "IMAP.example.org", "bob").as_deref(),
            Some("b0b")
        );
        assert_eq!(
            netrc_lookup(t, "elsewhere", "alice").as_deref(),
            Some("fallback")
        );
        assert_eq!(netrc_lookup(t, "elsewhere", "carol"), None);
    }
}
