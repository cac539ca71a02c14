//! The JavaScript API's logic, run natively (the Node tests run the built package).

use super::*;

const ATTACK_CHAIN: &str = include_str!("../../../tests/fixtures/attack_chain.ndjson");

fn lines() -> Vec<&'static str> {
    ATTACK_CHAIN.lines().filter(|l| !l.is_empty()).collect()
}

#[test]
fn annotate_adds_detection_only_to_firing_records() {
    let mut detector = Detector::new(None);
    let records = lines();
    let first = records.first().copied().unwrap_or_default();
    let annotated = detector.annotate(first, 0.0);
    assert!(annotated.contains("\"vpnrecon-discovery-vpn-new-identity\""));
    assert!(annotated.starts_with(first.trim_end_matches('}')));
    // The second call of the same key within seconds does not fire and comes back as is.
    let second = records.get(1).copied().unwrap_or_default();
    assert_eq!(detector.annotate(second, 0.0), second);
    assert_eq!(detector.alerts_text(second, 0.0), None);
}

#[test]
fn bad_input_passes_through_and_alerts_drop_it() {
    let mut detector = Detector::new(None);
    for bad in [
        "",
        "not json",
        "[1,2]",
        "{",
        "{\"eventName\":",
        "null",
        "{\"a\":1}",
    ] {
        assert_eq!(detector.annotate(bad, 0.0), bad);
        assert_eq!(detector.alerts_text(bad, f64::NAN), None);
    }
}

#[test]
fn snapshot_in_the_middle_gives_the_same_alerts() {
    let records = lines();
    let mut whole = Detector::new(None);
    let expected: Vec<Option<String>> = records.iter().map(|r| whole.alerts_text(r, 0.0)).collect();
    let (head, tail) = records.split_at(records.len() / 2);
    let mut first = Detector::new(None);
    let mut got: Vec<Option<String>> = head.iter().map(|r| first.alerts_text(r, 0.0)).collect();
    let snapshot = first.snapshot();
    let restored = Detector::restore_from(&snapshot, None);
    assert!(restored.is_ok(), "a snapshot restores");
    if let Ok(mut second) = restored {
        got.extend(tail.iter().map(|r| second.alerts_text(r, 0.0)));
    }
    assert_eq!(got, expected);
    assert!(expected.iter().filter(|a| a.is_some()).count() >= 2);
}

#[test]
fn restore_refuses_bytes_that_are_not_a_snapshot() {
    let refused = Detector::restore_from(b"definitely not a snapshot", None);
    assert!(matches!(refused, Err(ref e) if e.contains("not a snapshot")));
}

#[test]
fn an_invalid_configuration_runs_on_the_defaults_and_says_so() {
    let mut detector = Detector::new(Some("window = \"ten days\"\nnot_a_key = 1\n".to_owned()));
    let info = detector.info();
    assert!(
        info.contains("config error in vpnrecon.toml line 2"),
        "{info}"
    );
    let first = lines().first().copied().unwrap_or_default();
    let annotated = detector.annotate(first, 0.0);
    assert!(annotated.contains("config_error"), "{annotated}");
}

#[test]
fn explain_says_why_an_event_is_or_is_not_a_candidate() {
    let detector = Detector::new(None);
    let first = lines().first().copied().unwrap_or_default();
    let explained = detector.explain(first, 0.0);
    assert!(
        explained.contains("\"candidate\":true,\"rule\":\"A\""),
        "{explained}"
    );
    assert!(explained.contains("\"vpn_category\":"), "{explained}");
    let home = r#"{"eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"73.158.40.12","userIdentity":{"arn":"arn:aws:iam::1:user/a"}}"#;
    let explained = detector.explain(home, 0.0);
    assert!(
        explained.contains("AS7922 is not on the VPN ASN list"),
        "{explained}"
    );
    assert!(detector.explain("nope", 0.0).contains("\"shape\":null"));
}

#[test]
fn record_times_clamp_instead_of_failing() {
    assert_eq!(record_time(f64::NAN), RecordTime::default());
    assert_eq!(record_time(-5.0), RecordTime::default());
    assert_eq!(record_time(1e12).sec, u32::MAX);
    let t = record_time(1_781_942_400.25);
    assert_eq!((t.sec, t.nsec / 1_000_000), (1_781_942_400, 250));
}
