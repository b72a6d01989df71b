/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XML-RPC: request building and escaping, the response parser on oned's
 * own answers (the 6.10.5 captures in ../shared, read in place) and on
 * every envelope generation, error-code mapping, and hostile input: cut
 * answers, DOCTYPE and entities, deep nesting, nothing on stderr.
 */
#include "config.h"

#include <fcntl.h>

#include "xmlrpc.h"
#include "testutil.h"

#define ENV_HEAD                                                               \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse>\n"       \
	"<params>\n<param><value><array><data>\n"
#define ENV_TAIL                                                               \
	"</data></array></value></param>\n</params>\n</methodResponse>\n"

/* The oned 6.10.5 captures, or NULL (with a note) when ../shared is not
 * there, e.g. in a distribution tarball. */
static char *
shared_file(const char *name, size_t *len)
{
	const char *env = getenv("VMH_SHARED_DIR");
	const char *src = getenv("top_srcdir");
	char *path, *data;
	struct stat st;
	FILE *f;

	if (env != NULL)
		ck_assert(asprintf(&path,
				   "%s/opennebula/examples/oned-6.10.5/%s", env,
				   name) > 0);
	else
		ck_assert(asprintf(&path,
				   "%s/../shared/opennebula/examples/"
				   "oned-6.10.5/%s",
				   src ? src : ".", name) > 0);
	if (stat(path, &st) < 0) {
		printf("note: %s not found, test skipped\n", path);
		free(path);
		return NULL;
	}
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	ck_assert_ptr_nonnull(data = malloc((size_t)st.st_size + 1));
	*len = fread(data, 1, (size_t)st.st_size, f);
	data[*len] = '\0';
	fclose(f);
	free(path);
	return data;
}

/* Parse text as a response to method and read oned's envelope. */
static enum vmh_rc
one_result(const char *method, const char *text, struct vmh_xmlrpc_response *r,
	   struct vmh_one_result *res, struct vmh_error *err)
{
	enum vmh_rc rc;

	vmh_error_init(err);
	rc = vmh_xmlrpc_parse_response(text, strlen(text), method, r, err);
	if (rc != VMH_OK)
		return rc;
	return vmh_xmlrpc_one_result(method, r, res, err);
}

START_TEST(request_has_typed_escaped_params)
{
	struct vmh_xmlrpc_param p[] = {
		VMH_XMLRPC_P_STR("oneadmin:pa<ss>&\"word\r\n\t"),
		VMH_XMLRPC_P_INT(-1),
		VMH_XMLRPC_P_INT(5000000000LL),
		VMH_XMLRPC_P_BOOL(7),
		VMH_XMLRPC_P_STR("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
	};
	struct vmh_error err;
	struct vmh_buf b;

	vmh_buf_init(&b, 65536);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_xmlrpc_request(&b, "one.vm.info", p, 5, &err),
			 VMH_OK);
	ck_assert_str_eq(
	    vmh_buf_str(&b),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<methodCall><methodName>one.vm.info</methodName><params>"
	    "<param><value><string>oneadmin:pa&lt;ss&gt;&amp;\"word&#13;\n\t"
	    "</string></value></param>"
	    "<param><value><int>-1</int></value></param>"
	    "<param><value><i8>5000000000</i8></value></param>"
	    "<param><value><boolean>1</boolean></value></param>"
	    "<param><value><string>h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	    "</string></value></param>"
	    "</params></methodCall>\n");
	vmh_buf_free(&b);
}
END_TEST

