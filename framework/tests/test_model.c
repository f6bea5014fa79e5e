// SPDX-License-Identifier: MIT
/*
 * Model-based test of inputs and emit buffers: long runs of seeded random
 * operations, each checked against a small reference model written here
 * from the documented semantics (docs/streams.md, <ursa/input.h>,
 * <ursa/emit.h>), not from the implementation.
 *
 * Emit buffers, under each of the four strategies: pushes (single,
 * chunk, from_deferred), every terminal call, the consumer cancel, single
 * and batch takes that start, get cancelled and run one at a time or all
 * together, room waiters and deferred completions. The model predicts
 * every return code and the count after every step; the take callbacks
 * check that entries come out in order, each once, that the terminal
 * result is seen only once the data before it is gone, and that the evict,
 * drain and finalizer callbacks run when and as often as they should.
 *
 * Inputs: emit (with a deferred, a notify waiter or neither), done, error,
 * close, takes (started, cancelled, run one at a time), await_read, and
 * cancels of the producer's waiters. The model predicts which take gets
 * each element (the one waiting longest), that nothing is lost or
 * duplicated, and when the producer's waiter is woken and runs.
 *
 * The seed is printed; URSA_MODEL_SEED=<n> replays a run.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ursa/emit.h>
#include <ursa/input.h>

/* Fixed, so that make check is reproducible; override to explore. */
#define DEFAULT_SEED 20250604ull

static struct ursa_runq rq;
static uint64_t seed;
static uint64_t rng_state;
static uint64_t nr_ops;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* Run one item of the run queue, or all of it. */
static void run_one(void)
{
	rq.budget = 1;
	ursa_runq_run(&rq);
	rq.budget = URSA_RUNQ_DEFAULT_BUDGET;
}

static void run_all(void)
{
	ursa_runq_drain(&rq, 0);
}

/* ======================= emit buffers ======================= */

#define M_MAX 4096
#define M_TAKES 3
#define M_RES 4

struct m_entry {
	int64_t val;
	uint64_t tag;
	int res; /* reservation slot, or -1 for data */
};

struct m_res {
	struct ursa_deferred d;
	struct ursa_emit_from f;
	bool in_use; /* its entry is in the buffer */
	bool completed;
	bool ok;
	int64_t val;
};

struct m_take {
	struct ursa_take t;
	struct ursa_emit_entry out[4];
	unsigned int max; /* 0: single take */
	bool pending;
};

static struct emit_model {
	struct ursa_emit em;
	enum ursa_emit_strategy strategy;
	unsigned int capacity;
	unsigned int lw;
	/* The model's buffer. */
	struct m_entry q[M_MAX];
	unsigned int head, count;
	bool ended, failed, cancelled;
	struct ursa_exit terminal;
	bool paused, drain_owed;
	bool fin_owed;
	int fin_runs;
	/* Entries the evict callback must see, in order. */
	int64_t evict[M_MAX];
	unsigned int evict_head, evict_count;
	int64_t next_val;
	struct m_res res[M_RES];
	struct m_take takes[M_TAKES];
	struct ursa_waiter room;
	int room_runs;
	uint64_t delivered, accepted, dropped, evicted;
} M;

static bool m_closed(void)
{
	return M.ended || M.failed || M.cancelled;
}

static struct m_entry *m_at(unsigned int i)
{
	return &M.q[(M.head + i) % M_MAX];
}

static void m_append(int64_t val, uint64_t tag, int res)
{
	assert_true(M.count < M_MAX);
	*m_at(M.count) = (struct m_entry){ .val = val, .tag = tag, .res = res };
	M.count++;
}

static void m_expect_evict(int64_t val)
{
	assert_true(M.evict_count < M_MAX);
	M.evict[(M.evict_head + M.evict_count) % M_MAX] = val;
	M.evict_count++;
}

static void m_pop_front(void)
{
	M.head = (M.head + 1) % M_MAX;
	M.count--;
}

/*
 * A reservation whose deferred succeeded is an ordinary data entry from
 * then on: it can be evicted, and is handed to the evict callback.
 */
static bool m_filled(const struct m_entry *e)
{
	return e->res < 0 || M.res[e->res].completed;
}

static int64_t m_val(const struct m_entry *e)
{
	return e->res < 0 ? e->val : M.res[e->res].val;
}

