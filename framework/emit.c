// SPDX-License-Identifier: MIT
/*
 * Emit buffers: Effect's StreamEmit with a push face for I/O sources and
 * a take face for consumers, four strategies, gating callbacks and
 * from_deferred reservations. See <ursa/emit.h> and docs/emit.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ursa/emit.h>

#include "internal.h"

#define EMIT_END (1u << 0)
#define EMIT_ERROR (1u << 1)
#define EMIT_CANCELLED (1u << 2) /* the consumer abandoned the stream */
#define EMIT_PAUSED (1u << 3) /* answered -EAGAIN; drain callback owed */
#define EMIT_FINALIZED (1u << 4)
#define EMIT_CLOSED (EMIT_END | EMIT_ERROR | EMIT_CANCELLED)

#define EMIT_MAX_CAPACITY (1u << 24)

struct __ursa_emit_slot {
	struct ursa_emit_entry e;
	struct ursa_emit_from *pending; /* a reservation not yet filled */
};

static const struct ursa_exit success_zero = { .kind = URSA_EXIT_SUCCESS };

static void drain_run(struct ursa_work *work)
{
	struct ursa_emit *em =
		ursa_container_of(work, struct ursa_emit, drain_work);

	if (em->on_drain && !(em->state & EMIT_CLOSED))
		em->on_drain(em);
}

static void fin_run(struct ursa_work *work)
{
	struct ursa_emit *em =
		ursa_container_of(work, struct ursa_emit, fin_work);

	if (em->finalizer)
		em->finalizer(em);
}

int ursa_emit_init(struct ursa_emit *em, struct ursa_runq *rq,
		   unsigned int capacity, enum ursa_emit_strategy strategy)
{
	memset(em, 0, sizeof(*em));
	if ((unsigned int)strategy > URSA_EMIT_UNBOUNDED ||
	    capacity > EMIT_MAX_CAPACITY)
		return -EINVAL;
	if (!capacity)
		capacity = URSA_EMIT_DEFAULT_CAPACITY;
	em->ring = calloc(capacity, sizeof(*em->ring));
	if (!em->ring)
		return -ENOMEM;
	em->cap = capacity;
	em->capacity = strategy == URSA_EMIT_UNBOUNDED ? UINT32_MAX : capacity;
	em->strategy = strategy;
	em->rq = rq;
	em->low_watermark = capacity / 2;
	em->terminal = success_zero;
	ursa_list_init(&em->takers);
	ursa_list_init(&em->room);
	ursa_work_init(&em->drain_work, drain_run);
	ursa_work_init(&em->fin_work, fin_run);
	return 0;
}

/*
 * The ring index @i entries after the head. @head < @cap and @i <= @cap,
 * so one conditional subtraction wraps it: no division on the hot path.
 */
static unsigned int ring_index(const struct ursa_emit *em, unsigned int i)
{
	unsigned int idx = em->head + i;

	return idx >= em->cap ? idx - em->cap : idx;
}

static struct __ursa_emit_slot *slot_at(struct ursa_emit *em, unsigned int i)
{
	return &em->ring[ring_index(em, i)];
}

/* Drop the oldest entry, which must be data, through the evict callback. */
static void evict_head(struct ursa_emit *em)
{
	struct ursa_emit_entry e = slot_at(em, 0)->e;

	em->head = ring_index(em, 1);
	em->count--;
	em->head_seq++;
	if (em->on_evict)
		em->on_evict(em, &e);
}

void ursa_emit_destroy(struct ursa_emit *em)
{
	while (em->count) {
		if (slot_at(em, 0)->pending) {
			ursa_waiter_cancel(&slot_at(em, 0)->pending->w);
			em->head = ring_index(em, 1);
			em->count--;
			continue;
		}
		evict_head(em);
	}
	ursa_runq_cancel(&em->drain_work);
	ursa_runq_cancel(&em->fin_work);
	free(em->ring);
	em->ring = NULL;
}

int ursa_emit_set_producer(struct ursa_emit *em,
			   void (*on_drain)(struct ursa_emit *em),
			   void (*on_evict)(struct ursa_emit *em,
					    const struct ursa_emit_entry *entry),
			   unsigned int low_watermark)
{
	if (em->strategy != URSA_EMIT_UNBOUNDED &&
	    low_watermark >= em->capacity)
		return -EINVAL;
	em->on_drain = on_drain;
	em->on_evict = on_evict;
	em->low_watermark = low_watermark;
	return 0;
}

