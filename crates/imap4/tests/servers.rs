//! The typed API, the async driver, every transport and IDLE against each
//! real server of the test kit: Dovecot, Cyrus, Courier and GNU Mailutils.
//! One test per (suite, server), so a failure names the server.
//!
//! Where a server differs, the test branches on [`Quirks`], the
//! capabilities or the [`Kind`], with a comment naming the difference.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use imap4::sasl::AutoLogin;
use imap4::typed::{
    BodySpecific, BodyStructure, Fetch, FetchAttr, FetchItem, SearchKey, StatusAttr, StoreOp,
    UidSet,
};
use imap4::{Config, Event, Imap4, State, TlsOptions};
use imap4_testkit::{generate, message_id, GeneratedMessage, ImapServer, Kind, Quirks};

const SEED: u64 = 17;
const COUNT: usize = 12;
/// A failsafe against a hanging server; never reached when all is well.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long IDLE may take to report new mail: Courier polls every 5 s,
/// Mailutils notices only a new whole-second mtime.
const IDLE_WITHIN: Duration = Duration::from_secs(30);

/// What `uid_fetch_streamed` handed out: each message's streamed body,
/// and the FETCH responses (with their bodies empty).
#[derive(Default)]
struct StreamedBodies {
    bodies: std::collections::BTreeMap<u32, Vec<u8>>,
    current: Option<u32>,
    fetched: Vec<(u32, Option<u32>, usize)>,
}

impl StreamedBodies {
    fn take(&mut self, part: imap4::typed::FetchPart<'_>) {
        use imap4::typed::FetchPart;
        match part {
            FetchPart::BodyStart { seq, section, size } => {
                assert_eq!(section, "BODY[]");
                assert!(self
                    .bodies
                    .insert(seq, Vec::with_capacity(size as usize))
                    .is_none());
                self.current = Some(seq);
            }
            FetchPart::BodyData(d) => self
                .bodies
                .get_mut(&self.current.expect("data before a start"))
                .unwrap()
                .extend_from_slice(d),
            FetchPart::Fetch(f) => {
                let empty = f.section("").map_or(usize::MAX, <[u8]>::len);
                self.fetched.push((f.seq, f.uid(), empty));
                self.current = None;
            }
            _ => {}
        }
    }

    fn check(&self, kind: Kind, count: usize) {
        assert_eq!(self.bodies.len(), count, "{kind}: bodies");
        for (&seq, body) in &self.bodies {
            let index = seq as usize - 1;
            assert!(
                body == &generate(SEED, index).to_crlf(),
                "{kind}: streamed body of message {index} differs"
            );
        }
        assert_eq!(self.fetched.len(), count, "{kind}: FETCH responses");
        for &(seq, uid, body_len) in &self.fetched {
            assert!(uid.is_some(), "{kind}: message {seq} without UID");
            assert_eq!(body_len, 0, "{kind}: a streamed body is empty in its FETCH");
        }
    }
}

fn start(kind: Kind, count: usize, seed: u64) -> Box<dyn ImapServer> {
    kind.builder()
        .messages("alice", count, seed)
        .start()
        .unwrap_or_else(|e| panic!("{kind} does not start: {e}"))
}

fn config() -> Config {
    Config {
        read_timeout: Some(TIMEOUT),
        ..Config::default()
    }
}

fn tls(s: &dyn ImapServer) -> TlsOptions {
    TlsOptions::new().ca_file(s.ca_file())
}

fn has_cap(caps: &[String], cap: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
}

/// Connects in plaintext and logs in with LOGIN.
fn login(s: &dyn ImapServer) -> Imap4 {
    let kind = s.kind();
    let mut m = Imap4::connect_with(s.host(), s.port(), config())
        .unwrap_or_else(|e| panic!("{kind}: connect: {e}"));
    m.login(&s.login_name("alice"), s.password())
        .unwrap_or_else(|e| panic!("{kind}: login: {e}"));
    m
}

/// A header of a generated message, unfolded, whitespace runs collapsed.
fn header(msg: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(msg);
    let head = text.split("\n\n").next().unwrap_or_default();
    let mut value: Option<String> = None;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push_str(line);
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                value = Some(v.to_string());
            }
        }
    }
    value.map(|v| collapse(&v))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The flags of a FETCH, without `\Recent` (a session property).
fn flag_set(f: &Fetch<'_>) -> BTreeSet<String> {
    f.flags()
        .expect("FLAGS")
        .iter()
        .filter(|fl| !fl.is("\\Recent"))
        .map(|fl| fl.0.to_str_lossy().to_ascii_lowercase())
        .collect()
}

fn wanted_flags(g: &GeneratedMessage) -> BTreeSet<String> {
    g.imap_flags()
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .collect()
}

/// Every item of a FETCH was parsed.
fn assert_parsed(kind: Kind, f: &Fetch<'_>) {
    assert!(
        f.items
            .iter()
            .all(|i| !matches!(i, FetchItem::Other { .. })),
        "{kind}: unparsed item in {f:?}"
    );
}

