/* SPDX-License-Identifier: MIT */
/**
 * DOC: Single-producer inputs
 *
 * An input hands elements from one producer to any number of consumers
 * through a buffer of one: Effect's SingleProducerAsyncInput, as its
 * documentation describes it. Each element reaches exactly one consumer,
 * the one that has waited longest. The producer emits one element at a
 * time and learns when a consumer has taken it, through a deferred that is
 * fulfilled (ursa_input_emit()) or a waiter that is called back
 * (ursa_input_emit_notify()); until then a second emit is refused with
 * -EBUSY. That is the backpressure.
 *
 * done(value) and error(exit) do not wait. An element still in the slot
 * is delivered first; then the input is terminal, and every consumer,
 * current or later, receives the terminal result, as often as it asks.
 * After that, emit, done and error return -EPIPE and change nothing.
 *
 * Where this differs from Effect's code (which drops an element emitted
 * while no consumer waits, and loses one into a cancelled take) is in
 * docs/effect-differences.md; each difference has a test.
 *
 * An input and its takes belong to one thread. Nothing here allocates.
 */
#ifndef URSA_INPUT_H
#define URSA_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/deferred.h>
#include <ursa/exit.h>
#include <ursa/list.h>
#include <ursa/take.h>

/**
 * struct ursa_input - A single-producer, multi-consumer hand-off.
 * @notify: The producer's waiter for the element in @slot
 *	(ursa_input_emit_notify()), alone on this list, or empty; only
 *	meaningful while @slot is full, and only @notify.next is kept up
 *	to date. First, so that its address is the input's: the hand-off
 *	compares with it and stores it without computing it.
 * @takers: Takes waiting for an element behind @head, oldest first.
 * @readers: Producer waiters of ursa_input_await_read().
 * @state: Open and empty, open and full, or terminal; internal.
 * @head: While @slot is empty, the oldest waiting take (on no list), or
 *	%NULL and then @takers is empty; while @slot is full, the take
 *	woken to pull the element, or %NULL and then @takers is empty.
 * @slot: The element waiting for a consumer while no take is woken for
 *	it; the take woken for it (@head) holds it in its @exit.val.
 * @taken: The producer's deferred for the element in @slot, or %NULL.
 * @terminal: SUCCESS(value) after done, or the error's exit.
 */
struct ursa_input {
	struct ursa_list_head notify;
	struct ursa_list_head takers;
	struct ursa_list_head readers;
	unsigned int state;
	struct ursa_take *head;
	struct ursa_exit slot;
	struct ursa_deferred *taken;
	struct ursa_exit terminal;
};

/**
 * ursa_input_init() - Initialise an open, empty input.
 * @in: The input, in caller-owned memory.
 *
 * Context: Any.
 */
void ursa_input_init(struct ursa_input *in);

/**
 * ursa_input_emit() - Offer one element to the consumers.
 * @in: The input.
 * @val: The element.
 * @taken: Fulfilled with SUCCESS(0) when a consumer has taken the
 *	element, or %NULL. It must be pending (freshly initialised).
 *
 * The element goes to the longest-waiting consumer; if none waits, it
 * stays in the slot until one takes it. Effect:
 * SingleProducerAsyncInput.emit, with the documented buffer of one.
 *
 * Context: The input's thread: plain code, a completion callback, a task.
 * Return: 0, or a negative errno:
 * * -EBUSY - an earlier element has not been taken yet.
 * * -EPIPE - the input is done or failed.
 */
int ursa_input_emit(struct ursa_input *in, int64_t val,
		    struct ursa_deferred *taken);

/**
 * ursa_input_emit_ptr() - Offer one pointer element to the consumers.
 * @in: The input.
 * @ptr: The element; consumers read it from &ursa_take.exit.ptr.
 * @taken: As for ursa_input_emit().
 *
 * Context: The input's thread.
 * Return: 0, or a negative errno as for ursa_input_emit().
 */
int ursa_input_emit_ptr(struct ursa_input *in, void *ptr,
			struct ursa_deferred *taken);

/**
 * ursa_input_emit_notify() - Offer one element, with a callback for when
 * it is taken.
 * @in: The input.
 * @val: The element.
 * @w: An idle waiter (ursa_waiter_init()). When a consumer has taken the
 *	element, @w is queued on its run queue with SUCCESS(0), as if it
 *	awaited a deferred that ursa_input_emit() was given; it may emit
 *	the next element from its callback.
 *
 * ursa_input_emit() without a deferred to initialise and await: the
 * cheaper form for a producer that is a callback. Until the element is
 * taken, @w waits on @in; ursa_waiter_cancel() stops it, and the element
 * stays in the slot for a consumer all the same. Effect:
 * SingleProducerAsyncInput.emit, with the documented buffer of one.
 *
 * Context: The input's thread: plain code, a completion callback, a task,
 * or a waiter callback (including @w's own).
 * Return: 0, or a negative errno:
 * * -EBUSY - an earlier element has not been taken yet, or @w is pending.
 * * -EPIPE - the input is done or failed.
 */
int ursa_input_emit_notify(struct ursa_input *in, int64_t val,
			   struct ursa_waiter *w);

