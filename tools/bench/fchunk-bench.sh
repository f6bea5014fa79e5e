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
#   decompress  zstd -d, on the same .zst; and both to /dev/null
#
# This VM evicts file pages not touched for ~30 s, so each input is read
# once right before each measured command. Prints the median of RUNS
# runs of each, its GB/s (of the input), ursa / baseline speed, and the
# median CPU time (user + system, all threads) of each, which says more
# than the wall clock when other work shares the CPUs. Last, the
# allocations per chunk: each command under an LD_PRELOAD counter
# (malloc_preload.c) on a 64 and a 512 chunk input.
#
# fio's own job time is printed below its pairs, since it spends about
# 0.4 s starting up. -p REGEX runs only the pairs whose name matches
# (and the allocation counts only if "mallocs" does).
#
#   fchunk-bench.sh [-s SIZE_MIB] [-r RUNS] [-d DIR] [-b BIN] [-p REGEX]
set -u

size=1024
runs=5
dir=${TMPDIR:-/tmp}
bin=
only=
while getopts "s:r:d:b:p:h" o; do
	case $o in
	s) size=$OPTARG ;;
	r) runs=$OPTARG ;;
	d) dir=$OPTARG ;;
	b) bin=$OPTARG ;;
	p) only=$OPTARG ;;
	*) sed -n '3,26s/^# \{0,1\}//p' "$0"; exit 2 ;;
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
echo "# ursa-fchunk: $bin; ${size} MiB files in $w; $runs runs; $threads CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
# A guest that reports freed memory to the host (virtio-balloon) pays a
# host fault on the first write of each reported page: new page-cache
# pages of copy's and decompress's outputs, for the baselines as for us.
pr=/sys/module/page_reporting/parameters/page_reporting_order
[ -r $pr ] && [ -n "$(ls /sys/bus/virtio/drivers/virtio_balloon 2>/dev/null | grep virtio)" ] &&
	echo "# free page reporting: virtio-balloon, blocks of order >= $(cat $pr)"
head -c $((size << 20)) /dev/urandom >"$w/rand"
head -c $((size * 3 / 4 << 20)) /dev/urandom | base64 -w 76 |
	head -c $((size << 20)) >"$w/text"
"$bin" compress --level 1 --no-progress "$w/text" "$w/text.zst"
# Write the 2.8 GB just created back now: left dirty, it is written back
# during the first pairs, and while the dirty total is over the
# threshold the kernel throttles every writer by how fast it dirties
# pages, the faster one harder (decompress measured 0.96x and 0.98x
# zstd -d that way, 1.60x after a sync, same build).
sync
bytes_rand=$(stat -c %s "$w/rand")
bytes_text=$(stat -c %s "$w/text")

warm() { cat "$@" >/dev/null; }
# secs WARMFILE CMD...: warm the file, time CMD; prints "WALL_US CPU_MS"
secs() {
	local f=$1 t0 t1 cpu
	shift
	warm "$f"
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$w/cpu" "$@" >/dev/null 2>&1 ||
		echo "# failed: $*" >&2
	t1=$(date +%s%N)
	cpu=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$w/cpu" 2>/dev/null)
	echo "$(((t1 - t0) / 1000)) ${cpu:-0}"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# pair NAME BYTES WARMFILE "BASELINE CMD" "URSA CMD" [CLEANUP]
pair() {
	local name=$1 bytes=$2 f=$3 base=$4 ours=$5 clean=${6:-true}
	local i tb=() to=() cb=() co=() mb mo r
	mo_last=
	[[ -z "$only" || "$name" =~ $only ]] || return 0
	for ((i = 0; i < runs; i++)); do
		r=$(secs "$f" bash -c "$base"); eval "$clean"
		tb+=("${r% *}"); cb+=("${r#* }")
		r=$(secs "$f" bash -c "$ours"); eval "$clean"
		to+=("${r% *}"); co+=("${r#* }")
	done
	mb=$(printf '%s\n' "${tb[@]}" | median)
	mo=$(printf '%s\n' "${to[@]}" | median)
	mo_last=$(awk -v m="$mo" 'BEGIN { print (m > 0 ? m : 1) / 1e6 }')
	awk -v n="$name" -v b="$bytes" -v mb="$mb" -v mo="$mo" \
		-v cb="$(printf '%s\n' "${cb[@]}" | median)" \
		-v co="$(printf '%s\n' "${co[@]}" | median)" 'BEGIN {
		printf "%-34s base %7.3f s %6.2f GB/s | ursa %7.3f s %6.2f GB/s | ratio %.2fx | cpu %.2f s / %.2f s\n",
			n, mb / 1e6, b / mb / 1e3, mo / 1e6, b / mo / 1e3, mb / mo,
			cb / 1e3, co / 1e3 }'
}

