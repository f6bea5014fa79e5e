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

struct fc_job {
	struct ursa_work work; /* run on the loop when a worker is done */
	struct ursa_list_head node; /* on a pool's queue */
	struct ursa_req wreq; /* the write */
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
