//! A greeted session with commands in flight, fed the fuzz input as the
//! server's bytes.
//!
//! Input layout:
//! `[flags] [4 limit bytes if flags >= 0x80] [k] [k command bytes]
//! [n] [n chunk sizes] [server bytes...]`
//!
//! `flags`: bits 0-1 the state the session is brought to by a scripted
//! exchange before the fuzz bytes (0 NONAUTH, 1 AUTH, 2-3 SELECTED), bit 2
//! whether the server advertises LITERAL+, bit 3 tracing, bit 7 small
//! limits (applied once the scripted exchange is over). Each command byte
//! queues one command (pipelined, all before any fuzz byte arrives): NOOP,
//! FETCH, APPEND (synchronizing literal waiting for `+`), AUTHENTICATE
//! (challenges answered), STARTTLS, typed FETCH/SEARCH/SELECT/STORE/...
//!
//! Every pending command is polled after every chunk until it needs input,
//! completes or fails; completed commands are completed with
//! `complete`/`complete_typed` and their results inspected. At the end the
//! server closes the connection and everything still pending is failed.
//!
//! Asserted: no panic, and the bytes the session writes are well-formed
//! (see `imap4_fuzz::WireChecker`): all arguments are fixed and valid, so
//! no CR, LF or NUL may appear on a command line, every announced literal
//! is sent in full, and no synchronizing literal goes out before a `+`.
#![no_main]

use bytes::Bytes;
use imap4_fuzz::{byte, chunks, limits_from, take, Driver};
use imap4_proto::command::{Date, FetchAttr, SearchKey, SeqSet, StatusAttr, StoreOp, UidSet};
use imap4_proto::typed::{SetArg, TypedOutcome};
use imap4_proto::{Begin, Limits, Pending, Poll, SessionError, Tagged};
use libfuzzer_sys::fuzz_target;

const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\nline two\r\n";

struct InFlight {
    pending: Pending,
    tag: String,
    typed: bool,
}

/// A queued command's first result.
enum Q {
    Plain(Result<Begin, SessionError>),
    Typed(Result<Pending, SessionError>),
}

struct Harness {
    d: Driver,
    pending: Vec<InFlight>,
    challenges: usize,
}

