//! Differential test: CPython 3's imaplib against imap4, on every real
//! server the test kit starts (Dovecot, Cyrus, Courier, GNU Mailutils).
//!
//! Both sides run the same call list (`tests/differential/calls.json`) on
//! identical copies of a mailbox: the Python driver
//! (`tests/differential/imaplib_driver.py`) as user `py` with imaplib, this
//! test as user `rs` with [`imap4::Imap4`]. Each run is one server [`Kind`]
//! and one [`Mode`] (the only difference the mode makes is how a connection
//! is opened): over TCP (`imaplib.IMAP4`, [`Imap4::connect`]) on all four,
//! and over a pipe to the server's pre-authenticated stdin/stdout mode
//! (`imaplib.IMAP4_stream`, [`Imap4::connect_stream`]) where it has one
//! (Dovecot, Courier, Mailutils; Cyrus has none), leaving out the sessions
//! [`Mode::skip_reason`] names. The call list is written for Dovecot's
//! layout; every mailbox argument is put into the server's namespace first
//! ([`translate`]: `Projects/2024` is `INBOX.Projects.2024` on Cyrus and
//! Courier), identically for both sides, which then read the translated
//! list. Every call's `(typ, data)` — or the kind of error it raised — must
//! be the same once the servers' timing texts, UIDVALIDITY values, Cyrus's
//! SESSIONID and MAILBOXID, the user names and the tags echoed in ESEARCH
//! responses are masked (and, in stream mode only, imaplib's `ValueError`
//! on a closed pipe is counted as the `abort` it is over TCP; see
//! [`stream_closed_file_as_abort`]). The few calls whose results depend on
//! a server's clock are run but not compared ([`clock_dependent`]).
//!
//! The call list holds `{"sessions": [{"name": ..., "calls": [call, ...]},
//! ...]}`; each session starts with a new connection, each call is
//! `[method, arg, ...]` (`["#", text]` is a comment) with `$USER`, `$PASS` and
//! `$OTHER` standing for this side's user, the password and the other side's
//! user. Calls named `@...` read an attribute (`welcome`, `capabilities`,
//! `state`, `readonly`, `protocol_version`) instead of calling a method, and
//! `["@use", n]` switches to the session's connection `n` (opened on first
//! use), so that one connection can see another's changes, and
//! `["@doveadm", arg, ...]` runs doveadm against the server (e.g. `kick
//! $USER`, for a BYE the client did not ask for; after a kick it waits until
//! `doveadm who` no longer lists the user; stream mode skips such sessions).
//! Arguments are chosen so that imap4 (which quotes like Python 2's imaplib)
//! and Python 3's imaplib (which sends arguments raw) put the same bytes on
//! the wire: atoms, parenthesized lists, and pre-quoted strings.
//!
//! Both sides' results are encoded the way the driver prints them:
//! `{"typ": str, "data": VALUE}`, `{"value": VALUE}` or
//! `{"error": "error"|"abort"|"readonly", "message": str}` (the message is
//! shown but not compared), where VALUE is `null` (None), a latin-1 string
//! (bytes), an array (list), `{"tuple": [...]}` (tuple) or `{"str": ...}`.
//!
//! Needs `python3` (the test fails, it does not skip, without it) and the
//! four servers (`scripts/install-deps.sh`); a server that fails to start
//! fails its test. Run with
//! `cargo test -p imap4 --test differential -- --nocapture`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use imap4::{Data, ErrorKind, Imap4, Response};
use imap4_testkit::{Dovecot, ImapServer, Kind, Namespace};

const PY_USER: &str = "py";
const RS_USER: &str = "rs";
const SEED: u64 = 7;
const MESSAGES: usize = 30;
const MIN_CALLS: usize = 60;

// ----- a small JSON value, parser and printer ------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    fn obj(fields: Vec<(&str, Json)>) -> Json {
        Json::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing data at byte {}", p.i));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\r' | b'\n') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", c as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            None => Err("unexpected end of JSON".into()),
            Some(b'n') => self.word("null", Json::Null),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("bad array at byte {}", self.i)),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.eat(b':')?;
                    fields.push((k, self.value()?));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(fields));
                        }
                        _ => return Err(format!("bad object at byte {}", self.i)),
                    }
                }
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("?");
                text.parse()
                    .map(Json::Num)
                    .map_err(|e| format!("bad number {text:?}: {e}"))
            }
            Some(c) => Err(format!("unexpected {:?} at byte {}", *c as char, self.i)),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(format!("bad literal at byte {}", self.i))
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("bad \\u escape at byte {}", self.i))?;
        self.i += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\') {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?);
            match self.s.get(self.i) {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.i += 1;
                    let c = *self.s.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo.wrapping_sub(0xdc00));
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        c => return Err(format!("bad escape \\{}", c as char)),
                    }
                }
            }
        }
    }
}

/// Bytes as the driver encodes them: one char per byte (latin-1).
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

