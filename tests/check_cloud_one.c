/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenNebula driver without a simulator: oned's documents of 4.4, 5.12,
 * 6.10 (the real captures in ../shared, read in place) and 7.4 into the
 * structs of lib/cloud.h; state mapping; update templates; where endpoint
 * and credentials come from; and the driver against canned answers served
 * by tests/http/httpd.py (every envelope generation, version-dependent
 * methods, transport failures).
 */
#include "config.h"

#include "cloud.h"
#include "cloud_one.h"
#include "http.h"
#include "log.h"
#include "str.h"
#include "testutil.h"
#include "http/testserver.h"

static struct ts_server srv;
static char *tmpdir; /* per test */

/* ---- Fixtures */

static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *data;
	FILE *f;

	if (stat(path, &st) < 0)
		return NULL;
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	ck_assert_ptr_nonnull(data = malloc((size_t)st.st_size + 1));
	*len = fread(data, 1, (size_t)st.st_size, f);
	data[*len] = '\0';
	fclose(f);
	return data;
}

/* tests/data/one/NAME: always there. */
static char *
data_file(const char *name, size_t *len)
{
	char *path, *d;

	ck_assert(asprintf(&path, "%s/tests/data/one/%s", ts_srcdir(), name) >
		  0);
	d = slurp(path, len);
	ck_assert_msg(d != NULL, "%s missing", path);
	free(path);
	return d;
}

/* The oned 6.10.5 captures, or NULL (noted) outside the full checkout. */
static char *
shared_file(const char *name, size_t *len)
{
	const char *env = getenv("VMH_SHARED_DIR");
	char *path, *d;

	if (env != NULL)
		ck_assert(asprintf(&path,
				   "%s/opennebula/examples/oned-6.10.5/%s", env,
				   name) > 0);
	else
		ck_assert(asprintf(&path,
				   "%s/../shared/opennebula/examples/"
				   "oned-6.10.5/%s",
				   ts_srcdir(), name) > 0);
	if ((d = slurp(path, len)) == NULL)
		printf("note: %s not found, skipped\n", path);
	free(path);
	return d;
}

static void
setup(void)
{
	tmpdir = tu_mkdtemp();
}

static void
teardown(void)
{
	tu_rmdir(tmpdir);
	tmpdir = NULL;
}

/* ---- Documents */

START_TEST(host_6_10)
{
	struct vmh_host h;
	struct vmh_error err;
	size_t len;
	char *x;

	if ((x = shared_file("host.xml", &len)) == NULL)
		return;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_parse_host(x, len, &h, &err), VMH_OK);
	ck_assert_str_eq(h.id, "1");
	ck_assert_str_eq(h.name, "h2");
	ck_assert_int_eq(h.state, VMH_HOST_UP);
	ck_assert_int_eq(h.raw_state, 2);
	ck_assert_str_eq(h.state_text, "MONITORED");
	ck_assert_int_eq(h.max_cpu, 800);
	ck_assert_int_eq(h.max_mem, 16777216);
	ck_assert_str_eq(h.vm_ids[0], "0");
	ck_assert_str_eq(h.vm_ids[4], "4");
	ck_assert_ptr_null(h.vm_ids[5]);
	ck_assert_str_eq(vmh_attr_get(h.attrs, "hostname"), "h2");
	ck_assert_str_eq(vmh_attr_get(h.attrs, "RESERVED_CPU"), "");
	ck_assert_ptr_null(vmh_attr_get(h.attrs, "ERROR"));
	/* The document as oned sent it, for fence scripts. */
	ck_assert_mem_eq(h.document, x, len);
	vmh_host_clear(&h);
	free(x);

	ck_assert_ptr_nonnull(x = shared_file("host-error.xml", &len));
	ck_assert_int_eq(vmh_one_parse_host(x, len, &h, &err), VMH_OK);
	ck_assert_int_eq(h.state, VMH_HOST_DOWN);
	ck_assert_str_eq(h.state_text, "ERROR");
	ck_assert_ptr_nonnull(
	    strstr(vmh_attr_get(h.attrs, "ERROR"), "Error monitor"));
	vmh_host_clear(&h);
	free(x);
}
END_TEST

START_TEST(hostpool_6_10)
{
	struct vmh_host_list l;
	struct vmh_error err;
	struct vmh_host h;
	size_t len;
	char *x;

	if ((x = shared_file("hostpool.xml", &len)) == NULL)
		return;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_parse_host_pool(x, len, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.hosts[0].name, "h2");
	ck_assert_str_eq(l.hosts[1].name, "h1");
	ck_assert_str_eq(l.hosts[1].id, "0");
	/* Each host's own element, CDATA kept, parseable on its own. */
	ck_assert_int_eq(strncmp(l.hosts[1].document, "<HOST><ID>0</ID>", 16),
			 0);
	ck_assert_ptr_nonnull(strstr(l.hosts[1].document, "<![CDATA["));
	ck_assert_int_eq(vmh_one_parse_host(l.hosts[1].document,
					    strlen(l.hosts[1].document), &h,
					    &err),
			 VMH_OK);
	ck_assert_str_eq(h.name, "h1");
	vmh_host_clear(&h);
	vmh_host_list_free(&l);
	free(x);
}
END_TEST

START_TEST(vm_6_10)
{
	struct vmh_vm vm;
	struct vmh_error err;
	size_t len;
	char *x;

	if ((x = shared_file("vm.xml", &len)) == NULL)
		return;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_parse_vm(x, len, &vm, &err), VMH_OK);
	ck_assert_str_eq(vm.id, "1");
	ck_assert_str_eq(vm.name, "tiny-1");
	ck_assert_int_eq(vm.state, VMH_VM_RUNNING);
	ck_assert_int_eq(vm.raw_state, 3);
	ck_assert_int_eq(vm.raw_lcm, 3);
	ck_assert_str_eq(vm.state_text, "ACTIVE/RUNNING");
	ck_assert_str_eq(vm.host_name, "h2");
	ck_assert_str_eq(vm.host_id, "1");
	ck_assert_int_eq(vm.ds_id, 0);
	ck_assert_int_eq(vm.history_seq, 0);
	ck_assert_int_eq(vm.locked, 0);
	ck_assert_int_eq(vm.stime, 1795294430);
	ck_assert_str_eq(vmh_attr_get(vm.attrs, "SCHED_MESSAGE"), "");
	vmh_vm_clear(&vm);
	free(x);

	ck_assert_ptr_nonnull(x = shared_file("vm-unknown.xml", &len));
	ck_assert_int_eq(vmh_one_parse_vm(x, len, &vm, &err), VMH_OK);
	ck_assert_int_eq(vm.state, VMH_VM_UNKNOWN);
	ck_assert_str_eq(vm.state_text, "ACTIVE/UNKNOWN");
	vmh_vm_clear(&vm);
	free(x);
}
END_TEST

