// SPDX-License-Identifier: MIT
/*
 * The completion loop: ring setup and its fallbacks, a NOP through the
 * deferred and the callback, run, stop and post, exit with requests in
 * flight, and a tiny ring driving 100,000 NOPs.
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

#define NR_MANY_NOPS 100000
#define NR_MANY_INFLIGHT 64

FIXTURE(loop)
{
	struct ursa_loop loop;
	bool live;
};

FIXTURE_SETUP(loop)
{
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
}

FIXTURE_TEARDOWN(loop)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
}

/* The ring setup: the default, and the two forced fallbacks. */
FIXTURE(setup)
{
	struct ursa_loop loop;
	bool live;
};

FIXTURE_VARIANT(setup)
{
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(setup, best){
	.flags = 0,
};

FIXTURE_VARIANT_ADD(setup, no_defer_taskrun){
	.flags = URSA_LOOP_NO_DEFER_TASKRUN,
};

FIXTURE_VARIANT_ADD(setup, no_taskrun_flags){
	.flags = URSA_LOOP_NO_TASKRUN_FLAGS,
};

FIXTURE_SETUP(setup)
{
	struct ursa_loop_params p = { .flags = variant->flags };

	LOOP_INIT_OR_SKIP(&self->loop, &p);
	self->live = true;
}

FIXTURE_TEARDOWN(setup)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
}

TEST_F(setup, picks_flags)
{
	unsigned int f = self->loop.setup_flags;
	bool defer = f & IORING_SETUP_DEFER_TASKRUN;
	bool coop = f & IORING_SETUP_COOP_TASKRUN;
	bool single = f & IORING_SETUP_SINGLE_ISSUER;
	bool taskrun_flag = f & IORING_SETUP_TASKRUN_FLAG;
	bool sqpoll = f & IORING_SETUP_SQPOLL;

	TH_LOG("setup flags %#x", f);
	ASSERT_FALSE(sqpoll);
	/* DEFER_TASKRUN needs SINGLE_ISSUER, and excludes COOP_TASKRUN. */
	if (defer) {
		ASSERT_TRUE(single);
		ASSERT_FALSE(coop);
	}
	switch (variant->flags) {
	case 0:
		/* DEFER_TASKRUN is in 6.1; COOP_TASKRUN in 5.19. */
		if (kernel_at_least(6, 1)) {
			ASSERT_TRUE(defer);
		} else if (kernel_at_least(5, 19)) {
			ASSERT_TRUE(coop);
		}
		break;
	case URSA_LOOP_NO_DEFER_TASKRUN:
		ASSERT_FALSE(defer);
		if (kernel_at_least(5, 19)) {
			ASSERT_TRUE(coop);
		}
		break;
	default:
		ASSERT_FALSE(defer);
		ASSERT_FALSE(coop);
		ASSERT_FALSE(taskrun_flag);
		break;
	}
}

TEST_F(setup, runs_nops)
{
	struct treq t[300];
	int i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 300; i++) {
			if (!round)
				treq_init(&t[i]);
			ASSERT_EQ(0, ursa_nop(&self->loop, &t[i].req));
		}
		ASSERT_TRUE(loop_run_until(&self->loop,
					   t[299].calls == round + 1, 5000));
		loop_run_for(&self->loop, 5);
		for (i = 0; i < 300; i++) {
			ASSERT_EQ(round + 1, t[i].calls);
			ASSERT_EQ(URSA_EXIT_SUCCESS, t[i].exit.kind);
			ASSERT_EQ(0, t[i].exit.val);
		}
	}
	ASSERT_EQ(900u, self->loop.stats.completed[URSA_OP_NOP]);
}

struct evfd_post {
	struct ursa_loop *loop;
	struct ursa_work work;
	int ran;
};

static void evfd_post_fn(struct ursa_work *work)
{
	struct evfd_post *e = ursa_container_of(work, struct evfd_post, work);

	e->ran++;
}

static void *evfd_post_thread(void *arg)
{
	struct evfd_post *e = arg;

	usleep(50 * 1000);
	ursa_loop_post(e->loop, &e->work);
	return NULL;
}

/* poll(2) on @fd for up to @ms; then empty its counter. */
static bool evfd_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

/* Run turns without blocking until one handles nothing. */
static void run_idle(struct ursa_loop *loop)
{
	while (ursa_loop_run_once(loop, false) > 0)
		;
}

