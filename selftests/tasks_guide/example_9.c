// SPDX-License-Identifier: MIT
/*
 * Groups, emit buffers and the loop's exit. A producer task fills an
 * emit buffer of four entries and waits for room whenever it is full; a
 * group of three packer tasks drains it. The program waits for the group
 * to empty, then leaves a ticker task running: ursa_loop_exit()
 * interrupts it, and its finalizer runs.
 */
#include <stdbool.h>
#include <stdio.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define NR_ORDERS 12
#define NR_PACKERS 3
#define KSFT_SKIP 4

struct shop {
	struct ursa_loop *loop;
	struct ursa_emit orders;
	int64_t handled, sum;
	int producer_waits;
	int ticks;
	bool ticker_stopped;
};

struct packer {
	struct shop *shop;
	int id;
};

static struct ursa_exit producer_fn(void *arg)
{
	struct shop *s = arg;
	int64_t i;
	int ret;

	for (i = 1; i <= NR_ORDERS; i++) {
		/* Suspend strategy: a full buffer answers -EAGAIN. */
		while ((ret = ursa_emit_single(&s->orders, i)) == -EAGAIN) {
			s->producer_waits++;
			ret = ursa_await_emit_room(&s->orders);
			if (ret)
				return ursa_exit_failure(ret);
		}
		if (ret)
			return ursa_exit_failure(ret);
	}
	ursa_emit_end(&s->orders);
	return ursa_exit_success(0);
}

static struct ursa_exit packer_fn(void *arg)
{
	struct packer *p = arg;
	struct shop *s = p->shop;
	struct ursa_emit_entry order;
	int what;

	while ((what = ursa_await_emit_take(&s->orders, &order, NULL)) ==
	       URSA_TAKE_ELEMENT) {
		printf("packer %d: order %lld\n", p->id, (long long)order.val);
		s->handled++;
		s->sum += order.val;
		if (ursa_task_sleep(s->loop, 2 * MS))
			return ursa_exit_failure(-ECANCELED);
	}
	return what == URSA_TAKE_END ? ursa_exit_success(0) :
				       ursa_exit_failure(-EIO);
}

static void ticker_over(void *arg, const struct ursa_exit *exit)
{
	struct shop *s = arg;

	s->ticker_stopped = exit->kind == URSA_EXIT_INTERRUPT;
	printf("ticker: stopped after %d ticks (%s)\n", s->ticks,
	       ursa_exit_kind_name(exit->kind));
}

static struct ursa_exit ticker_fn(void *arg)
{
	struct shop *s = arg;

	ursa_scope_add_finalizer(NULL, NULL, ticker_over, s);
	while (ursa_task_sleep(s->loop, 20 * MS) == 0)
		s->ticks++;
	return ursa_exit_success(0);
}

static struct ursa_exit program(void *arg)
{
	struct shop *s = arg;
	struct ursa_runq *rq = ursa_loop_runq(s->loop);
	struct packer packers[NR_PACKERS];
	struct ursa_task_group packing;
	struct ursa_task_opts opts = { .name = "packer", .group = &packing };
	struct ursa_task *t;
	struct ursa_exit e;
	int i;

	ursa_task_group_init(&packing);
	for (i = 0; i < NR_PACKERS; i++) {
		packers[i] = (struct packer){ .shop = s, .id = i + 1 };
		t = ursa_task_spawn(rq, packer_fn, &packers[i], &opts);
		if (IS_ERR(t))
			return ursa_exit_die((int)PTR_ERR(t));
		/* The group keeps track of it; the handle is not needed. */
		ursa_task_release(t);
	}
	t = ursa_task_spawn(rq, producer_fn, s, NULL);
	if (IS_ERR(t))
		return ursa_exit_die((int)PTR_ERR(t));
	e = ursa_task_join(t);
	if (ursa_task_group_wait(&packing) || e.kind != URSA_EXIT_SUCCESS)
		return ursa_exit_failure(-EIO);
	printf("%lld orders packed (sum %lld); the producer waited for room "
	       "%d times\n",
	       (long long)s->handled, (long long)s->sum, s->producer_waits);

	/* Left running on purpose: the loop's exit will interrupt it. */
	t = ursa_task_spawn(rq, ticker_fn, s, NULL);
	if (IS_ERR(t))
		return ursa_exit_die((int)PTR_ERR(t));
	ursa_task_release(t);
	return s->handled == NR_ORDERS &&
			       s->sum == NR_ORDERS * (NR_ORDERS + 1) / 2 &&
			       s->producer_waits > 0 ?
		       ursa_exit_success(0) :
		       ursa_exit_failure(-EIO);
}

int main(void)
{
	struct shop s = { 0 };
	struct ursa_loop loop;
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	s.loop = &loop;
	ret = ursa_emit_init(&s.orders, ursa_loop_runq(&loop), 4,
			     URSA_EMIT_SUSPEND);
	if (ret) {
		ursa_loop_exit(&loop);
		return 1;
	}
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &s, NULL);
	if (IS_ERR(t)) {
		ursa_loop_exit(&loop);
		return 1;
	}
	/* Run until the program is done; the ticker would run forever. */
	while (!ursa_deferred_is_done(ursa_task_done(t)))
		if (ursa_loop_run_once(&loop, true) < 0)
			break;
	if (!ursa_deferred_poll(ursa_task_done(t), &e))
		e = ursa_exit_die(-EDEADLK);
	ursa_task_release(t);
	ursa_loop_exit(&loop);
	ursa_emit_destroy(&s.orders);
	printf("program: %s\n", ursa_exit_kind_name(e.kind));
	return e.kind == URSA_EXIT_SUCCESS && s.ticker_stopped ? 0 : 1;
}
