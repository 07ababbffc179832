//! Property tests of the typed parser: nothing a server sends makes it
//! panic, hang or overflow the stack.
//!
//! Besides random bytes, the inputs are generated, grammar-valid FETCH
//! responses (ENVELOPE, BODYSTRUCTURE at any depth up to the limit, body
//! sections with literals, …) and other responses, which must parse to
//! exactly what was generated; and the same shapes mutated (bytes
//! dropped, swapped, duplicated, IMAP-special bytes inserted, cut short),
//! which must come back as a value or an error, never a panic.

use imap4_proto::parse::{
    parse_response, parse_response_with_depth, BodyStructure, FetchItem, Response, Thread, Untagged,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Generators of grammar-valid pieces
// ---------------------------------------------------------------------------

/// Text for strings: printable ASCII with quotes and backslashes, some
/// 8-bit, some CR/LF (which force a literal).
fn text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => 0x20u8..0x7f,
            1 => Just(b'"'),
            1 => Just(b'\\'),
            1 => 0x80u8..=0xff,
            1 => Just(b'\r'),
            1 => Just(b'\n'),
        ],
        0..24,
    )
}

/// A string on the wire: quoted (escaped) when possible, else a literal.
fn wire_string(s: &[u8], prefer_literal: bool) -> Vec<u8> {
    if prefer_literal || s.iter().any(|&b| b == b'\r' || b == b'\n') {
        let mut out = format!("{{{}}}\r\n", s.len()).into_bytes();
        out.extend_from_slice(s);
        return out;
    }
    let mut out = vec![b'"'];
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// An nstring: the value and its wire form.
fn nstring() -> impl Strategy<Value = (Option<Vec<u8>>, Vec<u8>)> {
    prop_oneof![
        1 => Just((None, b"NIL".to_vec())),
        4 => (text(), any::<bool>()).prop_map(|(t, lit)| {
            let w = wire_string(&t, lit);
            (Some(t), w)
        }),
    ]
}

fn atom() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9.-]{0,8}"
}

#[derive(Debug, Clone)]
struct Addr {
    wire: Vec<u8>,
    mailbox: Option<Vec<u8>>,
}

fn address() -> impl Strategy<Value = Addr> {
    (nstring(), nstring(), nstring(), nstring()).prop_map(|(n, a, m, h)| {
        let mut wire = b"(".to_vec();
        for (i, part) in [&n.1, &a.1, &m.1, &h.1].into_iter().enumerate() {
            if i > 0 {
                wire.push(b' ');
            }
            wire.extend_from_slice(part);
        }
        wire.push(b')');
        Addr { wire, mailbox: m.0 }
    })
}

/// An address list: NIL or 1..3 addresses.
fn addresses() -> impl Strategy<Value = (Vec<Addr>, Vec<u8>)> {
    prop_oneof![
        1 => Just((vec![], b"NIL".to_vec())),
        3 => prop::collection::vec(address(), 1..3).prop_map(|v| {
            let mut wire = b"(".to_vec();
            for a in &v {
                wire.extend_from_slice(&a.wire);
            }
            wire.push(b')');
            (v, wire)
        }),
    ]
}

#[derive(Debug, Clone)]
struct Env {
    wire: Vec<u8>,
    subject: Option<Vec<u8>>,
    from: Vec<Addr>,
    message_id: Option<Vec<u8>>,
}

fn envelope() -> impl Strategy<Value = Env> {
    (
        nstring(),
        nstring(),
        prop::collection::vec(addresses(), 6),
        nstring(),
        nstring(),
    )
        .prop_map(|(date, subject, addrs, irt, mid)| {
            let mut wire = b"(".to_vec();
            wire.extend_from_slice(&date.1);
            wire.push(b' ');
            wire.extend_from_slice(&subject.1);
            for a in &addrs {
                wire.push(b' ');
                wire.extend_from_slice(&a.1);
            }
            wire.push(b' ');
            wire.extend_from_slice(&irt.1);
            wire.push(b' ');
            wire.extend_from_slice(&mid.1);
            wire.push(b')');
            Env {
                wire,
                subject: subject.0,
                from: addrs[0].0.clone(),
                message_id: mid.0,
            }
        })
}

