//! Helpers shared by the TLS, STARTTLS, stream and timeout tests:
//! certificates minted with rcgen (any validity, any name, client or
//! server), a one-connection TCP server thread that records every byte it
//! reads and can switch to TLS (rustls, ring) at any point of its script,
//! temp dirs and process checks.
//!
//! Nothing here sleeps to synchronise: the server thread blocks on reads,
//! and every server-side read has a generous timeout only as a failsafe
//! against a hanging test.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

/// Failsafe only: a server-side read that waits longer than this fails the
/// script instead of hanging the test.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(20);

/// Failsafe only: client read timeout for tests that do not test timeouts,
/// so a client bug shows up as an error instead of a hang.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether `needle` occurs in `hay`, ignoring ASCII case.
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Asserts that no credential-carrying command and no password reached the
/// server in the clear.
pub fn assert_no_credentials(plain: &[u8]) {
    for word in [&b"LOGIN"[..], b"AUTHENTICATE", b"secret", b"c2VjcmV0"] {
        assert!(
            !contains_ci(plain, word),
            "server received {:?} in plaintext: {:?}",
            String::from_utf8_lossy(word),
            String::from_utf8_lossy(plain)
        );
    }
}

// ----- temp dirs --------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "imap4-it-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `contents` to `name` in this dir and returns the path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ----- certificates -----------------------------------------------------------

/// A test certificate authority (EC P-256), made with rcgen.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
}

/// A certificate and its private key.
pub struct Leaf {
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_der: Vec<u8>,
    pub key_pem: String,
}

/// Validity window as (year, month, day) dates.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: (i32, u8, u8),
    pub not_after: (i32, u8, u8),
}

impl Validity {
    /// Valid from 2020 to 2090.
    pub const CURRENT: Validity = Validity {
        not_before: (2020, 1, 1),
        not_after: (2090, 1, 1),
    };
    /// Expired at the end of 2021.
    pub const EXPIRED: Validity = Validity {
        not_before: (2020, 1, 1),
        not_after: (2021, 12, 31),
    };
    /// Valid only from 2090 on.
    pub const NOT_YET_VALID: Validity = Validity {
        not_before: (2090, 1, 1),
        not_after: (2095, 1, 1),
    };
}

impl Ca {
    pub fn new(common_name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2090, 1, 1);
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("self-sign CA");
        Ca {
            issuer: Issuer::new(params, key),
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
        }
    }

    fn leaf(&self, names: &[&str], validity: Validity, client: bool) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_else(|| "leaf".into()),
        );
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let (y, m, d) = validity.not_before;
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = validity.not_after;
        params.not_after = rcgen::date_time_ymd(y, m, d);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server_cert(&self, names: &[&str], validity: Validity) -> Leaf {
        self.leaf(names, validity, false)
    }

    /// A client certificate with common name `name`.
    pub fn client_cert(&self, name: &str) -> Leaf {
        self.leaf(&[name], Validity::CURRENT, true)
    }

    /// Writes the CA certificate as PEM into `dir` and returns its path.
    pub fn write_pem(&self, dir: &TempDir, name: &str) -> PathBuf {
        dir.write(name, &self.cert_pem)
    }
}

impl Leaf {
    /// Writes `<stem>.pem` (certificate) and `<stem>.key` (PKCS#8 key).
    pub fn write(&self, dir: &TempDir, stem: &str) -> (PathBuf, PathBuf) {
        (
            dir.write(&format!("{stem}.pem"), &self.cert_pem),
            dir.write(&format!("{stem}.key"), &self.key_pem),
        )
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls server config presenting `leaf` (followed by its CA).
pub fn server_config(leaf: &Leaf, ca: &Ca) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert_der.clone(), ca.cert_der.clone()], leaf.key())
        .expect("server cert");
    Arc::new(config)
}

/// Like [`server_config`], and also requires a client certificate issued by
/// `client_ca`, verified with rustls' `WebPkiClientVerifier`.
pub fn server_config_client_auth(leaf: &Leaf, ca: &Ca, client_ca: &Ca) -> Arc<ServerConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.cert_der.clone()).expect("client CA");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .expect("client verifier");
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![leaf.cert_der.clone(), ca.cert_der.clone()], leaf.key())
        .expect("server cert");
    Arc::new(config)
}

