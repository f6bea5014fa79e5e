// SPDX-License-Identifier: MIT
/*
 * Backpressure on the real kernel: I/O sources feeding emit buffers stop
 * submitting while the buffer is full, so a stalled consumer stalls the
 * kernel side too.
 *
 *   recv    a forked peer sends 1 GiB over loopback into a recv source
 *           whose consumer stops: server memory stays within the buffer
 *           ring plus the emit buffer, and the peer's send blocks (TCP
 *           window full); then everything arrives, in order, once.
 *   file    a chunked file reader feeding a stalled consumer stops at the
 *           buffer's capacity with nothing in flight, and resumes one
 *           read per chunk given back.
 *   accept  an accept source into a full sink stops accepting, even for a
 *           burst of 100; they wait in the listen backlog until it drains.
 *   tick    a periodic timer into dropping and sliding buffers.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ursa/harness.h>
#include <ursa/ursa.h>

#include "sources.h"

#define MIB (1024ull * 1024)
#define GIB (1024 * MIB)

FIXTURE(bp)
{
	struct ursa_loop loop;
	bool live;
};

FIXTURE_SETUP(bp)
{
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
}

FIXTURE_TEARDOWN(bp)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
}

/* ---------------------------------------------------------------- recv */

#define RECV_TOTAL GIB
#define RECV_NR_BUFS 16
#define RECV_BUF_SIZE (64 * 1024)
#define RECV_CAPACITY 16
#define PEER_CHUNK (256 * 1024)

struct peer_state {
	volatile uint64_t sent;
	volatile int err;
	volatile int finished;
};

/* The peer: a child process, so its memory is not the server's. */
static void peer_main(int fd, struct peer_state *ps)
{
	char *buf = malloc(PEER_CHUNK);
	uint64_t off = 0;

	if (!buf)
		_exit(3);
	while (off < RECV_TOTAL) {
		size_t n = PEER_CHUNK;
		ssize_t w;

		stream_fill(buf, n, off);
		w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ps->err = errno;
			_exit(1);
		}
		/* A short send: the rest goes with the next one. */
		off += (uint64_t)w;
		__atomic_store_n(&ps->sent, off, __ATOMIC_RELEASE);
		if ((size_t)w < n) {
			stream_fill(buf, n - (size_t)w, off);
			continue;
		}
	}
	shutdown(fd, SHUT_WR);
	ps->finished = 1;
	free(buf);
	_exit(0);
}

struct recv_consumer {
	struct ursa_take t;
	struct ursa_emit *em;
	struct ursa_recv_source *src;
	uint64_t received;
	uint64_t stop_at; /* stop taking once this much arrived */
	bool stopped;
	bool ended;
	int what;
	struct ursa_exit exit;
	uint64_t bad_at; /* first byte off the stream + 1, or 0 */
	uint64_t chunks;
};

static void recv_take_fn(struct ursa_take *t)
{
	struct recv_consumer *c = ursa_container_of(t, struct recv_consumer, t);

	c->what = t->what;
	if (t->what != URSA_TAKE_ELEMENT) {
		c->ended = true;
		c->exit = t->exit;
		return;
	}
	if (!c->bad_at) {
		size_t at = stream_check(t->entry.ptr, (size_t)t->entry.val,
					 c->received);

		if (at < (size_t)t->entry.val)
			c->bad_at = c->received + at + 1;
	}
	c->received += (uint64_t)t->entry.val;
	c->chunks++;
	ursa_recv_source_release(c->src, &t->entry);
	if (c->received >= c->stop_at) {
		c->stopped = true;
		return;
	}
	ursa_emit_take(c->em, t);
}

