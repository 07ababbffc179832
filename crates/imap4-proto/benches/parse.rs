//! `parse_response` against the two other Rust IMAP response parsers,
//! `imap-proto` 0.17 (`imap_proto::Response::parse`, nom) and `imap-codec`
//! 2.0.0-alpha (`ResponseCodec` through `imap_codec::decode::Decoder`), on
//! the same bytes: one complete response each, exactly as on the wire
//! (literals inline, CRLF included).
//!
//! ```text
//! cargo bench -p imap4-proto --bench parse
//! python3 scripts/parse-ratios.py      # the ratio table from target/criterion
//! ```
//!
//! Inputs: a tiny tagged status line; a FETCH with ENVELOPE and a nested
//! multipart BODYSTRUCTURE captured from Dovecot (`fixtures/`, recorded with
//! `cargo run -p imap4-bench -- capture-fixtures …`); FETCH with a
//! `BODY[]` literal of 64 KiB, 1 MiB and 16 MiB (generated mail, to show how
//! time depends on literal size); SEARCH with 100,000 numbers; one LIST
//! response captured from Dovecot.
//!
//! Before any timing, every parser is run once on every input and its result
//! checked (whole input consumed, the expected response kind and contents);
//! a parser that fails an input is reported and not timed on it.
//!
//! For profiling, `IMAP4_PARSE_LOOP=INPUT:PEER:N` makes the binary skip
//! criterion and parse INPUT with PEER (`imap4`, `imap-proto`, `imap-codec`)
//! N times inside `parse_loop` (count instructions with
//! `valgrind --tool=callgrind --toggle-collect='*parse_loop*' …`, as
//! `scripts/parse-ratios.py --callgrind` does).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use imap_codec::decode::Decoder;
use imap_codec::ResponseCodec;

/// What a correct parse of an input must show.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A tagged OK.
    Status,
    /// FETCH with ENVELOPE and a multipart BODYSTRUCTURE, nothing unparsed.
    EnvelopeAndBodyStructure,
    /// FETCH with `BODY[]` of this many bytes.
    Literal(usize),
    /// SEARCH with this many numbers.
    Search(usize),
    /// A LIST response.
    List,
}

