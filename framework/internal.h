/* SPDX-License-Identifier: MIT */
/*
 * Shared between framework/ files; not installed.
 */
#ifndef URSA_FRAMEWORK_INTERNAL_H
#define URSA_FRAMEWORK_INTERNAL_H

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

#endif /* URSA_FRAMEWORK_INTERNAL_H */
