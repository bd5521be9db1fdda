#!/usr/bin/env bash
# The neural network under 4-fold cross-validation: for each fold list
# that bench/crossval.sh wrote (WORKDIR/cv-raw and WORKDIR/cv-stripped,
# fold$k.train and fold$k.test), `sluice eval --nn` trains the network on
# leave-one-out verdicts of the fold's train part only (NN_FOLDS=4: on
# out-of-fold verdicts of 4 inner folds, as before 2026-12-05) and scores
# the fold's test part by score alone, without and with the network; one
# line per fold and condition, then the means.
#
# usage: [NN_FOLDS=k] [NN_SEED=n] [CONFIG=FILE] bench/neural-cv.sh WORKDIR [SLUICE]
#   NN_SEED the network's training seed (default 1; the network moves with
#           it, so compare candidates over several seeds)
#   CONFIG  a Sluice configuration for eval (e.g. other classifier settings)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=$1
bin=${2:-}
if [ -z "$bin" ]; then
  (cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
  bin=$work/sluice
fi
cfg=()
[ -n "${CONFIG:-}" ] && cfg=(--config "$CONFIG")
echo "| condition | fold | Bayes alone (1-AUC)% / FN at FP ≤ 0.1% | Bayes + network | FP / FN at add_header with the network |"
echo "| --- | ---: | ---: | ---: | ---: |"
for cond in raw stripped; do
  for k in 0 1 2 3; do
    d=$work/cv-$cond
    [ -f "$d/fold$k.train" ] || continue
    "$bin" eval "${cfg[@]}" --nn --nn-folds "${NN_FOLDS:-0}" --nn-seed "${NN_SEED:-1}" --json --train "$d/fold$k.train" --test "$d/fold$k.test" >"$d/nn$k.json" 2>/dev/null
    python3 - "$cond" "$k" "$d/nn$k.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[3]))
w, n = r["without_network"], r["with_network"]
f = lambda x: "%.4f / %.2f%%" % (x["one_minus_auc_percent"], 100 * x["fn_rate_at_fpr"])
print("| %s | %s | %s | %s | %.2f%% / %.2f%% |" % (sys.argv[1], sys.argv[2], f(w), f(n), 100 * n["fp_rate"], 100 * n["fn_rate"]))
PY
  done
  python3 - "$cond" "$work/cv-$cond" <<'PY'
import json, os, sys
rs = [json.load(open(os.path.join(sys.argv[2], "nn%d.json" % k))) for k in range(4) if os.path.exists(os.path.join(sys.argv[2], "nn%d.json" % k))]
if rs:
    m = lambda key, fig: sum(r[key][fig] for r in rs) / len(rs)
    f = lambda key: "%.4f / %.2f%%" % (m(key, "one_minus_auc_percent"), 100 * m(key, "fn_rate_at_fpr"))
    print("| %s | mean | %s | %s | %.2f%% / %.2f%% |" % (sys.argv[1], f("without_network"), f("with_network"), 100 * m("with_network", "fp_rate"), 100 * m("with_network", "fn_rate")))
PY
done
