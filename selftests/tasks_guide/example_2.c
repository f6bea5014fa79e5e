// SPDX-License-Identifier: MIT
/*
 * One producer, several consumers on a single-producer input: each job
 * reaches exactly one worker, the one that has waited longest, and every
 * worker sees the end. The SingleProducerAsyncInput guide's work
 * distribution, with tasks for fibers.
 */
#include <stdio.h>

#include <ursa/ursa.h>

#define NR_WORKERS 3
#define NR_JOBS 9

struct worker {
	struct ursa_input *jobs;
	int id;
	int handled;
	int64_t sum;
};

static struct ursa_exit worker_fn(void *arg)
{
	struct worker *w = arg;
	struct ursa_exit e;
	int what;

	while ((what = ursa_await_input_take(w->jobs, &e)) ==
	       URSA_TAKE_ELEMENT) {
		printf("worker %d: job %lld\n", w->id, (long long)e.val);
		w->handled++;
		w->sum += e.val;
		/* The job's work: let the others run meanwhile. */
		ursa_task_yield();
	}
	if (what != URSA_TAKE_END)
		return ursa_exit_failure(what < 0 ? what : -EIO);
	printf("worker %d: done after %d jobs\n", w->id, w->handled);
	return ursa_exit_success(w->handled);
}

static struct ursa_exit program(void *arg)
{
	struct ursa_runq *rq = arg;
	struct worker w[NR_WORKERS];
	struct ursa_task *t[NR_WORKERS];
	struct ursa_input jobs;
	int64_t job, sum = 0;
	int i, handled = 0, ret;

	ursa_input_init(&jobs);
	for (i = 0; i < NR_WORKERS; i++) {
		w[i] = (struct worker){ .jobs = &jobs, .id = i + 1 };
		t[i] = ursa_task_spawn(rq, worker_fn, &w[i], NULL);
		if (IS_ERR(t[i]))
			return ursa_exit_die((int)PTR_ERR(t[i]));
	}
	/* Each emit returns once a worker has taken the job. */
	for (job = 1; job <= NR_JOBS; job++) {
		ret = ursa_await_input_emit(&jobs, job);
		if (ret)
			return ursa_exit_failure(ret);
	}
	ursa_input_done(&jobs, 0);

	for (i = 0; i < NR_WORKERS; i++) {
		struct ursa_exit e = ursa_task_join(t[i]);

		if (e.kind != URSA_EXIT_SUCCESS)
			return e;
		handled += w[i].handled;
		sum += w[i].sum;
	}
	printf("%d jobs handled, sum %lld\n", handled, (long long)sum);
	if (handled != NR_JOBS || sum != NR_JOBS * (NR_JOBS + 1) / 2)
		return ursa_exit_failure(-EIO);
	return ursa_exit_success(0);
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
