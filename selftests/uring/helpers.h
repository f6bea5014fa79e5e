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

#define NSEC_PER_MSEC 1000000ull

/*
 * ursa_loop_init(), or SKIP when io_uring is missing or disabled (a
 * seccomp profile, kernel.io_uring_disabled, an old kernel).
 */
#define LOOP_INIT_OR_SKIP(loop, params)                          \
	do {                                                     \
		int __ret = ursa_loop_init(loop, params);        \
		if (__ret == -EPERM || __ret == -ENOSYS)         \
			SKIP(return, "io_uring unavailable: %s", \
				   ursa_loop_strerror(__ret));   \
		ASSERT_EQ(0, __ret)                              \
		TH_LOG("ursa_loop_init: %d (%s)", __ret,         \
		       ursa_loop_strerror(__ret));               \
	} while (0)

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

/* A timer that bounds a run of the loop, so that a bug fails, not hangs. */
struct guard {
	struct ursa_timer t;
	bool fired;
};

static inline void guard_fn(struct ursa_timer *t)
{
	ursa_container_of(t, struct guard, t)->fired = true;
}

/*
 * Run the loop until @cond holds, for at most @ms milliseconds. The
 * guard's expiry is the only timer expiry it adds, and only on timeout.
 * Evaluates to @cond.
 */
#define loop_run_until(loop, cond, ms)                                       \
	({                                                                   \
		struct guard __g = { .fired = false };                       \
		ursa_timer_init(&__g.t, guard_fn);                           \
		ursa_timer_start(loop, &__g.t, (uint64_t)(ms)*NSEC_PER_MSEC, \
				 0);                                         \
		while (!(cond) && !__g.fired)                                \
			if (ursa_loop_run_once(loop, true) < 0)              \
				break;                                       \
		ursa_timer_cancel(&__g.t);                                   \
		(bool)(cond);                                                \
	})

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
