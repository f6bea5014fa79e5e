// SPDX-License-Identifier: MIT
/*
 * Connection steering (<ursa/steer.h>): one SO_REUSEPORT listener per
 * CPU, each in the steering map at its CPU's slot. Clients pinned to a
 * CPU with sched_setaffinity() connect over loopback, where the SYN is
 * handled on the sending CPU, so each connection must be accepted on the
 * listener of that CPU. The same run with plain reuseport shows what the
 * 4-tuple hash does instead (logged, not asserted: it is random).
 *
 * Every test skips when BPF may not be loaded here, and says why.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/harness.h>
#include <ursa/net.h>
#include <ursa/steer.h>

#define MAX_CPUS 64
#define CLIENTS_PER_CPU 32

struct group {
	int nr;
	int cpus[MAX_CPUS];
	int lfd[MAX_CPUS];
	struct sockaddr_in addr;
};

#define STEER_OPEN_OR_SKIP(nr, steerp)                               \
	do {                                                         \
		int __ret = ursa_steer_open(nr, steerp);             \
		if (__ret == -EPERM || __ret == -EOPNOTSUPP ||       \
		    __ret == -EINVAL)                                \
			SKIP(return, "BPF steering unavailable: %s", \
				   ursa_steer_strerror(__ret));      \
		ASSERT_EQ(0, __ret)                                  \
		TH_LOG("ursa_steer_open: %d (%s)", __ret,            \
		       ursa_steer_strerror(__ret));                  \
	} while (0)

/* The CPUs this process may run on, up to MAX_CPUS. */
static int online_cpus(int *cpus)
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (i = 0; i < CPU_SETSIZE && n < MAX_CPUS; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

/* One reuseport listener per CPU, all on the same loopback port. */
static int group_listen(struct group *g)
{
	socklen_t len = sizeof(g->addr);
	int i;

	g->nr = online_cpus(g->cpus);
	if (g->nr <= 0)
		return g->nr ? g->nr : -ENODEV;
	memset(&g->addr, 0, sizeof(g->addr));
	g->addr.sin_family = AF_INET;
	g->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < g->nr; i++) {
		g->lfd[i] = ursa_listen((struct sockaddr *)&g->addr,
					sizeof(g->addr), 1024,
					URSA_LISTEN_REUSEPORT);
		if (g->lfd[i] < 0)
			return g->lfd[i];
		if (i == 0 &&
		    getsockname(g->lfd[0], (struct sockaddr *)&g->addr, &len))
			return -errno;
	}
	return 0;
}

static void group_close(struct group *g)
{
	int i;

	for (i = 0; i < g->nr; i++)
		close(g->lfd[i]);
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * Connect CLIENTS_PER_CPU clients from each CPU, then accept everything
 * and count in hits[listener][client cpu index]. Returns 0 or -errno.
 */
static int connect_and_count(struct group *g, int hits[MAX_CPUS][MAX_CPUS])
{
	static int cfd[MAX_CPUS][CLIENTS_PER_CPU];
	static unsigned short port[MAX_CPUS][CLIENTS_PER_CPU];
	int i, j, k, ret = 0;
	cpu_set_t all;

	memset(hits, 0, sizeof(int) * MAX_CPUS * MAX_CPUS);
	if (sched_getaffinity(0, sizeof(all), &all))
		return -errno;
	for (i = 0; i < g->nr; i++) {
		ret = pin(g->cpus[i]);
		if (ret)
			goto out;
		for (j = 0; j < CLIENTS_PER_CPU; j++) {
			struct sockaddr_in me;
			socklen_t len = sizeof(me);

			cfd[i][j] =
				socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (cfd[i][j] < 0 ||
			    connect(cfd[i][j], (struct sockaddr *)&g->addr,
				    sizeof(g->addr)) ||
			    getsockname(cfd[i][j], (struct sockaddr *)&me,
					&len)) {
				ret = -errno;
				goto out;
			}
			port[i][j] = me.sin_port;
		}
	}
	for (k = 0; k < g->nr; k++) {
		for (;;) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			int fd = accept4(g->lfd[k], (struct sockaddr *)&peer,
					 &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd < 0)
				break;
			for (i = 0; i < g->nr; i++)
				for (j = 0; j < CLIENTS_PER_CPU; j++)
					if (port[i][j] == peer.sin_port)
						hits[k][i]++;
			close(fd);
		}
	}
out:
	sched_setaffinity(0, sizeof(all), &all);
	for (i = 0; i < g->nr; i++)
		for (j = 0; j < CLIENTS_PER_CPU; j++)
			if (cfd[i][j] > 0)
				close(cfd[i][j]);
	memset(cfd, 0, sizeof(cfd));
	return ret;
}