fn unlatin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Renders a value the way Python's repr would show the decoded object,
/// long byte strings shortened to their start and end.
fn render(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("None"),
        Json::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Json::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Json::Str(s) => {
            let b = unlatin1(s);
            let limit = 1500;
            if b.len() > limit {
                let _ = write!(
                    out,
                    "{} ... ({} bytes) ... {}",
                    bytes_repr(&b[..limit / 2]),
                    b.len(),
                    bytes_repr(&b[b.len() - limit / 4..])
                );
            } else {
                out.push_str(&bytes_repr(&b));
            }
        }
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Json::Obj(fields) => match (fields.len(), fields.first()) {
            (1, Some((k, Json::Arr(items)))) if k == "tuple" => {
                out.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    render(item, out);
                }
                out.push(')');
            }
            (1, Some((k, Json::Str(s)))) if k == "str" => {
                let _ = write!(out, "{s:?}");
            }
            _ => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{k}: ");
                    render(v, out);
                }
                out.push('}');
            }
        },
    }
}

fn bytes_repr(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(c as char),
            c => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s.push('\'');
    s
}

/// A call as Python would write it: `fetch('1', '(FLAGS)')`.
fn show_call(call: &[Json]) -> String {
    let args: Vec<String> = call[1..]
        .iter()
        .map(|a| match a {
            Json::Str(s) => {
                let mut r = String::from("'");
                for (i, c) in s.chars().enumerate() {
                    if i == 60 {
                        r.push_str("...");
                        break;
                    }
                    match c {
                        '\\' | '\'' => {
                            r.push('\\');
                            r.push(c);
                        }
                        '\r' => r.push_str("\\r"),
                        '\n' => r.push_str("\\n"),
                        c => r.push(c),
                    }
                }
                r.push('\'');
                r
            }
            other => show(other),
        })
        .collect();
    format!("{}({})", call[0].as_str().unwrap_or("?"), args.join(", "))
}

fn show(v: &Json) -> String {
    let mut s = String::new();
    render(v, &mut s);
    s
}

// ----- the imap4 side ---------------------------------------------------------

fn encode_data(d: &Data) -> Json {
    match d {
        Data::None => Json::Null,
        Data::Line(b) => Json::Str(latin1(b)),
        Data::Literal(l) => Json::obj(vec![(
            "tuple",
            Json::Arr(vec![
                Json::Str(latin1(&l.header)),
                Json::Str(latin1(&l.body)),
            ]),
        )]),
        Data::List(items) => Json::Arr(items.iter().map(encode_data).collect()),
    }
}

fn encode_result(r: Result<Response, imap4::Error>) -> Json {
    match r {
        Ok(r) => Json::obj(vec![
            ("typ", Json::Str(r.typ.clone())),
            ("data", Json::Arr(r.data.iter().map(encode_data).collect())),
        ]),
        Err(e) => {
            let kind = match e.kind() {
                ErrorKind::Error => "error",
                ErrorKind::Abort => "abort",
                ErrorKind::ReadOnly => "readonly",
            };
            Json::obj(vec![
                ("error", Json::Str(kind.into())),
                ("message", Json::Str(e.to_string())),
            ])
        }
    }
}

fn pystr(s: &str) -> Json {
    Json::obj(vec![("str", Json::Str(s.to_string()))])
}

/// The arguments of one call, after `$USER`/`$PASS`/`$OTHER` substitution.
struct Args<'a> {
    call: &'a str,
    v: &'a [Json],
}

impl<'a> Args<'a> {
    fn s(&self, i: usize) -> &'a str {
        match self.v.get(i) {
            Some(Json::Str(s)) => s,
            other => panic!(
                "{}: argument {i} should be a string, is {other:?}",
                self.call
            ),
        }
    }

    fn opt(&self, i: usize) -> Option<&'a str> {
        match self.v.get(i) {
            Some(Json::Null) => None,
            _ => Some(self.s(i)),
        }
    }

    fn bool(&self, i: usize) -> bool {
        match self.v.get(i) {
            Some(Json::Bool(b)) => *b,
            other => panic!("{}: argument {i} should be a bool, is {other:?}", self.call),
        }
    }

    fn num(&self, i: usize) -> u32 {
        match self.v.get(i) {
            Some(Json::Num(n)) => u32::try_from(*n).expect("u32 argument"),
            other => panic!(
                "{}: argument {i} should be a number, is {other:?}",
                self.call
            ),
        }
    }

    fn rest(&self, from: usize) -> Vec<&'a str> {
        (from..self.v.len()).map(|i| self.s(i)).collect()
    }

    fn count(&self, n: usize) {
        assert_eq!(
            self.v.len(),
            n,
            "{}: expected {n} arguments, got {:?}",
            self.call,
            self.v
        );
    }
}

