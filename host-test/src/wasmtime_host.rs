//! wasmtime backend: WASI preview 1, the module's own `malloc`/`free`, Fluent Bit's
//! calling convention, optional fuel metering, and compiled modules cached on disk
//! ([`CompileCache`]).

mod cache;
pub use cache::{
    content_hash, directory as cache_directory, stats as cache_stats, CacheStats, CACHE_DIR_VAR,
};

use crate::host::{Backend, CallError, CallOutcome, FilterHost, HostOptions, RecordTime};
use anyhow::{anyhow, Result};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, Instance, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Fuel given before each call; far more than any record may use.
const FUEL_PER_CALL: u64 = u64::MAX / 4;
/// Upper bound of captured stderr, so a chatty module cannot exhaust host memory.
const STDERR_CAPTURE_BYTES: usize = 16 * 1024 * 1024;

type EntryFn = TypedFunc<(i32, i32, i32, i32, i32, i32), i32>;

/// Where compiled modules are kept between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CompileCache {
    /// `$VPNRECON_CACHE_DIR` if set (`off` or empty: no cache), else
    /// `$XDG_CACHE_HOME/vpnrecon`, else `~/.cache/vpnrecon`.
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// Always compile; read and write nothing.
    Off,
}

/// The exports one instance offers.
struct Live {
    store: Store<WasiP1Ctx>,
    memory: Memory,
    malloc: TypedFunc<i32, i32>,
    free: TypedFunc<i32, ()>,
    entry: EntryFn,
    info: Option<TypedFunc<(), i32>>,
}

pub struct WasmtimeHost {
    engine: Engine,
    module: Module,
    linker: Linker<WasiP1Ctx>,
    opts: HostOptions,
    live: Live,
    stderr: Option<MemoryOutputPipe>,
    stderr_taken: usize,
    last_fuel: Option<u64>,
    instantiations: u64,
}

impl WasmtimeHost {
    pub fn new(opts: &HostOptions) -> Result<WasmtimeHost> {
        let (engine, module) = compiled(opts.module_bytes()?, opts)?;
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx)
            .map_err(|e| anyhow!("linking WASI preview 1: {e:#}"))?;
        let stderr = opts
            .capture_stderr
            .then(|| MemoryOutputPipe::new(STDERR_CAPTURE_BYTES));
        let live = instantiate(&engine, &module, &linker, opts, stderr.as_ref())?;
        Ok(WasmtimeHost {
            engine,
            module,
            linker,
            opts: opts.clone(),
            live,
            stderr,
            stderr_taken: 0,
            last_fuel: None,
            instantiations: 1,
        })
    }

    fn call_inner(
        &mut self,
        tag: &[u8],
        time: RecordTime,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<CallOutcome, CallError> {
        let live = &mut self.live;
        let tag_ptr = copy_in(live, tag)?;
        let record_ptr = match copy_in(live, record) {
            Ok(ptr) => ptr,
            Err(e) => {
                let _ = live.free.call(&mut live.store, tag_ptr);
                return Err(e);
            }
        };
        if self.opts.fuel {
            live.store
                .set_fuel(FUEL_PER_CALL)
                .map_err(|e| CallError::Host(format!("set_fuel: {e:#}")))?;
        }
        // Fluent Bit passes lengths without the NUL and the time as two u32.
        let args = (
            tag_ptr,
            tag.len() as i32,
            time.sec as i32,
            time.nsec as i32,
            record_ptr,
            record.len() as i32,
        );
        let result = live.entry.call(&mut live.store, args);
        if self.opts.fuel {
            self.last_fuel = live.store.get_fuel().ok().map(|left| FUEL_PER_CALL - left);
        }
        let ptr = result.map_err(|e| CallError::Trap(format!("{e:#}")))?;
        let outcome = copy_out(live, ptr, out)?;
        for ptr in [tag_ptr, record_ptr] {
            live.free
                .call(&mut live.store, ptr)
                .map_err(|e| CallError::Trap(format!("in free: {e:#}")))?;
        }
        Ok(outcome)
    }
}

