// SPDX-License-Identifier: MIT
/*
 * The loop-aware helpers of <ursa/harness_loop.h>, used as a user's
 * suite would use them: a deferred completed by a timer callback is seen
 * done, a deferred that never completes times out on the loop's clock
 * without hanging, and ASSERT_DONE_WITHIN() fails the test then (checked
 * with XFAIL_ADD, so a helper that passes wrongly shows up as XPASS).
 */
#include <ursa/harness.h>
#include <ursa/harness_loop.h>

#define MS URSA_TH_NSEC_PER_MSEC

struct later {
	struct ursa_timer timer;
	struct ursa_deferred d;
};

static void later_fn(struct ursa_timer *t)
{
	struct later *l = ursa_container_of(t, struct later, timer);

	ursa_deferred_succeed(&l->d, 42);
}

FIXTURE(th_loop)
{
	struct ursa_loop loop;
	struct later l;
};

FIXTURE_SETUP(th_loop)
{
	URSA_TH_LOOP_INIT_OR_SKIP(&self->loop, NULL);
	ursa_deferred_init(&self->l.d);
	ursa_timer_init(&self->l.timer, later_fn);
}

FIXTURE_TEARDOWN(th_loop)
{
	ursa_timer_cancel(&self->l.timer);
	ursa_loop_exit(&self->loop);
}

TEST_F(th_loop, done_by_a_timer)
{
	struct ursa_exit exit;

	ASSERT_EQ(0, ursa_timer_start(&self->loop, &self->l.timer, 5 * MS, 0));
	ASSERT_FALSE(ursa_deferred_is_done(&self->l.d));
	ASSERT_DONE_WITHIN(&self->loop, &self->l.d, 2000 * MS);
	ASSERT_TRUE(ursa_deferred_poll(&self->l.d, &exit));
	EXPECT_EQ(URSA_EXIT_SUCCESS, exit.kind);
	EXPECT_EQ(42, exit.val);
	/* The guard timer was cancelled, not left armed in the loop. */
	EXPECT_FALSE(ursa_loop_has_work(&self->loop));
}

TEST_F(th_loop, never_done_times_out)
{
	uint64_t t0 = ursa_loop_now(&self->loop);
	bool done;

	done = ursa_th_run_until_done(&self->loop, &self->l.d, 20 * MS);
	EXPECT_FALSE(done);
	/* It waited out the timeout on the loop's clock, then returned. */
	EXPECT_GE(ursa_loop_now(&self->loop) - t0, 20 * MS);
	EXPECT_FALSE(ursa_loop_has_work(&self->loop));
}

TEST_F(th_loop, run_for_sees_a_late_completion)
{
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &self->l.timer, 5 * MS, 0));
	ursa_th_run_for(&self->loop, 50 * MS);
	EXPECT_TRUE(ursa_deferred_is_done(&self->l.d));
}

/* Must fail: the deferred never completes. */
TEST_F(th_loop, assert_fails_on_timeout)
{
	ASSERT_DONE_WITHIN(&self->loop, &self->l.d, 10 * MS);
}
XFAIL_ADD(th_loop, , assert_fails_on_timeout);

TEST_HARNESS_MAIN
