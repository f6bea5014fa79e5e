// SPDX-License-Identifier: MIT
/*
 * ursa-http: an HTTP/1.1 static file server on ursa's completion loop.
 *
 * One worker per thread, each with its own loop and its own listening
 * socket on the same port (SO_REUSEPORT). With --steer=bpf (the default)
 * worker i is pinned to the i-th CPU it may run on and a reuseport BPF
 * program (<ursa/steer.h>) hands each new connection to the worker of
 * the CPU that took it; otherwise the kernel's reuseport hash spreads
 * them. The main thread runs worker 0, which also receives the
 * signals through the ring: SIGTERM/SIGINT shut every worker down
 * gracefully, SIGHUP reopens the access log. See docs/http.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <generated/autoconf.h>
#include <ursa/steer.h>

#include "http.h"

#ifndef URSA_HTTP_ROOT
#define URSA_HTTP_ROOT "docs"
#endif

#define NS_PER_SEC 1000000000ull
#define ALOG_BUF (64u * 1024)
#define ALOG_FLUSH (16u * 1024)
#define ALOG_DELAY_NS (200ull * 1000 * 1000)
#define ACCEPT_BACKOFF_NS (50ull * 1000 * 1000)
#define RUNQ_BUDGET 65536u

struct http_cfg cfg;
struct worker *workers;
unsigned long nr_open_conns;

static struct ursa_signal sigwatch;
static pthread_barrier_t ready;
static int start_err;

/* Access log */

static int alog_open(void)
{
	int fd = open(cfg.access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		      0644);

	return fd < 0 ? -errno : fd;
}

static void alog_flush(struct alog *l);

static void alog_written(struct ursa_req *req, const struct ursa_exit *e)
{
	struct alog *l = container_of(req, struct alog, req);

	l->writing = false;
	l->len[l->cur ^ 1] = 0;
	if (l->old_fd >= 0) {
		close(l->old_fd);
		l->old_fd = -1;
	}
	if (l->len[l->cur] && (l->w->stopping || l->len[l->cur] >= ALOG_FLUSH))
		alog_flush(l);
	else if (l->len[l->cur] && !ursa_timer_armed(&l->timer))
		ursa_timer_start(&l->w->loop, &l->timer, ALOG_DELAY_NS, 0);
}

static void alog_flush(struct alog *l)
{
	int b = l->cur;

	if (l->writing || !l->len[b] || l->fd < 0)
		return;
	ursa_timer_cancel(&l->timer);
	l->writing = true;
	l->cur ^= 1;
	if (ursa_write_full(&l->w->loop, &l->req, l->fd, l->buf[b], l->len[b],
			    URSA_OFF_CURRENT)) {
		l->writing = false;
		l->len[b] = 0;
	}
}

static void alog_timer_fn(struct ursa_timer *t)
{
	alog_flush(container_of(t, struct alog, timer));
}

void alog_append(struct worker *w, const char *line, size_t len)
{
	struct alog *l = &w->log;

	if (l->fd < 0)
		return;
	if (l->len[l->cur] + len > ALOG_BUF) {
		alog_flush(l);
		if (l->len[l->cur] + len > ALOG_BUF) {
			STAT_ADD(w, log_dropped, 1);
			return;
		}
	}
	memcpy(l->buf[l->cur] + l->len[l->cur], line, len);
	l->len[l->cur] += (uint32_t)len;
	if (l->len[l->cur] >= ALOG_FLUSH || w->stopping)
		alog_flush(l);
	else if (!ursa_timer_armed(&l->timer))
		ursa_timer_start(&w->loop, &l->timer, ALOG_DELAY_NS, 0);
}

static size_t esc(char *out, size_t size, const char *s, uint32_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	uint32_t i;

	if (len == 0 && size > 1) {
		out[o++] = '-';
		return o;
	}
	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	return o;
}