START_TEST(vmpools_6_10)
{
	static const char *const files[] = { "vmpool.xml", "vmpoolx.xml",
					     "vmpool-unknown.xml" };
	struct vmh_vm_list l = { NULL, 0 };
	struct vmh_error err;
	size_t len, i, k;
	char *x;

	for (i = 0; i < 3; i++) {
		if ((x = shared_file(files[i], &len)) == NULL)
			return;
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_one_parse_vm_pool(x, len, &l, &err),
				 VMH_OK);
		ck_assert_uint_eq(l.n, 5);
		for (k = 0; k < 5; k++) {
			ck_assert_str_eq(l.vms[k].host_id, "1");
			ck_assert_str_eq(l.vms[k].host_name, "h2");
			ck_assert_int_eq(l.vms[k].state, i == 2
							     ? VMH_VM_UNKNOWN
							     : VMH_VM_RUNNING);
		}
		ck_assert_str_eq(l.vms[0].id, "4");
		ck_assert_str_eq(l.vms[0].name, "tiny-4");
		vmh_vm_list_free(&l);
		free(x);
	}
}
END_TEST

START_TEST(shapes_5_12)
{
	struct vmh_vm_list l = { NULL, 0 };
	struct vmh_error err;
	struct vmh_host h;
	struct vmh_vm vm;
	size_t len;
	char *x;

	vmh_error_init(&err);
	x = data_file("host-5.12.xml", &len);
	ck_assert_int_eq(vmh_one_parse_host(x, len, &h, &err), VMH_OK);
	ck_assert_str_eq(h.id, "3");
	ck_assert_str_eq(h.name, "kvm-node-03");
	ck_assert_int_eq(h.state, VMH_HOST_DOWN);
	ck_assert_int_eq(h.max_cpu, 2400);
	ck_assert_str_eq(vmh_attr_get(h.attrs, "FENCE_IP"), "10.1.0.103");
	ck_assert_ptr_nonnull(vmh_attr_get(h.attrs, "ERROR"));
	/* A vector attribute is not a KEY=value attribute. */
	ck_assert_ptr_null(vmh_attr_get(h.attrs, "NUMA_NODE"));
	ck_assert_str_eq(h.vm_ids[2], "30");
	ck_assert_ptr_null(h.vm_ids[3]);
	vmh_host_clear(&h);
	free(x);

	x = data_file("vm-5.12.xml", &len);
	ck_assert_int_eq(vmh_one_parse_vm(x, len, &vm, &err), VMH_OK);
	ck_assert_int_eq(vm.state, VMH_VM_UNKNOWN);
	ck_assert_int_eq(vm.locked, 3);
	ck_assert_str_eq(vm.host_name, "kvm-node-03");
	ck_assert_str_eq(vm.host_id, "3");
	ck_assert_int_eq(vm.history_seq, 1);
	ck_assert_str_eq(vmh_attr_get(vm.attrs, "HA"), "yes");
	ck_assert_str_eq(vmh_attr_get(vm.attrs, "HA_PRIORITY"), "100");
	ck_assert_str_eq(vmh_attr_get(vm.attrs, "DESCRIPTION"),
			 "primary <db> & \"quotes\"");
	ck_assert_str_eq(vmh_attr_get(vm.attrs, "LABELS"), "");
	ck_assert_ptr_null(vmh_attr_get(vm.attrs, "SCHED_ACTION"));
	vmh_vm_clear(&vm);
	free(x);

	x = data_file("vmpool-5.12.xml", &len);
	ck_assert_int_eq(vmh_one_parse_vm_pool(x, len, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_int_eq(l.vms[0].state, VMH_VM_FAILED); /* BOOT_FAILURE */
	ck_assert_str_eq(l.vms[0].state_text, "ACTIVE/BOOT_FAILURE");
	ck_assert_int_eq(l.vms[0].ds_id, 100);
	ck_assert_int_eq(l.vms[1].state, VMH_VM_POWEROFF);
	ck_assert_int_eq(l.vms[1].locked, 1);
	ck_assert_int_eq(l.vms[2].state, VMH_VM_UNKNOWN);
	ck_assert_int_eq(l.vms[3].state, VMH_VM_PENDING);
	ck_assert_ptr_null(l.vms[3].host_name);
	ck_assert_ptr_null(l.vms[3].host_id);
	ck_assert_int_eq(l.vms[3].ds_id, -1);
	ck_assert_int_eq(l.vms[3].history_seq, -1);
	ck_assert_int_eq(l.vms[4].state, VMH_VM_RUNNING);
	ck_assert_str_eq(l.vms[4].host_id, "1");
	vmh_vm_list_free(&l);
	free(x);
}
END_TEST

START_TEST(shapes_7_4)
{
	struct vmh_vm_list l = { NULL, 0 };
	struct vmh_error err;
	struct vmh_host h;
	struct vmh_vm vm;
	size_t len;
	char *x;

	vmh_error_init(&err);
	x = data_file("host-7.4.xml", &len);
	ck_assert_int_eq(vmh_one_parse_host(x, len, &h, &err), VMH_OK);
	ck_assert_str_eq(h.id, "12");
	ck_assert_int_eq(h.state, VMH_HOST_UP);
	ck_assert_int_eq(h.max_mem, 131596288);
	ck_assert_str_eq(vmh_attr_get(h.attrs, "FENCE_USER"), "ipmi");
	ck_assert_str_eq(h.vm_ids[0], "205");
	vmh_host_clear(&h);
	free(x);

	x = data_file("vm-7.4.xml", &len);
	ck_assert_int_eq(vmh_one_parse_vm(x, len, &vm, &err), VMH_OK);
	ck_assert_str_eq(vm.name, "api-gw");
	ck_assert_int_eq(vm.state, VMH_VM_RUNNING);
	ck_assert_int_eq(vm.locked, 2);
	ck_assert_int_eq(vm.history_seq, 2);
	ck_assert_str_eq(vm.host_name, "node12");
	ck_assert_str_eq(vm.host_id, "12");
	ck_assert_int_eq(vm.ds_id, 101);
	ck_assert_str_eq(vmh_attr_get(vm.attrs, "HA"), "no");
	vmh_vm_clear(&vm);
	free(x);

	x = data_file("vmpool-7.4.xml", &len);
	ck_assert_int_eq(vmh_one_parse_vm_pool(x, len, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.vms[0].state, VMH_VM_RUNNING);
	ck_assert_int_eq(l.vms[1].state, VMH_VM_DONE);
	ck_assert_int_eq(l.vms[2].state, VMH_VM_FAILED);
	ck_assert_str_eq(l.vms[2].state_text, "CLONING_FAILURE");
	vmh_vm_list_free(&l);
	free(x);
}
END_TEST

START_TEST(shapes_4_4)
{
	struct vmh_error err;
	struct vmh_host h;
	struct vmh_vm vm;
	size_t len;
	char *x;

	vmh_error_init(&err);
	x = data_file("host-4.4.xml", &len);
	ck_assert_int_eq(vmh_one_parse_host(x, len, &h, &err), VMH_OK);
	ck_assert_int_eq(h.state, VMH_HOST_DOWN);
	ck_assert_str_eq(h.state_text, "MONITORING_ERROR");
	ck_assert_int_eq(h.max_cpu, 400);
	vmh_host_clear(&h);
	free(x);

	x = data_file("vm-4.4.xml", &len);
	ck_assert_int_eq(vmh_one_parse_vm(x, len, &vm, &err), VMH_OK);
	ck_assert_int_eq(vm.state, VMH_VM_FAILED);
	ck_assert_str_eq(vm.state_text, "FAILED");
	ck_assert_str_eq(vm.host_name, "legacy1");
	ck_assert_int_eq(vm.locked, 0);
	vmh_vm_clear(&vm);
	free(x);
}
END_TEST

/* The current placement is the highest SEQ, wherever it stands. */
START_TEST(last_history_is_highest_seq)
{
	const char *x =
	    "<VM><ID>9</ID><NAME>n</NAME><STATE>3</STATE><LCM_STATE>60"
	    "</LCM_STATE><HISTORY_RECORDS>"
	    "<HISTORY><SEQ>2</SEQ><HOSTNAME>c</HOSTNAME><HID>7</HID>"
	    "<DS_ID>5</DS_ID></HISTORY>"
	    "<HISTORY><SEQ>10</SEQ><HOSTNAME><![CDATA[ d ]]></HOSTNAME>"
	    "<HID> 8 </HID><DS_ID>6</DS_ID></HISTORY>"
	    "<HISTORY><SEQ>9</SEQ><HOSTNAME>b</HOSTNAME><HID>6</HID>"
	    "</HISTORY></HISTORY_RECORDS></VM>";
	struct vmh_error err;
	struct vmh_vm vm;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_parse_vm(x, strlen(x), &vm, &err), VMH_OK);
	ck_assert_int_eq(vm.history_seq, 10);
	ck_assert_str_eq(vm.host_name, "d");
	ck_assert_str_eq(vm.host_id, "8");
	ck_assert_int_eq(vm.ds_id, 6);
	ck_assert_int_eq(vm.state, VMH_VM_TRANSIENT);
	ck_assert_str_eq(vm.state_text, "ACTIVE/PROLOG_MIGRATE_UNKNOWN");
	vmh_vm_clear(&vm);
}
END_TEST

START_TEST(state_mapping)
{
	static const int failures[] = { 36, 37, 38, 39, 40, 41, 42, 44,
					46, 47, 48, 49, 50, 61, 14 };
	static const enum vmh_host_state hs[] = {
		VMH_HOST_INIT,  VMH_HOST_UP,       VMH_HOST_UP,
		VMH_HOST_DOWN,  VMH_HOST_DISABLED, VMH_HOST_DOWN,
		VMH_HOST_INIT,  VMH_HOST_DISABLED, VMH_HOST_OFFLINE,
		VMH_HOST_OTHER,
	};
	size_t i;
	int lcm;

	for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		ck_assert_int_eq(vmh_one_host_state((int)i), hs[i]);
	for (i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
		ck_assert_int_eq(vmh_one_vm_state(3, failures[i]),
				 VMH_VM_FAILED);
	for (lcm = 0; lcm <= 71; lcm++) {
		enum vmh_vm_state s = vmh_one_vm_state(3, lcm);

		if (lcm == 3)
			ck_assert_int_eq(s, VMH_VM_RUNNING);
		else if (lcm == 16)
			ck_assert_int_eq(s, VMH_VM_UNKNOWN);
		else if (s != VMH_VM_FAILED)
			ck_assert_int_eq(s, VMH_VM_TRANSIENT);
	}
	ck_assert_int_eq(vmh_one_vm_state(3, 72), VMH_VM_OTHER);
	ck_assert_int_eq(vmh_one_vm_state(0, 0), VMH_VM_TRANSIENT);
	ck_assert_int_eq(vmh_one_vm_state(1, 0), VMH_VM_PENDING);
	ck_assert_int_eq(vmh_one_vm_state(2, 0), VMH_VM_HOLD);
	ck_assert_int_eq(vmh_one_vm_state(4, 0), VMH_VM_STOPPED);
	ck_assert_int_eq(vmh_one_vm_state(5, 0), VMH_VM_SUSPENDED);
	ck_assert_int_eq(vmh_one_vm_state(6, 0), VMH_VM_DONE);
	ck_assert_int_eq(vmh_one_vm_state(7, 0), VMH_VM_FAILED);
	ck_assert_int_eq(vmh_one_vm_state(8, 0), VMH_VM_POWEROFF);
	ck_assert_int_eq(vmh_one_vm_state(9, 0), VMH_VM_UNDEPLOYED);
	ck_assert_int_eq(vmh_one_vm_state(10, 0), VMH_VM_TRANSIENT);
	ck_assert_int_eq(vmh_one_vm_state(11, 0), VMH_VM_FAILED);
	ck_assert_int_eq(vmh_one_vm_state(12, 0), VMH_VM_OTHER);
	ck_assert_str_eq(vmh_one_lcm_state_name(71), "RESTORE");
	ck_assert_str_eq(vmh_one_lcm_state_name(36), "BOOT_FAILURE");
	ck_assert_str_eq(vmh_one_vm_state_name(11), "CLONING_FAILURE");
	ck_assert_str_eq(vmh_one_host_state_name(8), "OFFLINE");
	ck_assert_str_eq(vmh_one_host_state_name(9), "UNKNOWN_STATE");
}
END_TEST

START_TEST(bad_documents)
{
	static const struct {
		int vm;
		const char *xml;
		const char *want;
	} cases[] = {
		{ 1, "<VM><NAME>x</NAME><STATE>3</STATE></VM>", "VM/ID" },
		{ 1, "<VM><ID>1</ID><STATE>3</STATE></VM>", "LCM_STATE" },
		{ 1, "<VM><ID>-4</ID><STATE>1</STATE></VM>", "VM/ID" },
		{ 1, "<VM><ID>1</ID><STATE>x</STATE></VM>", "VM/STATE" },
		{ 1, "<HOST><ID>1</ID></HOST>", "<HOST>, not <VM>" },
		{ 1, "<VM><ID>1</ID>", "malformed" },
		{ 0, "<HOST><ID>1</ID><NAME>a</NAME></HOST>", "HOST/STATE" },
		{ 0,
		  "<HOST><ID>1</ID><STATE>2</STATE><VMS><ID>x</ID></VMS>"
		  "</HOST>",
		  "VMS/ID" },
		{ 0, "<!DOCTYPE HOST><HOST/>", "DOCTYPE" },
	};
	struct vmh_error err;
	struct vmh_host h;
	struct vmh_vm vm;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vmh_error_init(&err);
		if (cases[i].vm)
			ck_assert_int_eq(vmh_one_parse_vm(cases[i].xml,
							  strlen(cases[i].xml),
							  &vm, &err),
					 VMH_E_DATA);
		else
			ck_assert_int_eq(
			    vmh_one_parse_host(cases[i].xml,
					       strlen(cases[i].xml), &h, &err),
			    VMH_E_DATA);
		ck_assert_msg(strstr(err.text, cases[i].want) != NULL,
			      "case %zu: '%s'", i, err.text);
	}
}
END_TEST

START_TEST(datastores_and_config)
{
	const char *cfg512 = "<OPENNEBULA_CONFIGURATION><PORT>2633</PORT>"
			     "</OPENNEBULA_CONFIGURATION>";
	const char *cfg58 = "<OPENNEBULA_CONFIGURATION>"
			    "<MONITORING_INTERVAL_HOST>180"
			    "</MONITORING_INTERVAL_HOST>"
			    "</OPENNEBULA_CONFIGURATION>";
	const char *cfg44 = "<OPENNEBULA_CONFIGURATION><MONITORING_INTERVAL>"
			    "<![CDATA[600]]></MONITORING_INTERVAL>"
			    "</OPENNEBULA_CONFIGURATION>";
	struct vmh_error err;
	long long *ids;
	int *shared, s;
	size_t n, len;
	char *x;

	vmh_error_init(&err);
	x = data_file("datastorepool.xml", &len);
	ck_assert_int_eq(
	    vmh_one_parse_datastore_pool(x, len, &ids, &shared, &n, &err),
	    VMH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ids[2], 100);
	ck_assert_int_eq(shared[0], 1);
	ck_assert_int_eq(shared[1], 1); /* no SHARED: as host_error.rb */
	ck_assert_int_eq(shared[2], 0);
	free(ids);
	free(shared);
	free(x);
	ck_assert_int_eq(
	    vmh_one_parse_monitoring_interval(cfg512, strlen(cfg512), &s, &err),
	    VMH_OK);
	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(
	    vmh_one_parse_monitoring_interval(cfg58, strlen(cfg58), &s, &err),
	    VMH_OK);
	ck_assert_int_eq(s, 180);
	ck_assert_int_eq(
	    vmh_one_parse_monitoring_interval(cfg44, strlen(cfg44), &s, &err),
	    VMH_OK);
	ck_assert_int_eq(s, 600);
}
END_TEST

START_TEST(update_templates)
{
	static const char *const bad[] = { "novalue", "=x", "1A=x", "A-B=x",
					   "A=x\x01y" };
	struct vmh_error err;
	struct vmh_buf b;
	size_t i;

	vmh_buf_init(&b, 4096);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_update_template(
			     "HA_LAST_RECOVERY=2024-01-01T00:00:00Z\n"
			     "  ha_note = a<b & \"c\" ]]>\r\n\n\tEMPTY=\n",
			     &b, &err),
			 VMH_OK);
	ck_assert_str_eq(vmh_buf_str(&b),
			 "<TEMPLATE><HA_LAST_RECOVERY>2024-01-01T00:00:00Z"
			 "</HA_LAST_RECOVERY><HA_NOTE>a&lt;b &amp; \"c\" ]]&gt;"
			 "</HA_NOTE><EMPTY></EMPTY></TEMPLATE>");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vmh_buf_reset(&b);
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_one_update_template(bad[i], &b, &err),
				 VMH_E_USAGE);
		ck_assert_ptr_nonnull(strstr(err.text, "line 1"));
	}
	vmh_buf_free(&b);
}
END_TEST

