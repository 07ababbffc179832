//! The command encoder: the only place where bytes for the wire are produced.
//!
//! A command becomes a list of [`Fragment`]s: line bytes, and literals. A
//! synchronizing literal means "after the line that announces me, wait for
//! the server's `+` continuation request before sending me".
//!
//! CR, LF and NUL never reach a command line from an argument: an argument
//! holding CR or LF is sent as a literal, and NUL (which IMAP4rev1 forbids
//! even in literals) is refused with [`EncodeError::Nul`].
//!
//! ```
//! use imap4_proto::encode::{CommandBuilder, Fragment, LiteralMode};
//!
//! let mut cmd = CommandBuilder::new(b"A1", "CREATE", LiteralMode::default()).unwrap();
//! cmd.imaplib_arg("My Folder").unwrap();
//! let frags = cmd.finish();
//! assert_eq!(frags, vec![Fragment::Line(b"A1 CREATE \"My Folder\"\r\n".to_vec())]);
//! ```

use bytes::Bytes;

/// Why an argument cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The argument holds a NUL byte, which IMAP cannot carry.
    #[error("argument contains a NUL byte, which IMAP cannot carry")]
    Nul,
    /// An argument that must go out verbatim holds CR or LF.
    #[error("argument contains CR or LF and cannot be sent as an atom")]
    LineBreak,
    /// A tag is not an IMAP tag (`1*<ASTRING-CHAR except "+">`).
    #[error("invalid tag {0:?}: letters, digits and punctuation other than ()\"{{%*\\+ only")]
    InvalidTag(String),
    /// A command name is not one or more atoms separated by single spaces
    /// (`X{5}` would announce a literal the client never sends).
    #[error("invalid command name {0:?}: atoms separated by single spaces only")]
    InvalidCommand(String),
    /// A sequence set or UID set with no numbers.
    #[error("empty sequence set: the command needs at least one number")]
    EmptySet,
    /// Another argument that cannot be sent as it is.
    #[error("{0}")]
    InvalidArgument(String),
}

/// RFC 3501 `ATOM-CHAR`: any CHAR except atom-specials (`(){ %*"\]`,
/// controls and space).
pub fn is_atom_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// Checks a tag: `1*<ASTRING-CHAR except "+">`.
pub fn check_tag(tag: &[u8]) -> Result<(), EncodeError> {
    if tag.is_empty()
        || !tag
            .iter()
            .all(|&b| (is_atom_char(b) || b == b']') && b != b'+')
    {
        return Err(EncodeError::InvalidTag(
            String::from_utf8_lossy(tag).into_owned(),
        ));
    }
    Ok(())
}

/// Checks a command name: atoms separated by single spaces (`UID FETCH`).
pub fn check_command_name(name: &str) -> Result<(), EncodeError> {
    let ok = !name.is_empty()
        && name
            .split(' ')
            .all(|w| !w.is_empty() && w.bytes().all(is_atom_char));
    if ok {
        Ok(())
    } else {
        Err(EncodeError::InvalidCommand(name.to_string()))
    }
}

/// A piece of an encoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// Bytes of a command line (the last one ends with CRLF; one that
    /// announces a literal ends with `{N}\r\n` or `{N+}\r\n`).
    Line(Vec<u8>),
    /// Literal data, sent after the preceding line. If `sync`, the server's
    /// continuation request must be awaited before sending it.
    Literal {
        /// The literal's bytes.
        data: Bytes,
        /// Whether this is a synchronizing literal.
        sync: bool,
    },
}

/// Which literal forms the server accepts (from its capabilities).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiteralMode {
    /// `LITERAL+` (RFC 7888): non-synchronizing literals of any size.
    pub literal_plus: bool,
    /// `LITERAL-` (RFC 7888): non-synchronizing literals up to 4096 bytes.
    pub literal_minus: bool,
    /// UTF-8 allowed in quoted strings (`UTF8=ACCEPT` enabled, RFC 6855).
    pub utf8: bool,
}

impl LiteralMode {
    /// Whether a literal of `len` bytes goes without waiting for the
    /// server's go-ahead: `LITERAL+`, or `LITERAL-` up to 4096 bytes.
    pub fn non_sync(&self, len: usize) -> bool {
        self.literal_plus || (self.literal_minus && len <= 4096)
    }
}