/* One line of the combined log format, in UTC. */
void log_request(struct conn *c, int status, uint64_t body_len)
{
	struct worker *w = c->w;
	char line[8192], ts[40];
	const char *m = c->rq.url.len ? llhttp_method_name(c->parser.method) :
					"-";
	/* An idle connection has no input buffer, and no spans either. */
	const char *rb = c->rbuf ? c->rbuf : "";
	time_t t = time(NULL);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	n = (size_t)snprintf(line, sizeof(line), "%s - - [%s] \"", c->peer, ts);
	if (c->rq.url.len) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s ", m);
		n += esc(line + n, 2048, rb + c->rq.url.off, c->rq.url.len);
		n += (size_t)snprintf(line + n, sizeof(line) - n, " HTTP/%d.%d",
				      c->parser.http_major,
				      c->parser.http_minor);
	} else {
		line[n++] = '-';
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\" %d ", status);
	if (body_len)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%llu",
				      (unsigned long long)body_len);
	else
		line[n++] = '-';
	memcpy(line + n, " \"", 2);
	n += 2;
	n += esc(line + n, 2048, rb + c->rq.hdr[H_REFERER].off,
		 c->rq.hdr[H_REFERER].len);
	memcpy(line + n, "\" \"", 3);
	n += 3;
	n += esc(line + n, 2048, rb + c->rq.hdr[H_UA].off, c->rq.hdr[H_UA].len);
	memcpy(line + n, "\"\n", 2);
	n += 2;
	alog_append(w, line, n);
}

static void alog_reopen(struct ursa_work *work)
{
	struct worker *w = container_of(work, struct worker, reopen_work);
	struct alog *l = &w->log;
	int fd;

	if (!cfg.access_log || l->fd < 0)
		return;
	fd = alog_open();
	if (fd < 0) {
		fprintf(stderr, HTTP_NAME ": %s: %s (keeping the old log)\n",
			cfg.access_log, strerror(-fd));
		return;
	}
	if (l->writing) {
		if (l->old_fd >= 0)
			close(l->old_fd);
		l->old_fd = l->fd;
	} else {
		close(l->fd);
	}
	l->fd = fd;
}

/* Metrics */

static const char *const op_names[URSA_OP_LAST] = {
	"nop",	      "read",	     "write",	 "readv",    "writev",
	"read_fixed", "write_fixed", "openat",	 "close",    "statx",
	"fsync",      "fallocate",   "unlinkat", "renameat", "accept",
	"connect",    "recv",	     "send",	 "sendmsg",  "send_zc",
	"shutdown",
};

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#define SUM(expr)                                                      \
	({                                                             \
		uint64_t __s = 0;                                      \
		for (unsigned int __i = 0; __i < cfg.threads; __i++) { \
			struct worker *W = &workers[__i];              \
			__s += (expr);                                 \
		}                                                      \
		__s;                                                   \
	})

