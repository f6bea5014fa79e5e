#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The installed library serves a program outside the tree. examples/
# echo-min.c is built against the staged install ("make install
# DESTDIR=<objtree>/stage", which the top Makefile's selftests step does)
# through pkg-config alone, linked once against libursa.so and once
# against libursa.a with pkg-config --static, and each build echoes a
# line over loopback TCP.
#
# The stage is looked for in $URSA_STAGE, then in stage.conf next to this
# script (written at build time). pkg-config finds ursa.pc under the
# stage, and PKG_CONFIG_SYSROOT_DIR points its absolute paths there.
set -u

here=$(cd "$(dirname "$0")" && pwd)
stage=${URSA_STAGE:-}
prefix=${URSA_PREFIX:-/usr/local}
if [ -z "$stage" ] && [ -f "$here/stage.conf" ]; then
	. "$here/stage.conf"
fi
src=$here/echo-min.c

tmp=$(mktemp -d) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; failed=1; }

echo "1..5"
pcdir=$stage$prefix/lib/pkgconfig
if [ -z "$stage" ] || [ ! -f "$pcdir/ursa.pc" ]; then
	echo "not ok 1 ursa.pc staged # no $pcdir/ursa.pc: run the selftests through the top Makefile, or set URSA_STAGE"
	exit 1
fi
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$stage
if cflags=$(pkg-config --cflags ursa) && libs=$(pkg-config --libs ursa) &&
	slibs=$(pkg-config --static --libs ursa); then
	ok "pkg-config ursa: $cflags $libs"
else
	not_ok "pkg-config ursa"
	exit 1
fi

# shellcheck disable=SC2086 # the flags are words
if cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$tmp/echo-dyn" "$src" \
	$cflags $libs 2>"$tmp/cc.log"; then
	ok "cc echo-min.c \$(pkg-config --cflags --libs ursa)"
else
	sed 's/^/# /' "$tmp/cc.log"
	not_ok "cc echo-min.c \$(pkg-config --cflags --libs ursa)"
fi
# Only libursa itself static: the libraries it needs come from Libs.private
# and Requires.private, which is what --static is for.
# shellcheck disable=SC2086
if cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$tmp/echo-static" "$src" \
	$cflags ${slibs/-lursa/-l:libursa.a} 2>"$tmp/cc.log" &&
	! readelf -d "$tmp/echo-static" | grep -q 'NEEDED.*libursa'; then
	ok "cc echo-min.c with libursa.a \$(pkg-config --static --libs ursa)"
else
	sed 's/^/# /' "$tmp/cc.log"
	not_ok "cc echo-min.c with libursa.a \$(pkg-config --static --libs ursa)"
fi

# echo_through NAME BINARY: start it on a free port, send a line, read it back.
echo_through() {
	local name=$1 bin=$2 port= line= i
	if [ ! -x "$bin" ]; then
		not_ok "$name echoes # not built"
		return
	fi
	LD_LIBRARY_PATH=$stage$prefix/lib "$bin" 127.0.0.1:0 \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for i in $(seq 100); do
		port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$tmp/out")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$port" ]; then
		wait "$pid" 2>/dev/null
		pid=
		if grep -q -e 'io_uring is disabled' -e 'has no io_uring' "$tmp/err"; then
			echo "# SKIP: $(cat "$tmp/err")"
			exit 4
		fi
		sed 's/^/# /' "$tmp/err"
		not_ok "$name echoes # it did not start"
		return
	fi
	if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
		printf 'hello from outside the tree\n' >&3
		read -r -t 5 line <&3
		exec 3>&-
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	if [ "$line" = "hello from outside the tree" ]; then
		ok "$name echoes a line on port $port"
	else
		not_ok "$name echoes a line on port $port # got '$line'"
	fi
}

echo_through "echo-min (libursa.so)" "$tmp/echo-dyn"
echo_through "echo-min (libursa.a)" "$tmp/echo-static"
exit $failed
