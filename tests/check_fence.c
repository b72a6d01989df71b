/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of lib/fence: the `fence` configuration section, the chain
 * walk (levels in order, verification retries, timeouts), secrets handling
 * and the dry-run rendering, with tests/fence/stub_agent.sh and
 * stub_script.sh standing in for fence agents and fence_host.sh.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libconfig.h>
#include <signal.h>
#include <stdarg.h>
#include <syslog.h>

#include "testutil.h"

#include "exec.h"
#include "fence.h"
#include "log.h"
#include "str.h"

#define PASSWORD      "s3cret-Pa55"
#define HOST_PASSWORD "h0st1-only"
#define OLD_PASSWORD  "old-Pa55word"

static char *tmp, *stub, *script, *state;

static char n_ipmi[] = "ipmi", v_ipmi[] = PASSWORD;
static char n_host[] = "ipmi_node1_example_com", v_host[] = HOST_PASSWORD;
static char n_old[] = "ipmi_old", v_old[] = OLD_PASSWORD;
static struct vmh_secret secrets[] = {
	{ n_ipmi, v_ipmi },
	{ n_host, v_host },
	{ n_old, v_old },
};

static struct vmh_conf vconf;

static const char *const attrs[] = {
	"FENCE_IP",   "192.0.2.10", "fence_user", "admin",
	"FENCE_PORT", "9001",       NULL,
};

static const char host_xml[] = "<HOST><ID>7</ID><NAME>node1</NAME>"
			       "<TEMPLATE><FENCE_IP>192.0.2.10</FENCE_IP>"
			       "</TEMPLATE></HOST>";

/* Copy the source tree's file name into dir, mode 0755. */
static char *
install(const char *name)
{
	const char *srcdir = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
	char *src, *text, *path;
	FILE *f;
	long len;

	ck_assert(asprintf(&src, "%s/tests/fence/%s", srcdir, name) > 0);
	f = fopen(src, "r");
	ck_assert_msg(f != NULL, "cannot read %s", src);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), len);
	fclose(f);
	path = tu_write(tmp, name, text, 0755);
	free(text);
	free(src);
	return path;
}

static void
setup(void)
{
	tmp = tu_mkdtemp();
	stub = install("stub_agent.sh");
	script = install("stub_script.sh");
	ck_assert(asprintf(&state, "%s/state", tmp) > 0);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	memset(&vconf, 0, sizeof(vconf));
	vconf.secrets = secrets;
	vconf.n_secrets = sizeof(secrets) / sizeof(secrets[0]);
	vmh_log_init("check_fence", VMH_LOG_TO_STDERR, LOG_USER);
	/* Debug level: the most that could ever reach a log. */
	vmh_log_setverbose(2);
}

static void
teardown(void)
{
	vmh_log_clear_secrets();
	free(stub);
	free(script);
	free(state);
	tu_rmdir(tmp);
}

/* Replace every @KEY@ of text: STUB, SCRIPT, STATE, TMP. */
static char *
expand(const char *text)
{
	static const char *keys[] = { "@STUB@", "@SCRIPT@", "@STATE@",
				      "@TMP@" };
	const char *vals[] = { stub, script, state, tmp };
	size_t cap = strlen(text) * 4 + 4096, o = 0, k;
	char *out = calloc(1, cap);

	ck_assert_ptr_nonnull(out);
	while (*text != '\0') {
		for (k = 0; k < 4; k++)
			if (strncmp(text, keys[k], strlen(keys[k])) == 0)
				break;
		if (k < 4) {
			ck_assert(o + strlen(vals[k]) < cap);
			memcpy(out + o, vals[k], strlen(vals[k]));
			o += strlen(vals[k]);
			text += strlen(keys[k]);
		} else {
			ck_assert(o + 1 < cap);
			out[o++] = *text++;
		}
	}
	return out;
}

/* Parse a configuration text's fence group. */
static enum vmh_rc
parse(const char *text, struct vmh_fence_conf **fc, struct vmh_error *err)
{
	char *full = expand(text), *path;
	config_setting_t *g;
	config_t cfg;
	enum vmh_rc rc;

	path = tu_write(tmp, "vmheal.conf", full, 0600);
	config_init(&cfg);
	ck_assert_msg(config_read_file(&cfg, path) == CONFIG_TRUE,
		      "libconfig: %s line %d", config_error_text(&cfg),
		      config_error_line(&cfg));
	g = config_lookup(&cfg, "fence");
	ck_assert_ptr_nonnull(g);
	vmh_error_init(err);
	rc = vmh_fence_conf_parse(g, fc, err);
	config_destroy(&cfg);
	free(path);
	free(full);
	return rc;
}

static struct vmh_fence_conf *
parse_ok(const char *text)
{
	struct vmh_fence_conf *fc = NULL;
	struct vmh_error err;

	ck_assert_msg(parse(text, &fc, &err) == VMH_OK, "parse: %s:%d: %s",
		      err.source, err.line, err.text);
	ck_assert_ptr_nonnull(fc);
	return fc;
}

/*
 * A stub agent level: name, mode, extra settings. Unless extra sets them:
 * timeout 5 s, 3 status queries 0 s apart (libconfig refuses a setting
 * given twice).
 */
