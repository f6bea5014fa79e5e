/* SPDX-License-Identifier: MIT */
/*
 * What ursa_top.bpf.c counts and ursa-top.c reads: the layout of the
 * per-CPU maps, shared by both sides.
 */
#ifndef URSA_TOP_H
#define URSA_TOP_H

/* Opcodes are a u8 in the SQE. */
#define URSA_TOP_MAX_OPS 256
/* log2 µs buckets: bucket b counts latencies in [2^(b-1), 2^b - 1] µs. */
#define URSA_TOP_SLOTS 27

/**
 * struct ursa_top_op - Counters of one opcode, per CPU.
 * @submitted: Requests seen at submission (io_uring_submit_req), plus
 *	those failed before it (io_uring_req_failed).
 * @completed: CQEs posted for those requests, including every CQE of a
 *	multishot request.
 * @finished: Requests ended: by a CQE without IORING_CQE_F_MORE, or at
 *	submission for IOSQE_CQE_SKIP_SUCCESS requests, whose success posts
 *	no CQE (their failure CQE is counted in @completed only).
 * @skipped: Submissions with IOSQE_CQE_SKIP_SUCCESS.
 * @errors: CQEs with a negative result.
 * @enobufs: CQEs with -ENOBUFS (the provided buffer ring was empty).
 * @hist: Submit (or previous CQE) to CQE latency, log2 µs buckets; the
 *	buckets add up to @completed.
 */
struct ursa_top_op {
	__u64 submitted;
	__u64 completed;
	__u64 finished;
	__u64 skipped;
	__u64 errors;
	__u64 enobufs;
	__u64 hist[URSA_TOP_SLOTS];
};

/**
 * struct ursa_top_global - Counters not tied to an opcode, per CPU.
 * @overflow: CQEs that went to the overflow list (io_uring_cqe_overflow).
 * @req_failed: Requests the kernel failed at submission.
 * @rings: Rings created (io_uring_create).
 * @untracked: CQEs of requests submitted before ursa-top attached, or
 *	posted without a request (auxiliary CQEs).
 * @dropped: Submissions not tracked because the in-flight map refused
 *	them (it is an LRU map: under 64Ki requests in flight, never).
 */
struct ursa_top_global {
	__u64 overflow;
	__u64 req_failed;
	__u64 rings;
	__u64 untracked;
	__u64 dropped;
};

#endif /* URSA_TOP_H */