fn run_rust_call(m: &mut Imap4, call: &[Json], user: &str, password: &str) -> Json {
    let name = call[0].as_str().expect("call name");
    let a = Args {
        call: name,
        v: &call[1..],
    };
    let value = |v: Json| Json::obj(vec![("value", v)]);
    let r = match name {
        "@welcome" => return value(Json::Str(latin1(m.welcome()))),
        "@capabilities" => {
            return value(Json::Arr(
                m.capabilities().iter().map(|c| pystr(c)).collect(),
            ))
        }
        "@state" => return value(pystr(m.state().as_str())),
        "@readonly" => return value(Json::Bool(m.is_readonly())),
        "@protocol_version" => return value(pystr(m.protocol_version())),
        "append" => {
            a.count(4);
            m.append(a.s(0), a.opt(1), a.opt(2), a.s(3).as_bytes())
        }
        "authenticate" => {
            // As in the driver: [mech] answers every challenge with this
            // side's PLAIN credentials, [mech, user, password] with those,
            // [mech, null] cancels.
            let creds = match a.v.len() {
                1 => Some(format!("\0{user}\0{password}")),
                2 if a.v[1] == Json::Null => None,
                3 => Some(format!("\0{}\0{}", a.s(1), a.s(2))),
                _ => panic!("authenticate: bad arguments {:?}", a.v),
            };
            m.authenticate(a.s(0), move |_challenge| {
                creds.as_ref().map(|c| c.clone().into_bytes())
            })
        }
        "capability" => m.capability(),
        "check" => m.check(),
        "close" => m.close(),
        "copy" => {
            a.count(2);
            m.copy(a.s(0), a.s(1))
        }
        "create" => m.create(a.s(0)),
        "delete" => m.delete(a.s(0)),
        "deleteacl" => m.deleteacl(a.s(0), a.s(1)),
        "enable" => m.enable(a.s(0)),
        "expunge" => m.expunge(),
        "fetch" => {
            a.count(2);
            m.fetch(a.s(0), a.s(1))
        }
        "getacl" => m.getacl(a.s(0)),
        "getannotation" => m.getannotation(a.s(0), a.s(1), a.s(2)),
        "getquota" => m.getquota(a.s(0)),
        "getquotaroot" => m.getquotaroot(a.s(0)),
        "list" => {
            a.count(2);
            m.list(a.s(0), a.s(1))
        }
        "login" => {
            a.count(2);
            m.login(a.s(0), a.s(1))
        }
        "login_cram_md5" => m.login_cram_md5(a.s(0), a.s(1)),
        "logout" => m.logout(),
        "lsub" => {
            a.count(2);
            m.lsub(a.s(0), a.s(1))
        }
        "myrights" => m.myrights(a.s(0)),
        "namespace" => m.namespace(),
        "noop" => m.noop(),
        "partial" => {
            a.count(4);
            m.partial(a.s(0), a.s(1), a.num(2), a.num(3))
        }
        "proxyauth" => m.proxyauth(a.s(0)),
        "recent" => m.recent(),
        "rename" => m.rename(a.s(0), a.s(1)),
        "response" => Ok(m.response(a.s(0))),
        "search" => m.search(a.opt(0), &a.rest(1)),
        "select" => {
            a.count(2);
            m.select(a.s(0), a.bool(1))
        }
        "setacl" => m.setacl(a.s(0), a.s(1), a.s(2)),
        "setannotation" => m.setannotation(a.s(0), &a.rest(1)),
        "setquota" => m.setquota(a.s(0), a.s(1)),
        "sort" => m.sort(a.s(0), a.s(1), &a.rest(2)),
        "status" => m.status(a.s(0), a.s(1)),
        "store" => {
            a.count(3);
            m.store(a.s(0), a.s(1), a.s(2))
        }
        "subscribe" => m.subscribe(a.s(0)),
        "thread" => m.thread(a.s(0), a.s(1), &a.rest(2)),
        "uid" => m.uid(a.s(0), &a.rest(1)),
        "unselect" => m.unselect(),
        "unsubscribe" => m.unsubscribe(a.s(0)),
        "xatom" => m.xatom(a.s(0), &a.rest(1)),
        other => panic!("no imap4 mapping for call {other:?}"),
    };
    encode_result(r)
}

fn substitute(call: &[Json], user: &str, password: &str, other: &str) -> Vec<Json> {
    call.iter()
        .map(|a| match a {
            Json::Str(s) => Json::Str(
                s.replace("$USER", user)
                    .replace("$PASS", password)
                    .replace("$OTHER", other),
            ),
            a => a.clone(),
        })
        .collect()
}

/// Waits (polling `doveadm who`, bounded) until the server has closed every
/// connection of `user`, so that its BYE is already on the client's socket.
fn wait_until_disconnected(server: &Dovecot, user: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let who = server.doveadm(&["who", "-1", user]).expect("doveadm who");
        if !String::from_utf8_lossy(&who.stdout)
            .lines()
            .any(|l| l.split_whitespace().next() == Some(user))
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{user} still connected 10 s after doveadm kick");
}

/// Runs the sessions as user `rs`, every connection opened by `connect`
/// (the only thing that depends on the [`Mode`]).
fn run_rust(sessions: &[&Session], fixture: &Fixture, connect: &dyn Fn() -> Imap4) -> Vec<Json> {
    let server = fixture.server();
    let password = server.password();
    let (me, other) = (server.login_name(RS_USER), server.login_name(PY_USER));
    let mut out = Vec::new();
    for (_, session) in sessions {
        // ["@use", n] switches to connection n, opening it the first time.
        let mut conns: Vec<(u32, Imap4)> = vec![(0, connect())];
        let mut current = 0;
        for call in session {
            let call = substitute(call, &me, password, &other);
            if call[0].as_str() == Some("@doveadm") {
                let server = fixture
                    .dovecot()
                    .expect("@doveadm sessions run on Dovecot only");
                let args: Vec<&str> = call[1..].iter().filter_map(Json::as_str).collect();
                let ok = server.doveadm(&args).is_ok_and(|o| o.status.success());
                if let ["kick", user] = args[..] {
                    wait_until_disconnected(server, user);
                }
                out.push(Json::obj(vec![("value", Json::Bool(ok))]));
                continue;
            }
            if call[0].as_str() == Some("@use") {
                let n = Args {
                    call: "@use",
                    v: &call[1..],
                }
                .num(0);
                current = match conns.iter().position(|(k, _)| *k == n) {
                    Some(i) => i,
                    None => {
                        conns.push((n, connect()));
                        conns.len() - 1
                    }
                };
                out.push(Json::obj(vec![("value", Json::Null)]));
                continue;
            }
            out.push(run_rust_call(&mut conns[current].1, &call, &me, password));
        }
        for (_, mut m) in conns {
            let _ = m.shutdown();
        }
    }
    out
}

