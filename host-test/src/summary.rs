//! What a replay found: counts, detections per rule, top ASNs and identities, all
//! read back from the `detection` objects of the output records.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

/// How many ASNs and identities the summary lists.
const TOP: usize = 10;

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub records: u64,
    pub kept: u64,
    pub dropped: u64,
    pub lost: u64,
    pub detections_by_rule: BTreeMap<String, u64>,
    pub asns: HashMap<String, u64>,
    pub identities: HashMap<String, u64>,
    pub elapsed: Duration,
    pub digests_skipped: u64,
    pub files: u64,
    /// Records whose `eventTime` the input reader refused, and why the first was.
    pub invalid_times: u64,
    pub first_invalid_time: Option<String>,
}

impl Summary {
    /// Counts the detections in one output record (no-op when it has none).
    pub fn observe_output(&mut self, record: &[u8]) {
        if !contains(record, b"\"detection\"") {
            return;
        }
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(record) else {
            return;
        };
        // An annotated record carries `detection`; a finding (findings mode) carries
        // the same object under `unmapped.vpnrecon.detection`.
        let finding = object
            .get("unmapped")
            .and_then(|u| u.pointer("/vpnrecon/detection"));
        let Some(detection) = object.get("detection").or(finding) else {
            return;
        };
        match detection.get("events").and_then(Value::as_array) {
            Some(events) => events.iter().for_each(|e| self.observe_detection(e)),
            None => self.observe_detection(detection),
        }
    }

    fn observe_detection(&mut self, d: &Value) {
        let rule = text_at(d, &["rule", "id"]).unwrap_or_else(|| "(no rule id)".into());
        *self.detections_by_rule.entry(rule).or_default() += 1;
        if let Some(number) = d.pointer("/source/as/number") {
            let org = text_at(d, &["source", "as", "organization", "name"]).unwrap_or_default();
            let label = format!("AS{} {}", number, org).trim().to_string();
            *self.asns.entry(label).or_default() += 1;
        }
        let identity = text_at(d, &["identity", "key"])
            .or_else(|| text_at(d, &["identity", "arn"]))
            .unwrap_or_else(|| "(unknown identity)".into());
        *self.identities.entry(identity).or_default() += 1;
    }

    pub fn detections(&self) -> u64 {
        self.detections_by_rule.values().sum()
    }

    pub fn records_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.records as f64 / secs
        } else {
            0.0
        }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "vpnrecon replay: {} records from {} files ({} digest files skipped) in {:.2} s, {:.0} records/s",
            self.records,
            self.files,
            self.digests_skipped,
            self.elapsed.as_secs_f64(),
            self.records_per_second()
        );
        let _ = writeln!(
            s,
            "  output {} records, dropped {}, LOST {}",
            self.kept, self.dropped, self.lost
        );
        if self.invalid_times > 0 {
            let _ = writeln!(
                s,
                "  {} record{} with an eventTime that is not a valid time, stamped with the previous record's time; first: {}",
                self.invalid_times,
                if self.invalid_times == 1 { "" } else { "s" },
                self.first_invalid_time.as_deref().unwrap_or("?")
            );
        }
        let _ = writeln!(s, "  detections: {}", self.detections());
        for (rule, n) in &self.detections_by_rule {
            let _ = writeln!(s, "    {n:>8}  {rule}");
        }
        for (title, table) in [
            ("top ASNs", &self.asns),
            ("top identities", &self.identities),
        ] {
            if table.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {title}:");
            for (label, n) in top(table) {
                let _ = writeln!(s, "    {n:>8}  {label}");
            }
        }
        s
    }
}

fn top(table: &HashMap<String, u64>) -> Vec<(&str, u64)> {
    let mut rows: Vec<(&str, u64)> = table.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    rows.truncate(TOP);
    rows
}

fn text_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
