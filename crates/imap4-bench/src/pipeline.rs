//! `imap4-bench pipeline`: 300 one-message fetches over a link with 5 ms
//! of delay each way (a loopback proxy in this process), naive (one round
//! trip each), pipelined (`uid_fetch_pipelined`, one write) and as one
//! batched UID FETCH, against the test kit's Dovecot.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use imap4::typed::{FetchAttr, UidSet};
use imap4::Imap4;

use crate::Error;

const MESSAGES: u32 = 300;
const DELAY: Duration = Duration::from_millis(5);

/// Copies `from` to `to`, each chunk delivered `DELAY` after it was read
/// (a fixed latency, not a bandwidth limit: chunks in flight overlap).
fn delayed_pipe(mut from: TcpStream, mut to: TcpStream) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = thread::spawn(move || {
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    let mut buf = vec![0; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx
                    .send((Instant::now() + DELAY, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}

/// A proxy to `port` adding `DELAY` each way; serves connections until
/// the process ends.
fn proxy(port: u16) -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let local = listener.local_addr()?.port();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = match (client.try_clone(), server.try_clone()) {
                (Ok(c), Ok(s)) => (c, s),
                _ => continue,
            };
            thread::spawn(move || delayed_pipe(client, server));
            thread::spawn(move || delayed_pipe(s2, c2));
        }
    });
    Ok(local)
}

/// Runs the three ways and prints a Markdown table.
pub fn run() -> Result<(), Error> {
    let server = imap4_testkit::Dovecot::builder()
        .messages("alice", MESSAGES as usize, 7)
        .start()?;
    let port = proxy(server.port())?;
    let mut m = Imap4::connect("127.0.0.1", port)?;
    m.login("alice", server.password())?;
    m.typed().select("INBOX")?;
    let attrs = [FetchAttr::Uid, FetchAttr::Flags, FetchAttr::Envelope];
    let sets: Vec<UidSet> = (1..=MESSAGES).map(UidSet::single).collect();
    let time = |f: &mut dyn FnMut() -> Result<usize, imap4::Error>| -> Result<(f64, usize), Error> {
        let t = Instant::now();
        let n = f()?;
        Ok((t.elapsed().as_secs_f64(), n))
    };
    let (batched, nb) = time(&mut || {
        Ok(m.typed()
            .uid_fetch(&UidSet::from(1..=MESSAGES), &attrs)?
            .raw_len())
    })?;
    let (piped, np) = time(&mut || {
        Ok(m.typed()
            .uid_fetch_pipelined(&sets, &attrs)?
            .iter()
            .map(|f| f.raw_len())
            .sum())
    })?;
    let (naive, nn) = time(&mut || {
        let mut n = 0;
        for set in &sets {
            n += m.typed().uid_fetch(set, &attrs)?.raw_len();
        }
        Ok(n)
    })?;
    assert!(nb == np && np == nn, "all three fetched the same messages");
    m.logout()?;
    println!("{MESSAGES} one-message UID FETCHes (UID FLAGS ENVELOPE), {DELAY:?} each way:\n");
    println!("| way | time | vs batched |");
    println!("|---|---|---|");
    for (name, t) in [
        ("one batched UID FETCH 1:300", batched),
        ("pipelined (`uid_fetch_pipelined`)", piped),
        ("naive, one at a time", naive),
    ] {
        println!("| {name} | {:.3} s | {:.2}x |", t, t / batched);
    }
    Ok(())
}
