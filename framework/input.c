// SPDX-License-Identifier: MIT
/*
 * Single-producer inputs: Effect's SingleProducerAsyncInput with the
 * buffer of one its documentation promises. See docs/effect-differences.md
 * for where the upstream code behaves otherwise.
 */
#include <errno.h>

#include <ursa/input.h>
#include <ursa/task.h>

#include "deferred.h"
#include "internal.h"

#define INPUT_FULL (1u << 0) /* an element waits in the slot */
#define INPUT_DONE (1u << 1)
#define INPUT_ERROR (1u << 2)
#define INPUT_TERMINAL (INPUT_DONE | INPUT_ERROR)
/*
 * A producer may wait in await_read: set when one parks on @in->readers,
 * cleared when they are all woken. A reader cancelled meanwhile leaves it
 * set; ursa_input_take() then looks at the list itself. It spares the
 * take's fast path a test of the list.
 */
#define INPUT_READERS (1u << 3)

static const struct ursa_exit success_zero = { .kind = URSA_EXIT_SUCCESS };

/*
 * List steps for the lists of a hand-off, which mostly hold one node at
 * most: the run queue between two of its steps, an input's takers. When
 * the list is empty (or @node is alone on it), the stores go to addresses
 * known in advance rather than to ones just loaded from the list, and the
 * next step on the list need not wait for that load to know where they
 * went. The results are those of ursa_list_add_tail() and ursa_list_del().
 */
static inline void list_add_tail_one(struct ursa_list_head *node,
				     struct ursa_list_head *head)
{
	struct ursa_list_head *prev = head->prev;

	if (likely(prev == head)) {
		head->next = node;
		head->prev = node;
		node->next = head;
		node->prev = head;
		return;
	}
	ursa_list_add_tail(node, head);
}

void ursa_input_init(struct ursa_input *in)
{
	ursa_list_init(&in->takers);
	ursa_list_init(&in->readers);
	in->state = 0;
	in->head = NULL;
	in->slot = ursa_exit_success(0);
	in->taken = NULL;
	ursa_list_init(&in->notify);
	in->terminal = ursa_exit_success(0);
}

/*
 * The oldest take on @in->takers, taken off it to become @in->head, or
 * %NULL. Its node is left stale: @in->head is on no list.
 */
static inline struct ursa_take *takers_pop(struct ursa_input *in)
{
	struct ursa_take *t;

	if (likely(ursa_list_empty(&in->takers)))
		return NULL;
	t = ursa_list_first_entry(&in->takers, struct ursa_take, work.node);
	ursa_list_del(&t->work.node);
	return t;
}

/*
 * A take waits: as @in->head if it is free (the slot is empty and no
 * take waits), else last on @in->takers. __ursa_take_park().
 */
static inline void take_park(struct ursa_input *in, struct ursa_take *t)
{
	t->state = TAKE_WAITING;
	if (!(in->state & INPUT_FULL) && !in->head)
		in->head = t;
	else
		ursa_list_add_tail(&t->work.node, &in->takers);
}

/*
 * A take waits on @in->takers or as @in->head while the slot is empty;
 * @in->head is the take woken for the element while it is full.
 */
static bool takes_waiting(const struct ursa_input *in)
{
	if (in->state & INPUT_FULL)
		return !ursa_list_empty(&in->takers);
	return in->head;
}

/*
 * A take woken for the slot pulls the element only now, as its callback
 * is about to run; until then the element is still the input's, though
 * it waits in the take's @exit.val already (see reserve()). The
 * producer learns it was taken: its waiter (ursa_input_emit_notify()),
 * alone on @in->notify, is woken, or its deferred (ursa_input_emit()) is
 * fulfilled. Return: the first waiter woken, or %NULL.
 *
 * @in->notify is left as it is: it means something only while the slot
 * is full, and every emit sets it. @in->head, @t until now, becomes the
 * oldest take still waiting.
 */
static inline __attribute__((always_inline)) struct ursa_waiter *
take_pull_element(struct ursa_take *t, struct ursa_runq *empty)
{
	struct ursa_input *in = t->src;
	struct ursa_list_head *n = in->notify.next;
	struct ursa_deferred *taken;

	t->state = TAKE_IDLE;
	/* SUCCESS(element): the value is in place already. */
	t->exit.kind = URSA_EXIT_SUCCESS;
	t->exit.err = 0;
	t->count = 1;
	in->state &= ~INPUT_FULL;
	in->head = takers_pop(in);
	if (likely(n != &in->notify)) {
		struct ursa_waiter *w =
			ursa_container_of(n, struct ursa_waiter, work);

		/*
		 * __ursa_waiter_queue() with SUCCESS(0). @in->notify is
		 * left stale: see emit().
		 */
		w->lazy = false;
		w->exit.kind = URSA_EXIT_SUCCESS;
		w->exit.err = 0;
		w->exit.val = 0;
		w->state = WAITER_QUEUED;
		if (likely(w->rq == empty)) {
			/* @w alone on the queue that held @t alone. */
			empty->queue.next = &w->work.node;
			empty->queue.prev = &w->work.node;
			w->work.node.next = &empty->queue;
			w->work.node.prev = &empty->queue;
			return w;
		}
		if (empty)
			ursa_list_init(&empty->queue);
		list_add_tail_one(&w->work.node, &w->rq->queue);
		return w;
	}
	if (empty)
		ursa_list_init(&empty->queue);
	taken = in->taken;
	if (taken) {
		in->taken = NULL;
		return __ursa_deferred_succeed_zero(taken);
	}
	return NULL;
}

