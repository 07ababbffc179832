//! FETCH items, ENVELOPE and BODYSTRUCTURE.

use super::cursor::{Cursor, Upper};
use super::types::*;
use super::{flag_list, ParseError};

/// `(item SP value …)` after `n FETCH SP`.
pub(crate) fn fetch<'a>(c: &mut Cursor<'a>, seq: u32) -> Result<Fetch<'a>, ParseError> {
    c.open()?;
    let mut items = Vec::with_capacity(8);
    while c.list_continues() {
        let start = c.save();
        match item(c) {
            Ok(i) => items.push(i),
            // Beyond the depth limit is an error, whatever re-reading the
            // item as a raw value would make of it.
            Err(e) if e.is_depth_limit() => return Err(e),
            Err(e) => {
                // Keep an odd item raw rather than lose the response.
                c.restore(start);
                // Beyond the depth limit is an error, not data to keep.
                let or_item_error = |skip: ParseError| {
                    if skip.is_depth_limit() {
                        skip
                    } else {
                        e.clone()
                    }
                };
                let name = c.skip_value().map_err(or_item_error)?;
                c.skip_sp();
                let raw = if c.peek() == Some(b')') || c.at_end_of_line() {
                    &b""[..]
                } else {
                    c.skip_value().map_err(or_item_error)?
                };
                items.push(FetchItem::Other {
                    name: ByteStr::borrowed(name),
                    raw: ByteStr::borrowed(raw),
                });
            }
        }
    }
    c.close()?;
    Ok(Fetch { seq, items })
}

fn section<'a>(c: &mut Cursor<'a>) -> Result<ByteStr<'a>, ParseError> {
    c.expect(b'[', "'['")?;
    let start = c.pos;
    loop {
        match c.peek() {
            Some(b']') => break,
            Some(b'"') => {
                c.quoted()?;
            }
            None | Some(b'\r') | Some(b'\n') => return Err(c.err("']'")),
            Some(_) => c.pos += 1,
        }
    }
    let s = &c.buf[start..c.pos];
    c.pos += 1;
    Ok(ByteStr::borrowed(s))
}

/// `["<" number ">"]` after a section.
fn origin(c: &mut Cursor<'_>) -> Result<Option<u32>, ParseError> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let o = c.number()?;
    c.expect(b'>', "'>'")?;
    Ok(Some(o))
}