/// Seconds since the epoch of an INTERNALDATE (`" 1-Jan-2020 10:00:00 +0000"`
/// with Cyrus's space padding, or zero padded).
fn internal_date_secs(date: &[u8]) -> i64 {
    let quoted = format!("INTERNALDATE \"{}\"", String::from_utf8_lossy(date));
    imap4::internaldate2tuple(quoted.as_bytes())
        .unwrap_or_else(|| panic!("bad INTERNALDATE {quoted}"))
        .timestamp()
}

fn internal_date(f: &Fetch<'_>) -> i64 {
    f.items
        .iter()
        .find_map(|i| match i {
            FetchItem::InternalDate(d) => Some(internal_date_secs(d.as_bytes())),
            _ => None,
        })
        .expect("INTERNALDATE")
}

fn rfc822_size(f: &Fetch<'_>) -> u64 {
    f.items
        .iter()
        .find_map(|i| match i {
            FetchItem::Rfc822Size(n) => Some(*n),
            _ => None,
        })
        .expect("RFC822.SIZE")
}

/// The top-level `type/subtype` of a body structure, lower case.
fn media_type(b: &BodyStructure<'_>) -> String {
    match b {
        BodyStructure::Single { fields, .. } => format!(
            "{}/{}",
            fields.media_type.to_str_lossy(),
            fields.subtype.to_str_lossy()
        ),
        BodyStructure::Multi { subtype, .. } => format!("multipart/{}", subtype.to_str_lossy()),
    }
    .to_ascii_lowercase()
}

/// The `type/subtype` of a generated message's Content-Type, lower case.
fn content_type(msg: &[u8]) -> String {
    let ct = header(msg, "Content-Type").expect("Content-Type");
    ct.split(';').next().unwrap().trim().to_ascii_lowercase()
}

/// A message forwarding generated message `index` as a message/rfc822
/// part (CRLF line ends).
fn forward(seed: u64, index: usize) -> Vec<u8> {
    let inner = generate(seed, index).to_crlf();
    let mut out = b"From: Fwd <fwd@example.org>\r\n\
        To: alice@example.org\r\n\
        Subject: Fwd: a message\r\n\
        Date: Mon, 06 Jan 2020 10:00:00 +0000\r\n\
        Message-ID: <fwd.1@example.org>\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
        \r\n\
        --b1\r\n\
        Content-Type: text/plain; charset=us-ascii\r\n\
        \r\n\
        See below.\r\n\
        --b1\r\n\
        Content-Type: message/rfc822\r\n\
        \r\n"
        .to_vec();
    out.extend_from_slice(&inner);
    out.extend_from_slice(b"\r\n--b1--\r\n");
    out
}

/// Checks one FETCH of UID, FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE and
/// BODYSTRUCTURE against generated message `index`.
fn check_metadata(s: &dyn ImapServer, f: &Fetch<'_>, index: usize) {
    let kind = s.kind();
    let g = generate(SEED, index);
    assert_parsed(kind, f);
    assert!(f.uid().is_some(), "{kind}: no UID in {f:?}");
    let env = f.envelope().unwrap_or_else(|| panic!("{kind}: {f:?}"));
    assert_eq!(
        env.message_id
            .as_ref()
            .map(|m| m.to_str_lossy().into_owned()),
        Some(message_id(SEED, index)),
        "{kind}: message-id of {index}"
    );
    assert_eq!(
        env.subject.as_ref().map(|m| collapse(&m.to_str_lossy())),
        header(&g.bytes, "Subject"),
        "{kind}: subject of {index}"
    );
    assert!(!env.from.is_empty(), "{kind}: from of {index}");
    assert_eq!(
        rfc822_size(f),
        g.crlf_len() as u64,
        "{kind}: size of {index}"
    );
    assert_eq!(flag_set(f), wanted_flags(&g), "{kind}: flags of {index}");
    if s.quirks().append_keeps_date {
        assert_eq!(internal_date(f), g.unix_time, "{kind}: date of {index}");
    }
    let bs = f
        .body_structure()
        .unwrap_or_else(|| panic!("{kind}: no BODYSTRUCTURE {f:?}"));
    assert_eq!(
        media_type(bs),
        content_type(&g.bytes),
        "{kind}: type of {index}"
    );
}

/// Every SASL mechanism the server offers of PLAIN, LOGIN, CRAM-MD5 and
/// SCRAM, each on a fresh plaintext connection.
fn sasl_logins(s: &dyn ImapServer) {
    use imap4::sasl::{CramMd5, Login, Mechanism, Plain, Scram, ScramHash};
    let kind = s.kind();
    let user = s.login_name("alice");
    let caps = Imap4::connect_with(s.host(), s.port(), config())
        .unwrap()
        .capabilities()
        .to_vec();
    let mut tried = Vec::new();
    for name in ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"] {
        if !has_cap(&caps, &format!("AUTH={name}")) {
            continue;
        }
        let mut mech: Box<dyn Mechanism> = match name {
            "PLAIN" => Box::new(Plain::new(&user, s.password())),
            "LOGIN" => Box::new(Login::new(&user, s.password())),
            "CRAM-MD5" => Box::new(CramMd5::new(&user, s.password())),
            "SCRAM-SHA-1" => Box::new(Scram::new(ScramHash::Sha1, &user, s.password())),
            _ => Box::new(Scram::new(ScramHash::Sha256, &user, s.password())),
        };
        let mut m = Imap4::connect_with(s.host(), s.port(), config()).unwrap();
        m.typed()
            .authenticate(&mut *mech)
            .unwrap_or_else(|e| panic!("{kind}: AUTHENTICATE {name}: {e}"));
        assert_eq!(m.state(), State::Auth, "{kind}: {name}");
        assert_eq!(m.noop().unwrap().typ, "OK", "{kind}: {name}");
        m.logout().unwrap();
        tried.push(name);
    }
    eprintln!("{kind}: SASL {tried:?}");
    assert!(!tried.is_empty(), "{kind}: no SASL mechanism in {caps:?}");
}

