// SPDX-License-Identifier: MIT
/*
 * malloc_preload.so: LD_PRELOAD it to count a whole process's malloc,
 * calloc, realloc, aligned_alloc and posix_memalign calls, in every thread
 * (the benches' malloc_count.c does it for a program linked with it). A
 * thread writes the running total, as a decimal line, to
 * $MALLOC_COUNT_FILE.PID every 50 ms (a forked child to its own file), so
 * a script can read it before and after a workload; the process writes
 * its final total there when it exits. Built and used by
 * tools/bench/http-malloc.sh and tools/bench/fchunk-bench.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long count;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);
static void *(*real_aligned)(size_t, size_t);

/* dlsym() may calloc before real_calloc is known: serve it from here. */
static char early[4096];
static size_t early_used;

static void *early_alloc(size_t n)
{
	void *p = early + early_used;

	early_used += (n + 15) & ~(size_t)15;
	return early_used <= sizeof(early) ? p : NULL;
}

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
	static int resolving;

	if (!real_calloc) {
		if (resolving)
			return early_alloc(a * b);
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

/* Open @path.PID for the count; -1 if that cannot be done. */
static int report_open(const char *path)
{
	char file[4096];

	snprintf(file, sizeof(file), "%s.%d", path, (int)getpid());
	return open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

/* Write the count so far to @fd, over what was there (fixed width). */
static bool report(int fd)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%020lu\n",
			 __atomic_load_n(&count, __ATOMIC_RELAXED));

	return pwrite(fd, line, (size_t)n, 0) == n;
}

static void *reporter(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	sigset_t all;
	/*
	 * Opened once, at the start: a server may drop its privileges
	 * later (nginx's worker) and could not open it then.
	 */
	int fd = report_open(arg);

	/* Signals are the program's business, not this thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (fd < 0)
		return NULL;
	while (report(fd))
		nanosleep(&ts, NULL);
	close(fd);
	return NULL;
}

/*
 * $MALLOC_COUNT_FILE, read once at load: a server may rewrite its
 * environment's memory later (nginx writes its process title there), and
 * the forked worker would read garbage.
 */
static char count_path[4096];

static void start_reporter(void)
{
	const char *path = count_path[0] ? count_path : NULL;
	pthread_t t;

	if (path && pthread_create(&t, NULL, reporter, (void *)path) == 0)
		pthread_detach(t);
}

/* A forked child (nginx's worker) reports too, with its count so far. */
__attribute__((constructor)) static void start(void)
{
	const char *path = getenv("MALLOC_COUNT_FILE");

	if (path && strlen(path) < sizeof(count_path))
		strcpy(count_path, path);
	start_reporter();
	pthread_atfork(NULL, NULL, start_reporter);
}

/* The final total, so that a short run is counted to its end. */
__attribute__((destructor)) static void stop(void)
{
	int fd;

	if (!count_path[0])
		return;
	fd = report_open(count_path);
	if (fd >= 0) {
		report(fd);
		close(fd);
	}
}