struct Input {
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn literal_fetch(size: usize) -> Vec<u8> {
    // Realistic content (generated mail, CRLF line ends), cut to size.
    let mut body = Vec::with_capacity(size + 64 * 1024);
    let mut i = 0;
    while body.len() < size {
        body.extend_from_slice(&imap4_testkit::generate(42, i).to_crlf());
        i += 1;
    }
    body.truncate(size);
    let mut r = format!("* 1 FETCH (UID 1 BODY[] {{{size}}}\r\n").into_bytes();
    r.extend_from_slice(&body);
    r.extend_from_slice(b")\r\n");
    r
}

fn search(n: u32) -> Vec<u8> {
    let mut r = b"* SEARCH".to_vec();
    for i in 1..=n {
        r.extend_from_slice(format!(" {i}").as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// The inputs, in benchmark order.
const INPUTS: [&str; 7] = [
    "status",
    "fetch_envelope_bodystructure",
    "fetch_literal_64KiB",
    "fetch_literal_1MiB",
    "fetch_literal_16MiB",
    "search_100k",
    "list",
];

fn input(name: &str) -> Input {
    let (bytes, expect) = match name {
        "status" => (b"a1 OK done\r\n".to_vec(), Expect::Status),
        "fetch_envelope_bodystructure" => (
            include_bytes!("fixtures/fetch_envelope_bodystructure.bin").to_vec(),
            Expect::EnvelopeAndBodyStructure,
        ),
        "fetch_literal_64KiB" => (literal_fetch(64 << 10), Expect::Literal(64 << 10)),
        "fetch_literal_1MiB" => (literal_fetch(1 << 20), Expect::Literal(1 << 20)),
        "fetch_literal_16MiB" => (literal_fetch(16 << 20), Expect::Literal(16 << 20)),
        "search_100k" => (search(100_000), Expect::Search(100_000)),
        "list" => (include_bytes!("fixtures/list.bin").to_vec(), Expect::List),
        _ => panic!("no input {name:?} (inputs: {INPUTS:?})"),
    };
    Input {
        name: name.to_string(),
        bytes,
        expect,
    }
}

// ----- one check per parser ---------------------------------------------------

fn check_imap4(input: &[u8], expect: Expect) -> Result<(), String> {
    use imap4_proto::parse::{parse_response, BodyStructure, FetchItem, Response, Untagged};
    let r = parse_response(input).map_err(|e| e.to_string())?;
    let ok = match (&r, expect) {
        (Response::Status(s), Expect::Status) => s.tag.is_some(),
        (Response::Data(Untagged::Fetch(f)), Expect::EnvelopeAndBodyStructure) => {
            f.envelope().is_some()
                && matches!(f.body_structure(), Some(BodyStructure::Multi { .. }))
                && !f.items.iter().any(|i| matches!(i, FetchItem::Other { .. }))
        }
        (Response::Data(Untagged::Fetch(f)), Expect::Literal(n)) => {
            f.section("").map(<[u8]>::len) == Some(n)
        }
        (Response::Data(Untagged::Search { numbers, .. }), Expect::Search(n)) => numbers.len() == n,
        (Response::Data(Untagged::List(_)), Expect::List) => true,
        _ => false,
    };
    ok.then_some(())
        .ok_or_else(|| format!("unexpected result {r:?}"))
}

fn check_imap_proto(input: &[u8], expect: Expect) -> Result<(), String> {
    use imap_proto::{AttributeValue, BodyStructure, MailboxDatum, Response};
    let (rest, r) = Response::parse(input).map_err(|e| format!("{e:?}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left unparsed", rest.len()));
    }
    let ok = match (&r, expect) {
        (Response::Done { .. }, Expect::Status) => true,
        (Response::Fetch(_, attrs), Expect::EnvelopeAndBodyStructure) => {
            attrs
                .iter()
                .any(|a| matches!(a, AttributeValue::Envelope(_)))
                && attrs.iter().any(|a| {
                    matches!(
                        a,
                        AttributeValue::BodyStructure(BodyStructure::Multipart { .. })
                    )
                })
                && !attrs.iter().any(|a| matches!(a, AttributeValue::Unknown))
        }
        (Response::Fetch(_, attrs), Expect::Literal(n)) => attrs.iter().any(
            |a| matches!(a, AttributeValue::BodySection { data: Some(d), .. } if d.len() == n),
        ),
        (Response::MailboxData(MailboxDatum::Search(v)), Expect::Search(n)) => v.len() == n,
        (Response::MailboxData(MailboxDatum::List(_)), Expect::List) => true,
        _ => false,
    };
    ok.then_some(())
        .ok_or_else(|| format!("unexpected result {r:?}"))
}

fn check_imap_codec(input: &[u8], expect: Expect) -> Result<(), String> {
    use imap_codec::imap_types::body::BodyStructure;
    use imap_codec::imap_types::fetch::MessageDataItem;
    use imap_codec::imap_types::response::{Data, Response, Status};
    let (rest, r) = ResponseCodec::default()
        .decode(input)
        .map_err(|e| format!("{e:?}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left unparsed", rest.len()));
    }
    let ok = match (&r, expect) {
        (Response::Status(Status::Tagged(_)), Expect::Status) => true,
        (Response::Data(Data::Fetch { items, .. }), Expect::EnvelopeAndBodyStructure) => {
            items
                .as_ref()
                .iter()
                .any(|i| matches!(i, MessageDataItem::Envelope(_)))
                && items.as_ref().iter().any(|i| {
                    matches!(
                        i,
                        MessageDataItem::BodyStructure(BodyStructure::Multi { .. })
                    )
                })
        }
        (Response::Data(Data::Fetch { items, .. }), Expect::Literal(n)) => {
            items.as_ref().iter().any(|i| {
                matches!(i, MessageDataItem::BodyExt { data, .. }
                    if data.0.as_ref().map(|s| AsRef::<[u8]>::as_ref(s).len()) == Some(n))
            })
        }
        (Response::Data(Data::Search(v, ..)), Expect::Search(n)) => v.len() == n,
        (Response::Data(Data::List { .. }), Expect::List) => true,
        _ => false,
    };
    ok.then_some(()).ok_or_else(|| {
        let mut s = format!("unexpected result {r:?}");
        s.truncate(2000);
        s
    })
}

// ----- the benchmark ------------------------------------------------------------

/// Runs `f` `n` times; the only code callgrind counts in loop mode.
#[inline(never)]
fn parse_loop<R>(n: u64, mut f: impl FnMut() -> R) {
    for _ in 0..n {
        black_box(f());
    }
}

/// `IMAP4_PARSE_LOOP=INPUT:PEER:N`: parse without criterion (see the top).
fn loop_mode(spec: &str) {
    let mut it = spec.split(':');
    let (Some(name), Some(peer), Some(n)) = (it.next(), it.next(), it.next()) else {
        panic!("IMAP4_PARSE_LOOP must be INPUT:PEER:N, not {spec:?}");
    };
    let n: u64 = n.parse().expect("N");
    let input = input(name);
    let bytes = &input.bytes[..];
    let codec = ResponseCodec::default();
    match peer {
        "imap4" => {
            check_imap4(bytes, input.expect).unwrap();
            parse_loop(n, || imap4_proto::parse::parse_response(black_box(bytes)));
        }
        "imap-proto" => {
            check_imap_proto(bytes, input.expect).unwrap();
            parse_loop(n, || imap_proto::Response::parse(black_box(bytes)));
        }
        "imap-codec" => {
            check_imap_codec(bytes, input.expect).unwrap();
            parse_loop(n, || codec.decode(black_box(bytes)));
        }
        _ => panic!("unknown peer {peer:?}"),
    }
}

fn parse(c: &mut Criterion) {
    if let Ok(spec) = std::env::var("IMAP4_PARSE_LOOP") {
        loop_mode(&spec);
        std::process::exit(0);
    }
    let codec = ResponseCodec::default();
    for input in INPUTS.map(input) {
        let bytes = &input.bytes[..];
        let checks = [
            ("imap4", check_imap4(bytes, input.expect)),
            ("imap-proto", check_imap_proto(bytes, input.expect)),
            ("imap-codec", check_imap_codec(bytes, input.expect)),
        ];
        for (peer, result) in &checks {
            if let Err(e) = result {
                let mut e = e.clone();
                e.truncate(600);
                eprintln!(
                    "NOTE: {peer} cannot parse {} ({} bytes): {e}; not timed on it",
                    input.name,
                    bytes.len()
                );
            }
        }
        let mut g = c.benchmark_group(&input.name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        if checks[0].1.is_ok() {
            g.bench_function("imap4", |b| {
                b.iter(|| imap4_proto::parse::parse_response(black_box(bytes)))
            });
        }
        if checks[1].1.is_ok() {
            g.bench_function("imap-proto", |b| {
                b.iter(|| imap_proto::Response::parse(black_box(bytes)))
            });
        }
        if checks[2].1.is_ok() {
            g.bench_function("imap-codec", |b| b.iter(|| codec.decode(black_box(bytes))));
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = parse
}
criterion_main!(benches);
