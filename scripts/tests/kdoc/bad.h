/* SPDX-License-Identifier: MIT */
/*
 * A sample header for scripts/tests/kdoc/run.sh: each declaration below
 * has one mistake that "scripts/kdoc check" must report. run.sh greps for
 * the messages; keep the two in step.
 */
#ifndef URSA_TESTS_BAD_H
#define URSA_TESTS_BAD_H

#include <stdint.h>

/**
 * ursa_bad_missing_param() - A parameter is not described.
 * @a: The first.
 *
 * Context: Any.
 */
void ursa_bad_missing_param(int a, int b);

/**
 * ursa_bad_extra_param() - A described parameter does not exist.
 * @a: The first.
 * @c: Not a parameter.
 *
 * Context: Any.
 */
void ursa_bad_extra_param(int a);

/**
 * ursa_bad_no_return() - A value is returned but not described.
 * @a: The argument.
 *
 * Context: Any.
 */
int ursa_bad_no_return(int a);

/**
 * ursa_bad_no_context() - The context is not said.
 * @a: The argument.
 */
static inline void ursa_bad_no_context(int a)
{
	(void)a;
}

void ursa_bad_undocumented(void);

/**
 * ursa_bad_wrong_name() - The comment names another function.
 *
 * Context: Any.
 */
void ursa_bad_right_name(void);

/**
 * ursa_bad_detached() - A blank line separates the comment from its
 * function.
 *
 * Context: Any.
 */

void ursa_bad_detached(void);

/**
 * ursa_bad_variadic() - The variadic arguments are not described.
 * @fmt: A format.
 *
 * Context: Any.
 * Return: a count.
 */
int ursa_bad_variadic(const char *fmt, ...);

/**
 * struct ursa_bad_struct - Members are not described.
 * @x: Described.
 * @val: Described, in an anonymous union.
 * @stats: Described; its members are not, which is only a warning.
 * @gone: Not a member.
 */
struct ursa_bad_struct {
	int x;
	int y;
	union {
		int64_t val;
		void *ptr;
	};
	struct {
		uint64_t runs;
	} stats;
};

struct ursa_bad_undocumented {
	int x;
};

/**
 * struct ursa_bad_kind - The comment says struct; this is a union.
 * @a: A member.
 */
union ursa_bad_kind {
	int a;
};

/**
 * enum ursa_bad_enum - A value is not described.
 * @URSA_BAD_ONE: Described.
 */
enum ursa_bad_enum {
	URSA_BAD_ONE,
	URSA_BAD_TWO,
};

#define ursa_bad_macro(x) ((x) + 1)

/**
 * ursa_bad_macro_param - A macro parameter is not described.
 * @a: The first.
 */
#define ursa_bad_macro_param(a, b) ((a) + (b))

#endif /* URSA_TESTS_BAD_H */
