//! `vpnrecon export-filter --aot`: the module compiled ahead of time with WAMR's
//! `wamrc`, for the WAMR inside one Fluent Bit release.
//!
//! Fluent Bit loads an AOT file from the same `Wasm_Path` as a `.wasm` module, but only
//! a file in the AOT format of the WAMR it vendors: any other version is refused at
//! load. So the command checks everything it can before Fluent Bit would:
//!
//! 1. the release named is in [`RELEASES`] (Fluent Bit release → vendored WAMR →
//!    `AOT_CURRENT_VERSION`);
//! 2. `wamrc --version` is that WAMR version;
//! 3. `wamrc` runs with the flags Fluent Bit's loader needs ([`wamrc_args`]);
//! 4. the written file starts with the AOT magic, the format version that release
//!    loads and a target-info section for the target ([`check_header`]).
//!
//! The file is written next to the destination under a temporary name and only
//! renamed into place once every check passed; on any failure nothing is left behind.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A release number, `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// `5.1.1`, `v5.1.1`, or a four-part tag such as `4.2.3.1` (the fourth part does not
/// change the vendored WAMR, so it is ignored). `None` for anything else.
pub fn parse_version(text: &str) -> Option<Version> {
    let text = text.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let parts: Vec<&str> = text.split('.').collect();
    if !(3..=4).contains(&parts.len()) {
        return None;
    }
    let mut numbers = [0u32; 4];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    Some(Version::new(numbers[0], numbers[1], numbers[2]))
}

/// The WAMR that a range of Fluent Bit releases vendors, and the AOT format it loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FluentBitWamr {
    /// First and last Fluent Bit release (inclusive) that vendor this WAMR.
    pub first: Version,
    pub last: Version,
    /// `lib/wasm-micro-runtime-WAMR-<wamr>/` in Fluent Bit's source tree.
    pub wamr: Version,
    /// `AOT_CURRENT_VERSION` in that WAMR's `core/config.h`: the only AOT format
    /// version its loader accepts.
    pub aot_format: u32,
}

impl FluentBitWamr {
    /// The directory of the vendored WAMR in that release's source tree.
    pub fn wamr_dir(&self) -> String {
        format!("lib/wasm-micro-runtime-WAMR-{}", self.wamr)
    }
}

/// Fluent Bit releases and the WAMR they vendor, read from Fluent Bit's git
/// repository (github.com/fluent/fluent-bit) at each release tag: the directory
/// `lib/wasm-micro-runtime-WAMR-<version>/`, its `core/version.h` and the
/// `AOT_CURRENT_VERSION` in its `core/config.h`. Releases 2.0.0–2.0.8 vendor a WAMR
/// snapshot without a release number (`lib/wasm-micro-runtime-fast-jit-06-29-2022`)
/// and are not listed. docs/DEPLOY.md carries the same table.
pub const RELEASES: [FluentBitWamr; 5] = [
    FluentBitWamr {
        first: Version::new(2, 0, 9),
        last: Version::new(2, 1, 6),
        wamr: Version::new(1, 1, 1),
        aot_format: 3,
    },
    FluentBitWamr {
        first: Version::new(2, 1, 7),
        last: Version::new(2, 2, 0),
        wamr: Version::new(1, 2, 2),
        aot_format: 3,
    },
    FluentBitWamr {
        first: Version::new(2, 2, 1),
        last: Version::new(3, 2, 2),
        wamr: Version::new(1, 3, 0),
        aot_format: 3,
    },
    FluentBitWamr {
        first: Version::new(3, 2, 3),
        last: Version::new(4, 0, 14),
        wamr: Version::new(1, 3, 3),
        aot_format: 3,
    },
    FluentBitWamr {
        first: Version::new(4, 1, 0),
        last: Version::new(5, 1, 1),
        wamr: Version::new(2, 4, 1),
        aot_format: 5,
    },
];

/// The table row for a Fluent Bit release, or why there is none.
pub fn release_for(fluent_bit: Version) -> Result<&'static FluentBitWamr, String> {
    if let Some(row) = RELEASES
        .iter()
        .find(|row| row.first <= fluent_bit && fluent_bit <= row.last)
    {
        return Ok(row);
    }
    let (oldest, newest) = (RELEASES[0].first, RELEASES[RELEASES.len() - 1].last);
    Err(format!(
        "Fluent Bit {fluent_bit} is not in vpnrecon's table of releases ({oldest} to {newest}); the WAMR it vendors is the directory lib/wasm-micro-runtime-WAMR-<version>/ in that release's source, and an AOT file must come from the wamrc of exactly that version. Use a listed release, or the interpreted module (vpnrecon export-filter PATH)"
    ))
}

