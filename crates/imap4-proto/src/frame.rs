//! Incremental response framer: bytes in, complete responses out.
//!
//! A *frame* is one server response: a line, and for every literal the line
//! announces (`{N}` or `~{N}` at its end) the literal's `N` bytes followed by
//! the next line, until a line announces no literal.
//!
//! The framer does amortized O(1) work per input byte: the buffered prefix is
//! never scanned twice, the position inside an open literal is remembered,
//! and literal data is never looked at (it is only counted). Memory grows only
//! with the bytes actually received: a server announcing `{4294967295}` and
//! then going silent costs nothing beyond the bytes it sent, and sizes above
//! [`Limits::max_literal_len`] are refused before any data arrives.
//!
//! ```
//! use imap4_proto::frame::{Framer, Part};
//! use imap4_proto::Limits;
//!
//! let mut framer = Framer::new(Limits::default());
//! framer.feed(b"* 1 FETCH (BODY[] {5}\r\nhel");
//! assert!(framer.next_frame().unwrap().is_none()); // literal incomplete
//! framer.feed(b"lo)\r\n");
//! let frame = framer.next_frame().unwrap().unwrap();
//! assert_eq!(frame.parts().len(), 3);
//! assert!(matches!(&frame.parts()[1], Part::Literal(b) if &b[..] == b"hello"));
//! ```

use bytes::{Bytes, BytesMut};

use crate::Limits;

/// One piece of a framed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A line without its line ending (CRLF, or a bare LF from lenient servers).
    Line(Bytes),
    /// The data of a literal announced at the end of the preceding line.
    Literal(Bytes),
}

/// A complete server response: a line, optionally followed by literals and
/// continuation lines. Always starts and ends with a [`Part::Line`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    parts: Vec<Part>,
    raw: Bytes,
    offset: u64,
}

impl Frame {
    /// Where the response started in the byte stream (bytes fed before
    /// it, over the framer's life): a response that started before a
    /// command was written cannot be an answer to it.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The parts in wire order: `Line, (Literal, Line)*`.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Consumes the frame, returning its parts.
    pub fn into_parts(self) -> Vec<Part> {
        self.parts
    }

    /// The first line of the response.
    pub fn first_line(&self) -> &[u8] {
        match self.parts.first() {
            Some(Part::Line(l)) => l,
            _ => &[],
        }
    }

    /// Number of bytes this frame occupied on the wire.
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// The response exactly as received (line endings and literals
    /// included), for the typed parser. Shares memory with the parts.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
}

/// What [`Framer::next_item`] yields: complete responses and, while body
/// streaming is on ([`Framer::set_stream_bodies`]), the pieces of a body
/// literal as they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A complete response. One whose body literal was streamed holds
    /// that literal empty, announced as `{0…0}` (its digits zeroed in
    /// place), so it parses as an empty string.
    Frame(Frame),
    /// A body literal of an untagged FETCH starts: its bytes follow as
    /// [`Item::BodyData`], not held by the framer.
    BodyStart {
        /// The message sequence number of the FETCH response.
        seq: u32,
        /// The item as the server named it, e.g. `BODY[]` or `BODY[1]<0>`.
        section: Bytes,
        /// The announced size in bytes.
        size: u64,
    },
    /// The next piece of the body literal announced by the last
    /// [`Item::BodyStart`]; together the pieces are exactly its bytes.
    BodyData(Bytes),
}

/// Why the byte stream cannot be framed. Every variant is fatal for the
/// connection: the framer cannot know where the next response starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line grew past [`Limits::max_line_len`] without a line ending.
    #[error("response line longer than {limit} bytes")]
    LineTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// A literal announced more bytes than [`Limits::max_literal_len`].
    #[error(
        "server announced a literal of {size} bytes, above the limit of {limit} \
         (Limits::max_literal_len; stream large bodies with uid_fetch_body_to)"
    )]
    LiteralTooLarge {
        /// The announced size (saturated at `u64::MAX`).
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// One response announced more literals than [`Limits::max_literals`].
    #[error("response holds more than {limit} literals")]
    TooManyLiterals {
        /// The configured limit.
        limit: usize,
    },
    /// Parenthesized lists nested deeper than [`Limits::max_depth`].
    #[error("parenthesized lists nested deeper than {limit}")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// One response (lines and literals together) grew past
    /// [`Limits::max_response_len`].
    #[error(
        "response larger than {limit} bytes (Limits::max_response_len; \
         stream large bodies with uid_fetch_body_to)"
    )]
    ResponseTooLarge {
        /// The configured limit.
        limit: u64,
    },
}

/// The bytes that matter on a line outside quoted strings.
const LINE_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\n' as usize] = true;
    t[b'(' as usize] = true;
    t[b')' as usize] = true;
    t[b'"' as usize] = true;
    t
};

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Scanning a line; `pos` is the first unscanned byte.
    Line,
    /// Inside a literal with this many bytes still to come.
    Literal(u64),
    /// Inside a streamed body literal with this many bytes still to come:
    /// they are handed out, not kept.
    Stream(u64),
}

/// The incremental framer. Feed it bytes with [`Framer::feed`], take complete
/// responses with [`Framer::next_frame`].
#[derive(Debug)]
pub struct Framer {
    buf: BytesMut,
    limits: Limits,
    mode: Mode,
    /// First unscanned byte of `buf` (relative to the frame start at 0).
    pos: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// Completed parts of the current frame, as (is_literal, start, end).
    parts: Vec<(bool, usize, usize)>,
    /// Whether the frame's first line may announce literals (status
    /// responses, tagged responses and continuation requests cannot).
    literals_allowed: bool,
    /// `(` bytes in the current frame's lines so far: while there are no
    /// more than [`Limits::max_depth`] of them, the frame cannot nest
    /// deeper, and lines are only searched for their LF.
    open_parens: usize,
    /// Whether the current frame is scanned byte by byte (quotes skipped,
    /// depth counted) because it has more `(` than the depth limit.
    precise: bool,
    depth: usize,
    in_quote: bool,
    escaped: bool,
    /// Bytes fed so far, over the framer's life.
    fed: u64,
    /// A tighter literal limit while only commands expecting small
    /// literals are in flight (see [`Framer::set_literal_cap`]).
    literal_cap: Option<u64>,
    /// Body literals of at least this size are streamed (see
    /// [`Framer::set_stream_bodies`]).
    stream_min: Option<u64>,
    /// Bytes of the current frame handed out as [`Item::BodyData`].
    streamed: u64,
    /// Where small frames are packed (see [`Framer::emit`]).
    arena: BytesMut,
    /// The size of the next arena chunk: it starts at [`ARENA_MIN`] and
    /// doubles with every chunk up to [`ARENA`].
    arena_next: usize,
    /// How many bytes the next read asks for (see [`Framer::read_buf`]):
    /// it starts at [`MIN_READ`] and doubles, up to [`MAX_READ`], each
    /// time a read fills what it asked for.
    read_size: usize,
    /// The buffer's length when [`Framer::read_buf`] handed it out: what
    /// was appended after it is not yet counted in `fed`.
    mark: Option<usize>,
    /// The rest of `buf`'s storage after the last [`Framer::read_into`]:
    /// its bytes were zeroed and not read into, so the next read uses
    /// them without zeroing them again; its capacity is the room past
    /// them. (A handle of its own so that `buf` stays only the bytes
    /// received.)
    zeros: BytesMut,
    /// The size of the storage `buf` lives in (its capacity when it was
    /// allocated or last grew).
    buf_storage: usize,
    /// Whether frames were cut from `buf`'s storage in place (see
    /// [`Framer::emit`]): it cannot grow in place while they live.
    shared: bool,
    /// Receive buffers given up while frames cut from them were still
    /// alive, with their storage sizes, kept to be reused once those
    /// frames are dropped: at most [`SPARES`], oldest first, none larger
    /// than [`KEEP_BETWEEN_COMMANDS`].
    spares: Vec<(BytesMut, usize)>,
}

