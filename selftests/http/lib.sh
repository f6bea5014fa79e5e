# SPDX-License-Identifier: MIT
# Shared by the ursa-http selftest scripts: TAP output and a server on a
# free port of 127.0.0.1 with a scratch root.

HERE=$(cd "$(dirname "$0")" && pwd)
HTTP_BIN=${URSA_HTTP:-$HERE/ursa-http}
# A command the server runs under, such as valgrind (docs/http.md). It
# gets one loop: valgrind runs one thread at a time and keeps its lock
# while a loop waits in io_uring_enter.
WRAPPER=${URSA_HTTP_WRAPPER:-}
TMP=$(mktemp -d /tmp/ursa-http-test.XXXXXX)
n=0
failed=0
SPID=

cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { # COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

check() { # DESCRIPTION COMMAND...
	local d=$1
	shift
	"$@"
	ok $? "$d"
}

done_testing() {
	echo "1..$n"
	echo "# $((n - failed)) passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

need() {
	for c in "$@"; do
		if ! command -v "$c" >/dev/null; then
			echo "# SKIP: $c is not installed"
			exit 4
		fi
	done
}

make_root() {
	ROOT=$TMP/root
	mkdir -p "$ROOT/sub"
	echo '<h1>ursa</h1>' >"$ROOT/index.html"
	echo 'hello, world' >"$ROOT/hello.txt"
	echo '<p>sub</p>' >"$ROOT/sub/index.html"
	head -c 4096 /dev/urandom >"$ROOT/4k.bin"
	head -c $((24 << 20)) /dev/urandom >"$ROOT/big.bin"
	echo secret >"$TMP/secret.txt"
	ln -s "$TMP/secret.txt" "$ROOT/out"
	ln -s /etc "$ROOT/etc"
	ln -s hello.txt "$ROOT/in"
	mkdir -p "$ROOT/list"
	echo x >"$ROOT/list/a&b.txt"
	echo y >"$ROOT/list/z.txt"
}

# start_server ARGS...: sets SPID and URL
start_server() {
	[ -x "$HTTP_BIN" ] || { echo "# no binary $HTTP_BIN"; exit 1; }
	local more=() tries=200
	if [ -n "$WRAPPER" ]; then
		echo "# under URSA_HTTP_WRAPPER ($WRAPPER): --threads 1"
		more=(--threads 1)
		tries=1200
	fi
	# shellcheck disable=SC2086 # the wrapper is a command line
	$WRAPPER "$HTTP_BIN" --listen 127.0.0.1:0 --root "$ROOT" "$@" \
		"${more[@]}" >"$TMP/server.out" 2>&1 &
	SPID=$!
	local i
	for i in $(seq $tries); do
		URL=$(sed -n 's/.* at \(http:[^ ]*\) .*/\1/p' "$TMP/server.out")
		[ -n "$URL" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# server did not start: $(cat "$TMP/server.out")"
	grep -q io_uring "$TMP/server.out" && exit 4
	exit 1
}

stop_server() { # -> exit status of the server
	kill -TERM "$SPID" 2>/dev/null
	wait "$SPID"
	local rc=$?
	SPID=
	return $rc
}

code() { # URL [curl args] -> HTTP status
	curl -s -o /dev/null -w '%{http_code}' "$@"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
