// SPDX-License-Identifier: MIT
/*
 * fchunk_malloc.so: LD_PRELOAD it to count the allocations of a whole run
 * (malloc, calloc, realloc, posix_memalign, aligned_alloc, in every
 * thread). At exit it writes "mallocs N" to the file named by
 * $FCHUNK_MALLOC_OUT, or to stderr. fchunk-bench.sh builds it and runs
 * ursa-fchunk on two sizes of file: the difference in counts over the
 * difference in chunks is the allocations per chunk in steady state.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long count;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);
static void *(*real_aligned)(size_t, size_t);

/* dlsym() may calloc before real_calloc is known: serve it from here. */
static char early[4096] __attribute__((aligned(16)));
static size_t early_used;
static int resolving;

static void count_one(void)
{
	__atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	if (!real_malloc)
		real_malloc = dlsym(RTLD_NEXT, "malloc");
	count_one();
	return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (!real_calloc) {
		if (resolving) {
			void *p = early + early_used;

			early_used += (a * b + 15) & ~(size_t)15;
			return early_used <= sizeof(early) ? p : NULL;
		}
		resolving = 1;
		real_calloc = dlsym(RTLD_NEXT, "calloc");
		resolving = 0;
	}
	count_one();
	return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (!real_realloc)
		real_realloc = dlsym(RTLD_NEXT, "realloc");
	count_one();
	return real_realloc(p, n);
}

int posix_memalign(void **pp, size_t align, size_t n)
{
	if (!real_memalign)
		real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	count_one();
	return real_memalign(pp, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (!real_aligned)
		real_aligned = dlsym(RTLD_NEXT, "aligned_alloc");
	count_one();
	return real_aligned(align, n);
}

void free(void *p)
{
	static void (*real_free)(void *);

	if ((char *)p >= early && (char *)p < early + sizeof(early))
		return;
	if (!real_free)
		real_free = dlsym(RTLD_NEXT, "free");
	real_free(p);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("FCHUNK_MALLOC_OUT");
	char line[48];
	int fd = 2, n;

	if (path)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "mallocs %lu\n",
		     __atomic_load_n(&count, __ATOMIC_RELAXED));
	if (write(fd, line, (size_t)n) != n)
		n = 0;
	if (fd != 2)
		close(fd);
}
