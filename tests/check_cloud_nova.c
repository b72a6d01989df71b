/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenStack driver (lib/cloud_nova.c, lib/osauth.c) against novasim:
 * Keystone password and application-credential auth, re-authentication,
 * clouds.yaml + secure.yaml, microversion negotiation, paging and exact
 * host matches, force-down + disable, evacuation and its checks, the
 * "still in use" refusal, faults, server addresses, TLS with client
 * certificates. Each test starts its own novasim.
 */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud.h"
#include "cloud_nova.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "osauth.h"
#include "str.h"
#include "testutil.h"
#include "http/testserver.h"

static struct ts_server sim;
static char *tmpdir;
static struct vmh_conf *conf;

static const char *const os_vars[] = {
	"OS_CLOUD",
	"OS_AUTH_URL",
	"OS_AUTH_TYPE",
	"OS_USERNAME",
	"OS_USER_ID",
	"OS_PASSWORD",
	"OS_USER_DOMAIN_NAME",
	"OS_USER_DOMAIN_ID",
	"OS_PROJECT_NAME",
	"OS_PROJECT_ID",
	"OS_TENANT_NAME",
	"OS_TENANT_ID",
	"OS_PROJECT_DOMAIN_NAME",
	"OS_PROJECT_DOMAIN_ID",
	"OS_DEFAULT_DOMAIN",
	"OS_REGION_NAME",
	"OS_INTERFACE",
	"OS_ENDPOINT_TYPE",
	"OS_CACERT",
	"OS_CERT",
	"OS_KEY",
	"OS_INSECURE",
	"OS_APPLICATION_CREDENTIAL_ID",
	"OS_APPLICATION_CREDENTIAL_NAME",
	"OS_APPLICATION_CREDENTIAL_SECRET",
	"OS_CLIENT_CONFIG_FILE",
	"OS_CLIENT_SECURE_FILE",
	NULL,
};

/* Short delays so that evacuations finish in a fraction of a second. */
#define FAST_SETTINGS                                                          \
	"\"schedule_delay_s\": 0.05, \"spawn_delay_s\": 0.05, "                \
	"\"action_delay_s\": 0.05, \"cleanup_delay_s\": 0.05, "                \
	"\"finish_delay_s\": 0.2, "                                            \
	"\"rpc_timeout_s\": 0.5"

static const char *default_scenario =
    "{\"settings\": {" FAST_SETTINGS "},"
    " \"keystone\": {\"projects\": [{\"name\": \"admin\"}, {\"name\": "
    "\"demo\"}],"
    "  \"users\": [{\"name\": \"admin\", \"password\": \"admin-pass\","
    "              \"roles\": {\"admin\": [\"admin\", \"member\"]}},"
    "             {\"name\": \"demo\", \"password\": \"demo-pass\","
    "              \"roles\": {\"demo\": [\"member\"]}}],"
    "  \"application_credentials\": [{\"id\": \"c0ffee00c0ffee00\","
    "   \"name\": \"hook\", \"secret\": \"app-secret-1\", \"user\": "
    "\"admin\", \"project\": \"admin\"}]},"
    " \"nova\": {\"hosts\": [{\"name\": \"cmp1\"}, {\"name\": \"cmp10\"},"
    "   {\"name\": \"cmp2\", \"vcpus\": 6}],"
    "  \"servers\": [{\"count\": 5, \"host\": \"cmp1\", \"name\": \"a-%d\"},"
    "   {\"count\": 2, \"host\": \"cmp10\", \"name\": \"b-%d\"},"
    "   {\"count\": 1, \"host\": \"cmp1\", \"project\": \"demo\", "
    "\"name\": \"d-%d\"}]}}";

static void
clear_env(void)
{
	size_t i;

	for (i = 0; os_vars[i] != NULL; i++)
		unsetenv(os_vars[i]);
}

static void
admin_env(const char *user, const char *pass)
{
	char url[128];

	snprintf(url, sizeof(url), "%s/v3", sim.base);
	setenv("OS_AUTH_URL", url, 1);
	setenv("OS_USERNAME", user, 1);
	setenv("OS_PASSWORD", pass, 1);
	setenv("OS_PROJECT_NAME", strcmp(user, "demo") == 0 ? "demo" : "admin",
	       1);
	setenv("OS_USER_DOMAIN_NAME", "Default", 1);
	setenv("OS_PROJECT_DOMAIN_NAME", "Default", 1);
}

/* A vmheal.conf: extra top-level lines (NULL: cloud = "openstack"), and
 * extra keys in the openstack section. */
static void
load_conf_with(const char *extra, const char *os_keys)
{
	char text[2048], *path;
	struct vmh_error err;

	vmh_error_init(&err);
	vmh_conf_free(conf);
	conf = NULL;
	snprintf(text, sizeof(text),
		 "state_dir = \"%s\";\n%s\n"
		 "openstack = { timeout = 5; connect_timeout = 2; "
		 "enable_wait = 3; %s };\n",
		 tmpdir, extra ? extra : "cloud = \"openstack\";", os_keys);
	path = tu_write(tmpdir, "vmheal.conf", text, 0600);
	if (vmh_conf_load(path, &conf, &err) != VMH_OK)
		ck_abort_msg("config: %s", err.text);
	free(path);
}

static void
load_conf(const char *extra)
{
	load_conf_with(extra, "");
}

static void
start_sim(const char *scenario)
{
	const char *argv[] = { NULL,          "serve",  "--scenario",
			       NULL,          "--port", "0",
			       "--state-dir", "@DIR@",  "--exit-with-parent",
			       NULL };
	char script[512], *scen;

	snprintf(script, sizeof(script), "%s/tests/sim/novasim", ts_srcdir());
	scen = tu_write(tmpdir, "scenario.json",
			scenario ? scenario : default_scenario, 0600);
	argv[0] = script;
	argv[3] = scen;
	ck_assert_int_eq(ts_start(&sim, argv, "port"), 0);
	free(scen);
}

static void
setup(void)
{
	tmpdir = tu_mkdtemp();
	clear_env();
	start_sim(NULL);
	admin_env("admin", "admin-pass");
	load_conf(NULL);
}

static void
teardown(void)
{
	ts_stop(&sim);
	vmh_conf_free(conf);
	conf = NULL;
	tu_rmdir(tmpdir);
	clear_env();
}

