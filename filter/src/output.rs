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
    append_rendered(record, key, value.len(), out, |out| {
        out.extend_from_slice(value.as_bytes())
    });
}

/// `record` with `"key":` and what `render` writes added as the last member of its
/// top-level object; `size` is room to reserve for the value.
fn append_rendered(
    record: &[u8],
    key: &str,
    size: usize,
    out: &mut Vec<u8>,
    render: impl FnOnce(&mut Vec<u8>),
) {
    let (head, tail, has_members) = insertion_point(record);
    out.clear();
    out.reserve(record.len() + key.len() + size + 4);
    out.extend_from_slice(head);
    if has_members {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    render(out);
    out.extend_from_slice(tail);
}

/// Where a new last member goes: the record before and from its closing brace, and
/// whether the object already has members (then a comma goes first).
fn insertion_point(record: &[u8]) -> (&[u8], &[u8], bool) {
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
    (head, tail, has_members)
}

/// Where rendered JSON goes: the record's output buffer directly (the firing path:
/// no separate string to allocate and copy) or a `String`. Only ASCII bytes and
/// whole `&str`s are written, so a `String` stays UTF-8.
pub trait Sink {
    fn text(&mut self, text: &str);
    /// An ASCII byte.
    fn ascii(&mut self, byte: u8);
    /// A time as [`crate::time::time_bytes`] writes it (ASCII).
    fn time(&mut self, time: &[u8; 20]);
    /// `text` between quotes, as is: only for text the caller has found needs no
    /// escape ([`string`] asks `scan::is_plain_ascii`).
    fn quoted(&mut self, text: &str);
}

impl Sink for String {
    #[inline]
    fn text(&mut self, text: &str) {
        self.push_str(text);
    }
    #[inline]
    fn ascii(&mut self, byte: u8) {
        self.push(char::from(byte));
    }
    fn time(&mut self, time: &[u8; 20]) {
        for &byte in time {
            self.push(char::from(byte));
        }
    }
    #[inline]
    fn quoted(&mut self, text: &str) {
        self.reserve(text.len() + 2);
        self.push('"');
        self.push_str(text);
        self.push('"');
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
    #[inline]
    fn ascii(&mut self, byte: u8) {
        self.push(byte);
    }
    #[inline]
    fn time(&mut self, time: &[u8; 20]) {
        self.extend_from_slice(time);
    }
    #[inline]
    fn quoted(&mut self, text: &str) {
        self.reserve(text.len() + 2);
        self.push(b'"');
        self.extend_from_slice(text.as_bytes());
        self.push(b'"');
    }
}

/// The `detection` object: the single detection of a one-event record, or
/// `{"events":[...]}` with each firing event's position for a `Records` batch.
pub fn render_detections(detections: &[Detection], config_error: Option<&ConfigError>) -> String {
    let mut out = String::with_capacity(768 * detections.len());
    render_detections_into(&mut out, detections, config_error);
    out
}

/// [`render_detections`] written to `out`.
pub fn render_detections_into<S: Sink>(
    out: &mut S,
    detections: &[Detection],
    config_error: Option<&ConfigError>,
) {
    let batched = detections.iter().any(|d| d.index.is_some());
    match detections {
        [single] if !batched => render_one(out, single, config_error),
        _ => {
            out.text("{\"events\":[");
            for (i, detection) in detections.iter().enumerate() {
                if i > 0 {
                    out.ascii(b',');
                }
                render_one(out, detection, config_error);
            }
            out.text("]}");
        }
    }
}

/// `record` with its top-level `key` member set to what `render` writes: as
/// [`splice_at`], but rendered straight into `out` when the member is added (the
/// common case), so the value is neither allocated apart nor copied.
pub fn splice_rendered(
    record: &[u8],
    existing: &[(usize, usize)],
    key: &str,
    out: &mut Vec<u8>,
    render: impl FnOnce(&mut Vec<u8>),
) {
    if !existing.is_empty() {
        let mut value = Vec::new();
        render(&mut value);
        let value = String::from_utf8_lossy(&value);
        splice_at(record, existing, key, &value, out);
        return;
    }
    append_rendered(record, key, 1024, out, render);
}

fn render_one<S: Sink>(out: &mut S, d: &Detection, config_error: Option<&ConfigError>) {
    let c = &d.candidate;
    out.ascii(b'{');
    if let Some(index) = d.index {
        out.text("\"index\":");
        push_uint(out, index as u64);
        out.ascii(b',');
    }
    out.text("\"rule\":{\"id\":\"");
    out.text(d.rule.id());
    out.text("\",\"name\":\"");
    out.text(d.rule.name());
    out.text("\",\"severity\":\"");
    out.text(d.rule.severity());
    out.text("\",\"risk_score\":");
    push_uint(out, u64::from(d.rule.risk_score()));
    out.text(
        "},\"threat\":{\"framework\":\"MITRE ATT&CK\",\
         \"tactic\":{\"id\":\"TA0007\",\"name\":\"Discovery\"},\
         \"technique\":[{\"id\":\"T1526\",\"name\":\"Cloud Service Discovery\"},\
         {\"id\":\"T1580\",\"name\":\"Cloud Infrastructure Discovery\"}]},\
         \"source\":{\"ip\":\"",
    );
    push_ip(out, c.source_ip);
    out.text("\",\"as\":{\"number\":");
    push_uint(out, u64::from(c.asn));
    out.text(",\"organization\":{\"name\":");
    string(out, &c.organisation);
    out.text("}},\"asn_category\":");
    string(out, &c.category);
    out.text("},\"identity\":{\"key\":");
    string(out, &d.identity_key);
    out.text(",\"arn\":");
    string(out, &c.arn);
    optional(out, ",\"type\":", d.identity_type.as_deref());
    optional(out, ",\"user_name\":", d.user_name.as_deref());
    optional(out, ",\"account_id\":", d.account_id.as_deref());
    optional(out, ",\"access_key_id\":", d.access_key_id.as_deref());
    out.text("},\"event\":{\"action\":");
    string(out, &c.action);
    out.text(",\"provider\":");
    string(out, &c.provider);
    out.text(",\"outcome\":\"");
    out.text(c.outcome);
    out.text("\",\"time\":\"");
    push_time_to(out, c.time);
    out.text(match c.time_source {
        TimeSource::Event => "\",\"time_source\":\"event\"},\"reason\":",
        TimeSource::Record => "\",\"time_source\":\"record\"},\"reason\":",
    });
    string(out, &d.reason);
    if let Some(previous) = d.previous_seen {
        out.text(",\"previous_seen\":\"");
        push_time_to(out, previous);
        out.ascii(b'"');
    }
    if let Some(error) = config_error {
        out.text(",\"config_error\":");
        string(out, &error.to_string());
    }
    out.ascii(b'}');
}

/// [`crate::time::format_time`] of `unix`; years of four digits (every real
/// event time) without a `String` in between.
fn push_time_to<S: Sink>(out: &mut S, unix: i64) {
    match crate::time::time_bytes(unix) {
        Some(bytes) => out.time(&bytes),
        None => {
            let mut text = String::with_capacity(24);
            push_time(&mut text, unix);
            out.text(&text);
        }
    }
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

/// `prefix` (`,"key":`) and the string, when there is one.
fn optional<S: Sink>(out: &mut S, prefix: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.text(prefix);
        string(out, value);
    }
}

// Rendering is hand-written (no `write!`/`format!`): inside the router's wasm
// interpreter the formatting machinery cost about as much as parsing the record.

/// `n` in decimal.
fn push_uint<S: Sink>(out: &mut S, n: u64) {
    crate::time::each_digit(n, |d| out.ascii(d));
}

/// IPv4 written by hand (the common case); IPv6 through its `Display`, which
/// compresses zero runs as RFC 5952 says.
fn push_ip<S: Sink>(out: &mut S, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.ascii(b'.');
                }
                push_uint(out, u64::from(octet));
            }
        }
        std::net::IpAddr::V6(v6) => out.text(&v6.to_string()),
    }
}