/// The version in `wamrc --version` output (`wamrc 2.4.1`).
pub fn parse_wamrc_version(output: &str) -> Option<Version> {
    let mut words = output.split_whitespace();
    while let Some(word) = words.next() {
        if word == "wamrc" {
            return words.next().and_then(parse_version);
        }
    }
    None
}

/// How to get the `wamrc` a release needs.
pub fn compiler_advice(fluent_bit: Version, row: &FluentBitWamr) -> String {
    format!(
        "Fluent Bit {fluent_bit} loads AOT format {} from WAMR {}: get wamrc {} (WAMR's release {}, or build it from Fluent Bit {fluent_bit}'s own source: {}/wamr-compiler, which needs LLVM; see docs/DEPLOY.md), then pass it with --wamrc or WAMRC",
        row.aot_format,
        row.wamr,
        row.wamr,
        row.wamr,
        row.wamr_dir()
    )
}

/// The compiler must be the WAMR version the release vendors.
pub fn check_compiler(
    fluent_bit: Version,
    row: &FluentBitWamr,
    wamrc: Version,
) -> Result<(), String> {
    if wamrc == row.wamr {
        return Ok(());
    }
    Err(format!(
        "wamrc {wamrc} does not match Fluent Bit {fluent_bit}, which vendors WAMR {} and would refuse the file at load. {}",
        row.wamr,
        compiler_advice(fluent_bit, row)
    ))
}

/// The architecture the AOT file is compiled for (where Fluent Bit runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "aarch64")]
    Aarch64,
}

impl Target {
    /// This machine's architecture, if it is one of the supported targets.
    pub fn host() -> Option<Target> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Target::X86_64),
            "aarch64" => Some(Target::Aarch64),
            _ => None,
        }
    }

    /// wamrc's `--target` name.
    pub fn name(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64",
            Target::Aarch64 => "aarch64",
        }
    }

    /// The ELF machine number WAMR records in the target-info section
    /// (`E_MACHINE_X86_64`, `E_MACHINE_AARCH64` in WAMR's aot_loader.c).
    pub fn e_machine(self) -> u16 {
        match self {
            Target::X86_64 => 62,
            Target::Aarch64 => 183,
        }
    }
}

/// wamrc's arguments: the target, the AOT file format, and `--disable-simd`. Fluent
/// Bit builds its WAMR with `WAMR_BUILD_SIMD 0` (src/wasm/CMakeLists.txt) and WAMR's
/// loader refuses a file marked as using SIMD ("SIMD is not enabled in this build");
/// wamrc enables SIMD on x86_64 and aarch64 unless told otherwise, and with the flag it
/// stops with an error on a module that holds SIMD instructions instead of writing a
/// file Fluent Bit would refuse. Memory bounds checks keep wamrc's 64-bit default (the
/// hardware trap, which Fluent Bit's WAMR uses on Linux); optimisation and code-size
/// levels keep their defaults (3).
pub fn wamrc_args(target: Target, input: &Path, output: &Path) -> Vec<OsString> {
    let mut out_arg = vec![
        OsString::from(format!("--target={}", target.name())),
        OsString::from("--format=aot"),
        OsString::from("--disable-simd"),
        OsString::from("-o"),
    ];
    out_arg.push(output.as_os_str().to_owned());
    out_arg.push(input.as_os_str().to_owned());
    out_arg
}

/// `\0asm`'s counterpart: WAMR's `AOT_MAGIC_NUMBER` 0x746f6100, little-endian.
pub const AOT_MAGIC: [u8; 4] = *b"\0aot";