struct mbuf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
mprintf(struct mbuf *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->len >= m->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(m->p + m->len, m->cap - m->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n;
	if (m->len > m->cap)
		m->len = m->cap;
}

static void metric(struct mbuf *m, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	mprintf(m, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name,
		type, name, (unsigned long long)v);
}

/* The reader's lead over the responder, at most, over all workers. */
static uint64_t ahead_max(void)
{
	uint64_t m = 0;

	for (unsigned int i = 0; i < cfg.threads; i++)
		if (ld(&workers[i].st.ahead_max) > m)
			m = ld(&workers[i].st.ahead_max);
	return m;
}

void metrics_write(struct conn *c, bool head)
{
	char body[32768];
	struct mbuf m = { body, 0, sizeof(body) };
	int s, op;

	mprintf(&m,
		"# HELP ursa_http_requests_total Responses sent, by status code.\n"
		"# TYPE ursa_http_requests_total counter\n");
	for (s = 100; s < HTTP_STATUS_MAX; s++) {
		uint64_t v = SUM(ld(&W->st.status[s]));

		if (v)
			mprintf(&m,
				"ursa_http_requests_total{code=\"%d\"} %llu\n",
				s, (unsigned long long)v);
	}
	metric(&m, "ursa_http_open_connections", "gauge",
	       "Connections open now.",
	       __atomic_load_n(&nr_open_conns, __ATOMIC_RELAXED));
	metric(&m, "ursa_http_accepted_total", "counter",
	       "Connections accepted.", SUM(ld(&W->st.accepted)));
	mprintf(&m,
		"# HELP ursa_http_thread_accepted_total Connections accepted, by loop.\n"
		"# TYPE ursa_http_thread_accepted_total counter\n");
	for (unsigned int i = 0; i < cfg.threads; i++)
		mprintf(&m,
			"ursa_http_thread_accepted_total{thread=\"%u\",cpu=\"%d\"} %llu\n",
			i, workers[i].cpu,
			(unsigned long long)ld(&workers[i].st.accepted));
	metric(&m, "ursa_http_steering_bpf", "gauge",
	       "1 if a BPF program steers connections to the loop of their CPU.",
	       cfg.steering);
	metric(&m, "ursa_http_rejected_total", "counter",
	       "Connections refused over --max-conns.",
	       SUM(ld(&W->st.rejected)));
	metric(&m, "ursa_http_received_bytes_total", "counter",
	       "Bytes received from clients.", SUM(ld(&W->st.bytes_in)));
	metric(&m, "ursa_http_sent_bytes_total", "counter",
	       "Bytes sent to clients.", SUM(ld(&W->st.bytes_out)));
	metric(&m, "ursa_http_header_timeouts_total", "counter",
	       "Requests answered 408.", SUM(ld(&W->st.timeouts)));
	metric(&m, "ursa_http_continues_total", "counter",
	       "100 Continue responses sent.", SUM(ld(&W->st.continues)));
	metric(&m, "ursa_http_pipeline_ahead_max", "gauge",
	       "Most requests one connection had parsed and not yet answered.",
	       ahead_max());
	metric(&m, "ursa_http_accept_backoffs_total", "counter",
	       "Accept pauses after EMFILE and similar errors.",
	       SUM(ld(&W->st.accept_backoffs)));
	metric(&m, "ursa_http_access_log_dropped_total", "counter",
	       "Access log lines dropped while the log was busy.",
	       SUM(ld(&W->st.log_dropped)));
	metric(&m, "ursa_loop_turns_total", "counter", "Loop turns.",
	       SUM(ursa_loop_stats(&W->loop)->turns));
	metric(&m, "ursa_loop_enters_total", "counter",
	       "io_uring_enter calls by the loops.",
	       SUM(ursa_loop_stats(&W->loop)->enters));
	metric(&m, "ursa_loop_cq_overflows_total", "counter",
	       "Completion queue overflows.",
	       SUM(ursa_loop_stats(&W->loop)->cq_overflows));
	metric(&m, "ursa_loop_enobufs_total", "counter",
	       "Multishot receives that ran out of buffers.",
	       SUM(ursa_loop_stats(&W->loop)->enobufs));
	metric(&m, "ursa_loop_sq_full_total", "counter",
	       "Times the submission queue was full.",
	       SUM(ursa_loop_stats(&W->loop)->sq_full));
	metric(&m, "ursa_loop_cancels_total", "counter",
	       "Requests completed as cancelled.",
	       SUM(ursa_loop_stats(&W->loop)->cancels));
	metric(&m, "ursa_loop_link_timeouts_total", "counter",
	       "Link timeouts that fired.",
	       SUM(ursa_loop_stats(&W->loop)->timeouts));
	metric(&m, "ursa_loop_timers_fired_total", "counter",
	       "User-space timer expiries.",
	       SUM(ursa_loop_stats(&W->loop)->timers_fired));
	mprintf(&m, "# HELP ursa_loop_submitted_total SQEs submitted, by op.\n"
		    "# TYPE ursa_loop_submitted_total counter\n");
	for (op = 0; op < URSA_OP_LAST; op++) {
		uint64_t v = SUM(ursa_loop_stats(&W->loop)->submitted[op]);

		if (v)
			mprintf(&m,
				"ursa_loop_submitted_total{op=\"%s\"} %llu\n",
				op_names[op], (unsigned long long)v);
	}
	mprintf(&m, "# HELP ursa_loop_errors_total CQEs with an error, by op.\n"
		    "# TYPE ursa_loop_errors_total counter\n");
	for (op = 0; op < URSA_OP_LAST; op++) {
		uint64_t v = SUM(ursa_loop_stats(&W->loop)->errors[op]);

		if (v)
			mprintf(&m, "ursa_loop_errors_total{op=\"%s\"} %llu\n",
				op_names[op], (unsigned long long)v);
	}
	resp_simple(c, 200, "text/plain; version=0.0.4", body, (uint32_t)m.len,
		    head, false);
}

/* Workers */

static int accept_start(struct worker *w);

static void accept_timer_fn(struct ursa_timer *t)
{
	struct worker *w = container_of(t, struct worker, accept_timer);

	if (!w->stopping && accept_start(w)) {
		STAT_ADD(w, accept_backoffs, 1);
		ursa_timer_start(&w->loop, t, ACCEPT_BACKOFF_NS, 0);
	}
}

static void on_accept(struct ursa_req *req, const struct ursa_exit *e)
{
	struct worker *w = container_of(req, struct worker, accept_req);

	if (e->kind == URSA_EXIT_SUCCESS) {
		conn_accepted(w, (int)e->val);
		return;
	}
	if (w->stopping || e->kind == URSA_EXIT_INTERRUPT) {
		if (w->lfd >= 0)
			close(w->lfd);
		w->lfd = -1;
		return;
	}
	/*
	 * EMFILE, ENFILE, ENOBUFS, ENOMEM or a connection aborted: the
	 * multishot ended. Back off instead of spinning on the error; the
	 * kernel keeps the waiting connections in the backlog.
	 */
	STAT_ADD(w, accept_backoffs, 1);
	ursa_timer_start(&w->loop, &w->accept_timer,
			 e->err == -ECONNABORTED ? 0 : ACCEPT_BACKOFF_NS, 0);
}

static int accept_start(struct worker *w)
{
	return ursa_accept_multishot(&w->loop, &w->accept_req, w->lfd, 0);
}

static void shutdown_timer_fn(struct ursa_timer *t)
{
	struct worker *w = container_of(t, struct worker, shutdown_timer);
	struct conn *c, *n;

	ursa_list_for_each_entry_safe(c, n, &w->conns, node)
		conn_shutdown(c, true);
}

static void worker_stop(struct ursa_work *work)
{
	struct worker *w = container_of(work, struct worker, stop_work);
	struct conn *c, *n;

	if (w->stopping)
		return;
	w->stopping = true;
	if (ursa_req_busy(&w->accept_req)) {
		ursa_cancel(&w->loop, &w->accept_req);
	} else if (w->lfd >= 0) {
		ursa_timer_cancel(&w->accept_timer);
		close(w->lfd);
		w->lfd = -1;
	}
	ursa_list_for_each_entry_safe(c, n, &w->conns, node)
		conn_shutdown(c, false);
	if (w->nr_conns)
		ursa_timer_start(&w->loop, &w->shutdown_timer,
				 cfg.shutdown_timeout_ns, 0);
	alog_flush(&w->log);
}

static void on_signal(struct ursa_signal *s, int signo)
{
	unsigned int i;

	if (signo == SIGHUP) {
		for (i = 0; i < cfg.threads; i++)
			ursa_loop_post(&workers[i].loop,
				       &workers[i].reopen_work);
		return;
	}
	ursa_signal_stop(s);
	for (i = 0; i < cfg.threads; i++)
		ursa_loop_post(&workers[i].loop, &workers[i].stop_work);
}

static int worker_init(struct worker *w)
{
	struct ursa_loop_params p = {
		.sq_entries = 1024,
		.flags = cfg.sqpoll ? URSA_LOOP_SQPOLL : 0,
		/*
		 * A turn reaps up to a CQ's worth of completions (2048) and
		 * each received batch of requests is handed from reader to
		 * responder through the run queue, two short callbacks per
		 * request. Let the turn finish them: with the default
		 * budget a burst leaves thousands of connections holding
		 * their buffers from one turn to the next.
		 */
		.runq_budget = RUNQ_BUDGET,
	};
	int ret;

	ret = ursa_loop_init(&w->loop, &p);
	if (ret) {
		fprintf(stderr, HTTP_NAME ": %s\n", ursa_loop_strerror(ret));
		return ret;
	}
	w->loop_ready = true;
	w->bufs.size = BUF_SIZE;
	w->bufs.max = 128;
	w->big.size = BIG_SIZE;
	w->big.max = 64;
	w->fbufs.size = FBUF_SIZE;
	w->fbufs.max = 16;
	w->xchs.size = sizeof(struct xch);
	w->xchs.max = 128;
	/*
	 * Idle connections receive into a ring shared by the worker, so that
	 * they hold no buffer while they wait. Without rings (before 5.19)
	 * each waits with a buffer of its own.
	 */
	if (!ursa_buf_ring_init(&w->loop, &w->br, 0, RING_BUFS, BUF_SIZE))
		w->br_ready = true;
	ursa_list_init(&w->conns);
	ursa_req_init(&w->accept_req, on_accept);
	ursa_timer_init(&w->accept_timer, accept_timer_fn);
	ursa_timer_init(&w->shutdown_timer, shutdown_timer_fn);
	ursa_work_init(&w->stop_work, worker_stop);
	ursa_work_init(&w->reopen_work, alog_reopen);
	w->log.fd = -1;
	w->log.old_fd = -1;
	w->log.w = w;
	ursa_req_init(&w->log.req, alog_written);
	ursa_timer_init(&w->log.timer, alog_timer_fn);
	if (cfg.access_log) {
		w->log.buf[0] = malloc(ALOG_BUF);
		w->log.buf[1] = malloc(ALOG_BUF);
		if (!w->log.buf[0] || !w->log.buf[1])
			return -ENOMEM;
		ret = alog_open();
		if (ret < 0) {
			fprintf(stderr, HTTP_NAME ": %s: %s\n", cfg.access_log,
				strerror(-ret));
			return ret;
		}
		w->log.fd = ret;
	}
	ret = accept_start(w);
	if (ret)
		fprintf(stderr, HTTP_NAME ": accept: %s\n", strerror(-ret));
	return ret;
}

static void worker_exit(struct worker *w)
{
	if (w->br_ready)
		ursa_buf_ring_exit(&w->br);
	pool_drain(&w->bufs);
	pool_drain(&w->big);
	pool_drain(&w->fbufs);
	pool_drain(&w->xchs);
	if (w->loop_ready)
		ursa_loop_exit(&w->loop);
	if (w->lfd >= 0)
		close(w->lfd);
	if (w->log.fd >= 0)
		close(w->log.fd);
	if (w->log.old_fd >= 0)
		close(w->log.old_fd);
	free(w->log.buf[0]);
	free(w->log.buf[1]);
}

/* With steering, a worker runs on the CPU whose connections it takes. */
static void worker_pin(struct worker *w)
{
	cpu_set_t set;

	if (w->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	int ret;

	worker_pin(w);
	ret = worker_init(w);

	if (ret)
		__atomic_store_n(&start_err, ret, __ATOMIC_RELAXED);
	pthread_barrier_wait(&ready);
	if (!__atomic_load_n(&start_err, __ATOMIC_RELAXED))
		ursa_loop_run(&w->loop);
	return NULL;
}

/* Command line */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " HTTP_NAME " [OPTION]...\n"
		"Serve static files and a few built-in routes over HTTP/1.1.\n"
		"\n"
		"  --listen ADDR:PORT        address to listen on (default 127.0.0.1:%d;\n"
		"                            [::1]:PORT for IPv6, PORT 0 for any free port)\n"
		"  --root DIR                folder to serve (default %s)\n"
		"  --threads N               loops, one per thread (default: one per CPU)\n"
		"  --max-conns N             open connections at most (default %d)\n"
		"  --header-timeout SEC      time to send a request's head (default %d)\n"
		"  --keepalive-timeout SEC   idle time between requests (default %d)\n"
		"  --max-header-bytes N      request line and headers at most (default %d)\n"
		"  --max-body-bytes N        request body at most (default %d)\n"
		"  --access-log FILE         combined log format; SIGHUP reopens it\n"
		"  --sqpoll                  kernel thread polls the submission queue\n"
		"  --steer=bpf|reuseport     hand each connection to the loop of the\n"
		"                            CPU it arrived on (bpf, the default, pins\n"
		"                            the threads), or leave it to the kernel's\n"
		"                            reuseport hash\n"
		"  --help                    this help\n"
		"  --version                 print the version\n"
		"\n"
		"Routes: /plaintext, /healthz, /metrics (Prometheus), POST /discard;\n"
		"anything else is a file under the root. SIGTERM or SIGINT stops it\n"
		"gracefully.\n",
		CONFIG_URSA_HTTP_PORT, URSA_HTTP_ROOT,
		CONFIG_URSA_HTTP_MAX_CONNS, CONFIG_URSA_HTTP_HEADER_TIMEOUT,
		CONFIG_URSA_HTTP_KEEPALIVE_TIMEOUT,
		CONFIG_URSA_HTTP_MAX_HEADER_BYTES,
		CONFIG_URSA_HTTP_MAX_BODY_BYTES);
}

