// SPDX-License-Identifier: MIT
/*
 * Unit tests of the single-producer input: the upstream cases of
 * SingleProducerAsyncInput adapted to C, and one test per row where ursa
 * deliberately differs from Effect's code (see
 * docs/effect-differences.md).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ursa/err.h>
#include <ursa/input.h>
#include <ursa/task.h>

static struct ursa_runq rq;

struct consumer {
	struct ursa_take t;
	int what[16];
	int64_t val[16];
	int n;
	int again; /* take again from the callback this many times */
	struct ursa_input *in;
};

static void consumer_fn(struct ursa_take *t)
{
	struct consumer *c = ursa_container_of(t, struct consumer, t);

	assert_true(c->n < 16);
	c->what[c->n] = t->what;
	c->val[c->n] = t->what == URSA_TAKE_ERROR ? t->exit.err : t->exit.val;
	c->n++;
	if (c->again > 0) {
		c->again--;
		assert_int_equal(ursa_input_take(c->in, t), 0);
	}
}

static void consumer_init(struct consumer *c, struct ursa_input *in)
{
	ursa_take_init(&c->t, &rq, consumer_fn);
	c->n = 0;
	c->again = 0;
	c->in = in;
}

static void drain(void)
{
	ursa_runq_drain(&rq, 0);
}

static int setup(void **state)
{
	ursa_runq_init(&rq, 0);
	return 0;
}

static int teardown(void **state)
{
	assert_false(ursa_runq_has_work(&rq));
	return 0;
}

static void an_emit_goes_to_the_waiting_consumer(void **state)
{
	struct ursa_input in;
	struct ursa_deferred taken;
	struct consumer c;

	ursa_input_init(&in);
	ursa_deferred_init(&taken);
	consumer_init(&c, &in);
	assert_int_equal(ursa_input_take(&in, &c.t), 0);
	assert_int_equal(ursa_input_emit(&in, 5, &taken), 0);
	/* Never inline: neither the consumer nor the producer ran yet. */
	assert_int_equal(c.n, 0);
	assert_false(ursa_deferred_is_done(&taken));
	drain();
	assert_int_equal(c.n, 1);
	assert_int_equal(c.what[0], URSA_TAKE_ELEMENT);
	assert_int_equal(c.val[0], 5);
	assert_true(ursa_deferred_is_done(&taken));
}

/* Upstream reads "emit 1, emit 2, done" back as 1, Done, Done. */
static void emit_then_done_with_no_consumer_yet(void **state)
{
	struct ursa_input in;
	struct consumer c;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	assert_int_equal(ursa_input_emit(&in, 1, NULL), 0);
	/* differs: the second emit is refused, not silently dropped. */
	assert_int_equal(ursa_input_emit(&in, 2, NULL), -EBUSY);
	assert_int_equal(ursa_input_done(&in, 9), 0);
	c.again = 2;
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.n, 3);
	assert_int_equal(c.what[0], URSA_TAKE_ELEMENT);
	assert_int_equal(c.val[0], 1);
	assert_int_equal(c.what[1], URSA_TAKE_END);
	assert_int_equal(c.val[1], 9);
	assert_int_equal(c.what[2], URSA_TAKE_END);
}

static void an_emit_without_a_consumer_waits_in_the_slot(void **state)
{
	struct ursa_input in;
	struct ursa_deferred taken;
	struct consumer c;

	ursa_input_init(&in);
	ursa_deferred_init(&taken);
	consumer_init(&c, &in);
	assert_int_equal(ursa_input_emit(&in, 7, &taken), 0);
	assert_true(ursa_input_is_full(&in));
	drain();
	assert_false(ursa_deferred_is_done(&taken));
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.val[0], 7);
	assert_true(ursa_deferred_is_done(&taken));
	assert_false(ursa_input_is_full(&in));
	/* The slot is free again. */
	assert_int_equal(ursa_input_emit(&in, 8, NULL), 0);
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.val[1], 8);
}

static void the_terminal_state_persists_over_five_takes(void **state)
{
	struct ursa_input in;
	struct consumer c;
	int i;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_input_done(&in, 3);
	c.again = 4;
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c.what[i], URSA_TAKE_END);
		assert_int_equal(c.val[i], 3);
	}
}

static void an_error_is_broadcast_to_every_waiting_consumer(void **state)
{
	struct ursa_exit e = ursa_exit_failure(-ECONNRESET);
	struct ursa_input in;
	struct consumer c[3], late;
	int i;

	ursa_input_init(&in);
	for (i = 0; i < 3; i++) {
		consumer_init(&c[i], &in);
		ursa_input_take(&in, &c[i].t);
	}
	assert_int_equal(ursa_input_error(&in, &e), 0);
	drain();
	for (i = 0; i < 3; i++) {
		assert_int_equal(c[i].n, 1);
		assert_int_equal(c[i].what[0], URSA_TAKE_ERROR);
		assert_int_equal(c[i].val[0], -ECONNRESET);
	}
	consumer_init(&late, &in);
	ursa_input_take(&in, &late.t);
	drain();
	assert_int_equal(late.what[0], URSA_TAKE_ERROR);
}

