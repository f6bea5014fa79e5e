// SPDX-License-Identifier: MIT
/*
 * bench_nop: the cost of ursa's request path, against raw liburing.
 *
 *   ursa   B requests started with ursa_nop(), a callback waiter awaiting
 *          each one's deferred; loop turns until every waiter has run: the
 *          SQE, the CQE, the dispatch through user_data, the deferred
 *          fulfilled and the waiter run from the run queue
 *   raw    the same B NOPs on a bare ring with the setup flags the ursa
 *          loop got (io_uring_submit_and_wait(), for_each_cqe, advance)
 *
 * at batches B = 1, 32 and 128. Raw and ursa run back to back in each
 * repeat, taking turns to go first; the medians of ops/s, the median of
 * the per-repeat ratios (robust on a busy machine) and the malloc calls
 * per op in steady state (must be 0) are printed. The target is 0.75x
 * raw at batches of 32 and more. -o runs one side, for perf; -b runs
 * one batch size and -n a fixed number of rounds without calibration,
 * for callgrind: the difference of two -n runs' Ir, divided by the
 * extra NOPs, is the instructions per NOP.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>

#include <ursa/deferred.h>
#include <ursa/loop.h>

#include "bench.h"

#define MAX_BATCH 128
#define MAX_BATCH_STR "128"
#define TARGET_RATIO 0.75

struct nop_op {
	struct ursa_req req;
	struct ursa_waiter w;
};

static unsigned int nr_woken;

static void woken(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	nr_woken += exit->kind == URSA_EXIT_SUCCESS;
}

/* @iters rounds of @batch NOPs through ursa; the elapsed ns, 0 on error. */
static uint64_t run_ursa(struct ursa_loop *loop, struct nop_op *ops,
			 unsigned int batch, uint64_t iters)
{
	uint64_t start = bench_now_ns(), i;
	unsigned int k;

	for (i = 0; i < iters; i++) {
		nr_woken = 0;
		for (k = 0; k < batch; k++) {
			if (ursa_nop(loop, &ops[k].req) ||
			    ursa_deferred_await(&ops[k].req.done, &ops[k].w))
				return 0;
		}
		while (nr_woken < batch)
			if (ursa_loop_run_once(loop, true) < 0)
				return 0;
	}
	return bench_now_ns() - start;
}

/* The same on a bare ring; the elapsed ns, 0 on error. */
static uint64_t run_raw(struct io_uring *ring, unsigned int batch,
			uint64_t iters)
{
	uint64_t start = bench_now_ns(), i, sum = 0;
	unsigned int k, seen;

	for (i = 0; i < iters; i++) {
		for (k = 0; k < batch; k++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			if (!sqe)
				return 0;
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, k + 1);
		}
		for (seen = 0; seen < batch;) {
			struct io_uring_cqe *cqe;
			unsigned int head, n = 0;
			int ret;

			ret = io_uring_submit_and_wait(ring, batch - seen);
			if (ret < 0 && ret != -EINTR)
				return 0;
			io_uring_for_each_cqe(ring, head, cqe) {
				sum += cqe->user_data;
				n++;
			}
			io_uring_cq_advance(ring, n);
			seen += n;
		}
	}
	if (!sum)
		return 0;
	return bench_now_ns() - start;
}

/* -o raw|ursa: one side only; -b: one batch size; -n: rounds, no calibration. */
struct nop_opts {
	int only; /* 0 both, 1 raw, 2 ursa */
	long long one_batch, rounds;
};

static bool nop_opt(int opt, const char *arg, void *ctx)
{
	struct nop_opts *o = ctx;

	switch (opt) {
	case 'o':
		o->only = !strcmp(arg, "raw")  ? 1 :
			  !strcmp(arg, "ursa") ? 2 :
						 -1;
		if (o->only < 0)
			fprintf(stderr, "bench_nop: -o takes raw or ursa\n");
		return o->only >= 0;
	case 'b':
		return bench_opt_range("bench_nop", opt, arg, 1, MAX_BATCH,
				       &o->one_batch);
	default:
		return bench_opt_range("bench_nop", opt, arg, 1, 1000000000ll,
				       &o->rounds);
	}
}

