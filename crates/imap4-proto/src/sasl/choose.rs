//! Picking the strongest login method a server offers, without ever
//! sending a password in plaintext unless explicitly allowed.

use super::scram::{DEFAULT_MAX_ITERATIONS, DEFAULT_MIN_ITERATIONS};
use super::{ChannelBinding, Login, Mechanism, Plain, Scram, ScramHash, Secret};
use crate::SessionError;

/// A way to log in, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum LoginMethod {
    /// SCRAM-SHA-256-PLUS, bound to the TLS channel.
    ScramSha256Plus,
    /// SCRAM-SHA-1-PLUS, bound to the TLS channel.
    ScramSha1Plus,
    /// SCRAM-SHA-256.
    ScramSha256,
    /// SCRAM-SHA-1.
    ScramSha1,
    /// SASL PLAIN (the password travels, protected only by TLS).
    Plain,
    /// SASL LOGIN (likewise).
    Login,
    /// The LOGIN command (likewise).
    LoginCommand,
}

impl LoginMethod {
    /// The SASL mechanism name, or `"LOGIN command"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            LoginMethod::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            LoginMethod::ScramSha256 => "SCRAM-SHA-256",
            LoginMethod::ScramSha1 => "SCRAM-SHA-1",
            LoginMethod::Plain => "PLAIN",
            LoginMethod::Login => "LOGIN",
            LoginMethod::LoginCommand => "LOGIN command",
        }
    }

    /// The same SCRAM without channel binding, for the `-PLUS` methods.
    pub fn without_channel_binding(self) -> Option<LoginMethod> {
        match self {
            LoginMethod::ScramSha256Plus => Some(LoginMethod::ScramSha256),
            LoginMethod::ScramSha1Plus => Some(LoginMethod::ScramSha1),
            _ => None,
        }
    }

    /// Whether the password itself goes to the server (protected only by
    /// the connection's TLS, if any).
    pub fn reveals_password(self) -> bool {
        matches!(
            self,
            LoginMethod::Plain | LoginMethod::Login | LoginMethod::LoginCommand
        )
    }
}

/// Settings of the automatic login (`login_auto` in the drivers' typed
/// API): which methods may be used, and SCRAM's limits.
#[derive(Debug, Clone)]
pub struct AutoLogin {
    /// Allows PLAIN, LOGIN and the LOGIN command on a connection without
    /// TLS, which sends the password in plaintext to anyone on the path.
    /// Off by default; for test servers and trusted local links only.
    pub danger_allow_plaintext_password: bool,
    /// The smallest SCRAM iteration count accepted (default 4096).
    pub scram_min_iterations: u32,
    /// The largest SCRAM iteration count accepted (default 1,000,000).
    pub scram_max_iterations: u32,
    /// Never fall back from a `-PLUS` SCRAM to the same SCRAM without
    /// channel binding. Off by default: servers that advertise `-PLUS` but
    /// bind only with `tls-unique` (Cyrus IMAP 3.6, GNU Mailutils 3.15),
    /// which TLS 1.3 does not define, refuse the `tls-exporter` binding;
    /// `login_auto` then retries once without binding (the gs2 flag `n`).
    /// A man in the middle able to cause that refusal could as well strip
    /// `-PLUS` from the capabilities it relays; set this to make the
    /// binding mandatory whenever the server advertises it.
    pub require_channel_binding: bool,
    /// Only these methods, the first the server offers winning, instead of
    /// the strongest-first order (`None`, the default). For servers whose
    /// SCRAM cannot work (Dovecot advertises it even when its password
    /// database keeps hashes SCRAM cannot use) and for tests. The
    /// plaintext rule still holds: PLAIN, LOGIN and the LOGIN command are
    /// skipped without TLS unless
    /// [`AutoLogin::danger_allow_plaintext_password`]; a `-PLUS` method is
    /// skipped without channel binding.
    ///
    /// ```
    /// use imap4_proto::sasl::{AutoLogin, LoginMethod};
    /// let only_plain = AutoLogin {
    ///     methods: Some(vec![LoginMethod::Plain]),
    ///     ..AutoLogin::default()
    /// };
    /// let caps = ["IMAP4rev1".to_string(), "AUTH=SCRAM-SHA-256".into(), "AUTH=PLAIN".into()];
    /// assert_eq!(only_plain.choose(&caps, true, false).unwrap(), LoginMethod::Plain);
    /// assert!(only_plain.choose(&caps, false, false).is_err(), "no TLS: no PLAIN");
    /// ```
    pub methods: Option<Vec<LoginMethod>>,
}

impl Default for AutoLogin {
    fn default() -> Self {
        AutoLogin {
            danger_allow_plaintext_password: false,
            scram_min_iterations: DEFAULT_MIN_ITERATIONS,
            scram_max_iterations: DEFAULT_MAX_ITERATIONS,
            require_channel_binding: false,
            methods: None,
        }
    }
}