void ursa_emit_set_finalizer(struct ursa_emit *em,
			     void (*fin)(struct ursa_emit *em))
{
	em->finalizer = fin;
}

static void finalize(struct ursa_emit *em)
{
	if (em->state & EMIT_FINALIZED)
		return;
	em->state |= EMIT_FINALIZED;
	ursa_runq_queue(em->rq, &em->fin_work);
}

/* Is the oldest entry ready for a consumer? */
static bool head_ready(struct ursa_emit *em)
{
	return em->count && !slot_at(em, 0)->pending;
}

static void take_run(struct ursa_work *work);

/*
 * Wake the consumer side for what is there now: the oldest take for
 * data, or every take once only the terminal signal is left. One take at
 * a time is woken for data; it wakes the next when it has pulled.
 */
static void wake_takers(struct ursa_emit *em)
{
	struct ursa_take *t;

	if (ursa_list_empty(&em->takers))
		return;
	if (head_ready(em)) {
		if (em->woken)
			return;
		t = ursa_list_first_entry(&em->takers, struct ursa_take,
					  work.node);
		em->woken = t;
		__ursa_take_queue(t, take_run);
		return;
	}
	if (!em->count && (em->state & (EMIT_END | EMIT_ERROR)))
		while (!ursa_list_empty(&em->takers))
			__ursa_take_queue(ursa_list_first_entry(
						  &em->takers, struct ursa_take,
						  work.node),
					  take_run);
}

/* After a pull: resume a paused producer, and wake waiters for room. */
static void after_pull(struct ursa_emit *em)
{
	if ((em->state & EMIT_PAUSED) && em->count <= em->low_watermark) {
		em->state &= ~EMIT_PAUSED;
		ursa_runq_queue(em->rq, &em->drain_work);
	}
	if (em->count < em->capacity)
		__ursa_waiters_wake_all(&em->room, &success_zero);
}

static void take_run(struct ursa_work *work)
{
	struct ursa_take *t = ursa_container_of(work, struct ursa_take, work);
	struct ursa_emit *em = t->src;
	unsigned int n = 0, max = t->batch ? t->max : 1;

	t->state = TAKE_IDLE;
	if (em->woken == t)
		em->woken = NULL;

	if (t->batch) {
		struct __ursa_emit_slot *ring = em->ring;
		unsigned int head = em->head, count = em->count;

		/* Copy out up to @max ready entries, stopping at a reservation. */
		while (n < max && n < count && !ring[head].pending) {
			t->batch[n++] = ring[head].e;
			if (++head == em->cap)
				head = 0;
		}
		em->head = head;
		em->count = count - n;
		em->head_seq += n;
	} else if (head_ready(em)) {
		t->entry = slot_at(em, 0)->e;
		em->head = ring_index(em, 1);
		em->count--;
		em->head_seq++;
		n = 1;
	}
	if (n) {
		t->what = URSA_TAKE_ELEMENT;
		t->count = n;
		t->exit = ursa_exit_success(t->batch ? t->batch[0].val :
						       t->entry.val);
		after_pull(em);
	} else if (!em->count && (em->state & (EMIT_END | EMIT_ERROR))) {
		t->what = em->state & EMIT_ERROR ? URSA_TAKE_ERROR :
						   URSA_TAKE_END;
		t->count = 0;
		t->exit = em->terminal;
		finalize(em);
	} else {
		/*
		 * Woken, but the entry went (evicted, or behind a
		 * reservation): wait again, at the front of the line.
		 */
		t->state = TAKE_WAITING;
		ursa_list_add(&t->work.node, &em->takers);
		wake_takers(em);
		return;
	}
	wake_takers(em);
	t->fn(t);
}

static int take_start(struct ursa_emit *em, struct ursa_take *t)
{
	if (t->state != TAKE_IDLE)
		return -EBUSY;
	t->src = em;
	t->count = 0;
	__ursa_take_park(t, &em->takers);
	wake_takers(em);
	return 0;
}

int ursa_emit_take(struct ursa_emit *em, struct ursa_take *t)
{
	if (t->state != TAKE_IDLE)
		return -EBUSY;
	t->batch = NULL;
	t->max = 1;
	return take_start(em, t);
}

int ursa_emit_take_batch(struct ursa_emit *em, struct ursa_take *t,
			 struct ursa_emit_entry *out, unsigned int max)
{
	if (t->state != TAKE_IDLE)
		return -EBUSY;
	if (!out || !max)
		return -EINVAL;
	t->batch = out;
	t->max = max;
	return take_start(em, t);
}