/// A generated body: its wire form and its shape (parts per level).
#[derive(Debug, Clone)]
enum Shape {
    Single { text: bool, size: u64 },
    Message(Box<Shape>),
    Multi(Vec<Shape>, String),
}

fn params() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"NIL".to_vec()),
        prop::collection::vec((atom(), text()), 1..3).prop_map(|v| {
            let mut w = b"(".to_vec();
            for (i, (k, val)) in v.iter().enumerate() {
                if i > 0 {
                    w.push(b' ');
                }
                w.extend_from_slice(&wire_string(k.as_bytes(), false));
                w.push(b' ');
                w.extend_from_slice(&wire_string(val, false));
            }
            w.push(b')');
            w
        }),
    ]
}

/// Optional extension data (BODYSTRUCTURE only): disposition, language,
/// location, and further values.
fn extension(single: bool) -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..5,
        nstring(),
        params(),
        prop_oneof![
            Just(b"NIL".to_vec()),
            Just(b"\"en\"".to_vec()),
            Just(b"(\"en\" \"de\")".to_vec())
        ],
        nstring(),
    )
        .prop_map(move |(n, md5, dsp_params, lang, loc)| {
            let first = if single { md5.1 } else { dsp_params.clone() };
            let mut fields: Vec<Vec<u8>> = vec![first];
            let mut dsp = b"(\"attachment\" ".to_vec();
            dsp.extend_from_slice(&dsp_params);
            dsp.push(b')');
            fields.push(dsp);
            fields.push(lang);
            fields.push(loc.1);
            fields.push(b"(1 (2 \"x\") NIL)".to_vec());
            let mut w = Vec::new();
            for f in fields.into_iter().take(n) {
                w.push(b' ');
                w.extend_from_slice(&f);
            }
            w
        })
}

fn leaf(ext: bool) -> impl Strategy<Value = (Shape, Vec<u8>)> {
    (
        prop_oneof![
            Just(("TEXT", "PLAIN")),
            Just(("text", "html")),
            Just(("IMAGE", "PNG")),
            Just(("application", "octet-stream"))
        ],
        params(),
        nstring(),
        nstring(),
        prop_oneof![
            Just(b"\"7BIT\"".to_vec()),
            Just(b"\"base64\"".to_vec()),
            Just(b"NIL".to_vec())
        ],
        0u64..1_000_000,
        0u64..10_000,
        extension(true),
    )
        .prop_map(
            move |((t, st), params, id, desc, enc, size, lines, extension)| {
                let text = t.eq_ignore_ascii_case("TEXT");
                let mut w = format!("(\"{t}\" \"{st}\" ").into_bytes();
                w.extend_from_slice(&params);
                for f in [&id.1, &desc.1, &enc] {
                    w.push(b' ');
                    w.extend_from_slice(f);
                }
                w.extend_from_slice(format!(" {size}").as_bytes());
                if text {
                    w.extend_from_slice(format!(" {lines}").as_bytes());
                }
                if ext {
                    w.extend_from_slice(&extension);
                }
                w.push(b')');
                (Shape::Single { text, size }, w)
            },
        )
}

/// A body of up to `depth` levels (BODYSTRUCTURE when `ext`).
fn body(ext: bool, depth: u32) -> impl Strategy<Value = (Shape, Vec<u8>)> {
    leaf(ext).prop_recursive(depth, 64, 4, move |inner| {
        prop_oneof![
            (
                prop::collection::vec(inner.clone(), 1..4),
                atom(),
                extension(false)
            )
                .prop_map(move |(parts, subtype, extension)| {
                    let mut w = b"(".to_vec();
                    let mut shapes = Vec::new();
                    for (s, pw) in parts {
                        w.extend_from_slice(&pw);
                        shapes.push(s);
                    }
                    w.extend_from_slice(&wire_string(subtype.as_bytes(), false));
                    if ext {
                        w.extend_from_slice(&extension);
                    }
                    w.push(b')');
                    (Shape::Multi(shapes, subtype), w)
                }),
            (envelope(), inner, 0u64..500).prop_map(move |(env, (s, bw), lines)| {
                let mut w = b"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 99 ".to_vec();
                w.extend_from_slice(&env.wire);
                w.push(b' ');
                w.extend_from_slice(&bw);
                w.extend_from_slice(format!(" {lines})").as_bytes());
                (Shape::Message(Box::new(s)), w)
            }),
        ]
    })
}

