//! Typed dates: an ENVELOPE's RFC 5322 `Date:` and FETCH's INTERNALDATE,
//! as [`chrono::DateTime<FixedOffset>`] (the offset the sender or server
//! wrote is kept).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::types::{Envelope, Fetch, FetchItem};

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const DAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];

/// Parses an RFC 5322 date-time (a `Date:` header, an ENVELOPE date),
/// leniently; `None` if it is not one.
///
/// Takes RFC 5322 §3.3 and its obsolete forms (§4.3): the weekday
/// optional (and not checked against the date), comments and extra
/// whitespace anywhere, seconds optional, two-digit years (`< 50` is
/// 20xx, else 19xx) and three-digit ones (+ 1900), named zones (`UT`,
/// `UTC`, `GMT`, `Z`, `EST`/`EDT`, `CST`/`CDT`, `MST`/`MDT`, `PST`/`PDT`;
/// military letters and unknown names count as `-0000`, i.e. UTC, as
/// §4.3 says), a missing zone (UTC), a leap second; also the day after
/// the month (`Jan 2 2006`) and the year after the time (asctime's
/// `Mon Jan  2 15:04:05 2006`), and `-` between day, month and year.
///
/// ```
/// use imap4_proto::parse::parse_rfc5322_date;
///
/// let d = parse_rfc5322_date(b"Sun, 01 Jan 2023 08:00:00 +0000").unwrap();
/// assert_eq!(d.timestamp(), 1_672_560_000);
/// let d = parse_rfc5322_date(b"1 Jan 23 03:00 EST (Eastern)").unwrap();
/// assert_eq!(d.timestamp(), 1_672_560_000);
/// assert_eq!(parse_rfc5322_date(b"yesterday"), None);
/// ```
pub fn parse_rfc5322_date(input: &[u8]) -> Option<DateTime<FixedOffset>> {
    let cleaned = strip_comments(input);
    let mut tokens: Vec<&[u8]> = cleaned
        .split(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b','))
        .filter(|t| !t.is_empty())
        .collect();
    // `1-Jan-2023`: one token for three
    if let Some(pos) = tokens
        .iter()
        .position(|t| t.contains(&b'-') && !t.starts_with(b"-"))
    {
        let parts: Vec<&[u8]> = tokens[pos].split(|&b| b == b'-').collect();
        if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
            tokens.splice(pos..=pos, parts);
        }
    }
    let mut t = tokens.as_slice();
    if let [first, rest @ ..] = t {
        if first.len() >= 3 && DAYS.iter().any(|d| first[..3].eq_ignore_ascii_case(*d)) {
            t = rest;
        }
    }
    let (day, month, mut t) = match t {
        [d, m, rest @ ..] if month_of(m).is_some() => (number(d, 1, 2)?, month_of(m)?, rest),
        [m, d, rest @ ..] if month_of(m).is_some() => (number(d, 1, 2)?, month_of(m)?, rest),
        _ => return None,
    };
    // year then time, or (asctime) time then year
    let (year, time) = match t {
        [y, tm, rest @ ..] if !y.contains(&b':') => {
            t = rest;
            (y, tm)
        }
        [tm, y, rest @ ..] => {
            t = rest;
            (y, tm)
        }
        _ => return None,
    };
    let year = match year.len() {
        2 => 1900 + number(year, 2, 2)? + if number(year, 2, 2)? < 50 { 100 } else { 0 },
        3 => 1900 + number(year, 3, 3)?,
        _ => number(year, 4, 4)?,
    };
    let time = clock(time)?;
    let offset = match t {
        [] => 0,
        [zone, ..] => zone_offset(zone)?,
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    FixedOffset::east_opt(offset)?
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
}

