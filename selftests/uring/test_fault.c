// SPDX-License-Identifier: MIT
/*
 * Fault injection (CONFIG_URSA_FAULT_INJECTION): every op type under each
 * injected error and under short transfers completes exactly once with
 * the injected outcome and leaks no fd; full-length requests continue
 * short transfers; the same seed gives the same faults; and the URSA_FAIL_*
 * environment configures a loop, or makes ursa_loop_init() fail.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

#define FILE_SIZE 8192
#define XFER 100
#define NR_SEQ 200

/* What every fault test needs: a loop, a directory, a file, a listener. */
struct fault_env {
	struct ursa_loop loop;
	bool live;
	char dir[64];
	int dfd;
	int file_fd;
	int lfd;
	struct sockaddr_in addr;
};

static int env_open(struct fault_env *env)
{
	static char data[FILE_SIZE];
	struct sockaddr_storage ss;
	socklen_t len;

	strcpy(env->dir, "/tmp/ursa-test-fault-XXXXXX");
	if (!mkdtemp(env->dir))
		return -errno;
	env->dfd = open(env->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (env->dfd < 0)
		return -errno;
	env->file_fd =
		openat(env->dfd, "data", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (env->file_fd < 0)
		return -errno;
	pattern_fill(data, sizeof(data), 0);
	if (pwrite(env->file_fd, data, sizeof(data), 0) != sizeof(data))
		return -EIO;
	if (ursa_parse_addr("127.0.0.1:0", &ss, &len))
		return -EINVAL;
	env->lfd = ursa_listen((struct sockaddr *)&ss, len, 64, 0);
	if (env->lfd < 0)
		return env->lfd;
	len = sizeof(env->addr);
	if (getsockname(env->lfd, (struct sockaddr *)&env->addr, &len))
		return -errno;
	return 0;
}

static void env_close(struct fault_env *env)
{
	static const char *const names[] = { "data", "u", "r1", "r2", "o" };
	size_t i;

	if (env->live)
		ursa_loop_exit(&env->loop);
	if (env->lfd >= 0)
		close(env->lfd);
	if (env->file_fd >= 0)
		close(env->file_fd);
	if (env->dfd >= 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			unlinkat(env->dfd, names[i], 0);
		close(env->dfd);
		rmdir(env->dir);
	}
}

#define ENV_SETUP(env)                                                      \
	do {                                                                \
		int __ret;                                                  \
		(env)->dfd = (env)->file_fd = (env)->lfd = -1;              \
		LOOP_INIT_OR_SKIP(&(env)->loop, NULL);                      \
		(env)->live = true;                                         \
		if (ursa_loop_set_fault(&(env)->loop, NULL) == -EOPNOTSUPP) \
			SKIP(return, "CONFIG_URSA_FAULT_INJECTION is off"); \
		__ret = env_open(env);                                      \
		ASSERT_EQ(0, __ret);                                        \
	} while (0)

static int set_fault(struct ursa_loop *loop, int op, int err, int64_t times)
{
	struct ursa_fault_attr attr = {
		.probability = 100,
		.interval = 1,
		.times = times,
		.op_mask = 1ull << op,
		.errors = { err },
		.seed = 1,
	};

	return ursa_loop_set_fault(loop, &attr);
}

/* One op of the sweep, with whatever it needs to succeed unfaulted. */
struct op_run {
	struct treq t;
	char buf[XFER];
	struct iovec iov[2];
	struct msghdr msg;
	struct statx stx;
	int fds[2];
	/* The unfaulted result; -1 for "a new fd". */
	int64_t expect;
	bool transfers;
};

static const int sweep_ops[] = {
	URSA_OP_NOP,	 URSA_OP_READ,	    URSA_OP_WRITE,    URSA_OP_READV,
	URSA_OP_WRITEV,	 URSA_OP_OPENAT,    URSA_OP_CLOSE,    URSA_OP_STATX,
	URSA_OP_FSYNC,	 URSA_OP_FALLOCATE, URSA_OP_UNLINKAT, URSA_OP_RENAMEAT,
	URSA_OP_ACCEPT,	 URSA_OP_CONNECT,   URSA_OP_RECV,     URSA_OP_SEND,
	URSA_OP_SENDMSG, URSA_OP_SHUTDOWN,
};

static int touch(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_CREAT | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int op_start(struct fault_env *env, struct op_run *r, int op)
{
	struct ursa_loop *l = &env->loop;
	struct ursa_req *req = &r->t.req;

	r->fds[0] = r->fds[1] = -1;
	r->expect = 0;
	r->transfers = false;
	r->iov[0].iov_base = r->buf;
	r->iov[0].iov_len = XFER / 2;
	r->iov[1].iov_base = r->buf + XFER / 2;
	r->iov[1].iov_len = XFER / 2;
	memset(&r->msg, 0, sizeof(r->msg));
	r->msg.msg_iov = r->iov;
	r->msg.msg_iovlen = 2;

	switch (op) {
	case URSA_OP_NOP:
		return ursa_nop(l, req);
	case URSA_OP_READ:
	case URSA_OP_READV:
	case URSA_OP_WRITE:
	case URSA_OP_WRITEV:
		r->expect = XFER;
		r->transfers = true;
		/* Writes put back the bytes that are there already. */
		pattern_fill(r->buf, XFER, 1000);
		if (op == URSA_OP_READ)
			return ursa_read(l, req, env->file_fd, r->buf, XFER, 0);
		if (op == URSA_OP_READV)
			return ursa_readv(l, req, env->file_fd, r->iov, 2, 0);
		if (op == URSA_OP_WRITE)
			return ursa_write(l, req, env->file_fd, r->buf, XFER,
					  1000);
		return ursa_writev(l, req, env->file_fd, r->iov, 2, 1000);
	case URSA_OP_OPENAT:
		r->expect = -1;
		return ursa_openat(l, req, env->dfd, "data", O_RDONLY, 0);
	case URSA_OP_CLOSE:
		r->fds[0] = dup(env->file_fd);
		if (r->fds[0] < 0)
			return -errno;
		/* Closed by the op even when its result is replaced. */
		return ursa_close(l, req, r->fds[0]);
	case URSA_OP_STATX:
		return ursa_statx(l, req, env->dfd, "data", 0, STATX_SIZE,
				  &r->stx);
	case URSA_OP_FSYNC:
		return ursa_fsync(l, req, env->file_fd, false);
	case URSA_OP_FALLOCATE:
		return ursa_fallocate(l, req, env->file_fd, 0, 0, FILE_SIZE);
	case URSA_OP_UNLINKAT:
		if (touch(env->dfd, "u"))
			return -EIO;
		return ursa_unlinkat(l, req, env->dfd, "u", 0);
	case URSA_OP_RENAMEAT:
		if (touch(env->dfd, "r1"))
			return -EIO;
		return ursa_renameat(l, req, env->dfd, "r1", env->dfd, "r2", 0);
	case URSA_OP_ACCEPT:
		r->expect = -1;
		r->fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (r->fds[0] < 0 ||
		    connect(r->fds[0], (struct sockaddr *)&env->addr,
			    sizeof(env->addr)))
			return -errno;
		return ursa_accept(l, req, env->lfd, NULL, NULL, 0);
	case URSA_OP_CONNECT:
		r->fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (r->fds[0] < 0)
			return -errno;
		return ursa_connect(l, req, r->fds[0],
				    (struct sockaddr *)&env->addr,
				    sizeof(env->addr));
	}
	/* The rest work on a socket pair. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->fds))
		return -errno;
	switch (op) {
	case URSA_OP_RECV:
		r->expect = XFER;
		r->transfers = true;
		if (write(r->fds[1], r->buf, XFER) != XFER)
			return -EIO;
		return ursa_recv(l, req, r->fds[0], r->buf, XFER, 0);
	case URSA_OP_SEND:
		r->expect = XFER;
		r->transfers = true;
		return ursa_send(l, req, r->fds[0], r->buf, XFER, 0);
	case URSA_OP_SENDMSG:
		r->expect = XFER;
		r->transfers = true;
		return ursa_sendmsg(l, req, r->fds[0], &r->msg, 0);
	case URSA_OP_SHUTDOWN:
		return ursa_shutdown(l, req, r->fds[0], SHUT_WR);
	}
	return -EINVAL;
}

static void op_cleanup(struct op_run *r, int op)
{
	int i;

	if (op == URSA_OP_CLOSE)
		r->fds[0] = -1;
	for (i = 0; i < 2; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	/* A success that made an fd is ours to close. */
	if (r->expect < 0 && r->t.exit.kind == URSA_EXIT_SUCCESS &&
	    r->t.exit.val >= 0)
		close((int)r->t.exit.val);
}

FIXTURE(sweep)
{
	struct fault_env env;
};

FIXTURE_VARIANT(sweep)
{
	int err;
};

FIXTURE_VARIANT_ADD(sweep, eio){
	.err = -EIO,
};

FIXTURE_VARIANT_ADD(sweep, ecanceled){
	.err = -ECANCELED,
};

FIXTURE_VARIANT_ADD(sweep, eagain){
	.err = -EAGAIN,
};

FIXTURE_VARIANT_ADD(sweep, short){
	.err = URSA_FAULT_SHORT,
};

FIXTURE_SETUP(sweep)
{
	ENV_SETUP(&self->env);
}

FIXTURE_TEARDOWN(sweep)
{
	env_close(&self->env);
}

TEST_F(sweep, every_op)
{
	struct ursa_loop *l = &self->env.loop;
	const struct ursa_loop_stats *st = ursa_loop_stats(l);
	int err = variant->err, before, ret;
	struct op_run r;
	struct ursa_exit e;
	uint64_t faults;
	size_t i;

	before = count_open_fds();
	for (i = 0; i < sizeof(sweep_ops) / sizeof(sweep_ops[0]); i++) {
		int op = sweep_ops[i];
		const char *name = ursa_op_name(op);
		bool altered;

		memset(&r, 0, sizeof(r));
		treq_init(&r.t);
		ASSERT_EQ(0, set_fault(l, op, err, -1));
		faults = st->faults_injected;
		ret = op_start(&self->env, &r, op);
		ASSERT_EQ(0, ret) TH_LOG("%s: start %d", name, ret);
		ASSERT_TRUE(loop_run_until(l, r.t.calls, 5000))
		TH_LOG("%s did not complete", name);
		loop_run_for(l, 2);
		ASSERT_EQ(1, r.t.calls) TH_LOG("%s", name);
		ASSERT_FALSE(ursa_req_busy(&r.t.req));
		ASSERT_TRUE(ursa_deferred_poll(&r.t.req.done, &e));
		ASSERT_EQ(r.t.exit.kind, e.kind) TH_LOG("%s", name);
		ASSERT_EQ(ursa_exit_res(&r.t.exit), ursa_exit_res(&e));

		altered = err != URSA_FAULT_SHORT || r.transfers;
		ASSERT_EQ(faults + altered, st->faults_injected)
		TH_LOG("%s", name);
		if (err == -ECANCELED) {
			ASSERT_EQ(URSA_EXIT_INTERRUPT, e.kind)
			TH_LOG("%s: %s", name, ursa_exit_kind_name(e.kind));
		} else if (err < 0) {
			ASSERT_EQ(URSA_EXIT_FAILURE, e.kind)
			TH_LOG("%s: %s", name, ursa_exit_kind_name(e.kind));
			ASSERT_EQ(err, e.err) TH_LOG("%s", name);
		} else {
			ASSERT_EQ(URSA_EXIT_SUCCESS, e.kind)
			TH_LOG("%s: %lld", name, (long long)ursa_exit_res(&e));
			if (r.expect < 0) {
				ASSERT_LE(0, e.val) TH_LOG("%s", name);
			} else {
				ASSERT_EQ(r.transfers ? r.expect / 2 : r.expect,
					  e.val)
				TH_LOG("%s", name);
			}
		}
		op_cleanup(&r, op);
	}
	ASSERT_EQ(0, ursa_loop_set_fault(l, NULL));
	/* An accepted or opened fd that was replaced by an error is closed. */
	ASSERT_EQ(before, count_open_fds());
}

FIXTURE(fault)
{
	struct fault_env env;
};

FIXTURE_SETUP(fault)
{
	ENV_SETUP(&self->env);
}

FIXTURE_TEARDOWN(fault)
{
	env_close(&self->env);
}

TEST_F(fault, short_transfers_are_continued)
{
	struct ursa_loop *l = &self->env.loop;
	static char buf[FILE_SIZE];
	struct treq t;

	ASSERT_EQ(0, set_fault(l, URSA_OP_READ, URSA_FAULT_SHORT, -1));
	treq_init(&t);
	ASSERT_EQ(0, ursa_read_full(l, &t.req, self->env.file_fd, buf,
				    sizeof(buf), 0));
	ASSERT_TRUE(loop_run_until(l, t.calls, 5000));
	loop_run_for(l, 5);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	ASSERT_EQ(FILE_SIZE, t.exit.val);
	ASSERT_EQ(sizeof(buf), pattern_check(buf, sizeof(buf), 0));
	ASSERT_LT(1u, l->stats.submitted[URSA_OP_READ]);
	ASSERT_LT(0u, l->stats.faults_injected);
	TH_LOG("%llu reads, %llu faults",
	       (unsigned long long)l->stats.submitted[URSA_OP_READ],
	       (unsigned long long)l->stats.faults_injected);

	/* The same for a write, which must land in full, in place. */
	ASSERT_EQ(0, set_fault(l, URSA_OP_WRITE, URSA_FAULT_SHORT, -1));
	pattern_fill(buf, sizeof(buf), 0);
	ASSERT_EQ(0, ursa_write_full(l, &t.req, self->env.file_fd, buf,
				     sizeof(buf), FILE_SIZE));
	ASSERT_TRUE(loop_run_until(l, t.calls == 2, 5000));
	ASSERT_EQ(FILE_SIZE, t.exit.val);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf),
		  pread(self->env.file_fd, buf, sizeof(buf), FILE_SIZE));
	ASSERT_EQ(sizeof(buf), pattern_check(buf, sizeof(buf), 0));
	ASSERT_LT(1u, l->stats.submitted[URSA_OP_WRITE]);
}

TEST_F(fault, error_ends_read_full)
{
	struct ursa_loop *l = &self->env.loop;
	static char buf[FILE_SIZE];
	struct treq t;

	ASSERT_EQ(0, set_fault(l, URSA_OP_READ, -EIO, 1));
	treq_init(&t);
	ASSERT_EQ(0, ursa_read_full(l, &t.req, self->env.file_fd, buf,
				    sizeof(buf), 0));
	ASSERT_TRUE(loop_run_until(l, t.calls, 5000));
	loop_run_for(l, 5);
	ASSERT_EQ(1, t.calls);
	ASSERT_EQ(URSA_EXIT_FAILURE, t.exit.kind);
	ASSERT_EQ(-EIO, t.exit.err);
	ASSERT_EQ(1u, l->stats.faults_injected);
}

/* NR_SEQ NOPs one after another under @seed; their results into @out. */
static int run_seq(struct ursa_loop *l, uint64_t seed, int64_t *out)
{
	struct ursa_fault_attr attr = {
		.probability = 50,
		.times = -1,
		.op_mask = 1ull << URSA_OP_NOP,
		.errors = { -EIO, -EAGAIN, -ECANCELED },
		.seed = seed,
	};
	struct treq t;
	int i, ret;

	ret = ursa_loop_set_fault(l, &attr);
	if (ret)
		return ret;
	treq_init(&t);
	for (i = 0; i < NR_SEQ; i++) {
		ret = ursa_nop(l, &t.req);
		if (ret)
			return ret;
		if (!loop_run_until(l, t.calls == i + 1, 5000))
			return -ETIMEDOUT;
		out[i] = ursa_exit_res(&t.exit);
	}
	return 0;
}

TEST_F(fault, same_seed_same_faults)
{
	struct ursa_loop *l = &self->env.loop;
	int64_t a[NR_SEQ], b[NR_SEQ], c[NR_SEQ];
	int i, faulted = 0, kinds[3] = { 0 };

	ASSERT_EQ(0, run_seq(l, 42, a));
	ASSERT_EQ(0, run_seq(l, 42, b));
	ASSERT_EQ(0, run_seq(l, 43, c));
	ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
	ASSERT_NE(0, memcmp(a, c, sizeof(a)));
	for (i = 0; i < NR_SEQ; i++) {
		if (!a[i])
			continue;
		faulted++;
		kinds[a[i] == -EIO ? 0 : a[i] == -EAGAIN ? 1 : 2]++;
	}
	/* About half, and every error of the list. */
	ASSERT_LT(NR_SEQ / 4, faulted);
	ASSERT_GT(3 * NR_SEQ / 4, faulted);
	for (i = 0; i < 3; i++) {
		ASSERT_LT(0, kinds[i]);
	}
}

TEST_F(fault, interval_and_times)
{
	struct ursa_loop *l = &self->env.loop;
	struct ursa_fault_attr attr = {
		.probability = 100,
		.interval = 3,
		.times = 2,
		.op_mask = 1ull << URSA_OP_NOP,
		.errors = { -EIO },
	};
	struct treq t;
	int i;

	ASSERT_EQ(0, ursa_loop_set_fault(l, &attr));
	treq_init(&t);
	for (i = 1; i <= 12; i++) {
		ASSERT_EQ(0, ursa_nop(l, &t.req));
		ASSERT_TRUE(loop_run_until(l, t.calls == i, 5000));
		/* Every third eligible CQE, twice, then no more. */
		ASSERT_EQ(i == 3 || i == 6 ? -EIO : 0, ursa_exit_res(&t.exit))
		TH_LOG("NOP %d", i);
	}
	ASSERT_EQ(2u, l->stats.faults_injected);

	attr.probability = 101;
	EXPECT_EQ(-EINVAL, ursa_loop_set_fault(l, &attr));
	attr.probability = 100;
	attr.errors[0] = 0;
	EXPECT_EQ(-EINVAL, ursa_loop_set_fault(l, &attr));
	attr.errors[0] = EIO;
	EXPECT_EQ(-EINVAL, ursa_loop_set_fault(l, &attr));
}

struct ms_acceptor {
	struct ursa_req req;
	int fds[8], n, final_calls;
	struct ursa_exit final;
};

static void ms_acceptor_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct ms_acceptor *a = ursa_container_of(req, struct ms_acceptor, req);

	if (exit->kind == URSA_EXIT_SUCCESS && ursa_req_more(req)) {
		if (a->n < 8)
			a->fds[a->n++] = (int)exit->val;
		else
			close((int)exit->val);
		return;
	}
	a->final_calls++;
	a->final = *exit;
}

