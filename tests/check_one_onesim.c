/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenNebula driver against onesim (tests/sim/onesim), started here on
 * a free port and stopped in teardown: every call of the driver, oned
 * versions 4.4 / 5.12 / 6.10 / 7.4, every fault onesim can inject (each a
 * clear error within the configured timeout), the no-re-send rule for
 * mutating calls, OpenNebula's TLS variables (ONE_CERT_DIR,
 * ONE_DISABLE_SSL_VERIFY) against onesim over HTTPS, and the recovery
 * benchmark (1,000 recover calls with 20 ms latency per call, then
 * verification).
 */
#include "config.h"

#include <jansson.h>

#include "cloud.h"
#include "cloud_one.h"
#include "http.h"
#include "log.h"
#include "str.h"
#include "testutil.h"
#include "http/testserver.h"

static struct ts_server sim; /* the tcase's onesim */

/* ---- onesim */

static void
sim_start(struct ts_server *s, const char *scenario)
{
	char onesim[512];
	const char *argv[] = { onesim,        "serve",  "--scenario",
			       scenario,      "--port", "0",
			       "--state-dir", "@DIR@",  NULL };

	snprintf(onesim, sizeof(onesim), "%s/tests/sim/onesim", ts_srcdir());
	if (ts_start(s, argv, "port") != 0) {
		ts_stop(s);
		ck_abort_msg("cannot start onesim with %s", scenario);
	}
}

static char *
data_path(const char *name)
{
	char *p;

	ck_assert(asprintf(&p, "%s/tests/data/one/%s", ts_srcdir(), name) > 0);
	return p;
}

/* A control API call; the JSON answer (caller frees). */
static json_t *
ctl(struct ts_server *s, const char *method, const char *path, const char *body)
{
	static const char *const hdrs[] = { "Content-Type: application/json",
					    NULL };
	struct vmh_http_opts o = { .timeout_ms = 30000,
				   .connect_timeout_ms = 2000,
				   .max_response = 1 << 24,
				   .max_concurrency = 2 };
	struct vmh_http_request r = { .method = method,
				      .headers = hdrs,
				      .body = body,
				      .body_len = body ? strlen(body) : 0,
				      .idempotent = 1 };
	struct vmh_http_response resp;
	struct vmh_http *h;
	struct vmh_error err;
	json_error_t jerr;
	json_t *j;
	char *u;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_new(&o, &h, &err), VMH_OK);
	ck_assert(asprintf(&u, "%s/control/%s", s->base, path) > 0);
	r.url = u;
	vmh_http_response_init(&resp, 1 << 24);
	ck_assert_msg(vmh_http_perform(h, &r, &resp, &err) == VMH_OK, "%s",
		      err.text);
	ck_assert_msg(resp.status == 200, "%s %s: %ld %s", method, path,
		      resp.status, vmh_buf_str(&resp.body));
	j = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
	ck_assert_msg(j != NULL, "bad JSON from onesim: %s", jerr.text);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
	free(u);
	return j;
}

static void
ctl_do(struct ts_server *s, const char *path, const char *body)
{
	json_decref(ctl(s, "POST", path, body));
}

static void
faults(struct ts_server *s, const char *json)
{
	ctl_do(s, "faults", json);
}

/* Ledger records of method since seq 0. */
static size_t
ledger_count(struct ts_server *s, const char *method, int only_executed)
{
	char path[128];
	json_t *l, *rec;
	size_t i, n = 0;

	snprintf(path, sizeof(path), "ledger?method=%s", method);
	l = ctl(s, "GET", path, NULL);
	json_array_foreach(l, i, rec)
	{
		if (!only_executed ||
		    json_is_true(json_object_get(rec, "executed")))
			n++;
	}
	json_decref(l);
	return n;
}

/*
 * The count once it reaches want (or after 3 s): onesim appends a record
 * after the answer went out, so it may trail the client by a moment.
 */
static size_t
ledger_wait(struct ts_server *s, const char *method, size_t want)
{
	long long t0 = vmh_now_ms();
	size_t n;

	while ((n = ledger_count(s, method, 1)) < want &&
	       vmh_now_ms() - t0 < 3000)
		vmh_sleep_ms(20);
	return n;
}

/* The driver on s, with the per-call timeout given. */
static struct vmh_cloud *
cloud_open(struct ts_server *s, int timeout_s)
{
	char *text, *path, *dir = tu_mkdtemp();
	struct vmh_conf *conf;
	struct vmh_cloud *c;
	struct vmh_error err;

	unsetenv("ONE_XMLRPC");
	unsetenv("ONE_AUTH");
	ck_assert(asprintf(&text,
			   "cloud = \"opennebula\";\n"
			   "state_dir = \"%s\";\n"
			   "opennebula = { endpoint = \"%s/RPC2\"; "
			   "auth_file = \"%s/one_auth\"; timeout = %d; "
			   "connect_timeout = 1; };\n",
			   dir, s->base, s->dir, timeout_s) > 0);
	path = tu_write(dir, "vmheal.conf", text, 0600);
	vmh_error_init(&err);
	ck_assert_msg(vmh_conf_load(path, &conf, &err) == VMH_OK, "%s",
		      err.text);
	ck_assert_msg(vmh_cloud_open(conf, &c, &err) == VMH_OK, "%s", err.text);
	vmh_conf_free(conf);
	free(text);
	free(path);
	tu_rmdir(dir);
	return c;
}

