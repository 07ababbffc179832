//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), with or without
//! `tls-exporter` channel binding (the `-PLUS` variants, RFC 9266).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{escape_saslname, Mechanism, SaslError, Secret, Wiped};

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SHA-1 (SCRAM-SHA-1, RFC 5802).
    Sha1,
    /// SHA-256 (SCRAM-SHA-256, RFC 7677).
    Sha256,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => hmac_with::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => hmac_with::<Hmac<Sha256>>(key, data),
        }
    }

    fn verify(self, key: &[u8], data: &[u8], signature: &[u8]) -> bool {
        match self {
            ScramHash::Sha1 => verify_with::<Hmac<Sha1>>(key, data, signature),
            ScramHash::Sha256 => verify_with::<Hmac<Sha256>>(key, data, signature),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// PBKDF2 with this hash's HMAC (SCRAM's `Hi`).
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Wiped {
        match self {
            ScramHash::Sha1 => {
                let mut out = vec![0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out);
                Wiped(out)
            }
            ScramHash::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                Wiped(out)
            }
        }
    }
}

fn hmac_with<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: this never fails.
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Constant-time comparison of `signature` with HMAC(key, data).
fn verify_with<M: Mac + KeyInit>(key: &[u8], data: &[u8], signature: &[u8]) -> bool {
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.verify_slice(signature).is_ok()
        }
        Err(_) => false,
    }
}

/// Channel binding for SCRAM (the GS2 header's flag).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ChannelBinding {
    /// `n`: the client does not support channel binding (no TLS, or TLS
    /// without a usable exporter).
    #[default]
    None,
    /// `y`: the client could bind to its TLS channel but the server offers
    /// no `-PLUS` mechanism. A server that does support channel binding
    /// refuses this, which defeats an attacker who stripped `-PLUS` from
    /// the capabilities.
    Unused,
    /// `p=tls-exporter` (RFC 9266): the TLS exporter's 32 bytes for the
    /// label `EXPORTER-Channel-Binding` with no context. The mechanism
    /// becomes `SCRAM-*-PLUS`.
    TlsExporter(Vec<u8>),
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelBinding::None => f.write_str("None"),
            ChannelBinding::Unused => f.write_str("Unused"),
            ChannelBinding::TlsExporter(d) => write!(f, "TlsExporter(<{} bytes>)", d.len()),
        }
    }
}

/// An error a SCRAM server reported in its final message (`e=`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScramServerError {
    /// `invalid-encoding`
    InvalidEncoding,
    /// `extensions-not-supported`
    ExtensionsNotSupported,
    /// `invalid-proof`: wrong password.
    InvalidProof,
    /// `channel-bindings-dont-match`: the TLS channel was not the
    /// server's (a man in the middle?).
    ChannelBindingsDontMatch,
    /// `server-does-support-channel-binding`: the client said the server
    /// did not offer channel binding, but it does (a downgrade attack?).
    ServerDoesSupportChannelBinding,
    /// `channel-binding-not-supported`
    ChannelBindingNotSupported,
    /// `unsupported-channel-binding-type`
    UnsupportedChannelBindingType,
    /// `unknown-user`
    UnknownUser,
    /// `invalid-username-encoding`
    InvalidUsernameEncoding,
    /// `no-resources`
    NoResources,
    /// `other-error`
    OtherError,
    /// Any other value, as sent (truncated to 256 characters).
    Other(String),
}

impl ScramServerError {
    /// Decodes an `e=` value.
    pub fn parse(value: &str) -> Self {
        match value {
            "invalid-encoding" => ScramServerError::InvalidEncoding,
            "extensions-not-supported" => ScramServerError::ExtensionsNotSupported,
            "invalid-proof" => ScramServerError::InvalidProof,
            "channel-bindings-dont-match" => ScramServerError::ChannelBindingsDontMatch,
            "server-does-support-channel-binding" => {
                ScramServerError::ServerDoesSupportChannelBinding
            }
            "channel-binding-not-supported" => ScramServerError::ChannelBindingNotSupported,
            "unsupported-channel-binding-type" => ScramServerError::UnsupportedChannelBindingType,
            "unknown-user" => ScramServerError::UnknownUser,
            "invalid-username-encoding" => ScramServerError::InvalidUsernameEncoding,
            "no-resources" => ScramServerError::NoResources,
            "other-error" => ScramServerError::OtherError,
            other => ScramServerError::Other(other.chars().take(256).collect()),
        }
    }