/* Discard an entry: data goes to the evict callback. */
static void m_discard(struct m_entry *e)
{
	if (e->res >= 0)
		M.res[e->res].in_use = false;
	if (m_filled(e))
		m_expect_evict(m_val(e));
}

/* The consumer pulled: the documented gating rule. */
static void m_after_pull(void)
{
	if (M.paused && M.count <= M.lw) {
		M.paused = false;
		if (!m_closed())
			M.drain_owed = true;
	}
}

static void m_evict_cb(struct ursa_emit *em,
		       const struct ursa_emit_entry *entry)
{
	assert_ptr_equal(em, &M.em);
	assert_true(M.evict_count > 0);
	assert_int_equal(entry->val, M.evict[M.evict_head]);
	M.evict_head = (M.evict_head + 1) % M_MAX;
	M.evict_count--;
}

static void m_drain_cb(struct ursa_emit *em)
{
	assert_ptr_equal(em, &M.em);
	assert_true(M.drain_owed);
	assert_false(m_closed());
	M.drain_owed = false;
}

static void m_fin_cb(struct ursa_emit *em)
{
	assert_ptr_equal(em, &M.em);
	assert_true(M.fin_owed);
	assert_int_equal(M.fin_runs, 0);
	M.fin_runs++;
}

static void m_room_cb(struct ursa_waiter *w, const struct ursa_exit *e)
{
	M.room_runs++;
	if (e->kind != URSA_EXIT_SUCCESS) {
		assert_int_equal(e->kind, URSA_EXIT_FAILURE);
		assert_int_equal(e->err, -EPIPE);
		assert_true(m_closed());
	}
}

/* The value the model's head entry must have when taken. */
static int64_t m_head_value(void)
{
	struct m_entry *e = m_at(0);

	if (e->res >= 0) {
		struct m_res *r = &M.res[e->res];

		/* A take never passes a reservation still pending. */
		assert_true(r->completed);
		assert_true(r->ok);
		return r->val;
	}
	return e->val;
}

static bool m_head_ready(void)
{
	struct m_entry *e;

	if (!M.count)
		return false;
	e = m_at(0);
	return e->res < 0 || M.res[e->res].completed;
}

static void m_take_cb(struct ursa_take *t)
{
	struct m_take *mt = ursa_container_of(t, struct m_take, t);
	unsigned int i, max = mt->max ? mt->max : 1;

	assert_true(mt->pending);
	mt->pending = false;
	if (t->what == URSA_TAKE_ELEMENT) {
		assert_true(t->count >= 1 && t->count <= max);
		for (i = 0; i < t->count; i++) {
			const struct ursa_emit_entry *e =
				mt->max ? &mt->out[i] : &t->entry;
			struct m_entry *me;

			assert_true(M.count > 0);
			me = m_at(0);
			assert_int_equal(e->val, m_head_value());
			if (me->res >= 0) {
				/* val and ptr are the exit's one payload. */
				assert_ptr_equal(e->ptr,
						 (void *)(intptr_t)e->val);
				M.res[me->res].in_use = false;
			} else {
				assert_int_equal(e->tag, me->tag);
				assert_ptr_equal(e->ptr, me->tag ? &M : NULL);
			}
			m_pop_front();
			M.delivered++;
		}
		/* A batch takes everything ready, up to its size. */
		if (t->count < max)
			assert_false(m_head_ready());
		m_after_pull();
		return;
	}
	/* The terminal result, only once the data before it is gone. */
	assert_int_equal(M.count, 0);
	assert_int_equal(t->count, 0);
	if (t->what == URSA_TAKE_END) {
		assert_true(M.ended && !M.failed);
		assert_int_equal(t->exit.kind, URSA_EXIT_SUCCESS);
	} else {
		assert_int_equal(t->what, URSA_TAKE_ERROR);
		assert_true(M.failed);
		assert_int_equal(t->exit.kind, M.terminal.kind);
		assert_int_equal(t->exit.err, M.terminal.err);
	}
	M.fin_owed = true;
}

/* A push under the strategy: the documented return codes. */
static int m_predict_push(bool reservation)
{
	if (m_closed())
		return -EPIPE;
	if (M.count < M.capacity || M.strategy == URSA_EMIT_UNBOUNDED)
		return 0;
	switch (M.strategy) {
	case URSA_EMIT_SUSPEND:
		M.paused = true;
		return -EAGAIN;
	case URSA_EMIT_DROPPING:
		M.dropped++;
		return -ENOBUFS;
	default:
		/* Sliding evicts the oldest data entry, never a reservation. */
		if (reservation || !m_filled(m_at(0))) {
			M.dropped++;
			return -ENOBUFS;
		}
		m_discard(m_at(0));
		m_pop_front();
		M.evicted++;
		return 0;
	}
}