/* Wait (onesim side) until the VMs match; body as for wait-vms. */
static void
wait_vms(struct ts_server *s, const char *body)
{
	json_t *j = ctl(s, "POST", "wait-vms", body);

	ck_assert_msg(json_is_true(json_object_get(j, "ok")),
		      "wait-vms %s timed out", body);
	json_decref(j);
}

static void
no_duplicates(struct ts_server *s)
{
	json_t *j = ctl(s, "GET", "safety", NULL);

	ck_assert_uint_eq(json_array_size(json_object_get(j, "duplicates")), 0);
	json_decref(j);
}

static void
calls_setup(void)
{
	char *scenario = data_path("onesim-driver.json");

	sim_start(&sim, scenario);
	free(scenario);
}

static void
calls_teardown(void)
{
	ts_stop(&sim);
}

/* ---- Every call */

START_TEST(version_and_interval)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_error err;
	char *v;
	int s;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_OK);
	ck_assert_str_eq(v, "6.10.5");
	free(v);
	/* 6.10 keeps the interval in monitord.conf: the default. */
	ck_assert_int_eq(vmh_cloud_monitoring_interval(c, &s, &err), VMH_OK);
	ck_assert_int_eq(s, 60);
	ck_assert_uint_eq(vmh_cloud_calls(c), 2);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(hosts)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_host_list l;
	struct vmh_host *h;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_list(c, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 3);
	vmh_host_list_free(&l);
	ck_assert_int_eq(vmh_cloud_host_get(c, "host2", &h, &err), VMH_OK);
	ck_assert_str_eq(h->id, "1");
	ck_assert_int_eq(h->state, VMH_HOST_UP);
	ck_assert_str_eq(vmh_attr_get(h->attrs, "FENCE_IP"), "192.0.2.12");
	ck_assert_int_eq(h->max_cpu, 800);
	ck_assert_int_eq(strncmp(h->document, "<HOST><ID>1</ID>", 16), 0);
	vmh_host_free(h);
	ck_assert_int_eq(vmh_cloud_host_get(c, "0", &h, &err), VMH_OK);
	ck_assert_str_eq(h->name, "host1");
	ck_assert_str_eq(h->vm_ids[0], "0");
	vmh_host_free(h);
	ck_assert_int_eq(vmh_cloud_host_get(c, "nosuch", &h, &err),
			 VMH_E_NOTFOUND);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "77", &h, &err), VMH_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.text, "Error getting host [77]"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(vms)
{
	static const char *const ids[] = { "8", "999", "0" };
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_vm_list l;
	struct vmh_host *h;
	struct vmh_error err;
	struct vmh_vm *vm;
	size_t i;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "host1", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 6);
	for (i = 0; i < 6; i++) {
		char want[8];

		snprintf(want, sizeof(want), "%zu", i);
		ck_assert_str_eq(l.vms[i].id, want);
		ck_assert_str_eq(l.vms[i].host_name, "host1");
		ck_assert_int_eq(l.vms[i].state, VMH_VM_RUNNING);
		if (i < 4) /* whole bodies: USER_TEMPLATE is complete */
			ck_assert_str_eq(vmh_attr_get(l.vms[i].attrs, "HA"),
					 "yes");
	}
	ck_assert_int_eq(l.vms[4].locked, 3);
	ck_assert_int_eq(l.vms[5].ds_id, 100);
	vmh_vm_list_free(&l);
	vmh_host_free(h);

	ck_assert_int_eq(vmh_cloud_vm_get(c, "6", &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_FAILED);
	ck_assert_str_eq(vm->state_text, "ACTIVE/BOOT_FAILURE");
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "999", &vm, &err), VMH_E_NOTFOUND);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vms_get(c, ids, 3, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.vms[0].state, VMH_VM_RUNNING);
	ck_assert_str_eq(l.vms[0].host_name, "host2");
	ck_assert_int_eq(l.vms[1].state, VMH_VM_DONE);
	ck_assert_str_eq(l.vms[2].name, "web-0");
	ck_assert_str_eq(vmh_attr_get(l.vms[2].attrs, "HA_PRIORITY"), "10");
	vmh_vm_list_free(&l);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(datastores)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_error err;
	int shared;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_datastore_shared(c, 0, &shared, &err),
			 VMH_OK);
	ck_assert_int_eq(shared, 1);
	ck_assert_int_eq(vmh_cloud_datastore_shared(c, 100, &shared, &err),
			 VMH_OK);
	ck_assert_int_eq(shared, 0);
	ck_assert_int_eq(vmh_cloud_datastore_shared(c, 55, &shared, &err),
			 VMH_E_NOTFOUND);
	ck_assert_uint_eq(vmh_cloud_calls(c), 2); /* cached, refreshed once */
	vmh_cloud_close(c);
}
END_TEST

