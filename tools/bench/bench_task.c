// SPDX-License-Identifier: MIT
/*
 * bench_task: the cost of ursa's tasks (stackful coroutines).
 *
 *   yield round trip   a task calls ursa_task_yield() in a loop, alone: its
 *                      resumption is the next run queue item, which the
 *                      task takes itself (one hop, no switch)
 *   switch round trip  two tasks yield in turn: each yield is one switch
 *                      from one task straight to the other, so a round
 *                      trip (A to B and back) is two yields, two switches
 *   runq hop           a work item that queues itself again: a bare run
 *                      queue hop, for comparison
 *   deferred ping-pong task A succeeds d1 and awaits d2, task B awaits d1
 *                      and succeeds d2; both are re-initialised each round
 *   input hand-off     a producer task in ursa_await_input_emit(), a
 *                      consumer task in ursa_await_input_take()
 *   spawn+join         a parent task spawns a child that returns at once,
 *                      and joins it (stacks come from the pool)
 *   idle task RSS      VmRSS growth for 10,000 tasks parked on a deferred
 *                      that never completes (64 KiB stacks); then they are
 *                      all interrupted and must all finish
 *
 * Each timed case runs for a fixed CPU time (this thread's: the cases
 * never block, so CPU time is their cost, and it does not count the time
 * other processes on a busy machine take the CPU away), repeated; the
 * median is printed in ns/op and ops/s, with the malloc calls per
 * operation, which must be 0. The baselines are Effect's own runtime on this kind of machine, from
 * ../shared/reference/effect-semantics.md (Node cannot run in-process).
 * Only correctness failures (mallocs, lost elements, tasks that did not
 * finish) make the exit status non-zero, never speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ursa/err.h>
#include <ursa/input.h>
#include <ursa/task.h>

#include "bench.h"

#define EFFECT_PINGPONG_OPS 25921.0 /* round trips/s, two fibers */
#define EFFECT_INPUT_OPS 42296.0 /* hand-offs/s, producer + consumer */
#define TARGET_YIELD_NS 20.0
#define TARGET_PINGPONG_OPS 10e6
#define TARGET_INPUT_OPS 10e6
#define TARGET_SPAWN_OPS 2e6
#define TARGET_RSS_BYTES 8192.0
#define RSS_TASKS 10000
#define RSS_STACK (64 * 1024)

static int fails;

/* This thread's CPU time (ns). */
static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_task: check failed: %s\n", what);
		fails++;
	}
}

static struct ursa_task *spawn(struct ursa_runq *rq, ursa_task_fn *fn,
			       void *arg)
{
	struct ursa_task *t = ursa_task_spawn(rq, fn, arg, NULL);

	if (IS_ERR(t)) {
		fprintf(stderr, "bench_task: spawn: %s\n",
			strerror((int)-PTR_ERR(t)));
		exit(1);
	}
	return t;
}

/* ---- yield round trip ---- */

struct loop_arg {
	struct ursa_runq *rq;
	uint64_t iters;
	uint64_t done;
};

static struct ursa_exit yield_task(void *arg)
{
	struct loop_arg *a = arg;
	uint64_t i;

	for (i = 0; i < a->iters; i++)
		if (ursa_task_yield())
			break;
	a->done = i;
	return ursa_exit_success(0);
}

static uint64_t run_yield(struct ursa_runq *rq, uint64_t iters)
{
	struct loop_arg a = { .iters = iters };
	uint64_t start, ns;

	ursa_task_release(spawn(rq, yield_task, &a));
	start = cpu_now_ns();
	ursa_runq_drain(rq, 0);
	ns = cpu_now_ns() - start;
	check(a.done == iters, "every yield returned 0");
	return ns;
}

/* Two tasks in turn: ns per round trip (two switches). */
static uint64_t run_switch(struct ursa_runq *rq, uint64_t iters)
{
	struct loop_arg a = { .iters = iters }, b = { .iters = iters };
	uint64_t start, ns;

	ursa_task_release(spawn(rq, yield_task, &a));
	ursa_task_release(spawn(rq, yield_task, &b));
	start = cpu_now_ns();
	ursa_runq_drain(rq, 0);
	ns = cpu_now_ns() - start;
	check(a.done == iters && b.done == iters, "every yield returned 0");
	return ns;
}

/* ---- run queue hop alone ---- */

