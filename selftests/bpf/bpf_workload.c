// SPDX-License-Identifier: MIT
/*
 * A known io_uring workload for the ursa-top test and the tracing
 * overhead figure: NOPS no-ops, then READS reads of FILE, through one
 * ursa loop, DEPTH requests in flight at a time.
 *
 *	bpf_workload [-w] [-d DEPTH] NOPS READS FILE
 *
 * With -w it prints "pid PID" and waits for a line on stdin before it
 * creates the loop, so that a tracer filtering on the pid can attach
 * first. It ends with "nops N reads N bytes N ns N" (ns: the time the
 * I/O took) and exits 0, or prints one line and exits 1 if a request
 * failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ursa/ursa.h>

#define MAX_DEPTH 256
#define READ_SIZE 4096

struct work {
	struct ursa_loop *loop;
	unsigned long nops_left, reads_left;
	unsigned long nops_done, reads_done, bytes;
	unsigned int inflight;
	int fd;
	off_t size;
	int err;
	unsigned long next_off;
};

struct slot {
	struct ursa_req req;
	struct work *w;
	char kind;
	char buf[READ_SIZE];
};

static void start(struct slot *s);

static void done(struct ursa_req *req, const struct ursa_exit *exit)
{
	struct slot *s = ursa_container_of(req, struct slot, req);
	struct work *w = s->w;

	w->inflight--;
	if (exit->kind != URSA_EXIT_SUCCESS) {
		if (!w->err)
			w->err = exit->err ? exit->err : -EIO;
		return;
	}
	if (s->kind == 'n') {
		w->nops_done++;
	} else {
		w->reads_done++;
		w->bytes += exit->val;
	}
	start(s);
}

static void start(struct slot *s)
{
	struct work *w = s->w;
	int ret;

	if (w->err)
		return;
	if (w->nops_left) {
		w->nops_left--;
		s->kind = 'n';
		ret = ursa_nop(w->loop, &s->req);
	} else if (w->reads_left) {
		uint64_t off = (w->next_off++ * READ_SIZE) % w->size;

		w->reads_left--;
		s->kind = 'r';
		ret = ursa_read(w->loop, &s->req, w->fd, s->buf, READ_SIZE,
				off - off % READ_SIZE);
	} else {
		return;
	}
	if (ret) {
		w->err = ret;
		return;
	}
	w->inflight++;
}

static unsigned long parse_count(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || *s == '-') {
		fprintf(stderr, "bpf_workload: bad count '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static struct slot slots[MAX_DEPTH];
	struct ursa_loop loop;
	struct work w = { .loop = &loop };
	unsigned int depth = 32, i;
	struct timespec t0, t1;
	char line[16];
	int opt, wait = 0, ret;

	while ((opt = getopt(argc, argv, "wd:")) != -1) {
		switch (opt) {
		case 'w':
			wait = 1;
			break;
		case 'd':
			depth = parse_count(optarg);
			if (!depth || depth > MAX_DEPTH) {
				fprintf(stderr, "bpf_workload: depth 1 to %d\n",
					MAX_DEPTH);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr,
			"usage: bpf_workload [-w] [-d DEPTH] NOPS READS FILE\n");
		return 2;
	}
	w.nops_left = parse_count(argv[optind]);
	w.reads_left = parse_count(argv[optind + 1]);
	w.fd = open(argv[optind + 2], O_RDONLY | O_CLOEXEC);
	if (w.fd < 0) {
		fprintf(stderr, "bpf_workload: %s: %s\n", argv[optind + 2],
			strerror(errno));
		return 1;
	}
	w.size = lseek(w.fd, 0, SEEK_END);
	if (w.size < READ_SIZE) {
		fprintf(stderr, "bpf_workload: %s: smaller than %d bytes\n",
			argv[optind + 2], READ_SIZE);
		return 1;
	}
	if (wait) {
		printf("pid %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		fprintf(stderr, "bpf_workload: %s\n", ursa_loop_strerror(ret));
		return ret == -EPERM || ret == -ENOSYS ? 4 : 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < depth; i++) {
		slots[i].w = &w;
		ursa_req_init(&slots[i].req, done);
		start(&slots[i]);
	}
	while (w.inflight && ret >= 0)
		ret = ursa_loop_run_once(&loop, true);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ursa_loop_exit(&loop);
	close(w.fd);
	if (ret < 0 || w.err) {
		fprintf(stderr, "bpf_workload: %s\n",
			strerror(-(ret < 0 ? ret : w.err)));
		return 1;
	}
	printf("nops %lu reads %lu bytes %lu ns %lld\n", w.nops_done,
	       w.reads_done, w.bytes,
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000ll +
		       (t1.tv_nsec - t0.tv_nsec));
	return 0;
}