START_TEST(lock_update_unlock)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_error err;
	struct vmh_vm *vm;
	json_t *l, *rec;

	vmh_error_init(&err);
	/* ADMIN level: blocks recover and resched, not update. */
	ck_assert_int_eq(vmh_cloud_vm_op(c, "8", VMH_ACT_LOCK, "3", &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "8", &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->locked, 3);
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "8", VMH_ACT_UPDATE,
					 "HA_NOTE=a & <b>\nha_last=42\n", &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "8", VMH_ACT_UNLOCK, NULL, &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "8", &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->locked, 0);
	ck_assert_str_eq(vmh_attr_get(vm->attrs, "HA_NOTE"), "a & <b>");
	ck_assert_str_eq(vmh_attr_get(vm->attrs, "HA_LAST"), "42");
	vmh_vm_free(vm);
	/* Merged (type 1), not replaced. */
	ck_assert_uint_eq(ledger_wait(&sim, "one.vm.update", 1), 1);
	l = ctl(&sim, "GET", "ledger?method=one.vm.update", NULL);
	ck_assert_uint_eq(json_array_size(l), 1);
	rec = json_object_get(json_array_get(l, 0), "params");
	ck_assert_int_eq(json_integer_value(json_array_get(rec, 0)), 8);
	ck_assert_int_eq(json_integer_value(json_array_get(rec, 2)), 1);
	json_decref(l);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(locked_vm_is_refused)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "4", VMH_ACT_RECREATE, NULL, &err),
			 VMH_E_DENIED);
	ck_assert_str_eq(err.source, "one.vm.recover");
	ck_assert_ptr_nonnull(strstr(err.text, "locked"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "4", VMH_ACT_RESCHED, NULL, &err),
			 VMH_E_DENIED);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(actions)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "6", VMH_ACT_RETRY, NULL, &err),
			 VMH_OK);
	wait_vms(&sim, "{\"ids\": [6], \"lcm\": \"RUNNING\", \"timeout\": 5}");
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, "7", VMH_ACT_REBOOT_HARD, NULL, &err),
	    VMH_E_API);
	ck_assert_ptr_nonnull(strstr(err.text, "POWEROFF"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "7", VMH_ACT_RESUME, NULL, &err),
			 VMH_OK);
	wait_vms(&sim, "{\"ids\": [7], \"lcm\": \"RUNNING\", \"timeout\": 5}");
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, "7", VMH_ACT_REBOOT_HARD, NULL, &err), VMH_OK);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, "7", VMH_ACT_RESET_STATE, NULL, &err),
	    VMH_E_API);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "7", VMH_ACT_LOCK, "9", &err),
			 VMH_E_USAGE);
	vmh_cloud_close(c);
}
END_TEST

/* The OpenNebula-only calls, and a pool read in small pages. */
START_TEST(one_specific_calls)
{
	struct vmh_vm_list l;
	struct vmh_conf *conf;
	struct vmh_one *one;
	struct vmh_error err;
	struct vmh_vm *vm;
	char *path, *text, *dir = tu_mkdtemp();
	json_t *all;
	size_t i;

	ck_assert(asprintf(&text,
			   "opennebula = { endpoint = \"%s/RPC2\"; "
			   "auth_file = \"%s/one_auth\"; timeout = 5; };\n",
			   sim.base, sim.dir) > 0);
	path = tu_write(dir, "vmheal.conf", text, 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_conf_load(path, &conf, &err), VMH_OK);
	ck_assert_int_eq(vmh_one_open(conf, &one, &err), VMH_OK);

	ck_assert_int_eq(vmh_one_vm_migrate(one, 1, 2, 0, 0, -1, &err), VMH_OK);
	wait_vms(&sim, "{\"ids\": [1], \"lcm\": \"RUNNING\", \"host\": "
		       "\"host3\", \"timeout\": 5}");
	ck_assert_int_eq(vmh_one_vm_deploy(one, 9, 2, 0, -1, &err), VMH_OK);
	wait_vms(&sim, "{\"ids\": [9], \"lcm\": \"RUNNING\", \"host\": "
		       "\"host3\", \"timeout\": 5}");
	ck_assert_int_eq(vmh_one_vm_recover(one, 2, 5, &err), VMH_OK);
	ck_assert_int_eq(vmh_one_vm_info(one, 2, &vm, &err), VMH_OK);
	ck_assert_int_eq(vm->state, VMH_VM_DONE);
	vmh_vm_free(vm);
	ck_assert_int_eq(vmh_one_vm_recover(one, 3, 9, &err), VMH_E_USAGE);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_vm_action(one, "bogus", 3, &err), VMH_E_API);
	ck_assert_ptr_nonnull(strstr(err.text, "not supported"));
	ck_assert_int_eq(vmh_one_host_status(one, 1, 7, &err), VMH_E_USAGE);
	vmh_one_close(one);
	{
		struct vmh_cloud *c = cloud_open(&sim, 5);

		ck_assert_ptr_nonnull(one = vmh_one_from_cloud(c));
		ck_assert_int_eq(vmh_one_vm_info(one, 1, &vm, &err), VMH_OK);
		ck_assert_str_eq(vm->host_name, "host3");
		vmh_vm_free(vm);
		ck_assert_ptr_null(vmh_one_from_cloud(NULL));
		vmh_cloud_close(c);
	}

	/* Pages of 3 with a small overlap: every VM once, by ID. */
	setenv("ONE_POOL_PAGE_SIZE", "3", 1);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_open(conf, &one, &err), VMH_OK);
	ck_assert_int_eq(vmh_one_vmpool(one, 1, -2, &l, &err), VMH_OK);
	all = ctl(&sim, "GET", "vms", NULL);
	ck_assert_uint_eq(l.n, json_array_size(all));
	for (i = 0; i < l.n; i++) {
		long long id;

		ck_assert_int_eq(
		    vmh_strtonum(l.vms[i].id, 0, 1000, &id, "id", NULL),
		    VMH_OK);
		ck_assert_int_eq(id, (long long)i);
	}
	ck_assert_uint_ge(vmh_one_calls(one), 4);
	json_decref(all);
	vmh_vm_list_free(&l);
	vmh_one_close(one);
	unsetenv("ONE_POOL_PAGE_SIZE");
	vmh_conf_free(conf);
	free(path);
	free(text);
	tu_rmdir(dir);
}
END_TEST

