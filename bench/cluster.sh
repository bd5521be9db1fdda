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
# host 2 applies. Then the baseline without the cluster: the cluster is
# stopped, one `sluice learner` without [cluster] starts on a fresh data
# directory, takes the same learns in the same order (clusterbench
# -standalone: the latency phase's, then the burst), and a milter on its
# statfile is measured the same way, idle and during the burst. Prints the
# figures, the ratios (the machine may be shared: compare ratios across
# runs), the milter's EOM latency over the scans sent while the burst was
# being applied (the burst may end before the milterload run does), and
# the CPU every process used during the milterload run of the burst.
#
# usage: bench/cluster.sh [WORKDIR]
#   BURST (10000 learns), LATENCY (200 learns), RATE (200 msg/s), N (4000
#   messages per milterload run), CONC (8) can be set in the environment.
#   PIN=1 pins with taskset: host 2's learner (or the standalone learner)
#   and the milter to CPU 1, hosts 1 and 3, milterload and clusterbench to
#   CPU 0, as if host 2 had a machine (of one core) to itself.
#   OTHERS=idle runs hosts 1 and 3 (which on a site are other machines)
#   under SCHED_IDLE and the idle I/O class (chrt --idle 0, ionice -c3):
#   they get only the CPU that host 2, its milter and the load tools leave
#   unused, so what the milter sees is what host 2 itself costs it.
#   LEARNER_NICE=N runs host 2's learner and the standalone learner under
#   nice -n N, as a systemd unit's Nice= would (the milter stays at 0).
#   CONTROL=1 keeps the three hosts running, all under SCHED_IDLE, through
#   the standalone phase and sends them a second burst while the
#   standalone learner takes its own: the standalone milter then shares
#   the box with the same other-host work as host 2's milter did, so the
#   difference left is what being a cluster host costs host 2 itself.
#   PROFILE=1 writes CPU profiles of host 2's learner and of the standalone
#   learner (WORKDIR/host2.cpu, alone.cpu; go tool pprof).
#   ALONE_RATE=match paces the standalone burst at the rate host 2 of the
#   cluster applied it (learns/s), so both milters see the same learns per
#   second; unset, the standalone learner takes them as fast as it can.
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
pin0=() pin1=()
if [ "${PIN:-0}" = 1 ]; then pin0=(taskset -c 0) pin1=(taskset -c 1); fi
pinhost() { if [ "$1" = 2 ]; then echo 1; else echo 0; fi; }
others=()
if [ "${OTHERS:-}" = idle ]; then others=(chrt --idle 0 ionice -c3); fi
# under_test NAME CMD...: CMD as the learner the milter shares its machine
# with (host 2, or the standalone learner), under LEARNER_NICE and with
# PROFILE's CPU profile WORKDIR/NAME.cpu. Run it with &: it execs, so $!
# is the learner's PID.
under_test() {
  local name=$1 pre=()
  shift
  if [ -n "${LEARNER_NICE:-}" ]; then pre+=(nice -n "$LEARNER_NICE"); fi
  if [ "${PROFILE:-0}" = 1 ]; then pre+=(env SLUICE_CPUPROFILE="$work/$name.cpu"); fi
  exec "${pre[@]}" "$@"
}
# learner_toml DIR: the [learner] and [neural] settings every learner here has.
learner_toml() {
  cat <<TOML
data_dir = "$1/data"
[learner]
socket = "$1/learner.sock"
http_listen = ""
[neural]
enabled = false
TOML
}

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
waitfor() { # FILE TEXT: until FILE holds TEXT (at most 30s)
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no '$2' in $1" >&2; cat "$1" >&2; return 1
}

cp=() rp=() lpid=()
for i in 1 2 3; do cp[i]=$(port); rp[i]=$(port); done
sockets=()
for i in 1 2 3; do
  d=$work/host$i; rm -rf "$d"; mkdir -p "$d/data"
  routes=""
  for j in 1 2 3; do [ "$j" = "$i" ] || routes="$routes 127.0.0.1:${rp[$j]}"; done
  { learner_toml "$d"; cat <<TOML
[cluster]
enabled = true
site = "bench"
origin = "host$i"
listen = "inet:127.0.0.1:${cp[$i]}"
cluster_listen = "inet:127.0.0.1:${rp[$i]}"
routes = "$routes"
snapshot_interval = "0s"
TOML
  } >"$d/sluice.toml"
  pin=()
  if [ "${PIN:-0}" = 1 ]; then pin=(taskset -c "$(pinhost $i)"); fi
  if [ "$i" = 2 ]; then
    under_test host2 "${pin[@]}" "$sluice" learner --config "$d/sluice.toml" 2>"$d/learner.log" &
  else
    "${others[@]}" "${pin[@]}" "$sluice" learner --config "$d/sluice.toml" 2>"$d/learner.log" &
  fi
  pids+=($!) lpid[i]=$!
  sockets+=("$d/learner.sock")
