/* SPDX-License-Identifier: MIT */
/*
 * ursa-fchunk: chunked file hashing, copying and compression on the loop.
 * Shared declarations of main.c (the command line), pipe.c (the chunk
 * pipeline) and pool.c (the worker pool).
 */
#ifndef FCHUNK_H
#define FCHUNK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <ursa/ursa.h>

/* Exit codes, documented in docs/fchunk.md and the usage text. */
#define FC_EXIT_OK 0
#define FC_EXIT_MISMATCH 1 /* a checksum or --verify did not match */
#define FC_EXIT_USAGE 2 /* bad command line */
#define FC_EXIT_INPUT 3 /* the input cannot be opened or read */
#define FC_EXIT_OUTPUT 4 /* the output cannot be created or written */
#define FC_EXIT_CORRUPT 5 /* a corrupt or truncated .zst */
#define FC_EXIT_SYSTEM 6 /* io_uring, memory or threads unavailable */

enum fc_op { FC_HASH, FC_COPY, FC_COMPRESS, FC_DECOMPRESS, FC_READ };

enum fc_algo { FC_XXH3, FC_XXH128, FC_XXH64 };

enum fc_per_chunk { FC_PC_NONE, FC_PC_TEXT, FC_PC_JSON };

struct fc_opts {
	uint32_t chunk;
	unsigned int depth;
	unsigned int threads;
	int level;
	int algo;
	int per_chunk;
	int progress; /* -1: when stderr is a TTY */
	bool direct;
	bool force;
	bool json;
	bool preserve;
	bool verify;
	bool check;
};

struct fc_job;

/* Per-thread state of a worker, and of the loop's thread when it helps. */
struct fc_tctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

/*
 * struct fc_pool - zstd worker threads that take jobs from a FIFO, run them
 * and post them back to the loop with ursa_loop_post(). The loop's thread
 * also runs queued jobs when it would otherwise wait (fc_loop_turn()).
 * Jobs finish in any order; the ordered writer puts them back in order.
 */
struct fc_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ursa_list_head queue;
	bool stop;
	unsigned int nr;
	pthread_t *threads;
	struct ursa_loop *loop;
	struct fc_tctx loop_ctx; /* zstd: the loop's, for jobs it runs */
	int level;
};

int fc_pool_start(struct fc_pool *p, struct ursa_loop *loop, unsigned int nr,
		  int level);
void fc_pool_submit(struct fc_pool *p, struct fc_job *job);
void fc_pool_stop(struct fc_pool *p);

/* What one run of the pipeline produced. */
struct fc_result {
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t chunks;
	uint64_t h64;
	XXH128_hash_t h128;
};

/* The process-wide state: the loop, the pools, the options. */
struct fc_ctx {
	struct ursa_loop loop;
	struct fc_opts o;
	struct fc_pool zstd_pool;
	bool zstd_pool_up;
	int wait_fd; /* eventfd the loop waits on under valgrind, or -1 */
	/* progress */
	bool progress;
	const char *pname;
	uint64_t ptotal;
	uint64_t pdone;
	uint64_t pstart;
	bool pshown;
	/* per-chunk output */
	FILE *pc_out;
	bool pc_first;
};

/* What to run: an input, an optional output, and how to tell errors. */
struct fc_io {
	int in_fd;
	int tail_fd; /* buffered fd for the unaligned tail with O_DIRECT */
	const char *in_name;
	uint64_t size; /* bytes, or UINT64_MAX when not seekable */
	bool seekable;
	bool direct;
	int out_fd; /* -1 for hash */
	const char *out_name;
	bool out_seekable;
	int algo;
};

/*
 * Run one input through the pipeline. On failure a one-line message has
 * been printed; returns an FC_EXIT_* code.
 */
int fc_run(struct fc_ctx *g, enum fc_op op, const struct fc_io *io,
	   struct fc_result *res);

void fc_progress_print(struct fc_ctx *g, bool final);

int fc_loop_wait_setup(struct fc_ctx *g);
int fc_loop_turn(struct fc_ctx *g);

void fc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* FCHUNK_H */
