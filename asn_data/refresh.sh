#!/usr/bin/env bash
# Rebuilds data/asn_table.bin from the ip-location-db ASN package on npm.
#
#   asn_data/refresh.sh [VERSION [BUILD_DATE [SOURCE_DIR]]]
#
# Defaults reproduce the committed table byte for byte. SOURCE_DIR (default: a temporary
# directory) keeps the unpacked package, e.g. for the full-parity test:
#   VPNRECON_ASN_SOURCE=SOURCE_DIR/package cargo test -p asn-data --release --test source_parity
set -euo pipefail

version=${1:-2.3.2026061719}
build_date=${2:-2026-11-28}
here=$(cd "$(dirname "$0")" && pwd)
if [[ -n ${3:-} ]]; then
    work=$3
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

(cd "$work" && npm pack "@ip-location-db/asn@$version" >/dev/null && tar xzf ip-location-db-asn-"$version".tgz)

cd "$here/.."
cargo run --release -p asn-data --bin asn-data -- build --format ip-location-db \
    "$work/package/asn-ipv4-num.csv" "$work/package/asn-ipv6-num.csv" \
    --source-version "$version" --build-date "$build_date" \
    --out "$here/data/asn_table.bin"
