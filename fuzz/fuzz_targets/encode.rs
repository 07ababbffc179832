//! The command encoder on arbitrary typed arguments: mailbox names, search
//! keys with strings, flags, sequence and UID sets, fetch sections,
//! free-form imaplib arguments, extension command names, tag prefixes.
//!
//! Arguments are built with `arbitrary`; commands are encoded both with
//! `CommandBuilder` directly and through a session (imaplib methods and
//! typed commands), each run to completion against a scripted server.
//!
//! Asserted:
//! - CR, LF and NUL never appear on a command line outside a literal
//!   (fragments: every `Fragment::Line` ends with CRLF and holds no other
//!   CR/LF/NUL; a line announcing `{N}`/`{N+}` is followed by a literal of
//!   N bytes whose `sync` matches; the last line announces nothing; the
//!   session's output stream: see `imap4_fuzz::WireChecker`);
//! - SeqSet/UidSet: Display then FromStr gives the same set; sets built
//!   from numbers hold exactly those numbers;
//! - a mailbox name sent by a typed command and echoed back by the server
//!   in a LIST response decodes to the same name.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use imap4_fuzz::Driver;
use imap4_proto::command::{
    Bound, Date, FetchAttr, SearchKey, SeqSet, StatusAttr, StoreOp, UidSet,
};
use imap4_proto::encode::{CommandBuilder, Fragment, LiteralMode};
use imap4_proto::frame::literal_announcement;
use imap4_proto::typed::{MailboxVerb, SetArg, TypedOutcome};
use imap4_proto::{Begin, Limits, Pending, SessionError};
use libfuzzer_sys::fuzz_target;

// ----- arbitrary mirrors of the typed arguments ----------------------------------

#[derive(Arbitrary, Debug)]
enum Set {
    /// Parsed from text (must round-trip if it parses).
    Text(String),
    Numbers(Vec<u32>),
    Range(u32, Option<u32>),
    All,
}

impl Set {
    fn seq(&self) -> Option<SeqSet> {
        match self {
            Set::Text(t) => t.parse().ok(),
            Set::Numbers(n) => Some(SeqSet::from_numbers(n.iter().copied())),
            Set::Range(a, Some(b)) => Some(SeqSet::range(*a, Bound::Num((*b).max(1)))),
            Set::Range(a, None) => Some(SeqSet::range(*a, Bound::Star)),
            Set::All => Some(SeqSet::all()),
        }
    }

