// SPDX-License-Identifier: MIT
/*
 * The harness against itself, on the failing side: not a test, but the
 * program harness_output.sh runs and whose TAP it checks line by line.
 * Each test here fails in its own way (or, for one, passes where it was
 * expected to fail). The program must exit with KSFT_FAIL.
 *
 * Keep the order: harness_output.sh knows each test by its number.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <ursa/harness.h>

/* 1: an ASSERT ends the test; the statement after it prints. */
TEST(assert_fails)
{
	ASSERT_EQ(1, 2) TH_LOG("assert message");
	TH_LOG("not reached after ASSERT");
}

/* 2: an EXPECT fails the test and lets it go on. */
TEST(expect_fails_and_continues)
{
	EXPECT_EQ(1, 2);
	TH_LOG("reached after EXPECT");
}

/* 3: killed after its own 1 s limit. */
TEST_TIMEOUT(times_out, 1)
{
	sleep(20);
}

/* 4: a crash. */
TEST(segfaults)
{
	volatile int *volatile p = NULL;

	*p = 1;
}

/* 5: listed as expected to fail, but passes. */
TEST(unexpectedly_passes)
{
}
XFAIL_ADD(global, , unexpectedly_passes);

/* 6: waits for a signal that never comes. */
TEST_SIGNAL(no_signal, SIGABRT)
{
}

/* 7 */
TEST(skips)
{
	SKIP(return, "not here");
}

/* 8: an expected failure. */
TEST(known_bug)
{
	ASSERT_STREQ("a", "b");
}
XFAIL_ADD(global, , known_bug);

/* 9 */
TEST(passes)
{
	ASSERT_EQ(0, 0);
}

/* 10: a setup that asserts: no body, no teardown. */
FIXTURE(broken)
{
	int unused;
};

FIXTURE_SETUP(broken)
{
	ASSERT_EQ(0, 1);
}

FIXTURE_TEARDOWN(broken)
{
	TH_LOG("teardown ran after a failed setup");
}

TEST_F(broken, never_runs)
{
	TH_LOG("body ran after a failed setup");
}

TEST_HARNESS_MAIN