/* ---- Where endpoint and session come from */

static void
clear_env(void)
{
	unsetenv("ONE_XMLRPC");
	unsetenv("ONE_AUTH");
	unsetenv("ONE_POOL_PAGE_SIZE");
	unsetenv("ONE_XMLRPC_TIMEOUT");
	unsetenv("ONE_CERT_DIR");
	unsetenv("ONE_DISABLE_SSL_VERIFY");
	setenv("HOME", tmpdir, 1);
}

START_TEST(endpoint_lookup_order)
{
	struct vmh_conf_opennebula o;
	struct vmh_error err;
	const char *src;
	char *ep, *dir, *f;

	clear_env();
	memset(&o, 0, sizeof(o));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_endpoint(&o, &ep, &src, &err), VMH_OK);
	ck_assert_str_eq(ep, VMH_ONE_DEFAULT_ENDPOINT);
	free(ep);
	ck_assert(asprintf(&dir, "%s/.one", tmpdir) > 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	f = tu_write(dir, "one_endpoint", "  http://front:2633/RPC2 \nxx\n",
		     0644);
	ck_assert_int_eq(vmh_one_find_endpoint(&o, &ep, &src, &err), VMH_OK);
	ck_assert_str_eq(ep, "http://front:2633/RPC2");
	ck_assert_str_eq(src, "~/.one/one_endpoint");
	free(ep);
	setenv("ONE_XMLRPC", "http://env:2633/RPC2", 1);
	ck_assert_int_eq(vmh_one_find_endpoint(&o, &ep, &src, &err), VMH_OK);
	ck_assert_str_eq(ep, "http://env:2633/RPC2");
	free(ep);
	o.endpoint = (char *)(uintptr_t) "http://conf:2633/RPC2";
	ck_assert_int_eq(vmh_one_find_endpoint(&o, &ep, &src, &err), VMH_OK);
	ck_assert_str_eq(ep, "http://conf:2633/RPC2");
	ck_assert_str_eq(src, "configuration");
	free(ep);
	free(f);
	free(dir);
}
END_TEST

