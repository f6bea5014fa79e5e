// SPDX-License-Identifier: MIT
/*
 * Tasks: stackful coroutines on a run queue, with Effect's interruption,
 * pooled guarded stacks, stack overflow reports, and the sanitizer and
 * valgrind annotations that keep those tools working across switches.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ursa/err.h>
#include <ursa/task.h>

#include "ctx.h"
#include "export.h"
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define URSA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define URSA_ASAN 1
#endif
#endif

#ifdef URSA_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

enum {
	TASK_QUEUED = 0, /* on the run queue, to start or resume */
	TASK_RUNNING,
	TASK_WAITING,
	TASK_DONE,
};

#define TASK_POOL_MAX 1024

struct ursa_task {
	struct __ursa_ctx ctx;
	struct ursa_work run;
	struct ursa_runq *rq;
	uint64_t id;
	const char *name;
	ursa_task_fn *fn;
	void *arg;
	unsigned int state;
	unsigned int refs;
	bool interrupted;
	bool wait_interrupted; /* the current wait ended by interruption */
	uint64_t interrupter;
	unsigned int uninterruptible;
	/* The current wait, and how an interruption ends it. */
	bool (*wait_cancel)(struct ursa_task *t);
	void *wait_obj;
	struct ursa_waiter w;
	struct ursa_take take;
	struct ursa_deferred scratch; /* an emit's "taken" deferred */
	struct ursa_exit wait_result;
	struct ursa_deferred done;
	struct ursa_exit exit;
	struct ursa_scope scope;
	struct ursa_scope *cur_scope;
	/* Finalizer nodes the task holds for callers that pass none. */
	struct ursa_finalizer fin_slots[URSA_TASK_FINALIZER_SLOTS];
	struct ursa_task_group *group;
	struct ursa_list_head group_node;
	struct ursa_list_head rq_node; /* on rq->tasks until it finishes */
	bool (*ext_cancel)(void *ctx);
	/* The mapping: guard page, stack, then this struct at the top. */
	void *map;
	size_t map_size;
	char *stack_lo;
	size_t stack_size;
	void *asan_fake;
	unsigned int vg_id;
	struct ursa_task *pool_next;
};

static __thread struct ursa_task *current;
static __thread struct __ursa_ctx sched_ctx;
static __thread struct ursa_task *pool;
static __thread unsigned int pool_nr;
static __thread bool altstack_ready;
#ifdef URSA_ASAN
static __thread void *sched_fake;
static __thread const void *sched_lo;
static __thread size_t sched_size;
#endif
static uint64_t next_id = 1;
static size_t page_size;
static struct sigaction old_segv;
static pthread_once_t segv_once = PTHREAD_ONCE_INIT;

/* ---- stack overflow reports ---- */

static char *fmt_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *fmt_str(char *p, const char *s, size_t max)
{
	while (*s && max--)
		*p++ = *s++;
	return p;
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	struct ursa_task *t = current;
	char *addr = si->si_addr;

	if (t && addr >= (char *)t->map - 16 * page_size &&
	    addr < t->stack_lo) {
		char msg[256], *p = msg;
		ssize_t n;

		p = fmt_str(p, "ursa: task '", 12);
		p = fmt_str(p, t->name ? t->name : "?", 64);
		p = fmt_str(p, "' (id ", 6);
		p = fmt_u64(p, t->id);
		p = fmt_str(p, ") overflowed its stack of ", 26);
		p = fmt_u64(p, t->stack_size);
		p = fmt_str(p, " bytes; spawn it with a larger stack_size\n",
			    48);
		n = write(STDERR_FILENO, msg, (size_t)(p - msg));
		(void)n;
		abort();
	}
	/* Not ours: hand it on as if we had never been installed. */
	if (old_segv.sa_flags & SA_SIGINFO) {
		old_segv.sa_sigaction(sig, si, uc);
	} else if (old_segv.sa_handler != SIG_DFL &&
		   old_segv.sa_handler != SIG_IGN) {
		old_segv.sa_handler(sig);
	} else {
		sigaction(SIGSEGV, &old_segv, NULL);
	}
}