static void emit_done_or_error_after_the_end_is_refused(void **state)
{
	struct ursa_exit e = ursa_exit_failure(-EIO);
	struct ursa_input in;
	struct consumer c;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_input_done(&in, 1);
	/* differs: -EPIPE, and nothing changes (upstream interrupts). */
	assert_int_equal(ursa_input_emit(&in, 2, NULL), -EPIPE);
	assert_int_equal(ursa_input_done(&in, 3), -EPIPE);
	assert_int_equal(ursa_input_error(&in, &e), -EPIPE);
	assert_int_equal(ursa_input_close(&in), -EPIPE);
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.what[0], URSA_TAKE_END);
	assert_int_equal(c.val[0], 1);
}

static void an_element_in_the_slot_is_delivered_before_an_error(void **state)
{
	struct ursa_exit e = ursa_exit_die(-EFAULT);
	struct ursa_input in;
	struct consumer c;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_input_emit(&in, 11, NULL);
	ursa_input_error(&in, &e);
	c.again = 1;
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.what[0], URSA_TAKE_ELEMENT);
	assert_int_equal(c.val[0], 11);
	assert_int_equal(c.what[1], URSA_TAKE_ERROR);
	assert_int_equal(c.val[1], -EFAULT);
}

static void consumers_are_served_longest_waiting_first(void **state)
{
	struct ursa_input in;
	struct consumer c[3];
	int i;

	ursa_input_init(&in);
	for (i = 0; i < 3; i++) {
		consumer_init(&c[i], &in);
		ursa_input_take(&in, &c[i].t);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(ursa_input_emit(&in, 100 + i, NULL), 0);
		drain();
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(c[i].n, 1);
		assert_int_equal(c[i].val[0], 100 + i);
	}
}

static void a_cancelled_take_that_was_woken_loses_no_element(void **state)
{
	struct ursa_input in;
	struct consumer a, b;

	ursa_input_init(&in);
	consumer_init(&a, &in);
	consumer_init(&b, &in);
	ursa_input_take(&in, &a.t);
	ursa_input_take(&in, &b.t);
	ursa_input_emit(&in, 42, NULL);
	/* a is woken for 42 but has not run: cancel it. */
	assert_true(ursa_input_take_cancel(&in, &a.t));
	assert_false(ursa_input_take_cancel(&in, &a.t));
	drain();
	/* differs: upstream loses the element into the dead slot. */
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.val[0], 42);
}

static void a_cancelled_take_with_nobody_behind_leaves_the_element(void **state)
{
	struct ursa_input in;
	struct consumer a, b;

	ursa_input_init(&in);
	consumer_init(&a, &in);
	consumer_init(&b, &in);
	ursa_input_take(&in, &a.t);
	ursa_input_emit(&in, 5, NULL);
	ursa_input_take_cancel(&in, &a.t);
	ursa_input_done(&in, 0);
	drain();
	b.again = 1;
	ursa_input_take(&in, &b.t);
	drain();
	assert_int_equal(b.what[0], URSA_TAKE_ELEMENT);
	assert_int_equal(b.val[0], 5);
	assert_int_equal(b.what[1], URSA_TAKE_END);
}

/*
 * Cancelling waiting takes, the oldest (which waits apart from the rest),
 * one in the middle and the last, keeps the others in line; a take that
 * comes later waits behind them.
 */
static void cancelled_waiting_takes_keep_the_line(void **state)
{
	struct ursa_input in;
	struct consumer c[5];
	int i;

	ursa_input_init(&in);
	for (i = 0; i < 4; i++) {
		consumer_init(&c[i], &in);
		assert_int_equal(ursa_input_take(&in, &c[i].t), 0);
	}
	assert_true(ursa_input_take_cancel(&in, &c[0].t));
	assert_false(ursa_take_is_pending(&c[0].t));
	assert_true(ursa_input_take_cancel(&in, &c[2].t));
	consumer_init(&c[4], &in);
	assert_int_equal(ursa_input_take(&in, &c[4].t), 0);
	assert_true(ursa_input_take_cancel(&in, &c[4].t));
	assert_int_equal(ursa_input_take(&in, &c[4].t), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ursa_input_emit(&in, 10 + i, NULL), 0);
		drain();
	}
	assert_int_equal(c[0].n, 0);
	assert_int_equal(c[2].n, 0);
	assert_int_equal(c[1].val[0], 10);
	assert_int_equal(c[3].val[0], 11);
	assert_int_equal(c[4].val[0], 12);
	/* The oldest cancelled while alone: the next take is the oldest. */
	assert_int_equal(ursa_input_take(&in, &c[0].t), 0);
	assert_true(ursa_input_take_cancel(&in, &c[0].t));
	assert_int_equal(ursa_input_take(&in, &c[2].t), 0);
	assert_int_equal(ursa_input_take(&in, &c[0].t), 0);
	assert_int_equal(ursa_input_emit(&in, 20, NULL), 0);
	drain();
	assert_int_equal(c[2].n, 1);
	assert_int_equal(c[2].val[0], 20);
	assert_int_equal(c[0].n, 0);
	ursa_input_take_cancel(&in, &c[0].t);
}

/* done with several takes waiting: each gets END, oldest first. */
static void done_ends_every_waiting_take_in_order(void **state)
{
	struct ursa_input in;
	struct consumer c[3];
	struct ursa_take *order[3];
	struct ursa_list_head *n = &rq.queue;
	int i;

	ursa_input_init(&in);
	for (i = 0; i < 3; i++) {
		consumer_init(&c[i], &in);
		ursa_input_take(&in, &c[i].t);
	}

	assert_int_equal(ursa_input_done(&in, 9), 0);
	/* Queued oldest first. */
	for (i = 0; i < 3; i++) {
		n = n->next;
		order[i] = ursa_container_of(n, struct ursa_take, work.node);
	}
	assert_ptr_equal(n->next, &rq.queue);
	drain();
	for (i = 0; i < 3; i++) {
		assert_ptr_equal(order[i], &c[i].t);
		assert_int_equal(c[i].n, 1);
		assert_int_equal(c[i].what[0], URSA_TAKE_END);
		assert_int_equal(c[i].val[0], 9);
	}
}

