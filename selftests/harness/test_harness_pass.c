// SPDX-License-Identifier: MIT
/*
 * The harness against itself, on the passing side: every macro where
 * it holds, fixtures with setup, teardown and two variants, a skip from
 * a test and from a setup, expected failures and an expected signal.
 * The program must exit with KSFT_PASS; harness_output.sh checks its
 * totals.
 *
 * Some checks span two tests (a teardown after an ASSERT, code after an
 * EXPECT): each test is a process of its own, so they leave marks in a
 * page shared with every child.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ursa/harness.h>

struct marks {
	int expect_failed;
	int after_expect;
	int assert_body[3];
	int after_assert[3];
	int teardown_after_assert[3];
	int skipped_body;
	int skipped_teardown;
};

static struct marks *marks;

static void __attribute__((constructor)) marks_init(void)
{
	void *p = mmap(NULL, sizeof(*marks), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	marks = p;
}

enum color { RED, GREEN = 5 };

struct bits {
	unsigned int flag : 1;
	int small : 4;
};

TEST(integers)
{
	long l = -3;
	unsigned long ul = 3;
	char c = 'a';
	bool yes = true;
	enum color g = GREEN;
	struct bits b = { .flag = 1, .small = -2 };

	ASSERT_EQ(-3, l);
	ASSERT_EQ(3, ul);
	ASSERT_NE(l, ul);
	ASSERT_LT(l, ul) TH_LOG("signed and unsigned compare by value");
	ASSERT_LT(-1, 0u);
	ASSERT_LE(3, ul);
	ASSERT_GT(ul, l);
	ASSERT_GE(ul, 3u);
	ASSERT_EQ('a', c);
	ASSERT_EQ(true, yes);
	ASSERT_EQ(5, g);
	ASSERT_EQ(1, b.flag);
	ASSERT_EQ(-2, b.small);
	ASSERT_EQ(UINT64_MAX, (uint64_t)-1);
	ASSERT_NE(-1, UINT64_MAX);
	EXPECT_EQ(-3, l);
	EXPECT_NE(0, ul);
	EXPECT_LT(0, ul);
	EXPECT_LE(-3, l);
	EXPECT_GT(0, l);
	EXPECT_GE(-3, l);
}

TEST(floats_and_pointers)
{
	double half = 0.5;
	int arr[2];
	const char *s = "abc";
	void *none = NULL;

	ASSERT_EQ(0.5, half);
	ASSERT_LT(0, half);
	ASSERT_EQ(&arr[0], arr);
	ASSERT_NE(&arr[1], arr);
	ASSERT_LT(&arr[0], &arr[1]);
	ASSERT_NE(NULL, s);
	ASSERT_NULL(none);
	EXPECT_NULL(NULL);
	ASSERT_TRUE(s);
	ASSERT_FALSE(none);
	ASSERT_TRUE(half);
	EXPECT_TRUE(1);
	EXPECT_FALSE(0);
}

TEST(strings)
{
	char buf[8] = "abc";

	ASSERT_STREQ("abc", buf);
	ASSERT_STRNE("abd", buf);
	EXPECT_STREQ(NULL, NULL);
	EXPECT_STRNE(NULL, buf);
}

static int counter;

static int next(void)
{
	return ++counter;
}

TEST(evaluates_once)
{
	ASSERT_EQ(1, next());
	ASSERT_EQ(next(), 2);
	EXPECT_STREQ("x", next() == 3 ? "x" : "y");
	ASSERT_TRUE(next() == 4);
	ASSERT_EQ(4, counter);
}

TEST(log_only_on_failure)
{
	int logged = 0;

	ASSERT_EQ(1, 1) logged = 1;
	ASSERT_EQ(0, logged);
	EXPECT_EQ(1, 1) TH_LOG("not printed");
	TH_LOG("a diagnostic line %d", 42);
}

TEST(skips)
{
	SKIP(return, "skipped on purpose (%d)", 1);
	ASSERT_TRUE(0) TH_LOG("not reached after SKIP");
}

/* An expected failure, and the code after the EXPECT still runs. */
TEST(expect_fails_and_continues)
{
	marks->expect_failed = 1;
	EXPECT_EQ(1, 2) TH_LOG("this failure is expected");
	marks->after_expect = 1;
}
XFAIL_ADD(global, , expect_fails_and_continues);

TEST(expect_continued)
{
	if (!marks->expect_failed)
		SKIP(return, "expect_fails_and_continues did not run");
	ASSERT_EQ(1, marks->after_expect);
}

TEST_SIGNAL(aborts, SIGABRT)
{
	abort();
}

TEST_TIMEOUT(within_timeout, 5)
{
	usleep(10000);
}

/* A fixture with two variants, and an ASSERT that ends a test. */
FIXTURE(fix)
{
	int value;
	bool assert_test;
};

FIXTURE_VARIANT(fix)
{
	int add;
};

FIXTURE_VARIANT_ADD(fix, one){
	.add = 1,
};

FIXTURE_VARIANT_ADD(fix, two){
	.add = 2,
};

FIXTURE_SETUP(fix)
{
	ASSERT_EQ(0, self->value);
	self->value = 42 + variant->add;
}

FIXTURE_TEARDOWN(fix)
{
	if (self->assert_test)
		marks->teardown_after_assert[variant->add]++;
}

TEST_F(fix, setup_ran)
{
	ASSERT_EQ(42 + variant->add, self->value);
}

TEST_F(fix, assert_ends_test)
{
	self->assert_test = true;
	marks->assert_body[variant->add] = 1;
	ASSERT_EQ(0, variant->add) TH_LOG("this failure is expected");
	marks->after_assert[variant->add] = 1;
}
XFAIL_ADD(fix, one, assert_ends_test);
XFAIL_ADD(fix, two, assert_ends_test);

TEST_F(fix, teardown_ran_after_assert)
{
	int v = variant->add;

	if (!marks->assert_body[v])
		SKIP(return, "assert_ends_test did not run");
	ASSERT_EQ(0, marks->after_assert[v]);
	ASSERT_EQ(1, marks->teardown_after_assert[v]);
}

TEST_F_TIMEOUT(fix, own_timeout, 10)
{
	ASSERT_LT(42, self->value);
}

/* A setup that skips: the body does not run, the teardown does. */
FIXTURE(skipper)
{
	int unused;
};

FIXTURE_SETUP(skipper)
{
	SKIP(return, "setup skips");
}

FIXTURE_TEARDOWN(skipper)
{
	marks->skipped_teardown++;
}

TEST_F(skipper, body_not_run)
{
	marks->skipped_body = 1;
	ASSERT_TRUE(0) TH_LOG("the body of a skipped setup ran");
}

FIXTURE(after_skip)
{
	int unused;
};

FIXTURE_SETUP(after_skip)
{
}

FIXTURE_TEARDOWN(after_skip)
{
}

TEST_F(after_skip, skipped_setup_tore_down)
{
	if (!marks->skipped_teardown)
		SKIP(return, "skipper did not run");
	ASSERT_EQ(0, marks->skipped_body);
	ASSERT_EQ(1, marks->skipped_teardown);
}

TEST_HARNESS_MAIN
