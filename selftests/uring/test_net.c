// SPDX-License-Identifier: MIT
/*
 * Sockets: address parsing, listen, accept and connect on loopback, send
 * and recv, gathered and zero-copy sends, shutdown, a multishot accept of
 * 1,000 connections, a multishot recv that runs its buffer ring dry, and
 * a one-shot recv into a buffer the kernel picks (ursa_recv_select()).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

#define NR_CONNS 1000
#define CONN_BATCH 50

TEST(parse_addr)
{
	static const char *const bad[] = {
		"localhost:80",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:65536",
		"127.0.0.1:-1",
		"127.0.0.1:+1",
		"127.0.0.1:80x",
		"1.2.3:80",
		"[::1]80",
		"[::1]",
		"[::1]:",
		"::1:80",
		"[]:80",
		"[127.0.0.1]:80",
		"",
		":",
		"1.2.3.4:99999999999999999999",
	};
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;
	socklen_t len;
	size_t i;

	ASSERT_EQ(0, ursa_parse_addr("127.0.0.1:8080", &ss, &len));
	ASSERT_EQ(AF_INET, ss.ss_family);
	ASSERT_EQ(sizeof(*sin), len);
	ASSERT_EQ(8080, ntohs(sin->sin_port));
	ASSERT_EQ(INADDR_LOOPBACK, ntohl(sin->sin_addr.s_addr));

	ASSERT_EQ(0, ursa_parse_addr("[::1]:443", &ss, &len));
	ASSERT_EQ(AF_INET6, ss.ss_family);
	ASSERT_EQ(sizeof(*sin6), len);
	ASSERT_EQ(443, ntohs(sin6->sin6_port));
	ASSERT_EQ(0, memcmp(&lo6, &sin6->sin6_addr, sizeof(lo6)));

	ASSERT_EQ(0, ursa_parse_addr(":8080", &ss, &len));
	ASSERT_EQ(AF_INET, ss.ss_family);
	ASSERT_EQ(8080, ntohs(sin->sin_port));
	ASSERT_EQ(INADDR_ANY, ntohl(sin->sin_addr.s_addr));

	ASSERT_EQ(0, ursa_parse_addr("0.0.0.0:0", &ss, &len));
	ASSERT_EQ(0, ntohs(sin->sin_port));
	ASSERT_EQ(0, ursa_parse_addr("10.1.2.3:65535", &ss, &len));
	ASSERT_EQ(65535, ntohs(sin->sin_port));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, ursa_parse_addr(bad[i], &ss, &len))
		TH_LOG("\"%s\" was accepted", bad[i]);
	}
	EXPECT_EQ(-EINVAL, ursa_parse_addr(NULL, &ss, &len));
	EXPECT_EQ(-EINVAL, ursa_parse_addr("1.2.3.4:5", NULL, &len));
	EXPECT_EQ(-EINVAL, ursa_parse_addr("1.2.3.4:5", &ss, NULL));
}

FIXTURE(net)
{
	struct ursa_loop loop;
	bool live;
	int sv[2];
};

FIXTURE_SETUP(net)
{
	self->sv[0] = self->sv[1] = -1;
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
	ASSERT_EQ(0, tcp_pair(self->sv));
}

FIXTURE_TEARDOWN(net)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
	if (self->sv[0] >= 0)
		close(self->sv[0]);
	if (self->sv[1] >= 0)
		close(self->sv[1]);
}

/* Start @start, run until @t completes; evaluates to its result. */
#define RUN_REQ(loop, t, start)                                     \
	({                                                          \
		int __r = (start);                                  \
		ASSERT_EQ(0, __r) TH_LOG("%s: %d", #start, __r);    \
		ASSERT_TRUE(loop_run_until(loop, (t)->calls, 5000)) \
		TH_LOG("%s did not complete", #start);              \
		ASSERT_EQ(1, (t)->calls);                           \
		(t)->calls = 0;                                     \
		ursa_exit_res(&(t)->exit);                          \
	})

TEST_F(net, accept_connect_send_recv)
{
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof(peer);
	struct sockaddr_in addr;
	char buf[64] = { 0 };
	struct treq a, c;
	int lfd, cfd, sfd;

	lfd = listen_lo(&addr, 16);
	ASSERT_LE(0, lfd);
	ASSERT_NE(0, ntohs(addr.sin_port));
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, cfd);
	/* Valgrind cannot see what the kernel writes through the ring. */
	memset(&peer, 0, sizeof(peer));
	treq_init(&a);
	treq_init(&c);
	ASSERT_EQ(0, ursa_accept(&self->loop, &a.req, lfd,
				 (struct sockaddr *)&peer, &peer_len, 0));
	ASSERT_EQ(0, ursa_connect(&self->loop, &c.req, cfd,
				  (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_TRUE(loop_run_until(&self->loop, a.calls && c.calls, 5000));
	ASSERT_EQ(1, a.calls);
	ASSERT_EQ(1, c.calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, c.exit.kind);
	ASSERT_EQ(0, c.exit.val);
	ASSERT_EQ(URSA_EXIT_SUCCESS, a.exit.kind);
	sfd = (int)a.exit.val;
	ASSERT_LE(0, sfd);
	ASSERT_EQ(AF_INET, peer.ss_family);
	ASSERT_EQ(sizeof(struct sockaddr_in), peer_len);
	ASSERT_TRUE(fcntl(sfd, F_GETFD) & FD_CLOEXEC);

	c.calls = a.calls = 0;
	ASSERT_EQ(4,
		  RUN_REQ(&self->loop, &c,
			  ursa_send(&self->loop, &c.req, cfd, "ping", 4, 0)));
	ASSERT_EQ(4, RUN_REQ(&self->loop, &a,
			     ursa_recv(&self->loop, &a.req, sfd, buf,
				       sizeof(buf), 0)));
	ASSERT_EQ(0, memcmp(buf, "ping", 4));
	ASSERT_EQ(4,
		  RUN_REQ(&self->loop, &a,
			  ursa_send(&self->loop, &a.req, sfd, "pong", 4, 0)));
	ASSERT_EQ(4, RUN_REQ(&self->loop, &c,
			     ursa_recv(&self->loop, &c.req, cfd, buf,
				       sizeof(buf), 0)));
	ASSERT_EQ(0, memcmp(buf, "pong", 4));

	/* Half an address, a bad how, no callback: refused up front. */
	EXPECT_EQ(-EINVAL, ursa_accept(&self->loop, &a.req, lfd,
				       (struct sockaddr *)&peer, NULL, 0));
	EXPECT_EQ(-EINVAL, ursa_connect(&self->loop, &c.req, cfd, NULL, 0));
	EXPECT_EQ(-EBADF, ursa_accept(&self->loop, &a.req, -1, NULL, NULL, 0));
	EXPECT_EQ(-EINVAL, ursa_recv(&self->loop, &a.req, sfd, NULL, 10, 0));
	EXPECT_EQ(-EINVAL, ursa_send(&self->loop, &a.req, sfd, buf,
				     (uint32_t)INT32_MAX + 1, 0));
	EXPECT_FALSE(ursa_req_busy(&a.req));
	close(sfd);
	close(cfd);
	close(lfd);
}

TEST_F(net, sendmsg_gathered)
{
	char a[10], b[200], c[7], in[217];
	struct iovec iov[3] = { { a, sizeof(a) },
				{ b, sizeof(b) },
				{ c, sizeof(c) } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
	struct treq t;

	pattern_fill(a, sizeof(a), 0);
	pattern_fill(b, sizeof(b), 10);
	pattern_fill(c, sizeof(c), 210);
	treq_init(&t);
	ASSERT_EQ(217, RUN_REQ(&self->loop, &t,
			       ursa_sendmsg(&self->loop, &t.req, self->sv[0],
					    &msg, 0)));
	ASSERT_EQ((ssize_t)sizeof(in),
		  recv(self->sv[1], in, sizeof(in), MSG_WAITALL));
	ASSERT_EQ(sizeof(in), pattern_check(in, sizeof(in), 0));
	EXPECT_EQ(-EINVAL,
		  ursa_sendmsg(&self->loop, &t.req, self->sv[0], NULL, 0));
}

TEST_F(net, writev_socket)
{
	char a[100], b[50], in[150];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct treq t;

	pattern_fill(a, sizeof(a), 0);
	pattern_fill(b, sizeof(b), 100);
	treq_init(&t);
	ASSERT_EQ(150, RUN_REQ(&self->loop, &t,
			       ursa_writev(&self->loop, &t.req, self->sv[1],
					   iov, 2, URSA_OFF_CURRENT)));
	ASSERT_EQ((ssize_t)sizeof(in),
		  recv(self->sv[0], in, sizeof(in), MSG_WAITALL));
	ASSERT_EQ(sizeof(in), pattern_check(in, sizeof(in), 0));
}

TEST_F(net, send_zc)
{
	static char out[16384], in[16384];
	struct treq s, r;

	pattern_fill(out, sizeof(out), 3);
	treq_init(&s);
	treq_init(&r);
	ASSERT_EQ(0, ursa_send_zc(&self->loop, &s.req, self->sv[0], out,
				  sizeof(out), 0));
	ASSERT_EQ(0, ursa_read_full(&self->loop, &r.req, self->sv[1], in,
				    sizeof(in), URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, s.calls, 5000));
	if (s.exit.err == -EINVAL || s.exit.err == -EOPNOTSUPP) {
		ursa_cancel(&self->loop, &r.req);
		loop_run_until(&self->loop, r.calls, 5000);
		SKIP(return, "no zero-copy send: %d", s.exit.err);
	}
	ASSERT_EQ(URSA_EXIT_SUCCESS, s.exit.kind);
	ASSERT_EQ((int64_t)sizeof(out), s.exit.val);
	ASSERT_TRUE(loop_run_until(&self->loop, r.calls, 5000));
	loop_run_for(&self->loop, 20);
	/* Two CQEs, the send and its notification; one completion. */
	ASSERT_EQ(1, s.calls);
	ASSERT_EQ(1, r.calls);
	ASSERT_EQ((int64_t)sizeof(in), r.exit.val);
	ASSERT_EQ(0, memcmp(out, in, sizeof(in)));
	ASSERT_EQ(1u, self->loop.stats.completed[URSA_OP_SEND_ZC]);
}

TEST_F(net, shutdown_gives_peer_eof)
{
	char buf[16];
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_shutdown(&self->loop, &t.req, self->sv[0],
					   SHUT_WR)));
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_recv(&self->loop, &t.req, self->sv[1], buf,
				       sizeof(buf), 0)));
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	/* The other direction still works. */
	ASSERT_EQ(2, RUN_REQ(&self->loop, &t,
			     ursa_send(&self->loop, &t.req, self->sv[1], "ok",
				       2, 0)));
	ASSERT_EQ(2, RUN_REQ(&self->loop, &t,
			     ursa_recv(&self->loop, &t.req, self->sv[0], buf,
				       sizeof(buf), 0)));
	EXPECT_EQ(-EINVAL, ursa_shutdown(&self->loop, &t.req, self->sv[0], 7));
	EXPECT_EQ(-EBADF, ursa_shutdown(&self->loop, &t.req, -1, SHUT_RD));
}

struct acceptor {
	struct ursa_req req;
	int fds[NR_CONNS];
	int n, extra, final_calls;
	struct ursa_exit final;
	bool more_missing;
};

static void acceptor_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct acceptor *a = ursa_container_of(req, struct acceptor, req);

	if (exit->kind != URSA_EXIT_SUCCESS) {
		a->final_calls++;
		a->final = *exit;
		return;
	}
	if (!ursa_req_more(req))
		a->more_missing = true;
	if (a->n < NR_CONNS) {
		a->fds[a->n++] = (int)exit->val;
	} else {
		a->extra++;
		close((int)exit->val);
	}
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

TEST_F(net, accept_multishot_1000)
{
	static int clients[NR_CONNS];
	struct acceptor *a = calloc(1, sizeof(*a));
	struct sockaddr_in addr;
	struct rlimit rl;
	int before, lfd, i, j, connected = 0;

	ASSERT_TRUE(a != NULL);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < 2 * NR_CONNS + 64) {
		if (rl.rlim_max < 2 * NR_CONNS + 64)
			SKIP(return, "RLIMIT_NOFILE %llu is too low",
				   (unsigned long long)rl.rlim_max);
		rl.rlim_cur = 2 * NR_CONNS + 64;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	}
	before = count_open_fds();
	lfd = listen_lo(&addr, 128);
	ASSERT_LE(0, lfd);
	ursa_req_init(&a->req, acceptor_cb);
	ASSERT_EQ(0, ursa_accept_multishot(&self->loop, &a->req, lfd, 0));

	/* Blocking connects, a batch between turns of the loop. */
	while (connected < NR_CONNS) {
		for (j = 0; j < CONN_BATCH && connected < NR_CONNS; j++) {
			clients[connected] = connect_to(&addr);
			ASSERT_LE(0, clients[connected])
			TH_LOG("connect %d: %d", connected, clients[connected]);
			connected++;
		}
		ASSERT_TRUE(
			loop_run_until(&self->loop, a->n == connected, 5000))
		TH_LOG("%d accepted of %d connected", a->n, connected);
	}
	loop_run_for(&self->loop, 20);
	ASSERT_EQ(0, a->final_calls);
	ASSERT_TRUE(ursa_req_busy(&a->req));
	ASSERT_EQ(0, ursa_cancel(&self->loop, &a->req));
	ASSERT_TRUE(loop_run_until(&self->loop, a->final_calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, a->final_calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, a->final.kind);
	ASSERT_FALSE(ursa_req_busy(&a->req));
	ASSERT_FALSE(a->more_missing);

	ASSERT_EQ(NR_CONNS, a->n);
	ASSERT_EQ(0, a->extra);
	qsort(a->fds, NR_CONNS, sizeof(int), cmp_int);
	for (i = 0; i < NR_CONNS; i++) {
		ASSERT_LE(0, a->fds[i]);
		if (i) {
			ASSERT_LT(a->fds[i - 1], a->fds[i]);
		}
	}
	for (i = 0; i < NR_CONNS; i++) {
		close(a->fds[i]);
		close(clients[i]);
	}
	close(lfd);
	ASSERT_EQ(before, count_open_fds());
	free(a);
}

struct receiver {
	struct ursa_req req;
	struct ursa_buf_ring *br;
	unsigned char sink[16384];
	size_t got;
	int held[16], nr_held;
	bool recycle;
	int chunks, final_calls, bad_bid, overflow;
	struct ursa_exit final;
};

static void receiver_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct receiver *r = ursa_container_of(req, struct receiver, req);
	int bid;

	if (exit->kind != URSA_EXIT_SUCCESS || exit->val == 0 ||
	    !ursa_req_more(req)) {
		r->final_calls++;
		r->final = *exit;
		return;
	}
	bid = ursa_req_buf_id(req);
	if (bid < 0 || !ursa_buf_ring_addr(r->br, (unsigned int)bid) ||
	    exit->val > (int64_t)r->br->size) {
		r->bad_bid++;
		return;
	}
	if (r->got + (size_t)exit->val > sizeof(r->sink)) {
		r->overflow++;
	} else {
		memcpy(r->sink + r->got,
		       ursa_buf_ring_addr(r->br, (unsigned int)bid),
		       (size_t)exit->val);
		r->got += (size_t)exit->val;
	}
	r->chunks++;
	if (r->recycle)
		ursa_buf_ring_recycle(r->br, (unsigned int)bid);
	else if (r->nr_held < 16)
		r->held[r->nr_held++] = bid;
}