bool ursa_emit_take_cancel(struct ursa_emit *em, struct ursa_take *t)
{
	if (!__ursa_take_unlink(t))
		return false;
	if (em->woken == t) {
		em->woken = NULL;
		wake_takers(em);
	}
	return true;
}

/* Make room for one more entry in an unbounded ring. */
static int grow(struct ursa_emit *em)
{
	unsigned int ncap = em->cap * 2, i;
	struct __ursa_emit_slot *nring;

	if (ncap > EMIT_MAX_CAPACITY * 64u || ncap < em->cap)
		return -ENOMEM;
	nring = malloc((size_t)ncap * sizeof(*nring));
	if (!nring)
		return -ENOMEM;
	for (i = 0; i < em->count; i++)
		nring[i] = *slot_at(em, i);
	free(em->ring);
	em->ring = nring;
	em->cap = ncap;
	em->head = 0;
	return 0;
}

/*
 * Find room for one entry under the strategy: 0 if there is room now,
 * or the negative errno the push returns.
 */
static int make_room(struct ursa_emit *em, bool reservation)
{
	if (em->state & EMIT_CLOSED)
		return -EPIPE;
	if (em->count >= em->capacity) {
		switch (em->strategy) {
		case URSA_EMIT_SUSPEND:
			em->state |= EMIT_PAUSED;
			return -EAGAIN;
		case URSA_EMIT_DROPPING:
			em->nr_dropped++;
			return -ENOBUFS;
		case URSA_EMIT_SLIDING:
			if (reservation || slot_at(em, 0)->pending) {
				em->nr_dropped++;
				return -ENOBUFS;
			}
			em->nr_evicted++;
			evict_head(em);
			break;
		}
	}
	if (em->count == em->cap)
		return grow(em);
	return 0;
}

static inline void append(struct ursa_emit *em, const struct ursa_emit_entry *e,
			  struct ursa_emit_from *pending)
{
	struct __ursa_emit_slot *s = slot_at(em, em->count);

	s->e = *e;
	s->pending = pending;
	em->count++;
	/* Nobody waiting, or a take already woken: nothing to do. */
	if (!ursa_list_empty(&em->takers))
		wake_takers(em);
}

/*
 * The push face's one path. The entry's fields are stored into the slot
 * one by one: callers pass them in registers, never a struct on the stack
 * read back whole (a store-forwarding stall on every push).
 */
static inline int push(struct ursa_emit *em, void *ptr, int64_t val,
		       uint64_t tag)
{
	struct __ursa_emit_slot *s;
	int ret;

	/* The common case: open, room under the strategy and in the ring. */
	if (unlikely((em->state & EMIT_CLOSED) || em->count >= em->capacity ||
		     em->count >= em->cap)) {
		ret = make_room(em, false);
		if (ret)
			return ret;
	}
	s = slot_at(em, em->count);
	s->e.ptr = ptr;
	s->e.val = val;
	s->e.tag = tag;
	s->pending = NULL;
	em->count++;
	/* Nobody waiting, or a take already woken: nothing to do. */
	if (!ursa_list_empty(&em->takers))
		wake_takers(em);
	return 0;
}

int ursa_emit_push(struct ursa_emit *em, const struct ursa_emit_entry *entry)
{
	return push(em, entry->ptr, entry->val, entry->tag);
}

int ursa_emit_single(struct ursa_emit *em, int64_t val)
{
	return push(em, NULL, val, 0);
}

int ursa_emit_chunk(struct ursa_emit *em, void *ptr, int64_t len, uint64_t tag)
{
	return push(em, ptr, len, tag);
}

static int terminate(struct ursa_emit *em, unsigned int how,
		     const struct ursa_exit *exit)
{
	if (em->state & EMIT_CLOSED)
		return -EPIPE;
	em->state = (em->state & ~EMIT_PAUSED) | how;
	em->terminal = *exit;
	ursa_runq_cancel(&em->drain_work);
	__ursa_waiters_wake_all(&em->room,
				&(struct ursa_exit){ .kind = URSA_EXIT_FAILURE,
						     .err = -EPIPE });
	wake_takers(em);
	return 0;
}

int ursa_emit_end(struct ursa_emit *em)
{
	return terminate(em, EMIT_END, &success_zero);
}

int ursa_emit_halt(struct ursa_emit *em, const struct ursa_exit *exit)
{
	if (exit->kind == URSA_EXIT_SUCCESS)
		return em->state & EMIT_CLOSED ? -EPIPE : -EINVAL;
	return terminate(em, EMIT_ERROR, exit);
}