START_TEST(host_disable_enable)
{
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_error err;
	struct vmh_host *h, *h2;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "host3", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 0, "test", &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_get(c, "2", &h2, &err), VMH_OK);
	ck_assert_int_eq(h2->state, VMH_HOST_DISABLED);
	vmh_host_free(h2);
	ck_assert_int_eq(vmh_cloud_host_enable(c, h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_get(c, "2", &h2, &err), VMH_OK);
	ck_assert_int_eq(h2->state, VMH_HOST_UP);
	vmh_host_free(h2);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, NULL, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_host_get(c, "2", &h2, &err), VMH_OK);
	ck_assert_int_eq(h2->state, VMH_HOST_OFFLINE);
	vmh_host_free(h2);
	ck_assert_int_eq(vmh_cloud_host_enable(c, h, &err), VMH_OK);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

struct cb_log {
	int before[64], after[64];
};

static int
count_cb(struct vmh_vm_op *op, int done, void *ctx)
{
	struct cb_log *l = ctx;
	size_t i = (size_t)(uintptr_t)op->user;

	if (done)
		l->after[i]++;
	else
		l->before[i]++;
	return 0;
}

/* A failed, fenced host: its VMs are recreated elsewhere, none twice. */
START_TEST(recover_from_failed_host)
{
	struct vmh_vm_op ops[3] = {
		{ .vm_id = "0", .action = VMH_ACT_RECREATE, .user = (void *)0 },
		{ .vm_id = "3", .action = VMH_ACT_RECREATE, .user = (void *)1 },
		{ .vm_id = "5", .action = VMH_ACT_DELETE, .user = (void *)2 },
	};
	struct vmh_cloud *c = cloud_open(&sim, 5);
	struct vmh_vm_list l;
	struct vmh_host *h;
	struct vmh_error err;
	struct cb_log log;
	size_t i, before = ledger_count(&sim, "one.vm.recover", 1);

	ctl_do(&sim, "fail-host", "{\"host\": \"host1\"}");
	ctl_do(&sim, "fence-host", "{\"host\": \"host1\"}");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "host1", &h, &err), VMH_OK);
	ck_assert_int_eq(h->state, VMH_HOST_DOWN);
	ck_assert_ptr_nonnull(vmh_attr_get(h->attrs, "ERROR"));
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	ck_assert_uint_ge(l.n, 3);
	for (i = 0; i < l.n; i++)
		ck_assert_int_eq(l.vms[i].state, VMH_VM_UNKNOWN);
	vmh_vm_list_free(&l);
	memset(&log, 0, sizeof(log));
	ck_assert_int_eq(vmh_cloud_run_ops(c, ops, 3, 8, count_cb, &log, &err),
			 VMH_OK);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(ops[i].rc == VMH_OK, "op %zu: %s", i,
			      ops[i].err.text);
		ck_assert_int_eq(log.before[i], 1);
		ck_assert_int_eq(log.after[i], 1);
	}
	wait_vms(&sim, "{\"ids\": [0, 3], \"lcm\": \"RUNNING\", \"not_host\": "
		       "\"host1\", \"timeout\": 10}");
	wait_vms(&sim, "{\"ids\": [5], \"state\": \"DONE\", \"timeout\": 10}");
	no_duplicates(&sim);
	ck_assert_uint_eq(ledger_wait(&sim, "one.vm.recover", before + 3),
			  before + 3);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

/* ---- Faults: a clear error within the timeout, never a hang */

struct fault_case {
	const char *json;
	enum vmh_rc rc;
	const char *want;
};

START_TEST(each_fault_is_a_clear_error)
{
	static const struct fault_case cases[] = {
		{ "{\"latency_ms\": 1500}", VMH_E_TIMEOUT, "1000 ms" },
		{ "{\"methods\": {\"*\": {\"stall_rate\": 1}}, \"stall_s\": 3}",
		  VMH_E_TIMEOUT, "1000 ms" },
		{ "{\"methods\": {\"*\": {\"error_rate\": 1, "
		  "\"error_message\": "
		  "\"Cannot process request, oned cluster in election "
		  "mode\"}}}",
		  VMH_E_UNAVAILABLE, "electing" },
		{ "{\"methods\": {\"*\": {\"error_rate\": 1, \"error_code\": "
		  "512, \"error_message\": \"VM is locked. [0].\"}}}",
		  VMH_E_DENIED, "locked" },
		{ "{\"methods\": {\"*\": {\"error_rate\": 1, \"error_code\": "
		  "65536, \"error_message\": \"replication\"}}}",
		  VMH_E_UNAVAILABLE, "REPLICATION" },
		{ "{\"methods\": {\"*\": {\"fault_rate\": 1}}}", VMH_E_API,
		  "fault -501" },
		{ "{\"methods\": {\"*\": {\"http_rate\": 1, \"http_status\": "
		  "500}}}",
		  VMH_E_UNAVAILABLE, "HTTP status 500" },
		{ "{\"methods\": {\"*\": {\"http_rate\": 1, \"http_status\": "
		  "503}}}",
		  VMH_E_UNAVAILABLE, "HTTP status 503" },
		{ "{\"methods\": {\"*\": {\"drop_rate\": 1}}}",
		  VMH_E_UNAVAILABLE, "" },
		{ "{\"methods\": {\"*\": {\"truncate_rate\": 1}}}",
		  VMH_E_UNAVAILABLE, "" },
		{ "{\"methods\": {\"*\": {\"malformed_rate\": 1}}}", VMH_E_DATA,
		  "malformed XML" },
	};
	struct vmh_cloud *c = cloud_open(&sim, 1);
	struct vmh_error err;
	struct vmh_vm *vm;
	long long t0, dt;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		faults(&sim, cases[i].json);
		vmh_error_init(&err);
		t0 = vmh_now_ms();
		ck_assert_msg(vmh_cloud_vm_get(c, "8", &vm, &err) ==
				  cases[i].rc,
			      "%s: %s", cases[i].json, err.text);
		dt = vmh_now_ms() - t0;
		ck_assert_ptr_null(vm);
		ck_assert_msg(dt < 1600, "%s: %lld ms", cases[i].json, dt);
		ck_assert_str_eq(err.source, "one.vm.info");
		ck_assert_msg(strstr(err.text, cases[i].want) != NULL,
			      "%s: '%s'", cases[i].json, err.text);
		ck_assert_ptr_null(strstr(err.text, "secret"));
		faults(&sim, "{\"clear\": true}");
	}
	/* And the client works again. */
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "8", &vm, &err), VMH_OK);
	vmh_vm_free(vm);
	vmh_cloud_close(c);
}
END_TEST