static int send_pattern(int fd, size_t start, size_t len)
{
	unsigned char buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t w;

		pattern_fill(buf, n, start);
		w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -errno;
		start += (size_t)w;
		len -= (size_t)w;
	}
	return 0;
}

TEST_F(net, recv_multishot_enobufs)
{
	struct receiver *r = calloc(1, sizeof(*r));
	struct ursa_buf_ring br;
	struct ursa_exit e;
	int ret, i;

	ASSERT_TRUE(r != NULL);
	ret = ursa_buf_ring_init(&self->loop, &br, 1, 4, 64);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no provided buffer rings (Linux 5.19)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(-EEXIST,
		  ursa_buf_ring_init(&self->loop, &(struct ursa_buf_ring){ 0 },
				     1, 4, 64));
	r->br = &br;
	ursa_req_init(&r->req, receiver_cb);
	ASSERT_EQ(0,
		  ursa_recv_multishot(&self->loop, &r->req, self->sv[1], &br));

	/* More than the ring holds, and nobody gives buffers back. */
	ASSERT_EQ(0, send_pattern(self->sv[0], 0, 1000));
	ASSERT_TRUE(loop_run_until(&self->loop, self->loop.stats.enobufs >= 1,
				   5000));
	loop_run_for(&self->loop, 20);
	ASSERT_EQ(0, r->bad_bid);
	ASSERT_EQ(4, r->nr_held);
	ASSERT_EQ(256u, r->got);
	ASSERT_EQ(0, r->final_calls);
	ASSERT_TRUE(ursa_req_busy(&r->req));
	ASSERT_FALSE(ursa_deferred_is_done(&r->req.done));
	ASSERT_EQ(0u, br.available);

	/* Buffers back: the recv goes on where it stopped. */
	r->recycle = true;
	for (i = 0; i < r->nr_held; i++) {
		ASSERT_EQ(0,
			  ursa_buf_ring_recycle(&br, (unsigned int)r->held[i]));
	}
	ASSERT_TRUE(loop_run_until(&self->loop, r->got >= 1000, 5000))
	TH_LOG("got %zu of 1000", r->got);

	ASSERT_EQ(0, send_pattern(self->sv[0], 1000, 9000));
	ASSERT_TRUE(loop_run_until(&self->loop, r->got >= 10000, 5000))
	TH_LOG("got %zu of 10000", r->got);
	loop_run_for(&self->loop, 20);
	ASSERT_EQ(10000u, r->got);
	ASSERT_EQ(10000u, pattern_check(r->sink, r->got, 0));
	ASSERT_EQ(0, r->overflow);
	ASSERT_EQ(0, r->bad_bid);
	ASSERT_EQ(0, r->final_calls);
	TH_LOG("%d chunks, %llu enobufs", r->chunks,
	       (unsigned long long)self->loop.stats.enobufs);

	/* The end of the stream ends the request. */
	close(self->sv[0]);
	self->sv[0] = -1;
	ASSERT_TRUE(loop_run_until(&self->loop, r->final_calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, r->final_calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, r->final.kind);
	ASSERT_EQ(0, r->final.val);
	ASSERT_FALSE(ursa_req_busy(&r->req));
	ASSERT_TRUE(ursa_deferred_poll(&r->req.done, &e));
	ASSERT_EQ(URSA_EXIT_SUCCESS, e.kind);
	ASSERT_EQ(0, e.val);

	ASSERT_EQ(4u, br.available);
	EXPECT_EQ(-EOVERFLOW, ursa_buf_ring_recycle(&br, 0));
	EXPECT_EQ(-EINVAL, ursa_buf_ring_recycle(&br, 4));
	ursa_buf_ring_exit(&br);
	free(r);
}

TEST_F(net, recv_multishot_eof)
{
	struct receiver *r = calloc(1, sizeof(*r));
	struct ursa_buf_ring br;
	int ret;

	ASSERT_TRUE(r != NULL);
	ret = ursa_buf_ring_init(&self->loop, &br, 7, 8, 128);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no provided buffer rings (Linux 5.19)");
	ASSERT_EQ(0, ret);
	r->br = &br;
	r->recycle = true;
	ursa_req_init(&r->req, receiver_cb);
	EXPECT_EQ(-EINVAL,
		  ursa_recv_multishot(&self->loop, &(struct ursa_req){ 0 },
				      self->sv[1], &br));
	ASSERT_EQ(0,
		  ursa_recv_multishot(&self->loop, &r->req, self->sv[1], &br));
	ASSERT_EQ(0, send_pattern(self->sv[0], 0, 300));
	shutdown(self->sv[0], SHUT_WR);
	ASSERT_TRUE(loop_run_until(&self->loop, r->final_calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, r->final_calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, r->final.kind);
	ASSERT_EQ(0, r->final.val);
	ASSERT_EQ(300u, r->got);
	ASSERT_EQ(300u, pattern_check(r->sink, r->got, 0));
	ASSERT_FALSE(ursa_req_busy(&r->req));
	ursa_buf_ring_exit(&br);
	free(r);
}

struct once {
	struct ursa_req req;
	int calls;
	struct ursa_exit exit;
	int bid;
};

static void once_cb(struct ursa_req *req, const struct ursa_exit *e)
{
	struct once *o = ursa_container_of(req, struct once, req);

	o->calls++;
	o->exit = *e;
	o->bid = ursa_req_buf_id(req);
}

/* Start a recv_select on @o and run until it completes. */
#define RECV_SELECT(self, o, br)                                              \
	({                                                                    \
		ASSERT_EQ(0, ursa_recv_select(&(self)->loop, &(o)->req,       \
					      (self)->sv[1], (br), 0));       \
		ASSERT_TRUE(loop_run_until(&(self)->loop, (o)->calls, 5000)); \
		(o)->calls = 0;                                               \
		ursa_exit_res(&(o)->exit);                                    \
	})

/* A one-shot recv holds no buffer while it waits, and reports a dry ring. */
TEST_F(net, recv_select)
{
	struct once o = { .bid = -1 };
	struct ursa_buf_ring br;
	char data[100], *p;
	uint64_t enobufs;
	int ret, bid1, bid2;

	ret = ursa_buf_ring_init(&self->loop, &br, 3, 2, 64);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no provided buffer rings (Linux 5.19)");
	ASSERT_EQ(0, ret);
	ursa_req_init(&o.req, once_cb);
	for (ret = 0; ret < (int)sizeof(data); ret++)
		data[ret] = (char)ret;
	EXPECT_EQ(-EINVAL,
		  ursa_recv_select(&self->loop, &o.req, self->sv[1], NULL, 0));

	/* Waiting takes nothing from the ring. */
	ASSERT_EQ(0,
		  ursa_recv_select(&self->loop, &o.req, self->sv[1], &br, 0));
	loop_run_for(&self->loop, 20);
	ASSERT_EQ(0, o.calls);
	ASSERT_EQ(2u, br.available);
	ASSERT_EQ(100, write(self->sv[0], data, sizeof(data)));
	ASSERT_TRUE(loop_run_until(&self->loop, o.calls, 5000));
	o.calls = 0;
	ASSERT_EQ(64, ursa_exit_res(&o.exit));
	ASSERT_TRUE(o.bid >= 0 && o.bid < 2);
	p = ursa_buf_ring_addr(&br, (unsigned int)o.bid);
	ASSERT_EQ(0, memcmp(p, data, 64));
	ASSERT_EQ(1u, br.available);
	bid1 = o.bid;

	/* The rest in the other buffer; then the ring is dry. */
	ASSERT_EQ(36, RECV_SELECT(self, &o, &br));
	bid2 = o.bid;
	ASSERT_NE(bid1, bid2);
	ASSERT_EQ(0, memcmp(ursa_buf_ring_addr(&br, (unsigned int)bid2),
			    data + 64, 36));
	ASSERT_EQ(0u, br.available);
	enobufs = ursa_loop_stats(&self->loop)->enobufs;
	ASSERT_EQ(5, write(self->sv[0], data, 5));
	ASSERT_EQ(-ENOBUFS, RECV_SELECT(self, &o, &br));
	ASSERT_EQ(-ENOBUFS, o.bid);
	ASSERT_EQ(enobufs + 1, ursa_loop_stats(&self->loop)->enobufs);

	/* The bytes waited in the socket for a buffer. */
	ASSERT_EQ(0, ursa_buf_ring_recycle(&br, (unsigned int)bid1));
	ASSERT_EQ(0, ursa_buf_ring_recycle(&br, (unsigned int)bid2));
	ASSERT_EQ(5, RECV_SELECT(self, &o, &br));
	ASSERT_EQ(0, memcmp(ursa_buf_ring_addr(&br, (unsigned int)o.bid), data,
			    5));
	ASSERT_EQ(0, ursa_buf_ring_recycle(&br, (unsigned int)o.bid));

	/* The end of the stream takes no buffer. */
	shutdown(self->sv[0], SHUT_WR);
	ASSERT_EQ(0, RECV_SELECT(self, &o, &br));
	ASSERT_EQ(-ENOBUFS, o.bid);
	ASSERT_EQ(2u, br.available);
	ursa_buf_ring_exit(&br);
}

TEST_HARNESS_MAIN
