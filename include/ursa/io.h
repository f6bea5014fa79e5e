/* SPDX-License-Identifier: MIT */
/**
 * DOC: File I/O ops
 *
 * Reads, writes and file system calls through the loop. Each function
 * starts one request: it validates its arguments, queues an SQE (the loop
 * submits it on its next turn), and returns 0. The request completes
 * later, exactly once, through its deferred and its callback, with the
 * call's result in the io_uring convention: SUCCESS(res) for res >= 0,
 * FAILURE(-errno), or INTERRUPT when it was cancelled.
 *
 * Every function here returns 0, or one of these negative errnos without
 * starting anything:
 *
 * * -EBUSY - the request is already in flight.
 * * -ESHUTDOWN - the loop is exiting.
 * * -EBADF - a negative file descriptor where one is required.
 * * -EINVAL - an argument the op cannot take (listed per function).
 *
 * Buffers, paths and structs passed by pointer must stay valid until the
 * request completes. Offsets are in bytes; an offset of -1 (as uint64_t)
 * means the file's current position, for pipes, sockets and the like.
 */
#ifndef URSA_IO_H
#define URSA_IO_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <ursa/loop.h>

/**
 * URSA_OFF_CURRENT - An offset that means the file's current position.
 */
#define URSA_OFF_CURRENT ((uint64_t)-1)

/**
 * ursa_read() - Read from a file at an offset.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @buf: Where to read to; @len bytes.
 * @len: The most bytes to read; at most INT32_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 *
 * Completes with the number of bytes read, which can be short, and is 0
 * at the end of the file. io_uring: IORING_OP_READ.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @len is
 * over INT32_MAX or @buf is %NULL with a non-zero @len.
 */
int ursa_read(struct ursa_loop *loop, struct ursa_req *req, int fd, void *buf,
	      uint32_t len, uint64_t off);

/**
 * ursa_write() - Write to a file at an offset.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @buf: What to write; @len bytes.
 * @len: The number of bytes; at most INT32_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 *
 * Completes with the number of bytes written, which can be short.
 * io_uring: IORING_OP_WRITE.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_read().
 */
int ursa_write(struct ursa_loop *loop, struct ursa_req *req, int fd,
	       const void *buf, uint32_t len, uint64_t off);

/**
 * ursa_read_full() - Read until a length is done or the file ends.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @buf: Where to read to; @len bytes.
 * @len: The bytes wanted; at most INT32_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 *
 * Short reads are continued from where they stopped, inside the request,
 * so it completes once: with @len, with fewer bytes only when the file
 * ended, or with the first error (the bytes read before it are then in
 * @buf, but the request reports the error).
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_read().
 */
int ursa_read_full(struct ursa_loop *loop, struct ursa_req *req, int fd,
		   void *buf, uint32_t len, uint64_t off);

/**
 * ursa_write_full() - Write until a length is done.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @buf: What to write; @len bytes.
 * @len: The number of bytes; at most INT32_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 *
 * Short writes are continued inside the request. It completes with @len,
 * or with the first error; a write that makes no progress completes with
 * -EIO rather than spinning.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_read().
 */
int ursa_write_full(struct ursa_loop *loop, struct ursa_req *req, int fd,
		    const void *buf, uint32_t len, uint64_t off);

/**
 * ursa_readv() - Read into several buffers at an offset.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @iov: The buffers.
 * @nr_iov: How many (count); 1 to IOV_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 *
 * io_uring: IORING_OP_READV.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @nr_iov
 * is 0 or over IOV_MAX, or @iov is %NULL.
 */
int ursa_readv(struct ursa_loop *loop, struct ursa_req *req, int fd,
	       const struct iovec *iov, unsigned int nr_iov, uint64_t off);

/**
 * ursa_writev() - Write from several buffers at an offset.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @iov: The buffers.
 * @nr_iov: How many (count); 1 to IOV_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 *
 * Also the gathered send for a socket, with %URSA_OFF_CURRENT. io_uring:
 * IORING_OP_WRITEV.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_readv().
 */
int ursa_writev(struct ursa_loop *loop, struct ursa_req *req, int fd,
		const struct iovec *iov, unsigned int nr_iov, uint64_t off);

/**
 * ursa_loop_register_buffers() - Register buffers for fixed reads/writes.
 * @loop: The loop.
 * @iov: The buffers; the kernel pins them.
 * @nr: How many (count).
 *
 * io_uring: io_uring_register_buffers().
 *
 * Context: The loop's thread, with no fixed op in flight.
 * Return: 0, or a negative errno from the kernel, such as -ENOMEM
 * (RLIMIT_MEMLOCK), -EBUSY (already registered) or -EINVAL.
 */
int ursa_loop_register_buffers(struct ursa_loop *loop, const struct iovec *iov,
			       unsigned int nr);

/**
 * ursa_loop_unregister_buffers() - Drop the registered buffers.
 * @loop: The loop.
 *
 * Context: The loop's thread, with no fixed op in flight.
 * Return: 0, or a negative errno:
 * * -ENXIO - no buffers are registered.
 */
