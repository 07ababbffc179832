//! Proxies on loopback for tests: SOCKS5 (RFC 1928, no-auth or RFC 1929
//! user/password) and HTTP CONNECT (optional basic auth), each on a free
//! port, served by threads, really forwarding to the target (a
//! [`crate::Dovecot`], say). A proxy can also refuse every request, or
//! accept connections and never answer.
//!
//! The proxy resolves the target's host name itself (SOCKS5 ATYP domain,
//! or the CONNECT authority), through [`ProxyBuilder::alias`] first, then
//! the system resolver; it only ever connects to loopback addresses, and
//! refuses anything else.
//!
//! ```
//! use std::io::{BufRead, BufReader, Read, Write};
//! let server = imap4_testkit::Dovecot::start()?;
//! let proxy = imap4_testkit::proxy::ProxyServer::http().start()?;
//! let mut s = std::net::TcpStream::connect(proxy.addr())?;
//! write!(s, "CONNECT localhost:{} HTTP/1.1\r\nHost: x\r\n\r\n", server.port())?;
//! let mut r = BufReader::new(s);
//! let mut line = String::new();
//! r.read_line(&mut line)?;
//! assert!(line.starts_with("HTTP/1.1 200"));
//! while line != "\r\n" { line.clear(); r.read_line(&mut line)?; }
//! line.clear();
//! r.read_line(&mut line)?;
//! assert!(line.starts_with("* OK"), "{line}");
//! assert_eq!(proxy.requests(), vec![format!("localhost:{}", server.port())]);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Failsafe: a proxy-side read of the handshake that waits longer fails.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// The proxy protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SOCKS5.
    Socks5,
    /// HTTP CONNECT.
    Http,
}

/// What the proxy does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Opens the tunnel and forwards bytes both ways.
    Forward,
    /// Refuses every request (SOCKS5 reply code 5 "connection refused";
    /// HTTP `403 Forbidden`), after authentication.
    Refuse,
    /// Accepts TCP connections, reads, and never answers.
    Silent,
}

/// Configures a [`ProxyServer`].
#[derive(Debug, Clone)]
pub struct ProxyBuilder {
    kind: Kind,
    credentials: Option<(String, String)>,
    behavior: Behavior,
    aliases: Vec<(String, IpAddr)>,
}

impl ProxyBuilder {
    /// Requires this user name and password (SOCKS5: only RFC 1929 is
    /// accepted; HTTP: `Proxy-Authorization: Basic`, else `407`).
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }

    /// Refuses every request ([`Behavior::Refuse`]).
    pub fn refuse(mut self) -> Self {
        self.behavior = Behavior::Refuse;
        self
    }

    /// Never answers ([`Behavior::Silent`]).
    pub fn silent(mut self) -> Self {
        self.behavior = Behavior::Silent;
        self
    }

    /// Resolves `name` to `ip` (a loopback address) before asking the
    /// system: a host name only the proxy knows.
    pub fn alias(mut self, name: &str, ip: IpAddr) -> Self {
        self.aliases.push((name.to_ascii_lowercase(), ip));
        self
    }

    /// Listens on a free loopback port and serves in background threads
    /// until dropped.
    pub fn start(self) -> io::Result<ProxyServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let config = Arc::new(self);
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("test-proxy-{}", addr.port()))
            .spawn(move || accept_loop(listener, config, thread_shared))?;
        Ok(ProxyServer {
            addr,
            shared,
            thread: Some(thread),
        })
    }
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    /// Every socket of every connection, to shut down on drop.
    sockets: Mutex<Vec<TcpStream>>,
    /// The targets asked for, as `host:port` (as the client spelled them).
    requests: Mutex<Vec<String>>,
    /// How SOCKS5 clients named their targets (`"domain"`, `"ipv4"`,
    /// `"ipv6"`).
    address_types: Mutex<Vec<&'static str>>,
    /// Connections accepted.
    connections: Mutex<usize>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn register(&self, s: &TcpStream) {
        if let (Ok(mut v), Ok(c)) = (self.sockets.lock(), s.try_clone()) {
            v.push(c);
        }
    }
}

