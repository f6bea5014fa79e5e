#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ursa-http with curl: GET, HEAD, keep-alive reuse across URLs, Range,
# If-None-Match, If-Modified-Since, a large file byte for byte, path
# traversal, the built-in routes, the access log and SIGHUP, IPv6, the
# command line.
. "$(dirname "$0")/lib.sh"
need curl cmp
make_root
start_server --threads 2 --access-log "$TMP/access.log"

check "GET a file" test "$(curl -s "${URL}hello.txt")" = "hello, world"
curl -s -D "$TMP/h" -o /dev/null "${URL}hello.txt"
check "Content-Type, Content-Length, Last-Modified, ETag" \
	grep -qi '^content-type: text/plain' "$TMP/h"
check "Content-Length is the file size" grep -qi '^content-length: 13' "$TMP/h"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: \(.*\)\r$/\1/p' "$TMP/h")
lm=$(sed -n 's/^[Ll]ast-[Mm]odified: \(.*\)\r$/\1/p' "$TMP/h")
check "ETag and Last-Modified present" test -n "$etag" -a -n "$lm"
check "HEAD: headers, no body" test "$(curl -s -I "${URL}4k.bin" | \
	grep -ci 'content-length: 4096')" = 1
check "HEAD body is empty" test "$(curl -s --head "${URL}4k.bin" -o /dev/null \
	-w '%{size_download}')" = 0
check "index.html for /" test "$(curl -s "$URL")" = "<h1>ursa</h1>"
check "index.html for /sub/" test "$(curl -s "${URL}sub/")" = "<p>sub</p>"
l=$(curl -s "${URL}list/")
check "a folder without index.html is listed, escaped and sorted" \
	test "$(grep -o 'href="[^"]*"' <<<"$l" | tr '\n' ' ')" = 'href="a&amp;b.txt" href="z.txt" '
check "/sub redirects to /sub/" test "$(code "${URL}sub")" = 301
out=$(curl -s -v "${URL}hello.txt" "${URL}plaintext" "${URL}sub/" \
	"${URL}4k.bin" -o /dev/null -o /dev/null -o /dev/null -o /dev/null 2>&1)
check "keep-alive: four URLs on one connection" \
	test "$(grep -c 'Re-using existing connection' <<<"$out")" = 3
check "Range: 206 with the bytes" \
	test "$(curl -s -r 0-4 "${URL}hello.txt")" = "hello"
check "Range: suffix" test "$(curl -s -r -6 "${URL}hello.txt")" = "world"
curl -s -D "$TMP/h" -o /dev/null -r 7- "${URL}hello.txt"
check "Range: Content-Range header" grep -q 'Content-Range: bytes 7-12/13' "$TMP/h"
check "Range past the end: 416" test "$(code -r 100-200 "${URL}hello.txt")" = 416
check "If-None-Match: 304" \
	test "$(code -H "If-None-Match: $etag" "${URL}hello.txt")" = 304
check "If-None-Match other tag: 200" \
	test "$(code -H 'If-None-Match: "x"' "${URL}hello.txt")" = 200
check "If-Modified-Since: 304" \
	test "$(code -H "If-Modified-Since: $lm" "${URL}hello.txt")" = 304
check "If-Modified-Since long ago: 200" test "$(code -H \
	'If-Modified-Since: Mon, 01 Jan 1990 00:00:00 GMT' "${URL}hello.txt")" = 200
curl -s -o "$TMP/big.out" "${URL}big.bin"
check "24 MiB file byte for byte" cmp -s "$ROOT/big.bin" "$TMP/big.out"
curl -s -o "$TMP/part.out" -r 1000000-9999999 "${URL}big.bin"
check "a range of the large file byte for byte" cmp -s "$TMP/part.out" \
	<(tail -c +1000001 "$ROOT/big.bin" | head -c 9000000)
traversal() { # LABEL
	local p c
	for p in '../secret.txt' '%2e%2e/secret.txt' '%2E%2E/%2e%2e/etc/passwd' \
		'sub/../../secret.txt' 'sub/%2e%2e/%2e%2e/secret.txt' '..%2fsecret.txt' \
		'out' 'etc/passwd' 'hello.txt%00' '%00/../secret.txt'; do
		c=$(code --path-as-is "${URL}$p")
		check "$1traversal /$p: $c" test "$c" = 403 -o "$c" = 404
	done
	check "$1symlink out of the root: 403" test "$(code "${URL}out")" = 403
	check "$1symlink inside the root is served" \
		test "$(curl -s "${URL}in")" = "hello, world"
}
traversal ""
check "/plaintext" test "$(curl -s "${URL}plaintext")" = "Hello, World!"
check "/healthz" test "$(code "${URL}healthz")" = 200
m=$(curl -s "${URL}metrics")
check "/metrics: requests by status" grep -q 'ursa_http_requests_total{code="200"}' <<<"$m"
check "/metrics: loop counters" grep -q '^ursa_loop_cq_overflows_total ' <<<"$m"
check "/metrics: ENOBUFS counter" grep -q '^ursa_loop_enobufs_total ' <<<"$m"
check "/metrics: bytes out" grep -q '^ursa_http_sent_bytes_total [1-9]' <<<"$m"
check "404 for a missing file" test "$(code "${URL}nope")" = 404
check "405 for PUT" test "$(code -X PUT -d x "${URL}hello.txt")" = 405

# Expect: 100-continue: curl holds the body back until it sees the 100
# (or its 1 s --expect100-timeout passes). The 100 in curl's trace shows
# that the server sent it; the time shows curl did not wait it out.
head -c $((512 << 10)) /dev/urandom >"$TMP/body.bin"
out=$(curl -sv --data-binary @"$TMP/body.bin" -H 'Expect: 100-continue' \
	-w 'time_total=%{time_total}\n' "${URL}discard" 2>&1)
check "curl Expect: 100-continue: 100 Continue before the body" \
	grep -q '^< HTTP/1.1 100 Continue' <<<"$out"
check "curl Expect: 100-continue: the answer counts the whole body" \
	grep -q '^received 524288 bytes' <<<"$out"
echo "# curl --data-binary (512 KiB) with Expect: 100-continue took" \
	"$(sed -n 's/^time_total=//p' <<<"$out") s (curl's expect timeout: 1 s)"
head -c $((2 << 20)) /dev/zero >"$TMP/body2.bin"
r=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H 'Expect: 100-continue' \
	--data-binary @"$TMP/body2.bin" "${URL}discard")