/*
 * A waiter in poll(2) on a registered eventfd wakes for a completion and
 * for posted work, without entering the ring, with every ring setup.
 */
TEST_F(setup, eventfd_wakes_a_poll_wait)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), p[2];
	struct evfd_post e = { .loop = &self->loop };
	char buf[8], c = 'x';
	struct treq t;
	pthread_t th;
	int i;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(-EBADF, ursa_loop_register_eventfd(&self->loop, -1));
	ASSERT_EQ(-EINVAL, ursa_loop_register_eventfd(&self->loop, p[0]));
	ASSERT_EQ(-ENXIO, ursa_loop_unregister_eventfd(&self->loop));
	ASSERT_EQ(0, ursa_loop_register_eventfd(&self->loop, efd));
	ASSERT_EQ(-EBUSY, ursa_loop_register_eventfd(&self->loop, efd));

	/* A read that waits for the pipe: nothing to signal yet. */
	treq_init(&t);
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	run_idle(&self->loop);
	(void)evfd_wait(efd, 0);
	ASSERT_FALSE(evfd_wait(efd, 50));
	ASSERT_EQ(1, write(p[1], &c, 1));
	ASSERT_TRUE(evfd_wait(efd, 5000));
	for (i = 0; i < 100 && !t.calls; i++) {
		run_idle(&self->loop);
		if (!t.calls)
			(void)evfd_wait(efd, 50);
	}
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(1, t.exit.val);

	/* Work posted from another thread. */
	run_idle(&self->loop);
	(void)evfd_wait(efd, 0);
	ursa_work_init(&e.work, evfd_post_fn);
	ASSERT_EQ(0, pthread_create(&th, NULL, evfd_post_thread, &e));
	ASSERT_TRUE(evfd_wait(efd, 5000));
	for (i = 0; i < 100 && !e.ran; i++) {
		run_idle(&self->loop);
		if (!e.ran)
			(void)evfd_wait(efd, 50);
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(1, e.ran);

	ASSERT_EQ(0, ursa_loop_unregister_eventfd(&self->loop));
	ASSERT_EQ(-ENXIO, ursa_loop_unregister_eventfd(&self->loop));
	close(p[0]);
	close(p[1]);
	close(efd);
}

TEST_F(loop, cq_twice_sq)
{
	struct ursa_loop_params p = { .sq_entries = 8, .cq_entries = 4 };
	struct ursa_loop l2;

	ASSERT_LE(2 * self->loop.ring.sq.ring_entries,
		  self->loop.ring.cq.ring_entries);
	ASSERT_EQ(256u, self->loop.ring.sq.ring_entries);

	/* A CQ asked smaller than twice the SQ is raised. */
	ASSERT_EQ(0, ursa_loop_init(&l2, &p));
	EXPECT_EQ(8u, l2.ring.sq.ring_entries);
	EXPECT_LE(16u, l2.ring.cq.ring_entries);
	ursa_loop_exit(&l2);

	/* A larger one is kept, rounded to a power of 2. */
	p.cq_entries = 100;
	ASSERT_EQ(0, ursa_loop_init(&l2, &p));
	EXPECT_EQ(8u, l2.ring.sq.ring_entries);
	EXPECT_EQ(128u, l2.ring.cq.ring_entries);
	ursa_loop_exit(&l2);
}

struct counted_waiter {
	struct ursa_waiter w;
	int calls;
	struct ursa_exit exit;
};

static void counted_waiter_fn(struct ursa_waiter *w,
			      const struct ursa_exit *exit)
{
	struct counted_waiter *cw =
		ursa_container_of(w, struct counted_waiter, w);

	cw->calls++;
	cw->exit = *exit;
}

