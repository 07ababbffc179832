//! Untagged data other than FETCH and the numbered responses.

use std::borrow::Cow;

use super::cursor::{Cursor, Upper};
use super::types::*;
use super::{flag, flag_list, utf7, ParseError};

/// Dispatches on the response name.
pub(crate) fn untagged_data<'a>(
    c: &mut Cursor<'a>,
    name: &'a [u8],
) -> Result<Untagged<'a>, ParseError> {
    let upper = Upper::new(name);
    Ok(match upper.as_slice() {
        b"CAPABILITY" => Untagged::Capability(atoms(c)?),
        b"ENABLED" => Untagged::Enabled(atoms(c)?),
        b"FLAGS" => {
            c.sp()?;
            Untagged::Flags(flag_list(c)?)
        }
        b"LIST" => Untagged::List(list_item(c)?),
        b"LSUB" => Untagged::Lsub(list_item(c)?),
        b"STATUS" => status(c)?,
        b"SEARCH" => search(c)?,
        b"SORT" => Untagged::Sort(numbers(c)?),
        b"ESEARCH" => Untagged::ESearch(esearch(c)?),
        b"THREAD" => Untagged::Thread(threads(c)?),
        b"NAMESPACE" => {
            c.sp()?;
            let personal = namespaces(c)?;
            c.sp()?;
            let other = namespaces(c)?;
            c.sp()?;
            let shared = namespaces(c)?;
            Untagged::Namespace {
                personal,
                other,
                shared,
            }
        }
        b"QUOTA" => {
            c.sp()?;
            let root = c.astring()?;
            c.sp()?;
            c.open()?;
            let mut resources = Vec::new();
            while c.list_continues() {
                let name = ByteStr::borrowed(c.atom()?);
                c.sp()?;
                let usage = c.number64()?;
                c.sp()?;
                let limit = c.number64()?;
                resources.push(QuotaResource { name, usage, limit });
            }
            c.close()?;
            Untagged::Quota { root, resources }
        }
        b"QUOTAROOT" => {
            c.sp()?;
            let mailbox = mailbox_name(c)?;
            let mut roots = Vec::new();
            while c.list_continues() {
                roots.push(c.astring()?);
            }
            Untagged::QuotaRoot { mailbox, roots }
        }
        b"ACL" => {
            c.sp()?;
            let mailbox = mailbox_name(c)?;
            let mut entries = Vec::new();
            while c.list_continues() {
                let who = c.astring()?;
                c.sp()?;
                entries.push((who, c.astring()?));
            }
            Untagged::Acl { mailbox, entries }
        }
        b"LISTRIGHTS" => {
            c.sp()?;
            let mailbox = mailbox_name(c)?;
            c.sp()?;
            let identifier = c.astring()?;
            c.sp()?;
            let required = c.astring()?;
            let mut optional = Vec::new();
            while c.list_continues() {
                optional.push(c.astring()?);
            }
            Untagged::ListRights {
                mailbox,
                identifier,
                required,
                optional,
            }
        }
        b"MYRIGHTS" => {
            c.sp()?;
            let mailbox = mailbox_name(c)?;
            c.sp()?;
            Untagged::MyRights {
                mailbox,
                rights: c.astring()?,
            }
        }
        b"ANNOTATION" => annotation(c)?,
        b"METADATA" => metadata(c)?,
        b"ID" => {
            c.sp()?;
            if c.eat_ci(b"NIL") {
                Untagged::Id(None)
            } else {
                c.open()?;
                let mut pairs = Vec::new();
                while c.list_continues() {
                    let k = c.string()?;
                    c.sp()?;
                    pairs.push((k, c.nstring()?));
                }
                c.close()?;
                Untagged::Id(Some(pairs))
            }
        }
        b"VANISHED" => {
            c.sp()?;
            let earlier = if c.peek() == Some(b'(') {
                c.open()?;
                let e = c.eat_ci(b"EARLIER");
                c.close()?;
                c.sp()?;
                e
            } else {
                false
            };
            Untagged::Vanished {
                earlier,
                uids: ByteStr::borrowed(c.atom()?),
            }
        }
        _ => Untagged::Other {
            name: ByteStr::borrowed(name),
            raw: ByteStr::borrowed(c.raw_rest()?),
        },
    })
}

/// `*(SP atom)`.
fn atoms<'a>(c: &mut Cursor<'a>) -> Result<Vec<ByteStr<'a>>, ParseError> {
    let mut v = Vec::new();
    while c.eat(b' ') {
        c.skip_sp();
        if c.at_end_of_line() {
            break;
        }
        v.push(ByteStr::borrowed(c.atom()?));
    }
    Ok(v)
}

/// `*(SP number)`, tolerating a trailing space.
fn numbers(c: &mut Cursor<'_>) -> Result<Vec<u32>, ParseError> {
    let mut v = Vec::new();
    while c.eat(b' ') {
        c.skip_sp();
        if !c.peek().is_some_and(|b| b.is_ascii_digit()) {
            break;
        }
        v.push(c.number()?);
    }
    Ok(v)
}