/* Emits with two waiters in turn, one per run queue. */
struct two_producer {
	struct ursa_waiter w[2];
	struct ursa_input *in;
	int next, last, runs[2];
};

static void two_producer_fn(struct ursa_waiter *w, const struct ursa_exit *e)
{
	int k = w->rq != &rq;
	struct two_producer *p =
		k ? ursa_container_of(w, struct two_producer, w[1]) :
		    ursa_container_of(w, struct two_producer, w[0]);

	p->runs[k]++;
	if (p->next <= p->last)
		assert_int_equal(
			ursa_input_emit_notify(p->in, p->next++, &p->w[!k]), 0);
}

/*
 * A notify chain whose producer runs now from the take's run queue, now
 * from another: the take's loop runs the first inline, and queues the
 * second on its own queue, leaving the take's empty and sound.
 */
static void a_notify_chain_across_two_run_queues(void **state)
{
	struct ursa_runq rq2;
	struct ursa_input in;
	struct two_producer p;
	struct consumer c;
	int i, rounds = 0;

	ursa_runq_init(&rq2, 0);
	ursa_input_init(&in);
	consumer_init(&c, &in);
	c.again = 5;
	ursa_waiter_init(&p.w[0], &rq, two_producer_fn);
	ursa_waiter_init(&p.w[1], &rq2, two_producer_fn);
	p.in = &in;
	p.next = 1;
	p.last = 6;
	p.runs[0] = p.runs[1] = 0;
	assert_int_equal(ursa_input_take(&in, &c.t), 0);
	/* Element 1 with w[0], 2 with w[1], and so on. */
	two_producer_fn(&p.w[1], NULL);
	p.runs[1] = 0;
	while (ursa_runq_has_work(&rq) || ursa_runq_has_work(&rq2)) {
		assert_true(++rounds < 100);
		ursa_runq_run(&rq);
		/*
		 * Two elements per round, the first producer's run between
		 * them; the second waits on its own queue.
		 */
		assert_int_equal(c.n, 2 * rounds);
		assert_false(ursa_runq_has_work(&rq));
		assert_true(ursa_runq_has_work(&rq2));
		ursa_runq_run(&rq2);
	}
	assert_int_equal(c.n, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(c.what[i], URSA_TAKE_ELEMENT);
		assert_int_equal(c.val[i], i + 1);
	}
	assert_int_equal(p.runs[0], 3);
	assert_int_equal(p.runs[1], 3);
}

static void a_pending_take_is_busy(void **state)
{
	struct ursa_input in;
	struct consumer a;

	ursa_input_init(&in);
	consumer_init(&a, &in);
	assert_int_equal(ursa_input_take(&in, &a.t), 0);
	assert_int_equal(ursa_input_take(&in, &a.t), -EBUSY);
	assert_true(ursa_take_is_pending(&a.t));
	ursa_input_take_cancel(&in, &a.t);
	assert_false(ursa_take_is_pending(&a.t));
}

struct reader {
	struct ursa_waiter w;
	int runs;
};

static void reader_fn(struct ursa_waiter *w, const struct ursa_exit *e)
{
	struct reader *r = ursa_container_of(w, struct reader, w);

	assert_int_equal(e->kind, URSA_EXIT_SUCCESS);
	r->runs++;
}

static void await_read_returns_once_a_consumer_waits(void **state)
{
	struct ursa_input in;
	struct reader r;
	struct consumer c;

	ursa_input_init(&in);
	ursa_waiter_init(&r.w, &rq, reader_fn);
	r.runs = 0;
	consumer_init(&c, &in);
	assert_int_equal(ursa_input_await_read(&in, &r.w), 0);
	drain();
	assert_int_equal(r.runs, 0);
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(r.runs, 1);
	/* A consumer still waits: the next await_read returns at once. */
	ursa_input_await_read(&in, &r.w);
	assert_int_equal(r.runs, 1);
	drain();
	assert_int_equal(r.runs, 2);
	ursa_input_emit(&in, 1, NULL);
	drain();
	ursa_input_await_read(&in, &r.w);
	ursa_input_close(&in);
	drain();
	assert_int_equal(r.runs, 3);
}

static void close_interrupts_every_consumer(void **state)
{
	struct ursa_input in;
	struct consumer c;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_input_take(&in, &c.t);
	assert_int_equal(ursa_input_close(&in), 0);
	drain();
	assert_int_equal(c.what[0], URSA_TAKE_ERROR);
	assert_int_equal(c.t.exit.kind, URSA_EXIT_INTERRUPT);
	assert_int_equal(c.t.exit.id, 0);
	assert_true(ursa_input_is_terminal(&in));
}

static void error_refuses_a_success_exit(void **state)
{
	struct ursa_exit ok = ursa_exit_success(1);
	struct ursa_input in;

	ursa_input_init(&in);
	assert_int_equal(ursa_input_error(&in, &ok), -EINVAL);
	assert_false(ursa_input_is_terminal(&in));
}

static int tw_calls[3];

static void tw_error(struct ursa_take_with *tw, const struct ursa_exit *e)
{
	tw_calls[0]++;
}

