// SPDX-License-Identifier: MIT
/*
 * ursa-top: what the io_uring rings are doing, per opcode, from the
 * kernel's io_uring tracepoints.
 *
 *	ursa-top [-p PID] [-i SECONDS] [-c COUNT] [--json]
 *
 * Every interval it prints, for each opcode seen, the requests per second,
 * the errors and how many are in flight, then a log2 histogram of the
 * submit-to-complete latency in µs, drawn the way biolatency draws them,
 * and the ring-wide counters: CQ overflows, -ENOBUFS completions, failed
 * submissions. --json prints one JSON object per interval instead, with
 * the totals since ursa-top started as well. SIGINT or SIGTERM prints the
 * last, partial interval and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/io_uring.h>
#include <linux/types.h>

#include "ursa_top.h"
#include "ursa_top.skel.h"

#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"
#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

static const char *const op_names[] = {
	[IORING_OP_NOP] = "NOP",
	[IORING_OP_READV] = "READV",
	[IORING_OP_WRITEV] = "WRITEV",
	[IORING_OP_FSYNC] = "FSYNC",
	[IORING_OP_READ_FIXED] = "READ_FIXED",
	[IORING_OP_WRITE_FIXED] = "WRITE_FIXED",
	[IORING_OP_POLL_ADD] = "POLL_ADD",
	[IORING_OP_POLL_REMOVE] = "POLL_REMOVE",
	[IORING_OP_SYNC_FILE_RANGE] = "SYNC_FILE_RANGE",
	[IORING_OP_SENDMSG] = "SENDMSG",
	[IORING_OP_RECVMSG] = "RECVMSG",
	[IORING_OP_TIMEOUT] = "TIMEOUT",
	[IORING_OP_TIMEOUT_REMOVE] = "TIMEOUT_REMOVE",
	[IORING_OP_ACCEPT] = "ACCEPT",
	[IORING_OP_ASYNC_CANCEL] = "ASYNC_CANCEL",
	[IORING_OP_LINK_TIMEOUT] = "LINK_TIMEOUT",
	[IORING_OP_CONNECT] = "CONNECT",
	[IORING_OP_FALLOCATE] = "FALLOCATE",
	[IORING_OP_OPENAT] = "OPENAT",
	[IORING_OP_CLOSE] = "CLOSE",
	[IORING_OP_FILES_UPDATE] = "FILES_UPDATE",
	[IORING_OP_STATX] = "STATX",
	[IORING_OP_READ] = "READ",
	[IORING_OP_WRITE] = "WRITE",
	[IORING_OP_FADVISE] = "FADVISE",
	[IORING_OP_MADVISE] = "MADVISE",
	[IORING_OP_SEND] = "SEND",
	[IORING_OP_RECV] = "RECV",
	[IORING_OP_OPENAT2] = "OPENAT2",
	[IORING_OP_EPOLL_CTL] = "EPOLL_CTL",
	[IORING_OP_SPLICE] = "SPLICE",
	[IORING_OP_PROVIDE_BUFFERS] = "PROVIDE_BUFFERS",
	[IORING_OP_REMOVE_BUFFERS] = "REMOVE_BUFFERS",
	[IORING_OP_TEE] = "TEE",
	[IORING_OP_SHUTDOWN] = "SHUTDOWN",
	[IORING_OP_RENAMEAT] = "RENAMEAT",
	[IORING_OP_UNLINKAT] = "UNLINKAT",
	[IORING_OP_MKDIRAT] = "MKDIRAT",
	[IORING_OP_SYMLINKAT] = "SYMLINKAT",
	[IORING_OP_LINKAT] = "LINKAT",
	[IORING_OP_MSG_RING] = "MSG_RING",
	[IORING_OP_FSETXATTR] = "FSETXATTR",
	[IORING_OP_SETXATTR] = "SETXATTR",
	[IORING_OP_FGETXATTR] = "FGETXATTR",
	[IORING_OP_GETXATTR] = "GETXATTR",
	[IORING_OP_SOCKET] = "SOCKET",
	[IORING_OP_URING_CMD] = "URING_CMD",
	[IORING_OP_SEND_ZC] = "SEND_ZC",
	[IORING_OP_SENDMSG_ZC] = "SENDMSG_ZC",
};

struct opts {
	int pid;
	double interval;
	long count;
	bool json;
	bool verbose;
};

/* Totals since start, summed over the CPUs. */
struct snapshot {
	struct ursa_top_op op[URSA_TOP_MAX_OPS];
	struct ursa_top_global g;
};

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