int ursa_loop_unregister_buffers(struct ursa_loop *loop);

/**
 * ursa_read_fixed() - Read into a registered buffer.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @buf: Where to read to, inside registered buffer @buf_index.
 * @len: The most bytes to read; at most INT32_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 * @buf_index: The registered buffer's index.
 *
 * io_uring: IORING_OP_READ_FIXED. A range outside the registered buffer
 * completes with FAILURE(-EFAULT).
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_read().
 */
int ursa_read_fixed(struct ursa_loop *loop, struct ursa_req *req, int fd,
		    void *buf, uint32_t len, uint64_t off,
		    unsigned int buf_index);

/**
 * ursa_write_fixed() - Write from a registered buffer.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @buf: What to write, inside registered buffer @buf_index.
 * @len: The number of bytes; at most INT32_MAX.
 * @off: The file offset (bytes), or %URSA_OFF_CURRENT.
 * @buf_index: The registered buffer's index.
 *
 * io_uring: IORING_OP_WRITE_FIXED.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_read().
 */
int ursa_write_fixed(struct ursa_loop *loop, struct ursa_req *req, int fd,
		     const void *buf, uint32_t len, uint64_t off,
		     unsigned int buf_index);

/**
 * ursa_openat() - Open a file.
 * @loop: The loop.
 * @req: An idle request.
 * @dfd: The directory @path is relative to, or AT_FDCWD.
 * @path: The path.
 * @flags: open(2) flags; O_CLOEXEC is added.
 * @mode: The mode for O_CREAT or O_TMPFILE.
 *
 * Completes with the new file descriptor. io_uring: IORING_OP_OPENAT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @path is
 * %NULL.
 */
int ursa_openat(struct ursa_loop *loop, struct ursa_req *req, int dfd,
		const char *path, int flags, mode_t mode);

/**
 * ursa_close() - Close a file descriptor.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 *
 * io_uring: IORING_OP_CLOSE.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview).
 */
int ursa_close(struct ursa_loop *loop, struct ursa_req *req, int fd);

/**
 * ursa_statx() - Get a file's status.
 * @loop: The loop.
 * @req: An idle request.
 * @dfd: The directory @path is relative to, AT_FDCWD, or the file itself
 *	with an empty @path and AT_EMPTY_PATH.
 * @path: The path.
 * @flags: AT_* flags.
 * @mask: STATX_* fields wanted.
 * @stx: Where the kernel writes the result.
 *
 * io_uring: IORING_OP_STATX.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @path or
 * @stx is %NULL.
 */
int ursa_statx(struct ursa_loop *loop, struct ursa_req *req, int dfd,
	       const char *path, int flags, unsigned int mask,
	       struct statx *stx);

/**
 * ursa_fsync() - Flush a file to storage.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @datasync: %true for fdatasync(2), %false for fsync(2).
 *
 * io_uring: IORING_OP_FSYNC.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview).
 */
int ursa_fsync(struct ursa_loop *loop, struct ursa_req *req, int fd,
	       bool datasync);

/**
 * ursa_fallocate() - Allocate or punch file space.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The file descriptor.
 * @mode: fallocate(2) mode flags.
 * @off: The start (bytes).
 * @len: The length (bytes); not 0.
 *
 * io_uring: IORING_OP_FALLOCATE.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @len is 0
 * or @off + @len overflows.
 */
int ursa_fallocate(struct ursa_loop *loop, struct ursa_req *req, int fd,
		   int mode, uint64_t off, uint64_t len);

/**
 * ursa_unlinkat() - Remove a file or an empty directory.
 * @loop: The loop.
 * @req: An idle request.
 * @dfd: The directory @path is relative to, or AT_FDCWD.
 * @path: The path.
 * @flags: 0, or AT_REMOVEDIR.
 *
 * io_uring: IORING_OP_UNLINKAT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @path is
 * %NULL or @flags has bits other than AT_REMOVEDIR.
 */
int ursa_unlinkat(struct ursa_loop *loop, struct ursa_req *req, int dfd,
		  const char *path, int flags);

/**
 * ursa_renameat() - Rename a file.
 * @loop: The loop.
 * @req: An idle request.
 * @olddfd: The directory @oldpath is relative to, or AT_FDCWD.
 * @oldpath: The current path.
 * @newdfd: The directory @newpath is relative to, or AT_FDCWD.
 * @newpath: The new path.
 * @flags: renameat2(2) flags (RENAME_NOREPLACE, RENAME_EXCHANGE).
 *
 * io_uring: IORING_OP_RENAMEAT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if a path is
 * %NULL.
 */
int ursa_renameat(struct ursa_loop *loop, struct ursa_req *req, int olddfd,
		  const char *oldpath, int newdfd, const char *newpath,
		  unsigned int flags);

#endif /* URSA_IO_H */
