// SPDX-License-Identifier: MIT
/*
 * The chunk pipeline. The gated file reader keeps a queue depth of reads
 * in flight into an emit buffer; a batch take moves the chunks it emits,
 * which can complete out of order, into an input ring indexed by chunk
 * number; dispatch() hands them on in order: to the hash (run on the
 * loop's thread), to the zstd workers, to the frame parser (decompress),
 * or straight to the writer (copy). Workers post finished jobs back to
 * the loop. The ordered writer writes jobs by sequence number, several
 * writes in flight at their offsets (or one at a time to a pipe).
 *
 * Memory: the reader owns depth + capacity chunk buffers, there are as
 * many jobs, and for compress and decompress each job has an output
 * buffer: a bound of about 4 x depth x chunk, allocated once per run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fchunk.h"
#include "job.h"

/*
 * libxxhash exports XXH3 variants that pick SSE2, AVX2 or AVX-512 at run
 * time (xxhsum uses them); the plain ones are built for SSE2 only, which
 * hashes at less than half the speed. This header maps the XXH3 calls
 * below to them.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <xxh_x86dispatch.h>
#endif

struct fc_run {
	struct fc_ctx *g;
	struct ursa_loop *loop;
	enum fc_op op;
	const struct fc_io *io;
	uint32_t chunk; /* bytes per read */
	unsigned int rdepth; /* reads in flight */
	unsigned int rflags; /* URSA_FILE_READER_* */
	/* input */
	struct ursa_emit em;
	struct ursa_file_reader rd;
	struct ursa_take take;
	struct ursa_emit_entry *batch;
	unsigned int nbatch;
	bool reader_started;
	bool reader_ended; /* END or ERROR taken */
	bool in_eof; /* every input chunk has arrived */
	uint64_t aligned_end; /* where the reader stops with O_DIRECT */
	struct ursa_req tail_req;
	char *tail_buf;
	bool tail_busy;
	/* the input ring, by chunk number */
	struct ursa_emit_entry *inq;
	bool *inq_used;
	unsigned int nin;
	uint64_t next_in;
	uint64_t arrivals;
	size_t in_pos; /* bytes of chunk next_in consumed (decompress) */
	struct fc_hold *holds; /* decompress: nin of them */
	struct fc_hold *cur_hold; /* the chunk the frame finder is in */
	size_t give_max; /* bytes dz_scan() may hand back to the chunk */
	size_t given; /* bytes it handed back */
	bool input_done; /* dispatched everything, finalized */
	/* jobs */
	struct fc_job *jobs;
	unsigned int njobs;
	struct fc_job **free;
	unsigned int nfree;
	size_t ocap; /* output buffer per job (bytes) */
	size_t icap; /* decompress assembly buffer per job (bytes) */
	char *obufs;
	char *ibufs;
	uint64_t next_seq; /* decompress: next job's sequence number */
	/* the ordered writer */
	struct fc_job **wq;
	uint64_t next_out;
	uint64_t out_pos;
	unsigned int w_inflight; /* jobs being written */
	unsigned int w_max;
	unsigned int w_slots; /* writes in flight per job */
	/* hashing, on the loop's thread */
	XXH3_state_t *x3;
	XXH64_state_t *x64;
	int algo;
	bool hashing;
	/* decompress */
	struct fc_job *asm_job; /* the frame being assembled */
	bool pend_submit; /* asm_job holds a whole frame and more */
	uint64_t skip_left;
	bool streaming; /* a frame too big for a job, decoded here */
	struct fc_job *sout; /* its current output job */
	ZSTD_DCtx *sdctx;
	uint64_t frames;
	/* outcome */
	int status; /* FC_EXIT_* of the first error */
	struct fc_result *res;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void dispatch(struct fc_run *run);