START_TEST(request_refuses_what_xml_cannot_carry)
{
	static const char *const bad[] = {
		"a\x01z",           "\x1b[31m",     "\xff",
		"\xc0\x80",         "\xed\xa0\x80", "\xef\xbf\xbe",
		"\xf4\x90\x80\x80", "\xe2\x82",     "ok\xc3",
	};
	struct vmh_xmlrpc_param p[2] = { VMH_XMLRPC_P_INT(1) };
	struct vmh_error err;
	struct vmh_buf b;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vmh_buf_init(&b, 65536);
		vmh_error_init(&err);
		p[1] = VMH_XMLRPC_P_STR(bad[i]);
		ck_assert_int_eq(
		    vmh_xmlrpc_request(&b, "one.vm.update", p, 2, &err),
		    VMH_E_DATA);
		ck_assert_ptr_nonnull(strstr(err.text, "parameter 2"));
		vmh_buf_free(&b);
	}
	vmh_buf_init(&b, 65536);
	ck_assert_int_eq(vmh_xmlrpc_request(&b, "bad name<", p, 1, &err),
			 VMH_E_INTERNAL);
	vmh_buf_free(&b);
}
END_TEST

START_TEST(oned_6_10_captures)
{
	struct vmh_xmlrpc_response r;
	struct vmh_one_result res;
	struct vmh_error err;
	char line[600], *text;
	size_t len;

	if ((text = shared_file("response-success.xml", &len)) == NULL)
		return;
	ck_assert_int_eq(one_result("one.system.version", text, &r, &res, &err),
			 VMH_OK);
	ck_assert_int_eq(res.success, 1);
	ck_assert_int_eq(res.value->type, VMH_XMLRPC_STRING);
	ck_assert_str_eq(res.value->s, "6.10.5");
	vmh_xmlrpc_response_free(&r);
	free(text);

	ck_assert_ptr_nonnull(text = shared_file("response-failure.xml", &len));
	ck_assert_int_eq(one_result("one.vm.recover", text, &r, &res, &err),
			 VMH_E_NOTFOUND);
	ck_assert_int_eq(res.code, 1024);
	ck_assert_int_eq(res.resp_id, 999);
	ck_assert_int_eq(res.repl_idx, -1);
	vmh_error_format(&err, line, sizeof(line));
	ck_assert_str_eq(line, "one.vm.recover: no such object (NO_EXISTS "
			       "0x400): Error getting virtual machine [999].");
	vmh_xmlrpc_response_free(&r);
	free(text);

	ck_assert_ptr_nonnull(
	    text = shared_file("response-auth-failure.xml", &len));
	ck_assert_int_eq(one_result("one.host.info", text, &r, &res, &err),
			 VMH_E_AUTH);
	ck_assert_ptr_nonnull(strstr(err.text, "AUTHENTICATION 0x100"));
	vmh_xmlrpc_response_free(&r);
	free(text);

	ck_assert_ptr_nonnull(text = shared_file("response-fault.xml", &len));
	ck_assert_int_eq(one_result("one.vm.recover", text, &r, &res, &err),
			 VMH_E_API);
	ck_assert_int_eq(r.fault, 1);
	ck_assert_int_eq(r.fault_code, -501);
	ck_assert_str_eq(r.fault_string,
			 "Parameter that is supposed to be integer is not");
	ck_assert_ptr_nonnull(strstr(err.text, "fault -501"));
	vmh_xmlrpc_response_free(&r);
	free(text);
}
END_TEST

