// SPDX-License-Identifier: MIT
/*
 * Completion notification through an eventfd, for a caller that waits
 * somewhere other than io_uring_enter: in poll(2) or read(2), which
 * valgrind and event loops of other libraries understand.
 */
#include <errno.h>

#include <ursa/loop.h>

#include "internal.h"

int ursa_loop_register_eventfd(struct ursa_loop *loop, int fd)
{
	if (fd < 0)
		return -EBADF;
	return io_uring_register_eventfd(&loop->ring, fd);
}

int ursa_loop_unregister_eventfd(struct ursa_loop *loop)
{
	return io_uring_unregister_eventfd(&loop->ring);
}
