/* SPDX-License-Identifier: MIT */
/**
 * DOC: The completion loop
 *
 * One &struct ursa_loop per thread owns an io_uring and a run queue. A
 * turn of the loop submits what is queued and waits for CQEs, bounded by
 * the nearest timer, in one io_uring_enter (io_uring_submit_and_wait(),
 * or its _timeout variant when a timer is armed); it reaps the ready CQEs
 * and dispatches each one through its user_data to its request; then it
 * runs one batch of the run queue.
 *
 * A request, &struct ursa_req, is embedded in the caller's own struct, so
 * an operation costs no allocation. user_data is the request's address.
 * Each request completes exactly once: its deferred is fulfilled with
 * SUCCESS(res), FAILURE(-errno), or INTERRUPT when it was cancelled, and
 * its callback, if it has one, is called from the loop. A request and the
 * buffers it names must stay valid until then, even after a cancel: the
 * kernel may still be using them until the CQE arrives.
 *
 * The ring adapts to the kernel. ursa_loop_init() tries
 * DEFER_TASKRUN|SINGLE_ISSUER, then COOP_TASKRUN|TASKRUN_FLAG, then no
 * flags, always with SUBMIT_ALL where the kernel has it and a CQ at least
 * twice the SQ. SQPOLL is opt-in.
 *
 * Thread-safety: a loop and everything attached to it belong to the
 * thread that initialised it. The exceptions are ursa_loop_post() and
 * ursa_loop_stop(), which any thread may call, and ursa_loop_stop() may
 * also be called from a signal handler.
 */
#ifndef URSA_LOOP_H
#define URSA_LOOP_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include <ursa/deferred.h>
#include <ursa/exit.h>
#include <ursa/list.h>
#include <ursa/sched.h>

/**
 * enum ursa_op - The operations a request can carry; indexes the op table.
 * @URSA_OP_NOP: No operation: a CQE with res 0.
 * @URSA_OP_READ: read(2) at an offset.
 * @URSA_OP_WRITE: write(2) at an offset.
 * @URSA_OP_READV: readv(2) at an offset.
 * @URSA_OP_WRITEV: writev(2) at an offset.
 * @URSA_OP_READ_FIXED: read into a registered buffer.
 * @URSA_OP_WRITE_FIXED: write from a registered buffer.
 * @URSA_OP_OPENAT: openat(2).
 * @URSA_OP_CLOSE: close(2).
 * @URSA_OP_STATX: statx(2).
 * @URSA_OP_FSYNC: fsync(2) or fdatasync(2).
 * @URSA_OP_FALLOCATE: fallocate(2).
 * @URSA_OP_UNLINKAT: unlinkat(2).
 * @URSA_OP_RENAMEAT: renameat2(2).
 * @URSA_OP_ACCEPT: accept4(2), one-shot or multishot.
 * @URSA_OP_CONNECT: connect(2).
 * @URSA_OP_RECV: recv(2), one-shot or multishot from a buffer ring.
 * @URSA_OP_SEND: send(2).
 * @URSA_OP_SENDMSG: sendmsg(2), a gathered send.
 * @URSA_OP_SEND_ZC: zero-copy send.
 * @URSA_OP_SHUTDOWN: shutdown(2).
 * @URSA_OP_LAST: The number of operations.
 */
enum ursa_op {
	URSA_OP_NOP = 0,
	URSA_OP_READ,
	URSA_OP_WRITE,
	URSA_OP_READV,
	URSA_OP_WRITEV,
	URSA_OP_READ_FIXED,
	URSA_OP_WRITE_FIXED,
	URSA_OP_OPENAT,
	URSA_OP_CLOSE,
	URSA_OP_STATX,
	URSA_OP_FSYNC,
	URSA_OP_FALLOCATE,
	URSA_OP_UNLINKAT,
	URSA_OP_RENAMEAT,
	URSA_OP_ACCEPT,
	URSA_OP_CONNECT,
	URSA_OP_RECV,
	URSA_OP_SEND,
	URSA_OP_SENDMSG,
	URSA_OP_SEND_ZC,
	URSA_OP_SHUTDOWN,
	URSA_OP_LAST,
};

struct ursa_loop;
struct ursa_req;
struct ursa_timer;

/**
 * typedef ursa_req_fn - A request's completion callback.
 * @req: The request. For a one-shot op it is idle again when this runs,
 *	so the callback may reuse or free it. For a multishot op it is idle
 *	only when @exit is not a success or when ursa_req_more() is %false.
 * @exit: The outcome: SUCCESS(res), FAILURE(-errno), or INTERRUPT for a
 *	cancel. Valid only during the call.
 *
 * Runs from the loop's CQE dispatch (completion callback context), never
 * from the call that started the request.
 */
