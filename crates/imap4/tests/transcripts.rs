//! Golden transcripts for every public command method of [`Imap4`].
//!
//! Each test is a fixed conversation with a scripted in-memory server: the
//! exact bytes the client must write, the bytes the server answers, and
//! the result the method must return, written in imaplib's `(typ, data)`
//! form (`format!("{:?}", response)` prints like Python's tuple) or, for
//! errors, as `Kind: message`. CPython's imaplib is the reference for the
//! result shapes and messages; the quoting of arguments is this library's
//! (see `Imap4`'s documentation).
//!
//! The scripted server is strict: it only sends the bytes that answer a
//! command once the client has written that command, and the client may
//! only write a command (or a literal) once it has read everything the
//! server sent before it. A client that sends a synchronizing literal
//! before the server's `+`, or that waits for bytes the server will never
//! send, fails the test.
//!
//! Every transcript is also replayed:
//! - with the server's bytes split at every byte offset (no read crosses
//!   the offset), and one byte per read: results, client bytes and
//!   untagged data must not change;
//! - once per step, with unrelated untagged responses ([`EXTRAS`]) arriving
//!   at the start of that step's last server turn (before its tagged
//!   reply, or before LOGOUT's BYE): the result must not change (unless
//!   the step declares what imaplib does when they collide with what it
//!   collects), and the extra data must be available through `response()`.

use std::io::{self, Read, Write};
use std::panic::Location;
use std::sync::{Arc, Mutex};

use imap4::{Config, Data, Error, Imap4, Limits, Response, State, Transport};
use imap4_proto::python_repr;

// ===== the scripted server ===================================================

/// One side's turn in a transcript.
#[derive(Clone, Debug)]
enum Ev {
    /// Bytes the client must write.
    C(Vec<u8>),
    /// Bytes the server sends.
    S(Vec<u8>),
}

/// Joins lines with CRLF, each line ending with CRLF.
fn crlf(lines: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for l in lines {
        v.extend_from_slice(l.as_bytes());
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Client lines (each followed by CRLF).
macro_rules! c {
    ($($l:expr),* $(,)?) => { Ev::C(crlf(&[$($l),*])) };
}

/// Server lines (each followed by CRLF).
macro_rules! s {
    ($($l:expr),* $(,)?) => { Ev::S(crlf(&[$($l),*])) };
}

/// Raw client bytes.
fn c_raw(b: &[u8]) -> Ev {
    Ev::C(b.to_vec())
}

/// Raw server bytes.
fn s_raw(b: &[u8]) -> Ev {
    Ev::S(b.to_vec())
}

#[derive(Default)]
struct Script {
    server: Vec<u8>,
    /// For each server chunk: (offset in `server`, client bytes that must
    /// have been written before any of it is sent).
    server_gates: Vec<(usize, usize)>,
    client: Vec<u8>,
    /// For each client chunk: (offset in `client`, server bytes that must
    /// have been read before any of it may be written).
    client_gates: Vec<(usize, usize)>,
}

fn script(evs: &[Ev]) -> Script {
    let mut sc = Script::default();
    for e in evs {
        match e {
            Ev::S(b) if !b.is_empty() => {
                sc.server_gates.push((sc.server.len(), sc.client.len()));
                sc.server.extend_from_slice(b);
            }
            Ev::C(b) if !b.is_empty() => {
                sc.client_gates.push((sc.client.len(), sc.server.len()));
                sc.client.extend_from_slice(b);
            }
            _ => {}
        }
    }
    sc
}

struct Wire {
    script: Script,
    served: usize,
    written: Vec<u8>,
    /// No read crosses this server offset.
    split: Option<usize>,
    max_read: usize,
    violation: Option<String>,
    shutdowns: usize,
}

/// The in-memory transport: serves the script, records the client's bytes.
struct Mock(Arc<Mutex<Wire>>);

impl Read for Mock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut guard = self.0.lock().unwrap();
        let w = &mut *guard;
        let len = w.script.server.len();
        if w.served >= len || buf.is_empty() {
            return Ok(0);
        }
        let mut limit = len;
        for &(off, need) in &w.script.server_gates {
            if w.written.len() < need {
                if off <= w.served {
                    let msg = format!(
                        "client reads while the server still waits for {}",
                        short(&w.script.client[w.written.len()..need])
                    );
                    w.violation.get_or_insert(msg);
                    return Err(io::Error::other("transcript deadlock"));
                }
                limit = limit.min(off);
            }
        }
        if let Some(k) = w.split {
            if k > w.served {
                limit = limit.min(k);
            }
        }
        let n = (limit - w.served).min(buf.len()).min(w.max_read);
        buf[..n].copy_from_slice(&w.script.server[w.served..w.served + n]);
        w.served += n;
        Ok(n)
    }
}

impl Write for Mock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut guard = self.0.lock().unwrap();
        let w = &mut *guard;
        if buf.is_empty() {
            return Ok(0);
        }
        let last = w.written.len() + buf.len() - 1;
        if w.violation.is_none() {
            if last >= w.script.client.len() {
                w.violation = Some(format!(
                    "client wrote {} beyond the transcript's {}",
                    short(buf),
                    short(&w.script.client)
                ));
            } else {
                let need = w
                    .script
                    .client_gates
                    .iter()
                    .rev()
                    .find(|(off, _)| *off <= last)
                    .map_or(0, |g| g.1);
                if w.served < need {
                    w.violation = Some(format!(
                        "client wrote {} before reading the server's {}",
                        short(buf),
                        short(&w.script.server[w.served..need])
                    ));
                }
            }
        }
        w.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Mock {
    fn shutdown(&mut self) -> io::Result<()> {
        self.0.lock().unwrap().shutdowns += 1;
        Ok(())
    }
}

// ===== results as strings ====================================================

/// A method's outcome, printed as imaplib would show it.
trait Show {
    fn show(self) -> String;
}

/// `python_repr`, shortened for failure messages.
fn short(b: &[u8]) -> String {
    let r = python_repr(b);
    if r.len() <= 160 {
        r
    } else {
        format!("{}...{} ({} bytes)", &r[..80], &r[r.len() - 60..], b.len())
    }
}

fn err(e: &Error) -> String {
    format!("{:?}: {}", e.kind(), e)
}

impl Show for Result<Response, Error> {
    fn show(self) -> String {
        match self {
            Ok(r) => format!("{r:?}"),
            Err(e) => err(&e),
        }
    }
}

impl Show for Response {
    fn show(self) -> String {
        format!("{self:?}")
    }
}

impl Show for Result<Vec<u8>, Error> {
    fn show(self) -> String {
        match self {
            Ok(b) => python_repr(&b),
            Err(e) => err(&e),
        }
    }
}

impl Show for Result<(), Error> {
    fn show(self) -> String {
        match self {
            Ok(()) => "None".into(),
            Err(e) => err(&e),
        }
    }
}

impl Show for String {
    fn show(self) -> String {
        self
    }
}

fn show<T: Show>(t: T) -> String {
    t.show()
}

// ===== transcripts ===========================================================

/// Unrelated untagged data interleaved before a step's reply.
const EXTRAS: &[u8] = b"* 5 EXISTS\r\n* OK [ALERT] x\r\n* 1 FETCH (FLAGS (\\Seen))\r\n";

/// What [`EXTRAS`] adds to the untagged responses, name by name.
const EXTRA_ITEMS: &[(&str, &[u8])] = &[
    ("EXISTS", b"5"),
    ("OK", b"[ALERT] x"),
    ("ALERT", b""),
    ("FETCH", b"1 (FLAGS (\\Seen))"),
];

type Call = Box<dyn Fn(&mut Imap4) -> String>;

struct Step {
    at: &'static Location<'static>,
    call: Call,
    evs: Vec<Ev>,
    want: String,
    state: Option<State>,
    /// The result when [`EXTRAS`] arrive before the reply (default: `want`).
    mixed: Option<String>,
    mix: bool,
}

struct Tx {
    greeting: Vec<Ev>,
    config: Config,
    connect_want: String,
    steps: Vec<Step>,
    tagnum: usize,
    read_all: bool,
}

#[derive(Clone, Copy, Debug)]
struct Variant {
    split: Option<usize>,
    max_read: usize,
    mix_at: Option<usize>,
}

const BASE: Variant = Variant {
    split: None,
    max_read: usize::MAX,
    mix_at: None,
};

type Snapshot = Vec<(String, Vec<Data>)>;

#[derive(Default)]
struct Run {
    connect: String,
    outcomes: Vec<String>,
    states: Vec<State>,
    snapshots: Vec<Snapshot>,
    written: Vec<Vec<u8>>,
    served: usize,
    server_len: usize,
    /// How many times the transport was shut down.
    shutdowns: usize,
    violation: Option<String>,
}

