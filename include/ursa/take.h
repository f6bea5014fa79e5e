/* SPDX-License-Identifier: MIT */
/**
 * DOC: Takes
 *
 * A take is a consumer's request for the next thing from an input
 * (<ursa/input.h>) or an emit buffer (<ursa/emit.h>): an element, the end
 * of the stream, or its error. Like a deferred's waiter, a take is
 * intrusive, bound to a run queue, and its callback always runs from that
 * run queue, never from the call that registers it or the call that
 * makes the element available.
 *
 * Elements are pulled when the callback is about to run, not when the
 * take is woken. So a take that is cancelled after it was woken loses
 * nothing: the element stays in its source for the next consumer.
 */
#ifndef URSA_TAKE_H
#define URSA_TAKE_H

#include <stdint.h>

#include <ursa/exit.h>
#include <ursa/sched.h>

/**
 * enum ursa_take_what - What a take received.
 * @URSA_TAKE_ELEMENT: An element (or, for a batch take, one or more).
 * @URSA_TAKE_END: The stream ended; for an input, done(value).
 * @URSA_TAKE_ERROR: The stream failed, died or was interrupted.
 */
enum ursa_take_what {
	URSA_TAKE_ELEMENT = 0,
	URSA_TAKE_END,
	URSA_TAKE_ERROR,
};

/**
 * struct ursa_emit_entry - One entry of an emit buffer: a chunk or a value.
 * @ptr: The chunk's data, or %NULL for a plain value.
 * @val: The chunk's length (bytes), or the value.
 * @tag: Free for the producer: a buffer id, an offset, a sequence number.
 */
struct ursa_emit_entry {
	void *ptr;
	int64_t val;
	uint64_t tag;
};

struct ursa_take;

/**
 * typedef ursa_take_fn - A take's callback.
 * @t: The take, idle again: the callback may take again with it, or free
 *	it. Its result is in @t->what, @t->exit, @t->entry and @t->count.
 */
typedef void ursa_take_fn(struct ursa_take *t);

/**
 * struct ursa_take - A consumer's pending take.
 * @work: Run queue item; while waiting, its node is on the source's list.
 * @rq: The run queue the callback runs from.
 * @fn: The callback.
 * @src: The input or emit buffer it waits on; internal.
 * @data: The caller's pointer.
 * @state: Idle, waiting or queued; internal.
 * @what: The result's &enum ursa_take_what.
 * @exit: An input's element as SUCCESS(value), the done value as
 *	SUCCESS(value), or the error's exit.
 * @entry: An emit buffer's entry, for a single take.
 * @batch: Where a batch take copies entries.
 * @max: The size of @batch (count).
 * @count: Entries copied (count): 1 for a single take of an element.
 */
struct ursa_take {
	struct ursa_work work;
	struct ursa_runq *rq;
	ursa_take_fn *fn;
	void *src;
	void *data;
	unsigned int state;
	int what;
	struct ursa_exit exit;
	struct ursa_emit_entry entry;
	struct ursa_emit_entry *batch;
	unsigned int max;
	unsigned int count;
};

/**
 * ursa_take_init() - Initialise an idle take.
 * @t: The take, in caller-owned memory.
 * @rq: The run queue its callback runs from.
 * @fn: The callback.
 *
 * Context: Any.
 */
void ursa_take_init(struct ursa_take *t, struct ursa_runq *rq,
		    ursa_take_fn *fn);

/**
 * ursa_take_is_pending() - Test whether a take is still due.
 * @t: The take.
 *
 * Context: The take's thread.
 * Return: %true while @t waits or is queued to run.
 */
bool ursa_take_is_pending(const struct ursa_take *t);

#endif /* URSA_TAKE_H */