static void run_fail(struct fc_run *run, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void run_fail(struct fc_run *run, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (run->status)
		return;
	run->status = status;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fc_err("%s", msg);
	if (run->reader_started && !run->reader_ended)
		ursa_file_reader_stop(&run->rd);
}

static const char *out_name(const struct fc_run *run)
{
	if (run->io->out_fd == 1)
		return "standard output";
	return run->io->out_name ? run->io->out_name : "output";
}

/* ---- jobs ---------------------------------------------------------- */

static struct fc_job *job_get(struct fc_run *run)
{
	struct fc_job *job;

	if (!run->nfree)
		return NULL;
	job = run->free[--run->nfree];
	job->busy = true;
	job->ent.ptr = NULL;
	job->in = NULL;
	job->in_len = 0;
	job->ibuf_len = 0;
	job->src = NULL;
	job->hold = NULL;
	job->frame_len = 0;
	job->olen = 0;
	job->zret = 0;
	return job;
}

static void release_input(struct fc_run *run, struct ursa_emit_entry *ent)
{
	if (!ent->ptr)
		return;
	if (ent->ptr != run->tail_buf)
		ursa_file_reader_release(&run->rd, ent);
	ent->ptr = NULL;
}

/* A job or the frame finder is done with a held chunk. */
static void hold_check(struct fc_run *run, struct fc_hold *h)
{
	if (h->refs || !h->parsed)
		return;
	release_input(run, &h->ent);
	h->parsed = false;
}

static void hold_unref(struct fc_run *run, struct fc_job *job)
{
	if (!job->hold)
		return;
	job->hold->refs--;
	hold_check(run, job->hold);
	job->hold = NULL;
}

static void job_put(struct fc_run *run, struct fc_job *job)
{
	hold_unref(run, job);
	release_input(run, &job->ent);
	job->busy = false;
	run->free[run->nfree++] = job;
}

void fc_job_work(struct fc_job *job, struct fc_tctx *t)
{
	struct fc_run *run = job->run;
	size_t n;

	switch (run->op) {
	case FC_HASH:
	case FC_COPY:
		if (run->algo == FC_XXH64)
			XXH64_update(run->x64, job->in, job->in_len);
		else if (run->algo == FC_XXH3)
			XXH3_64bits_update(run->x3, job->in, job->in_len);
		else
			XXH3_128bits_update(run->x3, job->in, job->in_len);
		if (run->g->o.per_chunk && run->op == FC_HASH) {
			if (run->algo == FC_XXH128)
				job->chunk_h128 =
					XXH3_128bits(job->in, job->in_len);
			else if (run->algo == FC_XXH64)
				job->chunk_h64 = XXH64(job->in, job->in_len, 0);
			else
				job->chunk_h64 =
					XXH3_64bits(job->in, job->in_len);
		}
		break;
	case FC_COMPRESS:
		if (!t->cctx) {
			job->zret = (size_t)-ZSTD_error_memory_allocation;
			break;
		}
		n = ZSTD_compress2(t->cctx, job->obuf, run->ocap, job->in,
				   job->in_len);
		if (ZSTD_isError(n))
			job->zret = n;
		else
			job->olen = n;
		break;
	case FC_DECOMPRESS:
		if (!t->dctx) {
			job->zret = (size_t)-ZSTD_error_memory_allocation;
			break;
		}
		n = ZSTD_decompressDCtx(t->dctx, job->obuf, run->ocap, job->src,
					job->frame_len);
		if (ZSTD_isError(n))
			job->zret = n;
		else if (n != job->fcs)
			job->zret = (size_t)-ZSTD_error_corruption_detected;
		else
			job->olen = n;
		break;
	case FC_READ:
		break;
	}
}

/* ---- the ordered writer -------------------------------------------- */

static void write_done(struct ursa_req *req, const struct ursa_exit *exit);

/* A job's writes are over: all done, or some failed. */
static void job_written(struct fc_run *run, struct fc_job *job)
{
	run->w_inflight--;
	job_put(run, job);
}

/*
 * Start writes of a job's next pieces, up to the slots it may use.
 * Returns false when the job is finished (written or failed, nothing in
 * flight) and has been put.
 */
static bool job_write_more(struct fc_run *run, struct fc_job *job)
{
	unsigned int i;

	for (i = 0; i < run->w_slots && !run->status; i++) {
		struct fc_wslot *s = &job->ws[i];
		size_t n = job->wlen - job->w_next;
		uint64_t off = URSA_OFF_CURRENT;

		if (!n)
			break;
		if (ursa_req_busy(&s->req))
			continue;
		if (n > FC_WPIECE)
			n = FC_WPIECE;
		if (run->io->out_seekable)
			off = job->w_off + job->w_next;
		if (ursa_write_full(run->loop, &s->req, run->io->out_fd,
				    (const char *)job->wptr + job->w_next,
				    (uint32_t)n, off)) {
			run_fail(run, FC_EXIT_OUTPUT, "cannot write '%s'",
				 out_name(run));
			break;
		}
		job->w_next += n;
		job->w_pending++;
	}
	if (job->w_pending)
		return true;
	job_written(run, job);
	return false;
}

static void writer_kick(struct fc_run *run)
{
	struct fc_job *job;

	while (run->w_inflight < run->w_max && !run->status) {
		job = run->wq[run->next_out % run->njobs];
		if (!job || job->seq != run->next_out)
			break;
		run->wq[run->next_out % run->njobs] = NULL;
		run->next_out++;
		job->w_off = run->out_pos;
		job->w_next = 0;
		run->out_pos += job->wlen;
		run->w_inflight++;
		job_write_more(run, job);
	}
}

static void writer_add(struct fc_run *run, struct fc_job *job)
{
	if (run->status) {
		job_put(run, job);
		return;
	}
	run->wq[job->seq % run->njobs] = job;
	writer_kick(run);
}

static void write_done(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct fc_wslot *s = ursa_container_of(req, struct fc_wslot, req);
	struct fc_job *job = s->job;
	struct fc_run *run = job->run;

	job->w_pending--;
	if (exit->kind != URSA_EXIT_SUCCESS) {
		int err = exit->kind == URSA_EXIT_INTERRUPT ? ECANCELED :
							      -exit->err;

		run_fail(run, FC_EXIT_OUTPUT, "cannot write '%s': %s",
			 out_name(run), strerror(err));
	} else {
		run->res->bytes_out += (uint64_t)exit->val;
	}
	if (job_write_more(run, job))
		return;
	writer_kick(run);
	dispatch(run);
}

/* ---- jobs back from the workers ------------------------------------ */

static void zstd_fail(struct fc_run *run, size_t code)
{
	if (run->op == FC_COMPRESS ||
	    ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation)
		run_fail(run, FC_EXIT_SYSTEM, "zstd: %s",
			 ZSTD_getErrorName(code));
	else
		run_fail(run, FC_EXIT_CORRUPT, "%s: corrupt zstd data: %s",
			 run->io->in_name, ZSTD_getErrorName(code));
}

static void print_chunk(struct fc_run *run, struct fc_job *job)
{
	struct fc_ctx *g = run->g;
	char hex[40];

	if (run->algo == FC_XXH128)
		snprintf(hex, sizeof(hex), "%016llx%016llx",
			 (unsigned long long)job->chunk_h128.high64,
			 (unsigned long long)job->chunk_h128.low64);
	else
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)job->chunk_h64);
	if (g->o.per_chunk == FC_PC_JSON) {
		fprintf(g->pc_out,
			"%s\n    {\"offset\": %llu, \"length\": %zu, "
			"\"hash\": \"%s\"}",
			g->pc_first ? "" : ",", (unsigned long long)job->off,
			job->in_len, hex);
		g->pc_first = false;
	} else {
		fprintf(g->pc_out, "%llu %zu %s\n",
			(unsigned long long)job->off, job->in_len, hex);
	}
}

