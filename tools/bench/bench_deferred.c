// SPDX-License-Identifier: MIT
/*
 * bench_deferred: the cost of ursa's Deferred.
 *
 *   await+succeed   init, await with one callback waiter, succeed, run the
 *                   run queue: one full hand-off, the target case
 *   done+await      await a deferred that is already done, run the queue
 *   wake N          one completion with N = 1, 8 and 64 waiters
 *
 * Each case runs for a fixed time, repeated; the median is printed in
 * ns/op and ops/s, with the malloc calls per operation (must be 0). The
 * baseline is Effect's own runtime on this kind of machine, from
 * ../shared/reference/effect-semantics.md (Node cannot run in-process).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ursa/deferred.h>

#include "bench.h"

#define EFFECT_DEFERRED_OPS 103785.0 /* make + succeed + await, per s */
#define TARGET_OPS 50e6

struct counter_waiter {
	struct ursa_waiter w;
	uint64_t sum;
};

static void count_fn(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	struct counter_waiter *c =
		ursa_container_of(w, struct counter_waiter, w);

	c->sum += (uint64_t)exit->val;
}

struct bench_case {
	const char *name;
	unsigned int waiters;
	int pre_done;
};

/* Runs @iters iterations of a case; returns the elapsed ns. */
static uint64_t run_case(const struct bench_case *bc, struct ursa_runq *rq,
			 struct counter_waiter *cw, uint64_t iters)
{
	struct ursa_deferred d;
	uint64_t start, i;
	unsigned int k;

	start = bench_now_ns();
	for (i = 0; i < iters; i++) {
		ursa_deferred_init(&d);
		if (bc->pre_done) {
			ursa_deferred_succeed(&d, 1);
			ursa_deferred_await(&d, &cw[0].w);
		} else {
			for (k = 0; k < bc->waiters; k++)
				ursa_deferred_await(&d, &cw[k].w);
			ursa_deferred_succeed(&d, 1);
		}
		ursa_runq_run(rq);
	}
	return bench_now_ns() - start;
}

int main(int argc, char **argv)
{
	static const struct bench_case cases[] = {
		{ "await+succeed+wake", 1, 0 }, { "done+await+wake", 1, 1 },
		{ "wake 1 waiter", 1, 0 },	{ "wake 8 waiters", 8, 0 },
		{ "wake 64 waiters", 64, 0 },
	};
	struct counter_waiter cw[64];
	struct ursa_runq rq;
	double seconds = 0.2;
	int repeats = 5, ret;
	size_t c;
	int fails = 0;

	ret = bench_options("bench_deferred", argc, argv, &repeats, &seconds);
	if (ret >= 0)
		return ret;

	if (!bench_malloc_hooked("bench_deferred"))
		return 1;

	ursa_runq_init(&rq, 64);
	for (c = 0; c < 64; c++) {
		ursa_waiter_init(&cw[c].w, &rq, count_fn);
		cw[c].sum = 0;
	}

	printf("%-20s %10s %14s %12s %10s\n", "case", "ns/op", "ops/s",
	       "ns/waiter", "mallocs/op");
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct bench_case *bc = &cases[c];
		double ns_per_op[101];
		uint64_t iters = 1000, m0, m1, total_iters = 0;
		double med, ops;
		int r;

		/* Calibrate so that one repeat lasts about @seconds. */
		while (run_case(bc, &rq, cw, iters) < 20000000ull)
			iters *= 2;
		iters = (uint64_t)(iters * (seconds / 0.02));

		m0 = bench_malloc_calls();
		for (r = 0; r < repeats; r++) {
			uint64_t ns = run_case(bc, &rq, cw, iters);

			ns_per_op[r] = (double)ns / (double)iters;
			total_iters += iters;
		}
		m1 = bench_malloc_calls();
		med = bench_median(ns_per_op, repeats);
		ops = 1e9 / med;
		printf("%-20s %10.2f %14.0f %12.2f %10.4f\n", bc->name, med,
		       ops, med / bc->waiters,
		       (double)(m1 - m0) / (double)total_iters);
		if (m1 != m0)
			fails++;
		if (c == 0) {
			printf("  vs Effect 3.22.4 (%.0f /s, reference): %.0fx;"
			       " target %.0fM/s: %s\n",
			       EFFECT_DEFERRED_OPS, ops / EFFECT_DEFERRED_OPS,
			       TARGET_OPS / 1e6,
			       ops >= TARGET_OPS ? "met" : "MISSED");
		}
	}
	/* Keep the callbacks' work observable. */
	for (c = 0; c < 64; c++)
		if (cw[c].sum == 0)
			fails++;
	if (fails)
		fprintf(stderr,
			"bench_deferred: %d checks failed (mallocs on "
			"the hot path, or callbacks not run)\n",
			fails);
	return fails ? 1 : 0;
}