static void segv_install(void)
{
	struct sigaction sa;

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
}

static void segv_ensure(void)
{
	struct sigaction cur;

	if (sigaction(SIGSEGV, NULL, &cur) == 0 &&
	    (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != segv_handler))
		segv_install();
}

/* The handler needs a stack of its own: the task's is the one that ran out. */
static void altstack_setup(void)
{
	stack_t ss, old;
	size_t size = 64 * 1024;

	altstack_ready = true;
	if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
		return;
	ss.ss_sp = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		return;
	ss.ss_size = size;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
}

/* ---- stacks ---- */

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

static struct ursa_task *task_alloc(size_t stack_size)
{
	size_t top = round_up(sizeof(struct ursa_task), 64);
	size_t map_size;
	struct ursa_task *t;
	void *map;

	if (stack_size == CONFIG_URSA_TASK_STACK_SIZE && pool) {
		t = pool;
		pool = t->pool_next;
		pool_nr--;
		return t;
	}
	/*
	 * Mapping a stack is a system call anyway: make sure the overflow
	 * handler is still ours, in case a library replaced it since.
	 */
	segv_ensure();
	map_size = page_size + round_up(stack_size + top, page_size);
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
		   0);
	if (map == MAP_FAILED)
		return NULL;
	/* The guard page: running off the stack faults here. */
	if (mprotect(map, page_size, PROT_NONE)) {
		munmap(map, map_size);
		return NULL;
	}
	t = (struct ursa_task *)((char *)map + map_size - top);
	t->map = map;
	t->map_size = map_size;
	t->stack_lo = (char *)map + page_size;
	t->stack_size = ((char *)t - t->stack_lo) & ~(size_t)15;
	t->vg_id = VALGRIND_STACK_REGISTER(t->stack_lo,
					   t->stack_lo + t->stack_size);
	return t;
}

static void task_free(struct ursa_task *t)
{
	if (t->stack_size >= CONFIG_URSA_TASK_STACK_SIZE &&
	    t->map_size ==
		    page_size + round_up(CONFIG_URSA_TASK_STACK_SIZE +
						 round_up(sizeof(*t), 64),
					 page_size) &&
	    pool_nr < TASK_POOL_MAX) {
		t->pool_next = pool;
		pool = t;
		pool_nr++;
		return;
	}
	VALGRIND_STACK_DEREGISTER(t->vg_id);
	munmap(t->map, t->map_size);
}

static void task_put(struct ursa_task *t)
{
	if (--t->refs == 0)
		task_free(t);
}

/* ---- switching ---- */

/*
 * Two ways into a task. The scheduler (a run queue item, running on the
 * thread's own stack) switches into it and gets control back when some
 * task switches out to the scheduler. Or a task that suspends does the
 * work of the next run queue item itself, when that item only resumes a
 * task, and switches straight from its own context into that task's: one
 * switch instead of two, and no trip through the scheduler's stack. The item is
 * still taken from the head of the queue, in FIFO order, and from the
 * batch's budget (rq->batch_left), so the order of work, and when the
 * loop gets control back for I/O, are exactly what the scheduler alone
 * would give.
 */

static void task_resume(struct ursa_work *work);
static void await_wake(struct ursa_waiter *w, const struct ursa_exit *exit);
static void take_wake(struct ursa_take *tk);

/* A task that finished and switched out for the last time. */
static __thread struct ursa_task *finished;
#ifdef URSA_ASAN
/* The switch that is happening comes from the scheduler's stack. */
static __thread bool from_sched;

/* A task is running again: finish ASan's switch, learn the scheduler's stack. */
static inline void asan_resumed(struct ursa_task *t)
{
	const void *lo;
	size_t size;

	__sanitizer_finish_switch_fiber(t->asan_fake, &lo, &size);
	if (from_sched) {
		sched_lo = lo;
		sched_size = size;
	}
}
#endif

