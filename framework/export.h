/* SPDX-License-Identifier: MIT */
/*
 * What framework/ offers uring/ beyond the public API: the hooks that
 * let tasks await I/O with cancel-on-interrupt, and interrupt every task
 * of a loop at exit. Not installed.
 */
#ifndef URSA_FRAMEWORK_EXPORT_H
#define URSA_FRAMEWORK_EXPORT_H

#include <stdbool.h>

#include <ursa/deferred.h>
#include <ursa/sched.h>

/*
 * Await @d from the current task. An interruption calls @cancel(@ctx):
 * if it returns true the wait ends now with INTERRUPT; if false the task
 * keeps waiting for @d (an I/O request whose cancel is in flight).
 */
struct ursa_exit __ursa_await_cancelable(struct ursa_deferred *d,
					 bool (*cancel)(void *ctx), void *ctx);

/* Interrupt every unfinished task spawned on @rq; returns how many. */
unsigned int __ursa_runq_interrupt_tasks(struct ursa_runq *rq);

#endif /* URSA_FRAMEWORK_EXPORT_H */