/* Configuration, then ONE_XMLRPC_TIMEOUT, then 30 s; bad values refused
 * with the variable and the value in the message. */
START_TEST(timeout_lookup_order)
{
	static const char *const bad[] = { "0",  "86401", "-5", "1.5", "10s",
					   " 7", "abc",   "7 ", "0x10" };
	struct vmh_conf_opennebula o;
	struct vmh_error err;
	const char *src;
	size_t i;
	int t;

	clear_env();
	memset(&o, 0, sizeof(o));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_timeout(&o, &t, &src, &err), VMH_OK);
	ck_assert_int_eq(t, 30);
	ck_assert_str_eq(src, "built-in default");
	ck_assert_int_eq(vmh_one_find_timeout(NULL, &t, &src, &err), VMH_OK);
	ck_assert_int_eq(t, 30);
	setenv("ONE_XMLRPC_TIMEOUT", "", 1); /* empty: not set */
	ck_assert_int_eq(vmh_one_find_timeout(&o, &t, &src, &err), VMH_OK);
	ck_assert_int_eq(t, 30);
	setenv("ONE_XMLRPC_TIMEOUT", "7", 1);
	ck_assert_int_eq(vmh_one_find_timeout(&o, &t, &src, &err), VMH_OK);
	ck_assert_int_eq(t, 7);
	ck_assert_str_eq(src, "ONE_XMLRPC_TIMEOUT");
	setenv("ONE_XMLRPC_TIMEOUT", "86400", 1);
	ck_assert_int_eq(vmh_one_find_timeout(&o, &t, &src, &err), VMH_OK);
	ck_assert_int_eq(t, 86400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("ONE_XMLRPC_TIMEOUT", bad[i], 1);
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_one_find_timeout(&o, &t, &src, &err),
				 VMH_E_CONFIG);
		ck_assert_msg(strstr(err.text, "ONE_XMLRPC_TIMEOUT") != NULL &&
				  strstr(err.text, bad[i]) != NULL &&
				  strstr(err.text, "1..86400") != NULL,
			      "'%s': %s", bad[i], err.text);
	}
	/* The configuration wins, and the variable is not even read. */
	o.timeout_s = 15;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_timeout(&o, &t, &src, &err), VMH_OK);
	ck_assert_int_eq(t, 15);
	ck_assert_str_eq(src, "configuration");
}
END_TEST