// ----- the imaplib side ----------------------------------------------------------

/// Runs the driver as user `py` in `mode`, leaving out the sessions with
/// the indices in `skip`.
fn run_python(calls_path: &PathBuf, fixture: &Fixture, mode: Mode, skip: &[usize]) -> Vec<Json> {
    let server = fixture.server();
    let (host, port, password) = (server.host(), server.port(), server.password());
    // doveadm's configuration: only sessions run on Dovecot use it
    let config = fixture
        .dovecot()
        .map(|d| d.config_file())
        .unwrap_or_default();
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("differential")
        .join("imaplib_driver.py");
    let mut command = Command::new("python3");
    command
        .arg(&driver)
        .arg(calls_path)
        .arg(host)
        .arg(port.to_string())
        .arg(server.login_name(PY_USER))
        .arg(password)
        .arg(server.login_name(RS_USER))
        .arg(config);
    if mode == Mode::Stream {
        let stream = server
            .stream_command(PY_USER)
            .expect("stream mode runs only where the server has one");
        command.arg("--stream").arg(stream);
    }
    if !skip.is_empty() {
        let list: Vec<String> = skip.iter().map(usize::to_string).collect();
        command.arg("--skip").arg(list.join(","));
    }
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("cannot run python3 (needed for the imaplib side of this test): {e}")
    });
    let stdout = String::from_utf8(output.stdout).expect("driver prints ASCII JSON");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "imaplib driver failed ({}):\n{stderr}\nstdout:\n{stdout}",
        output.status
    );
    stdout
        .lines()
        .map(|l| Parser::parse(l).unwrap_or_else(|e| panic!("driver printed bad JSON ({e}): {l}")))
        .collect()
}

// ----- masking ----------------------------------------------------------------

/// Replaces Dovecot's timing text, "(0.001 + 0.000 secs)" or
/// "(0.001 + 0.000 + 0.000 secs)", with "(T secs)".
fn mask_timing(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(end) = rest.find(" secs)") {
        let head = &rest[..end];
        match head.rfind('(') {
            Some(open)
                if end > open + 1
                    && head[open + 1..]
                        .bytes()
                        .all(|c| c.is_ascii_digit() || b". +".contains(&c))
                    && head[open + 1..].bytes().any(|c| c.is_ascii_digit()) =>
            {
                out.push_str(&head[..open]);
                out.push_str("(T secs)");
            }
            _ => {
                out.push_str(head);
                out.push_str(" secs)");
            }
        }
        rest = &rest[end + " secs)".len()..];
    }
    out.push_str(rest);
    out
}

/// Replaces the number after each of `words` ("UIDVALIDITY 123") with "N".
fn mask_number_after(s: &str, words: &[&str]) -> String {
    let mut s = s.to_string();
    for w in words {
        let pat = format!("{w} ");
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(i) = rest.find(&pat) {
            out.push_str(&rest[..i + pat.len()]);
            rest = &rest[i + pat.len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                out.push('N');
                rest = &rest[digits..];
            }
        }
        out.push_str(rest);
        s = out;
    }
    s
}

