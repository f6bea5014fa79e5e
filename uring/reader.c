// SPDX-License-Identifier: MIT
/*
 * The chunked file reader: a queue depth of whole-chunk reads in flight,
 * each at its own offset, into an emit buffer, gated so that reads in
 * flight plus buffered chunks never exceed the buffer's capacity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <ursa/io.h>
#include <ursa/source.h>

#include "internal.h"

#define READER_ALIGN 4096u
#define READER_HUGE (2u << 20)

struct __ursa_read_slot {
	struct ursa_req req;
	struct ursa_file_reader *r;
	uint64_t off;
	uint32_t len;
};

static size_t reader_stride(const struct ursa_file_reader *r)
{
	return ((size_t)r->chunk + READER_ALIGN - 1) &
	       ~(size_t)(READER_ALIGN - 1);
}

static char *slot_buf(struct ursa_file_reader *r, unsigned int i)
{
	return r->bufs + (size_t)i * reader_stride(r);
}

/*
 * The chunk buffers, one allocation aligned for O_DIRECT. From 2 MiB up
 * it is aligned to 2 MiB and its whole 2 MiB blocks are advised as huge
 * pages. A 1 MiB O_DIRECT read into 4 KiB pages is 256 segments: more
 * than a virtio disk takes in one request (254), so the block layer
 * splits it, and the host handles every page as a piece of its own.
 * Into a huge page it is one segment: on the 2-CPU VM of
 * docs/fchunk.md, 1 GiB of O_DIRECT reads at 1 MiB x 8 took 0.60 to
 * 0.68 s this way, against 1.3 to 2.7 s (and fio 1.35 to 3.2 s) in 4 KiB
 * pages, same run. Cached reads copy into fewer TLB entries too. The
 * advice is best effort: without transparent huge pages the buffers are
 * plain pages; the memory used is the same.
 */
static int reader_alloc_bufs(struct ursa_file_reader *r)
{
	size_t size = (size_t)r->nr_bufs * reader_stride(r);
	size_t align = size >= READER_HUGE ? READER_HUGE : READER_ALIGN;

	if (posix_memalign((void **)&r->bufs, align, size)) {
		r->bufs = NULL;
		return -ENOMEM;
	}
	if (align == READER_HUGE)
		madvise(r->bufs, size & ~(size_t)(READER_HUGE - 1),
			MADV_HUGEPAGE);
	return 0;
}

static bool reader_sequential(const struct ursa_file_reader *r)
{
	return r->end == URSA_OFF_CURRENT;
}

static void reader_check_end(struct ursa_file_reader *r)
{
	bool finished = r->err || r->eof || r->stopping ||
			(!reader_sequential(r) && r->off >= r->end);

	if (r->ended || r->inflight || !finished)
		return;
	r->ended = true;
	if (r->err) {
		struct ursa_exit e = r->err == -ECANCELED ?
					     ursa_exit_interrupt(0) :
					     ursa_exit_failure(r->err);

		ursa_emit_halt(r->sink, &e);
	} else if (r->stopping) {
		struct ursa_exit e = ursa_exit_interrupt(0);

		ursa_emit_halt(r->sink, &e);
	} else {
		ursa_emit_end(r->sink);
	}
}

static void reader_fill(struct ursa_file_reader *r)
{
	while (!r->stopping && !r->eof && !r->err && r->inflight < r->depth &&
	       r->nr_free &&
	       r->inflight + ursa_emit_count(r->sink) < r->sink->capacity &&
	       (reader_sequential(r) || r->off < r->end)) {
		unsigned int i = r->free[--r->nr_free];
		struct __ursa_read_slot *s = &r->slots[i];
		uint64_t left = reader_sequential(r) ? r->chunk :
						       r->end - r->off;
		uint32_t len = left < r->chunk ? (uint32_t)left : r->chunk;
		int ret;

		s->off = r->off;
		s->len = len;
		ret = ursa_read_full(
			r->loop, &s->req, r->fd, slot_buf(r, i), len,
			reader_sequential(r) ? URSA_OFF_CURRENT : r->off);
		if (ret) {
			r->free[r->nr_free++] = i;
			r->err = ret;
			break;
		}
		r->inflight++;
		r->reads++;
		if (!reader_sequential(r))
			r->off += len;
	}
	reader_check_end(r);
}

