// SPDX-License-Identifier: MIT
/*
 * Cancellation: each op that can block, ops that complete at once, every
 * request on an fd, everything, a multishot recv parked on an empty
 * buffer ring, and an idle request. A cancel never completes a request by
 * itself: each one still completes exactly once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

#define PATTERN 0x3c

FIXTURE(cancel)
{
	struct ursa_loop loop;
	bool live;
	int p[2];
	int sv[2];
	unsigned char buf[64];
};

FIXTURE_SETUP(cancel)
{
	self->p[0] = self->p[1] = self->sv[0] = self->sv[1] = -1;
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
	ASSERT_EQ(0, pipe(self->p));
	ASSERT_EQ(0,
		  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->sv));
	memset(self->buf, PATTERN, sizeof(self->buf));
}

FIXTURE_TEARDOWN(cancel)
{
	int i;

	if (self->live)
		ursa_loop_exit(&self->loop);
	for (i = 0; i < 2; i++) {
		if (self->p[i] >= 0)
			close(self->p[i]);
		if (self->sv[i] >= 0)
			close(self->sv[i]);
	}
}

static bool buf_untouched(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != PATTERN)
			return false;
	return true;
}

/* Let the loop submit what is queued, without waiting. */
static void settle(struct ursa_loop *loop)
{
	int i;

	for (i = 0; i < 3; i++)
		ursa_loop_run_once(loop, false);
}

/* Cancel @t, which must block, and check it completes once as INTERRUPT. */
#define CHECK_CANCELLED(self, t)                                              \
	do {                                                                  \
		ASSERT_EQ(0, (t)->calls);                                     \
		ASSERT_TRUE(ursa_req_busy(&(t)->req));                        \
		ASSERT_EQ(0, ursa_cancel(&(self)->loop, &(t)->req));          \
		ASSERT_TRUE(loop_run_until(&(self)->loop, (t)->calls, 5000)); \
		loop_run_for(&(self)->loop, 10);                              \
		ASSERT_EQ(1, (t)->calls);                                     \
		ASSERT_EQ(URSA_EXIT_INTERRUPT, (t)->exit.kind);               \
		ASSERT_EQ(-ECANCELED, (t)->exit.err);                         \
		ASSERT_FALSE(ursa_req_busy(&(t)->req));                       \
		ASSERT_TRUE(ursa_deferred_is_done(&(t)->req.done));           \
		ASSERT_EQ(-ENOENT, ursa_cancel(&(self)->loop, &(t)->req));    \
	} while (0)

TEST_F(cancel, read_on_pipe)
{
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	settle(&self->loop);
	CHECK_CANCELLED(self, &t);
	ASSERT_TRUE(buf_untouched(self->buf, sizeof(self->buf)));
	ASSERT_EQ(1u, self->loop.stats.cancels);
}

TEST_F(cancel, before_submission)
{
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	/* The cancel rides in the same submission as the read. */
	CHECK_CANCELLED(self, &t);
	ASSERT_TRUE(buf_untouched(self->buf, sizeof(self->buf)));
	/* The data written afterwards is still there for the next read. */
	ASSERT_EQ(3, write(self->p[1], "abc", 3));
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls == 2, 5000));
	ASSERT_EQ(3, t.exit.val);
}

TEST_F(cancel, recv_on_socket)
{
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(0, ursa_recv(&self->loop, &t.req, self->sv[0], self->buf,
			       sizeof(self->buf), 0));
	settle(&self->loop);
	CHECK_CANCELLED(self, &t);
	ASSERT_TRUE(buf_untouched(self->buf, sizeof(self->buf)));
}

TEST_F(cancel, accept)
{
	int lfd = listen_lo(NULL, 16), before;
	struct treq t;

	ASSERT_LE(0, lfd);
	before = count_open_fds();
	treq_init(&t);
	ASSERT_EQ(0, ursa_accept(&self->loop, &t.req, lfd, NULL, NULL, 0));
	settle(&self->loop);
	CHECK_CANCELLED(self, &t);
	ASSERT_EQ(before, count_open_fds());
	close(lfd);
}

TEST_F(cancel, accept_multishot)
{
	int lfd = listen_lo(NULL, 16);
	struct treq t;

	ASSERT_LE(0, lfd);
	treq_init(&t);
	ASSERT_EQ(0, ursa_accept_multishot(&self->loop, &t.req, lfd, 0));
	settle(&self->loop);
	CHECK_CANCELLED(self, &t);
	close(lfd);
}