impl Harness {
    fn begin(&mut self, r: Result<Begin, SessionError>) {
        match r {
            Ok(Begin::Sent(p)) => {
                let tag = self.d.queued();
                self.pending.push(InFlight {
                    pending: p,
                    tag,
                    typed: false,
                });
            }
            Ok(Begin::Done(r)) => {
                let _ = format!("{r:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        self.d.flush();
    }

    fn begin_typed(&mut self, r: Result<Pending, SessionError>) {
        match r {
            Ok(p) => {
                let tag = self.d.queued();
                self.pending.push(InFlight {
                    pending: p,
                    tag,
                    typed: true,
                });
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        self.d.flush();
    }

    fn queue(&mut self, which: u8) {
        let all = UidSet::all();
        let some: SeqSet = "1:3,5".parse().unwrap();
        let s = &mut self.d.s;
        let q = match which % 28 {
            0 => Q::Plain(s.noop()),
            1 => Q::Plain(s.fetch("1:*", "(UID FLAGS BODY.PEEK[])")),
            2 => Q::Plain(s.append("INBOX", Some("\\Seen"), None, MESSAGE)),
            3 => Q::Plain(s.authenticate("PLAIN")),
            4 => Q::Plain(s.starttls()),
            5 => Q::Typed(s.typed_fetch(
                SetArg::Uid(&all),
                &[
                    FetchAttr::Uid,
                    FetchAttr::Flags,
                    FetchAttr::Envelope,
                    FetchAttr::BodyStructure,
                    FetchAttr::full_peek(),
                    FetchAttr::Binary {
                        section: "1".into(),
                    },
                    FetchAttr::Rfc822Size,
                    FetchAttr::InternalDate,
                    FetchAttr::ModSeq,
                ],
            )),
            6 => Q::Typed(s.typed_search(
                true,
                &SearchKey::And(vec![
                    SearchKey::From("x\r\ny".into()),
                    SearchKey::Not(Box::new(SearchKey::Seen)),
                    SearchKey::Or(
                        Box::new(SearchKey::Subject("é".into())),
                        Box::new(SearchKey::Larger(10)),
                    ),
                    SearchKey::Since(Date {
                        year: 2024,
                        month: 2,
                        day: 1,
                    }),
                ]),
            )),
            7 => Q::Typed(s.typed_select("Entwürfe", true)),
            8 => Q::Typed(s.typed_store(
                SetArg::Seq(&some),
                StoreOp::Add,
                &["\\Seen", "$Junk"],
                false,
            )),
            9 => Q::Typed(s.typed_list("", "*")),
            10 => Q::Typed(s.typed_status(
                "INBOX",
                &[
                    StatusAttr::Messages,
                    StatusAttr::UidNext,
                    StatusAttr::UidValidity,
                    StatusAttr::Unseen,
                    StatusAttr::HighestModSeq,
                    StatusAttr::Size,
                ],
            )),
            11 => Q::Typed(s.typed_append(
                "Drafts",
                &["\\Draft"],
                Some("01-Jan-2024 00:00:00 +0000"),
                Bytes::from_static(MESSAGE),
            )),
            12 => Q::Typed(s.typed_copy(SetArg::Uid(&all), "Archive", true)),
            13 => Q::Typed(s.typed_expunge(Some(&UidSet::from(1..=3)))),
            14 => Q::Plain(s.logout()),
            15 => Q::Plain(s.select("INBOX", false)),
            16 => Q::Plain(s.search(None, &["ALL"])),
            17 => Q::Plain(s.capability()),
            18 => Q::Plain(s.status("INBOX", "(MESSAGES UIDNEXT)")),
            19 => Q::Plain(s.getquotaroot("INBOX")),
            20 => Q::Typed(s.typed_noop()),
            21 => Q::Plain(s.recent()),
            22 => Q::Plain(s.enable("UTF8=ACCEPT")),
            23 => Q::Plain(s.uid("FETCH", &["1:*", "(FLAGS)"])),
            24 => Q::Plain(s.list("", "*")),
            25 => Q::Typed(s.typed_close(true)),
            26 => Q::Plain(s.namespace()),
            _ => Q::Plain(s.login("bob", "pass\r\nword")),
        };
        match q {
            Q::Plain(r) => self.begin(r),
            Q::Typed(r) => self.begin_typed(r),
        }
    }

    fn finish(&mut self, f: InFlight, outcome: Result<Tagged, SessionError>) {
        self.d.wire.command_done(f.tag.as_bytes());
        if f.typed {
            match self.d.s.complete_typed(f.pending, outcome) {
                Ok(o) => inspect(o),
                Err(e) => {
                    let _ = e.to_string();
                    let _ = e.server_reply();
                }
            }
        } else {
            let starttls = f.pending.is_starttls();
            match self.d.s.complete(f.pending, outcome) {
                Ok(r) => {
                    let _ = format!("{r:?}");
                    if starttls {
                        // The driver would now run the TLS handshake.
                        assert!(
                            !self.d.s.has_unprocessed(),
                            "STARTTLS completed with plaintext bytes buffered"
                        );
                        self.d.s.tls_established();
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                    let _ = e.kind();
                }
            }
        }
        self.d.flush();
    }

    /// Polls every pending command until none makes progress.
    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            let mut i = 0;
            while i < self.pending.len() {
                let r = self.d.s.poll(&self.pending[i].pending);
                match r {
                    Ok(Poll::NeedInput) => i += 1,
                    Ok(Poll::Challenge(c)) => {
                        self.challenges += 1;
                        // Echo the challenge back; give up after a few.
                        let answer = (self.challenges <= 4).then_some(&c[..]);
                        self.d.s.answer_challenge(&self.pending[i].pending, answer);
                        progressed = true;
                        i += 1;
                    }
                    Ok(Poll::Done(t)) => {
                        let f = self.pending.remove(i);
                        self.finish(f, Ok(t));
                        progressed = true;
                    }
                    Err(e) => {
                        let f = self.pending.remove(i);
                        self.finish(f, Err(e));
                        progressed = true;
                    }
                }
                self.d.flush();
            }
            if !progressed {
                break;
            }
        }
    }
}

fn inspect(o: TypedOutcome) {
    let _ = format!("{:?}", o.code());
    let _ = format!("{:?}", o.selected(false));
    let _ = o.search_ranges();
    let _ = format!("{:?}", o.mailboxes());
    let _ = format!("{:?}", o.status());
    let _ = format!("{:?}", o.uid_mapping());
    let _ = o.expunged();
    let _ = o.status_kind();
    for f in o.into_fetches().iter() {
        let _ = format!("{f:?}");
    }
}

/// Brings a fresh session to the state `flags` asks for.
fn setup(flags: u8) -> Driver {
    let mut d = Driver::new(Limits::default(), "A");
    d.s.set_tracing(flags & 8 != 0);
    d.greet(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    let p = d.s.refresh_capabilities().unwrap().pending().unwrap();
    let tag = d.queued();
    let caps = if flags & 4 != 0 {
        "IMAP4rev1 STARTTLS AUTH=PLAIN ENABLE UIDPLUS MOVE LITERAL+"
    } else {
        "IMAP4rev1 STARTTLS AUTH=PLAIN ENABLE UIDPLUS MOVE"
    };
    let reply = format!("* CAPABILITY {caps}\r\n{tag} OK done\r\n");
    let t = d.script(&p, &tag, reply.as_bytes());
    d.s.complete(p, t).unwrap();
    if flags & 3 >= 1 {
        let p = d.s.login("alice", "secret").unwrap().pending().unwrap();
        let tag = d.queued();
        let t = d.script(&p, &tag, format!("{tag} OK logged in\r\n").as_bytes());
        d.s.complete(p, t).unwrap();
    }
    if flags & 3 >= 2 {
        let p = d.s.typed_select("INBOX", false).unwrap();
        let tag = d.queued();
        let reply = format!(
            "* 3 EXISTS\r\n* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK [READ-WRITE] done\r\n"
        );
        let t = d.script(&p, &tag, reply.as_bytes());
        d.s.complete_typed(p, t).unwrap();
    }
    d
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let flags = byte(&mut data);
    let limits = limits_from(flags, &mut data);
    let k = 1 + usize::from(byte(&mut data) % 4);
    let commands = take(&mut data, k);
    let n = usize::from(byte(&mut data) % 16);
    let sizes = take(&mut data, n);

    let mut h = Harness {
        d: setup(flags),
        pending: Vec::new(),
        challenges: 0,
    };
    h.d.s.set_limits(limits);
    for &c in commands {
        h.queue(c);
    }
    for chunk in chunks(data, sizes) {
        h.d.s.receive(chunk);
        h.pump();
    }
    let e = h.d.s.receive_eof();
    let _ = e.to_string();
    h.pump();
    assert!(
        h.pending.is_empty(),
        "commands still pending after EOF: {:?}",
        h.pending
            .iter()
            .map(|f| f.pending.name())
            .collect::<Vec<_>>()
    );

    let s = &mut h.d.s;
    let _ = format!("{:?}", s.untagged_responses());
    let _ = format!("{:?}", s.response("FETCH"));
    let _ = (s.state(), s.capabilities().len(), s.protocol_version());
    let _ = (s.welcome(), s.continuation_response(), s.is_broken());
    let _ = s.drain_trace();
});
