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
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

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

/*
 * A listening socket on 127.0.0.1 at a port the kernel picks, or a
 * negative errno. The address it got goes to @addr unless that is NULL.
 */
static inline int listen_lo(struct sockaddr_in *addr, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ret;

	ret = ursa_parse_addr("127.0.0.1:0", &ss, &len);
	if (ret)
		return ret;
	fd = ursa_listen((struct sockaddr *)&ss, len, backlog, 0);
	if (fd < 0 || !addr)
		return fd;
	len = sizeof(*addr);
	if (getsockname(fd, (struct sockaddr *)addr, &len)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A blocking TCP socket connected to @addr, or a negative errno. */
static inline int connect_to(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A connected TCP pair on loopback, made synchronously. */
static inline int tcp_pair(int sv[2])
{
	struct sockaddr_in addr;
	int lfd = listen_lo(&addr, 1);

	if (lfd < 0)
		return lfd;
	sv[0] = connect_to(&addr);
	if (sv[0] < 0) {
		close(lfd);
		return sv[0];
	}
	sv[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (sv[1] < 0) {
		close(sv[0]);
		return -errno;
	}
	return 0;
}

/* io-wq workers of this process: the tasks named iou-wrk-<tid>. */
static inline int iou_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "iou-wrk-", 8))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

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
