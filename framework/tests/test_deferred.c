// SPDX-License-Identifier: MIT
/*
 * Unit tests of the Deferred. The first fifteen mirror Effect's
 * Deferred.test.ts case for case, under the same names; the rest cover
 * what ursa adds: waiter cancel, FIFO wake-up, never-inline callbacks,
 * re-entrant callbacks and a million waiters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <ursa/deferred.h>

static struct ursa_runq rq;

/* A waiter that records the exit it was given, and how often it ran. */
struct probe {
	struct ursa_waiter w;
	struct ursa_exit exit;
	int runs;
	int order;
};

static int run_counter;

static void probe_fn(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	struct probe *p = ursa_container_of(w, struct probe, w);

	p->exit = *exit;
	p->runs++;
	p->order = ++run_counter;
}

static void probe_init(struct probe *p)
{
	ursa_waiter_init(&p->w, &rq, probe_fn);
	p->runs = 0;
	p->order = 0;
}

/* Effect's Deferred.await, as a callback waiter drained to completion. */
static struct ursa_exit await_now(struct ursa_deferred *d)
{
	struct probe p;

	probe_init(&p);
	assert_int_equal(ursa_deferred_await(d, &p.w), 0);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(p.runs, 1);
	return p.exit;
}

static int setup(void **state)
{
	ursa_runq_init(&rq, 0);
	run_counter = 0;
	return 0;
}

static int teardown(void **state)
{
	/* Nothing may be left queued by a test. */
	assert_false(ursa_runq_has_work(&rq));
	return 0;
}

static struct ursa_exit update_and_get(void *arg)
{
	int64_t *ref = arg;

	return ursa_exit_success(++*ref);
}

struct error_list {
	int errs[2];
	int next;
};

/* Ref.modify over a list of errors, flipped: each call fails with the next. */
static struct ursa_exit pop_error(void *arg)
{
	struct error_list *l = arg;

	return ursa_exit_failure(l->errs[l->next++]);
}

static struct ursa_exit succeed_9(void *arg)
{
	return ursa_exit_success(9);
}

static void complete_a_deferred_using_succeed(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_succeed(&d, 32));
	e = await_now(&d);
	assert_int_equal(e.kind, URSA_EXIT_SUCCESS);
	assert_int_equal(e.val, 32);
}

static void complete_a_deferred_using_complete(void **state)
{
	struct ursa_deferred d;
	int64_t ref = 13;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_complete(&d, update_and_get, &ref));
	assert_int_equal(await_now(&d).val, 14);
	assert_int_equal(await_now(&d).val, 14);
	assert_int_equal(ref, 14);
}

static void complete_a_deferred_using_complete_with(void **state)
{
	struct ursa_deferred d;
	int64_t ref = 13;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_complete_with(&d, update_and_get, &ref));
	/* Lazy: nothing ran before anybody awaited. */
	assert_int_equal(ref, 13);
	assert_int_equal(await_now(&d).val, 14);
	assert_int_equal(await_now(&d).val, 15);
}

static void complete_a_deferred_twice(void **state)
{
	struct ursa_deferred d;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_succeed(&d, 1));
	assert_false(ursa_deferred_complete(&d, succeed_9, NULL));
	assert_int_equal(await_now(&d).val, 1);
}

static void fail_a_deferred_using_fail(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_fail(&d, -EIO));
	e = await_now(&d);
	assert_int_equal(e.kind, URSA_EXIT_FAILURE);
	assert_int_equal(e.err, -EIO);
}

static void fail_a_deferred_using_complete(void **state)
{
	struct error_list l = { { -EIO, -EPERM }, 0 };
	struct ursa_deferred d;
	struct ursa_exit e1, e2;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_complete(&d, pop_error, &l));
	e1 = await_now(&d);
	e2 = await_now(&d);
	assert_int_equal(e1.kind, URSA_EXIT_FAILURE);
	assert_int_equal(e2.kind, URSA_EXIT_FAILURE);
	/* Memoized: the same, first, error both times. */
	assert_int_equal(e1.err, -EIO);
	assert_int_equal(e2.err, -EIO);
}