static void job_back(struct ursa_work *w)
{
	struct fc_job *job = ursa_container_of(w, struct fc_job, work);
	struct fc_run *run = job->run;

	switch (run->op) {
	case FC_HASH:
		if (run->g->o.per_chunk && !run->status)
			print_chunk(run, job);
		job_put(run, job);
		break;
	case FC_COPY:
		/* --verify: the source chunk is hashed; now write it. */
		writer_add(run, job);
		break;
	case FC_COMPRESS:
	case FC_DECOMPRESS:
		release_input(run, &job->ent);
		hold_unref(run, job);
		if (job->zret) {
			zstd_fail(run, job->zret);
			job_put(run, job);
			break;
		}
		job->wptr = job->obuf;
		job->wlen = job->olen;
		writer_add(run, job);
		break;
	case FC_READ:
		job_put(run, job);
		break;
	}
	dispatch(run);
}

/* ---- decompress: find the frames ----------------------------------- */

static uint32_t le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

static void submit_frame(struct fc_run *run, struct fc_job *job)
{
	job->seq = run->next_seq++;
	run->frames++;
	fc_pool_submit(&run->g->zstd_pool, job);
}

/*
 * Make sure an assembly job exists and that a whole frame waiting in it
 * has been handed to the workers. False when no job is free: the parser
 * pauses until one comes back.
 */
static bool dz_settle(struct fc_run *run)
{
	struct fc_job *a = run->asm_job, *b;
	size_t left;

	if (a && !run->pend_submit)
		return true;
	b = job_get(run);
	if (!b)
		return false;
	if (a) {
		left = a->ibuf_len - a->frame_len;
		memcpy(b->ibuf, a->ibuf + a->frame_len, left);
		b->ibuf_len = left;
		run->pend_submit = false;
		a->src = a->ibuf;
		submit_frame(run, a);
	}
	run->asm_job = b;
	return true;
}