static void tw_element(struct ursa_take_with *tw, const struct ursa_exit *e)
{
	tw_calls[1] += (int)e->val;
}

static void tw_done(struct ursa_take_with *tw, const struct ursa_exit *e)
{
	tw_calls[2]++;
}

static void take_with_calls_exactly_one_callback(void **state)
{
	struct ursa_exit err = ursa_exit_failure(-EIO);
	struct ursa_take_with tw = { 0 };
	struct ursa_input in, in2;

	tw_calls[0] = tw_calls[1] = tw_calls[2] = 0;
	ursa_input_init(&in);
	assert_int_equal(ursa_input_take_with(&in, &tw, &rq, tw_error,
					      tw_element, NULL),
			 -EINVAL);
	ursa_input_take_with(&in, &tw, &rq, tw_error, tw_element, tw_done);
	ursa_input_emit(&in, 10, NULL);
	drain();
	ursa_input_take_with(&in, &tw, &rq, tw_error, tw_element, tw_done);
	ursa_input_done(&in, 0);
	drain();
	ursa_input_init(&in2);
	ursa_input_error(&in2, &err);
	ursa_input_take_with(&in2, &tw, &rq, tw_error, tw_element, tw_done);
	drain();
	assert_int_equal(tw_calls[0], 1);
	assert_int_equal(tw_calls[1], 10);
	assert_int_equal(tw_calls[2], 1);
}

