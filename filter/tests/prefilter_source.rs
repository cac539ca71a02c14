//! The prefilter's source-address stage against the full evaluation: records
//! generated in CloudTrail's key order (and near misses of it) go through one engine
//! with the default configuration and one with `enrich_all`, which parses every
//! record in full. The first must find exactly the candidates and detections the
//! second finds, while turning most discovery calls from other addresses away
//! before the parse.
//!
//! Addresses, with their ASNs from the source CSV of the baked table:
//! 2.56.16.10 is AS9009 (M247, on the default VPN list); 8.8.8.8 and
//! 2001:4860:4860::8888 are AS15169 (Google, not on it).

// Tests may panic, unwrap and index: a failing check is meant to stop the test.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
use vpnrecon_filter::config::{self, Loaded, Source};
use vpnrecon_filter::state::{State, StateConfig};
use vpnrecon_filter::{Engine, Mode, RecordTime, Verdict};

fn engine(enrich_all: bool) -> Engine {
    let config = config::Config {
        enrich_all,
        ..config::Config::default()
    };
    let loaded = Loaded {
        config,
        source: Source::Defaults,
        error: None,
    };
    let state = State::in_memory(StateConfig::from(&loaded.config));
    Engine::from_parts(loaded, state)
}

/// Whether the engine spliced a detection, and whether it parsed the record.
fn judge(engine: &mut Engine, record: &str) -> (bool, bool, u64) {
    let parsed = engine.counters().parsed;
    let candidates = engine.counters().candidates;
    let mut out = Vec::new();
    let verdict = engine.process(
        record.as_bytes(),
        RecordTime::default(),
        Mode::Annotate,
        &mut out,
    );
    let detection =
        verdict == Verdict::Rewritten && out.windows(13).any(|w| w == b",\"detection\":");
    (
        detection,
        engine.counters().parsed > parsed,
        engine.counters().candidates - candidates,
    )
}

const VPN: &str = "2.56.16.10";
const NOT_VPN: &str = "8.8.8.8";

fn canonical(name: &str, source: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}},"eventTime":"2026-06-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"{source}","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null}}"#
    )
}

#[test]
fn a_discovery_call_from_a_non_vpn_address_is_not_parsed() {
    let mut quick = engine(false);
    assert_eq!(
        judge(&mut quick, &canonical("ListUsers", NOT_VPN)),
        (false, false, 0)
    );
    assert_eq!(
        judge(&mut quick, &canonical("ListUsers", "AWS Internal")),
        (false, false, 0)
    );
    assert_eq!(
        judge(&mut quick, &canonical("ListUsers", "2001:4860:4860::8888")),
        (false, false, 0)
    );
    // From a VPN address it is parsed, and fires.
    assert_eq!(
        judge(&mut quick, &canonical("ListUsers", VPN)),
        (true, true, 1)
    );
    // IPv4-mapped IPv6 resolves as the IPv4 address.
    let mut quick = engine(false);
    assert_eq!(
        judge(&mut quick, &canonical("ListUsers", "::ffff:2.56.16.10")),
        (true, true, 1)
    );
    // An escaped address is left to the full parse, which decodes it to 2.56.16.10.
    let mut quick = engine(false);
    assert_eq!(
        judge(&mut quick, &canonical("ListUsers", r"2.56.16.\u0031\u0030")),
        (true, true, 1)
    );
}

