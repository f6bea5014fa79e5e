/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the uring selftests: a request that records how it
 * completed, a bounded way to run the loop, fd counting and the SKIP for
 * a kernel (or a container) without io_uring.
 *
 * Everything that asserts is a macro, so that it sees the test's
 * _metadata; the rest are small static functions.
 */
#ifndef URSA_SELFTESTS_URING_HELPERS_H
#define URSA_SELFTESTS_URING_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <ursa/ursa.h>
#include <ursa/harness.h>
#include <ursa/harness_loop.h>

#define NSEC_PER_MSEC 1000000ull

/* The loop-aware helpers of <ursa/harness_loop.h>, in this suite's words. */
#define LOOP_INIT_OR_SKIP(loop, params) URSA_TH_LOOP_INIT_OR_SKIP(loop, params)

/* A request that counts its callbacks and keeps the last exit. */
struct treq {
	struct ursa_req req;
	int calls;
	struct ursa_exit exit;
};

static inline void treq_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct treq *t = ursa_container_of(req, struct treq, req);

	t->calls++;
	t->exit = *exit;
}

static inline void treq_init(struct treq *t)
{
	memset(t, 0, sizeof(*t));
	ursa_req_init(&t->req, treq_cb);
}

/*
 * Run the loop until @cond holds, for at most @ms milliseconds. The
 * guard's expiry is the only timer expiry it adds, and only on timeout.
 * Evaluates to @cond.
 */
#define loop_run_until(loop, cond, ms) \
	ursa_th_run_until(loop, cond, (uint64_t)(ms)*NSEC_PER_MSEC)

/*
 * Run the loop for @ms milliseconds, to catch a late or second callback.
 * Its guard expires, so stats.timers_fired grows by one.
 */
#define loop_run_for(loop, ms) ((void)loop_run_until(loop, false, ms))

/* The number of open file descriptors of this process. */
static inline int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	/* Not the directory's own descriptor. */
	return n - 1;
}

/* Whether the running kernel is at least @major.@minor. */
static inline bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * Whether we run under valgrind. Valgrind (3.19 at least) does not treat
 * io_uring_enter as a blocking system call: it keeps its big lock while
 * the loop waits in the kernel, so no other thread of the process runs
 * until the wait times out. Tests that need another thread to wake the
 * loop SKIP there. Its preload library is on LD_PRELOAD.
 */
static inline bool running_on_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && (strstr(p, "/vgpreload_") || strstr(p, "valgrind"));
}

/* A byte of a known pattern, to check streams for loss and duplication. */
static inline unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 7 + i / 251) & 0xff);
}

static inline void pattern_fill(void *buf, size_t len, size_t start)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(start + i);
}

/* The index of the first byte off the pattern, or @len if none is. */
static inline size_t pattern_check(const void *buf, size_t len, size_t start)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(start + i))
			return i;
	return len;
}

#endif /* URSA_SELFTESTS_URING_HELPERS_H */