static void m_terminate(bool failed, const struct ursa_exit *e)
{
	if (failed) {
		M.failed = true;
		M.terminal = *e;
	} else {
		M.ended = true;
	}
	M.paused = false;
	M.drain_owed = false;
}

static void m_cancel(void)
{
	unsigned int i;

	M.cancelled = true;
	M.paused = false;
	M.drain_owed = false;
	for (i = 0; i < M.count; i++)
		m_discard(m_at(i));
	M.head = (M.head + M.count) % M_MAX;
	M.count = 0;
	M.fin_owed = true;
}

/* A reservation's deferred failed: the stream fails at its position. */
static void m_res_failed(int slot, const struct ursa_exit *e)
{
	unsigned int pos;

	for (pos = 0; pos < M.count; pos++)
		if (m_at(pos)->res == slot)
			break;
	assert_true(pos < M.count);
	while (M.count > pos + 1) {
		m_discard(m_at(M.count - 1));
		M.count--;
	}
	M.count--;
	M.res[slot].in_use = false;
	M.ended = false;
	M.failed = true;
	M.terminal = *e;
	M.paused = false;
	M.drain_owed = false;
}

static void m_start_take(struct m_take *mt)
{
	int ret;

	if (mt->max)
		ret = ursa_emit_take_batch(&M.em, &mt->t, mt->out, mt->max);
	else
		ret = ursa_emit_take(&M.em, &mt->t);
	if (mt->pending) {
		assert_int_equal(ret, -EBUSY);
		return;
	}
	assert_int_equal(ret, 0);
	mt->pending = true;
}

static const char *const strategy_names[] = { "suspend", "dropping", "sliding",
					      "unbounded" };

