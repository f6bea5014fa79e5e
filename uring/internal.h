/* SPDX-License-Identifier: MIT */
/*
 * Shared between the files of uring/; not installed.
 */
#ifndef URSA_URING_INTERNAL_H
#define URSA_URING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include <generated/autoconf.h>
#include <ursa/err.h>
#include <ursa/kconfig.h>
#include <ursa/kbuf.h>
#include <ursa/loop.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* struct ursa_req.flags */
#define REQ_F_INFLIGHT (1u << 0) /* started, last CQE not reaped */
#define REQ_F_MULTISHOT (1u << 1) /* CQEs may carry IORING_CQE_F_MORE */
#define REQ_F_INTERNAL (1u << 2) /* the loop's own; not counted as work */
#define REQ_F_LINK_TIMEOUT (1u << 3) /* a link timeout rides with it */
#define REQ_F_CANCELLED (1u << 4) /* a cancel was queued for it */
#define REQ_F_HOOKS (1u << 5) /* the op has a cqe or complete hook */
#define REQ_F_PARKED (1u << 6) /* recv waiting for a buffer: no SQE out */
#define REQ_F_ASYNC (1u << 7) /* sticky: start with IOSQE_ASYNC */
/* A final CQE with any of these takes the slow dispatch. */
#define REQ_F_SLOW (REQ_F_INTERNAL | REQ_F_LINK_TIMEOUT | REQ_F_HOOKS)

/*
 * user_data: a request's address. Requests are at least 8-byte aligned,
 * so the low bits tag the CQEs that are not the request's own.
 */
#define UD_LINK_TIMEOUT 1ull /* req | 1: the link timeout of req */
#define UD_IGNORE 2ull /* cancel ops and the like: nothing to do */
#define UD_TAG_MASK 3ull

/*
 * The op table, in the manner of the kernel's io_issue_defs[]: one entry
 * per &enum ursa_op, indexed with designated initializers. prep validates
 * the arguments in the request's command area strictly and fills the SQE;
 * it returns 0 or a negative errno, and on error the caller turns the SQE
 * into an ignored NOP (see __ursa_start()). complete, when
 * present, sees every final CQE first and may resubmit instead of
 * completing (a short read continued); it returns true when the request
 * is now done. cqe, when present, sees every CQE of the request first,
 * intermediate multishot ones included (buffer accounting).
 */
struct __ursa_op_def {
	const char *name;
	int (*prep)(struct ursa_req *req, struct io_uring_sqe *sqe);
	bool (*complete)(struct ursa_loop *loop, struct ursa_req *req);
	void (*cqe)(struct ursa_loop *loop, struct ursa_req *req, int res,
		    uint32_t cqe_flags);
	unsigned int creates_fd : 1; /* res >= 0 is a new fd to own */
	unsigned int transfers : 1; /* res is a byte count: can be short */
	unsigned int needs_fd : 1; /* prep requires req->fd >= 0 */
};

extern const struct __ursa_op_def __ursa_op_defs[URSA_OP_LAST];

/*
 * The command area: each op family overlays its own struct on req->cmd.
 * The size check is at compile time, like the kernel's io_kiocb_to_cmd().
 */
#define __ursa_cmd(req, type)                                          \
	({                                                             \
		_Static_assert(sizeof(type) <= sizeof((req)->cmd),     \
			       #type " does not fit in ursa_req.cmd"); \
		(type *)(void *)(req)->cmd;                            \
	})

/*
 * Start @req as @op: validate through the op table's prep, take an SQE
 * (flushing a full SQ), link a timeout if one was asked for, and account
 * the request as in flight. The op's arguments must already be in the
 * command area and req->fd.
 */
int __ursa_start(struct ursa_loop *loop, struct ursa_req *req, enum ursa_op op);

/* Resubmit a request that is in flight (a continued short transfer). */
int __ursa_resubmit(struct ursa_loop *loop, struct ursa_req *req);

/* An SQE, flushing the SQ if it is full; NULL only if the ring is dead. */
struct io_uring_sqe *__ursa_get_sqe(struct ursa_loop *loop);

/* Complete @req now with @res (after its last CQE). */
void __ursa_req_complete(struct ursa_loop *loop, struct ursa_req *req, int res);

/* Reap and dispatch the CQEs that are ready, at most @max; returns how many. */
unsigned int __ursa_reap(struct ursa_loop *loop, unsigned int max);

/* timeout.c: fire due timers; the wait bound for the next turn. */
unsigned int __ursa_timers_run(struct ursa_loop *loop);
bool __ursa_timers_next(struct ursa_loop *loop, struct __kernel_timespec *ts);
void __ursa_timers_cancel_all(struct ursa_loop *loop);

/* The op families' entries for the op table (opdef.c). */
static inline int __ursa_nop_prep(struct ursa_req *req,
				  struct io_uring_sqe *sqe)
{
	io_uring_prep_nop(sqe);
	return 0;
}
int __ursa_rw_prep(struct ursa_req *req, struct io_uring_sqe *sqe);
int __ursa_rwv_prep(struct ursa_req *req, struct io_uring_sqe *sqe);
bool __ursa_rw_complete(struct ursa_loop *loop, struct ursa_req *req);
int __ursa_fs_prep(struct ursa_req *req, struct io_uring_sqe *sqe);
int __ursa_net_prep(struct ursa_req *req, struct io_uring_sqe *sqe);
bool __ursa_net_complete(struct ursa_loop *loop, struct ursa_req *req);
void __ursa_recv_cqe(struct ursa_loop *loop, struct ursa_req *req, int res,
		     uint32_t cqe_flags);

/* net.c: parked multishot recvs (on an empty buffer ring). */
void __ursa_recv_unpark(struct ursa_req *req);
void __ursa_recv_rearm(struct ursa_list_head *node);

/* Complete @req on the next turn, without a CQE (it has none out). */
void __ursa_req_complete_later(struct ursa_loop *loop, struct ursa_req *req,
			       int res);

/* Link a timeout SQE behind @sqe; two SQEs must be free in a row. */
void __ursa_link_timeout_arm(struct ursa_loop *loop, struct ursa_req *req,
			     struct io_uring_sqe *sqe);

/* cancel.c: queue an ASYNC_CANCEL for one request. */
int __ursa_cancel_one(struct ursa_loop *loop, struct ursa_req *req);

/* fault.c: configure from the environment; maybe alter a CQE's res. */
int __ursa_fault_init(struct ursa_loop *loop);
void __ursa_fault_exit(struct ursa_loop *loop);
bool __ursa_fault_apply(struct ursa_loop *loop, struct ursa_req *req, int *res,
			uint32_t cqe_flags);

#endif /* URSA_URING_INTERNAL_H */
