/* SPDX-License-Identifier: MIT */
/**
 * DOC: Run queue
 *
 * The run queue holds work that is ready to run: woken waiters, resumed
 * tasks, posted callbacks. Work items are intrusive (&struct ursa_work is
 * embedded in the caller's struct), so queueing never allocates.
 *
 * The queue is drained in FIFO order in batches. One call to
 * ursa_runq_run() runs at most the queue's budget of items, so a callback
 * that keeps queueing more work cannot starve I/O: the loop gets back
 * control after every batch, submits and reaps, then drains again. An item
 * queued while a batch runs goes to the tail and may run in the same batch
 * if the budget allows.
 *
 * A run queue belongs to one thread. Nothing here is thread-safe; other
 * threads post work through the loop.
 */
#ifndef URSA_SCHED_H
#define URSA_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/list.h>

/**
 * URSA_RUNQ_DEFAULT_BUDGET - Items per ursa_runq_run() call by default.
 */
#define URSA_RUNQ_DEFAULT_BUDGET 256

struct ursa_work;

/**
 * typedef ursa_work_fn - A work item's callback.
 * @work: The item. It is off the queue when this runs, so the callback may
 *	queue it again or free it.
 */
typedef void ursa_work_fn(struct ursa_work *work);

/**
 * struct ursa_work - A unit of ready work, embedded in the caller's struct.
 * @node: Link on the run queue; points at itself when not queued.
 * @fn: Called when the item runs.
 */
struct ursa_work {
	struct ursa_list_head node;
	ursa_work_fn *fn;
};

/**
 * struct ursa_runq - A FIFO of ready work, drained in budgeted batches.
 * @queue: The queued items, oldest first.
 * @budget: The most items one ursa_runq_run() call runs (count).
 * @nr_run: Items run since init (count), for counters.
 * @batch_left: Items the batch running now may still run (count); 0 when
 *	no ursa_runq_run() call is running. A task that suspends may run
 *	the next item itself, when that item only resumes another task (see
 *	framework/task.c), and so may an input's take item, when the next
 *	item is the next step of its hand-off (framework/input.c); both take
 *	it from this budget.
 * @tasks: Tasks spawned on this run queue that have not finished.
 * @nr_tasks: How many (count).
 */
struct ursa_runq {
	struct ursa_list_head queue;
	unsigned int budget;
	uint64_t nr_run;
	unsigned int batch_left;
	struct ursa_list_head tasks;
	unsigned int nr_tasks;
};

/**
 * ursa_runq_init() - Initialise an empty run queue.
 * @rq: The run queue, in caller-owned memory.
 * @budget: The most items one ursa_runq_run() call runs (count); 0 means
 *	%URSA_RUNQ_DEFAULT_BUDGET.
 *
 * Context: Any; the run queue is then used from one thread only.
 */
void ursa_runq_init(struct ursa_runq *rq, unsigned int budget);

/**
 * ursa_work_init() - Initialise a work item.
 * @work: The item, in caller-owned memory.
 * @fn: Its callback.
 *
 * Context: Any.
 */
static inline void ursa_work_init(struct ursa_work *work, ursa_work_fn *fn)
{
	ursa_list_init(&work->node);
	work->fn = fn;
}

/**
 * ursa_work_pending() - Test whether a work item is queued.
 * @work: The item.
 *
 * Context: The run queue's thread.
 * Return: %true if @work is on a run queue and has not run yet.
 */
static inline bool ursa_work_pending(const struct ursa_work *work)
{
	return !ursa_list_empty(&work->node);
}

/**
 * ursa_runq_queue() - Queue a work item at the tail.
 * @rq: The run queue.
 * @work: The item, initialised with ursa_work_init().
 *
 * Queueing an item that is already queued changes nothing, like the
 * kernel's queue_work(): the item still runs once.
 *
 * Context: The run queue's thread: plain code, a completion callback, a
 * task, or another work item.
 * Return: %true if @work was queued, %false if it was already pending.
 */
static inline bool ursa_runq_queue(struct ursa_runq *rq, struct ursa_work *work)
{
	if (ursa_work_pending(work))
		return false;
	ursa_list_add_tail(&work->node, &rq->queue);
	return true;
}

/**
 * ursa_runq_cancel() - Take a queued work item off its run queue.
 * @work: The item.
 *
 * After this returns, the item's callback does not run for the queueing
 * that was cancelled, and the caller may free it.
 *
 * Context: The run queue's thread.
 * Return: %true if @work was pending and is now cancelled, %false if it
 * was not queued.
 */
static inline bool ursa_runq_cancel(struct ursa_work *work)
{
	if (!ursa_work_pending(work))
		return false;
	ursa_list_del_init(&work->node);
	return true;
}

/**
 * ursa_runq_has_work() - Test whether anything is queued.
 * @rq: The run queue.
 *
 * Context: The run queue's thread.
 * Return: %true if at least one item is queued.
 */
static inline bool ursa_runq_has_work(const struct ursa_runq *rq)
{
	return !ursa_list_empty(&rq->queue);
}

/**
 * ursa_runq_run() - Run one batch of queued work.
 * @rq: The run queue.
 *
 * Runs items in FIFO order until the queue is empty or @rq's budget is
 * spent. Items queued by the callbacks join the tail and may run in the
 * same batch.
 *
 * Context: The run queue's thread, outside any work callback of @rq. The
 * loop calls it once per turn.
 * Return: the number of items run (count).
 */
unsigned int ursa_runq_run(struct ursa_runq *rq);

/**
 * ursa_runq_drain() - Run batches until the queue is empty.
 * @rq: The run queue.
 * @max_batches: The most batches to run (count); 0 means no limit.
 *
 * For tests and for shutdown; the loop uses ursa_runq_run() so that I/O
 * is reaped between batches.
 *
 * Context: The run queue's thread, outside any work callback of @rq.
 * Return: the number of items run (count).
 */
uint64_t ursa_runq_drain(struct ursa_runq *rq, unsigned int max_batches);

#endif /* URSA_SCHED_H */