/* POST (or GET when body is NULL) a control request; the answer. */
static json_t *
ctl(const char *path, const char *body)
{
	struct vmh_http_opts o = { .timeout_ms = 20000,
				   .connect_timeout_ms = 2000,
				   .max_response = 1 << 24,
				   .max_concurrency = 1 };
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct vmh_http_request req = { 0 };
	struct vmh_http_response resp;
	struct vmh_http *h;
	char url[256];
	json_t *doc;

	snprintf(url, sizeof(url), "%s/control/%s", sim.base, path);
	ck_assert_int_eq(vmh_http_new(&o, &h, NULL), VMH_OK);
	vmh_http_response_init(&resp, o.max_response);
	req.method = body ? "POST" : "GET";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.idempotent = 1;
	ck_assert_int_eq(vmh_http_perform(h, &req, &resp, NULL), VMH_OK);
	ck_assert_msg(resp.status == 200, "control %s: %ld %s", path,
		      resp.status, vmh_buf_str(&resp.body));
	doc = json_loads(vmh_buf_str(&resp.body), 0, NULL);
	ck_assert_ptr_nonnull(doc);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
	return doc;
}

static void ctlf(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
ctlf(const char *path, const char *fmt, ...)
{
	char body[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	json_decref(ctl(path, body));
}

static struct vmh_cloud *
open_cloud(void)
{
	struct vmh_cloud *c = NULL;
	struct vmh_error err;

	vmh_error_init(&err);
	if (vmh_cloud_open(conf, &c, &err) != VMH_OK)
		ck_abort_msg("open: %s", err.text);
	return c;
}

/* Ids of the servers on host (from novasim's own view). */
static size_t
sim_servers(const char *host, char ids[][64], size_t max)
{
	json_t *st = ctl("state", NULL), *s;
	size_t i, n = 0;

	json_array_foreach(json_object_get(st, "servers"), i, s)
	{
		const char *h = json_string_value(json_object_get(s, "host"));

		if (h != NULL && strcmp(h, host) == 0 && n < max)
			snprintf(ids[n++], 64, "%s",
				 json_string_value(json_object_get(s, "id")));
	}
	json_decref(st);
	return n;
}

/* Ledger records of a route. */
static size_t
ledger_count(const char *route)
{
	char path[128];
	json_t *doc;
	size_t n;

	snprintf(path, sizeof(path), "ledger?route=%s", route);
	doc = ctl(path, NULL);
	n = json_array_size(json_object_get(doc, "ledger"));
	json_decref(doc);
	return n;
}

static void
wait_idle(void)
{
	json_decref(ctl("wait-idle?timeout=10", NULL));
}

/* ------------------------------------------------------------- auth */

START_TEST(test_version_and_microversion)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_error err;
	const char *mv;
	char *v = NULL;

	vmh_error_init(&err);
	ck_assert_str_eq(vmh_cloud_kind(c), "openstack");
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_OK);
	ck_assert_str_eq(v, "2.93");
	ck_assert_int_eq(vmh_nova_microversion(vmh_nova_of(c), &mv, &err),
			 VMH_OK);
	ck_assert_str_eq(mv, "2.73");
	ck_assert_uint_eq(vmh_nova_auth_count(vmh_nova_of(c)), 1);
	free(v);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_microversion_fallback_and_refusal)
{
	struct vmh_cloud *c;
	struct vmh_error err;
	const char *mv;
	char *v = NULL;

	ctlf("settings", "{\"max_version\": \"2.60\"}");
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_nova_microversion(vmh_nova_of(c), &mv, &err),
			 VMH_OK);
	ck_assert_str_eq(mv, "2.53");
	vmh_cloud_close(c);

	ctlf("settings", "{\"max_version\": \"2.38\"}");
	c = open_cloud();
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_E_API);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(err.text, "up to 2.38"));
	ck_assert_ptr_nonnull(strstr(err.text, "2.53 or later"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_cloud_chosen_by_environment)
{
	struct vmh_cloud *c;

	load_conf("# no cloud named");
	c = open_cloud();
	ck_assert_str_eq(vmh_cloud_kind(c), "openstack");
	vmh_cloud_close(c);
	load_conf("cloud = \"opennebula\";");
	setenv("ONE_XMLRPC", "http://127.0.0.1:1/RPC2", 1);
	setenv("ONE_AUTH", "/nonexistent", 1);
	{
		struct vmh_cloud *one = NULL;
		struct vmh_error err;

		vmh_error_init(&err);
		if (vmh_cloud_open(conf, &one, &err) == VMH_OK) {
			ck_assert_str_eq(vmh_cloud_kind(one), "opennebula");
			vmh_cloud_close(one);
		}
	}
	unsetenv("ONE_XMLRPC");
	unsetenv("ONE_AUTH");
}
END_TEST

START_TEST(test_bad_password)
{
	struct vmh_cloud *c;
	struct vmh_error err;
	char *v = NULL;

	setenv("OS_PASSWORD", "wrong-password", 1);
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_E_AUTH);
	ck_assert_ptr_nonnull(strstr(err.text, "Keystone refused"));
	/* the password is a registered secret: never in messages */
	ck_assert_ptr_null(strstr(err.text, "wrong-password"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_application_credential)
{
	struct vmh_cloud *c;
	struct vmh_host_list hl;
	struct vmh_error err;

	clear_env();
	admin_env("x", "x");
	unsetenv("OS_USERNAME");
	unsetenv("OS_PASSWORD");
	unsetenv("OS_PROJECT_NAME");
	setenv("OS_APPLICATION_CREDENTIAL_ID", "c0ffee00c0ffee00", 1);
	setenv("OS_APPLICATION_CREDENTIAL_SECRET", "app-secret-1", 1);
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	ck_assert_uint_eq(hl.n, 3);
	vmh_host_list_free(&hl);
	vmh_cloud_close(c);

	setenv("OS_APPLICATION_CREDENTIAL_SECRET", "not-the-secret", 1);
	c = open_cloud();
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_E_AUTH);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_reauth_on_expiry)
{
	struct vmh_cloud *c;
	struct vmh_host_list hl;
	struct vmh_error err;

	ctlf("settings", "{\"token_ttl_s\": 1.5}");
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	vmh_host_list_free(&hl);
	ck_assert_uint_eq(vmh_nova_auth_count(vmh_nova_of(c)), 1);
	vmh_sleep_ms(1600);
	/* expired on our clock: renewed before the request */
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	vmh_host_list_free(&hl);
	ck_assert_uint_eq(vmh_nova_auth_count(vmh_nova_of(c)), 2);
	/* revoked behind our back: the 401 makes us authenticate again */
	ctlf("settings", "{\"token_ttl_s\": 3600}");
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	vmh_host_list_free(&hl);
	json_decref(ctl("expire-tokens", "{}"));
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	vmh_host_list_free(&hl);
	ck_assert_uint_eq(vmh_nova_auth_count(vmh_nova_of(c)), 3);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_clouds_yaml_and_secure_yaml)
{
	struct vmh_cloud *c;
	struct vmh_host_list hl;
	struct vmh_error err;
	char text[1024], *cy, *sy;

	clear_env();
	snprintf(text, sizeof(text),
		 "clouds:\n"
		 "  other:\n"
		 "    auth: {auth_url: http://127.0.0.1:1/v3}\n"
		 "  sim:\n"
		 "    auth:\n"
		 "      auth_url: %s\n"
		 "      username: admin\n"
		 "      project_name: admin\n"
		 "      user_domain_name: Default\n"
		 "      project_domain_name: Default\n"
		 "    regions: [RegionOne]\n"
		 "    interface: internal\n",
		 sim.base);
	cy = tu_write(tmpdir, "clouds.yaml", text, 0644);
	sy = tu_write(tmpdir, "secure.yaml",
		      "clouds:\n  sim:\n    auth:\n      password: "
		      "admin-pass\n",
		      0600);
	setenv("OS_CLIENT_CONFIG_FILE", cy, 1);
	setenv("OS_CLIENT_SECURE_FILE", sy, 1);
	setenv("OS_CLOUD", "sim", 1);
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	vmh_host_list_free(&hl);
	vmh_cloud_close(c);
	{
		/* the internal endpoint was used */
		json_t *led = ctl("counters", NULL);

		ck_assert_int_gt(json_integer_value(json_object_get(
				     json_object_get(led, "by_route"),
				     "compute.services.list")),
				 0);
		json_decref(led);
	}

	/* a secret in a file others can read is refused */
	ck_assert_int_eq(chmod(sy, 0644), 0);
	{
		struct vmh_cloud *bad = NULL;

		vmh_error_init(&err);
		ck_assert_int_eq(vmh_cloud_open(conf, &bad, &err),
				 VMH_E_CONFIG);
		ck_assert_ptr_nonnull(strstr(err.text, "readable by group"));
	}
	/* an unknown cloud names the ones there are */
	ck_assert_int_eq(chmod(sy, 0600), 0);
	setenv("OS_CLOUD", "nope", 1);
	{
		struct vmh_cloud *bad = NULL;

		vmh_error_init(&err);
		ck_assert_int_eq(vmh_cloud_open(conf, &bad, &err),
				 VMH_E_CONFIG);
		ck_assert_ptr_nonnull(strstr(err.text, "other, sim"));
	}
	free(cy);
	free(sy);
}
END_TEST

START_TEST(test_yaml_loader_limits)
{
	struct vmh_error err;
	json_t *doc = NULL;
	char *p;

	p = tu_write(tmpdir, "a.yaml", "a: &x [1]\nb: *x\n", 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_yaml_load(p, &doc, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "aliases"));
	free(p);
	p = tu_write(tmpdir, "b.yaml", "clouds:\n  x: [\n", 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_yaml_load(p, &doc, &err), VMH_E_CONFIG);
	ck_assert_int_gt(err.line, 0);
	free(p);
	p = tu_write(tmpdir, "c.json",
		     "{\"clouds\": {\"x\": {\"auth\": "
		     "{\"auth_url\": \"u\"}}}}",
		     0600);
	ck_assert_int_eq(vmh_yaml_load(p, &doc, &err), VMH_OK);
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(
		    json_object_get(json_object_get(doc, "clouds"), "x"),
		    "auth"),
		"auth_url")),
	    "u");
	json_decref(doc);
	free(p);
}
END_TEST

