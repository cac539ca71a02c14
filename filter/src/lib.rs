//! vpnrecon: detects AWS discovery API calls made from VPN and VPN-heavy hosting
//! networks, inside the log router, one record at a time.
//!
//! Read top-down: [`abi`] (how Fluent Bit calls us) → [`prefilter`] (reject the
//! common record cheaply) → [`record`] (which shape is this record) → [`event`] (the
//! fields of one event) → [`rules`] (A: new identity, B: workload) → [`state`]
//! (last-seen and hourly dedup, journalled) → [`output`] (splice `detection`).
//!
//! Nothing in this crate may panic or recurse with the nesting depth of its input:
//! inside the host a trap drops the record being processed. The workspace lints
//! (`Cargo.toml`, `[workspace.lints.clippy]`) deny `unwrap`, `expect`, indexing and
//! `panic!` here; `clippy.toml` allows them in tests.

// The Fluent Bit ABI exists for WASI and native builds; the browser/Node build
// (`wasm32-unknown-unknown`, feature `js`) exposes `js::Detector` instead.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod abi;
pub mod action;
pub mod config;
pub mod event;
pub mod explain;
pub mod findings;
pub mod info;
#[cfg(feature = "js")]
pub mod js;
pub mod output;
pub mod prefilter;
pub mod preopens;
pub mod record;
pub mod rules;
pub mod scan;
pub mod state;
/// Event times and how detections write them: the `vpnrecon-time` crate, shared with
/// the host and the ASN table builder.
pub use vpnrecon_time as time;

use rules::{Detection, Evaluator};

/// Which entry point the host called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every record passes; detections are added to the record.
    Annotate,
    /// Only records with a detection pass.
    Alerts,
    /// A record with a detection is replaced by an OCSF Detection Finding; all
    /// others are dropped.
    Findings,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::Annotate, Mode::Alerts, Mode::Findings];

    /// The name users write (`vpnrecon replay --mode alerts`); [`str::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Annotate => "annotate",
            Mode::Alerts => "alerts",
            Mode::Findings => "findings",
        }
    }

    /// The module's export for this mode (Fluent Bit's `Function_Name`, defined in `abi.rs`).
    pub fn entry_point(self) -> &'static str {
        match self {
            Mode::Annotate => "vpnrecon_annotate",
            Mode::Alerts => "vpnrecon_alerts",
            Mode::Findings => "vpnrecon_findings",
        }
    }
}

impl core::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.name() == s)
            .ok_or_else(|| format!("unknown mode `{s}`: use annotate, alerts or findings"))
    }
}

impl core::fmt::Display for Mode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The record time Fluent Bit passes with each record; used when `eventTime` is
/// missing or unparsable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordTime {
    pub sec: u32,
    pub nsec: u32,
}

/// What to hand back to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Return the host's own record bytes (zero copy).
    Unchanged,
    /// Return the bytes written to the output buffer.
    Rewritten,
    /// Return the empty string: the host drops the record.
    Drop,
}

/// Counters reported by `vpnrecon_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub records: u64,
    /// Records that passed the prefilter and were parsed in full.
    pub parsed: u64,
    /// Events that met the provider, action and ASN conditions (and exclusions).
    pub candidates: u64,
    pub detections_discovery: u64,
    pub detections_workload: u64,
    /// Records that were not a JSON object, not UTF-8, or truncated: passed through.
    pub unparsable: u64,
    /// Records that gained `source_as` through `enrich_all`.
    pub enriched: u64,
}

/// One module instance's detection engine: configuration, state and counters.
pub struct Engine {
    evaluator: Evaluator,
    counters: Counters,
    /// Scratch space for the detections of one record, reused between records.
    detections: Vec<Detection>,
    /// Recently read `userIdentity` objects (`record::IdentityMemo`).
    identities: record::IdentityMemo,
}

impl Engine {
    /// Loads `vpnrecon.toml` from the pre-opened directory (defaults when absent or
    /// invalid) and opens the state journal it names.
    pub fn new() -> Engine {
        let loaded = config::load();
        Engine::with_config(loaded)
    }

