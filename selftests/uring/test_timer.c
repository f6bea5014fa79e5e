// SPDX-License-Identifier: MIT
/*
 * Timers and link timeouts: expiry order, 100,000 timers, cancel,
 * periodic timers, deadlines in the past, and a link timeout that fires
 * (FAILURE -ETIME) against one that loses to its op, and against a cancel
 * (INTERRUPT).
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

#define NR_ORDER 500
#define NR_MANY_TIMERS 100000

FIXTURE(timer)
{
	struct ursa_loop loop;
	bool live;
};

FIXTURE_SETUP(timer)
{
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
}

FIXTURE_TEARDOWN(timer)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
}

struct ordered {
	struct ursa_timer t[NR_ORDER];
	uint64_t expires[NR_ORDER];
	int order[NR_ORDER];
	int nr_fired;
	int calls[NR_ORDER];
};

static struct ordered *ord;

static void ordered_fn(struct ursa_timer *t)
{
	int i = (int)(t - ord->t);

	ord->calls[i]++;
	if (ord->nr_fired < NR_ORDER)
		ord->order[ord->nr_fired++] = i;
}

TEST_F(timer, fire_in_expiry_order)
{
	unsigned int seed = 12345;
	int i;

	ord = calloc(1, sizeof(*ord));
	ASSERT_TRUE(ord != NULL);
	for (i = 0; i < NR_ORDER; i++) {
		uint64_t delay = (uint64_t)(rand_r(&seed) % 20000) * 1000;

		ursa_timer_init(&ord->t[i], ordered_fn);
		ASSERT_EQ(0,
			  ursa_timer_start(&self->loop, &ord->t[i], delay, 0));
		ord->expires[i] = ord->t[i].expires;
	}
	ASSERT_EQ(-EBUSY, ursa_timer_start(&self->loop, &ord->t[0], 0, 0));
	ASSERT_TRUE(
		loop_run_until(&self->loop, ord->nr_fired == NR_ORDER, 5000));
	for (i = 0; i < NR_ORDER; i++) {
		ASSERT_EQ(1, ord->calls[i]);
	}
	for (i = 1; i < NR_ORDER; i++) {
		int a = ord->order[i - 1], b = ord->order[i];

		ASSERT_LE(ord->expires[a], ord->expires[b])
		TH_LOG("timer %d (%llu) fired before %d (%llu)", a,
		       (unsigned long long)ord->expires[a], b,
		       (unsigned long long)ord->expires[b]);
		if (ord->expires[a] == ord->expires[b]) {
			ASSERT_LT(a, b);
		}
	}
	ASSERT_EQ((uint64_t)NR_ORDER, self->loop.stats.timers_fired);
	free(ord);
}

TEST_F(timer, equal_deadlines_fire_in_start_order)
{
	uint64_t base = ursa_now_ns() + 10 * NSEC_PER_MSEC;
	unsigned int seed = 7;
	int i;

	ord = calloc(1, sizeof(*ord));
	ASSERT_TRUE(ord != NULL);
	/* Few distinct deadlines, so most of them tie. */
	for (i = 0; i < NR_ORDER; i++) {
		uint64_t at =
			base + (uint64_t)(rand_r(&seed) % 4) * NSEC_PER_MSEC;

		ursa_timer_init(&ord->t[i], ordered_fn);
		ASSERT_EQ(0,
			  ursa_timer_start_abs(&self->loop, &ord->t[i], at, 0));
		ord->expires[i] = at;
	}
	ASSERT_TRUE(
		loop_run_until(&self->loop, ord->nr_fired == NR_ORDER, 5000));
	for (i = 1; i < NR_ORDER; i++) {
		int a = ord->order[i - 1], b = ord->order[i];

		ASSERT_LE(ord->expires[a], ord->expires[b]);
		if (ord->expires[a] == ord->expires[b]) {
			ASSERT_LT(a, b) TH_LOG("tie broken out of start order");
		}
	}
	free(ord);
}

struct many_timers {
	struct ursa_timer t[NR_MANY_TIMERS];
	unsigned char calls[NR_MANY_TIMERS];
	unsigned int fired;
};