    fn uid(&self) -> Option<UidSet> {
        match self {
            Set::Text(t) => t.parse().ok(),
            Set::Numbers(n) => Some(UidSet::from_numbers(n.iter().copied())),
            Set::Range(a, Some(b)) => Some(UidSet::from(*a..=*b)),
            Set::Range(a, None) => Some(UidSet::from(*a..)),
            Set::All => Some(UidSet::all()),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct ADate {
    year: u16,
    month: u8,
    day: u8,
}

impl ADate {
    fn get(&self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: self.day,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Key {
    All,
    Seen,
    Unseen,
    Deleted,
    Flagged,
    New,
    Keyword(String),
    Unkeyword(String),
    From(String),
    To(String),
    Subject(String),
    Body(String),
    Text(String),
    Header(String, String),
    Before(ADate),
    Since(ADate),
    SentOn(ADate),
    Larger(u64),
    Smaller(u64),
    ModSeq(u64),
    Uid(Set),
    Seq(Set),
    Not(Box<Key>),
    Or(Box<Key>, Box<Key>),
    And(Vec<Key>),
}

impl Key {
    fn get(&self, depth: usize) -> SearchKey {
        if depth > 8 {
            return SearchKey::All;
        }
        match self {
            Key::All => SearchKey::All,
            Key::Seen => SearchKey::Seen,
            Key::Unseen => SearchKey::Unseen,
            Key::Deleted => SearchKey::Deleted,
            Key::Flagged => SearchKey::Flagged,
            Key::New => SearchKey::New,
            Key::Keyword(s) => SearchKey::Keyword(s.clone()),
            Key::Unkeyword(s) => SearchKey::Unkeyword(s.clone()),
            Key::From(s) => SearchKey::From(s.clone()),
            Key::To(s) => SearchKey::To(s.clone()),
            Key::Subject(s) => SearchKey::Subject(s.clone()),
            Key::Body(s) => SearchKey::Body(s.clone()),
            Key::Text(s) => SearchKey::Text(s.clone()),
            Key::Header(h, v) => SearchKey::Header(h.clone(), v.clone()),
            Key::Before(d) => SearchKey::Before(d.get()),
            Key::Since(d) => SearchKey::Since(d.get()),
            Key::SentOn(d) => SearchKey::SentOn(d.get()),
            Key::Larger(n) => SearchKey::Larger(*n),
            Key::Smaller(n) => SearchKey::Smaller(*n),
            Key::ModSeq(n) => SearchKey::ModSeq(*n),
            Key::Uid(s) => s.uid().map_or(SearchKey::All, SearchKey::Uid),
            Key::Seq(s) => s.seq().map_or(SearchKey::All, SearchKey::Seq),
            Key::Not(k) => SearchKey::Not(Box::new(k.get(depth + 1))),
            Key::Or(a, b) => SearchKey::Or(Box::new(a.get(depth + 1)), Box::new(b.get(depth + 1))),
            Key::And(v) => SearchKey::And(v.iter().take(16).map(|k| k.get(depth + 1)).collect()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Attr {
    Uid,
    Flags,
    Envelope,
    BodyStructure,
    Rfc822Header,
    Section {
        section: String,
        peek: bool,
        partial: Option<(u32, u32)>,
    },
    Binary(String),
}

impl Attr {
    fn get(&self) -> FetchAttr {
        match self {
            Attr::Uid => FetchAttr::Uid,
            Attr::Flags => FetchAttr::Flags,
            Attr::Envelope => FetchAttr::Envelope,
            Attr::BodyStructure => FetchAttr::BodyStructure,
            Attr::Rfc822Header => FetchAttr::Rfc822Header,
            Attr::Section {
                section,
                peek,
                partial,
            } => FetchAttr::Section {
                section: section.clone(),
                peek: *peek,
                partial: *partial,
            },
            Attr::Binary(s) => FetchAttr::Binary { section: s.clone() },
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Arg {
    Raw(Vec<u8>),
    Str(Vec<u8>),
    Secret(Vec<u8>),
    Literal(Vec<u8>),
    Imaplib(String),
    Open,
    Close,
}

/// Tags and command names the library itself uses (the builder takes them
/// as they are; they are the caller's, not user data).
const TAGS: &[&[u8]] = &[b"A0", b"ABCD12", b"a1", b"TAG999999"];
const NAMES: &[&str] = &["NOOP", "CREATE", "UID FETCH", "X-CMD", "APPEND", "LOGIN"];

#[derive(Arbitrary, Debug)]
enum Op {
    /// `CommandBuilder` directly.
    Builder {
        tag: u8,
        name: u8,
        args: Vec<Arg>,
    },
    /// Sets: parse/display round trip.
    SetRoundTrip(Set),
    /// Typed mailbox commands, echoed back in a LIST response.
    Mailbox(u8, String),
    Select(String, bool),
    Rename(String, String),
    List(String, String),
    Status(String, Vec<u8>),
    Copy(Set, String, bool),
    Fetch(bool, Set, Vec<Attr>),
    Search(bool, Key),
    Store(bool, Set, u8, Vec<String>, bool),
    Append(String, Vec<String>, Option<String>, Vec<u8>),
    Expunge(Option<Set>),
    /// imaplib methods with free-form arguments.
    Create(String),
    ImapList(String, String),
    ImapSearch(Option<String>, Vec<String>),
    ImapFetch(String, String),
    ImapStore(String, String, String),
    ImapAppend(String, Option<String>, Option<String>, Vec<u8>),
    ImapUid(String, Vec<String>),
    ImapSort(String, String, Vec<String>),
    ImapCopy(String, String),
    ImapStatus(String, String),
    ImapSetAcl(String, String, String),
    /// Extension commands.
    Xatom(String, Vec<String>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    literal_plus: bool,
    literal_minus: bool,
    utf8: bool,
    /// Tag prefix for the session (`None`: a fixed one).
    prefix: Option<String>,
    ops: Vec<Op>,
}

// ----- checks ------------------------------------------------------------------------

/// The fragment invariants of `encode.rs`.
fn check_fragments(frags: &[Fragment], mode: LiteralMode) {
    assert!(!frags.is_empty());
    for (i, f) in frags.iter().enumerate() {
        match f {
            Fragment::Line(l) => {
                assert_eq!(i % 2, 0, "line where a literal belongs: {frags:?}");
                assert!(l.ends_with(b"\r\n"), "line without CRLF: {frags:?}");
                let content = &l[..l.len() - 2];
                assert!(
                    !content.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0),
                    "CR, LF or NUL on a command line: {:?}",
                    String::from_utf8_lossy(l)
                );
                let announced = literal_announcement(content);
                match frags.get(i + 1) {
                    Some(Fragment::Literal { data, sync }) => {
                        assert_eq!(announced, Some(data.len() as u64), "{frags:?}");
                        assert_eq!(*sync, !content.ends_with(b"+}"), "{frags:?}");
                        if !*sync {
                            assert!(
                                mode.literal_plus || mode.literal_minus && data.len() <= 4096,
                                "non-synchronizing literal the server does not allow: {frags:?}"
                            );
                        }
                    }
                    Some(Fragment::Line(_)) => panic!("two lines in a row: {frags:?}"),
                    None => assert!(
                        announced.is_none(),
                        "the last line announces a literal that never comes: {:?}",
                        String::from_utf8_lossy(l)
                    ),
                }
            }
            Fragment::Literal { data, .. } => {
                assert_eq!(i % 2, 1, "literal where a line belongs: {frags:?}");
                assert!(!data.contains(&0), "NUL in a literal: {frags:?}");
            }
        }
    }
    assert!(matches!(frags.last(), Some(Fragment::Line(_))));
}

fn check_set_round_trip(s: &Set) {
    if let Some(seq) = s.seq() {
        let text = seq.to_string();
        if seq.is_empty() {
            assert_eq!(text, "");
        } else {
            let back: SeqSet = text
                .parse()
                .unwrap_or_else(|e| panic!("Display of {seq:?} does not parse: {e}"));
            assert_eq!(back, seq, "SeqSet round trip via {text:?}");
            assert_eq!(back.to_string(), text);
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_digit() || b":,*".contains(&b)));
        }
    }
    if let Some(uid) = s.uid() {
        let text = uid.to_string();
        if !uid.is_empty() {
            let back: UidSet = text.parse().unwrap();
            assert_eq!(back, uid, "UidSet round trip via {text:?}");
        }
    }
    if let Set::Numbers(n) = s {
        let set = SeqSet::from_numbers(n.iter().copied());
        let mut want: Vec<u32> = n.iter().copied().filter(|&x| x > 0).collect();
        want.sort_unstable();
        want.dedup();
        let got: Vec<u32> = set.iter().collect();
        assert_eq!(got, want, "from_numbers({n:?})");
        for &x in n {
            assert_eq!(set.contains(x), x > 0);
        }
    }
}

// ----- the session -----------------------------------------------------------------

struct Harness {
    d: Driver,
}

impl Harness {
    /// Runs a command to completion; returns its tag and the bytes it
    /// wrote.
    fn run(&mut self, r: Result<Pending, SessionError>, typed: bool) -> Option<(String, Vec<u8>)> {
        let p = match r {
            Ok(p) => p,
            Err(e) => {
                let _ = e.to_string();
                return None;
            }
        };
        let tag = self.d.queued();
        let start = self.d.wire.written().len();
        let t = self
            .d
            .script(&p, &tag, format!("{tag} OK done\r\n").as_bytes());
        assert!(
            self.d.wire.at_command_boundary(),
            "command {tag} left an unfinished line or literal: {:?}",
            String::from_utf8_lossy(&self.d.wire.written()[start..])
        );
        let written = self.d.wire.written()[start..].to_vec();
        if typed {
            let _ = self.d.s.complete_typed(p, t);
        } else {
            let _ = self.d.s.complete(p, t);
        }
        Some((tag, written))
    }

    fn begin(&mut self, r: Result<Begin, SessionError>) -> Option<(String, Vec<u8>)> {
        match r {
            Ok(Begin::Sent(p)) => self.run(Ok(p), false),
            Ok(Begin::Done(_)) => None,
            Err(e) => self.run(Err(e), false),
        }
    }

    /// A mailbox name sent by a typed command comes back from LIST as it
    /// was (the wire argument after `<tag> <verb> ` is echoed verbatim).
    fn mailbox_round_trip(&mut self, verb: &str, name: &str, (tag, written): (String, Vec<u8>)) {
        let utf8 = self.d.s.utf8_enabled();
        let head = format!("{tag} {verb} ");
        let arg = written.strip_prefix(head.as_bytes()).unwrap_or_else(|| {
            panic!("unexpected command {:?}", String::from_utf8_lossy(&written))
        });
        // A non-synchronizing literal is a client form; servers send `{N}`.
        let mut echo = b"* LIST () \"/\" ".to_vec();
        match arg.windows(4).position(|w| w == b"+}\r\n") {
            Some(p) if arg[0] == b'{' && arg[..p].iter().skip(1).all(u8::is_ascii_digit) => {
                echo.extend_from_slice(&arg[..p]);
                echo.extend_from_slice(&arg[p + 1..]);
            }
            _ => echo.extend_from_slice(arg),
        }
        let outcome = TypedOutcome {
            tagged: Bytes::from_static(b"A1 OK done"),
            frames: vec![Bytes::from(echo.clone())],
            utf8,
        };
        let boxes = outcome.mailboxes().unwrap_or_default();
        let want = if name.eq_ignore_ascii_case("INBOX") {
            "INBOX"
        } else {
            name
        };
        assert_eq!(
            boxes.first().map(|b| b.name.as_str()),
            Some(want),
            "mailbox name does not round trip (utf8 mode {utf8}) via {:?}",
            String::from_utf8_lossy(&echo)
        );
    }

    fn op(&mut self, op: &Op) {
        let s = &mut self.d.s;
        match op {
            Op::Builder { tag, name, args } => {
                let tag = TAGS[usize::from(*tag) % TAGS.len()];
                let name = NAMES[usize::from(*name) % NAMES.len()];
                let mode = LiteralMode {
                    literal_plus: s.has_capability("LITERAL+"),
                    literal_minus: s.has_capability("LITERAL-"),
                    utf8: s.utf8_enabled(),
                };
                // A tag or name that is not an atom is refused up front.
                let Ok(mut c) = CommandBuilder::new(tag, name, mode) else {
                    return;
                };
                let mut depth = 0usize;
                for a in args {
                    let r = match a {
                        Arg::Raw(b) => c.raw(b).map(|_| ()),
                        Arg::Str(b) => c.string(b).map(|_| ()),
                        Arg::Secret(b) => c.secret_string(b).map(|_| ()),
                        Arg::Literal(b) => c.literal(Bytes::copy_from_slice(b)).map(|_| ()),
                        Arg::Imaplib(s) => c.imaplib_arg(s).map(|_| ()),
                        Arg::Open => {
                            depth += 1;
                            c.open_list();
                            Ok(())
                        }
                        Arg::Close => {
                            if depth > 0 {
                                depth -= 1;
                                c.close_list();
                            }
                            Ok(())
                        }
                    };
                    if let Err(e) = r {
                        let _ = e.to_string();
                    }
                }
                let (frags, trace) = c.finish_traced();
                check_fragments(&frags, mode);
                assert!(
                    !trace.contains(['\r', '\n']),
                    "line break in a trace line: {trace:?}"
                );
                let only_secrets = args
                    .iter()
                    .all(|a| matches!(a, Arg::Secret(_) | Arg::Open | Arg::Close));
                if only_secrets {
                    // Nothing of a secret may show: the trace is the tag,
                    // the name, list parentheses, literal sizes and
                    // `<redacted>`.
                    let strip = |t: &str| -> String {
                        t.replace("<redacted>", "")
                            .chars()
                            .filter(|c| !"(){}+ 0123456789".contains(*c))
                            .collect()
                    };
                    let head = format!("{}{}", String::from_utf8_lossy(tag), name);
                    assert_eq!(
                        strip(&trace),
                        strip(&head),
                        "secret shown in trace {trace:?}"
                    );
                }
            }
            Op::SetRoundTrip(set) => check_set_round_trip(set),
            Op::Mailbox(v, name) => {
                let verb = [
                    MailboxVerb::Create,
                    MailboxVerb::Delete,
                    MailboxVerb::Subscribe,
                    MailboxVerb::Unsubscribe,
                ][usize::from(*v) % 4];
                let word = ["CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE"][usize::from(*v) % 4];
                let r = s.typed_mailbox_command(verb, name);
                if let Some(w) = self.run(r, true) {
                    self.mailbox_round_trip(word, name, w);
                }
            }
            Op::Select(name, ro) => {
                let r = s.typed_select(name, *ro);
                if let Some(w) = self.run(r, true) {
                    self.mailbox_round_trip(if *ro { "EXAMINE" } else { "SELECT" }, name, w);
                }
            }
            Op::Rename(a, b) => {
                let r = s.typed_rename(a, b);
                self.run(r, true);
            }
            Op::List(a, b) => {
                let r = s.typed_list(a, b);
                self.run(r, true);
            }
            Op::Status(name, attrs) => {
                const ALL: [StatusAttr; 7] = [
                    StatusAttr::Messages,
                    StatusAttr::Recent,
                    StatusAttr::UidNext,
                    StatusAttr::UidValidity,
                    StatusAttr::Unseen,
                    StatusAttr::HighestModSeq,
                    StatusAttr::Size,
                ];
                let attrs: Vec<StatusAttr> = attrs
                    .iter()
                    .map(|&a| ALL[usize::from(a) % ALL.len()])
                    .collect();
                let r = s.typed_status(name, &attrs);
                self.run(r, true);
            }
            Op::Copy(set, name, mv) => {
                if let Some(u) = set.uid() {
                    let r = s.typed_copy(SetArg::Uid(&u), name, *mv);
                    self.run(r, true);
                }
            }
            Op::Fetch(uid, set, attrs) => {
                let attrs: Vec<FetchAttr> = attrs.iter().map(Attr::get).collect();
                let r = if *uid {
                    set.uid().map(|u| s.typed_fetch(SetArg::Uid(&u), &attrs))
                } else {
                    set.seq().map(|q| s.typed_fetch(SetArg::Seq(&q), &attrs))
                };
                if let Some(r) = r {
                    self.run(r, true);
                }
            }
            Op::Search(uid, key) => {
                let r = s.typed_search(*uid, &key.get(0));
                self.run(r, true);
            }
            Op::Store(uid, set, op, flags, silent) => {
                let op = [StoreOp::Replace, StoreOp::Add, StoreOp::Remove][usize::from(*op) % 3];
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                let r = if *uid {
                    set.uid()
                        .map(|u| s.typed_store(SetArg::Uid(&u), op, &flags, *silent))
                } else {
                    set.seq()
                        .map(|q| s.typed_store(SetArg::Seq(&q), op, &flags, *silent))
                };
                if let Some(r) = r {
                    self.run(r, true);
                }
            }
            Op::Append(name, flags, date, msg) => {
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                let r = s.typed_append(name, &flags, date.as_deref(), Bytes::copy_from_slice(msg));
                self.run(r, true);
            }
            Op::Expunge(set) => {
                let u = set.as_ref().and_then(Set::uid);
                let r = s.typed_expunge(u.as_ref());
                self.run(r, true);
            }
            Op::Create(m) => {
                let r = s.create(m);
                self.begin(r);
            }
            Op::ImapList(a, b) => {
                let r = s.list(a, b);
                self.begin(r);
            }
            Op::ImapSearch(cs, crit) => {
                let crit: Vec<&str> = crit.iter().map(String::as_str).collect();
                let r = s.search(cs.as_deref(), &crit);
                self.begin(r);
            }
            Op::ImapFetch(set, parts) => {
                let r = s.fetch(set, parts);
                self.begin(r);
            }
            Op::ImapStore(set, cmd, flags) => {
                let r = s.store(set, cmd, flags);
                self.begin(r);
            }
            Op::ImapAppend(m, flags, date, msg) => {
                let r = s.append(m, flags.as_deref(), date.as_deref(), msg);
                self.begin(r);
            }
            Op::ImapUid(cmd, args) => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = s.uid(cmd, &args);
                self.begin(r);
            }
            Op::ImapSort(sc, cs, crit) => {
                let crit: Vec<&str> = crit.iter().map(String::as_str).collect();
                let r = s.sort(sc, cs, &crit);
                self.begin(r);
            }
            Op::ImapCopy(set, m) => {
                let r = s.copy(set, m);
                self.begin(r);
            }
            Op::ImapStatus(m, names) => {
                let r = s.status(m, names);
                self.begin(r);
            }
            Op::ImapSetAcl(m, who, what) => {
                let r = s.setacl(m, who, what);
                self.begin(r);
            }
            Op::Xatom(name, args) => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = s.xatom(name, &args);
                self.begin(r);
            }
        }
    }
}

/// A session in SELECTED state with the capabilities `input` asks for.
fn setup(input: &Input) -> Option<Driver> {
    let prefix = input.prefix.as_deref().unwrap_or("T");
    let mut d = Driver::new(Limits::default(), prefix);
    d.s.set_tracing(true);
    d.greet(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    let mut caps = String::from("IMAP4rev1 ENABLE UIDPLUS MOVE");
    if input.literal_plus {
        caps.push_str(" LITERAL+");
    }
    if input.literal_minus {
        caps.push_str(" LITERAL-");
    }
    let p = match d.s.refresh_capabilities() {
        Ok(b) => b.pending()?,
        Err(e) => {
            // A tag prefix that is not a tag is refused, nothing queued.
            assert!(e.to_string().contains("invalid tag"), "{e}");
            assert!(d.s.take_output().is_none(), "a refused command went out");
            return None;
        }
    };
    let tag = d.queued();
    let t = d.script(
        &p,
        &tag,
        format!("* CAPABILITY {caps}\r\n{tag} OK\r\n").as_bytes(),
    );
    d.s.complete(p, t).ok()?;
    let p = d.s.login("alice", "secret").unwrap().pending().unwrap();
    let tag = d.queued();
    let t = d.script(&p, &tag, format!("{tag} OK\r\n").as_bytes());
    d.s.complete(p, t).ok()?;
    if input.utf8 {
        let p = d.s.enable("UTF8=ACCEPT").unwrap().pending().unwrap();
        let tag = d.queued();
        let t = d.script(
            &p,
            &tag,
            format!("* ENABLED UTF8=ACCEPT\r\n{tag} OK\r\n").as_bytes(),
        );
        d.s.complete(p, t).ok()?;
        assert!(d.s.utf8_enabled());
    }
    let p = d.s.typed_select("INBOX", false).unwrap();
    let tag = d.queued();
    let t = d.script(&p, &tag, format!("{tag} OK [READ-WRITE]\r\n").as_bytes());
    d.s.complete_typed(p, t).ok()?;
    Some(d)
}

fuzz_target!(|input: Input| {
    let Some(d) = setup(&input) else {
        return;
    };
    let mut h = Harness { d };
    for op in input.ops.iter().take(32) {
        h.op(op);
    }
    for t in h.d.s.drain_trace() {
        let _ = format!("{t:?}");
    }
});