START_TEST(test_parse_time)
{
	long long t;

	ck_assert_int_eq(vmh_os_parse_time("1970-01-01T00:01:00.123456Z", &t),
			 VMH_OK);
	ck_assert_int_eq(t, 60);
	ck_assert_int_eq(vmh_os_parse_time("1970-01-01T01:00:00+01:00", &t),
			 VMH_OK);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(vmh_os_parse_time("1970-01-01T00:00:00", &t), VMH_OK);
	ck_assert_int_eq(vmh_os_parse_time("yesterday", &t), VMH_E_DATA);
	ck_assert_int_eq(vmh_os_parse_time("1970-01-01T00:00:00Zjunk", &t),
			 VMH_E_DATA);
}
END_TEST

/* ------------------------------------------------------------ hosts */

START_TEST(test_hosts)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_str_eq(h->name, "cmp1");
	ck_assert_int_eq(h->state, VMH_HOST_UP);
	ck_assert_int_eq((int)strlen(h->id), 36);
	vmh_host_free(h);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp3", &h, &err),
			 VMH_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.text, "cmp1, cmp10, cmp2"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_disable_is_one_put_and_idempotent)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_error err;
	json_t *led, *body;

	vmh_error_init(&err);
	ctlf("fail-host", "{\"host\": \"cmp1\"}");
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, "AUTO: fenced", &err),
			 VMH_OK);
	led = ctl("ledger?route=compute.services.update", NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(led, "ledger")), 1);
	body = json_object_get(
	    json_array_get(json_object_get(led, "ledger"), 0), "body");
	ck_assert(json_is_true(json_object_get(body, "forced_down")));
	ck_assert_str_eq(json_string_value(json_object_get(body, "status")),
			 "disabled");
	ck_assert_str_eq(
	    json_string_value(json_object_get(body, "disabled_reason")),
	    "vmheal AUTO: fenced");
	json_decref(led);
	vmh_host_free(h);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(h->state, VMH_HOST_OFFLINE);
	/* already done: no second PUT */
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, "again", &err),
			 VMH_OK);
	ck_assert_uint_eq(ledger_count("compute.services.update"), 1);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

/* ------------------------------------------------------------ servers */

