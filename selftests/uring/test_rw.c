// SPDX-License-Identifier: MIT
/*
 * Reads and writes: pipes, socket pairs and a temporary file; vectored,
 * fixed-buffer and full-length forms; end of file; and the arguments that
 * must be refused without starting anything.
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

FIXTURE(rw)
{
	struct ursa_loop loop;
	bool live;
	char path[64];
	int fd;
};

FIXTURE_SETUP(rw)
{
	self->fd = -1;
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
	strcpy(self->path, "/tmp/ursa-test-rw-XXXXXX");
	self->fd = mkstemp(self->path);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(rw)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
}

/* Start @start, run until @t completes; evaluates to its result. */
#define RUN_REQ(loop, t, start)                                     \
	({                                                          \
		int __r = (start);                                  \
		ASSERT_EQ(0, __r) TH_LOG("%s: %d", #start, __r);    \
		ASSERT_TRUE(loop_run_until(loop, (t)->calls, 5000)) \
		TH_LOG("%s did not complete", #start);              \
		ASSERT_EQ(1, (t)->calls);                           \
		(t)->calls = 0;                                     \
		ursa_exit_res(&(t)->exit);                          \
	})

TEST_F(rw, pipe_write_read)
{
	char out[] = "hello, pipe", in[32] = { 0 };
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	treq_init(&t);
	ASSERT_EQ((int64_t)sizeof(out),
		  RUN_REQ(&self->loop, &t,
			  ursa_write(&self->loop, &t.req, p[1], out,
				     sizeof(out), URSA_OFF_CURRENT)));
	ASSERT_EQ((int64_t)sizeof(out),
		  RUN_REQ(&self->loop, &t,
			  ursa_read(&self->loop, &t.req, p[0], in, sizeof(in),
				    URSA_OFF_CURRENT)));
	ASSERT_STREQ(out, in);
	close(p[0]);
	close(p[1]);
}

TEST_F(rw, socketpair_write_read)
{
	char a[100], b[100];
	struct treq t;
	int sv[2], dir;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	treq_init(&t);
	for (dir = 0; dir < 2; dir++) {
		pattern_fill(a, sizeof(a), (size_t)dir * 100);
		memset(b, 0, sizeof(b));
		ASSERT_EQ(100,
			  RUN_REQ(&self->loop, &t,
				  ursa_write(&self->loop, &t.req, sv[dir], a,
					     sizeof(a), URSA_OFF_CURRENT)));
		ASSERT_EQ(100,
			  RUN_REQ(&self->loop, &t,
				  ursa_read(&self->loop, &t.req, sv[!dir], b,
					    sizeof(b), URSA_OFF_CURRENT)));
		ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
	}
	close(sv[0]);
	close(sv[1]);
}

TEST_F(rw, file_write_read_sync)
{
	static char a[4096], b[4096], zero[4096];
	struct stat st;
	struct treq t;

	treq_init(&t);
	pattern_fill(a, sizeof(a), 0);
	ASSERT_EQ(4096, RUN_REQ(&self->loop, &t,
				ursa_write(&self->loop, &t.req, self->fd, a,
					   sizeof(a), 0)));
	/* At an offset past the end: the gap reads back as zeroes. */
	ASSERT_EQ(4096, RUN_REQ(&self->loop, &t,
				ursa_write(&self->loop, &t.req, self->fd, a,
					   sizeof(a), 8192)));
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_fsync(&self->loop, &t.req, self->fd, false)));
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_fsync(&self->loop, &t.req, self->fd, true)));
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(12288, st.st_size);

	ASSERT_EQ(4096, RUN_REQ(&self->loop, &t,
				ursa_read(&self->loop, &t.req, self->fd, b,
					  sizeof(b), 8192)));
	ASSERT_EQ(0, memcmp(a, b, sizeof(a)));
	ASSERT_EQ(4096, RUN_REQ(&self->loop, &t,
				ursa_read(&self->loop, &t.req, self->fd, b,
					  sizeof(b), 4096)));
	ASSERT_EQ(0, memcmp(zero, b, sizeof(b)));
	/* A read across the end is short. */
	ASSERT_EQ(1000, RUN_REQ(&self->loop, &t,
				ursa_read(&self->loop, &t.req, self->fd, b,
					  sizeof(b), 12288 - 1000)));
	ASSERT_EQ(0, memcmp(a + 4096 - 1000, b, 1000));
	ASSERT_EQ(2u, self->loop.stats.completed[URSA_OP_FSYNC]);
}

