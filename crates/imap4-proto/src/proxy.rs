//! Proxy handshakes, sans-IO: SOCKS5 (RFC 1928, with RFC 1929
//! user/password authentication) and HTTP CONNECT (RFC 9110, with optional
//! basic authentication).
//!
//! A driver connects to the proxy, then moves bytes: it writes what
//! [`Handshake::take_output`] gives, reads at most [`Handshake::wants`]
//! bytes and hands them to [`Handshake::receive`], until the handshake is
//! [`Status::Done`]. The handshake never asks for a byte past its own end,
//! so whatever follows (the IMAP greeting, a TLS handshake) is left unread
//! in the socket.
//!
//! ```
//! use imap4_proto::proxy::{Handshake, Proxy, Status};
//!
//! let proxy = Proxy::socks5("127.0.0.1", 1080);
//! let mut h = Handshake::new(&proxy, "imap.example.org", 993).unwrap();
//! assert_eq!(h.take_output().unwrap(), [5, 1, 0]); // no authentication
//! assert_eq!(h.receive(&[5, 0]).unwrap(), Status::NeedInput);
//! let request = h.take_output().unwrap();
//! assert_eq!(&request[..5], &[5, 1, 0, 3, 16]); // CONNECT, by name
//! let reply = [5, 0, 0, 1, 10, 0, 0, 1, 3, 225]; // granted, bound address
//! assert_eq!(h.wants(), 5);
//! assert_eq!(h.receive(&reply[..5]).unwrap(), Status::NeedInput);
//! assert_eq!(h.wants(), 5);
//! assert_eq!(h.receive(&reply[5..]).unwrap(), Status::Done);
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use zeroize::Zeroizing;

/// The proxy protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS5 (RFC 1928); the proxy resolves the target's host name.
    Socks5,
    /// HTTP `CONNECT` (a tunnel through a web proxy).
    HttpConnect,
}

/// A proxy to reach the IMAP server through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The protocol.
    pub kind: ProxyKind,
    /// The proxy's host name or address.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// User name and password (SOCKS5: RFC 1929; HTTP: basic
    /// `Proxy-Authorization`), if the proxy wants them.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// A SOCKS5 proxy without authentication.
    pub fn socks5(host: impl Into<String>, port: u16) -> Proxy {
        Proxy {
            kind: ProxyKind::Socks5,
            host: host.into(),
            port,
            credentials: None,
        }
    }

    /// An HTTP CONNECT proxy without authentication.
    pub fn http(host: impl Into<String>, port: u16) -> Proxy {
        Proxy {
            kind: ProxyKind::HttpConnect,
            host: host.into(),
            port,
            credentials: None,
        }
    }

    /// With a user name and password.
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// `host:port` of the proxy, as error messages show it.
    pub fn display_addr(&self) -> String {
        host_port(&self.host, self.port)
    }

    fn describe(&self) -> String {
        let kind = match self.kind {
            ProxyKind::Socks5 => "SOCKS5",
            ProxyKind::HttpConnect => "HTTP",
        };
        format!("{kind} proxy {}", self.display_addr())
    }
}

/// `host:port`, with IPv6 addresses in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Why a proxy handshake failed: the message names the proxy, the target
/// and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProxyError(pub String);

/// Where a handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Write [`Handshake::take_output`] (if any), then read.
    NeedInput,
    /// The tunnel is open: the connection now reaches the target.
    Done,
}

#[derive(Debug)]
enum Step {
    /// SOCKS5: the method selection reply (2 bytes).
    SocksMethod,
    /// SOCKS5: the user/password reply (2 bytes).
    SocksAuth,
    /// SOCKS5: the CONNECT reply, read in pieces.
    SocksReply,
    /// HTTP: the response head, up to the empty line.
    HttpHead,
    Done,
}

/// The longest HTTP response head accepted from a proxy.
const MAX_HTTP_HEAD: usize = 16 * 1024;