fn search<'a>(c: &mut Cursor<'a>) -> Result<Untagged<'a>, ParseError> {
    let numbers = numbers(c)?;
    let modseq = if c.peek() == Some(b'(') {
        c.open()?;
        if !c.eat_ci(b"MODSEQ") {
            return Err(c.err("MODSEQ"));
        }
        c.sp()?;
        let m = c.number64()?;
        c.close()?;
        Some(m)
    } else {
        None
    };
    Ok(Untagged::Search { numbers, modseq })
}

fn esearch<'a>(c: &mut Cursor<'a>) -> Result<ESearch<'a>, ParseError> {
    let mut e = ESearch::default();
    c.skip_sp();
    if c.peek() == Some(b'(') {
        c.open()?;
        if !c.eat_ci(b"TAG") {
            return Err(c.err("TAG"));
        }
        c.sp()?;
        e.tag = Some(c.string()?);
        c.close()?;
    }
    loop {
        c.skip_sp();
        if c.at_end_of_line() {
            break;
        }
        let name = c.atom()?;
        let upper = Upper::new(name);
        if upper.as_slice() == b"UID" {
            e.uid = true;
            continue;
        }
        c.sp()?;
        match upper.as_slice() {
            b"MIN" => e.min = Some(c.number()?),
            b"MAX" => e.max = Some(c.number()?),
            b"COUNT" => e.count = Some(c.number()?),
            b"ALL" => e.all = Some(ByteStr::borrowed(c.atom()?)),
            b"MODSEQ" => e.modseq = Some(c.number64()?),
            _ => {
                let v = c.skip_value()?;
                e.other
                    .push((ByteStr::borrowed(name), ByteStr::borrowed(v)));
            }
        }
    }
    Ok(e)
}

/// THREAD: `*(SP thread-list)`, iteratively (no recursion on depth).
fn threads(c: &mut Cursor<'_>) -> Result<Vec<Thread>, ParseError> {
    let mut roots = Vec::new();
    c.skip_sp();
    while c.peek() == Some(b'(') {
        roots.push(thread(c)?);
        c.skip_sp();
    }
    Ok(roots)
}

/// One `( … )` thread: a chain of messages, then the branches under its
/// last message. The tree is as deep as the lists nest (bounded by the
/// depth limit), never as deep as a chain is long.
fn thread(c: &mut Cursor<'_>) -> Result<Thread, ParseError> {
    c.open()?;
    let mut messages: Vec<u32> = Vec::new();
    let mut children: Vec<Thread> = Vec::new();
    while c.list_continues() {
        if c.peek() == Some(b'(') {
            children.push(thread(c)?);
        } else if children.is_empty() {
            messages.push(c.number()?);
        } else {
            // RFC 5256: branches come last in a thread.
            return Err(c.err("'(' or ')' after a branch"));
        }
    }
    c.close()?;
    Ok(Thread { messages, children })
}

fn namespaces<'a>(c: &mut Cursor<'a>) -> Result<Vec<Namespace<'a>>, ParseError> {
    if c.eat_ci(b"NIL") {
        return Ok(Vec::new());
    }
    c.open()?;
    let mut v = Vec::new();
    while c.list_continues() {
        c.open()?;
        let prefix = c.string()?;
        c.sp()?;
        let delimiter = delimiter(c)?;
        let mut extensions = Vec::new();
        while c.list_continues() {
            let k = c.string()?;
            c.sp()?;
            let val = c.skip_value()?;
            extensions.push((k, ByteStr::borrowed(val)));
        }
        c.close()?;
        v.push(Namespace {
            prefix,
            delimiter,
            extensions,
        });
    }
    c.close()?;
    Ok(v)
}

fn delimiter(c: &mut Cursor<'_>) -> Result<Option<u8>, ParseError> {
    if c.eat_ci(b"NIL") {
        return Ok(None);
    }
    let s = c.string()?;
    Ok(s.as_bytes().first().copied())
}

/// A mailbox name, decoded from modified UTF-7 (or taken as UTF-8 when it
/// is not valid modified UTF-7 but valid UTF-8, as UTF8=ACCEPT servers send).
pub(crate) fn mailbox_name<'a>(c: &mut Cursor<'a>) -> Result<Mailbox<'a>, ParseError> {
    let raw = c.astring()?;
    Ok(decode_mailbox(raw))
}

pub(crate) fn decode_mailbox(raw: ByteStr<'_>) -> Mailbox<'_> {
    let name = match &raw.0 {
        Cow::Borrowed(b) => decode_name(b),
        Cow::Owned(v) => Cow::Owned(decode_name(v).into_owned()),
    };
    Mailbox { raw, name }
}

/// Decodes a mailbox name as the server sent it. With `utf8` (after
/// `ENABLE UTF8=ACCEPT`, RFC 6855) names are UTF-8 and `&` is just `&`;
/// otherwise they are modified UTF-7 (falling back to UTF-8, then to a
/// lossy decoding). `INBOX` in any case is `INBOX`.
pub fn decode_mailbox_name(raw: &[u8], utf8: bool) -> Cow<'_, str> {
    if utf8 {
        if raw.eq_ignore_ascii_case(b"INBOX") {
            return Cow::Borrowed("INBOX");
        }
        return String::from_utf8_lossy(raw);
    }
    decode_name(raw)
}

