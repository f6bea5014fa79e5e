#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Check the harness's output: run harness_fail_helper, whose tests fail
# in every way a test can, and test_harness_pass, and compare their TAP
# with what <ursa/harness.h> must print, line by line. Prints TAP; one
# test per check.
#
# The programs are looked for in $HARNESS_BIN_DIR, next to this script
# (OUTPUT/harness, or an install), then in ../build/harness (the default
# OUTPUT, for a run from the source folder).
set -u

here=$(cd "$(dirname "$0")" && pwd)

find_prog() {
	local d
	for d in "${HARNESS_BIN_DIR:-}" "$here" "$here/../build/harness"; do
		if [ -n "$d" ] && [ -x "$d/$1" ] && [ -f "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

results=()
checks=0
failures=0

# result STATUS DESCRIPTION [DIAGNOSTIC]: record one check, ok if STATUS is 0
result() {
	checks=$((checks + 1))
	if [ "$1" -eq 0 ]; then
		results+=("ok $checks $2")
	else
		results+=("not ok $checks $2")
		[ -n "${3:-}" ] && results+=("#   $3")
		failures=$((failures + 1))
	fi
}

# Each check is one TAP test, against the output in $out and $rc.
has_line() { # DESCRIPTION LINE: the output has LINE, exactly
	grep -qxF -- "$2" <<<"$out"
	result $? "$1" "no line '$2'"
}
has_match() { # DESCRIPTION ERE: a line of the output matches ERE
	grep -qxE -- "$2" <<<"$out"
	result $? "$1" "no line matching '$2'"
}
lacks() { # DESCRIPTION TEXT: no line of the output has TEXT
	! grep -qF -- "$2" <<<"$out"
	result $? "$1" "'$2' was printed"
}
exit_is() { # DESCRIPTION CODE
	[ "$rc" -eq "$2" ]
	result $? "$1" "exit code $rc, not $2"
}

# run PROGRAM ARGS...: sets out and rc
run() {
	out=$(timeout 60 "$@" </dev/null 2>&1)
	rc=$?
}

fail=$(find_prog harness_fail_helper)
pass=$(find_prog test_harness_pass)
if [ -z "$fail" ] || [ -z "$pass" ]; then
	echo "1..0 # SKIP harness_fail_helper or test_harness_pass not built" \
		"(looked in ${HARNESS_BIN_DIR:-} $here $here/../build/harness)"
	exit 4
fi

# --- the failing program ---
run "$fail"
exit_is "a failing suite exits with KSFT_FAIL" 1
[ "$(head -n 1 <<<"$out")" = "TAP version 13" ]
result $? "the first line is 'TAP version 13'"
has_line "the plan counts every test" "1..10"
has_line "the start line counts tests and test cases" \
	"# Starting 10 tests from 2 test cases."
[ "$(grep -cE '^(not )?ok [0-9]+ ' <<<"$out")" -eq 10 ]
result $? "one result line per test"

has_line "a test starts with a RUN line" \
	"#  RUN           global.assert_fails ..."
has_match "a failed ASSERT prints file, line, test and both values" \
	'# .*harness_fail_helper\.c:[0-9]+:global\.assert_fails:Expected 1 \(1\) == 2 \(2\)'
has_match "a TH_LOG after a failed ASSERT prints" \
	'# .*harness_fail_helper\.c:[0-9]+:global\.assert_fails:assert message'
lacks "a failed ASSERT ends the test" "not reached after ASSERT"
has_line "a failed test has a FAIL line" "#          FAIL  global.assert_fails"
has_line "a failed ASSERT fails the test" "not ok 1 global.assert_fails"

has_match "a test goes on after a failed EXPECT" \
	'# .*:global\.expect_fails_and_continues:reached after EXPECT'
has_line "a failed EXPECT fails the test" \
	"not ok 2 global.expect_fails_and_continues"

has_line "a test past its time limit is reported" \
	"# global.times_out: Test terminated by timeout"
has_line "a test past its time limit fails" "not ok 3 global.times_out"

has_line "a crash fails the test" "not ok 4 global.segfaults"

has_line "an expected failure that passes is an XPASS" \
	"ok 5 global.unexpectedly_passes # XPASS"
has_line "a TEST_SIGNAL without its signal fails" "not ok 6 global.no_signal"

has_line "a skipped test has a SKIP line with the reason" \
	"#          SKIP  not here"
has_line "a skipped test is ok with a SKIP directive" \
	"ok 7 global.skips # SKIP not here"

has_line "an expected failure has an XFAIL line" \
	"#         XFAIL  global.known_bug"
has_match "an expected failure is ok with an XFAIL directive" \
	'ok 8 global\.known_bug # XFAIL .*'

has_line "a passing test has an OK line" "#            OK  global.passes"
has_line "a passing test is ok" "ok 9 global.passes"

has_line "a failed ASSERT in the setup fails the test" \
	"not ok 10 broken.never_runs"
lacks "a failed setup skips the body" "body ran after a failed setup"
lacks "a failed setup skips the teardown" "teardown ran after a failed setup"

has_line "the summary of a failing suite" "# FAILED: 3 / 10 tests passed."
has_line "the totals of a failing suite" \
	"# Totals: pass:1 fail:6 xfail:1 xpass:1 skip:1 error:0"

# --- the command line ---
run "$fail" -l
exit_is "-l exits with KSFT_PASS" 0
[ "$(grep -c . <<<"$out")" -eq 10 ] &&
	[ "$(head -n 1 <<<"$out")" = "global.assert_fails" ] &&
	[ "$(tail -n 1 <<<"$out")" = "broken.never_runs" ]
result $? "-l lists the tests in order"

run "$fail" -t passes
exit_is "-t runs one test" 0
has_line "-t counts one test" "1..1"
has_line "-t numbers from 1" "ok 1 global.passes"

run "$fail" -t unexpectedly_passes
exit_is "a suite with an XPASS exits with KSFT_XPASS" 3

run "$fail" -t skips
exit_is "a suite whose tests all skip exits with KSFT_SKIP" 4

run "$fail" -f nosuch
has_line "a filter that matches nothing gives an empty plan" "1..0"

# --- the passing program ---
run "$pass"
exit_is "the passing suite exits with KSFT_PASS" 0
has_line "the plan of the passing suite" "1..20"
has_line "the totals of the passing suite" \
	"# Totals: pass:15 fail:0 xfail:3 xpass:0 skip:2 error:0"
has_line "the summary of the passing suite" "# PASSED: 20 / 20 tests passed."
has_line "variants name their tests fixture.variant.test" \
	"ok 11 fix.one.setup_ran"
has_line "an expected signal passes" "ok 9 global.aborts"

run "$pass" -f fix -v two
exit_is "-f and -v select by fixture and variant" 0
has_line "-f and -v count the selected tests" "1..4"
has_line "-f and -v keep the full names" "ok 1 fix.two.setup_ran"

echo "1..$checks"
printf '%s\n' "${results[@]}"
[ "$failures" -eq 0 ]