fn check_shape(shape: &Shape, b: &BodyStructure<'_>) -> Result<(), String> {
    match (shape, b) {
        (
            Shape::Single { text, size },
            BodyStructure::Single {
                fields, specific, ..
            },
        ) => {
            if fields.size != *size {
                return Err(format!("size {} != {size}", fields.size));
            }
            if *text != matches!(specific, imap4_proto::parse::BodySpecific::Text { .. }) {
                return Err(format!("text mismatch {specific:?}"));
            }
            Ok(())
        }
        (
            Shape::Message(inner),
            BodyStructure::Single {
                specific: imap4_proto::parse::BodySpecific::Message { body, .. },
                ..
            },
        ) => check_shape(inner, body),
        (
            Shape::Multi(parts, subtype),
            BodyStructure::Multi {
                parts: got,
                subtype: st,
                ..
            },
        ) => {
            if st.as_bytes() != subtype.as_bytes() || got.len() != parts.len() {
                return Err(format!(
                    "multipart {st:?}/{} != {subtype}/{}",
                    got.len(),
                    parts.len()
                ));
            }
            parts
                .iter()
                .zip(got)
                .try_for_each(|(s, g)| check_shape(s, g))
        }
        (s, b) => Err(format!("{s:?} vs {b:?}")),
    }
}

/// A FETCH item: wire form and a checker of the parsed item.
#[derive(Debug, Clone)]
enum Item {
    Uid(u32),
    Flags(usize),
    Size(u64),
    Date,
    Envelope(Env),
    Body(Shape, bool),
    Section(String, Option<u32>, Option<Vec<u8>>),
    Binary(Vec<u8>),
    ModSeq(u64),
    Labels(usize),
    Preview(Option<Vec<u8>>),
    Unknown,
}

fn item() -> impl Strategy<Value = (Item, Vec<u8>)> {
    prop_oneof![
        any::<u32>().prop_map(|n| (Item::Uid(n), format!("UID {n}").into_bytes())),
        prop::collection::vec(
            prop_oneof![
                Just("\\Seen"),
                Just("\\Answered"),
                Just("$Junk"),
                Just("\\*"),
                Just("\"\\\\Flagged\"")
            ],
            0..4
        )
        .prop_map(|f| (
            Item::Flags(f.len()),
            format!("FLAGS ({})", f.join(" ")).into_bytes()
        )),
        any::<u64>().prop_map(|n| (Item::Size(n), format!("RFC822.SIZE {n}").into_bytes())),
        Just((
            Item::Date,
            b"INTERNALDATE \"17-Jul-1996 02:44:25 -0700\"".to_vec()
        )),
        envelope().prop_map(|e| {
            let mut w = b"ENVELOPE ".to_vec();
            w.extend_from_slice(&e.wire);
            (Item::Envelope(e), w)
        }),
        (any::<bool>(), 0u32..6).prop_flat_map(|(ext, depth)| body(ext, depth).prop_map(
            move |(s, bw)| {
                let mut w = if ext {
                    b"BODYSTRUCTURE ".to_vec()
                } else {
                    b"BODY ".to_vec()
                };
                w.extend_from_slice(&bw);
                (Item::Body(s, ext), w)
            }
        )),
        (
            prop_oneof![
                Just(""),
                Just("1.2"),
                Just("HEADER"),
                Just("1.MIME"),
                Just("HEADER.FIELDS (SUBJECT \"X]\")")
            ],
            prop::option::of(0u32..1000),
            nstring()
        )
            .prop_map(|(sec, origin, (v, vw))| {
                let mut w = format!("BODY[{sec}]").into_bytes();
                if let Some(o) = origin {
                    w.extend_from_slice(format!("<{o}>").as_bytes());
                }
                w.push(b' ');
                w.extend_from_slice(&vw);
                (Item::Section(sec.to_string(), origin, v), w)
            }),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|d| {
            let mut w = format!("BINARY[1] ~{{{}}}\r\n", d.len()).into_bytes();
            w.extend_from_slice(&d);
            (Item::Binary(d), w)
        }),
        any::<u64>().prop_map(|n| (Item::ModSeq(n), format!("MODSEQ ({n})").into_bytes())),
        prop::collection::vec(
            prop_oneof![
                Just("\\Inbox"),
                Just("\"\\\\Important\""),
                Just("Work"),
                Just("\"a b\"")
            ],
            0..4
        )
        .prop_map(|l| (
            Item::Labels(l.len()),
            format!("X-GM-LABELS ({})", l.join(" ")).into_bytes()
        )),
        nstring().prop_map(|(v, vw)| {
            let mut w = b"PREVIEW ".to_vec();
            w.extend_from_slice(&vw);
            (Item::Preview(v), w)
        }),
        Just((
            Item::Unknown,
            b"X-UNKNOWN-ITEM (1 (2 \"three\") NIL)".to_vec()
        )),
    ]
}

