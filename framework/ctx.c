// SPDX-License-Identifier: MIT
/*
 * Building a task's first frame, and the switch, for each back end.
 */
#include <stdint.h>
#include <string.h>

#include "ctx.h"
#include "internal.h"

#ifdef CONFIG_URSA_CTX_UCONTEXT

/* makecontext passes int arguments: split the pointers. */
static void uc_entry(unsigned int fn_hi, unsigned int fn_lo,
		     unsigned int arg_hi, unsigned int arg_lo)
{
	void (*entry)(void *) =
		(void (*)(void *))(((uintptr_t)fn_hi << 32) | (uintptr_t)fn_lo);
	void *arg = (void *)(((uintptr_t)arg_hi << 32) | (uintptr_t)arg_lo);

	entry(arg);
	abort();
}

void __ursa_ctx_make(struct __ursa_ctx *ctx, void *lo, size_t size,
		     void (*entry)(void *), void *arg)
{
	uintptr_t fn = (uintptr_t)entry, a = (uintptr_t)arg;

	getcontext(&ctx->uc);
	ctx->uc.uc_stack.ss_sp = lo;
	ctx->uc.uc_stack.ss_size = size;
	ctx->uc.uc_link = NULL;
	makecontext(&ctx->uc, (void (*)(void))uc_entry, 4,
		    (unsigned int)(fn >> 32), (unsigned int)fn,
		    (unsigned int)(a >> 32), (unsigned int)a);
}

void __ursa_ctx_swap(struct __ursa_ctx *from, struct __ursa_ctx *to)
{
	swapcontext(&from->uc, &to->uc);
}

#else

void __ursa_ctx_trampoline(void);

void __ursa_ctx_make(struct __ursa_ctx *ctx, void *lo, size_t size,
		     void (*entry)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
	uintptr_t *sp;

#if defined(__x86_64__) && defined(CONFIG_URSA_CTX_SAVE_FPENV)
	/* mxcsr|fpucw, r15, r14, r13, r12, rbx, rbp, return address */
	sp = (uintptr_t *)(top - 8 * sizeof(uintptr_t));
	memset(sp, 0, 8 * sizeof(uintptr_t));
	sp[0] = 0x1f80 | ((uintptr_t)0x037f << 32);
	sp[4] = (uintptr_t)arg;
	sp[5] = (uintptr_t)entry;
	sp[7] = (uintptr_t)__ursa_ctx_trampoline;
#elif defined(__x86_64__)
	/* r15, r14, r13, r12, rbx, rbp, return address */
	sp = (uintptr_t *)(top - 7 * sizeof(uintptr_t));
	memset(sp, 0, 7 * sizeof(uintptr_t));
	sp[3] = (uintptr_t)arg;
	sp[4] = (uintptr_t)entry;
	sp[6] = (uintptr_t)__ursa_ctx_trampoline;
#elif defined(__aarch64__)
	/* x19..x28, x29, x30, d8..d15: 20 slots */
	sp = (uintptr_t *)(top - 20 * sizeof(uintptr_t));
	memset(sp, 0, 20 * sizeof(uintptr_t));
	sp[0] = (uintptr_t)arg; /* x19 */
	sp[1] = (uintptr_t)entry; /* x20 */
	sp[11] = (uintptr_t)__ursa_ctx_trampoline; /* x30 */
#else
#error "no assembly context switch for this architecture: select CONFIG_URSA_CTX_UCONTEXT"
#endif
	ctx->sp = sp;
}

#endif