static const char *op_name(unsigned int op, char *buf, size_t len)
{
	if (op < sizeof(op_names) / sizeof(op_names[0]) && op_names[op])
		return op_names[op];
	snprintf(buf, len, "OP_%u", op);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ursa-top [-p PID] [-i SECONDS] [-c COUNT] [--json] [-v]\n"
		"  -p, --pid PID          trace only this process\n"
		"  -i, --interval SECONDS refresh period (default 1)\n"
		"  -c, --count COUNT      exit after COUNT intervals\n"
		"  -j, --json             one JSON object per interval\n"
		"  -v, --verbose          show libbpf's messages\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	o->pid = 0;
	o->interval = 1.0;
	o->count = -1;
	o->json = false;
	o->verbose = false;
	while ((c = getopt_long(argc, argv, "p:i:c:jvh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0 || v > INT_MAX) {
				fprintf(stderr, "ursa-top: bad pid '%s'\n",
					optarg);
				return -1;
			}
			o->pid = v;
			break;
		case 'i':
			errno = 0;
			o->interval = strtod(optarg, &end);
			if (errno || *end || !(o->interval >= 0.01) ||
			    o->interval > 86400) {
				fprintf(stderr,
					"ursa-top: bad interval '%s' (0.01 to 86400 s)\n",
					optarg);
				return -1;
			}
			break;
		case 'c':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0) {
				fprintf(stderr, "ursa-top: bad count '%s'\n",
					optarg);
				return -1;
			}
			o->count = v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ursa-top: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Check what loading needs, and mount tracefs if it is not. Prints one
 * line naming what is missing and returns -1 when something is.
 */
static int preflight(void)
{
	if (geteuid() != 0) {
		fprintf(stderr,
			"ursa-top: must run as root (loading BPF and reading tracepoints need CAP_BPF and CAP_PERFMON)\n");
		return -1;
	}
	if (access(VMLINUX_BTF, R_OK) != 0) {
		fprintf(stderr,
			"ursa-top: no kernel BTF at %s (the kernel needs CONFIG_DEBUG_INFO_BTF=y)\n",
			VMLINUX_BTF);
		return -1;
	}
	if (!is_dir(TRACEFS "/events") && !is_dir(DEBUGFS_TRACING "/events")) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) != 0) {
			fprintf(stderr,
				"ursa-top: tracefs is not mounted at %s and mounting it failed: %s\n",
				TRACEFS, strerror(errno));
			return -1;
		}
	}
	if (!is_dir(TRACEFS "/events/io_uring") &&
	    !is_dir(DEBUGFS_TRACING "/events/io_uring")) {
		fprintf(stderr,
			"ursa-top: no io_uring tracepoints in tracefs (the kernel needs CONFIG_IO_URING and CONFIG_FTRACE)\n");
		return -1;
	}
	return 0;
}

static bool have_event(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/io_uring/%s", name);
	if (is_dir(path))
		return true;
	snprintf(path, sizeof(path), DEBUGFS_TRACING "/events/io_uring/%s",
		 name);
	return is_dir(path);
}

/*
 * The number of arguments of a raw tracepoint, from the kernel's BTF
 * (typedef btf_trace_NAME: a pointer to a function whose first argument
 * is the tracepoint's data), or -1.
 */
