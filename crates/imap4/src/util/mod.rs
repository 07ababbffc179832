//! imaplib's module-level utility functions.
//!
//! | CPython `imaplib`      | this module                                |
//! |------------------------|--------------------------------------------|
//! | `Int2AP(num)`          | [`int2ap`]                                 |
//! | `ParseFlags(resp)`     | [`parse_flags`]                            |
//! | `Internaldate2tuple()` | [`internaldate2tuple`]                     |
//! | `Time2Internaldate()`  | [`time2internaldate`] with [`DateTimeArg`] |
//!
//! The functions follow CPython 3.11's `imaplib` behaviour on Linux with
//! glibc, including its regular-expression matching rules and its time-zone
//! handling: the local zone is the one the C library uses (the `TZ`
//! environment variable, or `/etc/localtime`). Where a Rust signature cannot
//! express a Python behaviour (exceptions, `struct_time`), the difference is
//! documented on the function.
//!
//! ```rust
//! use imap4::util::{int2ap, parse_flags, time2internaldate};
//!
//! assert_eq!(int2ap(0x1234), b"BCDE".to_vec());
//! assert_eq!(parse_flags(br"* 1 FETCH (FLAGS (\Seen))"), vec![br"\Seen".to_vec()]);
//! let utc = chrono::DateTime::from_timestamp(0, 0).unwrap();
//! assert_eq!(time2internaldate(utc).unwrap(), "\"01-Jan-1970 00:00:00 +0000\"");
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone,
    Timelike,
};

/// English month abbreviations, as in imaplib's `Months` (index 0 is January).
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Converts an integer into its "A-P" representation, like imaplib's `Int2AP`.
///
/// Each hexadecimal digit of `num` (most significant first) is written as a
/// letter from `A` (0) to `P` (15), without leading `A`s. imaplib uses this to
/// build command tag prefixes. As in imaplib, zero converts to an empty string.
///
/// ```rust
/// use imap4::util::int2ap;
///
/// assert_eq!(int2ap(0), b"".to_vec());
/// assert_eq!(int2ap(15), b"P".to_vec());
/// assert_eq!(int2ap(4096), b"BAAA".to_vec());
/// ```
pub fn int2ap(num: u64) -> Vec<u8> {
    const AP: &[u8; 16] = b"ABCDEFGHIJKLMNOP";
    let mut out = Vec::with_capacity(16);
    let mut num = num;
    while num != 0 {
        // The mask keeps the index below 16.
        out.push(AP[(num & 0xF) as usize]);
        num >>= 4;
    }
    out.reverse();
    out
}

/// Length of the longest prefix of `resp` that the regular expression `.*`
/// can consume: Python's `.` (without `re.DOTALL`) matches any byte but `\n`.
fn dot_star_limit(resp: &[u8]) -> usize {
    resp.iter().position(|&b| b == b'\n').unwrap_or(resp.len())
}