fn fetch_response() -> impl Strategy<Value = (u32, Vec<Item>, Vec<u8>)> {
    (
        1u32..100_000,
        prop::collection::vec(item(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(seq, items, sloppy)| {
            let mut w = format!("* {seq} FETCH (").into_bytes();
            let mut kinds = Vec::new();
            for (i, (k, iw)) in items.into_iter().enumerate() {
                if i > 0 {
                    // Sloppy servers: double spaces (a known quirk).
                    w.extend_from_slice(if sloppy { b"  " } else { b" " });
                }
                w.extend_from_slice(&iw);
                kinds.push(k);
            }
            if sloppy {
                w.push(b' ');
            }
            w.extend_from_slice(b")\r\n");
            (seq, kinds, w)
        })
}

fn check_item(want: &Item, got: &FetchItem<'_>) -> Result<(), String> {
    let ok = match (want, got) {
        (Item::Uid(a), FetchItem::Uid(b)) => a == b,
        (Item::Flags(n), FetchItem::Flags(f)) => *n == f.len(),
        (Item::Size(a), FetchItem::Rfc822Size(b)) => a == b,
        (Item::Date, FetchItem::InternalDate(d)) => d == &"17-Jul-1996 02:44:25 -0700",
        (Item::Envelope(e), FetchItem::Envelope(g)) => {
            g.subject.as_ref().map(|s| s.as_bytes().to_vec()) == e.subject
                && g.message_id.as_ref().map(|s| s.as_bytes().to_vec()) == e.message_id
                && g.from.len() == e.from.len()
                && g.from
                    .iter()
                    .zip(&e.from)
                    .all(|(a, b)| a.mailbox.as_ref().map(|m| m.as_bytes().to_vec()) == b.mailbox)
        }
        (Item::Body(s, true), FetchItem::BodyStructure(b))
        | (Item::Body(s, false), FetchItem::Body(b)) => return check_shape(s, b),
        (
            Item::Section(sec, origin, data),
            FetchItem::BodySection {
                section,
                origin: o,
                data: d,
            },
        ) => {
            section.as_bytes() == sec.as_bytes()
                && origin == o
                && data.as_deref() == d.as_ref().map(|d| d.as_bytes())
        }
        (Item::Binary(d), FetchItem::Binary { data: Some(g), .. }) => d.as_slice() == g.as_bytes(),
        (Item::ModSeq(a), FetchItem::ModSeq(b)) => a == b,
        (Item::Labels(n), FetchItem::GmLabels(l)) => *n == l.len(),
        (Item::Preview(v), FetchItem::Preview(g)) => {
            v.as_deref() == g.as_ref().map(|g| g.as_bytes())
        }
        (Item::Unknown, FetchItem::Other { name, raw }) => {
            name == &"X-UNKNOWN-ITEM" && raw == &"(1 (2 \"three\") NIL)"
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("want {want:?}, got {got:?}"))
    }
}

// ---------------------------------------------------------------------------
// Other responses
// ---------------------------------------------------------------------------

/// A random THREAD forest and its RFC 5256 wire form.
fn thread_tree() -> impl Strategy<Value = Thread> {
    let chain = prop::collection::vec(1u32..1000, 1..4);
    let leaf = chain.clone().prop_map(|messages| Thread {
        messages,
        children: vec![],
    });
    leaf.prop_recursive(5, 40, 3, move |inner| {
        (
            prop::collection::vec(1u32..1000, 0..3),
            prop::collection::vec(inner, 2..4),
        )
            .prop_map(|(messages, children)| Thread { messages, children })
    })
}

/// The inside of one `( … )` for `t`.
fn ser_inner(t: &Thread, out: &mut String) {
    let ids: Vec<String> = t.messages.iter().map(u32::to_string).collect();
    out.push_str(&ids.join(" "));
    if !t.messages.is_empty() && !t.children.is_empty() {
        out.push(' ');
    }
    for c in &t.children {
        out.push('(');
        ser_inner(c, out);
        out.push(')');
    }
}

fn other_response() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (atom(), prop_oneof![
            Just("[ALERT] "), Just("[UIDNEXT 5] "), Just("[PERMANENTFLAGS (\\Seen \\*)] "), Just("[COPYUID 3 1:2 5:6] "),
            Just("[BADCHARSET (UTF-8 \"X\")] "), Just("[CAPABILITY IMAP4rev1 AUTH=PLAIN] "), Just("[X-CODE a \"b]\"] "), Just(""),
        ], prop_oneof![Just("OK"), Just("NO"), Just("BAD"), Just("BYE"), Just("PREAUTH")], text())
            .prop_map(|(tag, code, kind, t)| {
                let t: Vec<u8> = t.into_iter().filter(|&b| b != b'\r' && b != b'\n').collect();
                let mut w = format!("{tag} {kind} {code}").into_bytes();
                w.extend_from_slice(&t);
                w.extend_from_slice(b"\r\n");
                w
            }),
        (text(), prop_oneof![Just("/"), Just(".")]).prop_map(|(name, d)| {
            let mut w = format!("* LIST (\\HasNoChildren \\Sent) \"{d}\" ").into_bytes();
            w.extend_from_slice(&wire_string(&name, false));
            w.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"old\") X-EXT (1 2))\r\n");
            w
        }),
        Just(b"* STATUS \"Entw&APw-rfe\" (MESSAGES 3 UIDNEXT 9 X-UNKNOWN (a b) SIZE 12345)\r\n".to_vec()),
        Just(b"* ESEARCH (TAG \"a1\") UID MIN 1 MAX 9 COUNT 3 ALL 1,5:9 MODSEQ 77 PARTIAL (1:10 1,3)\r\n".to_vec()),
        Just(b"* NAMESPACE ((\"\" \"/\" \"X-EXT\" (\"a\"))) ((\"~\" \"/\")) NIL\r\n".to_vec()),
        Just(b"* METADATA \"\" (/private/comment {5}\r\nhello /shared/x NIL)\r\n".to_vec()),
        Just(b"* ANNOTATION INBOX \"/comment\" (\"value.priv\" \"x\" \"size.priv\" \"1\")\r\n".to_vec()),
        Just(b"* ID (\"name\" \"Dovecot\" \"version\" NIL)\r\n".to_vec()),
        Just(b"* VANISHED (EARLIER) 1:3,7\r\n".to_vec()),
        Just(b"* QUOTAROOT INBOX \"\" user\r\n".to_vec()),
        Just(b"* LISTRIGHTS INBOX bob \"\" l r w\r\n".to_vec()),
        Just(b"+ [ALERT] go ahead\r\n".to_vec()),
    ]
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Insert(usize, u8),
    Replace(usize, u8),
    Truncate(usize),
    Duplicate(usize, usize),
    Nil(usize),
}

