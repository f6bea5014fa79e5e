// SPDX-License-Identifier: MIT
/*
 * The op table: one entry per enum ursa_op, in the manner of the
 * kernel's io_issue_defs[]. A new op gets its enum value, its entry here
 * with a name and a prep, and a public start function in its family's
 * file; the build checks that the table and the enum agree.
 */
#include <errno.h>
#include <string.h>

#include <ursa/fault.h>

#include "internal.h"

const struct __ursa_op_def __ursa_op_defs[URSA_OP_LAST] = {
	[URSA_OP_NOP] = { .name = "nop", .prep = __ursa_nop_prep },
	[URSA_OP_READ] = { .name = "read",
			   .prep = __ursa_rw_prep,
			   .complete = __ursa_rw_complete,
			   .transfers = 1,
			   .needs_fd = 1 },
	[URSA_OP_WRITE] = { .name = "write",
			    .prep = __ursa_rw_prep,
			    .complete = __ursa_rw_complete,
			    .transfers = 1,
			    .needs_fd = 1 },
	[URSA_OP_READV] = { .name = "readv",
			    .prep = __ursa_rwv_prep,
			    .transfers = 1,
			    .needs_fd = 1 },
	[URSA_OP_WRITEV] = { .name = "writev",
			     .prep = __ursa_rwv_prep,
			     .transfers = 1,
			     .needs_fd = 1 },
	[URSA_OP_READ_FIXED] = { .name = "read_fixed",
				 .prep = __ursa_rw_prep,
				 .complete = __ursa_rw_complete,
				 .transfers = 1,
				 .needs_fd = 1 },
	[URSA_OP_WRITE_FIXED] = { .name = "write_fixed",
				  .prep = __ursa_rw_prep,
				  .complete = __ursa_rw_complete,
				  .transfers = 1,
				  .needs_fd = 1 },
	[URSA_OP_OPENAT] = { .name = "openat",
			     .prep = __ursa_fs_prep,
			     .creates_fd = 1 },
	[URSA_OP_CLOSE] = { .name = "close",
			    .prep = __ursa_fs_prep,
			    .needs_fd = 1 },
	[URSA_OP_STATX] = { .name = "statx", .prep = __ursa_fs_prep },
	[URSA_OP_FSYNC] = { .name = "fsync",
			    .prep = __ursa_fs_prep,
			    .needs_fd = 1 },
	[URSA_OP_FALLOCATE] = { .name = "fallocate",
				.prep = __ursa_fs_prep,
				.needs_fd = 1 },
	[URSA_OP_UNLINKAT] = { .name = "unlinkat", .prep = __ursa_fs_prep },
	[URSA_OP_RENAMEAT] = { .name = "renameat", .prep = __ursa_fs_prep },
	[URSA_OP_ACCEPT] = { .name = "accept",
			     .prep = __ursa_net_prep,
			     .complete = __ursa_net_complete,
			     .creates_fd = 1,
			     .needs_fd = 1 },
	[URSA_OP_CONNECT] = { .name = "connect",
			      .prep = __ursa_net_prep,
			      .needs_fd = 1 },
	[URSA_OP_RECV] = { .name = "recv",
			   .prep = __ursa_net_prep,
			   .complete = __ursa_net_complete,
			   .cqe = __ursa_recv_cqe,
			   .transfers = 1,
			   .needs_fd = 1 },
	[URSA_OP_SEND] = { .name = "send",
			   .prep = __ursa_net_prep,
			   .transfers = 1,
			   .needs_fd = 1 },
	[URSA_OP_SENDMSG] = { .name = "sendmsg",
			      .prep = __ursa_net_prep,
			      .transfers = 1,
			      .needs_fd = 1 },
	[URSA_OP_SEND_ZC] = { .name = "send_zc",
			      .prep = __ursa_net_prep,
			      .complete = __ursa_net_complete,
			      .transfers = 1,
			      .needs_fd = 1 },
	[URSA_OP_SHUTDOWN] = { .name = "shutdown",
			       .prep = __ursa_net_prep,
			       .needs_fd = 1 },
};

_Static_assert(ARRAY_SIZE(__ursa_op_defs) == URSA_OP_LAST,
	       "the op table and enum ursa_op disagree");

const char *ursa_op_name(int op)
{
	if (op < 0 || op >= URSA_OP_LAST || !__ursa_op_defs[op].name)
		return "invalid";
	return __ursa_op_defs[op].name;
}

int ursa_op_from_name(const char *name)
{
	int op;

	for (op = 0; op < URSA_OP_LAST; op++)
		if (__ursa_op_defs[op].name &&
		    !strcmp(__ursa_op_defs[op].name, name))
			return op;
	return -ENOENT;
}