/// A running test proxy; see the [module docs](self). Dropping it closes
/// every connection and stops its threads.
#[derive(Debug)]
pub struct ProxyServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl ProxyServer {
    /// A SOCKS5 proxy (no authentication unless
    /// [`ProxyBuilder::credentials`]).
    pub fn socks5() -> ProxyBuilder {
        ProxyServer::builder(Kind::Socks5)
    }

    /// An HTTP CONNECT proxy.
    pub fn http() -> ProxyBuilder {
        ProxyServer::builder(Kind::Http)
    }

    /// A proxy of this kind.
    pub fn builder(kind: Kind) -> ProxyBuilder {
        ProxyBuilder {
            kind,
            credentials: None,
            behavior: Behavior::Forward,
            aliases: Vec::new(),
        }
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The targets clients asked for so far, `host:port` as they named
    /// them (after successful authentication).
    pub fn requests(&self) -> Vec<String> {
        self.shared
            .requests
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// How SOCKS5 clients named their targets: `"domain"` (ATYP 3, the
    /// proxy resolves), `"ipv4"` or `"ipv6"`.
    pub fn address_types(&self) -> Vec<&'static str> {
        self.shared
            .address_types
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.lock().map(|n| *n).unwrap_or(0)
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Ok(v) = self.shared.sockets.lock() {
            for s in v.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, config: Arc<ProxyBuilder>, shared: Arc<Shared>) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((client, _)) => {
                if let Ok(mut n) = shared.connections.lock() {
                    *n += 1;
                }
                let _ = client.set_nonblocking(false);
                let _ = client.set_nodelay(true);
                shared.register(&client);
                let (config, shared) = (Arc::clone(&config), Arc::clone(&shared));
                let _ = std::thread::Builder::new()
                    .name("test-proxy-conn".into())
                    .spawn(move || {
                        let _ = serve(client, &config, &shared);
                    });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Polling for the stop flag, not synchronisation.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn serve(mut client: TcpStream, config: &ProxyBuilder, shared: &Shared) -> io::Result<()> {
    client.set_read_timeout(Some(READ_TIMEOUT))?;
    if config.behavior == Behavior::Silent {
        // Read whatever comes, answer nothing, until the client or the
        // test gives up.
        let mut buf = [0u8; 1024];
        client.set_read_timeout(Some(Duration::from_millis(100)))?;
        while !shared.stopped() {
            match client.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        return Ok(());
    }
    let target = match config.kind {
        Kind::Socks5 => socks5(&mut client, config, shared)?,
        Kind::Http => http(&mut client, config, shared)?,
    };
    let Some(upstream) = target else {
        return Ok(());
    };
    shared.register(&upstream);
    client.set_read_timeout(None)?;
    relay(client, upstream)
}

/// Resolves `host` the proxy's way: aliases, then the system; loopback
/// addresses only.
fn resolve(config: &ProxyBuilder, host: &str, port: u16) -> Option<SocketAddr> {
    let lower = host.to_ascii_lowercase();
    if let Some((_, ip)) = config.aliases.iter().find(|(n, _)| *n == lower) {
        return ip.is_loopback().then_some(SocketAddr::new(*ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .ok()?
        .find(|a| a.ip().is_loopback())
}

fn read_exact(s: &mut TcpStream, n: usize) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    s.read_exact(&mut v)?;
    Ok(v)
}

fn socks5(
    client: &mut TcpStream,
    config: &ProxyBuilder,
    shared: &Shared,
) -> io::Result<Option<TcpStream>> {
    let head = read_exact(client, 2)?;
    if head[0] != 5 {
        return Ok(None);
    }
    let methods = read_exact(client, head[1] as usize)?;
    let wanted = if config.credentials.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        client.write_all(&[5, 0xff])?;
        return Ok(None);
    }
    client.write_all(&[5, wanted])?;
    if let Some((user, pass)) = &config.credentials {
        let v = read_exact(client, 2)?;
        let u = read_exact(client, v[1] as usize)?;
        let plen = read_exact(client, 1)?;
        let p = read_exact(client, plen[0] as usize)?;
        if v[0] != 1 || u != user.as_bytes() || p != pass.as_bytes() {
            client.write_all(&[1, 1])?;
            return Ok(None);
        }
        client.write_all(&[1, 0])?;
    }
    let req = read_exact(client, 4)?;
    let (host, kind) = match req[3] {
        1 => {
            let a = read_exact(client, 4)?;
            (IpAddr::from([a[0], a[1], a[2], a[3]]).to_string(), "ipv4")
        }
        4 => {
            let a = read_exact(client, 16)?;
            let mut o = [0u8; 16];
            o.copy_from_slice(&a);
            (IpAddr::from(o).to_string(), "ipv6")
        }
        3 => {
            let n = read_exact(client, 1)?;
            let name = read_exact(client, n[0] as usize)?;
            (String::from_utf8_lossy(&name).into_owned(), "domain")
        }
        _ => {
            client.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0])?;
            return Ok(None);
        }
    };
    let p = read_exact(client, 2)?;
    let port = u16::from_be_bytes([p[0], p[1]]);
    if let Ok(mut v) = shared.requests.lock() {
        v.push(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        });
    }
    if let Ok(mut v) = shared.address_types.lock() {
        v.push(kind);
    }
    if req[1] != 1 {
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(None);
    }
    if config.behavior == Behavior::Refuse {
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(None);
    }
    let Some(addr) = resolve(config, &host, port) else {
        // Not allowed by ruleset: only loopback targets.
        client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(None);
    };
    match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(up) => {
            let _ = up.set_nodelay(true);
            let mut reply = vec![5, 0, 0, 1, 127, 0, 0, 1];
            reply.extend_from_slice(&addr.port().to_be_bytes());
            client.write_all(&reply)?;
            Ok(Some(up))
        }
        Err(_) => {
            client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
            Ok(None)
        }
    }
}

fn http(
    client: &mut TcpStream,
    config: &ProxyBuilder,
    shared: &Shared,
) -> io::Result<Option<TcpStream>> {
    // Byte by byte up to the empty line: nothing after it is consumed.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || client.read(&mut b)? == 0 {
            return Ok(None);
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut words = request.split(' ');
    let (method, authority) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let respond = |c: &mut TcpStream, status: &str, extra: &str| {
        c.write_all(format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n").as_bytes())
    };
    if method != "CONNECT" {
        respond(client, "405 Method Not Allowed", "")?;
        return Ok(None);
    }
    if let Some((user, pass)) = &config.credentials {
        let want = format!("Basic {}", base64(&format!("{user}:{pass}")));
        let ok = lines.clone().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.eq_ignore_ascii_case("Proxy-Authorization") && v.trim() == want
            })
        });
        if !ok {
            respond(
                client,
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Basic realm=\"test\"\r\n",
            )?;
            return Ok(None);
        }
    }
    if let Ok(mut v) = shared.requests.lock() {
        v.push(authority.to_string());
    }
    if config.behavior == Behavior::Refuse {
        respond(client, "403 Forbidden", "")?;
        return Ok(None);
    }
    let Some((host, port)) = authority.rsplit_once(':') else {
        respond(client, "400 Bad Request", "")?;
        return Ok(None);
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Some(addr) = port.parse().ok().and_then(|p| resolve(config, host, p)) else {
        respond(client, "502 Bad Gateway", "")?;
        return Ok(None);
    };
    match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(up) => {
            let _ = up.set_nodelay(true);
            client.write_all(
                b"HTTP/1.1 200 Connection established\r\nProxy-Agent: imap4-testkit\r\n\r\n",
            )?;
            Ok(Some(up))
        }
        Err(_) => {
            respond(client, "502 Bad Gateway", "")?;
            Ok(None)
        }
    }
}

/// Copies both ways until both sides are done.
fn relay(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    let (mut c_read, mut u_write) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::Builder::new()
        .name("test-proxy-relay".into())
        .spawn(move || {
            let _ = io::copy(&mut c_read, &mut u_write);
            let _ = u_write.shutdown(Shutdown::Write);
        })?;
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(""), "");
        assert_eq!(super::base64("f"), "Zg==");
        assert_eq!(super::base64("fo"), "Zm8=");
        assert_eq!(super::base64("foo"), "Zm9v");
        assert_eq!(super::base64("alice:s3cret"), "YWxpY2U6czNjcmV0");
    }
}
