/* SPDX-License-Identifier: MIT */
/**
 * DOC: Emit buffers
 *
 * An emit buffer carries a stream from a producer to a consumer: Effect's
 * StreamEmit, with both of its faces. The push face (single, chunk, end,
 * fail, die, halt, done) is synchronous and answers at once, which is
 * what an I/O source inside the loop needs: under the suspend strategy a
 * full buffer answers -EAGAIN, the source stops submitting, and the
 * buffer calls it back once the consumer has drained it below the low
 * watermark. That is how a slow consumer slows the kernel down.
 *
 * Capacity is counted in entries: one chunk (a CQE's worth of data) or
 * one value. The terminal signal (end, or a failure) is kept apart and is
 * never dropped or evicted, whatever the strategy: data emitted before it
 * is delivered first, then the consumer sees it, and every later take sees
 * it again.
 *
 * Strategies: suspend (the default; -EAGAIN when full), dropping (the new
 * entry is refused with -ENOBUFS), sliding (the oldest data entry is
 * evicted to make room), and unbounded (the ring grows; the only case in
 * which a push may allocate, and the growth is amortised).
 *
 * The consumer takes one entry, or every ready entry as a batch, with a
 * &struct ursa_take. The finalizer runs exactly once, when the consumer
 * has taken the terminal signal or cancelled the stream.
 *
 * An emit buffer and its takes belong to one thread.
 */
#ifndef URSA_EMIT_H
#define URSA_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/deferred.h>
#include <ursa/exit.h>
#include <ursa/list.h>
#include <ursa/sched.h>
#include <ursa/take.h>

/**
 * enum ursa_emit_strategy - What a push does when the buffer is full.
 * @URSA_EMIT_SUSPEND: Refuse with -EAGAIN; the producer waits for room.
 * @URSA_EMIT_DROPPING: Refuse with -ENOBUFS; the entry is the caller's.
 * @URSA_EMIT_SLIDING: Evict the oldest data entry and accept.
 * @URSA_EMIT_UNBOUNDED: Never full; the ring grows.
 */
enum ursa_emit_strategy {
	URSA_EMIT_SUSPEND = 0,
	URSA_EMIT_DROPPING,
	URSA_EMIT_SLIDING,
	URSA_EMIT_UNBOUNDED,
};

/**
 * URSA_EMIT_DEFAULT_CAPACITY - Entries when init is given 0 (Effect's 16).
 */
#define URSA_EMIT_DEFAULT_CAPACITY 16

struct ursa_emit;
struct __ursa_emit_slot;

/**
 * struct ursa_emit - A bounded stream buffer between producer and consumer.
 * @ring: The entries; allocated once at init.
 * @cap: Slots in @ring (count).
 * @capacity: Entries the strategy allows (count).
 * @head: Index of the oldest entry in @ring.
 * @count: Entries buffered (count).
 * @head_seq: Sequence number of the entry at @head.
 * @strategy: An &enum ursa_emit_strategy.
 * @state: Terminal, cancelled, producer paused, finalized; internal.
 * @terminal: SUCCESS(0) after end, or the failure's exit.
 * @takers: Takes waiting for data, oldest first.
 * @room: Producer waiters of ursa_emit_await_room().
 * @woken: The take queued to pull next, or %NULL.
 * @rq: The run queue for the drain callback and the finalizer.
 * @low_watermark: At or below this many entries, a paused producer is
 *	called back (count).
 * @on_drain: The producer's resume callback, or %NULL.
 * @on_evict: Called for each data entry the buffer discards (sliding
 *	eviction, consumer cancel), so the producer can recycle its buffer.
 * @drain_work: Runs @on_drain from @rq.
 * @finalizer: Runs once when the stream is over, or %NULL.
 * @fin_work: Runs @finalizer from @rq.
 * @data: The caller's pointer.
 * @nr_dropped: Entries refused by the dropping strategy (count).
 * @nr_evicted: Entries evicted by the sliding strategy (count).
 */
struct ursa_emit {
	struct __ursa_emit_slot *ring;
	unsigned int cap;
	unsigned int capacity;
	unsigned int head;
	unsigned int count;
	uint64_t head_seq;
	unsigned int strategy;
	unsigned int state;
	struct ursa_exit terminal;
	struct ursa_list_head takers;
	struct ursa_list_head room;
	struct ursa_take *woken;
	struct ursa_runq *rq;
	unsigned int low_watermark;
	void (*on_drain)(struct ursa_emit *em);
	void (*on_evict)(struct ursa_emit *em,
			 const struct ursa_emit_entry *entry);
	struct ursa_work drain_work;
	void (*finalizer)(struct ursa_emit *em);
	struct ursa_work fin_work;
	void *data;
	uint64_t nr_dropped;
	uint64_t nr_evicted;
};

/**
 * struct ursa_emit_from - A position reserved by ursa_emit_from_deferred().
 * @w: The waiter on the deferred.
 * @em: The emit buffer.
 * @seq: The sequence number of the reserved entry.
 */
struct ursa_emit_from {
	struct ursa_waiter w;
	struct ursa_emit *em;
	uint64_t seq;
};