fn special_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"()[]{}<>\"\\ \r\n~+*0123456789NIL.".to_vec()),
        any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), special_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), special_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<usize>().prop_map(Mutation::Nil),
    ]
}

fn mutate(mut v: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if v.is_empty() {
            break;
        }
        let at = |i: usize| i % v.len();
        match *m {
            Mutation::Delete(i) => {
                let i = at(i);
                v.remove(i);
            }
            Mutation::Insert(i, b) => {
                let i = at(i);
                v.insert(i, b);
            }
            Mutation::Replace(i, b) => {
                let i = at(i);
                v[i] = b;
            }
            Mutation::Truncate(i) => {
                let i = at(i);
                v.truncate(i);
            }
            Mutation::Duplicate(i, n) => {
                let i = at(i);
                let end = (i + n).min(v.len());
                let chunk = v[i..end].to_vec();
                v.splice(i..i, chunk);
            }
            Mutation::Nil(i) => {
                let i = at(i);
                v.splice(i..i, b"NIL ".iter().copied());
            }
        }
    }
    v
}

/// Parses and touches everything (Debug formats every field), at the
/// default and at a tiny depth limit.
fn exercise(input: &[u8]) {
    for r in [parse_response(input), parse_response_with_depth(input, 3)] {
        match r {
            Ok(r) => {
                let _ = format!("{r:?}");
            }
            Err(e) => {
                assert!(
                    e.offset <= input.len(),
                    "offset {} > {}",
                    e.offset,
                    input.len()
                );
                let _ = e.to_string();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// 512 cases a property, or `PROPTEST_CASES` for a longer hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Grammar-valid FETCH responses parse to exactly what was generated.
    #[test]
    fn generated_fetch_parses_to_what_was_generated((seq, items, wire) in fetch_response()) {
        let r = parse_response(&wire).map_err(|e| TestCaseError::fail(format!("{e}: {:?}", String::from_utf8_lossy(&wire))))?;
        let Response::Data(Untagged::Fetch(f)) = r else {
            return Err(TestCaseError::fail(format!("{r:?}")));
        };
        prop_assert_eq!(f.seq, seq);
        prop_assert_eq!(f.items.len(), items.len(), "{:?}", f.items);
        for (want, got) in items.iter().zip(&f.items) {
            check_item(want, got).map_err(TestCaseError::fail)?;
        }
    }

    /// The same, mutated: a value or an error, never a panic.
    #[test]
    fn mutated_fetch_never_panics(
        (_, _, wire) in fetch_response(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        exercise(&mutate(wire, &muts));
    }

    /// THREAD trees survive the trip through their wire form.
    #[test]
    fn thread_round_trips(forest in prop::collection::vec(thread_tree(), 1..5)) {
        let mut wire = String::from("* THREAD ");
        for t in &forest {
            wire.push('(');
            ser_inner(t, &mut wire);
            wire.push(')');
        }
        wire.push_str("\r\n");
        let r = parse_response(wire.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}: {wire}")))?;
        prop_assert_eq!(r, Response::Data(Untagged::Thread(forest)), "{}", wire);
    }

    /// Other responses, valid and mutated.
    #[test]
    fn other_responses_never_panic(
        wire in other_response(),
        muts in prop::collection::vec(mutation(), 0..5),
    ) {
        if muts.is_empty() {
            let r = parse_response(&wire);
            prop_assert!(r.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&wire), r);
            if let Ok(Response::Data(Untagged::Other { .. })) = r {
                return Err(TestCaseError::fail(format!("kept raw: {:?}", String::from_utf8_lossy(&wire))));
            }
        }
        exercise(&mutate(wire, &muts));
    }

    /// Arbitrary bytes.
    #[test]
    fn any_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&input);
    }

    /// Bytes that look like IMAP (so they reach deep into the parser).
    #[test]
    fn imap_looking_bytes_never_panic(
        start in prop_oneof![Just(&b"* 1 FETCH ("[..]), Just(&b"* "[..]), Just(&b"a1 OK ["[..]), Just(&b"+ "[..]), Just(&b"* 1 FETCH (BODYSTRUCTURE ("[..])],
        body in prop::collection::vec(prop_oneof![
            4 => prop::sample::select(b"()[]{}<>\" \\\r\n~+*NIL0123456789.".to_vec()),
            1 => any::<u8>(),
            2 => prop::sample::select(vec![b'U', b'I', b'D', b'B', b'O', b'Y', b'F', b'L', b'A', b'G', b'S', b'E', b'T', b'X']),
        ], 0..300),
    ) {
        let mut input = start.to_vec();
        input.extend(body);
        exercise(&input);
    }
}

// ---------------------------------------------------------------------------
// Deep nesting
// ---------------------------------------------------------------------------

/// Runs `f` on a thread with half the default thread stack (1 MiB): a
/// recursion the depth limit did not stop would overflow it, while 64
/// levels fit even in a debug build (about 8 KiB a level there; far less
/// in release).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// Every place a list can nest, far beyond the limit: always an error that
/// names the depth limit, never a stack overflow, never kept raw.
#[test]
fn deep_nesting_is_an_error_everywhere() {
    on_small_stack(|| {
        for depth in [65usize, 1_000, 100_000] {
            let open = "(".repeat(depth);
            let close = ")".repeat(depth);
            let single = "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)";
            let mut nested_body = String::new();
            for _ in 0..depth {
                nested_body.push('(');
            }
            nested_body.push_str(single);
            for _ in 0..depth {
                nested_body.push_str(" \"MIXED\")");
            }
            let message = "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ";
            let nested_message =
                format!("{}{single}{}", message.repeat(depth), " 1)".repeat(depth));
            let cases = [
                format!("* 1 FETCH (BODYSTRUCTURE {nested_body})\r\n"),
                format!("* 1 FETCH (BODY {nested_message})\r\n"),
                format!("* 1 FETCH (BODY {open}{close})\r\n"),
                format!("* 1 FETCH (X-UNKNOWN {open}1{close})\r\n"),
                format!("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1 NIL NIL NIL NIL {open}{close}))\r\n"),
                format!("* 1 FETCH (ENVELOPE (NIL NIL {open}{close} NIL NIL NIL NIL NIL NIL NIL))\r\n"),
                format!("* THREAD {open}1{close}\r\n"),
                format!("* XFOO {open}{close}\r\n"),
                format!("* 5 XBAR {open}{close}\r\n"),
                format!("* LIST () \"/\" INBOX (X-EXT {open}{close})\r\n"),
                format!("* NAMESPACE ((\"\" \"/\" \"X\" {open}{close})) NIL NIL\r\n"),
                format!("* ESEARCH X-ITEM {open}{close}\r\n"),
                format!("* STATUS INBOX (X {open}{close})\r\n"),
                format!("* OK [PERMANENTFLAGS {open}{close}] x\r\n"),
            ];
            for (i, case) in cases.iter().enumerate() {
                match parse_response(case.as_bytes()) {
                    Err(e) => assert!(e.is_depth_limit(), "case {i} depth {depth}: {e}"),
                    // A code that does not parse stays in the text: fine,
                    // nothing nested was built.
                    Ok(Response::Status(s)) if case.starts_with("* OK") => {
                        assert!(s.code.is_none())
                    }
                    Ok(r) => panic!("case {i} depth {depth}: parsed {r:?}"),
                }
            }
        }
    });
}

/// Nesting up to the limit parses; one more level does not.
#[test]
fn nesting_up_to_the_limit_parses() {
    on_small_stack(|| {
        let single = "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)";
        let wire = |levels: usize| {
            let mut b = String::from("* 1 FETCH (BODYSTRUCTURE ");
            b.push_str(&"(".repeat(levels));
            b.push_str(single);
            b.push_str(&" \"MIXED\")".repeat(levels));
            b.push_str(")\r\n");
            b
        };
        // FETCH's list is level 1, the leaf part one more.
        let ok = wire(62);
        let Ok(Response::Data(Untagged::Fetch(f))) = parse_response(ok.as_bytes()) else {
            panic!()
        };
        let mut b = f.body_structure().unwrap();
        let mut depth = 0;
        while let BodyStructure::Multi { parts, .. } = b {
            b = &parts[0];
            depth += 1;
        }
        assert_eq!(depth, 62);
        let e = parse_response(wire(63).as_bytes()).unwrap_err();
        assert!(e.is_depth_limit(), "{e}");
        assert!(parse_response_with_depth(wire(63).as_bytes(), 65).is_ok());
    });
}

/// Big hostile lines (1 MiB, the default line limit) parse in linear time:
/// a quadratic path would take minutes here.
#[test]
fn adversarial_megabyte_lines_stay_fast() {
    const MIB: usize = 1 << 20;
    let fill = |prefix: &str, unit: &str, suffix: &str| {
        let mut s = prefix.to_string();
        while s.len() < MIB {
            s.push_str(unit);
        }
        s.push_str(suffix);
        s.into_bytes()
    };
    let cases = [
        fill("* 1 FETCH (", "(\"a\" ", ")\r\n"),
        fill("* XFOO ", "\"", "\r\n"),
        fill("* XFOO ", "[", "\r\n"),
        fill("* XFOO ", "(a ", "\r\n"),
        fill("* XFOO ", "{9999999}", "\r\n"),
        fill("* 1 FETCH (", "BODY[", ")\r\n"),
        fill("* 1 FETCH (", "X-A (1) ", ")\r\n"),
        fill("* 1 FETCH (", "UID 1 ", ")\r\n"),
        fill(
            "* 1 FETCH (BODYSTRUCTURE (",
            "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)",
            " \"MIXED\"))\r\n",
        ),
        fill("* SEARCH", " 12345", "\r\n"),
        fill("* THREAD ", "(1 2)", "\r\n"),
        fill("* LIST (", "\\X ", ") \"/\" INBOX\r\n"),
        fill("a1 OK [", "X", "] text\r\n"),
        fill("* OK [PERMANENTFLAGS (", "\\Seen ", ")] x\r\n"),
        fill(
            "* 1 FETCH (ENVELOPE (NIL NIL (",
            "(NIL NIL \"a\" \"b\")",
            ") NIL NIL NIL NIL NIL NIL NIL))\r\n",
        ),
    ];
    for (i, case) in cases.iter().enumerate() {
        let t = std::time::Instant::now();
        let r = parse_response(case);
        let took = t.elapsed();
        assert!(
            took.as_secs() < 10,
            "case {i} took {took:?} ({:?})",
            r.map(|_| ())
        );
    }
}

proptest! {
    /// `InlineVec` is a `Vec` in everything but where it keeps its first
    /// item: any sequence of pushes and extends, with mutation through the
    /// slice, reads back the same way a `Vec` does.
    #[test]
    fn inline_vec_behaves_like_a_vec(
        ops in prop::collection::vec((0u8..3, any::<u16>(), prop::collection::vec(any::<u16>(), 0..4)), 0..12),
    ) {
        use imap4_proto::parse::InlineVec;
        let mut ours: InlineVec<u16> = InlineVec::new();
        let mut model: Vec<u16> = Vec::new();
        for (op, x, more) in ops {
            match op {
                0 => {
                    ours.push(x);
                    model.push(x);
                }
                1 => {
                    ours.extend(more.iter().copied());
                    model.extend(more.iter().copied());
                }
                _ => {
                    if let (Some(a), Some(b)) = (ours.last_mut(), model.last_mut()) {
                        *a = a.wrapping_add(x);
                        *b = b.wrapping_add(x);
                    }
                }
            }
            prop_assert_eq!(&ours[..], &model[..]);
            prop_assert_eq!(ours.len(), model.len());
            // one item inline, more on the heap
            prop_assert_eq!(ours.spilled(), model.len() > 1);
        }
        prop_assert!(ours == model);
        prop_assert_eq!((&ours).into_iter().copied().collect::<Vec<_>>(), model.clone());
        let collected: InlineVec<u16> = model.iter().copied().collect();
        prop_assert!(collected == model);
        prop_assert_eq!(ours.clone().into_iter().collect::<Vec<_>>(), model.clone());
        prop_assert_eq!(ours.into_vec(), model);
    }
}
