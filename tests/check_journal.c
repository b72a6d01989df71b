/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journals: durable appends, torn tails, corruption, archiving. */
#include "config.h"

#include <fcntl.h>

#include "journal.h"
#include "testutil.h"

static char *dir;

static void
setup(void)
{
	dir = tu_mkdtemp();
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static void
append_ev(struct vmh_journal *j, const char *ev, int n)
{
	json_t *r = json_pack("{s:s, s:i}", "ev", ev, "n", n);

	ck_assert_int_eq(vmh_journal_append(j, r, 1, NULL), VMH_OK);
	json_decref(r);
}

static json_t *
read_all(const char *name, int *torn, enum vmh_rc want)
{
	char path[600];
	json_t *recs = NULL;
	struct vmh_error err;

	snprintf(path, sizeof(path), "%s/%s.journal", dir, name);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_journal_read(path, &recs, torn, &err), want);
	return recs;
}

START_TEST(roundtrip_in_order)
{
	struct vmh_journal j;
	json_t *recs;
	int torn = 7;

	ck_assert_int_eq(vmh_journal_open(dir, "host-5", &j, NULL), VMH_OK);
	append_ev(&j, "begin", 1);
	append_ev(&j, "intent", 2);
	append_ev(&j, "result", 3);
	vmh_journal_close(&j);
	recs = read_all("host-5", &torn, VMH_OK);
	ck_assert_int_eq(torn, 0);
	ck_assert_uint_eq(json_array_size(recs), 3);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(recs, 1), "ev")),
	    "intent");
	ck_assert(json_integer_value(json_object_get(json_array_get(recs, 0),
						     "t")) > 1600000000000LL);
	json_decref(recs);
}
END_TEST

START_TEST(missing_journal_is_empty)
{
	json_t *recs = read_all("nothing", NULL, VMH_OK);

	ck_assert_uint_eq(json_array_size(recs), 0);
	json_decref(recs);
}
END_TEST

/* Simulate a run killed inside write(): a record without its newline. */
static void
write_torn(const char *name)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.journal", dir, name);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"ev\":\"res", 10), 10);
	close(fd);
}

START_TEST(torn_last_line_is_dropped_then_repaired)
{
	struct vmh_journal j;
	json_t *recs;
	int torn = 0;

	ck_assert_int_eq(vmh_journal_open(dir, "h", &j, NULL), VMH_OK);
	append_ev(&j, "begin", 1);
	vmh_journal_close(&j);
	write_torn("h");
	recs = read_all("h", &torn, VMH_OK);
	ck_assert_int_eq(torn, 1);
	ck_assert_uint_eq(json_array_size(recs), 1);
	json_decref(recs);
	/* The next run appends: the torn record must not glue to it. */
	ck_assert_int_eq(vmh_journal_open(dir, "h", &j, NULL), VMH_OK);
	append_ev(&j, "resume", 2);
	vmh_journal_close(&j);
	recs = read_all("h", &torn, VMH_OK);
	ck_assert_int_eq(torn, 0);
	ck_assert_uint_eq(json_array_size(recs), 2);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(recs, 1), "ev")),
	    "resume");
	json_decref(recs);
}
END_TEST

START_TEST(corrupt_middle_line_is_an_error)
{
	char *p;
	json_t *recs;
	char path[600];
	struct vmh_error err;

	p = tu_write(dir, "c.journal",
		     "{\"ev\":\"begin\"}\nnot json\n{\"ev\":\"end\"}\n", 0600);
	snprintf(path, sizeof(path), "%s/c.journal", dir);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_journal_read(path, &recs, NULL, &err), VMH_E_DATA);
	ck_assert_ptr_null(recs);
	ck_assert_int_eq(err.line, 2);
	ck_assert_ptr_nonnull(strstr(err.text, "corrupt journal record"));
	free(p);
	p = tu_write(dir, "d.journal", "[1,2]\n{\"ev\":\"x\"}\n", 0600);
	snprintf(path, sizeof(path), "%s/d.journal", dir);
	ck_assert_int_eq(vmh_journal_read(path, &recs, NULL, NULL), VMH_E_DATA);
	free(p);
}
END_TEST

START_TEST(archive_moves_aside)
{
	struct vmh_journal j;
	json_t *recs;
	char path[600];

	ck_assert_int_eq(vmh_journal_open(dir, "host-9", &j, NULL), VMH_OK);
	append_ev(&j, "end", 1);
	vmh_journal_close(&j);
	ck_assert_int_eq(vmh_journal_archive(dir, "host-9", "1700000000", NULL),
			 VMH_OK);
	recs = read_all("host-9", NULL, VMH_OK);
	ck_assert_uint_eq(json_array_size(recs), 0);
	json_decref(recs);
	snprintf(path, sizeof(path), "%s/host-9.1700000000.journal", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(vmh_journal_archive(dir, "host-9", "x", NULL),
			 VMH_E_SYSTEM);
}
END_TEST

START_TEST(journal_is_private_and_no_symlinks)
{
	struct vmh_journal j;
	struct stat st;
	char link[600];

	ck_assert_int_eq(vmh_journal_open(dir, "p", &j, NULL), VMH_OK);
	ck_assert_int_eq(fstat(j.fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	vmh_journal_close(&j);
	snprintf(link, sizeof(link), "%s/s.journal", dir);
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	ck_assert_int_eq(vmh_journal_open(dir, "s", &j, NULL), VMH_E_SYSTEM);
	ck_assert_int_eq(vmh_journal_open(dir, "a/b", &j, NULL),
			 VMH_E_INTERNAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, roundtrip_in_order);
	tcase_add_test(tc, missing_journal_is_empty);
	tcase_add_test(tc, torn_last_line_is_dropped_then_repaired);
	tcase_add_test(tc, corrupt_middle_line_is_an_error);
	tcase_add_test(tc, archive_moves_aside);
	tcase_add_test(tc, journal_is_private_and_no_symlinks);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
