/* SPDX-License-Identifier: MIT */
/*
 * One chunk's job: it carries a chunk from the reader through the stage
 * (a worker, or none) to the ordered writer. A run allocates its jobs
 * once; a chunk in steady state allocates nothing.
 */
#ifndef FCHUNK_JOB_H
#define FCHUNK_JOB_H

#include "fchunk.h"

struct fc_run;

/*
 * decompress: a reader chunk that jobs decode from in place, given back
 * once the frame finder is past it and no job reads it any more.
 */
struct fc_hold {
	struct ursa_emit_entry ent;
	unsigned int refs; /* jobs decoding from it */
	bool parsed; /* the frame finder is done with it */
};

/*
 * The ordered writer writes a job's output in pieces of at most
 * FC_WPIECE bytes, up to FC_WSLOTS of them in flight per job. A buffered
 * write of L bytes makes the page cache take folios of up to L bytes.
 * 32 KiB is order 3 (PAGE_ALLOC_COSTLY_ORDER), the largest order the
 * page allocator keeps on its per-CPU lists of recently freed pages.
 * Bigger folios come from the buddy lists, more often out of the 2 MiB
 * blocks that free page reporting (virtio-balloon) hands back to the
 * host, and every page of those faults in the host when it is first
 * written. On the VM of docs/fchunk.md, right after
 * zstd -d, decompress took a median 1.51 s in 32 KiB pieces against
 * 1.99 s in 128 KiB ones. Where freed memory stays warm, 128 KiB costs
 * less system time (1.25 against 1.45 s there, reporting switched off).
 */
#define FC_WPIECE (32u << 10)
/*
 * 32 pieces are a whole 1 MiB job in flight: io-wq then has writes queued
 * while the loop's thread runs a job itself (pool.c), 1 to 3 ms. With 8,
 * it ran dry, and the loop's help cost more than it saved.
 */
#define FC_WSLOTS 32

struct fc_job;

/* One write of a piece of a job's output. */
struct fc_wslot {
	struct ursa_req req;
	struct fc_job *job;
};

struct fc_job {
	struct ursa_work work; /* run on the loop when a worker is done */
	struct ursa_list_head node; /* on a pool's queue */
	struct fc_wslot ws[FC_WSLOTS]; /* its writes */
	uint64_t w_off; /* where its output goes (bytes) */
	size_t w_next; /* bytes of it handed to writes */
	unsigned int w_pending; /* writes in flight */
	struct fc_run *run;
	uint64_t seq; /* output order */
	uint64_t off; /* input offset (bytes) */
	struct ursa_emit_entry ent; /* the reader's chunk, ptr NULL if none */
	const char *in;
	size_t in_len;
	char *ibuf; /* decompress: the frame being assembled */
	const char *src; /* decompress: the frame, in ibuf or in a chunk */
	struct fc_hold *hold; /* the chunk src points into, or NULL */
	size_t ibuf_len;
	size_t frame_len;
	uint64_t fcs; /* the frame's content size */
	char *obuf; /* compress/decompress output */
	size_t olen;
	const void *wptr; /* what the writer writes */
	size_t wlen;
	uint64_t chunk_h64;
	XXH128_hash_t chunk_h128;
	size_t zret; /* a zstd error code, or 0 */
	bool busy;
};

void fc_job_work(struct fc_job *job, struct fc_tctx *t);

#endif /* FCHUNK_JOB_H */
