//! XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628).

use std::fmt;

use super::{escape_saslname, Mechanism, SaslError, Secret, Wiped};

/// An OAuth 2.0 error a server reported in a challenge (RFC 7628 §3.2.2):
/// a JSON object with `status` (e.g. `"invalid_token"`, or an HTTP status
/// such as `"401"`), and optionally `scope`, `schemes` and
/// `openid-configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthError {
    /// `status`: why the token was refused.
    pub status: String,
    /// `scope`: the scope a token needs.
    pub scope: Option<String>,
    /// `schemes`: the schemes the server accepts (XOAUTH2).
    pub schemes: Option<String>,
    /// `openid-configuration`: where to find the authorization server.
    pub openid_configuration: Option<String>,
}

impl OAuthError {
    /// Decodes a challenge. A challenge that is not the expected JSON
    /// becomes an error whose status is the text itself (truncated).
    pub fn parse(challenge: &[u8]) -> Self {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        match serde_json::from_slice::<serde_json::Value>(challenge) {
            Ok(serde_json::Value::Object(o)) => OAuthError {
                status: o.get("status").and_then(text).unwrap_or_default(),
                scope: o.get("scope").and_then(text),
                schemes: o.get("schemes").and_then(text),
                openid_configuration: o.get("openid-configuration").and_then(text),
            },
            _ => OAuthError {
                status: String::from_utf8_lossy(challenge)
                    .chars()
                    .take(256)
                    .collect(),
                ..OAuthError::default()
            },
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OAuth 2.0 error: status {:?}", self.status)?;
        if let Some(s) = &self.scope {
            write!(f, ", scope {s:?}")?;
        }
        if let Some(s) = &self.schemes {
            write!(f, ", schemes {s:?}")?;
        }
        Ok(())
    }
}

/// Shared state of the two OAuth mechanisms: the message is sent first,
/// the only challenge that can follow is the error JSON, answered with
/// `dummy` so that the server ends the exchange with its NO.
#[derive(Debug)]
struct Bearer {
    message: Wiped,
    sent: bool,
    error: Option<SaslError>,
    dummy: &'static [u8],
}

impl Bearer {
    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if !self.sent {
            self.sent = true;
            return Ok(self.message.0.clone());
        }
        if self.error.is_some() {
            return Err(SaslError::UnexpectedChallenge);
        }
        self.error = Some(SaslError::OAuth(OAuthError::parse(challenge)));
        Ok(self.dummy.to_vec())
    }
}

fn check(what: &str, s: &str) -> Result<(), SaslError> {
    if s.bytes().any(|b| b == 0x01 || b == 0) {
        return Err(SaslError::InvalidCredential(format!(
            "the {what} contains a control character ^A or NUL"
        )));
    }
    Ok(())
}

/// XOAUTH2: `user=<user>^Aauth=Bearer <token>^A^A`. On failure the server
/// sends a JSON error as a challenge; it is answered with an empty
/// response and reported as [`SaslError::OAuth`]. The token travels as it
/// is: use it over TLS only.
#[derive(Debug)]
pub struct XOAuth2 {
    inner: Result<Bearer, SaslError>,
}

impl XOAuth2 {
    /// XOAUTH2 for `user` with the OAuth 2.0 access token `token`.
    pub fn new(user: &str, token: impl Into<Secret>) -> Self {
        let token = token.into();
        let inner = check("user name", user)
            .and_then(|()| check("token", token.expose()))
            .map(|()| Bearer {
                message: Wiped(
                    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
                ),
                sent: false,
                error: None,
                dummy: b"",
            });
        XOAuth2 { inner }
    }
}

impl Mechanism for XOAuth2 {
    fn name(&self) -> &str {
        "XOAUTH2"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        let b = self.inner.as_mut().map_err(|e| e.clone())?;
        b.sent = true;
        Ok(Some(b.message.0.clone()))
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.inner.as_mut().map_err(|e| e.clone())?.step(challenge)
    }

    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }

    fn server_error(&self) -> Option<&SaslError> {
        self.inner.as_ref().ok()?.error.as_ref()
    }

    fn reveals_secret(&self) -> bool {
        true
    }
}

/// OAUTHBEARER (RFC 7628): `n,a=<user>,^Ahost=<host>^Aport=<port>^Aauth=Bearer <token>^A^A`
/// (host and port when given). On failure the server sends a JSON error
/// as a challenge; it is answered with `^A` and reported as
/// [`SaslError::OAuth`]. The token travels as it is: use it over TLS only.
#[derive(Debug)]
pub struct OAuthBearer {
    user: String,
    token: Secret,
    host: Option<String>,
    port: Option<u16>,
    inner: Option<Bearer>,
}

impl OAuthBearer {
    /// OAUTHBEARER for `user` with the OAuth 2.0 access token `token`.
    pub fn new(user: &str, token: impl Into<Secret>) -> Self {
        OAuthBearer {
            user: user.to_string(),
            token: token.into(),
            host: None,
            port: None,
            inner: None,
        }
    }

    /// Tells the server which host and port the client connected to.
    pub fn with_host_port(mut self, host: &str, port: u16) -> Self {
        self.host = Some(host.to_string());
        self.port = Some(port);
        self
    }

    fn bearer(&mut self) -> Result<&mut Bearer, SaslError> {
        if self.inner.is_none() {
            check("user name", &self.user)?;
            check("token", self.token.expose())?;
            let mut m = format!("n,a={},\x01", escape_saslname(&self.user));
            if let Some(h) = &self.host {
                check("host name", h)?;
                m.push_str(&format!("host={h}\x01"));
            }
            if let Some(p) = self.port {
                m.push_str(&format!("port={p}\x01"));
            }
            m.push_str(&format!("auth=Bearer {}\x01\x01", self.token.expose()));
            self.inner = Some(Bearer {
                message: Wiped(m.into_bytes()),
                sent: false,
                error: None,
                dummy: b"\x01",
            });
        }
        self.inner
            .as_mut()
            .ok_or_else(|| SaslError::InvalidCredential("unreachable".into()))
    }
}

impl Mechanism for OAuthBearer {
    fn name(&self) -> &str {
        "OAUTHBEARER"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        let b = self.bearer()?;
        b.sent = true;
        Ok(Some(b.message.0.clone()))
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.bearer()?.step(challenge)
    }

    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }

    fn server_error(&self) -> Option<&SaslError> {
        self.inner.as_ref()?.error.as_ref()
    }

    fn reveals_secret(&self) -> bool {
        true
    }
}