/* Every generation's failure envelope, numbers in every integer tag. */
START_TEST(envelopes_of_every_generation)
{
	static const struct {
		const char *text;
		long long code, resp_id, repl;
	} cases[] = {
		{ ENV_HEAD "<value><boolean>0</boolean></value>\n"
			   "<value><string>[one.vm.action] Wrong state"
			   "</string></value>\n"
			   "<value><int>2048</int></value>\n" ENV_TAIL,
		  2048, -1, -1 },
		{ ENV_HEAD "<value><boolean>0</boolean></value>\n"
			   "<value><string>[one.vm.action] Wrong state"
			   "</string></value>\n"
			   "<value><i4>2048</i4></value>\n"
			   "<value><i4>12</i4></value>\n" ENV_TAIL,
		  2048, 12, -1 },
		{ ENV_HEAD "<value><boolean>0</boolean></value>\n"
			   "<value><string>[one.vm.action] Wrong state"
			   "</string></value>\n"
			   "<value><i8>2048</i8></value>\n"
			   "<value><int>12</int></value>\n"
			   "<value><i8>77</i8></value>\n" ENV_TAIL,
		  2048, 12, 77 },
	};
	struct vmh_xmlrpc_response r;
	struct vmh_one_result res;
	struct vmh_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(
		    one_result("one.vm.action", cases[i].text, &r, &res, &err),
		    VMH_E_API);
		ck_assert_int_eq(res.success, 0);
		ck_assert_int_eq(res.code, cases[i].code);
		ck_assert_int_eq(res.resp_id, cases[i].resp_id);
		ck_assert_int_eq(res.repl_idx, cases[i].repl);
		ck_assert_str_eq(res.message, "[one.vm.action] Wrong state");
		ck_assert_str_eq(err.source, "one.vm.action");
		ck_assert_str_eq(err.text, "refused in the object's current "
					   "state (ACTION 0x800): Wrong state");
		vmh_xmlrpc_response_free(&r);
	}
	/* Success with an untyped string, an <int> code, an <i8> value. */
	ck_assert_int_eq(one_result("m",
				    ENV_HEAD "<value><boolean>1</boolean>"
					     "</value><value>untyped</value>"
					     "<value><int>0</int></value>"
					     "" ENV_TAIL,
				    &r, &res, &err),
			 VMH_OK);
	ck_assert_str_eq(res.value->s, "untyped");
	vmh_xmlrpc_response_free(&r);
	ck_assert_int_eq(one_result("m",
				    ENV_HEAD
				    "<value><boolean>1</boolean>"
				    "</value><value><i8>"
				    "9007199254740993</i8></value>"
				    "<value><i4>0</i4></value>" ENV_TAIL,
				    &r, &res, &err),
			 VMH_OK);
	ck_assert_int_eq(res.value->type, VMH_XMLRPC_INT);
	ck_assert(res.value->i == 9007199254740993LL);
	vmh_xmlrpc_response_free(&r);
}
END_TEST

static enum vmh_rc
failure_rc(long long code, const char *msg, char *text, size_t len)
{
	struct vmh_xmlrpc_response r;
	struct vmh_one_result res;
	struct vmh_error err;
	char *doc;
	enum vmh_rc rc;

	ck_assert(asprintf(&doc,
			   ENV_HEAD "<value><boolean>0</boolean></value>"
				    "<value><string>%s</string></value>"
				    "<value><i4>%lld</i4></value>"
				    "<value><i4>-1</i4></value>"
				    "<value><i8>-1</i8></value>" ENV_TAIL,
			   msg, code) > 0);
	rc = one_result("one.vm.recover", doc, &r, &res, &err);
	snprintf(text, len, "%s", err.text);
	vmh_xmlrpc_response_free(&r);
	free(doc);
	return rc;
}

