/* SPDX-License-Identifier: MIT */
/**
 * DOC: Provided buffer rings
 *
 * A provided buffer ring lends the kernel a set of equal buffers, so that
 * a multishot recv picks one per CQE instead of each connection holding a
 * buffer while it waits. The CQE names the buffer it used by id; the
 * consumer gives it back with ursa_buf_ring_recycle() when it is done
 * with the bytes. A recv that finds the ring empty ends with -ENOBUFS;
 * ursa parks it and arms it again on the next recycle.
 *
 * The ring and its buffers are allocated once, at init: nothing on the
 * data path allocates. io_uring: IORING_REGISTER_PBUF_RING.
 */
#ifndef URSA_KBUF_H
#define URSA_KBUF_H

#include <stdint.h>

#include <ursa/list.h>
#include <ursa/loop.h>

/**
 * struct ursa_buf_ring - A provided buffer ring and its buffers.
 * @loop: The loop it is registered with.
 * @ring: The shared ring of buffer descriptors.
 * @base: The buffers, @nr of @size bytes, one mapping.
 * @nr: Buffers (count), a power of 2.
 * @size: Bytes per buffer.
 * @bgid: The buffer group id the kernel knows it by.
 * @available: Buffers in the ring, ready for the kernel (count).
 * @starved: Multishot recvs parked on -ENOBUFS until a buffer returns.
 */
struct ursa_buf_ring {
	struct ursa_loop *loop;
	struct io_uring_buf_ring *ring;
	void *base;
	unsigned int nr;
	unsigned int size;
	uint16_t bgid;
	unsigned int available;
	struct ursa_list_head starved;
};

/**
 * ursa_buf_ring_init() - Allocate and register a buffer ring.
 * @loop: The loop.
 * @br: The ring, in caller-owned memory.
 * @bgid: A buffer group id unique on @loop.
 * @nr: Buffers (count): a power of 2 from 1 to 32768.
 * @size: Bytes per buffer, 1 to 1 GiB.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @nr is not a power of 2 in range, or @size is out of range.
 * * -ENOMEM - the buffers could not be mapped.
 * * -EEXIST - @bgid is already registered on @loop.
 * * -EOPNOTSUPP - the kernel has no buffer rings (before 5.19).
 */
int ursa_buf_ring_init(struct ursa_loop *loop, struct ursa_buf_ring *br,
		       uint16_t bgid, unsigned int nr, unsigned int size);

/**
 * ursa_buf_ring_exit() - Unregister a buffer ring and free its memory.
 * @br: The ring. No request may still use it.
 *
 * Context: The loop's thread, once every request on the ring completed.
 */
void ursa_buf_ring_exit(struct ursa_buf_ring *br);

/**
 * ursa_buf_ring_addr() - The address of a buffer.
 * @br: The ring.
 * @bid: A buffer id, from ursa_req_buf_id().
 *
 * Context: The loop's thread.
 * Return: the buffer's address, or %NULL if @bid is out of range.
 */
void *ursa_buf_ring_addr(const struct ursa_buf_ring *br, unsigned int bid);

/**
 * ursa_buf_ring_recycle() - Give a buffer back to the kernel.
 * @br: The ring.
 * @bid: The buffer id the consumer was handed.
 *
 * Arms again any multishot recv that was parked on -ENOBUFS.
 *
 * Context: The loop's thread.
 * Return: 0, or a negative errno:
 * * -EINVAL - @bid is out of range.
 * * -EOVERFLOW - every buffer is already in the ring (a double recycle).
 */
int ursa_buf_ring_recycle(struct ursa_buf_ring *br, unsigned int bid);

/**
 * ursa_req_buf_id() - The buffer a CQE used.
 * @req: A request, in its callback.
 *
 * Context: The request's completion callback.
 * Return: the buffer id from the last CQE's flags, or -ENOBUFS if that
 * CQE carried no buffer.
 */
int ursa_req_buf_id(const struct ursa_req *req);

#endif /* URSA_KBUF_H */
