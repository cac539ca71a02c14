//! The input shapes of the contract, derived from raw CloudTrail lines so that every
//! shape carries exactly the same events.

use serde_json::{json, Map, Value};

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("fixture line is not JSON ({e}): {line}"))
}

fn field<'v>(event: &'v Value, path: &[&str]) -> Option<&'v Value> {
    crate::expect::get(event, path)
}

fn string(event: &Value, path: &[&str]) -> Option<String> {
    field(event, path)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// An S3 delivery file: the raw lines, byte for byte, inside `{"Records":[...]}`.
pub fn batch(lines: &[String]) -> String {
    format!("{{\"Records\":[{}]}}", lines.join(","))
}

/// An EventBridge "AWS API Call via CloudTrail" envelope around the raw line.
pub fn eventbridge(line: &str) -> String {
    let event = parse(line);
    let service = string(&event, &["eventSource"])
        .map(|s| s.trim_end_matches(".amazonaws.com").to_owned())
        .unwrap_or_default();
    let envelope = json!({
        "version": "0",
        "id": string(&event, &["eventID"]).unwrap_or_default(),
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": string(&event, &["recipientAccountId"]).unwrap_or_default(),
        "time": string(&event, &["eventTime"]).unwrap_or_default(),
        "region": string(&event, &["awsRegion"]).unwrap_or_default(),
        "resources": [],
    });
    let head = envelope.to_string();
    format!("{},\"detail\":{line}}}", &head[..head.len() - 1])
}

/// A line read by a router without a JSON parser: the event as escaped text in
/// `log` (Fluent Bit `tail`) or `message` (syslog-style inputs).
pub fn wrapped(line: &str, key: &str) -> String {
    let text = Value::String(line.to_owned()).to_string();
    match key {
        "message" => {
            format!("{{\"host\":\"collector-1\",\"ident\":\"cloudtrail\",\"message\":{text}}}")
        }
        _ => format!("{{\"{key}\":{text}}}"),
    }
}

/// Elastic's `user.name` for CloudTrail: the session issuer's user name, else the
/// user name; absent for root and federated users.
fn user_name(event: &Value) -> Option<String> {
    string(
        event,
        &[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "userName",
        ],
    )
    .or_else(|| string(event, &["userIdentity", "userName"]))
}

/// An ECS document as Elastic's `aws.cloudtrail` integration writes it (nested keys).
pub fn ecs_nested(line: &str) -> Value {
    let event = parse(line);
    let s = |path: &[&str]| string(&event, path);
    let identity = |key: &str| s(&["userIdentity", key]);
    let source_address = s(&["sourceIPAddress"]).unwrap_or_default();
    let mut source = Map::new();
    source.insert("address".into(), json!(source_address));
    if source_address.parse::<std::net::IpAddr>().is_ok() {
        source.insert("ip".into(), json!(source_address));
    }
    let mut cloudtrail = json!({
        "event_version": s(&["eventVersion"]),
        "user_identity": {
            "type": identity("type"),
            "arn": identity("arn"),
            "access_key_id": identity("accessKeyId"),
        },
        "event_type": s(&["eventType"]),
        "request_id": s(&["requestID"]),
        "event_category": s(&["eventCategory"]),
        "recipient_account_id": s(&["recipientAccountId"]),
        "request_parameters": field(&event, &["requestParameters"]).map(Value::to_string),
    });
    if let Some(issuer) = field(&event, &["userIdentity", "sessionContext", "sessionIssuer"]) {
        cloudtrail["user_identity"]["session_context"] = json!({"session_issuer": {
            "type": issuer.get("type"), "principal_id": issuer.get("principalId"),
            "arn": issuer.get("arn"), "account_id": issuer.get("accountId"),
        }});
    }
    if let Some(code) = s(&["errorCode"]) {
        cloudtrail["error_code"] = json!(code);
        cloudtrail["error_message"] = json!(s(&["errorMessage"]));
    }
    let outcome = if s(&["errorCode"]).is_some() {
        "failure"
    } else {
        "success"
    };
    let mut doc = json!({
        "@timestamp": s(&["eventTime"]).map(|t| t.replace('Z', ".000Z")),
        "data_stream": {"dataset": "aws.cloudtrail", "namespace": "default", "type": "logs"},
        "ecs": {"version": "8.11.0"},
        "event": {
            "action": s(&["eventName"]), "provider": s(&["eventSource"]), "outcome": outcome,
            "kind": "event", "type": ["info"], "id": s(&["eventID"]),
            "dataset": "aws.cloudtrail", "module": "aws",
        },
        "source": source,
        "cloud": {"provider": "aws", "region": s(&["awsRegion"]),
                  "account": {"id": identity("accountId").or_else(|| s(&["recipientAccountId"]))}},
        "user_agent": {"original": s(&["userAgent"])},
        "aws": {"cloudtrail": cloudtrail},
        "tags": ["forwarded", "aws-cloudtrail"],
    });
    if let Some(name) = user_name(&event) {
        doc["user"] = json!({"name": name});
    }
    strip_nulls(&mut doc);
    doc
}

/// The same ECS document with dotted keys (`"event.action": ...`), as some shippers
/// and Elasticsearch `_source` filtering produce.
pub fn ecs_dotted(line: &str) -> Value {
    let mut flat = Map::new();
    flatten("", &ecs_nested(line), &mut flat);
    Value::Object(flat)
}

fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        for inner in map.values_mut() {
            strip_nulls(inner);
        }
    }
}
