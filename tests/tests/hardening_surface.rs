//! The module's sandbox surface: exactly these imports and exports, and a size
//! limit. A new import is a new capability the module asks its host for; a new
//! export is a new way in. Either must be a decision, so this test fails on any.

use std::collections::BTreeSet;

use wasmtime::{Engine, ExternType, Module};

/// WASI preview 1 functions the module imports, and why.
const IMPORTS: [(&str, &str); 16] = [
    (
        "fd_prestat_get",
        "list the pre-opened directories (config and state)",
    ),
    ("fd_prestat_dir_name", "their names"),
    ("path_open", "open vpnrecon.toml and the journal"),
    ("fd_read", "read them"),
    (
        "fd_write",
        "append to the journal; one-line warnings on stderr",
    ),
    ("fd_close", "close files"),
    ("fd_fdstat_get", "std's file handling (file type checks)"),
    (
        "fd_filestat_get",
        "std's fs::read sizes the buffer from the file length",
    ),
    (
        "path_rename",
        "replace the journal atomically when compacting",
    ),
    (
        "fd_seek",
        "read what other instances appended to a shared journal",
    ),
    (
        "path_link",
        "put a new journal in place without replacing one another instance just made",
    ),
    (
        "path_unlink_file",
        "remove the compaction lock and temporary files",
    ),
    ("random_get", "the per-journal SipHash secret"),
    (
        "environ_get",
        "std's runtime start-up (the module reads no variable)",
    ),
    ("environ_sizes_get", "same"),
    (
        "proc_exit",
        "std's abort path (panic = abort; never reached by design)",
    ),
];

/// Exports: the three Fluent Bit entry points (annotate, alerts, findings), the info document, the allocator
/// Fluent Bit's WAMR integration uses to hand records over, and the memory.
const EXPORTS: [(&str, &str); 7] = [
    ("memory", "memory"),
    ("vpnrecon_annotate", "func"),
    ("vpnrecon_alerts", "func"),
    ("vpnrecon_findings", "func"),
    ("vpnrecon_info", "func"),
    ("malloc", "func"),
    ("free", "func"),
];

/// Routers load the module from disk into every worker; keep it small.
const MAX_MODULE_BYTES: usize = 8 << 20;

fn kind(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "func",
        ExternType::Memory(_) => "memory",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

fn module() -> Module {
    Module::new(&Engine::default(), vpnrecon_host::embedded_module()).expect("the module compiles")
}

#[test]
fn imports_are_exactly_the_wasi_functions_it_needs() {
    let module = module();
    let found: BTreeSet<(String, String)> = module
        .imports()
        .map(|i| {
            assert_eq!(
                kind(&i.ty()),
                "func",
                "import {}.{} is not a function",
                i.module(),
                i.name()
            );
            (i.module().to_owned(), i.name().to_owned())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = IMPORTS
        .iter()
        .map(|(name, _)| ("wasi_snapshot_preview1".to_owned(), (*name).to_owned()))
        .collect();
    let new: Vec<_> = found.difference(&expected).collect();
    let gone: Vec<_> = expected.difference(&found).collect();
    assert!(
        new.is_empty(),
        "new imports (review, then list them here with a reason): {new:?}"
    );
    assert!(
        gone.is_empty(),
        "imports no longer used (remove them from the list): {gone:?}"
    );
}

#[test]
fn exports_are_exactly_the_documented_set() {
    let module = module();
    let found: BTreeSet<(String, &str)> = module
        .exports()
        .map(|e| (e.name().to_owned(), kind(&e.ty())))
        .collect();
    let expected: BTreeSet<(String, &str)> =
        EXPORTS.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect();
    assert_eq!(
        found, expected,
        "the export set changed: update filter/README.md and this list"
    );
}

#[test]
fn the_memory_is_one_non_shared_32_bit_memory() {
    let module = module();
    let memories: Vec<_> = module
        .exports()
        .filter_map(|e| match e.ty() {
            ExternType::Memory(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(memories.len(), 1);
    assert!(!memories[0].is_64() && !memories[0].is_shared());
    assert!(
        !module
            .imports()
            .any(|i| matches!(i.ty(), ExternType::Memory(_))),
        "the module must own its memory, not import the host's"
    );
}

#[test]
fn the_module_is_at_most_8_mb() {
    let size = vpnrecon_host::embedded_module().len();
    assert!(
        size <= MAX_MODULE_BYTES,
        "module is {size} bytes, limit {MAX_MODULE_BYTES}"
    );
}