/* take_pull_element(), or the terminal result for a take woken for it. */
static inline struct ursa_waiter *take_pull(struct ursa_take *t)
{
	struct ursa_input *in = t->src;

	if (likely(t->what == URSA_TAKE_ELEMENT))
		return take_pull_element(t, NULL);
	t->state = TAKE_IDLE;
	t->exit = in->terminal;
	t->count = 0;
	return NULL;
}

void __ursa_input_take_pull(struct ursa_take *t)
{
	take_pull(t);
}

/*
 * The run queue item of a take woken for the terminal result; one woken
 * for an element runs __ursa_input_take_run(), which need not ask.
 */
static void take_end_run(struct ursa_work *work)
{
	struct ursa_take *t = ursa_container_of(work, struct ursa_take, work);

	take_pull(t);
	t->fn(t);
}

/*
 * Is @work, of type @fn, the item ursa_runq_run() would run next? Then
 * take it off @rq as the run queue would, budget included. Only pointers
 * are compared until @work is known to be queued at the head: by then,
 * the callback that just ran may have freed it.
 *
 * Its node is left stale, not idle as __ursa_runq_del_first() leaves
 * it: @fn is a waiter's or a take's, and those know whether they are
 * queued from their state, never from their node, which the next wait
 * overwrites.
 */
static inline bool runq_take_next(struct ursa_runq *rq, struct ursa_work *work,
				  ursa_work_fn *fn, struct ursa_runq **empty)
{
	if (!rq->batch_left || rq->queue.next != &work->node || work->fn != fn)
		return false;
	/*
	 * Unlinked with the queue's last node tested rather than @work's
	 * next one loaded: first and last, @work is alone. Then, if
	 * @empty is given, the queue is left as it is, stale, and *@empty
	 * is @rq: the caller relinks it (see take_pull_element()) before
	 * anything else looks at it.
	 */
	if (likely(rq->queue.prev == &work->node)) {
		if (empty)
			*empty = rq;
		else
			ursa_list_init(&rq->queue);
	} else {
		rq->queue.next = work->node.next;
		work->node.next->prev = &rq->queue;
	}
	/*
	 * Decremented in memory rather than from the value tested above:
	 * one instruction instead of a register copy and a store.
	 */
	__asm__ volatile("" ::: "memory");
	rq->batch_left--;
	return true;
}

/*
 * A take's run queue item when it was woken for an element (never for
 * the terminal result: take_end_run()). The steady state of a hand-off between a
 * consumer that takes again from its callback and a producer that emits
 * the next element from its waiter on the "taken" deferred is: this
 * item, the producer's waiter (woken by the pull), this item again
 * (woken by the emit), and so on. When the next item in line is one of
 * those two, it is run from here, exactly as ursa_runq_run() would have
 * run it next: from the head of the queue, in FIFO order, from the
 * batch's budget. So the order of work and the batches are unchanged;
 * only the trips through the run queue's loop, and the reloading of the
 * item from the queue, are saved. It is a loop, not a recursion: the
 * stack does not grow with the number of elements.
 */
void __ursa_input_take_run(struct ursa_work *work)
{
	struct ursa_take *t = ursa_container_of(work, struct ursa_take, work);
	struct ursa_runq *rq = t->rq, *empty = NULL;
	struct ursa_waiter *w;

	do {
		w = take_pull_element(t, empty);
		t->fn(t);
		if (!w ||
		    !runq_take_next(rq, &w->work, __ursa_waiter_run, NULL))
			return;
		if (likely(!w->lazy)) {
			/* __ursa_waiter_run(), inline. */
			struct ursa_exit e;

			__ursa_exit_copy(&e, &w->exit);
			w->state = WAITER_IDLE;
			w->fn(w, &e);
		} else {
			__ursa_waiter_run(&w->work);
		}
		empty = NULL;
	} while (runq_take_next(rq, &t->work, __ursa_input_take_run, &empty));
}