/* A multishot recv that keeps every buffer it is handed. */
struct hoarder {
	struct ursa_req req;
	int chunks, final_calls;
	struct ursa_exit final;
};

static void hoarder_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct hoarder *h = ursa_container_of(req, struct hoarder, req);

	if (exit->kind == URSA_EXIT_SUCCESS && exit->val > 0 &&
	    ursa_req_more(req)) {
		h->chunks++;
		return;
	}
	h->final_calls++;
	h->final = *exit;
}

/*
 * A multishot recv on sv[0] from a ring of one buffer that is never given
 * back: after one chunk, it is parked on -ENOBUFS with no SQE out.
 */
#define START_PARKED_RECV(self, h, br)                                         \
	do {                                                                   \
		int __ret = ursa_buf_ring_init(&(self)->loop, br, 3, 1, 16);   \
		if (__ret == -EOPNOTSUPP)                                      \
			SKIP(return, "no provided buffer rings (Linux 5.19)"); \
		ASSERT_EQ(0, __ret);                                           \
		ursa_req_init(&(h)->req, hoarder_cb);                          \
		ASSERT_EQ(0, ursa_recv_multishot(&(self)->loop, &(h)->req,     \
						 (self)->sv[0], br));          \
		ASSERT_EQ(64, write((self)->sv[1], (self)->buf, 64));          \
		ASSERT_TRUE(loop_run_until(&(self)->loop,                      \
					   (self)->loop.stats.enobufs >= 1,    \
					   5000));                             \
		ASSERT_EQ(1, (h)->chunks);                                     \
		ASSERT_EQ(0, (h)->final_calls);                                \
		ASSERT_TRUE(ursa_req_busy(&(h)->req));                         \
	} while (0)

/* The parked recv completed once, as INTERRUPT. */
#define CHECK_PARKED_CANCELLED(self, h)                                     \
	do {                                                                \
		ASSERT_TRUE(loop_run_until(&(self)->loop, (h)->final_calls, \
					   5000));                          \
		loop_run_for(&(self)->loop, 10);                            \
		ASSERT_EQ(1, (h)->final_calls);                             \
		ASSERT_EQ(URSA_EXIT_INTERRUPT, (h)->final.kind);            \
		ASSERT_FALSE(ursa_req_busy(&(h)->req));                     \
		ASSERT_TRUE(ursa_deferred_is_done(&(h)->req.done));         \
	} while (0)

TEST_F(cancel, recv_multishot)
{
	struct ursa_buf_ring br;
	struct hoarder h = { 0 };
	int ret;

	ret = ursa_buf_ring_init(&self->loop, &br, 2, 4, 64);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no provided buffer rings (Linux 5.19)");
	ASSERT_EQ(0, ret);
	ursa_req_init(&h.req, hoarder_cb);
	ASSERT_EQ(0,
		  ursa_recv_multishot(&self->loop, &h.req, self->sv[0], &br));
	settle(&self->loop);
	ASSERT_TRUE(ursa_req_busy(&h.req));
	ASSERT_EQ(0, ursa_cancel(&self->loop, &h.req));
	CHECK_PARKED_CANCELLED(self, &h);
	ASSERT_EQ(0, h.chunks);
	ursa_buf_ring_exit(&br);
}

TEST_F(cancel, recv_multishot_parked)
{
	struct ursa_buf_ring br;
	struct hoarder h = { 0 };

	START_PARKED_RECV(self, &h, &br);
	ASSERT_EQ(0, ursa_cancel(&self->loop, &h.req));
	/* No CQE is due: it completes on a later turn, not in the call. */
	ASSERT_EQ(0, h.final_calls);
	CHECK_PARKED_CANCELLED(self, &h);
	/* A buffer given back now must not arm it again. */
	ASSERT_EQ(0, ursa_buf_ring_recycle(&br, 0));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, h.final_calls);
	ASSERT_FALSE(ursa_req_busy(&h.req));
	ursa_buf_ring_exit(&br);
}

TEST_F(cancel, cancel_fd_with_parked_recv)
{
	struct ursa_buf_ring br;
	struct hoarder h = { 0 };
	struct treq t;

	START_PARKED_RECV(self, &h, &br);
	/* Something else in flight, started after the parked recv. */
	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	settle(&self->loop);
	ASSERT_EQ(1, ursa_cancel_fd(&self->loop, self->sv[0]));
	CHECK_PARKED_CANCELLED(self, &h);
	ASSERT_TRUE(ursa_req_busy(&t.req));
	ASSERT_EQ(1, ursa_cancel_fd(&self->loop, self->p[0]));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	ursa_buf_ring_exit(&br);
}