static void fail_a_deferred_using_complete_with(void **state)
{
	struct error_list l = { { -EIO, -EPERM }, 0 };
	struct ursa_deferred d;
	struct ursa_exit e1, e2;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_complete_with(&d, pop_error, &l));
	e1 = await_now(&d);
	e2 = await_now(&d);
	assert_int_equal(e1.kind, URSA_EXIT_FAILURE);
	assert_int_equal(e2.kind, URSA_EXIT_FAILURE);
	/* Re-run per awaiter: the first error, then the second. */
	assert_int_equal(e1.err, -EIO);
	assert_int_equal(e2.err, -EPERM);
}

static void is_done_when_a_deferred_is_completed(void **state)
{
	struct ursa_deferred d;

	ursa_deferred_init(&d);
	assert_false(ursa_deferred_is_done(&d));
	ursa_deferred_succeed(&d, 0);
	assert_true(ursa_deferred_is_done(&d));
}

static void is_done_when_a_deferred_is_failed(void **state)
{
	struct ursa_deferred d;

	ursa_deferred_init(&d);
	ursa_deferred_fail(&d, -EINVAL);
	assert_true(ursa_deferred_is_done(&d));
}

static void should_interrupt_a_deferred(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_interrupt(&d));
	e = await_now(&d);
	assert_int_equal(e.kind, URSA_EXIT_INTERRUPT);
	assert_int_equal(e.err, -ECANCELED);
	/* Outside any task the interrupter's id is 0. */
	assert_int_equal(e.id, 0);
}

static void poll_a_deferred_that_is_not_completed_yet(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e = ursa_exit_success(777);

	ursa_deferred_init(&d);
	assert_false(ursa_deferred_poll(&d, &e));
	/* Untouched while pending. */
	assert_int_equal(e.val, 777);
}

static void poll_a_deferred_that_is_completed(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	ursa_deferred_succeed(&d, 12);
	assert_true(ursa_deferred_poll(&d, &e));
	assert_int_equal(e.kind, URSA_EXIT_SUCCESS);
	assert_int_equal(e.val, 12);
}

static void poll_a_deferred_that_is_failed(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	ursa_deferred_fail(&d, -ENOENT);
	assert_true(ursa_deferred_poll(&d, &e));
	assert_int_equal(e.kind, URSA_EXIT_FAILURE);
	assert_int_equal(e.err, -ENOENT);
}

static void poll_a_deferred_that_is_interrupted(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	ursa_deferred_interrupt_with(&d, 42);
	assert_true(ursa_deferred_poll(&d, &e));
	assert_int_equal(e.kind, URSA_EXIT_INTERRUPT);
	assert_int_equal(e.id, 42);
}

/*
 * "is subtype of Effect": in C a deferred is awaited directly, with a
 * waiter; two awaits of a completed one give the memoized 14 twice.
 */
static void awaiting_a_deferred_twice_gives_the_same_value(void **state)
{
	struct ursa_deferred d;
	int64_t ref = 13;

	ursa_deferred_init(&d);
	ursa_deferred_complete(&d, update_and_get, &ref);
	assert_int_equal(await_now(&d).val, 14);
	assert_int_equal(await_now(&d).val, 14);
}

/* ---- ursa's own cases ---- */

static void complete_runs_its_computation_even_when_it_loses(void **state)
{
	struct ursa_deferred d;
	int64_t ref = 0;

	ursa_deferred_init(&d);
	ursa_deferred_succeed(&d, 5);
	assert_false(ursa_deferred_complete(&d, update_and_get, &ref));
	assert_int_equal(ref, 1);
	assert_int_equal(await_now(&d).val, 5);
}

static void complete_with_never_runs_without_awaiters(void **state)
{
	struct ursa_deferred d;
	int64_t ref = 0;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_complete_with(&d, update_and_get, &ref));
	assert_false(ursa_deferred_complete_with(&d, update_and_get, &ref));
	assert_false(ursa_deferred_succeed(&d, 3));
	assert_true(ursa_deferred_is_done(&d));
	assert_int_equal(ref, 0);
	/* poll computes afresh, like an await. */
	{
		struct ursa_exit e;

		assert_true(ursa_deferred_poll(&d, &e));
		assert_int_equal(e.val, 1);
		assert_true(ursa_deferred_poll(&d, NULL));
		assert_int_equal(ref, 1);
	}
}

