// SPDX-License-Identifier: MIT
/*
 * Unit tests of emit buffers: the upstream cases of Stream.async and
 * Stream.asyncPush (Stream/async.test.ts) adapted to C, the four
 * strategies and their return codes, the terminal signal that is never
 * dropped or evicted, from_deferred ordering, single and batch takes
 * from callbacks and tasks, the finalizer for every way a stream ends,
 * and gating (the -EAGAIN that pauses a producer, the drain callback at
 * the low watermark). One test per row where ursa differs from Effect
 * (docs/effect-differences.md).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ursa/emit.h>
#include <ursa/err.h>
#include <ursa/task.h>

static struct ursa_runq rq;

#define MAXSEEN 64

/* A consumer that records what it takes, and can take again. */
struct consumer {
	struct ursa_take t;
	struct ursa_emit *em;
	int what[MAXSEEN];
	int64_t val[MAXSEEN]; /* entry value, or the error */
	int kind[MAXSEEN]; /* exit kind of a terminal result */
	unsigned int count[MAXSEEN]; /* batch sizes */
	int n; /* callbacks */
	int64_t items[MAXSEEN]; /* every element, batches flattened */
	int nitems;
	int again; /* take again from the callback this many times; -1: always */
	struct ursa_emit_entry batch[MAXSEEN];
	unsigned int max; /* 0: single take; else batch of up to max */
};

static void consumer_fn(struct ursa_take *t);

static int consumer_take(struct consumer *c)
{
	if (c->max)
		return ursa_emit_take_batch(c->em, &c->t, c->batch, c->max);
	return ursa_emit_take(c->em, &c->t);
}

static void consumer_fn(struct ursa_take *t)
{
	struct consumer *c = ursa_container_of(t, struct consumer, t);
	unsigned int i;

	assert_true(c->n < MAXSEEN);
	c->what[c->n] = t->what;
	c->count[c->n] = t->count;
	c->kind[c->n] = t->exit.kind;
	if (t->what == URSA_TAKE_ELEMENT) {
		assert_true(t->count >= 1);
		c->val[c->n] = c->max ? c->batch[0].val : t->entry.val;
		for (i = 0; i < t->count; i++) {
			assert_true(c->nitems < MAXSEEN);
			c->items[c->nitems++] = c->max ? c->batch[i].val :
							 t->entry.val;
		}
	} else {
		assert_int_equal(t->count, 0);
		c->val[c->n] = t->what == URSA_TAKE_ERROR ? t->exit.err : 0;
	}
	c->n++;
	if (c->again && t->what == URSA_TAKE_ELEMENT) {
		if (c->again > 0)
			c->again--;
		assert_int_equal(consumer_take(c), 0);
	}
}

static void consumer_init(struct consumer *c, struct ursa_emit *em,
			  unsigned int max)
{
	memset(c, 0, sizeof(*c));
	ursa_take_init(&c->t, &rq, consumer_fn);
	c->em = em;
	c->max = max;
}

static void drain(void)
{
	ursa_runq_drain(&rq, 0);
}

static int fin_runs;
static struct ursa_emit *fin_em;

static void count_fin(struct ursa_emit *em)
{
	fin_runs++;
	fin_em = em;
}

static int drain_runs;
static unsigned int drain_count_seen;

static void count_drain(struct ursa_emit *em)
{
	drain_runs++;
	drain_count_seen = ursa_emit_count(em);
}

static int64_t evicted[MAXSEEN];
static int nevicted;

static void count_evict(struct ursa_emit *em,
			const struct ursa_emit_entry *entry)
{
	assert_true(nevicted < MAXSEEN);
	evicted[nevicted++] = entry->val;
}

static int setup(void **state)
{
	ursa_runq_init(&rq, 0);
	fin_runs = 0;
	fin_em = NULL;
	drain_runs = 0;
	drain_count_seen = 0;
	nevicted = 0;
	return 0;
}

static int teardown(void **state)
{
	drain();
	assert_false(ursa_runq_has_work(&rq));
	assert_int_equal(rq.nr_tasks, 0);
	return 0;
}

static void emit_new(struct ursa_emit *em, unsigned int cap,
		     enum ursa_emit_strategy s)
{
	assert_int_equal(ursa_emit_init(em, &rq, cap, s), 0);
	ursa_emit_set_finalizer(em, count_fin);
}

/* Take everything until the terminal signal, one entry per take. */
static void take_all(struct consumer *c)
{
	c->again = -1;
	assert_int_equal(consumer_take(c), 0);
	drain();
}

static const enum ursa_emit_strategy strategies[] = {
	URSA_EMIT_SUSPEND,
	URSA_EMIT_DROPPING,
	URSA_EMIT_SLIDING,
	URSA_EMIT_UNBOUNDED,
};

/* ---- init and parameters ---- */

static void init_checks_its_arguments(void **state)
{
	struct ursa_emit em;

	assert_int_equal(ursa_emit_init(&em, &rq, 0, 7), -EINVAL);
	assert_int_equal(ursa_emit_init(&em, &rq, (1u << 24) + 1,
					URSA_EMIT_SUSPEND),
			 -EINVAL);
	assert_int_equal(ursa_emit_init(&em, &rq, 0, URSA_EMIT_SUSPEND), 0);
	/* Effect's default: bounded 16, suspend. */
	assert_int_equal(em.capacity, URSA_EMIT_DEFAULT_CAPACITY);
	assert_int_equal(em.strategy, URSA_EMIT_SUSPEND);
	assert_int_equal(em.low_watermark, URSA_EMIT_DEFAULT_CAPACITY / 2);
	assert_int_equal(ursa_emit_set_producer(&em, count_drain, NULL, 16),
			 -EINVAL);
	assert_int_equal(ursa_emit_set_producer(&em, count_drain, NULL, 15), 0);
	ursa_emit_destroy(&em);
}

