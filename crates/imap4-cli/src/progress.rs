//! Progress bars: on a terminal only, never with --json, and only for
//! work that takes more than a moment.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::commands::Out;

/// Fewer items than this finish in a moment: no bar.
const WORTH_A_BAR: u64 = 200;

/// A bar counting `total` messages (hidden where it does not belong).
pub fn messages(out: &Out, total: u64) -> ProgressBar {
    if out.json || !out.progress || out.stdout_is_terminal || total < WORTH_A_BAR {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos}/{len} messages [{bar:30}] {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Below this many bytes a download finishes in a moment: no bar.
const WORTH_A_BYTE_BAR: u64 = 8 << 20;

/// A writer counting the bytes through it, showing a bar (on stderr, on
/// a terminal, without --json) once the download is large.
pub struct Bytes<W> {
    inner: W,
    count: u64,
    allowed: bool,
    bar: Option<ProgressBar>,
    /// A write failed (the failure is then local, not the network's).
    pub failed: bool,
}

impl<W> Bytes<W> {
    /// Wraps `inner`.
    pub fn new(out: &Out, inner: W) -> Self {
        Bytes {
            inner,
            count: 0,
            allowed: out.progress && !out.json,
            bar: None,
            failed: false,
        }
    }

    /// The wrapped writer, the bar cleared.
    pub fn into_inner(self) -> W {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        self.inner
    }
}

impl<W: std::io::Write> std::io::Write for Bytes<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf).inspect_err(|_| self.failed = true)?;
        self.count += n as u64;
        if self.allowed && self.bar.is_none() && self.count >= WORTH_A_BYTE_BAR {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position(self.count);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}
