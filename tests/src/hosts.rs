//! The filter as the tests run it: opened with the host crate's own
//! [`vpnrecon_host::open`] on any backend (the filter crate linked natively, the
//! module in wasmtime, or in WAMR at Fluent Bit's default 8 KiB stack and heap), with
//! a configuration text written where the module reads it, and what it returns read
//! as the tests compare it.

use std::path::Path;
pub use vpnrecon_host::{Backend, FilterHost, HostOptions, Mode};
use vpnrecon_host::{CallOutcome, RecordTime, DEFAULT_TAG};

/// The record time every test passes.
pub fn record_time() -> RecordTime {
    RecordTime {
        sec: crate::RECORD_TIME_SEC,
        nsec: 0,
    }
}

/// A host from [`vpnrecon_host::open`] and its own pre-opened directory.
pub struct Host {
    host: Box<dyn FilterHost>,
    out: Vec<u8>,
    /// `vpnrecon.toml` and the state journal; removed with the host.
    dir: tempfile::TempDir,
}

impl Host {
    /// `backend` running `mode`, with `config_text` (if any) as `vpnrecon.toml` in a
    /// fresh pre-opened directory, where the state journal is kept too.
    pub fn open(backend: Backend, mode: Mode, config_text: Option<&str>) -> Host {
        Host::open_with(backend, mode, config_text, |_| {})
    }

    /// As [`Host::open`], with `adjust` applied to the options first
    /// (`reinstantiate_every`, ...).
    pub fn open_with(
        backend: Backend,
        mode: Mode,
        config_text: Option<&str>,
        adjust: impl FnOnce(&mut HostOptions),
    ) -> Host {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        if let Some(text) = config_text {
            std::fs::write(dir.path().join("vpnrecon.toml"), text)
                .unwrap_or_else(|e| panic!("writing vpnrecon.toml: {e}"));
        }
        let mut options = HostOptions::new(mode);
        options.dir = Some(dir.path().to_owned());
        options.capture_stderr = true;
        adjust(&mut options);
        let host = vpnrecon_host::open(backend, &options)
            .unwrap_or_else(|e| panic!("cannot open the {backend} host: {e:#}"));
        Host {
            host,
            out: Vec::new(),
            dir,
        }
    }

    /// The native backend (the filter crate linked in) running `mode`.
    pub fn native(mode: Mode, config_text: Option<&str>) -> Host {
        Host::open(Backend::Native, mode, config_text)
    }

    /// One record, at [`record_time`]: the returned bytes (empty = dropped, as
    /// Fluent Bit reads an empty string). `Err` = the record was lost (a trap).
    pub fn call(&mut self, record: &[u8]) -> Result<Vec<u8>, String> {
        match self
            .host
            .call(DEFAULT_TAG, record_time(), record, &mut self.out)
        {
            Ok(CallOutcome::Kept) => Ok(self.out.clone()),
            Ok(CallOutcome::Dropped) => Ok(Vec::new()),
            Err(e) => Err(format!("{} lost the record: {e}", self.host.backend())),
        }
    }

    /// The host itself, for what [`Host::call`] does not cover.
    pub fn host(&mut self) -> &mut dyn FilterHost {
        self.host.as_mut()
    }

    /// The pre-opened directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
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

/// Runs `records` through `host` (annotate mode), checking for each that the output
/// is the input byte for byte or with `detection` spliced in; returns every detected
/// event in order.
pub fn annotate_all(host: &mut Host, records: &[String]) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    for (n, record) in records.iter().enumerate() {
        let output = host
            .call(record.as_bytes())
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
