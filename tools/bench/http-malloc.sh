#!/bin/bash
# SPDX-License-Identifier: MIT
#
# http-malloc.sh URSA_HTTP [SECONDS]: malloc calls per request in steady
# state, for ursa-http and for nginx (nginx-light, one worker, access_log
# off) in the same run. Each server runs with malloc_preload.so preloaded
# (built here from malloc_preload.c); after a warm-up, the count is read
# before and after a wrk run and divided by the requests wrk made.
# Workloads: /plaintext at -c64, the same 16-deep pipelined, and a static
# 4 KiB file at -c64.
set -eu
ursa=$(realpath "${1:?usage: http-malloc.sh URSA_HTTP [SECONDS]}")
secs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
for c in wrk nginx cc; do
	command -v $c >/dev/null || { echo "http-malloc: $c not found" >&2; exit 4; }
done
tmp=$(mktemp -d /tmp/http-malloc.XXXXXX)
pids=()
cleanup() {
	# TERM: nginx's master then stops its worker too.
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

cc -O2 -shared -fPIC -o "$tmp/malloc_preload.so" "$here/malloc_preload.c" -ldl -lpthread
P_NGINX=18091 P_URSA=18092
. "$here/http-lib.sh"
http_setup "$tmp" $P_NGINX
ulimit -n 65536 2>/dev/null || true
# Each process counts into tmp/NAME.count.PID; nginx's is its worker's.
MALLOC_COUNT_FILE=$tmp/nginx.count LD_PRELOAD=$tmp/malloc_preload.so \
	nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
nginx_master=$!
MALLOC_COUNT_FILE=$tmp/ursa.count LD_PRELOAD=$tmp/malloc_preload.so \
	"$ursa" --listen 127.0.0.1:$P_URSA --threads 1 --root "$tmp/root" \
	--max-conns 100000 >"$tmp/ursa.out" 2>&1 &
pids+=($!)
ursa_pid=$!
for p in $P_NGINX $P_URSA; do
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$p/plaintext" && break
		sleep 0.05
	done
done

nginx_pid=$(pgrep -P "$nginx_master" nginx | head -1)
[ -n "$nginx_pid" ] || { echo "http-malloc: nginx did not start" >&2; exit 1; }
count() { sleep 0.15; tr -d ' \n' <"$1" | sed 's/^0*//;s/^$/0/'; }
# per_req NAME PORT PATH PIPE -> "mallocs requests mallocs/request"
per_req() {
	local pid=$ursa_pid
	[ "$1" = nginx ] && pid=$nginx_pid
	local file=$tmp/$1.count.$pid url=http://127.0.0.1:$2$3 lua=()
	[ "$4" = 16 ] && lua=(-s "$tmp/pipe.lua")
	wrk -t1 -c64 -d1s "${lua[@]}" "$url" >/dev/null
	local m0 m1 n
	m0=$(count "$file")
	n=$(wrk -t1 -c64 -d${secs}s "${lua[@]}" "$url" |
		awk '/requests in/ { print $1 }')
	m1=$(count "$file")
	awk -v a="$m0" -v b="$m1" -v n="$n" \
		'BEGIN { printf "%d %d %.6f", b - a, n, n ? (b - a) / n : -1 }'
}
printf '%-24s %12s %12s %14s\n' workload server mallocs mallocs/req
for w in "/plaintext 1" "/plaintext 16" "/4k.bin 1"; do
	set -- $w
	for s in nginx ursa; do
		port=$P_NGINX; [ $s = ursa ] && port=$P_URSA
		read -r m n r <<<"$(per_req $s $port "$1" "$2")"
		printf '%-24s %12s %12s %14s   (%s requests)\n' "$1 c64 p$2" $s "$m" "$r" "$n"
	done
done