    /// The value as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ScramServerError::InvalidEncoding => "invalid-encoding",
            ScramServerError::ExtensionsNotSupported => "extensions-not-supported",
            ScramServerError::InvalidProof => "invalid-proof",
            ScramServerError::ChannelBindingsDontMatch => "channel-bindings-dont-match",
            ScramServerError::ServerDoesSupportChannelBinding => {
                "server-does-support-channel-binding"
            }
            ScramServerError::ChannelBindingNotSupported => "channel-binding-not-supported",
            ScramServerError::UnsupportedChannelBindingType => "unsupported-channel-binding-type",
            ScramServerError::UnknownUser => "unknown-user",
            ScramServerError::InvalidUsernameEncoding => "invalid-username-encoding",
            ScramServerError::NoResources => "no-resources",
            ScramServerError::OtherError => "other-error",
            ScramServerError::Other(s) => s,
        }
    }
}

impl fmt::Display for ScramServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The default largest iteration count accepted from a server.
pub const DEFAULT_MAX_ITERATIONS: u32 = 1_000_000;
/// The default smallest iteration count accepted (RFC 7677 §4: at least
/// 4096).
pub const DEFAULT_MIN_ITERATIONS: u32 = 4096;

enum State {
    Initial,
    ClientFirstSent {
        gs2_header: String,
        client_first_bare: String,
        nonce: String,
        password: Secret,
    },
    ClientFinalSent {
        server_key: Wiped,
        auth_message: Vec<u8>,
    },
    Verified,
    Failed,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initial => "Initial",
            State::ClientFirstSent { .. } => "ClientFirstSent",
            State::ClientFinalSent { .. } => "ClientFinalSent",
            State::Verified => "Verified",
            State::Failed => "Failed",
        })
    }
}

/// SCRAM-SHA-1, SCRAM-SHA-256 and their `-PLUS` variants.
///
/// The password is prepared with SASLprep; the client nonce comes from the
/// operating system's CSPRNG unless given ([`Scram::with_nonce`], for
/// tests). The server's final message is verified: a server that does not
/// know the password fails the exchange with
/// [`SaslError::ServerSignatureMismatch`], and one that skips its proof
/// with [`SaslError::ServerNotVerified`]. The iteration count the server
/// asks for must lie in 4096..=1,000,000 unless changed with
/// [`Scram::with_iteration_limits`].
#[derive(Debug)]
pub struct Scram {
    hash: ScramHash,
    user: String,
    password: Secret,
    authzid: Option<String>,
    binding: ChannelBinding,
    nonce: Option<String>,
    min_iterations: u32,
    max_iterations: u32,
    state: State,
}

impl Scram {
    /// SCRAM with `hash` for `user` and `password`, no channel binding.
    pub fn new(hash: ScramHash, user: &str, password: impl Into<Secret>) -> Self {
        Scram {
            hash,
            user: user.to_string(),
            password: password.into(),
            authzid: None,
            binding: ChannelBinding::None,
            nonce: None,
            min_iterations: DEFAULT_MIN_ITERATIONS,
            max_iterations: DEFAULT_MAX_ITERATIONS,
            state: State::Initial,
        }
    }

    /// SCRAM-SHA-1.
    pub fn sha1(user: &str, password: impl Into<Secret>) -> Self {
        Scram::new(ScramHash::Sha1, user, password)
    }

    /// SCRAM-SHA-256.
    pub fn sha256(user: &str, password: impl Into<Secret>) -> Self {
        Scram::new(ScramHash::Sha256, user, password)
    }

    /// SCRAM-SHA-1-PLUS bound to the TLS channel by `tls_exporter` (see
    /// [`ChannelBinding::TlsExporter`]).
    pub fn sha1_plus(user: &str, password: impl Into<Secret>, tls_exporter: Vec<u8>) -> Self {
        Scram::sha1(user, password).with_channel_binding(ChannelBinding::TlsExporter(tls_exporter))
    }

    /// SCRAM-SHA-256-PLUS bound to the TLS channel by `tls_exporter`.
    pub fn sha256_plus(user: &str, password: impl Into<Secret>, tls_exporter: Vec<u8>) -> Self {
        Scram::sha256(user, password)
            .with_channel_binding(ChannelBinding::TlsExporter(tls_exporter))
    }

    /// Sets the channel binding (and so whether this is a `-PLUS`
    /// mechanism).
    pub fn with_channel_binding(mut self, binding: ChannelBinding) -> Self {
        self.binding = binding;
        self
    }

    /// Acts as `authzid` (authorization identity).
    pub fn with_authzid(mut self, authzid: &str) -> Self {
        self.authzid = Some(authzid.to_string());
        self
    }

