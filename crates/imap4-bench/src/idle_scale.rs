//! `imap4-bench idle-scale [--sessions N]`: what an idle async session
//! costs. N (default 10,000; and 1,000 for comparison) `imap4::tokio::Imap4`
//! connections over plain TCP log in, select, enter IDLE and wait in
//! `Idle::wait`, all at once in one process, against a scripted loopback
//! server that serves every connection in one process.
//!
//! Three processes, so that each RSS is clean:
//! - the orchestrator (`idle-scale`);
//! - the server (`idle-scale-server`, a child): tokio on one thread, a task
//!   per connection answering CAPABILITY, LOGIN, SELECT, NOOP, IDLE (`+
//!   idling`, then `* 4 EXISTS` when woken, `OK` after DONE) and LOGOUT; it
//!   prints `idling K` whenever the number of connections in IDLE changes
//!   and wakes every idling connection at `wake` on its stdin;
//! - a client per size (`idle-scale-client PORT N`, a child): a
//!   current-thread tokio runtime, one task per session. It reads its
//!   `VmRSS` once the runtime is up and before any connection, and again
//!   when the orchestrator (having seen the server report all N in IDLE)
//!   says `measure`; per session = the difference / N. Then the server
//!   wakes every session, each sees the new message (`Event::Exists(4)`),
//!   ends IDLE (DONE) and logs out; a session that fails anywhere fails the
//!   bench.
//!
//! Both children raise `RLIMIT_NOFILE` to N + 1,000 and fail if they can't.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ::tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use ::tokio::net::{TcpListener, TcpStream};
use ::tokio::sync::{watch, Semaphore};

use crate::Error;

/// Sessions being set up at once (connect, LOGIN, SELECT, IDLE), so the
/// listen backlog never overflows.
const RAMP: usize = 200;

/// The greeting the scripted server sends.
const GREETING: &[u8] = b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n";

/// `idle-scale [--sessions N]`: runs 1,000 and N sessions, prints a table.
pub fn run(args: &[String]) -> Result<(), Error> {
    let mut sessions = 10_000usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sessions" => {
                sessions = it
                    .next()
                    .ok_or("--sessions needs a value")?
                    .parse::<usize>()?
                    .max(1)
            }
            _ => return Err(format!("unknown argument {a:?}").into()),
        }
    }
    let mut sizes = vec![sessions];
    if sessions > 1_000 {
        sizes.insert(0, 1_000);
    }
    let exe = std::env::current_exe()?;
    let mut server = Server::start(&exe, sessions)?;
    println!(
        "| sessions | RSS before (KiB) | RSS all idle (KiB) | per session (KiB) | VmHWM (KiB) | \
         server RSS (KiB) | setup (s) | teardown (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut notes = String::new();
    for n in sizes {
        let r = run_client(&exe, &mut server, n)?;
        println!(
            "| {n} | {} | {} | {:.2} | {} | {} | {:.1} | {:.1} |",
            r.rss0,
            r.rss_idle,
            (r.rss_idle.saturating_sub(r.rss0)) as f64 / n as f64,
            r.hwm,
            r.server_rss,
            r.setup,
            r.teardown
        );
        notes = format!(
            "size_of::<imap4::tokio::Imap4>() = {} bytes; one session's task future = {} bytes",
            r.imap4_bytes, r.task_bytes
        );
    }
    println!("\n{notes}");
    server.stop();
    Ok(())
}

/// One client run's numbers.
struct Sample {
    rss0: u64,
    rss_idle: u64,
    hwm: u64,
    server_rss: u64,
    setup: f64,
    teardown: f64,
    imap4_bytes: u64,
    task_bytes: u64,
}

/// The server child and what it reports.
struct Server {
    child: Child,
    stdin: ChildStdin,
    port: u16,
    idling: Arc<AtomicUsize>,
    pid: u32,
}

