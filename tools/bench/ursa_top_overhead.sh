#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The cost of ursa-top on a NOP loop: bpf_workload runs NOPS no-ops through
# one ursa loop, alternately bare (the baseline) and with ursa-top -p
# attached, ROUNDS times each, back to back. Prints the median rate of
# each and the ratio. Needs root, and a build with CONFIG_URSA_BPF and the
# selftests:
#
#   make O=DIR all selftests
#   tools/bench/ursa_top_overhead.sh DIR [NOPS] [ROUNDS]
set -eu
objtree=${1:?usage: ursa_top_overhead.sh OBJTREE [NOPS] [ROUNDS]}
nops=${2:-2000000}
rounds=${3:-7}
top=$objtree/tools/bpf/ursa-top
wl=$objtree/build-selftests/bpf/bpf_workload
for f in "$top" "$wl"; do
	[ -x "$f" ] || { echo "ursa_top_overhead: $f is not built" >&2; exit 1; }
done
file=$(mktemp)
trap 'rm -f "$file"' EXIT
head -c 65536 /dev/zero >"$file"

# run TRACED: one run; prints the NOP rate (ops/s)
run() {
	local out ns tpid=
	coproc WL { "$wl" -w "$nops" 0 "$file"; }
	read -r _ pid <&"${WL[0]}"
	if [ "$1" = 1 ]; then
		"$top" -p "$pid" -i 60 >/dev/null 2>"$file.err" &
		tpid=$!
		until grep -q Tracing "$file.err" 2>/dev/null; do sleep 0.05; done
	fi
	echo go >&"${WL[1]}"
	read -r out <&"${WL[0]}"
	wait "$WL_PID" || true
	if [ -n "$tpid" ]; then
		kill -INT "$tpid"
		wait "$tpid" || true
	fi
	ns=$(sed -n 's/.* ns \([0-9]*\)$/\1/p' <<<"$out")
	echo $((nops * 1000000000 / ns))
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

bare=()
traced=()
for _ in $(seq "$rounds"); do
	bare+=("$(run 0)")
	traced+=("$(run 1)")
done
mb=$(printf '%s\n' "${bare[@]}" | median)
mt=$(printf '%s\n' "${traced[@]}" | median)
rm -f "$file.err"
echo "nop loop, $nops NOPs x $rounds rounds, medians:"
echo "  bare:            $mb ops/s   (${bare[*]})"
echo "  ursa-top -p:     $mt ops/s   (${traced[*]})"
awk -v b="$mb" -v t="$mt" 'BEGIN { printf "  traced/bare:     %.3f (%.1f%% slower)\n", t / b, (1 - t / b) * 100 }'