static struct many_timers *mt;

static void many_fn(struct ursa_timer *t)
{
	mt->calls[t - mt->t]++;
	mt->fired++;
}

TEST_F(timer, hundred_thousand_timers)
{
	struct ursa_exit e;
	unsigned int i;

	mt = calloc(1, sizeof(*mt));
	ASSERT_TRUE(mt != NULL);
	for (i = 0; i < NR_MANY_TIMERS; i++) {
		/* Spread over 50 ms, out of order. */
		uint64_t delay = (uint64_t)((i * 7919u) % 50000) * 1000;

		ursa_timer_init(&mt->t[i], many_fn);
		ASSERT_EQ(0,
			  ursa_timer_start(&self->loop, &mt->t[i], delay, 0));
	}
	ASSERT_EQ((unsigned int)NR_MANY_TIMERS, self->loop.nr_timers);
	ASSERT_TRUE(
		loop_run_until(&self->loop, mt->fired == NR_MANY_TIMERS, 20000))
	TH_LOG("%u of %u fired", mt->fired, NR_MANY_TIMERS);
	ASSERT_EQ((uint64_t)NR_MANY_TIMERS, self->loop.stats.timers_fired);
	/* Anything fired twice would show now; the guard adds one. */
	loop_run_for(&self->loop, 20);
	ASSERT_EQ((unsigned int)NR_MANY_TIMERS, mt->fired);
	for (i = 0; i < NR_MANY_TIMERS; i++) {
		ASSERT_EQ(1, mt->calls[i]) TH_LOG("timer %u", i);
		ASSERT_FALSE(ursa_timer_armed(&mt->t[i]));
		ASSERT_TRUE(ursa_deferred_poll(&mt->t[i].done, &e));
		ASSERT_EQ(URSA_EXIT_SUCCESS, e.kind);
	}
	ASSERT_EQ((uint64_t)NR_MANY_TIMERS + 1, self->loop.stats.timers_fired);
	ASSERT_EQ(0u, self->loop.nr_timers);
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	free(mt);
}

struct counted_timer {
	struct ursa_timer t;
	int calls, stop_after;
	uint64_t at[32];
};

static void counted_fn(struct ursa_timer *t)
{
	struct counted_timer *ct =
		ursa_container_of(t, struct counted_timer, t);

	if (ct->calls < 32)
		ct->at[ct->calls] = ursa_now_ns();
	ct->calls++;
	if (ct->stop_after && ct->calls == ct->stop_after)
		ursa_timer_cancel(t);
}

TEST_F(timer, cancel_before_expiry)
{
	struct counted_timer ct = { 0 };
	struct ursa_exit e;

	ursa_timer_init(&ct.t, counted_fn);
	ASSERT_EQ(0,
		  ursa_timer_start(&self->loop, &ct.t, 30 * NSEC_PER_MSEC, 0));
	ASSERT_TRUE(ursa_timer_armed(&ct.t));
	ASSERT_TRUE(ursa_timer_cancel(&ct.t));
	ASSERT_FALSE(ursa_timer_armed(&ct.t));
	ASSERT_TRUE(ursa_deferred_poll(&ct.t.done, &e));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, e.kind);
	ASSERT_EQ(-ECANCELED, e.err);
	ASSERT_FALSE(ursa_timer_cancel(&ct.t));
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	loop_run_for(&self->loop, 60);
	ASSERT_EQ(0, ct.calls);
	/* Only the guard of loop_run_for() fired. */
	ASSERT_EQ(1u, self->loop.stats.timers_fired);

	/* A cancelled timer can start again, with a fresh deferred. */
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &ct.t, 0, 0));
	ASSERT_FALSE(ursa_deferred_is_done(&ct.t.done));
	ASSERT_TRUE(loop_run_until(&self->loop, ct.calls, 1000));
	ASSERT_TRUE(ursa_deferred_poll(&ct.t.done, &e));
	ASSERT_EQ(URSA_EXIT_SUCCESS, e.kind);
}

