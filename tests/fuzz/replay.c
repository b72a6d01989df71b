/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs a fuzz target's entry point over files, for builds without libFuzzer:
 * `make check` replays the seed corpus (and the oned 6.10.5 captures in
 * ../shared when they are there) under whatever sanitizers the build has.
 * Arguments: files or directories; none: the target's seed corpus.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	unsigned char *buf;
	struct stat st;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) < 0) {
		perror(path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* Exact size: an overread past the input must show under ASan. */
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
run_path(const char *path, int *count)
{
	struct dirent *de;
	struct stat st;
	char *sub;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0) {
			rc = -1;
			break;
		}
		if (run_path(sub, count) < 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *srcdir = getenv("top_srcdir");
	char *corpus = NULL, *shared = NULL;
	struct stat st;
	int i, rc = 0, count = 0;

	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			rc = 1;
	if (argc == 1) {
		if (asprintf(&corpus, "%s/tests/fuzz/corpus/xmlrpc",
			     srcdir != NULL ? srcdir : ".") < 0 ||
		    asprintf(&shared,
			     "%s/../shared/opennebula/examples/oned-6.10.5",
			     srcdir != NULL ? srcdir : ".") < 0)
			return 1;
		if (run_path(corpus, &count) < 0)
			rc = 1;
		if (stat(shared, &st) == 0 && run_path(shared, &count) < 0)
			rc = 1;
		free(corpus);
		free(shared);
	}
	printf("replayed %d inputs\n", count);
	return count > 0 ? rc : 1;
}
