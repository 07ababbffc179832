//! Typed parsing of server responses.
//!
//! [`parse_response`] takes one complete response — a line and its
//! literals, contiguous, as they came off the wire (a [`crate::frame::Frame`]'s
//! raw bytes) — and returns a typed [`Response`] that borrows from it.
//!
//! The parser is lenient where real servers are odd, each quirk named and
//! tested (see `tests/quirks.rs`, which cites the bug report behind each):
//! 8-bit bytes in text and strings, OK without text, a space before `)`
//! or at the end of a line, double spaces, NIL where a string belongs,
//! quoted system flags, bare LF line ends; in bodies a multipart without
//! parts, a disposition as a bare string, missing or NIL line counts,
//! sizes in scientific notation, malformed extension data (kept raw in
//! [`BodyExtension::rest`]); envelopes that end early or hold NIL in an
//! address list; code data with quoted strings, a bare `[CODE]` line.
//!
//! Nothing is dropped silently: one odd FETCH item is kept raw as
//! [`FetchItem::Other`] beside the typed ones; a known response with odd
//! contents, and a wholly unknown one, come back as [`Untagged::Other`].
//! Only nesting beyond the depth limit (and what no leniency covers, such
//! as an unterminated literal) is an error.
//!
//! ```
//! use imap4_proto::parse::{parse_response, FetchItem, Response, Untagged};
//!
//! let r = parse_response(b"* 12 FETCH (UID 40 FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n").unwrap();
//! let Response::Data(Untagged::Fetch(f)) = r else { panic!() };
//! assert_eq!(f.seq, 12);
//! assert_eq!(f.uid(), Some(40));
//! assert_eq!(f.section(""), Some(&b"hello"[..]));
//! ```

mod cursor;
mod date;
mod fetch;
pub mod inline_vec;
mod mailbox;
mod rfc2047;
pub mod types;
pub mod utf7;

pub use date::{parse_internal_date, parse_rfc5322_date};
pub use inline_vec::InlineVec;
pub use mailbox::decode_mailbox_name;
pub use rfc2047::decode_encoded_words;
pub use types::*;

pub(crate) use cursor::find_quoted_special;
use cursor::{Cursor, Upper};

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse response at byte {offset}: expected {expected}")]
pub struct ParseError {
    /// Byte offset in the response where parsing failed.
    pub offset: usize,
    /// What the parser expected there.
    pub expected: &'static str,
}

/// What [`ParseError::expected`] says when lists nest deeper than allowed.
pub(crate) const DEPTH_LIMIT: &str = "shallower nesting (depth limit)";

impl ParseError {
    /// Whether parsing stopped at the nesting limit (a hostile or broken
    /// server; never kept raw, always an error).
    pub fn is_depth_limit(&self) -> bool {
        self.expected == DEPTH_LIMIT
    }
}

/// The UID of an untagged FETCH response (`* n FETCH (… UID u …)`),
/// found without parsing its other items; `None` for a FETCH without
/// one, or anything else. Routes the answers of pipelined UID commands.
pub fn fetch_uid(raw: &[u8], max_depth: usize) -> Option<u32> {
    let mut c = Cursor::new(raw, max_depth);
    if !c.eat(b'*') {
        return None;
    }
    c.sp().ok()?;
    c.number64().ok()?;
    c.sp().ok()?;
    if !c.eat_ci(b"FETCH") {
        return None;
    }
    c.sp().ok()?;
    c.open().ok()?;
    while c.list_continues() {
        let name = c.skip_value().ok()?;
        c.sp().ok()?;
        if name.eq_ignore_ascii_case(b"UID") {
            return c.number().ok();
        }
        c.skip_value().ok()?;
    }
    None
}

/// Parses one complete response with the default nesting limit (64).
pub fn parse_response(input: &[u8]) -> Result<Response<'_>, ParseError> {
    parse_response_with_depth(input, crate::Limits::default().max_depth)
}