/// Parses an IMAP date-time, INTERNALDATE's `"17-Jul-1996 02:44:25 -0700"`
/// (RFC 3501 `date-time`); the day may be space-padded (` 1-Jan-2023`, as
/// Cyrus sends it) or one digit, the month in any case. `None` if it is
/// not one.
///
/// ```
/// use imap4_proto::parse::parse_internal_date;
///
/// let d = parse_internal_date(b" 1-Jan-2023 09:00:00 +0100").unwrap();
/// assert_eq!(d.timestamp(), 1_672_560_000);
/// assert_eq!(d.offset().local_minus_utc(), 3600);
/// ```
pub fn parse_internal_date(input: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = input.trim_ascii();
    let mut parts = s.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let (date, time, zone) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let mut dmy = date.split(|&b| b == b'-');
    let (d, m, y) = (dmy.next()?, dmy.next()?, dmy.next()?);
    if dmy.next().is_some() || time.len() != 8 || m.len() != 3 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(y, 4, 4)? as i32, month_of(m)?, number(d, 1, 2)?)?;
    let offset = match zone {
        [sign @ (b'+' | b'-'), ..] if zone.len() == 5 => numeric_zone(*sign, &zone[1..])?,
        _ => return None,
    };
    FixedOffset::east_opt(offset)?
        .from_local_datetime(&NaiveDateTime::new(date, clock(time)?))
        .single()
}

/// `input` with (nested, escaped) comments replaced by a space.
fn strip_comments(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for &b in input {
        if depth > 0 {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(b' ');
                    }
                }
                _ => {}
            }
        } else if b == b'(' {
            depth = 1;
        } else {
            out.push(b);
        }
    }
    out
}

/// A month name (its first three letters), 1-12.
fn month_of(t: &[u8]) -> Option<u32> {
    if t.len() < 3 || !t.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| t[..3].eq_ignore_ascii_case(*m))
        .map(|i| i as u32 + 1)
}

/// A decimal number of `min..=max` digits.
fn number(t: &[u8], min: usize, max: usize) -> Option<u32> {
    if t.len() < min || t.len() > max || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(t.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
}

/// `hh:mm[:ss]` (a leap second `:60` kept as chrono's leap second).
fn clock(t: &[u8]) -> Option<NaiveTime> {
    let mut it = t.split(|&b| b == b':');
    let h = number(it.next()?, 1, 2)?;
    let m = number(it.next()?, 2, 2)?;
    let s = match it.next() {
        Some(s) => number(s, 2, 2)?,
        None => 0,
    };
    if it.next().is_some() {
        return None;
    }
    if s == 60 {
        NaiveTime::from_hms_milli_opt(h, m, 59, 1_000)
    } else {
        NaiveTime::from_hms_opt(h, m, s)
    }
}

/// `hhmm` after a sign, to seconds east of UTC.
fn numeric_zone(sign: u8, hhmm: &[u8]) -> Option<i32> {
    let hhmm: Vec<u8> = hhmm.iter().copied().filter(|&b| b != b':').collect();
    let (h, m) = (number(hhmm.get(..2)?, 2, 2)?, number(hhmm.get(2..)?, 2, 2)?);
    if m > 59 {
        return None;
    }
    let secs = (h * 3600 + m * 60) as i32;
    Some(if sign == b'-' { -secs } else { secs })
}

/// An RFC 5322 zone, numeric or named, to seconds east of UTC.
fn zone_offset(zone: &[u8]) -> Option<i32> {
    match zone {
        [sign @ (b'+' | b'-'), rest @ ..] => numeric_zone(*sign, rest),
        _ if zone.iter().all(u8::is_ascii_alphabetic) => {
            let hours = match zone.to_ascii_uppercase().as_slice() {
                b"EDT" => -4,
                b"EST" | b"CDT" => -5,
                b"CST" | b"MDT" => -6,
                b"MST" | b"PDT" => -7,
                b"PST" => -8,
                // UT, UTC, GMT, Z, military zones, unknown names: -0000
                _ => 0,
            };
            Some(hours * 3600)
        }
        _ => None,
    }
}

impl Envelope<'_> {
    /// The `Date:` header as a date-time with its offset, parsed leniently
    /// (see [`parse_rfc5322_date`]); `None` when it is NIL or not a date.
    /// The raw string stays in [`Envelope::date`].
    ///
    /// ```
    /// use imap4_proto::parse::{ByteStr, Envelope};
    ///
    /// let env = Envelope {
    ///     date: Some(ByteStr::borrowed(b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)")),
    ///     ..Envelope::default()
    /// };
    /// let date = env.date_parsed().unwrap();
    /// assert_eq!(date.to_rfc3339(), "1996-07-17T02:23:25-07:00");
    /// ```
    pub fn date_parsed(&self) -> Option<DateTime<FixedOffset>> {
        parse_rfc5322_date(self.date.as_ref()?.as_bytes())
    }
}