static char *
level(const char *name, const char *mode, const char *extra)
{
	char *s;

	if (extra == NULL)
		extra = "";
	ck_assert(asprintf(&s,
			   "{ name = \"%s\"; command = \"@STUB@\"; "
			   "password_secret = \"ipmi\"; "
			   "options = { state = \"@STATE@\"; mode = \"%s\"; "
			   "name = \"%s\"; }; %s%s%s%s }",
			   name, mode, name,
			   strstr(extra, "timeout =") ? "" : "timeout = 5; ",
			   strstr(extra, "verify_retries") ? ""
							   : "verify_retries "
							     "= 3; ",
			   strstr(extra, "verify_interval") ? ""
							    : "verify_interval "
							      "= 0; ",
			   extra) > 0);
	return s;
}

static struct vmh_fence_conf *
chain(const char *l1, const char *l2)
{
	struct vmh_fence_conf *fc;
	char *text;

	ck_assert(asprintf(&text, "fence = { levels = ( %s%s%s ); };", l1,
			   l2 ? ", " : "", l2 ? l2 : "") > 0);
	fc = parse_ok(text);
	free(text);
	return fc;
}

static struct vmh_fence_conf *
one_level(const char *mode, const char *extra)
{
	char *l = level("one", mode, extra);
	struct vmh_fence_conf *fc = chain(l, NULL);

	free(l);
	return fc;
}

static char *
slurp(const char *dir, const char *name)
{
	char *path, *text = NULL;
	FILE *f;
	long len;

	ck_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return NULL;
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), len);
	fclose(f);
	return text;
}

/* Number of lines of dir/name equal to line. */
static int
count_lines(const char *dir, const char *name, const char *line)
{
	char *text = slurp(dir, name), *p, *nl;
	int n = 0;

	if (text == NULL)
		return 0;
	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		if ((size_t)(nl - p) == strlen(line) &&
		    strncmp(p, line, strlen(line)) == 0)
			n++;
		if (nl[1] == '\0')
			break;
	}
	free(text);
	return n;
}

static const struct vmh_fence_target *
target(void)
{
	static struct vmh_fence_target t;

	t.name = "node1.example.com";
	t.id = 7;
	t.attrs = attrs;
	t.host_xml = host_xml;
	return &t;
}

/* stderr of the test process goes to TMP/stderr.log between these. */
static int saved_stderr = -1;

static void
capture_stderr(void)
{
	char *path;
	int fd;

	ck_assert(asprintf(&path, "%s/stderr.log", tmp) > 0);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	free(path);
}

static char *
release_stderr(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	return slurp(tmp, "stderr.log");
}

/* Render the report every way it can leave the process. */
static char *
rendered(const struct vmh_fence_report *r)
{
	char *json = vmh_fence_report_json(r), *path, *text, *all;
	FILE *f;

	ck_assert_ptr_nonnull(json);
	ck_assert(asprintf(&path, "%s/report.txt", tmp) > 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	vmh_fence_report_print(r, f, 2);
	fclose(f);
	text = slurp(tmp, "report.txt");
	ck_assert(asprintf(&all, "%s\n%s", json, text) > 0);
	free(json);
	free(text);
	free(path);
	return all;
}

static void
assert_no_secret(const char *what, const char *text)
{
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, PASSWORD) == NULL, "%s shows the password",
		      what);
	ck_assert_msg(strstr(text, HOST_PASSWORD) == NULL,
		      "%s shows the host password", what);
}

/* ------------------------------------------------------------------ */
/* Configuration */

START_TEST(conf_good)
{
	struct vmh_fence_conf *fc = parse_ok(
	    "fence = { levels = (\n"
	    "  { name = \"ipmi\"; command = \"/usr/sbin/fence_ipmilan\";\n"
	    "    timeout = 30;\n"
	    "    options = { lanplus = true; cipher = 3; method = \"onoff\";"
	    " };\n"
	    "    host_options = { ip = \"FENCE_IP\"; username = "
	    "\"FENCE_USER\"; };\n"
	    "    host_options_optional = { ipport = \"FENCE_IPPORT\"; };\n"
	    "    password_secret = \"ipmi\"; verify_retries = 10;\n"
	    "    verify_interval = 3; verify_delay = 1; },\n"
	    "  { name = \"one-script\"; type = \"script\";\n"
	    "    command = \"/var/lib/one/remotes/hooks/ft/fence_host.sh\";"
	    "\n    status_command = \"/usr/local/bin/bmc_status\"; }\n"
	    "); };\n");
	const struct vmh_fence_level *a = &fc->levels[0], *b = &fc->levels[1];

	ck_assert_uint_eq(fc->n_levels, 2);
	ck_assert_str_eq(a->name, "ipmi");
	ck_assert_int_eq(a->type, VMH_FENCE_AGENT);
	ck_assert_int_eq(a->timeout_s, 30);
	ck_assert_int_eq(a->status_timeout_s, 30);
	ck_assert_uint_eq(a->n_options, 3);
	ck_assert_str_eq(a->options[0].key, "lanplus");
	ck_assert_str_eq(a->options[0].value, "1");
	ck_assert_str_eq(a->options[1].value, "3");
	ck_assert_str_eq(a->options[2].value, "onoff");
	ck_assert_uint_eq(a->n_host_options, 2);
	ck_assert_str_eq(a->host_options[1].key, "username");
	ck_assert_str_eq(a->host_options[1].value, "FENCE_USER");
	ck_assert_uint_eq(a->n_host_options_optional, 1);
	ck_assert_str_eq(a->password_secret, "ipmi");
	ck_assert_str_eq(a->password_option, "password");
	ck_assert_int_eq(a->verify_retries, 10);
	ck_assert_int_eq(a->verify_interval_s, 3);
	ck_assert_int_eq(a->verify_delay_s, 1);
	ck_assert_int_eq(b->type, VMH_FENCE_SCRIPT);
	ck_assert_int_eq(b->timeout_s, VMH_FENCE_DEFAULT_TIMEOUT);
	ck_assert_int_eq(b->verify_retries, VMH_FENCE_DEFAULT_VERIFY_RETRIES);
	ck_assert_str_eq(b->status_command, "/usr/local/bin/bmc_status");
	ck_assert_ptr_null(b->password_secret);
	vmh_fence_conf_free(fc);
}
END_TEST

