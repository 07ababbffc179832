//! The live (Client, Connection) API against the test kit's Dovecot:
//! pipelining from many tasks, streamed fetches, cancellation, events and
//! IDLE, and a connection that dies.
#![cfg(feature = "tokio")]

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use imap4::tokio::{Client, OwnedFetch};
use imap4::typed::{Fetch, FetchAttr, Fetches, SearchKey, UidSet};
use imap4::{Config, Error, Event};
use imap4_testkit::Dovecot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// A bound on every wait: generous (fuzzers may be running), and only ever
/// reached when something is broken.
const WITHIN: Duration = Duration::from_secs(20);

/// Polls every future concurrently in this task; their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futures.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("polled to the end"))
        .collect()
}

/// Connects, spawns the connection, logs in and selects INBOX.
async fn live(d: &Dovecot) -> (Client, JoinHandle<Result<(), Error>>) {
    let (client, connection) = imap4::tokio::connect(d.host(), d.port(), Config::default())
        .await
        .expect("connect");
    let handle = connection.spawn();
    client
        .login_auto("alice", d.password())
        .await
        .expect("login");
    client.select("INBOX").await.expect("select");
    (client, handle)
}

fn attrs() -> Vec<FetchAttr> {
    vec![
        FetchAttr::Uid,
        FetchAttr::Flags,
        FetchAttr::Envelope,
        FetchAttr::Rfc822Size,
    ]
}

fn body_attrs() -> Vec<FetchAttr> {
    vec![FetchAttr::Uid, FetchAttr::full_peek()]
}

fn parsed(f: &Fetches) -> Vec<Fetch<'_>> {
    f.iter().map(|f| f.expect("parses")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_pipelining_300_fetches_get_exactly_the_batched_result() {
    const N: u32 = 300;
    let d = Dovecot::builder()
        .messages("alice", N as usize, 11)
        .start()
        .unwrap();
    let (client, handle) = live(&d).await;
    let batched = client
        .uid_fetch(&UidSet::from(1..=N), &attrs())
        .await
        .unwrap();
    let batched = parsed(&batched);
    assert_eq!(batched.len(), N as usize);

    // 8 tasks, each with all of its share in flight at once.
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let uids: Vec<u32> = (1..=N).filter(|u| u % 8 == t).collect();
            let sets: Vec<UidSet> = uids.iter().map(|&u| UidSet::single(u)).collect();
            let attrs = attrs();
            let results =
                join_all(sets.iter().map(|s| client.uid_fetch(s, &attrs)).collect()).await;
            uids.into_iter().zip(results).collect::<Vec<_>>()
        }));
    }
    let mut union: Vec<(u32, Fetches)> = Vec::new();
    for t in tasks {
        for (uid, r) in timeout(WITHIN, t).await.expect("in time").unwrap() {
            union.push((uid, r.expect("fetch")));
        }
    }
    union.sort_by_key(|(uid, _)| *uid);
    assert_eq!(union.len(), N as usize);
    for ((uid, fetches), want) in union.iter().zip(&batched) {
        let got = parsed(fetches);
        assert_eq!(got.len(), 1, "UID {uid}: one FETCH response");
        assert_eq!(got[0].uid(), Some(*uid));
        assert_eq!(&got[0], want, "UID {uid}");
    }

    // Again as streams, which are never merged into one command: 300
    // commands in flight at once, which Dovecot runs partly in parallel
    // (later commands' responses before an earlier one's tagged OK).
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let uids: Vec<u32> = (1..=N).filter(|u| u % 8 == t).collect();
            let sets: Vec<UidSet> = uids.iter().map(|&u| UidSet::single(u)).collect();
            let attrs = attrs();
            let streams = join_all(
                sets.iter()
                    .map(|s| client.uid_fetch_stream(s, &attrs))
                    .collect(),
            )
            .await;
            let results =
                join_all(streams.into_iter().map(|s| s.unwrap().collect()).collect()).await;
            uids.into_iter().zip(results).collect::<Vec<_>>()
        }));
    }
    let mut union: Vec<(u32, Fetches)> = Vec::new();
    for t in tasks {
        for (uid, r) in timeout(WITHIN, t).await.expect("in time").unwrap() {
            union.push((uid, r.expect("fetch")));
        }
    }
    union.sort_by_key(|(uid, _)| *uid);
    assert_eq!(union.len(), N as usize);
    for ((uid, fetches), want) in union.iter().zip(&batched) {
        let got = parsed(fetches);
        assert_eq!(got.len(), 1, "UID {uid}: one FETCH response (streamed)");
        assert_eq!(&got[0], want, "UID {uid} (streamed)");
    }
    client.logout().await.unwrap();
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_fetch_yields_what_a_collected_one_does() {
    let d = Dovecot::builder()
        .messages("alice", 120, 12)
        .start()
        .unwrap();
    let (client, handle) = live(&d).await;
    let all = UidSet::from(1..=120);
    let mut want_attrs = attrs();
    want_attrs.extend(body_attrs());
    let collected = client.uid_fetch(&all, &want_attrs).await.unwrap();
    let collected = parsed(&collected);
    assert_eq!(collected.len(), 120);

    // A slow consumer (yielding between items) while another task's
    // command waits behind the stream.
    let mut stream = client.uid_fetch_stream(&all, &want_attrs).await.unwrap();
    let other = {
        let client = client.clone();
        tokio::spawn(async move { client.uid_search(&SearchKey::All).await })
    };
    let mut streamed: Vec<OwnedFetch> = Vec::new();
    while let Some(f) = timeout(WITHIN, stream.next()).await.expect("in time") {
        streamed.push(f.unwrap());
        tokio::task::yield_now().await;
    }
    let got: Vec<Fetch<'_>> = streamed.iter().map(OwnedFetch::get).collect();
    assert_eq!(got, collected);
    assert_eq!(
        timeout(WITHIN, other).await.unwrap().unwrap().unwrap(),
        all,
        "the command behind the stream got its own result"
    );
    // collect() gives the collected shape.
    let again = client
        .uid_fetch_stream(&all, &want_attrs)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(parsed(&again), collected);
    // An empty set asks nothing and ends at once.
    let mut empty = client
        .uid_fetch_stream(&UidSet::default(), &want_attrs)
        .await
        .unwrap();
    assert!(empty.next().await.is_none());
    client.logout().await.unwrap();
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
}