/// How many receive buffers a framer keeps for reuse, at most, none of
/// more than [`KEEP_BETWEEN_COMMANDS`]: a buffer that frames cut from it
/// in place (see [`IN_PLACE`]) still share is not grown but set aside, and
/// taken again once those frames are dropped. Buffers of a bulk download
/// so come back to the framer instead of the allocator, which would hand
/// them to the kernel and fault them in again for the next command.
/// [`Framer::release`] (done while IDLE waits) gives them back.
pub const SPARES: usize = 16;

/// Frames of at least this size (16 KiB; message bodies, say) are cut
/// from the receive buffer in place, without a copy: such a frame shares
/// its buffer (at most four reads' worth or twice its own size). Smaller
/// ones are copied out, so that a tiny response kept for long does not
/// pin a large buffer.
pub const IN_PLACE: usize = 16 << 10;

/// The largest size of the chunks small frames are packed into: 64 KiB.
/// Frames of a sixteenth of it or more get an allocation of their own.
const ARENA: usize = 64 << 10;

/// The first arena chunk: 1 KiB, so that a session that received a few
/// responses holds no more than that.
const ARENA_MIN: usize = 1 << 10;

/// The smallest read [`Framer::read_buf`] asks room for: 1 KiB (what an
/// idle connection waits with).
pub const MIN_READ: usize = 1 << 10;

/// The largest read [`Framer::read_buf`] asks room for: 64 KiB.
pub const MAX_READ: usize = 64 << 10;

/// The receive buffer capacity a session keeps between commands (see
/// [`Framer::trim`]): 256 KiB, four times [`MAX_READ`] (a buffer holding
/// part of a response and room for a full read doubles to that). Freeing and
/// reallocating the buffer for every command costs page faults; one that
/// a large response grew is given back.
pub const KEEP_BETWEEN_COMMANDS: usize = 4 * MAX_READ;