int main(int argc, char **argv)
{
	static const unsigned int batches[] = { 1, 32, 128 };
	static struct nop_op ops[MAX_BATCH];
	struct io_uring_params p;
	struct ursa_loop loop;
	struct io_uring ring;
	double seconds = 0.05;
	int repeats = 15, opt, ret, fails = 0;
	struct nop_opts o = { 0 };
	size_t b;
	unsigned int k;

	opt = bench_options_more(
		"bench_nop", argc, argv, &repeats, &seconds, "o:b:n:",
		"[-o raw|ursa] [-b BATCH] [-n ROUNDS]\n"
		"  -o  run one side only, for perf stat or perf record\n"
		"  -b  one batch size (1 to " MAX_BATCH_STR
		") instead of 1, 32 and 128\n"
		"  -n  ROUNDS of a batch per repeat, no calibration "
		"(for callgrind)",
		nop_opt, &o);
	if (opt >= 0)
		return opt;
	if (!bench_malloc_hooked("bench_nop"))
		return 1;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		fprintf(stderr, "bench_nop: %s (%s)\n", ursa_loop_strerror(ret),
			strerror(-ret));
		return 1;
	}
	/* The bare ring gets what the loop got: same sizes, same flags. */
	memset(&p, 0, sizeof(p));
	p.flags = loop.setup_flags;
	p.cq_entries = loop.ring.cq.ring_entries;
	ret = io_uring_queue_init_params(loop.ring.sq.ring_entries, &ring, &p);
	if (ret) {
		fprintf(stderr, "bench_nop: raw ring: %s\n", strerror(-ret));
		ursa_loop_exit(&loop);
		return 1;
	}
	/* As ursa_loop_init() does: enter by the registered ring index. */
	io_uring_register_ring_fd(&ring);
	for (k = 0; k < MAX_BATCH; k++) {
		ursa_req_init(&ops[k].req, NULL);
		ursa_waiter_init(&ops[k].w, ursa_loop_runq(&loop), woken);
	}

	printf("ring: %u SQ / %u CQ entries, setup flags 0x%x%s%s%s\n",
	       loop.ring.sq.ring_entries, loop.ring.cq.ring_entries,
	       loop.setup_flags,
	       loop.setup_flags & IORING_SETUP_DEFER_TASKRUN ?
		       " DEFER_TASKRUN" :
		       "",
	       loop.setup_flags & IORING_SETUP_SINGLE_ISSUER ?
		       " SINGLE_ISSUER" :
		       "",
	       loop.setup_flags & IORING_SETUP_COOP_TASKRUN ? " COOP_TASKRUN" :
							      "");
	printf("%-6s %14s %14s %8s %11s %10s\n", "batch", "raw ops/s",
	       "ursa ops/s", "ratio", "mallocs/op", "target");
	for (b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		unsigned int batch = o.one_batch ? (unsigned int)o.one_batch :
						   batches[b];
		double raw_ns[101], ursa_ns[101], ratios[101];
		double raw_ops, ursa_ops, ratio;
		uint64_t iters = 64, m0, m1, total = 0, t_raw, t_ursa;
		int r;

		if (o.one_batch && b)
			break;
		if (o.rounds) {
			iters = (uint64_t)o.rounds;
			goto measure;
		}
		/* Calibrate on the raw ring: one repeat lasts about @seconds. */
		while ((t_raw = run_raw(&ring, batch, iters)) &&
		       t_raw < 20000000ull)
			iters *= 2;
		if (!t_raw || !run_ursa(&loop, ops, batch, iters / 4 + 1))
			goto err;
		iters = (uint64_t)(iters * (seconds / 0.02)) + 1;
measure:

		m0 = bench_malloc_calls();
		for (r = 0; r < repeats; r++) {
			/* Alternate who goes first, against drift. */
			if (r % 2 && o.only != 1)
				t_ursa = run_ursa(&loop, ops, batch, iters);
			t_raw = o.only == 2 ? 1 : run_raw(&ring, batch, iters);
			if (!(r % 2) || o.only == 1)
				t_ursa = o.only == 1 ? 1 :
						       run_ursa(&loop, ops,
								batch, iters);
			if (!t_raw || !t_ursa)
				goto err;
			raw_ns[r] = (double)t_raw / (double)(iters * batch);
			ursa_ns[r] = (double)t_ursa / (double)(iters * batch);
			ratios[r] = raw_ns[r] / ursa_ns[r];
			total += iters * batch;
		}
		m1 = bench_malloc_calls();
		raw_ops = 1e9 / bench_median(raw_ns, repeats);
		ursa_ops = 1e9 / bench_median(ursa_ns, repeats);
		/* Paired: each repeat's raw and ursa ran back to back. */
		ratio = bench_median(ratios, repeats);
		if (o.only) {
			/* One side only: no ratio, no verdict. */
			printf("%-6u %14.0f %14.0f %8s %11.4f %10s\n", batch,
			       o.only == 1 ? raw_ops : 0,
			       o.only == 2 ? ursa_ops : 0, "-",
			       (double)(m1 - m0) / (double)total, "-");
		} else {
			printf("%-6u %14.0f %14.0f %7.2fx %11.4f %10s\n", batch,
			       raw_ops, ursa_ops, ratio,
			       (double)(m1 - m0) / (double)total,
			       batch < 32	     ? "-" :
			       ratio >= TARGET_RATIO ? "met" :
						       "MISSED");
		}
		if (m1 != m0)
			fails++;
	}
	io_uring_queue_exit(&ring);
	ursa_loop_exit(&loop);
	if (fails)
		fprintf(stderr, "bench_nop: mallocs on the hot path\n");
	return fails ? 1 : 0;

err:
	fprintf(stderr, "bench_nop: a NOP failed to start or complete\n");
	io_uring_queue_exit(&ring);
	ursa_loop_exit(&loop);
	return 1;
}
