// SPDX-License-Identifier: MIT
/*
 * bench_input: the hand-off through a single-producer input, callback
 * producer to callback consumer.
 *
 * The consumer is a take callback that takes again. The producer is a
 * waiter callback; two forms are measured:
 *
 *   callbacks           ursa_input_emit_notify(): the producer's waiter is
 *                       called back when a consumer has taken the element,
 *                       and emits the next. The cheaper form, the one the
 *                       50M/s target applies to.
 *   callbacks, deferred ursa_input_emit() with a fresh "taken" deferred that
 *                       the producer's waiter awaits: the form this
 *                       benchmark measured alone before emit_notify().
 *
 * One element per round: emit, the take's run (which pulls the element and
 * wakes the producer), the producer's waiter.
 *
 * Each repeat runs for a fixed CPU time (this thread's), the two forms in
 * turn; the median is printed in ns per element and elements/s, with
 * malloc calls per element (must be 0). The baseline is Effect's own
 * runtime (SingleProducerAsyncInput hand-off, one producer fiber and one
 * consumer fiber: 42,296 /s) from
 * ../shared/reference/effect-semantics.md; Node cannot run in-process.
 * Only correctness failures (lost or reordered elements, mallocs) make the
 * exit status non-zero, never speed.
 *
 * -n N hands over exactly N elements once (-d: through a deferred),
 * untimed, and prints nothing but failures: for instruction counts under
 * callgrind, where the cost per element is (Ir(-n 2N) - Ir(-n N)) / N.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <ursa/input.h>

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

#define EFFECT_INPUT_OPS 42296.0
#define TARGET_OPS 50e6

struct producer {
	struct ursa_waiter w;
	struct ursa_deferred taken;
	struct ursa_input *in;
	int64_t next, last;
	int errors;
	bool deferred;
};

struct consumer {
	struct ursa_take t;
	struct ursa_input *in;
	int64_t expect;
	uint64_t got;
	int errors;
};

/* ursa_input_emit_notify(): @p->w runs again once the element is taken. */
static void producer_notify(struct producer *p)
{
	if (p->next > p->last) {
		ursa_input_done(p->in, 0);
		return;
	}
	if (ursa_input_emit_notify(p->in, p->next++, &p->w))
		p->errors++;
}

/* ursa_input_emit() with a deferred that @p->w awaits. */
static void producer_deferred(struct producer *p)
{
	if (p->next > p->last) {
		ursa_input_done(p->in, 0);
		return;
	}
	ursa_deferred_init(&p->taken);
	if (ursa_input_emit(p->in, p->next++, &p->taken) ||
	    ursa_deferred_await(&p->taken, &p->w))
		p->errors++;
}

static void producer_notify_fn(struct ursa_waiter *w, const struct ursa_exit *e)
{
	producer_notify(ursa_container_of(w, struct producer, w));
}

static void producer_deferred_fn(struct ursa_waiter *w,
				 const struct ursa_exit *e)
{
	producer_deferred(ursa_container_of(w, struct producer, w));
}

static void consumer_fn(struct ursa_take *t)
{
	struct consumer *c = ursa_container_of(t, struct consumer, t);

	if (t->what != URSA_TAKE_ELEMENT)
		return;
	if (t->exit.val != c->expect++)
		c->errors++;
	c->got++;
	ursa_input_take(c->in, t);
}

/*
 * Hands @n elements over, through a deferred or not; returns the elapsed
 * ns.
 */
static uint64_t run(struct ursa_runq *rq, bool deferred, uint64_t n,
		    int *errors)
{
	struct ursa_input in;
	struct producer p;
	struct consumer c;
	uint64_t start;

	ursa_input_init(&in);
	ursa_waiter_init(&p.w, rq,
			 deferred ? producer_deferred_fn : producer_notify_fn);
	p.in = &in;
	p.next = 1;
	p.last = (int64_t)n;
	p.errors = 0;
	ursa_take_init(&c.t, rq, consumer_fn);
	c.in = &in;
	c.expect = 1;
	c.got = 0;
	c.errors = 0;

	start = cpu_now_ns();
	ursa_input_take(&in, &c.t);
	if (deferred)
		producer_deferred(&p);
	else
		producer_notify(&p);
	ursa_runq_drain(rq, 0);
	start = cpu_now_ns() - start;
	if (c.got != n || c.errors || p.errors)
		(*errors)++;
	return start;
}

/* -n COUNT: hand over COUNT elements once (callgrind); -d: deferred form. */
struct input_opts {
	long long count;
	bool deferred;
};

static bool input_opt(int opt, const char *arg, void *ctx)
{
	struct input_opts *o = ctx;

	if (opt == 'd') {
		o->deferred = true;
		return true;
	}
	return bench_opt_range("bench_input", opt, arg, 1, 1000000000ll,
			       &o->count);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "input hand-off (callbacks)",
					     "  callbacks, deferred" };
	double seconds = 0.2, ns_per[2][101], med[2], ops;
	uint64_t iters = 1000, m0, m1, total = 0;
	int repeats = 5, r, k, opt, errors = 0;
	struct input_opts o = { 0 };
	struct ursa_runq rq;

	opt = bench_options_more("bench_input", argc, argv, &repeats, &seconds,
				 "n:d", "[-n COUNT [-d]]", input_opt, &o);
	if (opt >= 0)
		return opt;
	if (!bench_malloc_hooked("bench_input"))
		return 1;

	ursa_runq_init(&rq, 0);
	if (o.count) {
		/* -d: the deferred form; else the callback one. */
		run(&rq, o.deferred, (uint64_t)o.count, &errors);
		if (errors)
			fprintf(stderr, "bench_input: lost or reordered "
					"elements\n");
		return errors ? 1 : 0;
	}
	while (run(&rq, true, iters, &errors) < 20000000ull)
		iters *= 2;
	iters = (uint64_t)(iters * (seconds / 0.02));

	/* The two forms alternate, so both see the same machine load. */
	m0 = bench_malloc_calls();
	for (r = 0; r < repeats; r++) {
		for (k = 0; k < 2; k++) {
			ns_per[k][r] = (double)run(&rq, k, iters, &errors) /
				       (double)iters;
			total += iters;
		}
	}
	m1 = bench_malloc_calls();
	printf("%-28s %10s %14s %12s\n", "case", "ns/elem", "elems/s",
	       "mallocs/elem");
	for (k = 0; k < 2; k++) {
		med[k] = bench_median(ns_per[k], repeats);
		printf("%-28s %10.2f %14.0f %12.4f\n", names[k], med[k],
		       1e9 / med[k], (double)(m1 - m0) / (double)total);
	}
	ops = 1e9 / med[0];
	printf("  vs Effect 3.22.4 (%.0f /s, reference): %.0fx; target %.0fM/s:"
	       " %s\n",
	       EFFECT_INPUT_OPS, ops / EFFECT_INPUT_OPS, TARGET_OPS / 1e6,
	       ops >= TARGET_OPS ? "met" : "MISSED");
	if (m1 != m0)
		errors++;
	if (errors)
		fprintf(stderr,
			"bench_input: %d checks failed (lost or reordered "
			"elements, or mallocs on the hot path)\n",
			errors);
	return errors ? 1 : 0;
}
