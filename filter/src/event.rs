//! The fields of one CloudTrail event that the rules read, and event-time parsing.
//!
//! Field meanings follow Elastic's CloudTrail pipeline: raw CloudTrail names and
//! their ECS equivalents fill the same [`Event`] fields. Values are the decoded
//! JSON strings, borrowed from the record whenever they hold no escapes.

use std::borrow::Cow;

/// A decoded JSON string, borrowed from the record when it has no escapes.
pub type Text<'a> = Cow<'a, str>;

/// Whether the call succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One event's fields. Every field is `None` when absent, not a string, or not
/// decodable (a lone `\u` surrogate, say): the rules then treat it as missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// `eventName` / `event.action`, as logged (Lambda suffix not yet removed).
    pub action: Option<Text<'a>>,
    /// `eventSource` / `event.provider`, e.g. `iam.amazonaws.com`.
    pub provider: Option<Text<'a>>,
    /// `eventTime` / `@timestamp`, unparsed; see [`parse_event_time`].
    pub time: Option<Text<'a>>,
    /// `sourceIPAddress` / `source.ip`: an address or a service name.
    pub source_ip: Option<Text<'a>>,
    /// `errorCode` / `aws.cloudtrail.error_code`.
    pub error_code: Option<Text<'a>>,
    /// `userIdentity.arn` / `aws.cloudtrail.user_identity.arn`.
    pub arn: Option<Text<'a>>,
    /// `userIdentity.type` / `aws.cloudtrail.user_identity.type`.
    pub identity_type: Option<Text<'a>>,
    /// `userIdentity.accessKeyId` / `aws.cloudtrail.user_identity.access_key_id`.
    pub access_key_id: Option<Text<'a>>,
    /// Elastic's `user.name`: the session issuer's user name, else `userName`.
    pub user_name: Option<Text<'a>>,
    /// The session issuer's user name only (the role of an assumed-role session).
    pub role_name: Option<Text<'a>>,
    /// `userIdentity.accountId`, else `recipientAccountId` / `cloud.account.id`.
    pub account_id: Option<Text<'a>>,
    /// `awsRegion` / `cloud.region`.
    pub region: Option<Text<'a>>,
    /// `userAgent` / `user_agent.original`.
    pub user_agent: Option<Text<'a>>,
    /// ECS `event.outcome` when it says `success` or `failure`; raw CloudTrail
    /// events have none (their outcome comes from `errorCode`).
    pub ecs_outcome: Option<Outcome>,
}

impl Event<'_> {
    /// ECS `event.outcome` when given, else `errorCode` present → failure.
    pub fn outcome(&self) -> Outcome {
        match self.ecs_outcome {
            Some(outcome) => outcome,
            None if self.error_code.is_some() => Outcome::Failure,
            None => Outcome::Success,
        }
    }
}

/// The session name of an assumed-role ARN
/// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` → `SESSION`); `None` for any
/// other ARN or an empty session.
pub fn session_name(arn: &str) -> Option<&str> {
    let (_, path) = arn.split_once(":assumed-role/")?;
    let (role, session) = path.split_once('/')?;
    if role.is_empty() || session.is_empty() {
        return None;
    }
    // A session name has no `/`; keep the last element if a path sneaks in.
    session.rsplit('/').next().filter(|s| !s.is_empty())
}

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
    fn session_names() {
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role/web-role/i-0abc1234def567890"),
            Some("i-0abc1234def567890")
        );
        assert_eq!(
            session_name("arn:aws-us-gov:sts::123456789012:assumed-role/R/alice@example.com"),
            Some("alice@example.com")
        );
        assert_eq!(session_name("arn:aws:iam::123456789012:user/alice"), None);
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role/R"),
            None
        );
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role/R/"),
            None
        );
        assert_eq!(
            session_name("arn:aws:sts::123456789012:assumed-role//s"),
            None
        );
        assert_eq!(session_name(""), None);
    }

    #[test]
    fn outcome_rules() {
        let mut event = Event::default();
        assert_eq!(event.outcome(), Outcome::Success);
        event.error_code = Some(Cow::Borrowed("AccessDenied"));
        assert_eq!(event.outcome(), Outcome::Failure);
        event.error_code = None;
        event.ecs_outcome = Some(Outcome::Failure);
        assert_eq!(event.outcome(), Outcome::Failure);
    }
}
