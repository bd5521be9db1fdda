#!/usr/bin/env bash
# 4-fold cross-validation of Sluice and Debian's bogofilter over the whole
# public SpamAssassin corpus (6,046 messages), in one run. Fold k holds the
# messages whose MD5 (in the file name) starts with a hex digit in
# 0-3, 4-7, 8-b or c-f; each fold is scored by a filter trained on the
# other three. Two conditions:
#
#   raw       the messages as collected;
#   stripped  the same messages with the collectors' relay and delivery
#             fields removed (see strip below), so that neither filter can
#             learn where the corpus was collected.
#
# Per fold and mean: (1-AUC)% and the FN rate at FP <= 0.1% (both from
# `sluice eval`, which also scores bogofilter's output with --report).
#
# usage: bench/crossval.sh [--config FILE] [--bin SLUICE] [--only raw|stripped] [WORKDIR]
#   --config  Sluice configuration for eval (e.g. another tokenizer window)
#   --bin     a sluice binary to use instead of building this tree
#   --only    run one condition
#   --no-bogo skip bogofilter (its figures do not change with Sluice's)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
config= bin= only= bogo=1
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-bogo) bogo=; shift ;;
    -*) echo "crossval.sh: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)

if [ -n "$bogo" ] && ! command -v bogofilter >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq bogofilter >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bogofilter >/dev/null; }
fi

[ -f "$work/corpus/train.list" ] || "$here/corpus-lists.sh" "$work/corpus" 2>/dev/null
if [ -z "$bin" ]; then
  (cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
  bin=$work/sluice
fi
evalflags=()
[ -n "$config" ] && evalflags=(--config "$config")

# strip removes from the top-level header (continuation lines included) the
# fields a receiving site adds: the mbox "From " line, Received,
# Return-Path, Delivered-To, X-Original-To, Envelope-To, Delivery-Date,
# X-Envelope-*, X-Rcpt-To, X-Spam-*, X-Virus-*, X-Bogosity, X-Greylist,
# Authentication-Results, Received-SPF, X-Received, ARC-*, X-Rspamd-*,
# X-Sluice-*, X-Authentication-Warning, X-MailScanner, X-UCSC-CATS-MailScanner,
# X-Delivery-Agent, and the mail stores' Status, X-Status, X-Keywords,
# X-UID, X-UIDL, X-IMAP, X-Mozilla-Status*, Lines, Content-Length.
strip() { # src dst
  awk '
    BEGIN { hdr = 1; drop = 0; IGNORECASE = 1 }
    FNR == 1 && /^>?From / { next }
    hdr && /^\r?$/ { hdr = 0 }
    !hdr { print; next }
    /^[ \t]/ { if (!drop) print; next }
    {
      name = tolower($0); sub(/[ \t]*:.*/, "", name)
      drop = name ~ /^(received|return-path|delivered-to|x-original-to|envelope-to|delivery-date|x-envelope-.*|x-rcpt-to|x-spam.*|x-virus.*|x-bogosity|x-greylist|authentication-results|received-spf|x-received|arc-.*|x-rspamd.*|x-sluice.*|x-authentication-warning|x-mailscanner|x-ucsc-cats-mailscanner|x-delivery-agent|status|x-status|x-keywords|x-uid|x-uidl|x-imap|x-mozilla-status.*|lines|content-length)$/
      if (!drop) print
    }' "$1" >"$2"
}

all=$work/all.list
cat "$work/corpus/train.list" "$work/corpus/test.list" | sort -t/ -k2 >"$all"
if [ ! -f "$work/stripped/all.list" ]; then
  mkdir -p "$work/stripped"
  : >"$work/stripped/all.list.tmp"
  while IFS=$'\t' read -r class path; do
    dst=$work/stripped/${path##*/spamassassin/}
    mkdir -p "${dst%/*}"
    strip "$path" "$dst"
    printf '%s\t%s\n' "$class" "$dst" >>"$work/stripped/all.list.tmp"
  done <"$all"
  mv "$work/stripped/all.list.tmp" "$work/stripped/all.list"
fi

folds=(0-3 4-7 8-b c-f)
figure() { sed -n "s/^(1-AUC)%: *//p" "$1" | head -1; }
fnrate() { sed -n 's/^FN rate at FP rate <= 0.100%: \([0-9.]*\)%.*/\1/p' "$1" | head -1; }

run() { # condition list
  local cond=$1 list=$2 dir=$work/cv-$1 k f tr te
  mkdir -p "$dir"
  for k in 0 1 2 3; do
    f=${folds[$k]}
    te=$dir/fold$k.test tr=$dir/fold$k.train
    awk -F'\t' -v r="[$f]" '{ n = $2; sub(/.*\//, "", n); sub(/^[^.]*\./, "", n); if (substr(n, 1, 1) ~ r) print }' "$list" >"$te"
    awk -F'\t' -v r="[$f]" '{ n = $2; sub(/.*\//, "", n); sub(/^[^.]*\./, "", n); if (substr(n, 1, 1) !~ r) print }' "$list" >"$tr"
    if [ -n "$bogo" ]; then
      local db=$dir/bogo$k; rm -rf "$db"; mkdir -p "$db"
      grep '^spam' "$tr" | cut -f2 | bogofilter -d "$db" -s -b
      grep '^ham' "$tr" | cut -f2 | bogofilter -d "$db" -n -b
      cut -f2 "$te" | bogofilter -d "$db" -T -b >"$dir/bogo$k.out" || [ $? -lt 3 ]
      paste <(cut -f1 "$te") <(awk '{print $NF}' "$dir/bogo$k.out") >"$dir/bogo$k.tsv"
      "$bin" eval --report "$dir/bogo$k.tsv" --threshold 0.99 >"$dir/bogo$k.report"
      rm -rf "$db"
    fi
    "$bin" eval "${evalflags[@]}" --data-dir "$dir/sluice-data$k" --train "$tr" --test "$te" >"$dir/sluice$k.report"
    rm -rf "$dir/sluice-data$k"
  done
}

table() { # condition
  local dir=$work/cv-$1 name k a b
  echo
  echo "4-fold cross-validation, $1 messages ($(wc -l <"$all") in all); $(date -u +%F)"
  echo
  echo "| filter | fold 0-3 | fold 4-7 | fold 8-b | fold c-f | mean (1-AUC)% | mean FN at FP ≤ 0.1% |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for name in ${bogo:+bogo} sluice; do
    local cells= sa=0 sf=0
    for k in 0 1 2 3; do
      a=$(figure "$dir/$name$k.report") b=$(fnrate "$dir/$name$k.report")
      cells="$cells | $a / $b%"
      sa=$(awk -v s="$sa" -v x="$a" 'BEGIN{print s + x}') sf=$(awk -v s="$sf" -v x="$b" 'BEGIN{print s + x}')
    done
    printf '| %s%s | %.4f | %.2f%% |\n' "$([ $name = bogo ] && echo bogofilter || echo sluice)" "$cells" \
      "$(awk -v s="$sa" 'BEGIN{print s / 4}')" "$(awk -v s="$sf" 'BEGIN{print s / 4}')"
  done
}

for cond in raw stripped; do
  [ -n "$only" ] && [ "$only" != "$cond" ] && continue
  case $cond in raw) run raw "$all" ;; stripped) run stripped "$work/stripped/all.list" ;; esac
  table "$cond"
done
echo
echo "cells: (1-AUC)% / FN at FP ≤ 0.1%; work files: $work"
