//! The framer on arbitrary server bytes, fed in arbitrary chunks.
//!
//! Input layout: `[limits selector] [4 limit bytes if selector >= 0x80]
//! [n] [n chunk sizes] [server bytes...]`.
//!
//! Asserted: no line longer than `max_line_len`, no literal larger than
//! `max_literal_len`, no more than `max_literals` literals per frame; each
//! frame is `Line (Literal Line)*` with every literal announced by the line
//! before it; the frames' raw bytes are exactly the parts with their line
//! endings, and their concatenation is a prefix of the input (nothing lost
//! or invented); the same frames and the same outcome whatever the split.
//!
//! With bit 0x40 of the chunk-count byte set, body streaming is on
//! (`Framer::set_stream_bodies`), and also asserted: every streamed body
//! gets exactly its announced size in pieces before the next item; frames
//! keep the shape above; frames, pieces and the buffered rest add up to
//! the input; a frame with nothing streamed is the input at its offset;
//! the same items (pieces merged) and outcome whatever the split.
#![no_main]

use imap4_fuzz::{byte, chunks, limits_from, take};
use imap4_proto::frame::{literal_announcement, Frame, FrameError, Framer, Item, Part};
use imap4_proto::Limits;
use libfuzzer_sys::fuzz_target;

/// How framing a whole stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// More input needed; this many bytes are buffered.
    NeedMore(usize),
    /// A limit was violated.
    Error,
}

fn check_frame(frame: &Frame, limits: &Limits) {
    let parts = frame.parts();
    assert!(
        matches!(parts.first(), Some(Part::Line(_))),
        "frame starts with a literal"
    );
    assert!(
        matches!(parts.last(), Some(Part::Line(_))),
        "frame ends with a literal"
    );
    assert_eq!(parts.len() % 2, 1, "parts do not alternate");
    assert!(parts.len() / 2 <= limits.max_literals, "too many literals");
    let raw = frame.raw();
    assert_eq!(raw.len(), frame.raw_len());
    let mut pos = 0;
    let mut announced: Option<u64> = None;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Line(l) => {
                assert_eq!(i % 2, 0, "line where a literal belongs");
                assert!(
                    l.len() <= limits.max_line_len,
                    "line of {} bytes above max_line_len {}",
                    l.len(),
                    limits.max_line_len
                );
                assert!(!l.contains(&b'\n'), "LF inside a framed line");
                assert_eq!(
                    &raw[pos..pos + l.len()],
                    &l[..],
                    "line is not the raw bytes"
                );
                pos += l.len();
                // The line ending: CRLF or a bare LF.
                if raw[pos..].starts_with(b"\r\n") {
                    pos += 2;
                } else {
                    assert_eq!(raw.get(pos), Some(&b'\n'), "line without line ending");
                    pos += 1;
                }
                announced = literal_announcement(l);
                if i + 1 == parts.len() && i > 0 {
                    // A continuation line that announces nothing ends the
                    // frame; the first line may carry `{N}` as text.
                    assert!(announced.is_none(), "last line announces a literal");
                }
            }
            Part::Literal(b) => {
                assert_eq!(i % 2, 1, "literal where a line belongs");
                assert_eq!(
                    announced,
                    Some(b.len() as u64),
                    "literal size not announced"
                );
                assert!(
                    b.len() as u64 <= limits.max_literal_len,
                    "literal of {} bytes above max_literal_len {}",
                    b.len(),
                    limits.max_literal_len
                );
                assert_eq!(
                    &raw[pos..pos + b.len()],
                    &b[..],
                    "literal is not the raw bytes"
                );
                pos += b.len();
            }
        }
    }
    assert_eq!(pos, raw.len(), "raw bytes beyond the parts");
}

/// Drains complete frames; `Err` ends the stream.
fn drain(f: &mut Framer, out: &mut Vec<Frame>) -> Result<(), FrameError> {
    while let Some(frame) = f.next_frame()? {
        out.push(frame);
    }
    Ok(())
}