/* The call ran but its answer was lost: not sent a second time. */
START_TEST(lost_answer_is_not_resent)
{
	struct vmh_cloud *c = cloud_open(&sim, 2);
	struct vmh_error err;
	struct vmh_vm *vm;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "8", &vm, &err), VMH_OK);
	vmh_vm_free(vm);
	faults(&sim, "{\"methods\": {\"one.vm.action\": {\"drop_after_rate\": "
		     "1}}}");
	/* Over the kept-alive connection of the read above. */
	ck_assert_int_eq(vmh_cloud_vm_op(c, "8", VMH_ACT_RESCHED, NULL, &err),
			 VMH_E_UNAVAILABLE);
	faults(&sim, "{\"clear\": true}");
	ck_assert_uint_eq(ledger_wait(&sim, "one.vm.action", 1), 1);
	vmh_sleep_ms(200); /* and no second one trailing */
	ck_assert_uint_eq(ledger_count(&sim, "one.vm.action", 0), 1);
	vmh_cloud_close(c);
}
END_TEST

/* Many operations, some failing at random: each gets one outcome. */
START_TEST(batch_under_random_faults)
{
	struct vmh_vm_op ops[40];
	struct vmh_cloud *c = cloud_open(&sim, 1);
	struct vmh_error err;
	struct cb_log log;
	size_t i, ok = 0;
	json_t *l, *rec;

	faults(&sim, "{\"seed\": 3, \"methods\": {\"one.vm.update\": "
		     "{\"error_rate\": 0.3, \"http_rate\": 0.1, "
		     "\"drop_rate\": 0.1, \"malformed_rate\": 0.1}}}");
	memset(ops, 0, sizeof(ops));
	memset(&log, 0, sizeof(log));
	for (i = 0; i < 40; i++) {
		ops[i].vm_id = "8";
		ops[i].action = VMH_ACT_UPDATE;
		ops[i].arg = "HA_BATCH=1";
		ops[i].user = (void *)(uintptr_t)i;
	}
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_cloud_run_ops(c, ops, 40, 10, count_cb, &log, &err), VMH_OK);
	faults(&sim, "{\"clear\": true}");
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(log.before[i], 1);
		ck_assert_int_eq(log.after[i], 1);
		if (ops[i].rc == VMH_OK)
			ok++;
		else
			ck_assert(ops[i].err.text[0] != '\0');
	}
	ck_assert_uint_gt(ok, 5);
	ck_assert_uint_lt(ok, 40);
	/* What the driver calls a success is exactly what onesim did and
	 * delivered. */
	ledger_wait(&sim, "one.vm.update", 40);
	vmh_sleep_ms(100);
	l = ctl(&sim, "GET", "ledger?method=one.vm.update", NULL);
	{
		size_t n = 0;

		json_array_foreach(l, i, rec)
		{
			if (json_is_true(json_object_get(rec, "ok")) &&
			    json_is_true(json_object_get(rec, "delivered")))
				n++;
		}
		ck_assert_uint_eq(n, ok);
	}
	json_decref(l);
	vmh_cloud_close(c);
}
END_TEST

/* Stalled calls run side by side: ten time out together, not in turn. */
START_TEST(stalls_time_out_concurrently)
{
	struct vmh_vm_op ops[10];
	struct vmh_cloud *c = cloud_open(&sim, 1);
	struct vmh_error err;
	long long t0;
	size_t i;

	faults(&sim, "{\"stall_s\": 5, \"methods\": {\"one.vm.action\": "
		     "{\"stall_rate\": 1}}}");
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 10; i++) {
		ops[i].vm_id = "8";
		ops[i].action = VMH_ACT_RESCHED;
	}
	vmh_error_init(&err);
	t0 = vmh_now_ms();
	ck_assert_int_eq(vmh_cloud_run_ops(c, ops, 10, 10, NULL, NULL, &err),
			 VMH_OK);
	ck_assert_int_lt(vmh_now_ms() - t0, 2500);
	faults(&sim, "{\"clear\": true}");
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(ops[i].rc, VMH_E_TIMEOUT);
	vmh_cloud_close(c);
}
END_TEST

/* ---- Other oned versions */