TEST_F(cancel, cancel_all_with_parked_recv)
{
	struct ursa_buf_ring br;
	struct hoarder h = { 0 };
	struct treq t;

	START_PARKED_RECV(self, &h, &br);
	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	settle(&self->loop);
	ASSERT_EQ(2, ursa_cancel_all(&self->loop));
	CHECK_PARKED_CANCELLED(self, &h);
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	ursa_buf_ring_exit(&br);
}

TEST_F(cancel, exit_with_parked_recv)
{
	struct ursa_buf_ring br;
	struct hoarder h = { 0 };
	struct treq t;

	START_PARKED_RECV(self, &h, &br);
	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	settle(&self->loop);
	self->live = false;
	/*
	 * The ring is not unregistered first: the recv still names it.
	 * Its mapping outlives the loop; the test process ends soon.
	 */
	ursa_loop_exit(&self->loop);
	ASSERT_EQ(1, h.final_calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, h.final.kind);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
}

TEST_F(cancel, read_full_between_pieces)
{
	unsigned char buf[100];
	struct treq t;

	memset(buf, PATTERN, sizeof(buf));
	treq_init(&t);
	ASSERT_EQ(10, write(self->p[1], "0123456789", 10));
	ASSERT_EQ(0, ursa_read_full(&self->loop, &t.req, self->p[0], buf,
				    sizeof(buf), URSA_OFF_CURRENT));
	/* The first piece arrives; the rest waits on an empty pipe. */
	ASSERT_TRUE(loop_run_until(
		&self->loop, self->loop.stats.completed[URSA_OP_READ] >= 1,
		5000));
	settle(&self->loop);
	CHECK_CANCELLED(self, &t);
	ASSERT_EQ(0, memcmp(buf, "0123456789", 10));
	ASSERT_TRUE(buf_untouched(buf + 10, sizeof(buf) - 10));
}

TEST_F(cancel, ops_that_complete_at_once)
{
	char path[] = "/tmp/ursa-test-cancel-XXXXXX";
	struct treq nop, wr, st;
	struct statx stx;
	int fd, ret, i;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	for (i = 0; i < 20; i++) {
		treq_init(&nop);
		treq_init(&wr);
		treq_init(&st);
		ASSERT_EQ(0, ursa_nop(&self->loop, &nop.req));
		ASSERT_EQ(0, ursa_write(&self->loop, &wr.req, fd, "x", 1, 0));
		ASSERT_EQ(0, ursa_statx(&self->loop, &st.req, AT_FDCWD, "/", 0,
					STATX_MODE, &stx));
		/* Queued, not yet submitted: a cancel is accepted. */
		ASSERT_EQ(0, ursa_cancel(&self->loop, &nop.req));
		settle(&self->loop);
		ret = ursa_cancel(&self->loop, &wr.req);
		ASSERT_TRUE(ret == 0 || ret == -ENOENT) TH_LOG("ret %d", ret);
		ret = ursa_cancel(&self->loop, &st.req);
		ASSERT_TRUE(ret == 0 || ret == -ENOENT) TH_LOG("ret %d", ret);
		ASSERT_TRUE(loop_run_until(
			&self->loop, nop.calls && wr.calls && st.calls, 5000));
		loop_run_for(&self->loop, 2);
		ASSERT_EQ(1, nop.calls);
		ASSERT_EQ(1, wr.calls);
		ASSERT_EQ(1, st.calls);
		/* Either outcome is fine; a failure is not. */
		ASSERT_NE(URSA_EXIT_FAILURE, nop.exit.kind);
		ASSERT_NE(URSA_EXIT_FAILURE, wr.exit.kind);
		ASSERT_NE(URSA_EXIT_FAILURE, st.exit.kind);
		ASSERT_EQ(-ENOENT, ursa_cancel(&self->loop, &nop.req));
	}
	close(fd);
}