TEST_F(rw, readv_writev)
{
	char a[10], b[20], c[30], x[25] = { 0 }, y[35] = { 0 }, all[60];
	struct iovec wv[3] = { { a, sizeof(a) },
			       { b, sizeof(b) },
			       { c, sizeof(c) } };
	struct iovec rv[2] = { { x, sizeof(x) }, { y, sizeof(y) } };
	struct treq t;
	int p[2];

	pattern_fill(a, sizeof(a), 0);
	pattern_fill(b, sizeof(b), 10);
	pattern_fill(c, sizeof(c), 30);
	treq_init(&t);

	/* A file, at an offset. */
	ASSERT_EQ(60, RUN_REQ(&self->loop, &t,
			      ursa_writev(&self->loop, &t.req, self->fd, wv, 3,
					  100)));
	ASSERT_EQ(60, RUN_REQ(&self->loop, &t,
			      ursa_readv(&self->loop, &t.req, self->fd, rv, 2,
					 100)));
	memcpy(all, x, sizeof(x));
	memcpy(all + sizeof(x), y, sizeof(y));
	ASSERT_EQ(sizeof(all), pattern_check(all, sizeof(all), 0));

	/* A pipe, at its current position. */
	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(60, RUN_REQ(&self->loop, &t,
			      ursa_writev(&self->loop, &t.req, p[1], wv, 3,
					  URSA_OFF_CURRENT)));
	ASSERT_EQ(60, RUN_REQ(&self->loop, &t,
			      ursa_readv(&self->loop, &t.req, p[0], rv, 2,
					 URSA_OFF_CURRENT)));
	memcpy(all, x, sizeof(x));
	memcpy(all + sizeof(x), y, sizeof(y));
	ASSERT_EQ(sizeof(all), pattern_check(all, sizeof(all), 0));
	close(p[0]);
	close(p[1]);
}

TEST_F(rw, fixed_buffers)
{
	static char bufs[2][4096] __attribute__((aligned(4096)));
	struct iovec iov[2] = { { bufs[0], 4096 }, { bufs[1], 4096 } };
	struct treq t;
	int ret;

	ret = ursa_loop_register_buffers(&self->loop, iov, 2);
	if (ret == -ENOMEM)
		SKIP(return, "no locked memory for registered buffers");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(-EBUSY, ursa_loop_register_buffers(&self->loop, iov, 2));

	treq_init(&t);
	pattern_fill(bufs[0], 4096, 5);
	ASSERT_EQ(4096, RUN_REQ(&self->loop, &t,
				ursa_write_fixed(&self->loop, &t.req, self->fd,
						 bufs[0], 4096, 0, 0)));
	ASSERT_EQ(4000, RUN_REQ(&self->loop, &t,
				ursa_read_fixed(&self->loop, &t.req, self->fd,
						bufs[1] + 96, 4000, 96, 1)));
	ASSERT_EQ(0, memcmp(bufs[0] + 96, bufs[1] + 96, 4000));
	ASSERT_EQ(1u, self->loop.stats.completed[URSA_OP_WRITE_FIXED]);
	ASSERT_EQ(1u, self->loop.stats.completed[URSA_OP_READ_FIXED]);

	/* A range outside the registered buffer. */
	ASSERT_EQ(-EFAULT,
		  RUN_REQ(&self->loop, &t,
			  ursa_read_fixed(&self->loop, &t.req, self->fd,
					  bufs[0] + 1024, 4096, 0, 0)));
	ASSERT_EQ(URSA_EXIT_FAILURE, t.exit.kind);

	ASSERT_EQ(0, ursa_loop_unregister_buffers(&self->loop));
	ASSERT_EQ(-ENXIO, ursa_loop_unregister_buffers(&self->loop));
}