struct hop {
	struct ursa_work work;
	struct ursa_runq *rq;
	uint64_t left;
};

static void hop_fn(struct ursa_work *w)
{
	struct hop *h = ursa_container_of(w, struct hop, work);

	if (--h->left)
		ursa_runq_queue(h->rq, &h->work);
}

static uint64_t run_hop(struct ursa_runq *rq, uint64_t iters)
{
	struct hop h = { .rq = rq, .left = iters };
	uint64_t start;

	ursa_work_init(&h.work, hop_fn);
	ursa_runq_queue(rq, &h.work);
	start = cpu_now_ns();
	ursa_runq_drain(rq, 0);
	return cpu_now_ns() - start;
}

/* ---- deferred ping-pong ---- */

struct pingpong {
	struct ursa_deferred d1, d2;
	uint64_t iters;
	uint64_t a_rounds, b_rounds;
};

static struct ursa_exit ping_task(void *arg)
{
	struct pingpong *p = arg;
	struct ursa_exit e;
	uint64_t i;

	for (i = 0; i < p->iters; i++) {
		ursa_deferred_succeed(&p->d1, (int64_t)i);
		e = ursa_await(&p->d2);
		if (e.kind != URSA_EXIT_SUCCESS || e.val != (int64_t)i)
			break;
		/* B is done with d2 until A succeeds d1 again. */
		ursa_deferred_init(&p->d2);
		p->a_rounds++;
	}
	return ursa_exit_success(0);
}

static struct ursa_exit pong_task(void *arg)
{
	struct pingpong *p = arg;
	struct ursa_exit e;
	uint64_t i;

	for (i = 0; i < p->iters; i++) {
		e = ursa_await(&p->d1);
		if (e.kind != URSA_EXIT_SUCCESS || e.val != (int64_t)i)
			break;
		ursa_deferred_init(&p->d1);
		p->b_rounds++;
		ursa_deferred_succeed(&p->d2, e.val);
	}
	return ursa_exit_success(0);
}

static uint64_t run_pingpong(struct ursa_runq *rq, uint64_t iters)
{
	struct pingpong p = { .iters = iters };
	uint64_t start, ns;

	ursa_deferred_init(&p.d1);
	ursa_deferred_init(&p.d2);
	/* B first, so that it is already waiting when A succeeds d1. */
	ursa_task_release(spawn(rq, pong_task, &p));
	ursa_task_release(spawn(rq, ping_task, &p));
	start = cpu_now_ns();
	ursa_runq_drain(rq, 0);
	ns = cpu_now_ns() - start;
	check(p.a_rounds == iters && p.b_rounds == iters,
	      "every ping-pong round completed");
	return ns;
}

/* ---- input hand-off ---- */

struct handoff {
	struct ursa_input in;
	uint64_t iters;
	uint64_t taken;
	uint64_t sum;
	int64_t done_val;
	int emit_err;
};

static struct ursa_exit producer_task(void *arg)
{
	struct handoff *h = arg;
	uint64_t i;
	int ret;

	for (i = 0; i < h->iters; i++) {
		ret = ursa_await_input_emit(&h->in, (int64_t)i);
		if (ret) {
			h->emit_err = ret;
			break;
		}
	}
	ursa_input_done(&h->in, -1);
	return ursa_exit_success(0);
}

static struct ursa_exit consumer_task(void *arg)
{
	struct handoff *h = arg;
	struct ursa_exit e;

	while (ursa_await_input_take(&h->in, &e) == URSA_TAKE_ELEMENT) {
		h->taken++;
		h->sum += (uint64_t)e.val;
	}
	h->done_val = e.val;
	return ursa_exit_success(0);
}

static uint64_t run_input(struct ursa_runq *rq, uint64_t iters)
{
	struct handoff h = { .iters = iters };
	uint64_t start, ns;

	ursa_input_init(&h.in);
	ursa_task_release(spawn(rq, consumer_task, &h));
	ursa_task_release(spawn(rq, producer_task, &h));
	start = cpu_now_ns();
	ursa_runq_drain(rq, 0);
	ns = cpu_now_ns() - start;
	check(h.emit_err == 0 && h.taken == iters &&
		      h.sum == iters * (iters - 1) / 2 && h.done_val == -1,
	      "every element handed off exactly once, then done");
	return ns;
}

/* ---- spawn + join ---- */

