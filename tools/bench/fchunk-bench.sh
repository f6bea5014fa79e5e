#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ursa-fchunk against its baselines, each pair back to back in the same
# run, on files in the page cache:
#
#   hash        xxhsum -H3
#   read        fio --ioengine=io_uring --rw=read --bs=1M --iodepth=8
#               --invalidate=0 (buffered, and --direct=1 for O_DIRECT)
#   copy        cp (copy_file_range); copy --verify against plain copy
#   compress    zstd -1 -T1 and zstd -1 -T2, on base64 text
#   decompress  zstd -d, on the same .zst
#
# This VM evicts file pages not touched for ~30 s, so each input is read
# once right before each measured command. Prints the median of RUNS
# runs of each, its GB/s (of the input), and ursa / baseline speed.
#
#   fchunk-bench.sh [-s SIZE_MIB] [-r RUNS] [-d DIR] [-b BIN]
set -u

size=1024
runs=5
dir=${TMPDIR:-/tmp}
bin=
while getopts "s:r:d:b:h" o; do
	case $o in
	s) size=$OPTARG ;;
	r) runs=$OPTARG ;;
	d) dir=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) sed -n '3,17s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
[ -z "$bin" ] && for b in "${O:-}/apps/fchunk/ursa-fchunk" \
	"$here/../../apps/fchunk/ursa-fchunk" "$(command -v ursa-fchunk)"; do
	[ -x "$b" ] && bin=$b && break
done
[ -x "$bin" ] || { echo "no ursa-fchunk (-b BIN)" >&2; exit 2; }
threads=$(nproc)

w=$(mktemp -d "$dir/bench-fchunk.XXXXXX") || exit 1
trap 'rm -rf "$w"' EXIT
echo "# ursa-fchunk: $bin; ${size} MiB files in $w; $runs runs; $threads CPUs"
head -c $((size << 20)) /dev/urandom >"$w/rand"
head -c $((size * 3 / 4 << 20)) /dev/urandom | base64 -w 76 |
	head -c $((size << 20)) >"$w/text"
"$bin" compress --level 1 --no-progress "$w/text" "$w/text.zst"
bytes_rand=$(stat -c %s "$w/rand")
bytes_text=$(stat -c %s "$w/text")

warm() { cat "$@" >/dev/null; }
# secs WARMFILE CMD...: warm the file, time CMD (seconds)
secs() {
	local f=$1 t0 t1
	shift
	warm "$f"
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || echo "# failed: $*" >&2
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / 1000))"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# pair NAME BYTES WARMFILE "BASELINE CMD" "URSA CMD" [CLEANUP]
pair() {
	local name=$1 bytes=$2 f=$3 base=$4 ours=$5 clean=${6:-true}
	local i tb=() to=() mb mo
	for ((i = 0; i < runs; i++)); do
		tb+=("$(secs "$f" bash -c "$base")"); eval "$clean"
		to+=("$(secs "$f" bash -c "$ours")"); eval "$clean"
	done
	mb=$(printf '%s\n' "${tb[@]}" | median)
	mo=$(printf '%s\n' "${to[@]}" | median)
	awk -v n="$name" -v b="$bytes" -v mb="$mb" -v mo="$mo" 'BEGIN {
		printf "%-34s base %7.3f s %6.2f GB/s | ursa %7.3f s %6.2f GB/s | ratio %.2fx\n",
			n, mb / 1e6, b / mb / 1e3, mo / 1e6, b / mo / 1e3, mb / mo }'
}

fc="$bin --no-progress"
R=$w/rand
T=$w/text
pair "hash vs xxhsum -H3" "$bytes_rand" "$R" "xxhsum -H3 $R" "$fc hash $R"
pair "hash xxh128 vs xxh128sum" "$bytes_rand" "$R" "xxh128sum $R" \
	"$fc hash -a xxh128 $R"
fio_cmd="fio --name=r --filename=$R --ioengine=io_uring --rw=read --bs=1M --iodepth=8 --invalidate=0 --output=/dev/null"
if command -v fio >/dev/null; then
	pair "read vs fio (buffered)" "$bytes_rand" "$R" "$fio_cmd" "$fc read $R"
	pair "read --direct vs fio --direct=1" "$bytes_rand" "$R" \
		"$fio_cmd --direct=1" "$fc read --direct $R"
fi
pair "copy vs cp" "$bytes_rand" "$R" "cp $R $w/out" "$fc copy $R $w/out" \
	"rm -f $w/out"
pair "copy --verify vs copy" "$bytes_rand" "$R" "$fc copy $R $w/out" \
	"$fc copy --verify $R $w/out" "rm -f $w/out"
pair "compress -1 vs zstd -1 -T1" "$bytes_text" "$T" \
	"zstd -q -1 -T1 -f $T -o $w/out" \
	"$fc compress --level 1 $T $w/out" "rm -f $w/out"
pair "compress -1 vs zstd -1 -T$threads" "$bytes_text" "$T" \
	"zstd -q -1 -T$threads -f $T -o $w/out" \
	"$fc compress --level 1 $T $w/out" "rm -f $w/out"
pair "decompress vs zstd -d" "$bytes_text" "$w/text.zst" \
	"zstd -q -d -f $w/text.zst -o $w/out" \
	"$fc decompress $w/text.zst $w/out" "rm -f $w/out"