TEST_F(loop, nop_completes_once)
{
	struct counted_waiter cw = { 0 };
	struct ursa_exit e;
	struct treq t;

	treq_init(&t);
	ursa_waiter_init(&cw.w, ursa_loop_runq(&self->loop), counted_waiter_fn);
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	ASSERT_TRUE(ursa_req_busy(&t.req));
	ASSERT_EQ(0, ursa_deferred_await(&t.req.done, &cw.w));
	ASSERT_FALSE(ursa_deferred_is_done(&t.req.done));

	ASSERT_TRUE(loop_run_until(&self->loop, t.calls && cw.calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(1, cw.calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	ASSERT_EQ(0, t.exit.val);
	ASSERT_EQ(URSA_EXIT_SUCCESS, cw.exit.kind);
	ASSERT_EQ(0, cw.exit.val);
	ASSERT_TRUE(ursa_deferred_poll(&t.req.done, &e));
	ASSERT_EQ(URSA_EXIT_SUCCESS, e.kind);
	ASSERT_EQ(0, ursa_exit_res(&e));
	ASSERT_FALSE(ursa_req_busy(&t.req));
	ASSERT_EQ(1u, self->loop.stats.submitted[URSA_OP_NOP]);
	ASSERT_EQ(1u, self->loop.stats.completed[URSA_OP_NOP]);
}

TEST_F(loop, no_callback_inside_start)
{
	struct ursa_loop_params p = { .sq_entries = 8, .cq_entries = 16 };
	struct treq t[40];
	struct ursa_loop l2;
	int i, total;

	ASSERT_EQ(0, ursa_loop_init(&l2, &p));
	/* More than the SQ holds: the later starts flush it. */
	for (i = 0; i < 40; i++) {
		treq_init(&t[i]);
		ASSERT_EQ(0, ursa_nop(&l2, &t[i].req));
		for (total = 0; total <= i; total++) {
			ASSERT_EQ(0, t[total].calls)
			TH_LOG("callback %d ran inside start %d", total, i);
		}
	}
	ASSERT_TRUE(loop_run_until(&l2, t[39].calls, 5000));
	for (i = 0; i < 40; i++) {
		ASSERT_EQ(1, t[i].calls);
	}
	ursa_loop_exit(&l2);
}

TEST_F(loop, start_inflight_is_ebusy)
{
	char buf[8];
	int p[2];
	struct treq t;

	ASSERT_EQ(0, pipe(p));
	treq_init(&t);
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	ASSERT_EQ(-EBUSY, ursa_nop(&self->loop, &t.req));
	ASSERT_EQ(-EBUSY, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
				    URSA_OFF_CURRENT));
	ASSERT_EQ(-EBUSY, ursa_req_set_timeout(&t.req, 1000));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(1u, self->loop.stats.submitted[URSA_OP_NOP]);
	ASSERT_EQ(0u, self->loop.stats.submitted[URSA_OP_READ]);

	/* Idle again: it can be reused. */
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls == 2, 5000));
	close(p[0]);
	close(p[1]);
}

