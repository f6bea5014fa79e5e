// SPDX-License-Identifier: MIT
/*
 * Reads and writes: plain, vectored and fixed-buffer, and the full-length
 * forms that continue a short transfer inside the same request.
 */
#include <errno.h>
#include <limits.h>

#include <ursa/io.h>

#include "internal.h"

/*
 * The kernel writes a read's bytes through the ring, where valgrind's
 * memcheck cannot see it (it sees read(2)'s, through its syscall
 * wrappers): tell it, or every use of the data is an uninitialised read.
 */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

struct rw_cmd {
	void *buf; /* or const struct iovec * for the vectored ops */
	uint64_t off;
	uint64_t done; /* bytes moved so far by a full-length request */
	uint32_t len; /* bytes, or the iovec count */
	uint16_t buf_index;
	uint8_t full;
};

static uint64_t rw_offset(const struct rw_cmd *rw)
{
	return rw->off == URSA_OFF_CURRENT ? rw->off : rw->off + rw->done;
}

int __ursa_rw_prep(struct ursa_req *req, struct io_uring_sqe *sqe)
{
	struct rw_cmd *rw = __ursa_cmd(req, struct rw_cmd);
	char *buf = (char *)rw->buf + rw->done;
	uint32_t len = rw->len - (uint32_t)rw->done;

	if (rw->len > INT32_MAX || (!rw->buf && rw->len))
		return -EINVAL;
	switch (req->opcode) {
	case URSA_OP_READ:
		io_uring_prep_read(sqe, req->fd, buf, len, rw_offset(rw));
		break;
	case URSA_OP_WRITE:
		io_uring_prep_write(sqe, req->fd, buf, len, rw_offset(rw));
		break;
	case URSA_OP_READ_FIXED:
		io_uring_prep_read_fixed(sqe, req->fd, buf, len, rw_offset(rw),
					 rw->buf_index);
		break;
	case URSA_OP_WRITE_FIXED:
		io_uring_prep_write_fixed(sqe, req->fd, buf, len, rw_offset(rw),
					  rw->buf_index);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int __ursa_rwv_prep(struct ursa_req *req, struct io_uring_sqe *sqe)
{
	struct rw_cmd *rw = __ursa_cmd(req, struct rw_cmd);

	if (!rw->buf || !rw->len || rw->len > IOV_MAX)
		return -EINVAL;
	if (req->opcode == URSA_OP_READV)
		io_uring_prep_readv(sqe, req->fd, rw->buf, rw->len, rw->off);
	else
		io_uring_prep_writev(sqe, req->fd, rw->buf, rw->len, rw->off);
	return 0;
}

/*
 * A full-length request continues where a short transfer stopped. A read
 * of 0 is the end of the file; a write of 0 would never end, so it is an
 * error.
 */
bool __ursa_rw_complete(struct ursa_loop *loop, struct ursa_req *req)
{
	struct rw_cmd *rw = __ursa_cmd(req, struct rw_cmd);
	int ret;

	if (req->res > 0 &&
	    (req->opcode == URSA_OP_READ || req->opcode == URSA_OP_READ_FIXED))
		VALGRIND_MAKE_MEM_DEFINED((char *)rw->buf + rw->done, req->res);
	if (!rw->full || req->res < 0)
		return true;
	if (req->flags & REQ_F_CANCELLED) {
		/* The cancel won between two pieces: nothing is complete. */
		req->res = -ECANCELED;
		return true;
	}
	if (req->res == 0) {
		bool is_write = req->opcode == URSA_OP_WRITE ||
				req->opcode == URSA_OP_WRITE_FIXED;

		if (is_write && rw->done < rw->len)
			req->res = -EIO;
		else
			req->res = (int32_t)rw->done;
		return true;
	}
	rw->done += (uint64_t)req->res;
	if (rw->done >= rw->len) {
		req->res = (int32_t)rw->done;
		return true;
	}
	ret = __ursa_resubmit(loop, req);
	if (ret) {
		req->res = ret;
		return true;
	}
	return false;
}

static int rw_start(struct ursa_loop *loop, struct ursa_req *req,
		    enum ursa_op op, int fd, const void *buf, uint32_t len,
		    uint64_t off, bool full, unsigned int buf_index)
{
	struct rw_cmd *rw = __ursa_cmd(req, struct rw_cmd);

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	if (buf_index > UINT16_MAX)
		return -EINVAL;
	req->fd = fd;
	rw->buf = (void *)buf;
	rw->len = len;
	rw->off = off;
	rw->done = 0;
	rw->full = full;
	rw->buf_index = (uint16_t)buf_index;
	return __ursa_start(loop, req, op);
}

int ursa_read(struct ursa_loop *loop, struct ursa_req *req, int fd, void *buf,
	      uint32_t len, uint64_t off)
{
	return rw_start(loop, req, URSA_OP_READ, fd, buf, len, off, false, 0);
}

int ursa_write(struct ursa_loop *loop, struct ursa_req *req, int fd,
	       const void *buf, uint32_t len, uint64_t off)
{
	return rw_start(loop, req, URSA_OP_WRITE, fd, buf, len, off, false, 0);
}

int ursa_read_full(struct ursa_loop *loop, struct ursa_req *req, int fd,
		   void *buf, uint32_t len, uint64_t off)
{
	return rw_start(loop, req, URSA_OP_READ, fd, buf, len, off, true, 0);
}

int ursa_write_full(struct ursa_loop *loop, struct ursa_req *req, int fd,
		    const void *buf, uint32_t len, uint64_t off)
{
	return rw_start(loop, req, URSA_OP_WRITE, fd, buf, len, off, true, 0);
}

int ursa_read_fixed(struct ursa_loop *loop, struct ursa_req *req, int fd,
		    void *buf, uint32_t len, uint64_t off,
		    unsigned int buf_index)
{
	return rw_start(loop, req, URSA_OP_READ_FIXED, fd, buf, len, off, false,
			buf_index);
}

int ursa_write_fixed(struct ursa_loop *loop, struct ursa_req *req, int fd,
		     const void *buf, uint32_t len, uint64_t off,
		     unsigned int buf_index)
{
	return rw_start(loop, req, URSA_OP_WRITE_FIXED, fd, buf, len, off,
			false, buf_index);
}

int ursa_readv(struct ursa_loop *loop, struct ursa_req *req, int fd,
	       const struct iovec *iov, unsigned int nr_iov, uint64_t off)
{
	return rw_start(loop, req, URSA_OP_READV, fd, iov, nr_iov, off, false,
			0);
}

int ursa_writev(struct ursa_loop *loop, struct ursa_req *req, int fd,
		const struct iovec *iov, unsigned int nr_iov, uint64_t off)
{
	return rw_start(loop, req, URSA_OP_WRITEV, fd, iov, nr_iov, off, false,
			0);
}

int ursa_loop_register_buffers(struct ursa_loop *loop, const struct iovec *iov,
			       unsigned int nr)
{
	if (!iov || !nr)
		return -EINVAL;
	return io_uring_register_buffers(&loop->ring, iov, nr);
}

int ursa_loop_unregister_buffers(struct ursa_loop *loop)
{
	return io_uring_unregister_buffers(&loop->ring);
}
