//! The byte cursor every typed parser is built on.
//!
//! It reads one complete response (the line and its literals, contiguous as
//! they were on the wire) without copying: strings borrow from the input,
//! and a literal's data is taken as a slice, never scanned.

use std::borrow::Cow;

use super::{ByteStr, ParseError};

/// The first `"`, `\` or LF in `s`. Quoted strings are short, so this
/// looks at eight bytes per step with word arithmetic ("SWAR") instead of
/// paying a vectorized search's set-up cost on every string.
#[inline]
pub(crate) fn find_quoted_special(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte of `v` that is zero (exact for the lowest
    // such byte, which is the one we report).
    let zero_bytes = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let m = zero_bytes(w ^ (LO * u64::from(b'"')))
            | zero_bytes(w ^ (LO * u64::from(b'\\')))
            | zero_bytes(w ^ (LO * u64::from(b'\n')));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | b'\n'))
        .map(|k| i + k)
}

/// An upper-cased copy of a short keyword, on the stack: keywords are
/// matched case-insensitively without allocating. Longer words (no known
/// keyword is longer than 32 bytes) come back empty and match nothing.
pub(crate) struct Upper {
    buf: [u8; 32],
    len: usize,
}

impl Upper {
    #[inline]
    pub(crate) fn new(word: &[u8]) -> Upper {
        let mut buf = [0u8; 32];
        if word.len() > buf.len() {
            return Upper { buf, len: 0 };
        }
        for (d, s) in buf.iter_mut().zip(word) {
            *d = s.to_ascii_uppercase();
        }
        Upper {
            buf,
            len: word.len(),
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A cursor over one response.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
    depth: usize,
    max_depth: usize,
}

/// [`CLASS`] bit: ATOM-CHAR (any CHAR except atom-specials: `( ) { SP CTL
/// % * " \\ ]`; `]` is resp-special, stopped at so that `[CODE]` parses).
pub(crate) const ATOM: u8 = 1;
/// [`CLASS`] bit: ASTRING-CHAR (an atom char, or `]`).
pub(crate) const ASTRING: u8 = 2;
/// [`CLASS`] bit: a byte of a FETCH item name (`BODY.PEEK`, `X-GM-MSGID`,
/// `RFC822.SIZE`): letters, digits, `.`, `-`, `_`.
pub(crate) const ITEM_NAME: u8 = 4;

/// The character classes of every byte, looked up once per byte by the
/// scanning loops (a table load instead of a chain of comparisons).
pub(crate) static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let special = matches!(
            c,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']' | 0..=0x1f | 0x7f
        );
        if !special {
            t[b] |= ATOM | ASTRING;
        }
        if c == b']' {
            t[b] |= ASTRING;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_') {
            t[b] |= ITEM_NAME;
        }
        b += 1;
    }
    t
};

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], max_depth: usize) -> Self {
        Cursor {
            buf,
            pos: 0,
            depth: 0,
            max_depth,
        }
    }

    /// A position to come back to with [`Cursor::restore`].
    #[inline]
    pub(crate) fn save(&self) -> (usize, usize) {
        (self.pos, self.depth)
    }

    /// Goes back to a position from [`Cursor::save`].
    #[inline]
    pub(crate) fn restore(&mut self, (pos, depth): (usize, usize)) {
        self.pos = pos;
        self.depth = depth;
    }

    pub(crate) fn err(&self, expected: &'static str) -> ParseError {
        ParseError {
            offset: self.pos,
            expected,
        }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn at_end_of_line(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r') | Some(b'\n'))
    }

    /// Consumes `b` if it is next.
    #[inline]
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> Result<(), ParseError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// Consumes `word` case-insensitively if it is next.
    #[inline]
    pub(crate) fn eat_ci(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        if end <= self.buf.len() && self.buf[self.pos..end].eq_ignore_ascii_case(word) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// One or more spaces (servers that send double spaces are tolerated).
    #[inline]
    pub(crate) fn sp(&mut self) -> Result<(), ParseError> {
        if !self.eat(b' ') {
            return Err(self.err("space"));
        }
        while self.eat(b' ') {}
        Ok(())
    }

    /// Zero or more spaces.
    #[inline]
    pub(crate) fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    /// Opens a parenthesized list, enforcing the depth limit.
    #[inline]
    pub(crate) fn open(&mut self) -> Result<(), ParseError> {
        self.expect(b'(', "'('")?;
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(self.err(super::DEPTH_LIMIT));
        }
        Ok(())
    }

    /// Closes a list; a space before `)` is tolerated.
    #[inline]
    pub(crate) fn close(&mut self) -> Result<(), ParseError> {
        self.skip_sp();
        self.expect(b')', "')'")?;
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    /// After an item inside a list: `true` if the list continues (spaces
    /// consumed), `false` at `)` (not consumed).
    #[inline]
    pub(crate) fn list_continues(&mut self) -> bool {
        self.skip_sp();
        !matches!(self.peek(), Some(b')') | None | Some(b'\r') | Some(b'\n'))
    }

    #[inline]
    pub(crate) fn number(&mut self) -> Result<u32, ParseError> {
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| self.err("32-bit number"))
    }

    #[inline]
    pub(crate) fn number64(&mut self) -> Result<u64, ParseError> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| self.err("number that fits in 64 bits"))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("number"));
        }
        Ok(n)
    }

    /// The bytes from here on that are all of `class` (a [`CLASS`] bit),
    /// possibly none.
    #[inline]
    pub(crate) fn take_class(&mut self, class: u8) -> &'a [u8] {
        let buf = self.buf;
        let start = self.pos.min(buf.len());
        let n = buf[start..]
            .iter()
            .position(|&b| CLASS[usize::from(b)] & class == 0)
            .unwrap_or(buf.len() - start);
        self.pos = start + n;
        &buf[start..start + n]
    }

    /// An atom (possibly empty-checked).
    #[inline]
    pub(crate) fn atom(&mut self) -> Result<&'a [u8], ParseError> {
        let a = self.take_class(ATOM);
        if a.is_empty() {
            return Err(self.err("atom"));
        }
        Ok(a)
    }

    /// Bytes up to (not including) the first of `stops` or the line end.
    #[inline]
    pub(crate) fn take_until(&mut self, stops: &[u8]) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b'\r' || b == b'\n' || stops.contains(&b) {
                break;
            }
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    /// The rest of the line (text), without the line ending.
    #[inline]
    pub(crate) fn text(&mut self) -> &'a [u8] {
        self.take_until(&[])
    }

    /// A quoted string or a literal.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<ByteStr<'a>, ParseError> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') | Some(b'~') => self.literal_str(),
            _ => Err(self.err("string")),
        }
    }

    /// A string, or NIL.
    #[inline(always)]
    pub(crate) fn nstring(&mut self) -> Result<Option<ByteStr<'a>>, ParseError> {
        match self.peek() {
            Some(b'"') => self.quoted().map(Some),
            Some(b'N') | Some(b'n') if self.eat_nil() => Ok(None),
            Some(b'{') | Some(b'~') => self.literal_str().map(Some),
            _ => Err(self.err("string or NIL")),
        }
    }

    /// A literal as a string, out of line: the quoted strings' path is
    /// the common one and stays small.
    #[inline(never)]
    fn literal_str(&mut self) -> Result<ByteStr<'a>, ParseError> {
        self.literal().map(ByteStr::borrowed)
    }

    /// Consumes `NIL` (any case) if it is next.
    #[inline]
    pub(crate) fn eat_nil(&mut self) -> bool {
        match self.buf.get(self.pos..self.pos + 3) {
            Some(&[n, i, l]) if n & 0xdf == b'N' && i & 0xdf == b'I' && l & 0xdf == b'L' => {
                self.pos += 3;
                true
            }
            _ => false,
        }
    }

    /// An astring: atom (with `]` allowed), quoted or literal.
    #[inline]
    pub(crate) fn astring(&mut self) -> Result<ByteStr<'a>, ParseError> {
        match self.peek() {
            Some(b'"') | Some(b'{') | Some(b'~') => self.string(),
            _ => {
                let a = self.take_class(ASTRING);
                if a.is_empty() {
                    return Err(self.err("astring"));
                }
                Ok(ByteStr::borrowed(a))
            }
        }
    }

    /// A quoted string; escapes are resolved (borrowed when there are none).
    /// 8-bit bytes are kept as they are.
    #[inline(always)]
    pub(crate) fn quoted(&mut self) -> Result<ByteStr<'a>, ParseError> {
        match self.quoted_fast() {
            Some(s) => Ok(s),
            None => self.quoted_slow(),
        }
    }

    /// The usual quoted string, kept small so that it inlines: at an
    /// opening quote, with no escape before the closing one. `None` (and
    /// nothing consumed) for anything else.
    #[inline(always)]
    fn quoted_fast(&mut self) -> Option<ByteStr<'a>> {
        let buf = self.buf;
        if buf.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let rest = &buf[start..];
        let k = find_quoted_special(rest)?;
        if rest[k] != b'"' {
            return None;
        }
        self.pos = start + k + 1;
        Some(ByteStr::borrowed(&rest[..k]))
    }

    /// [`Cursor::quoted`] with escapes, or an error.
    #[cold]
    #[inline(never)]
    fn quoted_slow(&mut self) -> Result<ByteStr<'a>, ParseError> {
        self.expect(b'"', "'\"'")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            // Jump to the next quote, backslash or line end.
            let rest = &self.buf[self.pos.min(self.buf.len())..];
            let Some(k) = find_quoted_special(rest) else {
                self.pos = self.buf.len();
                return Err(self.err("closing '\"'"));
            };
            self.pos += k;
            match self.buf[self.pos] {
                b'"' => break,
                b'\n' => {
                    // A CR before the line end is not part of the string.
                    if self.pos > start && self.buf[self.pos - 1] == b'\r' {
                        self.pos -= 1;
                    }
                    return Err(self.err("closing '\"'"));
                }
                _ => {
                    escaped = true;
                    // Never past the end, even when the input ends in `\`.
                    self.pos = (self.pos + 2).min(self.buf.len());
                }
            }
        }
        let end = self.pos.min(self.buf.len());
        let raw = &self.buf[start..end];
        self.pos = end + 1;
        if !escaped {
            return Ok(ByteStr::borrowed(raw));
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\' && i + 1 < raw.len() {
                i += 1;
            }
            out.push(raw[i]);
            i += 1;
        }
        Ok(ByteStr(Cow::Owned(out)))
    }

    /// A literal `{N}CRLF` (or `~{N}` literal8) and its data, taken as a
    /// slice without looking at it.
    #[inline]
    pub(crate) fn literal(&mut self) -> Result<&'a [u8], ParseError> {
        self.eat(b'~');
        self.expect(b'{', "'{'")?;
        let n = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "'}'")?;
        self.eat(b'\r');
        self.expect(b'\n', "line end after literal size")?;
        let len = usize::try_from(n).map_err(|_| self.err("literal that fits in memory"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err("literal data"))?;
        let data = &self.buf[self.pos..end];
        self.pos = end;
        Ok(data)
    }

    /// Skips one value of any shape (atom with brackets, string, literal,
    /// list), returning its raw bytes. Used to keep unknown items raw.
    pub(crate) fn skip_value(&mut self) -> Result<&'a [u8], ParseError> {
        let depth = self.depth;
        let r = self.skip_value_inner();
        if r.as_ref().is_err_and(|e| !e.is_depth_limit()) {
            // Lists opened by the value that failed are not open any more:
            // error recovery goes on at the depth the value started at.
            self.depth = depth;
        }
        r
    }

    fn skip_value_inner(&mut self) -> Result<&'a [u8], ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(b'(') => {
                self.open()?;
                while self.list_continues() {
                    self.skip_value_inner()?;
                }
                self.close()?;
            }
            Some(b'"') => {
                self.quoted()?;
            }
            Some(b'{') | Some(b'~') => {
                self.literal()?;
            }
            _ => {
                // An atom, possibly with a [section] and <partial>, as in
                // BODY[HEADER.FIELDS (A B)]<0>.
                while let Some(b) = self.peek() {
                    match b {
                        b'[' => {
                            self.pos += 1;
                            let mut depth = 1usize;
                            while depth > 0 {
                                match self.peek() {
                                    None | Some(b'\r') | Some(b'\n') => return Err(self.err("']'")),
                                    Some(b'[') => depth += 1,
                                    Some(b']') => depth -= 1,
                                    Some(b'"') => {
                                        self.quoted()?;
                                        continue;
                                    }
                                    _ => {}
                                }
                                self.pos += 1;
                            }
                        }
                        b' ' | b')' | b'(' | b'\r' | b'\n' => break,
                        _ => self.pos += 1,
                    }
                }
                if self.pos == start {
                    return Err(self.err("value"));
                }
            }
        }
        Ok(&self.buf[start..self.pos])
    }

    /// Everything up to the end of the response, literals included, raw
    /// (for data kept unparsed). Unbalanced or odd bytes are taken as they
    /// are; only nesting beyond the depth limit is an error.
    pub(crate) fn raw_rest(&mut self) -> Result<&'a [u8], ParseError> {
        self.skip_sp();
        let start = self.pos;
        while !self.at_end_of_line() {
            match self.skip_value() {
                Ok(_) => {}
                Err(e) if e.is_depth_limit() => return Err(e),
                // Go on after what could not be taken as a value (linear:
                // never back to where it started).
                Err(_) => self.pos = (self.pos + 1).min(self.buf.len()),
            }
            self.skip_sp();
        }
        let mut end = self.pos;
        while end > start && self.buf[end - 1] == b' ' {
            end -= 1;
        }
        Ok(&self.buf[start..end])
    }

    /// Consumes the line ending (CRLF or bare LF) if present; tolerates
    /// its absence at the end of input.
    pub(crate) fn end_of_line(&mut self) -> Result<(), ParseError> {
        self.skip_sp();
        self.eat(b'\r');
        if self.eat(b'\n') || self.peek().is_none() {
            Ok(())
        } else {
            Err(self.err("end of line"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{find_quoted_special, Cursor};

    #[test]
    fn strings_fast_and_slow_paths_agree_on_what_they_take() {
        let take = |input: &[u8]| {
            let mut c = Cursor::new(input, 8);
            let r = c.nstring().map(|s| s.map(|s| s.as_bytes().to_vec()));
            (r.map_err(|e| e.offset), c.pos)
        };
        // Plain: borrowed, the cursor just past the closing quote.
        assert_eq!(take(b"\"a b\" x"), (Ok(Some(b"a b".to_vec())), 5));
        assert_eq!(take(b"\"\""), (Ok(Some(vec![])), 2));
        // Escapes resolved (the slow path), same end.
        assert_eq!(take(br#""a\"b\\c" x"#), (Ok(Some(br#"a"b\c"#.to_vec())), 9));
        // NIL in any case; not a longer atom's first letters.
        assert_eq!(take(b"nIl)"), (Ok(None), 3));
        assert_eq!(take(b"NIx"), (Err(0), 0));
        assert_eq!(take(b"NI"), (Err(0), 0));
        // Unterminated: an error at the line end, never past it.
        assert_eq!(take(b"\"abc\r\n\"def\""), (Err(4), 4));
        assert_eq!(take(b"\"abc"), (Err(4), 4));
        assert_eq!(take(b"\"ab\\"), (Err(4), 4));
        // A literal.
        assert_eq!(take(b"{3}\r\nabc)"), (Ok(Some(b"abc".to_vec())), 8));
        assert_eq!(take(b"{9}\r\nabc"), (Err(5), 5));
    }

    #[test]
    fn swar_search_finds_the_first_special_byte() {
        let specials = [b'"', b'\\', b'\n'];
        for len in 0..40 {
            for pos in 0..=len {
                for &sp in &specials {
                    let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    // Bytes that differ from the specials by one bit, and 8-bit bytes.
                    if len > 3 {
                        s[0] = b'#';
                        s[1] = b']';
                        s[2] = 0xa2;
                    }
                    if pos < len {
                        s[pos] = sp;
                        // A later special must not win.
                        if pos + 1 < len {
                            s[pos + 1] = b'"';
                        }
                    }
                    let want = s.iter().position(|&b| specials.contains(&b));
                    assert_eq!(find_quoted_special(&s), want, "{s:?}");
                }
            }
        }
    }
}
