//! Why each event of a record does or does not meet the rules' conditions, as
//! JSON: what the triage page shows for an event. Reads configuration and the ASN
//! table only, never state, so asking does not change any later verdict; whether a
//! candidate then fired depends on the history the detector holds.

use crate::event::Event;
use crate::output::string;
use crate::record::{self, Shape};
use crate::rules::{Evaluator, NotCandidate};
use crate::RecordTime;
use std::fmt::Write;

/// `{"shape": "...", "events": [{"index": N|null, "fields": {...}, "discovery": bool,
/// "candidate": bool, "rule": "A"|"B"|null, "reason": "..."}]}`, or
/// `{"shape": null, "error": "..."}` for a record that is not a readable JSON object.
/// `fields` holds the event's fields an analyst looks at (absent ones are `null`)
/// and the source address's ASN; `discovery` says the provider and (normalised)
/// action are listed, whatever the source.
pub fn explain(evaluator: &Evaluator, record: &[u8], time: RecordTime) -> String {
    let mut events = String::from("[");
    let mut first = true;
    let shape = record::visit_events(record, &mut |slot| {
        if !first {
            events.push(',');
        }
        first = false;
        events.push_str("{\"index\":");
        match slot.index {
            Some(i) => {
                let _ = write!(events, "{i}");
            }
            None => events.push_str("null"),
        }
        fields(evaluator, slot.event, &mut events);
        match evaluator.screen(slot.event, time) {
            Ok(candidate) => {
                let workload = evaluator.is_workload(slot.event);
                let (rule, reason) = if workload {
                    (
                        "B",
                        format!(
                            "candidate for rule B: workload credentials calling {} from AS{} ({}); \
                             alerts once per principal, ASN and action in each UTC hour",
                            candidate.action, candidate.asn, candidate.category
                        ),
                    )
                } else {
                    (
                        "A",
                        format!(
                            "candidate for rule A: {} from AS{} ({}); alerts when this \
                             (account, identity, ASN) was not seen in the window before",
                            candidate.action, candidate.asn, candidate.category
                        ),
                    )
                };
                let _ = write!(
                    events,
                    ",\"candidate\":true,\"rule\":\"{rule}\",\"reason\":"
                );
                string(&mut events, &reason);
            }
            Err(not) => {
                events.push_str(",\"candidate\":false,\"rule\":null,\"reason\":");
                string(&mut events, &NotCandidate::describe(not));
            }
        }
        events.push('}');
    });
    events.push(']');
    match shape {
        Ok(shape) => {
            let mut out = String::from("{\"shape\":");
            string(&mut out, shape_name(shape));
            out.push_str(",\"events\":");
            out.push_str(&events);
            out.push('}');
            out
        }
        Err(malformed) => {
            let mut out = String::from("{\"shape\":null,\"error\":");
            string(&mut out, &malformed.to_string());
            out.push('}');
            out
        }
    }
}

/// `,"fields":{...},"discovery":bool` for one event.
fn fields(evaluator: &Evaluator, event: &Event<'_>, out: &mut String) {
    out.push_str(",\"fields\":{");
    let texts: [(&str, Option<&str>); 9] = [
        ("action", event.action.as_deref()),
        ("provider", event.provider.as_deref()),
        ("time", event.time.as_deref()),
        ("source_ip", event.source_ip.as_deref()),
        ("arn", event.arn.as_deref()),
        ("type", event.identity_type.as_deref()),
        ("user_name", event.user_name.as_deref()),
        ("account_id", event.account_id.as_deref()),
        ("error_code", event.error_code.as_deref()),
    ];
    for (i, (name, value)) in texts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, name);
        out.push(':');
        match value {
            Some(text) => string(out, text),
            None => out.push_str("null"),
        }
    }
    let asn = event
        .source_ip
        .as_deref()
        .and_then(|ip| asn_data::parse_ip(ip).ok())
        .and_then(|ip| evaluator.table()?.lookup(ip));
    let config = evaluator.config();
    out.push_str(",\"asn\":");
    match asn {
        Some(asn) => {
            let _ = write!(out, "{{\"number\":{},\"organization\":", asn.number);
            string(out, asn.organisation);
            out.push_str(",\"vpn_category\":");
            match config.vpn_category(asn.number) {
                Some(category) => string(out, category),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        None => out.push_str("null"),
    }
    out.push('}');
    let discovery = event
        .provider
        .as_deref()
        .is_some_and(|p| config.has_provider(p))
        && event
            .action
            .as_deref()
            .is_some_and(|a| config.has_action(a.as_bytes()));
    let _ = write!(out, ",\"discovery\":{discovery}");
}

fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::Raw => "raw CloudTrail event",
        Shape::Batch => "S3 delivery file (Records)",
        Shape::EventBridge => "EventBridge envelope",
        Shape::Wrapped(_) => "line wrapped in log/message",
        Shape::Ecs => "ECS document",
        Shape::Unknown => "not a CloudTrail shape",
    }
}
