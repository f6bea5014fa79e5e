// SPDX-License-Identifier: MIT
/*
 * Authentication token refresh: the Deferred guide's token manager, with
 * tasks. Requests that find the token expired share one refresh: the
 * first starts it, the others await the same deferred.
 */
#include <stdbool.h>
#include <stdio.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define KSFT_SKIP 4

struct token_manager {
	struct ursa_loop *loop;
	int64_t token; /* 0: none yet */
	uint64_t expires; /* CLOCK_MONOTONIC, ns */
	bool refreshing;
	struct ursa_deferred refreshed; /* the refresh in progress */
	int refreshes;
};

/* Effect.ensuring: runs however the refresh task ends. */
static void refresh_over(void *arg, const struct ursa_exit *exit)
{
	struct token_manager *tm = arg;

	tm->refreshing = false;
	/* A no-op after a success; the waiters' failure otherwise. */
	ursa_deferred_done(&tm->refreshed, exit);
}

/* The identity provider: a 50 ms round trip for a new token. */
static struct ursa_exit refresh_task(void *arg)
{
	struct token_manager *tm = arg;
	int ret;

	ursa_scope_add_finalizer(NULL, NULL, refresh_over, tm);
	ret = ursa_task_sleep(tm->loop, 50 * MS);
	if (ret)
		return ursa_exit_failure(ret);
	tm->token = 1000 + ++tm->refreshes;
	tm->expires = ursa_now_ns() + 200 * MS;
	printf("refresh: new token %lld\n", (long long)tm->token);
	ursa_deferred_succeed(&tm->refreshed, tm->token);
	return ursa_exit_success(0);
}

static struct ursa_exit get_token(struct token_manager *tm)
{
	struct ursa_task *t;

	if (tm->token && ursa_now_ns() < tm->expires)
		return ursa_exit_success(tm->token);
	/* Nothing runs between this test and the set: no race. */
	if (!tm->refreshing) {
		ursa_deferred_init(&tm->refreshed);
		t = ursa_task_spawn(ursa_loop_runq(tm->loop), refresh_task, tm,
				    NULL);
		if (IS_ERR(t))
			return ursa_exit_failure((int)PTR_ERR(t));
		/* A daemon: its result travels through the deferred. */
		ursa_task_release(t);
		tm->refreshing = true;
	}
	return ursa_await(&tm->refreshed);
}

struct request {
	struct token_manager *tm;
	const char *name;
};

static struct ursa_exit request_fn(void *arg)
{
	struct request *r = arg;
	struct ursa_exit e = get_token(r->tm);

	if (e.kind == URSA_EXIT_SUCCESS)
		printf("%s: authorised with token %lld\n", r->name,
		       (long long)e.val);
	return e;
}

/* Run some requests at once; return how many used @want. */
static int run_requests(struct token_manager *tm, struct request *r, int n,
			int64_t want)
{
	struct ursa_task *t[8];
	int i, good = 0;

	for (i = 0; i < n; i++) {
		t[i] = ursa_task_spawn(ursa_loop_runq(tm->loop), request_fn,
				       &r[i], NULL);
		if (IS_ERR(t[i]))
			return -1;
	}
	for (i = 0; i < n; i++) {
		struct ursa_exit e = ursa_task_join(t[i]);

		good += e.kind == URSA_EXIT_SUCCESS && e.val == want;
	}
	return good;
}

static struct ursa_exit program(void *arg)
{
	struct token_manager *tm = arg;
	struct request first[3] = { { tm, "orders" },
				    { tm, "profile" },
				    { tm, "billing" } };
	struct request later[1] = { { tm, "search" } };
	struct request expired[2] = { { tm, "orders again" },
				      { tm, "profile again" } };
	int good;

	good = run_requests(tm, first, 3, 1001);
	good += run_requests(tm, later, 1, 1001);
	/* Past the token's lifetime: the next requests refresh once more. */
	ursa_task_sleep(tm->loop, 250 * MS);
	good += run_requests(tm, expired, 2, 1002);
	printf("%d requests authorised, %d refreshes\n", good, tm->refreshes);
	return good == 6 && tm->refreshes == 2 ? ursa_exit_success(0) :
						 ursa_exit_failure(-EIO);
}

int main(void)
{
	struct token_manager tm = { 0 };
	struct ursa_loop loop;
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	tm.loop = &loop;
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &tm, NULL);
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
