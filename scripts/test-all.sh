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
# `vpnrecon publish`/`consume` are tested against real NATS JetStream servers
# (host-test/tests/nats_scale.rs starts them on loopback): Debian's nats-server 2.9.
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need[@]}"
fi

# Python 3 with venv for the pinned test tools below.
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q python3 python3-venv
fi

# The Sigma and OCSF checks (tests/sigma, tests/ocsf) run pinned Python packages from
# a virtual environment under target/; the Rust tests that call them fail, rather
# than skip, when it is missing.
if ! target/pyenv/bin/python -c 'import sigma, py_ocsf_models' >/dev/null 2>&1 \
    || ! cmp -s tests/python-requirements.txt target/pyenv/requirements.txt; then
    command -v python3 >/dev/null 2>&1 || { echo "python3 is needed for the Sigma and OCSF checks" >&2; exit 1; }
    python3 -m venv target/pyenv || {
        echo "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
        exit 1
    }
    target/pyenv/bin/pip install -q --disable-pip-version-check -r tests/python-requirements.txt
    cp tests/python-requirements.txt target/pyenv/requirements.txt
fi
export VPNRECON_PYTHON="$PWD/target/pyenv/bin/python"
export VPNRECON_REQUIRE_PYTHON_CHECKS=1
# Installed above: here a missing nats-server fails the NATS tests instead of skipping them.
export VPNRECON_REQUIRE_NATS=1
# `vpnrecon respond` is tested against moto's IAM emulator with the AWS CLI and boto3
# (host-test/tests/respond.rs), from a virtual environment under target/ with the
# versions pinned in host-test/tests/respond-requirements.txt. pip does nothing when
# they are already there; under CI the test fails rather than skip without them.
[ -x target/respond-venv/bin/pip ] || python3 -m venv target/respond-venv
target/respond-venv/bin/pip install -q --disable-pip-version-check \
    -r host-test/tests/respond-requirements.txt
# Before the Rust builds: `vpnrecon page` embeds the browser module this writes.
./scripts/build-js.sh
(cd web && npm ci --no-audit --no-fund)

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The lookup code must build for every target the table is used on.
cargo build -q -p asn-data --no-default-features --target wasm32-unknown-unknown
cargo build -q -p asn-data --no-default-features --target wasm32-wasip1
cargo test --workspace --all-features
echo "note: asn-data's source_parity tests are ignored here: they need the ip-location-db CSVs" \
     "(not in the repository); run them with VPNRECON_ASN_SOURCE=DIR cargo test -p asn-data --release --test source_parity -- --ignored"

# The JavaScript package and the triage page. Everything they need was installed
# above, so here a missing tool is a failure, not a skipped test.
cargo build -q -p vpnrecon-host
(cd web && VPNRECON_REQUIRE_ALL=1 npm test)
