// SPDX-License-Identifier: MIT
/*
 * Fault injection: seeded, deterministic alteration of CQEs, configured
 * from URSA_FAIL_* (see <ursa/fault.h>) or ursa_loop_set_fault().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ursa/fault.h>

#include "internal.h"

struct __ursa_fault {
	struct ursa_fault_attr attr;
	unsigned int nr_errors;
	uint64_t state;
	uint64_t eligible;
};

static uint64_t fault_rand(struct __ursa_fault *f)
{
	/* xorshift64*: small, fast, and the same on every machine. */
	f->state ^= f->state >> 12;
	f->state ^= f->state << 25;
	f->state ^= f->state >> 27;
	return f->state * 0x2545f4914f6cdd1dull;
}

int ursa_loop_set_fault(struct ursa_loop *loop,
			const struct ursa_fault_attr *attr)
{
	struct __ursa_fault *f;
	unsigned int i, n = 0;

	if (!IS_ENABLED(CONFIG_URSA_FAULT_INJECTION))
		return -EOPNOTSUPP;
	if (!attr) {
		free(loop->fault);
		loop->fault = NULL;
		return 0;
	}
	if (attr->probability > 100)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(attr->errors) && attr->errors[i]; i++) {
		if (attr->errors[i] >= 0 && attr->errors[i] != URSA_FAULT_SHORT)
			return -EINVAL;
		n++;
	}
	if (!n)
		return -EINVAL;
	f = loop->fault ? loop->fault : calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->attr = *attr;
	f->nr_errors = n;
	f->state = attr->seed ? attr->seed : 1;
	f->eligible = 0;
	loop->fault = f;
	return 0;
}

static int parse_error(const char *s)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {
		{ "EIO", -EIO },
		{ "ECANCELED", -ECANCELED },
		{ "ENOBUFS", -ENOBUFS },
		{ "EAGAIN", -EAGAIN },
		{ "ENOSPC", -ENOSPC },
		{ "ECONNRESET", -ECONNRESET },
		{ "short", URSA_FAULT_SHORT },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name))
			return names[i].err;
	return 0;
}

static int parse_u64(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end || end == s ? -EINVAL : 0;
}

int __ursa_fault_init(struct ursa_loop *loop)
{
	const char *p = getenv("URSA_FAIL_PROBABILITY");
	const char *iv = getenv("URSA_FAIL_INTERVAL");
	const char *t = getenv("URSA_FAIL_TIMES");
	const char *ops = getenv("URSA_FAIL_OPS");
	const char *errs = getenv("URSA_FAIL_ERRORS");
	const char *seed = getenv("URSA_FAIL_SEED");
	struct ursa_fault_attr attr = {
		.probability = 100, .interval = 1, .times = -1, .seed = 1
	};
	char buf[256], *tok, *save;
	int64_t v;
	int n = 0;

	if (!IS_ENABLED(CONFIG_URSA_FAULT_INJECTION) || (!p && !iv && !t))
		return 0;
	if ((p && (parse_u64(p, &v) || v < 0 || v > 100)))
		return -EINVAL;
	if (p)
		attr.probability = (unsigned int)v;
	if (iv && (parse_u64(iv, &v) || v < 0 || v > UINT32_MAX))
		return -EINVAL;
	if (iv)
		attr.interval = (unsigned int)v;
	if (t && (parse_u64(t, &v) || v < -1))
		return -EINVAL;
	if (t)
		attr.times = v;
	if (seed && parse_u64(seed, &v))
		return -EINVAL;
	if (seed)
		attr.seed = (uint64_t)v;
	if (ops) {
		if (strlen(ops) >= sizeof(buf))
			return -EINVAL;
		strcpy(buf, ops);
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			int op = ursa_op_from_name(tok);

			if (op < 0)
				return -EINVAL;
			attr.op_mask |= 1ull << op;
		}
	}
	if (errs) {
		if (strlen(errs) >= sizeof(buf))
			return -EINVAL;
		strcpy(buf, errs);
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			int e = parse_error(tok);

			if (!e || n == (int)ARRAY_SIZE(attr.errors))
				return -EINVAL;
			attr.errors[n++] = e;
		}
	} else {
		attr.errors[0] = -EIO;
	}
	return ursa_loop_set_fault(loop, &attr);
}

void __ursa_fault_exit(struct ursa_loop *loop)
{
	free(loop->fault);
	loop->fault = NULL;
}

bool __ursa_fault_apply(struct ursa_loop *loop, struct ursa_req *req, int *res,
			uint32_t cqe_flags)
{
	const struct __ursa_op_def *def = &__ursa_op_defs[req->opcode];
	struct __ursa_fault *f = loop->fault;
	int err;

	/* The kernel still owns a multishot request that promises more. */
	if (cqe_flags & IORING_CQE_F_MORE)
		return false;
	if (f->attr.op_mask && !(f->attr.op_mask & (1ull << req->opcode)))
		return false;
	f->eligible++;
	if (f->attr.times == 0)
		return false;
	if (f->attr.interval > 1 && f->eligible % f->attr.interval)
		return false;
	if (f->attr.probability < 100 &&
	    fault_rand(f) % 100 >= f->attr.probability)
		return false;
	err = f->attr.errors[fault_rand(f) % f->nr_errors];
	if (err == URSA_FAULT_SHORT) {
		if (!def->transfers || *res <= 1)
			return false;
		*res /= 2;
	} else {
		if (*res >= 0 && def->creates_fd)
			close(*res);
		*res = err;
	}
	if (f->attr.times > 0)
		f->attr.times--;
	loop->stats.faults_injected++;
	return true;
}