static void
version_run(const char *version, const char *want_version,
	    const char *recreate_method)
{
	struct ts_server s;
	struct vmh_vm_op op = { .vm_id = "0", .action = VMH_ACT_RECREATE };
	const char *ids[] = { "1", "0", "42" };
	char *dir = tu_mkdtemp(), *text, *scenario;
	struct vmh_cloud *c;
	struct vmh_vm_list l;
	struct vmh_host *h;
	struct vmh_error err;
	struct vmh_vm *vm;
	char *v;

	ck_assert(asprintf(&text,
			   "{\"version\": \"%s\", \"users\": {\"oneadmin\": "
			   "\"pw\"}, \"timing\": {\"sched_interval_ms\": 50}, "
			   "\"hosts\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
			   "\"vms\": [{\"count\": 3, \"host\": \"a\", \"cpu\": "
			   "0.5, \"memory\": 256, \"user_template\": "
			   "{\"HA\": \"yes\"}}]}",
			   version) > 0);
	scenario = tu_write(dir, "scenario.json", text, 0644);
	sim_start(&s, scenario);
	c = cloud_open(&s, 5);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_OK);
	ck_assert_str_eq(v, want_version);
	free(v);
	ck_assert_int_eq(vmh_cloud_host_get(c, "a", &h, &err), VMH_OK);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(vmh_attr_get(l.vms[0].attrs, "HA"), "yes");
	vmh_vm_list_free(&l);
	ck_assert_int_eq(vmh_cloud_vms_get(c, ids, 3, &l, &err), VMH_OK);
	ck_assert_int_eq(l.vms[0].state, VMH_VM_RUNNING);
	ck_assert_int_eq(l.vms[2].state, VMH_VM_DONE);
	vmh_vm_list_free(&l);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "77", &vm, &err), VMH_E_NOTFOUND);
	vmh_error_init(&err);
	ctl_do(&s, "fail-host", "{\"host\": \"a\"}");
	ctl_do(&s, "fence-host", "{\"host\": \"a\"}");
	ck_assert_int_eq(vmh_cloud_run_ops(c, &op, 1, 1, NULL, NULL, &err),
			 VMH_OK);
	ck_assert_msg(op.rc == VMH_OK, "%s", op.err.text);
	ck_assert_uint_eq(ledger_wait(&s, recreate_method, 1), 1);
	wait_vms(&s, "{\"ids\": [0], \"lcm\": \"RUNNING\", \"host\": \"b\", "
		     "\"timeout\": 10}");
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 0, NULL, &err), VMH_OK);
	vmh_host_free(h);
	vmh_cloud_close(c);
	ts_stop(&s);
	free(scenario);
	free(text);
	tu_rmdir(dir);
}

START_TEST(oned_4_4)
{
	version_run("4.4", "4.4.1", "one.vm.action");
}
END_TEST

START_TEST(oned_5_12)
{
	version_run("5.12", "5.12.13", "one.vm.recover");
}
END_TEST

START_TEST(oned_7_4)
{
	version_run("7.4", "7.4.0", "one.vm.recover");
}
END_TEST

/* ---- TLS: OpenNebula's client variables against onesim over HTTPS */

/* The test certificates (tu_make_certs), and ONE_CERT_DIR's directory:
 * certs/ with the CA, a file that is not PEM and a subdirectory. 0 when
 * openssl is missing. */
static int
make_certs(const char *dir)
{
	char cmd[1024];

	if (!tu_make_certs(dir))
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && mkdir certs certs/sub && cp ca.pem "
		 "certs/one-ca.pem && echo 'not a certificate' >certs/README "
		 "&& chmod 644 certs/*",
		 dir);
	ck_assert_int_eq(system(cmd), 0);
	return 1;
}

/* onesim over HTTPS with dir's server certificate. */
static void
sim_start_tls(struct ts_server *s, const char *dir)
{
	char onesim[512], cert[512], key[512];
	char *scenario = data_path("onesim-driver.json");
	const char *argv[] = { onesim,       "serve", "--scenario",  scenario,
			       "--port",     "0",     "--state-dir", "@DIR@",
			       "--tls-cert", cert,    "--tls-key",   key,
			       NULL };

	snprintf(onesim, sizeof(onesim), "%s/tests/sim/onesim", ts_srcdir());
	snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	if (ts_start(s, argv, "port") != 0) {
		ts_stop(s);
		ck_abort_msg("cannot start onesim over HTTPS");
	}
	free(scenario);
	snprintf(s->base, sizeof(s->base), "https://127.0.0.1:%d", s->port);
}

/* The configuration for s plus extra opennebula keys; the environment
 * is left as it is. */
static struct vmh_conf *
tls_conf(struct ts_server *s, const char *dir, const char *extra)
{
	struct vmh_conf *conf;
	struct vmh_error err;
	char *text, *path;

	ck_assert(asprintf(&text,
			   "cloud = \"opennebula\";\n"
			   "state_dir = \"%s\";\n"
			   "opennebula = { endpoint = \"%s/RPC2\"; "
			   "auth_file = \"%s/one_auth\"; timeout = 5; "
			   "connect_timeout = 2; %s };\n",
			   dir, s->base, s->dir, extra) > 0);
	path = tu_write(dir, "vmheal.conf", text, 0600);
	vmh_error_init(&err);
	ck_assert_msg(vmh_conf_load(path, &conf, &err) == VMH_OK, "%s",
		      err.text);
	free(text);
	free(path);
	return conf;
}

/* one.system.version over a fresh client; rc, err filled. */
static enum vmh_rc
tls_version(struct ts_server *s, const char *dir, const char *extra,
	    struct vmh_error *err)
{
	struct vmh_conf *conf = tls_conf(s, dir, extra);
	struct vmh_cloud *c;
	enum vmh_rc rc;
	char *v = NULL;

	vmh_error_init(err);
	ck_assert_msg(vmh_cloud_open(conf, &c, err) == VMH_OK, "%s", err->text);
	vmh_conf_free(conf);
	if ((rc = vmh_cloud_version(c, &v, err)) == VMH_OK)
		ck_assert_str_eq(v, "6.10.5");
	free(v);
	vmh_cloud_close(c);
	return rc;
}