/* Look for whole frames at the start of the assembly buffer. */
static void dz_scan(struct fc_run *run)
{
	for (;;) {
		struct fc_job *a;
		unsigned long long fcs;
		uint32_t magic;
		size_t r, k;

		if (run->status || run->streaming || !dz_settle(run))
			return;
		a = run->asm_job;
		if (a->ibuf_len < 4)
			return;
		magic = le32(a->ibuf);
		if ((magic & 0xFFFFFFF0u) == ZSTD_MAGIC_SKIPPABLE_START) {
			uint64_t total;

			if (a->ibuf_len < 8)
				return;
			total = 8 + (uint64_t)le32(a->ibuf + 4);
			k = total < a->ibuf_len ? (size_t)total : a->ibuf_len;
			memmove(a->ibuf, a->ibuf + k, a->ibuf_len - k);
			a->ibuf_len -= k;
			run->skip_left = total - k;
			if (run->skip_left)
				return;
			continue;
		}
		if (magic != ZSTD_MAGICNUMBER) {
			run_fail(run, FC_EXIT_CORRUPT,
				 "%s: not in zstd format (bad frame magic)",
				 run->io->in_name);
			return;
		}
		r = ZSTD_findFrameCompressedSize(a->ibuf, a->ibuf_len);
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) != ZSTD_error_srcSize_wrong) {
				zstd_fail(run, r);
				return;
			}
			if (a->ibuf_len < run->icap)
				return; /* more bytes to come */
			fcs = ZSTD_CONTENTSIZE_UNKNOWN; /* too big: stream it */
		} else {
			fcs = ZSTD_getFrameContentSize(a->ibuf, r);
			if (fcs == ZSTD_CONTENTSIZE_ERROR) {
				run_fail(run, FC_EXIT_CORRUPT,
					 "%s: corrupt zstd frame header",
					 run->io->in_name);
				return;
			}
		}
		if (fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs > run->ocap) {
			/* Decode it here, streaming, from the buffer first. */
			run->streaming = true;
			run->frames++;
			ZSTD_DCtx_reset(run->sdctx, ZSTD_reset_session_only);
			return;
		}
		a->frame_len = r;
		a->fcs = fcs;
		run->pend_submit = true;
		if (a->ibuf_len - r <= run->give_max) {
			/*
			 * What follows the frame is still in the chunk: leave
			 * it there, so that the next frames can be decoded in
			 * place.
			 */
			run->given = a->ibuf_len - r;
			a->ibuf_len = r;
			run->give_max = 0;
		}
	}
}

/*
 * Decode some of a frame that is too big for a job, on the loop thread.
 * Returns the input bytes consumed; 0 with *paused when no output job is
 * free.
 */
static size_t dz_stream_step(struct fc_run *run, const char *p, size_t n,
			     bool *paused)
{
	ZSTD_inBuffer ib = { p, n, 0 };
	ZSTD_outBuffer ob;
	struct fc_job *o;
	size_t ret;

	*paused = false;
	if (!run->sout) {
		run->sout = job_get(run);
		if (!run->sout) {
			*paused = true;
			return 0;
		}
	}
	o = run->sout;
	ob.dst = o->obuf;
	ob.size = run->ocap;
	ob.pos = o->olen;
	ret = ZSTD_decompressStream(run->sdctx, &ob, &ib);
	if (ZSTD_isError(ret)) {
		zstd_fail(run, ret);
		return ib.pos;
	}
	o->olen = ob.pos;
	if (o->olen == run->ocap || (ret == 0 && o->olen)) {
		o->seq = run->next_seq++;
		o->wptr = o->obuf;
		o->wlen = o->olen;
		run->sout = NULL;
		writer_add(run, o);
	}
	if (ret == 0)
		run->streaming = false;
	else if (!ib.pos && ob.pos == 0 && n)
		run_fail(run, FC_EXIT_CORRUPT, "%s: zstd decoder stalled",
			 run->io->in_name);
	return ib.pos;
}

/*
 * A whole frame at @p, with nothing in the assembly buffer before it:
 * decode it where it is, in the reader's chunk, with no copy. Returns its
 * length, 0 to take the assembly path (a frame cut by the chunk's end,
 * not a plain frame, one too big for a job), or SIZE_MAX to wait for a
 * free job.
 */
static size_t dz_direct(struct fc_run *run, const char *p, size_t n)
{
	struct fc_job *job;
	unsigned long long fcs;
	size_t r;

	if (!run->cur_hold || run->pend_submit || run->streaming ||
	    (run->asm_job && run->asm_job->ibuf_len) || n < 4 ||
	    le32(p) != ZSTD_MAGICNUMBER)
		return 0;
	r = ZSTD_findFrameCompressedSize(p, n);
	if (ZSTD_isError(r))
		return 0;
	fcs = ZSTD_getFrameContentSize(p, r);
	if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN ||
	    fcs > run->ocap)
		return 0;
	job = job_get(run);
	if (!job)
		return SIZE_MAX;
	job->src = p;
	job->frame_len = r;
	job->fcs = fcs;
	job->hold = run->cur_hold;
	job->hold->refs++;
	submit_frame(run, job);
	return r;
}

