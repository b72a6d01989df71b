/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Return codes, exit code mapping and the error record. */
#include "config.h"

#include <errno.h>

#include "error.h"
#include "rc.h"
#include "testutil.h"

START_TEST(every_rc_has_text_and_exit)
{
	int rc;

	for (rc = 0; rc < VMH_RC_COUNT; rc++) {
		ck_assert_str_ne(vmh_strerror(rc), "unknown error");
		/* Only a bug maps to EX_SOFTWARE. */
		if (rc != VMH_E_INTERNAL)
			ck_assert_int_ne(vmh_rc_to_exit(rc), VMH_EXIT_SOFTWARE);
	}
	ck_assert_str_eq(vmh_strerror(VMH_RC_COUNT), "unknown error");
	ck_assert_str_eq(vmh_strerror(-1), "unknown error");
	ck_assert_int_eq(vmh_rc_to_exit(VMH_RC_COUNT), VMH_EXIT_SOFTWARE);
}
END_TEST

START_TEST(documented_exit_codes)
{
	ck_assert_int_eq(vmh_rc_to_exit(VMH_OK), 0);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_USAGE), 64);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_DATA), 65);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_NOTFOUND), 66);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_UNAVAILABLE), 69);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_TIMEOUT), 75);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_BUSY), 75);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_CONFIG), 78);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_FENCE), 80);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_PARTIAL), 81);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_ISOLATED), 82);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_STORM), 83);
	ck_assert_int_eq(vmh_rc_to_exit(VMH_E_GAVE_UP), 84);
}
END_TEST

START_TEST(first_error_wins)
{
	struct vmh_error err;
	char line[1024];

	vmh_error_init(&err);
	ck_assert_str_eq(vmh_error_format(&err, line, sizeof(line)),
			 "no error");
	ck_assert_int_eq(
	    vmh_error_set(&err, VMH_E_DATA, "f.conf", 3, "bad %s", "thing"),
	    VMH_E_DATA);
	ck_assert_int_eq(vmh_error_set(&err, VMH_E_CONFIG, "g", 1, "later"),
			 VMH_E_CONFIG);
	ck_assert_int_eq(err.code, VMH_E_DATA);
	ck_assert_str_eq(vmh_error_format(&err, line, sizeof(line)),
			 "f.conf:3: bad thing");
	vmh_error_reset(&err);
	vmh_error_set(&err, VMH_E_API, "one.vm.info", 0, "x");
	ck_assert_str_eq(vmh_error_format(&err, line, sizeof(line)),
			 "one.vm.info: x");
}
END_TEST

START_TEST(error_is_one_line_and_bounded)
{
	struct vmh_error err;
	char big[4000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '\n';
	vmh_error_init(&err);
	vmh_error_set(&err, VMH_E_DATA, big, 0, "%s\nsecond", big);
	ck_assert_ptr_null(strchr(err.text, '\n'));
	ck_assert_ptr_null(strchr(err.source, '\n'));
	ck_assert_uint_eq(strlen(err.text), sizeof(err.text) - 1);
}
END_TEST

START_TEST(null_error_is_fine)
{
	ck_assert_int_eq(vmh_error_set(NULL, VMH_E_DATA, NULL, 0, "x"),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_error_errno(NULL, ENOENT, "p", "open"),
			 VMH_E_SYSTEM);
	vmh_error_init(NULL);
}
END_TEST

START_TEST(errno_text_appended)
{
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_error_errno(&err, ENOENT, "/x", "open"),
			 VMH_E_SYSTEM);
	ck_assert_str_eq(err.text, "open: No such file or directory");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_error_errno(&err, ENOMEM, NULL, "alloc"),
			 VMH_E_NOMEM);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_rc_has_text_and_exit);
	tcase_add_test(tc, documented_exit_codes);
	tcase_add_test(tc, first_error_wins);
	tcase_add_test(tc, error_is_one_line_and_bounded);
	tcase_add_test(tc, null_error_is_fine);
	tcase_add_test(tc, errno_text_appended);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
