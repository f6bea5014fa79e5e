// SPDX-License-Identifier: MIT
/*
 * bench_sendzc: ursa_send() against ursa_send_zc() over loopback TCP, at
 * payload sizes from 1 KiB to 1 MiB, to place the size above which the
 * library sends with IORING_OP_SEND_ZC (CONFIG_URSA_SEND_ZC_THRESHOLD).
 *
 * One connection on 127.0.0.1; a thread drains the receiving end with
 * recv(2). The loop keeps DEPTH sends in flight, each from its own
 * buffer, for a fixed time. send and send_zc run back to back in each
 * repeat; the medians of MB/s (10^6 bytes) and the ratio zc/send are
 * printed. Loopback delivers by copying the sender's pages into the
 * receiver's socket, so what zero-copy saves here is the sender's copy,
 * and what it costs is the notification and page pinning.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/loop.h>
#include <ursa/net.h>

#include "bench.h"

#define DEPTH 4
#define MAX_SIZE (1u << 20)

struct sender {
	struct ursa_loop loop;
	struct ursa_req req[DEPTH];
	char *buf[DEPTH];
	int fd;
	uint32_t size;
	bool zc;
	bool stopping;
	uint64_t bytes;
	int err;
};

static void send_done(struct ursa_req *req, const struct ursa_exit *exit);

static int send_one(struct sender *s, unsigned int i)
{
	if (s->zc)
		return ursa_send_zc(&s->loop, &s->req[i], s->fd, s->buf[i],
				    s->size, 0);
	return ursa_send(&s->loop, &s->req[i], s->fd, s->buf[i], s->size, 0);
}

static void send_done(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct sender *s = req->data;
	int ret;

	if (exit->kind != URSA_EXIT_SUCCESS) {
		if (!s->err)
			s->err = exit->kind == URSA_EXIT_FAILURE ? exit->err :
								   -ECANCELED;
		return;
	}
	s->bytes += (uint64_t)exit->val;
	if (s->stopping)
		return;
	ret = send_one(s, (unsigned int)(req - s->req));
	if (ret && !s->err)
		s->err = ret;
}

/* Bytes per second for one run of @ns, or a negative errno. */
static double run_mode(struct sender *s, uint32_t size, bool zc, uint64_t ns)
{
	uint64_t start, end;
	unsigned int i;
	int ret;

	/* Drained below, even when a start fails: nothing left in flight. */
	s->size = size;
	s->zc = zc;
	s->stopping = false;
	s->bytes = 0;
	s->err = 0;
	start = bench_now_ns();
	end = start + ns;
	for (i = 0; i < DEPTH && !s->err; i++) {
		ret = send_one(s, i);
		if (ret)
			s->err = ret;
	}
	while (bench_now_ns() < end && !s->err)
		if (ursa_loop_run_once(&s->loop, true) < 0)
			break;
	s->stopping = true;
	for (i = 0; i < DEPTH; i++)
		while (ursa_req_busy(&s->req[i]))
			if (ursa_loop_run_once(&s->loop, true) < 0)
				return -EIO;
	if (s->err)
		return s->err;
	return (double)s->bytes * 1e9 / (double)(bench_now_ns() - start);
}

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	static char sink[MAX_SIZE];

	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
	return NULL;
}

/* A connected TCP pair on loopback: *tx sends, *rx receives. */
static int tcp_pair(int *tx, int *rx)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = ursa_listen((struct sockaddr *)&sa, sizeof(sa), 1, 0);
	if (lfd < 0)
		return lfd;
	if (getsockname(lfd, (struct sockaddr *)&sa, &len))
		goto err;
	*tx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*tx < 0)
		goto err;
	if (connect(*tx, (struct sockaddr *)&sa, len))
		goto err_tx;
	*rx = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*rx < 0)
		goto err_tx;
	setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(lfd);
	return 0;
err_tx:
	close(*tx);
err:
	close(lfd);
	return -errno;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 1024,	 4096,	 16384,
					  65536, 262144, 1048576 };
	static struct sender s;
	double seconds = 0.1;
	int repeats = 5, ret, rx = -1, status = 0;
	unsigned int i;
	pthread_t thr;
	size_t z;

	ret = bench_options("bench_sendzc", argc, argv, &repeats, &seconds);
	if (ret >= 0)
		return ret;

	ret = ursa_loop_init(&s.loop, NULL);
	if (ret) {
		fprintf(stderr, "bench_sendzc: %s (%s)\n",
			ursa_loop_strerror(ret), strerror(-ret));
		return 1;
	}
	for (i = 0; i < DEPTH; i++) {
		ursa_req_init(&s.req[i], send_done);
		s.req[i].data = &s;
		s.buf[i] = malloc(MAX_SIZE);
		if (!s.buf[i]) {
			fprintf(stderr, "bench_sendzc: out of memory\n");
			status = 1;
			goto out;
		}
		memset(s.buf[i], 'a' + i, MAX_SIZE);
	}
	ret = tcp_pair(&s.fd, &rx);
	if (ret) {
		fprintf(stderr, "bench_sendzc: loopback TCP: %s\n",
			strerror(-ret));
		status = 1;
		goto out;
	}
	if (pthread_create(&thr, NULL, drain, &rx)) {
		fprintf(stderr, "bench_sendzc: pthread_create failed\n");
		close(s.fd);
		close(rx);
		status = 1;
		goto out;
	}

	printf("loopback TCP, %d sends in flight, %.2f s per run, median "
	       "of %d\n",
	       DEPTH, seconds, repeats);
	printf("%-8s %12s %14s %8s\n", "size", "send MB/s", "send_zc MB/s",
	       "zc/send");
	for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		double sent[101], zc[101], ratios[101];
		int r;

		for (r = 0; r < repeats; r++) {
			sent[r] = run_mode(&s, sizes[z], false,
					   (uint64_t)(seconds * 1e9));
			zc[r] = run_mode(&s, sizes[z], true,
					 (uint64_t)(seconds * 1e9));
			if (sent[r] <= 0 || zc[r] <= 0)
				break;
			ratios[r] = zc[r] / sent[r];
		}
		if (r < repeats) {
			double bad = sent[r] <= 0 ? sent[r] : zc[r];

			/* A kernel without SEND_ZC (before 6.0) says so. */
			printf("%-8u send%s failed: %s\n", sizes[z],
			       sent[r] <= 0 ? "" : "_zc", strerror(-(int)bad));
			status = 1;
			break;
		}
		printf("%-8u %12.0f %14.0f %7.2fx\n", sizes[z],
		       bench_median(sent, repeats) / 1e6,
		       bench_median(zc, repeats) / 1e6,
		       bench_median(ratios, repeats));
	}
	shutdown(s.fd, SHUT_WR);
	pthread_join(thr, NULL);
	close(s.fd);
	close(rx);
out:
	ursa_loop_exit(&s.loop);
	for (i = 0; i < DEPTH; i++)
		free(s.buf[i]);
	return status;
}
