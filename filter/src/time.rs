//! Event time: parsing the times events carry and writing times and durations as
//! detections show them. The one place that converts between calendar dates and
//! Unix seconds (proleptic Gregorian, UTC).

/// Event time in Unix seconds (UTC).
///
/// Accepts RFC 3339 / ISO 8601 date-times — `2026-06-01T12:00:00Z`, with optional
/// fractional seconds (truncated), `z`, a space instead of `T`, and `±HH:MM`,
/// `±HHMM` or `±HH` offsets — and plain Unix seconds (`1780315200`, optionally with
/// a fraction). Impossible dates (February 30, hour 24, month 13) give `None`; a
/// leap second (`:60`) counts as the following second. Never panics.
pub fn parse_event_time(text: &str) -> Option<i64> {
    let s = text.trim().as_bytes();
    if s.first().is_some_and(u8::is_ascii_digit) && !s.contains(&b'-') && !s.contains(&b':') {
        return unix_seconds(s);
    }
    let year = digits(s, 0, 4)?;
    let month = digits(s, 5, 2)?;
    let day = digits(s, 8, 2)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(s, 11, 2)?;
    let minute = digits(s, 14, 2)?;
    let second = digits(s, 17, 2)?;
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut pos = 19;
    if s.get(pos) == Some(&b'.') {
        let start = pos + 1;
        pos = start;
        while s.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == start {
            return None;
        }
    }
    let offset = match s.get(pos..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _] => (digits(rest, 0, 2)?, 0),
                [_, _, b':', _, _] => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                [_, _, _, _] => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'+' {
                minutes * 60
            } else {
                -(minutes * 60)
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(local - offset)
}

/// Unix seconds, optionally with a fraction (truncated toward negative infinity
/// is irrelevant: only non-negative digits are accepted).
fn unix_seconds(s: &[u8]) -> Option<i64> {
    let (whole, fraction) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (s.get(..dot)?, s.get(dot + 1..)?),
        None => (s, &[][..]),
    };
    if whole.is_empty() || whole.len() > 12 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: i64 = 0;
    for &b in whole {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(value)
}

/// `len` ASCII digits at `pos` as a number.
fn digits(s: &[u8], pos: usize, len: usize) -> Option<i64> {
    let field = s.get(pos..pos.checked_add(len)?)?;
    let mut value = 0i64;
    for &b in field {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(value)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil` algorithm; years here are 0000–9999).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format_time(unix: i64) -> String {
    let mut out = String::with_capacity(20);
    push_time(&mut out, unix);
    out
}

pub(crate) fn push_time(out: &mut String, unix: i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        let year = year as u32;
        push_two(out, year / 100);
        push_two(out, year % 100);
    } else {
        // Outside four digits (never a real event time): as `{:04}` writes it.
        out.push_str(&format!("{year:04}"));
    }
    out.push('-');
    push_two(out, month);
    out.push('-');
    push_two(out, day);
    out.push('T');
    push_two(out, secs / 3600);
    out.push(':');
    push_two(out, secs % 3600 / 60);
    out.push(':');
    push_two(out, secs % 60);
    out.push('Z');
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A window in the words an analyst reads: `10 days`, `36 hours`, `90 seconds`.
pub fn format_duration(secs: i64) -> String {
    let unit = |n: i64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if secs > 0 && secs % 86_400 == 0 {
        unit(secs / 86_400, "day")
    } else if secs > 0 && secs % 3600 == 0 {
        unit(secs / 3600, "hour")
    } else if secs > 0 && secs % 60 == 0 {
        unit(secs / 60, "minute")
    } else {
        unit(secs, "second")
    }
}

/// `n` (0..=99) as two digits.
fn push_two(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_utc() {
        // 2026-06-01 is 20,605 days after 1970-01-01:
        // 56 years (1970..2026) = 20,454 days incl. 14 leap days, + 151 days Jan..May.
        assert_eq!(
            parse_event_time("2026-06-01T00:00:00Z"),
            Some(20_605 * 86_400)
        );
        assert_eq!(
            parse_event_time("2026-06-01T12:00:00Z"),
            Some(20_605 * 86_400 + 12 * 3600)
        );
        assert_eq!(parse_event_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_event_time("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn fractions_offsets_and_variants() {
        let base = 20_605 * 86_400 + 12 * 3600;
        assert_eq!(parse_event_time("2026-06-01T12:00:00.999Z"), Some(base));
        assert_eq!(
            parse_event_time("2026-06-01T12:00:00.123456789z"),
            Some(base)
        );
        assert_eq!(parse_event_time("2026-06-01 12:00:00Z"), Some(base));
        // 14:30 at +02:30 is 12:00 UTC.
        assert_eq!(parse_event_time("2026-06-01T14:30:00+02:30"), Some(base));
        assert_eq!(parse_event_time("2026-06-01T14:30:00+0230"), Some(base));
        assert_eq!(parse_event_time("2026-06-01T14:00:00+02"), Some(base));
        assert_eq!(parse_event_time("2026-06-01T07:00:00-05:00"), Some(base));
        assert_eq!(parse_event_time("  2026-06-01T12:00:00Z "), Some(base));
    }

    #[test]
    fn calendar_edges() {
        // 2024 is a leap year (divisible by 4), 2100 is not (by 100, not 400), 2000 is.
        assert!(parse_event_time("2024-02-29T00:00:00Z").is_some());
        assert_eq!(parse_event_time("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_event_time("2100-02-29T00:00:00Z"), None);
        assert!(parse_event_time("2000-02-29T00:00:00Z").is_some());
        assert_eq!(parse_event_time("2026-04-31T00:00:00Z"), None);
        assert_eq!(parse_event_time("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_event_time("2026-00-01T00:00:00Z"), None);
        assert_eq!(parse_event_time("2026-01-00T00:00:00Z"), None);
        assert_eq!(parse_event_time("2026-01-01T24:00:00Z"), None);
        assert_eq!(parse_event_time("2026-01-01T23:60:00Z"), None);
        // 2000-03-01 is day 11,017 (30 years incl. 7 leap days = 10,957, + 60 days).
        assert_eq!(
            parse_event_time("2000-03-01T00:00:00Z"),
            Some(11_017 * 86_400)
        );
        // The day after 2024-02-28 is 2024-02-29, then 03-01.
        let feb28 = parse_event_time("2024-02-28T00:00:00Z");
        let mar01 = parse_event_time("2024-03-01T00:00:00Z");
        assert_eq!(mar01.zip(feb28).map(|(b, a)| b - a), Some(2 * 86_400));
        // A leap second is the next second.
        assert_eq!(
            parse_event_time("2016-12-31T23:59:60Z"),
            parse_event_time("2017-01-01T00:00:00Z")
        );
    }

    #[test]
    fn unix_seconds_form() {
        assert_eq!(parse_event_time("1780315200"), Some(1_780_315_200));
        assert_eq!(parse_event_time("1780315200.75"), Some(1_780_315_200));
        assert_eq!(parse_event_time("0"), Some(0));
        assert_eq!(parse_event_time("99999999999999999999999"), None);
        assert_eq!(parse_event_time("12ab"), None);
        assert_eq!(parse_event_time("1.2.3"), None);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "Z",
            "20x6",
            "2026-06-01",
            "2026-06-01T12:00",
            "2026-06-01T12:00:00",
            "2026-06-01T12:00:00.Z",
            "2026-06-01T12:00:00+2",
            "2026-06-01T12:00:00+25:00",
            "2026-06-01T12:00:00Zjunk",
            "2026/06/01T12:00:00Z",
            "２０２６-06-01T12:00:00Z",
            "2026-06-01T12:00:00\u{e9}",
            "-2026-06-01T12:00:00Z",
        ] {
            assert_eq!(parse_event_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_written_by_hand() {
        // 1781942400 s is 2026-06-20T08:00:00Z; 0 is the epoch; the leap day of 2024.
        assert_eq!(format_time(1_781_942_400), "2026-06-20T08:00:00Z");
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_709_208_059), "2024-02-29T12:00:59Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn times_render_as_utc() {
        // Hand-checked: 2026-06-01T12:34:56Z is 20,605 days and 45,296 s after the epoch.
        assert_eq!(
            format_time(20_605 * 86_400 + 45_296),
            "2026-06-01T12:34:56Z"
        );
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(864_000), "10 days");
        assert_eq!(format_duration(86_400), "1 day");
        assert_eq!(format_duration(129_600), "36 hours");
        assert_eq!(format_duration(5400), "90 minutes");
        assert_eq!(format_duration(61), "61 seconds");
    }

    #[test]
    fn written_times_parse_back() {
        for t in [0, 951_782_400, 1_709_208_059, 1_781_942_400, 4_102_444_799] {
            assert_eq!(parse_event_time(&format_time(t)), Some(t), "{t}");
        }
    }
}