/* From the scheduler (a run queue item) into @t, and back. */
static void switch_into(struct ursa_task *t)
{
	if (current) {
		/* Woken from inside another task: let the run queue do it. */
		t->state = TASK_QUEUED;
		ursa_work_init(&t->run, task_resume);
		ursa_runq_queue(t->rq, &t->run);
		return;
	}
	current = t;
	t->state = TASK_RUNNING;
#ifdef URSA_ASAN
	from_sched = true;
	__sanitizer_start_switch_fiber(&sched_fake, t->stack_lo, t->stack_size);
#endif
	__ursa_ctx_swap(&sched_ctx, &t->ctx);
#ifdef URSA_ASAN
	__sanitizer_finish_switch_fiber(sched_fake, NULL, NULL);
#endif
	/*
	 * Whichever task switched out to the scheduler last (maybe not @t:
	 * tasks switch straight to one another), none is running now.
	 */
	current = NULL;
	if (finished) {
		t = finished;
		finished = NULL;
		task_put(t);
	}
}

/*
 * If @work, at the head of the run queue, only resumes a task, do what
 * running it would do up to the switch, and return that task; else NULL.
 * The items: a woken await, a resumption (start, yield, interruption), or
 * an input take of a task. None of them calls user code before the
 * switch. Anything else (a callback, a lazy deferred's effect, an emit
 * buffer's take) runs from the scheduler, on its stack, as always.
 */
static struct ursa_task *take_task_work(struct ursa_runq *rq,
					struct ursa_work *work)
{
	struct ursa_task *t;

	if (work->fn == __ursa_waiter_run) {
		struct ursa_waiter *w =
			ursa_container_of(work, struct ursa_waiter, work);

		if (w->fn != await_wake || w->lazy)
			return NULL;
		/* __ursa_waiter_run() and await_wake(). */
		__ursa_runq_del_first(rq, work);
		w->state = WAITER_IDLE;
		t = ursa_container_of(w, struct ursa_task, w);
		/*
		 * Field by field, as the waker stored it (deferred.c's
		 * waiter_wake()): a 16-byte load of narrower stores still in
		 * flight would stall on store forwarding.
		 */
		t->wait_result.kind = w->exit.kind;
		t->wait_result.err = w->exit.err;
		t->wait_result.val = w->exit.val;
		return t;
	}
	if (work->fn == task_resume) {
		__ursa_runq_del_first(rq, work);
		return ursa_container_of(work, struct ursa_task, run);
	}
	if (work->fn == __ursa_input_take_run) {
		struct ursa_take *tk =
			ursa_container_of(work, struct ursa_take, work);

		if (tk->fn != take_wake)
			return NULL;
		/* __ursa_input_take_run() and take_wake(). */
		__ursa_runq_del_first(rq, work);
		__ursa_input_take_pull(tk);
		t = ursa_container_of(tk, struct ursa_task, take);
		t->wait_result = ursa_exit_success(0);
		return t;
	}
	return NULL;
}

/* From the running task @t straight to @next, which is marked running. */
static inline void switch_to(struct ursa_task *t, struct ursa_task *next)
{
	current = next;
#ifdef URSA_ASAN
	from_sched = false;
	__sanitizer_start_switch_fiber(&t->asan_fake, next->stack_lo,
				       next->stack_size);
#endif
	__ursa_ctx_swap(&t->ctx, &next->ctx);
#ifdef URSA_ASAN
	asan_resumed(t);
#endif
}

/*
 * From the running task @t to the next task in line, or the scheduler.
 * Not inlined: every task that waits switches out from this one place
 * (and every task that yields from ursa_task_yield()), so that the
 * return addresses the CPU predicts after a switch are mostly right.
 */
