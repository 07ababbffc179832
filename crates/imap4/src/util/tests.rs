//! Tests of the imaplib utilities, including cross-checks against CPython.
use super::*;
use chrono::{NaiveDate, Utc};
use std::time::Duration;

// ----------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------

fn naive(y: i32, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(hh, mm, ss))
        .expect("valid test date")
}

fn aware(y: i32, m: u32, d: u32, hh: u32, mm: u32, ss: u32, off: i32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(off)
        .expect("valid offset")
        .from_local_datetime(&naive(y, m, d, hh, mm, ss))
        .single()
        .expect("fixed offsets are never ambiguous")
}

fn flags(resp: &[u8]) -> Vec<String> {
    parse_flags(resp)
        .into_iter()
        .map(|f| String::from_utf8_lossy(&f).into_owned())
        .collect()
}

fn internal_ts(resp: &[u8]) -> Option<i64> {
    internaldate2tuple(resp).map(|dt| dt.timestamp())
}

/// splitmix64: a tiny deterministic generator for the fuzz inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ----------------------------------------------------------------------
// int2ap
// ----------------------------------------------------------------------

#[test]
fn int2ap_zero_is_empty() {
    assert_eq!(int2ap(0), b"");
}

#[test]
fn int2ap_single_digits() {
    let letters: Vec<u8> = (1..16).flat_map(int2ap).collect();
    assert_eq!(letters, b"BCDEFGHIJKLMNOP");
}

#[test]
fn int2ap_multi_digit() {
    assert_eq!(int2ap(16), b"BA");
    assert_eq!(int2ap(255), b"PP");
    assert_eq!(int2ap(256), b"BAA");
    assert_eq!(int2ap(0x1234), b"BCDE");
    assert_eq!(int2ap(0xFEDC_BA98_7654_3210), b"PONMLKJIHGFEDCBA");
}

#[test]
fn int2ap_tag_prefix_range() {
    // imaplib's tag prefixes: Int2AP(random.randint(4096, 65535)).
    assert_eq!(int2ap(4096), b"BAAA");
    assert_eq!(int2ap(65535), b"PPPP");
    assert_eq!(int2ap(u64::MAX), b"PPPPPPPPPPPPPPPP");
}

// ----------------------------------------------------------------------
// parse_flags
// ----------------------------------------------------------------------

#[test]
fn parse_flags_basic() {
    assert_eq!(
        flags(br"* 1 FETCH (FLAGS (\Seen \Deleted))"),
        [r"\Seen", r"\Deleted"]
    );
    assert_eq!(flags(br"FLAGS (\Seen)"), [r"\Seen"]);
    assert_eq!(
        flags(br"1 (UID 5 FLAGS (\Seen) RFC822.SIZE 44)"),
        [r"\Seen"]
    );
}

#[test]
fn parse_flags_empty_and_missing() {
    assert!(flags(b"FLAGS ()").is_empty());
    assert!(flags(b"FLAGS (   )").is_empty());
    assert!(flags(b"").is_empty());
    assert!(flags(b"1 (UID 5)").is_empty());
    assert!(flags(b"FLAGS(\\Seen)").is_empty(), "the space is required");
    assert!(flags(b"flags (\\Seen)").is_empty(), "case sensitive");
    assert!(flags(b"FLAGS (\\Seen").is_empty(), "closing paren required");
}

#[test]
fn parse_flags_greedy_takes_last_occurrence() {
    assert_eq!(flags(b"FLAGS (a) FLAGS (b)"), ["b"]);
    assert_eq!(flags(b"FLAGS (a) x FLAGS (b c) y"), ["b", "c"]);
}

#[test]
fn parse_flags_backtracks_when_last_occurrence_is_unclosed() {
    assert_eq!(flags(b"x FLAGS (a b) y FLAGS (c"), ["a", "b"]);
    // An earlier occurrence's flags run up to the first `)` after it.
    assert_eq!(flags(b"FLAGS (a FLAGS (b"), Vec::<String>::new());
    assert_eq!(flags(b"FLAGS (a FLAGS (b)"), ["b"]);
    assert_eq!(flags(b"FLAGS (a FLAGS (b) FLAGS (c"), ["b"]);
}

#[test]
fn parse_flags_flags_end_at_first_close_paren() {
    assert_eq!(flags(b"FLAGS (a (b) c)"), ["a", "(b"]);
    assert_eq!(flags(b"FLAGS ((x))"), ["(x"]);
}

#[test]
fn parse_flags_newline_rules() {
    // `.` does not match `\n`: FLAGS must be on the first line...
    assert!(flags(b"x\nFLAGS (a)").is_empty());
    assert!(flags(b"\nFLAGS (a)").is_empty());
    // ...but the flags themselves may span lines,
    assert_eq!(flags(b"FLAGS (a\nb)"), ["a", "b"]);
    assert_eq!(flags(b"FLAGS (a\n) FLAGS (b)\n"), ["a"]);
    assert_eq!(flags(b"FLAGS (a) FLAGS (b\n)"), ["b"]);
    // and the first line may end anywhere after FLAGS (.
    assert_eq!(flags(b"FLAGS (a\nFLAGS (b)"), ["a", "FLAGS", "(b"]);
    // `\r` is an ordinary byte for `.`.
    assert_eq!(flags(b"x\rFLAGS (a)"), ["a"]);
}

#[test]
fn parse_flags_splits_on_python_whitespace() {
    assert_eq!(
        flags(b"FLAGS ( a\tb\nc\rd\x0be\x0cf  )"),
        ["a", "b", "c", "d", "e", "f"]
    );
    // Non-ASCII and control bytes other than whitespace are kept.
    assert_eq!(
        parse_flags(b"FLAGS (\x00a \xff\x1cb)"),
        vec![b"\x00a".to_vec(), b"\xff\x1cb".to_vec()]
    );
}

// ----------------------------------------------------------------------
// internaldate2tuple (compared as UTC instants: independent of TZ)
// ----------------------------------------------------------------------