/* A restart makes the request's deferred pending again, for a new await. */
TEST_F(loop, restart_rearms_deferred)
{
	struct counted_waiter cw = { 0 };
	struct ursa_exit e;
	struct treq t;
	int round;

	treq_init(&t);
	ursa_waiter_init(&cw.w, ursa_loop_runq(&self->loop), counted_waiter_fn);
	for (round = 1; round <= 3; round++) {
		ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
		ASSERT_FALSE(ursa_deferred_is_done(&t.req.done));
		ASSERT_FALSE(ursa_deferred_poll(&t.req.done, &e));
		ASSERT_EQ(0, ursa_deferred_await(&t.req.done, &cw.w));
		ASSERT_TRUE(
			loop_run_until(&self->loop, cw.calls == round, 5000));
		ASSERT_EQ(round, t.calls);
		ASSERT_TRUE(ursa_deferred_is_done(&t.req.done));
		ASSERT_EQ(URSA_EXIT_SUCCESS, cw.exit.kind);
	}
	/* Done, not restarted: a late await is queued at once. */
	ASSERT_EQ(0, ursa_deferred_await(&t.req.done, &cw.w));
	ASSERT_TRUE(loop_run_until(&self->loop, cw.calls == 4, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(3, t.calls);
	ASSERT_EQ(4, cw.calls);
}

/* A NOP with a link timeout (not the NOP's inline path) completes once. */
TEST_F(loop, nop_with_link_timeout)
{
	struct treq t;

	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 10 * URSA_TH_NSEC_PER_SEC));
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	ASSERT_TRUE(loop_run_until(&self->loop,
				   t.calls && !ursa_req_busy(&t.req), 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	ASSERT_EQ(0, t.exit.val);
	ASSERT_EQ(0u, self->loop.stats.timeouts);
	ASSERT_EQ(1u, self->loop.stats.submitted[URSA_OP_NOP]);
	ASSERT_EQ(1u, self->loop.stats.completed[URSA_OP_NOP]);
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
}

/*
 * By the time a callback runs, its CQE is gone from the CQ: a callback
 * that makes the loop reap (a full SQ flushed on an old kernel) must not
 * see it again.
 */
struct cq_check {
	struct treq t[8];
	int seen_own;
};

static struct cq_check *cq_check;

static void cq_check_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct io_uring *ring = &req->loop->ring;
	unsigned int head = *ring->cq.khead;
	unsigned int tail = io_uring_smp_load_acquire(ring->cq.ktail);

	for (; head != tail; head++)
		if (ring->cq.cqes[head & ring->cq.ring_mask].user_data ==
		    (uint64_t)(uintptr_t)req)
			cq_check->seen_own++;
	treq_cb(req, exit);
}

TEST_F(loop, callback_runs_after_its_cqe_is_consumed)
{
	struct cq_check c = { 0 };
	int i, done;

	cq_check = &c;
	for (i = 0; i < 8; i++) {
		treq_init(&c.t[i]);
		c.t[i].req.cb = cq_check_cb;
		ASSERT_EQ(0, ursa_nop(&self->loop, &c.t[i].req));
	}
	ASSERT_TRUE(loop_run_until(&self->loop, c.t[7].calls, 5000));
	for (i = 0, done = 0; i < 8; i++)
		done += c.t[i].calls;
	ASSERT_EQ(8, done);
	ASSERT_EQ(0, c.seen_own);
}

TEST_F(loop, async_req_runs_on_io_wq)
{
	char path[] = "/tmp/ursa-async-XXXXXX";
	char out[4096], in[4096];
	struct treq t;
	int fd, i;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	memset(out, 'a', sizeof(out));
	ASSERT_EQ((ssize_t)sizeof(out), pwrite(fd, out, sizeof(out), 0));
	treq_init(&t);

	/* A cached read is normally done inline, without a worker. */
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, fd, in, sizeof(in), 0));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls == 1, 5000));
	ASSERT_EQ(4096, t.exit.val);
	TH_LOG("io-wq workers after a plain read: %d", iou_workers());

	/* The setting is sticky: both starts go to io-wq. */
	ASSERT_EQ(0, ursa_req_set_async(&t.req, true));
	for (i = 0; i < 2; i++) {
		memset(in, 0, sizeof(in));
		ASSERT_EQ(0, ursa_read(&self->loop, &t.req, fd, in, sizeof(in),
				       0));
		ASSERT_EQ(-EBUSY, ursa_req_set_async(&t.req, false));
		ASSERT_TRUE(
			loop_run_until(&self->loop, t.calls == 2 + i, 5000));
		ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
		ASSERT_EQ(4096, t.exit.val);
		ASSERT_EQ(0, memcmp(in, out, sizeof(in)));
	}
	ASSERT_LE(1, iou_workers());
	ASSERT_EQ(0, ursa_req_set_async(&t.req, false));
	close(fd);
}

TEST_F(loop, run_returns_without_work)
{
	struct treq t[10];
	int i;

	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
	for (i = 0; i < 10; i++) {
		treq_init(&t[i]);
		ASSERT_EQ(0, ursa_nop(&self->loop, &t[i].req));
	}
	ASSERT_TRUE(ursa_loop_has_work(&self->loop));
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(1, t[i].calls);
	}
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
}

static void stop_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	treq_cb(req, exit);
	ursa_loop_stop(req->loop);
}

TEST_F(loop, stop_from_callback)
{
	struct ursa_timer far;
	uint64_t t0;
	struct treq t;

	/* A far timer keeps the loop busy: only stop can end the run. */
	ursa_timer_init(&far, NULL);
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &far, 60000 * NSEC_PER_MSEC,
				      0));
	treq_init(&t);
	t.req.cb = stop_cb;
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	t0 = ursa_now_ns();
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
	ASSERT_LT(ursa_now_ns() - t0, 5000 * NSEC_PER_MSEC);
	ASSERT_EQ(1, t.calls);
	ASSERT_TRUE(ursa_timer_armed(&far));
	ASSERT_TRUE(ursa_loop_has_work(&self->loop));

	/* The stop was consumed: the next run works normally. */
	ursa_timer_cancel(&far);
	t.req.cb = treq_cb;
	ASSERT_EQ(0, ursa_nop(&self->loop, &t.req));
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
	ASSERT_EQ(2, t.calls);
}

