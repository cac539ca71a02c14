//! Native backend: the filter crate linked into this process. Same engine, no wasm:
//! the reference for differential tests and the ceiling for speed.

use crate::host::{Backend, CallError, CallOutcome, FilterHost, HostOptions, RecordTime};
use anyhow::Result;
use std::path::{Path, PathBuf};
use vpnrecon_filter as filter;

fn engine_for(dir: Option<&Path>) -> filter::Engine {
    let Some(dir) = dir else {
        let mut loaded = filter::config::load_from(&[], &mut |line| eprintln!("{line}"));
        loaded.config.state_dir = String::new();
        return filter::Engine::with_config(loaded);
    };
    let file = dir
        .join(filter::config::FILE_NAME)
        .to_string_lossy()
        .into_owned();
    let mut loaded = filter::config::load_from(&[file.as_str()], &mut |line| eprintln!("{line}"));
    // The module resolves `state_dir` inside its pre-opened `.`; natively that is `dir`.
    let state_dir = &loaded.config.state_dir;
    if !state_dir.is_empty() && !state_dir.starts_with('/') {
        loaded.config.state_dir = dir.join(state_dir).to_string_lossy().into_owned();
    }
    // The module finds the file in `.` and names it so (in `config_error` and in
    // `vpnrecon_info`): name it the same way, so both backends write the same bytes.
    let in_module = filter::config::in_dir(".", filter::config::FILE_NAME);
    if let filter::config::Source::File(path) = &mut loaded.source {
        if *path == file {
            path.clone_from(&in_module);
        }
    }
    if let Some(error) = &mut loaded.error {
        if error.file == file {
            error.file = in_module;
        }
    }
    filter::Engine::with_config(loaded)
}

pub struct NativeHost {
    engine: filter::Engine,
    dir: Option<PathBuf>,
    mode: filter::Mode,
    instantiations: u64,
}

impl NativeHost {
    /// The engine reads `vpnrecon.toml` and keeps its journal in `opts.dir`, the
    /// directory the wasm hosts pre-open as `.`; without one, defaults and state in
    /// memory (never the process's working directory).
    pub fn new(opts: &HostOptions) -> Result<NativeHost> {
        if opts.entry_override.is_some() {
            anyhow::bail!("the native backend has only the vpnrecon entry points");
        }
        Ok(NativeHost {
            engine: engine_for(opts.dir.as_deref()),
            dir: opts.dir.clone(),
            mode: opts.mode,
            instantiations: 1,
        })
    }
}

impl FilterHost for NativeHost {
    fn backend(&self) -> Backend {
        Backend::Native
    }

    fn call(
        &mut self,
        _tag: &[u8],
        time: RecordTime,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<CallOutcome, CallError> {
        out.clear();
        let mut rewritten = Vec::new();
        let verdict = self.engine.process(record, time, self.mode, &mut rewritten);
        // The module returns a C string: whatever it hands back ends at the first NUL,
        // so emulate that here to compare like with like.
        let returned: &[u8] = match verdict {
            filter::Verdict::Unchanged => record,
            filter::Verdict::Rewritten => &rewritten,
            filter::Verdict::Drop => &[],
        };
        let len = memchr::memchr(0, returned).unwrap_or(returned.len());
        out.extend_from_slice(&returned[..len]);
        Ok(if out.is_empty() {
            CallOutcome::Dropped
        } else {
            CallOutcome::Kept
        })
    }

    fn info(&mut self) -> Result<String> {
        Ok(self.engine.info_json())
    }

    fn reinstantiate(&mut self) -> Result<()> {
        self.engine = engine_for(self.dir.as_deref());
        self.instantiations += 1;
        Ok(())
    }

    fn instantiations(&self) -> u64 {
        self.instantiations
    }
}
