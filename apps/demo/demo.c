// SPDX-License-Identifier: MIT
/*
 * ursa-demo: the seeds' Deferred examples on ursa's run queue.
 *
 * 1. Several requests wait for one authentication token. The refresh
 *    completes the deferred once; every waiter gets the same token, in
 *    the order it started waiting, and a second refresh is refused.
 * 2. complete() memoizes: its computation runs once, every awaiter sees
 *    the same value. complete_with() does not: each awaiter runs it.
 * 3. A failed deferred hands its error to every awaiter.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ursa/ursa.h>

struct request {
	struct ursa_waiter w;
	int id;
};

static void request_done(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	struct request *req = ursa_container_of(w, struct request, w);

	if (ursa_exit_is_success(exit))
		printf("  request %d: token %lld\n", req->id,
		       (long long)exit->val);
	else
		printf("  request %d: %s (%s)\n", req->id,
		       ursa_exit_kind_name(exit->kind), strerror(-exit->err));
}

static struct ursa_exit next_counter(void *arg)
{
	int64_t *counter = arg;

	return ursa_exit_success(++*counter);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ursa-demo [-n WAITERS]\n"
		   "Shows ursa's Deferred: shared completion, memoized\n"
		   "complete(), re-run complete_with(), failure broadcast.\n");
}

int main(int argc, char **argv)
{
	struct ursa_runq rq;
	struct ursa_deferred token;
	struct request *reqs;
	int64_t counter = 13;
	long n = 3;
	int opt, i;

	while ((opt = getopt(argc, argv, "hn:V")) != -1) {
		switch (opt) {
		case 'n': {
			char *end;

			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > 1000000) {
				fprintf(stderr,
					"ursa-demo: -n wants 1 to 1000000 waiters, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'V':
			printf("ursa-demo %s\n", ursa_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ursa-demo: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}

	reqs = calloc(n, sizeof(*reqs));
	if (!reqs) {
		fprintf(stderr, "ursa-demo: out of memory for %ld waiters\n",
			n);
		return 1;
	}
	ursa_runq_init(&rq, 0);

	printf("ursa %s: %ld requests wait for one token refresh\n",
	       ursa_version(), n);
	ursa_deferred_init(&token);
	for (i = 0; i < n; i++) {
		reqs[i].id = i + 1;
		ursa_waiter_init(&reqs[i].w, &rq, request_done);
		ursa_deferred_await(&token, &reqs[i].w);
	}
	printf("  refresh: %s\n", ursa_deferred_succeed(&token, 4242) ?
					  "completed the token" :
					  "lost the race");
	printf("  second refresh: %s\n", ursa_deferred_succeed(&token, 99) ?
						 "completed the token" :
						 "refused, already done");
	ursa_runq_drain(&rq, 0);

	printf("complete(): memoized, so both awaiters see 14\n");
	ursa_deferred_init(&token);
	ursa_deferred_complete(&token, next_counter, &counter);
	for (i = 0; i < 2; i++)
		ursa_deferred_await(&token, &reqs[i].w);
	ursa_runq_drain(&rq, 0);

	printf("complete_with(): re-run per awaiter, so 15 then 16\n");
	ursa_deferred_init(&token);
	ursa_deferred_complete_with(&token, next_counter, &counter);
	for (i = 0; i < 2; i++)
		ursa_deferred_await(&token, &reqs[i].w);
	ursa_runq_drain(&rq, 0);

	printf("fail(): every awaiter gets the error\n");
	ursa_deferred_init(&token);
	for (i = 0; i < 2; i++)
		ursa_deferred_await(&token, &reqs[i].w);
	ursa_deferred_fail(&token, -EACCES);
	ursa_runq_drain(&rq, 0);

	free(reqs);
	return 0;
}
