//! The real wasm module in the hosts that call it as Fluent Bit does: wasmtime, and
//! WAMR (the interpreter Fluent Bit embeds) at Fluent Bit's default 8 KiB stack and heap.

use crate::hosts::{Filter, Mode};
use vpnrecon_host::{Backend, FilterHost, HostOptions, DEFAULT_TAG};

pub struct Wasm {
    host: Box<dyn FilterHost>,
    mode: Mode,
    out: Vec<u8>,
    /// The pre-opened directory: `vpnrecon.toml` and the state journal. Kept alive
    /// (and removed) with the host.
    _dir: tempfile::TempDir,
}

impl Wasm {
    /// A host for `backend` running `mode`, with `config_text` as `vpnrecon.toml` in
    /// its own fresh pre-opened directory; `reinstantiate_every` emulates older Fluent
    /// Bit releases that made an instance per chunk.
    pub fn new(
        backend: Backend,
        mode: Mode,
        config_text: Option<&str>,
        reinstantiate_every: Option<u64>,
    ) -> Result<Wasm, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        if let Some(text) = config_text {
            std::fs::write(dir.path().join("vpnrecon.toml"), text)
                .map_err(|e| format!("writing vpnrecon.toml: {e}"))?;
        }
        let mut options = HostOptions::new(match mode {
            Mode::Annotate => vpnrecon_host::Mode::Annotate,
            Mode::Alerts => vpnrecon_host::Mode::Alerts,
            Mode::Findings => vpnrecon_host::Mode::Findings,
        });
        options.dir = Some(dir.path().to_owned());
        options.reinstantiate_every = reinstantiate_every;
        options.capture_stderr = true;
        let host = vpnrecon_host::open(backend, &options)
            .map_err(|e| format!("cannot open the {backend} host: {e:#}"))?;
        Ok(Wasm {
            host,
            mode,
            out: Vec::new(),
            _dir: dir,
        })
    }

    pub fn instantiations(&self) -> u64 {
        self.host.instantiations()
    }
}

impl Filter for Wasm {
    fn call(&mut self, record: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
        if mode != self.mode {
            return Err(format!("this host runs {:?}, not {mode:?}", self.mode));
        }
        let time = vpnrecon_host::RecordTime {
            sec: crate::RECORD_TIME_SEC,
            nsec: 0,
        };
        match self.host.call(DEFAULT_TAG, time, record, &mut self.out) {
            Ok(vpnrecon_host::CallOutcome::Kept) => Ok(self.out.clone()),
            Ok(vpnrecon_host::CallOutcome::Dropped) => Ok(Vec::new()),
            Err(e) => Err(format!("{} lost the record: {e}", self.host.backend())),
        }
    }
}
