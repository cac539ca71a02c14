//! The interface every backend implements, and the options they share.

use anyhow::Result;
use std::fmt;
use std::path::PathBuf;

/// Fluent Bit's default `wasm_stack_size` (bytes): WAMR's interpreter stack.
pub const FLUENT_BIT_DEFAULT_STACK: u32 = 8192;
/// Fluent Bit's default `wasm_heap_size` (bytes): WAMR's app heap, unused when the
/// module exports `malloc` and `free`.
pub const FLUENT_BIT_DEFAULT_HEAP: u32 = 8192;
/// The tag handed to the module when the caller has none (Fluent Bit always has one).
pub const DEFAULT_TAG: &[u8] = b"cloudtrail";

/// Which runtime runs the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// wasmtime with WASI preview 1 (compiled, optional fuel metering).
    Wasmtime,
    /// WAMR's fast interpreter: the runtime inside Fluent Bit.
    Wamr,
    /// The filter crate linked into this process (no wasm at all).
    Native,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Wasmtime => "wasmtime",
            Backend::Wamr => "wamr",
            Backend::Native => "native",
        }
    }

    /// Whether this build includes the backend (WAMR is behind the `wamr` feature).
    pub fn available(self) -> bool {
        match self {
            Backend::Wamr => cfg!(feature = "wamr"),
            Backend::Native => cfg!(feature = "native"),
            Backend::Wasmtime => true,
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wasmtime" => Ok(Backend::Wasmtime),
            "wamr" => Ok(Backend::Wamr),
            "native" => Ok(Backend::Native),
            other => Err(format!(
                "unknown host `{other}`: use wasmtime, wamr or native"
            )),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which entry point is called (Fluent Bit's `Function_Name`), and the record time
/// handed to it: the filter crate's own types, so that the host, the native backend
/// and the module mean the same by them.
pub use vpnrecon_filter::{Mode, RecordTime};

/// How to load and run the module.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// The module bytes; `None` = the module embedded in this crate.
    pub module: Option<Vec<u8>>,
    pub mode: Mode,
    /// Call this export instead of the mode's entry point (tests with other modules).
    pub entry_override: Option<String>,
    /// Host directory pre-opened for the module as `.`: where it finds
    /// `vpnrecon.toml` and keeps its state. `None` = no directory at all.
    pub dir: Option<PathBuf>,
    /// WAMR: interpreter stack and exec-env stack size (Fluent Bit `wasm_stack_size`).
    pub stack_size: u32,
    /// WAMR: app heap size (Fluent Bit `wasm_heap_size`).
    pub heap_size: u32,
    /// Make a fresh instance after this many records (older Fluent Bit releases made
    /// one per chunk). State that must survive lives in the pre-opened directory.
    pub reinstantiate_every: Option<u64>,
    /// wasmtime: meter fuel and report it per record.
    pub fuel: bool,
    /// Collect the module's stderr instead of passing it through (tests).
    pub capture_stderr: bool,
    /// wasmtime: where the compiled module is cached between runs.
    pub compile_cache: crate::wasmtime_host::CompileCache,
    /// Report on stderr what the host did besides the records (the module cache).
    pub verbose: bool,
}

impl HostOptions {
    pub fn new(mode: Mode) -> HostOptions {
        HostOptions {
            module: None,
            mode,
            entry_override: None,
            dir: None,
            stack_size: FLUENT_BIT_DEFAULT_STACK,
            heap_size: FLUENT_BIT_DEFAULT_HEAP,
            reinstantiate_every: None,
            fuel: false,
            capture_stderr: false,
            compile_cache: crate::wasmtime_host::CompileCache::Default,
            verbose: false,
        }
    }

    pub fn entry_point(&self) -> &str {
        self.entry_override
            .as_deref()
            .unwrap_or_else(|| self.mode.entry_point())
    }

    pub fn module_bytes(&self) -> Result<&[u8]> {
        match &self.module {
            Some(bytes) => Ok(bytes),
            None => crate::try_embedded_module(),
        }
    }
}

/// What the module did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// The module returned a non-empty string; it is in the output buffer.
    Kept,
    /// The module returned the empty string: Fluent Bit drops the record.
    Dropped,
}

/// A record the module failed on. Inside Fluent Bit each of these loses the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The module trapped (panic, out of bounds, stack overflow, unreachable...).
    Trap(String),
    /// The returned pointer is not a NUL-terminated string inside linear memory.
    InvalidResult(String),
    /// The host could not hand over the record (the module's `malloc` failed...).
    Host(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Trap(m) => write!(f, "trap: {m}"),
            CallError::InvalidResult(m) => write!(f, "invalid result: {m}"),
            CallError::Host(m) => write!(f, "host error: {m}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A loaded, instantiated filter module.
pub trait FilterHost {
    fn backend(&self) -> Backend;

    /// Hands one record to the entry point, Fluent Bit's way. On
    /// [`CallOutcome::Kept`] the returned string (without its NUL) is in `out`.
    /// After an error the host is ready for the next record.
    fn call(
        &mut self,
        tag: &[u8],
        time: RecordTime,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<CallOutcome, CallError>;

    /// The module's `vpnrecon_info` JSON.
    fn info(&mut self) -> Result<String>;

    /// Throws the instance away and makes a new one from the same module.
    fn reinstantiate(&mut self) -> Result<()>;

    /// Fuel the entry point burnt on the last record (wasmtime with fuel only).
    fn last_fuel(&self) -> Option<u64> {
        None
    }

    /// The module's stderr collected so far (with `capture_stderr`), then cleared.
    fn take_stderr(&mut self) -> Vec<u8> {
        Vec::new()
    }

    /// How many instances were made so far (first one included).
    fn instantiations(&self) -> u64;

    /// The size of the instance's linear memory in 64 KiB pages (`None` natively):
    /// how the memory tests see whether the module keeps growing.
    fn memory_pages(&self) -> Option<u64> {
        None
    }
}

/// Opens a host for `backend`, applying `reinstantiate_every`.
pub fn open(backend: Backend, opts: &HostOptions) -> Result<Box<dyn FilterHost>> {
    let inner: Box<dyn FilterHost> = match backend {
        Backend::Wasmtime => Box::new(crate::wasmtime_host::WasmtimeHost::new(opts)?),
        #[cfg(feature = "native")]
        Backend::Native => Box::new(crate::native_host::NativeHost::new(opts)?),
        #[cfg(not(feature = "native"))]
        Backend::Native => anyhow::bail!(
            "this build has no native backend: rebuild with the cargo feature `native`"
        ),
        #[cfg(feature = "wamr")]
        Backend::Wamr => Box::new(crate::wamr_host::WamrHost::new(opts)?),
        #[cfg(not(feature = "wamr"))]
        Backend::Wamr => anyhow::bail!(
            "this build has no WAMR backend: rebuild with the cargo feature `wamr` (needs cmake and clang)"
        ),
    };
    Ok(match opts.reinstantiate_every {
        Some(every) if every > 0 => Box::new(Rotating {
            inner,
            every,
            since: 0,
        }),
        _ => inner,
    })
}

/// Makes a fresh instance every `every` records, before the record that would exceed it.
struct Rotating {
    inner: Box<dyn FilterHost>,
    every: u64,
    since: u64,
}

impl FilterHost for Rotating {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    fn call(
        &mut self,
        tag: &[u8],
        time: RecordTime,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<CallOutcome, CallError> {
        if self.since >= self.every {
            self.inner
                .reinstantiate()
                .map_err(|e| CallError::Host(format!("reinstantiation failed: {e:#}")))?;
            self.since = 0;
        }
        self.since += 1;
        self.inner.call(tag, time, record, out)
    }

    fn info(&mut self) -> Result<String> {
        self.inner.info()
    }

    fn reinstantiate(&mut self) -> Result<()> {
        self.since = 0;
        self.inner.reinstantiate()
    }

    fn last_fuel(&self) -> Option<u64> {
        self.inner.last_fuel()
    }

    fn take_stderr(&mut self) -> Vec<u8> {
        self.inner.take_stderr()
    }

    fn instantiations(&self) -> u64 {
        self.inner.instantiations()
    }

    fn memory_pages(&self) -> Option<u64> {
        self.inner.memory_pages()
    }
}
