#!/usr/bin/env bash
# Unpack the public SpamAssassin corpus into DIR and write DIR/train.list and
# DIR/test.list (lines spam|ham<TAB>path) by the split its README gives: a
# message is in the test set when the first hex digit of the MD5 in its file
# name (the part after the dot) is 0-4, otherwise in the train set.
#
# usage: bench/corpus-lists.sh DIR [TARBALL]
set -euo pipefail
dir=${1:?usage: corpus-lists.sh DIR [TARBALL]}
here=$(cd "$(dirname "$0")" && pwd)
tarball=${2:-${SLUICE_CORPUS:-$here/../../shared/corpora/spamassassin-public.tar.gz}}
mkdir -p "$dir"
tar xzf "$tarball" -C "$dir"
dir=$(cd "$dir" && pwd)
: >"$dir/train.list"
: >"$dir/test.list"
for f in "$dir"/spamassassin/*/*.*; do
  name=${f##*/}
  md5=${name#*.}
  [ ${#md5} -eq 32 ] || continue
  folder=${f%/*}; folder=${folder##*/}
  case $folder in spam*) class=spam ;; *) class=ham ;; esac
  case ${md5:0:1} in [0-4]) list=test ;; *) list=train ;; esac
  printf '%s\t%s\n' "$class" "$f" >>"$dir/$list.list"
done
echo "train: $(wc -l <"$dir/train.list") messages, test: $(wc -l <"$dir/test.list") messages in $dir" >&2