/// Python's `bytes.isspace()` for a single byte (ASCII space, `\t`, `\n`,
/// `\x0b`, `\x0c`, `\r`). Note that [`u8::is_ascii_whitespace`] excludes `\x0b`.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Python's `bytes.split()` with no arguments.
fn py_split(data: &[u8]) -> Vec<Vec<u8>> {
    data.split(|&b| is_py_space(b))
        .filter(|item| !item.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Extracts the flags from a `FLAGS` response, like imaplib's `ParseFlags`.
///
/// imaplib matches `resp` from its start against
/// `.*FLAGS \((?P<flags>[^\)]*)\)` and returns `flags.split()`. This function
/// reproduces that match exactly, without a regular-expression engine:
///
/// * `.` does not match `\n`, so `FLAGS (` must start on the first line
///   (the flags themselves may contain line breaks);
/// * `.*` is greedy, so the **last** `FLAGS (` on the first line that is
///   followed, anywhere later, by a `)` is used; an occurrence with no `)`
///   after it makes the match back up to an earlier occurrence;
/// * the flags end at the first `)` after `FLAGS (`;
/// * the flags are split on runs of ASCII whitespace (space, `\t`, `\n`,
///   `\x0b`, `\x0c`, `\r`), as Python's `bytes.split()` does.
///
/// When there is no match the result is empty (imaplib returns `()`).
///
/// ```rust
/// use imap4::util::parse_flags;
///
/// let resp = br"1 (UID 7 FLAGS (\Seen \Answered $Label1))";
/// assert_eq!(
///     parse_flags(resp),
///     vec![br"\Seen".to_vec(), br"\Answered".to_vec(), b"$Label1".to_vec()]
/// );
/// assert!(parse_flags(b"1 (UID 7)").is_empty());
/// ```
pub fn parse_flags(resp: &[u8]) -> Vec<Vec<u8>> {
    const OPEN: &[u8] = b"FLAGS (";
    // `[^\)]*\)` can match after position p iff some `)` exists at or after p;
    // the greedy `[^\)]*` then stops at the first such `)`.
    let Some(last_close) = resp.iter().rposition(|&b| b == b')') else {
        return Vec::new();
    };
    // The greedy `.*` tries the longest prefix first, then backtracks.
    for start in (0..=dot_star_limit(resp)).rev() {
        if !resp[start..].starts_with(OPEN) {
            continue;
        }
        let flags_start = start + OPEN.len();
        if last_close < flags_start {
            continue;
        }
        let rest = &resp[flags_start..];
        let len = rest.iter().position(|&b| b == b')').unwrap_or(rest.len());
        return py_split(&rest[..len]);
    }
    Vec::new()
}

/// The fields captured by imaplib's `InternalDate` pattern.
struct InternalDateFields {
    day: i64,
    month: [u8; 3],
    year: i32,
    hour: i64,
    minute: i64,
    second: i64,
    zone_negative: bool,
    zone_hours: i64,
    zone_minutes: i64,
}

/// The literal start of imaplib's `InternalDate` pattern, after its `.*`.
const INTERNALDATE_PREFIX: &[u8] = b"INTERNALDATE \"";

/// The rest of imaplib's `InternalDate` pattern, one byte per position:
/// `D` is `[ 0123]`, `9` is `[0-9]`, `A` is `[A-Z]`, `a` is `[a-z]`, `s` is
/// `[-+]`; every other byte matches itself.
const INTERNALDATE_TEMPLATE: &[u8] = b"D9-Aaa-9999 99:99:99 s9999\"";

/// Matches imaplib's `InternalDate` pattern (without `.*`) at the start of `s`.
fn match_internaldate_at(s: &[u8]) -> Option<InternalDateFields> {
    let d = s.strip_prefix(INTERNALDATE_PREFIX)?;
    let d = d.get(..INTERNALDATE_TEMPLATE.len())?;
    let all_match = INTERNALDATE_TEMPLATE.iter().zip(d).all(|(&t, &b)| match t {
        b'D' => matches!(b, b' ' | b'0'..=b'3'),
        b'9' => b.is_ascii_digit(),
        b'A' => b.is_ascii_uppercase(),
        b'a' => b.is_ascii_lowercase(),
        b's' => b == b'-' || b == b'+',
        _ => b == t,
    });
    if !all_match {
        return None;
    }
    // Python's int() ignores the leading space of a space-padded day.
    let num = |field: &[u8]| {
        field
            .iter()
            .filter(|b| b.is_ascii_digit())
            .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'))
    };
    Some(InternalDateFields {
        day: num(&d[0..2]),
        month: [d[3], d[4], d[5]],
        // At most four digits: fits in i32.
        year: num(&d[7..11]) as i32,
        hour: num(&d[12..14]),
        minute: num(&d[15..17]),
        second: num(&d[18..20]),
        zone_negative: d[21] == b'-',
        zone_hours: num(&d[22..24]),
        zone_minutes: num(&d[24..26]),
    })
}

/// Parses an `INTERNALDATE` from a `FETCH` response, like imaplib's
/// `Internaldate2tuple`.
///
/// imaplib matches `resp` from its start against
/// `.*INTERNALDATE "DD-Mon-YYYY HH:MM:SS +HHMM"` (the day may start with a
/// space: `[ 0123][0-9]`; `.` does not match `\n` and the greedy `.*` selects
/// the last matching occurrence on the first line). The time is converted to
/// UTC by subtracting the zone, and the result is that instant in the local
/// time zone, which carries its UTC offset (imaplib returns
/// `time.localtime(utc)`).
///
/// As in imaplib (which uses `calendar.timegm`), out-of-range fields are not
/// rejected but carried arithmetically: `" 0-Jan-2000"` is 31 December 1999,
/// `99:99:99` is 4 days 4:40:39 after midnight, `+9999` is 100:39 hours.
///
/// Returns `None` when the pattern does not match. Differences from imaplib,
/// which raises in these cases:
///
/// * a month name that matches `[A-Z][a-z][a-z]` but is not an English month
///   abbreviation (imaplib raises `KeyError`) gives `None`;
/// * year `0000` (imaplib raises `ValueError`) gives `None`.
///
/// `chrono::DateTime<Local>` has no `tm_isdst`: the DST flag of imaplib's
/// `struct_time` is not available, only the UTC offset.
///
/// ```rust
/// use imap4::util::internaldate2tuple;
///
/// let resp = br#"1 (INTERNALDATE "17-Jul-1996 02:44:25 -0700" FLAGS (\Seen))"#;
/// let local = internaldate2tuple(resp).unwrap();
/// assert_eq!(local.timestamp(), 837_596_665); // 1996-07-17 09:44:25 UTC
/// assert!(internaldate2tuple(b"1 (FLAGS (\\Seen))").is_none());
/// ```
pub fn internaldate2tuple(resp: &[u8]) -> Option<DateTime<Local>> {
    // The greedy `.*` tries the longest prefix first. The pattern after it
    // cannot match a `\n`, so the first line bounds the candidates.
    let fields = (0..=dot_star_limit(resp))
        .rev()
        .find_map(|start| match_internaldate_at(&resp[start..]))?;
    let month = MONTHS.iter().position(|m| m.as_bytes() == fields.month)?;
    if fields.year == 0 {
        return None;
    }
    // calendar.timegm: days from the first of the month, then plain arithmetic.
    let first = NaiveDate::from_ymd_opt(fields.year, month as u32 + 1, 1)?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let days = first.signed_duration_since(epoch).num_days() + fields.day - 1;
    let mut zone = (fields.zone_hours * 60 + fields.zone_minutes) * 60;
    if fields.zone_negative {
        zone = -zone;
    }
    let utc = ((days * 24 + fields.hour) * 60 + fields.minute) * 60 + fields.second - zone;
    let gmtoff = LocalZone::new().gmtoff(utc).ok()?;
    let utc = DateTime::from_timestamp(utc, 0)?.naive_utc();
    Some(DateTime::from_naive_utc_and_offset(
        utc,
        FixedOffset::east_opt(gmtoff)?,
    ))
}

/// An argument for [`time2internaldate`]: the Python types accepted by
/// imaplib's `Time2Internaldate`.
///
/// Values are usually built with `From`/`Into`:
///
/// | Rust value                        | variant    | Python equivalent            |
/// |-----------------------------------|------------|------------------------------|
/// | `i32`, `u32`, `i64`, `u64`, `f64` | [`Epoch`]  | `int`, `float`               |
/// | [`SystemTime`]                    | [`Epoch`]  | `time.time()`                |
/// | `chrono::DateTime<Tz>` (any `Tz`) | [`Aware`]  | aware `datetime`             |
/// | `chrono::NaiveDateTime`           | [`Naive`]  | 9-tuple with `tm_isdst = -1` |
/// | `&str`, `String`                  | [`Quoted`] | `str`                        |
///
/// [`Epoch`]: DateTimeArg::Epoch
/// [`Aware`]: DateTimeArg::Aware
/// [`Naive`]: DateTimeArg::Naive
/// [`Quoted`]: DateTimeArg::Quoted
///
/// ```rust
/// use imap4::util::DateTimeArg;
///
/// assert_eq!(DateTimeArg::from(1_700_000_000), DateTimeArg::Epoch(1_700_000_000.0));
/// assert!(matches!(DateTimeArg::from("\"x\""), DateTimeArg::Quoted(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum DateTimeArg {
    /// Seconds since the Unix epoch (Python `int` or `float`). The instant is
    /// shown in the local time zone, with the local UTC offset at that instant.
    /// Fractions are rounded to microseconds (half to even) and then dropped,
    /// as Python's `datetime.fromtimestamp` does.
    Epoch(f64),
    /// A time with a known UTC offset (Python aware `datetime`); it is shown
    /// with that offset.
    Aware(DateTime<FixedOffset>),
    /// A local wall-clock time (Python 9-tuple `(y, m, d, H, M, S, wd, yd, -1)`).
    /// Sub-second precision is ignored. The UTC offset is chosen as imaplib
    /// does: if the zone observes DST (`time.daylight`), the DST flag is
    /// resolved as glibc's `mktime` does and the offset is `-time.altzone`
    /// for DST, `-time.timezone` otherwise (see [`time2internaldate`]).
    Naive(NaiveDateTime),
    /// An already formatted date-time. It is returned unchanged if it starts
    /// and ends with `"`, otherwise it is an error.
    Quoted(String),
}

impl From<i32> for DateTimeArg {
    fn from(secs: i32) -> Self {
        DateTimeArg::Epoch(f64::from(secs))
    }
}

impl From<u32> for DateTimeArg {
    fn from(secs: u32) -> Self {
        DateTimeArg::Epoch(f64::from(secs))
    }
}

impl From<i64> for DateTimeArg {
    /// Values beyond ±2⁵³ lose precision, but they are far outside the
    /// supported years 1 to 9999 anyway.
    fn from(secs: i64) -> Self {
        DateTimeArg::Epoch(secs as f64)
    }
}

impl From<u64> for DateTimeArg {
    /// Values beyond 2⁵³ lose precision, but they are far outside the
    /// supported years 1 to 9999 anyway.
    fn from(secs: u64) -> Self {
        DateTimeArg::Epoch(secs as f64)
    }
}

impl From<f64> for DateTimeArg {
    fn from(secs: f64) -> Self {
        DateTimeArg::Epoch(secs)
    }
}

impl From<SystemTime> for DateTimeArg {
    /// Converted to seconds since the epoch as an `f64`, like `time.time()`.
    fn from(time: SystemTime) -> Self {
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        };
        DateTimeArg::Epoch(secs)
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for DateTimeArg {
    /// The time is kept with its UTC offset at that instant.
    fn from(date_time: DateTime<Tz>) -> Self {
        let offset = date_time.offset().fix();
        DateTimeArg::Aware(date_time.with_timezone(&offset))
    }
}

impl From<NaiveDateTime> for DateTimeArg {
    fn from(local: NaiveDateTime) -> Self {
        DateTimeArg::Naive(local)
    }
}

impl From<&str> for DateTimeArg {
    fn from(text: &str) -> Self {
        DateTimeArg::Quoted(text.to_owned())
    }
}

impl From<String> for DateTimeArg {
    fn from(text: String) -> Self {
        DateTimeArg::Quoted(text)
    }
}

/// The error returned by [`time2internaldate`] where imaplib raises
/// (`ValueError`, `OverflowError`, or `IndexError` for an empty string).
///
/// ```rust
/// use imap4::util::time2internaldate;
///
/// let err = time2internaldate("17-Jul-1996 02:44:25 -0700").unwrap_err();
/// assert_eq!(err.reason(), "date_time not of a known type");
/// assert_eq!(err.to_string(), "invalid date_time: date_time not of a known type");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDateTime {
    reason: &'static str,
}

impl InvalidDateTime {
    fn new(reason: &'static str) -> Self {
        InvalidDateTime { reason }
    }

    /// Why the value was rejected (close to imaplib's exception message).
    ///
    /// ```rust
    /// use imap4::util::time2internaldate;
    ///
    /// let err = time2internaldate(f64::NAN).unwrap_err();
    /// assert_eq!(err.reason(), "timestamp is NaN");
    /// ```
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for InvalidDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid date_time: {}", self.reason)
    }
}

