/* SPDX-License-Identifier: MIT */
/**
 * DOC: Timers
 *
 * Timers live in user space, on a pairing heap per loop: starting or
 * cancelling one costs no SQE and no system call, and 100,000 timers need
 * no more kernel resources than one. The loop bounds each wait by the
 * nearest expiry (the timeout argument of io_uring_submit_and_wait_timeout(),
 * which needs no SQE where the kernel has IORING_FEAT_EXT_ARG), and fires
 * every timer that is due at the start of the next turn, earliest first,
 * and equal expiries in the order they were started.
 *
 * A one-shot timer fulfils its deferred with SUCCESS(0), or INTERRUPT if
 * it is cancelled first. Every expiry, one-shot or periodic, also calls
 * its callback. A periodic timer keeps its phase: the next expiry is the
 * last one plus the period, and periods the loop was too late for are
 * counted in @overruns instead of firing in a burst.
 *
 * Timers belong to their loop's thread. For an operation with a deadline,
 * use a link timeout (ursa_req_set_timeout()) rather than a timer.
 */
#ifndef URSA_TIMER_H
#define URSA_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/deferred.h>
#include <ursa/loop.h>

/**
 * struct ursa_timer - A timer on the loop's user-space timer heap.
 * @done: One-shot timers: fulfilled with SUCCESS(0) at expiry, or
 *	INTERRUPT when cancelled.
 * @fn: Optional callback, called at each expiry (completion context).
 * @loop: The loop it runs on.
 * @data: The caller's pointer.
 * @expires: The next expiry, CLOCK_MONOTONIC (ns).
 * @period: The period of a periodic timer (ns), or 0.
 * @overruns: Periods a periodic timer missed because the loop was late.
 * @seq: Insertion order, to fire equal expiries in start order.
 * @child: Pairing heap: first child.
 * @next: Pairing heap: next sibling.
 * @prev: Pairing heap: previous sibling, or parent for a first child.
 * @armed: The timer is on the heap.
 */
struct ursa_timer {
	struct ursa_deferred done;
	void (*fn)(struct ursa_timer *t);
	struct ursa_loop *loop;
	void *data;
	uint64_t expires;
	uint64_t period;
	uint64_t overruns;
	uint64_t seq;
	struct ursa_timer *child;
	struct ursa_timer *next;
	struct ursa_timer *prev;
	bool armed;
};

/**
 * ursa_timer_init() - Initialise an idle timer.
 * @t: The timer, in caller-owned memory.
 * @fn: Called at each expiry, from the loop; %NULL to only fulfil the
 *	deferred.
 *
 * Context: Any.
 */
void ursa_timer_init(struct ursa_timer *t, void (*fn)(struct ursa_timer *t));

/**
 * ursa_timer_start() - Arm a timer relative to now.
 * @loop: The loop.
 * @t: An idle timer (initialised, not armed).
 * @delay_ns: Time until the first expiry (ns); 0 fires on the next turn.
 * @period_ns: The period of a periodic timer (ns), or 0 for one-shot.
 *
 * Re-initialises @t's deferred if it was done, so a timer can be reused.
 *
 * Context: The loop's thread, including its callbacks and @t's own.
 * Return: 0, or a negative errno:
 * * -EBUSY - @t is armed.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_timer_start(struct ursa_loop *loop, struct ursa_timer *t,
		     uint64_t delay_ns, uint64_t period_ns);

/**
 * ursa_timer_start_abs() - Arm a timer at an absolute time.
 * @loop: The loop.
 * @t: An idle timer.
 * @deadline_ns: The first expiry, CLOCK_MONOTONIC (ns). A time in the
 *	past fires on the next turn.
 * @period_ns: The period of a periodic timer (ns), or 0 for one-shot.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @t is armed.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_timer_start_abs(struct ursa_loop *loop, struct ursa_timer *t,
			 uint64_t deadline_ns, uint64_t period_ns);

/**
 * ursa_timer_cancel() - Disarm a timer.
 * @t: The timer.
 *
 * A one-shot timer's deferred completes with INTERRUPT; the callback is
 * not called. A periodic timer's deferred, which never completes while it
 * runs, completes with INTERRUPT too.
 *
 * Context: The loop's thread, including @t's own callback.
 * Return: %true if @t was armed, %false if it was idle.
 */
bool ursa_timer_cancel(struct ursa_timer *t);

/**
 * ursa_timer_armed() - Test whether a timer is armed.
 * @t: The timer.
 *
 * Context: The loop's thread.
 * Return: %true between a start and its last expiry or cancel.
 */
bool ursa_timer_armed(const struct ursa_timer *t);

/**
 * ursa_now_ns() - Read CLOCK_MONOTONIC.
 *
 * Context: Any.
 * Return: the time (ns).
 */
uint64_t ursa_now_ns(void);

/**
 * ursa_task_sleep() - Suspend the current task for a time.
 * @loop: The loop whose timers to use.
 * @ns: How long (ns).
 *
 * Effect: Effect.sleep.
 *
 * Context: A task on @loop's run queue.
 * Return: 0, or a negative errno:
 * * -ECANCELED - the task was interrupted, or the loop is exiting.
 * * -EPERM - not called from a task.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_task_sleep(struct ursa_loop *loop, uint64_t ns);

#endif /* URSA_TIMER_H */
