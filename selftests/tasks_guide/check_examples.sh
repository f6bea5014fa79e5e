#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The tasks guide and its examples cannot drift apart: the N-th ```c block
# of docs/tasks.md must be byte-identical to example_N.c in this folder,
# the program these selftests build and run. One TAP test per example.
#
# The guide is looked for in $URSA_TASKS_DOC, next to this script (where
# the selftests are installed), then in the source tree (../../docs).
set -u

here=$(cd "$(dirname "$0")" && pwd)
doc=
for d in "${URSA_TASKS_DOC:-}" "$here/tasks.md" "$here/../../docs/tasks.md"; do
	if [ -n "$d" ] && [ -f "$d" ]; then
		doc=$d
		break
	fi
done
if [ -z "$doc" ]; then
	echo "1..1"
	echo "not ok 1 docs/tasks.md found # not in \$URSA_TASKS_DOC, $here or $here/../../docs"
	exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Write block K to $tmp/block_K.c, exactly as it stands between the fences.
awk -v dir="$tmp" '
	!inblk && /^```c$/ {
		inblk = 1
		f = dir "/block_" ++n ".c"
		printf "" > f
		next
	}
	inblk && /^```$/ {
		inblk = 0
		close(f)
		next
	}
	inblk { print > f }
	END {
		print n + 0 > (dir "/count")
		if (inblk)
			print "unterminated" > (dir "/unterminated")
	}
' "$doc"
nblocks=$(cat "$tmp/count")

nfiles=0
for f in "$here"/example_*.c; do
	[ -e "$f" ] || continue
	k=${f##*/example_}
	k=${k%.c}
	case $k in
	'' | *[!0-9]*) continue ;;
	esac
	[ "$k" -gt "$nfiles" ] && nfiles=$k
done

n=$((nblocks > nfiles ? nblocks : nfiles))
if [ "$n" -eq 0 ]; then
	echo "1..0 # SKIP no c block in $doc and no example_N.c"
	exit 0
fi

echo "# $doc: $nblocks c blocks; examples up to example_$nfiles.c"
[ -e "$tmp/unterminated" ] && echo "# warning: the last c block of $doc is not closed"
echo "1..$n"
failed=0
for k in $(seq 1 "$n"); do
	name="example_$k.c is c block $k of tasks.md"
	f=$here/example_$k.c
	b=$tmp/block_$k.c
	if [ ! -f "$f" ]; then
		echo "not ok $k $name # example_$k.c is missing"
		failed=$((failed + 1))
	elif [ ! -f "$b" ]; then
		echo "not ok $k $name # tasks.md has only $nblocks c blocks"
		failed=$((failed + 1))
	elif cmp -s "$b" "$f"; then
		echo "ok $k $name"
	else
		echo "not ok $k $name # they differ"
		diff -u "$b" "$f" | head -n 40 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