/// Polls `fut` `polls` times (the runtime runs the connection in between),
/// then drops it if it is not done.
async fn poll_then_drop<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..polls {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        // Pacing, not synchronisation: let the connection task run.
        tokio::task::yield_now().await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_futures_never_corrupt_the_connection() {
    const N: u32 = 200;
    let d = Dovecot::builder()
        .messages("alice", N as usize, 13)
        .start()
        .unwrap();
    let (client, handle) = live(&d).await;
    let all = UidSet::from(1..=N);
    let want = client.uid_fetch(&all, &body_attrs()).await.unwrap();
    let want = parsed(&want);
    let check = |client: Client| async move {
        // Another task's commands get exactly their own results.
        for uid in [1, N / 2, N] {
            let got = client
                .uid_fetch(&UidSet::single(uid), &body_attrs())
                .await
                .unwrap();
            let got = parsed(&got);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].uid(), Some(uid));
        }
        assert_eq!(
            client.uid_search(&SearchKey::All).await.unwrap(),
            UidSet::from(1..=N)
        );
    };

    // Large fetches dropped at successive points, with a checker racing them.
    let mut dropped = 0;
    for polls in [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] {
        let checker = tokio::spawn(check(client.clone()));
        let r = poll_then_drop(client.uid_fetch(&all, &body_attrs()), polls).await;
        if r.is_none() {
            dropped += 1;
        }
        timeout(WITHIN, checker).await.expect("in time").unwrap();
    }
    assert!(dropped > 0, "some fetch was dropped before its end");

    // Zero timeouts: dropped right after the request went out.
    for _ in 0..5 {
        let r = timeout(Duration::ZERO, client.uid_fetch(&all, &body_attrs())).await;
        assert!(r.is_err(), "a zero timeout expires");
    }
    // A task aborted while it waits.
    let task = {
        let (client, all) = (client.clone(), all.clone());
        tokio::spawn(async move { client.uid_fetch(&all, &body_attrs()).await })
    };
    tokio::task::yield_now().await;
    task.abort();
    let _ = task.await;

    // A stream dropped half-way through.
    let mut stream = client.uid_fetch_stream(&all, &body_attrs()).await.unwrap();
    for _ in 0..3 {
        stream.next().await.expect("an item").unwrap();
    }
    drop(stream);
    // A stream dropped before its first item.
    drop(client.uid_fetch_stream(&all, &body_attrs()).await.unwrap());

    timeout(WITHIN, check(client.clone()))
        .await
        .expect("in time");
    let again = client.uid_fetch(&all, &body_attrs()).await.unwrap();
    assert_eq!(parsed(&again), want, "the whole result, exactly");
    client.logout().await.unwrap();
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
}

