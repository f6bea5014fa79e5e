// SPDX-License-Identifier: MIT
/*
 * Sockets: setup helpers, accept, connect, recv, send and friends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ursa/net.h>

#include "internal.h"

struct net_cmd {
	union {
		void *buf;
		const struct msghdr *msg;
		const struct sockaddr *sa;
		struct sockaddr *addr;
	};
	union {
		struct ursa_buf_ring *br;
		socklen_t *addrlen;
	};
	/* A multishot recv parked on an empty buffer ring. */
	struct ursa_list_head starved;
	uint32_t len; /* bytes, or the sockaddr length for connect */
	int flags;
	/* ursa_send() chose SEND_ZC: fall back to SEND if the socket can't. */
	bool zc_auto;
};

int __ursa_net_prep(struct ursa_req *req, struct io_uring_sqe *sqe)
{
	struct net_cmd *nc = __ursa_cmd(req, struct net_cmd);
	bool multishot = req->flags & REQ_F_MULTISHOT;

	switch (req->opcode) {
	case URSA_OP_ACCEPT:
		if (!nc->addr != !nc->addrlen)
			return -EINVAL;
		if (multishot)
			io_uring_prep_multishot_accept(sqe, req->fd, NULL, NULL,
						       nc->flags |
							       SOCK_CLOEXEC);
		else
			io_uring_prep_accept(sqe, req->fd, nc->addr,
					     nc->addrlen,
					     nc->flags | SOCK_CLOEXEC);
		break;
	case URSA_OP_CONNECT:
		if (!nc->sa)
			return -EINVAL;
		io_uring_prep_connect(sqe, req->fd, nc->sa, nc->len);
		break;
	case URSA_OP_RECV:
		if (multishot) {
			if (!nc->br || !nc->br->ring)
				return -EINVAL;
			io_uring_prep_recv_multishot(sqe, req->fd, NULL, 0, 0);
			sqe->flags |= IOSQE_BUFFER_SELECT;
			sqe->buf_group = nc->br->bgid;
			break;
		}
		if (nc->br) {
			if (!nc->br->ring)
				return -EINVAL;
			io_uring_prep_recv(sqe, req->fd, NULL, 0, nc->flags);
			sqe->flags |= IOSQE_BUFFER_SELECT;
			sqe->buf_group = nc->br->bgid;
			break;
		}
		if (nc->len > INT32_MAX || (!nc->buf && nc->len))
			return -EINVAL;
		io_uring_prep_recv(sqe, req->fd, nc->buf, nc->len, nc->flags);
		break;
	case URSA_OP_SEND:
	case URSA_OP_SEND_ZC:
		if (nc->len > INT32_MAX || (!nc->buf && nc->len))
			return -EINVAL;
		if (req->opcode == URSA_OP_SEND)
			io_uring_prep_send(sqe, req->fd, nc->buf, nc->len,
					   nc->flags | MSG_NOSIGNAL);
		else
			io_uring_prep_send_zc(sqe, req->fd, nc->buf, nc->len,
					      nc->flags | MSG_NOSIGNAL, 0);
		break;
	case URSA_OP_SENDMSG:
		if (!nc->msg)
			return -EINVAL;
		io_uring_prep_sendmsg(sqe, req->fd, nc->msg,
				      (unsigned int)(nc->flags | MSG_NOSIGNAL));
		break;
	case URSA_OP_SHUTDOWN:
		if (nc->flags != SHUT_RD && nc->flags != SHUT_WR &&
		    nc->flags != SHUT_RDWR)
			return -EINVAL;
		io_uring_prep_shutdown(sqe, req->fd, nc->flags);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* Every CQE of a recv that carries a buffer takes it from the ring. */
void __ursa_recv_cqe(struct ursa_loop *loop, struct ursa_req *req, int res,
		     uint32_t cqe_flags)
{
	struct net_cmd *nc = __ursa_cmd(req, struct net_cmd);

	if (nc->br && (cqe_flags & IORING_CQE_F_BUFFER))
		nc->br->available--;
}

static void recv_park(struct ursa_req *req)
{
	struct net_cmd *nc = __ursa_cmd(req, struct net_cmd);

	req->flags |= REQ_F_PARKED;
	ursa_list_add_tail(&nc->starved, &nc->br->starved);
}

void __ursa_recv_unpark(struct ursa_req *req)
{
	struct net_cmd *nc = __ursa_cmd(req, struct net_cmd);

	ursa_list_del_init(&nc->starved);
	req->flags &= ~REQ_F_PARKED;
}

/* kbuf.c calls this for each parked recv when a buffer comes back. */
void __ursa_recv_rearm(struct ursa_list_head *node)
{
	struct net_cmd *nc = ursa_container_of(node, struct net_cmd, starved);
	struct ursa_req *req =
		ursa_container_of((void *)nc, struct ursa_req, cmd);
	int ret;

	__ursa_recv_unpark(req);
	ret = __ursa_resubmit(req->loop, req);
	if (ret)
		__ursa_req_complete_later(req->loop, req, ret);
}

/*
 * The final CQE of a multishot accept or recv. -ENOBUFS is not an end:
 * the recv waits for a buffer. A success without F_MORE means the kernel
 * stopped the multishot early: deliver it and arm again.
 */
bool __ursa_net_complete(struct ursa_loop *loop, struct ursa_req *req)
{
	struct net_cmd *nc = __ursa_cmd(req, struct net_cmd);
	struct ursa_exit exit;
	int ret;

	if (req->opcode == URSA_OP_SEND_ZC && nc->zc_auto &&
	    (req->res == -EOPNOTSUPP || req->res == -EINVAL) &&
	    !(req->flags & REQ_F_CANCELLED)) {
		/* Not a socket for zero-copy (AF_UNIX, old kernel): send. */
		nc->zc_auto = false;
		req->opcode = URSA_OP_SEND;
		ret = __ursa_resubmit(loop, req);
		if (ret) {
			req->res = ret;
			return true;
		}
		return false;
	}
	if (!(req->flags & REQ_F_MULTISHOT)) {
		/* ursa_recv_select() reports an empty ring, and counts it. */
		if (req->opcode == URSA_OP_RECV && nc->br &&
		    req->res == -ENOBUFS)
			loop->stats.enobufs++;
		return true;
	}
	if (req->res > 0 || (req->res == 0 && req->opcode == URSA_OP_ACCEPT)) {
		/* Deliver it as one of many, even if a cancel is on its way. */
		req->cqe_flags |= IORING_CQE_F_MORE;
		exit = ursa_exit_success(req->res);
		req->cb(req, &exit);
	} else if (req->opcode == URSA_OP_RECV && req->res == -ENOBUFS &&
		   !(req->flags & REQ_F_CANCELLED)) {
		loop->stats.enobufs++;
		if (!nc->br->available) {
			recv_park(req);
			return false;
		}
	} else {
		return true;
	}
	if (req->flags & REQ_F_CANCELLED) {
		req->res = -ECANCELED;
		return true;
	}
	ret = __ursa_resubmit(loop, req);
	if (ret) {
		req->res = ret;
		return true;
	}
	return false;
}

static struct net_cmd *net_cmd_reset(struct ursa_req *req, int fd)
{
	struct net_cmd *nc = __ursa_cmd(req, struct net_cmd);

	memset(nc, 0, sizeof(*nc));
	ursa_list_init(&nc->starved);
	req->fd = fd;
	req->flags &= ~REQ_F_MULTISHOT;
	return nc;
}

int ursa_accept(struct ursa_loop *loop, struct ursa_req *req, int fd,
		struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	nc = net_cmd_reset(req, fd);
	nc->addr = addr;
	nc->addrlen = addrlen;
	nc->flags = flags;
	return __ursa_start(loop, req, URSA_OP_ACCEPT);
}

int ursa_accept_multishot(struct ursa_loop *loop, struct ursa_req *req, int fd,
			  int flags)
{
	struct net_cmd *nc;
	int ret;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	if (!req->cb)
		return -EINVAL;
	nc = net_cmd_reset(req, fd);
	nc->flags = flags;
	req->flags |= REQ_F_MULTISHOT;
	ret = __ursa_start(loop, req, URSA_OP_ACCEPT);
	if (ret)
		req->flags &= ~REQ_F_MULTISHOT;
	return ret;
}

int ursa_connect(struct ursa_loop *loop, struct ursa_req *req, int fd,
		 const struct sockaddr *sa, socklen_t len)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	nc = net_cmd_reset(req, fd);
	nc->sa = sa;
	nc->len = len;
	return __ursa_start(loop, req, URSA_OP_CONNECT);
}

int ursa_recv(struct ursa_loop *loop, struct ursa_req *req, int fd, void *buf,
	      uint32_t len, int flags)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	nc = net_cmd_reset(req, fd);
	nc->buf = buf;
	nc->len = len;
	nc->flags = flags;
	return __ursa_start(loop, req, URSA_OP_RECV);
}

