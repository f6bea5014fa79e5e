// SPDX-License-Identifier: MIT
/*
 * Unit tests of tasks: fork and join, interruption while awaiting each
 * kind of primitive, uninterruptible regions, finalizer order, nested
 * scopes, groups, 100,000 live tasks, and stack overflow detection.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <valgrind/valgrind.h>

#include <generated/autoconf.h>
#include <ursa/err.h>
#include <ursa/task.h>

#if defined(__x86_64__) && defined(CONFIG_URSA_CTX_SAVE_FPENV)
#include <xmmintrin.h>
#define TEST_FPENV 1
#endif

static struct ursa_runq rq;
static int order[64];
static int norder;

static void mark(int v)
{
	if (norder < 64)
		order[norder++] = v;
}

static int setup(void **state)
{
	ursa_runq_init(&rq, 0);
	norder = 0;
	return 0;
}

static int teardown(void **state)
{
	ursa_runq_drain(&rq, 0);
	assert_int_equal(rq.nr_tasks, 0);
	return 0;
}

static struct ursa_task *spawn(ursa_task_fn *fn, void *arg)
{
	struct ursa_task *t = ursa_task_spawn(&rq, fn, arg, NULL);

	assert_false(IS_ERR(t));
	return t;
}

static void drain(void)
{
	ursa_runq_drain(&rq, 0);
}

/* Run @fn as a task to completion and return its exit. */
static struct ursa_exit run_task(ursa_task_fn *fn, void *arg)
{
	struct ursa_task *t = spawn(fn, arg);
	struct ursa_exit e;

	drain();
	assert_true(ursa_deferred_poll(ursa_task_done(t), &e));
	ursa_task_release(t);
	return e;
}

static struct ursa_exit return_arg(void *arg)
{
	mark(1);
	return ursa_exit_success((int64_t)(intptr_t)arg);
}

static struct ursa_exit joiner(void *arg)
{
	struct ursa_task *child = spawn(return_arg, (void *)(intptr_t)41);
	struct ursa_exit e = ursa_task_join(child);

	return ursa_exit_success(e.val + 1);
}

static void fork_and_join(void **state)
{
	struct ursa_exit e = run_task(joiner, NULL);

	assert_int_equal(e.kind, URSA_EXIT_SUCCESS);
	assert_int_equal(e.val, 42);
}

static void spawn_never_runs_the_task_inline(void **state)
{
	struct ursa_task *t = spawn(return_arg, NULL);

	assert_int_equal(norder, 0);
	drain();
	assert_int_equal(norder, 1);
	ursa_task_release(t);
}

static struct ursa_deferred dd;

static struct ursa_exit await_done_then_mark(void *arg)
{
	ursa_await(&dd);
	mark(1);
	return ursa_exit_success(0);
}

static struct ursa_exit mark_two(void *arg)
{
	mark(2);
	return ursa_exit_success(0);
}

static void awaiting_a_done_deferred_does_not_switch(void **state)
{
	struct ursa_task *a, *b;

	ursa_deferred_init(&dd);
	ursa_deferred_succeed(&dd, 1);
	a = spawn(await_done_then_mark, NULL);
	b = spawn(mark_two, NULL);
	drain();
	/* a kept running through the await; b ran after. */
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	ursa_task_release(a);
	ursa_task_release(b);
}

static struct ursa_exit yielder(void *arg)
{
	mark((int)(intptr_t)arg);
	assert_int_equal(ursa_task_yield(), 0);
	mark((int)(intptr_t)arg + 10);
	return ursa_exit_success(0);
}

static void yield_lets_the_others_run_first(void **state)
{
	struct ursa_task *a = spawn(yielder, (void *)1);
	struct ursa_task *b = spawn(yielder, (void *)2);

	drain();
	assert_int_equal(norder, 4);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 11);
	assert_int_equal(order[3], 12);
	ursa_task_release(a);
	ursa_task_release(b);
}

static struct ursa_exit yield_twice_marking(void *arg)
{
	int id = (int)(intptr_t)arg;

