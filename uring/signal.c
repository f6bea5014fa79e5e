// SPDX-License-Identifier: MIT
/*
 * Signals as completions: a signalfd read through the ring, re-armed
 * after each signal.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <ursa/io.h>
#include <ursa/signal.h>

#include "internal.h"

static void signal_read_done(struct ursa_req *req,
			     const struct ursa_exit *exit);

static int signal_arm(struct ursa_signal *s)
{
	return ursa_read(s->req.loop, &s->req, s->fd, &s->info, sizeof(s->info),
			 URSA_OFF_CURRENT);
}

static void signal_read_done(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct ursa_signal *s = ursa_container_of(req, struct ursa_signal, req);

	if (ursa_exit_is_success(exit) && exit->val == sizeof(s->info) &&
	    !s->stopping)
		s->fn(s, (int)s->info.ssi_signo);
	/* The callback may have stopped us; so may the loop's exit. */
	if (s->stopping || !ursa_exit_is_success(exit) || signal_arm(s) != 0) {
		close(s->fd);
		s->fd = -1;
	}
}

int ursa_signal_start(struct ursa_loop *loop, struct ursa_signal *s,
		      const sigset_t *set, ursa_signal_fn *fn)
{
	int ret;

	if (!set || !fn)
		return -EINVAL;
	if (loop->exiting)
		return -ESHUTDOWN;
	memset(s, 0, sizeof(*s));
	ursa_req_init(&s->req, signal_read_done);
	s->req.loop = loop;
	s->fn = fn;
	ret = pthread_sigmask(SIG_BLOCK, set, NULL);
	if (ret)
		return -ret;
	/* Blocking: io_uring polls it; O_NONBLOCK would answer -EAGAIN. */
	s->fd = signalfd(-1, set, SFD_CLOEXEC);
	if (s->fd < 0)
		return -errno;
	ret = signal_arm(s);
	if (ret) {
		close(s->fd);
		s->fd = -1;
	}
	return ret;
}

void ursa_signal_stop(struct ursa_signal *s)
{
	if (s->stopping || s->fd < 0)
		return;
	s->stopping = true;
	if (ursa_req_busy(&s->req))
		ursa_cancel(s->req.loop, &s->req);
}
