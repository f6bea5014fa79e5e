// SPDX-License-Identifier: MIT
/*
 * Several tasks wait for one deferred, and each gets the same result: the
 * Deferred guide's "Multiple Waiters", with tasks for fibers.
 */
#include <stdio.h>

#include <ursa/ursa.h>

struct waiter {
	struct ursa_deferred *result;
	int n;
	char line[64];
};

static struct ursa_exit wait_for_result(void *arg)
{
	struct waiter *w = arg;
	struct ursa_exit e = ursa_await(w->result);

	if (e.kind != URSA_EXIT_SUCCESS)
		return e;
	snprintf(w->line, sizeof(w->line), "Task %d got: %s", w->n,
		 (const char *)e.ptr);
	return ursa_exit_success(0);
}

static struct ursa_exit program(void *arg)
{
	struct ursa_runq *rq = arg;
	struct ursa_deferred result;
	struct waiter w[2] = { { .result = &result, .n = 1 },
			       { .result = &result, .n = 2 } };
	struct ursa_task *t[2];
	int i, failed = 0;

	ursa_deferred_init(&result);
	for (i = 0; i < 2; i++) {
		t[i] = ursa_task_spawn(rq, wait_for_result, &w[i], NULL);
		if (IS_ERR(t[i]))
			return ursa_exit_die((int)PTR_ERR(t[i]));
	}
	/* Let both waiters reach their await first. */
	ursa_task_yield();
	ursa_deferred_succeed_ptr(&result, "shared result");

	for (i = 0; i < 2; i++) {
		struct ursa_exit e = ursa_task_join(t[i]);

		if (e.kind == URSA_EXIT_SUCCESS)
			printf("%s\n", w[i].line);
		else
			failed++;
	}
	return failed ? ursa_exit_failure(-EIO) : ursa_exit_success(0);
}

int main(void)
{
	struct ursa_runq rq;
	struct ursa_task *t;
	struct ursa_exit e;

	ursa_runq_init(&rq, 0);
	t = ursa_task_spawn(&rq, program, &rq, NULL);
	if (IS_ERR(t))
		return 1;
	ursa_runq_drain(&rq, 0);
	if (!ursa_deferred_poll(ursa_task_done(t), &e))
		e = ursa_exit_die(-EDEADLK);
	ursa_task_release(t);
	printf("program: %s\n", ursa_exit_kind_name(e.kind));
	return e.kind == URSA_EXIT_SUCCESS ? 0 : 1;
}
