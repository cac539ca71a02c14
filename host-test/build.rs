//! Builds the vpnrecon filter module for `wasm32-wasip1` (profile `wasm-release`) so that the
//! `vpnrecon` binary embeds it and works alone, and the passthrough module
//! (`host-test/passthrough`, same target, profile and flags, in the same cargo run) that
//! `vpnrecon bench` measures the filter against.
//!
//! The nested cargo runs with its own target directory inside OUT_DIR: the outer
//! build holds the lock on its own target directory, and sharing it would deadlock.
//! Flags meant for the host build (RUSTFLAGS, wrappers such as clippy-driver) are
//! removed so they do not leak into the module.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip1";
/// The workspace profile for the module: fat LTO, one codegen unit, stripped.
const MODULE_PROFILE: &str = "wasm-release";

/// Environment of the outer build that must not reach the nested one.
const SCRUBBED_VARS: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_PRIMARY_PACKAGE",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host-test lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    // What the modules are built from is read from the nested build's dep-info after
    // it ran (below), so that editing docs or tests under filter/ does not rebuild
    // them; these are the inputs dep-info does not list.
    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        "filter/Cargo.toml",
        "filter/build.rs",
        "asn_data/Cargo.toml",
        "asn_data/vpn_asns.toml",
        "host-test/passthrough/Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-changed=build.rs");

    find_web_module(&workspace);

    #[cfg(feature = "wamr")]
    check_cmake();
    if env::var_os("CARGO_FEATURE_EMBEDDED").is_none() {
        return;
    }

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    check_wasm_target(&rustc);

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out_dir.join("filter-target");
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--profile")
        .arg(MODULE_PROFILE)
        .arg("--target")
        .arg(TARGET)
        .arg("-p")
        .arg("vpnrecon-filter")
        .arg("-p")
        .arg("vpnrecon-passthrough")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    for var in SCRUBBED_VARS {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("DEP_")
            // The module is built with the workspace's module profile as written,
            // whatever profile overrides the outer build was given.
            || key.starts_with("CARGO_PROFILE_")
        {
            cmd.env_remove(key);
        }
    }
    // Set after the scrubbing above, which removes the outer CARGO_TARGET_DIR.
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTC", &rustc);
    let status = cmd
        .status()
        .unwrap_or_else(|err| panic!("could not run cargo to build the filter module: {err}"));
    if !status.success() {
        panic!(
            "building the filter and passthrough modules for {TARGET} failed (see the cargo output above); \
             if the target is missing, run `rustup target add {TARGET}`"
        );
    }
    for (file, var) in [
        ("vpnrecon_filter.wasm", "VPNRECON_FILTER_WASM"),
        ("vpnrecon_passthrough.wasm", "VPNRECON_PASSTHROUGH_WASM"),
    ] {
        let wasm = target_dir.join(TARGET).join(MODULE_PROFILE).join(file);
        if !wasm.is_file() {
            panic!(
                "the module build succeeded but {} is missing",
                wasm.display()
            );
        }
        println!("cargo:rustc-env={var}={}", wasm.display());
        watch_dep_info(&wasm.with_extension("d"));
    }
}

/// Prints `rerun-if-changed` for every file a module was built from, as listed in the
/// nested build's dep-info file (`target: dep dep …`, spaces in paths escaped).
fn watch_dep_info(dep_info: &Path) {
    let text = std::fs::read_to_string(dep_info).unwrap_or_else(|err| {
        panic!(
            "cannot read {} ({err}); it lists the files the module was built from",
            dep_info.display()
        )
    });
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut path = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    path.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !path.is_empty() {
                        println!("cargo:rerun-if-changed={path}");
                        path.clear();
                    }
                }
                c => path.push(c),
            }
        }
        if !path.is_empty() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// The triage page's detection module (`scripts/build-js.sh` writes it to
/// `target/js/web`, or `$VPNRECON_JS_OUT/web`): embedded by `vpnrecon page` when
/// present. Without it the binary still builds and `vpnrecon page` says how to get it.
fn find_web_module(workspace: &Path) {
    println!("cargo:rerun-if-env-changed=VPNRECON_JS_OUT");
    let out = env::var_os("VPNRECON_JS_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target").join("js"));
    let web = out.join("web");
    let js = web.join("vpnrecon_filter.js");
    let wasm = web.join("vpnrecon_filter_bg.wasm");
    // Cargo reruns a build script on every build while a path it watches is
    // missing, and this one is missing until `scripts/build-js.sh` has run: each
    // `cargo run` would rebuild the binary. So the directory is made (empty, dated
    // 1970 so that making it now does not count as a change) and watched; the script
    // writes the package into it, which reruns this.
    if !web.exists() && std::fs::create_dir_all(&web).is_ok() {
        let _ = std::fs::File::open(&web)
            .and_then(|dir| dir.set_modified(std::time::SystemTime::UNIX_EPOCH));
    }
    if web.is_dir() {
        println!("cargo:rerun-if-changed={}", web.display());
    } else {
        for file in [&js, &wasm] {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    if js.is_file() && wasm.is_file() {
        println!("cargo:rustc-cfg=vpnrecon_web_pkg");
        println!("cargo:rustc-env=VPNRECON_WEB_PKG_JS={}", js.display());
        println!("cargo:rustc-env=VPNRECON_WEB_PKG_WASM={}", wasm.display());
    }
}

/// Fails early, with the fix, when the standard library for the wasm target is absent.
fn check_wasm_target(rustc: &str) {
    let Ok(output) = Command::new(rustc).arg("--print").arg("sysroot").output() else {
        return; // Let the nested cargo report whatever is wrong with rustc.
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib").join("rustlib").join(TARGET);
    if !sysroot.is_empty() && !lib.is_dir() {
        panic!(
            "the Rust standard library for {TARGET} is not installed (looked in {}).\n\
             run `rustup target add {TARGET}` and build again",
            lib.display()
        );
    }
}

/// The WAMR backend (feature `wamr`, opt-in) compiles WAMR's C sources with CMake.
#[cfg(feature = "wamr")]
fn check_cmake() {
    let cmake = env::var("CMAKE").unwrap_or_else(|_| "cmake".into());
    if Command::new(&cmake).arg("--version").output().is_err() {
        panic!(
            "`{cmake}` was not found. The WAMR backend (cargo feature `wamr`) builds WAMR \
             with CMake, clang and libclang: install them (Debian/Ubuntu: \
             `apt-get install cmake clang libclang-dev`), or build without that feature"
        );
    }
}