static void the_producer_waits_for_each_hand_off(void **state)
{
	/* A producer that emits only after each taken deferred: backpressure. */
	struct ursa_deferred taken;
	struct ursa_input in;
	struct consumer c;
	int i, sent = 0;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_deferred_init(&taken);
	for (i = 0; i < 10; i++) {
		int ret = ursa_input_emit(&in, i, &taken);

		if (ret == -EBUSY) {
			/* The consumer has not taken the last one yet. */
			ursa_input_take(&in, &c.t);
			drain();
			assert_true(ursa_deferred_is_done(&taken));
			ursa_deferred_init(&taken);
			assert_int_equal(ursa_input_emit(&in, i, &taken), 0);
		}
		sent++;
	}
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(sent, 10);
	assert_int_equal(c.n, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(c.val[i], i);
}

/*
 * "simple concurrent reads" (Channel/reading.test.ts): 128 random ints go
 * through one input to two consumers; each is seen exactly once, none
 * missing and none extra. Producer and consumers are tasks, as upstream's
 * are fibers.
 */
#define NR_READS 128

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

struct reads {
	struct ursa_input in;
	int64_t data[NR_READS];
	int64_t seen[2][NR_READS + 1];
	int nseen[2];
	int ends[2];
	int producer_ret;
	int add; /* what a nested consumer adds to each element */
};

static void reads_init(struct reads *r, unsigned int seed)
{
	int i;

	memset(r, 0, sizeof(*r));
	ursa_input_init(&r->in);
	for (i = 0; i < NR_READS; i++)
		r->data[i] = (int64_t)rand_r(&seed) - RAND_MAX / 2;
}

/* Every element exactly once, from the two consumers together. */
static void reads_check(struct reads *r)
{
	int64_t want[NR_READS], got[NR_READS];
	int i, n = 0, c;

	for (c = 0; c < 2; c++) {
		assert_int_equal(r->ends[c], 1);
		for (i = 0; i < r->nseen[c]; i++) {
			assert_true(n < NR_READS);
			got[n++] = r->seen[c][i];
		}
	}
	assert_int_equal(n, NR_READS);
	for (i = 0; i < NR_READS; i++)
		want[i] = r->data[i] + r->add;
	qsort(want, NR_READS, sizeof(want[0]), cmp_i64);
	qsort(got, NR_READS, sizeof(got[0]), cmp_i64);
	for (i = 0; i < NR_READS; i++)
		assert_int_equal(got[i], want[i]);
}

static struct reads *task_reads;

static struct ursa_exit reads_producer(void *arg)
{
	struct reads *r = arg;
	int i, ret;

	for (i = 0; i < NR_READS; i++) {
		ret = ursa_await_input_emit(&r->in, r->data[i]);
		if (ret) {
			r->producer_ret = ret;
			return ursa_exit_failure(ret);
		}
	}
	r->producer_ret = ursa_input_done(&r->in, 0);
	return ursa_exit_success(0);
}

static struct ursa_exit reads_consumer(void *arg)
{
	int c = (int)(intptr_t)arg;
	struct reads *r = task_reads;
	struct ursa_exit e;
	int what;

	while ((what = ursa_await_input_take(&r->in, &e)) ==
	       URSA_TAKE_ELEMENT) {
		assert_true(r->nseen[c] < NR_READS);
		r->seen[c][r->nseen[c]++] = e.val;
		/* Let the other consumer in. */
		ursa_task_yield();
	}
	assert_int_equal(what, URSA_TAKE_END);
	r->ends[c]++;
	return ursa_exit_success(0);
}

static void simple_concurrent_reads(void **state)
{
	static struct reads r;
	unsigned int seed = 0x5eed0128u;
	struct ursa_task *t[3];
	int i;

	reads_init(&r, seed);
	task_reads = &r;
	t[0] = ursa_task_spawn(&rq, reads_consumer, (void *)(intptr_t)0, NULL);
	t[1] = ursa_task_spawn(&rq, reads_consumer, (void *)(intptr_t)1, NULL);
	t[2] = ursa_task_spawn(&rq, reads_producer, &r, NULL);
	for (i = 0; i < 3; i++)
		assert_false(IS_ERR(t[i]));
	drain();
	for (i = 0; i < 3; i++)
		ursa_task_release(t[i]);
	drain();
	assert_int_equal(r.producer_ret, 0);
	reads_check(&r);
	/* Both consumers did their share. */
	assert_true(r.nseen[0] > 0);
	assert_true(r.nseen[1] > 0);
}

/*
 * "nested concurrent reads": the consumers are callbacks that map each
 * element (n + 1) and take again from inside their own callback, and the
 * producer is a callback chain that emits the next element from the
 * waiter on the previous one's taken deferred.
 */
struct nested_consumer {
	struct ursa_take t;
	struct reads *r;
	int c;
};

static void nested_fn(struct ursa_take *t)
{
	struct nested_consumer *nc =
		ursa_container_of(t, struct nested_consumer, t);
	struct reads *r = nc->r;

	if (t->what != URSA_TAKE_ELEMENT) {
		assert_int_equal(t->what, URSA_TAKE_END);
		r->ends[nc->c]++;
		return;
	}
	assert_true(r->nseen[nc->c] < NR_READS);
	r->seen[nc->c][r->nseen[nc->c]++] = t->exit.val + r->add;
	assert_int_equal(ursa_input_take(&r->in, t), 0);
}

struct chain {
	struct ursa_waiter w;
	struct ursa_deferred taken;
	struct reads *r;
	int next;
};

static void chain_emit(struct chain *ch)
{
	struct reads *r = ch->r;

	if (ch->next == NR_READS) {
		r->producer_ret = ursa_input_done(&r->in, 0);
		return;
	}
	ursa_deferred_init(&ch->taken);
	r->producer_ret =
		ursa_input_emit(&r->in, r->data[ch->next++], &ch->taken);
	assert_int_equal(r->producer_ret, 0);
	assert_int_equal(ursa_deferred_await(&ch->taken, &ch->w), 0);
}

static void chain_fn(struct ursa_waiter *w, const struct ursa_exit *e)
{
	assert_int_equal(e->kind, URSA_EXIT_SUCCESS);
	chain_emit(ursa_container_of(w, struct chain, w));
}

static void nested_concurrent_reads(void **state)
{
	static struct reads r;
	struct nested_consumer nc[2];
	struct chain ch;
	int i;

	reads_init(&r, 0xc0ffeeu);
	r.add = 1;
	for (i = 0; i < 2; i++) {
		ursa_take_init(&nc[i].t, &rq, nested_fn);
		nc[i].r = &r;
		nc[i].c = i;
		assert_int_equal(ursa_input_take(&r.in, &nc[i].t), 0);
	}
	ursa_waiter_init(&ch.w, &rq, chain_fn);
	ch.r = &r;
	ch.next = 0;
	chain_emit(&ch);
	drain();
	assert_int_equal(r.producer_ret, 0);
	reads_check(&r);
	/* Longest-waiting first: the two consumers alternate. */
	assert_int_equal(r.nseen[0], NR_READS / 2);
	assert_int_equal(r.nseen[1], NR_READS / 2);
	assert_int_equal(r.seen[0][0], r.data[0] + 1);
	assert_int_equal(r.seen[1][0], r.data[1] + 1);
}

/*
 * A callback hand-off chain (a consumer that takes again from its
 * callback, a producer that emits from its waiter on the "taken"
 * deferred) runs in the run queue's FIFO order and within its budget,
 * step by step, whoever runs the steps. Each step is logged: 'c' the
 * consumer, 'p' the producer, 'x' an unrelated work item the consumer
 * queues after every element.
 */
#define CHAIN_N 4

struct chain2 {
	struct ursa_input in;
	struct ursa_take t;
	struct ursa_waiter w;
	struct ursa_deferred taken;
	struct ursa_work x;
	int next, queue_x, cancel_w;
	bool notify; /* emit_notify(), not a deferred */
	char log[64];
	int nlog;
};

static void chain2_log(struct chain2 *ch, char c)
{
	assert_true(ch->nlog < (int)sizeof(ch->log) - 1);
	ch->log[ch->nlog++] = c;
	ch->log[ch->nlog] = '\0';
}

static void chain2_emit(struct chain2 *ch)
{
	if (ch->next == CHAIN_N) {
		assert_int_equal(ursa_input_done(&ch->in, 0), 0);
		return;
	}
	if (ch->notify) {
		assert_int_equal(
			ursa_input_emit_notify(&ch->in, ch->next++, &ch->w), 0);
		return;
	}
	ursa_deferred_init(&ch->taken);
	assert_int_equal(ursa_input_emit(&ch->in, ch->next++, &ch->taken), 0);
	assert_int_equal(ursa_deferred_await(&ch->taken, &ch->w), 0);
}

static void chain2_producer(struct ursa_waiter *w, const struct ursa_exit *e)
{
	struct chain2 *ch = ursa_container_of(w, struct chain2, w);

	assert_int_equal(e->kind, URSA_EXIT_SUCCESS);
	assert_int_equal(e->val, 0);
	chain2_log(ch, 'p');
	chain2_emit(ch);
}

static void chain2_consumer(struct ursa_take *t)
{
	struct chain2 *ch = ursa_container_of(t, struct chain2, t);

	if (t->what != URSA_TAKE_ELEMENT) {
		chain2_log(ch, 'e');
		return;
	}
	chain2_log(ch, 'c');
	assert_int_equal(ursa_input_take(&ch->in, t), 0);
	if (ch->queue_x)
		ursa_runq_queue(&rq, &ch->x);
	if (ch->cancel_w)
		assert_true(ursa_waiter_cancel(&ch->w));
}

static void chain2_x(struct ursa_work *work)
{
	chain2_log(ursa_container_of(work, struct chain2, x), 'x');
}

static void chain2_start(struct chain2 *ch, bool notify)
{
	memset(ch, 0, sizeof(*ch));
	ch->notify = notify;
	ursa_input_init(&ch->in);
	ursa_take_init(&ch->t, &rq, chain2_consumer);
	ursa_waiter_init(&ch->w, &rq, chain2_producer);
	ursa_work_init(&ch->x, chain2_x);
	assert_int_equal(ursa_input_take(&ch->in, &ch->t), 0);
	chain2_emit(ch);
}

static void hand_off_chain_keeps_the_budget(bool notify)
{
	static struct chain2 ch;
	int steps = 0;

	ursa_runq_init(&rq, 1);
	chain2_start(&ch, notify);
	/* One item per batch: one step per ursa_runq_run() call. */
	while (ursa_runq_has_work(&rq)) {
		assert_int_equal(ursa_runq_run(&rq), 1);
		steps++;
		assert_int_equal(ch.nlog, steps);
	}
	assert_string_equal(ch.log, "cpcpcpcpe");
	assert_int_equal(rq.nr_run, steps);
}

static void a_hand_off_chain_keeps_the_budget(void **state)
{
	hand_off_chain_keeps_the_budget(false);
}

static void a_notify_chain_keeps_the_budget(void **state)
{
	hand_off_chain_keeps_the_budget(true);
}

static void hand_off_chain_keeps_fifo_order_with_other_work(bool notify)
{
	static struct chain2 ch;

	chain2_start(&ch, notify);
	ch.queue_x = 1;
	drain();
	/* x was queued after the producer's wake-up, before the next take's. */
	assert_string_equal(ch.log, "cpxcpxcpxcpxe");
}

static void a_hand_off_chain_keeps_fifo_order_with_other_work(void **state)
{
	hand_off_chain_keeps_fifo_order_with_other_work(false);
}

static void a_notify_chain_keeps_fifo_order_with_other_work(void **state)
{
	hand_off_chain_keeps_fifo_order_with_other_work(true);
}

static void consumer_may_cancel_the_woken_producer(bool notify)
{
	static struct chain2 ch;

	chain2_start(&ch, notify);
	ch.cancel_w = 1;
	drain();
	/* The producer's waiter was queued by the take, then cancelled. */
	assert_string_equal(ch.log, "c");
	if (!notify)
		assert_true(ursa_deferred_is_done(&ch.taken));
	assert_false(ursa_waiter_is_pending(&ch.w));
	assert_true(ursa_take_is_pending(&ch.t));
	/* The producer may go on with the same waiter. */
	assert_int_equal(ursa_input_emit_notify(&ch.in, 10, &ch.w), 0);
	ch.cancel_w = 0;
	ch.next = CHAIN_N;
	drain();
	assert_string_equal(ch.log, "ccpe");
}

static void a_consumer_may_cancel_the_woken_producer(void **state)
{
	consumer_may_cancel_the_woken_producer(false);
}

static void a_consumer_may_cancel_the_notified_producer(void **state)
{
	consumer_may_cancel_the_woken_producer(true);
}

/*
 * A producer task (its waiter is a task's) and a callback consumer: the
 * take's item resumes the task when that is next in line, and the task
 * goes back to the scheduler, not to the take, when it waits again.
 */
static struct ursa_exit chain2_task_producer(void *arg)
{
	struct chain2 *ch = arg;
	int i;

	for (i = 0; i < CHAIN_N; i++) {
		assert_int_equal(ursa_await_input_emit(&ch->in, i), 0);
		chain2_log(ch, 'p');
	}
	assert_int_equal(ursa_input_done(&ch->in, 0), 0);
	return ursa_exit_success(0);
}

static void a_task_producer_hands_off_to_a_callback_consumer(void **state)
{
	static struct chain2 ch;
	struct ursa_task *p;

	memset(&ch, 0, sizeof(ch));
	ursa_input_init(&ch.in);
	ursa_take_init(&ch.t, &rq, chain2_consumer);
	assert_int_equal(ursa_input_take(&ch.in, &ch.t), 0);
	p = ursa_task_spawn(&rq, chain2_task_producer, &ch, NULL);
	assert_false(IS_ERR(p));
	drain();
	assert_string_equal(ch.log, "cpcpcpcpe");
	assert_true(ursa_deferred_is_done(ursa_task_done(p)));
	ursa_task_release(p);
}

/* Done and error never wait, even while an element waits for a taker. */
static void done_and_error_never_wait(void **state)
{
	struct ursa_exit e = ursa_exit_failure(-EIO);
	struct ursa_deferred taken;
	struct ursa_input in;

	ursa_input_init(&in);
	ursa_deferred_init(&taken);
	assert_int_equal(ursa_input_emit(&in, 1, &taken), 0);
	assert_int_equal(ursa_input_error(&in, &e), 0);
	assert_true(ursa_input_is_terminal(&in));
	assert_false(ursa_deferred_is_done(&taken));
	drain();
}

/* The callback form: the producer's waiter runs once the element is taken. */
static void emit_notify_calls_the_producer_back_once_taken(void **state)
{
	struct ursa_input in;
	struct consumer c;
	struct reader p;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_waiter_init(&p.w, &rq, reader_fn);
	p.runs = 0;
	assert_int_equal(ursa_input_take(&in, &c.t), 0);
	assert_int_equal(ursa_input_emit_notify(&in, 5, &p.w), 0);
	/* Never inline: neither the consumer nor the producer ran yet. */
	assert_int_equal(c.n, 0);
	assert_int_equal(p.runs, 0);
	assert_true(ursa_waiter_is_pending(&p.w));
	assert_true(ursa_input_is_full(&in));
	drain();
	assert_int_equal(c.n, 1);
	assert_int_equal(c.what[0], URSA_TAKE_ELEMENT);
	assert_int_equal(c.val[0], 5);
	assert_int_equal(p.runs, 1);
	assert_false(ursa_waiter_is_pending(&p.w));
	assert_false(ursa_input_is_full(&in));
}

static void emit_notify_is_refused_as_emit_is(void **state)
{
	struct ursa_input in;
	struct consumer c;
	struct reader p, q;

	ursa_runq_init(&rq, 1); /* one item per ursa_runq_run() */
	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_waiter_init(&p.w, &rq, reader_fn);
	ursa_waiter_init(&q.w, &rq, reader_fn);
	p.runs = q.runs = 0;
	/* No consumer: the element waits in the slot, and so does @p. */
	assert_int_equal(ursa_input_emit_notify(&in, 1, &p.w), 0);
	drain();
	assert_int_equal(p.runs, 0);
	assert_int_equal(ursa_input_emit_notify(&in, 2, &q.w), -EBUSY);
	assert_int_equal(ursa_input_emit(&in, 2, NULL), -EBUSY);
	assert_false(ursa_waiter_is_pending(&q.w));
	/* Taken: the slot is free, but @p is still pending until it runs. */
	ursa_input_take(&in, &c.t);
	assert_int_equal(p.runs, 0);
	assert_int_equal(ursa_runq_run(&rq), 1);
	assert_int_equal(c.val[0], 1);
	assert_int_equal(p.runs, 0);
	assert_true(ursa_waiter_is_pending(&p.w));
	assert_int_equal(ursa_runq_run(&rq), 1);
	assert_int_equal(p.runs, 1);
	/* A pending waiter is refused, and nothing is emitted. */
	assert_int_equal(ursa_input_emit_notify(&in, 3, &p.w), 0);
	assert_int_equal(ursa_input_take(&in, &c.t), 0);
	assert_int_equal(ursa_runq_run(&rq), 1); /* c pulls, p is queued */
	assert_true(ursa_waiter_is_pending(&p.w));
	assert_false(ursa_input_is_full(&in));
	assert_int_equal(ursa_input_emit_notify(&in, 4, &p.w), -EBUSY);
	assert_false(ursa_input_is_full(&in));
	drain();
	assert_int_equal(p.runs, 2);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.val[1], 3);
	/* After the end: -EPIPE, and @p is left alone. */
	assert_int_equal(ursa_input_done(&in, 0), 0);
	assert_int_equal(ursa_input_emit_notify(&in, 5, &p.w), -EPIPE);
	assert_false(ursa_waiter_is_pending(&p.w));
	drain();
	assert_int_equal(p.runs, 2);
}

