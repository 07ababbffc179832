//! The local time zone as CPython on glibc sees it: UTC offsets and DST
//! flags of the system zone (`TZ`, else `/etc/localtime`), read with
//! `jiff`, and glibc's `mktime`.
//!
//! Two glibc behaviours are kept on top of what the zone data says, both
//! pinned by the CPython cross-checks in `tests.rs`: a `TZ` that is a POSIX
//! rule string (naming no zone file) is evaluated for every instant before
//! 1970 with 1970's rules; and instants beyond the range of the zone
//! library (the last hours of year 9999) get the offset of the last
//! instant it knows.

use super::*;

pub(super) struct LocalZone {
    zone: std::cell::OnceCell<Option<System>>,
}

/// The system zone, and whether glibc reads it as a POSIX rule string
/// with DST.
struct System {
    tz: jiff::tz::TimeZone,
    posix_rule_with_dst: bool,
}

impl LocalZone {
    pub(super) fn new() -> Self {
        LocalZone {
            zone: std::cell::OnceCell::new(),
        }
    }

    fn system(&self) -> Option<&System> {
        self.zone
            .get_or_init(|| {
                let tz = jiff::tz::TimeZone::try_system().ok()?;
                Some(System {
                    posix_rule_with_dst: posix_rule_with_dst(),
                    tz,
                })
            })
            .as_ref()
    }

    /// The instant glibc evaluates the zone at for `t`, as a jiff
    /// timestamp (see the module documentation).
    fn instant(&self, zone: &System, t: i64) -> jiff::Timestamp {
        let t = if t < 0 && zone.posix_rule_with_dst {
            0
        } else {
            t
        };
        let t = t.clamp(
            jiff::Timestamp::MIN.as_second(),
            jiff::Timestamp::MAX.as_second(),
        );
        jiff::Timestamp::from_second(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// `localtime(t)->tm_gmtoff`.
    pub(super) fn gmtoff(&self, t: i64) -> Result<i32, InvalidDateTime> {
        match self.system() {
            Some(zone) => Ok(zone.tz.to_offset(self.instant(zone, t)).seconds()),
            None => {
                // no zone data at all: what chrono makes of the platform's
                let utc = DateTime::from_timestamp(t, 0)
                    .ok_or(InvalidDateTime::new("timestamp out of range"))?
                    .naive_utc();
                Ok(Local.offset_from_utc_datetime(&utc).local_minus_utc())
            }
        }
    }

    /// `localtime(t)->tm_isdst`; `altzone` (CPython's `time.altzone`) serves
    /// only when there is no zone data (for example on Windows).
    pub(super) fn is_dst(&self, t: i64, altzone: i32) -> Result<bool, InvalidDateTime> {
        match self.system() {
            Some(zone) => Ok(zone.tz.to_offset_info(self.instant(zone, t)).dst().is_dst()),
            None => Ok(self.gmtoff(t)? == -altzone),
        }
    }
}

/// Whether `TZ` is, for glibc, a POSIX rule string with a DST rule: it
/// names no zone file (absolute, or under `TZDIR`, default
/// `/usr/share/zoneinfo`) and parses as a POSIX TZ string with a DST part.
fn posix_rule_with_dst() -> bool {
    let Some(tz) = std::env::var_os("TZ") else {
        return false;
    };
    let Some(name) = tz.to_str() else {
        return false;
    };
    let name = name.strip_prefix(':').unwrap_or(name);
    // a POSIX TZ string has a digit (its UTC offset)
    if !name.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let file = if name.starts_with('/') {
        std::path::PathBuf::from(name)
    } else {
        let dir = std::env::var_os("TZDIR")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/usr/share/zoneinfo".into());
        std::path::Path::new(&dir).join(name)
    };
    if file.is_file() {
        return false;
    }
    jiff::tz::TimeZone::posix(name)
        .is_ok_and(|tz| tz.following(jiff::Timestamp::UNIX_EPOCH).next().is_some())
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