check "curl Expect: 100-continue over --max-body-bytes: 413, body not sent ($r)" \
	test "$r" = "413 0"
check "curl Expect: foo: 417" test "$(code -H 'Expect: foo' -d x "${URL}discard")" = 417

# Access log: combined format, reopened on SIGHUP.
sleep 0.5
check "access log in combined format" grep -qE \
	'^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] "GET /hello.txt HTTP/1.1" 200 13 "-" "curl/' \
	"$TMP/access.log"
mv "$TMP/access.log" "$TMP/access.log.1"
kill -HUP "$SPID"
sleep 0.3
curl -s -o /dev/null -A after-hup "${URL}hello.txt"
sleep 0.6
check "SIGHUP reopens the access log" grep -q after-hup "$TMP/access.log"
check "nothing after the rotation goes to the old log" \
	test "$(grep -c after-hup "$TMP/access.log.1")" = 0
stop_server
ok $? "SIGTERM: exit 0"

# Without openat2() (old kernels, seccomp, valgrind) files are opened with
# openat() and kept only if /proc/self/fd says they are beneath the root.
export URSA_HTTP_NO_OPENAT2=1
start_server --threads 1
unset URSA_HTTP_NO_OPENAT2
traversal "without openat2: "
check "without openat2: GET a file" test "$(curl -s "${URL}sub/")" = "<p>sub</p>"
stop_server
ok $? "without openat2: SIGTERM, exit 0"

# IPv6
if curl -s -g -o /dev/null 'http://[::1]:9/' 2>/dev/null; [ -e /proc/net/if_inet6 ]; then
	# shellcheck disable=SC2086 # the wrapper is a command line
	$WRAPPER "$HTTP_BIN" --listen '[::1]:0' --root "$ROOT" --threads 1 \
		>"$TMP/v6.out" 2>&1 &
	SPID=$!
	for i in $(seq 1200); do
		URL=$(sed -n 's/.* at \(http:[^ ]*\) .*/\1/p' "$TMP/v6.out")
		[ -n "$URL" ] && break
		sleep 0.05
	done
	check "IPv6: GET over [::1]" test "$(curl -s -g "${URL}hello.txt")" = "hello, world"
	stop_server
	ok $? "IPv6: SIGTERM, exit 0"
else
	echo "# no IPv6 on this machine"
fi

# The command line.
"$HTTP_BIN" --bogus >/dev/null 2>"$TMP/err"
ok $(($? != 2)) "an unknown flag: exit 2"
check "an unknown flag: one line" test "$(wc -l <"$TMP/err")" = 1
"$HTTP_BIN" --threads 0 2>/dev/null
ok $(($? != 2)) "--threads 0: exit 2"
"$HTTP_BIN" --listen nowhere 2>/dev/null
ok $(($? != 2)) "--listen nowhere: exit 2"
"$HTTP_BIN" --header-timeout 2>/dev/null
ok $(($? != 2)) "--header-timeout without a value: exit 2"
check "--version" grep -q '^ursa-http [0-9]' <("$HTTP_BIN" --version)
check "--help" grep -q -- '--keepalive-timeout' <("$HTTP_BIN" --help)
"$HTTP_BIN" --root "$TMP/none" --listen 127.0.0.1:0 2>/dev/null
ok $(($? != 1)) "a missing root: exit 1"
done_testing
