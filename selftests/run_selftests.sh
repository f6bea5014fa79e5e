#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run ursa's selftests and print TAP version 13, in the manner of the
# kernel's run_kselftest.sh. The same script runs the build tree
# ("make -C selftests run_tests") and an install (it is copied next to
# the installed targets). Each test program's own TAP is indented with
# "# "; its exit code gives its result line:
#
#   0    ok N selftests: <target>: <program>
#   4    ok N selftests: <target>: <program> # SKIP
#   124  not ok N selftests: <target>: <program> # TIMEOUT <s> seconds
#   else not ok N selftests: <target>: <program> # exit=<code>
#
# The programs are those of DIR/selftests-list.txt, one "target:program"
# a line, run from DIR/<target> with the timeout= of DIR/<target>/settings
# (45 seconds if none). The exit code is 1 if any program failed.
set -u

usage() {
	cat <<USAGE
usage: $0 [-d DIR] [-c TARGET]... [-t TARGET:PROGRAM]... [-o SECONDS] [-l] [-h]
  -d DIR       the tests' tree (default: this script's folder)
  -c TARGET    run the programs of one target (a collection)
  -t T:PROG    run one program
  -o SECONDS   time limit of every program, instead of the settings
  -l           list the programs, one TARGET:PROGRAM a line
  -h           this help
USAGE
}

base=$(cd "$(dirname "$0")" && pwd)
collections=()
only=()
override=
list=0
while getopts "d:c:t:o:lh" opt; do
	case $opt in
	d) base=$(cd "$OPTARG" 2>/dev/null && pwd) ||
		{ echo "$0: no folder $OPTARG" >&2; exit 2; } ;;
	c) collections+=("$OPTARG") ;;
	t) only+=("$OPTARG") ;;
	o) override=$OPTARG ;;
	l) list=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
	usage >&2
	exit 2
fi

listfile=$base/selftests-list.txt
if [ ! -f "$listfile" ]; then
	echo "Bail out! no $listfile: build or install the selftests first"
	exit 1
fi

# wanted TARGET PROGRAM: selected by -c and -t (everything without them)
wanted() {
	local x
	[ ${#collections[@]} -eq 0 ] && [ ${#only[@]} -eq 0 ] && return 0
	for x in "${collections[@]+"${collections[@]}"}"; do
		[ "$x" = "$1" ] && return 0
	done
	for x in "${only[@]+"${only[@]}"}"; do
		[ "$x" = "$1:$2" ] && return 0
	done
	return 1
}

tests=()
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	'' | '#'*) continue ;;
	*:*) ;;
	*) continue ;;
	esac
	wanted "${line%%:*}" "${line#*:}" && tests+=("$line")
done <"$listfile"

if [ "$list" -eq 1 ]; then
	[ ${#tests[@]} -gt 0 ] && printf '%s\n' "${tests[@]}"
	exit 0
fi

# The tests' TAP, as diagnostics of ours.
indent() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '# %s\n' "$line"
	done
}

has_timeout=0
command -v timeout >/dev/null 2>&1 && has_timeout=1

echo "TAP version 13"
echo "1..${#tests[@]}"
n=0
failed=0
for t in "${tests[@]+"${tests[@]}"}"; do
	n=$((n + 1))
	target=${t%%:*}
	prog=${t#*:}
	dir=$base/$target
	desc="selftests: $target: $prog"

	limit=45
	if [ -f "$dir/settings" ]; then
		s=$(sed -n 's/^timeout=\([0-9][0-9]*\)[[:space:]]*$/\1/p' \
			"$dir/settings" | tail -n 1)
		[ -n "$s" ] && limit=$s
	fi
	[ -n "$override" ] && limit=$override

	echo "# timeout set to $limit"
	echo "# $desc"
	if [ ! -x "$dir/$prog" ]; then
		echo "# Warning: $dir/$prog is missing or not executable"
		echo "not ok $n $desc # exit=127"
		failed=1
		continue
	fi
	if [ "$has_timeout" -eq 1 ]; then
		(cd "$dir" && exec timeout --kill-after=10 "$limit" \
			"./$prog" </dev/null 2>&1) | indent
	else
		(cd "$dir" && exec "./$prog" </dev/null 2>&1) | indent
	fi
	rc=${PIPESTATUS[0]}
	case $rc in
	0) echo "ok $n $desc" ;;
	4) echo "ok $n $desc # SKIP" ;;
	124)
		echo "not ok $n $desc # TIMEOUT $limit seconds"
		failed=1
		;;
	*)
		echo "not ok $n $desc # exit=$rc"
		failed=1
		;;
	esac
done
exit $failed