impl<'a> Fetch<'a> {
    /// The INTERNALDATE item as sent (`"17-Jul-1996 02:44:25 -0700"`), if
    /// present.
    pub fn internal_date(&self) -> Option<&[u8]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::InternalDate(d) => Some(d.as_bytes()),
            _ => None,
        })
    }

    /// The INTERNALDATE item as a date-time with its offset (see
    /// [`parse_internal_date`]); `None` when absent or not a date-time.
    ///
    /// ```
    /// use imap4_proto::parse::{parse_response, Response, Untagged};
    ///
    /// let r = parse_response(b"* 1 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n").unwrap();
    /// let Response::Data(Untagged::Fetch(f)) = r else { panic!() };
    /// assert_eq!(f.internal_date_parsed().unwrap().timestamp(), 837_596_665);
    /// ```
    pub fn internal_date_parsed(&self) -> Option<DateTime<FixedOffset>> {
        parse_internal_date(self.internal_date()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Option<i64> {
        parse_rfc5322_date(s.as_bytes()).map(|d| d.timestamp())
    }

    const T: i64 = 1_672_560_000; // 2023-01-01T08:00:00Z

    #[test]
    fn rfc5322_forms() {
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00 +0000"), Some(T));
        assert_eq!(ts("Sun, 1 Jan 2023 08:00:00 +0000"), Some(T));
        assert_eq!(ts("01 Jan 2023 08:00:00 +0000"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 09:00:00 +0100"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 03:00:00 -0500"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 08:00 +0000"), Some(T));
        assert_eq!(ts("Sunday, 01 January 2023 08:00:00 +0000"), Some(T));
        assert_eq!(ts("  Sun ,  01   Jan  2023  08:00:00  +0000  "), Some(T));
        assert_eq!(ts("sun, 01 JAN 2023 08:00:00 +0000"), Some(T));
        // named zones
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00 GMT"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00 UT"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00 UTC"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00 Z"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 03:00:00 EST"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 04:00:00 EDT"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 00:00:00 PST"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 01:00:00 PDT"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 02:00:00 CST"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 01:00:00 MST"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00 A"), Some(T));
        assert_eq!(ts("Sun, 01 Jan 2023 08:00:00"), Some(T));
        // comments, the zone name after the offset
        assert_eq!(ts("Sat, 31 Dec 2022 23:00:00 -0900 (AKST)"), Some(T));
        assert_eq!(
            ts("Sun, 01 (a (nested) comment) Jan 2023 08:00:00 +0000"),
            Some(T)
        );
        // two- and three-digit years
        assert_eq!(ts("Sun, 01 Jan 23 08:00:00 +0000"), Some(T));
        assert_eq!(ts("Thu, 01 Jan 70 00:00:00 +0000"), Some(0));
        assert_eq!(ts("Tue, 29 Feb 100 00:00:00 +0000"), Some(951_782_400));
        // the weekday is not checked
        assert_eq!(ts("Mon, 01 Jan 2023 08:00:00 +0000"), Some(T));
        // a leap second
        let leap = parse_rfc5322_date(b"Sat, 31 Dec 2016 23:59:60 +0000").unwrap();
        assert_eq!(leap.timestamp(), 1_483_228_799);
        // asctime, month first, dashes
        assert_eq!(ts("Sun Jan  1 08:00:00 2023"), Some(T));
        assert_eq!(ts("Jan 1 2023 08:00:00 +0000"), Some(T));
        assert_eq!(ts("1-Jan-2023 08:00:00 +0000"), Some(T));
        // the offset is kept
        let d = parse_rfc5322_date(b"Wed, 17 Jul 1996 02:23:25 -0700").unwrap();
        assert_eq!(d.offset().local_minus_utc(), -7 * 3600);
        assert_eq!(d.to_rfc3339(), "1996-07-17T02:23:25-07:00");
    }

    #[test]
    fn rfc5322_invalid() {
        for s in [
            "",
            "   ",
            "yesterday",
            "Sun, 32 Jan 2023 08:00:00 +0000",
            "Sun, 29 Feb 2023 08:00:00 +0000",
            "Sun, 01 Foo 2023 08:00:00 +0000",
            "Sun, 01 Jan 2023 25:00:00 +0000",
            "Sun, 01 Jan 2023 08:61:00 +0000",
            "Sun, 01 Jan 2023 08:00:00 +0075",
            "Sun, 01 Jan 2023 08:00:00 +99",
            "Sun, 01 Jan 2023 08:00:00 +2500",
            "Sun, 01 Jan 2023",
            "Sun, 01 Jan 20233 08:00:00 +0000",
            "Sun, 01 Jan 2023 8h00 +0000",
            "Sun, 01 Jan 2023 08:00:00 +00a0",
            "2023-01-01T08:00:00Z",
            "Sun, 01 Jan 2023 08:00:00:00 +0000",
        ] {
            assert_eq!(ts(s), None, "{s}");
        }
    }

    #[test]
    fn internal_dates() {
        let p = |s: &str| parse_internal_date(s.as_bytes()).map(|d| d.timestamp());
        assert_eq!(p("01-Jan-2023 08:00:00 +0000"), Some(T));
        assert_eq!(p(" 1-Jan-2023 08:00:00 +0000"), Some(T));
        assert_eq!(p("1-Jan-2023 08:00:00 +0000"), Some(T));
        assert_eq!(p("01-jan-2023 09:00:00 +0100"), Some(T));
        assert_eq!(p("31-Dec-2022 23:00:00 -0900"), Some(T));
        assert_eq!(p("17-Jul-1996 02:44:25 -0700"), Some(837_596_665));
        let d = parse_internal_date(b"17-Jul-1996 02:44:25 -0700").unwrap();
        assert_eq!(d.offset().local_minus_utc(), -7 * 3600);
        for s in [
            "",
            "01-Jan-2023",
            "01-Jan-2023 08:00:00",
            "01-Jan-2023 08:00:00 GMT",
            "01-Jan-2023 8:00:00 +0000",
            "32-Jan-2023 08:00:00 +0000",
            "01-Jab-2023 08:00:00 +0000",
            "01-January-2023 08:00:00 +0000",
            "01-Jan-23 08:00:00 +0000",
            "01-Jan-2023 08:00:00 +0000 extra",
            "01/Jan/2023 08:00:00 +0000",
            "01-Jan-2023 08:00:00 +00",
        ] {
            assert_eq!(p(s), None, "{s:?}");
        }
    }

    #[test]
    fn accessors() {
        use crate::parse::{parse_response, ByteStr, Response, Untagged};
        let r = parse_response(
            b"* 3 FETCH (INTERNALDATE \" 1-Jan-2023 08:00:00 +0000\" ENVELOPE (\"Sun, 01 Jan 2023 08:00:00 +0000\" \"=?utf-8?q?caf=C3=A9?=\" ((\"=?iso-8859-2?q?=A3ukasz?=\" NIL \"l\" \"example.com\")) NIL NIL NIL NIL NIL NIL NIL))\r\n",
        )
        .unwrap();
        let Response::Data(Untagged::Fetch(f)) = r else {
            panic!()
        };
        assert_eq!(f.internal_date(), Some(&b" 1-Jan-2023 08:00:00 +0000"[..]));
        assert_eq!(f.internal_date_parsed().map(|d| d.timestamp()), Some(T));
        let env = f.envelope().unwrap();
        assert_eq!(env.date_parsed().map(|d| d.timestamp()), Some(T));
        assert_eq!(env.subject_decoded().as_deref(), Some("café"));
        assert_eq!(env.from[0].name_decoded().as_deref(), Some("Łukasz"));
        let bad = Envelope {
            date: Some(ByteStr::borrowed(b"not a date")),
            ..Envelope::default()
        };
        assert_eq!(bad.date_parsed(), None);
        assert_eq!(Envelope::default().date_parsed(), None);
    }

    proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_rfc5322_date(&input);
            let _ = parse_internal_date(&input);
        }

        #[test]
        fn roundtrip(secs in -2_000_000_000i64..4_000_000_000, off in -86_399i32 / 60..86_399 / 60) {
            let off = FixedOffset::east_opt(off * 60).unwrap();
            let d = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&off);
            let rfc = d.format("%a, %d %b %Y %H:%M:%S %z").to_string();
            prop_assert_eq!(parse_rfc5322_date(rfc.as_bytes()), Some(d));
            let imap = d.format("%e-%b-%Y %H:%M:%S %z").to_string();
            prop_assert_eq!(parse_internal_date(imap.as_bytes()), Some(d));
        }
    }
}