done
for i in 1 2 3; do waitfor "$work/host$i/learner.log" "learner listening"; done


# cpu PID...: utime+stime of each process in clock ticks, and the machine's busy ticks.
cpu() {
  for p in "$@"; do awk '{print $14+$15}' "/proc/$p/stat"; done
  awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat
}
startmilter() { # CONFIG LOG
  mp=$(port)
  "${pin1[@]}" "$sluice" milter --config "$1" --listen "inet:127.0.0.1:$mp" 2>"$2" &
  milter_pid=$!; pids+=("$milter_pid")
  waitfor "$2" "listening"
}
load() { # NAME
  date +%s%3N >"$work/$1.start"
  "${pin0[@]}" "$work/milterload" -addr "inet:127.0.0.1:$mp" -files "$test" -macros -shuffle 1 \
    -n "$n" -c "$conc" -rate "$rate" -watch "$milter_pid" -json -log "$work/$1.tsv" >"$work/$1.json"
}
warmup() { "${pin0[@]}" "$work/milterload" -addr "inet:127.0.0.1:$mp" -files "$test" -macros -n 300 -c "$conc" -rate "$rate" -json >/dev/null; }

# The cluster: a milter on host 2's statfile.
startmilter "$work/host2/sluice.toml" "$work/milter.log"
socks=$(IFS=,; echo "${sockets[*]}")
# Latency (and a first stream, so that scans have statistics to read).
"${pin0[@]}" "$work/clusterbench" -sockets "$socks" -nats "nats://127.0.0.1:${cp[1]}" -files "$train" -latency "$latency" -burst 0 | tee "$work/latency.txt"
warmup
load idle
cpu "${lpid[1]}" "${lpid[2]}" "${lpid[3]}" "$milter_pid" >"$work/cpu0"; t0=$(date +%s%3N)
"${pin0[@]}" "$work/clusterbench" -sockets "$socks" -nats "nats://127.0.0.1:${cp[1]}" -files "$train" -latency 0 -burst "$burst" >"$work/burst.txt" &
bench_pid=$!
load burst
cpu "${lpid[1]}" "${lpid[2]}" "${lpid[3]}" "$milter_pid" >"$work/cpu1"; echo $(($(date +%s%3N) - t0)) >"$work/cpu.ms"
wait "$bench_pid"
grep -v '^BURST_' "$work/burst.txt"

# Without the cluster: the same learns into one learner on a fresh data
# directory, a milter on its statfile.
if [ "${CONTROL:-0}" = 1 ]; then
  kill "$milter_pid"; wait "$milter_pid" 2>/dev/null || true
  chrt --all-tasks --idle -p 0 "${lpid[2]}" >/dev/null; ionice -c3 -p "${lpid[2]}"
else
  for p in "${lpid[1]}" "${lpid[2]}" "${lpid[3]}" "$milter_pid"; do kill "$p"; wait "$p" 2>/dev/null || true; done
fi
d=$work/alone; rm -rf "$d"; mkdir -p "$d/data"
learner_toml "$d" >"$d/sluice.toml"
under_test alone "${pin1[@]}" "$sluice" learner --config "$d/sluice.toml" 2>"$d/learner.log" &
alone_pid=$!; pids+=("$alone_pid")
waitfor "$d/learner.log" "learner listening"
startmilter "$d/sluice.toml" "$d/milter.log"
"${pin0[@]}" "$work/clusterbench" -standalone -sockets "$d/learner.sock" -files "$train" -latency "$latency" -burst 0 | tee "$work/alone-latency.txt"
warmup
load alone-idle
noise=()
if [ "${CONTROL:-0}" = 1 ]; then
  noise=("${lpid[1]}" "${lpid[2]}" "${lpid[3]}")
  chrt --idle 0 ionice -c3 "${pin0[@]}" "$work/clusterbench" -sockets "$socks" -nats "nats://127.0.0.1:${cp[1]}" -files "$train" -latency 0 -burst "$burst" >"$work/noise-burst.txt" &
  noise_pid=$!
fi
cpu "$alone_pid" "$milter_pid" "${noise[@]}" >"$work/alone-cpu0"; t0=$(date +%s%3N)
alone_rate=0
if [ "${ALONE_RATE:-}" = match ]; then
  alone_rate=$(awk -v n="$burst" '/^burst: host 2 applied all in/{print n / $7}' "$work/burst.txt")
  echo "standalone burst paced at host 2's rate: $alone_rate learns/s"
