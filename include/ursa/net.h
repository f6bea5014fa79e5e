/* SPDX-License-Identifier: MIT */
/**
 * DOC: Network ops
 *
 * Sockets through the loop: accept (one-shot and multishot), connect,
 * recv (one-shot, and multishot from a provided buffer ring), send,
 * gathered send, zero-copy send and shutdown, plus synchronous helpers
 * that set up listening sockets.
 *
 * The ops follow the conventions of <ursa/io.h>: each starts one request
 * and returns 0, or -EBUSY (in flight), -ESHUTDOWN (loop exiting), -EBADF
 * (negative fd) or -EINVAL (listed per function) without starting it.
 *
 * A multishot request stays in flight across many CQEs. Its callback runs
 * for each one; ursa_req_more() tells whether more will come. It ends
 * with a final CQE: an error, an end of stream, or INTERRUPT after a
 * cancel. If the kernel ends a multishot early after a success (it may,
 * for example when the CQ overflowed), ursa delivers that CQE and arms
 * the request again, so the caller sees one unbroken stream.
 */
#ifndef URSA_NET_H
#define URSA_NET_H

#include <stdint.h>
#include <sys/socket.h>

#include <ursa/kbuf.h>
#include <ursa/loop.h>

/**
 * URSA_LISTEN_REUSEPORT - ursa_listen() flag: set SO_REUSEPORT, so that
 * one loop per thread can listen on the same port.
 */
#define URSA_LISTEN_REUSEPORT (1u << 0)
/**
 * URSA_LISTEN_V6ONLY - ursa_listen() flag: an IPv6 socket takes no IPv4.
 */
#define URSA_LISTEN_V6ONLY (1u << 1)

/**
 * ursa_parse_addr() - Parse "HOST:PORT" into a socket address.
 * @s: "127.0.0.1:8080", "[::1]:8080", "localhost:80" is not accepted
 *	(no name lookup); ":8080" means 0.0.0.0.
 * @ss: Where to write the address.
 * @len: Where to write its length (bytes).
 *
 * Context: Any.
 * Return: 0, or a negative errno:
 * * -EINVAL - @s is not a numeric IPv4 or bracketed IPv6 address with a
 *   port from 0 to 65535.
 */
int ursa_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/**
 * ursa_listen() - Create a listening TCP socket.
 * @sa: The address to bind.
 * @len: Its length (bytes).
 * @backlog: The listen(2) backlog (count).
 * @flags: URSA_LISTEN_* flags.
 *
 * A synchronous helper for setup: socket, SO_REUSEADDR (and SO_REUSEPORT
 * with %URSA_LISTEN_REUSEPORT), bind, listen. The socket is blocking and
 * close-on-exec; io_uring does not need non-blocking sockets.
 *
 * Context: Any.
 * Return: the socket, or a negative errno from socket(2), setsockopt(2),
 * bind(2) or listen(2), such as -EADDRINUSE or -EACCES.
 */
int ursa_listen(const struct sockaddr *sa, socklen_t len, int backlog,
		unsigned int flags);

/**
 * ursa_accept() - Accept one connection.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The listening socket.
 * @addr: Where to write the peer's address, or %NULL.
 * @addrlen: In: the size of @addr; out: the address length. %NULL with
 *	@addr.
 * @flags: accept4(2) flags; SOCK_CLOEXEC is added.
 *
 * Completes with the new socket. io_uring: IORING_OP_ACCEPT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if only one
 * of @addr and @addrlen is given.
 */
int ursa_accept(struct ursa_loop *loop, struct ursa_req *req, int fd,
		struct sockaddr *addr, socklen_t *addrlen, int flags);

/**
 * ursa_accept_multishot() - Accept connections until cancelled.
 * @loop: The loop.
 * @req: An idle request with a callback.
 * @fd: The listening socket.
 * @flags: accept4(2) flags; SOCK_CLOEXEC is added.
 *
 * The callback gets each new socket as SUCCESS(fd) and owns it.
 * io_uring: IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @req has
 * no callback (the sockets would leak).
 */
int ursa_accept_multishot(struct ursa_loop *loop, struct ursa_req *req, int fd,
			  int flags);

/**
 * ursa_connect() - Connect a socket.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @sa: The peer's address; it must stay valid until completion.
 * @len: Its length (bytes).
 *
 * io_uring: IORING_OP_CONNECT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @sa is
 * %NULL.
 */
int ursa_connect(struct ursa_loop *loop, struct ursa_req *req, int fd,
		 const struct sockaddr *sa, socklen_t len);

/**
 * ursa_recv() - Receive into a buffer.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @buf: Where to receive; @len bytes.
 * @len: The most bytes (at most INT32_MAX).
 * @flags: recv(2) flags.
 *
 * Completes with the bytes received; 0 is the end of the stream.
 * io_uring: IORING_OP_RECV.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @len is
 * over INT32_MAX or @buf is %NULL with a non-zero @len.
 */
