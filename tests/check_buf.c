/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The capped buffer: growth, ceiling, embedded NULs, ownership. */
#include "config.h"

#include "buf.h"
#include "testutil.h"

START_TEST(empty_buffer_is_empty_string)
{
	struct vmh_buf b;

	vmh_buf_init(&b, 10);
	ck_assert_str_eq(vmh_buf_str(&b), "");
	ck_assert_uint_eq(b.len, 0);
	vmh_buf_free(&b);
	vmh_buf_free(&b); /* twice is harmless */
}
END_TEST

START_TEST(grows_up_to_the_cap_exactly)
{
	struct vmh_buf b;
	char chunk[100];
	int i;

	memset(chunk, 'x', sizeof(chunk));
	vmh_buf_init(&b, 1000);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(vmh_buf_append(&b, chunk, sizeof(chunk)),
				 VMH_OK);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_int_eq(vmh_buf_append(&b, "y", 1), VMH_E_TOOBIG);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_uint_eq(strlen(vmh_buf_str(&b)), 1000);
	vmh_buf_free(&b);
}
END_TEST

START_TEST(too_big_leaves_buffer_unchanged)
{
	struct vmh_buf b;

	vmh_buf_init(&b, 8);
	ck_assert_int_eq(vmh_buf_puts(&b, "abc"), VMH_OK);
	ck_assert_int_eq(vmh_buf_puts(&b, "defghi"), VMH_E_TOOBIG);
	ck_assert_str_eq(vmh_buf_str(&b), "abc");
	ck_assert_int_eq(vmh_buf_printf(&b, "%s", "123456"), VMH_E_TOOBIG);
	ck_assert_str_eq(vmh_buf_str(&b), "abc");
	ck_assert_int_eq(vmh_buf_printf(&b, "%d", 12345), VMH_OK);
	ck_assert_str_eq(vmh_buf_str(&b), "abc12345");
	vmh_buf_free(&b);
}
END_TEST

START_TEST(size_overflow_is_refused)
{
	struct vmh_buf b;

	vmh_buf_init(&b, (size_t)-1);
	ck_assert_int_eq(vmh_buf_puts(&b, "a"), VMH_OK);
	ck_assert_int_eq(vmh_buf_append(&b, "b", (size_t)-1), VMH_E_TOOBIG);
	vmh_buf_free(&b);
}
END_TEST

START_TEST(embedded_nul_kept)
{
	struct vmh_buf b;

	vmh_buf_init(&b, 64);
	ck_assert_int_eq(vmh_buf_append(&b, "a\0b", 3), VMH_OK);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 4), 0);
	vmh_buf_free(&b);
}
END_TEST

START_TEST(reset_and_steal)
{
	struct vmh_buf b;
	char *s;

	vmh_buf_init(&b, 64);
	vmh_buf_puts(&b, "hello");
	vmh_buf_reset(&b);
	ck_assert_str_eq(vmh_buf_str(&b), "");
	vmh_buf_puts(&b, "world");
	s = vmh_buf_steal(&b);
	ck_assert_str_eq(s, "world");
	ck_assert_ptr_null(b.data);
	free(s);
	s = vmh_buf_steal(&b);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, empty_buffer_is_empty_string);
	tcase_add_test(tc, grows_up_to_the_cap_exactly);
	tcase_add_test(tc, too_big_leaves_buffer_unchanged);
	tcase_add_test(tc, size_overflow_is_refused);
	tcase_add_test(tc, embedded_nul_kept);
	tcase_add_test(tc, reset_and_steal);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