impl std::error::Error for InvalidDateTime {}

/// Converts a date-time to an IMAP `INTERNALDATE` string, like imaplib's
/// `Time2Internaldate`.
///
/// The result has the form `"DD-Mmm-YYYY HH:MM:SS +HHMM"`, **including** the
/// double quotes, with an English month abbreviation. It is formatted as
/// CPython 3.11 does on Linux with `strftime('"%d-Mmm-%Y %H:%M:%S %z"')`:
///
/// * the day is zero-padded (`01-Jan-2000`); the year is **not** padded
///   (glibc's `%Y`: year 5 is `5`);
/// * `%z` is `+HHMM`, or `+HHMMSS` when the offset has seconds (local mean
///   time before time zones were standardised, or such a [`FixedOffset`]).
///
/// How each kind of [`DateTimeArg`] is handled:
///
/// * [`Epoch`](DateTimeArg::Epoch): the local time and UTC offset at that
///   instant (`datetime.fromtimestamp(t, timezone.utc).astimezone()`);
/// * [`Aware`](DateTimeArg::Aware): its own wall-clock time and offset;
/// * [`Naive`](DateTimeArg::Naive): the wall-clock time as given, with an
///   offset chosen as imaplib does for a 9-tuple whose `tm_isdst` is `-1`:
///   if `time.daylight` is false, `-time.timezone`; otherwise `mktime`
///   decides whether DST applies and the offset is `-time.altzone` (DST) or
///   `-time.timezone`. `time.timezone`/`time.altzone`/`time.daylight` are
///   derived, as CPython does on glibc, from the local offsets in January and
///   July of the current year. A time in a spring-forward gap counts as DST
///   (glibc prefers the DST side); an ambiguous time is resolved as glibc's
///   `mktime` does in a process that has not called `mktime` before.
/// * [`Quoted`](DateTimeArg::Quoted): returned unchanged if it starts and
///   ends with `"`; an error otherwise (including the empty string).
///
/// # Errors
///
/// [`InvalidDateTime`] where imaplib raises: a string that is not
/// double-quoted, a NaN or infinite timestamp, a date-time whose year (in
/// UTC or local time) is outside 1 to 9999 (Python's `datetime` range).
///
/// # Differences from imaplib
///
/// * For a naive time in a daylight-saving fold (an ambiguous local time),
///   glibc's `mktime` result depends on the UTC offset of the previous
///   `mktime` call in the process, so CPython's answer is not a function of
///   its input; this function always answers as for the first call.
/// * The behaviour reproduced is CPython's on Linux with glibc (as are the
///   quirks it inherits: with `TZ=Europe/Dublin`, whose tz data marks winter
///   as "negative DST", a naive winter time gets `+0100`, a summer one
///   `+0000`; with a POSIX rule string such as `TZ=EST5EDT,M3.2.0,M11.1.0`,
///   no DST applies before 1970). UTC offsets come from chrono, DST flags
///   (which chrono does not expose) from the zone's TZif file; where there
///   is none (for example on Windows), a naive time counts as DST when its
///   offset equals `-time.altzone`.
///
/// ```rust
/// use chrono::{FixedOffset, TimeZone};
/// use imap4::util::time2internaldate;
///
/// let zone = FixedOffset::west_opt(7 * 3600).unwrap();
/// let aware = zone.with_ymd_and_hms(1996, 7, 1, 2, 44, 25).unwrap();
/// assert_eq!(time2internaldate(aware).unwrap(), "\"01-Jul-1996 02:44:25 -0700\"");
///
/// let quoted = "\"17-Jul-1996 02:44:25 -0700\"";
/// assert_eq!(time2internaldate(quoted).unwrap(), quoted);
///
/// // An epoch time is shown in the local time zone.
/// let now = time2internaldate(std::time::SystemTime::now()).unwrap();
/// assert_eq!(now.len(), 28);
/// ```
pub fn time2internaldate<T: Into<DateTimeArg>>(date_time: T) -> Result<String, InvalidDateTime> {
    match date_time.into() {
        DateTimeArg::Epoch(secs) => {
            let secs = epoch_seconds(secs)?;
            let utc = DateTime::from_timestamp(secs, 0)
                .ok_or(InvalidDateTime::new("timestamp out of range"))?
                .naive_utc();
            check_year(&utc)?;
            let gmtoff = LocalZone::new().gmtoff(secs)?;
            let local = utc
                .checked_add_signed(TimeDelta::seconds(i64::from(gmtoff)))
                .ok_or(InvalidDateTime::new("date value out of range"))?;
            check_year(&local)?;
            Ok(format_internaldate(&local, gmtoff))
        }
        DateTimeArg::Aware(date_time) => {
            let local = date_time.naive_local();
            check_year(&local)?;
            Ok(format_internaldate(
                &local,
                date_time.offset().local_minus_utc(),
            ))
        }
        DateTimeArg::Naive(local) => {
            check_year(&local)?;
            let gmtoff = naive_gmtoff(&local)?;
            Ok(format_internaldate(&local, gmtoff))
        }
        DateTimeArg::Quoted(text) => {
            if !text.is_empty() && text.starts_with('"') && text.ends_with('"') {
                Ok(text)
            } else {
                Err(InvalidDateTime::new("date_time not of a known type"))
            }
        }
    }
}