TEST_F_TIMEOUT(bp, recv_stalled_consumer_bounds_memory_and_blocks_peer, 120)
{
	struct recv_consumer c = { 0 };
	struct ursa_recv_source src;
	struct peer_state *ps;
	struct ursa_emit em;
	uint64_t rss0, rss1, bound, last, sent_at_stall, recv_submits;
	unsigned int stable = 0, i;
	int sv[2], ret, status;
	pid_t pid;

	if (!kernel_at_least(6, 0))
		SKIP(return, "multishot recv with buffer rings needs 6.0");
	ps = mmap(NULL, sizeof(*ps), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ps);
	memset(ps, 0, sizeof(*ps));
	ASSERT_EQ(0, tcp_pair(sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[1]);
		peer_main(sv[0], ps);
	}
	close(sv[0]);

	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(&self->loop),
				    RECV_CAPACITY, URSA_EMIT_SUSPEND));
	rss0 = rss_bytes();
	ret = ursa_recv_source_start(&self->loop, &src, sv[1], &em, 3,
				     RECV_NR_BUFS, RECV_BUF_SIZE);
	if (ret == -EOPNOTSUPP || ret == -EINVAL) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		SKIP(return, "no buffer rings: %d", ret);
	}
	ASSERT_EQ(0, ret);
	c.em = &em;
	c.src = &src;
	c.stop_at = 8 * MIB;
	ursa_take_init(&c.t, ursa_loop_runq(&self->loop), recv_take_fn);
	ASSERT_EQ(0, ursa_emit_take(&em, &c.t));

	/* The consumer takes 8 MiB, then stops. */
	ASSERT_TRUE(loop_run_until(&self->loop, c.stopped, 20000));
	/* Wait until the peer's send has not moved for 500 ms. */
	last = __atomic_load_n(&ps->sent, __ATOMIC_ACQUIRE);
	for (i = 0; i < 200 && stable < 5; i++) {
		uint64_t now;

		loop_run_for(&self->loop, 100);
		now = __atomic_load_n(&ps->sent, __ATOMIC_ACQUIRE);
		stable = now == last ? stable + 1 : 0;
		last = now;
	}
	ASSERT_EQ(5, stable) TH_LOG("the peer never stopped sending");
	sent_at_stall = last;
	rss1 = rss_bytes();
	recv_submits = ursa_loop_stats(&self->loop)->submitted[URSA_OP_RECV];

	bound = (uint64_t)RECV_CAPACITY * RECV_BUF_SIZE +
		(uint64_t)RECV_NR_BUFS * RECV_BUF_SIZE;
	TH_LOG("peer sent %llu of %llu bytes, then blocked",
	       (unsigned long long)sent_at_stall,
	       (unsigned long long)RECV_TOTAL);
	TH_LOG("consumer took %llu bytes; %u chunks wait in the emit buffer "
	       "(capacity %u); %llu bytes sit in kernel socket buffers",
	       (unsigned long long)c.received, ursa_emit_count(&em),
	       RECV_CAPACITY, (unsigned long long)(sent_at_stall - src.bytes));
	TH_LOG("server RSS %llu -> %llu KiB: +%lld KiB; bound capacity x "
	       "chunk + ring = %llu KiB",
	       (unsigned long long)rss0 / 1024, (unsigned long long)rss1 / 1024,
	       (long long)(rss1 - rss0) / 1024,
	       (unsigned long long)bound / 1024);
	TH_LOG("recv ran the ring dry %llu times",
	       (unsigned long long)ursa_loop_stats(&self->loop)->enobufs);

	/* The peer is blocked well short of its 1 GiB. */
	ASSERT_LT(sent_at_stall, RECV_TOTAL);
	ASSERT_FALSE(ps->finished);
	/* The sink is full of unreleased chunks; the ring is empty. */
	ASSERT_EQ(RECV_NR_BUFS, ursa_emit_count(&em));
	ASSERT_EQ(0, src.br.available);
	/* Server memory: the ring and the emit buffer, nothing per byte. */
	if (rss0 && rss1)
		ASSERT_LE(rss1 - rss0, bound)
	TH_LOG("RSS grew past the bound");
	/* Not re-armed while full. */
	loop_run_for(&self->loop, 200);
	ASSERT_EQ(recv_submits,
		  ursa_loop_stats(&self->loop)->submitted[URSA_OP_RECV]);
	ASSERT_EQ(sent_at_stall, __atomic_load_n(&ps->sent, __ATOMIC_ACQUIRE));

	/* The consumer resumes: all of it arrives, in order, once. */
	c.stop_at = UINT64_MAX;
	c.stopped = false;
	ASSERT_EQ(0, ursa_emit_take(&em, &c.t));
	ASSERT_TRUE(loop_run_until(&self->loop, c.ended, 90000))
	TH_LOG("received %llu bytes", (unsigned long long)c.received);
	ASSERT_EQ(URSA_TAKE_END, c.what);
	ASSERT_EQ(RECV_TOTAL, c.received);
	ASSERT_EQ(0, c.bad_at)
	TH_LOG("stream broken at byte %llu", (unsigned long long)c.bad_at - 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TH_LOG("then %llu chunks, 1 GiB in all, arrived intact",
	       (unsigned long long)c.chunks);
	ursa_recv_source_destroy(&src);
	ursa_emit_destroy(&em);
	close(sv[1]);
	munmap(ps, sizeof(*ps));
}

