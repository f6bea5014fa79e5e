// SPDX-License-Identifier: MIT
/*
 * ursa-http: one connection, driven by completions.
 *
 * A connection has at most one socket or file operation in flight (its
 * &struct ursa_req) and one timer. Its reader parses what was received
 * and emits each request into the connection's input (&struct ursa_input,
 * a buffer of one); its responder takes them one at a time and appends
 * each answer to the output buffer (see "The reader and the responder"
 * below). When neither can go on without I/O, conn_run() decides:
 *
 *   1. read the next chunk of a file body being streamed;
 *   2. send the output, and the file chunk with it, in one gathered send;
 *   3. otherwise receive more (after a 100 Continue if the reader waits
 *      for a body that the client holds back).
 *
 * So the responses of pipelined requests go out together, in order; the
 * reader is at most one request ahead of the responder; and nothing more
 * is received while output is pending: a client that does not read holds
 * at most the send limit plus one response of memory.
 *
 * Memory: an idle connection holds no buffer. Between requests it waits
 * in a recv that takes a buffer from the worker's ring (ursa_recv_select())
 * only when bytes arrive; they are copied into an input buffer from the
 * worker's pool and the ring buffer goes straight back. The input buffer
 * returns to the pool once everything received has been parsed and
 * answered, the output buffer once the response is sent, the file buffer
 * once the file is, the hand-off (&struct xch) once nothing is in flight.
 * Only a request that arrives in pieces keeps its input buffer while it
 * waits, and then receives straight into it.
 *
 * The timer enforces one deadline at a time: the header timeout from the
 * first byte of a request (408), the keep-alive timeout when idle, the
 * same timeout for a send that makes no progress, and a short linger
 * after an error response (so the client reads it instead of a reset).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#define LINGER_NS (2ull * 1000000000ull)
#define RECHECK_NS (1000ull * 1000ull)
#define OMIT UINT64_MAX

static inline struct conn *p2c(llhttp_t *p)
{
	return container_of(p, struct conn, parser);
}

static inline uint32_t off_of(struct conn *c, const char *at)
{
	return (uint32_t)(at - c->rbuf);
}

static void span_add(struct conn *c, struct span *s, const char *at, size_t len)
{
	uint32_t off = off_of(c, at);

	if (s->len == 0)
		s->off = off;
	s->len = off + (uint32_t)len - s->off;
	if (off + len > c->keep_end)
		c->keep_end = off + (uint32_t)len;
}

static inline bool over_limit(struct conn *c, const struct span *s)
{
	return s->off + s->len - c->msg_start > cfg.max_header_bytes;
}

static void conn_deadline(struct conn *c, uint64_t d)
{
	c->deadline = d;
	if (ursa_timer_armed(&c->timer)) {
		if (c->timer.expires <= d)
			return;
		ursa_timer_cancel(&c->timer);
	}
	ursa_timer_start_abs(&c->w->loop, &c->timer, d, 0);
}

static uint64_t now(struct conn *c)
{
	return ursa_loop_now(&c->w->loop);
}

/* llhttp callbacks */

static int on_message_begin(llhttp_t *p)
{
	struct conn *c = p2c(p);

	c->in_msg = true;
	c->hdr_done = false;
	c->url_done = false;
	c->expect_100 = false;
	c->expect = 0;
	c->msg_start = c->exec_base;
	c->keep_end = c->exec_base;
	c->err_status = 0;
	memset(&c->rq, 0, sizeof(c->rq));
	c->field = (struct span){ 0, 0 };
	c->value = (struct span){ 0, 0 };
	c->cur_hdr = H_NONE;
	c->msg_deadline = now(c) + cfg.header_timeout_ns;
	conn_deadline(c, c->msg_deadline);
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p2c(p);

	span_add(c, &c->rq.url, at, len);
	if (over_limit(c, &c->rq.url)) {
		c->err_status = 414;
		return HPE_USER;
	}
	return 0;
}

static int on_url_complete(llhttp_t *p)
{
	p2c(p)->url_done = true;
	return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p2c(p);

	span_add(c, &c->field, at, len);
	if (over_limit(c, &c->field)) {
		c->err_status = 431;
		return HPE_USER;
	}
	return 0;
}

/* The headers the server reads; their names differ in length. */
static int hdr_lookup(const char *f, uint32_t len)
{
	static const struct {
		const char *name;
		int id;
	} by_len[] = {
		[5] = { "range", H_RANGE },
		[6] = { "expect", H_EXPECT },
		[7] = { "referer", H_REFERER },
		[10] = { "user-agent", H_UA },
		[13] = { "if-none-match", H_INM },
		[17] = { "if-modified-since", H_IMS },
	};

	if (len >= sizeof(by_len) / sizeof(by_len[0]) || !by_len[len].name ||
	    strncasecmp(f, by_len[len].name, len))
		return H_NONE;
	return by_len[len].id;
}