START_TEST(test_vms_on_host_exact_and_paged)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	json_t *cnt;
	size_t i;

	ctlf("settings", "{\"max_limit\": 2}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	/* 5 admin + 1 demo on cmp1; cmp10's 2 filtered out */
	ck_assert_uint_eq(l.n, 6);
	for (i = 0; i < l.n; i++) {
		ck_assert_str_eq(l.vms[i].host_name, "cmp1");
		ck_assert_int_eq(l.vms[i].state, VMH_VM_RUNNING);
		ck_assert_int_eq(l.vms[i].raw_state, -1);
	}
	cnt = ctl("counters", NULL);
	/* 8 matches of "cmp1" by substring, 2 a page: 4 full + 1 empty */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(cnt, "by_route"),
					       "compute.servers.list")),
	    5);
	json_decref(cnt);
	vmh_vm_list_free(&l);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_non_admin_refused)
{
	struct vmh_cloud *c;
	struct vmh_host h = { 0 };
	struct vmh_vm_list l;
	struct vmh_error err;
	char name[] = "cmp1";

	admin_env("demo", "demo-pass");
	c = open_cloud();
	h.name = name;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, &h, &l, &err), VMH_E_DENIED);
	ck_assert_ptr_nonnull(strstr(err.text, "admin role"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_vms_get_uses_host_listing)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	const char *p[5];
	char ids[5][64];
	json_t *cnt;
	size_t i;

	vmh_error_init(&err);
	ck_assert_uint_eq(sim_servers("cmp1", ids, 5), 5);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	vmh_vm_list_free(&l);
	for (i = 0; i < 5; i++)
		p[i] = ids[i];
	/* one of them moves behind our back: fetched by itself */
	ctlf("server", "{\"id\": \"%s\", \"host\": \"cmp2\"}", ids[2]);
	ck_assert_int_eq(vmh_cloud_vms_get(c, p, 5, &l, &err), VMH_OK);
	for (i = 0; i < 5; i++) {
		ck_assert_str_eq(l.vms[i].id, ids[i]);
		ck_assert_str_eq(l.vms[i].host_name, i == 2 ? "cmp2" : "cmp1");
	}
	vmh_vm_list_free(&l);
	cnt = ctl("counters", NULL);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(cnt, "by_route"),
					       "compute.servers.get")),
	    1);
	json_decref(cnt);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

struct cbcount {
	int before, after;
};

static int
count_cb(struct vmh_vm_op *op, int done, void *ctx)
{
	struct cbcount *cc = ctx;

	(void)op;
	if (done)
		cc->after++;
	else
		cc->before++;
	return 0;
}

/* Poll until every id is RUNNING off `from` or FAILED; 0 when all ran. */
static int
wait_moved(struct vmh_cloud *c, char ids[][64], size_t n, const char *from,
	   struct vmh_vm_list *out)
{
	const char *p[64];
	struct vmh_error err;
	size_t i, ok;
	int round;

	for (i = 0; i < n; i++)
		p[i] = ids[i];
	for (round = 0; round < 100; round++) {
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_cloud_vms_get(c, p, n, out, &err), VMH_OK);
		for (i = ok = 0; i < n; i++) {
			struct vmh_vm *v = &out->vms[i];

			if (v->state == VMH_VM_FAILED)
				return -1;
			if (v->state == VMH_VM_RUNNING && v->host_name &&
			    strcmp(v->host_name, from) != 0)
				ok++;
		}
		if (ok == n)
			return 0;
		vmh_vm_list_free(out);
		vmh_sleep_ms(50);
	}
	return -2;
}

