// SPDX-License-Identifier: MIT
/*
 * The zstd worker pool: threads that take jobs from a locked FIFO, run
 * them (compress or decompress one chunk), and hand each one back to the
 * loop with ursa_loop_post(), so that results are only ever touched on
 * the loop's thread. Jobs are embedded, so submitting allocates nothing.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "fchunk.h"
#include "job.h"

/* A thread's zstd contexts; a NULL one fails its jobs, see fc_job_work(). */
static void tctx_init(const struct fc_pool *p, struct fc_tctx *t)
{
	t->cctx = ZSTD_createCCtx();
	t->dctx = ZSTD_createDCtx();
	if (t->cctx) {
		ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel,
				       p->level);
		ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_checksumFlag, 1);
	}
}

static void tctx_free(struct fc_tctx *t)
{
	ZSTD_freeCCtx(t->cctx);
	ZSTD_freeDCtx(t->dctx);
	t->cctx = NULL;
	t->dctx = NULL;
}

static void *worker(void *arg)
{
	struct fc_pool *p = arg;
	struct fc_tctx t = { 0 };
	struct fc_job *job;

	tctx_init(p, &t);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (ursa_list_empty(&p->queue) && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (ursa_list_empty(&p->queue))
			break;
		job = ursa_list_first_entry(&p->queue, struct fc_job, node);
		ursa_list_del_init(&job->node);
		pthread_mutex_unlock(&p->lock);
		fc_job_work(job, &t);
		ursa_loop_post(p->loop, &job->work);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	tctx_free(&t);
	return NULL;
}

int fc_pool_start(struct fc_pool *p, struct ursa_loop *loop, unsigned int nr,
		  int level)
{
	unsigned int i;
	int ret;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ursa_list_init(&p->queue);
	p->loop = loop;
	p->level = level;
	p->threads = calloc(nr, sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
	tctx_init(p, &p->loop_ctx);
	if (!p->loop_ctx.cctx || !p->loop_ctx.dctx) {
		tctx_free(&p->loop_ctx);
		free(p->threads);
		p->threads = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		ret = pthread_create(&p->threads[i], NULL, worker, p);
		if (ret) {
			fc_pool_stop(p);
			return -ret;
		}
		p->nr++;
	}
	return 0;
}

void fc_pool_submit(struct fc_pool *p, struct fc_job *job)
{
	pthread_mutex_lock(&p->lock);
	ursa_list_add_tail(&job->node, &p->queue);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Run one queued job on the loop's thread, if there is one and no worker
 * holds the queue's lock, and hand it back through the run queue as a
 * worker would. The loop does this instead of sleeping: asleep, it is
 * woken by every io-wq completion, and each wake preempts a worker (a
 * decompress of 1 GiB in 32 KiB writes: about 15,000 wakes and 43,000
 * context switches; helping, about 1,000, see docs/fchunk.md). The
 * writes queued meanwhile (FC_WSLOTS) keep io-wq busy for the 1 to 3 ms
 * a chunk takes. CQEs and timers wait that long at most: fine for a batch
 * tool, not a pattern for a loop that serves requests.
 */
static bool pool_help(struct fc_pool *p)
{
	struct fc_job *job = NULL;

	if (pthread_mutex_trylock(&p->lock))
		return false;
	if (!ursa_list_empty(&p->queue)) {
		job = ursa_list_first_entry(&p->queue, struct fc_job, node);
		ursa_list_del_init(&job->node);
	}
	pthread_mutex_unlock(&p->lock);
	if (!job)
		return false;
	fc_job_work(job, &p->loop_ctx);
	ursa_runq_queue(ursa_loop_runq(p->loop), &job->work);
	return true;
}

void fc_pool_stop(struct fc_pool *p)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nr; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	p->nr = 0;
	tctx_free(&p->loop_ctx);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}

/*
 * valgrind runs one thread at a time, and a thread in a system call it
 * does not know to block keeps the others from running. io_uring_enter is
 * one of those (3.19 at least): a loop waiting there for a worker's
 * ursa_loop_post() waits for ever, since the worker never gets to post.
 * So under valgrind the loop waits in poll(2) on an eventfd registered
 * with the ring, which valgrind lets the other threads run through, and
 * then runs a turn without blocking. Elsewhere it blocks in the ring.
 */
int fc_loop_wait_setup(struct fc_ctx *g)
{
	int ret;

	g->wait_fd = -1;
	if (!RUNNING_ON_VALGRIND)
		return 0;
	g->wait_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->wait_fd < 0)
		return -errno;
	ret = ursa_loop_register_eventfd(&g->loop, g->wait_fd);
	if (ret) {
		close(g->wait_fd);
		g->wait_fd = -1;
	}
	return ret;
}

/*
 * One turn of the loop, waiting for a completion, a posted job or (at
 * most 100 ms, for the progress timer) when there is nothing to do. With
 * the zstd pool up, the loop runs a queued job itself before it waits.
 */
int fc_loop_turn(struct fc_ctx *g)
{
	struct pollfd p = { .fd = g->wait_fd, .events = POLLIN };
	uint64_t v;
	int n;

	if (g->wait_fd < 0 && !g->zstd_pool_up)
		return ursa_loop_run_once(&g->loop, true);
	n = ursa_loop_run_once(&g->loop, false);
	if (n)
		return n;
	if (g->zstd_pool_up && pool_help(&g->zstd_pool))
		return 1;
	if (g->wait_fd < 0)
		return ursa_loop_run_once(&g->loop, true);
	/* The count only runs ahead of the completions: none is lost. */
	if (poll(&p, 1, 100) == 1 && read(g->wait_fd, &v, sizeof(v)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}