/// Characters imaplib sends without quoting: letters, digits, `_` and
/// ``!#$%&'*+,.:;<=>?^`|~-``.
pub fn is_imaplib_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_!#$%&'*+,.:;<=>?^`|~-".contains(&b)
}

/// Characters allowed in a flag keyword (an atom: no atom-specials, no
/// `]`, no controls, no 8-bit).
pub fn is_flag_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// How a command's trace line shows an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Plain,
    Secret,
}

/// Builds one command, argument by argument.
#[derive(Debug)]
pub struct CommandBuilder {
    frags: Vec<Fragment>,
    line: Vec<u8>,
    trace: String,
    mode: LiteralMode,
    /// Just after `(`: the next argument needs no space.
    open: bool,
}

impl CommandBuilder {
    /// Starts `tag name`; both are checked ([`check_tag`],
    /// [`check_command_name`]), so neither can carry CR, LF, NUL or a
    /// literal announcement onto the wire.
    pub fn new(tag: &[u8], name: &str, mode: LiteralMode) -> Result<Self, EncodeError> {
        check_tag(tag)?;
        check_command_name(name)?;
        let mut line = Vec::with_capacity(64);
        line.extend_from_slice(tag);
        line.push(b' ');
        line.extend_from_slice(name.as_bytes());
        let trace = String::from_utf8_lossy(&line).into_owned();
        Ok(CommandBuilder {
            frags: Vec::new(),
            line,
            trace,
            mode,
            open: false,
        })
    }

    /// Appends a sequence set or UID set in its wire form (`1,3:5,7:*`);
    /// an empty one is refused ([`EncodeError::EmptySet`]).
    pub fn set(&mut self, set: &str) -> Result<&mut Self, EncodeError> {
        if set.is_empty() {
            return Err(EncodeError::EmptySet);
        }
        if !set
            .bytes()
            .all(|b| b.is_ascii_digit() || b":,*".contains(&b))
        {
            return Err(EncodeError::InvalidArgument(format!(
                "invalid sequence set {set:?}"
            )));
        }
        self.raw(set.as_bytes())
    }

    /// Appends `$`, the saved search result (RFC 5182, SEARCHRES), where
    /// a sequence set or UID set goes. Only the typed commands that
    /// checked the server offers SEARCHRES call this.
    pub fn saved_result(&mut self) -> &mut Self {
        self.space();
        self.line.push(b'$');
        self.trace.push('$');
        self
    }

    fn space(&mut self) {
        if std::mem::take(&mut self.open) {
            return;
        }
        self.line.push(b' ');
        self.trace.push(' ');
    }

    /// Opens a parenthesized list; the arguments that follow go inside it
    /// until [`CommandBuilder::close_list`].
    pub fn open_list(&mut self) -> &mut Self {
        self.space();
        self.line.push(b'(');
        self.trace.push('(');
        self.open = true;
        self
    }

    /// Closes a list opened with [`CommandBuilder::open_list`].
    pub fn close_list(&mut self) -> &mut Self {
        self.open = false;
        self.line.push(b')');
        self.trace.push(')');
        self
    }

    fn trace_bytes(&mut self, bytes: &[u8], shown: Shown) {
        match shown {
            Shown::Plain => self.trace.push_str(&String::from_utf8_lossy(bytes)),
            Shown::Secret => self.trace.push_str("<redacted>"),
        }
    }