START_TEST(test_evacuate_flow)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_vm_op ops[5];
	struct cbcount cc = { 0, 0 };
	struct vmh_nova_evac ev;
	struct vmh_host *h = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	char ids[8][64];
	size_t n, i;

	n = sim_servers("cmp1", ids, 5);
	ck_assert_uint_eq(n, 5);
	ctlf("fail-host", "{\"host\": \"cmp1\"}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	vmh_vm_list_free(&l);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, NULL, &err), VMH_OK);
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < n; i++) {
		ops[i].vm_id = ids[i];
		ops[i].action = VMH_ACT_RECREATE;
	}
	ck_assert_int_eq(vmh_cloud_run_ops(c, ops, n, 2, count_cb, &cc, &err),
			 VMH_OK);
	ck_assert_int_eq(cc.before, 5);
	ck_assert_int_eq(cc.after, 5);
	for (i = 0; i < n; i++)
		ck_assert_msg(ops[i].rc == VMH_OK, "op %zu: %s", i,
			      ops[i].err.text);
	ck_assert_int_eq(wait_moved(c, ids, n, "cmp1", &l), 0);
	for (i = 0; i < n; i++)
		ck_assert_str_ne(l.vms[i].host_name, "cmp1");
	vmh_vm_list_free(&l);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(vmh_nova_evacuation(vmh_nova_of(c), ids[i],
						     "cmp1", &ev, &err),
				 VMH_OK);
		ck_assert_int_eq(ev.actions, 1);
		ck_assert_int_eq(ev.migrations, 1);
		ck_assert_str_eq(ev.status, "done");
		ck_assert_str_ne(ev.dest, "cmp1");
	}
	/* the evacuate bodies were {} (no onSharedStorage, no force) */
	{
		json_t *led = ctl("ledger?route=compute.server.evacuate", NULL);
		json_t *r;

		ck_assert_uint_eq(
		    json_array_size(json_object_get(led, "ledger")), 5);
		json_array_foreach(json_object_get(led, "ledger"), i, r)
		{
			json_t *b = json_object_get(json_object_get(r, "body"),
						    "evacuate");

			ck_assert_uint_eq(json_object_size(b), 0);
			ck_assert_str_eq(json_string_value(json_object_get(
					     r, "microversion")),
					 "2.73");
		}
		json_decref(led);
		led = ctl("state", NULL);
		ck_assert_uint_eq(
		    json_array_size(json_object_get(led, "safety_violations")),
		    0);
		json_decref(led);
	}
	/* bringing cmp1 back: refused while its compute is dead */
	ck_assert_int_eq(vmh_cloud_host_enable(c, h, &err), VMH_E_API);
	ck_assert_ptr_nonnull(strstr(err.text, "stays forced down"));
	ctlf("restore-host", "{\"host\": \"cmp1\"}");
	wait_idle();
	vmh_error_init(&err);
	ck_assert_msg(vmh_cloud_host_enable(c, h, &err) == VMH_OK, "%s",
		      err.text);
	vmh_host_free(h);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(h->state, VMH_HOST_UP);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_enable_refused_while_down)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_error err;

	ctlf("fail-host", "{\"host\": \"cmp2\"}");
	ctlf("age-host", "{\"host\": \"cmp2\", \"seconds\": 120}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp2", &h, &err), VMH_OK);
	ck_assert_int_eq(h->state, VMH_HOST_DOWN);
	ck_assert_int_eq(vmh_cloud_host_enable(c, h, &err), VMH_E_API);
	ck_assert_ptr_nonnull(strstr(err.text, "service is down"));
	ck_assert_uint_eq(ledger_count("compute.services.update"), 0);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_still_in_use_message)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_error err;
	char ids[1][64];

	ck_assert_uint_eq(sim_servers("cmp1", ids, 1), 1);
	ctlf("fail-host", "{\"host\": \"cmp1\"}");
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_RECREATE, NULL, &err),
	    VMH_E_API);
	ck_assert_ptr_nonnull(strstr(
	    err.text, "400 Compute service of cmp1 is still in use. (req-"));
	ck_assert_ptr_nonnull(strstr(err.text, "(evacuate)"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_no_capacity_and_claim_failure)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	const char *p[2];
	char ids[2][64];

	ck_assert_uint_eq(sim_servers("cmp1", ids, 2), 2);
	/* cmp2 full, cmp10 disabled: nowhere to go for the first; the
	 * second's claim fails on its destination */
	ctlf("servers", "{\"count\": 1, \"host\": \"cmp2\", \"vcpus\": 6}");
	ctlf("add-host", "{\"name\": \"cmp3\"}");
	ctlf("fail-action",
	     "{\"server\": \"%s\", \"action\": \"evacuate\", "
	     "\"mode\": \"novalidhost\"}",
	     ids[0]);
	ctlf("fail-action",
	     "{\"server\": \"%s\", \"action\": \"evacuate\", "
	     "\"mode\": \"claim\"}",
	     ids[1]);
	ctlf("fail-host", "{\"host\": \"cmp1\"}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	vmh_vm_list_free(&l);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, NULL, &err), VMH_OK);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_RECREATE, NULL, &err), VMH_OK);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[1], VMH_ACT_RECREATE, NULL, &err), VMH_OK);
	wait_idle();
	p[0] = ids[0];
	p[1] = ids[1];
	ck_assert_int_eq(vmh_cloud_vms_get(c, p, 2, &l, &err), VMH_OK);
	ck_assert_int_eq(l.vms[0].state, VMH_VM_FAILED);
	ck_assert_ptr_nonnull(strstr(l.vms[0].state_text, "No valid host"));
	ck_assert_int_eq(l.vms[1].state, VMH_VM_FAILED);
	ck_assert_ptr_nonnull(
	    strstr(l.vms[1].state_text, "evacuation failed (migration failed"));
	vmh_vm_list_free(&l);
	{
		struct vmh_nova_evac ev;

		ck_assert_int_eq(vmh_nova_evacuation(vmh_nova_of(c), ids[1],
						     NULL, &ev, &err),
				 VMH_OK);
		ck_assert_str_eq(ev.status, "failed");
		ck_assert_ptr_nonnull(
		    strstr(ev.message, "compute_rebuild_instance"));
	}
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_reset_state_before_evacuate)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_error err;
	struct vmh_vm_list l;
	char ids[1][64];

	ck_assert_uint_eq(sim_servers("cmp1", ids, 1), 1);
	ctlf("server", "{\"id\": \"%s\", \"vm_state\": \"paused\"}", ids[0]);
	ctlf("fail-host", "{\"host\": \"cmp1\"}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, NULL, &err), VMH_OK);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_RECREATE, NULL, &err), VMH_OK);
	ck_assert_int_eq(wait_moved(c, ids, 1, "cmp1", &l), 0);
	vmh_vm_list_free(&l);
	ck_assert_uint_eq(ledger_count("compute.server.os-resetState"), 1);
	ck_assert_uint_eq(ledger_count("compute.server.evacuate"), 2);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_other_actions)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_vm *vm = NULL;
	struct vmh_error err;
	struct vmh_vm_list l;
	const char *p[2];
	char ids[2][64];

	ck_assert_uint_eq(sim_servers("cmp1", ids, 2), 2);
	vmh_error_init(&err);
	ctlf("server", "{\"id\": \"%s\", \"vm_state\": \"error\"}", ids[0]);
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[0], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_FAILED);
	vmh_vm_free(vm);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_REBOOT_HARD, NULL, &err),
	    VMH_OK);
	wait_idle();
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[0], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_RUNNING);
	vmh_vm_free(vm);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_REBUILD, NULL, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[1], VMH_ACT_LOCK, NULL, &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[1], VMH_ACT_UPDATE,
					 "vmheal_flaps=2\nHA_Enabled=True",
					 &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[1], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->locked, 1);
	ck_assert_str_eq(vmh_attr_get(vm->attrs, "vmheal_flaps"), "2");
	ck_assert_str_eq(vmh_attr_get(vm->attrs, "ha_enabled"), "True");
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[1], VMH_ACT_UNLOCK, NULL, &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_nova_stop(vmh_nova_of(c), ids[1], &err), VMH_OK);
	wait_idle();
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[1], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_POWEROFF);
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[1], VMH_ACT_RESUME, NULL, &err),
			 VMH_OK);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[1], VMH_ACT_RESET_STATE, "error", &err),
	    VMH_OK);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[1], VMH_ACT_RESET_STATE, "bogus", &err),
	    VMH_E_USAGE);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[1], VMH_ACT_RETRY, NULL, &err),
			 VMH_E_API);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[1], VMH_ACT_DELETE, NULL, &err),
			 VMH_OK);
	{
		json_t *led = ctl("ledger?route=compute.server.lock", NULL);
		json_t *b = json_object_get(
		    json_object_get(
			json_array_get(json_object_get(led, "ledger"), 0),
			"body"),
		    "lock");

		ck_assert_str_eq(
		    json_string_value(json_object_get(b, "locked_reason")),
		    "vmheal: recovering this server");
		json_decref(led);
	}
	p[0] = ids[1];
	p[1] = ids[0];
	ck_assert_int_eq(vmh_cloud_vms_get(c, p, 2, &l, &err), VMH_OK);
	ck_assert_int_eq(l.vms[0].state, VMH_VM_DONE);
	ck_assert_str_eq(l.vms[0].id, ids[1]);
	ck_assert_str_eq(l.vms[1].id, ids[0]);
	vmh_vm_list_free(&l);
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[1], &vm, &err),
			 VMH_E_NOTFOUND);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "../etc", &vm, &err),
			 VMH_E_NOTFOUND);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_task_states)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_vm *vm = NULL;
	struct vmh_error err;
	char ids[1][64];

	ck_assert_uint_eq(sim_servers("cmp1", ids, 1), 1);
	ctlf("settings", "{\"schedule_delay_s\": 30}");
	ctlf("fail-host", "{\"host\": \"cmp1\"}");
	vmh_error_init(&err);
	/* a reboot cast to a dead compute hangs: not "in flight" */
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_REBOOT_HARD, NULL, &err),
	    VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[0], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_RUNNING);
	ck_assert_str_eq(vm->state_text, "HARD_REBOOT/reboot_started_hard");
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, NULL, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[0], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_UNKNOWN); /* its host is down */
	vmh_vm_free(vm);
	/* Zed evacuates whatever the task; then it is in flight */
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, ids[0], VMH_ACT_RECREATE, NULL, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_get(c, ids[0], &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_TRANSIENT);
	ck_assert_str_eq(vm->state_text, "REBUILD/rebuilding");
	vmh_vm_free(vm);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