fn get(snap: &Snapshot, name: &str) -> Vec<Data> {
    snap.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The standard greeting, then `T0 CAPABILITY` answered with `caps`.
fn tx_caps(caps: &str) -> Tx {
    Tx::greeting(vec![
        s!("* OK IMAP4rev1 ready"),
        c!("T0 CAPABILITY"),
        s!(
            &format!("* CAPABILITY {caps}"),
            "T0 OK CAPABILITY completed"
        ),
    ])
}

/// Connected, state NONAUTH.
fn tx() -> Tx {
    tx_caps("IMAP4rev1")
}

/// Logged in (T1), state AUTH.
fn auth() -> Tx {
    tx().login()
}

/// Logged in (T1) with INBOX selected (T2), state SELECTED.
fn selected() -> Tx {
    tx().login().select()
}

impl Tx {
    fn greeting(greeting: Vec<Ev>) -> Tx {
        Tx {
            greeting,
            config: Config::default(),
            connect_want: "connected".into(),
            steps: Vec::new(),
            tagnum: 1,
            read_all: true,
        }
    }

    /// The connection itself must fail this way.
    fn connect_fails(mut self, want: &str) -> Tx {
        self.connect_want = want.into();
        self
    }

    /// A step: `call`, the exchange it must cause, and its result.
    #[track_caller]
    fn step<F, O>(mut self, call: F, evs: &[Ev], want: &str) -> Tx
    where
        F: Fn(&mut Imap4) -> O + 'static,
        O: Show,
    {
        if let Some(Ev::C(first)) = evs.first() {
            let digits: String = first
                .iter()
                .skip(1)
                .take_while(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            if first.first() == Some(&b'T') && !digits.is_empty() {
                self.tagnum = digits.parse::<usize>().unwrap() + 1;
            }
        }
        let mix = evs.iter().any(|e| matches!(e, Ev::S(b) if !b.is_empty()));
        self.steps.push(Step {
            at: Location::caller(),
            call: Box::new(move |m| call(m).show()),
            evs: evs.to_vec(),
            want: want.into(),
            state: None,
            mixed: None,
            mix,
        });
        self
    }

    fn last(&mut self) -> &mut Step {
        self.steps.last_mut().expect("no step yet")
    }

    /// The connection state after the last step.
    fn state(mut self, st: State) -> Tx {
        self.last().state = Some(st);
        self
    }

    /// The last step's result when [`EXTRAS`] arrive before its reply and
    /// collide with the names it collects (imaplib includes them).
    fn mixed(mut self, want: &str) -> Tx {
        self.last().mixed = Some(want.into());
        self
    }

    /// Don't interleave [`EXTRAS`] into the last step (raw I/O hooks).
    fn no_mix(mut self) -> Tx {
        self.last().mix = false;
        self
    }

    /// The client legitimately stops reading before the script's end.
    fn unread_tail(mut self) -> Tx {
        self.read_all = false;
        self
    }

    #[track_caller]
    fn login(self) -> Tx {
        let n = self.tagnum;
        self.step(
            |m| m.login("tim", "secret"),
            &[
                c!(&format!("T{n} LOGIN tim \"secret\"")),
                s!(&format!("T{n} OK LOGIN completed")),
            ],
            "('OK', [b'LOGIN completed'])",
        )
        .state(State::Auth)
    }

    #[track_caller]
    fn select(self) -> Tx {
        let n = self.tagnum;
        self.step(
            |m| m.select("INBOX", false),
            &[
                c!(&format!("T{n} SELECT INBOX")),
                s!(
                    r"* FLAGS (\Answered \Seen)",
                    "* 3 EXISTS",
                    "* 0 RECENT",
                    "* OK [UIDVALIDITY 7] UIDs valid",
                    &format!("T{n} OK [READ-WRITE] SELECT completed"),
                ),
            ],
            "('OK', [b'3'])",
        )
        .state(State::Selected)
        .mixed("('OK', [b'5', b'3'])")
    }

    fn events(&self, mix_at: Option<usize>) -> Vec<Ev> {
        let mut v = self.greeting.clone();
        for (i, st) in self.steps.iter().enumerate() {
            let mut evs = st.evs.clone();
            if Some(i) == mix_at {
                if let Some(Ev::S(b)) = evs
                    .iter_mut()
                    .rev()
                    .find(|e| matches!(e, Ev::S(b) if !b.is_empty()))
                {
                    b.splice(0..0, EXTRAS.iter().copied());
                }
            }
            v.extend(evs);
        }
        v
    }

    /// The client bytes expected once each step is done.
    fn client_after_steps(&self) -> Vec<Vec<u8>> {
        let mut acc = script(&self.greeting).client;
        let mut out = Vec::new();
        for st in &self.steps {
            acc.extend(script(&st.evs).client);
            out.push(acc.clone());
        }
        out
    }

    fn execute(&self, v: Variant) -> (Run, Option<Imap4>) {
        let sc = script(&self.events(v.mix_at));
        let server_len = sc.server.len();
        let wire = Arc::new(Mutex::new(Wire {
            script: sc,
            served: 0,
            written: Vec::new(),
            split: v.split,
            max_read: v.max_read,
            violation: None,
            shutdowns: 0,
        }));
        let mut run = Run {
            server_len,
            ..Run::default()
        };
        let mut client = match Imap4::with_transport_and_tag_prefix(
            Box::new(Mock(wire.clone())),
            self.config.clone(),
            "T",
        ) {
            Ok(m) => {
                run.connect = "connected".into();
                Some(m)
            }
            Err(e) => {
                run.connect = err(&e);
                None
            }
        };
        if let Some(m) = client.as_mut() {
            let stop = v.mix_at.map_or(self.steps.len(), |j| j + 1);
            for st in &self.steps[..stop] {
                run.outcomes.push((st.call)(m));
                run.states.push(m.state());
                run.snapshots.push(m.untagged_responses().to_vec());
                run.written.push(wire.lock().unwrap().written.clone());
            }
        }
        let w = wire.lock().unwrap();
        run.served = w.served;
        run.shutdowns = w.shutdowns;
        run.violation = w.violation.clone();
        (run, client)
    }

    fn where_(&self, i: usize) -> String {
        let at = self.steps[i].at;
        format!("step {} (line {})", i + 1, at.line())
    }

    /// Compares a replay with the base run.
    fn compare(&self, label: &str, base: &Run, r: &Run) -> Option<String> {
        if let Some(v) = &r.violation {
            return Some(format!("{label}: {v}"));
        }
        if r.connect != base.connect {
            return Some(format!(
                "{label}: connect\n   got: {}\n  base: {}",
                r.connect, base.connect
            ));
        }
        for i in 0..base.outcomes.len() {
            let w = self.where_(i);
            if r.outcomes.get(i) != base.outcomes.get(i) {
                return Some(format!(
                    "{label}: {w}: result\n   got: {:?}\n  base: {}",
                    r.outcomes.get(i),
                    base.outcomes[i]
                ));
            }
            if r.states[i] != base.states[i] {
                return Some(format!(
                    "{label}: {w}: state {:?} vs {:?}",
                    r.states[i], base.states[i]
                ));
            }
            if r.written[i] != base.written[i] {
                return Some(format!(
                    "{label}: {w}: client bytes\n   got: {}\n  base: {}",
                    short(&r.written[i]),
                    short(&base.written[i])
                ));
            }
            if r.snapshots[i] != base.snapshots[i] {
                return Some(format!(
                    "{label}: {w}: untagged responses\n   got: {:?}\n  base: {:?}",
                    r.snapshots[i], base.snapshots[i]
                ));
            }
        }
        if self.read_all && r.served != r.server_len {
            return Some(format!(
                "{label}: the client read {} of the server's {} bytes",
                r.served, r.server_len
            ));
        }
        None
    }

    /// Checks the run with [`EXTRAS`] before step `j`'s reply.
    fn check_mixed(
        &self,
        label: &str,
        j: usize,
        base: &Run,
        r: &Run,
        m: &mut Imap4,
    ) -> Vec<String> {
        let mut fails = Vec::new();
        let w = self.where_(j);
        if let Some(v) = &r.violation {
            fails.push(format!("{label}: {w}: {v}"));
            return fails;
        }
        for i in 0..j {
            if r.outcomes[i] != base.outcomes[i] {
                fails.push(format!("{label}: {}: result changed", self.where_(i)));
                return fails;
            }
        }
        let want = self.steps[j].mixed.as_ref().unwrap_or(&base.outcomes[j]);
        if &r.outcomes[j] != want {
            fails.push(format!(
                "{label}: {w}: result with untagged data interleaved\n   got: {}\n  want: {}",
                r.outcomes[j], want
            ));
        }
        if r.states[j] != base.states[j] {
            fails.push(format!(
                "{label}: {w}: state {:?} vs {:?}",
                r.states[j], base.states[j]
            ));
        }
        if r.written[j] != base.written[j] {
            fails.push(format!(
                "{label}: {w}: client bytes\n   got: {}\n  base: {}",
                short(&r.written[j]),
                short(&base.written[j])
            ));
        }
        let (rs, bs) = (&r.snapshots[j], &base.snapshots[j]);
        let mut names: Vec<&String> = rs.iter().chain(bs.iter()).map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        for name in names {
            if EXTRA_ITEMS.iter().any(|(n, _)| n == name) {
                continue;
            }
            if get(rs, name) != get(bs, name) {
                fails.push(format!(
                    "{label}: {w}: untagged {name} changed: {:?} vs {:?}",
                    get(rs, name),
                    get(bs, name)
                ));
            }
        }
        for &(name, item) in EXTRA_ITEMS {
            let got = m.response(name);
            let mut items: Vec<Data> = got.data.into_iter().filter(|d| *d != Data::None).collect();
            let base_items = get(bs, name);
            let extra = Data::Line(item.to_vec().into());
            match items.iter().position(|d| *d == extra) {
                Some(p) => {
                    items.remove(p);
                }
                None if self.steps[j].mixed.is_some() => {}
                None => fails.push(format!(
                    "{label}: {w}: the interleaved {name} {} is not available through response()",
                    short(item)
                )),
            }
            if items != base_items {
                fails.push(format!(
                    "{label}: {w}: response({name:?}) besides the interleaved data: {:?} vs {:?}",
                    items, base_items
                ));
            }
        }
        fails
    }

    /// Runs the transcript and all its replays; panics listing every
    /// difference. Returns the base run.
    fn verify(self) -> Run {
        let mut fails: Vec<String> = Vec::new();
        let (base, _) = self.execute(BASE);
        let expected_client = self.client_after_steps();

        // The base run against the golden transcript.
        if let Some(v) = &base.violation {
            fails.push(format!("protocol violation: {v}"));
        }
        if base.connect != self.connect_want {
            fails.push(format!(
                "connect\n   got: {}\n  want: {}",
                base.connect, self.connect_want
            ));
        }
        let mut failed_steps = 0;
        for (i, st) in self.steps.iter().enumerate() {
            let Some(got) = base.outcomes.get(i) else {
                break;
            };
            if failed_steps == 3 {
                fails.push(format!(
                    "(steps {} to {} not checked after 3 failing steps)",
                    i + 1,
                    self.steps.len()
                ));
                break;
            }
            let before = fails.len();
            let w = self.where_(i);
            if *got != st.want {
                fails.push(format!("{w}: result\n   got: {got}\n  want: {}", st.want));
            }
            if let Some(s) = st.state {
                if base.states[i] != s {
                    fails.push(format!("{w}: state {:?}, want {s:?}", base.states[i]));
                }
            }
            if base.written[i] != expected_client[i] {
                fails.push(format!(
                    "{w}: client bytes\n   got: {}\n  want: {}",
                    short(&base.written[i]),
                    short(&expected_client[i])
                ));
            }
            if fails.len() > before {
                failed_steps += 1;
            }
        }
        if self.read_all && base.served != base.server_len && base.violation.is_none() {
            fails.push(format!(
                "the client read {} of the server's {} bytes",
                base.served, base.server_len
            ));
        }

        // Split at every offset, and one byte per read.
        let mut split_fails = Vec::new();
        for k in 1..base.server_len {
            let (r, _) = self.execute(Variant {
                split: Some(k),
                ..BASE
            });
            if let Some(f) = self.compare(&format!("split at {k}"), &base, &r) {
                split_fails.push(f);
            }
        }
        let (r, _) = self.execute(Variant {
            max_read: 1,
            ..BASE
        });
        if let Some(f) = self.compare("one byte per read", &base, &r) {
            split_fails.push(f);
        }
        if let Some(first) = split_fails.first() {
            fails.push(format!(
                "{} replays differ from the base run; first: {first}",
                split_fails.len()
            ));
        }

        // Unrelated untagged data before each step's reply.
        let mut mix_fails: Vec<String> = Vec::new();
        if base.connect == "connected" && base.outcomes.len() == self.steps.len() {
            for (j, st) in self.steps.iter().enumerate() {
                if !st.mix {
                    continue;
                }
                for max_read in [usize::MAX, 1] {
                    let (r, m) = self.execute(Variant {
                        split: None,
                        max_read,
                        mix_at: Some(j),
                    });
                    let label = format!("interleaved (max_read {max_read})");
                    let Some(mut m) = m else {
                        mix_fails.push(format!("{label}: connect failed: {}", r.connect));
                        continue;
                    };
                    let f = self.check_mixed(&label, j, &base, &r, &mut m);
                    let failed = !f.is_empty();
                    mix_fails.extend(f);
                    if failed {
                        break;
                    }
                }
            }
        }
        if let Some(first) = mix_fails.first() {
            fails.push(format!(
                "{} problems with untagged data interleaved; first: {first}",
                mix_fails.len()
            ));
        }

        if !fails.is_empty() {
            panic!(
                "transcript failed ({} problems):\n- {}",
                fails.len(),
                fails.join("\n- ")
            );
        }
        base
    }
}

// ===== greeting and CAPABILITY ================================================

#[test]
fn greeting_then_capability() {
    let base = tx_caps("IMAP4rev1 IDLE")
        .step(
            |m| {
                format!(
                    "{} {:?} {} {:?}",
                    python_repr(m.welcome()),
                    m.capabilities(),
                    m.protocol_version(),
                    m.state()
                )
            },
            &[],
            r#"b'* OK IMAP4rev1 ready' ["IMAP4REV1", "IDLE"] IMAP4REV1 NonAuth"#,
        )
        .step(
            |m| m.capability(),
            &[
                c!("T1 CAPABILITY"),
                s!(
                    "* CAPABILITY IMAP4rev1 IDLE NAMESPACE",
                    "T1 OK CAPABILITY completed"
                ),
            ],
            "('OK', [b'IMAP4rev1 IDLE NAMESPACE'])",
        )
        // Like imaplib, capability() does not refresh the capabilities.
        .step(
            |m| format!("{:?}", m.capabilities()),
            &[],
            r#"["IMAP4REV1", "IDLE"]"#,
        )
        .verify();
    assert_eq!(base.shutdowns, 0);
}

#[test]
fn greeting_preauth() {
    Tx::greeting(vec![
        s!("* PREAUTH IMAP4rev1 server logged in as tim"),
        c!("T0 CAPABILITY"),
        s!("* CAPABILITY IMAP4rev1", "T0 OK done"),
    ])
    .step(
        |m| m.create("x"),
        &[c!("T1 CREATE x"), s!("T1 OK CREATE completed")],
        "('OK', [b'CREATE completed'])",
    )
    .state(State::Auth)
    .verify();
}

#[test]
fn greeting_bye_is_an_error() {
    // imaplib: `raise self.error(self.welcome)`, welcome being bytes.
    let base = Tx::greeting(vec![s!("* BYE server too busy")])
        .connect_fails("Error: b'* BYE server too busy'")
        .verify();
    assert_eq!(base.shutdowns, 1, "the transport is shut down");
}

#[test]
fn greeting_server_not_imap4() {
    Tx::greeting(vec![
        s!("* OK hello"),
        c!("T0 CAPABILITY"),
        s!("* CAPABILITY IMAP2BIS", "T0 OK done"),
    ])
    .connect_fails("Error: server not IMAP4 compliant")
    .verify();
}

#[test]
fn greeting_no_capability_response() {
    Tx::greeting(vec![
        s!("* OK hello"),
        c!("T0 CAPABILITY"),
        s!("T0 OK done"),
    ])
    .connect_fails("Error: no CAPABILITY response from server")
    .verify();
}

// ===== LOGIN, AUTHENTICATE, LOGOUT ===========================================

#[test]
fn login_quotes_the_password() {
    tx().step(
        |m| m.login("tim", r#"p"a\ss word"#),
        &[
            c!(r#"T1 LOGIN tim "p\"a\\ss word""#),
            s!("T1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in"),
        ],
        "('OK', [b'[CAPABILITY IMAP4rev1 IDLE] Logged in'])",
    )
    .state(State::Auth)
    .step(
        |m| m.login("tim", "x"),
        &[],
        "Error: command LOGIN illegal in state AUTH, only allowed in states NONAUTH",
    )
    .verify();
    // A password in quotes is quoted again (imaplib's `_quote`).
    tx().step(
        |m| m.login("tim", r#""pw""#),
        &[c!(r#"T1 LOGIN tim "\"pw\"""#), s!("T1 OK done")],
        "('OK', [b'done'])",
    )
    .verify();
    // A plain password is quoted too; a user name by this library's rules.
    tx().step(
        |m| m.login("tim smith", "secret"),
        &[c!(r#"T1 LOGIN "tim smith" "secret""#), s!("T1 OK done")],
        "('OK', [b'done'])",
    )
    .verify();
}

#[test]
fn login_no_is_an_error() {
    tx().step(
        |m| m.login("tim", "wrong"),
        &[
            c!(r#"T1 LOGIN tim "wrong""#),
            s!("T1 NO [AUTHENTICATIONFAILED] Authentication failed."),
        ],
        // imaplib: `raise self.error(dat[-1])`, dat[-1] being bytes.
        "Error: b'[AUTHENTICATIONFAILED] Authentication failed.'",
    )
    .state(State::NonAuth)
    .step(
        |m| m.login("tim", ""),
        &[c!(r#"T2 LOGIN tim """#), s!("T2 BAD Missing argument")],
        "Error: LOGIN command error: BAD [b'Missing argument']",
    )
    .state(State::NonAuth)
    .step(
        |m| m.login("tim", "right"),
        &[c!(r#"T3 LOGIN tim "right""#), s!("T3 OK Logged in")],
        "('OK', [b'Logged in'])",
    )
    .state(State::Auth)
    .verify();
}

#[test]
fn login_password_with_line_break_is_a_literal() {
    tx().step(
        |m| m.login("tim", "pa\r\nss"),
        &[
            c!("T1 LOGIN tim {6}"),
            s!("+ Ready"),
            c!("pa", "ss"),
            s!("T1 OK Logged in"),
        ],
        "('OK', [b'Logged in'])",
    )
    .verify();
}

#[test]
fn authenticate_plain() {
    tx().step(
        |m| {
            let mut seen = Vec::new();
            let r = m.authenticate("plain", |ch| {
                seen.push(python_repr(ch));
                Some(b"\0user\0pass".to_vec())
            });
            format!("{} challenges=[{}]", show(r), seen.join(", "))
        },
        &[
            c!("T1 AUTHENTICATE PLAIN"),
            s!("+ "),
            c!("AHVzZXIAcGFzcw=="),
            s!("T1 OK AUTHENTICATE completed"),
        ],
        "('OK', [b'AUTHENTICATE completed']) challenges=[b'']",
    )
    .state(State::Auth)
    .step(
        |m| m.authenticate("PLAIN", |_| None),
        &[],
        "Error: command AUTHENTICATE illegal in state AUTH, only allowed in states NONAUTH",
    )
    .verify();
}

#[test]
fn authenticate_several_rounds() {
    tx().step(
        |m| {
            let mut seen = Vec::new();
            let r = m.authenticate("X-TWO", |ch| {
                seen.push(python_repr(ch));
                Some(if seen.len() == 1 {
                    vec![b'x'; 60]
                } else {
                    Vec::new()
                })
            });
            format!("{} challenges=[{}]", show(r), seen.join(", "))
        },
        &[
            c!("T1 AUTHENTICATE X-TWO"),
            // Untagged data during the exchange is collected as usual.
            s!("* OK [ALERT] be nice", "+ Y2hhbGxlbmdlIG9uZQ=="),
            // One base64 line, however long the answer.
            c!("eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"),
            // "+" without a space: an empty challenge.
            s!("+"),
            c!(""),
            s!("T1 OK done"),
        ],
        "('OK', [b'done']) challenges=[b'challenge one', b'']",
    )
    .state(State::Auth)
    .step(|m| m.response("ALERT"), &[], "('ALERT', [b''])")
    .verify();
}

#[test]
fn authenticate_cancelled_and_refused() {
    tx().step(
        |m| m.authenticate("PLAIN", |_| None),
        &[
            c!("T1 AUTHENTICATE PLAIN"),
            s!("+ c2Vjb25k"),
            c!("*"),
            s!("T1 BAD AUTHENTICATE cancelled"),
        ],
        "Error: AUTHENTICATE command error: BAD [b'AUTHENTICATE cancelled']",
    )
    .state(State::NonAuth)
    .step(
        |m| m.authenticate("PLAIN", |_| Some(b"\0user\0bad".to_vec())),
        &[
            c!("T2 AUTHENTICATE PLAIN"),
            s!("+ "),
            c!("AHVzZXIAYmFk"),
            s!("T2 NO [AUTHENTICATIONFAILED] Invalid credentials"),
        ],
        // imaplib: `raise self.error(dat[-1].decode('utf-8', 'replace'))`.
        "Error: [AUTHENTICATIONFAILED] Invalid credentials",
    )
    .state(State::NonAuth)
    .verify();
}

#[test]
fn login_cram_md5() {
    // RFC 2195's example; the answer checked with Python's hmac.
    tx().step(
        |m| m.login_cram_md5("tim", "tanstaaftanstaaf"),
        &[
            c!("T1 AUTHENTICATE CRAM-MD5"),
            s!("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"),
            c!("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
            s!("T1 OK CRAM-MD5 authentication successful"),
        ],
        "('OK', [b'CRAM-MD5 authentication successful'])",
    )
    .state(State::Auth)
    .verify();
}

#[test]
fn logout_returns_bye() {
    let base = selected()
        .step(
            |m| m.logout(),
            &[
                c!("T3 LOGOUT"),
                s!(
                    "* BYE IMAP4rev1 Server logging out",
                    "T3 OK LOGOUT completed"
                ),
            ],
            "('BYE', [b'IMAP4rev1 Server logging out'])",
        )
        .state(State::Logout)
        .unread_tail()
        .verify();
    assert_eq!(base.shutdowns, 1, "logout shuts the transport down");
}

#[test]
fn logout_without_bye() {
    let base = tx()
        .step(
            |m| m.logout(),
            &[c!("T1 LOGOUT"), s!("T1 OK LOGOUT completed")],
            "('OK', [b'LOGOUT completed'])",
        )
        .state(State::Logout)
        .verify();
    assert_eq!(base.shutdowns, 1);
}

// ===== simple commands ========================================================

#[test]
fn noop_collects_untagged_data() {
    selected()
        .step(
            |m| m.noop(),
            &[
                c!("T3 NOOP"),
                s!(
                    "* 4 EXISTS",
                    "* 1 RECENT",
                    "* 2 EXPUNGE",
                    "T3 OK NOOP completed"
                ),
            ],
            "('OK', [b'NOOP completed'])",
        )
        // SELECT's EXISTS is kept, NOOP's appended.
        .step(|m| m.response("EXISTS"), &[], "('EXISTS', [b'3', b'4'])")
        .step(|m| m.response("EXPUNGE"), &[], "('EXPUNGE', [b'2'])")
        .step(|m| m.response("exists"), &[], "('exists', [None])")
        .step(
            |m| m.noop(),
            &[c!("T4 NOOP"), s!("+ idling", "T4 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| python_repr(m.continuation_response().map_or(&b""[..], |b| &b[..])),
            &[],
            "b'idling'",
        )
        .verify();
}

#[test]
fn status_responses_are_cleared_by_the_next_command() {
    let names = |m: &mut Imap4| {
        m.untagged_responses()
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    selected()
        .step(names, &[], "FLAGS EXISTS RECENT OK UIDVALIDITY READ-WRITE")
        .step(
            |m| m.noop(),
            &[
                c!("T3 NOOP"),
                s!("* NO [ALERT] disk full", "* BAD weird", "T3 OK done"),
            ],
            "('OK', [b'done'])",
        )
        .step(
            names,
            &[],
            "FLAGS EXISTS RECENT UIDVALIDITY READ-WRITE NO ALERT BAD",
        )
        // A tagged line ending in "{N}" announces no literal.
        .step(
            |m| m.noop(),
            &[c!("T4 NOOP"), s!("T4 NO Cannot parse {3}")],
            "('NO', [b'Cannot parse {3}'])",
        )
        .step(
            names,
            &[],
            "FLAGS EXISTS RECENT UIDVALIDITY READ-WRITE ALERT",
        )
        .verify();
}

#[test]
fn noop_in_every_state() {
    tx().step(
        |m| m.noop(),
        &[c!("T1 NOOP"), s!("T1 OK NOOP completed")],
        "('OK', [b'NOOP completed'])",
    )
    .state(State::NonAuth)
    .verify();
}

#[test]
fn check() {
    selected()
        .step(
            |m| m.check(),
            &[c!("T3 CHECK"), s!("T3 OK CHECK completed")],
            "('OK', [b'CHECK completed'])",
        )
        .verify();
    auth()
        .step(
            |m| m.check(),
            &[],
            "Error: command CHECK illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn close() {
    selected()
        .step(
            |m| m.close(),
            &[c!("T3 CLOSE"), s!("* 2 EXPUNGE", "T3 OK CLOSE completed")],
            "('OK', [b'CLOSE completed'])",
        )
        .state(State::Auth)
        .step(
            |m| m.close(),
            &[],
            "Error: command CLOSE illegal in state AUTH, only allowed in states SELECTED",
        )
        .state(State::Auth)
        .verify();
    // The state becomes AUTH whatever the outcome.
    selected()
        .step(
            |m| m.close(),
            &[c!("T3 CLOSE"), s!("T3 BAD No mailbox selected")],
            "Error: CLOSE command error: BAD [b'No mailbox selected']",
        )
        .state(State::Auth)
        .verify();
    selected()
        .step(
            |m| m.close(),
            &[c!("T3 CLOSE"), s!("T3 NO Failed")],
            "('NO', [b'Failed'])",
        )
        .state(State::Auth)
        .verify();
}

#[test]
fn unselect() {
    selected()
        .step(
            |m| m.unselect(),
            &[c!("T3 UNSELECT"), s!("T3 OK UNSELECT completed")],
            "('OK', [b'UNSELECT completed'])",
        )
        .state(State::Auth)
        .step(
            |m| m.unselect(),
            &[],
            "Error: command UNSELECT illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
    selected()
        .step(
            |m| m.unselect(),
            &[c!("T3 UNSELECT"), s!("T3 BAD Unknown command")],
            "Error: UNSELECT command error: BAD [b'Unknown command']",
        )
        .state(State::Auth)
        .verify();
}

#[test]
fn copy() {
    selected()
        .step(
            |m| m.copy("2:4", "Saved Mail"),
            &[
                c!(r#"T3 COPY 2:4 "Saved Mail""#),
                s!("T3 OK [COPYUID 38505 304,319:320 3956:3958] Done"),
            ],
            "('OK', [b'[COPYUID 38505 304,319:320 3956:3958] Done'])",
        )
        .step(
            |m| m.response("COPYUID"),
            &[],
            "('COPYUID', [b'38505 304,319:320 3956:3958'])",
        )
        .step(
            |m| m.copy("1", "Nonexistent"),
            &[
                c!("T4 COPY 1 Nonexistent"),
                s!("T4 NO [TRYCREATE] No such mailbox"),
            ],
            "('NO', [b'[TRYCREATE] No such mailbox'])",
        )
        .step(|m| m.response("TRYCREATE"), &[], "('TRYCREATE', [b''])")
        .verify();
    auth()
        .step(
            |m| m.copy("1", "x"),
            &[],
            "Error: command COPY illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn create_and_the_quoting_rules() {
    auth()
        .step(
            |m| m.create("INBOX.Sub-1_x"),
            &[c!("T2 CREATE INBOX.Sub-1_x"), s!("T2 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create("My Folder"),
            &[c!(r#"T3 CREATE "My Folder""#), s!("T3 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create(""),
            &[c!(r#"T4 CREATE """#), s!("T4 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create(r#""Already quoted""#),
            &[c!(r#"T5 CREATE "Already quoted""#), s!("T5 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create("(a b)"),
            &[c!("T6 CREATE (a b)"), s!("T6 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create(r#"a"b\c"#),
            &[c!(r#"T7 CREATE "a\"b\\c""#), s!("T7 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create("Work/2024"),
            &[c!(r#"T8 CREATE "Work/2024""#), s!("T8 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create("_!#$%&'*+,.:;<=>?^`|~-"),
            &[c!("T9 CREATE _!#$%&'*+,.:;<=>?^`|~-"), s!("T9 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create("[Gmail]"),
            &[c!(r#"T10 CREATE "[Gmail]""#), s!("T10 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.create("(unbalanced"),
            &[c!(r#"T11 CREATE "(unbalanced""#), s!("T11 OK done")],
            "('OK', [b'done'])",
        )
        // NUL: an error, nothing sent, no tag used.
        .step(
            |m| m.create("x\0y"),
            &[],
            "Error: argument contains a NUL byte, which IMAP cannot carry",
        )
        .state(State::Auth)
        .step(
            |m| m.create("x"),
            &[
                c!("T12 CREATE x"),
                s!("T12 BAD [CANNOT] Invalid mailbox name"),
            ],
            "Error: CREATE command error: BAD [b'[CANNOT] Invalid mailbox name']",
        )
        // Still usable after a BAD.
        .step(
            |m| m.create("y"),
            &[
                c!("T13 CREATE y"),
                s!("T13 NO [ALREADYEXISTS] Mailbox exists"),
            ],
            "('NO', [b'[ALREADYEXISTS] Mailbox exists'])",
        )
        .verify();
    tx().step(
        |m| m.create("x"),
        &[],
        "Error: command CREATE illegal in state NONAUTH, only allowed in states AUTH, SELECTED",
    )
    .verify();
}

#[test]
fn synchronizing_literals_wait_for_the_continuation() {
    selected()
        // CR or LF: a synchronizing literal, sent after the server's "+".
        .step(
            |m| m.create("a\r\nb"),
            &[
                c!("T3 CREATE {4}"),
                s!("+ Ready for literal data"),
                c!("a", "b"),
                s!("T3 OK done"),
            ],
            "('OK', [b'done'])",
        )
        // Even in parentheses.
        .step(
            |m| m.create("(a\nb)"),
            &[
                c!("T4 CREATE {5}"),
                s!("+ go"),
                c_raw(b"(a\nb)\r\n"),
                s!("T4 OK done"),
            ],
            "('OK', [b'done'])",
        )
        // 8-bit data: a literal too (outside UTF-8 mode).
        .step(
            |m| m.create("café"),
            &[
                c!("T5 CREATE {5}"),
                s!("+ go"),
                c!("café"),
                s!("T5 OK done"),
            ],
            "('OK', [b'done'])",
        )
        // Two literals in one command, each after its own "+".
        .step(
            |m| m.search(None, &["SUBJECT", "café", "FROM", "é"]),
            &[
                c!("T6 SEARCH SUBJECT {5}"),
                s!("+ go"),
                c!("café FROM {2}"),
                s!("+ go on"),
                c!("é"),
                s!("* SEARCH 4", "T6 OK done"),
            ],
            "('OK', [b'4'])",
        )
        // A mailbox name as a literal, both ways.
        .step(
            |m| m.status("café", "(MESSAGES)"),
            &[
                c!("T7 STATUS {5}"),
                s!("+ go"),
                c!("café (MESSAGES)"),
                s!("* STATUS {5}", "café (MESSAGES 1)", "T7 OK done"),
            ],
            r"('OK', [(b'{5}', b'caf\xc3\xa9'), b' (MESSAGES 1)'])",
        )
        .verify();
}

#[test]
fn literal_plus_does_not_wait() {
    tx_caps("IMAP4rev1 LITERAL+")
        .login()
        .step(
            |m| m.create("a\nb"),
            &[c_raw(b"T2 CREATE {3+}\r\na\nb\r\n"), s!("T2 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.append("INBOX", None, None, b"hi\n"),
            &[
                c_raw(b"T3 APPEND INBOX {4+}\r\nhi\r\n\r\n"),
                s!("T3 OK done"),
            ],
            "('OK', [b'done'])",
        )
        .verify();
    tx_caps("IMAP4rev1 LITERAL-")
        .login()
        .step(
            |m| m.create("a\nb"),
            &[c_raw(b"T2 CREATE {3+}\r\na\nb\r\n"), s!("T2 OK done")],
            "('OK', [b'done'])",
        )
        .verify();
}

#[test]
fn literal_minus_waits_above_4096_bytes() {
    let big = vec![b'x'; 4097];
    let mut lit = big.clone();
    lit.extend_from_slice(b"\r\n");
    tx_caps("IMAP4rev1 LITERAL-")
        .login()
        .step(
            move |m| m.append("INBOX", None, None, &big),
            &[
                c!("T2 APPEND INBOX {4097}"),
                s!("+ go"),
                Ev::C(lit),
                s!("T2 OK done"),
            ],
            "('OK', [b'done'])",
        )
        .verify();
}

#[test]
fn delete_rename_subscribe_unsubscribe() {
    auth()
        .step(
            |m| m.delete("Old Stuff"),
            &[c!(r#"T2 DELETE "Old Stuff""#), s!("T2 OK DELETE completed")],
            "('OK', [b'DELETE completed'])",
        )
        .step(
            |m| m.delete("INBOX"),
            &[c!("T3 DELETE INBOX"), s!("T3 NO Cannot delete INBOX")],
            "('NO', [b'Cannot delete INBOX'])",
        )
        .step(
            |m| m.rename("Old", "New Name"),
            &[
                c!(r#"T4 RENAME Old "New Name""#),
                s!("T4 OK RENAME completed"),
            ],
            "('OK', [b'RENAME completed'])",
        )
        .step(
            |m| m.subscribe("#news.comp"),
            &[
                c!("T5 SUBSCRIBE #news.comp"),
                s!("T5 OK SUBSCRIBE completed"),
            ],
            "('OK', [b'SUBSCRIBE completed'])",
        )
        .step(
            |m| m.unsubscribe("a b"),
            &[
                c!(r#"T6 UNSUBSCRIBE "a b""#),
                s!("T6 OK UNSUBSCRIBE completed"),
            ],
            "('OK', [b'UNSUBSCRIBE completed'])",
        )
        .select()
        // All of them are legal when a mailbox is selected, too.
        .step(
            |m| m.subscribe("x"),
            &[c!("T8 SUBSCRIBE x"), s!("T8 OK done")],
            "('OK', [b'done'])",
        )
        .verify();
    tx().step(
        |m| m.rename("a", "b"),
        &[],
        "Error: command RENAME illegal in state NONAUTH, only allowed in states AUTH, SELECTED",
    )
    .step(
        |m| m.unsubscribe("a"),
        &[],
        "Error: command UNSUBSCRIBE illegal in state NONAUTH, only allowed in states AUTH, SELECTED",
    )
    .verify();
}

#[test]
fn acl_commands() {
    auth()
        .step(
            |m| m.setacl("INBOX", "fred", "+lrs"),
            &[
                c!("T2 SETACL INBOX fred +lrs"),
                s!("T2 OK SETACL completed"),
            ],
            "('OK', [b'SETACL completed'])",
        )
        .step(
            |m| m.getacl("INBOX"),
            &[
                c!("T3 GETACL INBOX"),
                s!(
                    "* ACL INBOX fred lrs owner lrswipkxtecda",
                    "T3 OK GETACL completed"
                ),
            ],
            "('OK', [b'INBOX fred lrs owner lrswipkxtecda'])",
        )
        .step(
            |m| m.myrights("My Box"),
            &[
                c!(r#"T4 MYRIGHTS "My Box""#),
                s!(r#"* MYRIGHTS "My Box" lrs"#, "T4 OK MYRIGHTS completed"),
            ],
            r#"('OK', [b'"My Box" lrs'])"#,
        )
        .step(
            |m| m.deleteacl("INBOX", "fred"),
            &[
                c!("T5 DELETEACL INBOX fred"),
                s!("T5 OK DELETEACL completed"),
            ],
            "('OK', [b'DELETEACL completed'])",
        )
        .step(
            |m| m.getacl("Other"),
            &[c!("T6 GETACL Other"), s!("T6 NO Permission denied")],
            "('NO', [b'Permission denied'])",
        )
        .step(
            |m| m.getacl("Empty"),
            &[c!("T7 GETACL Empty"), s!("T7 OK done")],
            "('OK', [None])",
        )
        .verify();
}

#[test]
fn annotations() {
    auth()
        .step(
            |m| m.getannotation("INBOX", "/comment", "value.priv"),
            &[
                c!(r#"T2 GETANNOTATION INBOX "/comment" value.priv"#),
                s!(
                    r#"* ANNOTATION INBOX "/comment" ("value.priv" "My comment")"#,
                    "T2 OK GETANNOTATION completed"
                ),
            ],
            r#"('OK', [b'INBOX "/comment" ("value.priv" "My comment")'])"#,
        )
        .step(
            |m| m.setannotation("INBOX", &[r#""/comment""#, r#"("value.priv" "New")"#]),
            &[
                c!(r#"T3 SETANNOTATION INBOX "/comment" ("value.priv" "New")"#),
                s!("T3 OK SETANNOTATION completed"),
            ],
            "('OK', [None])",
        )
        .step(
            |m| m.setannotation("INBOX", &[r#""/comment""#, r#"("value.priv" NIL)"#]),
            &[
                c!(r#"T4 SETANNOTATION INBOX "/comment" ("value.priv" NIL)"#),
                s!(
                    r#"* ANNOTATION INBOX "/comment" ("value.priv" NIL)"#,
                    "T4 OK done"
                ),
            ],
            r#"('OK', [b'INBOX "/comment" ("value.priv" NIL)'])"#,
        )
        .verify();
}

#[test]
fn quota_commands() {
    auth()
        .step(
            |m| m.getquota(r#""""#),
            &[
                c!(r#"T2 GETQUOTA """#),
                s!(r#"* QUOTA "" (STORAGE 10 512)"#, "T2 OK Getquota completed"),
            ],
            r#"('OK', [b'"" (STORAGE 10 512)'])"#,
        )
        .step(
            |m| m.setquota(r#""""#, "(STORAGE 512)"),
            &[
                c!(r#"T3 SETQUOTA "" (STORAGE 512)"#),
                s!(r#"* QUOTA "" (STORAGE 10 512)"#, "T3 OK Setquota completed"),
            ],
            r#"('OK', [b'"" (STORAGE 10 512)'])"#,
        )
        .step(
            |m| m.getquotaroot("INBOX"),
            &[
                c!("T4 GETQUOTAROOT INBOX"),
                s!(
                    r#"* QUOTAROOT INBOX """#,
                    r#"* QUOTA "" (STORAGE 10 512)"#,
                    "T4 OK Getquotaroot completed"
                ),
            ],
            r#"('OK', [[b'INBOX ""'], [b'"" (STORAGE 10 512)']])"#,
        )
        .step(
            |m| m.getquotaroot("Other"),
            &[c!("T5 GETQUOTAROOT Other"), s!("T5 NO No such mailbox")],
            "('NO', [[b'No such mailbox'], [b'No such mailbox']])",
        )
        .step(
            |m| m.getquotaroot("Free"),
            &[
                c!("T6 GETQUOTAROOT Free"),
                s!("* QUOTAROOT Free", "T6 OK done"),
            ],
            "('OK', [[b'Free'], [None]])",
        )
        .verify();
}

#[test]
fn namespace() {
    auth()
        .step(
            |m| m.namespace(),
            &[
                c!("T2 NAMESPACE"),
                s!(
                    r##"* NAMESPACE (("" "/")) NIL (("#shared/" "/"))"##,
                    "T2 OK NAMESPACE completed"
                ),
            ],
            r##"('OK', [b'(("" "/")) NIL (("#shared/" "/"))'])"##,
        )
        .verify();
}

#[test]
fn status() {
    auth()
        .step(
            |m| m.status("My Box", "(MESSAGES UNSEEN UIDNEXT)"),
            &[
                c!(r#"T2 STATUS "My Box" (MESSAGES UNSEEN UIDNEXT)"#),
                s!(
                    r#"* STATUS "My Box" (MESSAGES 3 UNSEEN 1 UIDNEXT 44)"#,
                    "T2 OK STATUS completed"
                ),
            ],
            r#"('OK', [b'"My Box" (MESSAGES 3 UNSEEN 1 UIDNEXT 44)'])"#,
        )
        .verify();
}

#[test]
fn list_and_lsub() {
    auth()
        .step(
            |m| m.list(r#""""#, "*"),
            &[
                c!(r#"T2 LIST "" *"#),
                s!(
                    r#"* LIST (\HasNoChildren) "/" INBOX"#,
                    r#"* LIST (\HasChildren) "/" "My Box""#,
                    r#"* LIST () "/" {11}"#,
                    r#"My "Folder""#,
                    "T2 OK LIST completed"
                ),
            ],
            r#"('OK', [b'(\\HasNoChildren) "/" INBOX', b'(\\HasChildren) "/" "My Box"', (b'() "/" {11}', b'My "Folder"'), b''])"#,
        )
        .step(
            |m| m.list("", "Work/%"),
            &[c!(r#"T3 LIST "" "Work/%""#), s!("T3 OK LIST completed")],
            "('OK', [None])",
        )
        .step(
            |m| m.lsub(r#""""#, "*"),
            &[
                c!(r#"T4 LSUB "" *"#),
                s!(r#"* LSUB () "." #news.comp.mail.misc"#, "T4 OK LSUB completed"),
            ],
            r#"('OK', [b'() "." #news.comp.mail.misc'])"#,
        )
        .step(
            |m| m.lsub("", "%"),
            &[c!(r#"T5 LSUB "" %"#), s!("T5 NO Not now")],
            "('NO', [b'Not now'])",
        )
        .verify();
}

#[test]
fn proxyauth() {
    auth()
        .step(
            |m| m.proxyauth("bob"),
            &[c!("T2 PROXYAUTH bob"), s!("T2 OK PROXYAUTH completed")],
            "('OK', [b'PROXYAUTH completed'])",
        )
        .select()
        .step(
            |m| m.proxyauth("bob"),
            &[],
            "Error: command PROXYAUTH illegal in state SELECTED, only allowed in states AUTH",
        )
        .verify();
}

#[test]
fn enable() {
    auth()
        .step(
            |m| m.enable("CONDSTORE"),
            &[],
            "Error: Server does not support ENABLE",
        )
        .verify();
    tx_caps("IMAP4rev1 ENABLE UTF8=ACCEPT")
        .login()
        .step(
            |m| m.enable("CONDSTORE"),
            &[
                c!("T2 ENABLE CONDSTORE"),
                s!("* ENABLED CONDSTORE", "T2 OK Enabled"),
            ],
            "('OK', [b'Enabled'])",
        )
        .step(
            |m| m.response("ENABLED"),
            &[],
            "('ENABLED', [b'CONDSTORE'])",
        )
        .step(
            |m| m.enable("UTF8=ACCEPT"),
            &[
                c!("T3 ENABLE UTF8=ACCEPT"),
                s!("* ENABLED UTF8=ACCEPT", "T3 OK Enabled"),
            ],
            "('OK', [b'Enabled'])",
        )
        // UTF-8 mode: 8-bit arguments are quoted, not sent as literals.
        .step(
            |m| m.create("café"),
            &[c!(r#"T4 CREATE "café""#), s!("T4 OK done")],
            "('OK', [b'done'])",
        )
        .select()
        .step(
            |m| m.search(Some("UTF-8"), &["ALL"]),
            &[],
            "Error: Non-None charset not valid in UTF8 mode",
        )
        .step(
            |m| m.search(None, &["SUBJECT", "café"]),
            &[
                c!(r#"T6 SEARCH SUBJECT "café""#),
                s!("* SEARCH 2", "T6 OK done"),
            ],
            "('OK', [b'2'])",
        )
        .step(
            |m| m.enable("CONDSTORE"),
            &[],
            "Error: command ENABLE illegal in state SELECTED, only allowed in states AUTH",
        )
        .verify();
}

// ===== the selected state ====================================================

#[test]
fn select_and_examine() {
    auth()
        .select()
        .step(|m| m.response("EXISTS"), &[], "('EXISTS', [b'3'])")
        .step(
            |m| m.response("FLAGS"),
            &[],
            r"('FLAGS', [b'(\\Answered \\Seen)'])",
        )
        .step(
            |m| m.response("uidvalidity"),
            &[],
            "('uidvalidity', [b'7'])",
        )
        .step(|m| m.response("READ-WRITE"), &[], "('READ-WRITE', [b''])")
        .step(|m| m.is_readonly().to_string(), &[], "false")
        .step(
            |m| m.select("My Box", true),
            &[
                c!(r#"T3 EXAMINE "My Box""#),
                s!(
                    "* FLAGS ()",
                    "* 0 EXISTS",
                    "T3 OK [READ-ONLY] EXAMINE completed"
                ),
            ],
            "('OK', [b'0'])",
        )
        .state(State::Selected)
        .mixed("('OK', [b'5', b'0'])")
        .step(|m| m.is_readonly().to_string(), &[], "true")
        // READ-ONLY was asked for: commands go on.
        .step(
            |m| m.noop(),
            &[c!("T4 NOOP"), s!("T4 OK done")],
            "('OK', [b'done'])",
        )
        // SELECT flushed what came before.
        .step(
            |m| m.response("UIDVALIDITY"),
            &[],
            "('UIDVALIDITY', [None])",
        )
        .step(
            |m| m.select("Missing", false),
            &[c!("T5 SELECT Missing"), s!("T5 NO Mailbox does not exist")],
            "('NO', [b'Mailbox does not exist'])",
        )
        .state(State::Auth)
        .step(
            |m| m.select("INBOX", false),
            &[c!("T6 SELECT INBOX"), s!("T6 OK done")],
            "('OK', [None])",
        )
        .state(State::Selected)
        .mixed("('OK', [b'5'])")
        .step(
            |m| m.select("INBOX", false),
            &[c!("T7 SELECT INBOX"), s!("T7 BAD Huh")],
            "Error: SELECT command error: BAD [b'Huh']",
        )
        .verify();
    tx().step(
        |m| m.select("INBOX", false),
        &[],
        "Error: command SELECT illegal in state NONAUTH, only allowed in states AUTH, SELECTED",
    )
    .step(
        |m| m.select("INBOX", true),
        &[],
        "Error: command EXAMINE illegal in state NONAUTH, only allowed in states AUTH, SELECTED",
    )
    .verify();
}

#[test]
fn select_read_only_is_a_readonly_error() {
    auth()
        .step(
            |m| m.select("INBOX", false),
            &[
                c!("T2 SELECT INBOX"),
                s!("* 2 EXISTS", "T2 OK [READ-ONLY] SELECT completed"),
            ],
            "ReadOnly: INBOX is not writable",
        )
        .state(State::Selected)
        // Every later command: readonly, nothing sent.
        .step(
            |m| m.noop(),
            &[],
            "ReadOnly: mailbox status changed to READ-ONLY",
        )
        // Until the mailbox is selected again, read-only.
        .step(
            |m| m.select("INBOX", true),
            &[
                c!("T3 EXAMINE INBOX"),
                s!("* 2 EXISTS", "T3 OK [READ-ONLY] EXAMINE completed"),
            ],
            "('OK', [b'2'])",
        )
        .mixed("('OK', [b'5', b'2'])")
        .verify();
    // The mailbox becoming read-only later.
    selected()
        .step(
            |m| m.noop(),
            &[
                c!("T3 NOOP"),
                s!("* OK [READ-ONLY] Mailbox is now read-only", "T3 OK done"),
            ],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.fetch("1", "(FLAGS)"),
            &[],
            "ReadOnly: mailbox status changed to READ-ONLY",
        )
        .verify();
}

#[test]
fn recent() {
    selected()
        // SELECT's "* 0 RECENT": b'0' is true in Python, no I/O.
        .step(|m| m.recent(), &[], "('OK', [b'0'])")
        // Taken: now a NOOP prompts for it.
        .step(
            |m| m.recent(),
            &[c!("T3 NOOP"), s!("* 2 RECENT", "* 3 RECENT", "T3 OK done")],
            "('OK', [b'2', b'3'])",
        )
        .step(
            |m| m.recent(),
            &[c!("T4 NOOP"), s!("T4 OK done")],
            "('OK', [None])",
        )
        .step(
            |m| m.recent(),
            &[c!("T5 NOOP"), s!("T5 NO Not now")],
            "('NO', [b'Not now'])",
        )
        .verify();
    // RECENT is not state-checked in imaplib: NOOP is legal everywhere.
    tx().step(
        |m| m.recent(),
        &[c!("T1 NOOP"), s!("* 1 RECENT", "T1 OK done")],
        "('OK', [b'1'])",
    )
    .verify();
}

#[test]
fn expunge() {
    selected()
        .step(
            |m| m.expunge(),
            &[
                c!("T3 EXPUNGE"),
                s!(
                    "* 3 EXPUNGE",
                    "* 3 EXPUNGE",
                    "* 5 EXPUNGE",
                    "T3 OK EXPUNGE completed"
                ),
            ],
            "('OK', [b'3', b'3', b'5'])",
        )
        .step(
            |m| m.expunge(),
            &[c!("T4 EXPUNGE"), s!("T4 OK EXPUNGE completed")],
            "('OK', [None])",
        )
        .step(
            |m| m.expunge(),
            &[
                c!("T5 EXPUNGE"),
                s!("* 1 EXPUNGE", "T5 NO Permission denied"),
            ],
            "('NO', [b'Permission denied'])",
        )
        .step(|m| m.response("EXPUNGE"), &[], "('EXPUNGE', [b'1'])")
        .verify();
    auth()
        .step(
            |m| m.expunge(),
            &[],
            "Error: command EXPUNGE illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn fetch() {
    selected()
        .step(
            |m| m.fetch("1", "(UID RFC822.SIZE)"),
            &[
                c!("T3 FETCH 1 (UID RFC822.SIZE)"),
                s!("* 1 FETCH (UID 41 RFC822.SIZE 44827)", "T3 OK FETCH completed"),
            ],
            "('OK', [b'1 (UID 41 RFC822.SIZE 44827)'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', b'1 (UID 41 RFC822.SIZE 44827)'])")
        // A literal whose body looks like responses, even this command's
        // tagged one.
        .step(
            |m| m.fetch("2", "(RFC822)"),
            &[
                c!("T4 FETCH 2 (RFC822)"),
                s!(
                    "* 2 FETCH (RFC822 {39}",
                    "Subject: hi",
                    "",
                    "T4 OK fake",
                    "* BYE fake",
                    ")",
                    "T4 OK FETCH completed"
                ),
            ],
            r"('OK', [(b'2 (RFC822 {39}', b'Subject: hi\r\n\r\nT4 OK fake\r\n* BYE fake\r\n'), b')'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', (b'2 (RFC822 {39}', b'Subject: hi\r\n\r\nT4 OK fake\r\n* BYE fake\r\n'), b')'])")
        // Several literals in one response, several messages, an empty
        // literal.
        .step(
            |m| m.fetch("1:2", "(BODY[HEADER] BODY[TEXT])"),
            &[
                c!("T5 FETCH 1:2 (BODY[HEADER] BODY[TEXT])"),
                s!(
                    "* 1 FETCH (BODY[HEADER] {3}",
                    "abc BODY[TEXT] {2}",
                    "xy)",
                    "* 2 FETCH (BODY[HEADER] {0}",
                    " BODY[TEXT] {4}",
                    "wxyz)",
                    "T5 OK FETCH completed"
                ),
            ],
            "('OK', [(b'1 (BODY[HEADER] {3}', b'abc'), (b' BODY[TEXT] {2}', b'xy'), b')', \
             (b'2 (BODY[HEADER] {0}', b''), (b' BODY[TEXT] {4}', b'wxyz'), b')'])",
        )
        .mixed(
            r"('OK', [b'1 (FLAGS (\\Seen))', (b'1 (BODY[HEADER] {3}', b'abc'), (b' BODY[TEXT] {2}', b'xy'), b')', (b'2 (BODY[HEADER] {0}', b''), (b' BODY[TEXT] {4}', b'wxyz'), b')'])",
        )
        .step(
            |m| m.fetch("1:*", "FLAGS"),
            &[
                c!("T6 FETCH 1:* FLAGS"),
                s!(
                    r"* 1 FETCH (FLAGS (\Answered))",
                    "* 2 FETCH (FLAGS ())",
                    "T6 OK done"
                ),
            ],
            r"('OK', [b'1 (FLAGS (\\Answered))', b'2 (FLAGS ())'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', b'1 (FLAGS (\\Answered))', b'2 (FLAGS ())'])")
        .step(
            |m| m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"),
            &[
                c!("T7 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"),
                s!(
                    "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {13}",
                    "Subject: hi",
                    ")",
                    "T7 OK done"
                ),
            ],
            r"('OK', [(b'1 (BODY[HEADER.FIELDS (SUBJECT)] {13}', b'Subject: hi\r\n'), b')'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', (b'1 (BODY[HEADER.FIELDS (SUBJECT)] {13}', b'Subject: hi\r\n'), b')'])")
        // NO: the tagged data; untagged FETCH data stays collected.
        .step(
            |m| m.fetch("9", "(FLAGS)"),
            &[
                c!("T8 FETCH 9 (FLAGS)"),
                s!("T8 NO Invalid message sequence number")
            ],
            "('NO', [b'Invalid message sequence number'])",
        )
        .step(
            |m| m.fetch("1", "(UID)"),
            &[c!("T9 FETCH 1 (UID)"), s!("T9 OK done")],
            "('OK', [None])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))'])")
        .verify();
    auth()
        .step(
            |m| m.fetch("1", "(FLAGS)"),
            &[],
            "Error: command FETCH illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn partial() {
    selected()
        .step(
            |m| m.partial("1", "RFC822", 0, 10),
            &[
                c!("T3 PARTIAL 1 RFC822 0 10"),
                s!("* 1 FETCH (RFC822<0> {10}", "0123456789)", "T3 OK done"),
            ],
            "('OK', [(b'1 (RFC822<0> {10}', b'0123456789'), b')'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', (b'1 (RFC822<0> {10}', b'0123456789'), b')'])")
        .verify();
    auth()
        .step(
            |m| m.partial("1", "RFC822", 0, 10),
            &[],
            "Error: command PARTIAL illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn search() {
    selected()
        .step(
            |m| m.search(None, &["ALL"]),
            &[
                c!("T3 SEARCH ALL"),
                s!("* SEARCH 2 3 6", "T3 OK SEARCH completed"),
            ],
            "('OK', [b'2 3 6'])",
        )
        .step(
            |m| m.search(Some("UTF-8"), &["SUBJECT", "hello world"]),
            &[
                c!(r#"T4 SEARCH CHARSET UTF-8 SUBJECT "hello world""#),
                s!("* SEARCH", "T4 OK SEARCH completed"),
            ],
            "('OK', [b''])",
        )
        .step(
            |m| m.search(Some(""), &["(OR SEEN FLAGGED)", "SINCE", "1-Feb-1994"]),
            &[
                c!("T5 SEARCH (OR SEEN FLAGGED) SINCE 1-Feb-1994"),
                s!("* SEARCH 1", "T5 OK done"),
            ],
            "('OK', [b'1'])",
        )
        .step(
            |m| m.search(None, &["FROM", r#""Bob""#]),
            &[c!(r#"T6 SEARCH FROM "Bob""#), s!("T6 OK done")],
            "('OK', [None])",
        )
        .step(
            |m| m.search(Some("X-UNKNOWN"), &["ALL"]),
            &[
                c!("T7 SEARCH CHARSET X-UNKNOWN ALL"),
                s!("T7 NO [BADCHARSET (UTF-8)] Unknown charset"),
            ],
            "('NO', [b'[BADCHARSET (UTF-8)] Unknown charset'])",
        )
        .step(
            |m| m.response("BADCHARSET"),
            &[],
            "('BADCHARSET', [b'(UTF-8)'])",
        )
        .verify();
    auth()
        .step(
            |m| m.search(None, &["ALL"]),
            &[],
            "Error: command SEARCH illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn sort_and_thread() {
    selected()
        .step(
            |m| m.sort("REVERSE DATE", "UTF-8", &["ALL"]),
            &[
                c!("T3 SORT (REVERSE DATE) UTF-8 ALL"),
                s!("* SORT 5 3 4 1 2", "T3 OK SORT completed"),
            ],
            "('OK', [b'5 3 4 1 2'])",
        )
        .step(
            |m| m.sort("(SUBJECT)", "US-ASCII", &["SINCE", "1-Feb-1994"]),
            &[
                c!("T4 SORT (SUBJECT) US-ASCII SINCE 1-Feb-1994"),
                s!("* SORT", "T4 OK SORT completed"),
            ],
            "('OK', [b''])",
        )
        .step(
            |m| m.thread("REFERENCES", "UTF-8", &["ALL"]),
            &[
                c!("T5 THREAD REFERENCES UTF-8 ALL"),
                s!(
                    "* THREAD (2)(3 6 (4 23)(44 7 96))",
                    "T5 OK THREAD completed"
                ),
            ],
            "('OK', [b'(2)(3 6 (4 23)(44 7 96))'])",
        )
        .step(
            |m| m.thread("ORDEREDSUBJECT", "UTF-8", &["SUBJECT", "a b"]),
            &[
                c!(r#"T6 THREAD ORDEREDSUBJECT UTF-8 SUBJECT "a b""#),
                s!("T6 NO Not supported"),
            ],
            "('NO', [b'Not supported'])",
        )
        .verify();
    auth()
        .step(
            |m| m.sort("DATE", "UTF-8", &["ALL"]),
            &[],
            "Error: command SORT illegal in state AUTH, only allowed in states SELECTED",
        )
        .step(
            |m| m.thread("REFERENCES", "UTF-8", &["ALL"]),
            &[],
            "Error: command THREAD illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn store() {
    selected()
        .step(
            |m| m.store("1:2", "+FLAGS", r"\Deleted"),
            &[
                c!(r"T3 STORE 1:2 +FLAGS (\Deleted)"),
                s!(
                    r"* 1 FETCH (FLAGS (\Deleted))",
                    r"* 2 FETCH (FLAGS (\Deleted \Seen))",
                    "T3 OK STORE completed"
                ),
            ],
            r"('OK', [b'1 (FLAGS (\\Deleted))', b'2 (FLAGS (\\Deleted \\Seen))'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', b'1 (FLAGS (\\Deleted))', b'2 (FLAGS (\\Deleted \\Seen))'])")
        .step(
            |m| m.store("3", "-FLAGS.SILENT", r"(\Seen \Flagged)"),
            &[
                c!(r"T4 STORE 3 -FLAGS.SILENT (\Seen \Flagged)"),
                s!("T4 OK STORE completed"),
            ],
            "('OK', [None])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))'])")
        .step(
            |m| m.store("9", "+FLAGS", r"\Seen"),
            &[c!(r"T5 STORE 9 +FLAGS (\Seen)"), s!("T5 NO No such message")],
            "('NO', [b'No such message'])",
        )
        .verify();
    auth()
        .step(
            |m| m.store("1", "+FLAGS", r"\Seen"),
            &[],
            "Error: command STORE illegal in state AUTH, only allowed in states SELECTED",
        )
        .verify();
}

#[test]
fn uid() {
    selected()
        .step(
            |m| m.uid("fetch", &["1:*", "(UID FLAGS)"]),
            &[
                c!("T3 UID FETCH 1:* (UID FLAGS)"),
                s!(
                    "* 1 FETCH (UID 4 FLAGS ())",
                    r"* 2 FETCH (UID 7 FLAGS (\Answered))",
                    "T3 OK UID FETCH completed"
                ),
            ],
            r"('OK', [b'1 (UID 4 FLAGS ())', b'2 (UID 7 FLAGS (\\Answered))'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', b'1 (UID 4 FLAGS ())', b'2 (UID 7 FLAGS (\\Answered))'])")
        .step(
            |m| m.uid("SEARCH", &["UID", "5:*"]),
            &[
                c!("T4 UID SEARCH UID 5:*"),
                s!("* SEARCH 7", "T4 OK UID SEARCH completed"),
            ],
            "('OK', [b'7'])",
        )
        .step(
            |m| m.uid("STORE", &["7", "+FLAGS", r"(\Seen)"]),
            &[
                c!(r"T5 UID STORE 7 +FLAGS (\Seen)"),
                s!(
                    r"* 2 FETCH (UID 7 FLAGS (\Seen \Answered))",
                    "T5 OK UID STORE completed"
                ),
            ],
            r"('OK', [b'2 (UID 7 FLAGS (\\Seen \\Answered))'])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))', b'2 (UID 7 FLAGS (\\Seen \\Answered))'])")
        .step(
            |m| m.uid("COPY", &["4:7", "Archive"]),
            &[
                c!("T6 UID COPY 4:7 Archive"),
                s!("T6 OK [COPYUID 9 4,7 1:2] UID COPY completed"),
            ],
            "('OK', [None])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))'])")
        .step(|m| m.response("COPYUID"), &[], "('COPYUID', [b'9 4,7 1:2'])")
        .step(
            |m| m.uid("SORT", &["(DATE)", "UTF-8", "ALL"]),
            &[
                c!("T7 UID SORT (DATE) UTF-8 ALL"),
                s!("* SORT 7 4", "T7 OK UID SORT completed"),
            ],
            "('OK', [b'7 4'])",
        )
        .step(
            |m| m.uid("THREAD", &["ORDEREDSUBJECT", "UTF-8", "ALL"]),
            &[
                c!("T8 UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
                s!("* THREAD (4)(7)", "T8 OK UID THREAD completed"),
            ],
            "('OK', [b'(4)(7)'])",
        )
        .step(
            |m| m.uid("MOVE", &["4", "Trash"]),
            &[
                c!("T9 UID MOVE 4 Trash"),
                s!("* OK [COPYUID 9 4 3] Moved", "* 1 EXPUNGE", "T9 OK Done"),
            ],
            "('OK', [None])",
        )
        .mixed(r"('OK', [b'1 (FLAGS (\\Seen))'])")
        .step(|m| m.response("EXPUNGE"), &[], "('EXPUNGE', [b'1'])")
        .step(
            |m| m.uid("FOO", &["1"]),
            &[],
            "Error: Unknown IMAP4 UID command: FOO",
        )
        .step(
            |m| m.uid("SEARCH", &["ALL"]),
            &[c!("T10 UID SEARCH ALL"), s!("T10 BAD Bad syntax")],
            "Error: UID command error: BAD [b'Bad syntax']",
        )
        .verify();
    auth()
        .step(
            |m| m.uid("FETCH", &["1", "(FLAGS)"]),
            &[],
            "Error: command FETCH illegal in state AUTH, only allowed in states SELECTED",
        )
        .step(
            |m| m.uid("foo", &[]),
            &[],
            "Error: Unknown IMAP4 UID command: FOO",
        )
        .verify();
}

#[test]
fn xatom() {
    auth()
        .step(
            |m| m.xatom("xlist", &[r#""""#, "*"]),
            &[
                c!(r#"T2 XLIST "" *"#),
                s!(
                    r#"* XLIST (\HasNoChildren \Inbox) "/" Inbox"#,
                    "T2 OK XLIST completed"
                ),
            ],
            "('OK', [b'XLIST completed'])",
        )
        .step(
            |m| m.response("XLIST"),
            &[],
            r#"('XLIST', [b'(\\HasNoChildren \\Inbox) "/" Inbox'])"#,
        )
        .step(
            |m| m.xatom("ID", &[r#"("name" "imap4")"#, "a b"]),
            &[
                c!(r#"T3 ID ("name" "imap4") "a b""#),
                s!(r#"* ID ("name" "Dovecot")"#, "T3 OK ID completed"),
            ],
            "('OK', [b'ID completed'])",
        )
        .step(
            |m| m.response("ID"),
            &[],
            r#"('ID', [b'("name" "Dovecot")'])"#,
        )
        .select()
        // An unknown command is allowed only in the state it was first used in.
        .step(
            |m| m.xatom("XLIST", &[r#""""#, "%"]),
            &[],
            "Error: command XLIST illegal in state SELECTED, only allowed in states AUTH",
        )
        // A known one follows the table.
        .step(
            |m| m.xatom("check", &[]),
            &[c!("T5 CHECK"), s!("T5 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.xatom("ENABLE", &["X"]),
            &[],
            "Error: command ENABLE illegal in state SELECTED, only allowed in states AUTH",
        )
        .step(
            |m| m.xatom("XFOO", &[]),
            &[c!("T6 XFOO"), s!("T6 BAD Unknown command")],
            "Error: XFOO command error: BAD [b'Unknown command']",
        )
        .verify();
}

#[test]
fn response_has_no_io() {
    selected()
        .step(
            |m| m.response("FLAGS"),
            &[],
            r"('FLAGS', [b'(\\Answered \\Seen)'])",
        )
        .step(|m| m.response("FLAGS"), &[], "('FLAGS', [None])")
        .step(
            |m| m.response("ok"),
            &[],
            "('ok', [b'[UIDVALIDITY 7] UIDs valid'])",
        )
        .step(|m| m.response("NOTHING"), &[], "('NOTHING', [None])")
        .verify();
}

// ===== appending =============================================================

#[test]
fn append() {
    auth()
        .step(
            |m| {
                m.append(
                    "",
                    Some(r"\Seen \Flagged"),
                    Some(r#""01-Jan-2020 10:00:00 +0000""#),
                    b"Subject: hi\n\nbody\n",
                )
            },
            &[
                c!(r#"T2 APPEND INBOX (\Seen \Flagged) "01-Jan-2020 10:00:00 +0000" {21}"#),
                s!("+ Ready for literal data"),
                c!("Subject: hi", "", "body", ""),
                s!("T2 OK [APPENDUID 38505 3955] APPEND completed"),
            ],
            "('OK', [b'[APPENDUID 38505 3955] APPEND completed'])",
        )
        .step(
            |m| m.response("APPENDUID"),
            &[],
            "('APPENDUID', [b'38505 3955'])",
        )
        // Untagged data before the continuation request; bare CR and LF.
        .step(
            |m| m.append("Drafts", Some(r"(\Draft)"), None, b"a\rb\r\nc"),
            &[
                c!(r"T3 APPEND Drafts (\Draft) {7}"),
                s!("* 3 EXISTS", "+ go"),
                c!("a", "b", "c"),
                s!("T3 OK done"),
            ],
            "('OK', [b'done'])",
        )
        .step(|m| m.response("EXISTS"), &[], "('EXISTS', [b'3'])")
        .step(
            |m| m.append("My Box", Some(""), Some("01-Jan-2020 10:00:00 +0000"), b"x"),
            &[
                c!(r#"T4 APPEND "My Box" "01-Jan-2020 10:00:00 +0000" {1}"#),
                s!("+ go"),
                c!("x"),
                s!("T4 OK done"),
            ],
            "('OK', [b'done'])",
        )
        // Refused instead of "+": the literal is never sent.
        .step(
            |m| m.append("Nope", None, None, b"x"),
            &[
                c!("T5 APPEND Nope {1}"),
                s!("T5 NO [TRYCREATE] Mailbox doesn't exist"),
            ],
            r#"('NO', [b"[TRYCREATE] Mailbox doesn't exist"])"#,
        )
        .step(
            |m| m.noop(),
            &[c!("T6 NOOP"), s!("T6 OK done")],
            "('OK', [b'done'])",
        )
        .step(
            |m| m.append("Bad", None, None, b"x"),
            &[c!("T7 APPEND Bad {1}"), s!("T7 BAD Bad syntax")],
            "Error: APPEND command error: BAD [b'Bad syntax']",
        )
        .step(
            |m| m.append("INBOX", None, None, b"a\0b"),
            &[],
            "Error: argument contains a NUL byte, which IMAP cannot carry",
        )
        .verify();
    tx().step(
        |m| m.append("INBOX", None, None, b"x"),
        &[],
        "Error: command APPEND illegal in state NONAUTH, only allowed in states AUTH, SELECTED",
    )
    .verify();
}

// ===== failures ==============================================================

#[test]
fn untagged_bye_aborts_the_command() {
    selected()
        .step(
            |m| m.noop(),
            &[c!("T3 NOOP"), s!("* BYE Server shutting down")],
            "Abort: command: NOOP => Server shutting down",
        )
        .verify();
    selected()
        .step(
            |m| m.fetch("1", "(FLAGS)"),
            &[
                c!("T3 FETCH 1 (FLAGS)"),
                s!(
                    "* 1 FETCH (FLAGS ())",
                    "* BYE Autologout; idle for too long",
                    "T3 OK done"
                ),
            ],
            "Abort: command: FETCH => Autologout; idle for too long",
        )
        .unread_tail()
        .verify();
}

#[test]
fn unknown_tag_aborts() {
    selected()
        .step(
            |m| m.noop(),
            &[c!("T3 NOOP"), s!("T9 OK done")],
            "Abort: command: NOOP => unexpected tagged response: b'T9 OK done'",
        )
        .verify();
    selected()
        .step(
            |m| m.noop(),
            &[c!("T3 NOOP"), s!("garbage")],
            "Abort: command: NOOP => unexpected response: b'garbage'",
        )
        .verify();
    // A second completion for a command that already completed.
    selected()
        .step(
            |m| m.noop(),
            &[c!("T3 NOOP"), s!("T2 OK again", "T3 OK done")],
            "Abort: command: NOOP => unexpected tagged response: b'T2 OK again'",
        )
        .unread_tail()
        .verify();
}

#[test]
fn eof_aborts() {
    selected()
        .step(
            |m| m.noop(),
            &[c!("T3 NOOP")],
            "Abort: command: NOOP => socket error: EOF",
        )
        .verify();
}

#[test]
fn eof_in_a_line_aborts() {
    // imaplib's _get_line: "socket error: unterminated line: %r".
    selected()
        .step(
            |m| m.noop(),
            &[c!("T3 NOOP"), s_raw(b"T3 OK don")],
            "Abort: command: NOOP => socket error: unterminated line: b'T3 OK don'",
        )
        .verify();
}

// ===== the raw I/O hooks ======================================================

#[test]
fn send_readline_read() {
    tx().step(|m| m.send(b"X1 NOOP\r\n"), &[c_raw(b"X1 NOOP\r\n")], "None")
        .step(
            |m| m.readline(),
            &[s!("X1 OK NOOP completed")],
            r"b'X1 OK NOOP completed\r\n'",
        )
        .no_mix()
        .step(|m| m.send(b"X2 RAW\r\n"), &[c_raw(b"X2 RAW\r\n")], "None")
        .step(|m| m.read(7), &[s_raw(b"abc\r\ndefgh")], r"b'abc\r\nde'")
        .no_mix()
        .step(|m| m.read(3), &[], "b'fgh'")
        // The protocol goes on where it was.
        .step(
            |m| m.noop(),
            &[c!("T1 NOOP"), s!("T1 OK done")],
            "('OK', [b'done'])",
        )
        .verify();
}

#[test]
fn readline_and_read_start_with_buffered_bytes() {
    tx().step(
        |m| m.noop(),
        &[c!("T1 NOOP"), s_raw(b"T1 OK done\r\nraw line\r\nrest")],
        "('OK', [b'done'])",
    )
    .step(|m| m.readline(), &[], r"b'raw line\r\n'")
    .step(|m| m.read(4), &[], "b'rest'")
    // At the end of the stream: what there is.
    .step(|m| m.read(4), &[], "b''")
    .step(|m| m.readline(), &[], "b''")
    .verify();
}

#[test]
fn readline_refuses_long_lines() {
    // imaplib: `raise self.error("got more than %d bytes" % _MAXLINE)`,
    // however the line arrives.
    tx().step(
        |m| {
            m.set_limits(Limits {
                max_line_len: 10,
                ..Limits::default()
            });
            m.send(b"X\r\n")
        },
        &[c_raw(b"X\r\n")],
        "None",
    )
    .step(|m| m.readline(), &[s!("01234567")], r"b'01234567\r\n'")
    .no_mix()
    .step(
        |m| m.readline(),
        &[s!("0123456789")],
        "Error: got more than 10 bytes",
    )
    .no_mix()
    .unread_tail()
    .verify();
}

// ===== the harness checks itself =============================================

#[test]
#[should_panic(expected = "result with untagged data interleaved")]
fn harness_catches_a_collision_left_undeclared() {
    selected()
        .step(
            |m| m.fetch("1", "(UID)"),
            &[
                c!("T3 FETCH 1 (UID)"),
                s!("* 1 FETCH (UID 4)", "T3 OK done"),
            ],
            "('OK', [b'1 (UID 4)'])",
        )
        .verify();
}

#[test]
#[should_panic(expected = "before reading the server's b'+ go\\r\\n'")]
fn harness_catches_a_literal_sent_before_the_continuation() {
    tx().step(
        |m| m.send(b"X1 A {3}\r\nabc\r\n"),
        &[c!("X1 A {3}"), s!("+ go"), c!("abc")],
        "None",
    )
    .verify();
}

#[test]
#[should_panic(expected = "client reads while the server still waits for b'X1 NOOP\\r\\n'")]
fn harness_catches_a_client_waiting_for_nothing() {
    tx().step(
        |m| m.readline(),
        &[c!("X1 NOOP"), s!("X1 OK done")],
        "b'X1 OK done\\r\\n'",
    )
    .verify();
}

#[test]
#[should_panic(expected = "client bytes")]
fn harness_catches_wrong_client_bytes() {
    auth()
        .step(
            |m| m.create("a b"),
            &[c!("T2 CREATE a b"), s!("T2 OK done")],
            "('OK', [b'done'])",
        )
        .verify();
}
