/* SPDX-License-Identifier: MIT */
/**
 * DOC: Fault injection
 *
 * With CONFIG_URSA_FAULT_INJECTION, a loop can turn chosen CQEs into
 * errors or short transfers, deterministically from a seed, so that tests
 * can show that every error path completes its request exactly once. The
 * knobs follow the kernel's fail_* attributes: a probability, an interval,
 * a number of times, plus an opcode filter and the errors to inject.
 *
 * A loop reads them from the environment at ursa_loop_init():
 *
 *   URSA_FAIL_PROBABILITY   percent of eligible CQEs to alter (default 100)
 *   URSA_FAIL_INTERVAL      alter only every Nth eligible CQE (default 1)
 *   URSA_FAIL_TIMES         stop after N faults; -1 is no limit (default -1)
 *   URSA_FAIL_OPS           op names, comma-separated (default: all)
 *   URSA_FAIL_ERRORS        EIO,ECANCELED,ENOBUFS,EAGAIN,short (default EIO)
 *   URSA_FAIL_SEED          PRNG seed (default 1)
 *
 * Fault injection is on when any of PROBABILITY, INTERVAL or TIMES is
 * set. Only final CQEs are altered: a multishot CQE that promises more is
 * left alone, since the kernel still owns that request. A success that
 * created an fd (accept, openat) is closed before it is replaced by an
 * error, so injection leaks nothing. "short" halves a transfer's byte
 * count and applies only to ops that transfer bytes.
 */
#ifndef URSA_FAULT_H
#define URSA_FAULT_H

#include <stdint.h>

#include <ursa/loop.h>

/**
 * URSA_FAULT_SHORT - In &struct ursa_fault_attr.errors: a short transfer.
 */
#define URSA_FAULT_SHORT 1

/**
 * struct ursa_fault_attr - What to inject, and how often.
 * @probability: Percent of eligible CQEs to alter, 0 to 100.
 * @interval: Alter only every @interval-th eligible CQE; 0 or 1 is every.
 * @times: Stop after this many faults; -1 is no limit.
 * @op_mask: Bit (1 << op) for each &enum ursa_op that is eligible; 0 is
 *	every op.
 * @errors: Negative errnos to inject, or %URSA_FAULT_SHORT; one is
 *	chosen at random per fault. Unused slots are 0.
 * @seed: The PRNG seed; the same seed and workload give the same faults.
 */
struct ursa_fault_attr {
	unsigned int probability;
	unsigned int interval;
	int64_t times;
	uint64_t op_mask;
	int errors[8];
	uint64_t seed;
};

/**
 * ursa_loop_set_fault() - Configure, or turn off, fault injection.
 * @loop: The loop.
 * @attr: What to inject, or %NULL to turn injection off.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EOPNOTSUPP - CONFIG_URSA_FAULT_INJECTION is off.
 * * -EINVAL - @attr has a probability over 100, no error, or an error
 *   that is neither negative nor %URSA_FAULT_SHORT.
 * * -ENOMEM - no memory for the state.
 */
int ursa_loop_set_fault(struct ursa_loop *loop,
			const struct ursa_fault_attr *attr);

/**
 * ursa_op_name() - The name of an op, as the fault filter and stats use it.
 * @op: An &enum ursa_op.
 *
 * Context: Any.
 * Return: a static string such as "read", or "invalid".
 */
const char *ursa_op_name(int op);

/**
 * ursa_op_from_name() - Look up an op by name.
 * @name: A name as ursa_op_name() gives it.
 *
 * Context: Any.
 * Return: the &enum ursa_op, or a negative errno:
 * * -ENOENT - no op has that name.
 */
int ursa_op_from_name(const char *name);

#endif /* URSA_FAULT_H */