static __attribute__((noinline)) void switch_out(struct ursa_task *t)
{
	struct ursa_runq *rq = t->rq;
	struct ursa_task *next;

	if (rq->batch_left && !ursa_list_empty(&rq->queue)) {
		next = take_task_work(
			rq, ursa_list_first_entry(&rq->queue, struct ursa_work,
						  node));
		if (next) {
			/* What ursa_runq_run() would have run next. */
			rq->batch_left--;
			next->state = TASK_RUNNING;
			if (next == t)
				return;
			switch_to(t, next);
			return;
		}
	}
#ifdef URSA_ASAN
	__sanitizer_start_switch_fiber(&t->asan_fake, sched_lo, sched_size);
#endif
	__ursa_ctx_swap(&t->ctx, &sched_ctx);
#ifdef URSA_ASAN
	asan_resumed(t);
#endif
}

static void task_resume(struct ursa_work *work)
{
	switch_into(ursa_container_of(work, struct ursa_task, run));
}

/*
 * t->run is set up at spawn, and is off the queue whenever the task runs
 * or waits (the run queue and switch_out() take it off with
 * ursa_list_del_init()): queue it without another init.
 */
static void queue_resume(struct ursa_task *t)
{
	URSA_BUG_ON(ursa_work_pending(&t->run));
	t->state = TASK_QUEUED;
	ursa_list_add_tail(&t->run.node, &t->rq->queue);
}

/* Park the current task until a wake-up; returns what the waker left. */
static struct ursa_exit suspend(struct ursa_task *t)
{
	t->state = TASK_WAITING;
	t->wait_interrupted = false;
	switch_out(t);
	t->wait_cancel = NULL;
	return t->wait_result;
}

static bool interruptible_now(struct ursa_task *t)
{
	return t->interrupted && !t->uninterruptible;
}

static void group_leave(struct ursa_task *t)
{
	struct ursa_task_group *g = t->group;
	struct ursa_exit ok = ursa_exit_success(0);

	if (!g)
		return;
	ursa_list_del_init(&t->group_node);
	t->group = NULL;
	if (--g->nr == 0)
		__ursa_waiters_wake_all(&g->empty, &ok);
}

static void task_finish(struct ursa_task *t, struct ursa_exit exit)
{
	/*
	 * An interrupted task's exit is the interruption, and that is what
	 * its finalizers see. They run uninterruptibly, innermost first.
	 */
	if (t->interrupted)
		exit = ursa_exit_interrupt(t->interrupter);
	t->uninterruptible++;
	ursa_scope_close(&t->scope, &exit);
	t->exit = exit;
	t->state = TASK_DONE;
	group_leave(t);
	ursa_list_del_init(&t->rq_node);
	t->rq->nr_tasks--;
	ursa_deferred_done(&t->done, &exit);
	/* The scheduler frees it: this stack is the one we stand on. */
	finished = t;
#ifdef URSA_ASAN
	/* NULL: this fiber's fake stack can go, it never runs again. */
	__sanitizer_start_switch_fiber(NULL, sched_lo, sched_size);
#endif
	__ursa_ctx_swap(&t->ctx, &sched_ctx);
	__builtin_unreachable();
}

static void scope_leak_warn(const struct ursa_task *t)
{
	fprintf(stderr,
		"ursa: task %llu (%s) returned with a nested scope open; "
		"its finalizers are lost\n",
		(unsigned long long)t->id, t->name ? t->name : "unnamed");
}

static void task_entry(void *arg)
{
	struct ursa_task *t = arg;

#ifdef URSA_ASAN
	asan_resumed(t);
#endif
	struct ursa_exit exit = t->fn(t->arg);

	/*
	 * A nested scope still open lived in the frame that just returned:
	 * its memory is no longer ours to read. Its finalizers cannot run;
	 * say so, and make the task die rather than corrupt the stack.
	 */
	if (t->cur_scope != &t->scope) {
		scope_leak_warn(t);
		t->cur_scope = &t->scope;
		exit = ursa_exit_die(-EBUSY);
	}
	task_finish(t, exit);
}

