// SPDX-License-Identifier: MIT
/*
 * Counts allocations, so that benchmarks can show that a hot path makes
 * none. The program's own malloc family takes precedence over libc's and
 * forwards to glibc's internal entry points.
 */
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *ptr);

static uint64_t nr_allocs;

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
int posix_memalign(void **out, size_t align, size_t size);

void *malloc(size_t size)
{
	__atomic_fetch_add(&nr_allocs, 1, __ATOMIC_RELAXED);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	__atomic_fetch_add(&nr_allocs, 1, __ATOMIC_RELAXED);
	return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
	__atomic_fetch_add(&nr_allocs, 1, __ATOMIC_RELAXED);
	return __libc_realloc(ptr, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	__atomic_fetch_add(&nr_allocs, 1, __ATOMIC_RELAXED);
	p = __libc_memalign(align, size);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void free(void *ptr)
{
	__libc_free(ptr);
}

uint64_t bench_malloc_calls(void)
{
	return __atomic_load_n(&nr_allocs, __ATOMIC_RELAXED);
}