/// A proxy handshake in progress. See the [module documentation](self).
pub struct Handshake {
    proxy: Proxy,
    target: String,
    target_host: String,
    target_port: u16,
    step: Step,
    out: Option<Zeroizing<Vec<u8>>>,
    buf: Vec<u8>,
    /// Bytes the current step needs in total (SOCKS).
    need: usize,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("proxy", &self.proxy)
            .field("target", &self.target)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    /// Starts a handshake asking `proxy` for a tunnel to
    /// `target_host:target_port` (`""` means `localhost`). The host name
    /// goes to the proxy as it is, for the proxy to resolve.
    pub fn new(proxy: &Proxy, target_host: &str, target_port: u16) -> Result<Self, ProxyError> {
        let host = if target_host.is_empty() {
            "localhost"
        } else {
            target_host
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut h = Handshake {
            proxy: proxy.clone(),
            target: host_port(host, target_port),
            target_host: host.to_string(),
            target_port,
            step: Step::Done,
            out: None,
            buf: Vec::new(),
            need: 0,
        };
        if host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(h.error("the target host name is invalid"));
        }
        match proxy.kind {
            ProxyKind::Socks5 => {
                if host.len() > 255 {
                    return Err(h.error("the target host name is longer than 255 bytes"));
                }
                if let Some((user, pass)) = &proxy.credentials {
                    if user.is_empty() || user.len() > 255 || pass.len() > 255 {
                        return Err(h.error(
                            "SOCKS5 user names and passwords are 1 to 255 bytes (RFC 1929)",
                        ));
                    }
                }
                let greeting = if proxy.credentials.is_some() {
                    vec![5, 2, 0, 2]
                } else {
                    vec![5, 1, 0]
                };
                h.out = Some(Zeroizing::new(greeting));
                h.step = Step::SocksMethod;
                h.need = 2;
            }
            ProxyKind::HttpConnect => {
                let mut req = format!("CONNECT {t} HTTP/1.1\r\nHost: {t}\r\n", t = h.target);
                if let Some((user, pass)) = &proxy.credentials {
                    let token = Zeroizing::new(B64.encode(format!("{user}:{pass}")));
                    req.push_str("Proxy-Authorization: Basic ");
                    req.push_str(&token);
                    req.push_str("\r\n");
                }
                req.push_str("\r\n");
                h.out = Some(Zeroizing::new(req.into_bytes()));
                h.step = Step::HttpHead;
            }
        }
        Ok(h)
    }

    fn error(&self, why: &str) -> ProxyError {
        ProxyError(format!(
            "{} could not open a tunnel to {}: {why}",
            self.proxy.describe(),
            self.target
        ))
    }

    /// The bytes to write now, if any.
    pub fn take_output(&mut self) -> Option<Vec<u8>> {
        self.out.take().map(|mut z| std::mem::take(&mut *z))
    }

    /// The most bytes to read next: never past the end of the handshake
    /// (0 once it is done).
    pub fn wants(&self) -> usize {
        match self.step {
            Step::Done => 0,
            Step::HttpHead => {
                // Up to the end of a possible "\r\n\r\n", never beyond.
                let b = &self.buf;
                let matched = [&b"\r\n\r"[..], b"\r\n", b"\r"]
                    .iter()
                    .find(|s| b.ends_with(s))
                    .map_or(0, |s| s.len());
                4 - matched
            }
            _ => self.need - self.buf.len(),
        }
    }

    /// Whether the tunnel is open.
    pub fn is_done(&self) -> bool {
        matches!(self.step, Step::Done)
    }

    /// Takes bytes read from the proxy (at most [`Handshake::wants`]).
    pub fn receive(&mut self, data: &[u8]) -> Result<Status, ProxyError> {
        if data.len() > self.wants() {
            return Err(self.error("more bytes were handed in than the handshake asked for"));
        }
        self.buf.extend_from_slice(data);
        loop {
            match self.step {
                Step::Done => return Ok(Status::Done),
                Step::HttpHead => return self.http_head(),
                _ if self.buf.len() < self.need => return Ok(Status::NeedInput),
                Step::SocksMethod => self.socks_method()?,
                Step::SocksAuth => self.socks_auth()?,
                Step::SocksReply => {
                    if self.socks_reply()? {
                        return Ok(Status::Done);
                    }
                }
            }
        }
    }

    /// Tells the handshake the proxy closed the connection.
    pub fn receive_eof(&self) -> ProxyError {
        self.error("the proxy closed the connection during the handshake")
    }

    fn socks_method(&mut self) -> Result<(), ProxyError> {
        let (ver, method) = (self.buf[0], self.buf[1]);
        self.buf.clear();
        if ver != 5 {
            return Err(self.error(&format!("not a SOCKS5 reply (version {ver})")));
        }
        match (method, &self.proxy.credentials) {
            (0, _) => self.connect_request(),
            (2, Some((user, pass))) => {
                let mut m = Vec::with_capacity(3 + user.len() + pass.len());
                m.push(1);
                m.push(user.len() as u8);
                m.extend_from_slice(user.as_bytes());
                m.push(pass.len() as u8);
                m.extend_from_slice(pass.as_bytes());
                self.out = Some(Zeroizing::new(m));
                self.step = Step::SocksAuth;
                self.need = 2;
            }
            (0xff, None) => {
                return Err(self.error(
                    "the proxy requires authentication (no acceptable method without credentials)",
                ))
            }
            (0xff, Some(_)) => {
                return Err(self.error("the proxy accepts no offered authentication method"))
            }
            (m, _) => {
                return Err(self.error(&format!("the proxy chose a method not offered ({m})")))
            }
        }
        Ok(())
    }

