//! Modified UTF-7 (RFC 3501 section 5.1.3), the encoding of mailbox names
//! on servers without UTF-8 support.
//!
//! ```
//! use imap4_proto::parse::utf7;
//! assert_eq!(utf7::encode("Entwürfe"), "Entw&APw-rfe");
//! assert_eq!(utf7::decode(b"Entw&APw-rfe").as_deref(), Some("Entwürfe"));
//! assert_eq!(utf7::encode("a&b"), "a&-b");
//! ```

use std::borrow::Cow;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn value(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == b).map(|p| p as u32)
}

/// Decodes a modified UTF-7 name; `None` if it is not valid modified
/// UTF-7 (8-bit bytes, a bad `&…-` run). Borrows when there is nothing to
/// decode.
pub fn decode(input: &[u8]) -> Option<Cow<'_, str>> {
    if input
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'&')
    {
        // Printable ASCII without '&' is itself.
        return std::str::from_utf8(input).ok().map(Cow::Borrowed);
    }
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if !(0x20..0x7f).contains(&b) {
            return None;
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let end = i + 1 + input[i + 1..].iter().position(|&c| c == b'-')?;
        let run = &input[i + 1..end];
        if run.is_empty() {
            out.push('&');
        } else {
            let mut units: Vec<u16> = Vec::with_capacity(run.len() * 6 / 16);
            let (mut acc, mut bits) = (0u32, 0u32);
            for &c in run {
                acc = (acc << 6) | value(c)?;
                bits += 6;
                if bits >= 16 {
                    bits -= 16;
                    units.push((acc >> bits) as u16);
                    acc &= (1 << bits) - 1;
                }
            }
            if acc != 0 {
                return None;
            }
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        i = end + 1;
    }
    Some(Cow::Owned(out))
}

/// Encodes a name to modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let (mut acc, mut bits) = (0u32, 0u32);
        for &u in pending.iter() {
            acc = (acc << 16) | u32::from(u);
            bits += 16;
            while bits >= 6 {
                bits -= 6;
                out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
        }
        out.push('-');
        pending.clear();
    };
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "INBOX",
            "Entwürfe",
            "日本語",
            "a&b",
            "&",
            "😀 x",
            "Отправленные",
            "~peter/mail/台北/日本語",
        ] {
            let e = encode(s);
            assert!(e.is_ascii());
            assert_eq!(decode(e.as_bytes()).as_deref(), Some(s), "{e}");
        }
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
    }

    #[test]
    fn invalid_inputs() {
        assert_eq!(decode(b"a&Zz"), None);
        assert_eq!(decode("é".as_bytes()), None);
        assert_eq!(decode(b"&!-"), None);
    }
}
