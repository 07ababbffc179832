//! The local time zone as CPython on glibc sees it: UTC offsets and DST
//! flags from the TZif file (or a POSIX rule string), and glibc's `mktime`.

use super::*;

pub(super) struct LocalZone {
    pub(super) flags: std::cell::OnceCell<Option<DstFlags>>,
}

impl LocalZone {
    pub(super) fn new() -> Self {
        LocalZone {
            flags: std::cell::OnceCell::new(),
        }
    }

    pub(super) fn flags(&self) -> Option<&DstFlags> {
        self.flags.get_or_init(DstFlags::load).as_ref()
    }

    pub(super) fn posix_rule_has_dst(&self) -> bool {
        matches!(self.flags(), Some(DstFlags::Posix(zone)) if zone.dst.is_some())
    }

    /// `localtime(t)->tm_gmtoff`.
    pub(super) fn gmtoff(&self, t: i64) -> Result<i32, InvalidDateTime> {
        // glibc evaluates a POSIX TZ rule string (a `TZ` naming no zone file)
        // for any year before 1970 with 1970's transition dates, so every
        // earlier instant gets the offset in force at the start of 1970.
        let t = if t < 0 && DstFlags::tz_may_be_posix_rule() && self.posix_rule_has_dst() {
            0
        } else {
            t
        };
        let utc = DateTime::from_timestamp(t, 0)
            .ok_or(InvalidDateTime::new("timestamp out of range"))?
            .naive_utc();
        Ok(Local.offset_from_utc_datetime(&utc).local_minus_utc())
    }

    /// `localtime(t)->tm_isdst`; `altzone` (CPython's `time.altzone`) serves
    /// only when there is no TZif data (for example on Windows).
    pub(super) fn is_dst(&self, t: i64, altzone: i32) -> Result<bool, InvalidDateTime> {
        let gmtoff = self.gmtoff(t)?;
        Ok(match self.flags() {
            Some(flags) => flags.is_dst(t, gmtoff),
            None => gmtoff == -altzone,
        })
    }
}

/// CPython's `time.timezone`, `time.altzone` and `time.daylight` (seconds
/// west of UTC), computed as `init_timezone` does on glibc: from the local
/// offsets in January and July of the current year.
pub(super) struct PyTimeZoneConstants {
    pub(super) timezone: i32,
    pub(super) altzone: i32,
    pub(super) daylight: bool,
}

impl PyTimeZoneConstants {
    pub(super) fn current(zone: &LocalZone) -> Result<Self, InvalidDateTime> {
        const YEAR: i64 = (365 * 24 + 6) * 3600;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let jan = now / YEAR * YEAR;
        let janzone = -zone.gmtoff(jan)?;
        let julyzone = -zone.gmtoff(jan + YEAR / 2)?;
        let (timezone, altzone) = if janzone < julyzone {
            (julyzone, janzone) // southern hemisphere
        } else {
            (janzone, julyzone)
        };
        Ok(PyTimeZoneConstants {
            timezone,
            altzone,
            daylight: janzone != julyzone,
        })
    }
}

/// The standard and DST offsets (seconds east of UTC) of a POSIX `TZ`
/// string such as `EST5EDT,M3.2.0,M11.1.0`; the transition rules are not
/// needed (chrono applies them, this only tells which offset is DST).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PosixZone {
    pub(super) std: i32,
    pub(super) dst: Option<i32>,
}

impl PosixZone {
    pub(super) fn parse(spec: &[u8]) -> Option<PosixZone> {
        let mut rest = spec;
        Self::name(&mut rest)?;
        let std = -Self::offset(&mut rest)?;
        if Self::name(&mut rest).is_none() {
            return Some(PosixZone { std, dst: None });
        }
        let dst = match rest.first() {
            Some(b'+' | b'-' | b'0'..=b'9') => -Self::offset(&mut rest)?,
            _ => std + 3600,
        };
        Some(PosixZone {
            std,
            dst: Some(dst),
        })
    }

    /// `<...>` or at least three letters.
    pub(super) fn name(rest: &mut &[u8]) -> Option<()> {
        let len = if rest.first() == Some(&b'<') {
            rest.iter().position(|&b| b == b'>')? + 1
        } else {
            rest.iter().take_while(|b| b.is_ascii_alphabetic()).count()
        };
        if len < 3 {
            return None;
        }
        *rest = &rest[len..];
        Some(())
    }