static void every_completion_after_the_first_returns_false(void **state)
{
	struct ursa_exit die = ursa_exit_die(-EFAULT);
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	assert_true(ursa_deferred_die(&d, -EFAULT));
	assert_false(ursa_deferred_succeed(&d, 1));
	assert_false(ursa_deferred_succeed_ptr(&d, &d));
	assert_false(ursa_deferred_fail(&d, -EIO));
	assert_false(ursa_deferred_die(&d, -EIO));
	assert_false(ursa_deferred_interrupt(&d));
	assert_false(ursa_deferred_interrupt_with(&d, 9));
	assert_false(ursa_deferred_done(&d, &die));
	assert_false(ursa_deferred_complete(&d, succeed_9, NULL));
	assert_false(ursa_deferred_complete_with(&d, succeed_9, NULL));
	e = await_now(&d);
	assert_int_equal(e.kind, URSA_EXIT_DIE);
	assert_int_equal(e.err, -EFAULT);
}

static void succeed_ptr_carries_a_pointer(void **state)
{
	struct ursa_deferred d;
	int object;

	ursa_deferred_init(&d);
	ursa_deferred_succeed_ptr(&d, &object);
	assert_ptr_equal(await_now(&d).ptr, &object);
}

static void waiters_are_woken_in_fifo_order(void **state)
{
	struct ursa_deferred d;
	struct probe p[8];
	int i;

	ursa_deferred_init(&d);
	for (i = 0; i < 8; i++) {
		probe_init(&p[i]);
		ursa_deferred_await(&d, &p[i].w);
	}
	ursa_deferred_succeed(&d, 7);
	ursa_runq_drain(&rq, 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(p[i].runs, 1);
		assert_int_equal(p[i].order, i + 1);
		assert_int_equal(p[i].exit.val, 7);
	}
}

static void wake_up_is_never_inline(void **state)
{
	struct ursa_deferred d;
	struct probe a, b;

	ursa_deferred_init(&d);
	probe_init(&a);
	probe_init(&b);
	ursa_deferred_await(&d, &a.w);
	ursa_deferred_succeed(&d, 1);
	/* Completion only queues: the completer keeps running first. */
	assert_int_equal(a.runs, 0);
	assert_true(ursa_waiter_is_pending(&a.w));
	/* Awaiting a done deferred does not call back inline either. */
	ursa_deferred_await(&d, &b.w);
	assert_int_equal(b.runs, 0);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 1);
	assert_false(ursa_waiter_is_pending(&a.w));
}

static void await_with_a_busy_waiter_is_refused(void **state)
{
	struct ursa_deferred d1, d2;
	struct probe p;

	ursa_deferred_init(&d1);
	ursa_deferred_init(&d2);
	probe_init(&p);
	assert_int_equal(ursa_deferred_await(&d1, &p.w), 0);
	assert_int_equal(ursa_deferred_await(&d2, &p.w), -EBUSY);
	ursa_deferred_succeed(&d1, 1);
	/* Queued is busy too. */
	assert_int_equal(ursa_deferred_await(&d2, &p.w), -EBUSY);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(p.runs, 1);
	assert_int_equal(ursa_deferred_await(&d2, &p.w), 0);
	ursa_waiter_cancel(&p.w);
}

static void
cancelling_a_waiting_waiter_leaves_the_deferred_pending(void **state)
{
	struct ursa_deferred d;
	struct probe a, b, c;

	ursa_deferred_init(&d);
	probe_init(&a);
	probe_init(&b);
	probe_init(&c);
	ursa_deferred_await(&d, &a.w);
	ursa_deferred_await(&d, &b.w);
	ursa_deferred_await(&d, &c.w);
	assert_true(ursa_waiter_cancel(&b.w));
	assert_false(ursa_waiter_cancel(&b.w));
	assert_false(ursa_deferred_is_done(&d));
	ursa_deferred_succeed(&d, 3);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(a.runs, 1);
	assert_int_equal(b.runs, 0);
	assert_int_equal(c.runs, 1);
	assert_true(a.order < c.order);
}

static void cancelling_a_woken_waiter_stops_its_callback(void **state)
{
	struct ursa_deferred d;
	struct probe a;

	ursa_deferred_init(&d);
	probe_init(&a);
	ursa_deferred_await(&d, &a.w);
	ursa_deferred_succeed(&d, 3);
	assert_true(ursa_waiter_cancel(&a.w));
	ursa_runq_drain(&rq, 0);
	assert_int_equal(a.runs, 0);
	assert_false(ursa_waiter_cancel(&a.w));
}

