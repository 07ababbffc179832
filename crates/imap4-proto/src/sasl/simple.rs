//! PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
//! (RFC 2195) and EXTERNAL (RFC 4422 appendix A).

use hmac::{Hmac, Mac};

use super::{Mechanism, SaslError, Secret};

fn no_nul(what: &str, s: &str) -> Result<(), SaslError> {
    if s.contains('\0') {
        return Err(SaslError::InvalidCredential(format!(
            "the {what} contains a NUL character"
        )));
    }
    Ok(())
}

/// PLAIN: `authzid NUL user NUL password`, in one message. The password
/// travels as it is: use PLAIN over TLS only.
#[derive(Debug, Clone)]
pub struct Plain {
    authzid: Option<String>,
    user: String,
    password: Secret,
    sent: bool,
}

impl Plain {
    /// PLAIN for `user` with `password`.
    pub fn new(user: &str, password: impl Into<Secret>) -> Self {
        Plain {
            authzid: None,
            user: user.to_string(),
            password: password.into(),
            sent: false,
        }
    }

    /// Acts as `authzid` (authorization identity), e.g. an administrator
    /// logging in as another user.
    pub fn with_authzid(mut self, authzid: &str) -> Self {
        self.authzid = Some(authzid.to_string());
        self
    }

    fn message(&self) -> Result<Vec<u8>, SaslError> {
        let authzid = self.authzid.as_deref().unwrap_or("");
        no_nul("authorization identity", authzid)?;
        no_nul("user name", &self.user)?;
        no_nul("password", self.password.expose())?;
        let mut m = Vec::with_capacity(authzid.len() + self.user.len() + 2 + 64);
        m.extend_from_slice(authzid.as_bytes());
        m.push(0);
        m.extend_from_slice(self.user.as_bytes());
        m.push(0);
        m.extend_from_slice(self.password.expose().as_bytes());
        Ok(m)
    }
}

impl Mechanism for Plain {
    fn name(&self) -> &str {
        "PLAIN"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        self.sent = true;
        self.message().map(Some)
    }

    fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        // The session sends the initial response itself; any further
        // challenge is one too many.
        if !self.sent {
            self.sent = true;
            return self.message();
        }
        Err(SaslError::UnexpectedChallenge)
    }

    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }

    fn reveals_secret(&self) -> bool {
        true
    }
}

/// LOGIN: the user name, then the password, each in answer to a
/// challenge (whatever its text). Use it over TLS only.
#[derive(Debug, Clone)]
pub struct Login {
    user: String,
    password: Secret,
    steps: u8,
}

impl Login {
    /// LOGIN for `user` with `password`.
    pub fn new(user: &str, password: impl Into<Secret>) -> Self {
        Login {
            user: user.to_string(),
            password: password.into(),
            steps: 0,
        }
    }
}

impl Mechanism for Login {
    fn name(&self) -> &str {
        "LOGIN"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(None)
    }

    fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.steps = self.steps.saturating_add(1);
        match self.steps {
            1 => Ok(self.user.as_bytes().to_vec()),
            2 => Ok(self.password.expose().as_bytes().to_vec()),
            _ => Err(SaslError::UnexpectedChallenge),
        }
    }

    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }

    fn reveals_secret(&self) -> bool {
        true
    }
}

/// The CRAM-MD5 response to `challenge`:
/// `user SP lowercase-hex(HMAC-MD5(password, challenge))`.
pub fn cram_md5_response(user: &str, password: &str, challenge: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match Hmac::<md5::Md5>::new_from_slice(password.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(challenge);
    let digest = mac.finalize().into_bytes();
    let mut out = Vec::with_capacity(user.len() + 1 + 32);
    out.extend_from_slice(user.as_bytes());
    out.push(b' ');
    for b in digest {
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}

/// CRAM-MD5: one HMAC-MD5 answer to the server's challenge. The password
/// does not travel, but an eavesdropper can try passwords offline, and the
/// server must store it in a plaintext-equivalent form; prefer SCRAM.
#[derive(Debug, Clone)]
pub struct CramMd5 {
    user: String,
    password: Secret,
    answered: bool,
}

impl CramMd5 {
    /// CRAM-MD5 for `user` with `password`.
    pub fn new(user: &str, password: impl Into<Secret>) -> Self {
        CramMd5 {
            user: user.to_string(),
            password: password.into(),
            answered: false,
        }
    }
}

impl Mechanism for CramMd5 {
    fn name(&self) -> &str {
        "CRAM-MD5"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(None)
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if std::mem::replace(&mut self.answered, true) {
            return Err(SaslError::UnexpectedChallenge);
        }
        Ok(cram_md5_response(
            &self.user,
            self.password.expose(),
            challenge,
        ))
    }

    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }

    fn reveals_secret(&self) -> bool {
        false
    }
}

/// EXTERNAL: authentication established outside SASL (a TLS client
/// certificate); the message is the authorization identity, or empty to
/// act as the identity the credentials give.
#[derive(Debug, Clone, Default)]
pub struct External {
    authzid: String,
    sent: bool,
}

impl External {
    /// EXTERNAL with an empty authorization identity.
    pub fn new() -> Self {
        External::default()
    }

    /// EXTERNAL acting as `authzid`.
    pub fn with_authzid(authzid: &str) -> Self {
        External {
            authzid: authzid.to_string(),
            sent: false,
        }
    }
}

impl Mechanism for External {
    fn name(&self) -> &str {
        "EXTERNAL"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        no_nul("authorization identity", &self.authzid)?;
        self.sent = true;
        Ok(Some(self.authzid.as_bytes().to_vec()))
    }

    fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if !self.sent {
            self.sent = true;
            return Ok(self.authzid.as_bytes().to_vec());
        }
        Err(SaslError::UnexpectedChallenge)
    }

    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }

    fn reveals_secret(&self) -> bool {
        false
    }
}