/* ---------------------------------------------------------------- file */

#define FILE_CHUNK (64 * 1024)
#define FILE_CHUNKS 64
#define FILE_DEPTH 4
#define FILE_CAPACITY 8

static int make_stream_file(char *path, size_t pathlen, uint64_t size)
{
	char *buf = malloc(FILE_CHUNK);
	uint64_t off;
	int fd;

	snprintf(path, pathlen, "/tmp/ursa-sources-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !buf) {
		free(buf);
		return -errno;
	}
	unlink(path);
	for (off = 0; off < size; off += FILE_CHUNK) {
		stream_fill(buf, FILE_CHUNK, off);
		if (pwrite(fd, buf, FILE_CHUNK, (off_t)off) != FILE_CHUNK) {
			free(buf);
			close(fd);
			return -EIO;
		}
	}
	free(buf);
	return fd;
}

struct file_consumer {
	struct ursa_take t;
	struct ursa_emit *em;
	struct ursa_file_reader *r;
	bool seen[FILE_CHUNKS];
	unsigned int nr_seen, dups, bad;
	bool taking, ended;
	int what;
};

static void file_take_fn(struct ursa_take *t)
{
	struct file_consumer *c = ursa_container_of(t, struct file_consumer, t);
	uint64_t off = t->entry.tag;

	c->what = t->what;
	if (t->what != URSA_TAKE_ELEMENT) {
		c->ended = true;
		return;
	}
	if (off % FILE_CHUNK || off / FILE_CHUNK >= FILE_CHUNKS ||
	    t->entry.val != FILE_CHUNK ||
	    stream_check(t->entry.ptr, FILE_CHUNK, off) != FILE_CHUNK)
		c->bad++;
	else if (c->seen[off / FILE_CHUNK])
		c->dups++;
	else
		c->seen[off / FILE_CHUNK] = true, c->nr_seen++;
	ursa_file_reader_release(c->r, &t->entry);
	if (c->taking)
		ursa_emit_take(c->em, t);
}

