//! Calendar dates and Unix seconds (UTC, proleptic Gregorian): the one place in
//! vpnrecon that converts between them. The filter (event times, detections), the
//! host (record times of replayed files, generated events, reports) and the ASN table
//! builder (`SOURCE_DATE_EPOCH`) all use this crate, so a date means the same thing
//! everywhere and an impossible one (February 31) is refused everywhere.
//!
//! `no_std` (with `alloc` for the formatted strings) and free of panics: it runs
//! inside the filter module.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::fmt;

/// A point in time: Unix seconds and the nanoseconds within that second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nsec: u32,
}

/// Why a text is not a time, in words a user can act on ([`fmt::Display`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// Neither `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` nor Unix seconds.
    Shape,
    /// A month outside 01–12.
    Month { month: i64 },
    /// A day the month does not have (`2026-02-31`, day `00`).
    Day { year: i64, month: i64, day: i64 },
    /// An hour over 23, a minute over 59 or a second over 60.
    TimeOfDay { hour: i64, minute: i64, second: i64 },
    /// A UTC offset over 23 hours or 59 minutes.
    Offset,
    /// Unix seconds with more than twelve digits.
    TooLarge,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimeError::Shape => f.write_str(
                "not a date-time of the form YYYY-MM-DDTHH:MM:SSZ (a fraction of a second \
                 and a ±HH:MM offset may follow the seconds), nor Unix seconds",
            ),
            TimeError::Month { month } => write!(f, "there is no month {month:02}"),
            TimeError::Day { year, month, day } => {
                let name = usize::try_from(month - 1)
                    .ok()
                    .and_then(|i| MONTHS.get(i))
                    .copied()
                    .unwrap_or("that month");
                if day < 1 {
                    write!(f, "there is no day {day:02}: days start at 01")
                } else {
                    write!(
                        f,
                        "{name} {year} has {} days, so there is no day {day}",
                        days_in_month(year, month)
                    )
                }
            }
            TimeError::TimeOfDay {
                hour,
                minute,
                second,
            } => write!(
                f,
                "{hour:02}:{minute:02}:{second:02} is not a time of day \
                 (hours 00-23, minutes 00-59, seconds 00-60)"
            ),
            TimeError::Offset => f.write_str("the UTC offset is beyond ±23:59"),
            TimeError::TooLarge => f.write_str("more Unix seconds than twelve digits hold"),
        }
    }
}

/// Parses the times events carry.
///
/// Accepts RFC 3339 / ISO 8601 date-times — `2026-06-01T12:00:00Z`, with optional
/// fractional seconds (the first nine digits give [`Timestamp::nsec`]), `z`, a space
/// instead of `T`, and `±HH:MM`, `±HHMM` or `±HH` offsets — and plain Unix seconds
/// (`1780315200`, optionally with a fraction). Surrounding whitespace is ignored.
/// Impossible dates (February 30, hour 24, month 13) are errors; a leap second
/// (`:60`) counts as the following second. Never panics.
pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
    let s = text.trim().as_bytes();
    if s.first().is_some_and(u8::is_ascii_digit) && !s.contains(&b'-') && !s.contains(&b':') {
        return unix_seconds(s);
    }
    let field = |pos, len| digits(s, pos, len).ok_or(TimeError::Shape);
    let (year, month, day) = (field(0, 4)?, field(5, 2)?, field(8, 2)?);
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return Err(TimeError::Shape);
    }
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return Err(TimeError::Shape);
    }
    let (hour, minute, second) = (field(11, 2)?, field(14, 2)?, field(17, 2)?);
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return Err(TimeError::Shape);
    }
    let (nsec, pos) = fraction(s, 19, false)?;
    let offset = match s.get(pos..).ok_or(TimeError::Shape)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let part = |pos, len| digits(rest, pos, len).ok_or(TimeError::Shape);
            let (h, m) = match rest {
                [_, _] => (part(0, 2)?, 0),
                [_, _, b':', _, _] => (part(0, 2)?, part(3, 2)?),
                [_, _, _, _] => (part(0, 2)?, part(2, 2)?),
                _ => return Err(TimeError::Shape),
            };
            if h > 23 || m > 59 {
                return Err(TimeError::Offset);
            }
            let seconds = (h * 60 + m) * 60;
            if *sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return Err(TimeError::Shape),
    };
    if !(1..=12).contains(&month) {
        return Err(TimeError::Month { month });
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(TimeError::Day { year, month, day });
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(TimeError::TimeOfDay {
            hour,
            minute,
            second,
        });
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Ok(Timestamp {
        secs: local - offset,
        nsec,
    })
}