typedef void ursa_req_fn(struct ursa_req *req, const struct ursa_exit *exit);

/**
 * struct ursa_req - One operation in flight, embedded in the caller's
 * struct.
 * @done: Fulfilled once when the request completes; await it for the
 *	outcome. A multishot request fulfils it only with its final CQE.
 * @cb: Optional callback, called once at completion, and for every CQE of
 *	a multishot op.
 * @loop: The loop the request runs on, set when it starts.
 * @data: The caller's pointer; ursa never touches it.
 * @node: On the loop's list of requests in flight.
 * @opcode: The &enum ursa_op it carries.
 * @flags: Internal state bits.
 * @pending: CQEs still due: 1, or 2 with a link timeout.
 * @cqe_flags: The last CQE's flags (buffer id, IORING_CQE_F_MORE).
 * @res: The last CQE's res, after fault injection.
 * @timeout_res: The link timeout's own CQE res.
 * @fd: The file descriptor the op targets, or -1; cancel by fd uses it.
 * @timeout_ns: A link timeout to attach at the next start (ns), or 0.
 * @ts: The timespec the link timeout points the kernel at.
 * @cmd: The op's command area: its arguments, overlaid by a per-op struct
 *	in uring/ (the kernel's io_kiocb_to_cmd()).
 */
struct ursa_req {
	struct ursa_deferred done;
	ursa_req_fn *cb;
	struct ursa_loop *loop;
	void *data;
	struct ursa_list_head node;
	uint8_t opcode;
	uint8_t flags;
	uint16_t pending;
	uint32_t cqe_flags;
	int32_t res;
	int32_t timeout_res;
	int fd;
	uint64_t timeout_ns;
	struct __kernel_timespec ts;
	uint64_t cmd[6];
};

/**
 * struct ursa_loop_stats - Per-loop counters, read with ursa_loop_stats().
 * @submitted: SQEs submitted, per &enum ursa_op.
 * @completed: CQEs reaped, per &enum ursa_op.
 * @errors: CQEs with a negative res other than -ECANCELED, per op.
 * @cancels: Requests completed as INTERRUPT.
 * @cq_overflows: Times the CQ overflowed (the kernel kept the CQEs:
 *	FEAT_NODROP) or submit answered -EBUSY.
 * @enobufs: Multishot recvs that ran out of provided buffers.
 * @sq_full: Times the SQ was full and was flushed to get an SQE.
 * @timeouts: Link timeouts that fired (-ETIME).
 * @timers_fired: User-space timer expiries.
 * @turns: Loop turns.
 * @enters: io_uring_enter calls made by the loop's submit and wait.
 * @faults_injected: CQEs altered by fault injection.
 */
struct ursa_loop_stats {
	uint64_t submitted[URSA_OP_LAST];
	uint64_t completed[URSA_OP_LAST];
	uint64_t errors[URSA_OP_LAST];
	uint64_t cancels;
	uint64_t cq_overflows;
	uint64_t enobufs;
	uint64_t sq_full;
	uint64_t timeouts;
	uint64_t timers_fired;
	uint64_t turns;
	uint64_t enters;
	uint64_t faults_injected;
};

/**
 * URSA_LOOP_SQPOLL - Parameter flag: ask for a kernel SQ polling thread.
 */
#define URSA_LOOP_SQPOLL (1u << 0)
/**
 * URSA_LOOP_NO_DEFER_TASKRUN - Parameter flag: skip DEFER_TASKRUN, start
 * the fallback at COOP_TASKRUN (to test or compare the fallbacks).
 */
#define URSA_LOOP_NO_DEFER_TASKRUN (1u << 1)
/**
 * URSA_LOOP_NO_TASKRUN_FLAGS - Parameter flag: use neither DEFER_TASKRUN
 * nor COOP_TASKRUN.
 */
#define URSA_LOOP_NO_TASKRUN_FLAGS (1u << 2)

/**
 * struct ursa_loop_params - What ursa_loop_init() sets up.
 * @sq_entries: SQ size (count); 0 means 256. Rounded up to a power of 2.
 * @cq_entries: CQ size (count); raised to at least twice @sq_entries.
 * @flags: URSA_LOOP_* flags.
 * @sqpoll_idle_ms: With %URSA_LOOP_SQPOLL: idle time before the kernel
 *	thread sleeps (ms); 0 means 1000.
 * @runq_budget: Run queue items per turn (count); 0 means
 *	CONFIG_URSA_RUNQ_BUDGET.
 */
