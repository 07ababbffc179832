//! Reconnecting within a run: when the connection drops in the middle of
//! a `backup` or a `copy` (a reset, a timeout, a server's BYE), the work
//! starts again on a new connection and resumes from what its state has
//! committed, so at most one batch is fetched again. The wait doubles
//! from 1 s (up to 60 s), or is what the server suggested: Office 365
//! ends a throttled session with `BYE … Suggested Backoff Time: N
//! milliseconds`.

use std::time::Duration;

use imap4::Imap4;
use serde::Serialize;

use crate::commands::Out;
use crate::config::Account;
use crate::connect;
use crate::output::{json_line, Class, Failure};

/// The longest wait the server may ask for (Office 365 asks for minutes).
const MAX_SUGGESTED: Duration = Duration::from_secs(15 * 60);

/// A `reconnect` event: the connection was lost and is opened again.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Reconnect {
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// How many attempts are allowed (`--retries`).
    pub of: u32,
    /// What happened to the connection.
    pub error: String,
    /// The wait before connecting again, in milliseconds.
    pub retry_in_ms: u64,
}

impl Reconnect {
    /// The line printed on stderr without `--json`.
    pub fn text(&self) -> String {
        format!(
            "imap4: connection lost ({}); reconnecting in {:.1} s (attempt {} of {})",
            self.error,
            self.retry_in_ms as f64 / 1000.0,
            self.attempt,
            self.of
        )
    }
}

/// Prints a `reconnect` event: as the command's own event (`wrap`) in
/// JSON Lines, else a line on stderr.
pub fn announce<E: Serialize>(
    out: &Out,
    r: &Reconnect,
    wrap: impl FnOnce(Reconnect) -> E,
) -> Result<(), Failure> {
    use std::io::Write;
    let w = if out.json {
        json_line(&mut std::io::stdout().lock(), &wrap(r.clone()))
    } else {
        writeln!(std::io::stderr(), "{}", r.text())
    };
    w.map_err(|e| Failure::new(Class::Local, format!("writing the output: {e}")))
}

/// The wait before attempt `attempt` (from 1) after `message`.
pub fn delay(attempt: u32, message: &str) -> Duration {
    if let Some(d) = suggested(message) {
        return d;
    }
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Whether a server's text says it is throttling the client.
pub fn throttled(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("suggested backoff time")
}

/// The wait a throttling server asks for (`Suggested Backoff Time: N
/// milliseconds`, or seconds), at most 15 minutes; `None` without one.
pub fn suggested(message: &str) -> Option<Duration> {
    suggested_backoff(message).map(|ms| Duration::from_millis(ms).min(MAX_SUGGESTED))
}

/// `Suggested Backoff Time: N milliseconds` (Office 365's throttling), in
/// milliseconds: the number right after the colon, with its unit.
fn suggested_backoff(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("suggested backoff time")? + "suggested backoff time".len();
    let rest = lower[at..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    // a number too big for u64 is "very long": the cap applies
    let n: u64 = digits.parse().unwrap_or(u64::MAX);
    let unit = rest[digits.len()..].trim_start();
    if unit.starts_with("ms") || unit.starts_with("millisecond") || unit.is_empty() {
        Some(n)
    } else if unit.starts_with("second") || unit.starts_with('s') {
        Some(n.saturating_mul(1000))
    } else {
        None
    }
}

/// Runs `work` on `m`; when it fails because the connection was lost,
/// reconnects (up to `retries` times, announcing each attempt) and runs
/// it again. `m` is the last connection afterwards.
pub fn with_retries<T>(
    m: &mut Imap4,
    account: &Account,
    retries: u32,
    mut announce: impl FnMut(&Reconnect) -> Result<(), Failure>,
    mut work: impl FnMut(&mut Imap4) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut attempt = 0;
    let mut r = work(m);
    loop {
        let f = match r {
            Err(f) if f.retry && attempt < retries => f,
            r => return r,
        };
        attempt += 1;
        let wait = delay(attempt, &f.message);
        announce(&Reconnect {
            attempt,
            of: retries,
            error: f.message,
            retry_in_ms: wait.as_millis() as u64,
        })?;
        std::thread::sleep(wait);
        r = match connect::open(account) {
            Ok(new) => {
                let _ = m.shutdown();
                *m = new;
                work(m)
            }
            // the server is still away: that counts as an attempt
            Err(mut f) if f.class == Class::Connect => {
                f.retry = true;
                Err(f)
            }
            Err(f) => Err(f),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_or_is_what_the_server_suggests() {
        assert_eq!(delay(1, "connection reset"), Duration::from_secs(1));
        assert_eq!(delay(2, "connection reset"), Duration::from_secs(2));
        assert_eq!(delay(4, "x"), Duration::from_secs(8));
        assert_eq!(delay(30, "x"), Duration::from_secs(60));
        let o365 =
            "the server said BYE: Request is throttled. Suggested Backoff Time: 4500 milliseconds";
        assert_eq!(delay(1, o365), Duration::from_millis(4500));
        let greedy = "BYE Suggested Backoff Time: 99999999 milliseconds";
        assert_eq!(delay(1, greedy), MAX_SUGGESTED);
        assert_eq!(suggested_backoff("Suggested Backoff Time: soon"), None);
        assert_eq!(
            suggested_backoff("Suggested Backoff Time: unknown (code 12)"),
            None
        );
        assert_eq!(
            suggested_backoff("Suggested Backoff Time: 3 seconds"),
            Some(3000)
        );
        assert_eq!(
            suggested("Suggested Backoff Time: 99999999999999999999999 milliseconds"),
            Some(MAX_SUGGESTED)
        );
        assert!(throttled(
            "NO Request is throttled. Suggested Backoff Time: soon"
        ));
    }
}
