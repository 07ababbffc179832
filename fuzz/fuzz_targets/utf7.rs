//! Modified UTF-7 (RFC 3501 section 5.1.3).
//!
//! Asserted: for any string, `encode` gives printable ASCII that `decode`
//! turns back into the string; `decode` of arbitrary bytes never panics,
//! and what it decodes encodes to something that decodes to the same.
#![no_main]

use imap4_proto::parse::utf7;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes as a mailbox name from a server.
    if let Some(name) = utf7::decode(data) {
        let again = utf7::encode(&name);
        assert_eq!(
            utf7::decode(again.as_bytes()).as_deref(),
            Some(&*name),
            "decode(encode(decode(x))) != decode(x) for {data:?}"
        );
    }

    // Arbitrary text as a mailbox name from the user.
    let text = String::from_utf8_lossy(data);
    let encoded = utf7::encode(&text);
    assert!(
        encoded.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "encode gave non-printable bytes: {encoded:?}"
    );
    assert_eq!(
        utf7::decode(encoded.as_bytes()).as_deref(),
        Some(&*text),
        "round trip of {text:?} via {encoded:?}"
    );
});