/* Cancelling the producer's waiter does not take the element back. */
static void a_cancelled_notify_waiter_leaves_the_element(void **state)
{
	struct ursa_deferred taken;
	struct ursa_input in;
	struct consumer c;
	struct reader p;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_waiter_init(&p.w, &rq, reader_fn);
	p.runs = 0;
	assert_int_equal(ursa_input_emit_notify(&in, 7, &p.w), 0);
	assert_true(ursa_waiter_cancel(&p.w));
	assert_true(ursa_input_is_full(&in));
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.n, 1);
	assert_int_equal(c.val[0], 7);
	assert_int_equal(p.runs, 0);
	/* The waiter can be used again, for one wake-up per element. */
	assert_int_equal(ursa_input_emit_notify(&in, 8, &p.w), 0);
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.val[1], 8);
	assert_int_equal(p.runs, 1);
	/* A deferred after a waiter: only the deferred learns of it. */
	ursa_deferred_init(&taken);
	assert_int_equal(ursa_input_emit(&in, 9, &taken), 0);
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.val[2], 9);
	assert_true(ursa_deferred_is_done(&taken));
	assert_int_equal(p.runs, 1);
	/* And no one at all: nobody is told. */
	assert_int_equal(ursa_input_emit(&in, 10, NULL), 0);
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.val[3], 10);
	assert_int_equal(p.runs, 1);
}

