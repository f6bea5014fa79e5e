/* SPDX-License-Identifier: MIT */
/*
 * Task context switch for x86-64 (System V ABI). Only what the ABI says
 * a callee must preserve is saved: rbx, rbp, r12-r15 and the stack
 * pointer. Everything else is caller-saved, and the compiler already
 * spilled it around the call.
 *
 * The ABI also makes the control bits of MXCSR and the x87 control word
 * callee-saved. They are saved only with CONFIG_URSA_CTX_SAVE_FPENV:
 * reading MXCSR (STMXCSR) is microcoded and costs about as much as the
 * rest of the switch on some CPUs, and tasks almost never change rounding
 * or exception masks. Without it, a task that changes its floating-point
 * control state must restore it before it awaits, yields or returns (see
 * docs/tasks.md), as on AArch64, where FPCR is not switched either. With
 * it, the state is saved on every switch but loaded only when it differs
 * from the one in force (LDMXCSR and FLDCW serialise the FP pipeline on
 * other CPUs); MXCSR's status flags (bits 0-5) are caller-saved and are
 * not compared.
 *
 * Only then does the frame have an 8-byte slot for that state
 * (__ursa_ctx_make() builds the first frame to match): without it, the
 * switch is the six pushes, the two stack pointer moves, the six pops and
 * the return.
 *
 * void __ursa_ctx_switch(void **save_sp, void *load_sp);
 */
#include <generated/autoconf.h>

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
#ifdef CONFIG_URSA_CTX_SAVE_FPENV
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movl	(%rsp), %eax
	movzwl	4(%rsp), %ecx
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	xorl	(%rsp), %eax
	testl	$0xffc0, %eax
	jnz	3f
1:	cmpw	4(%rsp), %cx
	jne	4f
2:
	addq	$8, %rsp
#else
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
#endif
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
#ifdef CONFIG_URSA_CTX_SAVE_FPENV
3:	ldmxcsr	(%rsp)
	jmp	1b
4:	fldcw	4(%rsp)
	jmp	2b
#endif
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
