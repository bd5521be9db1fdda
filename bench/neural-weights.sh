#!/usr/bin/env bash
# How the NEURAL_SPAM/NEURAL_HAM weights trade false positives for false
# negatives at the add-header threshold, measured without touching the
# test split: the train split is cut again by the first hex digit of the
# MD5 in each file name (0-c: fit, d-f: validation); `sluice eval --nn`
# learns Bayes and trains the network on the fit part, scores the
# validation part once per weight, and one table gives FP and FN at the
# add-header threshold and (1-AUC)% for each weight.
#
# usage: bench/neural-weights.sh [WORKDIR] [WEIGHT...]   (default 5 6 7 9)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=${1:-$(mktemp -d)}
shift || true
weights=${*:-5 6 7 9}
mkdir -p "$work"

"$here/corpus-lists.sh" "$work/corpus" 2>/dev/null
fit=$work/fit.list val=$work/validation.list
awk -F'\t' -v fit="$fit" -v val="$val" '{
  n = split($2, p, "/"); split(p[n], q, "."); c = substr(q[2], 1, 1)
  if (c ~ /[d-f]/) print > val; else print > fit
}' "$work/corpus/train.list"

(cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
figure() { sed -n "/$2/,\$p" "$1" | sed -n "s/^$3[^:]*: *//p" | head -1; }

printf '| spam_weight = -ham_weight | FP at add_header | FN at add_header | (1-AUC)%% |\n| ---: | ---: | ---: | ---: |\n'
for w in $weights; do
  printf '[neural]\nspam_weight = %s\nham_weight = -%s\n' "$w" "$w" >"$work/w$w.toml"
  out=$work/eval-$w.txt
  "$work/sluice" eval --nn --config "$work/w$w.toml" --data-dir "$work/data-$w" --train "$fit" --test "$val" >"$out" 2>&1
  at=$(figure "$out" "with the network" "at threshold")
  fp=$(sed -n 's/.*FP [0-9]* (\([0-9.]*%\).*/\1/p' <<<"$at")
  fn=$(sed -n 's/.*FN [0-9]* (\([0-9.]*%\).*/\1/p' <<<"$at")
  printf '| %s | %s | %s | %s |\n' "$w" "$fp" "$fn" "$(figure "$out" "with the network" "(1-AUC)%")"
done
