//! Commands and responses reach a `tracing` subscriber at DEBUG level
//! without `set_debug`, also when the subscriber comes after the
//! connection, with passwords redacted.

use std::sync::{Arc, Mutex};

use imap4::Imap4;
use imap4_testkit::fake::{FakeServer, Step};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Collects the messages of `imap4` DEBUG events.
#[derive(Clone, Default)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    level: Option<Level>,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.level.is_some_and(|l| *metadata.level() <= l) && metadata.target().starts_with("imap4")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        self.lines.lock().unwrap().push(m.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn server() -> FakeServer {
    FakeServer::start(vec![
        Step::send("* OK [CAPABILITY IMAP4rev1] fake\r\n"),
        Step::expect("{tag} CAPABILITY"),
        Step::send("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n"),
        Step::expect(r#"{tag} LOGIN alice "hunter2""#),
        Step::send("{tag} OK logged in\r\n"),
        Step::expect("{tag} NOOP"),
        Step::send("* 3 EXISTS\r\n{tag} OK done\r\n"),
    ])
    .unwrap()
}

#[test]
fn debug_events_without_set_debug_and_passwords_redacted() {
    let debug = Capture {
        level: Some(Level::DEBUG),
        ..Capture::default()
    };
    let fake = server();
    tracing::subscriber::with_default(debug.clone(), || {
        let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
        assert_eq!(m.debug_level(), 0);
        m.login("alice", "hunter2").unwrap();
        m.noop().unwrap();
    });
    fake.finish().unwrap();
    let lines = debug.lines.lock().unwrap().clone();
    let joined = lines.join("\n");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("> ") && l.contains("LOGIN alice")),
        "{joined}"
    );
    assert!(lines.iter().any(|l| l == "< * 3 EXISTS"), "{joined}");
    assert!(
        !joined.contains("hunter2"),
        "password in the trace: {joined}"
    );
}

#[test]
fn no_events_below_debug_and_a_late_subscriber_sees_what_follows() {
    let info = Capture {
        level: Some(Level::INFO),
        ..Capture::default()
    };
    let fake = server();
    let mut m = tracing::subscriber::with_default(info.clone(), || {
        let mut m = Imap4::connect("127.0.0.1", fake.port()).unwrap();
        m.login("alice", "hunter2").unwrap();
        m
    });
    assert!(info.lines.lock().unwrap().is_empty());
    // the connection exists before this subscriber
    let debug = Capture {
        level: Some(Level::DEBUG),
        ..Capture::default()
    };
    tracing::subscriber::with_default(debug.clone(), || {
        m.noop().unwrap(); // turns collection on
        assert!(m.noop().is_err(), "the script has ended");
    });
    drop(m);
    let lines = debug.lines.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("> ") && l.ends_with(" NOOP")),
        "{lines:?}"
    );
    let _ = fake.finish();
}