static void the_default_capacity_is_16(void **state)
{
	struct ursa_emit em;
	int i;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	for (i = 0; i < 16; i++)
		assert_int_equal(ursa_emit_single(&em, i), 0);
	assert_true(ursa_emit_is_full(&em));
	assert_int_equal(ursa_emit_single(&em, 16), -EAGAIN);
	assert_int_equal(ursa_emit_count(&em), 16);
	ursa_emit_destroy(&em);
}

/* ---- Stream.async upstream cases ---- */

/* "5 emits, take 5 gives [1..5]" */
static void five_emits_are_taken_in_order(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	for (i = 1; i <= 5; i++)
		assert_int_equal(ursa_emit_single(&em, i), 0);
	c.again = 4;
	consumer_take(&c);
	drain();
	assert_int_equal(c.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c.what[i], URSA_TAKE_ELEMENT);
		assert_int_equal(c.val[i], i + 1);
	}
	/* The stream did not end: no finalizer. */
	assert_int_equal(fin_runs, 0);
	ursa_emit_cancel(&em);
	drain();
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

/* "end gives an empty stream" */
static void end_gives_an_empty_stream(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.what[0], URSA_TAKE_END);
	assert_int_equal(c.kind[0], URSA_EXIT_SUCCESS);
	assert_int_equal(fin_runs, 1);
	assert_ptr_equal(fin_em, &em);
	ursa_emit_destroy(&em);
}

/* "a failure gives that failure" */
static void a_failure_gives_that_failure(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	consumer_take(&c);
	drain();
	assert_int_equal(c.n, 0);
	assert_int_equal(ursa_emit_fail(&em, -ECONNRESET), 0);
	/* Never inline. */
	assert_int_equal(c.n, 0);
	drain();
	assert_int_equal(c.n, 1);
	assert_int_equal(c.what[0], URSA_TAKE_ERROR);
	assert_int_equal(c.kind[0], URSA_EXIT_FAILURE);
	assert_int_equal(c.val[0], -ECONNRESET);
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

/* "a defect in register dies" */
static void die_gives_a_defect(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_die(&em, -EFAULT), 0);
	take_all(&c);
	assert_int_equal(c.what[0], URSA_TAKE_ERROR);
	assert_int_equal(c.kind[0], URSA_EXIT_DIE);
	assert_int_equal(c.val[0], -EFAULT);
	ursa_emit_destroy(&em);
}

static void halt_takes_any_failure_exit(void **state)
{
	struct ursa_exit intr = ursa_exit_interrupt(7);
	struct ursa_exit ok = ursa_exit_success(1);
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_halt(&em, &ok), -EINVAL);
	assert_int_equal(ursa_emit_fail(&em, 0), -EINVAL);
	assert_int_equal(ursa_emit_die(&em, 5), -EINVAL);
	assert_false(ursa_emit_is_terminated(&em));
	assert_int_equal(ursa_emit_halt(&em, &intr), 0);
	assert_true(ursa_emit_is_terminated(&em));
	take_all(&c);
	assert_int_equal(c.what[0], URSA_TAKE_ERROR);
	assert_int_equal(c.kind[0], URSA_EXIT_INTERRUPT);
	assert_int_equal(c.t.exit.id, 7);
	ursa_emit_destroy(&em);
}

/* "the cleanup runs on interrupt": the consumer cancels. */
static void cancel_runs_the_finalizer_and_evicts(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 4, URSA_EMIT_SUSPEND);
	assert_int_equal(ursa_emit_set_producer(&em, NULL, count_evict, 1), 0);
	consumer_init(&c, &em, 0);
	ursa_emit_single(&em, 1);
	ursa_emit_single(&em, 2);
	ursa_emit_cancel(&em);
	/* From the run queue, not inline. */
	assert_int_equal(fin_runs, 0);
	drain();
	assert_int_equal(fin_runs, 1);
	assert_int_equal(nevicted, 2);
	assert_int_equal(evicted[0], 1);
	assert_int_equal(evicted[1], 2);
	assert_true(ursa_emit_is_terminated(&em));
	assert_int_equal(ursa_emit_single(&em, 3), -EPIPE);
	assert_int_equal(ursa_emit_end(&em), -EPIPE);
	/* A second cancel does not finalize again. */
	ursa_emit_cancel(&em);
	drain();
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

/*
 * "backpressure with buffer 5 (the 7th emit suspends)": five wait in the
 * buffer, the consumer has taken one, so the 7th is the one refused.
 */
static void backpressure_with_buffer_5(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i, accepted = 0;

	emit_new(&em, 5, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	consumer_take(&c);
	for (i = 1; i <= 5; i++)
		accepted += ursa_emit_single(&em, i) == 0;
	drain(); /* the consumer takes 1 */
	assert_int_equal(c.n, 1);
	for (i = 6; i <= 7; i++)
		accepted += ursa_emit_single(&em, i) == 0;
	assert_int_equal(accepted, 6);
	assert_int_equal(ursa_emit_single(&em, 7), -EAGAIN);
	assert_int_equal(ursa_emit_count(&em), 5);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

/* Push face with buffer 1: "single(42), end gives [42]". */
static void single_then_end_in_a_buffer_of_one(void **state)
{
	size_t s;

	for (s = 0; s < 4; s++) {
		struct ursa_emit em;
		struct consumer c;

		setup(state);
		emit_new(&em, 1, strategies[s]);
		consumer_init(&c, &em, 0);
		assert_int_equal(ursa_emit_single(&em, 42), 0);
		/* The end is never lost, whatever the strategy. */
		assert_int_equal(ursa_emit_end(&em), 0);
		take_all(&c);
		assert_int_equal(c.n, 2);
		assert_int_equal(c.what[0], URSA_TAKE_ELEMENT);
		assert_int_equal(c.val[0], 42);
		assert_int_equal(c.what[1], URSA_TAKE_END);
		assert_int_equal(fin_runs, 1);
		ursa_emit_destroy(&em);
	}
}

/* "single(42), fail(e) gives [42], then e" */
static void single_then_fail_in_a_buffer_of_one(void **state)
{
	size_t s;

	for (s = 0; s < 4; s++) {
		struct ursa_emit em;
		struct consumer c;

		setup(state);
		emit_new(&em, 1, strategies[s]);
		consumer_init(&c, &em, 0);
		assert_int_equal(ursa_emit_single(&em, 42), 0);
		assert_int_equal(ursa_emit_fail(&em, -EIO), 0);
		take_all(&c);
		assert_int_equal(c.n, 2);
		assert_int_equal(c.val[0], 42);
		assert_int_equal(c.what[1], URSA_TAKE_ERROR);
		assert_int_equal(c.val[1], -EIO);
		assert_int_equal(fin_runs, 1);
		ursa_emit_destroy(&em);
	}
}

/* "single(1), single(2), end gives dropping [1] and sliding [2]" */
static void dropping_keeps_the_first_sliding_the_last(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 1, URSA_EMIT_DROPPING);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_single(&em, 1), 0);
	assert_int_equal(ursa_emit_single(&em, 2), -ENOBUFS);
	assert_int_equal(em.nr_dropped, 1);
	/* differs: the end is not dropped (upstream can hang here). */
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 1);
	assert_int_equal(c.items[0], 1);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
	ursa_emit_destroy(&em);

	setup(state);
	emit_new(&em, 1, URSA_EMIT_SLIDING);
	ursa_emit_set_producer(&em, NULL, count_evict, 0);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_single(&em, 1), 0);
	assert_int_equal(ursa_emit_single(&em, 2), 0);
	assert_int_equal(em.nr_evicted, 1);
	assert_int_equal(nevicted, 1);
	assert_int_equal(evicted[0], 1);
	/* differs: the end evicts nothing. */
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 1);
	assert_int_equal(c.items[0], 2);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
	assert_int_equal(nevicted, 1);
	ursa_emit_destroy(&em);
}