static void emit_episode(enum ursa_emit_strategy strategy, unsigned int ops)
{
	unsigned int i, k;
	int ret;

	memset(&M, 0, sizeof(M));
	M.strategy = strategy;
	M.capacity = 1 + rnd_below(8);
	assert_int_equal(ursa_emit_init(&M.em, &rq, M.capacity, strategy), 0);
	if (strategy == URSA_EMIT_UNBOUNDED) {
		M.capacity = UINT32_MAX;
		M.lw = 0;
	} else {
		M.lw = rnd_below(M.capacity);
	}
	assert_int_equal(
		ursa_emit_set_producer(&M.em, m_drain_cb, m_evict_cb, M.lw), 0);
	ursa_emit_set_finalizer(&M.em, m_fin_cb);
	ursa_waiter_init(&M.room, &rq, m_room_cb);
	for (k = 0; k < M_TAKES; k++) {
		ursa_take_init(&M.takes[k].t, &rq, m_take_cb);
		M.takes[k].max = rnd_below(2) ? 0 : 1 + rnd_below(4);
	}
	M.next_val = 1;

	for (i = 0; i < ops; i++) {
		unsigned int op = rnd_below(1000);
		struct m_take *mt = &M.takes[rnd_below(M_TAKES)];
		int want;

		nr_ops++;
		if (op < 300) {
			/* single or chunk */
			int64_t v = M.next_val++;
			uint64_t tag = rnd_below(2) ? (uint64_t)v * 3 : 0;

			want = m_predict_push(false);
			if (tag)
				ret = ursa_emit_chunk(&M.em, &M, v, tag);
			else
				ret = ursa_emit_single(&M.em, v);
			assert_int_equal(ret, want);
			if (!want) {
				m_append(v, tag, -1);
				M.accepted++;
			}
		} else if (op < 340) {
			/* from_deferred, on a free slot */
			unsigned int s = rnd_below(M_RES);
			struct m_res *r = &M.res[s];

			if (r->in_use)
				continue;
			ursa_deferred_init(&r->d);
			want = m_predict_push(true);
			ret = ursa_emit_from_deferred(&M.em, &r->f, &r->d);
			assert_int_equal(ret, want);
			if (!want) {
				r->in_use = true;
				r->completed = false;
				m_append(0, 0, (int)s);
			}
		} else if (op < 400) {
			/* complete a pending reservation, and let it land */
			unsigned int s = rnd_below(M_RES);
			struct m_res *r = &M.res[s];

			if (!r->in_use || r->completed)
				continue;
			/*
			 * Flush the run queue first, so that the deferred's
			 * waiter is the next thing to run: the model fills
			 * the entry now, and no take may run in between.
			 */
			run_all();
			r->completed = true;
			r->ok = rnd_below(8) != 0;
			if (r->ok) {
				r->val = M.next_val++;
				ursa_deferred_succeed(&r->d, r->val);
			} else {
				struct ursa_exit e = ursa_exit_failure(-EIO);

				ursa_deferred_fail(&r->d, -EIO);
				m_res_failed((int)s, &e);
			}
			run_all();
		} else if (op < 600) {
			m_start_take(mt);
		} else if (op < 640) {
			assert_int_equal(ursa_emit_take_cancel(&M.em, &mt->t),
					 mt->pending);
			mt->pending = false;
		} else if (op < 800) {
			run_one();
		} else if (op < 880) {
			run_all();
		} else if (op < 900) {
			ret = ursa_emit_await_room(&M.em, &M.room);
			(void)ret;
		} else if (op < 910) {
			/* The rarer terminal calls. */
			unsigned int which = rnd_below(8);
			struct ursa_exit e;

			if (which == 0) {
				e = ursa_exit_success(M.next_val);
				want = m_closed() ? -EPIPE : 0;
				ret = ursa_emit_done(&M.em, &e);
				if (!want) {
					m_append(M.next_val++, 0, -1);
					m_terminate(false, NULL);
				}
			} else if (which == 1) {
				want = m_closed() ? -EPIPE : -EINVAL;
				ret = ursa_emit_fail(&M.em, 0);
			} else if (which < 4) {
				want = m_closed() ? -EPIPE : 0;
				ret = ursa_emit_fail(&M.em, -ENOENT);
				e = ursa_exit_failure(-ENOENT);
				if (!want)
					m_terminate(true, &e);
			} else if (which < 5) {
				want = m_closed() ? -EPIPE : 0;
				ret = ursa_emit_die(&M.em, -EFAULT);
				e = ursa_exit_die(-EFAULT);
				if (!want)
					m_terminate(true, &e);
			} else if (which < 6) {
				e = ursa_exit_interrupt(3);
				want = m_closed() ? -EPIPE : 0;
				ret = ursa_emit_halt(&M.em, &e);
				if (!want)
					m_terminate(true, &e);
			} else {
				want = m_closed() ? -EPIPE : 0;
				ret = ursa_emit_end(&M.em);
				if (!want)
					m_terminate(false, NULL);
			}
			assert_int_equal(ret, want);
		} else if (op < 912) {
			/* The consumer abandons the stream: takes first. */
			for (k = 0; k < M_TAKES; k++) {
				assert_int_equal(ursa_emit_take_cancel(
							 &M.em, &M.takes[k].t),
						 M.takes[k].pending);
				M.takes[k].pending = false;
			}
			m_cancel();
			ursa_emit_cancel(&M.em);
		} else {
			run_all();
			/* Quiescent: the checks that need a drained queue. */
			if (M.drain_owed)
				fail_msg("drain callback owed but not run");
		}
		assert_int_equal(ursa_emit_count(&M.em), M.count);
		assert_int_equal(ursa_emit_is_terminated(&M.em), m_closed());
		assert_int_equal(M.em.nr_dropped, M.dropped);
		assert_int_equal(M.em.nr_evicted, M.evicted);
	}

	/* Wind down: no take pending, then finish the stream. */
	for (k = 0; k < M_TAKES; k++) {
		assert_int_equal(ursa_emit_take_cancel(&M.em, &M.takes[k].t),
				 M.takes[k].pending);
		M.takes[k].pending = false;
	}
	run_all();
	if (!m_closed() && rnd_below(2)) {
		assert_int_equal(ursa_emit_end(&M.em), 0);
		m_terminate(false, NULL);
	}
	if (!M.cancelled && (M.ended || M.failed)) {
		/* Land the reservations, then take everything. */
		for (k = 0; k < M_RES; k++) {
			struct m_res *r = &M.res[k];

			if (r->in_use && !r->completed) {
				r->completed = true;
				r->ok = true;
				r->val = M.next_val++;
				ursa_deferred_succeed(&r->d, r->val);
			}
		}
		run_all();
		for (k = 0; k < 10000 && !M.fin_owed; k++) {
			m_start_take(&M.takes[0]);
			run_all();
			assert_false(M.takes[0].pending);
		}
		assert_true(M.fin_owed);
	} else {
		for (k = 0; k < M_TAKES; k++)
			assert_false(M.takes[k].pending);
		m_cancel();
		ursa_emit_cancel(&M.em);
	}
	run_all();
	assert_int_equal(M.fin_runs, 1);
	assert_false(M.drain_owed);
	assert_false(ursa_waiter_is_pending(&M.room));
	ursa_emit_destroy(&M.em);
	/* Every discarded entry went through the evict callback. */
	assert_int_equal(M.evict_count, 0);
	assert_false(ursa_runq_has_work(&rq));
}