/* Feed compressed bytes in order. Returns how many were consumed. */
static size_t dz_feed(struct fc_run *run, const char *p, size_t n)
{
	size_t used = 0, k;
	bool paused;

	while (used < n && !run->status) {
		if (run->skip_left) {
			k = n - used < run->skip_left ? n - used :
							(size_t)run->skip_left;
			run->skip_left -= k;
			used += k;
			continue;
		}
		if (run->streaming) {
			struct fc_job *a = run->asm_job;

			if (a->ibuf_len) {
				k = dz_stream_step(run, a->ibuf, a->ibuf_len,
						   &paused);
				if (paused)
					return used;
				memmove(a->ibuf, a->ibuf + k, a->ibuf_len - k);
				a->ibuf_len -= k;
				if (!run->streaming)
					dz_scan(run);
				continue;
			}
			k = dz_stream_step(run, p + used, n - used, &paused);
			if (paused)
				return used;
			used += k;
			continue;
		}
		if (!dz_settle(run))
			return used;
		if (run->pend_submit)
			return used;
		k = dz_direct(run, p + used, n - used);
		if (k == SIZE_MAX)
			return used;
		if (k) {
			used += k;
			continue;
		}
		k = run->icap - run->asm_job->ibuf_len;
		if (k > n - used)
			k = n - used;
		memcpy(run->asm_job->ibuf + run->asm_job->ibuf_len, p + used,
		       k);
		run->asm_job->ibuf_len += k;
		used += k;
		run->give_max = run->cur_hold ? k : 0;
		run->given = 0;
		dz_scan(run);
		used -= run->given;
		run->give_max = 0;
		run->given = 0;
	}
	return used;
}

/* The input is over: hand on what is left, or call it truncated. */
static bool dz_finish(struct fc_run *run)
{
	bool paused;

	dz_scan(run);
	if (run->status)
		return true;
	if (run->pend_submit || (!run->asm_job && !run->streaming)) {
		if (!dz_settle(run))
			return false;
		dz_scan(run);
		if (run->pend_submit)
			return false;
	}
	while (run->streaming && !run->status) {
		struct fc_job *a = run->asm_job;
		size_t before = run->sout ? run->sout->olen : 0;
		uint64_t seq = run->next_seq;
		size_t k;

		k = dz_stream_step(run, a->ibuf, a->ibuf_len, &paused);
		if (paused)
			return false;
		memmove(a->ibuf, a->ibuf + k, a->ibuf_len - k);
		a->ibuf_len -= k;
		if (!run->streaming) {
			dz_scan(run);
			return dz_finish(run);
		}
		if (!k && seq == run->next_seq &&
		    (run->sout ? run->sout->olen : 0) == before)
			break; /* no progress without more input */
	}
	if (run->status)
		return true;
	if (run->streaming || run->skip_left ||
	    (run->asm_job && run->asm_job->ibuf_len)) {
		run_fail(run, FC_EXIT_CORRUPT,
			 "%s: truncated zstd data (the last frame is cut "
			 "short)",
			 run->io->in_name);
		return true;
	}
	if (!run->frames) {
		run_fail(run, FC_EXIT_CORRUPT,
			 "%s: not in zstd format (no frame)", run->io->in_name);
		return true;
	}
	if (run->asm_job)
		job_put(run, run->asm_job);
	if (run->sout)
		job_put(run, run->sout);
	run->asm_job = NULL;
	run->sout = NULL;
	return true;
}

/* ---- dispatch ------------------------------------------------------- */

static bool input_ready(struct fc_run *run)
{
	return run->inq_used[run->next_in % run->nin];
}

static void input_consumed(struct fc_run *run, bool release)
{
	unsigned int i = run->next_in % run->nin;

	if (release)
		release_input(run, &run->inq[i]);
	run->inq_used[i] = false;
	run->next_in++;
	run->in_pos = 0;
}

/* The frame finder is past chunk next_in (decompress). */
static void dz_chunk_done(struct fc_run *run)
{
	struct fc_hold *h = run->cur_hold;

	run->cur_hold = NULL;
	if (!h) {
		input_consumed(run, true);
		return;
	}
	input_consumed(run, false);
	h->parsed = true;
	hold_check(run, h);
}

/*
 * Hash a chunk on the loop's thread, in order, and go on with it from the
 * run queue, as a worker's post would. XXH3 takes about 40 us per MiB
 * here, much less than the page-cache copy io-wq does for each read; a
 * hash thread of its own cost a cross-thread wake and a post per chunk,
 * and a third thread for two CPUs: 1.05x and 1.18x xxhsum against 1.25x
 * and 1.25x hashing here, alternating, same minutes (docs/fchunk.md).
 */
static void hash_here(struct fc_run *run, struct fc_job *job)
{
	fc_job_work(job, NULL);
	ursa_runq_queue(ursa_loop_runq(run->loop), &job->work);
}

