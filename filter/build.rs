//! Export wasi-libc's `malloc` and `free` from the module so that WAMR (Fluent Bit's
//! runtime) allocates record copies through them instead of its 8 KiB app heap.
//! Done here rather than in `.cargo/config.toml` so that a plain
//! `cargo build --target wasm32-wasip1 -p vpnrecon-filter` from anywhere applies it.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        for sym in ["malloc", "free"] {
            println!("cargo:rustc-cdylib-link-arg=--export={sym}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
