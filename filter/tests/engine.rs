//! The engine end to end, natively: one record in, one verdict out. Expectations are
//! derived by hand from the detection contract; the ASNs of the addresses used come
//! from the source CSV of the baked table (`@ip-location-db/asn` 2.3.2026061719):
//!
//! | address | source row (start,end,asn) |
//! |---|---|
//! | 2.56.16.10 | 37228544,37229567,9009 (M247 Europe SRL) |
//! | 8.8.8.8 | Google, AS15169 (not a VPN ASN) |

// Tests may panic, unwrap and index: a failing check is meant to stop the test.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
use serde_json::Value;
use vpnrecon_filter::config::{self, Loaded, Source};
use vpnrecon_filter::state::{State, StateConfig};
use vpnrecon_filter::{Engine, Mode, RecordTime, Verdict};

const VPN_IP: &str = "2.56.16.10";
const DAY: i64 = 86_400;

fn engine(toml: &str) -> Engine {
    let loaded = match config::parse(toml, "vpnrecon.toml") {
        Ok(config) => Loaded {
            config,
            source: Source::File("vpnrecon.toml".into()),
            error: None,
        },
        Err(error) => Loaded {
            config: config::Config::default(),
            source: Source::Defaults,
            error: Some(error),
        },
    };
    let state = State::in_memory(StateConfig::from(&loaded.config));
    Engine::from_parts(loaded, state)
}

/// Unix seconds → the `eventTime` text CloudTrail writes.
fn iso(t: i64) -> String {
    vpnrecon_filter::output::format_time(t)
}

/// 2026-06-01T00:00:00Z.
const T0: i64 = 1_780_272_000;

struct Ev {
    action: &'static str,
    source: &'static str,
    ip: String,
    time: Option<i64>,
    identity: String,
    error: bool,
}

fn user(name: &str) -> String {
    format!(
        r#"{{"type":"IAMUser","principalId":"AIDA{name}","arn":"arn:aws:iam::111122223333:user/{name}","accountId":"111122223333","accessKeyId":"AKIA{name}","userName":"{name}"}}"#
    )
}

fn assumed(role: &str, session: &str) -> String {
    format!(
        r#"{{"type":"AssumedRole","principalId":"AROA:{session}","arn":"arn:aws:sts::111122223333:assumed-role/{role}/{session}","accountId":"111122223333","accessKeyId":"ASIA{session}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::111122223333:role/{role}","accountId":"111122223333","userName":"{role}"}},"attributes":{{"creationDate":"2026-06-01T00:00:00Z","mfaAuthenticated":"false"}}}}}}"#
    )
}

fn ev(action: &'static str, source: &'static str, time: i64) -> Ev {
    Ev {
        action,
        source,
        ip: VPN_IP.into(),
        time: Some(time),
        identity: user("alice"),
        error: false,
    }
}