/* ---- spawn, join, interrupt ---- */

struct ursa_task *ursa_task_spawn(struct ursa_runq *rq, ursa_task_fn *fn,
				  void *arg, const struct ursa_task_opts *opts)
{
	size_t stack_size = opts && opts->stack_size ?
				    opts->stack_size :
				    CONFIG_URSA_TASK_STACK_SIZE;
	struct ursa_task *t;

	if (!fn || stack_size < 16384)
		return ERR_PTR(-EINVAL);
	pthread_once(&segv_once, segv_install);
	if (!altstack_ready)
		altstack_setup();
	t = task_alloc(stack_size);
	if (!t)
		return ERR_PTR(-ENOMEM);

	t->rq = rq;
	t->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	t->name = opts ? opts->name : NULL;
	t->fn = fn;
	t->arg = arg;
	t->refs = 2; /* the running task, and the caller's handle */
	t->interrupted = false;
	t->wait_interrupted = false;
	t->interrupter = 0;
	t->uninterruptible = 0;
	t->wait_cancel = NULL;
	t->asan_fake = NULL;
	/*
	 * The task's waiter and take serve all its awaits: they are idle
	 * again whenever the task runs, so they are set up once, here.
	 */
	ursa_waiter_init(&t->w, rq, await_wake);
	ursa_take_init(&t->take, rq, take_wake);
	ursa_deferred_init(&t->done);
	ursa_list_init(&t->scope.finalizers);
	t->scope.parent = NULL;
	t->scope.closed = false;
	t->cur_scope = &t->scope;
	memset(t->fin_slots, 0, sizeof(t->fin_slots));
	t->group = NULL;
	ursa_list_init(&t->group_node);
	if (opts && opts->group) {
		t->group = opts->group;
		ursa_list_add_tail(&t->group_node, &opts->group->tasks);
		opts->group->nr++;
	}
	ursa_list_add_tail(&t->rq_node, &rq->tasks);
	rq->nr_tasks++;
	__ursa_ctx_make(&t->ctx, t->stack_lo, t->stack_size, task_entry, t);
	ursa_work_init(&t->run, task_resume);
	queue_resume(t);
	return t;
}

struct ursa_exit ursa_task_join(struct ursa_task *t)
{
	struct ursa_exit e;

	/* Outside a task there is nothing to wait with: keep the handle. */
	if (!current)
		return ursa_exit_die(-EPERM);
	e = ursa_await(&t->done);

	ursa_task_release(t);
	return e;
}

void ursa_task_release(struct ursa_task *t)
{
	task_put(t);
}

struct ursa_deferred *ursa_task_done(struct ursa_task *t)
{
	return &t->done;
}

bool ursa_task_interrupt(struct ursa_task *t)
{
	if (t->state == TASK_DONE || t->interrupted)
		return false;
	t->interrupted = true;
	t->interrupter = current ? current->id : 0;
	if (t->state == TASK_WAITING && !t->uninterruptible && t->wait_cancel &&
	    t->wait_cancel(t)) {
		t->wait_result = ursa_exit_interrupt(t->interrupter);
		t->wait_interrupted = true;
		t->wait_cancel = NULL;
		queue_resume(t);
	}
	return true;
}

struct ursa_task *ursa_task_current(void)
{
	return current;
}

uint64_t ursa_task_id(const struct ursa_task *t)
{
	if (!t)
		t = current;
	return t ? t->id : 0;
}

bool ursa_task_is_interrupted(void)
{
	return current && current->interrupted;
}

/* A yield that cannot switch straight to the next task. */
static __attribute__((noinline)) int yield_slow(struct ursa_task *t)
{
	queue_resume(t);
	switch_out(t);
	return 0;
}