/* A periodic timer that writes the next piece into a pipe. */
struct trickle {
	struct ursa_timer t;
	int fd;
	size_t sent, total, piece;
};

static void trickle_fn(struct ursa_timer *t)
{
	struct trickle *tr = ursa_container_of(t, struct trickle, t);
	char buf[1000];
	size_t n = tr->total - tr->sent;
	ssize_t w;

	if (n > tr->piece)
		n = tr->piece;
	pattern_fill(buf, n, tr->sent);
	w = write(tr->fd, buf, n);
	if (w > 0)
		tr->sent += (size_t)w;
	if (tr->sent >= tr->total)
		ursa_timer_cancel(t);
}

TEST_F(rw, read_full_continues_short_reads)
{
	static char in[20000];
	struct trickle tr = { .total = sizeof(in), .piece = 1000 };
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	tr.fd = p[1];
	ursa_timer_init(&tr.t, trickle_fn);
	ASSERT_EQ(0, ursa_timer_start(&self->loop, &tr.t, 0, NSEC_PER_MSEC));
	treq_init(&t);
	ASSERT_EQ((int64_t)sizeof(in),
		  RUN_REQ(&self->loop, &t,
			  ursa_read_full(&self->loop, &t.req, p[0], in,
					 sizeof(in), URSA_OFF_CURRENT)));
	ASSERT_EQ(sizeof(in), pattern_check(in, sizeof(in), 0));
	/* It took several reads, and still one completion. */
	ASSERT_LT(1u, self->loop.stats.submitted[URSA_OP_READ]);
	TH_LOG("%llu reads for one read_full",
	       (unsigned long long)self->loop.stats.submitted[URSA_OP_READ]);
	ursa_timer_cancel(&tr.t);
	close(p[0]);
	close(p[1]);
}

TEST_F(rw, read_full_stops_at_eof)
{
	char out[100], in[1000] = { 0 };
	struct treq t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	pattern_fill(out, sizeof(out), 0);
	ASSERT_EQ((ssize_t)sizeof(out), write(p[1], out, sizeof(out)));
	close(p[1]);
	treq_init(&t);
	ASSERT_EQ(100, RUN_REQ(&self->loop, &t,
			       ursa_read_full(&self->loop, &t.req, p[0], in,
					      sizeof(in), URSA_OFF_CURRENT)));
	ASSERT_EQ(0, memcmp(out, in, sizeof(out)));
	close(p[0]);
}

TEST_F(rw, write_full)
{
	const size_t len = 4 << 20;
	char *out = malloc(len), *in = malloc(len);
	struct treq w, r;
	int sv[2], sz = 4096;

	ASSERT_TRUE(out && in);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	/* Small socket buffers: the write cannot go in one piece. */
	ASSERT_EQ(0, setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
	ASSERT_EQ(0, setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)));
	pattern_fill(out, len, 0);
	memset(in, 0, len);
	treq_init(&w);
	treq_init(&r);
	ASSERT_EQ(0, ursa_write_full(&self->loop, &w.req, sv[0], out,
				     (uint32_t)len, URSA_OFF_CURRENT));
	ASSERT_EQ(0, ursa_read_full(&self->loop, &r.req, sv[1], in,
				    (uint32_t)len, URSA_OFF_CURRENT));
	ASSERT_TRUE(loop_run_until(&self->loop, w.calls && r.calls, 20000));
	loop_run_for(&self->loop, 5);
	ASSERT_EQ(1, w.calls);
	ASSERT_EQ(1, r.calls);
	ASSERT_EQ(URSA_EXIT_SUCCESS, w.exit.kind);
	ASSERT_EQ((int64_t)len, w.exit.val);
	ASSERT_EQ((int64_t)len, r.exit.val);
	ASSERT_EQ(len, pattern_check(in, len, 0));
	TH_LOG("%llu writes, %llu reads",
	       (unsigned long long)self->loop.stats.submitted[URSA_OP_WRITE],
	       (unsigned long long)self->loop.stats.submitted[URSA_OP_READ]);
	close(sv[0]);
	close(sv[1]);
	free(out);
	free(in);
}

