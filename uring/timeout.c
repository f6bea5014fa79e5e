// SPDX-License-Identifier: MIT
/*
 * Timers and link timeouts.
 *
 * Timers sit on a pairing heap per loop: O(1) start, O(log n) amortised
 * expiry and cancel, no allocation, and no SQE per timer. The loop waits
 * with the nearest expiry as the timeout of its one submit-and-wait call.
 * Link timeouts are the kernel's own (IORING_OP_LINK_TIMEOUT), linked
 * behind the op they bound.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <ursa/timer.h>

#include "internal.h"

uint64_t ursa_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Earlier expiry first; equal expiries in the order they were started. */
static bool timer_before(const struct ursa_timer *a, const struct ursa_timer *b)
{
	return a->expires < b->expires ||
	       (a->expires == b->expires && a->seq < b->seq);
}

/*
 * Pairing heap. A node's @child is its first child; siblings are linked
 * through @next, and @prev points at the previous sibling or, for a first
 * child, at the parent. The root has no @prev and no @next.
 */
static struct ursa_timer *heap_meld(struct ursa_timer *a, struct ursa_timer *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (timer_before(b, a)) {
		struct ursa_timer *t = a;

		a = b;
		b = t;
	}
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	b->prev = a;
	a->child = b;
	a->next = NULL;
	a->prev = NULL;
	return a;
}

/* The standard two passes: meld pairs left to right, then fold back. */
static struct ursa_timer *heap_merge_pairs(struct ursa_timer *first)
{
	struct ursa_timer *pairs = NULL, *a, *b, *rest, *root;

	while (first) {
		a = first;
		b = a->next;
		rest = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b)
			b->next = b->prev = NULL;
		a = heap_meld(a, b);
		/* Stack the melded pairs on @pairs through @next. */
		a->next = pairs;
		pairs = a;
		first = rest;
	}
	root = NULL;
	while (pairs) {
		a = pairs;
		pairs = a->next;
		a->next = NULL;
		root = heap_meld(root, a);
	}
	return root;
}

static void heap_insert(struct ursa_loop *loop, struct ursa_timer *t)
{
	t->child = t->next = t->prev = NULL;
	loop->timers = heap_meld(loop->timers, t);
}

static void heap_remove(struct ursa_loop *loop, struct ursa_timer *t)
{
	struct ursa_timer *sub;

	if (t == loop->timers) {
		loop->timers = heap_merge_pairs(t->child);
	} else {
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		sub = heap_merge_pairs(t->child);
		loop->timers = heap_meld(loop->timers, sub);
	}
	t->child = t->next = t->prev = NULL;
}

void ursa_timer_init(struct ursa_timer *t, void (*fn)(struct ursa_timer *t))
{
	memset(t, 0, sizeof(*t));
	ursa_deferred_init(&t->done);
	t->fn = fn;
}

int ursa_timer_start_abs(struct ursa_loop *loop, struct ursa_timer *t,
			 uint64_t deadline_ns, uint64_t period_ns)
{
	if (t->armed)
		return -EBUSY;
	if (loop->exiting)
		return -ESHUTDOWN;
	if (ursa_deferred_is_done(&t->done))
		ursa_deferred_init(&t->done);
	t->loop = loop;
	t->expires = deadline_ns;
	t->period = period_ns;
	t->overruns = 0;
	t->seq = loop->timer_seq++;
	t->armed = true;
	heap_insert(loop, t);
	loop->nr_timers++;
	return 0;
}

int ursa_timer_start(struct ursa_loop *loop, struct ursa_timer *t,
		     uint64_t delay_ns, uint64_t period_ns)
{
	return ursa_timer_start_abs(loop, t, ursa_now_ns() + delay_ns,
				    period_ns);
}

bool ursa_timer_cancel(struct ursa_timer *t)
{
	struct ursa_loop *loop = t->loop;

	if (!t->armed)
		return false;
	heap_remove(loop, t);
	t->armed = false;
	loop->nr_timers--;
	ursa_deferred_interrupt(&t->done);
	return true;
}

bool ursa_timer_armed(const struct ursa_timer *t)
{
	return t->armed;
}

unsigned int __ursa_timers_run(struct ursa_loop *loop)
{
	unsigned int fired = 0, budget = loop->nr_timers;
	uint64_t now = loop->now;

	/*
	 * At most as many expiries as timers were armed: a callback that
	 * restarts its timer with no delay fires again next turn, after
	 * I/O, instead of spinning here.
	 */
	while (loop->timers && loop->timers->expires <= now && fired < budget) {
		struct ursa_timer *t = loop->timers;

		heap_remove(loop, t);
		fired++;
		loop->stats.timers_fired++;
		if (t->period) {
			uint64_t late = now - t->expires;
			uint64_t missed = late / t->period;

			t->overruns += missed;
			t->expires += (missed + 1) * t->period;
			t->seq = loop->timer_seq++;
			heap_insert(loop, t);
		} else {
			t->armed = false;
			loop->nr_timers--;
			ursa_deferred_succeed(&t->done, 0);
		}
		/* The callback may cancel, restart or free @t. */
		if (t->fn)
			t->fn(t);
	}
	return fired;
}

bool __ursa_timers_next(struct ursa_loop *loop, struct __kernel_timespec *ts)
{
	uint64_t now, left;

	if (!loop->timers)
		return false;
	now = ursa_now_ns();
	left = loop->timers->expires > now ? loop->timers->expires - now : 0;
	ts->tv_sec = (long long)(left / 1000000000ull);
	ts->tv_nsec = (long long)(left % 1000000000ull);
	return true;
}

void __ursa_timers_cancel_all(struct ursa_loop *loop)
{
	while (loop->timers)
		ursa_timer_cancel(loop->timers);
}

void __ursa_link_timeout_arm(struct ursa_loop *loop, struct ursa_req *req,
			     struct io_uring_sqe *sqe)
{
	struct io_uring_sqe *tsqe;

	sqe->flags |= IOSQE_IO_LINK;
	/* The caller reserved two SQEs in a row. */
	tsqe = io_uring_get_sqe(&loop->ring);
	req->ts.tv_sec = (long long)(req->timeout_ns / 1000000000ull);
	req->ts.tv_nsec = (long long)(req->timeout_ns % 1000000000ull);
	io_uring_prep_link_timeout(tsqe, &req->ts, 0);
	io_uring_sqe_set_data64(tsqe,
				(uint64_t)(uintptr_t)req | UD_LINK_TIMEOUT);
	req->pending = 2;
	req->timeout_res = 0;
	req->flags |= REQ_F_LINK_TIMEOUT;
}
