/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the benchmarks in tools/bench: a monotonic clock,
 * medians, and the malloc counter from malloc_count.c.
 */
#ifndef URSA_BENCH_H
#define URSA_BENCH_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n samples; sorts them in place. */
static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* malloc, calloc, realloc and posix_memalign calls since the start. */
uint64_t bench_malloc_calls(void);

/*
 * The options of a timed benchmark: -r REPEATS (1 to 101), -t SECONDS a
 * measurement (0 to 60), -h, and the benchmark's own: @more holds their
 * getopt letters ("n:d"), @more_usage their usage ("[-n COUNT [-d]]",
 * which may go on with lines of help), and @fn takes each one with its
 * value, returning false (after a message) for a bad one; @more may be
 * "" and @fn NULL. Returns -1 to go on, else the exit code: 0 after -h,
 * 2 after a bad option or value (with a message).
 */
static inline int
bench_options_more(const char *prog, int argc, char **argv, int *repeats,
		   double *seconds, const char *more, const char *more_usage,
		   bool (*fn)(int opt, const char *arg, void *ctx), void *ctx)
{
	char optstring[32];
	int opt;

	snprintf(optstring, sizeof(optstring), "r:t:h%s", more);
	while ((opt = getopt(argc, argv, optstring)) != -1) {
		switch (opt) {
		case 'r':
			*repeats = atoi(optarg);
			break;
		case 't':
			*seconds = atof(optarg);
			break;
		case 'h':
		case '?':
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: %s [-r REPEATS] [-t SECONDS]%s%s\n",
				prog, *more_usage ? " " : "", more_usage);
			return opt == 'h' ? 0 : 2;
		default:
			if (!fn(opt, optarg, ctx))
				return 2;
		}
	}
	if (*repeats < 1 || *repeats > 101 ||
	    !(*seconds > 0 && *seconds < 60)) {
		fprintf(stderr, "%s: -r takes 1 to 101, -t 0 to 60 seconds\n",
			prog);
		return 2;
	}
	return -1;
}

/* bench_options_more() for a benchmark with no options of its own. */
static inline int bench_options(const char *prog, int argc, char **argv,
				int *repeats, double *seconds)
{
	return bench_options_more(prog, argc, argv, repeats, seconds, "", "",
				  NULL, NULL);
}

/* A value of @prog's option -@opt: @min to @max, or false after a message. */
static inline bool bench_opt_range(const char *prog, int opt, const char *arg,
				   long long min, long long max, long long *val)
{
	char *end;

	*val = strtoll(arg, &end, 10);
	if (*arg && !*end && *val >= min && *val <= max)
		return true;
	fprintf(stderr, "%s: -%c takes %lld to %lld\n", prog, opt, min, max);
	return false;
}

/*
 * Does the malloc counter see this program's own allocations? If not,
 * says so: every "0 mallocs" figure would be meaningless.
 */
static inline bool bench_malloc_hooked(const char *prog)
{
	uint64_t before = bench_malloc_calls();
	void *volatile probe = malloc(16);

	free(probe);
	if (bench_malloc_calls() != before)
		return true;
	fprintf(stderr, "%s: the malloc counter is not hooked\n", prog);
	return false;
}

#endif /* URSA_BENCH_H */