/* A take woken for a notified element and cancelled: the next one gets it. */
static void a_cancelled_take_loses_no_notified_element(void **state)
{
	struct ursa_input in;
	struct consumer a, b;
	struct reader p;

	ursa_input_init(&in);
	consumer_init(&a, &in);
	consumer_init(&b, &in);
	ursa_waiter_init(&p.w, &rq, reader_fn);
	p.runs = 0;
	ursa_input_take(&in, &a.t);
	ursa_input_take(&in, &b.t);
	assert_int_equal(ursa_input_emit_notify(&in, 3, &p.w), 0);
	assert_true(ursa_input_take_cancel(&in, &a.t));
	drain();
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.val[0], 3);
	assert_int_equal(p.runs, 1);
}

/* A notified element in the slot is still delivered after done. */
static void a_notified_element_is_delivered_before_done(void **state)
{
	struct ursa_input in;
	struct consumer c;
	struct reader p;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_waiter_init(&p.w, &rq, reader_fn);
	p.runs = 0;
	assert_int_equal(ursa_input_emit_notify(&in, 4, &p.w), 0);
	assert_int_equal(ursa_input_done(&in, 6), 0);
	drain();
	assert_int_equal(p.runs, 0);
	c.again = 1;
	ursa_input_take(&in, &c.t);
	drain();
	assert_int_equal(c.n, 2);
	assert_int_equal(c.what[0], URSA_TAKE_ELEMENT);
	assert_int_equal(c.val[0], 4);
	assert_int_equal(c.what[1], URSA_TAKE_END);
	assert_int_equal(c.val[1], 6);
	assert_int_equal(p.runs, 1);
}