/* ------------------------------------------------------------ faults */

START_TEST(test_transient_faults_are_retried)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	const char *p[5];
	char ids[5][64];
	size_t i;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ctlf("faults", "{\"fail_next\": [{\"route\": \"compute.servers.list\", "
		       "\"kind\": \"http\", \"status\": 503, \"count\": 2},"
		       "{\"route\": \"compute.servers.get\", \"kind\": "
		       "\"drop\", \"count\": 2}]}");
	ck_assert_msg(vmh_cloud_vms_on_host(c, h, &l, &err) == VMH_OK, "%s",
		      err.text);
	ck_assert_uint_eq(l.n, 6);
	vmh_vm_list_free(&l);
	ck_assert_uint_eq(sim_servers("cmp1", ids, 5), 5);
	for (i = 0; i < 5; i++)
		p[i] = ids[i];
	ck_assert_msg(vmh_cloud_vms_get(c, p, 5, &l, &err) == VMH_OK, "%s",
		      err.text);
	vmh_vm_list_free(&l);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_malformed_and_stalled_answers)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_host_list hl;
	struct vmh_error err;
	long long t0;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	vmh_host_list_free(&hl);
	ctlf("faults",
	     "{\"fail_next\": [{\"route\": \"compute.services.list\", "
	     "\"kind\": \"malformed\"}]}");
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "not JSON"));
	/* stalled: a transient error within the configured 5 s timeout */
	ctlf("faults", "{\"stall_s\": 30, \"routes\": "
		       "{\"compute.services.list\": {\"stall_rate\": 1}}}");
	t0 = vmh_now_ms();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_E_TIMEOUT);
	ck_assert_int_lt(vmh_now_ms() - t0, 8000);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_drop_after_on_action_is_unknown)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_error err;
	char ids[1][64];

	ck_assert_uint_eq(sim_servers("cmp1", ids, 1), 1);
	ctlf("faults", "{\"fail_next\": [{\"route\": \"compute.server.lock\", "
		       "\"kind\": \"drop_after\"}]}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, ids[0], VMH_ACT_LOCK, NULL, &err),
			 VMH_E_UNAVAILABLE);
	/* sent once, never again: the caller re-reads */
	ck_assert_uint_eq(ledger_count("compute.server.lock"), 1);
	vmh_cloud_close(c);
}
END_TEST

/* ---------------------------------------------------------- addresses */

#define SRV_A "aaaaaaaa-0000-4000-8000-000000000001"
#define SRV_B "aaaaaaaa-0000-4000-8000-000000000002"

static void
assert_ips(const struct vmh_vm *vm, const char *const *want)
{
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		ck_assert_msg(vm->ips != NULL && vm->ips[i] != NULL,
			      "%s: address %zu missing (want %s)", vm->id, i,
			      want[i]);
		ck_assert_str_eq(vm->ips[i], want[i]);
	}
	ck_assert_msg(i == 0 ? vm->ips == NULL || vm->ips[0] == NULL
			     : vm->ips[i] == NULL,
		      "%s: more addresses than %zu", vm->id, i);
}

static const struct vmh_vm *
find_vm(const struct vmh_vm_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->vms[i].id, id) == 0)
			return &l->vms[i];
	ck_abort_msg("server %s not listed", id);
	return NULL;
}