TEST_F(cancel, cancel_fd)
{
	unsigned char bufs[4][16];
	struct treq t[4];
	int i;

	for (i = 0; i < 4; i++)
		treq_init(&t[i]);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0,
			  ursa_read(&self->loop, &t[i].req, self->p[0], bufs[i],
				    sizeof(bufs[i]), URSA_OFF_CURRENT));
	}
	ASSERT_EQ(0, ursa_recv(&self->loop, &t[3].req, self->sv[0], bufs[3],
			       sizeof(bufs[3]), 0));
	settle(&self->loop);
	ASSERT_EQ(-EBADF, ursa_cancel_fd(&self->loop, -1));
	ASSERT_EQ(0, ursa_cancel_fd(&self->loop, self->p[1]));
	ASSERT_EQ(3, ursa_cancel_fd(&self->loop, self->p[0]));
	ASSERT_TRUE(loop_run_until(
		&self->loop, t[0].calls && t[1].calls && t[2].calls, 5000));
	loop_run_for(&self->loop, 10);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, t[i].calls);
		ASSERT_EQ(URSA_EXIT_INTERRUPT, t[i].exit.kind);
	}
	/* The request on another fd is left alone. */
	ASSERT_EQ(0, t[3].calls);
	ASSERT_TRUE(ursa_req_busy(&t[3].req));
	ASSERT_EQ(0, ursa_cancel_fd(&self->loop, self->p[0]));
	ASSERT_EQ(2, write(self->sv[1], "hi", 2));
	ASSERT_TRUE(loop_run_until(&self->loop, t[3].calls, 5000));
	ASSERT_EQ(URSA_EXIT_SUCCESS, t[3].exit.kind);
	ASSERT_EQ(2, t[3].exit.val);
}

static void count_work(struct ursa_work *w)
{
	(void)w;
}

TEST_F(cancel, cancel_all)
{
	unsigned char bufs[3][16];
	int lfd = listen_lo(NULL, 16), i;
	struct ursa_work work;
	struct ursa_timer tm;
	struct treq t[4];

	ASSERT_LE(0, lfd);
	for (i = 0; i < 4; i++)
		treq_init(&t[i]);
	ASSERT_EQ(0, ursa_read(&self->loop, &t[0].req, self->p[0], bufs[0],
			       sizeof(bufs[0]), URSA_OFF_CURRENT));
	ASSERT_EQ(0, ursa_recv(&self->loop, &t[1].req, self->sv[0], bufs[1],
			       sizeof(bufs[1]), 0));
	ASSERT_EQ(0, ursa_accept(&self->loop, &t[2].req, lfd, NULL, NULL, 0));
	ASSERT_EQ(0, ursa_read(&self->loop, &t[3].req, self->sv[1], bufs[2],
			       sizeof(bufs[2]), URSA_OFF_CURRENT));
	ursa_timer_init(&tm, NULL);
	ASSERT_EQ(0,
		  ursa_timer_start(&self->loop, &tm, 5000 * NSEC_PER_MSEC, 0));
	settle(&self->loop);
	ASSERT_EQ(4, ursa_cancel_all(&self->loop));
	ASSERT_TRUE(loop_run_until(
		&self->loop,
		t[0].calls && t[1].calls && t[2].calls && t[3].calls, 5000));
	loop_run_for(&self->loop, 10);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, t[i].calls);
		ASSERT_EQ(URSA_EXIT_INTERRUPT, t[i].exit.kind);
	}
	/* Timers are not requests; the loop's own eventfd read survives. */
	ASSERT_TRUE(ursa_timer_armed(&tm));
	ursa_timer_cancel(&tm);
	ASSERT_EQ(0, ursa_cancel_all(&self->loop));
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	ursa_work_init(&work, count_work);
	ASSERT_EQ(0, ursa_loop_post(&self->loop, &work));
	ASSERT_TRUE(
		loop_run_until(&self->loop, !ursa_work_pending(&work), 5000));
	close(lfd);
}

TEST_F(cancel, idle_request_is_enoent)
{
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(-ENOENT, ursa_cancel(&self->loop, &t.req));
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	ASSERT_EQ(-ENOENT, ursa_cancel(&self->loop, &t.req));
	ASSERT_EQ(0u, self->loop.stats.cancels);
}

TEST_F(cancel, twice_completes_once)
{
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, self->p[0], self->buf,
			       sizeof(self->buf), URSA_OFF_CURRENT));
	settle(&self->loop);
	ASSERT_EQ(0, ursa_cancel(&self->loop, &t.req));
	ASSERT_EQ(0, ursa_cancel(&self->loop, &t.req));
	ASSERT_EQ(1, ursa_cancel_all(&self->loop));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	ASSERT_EQ(1u, self->loop.stats.cancels);
}

TEST_HARNESS_MAIN