int ursa_task_yield(void)
{
	struct ursa_task *t = current, *next;
	struct ursa_runq *rq;
	struct ursa_work *head;

	if (unlikely(!t))
		return -EPERM;
	if (unlikely(interruptible_now(t)))
		return -ECANCELED;
	rq = t->rq;
	if (unlikely(!rq->batch_left))
		return yield_slow(t);
	if (ursa_list_empty(&rq->queue)) {
		/*
		 * Nothing else is ready: our resumption would be the only
		 * item, and the next one run. Take it from the budget as the
		 * run queue would, without queueing it.
		 */
		rq->batch_left--;
		return 0;
	}
	head = ursa_list_first_entry(&rq->queue, struct ursa_work, node);
	if (unlikely(head->fn != task_resume))
		return yield_slow(t);
	/*
	 * Another task's resumption is next in line: what queue_resume()
	 * and switch_out() would do, with less to check. Take that item
	 * (taking it first or queueing ours first leaves the same queue),
	 * queue ours behind everything else, and switch. The slow paths are
	 * tail calls, so that a yield that does not switch needs no stack
	 * frame.
	 */
	next = ursa_container_of(head, struct ursa_task, run);
	__ursa_runq_del_first(rq, head);
	rq->batch_left--;
	t->state = TASK_QUEUED;
	ursa_list_add_tail(&t->run.node, &rq->queue);
	next->state = TASK_RUNNING;
	switch_to(t, next);
	return 0;
}

int ursa_task_uninterruptible(bool on)
{
	struct ursa_task *t = current;

	if (!t)
		return -EPERM;
	if (on) {
		t->uninterruptible++;
		return 0;
	}
	if (!t->uninterruptible)
		return -EINVAL;
	t->uninterruptible--;
	return 0;
}

/* ---- awaits ---- */

static void await_wake(struct ursa_waiter *w, const struct ursa_exit *exit)
{
	struct ursa_task *t = ursa_container_of(w, struct ursa_task, w);

	t->wait_result = *exit;
	switch_into(t);
}

static bool cancel_waiter(struct ursa_task *t)
{
	return ursa_waiter_cancel(&t->w);
}

struct ursa_exit ursa_await(struct ursa_deferred *d)
{
	struct ursa_task *t = current;
	struct ursa_exit e;

	if (!t)
		return ursa_exit_die(-EPERM);
	if (interruptible_now(t))
		return ursa_exit_interrupt(t->interrupter);
	if (ursa_deferred_poll(d, &e))
		return e;
	ursa_deferred_await(d, &t->w);
	t->wait_cancel = cancel_waiter;
	return suspend(t);
}

static bool ext_cancel_thunk(struct ursa_task *t)
{
	return t->ext_cancel(t->wait_obj);
}

struct ursa_exit __ursa_await_cancelable(struct ursa_deferred *d,
					 bool (*cancel)(void *ctx), void *ctx)
{
	struct ursa_task *t = current;
	struct ursa_exit e;

	if (!t)
		return ursa_exit_die(-EPERM);
	if (ursa_deferred_poll(d, &e))
		return e;
	if (interruptible_now(t) && cancel(ctx) && ursa_deferred_poll(d, &e))
		return e;
	ursa_deferred_await(d, &t->w);
	t->wait_obj = ctx;
	t->ext_cancel = cancel;
	t->wait_cancel = ext_cancel_thunk;
	return suspend(t);
}

unsigned int __ursa_runq_interrupt_tasks(struct ursa_runq *rq)
{
	struct ursa_task *t, *n;
	unsigned int count = 0;

	ursa_list_for_each_entry_safe(t, n, &rq->tasks, rq_node)
		count += ursa_task_interrupt(t);
	return count;
}

/* Wait on a waiter the caller has parked or queued; -ECANCELED if interrupted. */
static int await_waiter(struct ursa_task *t, struct ursa_exit *out)
{
	struct ursa_exit e;

	t->wait_cancel = cancel_waiter;
	e = suspend(t);
	if (t->wait_interrupted)
		return -ECANCELED;
	if (out)
		*out = e;
	return 0;
}

