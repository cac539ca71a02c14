//! `vpnrecon export-filter --aot`: the release table, the compiler check, wamrc's
//! arguments, the AOT header check, and the command end to end with a stand-in
//! `wamrc` (a shell script) and, when one is installed, the real one.

use std::path::{Path, PathBuf};
use vpnrecon_host::aot::{
    check_compiler, check_header, parse_version, parse_wamrc_version, release_for, wamrc_args,
    Target, Version,
};

fn v(text: &str) -> Version {
    parse_version(text).expect("a version")
}

#[test]
fn table_rows_from_fluent_bits_source_tree() {
    // Expected values read from github.com/fluent/fluent-bit at these tags:
    // lib/wasm-micro-runtime-WAMR-<version>/core/config.h AOT_CURRENT_VERSION.
    for (fluent_bit, wamr, format) in [
        ("5.1.1", "2.4.1", 5),
        ("5.0.0", "2.4.1", 5),
        ("4.1.0", "2.4.1", 5),
        ("4.2.3.1", "2.4.1", 5),
        ("4.0.14", "1.3.3", 3),
        ("3.2.3", "1.3.3", 3),
        ("3.2.2", "1.3.0", 3),
        ("2.2.1", "1.3.0", 3),
        ("2.2.0", "1.2.2", 3),
        ("2.1.7", "1.2.2", 3),
        ("2.1.6", "1.1.1", 3),
        ("2.0.9", "1.1.1", 3),
    ] {
        let row = release_for(v(fluent_bit)).expect(fluent_bit);
        assert_eq!(row.wamr, v(wamr), "{fluent_bit}");
        assert_eq!(row.aot_format, format, "{fluent_bit}");
    }
    for unknown in ["2.0.8", "1.9.0", "5.1.2", "6.0.0"] {
        let error = release_for(v(unknown)).unwrap_err();
        assert!(error.contains(unknown) && error.contains("lib/wasm-micro-runtime-WAMR-"));
    }
}

#[test]
fn compiler_must_be_the_vendored_wamr() {
    let fluent_bit = v("5.1.1");
    let row = release_for(fluent_bit).unwrap();
    assert!(check_compiler(fluent_bit, row, v("2.4.1")).is_ok());
    for other in ["2.4.3", "2.4.0", "1.3.3", "2.2.0"] {
        let error = check_compiler(fluent_bit, row, v(other)).unwrap_err();
        assert!(error.contains(&format!("wamrc {other}")), "{error}");
        assert!(error.contains("get wamrc 2.4.1"), "{error}");
        assert!(
            error.contains("lib/wasm-micro-runtime-WAMR-2.4.1/wamr-compiler"),
            "{error}"
        );
    }
    assert_eq!(parse_wamrc_version("wamrc 2.4.1\n"), Some(v("2.4.1")));
    assert_eq!(parse_wamrc_version("Usage: wamrc [options]"), None);
}

#[test]
fn wamrc_arguments() {
    let args = wamrc_args(Target::X86_64, Path::new("in.wasm"), Path::new("out.aot"));
    let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "--target=x86_64",
            "--format=aot",
            "--disable-simd",
            "-o",
            "out.aot",
            "in.wasm"
        ]
    );
    let args = wamrc_args(Target::Aarch64, Path::new("a"), Path::new("b"));
    assert_eq!(args[0], "--target=aarch64");
}

/// The start of an AOT file as WAMR 2.4.1 writes it (aot_emit_aot_file.c): magic,
/// version, then the target-info section (type 0, 48 bytes).
fn header(version: u32, machine: u16, features: u64) -> Vec<u8> {
    let mut out = b"\0aot".to_vec();
    out.extend(version.to_le_bytes());
    out.extend(0u32.to_le_bytes()); // section type: target info
    out.extend(48u32.to_le_bytes()); // section size
    out.extend(2u16.to_le_bytes()); // bin_type: 64-bit, little-endian
    out.extend(0u16.to_le_bytes()); // abi_type
    out.extend(1u16.to_le_bytes()); // e_type: relocatable
    out.extend(machine.to_le_bytes());
    out.extend(1u32.to_le_bytes()); // e_version
    out.extend(0u32.to_le_bytes()); // e_flags
    out.extend(features.to_le_bytes());
    out.extend(0u64.to_le_bytes()); // reserved
    let mut arch = [0u8; 16];
    arch[..6].copy_from_slice(b"x86_64");
    out.extend(arch);
    out.extend([0xAB; 32]); // further sections
    out
}