static int raw_tp_args(const char *name)
{
	const struct btf_type *t;
	struct btf *btf;
	int id, n = -1;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		t = t ? btf__type_by_id(btf, t->type) : NULL;
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t))
			n = btf_vlen(t) - 1;
	}
	btf__free(btf);
	return n;
}

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int read_snapshot(struct ursa_top_bpf *skel, int ncpus,
			 struct snapshot *snap)
{
	struct ursa_top_global *gv;
	struct ursa_top_op *v;
	__u32 key;
	int i, ret = 0;

	v = calloc(ncpus, sizeof(*v));
	gv = calloc(ncpus, sizeof(*gv));
	if (!v || !gv) {
		ret = -ENOMEM;
		goto out;
	}
	memset(snap, 0, sizeof(*snap));
	for (key = 0; key < URSA_TOP_MAX_OPS; key++) {
		struct ursa_top_op *o = &snap->op[key];

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.ops), &key, v)) {
			ret = -errno;
			goto out;
		}
		for (i = 0; i < ncpus; i++) {
			int b;

			o->submitted += v[i].submitted;
			o->completed += v[i].completed;
			o->finished += v[i].finished;
			o->skipped += v[i].skipped;
			o->errors += v[i].errors;
			o->enobufs += v[i].enobufs;
			for (b = 0; b < URSA_TOP_SLOTS; b++)
				o->hist[b] += v[i].hist[b];
		}
	}
	key = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.globals), &key, gv)) {
		ret = -errno;
		goto out;
	}
	for (i = 0; i < ncpus; i++) {
		snap->g.overflow += gv[i].overflow;
		snap->g.req_failed += gv[i].req_failed;
		snap->g.rings += gv[i].rings;
		snap->g.untracked += gv[i].untracked;
		snap->g.dropped += gv[i].dropped;
	}
out:
	free(v);
	free(gv);
	return ret;
}

static bool op_seen(const struct ursa_top_op *o)
{
	return o->submitted || o->completed;
}

static __u64 inflight(const struct ursa_top_op *o)
{
	return o->submitted > o->finished ? o->submitted - o->finished : 0;
}

static void print_stars(unsigned long long val, unsigned long long max,
			int width)
{
	int i, n = max ? (int)(val * width / max) : 0;

	for (i = 0; i < width; i++)
		putchar(i < n ? '*' : ' ');
}

/* A log2 histogram in the layout of bcc's biolatency. */
static void print_log2_hist(const __u64 *hist)
{
	unsigned long long max = 0;
	int i, last = -1;

	for (i = 0; i < URSA_TOP_SLOTS; i++) {
		if (hist[i] > max)
			max = hist[i];
		if (hist[i])
			last = i;
	}
	if (last < 0)
		return;
	printf("%*s%-*s : count    distribution\n", 10, "", 14, "usecs");
	for (i = 0; i <= last; i++) {
		unsigned long long low = (1ull << i) >> 1;
		unsigned long long high = (1ull << i) - 1;

		if (low == high && i)
			low = high;
		printf("%*llu -> %-*llu : %-8llu |", 10, low, 10, high,
		       (unsigned long long)hist[i]);
		print_stars(hist[i], max, 40);
		printf("|\n");
	}
}

