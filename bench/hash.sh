#!/bin/sh
# Hashing benchmark: `meshseed create` against `mktorrent -t 1` (one hashing thread) and
# `sha1sum`, on one file (512 MiB by default), in the same run, data in the page cache.
# Prints each program's median wall time over RUNS runs, its peak RSS, and the ratios.
# Targets (issue 2): meshseed within 1.2x of mktorrent's and sha1sum's wall time, peak
# memory under 64 MiB whatever the size.
#   bench/hash.sh [size-MiB] [runs]      (needs: npm run build, mktorrent, GNU time)
set -eu
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-512}
RUNS=${2:-5}
EXP=${PIECE_EXP:-19}   # the automatic choice for 512 MiB; the same for both creators
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (/usr/bin/time, Debian package 'time')" >&2; exit 1; }
command -v mktorrent >/dev/null || { echo "needs mktorrent" >&2; exit 1; }
[ -f dist/meshseed.js ] || npm run build >/dev/null

DIR=$(mktemp -d "${TMPDIR:-/tmp}/meshseed-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT INT TERM
DATA="$DIR/data.bin"
echo "making a $SIZE_MIB MiB file of random bytes..."
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$DATA"
cat "$DATA" > /dev/null   # into the page cache: we measure hashing, not the disk

# one run: prints "<wall seconds> <max RSS KiB>"
measure() {
  "$TIME" -f '%e %M' -o "$DIR/time" "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  cat "$DIR/time"
}

: > "$DIR/results"
i=1
while [ "$i" -le "$RUNS" ]; do
  # interleaved, so drift on a shared machine hits all three alike
  rm -f "$DIR/ours.torrent" "$DIR/theirs.torrent"
  echo "meshseed $(measure node dist/meshseed.js create -q -d -l "$EXP" -o "$DIR/ours.torrent" "$DATA")" >> "$DIR/results"
  echo "mktorrent $(measure mktorrent -t 1 -d -l "$EXP" -o "$DIR/theirs.torrent" "$DATA")" >> "$DIR/results"
  echo "sha1sum $(measure sha1sum "$DATA")" >> "$DIR/results"
  i=$((i + 1))
done

ours=$(node dist/meshseed.js show --json "$DIR/ours.torrent" | sed -n 's/.*"infoHash": "\([0-9a-f]*\)".*/\1/p')
theirs=$(node dist/meshseed.js show --json "$DIR/theirs.torrent" | sed -n 's/.*"infoHash": "\([0-9a-f]*\)".*/\1/p')
[ "$ours" = "$theirs" ] || { echo "info hashes differ: $ours vs $theirs" >&2; exit 1; }

median() { grep "^$1 " "$DIR/results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
peak() { grep "^$1 " "$DIR/results" | awk 'm<$3 {m=$3} END {printf "%.1f", m/1024}'; }

M=$(median meshseed); K=$(median mktorrent); S=$(median sha1sum)
echo
echo "$SIZE_MIB MiB, pieces of 2^$EXP, median of $RUNS runs (same info hash: $ours)"
printf '%-10s %8s s  peak RSS %6s MiB\n' meshseed "$M" "$(peak meshseed)" mktorrent "$K" "$(peak mktorrent)" sha1sum "$S" "$(peak sha1sum)"
awk -v m="$M" -v k="$K" -v s="$S" 'BEGIN {
  printf "meshseed / mktorrent -t 1: %.2fx (target <= 1.2)\n", m / k
  printf "meshseed / sha1sum:        %.2fx (target <= 1.2)\n", m / s
  printf "throughput: meshseed %.0f MiB/s, mktorrent %.0f MiB/s, sha1sum %.0f MiB/s\n", '"$SIZE_MIB"' / m, '"$SIZE_MIB"' / k, '"$SIZE_MIB"' / s
}'
