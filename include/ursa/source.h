/* SPDX-License-Identifier: MIT */
/**
 * DOC: I/O sources
 *
 * A source turns CQEs into entries of an emit buffer, and stops
 * submitting while that buffer is full: the consumer's pace reaches the
 * kernel. Each source registers itself as the buffer's producer
 * (ursa_emit_set_producer(), with the buffer's @data pointing at the
 * source), so the buffer calls it back when it has drained.
 *
 * - The accept source emits each new socket as a value. Into a suspend
 *   buffer it accepts one connection per submission and submits the next
 *   only while the buffer takes them, so that connections wait in the
 *   kernel's listen backlog while the buffer is full (a multishot accept
 *   would take a whole burst out of the backlog at once). Into the other
 *   strategies, which never refuse for room, it runs a multishot accept.
 * - The recv source runs a multishot recv into a provided buffer ring and
 *   emits each CQE's bytes as a chunk (ptr, length, tag = buffer id). The
 *   consumer gives each chunk back with ursa_recv_source_release(). The
 *   emit buffer holds at least as many entries as the ring has buffers,
 *   so while the consumer holds them the ring runs dry, the recv ends
 *   with -ENOBUFS and is not armed again until buffers come back. Memory
 *   is bounded by the ring: its buffer count times its buffer size.
 * - The file reader keeps up to a queue depth of reads in flight, each a
 *   whole chunk at its own offset, and emits each chunk (ptr, length, tag
 *   = file offset) as it completes, so chunks can arrive out of order. It
 *   submits a read only while reads in flight plus buffered chunks stay
 *   below the buffer's capacity: a stalled consumer stops it at capacity.
 * - The tick source emits a periodic timer's expiry count; give it a
 *   dropping or sliding buffer.
 *
 * The end of the input ends the stream; an error fails it with the
 * errno. Sources belong to their loop's thread.
 */
#ifndef URSA_SOURCE_H
#define URSA_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <ursa/emit.h>
#include <ursa/kbuf.h>
#include <ursa/loop.h>
#include <ursa/timer.h>

/**
 * URSA_ACCEPT_SOURCE_HELD - Sockets an accept source can hold while its
 * cancel is on the way (count).
 */
#define URSA_ACCEPT_SOURCE_HELD 64

/**
 * struct ursa_accept_source - Accept connections into an emit buffer.
 * @req: The accept: single-shot into a suspend buffer, else multishot.
 * @loop: The loop.
 * @sink: The emit buffer that receives the sockets.
 * @fd: The listening socket.
 * @held: Sockets accepted after the buffer turned full, oldest first.
 * @nr_held: How many (count).
 * @nr_dropped: Sockets closed because even @held was full (count).
 * @stopping: ursa_accept_source_stop() was called.
 * @paused: The accept is not armed because the buffer is full.
 * @backoff: Re-arms the accept after a transient error (EMFILE and the
 *	like), instead of spinning.
 */
struct ursa_accept_source {
	struct ursa_req req;
	struct ursa_loop *loop;
	struct ursa_emit *sink;
	int fd;
	int held[URSA_ACCEPT_SOURCE_HELD];
	unsigned int nr_held;
	uint64_t nr_dropped;
	bool stopping;
	bool paused;
	struct ursa_timer backoff;
};

/**
 * ursa_accept_source_start() - Accept connections into an emit buffer.
 * @loop: The loop.
 * @src: The source, in caller-owned memory.
 * @fd: A listening socket.
 * @sink: An emit buffer with no producer yet; each entry's value is a new
 *	socket, which the consumer owns.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno from ursa_accept() or
 * ursa_accept_multishot(), or:
 * * -EINVAL - @sink already has a producer.
 */
int ursa_accept_source_start(struct ursa_loop *loop,
			     struct ursa_accept_source *src, int fd,
			     struct ursa_emit *sink);

/**
 * ursa_accept_source_stop() - Stop accepting and end the stream.
 * @src: The source.
 *
 * Sockets held back are closed. The stream ends once the accept has
 * completed.
 *
 * Context: The loop's thread.
 */
void ursa_accept_source_stop(struct ursa_accept_source *src);

/**
 * struct ursa_recv_source - Multishot recv into an emit buffer.
 * @req: The multishot recv.
 * @loop: The loop.
 * @sink: The emit buffer.
 * @br: The provided buffer ring the recv uses.
 * @fd: The socket.
 * @bytes: Bytes received (count).
 * @stopping: ursa_recv_source_stop() was called.
 */