static void print_table(const struct opts *o, const struct snapshot *cur,
			const struct snapshot *prev, double secs)
{
	__u64 enobufs = 0;
	char tbuf[32], nbuf[16];
	time_t t = time(NULL);
	struct tm tm;
	unsigned int i;

	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime_r(&t, &tm));
	printf("%s  interval %.2f s%s", tbuf, secs, o->pid ? "  pid " : "");
	if (o->pid)
		printf("%d", o->pid);
	printf("\n%-16s %12s %10s %8s %8s\n", "OPCODE", "OPS/S", "COMPLETED",
	       "ERRORS", "INFLIGHT");
	for (i = 0; i < URSA_TOP_MAX_OPS; i++) {
		const struct ursa_top_op *c = &cur->op[i], *p = &prev->op[i];

		enobufs += c->enobufs - p->enobufs;
		if (!op_seen(c))
			continue;
		printf("%-16s %12.1f %10llu %8llu %8llu\n",
		       op_name(i, nbuf, sizeof(nbuf)),
		       (c->completed - p->completed) / secs,
		       (unsigned long long)(c->completed - p->completed),
		       (unsigned long long)(c->errors - p->errors),
		       (unsigned long long)inflight(c));
	}
	for (i = 0; i < URSA_TOP_MAX_OPS; i++) {
		const struct ursa_top_op *c = &cur->op[i], *p = &prev->op[i];
		__u64 hist[URSA_TOP_SLOTS];
		int b;

		if (c->completed == p->completed)
			continue;
		for (b = 0; b < URSA_TOP_SLOTS; b++)
			hist[b] = c->hist[b] - p->hist[b];
		printf("\n%s: submit -> complete latency\n",
		       op_name(i, nbuf, sizeof(nbuf)));
		print_log2_hist(hist);
	}
	printf("\ncq overflow %llu  enobufs %llu  failed at submit %llu  "
	       "rings created %llu  untracked cqes %llu\n\n",
	       (unsigned long long)(cur->g.overflow - prev->g.overflow),
	       (unsigned long long)enobufs,
	       (unsigned long long)(cur->g.req_failed - prev->g.req_failed),
	       (unsigned long long)(cur->g.rings - prev->g.rings),
	       (unsigned long long)(cur->g.untracked - prev->g.untracked));
	fflush(stdout);
}

static void print_u64_array(const __u64 *a, int n)
{
	int i;

	putchar('[');
	for (i = 0; i < n; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)a[i]);
	putchar(']');
}

/*
 * One line per interval. Counters are totals since start; "ops_per_s"
 * and the "interval" object are for this interval only.
 */