START_TEST(test_addresses_filled_and_ordered)
{
	static const char *const want_a[] = {
		"10.0.0.5",    "192.168.1.9",  "2001:db8::5",
		"203.0.113.7", "2001:db8::ff", NULL,
	};
	static const char *const want_b[] = { "10.1.0.9", "fd00::9",
					      "198.51.100.9", NULL };
	struct vmh_cloud *c = open_cloud();
	struct vmh_host *h = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	struct vmh_vm *vm = NULL;
	char body[4096];
	size_t i, n;

	/* Nova's shape: floating and IPv6 first in the answer, a duplicate,
	 * an entry without a type (fixed), upper-case IPv6 */
	json_decref(ctl(
	    "servers",
	    "{\"id\": \"" SRV_A "\", \"host\": \"cmp2\", \"name\": \"addr\","
	    " \"addresses\": {"
	    "  \"net-b\": ["
	    "   {\"addr\": \"2001:DB8:0::5\", \"version\": 6,"
	    "    \"OS-EXT-IPS:type\": \"fixed\","
	    "    \"OS-EXT-IPS-MAC:mac_addr\": \"fa:16:3e:00:00:01\"},"
	    "   {\"addr\": \"203.0.113.7\", \"version\": 4,"
	    "    \"OS-EXT-IPS:type\": \"floating\"},"
	    "   {\"addr\": \"10.0.0.5\", \"version\": 4,"
	    "    \"OS-EXT-IPS:type\": \"fixed\"}],"
	    "  \"net-a\": ["
	    "   {\"addr\": \"2001:db8::ff\", \"version\": 6,"
	    "    \"OS-EXT-IPS:type\": \"floating\"},"
	    "   {\"addr\": \"10.0.0.5\", \"version\": 4,"
	    "    \"OS-EXT-IPS:type\": \"fixed\"},"
	    "   {\"addr\": \"192.168.1.9\", \"version\": 4}]}}"));
	/* novasim's shorthand */
	json_decref(ctl("servers", "{\"id\": \"" SRV_B "\", \"host\": \"cmp2\","
				   " \"ips\": [\"floating:198.51.100.9\","
				   " \"fd00::9\", \"10.1.0.9\"]}"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, SRV_A, &vm, &err), VMH_OK);
	assert_ips(vm, want_a);
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_cloud_vm_get(c, SRV_B, &vm, &err), VMH_OK);
	assert_ips(vm, want_b);
	vmh_vm_free(vm);
	/* the same from a host listing */
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp2", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	assert_ips(find_vm(&l, SRV_A), want_a);
	assert_ips(find_vm(&l, SRV_B), want_b);
	vmh_vm_list_free(&l);
	vmh_host_free(h);

	/* bounded: 40 addresses, the first 32 kept */
	n = (size_t)snprintf(body, sizeof(body),
			     "{\"id\": \"" SRV_A "\", \"ips\": [");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "%s\"10.2.0.%zu\"", i ? ", " : "", i + 1);
	snprintf(body + n, sizeof(body) - n, "]}");
	json_decref(ctl("server", body));
	ck_assert_int_eq(vmh_cloud_vm_get(c, SRV_A, &vm, &err), VMH_OK);
	for (i = 0; vm->ips != NULL && vm->ips[i] != NULL; i++) {
		snprintf(body, sizeof(body), "10.2.0.%zu", i + 1);
		ck_assert_str_eq(vm->ips[i], body);
	}
	ck_assert_uint_eq(i, 32);
	vmh_vm_free(vm);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_addresses_none)
{
	struct vmh_cloud *c = open_cloud();
	struct vmh_vm_list l;
	struct vmh_host *h = NULL;
	struct vmh_error err;
	size_t i;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "cmp1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	ck_assert_uint_gt(l.n, 0);
	for (i = 0; i < l.n; i++)
		ck_assert(l.vms[i].ips == NULL || l.vms[i].ips[0] == NULL);
	vmh_vm_list_free(&l);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(test_addresses_malformed_skipped)
{
	static const char *const none[] = { NULL };
	static const char *const one[] = { "10.9.9.9", "fd00::1", NULL };
	static const char *const bad[] = {
		"\"not an object\"",
		"[{\"addr\": \"10.0.0.1\"}]",
		"{\"net\": \"not a list\"}",
		"{\"net\": [1, \"10.0.0.2\", null, {\"addr\": 5},"
		" {\"addr\": \"999.1.1.1\"}, {\"addr\": \"10.0.0.300\"},"
		" {\"addr\": \"not-an-ip\"}, {\"addr\": \" 10.0.0.3\"},"
		" {\"addr\": \"10.0.0.4/24\"}, {\"addr\": \"\"},"
		" {\"addr\": \"fe80::1%eth0\"}, {\"version\": 4},"
		" {\"addr\": [\"10.0.0.5\"]}]}",
		"{\"a\": [{\"addr\": \"10.0.0.9x\"}],"
		" \"b\": [{\"addr\": \"10.9.9.9\", \"version\": 6,"
		" \"OS-EXT-IPS:type\": 7}, {\"addr\": \"fd00::1\","
		" \"version\": \"four\"}]}",
		NULL,
	};
	struct vmh_cloud *c = open_cloud();
	struct vmh_vm *vm = NULL;
	struct vmh_vm_list l;
	struct vmh_error err;
	const char *ids[1] = { SRV_A };
	char body[1024];
	size_t i;

	json_decref(ctl("servers", "{\"id\": \"" SRV_A "\", \"host\": "
				   "\"cmp2\"}"));
	vmh_error_init(&err);
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(body, sizeof(body),
			 "{\"id\": \"" SRV_A "\", \"addresses\": %s}", bad[i]);
		json_decref(ctl("server", body));
		ck_assert_msg(vmh_cloud_vm_get(c, SRV_A, &vm, &err) == VMH_OK,
			      "%s: %s", bad[i], err.text);
		/* the last one: what is usable survives, whatever "version"
		 * and the type say (a type that is not "floating": fixed) */
		assert_ips(vm, bad[i + 1] == NULL ? one : none);
		vmh_vm_free(vm);
		vm = NULL;
		ck_assert_int_eq(vmh_cloud_vms_get(c, ids, 1, &l, &err),
				 VMH_OK);
		ck_assert_uint_eq(l.n, 1);
		assert_ips(&l.vms[0], bad[i + 1] == NULL ? one : none);
		vmh_vm_list_free(&l);
	}
	vmh_cloud_close(c);
}
END_TEST

/* ----------------------------------------------------------------- TLS */

/* A vmheal.conf with extra keys in the openstack section. */
static void
load_conf_os(const char *os_keys)
{
	load_conf_with(NULL, os_keys);
}

/* vmh_cloud_open() must fail with VMH_E_CONFIG, the message naming
 * `setting` and the error's source the file. */
static void
open_refused(const char *setting, const char *file, const char *why)
{
	struct vmh_cloud *c = NULL;
	struct vmh_error err;
	char text[1024];

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_open(conf, &c, &err), VMH_E_CONFIG);
	ck_assert_ptr_null(c);
	vmh_error_format(&err, text, sizeof(text));
	ck_assert_msg(strstr(text, setting) != NULL &&
			  strstr(text, file) != NULL && strstr(text, why),
		      "want %s, %s and \"%s\" in: %s", setting, file, why,
		      text);
}

START_TEST(test_tls_client_files_checked)
{
	struct vmh_cloud *c;
	char *cert, *key, *cy, text[1024];

	cert = tu_write(tmpdir, "cli.pem", "not read at open time\n", 0644);
	key = tu_write(tmpdir, "cli.key", "not read at open time\n", 0600);
	/* missing certificate */
	setenv("OS_CERT", "/nonexistent/cli.pem", 1);
	setenv("OS_KEY", key, 1);
	open_refused("OS_CERT", "/nonexistent/cli.pem", "unreadable");
	/* a key others can read */
	setenv("OS_CERT", cert, 1);
	ck_assert_int_eq(chmod(key, 0640), 0);
	open_refused("OS_KEY", key, "readable by group or others");
	ck_assert_int_eq(chmod(key, 0604), 0);
	open_refused("OS_KEY", key, "readable by group or others");
	/* missing key */
	setenv("OS_KEY", "/nonexistent/cli.key", 1);
	open_refused("OS_KEY", "/nonexistent/cli.key", "unreadable");
	/* a key without a certificate */
	ck_assert_int_eq(chmod(key, 0600), 0);
	unsetenv("OS_CERT");
	setenv("OS_KEY", key, 1);
	open_refused("OS_KEY", key, "without a client certificate");
	/* fine: no network traffic at open time */
	setenv("OS_CERT", cert, 1);
	c = open_cloud();
	vmh_cloud_close(c);
	/* a certificate file without a key file holds the key: private */
	unsetenv("OS_KEY");
	open_refused("OS_CERT", cert, "readable by group or others");
	ck_assert_int_eq(chmod(cert, 0600), 0);
	c = open_cloud();
	vmh_cloud_close(c);
	ck_assert_int_eq(chmod(cert, 0644), 0);
	unsetenv("OS_CERT");

	/* clouds.yaml cert / key */
	clear_env();
	snprintf(text, sizeof(text),
		 "clouds:\n"
		 "  sim:\n"
		 "    auth:\n"
		 "      auth_url: %s/v3\n"
		 "      username: admin\n"
		 "      project_name: admin\n"
		 "    cert: %s\n"
		 "    key: %s\n",
		 sim.base, cert, key);
	cy = tu_write(tmpdir, "clouds.yaml", text, 0644);
	setenv("OS_CLIENT_CONFIG_FILE", cy, 1);
	setenv("OS_CLOUD", "sim", 1);
	setenv("OS_PASSWORD", "admin-pass", 1);
	c = open_cloud();
	vmh_cloud_close(c);
	ck_assert_int_eq(chmod(key, 0644), 0);
	open_refused("clouds.yaml key", key, "readable by group or others");
	ck_assert_int_eq(chmod(key, 0600), 0);

	/* the openstack section of vmheal.conf wins over both */
	snprintf(text, sizeof(text), "cert = \"%s\"; key = \"%s/none.key\";",
		 cert, tmpdir);
	load_conf_os(text);
	open_refused("openstack.key", "none.key", "unreadable");
	snprintf(text, sizeof(text), "cert = \"%s\"; key = \"%s\";", cert, key);
	load_conf_os(text);
	c = open_cloud();
	vmh_cloud_close(c);
	free(cert);
	free(key);
	free(cy);
}
END_TEST