	mark(id);
	assert_int_equal(ursa_task_yield(), 0);
	mark(id + 10);
	assert_int_equal(ursa_task_yield(), 0);
	mark(id + 20);
	return ursa_exit_success(0);
}

/* A yield goes behind every task that is ready, not only the next one. */
static void yield_queues_the_task_behind_every_ready_task(void **state)
{
	static const int want[] = { 1, 2, 3, 11, 12, 13, 21, 22, 23 };
	struct ursa_task *t[3];
	unsigned int i;

	for (i = 0; i < 3; i++)
		t[i] = spawn(yield_twice_marking, (void *)(intptr_t)(i + 1));
	drain();
	assert_int_equal(norder, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(order[i], want[i]);
	for (i = 0; i < 3; i++)
		ursa_task_release(t[i]);
}

static struct ursa_exit yield_until_cancelled(void *arg)
{
	int i, ret = 0;

	/* Inside the region, the interruption does not cut the yield short. */
	ursa_task_uninterruptible(true);
	for (i = 0; i < 3; i++)
		assert_int_equal(ursa_task_yield(), 0);
	ursa_task_uninterruptible(false);
	for (i = 0; i < 100 && ret == 0; i++)
		ret = ursa_task_yield();
	mark(ret == -ECANCELED ? 100 + i : ret);
	return ursa_exit_success(0);
}

static struct ursa_exit interrupt_arg(void *arg)
{
	/* The yielder's resumption is next in line: it switches straight here. */
	assert_true(ursa_task_interrupt(arg));
	mark(1);
	return ursa_exit_success(0);
}

static void a_yield_after_an_interrupt_returns_ecanceled(void **state)
{
	struct ursa_task *a = spawn(yield_until_cancelled, NULL);
	struct ursa_task *b = spawn(interrupt_arg, a);
	struct ursa_exit e;

	drain();
	/* b interrupted a during a's first yield; a saw it after the region. */
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 101);
	assert_true(ursa_deferred_poll(ursa_task_done(a), &e));
	assert_int_equal(e.kind, URSA_EXIT_INTERRUPT);
	assert_int_equal(e.id, ursa_task_id(b));
	ursa_task_release(a);
	ursa_task_release(b);
}

/*
 * A task that suspends switches straight to the next task in line when
 * the head of the run queue only resumes one; anything else still runs
 * from the scheduler. Either way the order is the run queue's FIFO order.
 */
static struct ursa_work cb_work;
static bool cb_saw_a_task;

static void cb_mark(struct ursa_work *w)
{
	cb_saw_a_task = ursa_task_current() != NULL;
	mark(30);
}

static struct ursa_exit queue_cb_and_yield(void *arg)
{
	mark(10);
	ursa_runq_queue(&rq, &cb_work);
	ursa_task_yield();
	mark(11);
	ursa_task_yield();
	mark(12);
	return ursa_exit_success(0);
}

static struct ursa_exit yield_twice(void *arg)
{
	mark(20);
	ursa_task_yield();
	mark(21);
	ursa_task_yield();
	mark(22);
	return ursa_exit_success(0);
}

static void switches_keep_fifo_order_with_callbacks(void **state)
{
	static const int want[] = { 10, 20, 30, 11, 21, 12, 22 };
	struct ursa_task *a, *b;
	unsigned int i;

	ursa_work_init(&cb_work, cb_mark);
	cb_saw_a_task = true;
	a = spawn(queue_cb_and_yield, NULL);
	b = spawn(yield_twice, NULL);
	drain();
	assert_int_equal(norder, 7);
	for (i = 0; i < 7; i++)
		assert_int_equal(order[i], want[i]);
	/* The callback ran from the scheduler, not inside a task. */
	assert_false(cb_saw_a_task);
	ursa_task_release(a);
	ursa_task_release(b);
}

static unsigned int steps;

static struct ursa_exit count_steps(void *arg)
{
	int i;

	steps++;
	for (i = 0; i < 100; i++) {
		assert_int_equal(ursa_task_yield(), 0);
		steps++;
	}
	return ursa_exit_success(0);
}

