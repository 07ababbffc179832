//! COMPRESS=DEFLATE (RFC 4978): raw deflate (RFC 1951, no zlib header) in
//! both directions, sans-IO.
//!
//! The [`Session`](crate::Session) owns a [`Deflate`] once the server has
//! accepted `COMPRESS DEFLATE`: [`Session::receive`](crate::Session::receive)
//! then takes compressed bytes, and
//! [`Session::take_output`](crate::Session::take_output) hands out compressed
//! bytes, so drivers never see the difference.
//!
//! Input is inflated lazily and in bounded chunks ([`Deflate::CHUNK`]
//! bytes of output at a time), each chunk going through the framer before
//! the next is made: the framer's [`Limits`](crate::Limits) apply to the
//! decompressed bytes, and a decompression bomb ends in the limit error
//! with memory bounded by the limits, never by what the bomb would inflate
//! to.

use bytes::{Buf, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// A COMPRESS=DEFLATE codec: a deflater for what the client sends and an
/// inflater for what it receives.
pub struct Deflate {
    tx: Compress,
    rx: Decompress,
    /// Compressed bytes received and not yet inflated.
    input: BytesMut,
    /// Compressed bytes received over the codec's life.
    received: u64,
    /// The last inflate step filled its output: the inflater may hold more
    /// output for input it already consumed.
    maybe_more: bool,
    /// The server ended its deflate stream (a final block).
    ended: bool,
    out: Vec<u8>,
    /// `input`'s length when [`Deflate::read_buf`] handed it out.
    mark: Option<usize>,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("sent_in", &self.tx.total_in())
            .field("sent_out", &self.tx.total_out())
            .field("received", &self.received)
            .field("inflated", &self.rx.total_out())
            .field("pending", &self.input.len())
            .finish()
    }
}

impl Default for Deflate {
    fn default() -> Self {
        Deflate::new()
    }
}

impl Deflate {
    /// The most decompressed bytes one [`Deflate::inflate`] step makes.
    pub const CHUNK: usize = 16 * 1024;

    /// A fresh codec (default compression level, raw deflate).
    pub fn new() -> Self {
        Deflate {
            tx: Compress::new(Compression::default(), false),
            rx: Decompress::new(false),
            input: BytesMut::new(),
            received: 0,
            maybe_more: false,
            ended: false,
            out: vec![0; Self::CHUNK],
            mark: None,
        }
    }

    /// Compresses `data` and ends with a sync flush: the server can
    /// decompress everything sent so far as soon as it arrives.
    pub fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>, DeflateError> {
        let start = self.tx.total_in();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let consumed = (self.tx.total_in() - start) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            self.tx
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
                .map_err(|e| DeflateError(format!("deflate failed: {e}")))?;
            let consumed = (self.tx.total_in() - start) as usize;
            // The flush is complete once all input is in and the output
            // buffer was not filled.
            if consumed == data.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }

    /// Takes compressed bytes received from the server (nothing is
    /// inflated yet).
    pub fn receive(&mut self, data: &[u8]) {
        self.commit();
        self.input.extend_from_slice(data);
        self.received += data.len() as u64;
    }

    /// The compressed input buffer with room for `want` more bytes, to
    /// read into directly; append only, then [`Deflate::commit`] (see
    /// [`crate::frame::Framer::read_buf`]).
    pub fn read_buf(&mut self, want: usize) -> &mut BytesMut {
        self.commit();
        self.input.reserve(want);
        self.mark = Some(self.input.len());
        &mut self.input
    }

    /// Counts the bytes appended to [`Deflate::read_buf`] and returns how
    /// many; a buffer that shrank loses what it held (see
    /// [`crate::frame::Framer::commit`]).
    pub fn commit(&mut self) -> usize {
        let Some(mark) = self.mark.take() else {
            return 0;
        };
        let len = self.input.len();
        if len < mark {
            self.input.clear();
            return 0;
        }
        self.received += (len - mark) as u64;
        len - mark
    }

    /// Gives the input buffer back if it holds nothing.
    pub fn release(&mut self) {
        self.commit();
        if self.input.is_empty() {
            self.input = BytesMut::new();
        }
    }

    /// Compressed bytes received over the codec's life.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Compressed bytes inflated so far.
    pub fn consumed(&self) -> u64 {
        self.rx.total_in()
    }

    /// Decompressed bytes made so far.
    pub fn inflated(&self) -> u64 {
        self.rx.total_out()
    }

    /// Uncompressed bytes given to [`Deflate::compress`] so far.
    pub fn compressed_in(&self) -> u64 {
        self.tx.total_in()
    }

    /// Compressed bytes [`Deflate::compress`] made so far.
    pub fn compressed_out(&self) -> u64 {
        self.tx.total_out()
    }

