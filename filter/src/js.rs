//! The detection for JavaScript (feature `js`): the `Detector` class of the
//! `vpnrecon` npm package, built for `wasm32-unknown-unknown` by
//! `scripts/build-js.sh`.
//!
//! The same [`Engine`] as the Fluent Bit module, with two differences that follow
//! from having no WASI: the configuration is given as TOML text instead of being
//! found in a pre-opened directory, and state lives in memory and is carried
//! across runs as bytes ([`Detector::snapshot`], [`Detector::restore`]) instead of
//! in a journal.
//!
//! Every method is plain Rust over strings, numbers and bytes, so the native test
//! suite exercises it too (the crate is built with `--all-features` there); only
//! the error of [`Detector::restore`] and the key secret need JavaScript.

use wasm_bindgen::prelude::*;

use crate::config::{self, Loaded};
use crate::state::{KeyHasher, State, StateConfig};
use crate::{Engine, Mode, RecordTime, Verdict};

/// The name configuration errors are reported under (the file the text stands for).
const CONFIG_NAME: &str = "vpnrecon.toml";

/// One detector: configuration, state and counters, as one Fluent Bit module instance.
#[wasm_bindgen]
pub struct Detector {
    engine: Engine,
    /// Reused output buffer for annotated records.
    out: Vec<u8>,
}

#[wasm_bindgen]
impl Detector {
    /// A detector on the defaults, or on `configToml` (the text of a
    /// `vpnrecon.toml`). An invalid configuration does not throw: as in the module,
    /// the error is reported (`console.error`), the rules run on the defaults and
    /// every detection and `info()` carry the error. State is always in memory
    /// (`state_dir` is ignored).
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(js_name = configToml)] config_toml: Option<String>) -> Detector {
        let loaded = load(config_toml.as_deref());
        let state = State::in_memory_keyed(StateConfig::from(&loaded.config), fresh_key());
        Detector::over(loaded, state)
    }

    /// A detector whose state is `snapshot` (from [`Detector::snapshot`]), with
    /// `configToml` as in the constructor. Throws if the bytes are not a snapshot.
    pub fn restore(
        snapshot: &[u8],
        #[wasm_bindgen(js_name = configToml)] config_toml: Option<String>,
    ) -> Result<Detector, JsError> {
        Detector::restore_from(snapshot, config_toml.as_deref()).map_err(|e| JsError::new(&e))
    }

    /// The record (JSON text) with `detection` spliced in when an event fires,
    /// else the same text. `timeSec` (seconds since the epoch, a plain number) is
    /// the record time used when an event has no readable `eventTime`. Never throws:
    /// a record that is not JSON, or of no known shape, comes back unchanged.
    pub fn annotate(
        &mut self,
        #[wasm_bindgen(js_name = recordJson)] record_json: &str,
        #[wasm_bindgen(js_name = timeSec)] time_sec: f64,
    ) -> String {
        match self.run(record_json, time_sec, Mode::Annotate) {
            Some(rewritten) => rewritten,
            None => record_json.to_owned(),
        }
    }

    /// As [`Detector::annotate`] for a record that fires; `null` for all others
    /// (which the Fluent Bit module drops in its alerts mode).
    #[wasm_bindgen(unchecked_return_type = "string | null")]
    pub fn alerts(
        &mut self,
        #[wasm_bindgen(js_name = recordJson)] record_json: &str,
        #[wasm_bindgen(js_name = timeSec)] time_sec: f64,
    ) -> JsValue {
        match self.alerts_text(record_json, time_sec) {
            Some(text) => JsValue::from(text),
            None => JsValue::NULL,
        }
    }

    /// JSON text: version, rules, ASN data provenance, configuration (and its
    /// error), counters and state, as the module's `vpnrecon_info`.
    pub fn info(&self) -> String {
        self.engine.info_json()
    }

    /// The whole detection state as bytes, for [`Detector::restore`]. Counters
    /// are not part of it.
    pub fn snapshot(&self) -> Vec<u8> {
        self.engine.state().snapshot()
    }

    /// JSON text: for each event of the record, its fields, ASN, and why it does
    /// or does not meet the rules' conditions. Reads no state and changes none.
    pub fn explain(
        &self,
        #[wasm_bindgen(js_name = recordJson)] record_json: &str,
        #[wasm_bindgen(js_name = timeSec)] time_sec: f64,
    ) -> String {
        self.engine
            .explain_json(record_json.as_bytes(), record_time(time_sec))
    }
}

