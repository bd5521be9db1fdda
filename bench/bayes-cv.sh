#!/usr/bin/env bash
# Bayes alone under 4-fold cross-validation, for one classifier setting:
# on the fold lists that bench/crossval.sh wrote (WORKDIR/cv-raw and
# WORKDIR/cv-stripped, fold$k.train and fold$k.test), `sluice eval` with a
# configuration whose [classifier] table holds the SETTINGs, per fold and
# condition: (1-AUC)% / FN at FP <= 0.1% by score, and the means. About
# 20 s a setting on the shared 2-core machine (no network is trained: use
# CONFIG=WORKDIR/bayes-cv/NAME/config.toml bench/neural-cv.sh for that).
#
# usage: bench/bayes-cv.sh WORKDIR NAME [SETTING...]   (SLUICE=binary to skip the build)
#   e.g. bench/bayes-cv.sh /tmp/cv strength-0.45 'min_prob_strength = 0.45'
# One line per run is appended to WORKDIR/bayes-cv/results.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
work=$(cd "$1" && pwd) name=$2
shift 2
bin=${SLUICE:-}
if [ -z "$bin" ]; then
  (cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
  bin=$work/sluice
fi
out=$work/bayes-cv/$name
mkdir -p "$out"
{ echo "[classifier]"; for s in "$@"; do echo "$s"; done; } >"$out/config.toml"
line=$name
for cond in raw stripped; do
  cells= sa=0 sf=0
  for k in 0 1 2 3; do
    d=$work/cv-$cond
    rm -rf "$out/data"
    "$bin" eval --config "$out/config.toml" --data-dir "$out/data" --train "$d/fold$k.train" --test "$d/fold$k.test" >"$out/$cond$k.report"
    a=$(sed -n 's/^(1-AUC)%: *//p' "$out/$cond$k.report")
    b=$(sed -n 's/^FN rate at FP rate <= 0.100%: \([0-9.]*\)%.*/\1/p' "$out/$cond$k.report")
    cells="$cells $a / $b% |"
    sa=$(awk -v s="$sa" -v x="$a" 'BEGIN{print s + x}') sf=$(awk -v s="$sf" -v x="$b" 'BEGIN{print s + x}')
  done
  rm -rf "$out/data"
  line="$line | $cond |$cells $(awk -v a="$sa" -v f="$sf" 'BEGIN{printf "%.4f / %.2f%%", a / 4, f / 4}')"
done
echo "$line" | tee -a "$work/bayes-cv/results.txt"