    fn socks_auth(&mut self) -> Result<(), ProxyError> {
        let status = self.buf[1];
        self.buf.clear();
        if status != 0 {
            return Err(self.error(&format!(
                "user/password authentication failed (status {status})"
            )));
        }
        self.connect_request();
        Ok(())
    }

    fn connect_request(&mut self) {
        let mut req = vec![5, 1, 0];
        match self.target_host.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) => {
                req.push(1);
                req.extend_from_slice(&a.octets());
            }
            Ok(std::net::IpAddr::V6(a)) => {
                req.push(4);
                req.extend_from_slice(&a.octets());
            }
            Err(_) => {
                // ATYP domain: the proxy resolves the name.
                req.push(3);
                req.push(self.target_host.len() as u8);
                req.extend_from_slice(self.target_host.as_bytes());
            }
        }
        req.extend_from_slice(&self.target_port.to_be_bytes());
        self.out = Some(Zeroizing::new(req));
        self.step = Step::SocksReply;
        // VER REP RSV ATYP and the first address byte; the rest follows.
        self.need = 5;
    }

    /// Returns whether the reply is complete.
    fn socks_reply(&mut self) -> Result<bool, ProxyError> {
        let (ver, rep, atyp) = (self.buf[0], self.buf[1], self.buf[3]);
        if ver != 5 {
            return Err(self.error(&format!("not a SOCKS5 reply (version {ver})")));
        }
        if rep != 0 {
            return Err(self.error(&format!("{} (reply code {rep})", socks_reason(rep))));
        }
        let total = match atyp {
            1 => 4 + 4 + 2,
            4 => 4 + 16 + 2,
            3 => 4 + 1 + self.buf[4] as usize + 2,
            other => return Err(self.error(&format!("unknown address type {other} in the reply"))),
        };
        if self.buf.len() < total {
            self.need = total;
            return Ok(false);
        }
        self.buf.clear();
        self.step = Step::Done;
        Ok(true)
    }

    fn http_head(&mut self) -> Result<Status, ProxyError> {
        if !self.buf.ends_with(b"\r\n\r\n") {
            if self.buf.len() > MAX_HTTP_HEAD {
                return Err(self.error(&format!(
                    "the proxy's response head is longer than {MAX_HTTP_HEAD} bytes"
                )));
            }
            return Ok(Status::NeedInput);
        }
        let head = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        let status_line = head.lines().next().unwrap_or_default();
        let mut words = status_line.splitn(3, ' ');
        let version = words.next().unwrap_or_default();
        let code = words.next().unwrap_or_default();
        let reason = crate::sanitize(words.next().unwrap_or_default().trim()).into_owned();
        if !version.starts_with("HTTP/1.") || code.len() != 3 {
            return Err(self.error(&format!(
                "not an HTTP response: {:?}",
                crate::sanitize(&status_line[..status_line.len().min(80)])
            )));
        }
        match code.parse::<u16>() {
            Ok(200..=299) => {
                self.step = Step::Done;
                Ok(Status::Done)
            }
            Ok(c) => Err(self.error(&format!("HTTP {c} {reason}"))),
            Err(_) => Err(self.error(&format!("bad HTTP status {code:?}"))),
        }
    }
}

