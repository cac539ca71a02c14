//! Pre-routing changes nothing but the cost: the fixture logs, in the shapes the
//! routed variants cover, run once through the module record by record (the direct
//! pipeline) and once with only the records that `rewrite_tag` would move (the
//! generated rules, evaluated here with Fluent Bit's record-accessor semantics), each
//! from empty state. Every record that is not moved must come out of the direct run
//! unchanged, and every moved record must come out of both runs byte for byte the same.
#![cfg(feature = "native")]

use regex::Regex;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use vpnrecon_filter::config::Config;
use vpnrecon_host::fluent_bit_config::{accessors, action_regex, InputShape};
use vpnrecon_host::{open, Backend, FilterHost, HostOptions, Mode, RecordTime, DEFAULT_TAG};

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("clauses")] {
        for entry in std::fs::read_dir(&dir).expect("tests/fixtures exists") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ndjson") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    files
}

/// The value a record accessor such as `$eventName`, `$detail['eventName']` or
/// `$event.action` reads: a top-level key (dots belong to the key name), then
/// `['sub']` keys; only a string can match a rule.
fn accessor_value<'v>(record: &'v Value, accessor: &str) -> Option<&'v str> {
    let rest = accessor.strip_prefix('$')?;
    let (key, mut subkeys) = match rest.find('[') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    let mut value = record.get(key)?;
    while let Some(inner) = subkeys.strip_prefix("['") {
        let end = inner.find("']")?;
        value = value.get(&inner[..end])?;
        subkeys = &inner[end + 2..];
    }
    value.as_str()
}

fn eventbridge(event: &Value) -> Value {
    json!({
        "version": "0",
        "id": "6f1b7c2e-0000-4000-8000-000000000000",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail",
        "account": event.pointer("/recipientAccountId").cloned().unwrap_or(Value::Null),
        "time": event.get("eventTime").cloned().unwrap_or(Value::Null),
        "region": event.get("awsRegion").cloned().unwrap_or(Value::Null),
        "detail": event,
    })
}

/// An ECS document carrying the fields the module reads, nested or dotted.
fn ecs(event: &Value, dotted: bool) -> Value {
    let s = |pointer: &str| event.pointer(pointer).cloned().unwrap_or(Value::Null);
    let outcome = if event.get("errorCode").is_some() {
        "failure"
    } else {
        "success"
    };
    let mut fields = vec![
        ("@timestamp", s("/eventTime")),
        ("event.action", s("/eventName")),
        ("event.provider", s("/eventSource")),
        ("event.outcome", json!(outcome)),
        ("source.ip", s("/sourceIPAddress")),
        ("aws.cloudtrail.user_identity.arn", s("/userIdentity/arn")),
        ("aws.cloudtrail.user_identity.type", s("/userIdentity/type")),
        (
            "aws.cloudtrail.user_identity.access_key_id",
            s("/userIdentity/accessKeyId"),
        ),
        (
            "aws.cloudtrail.user_identity.session_context.session_issuer.user_name",
            s("/userIdentity/sessionContext/sessionIssuer/userName"),
        ),
        (
            "aws.cloudtrail.recipient_account_id",
            s("/recipientAccountId"),
        ),
        ("aws.cloudtrail.error_code", s("/errorCode")),
        ("user.name", s("/userIdentity/userName")),
        ("cloud.account.id", s("/userIdentity/accountId")),
        ("cloud.region", s("/awsRegion")),
        ("user_agent.original", s("/userAgent")),
    ];
    fields.retain(|(_, v)| !v.is_null());
    if dotted {
        return Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
    }
    let mut root = Map::new();
    for (path, value) in fields {
        let mut at = &mut root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                at.insert(part.to_owned(), value.clone());
            } else {
                at = at
                    .entry(part.to_owned())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("an object along the path");
            }
        }
    }
    Value::Object(root)
}

fn host(dir: &Path) -> Box<dyn FilterHost> {
    let mut opts = HostOptions::new(Mode::Annotate);
    opts.dir = Some(dir.to_path_buf());
    open(Backend::Native, &opts).expect("the native host")
}

fn call(host: &mut dyn FilterHost, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    host.call(
        DEFAULT_TAG,
        RecordTime { sec: 0, nsec: 0 },
        record,
        &mut out,
    )
    .expect("the module handles the record");
    out
}

/// Direct against pre-routed for one file in one shape; returns (moved, detections).
fn compare(records: &[Vec<u8>], shape: InputShape, regex: &Regex) -> (usize, usize) {
    let direct_dir = tempfile::tempdir().unwrap();
    let routed_dir = tempfile::tempdir().unwrap();
    let mut direct = host(direct_dir.path());
    let mut routed = host(routed_dir.path());
    let (mut moved, mut detections) = (0, 0);
    for record in records {
        let value: Value = serde_json::from_slice(record).unwrap();
        let is_moved = accessors(shape)
            .iter()
            .any(|a| accessor_value(&value, a).is_some_and(|v| regex.is_match(v)));
        let out = call(direct.as_mut(), record);
        let text = String::from_utf8_lossy(record);
        if is_moved {
            moved += 1;
            assert_eq!(
                call(routed.as_mut(), record),
                out,
                "{shape:?}: a moved record comes out differently: {text}"
            );
            detections += usize::from(out != *record);
        } else {
            assert_eq!(
                out, *record,
                "{shape:?}: a record the rule leaves on its tag was changed by the module: {text}"
            );
        }
    }
    (moved, detections)
}

#[test]
fn pre_routed_pipelines_give_the_direct_output() {
    let regex = Regex::new(&action_regex(&Config::default().actions).unwrap()).unwrap();
    let mut totals = [(0, 0); 4];
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let events: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let raw: Vec<Vec<u8>> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.as_bytes().to_vec())
            .collect();
        let shaped = |f: &dyn Fn(&Value) -> Value| -> Vec<Vec<u8>> {
            events
                .iter()
                .map(|e| serde_json::to_vec(&f(e)).unwrap())
                .collect()
        };
        let runs = [
            (InputShape::Raw, raw),
            (InputShape::Eventbridge, shaped(&eventbridge)),
            (InputShape::Ecs, shaped(&|e| ecs(e, false))),
            (InputShape::Ecs, shaped(&|e| ecs(e, true))),
        ];
        for (i, (shape, records)) in runs.iter().enumerate() {
            let (moved, detections) = compare(records, *shape, &regex);
            totals[i].0 += moved;
            totals[i].1 += detections;
        }
    }
    // Every shape moved records and raised detections through the routed path.
    for (i, (moved, detections)) in totals.iter().enumerate() {
        eprintln!("run {i}: {moved} records moved, {detections} detections");
        assert!(
            *moved > 0 && *detections > 0,
            "run {i}: {moved} moved, {detections} detections"
        );
    }
}

#[test]
fn accessor_reading() {
    let record = json!({"eventName": "A", "detail": {"eventName": "B"}, "event.action": "C",
                        "event": {"action": "D"}, "n": 5});
    assert_eq!(accessor_value(&record, "$eventName"), Some("A"));
    assert_eq!(accessor_value(&record, "$detail['eventName']"), Some("B"));
    assert_eq!(accessor_value(&record, "$event.action"), Some("C"));
    assert_eq!(accessor_value(&record, "$event['action']"), Some("D"));
    assert_eq!(accessor_value(&record, "$n"), None);
    assert_eq!(accessor_value(&record, "$missing"), None);
}
