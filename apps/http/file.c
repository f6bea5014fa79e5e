// SPDX-License-Identifier: MIT
/*
 * ursa-http: static files under --root.
 *
 * The path is percent-decoded, then checked segment by segment: a NUL
 * byte or a ".." segment is refused (403) before any system call. The
 * file is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 * relative to the root's descriptor, so that no symlink can lead out of
 * the root either (the kernel answers EXDEV: 403). Small bodies are read
 * into the output buffer; larger ones are streamed by conn.c in 64 KiB
 * reads through the ring, each sent before the next is read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http.h"

#define INLINE_MAX 16384u
#define OMIT UINT64_MAX

static const struct {
	const char *ext;
	const char *type;
} mime[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	/* text/markdown makes browsers download it; the docs site is .md. */
	{ "md", "text/plain; charset=utf-8" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff2", "font/woff2" },
	{ "gz", "application/gzip" },
	{ "zst", "application/zstd" },
};

static const char *mime_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	size_t i;

	if (dot && (!slash || dot > slash)) {
		for (i = 0; i < sizeof(mime) / sizeof(mime[0]); i++)
			if (!strcasecmp(dot + 1, mime[i].ext))
				return mime[i].type;
	}
	return "application/octet-stream";
}

int fmt_http_date(char *buf, size_t size, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return (int)strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode @path into @out as a path relative to the root, without
 * leading slash, "." or empty segments. Returns 0, or the HTTP status to
 * answer: 400 for a bad escape, 403 for NUL or "..", 414 if too long.
 */
static int clean_path(const char *path, size_t plen, char *out, size_t size,
		      bool *dir)
{
	size_t i, o = 0, seg = 0;

	*dir = plen == 0 || path[plen - 1] == '/';
	for (i = 0; i <= plen; i++) {
		char ch;

		if (i == plen) {
			ch = '/';
		} else if (path[i] == '%') {
			int hi, lo;

			if (i + 2 >= plen)
				return 400;
			hi = hexval(path[i + 1]);
			lo = hexval(path[i + 2]);
			if (hi < 0 || lo < 0)
				return 400;
			ch = (char)(hi << 4 | lo);
			i += 2;
		} else {
			ch = path[i];
		}
		if (ch == '\0')
			return 403;
		if (ch != '/') {
			if (o + 2 >= size)
				return 414;
			out[o++] = ch;
			continue;
		}
		/* The end of a segment: out[seg, o). */
		if (o == seg) {
			continue;
		} else if (o - seg == 1 && out[seg] == '.') {
			o = seg;
		} else if (o - seg == 2 && out[seg] == '.' &&
			   out[seg + 1] == '.') {
			return 403;
		} else {
			out[o++] = '/';
			seg = o;
		}
	}
	if (o && out[o - 1] == '/')
		o--;
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/*
 * Without openat2() (Linux before 5.6, a seccomp profile that refuses it,
 * valgrind): open with openat() and keep the file only if where it really
 * is, as /proc/self/fd tells, is the root or beneath it.
 */
static int open_checked(const char *rel)
{
	char link[32], real[PATH_MAX];
	size_t rlen = strlen(cfg.root_real);
	ssize_t n;
	int fd, err;

	fd = openat(cfg.rootfd, rel,
		    O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n < 0) {
		err = errno == ENAMETOOLONG ? -ENAMETOOLONG : -EACCES;
		goto fail;
	}
	real[n] = '\0';
	if (strncmp(real, cfg.root_real, rlen) ||
	    (real[rlen] != '/' && real[rlen] != '\0' &&
	     strcmp(cfg.root_real, "/"))) {
		err = -EXDEV;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

static int open_beneath(const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (__atomic_load_n(&cfg.no_openat2, __ATOMIC_RELAXED))
		return open_checked(rel);
	fd = syscall(SYS_openat2, cfg.rootfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	__atomic_store_n(&cfg.no_openat2, true, __ATOMIC_RELAXED);
	return open_checked(rel);
}

static int open_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -ENAMETOOLONG:
		return 404;
	case -EXDEV:
	case -ELOOP:
	case -EACCES:
	case -EPERM:
		return 403;
	case -EMFILE:
	case -ENFILE:
		return 503;
	default:
		return 500;
	}
}

static bool etag_match(const char *list, uint32_t len, const char *etag)
{
	size_t elen = strlen(etag);
	uint32_t i = 0;

	while (i < len) {
		uint32_t s, e;

		while (i < len &&
		       (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		s = i;
		while (i < len && list[i] != ',')
			i++;
		e = i;
		while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e - s == 1 && list[s] == '*')
			return true;
		if (e - s > 2 && list[s] == 'W' && list[s + 1] == '/')
			s += 2;
		if (e - s == elen && !memcmp(list + s, etag, elen))
			return true;
	}
	return false;
}

static bool parse_date(const char *s, uint32_t len, time_t *t)
{
	char buf[64];
	struct tm tm;
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return false;
	*t = timegm(&tm);
	return true;
}

static bool parse_u64(const char *s, uint32_t len, uint64_t *v)
{
	uint64_t x = 0;
	uint32_t i;

	if (len == 0 || len > 19)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

/*
 * A single "bytes=" range. Returns 200 to ignore it (absent, several
 * ranges, or malformed), 206 with [*start, *end], or 416.
 */
static int parse_range(const char *s, uint32_t len, uint64_t size,
		       uint64_t *start, uint64_t *end)
{
	uint32_t i, dash = UINT32_MAX;
	uint64_t a, b;

	if (len < 7 || strncasecmp(s, "bytes=", 6))
		return 200;
	s += 6;
	len -= 6;
	for (i = 0; i < len; i++) {
		if (s[i] == ',')
			return 200;
		if (s[i] == '-' && dash == UINT32_MAX)
			dash = i;
	}
	if (dash == UINT32_MAX)
		return 200;
	if (dash == 0) {
		if (!parse_u64(s + 1, len - 1, &b))
			return 200;
		if (b == 0 || size == 0)
			return 416;
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
		return 206;
	}
	if (!parse_u64(s, dash, &a))
		return 200;
	if (dash + 1 == len) {
		b = UINT64_MAX;
	} else {
		if (!parse_u64(s + dash + 1, len - dash - 1, &b))
			return 200;
		if (b < a)
			return 200;
	}
	if (a >= size)
		return 416;
	*start = a;
	*end = b >= size ? size - 1 : b;
	return 206;
}

static void file_headers(struct conn *c, const struct stat *st,
			 const char *etag)
{
	char buf[64];

	out_put(c, "Last-Modified: ", 15);
	fmt_http_date(buf, sizeof(buf), st->st_mtime);
	out_put(c, buf, (uint32_t)strlen(buf));
	out_put(c, "\r\nETag: ", 8);
	out_put(c, etag, (uint32_t)strlen(etag));
	out_put(c, "\r\n", 2);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Write @s HTML-escaped (so also safe inside href="..."). */
static void put_html(FILE *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		case '?':
			fputs("%3f", f);
			break;
		case '#':
			fputs("%23", f);
			break;
		case '%':
			fputs("%25", f);
			break;
		default:
			fputc(s[i], f);
		}
	}
}

/*
 * A directory without index.html: a sorted listing of its entries, read
 * from the descriptor openat2() gave (so it is the folder that was
 * checked). At most 4096 names; a rare path, so it may allocate.
 */
static void autoindex(struct conn *c, const char *rel, const char *path,
		      size_t plen, bool head)
{
	char *names[4096], *body = NULL;
	size_t blen = 0;
	uint32_t nr = 0, i;
	struct dirent *de;
	FILE *f;
	DIR *d;
	int fd = open_beneath(rel);

	if (fd < 0) {
		resp_error(c, open_status(fd));
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		resp_error(c, 500);
		return;
	}
	while ((de = readdir(d)) && nr < 4096) {
		if (de->d_name[0] == '.')
			continue;
		names[nr] = strdup(de->d_name);
		if (names[nr])
			nr++;
	}
	closedir(d);
	qsort(names, nr, sizeof(names[0]), name_cmp);
	f = open_memstream(&body, &blen);
	if (f) {
		fputs("<!DOCTYPE html>\n<title>", f);
		put_html(f, path, plen);
		fputs("</title>\n<h1>", f);
		put_html(f, path, plen);
		fputs("</h1>\n<ul>\n", f);
	}
	for (i = 0; i < nr; i++) {
		if (f) {
			fputs("<li><a href=\"", f);
			put_html(f, names[i], strlen(names[i]));
			fputs("\">", f);
			put_html(f, names[i], strlen(names[i]));
			fputs("</a>\n", f);
		}
		free(names[i]);
	}
	if (!f || (fputs("</ul>\n", f), fclose(f))) {
		free(body);
		resp_error(c, 500);
		return;
	}
	resp_simple(c, 200, "text/html; charset=utf-8", body, (uint32_t)blen,
		    head, false);
	free(body);
}

void serve_file(struct conn *c, const char *path, size_t plen, bool head)
{
	const struct span *inm = &c->rq.hdr[H_INM];
	const struct span *ims = &c->rq.hdr[H_IMS];
	const struct span *rng = &c->rq.hdr[H_RANGE];
	char rel[4096 + 16], etag[48], buf[96];
	uint64_t start = 0, end = 0, len;
	struct stat st;
	bool dir;
	int fd, status;
	time_t t;

	status = clean_path(path, plen, rel, sizeof(rel) - 16, &dir);
	if (status) {
		resp_error(c, status);
		return;
	}
	fd = open_beneath(rel);
	if (fd < 0) {
		status = open_status(fd);
		goto err;
	}
	if (fstat(fd, &st)) {
		status = 500;
		goto err_close;
	}
	if (S_ISDIR(st.st_mode)) {
		size_t n;

		close(fd);
		if (!dir) {
			/* /dir -> /dir/, as nginx does. */
			resp_head(c, 301, "text/plain", 0, false);
			out_put(c, "Location: ", 10);
			out_put(c, path, (uint32_t)plen);
			out_put(c, "/\r\n\r\n", 5);
			return;
		}
		n = strlen(rel);
		if (n == 1 && rel[0] == '.')
			n = 0;
		else
			rel[n++] = '/';
		memcpy(rel + n, "index.html", 11);
		fd = open_beneath(rel);
		if (fd == -ENOENT) {
			if (n)
				rel[n - 1] = '\0';
			else
				strcpy(rel, ".");
			autoindex(c, rel, path, plen, head);
			return;
		}
		if (fd < 0) {
			status = open_status(fd);
			goto err;
		}
		if (fstat(fd, &st)) {
			status = 500;
			goto err_close;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		status = 403;
		goto err_close;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
		 (unsigned long long)st.st_mtime,
		 (unsigned long long)st.st_size);
	if ((inm->len && etag_match(c->rbuf + inm->off, inm->len, etag)) ||
	    (!inm->len && ims->len &&
	     parse_date(c->rbuf + ims->off, ims->len, &t) &&
	     st.st_mtime <= t)) {
		close(fd);
		resp_head(c, 304, NULL, OMIT, false);
		file_headers(c, &st, etag);
		out_put(c, "\r\n", 2);
		return;
	}
	status = 200;
	if (rng->len)
		status = parse_range(c->rbuf + rng->off, rng->len,
				     (uint64_t)st.st_size, &start, &end);
	if (status == 416) {
		close(fd);
		resp_head(c, 416, "text/plain", 0, false);
		snprintf(buf, sizeof(buf),
			 "Content-Range: bytes */%llu\r\n\r\n",
			 (unsigned long long)st.st_size);
		out_put(c, buf, (uint32_t)strlen(buf));
		return;
	}
	if (status == 200) {
		start = 0;
		len = (uint64_t)st.st_size;
	} else {
		len = end - start + 1;
	}
	resp_head(c, status, mime_type(rel), len, false);
	file_headers(c, &st, etag);
	if (status == 206) {
		snprintf(buf, sizeof(buf),
			 "Content-Range: bytes %llu-%llu/%llu\r\n",
			 (unsigned long long)start, (unsigned long long)end,
			 (unsigned long long)st.st_size);
		out_put(c, buf, (uint32_t)strlen(buf));
	}
	out_put(c, "Accept-Ranges: bytes\r\n\r\n", 24);
	if (head || len == 0 || c->dead) {
		close(fd);
		return;
	}
	if (len <= INLINE_MAX) {
		ssize_t n = 0;
		uint64_t got = 0;

		if (out_reserve(c, (uint32_t)len)) {
			close(fd);
			return;
		}
		while (got < len) {
			n = pread(fd, c->obuf + c->olen + got, len - got,
				  (off_t)(start + got));
			if (n <= 0)
				break;
			got += (uint64_t)n;
		}
		close(fd);
		if (got < len) {
			/* The file shrank under us: the length is a lie. */
			c->dead = true;
			return;
		}
		c->olen += (uint32_t)len;
		return;
	}
	c->ffd = fd;
	c->foff = start;
	c->fleft = len;
	c->flen = c->fsent = 0;
	return;

err_close:
	close(fd);
err:
	if (status >= 500 || status == 400)
		resp_error(c, status);
	else
		resp_simple(c, status, "text/plain",
			    status == 404 ? "404 Not Found\n" :
					    "403 Forbidden\n",
			    14, head, false);
}