static void print_json(const struct opts *o, const struct snapshot *cur,
		       const struct snapshot *prev, double secs)
{
	__u64 enobufs = 0;
	bool first = true;
	char nbuf[16];
	unsigned int i;

	printf("{\"time\":%lld,\"interval_s\":%.3f,\"pid\":%d,\"ops\":[",
	       (long long)time(NULL), secs, o->pid);
	for (i = 0; i < URSA_TOP_MAX_OPS; i++) {
		const struct ursa_top_op *c = &cur->op[i], *p = &prev->op[i];

		enobufs += c->enobufs;
		if (!op_seen(c))
			continue;
		printf("%s{\"opcode\":%u,\"name\":\"%s\",\"ops_per_s\":%.1f,"
		       "\"submitted\":%llu,\"completed\":%llu,"
		       "\"errors\":%llu,\"enobufs\":%llu,\"inflight\":%llu,"
		       "\"cqe_skip\":%llu,"
		       "\"interval\":{\"completed\":%llu,\"errors\":%llu},"
		       "\"hist_usecs_log2\":",
		       first ? "" : ",", i, op_name(i, nbuf, sizeof(nbuf)),
		       (c->completed - p->completed) / secs,
		       (unsigned long long)c->submitted,
		       (unsigned long long)c->completed,
		       (unsigned long long)c->errors,
		       (unsigned long long)c->enobufs,
		       (unsigned long long)inflight(c),
		       (unsigned long long)c->skipped,
		       (unsigned long long)(c->completed - p->completed),
		       (unsigned long long)(c->errors - p->errors));
		print_u64_array(c->hist, URSA_TOP_SLOTS);
		putchar('}');
		first = false;
	}
	printf("],\"cq_overflow\":%llu,\"enobufs\":%llu,\"req_failed\":%llu,"
	       "\"rings_created\":%llu,\"untracked_cqes\":%llu,"
	       "\"dropped\":%llu}\n",
	       (unsigned long long)cur->g.overflow, (unsigned long long)enobufs,
	       (unsigned long long)cur->g.req_failed,
	       (unsigned long long)cur->g.rings,
	       (unsigned long long)cur->g.untracked,
	       (unsigned long long)cur->g.dropped);
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until @deadline (monotonic seconds) or a signal. */
static void wait_until(double deadline)
{
	while (!exiting) {
		double left = deadline - now_s();
		struct timespec ts;

		if (left <= 0)
			return;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		if (nanosleep(&ts, NULL) == 0)
			return;
	}
}

int main(int argc, char **argv)
{
	struct snapshot *cur = NULL, *prev = NULL, *tmp;
	struct ursa_top_bpf *skel = NULL;
	struct sigaction sa;
	double start, last;
	int ncpus, ret, rc = 1;
	bool fast;
	struct opts o;
	long n = 0;

	if (parse_opts(argc, argv, &o))
		return 2;
	verbose = o.verbose;
	if (preflight())
		return 1;
	libbpf_set_print(print_libbpf);

	ncpus = libbpf_num_possible_cpus();
	cur = calloc(1, sizeof(*cur));
	prev = calloc(1, sizeof(*prev));
	if (ncpus <= 0 || !cur || !prev) {
		fprintf(stderr, "ursa-top: out of memory\n");
		goto out;
	}

	skel = ursa_top_bpf__open();
	if (!skel) {
		fprintf(stderr, "ursa-top: opening the BPF object failed: %s\n",
			strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = o.pid;
	fast = raw_tp_args("btf_trace_io_uring_submit_req") == 1 &&
	       raw_tp_args("btf_trace_io_uring_complete") == 3;
	bpf_program__set_autoload(skel->progs.handle_submit_req_btf, fast);
	bpf_program__set_autoload(skel->progs.handle_complete_btf, fast);
	bpf_program__set_autoload(skel->progs.handle_complete, !fast);
	/* Kernels before 6.0 call the submission tracepoint _submit_sqe. */
	bpf_program__set_autoload(skel->progs.handle_submit_req,
				  !fast && have_event("io_uring_submit_req"));
	bpf_program__set_autoload(skel->progs.handle_submit_sqe,
				  !fast && !have_event("io_uring_submit_req") &&
					  have_event("io_uring_submit_sqe"));
	bpf_program__set_autoload(skel->progs.handle_req_failed,
				  have_event("io_uring_req_failed"));
	bpf_program__set_autoload(skel->progs.handle_cqe_overflow,
				  have_event("io_uring_cqe_overflow"));
	if (!have_event("io_uring_complete") ||
	    (!have_event("io_uring_submit_req") &&
	     !have_event("io_uring_submit_sqe"))) {
		fprintf(stderr,
			"ursa-top: the kernel lacks the io_uring_submit_req and io_uring_complete tracepoints\n");
		goto out;
	}
	ret = ursa_top_bpf__load(skel);
	if (ret) {
		fprintf(stderr,
			"ursa-top: loading the BPF programs failed: %s (-v shows the verifier log)\n",
			strerror(-ret));
		goto out;
	}
	ret = ursa_top_bpf__attach(skel);
	if (ret) {
		fprintf(stderr,
			"ursa-top: attaching to the io_uring tracepoints failed: %s\n",
			strerror(-ret));
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (o.pid)
		fprintf(stderr,
			"Tracing io_uring of pid %d... Hit Ctrl-C to end.\n",
			o.pid);
	else
		fprintf(stderr, "Tracing io_uring... Hit Ctrl-C to end.\n");

	start = last = now_s();
	/* A signal still gets the last, partial interval printed. */
	while (o.count < 0 || n < o.count) {
		double t;

		wait_until(start + (n + 1) * o.interval);
		t = now_s();
		ret = read_snapshot(skel, ncpus, cur);
		if (ret) {
			fprintf(stderr,
				"ursa-top: reading the maps failed: %s\n",
				strerror(-ret));
			goto out;
		}
		if (o.json)
			print_json(&o, cur, prev, t - last);
		else
			print_table(&o, cur, prev, t - last);
		tmp = prev;
		prev = cur;
		cur = tmp;
		last = t;
		n++;
		if (exiting)
			break;
	}
	rc = 0;
out:
	ursa_top_bpf__destroy(skel);
	free(cur);
	free(prev);
	return rc;
}
