// SPDX-License-Identifier: MIT
/*
 * File system ops in a temporary directory: openat, close, statx,
 * fallocate, renameat and unlinkat, their failures, and the arguments
 * refused without starting.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ursa/harness.h>

#include "helpers.h"

FIXTURE(fs)
{
	struct ursa_loop loop;
	bool live;
	char dir[64];
	int dfd;
	struct treq t;
};

FIXTURE_SETUP(fs)
{
	self->dfd = -1;
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
	strcpy(self->dir, "/tmp/ursa-test-fs-XXXXXX");
	ASSERT_TRUE(mkdtemp(self->dir) != NULL);
	self->dfd = open(self->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->dfd);
	treq_init(&self->t);
}

FIXTURE_TEARDOWN(fs)
{
	struct dirent *de;
	DIR *d;

	if (self->live)
		ursa_loop_exit(&self->loop);
	if (self->dfd < 0)
		return;
	d = fdopendir(self->dfd);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(self->dfd, de->d_name, 0))
			unlinkat(self->dfd, de->d_name, AT_REMOVEDIR);
	}
	if (d)
		closedir(d);
	rmdir(self->dir);
}

/* Start @start, run until self->t completes; evaluates to its result. */
#define RUN(start)                                                            \
	({                                                                    \
		int __r = (start);                                            \
		ASSERT_EQ(0, __r) TH_LOG("%s: %d", #start, __r);              \
		ASSERT_TRUE(loop_run_until(&self->loop, self->t.calls, 5000)) \
		TH_LOG("%s did not complete", #start);                        \
		ASSERT_EQ(1, self->t.calls);                                  \
		self->t.calls = 0;                                            \
		ursa_exit_res(&self->t.exit);                                 \
	})

static bool exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, 0) == 0;
}

TEST_F(fs, openat_creates)
{
	struct ursa_req *r = &self->t.req;
	int fd, flags;

	fd = (int)RUN(ursa_openat(&self->loop, r, self->dfd, "new",
				  O_CREAT | O_RDWR | O_EXCL, 0600));
	ASSERT_LE(0, fd);
	ASSERT_TRUE(exists(self->dfd, "new"));
	/* O_CLOEXEC is always added. */
	flags = fcntl(fd, F_GETFD);
	ASSERT_TRUE(flags & FD_CLOEXEC);
	ASSERT_EQ(3, write(fd, "abc", 3));

	/* O_EXCL on an existing file fails. */
	ASSERT_EQ(-EEXIST, RUN(ursa_openat(&self->loop, r, self->dfd, "new",
					   O_CREAT | O_RDWR | O_EXCL, 0600)));
	ASSERT_EQ(URSA_EXIT_FAILURE, self->t.exit.kind);

	ASSERT_EQ(0, RUN(ursa_close(&self->loop, r, fd)));
	ASSERT_EQ(-1, fcntl(fd, F_GETFD));
	ASSERT_EQ(EBADF, errno);
}

TEST_F(fs, openat_enoent)
{
	int before = count_open_fds();

	ASSERT_EQ(-ENOENT, RUN(ursa_openat(&self->loop, &self->t.req, self->dfd,
					   "missing", O_RDONLY, 0)));
	ASSERT_EQ(URSA_EXIT_FAILURE, self->t.exit.kind);
	ASSERT_EQ(-ENOENT,
		  RUN(ursa_openat(&self->loop, &self->t.req, AT_FDCWD,
				  "/nonexistent/ursa/x", O_RDONLY, 0)));
	ASSERT_EQ(before, count_open_fds());
}

TEST_F(fs, statx_size)
{
	struct ursa_req *r = &self->t.req;
	static char data[12345];
	struct statx stx;
	int fd;

	fd = openat(self->dfd, "f", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(data), write(fd, data, sizeof(data)));

	memset(&stx, 0, sizeof(stx));
	ASSERT_EQ(0, RUN(ursa_statx(&self->loop, r, self->dfd, "f", 0,
				    STATX_SIZE, &stx)));
	ASSERT_TRUE(!!(stx.stx_mask & STATX_SIZE));
	ASSERT_EQ(12345u, stx.stx_size);

	/* The file itself, through AT_EMPTY_PATH. */
	memset(&stx, 0, sizeof(stx));
	ASSERT_EQ(0, RUN(ursa_statx(&self->loop, r, fd, "", AT_EMPTY_PATH,
				    STATX_SIZE | STATX_MODE, &stx)));
	ASSERT_EQ(12345u, stx.stx_size);
	ASSERT_TRUE(S_ISREG(stx.stx_mode));

	ASSERT_EQ(-ENOENT, RUN(ursa_statx(&self->loop, r, self->dfd, "nope", 0,
					  STATX_SIZE, &stx)));
	close(fd);
}

