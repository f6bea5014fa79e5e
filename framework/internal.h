/* SPDX-License-Identifier: MIT */
/*
 * Shared between framework/ files; not installed.
 */
#ifndef URSA_FRAMEWORK_INTERNAL_H
#define URSA_FRAMEWORK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <generated/autoconf.h>
#include <ursa/deferred.h>
#include <ursa/kconfig.h>
#include <ursa/list.h>
#include <ursa/sched.h>
#include <ursa/take.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Internal assertions. With CONFIG_URSA_DEBUG they abort with the
 * condition and place; without it they compile to nothing, but the
 * condition is still type-checked.
 */
#define URSA_BUG_ON(cond)                                            \
	do {                                                         \
		if (IS_ENABLED(CONFIG_URSA_DEBUG) && unlikely(cond)) \
			__ursa_bug(__FILE__, __LINE__, #cond);       \
	} while (0)

__attribute__((noreturn, cold)) void __ursa_bug(const char *file, int line,
						const char *cond);

struct ursa_waiter;
struct ursa_exit;
struct ursa_list_head;
struct ursa_take;
struct ursa_work;

/*
 * Waiters on lists other than a deferred's (an input's readers, an emit
 * buffer's room waiters): park one on @list, or wake it with @exit onto
 * its run queue. ursa_waiter_cancel() works on either.
 */
void __ursa_waiter_park(struct ursa_waiter *w, struct ursa_list_head *list);
void __ursa_waiter_wake(struct ursa_waiter *w, const struct ursa_exit *exit);
void __ursa_waiters_wake_all(struct ursa_list_head *list,
			     const struct ursa_exit *exit);
enum {
	WAITER_IDLE = 0,
	WAITER_WAITING, /* node is on a deferred's waiter list */
	WAITER_QUEUED, /* node is on the run queue */
};
/*
 * A woken waiter's run queue function, and an input take's, with the part
 * of the latter that pulls the element: task.c recognises them at the head
 * of the run queue and does their work itself, to switch straight to the
 * task they resume.
 */
#define __ursa_hidden __attribute__((visibility("hidden")))
__ursa_hidden void __ursa_waiter_run(struct ursa_work *work);
__ursa_hidden void __ursa_input_take_run(struct ursa_work *work);
__ursa_hidden void __ursa_input_take_pull(struct ursa_take *t);

/* Takes (take.c): the same for an input's or emit buffer's consumers. */
enum { TAKE_IDLE = 0, TAKE_WAITING, TAKE_QUEUED };
bool __ursa_take_unlink(struct ursa_take *t);

/* Inline: each element's hand-off parks and queues a take once. */
static inline void __ursa_take_park(struct ursa_take *t,
				    struct ursa_list_head *list)
{
	t->state = TAKE_WAITING;
	ursa_list_add_tail(&t->work.node, list);
}

static inline void __ursa_take_queue(struct ursa_take *t,
				     void (*run)(struct ursa_work *))
{
	if (t->state == TAKE_WAITING)
		ursa_list_del(&t->work.node);
	t->work.fn = run;
	t->state = TAKE_QUEUED;
	ursa_list_add_tail(&t->work.node, &t->rq->queue);
}

struct ursa_input;

/*
 * Copy an exit as two 8-byte words: kind and err together, then the
 * value. Exits built with ursa_exit_success() and friends are stored that
 * way, and a load that matches the stores is forwarded from them while
 * they are still in flight; a 16-byte load of two 8-byte stores, or an
 * 8-byte load of two 4-byte ones, waits until they reach the cache.
 */
static inline void __ursa_exit_copy(struct ursa_exit *dst,
				    const struct ursa_exit *src)
{
	uint64_t head;

	__builtin_memcpy(&head, src, sizeof(head));
	__builtin_memcpy(dst, &head, sizeof(head));
	dst->val = src->val;
}

/*
 * Take @work, the first item of @rq, off the queue, and leave its node
 * idle as ursa_list_del_init() would. Its previous node is the queue's
 * head, so only its next one needs loading.
 */
static inline void __ursa_runq_del_first(struct ursa_runq *rq,
					 struct ursa_work *work)
{
	struct ursa_list_head *next = work->node.next;

	rq->queue.next = next;
	next->prev = &rq->queue;
	ursa_list_init(&work->node);
}

/* input.c: an emitting task was interrupted; drop its "taken" deferred. */
void __ursa_input_forget_taken(struct ursa_input *in, struct ursa_deferred *d);

#endif /* URSA_FRAMEWORK_INTERNAL_H */
