/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the sources selftests: a consumer that records what
 * it takes from an emit buffer, the process's resident set size, and a
 * byte stream whose every byte says where it belongs (so loss,
 * duplication and reordering show).
 */
#ifndef URSA_SELFTESTS_SOURCES_H
#define URSA_SELFTESTS_SOURCES_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "../uring/helpers.h"

/* Byte @off of the stream: a little-endian uint64 counter, 0, 1, 2... */
static inline unsigned char stream_byte(uint64_t off)
{
	return (unsigned char)((off / 8) >> (8 * (off % 8)));
}

static inline void stream_fill(void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	size_t i = 0;

	while (i < len && (off + i) % 8)
		p[i] = stream_byte(off + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = (off + i) / 8;

		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = stream_byte(off + i);
}

/* The index of the first byte off the stream, or @len. */
static inline size_t stream_check(const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;
	size_t i = 0;

	while (i < len && (off + i) % 8) {
		if (p[i] != stream_byte(off + i))
			return i;
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w != (off + i) / 8)
			break;
	}
	for (; i < len; i++)
		if (p[i] != stream_byte(off + i))
			return i;
	return len;
}

/* Resident set size of this process (bytes), or 0 if unknown. */
static inline uint64_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	if (n != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

#endif /* URSA_SELFTESTS_SOURCES_H */
