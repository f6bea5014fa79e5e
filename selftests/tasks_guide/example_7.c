// SPDX-License-Identifier: MIT
/*
 * A rate-limited producer: the SingleProducerAsyncInput guide's sliding
 * window limiter, with tasks. At most two items go out in any 200 ms;
 * before emitting, the producer sleeps until the oldest emit of the
 * window has aged out. The consumer checks the rate it sees.
 */
#include <stdbool.h>
#include <stdio.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define MAX_RATE 2
#define WINDOW_NS (200 * MS)
#define NR_ITEMS 6
#define KSFT_SKIP 4

struct rate_limiter {
	struct ursa_loop *loop;
	uint64_t stamps[MAX_RATE]; /* the last MAX_RATE emits, a ring */
	unsigned int n;
};

static int rate_limited_emit(struct rate_limiter *rl, struct ursa_input *in,
			     int64_t item)
{
	int ret;

	if (rl->n >= MAX_RATE) {
		/* The oldest emit of the window, the next one overwritten. */
		uint64_t until = rl->stamps[rl->n % MAX_RATE] + WINDOW_NS;
		uint64_t now = ursa_now_ns();

		if (now < until) {
			printf("producer: rate limiting, waiting %llu ms\n",
			       (unsigned long long)((until - now) / MS));
			ret = ursa_task_sleep(rl->loop, until - now);
			if (ret)
				return ret;
		}
	}
	ret = ursa_await_input_emit(in, item);
	if (ret)
		return ret;
	rl->stamps[rl->n++ % MAX_RATE] = ursa_now_ns();
	return 0;
}

struct consumer {
	struct ursa_input *in;
	uint64_t start;
	uint64_t taken_at[NR_ITEMS];
	int n;
};

static struct ursa_exit consumer_fn(void *arg)
{
	struct consumer *c = arg;
	struct ursa_exit e;
	bool rate_ok = true;

	while (ursa_await_input_take(c->in, &e) == URSA_TAKE_ELEMENT) {
		uint64_t now = ursa_now_ns();

		if (c->n == NR_ITEMS)
			return ursa_exit_failure(-E2BIG);
		printf("consumer: item-%lld at %llu ms\n", (long long)e.val,
		       (unsigned long long)((now - c->start) / MS));
		c->taken_at[c->n] = now;
		if (c->n >= MAX_RATE &&
		    now - c->taken_at[c->n - MAX_RATE] < WINDOW_NS)
			rate_ok = false;
		c->n++;
	}
	printf("consumer: %d items, rate %s\n", c->n,
	       rate_ok ? "respected" : "EXCEEDED");
	return rate_ok && c->n == NR_ITEMS ? ursa_exit_success(0) :
					     ursa_exit_failure(-EIO);
}

static struct ursa_exit program(void *arg)
{
	struct ursa_loop *loop = arg;
	struct rate_limiter rl = { .loop = loop };
	struct ursa_input in;
	struct consumer c = { .in = &in, .start = ursa_now_ns() };
	struct ursa_task *t;
	int i, ret;

	ursa_input_init(&in);
	t = ursa_task_spawn(ursa_loop_runq(loop), consumer_fn, &c, NULL);
	if (IS_ERR(t))
		return ursa_exit_die((int)PTR_ERR(t));
	for (i = 1; i <= NR_ITEMS; i++) {
		ret = rate_limited_emit(&rl, &in, i);
		if (ret)
			break;
		printf("producer: emitted item-%d\n", i);
	}
	ursa_input_done(&in, 0);
	return ursa_task_join(t);
}

int main(void)
{
	struct ursa_loop loop;
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &loop, NULL);
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
