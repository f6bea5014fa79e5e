/* SPDX-License-Identifier: MIT */
/*
 * Task context switch for x86-64 (System V ABI). Only what the ABI says
 * a callee must preserve is saved: rbx, rbp, r12-r15, the stack pointer,
 * and the MXCSR and x87 control words. Everything else is caller-saved,
 * and the compiler already spilled it around the call.
 *
 * void __ursa_ctx_switch(void **save_sp, void *load_sp);
 */
	.text
	.p2align 4
	.globl	__ursa_ctx_switch
	.hidden	__ursa_ctx_switch
	.type	__ursa_ctx_switch, @function
__ursa_ctx_switch:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	__ursa_ctx_switch, . - __ursa_ctx_switch

/*
 * A new context "returns" here from its first switch, with its entry
 * function in rbx and the argument in r12 (see __ursa_ctx_make()). The
 * stack is 16-byte aligned at this point, so the call keeps the ABI's
 * alignment. The entry function never returns.
 */
	.p2align 4
	.globl	__ursa_ctx_trampoline
	.hidden	__ursa_ctx_trampoline
	.type	__ursa_ctx_trampoline, @function
__ursa_ctx_trampoline:
	movq	%r12, %rdi
	callq	*%rbx
	ud2
	.size	__ursa_ctx_trampoline, . - __ursa_ctx_trampoline

	.section .note.GNU-stack, "", @progbits