impl Ev {
    fn json(&self) -> String {
        let time = self
            .time
            .map(|t| format!(r#""eventTime":"{}","#, iso(t)))
            .unwrap_or_default();
        let error = if self.error {
            r#""errorCode":"AccessDenied","errorMessage":"denied","#
        } else {
            ""
        };
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{},{time}"eventSource":"{}","eventName":"{}","awsRegion":"us-east-1","sourceIPAddress":"{}","userAgent":"aws-cli/2.15.0",{error}"requestParameters":null,"responseElements":null,"readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#,
            self.identity, self.source, self.action, self.ip
        )
    }
}

/// Runs one record in annotate mode; returns the detection object, if any, after
/// checking that the rest of the record is byte-for-byte unchanged.
fn run(engine: &mut Engine, record: &str) -> Option<Value> {
    run_at(engine, record, RecordTime::default())
}

fn run_at(engine: &mut Engine, record: &str, time: RecordTime) -> Option<Value> {
    let mut out = Vec::new();
    match engine.process(record.as_bytes(), time, Mode::Annotate, &mut out) {
        Verdict::Unchanged => None,
        Verdict::Drop => panic!("annotate mode never drops"),
        Verdict::Rewritten => {
            let text = String::from_utf8(out).expect("output is UTF-8");
            let head = record.strip_suffix('}').expect("record ends with }");
            let rest = text.strip_prefix(head).expect("record bytes kept");
            let detection = rest
                .strip_prefix(",\"detection\":")
                .and_then(|d| d.strip_suffix('}'))
                .expect("detection spliced last");
            Some(serde_json::from_str(detection).expect("detection is JSON"))
        }
    }
}

fn rule(detection: &Value) -> &str {
    detection["rule"]["id"].as_str().unwrap_or("")
}

const RULE_A: &str = "vpnrecon-discovery-vpn-new-identity";
const RULE_B: &str = "vpnrecon-discovery-vpn-workload";

#[test]
fn first_discovery_call_from_vpn_asn_fires_rule_a_with_every_field() {
    let mut e = engine("");
    let d = run(&mut e, &ev("ListUsers", "iam.amazonaws.com", T0).json()).expect("fires");
    assert_eq!(rule(&d), RULE_A);
    assert_eq!(d["rule"]["severity"], "medium");
    assert_eq!(d["rule"]["risk_score"], 47);
    assert_eq!(d["threat"]["tactic"]["id"], "TA0007");
    assert_eq!(d["threat"]["technique"][0]["id"], "T1526");
    assert_eq!(d["threat"]["technique"][1]["id"], "T1580");
    assert_eq!(d["source"]["ip"], VPN_IP);
    assert_eq!(d["source"]["as"]["number"], 9009);
    assert_eq!(d["source"]["as"]["organization"]["name"], "M247 Europe SRL");
    assert!(d["source"]["asn_category"].is_string());
    assert_eq!(d["identity"]["key"], "111122223333/alice/AS9009");
    assert_eq!(d["identity"]["arn"], "arn:aws:iam::111122223333:user/alice");
    assert_eq!(d["identity"]["type"], "IAMUser");
    assert_eq!(d["identity"]["user_name"], "alice");
    assert_eq!(d["identity"]["account_id"], "111122223333");
    assert_eq!(d["event"]["action"], "ListUsers");
    assert_eq!(d["event"]["provider"], "iam.amazonaws.com");
    assert_eq!(d["event"]["outcome"], "success");
    assert_eq!(d["event"]["time"], "2026-06-01T00:00:00Z");
    assert_eq!(d["event"]["time_source"], "event");
    assert_eq!(d["reason"], "first seen for this key in 10 days");
    assert!(d.get("config_error").is_none());
}

#[test]
fn window_is_exclusive_at_ten_days_and_refreshed_by_every_candidate() {
    let mut e = engine("");
    let at = |t| ev("ListBuckets", "s3.amazonaws.com", t).json();
    assert!(run(&mut e, &at(T0)).is_some(), "first sighting");
    assert!(run(&mut e, &at(T0 + 3 * DAY)).is_none(), "3 days later");
    // Last seen is now T0 + 3 d: exactly 10 days after that is not new …
    assert!(run(&mut e, &at(T0 + 13 * DAY)).is_none(), "exactly 10 days");
    // … and last seen moved to T0 + 13 d, so 10 d + 1 s after *that* is new.
    let d = run(&mut e, &at(T0 + 23 * DAY + 1)).expect("10 days + 1 s");
    assert_eq!(d["previous_seen"], iso(T0 + 13 * DAY));
}

#[test]
fn late_events_within_the_window_do_not_repeat() {
    let mut e = engine("");
    let at = |t| ev("DescribeInstances", "ec2.amazonaws.com", t).json();
    assert!(run(&mut e, &at(T0 + 600)).is_some());
    assert!(run(&mut e, &at(T0)).is_none(), "delivered 10 minutes late");
    assert!(run(&mut e, &at(T0 + 300)).is_none());
}

#[test]
fn key_is_account_identity_and_asn() {
    let mut e = engine("");
    assert!(run(&mut e, &ev("ListRoles", "iam.amazonaws.com", T0).json()).is_some());
    // Same key, other discovery action: not new.
    assert!(run(
        &mut e,
        &ev("ListBuckets", "s3.amazonaws.com", T0 + 5).json()
    )
    .is_none());
    // Other user: new key.
    let mut bob = ev("ListRoles", "iam.amazonaws.com", T0 + 10);
    bob.identity = user("bob");
    assert!(run(&mut e, &bob.json()).is_some());
    // Same user, other account (accountId differs): new key.
    let mut other = ev("ListRoles", "iam.amazonaws.com", T0 + 20);
    other.identity = user("alice").replace("111122223333", "444455556666");
    assert!(run(&mut e, &other.json()).is_some());
}

#[test]
fn provider_action_and_asn_must_all_match() {
    let mut e = engine("");
    // Right action, wrong provider.
    assert!(run(&mut e, &ev("ListUsers", "sso.amazonaws.com", T0).json()).is_none());
    // Not a discovery action.
    assert!(run(&mut e, &ev("GetObject", "s3.amazonaws.com", T0).json()).is_none());
    // Not a VPN ASN, a private address, a service name.
    for ip in ["8.8.8.8", "10.1.2.3", "ec2.amazonaws.com", "AWS Internal"] {
        let mut x = ev("ListUsers", "iam.amazonaws.com", T0);
        x.ip = ip.into();
        assert!(run(&mut e, &x.json()).is_none(), "{ip}");
    }
}

#[test]
fn lambda_versioned_names_are_normalised() {
    let mut e = engine("");
    let d = run(
        &mut e,
        &ev("ListFunctions20150331", "lambda.amazonaws.com", T0).json(),
    )
    .expect("fires");
    assert_eq!(d["event"]["action"], "ListFunctions");
}

#[test]
fn failed_calls_count_with_outcome_failure() {
    let mut e = engine("");
    let mut x = ev("GetAccountSummary", "iam.amazonaws.com", T0);
    x.error = true;
    let d = run(&mut e, &x.json()).expect("failed recon is a signal");
    assert_eq!(d["event"]["outcome"], "failure");
}

#[test]
fn ipv4_mapped_ipv6_resolves_as_ipv4() {
    let mut e = engine("");
    let mut x = ev("ListKeys", "kms.amazonaws.com", T0);
    x.ip = format!("::ffff:{VPN_IP}");
    let d = run(&mut e, &x.json()).expect("fires");
    assert_eq!(d["source"]["as"]["number"], 9009);
}

#[test]
fn missing_event_time_falls_back_to_record_time_and_says_so() {
    let mut e = engine("");
    let mut x = ev("ListTables", "dynamodb.amazonaws.com", T0);
    x.time = None;
    let record_time = RecordTime {
        sec: (T0 + 42) as u32,
        nsec: 0,
    };
    let d = run_at(&mut e, &x.json(), record_time).expect("fires");
    assert_eq!(d["event"]["time_source"], "record");
    assert_eq!(d["event"]["time"], iso(T0 + 42));
}

#[test]
fn service_identities_and_config_recorder_are_excluded() {
    let mut e = engine("");
    let mut config_role = ev("DescribeInstances", "ec2.amazonaws.com", T0);
    config_role.identity = assumed("AWSServiceRoleForConfig", "AWSConfig-Describe");
    assert!(run(&mut e, &config_role.json()).is_none());
    let mut service = ev("DescribeInstances", "ec2.amazonaws.com", T0);
    service.identity =
        r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com","arn":"arn:aws:iam::111122223333:role/x"}"#
            .into();
    assert!(run(&mut e, &service.json()).is_none());
    let mut no_arn = ev("DescribeInstances", "ec2.amazonaws.com", T0);
    no_arn.identity = r#"{"type":"IAMUser","userName":"ghost"}"#.into();
    assert!(run(&mut e, &no_arn.json()).is_none());
}

#[test]
fn assumed_roles_are_keyed_by_role_name_not_session() {
    let mut e = engine("");
    let mut first = ev("ListBuckets", "s3.amazonaws.com", T0);
    first.identity = assumed("Admin", "alice@example.com");
    let d = run(&mut e, &first.json()).expect("fires");
    assert_eq!(d["identity"]["user_name"], "Admin");
    let mut second = ev("ListBuckets", "s3.amazonaws.com", T0 + 60);
    second.identity = assumed("Admin", "bob@example.com");
    assert!(run(&mut e, &second.json()).is_none(), "same role, same key");
}

#[test]
fn identities_without_user_name_fall_back_to_arn() {
    let mut e = engine("");
    let mut root = ev("ListUsers", "iam.amazonaws.com", T0);
    root.identity = r#"{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"ASIAROOT"}"#.into();
    let d = run(&mut e, &root.json()).expect("fires");
    assert_eq!(
        d["identity"]["key"],
        "111122223333/arn:aws:iam::111122223333:root/AS9009"
    );
}

/// A root sign-in's identity as CloudTrail writes it: no `userName`, no session
/// issuer. Elastic's pipeline leaves `user.name` empty for it; the key falls back to
/// the ARN, and so must the detection's `user_name` (the name used in the key).
#[test]
fn root_identity_reports_the_arn_it_is_keyed_by_as_user_name() {
    let mut e = engine("");
    let arn = "arn:aws:iam::111122223333:root";
    let record = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"Root","principalId":"111122223333","arn":"{arn}","accountId":"111122223333","accessKeyId":"ASIAROOTEXAMPLE","sessionContext":{{"attributes":{{"creationDate":"2026-06-01T09:55:00Z","mfaAuthenticated":"true"}}}}}},"eventTime":"2026-06-01T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeRegions","awsRegion":"us-east-1","sourceIPAddress":"{VPN_IP}","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":null,"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","sessionCredentialFromConsole":"true"}}"#
    );
    let d = run(&mut e, &record).expect("root from a VPN ASN fires rule A");
    assert_eq!(rule(&d), RULE_A);
    assert_eq!(d["identity"]["key"], format!("111122223333/{arn}/AS9009"));
    assert_eq!(d["identity"]["user_name"], arn);
    assert_eq!(d["identity"]["type"], "Root");
    // A named user keeps its own name.
    let d = run(&mut e, &ev("ListUsers", "iam.amazonaws.com", T0).json()).expect("fires");
    assert_eq!(d["identity"]["user_name"], "alice");
}