static void take_wake(struct ursa_take *tk)
{
	struct ursa_task *t = ursa_container_of(tk, struct ursa_task, take);

	t->wait_result = ursa_exit_success(0);
	switch_into(t);
}

static bool cancel_input_take(struct ursa_task *t)
{
	return ursa_input_take_cancel(t->wait_obj, &t->take);
}

static bool cancel_emit_take(struct ursa_task *t)
{
	return ursa_emit_take_cancel(t->wait_obj, &t->take);
}

int ursa_await_input_take(struct ursa_input *in, struct ursa_exit *out)
{
	struct ursa_task *t = current;

	if (!t)
		return -EPERM;
	if (interruptible_now(t))
		return -ECANCELED;
	t->wait_obj = in;
	ursa_input_take(in, &t->take);
	t->wait_cancel = cancel_input_take;
	suspend(t);
	if (t->wait_interrupted)
		return -ECANCELED;
	if (out)
		*out = t->take.exit;
	return t->take.what;
}

int ursa_await_emit_take(struct ursa_emit *em, struct ursa_emit_entry *out,
			 struct ursa_exit *exit)
{
	struct ursa_task *t = current;

	if (!t)
		return -EPERM;
	if (interruptible_now(t))
		return -ECANCELED;
	t->wait_obj = em;
	ursa_emit_take(em, &t->take);
	t->wait_cancel = cancel_emit_take;
	suspend(t);
	if (t->wait_interrupted)
		return -ECANCELED;
	if (out)
		*out = t->take.entry;
	if (exit)
		*exit = t->take.exit;
	return t->take.what;
}

int ursa_await_input_emit(struct ursa_input *in, int64_t val)
{
	struct ursa_task *t = current;
	struct ursa_exit e;
	int ret;

	if (!t)
		return -EPERM;
	if (interruptible_now(t))
		return -ECANCELED;
	ursa_deferred_init(&t->scratch);
	ret = ursa_input_emit(in, val, &t->scratch);
	if (ret)
		return ret;
	e = ursa_await(&t->scratch);
	if (e.kind == URSA_EXIT_INTERRUPT) {
		/* The element stays for a consumer; forget our deferred. */
		__ursa_input_forget_taken(in, &t->scratch);
		return -ECANCELED;
	}
	return 0;
}

int ursa_await_input_read(struct ursa_input *in)
{
	struct ursa_task *t = current;

	if (!t)
		return -EPERM;
	if (interruptible_now(t))
		return -ECANCELED;
	ursa_input_await_read(in, &t->w);
	return await_waiter(t, NULL);
}

int ursa_await_emit_room(struct ursa_emit *em)
{
	struct ursa_task *t = current;
	struct ursa_exit e;
	int ret;

	if (!t)
		return -EPERM;
	if (interruptible_now(t))
		return -ECANCELED;
	ursa_emit_await_room(em, &t->w);
	ret = await_waiter(t, &e);
	if (ret)
		return ret;
	return e.kind == URSA_EXIT_SUCCESS ? 0 : e.err;
}

/* ---- groups ---- */

void ursa_task_group_init(struct ursa_task_group *g)
{
	ursa_list_init(&g->tasks);
	ursa_list_init(&g->empty);
	g->nr = 0;
}

unsigned int ursa_task_group_interrupt(struct ursa_task_group *g)
{
	struct ursa_task *t, *n;
	unsigned int count = 0;

	ursa_list_for_each_entry_safe(t, n, &g->tasks, group_node)
		count += ursa_task_interrupt(t);
	return count;
}

int ursa_task_group_await(struct ursa_task_group *g, struct ursa_waiter *w)
{
	struct ursa_exit ok = ursa_exit_success(0);

	if (ursa_waiter_is_pending(w))
		return -EBUSY;
	if (!g->nr)
		__ursa_waiter_wake(w, &ok);
	else
		__ursa_waiter_park(w, &g->empty);
	return 0;
}

