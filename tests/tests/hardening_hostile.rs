//! Hostile records through the real wasm module, in wasmtime and in WAMR at Fluent
//! Bit's default 8 KiB stack and heap, in both modes.
//!
//! Annotate: every hostile record comes back byte for byte (none fires: they use
//! addresses outside the VPN list or are not valid events), no call traps, and the
//! module's record counter shows none was lost. Alerts: each is dropped, no trap.
//! Then hostile records that *are* candidates: a discovery call from a VPN address
//! with 100,000-deep `requestParameters`, and one with a 5 MB `userAgent`.

mod hardening_common;

use hardening_common::*;
use vpnrecon_host::{CallOutcome, Mode};

const DEEP: usize = 100_000;

/// A discovery call from outside the VPN list: evaluated in full, never fires.
const SMALL_EVENT: &str =
    r#"{"eventName":"ListUsers","eventSource":"iam.amazonaws.com","sourceIPAddress":"8.8.8.8"}"#;

fn deep_array(depth: usize) -> String {
    "[".repeat(depth) + &"]".repeat(depth)
}

fn deep_object(depth: usize) -> String {
    "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth)
}

/// A JSON string literal holding `text` (quotes and backslashes escaped).
fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// Records that must pass through annotate mode unchanged. Most carry
/// `"eventName":"ListUsers"`, so they get past the prefilter into the full parse.
fn hostile_records() -> Vec<(&'static str, Vec<u8>)> {
    let plain = discovery_event("alice", PLAIN_IP, "2026-06-01T12:00:00Z");
    let vpn = discovery_event("alice", VPN_IP, "2026-06-01T12:00:00Z");
    let plain_body = plain.strip_suffix('}').expect("object");
    let with = |extra: &str| format!("{plain_body},{extra}}}").into_bytes();
    let mut cases: Vec<(&'static str, Vec<u8>)> = vec![
        ("10 MB string member", with(&format!("\"pad\":\"{}\"", "x".repeat(10 << 20)))),
        (
            "10 MB of members",
            with("\"k\":[1,2,3,{\"z\":null}],".repeat((10 << 20) / 24).trim_end_matches(',')),
        ),
        ("array nesting 100,000", with(&format!("\"deep\":{}", deep_array(DEEP)))),
        ("object nesting 100,000", with(&format!("\"deep\":{}", deep_object(DEEP)))),
        (
            "unclosed nesting 100,000",
            format!("{{\"eventName\":\"ListUsers\",\"deep\":{}}}", "[".repeat(DEEP)).into_bytes(),
        ),
        ("top-level array nesting 100,000", deep_array(DEEP).into_bytes()),
        (
            "nesting 100,000 inside a log string",
            format!(
                "{{\"log\":{},\"stream\":\"stdout\"}}",
                json_string(&format!("{},\"deep\":{}}}", plain_body, deep_array(DEEP)))
            )
            .into_bytes(),
        ),
        (
            "object nesting 100,000 inside a log string",
            format!(
                "{{\"log\":{}}}",
                json_string(&format!("{},\"deep\":{}}}", plain_body, deep_object(DEEP)))
            )
            .into_bytes(),
        ),
        (
            "nesting 100,000 inside Records",
            format!("{{\"Records\":[{},\"deep\":{}}}]}}", plain_body, deep_array(DEEP)).into_bytes(),
        ),
        (
            "nesting 100,000 as a Records element",
            format!("{{\"Records\":[{plain},{}]}}", deep_object(DEEP)).into_bytes(),
        ),
        ("invalid UTF-8 in a string", {
            let mut r = with("\"bad\":\"");
            r.truncate(r.len() - 1);
            r.extend_from_slice(b"\xff\xfe\xc3\x28\xed\xa0\x80\"}");
            r
        }),
        ("invalid UTF-8 in the address of a VPN event", {
            let (before, after) = vpn.split_once(VPN_IP).expect("address");
            [before.as_bytes(), b"2.56.16.1\xff", after.as_bytes()].concat()
        }),
        (
            "escaped NUL and lone surrogates",
            with("\"nul\":\"a\\u0000b\",\"lone\":\"\\ud800\",\"userAgent\":\"\\udfff\""),
        ),
        ("top-level array", b"[1,2,{\"eventName\":\"ListUsers\"}]".to_vec()),
        ("top-level string", b"\"eventName ListUsers\"".to_vec()),
        ("top-level number", b"12345".to_vec()),
        ("top-level negative float", b"-1.5e300".to_vec()),
        ("null", b"null".to_vec()),
        ("true", b"true".to_vec()),
        ("whitespace only", b" \n\t ".to_vec()),
        ("lone brace", b"{".to_vec()),
        ("empty object", b"{}".to_vec()),
        ("braces only", b"}{".to_vec()),
        ("truncated after the first byte of a VPN event", vpn.as_bytes()[..1].to_vec()),
        ("truncated VPN event, half", vpn.as_bytes()[..vpn.len() / 2].to_vec()),
        ("truncated VPN event, last brace missing", vpn.as_bytes()[..vpn.len() - 1].to_vec()),
        (
            "truncated VPN event ending in a nested brace",
            {
                let cut = vpn.find("\"eventTime\"").expect("eventTime");
                vpn.as_bytes()[..cut - 1].to_vec()
            },
        ),
        ("VPN event with an unterminated string", vpn.replacen("\"ListUsers\"", "\"ListUsers", 1).into_bytes()),
        ("VPN event with a trailing comma", vpn.replacen('}', ",}", 1).into_bytes()),
        ("VPN event followed by a second object", format!("{vpn}{vpn}").into_bytes()),
        ("Records is an object", format!("{{\"Records\":{plain}}}").into_bytes()),
        ("Records is a string", b"{\"Records\":\"ListUsers\"}".to_vec()),
        ("Records is null", b"{\"Records\":null,\"eventName\":\"ListUsers\"}".to_vec()),
        ("Records is a number", b"{\"Records\":1e400,\"eventName\":\"ListUsers\"}".to_vec()),
        (
            "Records with 100,000 elements",
            format!("{{\"Records\":[{}]}}", vec![SMALL_EVENT; 100_000].join(",")).into_bytes(),
        ),
        (
            "Records with 100,000 scalars",
            format!("{{\"eventName\":\"ListUsers\",\"Records\":[{}]}}", vec!["1"; 100_000].join(",")).into_bytes(),
        ),
        (
            "huge numbers",
            with(&format!(
                "\"n\":1e999999999,\"m\":-{},\"f\":0.{}e-99999,\"eventTime\":1e400",
                "9".repeat(100_000),
                "1".repeat(10_000)
            )),
        ),
        (
            "huge number as the event time",
            plain.replace("\"2026-06-01T12:00:00Z\"", &"9".repeat(5000)).into_bytes(),
        ),
        (
            "duplicate keys",
            with("\"eventName\":\"ListUsers\",\"sourceIPAddress\":\"8.8.4.4\",\"userIdentity\":{\"type\":\"Root\"},\"userIdentity\":7"),
        ),
        ("byte order mark", [b"\xEF\xBB\xBF".as_slice(), plain.as_bytes()].concat()),
        ("byte order mark on a VPN event", [b"\xEF\xBB\xBF".as_slice(), vpn.as_bytes()].concat()),
        ("CRLF between members", plain.replace(",\"", ",\r\n\"").into_bytes()),
        ("CRLF line ending", format!("{plain}\r\n").into_bytes()),
    ];
    // Raw NUL bytes cannot survive Fluent Bit's own handling (it measures the
    // returned string with strlen); see `raw_nul_bytes_end_the_record_at_the_host`.
    cases.retain(|(_, r)| !r.contains(&0));
    cases
}

