// SPDX-License-Identifier: MIT
/*
 * Takes: the consumer side shared by inputs and emit buffers. A take
 * waits on its source's list, then is queued on its run queue with the
 * source's own run function, which pulls the element just before the
 * callback.
 */
#include <string.h>

#include <ursa/take.h>

#include "internal.h"

void ursa_take_init(struct ursa_take *t, struct ursa_runq *rq, ursa_take_fn *fn)
{
	memset(t, 0, sizeof(*t));
	ursa_work_init(&t->work, NULL);
	t->rq = rq;
	t->fn = fn;
	t->state = TAKE_IDLE;
}

bool ursa_take_is_pending(const struct ursa_take *t)
{
	return t->state != TAKE_IDLE;
}

bool __ursa_take_unlink(struct ursa_take *t)
{
	if (t->state == TAKE_IDLE)
		return false;
	ursa_list_del_init(&t->work.node);
	t->state = TAKE_IDLE;
	return true;
}