// ----- 1. the typed API (blocking) ------------------------------------------

fn typed_suite(kind: Kind) {
    let s = start(kind, COUNT, SEED);
    let s = &*s;
    let q: Quirks = s.quirks();
    let ns = s.namespace();
    let mut m = Imap4::connect_with(s.host(), s.port(), config())
        .unwrap_or_else(|e| panic!("{kind}: connect: {e}"));
    assert_eq!(m.state(), State::NonAuth);

    // Login: the strongest method offered (SASL where there is one); the
    // capabilities afterwards are what CAPABILITY says.
    let auto = AutoLogin {
        danger_allow_plaintext_password: true,
        ..AutoLogin::default()
    };
    let method = m
        .typed()
        .login_auto_with(&s.login_name("alice"), s.password(), &auto)
        .unwrap_or_else(|e| panic!("{kind}: login_auto: {e}"));
    assert_eq!(m.state(), State::Auth, "{kind}: after {method:?}");
    let after_login: BTreeSet<String> = m.capabilities().iter().cloned().collect();
    m.capability().unwrap();
    let asked: BTreeSet<String> = m.capabilities().iter().cloned().collect();
    assert_eq!(after_login, asked, "{kind}: capabilities not refreshed");
    assert!(has_cap(m.capabilities(), "IMAP4REV1"), "{kind}");
    let caps = m.capabilities().to_vec();
    sasl_logins(s);

    // LIST: the kit's folders in the server's namespace, with its delimiter.
    let boxes = m.typed().list("", "*").unwrap();
    for b in &boxes {
        if b.name == "INBOX" && b.has_attribute("\\NoInferiors") {
            // Mailutils: INBOX is outside the hierarchy, `(\NoInferiors)
            // NIL INBOX`.
            assert!(b.delimiter.is_none() || b.delimiter == Some(ns.delimiter));
        } else {
            assert_eq!(b.delimiter, Some(ns.delimiter), "{kind}: {b:?}");
        }
    }
    let names: BTreeSet<&str> = boxes.iter().map(|b| b.name.as_str()).collect();
    for folder in ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"] {
        let want = s.mailbox(folder);
        assert!(
            names.contains(want.as_str()),
            "{kind}: no {want} in {names:?}"
        );
    }
    if has_cap(&caps, "SPECIAL-USE") {
        // Cyrus sends the special-use attributes in lower case (`\sent`):
        // they compare case-insensitively.
        for use_ in ["Drafts", "Sent", "Trash", "Junk", "Archive"] {
            let name = s.mailbox(use_);
            let b = boxes.iter().find(|b| b.name == name).unwrap();
            assert!(b.has_attribute(&format!("\\{use_}")), "{kind}: {b:?}");
        }
    }

    // CREATE, RENAME, DELETE with non-ASCII names (modified UTF-7).
    let first = s.mailbox("Entwürfe & Пробы");
    let target = s.mailbox("Geprüft ✓");
    m.typed()
        .create(&first)
        .unwrap_or_else(|e| panic!("{kind}: create {first}: {e}"));
    let boxes = m.typed().list("", "*").unwrap();
    let found = boxes
        .iter()
        .find(|b| b.name == first)
        .unwrap_or_else(|| panic!("{kind}: {first} not in {boxes:?}"));
    assert!(found.raw_name.is_ascii(), "{kind}: sent as modified UTF-7");
    m.typed()
        .rename(&first, &target)
        .unwrap_or_else(|e| panic!("{kind}: rename: {e}"));
    let boxes = m.typed().list("", "*").unwrap();
    assert!(boxes.iter().any(|b| b.name == target), "{kind}: {boxes:?}");
    assert!(!boxes.iter().any(|b| b.name == first), "{kind}: {boxes:?}");
    let missing = m.typed().rename(&s.mailbox("no such box"), &s.mailbox("x"));
    if q.rename_missing_fails {
        assert!(missing.unwrap_err().is_error(), "{kind}");
    } else {
        // Courier answers OK to RENAME of a missing mailbox.
        missing.unwrap();
    }
    let scratch = s.mailbox("Scratch");
    m.typed().create(&scratch).unwrap();
    m.typed().delete(&scratch).unwrap();
    assert!(!m
        .typed()
        .list("", "*")
        .unwrap()
        .iter()
        .any(|b| b.name == scratch));

    // SELECT INBOX.
    let inbox = m.typed().select("INBOX").unwrap();
    assert_eq!(inbox.exists, COUNT as u32, "{kind}: {inbox:?}");
    assert!(inbox.uid_validity.is_some(), "{kind}: {inbox:?}");
    assert!(!inbox.read_only);
    assert_eq!(m.state(), State::Selected);

    let uids = m.typed().uid_search(&SearchKey::All).unwrap();
    let uid_list: Vec<u32> = uids.iter().collect();
    assert_eq!(uid_list.len(), COUNT, "{kind}: {uid_list:?}");
    if q.select_uidnext {
        let next = inbox
            .uid_next
            .unwrap_or_else(|| panic!("{kind}: {inbox:?}"));
        assert!(next > *uid_list.last().unwrap(), "{kind}: {inbox:?}");
    } else {
        // Courier: no [UIDNEXT] in SELECT (STATUS has it).
        assert_eq!(inbox.uid_next, None, "{kind}");
    }
    if q.dense_uids {
        assert_eq!(uid_list, (1..=COUNT as u32).collect::<Vec<_>>(), "{kind}");
    }

    // Metadata of every message, against what was generated.
    let fetches = m
        .typed()
        .uid_fetch(
            &uids,
            &[
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::BodyStructure,
            ],
        )
        .unwrap();
    let mut seen = 0;
    let mut uid_of = [0u32; COUNT];
    for f in fetches.iter() {
        let f = f.unwrap_or_else(|e| panic!("{kind}: {e}"));
        let index = f.seq as usize - 1;
        check_metadata(s, &f, index);
        uid_of[index] = f.uid().unwrap();
        seen += 1;
    }
    assert_eq!(seen, COUNT, "{kind}");

    // Whole bodies, byte for byte; one streamed in chunks too.
    let bodies = m
        .typed()
        .uid_fetch(&uids, &[FetchAttr::Uid, FetchAttr::full_peek()])
        .unwrap();
    let mut seen = 0;
    for f in bodies.iter() {
        let f = f.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_parsed(kind, &f);
        let index = f.seq as usize - 1;
        let body = f.section("").unwrap_or_else(|| panic!("{kind}: {f:?}"));
        assert!(
            body == &generate(SEED, index).to_crlf()[..],
            "{kind}: body of message {index} differs"
        );
        seen += 1;
    }
    assert_eq!(seen, COUNT, "{kind}");
    let mut streamed = Vec::new();
    m.typed()
        .uid_fetch_body_to_chunked(uid_of[3], "", &mut streamed, 1000)
        .unwrap();
    assert!(
        streamed == generate(SEED, 3).to_crlf(),
        "{kind}: streamed body"
    );
    // One body in one FETCH, and every body streamed in one UID FETCH.
    let mut streamed = Vec::new();
    m.typed()
        .uid_fetch_body_to(uid_of[1], "", &mut streamed)
        .unwrap();
    assert!(
        streamed == generate(SEED, 1).to_crlf(),
        "{kind}: body in one fetch"
    );
    let mut parts = StreamedBodies::default();
    let n = m
        .typed()
        .uid_fetch_streamed(&uids, &[FetchAttr::Uid, FetchAttr::full_peek()], |p| {
            parts.take(p);
            Ok(())
        })
        .unwrap();
    assert_eq!(n as usize, COUNT, "{kind}");
    parts.check(kind, COUNT);

    // STORE: the answer holds the new flags; .SILENT ones are checked with
    // a FETCH (Cyrus may still answer a silent STORE with FETCH lines).
    let changed = m
        .typed()
        .uid_store(
            &UidSet::single(uid_of[1]),
            StoreOp::Add,
            &["\\Flagged"],
            false,
        )
        .unwrap();
    let mut answered = 0;
    for f in changed.iter() {
        let f = f.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_parsed(kind, &f);
        if f.seq == 2 {
            assert!(flag_set(&f).contains("\\flagged"), "{kind}: {f:?}");
            answered += 1;
        }
    }
    assert_eq!(answered, 1, "{kind}: STORE answer");
    let silent = m
        .typed()
        .uid_store(
            &UidSet::single(uid_of[2]),
            StoreOp::Replace,
            &["\\Draft"],
            true,
        )
        .unwrap();
    for f in silent.iter() {
        assert_parsed(kind, &f.unwrap_or_else(|e| panic!("{kind}: {e}")));
    }
    let check = m
        .typed()
        .uid_fetch(
            &UidSet::single(uid_of[2]),
            &[FetchAttr::Uid, FetchAttr::Flags],
        )
        .unwrap();
    let f = check.iter().next().unwrap().unwrap();
    assert_eq!(
        flag_set(&f),
        BTreeSet::from(["\\draft".to_string()]),
        "{kind}: {f:?}"
    );
    let flagged = m.typed().uid_search(&SearchKey::Flagged).unwrap();
    assert!(flagged.contains(uid_of[1]), "{kind}: {flagged:?}");

    // COPY (UIDPLUS mapping where offered), MOVE where offered.
    let copied = m
        .typed()
        .uid_copy(&UidSet::from_numbers([uid_of[0], uid_of[1]]), &target)
        .unwrap_or_else(|e| panic!("{kind}: copy: {e}"));
    if has_cap(&caps, "UIDPLUS") {
        let map = copied.unwrap_or_else(|| panic!("{kind}: no COPYUID"));
        assert_eq!(map.destination.iter().count(), 2, "{kind}: {map:?}");
    }
    let mut in_target = 2;
    let mut exists = COUNT as u32;
    if has_cap(&caps, "MOVE") {
        m.typed()
            .uid_move(&UidSet::single(uid_of[COUNT - 1]), &target)
            .unwrap_or_else(|e| panic!("{kind}: move: {e}"));
        in_target += 1;
        exists -= 1;
        assert_eq!(
            m.mailbox_state().unwrap().exists,
            exists,
            "{kind}: after MOVE"
        );
    }

    // EXPUNGE: message 0 goes, its sequence number 1 is reported.
    m.typed()
        .uid_store(
            &UidSet::single(uid_of[0]),
            StoreOp::Add,
            &["\\Deleted"],
            true,
        )
        .unwrap();
    let gone = m
        .typed()
        .expunge()
        .unwrap_or_else(|e| panic!("{kind}: expunge: {e}"));
    assert_eq!(gone, vec![1], "{kind}");
    exists -= 1;
    assert_eq!(m.mailbox_state().unwrap().exists, exists, "{kind}");
    let left = m.typed().uid_search(&SearchKey::All).unwrap();
    assert!(!left.contains(uid_of[0]), "{kind}: {left:?}");
    assert_eq!(left.iter().count() as u32, exists, "{kind}");

    // APPEND with flags and a date; a forwarded message (message/rfc822).
    let date = "01-Jan-2020 10:00:00 +0000";
    let date_secs = 1_577_872_800;
    let g = generate(SEED, 5);
    let appended = m
        .typed()
        .append(&target, &["\\Seen", "\\Flagged"], Some(date), g.to_crlf())
        .unwrap_or_else(|e| panic!("{kind}: append: {e}"));
    if has_cap(&caps, "UIDPLUS") {
        assert!(appended.is_some(), "{kind}: no APPENDUID");
    }
    m.typed()
        .append(&target, &[], None, forward(SEED, 6))
        .unwrap_or_else(|e| panic!("{kind}: append: {e}"));
    in_target += 2;

    let st = m
        .typed()
        .status(
            &target,
            &[
                StatusAttr::Messages,
                StatusAttr::UidNext,
                StatusAttr::Unseen,
            ],
        )
        .unwrap_or_else(|e| panic!("{kind}: status: {e}"));
    assert_eq!(st.mailbox, target, "{kind}");
    assert_eq!(st.messages, Some(in_target), "{kind}: {st:?}");
    assert!(st.uid_next.is_some(), "{kind}: {st:?}");
    assert!(st.unseen.is_some(), "{kind}: {st:?}");

    m.typed().close().unwrap();
    assert_eq!(m.state(), State::Auth);
    let sel = m.typed().select(&target).unwrap();
    assert_eq!(sel.exists, in_target, "{kind}");
    let all = m.typed().fetch(
        &format!("1:{in_target}").parse().unwrap(),
        &[
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Envelope,
            FetchAttr::BodyStructure,
            FetchAttr::full_peek(),
        ],
    );
    let all = all.unwrap_or_else(|e| panic!("{kind}: fetch: {e}"));
    let list: Vec<Fetch<'_>> = all
        .iter()
        .map(|f| f.unwrap_or_else(|e| panic!("{kind}: {e}")))
        .collect();
    assert_eq!(list.len() as u32, in_target, "{kind}");
    for f in &list {
        assert_parsed(kind, f);
    }
    // The copies: messages 0 and 1 (flags as they were, plus \Flagged on 1).
    for (f, index) in list.iter().zip([0, 1]) {
        let body = f.section("").unwrap();
        assert!(
            body == &generate(SEED, index).to_crlf()[..],
            "{kind}: copy {index}"
        );
    }
    let plain = &list[in_target as usize - 2];
    let body = plain.section("").unwrap();
    assert!(body == &g.to_crlf()[..], "{kind}: appended body");
    assert_eq!(rfc822_size(plain), g.crlf_len() as u64, "{kind}");
    if q.append_keeps_flags {
        assert_eq!(
            flag_set(plain),
            BTreeSet::from(["\\seen".to_string(), "\\flagged".to_string()]),
            "{kind}: {plain:?}"
        );
    }
    if q.append_keeps_date {
        assert_eq!(internal_date(plain), date_secs, "{kind}: {plain:?}");
    }
    let fwd = &list[in_target as usize - 1];
    assert!(
        fwd.section("").unwrap() == &forward(SEED, 6)[..],
        "{kind}: forward"
    );
    let BodyStructure::Multi { parts, .. } = fwd.body_structure().unwrap() else {
        panic!("{kind}: {fwd:?}")
    };
    let BodyStructure::Single {
        specific: BodySpecific::Message { envelope, body, .. },
        ..
    } = &parts[1]
    else {
        panic!("{kind}: {:?}", parts[1])
    };
    assert_eq!(
        envelope
            .message_id
            .as_ref()
            .map(|m| m.to_str_lossy().into_owned()),
        Some(message_id(SEED, 6)),
        "{kind}"
    );
    assert_eq!(
        media_type(body),
        content_type(&generate(SEED, 6).bytes),
        "{kind}"
    );

    if has_cap(&caps, "UNSELECT") {
        m.typed().unselect().unwrap();
    } else {
        // Courier has no UNSELECT; nothing is \Deleted here, so CLOSE.
        m.typed().close().unwrap();
    }
    m.typed()
        .delete(&target)
        .unwrap_or_else(|e| panic!("{kind}: delete: {e}"));
    assert!(!m
        .typed()
        .list("", "*")
        .unwrap()
        .iter()
        .any(|b| b.name == target));
    let bye = m.logout().unwrap();
    assert_eq!(bye.typ, "BYE", "{kind}");
}

