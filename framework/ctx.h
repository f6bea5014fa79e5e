/* SPDX-License-Identifier: MIT */
/*
 * Context switching for tasks: the assembly in ctx_<arch>.S, or ucontext
 * where Kconfig selects it (other architectures, or for comparison).
 */
#ifndef URSA_FRAMEWORK_CTX_H
#define URSA_FRAMEWORK_CTX_H

#include <stddef.h>

#include <generated/autoconf.h>

#ifdef CONFIG_URSA_CTX_UCONTEXT
#include <ucontext.h>

struct __ursa_ctx {
	ucontext_t uc;
};
#else
struct __ursa_ctx {
	void *sp;
};
#endif

/*
 * Prepare @ctx to run entry(arg) on the stack [lo, lo + size) at its
 * first switch. entry must never return.
 */
void __ursa_ctx_make(struct __ursa_ctx *ctx, void *lo, size_t size,
		     void (*entry)(void *), void *arg);

/* Save the running context in @from and run @to. */
#ifdef CONFIG_URSA_CTX_UCONTEXT
void __ursa_ctx_swap(struct __ursa_ctx *from, struct __ursa_ctx *to);
#else
void __ursa_ctx_switch(void **save_sp, void *load_sp);

/*
 * Inline, so that the assembly is called straight from the switching
 * code: one frame less to return through, and to mispredict, after
 * every switch.
 */
static inline void __ursa_ctx_swap(struct __ursa_ctx *from,
				   struct __ursa_ctx *to)
{
	__ursa_ctx_switch(&from->sp, to->sp);
}
#endif

#endif /* URSA_FRAMEWORK_CTX_H */