TEST_F(fault, multishot_leaves_more_cqes_alone)
{
	struct ursa_loop *l = &self->env.loop;
	struct ms_acceptor a = { 0 };
	int clients[3], i, before = count_open_fds();

	ASSERT_EQ(0, set_fault(l, URSA_OP_ACCEPT, -EIO, -1));
	ursa_req_init(&a.req, ms_acceptor_cb);
	ASSERT_EQ(0, ursa_accept_multishot(l, &a.req, self->env.lfd, 0));
	for (i = 0; i < 3; i++) {
		clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_LE(0, clients[i]);
		ASSERT_EQ(0, connect(clients[i],
				     (struct sockaddr *)&self->env.addr,
				     sizeof(self->env.addr)));
	}
	ASSERT_TRUE(loop_run_until(l, a.n == 3, 5000));
	ASSERT_EQ(0u, l->stats.faults_injected);
	ASSERT_EQ(0, a.final_calls);
	ASSERT_EQ(0, ursa_cancel(l, &a.req));
	ASSERT_TRUE(loop_run_until(l, a.final_calls, 5000));
	loop_run_for(l, 5);
	ASSERT_EQ(1, a.final_calls);
	ASSERT_NE(URSA_EXIT_SUCCESS, a.final.kind);
	ASSERT_FALSE(ursa_req_busy(&a.req));
	for (i = 0; i < 3; i++) {
		close(a.fds[i]);
		close(clients[i]);
	}
	ASSERT_EQ(before, count_open_fds());
}