/**
 * ursa_emit_init() - Allocate an emit buffer's ring.
 * @em: The emit buffer, in caller-owned memory.
 * @rq: The run queue for drain callbacks and the finalizer.
 * @capacity: Entries (count); 0 means %URSA_EMIT_DEFAULT_CAPACITY. For
 *	%URSA_EMIT_UNBOUNDED, the initial ring size.
 * @strategy: An &enum ursa_emit_strategy.
 *
 * The low watermark starts at half the capacity.
 *
 * Context: Any; the buffer is then used from @rq's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @strategy is unknown, or @capacity is over 2^24.
 * * -ENOMEM - the ring could not be allocated.
 */
int ursa_emit_init(struct ursa_emit *em, struct ursa_runq *rq,
		   unsigned int capacity, enum ursa_emit_strategy strategy);

/**
 * ursa_emit_destroy() - Free an emit buffer's ring.
 * @em: The emit buffer. No take or waiter may be pending on it, and its
 *	drain callback and finalizer must not be queued.
 *
 * Buffered entries are passed to the evict callback, if there is one.
 *
 * Context: @em's thread.
 */
void ursa_emit_destroy(struct ursa_emit *em);

/**
 * ursa_emit_set_producer() - Register the producer's gating callbacks.
 * @em: The emit buffer.
 * @on_drain: Called from the run queue when the buffer, after answering
 *	-EAGAIN, has drained to @low_watermark entries or fewer; %NULL for
 *	none.
 * @on_evict: Called for each data entry the buffer discards; %NULL for
 *	none.
 * @low_watermark: The resume threshold (count), below the capacity.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @low_watermark is not below the capacity.
 */
int ursa_emit_set_producer(struct ursa_emit *em,
			   void (*on_drain)(struct ursa_emit *em),
			   void (*on_evict)(struct ursa_emit *em,
					    const struct ursa_emit_entry *entry),
			   unsigned int low_watermark);

/**
 * ursa_emit_set_finalizer() - Register the stream's cleanup.
 * @em: The emit buffer.
 * @fin: Runs exactly once, from the run queue, after the consumer took the
 *	terminal signal or cancelled; %NULL for none.
 *
 * Effect: the canceler returned from Stream.async's register.
 *
 * Context: @em's thread.
 */
void ursa_emit_set_finalizer(struct ursa_emit *em,
			     void (*fin)(struct ursa_emit *em));

/**
 * ursa_emit_push() - Emit one entry (the push face's generic form).
 * @em: The emit buffer.
 * @entry: The entry; it is copied.
 *
 * Context: @em's thread: a completion callback, plain code, a task.
 * Return: 0 when accepted (for sliding, possibly after evicting the oldest
 * data entry), or a negative errno:
 * * -EAGAIN - full under the suspend strategy; nothing was taken. The
 *   drain callback will say when to go on.
 * * -ENOBUFS - full under the dropping strategy; the entry was dropped.
 * * -EPIPE - the stream has ended or the consumer cancelled it.
 * * -ENOMEM - unbounded, and the ring could not grow.
 */
int ursa_emit_push(struct ursa_emit *em, const struct ursa_emit_entry *entry);

/**
 * ursa_emit_single() - Emit one value.
 * @em: The emit buffer.
 * @val: The value.
 *
 * Effect: EmitOpsPush.single.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_push().
 */
int ursa_emit_single(struct ursa_emit *em, int64_t val);

/**
 * ursa_emit_chunk() - Emit one chunk of data.
 * @em: The emit buffer.
 * @ptr: The data; the consumer reads it, the producer owns it.
 * @len: Its length (bytes).
 * @tag: Free for the producer, such as a buffer id or file offset.
 *
 * Effect: EmitOpsPush.chunk, with a C chunk: one entry.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_push().
 */
int ursa_emit_chunk(struct ursa_emit *em, void *ptr, int64_t len, uint64_t tag);

/**
 * ursa_emit_end() - End the stream.
 * @em: The emit buffer.
 *
 * Never refused for lack of room: the terminal signal is kept apart.
 * Effect: EmitOpsPush.end.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno:
 * * -EPIPE - the stream has already ended or was cancelled.
 */
int ursa_emit_end(struct ursa_emit *em);

/**
 * ursa_emit_fail() - Fail the stream with an expected error.
 * @em: The emit buffer.
 * @err: A negative errno.
 *
 * Entries emitted before are still delivered first. Effect:
 * EmitOpsPush.fail.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_end(); -EINVAL if @err
 * is not negative.
 */
int ursa_emit_fail(struct ursa_emit *em, int err);

/**
 * ursa_emit_die() - Fail the stream with a defect.
 * @em: The emit buffer.
 * @err: A negative errno naming the defect.
 *
 * Effect: EmitOpsPush.die.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_fail().
 */
int ursa_emit_die(struct ursa_emit *em, int err);

/**
 * ursa_emit_halt() - Fail the stream with any failure exit.
 * @em: The emit buffer.
 * @exit: A FAILURE, DIE or INTERRUPT exit.
 *
 * Effect: EmitOpsPush.halt(cause).
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_end(); -EINVAL if @exit
 * is a success.
 */
