//! Running the Python checks (`tests/sigma/`, `tests/ocsf/`) from Rust tests.
//!
//! They need the pinned packages of `tests/python-requirements.txt`, installed by
//! `scripts/test-all.sh` into `target/pyenv`. Without that environment a check says
//! it was skipped and passes, except when `VPNRECON_REQUIRE_PYTHON_CHECKS=1` (CI),
//! where a missing environment is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn required() -> bool {
    std::env::var("VPNRECON_REQUIRE_PYTHON_CHECKS").is_ok_and(|v| v == "1")
}

/// The interpreter of the checks' environment: `$VPNRECON_PYTHON`, else
/// `target/pyenv/bin/python`. `None` (after saying why) when there is none and the
/// checks are not required.
pub fn interpreter(check: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("VPNRECON_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/pyenv/bin/python"));
    if candidate.exists() {
        return Some(candidate);
    }
    let why = format!(
        "{check}: no Python environment at {} (create it with `python3 -m venv target/pyenv && target/pyenv/bin/pip install -r tests/python-requirements.txt`, or set VPNRECON_PYTHON)",
        candidate.display()
    );
    assert!(
        !required(),
        "{why}; VPNRECON_REQUIRE_PYTHON_CHECKS=1 makes this a failure"
    );
    eprintln!("SKIPPED {why}");
    None
}

/// Runs `script` (relative to the workspace) with `args`; panics with its output
/// when it fails, prints its output otherwise.
pub fn run(python: &Path, script: &str, args: &[&Path]) {
    let path = workspace().join(script);
    let output = Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    eprintln!("{stdout}{stderr}");
}