    /// `[+-]hh[:mm[:ss]]`, in seconds west of UTC.
    pub(super) fn offset(rest: &mut &[u8]) -> Option<i32> {
        let negative = rest.first() == Some(&b'-');
        if matches!(rest.first(), Some(b'+' | b'-')) {
            *rest = &rest[1..];
        }
        let mut secs = 0;
        for (i, unit) in [3600, 60, 1].into_iter().enumerate() {
            if i > 0 {
                match rest.strip_prefix(b":") {
                    Some(after) => *rest = after,
                    None => break,
                }
            }
            let digits = rest
                .iter()
                .take(3)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 {
                return None;
            }
            let value = rest[..digits]
                .iter()
                .fold(0, |acc, b| acc * 10 + i32::from(b - b'0'));
            secs += value * unit;
            *rest = &rest[digits..];
        }
        Some(if negative { -secs } else { secs })
    }

    pub(super) fn is_dst(&self, gmtoff: i32) -> bool {
        self.dst.is_some_and(|dst| dst != self.std && gmtoff == dst)
    }
}

/// Where the C library (glibc) gets `tm_isdst` from for the local zone.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum DstFlags {
    /// A TZif file: each transition's new DST flag, the flag before the
    /// first transition, and the TZ string used after the last one.
    File {
        transitions: Vec<(i64, bool)>,
        initial: bool,
        footer: Option<PosixZone>,
    },
    /// A `TZ` value that names no file and is read as a POSIX TZ string.
    Posix(PosixZone),
}

impl DstFlags {
    /// Cheap pre-check for [`DstFlags::Posix`]: a POSIX TZ string has a
    /// digit (its UTC offset). Saves reading zone files in the common case.
    pub(super) fn tz_may_be_posix_rule() -> bool {
        std::env::var_os("TZ")
            .is_some_and(|tz| tz.as_encoded_bytes().iter().any(u8::is_ascii_digit))
    }

    /// Finds the local zone as glibc's `tzset` does: `TZ` (empty means UTC,
    /// a leading `:` is dropped) names a TZif file, absolute or relative to
    /// `TZDIR` (default `/usr/share/zoneinfo`), or else is a POSIX TZ
    /// string; without `TZ`, `/etc/localtime`. `None` when nothing usable is
    /// found (for example on systems without TZif data).
    pub(super) fn load() -> Option<DstFlags> {
        let tz = std::env::var_os("TZ");
        let name = match tz.as_deref().map(|v| v.to_str()) {
            None => "/etc/localtime",
            Some(None) => return None,
            Some(Some("")) => "Universal",
            Some(Some(v)) => v.strip_prefix(':').unwrap_or(v),
        };
        let path = if name.starts_with('/') {
            std::path::PathBuf::from(name)
        } else {
            let dir = std::env::var_os("TZDIR")
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "/usr/share/zoneinfo".into());
            std::path::Path::new(&dir).join(name)
        };
        match std::fs::read(path) {
            Ok(data) => Self::parse_tzif(&data),
            Err(_) => PosixZone::parse(name.as_bytes()).map(DstFlags::Posix),
        }
    }

    /// Parses TZif data (RFC 8536): the 64-bit block and footer of version
    /// 2+ files, the 32-bit block of version 1 files.
    pub(super) fn parse_tzif(data: &[u8]) -> Option<DstFlags> {
        let v1 = TzifBlock::parse(data, 4)?;
        let (block, footer) = if data[4] < b'2' {
            (v1, None)
        } else {
            let data = &data[v1.len..];
            let v2 = TzifBlock::parse(data, 8)?;
            let footer = data.get(v2.len..).and_then(|rest| {
                let rest = rest.strip_prefix(b"\n")?;
                let end = rest.iter().position(|&b| b == b'\n')?;
                PosixZone::parse(&rest[..end])
            });
            (v2, footer)
        };
        Some(DstFlags::File {
            transitions: block.transitions,
            initial: block.initial,
            footer,
        })
    }

    /// `localtime(t)->tm_isdst`, given the local UTC offset at `t`.
    pub(super) fn is_dst(&self, t: i64, gmtoff: i32) -> bool {
        match self {
            DstFlags::Posix(zone) => zone.is_dst(gmtoff),
            DstFlags::File {
                transitions,
                initial,
                footer,
            } => match (transitions.first(), transitions.last()) {
                (Some(&(first, _)), Some(&(last, last_dst))) if t >= first => {
                    if t >= last {
                        footer.map_or(last_dst, |zone| zone.is_dst(gmtoff))
                    } else {
                        transitions[transitions.partition_point(|&(at, _)| at <= t) - 1].1
                    }
                }
                _ => *initial,
            },
        }
    }
}

