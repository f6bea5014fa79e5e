// SPDX-License-Identifier: MIT
/*
 * Backpressure: a fast producer and a slow consumer on a single-producer
 * input, the SingleProducerAsyncInput guide's basic backpressure example
 * with tasks. The input holds one element; each emit returns only once
 * the consumer has taken it, so the producer runs at the consumer's pace.
 */
#include <stdio.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define NR_ITEMS 5
#define KSFT_SKIP 4

struct pipeline {
	struct ursa_loop *loop;
	struct ursa_input input;
	int consumed;
};

/* Takes 100 ms per item. */
static struct ursa_exit slow_consumer(void *arg)
{
	struct pipeline *p = arg;
	struct ursa_exit e;

	while (ursa_await_input_take(&p->input, &e) == URSA_TAKE_ELEMENT) {
		printf("slow consumer: processing item-%lld (%d)\n",
		       (long long)e.val, ++p->consumed);
		if (ursa_task_sleep(p->loop, 100 * MS))
			return ursa_exit_interrupt(0);
	}
	printf("slow consumer: done\n");
	return ursa_exit_success(p->consumed);
}

/* Would emit every 10 ms if nothing held it back. */
static struct ursa_exit fast_producer(void *arg)
{
	struct pipeline *p = arg;
	uint64_t start = ursa_now_ns(), t0;
	int i, ret;

	for (i = 1; i <= NR_ITEMS; i++) {
		printf("producer: emitting item-%d\n", i);
		t0 = ursa_now_ns();
		ret = ursa_await_input_emit(&p->input, i);
		if (ret)
			return ursa_exit_failure(ret);
		printf("producer: item-%d taken after %llu ms\n", i,
		       (unsigned long long)((ursa_now_ns() - t0) / MS));
		ursa_task_sleep(p->loop, 10 * MS);
	}
	ursa_input_done(&p->input, 0);
	return ursa_exit_success((int64_t)(ursa_now_ns() - start));
}

static struct ursa_exit program(void *arg)
{
	struct pipeline *p = arg;
	struct ursa_runq *rq = ursa_loop_runq(p->loop);
	struct ursa_task *consumer;
	struct ursa_exit e;

	ursa_input_init(&p->input);
	consumer = ursa_task_spawn(rq, slow_consumer, p, NULL);
	if (IS_ERR(consumer))
		return ursa_exit_die((int)PTR_ERR(consumer));
	e = fast_producer(p);
	if (ursa_task_join(consumer).kind != URSA_EXIT_SUCCESS ||
	    e.kind != URSA_EXIT_SUCCESS)
		return ursa_exit_failure(-EIO);
	/*
	 * Item 5 cannot be taken before the consumer has spent 100 ms on
	 * each of items 1 to 4: the producer was held back for all of it.
	 */
	printf("producer: %d items in %lld ms\n", p->consumed,
	       (long long)(e.val / (int64_t)MS));
	return p->consumed == NR_ITEMS && e.val >= 400 * (int64_t)MS ?
		       ursa_exit_success(0) :
		       ursa_exit_failure(-EIO);
}

int main(void)
{
	struct pipeline p = { 0 };
	struct ursa_loop loop;
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	p.loop = &loop;
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &p, NULL);
	if (IS_ERR(t)) {
		ursa_loop_exit(&loop);
		return 1;
	}
	ursa_loop_run(&loop);
	if (!ursa_deferred_poll(ursa_task_done(t), &e))
		e = ursa_exit_die(-EDEADLK);
	ursa_task_release(t);
	ursa_loop_exit(&loop);
	printf("program: %s\n", ursa_exit_kind_name(e.kind));
	return e.kind == URSA_EXIT_SUCCESS ? 0 : 1;
}
