// SPDX-License-Identifier: MIT
/*
 * The worker pool: threads that take jobs from a locked FIFO, run them
 * (hash, compress or decompress one chunk), and hand each one back to the
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

static void *worker(void *arg)
{
	struct fc_pool *p = arg;
	struct fc_tctx t = { 0 };
	struct fc_job *job;

	if (p->zstd) {
		t.cctx = ZSTD_createCCtx();
		t.dctx = ZSTD_createDCtx();
		if (t.cctx) {
			ZSTD_CCtx_setParameter(t.cctx, ZSTD_c_compressionLevel,
					       p->level);
			ZSTD_CCtx_setParameter(t.cctx, ZSTD_c_checksumFlag, 1);
		}
	}
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
	ZSTD_freeCCtx(t.cctx);
	ZSTD_freeDCtx(t.dctx);
	return NULL;
}

int fc_pool_start(struct fc_pool *p, struct ursa_loop *loop, unsigned int nr,
		  bool zstd, int level)
{
	unsigned int i;
	int ret;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ursa_list_init(&p->queue);
	p->loop = loop;
	p->zstd = zstd;
	p->level = level;
	p->threads = calloc(nr, sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
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
 * most 100 ms, for the progress timer) when there is nothing to do.
 */
int fc_loop_turn(struct fc_ctx *g)
{
	struct pollfd p = { .fd = g->wait_fd, .events = POLLIN };
	uint64_t v;
	int n;

	if (g->wait_fd < 0)
		return ursa_loop_run_once(&g->loop, true);
	n = ursa_loop_run_once(&g->loop, false);
	if (n)
		return n;
	/* The count only runs ahead of the completions: none is lost. */
	if (poll(&p, 1, 100) == 1 && read(g->wait_fd, &v, sizeof(v)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}
