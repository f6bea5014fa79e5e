// SPDX-License-Identifier: MIT
/*
 * Deferred: a single-assignment result with FIFO waiters (Effect's
 * Deferred). The semantics, and where they differ from Effect's, are in
 * docs/deferred.md.
 */
#include <errno.h>

#include <ursa/deferred.h>
#include <ursa/task.h>

#include "deferred.h"

void ursa_deferred_init(struct ursa_deferred *d)
{
	ursa_list_init(&d->waiters);
	d->state = DEFERRED_PENDING;
	d->exit = ursa_exit_success(0);
}

bool ursa_deferred_done(struct ursa_deferred *d, const struct ursa_exit *exit)
{
	return __ursa_deferred_done(d, exit);
}

bool ursa_deferred_succeed(struct ursa_deferred *d, int64_t val)
{
	struct ursa_exit e = ursa_exit_success(val);

	return ursa_deferred_done(d, &e);
}

bool ursa_deferred_succeed_ptr(struct ursa_deferred *d, void *ptr)
{
	struct ursa_exit e = ursa_exit_success_ptr(ptr);

	return ursa_deferred_done(d, &e);
}

bool ursa_deferred_fail(struct ursa_deferred *d, int err)
{
	struct ursa_exit e = ursa_exit_failure(err);

	URSA_BUG_ON(err >= 0);
	return ursa_deferred_done(d, &e);
}

bool ursa_deferred_die(struct ursa_deferred *d, int err)
{
	struct ursa_exit e = ursa_exit_die(err);

	URSA_BUG_ON(err >= 0);
	return ursa_deferred_done(d, &e);
}

bool ursa_deferred_interrupt_with(struct ursa_deferred *d, uint64_t id)
{
	struct ursa_exit e = ursa_exit_interrupt(id);

	return ursa_deferred_done(d, &e);
}

bool ursa_deferred_interrupt(struct ursa_deferred *d)
{
	return ursa_deferred_interrupt_with(d, ursa_task_id(NULL));
}

bool ursa_deferred_complete(struct ursa_deferred *d, ursa_effect_fn *fn,
			    void *arg)
{
	/* Effect runs the effect even when it loses the race; so do we. */
	struct ursa_exit e = fn(arg);

	return ursa_deferred_done(d, &e);
}

bool ursa_deferred_complete_with(struct ursa_deferred *d, ursa_effect_fn *fn,
				 void *arg)
{
	if (d->state != DEFERRED_PENDING)
		return false;
	d->lazy_fn = fn;
	d->lazy_arg = arg;
	d->state = DEFERRED_LAZY;
	__ursa_deferred_wake_all(d);
	return true;
}

bool ursa_deferred_is_done(const struct ursa_deferred *d)
{
	return d->state != DEFERRED_PENDING;
}

bool ursa_deferred_poll(const struct ursa_deferred *d, struct ursa_exit *exit)
{
	if (d->state == DEFERRED_PENDING)
		return false;
	if (exit)
		*exit = d->state == DEFERRED_LAZY ? d->lazy_fn(d->lazy_arg) :
						    d->exit;
	return true;
}

void __ursa_waiter_run(struct ursa_work *work)
{
	struct ursa_waiter *w =
		ursa_container_of(work, struct ursa_waiter, work);
	struct ursa_exit e;

	/*
	 * Idle before the callback, and the result on our stack: the
	 * callback may await again with @w, or free it.
	 */
	w->state = WAITER_IDLE;
	e = w->lazy ? w->lazy_fn(w->lazy_arg) : w->exit;
	w->fn(w, &e);
}

void ursa_waiter_init(struct ursa_waiter *w, struct ursa_runq *rq,
		      ursa_waiter_fn *fn)
{
	ursa_work_init(&w->work, __ursa_waiter_run);
	w->rq = rq;
	w->fn = fn;
	w->state = WAITER_IDLE;
	w->lazy = false;
	w->exit = ursa_exit_success(0);
}

int ursa_deferred_await(struct ursa_deferred *d, struct ursa_waiter *w)
{
	if (w->state != WAITER_IDLE)
		return -EBUSY;
	if (d->state == DEFERRED_PENDING) {
		w->state = WAITER_WAITING;
		ursa_list_add_tail(&w->work.node, &d->waiters);
		return 0;
	}
	__ursa_deferred_wake(w, d);
	return 0;
}

bool ursa_waiter_cancel(struct ursa_waiter *w)
{
	if (w->state == WAITER_IDLE)
		return false;
	/* Waiting or queued, the node is on exactly one list. */
	ursa_list_del_init(&w->work.node);
	w->state = WAITER_IDLE;
	return true;
}

void __ursa_waiter_park(struct ursa_waiter *w, struct ursa_list_head *list)
{
	w->state = WAITER_WAITING;
	ursa_list_add_tail(&w->work.node, list);
}

void __ursa_waiter_wake(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	if (w->state == WAITER_WAITING)
		ursa_list_del(&w->work.node);
	w->lazy = false;
	w->exit = *exit;
	w->state = WAITER_QUEUED;
	ursa_list_add_tail(&w->work.node, &w->rq->queue);
}

void __ursa_waiters_wake_all(struct ursa_list_head *list,
			     const struct ursa_exit *exit)
{
	while (!ursa_list_empty(list))
		__ursa_waiter_wake(ursa_list_first_entry(
					   list, struct ursa_waiter, work.node),
				   exit);
}

bool ursa_waiter_is_pending(const struct ursa_waiter *w)
{
	return w->state != WAITER_IDLE;
}