/// Parses one complete response, refusing lists nested deeper than
/// `max_depth` (a clean error, never a stack overflow).
pub fn parse_response_with_depth(
    input: &[u8],
    max_depth: usize,
) -> Result<Response<'_>, ParseError> {
    let mut c = Cursor::new(input, max_depth);
    let r = match c.peek() {
        Some(b'+') => {
            c.pos += 1;
            c.skip_sp();
            let (code, text) = resp_text(&mut c)?;
            Response::Continuation(Continuation { code, text })
        }
        Some(b'*') => {
            c.pos += 1;
            c.sp()?;
            untagged(&mut c)?
        }
        // Quirk "bare response code line": Exchange 2013 answers UID MOVE
        // with `[COPYUID 124 10 233]` alone on a line; taken as an
        // untagged OK (only when a whole `[…]` code parses).
        Some(b'[') if bare_code(&c)? => {
            let (code, text) = resp_text(&mut c)?;
            Response::Status(Status {
                tag: None,
                kind: StatusKind::Ok,
                code,
                text,
            })
        }
        Some(_) => {
            let tag = c.take_until(b" ");
            if tag.is_empty() {
                return Err(c.err("tag"));
            }
            c.sp()?;
            let kind = status_kind(&mut c)?.ok_or_else(|| c.err("OK, NO or BAD"))?;
            let (code, text) = status_tail(&mut c)?;
            Response::Status(Status {
                tag: Some(ByteStr::borrowed(tag)),
                kind,
                code,
                text,
            })
        }
        None => return Err(c.err("response")),
    };
    c.end_of_line()?;
    Ok(r)
}

/// Whether a line starts with a parsable response code.
/// Whether a whole `[…]` code parses here; nesting past the depth limit is
/// an error, not "no code" (it must not send the line down another path).
fn bare_code(c: &Cursor<'_>) -> Result<bool, ParseError> {
    let mut probe = c.clone();
    match code(&mut probe) {
        Ok(_) => Ok(true),
        Err(e) if e.is_depth_limit() => Err(e),
        Err(_) => Ok(false),
    }
}

fn status_kind(c: &mut Cursor<'_>) -> Result<Option<StatusKind>, ParseError> {
    let save = c.pos;
    let word = c.atom()?;
    let kind = match Upper::new(word).as_slice() {
        b"OK" => StatusKind::Ok,
        b"NO" => StatusKind::No,
        b"BAD" => StatusKind::Bad,
        b"PREAUTH" => StatusKind::PreAuth,
        b"BYE" => StatusKind::Bye,
        _ => {
            c.pos = save;
            return Ok(None);
        }
    };
    Ok(Some(kind))
}

/// After the status word: `[SP resp-text]` (servers that send no text are
/// tolerated).
fn status_tail<'a>(c: &mut Cursor<'a>) -> Result<(Option<Code<'a>>, ByteStr<'a>), ParseError> {
    if c.at_end_of_line() {
        return Ok((None, ByteStr::default()));
    }
    c.sp()?;
    resp_text(c)
}

fn resp_text<'a>(c: &mut Cursor<'a>) -> Result<(Option<Code<'a>>, ByteStr<'a>), ParseError> {
    let code = if c.peek() == Some(b'[') {
        let save = c.save();
        match code(c) {
            Ok(code) => Some(code),
            Err(e) if e.is_depth_limit() => return Err(e),
            Err(_) => {
                // An unparsable code stays in the text.
                c.restore(save);
                None
            }
        }
    } else {
        None
    };
    c.skip_sp();
    Ok((code, ByteStr::borrowed(c.text())))
}