static void *stop_thread(void *arg)
{
	struct timespec ts = { .tv_nsec = 20 * NSEC_PER_MSEC };

	nanosleep(&ts, NULL);
	ursa_loop_stop(arg);
	return NULL;
}

TEST_F(loop, stop_from_thread)
{
	struct ursa_timer far;
	pthread_t th;
	uint64_t t0;

	if (running_on_valgrind())
		SKIP(return, "valgrind blocks other threads in io_uring_enter");
	ursa_timer_init(&far, NULL);
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &far, 60000 * NSEC_PER_MSEC,
				      0));
	t0 = ursa_now_ns();
	ASSERT_EQ(0, pthread_create(&th, NULL, stop_thread, &self->loop));
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_LT(ursa_now_ns() - t0, 5000 * NSEC_PER_MSEC);
	ASSERT_TRUE(ursa_timer_armed(&far));
	ursa_timer_cancel(&far);
}

#define NR_POSTS 1000

struct post_item {
	struct ursa_work work;
	pthread_t ran_on;
	int calls;
};

struct post_ctx {
	struct ursa_loop *loop;
	struct post_item items[NR_POSTS];
	int errors;
	int ran;
};

static struct post_ctx *post_ctx;

static void post_fn(struct ursa_work *work)
{
	struct post_item *it = ursa_container_of(work, struct post_item, work);

	it->ran_on = pthread_self();
	it->calls++;
	post_ctx->ran++;
}

static void *post_thread(void *arg)
{
	struct post_ctx *c = arg;
	int i;

	for (i = 0; i < NR_POSTS; i++)
		if (ursa_loop_post(c->loop, &c->items[i].work))
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

TEST_F(loop, post_from_thread)
{
	struct post_ctx *c = calloc(1, sizeof(*c));
	pthread_t th, me = pthread_self();
	int i;

	if (running_on_valgrind())
		SKIP(free(c);
		     return, "valgrind blocks other threads in io_uring_enter");
	ASSERT_TRUE(c != NULL);
	post_ctx = c;
	c->loop = &self->loop;
	for (i = 0; i < NR_POSTS; i++)
		ursa_work_init(&c->items[i].work, post_fn);
	ASSERT_EQ(0, pthread_create(&th, NULL, post_thread, c));
	ASSERT_TRUE(loop_run_until(&self->loop, c->ran == NR_POSTS, 10000))
	TH_LOG("%d of %d posted items ran", c->ran, NR_POSTS);
	ASSERT_EQ(0, pthread_join(th, NULL));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(0, c->errors);
	ASSERT_EQ(NR_POSTS, c->ran);
	for (i = 0; i < NR_POSTS; i++) {
		ASSERT_EQ(1, c->items[i].calls);
		ASSERT_TRUE(pthread_equal(me, c->items[i].ran_on));
		ASSERT_FALSE(pthread_equal(th, c->items[i].ran_on));
	}
	free(c);
}

TEST_F(loop, post_queued_is_ebusy)
{
	struct post_ctx *c = calloc(1, sizeof(*c));

	ASSERT_TRUE(c != NULL);
	post_ctx = c;
	ursa_work_init(&c->items[0].work, post_fn);
	ASSERT_EQ(0, ursa_loop_post(&self->loop, &c->items[0].work));
	ASSERT_EQ(-EBUSY, ursa_loop_post(&self->loop, &c->items[0].work));
	ASSERT_TRUE(loop_run_until(&self->loop, c->ran, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, c->items[0].calls);
	free(c);
}

#define PATTERN 0xa5

struct exit_read {
	struct treq t;
	unsigned char buf[64];
	bool buf_intact_in_cb;
	struct treq other;
	struct ursa_timer timer;
	struct ursa_work work;
	int nop_ret, read_ret, timer_ret, post_ret;
	int pipe_fd;
};

static bool buf_is(const unsigned char *buf, size_t len, unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != c)
			return false;
	return true;
}

static void exit_read_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct exit_read *er = ursa_container_of(req, struct exit_read, t.req);
	struct ursa_loop *loop = req->loop;

	treq_cb(req, exit);
	er->buf_intact_in_cb = buf_is(er->buf, sizeof(er->buf), PATTERN);
	er->nop_ret = ursa_nop(loop, &er->other.req);
	er->read_ret = ursa_read(loop, &er->other.req, er->pipe_fd, er->buf,
				 sizeof(er->buf), URSA_OFF_CURRENT);
	er->timer_ret = ursa_timer_start(loop, &er->timer, 0, 0);
	er->post_ret = ursa_loop_post(loop, &er->work);
}