/// `WASM_FEATURE_SIMD_128BIT` in the target-info feature flags (AOT format 5).
const FEATURE_SIMD: u64 = 1;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Checks the start of an AOT file against what the release's loader accepts: the
/// magic `\0aot`, the u32 little-endian format version right after it, then the
/// first section, which WAMR writes as the target info (section type 0): a
/// little-endian 64-bit object for the target's machine and, in format 5, no SIMD
/// feature flag.
pub fn check_header(bytes: &[u8], row: &FluentBitWamr, target: Target) -> Result<(), String> {
    let Some(magic) = bytes.get(..4) else {
        return Err(format!(
            "the file is {} bytes long, too short for an AOT file",
            bytes.len()
        ));
    };
    if magic != AOT_MAGIC {
        let what = if magic == b"\0asm" {
            "a wasm module, not an AOT file"
        } else {
            "not an AOT file"
        };
        return Err(format!(
            "it is {what} (the first bytes are {magic:02x?}, an AOT file starts with 00 61 6f 74, \"\\0aot\")"
        ));
    }
    let Some(version) = u32_at(bytes, 4) else {
        return Err("the file ends inside the AOT format version".to_owned());
    };
    if version != row.aot_format {
        return Err(format!(
            "it is AOT format {version}, but WAMR {} (in the Fluent Bit releases {} to {}) loads only format {}",
            row.wamr, row.first, row.last, row.aot_format
        ));
    }
    let (Some(section), Some(size)) = (u32_at(bytes, 8), u32_at(bytes, 12)) else {
        return Err("the file ends before its first section".to_owned());
    };
    if section != 0 {
        return Err(format!(
            "its first section is of type {section}, not the target info (type 0)"
        ));
    }
    // The section's contents start at byte 16: bin_type, abi_type, e_type, e_machine
    // (u16 each), e_version, e_flags (u32 each), then in format 5 feature_flags and a
    // reserved u64, then the 16-byte architecture name.
    let expected_size = if row.aot_format >= 5 { 48 } else { 36 };
    if size != expected_size || bytes.len() < 16 + expected_size as usize {
        return Err(format!(
            "its target-info section is {size} bytes, format {} writes {expected_size}",
            row.aot_format
        ));
    }
    let bin_type = u16_at(bytes, 16).unwrap_or(u16::MAX);
    if bin_type & 1 != 0 || bin_type & 2 == 0 {
        return Err(format!(
            "it is not compiled for a little-endian 64-bit target (bin_type {bin_type:#x})"
        ));
    }
    let machine = u16_at(bytes, 22).unwrap_or(0);
    if machine != target.e_machine() {
        return Err(format!(
            "it is compiled for ELF machine {machine}, not {} ({})",
            target.e_machine(),
            target.name()
        ));
    }
    if row.aot_format >= 5 {
        let features = u64_at(bytes, 32).unwrap_or(0);
        if features & FEATURE_SIMD != 0 {
            return Err("it uses 128-bit SIMD, which Fluent Bit's WAMR is built without (compile with --disable-simd)".to_owned());
        }
    }
    Ok(())
}

/// The `wamrc` to run: `--wamrc`, else the environment's `WAMRC`, else `wamrc` in one
/// of the `PATH` directories.
pub fn locate_wamrc(
    explicit: Option<&Path>,
    env_wamrc: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf, String> {
    let given = |path: PathBuf, from: &str| {
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{from} names {}, which is not a file; point it at the wamrc executable",
                path.display()
            ))
        }
    };
    if let Some(path) = explicit {
        return given(path.to_path_buf(), "--wamrc");
    }
    if let Some(path) = env_wamrc.filter(|p| !p.is_empty()) {
        return given(PathBuf::from(path), "WAMRC");
    }
    if let Some(dirs) = path_var {
        for dir in std::env::split_paths(&dirs) {
            let candidate = dir.join("wamrc");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err("wamrc not found: pass --wamrc PATH, set WAMRC, or put wamrc on PATH (docs/DEPLOY.md says how to get the right one)".to_owned())
}

/// Arguments of `vpnrecon export-filter`.
#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// Where to write the module (.wasm) for Fluent Bit's interpreter.
    #[arg(required_unless_present = "aot", conflicts_with = "aot")]
    pub path: Option<PathBuf>,
    /// Compile the module ahead of time with wamrc and write the AOT file here.
    #[arg(long, value_name = "OUT", requires = "fluent_bit")]
    pub aot: Option<PathBuf>,
    /// The wamrc to run (default: $WAMRC, then wamrc on PATH).
    #[arg(long, value_name = "PATH", requires = "aot")]
    pub wamrc: Option<PathBuf>,
    /// The Fluent Bit release that will load the AOT file, e.g. 5.1.1.
    #[arg(long, value_name = "VERSION", requires = "aot")]
    pub fluent_bit: Option<String>,
    /// Architecture Fluent Bit runs on (default: this machine's).
    #[arg(long, value_enum, requires = "aot")]
    pub target: Option<Target>,
}

