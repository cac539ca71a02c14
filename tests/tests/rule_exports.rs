//! The exported Sigma rules mean what the module means.
//!
//! For the defaults and for a configuration with deltas and allowlists, this test
//! exports the rules, turns every fixture event into a table row (raw CloudTrail
//! fields as they are; ECS fields mapped by the field table of the detection
//! contract, with `source.as.number` from the baked table), and asks the module,
//! event by event and without state, whether the event is a candidate and for which
//! rule. `tests/sigma/check_sigma.py` then runs `sigma check`, converts with the
//! Elasticsearch (Lucene, ES|QL) and Splunk backends, and runs the SQLite
//! backend's query over the rows: the rows it selects must be exactly the module's
//! candidates of that rule.
//!
//! The Elastic export is checked here structurally (TOML that parses, the
//! detection-rules fields and values).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};
use vpnrecon_e2e::{fixtures, python, RECORD_TIME_SEC};
use vpnrecon_filter::config::{self, Loaded};
use vpnrecon_filter::rules::{Evaluator, Rule};
use vpnrecon_filter::{record, state, RecordTime};
use vpnrecon_host::{export_elastic, export_sigma};

/// A configuration that moves every list the rules are built from.
const TUNED: &str = r#"
add_asns = [16509]
remove_asns = [20473]
add_actions = ["ListObjectsV2", "GetBucketAcl"]
remove_actions = ["LookupEvents"]
remove_providers = ["bedrock"]
allow_principals = ["arn:aws:iam::111122223333:user/pentest-*"]
allow_accounts = ["777788889999"]
allow_cidrs = ["146.70.117.0/24", "73.158.40.12"]
add_vpn_cidrs = [
    { cidr = "84.150.23.0/24", label = "local intelligence: a VPN exit range" },
    { cidr = "2601:c0::/32", label = "local intelligence: IPv6 exits" },
    { cidr = "73.158.0.0/16", label = "overlaps allow_cidrs, which wins" },
]
add_workload_role_patterns = ["*-batch-*"]
add_excluded_principal_substrings = ["break-glass"]
"#;

/// Every fixture event: (id, record text). S3 delivery files are split into events.
fn fixture_events() -> Vec<(String, String)> {
    let mut files = vec![
        fixtures::dir().join("attack_chain.ndjson"),
        fixtures::dir().join("benign.ndjson"),
    ];
    let mut clauses: Vec<_> = std::fs::read_dir(fixtures::dir().join("clauses"))
        .expect("fixtures/clauses")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    clauses.sort();
    files.extend(clauses);
    let mut events = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        for (n, line) in fixtures::lines(&file).into_iter().enumerate() {
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            match value.get("Records").and_then(Value::as_array) {
                Some(records) => {
                    for (i, event) in records.iter().enumerate() {
                        events.push((format!("{name}:{}#{i}", n + 1), event.to_string()));
                    }
                }
                None if value.get("eventName").is_some() => {
                    events.push((format!("{name}:{}", n + 1), line))
                }
                None => {}
            }
        }
    }
    events
}

/// The module's verdict on one event's match condition.
fn candidate_rule(evaluator: &Evaluator, record_text: &str) -> Option<Rule> {
    let mut found = None;
    let time = RecordTime {
        sec: RECORD_TIME_SEC,
        nsec: 0,
    };
    let _ = record::visit_events(record_text.as_bytes(), &mut |slot| {
        if found.is_none() {
            found = evaluator.candidate_rule(slot.event, time);
        }
    });
    found
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Scalar leaves under their dotted paths (arrays are left out: no rule reads one).
fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(members) => {
            for (key, inner) in members {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        Value::Array(_) | Value::Null => {}
        scalar => {
            if let Some(t) = text(Some(scalar)) {
                out.insert(prefix.to_owned(), Value::String(t));
            }
        }
    }
}

/// The ECS document Elastic's CloudTrail pipeline makes of a raw event, for the
/// fields the rules read (detection contract, section 2).
fn ecs_fields(event: &Value) -> Map<String, Value> {
    let at = |path: &[&str]| {
        let mut v = event;
        for key in path {
            v = v.get(key)?;
        }
        text(Some(v))
    };
    let mut ecs = Map::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            ecs.insert(name.to_owned(), Value::String(v));
        }
    };
    put("event.action", at(&["eventName"]));
    put("event.provider", at(&["eventSource"]));
    let ip = at(&["sourceIPAddress"]).and_then(|s| asn_data::parse_ip(&s).ok().map(|_| s));
    put("source.ip", ip.clone());
    put(
        "aws.cloudtrail.user_identity.arn",
        at(&["userIdentity", "arn"]),
    );
    put(
        "aws.cloudtrail.user_identity.type",
        at(&["userIdentity", "type"]),
    );
    let issuer = at(&[
        "userIdentity",
        "sessionContext",
        "sessionIssuer",
        "userName",
    ]);
    put(
        "aws.cloudtrail.user_identity.session_context.session_issuer.user_name",
        issuer.clone(),
    );
    put(
        "user.name",
        issuer
            .filter(|s| !s.is_empty())
            .or_else(|| at(&["userIdentity", "userName"])),
    );
    put(
        "cloud.account.id",
        at(&["userIdentity", "accountId"]).or_else(|| at(&["recipientAccountId"])),
    );
    let number = ip
        .and_then(|s| asn_data::parse_ip(&s).ok())
        .and_then(|ip| asn_data::baked()?.lookup(ip))
        .map(|asn| asn.number);
    if let Some(number) = number {
        ecs.insert("source.as.number".to_owned(), json!(number));
    }
    ecs
}

