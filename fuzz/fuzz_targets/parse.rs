//! The typed parser on arbitrary bytes.
//!
//! Input layout: `[depth byte] [response bytes...]`.
//!
//! Asserted: no panic (and no stack overflow), Debug formatting of every
//! result works, and the depth limit behaves as a limit: a response that
//! parses within a small depth parses the same with the default depth (a
//! depth error swallowed by error recovery would turn into a different,
//! raw result), and a response the default depth refuses for a reason other
//! than depth is refused with the small depth too.
#![no_main]

use imap4_proto::parse::{parse_response, parse_response_with_depth};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&depth, input)) = data.split_first() else {
        return;
    };
    let depth = usize::from(depth % 24);

    let full = parse_response(input);
    let shown = format!("{full:?}");
    assert!(!shown.is_empty());
    if let Err(e) = &full {
        assert!(e.offset <= input.len(), "error offset past the input: {e}");
        let _ = e.to_string();
    }

    let limited = parse_response_with_depth(input, depth);
    let _ = format!("{limited:?}");
    match (&limited, &full) {
        (Ok(l), Ok(f)) => assert_eq!(l, f, "result depends on the depth limit"),
        (Ok(l), Err(e)) => panic!("parses within depth {depth} ({l:?}) but not within 64: {e}"),
        (Err(e), Ok(_)) => assert!(
            e.is_depth_limit(),
            "depth {depth} fails with a non-depth error: {e}"
        ),
        (Err(_), Err(_)) => {}
    }
});