#[test]
fn workloads_fire_rule_b_hourly_and_never_rule_a() {
    let mut e = engine("");
    let mut ec2 = ev("ListBuckets", "s3.amazonaws.com", T0);
    ec2.identity = assumed("web-app", "i-0123456789abcdef0");
    let d = run(&mut e, &ec2.json()).expect("instance credentials off-box");
    assert_eq!(rule(&d), RULE_B);
    assert_eq!(d["rule"]["severity"], "high");
    // Same principal, ASN and action within the hour: deduplicated.
    ec2.time = Some(T0 + 3599);
    assert!(run(&mut e, &ec2.json()).is_none());
    // Other action, same hour: fires.
    let mut other = ev("DescribeInstances", "ec2.amazonaws.com", T0 + 10);
    other.identity = assumed("web-app", "i-0123456789abcdef0");
    assert!(run(&mut e, &other.json()).is_some());
    // Next UTC hour: fires again.
    ec2.time = Some(T0 + 3600);
    assert_eq!(rule(&run(&mut e, &ec2.json()).expect("next hour")), RULE_B);
    // Rule A history untouched: a human using the same role later is new for rule A.
    let mut human = ev("ListBuckets", "s3.amazonaws.com", T0 + 4000);
    human.identity = assumed("web-app", "alice");
    assert_eq!(rule(&run(&mut e, &human.json()).expect("fires")), RULE_A);
    for role in [
        "orders-lambda-role",
        "ecsTaskExecutionRole",
        "api-task-role",
        "eks-nodegroup",
        "AWSServiceRoleForECS",
    ] {
        let mut x = ev("ListUsers", "iam.amazonaws.com", T0);
        x.identity = assumed(role, "session-1");
        assert_eq!(rule(&run(&mut e, &x.json()).expect(role)), RULE_B, "{role}");
    }
}