/// Event time in Unix seconds (fractions truncated): [`parse`] without the reason.
pub fn parse_event_time(text: &str) -> Option<i64> {
    // Every candidate's time is read: CloudTrail's own form first, without the
    // trimming and searching that make `parse` cost about 800 wasm instructions.
    if let Some(secs) = cloudtrail_utc(text.as_bytes()) {
        return Some(secs);
    }
    parse(text).ok().map(|t| t.secs)
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly (how CloudTrail writes `eventTime`) holding a
/// valid date and time of day: the seconds [`parse`] gives for it. `None` for any
/// other text, valid or not, which is left to [`parse`].
fn cloudtrail_utc(text: &[u8]) -> Option<i64> {
    let bytes: &[u8; 20] = text.try_into().ok()?;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', n0, n1, b':', s0, s1, b'Z'] =
        *bytes
    else {
        return None;
    };
    let digit = |b: u8| b.wrapping_sub(b'0');
    let digits = [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, n0, n1, s0, s1];
    if digits.iter().any(|&b| digit(b) > 9) {
        return None;
    }
    let two = |hi: u8, lo: u8| i64::from(digit(hi)) * 10 + i64::from(digit(lo));
    let (year, month, day) = (two(y0, y1) * 100 + two(y2, y3), two(m0, m1), two(d0, d1));
    let (hour, minute, second) = (two(h0, h1), two(n0, n1), two(s0, s1));
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Unix seconds, optionally with a fraction.
fn unix_seconds(s: &[u8]) -> Result<Timestamp, TimeError> {
    let whole_len = s.iter().position(|&b| b == b'.').unwrap_or(s.len());
    let whole = s.get(..whole_len).ok_or(TimeError::Shape)?;
    if whole.is_empty() || !whole.iter().all(u8::is_ascii_digit) {
        return Err(TimeError::Shape);
    }
    if whole.len() > 12 {
        return Err(TimeError::TooLarge);
    }
    let secs = digits(whole, 0, whole.len()).ok_or(TimeError::Shape)?;
    let (nsec, end) = fraction(s, whole_len, true)?;
    if end != s.len() {
        return Err(TimeError::Shape);
    }
    Ok(Timestamp { secs, nsec })
}

/// An optional `.digits` at `pos`: its nanoseconds (first nine digits) and where it
/// ends. A dot without digits is an error unless `bare_dot` (Unix seconds).
fn fraction(s: &[u8], pos: usize, bare_dot: bool) -> Result<(u32, usize), TimeError> {
    if s.get(pos) != Some(&b'.') {
        return Ok((0, pos));
    }
    let mut nsec = 0u32;
    let mut scale = 100_000_000u32;
    let mut end = pos + 1;
    while let Some(&b) = s.get(end).filter(|b| b.is_ascii_digit()) {
        nsec += u32::from(b - b'0') * scale;
        scale /= 10;
        end += 1;
    }
    if end == pos + 1 && !bare_dot {
        return Err(TimeError::Shape);
    }
    Ok((nsec, end))
}

/// `len` ASCII digits at `pos` as a number (`len` ≤ 18).
fn digits(s: &[u8], pos: usize, len: usize) -> Option<i64> {
    let field = s.get(pos..pos.checked_add(len)?)?;
    let mut value = 0i64;
    for &b in field {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(value)
}

/// Whether `year` has a February 29.
pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days of `month` (1–12) in `year`.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil` algorithm). The date is not checked: see [`parse`].
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1–12, day 1–31) `days` after 1970-01-01 (Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
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

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format_time(unix: i64) -> String {
    let mut out = String::with_capacity(20);
    push_time(&mut out, unix);
    out
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn format_date(unix: i64) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, unix.div_euclid(86_400));
    out
}

/// [`format_time`] as ASCII bytes, for the years that have four digits (`None`
/// outside them): written into an array, without the per-character pushes of a
/// `String`, as detections are rendered inside the router.
pub fn time_bytes(unix: i64) -> Option<[u8; 20]> {
    let secs = unix.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let year = u32::try_from(year).ok().filter(|year| *year <= 9999)?;
    let [y0, y1] = two_digits(year / 100);
    let [y2, y3] = two_digits(year % 100);
    let [m0, m1] = two_digits(month);
    let [d0, d1] = two_digits(day);
    let [h0, h1] = two_digits(secs / 3600);
    let [n0, n1] = two_digits(secs % 3600 / 60);
    let [s0, s1] = two_digits(secs % 60);
    Some([
        y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', n0, n1, b':', s0, s1, b'Z',
    ])
}

/// `n` (0..=99) as two ASCII digits.
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

/// Appends [`format_time`] of `unix` to `out`.
pub fn push_time(out: &mut String, unix: i64) {
    let secs = unix.rem_euclid(86_400) as u32;
    push_date(out, unix.div_euclid(86_400));
    out.push('T');
    push_two(out, secs / 3600);
    out.push(':');
    push_two(out, secs % 3600 / 60);
    out.push(':');
    push_two(out, secs % 60);
    out.push('Z');
}

fn push_date(out: &mut String, days: i64) {
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
}

/// A window in the words an analyst reads: `10 days`, `36 hours`, `90 seconds`.
pub fn format_duration(secs: i64) -> String {
    let mut out = String::with_capacity(16);
    push_duration(&mut out, secs);
    out
}

/// Appends [`format_duration`] of `secs` to `out` (pushed rather than `format!`ed
/// or allocated apart: this runs for every alert inside the router).
pub fn push_duration(out: &mut String, secs: i64) {
    let (n, word) = if secs > 0 && secs % 86_400 == 0 {
        (secs / 86_400, "day")
    } else if secs > 0 && secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs > 0 && secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    push_int(out, n);
    out.push(' ');
    out.push_str(word);
    if n != 1 {
        out.push('s');
    }
}

/// Appends the decimal digits of `n`, with a minus sign when negative (no
/// `format!`: this runs for every alert inside the router).
pub fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    each_digit(n.unsigned_abs(), |d| out.push(char::from(d)));
}

/// Hands each decimal digit of `n` (ASCII, most significant first) to `emit`: the
/// one digit writer behind [`push_int`] and the filter's output rendering.
pub fn each_digit(mut n: u64, mut emit: impl FnMut(u8)) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    for &d in digits.get(at..).unwrap_or_default() {
        emit(d);
    }
}

/// `n` (0..=99) as two digits.
fn push_two(out: &mut String, n: u32) {
    out.extend(two_digits(n).map(char::from));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick reading of CloudTrail's form is `parse` wherever it answers, and
    /// answers for every valid time of that form.
    #[test]
    fn cloudtrail_form_is_parse() {
        let reference = |text: &str| parse(text).ok().map(|t| t.secs);
        let mut texts = Vec::new();
        for year in [
            "1970", "1999", "2000", "2023", "2024", "2100", "0000", "9999",
        ] {
            for month in 0..=13 {
                for day in [0, 1, 28, 29, 30, 31, 32] {
                    texts.push(format!("{year}-{month:02}-{day:02}T23:59:60Z"));
                }
            }
        }
        let base = "2026-06-20T08:09:10Z";
        for at in 0..base.len() {
            for b in *b"0159-:TtZz ./+\x7f" {
                let mut bytes = base.as_bytes().to_vec();
                bytes[at] = b;
                texts.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        for (h, m, s) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (0, 60, 0), (0, 0, 61)] {
            texts.push(format!("2026-06-20T{h:02}:{m:02}:{s:02}Z"));
        }
        texts.extend([
            "2026-06-20T08:09:10Z ".to_owned(),
            "2026-06-20T08:09:10".to_owned(),
        ]);
        let mut quick = 0;
        for text in &texts {
            assert_eq!(parse_event_time(text), reference(text), "{text:?}");
            if let Some(secs) = cloudtrail_utc(text.as_bytes()) {
                assert_eq!(Some(secs), reference(text), "{text:?}");
                quick += 1;
            } else if text.len() == 20 && text.ends_with('Z') && text.contains('T') {
                // Only an invalid date or time of the exact form is left to `parse`.
                assert!(
                    reference(text).is_none()
                        || !text
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b"-T:Z".contains(&b)),
                    "{text:?}"
                );
            }
        }
        assert!(quick > 300, "{quick}");
        assert_eq!(cloudtrail_utc(base.as_bytes()), reference(base));
    }

    #[test]
    fn time_bytes_are_format_time() {
        let mut checked = 0;
        let mut t = -62_167_219_200 - 86_400 * 3; // a few days before 0000-01-01
        while t < 253_402_300_800 + 86_400 * 3 {
            // Every day boundary region and a spread of times of day.
            for offset in [-1, 0, 1, 43_199, 86_399] {
                let unix = t + offset;
                let text = format_time(unix);
                match time_bytes(unix) {
                    Some(bytes) => {
                        assert_eq!(bytes.as_slice(), text.as_bytes(), "{unix}");
                        checked += 1;
                    }
                    None => assert!(
                        !(0..=9999).contains(&civil_from_days(unix.div_euclid(86_400)).0),
                        "{unix}"
                    ),
                }
            }
            t += 86_400 * 37 + 3_661;
        }
        assert!(checked > 100_000, "{checked}");
        assert_eq!(
            time_bytes(0).as_ref().map(|b| &b[..]),
            Some(&b"1970-01-01T00:00:00Z"[..])
        );
    }

    #[test]
    fn durations_push_as_they_format() {
        for secs in [0, 1, 59, 60, 61, 120, 3600, 7200, 86_400, 864_000, -5, 90] {
            let mut pushed = String::from("x");
            push_duration(&mut pushed, secs);
            assert_eq!(pushed, format!("x{}", format_duration(secs)));
        }
        assert_eq!(format_duration(864_000), "10 days");
        assert_eq!(format_duration(3600), "1 hour");
        assert_eq!(format_duration(90), "90 seconds");
    }

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
    fn integers_are_pushed_as_the_standard_library_writes_them() {
        for n in [
            0,
            7,
            -7,
            10,
            9009,
            212_238,
            i64::from(u32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = String::new();
            push_int(&mut out, n);
            assert_eq!(out, alloc::format!("{n}"));
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(864_000), "10 days");
        assert_eq!(format_duration(86_400), "1 day");
        assert_eq!(format_duration(129_600), "36 hours");
        assert_eq!(format_duration(5400), "90 minutes");
        assert_eq!(format_duration(61), "61 seconds");
        assert_eq!(format_duration(1), "1 second");
        assert_eq!(format_duration(0), "0 seconds");
        assert_eq!(format_duration(-5), "-5 seconds");
        // The digits are pushed by hand: the extremes against the standard library's.
        assert_eq!(
            format_duration(i64::MIN),
            alloc::format!("{} seconds", i64::MIN)
        );
        assert_eq!(
            format_duration(i64::MAX),
            alloc::format!("{} seconds", i64::MAX)
        );
    }

    #[test]
    fn written_times_parse_back() {
        for t in [0, 951_782_400, 1_709_208_059, 1_781_942_400, 4_102_444_799] {
            assert_eq!(parse_event_time(&format_time(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn fractions_give_nanoseconds() {
        // 2024-02-29T23:59:59Z: 19,723 days to 2024-01-01 (54 years, 13 leap days),
        // + 31 (January) + 28 (February 1-28) days, + 86,399 s.
        let secs = (19_723 + 31 + 28) * 86_400 + 86_399;
        assert_eq!(
            parse("2024-02-29T23:59:59.5Z"),
            Ok(Timestamp {
                secs,
                nsec: 500_000_000
            })
        );
        assert_eq!(
            parse("2024-02-29T23:59:59.1234567891Z"),
            Ok(Timestamp {
                secs,
                nsec: 123_456_789
            })
        );
        assert_eq!(
            parse("1780315200.25"),
            Ok(Timestamp {
                secs: 1_780_315_200,
                nsec: 250_000_000
            })
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let message = |text: &str| parse(text).map_err(|e| e.to_string());
        assert_eq!(
            message("2026-02-31T00:00:00Z"),
            Err("February 2026 has 28 days, so there is no day 31".into())
        );
        assert_eq!(
            message("2024-04-31T00:00:00Z"),
            Err("April 2024 has 30 days, so there is no day 31".into())
        );
        assert_eq!(
            message("2026-01-00T00:00:00Z"),
            Err("there is no day 00: days start at 01".into())
        );
        assert_eq!(
            message("2026-13-01T00:00:00Z"),
            Err("there is no month 13".into())
        );
        assert!(message("2026-01-01T24:00:00Z")
            .is_err_and(|e| e.starts_with("24:00:00 is not a time of day")));
        assert_eq!(
            message("2026-01-01T00:00:00+24:00"),
            Err("the UTC offset is beyond \u{b1}23:59".into())
        );
        assert!(message("yesterday").is_err_and(|e| e.contains("YYYY-MM-DDTHH:MM:SSZ")));
        assert_eq!(
            message("9999999999999"),
            Err("more Unix seconds than twelve digits hold".into())
        );
    }

    #[test]
    fn dates_by_hand() {
        // 2000-03-01 is day 11,017 (30 years incl. 7 leap days = 10,957, + 31 + 29).
        assert_eq!(format_date(11_017 * 86_400), "2000-03-01");
        assert_eq!(format_date(11_017 * 86_400 - 1), "2000-02-29");
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
