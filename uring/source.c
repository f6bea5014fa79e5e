// SPDX-License-Identifier: MIT
/*
 * Sources that feed emit buffers from CQEs and stop submitting while the
 * buffer is full: multishot accept, multishot recv, and a periodic tick.
 * The chunked file reader is in reader.c.
 */
#include <errno.h>
#include <unistd.h>

#include <ursa/net.h>
#include <ursa/source.h>

#include "internal.h"

/* Accept errors that pass: back off and accept again. */
static bool accept_error_transient(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS ||
	       err == -ENOMEM || err == -ECONNABORTED || err == -EAGAIN;
}

#define ACCEPT_BACKOFF_NS (10 * 1000 * 1000ull)

static void accept_arm(struct ursa_accept_source *src);

/*
 * Arm the accept. A multishot accept takes every connection waiting in
 * the backlog at once, however many: into a suspend buffer that would
 * overrun the sink and the held sockets, and close connections that should
 * have waited in the backlog. So a suspend sink gets one connection per
 * arm, re-armed from the completion while there is room; the others,
 * which never refuse for room, get the multishot accept.
 */
static int accept_submit(struct ursa_accept_source *src)
{
	if (src->sink->strategy == URSA_EMIT_SUSPEND)
		return ursa_accept(src->loop, &src->req, src->fd, NULL, NULL,
				   0);
	return ursa_accept_multishot(src->loop, &src->req, src->fd, 0);
}

static void accept_finish(struct ursa_accept_source *src,
			  const struct ursa_exit *exit)
{
	while (src->nr_held)
		close(src->held[--src->nr_held]);
	if (exit && exit->kind != URSA_EXIT_SUCCESS &&
	    exit->kind != URSA_EXIT_INTERRUPT)
		ursa_emit_halt(src->sink, exit);
	else
		ursa_emit_end(src->sink);
}

static void accept_hold(struct ursa_accept_source *src, int fd)
{
	if (src->nr_held == URSA_ACCEPT_SOURCE_HELD) {
		/* Only if the cancel lost a very long race: refuse it. */
		close(fd);
		src->nr_dropped++;
		return;
	}
	src->held[src->nr_held++] = fd;
}

/* Push the held sockets, oldest first; false if the buffer is full again. */
static bool accept_flush(struct ursa_accept_source *src)
{
	unsigned int i = 0;
	bool ok = true;

	while (i < src->nr_held) {
		int ret = ursa_emit_single(src->sink, src->held[i]);

		if (ret == -EAGAIN) {
			ok = false;
			break;
		}
		if (ret)
			close(src->held[i]);
		i++;
	}
	if (i) {
		unsigned int j;

		for (j = i; j < src->nr_held; j++)
			src->held[j - i] = src->held[j];
		src->nr_held -= i;
	}
	return ok;
}

static void accept_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct ursa_accept_source *src =
		ursa_container_of(req, struct ursa_accept_source, req);
	int ret;

	if (exit->kind == URSA_EXIT_SUCCESS) {
		int fd = (int)exit->val;

		if (src->stopping) {
			close(fd);
		} else if (src->nr_held) {
			accept_hold(src, fd);
		} else {
			ret = ursa_emit_single(src->sink, fd);
			if (ret == -EAGAIN) {
				/* Full: stop accepting; the backlog waits. */
				accept_hold(src, fd);
				if (!src->paused) {
					src->paused = true;
					if (ursa_req_busy(req))
						ursa_cancel(src->loop, req);
				}
			} else if (ret) {
				close(fd);
				src->nr_dropped++;
			}
		}
		if (ursa_req_more(req))
			return;
	}
	/* The accept is over: cancelled, failed, or ended. */
	if (src->stopping) {
		accept_finish(src, NULL);
		return;
	}
	if (exit->kind == URSA_EXIT_FAILURE &&
	    accept_error_transient(exit->err)) {
		ursa_timer_start(src->loop, &src->backoff, ACCEPT_BACKOFF_NS,
				 0);
		return;
	}
	if (exit->kind == URSA_EXIT_FAILURE || exit->kind == URSA_EXIT_DIE) {
		accept_finish(src, exit);
		return;
	}
	/* Paused by our own cancel: the drain callback arms it again. */
	if (!src->paused)
		accept_arm(src);
}

static void accept_arm(struct ursa_accept_source *src)
{
	int ret;

	if (src->stopping || src->paused || ursa_req_busy(&src->req))
		return;
	ret = accept_submit(src);
	if (ret && ret != -EBUSY) {
		struct ursa_exit e = ursa_exit_failure(ret);

		accept_finish(src, &e);
	}
}

static void accept_backoff(struct ursa_timer *t)
{
	struct ursa_accept_source *src =
		ursa_container_of(t, struct ursa_accept_source, backoff);

	accept_arm(src);
}

static void accept_drain(struct ursa_emit *em)
{
	struct ursa_accept_source *src = em->data;

	if (!accept_flush(src))
		return;
	src->paused = false;
	accept_arm(src);
}

static void accept_evict(struct ursa_emit *em,
			 const struct ursa_emit_entry *entry)
{
	close((int)entry->val);
}