static bool dispatch_one(struct fc_run *run)
{
	struct ursa_emit_entry *ent = &run->inq[run->next_in % run->nin];
	struct fc_job *job;
	size_t k;

	if (run->op == FC_DECOMPRESS) {
		if (!run->cur_hold && ent->ptr != run->tail_buf) {
			/* Jobs may decode from this chunk in place. */
			run->cur_hold = &run->holds[run->next_in % run->nin];
			run->cur_hold->ent = *ent;
		}
		k = dz_feed(run, (char *)ent->ptr + run->in_pos,
			    (size_t)ent->val - run->in_pos);
		run->in_pos += k;
		run->g->pdone += k;
		if (run->in_pos < (size_t)ent->val)
			return false;
		dz_chunk_done(run);
		return true;
	}
	if (run->op == FC_READ) {
		/* The read path alone, for benchmarks: drop the chunk. */
		run->res->chunks++;
		run->g->pdone += (uint64_t)ent->val;
		input_consumed(run, true);
		return true;
	}
	job = job_get(run);
	if (!job)
		return false;
	job->ent = *ent;
	job->in = ent->ptr;
	job->in_len = (size_t)ent->val;
	job->off = ent->tag;
	job->seq = run->next_in;
	run->res->chunks++;
	run->g->pdone += job->in_len;
	input_consumed(run, false);
	switch (run->op) {
	case FC_HASH:
		hash_here(run, job);
		break;
	case FC_COPY:
		job->wptr = job->in;
		job->wlen = job->in_len;
		if (run->hashing)
			hash_here(run, job);
		else
			writer_add(run, job);
		break;
	case FC_COMPRESS:
		fc_pool_submit(&run->g->zstd_pool, job);
		break;
	default:
		break;
	}
	return true;
}

/* After a failure: give back what waits, so that everything can stop. */
static void drain_after_failure(struct fc_run *run)
{
	unsigned int i;

	for (i = 0; i < run->njobs; i++) {
		if (run->wq[i])
			job_put(run, run->wq[i]);
		run->wq[i] = NULL;
	}
	if (run->cur_hold)
		dz_chunk_done(run);
	while (input_ready(run))
		input_consumed(run, true);
	if (run->asm_job)
		job_put(run, run->asm_job);
	if (run->sout)
		job_put(run, run->sout);
	run->asm_job = NULL;
	run->sout = NULL;
	run->pend_submit = false;
}

static void dispatch_input(struct fc_run *run)
{
	while (input_ready(run) && !run->status)
		if (!dispatch_one(run))
			return;
	if (!run->in_eof || run->input_done || run->status)
		return;
	if (run->op == FC_DECOMPRESS) {
		if (!dz_finish(run))
			return;
	} else if (run->op == FC_COMPRESS && !run->res->chunks) {
		/* An empty input still makes one (empty) frame. */
		struct fc_job *job = job_get(run);

		if (!job)
			return;
		job->seq = 0;
		run->res->chunks++;
		fc_pool_submit(&run->g->zstd_pool, job);
	}
	run->input_done = true;
}

static void dispatch(struct fc_run *run)
{
	if (!run->status)
		dispatch_input(run);
	if (run->status)
		drain_after_failure(run);
}

/* ---- the input ------------------------------------------------------ */

static void input_add(struct fc_run *run, const struct ursa_emit_entry *ent)
{
	uint64_t seq;
	unsigned int i;

	if (ent->ptr == run->tail_buf)
		seq = (run->aligned_end + run->chunk - 1) / run->chunk;
	else if (run->io->seekable)
		seq = ent->tag / run->chunk;
	else
		seq = run->arrivals;
	run->arrivals++;
	run->res->bytes_in += (uint64_t)ent->val;
	i = seq % run->nin;
	run->inq[i] = *ent;
	run->inq_used[i] = true;
}

static void tail_done(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct fc_run *run = ursa_container_of(req, struct fc_run, tail_req);
	struct ursa_emit_entry ent;

	run->tail_busy = false;
	if (exit->kind != URSA_EXIT_SUCCESS) {
		run_fail(run, FC_EXIT_INPUT, "%s: read error: %s",
			 run->io->in_name,
			 strerror(exit->kind == URSA_EXIT_INTERRUPT ?
					  ECANCELED :
					  -exit->err));
	} else if ((uint64_t)exit->val != run->io->size - run->aligned_end) {
		run_fail(run, FC_EXIT_INPUT,
			 "%s: the file shrank while it was read",
			 run->io->in_name);
	} else {
		ent.ptr = run->tail_buf;
		ent.val = exit->val;
		ent.tag = run->aligned_end;
		input_add(run, &ent);
	}
	run->in_eof = true;
	dispatch(run);
}

static void take_cb(struct ursa_take *t)
{
	struct fc_run *run = ursa_container_of(t, struct fc_run, take);
	unsigned int i;

	if (t->what == URSA_TAKE_ELEMENT) {
		for (i = 0; i < t->count; i++)
			input_add(run, &run->batch[i]);
		ursa_emit_take_batch(&run->em, &run->take, run->batch,
				     run->nbatch);
		dispatch(run);
		return;
	}
	run->reader_ended = true;
	if (t->what == URSA_TAKE_ERROR) {
		int err = t->exit.kind == URSA_EXIT_INTERRUPT ? ECANCELED :
								-t->exit.err;

		if (err == ENODATA)
			run_fail(run, FC_EXIT_INPUT,
				 "%s: the file shrank while it was read",
				 run->io->in_name);
		else
			run_fail(run, FC_EXIT_INPUT, "%s: read error: %s",
				 run->io->in_name, strerror(err));
		dispatch(run);
		return;
	}
	if (run->aligned_end < run->io->size && run->io->seekable &&
	    !run->status) {
		run->tail_busy = true;
		if (ursa_read_full(run->loop, &run->tail_req, run->io->tail_fd,
				   run->tail_buf,
				   (uint32_t)(run->io->size - run->aligned_end),
				   run->aligned_end)) {
			run->tail_busy = false;
			run_fail(run, FC_EXIT_INPUT, "%s: cannot read",
				 run->io->in_name);
		}
		return;
	}
	run->in_eof = true;
	dispatch(run);
}