static void the_budget_counts_task_to_task_switches(void **state)
{
	struct ursa_task *a, *b;
	unsigned int n, total = 0, calls = 0;

	ursa_runq_init(&rq, 4);
	a = spawn(count_steps, NULL);
	b = spawn(count_steps, NULL);
	/*
	 * Each start and each return from a yield is one run queue item,
	 * whether the scheduler or the yielding task ran it: a batch stops
	 * after 4, so the loop still gets control back between batches.
	 */
	while (ursa_runq_has_work(&rq)) {
		n = ursa_runq_run(&rq);
		assert_true(n >= 1 && n <= 4);
		total += n;
		calls++;
		assert_int_equal(steps, total);
		assert_int_equal(rq.batch_left, 0);
	}
	assert_int_equal(total, 2 + 2 * 100);
	assert_int_equal(rq.nr_run, total);
	assert_true(calls >= total / 4);
	steps = 0;
	ursa_task_release(a);
	ursa_task_release(b);
}

static struct ursa_exit lazy_effect(void *arg)
{
	mark(ursa_task_current() ? 1 : 0);
	return ursa_exit_success(5);
}

static struct ursa_exit await_lazy(void *arg)
{
	struct ursa_exit e = ursa_await(arg);

	assert_int_equal(e.val, 5);
	mark(2);
	return ursa_exit_success(0);
}

static struct ursa_exit complete_lazily(void *arg)
{
	ursa_deferred_complete_with(arg, lazy_effect, NULL);
	/* Suspend with the lazy waiter at the head of the queue. */
	ursa_task_yield();
	mark(3);
	return ursa_exit_success(0);
}

static void a_lazy_effect_runs_outside_any_task(void **state)
{
	struct ursa_deferred d;
	struct ursa_task *a, *b;

	ursa_deferred_init(&d);
	a = spawn(await_lazy, &d);
	b = spawn(complete_lazily, &d);
	drain();
	/* The effect ran from the scheduler (0), then the awaiter, then b. */
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	ursa_task_release(a);
	ursa_task_release(b);
}

#ifdef TEST_FPENV
/*
 * With CONFIG_URSA_CTX_SAVE_FPENV, a task's MXCSR rounding mode is its
 * own: the next task does not see it, and it is back after the switch.
 */
#define MXCSR_RC 0x6000u
#define MXCSR_RC_UP 0x4000u

static struct ursa_exit round_up_and_yield(void *arg)
{
	unsigned int saved = _mm_getcsr();

	_mm_setcsr((saved & ~MXCSR_RC) | MXCSR_RC_UP);
	ursa_task_yield();
	mark((_mm_getcsr() & MXCSR_RC) == MXCSR_RC_UP);
	_mm_setcsr(saved);
	return ursa_exit_success(0);
}

static struct ursa_exit see_round_to_nearest(void *arg)
{
	mark(10 + ((_mm_getcsr() & MXCSR_RC) == 0));
	ursa_task_yield();
	return ursa_exit_success(0);
}

static void each_task_keeps_its_fp_environment(void **state)
{
	struct ursa_task *a = spawn(round_up_and_yield, NULL);
	struct ursa_task *b = spawn(see_round_to_nearest, NULL);

	drain();
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 11);
	assert_int_equal(order[1], 1);
	assert_int_equal(_mm_getcsr() & MXCSR_RC, 0);
	ursa_task_release(a);
	ursa_task_release(b);
}
#endif

static void outside_a_task_awaits_are_refused(void **state)
{
	struct ursa_deferred d;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	e = ursa_await(&d);
	assert_int_equal(e.kind, URSA_EXIT_DIE);
	assert_int_equal(e.err, -EPERM);
	assert_int_equal(ursa_task_yield(), -EPERM);
	assert_null(ursa_task_current());
	assert_int_equal(ursa_task_id(NULL), 0);
	assert_true(IS_ERR(ursa_task_spawn(&rq, NULL, NULL, NULL)));
}

/* ---- interruption while awaiting each kind of primitive ---- */

static struct ursa_exit await_deferred(void *arg)
{
	struct ursa_exit e = ursa_await(arg);

	mark(e.kind == URSA_EXIT_INTERRUPT ? 100 : 1);
	return e;
}