/* Queue @t, which is on no list (@in->head, or just popped), for @what. */
static void take_queue_head(struct ursa_take *t, int what)
{
	t->what = what;
	t->work.fn = what == URSA_TAKE_ELEMENT ? __ursa_input_take_run :
						 take_end_run;
	t->state = TAKE_QUEUED;
	ursa_list_add_tail(&t->work.node, &t->rq->queue);
}

/*
 * Queue @t, waiting or idle (but not @in->head), for @what, the terminal
 * result.
 */
static void take_queue(struct ursa_take *t, int what)
{
	t->what = what;
	__ursa_take_queue(t, take_end_run);
}

static int terminal_what(const struct ursa_input *in)
{
	return in->state & INPUT_DONE ? URSA_TAKE_END : URSA_TAKE_ERROR;
}

/*
 * @t, which is on no list, is woken for the element in the slot, and
 * becomes @in->head. The element moves to @t->exit.val, where the pull
 * finds it; if @t is cancelled before, it goes back to the slot.
 */
static void reserve(struct ursa_input *in, struct ursa_take *t)
{
	in->head = t;
	t->exit.val = in->slot.val;
	take_queue_head(t, URSA_TAKE_ELEMENT);
}

/*
 * The element @val is emitted: the oldest waiting take, @in->head, if
 * any, is woken for it (holding it, see reserve()), and stays @in->head;
 * else @val waits in the slot.
 */
static inline int wake_oldest(struct ursa_input *in, int64_t val)
{
	struct ursa_take *t = in->head;

	if (!t) {
		in->slot.val = val;
		return 0;
	}
	t->exit.val = val;
	/* take_queue_head(), the state and @what stored together. */
	t->work.fn = __ursa_input_take_run;
	t->state = TAKE_QUEUED;
	t->what = URSA_TAKE_ELEMENT;
	list_add_tail_one(&t->work.node, &t->rq->queue);
	return 0;
}

static inline int emit(struct ursa_input *in, struct ursa_exit slot,
		       struct ursa_deferred *taken)
{
	unsigned int state = in->state;

	if (unlikely(state & (INPUT_TERMINAL | INPUT_FULL)))
		return state & INPUT_TERMINAL ? -EPIPE : -EBUSY;
	in->taken = taken;
	in->state = state | INPUT_FULL;
	/* No waiter for this element; a pull may have left it stale. */
	ursa_list_init(&in->notify);
	/* The union's bits, a pointer's too. */
	return wake_oldest(in, slot.val);
}

int ursa_input_emit(struct ursa_input *in, int64_t val,
		    struct ursa_deferred *taken)
{
	return emit(in, ursa_exit_success(val), taken);
}

int ursa_input_emit_ptr(struct ursa_input *in, void *ptr,
			struct ursa_deferred *taken)
{
	return emit(in, ursa_exit_success_ptr(ptr), taken);
}

/* Not inlined: the fast path of ursa_input_emit_notify() needs no frame. */
static __attribute__((noinline)) int emit_notify_refused(struct ursa_input *in)
{
	if (in->state & INPUT_TERMINAL)
		return -EPIPE;
	return -EBUSY;
}

int ursa_input_emit_notify(struct ursa_input *in, int64_t val,
			   struct ursa_waiter *w)
{
	unsigned int state = in->state;

	if (unlikely((state & (INPUT_TERMINAL | INPUT_FULL)) ||
		     w->state != WAITER_IDLE))
		return emit_notify_refused(in);
	in->state = state | INPUT_FULL;
	/*
	 * @w waits alone on @in->notify, whatever was left there: a pull
	 * leaves the waiter it woke, a cancelled one leaves it empty.
	 * @in->notify.prev is not stored: only ursa_waiter_cancel()'s
	 * ursa_list_del() of @w would use it, and that writes it rather
	 * than reads it; the pull tests @in->notify.next alone.
	 */
	w->state = WAITER_WAITING;
	w->work.node.next = &in->notify;
	w->work.node.prev = &in->notify;
	in->notify.next = &w->work.node;
	return wake_oldest(in, val);
}

/* Producers in await_read may go: a consumer waits, or the input ended. */
static int wake_readers(struct ursa_input *in)
{
	in->state &= ~INPUT_READERS;
	__ursa_waiters_wake_all(&in->readers, &success_zero);
	return 0;
}

static int terminate(struct ursa_input *in, unsigned int how,
		     const struct ursa_exit *exit)
{
	if (in->state & INPUT_TERMINAL)
		return -EPIPE;
	in->state |= how;
	in->terminal = *exit;
	/*
	 * An element in the slot is still delivered: either a take is
	 * already woken for it, or the next take will be. Everyone else
	 * waiting gets the terminal result now: @in->head while the slot
	 * is empty, then @in->takers (behind it, or behind the take woken
	 * for the element).
	 */
	if (!(in->state & INPUT_FULL) && in->head) {
		take_queue_head(in->head, terminal_what(in));
		in->head = NULL;
	}
	while (!ursa_list_empty(&in->takers))
		take_queue(ursa_list_first_entry(&in->takers, struct ursa_take,
						 work.node),
			   terminal_what(in));
	return wake_readers(in);
}