struct ursa_loop_params {
	unsigned int sq_entries;
	unsigned int cq_entries;
	unsigned int flags;
	unsigned int sqpoll_idle_ms;
	unsigned int runq_budget;
};

struct __ursa_fault;

/**
 * struct ursa_loop - An io_uring completion loop. Treat as opaque.
 * @ring: The io_uring.
 * @rq: The run queue drained once per turn.
 * @inflight: Requests whose CQEs are still due.
 * @nr_inflight: Their number (count).
 * @nr_internal: Of those, the loop own ones (eventfd, signalfd reads).
 * @later: Requests to complete on the next turn without a CQE (a
 *	parked recv that was cancelled).
 * @timers: The root of the timer heap.
 * @nr_timers: Timers armed (count).
 * @timer_seq: Next timer insertion number.
 * @now: The monotonic time cached at the start of the turn (ns).
 * @setup_flags: The IORING_SETUP_* flags the ring was created with.
 * @features: The IORING_FEAT_* flags the kernel reported.
 * @stopped: Set by ursa_loop_stop(); read by the loop.
 * @exiting: ursa_loop_exit() is cancelling and draining.
 * @wake_fd: eventfd that other threads write to wake the loop.
 * @wake_req: The read request on @wake_fd.
 * @wake_val: The buffer @wake_req reads into.
 * @post_lock: Protects @posted and @post_pending.
 * @post_pending: The eventfd was written and not yet read.
 * @posted: Work posted by other threads, not yet moved to @rq.
 * @fault: Fault injection state, or %NULL.
 * @stats: Counters.
 */
struct ursa_loop {
	struct io_uring ring;
	struct ursa_runq rq;
	struct ursa_list_head inflight;
	unsigned int nr_inflight;
	unsigned int nr_internal;
	struct ursa_list_head later;
	struct ursa_timer *timers;
	unsigned int nr_timers;
	uint64_t timer_seq;
	uint64_t now;
	unsigned int setup_flags;
	unsigned int features;
	volatile sig_atomic_t stopped;
	bool exiting;
	int wake_fd;
	struct ursa_req wake_req;
	uint64_t wake_val;
	pthread_mutex_t post_lock;
	bool post_pending;
	struct ursa_list_head posted;
	struct __ursa_fault *fault;
	struct ursa_loop_stats stats;
};

/**
 * ursa_loop_init() - Create the io_uring and set up a loop.
 * @loop: The loop, in caller-owned memory.
 * @params: What to set up, or %NULL for the defaults.
 *
 * Probes the kernel and falls back as the overview says. When
 * CONFIG_URSA_FAULT_INJECTION is set and URSA_FAIL_* variables are in the
 * environment, fault injection is configured from them.
 *
 * Context: Any thread, which then owns the loop.
 * Return: 0, or a negative errno; ursa_loop_strerror() explains it:
 * * -EPERM - io_uring is disabled (kernel.io_uring_disabled, or a seccomp
 *   profile).
 * * -ENOSYS - the kernel has no io_uring.
 * * -ENOMEM - the rings could not be allocated (RLIMIT_MEMLOCK on old
 *   kernels).
 * * -EINVAL - @params asks for what the kernel refuses, such as a size
 *   over its maximum.
 * * -EMFILE - no file descriptor left for the ring or the eventfd.
 */
int ursa_loop_init(struct ursa_loop *loop,
		   const struct ursa_loop_params *params);

/**
 * ursa_loop_strerror() - Explain a ursa_loop_init() error to a user.
 * @err: The negative errno ursa_loop_init() returned.
 *
 * Names the likely cause: the kernel.io_uring_disabled sysctl or a
 * container seccomp profile for -EPERM, an old kernel for -ENOSYS,
 * RLIMIT_MEMLOCK for -ENOMEM.
 *
 * Context: Any.
 * Return: a static, one-line message.
 */
const char *ursa_loop_strerror(int err);

/**
 * ursa_loop_exit() - Cancel everything, wait for every CQE, free the ring.
 * @loop: The loop.
 *
 * Every request in flight is cancelled and completes (INTERRUPT, or its
 * real result if it finished first), every timer is cancelled, the run
 * queue is drained, and the ring is freed. Callbacks run during this
 * call; a callback that starts a new request sees -ESHUTDOWN.
 *
 * Context: The loop's thread, outside the loop's callbacks.
 */
