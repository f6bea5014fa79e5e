#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The tests of scripts/kdoc, as TAP. good.h must pass "kdoc check" and
# give man pages that man(1) and groff render without a warning; bad.h
# must fail "kdoc check" with each of the messages listed below.
#
# usage: scripts/tests/kdoc/run.sh   (from any directory)
set -u

here=$(cd "$(dirname "$0")" && pwd)
kdoc=$here/../../kdoc
python=${PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The messages bad.h must produce, without the "FILE:LINE: " prefix.
expected=(
	"error: ursa_bad_missing_param(): parameter 'b' not described"
	"error: ursa_bad_extra_param(): parameter 'c' is described but does not exist"
	"error: ursa_bad_no_return(): no 'Return:' section (it returns int)"
	"error: ursa_bad_no_context(): no 'Context:' section"
	"error: ursa_bad_undocumented(): no kernel-doc comment"
	"error: kernel-doc comment is for 'ursa_bad_wrong_name()' but the declaration below it is 'ursa_bad_right_name()'"
	"warning: kernel-doc comment for 'ursa_bad_detached()' is not directly above a declaration"
	"error: ursa_bad_detached(): no kernel-doc comment"
	"error: ursa_bad_variadic(): parameter '...' not described"
	"error: struct ursa_bad_struct: member 'y' not described"
	"error: struct ursa_bad_struct: member 'ptr' not described"
	"error: struct ursa_bad_struct: member 'gone' is described but does not exist"
	"warning: struct ursa_bad_struct: nested member 'stats.runs' not described"
	"error: struct ursa_bad_undocumented: no kernel-doc comment"
	"error: kernel-doc comment is for 'struct ursa_bad_kind' but the declaration below it is 'union ursa_bad_kind'"
	"error: enum ursa_bad_enum: value 'URSA_BAD_TWO' not described"
	"error: ursa_bad_macro(): no kernel-doc comment"
	"error: ursa_bad_macro_param(): parameter 'b' not described"
)
bad_summary="kdoc: 14 identifiers checked, 16 errors, 2 warnings"

# The pages good.h must give.
expected_pages="URSA_WIDGET_INIT.3
enum_ursa_widget_state.3
good.7
struct_ursa_widget.3
ursa_widget_entry.3
ursa_widget_fn.3
ursa_widget_init.3
ursa_widget_is_done.3
ursa_widget_log.3
ursa_widget_logf.3
ursa_widget_reset.3
ursa_widget_start.3
"

n=0
failed=0

# result STATUS DESC: print one test's TAP line; STATUS 0 is a pass.
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# skip DESC REASON: print a skipped test.
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# has_message LOG MESSAGE: LOG has "FILE:LINE: MESSAGE" for bad.h.
has_message() {
	grep -F ": $2" "$1" | grep -qE '(^|/)bad\.h:[0-9]+: '
}

kdoc() {
	"$python" "$kdoc" "$@"
}

echo "TAP version 13"

# check on good.h: clean.
kdoc check "$here/good.h" >"$tmp/good.out" 2>"$tmp/good.err"
result $? "check good.h exits 0"
[ ! -s "$tmp/good.err" ]
result $? "check good.h reports nothing"
grep -qx 'kdoc: [0-9]* identifiers checked, 0 errors' "$tmp/good.out"
result $? "check good.h prints the summary line"

# check on bad.h: every mistake found, with its line.
kdoc check "$here/bad.h" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
[ $rc -eq 1 ]
result $? "check bad.h exits 1 (got $rc)"
for message in "${expected[@]}"; do
	has_message "$tmp/bad.err" "$message"
	result $? "check bad.h: $message"
done
grep -q "bad\.h:18: error: ursa_bad_missing_param(): " "$tmp/bad.err"
result $? "check bad.h: errors carry the declaration's line"
grep -qxF "$bad_summary" "$tmp/bad.out"
result $? "check bad.h: summary '$bad_summary'"
kdoc check --warn-only "$here/bad.h" >/dev/null 2>"$tmp/warn.err"
rc=$?
[ $rc -eq 0 ] && ! grep -q ': error: ' "$tmp/warn.err"
result $? "check --warn-only bad.h exits 0 and reports warnings only"

# list: the exported functions, then everything public.
printf 'ursa_widget_init\nursa_widget_start\nursa_widget_logf\n' >"$tmp/list.want"
kdoc list "$here/good.h" >"$tmp/list.got"
cmp -s "$tmp/list.want" "$tmp/list.got"
result $? "list good.h prints the non-inline functions"
kdoc list --all "$here/good.h" >"$tmp/all.got"
grep -qx 'inline ursa_widget_is_done' "$tmp/all.got" &&
	grep -qx 'macro ursa_widget_entry' "$tmp/all.got" &&
	grep -qx 'struct ursa_widget' "$tmp/all.got" &&
	! grep -q '__ursa' "$tmp/all.got"
result $? "list --all good.h prints kinds and skips internal names"

# man: the pages, quietly, and each one renders without a warning.
kdoc man --outdir "$tmp/man" --version 1.2.3 --date 2025-01-02 \
	"$here/good.h" >"$tmp/man.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ ! -s "$tmp/man.out" ]
result $? "man good.h exits 0 and prints nothing"
(cd "$tmp/man" 2>/dev/null && ls) >"$tmp/pages.got"
printf '%s' "$expected_pages" | cmp -s - "$tmp/pages.got"
result $? "man good.h writes the expected pages"
grep -q '^\.TH ursa_widget_start 3 2025-01-02 "ursa 1.2.3" ' \
	"$tmp/man/ursa_widget_start.3" 2>/dev/null
result $? "man: .TH carries the name, section, date and version"
grep -qF '.B EBUSY' "$tmp/man/ursa_widget_start.3" 2>/dev/null &&
	grep -qF '.SH ERRORS' "$tmp/man/ursa_widget_start.3"
result $? "man: Return bullets become ERRORS"

for page in "$tmp"/man/*; do
	name=$(basename "$page")
	if command -v man >/dev/null; then
		MANWIDTH=80 man --warnings -l "$page" 2>"$tmp/warn" >"$tmp/render"
	else
		groff -man -Tutf8 -ww "$page" 2>"$tmp/warn" >"$tmp/render"
	fi
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$tmp/warn" ] && [ -s "$tmp/render" ]
	result $? "man page $name renders without warnings"
	sed -e 's/^/# /' "$tmp/warn"
	if command -v groff >/dev/null; then
		groff -man -Tutf8 -ww -z "$page" >"$tmp/warn" 2>&1
		[ ! -s "$tmp/warn" ]
		result $? "man page $name: groff -ww is quiet"
		sed -e 's/^/# /' "$tmp/warn"
	fi
done
if command -v lexgrog >/dev/null; then
	ok=0
	for page in "$tmp"/man/*; do
		lexgrog "$page" >/dev/null 2>&1 || {
			echo "# lexgrog cannot read the NAME of $(basename "$page")"
			ok=1
		}
	done
	result $ok "man pages have NAME lines that lexgrog parses"
else
	skip "man pages have NAME lines that lexgrog parses" "no lexgrog"
fi

if [ $failed -gt 0 ]; then
	echo "# check bad.h said:"
	sed -e 's/^/#   /' "$tmp/bad.err" "$tmp/bad.out"
fi
echo "1..$n"
[ $failed -eq 0 ]
