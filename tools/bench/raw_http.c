// SPDX-License-Identifier: MIT
/*
 * raw_http: the ceiling for bench_http.sh. A single-threaded liburing
 * server with DEFER_TASKRUN that answers every request on a connection
 * with a canned "Hello, World!" response: it counts the requests in what
 * it received by their blank lines (so pipelining works) and parses
 * nothing else. One recv or one send in flight per connection, like
 * ursa-http. Not a server to use: only a baseline.
 *
 *   raw_http PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF 4096

static const char resp[] = "HTTP/1.1 200 OK\r\n"
			   "Server: raw\r\n"
			   "Content-Type: text/plain\r\n"
			   "Content-Length: 13\r\n\r\n"
			   "Hello, World!";
#define RLEN (sizeof(resp) - 1)

struct conn {
	int fd;
	int state; /* 0 recv, 1 send */
	int tail; /* matched bytes of "\r\n\r\n" across recvs */
	size_t olen, osent;
	char in[BUF];
	char *out;
	size_t ocap;
};

static struct io_uring ring;
static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static void queue_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	c->state = 0;
	io_uring_prep_recv(sqe, c->fd, c->in, BUF, 0);
	io_uring_sqe_set_data(sqe, c);
}

static void queue_send(struct conn *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	c->state = 1;
	io_uring_prep_send(sqe, c->fd, c->out + c->osent, c->olen - c->osent,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, c);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	free(c);
}

static unsigned int count_reqs(struct conn *c, const char *p, size_t n)
{
	static const char pat[] = "\r\n\r\n";
	unsigned int reqs = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == pat[c->tail]) {
			if (++c->tail == 4) {
				reqs++;
				c->tail = 0;
			}
		} else {
			c->tail = p[i] == '\r' ? 1 : 0;
		}
	}
	return reqs;
}

int main(int argc, char **argv)
{
	struct io_uring_params p = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int lfd, one = 1, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: raw_http PORT\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 4096)) {
		perror("raw_http: bind");
		return 1;
	}
	p.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
	p.cq_entries = 8192;
	ret = io_uring_queue_init_params(2048, &ring, &p);
	if (ret) {
		fprintf(stderr, "raw_http: io_uring: %s\n", strerror(-ret));
		return 1;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, 0);
	io_uring_sqe_set_data(sqe, NULL);
	printf("raw_http: listening on 127.0.0.1:%s\n", argv[1]);
	fflush(stdout);
	while (!stop) {
		unsigned int head, n = 0;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			break;
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct conn *c = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			n++;
			if (!c) {
				if (res >= 0) {
					c = calloc(1, sizeof(*c));
					c->fd = res;
					setsockopt(res, IPPROTO_TCP,
						   TCP_NODELAY, &one,
						   sizeof(one));
					queue_recv(c);
				}
				if (!(cqe->flags & IORING_CQE_F_MORE)) {
					sqe = io_uring_get_sqe(&ring);
					io_uring_prep_multishot_accept(
						sqe, lfd, NULL, NULL, 0);
					io_uring_sqe_set_data(sqe, NULL);
				}
				continue;
			}
			if (res <= 0) {
				conn_close(c);
				continue;
			}
			if (c->state == 0) {
				unsigned int k =
					count_reqs(c, c->in, (size_t)res);
				size_t need = k * RLEN;

				if (!k) {
					queue_recv(c);
					continue;
				}
				if (need > c->ocap) {
					c->out = realloc(c->out, need);
					c->ocap = need;
				}
				for (unsigned int i = 0; i < k; i++)
					memcpy(c->out + i * RLEN, resp, RLEN);
				c->olen = need;
				c->osent = 0;
				queue_send(c);
			} else {
				c->osent += (size_t)res;
				if (c->osent < c->olen)
					queue_send(c);
				else
					queue_recv(c);
			}
		}
		io_uring_cq_advance(&ring, n);
	}
	io_uring_queue_exit(&ring);
	close(lfd);
	return 0;
}
