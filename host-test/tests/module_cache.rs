//! The compiled-module cache of the wasmtime host, through the `vpnrecon` CLI as a
//! user runs it: the first run compiles and writes the cache, the next one loads it,
//! a damaged cache file is noticed and replaced, and the output never depends on
//! which of these happened (it equals a run that compiles without any cache).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/cloudtrail")
}

/// `vpnrecon replay --mode annotate samples/cloudtrail/` with `args` and `envs`;
/// returns (stdout, stderr). The cache variables of the caller are removed so only
/// what the test sets applies.
fn replay(args: &[&str], envs: &[(&str, &Path)]) -> (Vec<u8>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpnrecon"));
    cmd.args(["replay", "--mode", "annotate", "--verbose"])
        .args(args)
        .arg(samples())
        .env_remove("VPNRECON_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME");
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run vpnrecon");
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    assert!(status.success(), "vpnrecon failed: {stderr}");
    (stdout, stderr)
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn cache_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("vpnrecon: module cache:"))
        .collect()
}

#[test]
fn second_run_loads_the_cache_and_damage_falls_back_to_compiling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let cache_arg = cache.to_str().expect("UTF-8 path");

    let (reference, stderr) = replay(&["--no-cache"], &[]);
    assert!(cache_lines(&stderr).is_empty(), "{stderr}");
    assert!(
        reference.iter().filter(|&&b| b == b'\n').count() > 10,
        "the samples should give many records"
    );

    // First run: nothing cached yet, so it compiles and writes one file.
    let (out, stderr) = replay(&["--cache-dir", cache_arg], &[]);
    assert_eq!(out, reference, "first run");
    let lines = cache_lines(&stderr);
    assert!(lines.iter().any(|l| l.contains("compiling")), "{stderr}");
    assert!(lines.iter().any(|l| l.contains("cached in")), "{stderr}");
    let files = cache_files(&cache);
    assert_eq!(files.len(), 1, "{files:?}");
    let written = fs::read(&files[0]).expect("cache file");

    // Second run: loaded, not compiled, not rewritten.
    let (out, stderr) = replay(&["--cache-dir", cache_arg], &[]);
    assert_eq!(out, reference, "second run");
    let lines = cache_lines(&stderr);
    assert!(lines.iter().any(|l| l.contains("loaded from")), "{stderr}");
    assert!(!lines.iter().any(|l| l.contains("compiling")), "{stderr}");
    assert_eq!(cache_files(&cache), files);

    // Damage in the middle of the file (where wasmtime's own header checks would
    // not look): noticed, compiled again, the file replaced by a good one.
    let mut damaged = written.clone();
    let middle = damaged.len() / 2;
    for byte in &mut damaged[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    fs::write(&files[0], &damaged).expect("damage the cache file");
    let (out, stderr) = replay(&["--cache-dir", cache_arg], &[]);
    assert_eq!(out, reference, "run after damage");
    let lines = cache_lines(&stderr);
    assert!(lines.iter().any(|l| l.contains("damaged")), "{stderr}");
    assert!(lines.iter().any(|l| l.contains("cached in")), "{stderr}");
    let files = cache_files(&cache);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(fs::read(&files[0]).expect("cache file"), written);

    // A truncated file is refused the same way.
    fs::write(&files[0], &written[..written.len() / 3]).expect("truncate");
    let (out, stderr) = replay(&["--cache-dir", cache_arg], &[]);
    assert_eq!(out, reference, "run after truncation");
    assert!(
        cache_lines(&stderr).iter().any(|l| l.contains("damaged")),
        "{stderr}"
    );

    // A file whose name matches its contents but which is not wasmtime's artifact
    // reaches wasmtime's own check, which refuses it.
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    let garbage = b"not a compiled module at all".to_vec();
    let key = &name[..name.len() - "0123456789abcdef.cwasm".len()];
    let forged = cache.join(format!(
        "{key}{:016x}.cwasm",
        vpnrecon_host::wasmtime_host::content_hash(&garbage)
    ));
    fs::remove_file(&files[0]).expect("remove");
    fs::write(&forged, &garbage).expect("forge");
    let (out, stderr) = replay(&["--cache-dir", cache_arg], &[]);
    assert_eq!(out, reference, "run after a forged file");
    let lines = cache_lines(&stderr);
    assert!(
        lines.iter().any(|l| l.contains("wasmtime refused")),
        "{stderr}"
    );
    assert!(lines.iter().any(|l| l.contains("cached in")), "{stderr}");
    assert_eq!(cache_files(&cache).len(), 1);
}

#[test]
fn cache_location_follows_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");

    // $VPNRECON_CACHE_DIR first.
    let named = dir.path().join("named");
    let (_, stderr) = replay(&[], &[("VPNRECON_CACHE_DIR", &named)]);
    assert_eq!(cache_files(&named).len(), 1, "{stderr}");

    // Then $XDG_CACHE_HOME/vpnrecon.
    let xdg = dir.path().join("xdg");
    let (_, stderr) = replay(&[], &[("XDG_CACHE_HOME", &xdg)]);
    assert_eq!(cache_files(&xdg.join("vpnrecon")).len(), 1, "{stderr}");

    // `off` disables it: nothing is said about a cache, nothing written.
    let home = dir.path().join("home");
    let (_, stderr) = replay(
        &[],
        &[("VPNRECON_CACHE_DIR", Path::new("off")), ("HOME", &home)],
    );
    assert!(cache_lines(&stderr).is_empty(), "{stderr}");
    assert!(!home.exists());

    // --no-cache wins over the environment.
    let ignored = dir.path().join("ignored");
    let (_, stderr) = replay(&["--no-cache"], &[("VPNRECON_CACHE_DIR", &ignored)]);
    assert!(cache_lines(&stderr).is_empty(), "{stderr}");
    assert!(!ignored.exists());
}