START_TEST(error_codes_map_to_one_clear_message)
{
	static const struct {
		long long code;
		const char *msg;
		enum vmh_rc rc;
		const char *want;
	} cases[] = {
		{ 0x100, "[one.vm.recover] User couldn't be authenticated",
		  VMH_E_AUTH, "authentication failed" },
		{ 0x200, "[one.vm.recover] User [0] : VM is locked. [3].",
		  VMH_E_DENIED,
		  "the object is locked (AUTHORIZATION 0x200): "
		  "User [0] : VM is locked. [3]." },
		{ 0x200, "[one.vm.recover] User [5] not authorized",
		  VMH_E_DENIED, "not authorized (AUTHORIZATION 0x200)" },
		{ 0x400, "[one.vm.recover] Error getting virtual machine [9].",
		  VMH_E_NOTFOUND, "no such object (NO_EXISTS 0x400)" },
		{ 0x800, "[one.vm.recover] Wrong recovery operation code",
		  VMH_E_API, "(ACTION 0x800): Wrong recovery operation code" },
		{ 0x1000, "[one.vm.recover] Incorrect filter_flag", VMH_E_API,
		  "bad call parameters (XML_RPC_API 0x1000)" },
		{ 0x2000,
		  "[one.vm.recover] Cannot process request, oned cluster "
		  "in election mode",
		  VMH_E_UNAVAILABLE, "electing a leader" },
		{ 0x2000,
		  "[one.vm.recover] Cannot process request, oned is "
		  "replicating log",
		  VMH_E_UNAVAILABLE, "replicating" },
		{ 0x2000, "[one.vm.recover] Error updating database", VMH_E_API,
		  "internal error in oned (INTERNAL 0x2000)" },
		{ 0x4000, "[one.vm.recover] No space", VMH_E_API,
		  "(ALLOCATE 0x4000)" },
		{ 0x8000, "[one.vm.recover] locked", VMH_E_DENIED,
		  "(LOCKED 0x8000)" },
		{ 0x10000, "[one.vm.recover] Could not replicate",
		  VMH_E_UNAVAILABLE, "(REPLICATION 0x10000)" },
		{ 0x1234, "[one.vm.recover] ???", VMH_E_API,
		  "(UNKNOWN 0x1234)" },
	};
	char text[VMH_ERROR_TEXT_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(
		    failure_rc(cases[i].code, cases[i].msg, text, sizeof(text)),
		    cases[i].rc);
		ck_assert_msg(strstr(text, cases[i].want) != NULL,
			      "case %zu: '%s' lacks '%s'", i, text,
			      cases[i].want);
		/* oned's "[method] " prefix is not repeated. */
		ck_assert_ptr_null(strstr(text, "[one.vm.recover]"));
	}
}
END_TEST

START_TEST(values_cdata_refs_struct_array)
{
	const char *text = ENV_HEAD
	    "<value><boolean>1</boolean></value>\n"
	    "<value><array><data>"
	    "<value><string><![CDATA[<HOST><ID>1</ID></HOST>]]></string>"
	    "</value>"
	    "<value><string>a&amp;b&#13;&lt;</string></value>"
	    "<value><string/></value>"
	    "<value><double> 2.5 </double></value>"
	    "<value><base64>aGk=</base64></value>"
	    "<value><nil/></value>"
	    "<value><struct><member><name>k</name><value><i4> -3 </i4>"
	    "</value></member></struct></value>"
	    "<value><array><data/></array></value>"
	    "</data></array></value>\n"
	    "<value><i4>0</i4></value>\n" ENV_TAIL;
	struct vmh_xmlrpc_response r;
	struct vmh_one_result res;
	struct vmh_error err;
	const struct vmh_xmlrpc_value *a;

	ck_assert_int_eq(one_result("m", text, &r, &res, &err), VMH_OK);
	a = res.value;
	ck_assert_int_eq(a->type, VMH_XMLRPC_ARRAY);
	ck_assert_uint_eq(a->n, 8);
	ck_assert_str_eq(a->items[0].s, "<HOST><ID>1</ID></HOST>");
	ck_assert_str_eq(a->items[1].s, "a&b\r<");
	ck_assert_str_eq(a->items[2].s, "");
	ck_assert(a->items[3].d == 2.5);
	ck_assert_int_eq(a->items[4].type, VMH_XMLRPC_BASE64);
	ck_assert_int_eq(a->items[5].type, VMH_XMLRPC_NIL);
	ck_assert_int_eq(a->items[6].type, VMH_XMLRPC_STRUCT);
	ck_assert_str_eq(a->items[6].items[0].name, "k");
	ck_assert_int_eq(a->items[6].items[0].i, -3);
	ck_assert_int_eq(a->items[7].type, VMH_XMLRPC_ARRAY);
	ck_assert_uint_eq(a->items[7].n, 0);
	vmh_xmlrpc_response_free(&r);
}
END_TEST

/* Run fn with stderr going to a file; fail if anything was written. */
static int stderr_fd = -1;
static char stderr_path[64];