#[test]
fn rule_b_dedup_holds_for_events_a_day_late_whatever_other_keys_do() {
    let mut e = engine("");
    let workload = |session: &str, action: &'static str, source: &'static str, t: i64| {
        let mut x = ev(action, source, t);
        x.identity = assumed("web-app", session);
        x.json()
    };
    let late = workload(
        "i-0123456789abcdef0",
        "ListBuckets",
        "s3.amazonaws.com",
        T0 + 600,
    );
    assert!(run(&mut e, &late).is_some(), "first in its hour");
    // Other workloads, newer by up to a full day, one of them in every hour.
    for h in 1..=24 {
        let other = workload(
            "i-0fedcba9876543210",
            "ListBuckets",
            "s3.amazonaws.com",
            T0 + h * 3600,
        );
        assert!(run(&mut e, &other).is_some(), "other key, hour {h}");
    }
    // The first workload's events of hour T0 arrive 24 hours after the newest event
    // (at its second 0 and 599): still the same (ARN, ASN, action, hour).
    for t in [T0, T0 + 599] {
        let again = workload("i-0123456789abcdef0", "ListBuckets", "s3.amazonaws.com", t);
        assert!(run(&mut e, &again).is_none(), "deduplicated at {t}");
    }
    // Its other hours and actions are still their own.
    let next_hour = workload(
        "i-0123456789abcdef0",
        "ListBuckets",
        "s3.amazonaws.com",
        T0 + 3600,
    );
    assert!(run(&mut e, &next_hour).is_some());
    let other_action = workload(
        "i-0123456789abcdef0",
        "DescribeVpcs",
        "ec2.amazonaws.com",
        T0 + 1,
    );
    assert!(run(&mut e, &other_action).is_some());
}

