/* SPDX-License-Identifier: MIT */
/*
 * Task context switch for AArch64 (AAPCS64). Saved: x19-x28, the frame
 * pointer x29, the link register x30, d8-d15 and the stack pointer; the
 * rest is caller-saved.
 *
 * void __ursa_ctx_switch(void **save_sp, void *load_sp);
 */
	.text
	.p2align 4
	.globl	__ursa_ctx_switch
	.hidden	__ursa_ctx_switch
	.type	__ursa_ctx_switch, %function
__ursa_ctx_switch:
	sub	sp, sp, #160
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mov	x2, sp
	str	x2, [x0]
	mov	sp, x1
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #160
	ret
	.size	__ursa_ctx_switch, . - __ursa_ctx_switch

/* First switch into a new context: entry in x20, argument in x19. */
	.p2align 4
	.globl	__ursa_ctx_trampoline
	.hidden	__ursa_ctx_trampoline
	.type	__ursa_ctx_trampoline, %function
__ursa_ctx_trampoline:
	mov	x0, x19
	blr	x20
	brk	#0
	.size	__ursa_ctx_trampoline, . - __ursa_ctx_trampoline

	.section .note.GNU-stack, "", %progbits