/* Re-entrancy: what a waiter callback may do to its siblings. */
struct reentrant {
	struct ursa_waiter w;
	struct ursa_deferred *other;
	struct probe *victim;
	struct probe *extra;
	struct ursa_deferred *self_deferred;
	int runs;
	int order;
};

static void reentrant_fn(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	struct reentrant *r = ursa_container_of(w, struct reentrant, w);

	r->runs++;
	r->order = ++run_counter;
	if (r->other)
		assert_true(ursa_deferred_succeed(r->other, exit->val + 1));
	if (r->victim)
		assert_true(ursa_waiter_cancel(&r->victim->w));
	if (r->extra)
		assert_int_equal(
			ursa_deferred_await(r->self_deferred, &r->extra->w), 0);
}

static void a_callback_may_complete_another_deferred(void **state)
{
	struct ursa_deferred d1, d2;
	struct reentrant r = { 0 };
	struct probe tail, chained;

	ursa_deferred_init(&d1);
	ursa_deferred_init(&d2);
	ursa_waiter_init(&r.w, &rq, reentrant_fn);
	r.other = &d2;
	probe_init(&tail);
	probe_init(&chained);
	ursa_deferred_await(&d1, &r.w);
	ursa_deferred_await(&d1, &tail.w);
	ursa_deferred_await(&d2, &chained.w);
	ursa_deferred_succeed(&d1, 10);
	ursa_runq_drain(&rq, 0);
	/* d2's waiter joins the tail, after d1's remaining waiter. */
	assert_int_equal(r.order, 1);
	assert_int_equal(tail.order, 2);
	assert_int_equal(chained.order, 3);
	assert_int_equal(chained.exit.val, 11);
}

static void a_callback_may_cancel_a_sibling_waiter(void **state)
{
	struct ursa_deferred d;
	struct reentrant r = { 0 };
	struct probe victim;

	ursa_deferred_init(&d);
	ursa_waiter_init(&r.w, &rq, reentrant_fn);
	probe_init(&victim);
	r.victim = &victim;
	ursa_deferred_await(&d, &r.w);
	ursa_deferred_await(&d, &victim.w);
	ursa_deferred_succeed(&d, 1);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(r.runs, 1);
	/* Woken and queued, then cancelled before its turn: it never runs. */
	assert_int_equal(victim.runs, 0);
}

static void a_callback_may_add_a_waiter_to_its_done_deferred(void **state)
{
	struct ursa_deferred d;
	struct reentrant r = { 0 };
	struct probe extra;

	ursa_deferred_init(&d);
	ursa_waiter_init(&r.w, &rq, reentrant_fn);
	probe_init(&extra);
	r.extra = &extra;
	r.self_deferred = &d;
	ursa_deferred_await(&d, &r.w);
	ursa_deferred_succeed(&d, 4);
	assert_int_equal(ursa_runq_run(&rq), 2);
	assert_int_equal(extra.runs, 1);
	assert_int_equal(extra.exit.val, 4);
}

/* A waiter that frees itself from its own callback (run under ASan). */
static void free_self_fn(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	run_counter += (int)exit->val;
	free(w);
}

static void a_callback_may_free_its_waiter(void **state)
{
	struct ursa_deferred d;
	struct ursa_waiter *w = malloc(sizeof(*w));

	assert_non_null(w);
	ursa_deferred_init(&d);
	ursa_waiter_init(w, &rq, free_self_fn);
	ursa_deferred_await(&d, w);
	ursa_deferred_succeed(&d, 5);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(run_counter, 5);
}

static void the_deferred_may_be_reused_once_its_waiters_ran(void **state)
{
	struct ursa_deferred d;

	ursa_deferred_init(&d);
	ursa_deferred_succeed(&d, 1);
	assert_int_equal(await_now(&d).val, 1);
	ursa_deferred_init(&d);
	assert_false(ursa_deferred_is_done(&d));
	ursa_deferred_fail(&d, -EAGAIN);
	assert_int_equal(await_now(&d).err, -EAGAIN);
}