impl Framer {
    /// A framer enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Framer {
            buf: BytesMut::new(),
            limits,
            mode: Mode::Line,
            pos: 0,
            line_start: 0,
            parts: Vec::new(),
            literals_allowed: true,
            open_parens: 0,
            precise: false,
            depth: 0,
            in_quote: false,
            escaped: false,
            fed: 0,
            literal_cap: None,
            stream_min: None,
            streamed: 0,
            arena: BytesMut::new(),
            arena_next: ARENA_MIN,
            read_size: MIN_READ,
            mark: None,
            zeros: BytesMut::new(),
            buf_storage: 0,
            shared: false,
            spares: Vec::new(),
        }
    }

    /// Bytes fed so far over the framer's life: the stream position just
    /// past the last byte received.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Lowers the literal limit below [`Limits::max_literal_len`] (`None`
    /// lifts it again): a literal announced larger than the cap is refused
    /// as [`FrameError::LiteralTooLarge`] with the cap as its limit.
    pub fn set_literal_cap(&mut self, cap: Option<u64>) {
        self.literal_cap = cap;
    }

    /// Streams body literals: from the next announcement on, the literal
    /// of a body item (`BODY[…]`, `BINARY[…]`, `RFC822`, `RFC822.TEXT`,
    /// `RFC822.HEADER`) of an untagged FETCH of at least `min` bytes is
    /// handed out piece by piece by [`Framer::next_item`] as it arrives
    /// instead of being held, so a body of any size costs no more memory
    /// than one read. Such a literal is bound by neither
    /// [`Limits::max_literal_len`] nor [`Limits::max_response_len`]
    /// (nothing of it is held); every other limit applies. `None` turns
    /// streaming off again.
    ///
    /// ```
    /// use imap4_proto::frame::{Framer, Item};
    /// use imap4_proto::Limits;
    ///
    /// let mut framer = Framer::new(Limits::default());
    /// framer.set_stream_bodies(Some(0));
    /// framer.feed(b"* 3 FETCH (UID 9 BODY[] {5}\r\nhel");
    /// let start = framer.next_item().unwrap().unwrap();
    /// assert!(matches!(start, Item::BodyStart { seq: 3, size: 5, .. }));
    /// assert_eq!(framer.next_item().unwrap(), Some(Item::BodyData("hel".into())));
    /// framer.feed(b"lo)\r\n");
    /// assert_eq!(framer.next_item().unwrap(), Some(Item::BodyData("lo".into())));
    /// let Some(Item::Frame(f)) = framer.next_item().unwrap() else { panic!() };
    /// assert_eq!(&f.raw()[..], b"* 3 FETCH (UID 9 BODY[] {0}\r\n)\r\n");
    /// ```
    pub fn set_stream_bodies(&mut self, min: Option<u64>) {
        self.stream_min = min;
    }

    fn literal_limit(&self) -> u64 {
        match self.literal_cap {
            Some(cap) => cap.min(self.limits.max_literal_len),
            None => self.limits.max_literal_len,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Changes the limits; they apply from the next byte scanned.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.commit();
        self.zeros = BytesMut::new();
        self.make_room(data.len());
        self.buf.extend_from_slice(data);
        self.fed += data.len() as u64;
    }

    /// The receive buffer, with room reserved for the next read, for a
    /// driver to read into directly (no copy): append the bytes read
    /// (tokio's `AsyncReadExt::read_buf` does, or see
    /// [`Framer::read_into`]), then call [`Framer::commit`]. Only append:
    /// the bytes already in it are the framer's.
    ///
    /// The room reserved starts at [`MIN_READ`] and doubles, up to
    /// [`MAX_READ`], with each read that fills it, so memory grows only
    /// with the bytes received; [`Framer::release`] gives it back.
    ///
    /// ```
    /// use imap4_proto::frame::Framer;
    /// use imap4_proto::Limits;
    ///
    /// let mut framer = Framer::new(Limits::default());
    /// framer.read_buf().extend_from_slice(b"* OK hi\r\n");
    /// assert_eq!(framer.commit(), 9);
    /// assert_eq!(framer.next_frame().unwrap().unwrap().first_line(), b"* OK hi");
    /// ```
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.commit();
        self.zeros = BytesMut::new();
        self.make_room(self.read_size);
        self.mark = Some(self.buf.len());
        &mut self.buf
    }

    /// Counts the bytes appended to [`Framer::read_buf`] since it was
    /// handed out, and returns how many (0 if it was not). Every other
    /// method commits first, so a forgotten call loses nothing.
    ///
    /// A buffer that shrank (bytes the framer held were removed, against
    /// [`Framer::read_buf`]'s contract) loses what it held: the framer
    /// starts over at the next response.
    pub fn commit(&mut self) -> usize {
        let Some(mark) = self.mark.take() else {
            return 0;
        };
        let len = self.buf.len();
        if len < mark {
            self.buf.clear();
            self.reset_frame();
            return 0;
        }
        let n = len - mark;
        self.fed += n as u64;
        self.note_read(n);
        n
    }

    /// Reads once with `read` straight into the receive buffer (the room
    /// [`Framer::read_buf`] reserves, zeroed, as `&mut [u8]`: what a
    /// blocking `std::io::Read` wants) and commits what it read; a count
    /// above the room given is taken as the room. Room zeroed and not
    /// filled is kept for the next read, so bytes are zeroed about once
    /// per buffer, not once per read.
    pub fn read_into<E>(
        &mut self,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.commit();
        let want = self.read_size;
        let len = self.buf.len();
        let zeros = std::mem::take(&mut self.zeros);
        if zeros.capacity() > 0 && self.buf.as_ptr().wrapping_add(len) == zeros.as_ptr() {
            // the zeros were split off this buffer: joining them back
            // copies nothing
            self.buf.unsplit(zeros);
        } else {
            // now, so that the buffer may be the storage's only owner
            drop(zeros);
        }
        if self.buf.len() < len + want {
            if self.buf.capacity() < len + want {
                // the room moves: zeros are not worth moving along
                self.buf.truncate(len);
                self.make_room(want);
            }
            // zeroes only what is not zeroed yet
            self.buf.resize(len + want, 0);
        }
        let r = read(&mut self.buf[len..len + want]);
        let n = r.as_ref().map_or(0, |n| (*n).min(want));
        self.zeros = self.buf.split_off(len + n);
        self.fed += n as u64;
        self.note_read(n);
        r.map(|_| n)
    }

    /// Makes room for `want` more bytes in the receive buffer. A buffer
    /// frames were cut from (see [`Framer::emit`]) cannot grow in place
    /// while they live: the bytes of the response in progress then move
    /// to a spare buffer whose frames are all gone, or to a new one, and
    /// the old buffer becomes a spare.
    fn make_room(&mut self, want: usize) {
        let len = self.buf.len();
        if self.buf.try_reclaim(want) {
            // room left, or the buffer's own storage has it (every frame
            // cut from it is gone): nothing allocated
            return;
        }
        if !self.shared {
            // a response larger than its buffer: grow it (doubling)
            self.buf.reserve(want);
            self.buf_storage = self.buf_storage.max(self.buf.capacity());
            return;
        }
        let need = len + want;
        let (mut next, storage) = match self
            .spares
            .iter_mut()
            .position(|(s, size)| s.try_reclaim(need.max(*size)))
        {
            Some(i) => self.spares.remove(i),
            // at least twice the bytes held (so a growing response is
            // copied O(1) times per byte) and four reads' worth
            None => {
                let size = need.max(2 * len).max(4 * self.read_size);
                (BytesMut::with_capacity(size), size)
            }
        };
        next.extend_from_slice(&self.buf);
        let mut old = std::mem::replace(&mut self.buf, next);
        let old_storage = std::mem::replace(&mut self.buf_storage, storage);
        self.shared = false;
        if old_storage <= KEEP_BETWEEN_COMMANDS {
            old.clear();
            if self.spares.len() == SPARES {
                self.spares.remove(0);
            }
            self.spares.push((old, old_storage));
        }
    }

    /// How many bytes the next read asks room for.
    pub fn read_size(&self) -> usize {
        self.read_size
    }

    /// Notes that a read brought `n` bytes: one that filled what was asked
    /// for doubles the next (up to [`MAX_READ`]).
    pub(crate) fn note_read(&mut self, n: usize) {
        if n >= self.read_size {
            self.read_size = (self.read_size * 2).min(MAX_READ);
        }
    }

    /// Gives the receive buffer and the arena back if nothing is buffered
    /// (no response has started): a connection between responses (idle,
    /// or between commands) then holds no buffer, and the next read asks
    /// for [`MIN_READ`] again. Frames already returned keep their own
    /// bytes. Returns whether it released them.
    pub fn release(&mut self) -> bool {
        self.commit();
        if !self.buf.is_empty() || self.in_frame() {
            return false;
        }
        self.buf = BytesMut::new();
        self.zeros = BytesMut::new();
        self.buf_storage = 0;
        self.shared = false;
        self.spares = Vec::new();
        self.arena = BytesMut::new();
        self.arena_next = ARENA_MIN;
        self.read_size = MIN_READ;
        true
    }

    /// Gives the receive buffer back if nothing is buffered and it grew
    /// past `keep` bytes of capacity (a large response passed through);
    /// a buffer of the usual size stays, to be reused by the next
    /// response, and so does the read size learned. Returns whether it
    /// released the buffer.
    pub fn trim(&mut self, keep: usize) -> bool {
        self.commit();
        let size = self
            .buf_storage
            .max(self.buf.capacity() + self.zeros.capacity());
        if !self.buf.is_empty() || self.in_frame() || size <= keep {
            return false;
        }
        self.buf = BytesMut::new();
        self.zeros = BytesMut::new();
        self.buf_storage = 0;
        self.shared = false;
        true
    }

    /// Bytes the framer holds allocated for input not yet returned: the
    /// receive buffer's capacity, the arena's unused room and the spare
    /// buffers' room (some of it may still hold frames).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
            + self.zeros.capacity()
            + self.arena.capacity()
            + self.spares.iter().map(|(s, _)| s.capacity()).sum::<usize>()
    }

    /// The bytes buffered that are not yet part of a returned frame.
    pub fn unprocessed(&self) -> &[u8] {
        &self.buf
    }

    /// Number of bytes buffered (scanned or not) that are not yet part of a
    /// returned frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether the framer is inside a literal's data.
    pub fn in_literal(&self) -> bool {
        matches!(self.mode, Mode::Literal(_) | Mode::Stream(_))
    }

    /// Whether a response has started but is not complete.
    pub fn in_frame(&self) -> bool {
        !self.buf.is_empty() || self.streamed > 0 || matches!(self.mode, Mode::Stream(_))
    }

    /// Removes and returns every buffered byte, resetting the framer to the
    /// start of a response. Used when the byte stream changes hands (the
    /// imaplib `read()`/`readline()` hooks, or STARTTLS, where any buffered
    /// byte is an attack).
    pub fn take_buffered(&mut self) -> BytesMut {
        self.commit();
        self.zeros = BytesMut::new();
        self.buf_storage = 0;
        self.shared = false;
        let out = std::mem::take(&mut self.buf);
        self.reset_frame();
        out
    }

    fn reset_frame(&mut self) {
        self.mode = Mode::Line;
        self.pos = 0;
        self.line_start = 0;
        self.parts.clear();
        self.literals_allowed = true;
        self.open_parens = 0;
        self.precise = false;
        self.depth = 0;
        self.in_quote = false;
        self.escaped = false;
        self.streamed = 0;
    }

    /// Returns the next complete response, `Ok(None)` if more bytes are
    /// needed, or an error if the stream violates a limit. With body
    /// streaming on, use [`Framer::next_item`]: this drops the streamed
    /// pieces.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.next_item()? {
                None => return Ok(None),
                Some(Item::Frame(f)) => return Ok(Some(f)),
                Some(_) => {}
            }
        }
    }

    /// The next complete response or streamed body piece (see
    /// [`Framer::set_stream_bodies`]), `Ok(None)` if more bytes are
    /// needed, or an error if the stream violates a limit.
    pub fn next_item(&mut self) -> Result<Option<Item>, FrameError> {
        self.commit();
        loop {
            match self.mode {
                Mode::Stream(0) => {
                    // the streamed literal is over: an empty literal in the
                    // frame, and the line goes on
                    self.parts.push((true, self.pos, self.pos));
                    self.line_start = self.pos;
                    self.mode = Mode::Line;
                }
                Mode::Stream(remaining) => {
                    let avail = self.buf.len() - self.pos;
                    if avail == 0 {
                        return Ok(None);
                    }
                    // `n <= avail`, a usize
                    let n = remaining.min(avail as u64) as usize;
                    let piece = if n == avail {
                        // all that is buffered is body: hand it out whole
                        self.shared = true;
                        self.buf.split_off(self.pos).freeze()
                    } else {
                        let piece = Bytes::copy_from_slice(&self.buf[self.pos..self.pos + n]);
                        self.buf.copy_within(self.pos + n.., self.pos);
                        self.buf.truncate(self.buf.len() - n);
                        piece
                    };
                    self.streamed += n as u64;
                    self.mode = Mode::Stream(remaining - n as u64);
                    return Ok(Some(Item::BodyData(piece)));
                }
                Mode::Literal(remaining) => {
                    let avail = (self.buf.len() - self.pos) as u64;
                    if avail < remaining {
                        return Ok(None);
                    }
                    // `remaining <= avail`, which is a usize.
                    let end = self.pos + remaining as usize;
                    self.parts.push((true, self.pos, end));
                    self.pos = end;
                    self.line_start = end;
                    self.mode = Mode::Line;
                }
                Mode::Line => {
                    let Some(lf) = self.scan_line()? else {
                        return Ok(None);
                    };
                    let mut end = lf;
                    if end > self.line_start && self.buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    let first = self.parts.is_empty();
                    if first {
                        self.literals_allowed = line_may_announce_literal(&self.buf[..end]);
                    }
                    let start = self.line_start;
                    self.parts.push((false, self.line_start, end));
                    self.pos = lf + 1;
                    self.line_start = self.pos;
                    let announced = if self.literals_allowed {
                        literal_announcement(&self.buf[start..end])
                    } else {
                        None
                    };
                    if let (Some(size), Some(min)) = (announced, self.stream_min) {
                        if size >= min {
                            if let Some(start_item) = self.stream_start(start, end, size) {
                                if self.parts.len() / 2 >= self.limits.max_literals {
                                    return Err(FrameError::TooManyLiterals {
                                        limit: self.limits.max_literals,
                                    });
                                }
                                self.in_quote = false;
                                self.escaped = false;
                                self.mode = Mode::Stream(size);
                                return Ok(Some(start_item));
                            }
                        }
                    }
                    match announced {
                        Some(size) => {
                            if self.parts.len() / 2 >= self.limits.max_literals {
                                return Err(FrameError::TooManyLiterals {
                                    limit: self.limits.max_literals,
                                });
                            }
                            let limit = self.literal_limit();
                            if size > limit {
                                return Err(FrameError::LiteralTooLarge { size, limit });
                            }
                            if (self.pos as u64).saturating_add(size) > self.limits.max_response_len
                            {
                                return Err(FrameError::ResponseTooLarge {
                                    limit: self.limits.max_response_len,
                                });
                            }
                            // The literal is one token inside the list; any
                            // quote state from the line is over.
                            self.in_quote = false;
                            self.escaped = false;
                            self.mode = Mode::Literal(size);
                        }
                        None => return Ok(Some(Item::Frame(self.emit()))),
                    }
                }
            }
        }
    }

    /// Scans the current line from `pos`; returns the index of the LF if
    /// the line is complete. The LF is found with `memchr`; only a frame
    /// holding more `(` than the depth limit is scanned byte by byte
    /// ([`Framer::scan_precise`]) to count its depth outside quoted strings.
    fn scan_line(&mut self) -> Result<Option<usize>, FrameError> {
        let found = if self.precise {
            self.scan_precise(self.pos, self.buf.len())?
        } else {
            let rest = &self.buf[self.pos..];
            let lf = memchr::memchr(b'\n', rest);
            let scanned = &rest[..lf.unwrap_or(rest.len())];
            self.open_parens += memchr::memchr_iter(b'(', scanned).count();
            if self.open_parens > self.limits.max_depth {
                self.go_precise()?;
                self.scan_precise(self.pos, self.buf.len())?
            } else {
                lf.map(|k| self.pos + k)
            }
        };
        self.finish_scan(found)
    }

    /// Switches the current frame to byte-by-byte scanning: its earlier
    /// lines and the current line up to `pos` are scanned again for their
    /// depth (literals skipped, quote state reset after each line).
    fn go_precise(&mut self) -> Result<(), FrameError> {
        self.precise = true;
        self.depth = 0;
        for k in 0..self.parts.len() {
            let (literal, start, end) = self.parts[k];
            if !literal {
                self.scan_precise(start, end)?;
            }
            self.in_quote = false;
            self.escaped = false;
        }
        self.scan_precise(self.line_start, self.pos)?;
        Ok(())
    }

    /// Scans `buf[from..to]` byte by byte, tracking list depth outside
    /// quoted strings; returns the index of the first LF.
    fn scan_precise(&mut self, from: usize, to: usize) -> Result<Option<usize>, FrameError> {
        let max_depth = self.limits.max_depth;
        let mut depth = self.depth;
        let mut in_quote = self.in_quote;
        let mut escaped = self.escaped;
        let buf = &self.buf[..to];
        let end = to;
        let mut i = from;
        let mut found = None;
        while i < end {
            if in_quote {
                if escaped {
                    // The escaped byte; a line end still ends the line.
                    escaped = false;
                    if buf[i] == b'\n' {
                        in_quote = false;
                        found = Some(i);
                        break;
                    }
                    i += 1;
                    continue;
                }
                match crate::parse::find_quoted_special(&buf[i..]) {
                    None => i = end,
                    Some(k) => {
                        i += k;
                        match buf[i] {
                            b'\n' => {
                                in_quote = false;
                                found = Some(i);
                                break;
                            }
                            b'"' => in_quote = false,
                            _ => escaped = true,
                        }
                        i += 1;
                    }
                }
                continue;
            }
            // Outside quotes only line ends, parentheses and quotes matter:
            // skip everything else with a table lookup per byte.
            while i < end && !LINE_SPECIAL[usize::from(buf[i])] {
                i += 1;
            }
            if i == end {
                break;
            }
            match buf[i] {
                b'\n' => {
                    found = Some(i);
                    break;
                }
                b'(' => {
                    depth += 1;
                    if depth > max_depth {
                        return Err(FrameError::TooDeep { limit: max_depth });
                    }
                }
                b')' => depth = depth.saturating_sub(1),
                _ => in_quote = true,
            }
            i += 1;
        }
        self.depth = depth;
        self.in_quote = in_quote;
        self.escaped = escaped;
        Ok(found)
    }

    /// The line limits for a scan that ended at `found` (an LF) or at the
    /// end of the buffer.
    fn finish_scan(&mut self, found: Option<usize>) -> Result<Option<usize>, FrameError> {
        let scanned_to = found.unwrap_or(self.buf.len());
        // The limit counts the line without its CRLF.
        let cr = scanned_to > self.line_start && self.buf[scanned_to - 1] == b'\r';
        let line_len = scanned_to - self.line_start - usize::from(cr);
        if line_len > self.limits.max_line_len {
            return Err(FrameError::LineTooLong {
                limit: self.limits.max_line_len,
            });
        }
        if scanned_to as u64 > self.limits.max_response_len {
            return Err(FrameError::ResponseTooLarge {
                limit: self.limits.max_response_len,
            });
        }
        self.pos = scanned_to;
        Ok(found)
    }

    /// If the line `buf[start..end]` of the current frame announces the
    /// literal of a body item of an untagged FETCH: zeroes the announced
    /// size's digits in place and returns the [`Item::BodyStart`].
    fn stream_start(&mut self, start: usize, end: usize, size: u64) -> Option<Item> {
        let first_end = match self.parts.first() {
            Some(&(false, _, e)) => e,
            _ => return None,
        };
        let seq = fetch_seq(&self.buf[..first_end])?;
        let line = &self.buf[start..end];
        let open = line.iter().rposition(|&b| b == b'{')?;
        let item_end = open.checked_sub(1 + usize::from(open > 0 && line[open - 1] == b'~'))?;
        if line.get(item_end) != Some(&b' ') {
            return None;
        }
        let item_start = body_item_start(&line[..item_end])?;
        let section = Bytes::copy_from_slice(&line[item_start..item_end]);
        let digits_end = end - 1 - usize::from(line[line.len() - 2] == b'+');
        for b in &mut self.buf[start + open + 1..digits_end] {
            *b = b'0';
        }
        Some(Item::BodyStart { seq, section, size })
    }

    /// Takes the complete frame out of the buffer.
    ///
    /// A frame of [`IN_PLACE`] bytes or more (a message body, say) is cut
    /// from the receive buffer in place, without a copy: it shares the
    /// buffer's storage, at most four reads' worth or twice the frame, so
    /// what it pins is bounded by a small multiple of its own size. The
    /// buffer then goes on after it; when it is full, the framer moves on
    /// to a spare one whose frames are all dropped (see [`SPARES`]).
    ///
    /// Smaller frames are copied, so that a tiny response kept for long
    /// does not pin a large buffer. They are packed into chunks that
    /// start at [`ARENA_MIN`] and double up to [`ARENA`], so a million
    /// tiny responses cost no allocation each and a session that got a
    /// few holds little; medium ones get an allocation of their own size.
    fn emit(&mut self) -> Frame {
        use bytes::Buf;
        let raw_len = self.pos;
        let offset = self.fed - self.buf.len() as u64 - self.streamed;
        let bytes = if raw_len >= IN_PLACE {
            self.shared = true;
            self.buf.split_to(raw_len).freeze()
        } else if raw_len >= ARENA / 16 {
            let b = Bytes::copy_from_slice(&self.buf[..raw_len]);
            self.buf.advance(raw_len);
            b
        } else {
            if self.arena.capacity() - self.arena.len() < raw_len {
                self.arena = BytesMut::with_capacity(self.arena_next.max(raw_len));
                self.arena_next = (self.arena_next * 2).min(ARENA);
            }
            self.arena.extend_from_slice(&self.buf[..raw_len]);
            let b = self.arena.split().freeze();
            self.buf.advance(raw_len);
            b
        };
        let parts = self
            .parts
            .iter()
            .map(|&(lit, s, e)| {
                let b = bytes.slice(s..e);
                if lit {
                    Part::Literal(b)
                } else {
                    Part::Line(b)
                }
            })
            .collect();
        self.reset_frame();
        Frame {
            parts,
            raw: bytes,
            offset,
        }
    }
}

