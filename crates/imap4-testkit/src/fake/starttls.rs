//! TLS for [`super::Step::StartTls`] without a TLS library: `openssl s_server`
//! terminates TLS on a private Unix socket, two threads relay the raw TLS
//! bytes between it and the client's TCP socket, and the script talks
//! plaintext over the engine's stdin (to the client) and stdout (from the
//! client).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Shared;
use crate::sys;

pub(super) struct Engine {
    stdin: Option<ChildStdin>,
    plaintext: Receiver<Vec<u8>>,
    pending: Vec<u8>,
    client: TcpStream,
    dir: PathBuf,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// Splits a PEM chain into (first certificate, the rest).
fn split_chain(pem: &str) -> (String, String) {
    const END: &str = "-----END CERTIFICATE-----";
    match pem.find(END) {
        Some(i) => {
            let (leaf, rest) = pem.split_at(i + END.len());
            (format!("{leaf}\n"), rest.trim_start().to_string())
        }
        None => (pem.to_string(), String::new()),
    }
}

impl Engine {
    /// Starts the engine; `pending` are client bytes already read from the
    /// socket (the beginning of the handshake), forwarded first.
    pub(super) fn start(
        client: TcpStream,
        pending: &[u8],
        chain: &Path,
        key: &Path,
        timeout: Duration,
        shared: &Arc<Shared>,
    ) -> io::Result<Engine> {
        let dir = sys::make_temp_dir("imap4tk-tls")?;
        let result = Engine::start_in(&dir, client, pending, chain, key, timeout, shared);
        if result.is_err() {
            sys::remove_dir_retry(&dir);
        }
        result
    }

    fn start_in(
        dir: &Path,
        client: TcpStream,
        pending: &[u8],
        chain: &Path,
        key: &Path,
        timeout: Duration,
        shared: &Arc<Shared>,
    ) -> io::Result<Engine> {
        let key = key.canonicalize()?;
        let (leaf, rest) = split_chain(&std::fs::read_to_string(chain)?);
        std::fs::write(dir.join("leaf.pem"), leaf)?;
        let sock = dir.join("tls.sock");
        let mut cmd = Command::new("openssl");
        // s_server prints the socket path into a 32-byte buffer and gives
        // up if it is longer: use a relative path
        cmd.current_dir(dir)
            .args(["s_server", "-quiet", "-no_ign_eof", "-naccept", "1"])
            .args(["-unix", "tls.sock"])
            .arg("-cert")
            .arg(dir.join("leaf.pem"))
            .arg("-key")
            .arg(&key);
        if !rest.trim().is_empty() {
            std::fs::write(dir.join("extra.pem"), rest)?;
            cmd.arg("-cert_chain").arg(dir.join("extra.pem"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr.log"))?)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run openssl: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        if let Ok(mut slot) = shared.engine.lock() {
            *slot = Some(child);
        }
        let engine_exited = || -> Option<String> {
            let mut slot = shared.engine.lock().ok()?;
            let child = slot.as_mut()?;
            match child.try_wait() {
                Ok(Some(status)) => Some(format!(
                    "openssl s_server exited ({status}): {}",
                    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                )),
                _ => None,
            }
        };
        let deadline = Instant::now() + timeout;
        let mut unix = loop {
            match UnixStream::connect(&sock) {
                Ok(s) => break s,
                Err(e) => {
                    if let Some(why) = engine_exited() {
                        return Err(io::Error::other(why));
                    }
                    if Instant::now() > deadline || shared.stopped() {
                        return Err(io::Error::other(format!(
                            "openssl s_server did not listen: {e}"
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        };
        unix.write_all(pending)?;

        let mut threads = Vec::new();
        // client -> engine (raw TLS)
        let (mut from_client, mut to_engine) = (client.try_clone()?, unix.try_clone()?);
        threads.push(std::thread::spawn(move || {
            let _ = from_client.set_read_timeout(None);
            let _ = io::copy(&mut from_client, &mut to_engine);
            let _ = to_engine.shutdown(Shutdown::Write);
        }));
        // engine -> client (raw TLS)
        let (mut from_engine, mut to_client) = (unix, client.try_clone()?);
        threads.push(std::thread::spawn(move || {
            let _ = io::copy(&mut from_engine, &mut to_client);
            let _ = to_client.shutdown(Shutdown::Write);
        }));
        // engine stdout: the client's plaintext
        let (tx, rx) = mpsc::channel();
        if let Some(mut stdout) = stdout {
            threads.push(std::thread::spawn(move || {
                let mut chunk = vec![0u8; 16 * 1024];
                loop {
                    match stdout.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if tx.send(chunk[..n].to_vec()).is_err() {
                                return;
                            }
                        }
                    }
                }
            }));
        }
        Ok(Engine {
            stdin,
            plaintext: rx,
            pending: Vec::new(),
            client,
            dir: dir.to_path_buf(),
            threads,
            shared: Arc::clone(shared),
        })
    }

    /// Plaintext from the client; `Ok(0)` once the TLS connection ended.
    pub(super) fn read(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.plaintext.recv_timeout(wait) {
                Ok(chunk) => self.pending = chunk,
                Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    /// Plaintext to the client.
    pub(super) fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(bytes).and_then(|()| stdin.flush()),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "TLS side already shut down",
            )),
        }
    }

    /// Closes our sending side: the engine sends close_notify and closes.
    pub(super) fn shutdown_write(&mut self) {
        self.stdin = None;
    }

    /// Tears everything down now.
    pub(super) fn close(self) {
        drop(self);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(mut slot) = self.shared.engine.lock() {
            if let Some(mut child) = slot.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = self.client.shutdown(Shutdown::Both);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        sys::remove_dir_retry(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_split() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n";
        let (leaf, rest) = split_chain(pem);
        assert_eq!(
            leaf,
            "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
        );
        assert!(rest.starts_with("-----BEGIN CERTIFICATE-----\nBBB"));
    }
}
