/* SPDX-License-Identifier: MIT */
/**
 * DOC: Deferred
 *
 * A deferred is a single-assignment result that any number of waiters
 * can await: Effect's Deferred, ported to C. It starts pending. The first
 * completion (succeed, fail, die, interrupt, done, complete or
 * complete_with) wins and returns %true; every later one returns %false
 * and changes nothing.
 *
 * Waiters are intrusive (&struct ursa_waiter is embedded in the caller's
 * struct) and bound to a run queue. Completing a deferred moves its
 * waiters, in FIFO order, onto their run queues; their callbacks run when
 * the run queue is drained, never from inside the completing call, so the
 * completer always keeps running first. Awaiting a deferred that is
 * already done queues the waiter too: a callback is never called from the
 * call that registers it.
 *
 * A deferred and its waiters belong to one thread and are not thread-safe.
 * A deferred must outlive the waiters that wait on it; cancel them with
 * ursa_waiter_cancel() before freeing it. Nothing here allocates.
 *
 * Where ursa's semantics come from, and where they differ from Effect's,
 * is in docs/deferred.md.
 */
#ifndef URSA_DEFERRED_H
#define URSA_DEFERRED_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/exit.h>
#include <ursa/list.h>
#include <ursa/sched.h>

/**
 * typedef ursa_effect_fn - A computation that produces an exit.
 * @arg: The argument given with it.
 *
 * Used by ursa_deferred_complete(), which calls it once, and by
 * ursa_deferred_complete_with(), which calls it once per awaiter.
 */
typedef struct ursa_exit ursa_effect_fn(void *arg);

/**
 * struct ursa_deferred - A single-assignment result with waiters.
 * @waiters: Waiters not yet woken, oldest first.
 * @state: Pending, done, or done lazily (complete_with); internal.
 * @exit: The result, once done.
 * @lazy_fn: complete_with(): the computation each awaiter runs.
 * @lazy_arg: complete_with(): its argument.
 */
struct ursa_deferred {
	struct ursa_list_head waiters;
	unsigned int state;
	union {
		struct ursa_exit exit;
		struct {
			ursa_effect_fn *lazy_fn;
			void *lazy_arg;
		};
	};
};

struct ursa_waiter;

/**
 * typedef ursa_waiter_fn - A waiter's callback.
 * @w: The waiter. It is idle when this runs: the callback may await again
 *	with it, or free it.
 * @exit: The deferred's result. The pointer is valid only during the call.
 */
typedef void ursa_waiter_fn(struct ursa_waiter *w,
			    const struct ursa_exit *exit);

/**
 * struct ursa_waiter - A callback that awaits one deferred at a time.
 * @work: The run queue item; while waiting, its node is on the deferred's
 *	waiter list instead.
 * @rq: The run queue the callback runs from.
 * @fn: The callback.
 * @state: Idle, waiting or queued; internal.
 * @lazy: The result is computed when the waiter runs (complete_with).
 * @exit: The result, once woken.
 * @lazy_fn: complete_with(): the computation to run for this awaiter.
 * @lazy_arg: complete_with(): its argument.
 */
struct ursa_waiter {
	struct ursa_work work;
	struct ursa_runq *rq;
	ursa_waiter_fn *fn;
	unsigned int state;
	bool lazy;
	union {
		struct ursa_exit exit;
		struct {
			ursa_effect_fn *lazy_fn;
			void *lazy_arg;
		};
	};
};

/**
 * ursa_deferred_init() - Initialise a pending deferred.
 * @d: The deferred, in caller-owned memory.
 *
 * A deferred may be initialised again to reuse it, once no waiter waits
 * on it. Effect: Deferred.make, without the allocation.
 *
 * Context: Any.
 */
void ursa_deferred_init(struct ursa_deferred *d);

/**
 * ursa_deferred_done() - Complete a deferred with an exit.
 * @d: The deferred.
 * @exit: The result; it is copied.
 *
 * If @d is pending, stores @exit and queues every waiter in FIFO order on
 * its run queue. Effect: Deferred.done, and Deferred.failCause.
 *
 * Context: The deferred's thread: plain code, a completion callback, a
 * task, or a waiter callback.
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_done(struct ursa_deferred *d, const struct ursa_exit *exit);

/**
 * ursa_deferred_succeed() - Complete a deferred with a value.
 * @d: The deferred.
 * @val: The value, in whatever unit the producer defines (a CQE's res is
 *	bytes or an fd).
 *
 * Effect: Deferred.succeed.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_succeed(struct ursa_deferred *d, int64_t val);

/**
 * ursa_deferred_succeed_ptr() - Complete a deferred with a pointer value.
 * @d: The deferred.
 * @ptr: The value; ownership rules are the caller's.
 *
 * Effect: Deferred.succeed.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_succeed_ptr(struct ursa_deferred *d, void *ptr);

/**
 * ursa_deferred_fail() - Complete a deferred with an expected error.
 * @d: The deferred.
 * @err: A negative errno.
 *
 * Effect: Deferred.fail.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_fail(struct ursa_deferred *d, int err);

/**
 * ursa_deferred_die() - Complete a deferred with a defect.
 * @d: The deferred.
 * @err: A negative errno that best names the defect.
 *
 * Effect: Deferred.die.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_die(struct ursa_deferred *d, int err);

/**
 * ursa_deferred_interrupt_with() - Complete a deferred with an interruption.
 * @d: The deferred.
 * @id: The interrupter's id: a task id, or 0 from plain callback code.
 *
 * Every current and future awaiter gets INTERRUPT with @id. Effect:
 * Deferred.interruptWith.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_interrupt_with(struct ursa_deferred *d, uint64_t id);

/**
 * ursa_deferred_interrupt() - Interrupt a deferred as the current caller.
 * @d: The deferred.
 *
 * The same as ursa_deferred_interrupt_with() with the id of the running
 * task, or 0 outside a task. Effect: Deferred.interrupt.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done.
 */