/**
 * ursa_input_done() - End the input with a value.
 * @in: The input.
 * @val: The done value every consumer receives.
 *
 * Never waits. An element still in the slot is delivered first. Effect:
 * SingleProducerAsyncInput.done.
 *
 * Context: The input's thread.
 * Return: 0, or a negative errno:
 * * -EPIPE - the input is already done or failed.
 */
int ursa_input_done(struct ursa_input *in, int64_t val);

/**
 * ursa_input_error() - Fail the input.
 * @in: The input.
 * @exit: The failure: a FAILURE, DIE or INTERRUPT exit; a SUCCESS exit is
 *	refused.
 *
 * Never waits; every current and later consumer receives @exit. Effect:
 * SingleProducerAsyncInput.error.
 *
 * Context: The input's thread.
 * Return: 0, or a negative errno:
 * * -EPIPE - the input is already done or failed.
 * * -EINVAL - @exit is a success.
 */
int ursa_input_error(struct ursa_input *in, const struct ursa_exit *exit);

/**
 * ursa_input_close() - Fail the input with an interruption by the caller.
 * @in: The input.
 *
 * error(INTERRUPT(id)) with the current task's id, or 0 outside tasks.
 * Never waits. Effect: SingleProducerAsyncInput.close.
 *
 * Context: The input's thread.
 * Return: 0, or a negative errno:
 * * -EPIPE - the input is already done or failed.
 */
int ursa_input_close(struct ursa_input *in);

/**
 * ursa_input_take() - Take the next element, or the terminal result.
 * @in: The input.
 * @t: An idle take; its callback runs from its run queue with @t->what
 *	%URSA_TAKE_ELEMENT (@t->exit is SUCCESS(element)), %URSA_TAKE_END
 *	(@t->exit is SUCCESS(done value)) or %URSA_TAKE_ERROR.
 *
 * Takes are served in FIFO order. Effect: SingleProducerAsyncInput.take.
 *
 * Context: The input's thread, including take callbacks.
 * Return: 0, or a negative errno:
 * * -EBUSY - @t is already pending.
 */
int ursa_input_take(struct ursa_input *in, struct ursa_take *t);

struct ursa_take_with;

/**
 * struct ursa_take_with - A take that dispatches to one of three callbacks.
 * @take: The take underneath.
 * @on_error: Called with the error's exit when the input failed.
 * @on_element: Called with an element as SUCCESS(value).
 * @on_done: Called with the done value as SUCCESS(value).
 */
struct ursa_take_with {
	struct ursa_take take;
	void (*on_error)(struct ursa_take_with *tw, const struct ursa_exit *e);
	void (*on_element)(struct ursa_take_with *tw,
			   const struct ursa_exit *e);
	void (*on_done)(struct ursa_take_with *tw, const struct ursa_exit *e);
};

/**
 * ursa_input_take_with() - Take, and dispatch on what was taken.
 * @in: The input.
 * @tw: The take, in caller-owned memory; it is initialised here unless it
 *	is pending.
 * @rq: The run queue the callback runs from.
 * @on_error: Called when the input failed.
 * @on_element: Called with an element.
 * @on_done: Called when the input is done.
 *
 * Exactly one of the three callbacks runs, from @rq. Effect:
 * SingleProducerAsyncInput.takeWith.
 *
 * Context: The input's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @tw is already pending.
 * * -EINVAL - a callback is %NULL.
 */
int ursa_input_take_with(
	struct ursa_input *in, struct ursa_take_with *tw, struct ursa_runq *rq,
	void (*on_error)(struct ursa_take_with *tw, const struct ursa_exit *e),
	void (*on_element)(struct ursa_take_with *tw,
			   const struct ursa_exit *e),
	void (*on_done)(struct ursa_take_with *tw, const struct ursa_exit *e));

/**
 * ursa_input_take_cancel() - Cancel a pending take.
 * @in: The input.
 * @t: The take.
 *
 * No element is lost: if @t was woken for the element in the slot, the
 * element stays there and the next waiting consumer is woken for it.
 *
 * Context: The input's thread, including another take's callback.
 * Return: %true if @t was pending and will not run, %false if it was idle.
 */
bool ursa_input_take_cancel(struct ursa_input *in, struct ursa_take *t);

/**
 * ursa_input_await_read() - Wait until a consumer is waiting.
 * @in: The input.
 * @w: An idle waiter; it runs with SUCCESS(0) once a take is waiting for
 *	an element, or once the input is terminal.
 *
 * A producer that wants to emit only into a waiting consumer awaits this
 * first. Effect: SingleProducerAsyncInput.awaitRead.
 *
 * Context: The input's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @w is already pending.
 */
int ursa_input_await_read(struct ursa_input *in, struct ursa_waiter *w);

/**
 * ursa_input_is_terminal() - Test whether the input is done or failed.
 * @in: The input.
 *
 * Context: The input's thread.
 * Return: %true after done, error or close.
 */
bool ursa_input_is_terminal(const struct ursa_input *in);

/**
 * ursa_input_is_full() - Test whether an element waits in the slot.
 * @in: The input.
 *
 * Context: The input's thread.
 * Return: %true if an emit now would give -EBUSY.
 */
bool ursa_input_is_full(const struct ursa_input *in);

#endif /* URSA_INPUT_H */
