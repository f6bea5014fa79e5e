/* SPDX-License-Identifier: MIT */
/*
 * Loop-aware helpers for selftests written with <ursa/harness.h>.
 *
 * A test of an ursa service usually starts I/O, then runs the loop until
 * some deferred completes. Written by hand that is a while loop around
 * ursa_loop_run_once(), and a bug turns it into a hang that only the
 * harness's per-test timeout ends, with no hint of what was awaited.
 * These helpers bound each run with a timer of the loop itself and fail
 * the test with a message that names the deferred or the condition.
 *
 *	#include <ursa/harness.h>
 *	#include <ursa/harness_loop.h>
 *
 *	TEST(read_completes)
 *	{
 *		struct ursa_loop loop;
 *
 *		URSA_TH_LOOP_INIT_OR_SKIP(&loop, NULL);
 *		... start a read whose request embeds the deferred d ...
 *		ASSERT_DONE_WITHIN(&loop, &d, 100 * URSA_TH_NSEC_PER_MSEC);
 *		ursa_loop_exit(&loop);
 *	}
 *
 * Include <ursa/harness.h> first: the assertions here report through it.
 */
#ifndef URSA_HARNESS_LOOP_H
#define URSA_HARNESS_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/deferred.h>
#include <ursa/loop.h>
#include <ursa/timer.h>

#ifndef URSA_HARNESS_H
#error "include <ursa/harness.h> before <ursa/harness_loop.h>"
#endif

#define URSA_TH_NSEC_PER_MSEC 1000000ull
#define URSA_TH_NSEC_PER_SEC 1000000000ull

/* The timer that bounds one run; its expiry only sets a flag. */
struct __ursa_th_guard {
	struct ursa_timer timer;
	bool fired;
};

static inline void __ursa_th_guard_fn(struct ursa_timer *t)
{
	ursa_container_of(t, struct __ursa_th_guard, timer)->fired = true;
}

/**
 * URSA_TH_LOOP_INIT_OR_SKIP() - Set up a loop, or skip the test.
 * @loop: The &struct ursa_loop to initialise.
 * @params: Its &struct ursa_loop_params, or NULL for the defaults.
 *
 * Calls ursa_loop_init(). When io_uring is not available (-EPERM or
 * -ENOSYS: the kernel.io_uring_disabled sysctl, a seccomp profile, an
 * old kernel) the test is skipped with ursa_loop_strerror()'s reason;
 * any other error fails it. Use it in a test body or a FIXTURE_SETUP().
 */
#define URSA_TH_LOOP_INIT_OR_SKIP(loop, params)                  \
	do {                                                     \
		int __ret = ursa_loop_init(loop, params);        \
		if (__ret == -EPERM || __ret == -ENOSYS)         \
			SKIP(return, "io_uring unavailable: %s", \
				   ursa_loop_strerror(__ret));   \
		ASSERT_EQ(0, __ret)                              \
		TH_LOG("ursa_loop_init: %d (%s)", __ret,         \
		       ursa_loop_strerror(__ret));               \
	} while (0)

/**
 * ursa_th_run_until() - Run a loop until a condition holds, or time out.
 * @loop: The loop.
 * @cond: An expression, evaluated before each turn.
 * @timeout_ns: The longest the run may take (ns, on the loop's clock).
 *
 * Runs ursa_loop_run_once(loop, true) while @cond is false. A timer of
 * the loop, armed for @timeout_ns and cancelled on the way out, bounds
 * the wait, so a turn never blocks past the deadline. The run also ends
 * when a turn returns an error. Call it from the test's own thread, never
 * from a callback of @loop.
 *
 * Return: the value of @cond at the end, as a bool.
 */
#define ursa_th_run_until(loop, cond, timeout_ns)                             \
	({                                                                    \
		struct __ursa_th_guard __g = { .fired = false };              \
		ursa_timer_init(&__g.timer, __ursa_th_guard_fn);              \
		if (ursa_timer_start(loop, &__g.timer, (timeout_ns), 0) == 0) \
			while (!(cond) && !__g.fired)                         \
				if (ursa_loop_run_once(loop, true) < 0)       \
					break;                                \
		ursa_timer_cancel(&__g.timer);                                \
		(bool)(cond);                                                 \
	})

/**
 * ursa_th_run_for() - Run a loop for a while, whatever happens.
 * @loop: The loop.
 * @ns: How long (ns).
 *
 * Catches a late or second completion: run the loop on, then check that
 * nothing more happened. Same context as ursa_th_run_until().
 */
#define ursa_th_run_for(loop, ns) ((void)ursa_th_run_until(loop, false, ns))

/**
 * ursa_th_run_until_done() - Run a loop until a deferred completes.
 * @loop: The loop.
 * @d: The deferred awaited.
 * @timeout_ns: The longest the run may take (ns).
 *
 * ursa_th_run_until() on ursa_deferred_is_done(@d).
 *
 * Context: the test's own thread, never a callback of @loop.
 *
 * Return: true when @d completed in time, false on timeout or when a
 * turn of the loop failed.
 */
static inline bool ursa_th_run_until_done(struct ursa_loop *loop,
					  struct ursa_deferred *d,
					  uint64_t timeout_ns)
{
	return ursa_th_run_until(loop, ursa_deferred_is_done(d), timeout_ns);
}

/**
 * ASSERT_DONE_WITHIN() - Run a loop until a deferred completes, or fail.
 * @loop: The loop.
 * @d: The deferred awaited.
 * @timeout_ns: The longest the run may take (ns).
 *
 * Fails the test and ends it, naming @d and the timeout, when @d is not
 * done in time. Follow it with TH_LOG() for more context. Use it in a
 * test body, like the other ASSERT_*() macros.
 */
#define ASSERT_DONE_WITHIN(loop, d, timeout_ns)                  \
	ASSERT_TRUE(ursa_th_run_until_done(loop, d, timeout_ns)) \
	TH_LOG("deferred %s not done within %llu ns", #d,        \
	       (unsigned long long)(timeout_ns))

/**
 * EXPECT_DONE_WITHIN() - Run a loop until a deferred completes, or mark
 * the test failed and go on.
 * @loop: The loop.
 * @d: The deferred awaited.
 * @timeout_ns: The longest the run may take (ns).
 *
 * As ASSERT_DONE_WITHIN(), but the test continues.
 */
#define EXPECT_DONE_WITHIN(loop, d, timeout_ns)                  \
	EXPECT_TRUE(ursa_th_run_until_done(loop, d, timeout_ns)) \
	TH_LOG("deferred %s not done within %llu ns", #d,        \
	       (unsigned long long)(timeout_ns))

#endif /* URSA_HARNESS_LOOP_H */
