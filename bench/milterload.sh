#!/usr/bin/env bash
# The milter under load, against a milter that does nothing, in one run on
# one machine: builds Sluice, trains it on the train split of the public
# SpamAssassin corpus (bench/corpus-lists.sh), then drives `sluice milter`
# and ../shared/tools/noopmilter (the same go-milter v0.5.0, adding one
# header) with ../shared/tools/milterload at a fixed rate, Postfix-like
# (one connection per message, macros, every header its own packet), on
# the test split shuffled. Prints end-of-message latency (p50, p99), CPU
# per message of each milter process, and Sluice's figures over the no-op's
# (the machine may be shared: the ratios are what to compare across runs).
#
# usage: bench/milterload.sh [WORKDIR]
#   RATE (500 msg/s), CONC (16 connections), N (6000 messages per round),
#   ROUNDS (1: noop then sluice, repeated) can be set in the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tools=${SLUICE_TOOLS:-$root/../shared/tools}
work=${1:-$(mktemp -d)}
rate=${RATE:-500} conc=${CONC:-16} n=${N:-6000} rounds=${ROUNDS:-1}
mkdir -p "$work"

[ -f "$work/corpus/test.list" ] || "$here/corpus-lists.sh" "$work/corpus" 2>/dev/null
train=$work/corpus/train.list test=$work/corpus/test.list
grep '^spam' "$train" | cut -f2 >"$work/train-spam.files"
grep '^ham' "$train" | cut -f2 >"$work/train-ham.files"

(cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
(cd "$tools/milterload" && go build -o "$work/milterload" .)
(cd "$tools/noopmilter" && go build -o "$work/noopmilter" .)
sluice=$work/sluice

data=$work/sluice-data
rm -rf "$data"
xargs -a "$work/train-spam.files" "$sluice" learn --data-dir "$data" spam >/dev/null
xargs -a "$work/train-ham.files" "$sluice" learn --data-dir "$data" ham >/dev/null

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

waitport() { # PORT: until something listens there (at most 10s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

np=$(port)
"$work/noopmilter" -listen "127.0.0.1:$np" 2>"$work/noopmilter.log" &
noop_pid=$!; pids+=("$noop_pid")
sp=$(port)
"$sluice" milter --data-dir "$data" --listen "inet:127.0.0.1:$sp" 2>"$work/sluice-milter.log" &
sluice_pid=$!; pids+=("$sluice_pid")
waitport "$np"; waitport "$sp"

load() { # NAME PORT PID ROUND
  "$work/milterload" -addr "inet:127.0.0.1:$2" -files "$test" -macros -shuffle 1 \
    -n "$n" -c "$conc" -rate "$rate" -watch "$3" -json >"$work/$1.$4.json"
}
for r in $(seq "$rounds"); do
  # A short warm-up for each (page cache, statfile mapping), not measured.
  "$work/milterload" -addr "inet:127.0.0.1:$np" -files "$test" -macros -n 300 -c "$conc" -rate "$rate" -json >/dev/null
  "$work/milterload" -addr "inet:127.0.0.1:$sp" -files "$test" -macros -n 300 -c "$conc" -rate "$rate" -json >/dev/null
  load noop "$np" "$noop_pid" "$r"
  load sluice "$sp" "$sluice_pid" "$r"
done

python3 - "$work" "$rounds" "$rate" "$conc" "$n" <<'PY'
import json, sys
work, rounds, rate, conc, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
print(f"milterload: {rate} msg/s target, c={conc}, {n} messages per run, test split shuffled, one connection per message")
print(f"{'round':>5} {'milter':<7} {'msg/s':>7} {'errors':>6} {'p50 EOM ms':>10} {'p99 EOM ms':>10} {'CPU ms/msg':>10}")
for r in range(1, rounds + 1):
    row = {}
    for name in ("noop", "sluice"):
        d = json.load(open(f"{work}/{name}.{r}.json"))
        eom = d["eom_latency"]
        cpu = (d.get("server") or {}).get("cpu_ms_per_msg", float("nan"))
        row[name] = (eom["p50_ms"], eom["p99_ms"], cpu)
        print(f"{r:>5} {name:<7} {d['msgs_per_s']:>7.0f} {d['errors']:>6} {eom['p50_ms']:>10.2f} {eom['p99_ms']:>10.2f} {cpu:>10.3f}")
    (n50, n99, ncpu), (s50, s99, scpu) = row["noop"], row["sluice"]
    print(f"{r:>5} {'ratio':<7} {'':>7} {'':>6} {s50/n50:>9.2f}x {s99/n99:>9.2f}x {scpu/ncpu:>9.2f}x")
PY
