//! A plain TCP relay on loopback that can go silent: what a server that
//! stops answering (a dead NAT mapping, a hung server process, a cable
//! pulled) looks like to a client, which real servers will not do on
//! request.
//!
//! [`Relay::freeze`] black-holes every connection open at that moment:
//! their bytes are still read, both ways, and dropped, and no socket is
//! closed, so the client sees nothing at all. Connections accepted later
//! are relayed normally, so a client that reconnects gets through.
//!
//! ```
//! use std::io::{BufRead, BufReader};
//! let server = imap4_testkit::Dovecot::start()?;
//! let relay = imap4_testkit::relay::Relay::start(server.addr())?;
//! let mut line = String::new();
//! BufReader::new(std::net::TcpStream::connect(relay.addr())?).read_line(&mut line)?;
//! assert!(line.starts_with("* OK"), "{line}");
//! assert_eq!(relay.connections(), 1);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    /// Connections accepted so far (their ids are 0, 1, …).
    accepted: AtomicUsize,
    /// Connections with an id below this are black holes.
    frozen_below: AtomicUsize,
    /// Every socket, to shut down on drop.
    sockets: Mutex<Vec<TcpStream>>,
    /// (connection id, bytes): that connection is closed once this many
    /// bytes from the server have been relayed to it.
    cut: Mutex<Option<(usize, u64)>>,
}

/// A running relay; see the [module docs](self). Dropping it closes every
/// connection and stops its threads.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Listens on a free loopback port and relays each connection to
    /// `target`.
    pub fn start(target: SocketAddr) -> io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("test-relay-{}", addr.port()))
            .spawn(move || accept_loop(listener, target, s))?;
        Ok(Relay {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// The relay's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relay's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connection number `connection` (0: the first accepted) is closed
    /// both ways, like a reset, once `bytes` from the server have been
    /// relayed to it: a connection lost in the middle of a response.
    pub fn cut_after(&self, connection: usize, bytes: u64) {
        if let Ok(mut c) = self.shared.cut.lock() {
            *c = Some((connection, bytes));
        }
    }

    /// Every connection open now goes silent both ways (later ones are
    /// relayed).
    pub fn freeze(&self) {
        let n = self.shared.accepted.load(Ordering::SeqCst);
        self.shared.frozen_below.store(n, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Ok(v) = self.shared.sockets.lock() {
            for s in v.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // wake the accept loop
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, target: SocketAddr, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let id = shared.accepted.fetch_add(1, Ordering::SeqCst);
        let Ok(server) = TcpStream::connect(target) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        if let Ok(mut v) = shared.sockets.lock() {
            for s in [&client, &server] {
                if let Ok(c) = s.try_clone() {
                    v.push(c);
                }
            }
        }
        for (from, to, from_server) in [(&client, &server, false), (&server, &client, true)] {
            let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                continue;
            };
            let shared = Arc::clone(&shared);
            let _ = std::thread::Builder::new()
                .name("test-relay-pump".into())
                .spawn(move || pump(id, from, to, from_server, &shared));
        }
    }
}

fn pump(id: usize, mut from: TcpStream, mut to: TcpStream, from_server: bool, shared: &Shared) {
    let mut buf = [0u8; 16 * 1024];
    let limit = match shared.cut.lock().map(|c| *c) {
        Ok(Some((cid, bytes))) if from_server && cid == id => Some(bytes),
        _ => None,
    };
    let mut relayed = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if id < shared.frozen_below.load(Ordering::SeqCst) {
            continue;
        }
        let n = match limit {
            Some(l) => n.min(usize::try_from(l - relayed).unwrap_or(usize::MAX)),
            None => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        relayed += n as u64;
        if limit == Some(relayed) {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
    if id >= shared.frozen_below.load(Ordering::SeqCst) {
        let _ = to.shutdown(Shutdown::Write);
    }
}
