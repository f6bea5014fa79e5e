/* SPDX-License-Identifier: MIT */
/**
 * DOC: Exit values
 *
 * &struct ursa_exit is the result of anything that completes: a deferred,
 * an I/O request, a task. It follows Effect's Exit: a success with a
 * value, or a failure whose cause is an expected error (FAILURE), a defect
 * (DIE) or an interruption (INTERRUPT). Errors are negative errno values.
 * An io_uring CQE maps onto an exit with ursa_exit_from_res(): a result of
 * zero or more is a success, -ECANCELED is an interruption, and any other
 * negative result is a failure.
 */
#ifndef URSA_EXIT_H
#define URSA_EXIT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/**
 * enum ursa_exit_kind - How something completed.
 * @URSA_EXIT_SUCCESS: It succeeded; the payload is the value.
 * @URSA_EXIT_FAILURE: It failed with an expected error (Effect's Fail).
 * @URSA_EXIT_DIE: It failed with a defect, a bug (Effect's Die).
 * @URSA_EXIT_INTERRUPT: It was interrupted or cancelled (Effect's
 *	Interrupt); the payload is the interrupter's id.
 */
enum ursa_exit_kind {
	URSA_EXIT_SUCCESS = 0,
	URSA_EXIT_FAILURE,
	URSA_EXIT_DIE,
	URSA_EXIT_INTERRUPT,
};

/**
 * struct ursa_exit - The result of a completion.
 * @kind: One of &enum ursa_exit_kind.
 * @err: 0 for a success. A negative errno otherwise: the error for
 *	FAILURE and DIE, and -ECANCELED for INTERRUPT.
 * @val: SUCCESS: an integer value, such as a CQE's res in bytes.
 * @ptr: SUCCESS: a pointer value, for results that are objects.
 * @id: INTERRUPT: the id of the interrupting task, or 0 from plain
 *	callback code.
 */
struct ursa_exit {
	int kind;
	int err;
	union {
		int64_t val;
		void *ptr;
		uint64_t id;
	};
};

/**
 * ursa_exit_success() - Make a success exit with an integer value.
 * @val: The value.
 *
 * Context: Any.
 * Return: the exit.
 */
static inline struct ursa_exit ursa_exit_success(int64_t val)
{
	struct ursa_exit e = { .kind = URSA_EXIT_SUCCESS, .err = 0 };

	e.val = val;
	return e;
}

/**
 * ursa_exit_success_ptr() - Make a success exit with a pointer value.
 * @ptr: The value.
 *
 * Context: Any.
 * Return: the exit.
 */
static inline struct ursa_exit ursa_exit_success_ptr(void *ptr)
{
	struct ursa_exit e = { .kind = URSA_EXIT_SUCCESS, .err = 0 };

	e.ptr = ptr;
	return e;
}

/**
 * ursa_exit_failure() - Make a failure exit (Effect's Fail).
 * @err: A negative errno.
 *
 * Context: Any.
 * Return: the exit.
 */
static inline struct ursa_exit ursa_exit_failure(int err)
{
	struct ursa_exit e = { .kind = URSA_EXIT_FAILURE, .err = err };

	e.val = 0;
	return e;
}

/**
 * ursa_exit_die() - Make a defect exit (Effect's Die).
 * @err: A negative errno that best names the defect.
 *
 * Context: Any.
 * Return: the exit.
 */
static inline struct ursa_exit ursa_exit_die(int err)
{
	struct ursa_exit e = { .kind = URSA_EXIT_DIE, .err = err };

	e.val = 0;
	return e;
}

/**
 * ursa_exit_interrupt() - Make an interruption exit (Effect's Interrupt).
 * @id: The interrupter's id: a task id, or 0 from plain callback code.
 *
 * Context: Any.
 * Return: the exit, whose @err is -ECANCELED.
 */
static inline struct ursa_exit ursa_exit_interrupt(uint64_t id)
{
	struct ursa_exit e = { .kind = URSA_EXIT_INTERRUPT, .err = -ECANCELED };

	e.id = id;
	return e;
}

/**
 * ursa_exit_from_res() - Map a result in the io_uring convention to an exit.
 * @res: A CQE's res, or any count-or-negative-errno: bytes, fds, counts.
 *
 * -ECANCELED, which io_uring gives a cancelled request, maps to an
 * interruption with id 0.
 *
 * Context: Any.
 * Return: SUCCESS(@res) when @res >= 0, INTERRUPT for -ECANCELED, and
 * FAILURE(@res) for any other negative value.
 */
static inline struct ursa_exit ursa_exit_from_res(int64_t res)
{
	if (res >= 0)
		return ursa_exit_success(res);
	if (res == -ECANCELED)
		return ursa_exit_interrupt(0);
	return ursa_exit_failure((int)res);
}

/**
 * ursa_exit_is_success() - Test for a success.
 * @e: The exit.
 *
 * Context: Any.
 * Return: %true if @e is a success.
 */
static inline bool ursa_exit_is_success(const struct ursa_exit *e)
{
	return e->kind == URSA_EXIT_SUCCESS;
}

/**
 * ursa_exit_is_interrupt() - Test for an interruption.
 * @e: The exit.
 *
 * Context: Any.
 * Return: %true if @e is an interruption.
 */
static inline bool ursa_exit_is_interrupt(const struct ursa_exit *e)
{
	return e->kind == URSA_EXIT_INTERRUPT;
}

/**
 * ursa_exit_res() - Fold an exit back into the io_uring convention.
 * @e: The exit.
 *
 * Context: Any.
 * Return: the value of a success, otherwise the negative errno of @e.
 */
static inline int64_t ursa_exit_res(const struct ursa_exit *e)
{
	return e->kind == URSA_EXIT_SUCCESS ? e->val : e->err;
}

/**
 * ursa_exit_kind_name() - Name an exit kind, for logs and test output.
 * @kind: One of &enum ursa_exit_kind.
 *
 * Context: Any.
 * Return: "success", "failure", "die" or "interrupt", or "invalid" for
 * any other value. The string is static.
 */
const char *ursa_exit_kind_name(int kind);

#endif /* URSA_EXIT_H */