fn item<'a>(c: &mut Cursor<'a>) -> Result<FetchItem<'a>, ParseError> {
    let name = c.take_class(super::cursor::ITEM_NAME);
    if name.is_empty() {
        return Err(c.err("fetch item name"));
    }
    let upper = Upper::new(name);
    let item = match upper.as_slice() {
        b"UID" => {
            c.sp()?;
            FetchItem::Uid(c.number()?)
        }
        b"FLAGS" => {
            c.sp()?;
            FetchItem::Flags(flag_list(c)?)
        }
        b"INTERNALDATE" => {
            c.sp()?;
            FetchItem::InternalDate(c.string()?)
        }
        b"RFC822.SIZE" => {
            c.sp()?;
            FetchItem::Rfc822Size(c.number64()?)
        }
        b"ENVELOPE" => {
            c.sp()?;
            FetchItem::Envelope(envelope(c)?)
        }
        b"BODYSTRUCTURE" => {
            c.sp()?;
            FetchItem::BodyStructure(Box::new(body(c)?))
        }
        b"BODY" if c.peek() != Some(b'[') => {
            c.sp()?;
            FetchItem::Body(Box::new(body(c)?))
        }
        b"BODY" => {
            let section = section(c)?;
            let origin = origin(c)?;
            c.sp()?;
            FetchItem::BodySection {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        b"BINARY" => {
            let section = section(c)?;
            // A partial BINARY fetch answers with its origin (RFC 3516:
            // `"BINARY" section-binary ["<" number ">"]`).
            let origin = origin(c)?;
            c.sp()?;
            FetchItem::Binary {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        b"BINARY.SIZE" => {
            let section = section(c)?;
            c.sp()?;
            FetchItem::BinarySize {
                section,
                size: c.number64()?,
            }
        }
        b"RFC822" => {
            c.sp()?;
            FetchItem::Rfc822(c.nstring()?)
        }
        b"RFC822.HEADER" => {
            c.sp()?;
            FetchItem::Rfc822Header(c.nstring()?)
        }
        b"RFC822.TEXT" => {
            c.sp()?;
            FetchItem::Rfc822Text(c.nstring()?)
        }
        b"MODSEQ" => {
            c.sp()?;
            c.open()?;
            let n = c.number64()?;
            c.close()?;
            FetchItem::ModSeq(n)
        }
        b"X-GM-MSGID" => {
            c.sp()?;
            FetchItem::GmMsgId(c.number64()?)
        }
        b"X-GM-THRID" => {
            c.sp()?;
            FetchItem::GmThrId(c.number64()?)
        }
        b"X-GM-LABELS" => {
            c.sp()?;
            c.open()?;
            let mut labels = Vec::new();
            while c.list_continues() {
                labels.push(gm_label(c)?);
            }
            c.close()?;
            FetchItem::GmLabels(labels)
        }
        b"EMAILID" => {
            c.sp()?;
            c.open()?;
            let id = c.atom()?;
            c.close()?;
            FetchItem::EmailId(ByteStr::borrowed(id))
        }
        b"THREADID" => {
            c.sp()?;
            if c.eat_ci(b"NIL") {
                FetchItem::ThreadId(None)
            } else {
                c.open()?;
                let id = c.atom()?;
                c.close()?;
                FetchItem::ThreadId(Some(ByteStr::borrowed(id)))
            }
        }
        b"SAVEDATE" => {
            c.sp()?;
            FetchItem::SaveDate(c.nstring()?)
        }
        b"PREVIEW" => {
            c.sp()?;
            FetchItem::Preview(c.nstring()?)
        }
        _ => return Err(c.err("known fetch item")),
    };
    Ok(item)
}

/// Gmail labels: astrings, with `\Inbox`-style system labels as atoms.
fn gm_label<'a>(c: &mut Cursor<'a>) -> Result<ByteStr<'a>, ParseError> {
    if c.peek() == Some(b'\\') {
        return Ok(super::flag(c)?.0);
    }
    c.astring()
}

/// `envelope`. Quirk "envelope with missing trailing fields" (QQ Mail and
/// others end the list early, e.g. without Message-ID): the fields not sent
/// are `None`/empty.
pub(crate) fn envelope<'a>(c: &mut Cursor<'a>) -> Result<Box<Envelope<'a>>, ParseError> {
    c.open()?;
    // Filled in place: an envelope is too big to build and then move.
    let mut env = Box::<Envelope<'a>>::default();
    env.date = c.nstring()?;
    'fields: {
        if !more(c)? {
            break 'fields;
        }
        env.subject = c.nstring()?;
        for field in [
            &mut env.from,
            &mut env.sender,
            &mut env.reply_to,
            &mut env.to,
            &mut env.cc,
            &mut env.bcc,
        ] {
            if !more(c)? {
                break 'fields;
            }
            addresses(c, field)?;
        }
        if !more(c)? {
            break 'fields;
        }
        env.in_reply_to = c.nstring()?;
        if !more(c)? {
            break 'fields;
        }
        env.message_id = c.nstring()?;
    }
    c.close()?;
    Ok(env)
}

/// Before a further field of a list that may end early: `false` (nothing
/// consumed but spaces) at `)`, else the separating space is consumed.
fn more(c: &mut Cursor<'_>) -> Result<bool, ParseError> {
    let save = c.pos;
    c.skip_sp();
    if c.peek() == Some(b')') {
        return Ok(false);
    }
    c.pos = save;
    c.sp()?;
    Ok(true)
}

/// An address list into `out` (empty on NIL).
fn addresses<'a>(c: &mut Cursor<'a>, out: &mut Addresses<'a>) -> Result<(), ParseError> {
    if c.eat_nil() {
        return Ok(());
    }
    c.open()?;
    while c.list_continues() {
        // Quirk "NIL inside an address list": skipped.
        if c.eat_nil() {
            continue;
        }
        c.open()?;
        let name = c.nstring()?;
        c.sp()?;
        let adl = c.nstring()?;
        c.sp()?;
        let mailbox = c.nstring()?;
        c.sp()?;
        let host = c.nstring()?;
        c.close()?;
        out.push(Address {
            name,
            adl,
            mailbox,
            host,
        });
    }
    c.close()
}

/// A body parameter list (empty on NIL).
fn params<'a>(c: &mut Cursor<'a>) -> Result<Params<'a>, ParseError> {
    let mut v = Params::new();
    if c.eat_nil() {
        return Ok(v);
    }
    c.open()?;
    while c.list_continues() {
        // Quirk "NIL where a string belongs" (Mail.ru sends
        // `("boundary" NIL)`, DavMail NIL names): kept as empty.
        let k = string_or_nil(c)?;
        c.sp()?;
        let val = string_or_nil(c)?;
        v.push((k, val));
    }
    c.close()?;
    Ok(v)
}