    /// An engine for an already loaded configuration; opens state as configured.
    /// `state_dir = "."` is the directory of the configuration file (valid or not),
    /// else the first pre-opened directory.
    pub fn with_config(mut loaded: config::Loaded) -> Engine {
        if loaded.config.state_dir == "." {
            loaded.config.state_dir = config::default_state_dir(&loaded.source);
        }
        let state = state::State::open_configured(&loaded.config);
        Engine::from_parts(loaded, state)
    }

    /// An engine over explicit parts (tests give it in-memory or temporary state).
    pub fn from_parts(loaded: config::Loaded, state: state::State) -> Engine {
        Engine {
            evaluator: Evaluator::new(loaded, state),
            counters: Counters::default(),
            detections: Vec::new(),
            identities: record::IdentityMemo::default(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Processes one record. On [`Verdict::Rewritten`] the new record is in `out`.
    pub fn process(
        &mut self,
        record: &[u8],
        time: RecordTime,
        mode: Mode,
        out: &mut Vec<u8>,
    ) -> Verdict {
        self.counters.records = self.counters.records.wrapping_add(1);
        let pass = match mode {
            Mode::Annotate => Verdict::Unchanged,
            Mode::Alerts | Mode::Findings => Verdict::Drop,
        };
        if !output::looks_like_object(record) {
            self.counters.unparsable = self.counters.unparsable.wrapping_add(1);
            return pass;
        }
        let enrich = mode == Mode::Annotate && self.evaluator.config().enrich_all;
        if !enrich && !self.evaluator.prefilter(record) {
            return pass;
        }
        self.counters.parsed = self.counters.parsed.wrapping_add(1);
        self.evaluator.recycle(&mut self.detections);
        let mut enrichment = None;
        let evaluator = &mut self.evaluator;
        let detections = &mut self.detections;
        let counters = &mut self.counters;
        let read = record::read_events_with(record, Some(&mut self.identities), &mut |slot| {
            if enrich && slot.index.is_none() && enrichment.is_none() {
                enrichment = evaluator.enrichment(slot.event);
            }
            if let Some(found) = evaluator.evaluate(slot.index, slot.event, time, counters) {
                detections.push(found);
            }
        });
        let Ok(read) = read else {
            self.counters.unparsable = self.counters.unparsable.wrapping_add(1);
            return pass;
        };
        if self.detections.is_empty() {
            if let Some(source_as) = enrichment {
                self.counters.enriched = self.counters.enriched.wrapping_add(1);
                let rendered = output::render_source_as(
                    source_as.number,
                    source_as.organisation,
                    source_as.category.as_deref(),
                );
                output::splice_at(record, &read.members.source_as, "source_as", &rendered, out);
                return Verdict::Rewritten;
            }
            return pass;
        }
        if mode == Mode::Findings {
            let Some(finding) =
                findings::render(record, &self.detections, self.evaluator.config_error())
            else {
                return pass;
            };
            out.clear();
            out.extend_from_slice(finding.as_bytes());
            return Verdict::Rewritten;
        }
        let (detections, config_error) = (&self.detections, self.evaluator.config_error());
        output::splice_rendered(record, &read.members.detection, "detection", out, |buf| {
            output::render_detections_into(buf, detections, config_error)
        });
        Verdict::Rewritten
    }

    /// The detection state (for [`state::State::snapshot`]).
    pub fn state(&self) -> &state::State {
        self.evaluator.state()
    }

    /// Why each event of `record` does or does not meet the rules' conditions
    /// ([`explain::explain`]); reads no state and counts nothing.
    pub fn explain_json(&self, record: &[u8], time: RecordTime) -> String {
        explain::explain(&self.evaluator, record, time)
    }

    /// The `vpnrecon_info` document.
    pub fn info_json(&self) -> String {
        info::render(&self.evaluator, &self.counters)
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Mode;

    #[test]
    fn modes_read_the_names_they_write() {
        for mode in Mode::ALL {
            assert_eq!(mode.name().parse::<Mode>(), Ok(mode));
            assert_eq!(mode.to_string(), mode.name());
            assert_eq!(mode.entry_point(), format!("vpnrecon_{}", mode.name()));
        }
        let err = "alert".parse::<Mode>().unwrap_err();
        assert_eq!(
            err,
            "unknown mode `alert`: use annotate, alerts or findings"
        );
    }
}
