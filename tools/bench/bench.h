/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the benchmarks in tools/bench: a monotonic clock,
 * medians, and the malloc counter from malloc_count.c.
 */
#ifndef URSA_BENCH_H
#define URSA_BENCH_H

#include <stdint.h>
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

#endif /* URSA_BENCH_H */