static void read_done(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct __ursa_read_slot *s =
		ursa_container_of(req, struct __ursa_read_slot, req);
	struct ursa_file_reader *r = s->r;
	unsigned int i = (unsigned int)(s - r->slots);
	bool keep = false;

	r->inflight--;
	if (exit->kind == URSA_EXIT_SUCCESS) {
		uint32_t n = (uint32_t)exit->val;

		if (reader_sequential(r)) {
			/* A full read stops short only at the end. */
			if (n < s->len)
				r->eof = true;
		} else if (n < s->len && !r->err) {
			/* The file is shorter than it was at start. */
			r->err = -ENODATA;
			n = 0;
		}
		if (n && !r->stopping) {
			r->bytes += n;
			keep = ursa_emit_chunk(r->sink, slot_buf(r, i), n,
					       s->off) == 0;
		}
	} else if (!r->err) {
		r->err = exit->kind == URSA_EXIT_INTERRUPT ? -ECANCELED :
							     exit->err;
	}
	if (!keep)
		r->free[r->nr_free++] = i;
	reader_fill(r);
}

static void reader_evict(struct ursa_emit *em,
			 const struct ursa_emit_entry *entry)
{
	ursa_file_reader_release(em->data, entry);
}

int ursa_file_reader_start(struct ursa_loop *loop, struct ursa_file_reader *r,
			   int fd, struct ursa_emit *sink, uint32_t chunk,
			   unsigned int depth, uint64_t off, uint64_t len)
{
	return ursa_file_reader_start_flags(loop, r, fd, sink, chunk, depth,
					    off, len, 0);
}

int ursa_file_reader_start_flags(struct ursa_loop *loop,
				 struct ursa_file_reader *r, int fd,
				 struct ursa_emit *sink, uint32_t chunk,
				 unsigned int depth, uint64_t off, uint64_t len,
				 unsigned int flags)
{
	unsigned int i;
	struct stat st;

	memset(r, 0, sizeof(*r));
	if (flags & ~URSA_FILE_READER_ASYNC)
		return -EINVAL;
	if (!chunk || chunk > (1u << 30) || !depth || depth > 256 ||
	    sink->strategy == URSA_EMIT_UNBOUNDED || sink->on_drain ||
	    sink->on_evict || sink->capacity > 65536)
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	r->loop = loop;
	r->sink = sink;
	r->fd = fd;
	r->chunk = chunk;
	r->off = off;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size :
						      UINT64_MAX - 1;

		r->depth = depth;
		r->end = len == URSA_OFF_CURRENT || off + len > size ||
					 off + len < off ?
				 size :
				 off + len;
		if (r->end < off)
			r->end = off;
	} else {
		r->depth = 1;
		r->end = URSA_OFF_CURRENT;
	}
	r->nr_bufs = r->depth + sink->capacity;
	if (reader_alloc_bufs(r))
		goto nomem;
	r->free = calloc(r->nr_bufs, sizeof(*r->free));
	r->slots = calloc(r->nr_bufs, sizeof(*r->slots));
	if (!r->free || !r->slots)
		goto nomem;
	for (i = 0; i < r->nr_bufs; i++) {
		ursa_req_init(&r->slots[i].req, read_done);
		ursa_req_set_async(&r->slots[i].req,
				   flags & URSA_FILE_READER_ASYNC);
		r->slots[i].r = r;
		r->free[r->nr_free++] = r->nr_bufs - 1 - i;
	}
	sink->data = r;
	ursa_emit_set_producer(sink, NULL, reader_evict,
			       sink->capacity ? sink->capacity - 1 : 0);
	reader_fill(r);
	return 0;

nomem:
	free(r->bufs);
	free(r->free);
	free(r->slots);
	r->bufs = NULL;
	r->free = NULL;
	r->slots = NULL;
	return -ENOMEM;
}

int ursa_file_reader_release(struct ursa_file_reader *r,
			     const struct ursa_emit_entry *entry)
{
	size_t delta;

	if ((char *)entry->ptr < r->bufs)
		return -EINVAL;
	delta = (size_t)((char *)entry->ptr - r->bufs);
	if (delta % reader_stride(r) ||
	    delta / reader_stride(r) >= r->nr_bufs || r->nr_free >= r->nr_bufs)
		return -EINVAL;
	r->free[r->nr_free++] = (unsigned int)(delta / reader_stride(r));
	reader_fill(r);
	return 0;
}

void ursa_file_reader_stop(struct ursa_file_reader *r)
{
	unsigned int i;

	if (r->stopping)
		return;
	r->stopping = true;
	for (i = 0; i < r->nr_bufs; i++)
		if (ursa_req_busy(&r->slots[i].req))
			ursa_cancel(r->loop, &r->slots[i].req);
	reader_check_end(r);
}

int ursa_file_reader_destroy(struct ursa_file_reader *r)
{
	if (r->inflight)
		return -EBUSY;
	free(r->bufs);
	free(r->free);
	free(r->slots);
	r->bufs = NULL;
	r->free = NULL;
	r->slots = NULL;
	return 0;
}
