// SPDX-License-Identifier: MIT
/*
 * bench_emit: an emit buffer's push face and its consumer side.
 *
 *   single take   push one entry, a take callback takes it and takes
 *                 again: one run-queue hop per item
 *   batched take  push a burst (the capacity, 256), one batch take gets
 *                 all of it: one hop per burst, Effect asyncPush's
 *                 takeAll consumer
 *   sliding       as batched, into a sliding buffer of 64: three of four
 *                 entries of each burst of 256 are evicted
 *
 * Items/s are items pushed and delivered (evicted ones not counted as
 * delivered, but pushed). Each repeat runs for a fixed time; medians, with
 * malloc calls per item (must be 0). The baseline is Effect's own runtime
 * (Stream.asyncPush, 1M single, one batch: ~19.8M items/s) from
 * ../shared/reference/effect-semantics.md; Node cannot run in-process.
 * Only correctness failures make the exit status non-zero, never speed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <ursa/emit.h>

#include "bench.h"

/*
 * This thread's CPU time (ns). The cases never block, so CPU time is
 * their cost, and it does not count the time other processes on a busy
 * machine take the CPU away.
 */
static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define EFFECT_PUSH_OPS 19.8e6
#define TARGET_OPS 100e6
#define BURST 256

struct sink {
	struct ursa_take t;
	struct ursa_emit *em;
	struct ursa_emit_entry out[BURST];
	int64_t expect;
	uint64_t got;
	int errors;
	int batch;
	bool sliding;
};

static void single_fn(struct ursa_take *t)
{
	struct sink *s = ursa_container_of(t, struct sink, t);

	if (t->what != URSA_TAKE_ELEMENT)
		return;
	if (t->entry.val != s->expect++)
		s->errors++;
	s->got++;
	ursa_emit_take(s->em, t);
}

static void batch_fn(struct ursa_take *t)
{
	struct sink *s = ursa_container_of(t, struct sink, t);
	unsigned int i;

	if (t->what != URSA_TAKE_ELEMENT)
		return;
	if (s->sliding) {
		/* The newest survive, in order. */
		s->expect = s->out[0].val;
	}
	for (i = 0; i < t->count; i++)
		if (s->out[i].val != s->expect++)
			s->errors++;
	s->got += t->count;
	ursa_emit_take_batch(s->em, t, s->out, BURST);
}

enum { SINGLE, BATCHED, SLIDING };

/* Pushes @n items; returns the elapsed ns. */
static uint64_t run(int mode, struct ursa_runq *rq, uint64_t n, int *errors,
		    uint64_t *delivered)
{
	struct ursa_emit em;
	struct sink s = { 0 };
	uint64_t start, i = 0;

	if (ursa_emit_init(&em, rq, mode == SLIDING ? 64 : BURST,
			   mode == SLIDING ? URSA_EMIT_SLIDING :
					     URSA_EMIT_SUSPEND)) {
		(*errors)++;
		return 1;
	}
	s.em = &em;
	s.expect = 0;
	s.sliding = mode == SLIDING;
	ursa_take_init(&s.t, rq, mode == SINGLE ? single_fn : batch_fn);
	start = cpu_now_ns();
	if (mode == SINGLE)
		ursa_emit_take(&em, &s.t);
	else
		ursa_emit_take_batch(&em, &s.t, s.out, BURST);
	if (mode == SINGLE) {
		for (i = 0; i < n; i++) {
			if (ursa_emit_single(&em, (int64_t)i))
				s.errors++;
			ursa_runq_run(rq);
		}
	} else {
		while (i < n) {
			uint64_t k;

			for (k = 0; k < BURST; k++)
				if (ursa_emit_single(&em, (int64_t)i++))
					s.errors++;
			ursa_runq_run(rq);
		}
		n = i;
	}
	start = cpu_now_ns() - start;
	ursa_emit_end(&em);
	ursa_runq_drain(rq, 0);
	if (s.errors || (mode != SLIDING && s.got != n) ||
	    (mode == SLIDING && s.got != n / 4))
		(*errors)++;
	*delivered = s.got;
	ursa_emit_destroy(&em);
	return start;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "single take", "batched take",
					     "sliding 64, burst 256" };
	double seconds = 0.2;
	int repeats = 5, ret, mode, errors = 0;
	struct ursa_runq rq;
	double batched_ops = 0;

	ret = bench_options("bench_emit", argc, argv, &repeats, &seconds);
	if (ret >= 0)
		return ret;
	if (!bench_malloc_hooked("bench_emit"))
		return 1;

	ursa_runq_init(&rq, 0);
	printf("%-24s %10s %14s %14s\n", "case", "ns/item", "items/s",
	       "mallocs/item");
	for (mode = SINGLE; mode <= SLIDING; mode++) {
		uint64_t iters = 4096, total = 0, m0, m1, d;
		uint64_t init_mallocs = 0;
		double ns_per[101], med;
		int r;

		while (run(mode, &rq, iters, &errors, &d) < 20000000ull)
			iters *= 2;
		iters = (uint64_t)(iters * (seconds / 0.02));
		m0 = bench_malloc_calls();
		for (r = 0; r < repeats; r++) {
			ns_per[r] = (double)run(mode, &rq, iters, &errors, &d) /
				    (double)iters;
			total += iters;
			init_mallocs++; /* the ring, at init */
		}
		m1 = bench_malloc_calls() - init_mallocs;
		med = bench_median(ns_per, repeats);
		printf("%-24s %10.2f %14.0f %14.6f\n", names[mode], med,
		       1e9 / med, (double)(m1 - m0) / (double)total);
		if (m1 != m0)
			errors++;
		if (mode == BATCHED)
			batched_ops = 1e9 / med;
	}
	printf("  batched vs Effect asyncPush 3.22.4 (%.1fM/s, reference): "
	       "%.1fx; target %.0fM/s: %s\n",
	       EFFECT_PUSH_OPS / 1e6, batched_ops / EFFECT_PUSH_OPS,
	       TARGET_OPS / 1e6, batched_ops >= TARGET_OPS ? "met" : "MISSED");
	if (errors)
		fprintf(stderr,
			"bench_emit: %d checks failed (lost, duplicated or "
			"reordered items, or mallocs per item)\n",
			errors);
	return errors ? 1 : 0;
}