#[test]
fn internaldate2tuple_basic() {
    let resp = br#"25 (INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 44)"#;
    assert_eq!(internal_ts(resp), Some(837_596_665));
    assert_eq!(
        internal_ts(br#"INTERNALDATE "01-Jan-1970 00:00:00 +0000""#),
        Some(0)
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE "01-Jan-2000 05:30:00 +0530""#),
        Some(946_684_800)
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE "31-Dec-1999 19:00:00 -0500""#),
        Some(946_684_800)
    );
}

#[test]
fn internaldate2tuple_result_is_local_time() {
    let dt = internaldate2tuple(br#"INTERNALDATE "17-Jul-1996 02:44:25 -0700""#).unwrap();
    let expected = Local.timestamp_opt(837_596_665, 0).unwrap();
    assert_eq!(dt, expected);
    assert_eq!(dt.offset(), expected.offset());
}

#[test]
fn internaldate2tuple_space_padded_day() {
    assert_eq!(
        internal_ts(br#"INTERNALDATE " 1-Jan-2000 00:00:00 +0000""#),
        Some(946_684_800)
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE " 0-Jan-2000 00:00:00 +0000""#),
        Some(946_684_800 - 86_400)
    );
}

#[test]
fn internaldate2tuple_out_of_range_fields_are_carried() {
    // Like calendar.timegm: no validation, plain arithmetic.
    assert_eq!(
        internal_ts(br#"INTERNALDATE " 1-Jan-2000 99:99:99 +9999""#),
        Some(946_684_800 + 99)
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE "39-Feb-2001 24:00:00 -0000""#),
        internal_ts(br#"INTERNALDATE "12-Mar-2001 00:00:00 +0000""#)
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE "31-Dec-9999 23:59:59 -9999""#),
        Some(253_402_300_799 + 99 * 3600 + 99 * 60)
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE "01-Jan-0001 00:00:00 +2359""#),
        Some(-62_135_596_800 - 23 * 3600 - 59 * 60)
    );
}

#[test]
fn internaldate2tuple_rejects_malformed() {
    for resp in [
        &b""[..],
        br#"INTERNALDATE "17-Jul-1996 02:44:25 -0700"#, // no closing quote
        br#"INTERNALDATE "17-jul-1996 02:44:25 -0700""#,
        br#"INTERNALDATE "17-JUL-1996 02:44:25 -0700""#,
        br#"INTERNALDATE "7-Jul-1996 02:44:25 -0700""#,
        br#"INTERNALDATE "47-Jul-1996 02:44:25 -0700""#,
        br#"INTERNALDATE "17-Jul-96 02:44:25 -0700""#,
        br#"INTERNALDATE "17-Jul-1996 2:44:25 -0700""#,
        br#"INTERNALDATE "17-Jul-1996 02:44:25 0700""#,
        br#"INTERNALDATE "17-Jul-1996 02:44:25 -07:00""#,
        br#"INTERNALDATE  "17-Jul-1996 02:44:25 -0700""#,
        br#"internaldate "17-Jul-1996 02:44:25 -0700""#,
        b"INTERNALDATE 17-Jul-1996 02:44:25 -0700",
    ] {
        assert_eq!(internal_ts(resp), None, "{}", String::from_utf8_lossy(resp));
    }
}

#[test]
fn internaldate2tuple_unknown_month_or_year_zero_is_none() {
    // imaplib raises KeyError / ValueError here.
    assert_eq!(
        internal_ts(br#"INTERNALDATE "17-Foo-1996 02:44:25 -0700""#),
        None
    );
    assert_eq!(
        internal_ts(br#"INTERNALDATE "01-Jan-0000 00:00:00 +0000""#),
        None
    );
}

#[test]
fn internaldate2tuple_greedy_last_match_on_first_line() {
    let two =
        br#"INTERNALDATE "01-Jan-2000 00:00:00 +0000" INTERNALDATE "02-Jan-2000 00:00:00 +0000""#;
    assert_eq!(internal_ts(two), Some(946_684_800 + 86_400));
    // A later malformed occurrence makes the match back up.
    let bad_last = br#"INTERNALDATE "01-Jan-2000 00:00:00 +0000" INTERNALDATE "02-Jan-2000""#;
    assert_eq!(internal_ts(bad_last), Some(946_684_800));
    // The last occurrence with a bad month does not back up (imaplib: KeyError).
    let bad_month =
        br#"INTERNALDATE "01-Jan-2000 00:00:00 +0000" INTERNALDATE "02-Foo-2000 00:00:00 +0000""#;
    assert_eq!(internal_ts(bad_month), None);
    // Only the first line is searched.
    assert_eq!(
        internal_ts(b"x\nINTERNALDATE \"01-Jan-2000 00:00:00 +0000\""),
        None
    );
    assert_eq!(
        internal_ts(b"INTERNALDATE \"01-Jan-2000 00:00:00 +0000\"\nINTERNALDATE \"02-Jan-2000 00:00:00 +0000\""),
        Some(946_684_800)
    );
    assert_eq!(
        internal_ts(b"\rINTERNALDATE \"01-Jan-2000 00:00:00 +0000\"\r\n"),
        Some(946_684_800)
    );
}

// ----------------------------------------------------------------------
// time2internaldate (TZ-independent checks)
// ----------------------------------------------------------------------

#[test]
fn time2internaldate_aware() {
    let cases = [
        (
            aware(1996, 7, 17, 2, 44, 25, -7 * 3600),
            "\"17-Jul-1996 02:44:25 -0700\"",
        ),
        (
            aware(2000, 1, 1, 0, 0, 0, 0),
            "\"01-Jan-2000 00:00:00 +0000\"",
        ),
        (
            aware(2024, 12, 31, 23, 59, 59, 19_800),
            "\"31-Dec-2024 23:59:59 +0530\"",
        ),
        (
            aware(2024, 2, 29, 12, 0, 0, 14 * 3600),
            "\"29-Feb-2024 12:00:00 +1400\"",
        ),
        (
            aware(2024, 3, 9, 1, 2, 3, -(12 * 3600 + 45 * 60)),
            "\"09-Mar-2024 01:02:03 -1245\"",
        ),
        (
            aware(1850, 1, 1, 0, 0, 0, -17_762),
            "\"01-Jan-1850 00:00:00 -045602\"",
        ),
        (
            aware(1900, 5, 5, 0, 0, 0, 1),
            "\"05-May-1900 00:00:00 +000001\"",
        ),
        (
            aware(1900, 5, 5, 0, 0, 0, 86_399),
            "\"05-May-1900 00:00:00 +235959\"",
        ),
        (
            aware(1900, 5, 5, 0, 0, 0, -86_399),
            "\"05-May-1900 00:00:00 -235959\"",
        ),
    ];
    for (dt, want) in cases {
        assert_eq!(time2internaldate(dt).unwrap(), want, "{dt:?}");
    }
}

#[test]
fn time2internaldate_all_month_names() {
    let names: Vec<String> = (1..=12)
        .map(|m| {
            let s = time2internaldate(aware(2001, m, 1, 0, 0, 0, 0)).unwrap();
            s[4..7].to_owned()
        })
        .collect();
    assert_eq!(names, MONTHS);
}

#[test]
fn time2internaldate_year_is_not_padded() {
    // CPython 3.11 on glibc: '%Y' of year 5 is '5'.
    assert_eq!(
        time2internaldate(aware(5, 3, 1, 1, 2, 3, 0)).unwrap(),
        "\"01-Mar-5 01:02:03 +0000\""
    );
    assert_eq!(
        time2internaldate(aware(999, 3, 1, 1, 2, 3, 0)).unwrap(),
        "\"01-Mar-999 01:02:03 +0000\""
    );
    assert_eq!(
        time2internaldate(aware(9999, 12, 31, 23, 59, 59, 0)).unwrap(),
        "\"31-Dec-9999 23:59:59 +0000\""
    );
}

#[test]
fn time2internaldate_aware_out_of_python_range() {
    let zone = FixedOffset::east_opt(0).unwrap();
    let y10000 = zone.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
    let y0 = zone.with_ymd_and_hms(0, 12, 31, 23, 59, 59).unwrap();
    assert!(time2internaldate(y10000).is_err());
    assert!(time2internaldate(y0).is_err());
}

#[test]
fn time2internaldate_other_time_zone_types() {
    let utc = Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).unwrap();
    assert_eq!(
        time2internaldate(utc).unwrap(),
        "\"01-Jul-2024 12:00:00 +0000\""
    );
    // DateTime<Local> keeps its own offset.
    let local = Local.timestamp_opt(1_719_835_200, 0).unwrap();
    let s = time2internaldate(local).unwrap();
    assert_eq!(
        internal_ts(format!("INTERNALDATE {s}").as_bytes()),
        Some(1_719_835_200)
    );
}

#[test]
fn time2internaldate_quoted_strings() {
    let s = "\"17-Jul-1996 02:44:25 -0700\"";
    assert_eq!(time2internaldate(s).unwrap(), s);
    assert_eq!(time2internaldate(s.to_owned()).unwrap(), s);
    // Anything quoted is passed through, even a lone quote (as imaplib).
    assert_eq!(time2internaldate("\"").unwrap(), "\"");
    assert_eq!(time2internaldate("\"\"").unwrap(), "\"\"");
    assert_eq!(time2internaldate("\"garbage\"").unwrap(), "\"garbage\"");
    for bad in [
        "",
        "17-Jul-1996 02:44:25 -0700",
        "\"abc",
        "abc\"",
        " \"x\"",
        "\"x\" ",
    ] {
        let err = time2internaldate(bad).unwrap_err();
        assert_eq!(err.reason(), "date_time not of a known type", "{bad:?}");
    }
}

#[test]
fn time2internaldate_epoch_round_trips_through_internaldate2tuple() {
    let mut rng = Rng(7);
    let mut stamps: Vec<i64> = vec![0, -1, 1, 1_700_000_000, -2_208_988_800, 4_102_444_800];
    stamps.extend((0..500).map(|_| rng.below(6_000_000_000) as i64 - 2_000_000_000));
    for t in stamps {
        let s = time2internaldate(t).unwrap();
        let resp = format!("INTERNALDATE {s}");
        if s.len() == 30 {
            // An offset with seconds (local mean time, `+052110`), which
            // INTERNALDATE cannot express (nor imaplib's pattern match).
            assert_eq!(internal_ts(resp.as_bytes()), None);
            continue;
        }
        assert_eq!(s.len(), 28, "{s}");
        assert_eq!(internal_ts(resp.as_bytes()), Some(t), "{t} -> {s}");
    }
}

#[test]
fn time2internaldate_epoch_agrees_with_chrono_local() {
    for t in [
        0i64,
        951_782_400,
        1_710_054_000,
        1_730_613_600,
        1_999_999_999,
    ] {
        let local = Local.timestamp_opt(t, 0).unwrap();
        let expected = format_internaldate(&local.naive_local(), local.offset().local_minus_utc());
        assert_eq!(time2internaldate(t).unwrap(), expected);
        assert_eq!(time2internaldate(local).unwrap(), expected);
    }
}

#[test]
fn time2internaldate_epoch_number_types_agree() {
    let t = 1_700_000_000;
    let want = time2internaldate(f64::from(t)).unwrap();
    assert_eq!(time2internaldate(t).unwrap(), want);
    assert_eq!(time2internaldate(t as u32).unwrap(), want);
    assert_eq!(time2internaldate(i64::from(t)).unwrap(), want);
    assert_eq!(time2internaldate(t as u64).unwrap(), want);
    let system = UNIX_EPOCH + Duration::from_secs(t as u64);
    assert_eq!(time2internaldate(system).unwrap(), want);
    let before_epoch = UNIX_EPOCH - Duration::from_millis(1500);
    assert_eq!(
        time2internaldate(before_epoch).unwrap(),
        time2internaldate(-2).unwrap()
    );
}

#[test]
fn time2internaldate_epoch_fraction_rounding() {
    let same = |a: f64, b: i64| {
        assert_eq!(
            time2internaldate(a).unwrap(),
            time2internaldate(b).unwrap(),
            "{a} should format like {b}"
        );
    };
    same(0.5, 0);
    same(0.999_999, 0);
    same(0.999_999_6, 1); // rounds to a whole microsecond first
    same(-0.5, -1);
    same(-0.000_000_4, 0); // rounds to -0.0 microseconds
    same(-0.000_000_6, -1);
    same(-1.999_999_6, -2);
    same(1_700_000_000.999_999_7, 1_700_000_001);
    same(1_700_000_000.25, 1_700_000_000);
}

#[test]
fn epoch_seconds_matches_python_rounding() {
    assert_eq!(epoch_seconds(0.0), Ok(0));
    assert_eq!(epoch_seconds(-0.0), Ok(0));
    assert_eq!(epoch_seconds(2.5), Ok(2));
    assert_eq!(epoch_seconds(-2.5), Ok(-3));
    assert_eq!(epoch_seconds(0.000_000_5), Ok(0)); // 0.5 us: half to even
    assert_eq!(epoch_seconds(-0.000_000_5), Ok(0));
    assert_eq!(epoch_seconds(0.999_999_5), Ok(1)); // 999999.5 us -> 1000000
    assert_eq!(epoch_seconds(1e15), Ok(1_000_000_000_000_000));
    assert!(epoch_seconds(1e16).is_err());
}

#[test]
fn time2internaldate_epoch_errors() {
    assert_eq!(
        time2internaldate(f64::NAN).unwrap_err().reason(),
        "timestamp is NaN"
    );
    assert!(time2internaldate(f64::INFINITY).is_err());
    assert!(time2internaldate(f64::NEG_INFINITY).is_err());
    assert!(time2internaldate(1e20).is_err());
    assert!(time2internaldate(i64::MAX).is_err());
    assert!(time2internaldate(i64::MIN).is_err());
    assert!(time2internaldate(u64::MAX).is_err());
    // Python's datetime: years 1..=9999 in UTC.
    assert!(time2internaldate(253_402_300_800_i64).is_err());
    assert!(time2internaldate(-62_135_596_801_i64).is_err());
}

#[test]
fn time2internaldate_naive_basic_properties() {
    let s = time2internaldate(naive(2024, 1, 15, 12, 0, 0)).unwrap();
    assert!(s.starts_with("\"15-Jan-2024 12:00:00 "), "{s}");
    assert_eq!(s.len(), 28);
    let s = time2internaldate(naive(7, 7, 7, 7, 7, 7)).unwrap();
    assert!(s.starts_with("\"07-Jul-7 07:07:07 "), "{s}");
    // Sub-second precision is ignored, as a 9-tuple has none.
    let with_nanos = naive(2024, 1, 15, 12, 0, 0)
        .with_nanosecond(999_999_999)
        .unwrap();
    assert_eq!(
        time2internaldate(with_nanos).unwrap(),
        time2internaldate(naive(2024, 1, 15, 12, 0, 0)).unwrap()
    );
    assert!(time2internaldate(naive(10000, 1, 1, 0, 0, 0)).is_err());
    assert!(time2internaldate(naive(0, 12, 31, 0, 0, 0)).is_err());
}

#[test]
fn from_impls() {
    assert_eq!(DateTimeArg::from(-5_i32), DateTimeArg::Epoch(-5.0));
    assert_eq!(DateTimeArg::from(5_u32), DateTimeArg::Epoch(5.0));
    assert_eq!(DateTimeArg::from(-5_i64), DateTimeArg::Epoch(-5.0));
    assert_eq!(DateTimeArg::from(5_u64), DateTimeArg::Epoch(5.0));
    assert_eq!(DateTimeArg::from(1.25), DateTimeArg::Epoch(1.25));
    assert_eq!(
        DateTimeArg::from(UNIX_EPOCH + Duration::from_millis(1500)),
        DateTimeArg::Epoch(1.5)
    );
    assert_eq!(
        DateTimeArg::from(UNIX_EPOCH - Duration::from_millis(1500)),
        DateTimeArg::Epoch(-1.5)
    );
    let utc = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(
        DateTimeArg::from(utc),
        DateTimeArg::Aware(aware(2024, 1, 1, 0, 0, 0, 0))
    );
    let fixed = aware(2024, 1, 1, 0, 0, 0, 3600);
    assert_eq!(DateTimeArg::from(fixed), DateTimeArg::Aware(fixed));
    let n = naive(2024, 1, 1, 0, 0, 0);
    assert_eq!(DateTimeArg::from(n), DateTimeArg::Naive(n));
    assert_eq!(
        DateTimeArg::from("\"x\""),
        DateTimeArg::Quoted("\"x\"".into())
    );
    assert_eq!(
        DateTimeArg::from(String::from("\"x\"")),
        DateTimeArg::Quoted("\"x\"".into())
    );
}

#[test]
fn invalid_date_time_is_an_error_type() {
    let err = time2internaldate("nope").unwrap_err();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err.clone());
    assert_eq!(
        boxed.to_string(),
        "invalid date_time: date_time not of a known type"
    );
    assert_eq!(err.reason(), "date_time not of a known type");
    assert!(format!("{err:?}").contains("InvalidDateTime"));
}

// ----------------------------------------------------------------------
// Time-zone helpers (glibc's view of the local zone)
// ----------------------------------------------------------------------

#[test]
fn glibc_mktime_converges_over_the_whole_year_range() {
    // Whatever the process TZ, probes converge within the probe budget.
    let zone = LocalZone::new();
    for n in [
        naive(2024, 1, 15, 12, 0, 0),
        naive(1, 1, 1, 0, 0, 0),
        naive(9999, 12, 31, 23, 59, 59),
    ] {
        let t = glibc_mktime(&n, &zone, 0).unwrap();
        let gmtoff = zone.gmtoff(t).unwrap();
        let back = DateTime::from_timestamp(t + i64::from(gmtoff), 0)
            .unwrap()
            .naive_utc();
        // Equal unless `n` falls in a gap of the process's zone.
        assert!((back - n).num_seconds().abs() <= 3 * 3600, "{n} -> {back}");
    }
}

// ----------------------------------------------------------------------
// Cross-checks against CPython's imaplib (the reference implementation).
// The behaviour reproduced is CPython's on Linux with glibc.
// ----------------------------------------------------------------------

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod cpython {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn hex(data: &[u8]) -> String {
        data.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn pick<'a>(rng: &mut Rng, items: &[&'a [u8]]) -> &'a [u8] {
        items[rng.below(items.len() as u64) as usize]
    }

    /// The interpreter used for the cross-checks; `IMAP4_TEST_PYTHON`
    /// overrides it.
    fn python_program() -> String {
        std::env::var("IMAP4_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
    }

    /// Stands for "no `TZ` in the environment" in [`CROSS_CHECK_ZONES`].
    const TZ_UNSET: &str = "<unset>";

    fn set_tz(command: &mut Command, tz: &str) {
        if tz == TZ_UNSET {
            command.env_remove("TZ");
        } else {
            command.env("TZ", tz);
        }
    }

    /// Runs `script` with CPython with `TZ` set, feeding `input` on stdin, and
    /// returns its output lines. Panics (failing the test) if Python is
    /// missing or fails: these checks must never pass silently.
    fn run_python(script: &str, tz: &str, input: String) -> Vec<String> {
        let program = python_program();
        let mut command = Command::new(&program);
        set_tz(&mut command, tz);
        let mut child = command
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `{program}`: {e}. These tests compare against CPython's \
                     imaplib and need a python3 on PATH (or IMAP4_TEST_PYTHON)."
                )
            });
        let mut stdin = child.stdin.take().expect("piped stdin");
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().expect("wait for python3");
        let written = writer.join().expect("stdin writer thread");
        assert!(
            output.status.success(),
            "`{program}` failed (TZ={tz}): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        written.expect("write to python3");
        String::from_utf8(output.stdout)
            .expect("python3 output is UTF-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Compares answers line by line; describes the first mismatches.
    fn compare_answers(
        what: &str,
        inputs: &[String],
        rust: &[String],
        python: &[String],
    ) -> Option<String> {
        if rust.len() != inputs.len() || python.len() != inputs.len() {
            return Some(format!(
                "{what}: {} inputs, but {} Rust and {} python3 answers",
                inputs.len(),
                rust.len(),
                python.len()
            ));
        }
        let mismatches: Vec<String> = inputs
            .iter()
            .zip(rust.iter().zip(python))
            .filter(|(_, (r, p))| !answers_agree(r, p))
            .map(|(i, (r, p))| format!("  input {i:?}\n    rust:   {r}\n    python: {p}"))
            .collect();
        (!mismatches.is_empty()).then(|| {
            format!(
                "{what}: {} of {} answers differ from CPython, e.g.:\n{}",
                mismatches.len(),
                inputs.len(),
                mismatches
                    .iter()
                    .take(20)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }

    /// `ERR` (Rust error) matches any Python exception; `NONE` (Rust `None`
    /// from internaldate2tuple) also matches the documented KeyError and
    /// ValueError cases.
    fn answers_agree(rust: &str, python: &str) -> bool {
        rust == python
            || (rust == "ERR" && python.starts_with("ERR "))
            || (rust == "NONE" && (python == "ERR KeyError" || python == "ERR ValueError"))
    }

    fn t2i_answer(result: Result<String, InvalidDateTime>) -> String {
        result.unwrap_or_else(|_| "ERR".to_owned())
    }

    fn tuple_answer(result: Option<DateTime<Local>>) -> String {
        match result {
            None => "NONE".to_owned(),
            Some(dt) => format!(
                "{} {} {} {} {} {} {}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.offset().local_minus_utc()
            ),
        }
    }

    /// Python side of the cross-checks: one answer line per input line.
    /// Ambiguous naive times are converted first, each in a child forked
    /// while glibc's `mktime` is still in its initial state (see
    /// `time2internaldate`: for them the answer depends on the previous call).
    const PYTHON_SCRIPT: &str = r#"
import calendar, datetime, imaplib, os, sys, time

def t2i(value):
    try:
        return imaplib.Time2Internaldate(value)
    except Exception as e:
        return 'ERR ' + type(e).__name__

def fresh(func, *args):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, func(*args).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return b''.join(chunks).decode()

def ambiguous(tt):
    # imaplib calls mktime only if time.daylight; glibc's answer depends on
    # its previous call only for ambiguous (repeated) local times. Detected
    # with localtime only, so that the mktime state stays untouched.
    if not time.daylight:
        return False
    try:
        base = calendar.timegm(tt)
        offsets = {time.localtime(base + k * 43200).tm_gmtoff for k in range(-4, 5)}
        hits = {base - o for o in offsets if time.localtime(base - o)[:6] == tt[:6]}
        return len(hits) > 1
    except (OverflowError, ValueError, OSError):
        return True

def answer(kind, arg):
    if kind == 'E':
        return t2i(float(arg))
    if kind == 'J':
        return t2i(int(arg))
    if kind == 'N':
        y, m, d, hh, mm, ss = map(int, arg.split())
        return t2i((y, m, d, hh, mm, ss, 0, 1, -1))
    if kind == 'A':
        y, m, d, hh, mm, ss, off = map(int, arg.split())
        tz = datetime.timezone(datetime.timedelta(seconds=off))
        return t2i(datetime.datetime(y, m, d, hh, mm, ss, tzinfo=tz))
    if kind == 'Q':
        return t2i(bytes.fromhex(arg).decode())
    if kind == 'D':
        try:
            tt = imaplib.Internaldate2tuple(bytes.fromhex(arg))
        except Exception as e:
            return 'ERR ' + type(e).__name__
        if tt is None:
            return 'NONE'
        return '%d %d %d %d %d %d %d' % (tt.tm_year, tt.tm_mon, tt.tm_mday,
                                         tt.tm_hour, tt.tm_min, tt.tm_sec, tt.tm_gmtoff)
    if kind == 'U':
        try:
            tt = imaplib.Internaldate2tuple(bytes.fromhex(arg))
        except Exception as e:
            return 'ERR ' + type(e).__name__
        return 'NONE' if tt is None else str(calendar.timegm(tt))
    if kind == 'F':
        return ','.join(f.hex() for f in imaplib.ParseFlags(bytes.fromhex(arg)))
    if kind == 'P':
        return imaplib.Int2AP(int(arg)).decode()
    raise ValueError('unknown input kind %r' % kind)

inputs = [line.rstrip('\n').partition(' ')[::2] for line in sys.stdin]
out = [None] * len(inputs)
# First the ambiguous naive times, each in a child forked before this
# process has ever called mktime; then everything else.
for i, (kind, arg) in enumerate(inputs):
    if kind == 'N':
        tt = tuple(map(int, arg.split())) + (0, 1, -1)
        if ambiguous(tt):
            out[i] = fresh(answer, kind, arg)
for i, (kind, arg) in enumerate(inputs):
    if out[i] is None:
        out[i] = answer(kind, arg)
sys.stdout.write(''.join(a + '\n' for a in out))
"#;

    /// The Rust answer for one input line (same format as `PYTHON_SCRIPT`).
    fn rust_answer(line: &str) -> String {
        let (kind, arg) = line.split_once(' ').unwrap_or((line, ""));
        let ints = || -> Vec<i64> { arg.split(' ').map(|v| v.parse().expect("int")).collect() };
        let bytes = || -> Vec<u8> {
            (0..arg.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&arg[i..i + 2], 16).expect("hex"))
                .collect()
        };
        match kind {
            "E" => t2i_answer(time2internaldate(arg.parse::<f64>().expect("float"))),
            "J" => t2i_answer(time2internaldate(arg.parse::<i64>().expect("int"))),
            "N" => {
                let v = ints();
                let n = naive(
                    v[0] as i32,
                    v[1] as u32,
                    v[2] as u32,
                    v[3] as u32,
                    v[4] as u32,
                    v[5] as u32,
                );
                t2i_answer(time2internaldate(n))
            }
            "A" => {
                let v = ints();
                let dt = aware(
                    v[0] as i32,
                    v[1] as u32,
                    v[2] as u32,
                    v[3] as u32,
                    v[4] as u32,
                    v[5] as u32,
                    v[6] as i32,
                );
                t2i_answer(time2internaldate(dt))
            }
            "Q" => t2i_answer(time2internaldate(
                String::from_utf8(bytes()).expect("utf-8"),
            )),
            "D" => tuple_answer(internaldate2tuple(&bytes())),
            "U" => internal_ts(&bytes()).map_or_else(|| "NONE".to_owned(), |t| t.to_string()),
            "F" => parse_flags(&bytes())
                .iter()
                .map(|f| hex(f))
                .collect::<Vec<_>>()
                .join(","),
            "P" => String::from_utf8(int2ap(arg.parse().expect("u64"))).expect("ASCII"),
            _ => panic!("unknown input kind {kind:?}"),
        }
    }

    fn epoch_line(t: i64) -> String {
        format!("J {t}")
    }

    fn naive_line(n: &NaiveDateTime) -> String {
        format!(
            "N {} {} {} {} {} {}",
            n.year(),
            n.month(),
            n.day(),
            n.hour(),
            n.minute(),
            n.second()
        )
    }

    /// An `INTERNALDATE` response for UTC time `t` written with UTC offset
    /// `zone` (seconds), or `None` outside years 1..=9999.
    fn internaldate_line(t: i64, zone: i32, space_pad: bool) -> Option<String> {
        let wall = DateTime::from_timestamp(t + i64::from(zone), 0)?.naive_utc();
        if !(1..=9999).contains(&wall.year()) {
            return None;
        }
        let day = if space_pad {
            format!("{:2}", wall.day())
        } else {
            format!("{:02}", wall.day())
        };
        let z = zone.unsigned_abs();
        let resp = format!(
            "* 1 FETCH (UID 3 INTERNALDATE \"{day}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\" FLAGS ())",
            MONTHS[wall.month0() as usize],
            wall.year(),
            wall.hour(),
            wall.minute(),
            wall.second(),
            if zone < 0 { '-' } else { '+' },
            z / 3600,
            z / 60 % 60
        );
        Some(format!("D {}", hex(resp.as_bytes())))
    }

    /// Inputs for the time-zone cross-check: the same for every zone.
    fn tz_inputs() -> Vec<String> {
        let mut lines = Vec::new();
        let utc = |y, m, d, hh, mm| naive(y, m, d, hh, mm, 0).and_utc().timestamp();
        // Instants of DST transitions in the zones tested (and in nearby ones).
        let transitions = [
            utc(2024, 3, 10, 7, 0),   // America/New_York, EST5EDT
            utc(2024, 11, 3, 6, 0),   // America/New_York, EST5EDT
            utc(2024, 3, 10, 5, 30),  // America/St_Johns
            utc(2024, 11, 3, 4, 30),  // America/St_Johns
            utc(2024, 3, 31, 1, 0),   // European Union, Europe/London
            utc(2024, 10, 27, 1, 0),  // European Union, Europe/London
            utc(2024, 4, 6, 16, 0),   // Australia/Sydney
            utc(2024, 10, 5, 16, 0),  // Australia/Sydney
            utc(2024, 4, 6, 15, 0),   // Australia/Lord_Howe
            utc(2024, 10, 5, 15, 30), // Australia/Lord_Howe
            utc(2018, 2, 18, 2, 0),   // America/Sao_Paulo
            utc(2018, 11, 4, 3, 0),   // America/Sao_Paulo
            utc(2050, 3, 13, 7, 0),   // America/New_York, from the TZ rule
            utc(2050, 11, 6, 6, 0),   // America/New_York, from the TZ rule
            utc(1943, 1, 1, 0, 0),    // war time
            utc(1883, 11, 18, 17, 0), // America/New_York: LMT -> EST
        ];
        let mut sweep = Vec::new();
        for &base in &transitions {
            for k in -8..=8 {
                let t = base + k * 900;
                sweep.extend([t - 1, t]);
            }
        }
        // 1800..2100 every ~27 days, then years 1..9999 every ~2.5 years.
        sweep.extend((-5_364_662_400..4_102_444_800).step_by(2_345_678));
        sweep.extend((-62_135_596_800..253_402_300_800).step_by(77_777_777));
        // The ends of Python's datetime range, in UTC.
        for t in [-62_135_596_800_i64, 253_402_300_799] {
            sweep.extend([
                t - 86_400,
                t - 50_000,
                t - 1,
                t,
                t + 1,
                t + 50_000,
                t + 86_400,
            ]);
        }
        lines.extend(sweep.iter().map(|&t| epoch_line(t)));
        // Fractional, non-finite and huge timestamps.
        for f in [
            "0.5",
            "0.9999994",
            "0.9999995",
            "0.9999996",
            "1.0000005",
            "1.4999995",
            "-0.5",
            "-0.0000004",
            "-0.0000005",
            "-0.0000006",
            "-1.0000005",
            "-1.9999996",
            "1e-07",
            "-1e-07",
            "1714000000.9999996",
            "1714000000.25",
            "-0.0",
            "nan",
            "inf",
            "-inf",
            "1e20",
            "-1e20",
            "9.223372036854776e18",
            "253402300799.9999995",
            "-62135596800.0000005",
        ] {
            lines.push(format!("E {f}"));
        }
        for i in [i64::MAX, i64::MIN, 1 << 31, -(1 << 31)] {
            lines.push(epoch_line(i));
        }
        // Naive local times: every 15 minutes (and a second before each
        // full hour) around midnight and in the small hours of
        // DST-transition days, plus a sweep over the years.
        let days = [
            (2024, 3, 10),
            (2024, 11, 3),
            (2024, 3, 31),
            (2024, 10, 27),
            (2024, 4, 7),
            (2024, 10, 6),
            (2018, 2, 17),
            (2018, 11, 4),
            (2050, 3, 13),
            (2050, 11, 6),
            (1944, 4, 2),
            (1918, 3, 31),
            (1883, 11, 18),
        ];
        for (y, m, d) in days {
            for hh in [0, 1, 2, 3, 22, 23] {
                for mm in [0, 15, 30, 45] {
                    lines.push(naive_line(&naive(y, m, d, hh, mm, 0)));
                }
                lines.push(naive_line(&naive(y, m, d, hh, 59, 59)));
            }
            lines.push(naive_line(&naive(y, m, d, 12, 0, 0)));
        }
        let mut years: Vec<i32> = vec![1, 2, 100, 999, 1000, 1600, 2500, 5000, 9998, 9999];
        years.extend((1800..=2100).step_by(7));
        for y in years {
            for m in [1, 4, 7, 10] {
                lines.push(naive_line(&naive(y, m, 15, 12, 0, 0)));
            }
        }
        lines.push(naive_line(&naive(1, 1, 1, 0, 0, 0)));
        lines.push(naive_line(&naive(9999, 12, 31, 23, 59, 59)));
        // INTERNALDATE responses near the same instants, in several zones.
        let zones = [
            0,
            -5 * 3600,
            19_800,
            14 * 3600,
            -12 * 3600,
            99 * 3600 + 99 * 60,
        ];
        for (i, &t) in sweep.iter().enumerate() {
            for (j, &zone) in zones.iter().enumerate() {
                if (i + j) % 7 == 0 {
                    lines.extend(internaldate_line(t, zone, (i + j) % 2 == 0));
                }
            }
        }
        for resp in [
            &br#"INTERNALDATE " 0-Jan-2000 99:99:99 +9999""#[..],
            br#"INTERNALDATE "39-Feb-2000 24:00:00 -9999""#,
            br#"INTERNALDATE "31-Dec-9999 23:59:59 -2359""#,
            br#"INTERNALDATE "01-Jan-0001 00:00:00 +2359""#,
            br#"INTERNALDATE "01-Jan-0000 00:00:00 +0000""#,
            br#"INTERNALDATE "01-Foo-2000 00:00:00 +0000""#,
            br#"INTERNALDATE "10-Mar-2024 02:30:00 -0000""#,
        ] {
            lines.push(format!("D {}", hex(resp)));
        }
        lines
    }

    /// Environment variable through which the cross-check passes an output
    /// file to [`tz_child_probe`] in a child process.
    const CHILD_OUT_ENV: &str = "IMAP4_UTIL_TZ_PROBE_OUT";

    /// Not a test by itself: the time-zone cross-check runs this test
    /// binary again, filtered to this function, with `TZ` set (the local
    /// zone comes from the environment, and changing the environment of a
    /// running multi-threaded process is unsound). Without
    /// `IMAP4_UTIL_TZ_PROBE_OUT` it does nothing.
    #[test]
    fn tz_child_probe() {
        let Some(out) = std::env::var_os(CHILD_OUT_ENV) else {
            return;
        };
        let answers: String = tz_inputs().iter().map(|l| rust_answer(l) + "\n").collect();
        std::fs::write(out, answers).expect("write probe output");
    }

    /// Runs [`tz_child_probe`] in a child process with `TZ=tz`.
    fn rust_answers_in_zone(tz: &str) -> Vec<String> {
        let exe = std::env::current_exe().expect("current test executable");
        let name = format!(
            "{}::tz_child_probe",
            module_path!()
                .split_once("::")
                .map_or(module_path!(), |(_, rest)| rest)
        );
        let out = std::env::temp_dir().join(format!(
            "imap4-util-tz-probe-{}-{}.txt",
            std::process::id(),
            tz.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        let _ = std::fs::remove_file(&out);
        let mut command = Command::new(exe);
        set_tz(&mut command, tz);
        let status = command
            .args([name.as_str(), "--exact", "--test-threads=1", "-q"])
            .env(CHILD_OUT_ENV, &out)
            .stdout(Stdio::null())
            .status()
            .expect("run the test executable as a TZ probe");
        assert!(status.success(), "TZ probe {name} failed with TZ={tz}");
        let text = std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("TZ probe {name} (TZ={tz}) wrote no output: {e}"));
        let _ = std::fs::remove_file(&out);
        text.lines().map(str::to_owned).collect()
    }

    /// Zones for the cross-check: no DST, whole/half/quarter-hour offsets,
    /// both hemispheres, a 30-minute DST shift, an abolished DST, negative
    /// DST (Dublin), a former standard offset equal to today's DST offset
    /// (Juneau), a POSIX TZ rule string, and local mean time before 1883.
    const CROSS_CHECK_ZONES: &[&str] = &[
        TZ_UNSET,
        "UTC",
        "America/New_York",
        "Asia/Kolkata",
        "Europe/Berlin",
        "Europe/London",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "America/St_Johns",
        "Asia/Kathmandu",
        "Europe/Dublin",
        "America/Juneau",
        "EST5EDT,M3.2.0,M11.1.0",
    ];

    /// Both directions in several time zones: `time2internaldate` (epoch and
    /// naive local times, around DST transitions and across the years) and
    /// `internaldate2tuple` (local fields and UTC offset) against CPython's
    /// `Time2Internaldate` / `Internaldate2tuple` run with the same `TZ`.
    #[test]
    fn time_zones_match_cpython() {
        let inputs = tz_inputs();
        let handles: Vec<_> = CROSS_CHECK_ZONES
            .iter()
            .map(|&tz| {
                let inputs = inputs.clone();
                std::thread::spawn(move || {
                    let python = run_python(
                        PYTHON_SCRIPT,
                        tz,
                        inputs.iter().map(|l| l.clone() + "\n").collect(),
                    );
                    let rust = rust_answers_in_zone(tz);
                    (tz, rust, python)
                })
            })
            .collect();
        let failures: Vec<String> = handles
            .into_iter()
            .filter_map(|handle| {
                let (tz, rust, python) = handle.join().expect("cross-check thread");
                compare_answers(&format!("TZ={tz}"), &inputs, &rust, &python)
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    /// `parse_flags`, `int2ap`, the `internaldate2tuple` pattern, aware and
    /// quoted `time2internaldate` against CPython on generated inputs.
    #[test]
    fn generated_inputs_match_cpython() {
        let mut rng = Rng(0x1A2B_3C4D);
        let mut lines = Vec::new();
        let flag_tokens: &[&[u8]] = &[
            b"FLAGS (",
            b"FLAGS (",
            b"FLAGS",
            b"(",
            b")",
            b")",
            b" ",
            b"\n",
            b"\r",
            b"\t",
            b"\x0b",
            b"\x0c",
            b"\x1c",
            br"\Seen",
            b"a",
            b"FLAGS ((",
            b"\x00",
            b"\xff",
            b"F",
        ];
        for _ in 0..4000 {
            let mut resp = Vec::new();
            for _ in 0..rng.below(12) {
                resp.extend_from_slice(pick(&mut rng, flag_tokens));
            }
            lines.push(format!("F {}", hex(&resp)));
        }
        let date_tokens: &[&[u8]] = &[
            b"INTERNALDATE \"",
            b"INTERNALDATE \"",
            b"01-Jan-2000 00:00:00 +0000\"",
            b" 1-Feb-1999 23:59:59 -0130\"",
            b"31-Dec-1999 12:00:00 +1200\"",
            b"09-Sep-2009 09:09:09 +0909",
            b"01-Foo-2000 00:00:00 +0000\"",
            b"01-Jan-0000 00:00:00 +0000\"",
            b"41-Jan-2000 00:00:00 +0000\"",
            b"1-Jan-2000",
            b"\"",
            b"\n",
            b"\r",
            b" ",
            b"X",
            b"INTERNALDATE",
        ];
        for _ in 0..4000 {
            let mut resp = Vec::new();
            for _ in 0..rng.below(8) {
                resp.extend_from_slice(pick(&mut rng, date_tokens));
            }
            lines.push(format!("U {}", hex(&resp)));
        }
        for n in [0, 1, 15, 16, 4096, 65535, u64::MAX] {
            lines.push(format!("P {n}"));
        }
        for _ in 0..300 {
            let bits = rng.below(64);
            lines.push(format!("P {}", rng.next() >> bits));
        }
        for _ in 0..1000 {
            let y = 1 + rng.below(9999) as i32;
            let (m, d) = (1 + rng.below(12) as u32, 1 + rng.below(28) as u32);
            let (hh, mm, ss) = (rng.below(24), rng.below(60), rng.below(60));
            let off = match rng.below(3) {
                0 => rng.below(2 * 86_399 + 1) as i64 - 86_399,
                1 => (rng.below(2 * 1439 + 1) as i64 - 1439) * 60,
                _ => (rng.below(49) as i64 - 24) * 1800,
            };
            let off = off.clamp(-86_399, 86_399);
            lines.push(format!("A {y} {m} {d} {hh} {mm} {ss} {off}"));
        }
        for q in [
            "", "\"", "\"\"", "\"abc", "abc\"", "\"x\"", " \"x\"", "\"é\"", "x",
        ] {
            lines.push(format!("Q {}", hex(q.as_bytes())));
        }
        let python = run_python(
            PYTHON_SCRIPT,
            "UTC",
            lines.iter().map(|l| l.clone() + "\n").collect(),
        );
        let rust: Vec<String> = lines.iter().map(|l| rust_answer(l)).collect();
        if let Some(failure) = compare_answers("generated inputs", &lines, &rust, &python) {
            panic!("{failure}");
        }
    }
}