/* A minimal configuration for the session lookup. */
static struct vmh_conf *
bare_conf(void)
{
	struct vmh_conf *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	return c;
}

START_TEST(session_lookup_order_and_checks)
{
	struct vmh_conf *conf = bare_conf();
	struct vmh_secret sec = { (char *)(uintptr_t) "one",
				  (char *)(uintptr_t) "svc:fromsecret" };
	struct vmh_error err;
	char *s, *src, *dir, *home_auth, *env_auth;

	clear_env();
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err),
			 access("/var/lib/one/.one/one_auth", F_OK) == 0
			     ? VMH_OK
			     : VMH_E_CONFIG);
	if (err.code != VMH_OK)
		ck_assert_ptr_nonnull(strstr(err.text, "ONE_AUTH file not "
						       "present"));
	ck_assert(asprintf(&dir, "%s/.one", tmpdir) > 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	home_auth = tu_write(dir, "one_auth", "oneadmin:fromhome\n\n", 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err), VMH_OK);
	ck_assert_str_eq(s, "oneadmin:fromhome");
	ck_assert_str_eq(src, home_auth);
	free(s);
	free(src);
	/* $ONE_AUTH first; a directory there is skipped like the CLI does. */
	setenv("ONE_AUTH", tmpdir, 1);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err), VMH_OK);
	ck_assert_str_eq(s, "oneadmin:fromhome");
	free(s);
	free(src);
	env_auth = tu_write(tmpdir, "env_auth", "serveradmin:fromenv", 0400);
	setenv("ONE_AUTH", env_auth, 1);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err), VMH_OK);
	ck_assert_str_eq(s, "serveradmin:fromenv");
	free(s);
	free(src);
	/* Readable by others: refused, not skipped. */
	ck_assert_int_eq(chmod(env_auth, 0644), 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "group or others"));
	/* The configuration's file comes before the environment... */
	conf->one.auth_file = home_auth;
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err), VMH_OK);
	ck_assert_str_eq(s, "oneadmin:fromhome");
	free(s);
	free(src);
	/* ...and the named secret before everything. */
	conf->secrets = &sec;
	conf->n_secrets = 1;
	conf->one.auth_secret = (char *)(uintptr_t) "one";
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err), VMH_OK);
	ck_assert_str_eq(s, "svc:fromsecret");
	ck_assert_str_eq(src, "secret one");
	free(s);
	free(src);
	conf->one.auth_secret = (char *)(uintptr_t) "other";
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "no secret \"other\""));
	free(home_auth);
	free(env_auth);
	free(dir);
	free(conf);
}
END_TEST

START_TEST(session_file_shape)
{
	static const char *const bad[] = { "",    "\n",    "nocolon\n",
					   ":pw", "user:", "a:b\nc:d\n" };
	struct vmh_conf *conf = bare_conf();
	struct vmh_error err;
	char *s, *src, *f;
	size_t i;

	clear_env();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = tu_write(tmpdir, "auth", bad[i], 0600);
		conf->one.auth_file = f;
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err),
				 VMH_E_CONFIG);
		ck_assert_str_eq(err.source, f);
		/* The credentials never appear in a message. */
		ck_assert_ptr_null(strstr(err.text, "pw"));
		free(f);
	}
	conf->one.auth_file = (char *)(uintptr_t) "/nonexistent/one_auth";
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_one_find_session(conf, &s, &src, &err),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "does not exist"));
	free(conf);
}
END_TEST

/* ---- The driver against canned answers */

#define RESP_HEAD                                                              \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n"   \
	"<params>\r\n<param><value><array><data>\r\n"
#define RESP_TAIL                                                              \
	"</data></array></value></param>\r\n</params>\r\n</"                   \
	"methodResponse>\r\n"

static void
helper(const char *method, const char *path, const char *body,
       struct vmh_buf *out)
{
	struct vmh_http_opts o = { .timeout_ms = 5000,
				   .connect_timeout_ms = 2000,
				   .max_response = 1 << 22,
				   .max_concurrency = 2 };
	struct vmh_http_request r = { .method = method,
				      .body = body,
				      .body_len = body ? strlen(body) : 0,
				      .idempotent = 1 };
	struct vmh_http_response resp;
	struct vmh_http *h;
	struct vmh_error err;
	char *u;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_new(&o, &h, &err), VMH_OK);
	ck_assert(asprintf(&u, "%s%s", srv.base, path) > 0);
	r.url = u;
	vmh_http_response_init(&resp, 1 << 22);
	ck_assert_int_eq(vmh_http_perform(h, &r, &resp, &err), VMH_OK);
	ck_assert_int_eq(resp.status, 200);
	if (out != NULL)
		vmh_buf_puts(out, vmh_buf_str(&resp.body));
	vmh_http_response_free(&resp);
	vmh_http_free(h);
	free(u);
}

/* Queue an answer for the next XML-RPC call. */
static void
queue(int status, const char *mode, const char *body)
{
	char path[128];

	snprintf(path, sizeof(path), "/queue?status=%d&mode=%s", status, mode);
	helper("POST", path, body, NULL);
}

static void
queue_ok_xml(const char *xml)
{
	struct vmh_buf b;
	const char *p;

	vmh_buf_init(&b, 1 << 22);
	vmh_buf_puts(&b, RESP_HEAD "<value><boolean>1</boolean></value>\r\n"
				   "<value><string>");
	for (p = xml; *p != '\0'; p++) {
		if (*p == '<')
			vmh_buf_puts(&b, "&lt;");
		else if (*p == '>')
			vmh_buf_puts(&b, "&gt;");
		else if (*p == '&')
			vmh_buf_puts(&b, "&amp;");
		else
			vmh_buf_append(&b, p, 1);
	}
	vmh_buf_puts(
	    &b, "</string></value>\r\n<value><i4>0</i4></value>\r\n" RESP_TAIL);
	queue(200, "", vmh_buf_str(&b));
	vmh_buf_free(&b);
}

static void
queue_ok_int(int v)
{
	char body[512];

	snprintf(body, sizeof(body),
		 RESP_HEAD "<value><boolean>1</boolean></value>\r\n"
			   "<value><i4>%d</i4></value>\r\n"
			   "<value><i4>0</i4></value>\r\n" RESP_TAIL,
		 v);
	queue(200, "", body);
}

