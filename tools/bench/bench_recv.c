// SPDX-License-Identifier: MIT
/*
 * bench_recv: the recv source over loopback TCP against a raw liburing
 * multishot recv loop with a provided buffer ring, in the same run.
 *
 * A sender thread writes the same number of bytes for both receivers.
 * The ursa side is a recv source into an emit buffer, consumed by a batch
 * take that gives each buffer back and takes again; the raw side is one
 * ring, one multishot recv, a buffer ring of the same shape, and each
 * buffer given back as soon as its CQE is seen. The two alternate, and
 * the medians are compared: the ratio is ursa's throughput over the raw
 * loop's. Malloc calls per chunk on the ursa side must be 0.
 *
 * Only correctness failures (bytes lost, mallocs) make the exit status
 * non-zero, never speed. The target is a ratio of at least 0.9.
 */
#include <errno.h>
#include <getopt.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/ursa.h>

#include "bench.h"

#define NR_BUFS 64
#define BUF_SIZE (64 * 1024)
#define SEND_CHUNK (256 * 1024)
#define TARGET_RATIO 0.9

static uint64_t total_bytes = 256ull << 20;

struct sender {
	pthread_t th;
	char *buf; /* allocated before the timed part */
	int fd;
	volatile int go;
	int err;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	char *buf = s->buf;
	uint64_t off = 0;

	while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
		;
	while (off < total_bytes) {
		size_t n = total_bytes - off < SEND_CHUNK ?
				   (size_t)(total_bytes - off) :
				   SEND_CHUNK;
		ssize_t w = send(s->fd, buf, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		off += (uint64_t)w;
	}
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

static int tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0)
		return -errno;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		goto err;
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[0] < 0)
		goto err;
	if (connect(sv[0], (struct sockaddr *)&a, sizeof(a)))
		goto err_c;
	sv[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (sv[1] < 0)
		goto err_c;
	close(lfd);
	return 0;
err_c:
	close(sv[0]);
err:
	close(lfd);
	return -errno;
}

/* Start a sender on a fresh pair; returns the receiving fd. */
static int sender_start(struct sender *s)
{
	int sv[2] = { -1, -1 }, ret = tcp_pair(sv);

	if (ret)
		return ret;
	memset(s, 0, sizeof(*s));
	s->fd = sv[0];
	s->buf = calloc(1, SEND_CHUNK);
	if (!s->buf || pthread_create(&s->th, NULL, sender_main, s)) {
		free(s->buf);
		close(sv[0]);
		close(sv[1]);
		return -EAGAIN;
	}
	return sv[1];
}

static void sender_finish(struct sender *s)
{
	pthread_join(s->th, NULL);
	free(s->buf);
	close(s->fd);
}

/* ------------------------------------------------------------- raw */

static int raw_run(uint64_t *ns, uint64_t *bytes)
{
	struct io_uring_params p = { 0 };
	struct io_uring_buf_reg reg = { 0 };
	struct io_uring_buf_ring *br;
	struct io_uring ring;
	struct sender s;
	char *bufs;
	uint64_t start, got = 0;
	int fd, ret, i, done = 0;

	fd = sender_start(&s);
	if (fd < 0)
		return fd;
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init_params(256, &ring, &p);
	if (ret) {
		memset(&p, 0, sizeof(p));
		ret = io_uring_queue_init_params(256, &ring, &p);
	}
	if (ret)
		return ret;
	bufs = aligned_alloc(4096, (size_t)NR_BUFS * BUF_SIZE);
	br = mmap(NULL, NR_BUFS * sizeof(struct io_uring_buf),
		  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!bufs || br == MAP_FAILED)
		return -ENOMEM;
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = NR_BUFS;
	reg.bgid = 1;
	ret = io_uring_register_buf_ring(&ring, &reg, 0);
	if (ret)
		return ret;
	io_uring_buf_ring_init(br);
	for (i = 0; i < NR_BUFS; i++)
		io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE,
				      (unsigned short)i,
				      io_uring_buf_ring_mask(NR_BUFS), i);
	io_uring_buf_ring_advance(br, NR_BUFS);

	start = bench_now_ns();
	__atomic_store_n(&s.go, 1, __ATOMIC_RELEASE);
	for (;;) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 1;
		for (;;) {
			struct io_uring_cqe *cqe;
			unsigned int head, n = 0;
			bool more = true;

			ret = io_uring_submit_and_wait(&ring, 1);
			if (ret < 0 && ret != -EINTR)
				return ret;
			io_uring_for_each_cqe(&ring, head, cqe) {
				n++;
				if (cqe->res > 0) {
					unsigned int bid =
						cqe->flags >>
						IORING_CQE_BUFFER_SHIFT;

					got += (uint64_t)cqe->res;
					io_uring_buf_ring_add(
						br,
						bufs + (size_t)bid * BUF_SIZE,
						BUF_SIZE, (unsigned short)bid,
						io_uring_buf_ring_mask(NR_BUFS),
						0);
					io_uring_buf_ring_advance(br, 1);
				} else if (cqe->res == 0) {
					done = 1;
				} else if (cqe->res != -ENOBUFS) {
					return cqe->res;
				}
				if (!(cqe->flags & IORING_CQE_F_MORE))
					more = false;
			}
			io_uring_cq_advance(&ring, n);
			if (!more || done)
				break;
		}
		if (done)
			break;
	}
	*ns = bench_now_ns() - start;
	*bytes = got;
	sender_finish(&s);
	close(fd);
	io_uring_unregister_buf_ring(&ring, 1);
	munmap(br, NR_BUFS * sizeof(struct io_uring_buf));
	io_uring_queue_exit(&ring);
	free(bufs);
	return s.err ? -s.err : 0;
}