#[test]
fn header_checks() {
    let row = release_for(v("5.1.1")).unwrap();
    assert!(check_header(&header(5, 62, 0), row, Target::X86_64).is_ok());
    assert!(check_header(&header(5, 183, 0b10), row, Target::Aarch64).is_ok());

    let error = check_header(&header(6, 62, 0), row, Target::X86_64).unwrap_err();
    assert!(
        error.contains("format 6") && error.contains("only format 5"),
        "{error}"
    );
    let error = check_header(&header(3, 62, 0), row, Target::X86_64).unwrap_err();
    assert!(error.contains("format 3"), "{error}");
    let error = check_header(&header(5, 62, 1), row, Target::X86_64).unwrap_err();
    assert!(error.contains("SIMD"), "{error}");
    let error = check_header(&header(5, 183, 0), row, Target::X86_64).unwrap_err();
    assert!(error.contains("183"), "{error}");

    let mut wasm = b"\0asm".to_vec();
    wasm.extend(1u32.to_le_bytes());
    let error = check_header(&wasm, row, Target::X86_64).unwrap_err();
    assert!(error.contains("wasm module"), "{error}");
    let error = check_header(b"\x7fELF\x02\x01\x01\0", row, Target::X86_64).unwrap_err();
    assert!(error.contains("not an AOT file"), "{error}");
    for cut in [0, 3, 6, 10, 20, 63] {
        assert!(
            check_header(&header(5, 62, 0)[..cut], row, Target::X86_64).is_err(),
            "{cut}"
        );
    }
    let mut big_endian = header(5, 62, 0);
    big_endian[16] = 3;
    assert!(check_header(&big_endian, row, Target::X86_64).is_err());
    let mut other_section = header(5, 62, 0);
    other_section[8] = 1;
    assert!(check_header(&other_section, row, Target::X86_64).is_err());

    // Format 3 (WAMR 1.3.x): no feature flags, a 36-byte target-info section.
    let old = release_for(v("4.0.14")).unwrap();
    let mut three = header(3, 62, 0);
    three[12] = 36;
    assert!(check_header(&three, old, Target::X86_64).is_ok());
    assert!(check_header(&header(5, 62, 0), old, Target::X86_64).is_err());
}

// ---------------------------------------------------------------------------
// The command

fn vpnrecon() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_vpnrecon"))
}

#[cfg(unix)]
struct FakeWamrc {
    dir: tempfile::TempDir,
}

#[cfg(unix)]
impl FakeWamrc {
    /// A shell script standing in for wamrc: `--version` prints the file `version`;
    /// otherwise it records its arguments and the input's first bytes, fails if the
    /// file `fail` exists, else copies `payload` to the `-o` path.
    fn new() -> FakeWamrc {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("wamrc");
        std::fs::write(
            &script,
            r#"#!/bin/sh
dir=$(dirname "$0")
if [ "$1" = "--version" ]; then cat "$dir/version"; exit 0; fi
printf '%s\n' "$@" > "$dir/args"
out=""; prev=""; last=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out="$a"; fi
  prev="$a"; last="$a"
done
head -c 4 "$last" > "$dir/input_magic"
if [ -f "$dir/fail" ]; then echo "boom: cannot compile" >&2; exit 3; fi
cp "$dir/payload" "$out"
"#,
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeWamrc { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("wamrc")
    }

    fn set(&self, version: &str, payload: &[u8]) {
        std::fs::write(self.dir.path().join("version"), version).unwrap();
        std::fs::write(self.dir.path().join("payload"), payload).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap_or_default()
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One test, so the scripts are never written while another test's process starts
/// (an executable still open for writing in a forked child cannot be run).
#[cfg(unix)]
#[test]
fn export_end_to_end_with_a_stand_in_wamrc() {
    let fake = FakeWamrc::new();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("vpnrecon.aot");
    let export = |extra: &[&str]| {
        let mut cmd = vpnrecon();
        cmd.args(["export-filter", "--aot"])
            .arg(&out)
            .args(["--fluent-bit", "5.1.1", "--target", "x86_64"])
            .args(extra)
            .env_remove("WAMRC");
        cmd
    };
    let wamrc = fake.path();
    let wamrc = wamrc.to_str().unwrap();

    // The right compiler and a good file.
    fake.set("wamrc 2.4.1\n", &header(5, 62, 0));
    let run = export(&["--wamrc", wamrc]).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), header(5, 62, 0));
    let args = String::from_utf8(fake.read("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        &args[..4],
        ["--target=x86_64", "--format=aot", "--disable-simd", "-o"]
    );
    assert_eq!(args.len(), 6);
    assert_eq!(
        fake.read("input_magic"),
        b"\0asm",
        "wamrc is given the wasm module"
    );
    assert_eq!(files_in(out_dir.path()), ["vpnrecon.aot"]);
    std::fs::remove_file(&out).unwrap();

    // WAMRC is used when --wamrc is not given.
    let run = export(&[]).env("WAMRC", wamrc).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::remove_file(&out).unwrap();

    // A compiler of another WAMR version is refused before it runs.
    std::fs::remove_file(fake.dir.path().join("args")).unwrap();
    fake.set("wamrc 2.4.3\n", &header(6, 62, 0));
    let run = export(&["--wamrc", wamrc]).output().unwrap();
    let error = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        error.contains("wamrc 2.4.3") && error.contains("2.4.1"),
        "{error}"
    );
    assert!(
        error.contains("wasm-micro-runtime-WAMR-2.4.1/wamr-compiler"),
        "{error}"
    );
    assert!(
        fake.read("args").is_empty(),
        "wamrc was not asked to compile"
    );
    assert!(files_in(out_dir.path()).is_empty());

    // The right version string but a file of the wrong format: refused, nothing left.
    fake.set("wamrc 2.4.1\n", &header(6, 62, 0));
    let run = export(&["--wamrc", wamrc]).output().unwrap();
    let error = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(error.contains("format 6"), "{error}");
    assert!(
        files_in(out_dir.path()).is_empty(),
        "no output, no temporary file"
    );

    // An existing file at OUT is kept when the new one is refused.
    std::fs::write(&out, b"previous").unwrap();
    fake.set("wamrc 2.4.1\n", &header(5, 62, 1));
    let run = export(&["--wamrc", wamrc]).output().unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("SIMD"));
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    std::fs::remove_file(&out).unwrap();

    // wamrc fails: its message is passed on.
    fake.set("wamrc 2.4.1\n", &header(5, 62, 0));
    std::fs::write(fake.dir.path().join("fail"), b"").unwrap();
    let run = export(&["--wamrc", wamrc]).output().unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("boom: cannot compile"));
    assert!(files_in(out_dir.path()).is_empty());
    std::fs::remove_file(fake.dir.path().join("fail")).unwrap();

