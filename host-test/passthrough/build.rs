//! Exports wasi-libc's `malloc` and `free`, as the filter module does (see
//! `filter/build.rs`), so that a host allocates record copies the same way for both.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        for sym in ["malloc", "free"] {
            println!("cargo:rustc-cdylib-link-arg=--export={sym}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
