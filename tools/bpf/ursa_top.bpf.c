// SPDX-License-Identifier: MIT
/*
 * ursa-top's BPF side: count io_uring requests per opcode from the
 * tracepoints, and time each from submission to completion.
 *
 * A request is known by its struct io_kiocb pointer from submission to
 * its last CQE; the in-flight map remembers its opcode and start time.
 * The tracepoint records are read through CO-RE, so one object runs on
 * any kernel with BTF. Kernels before 6.0 name the submission tracepoint
 * io_uring_submit_sqe; user space loads whichever exists.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ursa_top.h"

#define URSA_ENOBUFS 105
#define URSA_CQE_F_MORE (1U << 1)
/* REQ_F_CQE_SKIP: the low request flags mirror the IOSQE_* bits. */
#define URSA_REQ_F_CQE_SKIP (1ULL << 6)

/* Set by user space before loading; 0 traces every process. */
const volatile __u32 targ_tgid = 0;

struct start {
	__u64 ts;
	__u32 opcode;
	__u32 skip;
};

struct {
	/*
	 * LRU: a request whose CQE never comes (CQE_SKIP_SUCCESS, a ring
	 * torn down) must not fill the map for good.
	 */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct start);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, URSA_TOP_MAX_OPS);
	__type(key, __u32);
	__type(value, struct ursa_top_op);
} ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ursa_top_global);
} globals SEC(".maps");

/* The rings of the traced process, for events that carry only a ring. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} rings SEC(".maps");

/* Before 6.0 (commit "io_uring: rename io_uring_submit_sqe"). */
struct trace_event_raw_io_uring_submit_sqe___old {
	void *ctx;
	void *req;
	__u8 opcode;
} __attribute__((preserve_access_index));

static __always_inline bool traced(void)
{
	return !targ_tgid || bpf_get_current_pid_tgid() >> 32 == targ_tgid;
}

static __always_inline bool traced_ring(void *ctx)
{
	__u64 key = (__u64)ctx;

	return !targ_tgid || bpf_map_lookup_elem(&rings, &key);
}

static __always_inline struct ursa_top_global *global(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&globals, &zero);
}

static __always_inline int on_submit(void *ring, void *req, __u32 opcode,
				     __u64 flags)
{
	struct start s = {
		.ts = bpf_ktime_get_ns(),
		.opcode = opcode,
		.skip = !!(flags & URSA_REQ_F_CQE_SKIP),
	};
	__u64 ring_key = (__u64)ring, key = (__u64)req;
	struct ursa_top_global *g;
	struct ursa_top_op *op;
	__u8 one = 1;

	if (!traced())
		return 0;
	/* A lookup is much cheaper than an update, on every submission. */
	if (targ_tgid && !bpf_map_lookup_elem(&rings, &ring_key))
		bpf_map_update_elem(&rings, &ring_key, &one, BPF_ANY);
	if (bpf_map_update_elem(&inflight, &key, &s, BPF_ANY)) {
		g = global();
		if (g)
			g->dropped++;
		return 0;
	}
	op = bpf_map_lookup_elem(&ops, &opcode);
	if (!op)
		return 0;
	op->submitted++;
	/* Done as far as we can tell: only a failure posts a CQE. */
	if (s.skip) {
		op->skipped++;
		op->finished++;
	}
	return 0;
}

SEC("tp/io_uring/io_uring_submit_req")
int handle_submit_req(struct trace_event_raw_io_uring_submit_req *ctx)
{
	return on_submit(ctx->ctx, ctx->req, ctx->opcode, ctx->flags);
}

SEC("tp/io_uring/io_uring_submit_sqe")
int handle_submit_sqe(struct trace_event_raw_io_uring_submit_sqe___old *ctx)
{
	return on_submit(ctx->ctx, ctx->req, ctx->opcode, 0);
}

/* Requests that fail in io_init_req() never reach the submit tracepoint. */
SEC("tp/io_uring/io_uring_req_failed")
int handle_req_failed(struct trace_event_raw_io_uring_req_failed *ctx)
{
	__u64 key = (__u64)ctx->req;
	struct ursa_top_global *g;

	if (!traced())
		return 0;
	g = global();
	if (g)
		g->req_failed++;
	if (!bpf_map_lookup_elem(&inflight, &key))
		on_submit(ctx->ctx, ctx->req, ctx->opcode, 0);
	return 0;
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0, shift;

	/* Bits of v: 0 for 0, 1 for 1, 2 for 2-3, 3 for 4-7, ... */
	shift = (v > 0xffffffff) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return v ? r + 1 : 0;
}

static __always_inline int on_complete(void *ring, void *req, int res,
				       __u32 cflags)
{
	__u64 key = (__u64)req, now, slot;
	struct ursa_top_global *g;
	struct ursa_top_op *op;
	__u32 opcode, skip;
	struct start *s;

	s = key ? bpf_map_lookup_elem(&inflight, &key) : NULL;
	if (!s) {
		if (traced_ring(ring)) {
			g = global();
			if (g)
				g->untracked++;
		}
		return 0;
	}
	now = bpf_ktime_get_ns();
	opcode = s->opcode;
	skip = s->skip;
	slot = log2_slot((now - s->ts) / 1000);
	if (slot >= URSA_TOP_SLOTS)
		slot = URSA_TOP_SLOTS - 1;
	if (cflags & URSA_CQE_F_MORE)
		s->ts = now;
	else
		bpf_map_delete_elem(&inflight, &key);
	op = bpf_map_lookup_elem(&ops, &opcode);
	if (!op)
		return 0;
	op->completed++;
	if (!(cflags & URSA_CQE_F_MORE) && !skip)
		op->finished++;
	if (res < 0)
		op->errors++;
	if (res == -URSA_ENOBUFS)
		op->enobufs++;
	op->hist[slot]++;
	return 0;
}

SEC("tp/io_uring/io_uring_complete")
int handle_complete(struct trace_event_raw_io_uring_complete *ctx)
{
	return on_complete(ctx->ctx, ctx->req, ctx->res, ctx->cflags);
}

/*
 * The same two hot events as BTF-typed raw tracepoints, which skip the
 * building of the trace record: several times cheaper per request. User
 * space picks them when the kernel's prototypes are the ones below
 * (Linux 6.0 and later), the tp/ programs otherwise.
 */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(handle_submit_req_btf, struct io_kiocb *req)
{
	return on_submit(req->ctx, req, req->opcode, req->flags);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(handle_complete_btf, struct io_ring_ctx *ring, void *req,
	     struct io_uring_cqe *cqe)
{
	return on_complete(ring, req, cqe->res, cqe->flags);
}

SEC("tp/io_uring/io_uring_cqe_overflow")
int handle_cqe_overflow(struct trace_event_raw_io_uring_cqe_overflow *ctx)
{
	struct ursa_top_global *g;

	if (!traced_ring(ctx->ctx))
		return 0;
	g = global();
	if (g)
		g->overflow++;
	return 0;
}

SEC("tp/io_uring/io_uring_create")
int handle_create(struct trace_event_raw_io_uring_create *ctx)
{
	__u64 key = (__u64)ctx->ctx;
	struct ursa_top_global *g;
	__u8 one = 1;

	if (!traced())
		return 0;
	if (targ_tgid)
		bpf_map_update_elem(&rings, &key, &one, BPF_ANY);
	g = global();
	if (g)
		g->rings++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