    /// Uses this client nonce instead of a random one (for tests against
    /// known exchanges; printable ASCII without `,`). Never reuse a nonce
    /// with a real server.
    pub fn with_nonce(mut self, nonce: &str) -> Self {
        self.nonce = Some(nonce.to_string());
        self
    }

    /// The iteration counts accepted from the server (defaults
    /// 4096..=1,000,000). The minimum keeps a man in the middle from
    /// weakening the proof it captures; the maximum keeps a hostile server
    /// from burning CPU.
    pub fn with_iteration_limits(mut self, min: u32, max: u32) -> Self {
        self.min_iterations = min.max(1);
        self.max_iterations = max;
        self
    }

    /// The hash function.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// Whether the server proved that it knows the password.
    pub fn is_verified(&self) -> bool {
        matches!(self.state, State::Verified)
    }

    fn fail(&mut self, e: SaslError) -> SaslError {
        self.state = State::Failed;
        e
    }

    fn client_first(&mut self) -> Result<Vec<u8>, SaslError> {
        let user = stringprep::saslprep(&self.user)
            .map_err(|e| SaslError::InvalidCredential(format!("user name: SASLprep: {e}")))?;
        let password = stringprep::saslprep(self.password.expose())
            .map_err(|e| SaslError::InvalidCredential(format!("password: SASLprep: {e}")))?;
        let password = Secret::new(password.into_owned());
        let authzid = match &self.authzid {
            Some(a) => Some(stringprep::saslprep(a).map_err(|e| {
                SaslError::InvalidCredential(format!("authorization identity: SASLprep: {e}"))
            })?),
            None => None,
        };
        let nonce = match &self.nonce {
            Some(n) => n.clone(),
            None => random_nonce()?,
        };
        if nonce.is_empty() || !nonce.bytes().all(is_nonce_char) {
            return Err(SaslError::InvalidCredential(
                "the client nonce must be printable ASCII without ','".into(),
            ));
        }
        let flag = match &self.binding {
            ChannelBinding::None => "n".to_string(),
            ChannelBinding::Unused => "y".to_string(),
            ChannelBinding::TlsExporter(data) => {
                if data.is_empty() {
                    return Err(SaslError::ChannelBinding(
                        "no tls-exporter data".to_string(),
                    ));
                }
                "p=tls-exporter".to_string()
            }
        };
        let gs2_header = match authzid {
            Some(a) => format!("{flag},a={},", escape_saslname(&a)),
            None => format!("{flag},,"),
        };
        let client_first_bare = format!("n={},r={nonce}", escape_saslname(&user));
        let message = format!("{gs2_header}{client_first_bare}").into_bytes();
        self.state = State::ClientFirstSent {
            gs2_header,
            client_first_bare,
            nonce,
            password,
        };
        Ok(message)
    }

