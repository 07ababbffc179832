//! Byte streams the client can run over.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// A byte stream to an IMAP server: the manual's "you may override this
/// method" hooks. Implement it to run the client over any stream (a proxy,
/// an in-memory pipe in tests, …); TCP is provided.
pub trait Transport: Read + Write + Send {
    /// Closes the stream (imaplib's `shutdown()`).
    fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The TCP stream underneath, if there is one (imaplib's `socket()`).
    fn socket(&self) -> Option<&TcpStream> {
        None
    }

    /// The TLS session, if this transport is TLS (imaplib's `ssl()`).
    fn tls(&self) -> Option<&rustls::ClientConnection> {
        None
    }

    /// Sets the read timeout, where the stream supports one.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Sets the write timeout, where the stream supports one.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }
}

impl Transport for TcpStream {
    fn shutdown(&mut self) -> io::Result<()> {
        match TcpStream::shutdown(self, Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }

    fn socket(&self) -> Option<&TcpStream> {
        Some(self)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

/// The transport of a connection that was closed or handed over (during
/// STARTTLS): every operation fails.
pub(crate) struct Closed;

impl Read for Closed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::NotConnected,
            "connection closed",
        ))
    }
}

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::NotConnected,
            "connection closed",
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Closed {}
