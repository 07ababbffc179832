//! `imap4-bench pipeline`: 300 one-message fetches over a link with 5 ms
//! of delay each way (a loopback proxy in this process), naive (one round
//! trip each), pipelined (`uid_fetch_pipelined`, one write), from 8 tokio
//! tasks sharing one `imap4::tokio::Client` (every request in flight at
//! once), and as one batched UID FETCH, against the test kit's Dovecot.
//! Each way but the naive one is timed `ROUNDS` times; the table shows the
//! median.
//!
//! Then `APPENDS` APPENDs of a small message over the same kind of link:
//! one at a time, pipelined (`append_pipelined`) and as one MULTIAPPEND
//! (`append_many`) on Dovecot (LITERAL+), and one at a time and pipelined
//! on Courier (synchronizing literals, no MULTIAPPEND; skipped where
//! Courier cannot start, as without root).

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use imap4::typed::{AppendMessage, FetchAttr, StatusAttr, UidSet};
use imap4::Imap4;

use crate::Error;
use imap4_testkit::ImapServer;

const MESSAGES: u32 = 300;
const DELAY: Duration = Duration::from_millis(5);
/// Timed runs of each fast way (the median is reported).
const ROUNDS: usize = 5;
/// Tasks sharing the one `Client`.
const TASKS: u32 = 8;
/// Messages APPENDed in each way of the APPEND part.
const APPENDS: usize = 100;

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

/// Polls every future concurrently in the calling task; their outputs in
/// order (what `futures::future::join_all` does).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futures.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// The median of `ROUNDS` timings of `f` (and what its last run counted).
fn median(f: &mut dyn FnMut() -> Result<usize, imap4::Error>) -> Result<(f64, usize), Error> {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut n = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        n = f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[ROUNDS / 2], n))
}

/// The live client: one batched UID FETCH, then the 300 one-message
/// fetches from `TASKS` tasks sharing one `Client`, every request in
/// flight at once; each result checked to be its own message's.
fn live_client(port: u16, password: &str, attrs: &[FetchAttr]) -> Result<[(f64, usize); 2], Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (client, connection) =
            imap4::tokio::connect("127.0.0.1", port, imap4::Config::default()).await?;
        let driver = connection.spawn();
        client.login_auto("alice", password).await?;
        client.select("INBOX").await?;
        let mut batched = Vec::new();
        let mut shared = Vec::new();
        let mut n_batched = 0;
        let mut n_shared = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            n_batched = client
                .uid_fetch(&UidSet::from(1..=MESSAGES), attrs)
                .await?
                .raw_len();
            batched.push(t.elapsed().as_secs_f64());

            let t = Instant::now();
            let mut tasks = Vec::new();
            for task in 0..TASKS {
                let client = client.clone();
                let attrs = attrs.to_vec();
                tasks.push(tokio::spawn(async move {
                    let uids: Vec<u32> = (1..=MESSAGES).filter(|u| u % TASKS == task).collect();
                    let sets: Vec<UidSet> = uids.iter().map(|&u| UidSet::single(u)).collect();
                    let results =
                        join_all(sets.iter().map(|s| client.uid_fetch(s, &attrs)).collect()).await;
                    (uids, results)
                }));
            }
            let mut done = Vec::new();
            for task in tasks {
                done.push(task.await?);
            }
            shared.push(t.elapsed().as_secs_f64());
            n_shared = 0;
            for (uids, results) in done {
                for (uid, r) in uids.into_iter().zip(results) {
                    let fetches = r?;
                    let got: Vec<Option<u32>> = fetches
                        .iter()
                        .map(|f| f.map(|f| f.uid()))
                        .collect::<Result<_, _>>()?;
                    assert_eq!(got, vec![Some(uid)], "UID {uid} got its own message");
                    n_shared += fetches.raw_len();
                }
            }
        }
        client.logout().await?;
        driver.await??;
        for t in [&mut batched, &mut shared] {
            t.sort_by(f64::total_cmp);
        }
        Ok::<_, Error>([
            (batched[ROUNDS / 2], n_batched),
            (shared[ROUNDS / 2], n_shared),
        ])
    })
}