int ursa_recv(struct ursa_loop *loop, struct ursa_req *req, int fd, void *buf,
	      uint32_t len, int flags);

/**
 * ursa_recv_multishot() - Receive until the stream ends, into ring buffers.
 * @loop: The loop.
 * @req: An idle request with a callback.
 * @fd: The socket.
 * @br: The provided buffer ring the kernel picks buffers from.
 *
 * Each CQE is SUCCESS(bytes) in the buffer ursa_req_buf_id() names; the
 * callback owns that buffer until it gives it back with
 * ursa_buf_ring_recycle(). SUCCESS(0) ends the stream. When the ring runs
 * dry the kernel ends the multishot with -ENOBUFS; ursa counts it, does
 * not report it, and arms the request again as soon as a buffer is given
 * back, so the connection is never treated as closed. io_uring:
 * IORING_OP_RECV with IORING_RECV_MULTISHOT and IOSQE_BUFFER_SELECT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @req has
 * no callback or @br is not set up.
 */
int ursa_recv_multishot(struct ursa_loop *loop, struct ursa_req *req, int fd,
			struct ursa_buf_ring *br);

/**
 * ursa_recv_select() - Receive once, into a buffer the kernel picks.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @br: The provided buffer ring the kernel picks the buffer from.
 * @flags: recv(2) flags.
 *
 * A one-shot recv that holds no memory while it waits: the kernel takes
 * a buffer from @br only when bytes arrive, so many idle sockets can
 * share one ring. Completes with SUCCESS(bytes) in the buffer
 * ursa_req_buf_id() names, which the callback owns until it gives it
 * back with ursa_buf_ring_recycle(); SUCCESS(0) is the end of the stream
 * (no buffer). If the ring is empty when bytes arrive it completes with
 * FAILURE(-ENOBUFS), counted in the loop's enobufs; the bytes stay in
 * the socket for the next recv. io_uring: IORING_OP_RECV with
 * IOSQE_BUFFER_SELECT.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @br is
 * %NULL or belongs to another loop.
 */
int ursa_recv_select(struct ursa_loop *loop, struct ursa_req *req, int fd,
		     struct ursa_buf_ring *br, int flags);

/**
 * ursa_send() - Send a buffer.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @buf: What to send; @len bytes.
 * @len: The number of bytes (at most INT32_MAX).
 * @flags: send(2) flags; MSG_NOSIGNAL is added.
 *
 * Completes with the bytes sent, which can be short. io_uring:
 * IORING_OP_SEND; or IORING_OP_SEND_ZC for @len of at least
 * CONFIG_URSA_SEND_ZC_THRESHOLD bytes when that is not 0, falling back to
 * IORING_OP_SEND if the socket cannot send zero-copy. The threshold is
 * measured (docs/uring.md); either way @buf must stay valid until the
 * request completes.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_recv().
 */
int ursa_send(struct ursa_loop *loop, struct ursa_req *req, int fd,
	      const void *buf, uint32_t len, int flags);

/**
 * ursa_send_zc() - Send a buffer without copying it.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @buf: What to send; @len bytes. The kernel reads it until the request
 *	completes, which is after the send and after its notification.
 * @len: The number of bytes (at most INT32_MAX).
 * @flags: send(2) flags; MSG_NOSIGNAL is added.
 *
 * Completes once, with the bytes sent, when the kernel has let go of
 * @buf. Worth it only for large payloads; see docs/uring.md for the
 * threshold measured on loopback. io_uring: IORING_OP_SEND_ZC.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_recv().
 */
int ursa_send_zc(struct ursa_loop *loop, struct ursa_req *req, int fd,
		 const void *buf, uint32_t len, int flags);

/**
 * ursa_sendmsg() - Gathered send of a message.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @msg: The message and its iovecs; valid until completion.
 * @flags: sendmsg(2) flags; MSG_NOSIGNAL is added.
 *
 * io_uring: IORING_OP_SENDMSG.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL if @msg is
 * %NULL.
 */
int ursa_sendmsg(struct ursa_loop *loop, struct ursa_req *req, int fd,
		 const struct msghdr *msg, int flags);

/**
 * ursa_shutdown() - Shut down part of a full-duplex connection.
 * @loop: The loop.
 * @req: An idle request.
 * @fd: The socket.
 * @how: SHUT_RD, SHUT_WR or SHUT_RDWR.
 *
 * io_uring: IORING_OP_SHUTDOWN.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno (see the overview); -EINVAL for another
 * @how.
 */
int ursa_shutdown(struct ursa_loop *loop, struct ursa_req *req, int fd,
		  int how);

#endif /* URSA_NET_H */
