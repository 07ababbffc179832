//! Response codes of a server's refusal, for matching.

/// A response code (RFC 3501 §7.1, RFC 5530 and the extensions') of a
/// server's refusal, for matching: `[NONEXISTENT]`, `[OVERQUOTA]`, …
/// Unknown codes keep their name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode {
    /// ALERT: show the text to the user.
    Alert,
    /// TRYCREATE: the target mailbox does not exist, create it first.
    TryCreate,
    /// READ-ONLY.
    ReadOnly,
    /// PARSE: the server could not parse the message.
    Parse,
    /// BADCHARSET.
    BadCharset,
    /// UNAVAILABLE (RFC 5530): try again later.
    Unavailable,
    /// AUTHENTICATIONFAILED: wrong credentials.
    AuthenticationFailed,
    /// AUTHORIZATIONFAILED: the credentials may not act as that user.
    AuthorizationFailed,
    /// EXPIRED: the credentials have expired.
    Expired,
    /// PRIVACYREQUIRED: use TLS.
    PrivacyRequired,
    /// CONTACTADMIN.
    ContactAdmin,
    /// NOPERM: no access rights.
    NoPerm,
    /// INUSE: the mailbox is in use.
    InUse,
    /// EXPUNGEISSUED.
    ExpungeIssued,
    /// CORRUPTION.
    Corruption,
    /// SERVERBUG.
    ServerBug,
    /// CLIENTBUG.
    ClientBug,
    /// CANNOT: the operation cannot be done.
    Cannot,
    /// LIMIT: a server limit was reached.
    Limit,
    /// OVERQUOTA.
    OverQuota,
    /// ALREADYEXISTS.
    AlreadyExists,
    /// NONEXISTENT: no such mailbox or message.
    NonExistent,
    /// Any other code, by name (upper-cased).
    Other(String),
}

impl ResponseCode {
    /// The code at the start of a server text (`[NONEXISTENT] No such
    /// mailbox`), if there is one.
    pub fn parse(text: &[u8]) -> Option<ResponseCode> {
        let rest = text.strip_prefix(b"[")?;
        let end = rest.iter().position(|&b| b == b' ' || b == b']')?;
        let name = String::from_utf8_lossy(&rest[..end]).to_ascii_uppercase();
        if name.is_empty() {
            return None;
        }
        Some(match name.as_str() {
            "ALERT" => ResponseCode::Alert,
            "TRYCREATE" => ResponseCode::TryCreate,
            "READ-ONLY" => ResponseCode::ReadOnly,
            "PARSE" => ResponseCode::Parse,
            "BADCHARSET" => ResponseCode::BadCharset,
            "UNAVAILABLE" => ResponseCode::Unavailable,
            "AUTHENTICATIONFAILED" => ResponseCode::AuthenticationFailed,
            "AUTHORIZATIONFAILED" => ResponseCode::AuthorizationFailed,
            "EXPIRED" => ResponseCode::Expired,
            "PRIVACYREQUIRED" => ResponseCode::PrivacyRequired,
            "CONTACTADMIN" => ResponseCode::ContactAdmin,
            "NOPERM" => ResponseCode::NoPerm,
            "INUSE" => ResponseCode::InUse,
            "EXPUNGEISSUED" => ResponseCode::ExpungeIssued,
            "CORRUPTION" => ResponseCode::Corruption,
            "SERVERBUG" => ResponseCode::ServerBug,
            "CLIENTBUG" => ResponseCode::ClientBug,
            "CANNOT" => ResponseCode::Cannot,
            "LIMIT" => ResponseCode::Limit,
            "OVERQUOTA" => ResponseCode::OverQuota,
            "ALREADYEXISTS" => ResponseCode::AlreadyExists,
            "NONEXISTENT" => ResponseCode::NonExistent,
            _ => ResponseCode::Other(name),
        })
    }
}
