#!/usr/bin/env bash
# Throughput of `vpnrecon consume` with 1, 2 and 3 workers on this machine
# (docs/BENCHMARKS.md, "Scale-out on NATS JetStream"). Needs nats-server (Debian:
# apt-get install nats-server) and a release build (cargo build --release -p vpnrecon-host).
#
#   scripts/scale-bench.sh [EVENTS] [PARTITIONS]
#
# Each run gets a fresh single-node server and stream: the same EVENTS events
# (default 200000: the bundled samples and fixtures as templates, 64 accounts, new
# event ids and times) are published, then N workers consume them; events/s is
# events / (time the last worker went idle - time the workers were started).
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-200000}
partitions=${2:-8}
bin=${VPNRECON_BIN:-target/release/vpnrecon}
server=${VPNRECON_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$events" > "$work/events.ndjson" <<'PY'
import datetime, json, sys
n = int(sys.argv[1])
templates = []
for path in ["samples/cloudtrail-events.ndjson", "tests/fixtures/benign.ndjson",
             "tests/fixtures/attack_chain.ndjson"]:
    with open(path) as f:
        templates += [json.loads(l) for l in f if l.strip()]
for i in range(n):
    t = templates[i % len(templates)]
    account = "%012d" % (100000000000 + (i * 7919) % 64)
    # Every account id in the event (userIdentity, ARNs, recipient) becomes the new
    # one, so the identity stays consistent.
    old = str((t.get("userIdentity") or {}).get("accountId") or t.get("recipientAccountId") or "")
    text = json.dumps(t, separators=(",", ":"))
    if old:
        text = text.replace(old, account)
    e = json.loads(text)
    e["recipientAccountId"] = account
    e["eventID"] = "bench-%d" % i
    s = 1780000000 + i // 20
    e["eventTime"] = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps(e, separators=(",", ":")))
PY

for workers in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -rf "$work/store"
    "$server" -a 127.0.0.1 -p "$port" -js -sd "$work/store" 2>"$work/server.log" &
    spid=$!
    sleep 1
    url="nats://127.0.0.1:$port"
    "$bin" publish --nats "$url" --partitions "$partitions" "$work/events.ndjson" 2>"$work/publish.log"
    start=$(date +%s.%N)
    pids=()
    for w in $(seq 1 "$workers"); do
        "$bin" consume --nats "$url" --worker-id "w$w" --state-dir "$work/state-$w" \
            --exit-when-idle 1s --lease-timeout 3s --poll-interval 300ms --stats-every 5s \
            2>"$work/w$w.log" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    end=$(date +%s.%N)
    total=$(grep -ho 'event=worker_stopped.* events=[0-9]*' "$work"/w*.log | grep -o 'events=[0-9]*' | cut -d= -f2 | paste -sd+ | bc)
    # The idle wait (1 s) and one poll are not processing.
    secs=$(echo "$end - $start - 1.3" | bc -l)
    printf '%s workers: %s events in %.1f s = %.0f events/s (%s)\n' "$workers" "$total" "$secs" \
        "$(echo "$total / $secs" | bc -l)" "$(grep -o 'events_per_s=[0-9]*' "$work/publish.log" | sed 's/events_per_s/publish/')"
    kill "$spid"; wait "$spid" 2>/dev/null || true
    rm -rf "$work"/state-*
    rm -f "$work"/w*.log
done
