// SPDX-License-Identifier: MIT
/*
 * Signals as completions: a signalfd read through the ring calls back
 * once per signal, and stopping it closes the signalfd and leaves the
 * loop without work.
 */
#include <signal.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

FIXTURE(sig)
{
	struct ursa_loop loop;
	bool live;
	struct ursa_signal s;
	int calls;
	int signos[16];
	bool stop_in_cb;
};

FIXTURE_SETUP(sig)
{
	sigset_t none;

	/* Start from an empty mask: the harness may have blocked some. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
}

FIXTURE_TEARDOWN(sig)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
}

/* The fixture, from the watcher's callback. */
static FIXTURE_DATA(sig) * the;

static void on_signal(struct ursa_signal *s, int signo)
{
	if (the->calls < 16)
		the->signos[the->calls] = signo;
	the->calls++;
	if (the->stop_in_cb)
		ursa_signal_stop(s);
}

static int start_watch(FIXTURE_DATA(sig) * self, int a, int b)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, a);
	if (b)
		sigaddset(&set, b);
	the = self;
	return ursa_signal_start(&self->loop, &self->s, &set, on_signal);
}

TEST_F(sig, once_per_signal)
{
	sigset_t cur;
	int i;

	ASSERT_EQ(0, start_watch(self, SIGUSR1, 0));
	/* Blocked now, so kill() cannot end the test. */
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, NULL, &cur));
	ASSERT_EQ(1, sigismember(&cur, SIGUSR1));
	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(0, kill(getpid(), SIGUSR1));
		ASSERT_TRUE(loop_run_until(&self->loop, self->calls == i, 5000))
		TH_LOG("signal %d not seen", i);
		loop_run_for(&self->loop, 10);
		ASSERT_EQ(i, self->calls);
		ASSERT_EQ(SIGUSR1, self->signos[i - 1]);
	}
	ASSERT_TRUE(ursa_loop_has_work(&self->loop));
}

TEST_F(sig, two_signals)
{
	ASSERT_EQ(0, start_watch(self, SIGUSR1, SIGUSR2));
	ASSERT_EQ(0, kill(getpid(), SIGUSR2));
	ASSERT_EQ(0, kill(getpid(), SIGUSR1));
	ASSERT_TRUE(loop_run_until(&self->loop, self->calls == 2, 5000));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(2, self->calls);
	/* Both, once each, whatever order the signalfd gives them in. */
	ASSERT_EQ(SIGUSR1 + SIGUSR2, self->signos[0] + self->signos[1]);
	ASSERT_NE(self->signos[0], self->signos[1]);
}

TEST_F(sig, stop_leaves_no_work)
{
	int before = count_open_fds();

	ASSERT_EQ(0, start_watch(self, SIGUSR1, 0));
	ASSERT_EQ(before + 1, count_open_fds());
	ASSERT_TRUE(ursa_loop_has_work(&self->loop));
	ursa_signal_stop(&self->s);
	/* Stopping twice is harmless. */
	ursa_signal_stop(&self->s);
	/* The cancelled read completes and closes the signalfd. */
	ASSERT_TRUE(loop_run_until(&self->loop, self->s.fd < 0, 5000));
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
	ASSERT_EQ(before, count_open_fds());
	ASSERT_EQ(0, self->calls);
	/* Still blocked, and now nobody reads it: it stays pending. */
	ASSERT_EQ(0, kill(getpid(), SIGUSR1));
	loop_run_for(&self->loop, 10);
	ASSERT_EQ(0, self->calls);
}

TEST_F(sig, stop_from_callback)
{
	ASSERT_EQ(0, start_watch(self, SIGUSR1, 0));
	self->stop_in_cb = true;
	ASSERT_EQ(0, kill(getpid(), SIGUSR1));
	ASSERT_TRUE(loop_run_until(&self->loop, self->s.fd < 0, 5000));
	ASSERT_FALSE(ursa_loop_has_work(&self->loop));
	ASSERT_EQ(1, self->calls);
	ASSERT_EQ(SIGUSR1, self->signos[0]);
	/* ursa_loop_run() has nothing left to wait for. */
	ASSERT_EQ(0, ursa_loop_run(&self->loop));
}

TEST_F(sig, bad_args)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	EXPECT_EQ(-EINVAL,
		  ursa_signal_start(&self->loop, &self->s, NULL, on_signal));
	EXPECT_EQ(-EINVAL,
		  ursa_signal_start(&self->loop, &self->s, &set, NULL));
	EXPECT_FALSE(ursa_loop_has_work(&self->loop));
}

TEST_HARNESS_MAIN
