#!/usr/bin/env bash
# A deployment replay: what a site running `sluice serve` with its defaults
# gets on the public SpamAssassin corpus, not what `sluice eval` computes.
# Starts serve (embedded defaults, a fresh data directory, free loopback
# ports), then bench/replay (the driver, see its doc comment) sends the
# train split in batches, each first through the milter with
# ../shared/tools/milterload, then learned through the running learner
# with `sluice learn`, so the network trains live; then the test split
# through the milter, judged by the X-Spam-Score header and the action.
# Prints (1-AUC)% and FN at FP <= 0.1% of the header scores (evalstats),
# FP and FN at the default actions, the network epoch in service and the
# time taken. Waits for the learner by polling serve's /metrics and
# `sluice stat --json` (bounded), never by sleeping a fixed time.
#
# usage: bench/replay.sh [WORKDIR]
#   BATCHES (10), CONC (8 milter connections), RATE (0: full speed),
#   ORDER (md5: a fixed shuffle; list: as listed), LEARN_EACH (1: one
#   `sluice learn` per message, in order) can be set. CONC=1 LEARN_EACH=1
#   gives the same figures on every run; by default the order in which
#   scan records and learns reach the network's pools varies, and so do
#   the networks trained (bench/README.md has the spread).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tools=${SLUICE_TOOLS:-$root/../shared/tools}
work=${1:-$(mktemp -d)}
batches=${BATCHES:-10} conc=${CONC:-8} rate=${RATE:-0} order=${ORDER:-md5}
each=()
[ "${LEARN_EACH:-0}" = 1 ] && each=(-learn-each)
mkdir -p "$work"
work=$(cd "$work" && pwd)

[ -f "$work/corpus/test.list" ] || "$here/corpus-lists.sh" "$work/corpus" 2>/dev/null
(cd "$root" && go build -o "$work/sluice" ./cmd/sluice && go build -o "$work/replay" ./bench/replay)
(cd "$tools/milterload" && go build -o "$work/milterload" .)

data=$work/sluice-data
rm -rf "$data" "$work"/train-*.tsv "$work"/train-*.log "$work"/test-*.tsv "$work"/test-*.log
mapfile -t ports < <("$work/replay" -free-ports 3)
mp=${ports[0]} sp=${ports[1]} hp=${ports[2]}

serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$work/sluice" serve --data-dir "$data" --listen "inet:127.0.0.1:$mp" \
  --spamd-listen "inet:127.0.0.1:$sp" --http "inet:127.0.0.1:$hp" 2>"$work/serve.log" &
serve_pid=$!

waitport() { # PORT: until something listens there (at most 30s) while serve runs
  for _ in $(seq 300); do
    kill -0 "$serve_pid" 2>/dev/null || { echo "sluice serve ended; see $work/serve.log" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1; see $work/serve.log" >&2
  return 1
}
waitport "$mp"
waitport "$hp"

"$work/replay" -sluice "$work/sluice" -milterload "$work/milterload" -data-dir "$data" \
  -milter "inet:127.0.0.1:$mp" -metrics "http://127.0.0.1:$hp/metrics" \
  -train "$work/corpus/train.list" -test "$work/corpus/test.list" -work "$work" \
  -batches "$batches" -c "$conc" -rate "$rate" -order "$order" "${each[@]}" | tee "$work/replay.txt"

# Stop serve and check it stopped cleanly.
kill -TERM "$serve_pid"
status=0
wait "$serve_pid" || status=$?
serve_pid=
if [ "$status" -ne 0 ]; then
  echo "sluice serve exited $status; see $work/serve.log" >&2
  exit 1
fi
echo "work files (milterload logs, test-scores.tsv, serve.log): $work"