#[test]
fn typed_on_dovecot() {
    typed_suite(Kind::Dovecot);
}

#[test]
fn typed_on_cyrus() {
    typed_suite(Kind::Cyrus);
}

#[test]
fn typed_on_courier() {
    typed_suite(Kind::Courier);
}

#[test]
fn typed_on_mailutils() {
    typed_suite(Kind::Mailutils);
}

// ----- 2. the async driver --------------------------------------------------

#[cfg(feature = "tokio")]
async fn tokio_suite(kind: Kind) {
    let s = start(kind, COUNT, SEED);
    let s = &*s;
    let mut m = imap4::tokio::Imap4::connect_with(s.host(), s.port(), config())
        .await
        .unwrap_or_else(|e| panic!("{kind}: connect: {e}"));
    m.login(&s.login_name("alice"), s.password())
        .await
        .unwrap_or_else(|e| panic!("{kind}: login: {e}"));
    let inbox = m.typed().select("INBOX").await.unwrap();
    assert_eq!(inbox.exists, COUNT as u32, "{kind}");
    let uids = m.typed().uid_search(&SearchKey::All).await.unwrap();
    assert_eq!(uids.iter().count(), COUNT, "{kind}");

    let fetches = m
        .typed()
        .uid_fetch(
            &uids,
            &[
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::BodyStructure,
            ],
        )
        .await
        .unwrap();
    let mut uid_of = [0u32; COUNT];
    for f in fetches.iter() {
        let f = f.unwrap_or_else(|e| panic!("{kind}: {e}"));
        let index = f.seq as usize - 1;
        check_metadata(s, &f, index);
        uid_of[index] = f.uid().unwrap();
    }
    assert!(uid_of.iter().all(|&u| u != 0), "{kind}: {uid_of:?}");

    let bodies = m
        .typed()
        .uid_fetch(&uids, &[FetchAttr::Uid, FetchAttr::full_peek()])
        .await
        .unwrap();
    let mut seen = 0;
    for f in bodies.iter() {
        let f = f.unwrap();
        assert_parsed(kind, &f);
        let index = f.seq as usize - 1;
        assert!(
            f.section("").unwrap() == &generate(SEED, index).to_crlf()[..],
            "{kind}: body of {index}"
        );
        seen += 1;
    }
    assert_eq!(seen, COUNT);
    let mut streamed = Vec::new();
    m.typed()
        .uid_fetch_body_to_chunked(uid_of[2], "", &mut streamed, 999)
        .await
        .unwrap();
    assert!(streamed == generate(SEED, 2).to_crlf(), "{kind}");
    let mut streamed = Vec::new();
    m.typed()
        .uid_fetch_body_to(uid_of[0], "", &mut streamed)
        .await
        .unwrap();
    assert!(streamed == generate(SEED, 0).to_crlf(), "{kind}: one fetch");
    let mut parts = StreamedBodies::default();
    let n = m
        .typed()
        .uid_fetch_streamed(&uids, &[FetchAttr::Uid, FetchAttr::full_peek()], |p| {
            parts.take(p);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(n as usize, COUNT, "{kind}");
    parts.check(kind, COUNT);

    let unflagged: Vec<usize> = (0..COUNT)
        .filter(|&i| !generate(SEED, i).imap_flags().contains(&"\\Flagged"))
        .collect();
    let pick = unflagged[0];
    let changed = m
        .typed()
        .uid_store(
            &UidSet::single(uid_of[pick]),
            StoreOp::Add,
            &["\\Flagged"],
            false,
        )
        .await
        .unwrap();
    let f = changed
        .iter()
        .map(|f| f.unwrap())
        .find(|f| f.seq as usize == pick + 1)
        .unwrap_or_else(|| panic!("{kind}: no FETCH in STORE answer"));
    assert!(flag_set(&f).contains("\\flagged"), "{kind}: {f:?}");
    let flagged = m.typed().uid_search(&SearchKey::Flagged).await.unwrap();
    let want: Vec<u32> = (0..COUNT)
        .filter(|&i| i == pick || generate(SEED, i).imap_flags().contains(&"\\Flagged"))
        .map(|i| uid_of[i])
        .collect();
    assert_eq!(flagged.iter().collect::<Vec<_>>(), want, "{kind}");
    let seqs = m.typed().search(&SearchKey::Flagged).await.unwrap();
    assert!(seqs.contains(pick as u32 + 1), "{kind}: {seqs:?}");
    let r = m.logout().await.unwrap();
    assert_eq!(r.typ, "BYE", "{kind}");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_on_dovecot() {
    tokio_suite(Kind::Dovecot).await;
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_on_cyrus() {
    tokio_suite(Kind::Cyrus).await;
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_on_courier() {
    tokio_suite(Kind::Courier).await;
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_on_mailutils() {
    tokio_suite(Kind::Mailutils).await;
}

// ----- 3. transports --------------------------------------------------------

const TRANSPORT_SEED: u64 = 23;
const TRANSPORT_COUNT: usize = 3;

/// SELECT INBOX, fetch the last message's body, LOGOUT (blocking).
fn use_blocking(kind: Kind, how: &str, m: &mut Imap4) {
    let inbox = m
        .typed()
        .select("INBOX")
        .unwrap_or_else(|e| panic!("{kind} {how}: select: {e}"));
    assert_eq!(inbox.exists, TRANSPORT_COUNT as u32, "{kind} {how}");
    let f = m
        .typed()
        .fetch(
            &TRANSPORT_COUNT.to_string().parse().unwrap(),
            &[FetchAttr::full_peek()],
        )
        .unwrap();
    let f = f.iter().next().unwrap().unwrap();
    assert!(
        f.section("").unwrap() == &generate(TRANSPORT_SEED, TRANSPORT_COUNT - 1).to_crlf()[..],
        "{kind} {how}: body"
    );
    let r = m
        .logout()
        .unwrap_or_else(|e| panic!("{kind} {how}: logout: {e}"));
    assert_eq!(r.typ, "BYE", "{kind} {how}");
    assert_eq!(m.state(), State::Logout);
}

fn transports_blocking(s: &dyn ImapServer) {
    let kind = s.kind();
    let user = s.login_name("alice");

    let mut m = Imap4::connect_ssl_config("localhost", s.tls_port(), tls(s), config())
        .unwrap_or_else(|e| panic!("{kind}: implicit TLS: {e}"));
    assert!(m.ssl().is_some());
    m.login(&user, s.password()).unwrap();
    use_blocking(kind, "implicit TLS", &mut m);

    let mut m = Imap4::connect_starttls_config("localhost", s.port(), tls(s), config())
        .unwrap_or_else(|e| panic!("{kind}: STARTTLS: {e}"));
    assert!(m.ssl().is_some());
    assert!(
        !has_cap(m.capabilities(), "STARTTLS"),
        "{kind}: capabilities re-read over TLS"
    );
    m.login(&user, s.password()).unwrap();
    use_blocking(kind, "STARTTLS", &mut m);

    match s.stream_command("alice") {
        Some(cmd) => {
            let mut m = Imap4::connect_stream_with(&cmd, config())
                .unwrap_or_else(|e| panic!("{kind}: stream: {e}"));
            assert_eq!(m.state(), State::Auth, "{kind}: PREAUTH");
            // Always LOGOUT: Mailutils' imap4d spins once its stdout is
            // closed without one.
            use_blocking(kind, "stream", &mut m);
        }
        // Cyrus has no pre-authenticated stdin/stdout mode.
        None => assert_eq!(kind, Kind::Cyrus),
    }
}

#[cfg(feature = "tokio")]
async fn use_async(kind: Kind, how: &str, m: &mut imap4::tokio::Imap4) {
    let inbox = m
        .typed()
        .select("INBOX")
        .await
        .unwrap_or_else(|e| panic!("{kind} {how}: select: {e}"));
    assert_eq!(inbox.exists, TRANSPORT_COUNT as u32, "{kind} {how}");
    let f = m
        .typed()
        .fetch(&"1".parse().unwrap(), &[FetchAttr::full_peek()])
        .await
        .unwrap();
    let f = f.iter().next().unwrap().unwrap();
    assert!(
        f.section("").unwrap() == &generate(TRANSPORT_SEED, 0).to_crlf()[..],
        "{kind} {how}: body"
    );
    let r = m
        .logout()
        .await
        .unwrap_or_else(|e| panic!("{kind} {how}: logout: {e}"));
    assert_eq!(r.typ, "BYE", "{kind} {how}");
}

#[cfg(feature = "tokio")]
async fn transports_async(s: &dyn ImapServer) {
    use imap4::tokio::Imap4;
    let kind = s.kind();
    let user = s.login_name("alice");

    let mut m = Imap4::connect_ssl_config("localhost", s.tls_port(), tls(s), config())
        .await
        .unwrap_or_else(|e| panic!("{kind}: async implicit TLS: {e}"));
    assert!(m.ssl().is_some());
    m.login(&user, s.password()).await.unwrap();
    use_async(kind, "async implicit TLS", &mut m).await;

    let mut m = Imap4::connect_starttls_config("localhost", s.port(), tls(s), config())
        .await
        .unwrap_or_else(|e| panic!("{kind}: async STARTTLS: {e}"));
    assert!(m.ssl().is_some());
    m.login(&user, s.password()).await.unwrap();
    use_async(kind, "async STARTTLS", &mut m).await;

    match s.stream_command("alice") {
        Some(cmd) => {
            let mut m = Imap4::connect_stream_with(&cmd, config())
                .await
                .unwrap_or_else(|e| panic!("{kind}: async stream: {e}"));
            // Always LOGOUT (Mailutils spins otherwise).
            use_async(kind, "async stream", &mut m).await;
        }
        // Cyrus has no pre-authenticated stdin/stdout mode.
        None => assert_eq!(kind, Kind::Cyrus),
    }
}

fn transports_suite(kind: Kind) {
    let s = start(kind, TRANSPORT_COUNT, TRANSPORT_SEED);
    transports_blocking(&*s);
    #[cfg(feature = "tokio")]
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(transports_async(&*s));
}

#[test]
fn transports_on_dovecot() {
    transports_suite(Kind::Dovecot);
}

#[test]
fn transports_on_cyrus() {
    transports_suite(Kind::Cyrus);
}

#[test]
fn transports_on_courier() {
    transports_suite(Kind::Courier);
}

#[test]
fn transports_on_mailutils() {
    transports_suite(Kind::Mailutils);
}

// ----- 4. IDLE --------------------------------------------------------------

const NEW_MAIL: &[u8] =
    b"From: a@example.org\r\nSubject: new\r\nMessage-ID: <new.1@example.org>\r\n\r\nhello\r\n";

/// Waits for `Exists(want)`, skipping other events, until `within`.
fn wait_exists(idle: &mut imap4::Idle<'_>, want: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match idle.wait(left).unwrap() {
            Some(Event::Exists(n)) if n >= want => return true,
            Some(_) => continue,
            None => return false,
        }
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn unix_second() -> u64 {
    now_millis() / 1000
}

/// A second connection APPENDs a message to INBOX.
fn append_elsewhere(s: &dyn ImapServer) {
    let mut other = login(s);
    other.typed().append("INBOX", &[], None, NEW_MAIL).unwrap();
    other.logout().unwrap();
}

fn m_exists(idle: &imap4::Idle<'_>) -> u32 {
    idle.mailbox_state().map_or(0, |st| st.exists)
}

fn idle_suite(kind: Kind) {
    let s = start(kind, 4, SEED);
    let s = &*s;
    let mut m = login(s);
    assert!(
        has_cap(m.capabilities(), "IDLE"),
        "{kind} does not advertise IDLE: {:?}",
        m.capabilities()
    );
    m.typed().select("INBOX").unwrap();
    let selected_at = unix_second();
    assert_eq!(m.mailbox_state().unwrap().exists, 4);
    let mut idle = m.idle().unwrap();

    if kind == Kind::Mailutils {
        // Mailutils' imap4d sends nothing while idling (not even 12 s, two
        // of its 5 s ticks, after an APPEND), and it notices new mail only
        // when the mailbox's whole-second mtime changed since it looked
        // last. What it does instead: it reports the message when IDLE
        // ends, `* 5 EXISTS` between DONE and its tagged OK. So the APPEND
        // must land in a later second than the SELECT: the idling
        // connection waits (the library's wait, nothing arrives) until the
        // clock has moved on, then the APPEND, then DONE.
        while unix_second() <= selected_at {
            let to_next = Duration::from_millis(1000 - now_millis() % 1000 + 20);
            assert!(idle.wait(to_next).unwrap().is_none(), "{kind}");
        }
        append_elsewhere(s);
        assert_eq!(m_exists(&idle), 4, "{kind}");
        idle.done().unwrap();
    } else {
        append_elsewhere(s);
        let seen = wait_exists(&mut idle, 5, IDLE_WITHIN);
        idle.done().unwrap();
        assert!(seen, "{kind}: no EXISTS during IDLE within {IDLE_WITHIN:?}");
    }
    assert_eq!(m.mailbox_state().unwrap().exists, 5, "{kind}");
    let f = m
        .typed()
        .fetch(&"5".parse().unwrap(), &[FetchAttr::Envelope])
        .unwrap();
    let f = f.iter().next().unwrap().unwrap();
    assert_eq!(
        f.envelope()
            .unwrap()
            .message_id
            .as_ref()
            .unwrap()
            .as_bytes(),
        b"<new.1@example.org>",
        "{kind}"
    );
    m.logout().unwrap();
}

#[test]
fn idle_on_dovecot() {
    idle_suite(Kind::Dovecot);
}

#[test]
fn idle_on_cyrus() {
    idle_suite(Kind::Cyrus);
}

#[test]
fn idle_on_courier() {
    idle_suite(Kind::Courier);
}

#[test]
fn idle_on_mailutils() {
    idle_suite(Kind::Mailutils);
}
