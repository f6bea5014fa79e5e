// SPDX-License-Identifier: MIT
/*
 * Cancellation: one request, every request on an fd, or everything.
 *
 * A cancel never completes a request by itself. It asks the kernel, and
 * the request completes through its own CQE (with -ECANCELED, which its
 * deferred sees as INTERRUPT, or with its real result if it won the
 * race). That is what keeps "every request completes exactly once" and
 * "its buffers stay the kernel's until its CQE" true.
 */
#include <errno.h>

#include "internal.h"

int __ursa_cancel_one(struct ursa_loop *loop, struct ursa_req *req)
{
	struct io_uring_sqe *sqe;

	if (!(req->flags & REQ_F_INFLIGHT))
		return -ENOENT;
	if (req->flags & REQ_F_CANCELLED)
		return 0;
	if (req->flags & REQ_F_PARKED) {
		/* No SQE is out: complete it ourselves, on the next turn. */
		__ursa_recv_unpark(req);
		req->flags |= REQ_F_CANCELLED;
		__ursa_req_complete_later(loop, req, -ECANCELED);
		return 0;
	}
	sqe = __ursa_get_sqe(loop);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)req, 0);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
	if (loop->features & IORING_FEAT_CQE_SKIP)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	req->flags |= REQ_F_CANCELLED;
	return 0;
}

int ursa_cancel(struct ursa_loop *loop, struct ursa_req *req)
{
	if (req->flags & REQ_F_INTERNAL)
		return -ENOENT;
	return __ursa_cancel_one(loop, req);
}

int ursa_cancel_fd(struct ursa_loop *loop, int fd)
{
	struct ursa_req *req, *next;
	int n = 0;

	if (fd < 0)
		return -EBADF;
	/* A parked recv moves to loop->later as it is cancelled. */
	ursa_list_for_each_entry_safe(req, next, &loop->inflight, node) {
		if (req->fd != fd || (req->flags & REQ_F_INTERNAL))
			continue;
		if (__ursa_cancel_one(loop, req) == 0)
			n++;
	}
	return n;
}

int ursa_cancel_all(struct ursa_loop *loop)
{
	struct ursa_req *req, *next;
	int n = 0;

	ursa_list_for_each_entry_safe(req, next, &loop->inflight, node) {
		if (req->flags & REQ_F_INTERNAL)
			continue;
		if (__ursa_cancel_one(loop, req) == 0)
			n++;
	}
	return n;
}