struct Counts {
    events: usize,
    rule_a: usize,
    rule_b: usize,
    /// Candidates that are VPN sources by a local range (`add_vpn_cidrs`) alone.
    local: usize,
}

/// Exports the Sigma rules for `config_text` and writes the rows and the module's
/// candidates next to them for the Python check.
fn prepare(dir: &Path, config_text: Option<&str>) -> Counts {
    let config_path = dir.join("vpnrecon.toml");
    let loaded = match config_text {
        Some(text) => {
            std::fs::write(&config_path, text).expect("write config");
            let path = config_path.to_str().expect("utf-8 path");
            let loaded = config::load_from(&[path], &mut |line| panic!("{line}"));
            assert!(loaded.error.is_none());
            loaded
        }
        None => Loaded::default(),
    };
    let args = export_sigma::Args {
        dir: dir.join("rules"),
        config: config_text.map(|_| config_path.clone()),
        max_cidrs: export_sigma::DEFAULT_MAX_CIDRS,
    };
    eprint!("{}", export_sigma::run(&args).expect("export-sigma"));
    let state = state::State::in_memory(state::StateConfig::from(&loaded.config));
    let evaluator = Evaluator::new(loaded, state);
    let mut rows = Vec::new();
    let mut expected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for rule in [Rule::DiscoveryNewIdentity, Rule::Workload] {
        expected.insert(rule.id(), Vec::new());
    }
    let events = fixture_events();
    let mut local = 0;
    for (id, record_text) in &events {
        let event: Value = serde_json::from_str(record_text).expect("event JSON");
        let mut raw = Map::new();
        flatten("", &event, &mut raw);
        rows.push(json!({"id": id, "cloudtrail": raw, "ecs": ecs_fields(&event)}));
        if let Some(rule) = candidate_rule(&evaluator, record_text) {
            expected.get_mut(rule.id()).expect("rule").push(id.clone());
            let source = event["sourceIPAddress"].as_str().unwrap_or_default();
            if ["84.150.23.", "2601:c0:"]
                .iter()
                .any(|p| source.starts_with(p))
            {
                local += 1;
            }
            assert_ne!(
                source, "73.158.40.12",
                "{id}: allow_cidrs wins over add_vpn_cidrs"
            );
        }
    }
    let counts = Counts {
        events: events.len(),
        rule_a: expected[Rule::DiscoveryNewIdentity.id()].len(),
        rule_b: expected[Rule::Workload.id()].len(),
        local,
    };
    std::fs::write(dir.join("rows.json"), Value::Array(rows).to_string()).expect("rows");
    std::fs::write(dir.join("expected.json"), json!(expected).to_string()).expect("expected");
    counts
}

#[test]
fn sigma_rules_select_exactly_the_module_candidates() {
    let Some(python) = python::interpreter("Sigma checks") else {
        return;
    };
    for (name, config_text) in [("defaults", None), ("tuned", Some(TUNED))] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let counts = prepare(dir.path(), config_text);
        eprintln!(
            "{name}: {} fixture events, module candidates: rule A {}, rule B {}",
            counts.events, counts.rule_a, counts.rule_b
        );
        // The fixtures hold candidates of both rules in both configurations, so a
        // rule matching nothing could not pass.
        assert!(counts.rule_a > 0 && counts.rule_b > 0, "{name}");
        // The tuned ranges hold candidates the ASN list alone does not (Deutsche
        // Telekom and Comcast addresses are on no VPN list).
        assert_eq!(
            counts.local > 0,
            config_text.is_some(),
            "{name}: {}",
            counts.local
        );
        python::run(&python, "tests/sigma/check_sigma.py", &[dir.path()]);
    }
}

#[test]
fn an_invalid_configuration_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("vpnrecon.toml");
    std::fs::write(&config, "add_asn = [64500]\n").expect("write");
    let out = dir.path().join("out");
    let sigma = export_sigma::run(&export_sigma::Args {
        dir: out.clone(),
        config: Some(config.clone()),
        max_cidrs: export_sigma::DEFAULT_MAX_CIDRS,
    })
    .expect_err("invalid file");
    let module = config::parse("add_asn = [64500]\n", &config.to_string_lossy())
        .expect_err("the module refuses it too");
    assert!(sigma.contains(&module.describe()), "{sigma}");
    let elastic = export_elastic::run(&export_elastic::Args {
        dir: out.clone(),
        config: Some(config),
    })
    .expect_err("invalid file");
    assert!(elastic.contains(&module.describe()), "{elastic}");
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn the_cidr_cap_refuses_and_says_how_large_the_list_is() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let error = export_sigma::run(&export_sigma::Args {
        dir: dir.path().join("out"),
        config: None,
        max_cidrs: 10,
    })
    .expect_err("the defaults expand to more than 10 blocks");
    assert!(
        error.contains("CIDR blocks") && error.contains("--max-cidrs 10"),
        "{error}"
    );
    assert!(!dir.path().join("out").exists());
}

