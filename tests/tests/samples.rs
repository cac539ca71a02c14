//! The bundled sample logs give the alerts samples/README.md promises (derived by hand:
//! one rule A alert for alice's first discovery call from M247, one rule B alert for the
//! Lambda role's ListBuckets from Vultr), whether replayed as S3 delivery files, one
//! record per event, or as NDJSON.

use std::io::Read;
use vpnrecon_e2e::expect::{get, text, RULE_A, RULE_B};
use vpnrecon_e2e::fixtures::{lines, samples_dir};
use vpnrecon_e2e::hosts::{annotate_all, Host, Mode};

fn delivery_files() -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(samples_dir().join("cloudtrail"))
        .unwrap_or_else(|e| panic!("samples/cloudtrail: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap_or_else(|e| panic!("{e}")))
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            text
        })
        .collect()
}

fn alerts(records: &[String]) -> Vec<(String, String, String)> {
    annotate_all(&mut Host::native(Mode::Annotate, None), records)
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|f| {
            let g = |p: &[&str]| get(&f.detection, p).map(text).unwrap_or_default();
            (
                g(&["rule", "id"]),
                g(&["identity", "key"]),
                g(&["event", "time"]),
            )
        })
        .collect()
}

fn promised() -> Vec<(String, String, String)> {
    vec![
        (RULE_A.into(), "111122223333/alice/AS9009".into(), "2026-06-01T12:03:11Z".into()),
        (
            RULE_B.into(),
            "arn:aws:sts::111122223333:assumed-role/orders-lambda-role/orders-handler/AS20473/ListBuckets".into(),
            "2026-06-01T12:21:40Z".into(),
        ),
    ]
}

#[test]
fn sample_ndjson_gives_the_documented_alerts() {
    let records = lines(&samples_dir().join("cloudtrail-events.ndjson"));
    assert!(records.len() > 150);
    assert_eq!(alerts(&records), promised());
}

#[test]
fn sample_delivery_files_give_the_documented_alerts() {
    let files = delivery_files();
    assert!(!files.is_empty());
    assert_eq!(alerts(&files), promised(), "as batches");
    let split: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let v: serde_json::Value = serde_json::from_str(f).unwrap_or_default();
            v["Records"].as_array().cloned().unwrap_or_default()
        })
        .map(|event| event.to_string())
        .collect();
    assert_eq!(alerts(&split), promised(), "one record per event");
}
