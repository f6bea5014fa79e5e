#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ursa-http against nginx (nginx-light, one worker, access_log off) and
# against raw_http.c, a canned-response liburing server that is the
# ceiling, all in the same run, on loopback, with wrk.
#
#   tools/bench/http-bench.sh [-o OBJTREE] [-d SECONDS] [-r RUNS] [-q]
#
# For each server and setting: req/s, latency (mean, p50, p99) and the
# server's CPU time per request from /proc/PID/stat (utime+stime over the
# run: on 2 cores wrk is the bottleneck, so req/s alone measures the
# client). The median run by req/s is shown. Then RSS per idle
# keep-alive connection at 10,000 connections. -q: 2 s, one run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srctree=$(cd "$here/../.." && pwd)
objtree=$srctree
dur=5
runs=3
while getopts "o:d:r:q" opt; do
	case $opt in
	o) objtree=$OPTARG ;;
	d) dur=$OPTARG ;;
	r) runs=$OPTARG ;;
	q) dur=2 runs=1 ;;
	*) echo "usage: $0 [-o OBJTREE] [-d SECONDS] [-r RUNS] [-q]" >&2; exit 2 ;;
	esac
done
ursa=$objtree/apps/http/ursa-http
for c in wrk nginx cc python3; do
	command -v "$c" >/dev/null || { echo "http-bench: needs $c (scripts/install-deps)" >&2; exit 4; }
done
[ -x "$ursa" ] || { echo "http-bench: no $ursa: build it first" >&2; exit 1; }

tmp=$(mktemp -d /tmp/bench-http.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

cc -O2 -o "$tmp/raw_http" "$here/raw_http.c" -luring
P_NGINX=18081 P_URSA=18082 P_RAW=18083
. "$here/http-lib.sh"
http_setup "$tmp" $P_NGINX

ulimit -n 65536 2>/dev/null || true
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
"$ursa" --listen 127.0.0.1:$P_URSA --threads 1 --root "$tmp/root" \
	--max-conns 100000 --keepalive-timeout 600 >"$tmp/ursa.out" 2>&1 &
pids+=($!)
ursa_pid=$!
"$tmp/raw_http" $P_RAW >"$tmp/raw.out" 2>&1 &
pids+=($!)
raw_pid=$!
for p in $P_NGINX $P_URSA $P_RAW; do
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$p/plaintext" && break
		sleep 0.05
	done
done
nginx_pid=$(pgrep -P "${pids[0]}" | head -1)
[ -n "$nginx_pid" ] || { echo "http-bench: nginx did not start" >&2; exit 1; }
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# wrk_run PID URL CONNS PIPE -> "reqs req/s mean_ms p50_ms p99_ms cpu_us/req"
to_ms() {
	awk '{ v = $1; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
	       else if (v ~ /ms$/) { sub(/ms/, "", v) }
	       else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }
	       printf "%.3f", v }'
}
wrk_run() {
	local pid=$1 url=$2 conns=$3 pipe=$4 out c0 c1 reqs rps mean p50 p99
	local args=(-t1 -c"$conns" -d"${dur}s" --latency)
	[ "$pipe" = 16 ] && args+=(-s "$tmp/pipe.lua")
	c0=$(cpu_ticks "$pid")
	out=$(wrk "${args[@]}" "$url")
	c1=$(cpu_ticks "$pid")
	if grep -q 'Socket errors\|Non-2xx' <<<"$out"; then
		echo "# errors: $(grep 'Socket errors\|Non-2xx' <<<"$out")" >&2
	fi
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")
	mean=$(awk '/^ +Latency +[0-9]/ { print $2 }' <<<"$out" | to_ms)
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out" | to_ms)
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)
	echo "$reqs $rps $mean $p50 $p99 $(awk -v t=$((c1 - c0)) -v r="$reqs" -v h="$tck" \
		'BEGIN { printf "%.2f", t * 1e6 / h / r }')"
}

# median RUNS... by req/s (field 2)
median() { sort -n -k2 | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }

declare -A res
row() { # NAME PID URL CONNS PIPE
	local i lines=""
	for i in $(seq "$runs"); do
		lines+="$(wrk_run "$2" "$3" "$4" "$5")"$'\n'
	done
	res[$1]=$(printf '%s' "$lines" | median)
}

printf '# http-bench: wrk -t1, %s s x %s runs (median by req/s), loopback, %s CPUs\n' \
	"$dur" "$runs" "$(nproc)"
printf '%-28s %10s %9s %9s %9s %10s\n' "case" "req/s" "mean ms" "p50 ms" \
	"p99 ms" "CPU us/req"
for path in plaintext; do
	for conns in 64 256; do
		for pipe in 1 16; do
			for s in nginx ursa raw; do
				case $s in
				nginx) pid=$nginx_pid port=$P_NGINX ;;
				ursa) pid=$ursa_pid port=$P_URSA ;;
				raw) pid=$raw_pid port=$P_RAW ;;
				esac
				key="$s /$path c$conns p$pipe"
				row "$key" "$pid" "http://127.0.0.1:$port/$path" "$conns" "$pipe"
				set -- ${res[$key]}
				printf '%-28s %10s %9s %9s %9s %10s\n' "$key" "$2" "$3" "$4" "$5" "$6"
			done
		done
	done
done
for s in nginx ursa; do
	case $s in
	nginx) pid=$nginx_pid port=$P_NGINX ;;
	ursa) pid=$ursa_pid port=$P_URSA ;;
	esac
	key="$s /4k.bin c64 p1"
	row "$key" "$pid" "http://127.0.0.1:$port/4k.bin" 64 1
	set -- ${res[$key]}
	printf '%-28s %10s %9s %9s %9s %10s\n' "$key" "$2" "$3" "$4" "$5" "$6"
done

echo "# ratios (ursa-http / baseline, same run)"
ratio() { # FIELD A B
	local a b
	a=$(echo "${res[$2]}" | cut -d' ' -f"$1")
	b=$(echo "${res[$3]}" | cut -d' ' -f"$1")
	awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
for conns in 64 256; do
	for pipe in 1 16; do
		k="/plaintext c$conns p$pipe"
		printf '%-22s req/s vs nginx %5s  vs raw %5s   CPU/req vs nginx %5s  vs raw %5s\n' \
			"$k" "$(ratio 2 "ursa $k" "nginx $k")" "$(ratio 2 "ursa $k" "raw $k")" \
			"$(ratio 6 "ursa $k" "nginx $k")" "$(ratio 6 "ursa $k" "raw $k")"
	done
done
k="/4k.bin c64 p1"
printf '%-22s req/s vs nginx %5s               CPU/req vs nginx %5s\n' "$k" \
	"$(ratio 2 "ursa $k" "nginx $k")" "$(ratio 6 "ursa $k" "nginx $k")"

# RSS per idle keep-alive connection at 10,000 connections.
idle_rss() { # PID PORT -> KiB per connection
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
pid, port = int(sys.argv[1]), int(sys.argv[2])
def rss():
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
r0 = rss()
socks = []
for i in range(10000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
for s in socks:
    s.recv(4096)
time.sleep(0.5)
r1 = rss()
print("%.2f" % ((r1 - r0) / 10000.0))
for s in socks:
    s.close()
PY
}
printf '# RSS per idle keep-alive connection at 10,000: nginx %s KiB, ursa-http %s KiB\n' \
	"$(idle_rss "$nginx_pid" $P_NGINX)" "$(idle_rss "$ursa_pid" $P_URSA)"