/// A JSON string. Plain ASCII text (`scan::is_plain_ascii`) is copied
/// between quotes whole; otherwise runs of bytes that need no escape are copied
/// whole, found eight bytes at a time, and the bytes between them escaped.
pub fn string<S: Sink>(out: &mut S, text: &str) {
    // Nearly every string a detection holds (ARNs, names, ids) is plain ASCII.
    if crate::scan::is_plain_ascii(text.as_bytes()) {
        out.quoted(text);
        return;
    }
    out.ascii(b'"');
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
        out.text(text.get(plain..at).unwrap_or_default());
        if escape.is_empty() {
            out.text("\\u00");
            out.ascii(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.ascii(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'));
        } else {
            out.text(escape);
        }
        at += 1;
        plain = at;
    }
    out.text(text.get(plain..).unwrap_or_default());
    out.ascii(b'"');
}

/// The offset of the first byte at or after `from` that JSON requires escaped (a
/// quote, a backslash or a control byte), or `bytes.len()`: the scanner's search
/// for bytes special inside a string (sixteen bytes per step), which also stops at
/// non-ASCII bytes; those need no escape and the search goes on after them.
#[inline]
fn next_escapable(bytes: &[u8], mut at: usize) -> usize {
    loop {
        at = crate::scan::next_string_special_in(bytes, at);
        match bytes.get(at) {
            Some(&b) if b >= 0x80 => at += 1,
            _ => return at,
        }
    }
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
    fn rendering_in_place_is_the_splice() {
        for record in [
            "{\"a\":1}",
            "{ \"a\" : [1, {}] }\n",
            "{}",
            "{ \n}",
            "{\"a\":1,\"detection\":{\"b\":\"}\"}}",
            "{\"detection\":1,\"detection\":2}",
            "{\"\\u0064etection\":\"x\\\"}\",\"z\":{\"detection\":0}}",
        ] {
            let existing = existing_values(record.as_bytes(), "detection");
            let mut rendered = Vec::new();
            splice_rendered(
                record.as_bytes(),
                &existing,
                "detection",
                &mut rendered,
                |b| b.extend_from_slice(b"{\"x\":1}"),
            );
            assert_eq!(
                String::from_utf8_lossy(&rendered),
                spliced(record),
                "{record}"
            );
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
        for len in 0..=40 {
            let plain: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', '\u{e9}'] {
                    let text: String = plain
                        .chars()
                        .enumerate()
                        .map(|(i, c)| if i == at { special } else { c })
                        .collect();
                    let expected = serde_json::to_string(&text).unwrap_or_default();
                    let mut out = String::new();
                    string(&mut out, &text);
                    assert_eq!(out, expected, "{text:?}");
                    let mut bytes = Vec::new();
                    string(&mut bytes, &text);
                    assert_eq!(String::from_utf8_lossy(&bytes), expected, "{text:?}");
                }
            }
            let mut out = Vec::new();
            string(&mut out, &plain);
            assert_eq!(String::from_utf8_lossy(&out), format!("\"{plain}\""));
        }
    }

    #[test]
    fn times_render_as_format_time() {
        for unix in [
            0,
            1_781_942_400,
            -1,
            -62_167_219_201,
            253_402_300_799,
            253_402_300_800,
            i64::MAX / 2,
        ] {
            let mut bytes = Vec::new();
            push_time_to(&mut bytes, unix);
            let mut text = String::new();
            push_time_to(&mut text, unix);
            assert_eq!(String::from_utf8_lossy(&bytes), format_time(unix), "{unix}");
            assert_eq!(text, format_time(unix), "{unix}");
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