#[test]
fn near_misses_of_the_canonical_order_get_the_full_parse() {
    let record = canonical("ListUsers", VPN);
    let variants = [
        // The region is escaped, missing, or after the address.
        record.replace("us-east-1", r"us-\u0065ast-1"),
        record.replace(r#""awsRegion":"us-east-1","#, ""),
        record.replace(
            r#""awsRegion":"us-east-1","sourceIPAddress":"2.56.16.10""#,
            r#""sourceIPAddress":"2.56.16.10","awsRegion":"us-east-1""#,
        ),
        // Whitespace between members.
        record.replace(r#","awsRegion""#, r#", "awsRegion""#),
        // Not in CloudTrail's order at all.
        record.replace(r#"{"eventVersion":"1.08","#, r#"{"eventVersion" : "1.08","#),
    ];
    for variant in variants {
        let mut quick = engine(false);
        assert_eq!(judge(&mut quick, &variant), (true, true, 1), "{variant}");
    }
}

/// Random records, canonical and not; the stage must agree with the full parse on
/// every candidate and detection.
#[test]
fn sound_against_the_full_evaluation_on_generated_records() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let names = [
        "ListUsers",
        "DescribeInstances",
        "GetCallerIdentity",
        "ListFunctions20150331",
        "GetObject",
        "Decrypt",
    ];
    let sources = [
        "iam.amazonaws.com",
        "ec2.amazonaws.com",
        "sts.amazonaws.com",
        "lambda.amazonaws.com",
        "s3.amazonaws.com",
    ];
    let addresses = [
        VPN,
        NOT_VPN,
        "2001:4860:4860::8888",
        "2a04:9dc0:0:128::1b",
        "2a00:7320:1:7::2",
        "::ffff:2.56.16.10",
        "::ffff:8.8.8.8",
        "::FFFF:2.56.16.10",
        "ec2.amazonaws.com",
        "AWS Internal",
        "",
        " 2.56.16.10",
        "2.56.16.10 ",
        "10.0.0.1",
        r"2.56.16.\u0031\u0030",
        r"8.8.8.\u0038",
        r"\u0032.56.16.10",
        "2.56.16.10\\n",
        "é",
    ];
    let identities = [
        r#"{"type":"IAMUser","principalId":"AIDA","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}"#,
        r#"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/web/i-0abc","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/web","userName":"web"}}}"#,
        r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#,
        r#"{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","note":"\"sourceIPAddress\":\"8.8.8.8\""}"#,
    ];
    let pick = |rand: &mut dyn FnMut(usize) -> usize, list: &[&'static str]| -> &'static str {
        list.get(rand(list.len())).copied().unwrap_or_default()
    };
    let (mut candidates, mut fired, mut skipped) = (0, 0, 0);
    let mut quick = engine(false);
    let mut full = engine(true);
    for n in 0..20_000 {
        let name = pick(&mut rand, &names);
        let source = pick(&mut rand, &sources);
        let address = pick(&mut rand, &addresses);
        let identity = pick(&mut rand, &identities);
        let time = format!("2026-06-{:02}T12:00:00Z", 1 + n % 28);
        let region = if rand(8) == 0 {
            r"eu-\u0077est-1"
        } else {
            "eu-west-1"
        };
        let gap = if rand(8) == 0 { " " } else { "" };
        let event = match rand(6) {
            // The order AWS writes, optionally with a later duplicate address.
            0..=2 => {
                let later = if rand(3) == 0 {
                    format!(r#","sourceIPAddress":"{}""#, pick(&mut rand, &addresses))
                } else {
                    String::new()
                };
                format!(
                    r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}",{gap}"awsRegion":"{region}","sourceIPAddress":"{address}","userAgent":"aws-cli/2.15.0","requestParameters":{{"sourceIPAddress":"{VPN}"}}{later}}}"#
                )
            }
            // The address before the region, or no region.
            3 => format!(
                r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","sourceIPAddress":"{address}","awsRegion":"{region}"}}"#
            ),
            4 => format!(
                r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","sourceIPAddress":"{address}"}}"#
            ),
            // Another key order.
            _ => format!(
                r#"{{"eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"{address}","eventVersion":"1.08","userIdentity":{identity},"eventTime":"{time}"}}"#
            ),
        };
        let record = match rand(5) {
            0 => format!(r#"{{"Records":[{event},{}]}}"#, canonical(name, VPN)),
            1 => format!(
                r#"{{"log":"{}"}}"#,
                event.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            _ => event,
        };
        let (quick_fires, quick_parsed, quick_candidates) = judge(&mut quick, &record);
        let (full_fires, _, full_candidates) = judge(&mut full, &record);
        assert_eq!(
            (quick_fires, quick_candidates),
            (full_fires, full_candidates),
            "{record}"
        );
        fired += usize::from(full_fires);
        candidates += full_candidates;
        let configured = !matches!(name, "GetObject" | "Decrypt");
        skipped += usize::from(configured && !quick_parsed);
    }
    // Rule A fires once per identity and window, so detections are few; every
    // candidate is compared all the same.
    assert!(
        candidates > 2_000 && fired > 5,
        "generator too weak: {candidates} candidates, {fired} detections"
    );
    assert!(
        skipped > 1_000,
        "stage too weak: {skipped} discovery calls skipped"
    );
}