/// The kit-independent PKI most TLS tests use: one CA, a `localhost` /
/// `127.0.0.1` server certificate, its files.
pub struct Pki {
    pub dir: TempDir,
    pub ca: Ca,
    pub ca_file: PathBuf,
    pub server: Leaf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = TempDir::new("pki");
        let ca = Ca::new("imap4 integration test CA");
        let ca_file = ca.write_pem(&dir, "ca.pem");
        let server = ca.server_cert(&["localhost", "127.0.0.1"], Validity::CURRENT);
        Pki {
            dir,
            ca,
            ca_file,
            server,
        }
    }

    /// Server config presenting the `localhost` certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        server_config(&self.server, &self.ca)
    }
}

// ----- a one-connection scripted server ----------------------------------------

/// The client socket as the server sees it, recording every byte read.
pub struct Wire {
    stream: TcpStream,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.raw
            .lock()
            .expect("raw log")
            .extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

enum Link {
    Plain(Wire),
    Tls(Box<rustls::StreamOwned<ServerConnection, Wire>>),
    Gone,
}

/// The server side of one connection, driven by a test script.
pub struct Peer {
    link: Link,
    /// Bytes read but not yet consumed by the script (always empty when TLS
    /// starts, or the switch fails).
    pending: Vec<u8>,
    /// Every byte read while the connection was plaintext.
    pub plain: Vec<u8>,
    /// Every byte read (decrypted) while the connection was TLS.
    pub secure: Vec<u8>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Peer {
    fn new(stream: TcpStream) -> Peer {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(SERVER_TIMEOUT));
        let _ = stream.set_write_timeout(Some(SERVER_TIMEOUT));
        let raw = Arc::new(Mutex::new(Vec::new()));
        Peer {
            link: Link::Plain(Wire {
                stream,
                raw: Arc::clone(&raw),
            }),
            pending: Vec::new(),
            plain: Vec::new(),
            secure: Vec::new(),
            raw,
        }
    }

    /// Whether TLS is on.
    pub fn is_tls(&self) -> bool {
        matches!(self.link, Link::Tls(_))
    }

    /// Writes `bytes` in one write (one TCP segment or TLS record, as far
    /// as that is up to us) and flushes.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        let bytes = bytes.as_ref();
        match &mut self.link {
            Link::Plain(w) => {
                w.write_all(bytes)?;
                w.flush()
            }
            Link::Tls(s) => {
                s.write_all(bytes)?;
                s.flush()
            }
            Link::Gone => Err(io::Error::new(io::ErrorKind::NotConnected, "closed")),
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = match &mut self.link {
            Link::Plain(w) => w.read(&mut chunk)?,
            Link::Tls(s) => s.read(&mut chunk)?,
            Link::Gone => return Ok(0),
        };
        let log = if self.is_tls() {
            &mut self.secure
        } else {
            &mut self.plain
        };
        log.extend_from_slice(&chunk[..n]);
        self.pending.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// One line including CRLF, or `None` at EOF.
    pub fn line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                return Ok(Some(self.pending.drain(..=i).collect()));
            }
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    /// Exactly `n` bytes (e.g. a literal), or fewer at EOF.
    pub fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.pending.len() < n {
            if self.fill()? == 0 {
                break;
            }
        }
        let n = n.min(self.pending.len());
        Ok(self.pending.drain(..n).collect())
    }

    /// The next command as (tag, rest without CRLF), or `None` at EOF.
    pub fn command(&mut self) -> io::Result<Option<(String, String)>> {
        let Some(line) = self.line()? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (tag, rest) = text.split_once(' ').unwrap_or((text, ""));
        Ok(Some((tag.to_string(), rest.to_string())))
    }

