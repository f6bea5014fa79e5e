// SPDX-License-Identifier: MIT
/*
 * The seeds' scenarios (../shared/seeds/000_*: SingleProducerAsyncInput,
 * 001_*: StreamEmit), in C, on the loop and the real kernel:
 *
 *   slow_consumer          a slow consumer holds back a fast producer;
 *                          the producer's wait is measured
 *   http_pipeline          requests read from a socket through a recv
 *                          source, handed one at a time to a handler that
 *                          answers on the socket; "/error" fails
 *   file_progress          a file read in chunks, processed, with progress
 *                          reported from a periodic tick
 *   batching               batches flushed by size, by time, and at the end
 *   error_propagation      an error reaches every consumer and persists;
 *                          later emits are refused
 *   rate_limited           a producer limited by tokens from a periodic
 *                          tick into a dropping buffer
 *
 * Times are scaled down from the seeds (1 s becomes 100 ms or less). No
 * test asserts an upper bound on time; the lower bounds checked are ones
 * the scenario's own sleeps and timers guarantee. They are read on the
 * loop's clock (ursa_loop_now()), on which a timer never fires early;
 * the wall clock can run ahead of the cached loop clock by a turn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ursa/err.h>
#include <ursa/harness.h>
#include <ursa/ursa.h>

#include "sources.h"

#define MS 1000000ull

FIXTURE(sc)
{
	struct ursa_loop loop;
	bool live;
};

FIXTURE_SETUP(sc)
{
	LOOP_INIT_OR_SKIP(&self->loop, NULL);
	self->live = true;
}

FIXTURE_TEARDOWN(sc)
{
	if (self->live)
		ursa_loop_exit(&self->loop);
}

/* Spawn a task on the loop that owns its own handle. */
#define SPAWN(loop, fn, arg)                                                  \
	do {                                                                  \
		struct ursa_task *__t =                                       \
			ursa_task_spawn(ursa_loop_runq(loop), fn, arg, NULL); \
		ASSERT_FALSE(IS_ERR(__t));                                    \
		ursa_task_release(__t);                                       \
	} while (0)

/* -------------------------------------------------------- slow consumer */

#define SLOW_ITEMS 5
#define SLOW_CONSUMER_NS (30 * MS)
#define FAST_PRODUCER_NS (5 * MS)

struct slow {
	struct ursa_loop *loop;
	struct ursa_input in;
	int taken; /* elements the consumer has taken */
	int taken_at_emit_return[SLOW_ITEMS];
	uint64_t wait_ns[SLOW_ITEMS];
	uint64_t start, end;
	int64_t got[SLOW_ITEMS];
	int consumer_last;
	bool producer_done, consumer_done;
	int err;
};

static struct ursa_exit slow_consumer(void *arg)
{
	struct slow *s = arg;
	struct ursa_exit e;
	int what;

	while ((what = ursa_await_input_take(&s->in, &e)) ==
	       URSA_TAKE_ELEMENT) {
		if (s->taken < SLOW_ITEMS)
			s->got[s->taken] = e.val;
		s->taken++;
		/* Slow processing. */
		ursa_task_sleep(s->loop, SLOW_CONSUMER_NS);
	}
	s->consumer_last = what;
	s->consumer_done = true;
	return ursa_exit_success(0);
}

static struct ursa_exit fast_producer(void *arg)
{
	struct slow *s = arg;
	int i, ret;

	s->start = ursa_loop_now(s->loop);
	for (i = 0; i < SLOW_ITEMS; i++) {
		uint64_t t0 = ursa_loop_now(s->loop);

		ret = ursa_await_input_emit(&s->in, 100 + i);
		if (ret) {
			s->err = ret;
			break;
		}
		s->wait_ns[i] = ursa_loop_now(s->loop) - t0;
		s->taken_at_emit_return[i] = s->taken;
		ursa_task_sleep(s->loop, FAST_PRODUCER_NS);
	}
	ursa_input_done(&s->in, 0);
	s->end = ursa_loop_now(s->loop);
	s->producer_done = true;
	return ursa_exit_success(0);
}