TEST_F(bp, file_reader_stops_at_capacity_and_resumes)
{
	struct file_consumer c = { 0 };
	struct ursa_file_reader r;
	struct ursa_emit em;
	char path[64];
	int fd;

	fd = make_stream_file(path, sizeof(path),
			      (uint64_t)FILE_CHUNKS * FILE_CHUNK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(&self->loop),
				    FILE_CAPACITY, URSA_EMIT_SUSPEND));
	ASSERT_EQ(0,
		  ursa_file_reader_start(&self->loop, &r, fd, &em, FILE_CHUNK,
					 FILE_DEPTH, 0, URSA_OFF_CURRENT));
	ASSERT_LE(r.inflight, FILE_DEPTH);

	/* Nobody takes: the reader fills the buffer and stops. */
	ASSERT_TRUE(loop_run_until(
		&self->loop,
		!r.inflight && ursa_emit_count(&em) == FILE_CAPACITY, 5000));
	ASSERT_EQ(FILE_CAPACITY, r.reads);
	loop_run_for(&self->loop, 100);
	ASSERT_EQ(FILE_CAPACITY, r.reads);
	ASSERT_EQ(0, r.inflight);
	ASSERT_EQ(FILE_CAPACITY, ursa_emit_count(&em));
	TH_LOG("stalled at %u chunks buffered, %llu reads, %u in flight",
	       ursa_emit_count(&em), (unsigned long long)r.reads, r.inflight);

	/* One chunk given back: exactly one more read. */
	c.em = &em;
	c.r = &r;
	ursa_take_init(&c.t, ursa_loop_runq(&self->loop), file_take_fn);
	ASSERT_EQ(0, ursa_emit_take(&em, &c.t));
	ASSERT_TRUE(loop_run_until(&self->loop, c.nr_seen == 1, 5000));
	ASSERT_EQ(FILE_CAPACITY + 1, r.reads);
	ASSERT_TRUE(loop_run_until(&self->loop, !r.inflight, 5000));
	ASSERT_EQ(FILE_CAPACITY, ursa_emit_count(&em));
	ASSERT_EQ(FILE_CAPACITY + 1, r.reads);

	/* The consumer drains: every chunk once, then the end. */
	c.taking = true;
	ASSERT_EQ(0, ursa_emit_take(&em, &c.t));
	ASSERT_TRUE(loop_run_until(&self->loop, c.ended, 10000));
	ASSERT_EQ(URSA_TAKE_END, c.what);
	ASSERT_EQ(FILE_CHUNKS, c.nr_seen);
	ASSERT_EQ(0, c.dups);
	ASSERT_EQ(0, c.bad);
	ASSERT_EQ(FILE_CHUNKS, r.reads);
	ASSERT_EQ((uint64_t)FILE_CHUNKS * FILE_CHUNK, r.bytes);
	ASSERT_EQ(0, ursa_file_reader_destroy(&r));
	ursa_emit_destroy(&em);
	close(fd);
}

TEST_F(bp, file_reader_async_reads_on_io_wq)
{
	struct file_consumer c = { 0 };
	struct ursa_file_reader r;
	struct ursa_emit em;
	char path[64];
	int fd;

	fd = make_stream_file(path, sizeof(path),
			      (uint64_t)FILE_CHUNKS * FILE_CHUNK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(&self->loop),
				    FILE_CAPACITY, URSA_EMIT_SUSPEND));
	ASSERT_EQ(-EINVAL, ursa_file_reader_start_flags(
				   &self->loop, &r, fd, &em, FILE_CHUNK,
				   FILE_DEPTH, 0, URSA_OFF_CURRENT, 1u << 1));
	ASSERT_EQ(0, ursa_file_reader_start_flags(
			     &self->loop, &r, fd, &em, FILE_CHUNK, FILE_DEPTH,
			     0, URSA_OFF_CURRENT, URSA_FILE_READER_ASYNC));

	/* The same chunks, once each, then the end; read by io-wq. */
	c.em = &em;
	c.r = &r;
	c.taking = true;
	ursa_take_init(&c.t, ursa_loop_runq(&self->loop), file_take_fn);
	ASSERT_EQ(0, ursa_emit_take(&em, &c.t));
	ASSERT_TRUE(loop_run_until(&self->loop, c.ended, 10000));
	ASSERT_EQ(URSA_TAKE_END, c.what);
	ASSERT_EQ(FILE_CHUNKS, c.nr_seen);
	ASSERT_EQ(0, c.dups);
	ASSERT_EQ(0, c.bad);
	ASSERT_EQ((uint64_t)FILE_CHUNKS * FILE_CHUNK, r.bytes);
	ASSERT_LE(1, iou_workers());
	ASSERT_EQ(0, ursa_file_reader_destroy(&r));
	ursa_emit_destroy(&em);
	close(fd);
}

/*
 * The VmFlags of the mapping that holds @addr in /proc/self/smaps, or
 * false if it is not found.
 */
