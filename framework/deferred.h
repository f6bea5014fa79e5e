/* SPDX-License-Identifier: MIT */
/*
 * The deferred's completion path, inline: deferred.c builds its public
 * functions on it, and uring/'s CQE dispatch fulfils each request's
 * deferred with it, without a call. Not installed.
 */
#ifndef URSA_FRAMEWORK_DEFERRED_H
#define URSA_FRAMEWORK_DEFERRED_H

#include <ursa/deferred.h>

#include "internal.h"

/* struct ursa_deferred.state */
enum {
	DEFERRED_PENDING = 0,
	DEFERRED_DONE,
	DEFERRED_LAZY, /* done by complete_with: each awaiter computes */
};

/*
 * Queue @w on its run queue with a result, copied into it: a deferred may
 * be freed (or reinitialised) once it has no waiters left, even while
 * woken waiters are still queued. The result comes as fields, not as a
 * struct: stored field by field, it would stall a 16-byte load on store
 * forwarding (seen in bench_input's and bench_nop's profiles).
 */
static inline void __ursa_waiter_queue(struct ursa_waiter *w, int kind, int err,
				       int64_t val)
{
	w->lazy = false;
	w->exit.kind = kind;
	w->exit.err = err;
	w->exit.val = val;
	w->state = WAITER_QUEUED;
	ursa_list_add_tail(&w->work.node, &w->rq->queue);
}

/* Hand the deferred's result to @w and queue it. */
static inline void __ursa_deferred_wake(struct ursa_waiter *w,
					const struct ursa_deferred *d)
{
	if (unlikely(d->state == DEFERRED_LAZY)) {
		w->lazy = true;
		w->lazy_fn = d->lazy_fn;
		w->lazy_arg = d->lazy_arg;
		w->state = WAITER_QUEUED;
		ursa_list_add_tail(&w->work.node, &w->rq->queue);
		return;
	}
	__ursa_waiter_queue(w, d->exit.kind, d->exit.err, d->exit.val);
}

static inline void __ursa_deferred_wake_all(struct ursa_deferred *d)
{
	while (!ursa_list_empty(&d->waiters)) {
		struct ursa_waiter *w;

		w = ursa_list_first_entry(&d->waiters, struct ursa_waiter,
					  work.node);
		ursa_list_del(&w->work.node);
		__ursa_deferred_wake(w, d);
	}
}

/* ursa_deferred_done(), for callers on a hot path. */
static inline bool __ursa_deferred_done(struct ursa_deferred *d,
					const struct ursa_exit *exit)
{
	/*
	 * Each waiter gets its copy from these locals, not from d->exit,
	 * which the compiler would load again after every waiter's stores.
	 */
	int kind = exit->kind, err = exit->err;
	int64_t val = exit->val;

	if (unlikely(d->state != DEFERRED_PENDING))
		return false;
	d->exit.kind = kind;
	d->exit.err = err;
	d->exit.val = val;
	d->state = DEFERRED_DONE;
	while (!ursa_list_empty(&d->waiters)) {
		struct ursa_waiter *w;

		w = ursa_list_first_entry(&d->waiters, struct ursa_waiter,
					  work.node);
		ursa_list_del(&w->work.node);
		__ursa_waiter_queue(w, kind, err, val);
	}
	return true;
}

/*
 * ursa_deferred_succeed(@d, 0), inline, for the producer's "taken"
 * deferred that an input completes once per element: the same states and
 * the same FIFO wake-up as __ursa_deferred_done(). Return: the first
 * waiter woken, or %NULL when @d was already done or had none.
 */
static inline struct ursa_waiter *
__ursa_deferred_succeed_zero(struct ursa_deferred *d)
{
	struct ursa_waiter *first;

	if (d->state != DEFERRED_PENDING)
		return NULL;
	d->exit = ursa_exit_success(0);
	d->state = DEFERRED_DONE;
	if (ursa_list_empty(&d->waiters))
		return NULL;
	first = ursa_list_first_entry(&d->waiters, struct ursa_waiter,
				      work.node);
	while (!ursa_list_empty(&d->waiters)) {
		struct ursa_waiter *w = ursa_list_first_entry(
			&d->waiters, struct ursa_waiter, work.node);

		ursa_list_del(&w->work.node);
		__ursa_waiter_queue(w, URSA_EXIT_SUCCESS, 0, 0);
	}
	return first;
}

/*
 * Make @d pending again, as ursa_deferred_init() would, for a request
 * that starts anew. A done deferred has no waiters (completing wakes them
 * all, and awaiting a done one queues the waiter at once), and its exit
 * is read only once it is done again, so the state is all there is to
 * reset.
 */
static inline void __ursa_deferred_rearm(struct ursa_deferred *d)
{
	d->state = DEFERRED_PENDING;
}

#endif /* URSA_FRAMEWORK_DEFERRED_H */