int ursa_input_done(struct ursa_input *in, int64_t val)
{
	struct ursa_exit e = ursa_exit_success(val);

	return terminate(in, INPUT_DONE, &e);
}

int ursa_input_error(struct ursa_input *in, const struct ursa_exit *exit)
{
	if (exit->kind == URSA_EXIT_SUCCESS) {
		if (in->state & INPUT_TERMINAL)
			return -EPIPE;
		return -EINVAL;
	}
	return terminate(in, INPUT_ERROR, exit);
}

int ursa_input_close(struct ursa_input *in)
{
	struct ursa_exit e = ursa_exit_interrupt(ursa_task_id(NULL));

	return terminate(in, INPUT_ERROR, &e);
}

int ursa_input_take(struct ursa_input *in, struct ursa_take *t)
{
	if (t->state != TAKE_IDLE)
		return -EBUSY;
	t->src = in;
	/* t->count is set when the take is pulled. */
	if (likely(!(in->state &
		     (INPUT_FULL | INPUT_TERMINAL | INPUT_READERS)))) {
		/* take_park(), the slot empty. */
		t->state = TAKE_WAITING;
		if (likely(!in->head)) {
			in->head = t;
			return 0;
		}
		ursa_list_add_tail(&t->work.node, &in->takers);
		return 0;
	}
	if ((in->state & INPUT_FULL) && !in->head) {
		reserve(in, t);
		return 0;
	}
	if (in->state & INPUT_TERMINAL) {
		take_queue(t, terminal_what(in));
		return 0;
	}
	take_park(in, t);
	/* A consumer is waiting now: producers in await_read may go. */
	return wake_readers(in);
}

static void take_with_run(struct ursa_take *t)
{
	struct ursa_take_with *tw =
		ursa_container_of(t, struct ursa_take_with, take);

	switch (t->what) {
	case URSA_TAKE_ELEMENT:
		tw->on_element(tw, &t->exit);
		break;
	case URSA_TAKE_END:
		tw->on_done(tw, &t->exit);
		break;
	default:
		tw->on_error(tw, &t->exit);
		break;
	}
}

int ursa_input_take_with(
	struct ursa_input *in, struct ursa_take_with *tw, struct ursa_runq *rq,
	void (*on_error)(struct ursa_take_with *tw, const struct ursa_exit *e),
	void (*on_element)(struct ursa_take_with *tw,
			   const struct ursa_exit *e),
	void (*on_done)(struct ursa_take_with *tw, const struct ursa_exit *e))
{
	if (!on_error || !on_element || !on_done)
		return -EINVAL;
	if (ursa_take_is_pending(&tw->take))
		return -EBUSY;
	ursa_take_init(&tw->take, rq, take_with_run);
	tw->on_error = on_error;
	tw->on_element = on_element;
	tw->on_done = on_done;
	return ursa_input_take(in, &tw->take);
}

bool ursa_input_take_cancel(struct ursa_input *in, struct ursa_take *t)
{
	if (t->state == TAKE_IDLE)
		return false;
	if (t != in->head)
		return __ursa_take_unlink(t);
	if (in->state & INPUT_FULL) {
		/*
		 * Woken for the element: it stays, and the next consumer
		 * in line is woken for it.
		 */
		__ursa_take_unlink(t);
		in->slot.val = t->exit.val;
		in->head = takers_pop(in);
		if (in->head)
			reserve(in, in->head);
	} else {
		/* Waiting as @in->head, on no list. */
		t->state = TAKE_IDLE;
		in->head = takers_pop(in);
	}
	return true;
}

int ursa_input_await_read(struct ursa_input *in, struct ursa_waiter *w)
{
	if (ursa_waiter_is_pending(w))
		return -EBUSY;
	if (takes_waiting(in) || (in->state & INPUT_TERMINAL))
		__ursa_waiter_wake(w, &success_zero);
	else {
		in->state |= INPUT_READERS;
		__ursa_waiter_park(w, &in->readers);
	}
	return 0;
}

void __ursa_input_forget_taken(struct ursa_input *in, struct ursa_deferred *d)
{
	if (in->taken == d)
		in->taken = NULL;
}

bool ursa_input_is_terminal(const struct ursa_input *in)
{
	return in->state & INPUT_TERMINAL;
}

bool ursa_input_is_full(const struct ursa_input *in)
{
	return in->state & INPUT_FULL;
}