/// The sequence number of an untagged FETCH response's first line.
fn fetch_seq(line: &[u8]) -> Option<u32> {
    let rest = line.strip_prefix(b"* ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let word = rest[digits..].strip_prefix(b" ")?;
    if word.len() < 6 || !word[..6].eq_ignore_ascii_case(b"FETCH ") {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Where the body item ending `before` (the line up to the space before
/// a literal announcement) starts: `BODY[…]`, `BINARY[…]` (each maybe
/// followed by `<origin>`), `RFC822`, `RFC822.TEXT` or `RFC822.HEADER`,
/// after a space or `(`. `None` for any other item.
fn body_item_start(before: &[u8]) -> Option<usize> {
    let token_start = |end: usize| {
        before[..end]
            .iter()
            .rposition(|&b| b == b' ' || b == b'(')
            .map_or(0, |i| i + 1)
    };
    let mut end = before.len();
    if before.last() == Some(&b'>') {
        end = before.iter().rposition(|&b| b == b'<')?;
    }
    if end > 0 && before[end - 1] == b']' {
        let open = before[..end].iter().rposition(|&b| b == b'[')?;
        let name_start = token_start(open);
        let name = &before[name_start..open];
        return (name.eq_ignore_ascii_case(b"BODY") || name.eq_ignore_ascii_case(b"BINARY"))
            .then_some(name_start);
    }
    if end != before.len() {
        return None;
    }
    let start = token_start(end);
    let name = &before[start..];
    [&b"RFC822"[..], b"RFC822.TEXT", b"RFC822.HEADER"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
        .then_some(start)
}

/// Whether a response whose first line is `line` can carry literals.
/// Tagged responses, continuation requests and untagged status responses
/// (`OK`, `NO`, `BAD`, `BYE`, `PREAUTH`) end in free text, where `{5}` is
/// just text (a mailbox name echoed in an error message, say).
fn line_may_announce_literal(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"* ") else {
        return false;
    };
    let word_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let word = &rest[..word_end];
    !(word.eq_ignore_ascii_case(b"OK")
        || word.eq_ignore_ascii_case(b"NO")
        || word.eq_ignore_ascii_case(b"BAD")
        || word.eq_ignore_ascii_case(b"BYE")
        || word.eq_ignore_ascii_case(b"PREAUTH"))
}

/// If `line` ends with `{N}` (or `{N+}`, or `~{N}`), returns `N`, saturated
/// at `u64::MAX` so that an absurd size is reported, not wrapped.
pub fn literal_announcement(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let mut digits = &inner[open + 1..];
    if let Some(d) = digits.strip_suffix(b"+") {
        digits = d;
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(frame: &Frame) -> Vec<Vec<u8>> {
        frame
            .parts()
            .iter()
            .map(|p| match p {
                Part::Line(b) | Part::Literal(b) => b.to_vec(),
            })
            .collect()
    }

    #[test]
    fn simple_lines_and_split_feeding() {
        let input = b"* OK hi\r\na1 OK done\r\n";
        for split in 0..=input.len() {
            let mut f = Framer::new(Limits::default());
            let mut out = Vec::new();
            f.feed(&input[..split]);
            while let Some(fr) = f.next_frame().unwrap() {
                out.push(lines(&fr));
            }
            f.feed(&input[split..]);
            while let Some(fr) = f.next_frame().unwrap() {
                out.push(lines(&fr));
            }
            assert_eq!(
                out,
                vec![vec![b"* OK hi".to_vec()], vec![b"a1 OK done".to_vec()]]
            );
        }
    }

    #[test]
    fn literals_at_every_split() {
        let input = b"* 1 FETCH (BODY[1] {3}\r\nabc BODY[2] ~{4}\r\n\r\n()) UID 4)\r\n";
        for split in 0..=input.len() {
            let mut f = Framer::new(Limits::default());
            f.feed(&input[..split]);
            let mut got = f.next_frame().unwrap();
            if got.is_none() {
                f.feed(&input[split..]);
                got = f.next_frame().unwrap();
            }
            let fr = got.expect("frame");
            assert_eq!(
                lines(&fr),
                vec![
                    b"* 1 FETCH (BODY[1] {3}".to_vec(),
                    b"abc".to_vec(),
                    b" BODY[2] ~{4}".to_vec(),
                    b"\r\n()".to_vec(),
                    b") UID 4)".to_vec()
                ]
            );
        }
    }

    #[test]
    fn status_and_tagged_lines_never_announce_literals() {
        let mut f = Framer::new(Limits::default());
        f.feed(b"a1 NO Mailbox exists: x{3}\r\n* OK [ALERT] {2}\r\n+ {9}\r\n");
        for want in [
            &b"a1 NO Mailbox exists: x{3}"[..],
            b"* OK [ALERT] {2}",
            b"+ {9}",
        ] {
            let fr = f.next_frame().unwrap().unwrap();
            assert_eq!(fr.first_line(), want);
            assert_eq!(fr.parts().len(), 1);
        }
    }

    #[test]
    fn huge_announced_literal_is_refused_without_allocation() {
        let mut f = Framer::new(Limits::default());
        f.feed(b"* 1 FETCH (RFC822 {4294967295}\r\n");
        assert_eq!(
            f.next_frame(),
            Err(FrameError::LiteralTooLarge {
                size: 4294967295,
                limit: Limits::default().max_literal_len
            })
        );
        let mut f = Framer::new(Limits::default());
        f.feed(b"* 1 FETCH (RFC822 {99999999999999999999999999}\r\n");
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::LiteralTooLarge { size: u64::MAX, .. })
        ));
    }

    #[test]
    fn announced_literal_below_limit_buffers_only_what_arrives() {
        let limits = Limits {
            max_literal_len: u64::MAX,
            max_response_len: u64::MAX,
            ..Limits::default()
        };
        let mut f = Framer::new(limits);
        f.feed(b"* 1 FETCH (RFC822 {4294967295}\r\nabc");
        assert_eq!(f.next_frame(), Ok(None));
        assert!(
            f.buf.capacity() < 1 << 20,
            "no allocation for the announced size"
        );
    }

    #[test]
    fn response_limit_counts_lines_and_literals_together() {
        let limits = Limits {
            max_literal_len: 100,
            max_response_len: 250,
            ..Limits::default()
        };
        // Each literal is under the literal limit; together they are not.
        let mut f = Framer::new(limits.clone());
        let mut wire = b"* 1 FETCH (BODY[1] {100}\r\n".to_vec();
        wire.extend_from_slice(&[b'a'; 100]);
        wire.extend_from_slice(b" BODY[2] {100}\r\n");
        wire.extend_from_slice(&[b'b'; 100]);
        wire.extend_from_slice(b" BODY[3] {100}\r\n");
        f.feed(&wire);
        assert_eq!(
            f.next_frame(),
            Err(FrameError::ResponseTooLarge { limit: 250 })
        );
        // Refused at the announcement: the third literal's bytes never
        // had to arrive.
        // A long line after literals counts too.
        let mut f = Framer::new(limits.clone());
        let mut wire = b"* 1 FETCH (BODY[1] {100}\r\n".to_vec();
        wire.extend_from_slice(&[b'a'; 100]);
        wire.extend_from_slice(&[b'x'; 200]);
        f.feed(&wire);
        assert_eq!(
            f.next_frame(),
            Err(FrameError::ResponseTooLarge { limit: 250 })
        );
        // Within the limit, fine.
        let mut f = Framer::new(limits);
        let mut wire = b"* 1 FETCH (BODY[1] {100}\r\n".to_vec();
        wire.extend_from_slice(&[b'a'; 100]);
        wire.extend_from_slice(b")\r\n");
        f.feed(&wire);
        assert!(f.next_frame().unwrap().is_some());
    }

    #[test]
    fn literal_cap_lowers_the_literal_limit() {
        let mut f = Framer::new(Limits::default());
        f.set_literal_cap(Some(1024));
        f.feed(b"* 1 FETCH (BODY[]<0> {150000000}\r\n");
        assert_eq!(
            f.next_frame(),
            Err(FrameError::LiteralTooLarge {
                size: 150_000_000,
                limit: 1024
            })
        );
        let mut f = Framer::new(Limits::default());
        f.set_literal_cap(Some(1024));
        f.feed(b"* 1 FETCH (BODY[]<0> {3}\r\nabc)\r\n");
        assert!(f.next_frame().unwrap().is_some());
    }

    #[test]
    fn frames_know_their_stream_offset() {
        let mut f = Framer::new(Limits::default());
        f.feed(b"* OK a\r\n* 2 EX");
        f.feed(b"ISTS\r\n");
        assert_eq!(f.next_frame().unwrap().unwrap().offset(), 0);
        assert_eq!(f.next_frame().unwrap().unwrap().offset(), 8);
        assert_eq!(f.fed(), 20);
    }

    #[test]
    fn line_limit() {
        let limits = Limits {
            max_line_len: 10,
            ..Limits::default()
        };
        let mut f = Framer::new(limits.clone());
        f.feed(b"* 123456789");
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::LineTooLong { limit: 10 })
        ));
        let mut f = Framer::new(limits.clone());
        f.feed(b"* 12345678\r\n");
        assert!(f.next_frame().unwrap().is_some(), "exactly at the limit");
        // The limit applies to lines, not to literal data.
        let mut f = Framer::new(limits);
        f.feed(b"* 1 X {20}\r\n01234567890123456789\r\n");
        assert!(f.next_frame().unwrap().is_some());
    }

    #[test]
    fn depth_limit_without_recursion() {
        let mut f = Framer::new(Limits::default());
        let mut line = b"* 1 FETCH ".to_vec();
        line.extend(std::iter::repeat_n(b'(', 1_000_000));
        f.feed(&line);
        assert_eq!(f.next_frame(), Err(FrameError::TooDeep { limit: 64 }));
        // Parentheses inside quoted strings and literals don't count.
        let mut f = Framer::new(Limits {
            max_depth: 2,
            ..Limits::default()
        });
        f.feed(b"* 1 FETCH (ENVELOPE (\"(((\\\"(((\" {4}\r\n((((\r\n))\r\n");
        assert!(f.next_frame().unwrap().is_some());
    }

    /// A frame is scanned byte by byte only once it holds more `(` than
    /// the limit; the switch replays its earlier lines, so depth carried
    /// over a literal and parentheses in quotes and literals come out the
    /// same as with a byte-by-byte scan from the start, however the bytes
    /// arrive.
    #[test]
    fn depth_is_exact_after_switching_to_the_precise_scan() {
        let cases: [(&[u8], bool); 6] = [
            // Over the limit in `(` only in the second line: the first
            // line's depth (1) carries over, the quoted `(((` don't count.
            (b"* 1 FETCH (A {2}\r\n(( (B \"(((\" ) )\r\n", true),
            // Depth 2 from the first line, 3 in the second.
            (b"* 1 FETCH (A (B {2}\r\n(( (C \"((\" )))\r\n", false),
            // Quoted parentheses in the first line trigger the switch.
            (b"* 1 FETCH (X \"((\" {1}\r\n( (Y \")(\" 1))\r\n", true),
            (b"* 1 FETCH (X \"((\" {1}\r\n( (Y \")(\" (1)))\r\n", false),
            // An escaped quote does not end the quoted string.
            (b"* 1 FETCH (X \"\\\"(((\" 1)\r\n", true),
            (b"* 1 FETCH (X \"\\\"\" (((1))))\r\n", false),
        ];
        for (input, ok) in cases {
            for chunk in [1, 2, 3, 7, input.len()] {
                let mut f = Framer::new(Limits {
                    max_depth: 2,
                    ..Limits::default()
                });
                let mut got = None;
                for piece in input.chunks(chunk) {
                    f.feed(piece);
                    match f.next_frame() {
                        Ok(None) => {}
                        r => {
                            got = Some(r);
                            break;
                        }
                    }
                }
                let got = got.expect("a frame or an error");
                let text = String::from_utf8_lossy(input);
                if ok {
                    assert!(matches!(got, Ok(Some(_))), "{text} by {chunk}: {got:?}");
                } else {
                    assert_eq!(
                        got,
                        Err(FrameError::TooDeep { limit: 2 }),
                        "{text} by {chunk}"
                    );
                }
            }
        }
    }

    /// With no more `(` than the limit, a frame is never scanned byte by
    /// byte, and the next frame starts in the fast scan again.
    #[test]
    fn the_precise_scan_ends_with_its_frame() {
        let mut f = Framer::new(Limits {
            max_depth: 2,
            ..Limits::default()
        });
        f.feed(b"* 1 FETCH (X \"(((\"");
        assert!(f.next_frame().unwrap().is_none());
        assert!(f.precise, "four `(` against a limit of 2");
        f.feed(b")\r\n");
        assert!(f.next_frame().unwrap().is_some());
        f.feed(b"* 2 FETCH (X (1))\r\n");
        assert!(f.next_frame().unwrap().is_some());
        assert!(!f.precise && f.open_parens == 0, "reset with the frame");
        f.feed(b"* 3 FETCH (Y (1))");
        assert!(f.next_frame().unwrap().is_none());
        assert!(!f.precise && f.open_parens == 2);
    }

    #[test]
    fn literal_count_limit() {
        let limits = Limits {
            max_literals: 3,
            ..Limits::default()
        };
        let mut f = Framer::new(limits.clone());
        f.feed(b"* 1 FETCH (A {0}\r\n B {0}\r\n C {0}\r\n)\r\n");
        assert_eq!(f.next_frame().unwrap().unwrap().parts().len(), 7);
        let mut f = Framer::new(limits);
        f.feed(b"* 1 FETCH (A {0}\r\n B {0}\r\n C {0}\r\n D {0}\r\n");
        assert_eq!(
            f.next_frame(),
            Err(FrameError::TooManyLiterals { limit: 3 })
        );
        // The default bounds a server streaming empty literals forever.
        let mut f = Framer::new(Limits::default());
        f.feed(b"* 1 FETCH (X {0}\r\n");
        let mut err = None;
        for _ in 0..200_000 {
            f.feed(b"{0}\r\n");
            if let Err(e) = f.next_frame() {
                err = Some(e);
                break;
            }
        }
        assert!(matches!(err, Some(FrameError::TooManyLiterals { .. })));
    }

    #[test]
    fn bare_lf_is_accepted() {
        let mut f = Framer::new(Limits::default());
        f.feed(b"* OK x\n* 2 EXISTS\r\n");
        assert_eq!(f.next_frame().unwrap().unwrap().first_line(), b"* OK x");
        assert_eq!(f.next_frame().unwrap().unwrap().first_line(), b"* 2 EXISTS");
    }

    #[test]
    fn literal_announcement_forms() {
        assert_eq!(literal_announcement(b"x {12}"), Some(12));
        assert_eq!(literal_announcement(b"x ~{0}"), Some(0));
        assert_eq!(literal_announcement(b"x {3+}"), Some(3));
        assert_eq!(literal_announcement(b"x {}"), None);
        assert_eq!(literal_announcement(b"x {a}"), None);
        assert_eq!(literal_announcement(b"x {1} "), None);
    }
    /// Feeds `input` split at `split`, collecting every item.
    fn stream_items(input: &[u8], split: usize, min: u64, limits: Limits) -> Vec<Item> {
        let mut f = Framer::new(limits);
        f.set_stream_bodies(Some(min));
        let mut out = Vec::new();
        for part in [&input[..split], &input[split..]] {
            f.feed(part);
            while let Some(item) = f.next_item().unwrap() {
                out.push(item);
            }
        }
        assert!(!f.in_frame());
        out
    }

    #[test]
    fn body_literals_stream_at_every_split() {
        let input: &[u8] = b"* OK x\r\n* 12 FETCH (UID 7 ENVELOPE (NIL {3}\r\nabc) BODY[HEADER.FIELDS (A B)] {4}\r\nA: 1 BODY[]<0> ~{10}\r\n0123456789 RFC822.SIZE 10)\r\na1 OK done\r\n";
        for split in 0..=input.len() {
            let items = stream_items(input, split, 0, Limits::default());
            let mut bodies: Vec<(u32, Vec<u8>, u64, Vec<u8>)> = Vec::new();
            let mut frames = Vec::new();
            for item in items {
                match item {
                    Item::BodyStart { seq, section, size } => {
                        bodies.push((seq, section.to_vec(), size, Vec::new()))
                    }
                    Item::BodyData(d) => bodies.last_mut().unwrap().3.extend_from_slice(&d),
                    Item::Frame(f) => frames.push(f),
                }
            }
            assert_eq!(
                bodies,
                vec![
                    (
                        12,
                        b"BODY[HEADER.FIELDS (A B)]".to_vec(),
                        4,
                        b"A: 1".to_vec()
                    ),
                    (12, b"BODY[]<0>".to_vec(), 10, b"0123456789".to_vec()),
                ],
                "split {split}"
            );
            assert_eq!(frames.len(), 3);
            // the ENVELOPE's literal is kept; the streamed ones are empty
            assert_eq!(
                &frames[1].raw()[..],
                &b"* 12 FETCH (UID 7 ENVELOPE (NIL {3}\r\nabc) BODY[HEADER.FIELDS (A B)] {0}\r\n BODY[]<0> ~{00}\r\n RFC822.SIZE 10)\r\n"[..]
            );
            // stream positions still count the streamed bytes
            assert_eq!(frames[1].offset(), 8);
            assert_eq!(
                frames[2].offset(),
                (input.len() - b"a1 OK done\r\n".len()) as u64
            );
            assert_eq!(frames[2].first_line(), b"a1 OK done");
        }
    }

    #[test]
    fn only_body_items_of_fetch_responses_stream() {
        for (input, streams) in [
            (&b"* 1 FETCH (RFC822 {2}\r\nab)\r\n"[..], true),
            (b"* 1 FETCH (rfc822.text {2}\r\nab)\r\n", true),
            (b"* 1 FETCH (BINARY[1] ~{2}\r\nab)\r\n", true),
            (b"* 1 FETCH (BODY[1] {2+}\r\nab)\r\n", true),
            (b"* 1 FETCH (X-BODY[] {2}\r\nab)\r\n", false),
            (b"* 1 FETCH (RFC822.SIZE {2}\r\nab)\r\n", false),
            (b"* 1 FETCH (BODYSTRUCTURE ({2}\r\nab))\r\n", false),
            (b"* LIST () \"/\" BODY[] {2}\r\nab\r\n", false),
            (b"* 1 FETCH (BODY[] {1}\r\na)\r\n", false), // under the minimum
        ] {
            let items = stream_items(input, 0, 2, Limits::default());
            let streamed = items.iter().any(|i| matches!(i, Item::BodyStart { .. }));
            assert_eq!(streamed, streams, "{}", String::from_utf8_lossy(input));
            assert!(matches!(items.last(), Some(Item::Frame(_))));
        }
    }

    #[test]
    fn a_streamed_body_is_not_bound_by_the_literal_or_response_limits() {
        let limits = Limits {
            max_literal_len: 16,
            max_response_len: 64,
            ..Limits::default()
        };
        let body = vec![b'x'; 100_000];
        let mut input = b"* 1 FETCH (BODY[] {100000}\r\n".to_vec();
        input.extend_from_slice(&body);
        input.extend_from_slice(b")\r\n");
        let items = stream_items(&input, 20_000, 0, limits.clone());
        let got: usize = items
            .iter()
            .map(|i| match i {
                Item::BodyData(d) => d.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(got, body.len());
        // without streaming the same input is refused
        let mut f = Framer::new(limits);
        f.feed(&input);
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::LiteralTooLarge { .. })
        ));
    }

    #[test]
    fn streamed_pieces_are_never_more_than_what_was_fed() {
        let mut f = Framer::new(Limits::default());
        f.set_stream_bodies(Some(0));
        f.feed(b"* 1 FETCH (BODY[] {1000}\r\n");
        assert!(matches!(
            f.next_item().unwrap(),
            Some(Item::BodyStart { size: 1000, .. })
        ));
        assert_eq!(f.next_item().unwrap(), None);
        for _ in 0..10 {
            f.feed(&[b'y'; 100]);
            assert!(matches!(f.next_item().unwrap(), Some(Item::BodyData(d)) if d.len() == 100));
            assert_eq!(f.next_item().unwrap(), None);
            assert!(f.buffered() < 64, "the body is not held");
        }
        f.feed(b")\r\n");
        assert!(matches!(f.next_item().unwrap(), Some(Item::Frame(_))));
    }

    /// Reads `data` into the framer the way a driver does: through
    /// `read_into`, at most what it asks room for per read.
    fn read_all(f: &mut Framer, mut data: &[u8]) -> Vec<usize> {
        let mut sizes = Vec::new();
        while !data.is_empty() {
            let n = f
                .read_into(|b| -> Result<usize, ()> {
                    let n = b.len().min(data.len());
                    b[..n].copy_from_slice(&data[..n]);
                    Ok(n)
                })
                .unwrap();
            sizes.push(n);
            data = &data[n..];
        }
        sizes
    }

    #[test]
    fn a_new_framer_holds_no_buffer() {
        let f = Framer::new(Limits::default());
        assert_eq!(f.allocated(), 0);
        assert_eq!(f.read_size(), MIN_READ);
    }

    #[test]
    fn read_buf_and_commit_frame_like_feed() {
        let mut f = Framer::new(Limits::default());
        let b = f.read_buf();
        assert!(b.capacity() >= MIN_READ);
        b.extend_from_slice(b"* 1 FETCH (BODY[] {5}\r\nhel");
        assert_eq!(f.commit(), 26);
        assert_eq!(f.commit(), 0, "counted once");
        assert_eq!(f.fed(), 26);
        assert_eq!(f.next_frame(), Ok(None));
        // a forgotten commit is done by the next call
        f.read_buf().extend_from_slice(b"lo)\r\n* OK x\r\n");
        let frame = f.next_frame().unwrap().unwrap();
        assert_eq!(lines(&frame)[1], b"hello");
        assert_eq!(f.fed(), 39);
        assert_eq!(frame.offset(), 0);
        let ok = f.next_frame().unwrap().unwrap();
        assert_eq!(ok.first_line(), b"* OK x");
        assert_eq!(ok.offset(), 31);
    }

    #[test]
    fn a_read_buf_that_shrank_starts_over() {
        let mut f = Framer::new(Limits::default());
        f.feed(b"* 1 FETCH (FLAGS");
        f.read_buf().clear();
        assert_eq!(f.commit(), 0);
        f.feed(b"* OK y\r\n");
        assert_eq!(f.next_frame().unwrap().unwrap().first_line(), b"* OK y");
    }

    #[test]
    fn reads_grow_only_with_bytes_received_and_reset_on_release() {
        let mut f = Framer::new(Limits::default());
        // a trickle: the room asked for stays small
        for _ in 0..100 {
            read_all(&mut f, b"* 1 EXISTS\r\n");
            assert!(f.next_frame().unwrap().is_some());
        }
        assert_eq!(f.read_size(), MIN_READ);
        // a flood: it doubles with each full read, up to MAX_READ
        let mut big = b"* 1 FETCH (BODY[] {1000000}\r\n".to_vec();
        big.resize(big.len() + 1_000_000, b'x');
        big.extend_from_slice(b")\r\n");
        let sizes = read_all(&mut f, &big);
        assert_eq!(
            &sizes[..4],
            &[MIN_READ, 2 * MIN_READ, 4 * MIN_READ, 8 * MIN_READ]
        );
        assert_eq!(f.read_size(), MAX_READ);
        assert!(sizes.iter().all(|&n| n <= MAX_READ));
        let frame = f.next_frame().unwrap().unwrap();
        assert_eq!(frame.raw_len(), big.len());
        assert!(f.allocated() > 0);
        assert!(f.release());
        assert_eq!(f.allocated(), 0);
        assert_eq!(f.read_size(), MIN_READ);
        drop(frame);
    }

    #[test]
    fn release_keeps_a_started_response() {
        let mut f = Framer::new(Limits::default());
        read_all(&mut f, b"* 1 FETCH (BODY[] {5}\r\nhe");
        assert_eq!(f.next_frame(), Ok(None));
        assert!(!f.release());
        read_all(&mut f, b"llo)\r\n");
        let frame = f.next_frame().unwrap().unwrap();
        assert_eq!(lines(&frame)[1], b"hello");
        assert!(f.release());
    }

    #[test]
    fn small_frames_share_a_small_first_chunk() {
        let mut f = Framer::new(Limits::default());
        let mut kept = Vec::new();
        for _ in 0..5 {
            read_all(&mut f, b"* 3 EXISTS\r\n");
            kept.push(f.next_frame().unwrap().unwrap());
        }
        // the first arena chunk is ARENA_MIN, not ARENA
        assert!(f.arena.capacity() < ARENA_MIN);
        assert!(f.release());
        assert_eq!(&kept[4].raw()[..], b"* 3 EXISTS\r\n");
    }

    #[test]
    fn limits_hold_for_bytes_read_in_place() {
        let limits = Limits {
            max_line_len: 100,
            ..Limits::default()
        };
        let mut f = Framer::new(limits);
        read_all(&mut f, &[b'a'; 200]);
        assert_eq!(f.next_frame(), Err(FrameError::LineTooLong { limit: 100 }));
        let limits = Limits {
            max_literal_len: 10,
            ..Limits::default()
        };
        let mut f = Framer::new(limits);
        read_all(&mut f, b"* 1 FETCH (BODY[] {11}\r\n");
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::LiteralTooLarge {
                size: 11,
                limit: 10
            })
        ));
    }

    #[test]
    fn an_announced_literal_reserves_only_what_arrives_in_place() {
        let limits = Limits {
            max_literal_len: u64::MAX,
            max_response_len: u64::MAX,
            ..Limits::default()
        };
        let mut f = Framer::new(limits);
        read_all(&mut f, b"* 1 FETCH (RFC822 {4294967295}\r\nabc");
        assert_eq!(f.next_frame(), Ok(None));
        f.read_buf();
        assert!(f.allocated() <= 2 * MIN_READ + 64);
    }

    /// `n` FETCH responses of `size` body bytes each, the body of the
    /// `i`-th made of the byte `b'a' + (seed + i) % 26`.
    fn bodies(n: usize, size: usize, seed: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        for i in 0..n {
            wire.extend_from_slice(format!("* {} FETCH (BODY[] {{{size}}}\r\n", i + 1).as_bytes());
            wire.resize(wire.len() + size, b'a' + ((seed + i) % 26) as u8);
            wire.extend_from_slice(b")\r\n");
        }
        wire
    }

    fn body_byte(f: &Frame) -> (usize, u8) {
        let body = match &f.parts()[1] {
            Part::Literal(b) => b,
            _ => panic!("no literal"),
        };
        assert!(body.iter().all(|&b| b == body[0]), "a body was overwritten");
        (body.len(), body[0])
    }

    #[test]
    fn large_frames_are_cut_in_place_from_the_bytes_read() {
        let mut f = Framer::new(Limits::default());
        let wire = bodies(20, 30_000, 0);
        let mut reads: Vec<std::ops::Range<usize>> = Vec::new();
        let mut data = &wire[..];
        let mut frames = Vec::new();
        while !data.is_empty() {
            f.read_into(|b| -> Result<usize, ()> {
                let n = b.len().min(data.len());
                b[..n].copy_from_slice(&data[..n]);
                let at = b.as_ptr() as usize;
                reads.push(at..at + n);
                Ok(n)
            })
            .unwrap();
            data = &data[reads.last().unwrap().len()..];
            while let Some(frame) = f.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 20);
        // reads that went into consecutive memory make one region
        let mut regions: Vec<std::ops::Range<usize>> = Vec::new();
        for r in reads {
            match regions.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => regions.push(r),
            }
        }
        // once the reads are large, a body's bytes are the very bytes read:
        // its address lies inside the memory the reads went to
        let in_place = frames
            .iter()
            .filter(|fr| {
                let at = fr.raw().as_ptr() as usize;
                regions
                    .iter()
                    .any(|r| r.contains(&at) && r.contains(&(at + fr.raw_len() - 1)))
            })
            .count();
        assert!(in_place >= 15, "only {in_place} of 20 in place");
        for (i, fr) in frames.iter().enumerate() {
            assert_eq!(body_byte(fr), (30_000, b'a' + i as u8));
        }
    }

    #[test]
    fn buffers_come_back_once_their_frames_are_dropped_and_kept_frames_stay_intact() {
        let mut f = Framer::new(Limits::default());
        let mut kept = Vec::new();
        let mut peak = 0;
        for round in 0..40 {
            // a command's worth of bodies, held until the command is done
            read_all(&mut f, &bodies(30, 25_000, round));
            let mut held = Vec::new();
            while let Some(frame) = f.next_frame().unwrap() {
                held.push(frame);
            }
            assert_eq!(held.len(), 30);
            for (i, fr) in held.iter().enumerate() {
                assert_eq!(body_byte(fr), (25_000, b'a' + ((round + i) % 26) as u8));
            }
            // one frame of every fourth round is kept for good
            if round % 4 == 0 {
                kept.push((round, held.swap_remove(0)));
            }
            drop(held);
            peak = peak.max(f.allocated());
        }
        // what the framer holds stays bounded by its spares, though 40 rounds
        // of 750 KB went through it
        assert!(
            peak <= (SPARES + 2) * 4 * MAX_READ,
            "the framer holds {peak} bytes"
        );
        // the frames kept were never written over by later reads
        for (round, fr) in &kept {
            assert_eq!(body_byte(fr), (25_000, b'a' + (round % 26) as u8));
        }
        assert!(f.release());
        assert_eq!(f.allocated(), 0);
    }

    #[test]
    fn room_kept_zeroed_between_reads_is_still_zero() {
        let mut f = Framer::new(Limits::default());
        // a read that fills only part of the room, with bytes that are not 0
        f.read_into(|b| -> Result<usize, ()> {
            b[..5].copy_from_slice(b"* OK ");
            Ok(5)
        })
        .unwrap();
        // a read that claims 3 bytes and writes none: they are the zeros the
        // room was given with, not stale bytes
        f.read_into(|b| -> Result<usize, ()> {
            assert!(
                b.iter().all(|&x| x == 0),
                "the room handed out is not zeroed"
            );
            Ok(3)
        })
        .unwrap();
        assert_eq!(f.unprocessed(), b"* OK \0\0\0");
    }
}
