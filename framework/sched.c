// SPDX-License-Identifier: MIT
/*
 * The run queue: a FIFO of intrusive work items, drained in batches.
 */
#include <ursa/sched.h>

#include "internal.h"

void ursa_runq_init(struct ursa_runq *rq, unsigned int budget)
{
	ursa_list_init(&rq->queue);
	rq->budget = budget ? budget : URSA_RUNQ_DEFAULT_BUDGET;
	rq->nr_run = 0;
	rq->batch_left = 0;
	ursa_list_init(&rq->tasks);
	rq->nr_tasks = 0;
}

unsigned int ursa_runq_run(struct ursa_runq *rq)
{
	unsigned int n;

	/*
	 * Pop before calling, so the callback sees its item idle and may
	 * queue it again, cancel a sibling, or free it. Cancelled siblings
	 * are simply no longer on the list when their turn would come.
	 *
	 * The budget lives in @rq, not here: a task that suspends may run
	 * the next item (another task's resumption) itself and switch
	 * straight to that task, and it takes that item from this batch's
	 * budget (task.c, switch_out()).
	 */
	rq->batch_left = rq->budget;
	while (rq->batch_left && !ursa_list_empty(&rq->queue)) {
		struct ursa_work *work;

		work = ursa_list_first_entry(&rq->queue, struct ursa_work,
					     node);
		__ursa_runq_del_first(rq, work);
		rq->batch_left--;
		work->fn(work);
	}
	n = rq->budget - rq->batch_left;
	rq->batch_left = 0;
	rq->nr_run += n;
	return n;
}

uint64_t ursa_runq_drain(struct ursa_runq *rq, unsigned int max_batches)
{
	uint64_t total = 0;
	unsigned int batches = 0;

	while (ursa_runq_has_work(rq)) {
		if (max_batches && batches++ == max_batches)
			break;
		total += ursa_runq_run(rq);
	}
	return total;
}
