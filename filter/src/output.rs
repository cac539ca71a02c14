//! Rendering `detection` and splicing it into the record.
//!
//! The record's own bytes are never re-serialised: the new member is inserted before
//! the closing brace of the top-level object, so every other byte of the record
//! reaches the next stage of the pipeline exactly as it arrived.

use crate::config::ConfigError;
use crate::rules::{Detection, TimeSource};
use crate::time::push_time;
pub use crate::time::{format_duration, format_time};

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

/// Writes `record` with `"key":value` as a member of its top-level object: the
/// value of an existing `key` member (however its name is spelled, e.g. with `\u`
/// escapes) is replaced where it stands; otherwise the member is added last. No
/// other byte changes. The caller has validated `record` as a JSON object.
pub fn splice(record: &[u8], key: &str, value: &str, out: &mut Vec<u8>) {
    let existing = existing_values(record, key);
    splice_at(record, &existing, key, value, out);
}

/// [`splice`] where the byte ranges of the existing `key` values (in order) are
/// already known — the reader of the record found them on its one pass
/// (`record::TopMembers`) — so the record is not walked again.
pub fn splice_at(
    record: &[u8],
    existing: &[(usize, usize)],
    key: &str,
    value: &str,
    out: &mut Vec<u8>,
) {
    if existing.is_empty() {
        append_member(record, key, value, out);
        return;
    }
    out.clear();
    out.reserve(record.len() + value.len() * existing.len());
    let mut copied = 0;
    for &(start, end) in existing {
        out.extend_from_slice(record.get(copied..start).unwrap_or_default());
        out.extend_from_slice(value.as_bytes());
        copied = end;
    }
    out.extend_from_slice(record.get(copied..).unwrap_or_default());
}

/// Byte ranges of the values of every top-level member named `key`, in order. The
/// walk over the top-level members is iterative (nested values are skipped, not
/// descended into), so the nesting depth of the record costs no stack.
pub(crate) fn existing_values(record: &[u8], key: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let Some(members) = crate::scan::Value::parse_validated(record)
        .ok()
        .and_then(|top| top.members())
    else {
        return found;
    };
    let base = record.as_ptr() as usize;
    for member in members {
        let Ok((name, value)) = member else {
            break;
        };
        if name.is(key) {
            // `value.bytes` lies inside `record`: its offset is the address difference.
            let start = (value.bytes.as_ptr() as usize).wrapping_sub(base);
            let end = start.saturating_add(value.bytes.len());
            if end <= record.len() {
                found.push((start, end));
            }
        }
    }
    found
}

/// `record` with `"key":value` added as the last member of its top-level object.
fn append_member(record: &[u8], key: &str, value: &str, out: &mut Vec<u8>) {
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
        out.push_str("\"index\":");
        push_uint(out, index as u64);
        out.push(',');
    }
    out.push_str("\"rule\":{\"id\":\"");
    out.push_str(d.rule.id());
    out.push_str("\",\"name\":\"");
    out.push_str(d.rule.name());
    out.push_str("\",\"severity\":\"");
    out.push_str(d.rule.severity());
    out.push_str("\",\"risk_score\":");
    push_uint(out, u64::from(d.rule.risk_score()));
    out.push_str("},");
    out.push_str(
        "\"threat\":{\"framework\":\"MITRE ATT&CK\",\
         \"tactic\":{\"id\":\"TA0007\",\"name\":\"Discovery\"},\
         \"technique\":[{\"id\":\"T1526\",\"name\":\"Cloud Service Discovery\"},\
         {\"id\":\"T1580\",\"name\":\"Cloud Infrastructure Discovery\"}]},",
    );
    out.push_str("\"source\":{\"ip\":\"");
    push_ip(out, c.source_ip);
    out.push_str("\",\"as\":{\"number\":");
    push_uint(out, u64::from(c.asn));
    out.push_str(",\"organization\":{\"name\":");
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
    out.push_str(",\"outcome\":\"");
    out.push_str(c.outcome);
    out.push_str("\",\"time\":\"");
    push_time(out, c.time);
    out.push_str("\",\"time_source\":\"");
    out.push_str(match c.time_source {
        TimeSource::Event => "event",
        TimeSource::Record => "record",
    });
    out.push_str("\"},\"reason\":");
    string(out, &d.reason);
    if let Some(previous) = d.previous_seen {
        out.push_str(",\"previous_seen\":\"");
        push_time(out, previous);
        out.push('"');
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
    out.push_str("{\"number\":");
    push_uint(&mut out, u64::from(number));
    out.push_str(",\"organization\":{\"name\":");
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
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":");
        string(out, value);
    }
}