TEST_F(sc, slow_consumer_holds_back_a_fast_producer)
{
	struct slow s = { 0 };
	uint64_t total_wait = 0;
	int i;

	s.loop = &self->loop;
	ursa_input_init(&s.in);
	SPAWN(&self->loop, slow_consumer, &s);
	SPAWN(&self->loop, fast_producer, &s);
	ASSERT_TRUE(loop_run_until(&self->loop,
				   s.producer_done && s.consumer_done, 20000));
	ASSERT_EQ(0, s.err);
	ASSERT_EQ(SLOW_ITEMS, s.taken);
	ASSERT_EQ(URSA_TAKE_END, s.consumer_last);
	for (i = 0; i < SLOW_ITEMS; i++) {
		ASSERT_EQ(100 + i, s.got[i]);
		/* Each emit returned once its element was taken, not before. */
		ASSERT_EQ(i + 1, s.taken_at_emit_return[i]);
		total_wait += s.wait_ns[i];
		TH_LOG("producer emitted item-%d after waiting %.1f ms", i + 1,
		       s.wait_ns[i] / 1e6);
	}
	TH_LOG("producer waited %.1f ms in all for a consumer taking %llu ms "
	       "per item",
	       total_wait / 1e6, (unsigned long long)(SLOW_CONSUMER_NS / MS));
	/*
	 * Item k+1 cannot be taken before the consumer finished item k: the
	 * consumer's sleeps pace the producer.
	 */
	ASSERT_LE((SLOW_ITEMS - 1) * SLOW_CONSUMER_NS, s.end - s.start);
}

/* -------------------------------------------------------- http pipeline */

#define HTTP_REQS 4

struct http_req {
	int id;
	char method[8];
	char path[32];
};

struct http {
	struct ursa_loop *loop;
	struct ursa_emit rx; /* bytes from the socket */
	struct ursa_recv_source src;
	struct ursa_input reqs;
	struct http_req pool[HTTP_REQS + 1];
	int nreqs;
	int fd;
	int started, finished;
	int max_ahead; /* parsed but not yet finished */
	int statuses[HTTP_REQS + 1];
	bool reader_done, handler_done;
	int reader_err;
	char line[64];
	size_t linelen;
};

static int http_emit_line(struct http *h)
{
	struct http_req *r;
	int ret;

	if (h->nreqs == HTTP_REQS + 1)
		return -EPROTO;
	r = &h->pool[h->nreqs];
	h->line[h->linelen] = '\0';
	if (sscanf(h->line, "%7s %31s", r->method, r->path) != 2)
		return -EPROTO;
	r->id = ++h->nreqs;
	/* One request ahead of the handler at most: the input's slot. */
	ret = ursa_await_input_emit(&h->reqs, (int64_t)(r - h->pool));
	if (h->nreqs - h->finished > h->max_ahead)
		h->max_ahead = h->nreqs - h->finished;
	return ret;
}

static struct ursa_exit http_reader(void *arg)
{
	struct http *h = arg;
	struct ursa_emit_entry e;
	struct ursa_exit x;
	int what, ret = 0;

	while ((what = ursa_await_emit_take(&h->rx, &e, &x)) ==
	       URSA_TAKE_ELEMENT) {
		const char *p = e.ptr;
		int64_t i;

		for (i = 0; i < e.val && !ret; i++) {
			if (p[i] == '\n') {
				ret = http_emit_line(h);
				h->linelen = 0;
			} else if (h->linelen < sizeof(h->line) - 1) {
				h->line[h->linelen++] = p[i];
			}
		}
		ursa_recv_source_release(&h->src, &e);
		if (ret)
			break;
	}
	if (ret) {
		struct ursa_exit err = ursa_exit_failure(ret);

		h->reader_err = ret;
		ursa_input_error(&h->reqs, &err);
	} else {
		ursa_input_done(&h->reqs, h->nreqs);
	}
	h->reader_done = true;
	return ursa_exit_success(0);
}

static struct ursa_exit http_handler(void *arg)
{
	struct http *h = arg;
	struct ursa_exit e;
	int what;

	while ((what = ursa_await_input_take(&h->reqs, &e)) ==
	       URSA_TAKE_ELEMENT) {
		struct http_req *r = &h->pool[e.val];
		char resp[64];
		int n, status;

		h->started++;
		/* Simulated processing time. */
		ursa_task_sleep(h->loop, 5 * MS);
		status = strcmp(r->path, "/error") ? 200 : 500;
		h->statuses[r->id] = status;
		n = snprintf(resp, sizeof(resp), "%d %d %s %s\n", r->id, status,
			     r->method, r->path);
		if (send(h->fd, resp, (size_t)n, MSG_NOSIGNAL) != n)
			h->statuses[r->id] = -1;
		h->finished++;
	}
	shutdown(h->fd, SHUT_WR);
	h->handler_done = true;
	return ursa_exit_success(0);
}

