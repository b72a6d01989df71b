/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-VM policy and the hook argument of host_error. */
#include "config.h"

#include <stdarg.h>

#include "hosterr.h"
#include "policy.h"
#include "str.h"
#include "testutil.h"

/* Attribute vectors for tests: up to 4 vectors of 8 strings, reused. */
static char **
mkattrs(int slot, ...)
{
	static char store[4][8][64];
	static char *vec[4][9];
	const char *a;
	va_list ap;
	int n = 0;

	va_start(ap, slot);
	while ((a = va_arg(ap, const char *)) != NULL && n < 8) {
		vmh_strlcpy(store[slot][n], a, sizeof(store[slot][n]));
		vec[slot][n] = store[slot][n];
		n++;
	}
	va_end(ap);
	vec[slot][n] = NULL;
	return vec[slot];
}

/* A VM in state s/lcm with attributes attrs (KEY, value, ..., NULL). */
static struct vmh_vm
vm_with(enum vmh_vm_state s, int lcm, char **attrs)
{
	struct vmh_vm vm;

	static char id[] = "42";

	memset(&vm, 0, sizeof(vm));
	vm.id = id;
	vm.state = s;
	vm.raw_state = 3;
	vm.raw_lcm = lcm;
	vm.ds_id = 0;
	vm.attrs = attrs;
	return vm;
}

static const struct vmh_policy recreate = {
	.mode = VMH_HA_RECREATE,
	.migrate_fallback = VMH_HA_RECREATE,
	.protect_by_default = 1,
};

START_TEST(defaults_follow_the_options)
{
	struct vmh_vm vm = vm_with(VMH_VM_UNKNOWN, 16, NULL);
	struct vmh_vm_plan p;

	vmh_policy_decide(&recreate, &vm, -1, &p);
	ck_assert_int_eq(p.skip, VMH_SKIP_NONE);
	ck_assert_int_eq(p.action, VMH_HA_RECREATE);
	ck_assert_int_eq(p.priority, 0);
}
END_TEST

START_TEST(attributes_override)
{
	char **a1 = mkattrs(0, "HA", "no", NULL);
	char **a2 =
	    mkattrs(1, "ha_action", "delete", "HA_PRIORITY", "50", NULL);
	char **a3 = mkattrs(2, "HA_Enabled", "False", NULL); /* Masakari */
	char **a4 = mkattrs(3, "HA", "maybe", "HA_PRIORITY", "x", "HA_ACTION",
			    "zap", NULL);
	char **a5;
	struct vmh_vm vm = vm_with(VMH_VM_UNKNOWN, 16, a1);
	struct vmh_vm_plan p;

	vmh_policy_decide(&recreate, &vm, -1, &p);
	ck_assert_int_eq(p.skip, VMH_SKIP_HA_OFF);
	vm.attrs = a2;
	vmh_policy_decide(&recreate, &vm, -1, &p);
	ck_assert_int_eq(p.skip, VMH_SKIP_NONE);
	ck_assert_int_eq(p.action, VMH_HA_DELETE);
	ck_assert_int_eq(p.priority, 50);
	vm.attrs = a3;
	vmh_policy_decide(&recreate, &vm, -1, &p);
	ck_assert_int_eq(p.skip, VMH_SKIP_HA_OFF);
	vm.attrs = a4; /* garbage: defaults, with notes */
	vmh_policy_decide(&recreate, &vm, -1, &p);
	ck_assert_int_eq(p.skip, VMH_SKIP_NONE);
	ck_assert_int_eq(p.action, VMH_HA_RECREATE);
	ck_assert_ptr_nonnull(strstr(p.note, "HA=\"maybe\""));
	ck_assert_ptr_nonnull(strstr(p.note, "HA_PRIORITY=\"x\""));
	ck_assert_ptr_nonnull(strstr(p.note, "HA_ACTION=\"zap\""));
	a5 = mkattrs(0, "HA_ACTION", "none", NULL);
	vm.attrs = a5;
	vmh_policy_decide(&recreate, &vm, -1, &p);
	ck_assert_int_eq(p.skip, VMH_SKIP_HA_OFF);
}
END_TEST

START_TEST(states_as_host_error_rb)
{
	struct vmh_vm vm = vm_with(VMH_VM_POWEROFF, 0, NULL);
	struct vmh_policy p = recreate;
	struct vmh_vm_plan out;

	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_STATE); /* -r needs -f */
	p.include_suspended = 1;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NONE);
	p = recreate;
	p.mode = VMH_HA_DELETE; /* -d takes POWEROFF always */
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NONE);
	vm.state = VMH_VM_STOPPED;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_STATE);
	vm.state = VMH_VM_UNDEPLOYED;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_STATE);
	vm.state = VMH_VM_PENDING;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_STATE);
	vm.state = VMH_VM_FAILED; /* BOOT_FAILURE on the dead host */
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NONE);
}
END_TEST