void ursa_loop_exit(struct ursa_loop *loop);

/**
 * ursa_loop_run() - Run the loop until no work is left or it is stopped.
 * @loop: The loop.
 *
 * Work means requests in flight, armed timers or queued run queue items.
 *
 * Context: The loop's thread, outside the loop's callbacks.
 * Return: 0 when there is no work left or ursa_loop_stop() was called, or
 * a negative errno from io_uring_enter that the loop cannot ride out.
 */
int ursa_loop_run(struct ursa_loop *loop);

/**
 * ursa_loop_run_once() - Run one turn of the loop.
 * @loop: The loop.
 * @wait: Block until at least one CQE or timer expiry when nothing is
 *	ready; %false only polls.
 *
 * Context: The loop's thread, outside the loop's callbacks.
 * Return: the number of CQEs, timer expiries and run queue items handled
 * (count), or a negative errno as for ursa_loop_run().
 */
int ursa_loop_run_once(struct ursa_loop *loop, bool wait);

/**
 * ursa_loop_stop() - Make ursa_loop_run() return after the current turn.
 * @loop: The loop.
 *
 * Context: Any: the loop's callbacks, another thread, or a signal handler
 * (it only stores a flag and writes to an eventfd).
 */
void ursa_loop_stop(struct ursa_loop *loop);

/**
 * ursa_loop_has_work() - Test whether the loop has anything to wait for.
 * @loop: The loop.
 *
 * Context: The loop's thread.
 * Return: %true if requests are in flight, timers are armed or work is
 * queued.
 */
bool ursa_loop_has_work(const struct ursa_loop *loop);

/**
 * ursa_loop_runq() - The loop's run queue, for waiters and work items.
 * @loop: The loop.
 *
 * Context: The loop's thread.
 * Return: the run queue, drained once per turn.
 */
struct ursa_runq *ursa_loop_runq(struct ursa_loop *loop);

/**
 * ursa_loop_now() - The loop's cached clock.
 * @loop: The loop.
 *
 * Context: The loop's thread.
 * Return: CLOCK_MONOTONIC at the start of the current turn (ns).
 */
uint64_t ursa_loop_now(const struct ursa_loop *loop);

/**
 * ursa_loop_stats() - Read the loop's counters.
 * @loop: The loop.
 *
 * Context: The loop's thread; another thread may read them too, but the
 * values can be torn.
 * Return: the counters, updated as the loop runs.
 */
const struct ursa_loop_stats *ursa_loop_stats(const struct ursa_loop *loop);

/**
 * ursa_loop_post() - Queue work on a loop from any thread.
 * @loop: The loop.
 * @work: An idle work item; it runs on the loop's thread, from its run
 *	queue.
 *
 * The work joins a locked list and the loop is woken through its eventfd.
 *
 * Context: Any thread, including the loop's own. Not from a signal
 * handler (it takes a lock).
 * Return: 0, or a negative errno:
 * * -EBUSY - @work is already queued.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_loop_post(struct ursa_loop *loop, struct ursa_work *work);

/**
 * ursa_loop_register_eventfd() - Have the kernel signal an eventfd when
 * completions may be waiting.
 * @loop: The loop.
 * @fd: An eventfd the caller owns (EFD_NONBLOCK suits a poll loop).
 *
 * The kernel adds to @fd's counter as it posts completions, and, with
 * deferred task work, as soon as work for the loop is queued, before the
 * CQEs exist. A caller that must not block in io_uring_enter can wait in
 * poll(2) or read(2) on @fd instead, then run ursa_loop_run_once() with
 * @wait false, which enters the ring to run that work and reaps. The
 * count can run ahead of the completions (a wake-up may find nothing),
 * never behind. Work posted with ursa_loop_post() signals it too, through
 * the loop's own eventfd read. ursa_loop_exit() does not unregister it;
 * closing the ring does. io_uring: io_uring_register_eventfd().
 *
 * valgrind serialises a process's threads and does not count
 * io_uring_enter as a blocking call, so a thread waiting in it keeps
 * every other thread from running; a loop that waits for worker threads
 * waits in poll(2) on this eventfd there (see docs/fchunk.md).
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno from the kernel:
 * * -EBUSY - an eventfd is already registered.
 * * -EBADF - @fd is not an open file descriptor.
 * * -EINVAL - @fd is not an eventfd.
 */
int ursa_loop_register_eventfd(struct ursa_loop *loop, int fd);

