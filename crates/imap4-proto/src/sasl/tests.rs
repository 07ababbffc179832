//! Tests of the SASL mechanisms.

use super::*;

const RFC5802_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
const RFC5802_SERVER_FIRST: &[u8] =
    b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
const RFC5802_CLIENT_FINAL: &[u8] =
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
const RFC5802_SERVER_FINAL: &[u8] = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

const RFC7677_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const RFC7677_SERVER_FIRST: &[u8] =
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const RFC7677_CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const RFC7677_SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn rfc5802() -> Scram {
    Scram::sha1("user", "pencil").with_nonce(RFC5802_NONCE)
}

fn rfc7677() -> Scram {
    Scram::sha256("user", "pencil").with_nonce(RFC7677_NONCE)
}

/// A SCRAM mechanism that has sent its client-final message.
fn after_client_final(mut m: Scram, server_first: &[u8]) -> Scram {
    m.initial_response().unwrap();
    m.step(server_first).unwrap();
    m
}

mod scram {
    use super::*;

    #[test]
    fn rfc5802_sha1_exchange_byte_for_byte() {
        let mut m = rfc5802();
        assert_eq!(m.name(), "SCRAM-SHA-1");
        assert!(!m.reveals_secret());
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
        );
        assert_eq!(m.step(RFC5802_SERVER_FIRST).unwrap(), RFC5802_CLIENT_FINAL);
        assert!(!m.is_verified());
        assert_eq!(m.step(RFC5802_SERVER_FINAL).unwrap(), b"");
        assert!(m.is_verified());
        m.finish(None).unwrap();
        // Nothing may follow.
        assert_eq!(m.step(b"more"), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn rfc7677_sha256_exchange_byte_for_byte() {
        let mut m = rfc7677();
        assert_eq!(m.name(), "SCRAM-SHA-256");
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        assert_eq!(m.step(RFC7677_SERVER_FIRST).unwrap(), RFC7677_CLIENT_FINAL);
        assert_eq!(m.step(RFC7677_SERVER_FINAL).unwrap(), b"");
        m.finish(None).unwrap();
    }

    #[test]
    fn server_final_as_additional_data_with_success() {
        let mut m = after_client_final(rfc7677(), RFC7677_SERVER_FIRST);
        m.finish(Some(RFC7677_SERVER_FINAL)).unwrap();
        assert!(m.is_verified());
    }

    #[test]
    fn wrong_server_signature_is_refused() {
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        // A server that does not know "pencil" (the signature of RFC 7677's
        // exchange, a valid-looking base64 value).
        assert_eq!(
            m.step(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=x"),
            Err(SaslError::Malformed(
                "the server signature is not base64".into()
            ))
        );
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        assert_eq!(
            m.step(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Err(SaslError::ServerSignatureMismatch)
        );
        // And the success that follows is not accepted either.
        assert_eq!(m.finish(None), Err(SaslError::ServerNotVerified));
        // A truncated signature is wrong too.
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        assert_eq!(
            m.step(b"v=rmF9pqV8S7suAoZW"),
            Err(SaslError::ServerSignatureMismatch)
        );
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        assert_eq!(
            m.finish(Some(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
            Err(SaslError::ServerSignatureMismatch)
        );
    }

    #[test]
    fn success_without_server_proof_is_refused() {
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        assert_eq!(m.finish(None), Err(SaslError::ServerNotVerified));
        let mut m = rfc5802();
        m.initial_response().unwrap();
        assert_eq!(m.finish(None), Err(SaslError::ServerNotVerified));
    }

    #[test]
    fn server_errors_are_decoded() {
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        assert_eq!(
            m.step(b"e=invalid-proof"),
            Err(SaslError::Scram(ScramServerError::InvalidProof))
        );
        assert_eq!(m.finish(None), Err(SaslError::ServerNotVerified));
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        assert_eq!(
            m.step(b"e=channel-bindings-dont-match"),
            Err(SaslError::Scram(ScramServerError::ChannelBindingsDontMatch))
        );
        let mut m = after_client_final(rfc5802(), RFC5802_SERVER_FIRST);
        let e = m.step(b"e=something-new").unwrap_err();
        assert_eq!(
            e,
            SaslError::Scram(ScramServerError::Other("something-new".into()))
        );
        assert_eq!(e.to_string(), "server error: something-new");
        // An error instead of the server-first message.
        let mut m = rfc5802();
        m.initial_response().unwrap();
        assert_eq!(
            m.step(b"e=unknown-user"),
            Err(SaslError::Scram(ScramServerError::UnknownUser))
        );
        assert_eq!(
            ScramServerError::parse("no-resources").as_str(),
            "no-resources"
        );
    }

    fn first_error(server_first: &[u8]) -> SaslError {
        let mut m = rfc5802();
        m.initial_response().unwrap();
        let e = m.step(server_first).unwrap_err();
        // A failed mechanism stays failed.
        assert_eq!(
            m.step(RFC5802_SERVER_FINAL),
            Err(SaslError::UnexpectedChallenge)
        );
        assert_eq!(m.finish(None), Err(SaslError::ServerNotVerified));
        e
    }

    #[test]
    fn malformed_server_first_messages_are_refused() {
        let malformed = |m: &[u8]| {
            let e = first_error(m);
            assert!(matches!(e, SaslError::Malformed(_)), "{m:?}: {e:?}");
        };
        malformed(b"");
        malformed(b"s=QSXCR+Q6sek8bf92,i=4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096,s=QSXCR+Q6sek8bf92");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=***,i=4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=,i=4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=-1");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=+4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4k");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=");
        malformed(b"m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL3r\x7f,s=QSXCR+Q6sek8bf92,i=4096");
        malformed(b"r=fyko+d2lbbFgONRv9qkxdawL\xff,s=QSXCR+Q6sek8bf92,i=4096");
        // Extensions after the iteration count are ignored.
        let mut m = rfc5802();
        m.initial_response().unwrap();
        let mut first = RFC5802_SERVER_FIRST.to_vec();
        first.extend_from_slice(b",x=ext");
        assert!(m.step(&first).is_ok());
    }

    #[test]
    fn nonce_must_extend_ours() {
        for first in [
            &b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"[..],
            b"r=XXXX+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096",
            b"r=fyko,s=QSXCR+Q6sek8bf92,i=4096",
            b"r=,s=QSXCR+Q6sek8bf92,i=4096",
        ] {
            assert_eq!(first_error(first), SaslError::NonceMismatch, "{first:?}");
        }
    }

    #[test]
    fn iteration_count_is_bounded() {
        let count = |i: &str| {
            format!("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i={i}").into_bytes()
        };
        for (i, n) in [("0", 0), ("1", 1), ("4095", 4095), ("1000001", 1_000_001)] {
            assert_eq!(
                first_error(&count(i)),
                SaslError::IterationCount {
                    count: n,
                    min: 4096,
                    max: 1_000_000
                }
            );
        }
        assert_eq!(
            first_error(&count("999999999999999999999999999999")),
            SaslError::IterationCount {
                count: u64::MAX,
                min: 4096,
                max: 1_000_000
            }
        );
        assert_eq!(
            first_error(&count("18446744073709551615")),
            SaslError::IterationCount {
                count: u64::MAX,
                min: 4096,
                max: 1_000_000
            }
        );
        // The limits are configurable.
        let mut m = rfc5802().with_iteration_limits(1, 10);
        m.initial_response().unwrap();
        assert!(m.step(&count("2")).is_ok());
        let mut m = rfc5802().with_iteration_limits(0, 5000);
        m.initial_response().unwrap();
        assert_eq!(
            m.step(&count("0")),
            Err(SaslError::IterationCount {
                count: 0,
                min: 1,
                max: 5000
            })
        );
        let mut m = rfc5802().with_iteration_limits(4096, 1000);
        m.initial_response().unwrap();
        assert!(matches!(
            m.step(&count("4096")),
            Err(SaslError::IterationCount { .. })
        ));
    }

    #[test]
    fn random_nonces_are_fresh_and_printable() {
        let mut a = Scram::sha256("user", "pencil");
        let mut b = Scram::sha256("user", "pencil");
        let a = a.initial_response().unwrap().unwrap();
        let b = b.initial_response().unwrap().unwrap();
        assert_ne!(a, b);
        let nonce = &a[b"n,,n=user,r=".len()..];
        assert!(nonce.len() >= 24, "{nonce:?}");
        assert!(nonce
            .iter()
            .all(|&c| (0x21..=0x7e).contains(&c) && c != b','));
    }

    #[test]
    fn bad_client_nonce_is_refused() {
        for n in ["", "a,b", "caf\u{e9}", "a b"] {
            let mut m = Scram::sha1("user", "pencil").with_nonce(n);
            assert!(
                matches!(m.initial_response(), Err(SaslError::InvalidCredential(_))),
                "{n:?}"
            );
        }
    }

    #[test]
    fn user_names_are_escaped_and_authzid_sent() {
        let mut m = Scram::sha256("a=b,c", "pencil")
            .with_authzid("ad,min")
            .with_nonce("abc");
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"n,a=ad=2Cmin,n=a=3Db=2Cc,r=abc"
        );
        let mut m = Scram::sha256("user", "pencil")
            .with_channel_binding(ChannelBinding::Unused)
            .with_nonce("abc");
        assert_eq!(m.name(), "SCRAM-SHA-256");
        assert_eq!(m.initial_response().unwrap().unwrap(), b"y,,n=user,r=abc");
        // The c= attribute carries the gs2 header: "y,," is eSws.
        let out = m.step(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        assert!(out.starts_with(b"c=eSws,r=abcdef,p="), "{out:?}");
    }

    #[test]
    fn plus_variants_bind_the_channel() {
        let cb = vec![0xAB; 32];
        let mut m = Scram::sha256_plus("user", "pencil", cb.clone()).with_nonce(RFC7677_NONCE);
        assert_eq!(m.name(), "SCRAM-SHA-256-PLUS");
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        let out = m.step(RFC7677_SERVER_FIRST).unwrap();
        let mut input = b"p=tls-exporter,,".to_vec();
        input.extend_from_slice(&cb);
        let c = format!("c={},", B64.encode(&input));
        assert!(out.starts_with(c.as_bytes()), "{out:?}");
        // The proof differs from the unbound exchange's (the auth message
        // includes the binding).
        assert_ne!(out, RFC7677_CLIENT_FINAL);
        assert_eq!(
            Scram::sha1_plus("user", "pencil", cb).name(),
            "SCRAM-SHA-1-PLUS"
        );
        // No exporter data: refused before anything is sent.
        let mut m = Scram::sha1_plus("user", "pencil", Vec::new());
        assert!(matches!(
            m.initial_response(),
            Err(SaslError::ChannelBinding(_))
        ));
        let dbg = format!("{:?}", ChannelBinding::TlsExporter(vec![1, 2, 3]));
        assert_eq!(dbg, "TlsExporter(<3 bytes>)");
    }

    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
}

mod saslprep {
    use super::*;

    /// The client-first message for this user name (nonce "n").
    fn first(user: &str, password: &str) -> Result<Vec<u8>, SaslError> {
        Scram::sha256(user, password)
            .with_nonce("n")
            .initial_response()
            .map(|m| m.unwrap_or_default())
    }

    #[test]
    fn rfc4013_examples() {
        // SOFT HYPHEN is mapped to nothing.
        assert_eq!(first("I\u{ad}X", "p").unwrap(), b"n,,n=IX,r=n");
        // Non-ASCII space becomes a space; NFKC normalization.
        assert_eq!(first("a\u{a0}b", "p").unwrap(), b"n,,n=a b,r=n");
        assert_eq!(first("\u{aa}", "p").unwrap(), "n,,n=a,r=n".as_bytes());
        assert_eq!(first("\u{2168}", "p").unwrap(), b"n,,n=IX,r=n");
        // Case is kept.
        assert_eq!(first("user", "p").unwrap(), b"n,,n=user,r=n");
        // Prohibited: control characters; bidi rule violation.
        for bad in ["a\u{7}", "\u{627}1"] {
            assert!(
                matches!(first(bad, "p"), Err(SaslError::InvalidCredential(_))),
                "{bad:?}"
            );
        }
        // The password is prepared too, before anything is sent.
        assert!(matches!(
            first("user", "pass\u{7}"),
            Err(SaslError::InvalidCredential(e)) if e.starts_with("password")
        ));
    }

    #[test]
    fn prepared_password_gives_the_same_proof() {
        // "pencil" with a soft hyphen in it prepares to "pencil": the
        // exchange is RFC 7677's.
        let mut m = Scram::sha256("user", "pen\u{ad}cil").with_nonce(RFC7677_NONCE);
        m.initial_response().unwrap();
        assert_eq!(m.step(RFC7677_SERVER_FIRST).unwrap(), RFC7677_CLIENT_FINAL);
        assert_eq!(m.step(RFC7677_SERVER_FINAL).unwrap(), b"");
    }
}

mod simple {
    use super::*;

    #[test]
    fn plain() {
        let mut m = Plain::new("tim", "tanstaaftanstaaf");
        assert_eq!(m.name(), "PLAIN");
        assert!(m.reveals_secret());
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"\0tim\0tanstaaftanstaaf"
        );
        assert_eq!(m.step(b""), Err(SaslError::UnexpectedChallenge));
        m.finish(None).unwrap();
        let mut m = Plain::new("Kurt", "xipj3plmq").with_authzid("Ursel");
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"Ursel\0Kurt\0xipj3plmq"
        );
        let mut m = Plain::new("a\0b", "x");
        assert!(matches!(
            m.initial_response(),
            Err(SaslError::InvalidCredential(_))
        ));
        // A driver that does not send the initial response itself.
        let mut m = Plain::new("tim", "pw");
        assert_eq!(m.step(b"").unwrap(), b"\0tim\0pw");
    }

    #[test]
    fn login() {
        let mut m = Login::new("tim", "pw");
        assert_eq!(m.initial_response().unwrap(), None);
        assert_eq!(m.step(b"Username:").unwrap(), b"tim");
        assert_eq!(m.step(b"Password:").unwrap(), b"pw");
        assert_eq!(m.step(b"?"), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn cram_md5_rfc2195_example() {
        let mut m = CramMd5::new("tim", "tanstaaftanstaaf");
        assert_eq!(m.initial_response().unwrap(), None);
        assert_eq!(
            m.step(b"<1896.697170952@postoffice.reston.mci.net>")
                .unwrap(),
            b"tim b913a602c7eda7a495b4e6e7334d3890"
        );
        assert_eq!(m.step(b"again"), Err(SaslError::UnexpectedChallenge));
        assert!(!m.reveals_secret());
    }

    #[test]
    fn external() {
        let mut m = External::new();
        assert_eq!(m.initial_response().unwrap().unwrap(), b"");
        let mut m = External::with_authzid("bob");
        assert_eq!(m.initial_response().unwrap().unwrap(), b"bob");
        assert_eq!(m.step(b""), Err(SaslError::UnexpectedChallenge));
        assert!(!m.reveals_secret());
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
        for dbg in [
            format!("{:?}", Plain::new("u", "hunter2")),
            format!("{:?}", Login::new("u", "hunter2")),
            format!("{:?}", CramMd5::new("u", "hunter2")),
            format!("{:?}", Scram::sha256("u", "hunter2")),
            format!("{:?}", XOAuth2::new("u", "hunter2")),
            format!("{:?}", OAuthBearer::new("u", "hunter2")),
        ] {
            assert!(!dbg.contains("hunter2"), "{dbg}");
        }
    }
}

mod oauth {
    use super::*;

    const GMAIL_ERROR: &[u8] =
        br#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;

    #[test]
    fn xoauth2_encoding_and_error() {
        let mut m = XOAuth2::new(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        );
        assert_eq!(m.name(), "XOAUTH2");
        assert!(m.reveals_secret());
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
        assert!(m.server_error().is_none());
        // The error challenge is answered with an empty response.
        assert_eq!(m.step(GMAIL_ERROR).unwrap(), b"");
        let Some(SaslError::OAuth(e)) = m.server_error() else {
            panic!("{:?}", m.server_error())
        };
        assert_eq!(e.status, "401");
        assert_eq!(e.scope.as_deref(), Some("https://mail.google.com/"));
        assert_eq!(e.schemes.as_deref(), Some("bearer mac"));
        assert!(e.to_string().contains("401"), "{e}");
        // Only one error challenge.
        assert_eq!(m.step(GMAIL_ERROR), Err(SaslError::UnexpectedChallenge));
        let mut m = XOAuth2::new("a\x01b", "t");
        assert!(m.initial_response().is_err());
    }

    #[test]
    fn oauthbearer_rfc7628_encoding_and_error() {
        let mut m = OAuthBearer::new(
            "user@example.com",
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        )
        .with_host_port("server.example.com", 143);
        assert_eq!(m.name(), "OAUTHBEARER");
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            &b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01\
               auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"[..]
        );
        let err = br#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#;
        assert_eq!(m.step(err).unwrap(), b"\x01");
        let Some(SaslError::OAuth(e)) = m.server_error() else {
            panic!()
        };
        assert_eq!(e.status, "invalid_token");
        assert_eq!(e.scope.as_deref(), Some("example_scope"));
        assert_eq!(
            e.openid_configuration.as_deref(),
            Some("https://example.com/.well-known/openid-configuration")
        );
        // Without host and port; a user name with ',' and '=' escaped.
        let mut m = OAuthBearer::new("a,b=c", "tok");
        assert_eq!(
            m.initial_response().unwrap().unwrap(),
            b"n,a=a=2Cb=3Dc,\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn json_error_decoding() {
        let e = OAuthError::parse(br#"{"status":400,"scope":["a","b"],"schemes":null}"#);
        assert_eq!(e.status, "400");
        assert_eq!(e.scope.as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(e.schemes, None);
        let e = OAuthError::parse(b"not json at all");
        assert_eq!(e.status, "not json at all");
        let e = OAuthError::parse(b"[1,2]");
        assert_eq!(e.status, "[1,2]");
        let e = OAuthError::parse(b"{}");
        assert_eq!(e.status, "");
        let e = OAuthError::parse(&[0xff; 1000]);
        assert_eq!(e.status.chars().count(), 256);
    }
}

mod choose {
    use super::*;

    fn caps(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn strongest_first_and_no_plaintext_password() {
        let a = AutoLogin::default();
        let all = caps("IMAP4REV1 AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-1-PLUS");
        assert_eq!(
            a.choose(&all, true, true).unwrap(),
            LoginMethod::ScramSha256Plus
        );
        assert_eq!(
            a.choose(&all, true, false).unwrap(),
            LoginMethod::ScramSha256
        );
        assert_eq!(
            a.choose(&all, false, false).unwrap(),
            LoginMethod::ScramSha256
        );
        let sha1 = caps("IMAP4REV1 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1 AUTH=PLAIN");
        assert_eq!(
            a.choose(&sha1, true, true).unwrap(),
            LoginMethod::ScramSha1Plus
        );
        assert_eq!(
            a.choose(&sha1, true, false).unwrap(),
            LoginMethod::ScramSha1
        );
        let plain = caps("IMAP4REV1 AUTH=PLAIN AUTH=LOGIN");
        assert_eq!(a.choose(&plain, true, true).unwrap(), LoginMethod::Plain);
        let e = a.choose(&plain, false, false).unwrap_err();
        assert!(e.to_string().contains("plaintext"), "{e}");
        assert!(e.to_string().contains("PLAIN LOGIN"), "{e}");
        let login = caps("IMAP4REV1 AUTH=LOGIN");
        assert_eq!(a.choose(&login, true, false).unwrap(), LoginMethod::Login);
        let none = caps("IMAP4REV1");
        assert_eq!(
            a.choose(&none, true, false).unwrap(),
            LoginMethod::LoginCommand
        );
        assert!(a.choose(&none, false, false).is_err());
        let disabled = caps("IMAP4REV1 LOGINDISABLED");
        assert!(a.choose(&disabled, true, false).is_err());
        // CRAM-MD5 is never picked.
        assert!(a
            .choose(&caps("IMAP4REV1 AUTH=CRAM-MD5"), false, false)
            .is_err());

        let danger = AutoLogin {
            danger_allow_plaintext_password: true,
            ..AutoLogin::default()
        };
        assert_eq!(
            danger.choose(&plain, false, false).unwrap(),
            LoginMethod::Plain
        );
        assert_eq!(
            danger.choose(&none, false, false).unwrap(),
            LoginMethod::LoginCommand
        );
        assert!(LoginMethod::LoginCommand.reveals_password());
        assert!(!LoginMethod::ScramSha1.reveals_password());
    }

    #[test]
    fn a_method_list_restricts_and_orders_the_choice() {
        let only = |m: &[LoginMethod]| AutoLogin {
            methods: Some(m.to_vec()),
            ..AutoLogin::default()
        };
        let all =
            caps("IMAP4REV1 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN");
        // the list's order, not strength
        let plain_first = only(&[LoginMethod::Plain, LoginMethod::ScramSha256]);
        assert_eq!(
            plain_first.choose(&all, true, false).unwrap(),
            LoginMethod::Plain
        );
        // without TLS PLAIN is skipped, so SCRAM
        assert_eq!(
            plain_first.choose(&all, false, false).unwrap(),
            LoginMethod::ScramSha256
        );
        // a -PLUS method needs channel binding
        let plus = only(&[LoginMethod::ScramSha256Plus, LoginMethod::Login]);
        assert_eq!(
            plus.choose(&all, true, true).unwrap(),
            LoginMethod::ScramSha256Plus
        );
        assert_eq!(plus.choose(&all, true, false).unwrap(), LoginMethod::Login);
        // not offered: an error naming what was asked for
        let e = only(&[LoginMethod::ScramSha1])
            .choose(&all, true, false)
            .unwrap_err();
        assert!(e.to_string().contains("[SCRAM-SHA-1]"), "{e}");
        // the LOGIN command: unless LOGINDISABLED
        let cmd = only(&[LoginMethod::LoginCommand]);
        assert_eq!(
            cmd.choose(&all, true, false).unwrap(),
            LoginMethod::LoginCommand
        );
        assert!(cmd
            .choose(&caps("IMAP4REV1 LOGINDISABLED"), true, false)
            .is_err());
        assert!(cmd.choose(&all, false, false).is_err(), "plaintext");
        let danger = AutoLogin {
            danger_allow_plaintext_password: true,
            ..cmd
        };
        assert_eq!(
            danger.choose(&all, false, false).unwrap(),
            LoginMethod::LoginCommand
        );
    }

    #[test]
    fn plus_refused_by_the_server_falls_back_once() {
        let both = caps("IMAP4REV1 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256");
        let refused = crate::AuthFailed {
            mechanism: Some("SCRAM-SHA-256-PLUS".into()),
            status: Some("NO".into()),
            text: bytes::Bytes::from_static(b"bad protocol / cancel"),
            sasl: None,
        };
        let a = AutoLogin::default();
        let plus = LoginMethod::ScramSha256Plus;
        assert_eq!(
            a.fallback(plus, Some(&refused), &both),
            Some(LoginMethod::ScramSha256)
        );
        // not when the binding is required, the plain variant is not
        // offered, the method has no binding, or the mechanism (not the
        // server) found something wrong
        let strict = AutoLogin {
            require_channel_binding: true,
            ..AutoLogin::default()
        };
        assert_eq!(strict.fallback(plus, Some(&refused), &both), None);
        let only_plus = caps("IMAP4REV1 AUTH=SCRAM-SHA-256-PLUS");
        assert_eq!(a.fallback(plus, Some(&refused), &only_plus), None);
        assert_eq!(
            a.fallback(LoginMethod::ScramSha256, Some(&refused), &both),
            None
        );
        let forged = crate::AuthFailed {
            sasl: Some(SaslError::Scram(ScramServerError::ChannelBindingsDontMatch)),
            ..refused.clone()
        };
        assert_eq!(a.fallback(plus, Some(&forged), &both), None);
        assert_eq!(a.fallback(plus, None, &both), None);
    }

    #[test]
    fn mechanisms_built_for_methods() {
        let a = AutoLogin::default();
        let s = Secret::new("pw");
        let names = |cb: Option<Vec<u8>>| {
            [
                LoginMethod::ScramSha256Plus,
                LoginMethod::ScramSha1Plus,
                LoginMethod::ScramSha256,
                LoginMethod::ScramSha1,
                LoginMethod::Plain,
                LoginMethod::Login,
            ]
            .map(|m| {
                a.mechanism(m, "u", &s, cb.clone())
                    .map(|m| m.name().to_string())
                    .unwrap_or_default()
            })
        };
        assert_eq!(
            names(Some(vec![1; 32])),
            [
                "SCRAM-SHA-256-PLUS",
                "SCRAM-SHA-1-PLUS",
                "SCRAM-SHA-256",
                "SCRAM-SHA-1",
                "PLAIN",
                "LOGIN"
            ]
        );
        assert!(a
            .mechanism(LoginMethod::LoginCommand, "u", &s, None)
            .is_none());
        // With channel binding available, a non-PLUS SCRAM says "y".
        let mut m = a
            .mechanism(LoginMethod::ScramSha256, "u", &s, Some(vec![1; 32]))
            .unwrap();
        assert!(m.initial_response().unwrap().unwrap().starts_with(b"y,,"));
        let mut m = a
            .mechanism(LoginMethod::ScramSha256, "u", &s, None)
            .unwrap();
        assert!(m.initial_response().unwrap().unwrap().starts_with(b"n,,"));
    }
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn all() -> Vec<Box<dyn Mechanism>> {
        vec![
            Box::new(Plain::new("u", "p")),
            Box::new(Login::new("u", "p")),
            Box::new(CramMd5::new("u", "p")),
            Box::new(External::new()),
            Box::new(XOAuth2::new("u", "t")),
            Box::new(OAuthBearer::new("u", "t").with_host_port("h", 1)),
            Box::new(Scram::sha1("u", "p").with_iteration_limits(1, 2)),
            Box::new(Scram::sha256("u", "p").with_iteration_limits(1, 2)),
            Box::new(Scram::sha256_plus("u", "p", vec![7; 32]).with_iteration_limits(1, 2)),
            Box::new(
                Scram::sha1("u", "p")
                    .with_nonce("abc")
                    .with_iteration_limits(1, 2),
            ),
        ]
    }

    /// Server messages that look almost right, to reach deep states.
    fn challenge() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "r=abc[a-z]{0,5},s=[A-Za-z0-9+/=]{0,12},i=[0-9]{0,3}(,[a-z]=.{0,5})?"
                .prop_map(String::into_bytes),
            "[vemrsi]=[A-Za-z0-9+/=,]{0,40}".prop_map(String::into_bytes),
            r#"\{"status":"[a-z0-9]{0,5}"(,"scope":.{0,10})?\}"#.prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #[test]
        fn no_challenge_makes_a_mechanism_panic(
            challenges in proptest::collection::vec(challenge(), 0..5),
            final_data in proptest::option::of(challenge()),
        ) {
            for mut m in all() {
                let _ = m.initial_response();
                for c in &challenges {
                    let _ = m.step(c);
                }
                let _ = m.server_error();
                let _ = m.finish(final_data.as_deref());
                let _ = m.step(b"");
                let _ = m.finish(None);
            }
        }
    }
}