struct ursa_recv_source {
	struct ursa_req req;
	struct ursa_loop *loop;
	struct ursa_emit *sink;
	struct ursa_buf_ring br;
	int fd;
	uint64_t bytes;
	bool stopping;
};

/**
 * ursa_recv_source_start() - Receive a socket's bytes into an emit buffer.
 * @loop: The loop.
 * @src: The source, in caller-owned memory.
 * @fd: A connected socket.
 * @sink: An emit buffer with no producer yet and a capacity of at least
 *	@nr_bufs entries (or unbounded).
 * @bgid: A buffer group id unique on @loop.
 * @nr_bufs: Buffers in the ring (count, a power of 2).
 * @buf_size: Bytes per buffer.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno from ursa_buf_ring_init() or
 * ursa_recv_multishot(), or:
 * * -EINVAL - @sink holds fewer entries than @nr_bufs, or already has a
 *   producer.
 */
int ursa_recv_source_start(struct ursa_loop *loop, struct ursa_recv_source *src,
			   int fd, struct ursa_emit *sink, uint16_t bgid,
			   unsigned int nr_bufs, unsigned int buf_size);

/**
 * ursa_recv_source_release() - Give a consumed chunk's buffer back.
 * @src: The source.
 * @entry: The entry the consumer took.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno from ursa_buf_ring_recycle().
 */
int ursa_recv_source_release(struct ursa_recv_source *src,
			     const struct ursa_emit_entry *entry);

/**
 * ursa_recv_source_stop() - Stop receiving.
 * @src: The source.
 *
 * The recv is cancelled; the stream then fails with INTERRUPT.
 *
 * Context: The loop's thread.
 */
void ursa_recv_source_stop(struct ursa_recv_source *src);

/**
 * ursa_recv_source_destroy() - Free the buffer ring.
 * @src: A source whose recv has completed (its stream is over).
 *
 * Context: The loop's thread.
 */
void ursa_recv_source_destroy(struct ursa_recv_source *src);

struct __ursa_read_slot;

/**
 * struct ursa_file_reader - Chunked reads of a file into an emit buffer.
 * @loop: The loop.
 * @sink: The emit buffer.
 * @fd: The file.
 * @chunk: Bytes per chunk.
 * @depth: Reads in flight at most (count).
 * @off: The next offset to read (bytes).
 * @end: Where to stop (bytes), or %URSA_OFF_CURRENT to read a stream
 *	sequentially until it ends.
 * @inflight: Reads in flight (count).
 * @nr_bufs: Chunk buffers (count).
 * @bufs: The chunk buffers, one allocation, aligned for O_DIRECT.
 * @free: Free buffer indices, a stack.
 * @nr_free: Entries on @free (count).
 * @slots: One request and its offset per buffer; internal.
 * @err: The first error, or 0.
 * @eof: The stream reached its end.
 * @stopping: ursa_file_reader_stop() was called.
 * @ended: The stream was ended or failed.
 * @bytes: Bytes read (count).
 * @reads: Reads submitted (count).
 */
struct ursa_file_reader {
	struct ursa_loop *loop;
	struct ursa_emit *sink;
	int fd;
	uint32_t chunk;
	unsigned int depth;
	uint64_t off;
	uint64_t end;
	unsigned int inflight;
	unsigned int nr_bufs;
	char *bufs;
	unsigned int *free;
	unsigned int nr_free;
	struct __ursa_read_slot *slots;
	int err;
	bool eof;
	bool stopping;
	bool ended;
	uint64_t bytes;
	uint64_t reads;
};

/**
 * ursa_file_reader_start() - Read a file in chunks into an emit buffer.
 * @loop: The loop.
 * @r: The reader, in caller-owned memory.
 * @fd: The file; a regular file is read at offsets, anything else
 *	sequentially with one read in flight.
 * @sink: A bounded emit buffer with no producer yet.
 * @chunk: Bytes per chunk, 1 to 1 GiB; a multiple of 4096 for O_DIRECT.
 * @depth: Reads in flight at most (count), 1 to 256.
 * @off: The first offset (bytes).
 * @len: Bytes to read from @off, or %URSA_OFF_CURRENT for all of it (to
 *	the size the file has now, or to the end of a stream).
 *
 * Allocates the chunk buffers once: @depth plus the sink's capacity of
 * them. The consumer gives each chunk back with ursa_file_reader_release().
 * A file that turns out shorter than its size at start fails the stream
 * with -ENODATA.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @chunk, @depth or @sink is out of range, or @sink already has
 *   a producer or is unbounded.
 * * -ENOMEM - the buffers could not be allocated.
 * * an errno from fstat(2).
 */