static int bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, HTTP_NAME ": %s%s%s: %s (try --help)\n", opt,
		arg ? " " : "", arg ? arg : "", why);
	return 2;
}

static bool num(const char *s, unsigned long long lo, unsigned long long hi,
		unsigned long long *v)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end && *v >= lo && *v <= hi;
}

static bool secs(const char *s, uint64_t *ns)
{
	char *end;
	double d;

	if (!s || !*s)
		return false;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !isfinite(d) || d < 0.001 || d > 86400)
		return false;
	*ns = (uint64_t)(d * 1e9);
	return true;
}

enum {
	OPT_LISTEN = 256,
	OPT_ROOT,
	OPT_THREADS,
	OPT_MAX_CONNS,
	OPT_HEADER_TIMEOUT,
	OPT_KEEPALIVE_TIMEOUT,
	OPT_MAX_HEADER,
	OPT_MAX_BODY,
	OPT_ACCESS_LOG,
	OPT_SQPOLL,
	OPT_STEER,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE_TIMEOUT },
	{ "max-header-bytes", required_argument, NULL, OPT_MAX_HEADER },
	{ "max-body-bytes", required_argument, NULL, OPT_MAX_BODY },
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "sqpoll", no_argument, NULL, OPT_SQPOLL },
	{ "steer", required_argument, NULL, OPT_STEER },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv)
{
	static char def_listen[32];
	unsigned long long v;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int opt;

	snprintf(def_listen, sizeof(def_listen), "127.0.0.1:%d",
		 CONFIG_URSA_HTTP_PORT);
	cfg.listen = def_listen;
	cfg.root = URSA_HTTP_ROOT;
	cfg.threads = cpus > 0 ? (unsigned int)cpus : 1;
	cfg.steer = true;
	cfg.max_conns = CONFIG_URSA_HTTP_MAX_CONNS;
	cfg.header_timeout_ns = CONFIG_URSA_HTTP_HEADER_TIMEOUT * NS_PER_SEC;
	cfg.keepalive_timeout_ns =
		CONFIG_URSA_HTTP_KEEPALIVE_TIMEOUT * NS_PER_SEC;
	cfg.max_header_bytes = CONFIG_URSA_HTTP_MAX_HEADER_BYTES;
	cfg.max_body_bytes = CONFIG_URSA_HTTP_MAX_BODY_BYTES;
	cfg.send_limit = CONFIG_URSA_HTTP_SEND_LIMIT;
	cfg.shutdown_timeout_ns =
		CONFIG_URSA_HTTP_SHUTDOWN_TIMEOUT * NS_PER_SEC;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *name = argv[optind - 1];

		switch (opt) {
		case OPT_LISTEN:
			cfg.listen = optarg;
			if (ursa_parse_addr(optarg, &cfg.addr, &cfg.addrlen))
				return bad("--listen", optarg,
					   "not a numeric ADDR:PORT");
			break;
		case OPT_ROOT:
			cfg.root = optarg;
			break;
		case OPT_THREADS:
			if (!num(optarg, 1, 1024, &v))
				return bad("--threads", optarg,
					   "not a number from 1 to 1024");
			cfg.threads = (unsigned int)v;
			break;
		case OPT_MAX_CONNS:
			if (!num(optarg, 1, 10000000, &v))
				return bad("--max-conns", optarg,
					   "not a number from 1 to 10000000");
			cfg.max_conns = (unsigned int)v;
			break;
		case OPT_HEADER_TIMEOUT:
			if (!secs(optarg, &cfg.header_timeout_ns))
				return bad("--header-timeout", optarg,
					   "not seconds from 0.001 to 86400");
			break;
		case OPT_KEEPALIVE_TIMEOUT:
			if (!secs(optarg, &cfg.keepalive_timeout_ns))
				return bad("--keepalive-timeout", optarg,
					   "not seconds from 0.001 to 86400");
			break;
		case OPT_MAX_HEADER:
			if (!num(optarg, 256, 1 << 20, &v))
				return bad("--max-header-bytes", optarg,
					   "not a number from 256 to 1048576");
			cfg.max_header_bytes = (uint32_t)v;
			break;
		case OPT_MAX_BODY:
			if (!num(optarg, 0, 1ull << 40, &v))
				return bad("--max-body-bytes", optarg,
					   "not a number from 0 to 2^40");
			cfg.max_body_bytes = v;
			break;
		case OPT_ACCESS_LOG:
			cfg.access_log = optarg;
			break;
		case OPT_SQPOLL:
			cfg.sqpoll = true;
			break;
		case OPT_STEER:
			if (!strcmp(optarg, "bpf"))
				cfg.steer = true;
			else if (!strcmp(optarg, "reuseport"))
				cfg.steer = false;
			else
				return bad("--steer", optarg,
					   "not bpf or reuseport");
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf(HTTP_NAME " %s (llhttp %d.%d.%d)\n",
			       URSA_VERSION_STRING, LLHTTP_VERSION_MAJOR,
			       LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
			exit(0);
		case ':':
			return bad(name, NULL, "needs a value");
		default:
			return bad(name, NULL, "unknown option");
		}
	}
	if (optind < argc)
		return bad(argv[optind], NULL, "unexpected argument");
	if (cfg.listen == def_listen &&
	    ursa_parse_addr(cfg.listen, &cfg.addr, &cfg.addrlen))
		return bad("--listen", cfg.listen, "bad default");
	return 0;
}

