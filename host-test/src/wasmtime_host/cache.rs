//! The on-disk cache of compiled modules.
//!
//! Cranelift takes 0.4–1.5 s to compile the 7.5 MB filter module, on every start of
//! the CLI. The first start serialises the compiled module (`Module::serialize`) into
//! the cache directory; later starts deserialise it instead of compiling.
//!
//! * Key: the file name holds a hash of the module's bytes and their length, and a
//!   hash of the engine's compilation environment
//!   (`Engine::precompile_compatibility_hash`: wasmtime's version, target, Cranelift
//!   and ISA flags, tunables such as fuel metering, wasm features).
//! * Integrity: the name also holds a hash of the artifact itself, checked on every
//!   load before wasmtime sees the bytes, so a truncated or damaged file is never
//!   run. wasmtime's own header and compatibility checks follow in
//!   `Module::deserialize`.
//! * Writes go to a temporary file in the same directory, renamed into place, so a
//!   reader sees a whole file or none, also with several processes at once.
//! * Any problem (unreadable directory, damaged or stale file, failed write) falls
//!   back to compiling; the run never fails because of the cache.

use super::CompileCache;
use anyhow::{anyhow, bail, Context, Result};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{Engine, Module};

/// The environment variable naming the cache directory (`off` disables the cache).
pub const CACHE_DIR_VAR: &str = "VPNRECON_CACHE_DIR";
/// Modules smaller than this are always compiled: it takes milliseconds.
pub const MIN_CACHED_MODULE_BYTES: usize = 256 * 1024;
/// Cache entries kept per directory (newest first); older ones are removed on write.
const KEPT_ENTRIES: usize = 8;
const PREFIX: &str = "vpnrecon-";
const SUFFIX: &str = ".cwasm";

/// What happened on the cache's side since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules loaded from a cache file instead of compiling.
    pub hits: u64,
    /// Modules compiled because no usable cache file existed (or the cache was off).
    pub compiled: u64,
    /// Cache files found but refused (damaged, or wasmtime refused them).
    pub rejected: u64,
    /// Cache files written.
    pub written: u64,
}

static HITS: AtomicU64 = AtomicU64::new(0);
static COMPILED: AtomicU64 = AtomicU64::new(0);
static REJECTED: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// Counts of cache hits, compilations, refused files and writes in this process.
pub fn stats() -> CacheStats {
    CacheStats {
        hits: HITS.load(Ordering::Relaxed),
        compiled: COMPILED.load(Ordering::Relaxed),
        rejected: REJECTED.load(Ordering::Relaxed),
        written: WRITTEN.load(Ordering::Relaxed),
    }
}

/// The directory a setting resolves to, or `None` when caching is off.
///
/// `Default`: `$VPNRECON_CACHE_DIR` if set (`off` or empty: no cache), else
/// `$XDG_CACHE_HOME/vpnrecon`, else `$HOME/.cache/vpnrecon`, else no cache.
pub fn directory(setting: &CompileCache) -> Option<PathBuf> {
    match setting {
        CompileCache::Off => None,
        CompileCache::Dir(dir) => Some(dir.clone()),
        CompileCache::Default => {
            if let Some(value) = std::env::var_os(CACHE_DIR_VAR) {
                return (!value.is_empty() && value != "off").then(|| PathBuf::from(value));
            }
            let xdg = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                // The XDG spec says to ignore a relative path.
                .filter(|p| p.is_absolute());
            let base = xdg.or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|home| home.join(".cache"))
            })?;
            Some(base.join("vpnrecon"))
        }
    }
}

