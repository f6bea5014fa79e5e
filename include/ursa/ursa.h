/* SPDX-License-Identifier: MIT */
/**
 * DOC: ursa
 *
 * The umbrella header: include it for the whole public API, or include
 * the header of the one concept a file needs.
 */
#ifndef URSA_URSA_H
#define URSA_URSA_H

#include <ursa/version.h>
#include <ursa/kconfig.h>
#include <ursa/list.h>
#include <ursa/err.h>
#include <ursa/exit.h>
#include <ursa/sched.h>
#include <ursa/deferred.h>

#endif /* URSA_URSA_H */