fn code<'a>(c: &mut Cursor<'a>) -> Result<Code<'a>, ParseError> {
    c.expect(b'[', "'['")?;
    let name = c.atom()?;
    let upper = Upper::new(name);
    let code = match upper.as_slice() {
        b"ALERT" => Code::Alert,
        b"PARSE" => Code::Parse,
        b"READ-ONLY" => Code::ReadOnly,
        b"READ-WRITE" => Code::ReadWrite,
        b"TRYCREATE" => Code::TryCreate,
        b"UIDNOTSTICKY" => Code::UidNotSticky,
        b"NOMODSEQ" => Code::NoModSeq,
        b"CLOSED" => Code::Closed,
        b"UIDNEXT" => {
            c.sp()?;
            Code::UidNext(c.number()?)
        }
        b"UIDVALIDITY" => {
            c.sp()?;
            Code::UidValidity(c.number()?)
        }
        b"UNSEEN" => {
            c.sp()?;
            Code::Unseen(c.number()?)
        }
        b"HIGHESTMODSEQ" => {
            c.sp()?;
            Code::HighestModSeq(c.number64()?)
        }
        b"MODIFIED" => {
            c.sp()?;
            Code::Modified(ByteStr::borrowed(c.atom()?))
        }
        b"APPENDUID" => {
            c.sp()?;
            let uid_validity = c.number()?;
            c.sp()?;
            Code::AppendUid {
                uid_validity,
                uids: ByteStr::borrowed(c.atom()?),
            }
        }
        b"COPYUID" => {
            c.sp()?;
            let uid_validity = c.number()?;
            c.sp()?;
            let source = ByteStr::borrowed(c.atom()?);
            c.sp()?;
            Code::CopyUid {
                uid_validity,
                source,
                destination: ByteStr::borrowed(c.atom()?),
            }
        }
        b"CAPABILITY" => {
            let mut caps = Vec::new();
            while c.eat(b' ') {
                c.skip_sp();
                if c.peek() == Some(b']') {
                    break;
                }
                caps.push(ByteStr::borrowed(c.atom()?));
            }
            Code::Capability(caps)
        }
        b"PERMANENTFLAGS" => {
            c.sp()?;
            Code::PermanentFlags(flag_list(c)?)
        }
        b"BADCHARSET" => {
            let mut sets = Vec::new();
            if c.eat(b' ') {
                c.open()?;
                while c.list_continues() {
                    sets.push(c.astring()?);
                }
                c.close()?;
            }
            Code::BadCharset(sets)
        }
        _ => Code::Other {
            name: ByteStr::borrowed(name),
            data: code_data(c)?,
        },
    };
    c.skip_sp();
    c.expect(b']', "']'")?;
    Ok(code)
}

/// The data of an unknown code: everything up to the closing `]`, quoted
/// strings included (`]` inside quotes does not end it). Quirk "code data
/// without a space": Office 365 sends `[Error="…" Proxy=…]`, whose name
/// atom ends at the quote.
fn code_data<'a>(c: &mut Cursor<'a>) -> Result<Option<ByteStr<'a>>, ParseError> {
    c.skip_sp();
    let start = c.pos;
    loop {
        match c.peek() {
            None | Some(b']' | b'\r' | b'\n') => break,
            Some(b'"') => {
                c.quoted()?;
            }
            Some(_) => c.pos += 1,
        }
    }
    let mut end = c.pos;
    while end > start && c.buf[end - 1] == b' ' {
        end -= 1;
    }
    Ok((end > start).then(|| ByteStr::borrowed(&c.buf[start..end])))
}

/// A flag: `\Seen`, `$Label`, `\*`, or a quoted flag (a quirk of some
/// servers).
pub(crate) fn flag<'a>(c: &mut Cursor<'a>) -> Result<Flag<'a>, ParseError> {
    if c.peek() == Some(b'"') {
        return Ok(Flag(c.quoted()?));
    }
    let start = c.pos;
    c.eat(b'\\');
    if !c.eat(b'*') {
        c.take_class(cursor::ASTRING);
    }
    if c.pos == start {
        return Err(c.err("flag"));
    }
    Ok(Flag(ByteStr::borrowed(&c.buf[start..c.pos])))
}

pub(crate) fn flag_list<'a>(c: &mut Cursor<'a>) -> Result<Vec<Flag<'a>>, ParseError> {
    c.open()?;
    let mut flags = Vec::with_capacity(4);
    while c.list_continues() {
        flags.push(flag(c)?);
    }
    c.close()?;
    Ok(flags)
}