static bool vm_flags_of(const void *addr, char *flags, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	bool in = false, found = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, len, "%s", line + 8);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

TEST_F(bp, file_reader_buffers_advised_as_huge_pages)
{
	struct ursa_file_reader r;
	struct ursa_emit em;
	char path[64], flags[512];
	int fd;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK))
		SKIP(return, "no transparent huge pages in this kernel");
	fd = make_stream_file(path, sizeof(path),
			      (uint64_t)FILE_CHUNKS * FILE_CHUNK);
	ASSERT_LE(0, fd);
	/* (2 in flight + 2 buffered) x 1 MiB: one 4 MiB allocation. */
	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(&self->loop), 2,
				    URSA_EMIT_SUSPEND));
	ASSERT_EQ(0,
		  ursa_file_reader_start(&self->loop, &r, fd, &em, 1024 * 1024,
					 2, 0, URSA_OFF_CURRENT));
	ASSERT_EQ(0, (uintptr_t)r.bufs % (2 * MIB));
	ASSERT_TRUE(vm_flags_of(r.bufs, flags, sizeof(flags)));
	TH_LOG("VmFlags:%s", flags);
	ASSERT_TRUE(strstr(flags, " hg") != NULL);
	ASSERT_TRUE(vm_flags_of(r.bufs + 4 * MIB - 1, flags, sizeof(flags)));
	ASSERT_TRUE(strstr(flags, " hg") != NULL);
	ursa_file_reader_stop(&r);
	ASSERT_TRUE(loop_run_until(&self->loop, !r.inflight, 5000));
	ASSERT_EQ(0, ursa_file_reader_destroy(&r));
	ursa_emit_destroy(&em);
	close(fd);
}

/* -------------------------------------------------------------- accept */

#define ACCEPT_CLIENTS 100
#define ACCEPT_CAPACITY 4

struct accept_consumer {
	struct ursa_take t;
	struct ursa_emit *em;
	unsigned int got;
	bool taking, ended;
};

static void accept_take_fn(struct ursa_take *t)
{
	struct accept_consumer *c =
		ursa_container_of(t, struct accept_consumer, t);

	if (t->what != URSA_TAKE_ELEMENT) {
		c->ended = true;
		return;
	}
	close((int)t->entry.val);
	c->got++;
	if (c->taking)
		ursa_emit_take(c->em, t);
}

TEST_F(bp, accept_stops_when_the_sink_is_full)
{
	struct accept_consumer c = { 0 };
	struct ursa_accept_source src;
	struct sockaddr_in addr;
	int cfd[ACCEPT_CLIENTS];
	uint64_t accepts;
	struct ursa_emit em;
	unsigned int i, in_kernel;
	int lfd;

	lfd = listen_lo(&addr, 128);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(&self->loop),
				    ACCEPT_CAPACITY, URSA_EMIT_SUSPEND));
	ASSERT_EQ(0, ursa_accept_source_start(&self->loop, &src, lfd, &em));
	/* The handshakes complete in the kernel, accepted or not. */
	for (i = 0; i < ACCEPT_CLIENTS; i++) {
		cfd[i] = connect_to(&addr);
		ASSERT_LE(0, cfd[i]);
	}
	ASSERT_TRUE(loop_run_until(
		&self->loop, src.paused && !ursa_req_busy(&src.req), 5000));
	ASSERT_EQ(ACCEPT_CAPACITY, ursa_emit_count(&em));
	in_kernel = ACCEPT_CLIENTS - ACCEPT_CAPACITY - src.nr_held;
	TH_LOG("sink full at %u, %u held by the source, %u left in the "
	       "backlog",
	       ursa_emit_count(&em), src.nr_held, in_kernel);
	/* Only the one that found the sink full was taken out. */
	ASSERT_GE(1, src.nr_held);
	ASSERT_EQ(0, src.nr_dropped);
	accepts = ursa_loop_stats(&self->loop)->completed[URSA_OP_ACCEPT];
	loop_run_for(&self->loop, 100);
	ASSERT_EQ(accepts,
		  ursa_loop_stats(&self->loop)->completed[URSA_OP_ACCEPT]);
	ASSERT_EQ(ACCEPT_CAPACITY, ursa_emit_count(&em));

	/* Draining re-arms it: every connection is accepted, once. */
	c.em = &em;
	c.taking = true;
	ursa_take_init(&c.t, ursa_loop_runq(&self->loop), accept_take_fn);
	ASSERT_EQ(0, ursa_emit_take(&em, &c.t));
	ASSERT_TRUE(loop_run_until(&self->loop, c.got == ACCEPT_CLIENTS, 5000));
	ASSERT_EQ(0, src.nr_dropped);
	ursa_accept_source_stop(&src);
	ASSERT_TRUE(loop_run_until(&self->loop, c.ended, 5000));
	ASSERT_EQ(ACCEPT_CLIENTS, c.got);
	for (i = 0; i < ACCEPT_CLIENTS; i++)
		close(cfd[i]);
	ursa_emit_destroy(&em);
	close(lfd);
}

