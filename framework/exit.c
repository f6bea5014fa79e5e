// SPDX-License-Identifier: MIT
/*
 * Exit values: the parts that are not inline.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ursa/exit.h>
#include <ursa/version.h>

#include "internal.h"

const char *ursa_exit_kind_name(int kind)
{
	switch (kind) {
	case URSA_EXIT_SUCCESS:
		return "success";
	case URSA_EXIT_FAILURE:
		return "failure";
	case URSA_EXIT_DIE:
		return "die";
	case URSA_EXIT_INTERRUPT:
		return "interrupt";
	}
	return "invalid";
}

void __ursa_bug(const char *file, int line, const char *cond)
{
	fprintf(stderr, "ursa: BUG at %s:%d: %s\n", file, line, cond);
	fflush(stderr);
	abort();
}

const char *ursa_version(void)
{
	return URSA_VERSION_STRING;
}