static void interrupting_an_await_on_a_deferred(void **state)
{
	struct ursa_deferred d;
	struct ursa_task *t;
	struct ursa_exit e;

	ursa_deferred_init(&d);
	t = spawn(await_deferred, &d);
	drain();
	assert_true(ursa_task_interrupt(t));
	/* Twice is the same as once. */
	assert_false(ursa_task_interrupt(t));
	drain();
	assert_int_equal(order[0], 100);
	assert_true(ursa_deferred_poll(ursa_task_done(t), &e));
	assert_int_equal(e.kind, URSA_EXIT_INTERRUPT);
	/* The deferred itself is untouched. */
	assert_false(ursa_deferred_is_done(&d));
	ursa_task_release(t);
}

static void an_interrupt_before_the_start_ends_the_first_await(void **state)
{
	struct ursa_deferred d;
	struct ursa_task *t;

	ursa_deferred_init(&d);
	ursa_deferred_succeed(&d, 1);
	t = spawn(await_deferred, &d);
	ursa_task_interrupt(t);
	drain();
	assert_int_equal(order[0], 100);
	ursa_task_release(t);
}

static struct ursa_exit take_input(void *arg)
{
	struct ursa_exit e;
	int what = ursa_await_input_take(arg, &e);

	mark(what == -ECANCELED ? 100 : (int)e.val);
	return ursa_exit_success(what);
}

static void interrupting_an_input_take_loses_no_element(void **state)
{
	struct ursa_input in;
	struct ursa_task *a, *b;

	ursa_input_init(&in);
	a = spawn(take_input, &in);
	b = spawn(take_input, &in);
	drain();
	/* a is woken for 7, then interrupted before it runs. */
	ursa_input_emit(&in, 7, NULL);
	ursa_task_interrupt(a);
	drain();
	/* The element went to b; a saw the interruption (in either order). */
	assert_int_equal(norder, 2);
	assert_int_equal(order[0] + order[1], 107);
	assert_true(order[0] == 7 || order[1] == 7);
	ursa_task_release(a);
	ursa_task_release(b);
}

static struct ursa_exit emit_input(void *arg)
{
	int ret = ursa_await_input_emit(arg, 5);

	mark(ret == -ECANCELED ? 100 : 1);
	return ursa_exit_success(0);
}

static void interrupting_an_input_emit_leaves_the_element(void **state)
{
	struct ursa_input in;
	struct ursa_task *p, *c;

	ursa_input_init(&in);
	p = spawn(emit_input, &in);
	drain();
	ursa_task_interrupt(p);
	drain();
	assert_int_equal(order[0], 100);
	ursa_task_release(p);
	/* The producer is gone, but its element is still there. */
	c = spawn(take_input, &in);
	drain();
	assert_int_equal(order[1], 5);
	ursa_task_release(c);
}

static struct ursa_exit await_read(void *arg)
{
	mark(ursa_await_input_read(arg) == -ECANCELED ? 100 : 1);
	return ursa_exit_success(0);
}

static void interrupting_an_await_read(void **state)
{
	struct ursa_input in;
	struct ursa_task *t;

	ursa_input_init(&in);
	t = spawn(await_read, &in);
	drain();
	ursa_task_interrupt(t);
	drain();
	assert_int_equal(order[0], 100);
	ursa_task_release(t);
}

static struct ursa_exit take_emit(void *arg)
{
	struct ursa_emit_entry ent;
	int what = ursa_await_emit_take(arg, &ent, NULL);

	mark(what == -ECANCELED ? 100 : (int)ent.val);
	return ursa_exit_success(0);
}

static struct ursa_exit await_room(void *arg)
{
	int ret = ursa_await_emit_room(arg);

	mark(ret == -ECANCELED ? 100 : ret == 0 ? 1 : 2);
	return ursa_exit_success(0);
}