TEST_F(timer, periodic_fires_with_period)
{
	const uint64_t period = 5 * NSEC_PER_MSEC;
	struct counted_timer ct = { .stop_after = 10 };
	struct ursa_exit e;
	uint64_t t0;
	int i;

	ursa_timer_init(&ct.t, counted_fn);
	t0 = ursa_now_ns();
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &ct.t, period, period));
	ASSERT_TRUE(loop_run_until(&self->loop, ct.calls == 10, 5000));
	ASSERT_FALSE(ursa_timer_armed(&ct.t));
	ASSERT_EQ(10u, self->loop.stats.timers_fired);
	loop_run_for(&self->loop, 30);
	ASSERT_EQ(10, ct.calls);
	/* Expiry k is due at t0 + k periods, never earlier. */
	for (i = 0; i < 10; i++) {
		ASSERT_LE(t0 + (uint64_t)(i + 1) * period, ct.at[i])
		TH_LOG("expiry %d was early", i + 1);
	}
	/* The deferred of a periodic timer completes only on cancel. */
	ASSERT_TRUE(ursa_deferred_poll(&ct.t.done, &e));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, e.kind);
}

TEST_F(timer, periodic_cancel_stops_it)
{
	struct counted_timer ct = { 0 };
	int seen;

	ursa_timer_init(&ct.t, counted_fn);
	ASSERT_EQ(0,
		  ursa_timer_start(&self->loop, &ct.t, 0, 2 * NSEC_PER_MSEC));
	ASSERT_TRUE(loop_run_until(&self->loop, ct.calls >= 3, 5000));
	ASSERT_FALSE(ursa_deferred_is_done(&ct.t.done));
	ASSERT_TRUE(ursa_timer_cancel(&ct.t));
	seen = ct.calls;
	loop_run_for(&self->loop, 20);
	ASSERT_EQ(seen, ct.calls);
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
}

TEST_F(timer, start_abs_in_the_past_fires_next_turn)
{
	struct counted_timer a = { 0 }, b = { 0 };
	struct ursa_exit e;

	ursa_timer_init(&a.t, counted_fn);
	ursa_timer_init(&b.t, counted_fn);
	ASSERT_EQ(0, ursa_timer_start_abs(&self->loop, &a.t,
					  ursa_now_ns() - 1000 * NSEC_PER_MSEC,
					  0));
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &b.t, 0, 0));
	ASSERT_EQ(0, a.calls);
	ASSERT_LE(2, ursa_loop_run_once(&self->loop, false));
	ASSERT_EQ(1, a.calls);
	ASSERT_EQ(1, b.calls);
	ASSERT_TRUE(ursa_deferred_poll(&a.t.done, &e));
	ASSERT_EQ(URSA_EXIT_SUCCESS, e.kind);
	ASSERT_EQ(0, e.val);
}

TEST_F(timer, exit_interrupts_armed_timers)
{
	struct counted_timer ct = { 0 };
	struct ursa_exit e;

	ursa_timer_init(&ct.t, counted_fn);
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &ct.t, 10000 * NSEC_PER_MSEC,
				      0));
	self->live = false;
	ursa_loop_exit(&self->loop);
	ASSERT_EQ(0, ct.calls);
	ASSERT_FALSE(ursa_timer_armed(&ct.t));
	ASSERT_TRUE(ursa_deferred_poll(&ct.t.done, &e));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, e.kind);
}

TEST_F(timer, link_timeout_fires_etime)
{
	unsigned char buf[32];
	struct treq t;
	uint64_t t0;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	memset(buf, 0x5a, sizeof(buf));
	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 20 * NSEC_PER_MSEC));
	t0 = ursa_now_ns();
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	ASSERT_LE(t0 + 20 * NSEC_PER_MSEC, ursa_now_ns());
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_FAILURE, t.exit.kind);
	ASSERT_EQ(-ETIME, t.exit.err);
	ASSERT_EQ(1u, self->loop.stats.timeouts);
	ASSERT_EQ(0u, self->loop.stats.cancels);
	ASSERT_EQ(0x5a, buf[0]);
	ASSERT_FALSE(ursa_req_busy(&t.req));

	/* The timeout stays on the request: the next start has it too. */
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls == 2, 5000));
	ASSERT_EQ(-ETIME, t.exit.err);
	ASSERT_EQ(2u, self->loop.stats.timeouts);
	close(p[0]);
	close(p[1]);
}

