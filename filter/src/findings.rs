//! OCSF Detection Findings (class 2004, schema 1.5.0): what `vpnrecon_findings`
//! returns for a record that fires, in place of the record.
//!
//! One record gives at most one finding, because the host takes one record back per
//! call. A `Records` batch with several firing events gives one finding whose
//! headline (title, analytic, severity, time, cloud) is the first firing event of
//! the highest severity, and whose `evidences` list every firing event in `Records`
//! order; `unmapped.vpnrecon.detection` is the `detection` object annotate mode
//! would add, so nothing is lost.

use std::fmt::Write as _;

use crate::config::ConfigError;
use crate::output::{format_time, render_detections, string};
use crate::rules::{Detection, Rule};

/// The OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.5.0";
/// Detection Finding.
pub const CLASS_UID: u32 = 2004;
/// Findings.
pub const CATEGORY_UID: u32 = 2;
/// Create: a new finding.
pub const ACTIVITY_ID: u32 = 1;

/// OCSF `severity_id`: 3 Medium, 4 High.
pub fn severity_id(rule: Rule) -> u32 {
    match rule.severity() {
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        _ => 0,
    }
}

/// The detection a finding is titled after: the first of the highest severity.
fn headline(detections: &[Detection]) -> Option<&Detection> {
    let mut best: Option<&Detection> = None;
    for d in detections {
        if best.is_none_or(|b| severity_id(d.rule) > severity_id(b.rule)) {
            best = Some(d);
        }
    }
    best
}

/// The finding for `record`'s detections; `None` when there are none.
pub fn render(
    record: &[u8],
    detections: &[Detection],
    config_error: Option<&ConfigError>,
) -> Option<String> {
    let head = headline(detections)?;
    let c = &head.candidate;
    let mut out = String::with_capacity(2048 + record.len() * 2);
    let time_ms = c.time.saturating_mul(1000);
    out.push('{');
    let _ = write!(
        out,
        "\"class_uid\":{CLASS_UID},\"class_name\":\"Detection Finding\",\
         \"category_uid\":{CATEGORY_UID},\"category_name\":\"Findings\",\
         \"activity_id\":{ACTIVITY_ID},\"activity_name\":\"Create\",\
         \"type_uid\":{},\"type_name\":\"Detection Finding: Create\",",
        CLASS_UID * 100 + ACTIVITY_ID
    );
    let _ = write!(
        out,
        "\"severity_id\":{},\"severity\":\"{}\",\"risk_score\":{},\
         \"status_id\":1,\"status\":\"New\",\"time\":{time_ms},",
        severity_id(head.rule),
        capitalised(head.rule.severity()),
        head.rule.risk_score()
    );
    out.push_str("\"time_dt\":");
    string(&mut out, &format_time(c.time));
    let _ = write!(
        out,
        ",\"metadata\":{{\"version\":\"{OCSF_VERSION}\",\"product\":{{\"name\":\"vpnrecon\",\"vendor_name\":\"vpnrecon\",\"version\":\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(",\"uid\":");
    let uid = finding_uid(head);
    string(&mut out, &uid);
    out.push('}');

    out.push_str(",\"finding_info\":{\"uid\":");
    string(&mut out, &uid);
    out.push_str(",\"title\":");
    string(&mut out, head.rule.name());
    out.push_str(",\"desc\":");
    string(&mut out, &head.reason);
    out.push_str(",\"analytic\":{\"uid\":");
    string(&mut out, head.rule.id());
    out.push_str(",\"name\":");
    string(&mut out, head.rule.name());
    out.push_str(",\"type_id\":1,\"type\":\"Rule\"}");
    out.push_str(
        ",\"attacks\":[\
         {\"tactic\":{\"uid\":\"TA0007\",\"name\":\"Discovery\"},\"technique\":{\"uid\":\"T1526\",\"name\":\"Cloud Service Discovery\"}},\
         {\"tactic\":{\"uid\":\"TA0007\",\"name\":\"Discovery\"},\"technique\":{\"uid\":\"T1580\",\"name\":\"Cloud Infrastructure Discovery\"}}]",
    );
    out.push_str(",\"types\":[\"AWS discovery from a VPN ASN\"]");
    if let Some(previous) = head.previous_seen {
        let _ = write!(
            out,
            ",\"first_seen_time\":{}",
            previous.saturating_mul(1000)
        );
    }
    out.push('}');

    out.push_str(",\"cloud\":{\"provider\":\"AWS\"");
    if let Some(account) = &head.account_id {
        out.push_str(",\"account\":{\"uid\":");
        string(&mut out, account);
        out.push_str(",\"name\":");
        string(&mut out, account);
        out.push_str(",\"type_id\":10,\"type\":\"AWS Account\"}");
    }
    if let Some(region) = &head.region {
        out.push_str(",\"region\":");
        string(&mut out, region);
    }
    out.push('}');

    out.push_str(",\"evidences\":[");
    for (i, d) in detections.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        evidence(&mut out, d);
    }
    out.push(']');

    out.push_str(",\"raw_data\":");
    string(&mut out, &String::from_utf8_lossy(record));
    out.push_str(",\"unmapped\":{\"vpnrecon\":{\"detection\":");
    out.push_str(&render_detections(detections, config_error));
    out.push_str("}}}");
    Some(out)
}

/// Stable across runs: the rule, the key it tracks and the event time (and the
/// position in `Records` for a batch).
fn finding_uid(d: &Detection) -> String {
    let mut uid = format!(
        "{}:{}:{}",
        d.rule.id(),
        d.identity_key,
        format_time(d.candidate.time)
    );
    if let Some(index) = d.index {
        let _ = write!(uid, "#{index}");
    }
    uid
}

fn evidence(out: &mut String, d: &Detection) {
    let c = &d.candidate;
    out.push_str("{\"actor\":{\"user\":{\"uid\":");
    string(out, &c.arn);
    if let Some(name) = &d.user_name {
        out.push_str(",\"name\":");
        string(out, name);
    }
    if let Some(kind) = &d.identity_type {
        out.push_str(",\"type\":");
        string(out, kind);
    }
    if let Some(account) = &d.account_id {
        out.push_str(",\"account\":{\"uid\":");
        string(out, account);
        out.push_str(",\"name\":");
        string(out, account);
        out.push_str(",\"type_id\":10,\"type\":\"AWS Account\"}");
    }
    out.push('}');
    if let Some(key) = &d.access_key_id {
        out.push_str(",\"session\":{\"uid\":");
        string(out, key);
        out.push_str(",\"issuer\":");
        string(out, &c.arn);
        out.push('}');
    }
    out.push('}');
    out.push_str(",\"src_endpoint\":{\"ip\":");
    string(out, &c.source_ip.to_string());
    let _ = write!(
        out,
        ",\"autonomous_system\":{{\"number\":{},\"name\":",
        c.asn
    );
    string(out, &c.organisation);
    out.push_str("}}");
    out.push_str(",\"api\":{\"operation\":");
    string(out, &c.action);
    // OCSF leaves the service's uid and version optional; py-ocsf-models requires
    // them. CloudTrail names no service version, so it is empty rather than guessed.
    out.push_str(",\"service\":{\"name\":");
    string(out, &c.provider);
    out.push_str(",\"uid\":");
    string(out, &c.provider);
    out.push_str(",\"version\":\"\"}}");
    out.push_str(",\"data\":{\"outcome\":");
    string(out, c.outcome);
    if let Some(index) = d.index {
        let _ = write!(out, ",\"records_index\":{index}");
    }
    out.push('}');
    out.push_str(",\"name\":");
    string(out, d.rule.id());
    out.push('}');
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
