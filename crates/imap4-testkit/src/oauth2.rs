//! OAuth 2.0 bearer tokens for Dovecot's `oauth2` passdb with local JWT
//! validation (see [`crate::DovecotBuilder::oauth2`]): JWTs signed HS256
//! with the instance's key.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A compact JWS (`header.claims.signature`) of `claims` (a JSON object)
/// signed HS256 with `key`.
///
/// ```
/// let t = imap4_testkit::oauth2::jwt_hs256(b"key", r#"{"sub":"alice"}"#);
/// assert_eq!(t.split('.').count(), 3);
/// assert!(t.starts_with("eyJ"));
/// ```
pub fn jwt_hs256(key: &[u8], claims: &str) -> String {
    let header = B64URL.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = B64URL.encode(claims.as_bytes());
    let signing_input = format!("{header}.{body}");
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    let sig = B64URL.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The claims of a token for `user` valid from `iat` to `exp` (Unix
/// seconds): `sub` and `email` are the user name.
pub fn claims(user: &str, iat: i64, exp: i64) -> String {
    format!(r#"{{"sub":"{user}","email":"{user}","iat":{iat},"nbf":{iat},"exp":{exp}}}"#)
}
