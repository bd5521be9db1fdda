#!/usr/bin/env bash
# The cluster on one machine: three `sluice learner` processes, each with
# its own data directory and embedded NATS server routed to the others
# (the stream R3, sync always), all on loopback. bench/clusterbench
# measures the learn -> applied-on-every-host latency (one learn at a
# time, round robin over the hosts), then sends a burst of learns
# (messages of the SpamAssassin train split, learned, then relearned as
# the other class: every event changes counts) to host 1 and times every
# host's apply; and the stream's bytes per event. Meanwhile a `sluice
# milter` on host 2's statfile is driven by ../shared/tools/milterload at
# a fixed rate: once with the cluster idle, once during the burst that
# host 2 applies. Prints the figures and the ratios (the machine may be
# shared: compare ratios across runs).
#
# usage: bench/cluster.sh [WORKDIR]
#   BURST (10000 learns), LATENCY (200 learns), RATE (200 msg/s), N (4000
#   messages per milterload run), CONC (8) can be set in the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tools=${SLUICE_TOOLS:-$root/../shared/tools}
work=${1:-$(mktemp -d)}
burst=${BURST:-10000} latency=${LATENCY:-200} rate=${RATE:-200} n=${N:-4000} conc=${CONC:-8}
mkdir -p "$work"
[ -f "$work/corpus/test.list" ] || "$here/corpus-lists.sh" "$work/corpus" 2>/dev/null
train=$work/corpus/train.list test=$work/corpus/test.list

(cd "$root" && go build -o "$work/sluice" ./cmd/sluice && go build -o "$work/clusterbench" ./bench/clusterbench)
(cd "$tools/milterload" && go build -o "$work/milterload" .)
sluice=$work/sluice

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
waitfor() { # FILE TEXT: until FILE holds TEXT (at most 30s)
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no '$2' in $1" >&2; cat "$1" >&2; return 1
}

cp=() rp=()
for i in 1 2 3; do cp[$i]=$(port); rp[$i]=$(port); done
sockets=()
for i in 1 2 3; do
  d=$work/host$i; rm -rf "$d"; mkdir -p "$d/data"
  routes=""
  for j in 1 2 3; do [ "$j" = "$i" ] || routes="$routes 127.0.0.1:${rp[$j]}"; done
  cat >"$d/sluice.toml" <<TOML
data_dir = "$d/data"
[learner]
socket = "$d/learner.sock"
http_listen = ""
[neural]
enabled = false
[cluster]
enabled = true
site = "bench"
origin = "host$i"
listen = "inet:127.0.0.1:${cp[$i]}"
cluster_listen = "inet:127.0.0.1:${rp[$i]}"
routes = "$routes"
snapshot_interval = "0s"
TOML
  "$sluice" learner --config "$d/sluice.toml" 2>"$d/learner.log" &
  pids+=($!)
  sockets+=("$d/learner.sock")
done
for i in 1 2 3; do waitfor "$work/host$i/learner.log" "learner listening"; done

mp=$(port)
"$sluice" milter --config "$work/host2/sluice.toml" --listen "inet:127.0.0.1:$mp" 2>"$work/milter.log" &
milter_pid=$!; pids+=("$milter_pid")
waitfor "$work/milter.log" "listening"

load() { # NAME
  "$work/milterload" -addr "inet:127.0.0.1:$mp" -files "$test" -macros -shuffle 1 \
    -n "$n" -c "$conc" -rate "$rate" -watch "$milter_pid" -json >"$work/$1.json"
}
socks=$(IFS=,; echo "${sockets[*]}")
# Latency (and a first stream, so that scans have statistics to read).
"$work/clusterbench" -sockets "$socks" -nats "nats://127.0.0.1:${cp[1]}" -files "$train" -latency "$latency" -burst 0 | tee "$work/latency.txt"
"$work/milterload" -addr "inet:127.0.0.1:$mp" -files "$test" -macros -n 300 -c "$conc" -rate "$rate" -json >/dev/null # warm-up
load idle
"$work/clusterbench" -sockets "$socks" -nats "nats://127.0.0.1:${cp[1]}" -files "$train" -latency 0 -burst "$burst" >"$work/burst.txt" &
bench_pid=$!
load burst
wait "$bench_pid"
cat "$work/burst.txt"

python3 - "$work" "$rate" "$conc" "$n" <<'PY'
import json, sys
work, rate, conc, n = sys.argv[1:5]
print(f"milter on host 2 under milterload: {rate} msg/s target, c={conc}, {n} messages per run")
print(f"{'run':<6} {'msg/s':>7} {'errors':>6} {'p50 EOM ms':>10} {'p99 EOM ms':>10} {'CPU ms/msg':>10}")
row = {}
for name in ("idle", "burst"):
    d = json.load(open(f"{work}/{name}.json"))
    eom = d["eom_latency"]
    cpu = (d.get("server") or {}).get("cpu_ms_per_msg", float("nan"))
    row[name] = (eom["p50_ms"], eom["p99_ms"])
    print(f"{name:<6} {d['msgs_per_s']:>7.0f} {d['errors']:>6} {eom['p50_ms']:>10.2f} {eom['p99_ms']:>10.2f} {cpu:>10.3f}")
(i50, i99), (b50, b99) = row["idle"], row["burst"]
print(f"{'ratio':<6} {'':>7} {'':>6} {b50/i50:>9.2f}x {b99/i99:>9.2f}x   (during the burst / cluster idle)")
PY
