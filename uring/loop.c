// SPDX-License-Identifier: MIT
/*
 * The completion loop: ring setup with fallbacks, one turn of submit,
 * wait, reap and dispatch, the run queue, cross-thread posting, and exit.
 * The op families are in their own files (rw.c, fs.c, net.c, ...); the
 * op table is in opdef.c.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <ursa/timer.h>

#include "../framework/deferred.h"
#include "../framework/export.h"
#include "internal.h"

struct setup_try {
	unsigned int flags;
	const char *name;
};

/*
 * From the fastest to the most compatible. TASKRUN_FLAG lets the loop
 * skip the system call of a non-blocking turn when no task work waits.
 */
static const struct setup_try setup_tries[] = {
	{ IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_TASKRUN_FLAG,
	  "DEFER_TASKRUN" },
	{ IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER,
	  "DEFER_TASKRUN" },
	{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	  "COOP_TASKRUN" },
	{ IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
	{ 0, "none" },
};

static unsigned int round_up_pow2(unsigned int v)
{
	unsigned int p = 1;

	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

static int ring_setup(struct ursa_loop *loop,
		      const struct ursa_loop_params *params)
{
	unsigned int sq = params->sq_entries ? params->sq_entries : 256;
	unsigned int cq, base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	size_t i, first = 0;
	int ret = -EINVAL;

	sq = round_up_pow2(sq);
	cq = params->cq_entries > 2 * sq ? params->cq_entries : 2 * sq;
	cq = round_up_pow2(cq);

	if (params->flags & URSA_LOOP_NO_DEFER_TASKRUN)
		first = 2;
	if (params->flags & URSA_LOOP_NO_TASKRUN_FLAGS)
		first = ARRAY_SIZE(setup_tries) - 1;
	if (params->flags & URSA_LOOP_SQPOLL) {
		if (!IS_ENABLED(CONFIG_URSA_SQPOLL))
			return -EOPNOTSUPP;
		/* SQPOLL submits from its own thread: no SINGLE_ISSUER. */
		base |= IORING_SETUP_SQPOLL;
		first = first > 2 ? first : 2;
	}

	/*
	 * A kernel that lacks a flag answers -EINVAL: try the next set,
	 * and drop SUBMIT_ALL (5.18) last. Any other error is final.
	 */
	for (;;) {
		for (i = first; i < ARRAY_SIZE(setup_tries); i++) {
			struct io_uring_params p;

			memset(&p, 0, sizeof(p));
			p.flags = base | setup_tries[i].flags;
			p.cq_entries = cq;
			if (base & IORING_SETUP_SQPOLL)
				p.sq_thread_idle =
					params->sqpoll_idle_ms ?
						params->sqpoll_idle_ms :
						1000;
			ret = io_uring_queue_init_params(sq, &loop->ring, &p);
			if (ret == 0) {
				loop->setup_flags = p.flags;
				loop->features = p.features;
				/*
				 * Enter by a registered index, not the fd:
				 * no fget/fput per io_uring_enter (5.18+;
				 * older kernels refuse and lose nothing).
				 */
				io_uring_register_ring_fd(&loop->ring);
				return 0;
			}
			if (ret != -EINVAL)
				return ret;
		}
		if (!(base & IORING_SETUP_SUBMIT_ALL))
			return ret;
		base &= ~IORING_SETUP_SUBMIT_ALL;
	}
}

const char *ursa_loop_strerror(int err)
{
	switch (err) {
	case -EPERM:
		return "io_uring is disabled: check the kernel.io_uring_disabled "
		       "sysctl, or the container's seccomp profile, which may "
		       "block io_uring_setup";
	case -ENOSYS:
		return "this kernel has no io_uring (it needs Linux 5.10 or "
		       "newer, built with CONFIG_IO_URING)";
	case -ENOMEM:
		return "not enough locked memory for the io_uring rings: raise "
		       "RLIMIT_MEMLOCK (ulimit -l) or use smaller rings";
	case -EINVAL:
		return "the kernel refused the ring parameters (sizes too large, "
		       "or a feature this kernel lacks)";
	case -EMFILE:
	case -ENFILE:
		return "no file descriptor left for the io_uring ring";
	case -EOPNOTSUPP:
		return "SQPOLL was asked for, but CONFIG_URSA_SQPOLL is off";
	}
	return "io_uring setup failed";
}

static void wake_complete(struct ursa_req *req, const struct ursa_exit *exit);

static int wake_arm(struct ursa_loop *loop)
{
	struct ursa_req *req = &loop->wake_req;
	struct io_uring_sqe *sqe;

	sqe = __ursa_get_sqe(loop);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, loop->wake_fd, &loop->wake_val,
			   sizeof(loop->wake_val), 0);
	io_uring_sqe_set_data(sqe, req);
	req->opcode = URSA_OP_READ;
	req->loop = loop;
	req->flags = REQ_F_INFLIGHT | REQ_F_INTERNAL;
	req->pending = 1;
	req->fd = loop->wake_fd;
	ursa_list_add_tail(&req->node, &loop->inflight);
	loop->nr_inflight++;
	loop->nr_internal++;
	return 0;
}

/* Move work posted by other threads onto the run queue. */
static void posted_splice(struct ursa_loop *loop)
{
	pthread_mutex_lock(&loop->post_lock);
	ursa_list_splice_tail_init(&loop->posted, &loop->rq.queue);
	loop->post_pending = false;
	pthread_mutex_unlock(&loop->post_lock);
}

static void wake_complete(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct ursa_loop *loop = req->loop;

	posted_splice(loop);
	if (!loop->exiting)
		wake_arm(loop);
}

int ursa_loop_init(struct ursa_loop *loop,
		   const struct ursa_loop_params *params)
{
	static const struct ursa_loop_params defaults;
	int ret;

	if (!params)
		params = &defaults;
	memset(loop, 0, sizeof(*loop));
	ret = ring_setup(loop, params);
	if (ret)
		return ret;

	ursa_runq_init(&loop->rq, params->runq_budget ?
					  params->runq_budget :
					  CONFIG_URSA_RUNQ_BUDGET);
	ursa_list_init(&loop->inflight);
	ursa_list_init(&loop->later);
	ursa_list_init(&loop->posted);
	pthread_mutex_init(&loop->post_lock, NULL);
	loop->now = ursa_now_ns();

	/*
	 * Blocking: io_uring answers -EAGAIN at once for a read on an
	 * O_NONBLOCK file instead of waiting.
	 */
	loop->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (loop->wake_fd < 0) {
		ret = -errno;
		goto err_ring;
	}
	ursa_req_init(&loop->wake_req, wake_complete);
	ret = wake_arm(loop);
	if (ret)
		goto err_fd;
	ret = __ursa_fault_init(loop);
	if (ret)
		goto err_fd;
	return 0;

err_fd:
	close(loop->wake_fd);
err_ring:
	pthread_mutex_destroy(&loop->post_lock);
	io_uring_queue_exit(&loop->ring);
	return ret;
}

/*
 * A full SQ is flushed, never reported. On kernels that refuse to submit
 * while the CQ has overflowed (-EBUSY before 5.19 or so), reap first: the
 * completions dispatched here run their callbacks from inside the call
 * that wanted the SQE, which the kernels this project targets never do.
 */
static void sq_flush(struct ursa_loop *loop)
{
	int ret;

	loop->stats.sq_full++;
	ret = io_uring_submit(&loop->ring);
	loop->stats.enters++;
	if (ret == -EBUSY || ret == -EAGAIN) {
		loop->stats.cq_overflows++;
		__ursa_reap(loop, loop->ring.cq.ring_entries);
		io_uring_submit(&loop->ring);
	}
	if (loop->setup_flags & IORING_SETUP_SQPOLL)
		io_uring_sqring_wait(&loop->ring);
}

struct io_uring_sqe *__ursa_get_sqe(struct ursa_loop *loop)
{
	struct io_uring_sqe *sqe;
	int tries;

	sqe = io_uring_get_sqe(&loop->ring);
	if (likely(sqe))
		return sqe;
	for (tries = 0; tries < 1000; tries++) {
		sq_flush(loop);
		sqe = io_uring_get_sqe(&loop->ring);
		if (sqe)
			return sqe;
	}
	return NULL;
}

/* A harmless SQE in place of one that prep refused. */
static void sqe_make_ignore(struct io_uring_sqe *sqe)
{
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

/*
 * io_uring_get_sqe() without its tests of the setup flags on every call:
 * ring_setup() never asks for SQE128, and the acquire load that SQPOLL
 * needs is a plain load on x86 and cheap elsewhere. NULL when the SQ is
 * full.
 */
static inline struct io_uring_sqe *sqe_get(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;
	unsigned int tail = sq->sqe_tail;

	if (unlikely(tail - io_uring_smp_load_acquire(sq->khead) >=
		     sq->ring_entries))
		return NULL;
	sq->sqe_tail = tail + 1;
	return &sq->sqes[tail & sq->ring_mask];
}

/* @n SQEs in a row; the fast path is inline, the flushes are not. */
static inline struct io_uring_sqe *get_sqes(struct ursa_loop *loop,
					    unsigned int n)
{
	struct io_uring_sqe *sqe;

	if (likely(n == 1 || io_uring_sq_space_left(&loop->ring) >= n)) {
		sqe = sqe_get(&loop->ring);
		if (likely(sqe))
			return sqe;
	} else {
		sq_flush(loop);
	}
	return __ursa_get_sqe(loop);
}

/*
 * What every start does once prep has filled the SQE: the request becomes
 * in flight (on loop->inflight, for cancel and ursa_loop_exit()) with its
 * deferred pending again. @hooks is REQ_F_HOOKS when the op has a cqe or
 * complete hook.
 */
static inline void start_commit(struct ursa_loop *loop, struct ursa_req *req,
				struct io_uring_sqe *sqe, enum ursa_op op,
				unsigned int hooks)
{
	__ursa_deferred_rearm(&req->done);
	if (req->flags & REQ_F_ASYNC)
		sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data(sqe, req);
	req->flags = (req->flags & (REQ_F_MULTISHOT | REQ_F_ASYNC)) |
		     REQ_F_INFLIGHT | hooks;
	req->pending = 1;
	ursa_list_add_tail(&req->node, &loop->inflight);
	loop->nr_inflight++;
	loop->stats.submitted[op]++;
}

int __ursa_start(struct ursa_loop *loop, struct ursa_req *req, enum ursa_op op)
{
	const struct __ursa_op_def *def = &__ursa_op_defs[op];
	struct io_uring_sqe *sqe;
	int ret;

	if (unlikely(req->flags & REQ_F_INFLIGHT))
		return -EBUSY;
	if (unlikely(loop->exiting))
		return -ESHUTDOWN;
	if (def->needs_fd && req->fd < 0)
		return -EBADF;
	/* A link timeout bounds one CQE; a multishot has many. */
	if ((req->flags & REQ_F_MULTISHOT) && req->timeout_ns)
		return -EINVAL;

	sqe = get_sqes(loop, req->timeout_ns ? 2 : 1);
	if (unlikely(!sqe))
		return -EBUSY;
	req->opcode = op;
	req->loop = loop;
	ret = def->prep ? def->prep(req, sqe) : -EOPNOTSUPP;
	if (unlikely(ret)) {
		sqe_make_ignore(sqe);
		return ret;
	}
	start_commit(loop, req, sqe, op,
		     def->cqe || def->complete ? REQ_F_HOOKS : 0);
	if (req->timeout_ns)
		__ursa_link_timeout_arm(loop, req, sqe);
	return 0;
}

int __ursa_resubmit(struct ursa_loop *loop, struct ursa_req *req)
{
	const struct __ursa_op_def *def = &__ursa_op_defs[req->opcode];
	struct io_uring_sqe *sqe;
	int ret;

	sqe = get_sqes(loop, req->timeout_ns ? 2 : 1);
	if (unlikely(!sqe))
		return -EBUSY;
	ret = def->prep(req, sqe);
	if (unlikely(ret)) {
		sqe_make_ignore(sqe);
		return ret;
	}
	if (req->flags & REQ_F_ASYNC)
		sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data(sqe, req);
	req->pending = 1;
	req->flags &= ~REQ_F_LINK_TIMEOUT;
	if (req->timeout_ns)
		__ursa_link_timeout_arm(loop, req, sqe);
	loop->stats.submitted[req->opcode]++;
	return 0;
}

void __ursa_req_complete_later(struct ursa_loop *loop, struct ursa_req *req,
			       int res)
{
	req->res = res;
	ursa_list_del(&req->node);
	ursa_list_add_tail(&req->node, &loop->later);
}

static unsigned int later_run(struct ursa_loop *loop)
{
	unsigned int n = 0;

	while (!ursa_list_empty(&loop->later)) {
		struct ursa_req *req = ursa_list_first_entry(
			&loop->later, struct ursa_req, node);

		__ursa_req_complete(loop, req, req->res);
		n++;
	}
	return n;
}

/*
 * The end of every request: idle again, off the in-flight list, its
 * deferred fulfilled and its callback called. Inline into the CQE
 * dispatch, which is the hot caller.
 */
static inline void req_done(struct ursa_loop *loop, struct ursa_req *req,
			    int res)
{
	struct ursa_exit exit;

	req->flags &= REQ_F_INTERNAL | REQ_F_ASYNC;
	req->res = res;
	/* Nothing tests the node once it is off the list: no _init. */
	ursa_list_del(&req->node);
	loop->nr_inflight--;
	exit = ursa_exit_from_res(res);
	if (unlikely(exit.kind == URSA_EXIT_INTERRUPT))
		loop->stats.cancels++;
	__ursa_deferred_done(&req->done, &exit);
	/* The callback may reuse or free @req: touch nothing after it. */
	if (req->cb)
		req->cb(req, &exit);
}

static inline void req_complete(struct ursa_loop *loop, struct ursa_req *req,
				int res)
{
	/* A link timeout that fired shows as -ETIME, not as a cancel. */
	if ((req->flags & REQ_F_LINK_TIMEOUT) && res == -ECANCELED &&
	    req->timeout_res == -ETIME)
		res = -ETIME;
	if (req->flags & REQ_F_INTERNAL)
		loop->nr_internal--;
	req_done(loop, req, res);
}

void __ursa_req_complete(struct ursa_loop *loop, struct ursa_req *req, int res)
{
	req_complete(loop, req, res);
}

/* Fault injection, when configured and turned on, may alter @res. */
static inline int fault_apply(struct ursa_loop *loop, struct ursa_req *req,
			      int res, uint32_t cflags)
{
	if (IS_ENABLED(CONFIG_URSA_FAULT_INJECTION) && unlikely(loop->fault)) {
		/* A copy: @res itself stays in a register on the hot path. */
		int r = res;

		__ursa_fault_apply(loop, req, &r, cflags);
		return r;
	}
	return res;
}

static inline void count_completion(struct ursa_loop *loop,
				    struct ursa_req *req, int res)
{
	loop->stats.completed[req->opcode]++;
	if (unlikely(res < 0)) {
		if (res != -ECANCELED)
			loop->stats.errors[req->opcode]++;
	}
}

static inline void req_finish(struct ursa_loop *loop, struct ursa_req *req,
			      const struct __ursa_op_def *def)
{
	if (def->complete && !(req->flags & REQ_F_INTERNAL) &&
	    !def->complete(loop, req))
		return;
	req_complete(loop, req, req->res);
}

/*
 * Every CQE that is not the last of a plain request: link timeouts and
 * the requests they ride with, multishot and zero-copy CQEs, ops with a
 * cqe or complete hook, and the loop's own requests.
 */
static __attribute__((noinline)) void
dispatch_slow(struct ursa_loop *loop, uint64_t ud, int res, uint32_t cflags)
{
	const struct __ursa_op_def *def;
	struct ursa_req *req;

	if (ud & UD_TAG_MASK) {
		if (ud == UD_IGNORE)
			return;
		req = (struct ursa_req *)(uintptr_t)(ud & ~UD_TAG_MASK);
		req->timeout_res = res;
		if (res == -ETIME)
			loop->stats.timeouts++;
		if (--req->pending == 0)
			req_finish(loop, req, &__ursa_op_defs[req->opcode]);
		return;
	}
	if (!ud)
		return;
	req = (struct ursa_req *)(uintptr_t)ud;

	if (cflags & (IORING_CQE_F_NOTIF | IORING_CQE_F_MORE)) {
		if (cflags & IORING_CQE_F_NOTIF) {
			/* Zero-copy send: the result came first, with F_MORE. */
			res = req->res;
		} else if (!(req->flags & REQ_F_MULTISHOT)) {
			req->res = res;
			return;
		}
	}
	def = &__ursa_op_defs[req->opcode];
	/* The loop's own requests (eventfd, wake-ups) stay out of the stats. */
	if (likely(!(req->flags & REQ_F_INTERNAL))) {
		if (def->cqe)
			def->cqe(loop, req, res, cflags);
		res = fault_apply(loop, req, res, cflags);
		count_completion(loop, req, res);
	}
	req->res = res;
	req->cqe_flags = cflags;

	if (cflags & IORING_CQE_F_MORE) {
		/* A multishot op posted one of many: still in flight. */
		struct ursa_exit exit = ursa_exit_from_res(res);

		if (req->cb)
			req->cb(req, &exit);
		return;
	}
	if (--req->pending)
		return;
	req_finish(loop, req, def);
}

/*
 * The hot path: the one CQE of a plain request (a NOP, a readv, a file
 * system op, a send, all without a link timeout) completes it here;
 * everything else is dispatch_slow()'s.
 */
static inline void dispatch(struct ursa_loop *loop, uint64_t ud, int res,
			    uint32_t cflags)
{
	struct ursa_req *req = (struct ursa_req *)(uintptr_t)ud;

	if (unlikely((ud & UD_TAG_MASK) || !ud ||
		     (cflags & (IORING_CQE_F_NOTIF | IORING_CQE_F_MORE)) ||
		     (req->flags & REQ_F_SLOW))) {
		dispatch_slow(loop, ud, res, cflags);
		return;
	}
	res = fault_apply(loop, req, res, cflags);
	count_completion(loop, req, res);
	req->cqe_flags = cflags;
	req->pending = 0;
	req_done(loop, req, res);
}

unsigned int __ursa_reap(struct ursa_loop *loop, unsigned int max)
{
	struct io_uring *ring = &loop->ring;
	unsigned int total, head, tail;

	/*
	 * Each CQE is read and its slot given back before it is dispatched:
	 * a callback may start requests, and starting may flush a full SQ
	 * and, on old kernels, reap, which must not see this CQE again. So
	 * the head is read afresh each time, and may have passed our tail.
	 * Those flushes can refill the CQ while we dispatch, so @max bounds
	 * the whole call.
	 */
	tail = io_uring_smp_load_acquire(ring->cq.ktail);
	for (total = 0; total < max; total++) {
		const struct io_uring_cqe *cqe;
		uint64_t ud;
		uint32_t cflags;
		int res;

		head = *ring->cq.khead;
		if ((int)(tail - head) <= 0) {
			/* Acquire: the CQEs below the tail are written. */
			tail = io_uring_smp_load_acquire(ring->cq.ktail);
			if ((int)(tail - head) <= 0)
				break;
		}
		/* ring_setup() never asks for IORING_SETUP_CQE32. */
		cqe = &ring->cq.cqes[head & ring->cq.ring_mask];
		ud = cqe->user_data;
		res = cqe->res;
		cflags = cqe->flags;
		io_uring_smp_store_release(ring->cq.khead, head + 1);
		dispatch(loop, ud, res, cflags);
	}
	return total;
}

static bool needs_enter(struct ursa_loop *loop)
{
	unsigned int kflags;

	if (io_uring_sq_ready(&loop->ring))
		return true;
	kflags = IO_URING_READ_ONCE(*loop->ring.sq.kflags);
	if (kflags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
		return true;
	/* Without TASKRUN_FLAG, deferred task work is invisible: enter. */
	return (loop->setup_flags & IORING_SETUP_DEFER_TASKRUN) &&
	       !(loop->setup_flags & IORING_SETUP_TASKRUN_FLAG);
}

int ursa_loop_run_once(struct ursa_loop *loop, bool wait)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	bool block, bounded = false;
	unsigned int n, reaped, reap_max;
	int ret = 0;

	loop->stats.turns++;
	block = wait && !loop->stopped && !ursa_runq_has_work(&loop->rq) &&
		!io_uring_cq_ready(&loop->ring) &&
		ursa_list_empty(&loop->later);
	if (block && loop->timers) {
		bounded = __ursa_timers_next(loop, &ts);
		if (bounded && !ts.tv_sec && !ts.tv_nsec)
			block = false;
	}
	if (block && bounded) {
		ret = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1,
						       &ts, NULL);
		loop->stats.enters++;
	} else if (block) {
		/*
		 * Unbounded: one io_uring_enter, without the CQE peeking
		 * of the _timeout variant, which costs ~100 instructions a
		 * turn and finds nothing here (the CQ was seen empty).
		 */
		ret = io_uring_submit_and_wait(&loop->ring, 1);
		loop->stats.enters++;
	} else if (needs_enter(loop)) {
		ret = io_uring_submit_and_get_events(&loop->ring);
		loop->stats.enters++;
	}
	if (ret < 0) {
		switch (ret) {
		case -ETIME:
		case -EINTR:
		case -EAGAIN:
			break;
		case -EBUSY:
			loop->stats.cq_overflows++;
			break;
		default:
			return ret;
		}
	}

	loop->now = ursa_now_ns();
	/*
	 * At most a CQ's worth of CQEs per turn: callbacks that start work
	 * which completes at once (or an SQPOLL thread) can refill the CQ
	 * as fast as we reap it, and the run queue and timers must still
	 * get their turn. What is left makes the next turn not block.
	 */
	reap_max = loop->ring.cq.ring_entries;
	reaped = __ursa_reap(loop, reap_max);
	n = reaped;
	if (unlikely(!ursa_list_empty(&loop->later)))
		n += later_run(loop);
	if (reaped < reap_max && (IO_URING_READ_ONCE(*loop->ring.sq.kflags) &
				  IORING_SQ_CQ_OVERFLOW)) {
		/* The kernel kept the CQEs (FEAT_NODROP); flush and reap. */
		loop->stats.cq_overflows++;
		io_uring_get_events(&loop->ring);
		n += __ursa_reap(loop, reap_max - reaped);
	}
	if (loop->timers)
		n += __ursa_timers_run(loop);
	n += ursa_runq_run(&loop->rq);
	return (int)n;
}

bool ursa_loop_has_work(const struct ursa_loop *loop)
{
	return loop->nr_inflight > loop->nr_internal || loop->timers ||
	       ursa_runq_has_work(&loop->rq) || !ursa_list_empty(&loop->posted);
}

int ursa_loop_run(struct ursa_loop *loop)
{
	int ret = 0;

	while (!loop->stopped && ursa_loop_has_work(loop)) {
		ret = ursa_loop_run_once(loop, true);
		if (ret < 0)
			break;
		ret = 0;
	}
	loop->stopped = 0;
	return ret;
}

void ursa_loop_stop(struct ursa_loop *loop)
{
	uint64_t one = 1;
	ssize_t n;

	loop->stopped = 1;
	/* Wake a loop blocked in io_uring_enter; safe in a signal handler. */
	n = write(loop->wake_fd, &one, sizeof(one));
	(void)n;
}

int ursa_loop_post(struct ursa_loop *loop, struct ursa_work *work)
{
	uint64_t one = 1;
	bool kick;
	ssize_t n;

	pthread_mutex_lock(&loop->post_lock);
	if (loop->exiting) {
		pthread_mutex_unlock(&loop->post_lock);
		return -ESHUTDOWN;
	}
	if (ursa_work_pending(work)) {
		pthread_mutex_unlock(&loop->post_lock);
		return -EBUSY;
	}
	ursa_list_add_tail(&work->node, &loop->posted);
	kick = !loop->post_pending;
	loop->post_pending = true;
	pthread_mutex_unlock(&loop->post_lock);
	if (kick) {
		n = write(loop->wake_fd, &one, sizeof(one));
		(void)n;
	}
	return 0;
}

struct ursa_runq *ursa_loop_runq(struct ursa_loop *loop)
{
	return &loop->rq;
}

uint64_t ursa_loop_now(const struct ursa_loop *loop)
{
	return loop->now;
}

const struct ursa_loop_stats *ursa_loop_stats(const struct ursa_loop *loop)
{
	return &loop->stats;
}

void ursa_loop_exit(struct ursa_loop *loop)
{
	struct ursa_req *req, *next;
	int spins = 0;

	/*
	 * Tasks first, while I/O can still start: an interrupted task runs
	 * its finalizers, which may want to close or flush something.
	 */
	__ursa_runq_interrupt_tasks(&loop->rq);
	ursa_runq_drain(&loop->rq, 0);
	pthread_mutex_lock(&loop->post_lock);
	loop->exiting = true;
	pthread_mutex_unlock(&loop->post_lock);
	/* _safe: cancelling a parked recv moves it to loop->later. */
	ursa_list_for_each_entry_safe(req, next, &loop->inflight, node)
		__ursa_cancel_one(loop, req);
	__ursa_timers_cancel_all(loop);

	/*
	 * Every request completes through its own CQE, even cancelled: its
	 * buffers are the kernel's until then. Cancel again anything that
	 * was started by a callback before it saw -ESHUTDOWN.
	 */
	while (loop->nr_inflight) {
		int ret = ursa_loop_run_once(loop, true);

		if (ret < 0 && ret != -EINTR)
			break;
		if (++spins % 64 == 0)
			ursa_list_for_each_entry_safe(req, next,
						      &loop->inflight, node)
				__ursa_cancel_one(loop, req);
	}
	ursa_runq_drain(&loop->rq, 0);
	posted_splice(loop);
	ursa_runq_drain(&loop->rq, 0);

	__ursa_fault_exit(loop);
	close(loop->wake_fd);
	pthread_mutex_destroy(&loop->post_lock);
	io_uring_queue_exit(&loop->ring);
}

void ursa_req_init(struct ursa_req *req, ursa_req_fn *cb)
{
	memset(req, 0, sizeof(*req));
	ursa_deferred_init(&req->done);
	ursa_list_init(&req->node);
	req->cb = cb;
	req->fd = -1;
}

bool ursa_req_busy(const struct ursa_req *req)
{
	return req->flags & REQ_F_INFLIGHT;
}

bool ursa_req_more(const struct ursa_req *req)
{
	return req->cqe_flags & IORING_CQE_F_MORE;
}

int ursa_req_set_timeout(struct ursa_req *req, uint64_t ns)
{
	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	req->timeout_ns = ns;
	return 0;
}

int ursa_req_set_async(struct ursa_req *req, bool async)
{
	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	if (async)
		req->flags |= REQ_F_ASYNC;
	else
		req->flags &= ~REQ_F_ASYNC;
	return 0;
}

int ursa_nop(struct ursa_loop *loop, struct ursa_req *req)
{
	struct io_uring_sqe *sqe;

	/*
	 * Inline, without the op table: a NOP has nothing to validate. The
	 * rare cases (busy, exiting, a link timeout, a full SQ) take
	 * __ursa_start(), which checks everything.
	 */
	if (unlikely((req->flags & REQ_F_INFLIGHT) || loop->exiting ||
		     req->timeout_ns))
		return __ursa_start(loop, req, URSA_OP_NOP);
	sqe = sqe_get(&loop->ring);
	if (unlikely(!sqe))
		return __ursa_start(loop, req, URSA_OP_NOP);
	req->opcode = URSA_OP_NOP;
	req->loop = loop;
	__ursa_nop_prep(req, sqe);
	start_commit(loop, req, sqe, URSA_OP_NOP, 0);
	return 0;
}