    // Not a wamrc at all.
    fake.set("something else 1.0\n", b"");
    let run = export(&["--wamrc", wamrc]).output().unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("wamrc X.Y.Z"));

    // No wamrc anywhere.
    let empty = tempfile::tempdir().unwrap();
    let run = export(&[]).env("PATH", empty.path()).output().unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("wamrc not found"));

    // An unknown release.
    let run = vpnrecon()
        .args([
            "export-filter",
            "--fluent-bit",
            "9.9.9",
            "--wamrc",
            wamrc,
            "--aot",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("9.9.9"));

    // The positional form still writes the wasm module; it cannot be mixed with --aot.
    let wasm = out_dir.path().join("vpnrecon.wasm");
    let run = vpnrecon().arg("export-filter").arg(&wasm).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(&std::fs::read(&wasm).unwrap()[..4], b"\0asm");
    let run = vpnrecon()
        .arg("export-filter")
        .arg(&wasm)
        .arg("--aot")
        .arg(&out)
        .args(["--fluent-bit", "5.1.1"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let run = vpnrecon()
        .arg("export-filter")
        .arg("--aot")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success(), "--aot needs --fluent-bit");
}

/// With a real wamrc (WAMRC, or wamrc on PATH): WAMR 2.4.1's compiler produces a file
/// Fluent Bit 5.1.1 loads; any other version is refused.
#[test]
fn export_with_a_real_wamrc() {
    let found = std::env::var_os("WAMRC")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("wamrc"))
                    .find(|p| p.is_file())
            })
        });
    let Some(wamrc) = found else {
        eprintln!("skipped: wamrc not found (set WAMRC or put wamrc on PATH)");
        return;
    };
    let Some(target) = Target::host() else {
        eprintln!("skipped: this machine is neither x86_64 nor aarch64");
        return;
    };
    let version = std::process::Command::new(&wamrc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| parse_wamrc_version(&String::from_utf8_lossy(&o.stdout)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vpnrecon.aot");
    let run = vpnrecon()
        .args(["export-filter", "--fluent-bit", "5.1.1", "--wamrc"])
        .arg(&wamrc)
        .arg("--aot")
        .arg(&out)
        .output()
        .unwrap();
    if version != Some(v("2.4.1")) {
        assert!(
            !run.status.success(),
            "{version:?} must be refused for 5.1.1"
        );
        assert!(!out.exists());
        eprintln!(
            "note: {} is {version:?}, not 2.4.1: only the refusal was tested",
            wamrc.display()
        );
        return;
    }
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"\0aot");
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 5);
    assert!(check_header(&bytes, release_for(v("5.1.1")).unwrap(), target).is_ok());
}