int ursa_emit_fail(struct ursa_emit *em, int err)
{
	struct ursa_exit e = ursa_exit_failure(err);

	if (err >= 0)
		return em->state & EMIT_CLOSED ? -EPIPE : -EINVAL;
	return ursa_emit_halt(em, &e);
}

int ursa_emit_die(struct ursa_emit *em, int err)
{
	struct ursa_exit e = ursa_exit_die(err);

	if (err >= 0)
		return em->state & EMIT_CLOSED ? -EPIPE : -EINVAL;
	return ursa_emit_halt(em, &e);
}

int ursa_emit_done(struct ursa_emit *em, const struct ursa_exit *exit)
{
	struct ursa_emit_entry e = { .ptr = NULL, .val = exit->val, .tag = 0 };

	if (exit->kind != URSA_EXIT_SUCCESS)
		return ursa_emit_halt(em, exit);
	if (em->state & EMIT_CLOSED)
		return -EPIPE;
	/* The value rides with the end: never refused for room. */
	if (em->count == em->cap && grow(em))
		return -ENOMEM;
	append(em, &e, NULL);
	return ursa_emit_end(em);
}

/* A reservation's deferred completed: fill the entry, or fail there. */
static void from_done(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	struct ursa_emit_from *f =
		ursa_container_of(w, struct ursa_emit_from, w);
	struct ursa_emit *em = f->em;
	unsigned int pos = (unsigned int)(f->seq - em->head_seq);
	struct __ursa_emit_slot *s = slot_at(em, pos);

	if (exit->kind == URSA_EXIT_SUCCESS) {
		s->e.val = exit->val;
		s->e.ptr = exit->ptr;
		s->pending = NULL;
		wake_takers(em);
		return;
	}
	/* The stream fails here: what came after the reservation goes. */
	while (em->count > pos + 1) {
		struct __ursa_emit_slot *last = slot_at(em, em->count - 1);

		if (last->pending)
			ursa_waiter_cancel(&last->pending->w);
		else if (em->on_evict)
			em->on_evict(em, &last->e);
		em->count--;
	}
	em->count--;
	em->state = (em->state & ~(EMIT_END | EMIT_ERROR)) | EMIT_ERROR;
	em->terminal = *exit;
	__ursa_waiters_wake_all(&em->room,
				&(struct ursa_exit){ .kind = URSA_EXIT_FAILURE,
						     .err = -EPIPE });
	wake_takers(em);
}

int ursa_emit_from_deferred(struct ursa_emit *em, struct ursa_emit_from *f,
			    struct ursa_deferred *d)
{
	struct ursa_emit_entry e = { 0 };
	int ret = make_room(em, true);

	if (ret)
		return ret;
	f->em = em;
	f->seq = em->head_seq + em->count;
	ursa_waiter_init(&f->w, em->rq, from_done);
	append(em, &e, f);
	ret = ursa_deferred_await(d, &f->w);
	if (ret) {
		em->count--;
		return ret;
	}
	return 0;
}

void ursa_emit_cancel(struct ursa_emit *em)
{
	em->state = (em->state & ~EMIT_PAUSED) | EMIT_CANCELLED;
	ursa_runq_cancel(&em->drain_work);
	while (em->count) {
		struct __ursa_emit_slot *s = slot_at(em, 0);

		if (s->pending) {
			ursa_waiter_cancel(&s->pending->w);
			em->head = ring_index(em, 1);
			em->count--;
			em->head_seq++;
		} else {
			evict_head(em);
		}
	}
	__ursa_waiters_wake_all(&em->room,
				&(struct ursa_exit){ .kind = URSA_EXIT_FAILURE,
						     .err = -EPIPE });
	finalize(em);
}

int ursa_emit_await_room(struct ursa_emit *em, struct ursa_waiter *w)
{
	if (ursa_waiter_is_pending(w))
		return -EBUSY;
	if (em->state & EMIT_CLOSED) {
		struct ursa_exit e = ursa_exit_failure(-EPIPE);

		__ursa_waiter_wake(w, &e);
	} else if (em->count < em->capacity) {
		__ursa_waiter_wake(w, &success_zero);
	} else {
		__ursa_waiter_park(w, &em->room);
	}
	return 0;
}

unsigned int ursa_emit_count(const struct ursa_emit *em)
{
	return em->count;
}

bool ursa_emit_is_full(const struct ursa_emit *em)
{
	return em->count >= em->capacity;
}

bool ursa_emit_is_terminated(const struct ursa_emit *em)
{
	return em->state & EMIT_CLOSED;
}
