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

/*
 * Test certificates, made with openssl in dir: a CA (ca.pem, ca.key), a
 * server certificate for 127.0.0.1 (srv.pem, srv.key), a client
 * certificate from the CA (cli.pem, cli.key) and a self-signed one
 * (rogue.pem, rogue.key); keys 0600. 0 when openssl is missing.
 */
static inline int
tu_make_certs(const char *dir)
{
	char cmd[4096];

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "(cd '%s' && umask 077 && set -e; "
		 "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
		 "-nodes'; "
		 "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 "
		 "-subj /CN=vmheal-test-ca; "
		 "printf 'subjectAltName=IP:127.0.0.1\\n"
		 "extendedKeyUsage=serverAuth\\n' >srv.ext; "
		 "printf 'extendedKeyUsage=clientAuth\\n' >cli.ext; "
		 "openssl req $ec -keyout srv.key -out srv.csr "
		 "-subj /CN=127.0.0.1; "
		 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
		 "-set_serial 2 -days 2 -extfile srv.ext -out srv.pem; "
		 "openssl req $ec -keyout cli.key -out cli.csr "
		 "-subj /CN=vmheal-client; "
		 "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key "
		 "-set_serial 3 -days 2 -extfile cli.ext -out cli.pem; "
		 "openssl req -x509 $ec -keyout rogue.key -out rogue.pem "
		 "-days 2 -subj /CN=rogue-client; "
		 "chmod 644 ca.pem srv.pem cli.pem rogue.pem) "
		 ">'%s/openssl.log' 2>&1",
		 dir, dir);
	ck_assert_msg(system(cmd) == 0, "openssl failed: see %s/openssl.log",
		      dir);
	return 1;
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