int ursa_task_group_wait(struct ursa_task_group *g)
{
	struct ursa_task *t = current;

	if (!t)
		return -EPERM;
	if (interruptible_now(t))
		return -ECANCELED;
	if (!g->nr)
		return 0;
	ursa_task_group_await(g, &t->w);
	return await_waiter(t, NULL);
}

/* ---- scopes ---- */

int ursa_scope_open(struct ursa_scope *s)
{
	struct ursa_task *t = current;

	if (!t)
		return -EPERM;
	ursa_list_init(&s->finalizers);
	s->closed = false;
	s->parent = t->cur_scope;
	t->cur_scope = s;
	return 0;
}

/* Is @s one of @t's open scopes, the current one or an enclosing one? */
static bool scope_in_chain(const struct ursa_task *t,
			   const struct ursa_scope *s)
{
	const struct ursa_scope *c;

	for (c = t->cur_scope; c; c = c->parent)
		if (c == s)
			return true;
	return false;
}

int ursa_scope_close(struct ursa_scope *s, const struct ursa_exit *exit)
{
	struct ursa_exit ok = ursa_exit_success(0);
	struct ursa_task *t = current;

	if (s->closed)
		return -EALREADY;
	if (!exit)
		exit = &ok;
	/*
	 * Scopes nest: closing one closes the scopes opened inside it
	 * first, innermost first, so the task's current scope is never a
	 * closed one.
	 */
	if (t && scope_in_chain(t, s)) {
		while (t->cur_scope != s)
			ursa_scope_close(t->cur_scope, exit);
		t->cur_scope = s->parent;
	}
	s->closed = true;
	if (t)
		t->uninterruptible++;
	/* Newest first: finalizers are added at the head. */
	while (!ursa_list_empty(&s->finalizers)) {
		struct ursa_finalizer *f = ursa_list_first_entry(
			&s->finalizers, struct ursa_finalizer, node);

		void (*fn)(void *arg, const struct ursa_exit *e) = f->fn;

		ursa_list_del_init(&f->node);
		/* A task-held slot is free again once it has run. */
		f->fn = NULL;
		fn(f->arg, exit);
	}
	if (t)
		t->uninterruptible--;
	return 0;
}

int ursa_scope_add_finalizer(struct ursa_scope *s, struct ursa_finalizer *f,
			     void (*fn)(void *arg, const struct ursa_exit *e),
			     void *arg)
{
	unsigned int i;

	if (!s) {
		if (!current)
			return -EPERM;
		s = current->cur_scope;
		if (!s)
			return -EPIPE;
	}
	if (s->closed)
		return -EPIPE;
	if (!f) {
		if (!current)
			return -EPERM;
		for (i = 0; i < URSA_TASK_FINALIZER_SLOTS; i++)
			if (!current->fin_slots[i].fn)
				break;
		if (i == URSA_TASK_FINALIZER_SLOTS)
			return -ENOSPC;
		f = &current->fin_slots[i];
	}
	f->fn = fn;
	f->arg = arg;
	ursa_list_add(&f->node, &s->finalizers);
	return 0;
}

struct ursa_exit
ursa_acquire_release(ursa_task_fn *acquire, struct ursa_finalizer *f,
		     void (*release)(void *arg, const struct ursa_exit *e),
		     void *arg)
{
	struct ursa_task *t = current;
	struct ursa_exit e;

	if (!t)
		return ursa_exit_die(-EPERM);
	t->uninterruptible++;
	e = acquire(arg);
	t->uninterruptible--;
	if (e.kind == URSA_EXIT_SUCCESS) {
		int ret = ursa_scope_add_finalizer(NULL, f, release, arg);

		if (ret) {
			/* Nowhere to keep the release: undo at once. */
			release(arg, &e);
			e = ursa_exit_die(ret);
		}
	}
	return e;
}