/*
 * The same for an op with no complete hook, whose CQEs take the loop's
 * fast path: the op's -ECANCELED and the timeout's -ETIME still meet.
 */
TEST_F(timer, link_timeout_fires_etime_readv)
{
	unsigned char buf[32];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 20 * NSEC_PER_MSEC));
	ASSERT_EQ(0, ursa_readv(&self->loop, &t.req, p[0], &iov, 1,
				URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_FAILURE, t.exit.kind);
	ASSERT_EQ(-ETIME, t.exit.err);
	ASSERT_EQ(1u, self->loop.stats.timeouts);
	ASSERT_EQ(0u, self->loop.stats.cancels);
	ASSERT_FALSE(ursa_req_busy(&t.req));
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	close(p[0]);
	close(p[1]);
}

TEST_F(timer, cancel_with_link_timeout_is_interrupt)
{
	unsigned char buf[32];
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 10000 * NSEC_PER_MSEC));
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	ASSERT_LE(0, ursa_loop_run_once(&self->loop, false));
	ASSERT_EQ(0, ursa_cancel(&self->loop, &t.req));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	ASSERT_EQ(-ECANCELED, t.exit.err);
	ASSERT_EQ(0u, self->loop.stats.timeouts);
	ASSERT_EQ(1u, self->loop.stats.cancels);
	close(p[0]);
	close(p[1]);
}

TEST_F(timer, op_wins_over_link_timeout)
{
	unsigned char buf[32];
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(5, write(p[1], "hello", 5));
	memset(buf, 0, sizeof(buf));
	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 50 * NSEC_PER_MSEC));
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	/* Past the timeout: it must not fire, nor complete anything again. */
	loop_run_for(&self->loop, 100);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	ASSERT_EQ(5, t.exit.val);
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(0u, self->loop.stats.timeouts);
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));

	/* A timeout of 0 removes it. */
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 0));
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	loop_run_for(&self->loop, 80);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(0, ursa_cancel(&self->loop, &t.req));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls == 2, 5000));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	close(p[0]);
	close(p[1]);
}

TEST_F(timer, exit_with_link_timeout_inflight)
{
	unsigned char buf[32];
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 10000 * NSEC_PER_MSEC));
	ASSERT_EQ(0, ursa_read(&self->loop, &t.req, p[0], buf, sizeof(buf),
			       URSA_OFF_CURRENT));
	ASSERT_LE(0, ursa_loop_run_once(&self->loop, false));
	self->live = false;
	ursa_loop_exit(&self->loop);
	/* Both CQEs, the read's and its timeout's, make one completion. */
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	close(p[0]);
	close(p[1]);
}

TEST_F(timer, multishot_refuses_link_timeout)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct treq t;
	int lfd;

	ASSERT_EQ(0, ursa_parse_addr("127.0.0.1:0", &ss, &len));
	lfd = ursa_listen((struct sockaddr *)&ss, len, 4, 0);
	ASSERT_LE(0, lfd);
	treq_init(&t);
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, NSEC_PER_MSEC));
	ASSERT_EQ(-EINVAL, ursa_accept_multishot(&self->loop, &t.req, lfd, 0));
	ASSERT_FALSE(ursa_req_busy(&t.req));
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	/* Without it, the same request starts. */
	ASSERT_EQ(0, ursa_req_set_timeout(&t.req, 0));
	ASSERT_EQ(0, ursa_accept_multishot(&self->loop, &t.req, lfd, 0));
	ASSERT_EQ(0, ursa_cancel(&self->loop, &t.req));
	ASSERT_TRUE(loop_run_until(&self->loop, t.calls, 5000));
	ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	close(lfd);
}

TEST_HARNESS_MAIN