/* RFC 9110 token characters: ALPHA, DIGIT and !#$%&'*+-.^_`|~ */
#define TCHAR_RANGE(a, b) [a... b] = 1
static const uint8_t tchar[256] = {
	TCHAR_RANGE('a', 'z'),
	TCHAR_RANGE('A', 'Z'),
	TCHAR_RANGE('0', '9'),
	['!'] = 1,
	['#'] = 1,
	['$'] = 1,
	['%'] = 1,
	['&'] = 1,
	['\''] = 1,
	['*'] = 1,
	['+'] = 1,
	['-'] = 1,
	['.'] = 1,
	['^'] = 1,
	['_'] = 1,
	['`'] = 1,
	['|'] = 1,
	['~'] = 1,
};

static int on_header_field_complete(llhttp_t *p)
{
	struct conn *c = p2c(p);
	const char *f = c->rbuf + c->field.off;
	size_t i;

	c->cur_hdr = H_NONE;
	/* llhttp lets an empty name or a space in one through. */
	if (c->field.len == 0)
		goto bad;
	for (i = 0; i < c->field.len; i++)
		if (!tchar[(uint8_t)f[i]])
			goto bad;
	c->cur_hdr = hdr_lookup(f, c->field.len);
	c->field = (struct span){ 0, 0 };
	c->value = (struct span){ 0, 0 };
	return 0;
bad:
	c->err_status = 400;
	return HPE_USER;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p2c(p);

	span_add(c, &c->value, at, len);
	if (over_limit(c, &c->value)) {
		c->err_status = 431;
		return HPE_USER;
	}
	return 0;
}

#define EXPECT_CONTINUE 1u
#define EXPECT_OTHER 2u

/* RFC 9110 10.1.1: "100-continue", case-insensitive; anything else. */
static void expect_value(struct conn *c, const struct span *v)
{
	const char *s = c->rbuf + v->off;
	uint32_t n = v->len;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	if (n == 12 && !strncasecmp(s, "100-continue", 12))
		c->expect |= EXPECT_CONTINUE;
	else
		c->expect |= EXPECT_OTHER;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct conn *c = p2c(p);

	if (c->cur_hdr == H_EXPECT)
		expect_value(c, &c->value);
	if (c->cur_hdr != H_NONE)
		c->rq.hdr[c->cur_hdr] = c->value;
	c->cur_hdr = H_NONE;
	c->value = (struct span){ 0, 0 };
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct conn *c = p2c(p);
	bool body = (p->flags & F_CHUNKED) ||
		    ((p->flags & F_CONTENT_LENGTH) && p->content_length);

	c->hdr_done = true;
	c->rq.keep_alive = llhttp_should_keep_alive(p);
	if ((p->flags & F_CONTENT_LENGTH) &&
	    p->content_length > cfg.max_body_bytes) {
		/* Refused before reading it: no 100 Continue either. */
		c->err_status = 413;
		return -1;
	}
	/* An HTTP/1.0 client cannot have meant an expectation: ignore it. */
	if (!c->expect || p->http_major != 1 || p->http_minor == 0)
		return 0;
	if (c->expect & EXPECT_OTHER) {
		c->err_status = 417;
		return -1;
	}
	/* Until body bytes arrive: conn_run() sends 100 before a recv. */
	c->expect_100 = body;
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p2c(p);

	c->expect_100 = false;
	c->rq.body_bytes += len;
	if (c->rq.body_bytes > cfg.max_body_bytes) {
		c->err_status = 413;
		return HPE_USER;
	}
	return 0;
}