    /// Compressed bytes received and not yet inflated.
    pub fn pending(&self) -> usize {
        self.input.len()
    }

    /// Whether everything received has been inflated and handed out.
    pub fn is_drained(&self) -> bool {
        self.input.is_empty() && !self.maybe_more
    }

    /// Forgets the compressed bytes not yet inflated.
    pub fn clear_pending(&mut self) {
        self.commit();
        self.input.clear();
        self.maybe_more = false;
    }

    /// Inflates one step: at most [`Deflate::CHUNK`] decompressed bytes,
    /// consuming compressed input no further than the stream position
    /// `until` (see [`Deflate::consumed`]; `None`: no bound). An empty
    /// result means nothing more can be made from the input allowed.
    pub fn inflate(&mut self, until: Option<u64>) -> Result<&[u8], DeflateError> {
        self.commit();
        let mut allowed = self.input.len();
        if let Some(until) = until {
            let room = until.saturating_sub(self.rx.total_in());
            allowed = allowed.min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        if self.ended {
            if allowed > 0 {
                return Err(DeflateError(
                    "data after the end of the server's deflate stream".into(),
                ));
            }
            return Ok(&[]);
        }
        let out0 = self.rx.total_out();
        let mut produced = 0;
        // Input that only fills the inflater's bit buffer makes no output:
        // go on until output appears or the allowed input is used up.
        while allowed > 0 || produced == 0 {
            let in0 = self.rx.total_in();
            let status = self
                .rx
                .decompress(
                    &self.input[..allowed],
                    &mut self.out[produced..],
                    FlushDecompress::Sync,
                )
                .map_err(|e| {
                    DeflateError(format!("corrupt compressed data from the server: {e}"))
                })?;
            let consumed = (self.rx.total_in() - in0) as usize;
            self.input.advance(consumed);
            allowed -= consumed;
            produced = (self.rx.total_out() - out0) as usize;
            if status == Status::StreamEnd {
                self.ended = true;
                break;
            }
            if produced > 0 || consumed == 0 {
                break;
            }
        }
        self.maybe_more = !self.ended && produced == self.out.len();
        Ok(&self.out[..produced])
    }
}

/// Compressing or decompressing failed (corrupt data from the server).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("COMPRESS=DEFLATE: {0}")]
pub struct DeflateError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_all(d: &mut Deflate) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let step = d.inflate(None).unwrap();
            if step.is_empty() {
                return out;
            }
            assert!(step.len() <= Deflate::CHUNK);
            out.extend_from_slice(step);
        }
    }

    #[test]
    fn round_trip_in_both_directions() {
        let mut client = Deflate::new();
        let mut server = Deflate::new();
        for msg in [&b"a1 NOOP\r\n"[..], b"", b"a2 FETCH 1:* (BODY[])\r\n"] {
            let wire = client.compress(msg).unwrap();
            // A sync flush ends in the empty stored block 00 00 ff ff.
            assert!(wire.ends_with(&[0, 0, 0xff, 0xff]), "{wire:?}");
            server.receive(&wire);
            assert_eq!(inflate_all(&mut server), msg);
            assert!(server.is_drained());
        }
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let wire = client.compress(&big).unwrap();
        for piece in wire.chunks(777) {
            server.receive(piece);
        }
        assert_eq!(inflate_all(&mut server), big);
    }

    #[test]
    fn inflation_stops_at_the_bound() {
        let mut a = Deflate::new();
        let mut b = Deflate::new();
        let first = a.compress(b"first\r\n").unwrap();
        let second = a.compress(b"second\r\n").unwrap();
        b.receive(&first);
        b.receive(&second);
        let until = first.len() as u64;
        let mut got = Vec::new();
        loop {
            let s = b.inflate(Some(until)).unwrap();
            if s.is_empty() {
                break;
            }
            got.extend_from_slice(s);
        }
        assert_eq!(got, b"first\r\n");
        assert_eq!(b.consumed(), until);
        assert_eq!(inflate_all(&mut b), b"second\r\n");
    }

    #[test]
    fn a_bomb_inflates_one_chunk_at_a_time() {
        let mut a = Deflate::new();
        let zeros = vec![b'A'; 8 << 20];
        let wire = a.compress(&zeros).unwrap();
        assert!(wire.len() < 16 << 10, "{}", wire.len());
        let mut b = Deflate::new();
        b.receive(&wire);
        let step = b.inflate(None).unwrap();
        assert_eq!(step.len(), Deflate::CHUNK);
        assert!(!b.is_drained());
    }

    #[test]
    fn garbage_is_an_error() {
        let mut b = Deflate::new();
        b.receive(&[0xff; 64]);
        assert!(b.inflate(None).is_err());
    }
}