static void nothing_fn(struct ursa_work *work)
{
	(void)work;
}

TEST_F(loop, exit_cancels_inflight)
{
	struct exit_read er;
	int p[2], i;

	memset(&er, 0, sizeof(er));
	ASSERT_EQ(0, pipe(p));
	treq_init(&er.t);
	treq_init(&er.other);
	er.t.req.cb = exit_read_cb;
	er.pipe_fd = p[0];
	ursa_timer_init(&er.timer, NULL);
	ursa_work_init(&er.work, nothing_fn);
	memset(er.buf, PATTERN, sizeof(er.buf));
	ASSERT_EQ(0, ursa_read(&self->loop, &er.t.req, p[0], er.buf,
			       sizeof(er.buf), URSA_OFF_CURRENT));
	for (i = 0; i < 5; i++) {
		ASSERT_LE(0, ursa_loop_run_once(&self->loop, false));
	}
	ASSERT_EQ(0, er.t.calls);
	ASSERT_TRUE(ursa_req_busy(&er.t.req));

	self->live = false;
	ursa_loop_exit(&self->loop);
	ASSERT_EQ(1, er.t.calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, er.t.exit.kind);
	ASSERT_EQ(-ECANCELED, er.t.exit.err);
	ASSERT_TRUE(er.buf_intact_in_cb);
	ASSERT_TRUE(buf_is(er.buf, sizeof(er.buf), PATTERN));
	ASSERT_TRUE(ursa_deferred_is_done(&er.t.req.done));
	ASSERT_FALSE(ursa_req_busy(&er.t.req));
	ASSERT_EQ(0, er.other.calls);
	close(p[0]);
	close(p[1]);
}

TEST_F(loop, start_during_exit_is_eshutdown)
{
	struct exit_read er;
	int p[2];

	memset(&er, 0, sizeof(er));
	ASSERT_EQ(0, pipe(p));
	treq_init(&er.t);
	treq_init(&er.other);
	er.t.req.cb = exit_read_cb;
	er.pipe_fd = p[0];
	ursa_timer_init(&er.timer, NULL);
	ursa_work_init(&er.work, nothing_fn);
	ASSERT_EQ(0, ursa_read(&self->loop, &er.t.req, p[0], er.buf,
			       sizeof(er.buf), URSA_OFF_CURRENT));
	self->live = false;
	ursa_loop_exit(&self->loop);
	ASSERT_EQ(1, er.t.calls);
	EXPECT_EQ(-ESHUTDOWN, er.nop_ret);
	EXPECT_EQ(-ESHUTDOWN, er.read_ret);
	EXPECT_EQ(-ESHUTDOWN, er.timer_ret);
	EXPECT_EQ(-ESHUTDOWN, er.post_ret);
	EXPECT_FALSE(ursa_req_busy(&er.other.req));
	EXPECT_FALSE(ursa_timer_armed(&er.timer));
	close(p[0]);
	close(p[1]);
}

struct many {
	struct ursa_req reqs[NR_MANY_INFLIGHT];
	uint32_t seq[NR_MANY_INFLIGHT];
	unsigned char seen[NR_MANY_NOPS];
	unsigned int started, completed, bad;
};

static struct many *many;

static void many_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	size_t slot = (size_t)(req - many->reqs);

	if (exit->kind != URSA_EXIT_SUCCESS || exit->val != 0)
		many->bad++;
	many->seen[many->seq[slot]]++;
	many->completed++;
	if (many->started < NR_MANY_NOPS) {
		many->seq[slot] = many->started++;
		if (ursa_nop(req->loop, req))
			many->bad++;
	}
}