    /// Reads a command that must be `name` (case-insensitive, arguments
    /// ignored) and returns its tag.
    pub fn expect(&mut self, name: &str) -> io::Result<String> {
        match self.command()? {
            Some((tag, rest)) => {
                let cmd = rest.split(' ').next().unwrap_or("");
                if cmd.eq_ignore_ascii_case(name) {
                    Ok(tag)
                } else {
                    Err(io::Error::other(format!(
                        "expected {name}, got {tag} {rest:?}"
                    )))
                }
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("expected {name}, got EOF"),
            )),
        }
    }

    /// Sends `greeting`, answers the client's CAPABILITY with `caps`.
    pub fn greet(&mut self, greeting: &str, caps: &str) -> io::Result<()> {
        self.send(greeting)?;
        let tag = self.expect("CAPABILITY")?;
        self.send(format!(
            "* CAPABILITY {caps}\r\n{tag} OK CAPABILITY completed\r\n"
        ))
    }

    /// Runs the TLS server handshake now (the script decides when: at once
    /// for implicit TLS, after a STARTTLS reply otherwise).
    pub fn start_tls(&mut self, config: Arc<ServerConfig>) -> io::Result<()> {
        if !self.pending.is_empty() {
            return Err(io::Error::other(format!(
                "client sent {:?} before the TLS handshake",
                String::from_utf8_lossy(&self.pending)
            )));
        }
        let Link::Plain(mut wire) = std::mem::replace(&mut self.link, Link::Gone) else {
            return Err(io::Error::other("TLS already on, or closed"));
        };
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut wire) {
                // Send any alert rustls queued before giving up.
                let _ = conn.write_tls(&mut wire);
                self.link = Link::Plain(wire);
                return Err(e);
            }
        }
        self.link = Link::Tls(Box::new(rustls::StreamOwned::new(conn, wire)));
        Ok(())
    }

    /// The RFC 9266 `tls-exporter` channel binding of the TLS session.
    pub fn tls_exporter(&self) -> Option<Vec<u8>> {
        match &self.link {
            Link::Tls(s) => s
                .conn
                .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
                .ok()
                .map(|k| k.to_vec()),
            _ => None,
        }
    }

    /// The client certificates presented during the handshake.
    pub fn client_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        match &self.link {
            Link::Tls(s) => s.conn.peer_certificates().map(|c| c.to_vec()),
            _ => None,
        }
    }

    /// Reads (and records) everything until the client closes the
    /// connection, fails, or the failsafe timeout passes.
    pub fn drain(&mut self) {
        while let Ok(n) = self.fill() {
            if n == 0 {
                break;
            }
        }
    }

    /// Closes the connection at once.
    pub fn close(&mut self) {
        match std::mem::replace(&mut self.link, Link::Gone) {
            Link::Plain(w) => {
                let _ = w.stream.shutdown(Shutdown::Both);
            }
            Link::Tls(s) => {
                let _ = s.sock.stream.shutdown(Shutdown::Both);
            }
            Link::Gone => {}
        }
    }

    /// Every byte read from the socket so far (TLS records included).
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().expect("raw log").clone()
    }
}

/// What a finished [`Server`] script left behind.
pub struct Served<T> {
    /// The script's own result.
    pub result: T,
    /// Bytes read while plaintext.
    pub plain: Vec<u8>,
    /// Decrypted bytes read while TLS.
    pub secure: Vec<u8>,
    /// Everything read from the socket, TLS records included.
    pub raw: Vec<u8>,
}

/// A server thread that accepts one connection on `127.0.0.1:0` and runs a
/// script on it; after the script it reads until the client closes.
pub struct Server<T> {
    addr: SocketAddr,
    handle: JoinHandle<Served<T>>,
}

/// Starts a [`Server`] running `script`.
pub fn serve<T, F>(script: F) -> Server<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Peer) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        drop(listener);
        let mut peer = Peer::new(stream);
        let result = script(&mut peer);
        peer.drain();
        let raw = peer.raw();
        Served {
            result,
            plain: std::mem::take(&mut peer.plain),
            secure: std::mem::take(&mut peer.secure),
            raw,
        }
    });
    Server { addr, handle }
}

impl<T> Server<T> {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits for the script (the client must have closed the connection,
    /// i.e. been dropped, or this waits for the failsafe timeout).
    pub fn finish(self) -> Served<T> {
        match self.handle.join() {
            Ok(s) => s,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

// ----- processes --------------------------------------------------------------

/// Whether a process with this pid exists (zombies included: a zombie keeps
/// its /proc entry until reaped).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The state letter of a process (`Z` for a zombie), if it exists.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.trim_start().chars().next()
}

/// The pids of this process's children (all threads).
pub fn children() -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// Reads a pid written by `echo $$ > file`.
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Single-quotes `s` for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

// ----- responses ----------------------------------------------------------------

/// All bytes of a response's data, flattened (lines, literal headers and
/// bodies, nested lists), for "does X show up anywhere" checks.
pub fn flat(data: &[imap4::Data]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in data {
        match d {
            imap4::Data::None => out.extend_from_slice(b"<None>"),
            imap4::Data::Line(b) => out.extend_from_slice(b),
            imap4::Data::Literal(l) => {
                out.extend_from_slice(&l.header);
                out.extend_from_slice(&l.body);
            }
            imap4::Data::List(v) => out.extend_from_slice(&flat(v)),
        }
        out.push(b'\n');
    }
    out
}

/// Whether the response data is imaplib's `[None]`.
pub fn is_none(data: &[imap4::Data]) -> bool {
    matches!(data, [imap4::Data::None])
}