static const struct {
	const char *text; /* inside levels = ( ... ) unless it has "fence" */
	int line;         /* expected line; 0: the level's (2) */
	const char *msg;  /* expected in the error text */
} bad_confs[] = {
	{ "fence = { };", 1, "levels = ( { ... } ) is missing" },
	{ "fence = { levels = (); };", 1, "between 1 and 16 levels" },
	{ "fence = { levels = [ \"x\" ]; };", 1, "must be a list" },
	{ "fence = { levels = ( { name = \"a\"; command = \"/x\"; } ); "
	  "retries = 3; };",
	  1, "retries'" },
	{ "\"x\"", -1, "each level must be a group" },
	{ "{ command = \"/bin/true\"; }", 0, "name is missing" },
	{ "{ name = \"a b\"; command = \"/bin/true\"; }", 0,
	  "name must be 1-64 letters" },
	{ "{ name = \"a\"; command = \"/x\"; }, { name = \"a\"; command = "
	  "\"/y\"; }",
	  0, "name used twice" },
	{ "{ name = \"a\"; }", 0, "command is missing" },
	{ "{ name = \"a\"; command = \"fence_ipmilan\"; }", 0,
	  "must be an absolute path" },
	{ "{ name = \"a\"; command = \"/x\"; type = \"pdu\"; }", 0,
	  "is not one of \"agent\", \"script\"" },
	{ "{ name = \"a\"; command = \"/x\"; timeout = 0; }", 0,
	  "out of range 1..3600" },
	{ "{ name = \"a\"; command = \"/x\"; verify_retries = 0; }", 0,
	  "out of range 1..100" },
	{ "{ name = \"a\"; command = \"/x\"; verify_interval = \"3\"; }", 0,
	  "must be a whole number" },
	{ "{ name = \"a\"; command = \"/x\"; tmeout = 3; }", 0,
	  "unknown setting" },
	{ "{ name = \"a\"; command = \"/x\"; options = { action = \"on\"; }; }",
	  0, "options.action: set by vmheal itself" },
	{ "{ name = \"a\"; command = \"/x\"; options = { password = \"pw\"; }; "
	  "}",
	  0, "passwords come from the secrets file" },
	{ "{ name = \"a\"; command = \"/x\"; options = { passwd = \"pw\"; }; }",
	  0, "set by vmheal itself" },
	{ "{ name = \"a\"; command = \"/x\"; password_option = \"snmp_pw\"; "
	  "options = { snmp_pw = \"pw\"; }; }",
	  0, "options.snmp_pw: set by vmheal itself" },
	{ "{ name = \"a\"; command = \"/x\"; host_options = { nodename = "
	  "\"NAME\"; }; }",
	  0, "host_options.nodename: set by vmheal itself" },
	{ "{ name = \"a\"; command = \"/x\"; options = { ip = \"1.2.3.4\\n"
	  "action=on\"; }; }",
	  0, "options.ip: line breaks are not allowed" },
	{ "{ name = \"a\"; command = \"/x\"; options = { delay = 1.5; }; }", 0,
	  "options.delay: must be a string, a number or a boolean" },
	{ "{ name = \"a\"; command = \"/x\"; options = \"ip=1\"; }", 0,
	  "options: must be a group" },
	{ "{ name = \"a\"; command = \"/x\"; host_options = { ip = \"FENCE "
	  "IP\"; }; }",
	  0, "is not an attribute name" },
	{ "{ name = \"a\"; command = \"/x\"; host_options = { ip = 3; }; }", 0,
	  "must be a host attribute name in quotes" },
	{ "{ name = \"a\"; command = \"/x\"; password_secret = \"a.b\"; }", 0,
	  "password_secret must name a secret" },
	{ "{ name = \"a\"; command = \"/x\"; status_command = \"/y\"; }", 0,
	  "status_command is for script levels" },
	{ "{ name = \"a\"; type = \"script\"; command = \"/x\"; options = { a "
	  "= \"b\"; }; }",
	  0, "options is for agent levels" },
	{ "{ name = \"a\"; type = \"script\"; command = \"/x\"; "
	  "password_secret = \"ipmi\"; }",
	  0, "password_secret is for agent levels" },
	{ "{ name = \"a\"; type = \"script\"; command = \"/x\"; "
	  "status_command = \"status.sh\"; }",
	  0, "status_command must be an absolute path" },
};

START_TEST(conf_bad)
{
	struct vmh_fence_conf *fc = (struct vmh_fence_conf *)1;
	struct vmh_error err;
	char *text;
	int line_of_level = 2;

	if (strncmp(bad_confs[_i].text, "fence", 5) == 0)
		ck_assert(asprintf(&text, "%s\n", bad_confs[_i].text) > 0);
	else
		ck_assert(asprintf(&text, "fence = { levels = (\n%s\n); };\n",
				   bad_confs[_i].text) > 0);
	ck_assert_int_eq(parse(text, &fc, &err), VMH_E_CONFIG);
	ck_assert_ptr_null(fc);
	ck_assert_int_eq(err.code, VMH_E_CONFIG);
	ck_assert_msg(strstr(err.text, bad_confs[_i].msg) != NULL,
		      "case %d: \"%s\" lacks \"%s\"", _i, err.text,
		      bad_confs[_i].msg);
	ck_assert_msg(strstr(err.source, "vmheal.conf") != NULL,
		      "case %d: source %s", _i, err.source);
	/* -1: libconfig's line of a scalar list element is not stable */
	if (bad_confs[_i].line >= 0)
		ck_assert_int_eq(err.line, bad_confs[_i].line
					       ? bad_confs[_i].line
					       : line_of_level);
	free(text);
}
END_TEST

