// SPDX-License-Identifier: MIT
/*
 * Tasks on the loop: awaiting an I/O request, and sleeping on a timer.
 */
#include <errno.h>

#include <ursa/task.h>
#include <ursa/timer.h>

#include "../framework/export.h"
#include "internal.h"

/*
 * An interrupted task cannot just walk away from a request: the kernel
 * owns its buffers until the CQE. Cancel it, and keep waiting for that.
 */
static bool req_cancel(void *ctx)
{
	struct ursa_req *req = ctx;

	if (req->flags & REQ_F_INFLIGHT)
		ursa_cancel(req->loop, req);
	return false;
}

struct ursa_exit ursa_await_req(struct ursa_req *req)
{
	return __ursa_await_cancelable(&req->done, req_cancel, req);
}

int ursa_task_sleep(struct ursa_loop *loop, uint64_t ns)
{
	struct ursa_timer t;
	struct ursa_exit e;
	int ret;

	if (!ursa_task_current())
		return -EPERM;
	ursa_timer_init(&t, NULL);
	ret = ursa_timer_start(loop, &t, ns, 0);
	if (ret)
		return ret;
	e = ursa_await(&t.done);
	if (e.kind == URSA_EXIT_SUCCESS)
		return 0;
	/* Interrupted: the timer must not outlive this stack frame. */
	ursa_timer_cancel(&t);
	return -ECANCELED;
}
