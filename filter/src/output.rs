//! Rendering `detection` and splicing it into the record.
//!
//! The record's own bytes are never re-serialised: the new member is inserted before
//! the closing brace of the top-level object, so every other byte of the record
//! reaches the next stage of the pipeline exactly as it arrived.

use crate::config::ConfigError;
use crate::rules::{Detection, TimeSource};
use std::fmt::Write;

/// JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Cheap shape check done on every record: the first and last non-space bytes
/// are `{` and `}`. Full validation happens only for records that pass the
/// prefilter.
pub fn looks_like_object(record: &[u8]) -> bool {
    let mut bytes = record.iter().copied().filter(|&b| !is_space(b));
    bytes.next() == Some(b'{') && record.iter().rev().find(|&&b| !is_space(b)) == Some(&b'}')
}

/// Writes `record` with `"key":value` added as the last member of its top-level
/// object. The caller has validated `record` as a JSON object.
pub fn splice(record: &[u8], key: &str, value: &str, out: &mut Vec<u8>) {
    let close = record
        .iter()
        .rposition(|&b| b == b'}')
        .unwrap_or(record.len());
    let (head, tail) = record.split_at(close);
    let has_members = head
        .iter()
        .rev()
        .find(|&&b| !is_space(b))
        .is_some_and(|&b| b != b'{');
    out.clear();
    out.reserve(record.len() + key.len() + value.len() + 4);
    out.extend_from_slice(head);
    if has_members {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(tail);
}

/// The `detection` object: the single detection of a one-event record, or
/// `{"events":[...]}` with each firing event's position for a `Records` batch.
pub fn render_detections(detections: &[Detection], config_error: Option<&ConfigError>) -> String {
    let mut out = String::with_capacity(768 * detections.len());
    let batched = detections.iter().any(|d| d.index.is_some());
    match detections {
        [single] if !batched => render_one(&mut out, single, config_error),
        _ => {
            out.push_str("{\"events\":[");
            for (i, detection) in detections.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render_one(&mut out, detection, config_error);
            }
            out.push_str("]}");
        }
    }
    out
}

fn render_one(out: &mut String, d: &Detection, config_error: Option<&ConfigError>) {
    let c = &d.candidate;
    out.push('{');
    if let Some(index) = d.index {
        let _ = write!(out, "\"index\":{index},");
    }
    let _ = write!(
        out,
        "\"rule\":{{\"id\":\"{}\",\"name\":\"{}\",\"severity\":\"{}\",\"risk_score\":{}}},",
        d.rule.id(),
        d.rule.name(),
        d.rule.severity(),
        d.rule.risk_score()
    );
    out.push_str(
        "\"threat\":{\"framework\":\"MITRE ATT&CK\",\
         \"tactic\":{\"id\":\"TA0007\",\"name\":\"Discovery\"},\
         \"technique\":[{\"id\":\"T1526\",\"name\":\"Cloud Service Discovery\"},\
         {\"id\":\"T1580\",\"name\":\"Cloud Infrastructure Discovery\"}]},",
    );
    out.push_str("\"source\":{\"ip\":");
    string(out, &c.source_ip.to_string());
    let _ = write!(
        out,
        ",\"as\":{{\"number\":{},\"organization\":{{\"name\":",
        c.asn
    );
    string(out, &c.organisation);
    out.push_str("}},\"asn_category\":");
    string(out, &c.category);
    out.push_str("},\"identity\":{\"key\":");
    string(out, &d.identity_key);
    out.push_str(",\"arn\":");
    string(out, &c.arn);
    optional(out, "type", d.identity_type.as_deref());
    optional(out, "user_name", d.user_name.as_deref());
    optional(out, "account_id", d.account_id.as_deref());
    optional(out, "access_key_id", d.access_key_id.as_deref());
    out.push_str("},\"event\":{\"action\":");
    string(out, &c.action);
    out.push_str(",\"provider\":");
    string(out, &c.provider);
    let _ = write!(
        out,
        ",\"outcome\":\"{}\",\"time\":\"{}\",\"time_source\":\"{}\"}},\"reason\":",
        c.outcome,
        format_time(c.time),
        match c.time_source {
            TimeSource::Event => "event",
            TimeSource::Record => "record",
        }
    );
    string(out, &d.reason);
    if let Some(previous) = d.previous_seen {
        let _ = write!(out, ",\"previous_seen\":\"{}\"", format_time(previous));
    }
    if let Some(error) = config_error {
        out.push_str(",\"config_error\":");
        string(out, &error.to_string());
    }
    out.push('}');
}

/// `source_as` added by `enrich_all`.
pub fn render_source_as(number: u32, organisation: &str, category: Option<&str>) -> String {
    let mut out = String::with_capacity(96);
    let _ = write!(out, "{{\"number\":{number},\"organization\":{{\"name\":");
    string(&mut out, organisation);
    out.push('}');
    if let Some(category) = category {
        out.push_str(",\"asn_category\":");
        string(&mut out, category);
    }
    out.push('}');
    out
}

fn optional(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        let _ = write!(out, ",\"{key}\":");
        string(out, value);
    }
}

/// Appends `text` as a JSON string literal.
pub fn string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), by the era-based method (eras of
/// 400 years = 146,097 days, years starting in March so leap days fall last).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spliced(record: &str) -> String {
        let mut out = Vec::new();
        splice(record.as_bytes(), "detection", "{\"x\":1}", &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn splice_keeps_every_other_byte() {
        assert_eq!(spliced("{\"a\":1}"), "{\"a\":1,\"detection\":{\"x\":1}}");
        assert_eq!(
            spliced("{ \"a\" : [1, {}] }\n"),
            "{ \"a\" : [1, {}] ,\"detection\":{\"x\":1}}\n"
        );
        assert_eq!(spliced("{}"), "{\"detection\":{\"x\":1}}");
        assert_eq!(spliced("{ \n}"), "{ \n\"detection\":{\"x\":1}}");
    }

    #[test]
    fn object_check_is_about_the_ends() {
        assert!(looks_like_object(b" {\"a\":1}\r\n"));
        assert!(!looks_like_object(b"[1]"));
        assert!(!looks_like_object(b""));
        assert!(!looks_like_object(b"{\"a\":1"));
        assert!(!looks_like_object(b"\xef\xbb\xbf{}"));
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
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