static struct ursa_exit child_task(void *arg)
{
	return ursa_exit_success((int64_t)(intptr_t)arg);
}

static struct ursa_exit parent_task(void *arg)
{
	struct loop_arg *a = arg;
	struct ursa_exit e;
	uint64_t i;

	for (i = 0; i < a->iters; i++) {
		struct ursa_task *c = ursa_task_spawn(
			a->rq, child_task, (void *)(intptr_t)7, NULL);

		if (IS_ERR(c))
			break;
		e = ursa_task_join(c);
		if (e.kind != URSA_EXIT_SUCCESS || e.val != 7)
			break;
	}
	a->done = i;
	return ursa_exit_success(0);
}

static uint64_t run_spawn_join(struct ursa_runq *rq, uint64_t iters)
{
	struct loop_arg a = { .rq = rq, .iters = iters };
	uint64_t start, ns;

	ursa_task_release(spawn(rq, parent_task, &a));
	start = cpu_now_ns();
	ursa_runq_drain(rq, 0);
	ns = cpu_now_ns() - start;
	check(a.done == iters, "every child spawned and joined with its value");
	return ns;
}

/* ---- idle task RSS ---- */

/* VmRSS in KiB, read without stdio so that it makes no malloc call. */
static long vm_rss_kib(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "VmRSS:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

static struct ursa_exit idle_task(void *arg)
{
	return ursa_await(arg);
}

struct rss_result {
	double bytes_per_task;
	double mallocs_per_task;
	unsigned int parked, interrupted;
};

/*
 * Runs first, while the stack pool is empty: a stack reused from the pool
 * was already resident and would hide its cost.
 */
static void run_rss(struct rss_result *res)
{
	static const struct ursa_task_opts opts = { .stack_size = RSS_STACK,
						    .name = "idle" };
	struct ursa_task **tasks;
	struct ursa_deferred never;
	struct ursa_runq rq;
	long rss0, rss1;
	uint64_t m0, m1;
	unsigned int i;

	tasks = calloc(RSS_TASKS, sizeof(*tasks));
	if (!tasks) {
		check(0, "allocate the task handles");
		return;
	}
	memset(tasks, 0, RSS_TASKS * sizeof(*tasks));
	ursa_runq_init(&rq, 0);
	ursa_deferred_init(&never);

	rss0 = vm_rss_kib();
	m0 = bench_malloc_calls();
	for (i = 0; i < RSS_TASKS; i++) {
		tasks[i] = ursa_task_spawn(&rq, idle_task, &never, &opts);
		if (IS_ERR(tasks[i])) {
			fprintf(stderr, "bench_task: spawn %u: %s\n", i,
				strerror((int)-PTR_ERR(tasks[i])));
			exit(1);
		}
	}
	ursa_runq_drain(&rq, 0);
	m1 = bench_malloc_calls();
	rss1 = vm_rss_kib();
	check(rss0 > 0 && rss1 > 0, "read VmRSS from /proc/self/status");
	res->parked = rq.nr_tasks;
	check(rq.nr_tasks == RSS_TASKS &&
		      !ursa_deferred_is_done(ursa_task_done(tasks[0])),
	      "every idle task is parked");
	res->bytes_per_task = (double)(rss1 - rss0) * 1024.0 / RSS_TASKS;
	res->mallocs_per_task = (double)(m1 - m0) / RSS_TASKS;
	check(m1 == m0, "no malloc call to spawn and park 10,000 tasks");

	for (i = 0; i < RSS_TASKS; i++)
		ursa_task_interrupt(tasks[i]);
	ursa_runq_drain(&rq, 0);
	res->interrupted = 0;
	for (i = 0; i < RSS_TASKS; i++) {
		struct ursa_exit e;

		if (ursa_deferred_poll(ursa_task_done(tasks[i]), &e) &&
		    e.kind == URSA_EXIT_INTERRUPT)
			res->interrupted++;
		ursa_task_release(tasks[i]);
	}
	check(res->interrupted == RSS_TASKS && rq.nr_tasks == 0,
	      "every interrupted idle task finished with INTERRUPT");
	free(tasks);
}

/* ---- the timed cases ---- */

typedef uint64_t run_fn(struct ursa_runq *rq, uint64_t iters);

struct result {
	double ns;
	double ops;
	double mallocs;
};

static double seconds = 0.2;
static int repeats = 5;

static struct result measure(const char *name, run_fn *fn)
{
	double ns_per_op[101];
	uint64_t iters = 1000, m0, m1, total = 0;
	struct ursa_runq rq;
	struct result r;
	int i;

	ursa_runq_init(&rq, 0);
	/* Calibrate so that one repeat lasts about @seconds. */
	while (fn(&rq, iters) < 20000000ull)
		iters *= 2;
	iters = (uint64_t)(iters * (seconds / 0.02));

	m0 = bench_malloc_calls();
	for (i = 0; i < repeats; i++) {
		ns_per_op[i] = (double)fn(&rq, iters) / (double)iters;
		total += iters;
	}
	m1 = bench_malloc_calls();
	check(rq.nr_tasks == 0, "every task of the case finished");
	r.ns = bench_median(ns_per_op, repeats);
	r.ops = 1e9 / r.ns;
	r.mallocs = (double)(m1 - m0) / (double)total;
	printf("%-20s %10.2f %14.0f %10.4f\n", name, r.ns, r.ops, r.mallocs);
	if (m1 != m0) {
		fprintf(stderr,
			"bench_task: %s: malloc calls on the hot path\n", name);
		fails++;
	}
	return r;
}

static const char *verdict(int ok)
{
	return ok ? "met" : "MISSED";
}

int main(int argc, char **argv)
{
	struct result yield, sw, hop, pp, in, sj;
	struct rss_result rss = { 0 };
	int ret;

	ret = bench_options("bench_task", argc, argv, &repeats, &seconds);
	if (ret >= 0)
		return ret;

	if (!bench_malloc_hooked("bench_task"))
		return 1;

	run_rss(&rss);

	printf("%-20s %10s %14s %10s\n", "case", "ns/op", "ops/s",
	       "mallocs/op");
	yield = measure("yield round trip", run_yield);
	sw = measure("switch round trip", run_switch);
	hop = measure("runq hop", run_hop);
	printf("  target <= %.0f ns per switch round trip: %s\n",
	       TARGET_YIELD_NS, verdict(sw.ns <= TARGET_YIELD_NS));
	/*
	 * The switch itself (__ursa_ctx_switch) is internal: the public API
	 * only reaches it through yields and awaits. A round trip is two
	 * switches, each with the run queue item it takes.
	 */
	printf("  one switch, run queue item and bookkeeping included: "
	       "%.2f ns; a lone yield (no switch): %.2f ns; a bare run "
	       "queue hop: %.2f ns\n",
	       sw.ns / 2, yield.ns, hop.ns);
	pp = measure("deferred ping-pong", run_pingpong);
	printf("  vs Effect 3.22.4 (%.0f round trips/s, reference): %.0fx;"
	       " target %.0fM/s: %s\n",
	       EFFECT_PINGPONG_OPS, pp.ops / EFFECT_PINGPONG_OPS,
	       TARGET_PINGPONG_OPS / 1e6,
	       verdict(pp.ops >= TARGET_PINGPONG_OPS));
	in = measure("input hand-off", run_input);
	printf("  vs Effect 3.22.4 (%.0f elements/s, reference): %.0fx;"
	       " target %.0fM/s: %s\n",
	       EFFECT_INPUT_OPS, in.ops / EFFECT_INPUT_OPS,
	       TARGET_INPUT_OPS / 1e6, verdict(in.ops >= TARGET_INPUT_OPS));
	sj = measure("spawn+join", run_spawn_join);
	printf("  target %.0fM/s: %s\n", TARGET_SPAWN_OPS / 1e6,
	       verdict(sj.ops >= TARGET_SPAWN_OPS));

	printf("%-20s %10.0f bytes/task (%u parked, %u interrupted, "
	       "%.4f mallocs/task)\n",
	       "idle task RSS", rss.bytes_per_task, rss.parked, rss.interrupted,
	       rss.mallocs_per_task);
	printf("  target <= %.0f KiB per idle task: %s\n",
	       TARGET_RSS_BYTES / 1024,
	       verdict(rss.bytes_per_task <= TARGET_RSS_BYTES));

	if (fails)
		fprintf(stderr,
			"bench_task: %d checks failed (mallocs on the hot "
			"path, lost elements, or tasks that did not finish)\n",
			fails);
	return fails ? 1 : 0;
}