/* vmh_cloud_open() must refuse: VMH_E_CONFIG (exit 78), the formatted
 * message holding want1 and want2. */
static void
tls_open_refused(struct ts_server *s, const char *dir, const char *extra,
		 const char *want1, const char *want2)
{
	struct vmh_conf *conf = tls_conf(s, dir, extra);
	struct vmh_cloud *c = NULL;
	struct vmh_error err;
	char text[1024];

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_open(conf, &c, &err), VMH_E_CONFIG);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(vmh_rc_to_exit(err.code), 78);
	vmh_error_format(&err, text, sizeof(text));
	ck_assert_msg(strstr(text, want1) != NULL && strstr(text, want2),
		      "want \"%s\" and \"%s\" in: %s", want1, want2, text);
	vmh_conf_free(conf);
}

START_TEST(tls_cert_dir_and_disable_verify)
{
	char *dir = tu_mkdtemp(), certs[512], missing[512], extra[1200];
	char errlog[512], *log;
	struct ts_server s;
	struct vmh_conf *conf;
	struct vmh_cloud *c;
	struct vmh_error err;
	int saved, fd;
	size_t n;
	FILE *f;

	unsetenv("ONE_CERT_DIR");
	unsetenv("ONE_DISABLE_SSL_VERIFY");
	unsetenv("ONE_XMLRPC_TIMEOUT");
	if (!make_certs(dir)) {
		printf("SKIP: tls_cert_dir_and_disable_verify: openssl not "
		       "found (contrib/check.sh installs it)\n");
		tu_rmdir(dir);
		return;
	}
	snprintf(certs, sizeof(certs), "%s/certs", dir);
	snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
	sim_start_tls(&s, dir);

	/* a CA nobody told us about: a clear, permanent TLS error */
	ck_assert_int_eq(tls_version(&s, dir, "", &err), VMH_E_CONFIG);
	ck_assert_msg(strstr(err.text, "TLS failure") != NULL &&
			  strstr(err.text, "certificate") != NULL,
		      "%s", err.text);
	/* ONE_CERT_DIR holding it (and a note, and a directory): trusted */
	setenv("ONE_CERT_DIR", certs, 1);
	ck_assert_msg(tls_version(&s, dir, "", &err) == VMH_OK, "%s", err.text);
	/* ONE_CERT_DIR missing, or a file: configuration errors */
	setenv("ONE_CERT_DIR", missing, 1);
	tls_open_refused(&s, dir, "", "ONE_CERT_DIR", missing);
	snprintf(extra, sizeof(extra), "%s/ca.pem", dir);
	setenv("ONE_CERT_DIR", extra, 1);
	tls_open_refused(&s, dir, "", "ONE_CERT_DIR", "Not a directory");
	/* opennebula.ca_dir wins over ONE_CERT_DIR, and is checked too */
	setenv("ONE_CERT_DIR", missing, 1);
	snprintf(extra, sizeof(extra), "ca_dir = \"%s\";", certs);
	ck_assert_msg(tls_version(&s, dir, extra, &err) == VMH_OK, "%s",
		      err.text);
	unsetenv("ONE_CERT_DIR");
	snprintf(extra, sizeof(extra), "ca_dir = \"%s\";", missing);
	tls_open_refused(&s, dir, extra, "opennebula.ca_dir", missing);
	/* opennebula.cacert: the CA file instead of the system store */
	snprintf(extra, sizeof(extra), "cacert = \"%s/ca.pem\";", dir);
	ck_assert_msg(tls_version(&s, dir, extra, &err) == VMH_OK, "%s",
		      err.text);
	snprintf(extra, sizeof(extra), "cacert = \"%s/none.pem\";", dir);
	tls_open_refused(&s, dir, extra, "opennebula.cacert", "none.pem");

	/* ONE_DISABLE_SSL_VERIFY: empty is unset; any value turns
	 * verification off, with one warning naming it */
	setenv("ONE_DISABLE_SSL_VERIFY", "", 1);
	ck_assert_int_eq(tls_version(&s, dir, "", &err), VMH_E_CONFIG);
	setenv("ONE_DISABLE_SSL_VERIFY", "yes", 1);
	snprintf(errlog, sizeof(errlog), "%s/stderr.log", dir);
	conf = tls_conf(&s, dir, "");
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600),
			 0);
	dup2(fd, 2);
	close(fd);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_open(conf, &c, &err), VMH_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	vmh_conf_free(conf);
	ck_assert_ptr_nonnull(f = fopen(errlog, "r"));
	ck_assert_ptr_nonnull(log = calloc(1, 4096));
	n = fread(log, 1, 4095, f);
	fclose(f);
	log[n] = '\0';
	ck_assert_msg(strstr(log, "NOT verified") != NULL &&
			  strstr(log, "ONE_DISABLE_SSL_VERIFY") != NULL,
		      "stderr: %s", log);
	ck_assert_ptr_null(
	    strstr(strstr(log, "NOT verified") + 1, "NOT verified"));
	free(log);
	{
		char *v = NULL;

		ck_assert_msg(vmh_cloud_version(c, &v, &err) == VMH_OK, "%s",
			      err.text);
		ck_assert_str_eq(v, "6.10.5");
		free(v);
	}
	vmh_cloud_close(c);
	unsetenv("ONE_DISABLE_SSL_VERIFY");
	ts_stop(&s);
	tu_rmdir(dir);
}
END_TEST

/* ---- The benchmark */

