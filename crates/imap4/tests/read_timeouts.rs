//! The blocking driver sets the socket's read timeout in steps of 100 ms
//! rather than before every read: the default response timeout moves with
//! every read, and a command timeout shrinks with every read, but a bulk
//! FETCH must not cost a system call per read for it.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imap4::typed::{FetchAttr, UidSet};
use imap4::Transport;
use imap4::{Config, Imap4};
use imap4_testkit::Dovecot;

/// A TCP stream that counts its reads and its read-timeout changes.
struct Counting {
    inner: TcpStream,
    reads: Arc<AtomicUsize>,
    timeouts: Arc<AtomicUsize>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(buf)
    }
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for Counting {
    fn socket(&self) -> Option<&TcpStream> {
        Some(&self.inner)
    }
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.timeouts.fetch_add(1, Ordering::SeqCst);
        self.inner.set_read_timeout(t)
    }
}

#[test]
fn a_bulk_fetch_does_not_set_the_read_timeout_before_every_read() {
    let d = Dovecot::builder()
        .messages("alice", 200, 7)
        .start()
        .expect("dovecot");
    for config in [
        Config::default(),
        Config {
            command_timeout: Some(Duration::from_secs(120)),
            ..Config::default()
        },
    ] {
        let reads = Arc::new(AtomicUsize::new(0));
        let timeouts = Arc::new(AtomicUsize::new(0));
        let t = Counting {
            inner: TcpStream::connect(d.addr()).unwrap(),
            reads: reads.clone(),
            timeouts: timeouts.clone(),
        };
        let mut m = Imap4::with_transport(Box::new(t), config).unwrap();
        m.typed().login_auto("alice", d.password()).unwrap();
        m.typed().examine("INBOX").unwrap();
        let (r0, t0) = (
            reads.load(Ordering::SeqCst),
            timeouts.load(Ordering::SeqCst),
        );
        let mut n = 0;
        m.typed()
            .uid_fetch_each(
                &UidSet::all(),
                &[FetchAttr::Uid, FetchAttr::full_peek()],
                |f| {
                    assert!(f.section("").is_some());
                    n += 1;
                },
            )
            .unwrap();
        assert_eq!(n, 200);
        let reads = reads.load(Ordering::SeqCst) - r0;
        let timeouts = timeouts.load(Ordering::SeqCst) - t0;
        assert!(reads >= 20, "{reads} reads: the test needs many");
        // a change per 100 ms of the fetch at most, not one per read
        assert!(
            timeouts * 4 <= reads,
            "{timeouts} timeout changes for {reads} reads"
        );
        m.logout().unwrap();
    }
}
