//! Connecting and logging in.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use imap4::sasl::{OAuthBearer, XOAuth2};
use imap4::{Config, Imap4, TlsOptions};

use crate::cli::{CompressMode, TlsMode};
use crate::config::{credential, Account, Credential};
use crate::output::{fail, Class, Failure, Phase};

/// Connects as the account says (TLS verified unless `insecure`).
pub fn connect(a: &Account) -> Result<Imap4, Failure> {
    let mut config = Config {
        // the greeting's [CAPABILITY ...] is enough: one round trip less
        greeting_capabilities: true,
        ..Config::default()
    };
    if let Some(t) = a.timeout {
        let t = Duration::from_secs(t.max(1));
        config.connect_timeout = Some(t);
        config.response_timeout = Some(t);
    }
    let mut tls = TlsOptions::new();
    if let Some(ca) = &a.ca_file {
        tls = tls.ca_file(ca);
    }
    if let Some((cert, key)) = &a.client_cert {
        tls = tls.client_cert(cert, key);
    }
    if a.insecure {
        eprintln!(
            "imap4: WARNING: --insecure: the server's certificate is not checked; anyone on the path can read the password and the mail"
        );
        tls = tls.danger_accept_invalid_certs();
    }
    let r = match a.tls {
        TlsMode::Implicit => Imap4::connect_ssl_config(&a.host, a.port, tls, config),
        TlsMode::Starttls => Imap4::connect_starttls_config(&a.host, a.port, tls, config),
        TlsMode::None => {
            if !is_loopback(&a.host) {
                eprintln!(
                    "imap4: WARNING: --tls none: the password and the mail cross the network in the clear"
                );
            }
            Imap4::connect_with(&a.host, a.port, config)
        }
    };
    r.map_err(|e| {
        let mut f = fail(e, Phase::Connect);
        f.message = format!("{}:{}: {}", a.host, a.port, f.message);
        f
    })
}

/// Logs in with the account's credential: an OAuth2 token with
/// OAUTHBEARER or XOAUTH2, a password with the best mechanism offered
/// (SCRAM, PLAIN, LOGIN…). A PREAUTH connection needs none.
pub fn login(m: &mut Imap4, a: &Account) -> Result<(), Failure> {
    if matches!(m.state(), imap4::State::Auth | imap4::State::Selected) {
        return Ok(());
    }
    let r = match credential(a)? {
        Credential::Token(token) => {
            let mut t = m.typed();
            if t.has_capability("AUTH=OAUTHBEARER") {
                let mut mech = OAuthBearer::new(&a.user, token).with_host_port(&a.host, a.port);
                t.authenticate(&mut mech).map(|_| ())
            } else if t.has_capability("AUTH=XOAUTH2") {
                let mut mech = XOAuth2::new(&a.user, token);
                t.authenticate(&mut mech).map(|_| ())
            } else {
                return Err(Failure::new(
                    Class::Auth,
                    "the server offers neither OAUTHBEARER nor XOAUTH2 for the token",
                ));
            }
        }
        Credential::Password(p) => {
            // `--tls none` was asked for by name: a password mechanism
            // without TLS is then the user's choice (SCRAM still wins
            // where offered)
            let options = imap4::sasl::AutoLogin {
                danger_allow_plaintext_password: a.tls == TlsMode::None,
                methods: a.auth.methods(),
                ..Default::default()
            };
            m.typed().login_auto_with(&a.user, p, &options).map(|_| ())
        }
    };
    r.map_err(|e| fail(e, Phase::Login))
}

/// Connects, logs in, and turns COMPRESS on as the account says.
pub fn open(a: &Account) -> Result<Imap4, Failure> {
    let mut m = connect(a)?;
    login(&mut m, a)?;
    if wants_compress(a.compress, &a.host, a.port) && m.typed().has_capability("COMPRESS=DEFLATE") {
        m.typed().compress().map_err(|e| fail(e, Phase::Login))?;
    }
    Ok(m)
}

/// Whether `mode` asks for COMPRESS with this server (auto: not when
/// every address of the host is loopback or private, where deflating
/// only costs CPU).
fn wants_compress(mode: CompressMode, host: &str, port: u16) -> bool {
    match mode {
        CompressMode::Off => false,
        CompressMode::On => true,
        CompressMode::Auto => {
            let addrs: Vec<IpAddr> = match (host, port).to_socket_addrs() {
                Ok(a) => a.map(|a| a.ip()).collect(),
                Err(_) => return false,
            };
            !addrs.is_empty() && !addrs.iter().all(|ip| is_local(*ip))
        }
    }
}

/// Loopback, private (RFC 1918, RFC 4193) and link-local addresses.
fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local(IpAddr::V4(v4));
            }
            let seg = v6.segments()[0];
            v6.is_loopback() || (seg & 0xfe00) == 0xfc00 || (seg & 0xffc0) == 0xfe80
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_compress_is_off_for_local_addresses_only() {
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.0.1",
        ] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for public in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:1.1.1.1"] {
            assert!(!is_local(public.parse().unwrap()), "{public}");
        }
        assert!(!wants_compress(CompressMode::Auto, "127.0.0.1", 143));
        assert!(wants_compress(CompressMode::Auto, "8.8.8.8", 993));
        assert!(wants_compress(CompressMode::On, "127.0.0.1", 143));
        assert!(!wants_compress(CompressMode::Off, "8.8.8.8", 993));
    }
}
