// SPDX-License-Identifier: MIT
/*
 * bench_timer: 100,000 timers started and expired, per second.
 *
 *   ursa     ursa_timer_start() for each timer on the loop's user-space
 *            pairing heap, then ursa_loop_run() until every one has fired
 *            (its callback run)
 *   kernel   the baseline: the same timers as one IORING_OP_TIMEOUT SQE
 *            each on a bare ring with the loop's setup flags, submitted
 *            as the SQ allows and reaped until every CQE is in
 *
 * Two cases: every timer already due, in random order (start and expiry
 * cost only), and delays spread at random over 1 ms. The clock runs from
 * the first start to the last expiry. Raw and ursa run back to back in
 * each repeat; the medians, their ratio and ursa's malloc calls per timer
 * (must be 0) are printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>

#include <ursa/loop.h>
#include <ursa/timer.h>

#include "bench.h"

#define NR_TIMERS 100000
#define KERNEL_SQ 4096

static unsigned int nr_fired;

static void fired(struct ursa_timer *t)
{
	nr_fired++;
}

/* xorshift64: the same delays for both sides, run after run. */
static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Each timer's delay (ns); "due" cases get negative ones, in the past. */
static void make_delays(int64_t *delay, unsigned int n, bool due)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned int i;

	for (i = 0; i < n; i++) {
		int64_t d = (int64_t)(rnd_next(&seed) % 1000000);

		delay[i] = due ? -d - 1 : d;
	}
}

/* The elapsed ns, or 0 on error. */
static uint64_t run_ursa(struct ursa_loop *loop, struct ursa_timer *t,
			 const int64_t *delay, unsigned int n)
{
	uint64_t start = bench_now_ns();
	unsigned int i;

	nr_fired = 0;
	for (i = 0; i < n; i++)
		if (ursa_timer_start_abs(loop, &t[i], start + delay[i], 0))
			return 0;
	if (ursa_loop_run(loop) || nr_fired != n)
		return 0;
	return bench_now_ns() - start;
}

static uint64_t run_kernel(struct io_uring *ring, struct __kernel_timespec *ts,
			   const int64_t *delay, unsigned int n)
{
	uint64_t start = bench_now_ns();
	unsigned int queued = 0, done = 0;

	while (done < n) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int ret;

		while (queued < n) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			int64_t d = delay[queued] > 0 ? delay[queued] : 0;

			if (!sqe)
				break;
			ts[queued].tv_sec = d / 1000000000;
			ts[queued].tv_nsec = d % 1000000000;
			io_uring_prep_timeout(sqe, &ts[queued], 0, 0);
			io_uring_sqe_set_data64(sqe, queued);
			queued++;
		}
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY)
			return 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res != -ETIME)
				return 0;
			seen++;
		}
		io_uring_cq_advance(ring, seen);
		done += seen;
	}
	return bench_now_ns() - start;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_timer [-r REPEATS]\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bool due;
	} cases[] = { { "all due, random order", true },
		      { "spread over 1 ms", false } };
	struct io_uring_params p;
	struct __kernel_timespec *ts;
	struct ursa_timer *timers;
	struct ursa_loop loop;
	struct io_uring ring;
	int64_t *delay;
	int repeats = 5, opt, ret, fails = 0;
	unsigned int i;
	size_t c;

	while ((opt = getopt(argc, argv, "r:h")) != -1) {
		switch (opt) {
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (repeats < 1 || repeats > 101) {
		fprintf(stderr, "bench_timer: -r takes 1 to 101\n");
		return 2;
	}

	if (!bench_malloc_hooked("bench_timer"))
		return 1;

	timers = calloc(NR_TIMERS, sizeof(*timers));
	ts = calloc(NR_TIMERS, sizeof(*ts));
	delay = calloc(NR_TIMERS, sizeof(*delay));
	if (!timers || !ts || !delay) {
		fprintf(stderr, "bench_timer: out of memory\n");
		fails = 1;
		goto out_free;
	}
	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		fprintf(stderr, "bench_timer: %s (%s)\n",
			ursa_loop_strerror(ret), strerror(-ret));
		fails = 1;
		goto out_free;
	}
	memset(&p, 0, sizeof(p));
	p.flags = loop.setup_flags;
	p.cq_entries = 4 * KERNEL_SQ;
	ret = io_uring_queue_init_params(KERNEL_SQ, &ring, &p);
	if (ret) {
		fprintf(stderr, "bench_timer: raw ring: %s\n", strerror(-ret));
		fails = 1;
		goto out_loop;
	}
	for (i = 0; i < NR_TIMERS; i++)
		ursa_timer_init(&timers[i], fired);

	printf("%u timers; kernel: one IORING_OP_TIMEOUT each, same ring "
	       "flags 0x%x\n",
	       NR_TIMERS, loop.setup_flags);
	printf("%-22s %14s %14s %8s %12s\n", "case", "kernel timers/s",
	       "ursa timers/s", "ratio", "mallocs/tmr");
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double k_ns[101], u_ns[101], ratios[101], k_rate, u_rate;
		uint64_t m0, m1, tk, tu;
		int r;

		make_delays(delay, NR_TIMERS, cases[c].due);
		/* Warm up both, and fault in the timer array. */
		if (!run_ursa(&loop, timers, delay, NR_TIMERS) ||
		    !run_kernel(&ring, ts, delay, NR_TIMERS))
			goto err;
		m0 = bench_malloc_calls();
		for (r = 0; r < repeats; r++) {
			tk = run_kernel(&ring, ts, delay, NR_TIMERS);
			tu = run_ursa(&loop, timers, delay, NR_TIMERS);
			if (!tk || !tu)
				goto err;
			k_ns[r] = (double)tk;
			u_ns[r] = (double)tu;
			ratios[r] = k_ns[r] / u_ns[r];
		}
		m1 = bench_malloc_calls();
		k_rate = NR_TIMERS * 1e9 / bench_median(k_ns, repeats);
		u_rate = NR_TIMERS * 1e9 / bench_median(u_ns, repeats);
		printf("%-22s %14.0f %14.0f %7.2fx %12.4f\n", cases[c].name,
		       k_rate, u_rate, bench_median(ratios, repeats),
		       (double)(m1 - m0) / ((double)NR_TIMERS * repeats));
		/* Neither side may allocate (liburing does not either). */
		if (m1 != m0)
			fails++;
	}
	goto out_ring;

err:
	fprintf(stderr, "bench_timer: a timer failed to start or fire\n");
	fails++;
out_ring:
	io_uring_queue_exit(&ring);
out_loop:
	ursa_loop_exit(&loop);
out_free:
	free(delay);
	free(ts);
	free(timers);
	if (fails)
		fprintf(stderr, "bench_timer: %d checks failed\n", fails);
	return fails ? 1 : 0;
}
