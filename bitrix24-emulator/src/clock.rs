//! The emulator's virtual clock: real time, scaled, plus an advanceable offset.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Virtual unix time: `start_unix + elapsed_real * scale + offset`.
#[derive(Debug)]
pub(crate) struct Clock {
    start_instant: Instant,
    start_unix: f64,
    scale: f64,
    offset_bits: AtomicU64,
}

impl Clock {
    pub(crate) fn new(scale: f64) -> Self {
        let start_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Self {
            start_instant: Instant::now(),
            start_unix,
            scale,
            offset_bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Current virtual unix time in fractional seconds.
    pub(crate) fn now(&self) -> f64 {
        let elapsed = self.start_instant.elapsed().as_secs_f64() * self.scale;
        self.start_unix + elapsed + f64::from_bits(self.offset_bits.load(Ordering::Relaxed))
    }

    /// The time scale (virtual seconds per real second).
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }

    /// Moves the virtual clock forward by `secs` virtual seconds.
    pub(crate) fn advance(&self, secs: f64) {
        let mut cur = self.offset_bits.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(cur) + secs).to_bits();
            match self
                .offset_bits
                .compare_exchange(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// Formats unix seconds as PHP `date('c')` in UTC: `2024-07-23T08:11:02+00:00`.
pub(crate) fn iso(ts: f64) -> String {
    let secs = ts.floor() as i64;
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
}

/// Formats unix seconds as `YYYY-MM-DD HH:MM:SS` (some legacy user fields).
pub(crate) fn plain_datetime(ts: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ts);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses the date forms the portal accepts: `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS][±HH:MM|Z]`
/// and `DD.MM.YYYY[ HH:MM:SS]`. Times without an offset are server time (UTC here).
#[allow(clippy::many_single_char_names)]
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    // `2022-07-30`, or `2022/07/30` as PHP's date parser also reads it (a task `DEADLINE` sent
    // so comes back in ISO 8601).
    let (y, m, d, rest) = if b.len() >= 10 && b[4] == b[7] && matches!(b[4], b'-' | b'/') {
        (num(0..4)?, num(5..7)?, num(8..10)?, &s[10..])
    } else if b.len() >= 10 && b[2] == b'.' && b[5] == b'.' {
        (num(6..10)?, num(3..5)?, num(0..2)?, &s[10..])
    } else {
        return None;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut t = days_from_civil(y, m, d) * 86_400;
    let rest = rest.trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return Some(t);
    }
    let rb = rest.as_bytes();
    let n2 = |i: usize| -> Option<i64> {
        let p = rest.get(i..i + 2)?;
        if p.bytes().all(|c| c.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    let hh = n2(0)?;
    if rb.get(2) != Some(&b':') {
        return None;
    }
    let mi = n2(3)?;
    let mut idx = 5;
    let mut ss = 0;
    if rb.get(5) == Some(&b':') {
        ss = n2(6)?;
        idx = 8;
    }
    // Fractional seconds.
    if rb.get(idx) == Some(&b'.') {
        idx += 1;
        while rb.get(idx).is_some_and(u8::is_ascii_digit) {
            idx += 1;
        }
    }
    t += hh * 3600 + mi * 60 + ss;
    let tz = &rest[idx.min(rest.len())..];
    let tz = tz.trim();
    if tz.is_empty() || tz == "Z" {
        return Some(t);
    }
    let sign = match tz.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = tz[1..].chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let oh: i64 = digits[0..2].parse().ok()?;
    let om: i64 = digits[2..4].parse().ok()?;
    Some(t - sign * (oh * 3600 + om * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_roundtrip() {
        assert_eq!(iso(1_721_722_262.96), "2024-07-23T08:11:02+00:00");
        assert_eq!(
            parse_datetime("2024-07-23T08:11:02+00:00"),
            Some(1_721_722_262)
        );
        assert_eq!(
            parse_datetime("2024-07-23T10:11:02+02:00"),
            Some(1_721_722_262)
        );
        assert_eq!(parse_datetime("23.07.2024 08:11:02"), Some(1_721_722_262));
        assert_eq!(parse_datetime("2024-07-23"), Some(1_721_692_800));
        assert_eq!(parse_datetime("nope"), None);
    }
}