/// Compiles `module` to `out` for the release and target; returns a one-line summary.
pub fn export(
    module: &[u8],
    out: &Path,
    fluent_bit: &str,
    wamrc: Option<&Path>,
    target: Option<Target>,
) -> Result<String, String> {
    let Some(version) = parse_version(fluent_bit) else {
        return Err(format!(
            "--fluent-bit {fluent_bit:?}: give a release number such as 5.1.1"
        ));
    };
    let row = release_for(version)?;
    let target = match target.or_else(Target::host) {
        Some(target) => target,
        None => {
            return Err(format!(
                "this machine's architecture ({}) is not a supported target: pass --target x86_64 or --target aarch64",
                std::env::consts::ARCH
            ))
        }
    };
    let wamrc = locate_wamrc(wamrc, std::env::var_os("WAMRC"), std::env::var_os("PATH"))?;
    let probe = Command::new(&wamrc)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", wamrc.display()))?;
    let printed = String::from_utf8_lossy(&probe.stdout);
    let Some(found) = parse_wamrc_version(&printed) else {
        return Err(format!(
            "{} --version printed {:?}, not \"wamrc X.Y.Z\": is it WAMR's wamrc? {}",
            wamrc.display(),
            printed.trim(),
            compiler_advice(version, row)
        ));
    };
    check_compiler(version, row, found)?;

    let scratch =
        tempfile::tempdir().map_err(|e| format!("creating a temporary directory: {e}"))?;
    let input = scratch.path().join("vpnrecon.wasm");
    std::fs::write(&input, module).map_err(|e| format!("writing {}: {e}", input.display()))?;
    let parent = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let staged = tempfile::Builder::new()
        .prefix(".vpnrecon-aot-")
        .tempfile_in(&parent)
        .map_err(|e| format!("creating a file in {}: {e}", parent.display()))?;
    let run = Command::new(&wamrc)
        .args(wamrc_args(target, &input, staged.path()))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", wamrc.display()))?;
    if !run.status.success() {
        return Err(format!(
            "{} failed ({}): {}{}",
            wamrc.display(),
            run.status,
            String::from_utf8_lossy(&run.stderr).trim(),
            String::from_utf8_lossy(&run.stdout).trim()
        ));
    }
    let bytes =
        std::fs::read(staged.path()).map_err(|e| format!("reading what wamrc wrote: {e}"))?;
    check_header(&bytes, row, target).map_err(|why| {
        format!(
            "wamrc {found} wrote a file Fluent Bit {version} would refuse: {why}; nothing was written to {}",
            out.display()
        )
    })?;
    staged
        .persist(out)
        .map_err(|e| format!("writing {}: {}", out.display(), e.error))?;
    Ok(format!(
        "wrote {} ({} bytes): AOT format {} for Fluent Bit {version} (WAMR {}), {}",
        out.display(),
        bytes.len(),
        row.aot_format,
        row.wamr,
        target.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("5.1.1"), Some(Version::new(5, 1, 1)));
        assert_eq!(parse_version("v4.2.3.1"), Some(Version::new(4, 2, 3)));
        assert_eq!(parse_version(" 2.4.1\n"), Some(Version::new(2, 4, 1)));
        for bad in [
            "",
            "5",
            "5.1",
            "5.1.x",
            "5..1",
            "5.1.1.1.1",
            "-5.1.1",
            "5.1.1-rc1",
        ] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_wamrc_version("wamrc 2.4.1\n"),
            Some(Version::new(2, 4, 1))
        );
        assert_eq!(parse_wamrc_version("iwasm 2.4.1"), None);
        assert_eq!(parse_wamrc_version("wamrc"), None);
    }

    #[test]
    fn table_is_ordered_and_contiguous_in_release_order() {
        for pair in RELEASES.windows(2) {
            assert!(pair[0].first <= pair[0].last && pair[0].last < pair[1].first);
            assert!(pair[0].wamr < pair[1].wamr);
        }
    }
}