    /// Appends `bytes` verbatim after a space (an atom, a sequence set, a
    /// parenthesized list the caller built). CR, LF and NUL are refused.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<&mut Self, EncodeError> {
        check_line_safe(bytes)?;
        self.space();
        self.line.extend_from_slice(bytes);
        self.trace_bytes(bytes, Shown::Plain);
        Ok(self)
    }

    /// Like [`CommandBuilder::raw`], but the trace shows `<redacted>` (an
    /// AUTHENTICATE initial response).
    pub fn secret_raw(&mut self, bytes: &[u8]) -> Result<&mut Self, EncodeError> {
        check_line_safe(bytes)?;
        self.space();
        self.line.extend_from_slice(bytes);
        self.trace_bytes(bytes, Shown::Secret);
        Ok(self)
    }

    /// Appends a quoted string (escaping `\` and `"`), falling back to a
    /// literal when the bytes cannot be quoted (CR, LF, or 8-bit data
    /// without UTF-8 mode).
    pub fn string(&mut self, bytes: &[u8]) -> Result<&mut Self, EncodeError> {
        self.string_shown(bytes, Shown::Plain)
    }

    /// One string ([`CommandBuilder::string`]), or several in a
    /// parenthesized list: the `entry-match`/`attrs` form of GETMETADATA
    /// and GETANNOTATION.
    pub fn strings(&mut self, items: &[&str]) -> Result<&mut Self, EncodeError> {
        if let [one] = items {
            return self.string(one.as_bytes());
        }
        self.open_list();
        for i in items {
            self.string(i.as_bytes())?;
        }
        Ok(self.close_list())
    }

    /// Like [`CommandBuilder::string`], but the trace shows `<redacted>`.
    pub fn secret_string(&mut self, bytes: &[u8]) -> Result<&mut Self, EncodeError> {
        self.string_shown(bytes, Shown::Secret)
    }

    fn string_shown(&mut self, bytes: &[u8], shown: Shown) -> Result<&mut Self, EncodeError> {
        if bytes.contains(&0) {
            return Err(EncodeError::Nul);
        }
        let quotable = bytes
            .iter()
            .all(|&b| b != b'\r' && b != b'\n' && (b < 0x80 || self.mode.utf8));
        if !quotable {
            return self.literal_shown(Bytes::copy_from_slice(bytes), shown);
        }
        self.space();
        self.line.reserve(bytes.len() + 2);
        self.line.push(b'"');
        for &b in bytes {
            if b == b'\\' || b == b'"' {
                self.line.push(b'\\');
            }
            self.line.push(b);
        }
        self.line.push(b'"');
        match shown {
            Shown::Plain => {
                let start = self.line.len() - bytes.len() - 2;
                let quoted = self.line[start..].to_vec();
                self.trace_bytes(&quoted, shown);
            }
            Shown::Secret => self.trace_bytes(&[], shown),
        }
        Ok(self)
    }

    /// Appends a literal (`{N}` synchronizing, or `{N+}` when the server
    /// allows it for this size).
    pub fn literal(&mut self, data: impl Into<Bytes>) -> Result<&mut Self, EncodeError> {
        self.literal_shown(data.into(), Shown::Plain)
    }

    /// Appends a BINARY literal8 (`~{N}`, RFC 3516), the only form that may
    /// carry NUL bytes. The caller checks that the server offers BINARY.
    /// Always synchronizing, even with LITERAL+: a server that cannot read
    /// a literal8 where it stands (Cyrus 3.6 in SETMETADATA, though it
    /// offers BINARY) then refuses before the bytes are sent, instead of
    /// reading them as commands.
    pub fn literal8(&mut self, data: impl Into<Bytes>) -> Result<&mut Self, EncodeError> {
        self.literal_head(data.into(), Shown::Plain, "~", true)
    }

    fn literal_shown(&mut self, data: Bytes, shown: Shown) -> Result<&mut Self, EncodeError> {
        if data.contains(&0) {
            return Err(EncodeError::Nul);
        }
        let sync = !self.mode.non_sync(data.len());
        self.literal_head(data, shown, "", sync)
    }

    fn literal_head(
        &mut self,
        data: Bytes,
        shown: Shown,
        prefix: &str,
        sync: bool,
    ) -> Result<&mut Self, EncodeError> {
        self.space();
        let head = if sync {
            format!("{prefix}{{{}}}", data.len())
        } else {
            format!("{prefix}{{{}+}}", data.len())
        };
        self.line.extend_from_slice(head.as_bytes());
        self.line.extend_from_slice(b"\r\n");
        self.trace.push_str(&head);
        match shown {
            Shown::Plain => self.trace.push_str(&format!(" <{} bytes>", data.len())),
            Shown::Secret => self.trace.push_str(" <redacted>"),
        }
        self.frags
            .push(Fragment::Line(std::mem::take(&mut self.line)));
        self.frags.push(Fragment::Literal { data, sync });
        Ok(self)
    }

    /// Appends an argument by imaplib's rules: an argument already in
    /// parentheses or double quotes goes out unchanged; a non-empty argument
    /// made only of [`is_imaplib_safe`] characters goes out unchanged; any
    /// other argument is quoted, or sent as a literal if it holds CR or LF
    /// (or 8-bit characters outside UTF-8 mode). NUL is refused. An argument
    /// in parentheses or quotes that holds 8-bit characters goes out as it
    /// is: it is the caller's syntax, and a literal would change its meaning.
    pub fn imaplib_arg(&mut self, arg: &str) -> Result<&mut Self, EncodeError> {
        let b = arg.as_bytes();
        if b.contains(&0) {
            return Err(EncodeError::Nul);
        }
        let has_break = b.iter().any(|&c| c == b'\r' || c == b'\n');
        let wrapped = b.len() >= 2 && matches!((b[0], b[b.len() - 1]), (b'(', b')') | (b'"', b'"'));
        let safe = !b.is_empty() && b.iter().all(|&c| is_imaplib_safe(c));
        if !has_break && (wrapped || safe) {
            self.raw(b)
        } else {
            self.string(b)
        }
    }

    /// Finishes the command with CRLF and returns its fragments.
    pub fn finish(mut self) -> Vec<Fragment> {
        self.line.extend_from_slice(b"\r\n");
        self.frags.push(Fragment::Line(self.line));
        self.frags
    }

    /// Finishes the command, returning its fragments and a one-line
    /// description for debug traces in which secrets are redacted.
    pub fn finish_traced(mut self) -> (Vec<Fragment>, String) {
        let trace = std::mem::take(&mut self.trace);
        (self.finish(), trace)
    }
}