int ursa_emit_halt(struct ursa_emit *em, const struct ursa_exit *exit);

/**
 * ursa_emit_done() - Finish the stream with an exit.
 * @em: The emit buffer.
 * @exit: SUCCESS(value): emit the value, then end. Otherwise: halt.
 *
 * Upstream gives done(Success a) two meanings (Emit.done emits without
 * ending; EmitOpsPush.done emits and ends); ursa always emits and ends.
 * The value is accepted even when the buffer is full, like the terminal
 * signal it comes with.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_end().
 */
int ursa_emit_done(struct ursa_emit *em, const struct ursa_exit *exit);

/**
 * ursa_emit_from_deferred() - Emit a deferred's outcome, in emit order.
 * @em: The emit buffer.
 * @f: Caller-owned state for the reservation; valid until the deferred
 *	completes or the stream is cancelled.
 * @d: The deferred.
 *
 * Reserves the next position now. When @d completes, a success fills it,
 * and a failure ends the stream there. A success's value goes into both
 * the entry's val and its ptr: &struct ursa_exit keeps them in one union,
 * so an integer success leaves ptr holding the same bits (not %NULL) and a
 * pointer success leaves val holding the address. Read the field that @d
 * was succeeded with. After a failure, entries emitted after the
 * reservation are discarded and the consumer sees the failure. Entries
 * before the reservation are delivered first, and the consumer waits at
 * the reservation until @d completes. Effect: Emit.fromEffect.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno as for ursa_emit_push(); a sliding buffer
 * refuses with -ENOBUFS rather than evicting another reservation.
 */
int ursa_emit_from_deferred(struct ursa_emit *em, struct ursa_emit_from *f,
			    struct ursa_deferred *d);

/**
 * ursa_emit_take() - Take the next entry.
 * @em: The emit buffer.
 * @t: An idle take. Its callback gets %URSA_TAKE_ELEMENT with the entry in
 *	@t->entry (and SUCCESS(entry value) in @t->exit), or %URSA_TAKE_END,
 *	or %URSA_TAKE_ERROR with the failure in @t->exit.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @t is already pending.
 */
int ursa_emit_take(struct ursa_emit *em, struct ursa_take *t);

/**
 * ursa_emit_take_batch() - Take every ready entry as one batch.
 * @em: The emit buffer.
 * @t: An idle take; on %URSA_TAKE_ELEMENT, @t->count entries (at least 1)
 *	are in @out.
 * @out: Where to copy the entries.
 * @max: The size of @out (count), at least 1.
 *
 * Effect: the asyncPush consumer, which takes everything buffered.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @t is already pending.
 * * -EINVAL - @out is %NULL or @max is 0.
 */
int ursa_emit_take_batch(struct ursa_emit *em, struct ursa_take *t,
			 struct ursa_emit_entry *out, unsigned int max);

/**
 * ursa_emit_take_cancel() - Cancel a pending take.
 * @em: The emit buffer.
 * @t: The take.
 *
 * No entry is lost: entries are pulled only when a callback runs.
 *
 * Context: @em's thread.
 * Return: %true if @t was pending and will not run, %false if it was idle.
 */
bool ursa_emit_take_cancel(struct ursa_emit *em, struct ursa_take *t);

/**
 * ursa_emit_cancel() - The consumer abandons the stream.
 * @em: The emit buffer.
 *
 * Buffered entries are discarded (each through the evict callback),
 * pending reservations are released, producers waiting for room get
 * FAILURE(-EPIPE), later pushes get -EPIPE, and the finalizer runs.
 * Pending takes are not touched: cancel them first.
 *
 * Context: @em's thread.
 */
void ursa_emit_cancel(struct ursa_emit *em);

/**
 * ursa_emit_await_room() - Wait until a push would be accepted.
 * @em: The emit buffer.
 * @w: An idle waiter; it runs with SUCCESS(0) once the buffer holds fewer
 *	entries than its capacity, or with FAILURE(-EPIPE) once the stream
 *	ended or was cancelled.
 *
 * For callback and task producers, which can wait instead of gating a
 * source. Effect: the promise of Emit.single under backpressure.
 *
 * Context: @em's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @w is already pending.
 */
int ursa_emit_await_room(struct ursa_emit *em, struct ursa_waiter *w);

/**
 * ursa_emit_count() - The entries buffered.
 * @em: The emit buffer.
 *
 * Context: @em's thread.
 * Return: the number of data entries and reservations buffered (count).
 */
unsigned int ursa_emit_count(const struct ursa_emit *em);

/**
 * ursa_emit_is_full() - Test whether a push would be refused for room.
 * @em: The emit buffer.
 *
 * Context: @em's thread.
 * Return: %true if a bounded buffer holds its capacity.
 */
bool ursa_emit_is_full(const struct ursa_emit *em);

/**
 * ursa_emit_is_terminated() - Test whether the producer side is closed.
 * @em: The emit buffer.
 *
 * Context: @em's thread.
 * Return: %true after end, a failure, or a consumer cancel.
 */
bool ursa_emit_is_terminated(const struct ursa_emit *em);

#endif /* URSA_EMIT_H */