TEST_F(sc, http_like_request_pipeline)
{
	static const char requests[] = "GET /users\n"
				       "POST /users\n"
				       "GET /error\n"
				       "DELETE /users/1\n";
	static const char want[] = "1 200 GET /users\n"
				   "2 200 POST /users\n"
				   "3 500 GET /error\n"
				   "4 200 DELETE /users/1\n";
	static struct http h;
	char got[256];
	size_t n = 0;
	int sv[2] = { -1, -1 }, ret;

	memset(&h, 0, sizeof(h));
	h.loop = &self->loop;
	ASSERT_EQ(0, tcp_pair(sv));
	h.fd = sv[1];
	ursa_input_init(&h.reqs);
	ASSERT_EQ(0, ursa_emit_init(&h.rx, ursa_loop_runq(&self->loop), 4,
				    URSA_EMIT_SUSPEND));
	/* Small buffers, so that requests straddle chunks. */
	ret = ursa_recv_source_start(&self->loop, &h.src, sv[1], &h.rx, 5, 4,
				     16);
	if (ret == -EOPNOTSUPP || ret == -EINVAL)
		SKIP(return, "no buffer rings: %d", ret);
	ASSERT_EQ(0, ret);
	SPAWN(&self->loop, http_reader, &h);
	SPAWN(&self->loop, http_handler, &h);
	ASSERT_EQ((ssize_t)strlen(requests),
		  send(sv[0], requests, strlen(requests), 0));
	shutdown(sv[0], SHUT_WR);
	ASSERT_TRUE(loop_run_until(&self->loop, h.reader_done && h.handler_done,
				   10000));
	ASSERT_EQ(0, h.reader_err);
	ASSERT_EQ(HTTP_REQS, h.nreqs);
	ASSERT_EQ(HTTP_REQS, h.finished);
	ASSERT_EQ(500, h.statuses[3]);
	/* Parsed ahead: the one being handled and the one in the slot. */
	ASSERT_GE(2, h.max_ahead);
	TH_LOG("the reader ran at most %d request(s) ahead of the handler",
	       h.max_ahead);
	while (n < sizeof(got) - 1) {
		ssize_t r = recv(sv[0], got + n, sizeof(got) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	got[n] = '\0';
	ASSERT_STREQ(want, got);
	ursa_recv_source_destroy(&h.src);
	ursa_emit_destroy(&h.rx);
	close(sv[0]);
	close(sv[1]);
}

/* -------------------------------------------------------- file progress */

#define FP_CHUNK (32 * 1024)
#define FP_CHUNKS 24

struct fileproc {
	struct ursa_loop *loop;
	struct ursa_emit chunks, ticks;
	struct ursa_file_reader r;
	struct ursa_tick_source ts;
	uint64_t total, processed;
	unsigned int nchunks, bad;
	bool seen[FP_CHUNKS];
	uint8_t xor_sum;
	int reports;
	uint64_t last_report;
	bool monotonic;
	bool processor_done, monitor_done, complete_reported;
	int last_what;
};

static struct ursa_exit fp_processor(void *arg)
{
	struct fileproc *f = arg;
	struct ursa_emit_entry e;
	int what;

	while ((what = ursa_await_emit_take(&f->chunks, &e, NULL)) ==
	       URSA_TAKE_ELEMENT) {
		const uint8_t *p = e.ptr;
		uint64_t idx = e.tag / FP_CHUNK;
		int64_t i;

		if (e.tag % FP_CHUNK || idx >= FP_CHUNKS || f->seen[idx] ||
		    stream_check(p, (size_t)e.val, e.tag) != (size_t)e.val)
			f->bad++;
		else
			f->seen[idx] = true;
		/* The "processing": XOR every byte with 0xff. */
		for (i = 0; i < e.val; i++)
			f->xor_sum ^= (uint8_t)(p[i] ^ 0xff);
		f->processed += (uint64_t)e.val;
		f->nchunks++;
		ursa_file_reader_release(&f->r, &e);
		ursa_task_sleep(f->loop, 1 * MS);
	}
	f->last_what = what;
	f->processor_done = true;
	return ursa_exit_success(0);
}

/* Reports progress at each tick; a sliding buffer of one keeps the latest. */
static struct ursa_exit fp_monitor(void *arg)
{
	struct fileproc *f = arg;
	struct ursa_emit_entry e;

	while (ursa_await_emit_take(&f->ticks, &e, NULL) == URSA_TAKE_ELEMENT) {
		f->reports++;
		if (f->processed < f->last_report)
			f->monotonic = false;
		f->last_report = f->processed;
		if (f->processed == f->total && f->processor_done) {
			f->complete_reported = true;
			ursa_tick_source_stop(&f->ts);
		}
	}
	f->monitor_done = true;
	return ursa_exit_success(0);
}

TEST_F(sc, file_processing_with_progress)
{
	static struct fileproc f;
	uint8_t want = 0;
	char *buf;
	uint64_t off;
	char path[] = "/tmp/ursa-fp-XXXXXX";
	int fd;

	memset(&f, 0, sizeof(f));
	f.loop = &self->loop;
	f.monotonic = true;
	f.total = (uint64_t)FP_CHUNK * FP_CHUNKS;
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	buf = malloc(FP_CHUNK);
	ASSERT_NE(NULL, buf);
	for (off = 0; off < f.total; off += FP_CHUNK) {
		size_t i;

		stream_fill(buf, FP_CHUNK, off);
		for (i = 0; i < FP_CHUNK; i++)
			want ^= (uint8_t)(buf[i] ^ 0xff);
		ASSERT_EQ(FP_CHUNK, pwrite(fd, buf, FP_CHUNK, (off_t)off));
	}
	free(buf);
	ASSERT_EQ(0, ursa_emit_init(&f.chunks, ursa_loop_runq(&self->loop), 4,
				    URSA_EMIT_SUSPEND));
	ASSERT_EQ(0, ursa_emit_init(&f.ticks, ursa_loop_runq(&self->loop), 1,
				    URSA_EMIT_SLIDING));
	ASSERT_EQ(0, ursa_file_reader_start(&self->loop, &f.r, fd, &f.chunks,
					    FP_CHUNK, 2, 0, URSA_OFF_CURRENT));
	ASSERT_EQ(0,
		  ursa_tick_source_start(&self->loop, &f.ts, &f.ticks, 5 * MS));
	SPAWN(&self->loop, fp_processor, &f);
	SPAWN(&self->loop, fp_monitor, &f);
	ASSERT_TRUE(loop_run_until(&self->loop,
				   f.processor_done && f.monitor_done, 20000));
	ASSERT_EQ(URSA_TAKE_END, f.last_what);
	ASSERT_EQ(FP_CHUNKS, f.nchunks);
	ASSERT_EQ(0, f.bad);
	ASSERT_EQ(f.total, f.processed);
	ASSERT_EQ(want, f.xor_sum);
	ASSERT_TRUE(f.monotonic);
	ASSERT_TRUE(f.complete_reported);
	ASSERT_LT(0, f.reports);
	TH_LOG("%u chunks, %llu bytes processed; %d progress reports, the "
	       "last at 100%%",
	       f.nchunks, (unsigned long long)f.processed, f.reports);
	ASSERT_EQ(0, ursa_file_reader_destroy(&f.r));
	ursa_emit_destroy(&f.chunks);
	ursa_emit_destroy(&f.ticks);
	close(fd);
}

/* -------------------------------------------------------------- batching */

#define BATCH_SIZE 3
#define FLUSH_NS (100 * MS)
#define MAX_BATCHES 8

enum { BY_SIZE = 1, BY_TIME, AT_END };

struct batch {
	int items[BATCH_SIZE];
	int n;
	int why;
};

struct batching {
	struct ursa_loop *loop;
	struct ursa_input out;
	struct batch buf;
	struct batch sent[MAX_BATCHES];
	int nsent;
	uint64_t start, deadline;
	struct batch got[MAX_BATCHES];
	int ngot;
	bool producer_done, consumer_done;
	int err;
};

static int batch_flush(struct batching *b, int why)
{
	int ret;

	if (!b->buf.n || b->nsent == MAX_BATCHES)
		return 0;
	b->buf.why = why;
	b->sent[b->nsent] = b->buf;
	b->buf.n = 0;
	ret = ursa_await_input_emit(&b->out, b->nsent++);
	return ret;
}

/* Sleep @ns, flushing by time at each deadline on the way. */
static int batch_sleep(struct batching *b, uint64_t ns)
{
	uint64_t until = ursa_loop_now(b->loop) + ns;
	int ret = 0;

	for (;;) {
		uint64_t now = ursa_loop_now(b->loop);

		if (now >= b->deadline) {
			ret = batch_flush(b, BY_TIME);
			if (ret)
				return ret;
			while (b->deadline <= now)
				b->deadline += FLUSH_NS;
		}
		if (now >= until)
			return 0;
		ret = ursa_task_sleep(
			b->loop,
			(until < b->deadline ? until : b->deadline) - now);
		if (ret)
			return ret;
	}
}

static int batch_add(struct batching *b, int item)
{
	b->buf.items[b->buf.n++] = item;
	return b->buf.n >= BATCH_SIZE ? batch_flush(b, BY_SIZE) : 0;
}

static struct ursa_exit batch_producer(void *arg)
{
	struct batching *b = arg;
	int ret = 0;

	b->start = ursa_loop_now(b->loop);
	b->deadline = b->start + FLUSH_NS;
	/* The seed's timeline, at a tenth of its times. */
	ret = ret ?: batch_add(b, 1);
	ret = ret ?: batch_add(b, 2);
	ret = ret ?: batch_add(b, 3); /* a batch by size */
	ret = ret ?: batch_sleep(b, 50 * MS);
	ret = ret ?: batch_add(b, 4);
	ret = ret ?: batch_add(b, 5);
	ret = ret ?: batch_sleep(b, 120 * MS); /* a batch by time */
	ret = ret ?: batch_add(b, 6);
	ret = ret ?: batch_flush(b, AT_END); /* the final batch */
	b->err = ret;
	ursa_input_done(&b->out, 0);
	b->producer_done = true;
	return ursa_exit_success(0);
}

static struct ursa_exit batch_consumer(void *arg)
{
	struct batching *b = arg;
	struct ursa_exit e;

	while (ursa_await_input_take(&b->out, &e) == URSA_TAKE_ELEMENT)
		if (b->ngot < MAX_BATCHES)
			b->got[b->ngot++] = b->sent[e.val];
	b->consumer_done = true;
	return ursa_exit_success(0);
}

TEST_F(sc, batching_by_size_or_time)
{
	static const struct batch want[] = {
		{ { 1, 2, 3 }, 3, BY_SIZE },
		{ { 4, 5 }, 2, BY_TIME },
		{ { 6 }, 1, AT_END },
	};
	static const char *const why[] = { "", "size", "time", "end" };
	struct batching b = { 0 };
	int i, k;

	b.loop = &self->loop;
	ursa_input_init(&b.out);
	SPAWN(&self->loop, batch_consumer, &b);
	SPAWN(&self->loop, batch_producer, &b);
	ASSERT_TRUE(loop_run_until(&self->loop,
				   b.producer_done && b.consumer_done, 10000));
	ASSERT_EQ(0, b.err);
	ASSERT_EQ(3, b.ngot);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(want[i].n, b.got[i].n);
		ASSERT_EQ(want[i].why, b.got[i].why);
		for (k = 0; k < want[i].n; k++)
			ASSERT_EQ(want[i].items[k], b.got[i].items[k]);
		TH_LOG("batch of %d flushed by %s", b.got[i].n,
		       why[b.got[i].why]);
	}
}

/* ------------------------------------------------------ error propagation */

#define EP_TAKERS 3 /* two from the start, one late */

struct errprop {
	struct ursa_loop *loop;
	struct ursa_input in;
	struct ursa_take_with tw[EP_TAKERS];
	int elements[EP_TAKERS], errors[EP_TAKERS], dones[EP_TAKERS];
	int last_err[EP_TAKERS];
	int persist; /* takes again after the error, this many times */
	int emit_after, done_after;
	bool producer_done;
};

static struct errprop *ep_cur;

static int ep_which(struct ursa_take_with *tw)
{
	return (int)(tw - ep_cur->tw);
}

static void ep_error(struct ursa_take_with *tw, const struct ursa_exit *e);
static void ep_element(struct ursa_take_with *tw, const struct ursa_exit *e);
static void ep_done(struct ursa_take_with *tw, const struct ursa_exit *e);

static void ep_again(struct ursa_take_with *tw)
{
	ursa_input_take_with(&ep_cur->in, tw, ursa_loop_runq(ep_cur->loop),
			     ep_error, ep_element, ep_done);
}

static void ep_error(struct ursa_take_with *tw, const struct ursa_exit *e)
{
	int w = ep_which(tw);

	ep_cur->errors[w]++;
	ep_cur->last_err[w] = e->err;
	/* The error persists: every take gets it again. */
	if (ep_cur->errors[w] <= ep_cur->persist)
		ep_again(tw);
}

static void ep_element(struct ursa_take_with *tw, const struct ursa_exit *e)
{
	(void)e;
	ep_cur->elements[ep_which(tw)]++;
	ep_again(tw);
}

static void ep_done(struct ursa_take_with *tw, const struct ursa_exit *e)
{
	(void)e;
	ep_cur->dones[ep_which(tw)]++;
}

/* good-1, good-2, then the bad item fails the input; the rest bounce. */
static struct ursa_exit ep_producer(void *arg)
{
	struct errprop *p = arg;
	struct ursa_exit bad = ursa_exit_failure(-EPROTO);

	ursa_await_input_emit(&p->in, 1);
	ursa_task_sleep(p->loop, 2 * MS);
	ursa_await_input_emit(&p->in, 2);
	ursa_task_sleep(p->loop, 2 * MS);
	ursa_input_error(&p->in, &bad);
	p->emit_after = ursa_await_input_emit(&p->in, 3);
	p->done_after = ursa_input_done(&p->in, 0);
	p->producer_done = true;
	return ursa_exit_success(0);
}

struct one_take {
	struct ursa_take t;
	bool done;
};

static void one_take_fn(struct ursa_take *t)
{
	ursa_container_of(t, struct one_take, t)->done = true;
}

TEST_F(sc, error_propagation_and_persistence)
{
	struct errprop p = { 0 };
	struct ursa_emit em;
	int i;

	p.loop = &self->loop;
	p.persist = 5;
	ep_cur = &p;
	ursa_input_init(&p.in);
	for (i = 0; i < 2; i++)
		ep_again(&p.tw[i]);
	SPAWN(&self->loop, ep_producer, &p);
	ASSERT_TRUE(loop_run_until(&self->loop,
				   p.producer_done && p.errors[0] > p.persist &&
					   p.errors[1] > p.persist,
				   5000));
	/* Each element reached one consumer; the error reached both. */
	ASSERT_EQ(2, p.elements[0] + p.elements[1]);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(p.persist + 1, p.errors[i]);
		ASSERT_EQ(-EPROTO, p.last_err[i]);
		ASSERT_EQ(0, p.dones[i]);
	}
	ASSERT_EQ(-EPIPE, p.emit_after);
	ASSERT_EQ(-EPIPE, p.done_after);
	/* A consumer that comes late gets it too, as often as it asks. */
	ep_again(&p.tw[2]);
	ASSERT_TRUE(loop_run_until(&self->loop, p.errors[2] > p.persist, 5000));
	ASSERT_EQ(0, p.elements[2]);
	ASSERT_EQ(-EPROTO, p.last_err[2]);
	TH_LOG("2 elements delivered; the error reached 3 consumers, %d "
	       "times each",
	       p.persist + 1);

	/* The same through an emit buffer: data first, then the failure. */
	ASSERT_EQ(0, ursa_emit_init(&em, ursa_loop_runq(&self->loop), 0,
				    URSA_EMIT_SUSPEND));
	ASSERT_EQ(0, ursa_emit_single(&em, 1));
	ASSERT_EQ(0, ursa_emit_single(&em, 2));
	ASSERT_EQ(0, ursa_emit_fail(&em, -EPROTO));
	ASSERT_EQ(-EPIPE, ursa_emit_single(&em, 3));
	for (i = 0; i < 6; i++) {
		struct one_take tk = { .done = false };

		ursa_take_init(&tk.t, ursa_loop_runq(&self->loop), one_take_fn);
		ASSERT_EQ(0, ursa_emit_take(&em, &tk.t));
		ASSERT_TRUE(loop_run_until(&self->loop, tk.done, 1000));
		if (i < 2) {
			ASSERT_EQ(URSA_TAKE_ELEMENT, tk.t.what);
			ASSERT_EQ(i + 1, tk.t.entry.val);
		} else {
			ASSERT_EQ(URSA_TAKE_ERROR, tk.t.what);
			ASSERT_EQ(URSA_EXIT_FAILURE, tk.t.exit.kind);
			ASSERT_EQ(-EPROTO, tk.t.exit.err);
		}
	}
	ursa_emit_destroy(&em);
}