static void print_url(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int port;

	getsockname(workers[0].lfd, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		printf(HTTP_NAME
		       ": serving %s at http://[%s]:%d/ (%u threads)\n",
		       cfg.root, host, port, cfg.threads);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		printf(HTTP_NAME ": serving %s at http://%s:%d/ (%u threads)\n",
		       cfg.root, host, port, cfg.threads);
	}
	fflush(stdout);
}

static void steer_unavailable(const char *why)
{
	fprintf(stderr,
		HTTP_NAME ": BPF steering unavailable (%s); using plain "
			  "SO_REUSEPORT\n",
		why);
}

/*
 * Give worker i the i-th CPU this process may run on, if there are enough
 * of them, and load the steering program. Returns the group, or %NULL
 * (having said why once) when the workers go unpinned on plain reuseport.
 */
static struct ursa_steer *steer_setup(void)
{
	struct ursa_steer *steer = NULL;
	unsigned int i = 0;
	cpu_set_t set;
	int cpu, ret;

	if (!cfg.steer || cfg.threads < 2)
		return NULL;
	if (sched_getaffinity(0, sizeof(set), &set)) {
		steer_unavailable(strerror(errno));
		return NULL;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && i < cfg.threads; cpu++)
		if (CPU_ISSET(cpu, &set))
			workers[i++].cpu = cpu;
	if (i < cfg.threads) {
		steer_unavailable("more threads than CPUs to pin them to");
		goto unpin;
	}
	ret = ursa_steer_open(0, &steer);
	if (ret) {
		steer_unavailable(ursa_steer_strerror(ret));
		goto unpin;
	}
	return steer;
unpin:
	for (i = 0; i < cfg.threads; i++)
		workers[i].cpu = -1;
	return NULL;
}