/// Compiling a multi-megabyte module takes long (much longer in a debug build), so
/// each distinct module is compiled once per process and shared by every host, and
/// kept on disk between processes (see [`CompileCache`]).
fn compiled(bytes: &[u8], opts: &HostOptions) -> Result<(Engine, Module)> {
    type Compiled = (u64, usize, bool, Engine, Module);
    static CACHE: OnceLock<Mutex<Vec<Compiled>>> = OnceLock::new();
    let hash = content_hash(bytes);
    let key = (hash, bytes.len(), opts.fuel);
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((.., engine, module)) = cache.iter().find(|(h, len, f, ..)| (*h, *len, *f) == key) {
        return Ok((engine.clone(), module.clone()));
    }
    let mut config = Config::new();
    config.consume_fuel(opts.fuel);
    let engine = Engine::new(&config).map_err(|e| anyhow!("wasmtime engine: {e:#}"))?;
    // Small modules (test stand-ins, the passthrough) compile in milliseconds: caching
    // them would only crowd the directory.
    let directory = if bytes.len() >= cache::MIN_CACHED_MODULE_BYTES {
        cache::directory(&opts.compile_cache)
    } else {
        None
    };
    let module = match directory {
        Some(dir) => {
            let verbose = opts.verbose;
            let mut log = |line: String| {
                if verbose {
                    eprintln!("vpnrecon: module cache: {line}");
                }
            };
            cache::load_or_compile(&engine, bytes, hash, &dir, &mut log)?
        }
        None => cache::compile(&engine, bytes)?,
    };
    cache.push((key.0, key.1, key.2, engine.clone(), module.clone()));
    Ok((engine, module))
}

/// How long the parts of a cold start take (for `vpnrecon bench`).
#[derive(Clone, Copy, Debug)]
pub struct ColdStart {
    /// Compiling the module with Cranelift.
    pub compile: Duration,
    /// Loading the compiled module from a cache file instead.
    pub load_cached: Duration,
    /// Making the instance and calling the entry point on `first_record`.
    pub instantiate_and_first: Duration,
}

/// Times compiling `bytes` against loading them from a fresh cache directory, then
/// opening a host and handing it `first_record`.
pub fn cold_start(bytes: &[u8], first_record: &[u8]) -> Result<ColdStart> {
    let engine = Engine::new(&Config::new()).map_err(|e| anyhow!("wasmtime engine: {e:#}"))?;
    let dir = tempfile::tempdir()?;
    let hash = content_hash(bytes);
    let started = Instant::now();
    let module = cache::compile(&engine, bytes)?;
    let compile = started.elapsed();
    cache::store_for(&engine, &module, bytes, hash, dir.path())?;
    let started = Instant::now();
    cache::load_or_compile(&engine, bytes, hash, dir.path(), &mut |_| {})?;
    let load_cached = started.elapsed();

    let state = tempfile::tempdir()?;
    let mut opts = HostOptions::new(crate::Mode::Annotate);
    opts.module = Some(bytes.to_vec());
    opts.dir = Some(state.path().to_path_buf());
    opts.compile_cache = CompileCache::Off;
    // Compiled (or found) once untimed, so only instantiation and the call are timed.
    compiled(bytes, &opts)?;
    let started = Instant::now();
    let mut host = WasmtimeHost::new(&opts)?;
    let mut out = Vec::new();
    host.call(
        crate::DEFAULT_TAG,
        RecordTime::default(),
        first_record,
        &mut out,
    )
    .map_err(|e| anyhow!("first record: {e}"))?;
    Ok(ColdStart {
        compile,
        load_cached,
        instantiate_and_first: started.elapsed(),
    })
}

fn instantiate(
    engine: &Engine,
    module: &Module,
    linker: &Linker<WasiP1Ctx>,
    opts: &HostOptions,
    stderr: Option<&MemoryOutputPipe>,
) -> Result<Live> {
    // No arguments, no environment, no network: only the pre-opened directory.
    let mut wasi = WasiCtxBuilder::new();
    match stderr {
        Some(pipe) => {
            wasi.stderr(pipe.clone());
        }
        None => {
            wasi.inherit_stderr();
        }
    }
    wasi.inherit_stdout();
    // The host calls the module synchronously, so the journal's file writes may run
    // on this thread: without this each one is handed to a Tokio worker thread and
    // back (tens of microseconds per write, most of a replay's cost per alert).
    wasi.allow_blocking_current_thread(true);
    if let Some(dir) = &opts.dir {
        wasi.preopened_dir(dir, ".", FsPerms::ReadWrite)
            .map_err(|e| anyhow!("pre-opening {} for the module: {e:#}", dir.display()))?;
    }
    let mut store = Store::new(engine, wasi.build_p1());
    if opts.fuel {
        store.set_fuel(FUEL_PER_CALL)?;
    }
    let instance: Instance = linker
        .instantiate(&mut store, module)
        .map_err(|e| anyhow!("instantiating the filter module: {e:#}"))?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or_else(|| anyhow!("the module exports no `memory`"))?;
    let malloc = instance
        .get_typed_func::<i32, i32>(&mut store, "malloc")
        .map_err(|e| anyhow!("the module must export `malloc(i32) -> i32`: {e:#}"))?;
    let free = instance
        .get_typed_func::<i32, ()>(&mut store, "free")
        .map_err(|e| anyhow!("the module must export `free(i32)`: {e:#}"))?;
    let entry_name = opts.entry_point();
    let entry = instance
        .get_typed_func::<(i32, i32, i32, i32, i32, i32), i32>(&mut store, entry_name)
        .map_err(|e| anyhow!("the module has no entry point `{entry_name}` with Fluent Bit's JSON signature: {e:#}"))?;
    let info = instance
        .get_typed_func::<(), i32>(&mut store, "vpnrecon_info")
        .ok();
    Ok(Live {
        store,
        memory,
        malloc,
        free,
        entry,
        info,
    })
}

