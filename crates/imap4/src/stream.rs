//! A child process speaking IMAP on its stdin and stdout (imaplib's
//! `IMAP4_stream`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::transport::Transport;

/// Bytes read from the child's stdout by a reader thread, so that reads
/// can time out; the channel is bounded, so memory stays bounded too.
pub(crate) struct StreamTransport {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    offset: usize,
    eof: bool,
    read_timeout: Option<Duration>,
}

impl StreamTransport {
    /// Runs `command` with `sh -c`; stdin and stdout are pipes, stderr
    /// lines go to the debug trace (never into the protocol).
    pub(crate) fn spawn(command: &str) -> io::Result<StreamTransport> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("child has no stdout"))?;
        if let Some(stderr) = child.stderr.take() {
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    match line {
                        Ok(l) => tracing::debug!(target: "imap4::stream", "stderr: {l}"),
                        Err(_) => break,
                    }
                }
            });
        }
        let (tx, rx) = mpsc::sync_channel(4);
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Ok(Vec::new()));
                        break;
                    }
                    Ok(n) => {
                        if tx.send(Ok(buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        Ok(StreamTransport {
            child,
            stdin,
            chunks: rx,
            current: Vec::new(),
            offset: 0,
            eof: false,
            read_timeout: None,
        })
    }

    fn reap(&mut self) {
        // Closing stdin asks the server to finish; give it a moment, then
        // make sure it is gone and reaped.
        self.stdin = None;
        for _ in 0..20 {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => thread::sleep(Duration::from_millis(5)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Read for StreamTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset >= self.current.len() {
            if self.eof {
                return Ok(0);
            }
            let next = match self.read_timeout {
                None => self
                    .chunks
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
                Some(t) => self.chunks.recv_timeout(t),
            };
            match next {
                Ok(Ok(chunk)) if chunk.is_empty() => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.offset = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "read timed out"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.eof = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.offset);
        buf[..n].copy_from_slice(&self.current[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

impl Write for StreamTransport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.stdin.as_mut() {
            Some(s) => s.write(buf),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "stream closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.stdin.as_mut() {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }
}

impl Transport for StreamTransport {
    fn shutdown(&mut self) -> io::Result<()> {
        self.reap();
        Ok(())
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout = timeout;
        Ok(())
    }
}

impl Drop for StreamTransport {
    fn drop(&mut self) {
        self.reap();
    }
}
