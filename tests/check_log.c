/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: verbosity, secret masking, JSON lines, errno preserved. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "log.h"
#include "testutil.h"

/* Run fn with stderr redirected to a file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/vmheal-log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text = calloc(1, 8192);

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ck_assert_int_ge(read(fd, text, 8191), 0);
	close(fd);
	unlink(path);
	return text;
}

static void
emit_levels(void)
{
	log_warnx("warn %d", 1);
	log_info("info %d", 2);
	log_debug("debug %d", 3);
}

START_TEST(verbosity_filters)
{
	char *out;

	vmh_log_init("t", VMH_LOG_TO_STDERR, 0);
	vmh_log_setverbose(0);
	out = capture_stderr(emit_levels);
	ck_assert_str_eq(out, "t: warn 1\n");
	free(out);
	vmh_log_setverbose(2);
	out = capture_stderr(emit_levels);
	ck_assert_str_eq(out, "t: warn 1\nt: info 2\nt: debug 3\n");
	free(out);
	vmh_log_setverbose(0);
}
END_TEST

static void
emit_secret(void)
{
	log_warnx("auth oneadmin:s3cr3t-pw failed; again s3cr3t-pw");
}

START_TEST(secrets_are_masked)
{
	char *out, masked[64];

	vmh_log_init("t", VMH_LOG_TO_STDERR, 0);
	ck_assert_int_eq(vmh_log_add_secret("s3cr3t-pw"), 0);
	ck_assert_int_eq(vmh_log_add_secret("abc"), -1); /* too short */
	out = capture_stderr(emit_secret);
	ck_assert_str_eq(out, "t: auth oneadmin:**** failed; again ****\n");
	ck_assert_ptr_null(strstr(out, "s3cr3t"));
	free(out);
	vmh_log_mask("xs3cr3t-pwy", masked, sizeof(masked));
	ck_assert_str_eq(masked, "x****y");
	vmh_log_clear_secrets();
	vmh_log_mask("xs3cr3t-pwy", masked, sizeof(masked));
	ck_assert_str_eq(masked, "xs3cr3t-pwy");
}
END_TEST

START_TEST(secret_table_is_bounded)
{
	char s[32];
	int i, refused = 0;

	for (i = 0; i < 40; i++) {
		snprintf(s, sizeof(s), "secret-%02d", i);
		if (vmh_log_add_secret(s) != 0)
			refused++;
	}
	ck_assert_int_eq(refused, 40 - 16);
	vmh_log_clear_secrets();
}
END_TEST

static void
emit_json(void)
{
	log_warnx("quote \" and \\ and\ttab");
}

START_TEST(json_lines)
{
	char *out;

	vmh_log_init("t", VMH_LOG_TO_STDERR | VMH_LOG_JSON, 0);
	out = capture_stderr(emit_json);
	ck_assert_ptr_nonnull(strstr(out, "\"prog\":\"t\""));
	ck_assert_ptr_nonnull(strstr(out, "\"level\":\"warning\""));
	ck_assert_ptr_nonnull(
	    strstr(out, "\"msg\":\"quote \\\" and \\\\ and\\u0009tab\"}"));
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	free(out);
	vmh_log_init("t", VMH_LOG_TO_STDERR, 0);
}
END_TEST

static void
emit_errno(void)
{
	errno = ENOENT;
	log_warn("open x");
	ck_assert_int_eq(errno, ENOENT);
	errno = EACCES;
	log_warnx("y");
	ck_assert_int_eq(errno, EACCES);
}

START_TEST(errno_preserved_and_appended)
{
	char *out;

	vmh_log_init("t", VMH_LOG_TO_STDERR, 0);
	out = capture_stderr(emit_errno);
	ck_assert_str_eq(out, "t: open x: No such file or directory\nt: y\n");
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, verbosity_filters);
	tcase_add_test(tc, secrets_are_masked);
	tcase_add_test(tc, secret_table_is_bounded);
	tcase_add_test(tc, json_lines);
	tcase_add_test(tc, errno_preserved_and_appended);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