int ursa_recv_multishot(struct ursa_loop *loop, struct ursa_req *req, int fd,
			struct ursa_buf_ring *br)
{
	struct net_cmd *nc;
	int ret;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	if (!req->cb || !br || br->loop != loop)
		return -EINVAL;
	nc = net_cmd_reset(req, fd);
	nc->br = br;
	req->flags |= REQ_F_MULTISHOT;
	ret = __ursa_start(loop, req, URSA_OP_RECV);
	if (ret)
		req->flags &= ~REQ_F_MULTISHOT;
	return ret;
}

int ursa_recv_select(struct ursa_loop *loop, struct ursa_req *req, int fd,
		     struct ursa_buf_ring *br, int flags)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	if (!br || br->loop != loop)
		return -EINVAL;
	nc = net_cmd_reset(req, fd);
	nc->br = br;
	nc->flags = flags;
	return __ursa_start(loop, req, URSA_OP_RECV);
}

static int send_start(struct ursa_loop *loop, struct ursa_req *req,
		      enum ursa_op op, int fd, const void *buf, uint32_t len,
		      int flags)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	nc = net_cmd_reset(req, fd);
	nc->buf = (void *)buf;
	nc->len = len;
	nc->flags = flags;
	return __ursa_start(loop, req, op);
}

