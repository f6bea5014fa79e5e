// SPDX-License-Identifier: MIT
/*
 * Interruption and cleanup. A reader task acquires a pipe with
 * ursa_acquire_release(), registers two finalizers, runs a step that must
 * not be cut short in an uninterruptible region, then blocks reading a
 * pipe nobody writes to. The program interrupts it during the step: the
 * step still completes, the read that follows is cancelled and awaited
 * until its CQE, and the finalizers run newest first, the pipe's release
 * last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define KSFT_SKIP 4

struct reader {
	struct ursa_loop *loop;
	int fds[2];
	uint64_t step_ns;
	char log[256]; /* what happened, in order */
};

static void note(struct reader *r, const char *what)
{
	size_t len = strlen(r->log);

	printf("reader: %s\n", what);
	snprintf(r->log + len, sizeof(r->log) - len, "%s%s", len ? ", " : "",
		 what);
}

static struct ursa_exit open_pipe(void *arg)
{
	struct reader *r = arg;

	if (pipe(r->fds))
		return ursa_exit_failure(-errno);
	note(r, "pipe opened");
	return ursa_exit_success(0);
}

static void close_pipe(void *arg, const struct ursa_exit *exit)
{
	struct reader *r = arg;

	close(r->fds[0]);
	close(r->fds[1]);
	note(r, exit->kind == URSA_EXIT_INTERRUPT ? "pipe closed (interrupt)" :
						    "pipe closed");
}

static void finalizer_1(void *arg, const struct ursa_exit *exit)
{
	(void)exit;
	note(arg, "finalizer 1");
}

static void finalizer_2(void *arg, const struct ursa_exit *exit)
{
	(void)exit;
	note(arg, "finalizer 2");
}

static void step_over(void *arg, const struct ursa_exit *exit)
{
	(void)exit;
	note(arg, "step scope closed");
}

static struct ursa_exit reader_fn(void *arg)
{
	struct reader *r = arg;
	struct ursa_finalizer step_fin;
	struct ursa_scope step;
	struct ursa_req req;
	struct ursa_exit e;
	char buf[64];
	uint64_t t0;
	int ret;

	e = ursa_acquire_release(open_pipe, NULL, close_pipe, r);
	if (e.kind != URSA_EXIT_SUCCESS)
		return e;
	ursa_scope_add_finalizer(NULL, NULL, finalizer_1, r);
	ursa_scope_add_finalizer(NULL, NULL, finalizer_2, r);

	/* A scope of its own, closed before this frame returns. */
	ursa_scope_open(&step);
	ursa_scope_add_finalizer(&step, &step_fin, step_over, r);
	ursa_task_uninterruptible(true);
	t0 = ursa_now_ns();
	ursa_task_sleep(r->loop, 30 * MS);
	r->step_ns = ursa_now_ns() - t0;
	ursa_task_uninterruptible(false);
	ursa_scope_close(&step, NULL);

	/* Nobody writes: only the interruption ends this read. */
	ursa_req_init(&req, NULL);
	ret = ursa_read(r->loop, &req, r->fds[0], buf, sizeof(buf),
			URSA_OFF_CURRENT);
	if (ret)
		return ursa_exit_failure(ret);
	e = ursa_await_req(&req);
	note(r, e.kind == URSA_EXIT_INTERRUPT ? "read cancelled" :
						"read completed");
	/* The kernel is done with buf and req: they may go now. */
	return ursa_exit_success(0);
}

static struct ursa_exit program(void *arg)
{
	static const char want[] =
		"pipe opened, step scope closed, read cancelled, "
		"finalizer 2, finalizer 1, pipe closed (interrupt)";
	struct reader *r = arg;
	struct ursa_task *t;
	struct ursa_exit e;
	int ok;

	t = ursa_task_spawn(ursa_loop_runq(r->loop), reader_fn, r, NULL);
	if (IS_ERR(t))
		return ursa_exit_die((int)PTR_ERR(t));
	ursa_task_sleep(r->loop, 10 * MS);
	printf("program: interrupting the reader\n");
	ursa_task_interrupt(t);
	e = ursa_task_join(t);
	printf("program: reader exit %s, by task %llu; step took %llu ms\n",
	       ursa_exit_kind_name(e.kind), (unsigned long long)e.id,
	       (unsigned long long)(r->step_ns / MS));

	ok = e.kind == URSA_EXIT_INTERRUPT && e.id == ursa_task_id(NULL) &&
	     r->step_ns >= 30 * MS && !strcmp(r->log, want) &&
	     fcntl(r->fds[0], F_GETFD) == -1;
	return ok ? ursa_exit_success(0) : ursa_exit_failure(-EIO);
}

int main(void)
{
	struct reader r = { .fds = { -1, -1 } };
	struct ursa_loop loop;
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	r.loop = &loop;
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &r, NULL);
	if (IS_ERR(t)) {
		ursa_loop_exit(&loop);
		return 1;
	}
	ursa_loop_run(&loop);
	if (!ursa_deferred_poll(ursa_task_done(t), &e))
		e = ursa_exit_die(-EDEADLK);
	ursa_task_release(t);
	ursa_loop_exit(&loop);
	printf("program: %s\n", ursa_exit_kind_name(e.kind));
	return e.kind == URSA_EXIT_SUCCESS ? 0 : 1;
}