static void
quiet_begin(void)
{
	int fd;

	snprintf(stderr_path, sizeof(stderr_path), "/tmp/vmheal-stderr.XXXXXX");
	fd = mkstemp(stderr_path);

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	stderr_fd = dup(2);
	dup2(fd, 2);
	close(fd);
}

static void
quiet_end(void)
{
	struct stat st;

	fflush(stderr);
	dup2(stderr_fd, 2);
	close(stderr_fd);
	ck_assert_int_eq(stat(stderr_path, &st), 0);
	unlink(stderr_path);
	ck_assert_msg(st.st_size == 0, "libxml2 wrote %lld bytes to stderr",
		      (long long)st.st_size);
}

START_TEST(malformed_answers_are_data_errors_quietly)
{
	static const char *const bad[] = {
		"",
		"not xml at all",
		"<methodResponse>",
		"<?xml version=\"1.0\"?><methodCall/>",
		"<methodResponse/>",
		"<methodResponse><params/></methodResponse>",
		"<methodResponse><params><param><value><i4>1</i4></value>"
		"</param><param><value/></param></params></methodResponse>",
		"<methodResponse><params><param><value><foo/></value></param>"
		"</params></methodResponse>",
		"<methodResponse><params><param><value><i4>12a</i4></value>"
		"</param></params></methodResponse>",
		"<methodResponse><params><param><value><boolean>2</boolean>"
		"</value></param></params></methodResponse>",
		"<methodResponse><params><param><value><i4>1</i4><i4>2</i4>"
		"</value></param></params></methodResponse>",
		"<methodResponse><params><param><value>x<i4>1</i4></value>"
		"</param></params></methodResponse>",
		"<methodResponse><fault><value><i4>1</i4></value></fault>"
		"</methodResponse>",
		"<methodResponse><params><param><value><string>\xff\xfe"
		"</string></value></param></params></methodResponse>",
		"<?xml version=\"1.0\" encoding=\"x-nonsense\"?>"
		"<methodResponse/>",
		"<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
		"\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
		"<methodResponse><params><param><value><string>&b;</string>"
		"</value></param></params></methodResponse>",
		"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<methodResponse><params><param><value><string>&x;</string>"
		"</value></param></params></methodResponse>",
		"<methodResponse><params><param><value><string>&undefined;"
		"</string></value></param></params></methodResponse>",
	};
	struct vmh_xmlrpc_response r;
	struct vmh_error err;
	size_t i;

	quiet_begin();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vmh_error_init(&err);
		ck_assert_msg(vmh_xmlrpc_parse_response(bad[i], strlen(bad[i]),
							"one.x", &r,
							&err) == VMH_E_DATA,
			      "case %zu accepted", i);
		ck_assert_str_eq(err.source, "one.x");
		ck_assert(err.text[0] != '\0');
		vmh_xmlrpc_response_free(&r);
	}
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_xmlrpc_parse_response(bad[15], strlen(bad[15]), "m", &r, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "DOCTYPE"));
	quiet_end();
}
END_TEST

/* Every prefix of a real answer: never accepted, never a crash. */
START_TEST(every_truncation_is_refused)
{
	const char *full =
	    ENV_HEAD "<value><boolean>1</boolean></value>\n"
		     "<value><string>&lt;HOST&gt;&lt;ID&gt;1&lt;/ID&gt;"
		     "&lt;/HOST&gt;</string></value>\n"
		     "<value><i4>0</i4></value>\n" ENV_TAIL;
	struct vmh_xmlrpc_response r;
	struct vmh_error err;
	size_t n, len = strlen(full);
	char *copy;

	/* Up to the end of the last element: the rest is whitespace. */
	quiet_begin();
	for (n = 0; n < len - 1; n++) {
		ck_assert_ptr_nonnull(copy = malloc(n + 1));
		memcpy(copy, full, n);
		vmh_error_init(&err);
		ck_assert_msg(
		    vmh_xmlrpc_parse_response(copy, n, "m", &r, &err) != VMH_OK,
		    "prefix of %zu bytes accepted", n);
		vmh_xmlrpc_response_free(&r);
		free(copy);
	}
	quiet_end();
	ck_assert_int_eq(vmh_xmlrpc_parse_response(full, len, "m", &r, &err),
			 VMH_OK);
	vmh_xmlrpc_response_free(&r);
}
END_TEST

