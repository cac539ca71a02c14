//! The ways the tests run the filter, behind one trait, so every test can run on
//! every host: the native engine here; the wasm hosts in [`crate::wasm`] when built.

use vpnrecon_filter::{config, state, Engine, RecordTime, Verdict};

/// Which entry point: `vpnrecon_annotate`, `vpnrecon_alerts` or `vpnrecon_findings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Annotate,
    Alerts,
    Findings,
}

/// A filter as a host sees it: one record in, the returned bytes out (empty = dropped,
/// as Fluent Bit reads an empty string). `Err` = the record was lost (a trap).
pub trait Filter {
    fn call(&mut self, record: &[u8], mode: Mode) -> Result<Vec<u8>, String>;
}

/// The record time every test passes.
pub fn record_time() -> RecordTime {
    RecordTime {
        sec: crate::RECORD_TIME_SEC,
        nsec: 0,
    }
}

/// `vpnrecon.toml` text as the module would load it: parsed, or the defaults plus
/// the error when it is invalid.
pub fn loaded(config_text: Option<&str>) -> config::Loaded {
    let Some(text) = config_text else {
        return config::Loaded::default();
    };
    let path = "vpnrecon.toml";
    match config::parse(text, path) {
        Ok(config) => config::Loaded {
            config,
            source: config::Source::File(path.to_owned()),
            error: None,
        },
        // As the module's loader does: the defaults, with the error kept.
        Err(error) => config::Loaded {
            config: config::Config::default(),
            source: config::Source::Defaults,
            error: Some(error),
        },
    }
}

/// The filter crate linked natively, with in-memory state.
pub struct Native {
    engine: Engine,
    out: Vec<u8>,
}

impl Native {
    pub fn new(config_text: Option<&str>) -> Native {
        let loaded = loaded(config_text);
        let state = state::State::in_memory(state::StateConfig::from(&loaded.config));
        Native {
            engine: Engine::from_parts(loaded, state),
            out: Vec::new(),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Filter for Native {
    fn call(&mut self, record: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
        let mode = match mode {
            Mode::Annotate => vpnrecon_filter::Mode::Annotate,
            Mode::Alerts => vpnrecon_filter::Mode::Alerts,
            Mode::Findings => vpnrecon_filter::Mode::Findings,
        };
        Ok(
            match self
                .engine
                .process(record, record_time(), mode, &mut self.out)
            {
                Verdict::Unchanged => record.to_vec(),
                Verdict::Rewritten => self.out.clone(),
                Verdict::Drop => Vec::new(),
            },
        )
    }
}

/// One detected event: the record's position in the stream, its index in `Records`
/// (batches) and the event's detection object.
#[derive(Clone, Debug)]
pub struct Found {
    pub record: usize,
    pub index: Option<u64>,
    pub detection: serde_json::Value,
}

/// Runs `records` through `filter` in annotate mode, checking for each that the
/// output is the input byte for byte or with `detection` spliced in; returns every
/// detected event in order.
pub fn annotate_all(filter: &mut dyn Filter, records: &[String]) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    for (n, record) in records.iter().enumerate() {
        let output = filter
            .call(record.as_bytes(), Mode::Annotate)
            .map_err(|e| format!("record {n} lost: {e}"))?;
        let detection = crate::splice::detection_of(record.as_bytes(), &output)
            .map_err(|e| format!("record {n}: {e}"))?;
        if let Some(detection) = detection {
            for (index, event) in crate::splice::events_of(&detection)? {
                found.push(Found {
                    record: n,
                    index,
                    detection: event,
                });
            }
        }
    }
    Ok(found)
}