/// `INBOX` in any case is `INBOX`; otherwise modified UTF-7, falling back
/// to UTF-8 (servers with UTF8=ACCEPT), then to a lossy decoding.
fn decode_name(b: &[u8]) -> Cow<'_, str> {
    if b.eq_ignore_ascii_case(b"INBOX") {
        return Cow::Borrowed("INBOX");
    }
    if let Some(s) = utf7::decode(b) {
        return s;
    }
    String::from_utf8_lossy(b)
}

fn list_item<'a>(c: &mut Cursor<'a>) -> Result<ListItem<'a>, ParseError> {
    c.sp()?;
    c.open()?;
    let mut attributes = Vec::new();
    while c.list_continues() {
        attributes.push(flag(c)?);
    }
    c.close()?;
    c.sp()?;
    let delimiter = delimiter(c)?;
    c.sp()?;
    let mailbox = mailbox_name(c)?;
    let mut item = ListItem {
        attributes,
        delimiter,
        mailbox,
        childinfo: Vec::new(),
        oldname: None,
        extended: Vec::new(),
    };
    c.skip_sp();
    if c.peek() == Some(b'(') {
        c.open()?;
        while c.list_continues() {
            let tag = c.astring()?;
            c.sp()?;
            if tag.as_bytes().eq_ignore_ascii_case(b"CHILDINFO") {
                c.open()?;
                while c.list_continues() {
                    item.childinfo.push(c.astring()?);
                }
                c.close()?;
            } else if tag.as_bytes().eq_ignore_ascii_case(b"OLDNAME") {
                c.open()?;
                item.oldname = Some(mailbox_name(c)?);
                c.close()?;
            } else {
                let v = c.skip_value()?;
                item.extended.push((tag, ByteStr::borrowed(v)));
            }
        }
        c.close()?;
    }
    Ok(item)
}

fn status<'a>(c: &mut Cursor<'a>) -> Result<Untagged<'a>, ParseError> {
    c.sp()?;
    let start = c.pos;
    let mut mailbox = mailbox_name(c)?;
    // GNU Mailutils imap4d (3.15) writes a name with spaces as atoms, not
    // quoted: `* STATUS Gepr&APw-ft &JxM- (MESSAGES 0)`. Atoms after an
    // atom name, up to the ` (` of the list, are part of the name.
    if !matches!(c.buf.get(start), Some(b'"' | b'{' | b'~')) {
        let mut end = c.pos;
        while c.buf.get(end) == Some(&b' ') && c.buf.get(end + 1).is_some_and(|&b| b != b'(') {
            c.pos = end + 1;
            c.atom()?;
            end = c.pos;
        }
        if end > start + mailbox.raw.as_bytes().len() {
            mailbox = decode_mailbox(ByteStr::borrowed(&c.buf[start..end]));
        }
    }
    c.sp()?;
    c.open()?;
    let mut items = Vec::new();
    while c.list_continues() {
        let name = ByteStr::borrowed(c.atom()?);
        c.sp()?;
        let raw = c.skip_value()?;
        let value = std::str::from_utf8(raw).ok().and_then(|s| s.parse().ok());
        items.push(StatusItem {
            name,
            value,
            raw: ByteStr::borrowed(raw),
        });
    }
    c.close()?;
    Ok(Untagged::Status { mailbox, items })
}

/// `ANNOTATION mailbox entry (attr value …)` (RFC 5257), possibly with
/// several entries; or the draft's `entry (attr value)` list.
fn annotation<'a>(c: &mut Cursor<'a>) -> Result<Untagged<'a>, ParseError> {
    c.sp()?;
    let mailbox = mailbox_name(c)?;
    let mut entries = Vec::new();
    while c.list_continues() {
        let entry = c.astring()?;
        let mut attrs = Vec::new();
        c.skip_sp();
        if c.peek() == Some(b'(') {
            c.open()?;
            while c.list_continues() {
                let a = c.astring()?;
                c.sp()?;
                attrs.push((a, c.nstring()?));
            }
            c.close()?;
        }
        entries.push((entry, attrs));
    }
    Ok(Untagged::Annotation { mailbox, entries })
}

/// `METADATA mailbox (entry value …)` or the unsolicited
/// `METADATA mailbox entry …`.
fn metadata<'a>(c: &mut Cursor<'a>) -> Result<Untagged<'a>, ParseError> {
    c.sp()?;
    let mailbox = mailbox_name(c)?;
    c.sp()?;
    let mut entries = Vec::new();
    if c.peek() == Some(b'(') {
        c.open()?;
        while c.list_continues() {
            let e = c.astring()?;
            c.sp()?;
            entries.push((e, c.nstring()?));
        }
        c.close()?;
    } else {
        loop {
            entries.push((c.astring()?, None));
            if !c.list_continues() {
                break;
            }
        }
    }
    Ok(Untagged::Metadata { mailbox, entries })
}
