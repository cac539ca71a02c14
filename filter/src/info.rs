//! `vpnrecon_info`: what this instance is running with and what it has seen, as one
//! JSON object, so an operator can check a deployment without reading its alerts.

use crate::config::Source;
use crate::output::string;
use crate::rules::{Evaluator, Rule};
use crate::time::format_duration;
use crate::Counters;
use std::fmt::Write;

pub fn render(evaluator: &Evaluator, counters: &Counters) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"version\":");
    string(&mut out, env!("CARGO_PKG_VERSION"));
    let config = evaluator.config();
    out.push_str(",\"rules\":[");
    let rules = [
        (Rule::DiscoveryNewIdentity, config.rule_discovery),
        (Rule::Workload, config.rule_workload),
    ];
    for (i, (rule, enabled)) in rules.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"id\":\"{}\",\"severity\":\"{}\",\"enabled\":{enabled}}}",
            rule.id(),
            rule.severity()
        );
    }
    out.push_str("],\"asn_data\":");
    match evaluator.table() {
        Some(table) => {
            let header = table.header();
            out.push_str("{\"source\":");
            string(&mut out, header.source);
            out.push_str(",\"source_version\":");
            string(&mut out, header.source_version);
            out.push_str(",\"build_date\":");
            string(&mut out, header.build_date);
            let _ = write!(
                out,
                ",\"ipv4_entries\":{},\"ipv6_entries\":{},\"asns\":{}}}",
                header.v4.entries, header.v6.entries, header.asns
            );
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"config\":{\"source\":");
    match &evaluator.loaded().source {
        Source::Defaults => string(&mut out, "defaults"),
        Source::File(path) => string(&mut out, path),
    }
    out.push_str(",\"error\":");
    match evaluator.config_error() {
        Some(error) => string(&mut out, &error.to_string()),
        None => out.push_str("null"),
    }
    out.push_str(",\"window\":");
    string(&mut out, &format_duration(config.window_secs));
    let _ = write!(
        out,
        ",\"vpn_asns\":{},\"actions\":{}}}",
        config.vpn_asn_count(),
        config.action_count()
    );
    let stats = evaluator.state().stats();
    let _ = write!(
        out,
        ",\"counters\":{{\"records\":{},\"parsed\":{},\"candidates\":{},\
         \"detections\":{{\"{}\":{},\"{}\":{}}},\"unparsable\":{},\"enriched\":{}}}",
        counters.records,
        counters.parsed,
        counters.candidates,
        Rule::DiscoveryNewIdentity.id(),
        counters.detections_discovery,
        Rule::Workload.id(),
        counters.detections_workload,
        counters.unparsable,
        counters.enriched,
    );
    let _ = write!(
        out,
        ",\"state\":{{\"identity_keys\":{},\"workload_keys\":{},\"evicted\":{},\
         \"persistent\":{},\"bytes_per_key\":{},\"journal\":",
        stats.identity_keys,
        stats.workload_keys,
        stats.evicted,
        stats.persistent,
        stats.bytes_per_key_estimate,
    );
    match &stats.journal {
        Some(path) => string(&mut out, path),
        None => out.push_str("null"),
    }
    out.push_str("}}");
    out
}
