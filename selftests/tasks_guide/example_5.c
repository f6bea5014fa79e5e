// SPDX-License-Identifier: MIT
/*
 * A circuit breaker: the Deferred guide's pattern, with tasks. After
 * three failures in a row the circuit opens. Callers that arrive while
 * it is open wait for the recovery timer's deferred; the first one to
 * wake tests the service (half-open) while the others await the test's
 * verdict, and a good test closes the circuit for all of them.
 */
#include <stdio.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define KSFT_SKIP 4

enum breaker_state { CLOSED, OPEN, HALF_OPEN };

struct breaker {
	struct ursa_loop *loop;
	enum breaker_state state;
	int failures;
	int failure_threshold;
	uint64_t recovery_ns;
	uint64_t opened_at;
	struct ursa_timer recovery; /* its deferred is the recovery */
	struct ursa_deferred verdict; /* the half-open test's outcome */
	int tests;
	ursa_task_fn *op;
	void *op_arg;
};

/* The service: 5 ms a call, and down for its first three calls. */
struct service {
	struct ursa_loop *loop;
	int calls;
};

static struct ursa_exit call_service(void *arg)
{
	struct service *s = arg;
	int ret = ursa_task_sleep(s->loop, 5 * MS);

	if (ret)
		return ursa_exit_failure(ret);
	if (++s->calls <= 3)
		return ursa_exit_failure(-EIO);
	return ursa_exit_success(s->calls);
}

static void open_circuit(struct breaker *b)
{
	ursa_timer_cancel(&b->recovery);
	b->state = OPEN;
	b->failures = 0;
	b->opened_at = ursa_now_ns();
	ursa_timer_start(b->loop, &b->recovery, b->recovery_ns, 0);
	printf("breaker: open for %llu ms\n",
	       (unsigned long long)(b->recovery_ns / MS));
}

static struct ursa_exit breaker_call(struct breaker *b)
{
	struct ursa_exit e;

	for (;;) {
		switch (b->state) {
		case CLOSED:
			e = b->op(b->op_arg);
			if (e.kind == URSA_EXIT_SUCCESS)
				b->failures = 0;
			else if (++b->failures >= b->failure_threshold)
				open_circuit(b);
			return e;
		case OPEN:
			if (ursa_now_ns() - b->opened_at < b->recovery_ns) {
				e = ursa_await(&b->recovery.done);
				if (ursa_task_is_interrupted())
					return e;
				continue;
			}
			/* This caller tests; the others await its verdict. */
			b->state = HALF_OPEN;
			b->tests++;
			ursa_deferred_init(&b->verdict);
			e = b->op(b->op_arg);
			if (e.kind == URSA_EXIT_SUCCESS) {
				b->state = CLOSED;
				printf("breaker: test passed, closed\n");
			} else {
				open_circuit(b);
			}
			ursa_deferred_succeed(&b->verdict,
					      e.kind == URSA_EXIT_SUCCESS);
			return e;
		case HALF_OPEN:
			e = ursa_await(&b->verdict);
			if (e.kind != URSA_EXIT_SUCCESS)
				return e;
			if (!e.val)
				return ursa_exit_failure(-EAGAIN);
			continue;
		}
	}
}

struct caller {
	struct breaker *b;
	int n;
};

static struct ursa_exit caller_fn(void *arg)
{
	struct caller *c = arg;
	struct ursa_exit e = breaker_call(c->b);

	if (e.kind == URSA_EXIT_SUCCESS)
		printf("caller %d: ok (service call %lld)\n", c->n,
		       (long long)e.val);
	else
		printf("caller %d: %s (%d)\n", c->n,
		       ursa_exit_kind_name(e.kind), e.err);
	return e;
}

static struct ursa_exit program(void *arg)
{
	struct breaker *b = arg;
	struct caller c[6];
	struct ursa_task *t[3];
	int i, failed = 0, served = 0;

	/* One after another: three failures open the circuit. */
	for (i = 0; i < 3; i++) {
		c[i] = (struct caller){ .b = b, .n = i + 1 };
		failed += caller_fn(&c[i]).kind == URSA_EXIT_FAILURE;
	}
	/* Three at once, while it is open: they wait for the recovery. */
	for (i = 0; i < 3; i++) {
		c[3 + i] = (struct caller){ .b = b, .n = 4 + i };
		t[i] = ursa_task_spawn(ursa_loop_runq(b->loop), caller_fn,
				       &c[3 + i], NULL);
		if (IS_ERR(t[i]))
			return ursa_exit_die((int)PTR_ERR(t[i]));
	}
	for (i = 0; i < 3; i++)
		served += ursa_task_join(t[i]).kind == URSA_EXIT_SUCCESS;
	printf("%d failed, %d served, %d test(s), circuit %s\n", failed, served,
	       b->tests, b->state == CLOSED ? "closed" : "open");
	return failed == 3 && served == 3 && b->tests == 1 &&
			       b->state == CLOSED ?
		       ursa_exit_success(0) :
		       ursa_exit_failure(-EIO);
}

int main(void)
{
	struct ursa_loop loop;
	struct service svc = { .loop = &loop };
	struct breaker b = { .loop = &loop,
			     .state = CLOSED,
			     .failure_threshold = 3,
			     .recovery_ns = 100 * MS,
			     .op = call_service,
			     .op_arg = &svc };
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	ursa_timer_init(&b.recovery, NULL);
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &b, NULL);
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