impl Server {
    fn start(exe: &std::path::Path, sessions: usize) -> Result<Server, Error> {
        let mut child = Command::new(exe)
            .args(["idle-scale-server", &sessions.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("server has no stdin")?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("server has no stdout")?).lines();
        let first = lines.next().ok_or("server said nothing")??;
        let port = first
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("server: {first:?}"))?;
        let idling = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&idling);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(k) = line.strip_prefix("idling ").and_then(|k| k.parse().ok()) {
                    count.store(k, Ordering::SeqCst);
                }
            }
        });
        let pid = child.id();
        Ok(Server {
            child,
            stdin,
            port,
            idling,
            pid,
        })
    }

    /// Waits until exactly `n` connections are in IDLE on the server.
    fn await_idling(&self, n: usize, limit: Duration) -> Result<(), Error> {
        let start = Instant::now();
        while self.idling.load(Ordering::SeqCst) != n {
            if start.elapsed() > limit {
                return Err(format!(
                    "server has {} sessions in IDLE, expected {n}",
                    self.idling.load(Ordering::SeqCst)
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

/// Runs one client child with `n` sessions.
fn run_client(exe: &std::path::Path, server: &mut Server, n: usize) -> Result<Sample, Error> {
    server.await_idling(0, Duration::from_secs(30))?;
    let mut child = Command::new(exe)
        .args([
            "idle-scale-client",
            &server.port.to_string(),
            &n.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("client has no stdin")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("client has no stdout")?).lines();
    let mut next = |want: &str| -> Result<Vec<(String, String)>, Error> {
        let line = lines
            .next()
            .ok_or_else(|| format!("client ended before {want}"))??;
        let mut words = line.split_whitespace();
        if words.next() != Some(want) {
            return Err(format!("client: expected {want}, got {line:?}").into());
        }
        Ok(words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    };
    let get = |kv: &[(String, String)], k: &str| -> Result<f64, Error> {
        kv.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| format!("client did not report {k}").into())
    };
    let ready = next("READY")?;
    server.await_idling(n, Duration::from_secs(120))?;
    writeln!(stdin, "measure")?;
    let measured = next("MEASURED")?;
    let server_rss = vm_kib(&format!("/proc/{}/status", server.pid), "VmRSS:");
    writeln!(server.stdin, "wake")?;
    server.stdin.flush()?;
    let done = next("DONE")?;
    let status = child.wait()?;
    let ok = get(&done, "ok")? as usize;
    if !status.success() || ok != n {
        return Err(format!(
            "{n} sessions: {ok} ended cleanly, {} failed ({status})",
            get(&done, "failed").unwrap_or(f64::NAN)
        )
        .into());
    }
    Ok(Sample {
        rss0: get(&ready, "rss0")? as u64,
        rss_idle: get(&measured, "rss")? as u64,
        hwm: get(&measured, "hwm")? as u64,
        server_rss,
        setup: get(&ready, "setup")?,
        teardown: get(&done, "teardown")?,
        imap4_bytes: get(&ready, "imap4")? as u64,
        task_bytes: get(&ready, "task")? as u64,
    })
}

/// A `Vm…:` field of a `/proc/…/status` file, in KiB (0 if missing).
fn vm_kib(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Raises the open-file limit to `n`, or says why it can't.
fn raise_nofile(n: u64) -> Result<(), Error> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= n {
        return Ok(());
    }
    if hard < n {
        return Err(format!(
            "RLIMIT_NOFILE hard limit is {hard}, {n} needed (raise it, e.g. ulimit -Hn, or pass fewer --sessions)"
        )
        .into());
    }
    setrlimit(Resource::RLIMIT_NOFILE, n, hard)
        .map_err(|e| format!("cannot raise RLIMIT_NOFILE to {n}: {e}"))?;
    Ok(())
}

// ----- the client ---------------------------------------------------------

/// `idle-scale-client PORT N`.
pub fn client(args: &[String]) -> Result<(), Error> {
    let (Some(port), Some(n)) = (
        args.first().and_then(|p| p.parse::<u16>().ok()),
        args.get(1).and_then(|p| p.parse::<usize>().ok()),
    ) else {
        return Err("usage: imap4-bench idle-scale-client PORT N".into());
    };
    raise_nofile(n as u64 + 1_000)?;
    // The orchestrator's words, read by a thread of their own.
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        ::tokio::time::sleep(Duration::from_millis(1)).await;
    });
    let rss0 = vm_kib("/proc/self/status", "VmRSS:");
    let start = Instant::now();
    let result = rt.block_on(async move {
        let ramp = Arc::new(Semaphore::new(RAMP));
        let (entered_tx, mut entered_rx) = ::tokio::sync::mpsc::unbounded_channel::<()>();
        let mut tasks = Vec::with_capacity(n);
        let mut task_bytes = 0;
        for _ in 0..n {
            let fut = session(port, Arc::clone(&ramp), entered_tx.clone());
            task_bytes = std::mem::size_of_val(&fut);
            tasks.push(::tokio::spawn(fut));
        }
        drop(entered_tx);
        let mut entered = 0;
        while entered < n && entered_rx.recv().await.is_some() {
            entered += 1;
        }
        let setup = start.elapsed().as_secs_f64();
        println!(
            "READY rss0={rss0} setup={setup:.3} imap4={} task={task_bytes}",
            std::mem::size_of::<imap4::tokio::Imap4>()
        );
        std::io::stdout().flush()?;
        // Wait for `measure` without blocking the runtime's thread.
        let said = ::tokio::task::spawn_blocking(move || rx.recv().ok())
            .await
            .ok()
            .flatten();
        if said.as_deref() != Some("measure") {
            return Err(Error::from(format!("expected measure, got {said:?}")));
        }
        println!(
            "MEASURED rss={} hwm={}",
            vm_kib("/proc/self/status", "VmRSS:"),
            vm_kib("/proc/self/status", "VmHWM:")
        );
        std::io::stdout().flush()?;
        let woken = Instant::now();
        let (mut ok, mut failed) = (0usize, 0usize);
        for t in tasks {
            match t.await {
                Ok(Ok(())) => ok += 1,
                Ok(Err(e)) => {
                    if failed < 5 {
                        eprintln!("idle-scale-client: session failed: {e}");
                    }
                    failed += 1;
                }
                Err(e) => {
                    eprintln!("idle-scale-client: task: {e}");
                    failed += 1;
                }
            }
        }
        println!(
            "DONE ok={ok} failed={failed} teardown={:.3}",
            woken.elapsed().as_secs_f64()
        );
        std::io::stdout().flush()?;
        Ok(())
    });
    result
}

/// One session: LOGIN, SELECT, IDLE until the server's new message, DONE,
/// LOGOUT.
async fn session(
    port: u16,
    ramp: Arc<Semaphore>,
    entered: ::tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<(), String> {
    let permit = ramp.acquire_owned().await.map_err(|e| e.to_string())?;
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", port)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    m.login("bench", "bench")
        .await
        .map_err(|e| format!("LOGIN: {e}"))?;
    m.select("INBOX", false)
        .await
        .map_err(|e| format!("SELECT: {e}"))?;
    let mut idle = m.idle().await.map_err(|e| format!("IDLE: {e}"))?;
    drop(permit);
    let _ = entered.send(());
    drop(entered);
    loop {
        match idle.wait(Duration::from_secs(600)).await {
            Ok(Some(imap4::idle::Event::Exists(4))) => break,
            Ok(Some(_)) => {}
            Ok(None) => return Err("no new message within 600 s".into()),
            Err(e) => return Err(format!("IDLE wait: {e}")),
        }
    }
    idle.done().await.map_err(|e| format!("DONE: {e}"))?;
    m.logout().await.map_err(|e| format!("LOGOUT: {e}"))?;
    Ok(())
}

// ----- the server ---------------------------------------------------------

/// `idle-scale-server N`: serves until stdin closes.
pub fn server(args: &[String]) -> Result<(), Error> {
    let n = args
        .first()
        .and_then(|p| p.parse::<u64>().ok())
        .ok_or("usage: imap4-bench idle-scale-server N")?;
    raise_nofile(n + 1_000)?;
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("PORT {}", listener.local_addr()?.port());
        std::io::stdout().flush()?;
        let (wake_tx, _) = watch::channel(0u64);
        let wake_tx = Arc::new(wake_tx);
        let idling = Arc::new(AtomicUsize::new(0));
        // `wake` on stdin: every idling connection gets `* 4 EXISTS`;
        // EOF: the end.
        let (line_tx, mut line_rx) = ::tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let count = Arc::clone(&idling);
        ::tokio::spawn(async move {
            let mut last = usize::MAX;
            loop {
                let now = count.load(Ordering::SeqCst);
                if now != last {
                    println!("idling {now}");
                    let _ = std::io::stdout().flush();
                    last = now;
                }
                ::tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        loop {
            ::tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let wake = wake_tx.subscribe();
                    let idling = Arc::clone(&idling);
                    ::tokio::spawn(async move {
                        let _ = serve(stream, idling, wake).await;
                    });
                }
                line = line_rx.recv() => match line.as_deref() {
                    Some("wake") => {
                        wake_tx.send_modify(|g| *g += 1);
                    }
                    Some(_) => {}
                    None => return Ok::<(), Error>(()),
                },
            }
        }
    })
}

/// One scripted connection.
async fn serve(
    stream: TcpStream,
    idling: Arc<AtomicUsize>,
    mut wake: watch::Receiver<u64>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut r = AsyncBufReader::with_capacity(256, r);
    w.write_all(GREETING).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let mut words = text.splitn(3, ' ');
        let tag = words.next().unwrap_or("*");
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let out = match verb.as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n"),
            "LOGIN" => format!("{tag} OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n"),
            "SELECT" | "EXAMINE" => format!(
                "* FLAGS (\\Seen \\Deleted)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n\
                 * OK [PERMANENTFLAGS (\\Seen \\Deleted)] ok\r\n\
                 * OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT 4] ok\r\n\
                 {tag} OK [READ-WRITE] selected\r\n"
            ),
            "NOOP" => format!("{tag} OK noop\r\n"),
            "IDLE" => {
                w.write_all(b"+ idling\r\n").await?;
                idling.fetch_add(1, Ordering::SeqCst);
                let ended = idle(&mut r, &mut w, &mut wake, &mut line).await;
                idling.fetch_sub(1, Ordering::SeqCst);
                if !ended? {
                    return Ok(());
                }
                format!("{tag} OK idle done\r\n")
            }
            "LOGOUT" => {
                w.write_all(format!("* BYE bye\r\n{tag} OK logout\r\n").as_bytes())
                    .await?;
                return Ok(());
            }
            _ => format!("{tag} BAD unknown command\r\n"),
        };
        w.write_all(out.as_bytes()).await?;
    }
}

/// In IDLE until DONE (`true`) or EOF (`false`); a wake sends new mail.
async fn idle(
    r: &mut AsyncBufReader<::tokio::net::tcp::OwnedReadHalf>,
    w: &mut ::tokio::net::tcp::OwnedWriteHalf,
    wake: &mut watch::Receiver<u64>,
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    line.clear();
    let mut woken = false;
    loop {
        ::tokio::select! {
            // Cancel-safe: a partial line stays in `line`.
            got = r.read_until(b'\n', line) => {
                if got? == 0 {
                    return Ok(false);
                }
                if line.ends_with(b"\n") {
                    if line.trim_ascii().eq_ignore_ascii_case(b"DONE") {
                        return Ok(true);
                    }
                    line.clear();
                }
            }
            changed = wake.changed(), if !woken => {
                if changed.is_err() {
                    woken = true;
                    continue;
                }
                woken = true;
                w.write_all(b"* 4 EXISTS\r\n").await?;
            }
        }
    }
}