// Rendering is hand-written (no `write!`/`format!`): inside the router's wasm
// interpreter the formatting machinery cost about as much as parsing the record.

/// `n` in decimal.
fn push_uint(out: &mut String, mut n: u64) {
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
        out.push(char::from(d));
    }
}

/// IPv4 written by hand (the common case); IPv6 through its `Display`, which
/// compresses zero runs as RFC 5952 says.
fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_uint(out, u64::from(octet));
            }
        }
        std::net::IpAddr::V6(v6) => out.push_str(&v6.to_string()),
    }
}

/// A JSON string: runs of bytes that need no escape are copied whole, found eight
/// bytes at a time.
pub fn string(out: &mut String, text: &str) {
    out.push('"');
    let bytes = text.as_bytes();
    let mut plain = 0;
    let mut at = 0;
    loop {
        at = next_escapable(bytes, at);
        let Some(&b) = bytes.get(at) else {
            break;
        };
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            _ => "",
        };
        // Escapable bytes are ASCII, so `plain..at` ends on a character boundary.
        out.push_str(text.get(plain..at).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(
                HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'),
            ));
        } else {
            out.push_str(escape);
        }
        at += 1;
        plain = at;
    }
    out.push_str(text.get(plain..).unwrap_or_default());
    out.push('"');
}

/// The offset of the first byte at or after `from` that JSON requires escaped (a
/// quote, a backslash or a control byte), or `bytes.len()`.
#[inline]
fn next_escapable(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let q = w ^ (ONES * u64::from(b'"'));
        let b = w ^ (ONES * u64::from(b'\\'));
        // Exact for the lowest flagged byte: a zero byte of `q` or `b`, or a byte
        // below 0x20 of `w` (a borrow only reaches bytes above it).
        let hit = ((q.wrapping_sub(ONES) & !q)
            | (b.wrapping_sub(ONES) & !b)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGHS;
        if hit != 0 {
            return at + (hit.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return at;
        }
        at += 1;
    }
    at
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_numbers_and_addresses() {
        for n in [0u64, 7, 9, 10, 47, 99, 100, 65_535, 4_294_967_295, u64::MAX] {
            let mut out = String::new();
            push_uint(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for ip in ["0.0.0.0", "146.70.117.42", "255.255.255.255", "10.0.0.1"] {
            let parsed: std::net::IpAddr = ip.parse().unwrap_or(std::net::IpAddr::from([0; 4]));
            let mut out = String::new();
            push_ip(&mut out, parsed);
            assert_eq!(out, ip);
        }
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for text in [
            "",
            "plain",
            "a\"b\\c",
            "line\nbreak\r\ttab",
            "\u{0}\u{1f}\u{7f}",
            "caf\u{e9} \u{1f600}",
            "\"",
        ] {
            let mut out = String::new();
            string(&mut out, text);
            assert_eq!(
                out,
                serde_json::to_string(text).unwrap_or_default(),
                "{text:?}"
            );
        }
    }

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
    fn splice_replaces_an_existing_member_value() {
        // Last, first, escaped name, nested braces and strings with braces in the old
        // value; nested members of the same name are not top-level and stay.
        let cases = [
            (
                "{\"a\":1,\"detection\":{\"b\":\"}\"}}",
                "{\"a\":1,\"detection\":{\"x\":1}}",
            ),
            (
                "{ \"detection\" : [ {} ] , \"a\" : 1 }",
                "{ \"detection\" : {\"x\":1} , \"a\" : 1 }",
            ),
            (
                "{\"\\u0064etection\":\"x\\\"}\",\"z\":{\"detection\":0}}",
                "{\"\\u0064etection\":{\"x\":1},\"z\":{\"detection\":0}}",
            ),
            (
                "{\"detection\":1,\"detection\":2}",
                "{\"detection\":{\"x\":1},\"detection\":{\"x\":1}}",
            ),
            (
                "{\"detections\":1}",
                "{\"detections\":1,\"detection\":{\"x\":1}}",
            ),
        ];
        for (record, expected) in cases {
            assert_eq!(spliced(record), expected, "{record}");
        }
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
    fn escapes_found_at_every_offset() {
        for len in 0..20 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', '\u{e9}'] {
                    let text: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    let mut out = String::new();
                    string(&mut out, &text);
                    assert_eq!(
                        out,
                        serde_json::to_string(&text).unwrap_or_default(),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
