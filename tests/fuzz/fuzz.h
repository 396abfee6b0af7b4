/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: a reader that takes fields off the input
 * (zeros once it runs out, so every input is a valid program), and with
 * -DFUZZ_STANDALONE a main() that replays the files and directories named
 * on its command line through LLVMFuzzerTestOneInput, for compilers
 * without libFuzzer (gcc) and for the replay layer of make check
 * (tests/fuzz/replay.sh).
 */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, then abort (libFuzzer keeps the input). */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} \
} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++) {
		uint64_t b = 0;

		if (in->left) {
			b = *in->p++;
			in->left--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) { return (uint8_t)fuzz_take(in, 1); }
static inline uint16_t fuzz_u16(struct fuzz_in *in) { return (uint16_t)fuzz_take(in, 2); }
static inline uint32_t fuzz_u32(struct fuzz_in *in) { return (uint32_t)fuzz_take(in, 4); }
static inline uint64_t fuzz_u64(struct fuzz_in *in) { return fuzz_take(in, 8); }

/* Up to n bytes of the input as they are; how many there were. */
static inline size_t fuzz_bytes(struct fuzz_in *in, size_t n, const uint8_t **p)
{
	if (n > in->left)
		n = in->left;
	*p = in->p;
	in->p += n;
	in->left -= n;
	return n;
}

/* Optional: set up once (libFuzzer calls it before the first input). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#ifdef FUZZ_STANDALONE

static int fuzz_replay_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	/* an exactly-sized copy, so ASan sees a read past the input */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[4 << 20];
	int runs = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		DIR *dir = opendir(argv[i]);
		struct dirent *e;

		if (!dir) {
			if (fuzz_replay_file(argv[i], buf, sizeof(buf)))
				return 1;
			runs++;
			continue;
		}
		while ((e = readdir(dir))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (fuzz_replay_file(path, buf, sizeof(buf))) {
				closedir(dir);
				return 1;
			}
			runs++;
		}
		closedir(dir);
	}
	printf("%d inputs ok\n", runs);
	return 0;
}
#endif

#endif