int ursa_accept_source_start(struct ursa_loop *loop,
			     struct ursa_accept_source *src, int fd,
			     struct ursa_emit *sink)
{
	int ret;

	if (sink->on_drain || sink->on_evict)
		return -EINVAL;
	src->loop = loop;
	src->sink = sink;
	src->fd = fd;
	src->nr_held = 0;
	src->nr_dropped = 0;
	src->stopping = false;
	src->paused = false;
	ursa_req_init(&src->req, accept_cb);
	ursa_timer_init(&src->backoff, accept_backoff);
	ret = accept_submit(src);
	if (ret)
		return ret;
	sink->data = src;
	ursa_emit_set_producer(sink, accept_drain, accept_evict,
			       sink->low_watermark);
	return 0;
}

void ursa_accept_source_stop(struct ursa_accept_source *src)
{
	if (src->stopping)
		return;
	src->stopping = true;
	ursa_timer_cancel(&src->backoff);
	if (ursa_req_busy(&src->req))
		ursa_cancel(src->loop, &src->req);
	else
		accept_finish(src, NULL);
}

static void recv_cb(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct ursa_recv_source *src =
		ursa_container_of(req, struct ursa_recv_source, req);

	if (exit->kind == URSA_EXIT_SUCCESS && exit->val > 0) {
		int bid = ursa_req_buf_id(req);

		if (bid < 0) {
			struct ursa_exit e = ursa_exit_die(-EPROTO);

			ursa_emit_halt(src->sink, &e);
			return;
		}
		src->bytes += (uint64_t)exit->val;
		/*
		 * The sink holds at least as many entries as the ring has
		 * buffers, so this cannot be refused for room; a cancelled
		 * stream refuses it, and the buffer goes straight back.
		 */
		if (ursa_emit_chunk(src->sink,
				    ursa_buf_ring_addr(&src->br,
						       (unsigned int)bid),
				    exit->val, (uint64_t)bid))
			ursa_buf_ring_recycle(&src->br, (unsigned int)bid);
		return;
	}
	if (ursa_req_more(req))
		return;
	if (exit->kind == URSA_EXIT_SUCCESS)
		ursa_emit_end(src->sink);
	else
		ursa_emit_halt(src->sink, exit);
}

static void recv_evict(struct ursa_emit *em,
		       const struct ursa_emit_entry *entry)
{
	struct ursa_recv_source *src = em->data;

	ursa_buf_ring_recycle(&src->br, (unsigned int)entry->tag);
}

int ursa_recv_source_start(struct ursa_loop *loop, struct ursa_recv_source *src,
			   int fd, struct ursa_emit *sink, uint16_t bgid,
			   unsigned int nr_bufs, unsigned int buf_size)
{
	int ret;

	if (sink->capacity < nr_bufs || sink->on_drain || sink->on_evict)
		return -EINVAL;
	src->loop = loop;
	src->sink = sink;
	src->fd = fd;
	src->bytes = 0;
	src->stopping = false;
	ret = ursa_buf_ring_init(loop, &src->br, bgid, nr_bufs, buf_size);
	if (ret)
		return ret;
	ursa_req_init(&src->req, recv_cb);
	ret = ursa_recv_multishot(loop, &src->req, fd, &src->br);
	if (ret) {
		ursa_buf_ring_exit(&src->br);
		return ret;
	}
	sink->data = src;
	ursa_emit_set_producer(sink, NULL, recv_evict, sink->low_watermark);
	return 0;
}

int ursa_recv_source_release(struct ursa_recv_source *src,
			     const struct ursa_emit_entry *entry)
{
	return ursa_buf_ring_recycle(&src->br, (unsigned int)entry->tag);
}

void ursa_recv_source_stop(struct ursa_recv_source *src)
{
	if (src->stopping)
		return;
	src->stopping = true;
	if (ursa_req_busy(&src->req))
		ursa_cancel(src->loop, &src->req);
}

void ursa_recv_source_destroy(struct ursa_recv_source *src)
{
	ursa_buf_ring_exit(&src->br);
}

static void tick_fn(struct ursa_timer *t)
{
	struct ursa_tick_source *s =
		ursa_container_of(t, struct ursa_tick_source, timer);
	int ret;

	s->ticks++;
	ret = ursa_emit_single(s->sink, (int64_t)s->ticks);
	if (ret)
		s->refused++;
	if (ret == -EPIPE)
		ursa_timer_cancel(t);
}

int ursa_tick_source_start(struct ursa_loop *loop, struct ursa_tick_source *s,
			   struct ursa_emit *sink, uint64_t period_ns)
{
	if (!period_ns)
		return -EINVAL;
	ursa_timer_init(&s->timer, tick_fn);
	s->sink = sink;
	s->ticks = 0;
	s->refused = 0;
	return ursa_timer_start(loop, &s->timer, period_ns, period_ns);
}

void ursa_tick_source_stop(struct ursa_tick_source *s)
{
	ursa_timer_cancel(&s->timer);
	ursa_emit_end(s->sink);
}
