#!/usr/bin/env bash
# The neural network under 4-fold cross-validation: for each fold list
# that bench/crossval.sh wrote (WORKDIR/cv-raw and WORKDIR/cv-stripped,
# fold$k.train and fold$k.test), `sluice eval --nn` trains the network on
# out-of-fold verdicts of the fold's train part only (4 inner folds) and
# scores the fold's test part by score alone, without and with the
# network; one line per fold and condition, then the means.
#
# usage: bench/neural-cv.sh WORKDIR [SLUICE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=$1
bin=${2:-}
if [ -z "$bin" ]; then
  (cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
  bin=$work/sluice
fi
echo "| condition | fold | Bayes alone (1-AUC)% / FN at FP ≤ 0.1% | Bayes + network | FP / FN at add_header with the network |"
echo "| --- | ---: | ---: | ---: | ---: |"
for cond in raw stripped; do
  for k in 0 1 2 3; do
    d=$work/cv-$cond
    [ -f "$d/fold$k.train" ] || continue
    "$bin" eval --nn --nn-folds 4 --json --train "$d/fold$k.train" --test "$d/fold$k.test" >"$d/nn$k.json" 2>/dev/null
    python3 - "$cond" "$k" "$d/nn$k.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[3]))
w, n = r["without_network"], r["with_network"]
f = lambda x: "%.4f / %.2f%%" % (x["one_minus_auc_percent"], 100 * x["fn_rate_at_fpr"])
print("| %s | %s | %s | %s | %.2f%% / %.2f%% |" % (sys.argv[1], sys.argv[2], f(w), f(n), 100 * n["fp_rate"], 100 * n["fn_rate"]))
PY
  done
done
