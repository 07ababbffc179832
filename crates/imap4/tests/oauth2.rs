//! OAUTHBEARER and XOAUTH2 against Dovecot's oauth2 passdb validating
//! HS256 JWTs locally (`introspection_mode = local`, key dictionary
//! `fs:posix`; the test kit makes the key and signs the tokens), in both
//! drivers: valid tokens log in; expired, forged and other users' tokens
//! are refused with the server's reason.
#![cfg(feature = "tokio")]

use imap4::sasl::{Mechanism, OAuthBearer, XOAuth2};
use imap4::{Imap4, TlsOptions};
use imap4_testkit::oauth2::{claims, jwt_hs256, unix_now};
use imap4_testkit::Dovecot;

fn server() -> Dovecot {
    Dovecot::builder()
        .messages("alice", 2, 5)
        .oauth2(true)
        .start()
        .unwrap()
}

fn tls_options(d: &Dovecot) -> TlsOptions {
    TlsOptions::new().ca_file(d.ca_file())
}

#[derive(Debug, Clone, Copy)]
enum Mech {
    XOAuth2,
    OAuthBearer,
}

fn mechanism(kind: Mech, d: &Dovecot, user: &str, token: &str) -> Box<dyn Mechanism + Send> {
    match kind {
        Mech::XOAuth2 => Box::new(XOAuth2::new(user, token)),
        Mech::OAuthBearer => {
            Box::new(OAuthBearer::new(user, token).with_host_port("localhost", d.tls_port()))
        }
    }
}

/// Logs in with the blocking driver; on success checks the session works.
fn blocking(d: &Dovecot, kind: Mech, user: &str, token: &str) -> Result<(), imap4::Error> {
    let mut m = Imap4::connect_ssl_with("localhost", d.tls_port(), tls_options(d)).unwrap();
    let mut mech = mechanism(kind, d, user, token);
    let a = m.typed().authenticate(&mut *mech)?;
    assert!(a.capabilities_updated);
    assert_eq!(m.typed().select("INBOX").unwrap().exists, 2);
    m.logout().unwrap();
    Ok(())
}

async fn tokio(d: &Dovecot, kind: Mech, user: &str, token: &str) -> Result<(), imap4::Error> {
    let mut m = imap4::tokio::Imap4::connect_ssl_with("localhost", d.tls_port(), tls_options(d))
        .await
        .unwrap();
    let mut mech = mechanism(kind, d, user, token);
    m.typed().authenticate(&mut *mech).await?;
    assert_eq!(m.typed().select("INBOX").await.unwrap().exists, 2);
    m.logout().await.unwrap();
    Ok(())
}

fn both(d: &Dovecot, kind: Mech, user: &str, token: &str) -> [Result<(), imap4::Error>; 2] {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    [
        blocking(d, kind, user, token),
        rt.block_on(tokio(d, kind, user, token)),
    ]
}

fn assert_refused(r: &Result<(), imap4::Error>, what: &str) {
    let e = r.as_ref().expect_err(what);
    assert!(e.is_error(), "{what}: {e}");
    let failure = e.auth_failure().unwrap_or_else(|| panic!("{what}: {e}"));
    assert!(failure.refused_by_server(), "{what}: {failure:?}");
}

#[test]
fn valid_tokens_log_in_with_both_mechanisms_in_both_drivers() {
    let d = server();
    let token = d.oauth2_token("alice", 3600);
    for kind in [Mech::XOAuth2, Mech::OAuthBearer] {
        for r in both(&d, kind, "alice", &token) {
            r.unwrap_or_else(|e| panic!("{kind:?}: {e}\n{}", d.log()));
        }
    }
    let log = d.log();
    assert!(log.contains("method=XOAUTH2"), "{log}");
    assert!(log.contains("method=OAUTHBEARER"), "{log}");
}

#[test]
fn expired_forged_and_foreign_tokens_are_refused() {
    let d = server();
    let now = unix_now();
    let cases = [
        ("expired", "alice", d.oauth2_token("alice", -60)),
        (
            "signed with another key",
            "alice",
            jwt_hs256(
                b"not the server's key",
                &claims("alice", now - 5, now + 3600),
            ),
        ),
        ("another user's token", "alice", d.oauth2_token("bob", 3600)),
        ("tampered claims", "alice", {
            // bob's valid signature on claims naming alice
            let good = d.oauth2_token("bob", 3600);
            let forged = jwt_hs256(b"x", &claims("alice", now - 5, now + 3600));
            let g: Vec<&str> = good.split('.').collect();
            let f: Vec<&str> = forged.split('.').collect();
            format!("{}.{}.{}", g[0], f[1], g[2])
        }),
        ("not a JWT", "alice", "ya29.opaque-token".to_string()),
    ];
    for (what, user, token) in &cases {
        for kind in [Mech::XOAuth2, Mech::OAuthBearer] {
            for r in both(&d, kind, user, token) {
                assert_refused(&r, &format!("{what} ({kind:?})"));
            }
        }
    }
    // The server still accepts a good token afterwards.
    let token = d.oauth2_token("alice", 60);
    blocking(&d, Mech::OAuthBearer, "alice", &token).unwrap_or_else(|e| panic!("{e}"));
    let log = d.log();
    assert!(!log.contains("Login: user=<bob>"), "{log}");
}