impl AutoLogin {
    /// The strongest method in `capabilities` (as the server advertised
    /// them; `AUTH=...` entries): SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS
    /// when `channel_binding` (the TLS connection provides a
    /// `tls-exporter`), SCRAM-SHA-256, SCRAM-SHA-1, then, only when `tls`
    /// (or plaintext passwords are allowed), PLAIN, LOGIN and the LOGIN
    /// command (unless `LOGINDISABLED`).
    pub fn choose(
        &self,
        capabilities: &[String],
        tls: bool,
        channel_binding: bool,
    ) -> Result<LoginMethod, SessionError> {
        let has = |c: &str| capabilities.iter().any(|x| x.eq_ignore_ascii_case(c));
        let cleartext_ok = tls || self.danger_allow_plaintext_password;
        if let Some(methods) = &self.methods {
            let usable = |m: LoginMethod| {
                (cleartext_ok || !m.reveals_password())
                    && (channel_binding || m.without_channel_binding().is_none())
                    && match m {
                        LoginMethod::LoginCommand => !has("LOGINDISABLED"),
                        m => has(&format!("AUTH={}", m.as_str())),
                    }
            };
            if let Some(m) = methods.iter().copied().find(|m| usable(*m)) {
                return Ok(m);
            }
            let asked: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            let why = if cleartext_ok {
                "the server offers none of them"
            } else {
                "the server offers none of them that keeps the password off a connection \
                 without TLS"
            };
            return Err(SessionError::Usage(format!(
                "no way to log in with [{}]: {why}; capabilities: [{}]",
                asked.join(", "),
                capabilities.join(" ")
            )));
        }
        let mut order = Vec::new();
        if channel_binding {
            order.push((LoginMethod::ScramSha256Plus, "AUTH=SCRAM-SHA-256-PLUS"));
            order.push((LoginMethod::ScramSha1Plus, "AUTH=SCRAM-SHA-1-PLUS"));
        }
        order.push((LoginMethod::ScramSha256, "AUTH=SCRAM-SHA-256"));
        order.push((LoginMethod::ScramSha1, "AUTH=SCRAM-SHA-1"));
        if cleartext_ok {
            order.push((LoginMethod::Plain, "AUTH=PLAIN"));
            order.push((LoginMethod::Login, "AUTH=LOGIN"));
        }
        if let Some((m, _)) = order.iter().find(|(_, cap)| has(cap)) {
            return Ok(*m);
        }
        if cleartext_ok && !has("LOGINDISABLED") {
            return Ok(LoginMethod::LoginCommand);
        }
        let offered: Vec<&str> = capabilities
            .iter()
            .filter_map(|c| {
                c.get(..5)
                    .filter(|p| p.eq_ignore_ascii_case("AUTH="))
                    .map(|_| &c[5..])
            })
            .collect();
        let why = if cleartext_ok {
            "the server offers no usable method (LOGINDISABLED, and no known mechanism)".to_string()
        } else {
            "every method the server offers would send the password in plaintext on this \
             connection without TLS (use TLS, or AutoLogin::danger_allow_plaintext_password)"
                .to_string()
        };
        Err(SessionError::Usage(format!(
            "no way to log in: {why}; mechanisms offered: [{}]",
            offered.join(" ")
        )))
    }

    /// The method to retry with after `method` failed with `failure`: the
    /// same SCRAM without channel binding, when `method` is a `-PLUS` one
    /// the server refused (NO or BAD, before it proved anything), the
    /// server offers the plain variant, and
    /// [`AutoLogin::require_channel_binding`] is off.
    pub fn fallback(
        &self,
        method: LoginMethod,
        failure: Option<&crate::AuthFailed>,
        capabilities: &[String],
    ) -> Option<LoginMethod> {
        let plain = method.without_channel_binding()?;
        let failure = failure?;
        let offered = capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&format!("AUTH={}", plain.as_str())));
        (!self.require_channel_binding
            && offered
            && failure.refused_by_server()
            && failure.sasl.is_none())
        .then_some(plain)
    }

    /// The mechanism for `method`, or `None` for the LOGIN command.
    /// `tls_exporter` is the channel binding data, if the connection has
    /// it (required for the `-PLUS` methods; with a non-PLUS SCRAM it
    /// makes the client say it supports channel binding).
    pub fn mechanism(
        &self,
        method: LoginMethod,
        user: &str,
        secret: &Secret,
        tls_exporter: Option<Vec<u8>>,
    ) -> Option<Box<dyn Mechanism>> {
        let scram = |hash, plus: bool| {
            let binding = match (plus, tls_exporter.clone()) {
                (true, Some(d)) => ChannelBinding::TlsExporter(d),
                (true, None) => ChannelBinding::TlsExporter(Vec::new()),
                (false, Some(_)) => ChannelBinding::Unused,
                (false, None) => ChannelBinding::None,
            };
            Box::new(
                Scram::new(hash, user, secret.clone())
                    .with_channel_binding(binding)
                    .with_iteration_limits(self.scram_min_iterations, self.scram_max_iterations),
            ) as Box<dyn Mechanism>
        };
        Some(match method {
            LoginMethod::ScramSha256Plus => scram(ScramHash::Sha256, true),
            LoginMethod::ScramSha1Plus => scram(ScramHash::Sha1, true),
            LoginMethod::ScramSha256 => scram(ScramHash::Sha256, false),
            LoginMethod::ScramSha1 => scram(ScramHash::Sha1, false),
            LoginMethod::Plain => Box::new(Plain::new(user, secret.clone())),
            LoginMethod::Login => Box::new(Login::new(user, secret.clone())),
            LoginMethod::LoginCommand => return None,
        })
    }
}
