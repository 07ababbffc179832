//! The protocol trace: the library logs every line it sends and receives
//! as `tracing` DEBUG events of target `imap4` (passwords redacted); this
//! subscriber prints them (`--verbose`) or collects them (`raw`).

use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Default)]
struct Shared {
    verbose: bool,
    collecting: bool,
    sent: Vec<String>,
    received: Vec<String>,
}

fn shared() -> &'static Arc<Mutex<Shared>> {
    static S: OnceLock<Arc<Mutex<Shared>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

struct Printer;

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Printer {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::DEBUG && metadata.target().starts_with("imap4")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        let Ok(mut s) = shared().lock() else { return };
        if s.verbose {
            eprintln!("{}", m.0);
        }
        if s.collecting {
            if let Some(l) = m.0.strip_prefix("> ") {
                s.sent.push(l.to_string());
            } else if let Some(l) = m.0.strip_prefix("< ") {
                s.received.push(l.to_string());
            }
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the subscriber: `verbose` prints the trace on stderr.
pub fn install(verbose: bool, collect: bool) {
    if let Ok(mut s) = shared().lock() {
        s.verbose = verbose;
    }
    if verbose || collect {
        let _ = tracing::subscriber::set_global_default(Printer);
    }
}

/// Collects the trace until [`Capture::take`].
pub struct Capture;

/// Starts collecting.
pub fn capture() -> Capture {
    if let Ok(mut s) = shared().lock() {
        s.collecting = true;
        s.sent.clear();
        s.received.clear();
    }
    Capture
}

impl Capture {
    /// The lines sent and received since [`capture`].
    pub fn take(self) -> (Vec<String>, Vec<String>) {
        match shared().lock() {
            Ok(mut s) => {
                s.collecting = false;
                (std::mem::take(&mut s.sent), std::mem::take(&mut s.received))
            }
            Err(_) => (Vec::new(), Vec::new()),
        }
    }
}
