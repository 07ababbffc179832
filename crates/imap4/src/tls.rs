//! TLS over any [`Transport`], with rustls: verified by default.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::Error;
use crate::transport::Transport;
use crate::ErrorKind;

/// How to set up TLS. Secure by default: the server's certificate chain is
/// verified against the platform's trust store (with Mozilla's roots from
/// `webpki-roots` as a fallback when the platform has none), its name must
/// match the host connected to, and TLS 1.2 is the minimum.
///
/// ```no_run
/// use imap4::{Imap4, TlsOptions};
///
/// let tls = TlsOptions::default().ca_file("/etc/ssl/private-ca.pem");
/// let mut m = Imap4::connect_ssl_with("imap.example.org", imap4::IMAP4_SSL_PORT, tls)?;
/// m.login("alice", "secret")?;
/// # Ok::<(), imap4::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct TlsOptions {
    ca_files: Vec<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    server_name: Option<String>,
    only_given_roots: bool,
    danger_accept_invalid_certs: bool,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_files", &self.ca_files)
            .field("client_cert", &self.client_cert.as_ref().map(|(c, _)| c))
            .field("server_name", &self.server_name)
            .field("only_given_roots", &self.only_given_roots)
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .finish()
    }
}

impl TlsOptions {
    /// The secure defaults.
    pub fn new() -> Self {
        TlsOptions::default()
    }

    /// Adds the certificates of a PEM file as trust anchors (a private CA).
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_files.push(path.as_ref().to_path_buf());
        self
    }

    /// Trusts only the anchors given with [`TlsOptions::ca_file`], not the
    /// platform's.
    pub fn only_given_roots(mut self) -> Self {
        self.only_given_roots = true;
        self
    }

    /// Presents a client certificate: `certfile` holds the PEM chain,
    /// `keyfile` the PEM private key (imaplib's `certfile`/`keyfile`).
    pub fn client_cert(mut self, certfile: impl AsRef<Path>, keyfile: impl AsRef<Path>) -> Self {
        self.client_cert = Some((
            certfile.as_ref().to_path_buf(),
            keyfile.as_ref().to_path_buf(),
        ));
        self
    }

    /// Verifies the certificate against `name` instead of the host
    /// connected to (e.g. when connecting by IP address to a named server).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Accepts ANY certificate, for any name, expired or self-signed. This
    /// removes all protection against an active attacker: use it only
    /// against test servers you control.
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.danger_accept_invalid_certs = true;
        self
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let provider = TlsOptions::provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(tls_error)?;
        let builder = if self.danger_accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        } else {
            builder.with_root_certificates(self.root_store()?)
        };
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((certfile, keyfile)) => {
                let certs = CertificateDer::pem_file_iter(certfile)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| file_error(certfile, e))?;
                if certs.is_empty() {
                    return Err(file_error(certfile, "no certificate in file"));
                }
                let key =
                    PrivateKeyDer::from_pem_file(keyfile).map_err(|e| file_error(keyfile, e))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(tls_error)?
            }
        };
        Ok(Arc::new(config))
    }

    fn root_store(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        for path in &self.ca_files {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| file_error(path, e))?;
            if certs.is_empty() {
                return Err(file_error(path, "no certificate in file"));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| file_error(path, e))?;
            }
        }
        if !self.only_given_roots {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
        Ok(roots)
    }

    /// The client configuration and the name to verify for `host`: every
    /// file is loaded here, so bad options fail before any I/O.
    pub(crate) fn config_for(
        &self,
        host: &str,
    ) -> Result<(Arc<ClientConfig>, ServerName<'static>), Error> {
        Ok((self.client_config()?, self.server_name_for(host)?))
    }

    pub(crate) fn server_name_for(&self, host: &str) -> Result<ServerName<'static>, Error> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let name = if name.is_empty() { "localhost" } else { name };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string()).map_err(|e| {
            Error::new(
                ErrorKind::Error,
                format!("invalid TLS server name {name:?}: {e}"),
            )
        })
    }
}

fn file_error(path: &Path, e: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::Error,
        format!("TLS file {}: {e}", path.display()),
    )
}

fn tls_error(e: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Error, format!("TLS setup: {e}"))
}

