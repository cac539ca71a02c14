//! `vpnrecon_findings`: an OCSF 1.5.0 Detection Finding for exactly the records that
//! annotate mode marks, whose values are those of the `detection` object for the
//! same event, and which `py-ocsf-models`' DetectionFinding model accepts
//! (`tests/ocsf/check_findings.py`, which also asserts the schema paths, since the
//! model ignores fields it does not know). The wasm module in wasmtime returns the
//! same bytes as the native engine.

use serde_json::Value;
use vpnrecon_e2e::fixtures::{self, Case};
use vpnrecon_e2e::hosts::{Backend, Host, Mode};
use vpnrecon_e2e::python;

/// OCSF severity ids (schema 1.5.0, `severity_id`): 3 Medium, 4 High.
fn ocsf_severity_id(severity: &str) -> u64 {
    match severity {
        "medium" => 3,
        "high" => 4,
        other => panic!("unexpected severity {other}"),
    }
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ`, computed here (days from civil).
fn unix_seconds(text: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().expect("digits");
    let (mut y, m, d) = (n(0..4), n(5..7), n(8..10));
    y -= i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

fn at<'v>(value: &'v Value, path: &str) -> &'v Value {
    path.split('.')
        .fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[key],
        })
}

/// The finding's paths hold the values of `detection` for the event at `evidence`.
fn check_against(
    finding: &Value,
    evidence: usize,
    detection: &Value,
    event: &Value,
    headline: bool,
) {
    let e = |path: &str| at(finding, &format!("evidences.{evidence}.{path}")).clone();
    let d = |path: &str| at(detection, path).clone();
    assert_eq!(e("actor.user.uid"), d("identity.arn"));
    assert_eq!(e("actor.user.name"), d("identity.user_name"));
    assert_eq!(e("actor.user.type"), d("identity.type"));
    assert_eq!(e("actor.user.account.uid"), d("identity.account_id"));
    if !d("identity.access_key_id").is_null() {
        assert_eq!(e("actor.session.uid"), d("identity.access_key_id"));
    }
    assert_eq!(e("src_endpoint.ip"), d("source.ip"));
    assert_eq!(
        e("src_endpoint.autonomous_system.number"),
        d("source.as.number")
    );
    assert_eq!(
        e("src_endpoint.autonomous_system.name"),
        d("source.as.organization.name")
    );
    assert_eq!(e("api.operation"), d("event.action"));
    assert_eq!(e("api.service.name"), d("event.provider"));
    if !headline {
        return;
    }
    assert_eq!(at(finding, "finding_info.analytic.uid"), &d("rule.id"));
    assert_eq!(at(finding, "finding_info.analytic.name"), &d("rule.name"));
    assert_eq!(at(finding, "finding_info.title"), &d("rule.name"));
    assert_eq!(at(finding, "finding_info.desc"), &d("reason"));
    let severity = d("rule.severity");
    assert_eq!(
        at(finding, "severity_id").as_u64(),
        Some(ocsf_severity_id(severity.as_str().expect("severity")))
    );
    let time = unix_seconds(d("event.time").as_str().expect("time"));
    assert_eq!(at(finding, "time").as_i64(), Some(time * 1000));
    assert_eq!(at(finding, "cloud.account.uid"), &d("identity.account_id"));
    let region = event.get("awsRegion").cloned().unwrap_or(Value::Null);
    assert_eq!(at(finding, "cloud.region"), &region);
    let tactics: Vec<&Value> = (0..2)
        .map(|i| at(finding, &format!("finding_info.attacks.{i}.tactic.uid")))
        .collect();
    assert_eq!(tactics, [&d("threat.tactic.id"), &d("threat.tactic.id")]);
    for i in 0..2 {
        assert_eq!(
            at(finding, &format!("finding_info.attacks.{i}.technique.uid")),
            &d(&format!("threat.technique.{i}.id"))
        );
    }
}

/// Runs `records` in annotate and findings mode on fresh engines; returns every
/// finding after checking it against the annotated record.
fn findings_of(config: Option<&str>, records: &[String]) -> Vec<Value> {
    let mut annotate = Host::native(Mode::Annotate, config);
    let mut findings = Host::native(Mode::Findings, config);
    let mut out = Vec::new();
    for (n, record) in records.iter().enumerate() {
        let annotated = annotate.call(record.as_bytes()).expect("annotate");
        let finding = findings.call(record.as_bytes()).expect("findings");
        let detection = serde_json::from_slice::<Value>(&annotated)
            .ok()
            .and_then(|v| v.get("detection").cloned());
        let Some(detection) = detection else {
            assert!(
                finding.is_empty(),
                "record {n}: a finding without a detection"
            );
            continue;
        };
        let finding: Value = serde_json::from_slice(&finding)
            .unwrap_or_else(|e| panic!("record {n}: finding is not JSON: {e}"));
        assert_eq!(at(&finding, "class_uid").as_u64(), Some(2004));
        assert_eq!(at(&finding, "type_uid").as_u64(), Some(200_401));
        assert_eq!(at(&finding, "metadata.version").as_str(), Some("1.5.0"));
        assert_eq!(at(&finding, "raw_data").as_str(), Some(record.as_str()));
        assert_eq!(at(&finding, "unmapped.vpnrecon.detection"), &detection);
        let event: Value = serde_json::from_str(record).expect("record JSON");
        match detection.get("events").and_then(Value::as_array) {
            None => check_against(&finding, 0, &detection, &event, true),
            Some(events) => {
                assert_eq!(
                    at(&finding, "evidences").as_array().map(Vec::len),
                    Some(events.len())
                );
                for (i, d) in events.iter().enumerate() {
                    let index = d["index"].as_u64().expect("index") as usize;
                    let inner = &event["Records"][index];
                    check_against(&finding, i, d, inner, false);
                    assert_eq!(
                        at(&finding, &format!("evidences.{i}.data.records_index")),
                        &d["index"]
                    );
                }
            }
        }
        out.push(finding);
    }
    out
}

#[test]
fn every_fixture_detection_becomes_a_matching_finding() {
    let mut all = Vec::new();
    for Case {
        name,
        events,
        config,
        ..
    } in fixtures::clause_cases()
    {
        let found = findings_of(config.as_deref(), &events);
        eprintln!("{name}: {} findings", found.len());
        all.extend(found);
    }
    let chain = fixtures::attack_chain().events;
    all.extend(findings_of(None, &chain));
    assert!(findings_of(None, &fixtures::benign()).is_empty());
    assert!(all.len() > 40, "only {} findings", all.len());

    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("findings.ndjson");
    let text: String = all.iter().map(|f| format!("{f}\n")).collect();
    std::fs::write(&file, text).expect("write findings");
    if let Some(python) = python::interpreter("OCSF checks") {
        python::run(&python, "tests/ocsf/check_findings.py", &[&file]);
    }
}

/// A batch whose events fire both rules gives one finding: headed by the first
/// event of the highest severity (rule B), with every firing event as evidence in
/// `Records` order. The batch: alice's first discovery call (rule A), her second 9 s
/// later (same key: no alert), an EC2 instance session (rule B).
#[test]
fn a_batch_gives_one_finding_with_every_firing_event() {
    let chain = fixtures::attack_chain().events;
    let workload = fixtures::clause_cases()
        .into_iter()
        .find(|c| c.name.starts_with("13-"))
        .expect("workload case")
        .events;
    let events: Vec<Value> = [&chain[0], &chain[1], &workload[0]]
        .iter()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    let batch = serde_json::json!({ "Records": events }).to_string();
    let findings = findings_of(None, &[batch]);
    let [finding] = findings.as_slice() else {
        panic!("expected one finding, got {}", findings.len());
    };
    let evidences = finding["evidences"].as_array().expect("evidences");
    let indexes: Vec<u64> = evidences
        .iter()
        .map(|e| e["data"]["records_index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indexes, [0, 2]);
    assert_eq!(
        finding["finding_info"]["analytic"]["uid"].as_str(),
        Some("vpnrecon-discovery-vpn-workload")
    );
    assert_eq!(finding["severity_id"].as_u64(), Some(4));
}

#[test]
fn the_wasm_module_returns_the_same_findings() {
    let chain = fixtures::attack_chain().events;
    let mut native = Host::native(Mode::Findings, None);
    let mut wasm = Host::open(Backend::Wasmtime, Mode::Findings, None);
    for record in &chain {
        let a = native.call(record.as_bytes()).expect("native");
        let b = wasm.call(record.as_bytes()).expect("wasm");
        assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    }
}