fn run(input: &[u8], sizes: &[u8], limits: &Limits) {
    // Reference: the whole input at once.
    let mut whole = Framer::new(limits.clone());
    whole.feed(input);
    let mut want = Vec::new();
    let want_end = match drain(&mut whole, &mut want) {
        Ok(()) => End::NeedMore(whole.buffered()),
        Err(_) => End::Error,
    };

    // Byte accounting: frames are a prefix of the input, the rest is
    // buffered.
    let mut consumed = 0;
    for frame in &want {
        check_frame(frame, limits);
        let raw = frame.raw();
        assert_eq!(
            &input[consumed..consumed + raw.len()],
            &raw[..],
            "frame bytes are not the input"
        );
        consumed += raw.len();
    }
    if let End::NeedMore(buffered) = want_end {
        assert_eq!(consumed + buffered, input.len(), "bytes lost or invented");
    }

    // The same stream in chunks.
    let mut split = Framer::new(limits.clone());
    let mut got = Vec::new();
    let mut got_end = None;
    for chunk in chunks(input, sizes) {
        split.feed(chunk);
        if drain(&mut split, &mut got).is_err() {
            got_end = Some(End::Error);
            break;
        }
    }
    let got_end = got_end.unwrap_or(End::NeedMore(split.buffered()));
    assert_eq!(got.len(), want.len(), "frame count depends on the split");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "frame depends on the split");
    }
    // Which limit fires first may depend on how much of a line was seen
    // (a line both too long and too deep), but whether one fires may not.
    assert_eq!(got_end, want_end, "outcome depends on the split");
}

/// A streamed item with the pieces of one body merged.
#[derive(Debug, PartialEq, Eq)]
enum Merged {
    Frame(Frame),
    Body { seq: u32, section: Vec<u8>, size: u64, data: Vec<u8> },
}

/// Drains items with streaming on, merging body pieces and checking each
/// body gets exactly its size before the next item.
fn drain_streamed(f: &mut Framer, out: &mut Vec<Merged>) -> Result<(), FrameError> {
    while let Some(item) = f.next_item()? {
        if let Some(Merged::Body { size, data, .. }) = out.last() {
            if !matches!(item, Item::BodyData(_)) {
                assert_eq!(*size, data.len() as u64, "body shorter than announced");
            }
        }
        match item {
            Item::Frame(fr) => out.push(Merged::Frame(fr)),
            Item::BodyStart { seq, section, size } => out.push(Merged::Body {
                seq,
                section: section.to_vec(),
                size,
                data: Vec::new(),
            }),
            Item::BodyData(d) => match out.last_mut() {
                Some(Merged::Body { size, data, .. }) => {
                    assert!(!d.is_empty(), "empty piece");
                    data.extend_from_slice(&d);
                    assert!(data.len() as u64 <= *size, "body longer than announced");
                }
                _ => panic!("body data without a start"),
            },
            _ => {}
        }
    }
    Ok(())
}

fn run_streamed(input: &[u8], sizes: &[u8], limits: &Limits) {
    let framer = || {
        let mut f = Framer::new(limits.clone());
        f.set_stream_bodies(Some(0));
        f
    };
    let mut whole = framer();
    whole.feed(input);
    let mut want = Vec::new();
    let want_end = match drain_streamed(&mut whole, &mut want) {
        Ok(()) => End::NeedMore(whole.buffered()),
        Err(_) => End::Error,
    };
    let mut total = 0usize;
    let mut bodies_since_frame = 0;
    for item in &want {
        match item {
            Merged::Frame(fr) => {
                check_frame(fr, limits);
                total += fr.raw_len();
                let at = fr.offset() as usize;
                if bodies_since_frame == 0 {
                    assert_eq!(
                        &input[at..at + fr.raw_len()],
                        &fr.raw()[..],
                        "frame bytes are not the input"
                    );
                }
                bodies_since_frame = 0;
            }
            Merged::Body { data, .. } => {
                total += data.len();
                bodies_since_frame += 1;
            }
        }
    }
    if let End::NeedMore(buffered) = want_end {
        // a body still streaming has handed out what arrived
        assert_eq!(total + buffered, input.len(), "bytes lost or invented");
    }
    let mut split = framer();
    let mut got = Vec::new();
    let mut got_end = None;
    for chunk in chunks(input, sizes) {
        split.feed(chunk);
        if drain_streamed(&mut split, &mut got).is_err() {
            got_end = Some(End::Error);
            break;
        }
    }
    let got_end = got_end.unwrap_or(End::NeedMore(split.buffered()));
    assert_eq!(got, want, "items depend on the split");
    assert_eq!(got_end, want_end, "outcome depends on the split");
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = byte(&mut data);
    let limits = limits_from(selector, &mut data);
    let count = byte(&mut data);
    let n = usize::from(count % 16);
    let sizes = take(&mut data, n);
    if count & 0x40 != 0 {
        run_streamed(data, sizes, &limits);
        if selector & 0x80 == 0 {
            run_streamed(data, &[1], &limits);
        }
        return;
    }
    run(data, sizes, &limits);
    if selector & 0x80 == 0 {
        // Also byte by byte, the hardest split.
        run(data, &[1], &limits);
    }
});