#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// TLS over another transport (TCP, or a user-supplied one).
pub(crate) struct TlsTransport {
    stream: rustls::StreamOwned<ClientConnection, Box<dyn Transport>>,
}

impl TlsTransport {
    /// Loads the options (files, roots) and sets up a client connection for
    /// `host`, without any I/O: bad options are reported before anything
    /// is sent.
    pub(crate) fn prepare(options: &TlsOptions, host: &str) -> Result<ClientConnection, Error> {
        let (config, name) = options.config_for(host)?;
        ClientConnection::new(config, name).map_err(tls_error)
    }

    /// Runs the handshake over `inner`; certificate errors surface here.
    /// Each read waits at most the transport's read timeout, and the whole
    /// handshake ends by `deadline`. Errors name `peer` (`host:port`) and,
    /// for a timeout, `limit` (the duration and its `Config` field).
    pub(crate) fn handshake(
        mut inner: Box<dyn Transport>,
        mut conn: ClientConnection,
        deadline: Option<Instant>,
        peer: Option<&str>,
        limit: Option<(Duration, &'static str)>,
    ) -> Result<TlsTransport, Error> {
        while conn.is_handshaking() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = inner.shutdown();
                let e = io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out");
                return Err(handshake_failed(e, peer, limit));
            }
            if let Err(e) = conn.complete_io(&mut inner) {
                let _ = inner.shutdown();
                return Err(handshake_failed(e, peer, limit));
            }
        }
        Ok(TlsTransport {
            stream: rustls::StreamOwned::new(conn, inner),
        })
    }
}

/// The error for a failed TLS handshake with `peer` (both drivers):
/// certificate and protocol failures are aborts naming the server (with a
/// hint when the server did not speak TLS at all: a plaintext port), a
/// timeout names the limit that ran out, other I/O failures are
/// imaplib's socket errors.
pub(crate) fn handshake_failed(
    e: io::Error,
    peer: Option<&str>,
    limit: Option<(Duration, &'static str)>,
) -> Error {
    let with = peer.map(|p| format!(" with {p}")).unwrap_or_default();
    if e.kind() == io::ErrorKind::InvalidData {
        // rustls reports certificate and protocol failures as InvalidData.
        let not_tls = matches!(
            e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()),
            Some(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
                    | rustls::InvalidMessage::UnknownProtocolVersion
                    | rustls::InvalidMessage::MessageTooLarge
            ))
        );
        let hint = if not_tls {
            " (the server did not answer with TLS: is this a plaintext port? \
             use STARTTLS or the TLS port)"
        } else {
            ""
        };
        let message = format!("TLS handshake{with} failed: {e}{hint}");
        // keeps the rustls error for Error::detail
        return Error::io_with_message(e, message);
    }
    let timed_out = matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    );
    let message = if timed_out {
        format!(
            "socket error: timed out: TLS handshake{with} not complete{}",
            crate::client::within(limit, "")
        )
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        format!(
            "socket error: EOF: the server closed the connection during the TLS handshake{with}"
        )
    } else {
        format!("socket error: TLS handshake{with}: {e}")
    };
    Error::io_with_message(e, message)
}

impl Read for TlsTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for TlsTransport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Transport for TlsTransport {
    fn shutdown(&mut self) -> io::Result<()> {
        self.stream.conn.send_close_notify();
        let _ = self.stream.flush();
        self.stream.sock.shutdown()
    }

    fn socket(&self) -> Option<&TcpStream> {
        self.stream.sock.socket()
    }

    fn tls(&self) -> Option<&ClientConnection> {
        Some(&self.stream.conn)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.sock.set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.sock.set_write_timeout(timeout)
    }
}

/// RFC 9266 `tls-exporter` channel binding: 32 bytes exported with the label
/// `EXPORTER-Channel-Binding` and no context. TLS 1.3 only: on TLS 1.2 the
/// exporter is safe only with the extended master secret, which rustls does
/// not report.
pub(crate) fn tls_exporter(conn: &ClientConnection) -> Option<Vec<u8>> {
    if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) || conn.is_handshaking() {
        return None;
    }
    conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .ok()
        .map(|k| k.to_vec())
}