static char *
last_request(void)
{
	struct vmh_buf b;

	vmh_buf_init(&b, 1 << 22);
	helper("GET", "/last", NULL, &b);
	return vmh_buf_steal(&b);
}

/* The canned server's configuration; timeout_s 0: no timeout key. The
 * environment is left as it is. */
static struct vmh_conf *
load_conf(int timeout_s, int monitoring)
{
	char *conf_text, *path, *auth, tkey[32] = "";
	struct vmh_conf *conf;
	struct vmh_error err;

	helper("POST", "/reset", "", NULL);
	auth = tu_write(tmpdir, "one_auth", "oneadmin:canned-secret\n", 0600);
	if (timeout_s > 0)
		snprintf(tkey, sizeof(tkey), "timeout = %d; ", timeout_s);
	ck_assert(
	    asprintf(&conf_text,
		     "cloud = \"opennebula\";\n"
		     "state_dir = \"%s\";\n"
		     "opennebula = { endpoint = \"%s/rpc\"; "
		     "auth_file = \"%s\"; %s"
		     "connect_timeout = 1; monitoring_interval = %d; };\n",
		     tmpdir, srv.base, auth, tkey, monitoring) > 0);
	path = tu_write(tmpdir, "vmheal.conf", conf_text, 0600);
	vmh_error_init(&err);
	ck_assert_msg(vmh_conf_load(path, &conf, &err) == VMH_OK, "%s",
		      err.text);
	free(conf_text);
	free(path);
	free(auth);
	return conf;
}

static struct vmh_cloud *
open_cloud_env(int timeout_s, int monitoring)
{
	struct vmh_conf *conf = load_conf(timeout_s, monitoring);
	struct vmh_cloud *c;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_msg(vmh_cloud_open(conf, &c, &err) == VMH_OK, "%s", err.text);
	ck_assert_str_eq(vmh_cloud_kind(c), "opennebula");
	vmh_conf_free(conf);
	return c;
}

static struct vmh_cloud *
open_cloud(int timeout_s, int monitoring)
{
	clear_env();
	return open_cloud_env(timeout_s, monitoring);
}

START_TEST(driver_version_and_session_masking)
{
	struct vmh_cloud *c = open_cloud(5, 0);
	struct vmh_error err;
	char masked[128], *v, *req;

	queue_ok_xml("5.12.0.4");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_OK);
	ck_assert_str_eq(v, "5.12.0.4");
	free(v);
	req = last_request();
	ck_assert_ptr_nonnull(strstr(req, "<methodName>one.system.version"
					  "</methodName>"));
	ck_assert_ptr_nonnull(strstr(req, "<string>oneadmin:canned-secret"
					  "</string>"));
	free(req);
	/* Cached: no second call. */
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_OK);
	free(v);
	ck_assert_uint_eq(vmh_cloud_calls(c), 1);
	vmh_log_mask("auth oneadmin:canned-secret and canned-secret", masked,
		     sizeof(masked));
	ck_assert_ptr_null(strstr(masked, "canned-secret"));
	vmh_cloud_close(c);
}
END_TEST

START_TEST(driver_vm_get_every_envelope)
{
	struct vmh_cloud *c = open_cloud(5, 0);
	struct vmh_error err;
	struct vmh_vm *vm;
	char *x, *req;
	size_t len;

	x = data_file("vm-5.12.xml", &len);
	queue_ok_xml(x);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "21", &vm, &err), VMH_OK);
	ck_assert_str_eq(vm->name, "db-primary");
	ck_assert_int_eq(vm->state, VMH_VM_UNKNOWN);
	vmh_vm_free(vm);
	req = last_request();
	ck_assert_ptr_nonnull(strstr(req, "<methodName>one.vm.info"
					  "</methodName>"));
	ck_assert_ptr_nonnull(strstr(req, "<int>21</int>"));
	free(req);
	free(x);
	/* 4.x: three elements; 5.4: four; 5.10+: five with an <i8>. */
	queue(200, "",
	      RESP_HEAD "<value><boolean>0</boolean></value>"
			"<value><string>[VirtualMachineInfo] Error getting "
			"virtual machine [99].</string></value>"
			"<value><int>1024</int></value>" RESP_TAIL);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "99", &vm, &err), VMH_E_NOTFOUND);
	ck_assert_ptr_null(vm);
	ck_assert_str_eq(err.source, "one.vm.info");
	queue(200, "",
	      RESP_HEAD "<value><boolean>0</boolean></value>"
			"<value><string>[one.vm.info] User couldn't be "
			"authenticated, aborting call.</string></value>"
			"<value><i4>256</i4></value><value><i4>-1</i4></value>"
			"<value><i8>-1</i8></value>" RESP_TAIL);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "1", &vm, &err), VMH_E_AUTH);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vm_get(c, "1x", &vm, &err), VMH_E_USAGE);
	vmh_cloud_close(c);
}
END_TEST

/* Transport failures: each a clear error, within the deadline. */
START_TEST(driver_transport_failures)
{
	static const struct {
		int status;
		const char *mode, *body;
		enum vmh_rc rc;
		const char *want;
	} cases[] = {
		{ 503, "", "busy", VMH_E_UNAVAILABLE, "HTTP status 503" },
		{ 500, "", "oops", VMH_E_UNAVAILABLE, "HTTP status 500" },
		{ 404, "", "no", VMH_E_NOTFOUND, "HTTP status 404" },
		{ 200, "drop", "", VMH_E_UNAVAILABLE, "reply" },
		{ 200, "partial", RESP_HEAD, VMH_E_UNAVAILABLE, "" },
		{ 200, "", RESP_HEAD "<value><boolean>1</boolean>", VMH_E_DATA,
		  "malformed XML" },
		{ 200, "", "<html>proxy error</html>", VMH_E_DATA,
		  "methodResponse" },
		{ 200, "sleep:2500", "late", VMH_E_TIMEOUT, "1000 ms" },
	};
	struct vmh_cloud *c = open_cloud(1, 0);
	struct vmh_error err;
	long long t0;
	size_t i;
	char *v;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Twice: libcurl may re-send a read whose kept-alive
		 * connection died. */
		helper("POST", "/reset", "", NULL);
		queue(cases[i].status, cases[i].mode, cases[i].body);
		queue(cases[i].status, cases[i].mode, cases[i].body);
		vmh_error_init(&err);
		t0 = vmh_now_ms();
		ck_assert_msg(vmh_cloud_version(c, &v, &err) == cases[i].rc,
			      "case %zu: %s", i, err.text);
		ck_assert_int_lt(vmh_now_ms() - t0, 1900);
		ck_assert_str_eq(err.source, "one.system.version");
		ck_assert_msg(strstr(err.text, cases[i].want) != NULL,
			      "case %zu: '%s'", i, err.text);
		ck_assert_ptr_null(strstr(err.text, "canned-secret"));
	}
	vmh_cloud_close(c);
}
END_TEST

