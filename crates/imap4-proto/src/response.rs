//! imaplib's result shapes: `(typ, [data, ...])`.

use std::fmt;

use bytes::Bytes;

/// One item of a command's data list, in imaplib's shapes.
///
/// | imaplib (Python)          | here                         |
/// |---------------------------|------------------------------|
/// | `None`                    | [`Data::None`]               |
/// | `b'...'`                  | [`Data::Line`]               |
/// | `(b'header', b'literal')` | [`Data::Literal`]            |
/// | `[...]` (getquotaroot)    | [`Data::List`]               |
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Data {
    /// Python's `None`: nothing was received for the name asked for.
    None,
    /// A line (or the rest of a line) as bytes.
    Line(Bytes),
    /// A line that announced a literal, and the literal's data. Boxed,
    /// so that a `Data` is 40 bytes: a server's million stored responses
    /// cost that much less memory.
    Literal(Box<LiteralData>),
    /// A nested list (`getquotaroot` returns `[quotaroot, quota]`).
    List(Vec<Data>),
}

/// imaplib's `(header, literal)` tuple (see [`Data::Literal`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LiteralData {
    /// The line up to and including the `{N}` announcement.
    pub header: Bytes,
    /// The literal's bytes.
    pub body: Bytes,
}

impl Data {
    /// A [`Data::Literal`].
    pub fn literal(header: impl Into<Bytes>, body: impl Into<Bytes>) -> Data {
        Data::Literal(Box::new(LiteralData {
            header: header.into(),
            body: body.into(),
        }))
    }

    /// The header and body of a [`Data::Literal`], else `None`.
    ///
    /// ```
    /// let d = imap4_proto::Data::literal("1 (RFC822 {3}", "abc");
    /// assert_eq!(&d.as_literal().unwrap().body[..], b"abc");
    /// ```
    pub fn as_literal(&self) -> Option<&LiteralData> {
        match self {
            Data::Literal(l) => Some(l),
            _ => None,
        }
    }

    /// The bytes of a [`Data::Line`], else `None`.
    pub fn as_line(&self) -> Option<&[u8]> {
        match self {
            Data::Line(b) => Some(b),
            _ => None,
        }
    }

    /// Python truthiness: `None`, an empty line and an empty list are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Data::None => false,
            Data::Line(b) => !b.is_empty(),
            Data::Literal(_) => true,
            Data::List(l) => !l.is_empty(),
        }
    }

    #[cfg(test)]
    pub(crate) fn line(b: impl Into<Bytes>) -> Data {
        Data::Line(b.into())
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::None => f.write_str("None"),
            Data::Line(b) => f.write_str(&python_repr(b)),
            Data::Literal(l) => {
                write!(f, "({}, {})", python_repr(&l.header), python_repr(&l.body))
            }
            Data::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item:?}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A command's result: imaplib's `(typ, data)` tuple.
///
/// `typ` is `"OK"`, `"NO"`, `"BYE"` (after LOGOUT), or the code passed to
/// `response()`; `data` holds the items the command returned.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The result type, as imaplib prints it.
    pub typ: String,
    /// The result data.
    pub data: Vec<Data>,
}

impl Response {
    /// A response with this type and data.
    pub fn new(typ: impl Into<String>, data: Vec<Data>) -> Self {
        Response {
            typ: typ.into(),
            data,
        }
    }

    /// Whether `typ` is `"OK"`.
    pub fn is_ok(&self) -> bool {
        self.typ == "OK"
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "('{}', {:?})", self.typ, Data::List(self.data.clone()))
    }
}

/// Formats bytes the way Python's `repr()` formats a `bytes` object
/// (`b'...'`), so messages read as imaplib's do.
pub fn python_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// Server text made safe to show to a person (error messages, traces,
/// logs): control characters (C0, DEL, C1) and the Unicode controls that
/// reorder or hide text (bidirectional overrides and isolates, zero-width
/// joiners aside) are escaped as `\x1b` or `\u{202e}`; a backslash stays a
/// backslash. Text without such characters is borrowed unchanged.
///
/// ```
/// use imap4_proto::sanitize;
/// assert_eq!(sanitize("ok"), "ok");
/// assert_eq!(sanitize("evil\x1b[2Jtext\x07"), "evil\\x1b[2Jtext\\x07");
/// assert_eq!(sanitize("a\u{202e}b"), "a\\u{202e}b");
/// ```
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`sanitize`] for bytes: decoded lossily as UTF-8, then sanitized.
pub fn sanitize_bytes(text: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(text)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(python_repr(b"abc"), "b'abc'");
        assert_eq!(python_repr(b"it's"), "b\"it's\"");
        assert_eq!(python_repr(b"'\""), "b'\\'\"'");
        assert_eq!(python_repr(b"\r\n\x00\xff\\"), "b'\\r\\n\\x00\\xff\\\\'");
    }

    #[test]
    fn debug_looks_like_the_python_tuple() {
        let r = Response::new(
            "OK",
            vec![
                Data::literal(
                    Bytes::from_static(b"1 (RFC822 {3}"),
                    Bytes::from_static(b"abc"),
                ),
                Data::line(&b")"[..]),
                Data::None,
            ],
        );
        assert_eq!(
            format!("{r:?}"),
            "('OK', [(b'1 (RFC822 {3}', b'abc'), b')', None])"
        );
    }

    #[test]
    fn truthiness() {
        assert!(!Data::None.is_truthy());
        assert!(!Data::line(Bytes::new()).is_truthy());
        assert!(Data::line(&b"0"[..]).is_truthy());
    }
}
