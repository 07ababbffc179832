//! RFC 2047 encoded words (`=?utf-8?q?Caf=C3=A9?=`) in ENVELOPE subjects
//! and display names.
//!
//! The charsets are those of the [`charset`] crate: the WHATWG Encoding
//! Standard's (through `encoding_rs`), UTF-7, and JavaMail's extra labels
//! — what Thunderbird decodes. No charset table lives here.

use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine;
use charset::Charset;

use super::types::{Address, Envelope};

/// The longest charset name (with an RFC 2231 `*language`) taken as one.
const MAX_CHARSET: usize = 100;

/// Decodes the RFC 2047 encoded words in a header value (an ENVELOPE
/// subject or display name, a body description) into text.
///
/// Lenient, as mail readers are, and total: it never fails and never
/// panics.
///
/// - `B` and `Q` encodings, either case, in any charset the [`charset`]
///   crate knows (UTF-8, ISO-8859-*, Windows-125x, ISO-2022-JP, GB2312/GBK/
///   GB18030, Big5, EUC-*, Shift_JIS, KOI8-*, UTF-7, …); an RFC 2231
///   language (`=?utf-8*en?q?…?=`) is ignored.
/// - Whitespace between two encoded words is dropped (RFC 2047 §6.2), and
///   adjacent words of one charset are decoded together, so a character
///   split across two words comes out whole.
/// - Bytes not valid in the charset become U+FFFD; the rest of the word
///   and of the value stay.
/// - A malformed word (an unknown charset, bad base64, no closing `?=`) is
///   left as it is, and so is the whitespace around it. Encoded words are
///   also recognized when not separated from the text around them, and
///   when longer than RFC 2047's 75 characters, as most readers do.
/// - Text outside encoded words is taken as UTF-8 (RFC 6532), invalid
///   bytes replaced; folding (CRLF before a space) is removed.
///
/// ```
/// use imap4_proto::parse::decode_encoded_words;
///
/// assert_eq!(decode_encoded_words(b"=?utf-8?q?Caf=C3=A9?= au lait"), "Café au lait");
/// assert_eq!(decode_encoded_words(b"=?ISO-8859-1?B?SvxyZ2Vu?= =?ISO-8859-1?Q?_M=FCller?="), "Jürgen Müller");
/// assert_eq!(decode_encoded_words(b"=?x-unknown?q?abc?="), "=?x-unknown?q?abc?=");
/// ```
pub fn decode_encoded_words(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    // Encoded words decoded but not yet turned into text: their charset
    // and bytes, and the whitespace seen since the last one (kept if no
    // word follows).
    let mut pending: Option<(Charset, Vec<u8>)> = None;
    let mut gap: &[u8] = &[];
    let mut text_start = 0;
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'=' || input.get(i + 1) != Some(&b'?') {
            i += 1;
            continue;
        }
        match encoded_word(input, i) {
            Word::Decoded {
                charset,
                bytes,
                end,
            } => {
                let before = &input[text_start..i];
                let only_space = before.iter().all(|b| b" \t\r\n".contains(b));
                if pending.is_some() && only_space {
                    // §6.2: whitespace between two encoded words is dropped.
                    gap = &[];
                } else {
                    flush(&mut out, &mut pending);
                    push_text(&mut out, gap);
                    gap = &[];
                    push_text(&mut out, before);
                }
                match &mut pending {
                    Some((c, buf)) if *c == charset => buf.extend_from_slice(&bytes),
                    _ => {
                        flush(&mut out, &mut pending);
                        pending = Some((charset, bytes));
                    }
                }
                i = end;
                text_start = end;
            }
            Word::NotAWord { skip_to } => i = skip_to.max(i + 2),
        }
        // Whitespace right after a decoded word waits to see what follows.
        if pending.is_some() && text_start == i {
            let ws = input[i..]
                .iter()
                .take_while(|b| b" \t\r\n".contains(b))
                .count();
            gap = &input[i..i + ws];
            i += ws;
            text_start = i;
        }
    }
    let rest = &input[text_start..];
    flush(&mut out, &mut pending);
    push_text(&mut out, gap);
    push_text(&mut out, rest);
    out
}