TEST_F(fs, fallocate)
{
	struct ursa_req *r = &self->t.req;
	struct stat st;
	int fd, ret;

	fd = openat(self->dfd, "f", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ret = (int)RUN(ursa_fallocate(&self->loop, r, fd, 0, 0, 1 << 20));
	if (ret == -EOPNOTSUPP)
		SKIP(close(fd);
		     return, "the file system of /tmp has no fallocate");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(1 << 20, st.st_size);

	/* KEEP_SIZE allocates past the end without growing the file. */
	ASSERT_EQ(0, RUN(ursa_fallocate(&self->loop, r, fd, FALLOC_FL_KEEP_SIZE,
					1 << 20, 1 << 20)));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(1 << 20, st.st_size);

	EXPECT_EQ(-EINVAL, ursa_fallocate(&self->loop, r, fd, 0, 0, 0));
	EXPECT_EQ(-EINVAL,
		  ursa_fallocate(&self->loop, r, fd, 0, UINT64_MAX, 2));
	EXPECT_EQ(-EBADF, ursa_fallocate(&self->loop, r, -1, 0, 0, 10));
	ASSERT_FALSE(ursa_req_busy(r));
	close(fd);
}

TEST_F(fs, renameat)
{
	struct ursa_req *r = &self->t.req;
	int fd;

	fd = openat(self->dfd, "a", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, RUN(ursa_renameat(&self->loop, r, self->dfd, "a",
				       self->dfd, "b", 0)));
	ASSERT_FALSE(exists(self->dfd, "a"));
	ASSERT_TRUE(exists(self->dfd, "b"));

	ASSERT_EQ(-ENOENT, RUN(ursa_renameat(&self->loop, r, self->dfd, "a",
					     self->dfd, "c", 0)));
	fd = openat(self->dfd, "a", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(-EEXIST,
		  RUN(ursa_renameat(&self->loop, r, self->dfd, "a", self->dfd,
				    "b", RENAME_NOREPLACE)));
	ASSERT_TRUE(exists(self->dfd, "a"));
}

TEST_F(fs, unlinkat)
{
	struct ursa_req *r = &self->t.req;
	int fd;

	fd = openat(self->dfd, "f", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, mkdirat(self->dfd, "d", 0700));

	ASSERT_EQ(0, RUN(ursa_unlinkat(&self->loop, r, self->dfd, "f", 0)));
	ASSERT_FALSE(exists(self->dfd, "f"));
	ASSERT_EQ(-ENOENT,
		  RUN(ursa_unlinkat(&self->loop, r, self->dfd, "f", 0)));
	ASSERT_EQ(-EISDIR,
		  RUN(ursa_unlinkat(&self->loop, r, self->dfd, "d", 0)));
	ASSERT_EQ(0, RUN(ursa_unlinkat(&self->loop, r, self->dfd, "d",
				       AT_REMOVEDIR)));
	ASSERT_FALSE(exists(self->dfd, "d"));
	EXPECT_EQ(-EINVAL, ursa_unlinkat(&self->loop, r, self->dfd, "x",
					 AT_SYMLINK_NOFOLLOW));
}

TEST_F(fs, close)
{
	struct ursa_req *r = &self->t.req;
	int fd = dup(self->dfd);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, RUN(ursa_close(&self->loop, r, fd)));
	ASSERT_EQ(-1, fcntl(fd, F_GETFD));
	ASSERT_EQ(-EBADF, RUN(ursa_close(&self->loop, r, fd)));
	ASSERT_EQ(-EBADF, ursa_close(&self->loop, r, -1));
}

TEST_F(fs, null_path_is_einval)
{
	struct ursa_req *r = &self->t.req;
	struct ursa_loop *l = &self->loop;
	struct statx stx;
	int op;

	EXPECT_EQ(-EINVAL, ursa_openat(l, r, AT_FDCWD, NULL, O_RDONLY, 0));
	EXPECT_EQ(-EINVAL,
		  ursa_statx(l, r, AT_FDCWD, NULL, 0, STATX_SIZE, &stx));
	EXPECT_EQ(-EINVAL,
		  ursa_statx(l, r, AT_FDCWD, "/", 0, STATX_SIZE, NULL));
	EXPECT_EQ(-EINVAL, ursa_unlinkat(l, r, AT_FDCWD, NULL, 0));
	EXPECT_EQ(-EINVAL,
		  ursa_renameat(l, r, AT_FDCWD, NULL, AT_FDCWD, "b", 0));
	EXPECT_EQ(-EINVAL,
		  ursa_renameat(l, r, AT_FDCWD, "a", AT_FDCWD, NULL, 0));
	ASSERT_FALSE(ursa_req_busy(r));
	ASSERT_FALSE(ursa_loop_has_work(l));
	loop_run_for(l, 10);
	ASSERT_EQ(0, self->t.calls);
	for (op = 0; op < URSA_OP_LAST; op++) {
		ASSERT_EQ(0u, l->stats.submitted[op]);
	}
}

TEST_HARNESS_MAIN