static void emit_buffers_follow_the_model(void **state)
{
	size_t s;
	unsigned int ep;
	uint64_t total_ops = 0;

	for (s = 0; s < 4; s++) {
		uint64_t before = nr_ops, delivered = 0;

		for (ep = 0; ep < 150; ep++) {
			emit_episode((enum ursa_emit_strategy)s,
				     50 + rnd_below(300));
			delivered += M.delivered;
		}
		print_message("emit %-9s %6" PRIu64 " ops, %6" PRIu64
			      " entries delivered\n",
			      strategy_names[s], nr_ops - before, delivered);
		assert_true(delivered > 1000);
		total_ops += nr_ops - before;
	}
	assert_true(total_ops >= 80000);
}

/* ========================== inputs ========================== */

#define I_TAKES 4
#define I_NONE (-1)

struct i_take {
	struct ursa_take t;
	int id;
};

static struct input_model {
	struct ursa_input in;
	struct i_take takes[I_TAKES];
	/* The model: takes waiting (oldest first), the reserved take. */
	int waiting[I_TAKES];
	int nwaiting;
	int reserved;
	bool queued_terminal[I_TAKES];
	bool pending[I_TAKES];
	bool full;
	int64_t slot;
	bool terminal, done;
	struct ursa_exit terminal_exit;
	/* The producer's taken deferred for the element in the slot. */
	struct ursa_deferred taken;
	bool have_taken;
	/* ursa_input_emit_notify(): the producer's waiter. */
	struct ursa_waiter notifier;
	bool notify_parked, notify_woken;
	int notify_runs;
	/* await_read */
	struct ursa_waiter reader;
	bool reader_parked, reader_woken;
	int reader_runs;
	int64_t next_val;
	uint64_t emitted, delivered;
} I;

static void i_remove_waiting(int id)
{
	int i, j = 0;

	for (i = 0; i < I.nwaiting; i++)
		if (I.waiting[i] != id)
			I.waiting[j++] = I.waiting[i];
	I.nwaiting = j;
}

static void i_reserve_next(void)
{
	if (I.reserved != I_NONE || !I.full || !I.nwaiting)
		return;
	I.reserved = I.waiting[0];
	i_remove_waiting(I.reserved);
}

static void i_wake_reader(void)
{
	if (I.reader_parked) {
		I.reader_parked = false;
		I.reader_woken = true;
	}
}

static void i_take_cb(struct ursa_take *t)
{
	struct i_take *it = ursa_container_of(t, struct i_take, t);
	int id = it->id;

	assert_true(I.pending[id]);
	I.pending[id] = false;
	if (t->what == URSA_TAKE_ELEMENT) {
		/* The element goes to the take the model reserved it for. */
		assert_int_equal(I.reserved, id);
		assert_true(I.full);
		assert_int_equal(t->exit.val, I.slot);
		assert_int_equal(t->count, 1);
		I.full = false;
		I.reserved = I_NONE;
		I.delivered++;
		if (I.have_taken) {
			/* The producer learns it was taken. */
			assert_true(ursa_deferred_is_done(&I.taken));
			I.have_taken = false;
		}
		if (I.notify_parked) {
			/* Its waiter is queued, to run after this callback. */
			assert_true(ursa_waiter_is_pending(&I.notifier));
			I.notify_parked = false;
			I.notify_woken = true;
		}
		return;
	}
	assert_true(I.queued_terminal[id]);
	I.queued_terminal[id] = false;
	assert_true(I.terminal);
	if (I.done) {
		assert_int_equal(t->what, URSA_TAKE_END);
		assert_int_equal(t->exit.val, I.terminal_exit.val);
	} else {
		assert_int_equal(t->what, URSA_TAKE_ERROR);
		assert_int_equal(t->exit.kind, I.terminal_exit.kind);
		assert_int_equal(t->exit.err, I.terminal_exit.err);
	}
}