/* A producer that stopped awaiting a read does not hold consumers up. */
static void a_cancelled_reader_is_not_woken(void **state)
{
	struct ursa_input in;
	struct consumer c;
	struct reader r1, r2;

	ursa_input_init(&in);
	consumer_init(&c, &in);
	ursa_waiter_init(&r1.w, &rq, reader_fn);
	ursa_waiter_init(&r2.w, &rq, reader_fn);
	r1.runs = r2.runs = 0;
	assert_int_equal(ursa_input_await_read(&in, &r1.w), 0);
	assert_true(ursa_waiter_cancel(&r1.w));
	/* Nobody reads now: the take parks all the same. */
	assert_int_equal(ursa_input_take(&in, &c.t), 0);
	assert_true(ursa_take_is_pending(&c.t));
	drain();
	assert_int_equal(r1.runs, 0);
	assert_int_equal(ursa_input_emit(&in, 1, NULL), 0);
	drain();
	assert_int_equal(c.val[0], 1);
	/* Again, with a second reader that stays. */
	assert_int_equal(ursa_input_await_read(&in, &r1.w), 0);
	assert_int_equal(ursa_input_await_read(&in, &r2.w), 0);
	assert_true(ursa_waiter_cancel(&r1.w));
	assert_int_equal(ursa_input_take(&in, &c.t), 0);
	drain();
	assert_int_equal(r1.runs, 0);
	assert_int_equal(r2.runs, 1);
	assert_true(ursa_input_take_cancel(&in, &c.t));
}

/* An element is SUCCESS(element), even in a take that last saw an error. */
static void a_pointer_element_after_an_error_is_a_success(void **state)
{
	struct ursa_exit e = ursa_exit_failure(-EIO);
	struct ursa_input a, b;
	struct consumer c;
	int x;

	ursa_input_init(&a);
	ursa_input_init(&b);
	consumer_init(&c, &a);
	assert_int_equal(ursa_input_error(&a, &e), 0);
	ursa_input_take(&a, &c.t);
	drain();
	assert_int_equal(c.t.exit.kind, URSA_EXIT_FAILURE);
	assert_int_equal(c.t.exit.err, -EIO);
	assert_int_equal(ursa_input_emit_ptr(&b, &x, NULL), 0);
	c.in = &b;
	ursa_input_take(&b, &c.t);
	drain();
	assert_int_equal(c.n, 2);
	assert_int_equal(c.what[1], URSA_TAKE_ELEMENT);
	assert_int_equal(c.t.exit.kind, URSA_EXIT_SUCCESS);
	assert_int_equal(c.t.exit.err, 0);
	assert_ptr_equal(c.t.exit.ptr, &x);
	assert_int_equal(c.t.count, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(an_emit_goes_to_the_waiting_consumer),
		T(emit_then_done_with_no_consumer_yet),
		T(an_emit_without_a_consumer_waits_in_the_slot),
		T(the_terminal_state_persists_over_five_takes),
		T(an_error_is_broadcast_to_every_waiting_consumer),
		T(emit_done_or_error_after_the_end_is_refused),
		T(an_element_in_the_slot_is_delivered_before_an_error),
		T(consumers_are_served_longest_waiting_first),
		T(a_cancelled_take_that_was_woken_loses_no_element),
		T(a_cancelled_take_with_nobody_behind_leaves_the_element),
		T(cancelled_waiting_takes_keep_the_line),
		T(done_ends_every_waiting_take_in_order),
		T(a_notify_chain_across_two_run_queues),
		T(a_pending_take_is_busy),
		T(await_read_returns_once_a_consumer_waits),
		T(close_interrupts_every_consumer),
		T(error_refuses_a_success_exit),
		T(take_with_calls_exactly_one_callback),
		T(the_producer_waits_for_each_hand_off),
		T(simple_concurrent_reads),
		T(nested_concurrent_reads),
		T(done_and_error_never_wait),
		T(a_hand_off_chain_keeps_the_budget),
		T(a_hand_off_chain_keeps_fifo_order_with_other_work),
		T(a_consumer_may_cancel_the_woken_producer),
		T(a_task_producer_hands_off_to_a_callback_consumer),
		T(a_notify_chain_keeps_the_budget),
		T(a_notify_chain_keeps_fifo_order_with_other_work),
		T(a_consumer_may_cancel_the_notified_producer),
		T(emit_notify_calls_the_producer_back_once_taken),
		T(emit_notify_is_refused_as_emit_is),
		T(a_cancelled_notify_waiter_leaves_the_element),
		T(a_cancelled_take_loses_no_notified_element),
		T(a_notified_element_is_delivered_before_done),
		T(a_cancelled_reader_is_not_woken),
		T(a_pointer_element_after_an_error_is_a_success),
	};

	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