START_TEST(conf_too_many_levels)
{
	struct vmh_fence_conf *fc = NULL;
	struct vmh_error err;
	char text[4096] = "fence = { levels = (";
	int i;

	for (i = 0; i < VMH_FENCE_MAX_LEVELS + 1; i++) {
		size_t l = strlen(text);

		snprintf(text + l, sizeof(text) - l,
			 "%s{ name = \"l%d\"; command = \"/x\"; }",
			 i ? ", " : "", i);
	}
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "); };");
	ck_assert_int_eq(parse(text, &fc, &err), VMH_E_CONFIG);
	ck_assert_ptr_null(fc);
	vmh_fence_conf_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The chain */

START_TEST(fence_ok_verified)
{
	struct vmh_fence_conf *fc = one_level("ok", NULL);
	struct vmh_fence_report r;
	struct vmh_error err;
	char *in, *argv_log, *logs, *all;

	vmh_error_init(&err);
	capture_stderr();
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, &err),
			 VMH_OK);
	logs = release_stderr();
	ck_assert_int_eq(err.code, VMH_OK);
	ck_assert(r.success);
	ck_assert_int_eq(r.winner, 0);
	ck_assert_str_eq(r.host, "node1.example.com");
	ck_assert_uint_eq(r.n_steps, 2);
	ck_assert_str_eq(r.steps[0].action, "off");
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_DONE);
	ck_assert_int_eq(r.steps[0].exit_code, 0);
	ck_assert_str_eq(r.steps[0].detail, "exit 0: Success: Powered OFF");
	ck_assert_str_eq(r.steps[1].action, "status");
	ck_assert_int_eq(r.steps[1].outcome, VMH_FENCE_POWER_OFF);
	ck_assert_int_eq(r.steps[1].exit_code, 2);
	ck_assert_int_eq(r.levels[0].verdict, VMH_FENCE_V_FENCED);
	ck_assert_int_ge(r.steps[1].start_ms, r.steps[0].start_ms);
	ck_assert_int_ge(r.duration_ms, r.steps[0].duration_ms);
	ck_assert_ptr_null(r.steps[0].stdin_text); /* only for dry runs */

	/* The password reached the agent on stdin, with the rest. */
	in = slurp(state, "stdin.log");
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(strstr(in, "action=off\nnodename=node1.example."
					 "com\nstate="));
	/* node1.example.com has a secret of its own */
	ck_assert_ptr_nonnull(strstr(in, "\npassword=" HOST_PASSWORD "\n"));
	ck_assert_ptr_nonnull(strstr(in, "action=status\n"));
	/* ... and nowhere else. */
	argv_log = slurp(state, "argv.log");
	ck_assert_ptr_null(strstr(argv_log, HOST_PASSWORD));
	free(argv_log);
	assert_no_secret("the log", logs);
	ck_assert_ptr_nonnull(strstr(logs, "fenced and verified OFF"));
	ck_assert_ptr_nonnull(strstr(logs, "password=****"));
	all = rendered(&r);
	assert_no_secret("the report", all);
	free(all);
	free(logs);
	free(in);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(fence_argv_has_no_secret)
{
	struct vmh_fence_conf *fc = one_level("ok", NULL);
	struct vmh_fence_report r;
	char *argv_log, *bare;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	/* The stub logs "$0 $*": its own path and no argument at all, for
	 * the off and the status run. */
	ck_assert(asprintf(&bare, "%s ", stub) > 0);
	ck_assert_int_eq(count_lines(state, "argv.log", bare), 2);
	argv_log = slurp(state, "argv.log");
	ck_assert_ptr_null(strstr(argv_log, "="));
	free(argv_log);
	free(bare);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(fence_levels_in_order)
{
	char *l1 = level("first", "fail", NULL),
	     *l2 = level("second", "ok", NULL);
	struct vmh_fence_conf *fc = chain(l1, l2);
	struct vmh_fence_report r;
	struct vmh_error err;
	char *calls;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, &err),
			 VMH_OK);
	calls = slurp(state, "calls.log");
	ck_assert_str_eq(calls, "first off\nsecond off\nsecond status\n");
	ck_assert_int_eq(r.winner, 1);
	ck_assert_int_eq(r.levels[0].verdict, VMH_FENCE_V_FAILED);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason,
				     "off failed: exit 1: Failed: Unable to "
				     "connect"));
	ck_assert_int_eq(r.levels[1].verdict, VMH_FENCE_V_FENCED);
	ck_assert_uint_eq(r.n_steps, 3);
	ck_assert_uint_eq(r.steps[0].level, 0);
	ck_assert_uint_eq(r.steps[2].level, 1);
	free(calls);
	free(l1);
	free(l2);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(fence_later_levels_not_tried)
{
	char *l1 = level("first", "ok", NULL),
	     *l2 = level("second", "ok", NULL);
	struct vmh_fence_conf *fc = chain(l1, l2);
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	ck_assert_int_eq(count_lines(state, "calls.log", "second off"), 0);
	ck_assert_int_eq(r.levels[1].verdict, VMH_FENCE_V_NOT_TRIED);
	free(l1);
	free(l2);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(fence_all_levels_fail)
{
	char *l1 = level("first", "fail", NULL),
	     *l2 = level("second", "stay_on", NULL);
	struct vmh_fence_conf *fc = chain(l1, l2);
	struct vmh_fence_report r;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, &err),
			 VMH_E_FENCE);
	ck_assert_int_eq(err.code, VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(err.text, "NOT fenced"));
	ck_assert(!r.success);
	ck_assert_int_eq(r.winner, -1);
	ck_assert_int_eq(r.levels[0].verdict, VMH_FENCE_V_FAILED);
	ck_assert_int_eq(r.levels[1].verdict, VMH_FENCE_V_FAILED);
	free(l1);
	free(l2);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(failed_off_not_rescued_by_status)
{
	struct vmh_fence_conf *fc = one_level("fail_off", NULL);
	struct vmh_fence_report r;

	/* fence-agents: an off that does not exit 0 failed, whatever the
	 * power state is afterwards. */
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_uint_eq(r.n_steps, 1);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_FAILED);
	ck_assert_int_eq(count_lines(state, "calls.log", "one status"), 0);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "Timed out waiting"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(verify_still_on)
{
	struct vmh_fence_conf *fc = one_level("stay_on", NULL);
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	/* Off answered success, but three status queries said ON. */
	ck_assert_int_eq(count_lines(state, "calls.log", "one off"), 1);
	ck_assert_int_eq(count_lines(state, "calls.log", "one status"), 3);
	ck_assert_uint_eq(r.n_steps, 4);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_DONE);
	ck_assert_int_eq(r.steps[3].outcome, VMH_FENCE_POWER_ON);
	ck_assert_int_eq(r.steps[3].attempt, 3);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason,
				     "not verified: power still ON after 3 "
				     "status queries"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(verify_retries_until_off)
{
	struct vmh_fence_conf *fc = one_level("off_after=2", NULL);
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	ck_assert_int_eq(count_lines(state, "calls.log", "one status"), 3);
	ck_assert_int_eq(r.steps[1].outcome, VMH_FENCE_POWER_ON);
	ck_assert_int_eq(r.steps[2].outcome, VMH_FENCE_POWER_ON);
	ck_assert_int_eq(r.steps[3].outcome, VMH_FENCE_POWER_OFF);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(verify_interval_and_delay)
{
	struct vmh_fence_conf *fc =
	    one_level("stay_on", "verify_retries = 2; verify_interval = 1; "
				 "verify_delay = 1;");
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_eq(count_lines(state, "calls.log", "one status"), 2);
	/* delay before the first query, one interval between the two */
	ck_assert_int_ge(r.steps[1].start_ms,
			 r.steps[0].start_ms + r.steps[0].duration_ms + 1000);
	ck_assert_int_ge(r.steps[2].start_ms,
			 r.steps[1].start_ms + r.steps[1].duration_ms + 1000);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(verify_unknown)
{
	struct vmh_fence_conf *fc = one_level("unknown", NULL);
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_eq(r.steps[1].outcome, VMH_FENCE_POWER_UNKNOWN);
	ck_assert_int_eq(r.steps[1].exit_code, 1);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "status unknown"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

/* The process is gone or a zombie waiting for init to reap it. */
static int
gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* The process whose pid the stub wrote to file is gone (soon). */
static void
assert_gone(const char *file)
{
	char *pid = slurp(state, file);
	int i;

	ck_assert_ptr_nonnull(pid);
	for (i = 0; i < 20 && !gone((pid_t)strtol(pid, NULL, 10)); i++)
		vmh_sleep_ms(50);
	ck_assert_msg(gone((pid_t)strtol(pid, NULL, 10)),
		      "process %s (%s) still runs", vmh_rstrip(pid), file);
	free(pid);
}

START_TEST(agent_hang_killed)
{
	struct vmh_fence_conf *fc = one_level("hang", "timeout = 1;");
	struct vmh_fence_report r;
	long long t0 = vmh_now_ms();

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_lt(vmh_now_ms() - t0, 1000 + 1500);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_TIMEDOUT);
	ck_assert_int_ge(r.steps[0].duration_ms, 1000);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "timed out after "
							 "1 s"));
	ck_assert_uint_eq(r.n_steps, 1); /* no verification of a timeout */
	assert_gone("pid");
	assert_gone("child");
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(agent_hang_hard_killed)
{
	struct vmh_fence_conf *fc = one_level("hang_hard", "timeout = 1;");
	struct vmh_fence_report r;
	long long t0 = vmh_now_ms();

	/* SIGTERM is ignored: SIGKILL after the exec module's grace. */
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_lt(vmh_now_ms() - t0,
			 1000 + VMH_EXEC_DEFAULT_GRACE_MS + 1500);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_TIMEDOUT);
	assert_gone("pid");
	assert_gone("child");
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(status_timeout)
{
	struct vmh_fence_conf *fc =
	    one_level("status_hang", "status_timeout = 1; verify_retries = 2;");
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_DONE);
	ck_assert_uint_eq(r.n_steps, 3);
	ck_assert_int_eq(r.steps[1].outcome, VMH_FENCE_TIMEDOUT);
	ck_assert_int_eq(r.steps[2].outcome, VMH_FENCE_TIMEDOUT);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "status timed out"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Host options and secrets */

START_TEST(host_options_merged)
{
	struct vmh_fence_conf *fc = one_level(
	    "ok", "host_options = { ip = \"FENCE_IP\"; username = "
		  "\"FENCE_USER\"; state = \"NO_SUCH_ATTR_IS_FINE\"; }; "
		  "host_options_optional = { ipport = \"FENCE_PORT\"; "
		  "plug = \"FENCE_PLUG\"; };");
	struct vmh_fence_report r;
	char *in;

	/* A required attribute that is missing fails the level... */
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason,
				     "host node1.example.com has no attribute "
				     "NO_SUCH_ATTR_IS_FINE (needed for option "
				     "state)"));
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_NOT_RUN);
	ck_assert_ptr_null(slurp(state, "calls.log")); /* nothing ran */
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);

	/* ... present ones are sent (case-insensitively matched), optional
	 * ones only when the host has them. */
	fc = one_level("ok", "host_options = { ip = \"FENCE_IP\"; username = "
			     "\"FENCE_USER\"; }; host_options_optional = { "
			     "ipport = \"fence_port\"; plug = \"FENCE_PLUG\"; "
			     "};");
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	in = slurp(state, "stdin.log");
	ck_assert_ptr_nonnull(strstr(in, "\nip=192.0.2.10\nusername=admin\n"
					 "ipport=9001\n"));
	ck_assert_ptr_null(strstr(in, "plug="));
	free(in);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(host_option_overrides_config)
{
	struct vmh_fence_conf *fc = parse_ok(
	    "fence = { levels = ( { name = \"one\"; command = \"@STUB@\"; "
	    "options = { state = \"@STATE@\"; ipport = 623; lanplus = "
	    "true; }; host_options = { ipport = \"FENCE_PORT\"; }; "
	    "verify_interval = 0; } ); };");
	struct vmh_fence_report r;
	char *in;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	in = slurp(state, "stdin.log");
	ck_assert_ptr_nonnull(strstr(in, "\nipport=9001\nlanplus=1\n"));
	ck_assert_ptr_null(strstr(in, "ipport=623"));
	ck_assert_ptr_null(strstr(in, "password=")); /* no password_secret */
	free(in);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(attribute_line_break_refused)
{
	static const char *const evil[] = { "FENCE_IP", "10.0.0.1\naction=on",
					    NULL };
	struct vmh_fence_target t = *target();
	struct vmh_fence_conf *fc =
	    one_level("ok", "host_options = { ip = \"FENCE_IP\"; };");
	struct vmh_fence_report r;

	t.attrs = evil;
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "line break"));
	ck_assert_ptr_null(slurp(state, "calls.log"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(per_host_secret)
{
	struct vmh_fence_conf *fc = one_level("ok", NULL);
	struct vmh_fence_target t = *target();
	struct vmh_fence_report r;
	char *in;

	/* node1.example.com has its own secret ipmi_node1_example_com */
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL), VMH_OK);
	in = slurp(state, "stdin.log");
	ck_assert_ptr_nonnull(strstr(in, "\npassword=" HOST_PASSWORD "\n"));
	ck_assert_ptr_null(strstr(in, PASSWORD));
	free(in);
	vmh_fence_report_free(&r);
	/* another host falls back to the shared one */
	t.name = "node2";
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL), VMH_OK);
	in = slurp(state, "stdin.log");
	ck_assert_ptr_nonnull(strstr(in, "\npassword=" PASSWORD "\n"));
	free(in);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(missing_secret)
{
	struct vmh_fence_conf *fc = parse_ok(
	    "fence = { levels = ( { name = \"one\"; command = \"@STUB@\"; "
	    "options = { state = \"@STATE@\"; }; password_secret = "
	    "\"nope\"; } ); };");
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason,
				     "secret \"nope_node1_example_com\" (or "
				     "\"nope\") is not in the secrets file"));
	ck_assert_ptr_null(slurp(state, "calls.log"));
	vmh_fence_report_free(&r);
	/* and without any secrets at all */
	ck_assert_int_eq(vmh_fence_host(fc, NULL, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(leaked_password_masked)
{
	struct vmh_fence_conf *fc = one_level("leak", NULL);
	struct vmh_fence_target t = *target();
	struct vmh_fence_report r;
	char *logs, *all;

	t.name = "node2"; /* the shared password */
	capture_stderr();
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL),
			 VMH_E_FENCE);
	logs = release_stderr();
	/* The agent printed the password; nobody repeats it. */
	ck_assert_str_eq(r.steps[0].detail,
			 "exit 1: debug: logging in with password ****");
	assert_no_secret("the log", logs);
	ck_assert_ptr_nonnull(strstr(logs, "with password ****"));
	all = rendered(&r);
	assert_no_secret("the report", all);
	free(all);
	free(logs);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dry run */

START_TEST(dry_run_renders_without_secrets)
{
	char *l1 =
		 level("first", "ok", "host_options = { ip = \"FENCE_IP\"; };"),
	     *l2 =
		 level("second", "ok", "host_options = { ip = \"NO_SUCH\"; };");
	struct vmh_fence_conf *fc = chain(l1, l2);
	struct vmh_fence_report r;
	char *logs, *all, *json;
	json_t *j;

	capture_stderr();
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 1, &r, NULL),
			 VMH_OK);
	logs = release_stderr();
	ck_assert_ptr_null(slurp(state, "calls.log")); /* nothing ran */
	ck_assert(r.dry_run);
	ck_assert_int_eq(r.levels[0].verdict, VMH_FENCE_V_PLANNED);
	ck_assert_int_eq(r.levels[1].verdict, VMH_FENCE_V_FAILED);
	ck_assert_ptr_nonnull(strstr(r.levels[1].reason, "NO_SUCH"));
	ck_assert_uint_eq(r.n_steps, 3);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_PLANNED);
	ck_assert_str_eq(r.steps[0].argv_text, stub);
	ck_assert_ptr_nonnull(strstr(r.steps[0].stdin_text,
				     "action=off\nnodename=node1.example.com"
				     "\n"));
	ck_assert_ptr_nonnull(
	    strstr(r.steps[0].stdin_text, "\nip=192.0.2.10\npassword=****\n"));
	ck_assert_str_eq(r.steps[1].action, "status");
	ck_assert_ptr_nonnull(strstr(r.steps[1].stdin_text, "action=status\n"));
	ck_assert_int_eq(r.steps[2].outcome, VMH_FENCE_NOT_RUN);
	assert_no_secret("the dry-run log", logs);
	all = rendered(&r);
	assert_no_secret("the dry-run report", all);
	ck_assert_ptr_nonnull(strstr(all, "password=****"));
	json = vmh_fence_report_json(&r);
	j = json_loads(json, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_true(json_object_get(j, "dry_run")));
	ck_assert(json_is_false(json_object_get(j, "fenced")));
	ck_assert_str_eq(
	    json_string_value(json_array_get(
		json_object_get(json_array_get(json_object_get(j, "steps"), 0),
				"stdin"),
		0)),
	    "action=off");
	json_decref(j);
	free(json);
	free(all);
	free(logs);
	free(l1);
	free(l2);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(dry_run_nothing_can_run)
{
	struct vmh_fence_conf *fc =
	    one_level("ok", "host_options = { ip = \"NO_SUCH\"; };");
	struct vmh_fence_report r;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 1, &r, &err),
			 VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(err.text, "no level could run"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Script levels */

START_TEST(script_level)
{
	struct vmh_fence_conf *fc = parse_ok(
	    "fence = { levels = ( { name = \"one\"; type = \"script\"; "
	    "command = \"@SCRIPT@\"; timeout = 5; } ); };");
	struct vmh_fence_report r;
	char *xml, *log;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	xml = slurp(tmp, "host.xml");
	ck_assert_str_eq(xml, host_xml); /* base64 on stdin, decoded */
	log = slurp(tmp, "script.log");
	ck_assert_str_eq(log, "off node1.example.com 7\n");
	/* fence_host.sh verifies itself: no status step */
	ck_assert_uint_eq(r.n_steps, 1);
	ck_assert_str_eq(r.steps[0].action, "script");
	free(xml);
	free(log);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(script_level_fails)
{
	struct vmh_fence_conf *fc = parse_ok(
	    "fence = { levels = ( { name = \"one\"; type = \"script\"; "
	    "command = \"@SCRIPT@\"; timeout = 5; } ); };");
	struct vmh_fence_target t = *target();
	struct vmh_fence_report r;
	char *mode = tu_write(tmp, "mode", "fail\n", 0644);

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "fencing failed"));
	vmh_fence_report_free(&r);
	/* no XML, no script run */
	t.host_xml = NULL;
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "no <HOST> XML"));
	ck_assert_int_eq(
	    count_lines(tmp, "script.log", "off node1.example.com 7"), 1);
	free(mode);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(script_status_command)
{
	struct vmh_fence_conf *fc = parse_ok(
	    "fence = { levels = ( { name = \"one\"; type = \"script\"; "
	    "command = \"@STUB@\"; status_command = \"@SCRIPT@\"; "
	    "verify_retries = 2; verify_interval = 0; } ); };");
	struct vmh_fence_report r;
	char *power = tu_write(tmp, "power", "on\n", 0644);

	/* The "script" (here the stub agent, which fails without state=)
	 * fails: nothing else runs. */
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_uint_eq(r.n_steps, 1);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);

	/* A script that claims success while its status says ON fails. */
	fc = parse_ok("fence = { levels = ( { name = \"one\"; type = "
		      "\"script\"; command = \"/bin/true\"; status_command = "
		      "\"@SCRIPT@\"; verify_retries = 2; verify_interval = 0; "
		      "} ); };");
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_uint_eq(r.n_steps, 3);
	ck_assert_int_eq(r.steps[2].outcome, VMH_FENCE_POWER_ON);
	ck_assert_int_eq(
	    count_lines(tmp, "script.log", "status node1.example.com 7"), 2);
	vmh_fence_report_free(&r);
	free(power);
	power = tu_write(tmp, "power", "off\n", 0644);
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	free(power);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Status and on, programs that cannot run, bad calls */