static void i_reader_cb(struct ursa_waiter *w, const struct ursa_exit *e)
{
	assert_int_equal(e->kind, URSA_EXIT_SUCCESS);
	assert_true(I.reader_woken);
	I.reader_woken = false;
	I.reader_runs++;
}

static void i_notify_cb(struct ursa_waiter *w, const struct ursa_exit *e)
{
	assert_int_equal(e->kind, URSA_EXIT_SUCCESS);
	assert_int_equal(e->val, 0);
	assert_true(I.notify_woken);
	I.notify_woken = false;
	I.notify_runs++;
}

static void i_take(int id)
{
	int ret = ursa_input_take(&I.in, &I.takes[id].t);

	if (I.pending[id]) {
		assert_int_equal(ret, -EBUSY);
		return;
	}
	assert_int_equal(ret, 0);
	I.pending[id] = true;
	if (I.full && I.reserved == I_NONE) {
		I.reserved = id;
	} else if (I.terminal) {
		I.queued_terminal[id] = true;
	} else {
		I.waiting[I.nwaiting++] = id;
		i_wake_reader();
	}
}

static void i_cancel(int id)
{
	bool was = I.pending[id];

	assert_int_equal(ursa_input_take_cancel(&I.in, &I.takes[id].t), was);
	I.pending[id] = false;
	I.queued_terminal[id] = false;
	i_remove_waiting(id);
	if (I.reserved == id) {
		I.reserved = I_NONE;
		i_reserve_next();
	}
}

static int i_terminate(bool done, const struct ursa_exit *e)
{
	int i;

	if (I.terminal)
		return -EPIPE;
	I.terminal = true;
	I.done = done;
	I.terminal_exit = *e;
	if (!I.full || I.reserved != I_NONE) {
		for (i = 0; i < I.nwaiting; i++)
			I.queued_terminal[I.waiting[i]] = true;
		I.nwaiting = 0;
	}
	i_wake_reader();
	return 0;
}

