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
#include <ursa/take.h>
#include <ursa/input.h>
#include <ursa/emit.h>
#include <ursa/loop.h>
#include <ursa/timer.h>
#include <ursa/io.h>
#include <ursa/net.h>
#include <ursa/kbuf.h>
#include <ursa/signal.h>
#include <ursa/fault.h>
#include <ursa/source.h>
#include <ursa/task.h>

#endif /* URSA_URSA_H */