/// The part of a TZif header and data block that [`DstFlags`] needs.
pub(super) struct TzifBlock {
    /// Transition times and the DST flag of the local time type they start.
    pub(super) transitions: Vec<(i64, bool)>,
    /// glibc's flag before the first transition: that of the first non-DST
    /// type (so `false` unless every type is DST).
    pub(super) initial: bool,
    /// Length of the header and data in bytes.
    pub(super) len: usize,
}

impl TzifBlock {
    /// Parses one header and data block (`time_size`: 4 or 8 bytes).
    pub(super) fn parse(data: &[u8], time_size: usize) -> Option<TzifBlock> {
        if data.get(..4)? != b"TZif" {
            return None;
        }
        let count = |i: usize| -> Option<usize> {
            let b = data.get(20 + 4 * i..24 + 4 * i)?;
            usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()
        };
        let (isut, isstd, leap) = (count(0)?, count(1)?, count(2)?);
        let (times, types, chars) = (count(3)?, count(4)?, count(5)?);
        let len = [
            times.checked_mul(time_size + 1)?,
            types.checked_mul(6)?,
            chars,
            leap.checked_mul(time_size + 4)?,
            isstd,
            isut,
        ]
        .into_iter()
        .try_fold(0usize, usize::checked_add)?;
        let block = data.get(44..)?.get(..len)?;
        let (time_bytes, rest) = block.split_at(times * time_size);
        let (indexes, rest) = rest.split_at(times);
        let is_dst: Vec<bool> = rest[..types * 6].chunks(6).map(|t| t[4] != 0).collect();
        let transitions = time_bytes
            .chunks(time_size)
            .zip(indexes)
            .map(|(raw, &index)| {
                let time = if time_size == 8 {
                    i64::from_be_bytes(raw.try_into().ok()?)
                } else {
                    i64::from(i32::from_be_bytes(raw.try_into().ok()?))
                };
                Some((time, *is_dst.get(usize::from(index))?))
            })
            .collect::<Option<Vec<_>>>()?;
        // glibc: before the first transition, the first non-DST type.
        let initial = !is_dst.is_empty() && is_dst.iter().all(|&d| d);
        Some(TzifBlock {
            transitions,
            initial,
            len: 44 + len,
        })
    }
}

/// The UTC offset imaplib attaches to a local 9-tuple with `tm_isdst = -1`:
/// `-time.altzone` if `time.daylight` and `mktime` finds DST, else
/// `-time.timezone`.
pub(super) fn naive_gmtoff(local: &NaiveDateTime) -> Result<i32, InvalidDateTime> {
    let zone = LocalZone::new();
    let tz = PyTimeZoneConstants::current(&zone)?;
    if !tz.daylight {
        return Ok(-tz.timezone);
    }
    let t = glibc_mktime(local, &zone, tz.altzone)?;
    Ok(if zone.is_dst(t, tz.altzone)? {
        -tz.altzone
    } else {
        -tz.timezone
    })
}

/// glibc's `mktime` for a broken-down local time with `tm_isdst = -1`,
/// starting from a zero offset guess (a process's first `mktime` call).
pub(super) fn glibc_mktime(
    local: &NaiveDateTime,
    zone: &LocalZone,
    altzone: i32,
) -> Result<i64, InvalidDateTime> {
    let wanted = local.and_utc().timestamp();
    let (mut t, mut t1, mut t2) = (wanted, wanted, wanted);
    let mut dst2 = false; // whether the previous probe was DST
    let mut remaining_probes = 6;
    loop {
        let dt = wanted - (t + i64::from(zone.gmtoff(t)?));
        if dt == 0 {
            return Ok(t);
        }
        let dst = zone.is_dst(t, altzone)?;
        if t == t1 && t != t2 && dst2 <= dst {
            // Oscillating around a spring-forward gap: glibc settles on this
            // probe, preferring the DST side.
            return Ok(t);
        }
        remaining_probes -= 1;
        if remaining_probes == 0 {
            return Err(InvalidDateTime::new("mktime argument out of range"));
        }
        (t1, t2, t, dst2) = (t2, t, t + dt, dst);
    }
}