/* ONE_XMLRPC_TIMEOUT bounds every call when the configuration sets no
 * timeout; a configured one wins; a bad value stops the open. */
START_TEST(driver_env_timeout)
{
	struct vmh_cloud *c;
	struct vmh_conf *conf;
	struct vmh_error err;
	long long t0;
	char *v;

	clear_env();
	setenv("ONE_XMLRPC_TIMEOUT", "1", 1);
	c = open_cloud_env(0, 0);
	/* Twice: libcurl may re-send a read whose connection died. */
	queue(200, "sleep:2500", "late");
	queue(200, "sleep:2500", "late");
	vmh_error_init(&err);
	t0 = vmh_now_ms();
	ck_assert_int_eq(vmh_cloud_version(c, &v, &err), VMH_E_TIMEOUT);
	ck_assert_int_lt(vmh_now_ms() - t0, 1900);
	ck_assert_msg(strstr(err.text, "1000 ms") != NULL, "%s", err.text);
	vmh_cloud_close(c);

	/* opennebula.timeout = 5 over ONE_XMLRPC_TIMEOUT=1: a 1.5 s answer
	 * arrives */
	c = open_cloud_env(5, 0);
	queue(200, "sleep:1500",
	      RESP_HEAD "<value><boolean>1</boolean></value>"
			"<value><string>6.10.5</string></value>"
			"<value><i4>0</i4></value>" RESP_TAIL);
	vmh_error_init(&err);
	ck_assert_msg(vmh_cloud_version(c, &v, &err) == VMH_OK, "%s", err.text);
	ck_assert_str_eq(v, "6.10.5");
	free(v);
	vmh_cloud_close(c);

	/* a bad value: a configuration error at open, nothing sent */
	setenv("ONE_XMLRPC_TIMEOUT", "30s", 1);
	conf = load_conf(0, 0);
	vmh_error_init(&err);
	c = NULL;
	ck_assert_int_eq(vmh_cloud_open(conf, &c, &err), VMH_E_CONFIG);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err.text, "ONE_XMLRPC_TIMEOUT: '30s' is not a whole "
				   "number of seconds in 1..86400");
	ck_assert_int_eq(vmh_rc_to_exit(err.code), 78);
	vmh_conf_free(conf);
	unsetenv("ONE_XMLRPC_TIMEOUT");
}
END_TEST

struct op_log {
	int before[8], after[8];
};

static int
op_cb(struct vmh_vm_op *op, int done, void *ctx)
{
	struct op_log *l = ctx;
	size_t i = (size_t)(uintptr_t)op->user;

	if (done)
		l->after[i]++;
	else
		l->before[i]++;
	return 0;
}

/* Which method an action is depends on oned's version. */
START_TEST(driver_ops_follow_the_version)
{
	struct vmh_vm_op ops[2] = {
		{ .vm_id = "7", .action = VMH_ACT_RECREATE, .user = (void *)0 },
		{ .vm_id = "7",
		  .action = VMH_ACT_RESET_STATE,
		  .user = (void *)1 }
	};
	struct vmh_cloud *c = open_cloud(5, 0);
	struct op_log log;
	struct vmh_error err;
	char *req;

	queue_ok_xml("4.4.1");
	queue_ok_int(7);
	memset(&log, 0, sizeof(log));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_run_ops(c, ops, 2, 4, op_cb, &log, &err),
			 VMH_OK);
	ck_assert_int_eq(ops[0].rc, VMH_OK);
	ck_assert_int_eq(ops[1].rc, VMH_E_API);
	ck_assert_ptr_nonnull(strstr(ops[1].err.text, "reset-state"));
	ck_assert_int_eq(log.before[0], 1);
	ck_assert_int_eq(log.after[0], 1);
	ck_assert_int_eq(log.before[1], 0); /* nothing about to be sent */
	ck_assert_int_eq(log.after[1], 1);
	req = last_request();
	ck_assert_ptr_nonnull(strstr(req, "<methodName>one.vm.action"));
	ck_assert_ptr_nonnull(strstr(req, "<string>delete-recreate</string>"));
	free(req);
	vmh_cloud_close(c);

	c = open_cloud(5, 0);
	queue_ok_xml("7.4.0");
	queue_ok_int(7);
	ck_assert_int_eq(vmh_cloud_vm_op(c, "7", VMH_ACT_RECREATE, NULL, &err),
			 VMH_OK);
	req = last_request();
	ck_assert_ptr_nonnull(strstr(req, "<methodName>one.vm.recover"));
	ck_assert_ptr_nonnull(strstr(req, "<int>7</int></value></param>"
					  "<param><value><int>4</int>"));
	free(req);
	/* The version is known now: one call. */
	queue_ok_int(7);
	ck_assert_int_eq(
	    vmh_cloud_vm_op(c, "7", VMH_ACT_UPDATE, "HA_NOTE=x & y", &err),
	    VMH_OK);
	req = last_request();
	ck_assert_ptr_nonnull(strstr(req, "<methodName>one.vm.update"));
	ck_assert_ptr_nonnull(strstr(
	    req, "&lt;TEMPLATE&gt;&lt;HA_NOTE&gt;x &amp;amp; y&lt;/HA_NOTE"));
	ck_assert_ptr_nonnull(strstr(req, "<int>1</int></value></param>"
					  "</params>"));
	free(req);
	ck_assert_uint_eq(vmh_cloud_calls(c), 3);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(driver_vms_get_by_version)
{
	static const char *const ids[] = { "21", "5", "21", "30" };
	struct vmh_cloud *c = open_cloud(5, 0);
	struct vmh_vm_list l;
	struct vmh_error err;
	char *x, *req;
	size_t len;

	x = data_file("vmpool-5.12.xml", &len);
	queue_ok_xml("5.12.0");
	queue_ok_xml(x);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vms_get(c, ids, 4, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.vms[0].id, "21");
	ck_assert_int_eq(l.vms[0].state, VMH_VM_UNKNOWN);
	ck_assert_str_eq(l.vms[1].id, "5");
	ck_assert_int_eq(l.vms[1].state, VMH_VM_DONE); /* not in the pool */
	ck_assert_str_eq(l.vms[2].id, "21");
	ck_assert_str_eq(l.vms[2].name, "db-primary");
	ck_assert_int_eq(l.vms[3].state, VMH_VM_FAILED);
	vmh_vm_list_free(&l);
	req = last_request();
	/* Before 6.0: an ID range of every state, whole bodies. */
	ck_assert_ptr_nonnull(
	    strstr(req, "<methodName>one.vmpool.infoextended<"));
	ck_assert_ptr_nonnull(strstr(req, "<int>-2</int></value></param>"
					  "<param><value><int>5</int>"));
	free(req);
	vmh_cloud_close(c);

	c = open_cloud(5, 0);
	queue_ok_xml("6.10.5");
	queue_ok_xml(x);
	ck_assert_int_eq(vmh_cloud_vms_get(c, ids, 4, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 4);
	vmh_vm_list_free(&l);
	req = last_request();
	ck_assert_ptr_nonnull(strstr(req, "<methodName>one.vmpool.infoset<"));
	ck_assert_ptr_nonnull(strstr(req, "<string>5,21,30</string></value>"
					  "</param><param><value><boolean>1"));
	free(req);
	vmh_cloud_close(c);
	free(x);
}
END_TEST

START_TEST(driver_hosts_and_datastores)
{
	struct vmh_cloud *c = open_cloud(5, 0);
	struct vmh_vm_list l;
	struct vmh_host *h, *h2;
	struct vmh_error err;
	int shared;
	char *x, *pool;
	size_t len;

	x = data_file("host-5.12.xml", &len);
	ck_assert(asprintf(&pool, "<HOST_POOL>%s</HOST_POOL>", x) > 0);
	queue_ok_xml(pool);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_host_get(c, "kvm-node-03", &h, &err),
			 VMH_OK);
	ck_assert_str_eq(h->id, "3");
	queue_ok_xml(pool);
	ck_assert_int_eq(vmh_cloud_host_get(c, "nosuch", &h2, &err),
			 VMH_E_NOTFOUND);
	ck_assert_ptr_null(h2);
	free(pool);
	free(x);

	/* The VMs whose last history is on host 3, from one pool call. */
	x = data_file("vmpool-5.12.xml", &len);
	queue_ok_xml("6.10.5"); /* whole bodies need one.vmpool.infoextended */
	queue_ok_xml(x);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_vms_on_host(c, h, &l, &err), VMH_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.vms[0].id, "21");
	ck_assert_str_eq(l.vms[1].id, "22");
	ck_assert_str_eq(l.vms[2].id, "30");
	vmh_vm_list_free(&l);
	free(x);

	x = data_file("datastorepool.xml", &len);
	queue_ok_xml(x);
	ck_assert_int_eq(vmh_cloud_datastore_shared(c, 100, &shared, &err),
			 VMH_OK);
	ck_assert_int_eq(shared, 0);
	ck_assert_int_eq(vmh_cloud_datastore_shared(c, 0, &shared, &err),
			 VMH_OK);
	ck_assert_int_eq(shared, 1);
	queue_ok_xml(x); /* unknown: the cache is refreshed once */
	ck_assert_int_eq(vmh_cloud_datastore_shared(c, 5, &shared, &err),
			 VMH_E_NOTFOUND);
	free(x);

	queue_ok_int(3);
	ck_assert_int_eq(vmh_cloud_host_disable(c, h, 1, "fenced", &err),
			 VMH_OK);
	x = last_request();
	ck_assert_ptr_nonnull(strstr(x, "<methodName>one.host.status<"));
	ck_assert_ptr_nonnull(strstr(x, "<int>3</int></value></param><param>"
					"<value><int>2</int>"));
	free(x);
	vmh_host_free(h);
	vmh_cloud_close(c);
}
END_TEST

