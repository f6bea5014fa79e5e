/* SPDX-License-Identifier: MIT */
/**
 * DOC: Signals as completions
 *
 * A &struct ursa_signal blocks a set of signals in the calling thread and
 * reads them from a signalfd through the ring, so that SIGINT, SIGTERM or
 * SIGHUP arrive as completions on the loop instead of interrupting it.
 * Its callback runs from the loop, where any ursa call is allowed, unlike
 * in a signal handler.
 *
 * Block the same signals in every other thread (start the watcher before
 * creating threads, which inherit the mask), or the kernel may deliver
 * them there instead.
 */
#ifndef URSA_SIGNAL_H
#define URSA_SIGNAL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>

#include <ursa/loop.h>

struct ursa_signal;

/**
 * typedef ursa_signal_fn - Called once per signal received.
 * @s: The watcher.
 * @signo: The signal number.
 */
typedef void ursa_signal_fn(struct ursa_signal *s, int signo);

/**
 * struct ursa_signal - A signalfd read through the loop.
 * @req: The read request on the signalfd.
 * @fd: The signalfd.
 * @info: The buffer the kernel reads the signal's details into.
 * @fn: The callback.
 * @data: The caller's pointer.
 * @stopping: ursa_signal_stop() was called; do not read again.
 */
struct ursa_signal {
	struct ursa_req req;
	int fd;
	struct signalfd_siginfo info;
	ursa_signal_fn *fn;
	void *data;
	bool stopping;
};

/**
 * ursa_signal_start() - Receive signals as completions.
 * @loop: The loop.
 * @s: The watcher, in caller-owned memory.
 * @set: The signals; they are blocked in the calling thread.
 * @fn: Called from the loop for each signal.
 *
 * The watcher counts as work: ursa_loop_run() keeps running until it is
 * stopped.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @set or @fn is %NULL.
 * * -EMFILE - no file descriptor left for the signalfd.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_signal_start(struct ursa_loop *loop, struct ursa_signal *s,
		      const sigset_t *set, ursa_signal_fn *fn);

/**
 * ursa_signal_stop() - Stop receiving signals.
 * @s: The watcher.
 *
 * The pending read is cancelled; the signalfd is closed when it
 * completes. The signals stay blocked.
 *
 * Context: The loop's thread, including the watcher's own callback.
 */
void ursa_signal_stop(struct ursa_signal *s);

#endif /* URSA_SIGNAL_H */
