/* SPDX-License-Identifier: MIT */
/*
 * ursa-http: shared types of the server. One &struct worker per thread
 * owns a loop, a listening socket (SO_REUSEPORT) and its connections; a
 * &struct conn is one HTTP/1.1 connection, driven by completions.
 */
#ifndef URSA_HTTP_H
#define URSA_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <llhttp.h>

#include <ursa/ursa.h>

#define HTTP_NAME "ursa-http"
#define HTTP_STATUS_MAX 600

/* Tunables of the whole process, from Kconfig and the command line. */
struct http_cfg {
	const char *listen;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *root;
	int rootfd;
	char *root_real;
	bool no_openat2;
	unsigned int threads;
	unsigned int max_conns;
	uint64_t header_timeout_ns;
	uint64_t keepalive_timeout_ns;
	uint32_t max_header_bytes;
	uint64_t max_body_bytes;
	uint32_t send_limit;
	uint64_t shutdown_timeout_ns;
	const char *access_log;
	bool sqpoll;
	bool steer;
	bool steering;
};

/* Counters of one worker; other threads read them with relaxed loads. */
struct http_stats {
	uint64_t status[HTTP_STATUS_MAX];
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t accepted;
	uint64_t rejected;
	uint64_t accept_backoffs;
	uint64_t timeouts;
	uint64_t log_dropped;
	uint64_t continues;
	uint64_t ahead_max;
};

#define STAT_ADD(w, field, n) \
	__atomic_store_n(&(w)->st.field, (w)->st.field + (n), __ATOMIC_RELAXED)

/* The access log of one worker: two buffers, one filling, one writing. */
struct alog {
	int fd;
	int old_fd;
	char *buf[2];
	uint32_t len[2];
	int cur;
	bool writing;
	uint32_t wpos;
	struct ursa_req req;
	struct ursa_timer timer;
	struct worker *w;
};

/*
 * A free list of equal buffers, so that requests in steady state do not
 * call malloc: at most @max are kept, the rest go back to malloc.
 */
struct pool {
	void *free;
	uint32_t nr;
	uint32_t max;
	uint32_t size;
	uint64_t mallocs;
};

/* Receives of idle connections share a ring of buffers this big. */
#define RING_BUFS 64u
#define BUF_SIZE 4096u
/* A response with a small file inline (file.c's INLINE_MAX) fits this. */
#define BIG_SIZE 32768u
#define FBUF_SIZE 65536u

struct worker {
	struct ursa_loop loop;
	struct ursa_buf_ring br;
	bool br_ready;
	struct pool bufs;
	struct pool big;
	struct pool fbufs;
	struct pool xchs;
	unsigned int id;
	int cpu;
	pthread_t thread;
	int lfd;
	bool loop_ready;
	struct ursa_req accept_req;
	struct ursa_timer accept_timer;
	struct ursa_timer shutdown_timer;
	struct ursa_work stop_work;
	struct ursa_work reopen_work;
	struct ursa_list_head conns;
	unsigned int nr_conns;
	bool stopping;
	struct http_stats st;
	struct alog log;
	time_t date_sec;
	char date[40];
	/* "\r\nServer: ursa-http\r\nDate: <date>", for every response */
	char date_hdr[80];
	uint32_t date_hdr_len;
};

struct span {
	uint32_t off;
	uint32_t len;
};

enum conn_io { IO_NONE, IO_RECV, IO_RECV_RING, IO_SEND, IO_READ };

enum hdr_id {
	H_NONE,
	H_INM,
	H_IMS,
	H_RANGE,
	H_UA,
	H_REFERER,
	H_EXPECT,
	H_NR,
};

/*
 * One parsed request, the element the reader emits into the connection's
 * input: spans of the input buffer, or the status of a request that
 * could not be parsed. There is one per connection: the reader fills the
 * next only after the responder has taken this one and its take callback
 * has returned, so the spans (and the parser's method and version) hold
 * while the responder answers it.
 */
struct hreq {
	struct span url;
	struct span hdr[H_NR];
	uint64_t body_bytes;
	int status;
	bool keep_alive;
};

/*
 * The hand-off between a connection's reader and its responder, taken
 * from the worker's pool while requests are in flight and given back
 * when the connection waits for bytes with nothing pending, so an idle
 * connection does not hold one. One in the pool is ready for use: its
 * input open and empty, its take and waiter idle.
 */
struct xch {
	/* First: the pool keeps its free list in the first word. */
	struct conn *c;
	struct ursa_input in;
	struct ursa_take take;
	struct ursa_deferred taken;
	struct ursa_waiter rwait;
	/* A gathered send of the output and a file chunk. */
	struct msghdr msg;
	struct iovec iov[2];
};

