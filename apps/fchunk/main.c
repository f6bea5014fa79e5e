// SPDX-License-Identifier: MIT
/*
 * ursa-fchunk: chunked file hashing, copying and compression on the ursa
 * loop. See docs/fchunk.md.
 *
 *   ursa-fchunk hash [-a xxh3|xxh128] [--per-chunk[=text|json]] FILE...
 *   ursa-fchunk hash -c LIST...
 *   ursa-fchunk copy [--preserve] [--verify] SRC DST
 *   ursa-fchunk compress [--level N] SRC [DST.zst]
 *   ursa-fchunk decompress SRC.zst [DST]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fchunk.h"

static struct fc_ctx g;

/* The temporary output, removed by a fatal signal. */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_set;

static void on_fatal_signal(int sig)
{
	if (tmp_set)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void fc_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (g.pshown) {
		fputs("\r\033[K", stderr);
		g.pshown = false;
	}
	fputs("ursa-fchunk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *human(char *buf, size_t len, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
	return buf;
}

void fc_progress_print(struct fc_ctx *c, bool final)
{
	double secs = (double)(now_ns() - c->pstart) / 1e9;
	double rate = secs > 0 ? (double)c->pdone / secs : 0;
	char a[32], b[32], r[32];

	if (final && !c->pshown)
		return;
	fflush(stdout);
	if (c->ptotal) {
		double left = rate > 0 ? (double)(c->ptotal - c->pdone) / rate :
					 0;
		unsigned int eta = (unsigned int)(left + 0.5);

		fprintf(stderr,
			"\r%s: %s / %s (%3.0f%%) %s/s ETA %u:%02u\033[K",
			c->pname, human(a, sizeof(a), (double)c->pdone),
			human(b, sizeof(b), (double)c->ptotal),
			100.0 * (double)c->pdone / (double)c->ptotal,
			human(r, sizeof(r), rate), eta / 60, eta % 60);
	} else {
		fprintf(stderr, "\r%s: %s %s/s\033[K", c->pname,
			human(a, sizeof(a), (double)c->pdone),
			human(r, sizeof(r), rate));
	}
	if (final) {
		fputc('\n', stderr);
		c->pshown = false;
	} else {
		c->pshown = true;
	}
	fflush(stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ursa-fchunk hash [-a xxh3|xxh128] [--per-chunk[=text|json]] FILE...\n"
		"       ursa-fchunk hash -c LIST...\n"
		"       ursa-fchunk copy [--preserve] [--verify] SRC DST\n"
		"       ursa-fchunk compress [--level N] SRC [DST.zst]\n"
		"       ursa-fchunk decompress SRC.zst [DST]\n"
		"       ursa-fchunk read FILE...   (read and drop: the read path alone)\n"
		"options: --chunk-size N[K|M|G] (1M)  --queue-depth N (8)  --threads N (CPUs)\n"
		"         --direct  --force  --json  --progress  --no-progress\n"
		"'-' is standard input or output.\n"
		"exit: 0 ok, 1 checksum mismatch, 2 usage, 3 input error, 4 output error,\n"
		"      5 corrupt or truncated .zst, 6 system (io_uring, memory, threads)\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static long max_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- input and output files ---------------------------------------- */

struct fc_in {
	struct fc_io io;
	struct stat st;
	int fd; /* buffered */
	int dfd; /* O_DIRECT, or -1 */
};

static int in_open(struct fc_in *in, const char *path)
{
	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->dfd = -1;
	if (!strcmp(path, "-")) {
		in->io.in_name = "stdin";
		in->fd = dup(0);
	} else {
		in->io.in_name = path;
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (in->fd < 0) {
		fc_err("cannot open '%s': %s", path, strerror(errno));
		return FC_EXIT_INPUT;
	}
	if (fstat(in->fd, &in->st)) {
		fc_err("cannot stat '%s': %s", path, strerror(errno));
		close(in->fd);
		return FC_EXIT_INPUT;
	}
	if (S_ISDIR(in->st.st_mode)) {
		fc_err("'%s': is a directory", path);
		close(in->fd);
		return FC_EXIT_INPUT;
	}
	in->io.seekable = S_ISREG(in->st.st_mode);
	in->io.size = in->io.seekable ? (uint64_t)in->st.st_size : UINT64_MAX;
	in->io.in_fd = in->fd;
	in->io.tail_fd = in->fd;
	in->io.out_fd = -1;
	if (g.o.direct && !in->io.seekable) {
		fc_err("'%s': --direct needs a regular file; reading it "
		       "buffered",
		       path);
	} else if (g.o.direct) {
		void *probe = NULL;

		in->dfd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
		if (in->dfd >= 0 && in->io.size >= 4096 &&
		    !posix_memalign(&probe, 4096, 4096) &&
		    pread(in->dfd, probe, 4096, 0) < 0) {
			int err = errno;

			close(in->dfd);
			in->dfd = -1;
			errno = err;
		}
		free(probe);
		if (in->dfd < 0) {
			fc_err("'%s': the file system refuses O_DIRECT (%s); "
			       "reading it buffered",
			       path, strerror(errno));
		} else {
			in->io.in_fd = in->dfd;
			in->io.direct = true;
		}
	}
	return 0;
}

static void in_close(struct fc_in *in)
{
	if (in->dfd >= 0)
		close(in->dfd);
	if (in->fd >= 0)
		close(in->fd);
}

struct fc_out {
	const char *dst;
	int fd;
	bool is_stdout;
};

static int out_open(struct fc_out *out, const char *dst, mode_t mode)
{
	const char *slash = strrchr(dst, '/');
	struct stat st;
	int n;

	memset(out, 0, sizeof(*out));
	out->dst = dst;
	out->fd = -1;
	if (!strcmp(dst, "-")) {
		out->fd = 1;
		out->is_stdout = true;
		return 0;
	}
	if (!stat(dst, &st)) {
		if (S_ISDIR(st.st_mode)) {
			fc_err("'%s': is a directory", dst);
			return FC_EXIT_OUTPUT;
		}
		if (!g.o.force) {
			fc_err("'%s' already exists (use --force to replace "
			       "it)",
			       dst);
			return FC_EXIT_OUTPUT;
		}
	}
	if (slash)
		n = snprintf(tmp_path, sizeof(tmp_path),
			     "%.*s/.%s.fchunk-XXXXXX", (int)(slash - dst), dst,
			     slash + 1);
	else
		n = snprintf(tmp_path, sizeof(tmp_path), ".%s.fchunk-XXXXXX",
			     dst);
	if (n < 0 || (size_t)n >= sizeof(tmp_path)) {
		fc_err("'%s': name too long", dst);
		return FC_EXIT_OUTPUT;
	}
	out->fd = mkostemp(tmp_path, O_CLOEXEC);
	if (out->fd < 0) {
		fc_err("cannot create '%s': %s", dst, strerror(errno));
		return FC_EXIT_OUTPUT;
	}
	tmp_set = 1;
	if (fchmod(out->fd, mode & 07777)) {
		/* Not fatal: the file keeps mode 0600. */
	}
	return 0;
}

static void out_abort(struct fc_out *out)
{
	if (out->is_stdout || out->fd < 0)
		return;
	close(out->fd);
	unlink(tmp_path);
	tmp_set = 0;
	out->fd = -1;
}

static int out_commit(struct fc_out *out, const struct stat *src)
{
	int ret;

	if (out->is_stdout)
		return 0;
	if (src && g.o.preserve) {
		struct timespec ts[2] = { src->st_atim, src->st_mtim };

		if (futimens(out->fd, ts))
			fc_err("'%s': cannot set times: %s", out->dst,
			       strerror(errno));
		if (fchown(out->fd, src->st_uid, src->st_gid)) {
			/* Only root may give files away; keep ours. */
		}
	}
	if (close(out->fd)) {
		fc_err("cannot write '%s': %s", out->dst, strerror(errno));
		out->fd = -1;
		unlink(tmp_path);
		tmp_set = 0;
		return FC_EXIT_OUTPUT;
	}
	out->fd = -1;
	if (g.o.force)
		ret = rename(tmp_path, out->dst);
	else
		ret = renameat2(AT_FDCWD, tmp_path, AT_FDCWD, out->dst,
				RENAME_NOREPLACE);
	if (ret) {
		fc_err("cannot create '%s': %s", out->dst,
		       errno == EEXIST ? "it appeared meanwhile (use --force)" :
					 strerror(errno));
		unlink(tmp_path);
		tmp_set = 0;
		return FC_EXIT_OUTPUT;
	}
	tmp_set = 0;
	return 0;
}

/* ---- totals and the --json summary --------------------------------- */

static struct {
	const char *cmd;
	unsigned int files;
	uint64_t bytes, bytes_out, chunks;
	uint64_t start;
} tot;

static void account(const struct fc_result *r)
{
	tot.files++;
	tot.bytes += r->bytes_in;
	tot.bytes_out += r->bytes_out;
	tot.chunks += r->chunks;
}

static void print_summary(int status, bool data_on_stdout)
{
	FILE *f = data_on_stdout ? stderr : stdout;
	double secs = (double)(now_ns() - tot.start) / 1e9;

	fprintf(f,
		"{\"command\": \"%s\", \"status\": %d, \"files\": %u, "
		"\"bytes\": %llu, \"bytes_out\": %llu, \"seconds\": %.6f, "
		"\"gb_per_s\": %.3f, \"chunks\": %llu, \"chunk_size\": %u, "
		"\"queue_depth\": %u, \"threads\": %u, \"max_rss_kib\": "
		"%ld}\n",
		tot.cmd, status, tot.files, (unsigned long long)tot.bytes,
		(unsigned long long)tot.bytes_out, secs,
		secs > 0 ? (double)tot.bytes / secs / 1e9 : 0.0,
		(unsigned long long)tot.chunks, g.o.chunk, g.o.depth,
		g.o.threads, max_rss_kib());
}

/* ---- hash ------------------------------------------------------------ */

static const char *algo_name(int algo)
{
	return algo == FC_XXH128 ? "xxh128" :
	       algo == FC_XXH64	 ? "xxh64" :
				   "xxh3";
}

static void hash_hex(char *hex, size_t len, int algo, const struct fc_result *r)
{
	if (algo == FC_XXH128)
		snprintf(hex, len, "%016llx%016llx",
			 (unsigned long long)r->h128.high64,
			 (unsigned long long)r->h128.low64);
	else
		snprintf(hex, len, "%016llx", (unsigned long long)r->h64);
}

/* Hash one file. Returns an FC_EXIT_* code; the message is printed. */
static int hash_file(const char *path, int algo, struct fc_result *r)
{
	struct fc_in in;
	int ret;

	ret = in_open(&in, path);
	if (ret)
		return ret;
	in.io.algo = algo;
	ret = fc_run(&g, FC_HASH, &in.io, r);
	in_close(&in);
	if (!ret)
		account(r);
	return ret;
}

static int cmd_hash(int argc, char **argv)
{
	int worst = 0, i, ret;

	for (i = 0; i < argc; i++) {
		const char *name = strcmp(argv[i], "-") ? argv[i] : "stdin";
		struct fc_result r;
		char hex[40];

		if (g.o.per_chunk == FC_PC_JSON) {
			printf("{\"file\": ");
			json_str(stdout, name);
			printf(", \"algorithm\": \"%s\", \"chunk_size\": %u, "
			       "\"chunks\": [",
			       algo_name(g.o.algo), g.o.chunk);
			g.pc_first = true;
		}
		ret = hash_file(argv[i], g.o.algo, &r);
		if (ret) {
			if (g.o.per_chunk == FC_PC_JSON)
				printf("], \"error\": true}\n");
			if (ret > worst)
				worst = ret;
			continue;
		}
		hash_hex(hex, sizeof(hex), g.o.algo, &r);
		if (g.o.per_chunk == FC_PC_JSON)
			printf("%s], \"hash\": \"%s\"}\n",
			       g.pc_first ? "" : "\n  ", hex);
		else if (g.o.algo == FC_XXH128)
			printf("%s  %s\n", hex, name);
		else
			printf("XXH3 (%s) = %s\n", name, hex);
	}
	return worst;
}

/* read: the read path alone, chunks dropped; for benchmarks. */
static int cmd_read(int argc, char **argv)
{
	int worst = 0, i, ret;

	for (i = 0; i < argc; i++) {
		struct fc_result r;
		struct fc_in in;

		ret = in_open(&in, argv[i]);
		if (!ret) {
			ret = fc_run(&g, FC_READ, &in.io, &r);
			in_close(&in);
			if (!ret)
				account(&r);
		}
		if (ret > worst)
			worst = ret;
	}
	return worst;
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/*
 * Parse one line of a checksum list, in xxhsum's BSD form
 * ("XXH3 (NAME) = HEX", "XXH128 (NAME) = HEX", "XXH64 (NAME) = HEX") or
 * its GNU form ("HEX  NAME": 16 digits are XXH64, 32 are XXH128).
 */
static bool parse_check_line(char *line, int *algo, char **name, char **hex)
{
	static const struct {
		const char *tag;
		int algo;
		size_t digits;
	} tags[] = {
		{ "XXH3 (", FC_XXH3, 16 },
		{ "XXH128 (", FC_XXH128, 32 },
		{ "XXH64 (", FC_XXH64, 16 },
	};
	size_t len = strlen(line), i;
	char *p;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t tl = strlen(tags[i].tag);

		if (strncmp(line, tags[i].tag, tl))
			continue;
		p = strstr(line, ") = ");
		while (p && strstr(p + 1, ") = "))
			p = strstr(p + 1, ") = ");
		if (!p || strlen(p + 4) != tags[i].digits ||
		    !all_hex(p + 4, tags[i].digits))
			return false;
		*p = '\0';
		*name = line + tl;
		*hex = p + 4;
		*algo = tags[i].algo;
		return true;
	}
	for (i = 0; i < len && all_hex(line + i, 1); i++)
		;
	if ((i != 16 && i != 32) || strncmp(line + i, "  ", 2) || !line[i + 2])
		return false;
	line[i] = '\0';
	*hex = line;
	*name = line + i + 2;
	*algo = i == 32 ? FC_XXH128 : FC_XXH64;
	return true;
}

static int cmd_check(int argc, char **argv)
{
	unsigned long bad_lines = 0, mismatch = 0, unreadable = 0, ok = 0;
	int i, ret = 0;

	for (i = 0; i < argc; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		if (!f) {
			fc_err("cannot open '%s': %s", argv[i],
			       strerror(errno));
			ret = FC_EXIT_INPUT;
			continue;
		}
		while ((n = getline(&line, &cap, f)) >= 0) {
			struct fc_result r;
			char *name, *hex, want[40];
			int algo, rc;

			while (n &&
			       (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (!parse_check_line(line, &algo, &name, &hex)) {
				bad_lines++;
				continue;
			}
			rc = hash_file(name, algo, &r);
			if (rc) {
				printf("%s: FAILED open or read\n", name);
				unreadable++;
				continue;
			}
			hash_hex(want, sizeof(want), algo, &r);
			if (strcasecmp(want, hex)) {
				printf("%s: FAILED\n", name);
				mismatch++;
			} else {
				printf("%s: OK\n", name);
				ok++;
			}
		}
		free(line);
		if (f != stdin)
			fclose(f);
	}
	fflush(stdout);
	if (bad_lines)
		fc_err("WARNING: %lu line%s improperly formatted", bad_lines,
		       bad_lines == 1 ? " is" : "s are");
	if (unreadable)
		fc_err("WARNING: %lu listed file%s could not be read",
		       unreadable, unreadable == 1 ? "" : "s");
	if (mismatch)
		fc_err("WARNING: %lu computed checksum%s did NOT match",
		       mismatch, mismatch == 1 ? "" : "s");
	if (!ok && !mismatch && !unreadable && !ret) {
		fc_err("no properly formatted checksum lines found");
		return FC_EXIT_MISMATCH;
	}
	if (ret)
		return ret;
	return mismatch || unreadable ? FC_EXIT_MISMATCH : 0;
}

/* ---- copy, compress, decompress -------------------------------------- */

static int cmd_transform(enum fc_op op, const char *src, const char *dst)
{
	struct fc_result r, v;
	struct fc_in in;
	struct fc_out out;
	mode_t mode;
	int ret;

	ret = in_open(&in, src);
	if (ret)
		return ret;
	if (in.io.seekable) {
		mode = in.st.st_mode;
	} else {
		mode_t mask = umask(0);

		umask(mask);
		mode = 0666 & ~mask;
	}
	ret = out_open(&out, dst, mode);
	if (ret) {
		in_close(&in);
		return ret;
	}
	in.io.out_fd = out.fd;
	in.io.out_name = dst;
	in.io.out_seekable = !out.is_stdout;
	in.io.algo = FC_XXH128;
	ret = fc_run(&g, op, &in.io, &r);
	if (!ret)
		account(&r);
	if (!ret && op == FC_COPY && g.o.verify) {
		struct fc_io vio = { 0 };
		bool prog = g.progress;

		vio.in_fd = out.fd;
		vio.tail_fd = out.fd;
		vio.in_name = dst;
		vio.size = r.bytes_out;
		vio.seekable = true;
		vio.out_fd = -1;
		vio.algo = FC_XXH128;
		g.progress = false;
		ret = fc_run(&g, FC_HASH, &vio, &v);
		g.progress = prog;
		if (!ret && (v.h128.low64 != r.h128.low64 ||
			     v.h128.high64 != r.h128.high64 ||
			     v.bytes_in != r.bytes_in)) {
			fc_err("'%s': verification failed: the copy differs "
			       "from '%s'",
			       dst, src);
			ret = FC_EXIT_MISMATCH;
		}
	}
	if (!ret)
		ret = out_commit(&out, in.io.seekable ? &in.st : NULL);
	else
		out_abort(&out);
	in_close(&in);
	return ret;
}

static char *default_dst(enum fc_op op, const char *src)
{
	size_t n = strlen(src);
	char *d;

	if (!strcmp(src, "-"))
		return strdup("-");
	if (op == FC_COMPRESS) {
		d = malloc(n + 5);
		if (d)
			snprintf(d, n + 5, "%s.zst", src);
		return d;
	}
	if (n > 4 && !strcmp(src + n - 4, ".zst"))
		return strndup(src, n - 4);
	return NULL;
}

/* ---- main ------------------------------------------------------------ */

enum {
	OPT_CHUNK = 256,
	OPT_DEPTH,
	OPT_THREADS,
	OPT_DIRECT,
	OPT_JSON,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_PER_CHUNK,
	OPT_VERIFY,
	OPT_LEVEL,
};

static const struct option long_opts[] = {
	{ "algo", required_argument, NULL, 'a' },
	{ "check", no_argument, NULL, 'c' },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "queue-depth", required_argument, NULL, OPT_DEPTH },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ "force", no_argument, NULL, 'f' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "per-chunk", optional_argument, NULL, OPT_PER_CHUNK },
	{ "preserve", no_argument, NULL, 'p' },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int bad_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ursa-fchunk: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	return FC_EXIT_USAGE;
}

static int parse_opts(int argc, char **argv)
{
	uint64_t v;
	long n;
	int c;

	g.o.chunk = 1u << 20;
	g.o.depth = 8;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	g.o.threads = n > 0 && n <= 256 ? (unsigned int)n : 1;
	g.o.level = 3;
	g.o.progress = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+a:cfphV", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'a':
			if (!strcmp(optarg, "xxh3") || !strcmp(optarg, "XXH3"))
				g.o.algo = FC_XXH3;
			else if (!strcmp(optarg, "xxh128") ||
				 !strcmp(optarg, "XXH128"))
				g.o.algo = FC_XXH128;
			else
				return bad_usage("unknown algorithm '%s'",
						 optarg);
			break;
		case 'c':
			g.o.check = true;
			break;
		case OPT_CHUNK:
			if (parse_size(optarg, &v) || !v || v > (1u << 30))
				return bad_usage("bad --chunk-size '%s' (1 to "
						 "1G, K/M/G suffixes)",
						 optarg);
			g.o.chunk = (uint32_t)v;
			break;
		case OPT_DEPTH:
			if (parse_uint(optarg, 1, 256, &n))
				return bad_usage("bad --queue-depth '%s' (1 to "
						 "256)",
						 optarg);
			g.o.depth = (unsigned int)n;
			break;
		case OPT_THREADS:
			if (parse_uint(optarg, 1, 256, &n))
				return bad_usage("bad --threads '%s' (1 to "
						 "256)",
						 optarg);
			g.o.threads = (unsigned int)n;
			break;
		case OPT_LEVEL:
			if (parse_uint(optarg, ZSTD_minCLevel(),
				       ZSTD_maxCLevel(), &n))
				return bad_usage("bad --level '%s'", optarg);
			g.o.level = (int)n;
			break;
		case OPT_DIRECT:
			g.o.direct = true;
			break;
		case 'f':
			g.o.force = true;
			break;
		case OPT_JSON:
			g.o.json = true;
			break;
		case OPT_PROGRESS:
			g.o.progress = 1;
			break;
		case OPT_NO_PROGRESS:
			g.o.progress = 0;
			break;
		case OPT_PER_CHUNK:
			if (!optarg || !strcmp(optarg, "text"))
				g.o.per_chunk = FC_PC_TEXT;
			else if (!strcmp(optarg, "json"))
				g.o.per_chunk = FC_PC_JSON;
			else
				return bad_usage("bad --per-chunk '%s' (text "
						 "or json)",
						 optarg);
			break;
		case 'p':
			g.o.preserve = true;
			break;
		case OPT_VERIFY:
			g.o.verify = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("ursa-fchunk %s\n", URSA_VERSION_STRING);
			exit(0);
		default:
			return bad_usage("bad option '%s'", argv[optind - 1]);
		}
	}
	if (g.o.direct && g.o.chunk % 4096)
		return bad_usage("--direct needs a --chunk-size that is a "
				 "multiple of 4K");
	return 0;
}

/* Options whose value is the next argument. */
static bool takes_value(const char *a)
{
	return !strcmp(a, "-a") || !strcmp(a, "--algo") ||
	       !strcmp(a, "--chunk-size") || !strcmp(a, "--queue-depth") ||
	       !strcmp(a, "--threads") || !strcmp(a, "--level");
}

int main(int argc, char **argv)
{
	const char *cmd;
	enum fc_op op;
	char *dst = NULL;
	int ret, nargs, i;
	char **args;
	bool stdout_data = false, read_only = false;

	g.wait_fd = -1;
	if (argc < 2)
		return bad_usage("no command");
	/* The command is the first operand; options may come before it. */
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (takes_value(argv[i]))
			i++;
	}
	if (i >= argc)
		return bad_usage("no command");
	cmd = argv[i];
	memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof(*argv));
	argv[1] = (char *)cmd;
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "hash"))
		op = FC_HASH;
	else if (!strcmp(cmd, "copy"))
		op = FC_COPY;
	else if (!strcmp(cmd, "compress"))
		op = FC_COMPRESS;
	else if (!strcmp(cmd, "decompress"))
		op = FC_DECOMPRESS;
	else if (!strcmp(cmd, "read"))
		op = FC_READ;
	else
		return bad_usage("unknown command '%s'", cmd);
	/* Options may come before or after the operands. */
	ret = 0;
	{
		char **v = calloc((size_t)argc, sizeof(*v));
		int nopt = 1, nop = 0;
		char **ops = calloc((size_t)argc, sizeof(*ops));

		if (!v || !ops) {
			fc_err("out of memory");
			return FC_EXIT_SYSTEM;
		}
		v[0] = argv[0];
		for (i = 2; i < argc; i++) {
			const char *a = argv[i];

			if (!strcmp(a, "--")) {
				for (i++; i < argc; i++)
					ops[nop++] = argv[i];
				break;
			}
			if (a[0] == '-' && a[1]) {
				v[nopt++] = argv[i];
				/* Options that take a separate argument. */
				if (takes_value(a) && i + 1 < argc)
					v[nopt++] = argv[++i];
			} else {
				ops[nop++] = argv[i];
			}
		}
		ret = parse_opts(nopt, v);
		free(v);
		if (!ret && optind != nopt)
			ret = bad_usage("unexpected argument");
		args = ops;
		nargs = nop;
	}
	if (ret) {
		free(args);
		return ret;
	}
	if (op == FC_READ) {
		op = FC_HASH;
		read_only = true;
	}
	if (op == FC_HASH && !nargs) {
		free(args);
		return bad_usage("hash needs at least one FILE");
	}
	if (op != FC_HASH && (nargs < 1 || nargs > 2)) {
		free(args);
		return bad_usage("%s needs SRC and DST", cmd);
	}
	if (op != FC_HASH && nargs == 1 && op != FC_COPY)
		dst = default_dst(op, args[0]);
	else if (op != FC_HASH && nargs == 2)
		dst = strdup(args[1]);
	if (op != FC_HASH && !dst) {
		free(args);
		return bad_usage("%s needs SRC and DST", cmd);
	}
	if (op == FC_COPY && g.o.verify && !strcmp(dst, "-")) {
		free(args);
		free(dst);
		return bad_usage("--verify cannot re-read standard output");
	}
	stdout_data = dst && !strcmp(dst, "-");
	g.progress = g.o.progress < 0 ? isatty(2) : g.o.progress;
	g.pc_out = stdout;

	signal(SIGPIPE, SIG_IGN);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}

	ret = ursa_loop_init(&g.loop, NULL);
	if (ret) {
		fc_err("cannot set up io_uring: %s", ursa_loop_strerror(ret));
		free(args);
		free(dst);
		return FC_EXIT_SYSTEM;
	}
	ret = fc_loop_wait_setup(&g);
	if (ret) {
		fc_err("cannot set up the loop's eventfd: %s", strerror(-ret));
		ret = FC_EXIT_SYSTEM;
		goto out;
	}
	if (op == FC_COMPRESS || op == FC_DECOMPRESS) {
		ret = fc_pool_start(&g.zstd_pool, &g.loop, g.o.threads,
				    g.o.level);
		g.zstd_pool_up = !ret;
	}
	if (ret) {
		fc_err("cannot start worker threads: %s", strerror(-ret));
		ret = FC_EXIT_SYSTEM;
		goto out;
	}
	tot.cmd = cmd;
	tot.start = now_ns();
	if (read_only)
		ret = cmd_read(nargs, args);
	else if (op == FC_HASH && g.o.check)
		ret = cmd_check(nargs, args);
	else if (op == FC_HASH)
		ret = cmd_hash(nargs, args);
	else
		ret = cmd_transform(op, args[0], dst);
	fflush(stdout);
	if (g.o.json)
		print_summary(ret, stdout_data);
out:
	if (g.zstd_pool_up)
		fc_pool_stop(&g.zstd_pool);
	ursa_loop_exit(&g.loop);
	if (g.wait_fd >= 0)
		close(g.wait_fd);
	free(args);
	free(dst);
	if (fflush(stdout) || ferror(stdout)) {
		fc_err("cannot write standard output: %s", strerror(errno));
		if (!ret)
			ret = FC_EXIT_OUTPUT;
	}
	return ret;
}
