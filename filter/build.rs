//! Export wasi-libc's `malloc` and `free` from the module so that WAMR (Fluent Bit's
//! runtime) allocates record copies through them instead of its 8 KiB app heap.
//! Done here rather than in `.cargo/config.toml` so that a plain
//! `cargo build --target wasm32-wasip1 -p vpnrecon-filter` from anywhere applies it.
//!
//! Also bakes the curated ASN list (`asn_data/vpn_asns.toml`) into a static table,
//! read with the asn_data crate's own parser, so the module never parses it.
// A build script stops the build with a message when the curated list cannot be
// read: the workspace lints that keep panics out of the module do not apply here.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::fmt::Write;
use std::path::Path;

fn main() {
    bake_curated_asns();
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        for sym in ["malloc", "free"] {
            println!("cargo:rustc-cdylib-link-arg=--export={sym}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn bake_curated_asns() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asn_data/vpn_asns.toml");
    println!("cargo:rerun-if-changed={}", file.display());
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read the curated ASN list {}: {e}", file.display()));
    let list = asn_data::curated::parse(&text).unwrap_or_else(|e| {
        panic!(
            "the curated ASN list {} does not parse: {e}",
            file.display()
        )
    });
    let mut out = String::from("&[\n");
    for entry in &list {
        let _ = writeln!(
            out,
            "    CuratedAsn {{ asn: {}, category: {:?}, name: {:?}, enabled: {} }},",
            entry.asn,
            entry.category.as_str(),
            entry.name,
            entry.enabled
        );
    }
    out.push_str("]\n");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|_| panic!("cargo sets OUT_DIR"));
    let target = Path::new(&dir).join("curated_asns.rs");
    std::fs::write(&target, out)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}
