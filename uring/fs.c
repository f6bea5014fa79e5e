// SPDX-License-Identifier: MIT
/*
 * File system calls: openat, close, statx, fsync, fallocate, unlinkat and
 * renameat, each one request.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>

#include <ursa/io.h>

#include "internal.h"

struct fs_cmd {
	const char *path;
	const char *path2; /* renameat: the new path */
	union {
		struct statx *stx;
		uint64_t off;
	};
	uint64_t len;
	int dfd;
	int dfd2;
	int flags;
	unsigned int mode; /* openat: mode; statx: mask; fallocate: mode */
};

int __ursa_fs_prep(struct ursa_req *req, struct io_uring_sqe *sqe)
{
	struct fs_cmd *fs = __ursa_cmd(req, struct fs_cmd);

	switch (req->opcode) {
	case URSA_OP_OPENAT:
		if (!fs->path)
			return -EINVAL;
		io_uring_prep_openat(sqe, fs->dfd, fs->path,
				     fs->flags | O_CLOEXEC, fs->mode);
		break;
	case URSA_OP_CLOSE:
		io_uring_prep_close(sqe, req->fd);
		break;
	case URSA_OP_STATX:
		if (!fs->path || !fs->stx)
			return -EINVAL;
		io_uring_prep_statx(sqe, fs->dfd, fs->path, fs->flags, fs->mode,
				    fs->stx);
		break;
	case URSA_OP_FSYNC:
		io_uring_prep_fsync(sqe, req->fd,
				    fs->flags ? IORING_FSYNC_DATASYNC : 0);
		break;
	case URSA_OP_FALLOCATE:
		if (!fs->len || fs->off + fs->len < fs->off ||
		    fs->off + fs->len > INT64_MAX)
			return -EINVAL;
		io_uring_prep_fallocate(sqe, req->fd, (int)fs->mode, fs->off,
					fs->len);
		break;
	case URSA_OP_UNLINKAT:
		if (!fs->path || (fs->flags & ~AT_REMOVEDIR))
			return -EINVAL;
		io_uring_prep_unlinkat(sqe, fs->dfd, fs->path, fs->flags);
		break;
	case URSA_OP_RENAMEAT:
		if (!fs->path || !fs->path2)
			return -EINVAL;
		io_uring_prep_renameat(sqe, fs->dfd, fs->path, fs->dfd2,
				       fs->path2, (unsigned int)fs->flags);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static struct fs_cmd *fs_cmd_reset(struct ursa_req *req, int fd)
{
	struct fs_cmd *fs = __ursa_cmd(req, struct fs_cmd);

	fs->path = fs->path2 = NULL;
	fs->stx = NULL;
	fs->len = 0;
	fs->dfd = fs->dfd2 = AT_FDCWD;
	fs->flags = 0;
	fs->mode = 0;
	req->fd = fd;
	return fs;
}

int ursa_openat(struct ursa_loop *loop, struct ursa_req *req, int dfd,
		const char *path, int flags, mode_t mode)
{
	struct fs_cmd *fs;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs = fs_cmd_reset(req, -1);
	fs->dfd = dfd;
	fs->path = path;
	fs->flags = flags;
	fs->mode = mode;
	return __ursa_start(loop, req, URSA_OP_OPENAT);
}

int ursa_close(struct ursa_loop *loop, struct ursa_req *req, int fd)
{
	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs_cmd_reset(req, fd);
	return __ursa_start(loop, req, URSA_OP_CLOSE);
}

int ursa_statx(struct ursa_loop *loop, struct ursa_req *req, int dfd,
	       const char *path, int flags, unsigned int mask,
	       struct statx *stx)
{
	struct fs_cmd *fs;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs = fs_cmd_reset(req, -1);
	fs->dfd = dfd;
	fs->path = path;
	fs->flags = flags;
	fs->mode = mask;
	fs->stx = stx;
	return __ursa_start(loop, req, URSA_OP_STATX);
}

int ursa_fsync(struct ursa_loop *loop, struct ursa_req *req, int fd,
	       bool datasync)
{
	struct fs_cmd *fs;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs = fs_cmd_reset(req, fd);
	fs->flags = datasync;
	return __ursa_start(loop, req, URSA_OP_FSYNC);
}

int ursa_fallocate(struct ursa_loop *loop, struct ursa_req *req, int fd,
		   int mode, uint64_t off, uint64_t len)
{
	struct fs_cmd *fs;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs = fs_cmd_reset(req, fd);
	fs->mode = (unsigned int)mode;
	fs->off = off;
	fs->len = len;
	return __ursa_start(loop, req, URSA_OP_FALLOCATE);
}

int ursa_unlinkat(struct ursa_loop *loop, struct ursa_req *req, int dfd,
		  const char *path, int flags)
{
	struct fs_cmd *fs;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs = fs_cmd_reset(req, -1);
	fs->dfd = dfd;
	fs->path = path;
	fs->flags = flags;
	return __ursa_start(loop, req, URSA_OP_UNLINKAT);
}

int ursa_renameat(struct ursa_loop *loop, struct ursa_req *req, int olddfd,
		  const char *oldpath, int newdfd, const char *newpath,
		  unsigned int flags)
{
	struct fs_cmd *fs;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	fs = fs_cmd_reset(req, -1);
	fs->dfd = olddfd;
	fs->path = oldpath;
	fs->dfd2 = newdfd;
	fs->path2 = newpath;
	fs->flags = (int)flags;
	return __ursa_start(loop, req, URSA_OP_RENAMEAT);
}