fn untagged<'a>(c: &mut Cursor<'a>) -> Result<Response<'a>, ParseError> {
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let n = c.number64()?;
        c.sp()?;
        let name = c.atom()?;
        let num = || {
            u32::try_from(n).map_err(|_| ParseError {
                offset: 0,
                expected: "32-bit number",
            })
        };
        let data = match Upper::new(name).as_slice() {
            b"EXISTS" => Untagged::Exists(num()?),
            b"RECENT" => Untagged::Recent(num()?),
            b"EXPUNGE" => Untagged::Expunge(num()?),
            // GNU Mailutils imap4d (3.15) answers EXPUNGE with
            // `* 1 EXPUNGED`: the same response, misspelt.
            b"EXPUNGED" => Untagged::Expunge(num()?),
            b"FETCH" => {
                c.sp()?;
                Untagged::Fetch(fetch::fetch(c, num()?)?)
            }
            _ => Untagged::Other {
                name: ByteStr::borrowed(name),
                raw: ByteStr::borrowed(c.raw_rest()?),
            },
        };
        return Ok(Response::Data(data));
    }
    if let Some(kind) = status_kind(c)? {
        let (code, text) = status_tail(c)?;
        return Ok(Response::Status(Status {
            tag: None,
            kind,
            code,
            text,
        }));
    }
    let name = c.atom()?;
    let body_start = c.save();
    let parsed = mailbox::untagged_data(c, name).and_then(|d| {
        // Data that parsed but is followed by more than spaces is odd too.
        c.skip_sp();
        if c.at_end_of_line() {
            Ok(d)
        } else {
            Err(c.err("end of line"))
        }
    });
    match parsed {
        Ok(d) => Ok(Response::Data(d)),
        Err(e) if e.is_depth_limit() => Err(e),
        Err(_) => {
            // A known name with odd contents is kept raw, not lost.
            c.restore(body_start);
            Ok(Response::Data(Untagged::Other {
                name: ByteStr::borrowed(name),
                raw: ByteStr::borrowed(c.raw_rest()?),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fetch_uid_skips_other_items_whatever_their_shape() {
        use super::fetch_uid;
        for (raw, uid) in [
            (&b"* 3 FETCH (UID 9 FLAGS ())\r\n"[..], Some(9)),
            (
                b"* 3 FETCH (FLAGS (\\Seen) ENVELOPE (\"UID 5\" NIL) uid 12)\r\n",
                Some(12),
            ),
            (
                b"* 3 FETCH (BODY[HEADER.FIELDS (UID)] {6}\r\nUID 4\n UID 7)\r\n",
                Some(7),
            ),
            (b"* 3 FETCH (FLAGS ())\r\n", None),
            (b"* 3 EXPUNGE\r\n", None),
            (b"* 3 FETCH (UID 99999999999)\r\n", None),
        ] {
            assert_eq!(fetch_uid(raw, 64), uid, "{}", String::from_utf8_lossy(raw));
        }
    }

    use super::*;

    fn data(input: &[u8]) -> Untagged<'_> {
        match parse_response(input) {
            Ok(Response::Data(d)) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fetch_with_envelope_and_bodystructure() {
        let input = b"* 1 FETCH (UID 7 RFC822.SIZE 2480 FLAGS (\\Seen $Junk) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73 NIL (\"attachment\" (\"filename\" \"cc.diff\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"x\") NIL NIL NIL))\r\n";
        let Untagged::Fetch(f) = data(input) else {
            panic!()
        };
        assert_eq!(f.uid(), Some(7));
        let env = f.envelope().unwrap();
        assert_eq!(env.cc.len(), 2);
        assert_eq!(env.cc[1].name.as_ref().unwrap(), &"John Klensin");
        let Some(BodyStructure::Multi {
            parts,
            subtype,
            extension,
        }) = f.body_structure()
        else {
            panic!()
        };
        assert_eq!(parts.len(), 2);
        assert_eq!(subtype, &"MIXED");
        assert_eq!(extension.as_ref().unwrap().params.len(), 1);
        assert!(
            f.items
                .iter()
                .all(|i| !matches!(i, FetchItem::Other { .. })),
            "{f:?}"
        );
    }

    #[test]
    fn odd_item_is_kept_raw() {
        let Untagged::Fetch(f) =
            data(b"* 2 FETCH (UID 3 ENVELOPE (oops) X-WEIRD [a b] FLAGS ())\r\n")
        else {
            panic!()
        };
        assert_eq!(f.uid(), Some(3));
        assert_eq!(f.flags(), Some(&[][..]));
        assert!(
            matches!(&f.items[1], FetchItem::Other { name, raw } if name == &"ENVELOPE" && raw == &"(oops)")
        );
    }

    #[test]
    fn status_responses() {
        let r = parse_response(b"a1 OK [READ-WRITE] SELECT completed\r\n").unwrap();
        let Response::Status(s) = r else { panic!() };
        assert_eq!(s.code, Some(Code::ReadWrite));
        let r = parse_response(b"a1 OK\r\n").unwrap();
        assert!(matches!(
            r,
            Response::Status(Status {
                kind: StatusKind::Ok,
                ..
            })
        ));
        let r = parse_response(b"* OK [UNKNOWN-CODE some data] text\r\n").unwrap();
        assert!(matches!(
            r,
            Response::Status(Status {
                code: Some(Code::Other { .. }),
                ..
            })
        ));
    }

    #[test]
    fn deep_nesting_is_a_clean_error() {
        let mut input = b"* 1 FETCH (BODY ".to_vec();
        input.extend(std::iter::repeat_n(b'(', 1_000_000));
        input.extend_from_slice(b"\r\n");
        let e = parse_response(&input).unwrap_err();
        assert!(e.expected.contains("depth"), "{e}");
    }

    #[test]
    fn thread_tree() {
        let Untagged::Thread(t) = data(b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n") else {
            panic!()
        };
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].messages, [2]);
        assert_eq!(t[1].messages, [3, 6]);
        assert_eq!(t[1].children.len(), 2);
        assert_eq!(t[1].children[0].messages, [4, 23]);
        assert_eq!(t[1].children[1].messages, [44, 7, 96]);
        assert_eq!(t[1].all_messages(), [3, 6, 4, 23, 44, 7, 96]);
    }

    #[test]
    fn error_recovery_does_not_leak_nesting_depth() {
        // Fuzz finding: each ` ({x)` opens a list that fails inside; the
        // depth it opened used to stay counted, so 3 copies broke a limit
        // of 2 and 65 copies the default 64, though nesting never passes 1.
        let three = b"* X ({x) ({x) ({x)\r\n";
        assert!(parse_response_with_depth(three, 2).is_ok());
        let mut many = b"* X".to_vec();
        for _ in 0..65 {
            many.extend_from_slice(b" ({x)");
        }
        many.extend_from_slice(b"\r\n");
        assert!(parse_response(&many).is_ok());
        // Real nesting beyond the limit is still an error.
        let deep = b"* X (((x)))\r\n";
        assert!(parse_response_with_depth(deep, 2)
            .unwrap_err()
            .is_depth_limit());
    }

    #[test]
    fn a_depth_limit_inside_a_fetch_item_is_never_kept_raw() {
        // Fuzz finding: parsed at depth 3, but at 4 and above the failing
        // BODY item was re-read raw by skip_value and the depth error lost.
        let input = b"* 7 FETCH (BODY (\"\" \"\" () NIL NIL \"\" 2\")h\"(()))";
        // A response that parses under a limit parses, identically, under
        // every higher one; below that, the error is the depth limit.
        let results: Vec<_> = (1..=8)
            .map(|d| parse_response_with_depth(input, d))
            .collect();
        let first_ok = results.iter().position(Result::is_ok);
        for (i, r) in results.iter().enumerate() {
            match (first_ok, r) {
                (Some(k), Ok(v)) => {
                    assert_eq!(Some(v), results[k].as_ref().ok(), "depth {}", i + 1)
                }
                (Some(k), Err(e)) => {
                    assert!(i < k && e.is_depth_limit(), "depth {}: {e}", i + 1)
                }
                (None, Err(e)) => assert!(e.is_depth_limit() || i > 0, "depth {}: {e}", i + 1),
                (None, Ok(_)) => unreachable!(),
            }
        }
        assert!(parse_response_with_depth(input, 2)
            .unwrap_err()
            .is_depth_limit());
    }

    #[test]
    fn long_thread_chain_is_flat() {
        // A 500,000-message chain used to become a tree 500,000 deep and
        // overflow the stack when dropped, cloned, compared or printed.
        let mut input = b"* THREAD (".to_vec();
        for _ in 0..500_000 {
            input.extend_from_slice(b"1 ");
        }
        input.extend_from_slice(b")\r\n");
        let Untagged::Thread(t) = data(&input) else {
            panic!()
        };
        assert_eq!(t[0].messages.len(), 500_000);
        assert!(t[0].children.is_empty());
        let copy = t.clone();
        assert_eq!(copy, t);
        assert!(format!("{t:?}").len() > 500_000);
    }
}