/// Whole seconds of a timestamp as Python's `datetime.fromtimestamp` computes
/// them: the fraction is rounded to microseconds, half to even, and carried.
fn epoch_seconds(secs: f64) -> Result<i64, InvalidDateTime> {
    if secs.is_nan() {
        return Err(InvalidDateTime::new("timestamp is NaN"));
    }
    if !secs.is_finite() {
        return Err(InvalidDateTime::new("timestamp out of range"));
    }
    let mut whole = secs.trunc();
    let micros = ((secs - whole) * 1e6).round_ties_even();
    if micros >= 1e6 {
        whole += 1.0;
    } else if micros < 0.0 {
        whole -= 1.0;
    }
    // Far beyond year 9999 either way; keeps the conversion exact.
    if whole.abs() > 1e15 {
        return Err(InvalidDateTime::new("timestamp out of range"));
    }
    Ok(whole as i64)
}

/// Python's `datetime` supports years 1 to 9999 only.
fn check_year(date_time: &NaiveDateTime) -> Result<(), InvalidDateTime> {
    if (1..=9999).contains(&date_time.year()) {
        Ok(())
    } else {
        Err(InvalidDateTime::new("year is out of range"))
    }
}

/// `strftime('"%d-Mmm-%Y %H:%M:%S %z"')` as CPython 3.11 on glibc does it.
fn format_internaldate(local: &NaiveDateTime, gmtoff: i32) -> String {
    let sign = if gmtoff < 0 { '-' } else { '+' };
    let off = gmtoff.unsigned_abs();
    let (hours, minutes, seconds) = (off / 3600, off / 60 % 60, off % 60);
    let mut zone = format!("{sign}{hours:02}{minutes:02}");
    if seconds != 0 {
        zone.push_str(&format!("{seconds:02}"));
    }
    format!(
        "\"{:02}-{}-{} {:02}:{:02}:{:02} {}\"",
        local.day(),
        MONTHS[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute(),
        local.second(),
        zone
    )
}

/// The local time zone as the C library (glibc) sees it: UTC offsets come
/// from chrono, DST flags from the zone's TZif data (read lazily).
mod localzone;
use localzone::*;

#[cfg(test)]
mod tests;
