/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the Check unit tests (header-only). */
#ifndef VMH_TESTUTIL_H
#define VMH_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh private directory under TMPDIR; removed by tu_rmdir(). */
static inline char *
tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path;

	ck_assert(asprintf(&path, "%s/vmheal-test.XXXXXX", base) > 0);
	ck_assert_ptr_nonnull(mkdtemp(path));
	return path;
}

static inline void
tu_rmdir(char *path)
{
	char *cmd;

	/* Test-only cleanup of a directory this process created. */
	ck_assert(asprintf(&cmd, "rm -rf '%s'", path) > 0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(path);
}

/* Write text to dir/name with the given mode; returns the path (free it). */
static inline char *
tu_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path;
	FILE *f;

	ck_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

/* Run a suite, print the summary, return the exit status for automake. */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
