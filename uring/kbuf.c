// SPDX-License-Identifier: MIT
/*
 * Provided buffer rings: registration, recycling, buffer ids, and waking
 * the multishot recvs that ran the ring dry.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <ursa/kbuf.h>

#include "internal.h"

int ursa_buf_ring_init(struct ursa_loop *loop, struct ursa_buf_ring *br,
		       uint16_t bgid, unsigned int nr, unsigned int size)
{
	struct io_uring_buf_reg reg;
	size_t ring_bytes;
	unsigned int i;
	int ret;

	memset(br, 0, sizeof(*br));
	ursa_list_init(&br->starved);
	if (!nr || nr > 32768 || (nr & (nr - 1)) || !size || size > (1u << 30))
		return -EINVAL;
	ring_bytes = (size_t)nr * sizeof(struct io_uring_buf);
	br->ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br->ring == MAP_FAILED) {
		br->ring = NULL;
		return -ENOMEM;
	}
	br->base = mmap(NULL, (size_t)nr * size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br->base == MAP_FAILED) {
		ret = -ENOMEM;
		goto err_ring;
	}

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br->ring;
	reg.ring_entries = nr;
	reg.bgid = bgid;
	ret = io_uring_register_buf_ring(&loop->ring, &reg, 0);
	if (ret) {
		/* Kernels before 5.19 do not know the opcode. */
		if (ret == -EINVAL)
			ret = -EOPNOTSUPP;
		goto err_base;
	}

	br->loop = loop;
	br->nr = nr;
	br->size = size;
	br->bgid = bgid;
	io_uring_buf_ring_init(br->ring);
	for (i = 0; i < nr; i++)
		io_uring_buf_ring_add(br->ring,
				      (char *)br->base + (size_t)i * size, size,
				      (unsigned short)i, nr - 1, (int)i);
	io_uring_buf_ring_advance(br->ring, (int)nr);
	br->available = nr;
	return 0;

err_base:
	munmap(br->base, (size_t)nr * size);
err_ring:
	munmap(br->ring, ring_bytes);
	br->ring = NULL;
	br->base = NULL;
	return ret;
}

void ursa_buf_ring_exit(struct ursa_buf_ring *br)
{
	if (!br->ring)
		return;
	io_uring_unregister_buf_ring(&br->loop->ring, br->bgid);
	munmap(br->base, (size_t)br->nr * br->size);
	munmap(br->ring, (size_t)br->nr * sizeof(struct io_uring_buf));
	br->ring = NULL;
	br->base = NULL;
}

void *ursa_buf_ring_addr(const struct ursa_buf_ring *br, unsigned int bid)
{
	if (bid >= br->nr)
		return NULL;
	return (char *)br->base + (size_t)bid * br->size;
}

int ursa_buf_ring_recycle(struct ursa_buf_ring *br, unsigned int bid)
{
	if (bid >= br->nr)
		return -EINVAL;
	if (br->available >= br->nr)
		return -EOVERFLOW;
	io_uring_buf_ring_add(br->ring, ursa_buf_ring_addr(br, bid), br->size,
			      (unsigned short)bid, br->nr - 1, 0);
	io_uring_buf_ring_advance(br->ring, 1);
	br->available++;
	/* Recvs that found the ring empty can go again. */
	while (!ursa_list_empty(&br->starved))
		__ursa_recv_rearm(br->starved.next);
	return 0;
}

int ursa_req_buf_id(const struct ursa_req *req)
{
	if (!(req->cqe_flags & IORING_CQE_F_BUFFER))
		return -ENOBUFS;
	return (int)(req->cqe_flags >> IORING_CQE_BUFFER_SHIFT);
}