int ursa_file_reader_start(struct ursa_loop *loop, struct ursa_file_reader *r,
			   int fd, struct ursa_emit *sink, uint32_t chunk,
			   unsigned int depth, uint64_t off, uint64_t len);

/**
 * URSA_FILE_READER_ASYNC - Reader flag: start every read with IOSQE_ASYNC
 * (see ursa_req_set_async()), so that the kernel's workers copy cached
 * pages on other CPUs instead of the loop's thread. Worth it when the
 * consumer runs on another thread and the copy is the bottleneck; not for
 * O_DIRECT, which is asynchronous anyway.
 */
#define URSA_FILE_READER_ASYNC (1u << 0)

/**
 * ursa_file_reader_start_flags() - ursa_file_reader_start() with flags.
 * @loop: The loop.
 * @r: The reader, in caller-owned memory.
 * @fd: The file, as for ursa_file_reader_start().
 * @sink: A bounded emit buffer with no producer yet.
 * @chunk: Bytes per chunk, 1 to 1 GiB; a multiple of 4096 for O_DIRECT.
 * @depth: Reads in flight at most (count), 1 to 256.
 * @off: The first offset (bytes).
 * @len: Bytes to read from @off, or %URSA_OFF_CURRENT for all of it.
 * @flags: 0 or %URSA_FILE_READER_ASYNC.
 *
 * The same reader as ursa_file_reader_start(), which is this with
 * @flags 0.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno as for ursa_file_reader_start(); -EINVAL
 * also for an unknown bit in @flags.
 */
int ursa_file_reader_start_flags(struct ursa_loop *loop,
				 struct ursa_file_reader *r, int fd,
				 struct ursa_emit *sink, uint32_t chunk,
				 unsigned int depth, uint64_t off, uint64_t len,
				 unsigned int flags);

/**
 * ursa_file_reader_release() - Give a consumed chunk's buffer back.
 * @r: The reader.
 * @entry: The entry the consumer took.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @entry's buffer is not one of @r's.
 */
int ursa_file_reader_release(struct ursa_file_reader *r,
			     const struct ursa_emit_entry *entry);

/**
 * ursa_file_reader_stop() - Stop reading.
 * @r: The reader.
 *
 * Reads in flight are cancelled; the stream fails with INTERRUPT once
 * they have completed.
 *
 * Context: The loop's thread.
 */
void ursa_file_reader_stop(struct ursa_file_reader *r);

/**
 * ursa_file_reader_destroy() - Free the reader's buffers.
 * @r: A reader with no read in flight.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - reads are still in flight; run the loop first.
 */
int ursa_file_reader_destroy(struct ursa_file_reader *r);

/**
 * struct ursa_tick_source - A periodic timer into an emit buffer.
 * @timer: The timer.
 * @sink: The emit buffer.
 * @ticks: Expiries so far (count).
 * @refused: Ticks the buffer refused (count).
 */
struct ursa_tick_source {
	struct ursa_timer timer;
	struct ursa_emit *sink;
	uint64_t ticks;
	uint64_t refused;
};

/**
 * ursa_tick_source_start() - Emit a tick count every period.
 * @loop: The loop.
 * @s: The source, in caller-owned memory.
 * @sink: The emit buffer; dropping or sliding suit ticks.
 * @period_ns: The period (ns), not 0.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @period_ns is 0.
 * * -ESHUTDOWN - the loop is exiting.
 */
int ursa_tick_source_start(struct ursa_loop *loop, struct ursa_tick_source *s,
			   struct ursa_emit *sink, uint64_t period_ns);

/**
 * ursa_tick_source_stop() - Stop ticking and end the stream.
 * @s: The source.
 *
 * Context: The loop's thread.
 */
void ursa_tick_source_stop(struct ursa_tick_source *s);

#endif /* URSA_SOURCE_H */