static int on_chunk_header(llhttp_t *p)
{
	p2c(p)->expect_100 = false;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	/* One request at a time: reader_run() emits it, then resumes. */
	p2c(p)->expect_100 = false;
	return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_url_complete = on_url_complete,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

/* Buffers */

void *pool_malloc(struct pool *p)
{
	p->mallocs++;
	return malloc(p->size);
}

void pool_drain(struct pool *p)
{
	while (p->free) {
		void *buf = p->free;

		p->free = *(void **)buf;
		free(buf);
	}
	p->nr = 0;
}

/* Buffers of BUF_SIZE and BIG_SIZE bytes are pooled, others malloc'd. */
static struct pool *pool_of(struct worker *w, uint32_t cap)
{
	if (cap == BUF_SIZE)
		return &w->bufs;
	if (cap == BIG_SIZE)
		return &w->big;
	return NULL;
}

static inline void buf_put(struct worker *w, char **bufp, uint32_t *capp)
{
	struct pool *p = pool_of(w, *capp);

	if (p)
		pool_put(p, *bufp);
	else
		free(*bufp);
	*bufp = NULL;
	*capp = 0;
}

/* A small buffer for an empty *@bufp: the common case of buf_grow(). */
static inline int buf_get(struct worker *w, char **bufp, uint32_t *capp)
{
	char *p = pool_get(&w->bufs);

	if (!p)
		return -ENOMEM;
	*bufp = p;
	*capp = BUF_SIZE;
	return 0;
}

/*
 * Grow *@bufp, which holds @used bytes, to at least @cap bytes: to a
 * pooled size while one fits, to exactly @cap past that.
 */
static int buf_grow(struct worker *w, char **bufp, uint32_t *capp, uint32_t cap,
		    uint32_t used)
{
	struct pool *pool;
	char *p;

	if (cap <= BUF_SIZE)
		cap = BUF_SIZE;
	else if (cap <= BIG_SIZE)
		cap = BIG_SIZE;
	pool = pool_of(w, cap);
	if (!pool && *bufp && !pool_of(w, *capp)) {
		p = realloc(*bufp, cap);
	} else {
		p = pool ? pool_get(pool) : malloc(cap);
		if (p && *bufp) {
			memcpy(p, *bufp, used);
			buf_put(w, bufp, capp);
		}
	}
	if (!p)
		return -ENOMEM;
	*bufp = p;
	*capp = cap;
	return 0;
}

/* Output */

int out_grow(struct conn *c, uint32_t n)
{
	uint32_t cap = c->ocap ? c->ocap : BUF_SIZE;

	if (!c->obuf && n <= BUF_SIZE) {
		if (!buf_get(c->w, &c->obuf, &c->ocap))
			return 0;
		c->dead = true;
		return -ENOMEM;
	}

	while (cap < c->olen + n)
		cap *= 2;
	if (buf_grow(c->w, &c->obuf, &c->ocap, cap, c->olen)) {
		c->dead = true;
		return -ENOMEM;
	}
	return 0;
}

#define out_lit(c, s) out_put(c, s, sizeof(s) - 1)

static inline char *put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define put_lit(p, s) put(p, s, sizeof(s) - 1)

static char *put_u64(char *p, uint64_t v)
{
	char buf[20];
	int i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put(p, buf + i, sizeof(buf) - (size_t)i);
}

/* The status codes the server answers with, and their reason phrases. */
#define HTTP_STATUSES(X)                          \
	X(100, "Continue")                        \
	X(200, "OK")                              \
	X(206, "Partial Content")                 \
	X(301, "Moved Permanently")               \
	X(304, "Not Modified")                    \
	X(400, "Bad Request")                     \
	X(403, "Forbidden")                       \
	X(404, "Not Found")                       \
	X(405, "Method Not Allowed")              \
	X(408, "Request Timeout")                 \
	X(413, "Content Too Large")               \
	X(414, "URI Too Long")                    \
	X(416, "Range Not Satisfiable")           \
	X(417, "Expectation Failed")              \
	X(431, "Request Header Fields Too Large") \
	X(500, "Internal Server Error")           \
	X(501, "Not Implemented")                 \
	X(503, "Service Unavailable")             \
	X(505, "HTTP Version Not Supported")

const char *status_text(int status)
{
#define X(code, text) \
	case code:    \
		return text;
	switch (status) {
		HTTP_STATUSES(X)
	default:
		return "Unknown";
	}
#undef X
}

/* "HTTP/1.1 200 OK": one copy of a constant for the known codes. */
static char *put_status(char *p, int status)
{
#define X(code, text) \
	case code:    \
		return put_lit(p, "HTTP/1.1 " #code " " text);
	switch (status) {
		HTTP_STATUSES(X)
	default:
		p = put_lit(p, "HTTP/1.1 ");
		p = put_u64(p, (uint64_t)status);
		return put_lit(p, " Unknown");
	}
#undef X
}

/* Refresh the worker's Date once a second, and its header with it. */
static void date_refresh(struct worker *w)
{
	time_t t = time(NULL);
	char *p;

	if (t == w->date_sec)
		return;
	fmt_http_date(w->date, sizeof(w->date), t);
	w->date_sec = t;
	p = put_lit(w->date_hdr, "\r\nServer: " HTTP_NAME "\r\nDate: ");
	p = put(p, w->date, strlen(w->date));
	w->date_hdr_len = (uint32_t)(p - w->date_hdr);
}

const char *http_date(struct worker *w)
{
	date_refresh(w);
	return w->date;
}

/* The most resp_head_n() writes, besides the Content-Type. */
#define HEAD_MAX 256u

/*
 * resp_head_n() - Start a response: the status line and the common
 * headers, not the blank line that ends them. @ctype (@tlen bytes) may
 * be %NULL; @clen OMIT leaves out Content-Length (304). @close ends the
 * connection after it. resp_head() gives @tlen itself.
 */
void resp_head_n(struct conn *c, int status, const char *ctype, uint32_t tlen,
		 uint64_t clen, bool close)
{
	struct worker *w = c->w;
	char *p;

	if (!c->rq.keep_alive || w->stopping)
		close = true;
	if (out_reserve(c, HEAD_MAX + tlen))
		return;
	date_refresh(w);
	p = put_status(c->obuf + c->olen, status);
	/* A constant size copies faster; HEAD_MAX has room for it. */
	memcpy(p, w->date_hdr, sizeof(w->date_hdr));
	p += w->date_hdr_len;
	if (ctype) {
		p = put_lit(p, "\r\nContent-Type: ");
		p = put(p, ctype, tlen);
	}
	if (clen != OMIT) {
		p = put_lit(p, "\r\nContent-Length: ");
		p = put_u64(p, clen);
	}
	if (close)
		p = put_lit(p, "\r\nConnection: close\r\n");
	else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
		p = put_lit(p, "\r\nConnection: keep-alive\r\n");
	else
		p = put_lit(p, "\r\n");
	c->olen = (uint32_t)(p - c->obuf);
	if (close)
		c->closing = true;
	if (status >= 100 && status < HTTP_STATUS_MAX)
		STAT_ADD(w, status[status], 1);
	if (cfg.access_log)
		log_request(c, status, clen == OMIT ? 0 : clen);
}

/* Error responses end the connection, as nginx's do. */
void resp_error(struct conn *c, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status,
			 status_text(status));

	resp_simple(c, status, "text/plain", body, (uint32_t)n, false, true);
}

/* Requests */

/* The target is @lit, with or without a query or fragment after it. */
static inline bool route_is(const char *url, uint32_t len, const char *lit,
			    uint32_t n)
{
	return len >= n && !memcmp(url, lit, n) &&
	       (len == n || url[n] == '?' || url[n] == '#');
}

#define ROUTE(url, len, s) route_is(url, len, s, sizeof(s) - 1)

/* The path of a target: up to its query or fragment. */
static size_t path_len(const char *url, uint32_t len)
{
	size_t n;

	for (n = 0; n < len; n++)
		if (url[n] == '?' || url[n] == '#')
			break;
	return n;
}

static void handle_request(struct conn *c)
{
	const char *url = c->rbuf + c->rq.url.off;
	uint32_t len = c->rq.url.len;
	uint8_t method = c->parser.method;
	bool head = method == HTTP_HEAD;
	bool close = !c->rq.keep_alive;

	if (len == 0 || url[0] != '/' || c->parser.http_major != 1) {
		resp_error(c, 400);
		return;
	}
	if (method == HTTP_GET || head) {
		if (ROUTE(url, len, "/plaintext"))
			resp_simple(c, 200, "text/plain", "Hello, World!", 13,
				    head, close);
		else if (ROUTE(url, len, "/healthz"))
			resp_simple(c, 200, "text/plain", "ok\n", 3, head,
				    close);
		else if (ROUTE(url, len, "/metrics"))
			metrics_write(c, head);
		else
			serve_file(c, url, path_len(url, len), head);
		if (close)
			c->closing = true;
		return;
	}
	if (method == HTTP_POST && ROUTE(url, len, "/discard")) {
		char body[64];
		int n = snprintf(body, sizeof(body), "received %llu bytes\n",
				 (unsigned long long)c->rq.body_bytes);

		resp_simple(c, 200, "text/plain", body, (uint32_t)n, false,
			    close);
		return;
	}
	resp_head(c, 405, "text/plain", 23, true);
	if (ROUTE(url, len, "/discard"))
		out_lit(c, "Allow: POST\r\n\r\n");
	else
		out_lit(c, "Allow: GET, HEAD\r\n\r\n");
	out_lit(c, "405 Method Not Allowed\n");
}

/* An unknown method made of capital letters is 501, other junk 400. */
static int method_status(struct conn *c)
{
	uint32_t i, n = 0;

	for (i = c->msg_start; i < c->rlen; i++) {
		char ch = c->rbuf[i];

		if (ch == ' ')
			break;
		if ((ch == '\r' || ch == '\n') && n == 0)
			continue;
		if (ch < 'A' || ch > 'Z')
			return 400;
		n++;
	}
	return n > 0 && n <= 32 ? 501 : 400;
}

static int parse_status(struct conn *c, llhttp_errno_t err)
{
	if (c->err_status)
		return c->err_status;
	switch (err) {
	case HPE_INVALID_METHOD:
		return method_status(c);
	case HPE_INVALID_TRANSFER_ENCODING:
		return 501;
	default:
		return 400;
	}
}

/*
 * The reader and the responder.
 *
 * The reader parses the received bytes and emits each request (or the
 * status of one it could not parse) into the connection's input, a
 * &struct ursa_input with a buffer of one. Then it waits for the emit's
 * deferred, which is fulfilled when the responder takes the request,
 * before it parses the next. The responder takes requests one at a time
 * and answers each, and takes the next only once that answer is written
 * (or, for a file, streamed) and the output is below the send limit. So
 * the reader is at most one request ahead of the responder: one request
 * in the input's slot, one being answered.
 *
 * Both sides run from the loop's run queue (the take's callback and the
 * reader's waiter), and each hand-off ends with conn_run() deciding the
 * next I/O once neither side can go on without it.
 */

static void conn_run(struct conn *c);

static void responder_next(struct conn *c)
{
	struct xch *x = c->x;

	if (c->olen >= cfg.send_limit) {
		/* The output is full: take again once it is sent. */
		c->resp = R_FULL;
		return;
	}
	c->resp = R_TAKING;
	ursa_input_take(&x->in, &x->take);
}

/* The responder is done with a request: the output holds its answer. */
static void responder_done(struct conn *c)
{
	c->ahead--;
	responder_next(c);
}

/* The responder's take: answer one request. */
static void on_request(struct ursa_take *t)
{
	struct xch *x = container_of(t, struct xch, take);
	struct conn *c = x->c;
	struct hreq *rq = t->exit.ptr;

	c->resp = R_BUSY;
	if (rq->status)
		resp_error(c, rq->status);
	else
		handle_request(c);
	if (c->ffd >= 0) {
		/* conn_run() streams the body, then takes again. */
		c->resp = R_STREAM;
		return;
	}
	responder_done(c);
	/* The reader's waiter runs next and calls conn_run(). */
}

/* The responder took the request: the reader may parse the next. */
static void reader_taken(struct ursa_waiter *wt, const struct ursa_exit *e)
{
	struct xch *x = container_of(wt, struct xch, rwait);
	struct conn *c = x->c;

	(void)e;
	c->emitted = false;
	conn_run(c);
}

static int xch_get(struct conn *c)
{
	struct worker *w = c->w;
	struct ursa_runq *rq = ursa_loop_runq(&w->loop);
	bool fresh = !w->xchs.free;
	struct xch *x = pool_get(&w->xchs);

	if (!x)
		return -ENOMEM;
	if (fresh) {
		ursa_input_init(&x->in);
		ursa_take_init(&x->take, rq, on_request);
		ursa_waiter_init(&x->rwait, rq, reader_taken);
	}
	x->c = c;
	c->x = x;
	c->resp = R_TAKING;
	return ursa_input_take(&x->in, &x->take);
}

/* Back to the pool, ready for the next connection (see &struct xch). */
static void xch_put(struct conn *c)
{
	struct xch *x = c->x;

	if (!x)
		return;
	ursa_input_take_cancel(&x->in, &x->take);
	ursa_waiter_cancel(&x->rwait);
	/* Closed with a request in the slot: empty the input. */
	if (ursa_input_is_full(&x->in))
		ursa_input_init(&x->in);
	pool_put(&c->w->xchs, x);
	c->x = NULL;
	c->resp = R_IDLE;
}

/*
 * Emit the request just parsed, or with @status one that could not be
 * parsed, and wait until the responder takes it. Returns false if the
 * connection ran out of memory.
 */
static bool reader_emit(struct conn *c, int status)
{
	struct worker *w = c->w;
	struct xch *x;

	if (!c->x && xch_get(c)) {
		c->dead = true;
		return false;
	}
	x = c->x;
	c->rq.status = status;
	/* Nothing is read after an error or a request that closes. */
	if (status || !c->rq.keep_alive)
		c->rd_done = true;
	ursa_deferred_init(&x->taken);
	if (ursa_input_emit_ptr(&x->in, &c->rq, &x->taken) ||
	    ursa_deferred_await(&x->taken, &x->rwait)) {
		c->dead = true;
		return false;
	}
	c->emitted = true;
	if (++c->ahead > w->st.ahead_max)
		STAT_ADD(w, ahead_max, c->ahead - w->st.ahead_max);
	return true;
}

/*
 * Parse what was received up to the end of the next request and emit it.
 * Returns true if a request (or a parse error) was emitted, false if the
 * input is used up first.
 */
static bool reader_run(struct conn *c)
{
	llhttp_errno_t err;

	while (c->rpos < c->rlen) {
		c->exec_base = c->rpos;
		err = llhttp_execute(&c->parser, c->rbuf + c->rpos,
				     c->rlen - c->rpos);
		if (err == HPE_OK) {
			c->rpos = c->rlen;
			break;
		}
		if (err == HPE_PAUSED) {
			c->rpos = off_of(c, llhttp_get_error_pos(&c->parser));
			llhttp_resume(&c->parser);
			c->in_msg = false;
			return reader_emit(c, 0);
		}
		c->rpos = c->rlen;
		c->in_msg = false;
		c->expect_100 = false;
		if (err == HPE_PAUSED_UPGRADE) {
			/* No protocol upgrades: the answer was sent, close. */
			c->rd_done = true;
			c->closing = true;
			break;
		}
		return reader_emit(c, parse_status(c, err));
	}
	if (!c->in_msg && c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	return false;
}

/*
 * Make room to receive. Between requests the parsed bytes are dropped;
 * inside one, its head is kept (the spans point into it) and body bytes
 * already parsed are dropped. Returns false when the head of a request
 * fills the most the buffer may hold: it is answered 414 or 431.
 */
static bool conn_make_room(struct conn *c)
{
	uint32_t rmax = cfg.max_header_bytes + 8192;
	uint32_t shift;

	if (!c->in_msg) {
		if (c->rpos) {
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
	} else {
		if (c->hdr_done && c->rpos > c->keep_end) {
			memmove(c->rbuf + c->keep_end, c->rbuf + c->rpos,
				c->rlen - c->rpos);
			c->rlen -= c->rpos - c->keep_end;
			c->rpos = c->keep_end;
		}
		shift = c->msg_start;
		if (shift && c->rlen == c->rcap) {
			int i;

			memmove(c->rbuf, c->rbuf + shift, c->rlen - shift);
			c->rlen -= shift;
			c->rpos -= shift;
			c->msg_start = 0;
			c->keep_end -= shift;
			if (c->rq.url.len)
				c->rq.url.off -= shift;
			if (c->field.len)
				c->field.off -= shift;
			if (c->value.len)
				c->value.off -= shift;
			for (i = 0; i < H_NR; i++)
				if (c->rq.hdr[i].len)
					c->rq.hdr[i].off -= shift;
		}
	}
	if (c->rlen < c->rcap)
		return true;
	if (c->rcap < rmax) {
		uint32_t cap = c->rcap ? c->rcap * 2 : BUF_SIZE;

		if (cap > rmax)
			cap = rmax;
		if (buf_grow(c->w, &c->rbuf, &c->rcap, cap, c->rlen)) {
			c->dead = true;
			return false;
		}
		return true;
	}
	c->rpos = c->rlen;
	c->in_msg = false;
	c->expect_100 = false;
	reader_emit(c, c->url_done || c->hdr_done ? 431 : 414);
	return false;
}

/* I/O */

static void conn_free(struct conn *c)
{
	struct worker *w = c->w;

	ursa_timer_cancel(&c->timer);
	/* A take or the reader's waiter may be queued: they go first. */
	xch_put(c);
	if (c->ffd >= 0)
		close(c->ffd);
	close(c->fd);
	ursa_list_del(&c->node);
	w->nr_conns--;
	__atomic_fetch_sub(&nr_open_conns, 1, __ATOMIC_RELAXED);
	buf_put(w, &c->rbuf, &c->rcap);
	buf_put(w, &c->obuf, &c->ocap);
	pool_put(&w->fbufs, c->fbuf);
	free(c);
	if (w->stopping && w->nr_conns == 0)
		ursa_timer_cancel(&w->shutdown_timer);
}

/* Between requests, wait with no buffer: the ring lends one. */
static int start_recv_ring(struct conn *c)
{
	struct worker *w = c->w;

	buf_put(w, &c->rbuf, &c->rcap);
	c->rlen = c->rpos = 0;
	if (!c->lingering)
		conn_deadline(c, now(c) + (c->idle_first ?
						   cfg.header_timeout_ns :
						   cfg.keepalive_timeout_ns));
	c->io = IO_RECV_RING;
	return ursa_recv_select(&w->loop, &c->req, c->fd, &w->br, 0);
}

static int start_recv(struct conn *c)
{
	struct worker *w = c->w;

	if (c->lingering) {
		c->rlen = c->rpos = 0;
		if (!c->rbuf && buf_grow(w, &c->rbuf, &c->rcap, BUF_SIZE, 0))
			return -ENOMEM;
		c->io = IO_RECV;
		return ursa_recv(&w->loop, &c->req, c->fd, c->rbuf, c->rcap, 0);
	}
	if (c->in_msg)
		conn_deadline(c, c->msg_deadline);
	else
		conn_deadline(c, now(c) + (c->idle_first ?
						   cfg.header_timeout_ns :
						   cfg.keepalive_timeout_ns));
	c->io = IO_RECV;
	return ursa_recv(&w->loop, &c->req, c->fd, c->rbuf + c->rlen,
			 c->rcap - c->rlen, 0);
}

static int start_send(struct conn *c)
{
	struct worker *w = c->w;
	struct xch *x = c->x;

	conn_deadline(c, now(c) + cfg.keepalive_timeout_ns);
	c->io = IO_SEND;
	if (c->fsent == c->flen)
		return ursa_send(&w->loop, &c->req, c->fd, c->obuf + c->osent,
				 c->olen - c->osent, 0);
	/* A file chunk is only pending while the responder streams it. */
	x->iov[0].iov_base = c->obuf + c->osent;
	x->iov[0].iov_len = c->olen - c->osent;
	x->iov[1].iov_base = c->fbuf + c->fsent;
	x->iov[1].iov_len = c->flen - c->fsent;
	memset(&x->msg, 0, sizeof(x->msg));
	x->msg.msg_iov = x->iov[0].iov_len ? x->iov : x->iov + 1;
	x->msg.msg_iovlen = x->iov[0].iov_len ? 2 : 1;
	return ursa_sendmsg(&w->loop, &c->req, c->fd, &x->msg, 0);
}

static int start_read(struct conn *c)
{
	uint32_t n = c->fleft > FBUF_SIZE ? FBUF_SIZE : (uint32_t)c->fleft;

	if (!c->fbuf) {
		c->fbuf = pool_get(&c->w->fbufs);
		if (!c->fbuf)
			return -ENOMEM;
	}
	c->io = IO_READ;
	return ursa_read(&c->w->loop, &c->req, c->ffd, c->fbuf, n, c->foff);
}

/* Wait in the ring, unless it ran dry under this connection last time. */
static bool ring_ok(struct conn *c)
{
	if (c->nobufs) {
		c->nobufs = false;
		return false;
	}
	return c->w->br_ready;
}

/* A hand-off is under way: its callback runs from the run queue. */
static bool xch_busy(struct conn *c)
{
	struct xch *x = c->x;

	if (!x)
		return false;
	/* The responder's take is queued with a request. */
	if (c->resp == R_TAKING && ursa_input_is_full(&x->in))
		return true;
	/* The reader's waiter is queued: its request was taken. */
	return c->emitted && ursa_deferred_is_done(&x->taken);
}

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void conn_run(struct conn *c)
{
	int ret;

	for (;;) {
		if (c->io != IO_NONE)
			return;
		if (c->dead) {
			conn_free(c);
			return;
		}
		/* The responder: a file streamed, or the output sent. */
		if (c->resp == R_STREAM && c->fleft == 0 &&
		    c->fsent == c->flen) {
			close(c->ffd);
			c->ffd = -1;
			pool_put(&c->w->fbufs, c->fbuf);
			c->fbuf = NULL;
			responder_done(c);
		} else if (c->resp == R_FULL) {
			responder_next(c);
		}
		if (xch_busy(c))
			return;
		/* The reader: one more request, unless one waits already. */
		if (!c->emitted && !c->closing && !c->lingering &&
		    !c->rd_done && reader_run(c))
			continue;
		if (c->dead)
			continue;
		if (c->x && c->resp == R_TAKING && !c->emitted)
			xch_put(c); /* nothing in flight */
		/* All parsed: the input buffer can serve others. */
		if (!c->emitted && !c->in_msg && c->rpos == c->rlen)
			buf_put(c->w, &c->rbuf, &c->rcap);
		/*
		 * The reader waits for a body that the client holds back until
		 * it sees 100 Continue; the answers before it are all in the
		 * output (none is streaming), so it goes out after them.
		 */
		if (c->expect_100 && c->in_msg && c->resp != R_STREAM &&
		    !c->emitted && !c->closing) {
			c->expect_100 = false;
			out_put(c, continue_100, sizeof(continue_100) - 1);
			STAT_ADD(c->w, continues, 1);
			if (c->dead)
				continue;
		}
		if (c->resp == R_STREAM && c->fsent == c->flen &&
		    c->fleft > 0) {
			ret = start_read(c);
		} else if (c->osent < c->olen || c->fsent < c->flen) {
			ret = start_send(c);
		} else if (c->closing && !c->lingering) {
			/*
			 * The last response is out. Half-close and drain
			 * what the client still sends, briefly, so that it
			 * reads the response rather than a reset.
			 */
			if (c->timed_out || shutdown(c->fd, SHUT_WR)) {
				c->dead = true;
				continue;
			}
			c->lingering = true;
			conn_deadline(c, now(c) + LINGER_NS);
			ret = ring_ok(c) ? start_recv_ring(c) : start_recv(c);
		} else if (!c->lingering && !c->in_msg && c->w->stopping) {
			c->dead = true;
			continue;
		} else if (!c->in_msg && c->rpos == c->rlen && ring_ok(c)) {
			ret = start_recv_ring(c);
		} else {
			if (!c->lingering && !conn_make_room(c))
				continue;
			ret = start_recv(c);
		}
		if (ret) {
			c->io = IO_NONE;
			c->dead = true;
			continue;
		}
		return;
	}
}

static void on_recv(struct conn *c, int res)
{
	if (res > 0)
		STAT_ADD(c->w, bytes_in, (uint64_t)res);
	if (c->lingering) {
		if (res <= 0)
			c->dead = true;
		return;
	}
	if (res > 0) {
		c->rlen += (uint32_t)res;
		c->idle_first = false;
		return;
	}
	if (res == -ECANCELED && c->timed_out && !c->dead) {
		c->timed_out = false;
		if (c->in_msg) {
			STAT_ADD(c->w, timeouts, 1);
			c->rpos = c->rlen;
			c->in_msg = false;
			c->expect_100 = false;
			reader_emit(c, 408);
			return;
		}
	}
	c->dead = true;
}

static void on_recv_ring(struct conn *c, int res)
{
	struct worker *w = c->w;
	int bid = ursa_req_buf_id(&c->req);

	if (bid >= 0) {
		/* Copy what came and give the ring its buffer back at once. */
		if (res > 0 && !c->lingering &&
		    (c->rbuf || !buf_get(w, &c->rbuf, &c->rcap))) {
			memcpy(c->rbuf,
			       ursa_buf_ring_addr(&w->br, (unsigned)bid),
			       (size_t)res);
		} else if (res > 0 && !c->lingering) {
			c->dead = true;
		}
		ursa_buf_ring_recycle(&w->br, (unsigned)bid);
	}
	if (res == -ENOBUFS) {
		/* The ring is dry: receive into a buffer of our own. */
		c->nobufs = true;
		return;
	}
	if (c->dead)
		return;
	on_recv(c, res);
}

static void on_send(struct conn *c, int res)
{
	uint32_t a = c->olen - c->osent;

	if (res < 0) {
		c->dead = true;
		return;
	}
	STAT_ADD(c->w, bytes_out, (uint64_t)res);
	if ((uint32_t)res >= a) {
		c->osent = c->olen;
		c->fsent += (uint32_t)res - a;
	} else {
		c->osent += (uint32_t)res;
	}
	if (c->osent == c->olen) {
		/* Sent: the output buffer goes back until the next response. */
		c->osent = c->olen = 0;
		buf_put(c->w, &c->obuf, &c->ocap);
	}
	if (c->fsent == c->flen)
		c->fsent = c->flen = 0;
}

static void on_read(struct conn *c, int res)
{
	if (res <= 0) {
		/* The file shrank or failed: the promised length cannot be
		 * kept, so the connection ends here. */
		c->dead = true;
		return;
	}
	c->flen = (uint32_t)res;
	c->fsent = 0;
	c->foff += (uint64_t)res;
	c->fleft -= (uint64_t)res;
}

static void conn_io_done(struct ursa_req *req, const struct ursa_exit *e)
{
	struct conn *c = container_of(req, struct conn, req);
	int res = e->kind == URSA_EXIT_SUCCESS ? (int)e->val : e->err;
	uint8_t io = c->io;

	c->io = IO_NONE;
	if (c->dead) {
		int bid = io == IO_RECV_RING ? ursa_req_buf_id(req) : -1;

		/* Bytes that came with the cancel: the ring gets its buffer. */
		if (bid >= 0)
			ursa_buf_ring_recycle(&c->w->br, (unsigned int)bid);
		conn_run(c);
		return;
	}
	switch (io) {
	case IO_RECV:
		/*
		 * memcheck cannot see the kernel write through the ring into
		 * our own buffer (the ring's buffers are mapped, so they look
		 * written already).
		 */
		if (res > 0 && !c->lingering)
			VALGRIND_MAKE_MEM_DEFINED(c->rbuf + c->rlen,
						  (size_t)res);
		on_recv(c, res);
		break;
	case IO_RECV_RING:
		on_recv_ring(c, res);
		break;
	case IO_SEND:
		if (c->timed_out)
			res = -ETIMEDOUT;
		on_send(c, res);
		break;
	case IO_READ:
		on_read(c, res);
		break;
	}
	conn_run(c);
}

static void conn_timer_fn(struct ursa_timer *t)
{
	struct conn *c = container_of(t, struct conn, timer);

	if (c->deadline > ursa_loop_now(&c->w->loop)) {
		ursa_timer_start_abs(&c->w->loop, t, c->deadline, 0);
		return;
	}
	if (c->io == IO_READ) {
		/* A file read is not cut short; check again later. */
		c->deadline = ursa_loop_now(&c->w->loop) + LINGER_NS;
		ursa_timer_start_abs(&c->w->loop, t, c->deadline, 0);
		return;
	}
	if (c->io == IO_NONE) {
		/*
		 * A hand-off is running from the run queue and will start
		 * the next I/O with its own deadline: look again then.
		 */
		c->deadline = ursa_loop_now(&c->w->loop) + RECHECK_NS;
		ursa_timer_start_abs(&c->w->loop, t, c->deadline, 0);
		return;
	}
	c->timed_out = true;
	if (c->io != IO_NONE)
		ursa_cancel(&c->w->loop, &c->req);
}

/*
 * conn_shutdown() - Server shutdown: close an idle connection now, let a
 * busy one finish its request (its response says Connection: close), or
 * with @hard, cut it off.
 */
void conn_shutdown(struct conn *c, bool hard)
{
	bool idle = (c->io == IO_RECV || c->io == IO_RECV_RING) && !c->in_msg &&
		    !c->lingering && c->rlen == c->rpos;

	if (!hard && !idle)
		return;
	c->dead = true;
	if (c->io != IO_NONE)
		ursa_cancel(&c->w->loop, &c->req);
	else
		conn_free(c);
}

static const char busy_503[] = "HTTP/1.1 503 Service Unavailable\r\n"
			       "Server: " HTTP_NAME "\r\n"
			       "Content-Type: text/plain\r\n"
			       "Content-Length: 24\r\n"
			       "Connection: close\r\n\r\n"
			       "503 Service Unavailable\n";

void conn_accepted(struct worker *w, int fd)
{
	struct conn *c;
	int one = 1;

	STAT_ADD(w, accepted, 1);
	if (w->stopping) {
		close(fd);
		return;
	}
	if (__atomic_fetch_add(&nr_open_conns, 1, __ATOMIC_RELAXED) >=
	    cfg.max_conns) {
		__atomic_fetch_sub(&nr_open_conns, 1, __ATOMIC_RELAXED);
		/* Over max-conns: a canned 503 if the socket takes it. */
		if (send(fd, busy_503, sizeof(busy_503) - 1,
			 MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			STAT_ADD(w, status[503], 1);
		STAT_ADD(w, rejected, 1);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		__atomic_fetch_sub(&nr_open_conns, 1, __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = w;
	c->fd = fd;
	c->ffd = -1;
	c->idle_first = true;
	llhttp_init(&c->parser, HTTP_REQUEST, &settings);
	ursa_req_init(&c->req, conn_io_done);
	ursa_timer_init(&c->timer, conn_timer_fn);
	if (cfg.access_log) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		strcpy(c->peer, "-");
		if (!getpeername(fd, (struct sockaddr *)&ss, &len)) {
			if (ss.ss_family == AF_INET)
				inet_ntop(
					AF_INET,
					&((struct sockaddr_in *)&ss)->sin_addr,
					c->peer, sizeof(c->peer));
			else if (ss.ss_family == AF_INET6)
				inet_ntop(
					AF_INET6,
					&((struct sockaddr_in6 *)&ss)->sin6_addr,
					c->peer, sizeof(c->peer));
		}
	}
	ursa_list_add_tail(&c->node, &w->conns);
	w->nr_conns++;
	conn_run(c);
}