/// Runs the ways and prints a Markdown table.
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
    let (batched, nb) = median(&mut || {
        Ok(m.typed()
            .uid_fetch(&UidSet::from(1..=MESSAGES), &attrs)?
            .raw_len())
    })?;
    let (piped, np) = median(&mut || {
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
    m.logout()?;
    let [(live_batched, nlb), (shared, ns)] = live_client(port, server.password(), &attrs)?;
    assert!(
        nb == np && np == nn && nn == nlb && nlb == ns,
        "every way fetched the same number of responses ({nb} {np} {nn} {nlb} {ns})"
    );
    println!(
        "{MESSAGES} one-message UID FETCHes (UID FLAGS ENVELOPE), {DELAY:?} each way \
         (median of {ROUNDS} runs; naive: one run):\n"
    );
    println!("| way | time | vs batched |");
    println!("|---|---|---|");
    for (name, t) in [
        ("one batched UID FETCH 1:300", batched),
        ("pipelined (`uid_fetch_pipelined`)", piped),
        ("`tokio::Client`: one batched UID FETCH 1:300", live_batched),
        (
            "`tokio::Client`: 8 tokio tasks sharing one Client, all 300 requests in flight",
            shared,
        ),
        ("naive, one at a time", naive),
    ] {
        println!("| {name} | {:.3} s | {:.2}x |", t, t / batched);
    }
    appends(server.port(), "alice", server.password(), "INBOX", true)?;
    drop(server);
    match imap4_testkit::Courier::start() {
        Ok(c) => appends(
            c.port(),
            &c.login_name("alice"),
            c.password(),
            "INBOX",
            false,
        )?,
        Err(e) => println!("\n(Courier not run: {e})"),
    }
    Ok(())
}

/// `APPENDS` APPENDs over a proxy with `DELAY` each way: one at a time,
/// pipelined and (where offered) one MULTIAPPEND; each way's count of
/// messages added is checked with STATUS.
fn appends(port: u16, user: &str, password: &str, folder: &str, multi: bool) -> Result<(), Error> {
    let port = proxy(port)?;
    let mut m = Imap4::connect("127.0.0.1", port)?;
    m.login(user, password)?;
    let name = m.typed().has_capability("LITERAL+");
    let bodies: Vec<Vec<u8>> = (0..APPENDS)
        .map(|i| {
            format!(
                "From: a@example.org\r\nSubject: append {i}\r\n\r\n{}\r\n",
                "x".repeat(2000)
            )
            .into_bytes()
        })
        .collect();
    let batch: Vec<AppendMessage<'_>> = bodies
        .iter()
        .map(|b| AppendMessage::new(b.clone()))
        .collect();
    let count = |m: &mut Imap4| -> Result<u32, Error> {
        Ok(m.typed()
            .status(folder, &[StatusAttr::Messages])?
            .messages
            .unwrap_or(0))
    };
    let mut rows = Vec::new();
    let before = count(&mut m)?;
    let t = Instant::now();
    for b in &batch {
        m.typed().append(folder, &[], None, b.message.clone())?;
    }
    rows.push(("one at a time", t.elapsed().as_secs_f64()));
    let t = Instant::now();
    for r in m.typed().append_pipelined(folder, &batch)? {
        r?;
    }
    rows.push(("pipelined (`append_pipelined`)", t.elapsed().as_secs_f64()));
    let mut ways = 2;
    if multi {
        let t = Instant::now();
        m.typed().append_many(folder, &batch)?;
        rows.push(("one MULTIAPPEND (`append_many`)", t.elapsed().as_secs_f64()));
        ways += 1;
    }
    let after = count(&mut m)?;
    assert_eq!(
        (after - before) as usize,
        ways * APPENDS,
        "every way added every message"
    );
    m.logout()?;
    println!(
        "\n{APPENDS} APPENDs of 2 KB into {folder} on {port_name}, {DELAY:?} each way \
         (LITERAL+: {lit}):\n",
        port_name = if multi { "Dovecot" } else { "Courier" },
        lit = if name { "yes" } else { "no" },
    );
    println!("| way | time | vs one at a time |");
    println!("|---|---|---|");
    let naive = rows[0].1;
    for (way, t) in rows {
        println!("| {way} | {t:.3} s | {:.2}x |", t / naive);
    }
    Ok(())
}