fn toml_file(dir: &Path, name: &str) -> toml::Value {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn elastic_rules_have_the_detection_rules_layout() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("vpnrecon.toml");
    std::fs::write(
        &config,
        concat!(
            "window = \"36h\"\nadd_actions = [\"GetBucketAcl\"]\n",
            "allow_cidrs = [\"73.158.40.12\"]\n",
            "add_vpn_cidrs = [{ cidr = \"84.150.23.0/24\", label = \"local exits\" }]\n",
        ),
    )
    .expect("write");
    export_elastic::run(&export_elastic::Args {
        dir: dir.path().to_owned(),
        config: Some(config),
    })
    .expect("export-elastic");

    let a = toml_file(dir.path(), "vpnrecon-discovery-vpn-new-identity.toml");
    let rule = &a["rule"];
    assert_eq!(rule["type"].as_str(), Some("new_terms"));
    assert_eq!(rule["severity"].as_str(), Some("medium"));
    assert_eq!(rule["risk_score"].as_integer(), Some(47));
    let terms = &rule["new_terms"];
    assert_eq!(terms["field"].as_str(), Some("new_terms_fields"));
    let fields: Vec<&str> = terms["value"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(
        fields,
        ["cloud.account.id", "user.name", "source.as.number"]
    );
    let window = &terms["history_window_start"][0];
    assert_eq!(window["field"].as_str(), Some("history_window_start"));
    assert_eq!(window["value"].as_str(), Some("now-36h"));
    let query = rule["query"].as_str().expect("query");
    for needle in [
        "\"GetBucketAcl\"",
        "\"ListFunctions\"",
        "\"lambda.amazonaws.com\"",
        "9009",
        "user.name:*",
        "aws.cloudtrail.user_identity.arn:?*",
        // Local VPN ranges beside the ASN list; allow_cidrs still excludes.
        " OR source.ip:84.150.23.0\\/24",
        "NOT source.ip:73.158.40.12",
    ] {
        assert!(query.contains(needle), "{needle} missing from {query}");
    }
    let threat = &rule["threat"][0];
    assert_eq!(threat["framework"].as_str(), Some("MITRE ATT&CK"));
    assert_eq!(threat["tactic"]["id"].as_str(), Some("TA0007"));
    let techniques: Vec<&str> = threat["technique"]
        .as_array()
        .expect("techniques")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(techniques, ["T1526", "T1580"]);

    let fallback = toml_file(
        dir.path(),
        "vpnrecon-discovery-vpn-new-identity-arn-fallback.toml",
    );
    let fallback_query = fallback["rule"]["query"].as_str().expect("query");
    assert!(fallback_query.contains("NOT user.name:*"));
    assert_eq!(
        fallback["rule"]["new_terms"]["value"][1].as_str(),
        Some("aws.cloudtrail.user_identity.arn")
    );
    assert_ne!(fallback["rule"]["rule_id"], rule["rule_id"]);

    let b = toml_file(dir.path(), "vpnrecon-discovery-vpn-workload.toml");
    assert_eq!(b["rule"]["type"].as_str(), Some("query"));
    assert_eq!(b["rule"]["severity"].as_str(), Some("high"));
    assert_eq!(b["rule"]["risk_score"].as_integer(), Some(73));
    let suppression = &b["rule"]["alert_suppression"];
    assert_eq!(suppression["duration"]["unit"].as_str(), Some("h"));
    assert_eq!(suppression["duration"]["value"].as_integer(), Some(1));
}

#[test]
fn a_rule_switched_off_is_not_exported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("vpnrecon.toml");
    std::fs::write(&config, "rule_workload = false\n").expect("write");
    let out = dir.path().join("out");
    export_sigma::run(&export_sigma::Args {
        dir: out.clone(),
        config: Some(config.clone()),
        max_cidrs: export_sigma::DEFAULT_MAX_CIDRS,
    })
    .expect("export-sigma");
    export_elastic::run(&export_elastic::Args {
        dir: out.join("elastic"),
        config: Some(config),
    })
    .expect("export-elastic");
    for flavour in ["ecs", "cloudtrail"] {
        assert!(out
            .join(flavour)
            .join("vpnrecon-discovery-vpn-new-identity.yml")
            .exists());
        assert!(!out
            .join(flavour)
            .join("vpnrecon-discovery-vpn-workload.yml")
            .exists());
    }
    assert!(out
        .join("elastic/vpnrecon-discovery-vpn-new-identity.toml")
        .exists());
    assert!(!out
        .join("elastic/vpnrecon-discovery-vpn-workload.toml")
        .exists());
}