START_TEST(driver_monitoring_interval)
{
	struct vmh_cloud *c = open_cloud(5, 45);
	struct vmh_error err;
	int s;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_cloud_monitoring_interval(c, &s, &err), VMH_OK);
	ck_assert_int_eq(s, 45);
	ck_assert_uint_eq(vmh_cloud_calls(c), 0);
	vmh_cloud_close(c);

	c = open_cloud(5, 0);
	queue_ok_xml("<OPENNEBULA_CONFIGURATION><MONITORING_INTERVAL_HOST>180"
		     "</MONITORING_INTERVAL_HOST></OPENNEBULA_CONFIGURATION>");
	ck_assert_int_eq(vmh_cloud_monitoring_interval(c, &s, &err), VMH_OK);
	ck_assert_int_eq(s, 180);
	queue_ok_xml("<OPENNEBULA_CONFIGURATION/>");
	ck_assert_int_eq(vmh_cloud_monitoring_interval(c, &s, &err), VMH_OK);
	ck_assert_int_eq(s, 60);
	queue(200, "",
	      RESP_HEAD "<value><boolean>0</boolean></value>"
			"<value><string>[one.system.config] not "
			"authorized</string></value>"
			"<value><i4>512</i4></value>" RESP_TAIL);
	ck_assert_int_eq(vmh_cloud_monitoring_interval(c, &s, &err), VMH_OK);
	ck_assert_int_eq(s, 60);
	queue(503, "", "down");
	ck_assert_int_eq(vmh_cloud_monitoring_interval(c, &s, &err),
			 VMH_E_UNAVAILABLE);
	vmh_cloud_close(c);
}
END_TEST

static Suite *
one_suite(void)
{
	Suite *s = suite_create("cloud_one");
	TCase *docs = tcase_create("documents");
	TCase *where = tcase_create("credentials");
	TCase *drv = tcase_create("driver");

	tcase_add_test(docs, host_6_10);
	tcase_add_test(docs, hostpool_6_10);
	tcase_add_test(docs, vm_6_10);
	tcase_add_test(docs, vmpools_6_10);
	tcase_add_test(docs, shapes_5_12);
	tcase_add_test(docs, shapes_7_4);
	tcase_add_test(docs, shapes_4_4);
	tcase_add_test(docs, last_history_is_highest_seq);
	tcase_add_test(docs, state_mapping);
	tcase_add_test(docs, bad_documents);
	tcase_add_test(docs, datastores_and_config);
	tcase_add_test(docs, update_templates);
	suite_add_tcase(s, docs);

	tcase_add_checked_fixture(where, setup, teardown);
	tcase_add_test(where, endpoint_lookup_order);
	tcase_add_test(where, session_lookup_order_and_checks);
	tcase_add_test(where, session_file_shape);
	tcase_add_test(where, timeout_lookup_order);
	suite_add_tcase(s, where);

	tcase_add_checked_fixture(drv, setup, teardown);
	tcase_set_timeout(drv, 30);
	tcase_add_test(drv, driver_version_and_session_masking);
	tcase_add_test(drv, driver_vm_get_every_envelope);
	tcase_add_test(drv, driver_transport_failures);
	tcase_add_test(drv, driver_env_timeout);
	tcase_add_test(drv, driver_ops_follow_the_version);
	tcase_add_test(drv, driver_vms_get_by_version);
	tcase_add_test(drv, driver_hosts_and_datastores);
	tcase_add_test(drv, driver_monitoring_interval);
	suite_add_tcase(s, drv);
	return s;
}

int
main(void)
{
	char script[512];
	const char *argv[] = { script, "@DIR@/port", NULL };
	int rc;

	ts_require_python("check_cloud_one");
	signal(SIGPIPE, SIG_IGN);
	snprintf(script, sizeof(script), "%s/tests/http/httpd.py", ts_srcdir());
	if (ts_start(&srv, argv, "port") != 0) {
		fprintf(stderr, "check_cloud_one: cannot start %s\n", script);
		ts_stop(&srv);
		return 1;
	}
	rc = tu_run(one_suite());
	ts_stop(&srv);
	vmh_log_clear_secrets(); /* kept for the process's life otherwise */
	return rc;
}