static void set_nonblock(struct group *g)
{
	int i, one = 1;

	for (i = 0; i < g->nr; i++)
		ioctl(g->lfd[i], FIONBIO, &one);
}

TEST(steered_to_cpu)
{
	static int hits[MAX_CPUS][MAX_CPUS];
	struct ursa_steer *steer;
	struct group g;
	int i, k;

	STEER_OPEN_OR_SKIP(0, &steer);
	ASSERT_EQ(0, group_listen(&g));
	if (g.nr < 2)
		SKIP(return, "needs 2 CPUs, this process may use %d", g.nr);
	for (i = 0; i < g.nr; i++)
		ASSERT_EQ(0, ursa_steer_add(steer, g.cpus[i], g.lfd[i]));
	set_nonblock(&g);
	ASSERT_EQ(0, connect_and_count(&g, hits));
	for (k = 0; k < g.nr; k++) {
		int total = 0;

		for (i = 0; i < g.nr; i++)
			total += hits[k][i];
		TH_LOG("steered: listener of cpu %d accepted %d (%d from its cpu)",
		       g.cpus[k], total, hits[k][k]);
		EXPECT_EQ(CLIENTS_PER_CPU, hits[k][k]);
		EXPECT_EQ(CLIENTS_PER_CPU, total);
	}
	ursa_steer_close(steer);
	group_close(&g);
}

TEST(plain_reuseport_for_comparison)
{
	static int hits[MAX_CPUS][MAX_CPUS];
	struct group g;
	int i, k, matched = 0, total = 0;

	ASSERT_EQ(0, group_listen(&g));
	set_nonblock(&g);
	ASSERT_EQ(0, connect_and_count(&g, hits));
	for (k = 0; k < g.nr; k++) {
		int n = 0;

		for (i = 0; i < g.nr; i++)
			n += hits[k][i];
		matched += hits[k][k];
		total += n;
		TH_LOG("plain reuseport: listener of cpu %d accepted %d (%d from its cpu)",
		       g.cpus[k], n, hits[k][k]);
	}
	TH_LOG("plain reuseport: %d of %d on the client's cpu", matched, total);
	EXPECT_EQ(g.nr * CLIENTS_PER_CPU, total);
	group_close(&g);
}

/* A CPU without a slot still gets its connections, through the hash. */
TEST(hash_fallback)
{
	static int hits[MAX_CPUS][MAX_CPUS];
	struct ursa_steer *steer;
	struct group g;
	int i, k, total = 0;

	STEER_OPEN_OR_SKIP(0, &steer);
	ASSERT_EQ(0, group_listen(&g));
	if (g.nr < 2)
		SKIP(return, "needs 2 CPUs, this process may use %d", g.nr);
	/* Only the first CPU has a listener in the map. */
	ASSERT_EQ(0, ursa_steer_add(steer, g.cpus[0], g.lfd[0]));
	set_nonblock(&g);
	ASSERT_EQ(0, connect_and_count(&g, hits));
	EXPECT_EQ(CLIENTS_PER_CPU, hits[0][0]);
	for (k = 0; k < g.nr; k++)
		for (i = 0; i < g.nr; i++)
			total += hits[k][i];
	EXPECT_EQ(g.nr * CLIENTS_PER_CPU, total);
	ursa_steer_close(steer);
	group_close(&g);
}

TEST(bad_arguments)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct ursa_steer *steer;
	int fd, nolisten;

	EXPECT_EQ(-EINVAL, ursa_steer_open(1, NULL));
	EXPECT_EQ(-EINVAL, ursa_steer_add(NULL, 0, 0));
	EXPECT_EQ(0u, ursa_steer_nr_cpus(NULL));
	ursa_steer_close(NULL);
	STEER_OPEN_OR_SKIP(2, &steer);
	EXPECT_EQ(2u, ursa_steer_nr_cpus(steer));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = ursa_listen((struct sockaddr *)&a, sizeof(a), 16,
			 URSA_LISTEN_REUSEPORT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-E2BIG, ursa_steer_add(steer, 2, fd));
	EXPECT_EQ(-EBADF, ursa_steer_add(steer, 0, -1));
	nolisten = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, nolisten);
	/* Not listening: the map refuses it. */
	EXPECT_NE(0, ursa_steer_add(steer, 0, nolisten));
	EXPECT_EQ(0, ursa_steer_add(steer, 1, fd));
	close(nolisten);
	close(fd);
	ursa_steer_close(steer);
}

TEST_HARNESS_MAIN
