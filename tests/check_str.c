/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Number parsing, copying, base64. */
#include "config.h"

#include "str.h"
#include "testutil.h"

START_TEST(strtonum_bounds)
{
	struct vmh_error err;
	long long v = -7;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_strtonum("42", 0, 100, &v, "-p", &err), VMH_OK);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(vmh_strtonum("101", 0, 100, &v, "-p", &err),
			 VMH_E_DATA);
	ck_assert_str_eq(err.text, "-p: 101 is out of range 0..100");
	ck_assert_int_eq(v, 42);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_strtonum("4x", 0, 100, &v, "-p", &err),
			 VMH_E_DATA);
	ck_assert_str_eq(err.text, "-p: '4x' is not a whole number");
	ck_assert_int_eq(vmh_strtonum("", 0, 100, &v, "id", NULL), VMH_E_DATA);
	ck_assert_int_eq(vmh_strtonum(" 4", 0, 100, &v, "id", NULL),
			 VMH_E_DATA);
	ck_assert_int_eq(
	    vmh_strtonum("99999999999999999999999", 0, 100, &v, "id", NULL),
	    VMH_E_DATA);
	ck_assert_int_eq(vmh_strtonum("-5", -10, 10, &v, "id", NULL), VMH_OK);
	ck_assert_int_eq(v, -5);
}
END_TEST

START_TEST(strlcpy_truncates)
{
	char d[4];

	ck_assert_uint_eq(vmh_strlcpy(d, "abcdef", sizeof(d)), 6);
	ck_assert_str_eq(d, "abc");
	ck_assert_uint_eq(vmh_strlcpy(d, "ab", sizeof(d)), 2);
	ck_assert_str_eq(d, "ab");
}
END_TEST

START_TEST(digits_and_rstrip)
{
	char s[] = "oneadmin:pw \n\t";

	ck_assert(vmh_str_isdigits("0123"));
	ck_assert(!vmh_str_isdigits(""));
	ck_assert(!vmh_str_isdigits("12a"));
	ck_assert(!vmh_str_isdigits(NULL));
	ck_assert_str_eq(vmh_rstrip(s), "oneadmin:pw");
	ck_assert(vmh_str_isuuid("0f3b6d2a-9c1e-4b7a-8e2d-1a2b3c4d5e6f"));
	ck_assert(!vmh_str_isuuid("0f3b6d2a-9c1e-4b7a-8e2d-1a2b3c4d5e6"));
	ck_assert(!vmh_str_isuuid("0f3b6d2a19c1e-4b7a-8e2d-1a2b3c4d5e6f"));
	ck_assert(!vmh_str_isuuid("0f3b6d2a-9c1e-4b7a-8e2d-1a2b3c4d5e6g"));
	ck_assert(!vmh_str_isuuid(NULL));
}
END_TEST

START_TEST(base64_roundtrip)
{
	static const char *const samples[] = {
		"", "a", "ab", "abc", "abcd", "<HOST><ID>5</ID></HOST>", NULL
	};
	int i;

	for (i = 0; samples[i] != NULL; i++) {
		char *enc = vmh_base64_encode(samples[i], strlen(samples[i]));
		char *dec = NULL;
		size_t n = 99;

		ck_assert_ptr_nonnull(enc);
		ck_assert_int_eq(
		    vmh_base64_decode(enc, strlen(enc), &dec, &n, NULL),
		    VMH_OK);
		ck_assert_uint_eq(n, strlen(samples[i]));
		ck_assert_str_eq(dec, samples[i]);
		free(enc);
		free(dec);
	}
}
END_TEST

START_TEST(base64_known_and_whitespace)
{
	char *dec = NULL;

	ck_assert_int_eq(vmh_base64_decode("PEhP\nU1Q+", 9, &dec, NULL, NULL),
			 VMH_OK);
	ck_assert_str_eq(dec, "<HOST>");
	free(dec);
	/* Unpadded input, as some tools emit it. */
	ck_assert_int_eq(vmh_base64_decode("YWI", 3, &dec, NULL, NULL), VMH_OK);
	ck_assert_str_eq(dec, "ab");
	free(dec);
}
END_TEST

START_TEST(base64_rejects_garbage)
{
	struct vmh_error err;
	char sentinel[] = "sentinel", *dec = sentinel;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_base64_decode("PEhP*U1Q+", 9, &dec, NULL, &err),
			 VMH_E_DATA);
	ck_assert_ptr_null(dec);
	ck_assert_str_eq(err.text, "base64: invalid character at offset 4");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_base64_decode("QUJDR", 5, &dec, NULL, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_base64_decode("QQ=x", 4, &dec, NULL, NULL),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_base64_decode("QQ===", 5, &dec, NULL, NULL),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_base64_decode("Q===", 4, &dec, NULL, NULL),
			 VMH_E_DATA);
}
END_TEST

START_TEST(clock_moves)
{
	long long a = vmh_now_ms();

	vmh_sleep_ms(20);
	ck_assert_int_ge(vmh_now_ms() - a, 19);
	ck_assert_int_gt(vmh_wall_s(), 1600000000);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("str");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, strtonum_bounds);
	tcase_add_test(tc, strlcpy_truncates);
	tcase_add_test(tc, digits_and_rstrip);
	tcase_add_test(tc, base64_roundtrip);
	tcase_add_test(tc, base64_known_and_whitespace);
	tcase_add_test(tc, base64_rejects_garbage);
	tcase_add_test(tc, clock_moves);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