/* "emit after end returns false": -EPIPE from every push, every strategy. */
static void emit_after_end_is_refused(void **state)
{
	struct ursa_exit ok = ursa_exit_success(3);
	struct ursa_exit bad = ursa_exit_failure(-EIO);
	struct ursa_deferred d;
	struct ursa_emit_from f;
	size_t s;

	for (s = 0; s < 4; s++) {
		struct ursa_emit em;
		struct consumer c;

		setup(state);
		emit_new(&em, 2, strategies[s]);
		consumer_init(&c, &em, 0);
		ursa_deferred_init(&d);
		assert_int_equal(ursa_emit_end(&em), 0);
		assert_int_equal(ursa_emit_single(&em, 1), -EPIPE);
		assert_int_equal(ursa_emit_chunk(&em, &c, 1, 0), -EPIPE);
		assert_int_equal(ursa_emit_end(&em), -EPIPE);
		assert_int_equal(ursa_emit_fail(&em, -EIO), -EPIPE);
		assert_int_equal(ursa_emit_die(&em, -EIO), -EPIPE);
		assert_int_equal(ursa_emit_halt(&em, &bad), -EPIPE);
		assert_int_equal(ursa_emit_done(&em, &ok), -EPIPE);
		assert_int_equal(ursa_emit_done(&em, &bad), -EPIPE);
		assert_int_equal(ursa_emit_fail(&em, 0), -EPIPE);
		assert_int_equal(ursa_emit_from_deferred(&em, &f, &d), -EPIPE);
		take_all(&c);
		assert_int_equal(c.n, 1);
		assert_int_equal(c.what[0], URSA_TAKE_END);
		ursa_emit_destroy(&em);
	}
}

/* ---- done(exit) ---- */

/*
 * differs: upstream's Emit.done(Success a) emits a and goes on;
 * EmitOpsPush.done emits and ends. ursa always emits and ends.
 */
static void done_success_emits_then_ends(void **state)
{
	struct ursa_exit ok = ursa_exit_success(9);
	size_t s;

	for (s = 0; s < 4; s++) {
		struct ursa_emit em;
		struct consumer c;

		setup(state);
		emit_new(&em, 1, strategies[s]);
		consumer_init(&c, &em, 0);
		assert_int_equal(ursa_emit_single(&em, 8), 0);
		/* Full: the value rides with the end and is not refused. */
		assert_int_equal(ursa_emit_done(&em, &ok), 0);
		assert_true(ursa_emit_is_terminated(&em));
		assert_int_equal(ursa_emit_single(&em, 10), -EPIPE);
		take_all(&c);
		assert_int_equal(c.nitems, 2);
		assert_int_equal(c.items[0], 8);
		assert_int_equal(c.items[1], 9);
		assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
		assert_int_equal(fin_runs, 1);
		ursa_emit_destroy(&em);
	}
}

static void done_failure_halts(void **state)
{
	struct ursa_exit bad = ursa_exit_die(-ENOMEM);
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	ursa_emit_single(&em, 1);
	assert_int_equal(ursa_emit_done(&em, &bad), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 1);
	assert_int_equal(c.what[1], URSA_TAKE_ERROR);
	assert_int_equal(c.kind[1], URSA_EXIT_DIE);
	assert_int_equal(c.val[1], -ENOMEM);
	ursa_emit_destroy(&em);
}

/* ---- strategies ---- */

static void suspend_answers_eagain_and_keeps_everything(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 3, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(ursa_emit_single(&em, i), 0);
	assert_int_equal(ursa_emit_single(&em, 3), -EAGAIN);
	assert_int_equal(ursa_emit_chunk(&em, &c, 4, 3), -EAGAIN);
	assert_int_equal(em.nr_dropped, 0);
	assert_int_equal(em.nr_evicted, 0);
	/* The terminal signal is never refused for room. */
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(c.items[i], i);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
	ursa_emit_destroy(&em);
}

static void dropping_refuses_new_entries_but_never_the_end(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 3, URSA_EMIT_DROPPING);
	consumer_init(&c, &em, 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(ursa_emit_single(&em, i),
				 i < 3 ? 0 : -ENOBUFS);
	assert_int_equal(em.nr_dropped, 7);
	/* A dropped push did not pause anything: no drain callback owed. */
	ursa_emit_set_producer(&em, count_drain, NULL, 0);
	assert_int_equal(ursa_emit_fail(&em, -EPROTO), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(c.items[i], i);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_ERROR);
	assert_int_equal(c.val[c.n - 1], -EPROTO);
	assert_int_equal(drain_runs, 0);
	ursa_emit_destroy(&em);
}