static void interrupting_emit_buffer_awaits(void **state)
{
	struct ursa_emit em;
	struct ursa_task *a, *b, *r;

	assert_int_equal(ursa_emit_init(&em, &rq, 1, URSA_EMIT_SUSPEND), 0);
	a = spawn(take_emit, &em);
	b = spawn(take_emit, &em);
	drain();
	ursa_emit_single(&em, 9);
	ursa_task_interrupt(a);
	drain();
	assert_int_equal(norder, 2);
	assert_int_equal(order[0] + order[1], 109);
	assert_true(order[0] == 9 || order[1] == 9);
	/* Full buffer: a producer waiting for room, interrupted. */
	ursa_emit_single(&em, 10);
	r = spawn(await_room, &em);
	drain();
	ursa_task_interrupt(r);
	drain();
	assert_int_equal(order[2], 100);
	ursa_task_release(a);
	ursa_task_release(b);
	ursa_task_release(r);
	ursa_emit_destroy(&em);
}

struct unint {
	struct ursa_deferred d1, d2;
	int r1, r2;
};

static struct ursa_exit uninterruptible_body(void *arg)
{
	struct unint *u = arg;

	ursa_task_uninterruptible(true);
	u->r1 = ursa_await(&u->d1).kind;
	ursa_task_uninterruptible(false);
	u->r2 = ursa_await(&u->d2).kind;
	return ursa_exit_success(0);
}

static void an_interrupt_waits_for_the_uninterruptible_region(void **state)
{
	struct ursa_exit e;
	struct ursa_task *t;
	struct unint u;

	ursa_deferred_init(&u.d1);
	ursa_deferred_init(&u.d2);
	t = spawn(uninterruptible_body, &u);
	drain();
	ursa_task_interrupt(t);
	drain();
	/* Still waiting on d1: the region holds the interruption off. */
	assert_true(ursa_deferred_poll(ursa_task_done(t), NULL) == false);
	ursa_deferred_succeed(&u.d1, 1);
	drain();
	assert_int_equal(u.r1, URSA_EXIT_SUCCESS);
	assert_int_equal(u.r2, URSA_EXIT_INTERRUPT);
	assert_true(ursa_deferred_poll(ursa_task_done(t), &e));
	assert_int_equal(e.kind, URSA_EXIT_INTERRUPT);
	assert_int_equal(ursa_task_uninterruptible(false), -EPERM);
	ursa_task_release(t);
}

/* ---- scopes and finalizers ---- */

static void fin_mark(void *arg, const struct ursa_exit *e)
{
	mark((int)(intptr_t)arg + (e->kind == URSA_EXIT_INTERRUPT ? 100 : 0));
}

static struct ursa_exit with_finalizers(void *arg)
{
	struct ursa_deferred *d = arg;
	intptr_t i;

	/* The root scope outlives this frame: the task holds the nodes. */
	for (i = 1; i <= 3; i++)
		assert_int_equal(ursa_scope_add_finalizer(NULL, NULL, fin_mark,
							  (void *)i),
				 0);
	if (d)
		ursa_await(d);
	return ursa_exit_success(0);
}

static struct ursa_exit exhaust_slots(void *arg)
{
	int i, ret = 0;

	for (i = 0; i <= URSA_TASK_FINALIZER_SLOTS && !ret; i++)
		ret = ursa_scope_add_finalizer(NULL, NULL, fin_mark, NULL);
	return ursa_exit_success(ret);
}

static void a_task_holds_a_bounded_number_of_finalizers(void **state)
{
	struct ursa_exit e = run_task(exhaust_slots, NULL);

	assert_int_equal(e.val, -ENOSPC);
	assert_int_equal(norder, URSA_TASK_FINALIZER_SLOTS);
}

static void finalizers_run_last_in_first_out(void **state)
{
	run_task(with_finalizers, NULL);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
}

static void finalizers_run_on_interrupt_and_see_it(void **state)
{
	struct ursa_deferred d;
	struct ursa_task *t;

	ursa_deferred_init(&d);
	t = spawn(with_finalizers, &d);
	drain();
	ursa_task_interrupt(t);
	drain();
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 103);
	assert_int_equal(order[2], 101);
	ursa_task_release(t);
}

static struct ursa_exit nested_scopes(void *arg)
{
	struct ursa_finalizer inner1, inner2;
	struct ursa_scope s;