/// RFC 1928's reply codes.
fn socks_reason(rep: u8) -> &'static str {
    match rep {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` as the driver would: never more than `wants()`.
    fn feed(h: &mut Handshake, mut input: &[u8]) -> Result<Status, ProxyError> {
        loop {
            let n = h.wants().min(input.len());
            if n == 0 {
                return Ok(if h.is_done() {
                    Status::Done
                } else {
                    Status::NeedInput
                });
            }
            let st = h.receive(&input[..n])?;
            input = &input[n..];
            if st == Status::Done {
                assert!(input.is_empty() || h.wants() == 0);
                return Ok(st);
            }
        }
    }

    #[test]
    fn socks5_with_credentials_by_name() {
        let p = Proxy::socks5("proxy", 1080).with_credentials("u", "pw");
        let mut h = Handshake::new(&p, "mail.example", 143).unwrap();
        assert_eq!(h.take_output().unwrap(), [5, 2, 0, 2]);
        assert_eq!(feed(&mut h, &[5, 2]).unwrap(), Status::NeedInput);
        assert_eq!(h.take_output().unwrap(), b"\x01\x01u\x02pw");
        assert_eq!(feed(&mut h, &[1, 0]).unwrap(), Status::NeedInput);
        let mut want = vec![5, 1, 0, 3, 12];
        want.extend_from_slice(b"mail.example");
        want.extend_from_slice(&[0, 143]);
        assert_eq!(h.take_output().unwrap(), want);
        // A reply with a domain address, then the greeting (never read).
        let mut reply = vec![5, 0, 0, 3, 3];
        reply.extend_from_slice(b"abc\x00\x8f");
        assert_eq!(h.wants(), 5);
        assert_eq!(feed(&mut h, &reply).unwrap(), Status::Done);
        assert_eq!(h.wants(), 0);
        assert!(h.receive(b"* OK").is_err());
    }

    #[test]
    fn socks5_refusals_name_the_proxy_and_reason() {
        let p = Proxy::socks5("127.0.0.1", 9);
        let mut h = Handshake::new(&p, "localhost", 143).unwrap();
        h.take_output();
        feed(&mut h, &[5, 0]).unwrap();
        let e = feed(&mut h, &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SOCKS5 proxy 127.0.0.1:9 could not open a tunnel to localhost:143: \
             connection refused (reply code 5)"
        );
        let mut h = Handshake::new(&p, "::1", 993).unwrap();
        h.take_output();
        let e = feed(&mut h, &[5, 0xff]).unwrap_err();
        assert!(e.to_string().contains("requires authentication"), "{e}");
        let p = Proxy::socks5("127.0.0.1", 9).with_credentials("u", "bad");
        let mut h = Handshake::new(&p, "localhost", 143).unwrap();
        h.take_output();
        feed(&mut h, &[5, 2]).unwrap();
        let e = feed(&mut h, &[1, 1]).unwrap_err();
        assert!(e.to_string().contains("authentication failed"), "{e}");
    }

    #[test]
    fn socks5_ip_targets_go_as_addresses() {
        let p = Proxy::socks5("p", 1);
        let mut h = Handshake::new(&p, "[::1]", 993).unwrap();
        h.take_output();
        feed(&mut h, &[5, 0]).unwrap();
        let req = h.take_output().unwrap();
        assert_eq!(req[3], 4);
        assert_eq!(req.len(), 4 + 16 + 2);
        let mut h = Handshake::new(&p, "10.1.2.3", 143).unwrap();
        h.take_output();
        feed(&mut h, &[5, 0]).unwrap();
        assert_eq!(h.take_output().unwrap(), [5, 1, 0, 1, 10, 1, 2, 3, 0, 143]);
    }

    #[test]
    fn http_connect_reads_exactly_the_head() {
        let p = Proxy::http("proxy", 3128).with_credentials("alice", "s3cret");
        let mut h = Handshake::new(&p, "mail.example", 993).unwrap();
        let req = String::from_utf8(h.take_output().unwrap()).unwrap();
        assert_eq!(
            req,
            "CONNECT mail.example:993 HTTP/1.1\r\nHost: mail.example:993\r\n\
             Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"
        );
        let reply = b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n* OK hi\r\n";
        assert_eq!(feed(&mut h, reply).unwrap(), Status::Done);
        assert_eq!(h.wants(), 0);
    }

    #[test]
    fn http_refusals_name_the_proxy_and_status() {
        let p = Proxy::http("127.0.0.1", 3128);
        let mut h = Handshake::new(&p, "localhost", 143).unwrap();
        h.take_output();
        let e = feed(
            &mut h,
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "HTTP proxy 127.0.0.1:3128 could not open a tunnel to localhost:143: \
             HTTP 407 Proxy Authentication Required"
        );
        let mut h = Handshake::new(&p, "localhost", 143).unwrap();
        h.take_output();
        assert!(feed(&mut h, b"SSH-2.0-x\r\n\r\n").is_err());
        let mut h = Handshake::new(&p, "localhost", 143).unwrap();
        h.take_output();
        let endless = vec![b'x'; MAX_HTTP_HEAD + 10];
        assert!(feed(&mut h, &endless).is_err());
    }

    #[test]
    fn bad_targets_are_refused_before_anything_is_sent() {
        let p = Proxy::http("p", 1);
        assert!(Handshake::new(&p, "a\r\nX-Evil: 1", 143).is_err());
        let p = Proxy::socks5("p", 1);
        assert!(Handshake::new(&p, &"a".repeat(256), 143).is_err());
        let p = Proxy::socks5("p", 1).with_credentials("", "x");
        assert!(Handshake::new(&p, "h", 143).is_err());
        assert!(!format!("{:?}", Proxy::http("p", 1).with_credentials("u", "pw")).contains("pw"));
    }
}