/* novasim over HTTPS, asking clients for a certificate from ca.pem. */
static void
start_tls_sim(const char *dir)
{
	char script[512], scen[512], cert[512], key[512], ca[512];
	const char *argv[] = { script,
			       "serve",
			       "--scenario",
			       scen,
			       "--port",
			       "0",
			       "--state-dir",
			       "@DIR@",
			       "--exit-with-parent",
			       "--tls-cert",
			       cert,
			       "--tls-key",
			       key,
			       "--tls-client-ca",
			       ca,
			       NULL };
	char *sc;

	ts_stop(&sim);
	snprintf(script, sizeof(script), "%s/tests/sim/novasim", ts_srcdir());
	sc = tu_write(tmpdir, "scenario.json", default_scenario, 0600);
	snprintf(scen, sizeof(scen), "%s", sc);
	free(sc);
	snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	ck_assert_int_eq(ts_start(&sim, argv, "port"), 0);
	snprintf(sim.base, sizeof(sim.base), "https://127.0.0.1:%d", sim.port);
}

START_TEST(test_tls_client_certificate)
{
	struct vmh_cloud *c;
	struct vmh_host_list hl;
	struct vmh_error err;
	char path[512], *v = NULL;

	if (!tu_make_certs(tmpdir)) {
		printf("SKIP: test_tls_client_certificate: no openssl\n");
		return;
	}
	start_tls_sim(tmpdir);
	admin_env("admin", "admin-pass");
	snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	setenv("OS_CACERT", path, 1);
	snprintf(path, sizeof(path), "%s/cli.pem", tmpdir);
	setenv("OS_CERT", path, 1);
	snprintf(path, sizeof(path), "%s/cli.key", tmpdir);
	setenv("OS_KEY", path, 1);

	/* Keystone and Nova both over the client certificate */
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_msg(vmh_cloud_version(c, &v, &err) == VMH_OK, "%s", err.text);
	ck_assert_str_eq(v, "2.93");
	free(v);
	v = NULL;
	ck_assert_int_eq(vmh_cloud_host_list(c, &hl, &err), VMH_OK);
	ck_assert_uint_eq(hl.n, 3);
	vmh_host_list_free(&hl);
	vmh_cloud_close(c);

	/* without it: refused at once, a configuration error */
	unsetenv("OS_CERT");
	unsetenv("OS_KEY");
	c = open_cloud();
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_E_CONFIG);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(err.text, "TLS") != NULL &&
			  strstr(err.text, "client certificate") != NULL,
		      "%s", err.text);
	vmh_cloud_close(c);

	/* with one the server's CA did not sign: refused too */
	snprintf(path, sizeof(path), "%s/rogue.pem", tmpdir);
	setenv("OS_CERT", path, 1);
	snprintf(path, sizeof(path), "%s/rogue.key", tmpdir);
	setenv("OS_KEY", path, 1);
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "TLS"));
	vmh_cloud_close(c);

	/* a key that does not belong to the certificate */
	snprintf(path, sizeof(path), "%s/cli.pem", tmpdir);
	setenv("OS_CERT", path, 1);
	c = open_cloud();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_E_CONFIG);
	ck_assert_msg(strstr(err.text, "client certificate and its key") !=
			  NULL,
		      "%s", err.text);
	vmh_cloud_close(c);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cloud_nova");
	TCase *t = tcase_create("novasim");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_version_and_microversion);
	tcase_add_test(t, test_microversion_fallback_and_refusal);
	tcase_add_test(t, test_cloud_chosen_by_environment);
	tcase_add_test(t, test_bad_password);
	tcase_add_test(t, test_application_credential);
	tcase_add_test(t, test_reauth_on_expiry);
	tcase_add_test(t, test_clouds_yaml_and_secure_yaml);
	tcase_add_test(t, test_yaml_loader_limits);
	tcase_add_test(t, test_parse_time);
	tcase_add_test(t, test_hosts);
	tcase_add_test(t, test_disable_is_one_put_and_idempotent);
	tcase_add_test(t, test_vms_on_host_exact_and_paged);
	tcase_add_test(t, test_non_admin_refused);
	tcase_add_test(t, test_vms_get_uses_host_listing);
	tcase_add_test(t, test_evacuate_flow);
	tcase_add_test(t, test_enable_refused_while_down);
	tcase_add_test(t, test_still_in_use_message);
	tcase_add_test(t, test_no_capacity_and_claim_failure);
	tcase_add_test(t, test_reset_state_before_evacuate);
	tcase_add_test(t, test_other_actions);
	tcase_add_test(t, test_task_states);
	tcase_add_test(t, test_transient_faults_are_retried);
	tcase_add_test(t, test_malformed_and_stalled_answers);
	tcase_add_test(t, test_drop_after_on_action_is_unknown);
	tcase_add_test(t, test_addresses_filled_and_ordered);
	tcase_add_test(t, test_addresses_none);
	tcase_add_test(t, test_addresses_malformed_skipped);
	tcase_add_test(t, test_tls_client_files_checked);
	tcase_add_test(t, test_tls_client_certificate);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	ts_require_python("check_cloud_nova");
	vmh_log_init("check_cloud_nova", VMH_LOG_TO_STDERR, 0);
	return tu_run(suite());
}