static void sliding_evicts_the_oldest_data_never_the_end(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 3, URSA_EMIT_SLIDING);
	ursa_emit_set_producer(&em, NULL, count_evict, 0);
	consumer_init(&c, &em, 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(ursa_emit_single(&em, i), 0);
	assert_int_equal(em.nr_evicted, 7);
	assert_int_equal(nevicted, 7);
	for (i = 0; i < 7; i++)
		assert_int_equal(evicted[i], i);
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(c.items[i], 7 + i);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
	/* Nothing more was evicted by the end or the takes. */
	assert_int_equal(nevicted, 7);
	ursa_emit_destroy(&em);
}

/*
 * differs: upstream 3.22.1 to 3.22.4 gives [1,2,3,1] for a sliding
 * buffer fed single(1) then an array; a chunk is one entry here.
 */
static void sliding_with_chunks_does_not_duplicate(void **state)
{
	static int64_t arr[3] = { 1, 2, 3 };
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 2, URSA_EMIT_SLIDING);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_single(&em, 1), 0);
	assert_int_equal(ursa_emit_chunk(&em, arr, 3, 77), 0);
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.items[0], 1);
	assert_int_equal(c.items[1], 3); /* the chunk's length */
	assert_int_equal(c.what[2], URSA_TAKE_END);
	ursa_emit_destroy(&em);

	/* Capacity 1: the chunk evicts the single, once. */
	setup(state);
	emit_new(&em, 1, URSA_EMIT_SLIDING);
	consumer_init(&c, &em, 0);
	ursa_emit_single(&em, 1);
	ursa_emit_chunk(&em, arr, 3, 77);
	ursa_emit_end(&em);
	c.again = -1;
	consumer_take(&c);
	drain();
	assert_int_equal(c.n, 2);
	assert_ptr_equal(c.t.entry.ptr, arr);
	assert_int_equal(c.t.entry.tag, 77);
	assert_int_equal(c.items[0], 3);
	assert_int_equal(em.nr_evicted, 1);
	ursa_emit_destroy(&em);
}

static void unbounded_never_refuses(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 2, URSA_EMIT_UNBOUNDED);
	consumer_init(&c, &em, MAXSEEN);
	for (i = 0; i < 50; i++)
		assert_int_equal(ursa_emit_single(&em, i), 0);
	assert_false(ursa_emit_is_full(&em));
	assert_int_equal(ursa_emit_count(&em), 50);
	assert_int_equal(ursa_emit_end(&em), 0);
	take_all(&c);
	assert_int_equal(c.nitems, 50);
	for (i = 0; i < 50; i++)
		assert_int_equal(c.items[i], i);
	/* One batch, then the end. */
	assert_int_equal(c.n, 2);
	assert_int_equal(c.count[0], 50);
	ursa_emit_destroy(&em);
}