#[test]
fn hostile_records_pass_through_annotate_byte_for_byte_and_are_dropped_by_alerts() {
    let cases = hostile_records();
    for backend in backends() {
        let mut annotate = host(backend, Mode::Annotate, None);
        let mut alerts = host(backend, Mode::Alerts, None);
        let mut out = Vec::new();
        for (name, record) in &cases {
            let outcome = call(annotate.as_mut(), record, &mut out)
                .unwrap_or_else(|e| panic!("{backend} annotate, {name}: {e}"));
            assert_eq!(outcome, CallOutcome::Kept, "{backend} annotate, {name}");
            assert!(out == *record, "{backend} annotate changed {name}");
            let outcome = call(alerts.as_mut(), record, &mut out)
                .unwrap_or_else(|e| panic!("{backend} alerts, {name}: {e}"));
            assert_eq!(
                outcome,
                CallOutcome::Dropped,
                "{backend} alerts kept {name}"
            );
        }
        // Zero lost records: the module counted every call and stayed in one instance.
        for h in [&mut annotate, &mut alerts] {
            let info = info(h.as_mut());
            assert_eq!(
                info["counters"]["records"],
                cases.len() as u64,
                "{backend}: {info}"
            );
            assert_eq!(h.instantiations(), 1, "{backend}: an instance was replaced");
        }
    }
}

