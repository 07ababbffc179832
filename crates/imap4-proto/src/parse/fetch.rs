//! FETCH items, ENVELOPE and BODYSTRUCTURE.

use super::cursor::Cursor;
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
            Err(e) => {
                // Keep an odd item raw rather than lose the response.
                c.restore(start);
                let name = c.skip_value().map_err(|_| e.clone())?;
                c.skip_sp();
                let raw = if c.peek() == Some(b')') || c.at_end_of_line() {
                    &b""[..]
                } else {
                    c.skip_value().map_err(|_| e.clone())?
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

fn item<'a>(c: &mut Cursor<'a>) -> Result<FetchItem<'a>, ParseError> {
    let start = c.pos;
    while c
        .peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        c.pos += 1;
    }
    let name = &c.buf[start..c.pos];
    if name.is_empty() {
        return Err(c.err("fetch item name"));
    }
    let upper = name.to_ascii_uppercase();
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
            FetchItem::Envelope(Box::new(envelope(c)?))
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
            let origin = if c.eat(b'<') {
                let o = c.number()?;
                c.expect(b'>', "'>'")?;
                Some(o)
            } else {
                None
            };
            c.sp()?;
            FetchItem::BodySection {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        b"BINARY" => {
            let section = section(c)?;
            c.sp()?;
            FetchItem::Binary {
                section,
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

pub(crate) fn envelope<'a>(c: &mut Cursor<'a>) -> Result<Envelope<'a>, ParseError> {
    c.open()?;
    let date = c.nstring()?;
    c.sp()?;
    let subject = c.nstring()?;
    c.sp()?;
    let from = addresses(c)?;
    c.sp()?;
    let sender = addresses(c)?;
    c.sp()?;
    let reply_to = addresses(c)?;
    c.sp()?;
    let to = addresses(c)?;
    c.sp()?;
    let cc = addresses(c)?;
    c.sp()?;
    let bcc = addresses(c)?;
    c.sp()?;
    let in_reply_to = c.nstring()?;
    c.sp()?;
    let message_id = c.nstring()?;
    c.close()?;
    Ok(Envelope {
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    })
}

fn addresses<'a>(c: &mut Cursor<'a>) -> Result<Vec<Address<'a>>, ParseError> {
    if c.eat_ci(b"NIL") {
        return Ok(Vec::new());
    }
    c.open()?;
    let mut v = Vec::with_capacity(1);
    while c.list_continues() {
        c.open()?;
        let name = c.nstring()?;
        c.sp()?;
        let adl = c.nstring()?;
        c.sp()?;
        let mailbox = c.nstring()?;
        c.sp()?;
        let host = c.nstring()?;
        c.close()?;
        v.push(Address {
            name,
            adl,
            mailbox,
            host,
        });
    }
    c.close()?;
    Ok(v)
}

fn params<'a>(c: &mut Cursor<'a>) -> Result<Vec<(ByteStr<'a>, ByteStr<'a>)>, ParseError> {
    if c.eat_ci(b"NIL") {
        return Ok(Vec::new());
    }
    c.open()?;
    let mut v = Vec::new();
    while c.list_continues() {
        let k = c.string()?;
        c.sp()?;
        // NIL values are a known quirk (some servers); keep them as empty.
        let val = c.nstring()?.unwrap_or_default();
        v.push((k, val));
    }
    c.close()?;
    Ok(v)
}

/// body = "(" (body-type-1part / body-type-mpart) ")"
pub(crate) fn body<'a>(c: &mut Cursor<'a>) -> Result<BodyStructure<'a>, ParseError> {
    c.open()?;
    let b = if c.peek() == Some(b'(') {
        let mut parts = Vec::with_capacity(2);
        while c.peek() == Some(b'(') {
            parts.push(body(c)?);
            c.skip_sp();
        }
        let subtype = c.string()?;
        let extension = if c.list_continues() {
            Some(multipart_ext(c)?)
        } else {
            None
        };
        BodyStructure::Multi {
            parts,
            subtype,
            extension,
        }
    } else {
        let media_type = c.string()?;
        c.sp()?;
        let subtype = c.string()?;
        c.sp()?;
        let params = params(c)?;
        c.sp()?;
        let id = c.nstring()?;
        c.sp()?;
        let description = c.nstring()?;
        c.sp()?;
        let encoding = c.nstring()?;
        c.sp()?;
        let size = c.number64()?;
        let fields = BodyFields {
            media_type,
            subtype,
            params,
            id,
            description,
            encoding,
            size,
        };
        let is = |t: &ByteStr<'_>, s: &str| t.as_bytes().eq_ignore_ascii_case(s.as_bytes());
        let specific = if is(&fields.media_type, "TEXT") {
            c.sp()?;
            BodySpecific::Text {
                lines: c.number64()?,
            }
        } else if is(&fields.media_type, "MESSAGE")
            && (is(&fields.subtype, "RFC822") || is(&fields.subtype, "GLOBAL"))
            && c.list_continues()
        {
            let envelope = Box::new(envelope(c)?);
            c.sp()?;
            let body = Box::new(body(c)?);
            c.sp()?;
            BodySpecific::Message {
                envelope,
                body,
                lines: c.number64()?,
            }
        } else {
            BodySpecific::Basic
        };
        let extension = if c.list_continues() {
            Some(single_ext(c)?)
        } else {
            None
        };
        BodyStructure::Single {
            fields,
            specific,
            extension,
        }
    };
    c.close()?;
    Ok(b)
}

fn disposition<'a>(
    c: &mut Cursor<'a>,
) -> Result<Option<(ByteStr<'a>, Vec<(ByteStr<'a>, ByteStr<'a>)>)>, ParseError> {
    if c.eat_ci(b"NIL") {
        return Ok(None);
    }
    c.open()?;
    let kind = c.string()?;
    c.sp()?;
    let p = params(c)?;
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

fn single_ext<'a>(c: &mut Cursor<'a>) -> Result<BodyExtension<'a>, ParseError> {
    let mut ext = BodyExtension {
        md5: c.nstring()?,
        ..BodyExtension::default()
    };
    ext_tail(c, &mut ext)?;
    Ok(ext)
}

fn multipart_ext<'a>(c: &mut Cursor<'a>) -> Result<BodyExtension<'a>, ParseError> {
    let mut ext = BodyExtension {
        params: params(c)?,
        ..BodyExtension::default()
    };
    ext_tail(c, &mut ext)?;
    Ok(ext)
}