static void input_episode(unsigned int ops)
{
	unsigned int i;
	int k, ret, want;

	memset(&I, 0, sizeof(I));
	ursa_input_init(&I.in);
	I.reserved = I_NONE;
	for (k = 0; k < I_TAKES; k++) {
		ursa_take_init(&I.takes[k].t, &rq, i_take_cb);
		I.takes[k].id = k;
	}
	ursa_waiter_init(&I.reader, &rq, i_reader_cb);
	ursa_waiter_init(&I.notifier, &rq, i_notify_cb);
	I.next_val = 1;

	for (i = 0; i < ops; i++) {
		unsigned int op = rnd_below(100);
		int id = (int)rnd_below(I_TAKES);

		nr_ops++;
		if (op < 25) {
			int64_t v = I.next_val++;
			unsigned int how = rnd_below(3);
			bool with = how == 1 && !I.have_taken;

			want = I.terminal ? -EPIPE : I.full ? -EBUSY : 0;
			if (how == 2) {
				/* The notify waiter, pending or not. */
				if (!want &&
				    (I.notify_parked || I.notify_woken))
					want = -EBUSY;
				ret = ursa_input_emit_notify(&I.in, v,
							     &I.notifier);
			} else {
				if (with)
					ursa_deferred_init(&I.taken);
				ret = ursa_input_emit(&I.in, v,
						      with ? &I.taken : NULL);
			}
			assert_int_equal(ret, want);
			if (!ret) {
				I.full = true;
				I.slot = v;
				I.have_taken = with;
				I.notify_parked = how == 2;
				I.emitted++;
				i_reserve_next();
			}
		} else if (op < 50) {
			i_take(id);
		} else if (op < 58) {
			i_cancel(id);
		} else if (op < 78) {
			run_one();
		} else if (op < 88) {
			run_all();
		} else if (op < 92) {
			ret = ursa_input_await_read(&I.in, &I.reader);
			if (I.reader_parked || I.reader_woken) {
				assert_int_equal(ret, -EBUSY);
			} else {
				assert_int_equal(ret, 0);
				if (I.nwaiting || I.terminal)
					I.reader_woken = true;
				else
					I.reader_parked = true;
			}
		} else if (op < 98) {
			/* Rarely: a terminal call, or a bad one. */
			unsigned int which = rnd_below(12);
			struct ursa_exit e;

			if (which == 0) {
				/* The producer stops waiting for its element. */
				assert_int_equal(
					ursa_waiter_cancel(&I.notifier),
					I.notify_parked || I.notify_woken);
				I.notify_parked = I.notify_woken = false;
				continue;
			} else if (which == 1) {
				assert_int_equal(ursa_waiter_cancel(&I.reader),
						 I.reader_parked ||
							 I.reader_woken);
				I.reader_parked = I.reader_woken = false;
				continue;
			} else if (which < 9) {
				continue;
			} else if (which == 9) {
				e = ursa_exit_success(77);
				want = i_terminate(true, &e);
				ret = ursa_input_done(&I.in, 77);
			} else if (which == 10) {
				e = ursa_exit_failure(-EPROTO);
				want = i_terminate(false, &e);
				ret = ursa_input_error(&I.in, &e);
			} else {
				e = ursa_exit_interrupt(0);
				want = i_terminate(false, &e);
				ret = ursa_input_close(&I.in);
			}
			assert_int_equal(ret, want);
		} else {
			struct ursa_exit ok = ursa_exit_success(1);

			ret = ursa_input_error(&I.in, &ok);
			assert_int_equal(ret, I.terminal ? -EPIPE : -EINVAL);
		}
		assert_int_equal(ursa_input_is_full(&I.in), I.full);
		assert_int_equal(ursa_input_is_terminal(&I.in), I.terminal);
		for (k = 0; k < I_TAKES; k++)
			assert_int_equal(ursa_take_is_pending(&I.takes[k].t),
					 I.pending[k]);
		assert_int_equal(ursa_waiter_is_pending(&I.reader),
				 I.reader_parked || I.reader_woken);
		assert_int_equal(ursa_waiter_is_pending(&I.notifier),
				 I.notify_parked || I.notify_woken);
	}

	/* No element lost: a take after the fact still gets it. */
	run_all();
	for (k = 0; k < I_TAKES; k++)
		i_cancel(k);
	if (I.full) {
		i_take(0);
		run_all();
		assert_false(I.full);
	}
	assert_int_equal(I.delivered, I.emitted);
	if (!I.terminal) {
		struct ursa_exit e = ursa_exit_success(5);

		assert_int_equal(ursa_input_done(&I.in, 5),
				 i_terminate(true, &e));
	}
	/* The terminal result persists. */
	for (k = 0; k < I_TAKES; k++)
		i_take(k);
	run_all();
	for (k = 0; k < I_TAKES; k++)
		assert_false(I.pending[k]);
	assert_false(ursa_waiter_is_pending(&I.reader));
	assert_false(ursa_waiter_is_pending(&I.notifier));
	assert_false(ursa_runq_has_work(&rq));
}

static void inputs_follow_the_model(void **state)
{
	uint64_t before = nr_ops, delivered = 0, notified = 0;
	unsigned int ep;

	for (ep = 0; ep < 400; ep++) {
		input_episode(20 + rnd_below(200));
		delivered += I.delivered;
		notified += I.notify_runs;
	}
	print_message("input %6" PRIu64 " ops, %6" PRIu64
		      " elements delivered, %6" PRIu64 " notified\n",
		      nr_ops - before, delivered, notified);
	assert_true(delivered > 1000);
	assert_true(notified > 100);
	assert_true(nr_ops - before >= 20000);
}

static void at_least_100000_operations(void **state)
{
	print_message("%" PRIu64 " operations in all (seed %" PRIu64 ")\n",
		      nr_ops, seed);
	assert_true(nr_ops >= 100000);
}

static int setup(void **state)
{
	ursa_runq_init(&rq, 0);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, NULL)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(emit_buffers_follow_the_model),
		T(inputs_follow_the_model),
		T(at_least_100000_operations),
	};
	const char *env = getenv("URSA_MODEL_SEED");

	if (env && *env) {
		char *end;

		seed = strtoull(env, &end, 0);
		if (*end) {
			fprintf(stderr, "test_model: bad URSA_MODEL_SEED %s\n",
				env);
			return 2;
		}
	} else {
		seed = DEFAULT_SEED;
	}
	rng_state = seed;
	printf("# test_model: seed %" PRIu64
	       " (replay with URSA_MODEL_SEED=%" PRIu64 ")\n",
	       seed, seed);
	fflush(stdout);
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