TEST_F(rw, read_at_eof_is_zero)
{
	char buf[16];
	struct treq t;
	int p[2];

	treq_init(&t);
	/* An empty file, and past the end of one. */
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_read(&self->loop, &t.req, self->fd, buf,
				       sizeof(buf), 0)));
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	ASSERT_EQ(3, pwrite(self->fd, "abc", 3, 0));
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_read(&self->loop, &t.req, self->fd, buf,
				       sizeof(buf), 3)));
	/* A pipe whose writer is gone. */
	ASSERT_EQ(0, pipe(p));
	close(p[1]);
	ASSERT_EQ(0, RUN_REQ(&self->loop, &t,
			     ursa_read(&self->loop, &t.req, p[0], buf,
				       sizeof(buf), URSA_OFF_CURRENT)));
	ASSERT_EQ(URSA_EXIT_SUCCESS, t.exit.kind);
	close(p[0]);
}

TEST_F(rw, bad_args_not_started)
{
	struct iovec iov[1] = { { NULL, 0 } };
	struct ursa_loop *l = &self->loop;
	char buf[16];
	struct treq t;
	int fd = self->fd, op;

	treq_init(&t);
	iov[0].iov_base = buf;
	iov[0].iov_len = sizeof(buf);
	EXPECT_EQ(-EINVAL,
		  ursa_read(l, &t.req, fd, buf, (uint32_t)INT32_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, ursa_write(l, &t.req, fd, buf, UINT32_MAX, 0));
	EXPECT_EQ(-EINVAL, ursa_read(l, &t.req, fd, NULL, 16, 0));
	EXPECT_EQ(-EINVAL, ursa_write(l, &t.req, fd, NULL, 16, 0));
	EXPECT_EQ(-EINVAL, ursa_read_full(l, &t.req, fd, NULL, 16, 0));
	EXPECT_EQ(-EINVAL, ursa_write_full(l, &t.req, fd, buf,
					   (uint32_t)INT32_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, ursa_read_fixed(l, &t.req, fd, NULL, 16, 0, 0));
	EXPECT_EQ(-EINVAL, ursa_readv(l, &t.req, fd, NULL, 1, 0));
	EXPECT_EQ(-EINVAL, ursa_readv(l, &t.req, fd, iov, 0, 0));
	EXPECT_EQ(-EINVAL, ursa_writev(l, &t.req, fd, iov, IOV_MAX + 1, 0));
	EXPECT_EQ(-EBADF, ursa_read(l, &t.req, -1, buf, sizeof(buf), 0));
	EXPECT_EQ(-EBADF, ursa_write(l, &t.req, -1, buf, sizeof(buf), 0));
	EXPECT_EQ(-EBADF, ursa_readv(l, &t.req, -1, iov, 1, 0));
	EXPECT_EQ(-EBADF, ursa_write_fixed(l, &t.req, -1, buf, 1, 0, 0));
	EXPECT_EQ(-EBADF, ursa_fsync(l, &t.req, -1, false));
	EXPECT_EQ(-EINVAL, ursa_loop_register_buffers(l, NULL, 1));

	ASSERT_FALSE(ursa_req_busy(&t.req));
	ASSERT_FALSE(ursa_loop_has_work(l));
	loop_run_for(l, 10);
	ASSERT_EQ(0, t.calls);
	for (op = 0; op < URSA_OP_LAST; op++) {
		ASSERT_EQ(0u, l->stats.submitted[op])
		TH_LOG("%s", ursa_op_name(op));
		ASSERT_EQ(0u, l->stats.completed[op])
		TH_LOG("%s", ursa_op_name(op));
	}
	/* The request is still usable. */
	ASSERT_EQ(0, RUN_REQ(l, &t, ursa_read(l, &t.req, fd, buf, 16, 0)));
}

TEST_HARNESS_MAIN