/* What the responder of a connection is doing. */
enum resp_state {
	R_IDLE, /* no hand-off: nothing in flight */
	R_TAKING, /* waiting in a take for the next request */
	R_BUSY, /* in its take callback, answering one */
	R_STREAM, /* streaming a file body */
	R_FULL, /* output at the send limit: takes again once it is sent */
};

struct conn {
	struct worker *w;
	struct ursa_list_head node;
	int fd;
	uint8_t io;
	bool closing;
	bool dead;
	bool timed_out;
	bool lingering;
	bool in_msg;
	bool hdr_done;
	bool url_done;
	bool nobufs;
	bool emitted;
	bool rd_done;
	bool expect_100;
	uint8_t expect;
	uint8_t resp;
	uint8_t ahead;
	struct ursa_req req;
	struct ursa_timer timer;
	uint64_t deadline;
	uint64_t msg_deadline;
	bool idle_first;
	llhttp_t parser;
	/* Input: rbuf[0, rlen) was received, [0, rpos) parsed. */
	char *rbuf;
	uint32_t rcap;
	uint32_t rlen;
	uint32_t rpos;
	uint32_t exec_base;
	uint32_t msg_start;
	uint32_t keep_end;
	int err_status;
	/* The request being parsed; field and value are the header's. */
	struct hreq rq;
	struct span field;
	struct span value;
	int cur_hdr;
	/* The hand-off to the responder, while requests are in flight. */
	struct xch *x;
	/* Output: obuf[osent, olen) is still to send. */
	char *obuf;
	uint32_t ocap;
	uint32_t olen;
	uint32_t osent;
	/* A file body being streamed: fbuf[fsent, flen) is still to send. */
	int ffd;
	uint64_t foff;
	uint64_t fleft;
	char *fbuf;
	uint32_t flen;
	uint32_t fsent;
	/* For the access log. */
	char peer[48];
};

extern struct http_cfg cfg;
extern struct worker *workers;
extern unsigned long nr_open_conns;

/* conn.c */
void *pool_malloc(struct pool *p);
void pool_drain(struct pool *p);

static inline void *pool_get(struct pool *p)
{
	void *buf = p->free;

	if (!buf)
		return pool_malloc(p);
	p->free = *(void **)buf;
	p->nr--;
	return buf;
}

static inline void pool_put(struct pool *p, void *buf)
{
	if (!buf)
		return;
	if (p->nr >= p->max) {
		free(buf);
		return;
	}
	*(void **)buf = p->free;
	p->free = buf;
	p->nr++;
}
void conn_accepted(struct worker *w, int fd);
void conn_shutdown(struct conn *c, bool hard);
int out_grow(struct conn *c, uint32_t n);

/* Make room for @n more bytes of output; -ENOMEM marks the conn dead. */
static inline int out_reserve(struct conn *c, uint32_t n)
{
	if (__builtin_expect(c->obuf && c->olen + n <= c->ocap, 1))
		return 0;
	return out_grow(c, n);
}

static inline void out_put(struct conn *c, const void *p, uint32_t n)
{
	if (out_reserve(c, n))
		return;
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
}

void resp_head_n(struct conn *c, int status, const char *ctype, uint32_t tlen,
		 uint64_t clen, bool close);

/* Inline, so that the length of a literal @ctype is a constant. */
static inline void resp_head(struct conn *c, int status, const char *ctype,
			     uint64_t clen, bool close)
{
	resp_head_n(c, status, ctype, ctype ? (uint32_t)strlen(ctype) : 0, clen,
		    close);
}

/* A whole response: the head, then @len bytes of @body unless @head. */
static inline void resp_simple(struct conn *c, int status, const char *ctype,
			       const char *body, uint32_t len, bool head,
			       bool close)
{
	resp_head(c, status, ctype, len, close);
	out_put(c, "\r\n", 2);
	if (!head)
		out_put(c, body, len);
}
void resp_error(struct conn *c, int status);
const char *status_text(int status);
const char *http_date(struct worker *w);
void log_request(struct conn *c, int status, uint64_t body_len);

/* file.c */
void serve_file(struct conn *c, const char *path, size_t plen, bool head);
int fmt_http_date(char *buf, size_t size, time_t t);

/* main.c */
void metrics_write(struct conn *c, bool head);
void alog_append(struct worker *w, const char *line, size_t len);

#endif /* URSA_HTTP_H */
