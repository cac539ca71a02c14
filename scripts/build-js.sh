#!/usr/bin/env bash
# Builds the `vpnrecon` JavaScript package: the filter crate for wasm32-unknown-unknown
# with its `js` feature, then the wasm-bindgen glue, into
#   target/js/node/  CommonJS package named `vpnrecon` (require("./target/js/node"))
#   target/js/web/   ES module, used by the triage page (web/)
# The wasm-bindgen CLI must be the exact version the crate pins, because the glue it
# generates and the crate's runtime must agree; a missing or different one is installed
# with `cargo install --locked` into ~/.cargo/bin, compiled in the cargo target
# directory so that a later reinstall reuses what was already compiled.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

target_dir="${CARGO_TARGET_DIR:-$repo/target}"
out="${VPNRECON_JS_OUT:-$repo/target/js}"

pinned="$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' filter/Cargo.toml)"
if [ -z "$pinned" ]; then
    echo "build-js: cannot read the pinned wasm-bindgen version from filter/Cargo.toml" >&2
    exit 1
fi

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$pinned" ]; then
    echo "build-js: installing wasm-bindgen-cli $pinned (found: ${have:-none})" >&2
    cargo install --locked wasm-bindgen-cli --version "$pinned" \
        --target-dir "$target_dir/wasm-bindgen-cli"
fi
bindgen="$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")"

cargo build --profile wasm-release --target wasm32-unknown-unknown \
    -p vpnrecon-filter --features js
wasm="$target_dir/wasm32-unknown-unknown/wasm-release/vpnrecon_filter.wasm"

rm -rf "$out/node" "$out/web"
"$bindgen" --target nodejs --out-dir "$out/node" "$wasm"
"$bindgen" --target web --out-dir "$out/web" "$wasm"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
cat >"$out/node/package.json" <<EOF
{
  "name": "vpnrecon",
  "version": "$version",
  "description": "Detects AWS discovery API calls from VPN ASNs in CloudTrail records (the vpnrecon Fluent Bit filter's engine)",
  "license": "Apache-2.0",
  "main": "vpnrecon_filter.js",
  "types": "vpnrecon_filter.d.ts",
  "files": ["vpnrecon_filter.js", "vpnrecon_filter.d.ts", "vpnrecon_filter_bg.wasm", "vpnrecon_filter_bg.wasm.d.ts"],
  "engines": { "node": ">=19" }
}
EOF

size() { wc -c <"$1" | tr -d ' '; }
gz() { gzip -9c "$1" | wc -c | tr -d ' '; }
node_wasm="$out/node/vpnrecon_filter_bg.wasm"
echo "build-js: wasm-bindgen $pinned"
echo "build-js: $out/node (CommonJS, package vpnrecon): $(du -sb "$out/node" | cut -f1) bytes;" \
    "wasm $(size "$node_wasm") bytes, $(gz "$node_wasm") gzipped"
echo "build-js: $out/web (ES module): $(du -sb "$out/web" | cut -f1) bytes"