/* ------------------------------------------------------------ ursa */

struct consumer {
	struct ursa_take t;
	struct ursa_emit *em;
	struct ursa_recv_source *src;
	struct ursa_emit_entry out[NR_BUFS];
	uint64_t bytes, chunks;
	bool ended;
	int what;
};

static void consumer_fn(struct ursa_take *t)
{
	struct consumer *c = ursa_container_of(t, struct consumer, t);
	unsigned int i;

	if (t->what != URSA_TAKE_ELEMENT) {
		c->what = t->what;
		c->ended = true;
		return;
	}
	for (i = 0; i < t->count; i++) {
		c->bytes += (uint64_t)c->out[i].val;
		ursa_recv_source_release(c->src, &c->out[i]);
	}
	c->chunks += t->count;
	ursa_emit_take_batch(c->em, t, c->out, NR_BUFS);
}

static int ursa_run(uint64_t *ns, uint64_t *bytes, uint64_t *mallocs,
		    uint64_t *chunks)
{
	static struct consumer c;
	struct ursa_recv_source src;
	struct ursa_loop loop;
	struct ursa_emit em;
	struct sender s;
	uint64_t start, m0;
	int fd, ret;

	fd = sender_start(&s);
	if (fd < 0)
		return fd;
	ret = ursa_loop_init(&loop, NULL);
	if (ret)
		return ret;
	ret = ursa_emit_init(&em, ursa_loop_runq(&loop), NR_BUFS,
			     URSA_EMIT_SUSPEND);
	if (ret)
		return ret;
	ret = ursa_recv_source_start(&loop, &src, fd, &em, 1, NR_BUFS,
				     BUF_SIZE);
	if (ret)
		return ret;
	memset(&c, 0, sizeof(c));
	c.em = &em;
	c.src = &src;
	ursa_take_init(&c.t, ursa_loop_runq(&loop), consumer_fn);
	ursa_emit_take_batch(&em, &c.t, c.out, NR_BUFS);

	m0 = bench_malloc_calls();
	start = bench_now_ns();
	__atomic_store_n(&s.go, 1, __ATOMIC_RELEASE);
	while (!c.ended) {
		ret = ursa_loop_run_once(&loop, true);
		if (ret < 0)
			return ret;
	}
	*ns = bench_now_ns() - start;
	*mallocs = bench_malloc_calls() - m0;
	*bytes = c.bytes;
	*chunks = c.chunks;
	sender_finish(&s);
	ursa_recv_source_destroy(&src);
	ursa_emit_destroy(&em);
	ursa_loop_exit(&loop);
	close(fd);
	if (c.what != URSA_TAKE_END)
		return -EIO;
	return s.err ? -s.err : 0;
}

int main(int argc, char **argv)
{
	double raw_gbs[101], ursa_gbs[101], raw_med, ursa_med;
	uint64_t mallocs = 0, chunks = 0;
	int repeats = 5, opt, r, errors = 0;

	while ((opt = getopt(argc, argv, "r:m:h")) != -1) {
		switch (opt) {
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'm':
			total_bytes = (uint64_t)atoi(optarg) << 20;
			break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: bench_recv [-r REPEATS] [-m MIB]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (repeats < 1 || repeats > 101 || total_bytes < (1u << 20) ||
	    total_bytes > (64ull << 30)) {
		fprintf(stderr,
			"bench_recv: -r takes 1 to 101, -m 1 to 65536\n");
		return 2;
	}
	if (!bench_malloc_hooked("bench_recv"))
		return 1;

	for (r = 0; r < repeats; r++) {
		uint64_t ns = 1, bytes = 0, m = 0, ch = 0;
		int ret = raw_run(&ns, &bytes);

		if (ret == -EINVAL || ret == -ENOSYS || ret == -EPERM ||
		    ret == -EOPNOTSUPP) {
			printf("bench_recv: skipped, no io_uring buffer rings "
			       "here (%s)\n",
			       strerror(-ret));
			return 0;
		}
		if (ret || bytes != total_bytes) {
			fprintf(stderr, "bench_recv: raw run failed: %d\n",
				ret);
			return 1;
		}
		raw_gbs[r] = (double)bytes / (double)ns;
		ret = ursa_run(&ns, &bytes, &m, &ch);
		if (ret || bytes != total_bytes) {
			fprintf(stderr,
				"bench_recv: ursa run failed: %d (%llu bytes)\n",
				ret, (unsigned long long)bytes);
			return 1;
		}
		ursa_gbs[r] = (double)bytes / (double)ns;
		mallocs += m;
		chunks += ch;
	}
	raw_med = bench_median(raw_gbs, repeats);
	ursa_med = bench_median(ursa_gbs, repeats);
	printf("%-34s %10s %12s\n", "case", "GB/s", "mallocs/chunk");
	printf("%-34s %10.2f %12s\n", "raw liburing multishot recv", raw_med,
	       "-");
	printf("%-34s %10.2f %12.4f\n", "ursa recv source + emit buffer",
	       ursa_med, chunks ? (double)mallocs / (double)chunks : 0.0);
	printf("  %llu MiB per run, %d runs each, %u x %u KiB buffers; "
	       "ratio %.2f; target %.1f: %s\n",
	       (unsigned long long)(total_bytes >> 20), repeats, NR_BUFS,
	       BUF_SIZE / 1024, ursa_med / raw_med, TARGET_RATIO,
	       ursa_med / raw_med >= TARGET_RATIO ? "met" : "MISSED");
	if (mallocs)
		errors++;
	if (errors)
		fprintf(stderr, "bench_recv: mallocs on the data path\n");
	return errors ? 1 : 0;
}