START_TEST(in_flight_recoveries_are_left_alone)
{
	struct vmh_vm vm = vm_with(VMH_VM_TRANSIENT, 15, NULL);
	struct vmh_vm_plan out;
	struct vmh_policy p = recreate;

	vmh_policy_decide(&p, &vm, -1, &out); /* CLEANUP_RESUBMIT */
	ck_assert_int_eq(out.skip, VMH_SKIP_IN_FLIGHT);
	vm.raw_lcm = 60; /* PROLOG_MIGRATE_UNKNOWN */
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_IN_FLIGHT);
	vm.raw_lcm = 2; /* BOOT on the dead host: ours */
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NONE);
	vm = vm_with(VMH_VM_UNKNOWN, 16, NULL);
	vm.resched = 1;
	p.mode = VMH_HA_MIGRATE;
	vmh_policy_decide(&p, &vm, 1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_IN_FLIGHT);
}
END_TEST

START_TEST(migrate_needs_shared_storage)
{
	struct vmh_vm vm = vm_with(VMH_VM_UNKNOWN, 16, NULL);
	struct vmh_policy p = recreate;
	struct vmh_vm_plan out;

	p.mode = VMH_HA_MIGRATE;
	vmh_policy_decide(&p, &vm, 1, &out);
	ck_assert_int_eq(out.action, VMH_HA_MIGRATE);
	vmh_policy_decide(&p, &vm, 0, &out);
	ck_assert_int_eq(out.action, VMH_HA_RECREATE);
	ck_assert_ptr_nonnull(strstr(out.note, "not shared"));
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.action, VMH_HA_RECREATE);
	p.migrate_fallback = VMH_HA_NONE;
	vmh_policy_decide(&p, &vm, 0, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_HA_OFF);
}
END_TEST

START_TEST(locked_vms_are_reported)
{
	struct vmh_vm vm = vm_with(VMH_VM_UNKNOWN, 16, NULL);
	struct vmh_policy p = recreate;
	struct vmh_vm_plan out;

	vm.locked = 3;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_LOCKED);
	ck_assert_ptr_nonnull(strstr(out.note, "locked (level 3)"));
	p.unlock_locked = 1;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NONE);
}
END_TEST

START_TEST(no_mode_no_action)
{
	struct vmh_vm vm = vm_with(VMH_VM_UNKNOWN, 16, NULL);
	struct vmh_policy p = recreate;
	char **a = mkattrs(0, "HA_ACTION", "recreate", NULL);
	struct vmh_vm_plan out;

	p.mode = VMH_HA_UNSET;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NO_MODE);
	vm.attrs = a;
	vmh_policy_decide(&p, &vm, -1, &out);
	ck_assert_int_eq(out.skip, VMH_SKIP_NONE);
}
END_TEST

START_TEST(hook_arg_forms)
{
	struct vmh_error err;
	char *id, *name, *xml, *b64;
	const char *doc = "<HOST><ID>7</ID><NAME>node7</NAME>"
			  "<TEMPLATE><FENCE_IP><![CDATA[127.0.0.1]]>"
			  "</FENCE_IP></TEMPLATE></HOST>";

	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg("12", &id, &name, &xml, &err), VMH_OK);
	ck_assert_str_eq(id, "12");
	ck_assert_ptr_null(name);
	free(id);
	b64 = vmh_base64_encode(doc, strlen(doc));
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg(b64, &id, &name, &xml, &err), VMH_OK);
	ck_assert_str_eq(id, "7");
	ck_assert_str_eq(name, "node7");
	ck_assert_str_eq(xml, doc);
	free(id);
	free(name);
	free(xml);
	free(b64);
}
END_TEST

START_TEST(hook_arg_errors)
{
	struct vmh_error err;
	char *id, *name, *xml, *b64;
	const char *vm = "<VM><ID>1</ID></VM>";
	const char *noid = "<HOST><NAME>x</NAME></HOST>";

	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg("not*base64", &id, &name, &xml, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "neither a host ID nor base64"));
	vmh_error_init(&err);
	b64 = vmh_base64_encode("<HOST><ID>1", 11);
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg(b64, &id, &name, &xml, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "malformed XML"));
	free(b64);
	vmh_error_init(&err);
	b64 = vmh_base64_encode(vm, strlen(vm));
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg(b64, &id, &name, &xml, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "not <HOST>"));
	free(b64);
	vmh_error_init(&err);
	b64 = vmh_base64_encode(noid, strlen(noid));
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg(b64, &id, &name, &xml, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "without a valid <ID>"));
	ck_assert_ptr_null(id);
	free(b64);
	ck_assert_int_eq(
	    vmh_hosterr_parse_hook_arg("99999999999", &id, &name, &xml, NULL),
	    VMH_E_DATA);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_follow_the_options);
	tcase_add_test(tc, attributes_override);
	tcase_add_test(tc, states_as_host_error_rb);
	tcase_add_test(tc, in_flight_recoveries_are_left_alone);
	tcase_add_test(tc, migrate_needs_shared_storage);
	tcase_add_test(tc, locked_vms_are_reported);
	tcase_add_test(tc, no_mode_no_action);
	tcase_add_test(tc, hook_arg_forms);
	tcase_add_test(tc, hook_arg_errors);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