static void progress_tick(struct ursa_timer *t)
{
	struct fc_ctx *g = t->data;

	fc_progress_print(g, false);
}

static bool run_finished(const struct fc_run *run)
{
	if (run->reader_started && !run->reader_ended)
		return false;
	if (run->tail_busy || run->w_inflight || run->nfree != run->njobs ||
	    run->sout || run->asm_job)
		return false;
	return run->status || run->input_done;
}

static int run_setup(struct fc_run *run)
{
	struct fc_ctx *g = run->g;
	unsigned int depth = g->o.depth, cap, i, k;
	size_t stride;

	cap = run->rdepth;
	if (ursa_emit_init(&run->em, ursa_loop_runq(run->loop), cap,
			   URSA_EMIT_SUSPEND))
		return -ENOMEM;
	run->njobs = 2 * depth + 2;
	run->nin = 2 * depth + 2;
	run->nbatch = cap + 1;
	run->batch = calloc(run->nbatch, sizeof(*run->batch));
	run->inq = calloc(run->nin, sizeof(*run->inq));
	run->inq_used = calloc(run->nin, sizeof(*run->inq_used));
	run->jobs = calloc(run->njobs, sizeof(*run->jobs));
	run->free = calloc(run->njobs, sizeof(*run->free));
	run->wq = calloc(run->njobs, sizeof(*run->wq));
	if (run->op == FC_DECOMPRESS) {
		run->holds = calloc(run->nin, sizeof(*run->holds));
		if (!run->holds)
			return -ENOMEM;
	}
	if (posix_memalign((void **)&run->tail_buf, 4096, 4096))
		run->tail_buf = NULL;
	if (!run->batch || !run->inq || !run->inq_used || !run->jobs ||
	    !run->free || !run->wq || !run->tail_buf)
		return -ENOMEM;
	if (run->op == FC_COMPRESS)
		run->ocap = ZSTD_compressBound(g->o.chunk);
	else if (run->op == FC_DECOMPRESS)
		run->ocap = g->o.chunk;
	if (run->op == FC_DECOMPRESS) {
		run->icap = ZSTD_compressBound(g->o.chunk) + 64;
		run->ibufs = malloc(run->icap * run->njobs);
		run->sdctx = ZSTD_createDCtx();
		if (!run->ibufs || !run->sdctx)
			return -ENOMEM;
	}
	stride = (run->ocap + 63) & ~(size_t)63;
	if (run->ocap) {
		run->obufs = malloc(stride * run->njobs);
		if (!run->obufs)
			return -ENOMEM;
	}
	for (i = 0; i < run->njobs; i++) {
		struct fc_job *job = &run->jobs[i];

		ursa_work_init(&job->work, job_back);
		ursa_list_init(&job->node);
		for (k = 0; k < FC_WSLOTS; k++) {
			ursa_req_init(&job->ws[k].req, write_done);
			job->ws[k].job = job;
		}
		job->run = run;
		if (run->obufs)
			job->obuf = run->obufs + stride * i;
		if (run->ibufs)
			job->ibuf = run->ibufs + run->icap * i;
		run->free[run->nfree++] = job;
	}
	/* A pipe takes one write at a time, in order. */
	run->w_max = run->io->out_seekable ? depth : 1;
	run->w_slots = run->io->out_seekable ? FC_WSLOTS : 1;
	ursa_take_init(&run->take, ursa_loop_runq(run->loop), take_cb);
	ursa_req_init(&run->tail_req, tail_done);
	return 0;
}

static void run_teardown(struct fc_run *run)
{
	if (run->reader_started)
		ursa_file_reader_destroy(&run->rd);
	ursa_emit_destroy(&run->em);
	free(run->batch);
	free(run->inq);
	free(run->inq_used);
	free(run->jobs);
	free(run->free);
	free(run->wq);
	free(run->holds);
	free(run->tail_buf);
	free(run->obufs);
	free(run->ibufs);
	ZSTD_freeDCtx(run->sdctx);
	XXH3_freeState(run->x3);
	XXH64_freeState(run->x64);
}