TEST_F(loop, tiny_ring_100k_nops)
{
	struct ursa_loop_params p = { .sq_entries = 8, .cq_entries = 16 };
	const struct ursa_loop_stats *st;
	struct ursa_loop l2;
	unsigned int i;

	many = calloc(1, sizeof(*many));
	ASSERT_TRUE(many != NULL);
	ASSERT_EQ(0, ursa_loop_init(&l2, &p));
	ASSERT_EQ(8u, l2.ring.sq.ring_entries);
	ASSERT_EQ(16u, l2.ring.cq.ring_entries);
	for (i = 0; i < NR_MANY_INFLIGHT; i++) {
		ursa_req_init(&many->reqs[i], many_cb);
		many->seq[i] = many->started++;
		ASSERT_EQ(0, ursa_nop(&l2, &many->reqs[i]));
	}
	ASSERT_TRUE(loop_run_until(&l2, many->completed == NR_MANY_NOPS, 60000))
	TH_LOG("%u of %u NOPs completed", many->completed, NR_MANY_NOPS);
	loop_run_for(&l2, 10);
	ASSERT_EQ(0u, many->bad);
	ASSERT_EQ((unsigned int)NR_MANY_NOPS, many->completed);
	for (i = 0; i < NR_MANY_NOPS; i++) {
		ASSERT_EQ(1, many->seen[i]) TH_LOG("NOP %u", i);
	}
	st = ursa_loop_stats(&l2);
	ASSERT_EQ((uint64_t)NR_MANY_NOPS, st->submitted[URSA_OP_NOP]);
	ASSERT_EQ((uint64_t)NR_MANY_NOPS, st->completed[URSA_OP_NOP]);
	ASSERT_EQ(0u, st->errors[URSA_OP_NOP]);
	ASSERT_FALSE(ursa_loop_has_work(&l2));
	TH_LOG("turns %llu enters %llu sq_full %llu cq_overflows %llu",
	       (unsigned long long)st->turns, (unsigned long long)st->enters,
	       (unsigned long long)st->sq_full,
	       (unsigned long long)st->cq_overflows);
	ursa_loop_exit(&l2);
	free(many);
}

/*
 * A flood of CQEs cannot starve the run queue. Each NOP's callback starts
 * it again; on an 8-entry SQ the ninth start flushes the SQ from inside
 * the reap, and NOPs complete at once, so the CQ refills as fast as it is
 * reaped. One turn reaps at most a CQ's worth, then runs the run queue.
 */
#define NR_FLOOD_REQS 32
#define NR_FLOOD_MAX 100000

struct flood {
	struct ursa_req reqs[NR_FLOOD_REQS];
	struct ursa_work work;
	unsigned int completed;
	unsigned int completed_at_work;
	unsigned int bad;
	bool stop;
	bool work_ran;
};

static struct flood *flood;

static void flood_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	flood->completed++;
	if (exit->kind != URSA_EXIT_SUCCESS)
		flood->bad++;
	if (!flood->stop && flood->completed < NR_FLOOD_MAX &&
	    ursa_nop(req->loop, req))
		flood->bad++;
}

static void flood_work(struct ursa_work *work)
{
	struct flood *f = ursa_container_of(work, struct flood, work);

	f->work_ran = true;
	f->completed_at_work = f->completed;
	f->stop = true;
}

TEST_F(loop, reap_capped_per_turn)
{
	struct ursa_loop_params p = { .sq_entries = 8, .cq_entries = 16 };
	struct ursa_loop l2;
	unsigned int i, cq;

	flood = calloc(1, sizeof(*flood));
	ASSERT_TRUE(flood != NULL);
	ASSERT_EQ(0, ursa_loop_init(&l2, &p));
	cq = l2.ring.cq.ring_entries;
	for (i = 0; i < NR_FLOOD_REQS; i++) {
		ursa_req_init(&flood->reqs[i], flood_cb);
		ASSERT_EQ(0, ursa_nop(&l2, &flood->reqs[i]));
	}
	ursa_work_init(&flood->work, flood_work);
	ASSERT_TRUE(ursa_runq_queue(ursa_loop_runq(&l2), &flood->work));

	ASSERT_LT(0, ursa_loop_run_once(&l2, true));
	ASSERT_TRUE(flood->work_ran);
	TH_LOG("%u CQEs dispatched before the run queue ran (CQ %u)",
	       flood->completed_at_work, cq);
	ASSERT_GE(cq, flood->completed_at_work);

	/* Stopped: what is in flight completes, and nothing else starts. */
	ASSERT_EQ(0, ursa_loop_run(&l2));
	ASSERT_EQ(0u, flood->bad);
	ASSERT_FALSE(ursa_loop_has_work(&l2));
	ursa_loop_exit(&l2);
	free(flood);
}

TEST_HARNESS_MAIN