/// A string where NIL is a known quirk: NIL is the empty string.
#[inline]
fn string_or_nil<'a>(c: &mut Cursor<'a>) -> Result<ByteStr<'a>, ParseError> {
    Ok(c.nstring()?.unwrap_or_default())
}

/// A body size or line count. Quirk "numbers in scientific notation"
/// (Mail.ru sends `9.3736e+06`): rounded to the nearest integer.
fn body_number(c: &mut Cursor<'_>) -> Result<u64, ParseError> {
    let start = c.pos;
    if let Ok(n) = c.number64() {
        if !matches!(c.peek(), Some(b'.' | b'e' | b'E')) {
            return Ok(n);
        }
    }
    c.pos = start;
    while c
        .peek()
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        c.pos += 1;
    }
    std::str::from_utf8(&c.buf[start..c.pos])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|f| f.is_finite() && (0.0..1.8e19).contains(f))
        .map(|f| f.round() as u64)
        .ok_or_else(|| {
            c.pos = start;
            c.err("number")
        })
}

/// body = "(" (body-type-1part / body-type-mpart) ")"
///
/// Quirks, besides those of the fields: "multipart without parts" (Gmail
/// sends `("ALTERNATIVE")` and `("RELATED" NIL ("ATTACHMENT" NIL) NIL)`;
/// others `(NIL "alternative" (…) NIL NIL NIL)`) is a [`BodyStructure::Multi`]
/// with no parts. The first error is the one reported.
pub(crate) fn body<'a>(c: &mut Cursor<'a>) -> Result<BodyStructure<'a>, ParseError> {
    let start = c.save();
    match body_strict(c) {
        Ok(b) => Ok(b),
        Err(e) if e.is_depth_limit() => Err(e),
        Err(e) => {
            c.restore(start);
            match empty_multipart(c) {
                Ok(b) => Ok(b),
                Err(_) => {
                    c.restore(start);
                    Err(e)
                }
            }
        }
    }
}

/// `( [NIL SP] subtype [SP body-ext-mpart] )`: a multipart without parts.
fn empty_multipart<'a>(c: &mut Cursor<'a>) -> Result<BodyStructure<'a>, ParseError> {
    c.open()?;
    if c.eat_ci(b"NIL") {
        c.sp()?;
    }
    let subtype = c.string()?;
    let extension = if c.list_continues() {
        let mut ext = Box::<BodyExtension<'a>>::default();
        multipart_ext(c, &mut ext)?;
        Some(ext)
    } else {
        None
    };
    c.close()?;
    Ok(BodyStructure::Multi {
        parts: Vec::new(),
        subtype,
        extension,
    })
}

fn body_strict<'a>(c: &mut Cursor<'a>) -> Result<BodyStructure<'a>, ParseError> {
    c.open()?;
    // Two functions, so that the frame recursing through nested
    // multiparts stays small (the depth limit bounds the recursion; a
    // small frame keeps even debug builds well inside a thread's stack).
    // Each closes the list itself and builds its value where it is
    // returned (no copies of the structure on the way out).
    if c.peek() == Some(b'(') {
        multipart(c)
    } else {
        single_part(c)
    }
}

#[inline(never)]
fn multipart<'a>(c: &mut Cursor<'a>) -> Result<BodyStructure<'a>, ParseError> {
    let mut parts = Vec::with_capacity(2);
    while c.peek() == Some(b'(') {
        parts.push(body(c)?);
        c.skip_sp();
    }
    let subtype = string_or_nil(c)?;
    let extension = if c.list_continues() {
        Some(extension(c, multipart_ext)?)
    } else {
        None
    };
    c.close()?;
    Ok(BodyStructure::Multi {
        parts,
        subtype,
        extension,
    })
}