int fc_run(struct fc_ctx *g, enum fc_op op, const struct fc_io *io,
	   struct fc_result *res)
{
	struct fc_run run = { 0 };
	struct ursa_timer tick;
	uint64_t len;
	int ret;

	memset(res, 0, sizeof(*res));
	run.g = g;
	run.loop = &g->loop;
	run.op = op;
	run.io = io;
	run.res = res;
	run.chunk = g->o.chunk;
	run.rdepth = g->o.depth;
	if (op == FC_DECOMPRESS) {
		/*
		 * Read f times bigger pieces, f times fewer at once (the
		 * same memory): the frames of a chunk-size compress then lie
		 * mostly inside one piece, where they are decoded in place,
		 * and fewer have to be copied together across two.
		 */
		unsigned int f = run.rdepth < 4 ? run.rdepth : 4;

		while (f > 1 && (uint64_t)run.chunk * f > (1u << 30))
			f--;
		run.rdepth /= f;
		run.chunk *= f;
	} else if (op == FC_HASH && !io->direct && io->seekable) {
		/*
		 * A cached read is copied inline, on the loop's thread, and
		 * that copy costs as much as xxhsum's whole run: have io-wq
		 * do it, so that the copies spread over the CPUs and hashing
		 * on the loop's thread is the only serial stage. One read in
		 * flight per CPU keeps them busy; more workers would only
		 * crowd out the loop's thread.
		 */
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		if (ncpu > 0 && run.rdepth > (unsigned long)ncpu)
			run.rdepth = (unsigned int)ncpu;
		run.rflags = URSA_FILE_READER_ASYNC;
	}
	run.algo = io->algo;
	run.hashing = op == FC_HASH || (op == FC_COPY && g->o.verify);
	if (run_setup(&run)) {
		fc_err("out of memory");
		run_teardown(&run);
		return FC_EXIT_SYSTEM;
	}
	if (run.hashing) {
		run.x3 = XXH3_createState();
		run.x64 = XXH64_createState();
		if (!run.x3 || !run.x64) {
			fc_err("out of memory");
			run_teardown(&run);
			return FC_EXIT_SYSTEM;
		}
		XXH3_128bits_reset(run.x3);
		XXH64_reset(run.x64, 0);
		if (run.algo == FC_XXH3)
			XXH3_64bits_reset(run.x3);
	}
	g->pname = io->in_name;
	g->ptotal = io->seekable ? io->size : 0;
	g->pdone = 0;
	g->pstart = now_ns();
	g->pshown = false;

	len = URSA_OFF_CURRENT;
	run.aligned_end = io->seekable ? io->size : 0;
	if (io->direct) {
		run.aligned_end = io->size & ~(uint64_t)4095;
		len = run.aligned_end;
	}
	if (io->seekable && run.aligned_end == 0) {
		/* Nothing for the reader: only a tail, or nothing at all. */
		struct ursa_exit e = ursa_exit_success(0);
		struct ursa_take *t = &run.take;

		t->what = URSA_TAKE_END;
		t->exit = e;
		take_cb(t);
	} else {
		ret = ursa_file_reader_start_flags(&g->loop, &run.rd, io->in_fd,
						   &run.em, run.chunk,
						   run.rdepth, 0, len,
						   run.rflags);
		if (ret) {
			fc_err("%s: cannot start reading: %s", io->in_name,
			       strerror(-ret));
			run_teardown(&run);
			return ret == -ENOMEM ? FC_EXIT_SYSTEM : FC_EXIT_INPUT;
		}
		run.reader_started = true;
		ursa_emit_take_batch(&run.em, &run.take, run.batch, run.nbatch);
	}
	ursa_timer_init(&tick, progress_tick);
	tick.data = g;
	if (g->progress)
		ursa_timer_start(&g->loop, &tick, 200000000ull, 200000000ull);
	while (!run_finished(&run)) {
		ret = fc_loop_turn(g);
		if (ret < 0) {
			run_fail(&run, FC_EXIT_SYSTEM, "io_uring: %s",
				 strerror(-ret));
			break;
		}
	}
	if (g->progress) {
		ursa_timer_cancel(&tick);
		while (ursa_timer_armed(&tick))
			ursa_loop_run_once(&g->loop, false);
		if (!run.status)
			fc_progress_print(g, true);
		else if (g->pshown)
			fputs("\n", stderr);
	}
	/* A .zst's chunks are its frames, whatever the reads were. */
	if (op == FC_DECOMPRESS)
		res->chunks = run.frames;
	if (!run.status && run.hashing) {
		if (run.algo == FC_XXH64)
			res->h64 = XXH64_digest(run.x64);
		else if (run.algo == FC_XXH3)
			res->h64 = XXH3_64bits_digest(run.x3);
		else
			res->h128 = XXH3_128bits_digest(run.x3);
	}
	ret = run.status;
	run_teardown(&run);
	return ret;
}
