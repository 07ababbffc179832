//! A test certificate authority and a `localhost` server certificate, made
//! with the `openssl` command once per process (EC P-256 keys: fast to make,
//! accepted by rustls and OpenSSL).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::sys;

/// PEM texts of the process-wide test CA and leaf.
#[derive(Debug)]
pub(crate) struct Material {
    pub ca_pem: Vec<u8>,
    pub ca_key: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

fn openssl(dir: &Path, args: &[&str]) -> io::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run openssl: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl {} failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn make() -> io::Result<Material> {
    let dir = sys::make_temp_dir("imap4tk-ca")?;
    let result = (|| {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-nodes",
            "-sha256",
            "-days",
            "3650",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=imap4-testkit CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &ca)?;
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(&dir, &csr)?;
        std::fs::write(
            dir.join("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n",
        )?;
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "3650",
                "-sha256",
                "-extfile",
                "leaf.ext",
                "-out",
                "cert.pem",
            ],
        )?;
        Ok(Material {
            ca_pem: std::fs::read(dir.join("ca.pem"))?,
            ca_key: std::fs::read(dir.join("ca.key"))?,
            cert_pem: std::fs::read(dir.join("cert.pem"))?,
            key_pem: std::fs::read(dir.join("key.pem"))?,
        })
    })();
    sys::remove_dir_retry(&dir);
    result
}

/// Mints a client certificate (EC P-256, `CN=<common_name>`, clientAuth)
/// signed by the CA in `dir` (`ca.pem`, `ca.key`); writes
/// `client-<common_name>.pem` and `client-<common_name>.key` there and
/// returns their paths.
pub(crate) fn mint_client_cert(dir: &Path, common_name: &str) -> io::Result<(PathBuf, PathBuf)> {
    let cert = format!("client-{common_name}.pem");
    let key = format!("client-{common_name}.key");
    let csr = format!("client-{common_name}.csr");
    let ext = format!("client-{common_name}.ext");
    let subj = format!("/CN={common_name}");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &subj,
        ],
    )?;
    std::fs::write(
        dir.join(&ext),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=clientAuth\n",
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    )?;
    Ok((dir.join(cert), dir.join(key)))
}

/// The process-wide CA + leaf, generated on first use.
pub(crate) fn material() -> io::Result<&'static Material> {
    static MATERIAL: OnceLock<Result<Material, String>> = OnceLock::new();
    MATERIAL
        .get_or_init(|| make().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))
}

/// Writes `ca.pem`, `ca.key`, `cert.pem`, `key.pem` and `chain.pem` (leaf +
/// CA) into `dir`; the keys get mode 0600.
pub(crate) fn write_files(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let m = material()?;
    std::fs::write(dir.join("ca.pem"), &m.ca_pem)?;
    std::fs::write(dir.join("ca.key"), &m.ca_key)?;
    std::fs::write(dir.join("cert.pem"), &m.cert_pem)?;
    std::fs::write(dir.join("key.pem"), &m.key_pem)?;
    let mut chain = m.cert_pem.clone();
    chain.extend_from_slice(&m.ca_pem);
    std::fs::write(dir.join("chain.pem"), chain)?;
    for key in ["ca.key", "key.pem"] {
        std::fs::set_permissions(dir.join(key), std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The test CA and a server certificate for `localhost`, `127.0.0.1` and `::1`,
/// as PEM files in a temp dir (removed on drop).
///
/// All [`crate::Dovecot`] instances of a process use the same CA and leaf,
/// so a client trusting [`TestCerts::ca_file`] trusts every instance, and a
/// [`crate::fake::Step::StartTls`] server can present the same certificate.
///
/// ```
/// let certs = imap4_testkit::TestCerts::new()?;
/// let chain = std::fs::read_to_string(certs.chain_file())?;
/// assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TestCerts {
    dir: PathBuf,
}

impl TestCerts {
    /// Writes the process-wide CA and leaf (generated once) into a new temp dir.
    pub fn new() -> io::Result<TestCerts> {
        let dir = sys::make_temp_dir("imap4tk-certs")?;
        let certs = TestCerts { dir };
        write_files(&certs.dir)?;
        Ok(certs)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PEM of the CA certificate (the trust anchor for clients).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// PEM of the CA private key (to mint more certificates in tests).
    pub fn ca_key_file(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// PEM of the leaf (server) certificate alone.
    pub fn cert_file(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// PEM of the leaf private key (PKCS#8).
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// PEM of leaf followed by CA: what a server presents.
    pub fn chain_file(&self) -> PathBuf {
        self.dir.join("chain.pem")
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        sys::remove_dir_retry(&self.dir);
    }
}
