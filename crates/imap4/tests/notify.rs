//! NOTIFY (RFC 5465) against the test kit's Dovecot, in both drivers:
//! connection A asks for PERSONAL (MessageNew MessageExpunge MailboxName)
//! and IDLEs; connection B appends to another mailbox, expunges there,
//! creates a mailbox and renames one; A receives each as a typed
//! [`Event::Status`] or [`Event::List`]. A scripted server without NOTIFY
//! gets nothing sent.

use std::time::{Duration, Instant};

use imap4::typed::{
    FetchAttr, NotifyEvent, NotifyMailboxes, NotifySpec, StatusAttr, StoreOp, UidSet,
};
use imap4::{Event, Imap4};
use imap4_testkit::Dovecot;

/// How long a notification may take (Dovecot notices other mailboxes'
/// changes through inotify: usually milliseconds).
const WITHIN: Duration = Duration::from_secs(10);

const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: note\r\n\r\nhello\r\n";

fn spec() -> NotifySpec {
    NotifySpec::new().status().group(
        NotifyMailboxes::Personal,
        [
            NotifyEvent::message_new(),
            NotifyEvent::MessageExpunge,
            NotifyEvent::MailboxName,
        ],
    )
}

#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    password: String,
}

/// Connection B's changes, one step at a time.
impl Server {
    fn of(d: &Dovecot) -> Server {
        Server {
            host: d.host().into(),
            port: d.port(),
            password: d.password().into(),
        }
    }
}

fn change(d: &Server, step: usize) {
    let mut b = Imap4::connect(&d.host, d.port).expect("connect");
    b.login("alice", &d.password).expect("login");
    match step {
        0 => {
            b.typed().append("Lists", &[], None, MESSAGE).unwrap();
        }
        1 => {
            b.typed().select("Lists").unwrap();
            b.typed()
                .uid_store(&UidSet::single(1), StoreOp::Add, &["\\Deleted"], true)
                .unwrap();
            b.typed().uid_expunge(&UidSet::single(1)).unwrap();
        }
        2 => {
            b.typed().create("Fresh").unwrap();
        }
        3 => {
            b.typed().rename("Fresh", "Renamed").unwrap();
            // Dovecot 2.3 quirk: the LIST of a rename (with OLDNAME) goes
            // out only when the next change to the mailbox list is
            // noticed; a CREATE after it sends both.
            b.typed().create("Other").unwrap();
        }
        4 => {
            b.typed().append("Lists", &[], None, MESSAGE).unwrap();
            b.typed().append("INBOX", &[], None, MESSAGE).unwrap();
        }
        5 => {
            b.typed().append("INBOX", &[], None, MESSAGE).unwrap();
        }
        6 => {
            b.typed().select("INBOX").unwrap();
            b.typed()
                .uid_store(&UidSet::single(3), StoreOp::Add, &["\\Deleted"], true)
                .unwrap();
            b.typed().uid_expunge(&UidSet::single(3)).unwrap();
        }
        _ => unreachable!(),
    }
    b.logout().unwrap();
}

/// Waits (IDLE) for an event matching `want`, skipping others.
macro_rules! expect_event {
    ($idle:ident, [$($aw:tt)*], $($want:tt)+) => {{
        let deadline = Instant::now() + WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match $idle.wait(left)$($aw)*.unwrap() {
                Some(e) if matches!(e, $($want)+) => break e,
                Some(_) => {}
                None => panic!("no {} within {WITHIN:?}", stringify!($($want)+)),
            }
        }
    }};
}

/// Checks the initial STATUS answers of `NOTIFY SET STATUS`.
fn check_initial(statuses: &[imap4::typed::MailboxStatus]) {
    let inbox = statuses
        .iter()
        .find(|s| s.mailbox == "INBOX")
        .expect("INBOX");
    assert_eq!(inbox.messages, Some(2), "{statuses:?}");
    let lists = statuses
        .iter()
        .find(|s| s.mailbox == "Lists")
        .expect("Lists");
    assert_eq!(lists.messages, Some(0), "{statuses:?}");
}