/// A 64-bit hash of `bytes` (SipHash with fixed keys). Stable within a build of this
/// program, which is all a cache key needs: another build at worst misses.
pub fn content_hash(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn engine_hash(engine: &Engine) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

/// The part of a cache file's name fixed by the module and the engine; the file's
/// own hash follows it.
fn key(engine: &Engine, module_hash: u64, module_len: usize) -> String {
    format!(
        "{PREFIX}{module_hash:016x}-{module_len}-{:016x}-",
        engine_hash(engine)
    )
}

/// Loads the module from the cache in `dir`, or compiles it and writes the cache.
/// `log` receives one line about what the cache did (for `--verbose`).
pub fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    module_hash: u64,
    dir: &Path,
    log: &mut dyn FnMut(String),
) -> Result<Module> {
    let key = key(engine, module_hash, bytes.len());
    match load(engine, dir, &key) {
        Ok(Some((module, path))) => {
            HITS.fetch_add(1, Ordering::Relaxed);
            log(format!("compiled module loaded from {}", path.display()));
            return Ok(module);
        }
        Ok(None) => log(format!(
            "no compiled module in {}: compiling",
            dir.display()
        )),
        Err(e) => {
            REJECTED.fetch_add(1, Ordering::Relaxed);
            log(format!("{e:#}; compiling instead"));
        }
    }
    let module = compile(engine, bytes)?;
    match store(&module, dir, &key) {
        Ok(path) => {
            WRITTEN.fetch_add(1, Ordering::Relaxed);
            log(format!("compiled module cached in {}", path.display()));
        }
        Err(e) => log(format!(
            "could not write the module cache in {}: {e:#}",
            dir.display()
        )),
    }
    Ok(module)
}

/// Compiles with Cranelift (no cache involved).
pub fn compile(engine: &Engine, bytes: &[u8]) -> Result<Module> {
    COMPILED.fetch_add(1, Ordering::Relaxed);
    Module::new(engine, bytes).map_err(|e| anyhow!("the filter module does not compile: {e:#}"))
}

/// The cache file for `key` in `dir`, loaded: `Ok(None)` when there is none.
fn load(engine: &Engine, dir: &Path, key: &str) -> Result<Option<(Module, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let Some((path, expected)) = entries.flatten().find_map(|entry| {
        let name = entry.file_name().into_string().ok()?;
        let digest = name.strip_prefix(key)?.strip_suffix(SUFFIX)?;
        Some((entry.path(), u64::from_str_radix(digest, 16).ok()?))
    }) else {
        return Ok(None);
    };
    let artifact = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    if content_hash(&artifact) != expected {
        let _ = fs::remove_file(&path);
        bail!(
            "cache file {} is damaged (its contents do not match its name)",
            path.display()
        );
    }
    // SAFETY: `Module::deserialize` trusts its input to be an artifact that wasmtime
    // itself produced; arbitrary bytes could make it run arbitrary code. These bytes
    // are: the file is only ever written by `store` below (whole, through a rename),
    // its name binds it to this module's bytes and this engine's compilation
    // environment, and its contents were just checked against the hash in that name,
    // so a damaged or truncated file never gets here. wasmtime then checks the
    // header, its version and the engine compatibility itself. The bytes are copied
    // into wasmtime's own memory, so later changes to the file cannot affect the
    // module (which `Module::deserialize_file`'s mapping of the file would allow).
    match unsafe { Module::deserialize(engine, &artifact) } {
        Ok(module) => Ok(Some((module, path))),
        Err(e) => {
            let _ = fs::remove_file(&path);
            Err(anyhow!(
                "wasmtime refused cache file {}: {e:#}",
                path.display()
            ))
        }
    }
}

/// Writes the compiled `module` of `bytes` into the cache in `dir`.
pub fn store_for(
    engine: &Engine,
    module: &Module,
    bytes: &[u8],
    module_hash: u64,
    dir: &Path,
) -> Result<PathBuf> {
    store(module, dir, &key(engine, module_hash, bytes.len()))
}

/// Writes the compiled module under `key` atomically, then prunes old entries.
fn store(module: &Module, dir: &Path, key: &str) -> Result<PathBuf> {
    let artifact = module
        .serialize()
        .map_err(|e| anyhow!("serialising the compiled module: {e:#}"))?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{key}{:016x}{SUFFIX}", content_hash(&artifact)));
    let mut temp = tempfile::Builder::new()
        .prefix(".vpnrecon-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(&artifact)
        .and_then(|()| temp.as_file().sync_all())
        .context("writing the cache file")?;
    temp.persist(&path)
        .map_err(|e| anyhow!("renaming the cache file into place: {}", e.error))?;
    prune(dir, &path);
    Ok(path)
}

/// Keeps the newest `KEPT_ENTRIES` cache files (by modification time) and `keep`.
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(PREFIX) && name.ends_with(SUFFIX)
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in files.into_iter().skip(KEPT_ENTRIES) {
        if path != keep {
            let _ = fs::remove_file(path);
        }
    }
}