static void chunks_keep_pointer_length_and_tag(void **state)
{
	char buf[8];
	struct ursa_emit_entry e = { .ptr = buf + 1, .val = 5, .tag = 99 };
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	assert_int_equal(ursa_emit_chunk(&em, buf, 8, 1234), 0);
	assert_int_equal(ursa_emit_push(&em, &e), 0);
	consumer_take(&c);
	drain();
	assert_ptr_equal(c.t.entry.ptr, buf);
	assert_int_equal(c.t.entry.val, 8);
	assert_int_equal(c.t.entry.tag, 1234);
	assert_int_equal(c.t.exit.val, 8);
	consumer_take(&c);
	drain();
	assert_ptr_equal(c.t.entry.ptr, buf + 1);
	assert_int_equal(c.t.entry.tag, 99);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

/* ---- the terminal signal ---- */

static void the_terminal_signal_persists_for_every_take(void **state)
{
	struct ursa_emit em;
	struct consumer c[3];
	int i, k;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	for (i = 0; i < 3; i++) {
		consumer_init(&c[i], &em, 0);
		consumer_take(&c[i]);
	}
	ursa_emit_fail(&em, -ETIMEDOUT);
	drain();
	for (k = 0; k < 5; k++) {
		for (i = 0; i < 3; i++) {
			if (k)
				consumer_take(&c[i]);
			drain();
			assert_int_equal(c[i].n, k + 1);
			assert_int_equal(c[i].what[k], URSA_TAKE_ERROR);
			assert_int_equal(c[i].val[k], -ETIMEDOUT);
		}
	}
	/* Fifteen terminal takes, one finalizer. */
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

static void the_finalizer_runs_once_for_every_ending(void **state)
{
	struct ursa_exit intr = ursa_exit_interrupt(0);
	struct ursa_exit ok = ursa_exit_success(1);
	struct ursa_exit bad = ursa_exit_failure(-EIO);
	struct ursa_deferred d;
	struct ursa_emit_from f;
	int how;

	for (how = 0; how < 9; how++) {
		struct ursa_emit em;
		struct consumer c;

		setup(state);
		emit_new(&em, 4, URSA_EMIT_SUSPEND);
		consumer_init(&c, &em, 0);
		ursa_emit_single(&em, 1);
		switch (how) {
		case 0:
			ursa_emit_end(&em);
			break;
		case 1:
			ursa_emit_fail(&em, -EIO);
			break;
		case 2:
			ursa_emit_die(&em, -EIO);
			break;
		case 3:
			ursa_emit_halt(&em, &intr);
			break;
		case 4:
			ursa_emit_done(&em, &ok);
			break;
		case 5:
			ursa_emit_done(&em, &bad);
			break;
		case 6:
			ursa_emit_cancel(&em);
			break;
		case 7:
			/* A reservation that fails ends the stream. */
			ursa_deferred_init(&d);
			ursa_emit_from_deferred(&em, &f, &d);
			ursa_deferred_fail(&d, -EIO);
			break;
		case 8:
			/* Ended, then the consumer cancels: still once. */
			ursa_emit_end(&em);
			break;
		}
		/* Not before the consumer has taken the terminal signal. */
		drain();
		assert_int_equal(fin_runs, how == 6 ? 1 : 0);
		if (how != 6)
			take_all(&c);
		if (how == 8) {
			ursa_emit_cancel(&em);
			drain();
		}
		assert_int_equal(fin_runs, 1);
		/* More takes and cancels do not run it again. */
		if (how != 6) {
			consumer_take(&c);
			drain();
		}
		ursa_emit_cancel(&em);
		drain();
		assert_int_equal(fin_runs, 1);
		ursa_emit_destroy(&em);
	}
}

/* ---- from_deferred ---- */

static void from_deferred_keeps_emit_order(void **state)
{
	struct ursa_deferred d1, d2;
	struct ursa_emit_from f1, f2;
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 8, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	ursa_deferred_init(&d1);
	ursa_deferred_init(&d2);
	assert_int_equal(ursa_emit_single(&em, 1), 0);
	assert_int_equal(ursa_emit_from_deferred(&em, &f1, &d1), 0);
	assert_int_equal(ursa_emit_single(&em, 3), 0);
	assert_int_equal(ursa_emit_from_deferred(&em, &f2, &d2), 0);
	assert_int_equal(ursa_emit_single(&em, 5), 0);
	assert_int_equal(ursa_emit_end(&em), 0);
	/* A reservation counts as an entry. */
	assert_int_equal(ursa_emit_count(&em), 5);
	c.again = -1;
	consumer_take(&c);
	drain();
	/* 1, then the consumer waits at d1's position. */
	assert_int_equal(c.nitems, 1);
	ursa_deferred_succeed(&d2, 4);
	drain();
	assert_int_equal(c.nitems, 1);
	ursa_deferred_succeed(&d1, 2);
	drain();
	assert_int_equal(c.nitems, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(c.items[i], i + 1);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

static void from_deferred_carries_a_pointer(void **state)
{
	static char payload[4];
	struct ursa_deferred d;
	struct ursa_emit_from f;
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	ursa_deferred_init(&d);
	/* Already done: its value still takes its place in order. */
	ursa_deferred_succeed_ptr(&d, payload);
	assert_int_equal(ursa_emit_from_deferred(&em, &f, &d), 0);
	ursa_emit_single(&em, 2);
	consumer_take(&c);
	drain();
	assert_ptr_equal(c.t.entry.ptr, payload);
	/* One union in the exit: the address is in val too. */
	assert_int_equal(c.t.entry.val, (int64_t)(intptr_t)payload);
	consumer_take(&c);
	drain();
	assert_int_equal(c.t.entry.val, 2);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

static void from_deferred_integer_is_in_val_and_ptr(void **state)
{
	struct ursa_deferred d;
	struct ursa_emit_from f;
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	ursa_deferred_init(&d);
	assert_int_equal(ursa_emit_from_deferred(&em, &f, &d), 0);
	ursa_deferred_succeed(&d, 4096);
	consumer_take(&c);
	drain();
	assert_int_equal(c.t.entry.val, 4096);
	/* The exit's union: ptr holds the same bits, not NULL. */
	assert_ptr_equal(c.t.entry.ptr, (void *)(intptr_t)4096);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

static void from_deferred_failure_ends_the_stream_there(void **state)
{
	struct ursa_deferred d1, d2;
	struct ursa_emit_from f1, f2;
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 8, URSA_EMIT_SUSPEND);
	ursa_emit_set_producer(&em, NULL, count_evict, 1);
	consumer_init(&c, &em, 0);
	ursa_deferred_init(&d1);
	ursa_deferred_init(&d2);
	ursa_emit_single(&em, 1);
	ursa_emit_from_deferred(&em, &f1, &d1);
	ursa_emit_single(&em, 3);
	ursa_emit_from_deferred(&em, &f2, &d2);
	ursa_emit_end(&em);
	ursa_deferred_fail(&d1, -ENOENT);
	drain();
	assert_true(ursa_emit_is_terminated(&em));
	/* 3 went through the evict callback; d2's reservation was let go. */
	assert_int_equal(nevicted, 1);
	assert_int_equal(evicted[0], 3);
	assert_false(ursa_waiter_is_pending(&f2.w));
	ursa_deferred_succeed(&d2, 4);
	take_all(&c);
	assert_int_equal(c.nitems, 1);
	assert_int_equal(c.items[0], 1);
	assert_int_equal(c.what[1], URSA_TAKE_ERROR);
	assert_int_equal(c.kind[1], URSA_EXIT_FAILURE);
	assert_int_equal(c.val[1], -ENOENT);
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

static void from_deferred_under_each_strategy_when_full(void **state)
{
	struct ursa_deferred d;
	struct ursa_emit_from f;
	size_t s;
	static const int want[] = { -EAGAIN, -ENOBUFS, -ENOBUFS, 0 };

	for (s = 0; s < 4; s++) {
		struct ursa_emit em;
		struct consumer c;

		setup(state);
		emit_new(&em, 1, strategies[s]);
		consumer_init(&c, &em, 0);
		ursa_deferred_init(&d);
		ursa_emit_single(&em, 1);
		/* Sliding does not evict for a reservation. */
		assert_int_equal(ursa_emit_from_deferred(&em, &f, &d), want[s]);
		ursa_deferred_succeed(&d, 2);
		ursa_emit_end(&em);
		take_all(&c);
		assert_int_equal(c.nitems, s == 3 ? 2 : 1);
		assert_int_equal(c.items[0], 1);
		ursa_emit_destroy(&em);
	}
}

static void a_cancel_releases_pending_reservations(void **state)
{
	struct ursa_deferred d;
	struct ursa_emit_from f;
	struct ursa_emit em;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	ursa_deferred_init(&d);
	ursa_emit_from_deferred(&em, &f, &d);
	assert_true(ursa_waiter_is_pending(&f.w));
	ursa_emit_cancel(&em);
	assert_false(ursa_waiter_is_pending(&f.w));
	assert_int_equal(ursa_emit_count(&em), 0);
	ursa_deferred_succeed(&d, 1);
	drain();
	assert_int_equal(fin_runs, 1);
	ursa_emit_destroy(&em);
}

/* ---- takes ---- */

static void a_take_is_never_run_inline(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	ursa_emit_single(&em, 1);
	assert_int_equal(consumer_take(&c), 0);
	assert_int_equal(consumer_take(&c), -EBUSY);
	assert_int_equal(c.n, 0);
	assert_true(ursa_take_is_pending(&c.t));
	drain();
	assert_int_equal(c.n, 1);
	assert_false(ursa_take_is_pending(&c.t));
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

static void batch_takes_everything_ready(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	struct ursa_emit_entry out[2];
	int i;

	emit_new(&em, 8, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 4);
	assert_int_equal(ursa_emit_take_batch(&em, &c.t, NULL, 4), -EINVAL);
	assert_int_equal(ursa_emit_take_batch(&em, &c.t, out, 0), -EINVAL);
	for (i = 0; i < 6; i++)
		ursa_emit_single(&em, i);
	ursa_emit_end(&em);
	take_all(&c);
	/* 4 (the batch's size), then 2, then the end. */
	assert_int_equal(c.n, 3);
	assert_int_equal(c.count[0], 4);
	assert_int_equal(c.count[1], 2);
	assert_int_equal(c.what[2], URSA_TAKE_END);
	for (i = 0; i < 6; i++)
		assert_int_equal(c.items[i], i);
	assert_int_equal(c.val[1], 4); /* exit: the first entry's value */
	ursa_emit_destroy(&em);
}

static void a_waiting_batch_take_gets_what_arrived(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 8, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 8);
	consumer_take(&c);
	drain();
	ursa_emit_single(&em, 1);
	ursa_emit_single(&em, 2);
	ursa_emit_single(&em, 3);
	drain();
	assert_int_equal(c.n, 1);
	assert_int_equal(c.count[0], 3);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

static void takers_are_served_in_order_and_each_entry_once(void **state)
{
	struct ursa_emit em;
	struct consumer c[3];
	int i, total = 0;

	emit_new(&em, 8, URSA_EMIT_SUSPEND);
	for (i = 0; i < 3; i++) {
		consumer_init(&c[i], &em, 0);
		consumer_take(&c[i]);
	}
	ursa_emit_single(&em, 10);
	ursa_emit_single(&em, 11);
	drain();
	assert_int_equal(c[0].n, 1);
	assert_int_equal(c[0].val[0], 10);
	assert_int_equal(c[1].n, 1);
	assert_int_equal(c[1].val[0], 11);
	assert_int_equal(c[2].n, 0);
	ursa_emit_end(&em);
	drain();
	assert_int_equal(c[2].what[0], URSA_TAKE_END);
	for (i = 0; i < 3; i++)
		total += c[i].nitems;
	assert_int_equal(total, 2);
	ursa_emit_destroy(&em);
}

static void a_cancelled_take_loses_no_entry(void **state)
{
	struct ursa_emit em;
	struct consumer a, b;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	consumer_init(&a, &em, 0);
	consumer_init(&b, &em, 0);
	consumer_take(&a);
	consumer_take(&b);
	ursa_emit_single(&em, 42);
	/* a was woken for 42 but has not run. */
	assert_true(ursa_emit_take_cancel(&em, &a.t));
	assert_false(ursa_emit_take_cancel(&em, &a.t));
	drain();
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.val[0], 42);

	/* Nobody behind: the entry stays for the next take. */
	consumer_take(&a);
	ursa_emit_single(&em, 43);
	ursa_emit_take_cancel(&em, &a.t);
	drain();
	assert_int_equal(ursa_emit_count(&em), 1);
	consumer_take(&b);
	drain();
	assert_int_equal(b.val[1], 43);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

static void a_take_woken_for_an_evicted_entry_waits_again(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 1, URSA_EMIT_SLIDING);
	consumer_init(&c, &em, 0);
	consumer_take(&c);
	ursa_emit_single(&em, 1); /* wakes c */
	ursa_emit_single(&em, 2); /* evicts 1 */
	drain();
	assert_int_equal(c.n, 1);
	assert_int_equal(c.val[0], 2);
	/* Cancel clears the buffer before the woken take runs. */
	consumer_take(&c);
	ursa_emit_single(&em, 3);
	ursa_emit_take_cancel(&em, &c.t);
	ursa_emit_cancel(&em);
	drain();
	assert_int_equal(c.n, 1);
	ursa_emit_destroy(&em);
}

struct task_consumer {
	struct ursa_emit *em;
	int64_t items[MAXSEEN];
	int nitems;
	int last;
	struct ursa_exit exit;
};

static struct ursa_exit task_consume(void *arg)
{
	struct task_consumer *tc = arg;
	struct ursa_emit_entry e;
	int ret;

	while ((ret = ursa_await_emit_take(tc->em, &e, &tc->exit)) ==
	       URSA_TAKE_ELEMENT)
		tc->items[tc->nitems++] = e.val;
	tc->last = ret;
	return ursa_exit_success(0);
}

struct task_producer {
	struct ursa_emit *em;
	int n;
	int waits;
	int ret;
};

/* Emit.single's promise: wait for room instead of gating. */
static struct ursa_exit task_produce(void *arg)
{
	struct task_producer *tp = arg;
	int i, ret;

	for (i = 0; i < tp->n; i++) {
		while ((ret = ursa_emit_single(tp->em, i)) == -EAGAIN) {
			tp->waits++;
			ret = ursa_await_emit_room(tp->em);
			if (ret)
				break;
		}
		if (ret) {
			tp->ret = ret;
			return ursa_exit_failure(ret);
		}
	}
	tp->ret = ursa_emit_end(tp->em);
	return ursa_exit_success(0);
}

static void a_task_producer_and_a_task_consumer(void **state)
{
	struct task_consumer tc = { 0 };
	struct task_producer tp = { 0 };
	struct ursa_task *a, *b;
	struct ursa_emit em;
	int i;

	emit_new(&em, 2, URSA_EMIT_SUSPEND);
	tc.em = &em;
	tp.em = &em;
	tp.n = 40;
	a = ursa_task_spawn(&rq, task_produce, &tp, NULL);
	b = ursa_task_spawn(&rq, task_consume, &tc, NULL);
	assert_false(IS_ERR(a));
	assert_false(IS_ERR(b));
	drain();
	assert_int_equal(tp.ret, 0);
	assert_true(tp.waits > 0);
	assert_int_equal(tc.nitems, 40);
	for (i = 0; i < 40; i++)
		assert_int_equal(tc.items[i], i);
	assert_int_equal(tc.last, URSA_TAKE_END);
	assert_int_equal(fin_runs, 1);
	ursa_task_release(a);
	ursa_task_release(b);
	ursa_emit_destroy(&em);
}

static void a_task_consumer_sees_the_failure(void **state)
{
	struct task_consumer tc = { 0 };
	struct ursa_task *b;
	struct ursa_emit em;

	emit_new(&em, 0, URSA_EMIT_SUSPEND);
	tc.em = &em;
	b = ursa_task_spawn(&rq, task_consume, &tc, NULL);
	drain();
	ursa_emit_single(&em, 5);
	ursa_emit_die(&em, -EBADF);
	drain();
	assert_int_equal(tc.nitems, 1);
	assert_int_equal(tc.last, URSA_TAKE_ERROR);
	assert_int_equal(tc.exit.kind, URSA_EXIT_DIE);
	assert_int_equal(tc.exit.err, -EBADF);
	ursa_task_release(b);
	ursa_emit_destroy(&em);
}

static void a_task_waiting_for_room_gets_epipe_on_cancel(void **state)
{
	struct task_producer tp = { 0 };
	struct ursa_task *a;
	struct ursa_emit em;

	emit_new(&em, 1, URSA_EMIT_SUSPEND);
	tp.em = &em;
	tp.n = 5;
	a = ursa_task_spawn(&rq, task_produce, &tp, NULL);
	drain();
	assert_int_equal(tp.waits, 1);
	ursa_emit_cancel(&em);
	drain();
	assert_int_equal(tp.ret, -EPIPE);
	assert_int_equal(fin_runs, 1);
	ursa_task_release(a);
	ursa_emit_destroy(&em);
}

/* ---- gating ---- */

struct room {
	struct ursa_waiter w;
	int runs;
	struct ursa_exit e;
};

static void room_fn(struct ursa_waiter *w, const struct ursa_exit *e)
{
	struct room *r = ursa_container_of(w, struct room, w);

	r->runs++;
	r->e = *e;
}

static void await_room_waits_for_a_pull(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	struct room r = { 0 };

	emit_new(&em, 2, URSA_EMIT_SUSPEND);
	consumer_init(&c, &em, 0);
	ursa_waiter_init(&r.w, &rq, room_fn);
	assert_int_equal(ursa_emit_await_room(&em, &r.w), 0);
	assert_int_equal(r.runs, 0); /* not inline */
	drain();
	assert_int_equal(r.runs, 1);
	assert_int_equal(r.e.kind, URSA_EXIT_SUCCESS);
	ursa_emit_single(&em, 1);
	ursa_emit_single(&em, 2);
	assert_int_equal(ursa_emit_await_room(&em, &r.w), 0);
	assert_int_equal(ursa_emit_await_room(&em, &r.w), -EBUSY);
	drain();
	assert_int_equal(r.runs, 1);
	consumer_take(&c);
	drain();
	assert_int_equal(r.runs, 2);
	assert_int_equal(r.e.kind, URSA_EXIT_SUCCESS);
	/* A waiter when the stream ends gets FAILURE(-EPIPE). */
	ursa_emit_single(&em, 3);
	ursa_emit_await_room(&em, &r.w);
	ursa_emit_end(&em);
	drain();
	assert_int_equal(r.runs, 3);
	assert_int_equal(r.e.kind, URSA_EXIT_FAILURE);
	assert_int_equal(r.e.err, -EPIPE);
	ursa_emit_await_room(&em, &r.w);
	drain();
	assert_int_equal(r.runs, 4);
	assert_int_equal(r.e.err, -EPIPE);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

/*
 * The buffer tells the producer it turned full (-EAGAIN, is_full), and
 * calls it back from the run queue, once, when a consumer has drained it
 * to the low watermark.
 */
static void the_drain_callback_runs_at_the_low_watermark(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 8, URSA_EMIT_SUSPEND);
	assert_int_equal(ursa_emit_set_producer(&em, count_drain, NULL, 3), 0);
	consumer_init(&c, &em, 0);
	for (i = 0; i < 8; i++) {
		assert_false(ursa_emit_is_full(&em));
		assert_int_equal(ursa_emit_single(&em, i), 0);
	}
	assert_true(ursa_emit_is_full(&em));
	assert_int_equal(ursa_emit_single(&em, 8), -EAGAIN);
	assert_int_equal(ursa_emit_single(&em, 8), -EAGAIN);
	/* Take down to 4: above the watermark, no callback. */
	for (i = 0; i < 4; i++) {
		consumer_take(&c);
		drain();
	}
	assert_int_equal(ursa_emit_count(&em), 4);
	assert_int_equal(drain_runs, 0);
	/* The 5th take reaches 3: one callback, from the run queue. */
	consumer_take(&c);
	drain();
	assert_int_equal(drain_runs, 1);
	assert_int_equal(drain_count_seen, 3);
	/* Further takes owe nothing more. */
	consumer_take(&c);
	drain();
	assert_int_equal(drain_runs, 1);
	ursa_emit_cancel(&em);
	drain();
	assert_int_equal(drain_runs, 1);
	ursa_emit_destroy(&em);
}

static void no_drain_callback_without_a_refusal(void **state)
{
	struct ursa_emit em;
	struct consumer c;
	int i;

	emit_new(&em, 4, URSA_EMIT_SUSPEND);
	ursa_emit_set_producer(&em, count_drain, NULL, 1);
	consumer_init(&c, &em, 4);
	for (i = 0; i < 4; i++)
		ursa_emit_single(&em, i);
	consumer_take(&c);
	drain();
	assert_int_equal(c.count[0], 4);
	assert_int_equal(drain_runs, 0);
	ursa_emit_cancel(&em);
	drain();
	ursa_emit_destroy(&em);
}

static void the_drain_callback_is_not_run_after_the_end(void **state)
{
	struct ursa_emit em;
	struct consumer c;

	emit_new(&em, 2, URSA_EMIT_SUSPEND);
	ursa_emit_set_producer(&em, count_drain, NULL, 1);
	consumer_init(&c, &em, 0);
	ursa_emit_single(&em, 1);
	ursa_emit_single(&em, 2);
	assert_int_equal(ursa_emit_single(&em, 3), -EAGAIN);
	consumer_take(&c);
	/* Queued by the pull, then the stream ends before it runs. */
	rq.budget = 1;
	ursa_runq_run(&rq);
	rq.budget = URSA_RUNQ_DEFAULT_BUDGET;
	assert_int_equal(c.n, 1);
	assert_true(ursa_runq_has_work(&rq));
	ursa_emit_end(&em);
	drain();
	assert_int_equal(drain_runs, 0);
	take_all(&c);
	assert_int_equal(c.nitems, 2);
	ursa_emit_destroy(&em);
}

/* A producer that resumes from the drain callback loses nothing. */
struct gated {
	struct ursa_emit em;
	int next, n;
	int pauses;
};

static void gated_pump(struct gated *g)
{
	while (g->next < g->n) {
		int ret = ursa_emit_single(&g->em, g->next);

		if (ret == -EAGAIN) {
			g->pauses++;
			return;
		}
		assert_int_equal(ret, 0);
		g->next++;
	}
	ursa_emit_end(&g->em);
}

static void gated_drain(struct ursa_emit *em)
{
	gated_pump(em->data);
}

static void a_gated_producer_resumes_from_the_drain_callback(void **state)
{
	static struct gated g;
	struct consumer c;
	int i;

	memset(&g, 0, sizeof(g));
	emit_new(&g.em, 4, URSA_EMIT_SUSPEND);
	g.em.data = &g;
	g.n = 50;
	ursa_emit_set_producer(&g.em, gated_drain, NULL, 2);
	consumer_init(&c, &g.em, 3);
	gated_pump(&g);
	assert_int_equal(g.pauses, 1);
	take_all(&c);
	assert_int_equal(c.nitems, 50);
	for (i = 0; i < 50; i++)
		assert_int_equal(c.items[i], i);
	assert_true(g.pauses > 5);
	assert_int_equal(c.what[c.n - 1], URSA_TAKE_END);
	ursa_emit_destroy(&g.em);
}

static void destroy_hands_back_buffered_entries(void **state)
{
	struct ursa_deferred d;
	struct ursa_emit_from f;
	struct ursa_emit em;

	emit_new(&em, 4, URSA_EMIT_SUSPEND);
	ursa_emit_set_producer(&em, count_drain, count_evict, 1);
	ursa_deferred_init(&d);
	ursa_emit_single(&em, 1);
	ursa_emit_from_deferred(&em, &f, &d);
	ursa_emit_single(&em, 2);
	ursa_emit_destroy(&em);
	assert_int_equal(nevicted, 2);
	assert_false(ursa_waiter_is_pending(&f.w));
	assert_int_equal(fin_runs, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(init_checks_its_arguments),
		T(the_default_capacity_is_16),
		T(five_emits_are_taken_in_order),
		T(end_gives_an_empty_stream),
		T(a_failure_gives_that_failure),
		T(die_gives_a_defect),
		T(halt_takes_any_failure_exit),
		T(cancel_runs_the_finalizer_and_evicts),
		T(backpressure_with_buffer_5),
		T(single_then_end_in_a_buffer_of_one),
		T(single_then_fail_in_a_buffer_of_one),
		T(dropping_keeps_the_first_sliding_the_last),
		T(emit_after_end_is_refused),
		T(done_success_emits_then_ends),
		T(done_failure_halts),
		T(suspend_answers_eagain_and_keeps_everything),
		T(dropping_refuses_new_entries_but_never_the_end),
		T(sliding_evicts_the_oldest_data_never_the_end),
		T(sliding_with_chunks_does_not_duplicate),
		T(unbounded_never_refuses),
		T(chunks_keep_pointer_length_and_tag),
		T(the_terminal_signal_persists_for_every_take),
		T(the_finalizer_runs_once_for_every_ending),
		T(from_deferred_keeps_emit_order),
		T(from_deferred_carries_a_pointer),
		T(from_deferred_integer_is_in_val_and_ptr),
		T(from_deferred_failure_ends_the_stream_there),
		T(from_deferred_under_each_strategy_when_full),
		T(a_cancel_releases_pending_reservations),
		T(a_take_is_never_run_inline),
		T(batch_takes_everything_ready),
		T(a_waiting_batch_take_gets_what_arrived),
		T(takers_are_served_in_order_and_each_entry_once),
		T(a_cancelled_take_loses_no_entry),
		T(a_take_woken_for_an_evicted_entry_waits_again),
		T(a_task_producer_and_a_task_consumer),
		T(a_task_consumer_sees_the_failure),
		T(a_task_waiting_for_room_gets_epipe_on_cancel),
		T(await_room_waits_for_a_pull),
		T(the_drain_callback_runs_at_the_low_watermark),
		T(no_drain_callback_without_a_refusal),
		T(the_drain_callback_is_not_run_after_the_end),
		T(a_gated_producer_resumes_from_the_drain_callback),
		T(destroy_hands_back_buffered_entries),
	};

	return cmocka_run_group_tests_name("emit", tests, NULL, NULL);
}