#[test]
fn notify_blocking() {
    let d = Dovecot::builder().messages("alice", 2, 70).start().unwrap();
    let s = Server::of(&d);
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    assert!(m.typed().has_capability("NOTIFY"));
    m.typed().create("Lists").unwrap();
    check_initial(&m.typed().notify_set(&spec()).unwrap());
    m.typed().select("INBOX").unwrap();

    let mut idle = m.idle().unwrap();
    change(&s, 0);
    let Event::Status(st) = expect_event!(idle, [], Event::Status(ref st) if st.mailbox == "Lists")
    else {
        unreachable!()
    };
    assert_eq!(st.mailbox, "Lists");
    assert_eq!(st.messages, Some(1), "{st:?}");
    assert_eq!(st.uid_next, Some(2), "{st:?}");

    change(&s, 1);
    let Event::Status(st) = expect_event!(idle, [], Event::Status(ref st) if st.mailbox == "Lists")
    else {
        unreachable!()
    };
    assert_eq!(
        (st.mailbox.as_str(), st.messages),
        ("Lists", Some(0)),
        "{st:?}"
    );

    change(&s, 2);
    // (B's first login made Dovecot autocreate Drafts, Sent…: their
    // LISTs came first and were skipped)
    let Event::List { mailbox, old_name } =
        expect_event!(idle, [], Event::List { ref mailbox, .. } if mailbox.name == "Fresh")
    else {
        unreachable!()
    };
    assert_eq!(old_name, None);
    assert!(!mailbox.has_attribute("\\NonExistent"), "{mailbox:?}");

    change(&s, 3);
    let Event::List { mailbox, old_name } =
        expect_event!(idle, [], Event::List { ref mailbox, .. } if mailbox.name == "Renamed")
    else {
        unreachable!()
    };
    assert_eq!(old_name.as_deref(), Some("Fresh"), "{mailbox:?}");
    idle.done().unwrap();
    while m.take_event().is_some() {}

    // After NOTIFY NONE: a STATUS answer is no event, and a new message
    // in Lists is not reported. (Dovecot 2.3 quirk: after NOTIFY NONE it
    // sends no EXISTS for the selected mailbox either, not even on NOOP,
    // though UID SEARCH finds the new message; so this checks Lists only.)
    m.typed().notify_none().unwrap();
    m.enable_events();
    let st = m.typed().status("Lists", &[StatusAttr::Messages]).unwrap();
    assert_eq!(st.messages, Some(0));
    assert_eq!(m.take_event(), None);
    change(&s, 4);
    m.typed().noop().unwrap();
    while let Some(e) = m.take_event() {
        assert!(!matches!(e, Event::Status(_) | Event::List { .. }), "{e:?}");
    }
    let st = m.typed().status("Lists", &[StatusAttr::Messages]).unwrap();
    assert_eq!(st.messages, Some(1));
    assert_eq!(m.take_event(), None);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_tokio() {
    let d = Dovecot::builder().messages("alice", 2, 71).start().unwrap();
    let s = Server::of(&d);
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    m.typed().create("Lists").await.unwrap();
    check_initial(&m.typed().notify_set(&spec()).await.unwrap());
    m.typed().select("INBOX").await.unwrap();

    let mut idle = m.idle().await.unwrap();
    let c = s.clone();
    tokio::task::spawn_blocking(move || change(&c, 0))
        .await
        .unwrap();
    let Event::Status(st) =
        expect_event!(idle, [.await], Event::Status(ref st) if st.mailbox == "Lists")
    else {
        unreachable!()
    };
    assert_eq!(
        (st.mailbox.as_str(), st.messages),
        ("Lists", Some(1)),
        "{st:?}"
    );
    let c = s.clone();
    tokio::task::spawn_blocking(move || change(&c, 2))
        .await
        .unwrap();
    let Event::List { mailbox, old_name } = expect_event!(
        idle,
        [.await],
        Event::List { ref mailbox, .. } if mailbox.name == "Fresh"
    ) else {
        unreachable!()
    };
    assert_eq!(old_name, None);
    assert!(!mailbox.has_attribute("\\NonExistent"), "{mailbox:?}");
    let c = s.clone();
    tokio::task::spawn_blocking(move || change(&c, 3))
        .await
        .unwrap();
    let Event::List { mailbox, old_name } = expect_event!(
        idle,
        [.await],
        Event::List { ref mailbox, .. } if mailbox.name == "Renamed"
    ) else {
        unreachable!()
    };
    assert_eq!(old_name.as_deref(), Some("Fresh"), "{mailbox:?}");
    idle.done().await.unwrap();
    m.typed().notify_none().await.unwrap();
    m.logout().await.unwrap();
}

/// SELECTED (MessageNew (UID ENVELOPE) MessageExpunge): a message B
/// appends to the selected INBOX comes as EXISTS, then its FETCH as an
/// [`Event::Fetch`] carrying the ENVELOPE asked for; B's expunge as
/// EXPUNGE (or VANISHED).
/// Runs B's change here (blocking driver)...
fn now(f: impl FnOnce()) {
    f()
}

/// ...or on a blocking thread (tokio driver).
#[cfg(feature = "tokio")]
async fn off(f: impl FnOnce() + Send + 'static) {
    tokio::task::spawn_blocking(f).await.unwrap()
}

macro_rules! selected_scenario {
    ($m:ident, $s:ident, [$($aw:tt)*], $run:ident) => {{
        $m.typed().select("INBOX")$($aw)*.unwrap();
        let spec = NotifySpec::new().group(
            NotifyMailboxes::Selected,
            [
                NotifyEvent::MessageNew(vec![FetchAttr::Uid, FetchAttr::Envelope]),
                NotifyEvent::MessageExpunge,
            ],
        );
        assert!($m.typed().notify_set(&spec)$($aw)*.unwrap().is_empty());
        let mut idle = $m.idle()$($aw)*.unwrap();
        let c = $s.clone();
        $run(move || change(&c, 5))$($aw)*;
        expect_event!(idle, [$($aw)*], Event::Exists(3));
        let e = expect_event!(idle, [$($aw)*], Event::Fetch { .. });
        let Event::Fetch { seq, uid, .. } = &e else { unreachable!() };
        assert_eq!((*seq, *uid), (3, Some(3)));
        let f = e.fetch().unwrap();
        let subject = f.envelope().unwrap().subject.as_ref().unwrap().to_str_lossy().into_owned();
        assert_eq!(subject, "note");
        let c = $s.clone();
        $run(move || change(&c, 6))$($aw)*;
        expect_event!(idle, [$($aw)*], Event::Expunge(3) | Event::Vanished { .. });
        idle.done()$($aw)*.unwrap();
        assert_eq!($m.mailbox_state().unwrap().exists, 2);
    }};
}

#[test]
fn notify_selected_message_new_blocking() {
    let d = Dovecot::builder().messages("alice", 2, 72).start().unwrap();
    let s = Server::of(&d);
    let mut m = Imap4::connect(d.host(), d.port()).unwrap();
    m.login("alice", d.password()).unwrap();
    selected_scenario!(m, s, [], now);
    m.logout().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_selected_message_new_tokio() {
    let d = Dovecot::builder().messages("alice", 2, 73).start().unwrap();
    let s = Server::of(&d);
    let mut m = imap4::tokio::Imap4::connect(d.host(), d.port())
        .await
        .unwrap();
    m.login("alice", d.password()).await.unwrap();
    selected_scenario!(m, s, [.await], off);
    m.logout().await.unwrap();
}

fn script() -> Vec<imap4_testkit::fake::Step> {
    use imap4_testkit::fake::Step;
    vec![
        Step::send("* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("{tag} OK done\r\n"),
    ]
}

#[test]
fn without_notify_nothing_is_sent_blocking() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
    let e = m.typed().notify_set(&spec()).unwrap_err();
    assert!(e.to_string().contains("NOTIFY"), "{e}");
    let e = m.typed().notify_none().unwrap_err();
    assert!(e.to_string().contains("NOTIFY"), "{e}");
    m.typed().noop().unwrap();
    drop(m);
    fake.finish().unwrap();
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notify_nothing_is_sent_tokio() {
    use imap4_testkit::fake::FakeServer;
    let fake = FakeServer::start(script()).unwrap();
    let mut m = imap4::tokio::Imap4::connect("127.0.0.1", fake.port())
        .await
        .unwrap();
    assert!(m.typed().notify_set(&spec()).await.is_err());
    assert!(m.typed().notify_none().await.is_err());
    m.typed().noop().await.unwrap();
    drop(m);
    fake.finish().unwrap();
}