/// Appends the decoded text of the pending encoded words.
fn flush(out: &mut String, pending: &mut Option<(Charset, Vec<u8>)>) {
    if let Some((charset, bytes)) = pending.take() {
        let (text, _had_errors) = charset.decode_without_bom_handling(&bytes);
        out.push_str(&text);
    }
}

/// Appends plain text: UTF-8 (invalid bytes replaced), unfolded.
fn push_text(out: &mut String, text: &[u8]) {
    if text.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(text);
    if !text.contains(['\r', '\n']) {
        out.push_str(&text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // CRLF or LF before whitespace is folding: gone. A stray CR
            // or LF elsewhere becomes a space.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' if matches!(chars.peek(), Some(' ' | '\t')) => {}
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

enum Word {
    /// A well-formed encoded word ending before `end`.
    Decoded {
        charset: Charset,
        bytes: Vec<u8>,
        end: usize,
    },
    /// Not one; no encoded word starts before `skip_to`.
    NotAWord { skip_to: usize },
}

/// Parses the encoded word that may start at `start` (at `=?`).
fn encoded_word(input: &[u8], start: usize) -> Word {
    let not = |skip_to| Word::NotAWord { skip_to };
    let cs_start = start + 2;
    let cs_len = input[cs_start..]
        .iter()
        .take(MAX_CHARSET + 1)
        .take_while(|&&b| is_token(b))
        .count();
    let q1 = cs_start + cs_len;
    if cs_len == 0 || cs_len > MAX_CHARSET || input.get(q1) != Some(&b'?') {
        return not(start + 2);
    }
    let encoding = match input.get(q1 + 1) {
        Some(b'B' | b'b') => b'B',
        Some(b'Q' | b'q') => b'Q',
        _ => return not(start + 2),
    };
    if input.get(q1 + 2) != Some(&b'?') {
        return not(start + 2);
    }
    let text_start = q1 + 3;
    // The text runs to the first `?=`, with no whitespace in it. If there
    // is none before the next whitespace, no word starting before that
    // whitespace can end either: skip there (keeps this linear).
    let mut j = text_start;
    let text_end = loop {
        match input.get(j) {
            None => return not(j),
            Some(b' ' | b'\t' | b'\r' | b'\n') => return not(j),
            Some(b'?') if input.get(j + 1) == Some(&b'=') => break j,
            Some(_) => j += 1,
        }
    };
    let end = text_end + 2;
    let mut label = &input[cs_start..q1];
    if let Some(star) = label.iter().position(|&b| b == b'*') {
        label = &label[..star]; // RFC 2231 language
    }
    let Some(charset) = Charset::for_label_no_replacement(label) else {
        return not(end);
    };
    let text = &input[text_start..text_end];
    let bytes = match encoding {
        b'B' => match decode_b(text) {
            Some(b) => b,
            None => return not(end),
        },
        _ => decode_q(text),
    };
    Word::Decoded {
        charset,
        bytes,
        end,
    }
}

/// RFC 2047 `token`: printable ASCII but space and `especials`.
fn is_token(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\"/[]?.=".contains(&b)
}

/// The `B` encoding: base64, padding optional, stray trailing bits allowed.
fn decode_b(text: &[u8]) -> Option<Vec<u8>> {
    const B64: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    B64.decode(text).ok()
}

/// The `Q` encoding: `_` is a space, `=XX` a byte; a `=` not followed by
/// two hex digits is kept as it is.
fn decode_q(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    text.get(i + 1).and_then(|&b| hex(b)),
                    text.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

impl Envelope<'_> {
    /// The subject with its RFC 2047 encoded words decoded (see
    /// [`decode_encoded_words`]); `None` when the subject is NIL. The raw
    /// bytes stay in [`Envelope::subject`].
    ///
    /// ```
    /// use imap4_proto::parse::{ByteStr, Envelope};
    ///
    /// let env = Envelope {
    ///     subject: Some(ByteStr::borrowed(b"Re: =?utf-8?b?5p2x5Lqs?= =?utf-8?q?_caf=C3=A9?=")),
    ///     ..Envelope::default()
    /// };
    /// assert_eq!(env.subject_decoded().as_deref(), Some("Re: 東京 café"));
    /// ```
    pub fn subject_decoded(&self) -> Option<String> {
        self.subject
            .as_ref()
            .map(|s| decode_encoded_words(s.as_bytes()))
    }
}

impl Address<'_> {
    /// The display name with its RFC 2047 encoded words decoded (see
    /// [`decode_encoded_words`]); `None` when the name is NIL. The raw
    /// bytes stay in [`Address::name`].
    ///
    /// ```
    /// use imap4_proto::parse::{Address, ByteStr};
    ///
    /// let a = Address {
    ///     name: Some(ByteStr::borrowed(b"=?utf-8?q?=C5=81ukasz_Larsen?=")),
    ///     ..Address::default()
    /// };
    /// assert_eq!(a.name_decoded().as_deref(), Some("Łukasz Larsen"));
    /// ```
    pub fn name_decoded(&self) -> Option<String> {
        self.name
            .as_ref()
            .map(|s| decode_encoded_words(s.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &[u8]) -> String {
        decode_encoded_words(s)
    }

    #[test]
    fn q_and_b_utf8() {
        assert_eq!(d(b"=?utf-8?q?=C5=81ukasz_Larsen?="), "Łukasz Larsen");
        assert_eq!(d(b"=?UTF-8?Q?Zo=C3=AB_M=C3=BCller?="), "Zoë Müller");
        assert_eq!(d(b"=?utf-8?b?w4lsw6lhbm9yZQ==?="), "Éléanore");
        assert_eq!(d(b"=?UTF-8?B?8J+YgA==?="), "😀");
        // padding missing
        assert_eq!(d(b"=?utf-8?B?w4lsw6lhbm9yZQ?="), "Éléanore");
    }

    #[test]
    fn legacy_charsets() {
        // ISO-8859-1
        assert_eq!(d(b"=?ISO-8859-1?Q?Andr=E9?= Pirard"), "André Pirard");
        assert_eq!(
            d(b"=?iso-8859-1?q?this=20is=20some=20text?="),
            "this is some text"
        );
        // ISO-8859-2
        assert_eq!(d(b"=?ISO-8859-2?Q?=A3ukasz_Kowalski?="), "Łukasz Kowalski");
        assert_eq!(d(b"=?iso-8859-2?b?v2Fi6vY=?="), "żabęö");
        // Windows-1252: the euro sign and curly quotes
        assert_eq!(
            d(b"=?windows-1252?Q?=80100_=93quoted=94?="),
            "€100 “quoted”"
        );
        // ISO-2022-JP (RFC 1468), B as Japanese mailers send it
        assert_eq!(d(b"=?ISO-2022-JP?B?GyRCRWw1fhsoQg==?="), "東京");
        // GB2312 (decoded as GBK/GB18030)
        assert_eq!(d(b"=?gb2312?B?xOO6ww==?="), "你好");
        // KOI8-R, Big5, Shift_JIS
        assert_eq!(d(b"=?koi8-r?B?7c/Ty9fB?="), "Москва");
        assert_eq!(d(b"=?big5?B?pKSk5Q==?="), "中文");
        assert_eq!(d(b"=?shift_jis?B?k4yLng==?="), "東京");
        // UTF-7
        assert_eq!(d(b"=?utf-7?Q?Hi_+AOk-?="), "Hi é");
        // RFC 2231 language
        assert_eq!(d(b"=?US-ASCII*EN?Q?Keith_Moore?="), "Keith Moore");
    }

    #[test]
    fn rfc2047_section_8_examples() {
        assert_eq!(d(b"(=?ISO-8859-1?Q?a?=)"), "(a)");
        assert_eq!(d(b"(=?ISO-8859-1?Q?a?= b)"), "(a b)");
        assert_eq!(d(b"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
        assert_eq!(d(b"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)"), "(ab)");
        assert_eq!(d(b"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"), "(ab)");
        assert_eq!(d(b"(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
        assert_eq!(d(b"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
    }

    #[test]
    fn adjacent_and_mixed() {
        // a character split across two B words of one charset
        assert_eq!(d(b"=?utf-8?b?5p0=?= =?utf-8?b?seS6rA==?="), "東京");
        // words of different charsets
        assert_eq!(
            d(b"=?iso-8859-1?q?caf=E9?= =?utf-8?q?_na=C3=AFve?="),
            "café naïve"
        );
        // plain text on both sides keeps its spaces
        assert_eq!(
            d(b"Re: =?utf-8?q?Z=C3=BCrich?= meeting"),
            "Re: Zürich meeting"
        );
        assert_eq!(
            d(b"[list] =?utf-8?q?S=C3=A3o?= =?utf-8?q?_Paulo?= report"),
            "[list] São Paulo report"
        );
        // not separated from the text
        assert_eq!(d(b"foo=?utf-8?q?=C3=A9?=bar"), "fooébar");
        // folded
        assert_eq!(d(b"a long\r\n subject"), "a long subject");
        assert_eq!(d(b"=?utf-8?q?a?=\r\n =?utf-8?q?b?=\r\n c"), "ab c");
    }

    #[test]
    fn malformed_left_alone() {
        for s in [
            &b"=?utf-8?q?no end"[..],
            b"=?utf-8?x?abc?=",
            b"=?x-no-such-charset?q?abc?=",
            b"=?utf-8?b?!!!?=",
            b"=??q?abc?=",
            b"=?utf-8?q?has space?=",
            b"=?",
            b"=?=",
            b"=?utf-8",
            b"=?utf-8?",
            b"=?utf-8?q",
            b"=?utf-8?q?",
            b"=?iso-2022-kr?q?abc?=",
            b"plain text",
            b"",
        ] {
            assert_eq!(
                d(s),
                String::from_utf8_lossy(s),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        // a bad word between good ones keeps its spaces; the good ones decode
        assert_eq!(
            d(b"=?utf-8?q?a?= =?bogus?q?b?= =?utf-8?q?c?="),
            "a =?bogus?q?b?= c"
        );
        // a bad Q escape is kept literally, the rest decoded
        assert_eq!(d(b"=?utf-8?q?100=_=C3=A9=4?="), "100= é=4");
        // invalid bytes for the charset: replaced, not lost
        assert_eq!(d(b"=?utf-8?q?caf=E9_ok?="), "caf\u{fffd} ok");
        assert_eq!(d(b"=?utf-8?b?/w==?= tail"), "\u{fffd} tail");
        // empty encoded text
        assert_eq!(d(b"=?utf-8?q??="), "");
        assert_eq!(d(b"a =?utf-8?b??= b"), "a  b");
        // 8-bit plain text that is not UTF-8
        assert_eq!(d(b"caf\xe9"), "caf\u{fffd}");
    }

    #[test]
    fn accessors() {
        let env = Envelope {
            subject: Some(crate::parse::ByteStr::borrowed(b"=?utf-8?q?hi?=")),
            ..Envelope::default()
        };
        assert_eq!(env.subject_decoded().as_deref(), Some("hi"));
        assert_eq!(env.subject.as_ref().unwrap(), &"=?utf-8?q?hi?=");
        assert_eq!(Envelope::default().subject_decoded(), None);
        assert_eq!(Address::default().name_decoded(), None);
    }

    proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_encoded_words(&input);
        }

        #[test]
        fn never_panics_on_wordish(parts in proptest::collection::vec(
            prop_oneof![
                Just(b"=?".to_vec()), Just(b"?=".to_vec()), Just(b"?".to_vec()),
                Just(b"utf-8".to_vec()), Just(b"iso-2022-jp".to_vec()), Just(b"q".to_vec()),
                Just(b"B".to_vec()), Just(b" ".to_vec()), Just(b"\r\n ".to_vec()),
                Just(b"=C3".to_vec()), Just(b"5p2x".to_vec()), Just(b"_".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..4),
            ],
            0..40,
        )) {
            let input = parts.concat();
            let out = decode_encoded_words(&input);
            // without `=?` nothing is decoded: the text is the input
            if !input.windows(2).any(|w| w == b"=?") && !input.contains(&b'\r') && !input.contains(&b'\n') {
                prop_assert_eq!(out, String::from_utf8_lossy(&input));
            }
        }

        #[test]
        fn utf8_roundtrip(text in "\\PC{0,40}") {
            let q: String = text.bytes().map(|b| format!("={b:02X}")).collect();
            prop_assert_eq!(decode_encoded_words(format!("=?utf-8?q?{q}?=").as_bytes()), text.clone());
        }
    }
}
