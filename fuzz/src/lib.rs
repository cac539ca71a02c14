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
/// before the last `}` of `record` — or, when `record` already has a top-level
/// `detection` member, `record` with that member's value replaced.
pub fn check_splice(record: &[u8], out: &[u8]) {
    if let Ok(serde_json::Value::Object(mut before)) =
        serde_json::from_slice::<serde_json::Value>(record)
    {
        if before.contains_key("detection") {
            let after: serde_json::Value =
                serde_json::from_slice(out).expect("a replaced detection keeps the record JSON");
            let detection = after
                .get("detection")
                .cloned()
                .expect("detection is present");
            assert!(detection.is_object(), "detection is not an object");
            before.insert("detection".to_owned(), detection);
            assert_eq!(
                serde_json::Value::Object(before),
                after,
                "more than the detection member changed"
            );
            return;
        }
    }
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

/// The prefilter oracle: one engine with the default configuration (the prefilter
/// in front) and one with `enrich_all`, which sends every record to the full
/// evaluation in annotate mode. The prefilter must never turn away a record whose
/// evaluation finds a candidate, so the two must count the same candidates and
/// detections, record for record.
pub struct PrefilterPair {
    screened: Engine,
    full: Engine,
    out: Vec<u8>,
}

/// The prefilter pair's configuration: the default lists plus local VPN ranges
/// (one holding an address of no listed ASN, one private, one IPv6) and an
/// allowlisted piece of one, so the source-address check is fuzzed with both kinds
/// of VPN source.
const PREFILTER_CONFIG: &str = r#"
add_vpn_cidrs = [
    { cidr = "8.8.8.0/24", label = "fuzz: public range of an unlisted ASN" },
    { cidr = "10.0.0.0/8", label = "fuzz: private range" },
    { cidr = "2001:db8::/32", label = "fuzz: IPv6 range" },
]
allow_cidrs = ["8.8.8.128/25"]
"#;

impl Default for PrefilterPair {
    fn default() -> Self {
        static CONFIG: OnceLock<Loaded> = OnceLock::new();
        let loaded = CONFIG
            .get_or_init(|| {
                vpnrecon_filter::config::load_text(PREFILTER_CONFIG, "vpnrecon.toml", &mut |e| {
                    panic!("{e}")
                })
            })
            .clone();
        let mut full = loaded.clone();
        full.config.enrich_all = true;
        PrefilterPair {
            screened: Engine::from_parts(loaded, State::in_memory(StateConfig::default())),
            full: Engine::from_parts(full, State::in_memory(StateConfig::default())),
            out: Vec::new(),
        }
    }
}

impl PrefilterPair {
    /// Candidates and detections (rule A, rule B) so far, behind the prefilter.
    pub fn counts(&self) -> (u64, u64, u64) {
        let c = self.screened.counters();
        (c.candidates, c.detections_discovery, c.detections_workload)
    }

    pub fn check(&mut self, record: &[u8], time: RecordTime) {
        self.screened
            .process(record, time, Mode::Annotate, &mut self.out);
        self.full
            .process(record, time, Mode::Annotate, &mut self.out);
        let (s, f) = (self.screened.counters(), self.full.counters());
        assert_eq!(
            (s.candidates, s.detections_discovery, s.detections_workload),
            (f.candidates, f.detections_discovery, f.detections_workload),
            "the prefilter turned away a candidate: {:?}",
            String::from_utf8_lossy(record)
        );
    }
}

/// `record` with some ASCII letters inside strings written as `\u00XX` escapes, as
/// chosen by the bits of `choice`: the same JSON value (escapes inside strings are
/// left as they are, so an escaped letter decodes to the letter at the level where
/// it was written).
pub fn respell(record: &[u8], choice: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() * 2);
    let mut bits = choice
        .iter()
        .flat_map(|b| (0..8).map(move |i| b >> i & 1 == 1));
    // `escaped`: bytes still belonging to an escape (`\"` is one, `\uXXXX` five).
    let (mut in_string, mut escaped) = (false, 0usize);
    for &b in record {
        if in_string && escaped == 0 && b.is_ascii_alphabetic() && bits.next().unwrap_or(false) {
            out.extend_from_slice(format!("\\u{:04x}", b).as_bytes());
            continue;
        }
        out.push(b);
        if escaped > 0 {
            escaped = if escaped == 1 && b == b'u' {
                4
            } else {
                escaped - 1
            };
        } else if in_string && b == b'\\' {
            escaped = 1;
        } else if b == b'"' {
            in_string = !in_string;
        }
    }
    out
}