/* ---------------------------------------------------------- rate limited */

#define RL_ITEMS 6
#define RL_PERIOD_NS (20 * MS)

struct ratelim {
	struct ursa_loop *loop;
	struct ursa_emit tokens;
	struct ursa_tick_source ts;
	struct ursa_input out;
	uint64_t start;
	uint64_t at[RL_ITEMS];
	int64_t got[RL_ITEMS];
	int ngot;
	uint64_t waited_ns;
	bool producer_done, consumer_done;
	int err;
};

static struct ursa_exit rl_producer(void *arg)
{
	struct ratelim *rl = arg;
	struct ursa_emit_entry tok;
	int i, ret;

	for (i = 0; i < RL_ITEMS; i++) {
		uint64_t t0 = ursa_loop_now(rl->loop);

		/* A token per item: a tick the bucket kept. */
		ret = ursa_await_emit_take(&rl->tokens, &tok, NULL);
		if (ret != URSA_TAKE_ELEMENT) {
			rl->err = ret < 0 ? ret : -EPIPE;
			break;
		}
		rl->waited_ns += ursa_loop_now(rl->loop) - t0;
		rl->at[i] = ursa_loop_now(rl->loop) - rl->start;
		ret = ursa_await_input_emit(&rl->out, 10 + i);
		if (ret) {
			rl->err = ret;
			break;
		}
	}
	ursa_tick_source_stop(&rl->ts);
	ursa_input_done(&rl->out, 0);
	rl->producer_done = true;
	return ursa_exit_success(0);
}

