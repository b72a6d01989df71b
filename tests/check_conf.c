/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Configuration: defaults, validation with file:line, secrecy. */
#include "config.h"

#include "conf.h"
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

/* Load text as a config file; return rc and the formatted error. */
static enum vmh_rc
load(const char *text, struct vmh_conf **conf, char *msg, size_t len)
{
	char *path = tu_write(dir, "vmheal.conf", text, 0644);
	struct vmh_error err;
	enum vmh_rc rc;

	vmh_error_init(&err);
	rc = vmh_conf_load(path, conf, &err);
	vmh_error_format(&err, msg, len);
	free(path);
	return rc;
}

START_TEST(full_valid_file)
{
	struct vmh_conf *c;
	char msg[700];

	ck_assert_int_eq(load("cloud = \"opennebula\";\n"
			      "state_dir = \"/var/lib/vmheal-test\";\n"
			      "log = { json = true; facility = \"local3\"; };\n"
			      "http = { max_concurrency = 8; "
			      "max_response = 1048576; };\n"
			      "opennebula = {\n"
			      "  endpoint = \"http://127.0.0.1:2633/RPC2\";\n"
			      "  auth_file = \"/var/lib/one/.one/one_auth\";\n"
			      "  timeout = 15; connect_timeout = 3;\n"
			      "  cacert = \"/etc/ssl/one-ca.pem\";\n"
			      "  ca_dir = \"/etc/one/certs\";\n"
			      "  monitoring_interval = 180;\n};\n",
			      &c, msg, sizeof(msg)),
			 VMH_OK);
	ck_assert_str_eq(c->cloud, "opennebula");
	ck_assert_str_eq(c->state_dir, "/var/lib/vmheal-test");
	ck_assert_int_eq(c->log_json, 1);
	ck_assert_int_eq(c->http_max_concurrency, 8);
	ck_assert_uint_eq(c->http_max_response, 1048576);
	ck_assert_str_eq(c->one.endpoint, "http://127.0.0.1:2633/RPC2");
	ck_assert_int_eq(c->one.timeout_s, 15);
	ck_assert_str_eq(c->one.cacert, "/etc/ssl/one-ca.pem");
	ck_assert_str_eq(c->one.ca_dir, "/etc/one/certs");
	ck_assert_int_eq(c->one.monitoring_interval_s, 180);
	vmh_conf_free(c);
}
END_TEST

START_TEST(defaults_without_file)
{
	struct vmh_conf *c;
	struct vmh_error err;

	vmh_error_init(&err);
	/* NULL reads the default path only if it exists; the test machine
	 * may have none, in which case built-in defaults apply. */
	if (access(VMH_CONF_DEFAULT_PATH, F_OK) == 0)
		return;
	ck_assert_int_eq(vmh_conf_load(NULL, &c, &err), VMH_OK);
	ck_assert_str_eq(c->cloud, "opennebula");
	/* Not set: ONE_XMLRPC_TIMEOUT, else 30 s (lib/cloud_one.c). */
	ck_assert_int_eq(c->one.timeout_s, 0);
	ck_assert_int_gt(c->http_max_concurrency, 1);
	vmh_conf_free(c);
}
END_TEST

START_TEST(unknown_key_named_with_line)
{
	struct vmh_conf dummy, *c = &dummy;
	char msg[700];

	ck_assert_int_eq(load("cloud = \"opennebula\";\n"
			      "opennebula = {\n  timeout = 5;\n"
			      "  endpiont = \"x\";\n};\n",
			      &c, msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(msg, "vmheal.conf:4: unknown setting "
					  "'opennebula.endpiont'"));
	ck_assert_int_eq(load("clowd = \"x\";\n", &c, msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(
	    strstr(msg, "vmheal.conf:1: unknown setting 'clowd'"));
}
END_TEST

START_TEST(wrong_types_and_ranges)
{
	struct vmh_conf *c;
	char msg[700];

	ck_assert_int_eq(
	    load("opennebula = { timeout = \"30\"; };\n", &c, msg, sizeof(msg)),
	    VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, ":1: opennebula.timeout: must be a "
					  "whole number"));
	ck_assert_int_eq(
	    load("\nhttp = { max_concurrency = 0; };\n", &c, msg, sizeof(msg)),
	    VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, ":2: http.max_concurrency: 0 is out "
					  "of range 1..256"));
	ck_assert_int_eq(load("log = { json = 1; };\n", &c, msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "log.json: must be true or false"));
	ck_assert_int_eq(load("cloud = \"vmware\";\n", &c, msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "cloud: \"vmware\" is not one of "
					  "\"opennebula\", \"openstack\""));
	ck_assert_int_eq(load("log = 3;\n", &c, msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "log: must be a group"));
	ck_assert_int_eq(
	    load("state_dir = \"relative\";\n", &c, msg, sizeof(msg)),
	    VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "must be an absolute path"));
}
END_TEST

START_TEST(syntax_error_has_line)
{
	struct vmh_conf *c;
	char msg[700];

	ck_assert_int_eq(load("cloud = \"opennebula\";\n\nhttp = { oops\n", &c,
			      msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "vmheal.conf:"));
	ck_assert_ptr_nonnull(strstr(msg, "syntax error"));
}
END_TEST

START_TEST(missing_file)
{
	struct vmh_conf *c;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_conf_load("/nonexistent/vmheal.conf", &c, &err),
			 VMH_E_CONFIG);
	ck_assert_str_eq(err.source, "/nonexistent/vmheal.conf");
	ck_assert_str_eq(err.text, "cannot read configuration: No such file "
				   "or directory");
}
END_TEST

START_TEST(secrets_file_must_be_private)
{
	struct vmh_conf *c;
	char msg[700], *sec, *text;

	sec = tu_write(dir, "secrets.conf",
		       "ipmi = \"pa55word\";\none = \"oneadmin:x\";\n", 0640);
	ck_assert(asprintf(&text, "secrets_file = \"%s\";\n", sec) > 0);
	ck_assert_int_eq(load(text, &c, msg, sizeof(msg)), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "secrets file holds secrets and is "
					  "readable by group or others "
					  "(mode 0640)"));
	ck_assert_int_eq(chmod(sec, 0600), 0);
	ck_assert_int_eq(load(text, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert_str_eq(vmh_conf_secret(c, "ipmi"), "pa55word");
	ck_assert_str_eq(vmh_conf_secret(c, "one"), "oneadmin:x");
	ck_assert_ptr_null(vmh_conf_secret(c, "nope"));
	ck_assert_ptr_null(vmh_conf_secret(NULL, "ipmi"));
	vmh_conf_free(c);
	free(text);
	free(sec);
}
END_TEST

START_TEST(secret_values_must_be_strings)
{
	struct vmh_conf *c;
	char msg[700], *sec, *text;

	sec = tu_write(dir, "secrets.conf", "ipmi = 1234;\n", 0600);
	ck_assert(asprintf(&text, "secrets_file = \"%s\";\n", sec) > 0);
	ck_assert_int_eq(load(text, &c, msg, sizeof(msg)), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(msg, "secret 'ipmi' must be a string"));
	free(text);
	free(sec);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, full_valid_file);
	tcase_add_test(tc, defaults_without_file);
	tcase_add_test(tc, unknown_key_named_with_line);
	tcase_add_test(tc, wrong_types_and_ranges);
	tcase_add_test(tc, syntax_error_has_line);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, secrets_file_must_be_private);
	tcase_add_test(tc, secret_values_must_be_strings);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