/// Annotate mode on `record`; the whole output as text.
fn annotate(record: &str) -> String {
    let mut e = engine("");
    let mut out = Vec::new();
    let verdict = e.process(
        record.as_bytes(),
        RecordTime::default(),
        Mode::Annotate,
        &mut out,
    );
    assert_eq!(verdict, Verdict::Rewritten, "fires: {record}");
    String::from_utf8(out).expect("UTF-8")
}

/// `text` split as `head` + a JSON value + `tail`; the value parsed.
fn between(text: &str, head: &str, tail: &str) -> Value {
    let rest = text
        .strip_prefix(head)
        .unwrap_or_else(|| panic!("head kept: {text}"));
    let value = rest
        .strip_suffix(tail)
        .unwrap_or_else(|| panic!("tail kept: {text}"));
    serde_json::from_str(value).unwrap_or_else(|e| panic!("{e}: {value}"))
}

#[test]
fn an_existing_detection_member_has_its_value_replaced_in_place() {
    let event = ev("ListUsers", "iam.amazonaws.com", T0).json();
    let body = event
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .expect("object");
    // An annotated archive's old value: nested objects and arrays, and strings holding
    // braces, brackets, quotes and the word detection.
    let old = r#"{"rule":{"id":"old","name":"a } ] \" { [ b"},"events":[{"index":0,"x":{"y":[{},[]]}}],"reason":"\"detection\":{}"}"#;
    let cases = [
        // Last member.
        (
            format!(r#"{{{body},"detection":{old}}}"#),
            format!(r#"{{{body},"detection":"#),
            "}".to_owned(),
        ),
        // First member, with whitespace around it.
        (
            format!("{{ \"detection\" :\n {old} ,{body}}}"),
            "{ \"detection\" :\n ".to_owned(),
            format!(" ,{body}}}"),
        ),
        // In the middle, the key spelled with an escape.
        (
            format!(r#"{{"a":[1,{{"detection":2}}],"\u0064etection":{old},{body}}}"#),
            r#"{"a":[1,{"detection":2}],"\u0064etection":"#.to_owned(),
            format!(",{body}}}"),
        ),
        // A scalar old value.
        (
            format!(r#"{{{body},"detection":null}}"#),
            format!(r#"{{{body},"detection":"#),
            "}".to_owned(),
        ),
    ];
    for (record, head, tail) in cases {
        let out = annotate(&record);
        let d = between(&out, &head, &tail);
        assert_eq!(rule(&d), RULE_A, "{out}");
        assert_eq!(d["identity"]["user_name"], "alice");
        // One top-level `detection` member, the new one.
        let whole: Value = serde_json::from_str(&out).expect("output is JSON");
        assert_eq!(whole["detection"], d);
        assert_eq!(
            out.len() - head.len() - tail.len(),
            serde_json::to_string(&d).unwrap().len(),
            "only the value changed"
        );
    }
}

#[test]
fn an_existing_source_as_member_is_replaced_too() {
    let mut e = engine("enrich_all = true\n");
    // Not a discovery action: enriched, not detected. 8.8.8.8 is in AS15169.
    let event = ev("GetObject", "s3.amazonaws.com", T0);
    let mut x = event;
    x.ip = "8.8.8.8".into();
    let json = x.json();
    let body = json.strip_suffix('}').expect("object");
    let record = format!(r#"{body},"source_as":{{"number":1,"old":[{{}}]}}}}"#);
    let mut out = Vec::new();
    let verdict = e.process(
        record.as_bytes(),
        RecordTime::default(),
        Mode::Annotate,
        &mut out,
    );
    assert_eq!(verdict, Verdict::Rewritten);
    let out = String::from_utf8(out).expect("UTF-8");
    let head = format!(r#"{body},"source_as":"#);
    let value = between(&out, &head, "}");
    assert_eq!(value["number"], 15169);
    assert!(value.get("old").is_none());
}

#[test]
fn allowlists_and_deltas_apply() {
    let mut e = engine(
        "allow_principals = [\"arn:aws:iam::111122223333:user/scanner-*\"]\n\
         remove_actions = [\"ListUsers\"]\n\
         window = \"1h\"\n",
    );
    let mut scanner = ev("ListBuckets", "s3.amazonaws.com", T0);
    scanner.identity = user("scanner-prod");
    assert!(
        run(&mut e, &scanner.json()).is_none(),
        "allowlisted principal"
    );
    assert!(run(&mut e, &ev("ListUsers", "iam.amazonaws.com", T0).json()).is_none());
    assert!(run(&mut e, &ev("ListRoles", "iam.amazonaws.com", T0).json()).is_some());
    assert!(run(
        &mut e,
        &ev("ListRoles", "iam.amazonaws.com", T0 + 3600).json()
    )
    .is_none());
    let d = run(
        &mut e,
        &ev("ListRoles", "iam.amazonaws.com", T0 + 7201).json(),
    )
    .expect("new");
    assert_eq!(
        d["reason"]
            .as_str()
            .map(|r| r.starts_with("first seen for this key in 1 hour")),
        Some(true)
    );
}

#[test]
fn invalid_config_keeps_defaults_and_marks_detections() {
    let mut e = engine("window = \"ten days\"\n");
    let d = run(&mut e, &ev("ListUsers", "iam.amazonaws.com", T0).json()).expect("defaults");
    let error = d["config_error"].as_str().expect("marked");
    assert!(error.contains("window"), "{error}");
}

#[test]
fn alerts_mode_drops_everything_without_a_detection() {
    let mut e = engine("");
    let mut out = Vec::new();
    let benign = ev("GetObject", "s3.amazonaws.com", T0).json();
    let v = e.process(
        benign.as_bytes(),
        RecordTime::default(),
        Mode::Alerts,
        &mut out,
    );
    assert_eq!(v, Verdict::Drop);
    let hit = ev("ListUsers", "iam.amazonaws.com", T0).json();
    let v = e.process(
        hit.as_bytes(),
        RecordTime::default(),
        Mode::Alerts,
        &mut out,
    );
    assert_eq!(v, Verdict::Rewritten);
    for junk in ["", "[]", "{\"a\":", "\"x\"", "{\"eventName\":\"ListUsers\""] {
        let v = e.process(
            junk.as_bytes(),
            RecordTime::default(),
            Mode::Alerts,
            &mut out,
        );
        assert_eq!(v, Verdict::Drop, "{junk:?}");
    }
}

#[test]
fn records_batches_report_each_firing_index() {
    let mut e = engine("");
    let a = ev("GetCallerIdentity", "sts.amazonaws.com", T0).json();
    let benign = ev("GetObject", "s3.amazonaws.com", T0).json();
    let mut bob = ev("ListUsers", "iam.amazonaws.com", T0);
    bob.identity = user("bob");
    let record = format!("{{\"Records\":[{a},{benign},{}]}}", bob.json());
    let d = run(&mut e, &record).expect("fires");
    let events = d["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["index"], 0);
    assert_eq!(events[1]["index"], 2);
    assert_eq!(events[1]["identity"]["user_name"], "bob");
}

#[test]
fn counters_track_what_was_seen() {
    let mut e = engine("");
    run(&mut e, &ev("ListUsers", "iam.amazonaws.com", T0).json());
    run(&mut e, &ev("ListUsers", "iam.amazonaws.com", T0 + 1).json());
    run(&mut e, &ev("GetObject", "s3.amazonaws.com", T0).json());
    run(&mut e, "not json");
    let c = e.counters();
    assert_eq!(c.records, 4);
    assert_eq!(c.candidates, 2);
    assert_eq!(c.detections_discovery, 1);
    assert_eq!(c.unparsable, 1);
    let info: Value = serde_json::from_str(&e.info_json()).expect("info is JSON");
    assert_eq!(info["counters"]["candidates"], 2);
    assert_eq!(info["state"]["identity_keys"], 1);
}