static void
woken_waiters_keep_their_result_after_the_deferred_is_reused(void **state)
{
	struct ursa_deferred d;
	struct probe p;

	ursa_deferred_init(&d);
	probe_init(&p);
	ursa_deferred_await(&d, &p.w);
	ursa_deferred_succeed(&d, 21);
	/* The waiter is queued; the deferred's memory is reused meanwhile. */
	ursa_deferred_init(&d);
	ursa_deferred_succeed(&d, 99);
	ursa_runq_drain(&rq, 0);
	assert_int_equal(p.exit.val, 21);
}

static void a_million_waiters_on_one_deferred(void **state)
{
	const int n = 1000000;
	struct ursa_deferred d;
	struct probe *p = calloc(n, sizeof(*p));
	uint64_t ran;
	int i;

	assert_non_null(p);
	ursa_deferred_init(&d);
	for (i = 0; i < n; i++) {
		probe_init(&p[i]);
		assert_int_equal(ursa_deferred_await(&d, &p[i].w), 0);
	}
	ursa_deferred_succeed(&d, 8);
	/* The budget bounds each batch; draining takes many batches. */
	assert_int_equal(ursa_runq_run(&rq), URSA_RUNQ_DEFAULT_BUDGET);
	ran = URSA_RUNQ_DEFAULT_BUDGET + ursa_runq_drain(&rq, 0);
	assert_int_equal(ran, n);
	for (i = 0; i < n; i++) {
		if (p[i].runs != 1 || p[i].order != i + 1 || p[i].exit.val != 8)
			fail_msg("waiter %d: runs %d order %d val %lld", i,
				 p[i].runs, p[i].order,
				 (long long)p[i].exit.val);
	}
	free(p);
}

static void exit_from_res_follows_io_uring(void **state)
{
	struct ursa_exit e;

	e = ursa_exit_from_res(4096);
	assert_int_equal(e.kind, URSA_EXIT_SUCCESS);
	assert_int_equal(ursa_exit_res(&e), 4096);
	e = ursa_exit_from_res(-ECANCELED);
	assert_true(ursa_exit_is_interrupt(&e));
	assert_int_equal(ursa_exit_res(&e), -ECANCELED);
	e = ursa_exit_from_res(-EPIPE);
	assert_int_equal(e.kind, URSA_EXIT_FAILURE);
	assert_int_equal(ursa_exit_res(&e), -EPIPE);
	assert_string_equal(ursa_exit_kind_name(URSA_EXIT_DIE), "die");
	assert_string_equal(ursa_exit_kind_name(77), "invalid");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(complete_a_deferred_using_succeed),
		T(complete_a_deferred_using_complete),
		T(complete_a_deferred_using_complete_with),
		T(complete_a_deferred_twice),
		T(fail_a_deferred_using_fail),
		T(fail_a_deferred_using_complete),
		T(fail_a_deferred_using_complete_with),
		T(is_done_when_a_deferred_is_completed),
		T(is_done_when_a_deferred_is_failed),
		T(should_interrupt_a_deferred),
		T(poll_a_deferred_that_is_not_completed_yet),
		T(poll_a_deferred_that_is_completed),
		T(poll_a_deferred_that_is_failed),
		T(poll_a_deferred_that_is_interrupted),
		T(awaiting_a_deferred_twice_gives_the_same_value),
		T(complete_runs_its_computation_even_when_it_loses),
		T(complete_with_never_runs_without_awaiters),
		T(every_completion_after_the_first_returns_false),
		T(succeed_ptr_carries_a_pointer),
		T(waiters_are_woken_in_fifo_order),
		T(wake_up_is_never_inline),
		T(await_with_a_busy_waiter_is_refused),
		T(cancelling_a_waiting_waiter_leaves_the_deferred_pending),
		T(cancelling_a_woken_waiter_stops_its_callback),
		T(a_callback_may_complete_another_deferred),
		T(a_callback_may_cancel_a_sibling_waiter),
		T(a_callback_may_add_a_waiter_to_its_done_deferred),
		T(a_callback_may_free_its_waiter),
		T(the_deferred_may_be_reused_once_its_waiters_ran),
		T(woken_waiters_keep_their_result_after_the_deferred_is_reused),
		T(a_million_waiters_on_one_deferred),
		T(exit_from_res_follows_io_uring),
	};

	return cmocka_run_group_tests_name("deferred", tests, NULL, NULL);
}