	ursa_scope_add_finalizer(NULL, NULL, fin_mark, (void *)1);
	assert_int_equal(ursa_scope_open(&s), 0);
	ursa_scope_add_finalizer(NULL, &inner1, fin_mark, (void *)2);
	ursa_scope_add_finalizer(&s, &inner2, fin_mark, (void *)3);
	mark(10);
	assert_int_equal(ursa_scope_close(&s, NULL), 0);
	assert_int_equal(ursa_scope_close(&s, NULL), -EALREADY);
	assert_int_equal(ursa_scope_add_finalizer(&s, &inner1, fin_mark, NULL),
			 -EPIPE);
	mark(20);
	return ursa_exit_success(0);
}

static void nested_scopes_close_inner_first(void **state)
{
	run_task(nested_scopes, NULL);
	assert_int_equal(norder, 5);
	assert_int_equal(order[0], 10);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 20);
	assert_int_equal(order[4], 1);
}

static struct ursa_exit close_outer_first(void *arg)
{
	struct ursa_finalizer f1, f2;
	struct ursa_scope outer, inner;

	ursa_scope_add_finalizer(NULL, NULL, fin_mark, (void *)1);
	assert_int_equal(ursa_scope_open(&outer), 0);
	ursa_scope_add_finalizer(NULL, &f1, fin_mark, (void *)2);
	assert_int_equal(ursa_scope_open(&inner), 0);
	ursa_scope_add_finalizer(NULL, &f2, fin_mark, (void *)3);
	/* Closing the outer scope closes the inner one first. */
	assert_int_equal(ursa_scope_close(&outer, NULL), 0);
	assert_int_equal(ursa_scope_close(&inner, NULL), -EALREADY);
	/* The root scope is current again (it outlives this frame). */
	assert_int_equal(
		ursa_scope_add_finalizer(NULL, NULL, fin_mark, (void *)4), 0);
	mark(20);
	return ursa_exit_success(7);
}

static void closing_an_outer_scope_closes_the_inner_first(void **state)
{
	struct ursa_exit e = run_task(close_outer_first, NULL);

	assert_int_equal(e.kind, URSA_EXIT_SUCCESS);
	assert_int_equal(e.val, 7);
	assert_int_equal(norder, 5);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 20);
	assert_int_equal(order[3], 4);
	assert_int_equal(order[4], 1);
}

static struct ursa_exit leave_scope_open(void *arg)
{
	static struct ursa_finalizer f;
	static struct ursa_scope s;

	ursa_scope_add_finalizer(NULL, NULL, fin_mark, (void *)1);
	assert_int_equal(ursa_scope_open(&s), 0);
	ursa_scope_add_finalizer(NULL, &f, fin_mark, (void *)2);
	return ursa_exit_success(0);
}

static void returning_with_a_nested_scope_open_dies(void **state)
{
	struct ursa_exit e = run_task(leave_scope_open, NULL);

	/* Only the root scope's finalizer runs; the task dies, it says so. */
	assert_int_equal(e.kind, URSA_EXIT_DIE);
	assert_int_equal(e.err, -EBUSY);
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 1);
}

static void join_outside_a_task_keeps_the_handle(void **state)
{
	struct ursa_task *t = spawn(return_arg, (void *)5);
	struct ursa_exit e;

	drain();
	e = ursa_task_join(t);
	assert_int_equal(e.kind, URSA_EXIT_DIE);
	assert_int_equal(e.err, -EPERM);
	/* Still ours: ASan and valgrind see a use after free otherwise. */
	assert_true(ursa_deferred_poll(ursa_task_done(t), &e));
	assert_int_equal(e.val, 5);
	ursa_task_release(t);
}

static struct ursa_exit acquire_ok(void *arg)
{
	mark(1);
	return ursa_exit_success(0);
}

static struct ursa_exit acquire_fails(void *arg)
{
	mark(2);
	return ursa_exit_failure(-EACCES);
}

static void release_mark(void *arg, const struct ursa_exit *e)
{
	mark(9);
}

static struct ursa_exit acquire_twice(void *arg)
{
	struct ursa_exit e;

