//! Shared oracles for the fuzz targets.
//!
//! The record oracle runs one input through two fresh engines with identical
//! state histories — one in annotate mode, one in alerts mode — and checks the
//! output contract byte for byte:
//!
//! * annotate never drops; its output is the input unchanged, or the input with one
//!   `"detection":{...}` member (comma-prefixed when the object has members) inserted
//!   before the final `}` — every other byte equal;
//! * alerts passes a record only when annotate found a detection, and then with the
//!   same bytes.

use std::sync::OnceLock;

use vpnrecon_filter::config::Loaded;
use vpnrecon_filter::state::{State, StateConfig};
use vpnrecon_filter::{Engine, Mode, RecordTime, Verdict};

pub mod event;

/// An engine with default configuration and in-memory state (no files touched).
/// The default configuration is built once: it parses the embedded curated
/// list, which would otherwise dominate the time of every run.
pub fn fresh_engine() -> Engine {
    static DEFAULTS: OnceLock<Loaded> = OnceLock::new();
    let loaded = DEFAULTS.get_or_init(Loaded::default).clone();
    Engine::from_parts(loaded, State::in_memory(StateConfig::default()))
}

/// A pair of engines fed the same records, one per mode.
pub struct EnginePair {
    annotate: Engine,
    alerts: Engine,
    out_annotate: Vec<u8>,
    out_alerts: Vec<u8>,
}

impl Default for EnginePair {
    fn default() -> Self {
        EnginePair {
            annotate: fresh_engine(),
            alerts: fresh_engine(),
            out_annotate: Vec::new(),
            out_alerts: Vec::new(),
        }
    }
}

impl EnginePair {
    /// Processes `record` in both modes and asserts the output contract.
    /// Returns whether a detection was added.
    pub fn check(&mut self, record: &[u8], time: RecordTime) -> bool {
        let annotated = self
            .annotate
            .process(record, time, Mode::Annotate, &mut self.out_annotate);
        let alerted = self
            .alerts
            .process(record, time, Mode::Alerts, &mut self.out_alerts);
        match annotated {
            Verdict::Drop => panic!("annotate mode dropped a record"),
            Verdict::Unchanged => {
                assert_eq!(
                    alerted,
                    Verdict::Drop,
                    "alerts passed a record annotate left unchanged"
                );
                false
            }
            Verdict::Rewritten => {
                check_splice(record, &self.out_annotate);
                assert_eq!(
                    alerted,
                    Verdict::Rewritten,
                    "annotate found a detection, alerts did not"
                );
                assert_eq!(
                    self.out_alerts, self.out_annotate,
                    "alerts output differs from annotate output"
                );
                true
            }
        }
    }
}

/// `out` must be `record` with exactly one `"detection":<object>` member inserted
/// before the last `}` of `record`.
pub fn check_splice(record: &[u8], out: &[u8]) {
    let close = record
        .iter()
        .rposition(|&b| b == b'}')
        .expect("a rewritten record has a closing brace");
    let (head, tail) = record.split_at(close);
    assert!(out.len() > record.len(), "rewritten output is not longer");
    assert_eq!(
        &out[..head.len()],
        head,
        "bytes before the insertion changed"
    );
    assert_eq!(
        &out[out.len() - tail.len()..],
        tail,
        "bytes after the insertion changed"
    );
    let inserted = &out[head.len()..out.len() - tail.len()];
    let has_members = head
        .iter()
        .rev()
        .find(|b| !b" \t\r\n".contains(b))
        .is_some_and(|&b| b != b'{');
    let member = if has_members {
        inserted
            .strip_prefix(b",")
            .expect("member after others must start with a comma")
    } else {
        inserted
    };
    let value = member.strip_prefix(b"\"detection\":").unwrap_or_else(|| {
        panic!(
            "inserted text is not a detection member: {:?}",
            String::from_utf8_lossy(member)
        )
    });
    // One JSON value and nothing else: serde_json rejects trailing content.
    let parsed: serde_json::Value = serde_json::from_slice(value).unwrap_or_else(|e| {
        panic!(
            "detection is not one JSON value ({e}): {:?}",
            String::from_utf8_lossy(value)
        )
    });
    assert!(parsed.is_object(), "detection is not an object");
    // If the input was JSON serde_json accepts, the output must be too.
    if serde_json::from_slice::<serde_json::Value>(record).is_ok() {
        serde_json::from_slice::<serde_json::Value>(out)
            .expect("valid input became invalid output");
    }
}