START_TEST(status_first_answer_wins)
{
	char *l1 = level("first", "unknown", NULL),
	     *l2 = level("second", "ok", NULL);
	struct vmh_fence_conf *fc = chain(l1, l2);
	struct vmh_fence_report r;
	enum vmh_fence_power p = VMH_FENCE_PW_OFF;

	ck_assert_int_eq(
	    vmh_fence_status(fc, &vconf, target(), 0, &p, &r, NULL), VMH_OK);
	ck_assert_int_eq(p, VMH_FENCE_PW_ON);
	ck_assert_int_eq(r.winner, 1);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "status unknown"));
	/* status changes nothing */
	ck_assert_int_eq(count_lines(state, "calls.log", "second off"), 0);
	vmh_fence_report_free(&r);

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	vmh_fence_report_free(&r);
	ck_assert_int_eq(
	    vmh_fence_status(fc, &vconf, target(), 0, &p, &r, NULL), VMH_OK);
	ck_assert_int_eq(p, VMH_FENCE_PW_OFF);
	vmh_fence_report_free(&r);

	ck_assert_int_eq(vmh_fence_power_on(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	ck_assert_int_eq(count_lines(state, "calls.log", "first on"), 1);
	ck_assert_int_eq(count_lines(state, "calls.log", "second on"), 0);
	vmh_fence_report_free(&r);
	free(l1);
	free(l2);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(status_nobody_knows)
{
	struct vmh_fence_conf *fc = one_level("unknown", NULL);
	struct vmh_fence_report r;
	enum vmh_fence_power p = VMH_FENCE_PW_OFF;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_fence_status(fc, &vconf, target(), 0, &p, &r, &err),
	    VMH_E_FENCE);
	ck_assert_int_eq(p, VMH_FENCE_PW_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(err.text, "power state unknown"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(unsafe_program_refused)
{
	struct vmh_fence_conf *fc = one_level("ok", NULL);
	struct vmh_fence_report r;

	ck_assert_int_eq(chmod(stub, 0775), 0);
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_NOT_RUN);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "unsafe program"));
	ck_assert_ptr_null(slurp(state, "calls.log"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(missing_program)
{
	struct vmh_fence_conf *fc =
	    parse_ok("fence = { levels = ( { name = \"one\"; command = "
		     "\"@TMP@/no_such_agent\"; } ); };");
	struct vmh_fence_report r;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_E_FENCE);
	ck_assert_int_eq(r.steps[0].outcome, VMH_FENCE_NOT_RUN);
	ck_assert_ptr_nonnull(strstr(r.levels[0].reason, "no_such_agent"));
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(bad_calls)
{
	struct vmh_fence_conf *fc = one_level("ok", NULL);
	struct vmh_fence_target t = *target();
	struct vmh_fence_report r;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_fence_host(NULL, &vconf, &t, 0, &r, &err),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "no fence levels configured"));
	vmh_fence_report_free(&r);
	t.name = "bad\nname";
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL),
			 VMH_E_USAGE);
	vmh_fence_report_free(&r);
	t.name = NULL;
	ck_assert_int_eq(vmh_fence_host(fc, &vconf, &t, 0, &r, NULL),
			 VMH_E_USAGE);
	vmh_fence_report_free(&r);
	ck_assert_ptr_null(slurp(state, "calls.log"));
	vmh_fence_conf_free(fc);
}
END_TEST