static struct ursa_exit rl_consumer(void *arg)
{
	struct ratelim *rl = arg;
	struct ursa_exit e;

	while (ursa_await_input_take(&rl->out, &e) == URSA_TAKE_ELEMENT)
		if (rl->ngot < RL_ITEMS)
			rl->got[rl->ngot++] = e.val;
	rl->consumer_done = true;
	return ursa_exit_success(0);
}

TEST_F(sc, rate_limited_producer)
{
	static struct ratelim rl;
	int i;

	memset(&rl, 0, sizeof(rl));
	rl.loop = &self->loop;
	ursa_input_init(&rl.out);
	/* A bucket of two tokens, one more per period. */
	ASSERT_EQ(0, ursa_emit_init(&rl.tokens, ursa_loop_runq(&self->loop), 2,
				    URSA_EMIT_DROPPING));
	rl.start = ursa_loop_now(&self->loop);
	ASSERT_EQ(0, ursa_tick_source_start(&self->loop, &rl.ts, &rl.tokens,
					    RL_PERIOD_NS));
	SPAWN(&self->loop, rl_consumer, &rl);
	SPAWN(&self->loop, rl_producer, &rl);
	ASSERT_TRUE(loop_run_until(
		&self->loop, rl.producer_done && rl.consumer_done, 10000));
	ASSERT_EQ(0, rl.err);
	ASSERT_EQ(RL_ITEMS, rl.ngot);
	for (i = 0; i < RL_ITEMS; i++) {
		ASSERT_EQ(10 + i, rl.got[i]);
		/* Item i needs tick i+1, which never fires early. */
		ASSERT_LE((uint64_t)(i + 1) * RL_PERIOD_NS, rl.at[i]);
		TH_LOG("item-%d emitted at %.1f ms", i + 1, rl.at[i] / 1e6);
	}
	TH_LOG("the producer waited %.1f ms for tokens; %llu ticks, %llu "
	       "dropped by the full bucket",
	       rl.waited_ns / 1e6, (unsigned long long)rl.ts.ticks,
	       (unsigned long long)rl.ts.refused);
	ursa_emit_destroy(&rl.tokens);
}

TEST_HARNESS_MAIN