int ursa_send(struct ursa_loop *loop, struct ursa_req *req, int fd,
	      const void *buf, uint32_t len, int flags)
{
	const uint32_t zc_min = CONFIG_URSA_SEND_ZC_THRESHOLD;
	int ret;

	/* The threshold is measured: see Kconfig and docs/uring.md. */
	if (!zc_min || len < zc_min)
		return send_start(loop, req, URSA_OP_SEND, fd, buf, len, flags);
	ret = send_start(loop, req, URSA_OP_SEND_ZC, fd, buf, len, flags);
	if (!ret)
		__ursa_cmd(req, struct net_cmd)->zc_auto = true;
	return ret;
}

int ursa_send_zc(struct ursa_loop *loop, struct ursa_req *req, int fd,
		 const void *buf, uint32_t len, int flags)
{
	return send_start(loop, req, URSA_OP_SEND_ZC, fd, buf, len, flags);
}

int ursa_sendmsg(struct ursa_loop *loop, struct ursa_req *req, int fd,
		 const struct msghdr *msg, int flags)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	nc = net_cmd_reset(req, fd);
	nc->msg = msg;
	nc->flags = flags;
	return __ursa_start(loop, req, URSA_OP_SENDMSG);
}

int ursa_shutdown(struct ursa_loop *loop, struct ursa_req *req, int fd, int how)
{
	struct net_cmd *nc;

	if (req->flags & REQ_F_INFLIGHT)
		return -EBUSY;
	nc = net_cmd_reset(req, fd);
	nc->flags = how;
	return __ursa_start(loop, req, URSA_OP_SHUTDOWN);
}

int ursa_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port_s;
	unsigned long port;
	size_t hlen;
	char *end;

	if (!s || !ss || !len)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hlen = (size_t)(rb - s - 1);
		port_s = rb + 2;
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		port_s = colon + 1;
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	if (!*port_s || *port_s == '-' || *port_s == '+')
		return -EINVAL;
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;

	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (hlen == 0)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
	}
	return 0;
}

int ursa_listen(const struct sockaddr *sa, socklen_t len, int backlog,
		unsigned int flags)
{
	int fd, one = 1, ret;

	if (!sa)
		return -EINVAL;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto err;
	if ((flags & URSA_LISTEN_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto err;
	if (sa->sa_family == AF_INET6 && (flags & URSA_LISTEN_V6ONLY) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto err;
	if (bind(fd, sa, len) || listen(fd, backlog))
		goto err;
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}