/// `malloc(len + 1)` in the module, then the bytes and a NUL, as WAMR's
/// `wasm_runtime_module_dup_data` does.
fn copy_in(live: &mut Live, bytes: &[u8]) -> Result<i32, CallError> {
    let size = i32::try_from(bytes.len() + 1).map_err(|_| {
        CallError::Host(format!("a {} byte record does not fit wasm32", bytes.len()))
    })?;
    let ptr = live
        .malloc
        .call(&mut live.store, size)
        .map_err(|e| CallError::Trap(format!("in malloc: {e:#}")))?;
    if ptr == 0 {
        return Err(CallError::Host(format!(
            "the module's malloc({size}) returned NULL"
        )));
    }
    let start = ptr as u32 as usize;
    let data = live.memory.data_mut(&mut live.store);
    let dest = data
        .get_mut(start..start + bytes.len() + 1)
        .ok_or_else(|| {
            CallError::Host(format!("malloc returned {start:#x}, outside linear memory"))
        })?;
    let (body, nul) = dest.split_at_mut(bytes.len());
    body.copy_from_slice(bytes);
    nul.fill(0);
    Ok(ptr)
}

/// Copies the NUL-terminated result out of linear memory.
fn copy_out(live: &mut Live, ptr: i32, out: &mut Vec<u8>) -> Result<CallOutcome, CallError> {
    out.clear();
    if ptr == 0 {
        return Err(CallError::InvalidResult(
            "the entry point returned NULL".into(),
        ));
    }
    let data = live.memory.data(&live.store);
    let start = ptr as u32 as usize;
    let tail = data.get(start..).ok_or_else(|| {
        CallError::InvalidResult(format!(
            "returned pointer {start:#x} is outside linear memory ({} bytes)",
            data.len()
        ))
    })?;
    let len = memchr::memchr(0, tail).ok_or_else(|| {
        CallError::InvalidResult(format!(
            "the string at {start:#x} has no NUL before the end of linear memory"
        ))
    })?;
    out.extend_from_slice(&tail[..len]);
    Ok(if len == 0 {
        CallOutcome::Dropped
    } else {
        CallOutcome::Kept
    })
}

impl FilterHost for WasmtimeHost {
    fn backend(&self) -> Backend {
        Backend::Wasmtime
    }

    fn call(
        &mut self,
        tag: &[u8],
        time: RecordTime,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<CallOutcome, CallError> {
        self.last_fuel = None;
        let result = self.call_inner(tag, time, record, out);
        if matches!(result, Err(CallError::Trap(_))) {
            // The trapped instance may hold half-updated state; start a clean one
            // so the rest of the run is not poisoned by this record.
            if let Err(e) = self.reinstantiate() {
                return Err(CallError::Host(format!(
                    "{}; then reinstantiation failed: {e:#}",
                    result.err().map(|t| t.to_string()).unwrap_or_default()
                )));
            }
        }
        result
    }

    fn info(&mut self) -> Result<String> {
        let live = &mut self.live;
        let info = live
            .info
            .clone()
            .ok_or_else(|| anyhow!("the module exports no `vpnrecon_info`"))?;
        let ptr = info
            .call(&mut live.store, ())
            .map_err(|e| anyhow!("vpnrecon_info trapped: {e:#}"))?;
        let mut out = Vec::new();
        copy_out(live, ptr, &mut out).map_err(|e| anyhow!("vpnrecon_info: {e}"))?;
        String::from_utf8(out).map_err(|_| anyhow!("vpnrecon_info returned text that is not UTF-8"))
    }

    fn reinstantiate(&mut self) -> Result<()> {
        self.live = instantiate(
            &self.engine,
            &self.module,
            &self.linker,
            &self.opts,
            self.stderr.as_ref(),
        )?;
        self.instantiations += 1;
        Ok(())
    }

    fn last_fuel(&self) -> Option<u64> {
        self.last_fuel
    }

    fn take_stderr(&mut self) -> Vec<u8> {
        let Some(pipe) = &self.stderr else {
            return Vec::new();
        };
        let all = pipe.contents();
        let fresh = all.get(self.stderr_taken..).unwrap_or_default().to_vec();
        self.stderr_taken = all.len();
        fresh
    }

    fn instantiations(&self) -> u64 {
        self.instantiations
    }

    fn memory_pages(&self) -> Option<u64> {
        Some(self.live.memory.size(&self.live.store))
    }
}