/* ---------------------------------------------------------------- tick */

struct tick_consumer {
	struct ursa_take t;
	struct ursa_emit_entry out[8];
	bool done;
	unsigned int n;
	int what;
};

static void tick_take_fn(struct ursa_take *t)
{
	struct tick_consumer *c = ursa_container_of(t, struct tick_consumer, t);

	c->what = t->what;
	c->n = t->count;
	c->done = true;
}

static void tick_run(struct __ursa_th_metadata *_metadata,
		     struct ursa_loop *loop, enum ursa_emit_strategy s)
{
	struct tick_consumer c = { 0 };
	struct ursa_tick_source ts;
	struct ursa_emit em;

	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(loop), 2, s));
	ASSERT_EQ(0, ursa_tick_source_start(loop, &ts, &em, 2000000));
	/* Nobody takes for a while: ticks pile up to the capacity only. */
	ASSERT_TRUE(loop_run_until(loop, ts.ticks >= 10, 5000));
	ASSERT_EQ(2, ursa_emit_count(&em));
	ursa_tick_source_stop(&ts);
	ursa_take_init(&c.t, ursa_loop_runq(loop), tick_take_fn);
	ASSERT_EQ(0, ursa_emit_take_batch(&em, &c.t, c.out, 8));
	ASSERT_TRUE(loop_run_until(loop, c.done, 1000));
	ASSERT_EQ(URSA_TAKE_ELEMENT, c.what);
	ASSERT_EQ(2, c.n);
	if (s == URSA_EMIT_DROPPING) {
		/* The oldest two are kept; later ticks were refused. */
		ASSERT_EQ(1, c.out[0].val);
		ASSERT_EQ(2, c.out[1].val);
		ASSERT_EQ(ts.ticks - 2, ts.refused);
	} else {
		/* The newest two are kept; older ones were evicted. */
		ASSERT_EQ((int64_t)ts.ticks - 1, c.out[0].val);
		ASSERT_EQ((int64_t)ts.ticks, c.out[1].val);
		ASSERT_EQ(0, ts.refused);
		ASSERT_EQ(ts.ticks - 2, em.nr_evicted);
	}
	TH_LOG("%s: %llu ticks, kept %lld and %lld",
	       s == URSA_EMIT_DROPPING ? "dropping" : "sliding",
	       (unsigned long long)ts.ticks, (long long)c.out[0].val,
	       (long long)c.out[1].val);
	c.done = false;
	ASSERT_EQ(0, ursa_emit_take_batch(&em, &c.t, c.out, 8));
	ASSERT_TRUE(loop_run_until(loop, c.done, 1000));
	ASSERT_EQ(URSA_TAKE_END, c.what);
	ursa_emit_destroy(&em);
}

TEST_F(bp, tick_into_dropping_and_sliding)
{
	tick_run(_metadata, &self->loop, URSA_EMIT_DROPPING);
	tick_run(_metadata, &self->loop, URSA_EMIT_SLIDING);
}

TEST_HARNESS_MAIN
