//! Framer, then parser on every frame, then the typed result builders of
//! `imap4_proto::typed` on the frames (what a typed command does with the
//! untagged responses it collected).
//!
//! Input layout: `[limits selector] [4 limit bytes if selector >= 0x80]
//! [server bytes...]`.
//!
//! Asserted: no panic; Debug formatting of every parse result works; the
//! typed accessors and result builders never panic.
#![no_main]

use bytes::Bytes;
use imap4_fuzz::{byte, limits_from};
use imap4_proto::frame::Framer;
use imap4_proto::parse::{parse_response_with_depth, Response, Untagged};
use imap4_proto::typed::{Fetches, PartialBody, TypedOutcome};
use libfuzzer_sys::fuzz_target;

fn exercise(r: &Response<'_>) {
    let _ = format!("{r:?}");
    if let Response::Data(Untagged::Fetch(f)) = r {
        let _ = f.uid();
        let _ = f.flags();
        let _ = format!("{:?}", f.envelope());
        let _ = format!("{:?}", f.body_structure());
        for s in ["", "TEXT", "HEADER", "1", "1.2", "RFC822"] {
            let _ = f.section(s);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = byte(&mut data);
    let limits = limits_from(selector, &mut data);
    let mut framer = Framer::new(limits.clone());
    framer.feed(data);
    let mut frames: Vec<Bytes> = Vec::new();
    let mut tagged = Bytes::new();
    while let Ok(Some(frame)) = framer.next_frame() {
        let raw = frame.raw().clone();
        if let Ok(r) = parse_response_with_depth(&raw, limits.max_depth) {
            exercise(&r);
            if let Response::Status(s) = &r {
                if s.tag.is_some() {
                    tagged = raw.clone();
                }
            }
        }
        frames.push(raw);
    }

    // What a typed command makes of such responses.
    let outcome = TypedOutcome {
        tagged: tagged.slice(..tagged.len().saturating_sub(2)),
        frames,
        utf8: false,
    };
    let _ = format!("{:?}", outcome.code());
    for u in outcome.untagged() {
        let _ = format!("{u:?}");
    }
    for c in outcome.codes() {
        let _ = format!("{c:?}");
    }
    let _ = format!("{:?}", outcome.selected(selector & 1 == 1));
    let _ = outcome.search_ranges();
    let _ = format!("{:?}", outcome.mailboxes());
    let _ = format!("{:?}", outcome.status());
    let _ = format!("{:?}", outcome.uid_mapping());
    let _ = outcome.expunged();
    let _ = outcome.status_kind();
    let fetches: Fetches = outcome.into_fetches();
    for f in fetches.iter() {
        let _ = format!("{f:?}");
    }
    // Streaming a body out of these results.
    let mut body = PartialBody::new(u32::from(selector), "", 1 + u32::from(selector));
    for _ in 0..4 {
        if body.next_request().ok().flatten().is_none() {
            break;
        }
        match body.accept(&fetches) {
            Ok(chunk) => {
                if chunk.is_empty() {
                    break;
                }
            }
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    let _ = body.offset();
});