    /// Answers the server-first message with the client-final message.
    fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, SaslError> {
        let State::ClientFirstSent {
            gs2_header,
            client_first_bare,
            nonce,
            password,
        } = std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(SaslError::UnexpectedChallenge);
        };
        let text = std::str::from_utf8(server_first)
            .map_err(|_| SaslError::Malformed("server-first-message is not UTF-8".into()))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(SaslError::Scram(ScramServerError::parse(e)));
        }
        let mut attrs = text.split(',');
        let server_nonce = attribute(attrs.next(), 'r', "nonce")?;
        let salt = attribute(attrs.next(), 's', "salt")?;
        let iterations = attribute(attrs.next(), 'i', "iteration count")?;
        // Further attributes are extensions, which may be ignored.
        if !server_nonce.bytes().all(is_nonce_char) {
            return Err(SaslError::Malformed(
                "invalid characters in the nonce".into(),
            ));
        }
        if server_nonce.len() <= nonce.len() || !server_nonce.starts_with(&nonce) {
            return Err(SaslError::NonceMismatch);
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| SaslError::Malformed("the salt is not base64".into()))?;
        if salt.is_empty() {
            return Err(SaslError::Malformed("empty salt".into()));
        }
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SaslError::Malformed(
                "the iteration count is not a number".into(),
            ));
        }
        // Digits only: the parse fails only on overflow.
        let count: u64 = iterations.parse().unwrap_or(u64::MAX);
        let iterations = match u32::try_from(count) {
            Ok(i) if i >= self.min_iterations && i <= self.max_iterations => i,
            _ => {
                return Err(SaslError::IterationCount {
                    count,
                    min: self.min_iterations,
                    max: self.max_iterations,
                })
            }
        };

        let mut cbind_input = gs2_header.into_bytes();
        if let ChannelBinding::TlsExporter(data) = &self.binding {
            cbind_input.extend_from_slice(data);
        }
        let without_proof = format!("c={},r={server_nonce}", B64.encode(&cbind_input));
        let auth_message = format!("{client_first_bare},{text},{without_proof}").into_bytes();

        let h = self.hash;
        let salted = h.hi(password.expose().as_bytes(), &salt, iterations);
        let client_key = Wiped(h.hmac(&salted.0, b"Client Key"));
        let stored_key = Wiped(h.hash(&client_key.0));
        let client_signature = Wiped(h.hmac(&stored_key.0, &auth_message));
        let proof: Vec<u8> = client_key
            .0
            .iter()
            .zip(client_signature.0.iter())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = Wiped(h.hmac(&salted.0, b"Server Key"));
        self.state = State::ClientFinalSent {
            server_key,
            auth_message,
        };
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message.
    fn verify_server_final(&mut self, server_final: &[u8]) -> Result<(), SaslError> {
        let State::ClientFinalSent {
            server_key,
            auth_message,
        } = std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(SaslError::UnexpectedChallenge);
        };
        let text = std::str::from_utf8(server_final)
            .map_err(|_| SaslError::Malformed("server-final-message is not UTF-8".into()))?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(e) = first.strip_prefix("e=") {
            return Err(SaslError::Scram(ScramServerError::parse(e)));
        }
        let Some(v) = first.strip_prefix("v=") else {
            return Err(SaslError::Malformed(
                "server-final-message has neither v= nor e=".into(),
            ));
        };
        let signature = B64
            .decode(v)
            .map_err(|_| SaslError::Malformed("the server signature is not base64".into()))?;
        if !self.hash.verify(&server_key.0, &auth_message, &signature) {
            return Err(SaslError::ServerSignatureMismatch);
        }
        self.state = State::Verified;
        Ok(())
    }
}

/// `<name>=<value>` as the next attribute, or a malformed-message error.
fn attribute<'a>(attr: Option<&'a str>, name: char, what: &str) -> Result<&'a str, SaslError> {
    let attr = attr.ok_or_else(|| {
        SaslError::Malformed(format!("server-first-message has no {what} ({name}=)"))
    })?;
    let mut prefix = [0u8; 4];
    let prefix = name.encode_utf8(&mut prefix);
    match attr
        .strip_prefix(&*prefix)
        .and_then(|r| r.strip_prefix('='))
    {
        Some(v) => Ok(v),
        None if attr.starts_with("m=") => Err(SaslError::Malformed(
            "the server requires an unsupported extension (m=)".into(),
        )),
        None => Err(SaslError::Malformed(format!(
            "server-first-message has no {what} ({name}=)"
        ))),
    }
}

/// `printable` of RFC 5802: `%x21-2B / %x2D-7E`.
fn is_nonce_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b','
}

fn random_nonce() -> Result<String, SaslError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| SaslError::Random(e.to_string()))?;
    Ok(B64.encode(bytes))
}

impl Mechanism for Scram {
    fn name(&self) -> &str {
        match (
            self.hash,
            matches!(self.binding, ChannelBinding::TlsExporter(_)),
        ) {
            (ScramHash::Sha1, false) => "SCRAM-SHA-1",
            (ScramHash::Sha1, true) => "SCRAM-SHA-1-PLUS",
            (ScramHash::Sha256, false) => "SCRAM-SHA-256",
            (ScramHash::Sha256, true) => "SCRAM-SHA-256-PLUS",
        }
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        match self.client_first() {
            Ok(m) => Ok(Some(m)),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let r = match self.state {
            // A driver that does not send initial responses itself.
            State::Initial if challenge.is_empty() => self.client_first(),
            State::ClientFirstSent { .. } => self.client_final(challenge),
            State::ClientFinalSent { .. } => {
                self.verify_server_final(challenge).map(|()| Vec::new())
            }
            _ => Err(SaslError::UnexpectedChallenge),
        };
        r.map_err(|e| self.fail(e))
    }

    fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), SaslError> {
        match (&self.state, additional_data) {
            (State::Verified, _) => Ok(()),
            (State::ClientFinalSent { .. }, Some(data)) => {
                let r = self.verify_server_final(data);
                r.map_err(|e| self.fail(e))
            }
            _ => Err(self.fail(SaslError::ServerNotVerified)),
        }
    }

    fn reveals_secret(&self) -> bool {
        false
    }
}