static int
all_recovered(const struct vmh_vm_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->vms[i].state != VMH_VM_RUNNING ||
		    l->vms[i].host_name == NULL ||
		    strcmp(l->vms[i].host_name, "host2") != 0)
			return 0;
	return 1;
}

/*
 * 1,000 VMs of a failed, fenced host recreated through vmh_cloud_run_ops
 * (default concurrency, 32) with 20 ms latency on every call, then
 * verified (every VM RUNNING on host2). The issue's target is 3 s; the
 * assertion leaves room for loaded machines and sanitizer builds, the
 * figures are printed.
 */
START_TEST(bench_1000_recover)
{
	struct ts_server s;
	char *scenario = data_path("onesim-bench.json");
	const char **ids = calloc(1000, sizeof(*ids));
	struct vmh_vm_op *ops = calloc(1000, sizeof(*ops));
	char(*idbuf)[8] = calloc(1000, sizeof(*idbuf));
	struct vmh_vm_list l = { NULL, 0 };
	unsigned long calls0;
	long long t0, t1, t2;
	struct vmh_cloud *c;
	struct vmh_error err;
	size_t i, ok = 0;
	int polls = 0;

	ck_assert(ids != NULL && ops != NULL && idbuf != NULL);
	sim_start(&s, scenario);
	c = cloud_open(&s, 5);
	ctl_do(&s, "fail-host", "{\"host\": \"host1\"}");
	ctl_do(&s, "fence-host", "{\"host\": \"host1\"}");
	faults(&s, "{\"latency_ms\": 20}");
	for (i = 0; i < 1000; i++) {
		snprintf(idbuf[i], sizeof(idbuf[i]), "%zu", i);
		ids[i] = idbuf[i];
		ops[i].vm_id = idbuf[i];
		ops[i].action = VMH_ACT_RECREATE;
	}
	vmh_error_init(&err);
	calls0 = vmh_cloud_calls(c);
	t0 = vmh_now_ms();
	ck_assert_int_eq(vmh_cloud_run_ops(c, ops, 1000, 32, NULL, NULL, &err),
			 VMH_OK);
	t1 = vmh_now_ms();
	for (i = 0; i < 1000; i++)
		ok += ops[i].rc == VMH_OK;
	ck_assert_uint_eq(ok, 1000);
	do {
		vmh_vm_list_free(&l);
		if (polls > 0)
			vmh_sleep_ms(50);
		polls++;
		ck_assert_int_eq(vmh_cloud_vms_get(c, ids, 1000, &l, &err),
				 VMH_OK);
	} while (!all_recovered(&l) && vmh_now_ms() - t0 < 30000);
	t2 = vmh_now_ms();
	ck_assert_msg(all_recovered(&l), "not all VMs back after 30 s");
	printf("bench: 1000 recover calls (20 ms latency, concurrency 32) "
	       "in %lld ms; verified after %lld ms more (%d polls); total "
	       "%lld ms; %lu API calls\n",
	       t1 - t0, t2 - t1, polls, t2 - t0, vmh_cloud_calls(c) - calls0);
	ck_assert_int_lt(t2 - t0, 15000);
	no_duplicates(&s);
	vmh_vm_list_free(&l);
	vmh_cloud_close(c);
	ts_stop(&s);
	free(scenario);
	free(ids);
	free(ops);
	free(idbuf);
}
END_TEST

static Suite *
onesim_suite(void)
{
	Suite *s = suite_create("one_onesim");
	TCase *calls = tcase_create("calls");
	TCase *fault = tcase_create("faults");
	TCase *vers = tcase_create("versions");
	TCase *tls = tcase_create("tls");
	TCase *bench = tcase_create("bench");

	/* One onesim per tcase (started outside the forked tests); the
	 * tests of a tcase run in order and share its state. */
	tcase_add_unchecked_fixture(calls, calls_setup, calls_teardown);
	tcase_set_timeout(calls, 60);
	tcase_add_test(calls, version_and_interval);
	tcase_add_test(calls, hosts);
	tcase_add_test(calls, vms);
	tcase_add_test(calls, datastores);
	tcase_add_test(calls, lock_update_unlock);
	tcase_add_test(calls, locked_vm_is_refused);
	tcase_add_test(calls, actions);
	tcase_add_test(calls, one_specific_calls);
	tcase_add_test(calls, host_disable_enable);
	tcase_add_test(calls, recover_from_failed_host);
	suite_add_tcase(s, calls);

	tcase_add_unchecked_fixture(fault, calls_setup, calls_teardown);
	tcase_set_timeout(fault, 60);
	tcase_add_test(fault, each_fault_is_a_clear_error);
	tcase_add_test(fault, lost_answer_is_not_resent);
	tcase_add_test(fault, batch_under_random_faults);
	tcase_add_test(fault, stalls_time_out_concurrently);
	suite_add_tcase(s, fault);

	tcase_set_timeout(vers, 60);
	tcase_add_test(vers, oned_4_4);
	tcase_add_test(vers, oned_5_12);
	tcase_add_test(vers, oned_7_4);
	suite_add_tcase(s, vers);

	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, tls_cert_dir_and_disable_verify);
	suite_add_tcase(s, tls);

	tcase_set_timeout(bench, 120);
	tcase_add_test(bench, bench_1000_recover);
	suite_add_tcase(s, bench);
	return s;
}

int
main(void)
{
	int rc;

	ts_require_python("check_one_onesim");
	signal(SIGPIPE, SIG_IGN);
	rc = tu_run(onesim_suite());
	vmh_log_clear_secrets(); /* kept for the process's life otherwise */
	return rc;
}