const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: new\r\n\r\nhello\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_idle_see_mail_appended_elsewhere() {
    let d = Dovecot::builder().messages("alice", 5, 14).start().unwrap();
    let (client, handle) = live(&d).await;
    assert_eq!(client.mailbox_state().unwrap().exists, 5);
    // Nothing happens: the deadline ends the wait.
    let quiet = client
        .idle(Instant::now() + Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(quiet, None);

    // A waiter in IDLE, then a second connection appends.
    let mut events = client.events();
    let waiter = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut events = client.events();
            let until = Instant::now() + WITHIN;
            loop {
                match events.idle(until).await.unwrap() {
                    Some(Event::Exists(n)) => return n,
                    Some(_) => continue,
                    None => panic!("no EXISTS within {WITHIN:?}"),
                }
            }
        })
    };
    let (host, port, password) = (d.host().to_string(), d.port(), d.password().to_string());
    tokio::task::spawn_blocking(move || {
        let mut other = imap4::Imap4::connect(&host, port).unwrap();
        other.login("alice", &password).unwrap();
        other.typed().append("INBOX", &[], None, MESSAGE).unwrap();
        other.logout().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(timeout(WITHIN, waiter).await.unwrap().unwrap(), 6);
    // The receiver made before saw it too (the same events, in order).
    let until = Instant::now() + WITHIN;
    loop {
        match timeout(WITHIN, events.next()).await.unwrap() {
            Some(Event::Exists(6)) => break,
            Some(_) => assert!(Instant::now() < until),
            None => panic!("events ended"),
        }
    }
    assert_eq!(client.mailbox_state().unwrap().exists, 6);

    // A request ends a running IDLE (DONE first) and gets its result.
    let idler = {
        let client = client.clone();
        tokio::spawn(async move { client.idle(Instant::now() + Duration::from_secs(600)).await })
    };
    tokio::task::yield_now().await;
    let got = timeout(WITHIN, client.uid_fetch(&UidSet::single(6), &attrs()))
        .await
        .expect("IDLE was ended for the fetch")
        .unwrap();
    let got = parsed(&got);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].uid(), Some(6));
    idler.abort();
    client.logout().await.unwrap();
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_connection_fails_every_request() {
    let d = Dovecot::builder()
        .messages("alice", 50, 15)
        .start()
        .unwrap();

    // The server ends the connection (doveadm kick) while a task idles.
    let (client, handle) = live(&d).await;
    let idler = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut events = client.events();
            let until = Instant::now() + WITHIN;
            loop {
                match events.idle(until).await {
                    Ok(Some(Event::Bye(_))) | Err(_) => return,
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("still idling after {WITHIN:?}"),
                }
            }
        })
    };
    let kicked = d.doveadm(&["kick", "alice"]).unwrap();
    assert!(kicked.status.success(), "{kicked:?}");
    timeout(WITHIN, idler)
        .await
        .expect("the idler was told")
        .unwrap();
    let cause = timeout(WITHIN, handle)
        .await
        .expect("the connection ended")
        .unwrap()
        .unwrap_err();
    assert!(cause.is_abort(), "{cause}");
    let e = timeout(WITHIN, client.noop()).await.unwrap().unwrap_err();
    assert!(e.is_abort(), "{e}");
    assert!(e.to_string().starts_with("connection closed: "), "{e}");
    assert!(client.is_closed());
    let mut stream = client
        .uid_fetch_stream(&UidSet::from(1..=50), &attrs())
        .await
        .map(Some)
        .unwrap_or(None);
    if let Some(s) = stream.as_mut() {
        assert!(s.next().await.unwrap().is_err());
    }

    // The Connection future is dropped (its task aborted) with requests in
    // flight: every one of them, and every later one, gets an error.
    let (client, handle) = live(&d).await;
    let pending: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .uid_fetch(&UidSet::from(1..=50), &body_attrs())
                    .await
                    .map(|f| (i, f.raw_len()))
            })
        })
        .collect();
    handle.abort();
    let _ = handle.await;
    for p in pending {
        // Each either finished before the abort or failed: none hangs.
        match timeout(WITHIN, p).await.expect("no hang").unwrap() {
            Ok((_, n)) => assert_eq!(n, 50),
            Err(e) => assert!(e.is_abort(), "{e}"),
        }
    }
    let e = timeout(WITHIN, client.select("INBOX"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("connection closed"), "{e}");
    let e = timeout(WITHIN, client.idle(Instant::now() + WITHIN))
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.is_abort(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_client_ends_the_connection_cleanly() {
    let d = Dovecot::builder().messages("alice", 3, 16).start().unwrap();
    let (client, handle) = live(&d).await;
    let events = client.events();
    let c2 = client.clone();
    drop(client);
    assert_eq!(
        c2.uid_search(&SearchKey::All).await.unwrap(),
        UidSet::from(1..=3)
    );
    drop(c2);
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
    drop(events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_connection_gives_the_whole_typed_api_in_order() {
    use imap4::typed::AppendMessage;
    let d = Dovecot::builder().messages("alice", 4, 17).start().unwrap();
    let (client, handle) = live(&d).await;
    let mut events = client.events();
    // a fetch in flight beside the job; the job runs alone on the connection
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.uid_fetch(&UidSet::from(1..=4), &attrs()).await })
    };
    tokio::task::yield_now().await;
    let (roots, mapping) = client
        .with_connection(|m| {
            Box::pin(async move {
                let roots = m.typed().get_quota_root("INBOX").await?;
                let batch = [AppendMessage::new(MESSAGE), AppendMessage::new(MESSAGE)];
                let mapping = m.typed().append_many("INBOX", &batch).await?;
                // the EXISTS for the two new messages comes with this NOOP
                m.typed().noop().await?;
                Ok((roots, mapping))
            })
        })
        .await
        .unwrap();
    assert_eq!(parsed(&first.await.unwrap().unwrap()).len(), 4);
    assert_eq!(roots.roots, ["User quota"]);
    assert_eq!(mapping.unwrap().destination.len(), 2);
    // what the server said inside the job reached the state and the events
    assert_eq!(client.mailbox_state().unwrap().exists, 6);
    let until = Instant::now() + WITHIN;
    loop {
        match timeout(WITHIN, events.next()).await.unwrap() {
            Some(Event::Exists(6)) => break,
            Some(_) => assert!(Instant::now() < until),
            None => panic!("events ended"),
        }
    }
    // an error inside the job is the job's result; the connection goes on
    let e = client
        .with_connection(|m| Box::pin(async move { m.typed().create("INBOX").await }))
        .await
        .unwrap_err();
    assert!(!e.is_abort(), "{e}");
    assert_eq!(
        parsed(
            &client
                .uid_fetch(&UidSet::single(6), &attrs())
                .await
                .unwrap()
        )
        .len(),
        1
    );
    client.logout().await.unwrap();
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_through_the_live_client_reaches_its_events() {
    use imap4::typed::{NotifyEvent, NotifyMailboxes, NotifySpec};
    let d = Dovecot::builder().messages("alice", 2, 19).start().unwrap();
    let (client, handle) = live(&d).await;
    client
        .with_connection(|m| Box::pin(async move { m.typed().create("Watched").await }))
        .await
        .unwrap();
    let spec = NotifySpec::new().status().group(
        NotifyMailboxes::Personal,
        [
            NotifyEvent::message_new(),
            NotifyEvent::MessageExpunge,
            NotifyEvent::MailboxName,
        ],
    );
    client
        .with_connection(move |m| Box::pin(async move { m.typed().notify_set(&spec).await }))
        .await
        .unwrap();
    let mut events = client.events();
    // a waiter in IDLE; a second connection appends to another mailbox
    let waiter = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut events = client.events();
            let until = Instant::now() + WITHIN;
            loop {
                match events.idle(until).await.unwrap() {
                    Some(Event::Status(st)) if st.mailbox == "Watched" => return st,
                    Some(_) => continue,
                    None => panic!("no STATUS for Watched within {WITHIN:?}"),
                }
            }
        })
    };
    tokio::task::yield_now().await;
    let (host, port, password) = (d.host().to_string(), d.port(), d.password().to_string());
    tokio::task::spawn_blocking(move || {
        let mut other = imap4::Imap4::connect(&host, port).unwrap();
        other.login("alice", &password).unwrap();
        other.typed().append("Watched", &[], None, MESSAGE).unwrap();
        other.logout().unwrap();
    })
    .await
    .unwrap();
    let st = timeout(WITHIN, waiter).await.unwrap().unwrap();
    assert_eq!(st.messages, Some(1), "{st:?}");
    // the receiver made before saw it as well
    loop {
        match timeout(WITHIN, events.next()).await.unwrap() {
            Some(Event::Status(st)) if st.mailbox == "Watched" => break,
            Some(_) => continue,
            None => panic!("events ended"),
        }
    }
    client.logout().await.unwrap();
    timeout(WITHIN, handle).await.unwrap().unwrap().unwrap();
}
