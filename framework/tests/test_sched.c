// SPDX-License-Identifier: MIT
/*
 * Unit tests of the run queue: FIFO order, the per-batch budget, requeue
 * and cancel from callbacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ursa/kconfig.h>
#include <ursa/sched.h>
#include <generated/autoconf.h>

struct job {
	struct ursa_work work;
	struct ursa_runq *rq;
	int runs;
	int order;
	int requeue; /* times to queue itself again */
	struct job *victim;
};

static int counter;

static void job_fn(struct ursa_work *work)
{
	struct job *j = ursa_container_of(work, struct job, work);

	j->runs++;
	j->order = ++counter;
	if (j->victim)
		assert_true(ursa_runq_cancel(&j->victim->work));
	if (j->requeue > 0) {
		j->requeue--;
		assert_true(ursa_runq_queue(j->rq, &j->work));
	}
}

static void job_init(struct job *j, struct ursa_runq *rq)
{
	ursa_work_init(&j->work, job_fn);
	j->rq = rq;
	j->runs = j->order = j->requeue = 0;
	j->victim = NULL;
}

static void runs_in_fifo_order(void **state)
{
	struct ursa_runq rq;
	struct job j[4];
	int i;

	counter = 0;
	ursa_runq_init(&rq, 0);
	assert_int_equal(rq.budget, URSA_RUNQ_DEFAULT_BUDGET);
	for (i = 0; i < 4; i++) {
		job_init(&j[i], &rq);
		assert_true(ursa_runq_queue(&rq, &j[i].work));
	}
	assert_int_equal(ursa_runq_run(&rq), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(j[i].order, i + 1);
	assert_int_equal(rq.nr_run, 4);
	assert_false(ursa_runq_has_work(&rq));
}

static void queueing_twice_runs_once(void **state)
{
	struct ursa_runq rq;
	struct job j;

	ursa_runq_init(&rq, 0);
	job_init(&j, &rq);
	assert_true(ursa_runq_queue(&rq, &j.work));
	assert_false(ursa_runq_queue(&rq, &j.work));
	assert_true(ursa_work_pending(&j.work));
	assert_int_equal(ursa_runq_run(&rq), 1);
	assert_int_equal(j.runs, 1);
	assert_false(ursa_work_pending(&j.work));
}

static void the_budget_bounds_a_batch(void **state)
{
	struct ursa_runq rq;
	struct job j;

	/* A callback that keeps requeueing itself cannot starve the loop. */
	ursa_runq_init(&rq, 3);
	job_init(&j, &rq);
	j.requeue = 10;
	ursa_runq_queue(&rq, &j.work);
	assert_int_equal(ursa_runq_run(&rq), 3);
	assert_true(ursa_runq_has_work(&rq));
	assert_int_equal(ursa_runq_drain(&rq, 2), 6);
	assert_int_equal(ursa_runq_drain(&rq, 0), 2);
	assert_int_equal(j.runs, 11);
	assert_int_equal(ursa_runq_drain(&rq, 0), 0);
}

static void a_callback_may_cancel_a_queued_sibling(void **state)
{
	struct ursa_runq rq;
	struct job a, b, c;

	ursa_runq_init(&rq, 0);
	job_init(&a, &rq);
	job_init(&b, &rq);
	job_init(&c, &rq);
	a.victim = &b;
	ursa_runq_queue(&rq, &a.work);
	ursa_runq_queue(&rq, &b.work);
	ursa_runq_queue(&rq, &c.work);
	assert_int_equal(ursa_runq_run(&rq), 2);
	assert_int_equal(b.runs, 0);
	assert_int_equal(c.runs, 1);
	assert_false(ursa_runq_cancel(&b.work));
}

static void kconfig_budget_is_visible(void **state)
{
	/* The Kconfig option reaches C, and IS_ENABLED reads options. */
	assert_true(CONFIG_URSA_RUNQ_BUDGET >= 1);
	assert_int_equal(IS_ENABLED(CONFIG_URSA_SURELY_NOT_AN_OPTION), 0);
#ifdef CONFIG_URSA_DEBUG
	assert_int_equal(IS_ENABLED(CONFIG_URSA_DEBUG), 1);
#else
	assert_int_equal(IS_ENABLED(CONFIG_URSA_DEBUG), 0);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runs_in_fifo_order),
		cmocka_unit_test(queueing_twice_runs_once),
		cmocka_unit_test(the_budget_bounds_a_batch),
		cmocka_unit_test(a_callback_may_cancel_a_queued_sibling),
		cmocka_unit_test(kconfig_budget_is_visible),
	};

	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