fc="$bin --no-progress"
R=$w/rand
T=$w/text
pair "hash vs xxhsum -H3" "$bytes_rand" "$R" "xxhsum -H3 $R" "$fc hash $R"
pair "hash xxh128 vs xxh128sum" "$bytes_rand" "$R" "xxh128sum $R" \
	"$fc hash -a xxh128 $R"
# fio spends about 0.4 s here starting up before its job runs; its own
# job time (terse field 9, ms) is printed too, as a second ratio.
fio_cmd="fio --name=r --filename=$R --ioengine=io_uring --rw=read --bs=1M --iodepth=8 --invalidate=0 --output-format=terse --output=$w/fio.t"
fio_job() { # NAME: the median of the fio job times collected in $w/fio.rt
	local m
	[ -n "$mo_last" ] && [ -s "$w/fio.rt" ] || return 0
	m=$(cut -d';' -f9 "$w/fio.rt" | median)
	awk -v n="$1" -v m="$m" -v mo="$mo_last" 'BEGIN {
		printf "%-34s fio job alone %.3f s | ratio %.2fx\n",
			"  (" n ")", m / 1e3, m / 1e3 / mo }'
	rm -f "$w/fio.rt"
}
if command -v fio >/dev/null; then
	fio_rec="; cat $w/fio.t >>$w/fio.rt"
	pair "read vs fio (buffered)" "$bytes_rand" "$R" "$fio_cmd$fio_rec" \
		"$fc read $R"
	fio_job "buffered"
	pair "read --direct vs fio --direct=1" "$bytes_rand" "$R" \
		"$fio_cmd --direct=1$fio_rec" "$fc read --direct $R"
	fio_job "direct"
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
# The decoding alone: to /dev/null, no page cache to fill.
pair "decompress to /dev/null, zstd -dc" "$bytes_text" "$w/text.zst" \
	"zstd -q -d -c $w/text.zst >/dev/null" \
	"$fc decompress $w/text.zst - >/dev/null"

# Allocations per chunk in steady state: the same command on 64 and on
# 512 chunks of 64K; the difference in allocations over 448 chunks.
if [[ -z "$only" || mallocs =~ $only ]] &&
	cc -O2 -shared -fPIC -o "$w/malloc_preload.so" "$here/malloc_preload.c" \
	-ldl -lpthread 2>/dev/null; then
	head -c $((64 << 16)) "$R" >"$w/m64"
	head -c $((512 << 16)) "$R" >"$w/m512"
	head -c $((64 << 16)) "$T" >"$w/t64"
	head -c $((512 << 16)) "$T" >"$w/t512"
	for n in 64 512; do
		$fc --chunk-size 64K --level 1 compress "$w/t$n" "$w/t$n.zst"
	done
	# mallocs NAME FILE ARGS...: the run's allocation count
	mallocs() {
		local out=$w/mc
		rm -f "$w/mo" "$out".*
		MALLOC_COUNT_FILE=$out LD_PRELOAD=$w/malloc_preload.so \
			$fc --chunk-size 64K "$@" >/dev/null 2>&1
		cat "$out".* | awk '{ print $1 + 0 }'
	}
	for c in hash "-a xxh128 hash" read copy "copy --verify" compress \
		decompress; do
		a=() b=()
		case $c in
		decompress) a=("$w/t64.zst" "$w/mo") b=("$w/t512.zst" "$w/mo") ;;
		compress) a=("$w/t64" "$w/mo") b=("$w/t512" "$w/mo") ;;
		copy*) a=("$w/m64" "$w/mo") b=("$w/m512" "$w/mo") ;;
		*) a=("$w/m64") b=("$w/m512") ;;
		esac
		m1=$(mallocs $c "${a[@]}")
		m2=$(mallocs $c "${b[@]}")
		awk -v n="$c" -v a="$m1" -v b="$m2" 'BEGIN {
			printf "mallocs %-20s %5d (64 chunks) %5d (512 chunks): %.3f per chunk\n",
				n, a, b, (b - a) / 448 }'
	done
fi