bool ursa_deferred_interrupt(struct ursa_deferred *d);

/**
 * ursa_deferred_complete() - Complete a deferred with a computation's exit.
 * @d: The deferred.
 * @fn: The computation. It is called exactly once, now, even when @d is
 *	already done.
 * @arg: Its argument.
 *
 * The exit is memoized: every awaiter sees the same one. Effect:
 * Deferred.complete, which also runs the effect when it loses the race.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done
 * (@fn still ran).
 */
bool ursa_deferred_complete(struct ursa_deferred *d, ursa_effect_fn *fn,
			    void *arg);

/**
 * ursa_deferred_complete_with() - Complete a deferred with a computation
 * that each awaiter runs afresh.
 * @d: The deferred.
 * @fn: The computation. It is stored, not called: each awaiter calls it
 *	when its callback is about to run, and ursa_deferred_poll() calls it
 *	too. It is never called if nobody awaits.
 * @arg: Its argument; it must stay valid as long as @d can be awaited.
 *
 * The exit is not memoized: a counter read by @fn gives each awaiter a new
 * value. Effect: Deferred.completeWith, and the lazy Deferred.sync,
 * failSync and dieSync.
 *
 * Context: The deferred's thread; see ursa_deferred_done().
 * Return: %true if this call completed @d, %false if it was already done
 * (@fn is then not stored).
 */
bool ursa_deferred_complete_with(struct ursa_deferred *d, ursa_effect_fn *fn,
				 void *arg);

/**
 * ursa_deferred_is_done() - Test whether a deferred is completed.
 * @d: The deferred.
 *
 * Effect: Deferred.isDone.
 *
 * Context: The deferred's thread.
 * Return: %true once @d is completed.
 */
bool ursa_deferred_is_done(const struct ursa_deferred *d);

/**
 * ursa_deferred_poll() - Read a deferred's result without waiting.
 * @d: The deferred.
 * @exit: Where to copy the result, or %NULL to only test.
 *
 * For a deferred completed by ursa_deferred_complete_with(), the copied
 * result is a fresh call of its computation, as an await would get.
 * Effect: Deferred.poll.
 *
 * Context: The deferred's thread.
 * Return: %true and the result in @exit if @d is done; %false, with @exit
 * untouched, while it is pending.
 */
bool ursa_deferred_poll(const struct ursa_deferred *d, struct ursa_exit *exit);

/**
 * ursa_waiter_init() - Initialise an idle waiter.
 * @w: The waiter, in caller-owned memory.
 * @rq: The run queue its callback runs from.
 * @fn: The callback.
 *
 * Context: Any.
 */
void ursa_waiter_init(struct ursa_waiter *w, struct ursa_runq *rq,
		      ursa_waiter_fn *fn);

/**
 * ursa_deferred_await() - Wait for a deferred with a callback waiter.
 * @d: The deferred.
 * @w: An idle waiter.
 *
 * If @d is pending, @w joins the tail of its waiters. If @d is done, @w is
 * queued on its run queue at once. Either way the callback runs later,
 * from the run queue, and never from inside this call. Effect:
 * Deferred.await.
 *
 * Context: The deferred's thread: plain code, a completion callback, a
 * task, or a waiter callback (including @w's own).
 * Return: 0, or a negative errno:
 * * -EBUSY - @w is already waiting or queued.
 */
int ursa_deferred_await(struct ursa_deferred *d, struct ursa_waiter *w);

/**
 * ursa_waiter_cancel() - Stop a waiter before its callback runs.
 * @w: The waiter.
 *
 * Takes @w off its deferred's waiter list, or off its run queue if the
 * deferred has already completed and woken it. The deferred itself is not
 * touched. After this returns, the callback does not run and @w may be
 * freed or reused. Effect: interrupting a fiber that awaits a deferred.
 *
 * Context: The deferred's thread, including another waiter's callback.
 * Return: %true if @w was waiting or queued and is now idle; %false if it
 * was idle already (its callback has run, or it never waited).
 */
bool ursa_waiter_cancel(struct ursa_waiter *w);

/**
 * ursa_waiter_is_pending() - Test whether a waiter's callback is still due.
 * @w: The waiter.
 *
 * Context: The waiter's thread.
 * Return: %true if @w waits on a deferred or is queued to run.
 */
bool ursa_waiter_is_pending(const struct ursa_waiter *w);

#endif /* URSA_DEFERRED_H */