	e = ursa_acquire_release(acquire_ok, NULL, release_mark, NULL);
	assert_int_equal(e.kind, URSA_EXIT_SUCCESS);
	e = ursa_acquire_release(acquire_fails, NULL, release_mark, NULL);
	assert_int_equal(e.err, -EACCES);
	mark(5);
	return ursa_exit_success(0);
}

static void acquire_release_registers_only_what_was_acquired(void **state)
{
	run_task(acquire_twice, NULL);
	assert_int_equal(norder, 4);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 5);
	assert_int_equal(order[3], 9);
}

/* A finalizer that awaits: it must run even though the task is interrupted. */
static struct ursa_deferred fin_wait;

static void fin_awaits(void *arg, const struct ursa_exit *e)
{
	struct ursa_exit r = ursa_await(&fin_wait);

	mark(r.kind == URSA_EXIT_SUCCESS ? (int)r.val : 100);
}

/* A node that outlives the task function: in static storage. */
static struct ursa_finalizer outliving;

static struct ursa_exit await_with_waiting_finalizer(void *arg)
{
	ursa_scope_add_finalizer(NULL, &outliving, fin_awaits, NULL);
	ursa_await(arg);
	return ursa_exit_success(0);
}

static void finalizers_are_uninterruptible(void **state)
{
	struct ursa_deferred d;
	struct ursa_task *t;

	ursa_deferred_init(&d);
	ursa_deferred_init(&fin_wait);
	t = spawn(await_with_waiting_finalizer, &d);
	drain();
	ursa_task_interrupt(t);
	drain();
	assert_int_equal(norder, 0);
	ursa_deferred_succeed(&fin_wait, 77);
	drain();
	assert_int_equal(order[0], 77);
	ursa_task_release(t);
}

/* ---- groups ---- */

static struct ursa_task_group group;

static struct ursa_exit wait_group(void *arg)
{
	mark(ursa_task_group_wait(&group) == 0 ? 50 : 100);
	return ursa_exit_success(0);
}

static void a_group_is_interrupted_and_waited_for_together(void **state)
{
	struct ursa_task_opts opts = { .group = &group };
	struct ursa_task *t[3], *w;
	struct ursa_deferred d;
	int i;

	ursa_task_group_init(&group);
	ursa_deferred_init(&d);
	for (i = 0; i < 3; i++) {
		t[i] = ursa_task_spawn(&rq, await_deferred, &d, &opts);
		assert_false(IS_ERR(t[i]));
	}
	w = spawn(wait_group, NULL);
	drain();
	assert_int_equal(group.nr, 3);
	assert_int_equal(ursa_task_group_interrupt(&group), 3);
	drain();
	assert_int_equal(group.nr, 0);
	assert_int_equal(norder, 4);
	for (i = 0; i < 3; i++) {
		assert_int_equal(order[i], 100);
		ursa_task_release(t[i]);
	}
	assert_int_equal(order[3], 50);
	ursa_task_release(w);
}

/* ---- scale and stacks ---- */

static void raise_map_count(long want, long *saved)
{
	char buf[32];
	long cur = 0;
	int fd = open("/proc/sys/vm/max_map_count", O_RDWR);
	ssize_t n;

	*saved = 0;
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		cur = atol(buf);
	}
	if (cur && cur < want) {
		int len = snprintf(buf, sizeof(buf), "%ld\n", want);

		if (pwrite(fd, buf, (size_t)len, 0) == len)
			*saved = cur;
	}
	close(fd);
}

