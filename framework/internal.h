/* SPDX-License-Identifier: MIT */
/*
 * Shared between framework/ files; not installed.
 */
#ifndef URSA_FRAMEWORK_INTERNAL_H
#define URSA_FRAMEWORK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <generated/autoconf.h>
#include <ursa/kconfig.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Internal assertions. With CONFIG_URSA_DEBUG they abort with the
 * condition and place; without it they compile to nothing, but the
 * condition is still type-checked.
 */
#define URSA_BUG_ON(cond)                                            \
	do {                                                         \
		if (IS_ENABLED(CONFIG_URSA_DEBUG) && unlikely(cond)) \
			__ursa_bug(__FILE__, __LINE__, #cond);       \
	} while (0)

__attribute__((noreturn, cold)) void __ursa_bug(const char *file, int line,
						const char *cond);

/*
 * The id of the task running on this thread, or 0 outside any task.
 * framework/task.c sets it around each switch.
 */
extern __thread uint64_t __ursa_current_id;

struct ursa_waiter;
struct ursa_exit;
struct ursa_list_head;
struct ursa_take;
struct ursa_work;

/*
 * Waiters on lists other than a deferred's (an input's readers, an emit
 * buffer's room waiters): park one on @list, or wake it with @exit onto
 * its run queue. ursa_waiter_cancel() works on either.
 */
void __ursa_waiter_park(struct ursa_waiter *w, struct ursa_list_head *list);
void __ursa_waiter_wake(struct ursa_waiter *w, const struct ursa_exit *exit);
void __ursa_waiters_wake_all(struct ursa_list_head *list,
			     const struct ursa_exit *exit);

/* Takes (take.c): the same for an input's or emit buffer's consumers. */
enum { TAKE_IDLE = 0, TAKE_WAITING, TAKE_QUEUED };
void __ursa_take_park(struct ursa_take *t, struct ursa_list_head *list);
void __ursa_take_queue(struct ursa_take *t, void (*run)(struct ursa_work *));
bool __ursa_take_unlink(struct ursa_take *t);

struct ursa_input;
struct ursa_deferred;
struct ursa_runq;

/* input.c: an emitting task was interrupted; drop its "taken" deferred. */
void __ursa_input_forget_taken(struct ursa_input *in, struct ursa_deferred *d);

#endif /* URSA_FRAMEWORK_INTERNAL_H */