/// Replaces the tag in an ESEARCH response's `(TAG "...")` with "T": both
/// libraries use random tag prefixes.
fn mask_search_tag(s: &str) -> String {
    let pat = "(TAG \"";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(pat) {
        out.push_str(&rest[..i + pat.len()]);
        rest = &rest[i + pat.len()..];
        if let Some(end) = rest.find('"') {
            out.push('T');
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces whatever stands between each `open` and the next `close`
/// with "X".
fn mask_between(s: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i + open.len()]);
        rest = &rest[i + open.len()..];
        if let Some(end) = rest.find(close) {
            out.push('X');
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the first run of digits with "N".
fn mask_first_number(s: &str) -> String {
    match s.find(|c: char| c.is_ascii_digit()) {
        Some(i) => {
            let len = s[i..].bytes().take_while(u8::is_ascii_digit).count();
            format!("{}N{}", &s[..i], &s[i + len..])
        }
        None => s.to_string(),
    }
}

/// Replaces both user names, as whole words, with "USER" (on both sides, so
/// the masking cannot itself create a difference).
fn mask_users(s: &str) -> String {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let hit = [PY_USER, RS_USER].iter().find(|u| {
            b[i..].starts_with(u.as_bytes())
                && (i == 0 || !word(b[i - 1]))
                && b.get(i + u.len()).is_none_or(|&c| !word(c))
        });
        match hit {
            Some(u) => {
                out.push_str(&s[copied..i]);
                out.push_str("USER");
                i += u.len();
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&s[copied..]);
    out
}

fn mask_value(v: &Json, first_number: bool) -> Json {
    match v {
        Json::Str(s) => {
            let mut s = mask_timing(s);
            s = mask_number_after(&s, &["UIDVALIDITY", "APPENDUID", "COPYUID"]);
            s = mask_search_tag(&s);
            // Cyrus: per-connection session ids, per-mailbox object ids
            s = mask_between(&s, "SESSIONID=<", ">");
            s = mask_between(&s, "[MAILBOXID (", ")]");
            if first_number {
                s = mask_first_number(&s);
            }
            Json::Str(mask_users(&s))
        }
        Json::Arr(items) => Json::Arr(items.iter().map(|i| mask_value(i, first_number)).collect()),
        Json::Obj(fields) => Json::Obj(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), mask_value(v, first_number)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// What is compared: everything but an error's message, masked (see
/// [`stream_closed_file_as_abort`] for the one mask that depends on the mode).
fn comparable(mode: Mode, call: &[Json], result: &Json) -> Json {
    // response() of a code whose data starts with a UIDVALIDITY value.
    let first_number = call[0].as_str() == Some("response")
        && call.get(1).and_then(Json::as_str).is_some_and(|c| {
            ["UIDVALIDITY", "COPYUID", "APPENDUID"].contains(&c.to_uppercase().as_str())
        });
    let result = match mode {
        Mode::Tcp => result.clone(),
        Mode::Stream => stream_closed_file_as_abort(result),
    };
    let kept = match &result {
        Json::Obj(fields) => Json::Obj(
            fields
                .iter()
                .filter(|(k, _)| !(k == "message" && result.get("error").is_some()))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    };
    mask_value(&kept, first_number)
}

/// Stream mode only: counts imaplib's `ValueError: write to closed file`
/// (or `read of closed file`) as the `abort` it is over TCP.
///
/// After `logout()` (or any `shutdown()`), `IMAP4_stream` has closed its
/// pipe file objects, so a further command's `send()` raises `ValueError`
/// from the closed Python file, which `IMAP4._command` lets through (it
/// turns only `OSError` into `abort`). Over TCP the same call fails on the
/// closed socket with an `OSError` and imaplib raises `abort`, which is what
/// imap4 raises in both modes; a Python `ValueError` has no imap4
/// counterpart. Only that exact exception is rewritten: any other
/// `exception` result still shows up as a mismatch.
fn stream_closed_file_as_abort(result: &Json) -> Json {
    let closed_file = result.get("error").and_then(Json::as_str) == Some("exception")
        && result
            .get("message")
            .and_then(Json::as_str)
            .is_some_and(|m| {
                m == "ValueError: write to closed file" || m == "ValueError: read of closed file"
            });
    if !closed_file {
        return result.clone();
    }
    Json::obj(vec![
        ("error", Json::Str("abort".into())),
        (
            "message",
            result.get("message").cloned().unwrap_or(Json::Null),
        ),
    ])
}

/// Where two values first differ, for the report.
fn first_difference(a: &Json, b: &Json, path: &str) -> Option<String> {
    match (a, b) {
        (Json::Arr(x), Json::Arr(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(p, q, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: {} vs {} items", x.len(), y.len()))
        }
        (Json::Obj(x), Json::Obj(y)) if x.len() == y.len() => {
            for ((k1, p), (k2, q)) in x.iter().zip(y) {
                if k1 != k2 {
                    return Some(format!("{path}: key {k1} vs {k2}"));
                }
                if let Some(d) = first_difference(p, q, &format!("{path}.{k1}")) {
                    return Some(d);
                }
            }
            None
        }
        (Json::Str(x), Json::Str(y)) if x != y => {
            let (x, y) = (unlatin1(x), unlatin1(y));
            let at = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
            let from = at.saturating_sub(40);
            Some(format!(
                "{path}: byte {at}: imaplib {} vs imap4 {}",
                bytes_repr(&x[from..(at + 40).min(x.len())]),
                bytes_repr(&y[from..(at + 40).min(y.len())]),
            ))
        }
        (a, b) if a != b => Some(format!("{path}: {} vs {}", show(a), show(b))),
        _ => None,
    }
}

// ----- the test ---------------------------------------------------------------

/// A session of the call list: its name and its calls (comments left out).
type Session = (String, Vec<Vec<Json>>);

/// The sessions of the call list, comments left out.
fn load_calls(path: &PathBuf) -> Vec<Session> {
    let text = std::fs::read_to_string(path).expect("read calls.json");
    let spec = Parser::parse(&text).expect("calls.json is JSON");
    let Some(Json::Arr(sessions)) = spec.get("sessions") else {
        panic!("calls.json: no \"sessions\" array");
    };
    sessions
        .iter()
        .map(|s| {
            let name = s.get("name").and_then(Json::as_str).unwrap_or("?");
            let Some(Json::Arr(calls)) = s.get("calls") else {
                panic!("calls.json: session {name:?} has no \"calls\" array");
            };
            let calls = calls
                .iter()
                .map(|c| match c {
                    Json::Arr(c) if matches!(c.first(), Some(Json::Str(_))) => c.clone(),
                    other => panic!("calls.json: bad call {other:?}"),
                })
                .filter(|c| c[0].as_str() != Some("#"))
                .collect();
            (name.to_string(), calls)
        })
        .collect()
}

/// How both sides connect, the same way, in one run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// TCP to the Dovecot daemon: `imaplib.IMAP4(host, port)` and
    /// [`Imap4::connect`]. Connections start in NONAUTH.
    Tcp,
    /// A pipe to Dovecot's `imap` binary, pre-authenticated as the side's
    /// user ([`imap4_testkit::Dovecot::stream_command`]), one process per
    /// connection: `imaplib.IMAP4_stream(command)` and
    /// [`Imap4::connect_stream`]. Connections start in AUTH (PREAUTH), so
    /// `login`, `authenticate` and `login_cram_md5` raise `error` ("illegal
    /// in state AUTH") on both sides, and are compared like any other call.
    Stream,
}

impl Mode {
    /// Why `session` cannot run in this mode, or `None` if it can. This is
    /// the single skip rule; the driver is told the skipped indices.
    ///
    /// Stream mode skips every session with an `@doveadm` call. doveadm
    /// acts on the connections the Dovecot daemon tracks (its anvil
    /// service); a hand-started pre-authenticated `imap` process never went
    /// through imap-login and is not one of them. Observed with Dovecot 2.3:
    /// while a stream connection is open, `doveadm who` lists no one and
    /// `doveadm kick USER` exits 68 ("no users kicked"), and the connection
    /// goes on answering. The kick session would then compare a live
    /// connection instead of the unsolicited BYE it exists to test.
    fn skip_reason(self, kind: Kind, session: &Session) -> Option<&'static str> {
        let doveadm = session.1.iter().any(|c| c[0].as_str() == Some("@doveadm"));
        match self {
            Mode::Tcp if doveadm && kind != Kind::Dovecot => {
                Some("uses @doveadm (kick), which only Dovecot has")
            }
            // Mailutils ends the tagged OK of a successful AUTHENTICATE with
            // a bare LF. imaplib raises abort ("unterminated line") and its
            // connection is gone; imap4 takes the line (its framer accepts
            // bare LF: frame.rs `bare_lf_is_accepted`) and goes on. A
            // deliberate difference, so the sessions that authenticate
            // successfully cannot be compared there.
            Mode::Tcp
                if kind == Kind::Mailutils
                    && ["AUTHENTICATE PLAIN", "login_cram_md5"].contains(&session.0.as_str()) =>
            {
                Some(
                    "authenticates successfully: Mailutils ends that OK with a bare LF, \
                     which imaplib refuses (abort) and imap4 accepts",
                )
            }
            Mode::Tcp => None,
            Mode::Stream => doveadm.then_some(
                "uses @doveadm (kick): Dovecot's daemon does not track \
                 stream connections",
            ),
        }
    }
}

/// Calls whose results depend on the server's clock on `kind`, so are
/// run but not compared: (session name, the first such call as shown by
/// [`show_call`], how many calls from there (`None`: to the end of the
/// session), why).
type Window = (&'static str, &'static str, Option<usize>, &'static str);
fn clock_dependent(kind: Kind) -> &'static [Window] {
    match kind {
        // Mailutils rescans a selected Maildir only when the directory's
        // mtime (whole seconds) changed since its last scan: whether the
        // message just APPENDed to the selected INBOX shows up at the next
        // FETCH and NOOP depends on whether a second boundary fell between
        // the scans, on each side separately. The next SELECT sees it.
        Kind::Mailutils => &[
            (
                "LOGIN, then nearly every command",
                "fetch('*', '(ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')",
                Some(5),
                "Mailutils sees an APPEND to the selected mailbox only after a \
                 whole-second mtime change",
            ),
            (
                "two connections: unsolicited EXPUNGE, EXISTS and FETCH",
                "store('1', '+FLAGS', '(\\\\Answered)')",
                None,
                "Mailutils sees another connection's APPEND only after a \
                 whole-second mtime change",
            ),
        ],
        _ => &[],
    }
}

/// The server a run uses: Dovecot is kept as itself for `@doveadm`.
enum Fixture {
    Dovecot(Dovecot),
    Other(Box<dyn ImapServer>),
}

impl Fixture {
    /// A fresh server of `kind` with identical mailboxes for both sides.
    fn start(kind: Kind) -> Fixture {
        let fail =
            |e: std::io::Error| -> ! { panic!("start {kind} for the differential test: {e}") };
        match kind {
            Kind::Dovecot => Fixture::Dovecot(
                Dovecot::builder()
                    .user(PY_USER)
                    .user(RS_USER)
                    .messages(PY_USER, MESSAGES, SEED)
                    .messages(RS_USER, MESSAGES, SEED)
                    .start()
                    .unwrap_or_else(|e| fail(e)),
            ),
            kind => Fixture::Other(
                kind.builder()
                    .messages(PY_USER, MESSAGES, SEED)
                    .messages(RS_USER, MESSAGES, SEED)
                    .start()
                    .unwrap_or_else(|e| fail(e)),
            ),
        }
    }

    fn server(&self) -> &dyn ImapServer {
        match self {
            Fixture::Dovecot(d) => d,
            Fixture::Other(s) => &**s,
        }
    }

    fn dovecot(&self) -> Option<&Dovecot> {
        match self {
            Fixture::Dovecot(d) => Some(d),
            Fixture::Other(_) => None,
        }
    }
}

// ----- the call list in a server's namespace ---------------------------------

/// The indices of a call's arguments (after the method name) that are
/// mailbox names or LIST patterns.
fn mailbox_args(call: &[Json]) -> Vec<usize> {
    let name = call[0].as_str().unwrap_or("");
    match name {
        "select" | "create" | "delete" | "subscribe" | "unsubscribe" | "status" | "append"
        | "getacl" | "setacl" | "deleteacl" | "myrights" | "getquotaroot" | "getannotation"
        | "setannotation" => vec![0],
        "rename" | "list" | "lsub" => vec![0, 1],
        "copy" => vec![1],
        "uid" => match call
            .get(1)
            .and_then(Json::as_str)
            .map(str::to_ascii_uppercase)
        {
            Some(c) if c == "COPY" || c == "MOVE" => vec![2],
            _ => vec![],
        },
        _ => vec![],
    }
}

/// A mailbox argument (or LIST reference or pattern) of the call list,
/// written for Dovecot's layout (`/`, no prefix), in `ns`: quotes are kept,
/// INBOX, the empty name and patterns made only of wildcards stay.
fn in_namespace(arg: &str, ns: Namespace) -> String {
    let (quoted, name) = match arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        Some(inner) => (true, inner),
        None => (false, arg),
    };
    let keep = name.is_empty()
        || name.eq_ignore_ascii_case("INBOX")
        || name.bytes().all(|b| b == b'*' || b == b'%');
    let mapped = if keep {
        name.to_string()
    } else {
        ns.mailbox(name)
    };
    if quoted {
        format!("\"{mapped}\"")
    } else {
        mapped
    }
}

/// The sessions with every mailbox argument put into `ns`.
fn translate(sessions: &[Session], ns: Namespace) -> Vec<Session> {
    sessions
        .iter()
        .map(|(name, calls)| {
            let calls = calls
                .iter()
                .map(|call| {
                    let mut call = call.clone();
                    for i in mailbox_args(&call) {
                        if let Some(Json::Str(a)) = call.get_mut(i + 1) {
                            *a = in_namespace(a, ns);
                        }
                    }
                    call
                })
                .collect();
            (name.clone(), calls)
        })
        .collect()
}

/// JSON text of a value (strings as UTF-8 with JSON escapes).
fn to_json(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Json::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if u32::from(c) < 0x20 => {
                        let _ = write!(out, "\\u{:04x}", u32::from(c));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(item, out);
            }
            out.push(']');
        }
        Json::Obj(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(&Json::Str(k.clone()), out);
                out.push(':');
                to_json(v, out);
            }
            out.push('}');
        }
    }
}

/// Writes `sessions` as a call list the driver reads, into `dir`.
fn write_calls(sessions: &[Session], dir: &std::path::Path) -> PathBuf {
    let spec = Json::obj(vec![(
        "sessions",
        Json::Arr(
            sessions
                .iter()
                .map(|(name, calls)| {
                    Json::obj(vec![
                        ("name", Json::Str(name.clone())),
                        (
                            "calls",
                            Json::Arr(calls.iter().cloned().map(Json::Arr).collect()),
                        ),
                    ])
                })
                .collect(),
        ),
    )]);
    let mut text = String::new();
    to_json(&spec, &mut text);
    let path = dir.join("differential-calls.json");
    std::fs::write(&path, text).expect("write the translated call list");
    path
}

#[test]
fn imaplib_and_imap4_agree_on_dovecot() {
    differential(Kind::Dovecot, Mode::Tcp);
}

/// The same call list over `IMAP4_stream` / `Imap4::connect_stream`.
#[test]
fn imaplib_and_imap4_agree_over_stream() {
    differential(Kind::Dovecot, Mode::Stream);
}

#[test]
fn imaplib_and_imap4_agree_on_cyrus() {
    differential(Kind::Cyrus, Mode::Tcp);
}

#[test]
fn imaplib_and_imap4_agree_on_courier() {
    differential(Kind::Courier, Mode::Tcp);
}

#[test]
fn imaplib_and_imap4_agree_on_courier_over_stream() {
    differential(Kind::Courier, Mode::Stream);
}

#[test]
fn imaplib_and_imap4_agree_on_mailutils() {
    differential(Kind::Mailutils, Mode::Tcp);
}

#[test]
fn imaplib_and_imap4_agree_on_mailutils_over_stream() {
    differential(Kind::Mailutils, Mode::Stream);
}

/// One differential run: both sides run the call list's sessions (minus
/// those [`Mode::skip_reason`] leaves out), put into the server's
/// namespace, against a fresh server of `kind`, and every call's results
/// must agree once masked.
fn differential(kind: Kind, mode: Mode) {
    let calls_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("differential")
        .join("calls.json");
    let fixture = Fixture::start(kind);
    let server = fixture.server();
    let all_sessions = translate(&load_calls(&calls_path), server.namespace());
    let calls_path = write_calls(&all_sessions, server.dir());
    // (index in calls.json, session) of the sessions this mode runs.
    let mut runs: Vec<(usize, &Session)> = Vec::new();
    let mut skipped = Vec::new();
    for (i, s) in all_sessions.iter().enumerate() {
        match mode.skip_reason(kind, s) {
            Some(why) => skipped.push((i, why)),
            None => runs.push((i, s)),
        }
    }
    let sessions: Vec<&Session> = runs.iter().map(|(_, s)| *s).collect();
    let flat: Vec<(usize, &Vec<Json>)> = runs
        .iter()
        .flat_map(|(i, (_, s))| s.iter().map(move |c| (*i, c)))
        .collect();
    // flat indices of the calls run but not compared, with the reason
    let mut uncompared: Vec<(usize, &str)> = Vec::new();
    for (session, first, count, why) in clock_dependent(kind) {
        let start = flat
            .iter()
            .position(|(i, c)| all_sessions[*i].0 == *session && show_call(c) == *first)
            .unwrap_or_else(|| panic!("{kind}: no call {first} in session {session:?}"));
        let end = match count {
            Some(n) => start + n,
            None => {
                start
                    + flat[start..]
                        .iter()
                        .take_while(|(i, _)| *i == flat[start].0)
                        .count()
            }
        };
        uncompared.extend((start..end).map(|n| (n, *why)));
    }
    let method_calls = flat
        .iter()
        .filter(|(_, c)| c[0].as_str().is_some_and(|n| !n.starts_with('@')))
        .count();

    // The mode only changes how a connection is opened.
    let (host, port) = (server.host(), server.port());
    let stream_command = match mode {
        Mode::Tcp => None,
        Mode::Stream => Some(
            server
                .stream_command(RS_USER)
                .unwrap_or_else(|| panic!("{kind} has no stream mode")),
        ),
    };
    let connect = || match &stream_command {
        None => {
            Imap4::connect(host, port).unwrap_or_else(|e| panic!("imap4 connects to {kind}: {e}"))
        }
        Some(command) => Imap4::connect_stream(command)
            .unwrap_or_else(|e| panic!("imap4 starts {kind}'s stream mode: {e}")),
    };
    let skip: Vec<usize> = skipped.iter().map(|(i, _)| *i).collect();
    // Both sides at once: they use different users, and Dovecot's delays
    // after failed logins dominate the run time.
    let t0 = std::time::Instant::now();
    let (py, rs) = std::thread::scope(|scope| {
        let py = scope.spawn(|| {
            let py = run_python(&calls_path, &fixture, mode, &skip);
            (py, t0.elapsed())
        });
        let rs = run_rust(&sessions, &fixture, &connect);
        let rs_time = t0.elapsed();
        let (py, py_time) = py.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        println!("{kind} {mode:?}: imaplib side took {py_time:.1?}, imap4 side {rs_time:.1?}");
        (py, rs)
    });
    assert_eq!(
        py.len(),
        flat.len(),
        "the imaplib driver printed {} results for {} calls",
        py.len(),
        flat.len()
    );
    assert_eq!(rs.len(), flat.len());

    // DIFFERENTIAL_VERBOSE=1 prints every call's two results.
    let verbose = std::env::var_os("DIFFERENTIAL_VERBOSE").is_some_and(|v| v != "0");
    let mut mismatches = Vec::new();
    let mut message_notes = Vec::new();
    for (n, ((session, call), (p, r))) in flat.iter().zip(py.iter().zip(&rs)).enumerate() {
        let label = format!(
            "{kind} {mode:?} #{n} [session {}, {}] {}",
            session,
            all_sessions[*session].0,
            show_call(call)
        );
        let (cp, cr) = (comparable(mode, call, p), comparable(mode, call, r));
        if verbose {
            println!("{label}\n  imaplib: {}\n  imap4:   {}", show(p), show(r));
        }
        if let Some((_, why)) = uncompared.iter().find(|(k, _)| *k == n) {
            if cp != cr {
                println!("not compared ({why}): {label}");
            }
            continue;
        }
        if cp != cr {
            let why = first_difference(&cp, &cr, "").unwrap_or_default();
            println!(
                "MISMATCH {label}\n  imaplib: {}\n  imap4:   {}\n  first difference{why}\n",
                show(p),
                show(r)
            );
            mismatches.push(label);
        } else if let (Some(Json::Str(a)), Some(Json::Str(b))) =
            (p.get("message"), r.get("message"))
        {
            if mask_users(&mask_timing(a)) != mask_users(&mask_timing(b)) {
                message_notes.push(format!("{label}\n  imaplib: {a}\n  imap4:   {b}"));
            }
        }
    }

    if !message_notes.is_empty() {
        println!("{kind} {mode:?}: error messages that differ (not compared):");
        for note in &message_notes {
            println!("{note}");
        }
        println!();
    }
    for (i, why) in &skipped {
        println!(
            "{kind} {mode:?}: skipped session {i} ({:?}): {why}",
            all_sessions[*i].0
        );
    }
    println!(
        "differential ({kind} {mode:?}): {method_calls} method calls (plus {} attribute reads and \
         other pseudo-calls) in {} sessions ({} skipped); {} clock-dependent call(s) not \
         compared; {} mismatch(es)",
        flat.len() - method_calls,
        sessions.len(),
        skipped.len(),
        uncompared.len(),
        mismatches.len()
    );
    assert!(
        method_calls >= MIN_CALLS,
        "{kind} {mode:?}: only {method_calls} method calls, want at least {MIN_CALLS}"
    );
    assert!(
        mismatches.is_empty(),
        "{kind} {mode:?}: imaplib and imap4 differ on {} call(s):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