static void unset_fail_env(void)
{
	unsetenv("URSA_FAIL_PROBABILITY");
	unsetenv("URSA_FAIL_INTERVAL");
	unsetenv("URSA_FAIL_TIMES");
	unsetenv("URSA_FAIL_OPS");
	unsetenv("URSA_FAIL_ERRORS");
	unsetenv("URSA_FAIL_SEED");
}

/* SKIP unless io_uring works and fault injection is built in. */
#define REQUIRE_FAULT_INJECTION()                                           \
	do {                                                                \
		struct ursa_loop __l;                                       \
		int __ret;                                                  \
		unset_fail_env();                                           \
		LOOP_INIT_OR_SKIP(&__l, NULL);                              \
		__ret = ursa_loop_set_fault(&__l, NULL);                    \
		ursa_loop_exit(&__l);                                       \
		if (__ret == -EOPNOTSUPP)                                   \
			SKIP(return, "CONFIG_URSA_FAULT_INJECTION is off"); \
	} while (0)

TEST(env_configures_loop)
{
	struct ursa_loop l;
	struct treq t;
	int ret, p[2];
	char buf[4];

	REQUIRE_FAULT_INJECTION();
	setenv("URSA_FAIL_PROBABILITY", "100", 1);
	setenv("URSA_FAIL_TIMES", "1", 1);
	setenv("URSA_FAIL_OPS", "nop", 1);
	ret = ursa_loop_init(&l, NULL);
	unset_fail_env();
	ASSERT_EQ(0, ret);

	treq_init(&t);
	ASSERT_EQ(0, ursa_nop(&l, &t.req));
	ASSERT_TRUE(loop_run_until(&l, t.calls == 1, 5000));
	ASSERT_EQ(URSA_EXIT_FAILURE, t.exit.kind);
	ASSERT_EQ(-EIO, t.exit.err);
	/* URSA_FAIL_OPS leaves other ops alone. */
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(4, write(p[1], "abcd", 4));
	ASSERT_EQ(0, ursa_read(&l, &t.req, p[0], buf, 4, URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&l, t.calls == 2, 5000));
	ASSERT_EQ(4, ursa_exit_res(&t.exit));
	/* URSA_FAIL_TIMES=1: one fault only. */
	ASSERT_EQ(0, ursa_nop(&l, &t.req));
	ASSERT_TRUE(loop_run_until(&l, t.calls == 3, 5000));
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	ASSERT_EQ(1u, l.stats.faults_injected);
	ursa_loop_exit(&l);
	close(p[0]);
	close(p[1]);
}

