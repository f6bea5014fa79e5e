#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ursa-fchunk against the reference tools: hashes equal xxhsum -H3's and
# xxh128sum's on real files (empty, 1 byte, chunk size -1, chunk size,
# chunk size +1, 200 MiB of random data, binaries from /usr/bin), copies
# are byte-identical, .zst files round-trip through zstd both ways, every
# error case exits with its documented code and leaves no DST behind, and
# the peak RSS on a file 400x larger than queue depth x chunk size stays
# within the bound. Prints TAP; one test per check.
#
# ursa-fchunk is looked for in $URSA_FCHUNK, next to this script (the
# selftests Makefile copies it there), then in $PATH.
set -u

here=$(cd "$(dirname "$0")" && pwd)
KSFT_SKIP=4

fc=${URSA_FCHUNK:-}
[ -z "$fc" ] && [ -x "$here/ursa-fchunk" ] && fc=$here/ursa-fchunk
[ -z "$fc" ] && fc=$(command -v ursa-fchunk 2>/dev/null)

echo "TAP version 13"
skip_all() {
	echo "1..0 # SKIP $1"
	exit $KSFT_SKIP
}
[ -n "$fc" ] || skip_all "ursa-fchunk not built (CONFIG_URSA_FCHUNK=n?)"
for t in xxhsum xxh128sum zstd cmp; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/fchunk-test.XXXXXX") || exit 1
small=
cleanup() {
	if [ -n "$small" ]; then
		umount "$small" 2>/dev/null
		rmdir "$small" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

"$fc" hash /dev/null >/dev/null 2>err.txt
if [ $? -eq 6 ]; then
	skip_all "$(cat err.txt)"
fi

checks=0
failures=0
result() { # STATUS DESCRIPTION [DIAGNOSTIC]
	checks=$((checks + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $checks $2"
	else
		echo "not ok $checks $2"
		[ -n "${3:-}" ] && echo "#   $3"
		failures=$((failures + 1))
	fi
}
skip() { # DESCRIPTION REASON
	checks=$((checks + 1))
	echo "ok $checks $1 # SKIP $2"
}
same() { # DESCRIPTION GOT WANT
	[ "$2" == "$3" ]
	result $? "$1" "got '$2', want '$3'"
}
# no_dst DESCRIPTION DST: neither DST nor a temporary file beside it
no_dst() {
	local d
	d=$(dirname "$2")
	! [ -e "$2" ] && ! ls -a "$d" | grep -q '\.fchunk-'
	result $? "$1" "$2 or a temporary file was left behind"
}
# fails DESCRIPTION CODE CMD...: CMD exits with CODE and one line on stderr
fails() {
	local desc=$1 code=$2 rc lines
	shift 2
	"$@" >out.txt 2>err.txt
	rc=$?
	lines=$(wc -l <err.txt)
	[ "$rc" -eq "$code" ] && [ "$lines" -eq 1 ]
	result $? "$desc" "exit $rc (want $code), stderr: $(head -c 300 err.txt)"
}

K=65536
head -c 0 /dev/urandom >empty
head -c 1 /dev/urandom >one
head -c $((K - 1)) /dev/urandom >km1
head -c $K /dev/urandom >k
head -c $((K + 1)) /dev/urandom >kp1
head -c $((1048576 - 1)) /dev/urandom >mm1
head -c 1048576 /dev/urandom >m
head -c $((1048576 + 1)) /dev/urandom >mp1
head -c $((200 << 20)) /dev/urandom >big
# Compressible data: base64 text.
head -c $((6 << 20)) /dev/urandom | base64 >text

# -- hashes ----------------------------------------------------------
bins=$(ls -S /usr/bin/* 2>/dev/null | head -n 200 | while read -r f; do
	[ -f "$f" ] && [ -r "$f" ] && echo "$f"; done | sed -n '1p;50p;100p;150p')
for f in empty one km1 k kp1; do
	same "hash xxh3 $f, --chunk-size 64K" \
		"$("$fc" hash --chunk-size 64K "$f")" "$(xxhsum -H3 "$f" 2>/dev/null)"
	same "hash xxh128 $f, --chunk-size 64K" \
		"$("$fc" hash -a xxh128 --chunk-size 64K "$f")" \
		"$(xxh128sum "$f" 2>/dev/null)"
done
for f in mm1 m mp1 big $bins; do
	same "hash xxh3 $f" "$("$fc" hash "$f")" "$(xxhsum -H3 "$f" 2>/dev/null)"
	same "hash xxh128 $f" "$("$fc" hash -a xxh128 "$f")" \
		"$(xxh128sum "$f" 2>/dev/null)"
done
same "hash several files at once" "$("$fc" hash one k big)" \
	"$(xxhsum -H3 one k big 2>/dev/null)"
same "hash stdin" "$("$fc" hash - <big)" "$(xxhsum -H3 - <big 2>/dev/null)"
same "hash a pipe" "$(cat mp1 | "$fc" hash -a xxh128 -)" \
	"$(xxh128sum - <mp1 2>/dev/null)"
same "hash --direct" \
	"$("$fc" hash --direct --chunk-size 64K big kp1 one 2>/dev/null)" \
	"$(xxhsum -H3 big kp1 one 2>/dev/null)"
same "hash --queue-depth 1 --chunk-size 4K" \
	"$("$fc" hash --queue-depth 1 --chunk-size 4K mp1)" "$(xxhsum -H3 mp1 2>/dev/null)"

"$fc" hash one k big >list3
xxhsum -c list3 >/dev/null 2>&1
result $? "xxhsum -c checks our XXH3 output"
"$fc" hash -a xxh128 one k big >list128
xxh128sum -c list128 >/dev/null 2>&1
result $? "xxh128sum -c checks our XXH128 output"
xxh128sum one k >ref128 2>/dev/null
xxhsum -H3 one k >ref3 2>/dev/null
"$fc" hash -c ref128 ref3 >out.txt 2>&1
result $? "hash -c checks xxh128sum's and xxhsum -H3's lists"
same "hash -c prints OK per file" "$(grep -c ': OK$' out.txt)" 4
sed 's/^\(XXH3 (one) = \).*/\10000000000000000/' ref3 >bad3
"$fc" hash -c bad3 >out.txt 2>/dev/null
rc=$?
[ $rc -eq 1 ] && grep -qx 'one: FAILED' out.txt
result $? "hash -c reports a mismatch with exit 1" "exit $rc"

"$fc" hash --per-chunk --chunk-size 64K kp1 >pc.txt
same "--per-chunk text: one line per chunk and the file" \
	"$(wc -l <pc.txt)" 3
want=$(tail -c 1 kp1 | xxhsum -H3 - 2>/dev/null | sed 's/.* = //')
same "--per-chunk text: last chunk's offset, length, hash" \
	"$(sed -n 2p pc.txt)" "$K 1 $want"
if command -v python3 >/dev/null; then
	"$fc" hash --per-chunk=json --chunk-size 64K kp1 m >pc.json
	python3 - pc.json <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec = json.JSONDecoder()
i, objs = 0, []
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    o, i = dec.raw_decode(text, i)
    objs.append(o)
assert len(objs) == 2, objs
assert [len(o["chunks"]) for o in objs] == [2, 16], objs
assert objs[0]["chunks"][1] == {"offset": 65536, "length": 1,
                                "hash": objs[0]["chunks"][1]["hash"]}
PY
	result $? "--per-chunk=json is valid JSON with every chunk"
	"$fc" copy --json big jcopy >j.txt
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["bytes"] == 200 << 20 and d["chunks"] == 200, d' j.txt
	result $? "--json prints the summary"
else
	skip "--per-chunk=json is valid JSON" "no python3"
	skip "--json prints the summary" "no python3"
fi

# -- copy --------------------------------------------------------------
for f in empty one kp1 big; do
	"$fc" copy "$f" "copy.$f" && cmp -s "$f" "copy.$f"
	result $? "copy $f is byte-identical"
done
chmod 640 kp1
"$fc" copy kp1 copy.mode
same "copy keeps the mode" "$(stat -c %a copy.mode)" 640
touch -d '2001-02-03 04:05:06.123456789' kp1
"$fc" copy --preserve kp1 copy.times
same "copy --preserve keeps the times" "$(stat -c %y copy.times)" \
	"$(stat -c %y kp1)"
"$fc" copy --verify big copy.verify && cmp -s big copy.verify
result $? "copy --verify"
"$fc" copy --direct --chunk-size 64K big copy.direct 2>/dev/null &&
	cmp -s big copy.direct
result $? "copy --direct"
# Writes go in 32 KiB pieces, 32 in flight per chunk: a 3 MiB chunk
# takes 96 of them, refilled as they complete, then a 1-byte chunk.
head -c $((3 << 20)) big >m3
printf x >>m3
"$fc" copy --chunk-size 3M --queue-depth 2 m3 copy.m3 && cmp -s m3 copy.m3
result $? "copy --chunk-size 3M: a chunk in 96 writes"
"$fc" copy --chunk-size 3M m3 - | cmp -s - m3
result $? "copy --chunk-size 3M to stdout: its pieces in order"
"$fc" copy mp1 - | cmp -s - mp1
result $? "copy to stdout"
cat mp1 | "$fc" copy - copy.stdin && cmp -s mp1 copy.stdin
result $? "copy from stdin"
echo old >exists
"$fc" copy --force kp1 exists && cmp -s kp1 exists
result $? "copy --force replaces DST"

# -- compress and decompress ---------------------------------------------
for f in empty one text big; do
	"$fc" compress --level 1 "$f" "$f.zst" &&
		zstd -q -d -c "$f.zst" | cmp -s - "$f"
	result $? "compress $f, then zstd -d, is identical"
done
"$fc" compress --chunk-size 64K text text64.zst &&
	zstd -q -d -c text64.zst | cmp -s - text
result $? "compress --chunk-size 64K: many frames, zstd -d reads them"
cp kp1 dflt
"$fc" compress dflt && zstd -q -d -c dflt.zst | cmp -s - kp1
result $? "compress SRC writes SRC.zst"
"$fc" decompress --force dflt.zst && cmp -s dflt kp1
result $? "decompress SRC.zst writes SRC"
for f in empty one text big; do
	zstd -q -c "$f" >"z.$f.zst"
	"$fc" decompress "z.$f.zst" "d.$f" && cmp -s "$f" "d.$f"
	result $? "zstd $f, then decompress, is identical"
done
zstd -q -T2 -c --long=20 text >zt.zst
"$fc" decompress zt.zst d.zt && cmp -s text d.zt
result $? "decompress a zstd -T2 --long file"
"$fc" decompress text64.zst d.text64 && cmp -s text d.text64
result $? "decompress our many-frame file"
if command -v python3 >/dev/null; then
	"$fc" decompress --json big.zst d.json >j.txt
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["bytes_out"] == 200 << 20 and d["chunks"] == 200, d' j.txt
	result $? "decompress --json counts the frames as chunks"
else
	skip "decompress --json counts the frames as chunks" "no python3"
fi
"$fc" decompress --chunk-size 64K text.zst d.small && cmp -s text d.small
result $? "decompress with a smaller --chunk-size than compress used"
{ printf '\x50\x2a\x4d\x18\x04\x00\x00\x00abcd'; cat one.zst; } >skip.zst
"$fc" decompress skip.zst d.skip && cmp -s one d.skip
result $? "decompress skips skippable frames"
cat text | "$fc" compress - - | "$fc" decompress - - | cmp -s - text
result $? "compress and decompress through pipes"
"$fc" compress --level 1 --threads 1 text t1.zst && cmp -s text.zst t1.zst
result $? "the output does not depend on --threads"

# -- errors --------------------------------------------------------------
fails "missing input: exit 3" 3 "$fc" hash nonexistent
fails "missing input for copy: exit 3" 3 "$fc" copy nonexistent c.missing
no_dst "missing input: no DST" c.missing
mkdir adir
fails "directory as input: exit 3" 3 "$fc" copy adir c.dir
no_dst "directory as input: no DST" c.dir
fails "directory as DST: exit 4" 4 "$fc" copy kp1 adir
fails "DST in a missing folder: exit 4" 4 "$fc" copy kp1 nodir/x
echo keep >exists
fails "DST exists without --force: exit 4" 4 "$fc" copy kp1 exists
same "DST exists without --force: untouched" "$(cat exists)" keep
fails "compress onto an existing DST: exit 4" 4 "$fc" compress one exists
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	chmod 755 "$work"
	cp kp1 secret && chmod 600 secret
	fails "permission denied on SRC: exit 3" 3 \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$fc" copy secret "$work/c.eacces"
	no_dst "permission denied on SRC: no DST" c.eacces
	mkdir ro && chmod 555 ro
	fails "permission denied on DST: exit 4" 4 \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$fc" copy one "$work/ro/x"
	no_dst "permission denied on DST: no DST" ro/x
elif [ "$(id -u)" -ne 0 ]; then
	cp kp1 secret && chmod 000 secret
	fails "permission denied on SRC: exit 3" 3 "$fc" copy secret c.eacces
	no_dst "permission denied on SRC: no DST" c.eacces
	mkdir ro && chmod 555 ro
	fails "permission denied on DST: exit 4" 4 "$fc" copy kp1 ro/x
	no_dst "permission denied on DST: no DST" ro/x
else
	skip "permission denied" "root without setpriv"
fi
small=$(mktemp -d "${TMPDIR:-/tmp}/fchunk-enospc.XXXXXX")
if mount -t tmpfs -o size=1m tmpfs "$small" 2>/dev/null; then
	fails "ENOSPC mid-copy: exit 4" 4 "$fc" copy big "$small/c"
	no_dst "ENOSPC mid-copy: no DST" "$small/c"
	fails "ENOSPC mid-compress: exit 4" 4 "$fc" compress big "$small/c.zst"
	no_dst "ENOSPC mid-compress: no DST" "$small/c.zst"
else
	rmdir "$small"
	small=
	skip "ENOSPC" "cannot mount a small tmpfs (needs root)"
	skip "ENOSPC" "cannot mount a small tmpfs (needs root)"
fi
URSA_FAIL_OPS=read URSA_FAIL_TIMES=1 "$fc" hash big >/dev/null 2>&1
if [ $? -eq 0 ]; then
	skip "EIO" "fault injection is not built (CONFIG_URSA_FAULT_INJECTION)"
else
	fails "EIO on a read: exit 3" 3 env URSA_FAIL_OPS=read \
		URSA_FAIL_INTERVAL=3 URSA_FAIL_TIMES=1 "$fc" copy big c.eio
	no_dst "EIO on a read: no DST" c.eio
	fails "EIO on a write: exit 4" 4 env URSA_FAIL_OPS=write \
		URSA_FAIL_INTERVAL=5 URSA_FAIL_TIMES=1 "$fc" copy big c.eiow
	no_dst "EIO on a write: no DST" c.eiow
	fails "EIO while decompressing: exit 3" 3 env URSA_FAIL_OPS=read \
		URSA_FAIL_TIMES=1 "$fc" decompress big.zst c.eiod
	no_dst "EIO while decompressing: no DST" c.eiod
	fails "EIO while hashing: exit 3" 3 env URSA_FAIL_OPS=read \
		URSA_FAIL_TIMES=1 "$fc" hash big
fi
# A sysfs attribute claims 4096 bytes and holds fewer: the input is
# shorter than its size at the start, as when it shrinks under us.
sysf=/sys/kernel/mm/transparent_hugepage/enabled
[ -r $sysf ] || sysf=$(ls /sys/kernel/*/* 2>/dev/null | head -n 1)
if [ -n "$sysf" ] && [ "$(stat -c %s "$sysf")" -gt "$(wc -c <"$sysf")" ]; then
	fails "input shorter than its size: exit 3" 3 "$fc" copy "$sysf" c.shrunk
	grep -q shrank err.txt
	result $? "input shorter than its size: says it shrank"
	no_dst "input shorter than its size: no DST" c.shrunk
else
	skip "input shrinking" "no sysfs attribute to read"
fi
# A file truncated while it is read, the real thing (racy: the copy may
# win, so only a clean outcome is required).
cp big shrink
( sleep 0.05; truncate -s 1M shrink ) &
"$fc" copy --queue-depth 1 --chunk-size 4K shrink c.shrink 2>err.txt
rc=$?
wait
{ [ $rc -eq 0 ] && cmp -s c.shrink big; } ||
	{ [ $rc -eq 3 ] && grep -q shrank err.txt && ! [ -e c.shrink ]; }
result $? "a file truncated while it is copied: exit 3, no DST (or done)" \
	"exit $rc: $(cat err.txt)"
head -c $(($(stat -c %s text.zst) / 2)) text.zst >trunc.zst
fails "truncated .zst: exit 5" 5 "$fc" decompress trunc.zst d.trunc
no_dst "truncated .zst: no DST" d.trunc
head -c $(($(stat -c %s z.text.zst) - 7)) z.text.zst >trunc2.zst
fails "truncated single-frame .zst: exit 5" 5 "$fc" decompress trunc2.zst \
	d.trunc2
no_dst "truncated single-frame .zst: no DST" d.trunc2
cp text.zst corrupt.zst
printf 'garbage!' | dd of=corrupt.zst bs=1 seek=200000 conv=notrunc \
	2>/dev/null
fails "corrupt .zst: exit 5" 5 "$fc" decompress corrupt.zst d.corrupt
no_dst "corrupt .zst: no DST" d.corrupt
fails "not a .zst: exit 5" 5 "$fc" decompress text d.notzst
no_dst "not a .zst: no DST" d.notzst
fails "empty .zst: exit 5" 5 "$fc" decompress empty d.emptyzst
fails "bad option: exit 2" 2 "$fc" hash --chunk-size 12Q one
fails "unknown command: exit 2" 2 "$fc" frobnicate one
fails "--direct with an unaligned chunk: exit 2" 2 \
	"$fc" hash --direct --chunk-size 1000 one
"$fc" copy big - 2>err.txt | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
[ "$rc" -eq 4 ] && [ "$(wc -l <err.txt)" -eq 1 ]
result $? "a closed stdout: exit 4, one line" "exit $rc: $(cat err.txt)"

# -- valgrind ----------------------------------------------------------------
# memcheck runs one thread at a time and does not let the others run
# while one waits in io_uring_enter: ursa-fchunk then waits in poll(2) on
# an eventfd registered with the ring. Every command with worker threads,
# on 13 chunks of 64K, must finish, match, and be free of errors and leaks.
vg_skip=
command -v valgrind >/dev/null || vg_skip="valgrind is not installed"
grep -qa __asan_init "$fc" && vg_skip="an ASan build does not run under valgrind"
if [ -z "$vg_skip" ]; then
	head -c $((800 << 10)) text >vg
	vg() { # DESCRIPTION ARGS...
		local desc=$1 rc
		shift
		timeout 60 valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect \
			--show-leak-kinds=definite,indirect \
			"$fc" --chunk-size 64K --no-progress "$@" >vg.out 2>vg.err
		rc=$?
		[ $rc -eq 0 ]
		result $? "valgrind: $desc" "exit $rc: $(grep -m 5 '==' vg.err)"
	}
	vg "hash" hash vg
	same "valgrind: hash matches xxhsum" "$(cat vg.out)" \
		"$(xxhsum -H3 vg 2>/dev/null)"
	vg "copy --verify" copy --verify vg vg.copy
	cmp -s vg vg.copy
	result $? "valgrind: copy --verify is byte-identical"
	vg "compress" compress vg vg.zst
	zstd -q -d -c vg.zst | cmp -s - vg
	result $? "valgrind: zstd -d reads the compress"
	vg "decompress" decompress vg.zst vg.dec
	cmp -s vg vg.dec
	result $? "valgrind: decompress is byte-identical"
	vg "read --direct" read --direct vg
else
	for t in hash "hash matches" "copy --verify" "copy identical" compress \
		"zstd -d" decompress "decompress identical" "read --direct"; do
		skip "valgrind: $t" "$vg_skip"
	done
fi

# -- memory bound ----------------------------------------------------------
# 2 x 256K = 512 KiB in flight; big is 400 times that. The peak RSS of a
# run on big may exceed that of a run on a file of a few chunks by at most
# the pipeline's buffers (4 x depth x chunk) plus 1 MiB of slack.
rss() { # the max_rss_kib of --json
	"$fc" "$@" --json --queue-depth 2 --chunk-size 256K --no-progress |
		sed -n 's/.*"max_rss_kib": \([0-9]*\).*/\1/p'
}
bound=$(((4 * 2 * 256) + 1024))
for cmd in hash copy compress decompress; do
	case $cmd in
	hash) small_args="m" big_args="big" ;;
	copy) small_args="m rss.s" big_args="big rss.b" ;;
	compress) small_args="m rss.s" big_args="big rss.b" ;;
	decompress) "$fc" compress --chunk-size 256K big rss.zst
		"$fc" compress --chunk-size 256K m rssm.zst
		small_args="rssm.zst rss.s" big_args="rss.zst rss.b" ;;
	esac
	rm -f rss.s rss.b
	# shellcheck disable=SC2086
	a=$(rss $cmd $small_args)
	rm -f rss.s rss.b
	# shellcheck disable=SC2086
	b=$(rss $cmd $big_args)
	rm -f rss.s rss.b
	[ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -le $bound ]
	result $? "$cmd of 200 MiB: peak RSS ${b} KiB, ${a} KiB on 1 MiB (bound +$bound KiB)" \
		"grew by $((${b:-0} - ${a:-0})) KiB"
done

echo "1..$checks"
[ $failures -eq 0 ]