#[inline(never)]
fn single_part<'a>(c: &mut Cursor<'a>) -> Result<BodyStructure<'a>, ParseError> {
    let media_type = string_or_nil(c)?;
    c.sp()?;
    let subtype = string_or_nil(c)?;
    c.sp()?;
    let params = params(c)?;
    c.sp()?;
    let id = c.nstring()?;
    c.sp()?;
    let description = c.nstring()?;
    c.sp()?;
    let encoding = c.nstring()?;
    c.sp()?;
    let size = body_number(c)?;
    let is = |t: &ByteStr<'_>, s: &str| t.as_bytes().eq_ignore_ascii_case(s.as_bytes());
    let specific = if is(&media_type, "TEXT") {
        // Quirk "missing body-fld-lines": absent, or NIL, is 0.
        let lines = if !c.list_continues() || c.eat_nil() {
            0
        } else {
            body_number(c)?
        };
        BodySpecific::Text { lines }
    } else if is(&media_type, "MESSAGE")
        && (is(&subtype, "RFC822") || is(&subtype, "GLOBAL"))
        && c.list_continues()
    {
        let envelope = envelope(c)?;
        // GNU Mailutils imap4d (3.15) puts no space between the envelope
        // and the body: `... "<id@host>")("text" "plain" ...`.
        if c.peek() != Some(b'(') {
            c.sp()?;
        }
        let body = Box::new(body(c)?);
        // Quirk "missing body-fld-lines" here too.
        let lines = if !c.list_continues() || c.eat_nil() {
            0
        } else {
            body_number(c)?
        };
        BodySpecific::Message {
            envelope,
            body,
            lines,
        }
    } else {
        BodySpecific::Basic
    };
    let extension = if c.list_continues() {
        Some(extension(c, single_ext)?)
    } else {
        None
    };
    c.close()?;
    Ok(BodyStructure::Single {
        fields: BodyFields {
            media_type,
            subtype,
            params,
            id,
            description,
            encoding,
            size,
        },
        specific,
        extension,
    })
}

/// Extension data, filled in place on the heap. Quirk "malformed
/// extension data" (a parameter list where the MD5 belongs, a number too
/// many — GMX, DavMail, Coremail): the typed fields are lost, the data is
/// kept raw in [`BodyExtension::rest`] and the body itself survives.
fn extension<'a>(
    c: &mut Cursor<'a>,
    typed: fn(&mut Cursor<'a>, &mut BodyExtension<'a>) -> Result<(), ParseError>,
) -> Result<Box<BodyExtension<'a>>, ParseError> {
    let start = c.save();
    let mut ext = Box::<BodyExtension<'a>>::default();
    let e = match typed(c, &mut ext) {
        Ok(()) if c.peek() == Some(b')') => return Ok(ext),
        Ok(()) => c.err("')'"),
        Err(e) => e,
    };
    if e.is_depth_limit() {
        return Err(e);
    }
    c.restore(start);
    let raw_start = c.pos;
    while c.list_continues() {
        c.skip_value()?;
    }
    *ext = BodyExtension {
        rest: Some(ByteStr::borrowed(&c.buf[raw_start..c.pos])),
        ..BodyExtension::default()
    };
    Ok(ext)
}

/// A disposition: its type and parameters.
type Disposition<'a> = (ByteStr<'a>, Params<'a>);

fn disposition<'a>(c: &mut Cursor<'a>) -> Result<Option<Disposition<'a>>, ParseError> {
    if c.eat_ci(b"NIL") {
        return Ok(None);
    }
    // Quirk "disposition as a bare string" (Exchange sends `"inline"` and
    // `"S/MIME Encrypted Message"` where `("inline" NIL)` belongs).
    if c.peek() != Some(b'(') {
        return Ok(Some((c.string()?, Params::new())));
    }
    c.open()?;
    let kind = c.string()?;
    // `("inline")` without its parameters is tolerated too.
    let p = if c.list_continues() {
        params(c)?
    } else {
        Params::new()
    };
    c.close()?;
    Ok(Some((kind, p)))
}

fn language<'a>(c: &mut Cursor<'a>) -> Result<Vec<ByteStr<'a>>, ParseError> {
    if c.peek() == Some(b'(') {
        c.open()?;
        let mut v = Vec::new();
        while c.list_continues() {
            v.push(c.string()?);
        }
        c.close()?;
        Ok(v)
    } else {
        Ok(c.nstring()?.into_iter().collect())
    }
}

/// The optional trailing fields shared by both kinds: disposition,
/// language, location, further extensions.
fn ext_tail<'a>(c: &mut Cursor<'a>, ext: &mut BodyExtension<'a>) -> Result<(), ParseError> {
    if !c.list_continues() {
        return Ok(());
    }
    ext.disposition = disposition(c)?;
    if !c.list_continues() {
        return Ok(());
    }
    ext.language = language(c)?;
    if !c.list_continues() {
        return Ok(());
    }
    ext.location = c.nstring()?;
    if c.list_continues() {
        let start = c.pos;
        while c.list_continues() {
            c.skip_value()?;
        }
        ext.rest = Some(ByteStr::borrowed(&c.buf[start..c.pos]));
    }
    Ok(())
}

fn single_ext<'a>(c: &mut Cursor<'a>, ext: &mut BodyExtension<'a>) -> Result<(), ParseError> {
    ext.md5 = c.nstring()?;
    ext_tail(c, ext)
}

fn multipart_ext<'a>(c: &mut Cursor<'a>, ext: &mut BodyExtension<'a>) -> Result<(), ParseError> {
    ext.params = params(c)?;
    ext_tail(c, ext)
}