TEST(env_errors_and_seed)
{
	struct ursa_loop l;
	struct treq t;
	int ret, i;

	REQUIRE_FAULT_INJECTION();
	setenv("URSA_FAIL_PROBABILITY", "100", 1);
	setenv("URSA_FAIL_ERRORS", "ECANCELED", 1);
	setenv("URSA_FAIL_SEED", "7", 1);
	ret = ursa_loop_init(&l, NULL);
	unset_fail_env();
	ASSERT_EQ(0, ret);
	treq_init(&t);
	for (i = 1; i <= 3; i++) {
		ASSERT_EQ(0, ursa_nop(&l, &t.req));
		ASSERT_TRUE(loop_run_until(&l, t.calls == i, 5000));
		ASSERT_EQ(URSA_EXIT_INTERRUPT, t.exit.kind);
	}
	ursa_loop_exit(&l);
}

TEST(env_bad_values_fail_init)
{
	static const char *const bad[][2] = {
		{ "URSA_FAIL_PROBABILITY", "200" },
		{ "URSA_FAIL_PROBABILITY", "-1" },
		{ "URSA_FAIL_PROBABILITY", "ten" },
		{ "URSA_FAIL_INTERVAL", "x" },
		{ "URSA_FAIL_TIMES", "-2" },
		{ "URSA_FAIL_OPS", "nop,bogus" },
		{ "URSA_FAIL_ERRORS", "EWHAT" },
	};
	struct ursa_loop l;
	int before, ret;
	size_t i;

	REQUIRE_FAULT_INJECTION();
	before = count_open_fds();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Fault injection is on once one of these is set. */
		setenv("URSA_FAIL_TIMES", "1", 1);
		setenv(bad[i][0], bad[i][1], 1);
		ret = ursa_loop_init(&l, NULL);
		unset_fail_env();
		if (!ret)
			ursa_loop_exit(&l);
		ASSERT_EQ(-EINVAL, ret)
		TH_LOG("%s=%s was accepted", bad[i][0], bad[i][1]);
		ASSERT_EQ(before, count_open_fds());
	}
	/* And with the environment clean again, init works. */
	ASSERT_EQ(0, ursa_loop_init(&l, NULL));
	ursa_loop_exit(&l);
	ASSERT_EQ(before, count_open_fds());
}

TEST_HARNESS_MAIN
