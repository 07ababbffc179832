//! Progress bars: on a terminal only, never with --json, and only for
//! work that takes more than a moment.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::commands::Out;

/// Fewer items than this finish in a moment: no bar.
const WORTH_A_BAR: u64 = 200;

/// A bar counting `total` messages (hidden where it does not belong).
pub fn messages(out: &Out, total: u64) -> ProgressBar {
    if out.json || !out.progress || total < WORTH_A_BAR {
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