/// Checks that `bytes` can appear verbatim on a command line.
pub fn check_line_safe(bytes: &[u8]) -> Result<(), EncodeError> {
    for &b in bytes {
        match b {
            0 => return Err(EncodeError::Nul),
            b'\r' | b'\n' => return Err(EncodeError::LineBreak),
            _ => {}
        }
    }
    Ok(())
}

/// Converts bare CR and bare LF (and CRLF) line ends to CRLF, as imaplib
/// does for APPEND messages.
pub fn normalize_crlf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 32);
    let mut i = 0;
    while i < message.len() {
        match message[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(args: &[&str], mode: LiteralMode) -> Result<Vec<Fragment>, EncodeError> {
        let mut c = CommandBuilder::new(b"T1", "X", mode).unwrap();
        for a in args {
            c.imaplib_arg(a)?;
        }
        Ok(c.finish())
    }

    fn line(args: &[&str]) -> String {
        match encode(args, LiteralMode::default()).unwrap().as_slice() {
            [Fragment::Line(l)] => String::from_utf8(l.clone()).unwrap(),
            other => panic!("not one line: {other:?}"),
        }
    }

    #[test]
    fn imaplib_quoting_rules() {
        assert_eq!(line(&["INBOX"]), "T1 X INBOX\r\n");
        assert_eq!(line(&["1:*"]), "T1 X 1:*\r\n");
        assert_eq!(line(&["My Folder"]), "T1 X \"My Folder\"\r\n");
        assert_eq!(line(&[""]), "T1 X \"\"\r\n");
        assert_eq!(line(&["\"\""]), "T1 X \"\"\r\n");
        assert_eq!(line(&["(FLAGS BODY[])"]), "T1 X (FLAGS BODY[])\r\n");
        assert_eq!(line(&["a\"b\\c"]), "T1 X \"a\\\"b\\\\c\"\r\n");
        assert_eq!(line(&["a/b"]), "T1 X \"a/b\"\r\n");
        assert_eq!(line(&["\\Seen"]), "T1 X \"\\\\Seen\"\r\n");
        assert_eq!(line(&["(unbalanced"]), "T1 X \"(unbalanced\"\r\n");
    }

    #[test]
    fn line_breaks_become_literals() {
        let f = encode(&["a\r\nb"], LiteralMode::default()).unwrap();
        assert_eq!(
            f,
            vec![
                Fragment::Line(b"T1 X {4}\r\n".to_vec()),
                Fragment::Literal {
                    data: Bytes::from_static(b"a\r\nb"),
                    sync: true
                },
                Fragment::Line(b"\r\n".to_vec()),
            ]
        );
        // Even an argument in parentheses or quotes.
        let f = encode(&["(a\nb)"], LiteralMode::default()).unwrap();
        assert!(matches!(f[1], Fragment::Literal { .. }));
        let plus = LiteralMode {
            literal_plus: true,
            ..LiteralMode::default()
        };
        let f = encode(&["a\nb"], plus).unwrap();
        assert_eq!(f[0], Fragment::Line(b"T1 X {3+}\r\n".to_vec()));
        assert!(matches!(f[1], Fragment::Literal { sync: false, .. }));
    }

    #[test]
    fn literal_minus_only_for_small_literals() {
        let minus = LiteralMode {
            literal_minus: true,
            ..LiteralMode::default()
        };
        let mut c = CommandBuilder::new(b"T1", "APPEND", minus).unwrap();
        c.literal(vec![b'x'; 4096]).unwrap();
        c.literal(vec![b'x'; 4097]).unwrap();
        let f = c.finish();
        assert!(matches!(f[1], Fragment::Literal { sync: false, .. }));
        assert!(matches!(f[3], Fragment::Literal { sync: true, .. }));
    }

    #[test]
    fn nul_is_refused_everywhere() {
        assert_eq!(
            encode(&["a\0b"], LiteralMode::default()),
            Err(EncodeError::Nul)
        );
        assert_eq!(
            encode(&["(\0)"], LiteralMode::default()),
            Err(EncodeError::Nul)
        );
        let mut c = CommandBuilder::new(b"T1", "X", LiteralMode::default()).unwrap();
        assert_eq!(c.raw(b"a\rb").err(), Some(EncodeError::LineBreak));
        assert_eq!(c.literal(&b"\0"[..]).err(), Some(EncodeError::Nul));
        // only a literal8 carries NUL
        assert!(c.literal8(&b"a\0b"[..]).is_ok());
    }

    #[test]
    fn eight_bit_goes_as_literal_unless_utf8() {
        let f = encode(&["café"], LiteralMode::default()).unwrap();
        assert!(matches!(f[1], Fragment::Literal { .. }));
        let utf8 = LiteralMode {
            utf8: true,
            ..LiteralMode::default()
        };
        let f = encode(&["café"], utf8).unwrap();
        assert_eq!(
            f,
            vec![Fragment::Line("T1 X \"café\"\r\n".as_bytes().to_vec())]
        );
    }

    #[test]
    fn secrets_are_redacted_in_traces() {
        let mut c = CommandBuilder::new(b"T1", "LOGIN", LiteralMode::default()).unwrap();
        c.imaplib_arg("alice").unwrap();
        c.secret_string(b"hunter2").unwrap();
        let (f, trace) = c.finish_traced();
        assert_eq!(
            f,
            vec![Fragment::Line(b"T1 LOGIN alice \"hunter2\"\r\n".to_vec())]
        );
        assert_eq!(trace, "T1 LOGIN alice <redacted>");
        let mut c = CommandBuilder::new(b"T1", "LOGIN", LiteralMode::default()).unwrap();
        c.secret_string(b"pass\nword").unwrap();
        let (_, trace) = c.finish_traced();
        assert!(!trace.contains("word"), "{trace}");
    }

    #[test]
    fn tags_and_command_names_are_checked() {
        let m = LiteralMode::default();
        for name in [
            "X{5}",
            "A\r\nB",
            "A\nB",
            "",
            "UID  FETCH",
            " X",
            "X ",
            "A\0",
            "X(",
            "X\"",
            "X%",
        ] {
            assert_eq!(
                CommandBuilder::new(b"T1", name, m).err(),
                Some(EncodeError::InvalidCommand(name.to_string())),
                "{name:?}"
            );
        }
        for tag in [&b""[..], b"T\r\n", b"T+", b"T 1", b"T{1}", b"T\0"] {
            assert!(
                matches!(
                    CommandBuilder::new(tag, "NOOP", m),
                    Err(EncodeError::InvalidTag(_))
                ),
                "{tag:?}"
            );
        }
        assert!(CommandBuilder::new(b"A1", "UID FETCH", m).is_ok());
        assert!(CommandBuilder::new(b"A]1", "X-THING", m).is_ok());
    }

    #[test]
    fn empty_and_odd_sets_are_refused() {
        let mut c = CommandBuilder::new(b"T1", "FETCH", LiteralMode::default()).unwrap();
        assert_eq!(c.set("").err(), Some(EncodeError::EmptySet));
        assert!(c.set("1 2").is_err());
        assert!(c.set("1,3:5,7:*").is_ok());
    }

    #[test]
    fn crlf_normalization() {
        assert_eq!(normalize_crlf(b"a\nb\r\nc\rd"), b"a\r\nb\r\nc\r\nd");
        assert_eq!(normalize_crlf(b"\n\n"), b"\r\n\r\n");
        assert_eq!(normalize_crlf(b"\r"), b"\r\n");
    }
}