/* Adding a listener failed: back to plain reuseport, unpinned. */
static struct ursa_steer *steer_drop(struct ursa_steer *steer, int err)
{
	unsigned int i;
	int one = 1;

	steer_unavailable(ursa_steer_strerror(err));
	ursa_steer_close(steer);
	/* The first add attached the program to the group: take it off. */
	if (workers[0].lfd >= 0)
		setsockopt(workers[0].lfd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF,
			   &one, sizeof(one));
	for (i = 0; i < cfg.threads; i++)
		workers[i].cpu = -1;
	return NULL;
}

static int listen_all(void)
{
	unsigned int flags = cfg.threads > 1 ? URSA_LISTEN_REUSEPORT : 0;
	struct ursa_steer *steer = steer_setup();
	unsigned int i;
	int ret;

	for (i = 0; i < cfg.threads; i++) {
		int fd = ursa_listen((struct sockaddr *)&cfg.addr, cfg.addrlen,
				     4096, flags);

		if (fd < 0) {
			fprintf(stderr, HTTP_NAME ": %s: %s\n", cfg.listen,
				strerror(-fd));
			ursa_steer_close(steer);
			return 1;
		}
		workers[i].lfd = fd;
		if (steer) {
			ret = ursa_steer_add(steer,
					     (unsigned int)workers[i].cpu, fd);
			if (ret)
				steer = steer_drop(steer, ret);
		}
		if (i == 0) {
			/* Port 0: the others bind the port the kernel chose. */
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);

			getsockname(fd, (struct sockaddr *)&ss, &len);
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&cfg.addr)->sin_port =
					((struct sockaddr_in *)&ss)->sin_port;
			else
				((struct sockaddr_in6 *)&cfg.addr)->sin6_port =
					((struct sockaddr_in6 *)&ss)->sin6_port;
		}
	}
	/* The program stays attached to the group. */
	cfg.steering = steer != NULL;
	ursa_steer_close(steer);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int i;
	sigset_t set;
	int ret;

	ret = parse_args(argc, argv);
	if (ret)
		return ret;
	cfg.rootfd = open(cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg.rootfd < 0) {
		fprintf(stderr, HTTP_NAME ": --root %s: %s\n", cfg.root,
			strerror(errno));
		return 1;
	}
	/*
	 * Where the root really is, for kernels without openat2(); the
	 * tests set URSA_HTTP_NO_OPENAT2 to use that way on any kernel.
	 */
	cfg.no_openat2 = getenv("URSA_HTTP_NO_OPENAT2") != NULL;
	cfg.root_real = realpath(cfg.root, NULL);
	if (!cfg.root_real) {
		fprintf(stderr, HTTP_NAME ": --root %s: %s\n", cfg.root,
			strerror(errno));
		close(cfg.rootfd);
		return 1;
	}
	workers = calloc(cfg.threads, sizeof(*workers));
	if (!workers) {
		fprintf(stderr, HTTP_NAME ": out of memory\n");
		return 1;
	}
	for (i = 0; i < cfg.threads; i++) {
		workers[i].id = i;
		workers[i].cpu = -1;
		workers[i].lfd = -1;
		workers[i].log.fd = -1;
		workers[i].log.old_fd = -1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Every thread inherits the mask: the signals come only as CQEs. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (listen_all()) {
		ret = 1;
		goto out;
	}
	pthread_barrier_init(&ready, NULL, cfg.threads);
	ret = worker_init(&workers[0]);
	if (!ret)
		ret = ursa_signal_start(&workers[0].loop, &sigwatch, &set,
					on_signal);
	if (ret)
		__atomic_store_n(&start_err, ret, __ATOMIC_RELAXED);
	for (i = 1; i < cfg.threads; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_thread,
				   &workers[i])) {
			fprintf(stderr, HTTP_NAME ": cannot start a thread\n");
			exit(1);
		}
	}
	worker_pin(&workers[0]);
	pthread_barrier_wait(&ready);
	if (!__atomic_load_n(&start_err, __ATOMIC_RELAXED)) {
		print_url();
		ursa_loop_run(&workers[0].loop);
	}
	for (i = 1; i < cfg.threads; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_barrier_destroy(&ready);
	ret = __atomic_load_n(&start_err, __ATOMIC_RELAXED) ? 1 : 0;
out:
	for (i = 0; i < cfg.threads; i++)
		worker_exit(&workers[i]);
	free(workers);
	close(cfg.rootfd);
	free(cfg.root_real);
	if (!ret)
		printf(HTTP_NAME ": stopped\n");
	return ret;
}
