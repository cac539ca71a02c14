#!/usr/bin/env bash
# Everything CI checks, runnable on a fresh machine with only rustup: installs the
# wasm targets, the C toolchain the WAMR backend builds with, Node, Chromium and the
# wasm-bindgen CLI, then checks formatting, lints (warnings are errors) and runs every
# test: the differential runs of the module under wasmtime and WAMR, the JavaScript
# package against the wasmtime host (Node's test runner) and the triage page in
# headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip1 wasm32-unknown-unknown

# WAMR (the interpreter inside Fluent Bit) is built from source with CMake and
# bindgen for the `wamr` host backend.
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v clang >/dev/null 2>&1 || need+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
# The JavaScript package's tests (Node's own runner) and the page's browser test.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need[@]}"
fi

# Before the Rust builds: `vpnrecon page` embeds the browser module this writes.
./scripts/build-js.sh
(cd web && npm ci --no-audit --no-fund)

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The lookup code must build for every target the table is used on.
cargo build -q -p asn-data --no-default-features --target wasm32-unknown-unknown
cargo build -q -p asn-data --no-default-features --target wasm32-wasip1
cargo test --workspace --all-features

# The JavaScript package and the triage page. Everything they need was installed
# above, so here a missing tool is a failure, not a skipped test.
cargo build -q -p vpnrecon-host
(cd web && VPNRECON_REQUIRE_ALL=1 npm test)