START_TEST(nesting_and_size_limits)
{
	struct vmh_xmlrpc_response r;
	struct vmh_error err;
	struct vmh_buf b;
	int i;

	vmh_buf_init(&b, 1 << 20);
	vmh_buf_puts(&b, "<methodResponse><params><param>");
	for (i = 0; i < VMH_XMLRPC_MAX_DEPTH + 5; i++)
		vmh_buf_puts(&b, "<value><array><data>");
	for (i = 0; i < VMH_XMLRPC_MAX_DEPTH + 5; i++)
		vmh_buf_puts(&b, "</data></array></value>");
	vmh_buf_puts(&b, "</param></params></methodResponse>");
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_xmlrpc_parse_response(b.data, b.len, "m", &r, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "nested"));
	vmh_buf_free(&b);
	/* The length is checked before any byte is read. */
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_xmlrpc_parse_response("x", VMH_XML_MAX_SIZE + 1, "m", &r, &err),
	    VMH_E_TOOBIG);
}
END_TEST

/* A pool can exceed libxml2's 10 MB text-node default. */
START_TEST(large_string_value)
{
	struct vmh_xmlrpc_response r;
	struct vmh_one_result res;
	struct vmh_error err;
	struct vmh_buf b;
	size_t big = 11 * 1000 * 1000;
	char *chunk;

	ck_assert_ptr_nonnull(chunk = malloc(big));
	memset(chunk, 'v', big);
	vmh_buf_init(&b, big + 4096);
	vmh_buf_puts(&b, ENV_HEAD "<value><boolean>1</boolean></value>"
				  "<value><string>");
	vmh_buf_append(&b, chunk, big);
	vmh_buf_puts(&b, "</string></value><value><i4>0</i4></value>" ENV_TAIL);
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_xmlrpc_parse_response(b.data, b.len, "m", &r, &err), VMH_OK);
	ck_assert_int_eq(vmh_xmlrpc_one_result("m", &r, &res, &err), VMH_OK);
	ck_assert_uint_eq(res.value->len, big);
	vmh_xmlrpc_response_free(&r);
	vmh_buf_free(&b);
	free(chunk);
}
END_TEST

START_TEST(not_an_envelope)
{
	static const char *const bad[] = {
		ENV_HEAD "<value><boolean>1</boolean></value>" ENV_TAIL,
		ENV_HEAD "<value><string>yes</string></value>"
			 "<value>x</value>" ENV_TAIL,
		"<methodResponse><params><param><value><i4>1</i4></value>"
		"</param></params></methodResponse>",
	};
	struct vmh_xmlrpc_response r;
	struct vmh_one_result res;
	struct vmh_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		    one_result("one.vm.info", bad[i], &r, &res, &err),
		    VMH_E_DATA);
		vmh_xmlrpc_response_free(&r);
	}
}
END_TEST

static Suite *
xmlrpc_suite(void)
{
	Suite *s = suite_create("xmlrpc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, request_has_typed_escaped_params);
	tcase_add_test(tc, request_refuses_what_xml_cannot_carry);
	tcase_add_test(tc, oned_6_10_captures);
	tcase_add_test(tc, envelopes_of_every_generation);
	tcase_add_test(tc, error_codes_map_to_one_clear_message);
	tcase_add_test(tc, values_cdata_refs_struct_array);
	tcase_add_test(tc, malformed_answers_are_data_errors_quietly);
	tcase_add_test(tc, every_truncation_is_refused);
	tcase_add_test(tc, nesting_and_size_limits);
	tcase_add_test(tc, large_string_value);
	tcase_add_test(tc, not_an_envelope);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(xmlrpc_suite());
}