impl Detector {
    fn over(loaded: Loaded, state: State) -> Detector {
        Detector {
            engine: Engine::from_parts(loaded, state),
            out: Vec::new(),
        }
    }

    /// [`Detector::alerts`] as Rust sees it: `None` is JavaScript's `null`.
    pub fn alerts_text(&mut self, record_json: &str, time_sec: f64) -> Option<String> {
        self.run(record_json, time_sec, Mode::Alerts)
    }

    /// [`Detector::restore`] with the error as text.
    pub fn restore_from(snapshot: &[u8], config_toml: Option<&str>) -> Result<Detector, String> {
        let loaded = load(config_toml);
        let state =
            State::from_snapshot(StateConfig::from(&loaded.config), snapshot).ok_or_else(|| {
                format!(
                    "vpnrecon: the {} bytes given to Detector.restore are not a snapshot \
                     (take one with detector.snapshot())",
                    snapshot.len()
                )
            })?;
        Ok(Detector::over(loaded, state))
    }

    /// `Some(text)` to hand back, `None` for "the record as it was" in annotate
    /// mode and "dropped" in alerts mode.
    fn run(&mut self, record_json: &str, time_sec: f64, mode: Mode) -> Option<String> {
        self.out.clear();
        let verdict = self.engine.process(
            record_json.as_bytes(),
            record_time(time_sec),
            mode,
            &mut self.out,
        );
        match verdict {
            Verdict::Rewritten => {
                let text = String::from_utf8_lossy(&self.out).into_owned();
                if self.out.capacity() > RETAINED_OUTPUT_BYTES {
                    self.out = Vec::new();
                }
                Some(text)
            }
            Verdict::Unchanged => match mode {
                Mode::Annotate => None,
                Mode::Alerts => Some(record_json.to_owned()),
                // The findings entry point never passes a record through unchanged.
                Mode::Findings => None,
            },
            Verdict::Drop => None,
        }
    }
}

/// Output buffers above this size are released after use, so one huge record does
/// not pin its size for the life of the detector.
const RETAINED_OUTPUT_BYTES: usize = 256 * 1024;

/// The record time of the Fluent Bit ABI (`u32` seconds and nanoseconds) from a
/// JavaScript number. Out-of-range values (negative, NaN, past 2106) clamp to the
/// nearest representable time rather than failing: the time is only a fallback.
pub fn record_time(time_sec: f64) -> RecordTime {
    if !time_sec.is_finite() || time_sec <= 0.0 {
        return RecordTime::default();
    }
    if time_sec >= f64::from(u32::MAX) {
        return RecordTime {
            sec: u32::MAX,
            nsec: 0,
        };
    }
    let whole = time_sec.trunc();
    // In range by the checks above; `as` saturates in any case.
    let nsec = ((time_sec - whole) * 1e9) as u32;
    RecordTime {
        sec: whole as u32,
        nsec: nsec.min(999_999_999),
    }
}

fn load(config_toml: Option<&str>) -> Loaded {
    match config_toml {
        None => Loaded::default(),
        Some(text) => config::load_text(text, CONFIG_NAME, &mut report),
    }
}

/// Where the module writes to standard error, the package writes to the console.
fn report(line: &str) {
    #[cfg(target_arch = "wasm32")]
    console_error(line);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
}

/// A random key secret for a new state. std has no random source on
/// `wasm32-unknown-unknown`, so it comes from Web Crypto (browsers and Node ≥ 19).
fn fresh_key() -> KeyHasher {
    #[cfg(target_arch = "wasm32")]
    {
        let mut secret = [0u8; 16];
        if get_random_values(&mut secret).is_ok() && secret != [0u8; 16] {
            return KeyHasher::from_secret(secret);
        }
    }
    KeyHasher::random()
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(line: &str);

    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<(), JsValue>;
}

#[cfg(test)]
mod tests;