#[test]
fn empty_input_stays_empty() {
    // An empty record returned as is *is* the empty string, which Fluent Bit reads
    // as "drop": the same bytes either way, and no trap.
    for backend in backends() {
        for mode in [Mode::Annotate, Mode::Alerts] {
            let mut h = host(backend, mode, None);
            let mut out = vec![b'x'];
            let outcome = call(h.as_mut(), b"", &mut out).expect("no trap");
            assert_eq!(outcome, CallOutcome::Dropped, "{backend} {mode:?}");
            assert!(out.is_empty());
        }
    }
}

#[test]
fn raw_nul_bytes_end_the_record_at_the_host() {
    // JSON produced by Fluent Bit escapes NUL as \u0000; a raw NUL can only come
    // from a broken producer. The module returns the host's own bytes, and the host
    // (like Fluent Bit) reads them up to the first NUL.
    let plain = discovery_event("alice", PLAIN_IP, "2026-06-01T12:00:00Z");
    let record = plain.replace("ListUsers", "List\0Users").into_bytes();
    let nul = record.iter().position(|&b| b == 0).expect("has a NUL");
    for backend in backends() {
        let mut annotate = host(backend, Mode::Annotate, None);
        let mut out = Vec::new();
        let outcome = call(annotate.as_mut(), &record, &mut out).expect("no trap");
        assert_eq!(outcome, CallOutcome::Kept);
        assert_eq!(out, record[..nul], "{backend}");
        let mut alerts = host(backend, Mode::Alerts, None);
        let outcome = call(alerts.as_mut(), &record, &mut out).expect("no trap");
        assert_eq!(outcome, CallOutcome::Dropped, "{backend}");
    }
}

/// A discovery call from a VPN address is a candidate however large or deep the
/// rest of the event is: the scanner validates it without recursion, and the
/// detection is spliced in with every other byte kept.
#[test]
fn hostile_candidates_fire_without_trapping() {
    let vpn = discovery_event("mallory", VPN_IP, "2026-06-01T12:00:00Z");
    let deep = vpn
        .replace(
            "\"requestParameters\":null",
            &format!("\"requestParameters\":{}", deep_object(DEEP)),
        )
        .replace(
            "\"responseElements\":null",
            &format!("\"responseElements\":{}", deep_array(DEEP)),
        );
    let long_agent = vpn.replace("aws-cli/2.17.20", &"A".repeat(5 << 20));
    let cases = [
        ("100,000-deep requestParameters", deep),
        ("5 MB userAgent", long_agent),
    ];
    for backend in backends() {
        for (name, record) in &cases {
            let record = record.as_bytes();
            let mut annotate = host(backend, Mode::Annotate, None);
            let mut out = Vec::new();
            let outcome = call(annotate.as_mut(), record, &mut out)
                .unwrap_or_else(|e| panic!("{backend} annotate, {name}: {e}"));
            assert_eq!(outcome, CallOutcome::Kept);
            assert_spliced(record, &out);
            let tail = String::from_utf8_lossy(&out[record.len() - 1..]);
            assert!(
                tail.contains("\"vpnrecon-discovery-vpn-new-identity\""),
                "{backend} {name}: {tail}"
            );
            assert!(tail.contains("\"number\":9009"), "{backend} {name}: {tail}");
            let mut alerts = host(backend, Mode::Alerts, None);
            let mut alerted = Vec::new();
            let outcome = call(alerts.as_mut(), record, &mut alerted)
                .unwrap_or_else(|e| panic!("{backend} alerts, {name}: {e}"));
            assert_eq!(outcome, CallOutcome::Kept, "{backend} alerts, {name}");
            assert!(
                alerted == out,
                "{backend}: alerts output differs from annotate"
            );
        }
    }
}