static void restore_map_count(long saved)
{
	char buf[32];
	int fd, len;

	if (!saved)
		return;
	fd = open("/proc/sys/vm/max_map_count", O_WRONLY);
	if (fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%ld\n", saved);
	if (write(fd, buf, (size_t)len) != len)
		fprintf(stderr, "could not restore vm.max_map_count\n");
	close(fd);
}

static int live_done;

static struct ursa_exit live_task(void *arg)
{
	struct ursa_exit e = ursa_await(arg);

	live_done += e.kind == URSA_EXIT_SUCCESS;
	return e;
}

static void a_hundred_thousand_live_tasks(void **state)
{
	/*
	 * valgrind's address space manager has a fixed segment table that
	 * 200,000 mappings overflow; under it, the same test runs smaller.
	 */
	const int n = RUNNING_ON_VALGRIND ? 5000 : 100000;
	struct ursa_task **t = calloc(n, sizeof(*t));
	struct ursa_deferred d;
	long saved;
	int i;

	assert_non_null(t);
	/* Each guarded stack is two mappings; the default limit is 65530. */
	raise_map_count(2L * n + 65536, &saved);
	ursa_deferred_init(&d);
	live_done = 0;
	for (i = 0; i < n; i++) {
		t[i] = ursa_task_spawn(&rq, live_task, &d, NULL);
		if (IS_ERR(t[i])) {
			long err = PTR_ERR(t[i]);
			int k;

			for (k = 0; k < i; k++)
				ursa_task_interrupt(t[k]);
			drain();
			for (k = 0; k < i; k++)
				ursa_task_release(t[k]);
			free(t);
			restore_map_count(saved);
			if (err == -ENOMEM && !saved)
				skip();
			fail_msg("spawn %d failed: %ld", i, err);
		}
	}
	drain();
	assert_int_equal(rq.nr_tasks, n);
	ursa_deferred_succeed(&d, 1);
	drain();
	assert_int_equal(live_done, n);
	for (i = 0; i < n; i++)
		ursa_task_release(t[i]);
	free(t);
	restore_map_count(saved);
}

static int recurse(volatile char *p, int depth)
{
	volatile char buf[1024];

	buf[0] = (char)depth;
	buf[1023] = p ? p[0] : 0;
	return depth > 1000000 ? buf[0] : recurse(buf, depth + 1) + buf[1023];
}

static struct ursa_exit overflow_task(void *arg)
{
	return ursa_exit_success(recurse(NULL, 0));
}

static void a_stack_overflow_names_the_task(void **state)
{
	int pipefd[2], status;
	char out[512] = { 0 };
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/*
		 * A size of its own maps a fresh stack, which re-installs
		 * the overflow handler over the one cmocka put in place.
		 */
		struct ursa_task_opts opts = { .name = "deep",
					       .stack_size = 32768 };
		struct ursa_runq crq;

		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		ursa_runq_init(&crq, 0);
		ursa_task_spawn(&crq, overflow_task, NULL, &opts);
		ursa_runq_drain(&crq, 0);
		_exit(0);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	if (!strstr(out, "task 'deep'") || !strstr(out, "overflowed its stack"))
		fail_msg("unexpected report: %s", out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(fork_and_join),
		T(spawn_never_runs_the_task_inline),
		T(awaiting_a_done_deferred_does_not_switch),
		T(yield_lets_the_others_run_first),
		T(yield_queues_the_task_behind_every_ready_task),
		T(a_yield_after_an_interrupt_returns_ecanceled),
		T(switches_keep_fifo_order_with_callbacks),
		T(the_budget_counts_task_to_task_switches),
		T(a_lazy_effect_runs_outside_any_task),
#ifdef TEST_FPENV
		T(each_task_keeps_its_fp_environment),
#endif
		T(outside_a_task_awaits_are_refused),
		T(interrupting_an_await_on_a_deferred),
		T(an_interrupt_before_the_start_ends_the_first_await),
		T(interrupting_an_input_take_loses_no_element),
		T(interrupting_an_input_emit_leaves_the_element),
		T(interrupting_an_await_read),
		T(interrupting_emit_buffer_awaits),
		T(an_interrupt_waits_for_the_uninterruptible_region),
		T(finalizers_run_last_in_first_out),
		T(a_task_holds_a_bounded_number_of_finalizers),
		T(finalizers_run_on_interrupt_and_see_it),
		T(nested_scopes_close_inner_first),
		T(closing_an_outer_scope_closes_the_inner_first),
		T(returning_with_a_nested_scope_open_dies),
		T(join_outside_a_task_keeps_the_handle),
		T(acquire_release_registers_only_what_was_acquired),
		T(finalizers_are_uninterruptible),
		T(a_group_is_interrupted_and_waited_for_together),
		T(a_hundred_thousand_live_tasks),
		T(a_stack_overflow_names_the_task),
	};

	return cmocka_run_group_tests_name("task", tests, NULL, NULL);
}
