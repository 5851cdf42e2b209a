#!/bin/sh
# Hashing benchmark: `meshseed create` against mktorrent and `sha1sum`, on one file (512 MiB
# by default), in the same run, data in the page cache, like with like: each program's
# default (both hash with one thread per core), then one hashing thread each (`-t 1`), then
# two (`-t 2`). mktorrent reads in its main thread while its threads hash; meshseed reads
# whole pieces in libuv's pool and hashes them on its main thread and, from the second
# thread on, in worker threads sharing the piece buffers.
# Prints each program's median wall time over RUNS runs, its peak RSS, the ratios, and the
# peak RSS of `node -e 0`, the floor under any Node program, and what create adds to it.
# Targets (issue 16): meshseed within 1.15x of mktorrent's wall time, peak RSS under 32 MiB.
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
  # interleaved, so drift on a shared machine hits all of them alike
  for t in default 1 2; do
    rm -f "$DIR/ours.torrent" "$DIR/theirs.torrent"
    if [ "$t" = default ]; then opt=""; name=default; else opt="-t $t"; name="t$t"; fi
    # shellcheck disable=SC2086 # $opt is empty or two words
    echo "meshseed-$name $(measure node dist/meshseed.js create -q -d $opt -l "$EXP" -o "$DIR/ours.torrent" "$DATA")" >> "$DIR/results"
    # shellcheck disable=SC2086
    echo "mktorrent-$name $(measure mktorrent $opt -d -l "$EXP" -o "$DIR/theirs.torrent" "$DATA")" >> "$DIR/results"
  done
  echo "sha1sum $(measure sha1sum "$DATA")" >> "$DIR/results"
  echo "node-e-0 $(measure node -e 0)" >> "$DIR/results"
  i=$((i + 1))
done

ours=$(node dist/meshseed.js show --json "$DIR/ours.torrent" | sed -n 's/.*"infoHash": "\([0-9a-f]*\)".*/\1/p')
theirs=$(node dist/meshseed.js show --json "$DIR/theirs.torrent" | sed -n 's/.*"infoHash": "\([0-9a-f]*\)".*/\1/p')
[ "$ours" = "$theirs" ] || { echo "info hashes differ: $ours vs $theirs" >&2; exit 1; }

median() { grep "^$1 " "$DIR/results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
peak() { grep "^$1 " "$DIR/results" | awk 'm<$3 {m=$3} END {printf "%.1f", m/1024}'; }

MD=$(median meshseed-default); KD=$(median mktorrent-default)
M1=$(median meshseed-t1); K1=$(median mktorrent-t1); M2=$(median meshseed-t2); K2=$(median mktorrent-t2); S=$(median sha1sum)
echo
echo "$SIZE_MIB MiB, pieces of 2^$EXP, median of $RUNS runs (same info hash: $ours), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for p in meshseed-default mktorrent-default meshseed-t1 mktorrent-t1 meshseed-t2 mktorrent-t2 sha1sum node-e-0; do
  printf '%-17s %8s s  peak RSS %6s MiB\n' "$p" "$(median $p)" "$(peak $p)"
done
awk -v md="$MD" -v kd="$KD" -v m1="$M1" -v k1="$K1" -v m2="$M2" -v k2="$K2" -v s="$S" -v rm="$(peak meshseed-default)" -v rn="$(peak node-e-0)" 'BEGIN {
  printf "meshseed / mktorrent, defaults:  %.2fx (target <= 1.15)\n", md / kd
  printf "meshseed / mktorrent, -t 1:      %.2fx\n", m1 / k1
  printf "meshseed / mktorrent, -t 2:      %.2fx\n", m2 / k2
  printf "meshseed -t 1 / sha1sum:         %.2fx\n", m1 / s
  printf "throughput: meshseed %.0f / %.0f MiB/s (-t 1 / -t 2), mktorrent %.0f / %.0f MiB/s, sha1sum %.0f MiB/s\n", '"$SIZE_MIB"' / m1, '"$SIZE_MIB"' / m2, '"$SIZE_MIB"' / k1, '"$SIZE_MIB"' / k2, '"$SIZE_MIB"' / s
  printf "peak RSS: create %.1f MiB (target <= 32), node -e 0 %.1f MiB: create adds %.1f MiB\n", rm, rn, rm - rn
}'