START_TEST(report_json)
{
	char *l1 = level("first", "fail", NULL),
	     *l2 = level("second", "ok", NULL);
	struct vmh_fence_conf *fc = chain(l1, l2);
	struct vmh_fence_report r;
	json_t *j, *steps;
	char *json;

	ck_assert_int_eq(vmh_fence_host(fc, &vconf, target(), 0, &r, NULL),
			 VMH_OK);
	json = vmh_fence_report_json(&r);
	j = json_loads(json, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "host")),
			 "node1.example.com");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "host_id")), 7);
	ck_assert(json_is_true(json_object_get(j, "fenced")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "level")),
			 "second");
	steps = json_object_get(j, "steps");
	ck_assert_uint_eq(json_array_size(steps), 3);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(steps, 0), "outcome")),
			 "failed");
	ck_assert_int_eq(json_integer_value(
			     json_object_get(json_array_get(steps, 0), "exit")),
			 1);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(steps, 2), "outcome")),
			 "off");
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(j, "levels"), 0), "verdict")),
	    "failed");
	json_decref(j);
	free(json);
	free(l1);
	free(l2);
	vmh_fence_report_free(&r);
	vmh_fence_conf_free(fc);
}
END_TEST

static Suite *
fence_suite(void)
{
	Suite *s = suite_create("fence");
	TCase *tc;

	tc = tcase_create("conf");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, conf_good);
	tcase_add_loop_test(tc, conf_bad, 0,
			    (int)(sizeof(bad_confs) / sizeof(bad_confs[0])));
	tcase_add_test(tc, conf_too_many_levels);
	suite_add_tcase(s, tc);

	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, fence_ok_verified);
	tcase_add_test(tc, fence_argv_has_no_secret);
	tcase_add_test(tc, fence_levels_in_order);
	tcase_add_test(tc, fence_later_levels_not_tried);
	tcase_add_test(tc, fence_all_levels_fail);
	tcase_add_test(tc, failed_off_not_rescued_by_status);
	tcase_add_test(tc, verify_still_on);
	tcase_add_test(tc, verify_retries_until_off);
	tcase_add_test(tc, verify_interval_and_delay);
	tcase_add_test(tc, verify_unknown);
	tcase_add_test(tc, agent_hang_killed);
	tcase_add_test(tc, agent_hang_hard_killed);
	tcase_add_test(tc, status_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("inputs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, host_options_merged);
	tcase_add_test(tc, host_option_overrides_config);
	tcase_add_test(tc, attribute_line_break_refused);
	tcase_add_test(tc, per_host_secret);
	tcase_add_test(tc, missing_secret);
	tcase_add_test(tc, leaked_password_masked);
	suite_add_tcase(s, tc);

	tc = tcase_create("dry-run");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dry_run_renders_without_secrets);
	tcase_add_test(tc, dry_run_nothing_can_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("script");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, script_level);
	tcase_add_test(tc, script_level_fails);
	tcase_add_test(tc, script_status_command);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, status_first_answer_wins);
	tcase_add_test(tc, status_nobody_knows);
	tcase_add_test(tc, unsafe_program_refused);
	tcase_add_test(tc, missing_program);
	tcase_add_test(tc, bad_calls);
	tcase_add_test(tc, report_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(fence_suite());
}