/**
 * ursa_loop_unregister_eventfd() - Stop signalling the registered eventfd.
 * @loop: The loop.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -ENXIO - no eventfd is registered.
 */
int ursa_loop_unregister_eventfd(struct ursa_loop *loop);

/**
 * ursa_req_init() - Initialise an idle request.
 * @req: The request, in caller-owned memory.
 * @cb: Its completion callback, or %NULL to only fulfil its deferred.
 *
 * Context: Any.
 */
void ursa_req_init(struct ursa_req *req, ursa_req_fn *cb);

/**
 * ursa_req_busy() - Test whether a request is in flight.
 * @req: The request.
 *
 * Context: The loop's thread.
 * Return: %true from a successful start until its last CQE.
 */
bool ursa_req_busy(const struct ursa_req *req);

/**
 * ursa_req_more() - Test whether a multishot request will post more CQEs.
 * @req: The request, in its callback.
 *
 * Context: The request's completion callback.
 * Return: %true if the last CQE had IORING_CQE_F_MORE.
 */
bool ursa_req_more(const struct ursa_req *req);

/**
 * ursa_req_set_timeout() - Attach a link timeout to a request's next start.
 * @req: An idle request.
 * @ns: The timeout, relative to submission (ns); 0 removes it.
 *
 * If the op is still running after @ns, the kernel cancels it and the
 * request completes with FAILURE(-ETIME), which is distinct from a cancel
 * (INTERRUPT). io_uring: IORING_OP_LINK_TIMEOUT.
 *
 * A multishot op refuses to start with a link timeout (-EINVAL).
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @req is in flight.
 */
int ursa_req_set_timeout(struct ursa_req *req, uint64_t ns);

/**
 * ursa_req_set_async() - Have a request's starts go to the kernel's
 * worker threads.
 * @req: An idle request.
 * @async: %true to set IOSQE_ASYNC on every start from now on (and on the
 *	pieces of a full-length read or write), %false to clear it.
 *
 * Without it, the kernel tries an op inline in io_uring_enter() first: a
 * buffered read from the page cache is then copied on the loop's thread.
 * With it, the op is handed straight to io-wq, so that such copies run on
 * other CPUs while the loop's thread goes on (a cached file read costs a
 * worker wake-up instead). The setting stays until it is changed;
 * ursa_req_init() clears it. io_uring: IOSQE_ASYNC (Linux 5.6).
 *
 * Context: The loop's thread, or any thread that owns the idle request.
 * Return: 0, or a negative errno:
 * * -EBUSY - @req is in flight.
 */
int ursa_req_set_async(struct ursa_req *req, bool async);

/**
 * ursa_nop() - Start a no-op; it completes with SUCCESS(0).
 * @loop: The loop.
 * @req: An idle request.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @req is in flight.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_nop(struct ursa_loop *loop, struct ursa_req *req);

/**
 * ursa_cancel() - Cancel a request in flight.
 * @loop: The loop.
 * @req: The request.
 *
 * Asynchronous: the request still completes exactly once, through its own
 * CQE, with INTERRUPT, or with its real result if it finished first. Its
 * buffers stay in use until then. io_uring: IORING_OP_ASYNC_CANCEL.
 *
 * Context: The loop's thread.
 * Return: 0 if a cancel was queued, or a negative errno:
 * * -ENOENT - @req is not in flight.
 */
int ursa_cancel(struct ursa_loop *loop, struct ursa_req *req);

/**
 * ursa_cancel_fd() - Cancel every request in flight on a file descriptor.
 * @loop: The loop.
 * @fd: The file descriptor.
 *
 * Context: The loop's thread.
 * Return: the number of requests a cancel was queued for (count), or a
 * negative errno:
 * * -EBADF - @fd is negative.
 */
int ursa_cancel_fd(struct ursa_loop *loop, int fd);

/**
 * ursa_cancel_all() - Cancel every request in flight on the loop.
 * @loop: The loop.
 *
 * Context: The loop's thread.
 * Return: the number of requests a cancel was queued for (count).
 */
int ursa_cancel_all(struct ursa_loop *loop);

/**
 * ursa_await_req() - Wait for a request from a task.
 * @req: A request that was started.
 *
 * If the task is interrupted, the request is cancelled and the await
 * still returns only when the request completes (INTERRUPT, or its real
 * result if it won the race): the kernel owns its buffers until then.
 *
 * Context: A task on the loop's run queue.
 * Return: the request's exit, or DIE(-EPERM) outside a task.
 */
struct ursa_exit ursa_await_req(struct ursa_req *req);

#endif /* URSA_LOOP_H */