fi
"${pin0[@]}" "$work/clusterbench" -standalone -sockets "$d/learner.sock" -files "$train" -latency 0 -burst "$burst" -burst-rate "$alone_rate" >"$work/alone-burst.txt" &
bench_pid=$!
load alone-burst
cpu "$alone_pid" "$milter_pid" "${noise[@]}" >"$work/alone-cpu1"; echo $(($(date +%s%3N) - t0)) >"$work/alone-cpu.ms"
wait "$bench_pid"
grep -v '^BURST_' "$work/alone-burst.txt"
if [ "${CONTROL:-0}" = 1 ]; then
  wait "$noise_pid"
  echo "the other hosts' burst meanwhile (all three under SCHED_IDLE):"; grep -v '^BURST_' "$work/noise-burst.txt"
fi

python3 - "$work" "$rate" "$conc" "$n" "${CONTROL:-0}" <<'PY'
import json, sys
work, rate, conc, n, control = sys.argv[1:6]
rate = float(rate)

def pct(xs, p):
    xs = sorted(xs)
    return xs[int(p * (len(xs) - 1))] if xs else float("nan")

def marks(name):
    start, applied = None, {}
    for line in open(f"{work}/{name}.txt"):
        f = line.split()
        if f and f[0] == "BURST_START":
            start = int(f[1])
        elif f and f[0] == "BURST_APPLIED":
            applied[int(f[1])] = int(f[2])
    return start, applied

def run(name, window=None):
    """p50, p99 EOM ms over the run, or over the scans scheduled in window (Unix ms)."""
    d = json.load(open(f"{work}/{name}.json"))
    t0 = int(open(f"{work}/{name}.start").read())
    eoms = []
    for line in list(open(f"{work}/{name}.tsv"))[1:]:
        f = line.rstrip("\n").split("\t")
        sched = t0 + int(f[0]) * 1000 / rate
        if f[7] == "" and (window is None or window[0] <= sched <= window[1]):
            eoms.append(float(f[4]))
    cpu = (d.get("server") or {}).get("cpu_ms_per_msg", float("nan"))
    return dict(rate=d["msgs_per_s"], errors=d["errors"], n=len(eoms), p50=pct(eoms, .5), p99=pct(eoms, .99), cpu=cpu)

cs, ca = marks("burst")
ss, sa = marks("alone-burst")
rows = {
    "cluster idle": run("idle"),
    "cluster burst, whole run": run("burst"),
    "cluster burst, while host 2 applied": run("burst", (cs, ca[2])),
    "alone idle": run("alone-idle"),
    "alone burst, whole run": run("alone-burst"),
    "alone burst, while it applied": run("alone-burst", (ss, sa[1])),
}
print(f"milter under milterload: {rate:g} msg/s target, c={conc}, {n} messages per run")
print(f"burst applied: on host 2 of the cluster in {(ca[2]-cs)/1000:.1f} s, by the learner alone in {(sa[1]-ss)/1000:.1f} s")
print(f"{'run':<37} {'msg/s':>6} {'err':>4} {'scans':>5} {'p50 EOM ms':>10} {'p99 EOM ms':>10} {'CPU ms/msg':>10}")
for k, r in rows.items():
    print(f"{k:<37} {r['rate']:>6.0f} {r['errors']:>4} {r['n']:>5} {r['p50']:>10.2f} {r['p99']:>10.2f} {r['cpu']:>10.3f}")
def ratio(a, b, what):
    x, y = rows[a], rows[b]
    print(f"ratio p50 {x['p50']/y['p50']:.2f}x, p99 {x['p99']/y['p99']:.2f}x: {what}")
ratio("alone burst, while it applied", "alone idle", "burst without the cluster / idle without")
ratio("cluster burst, while host 2 applied", "cluster idle", "burst with the cluster / cluster idle")
ratio("cluster burst, while host 2 applied", "alone burst, while it applied", "burst with the cluster / burst without")

def cpu(prefix, names):
    a = [int(x) for x in open(f"{work}/{prefix}cpu0").read().split()]
    b = [int(x) for x in open(f"{work}/{prefix}cpu1").read().split()]
    ms = int(open(f"{work}/{prefix}cpu.ms").read())
    parts = []
    for name, x, y in zip(names + ["machine (busy, all cores)"], a, b):
        parts.append(f"{name} {(y-x)/100:.1f} s ({(y-x)*10/ms*100:.0f}% of a core)")
    print(f"CPU during the {ms/1000:.1f} s of the {prefix}burst milterload run: " + ", ".join(parts))
cpu("", ["learner+broker 1", "learner+broker 2", "learner+broker 3", "milter"])
cpu("alone-", ["learner", "milter"] + (["idle host 1", "idle host 2", "idle host 3"] if control == "1" else []))
PY
