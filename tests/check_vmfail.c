/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_failure_recreate's pieces: the vm_failure section (errors with
 * file:line), the decision table per state and per-VM policy, the flap
 * counters and their backoff, the counters file, and the hook's <VM>
 * argument.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>

#include "conf.h"
#include "str.h"
#include "testutil.h"
#include "vmfail.h"

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

/* Load a vmheal.conf with body as its vm_failure section. */
static enum vmh_rc
load(const char *body, struct vmh_conf **conf, char *msg, size_t len)
{
	char *text, *path;
	struct vmh_error err;
	enum vmh_rc rc;

	ck_assert(asprintf(&text,
			   "state_dir = \"/tmp\";\nvm_failure = {\n%s\n};\n",
			   body) > 0);
	path = tu_write(dir, "vmheal.conf", text, 0644);
	vmh_error_init(&err);
	*conf = NULL;
	rc = vmh_conf_load(path, conf, &err);
	vmh_error_format(&err, msg, len);
	free(path);
	free(text);
	return rc;
}

/* The error of loading body, which must fail. */
static const char *
load_err(const char *body)
{
	static char msg[800];
	struct vmh_conf *c = NULL;

	ck_assert_int_eq(load(body, &c, msg, sizeof(msg)), VMH_E_CONFIG);
	ck_assert_ptr_null(c);
	return msg;
}

#define LCM(name) (vmh_vmfail_lcm_index(name))

/* LCM number of a state name, through the public key function. */
static int
vmh_vmfail_lcm_index(const char *name)
{
	static const char *const names[] = {
		[16] = "UNKNOWN",
		[36] = "BOOT_FAILURE",
		[39] = "PROLOG_FAILURE",
		[40] = "EPILOG_FAILURE",
		[44] = "PROLOG_MIGRATE_POWEROFF_FAILURE",
		[61] = "PROLOG_MIGRATE_UNKNOWN_FAILURE",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	ck_abort_msg("no LCM number for %s", name);
	return -1;
}

static void
assert_ladder(const struct vmh_vmfail_ladder *l, int n, ...)
{
	va_list ap;
	int i;

	ck_assert_int_eq(l->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(vmh_vmfail_action_name(l->steps[i]),
				 va_arg(ap, const char *));
	va_end(ap);
}

START_TEST(defaults_per_state)
{
	struct vmh_vmfail_conf *c;

	ck_assert_int_eq(vmh_vmfail_conf_default(&c, NULL), VMH_OK);
	ck_assert_int_eq(c->max_recoveries, 3);
	ck_assert_int_eq(c->window_s, 3600);
	ck_assert_int_eq(c->backoff_s, 60);
	ck_assert_int_eq(c->backoff_factor, 2);
	ck_assert_str_eq(c->gave_up_attribute, "HA_GAVE_UP");
	assert_ladder(&c->states[LCM("BOOT_FAILURE")], 2, "retry", "recreate");
	assert_ladder(&c->states[LCM("PROLOG_FAILURE")], 2, "retry",
		      "recreate");
	assert_ladder(&c->states[LCM("PROLOG_MIGRATE_UNKNOWN_FAILURE")], 2,
		      "retry", "recreate");
	/* Never recreate a VM its owner was terminating or had off. */
	assert_ladder(&c->states[LCM("EPILOG_FAILURE")], 1, "retry");
	assert_ladder(&c->states[LCM("PROLOG_MIGRATE_POWEROFF_FAILURE")], 1,
		      "retry");
	assert_ladder(&c->states[LCM("UNKNOWN")], 2, "resume", "recreate");
	assert_ladder(&c->states[VMH_VF_KEY_FAILED], 1, "recreate");
	assert_ladder(&c->states[VMH_VF_KEY_CLONING_FAILURE], 0);
	assert_ladder(&c->states[VMH_VF_KEY_ERROR], 2, "reboot-hard",
		      "rebuild");
	assert_ladder(&c->states[VMH_VF_KEY_SHUTOFF], 2, "reboot-hard",
		      "rebuild");
	vmh_vmfail_conf_free(c);
}
END_TEST

START_TEST(valid_section)
{
	struct vmh_conf *c;
	char msg[800];

	ck_assert_int_eq(
	    load("max_recoveries = 5; window = 600; backoff = 10;\n"
		 "backoff_factor = 3; backoff_max = 100; max_wait = 50;\n"
		 "verify_timeout = 30; verify_interval_ms = 200;\n"
		 "settle_ms = 100; accept_pending = false;\n"
		 "protect_by_default = false; gave_up_attribute = "
		 "\"VMHEAL_GAVE_UP\";\n"
		 "notify_command = [ \"/bin/true\" ]; notify_timeout = 5;\n"
		 "states = { boot_failure = [ \"recreate\" ];\n"
		 "  UNKNOWN = [ \"resched\", \"recreate\" ];\n"
		 "  PROLOG_FAILURE = [ \"none\" ];\n"
		 "  CLONING_FAILURE = [ \"delete\" ];\n"
		 "  ERROR = [ \"reboot-hard\", \"evacuate\" ];\n"
		 "  SHUTOFF = [ \"resume\", \"rebuild\" ]; };",
		 &c, msg, sizeof(msg)),
	    VMH_OK);
	ck_assert_ptr_nonnull(c->vmfail);
	ck_assert_int_eq(c->vmfail->max_recoveries, 5);
	ck_assert_int_eq(c->vmfail->backoff_max_s, 100);
	ck_assert_int_eq(c->vmfail->accept_pending, 0);
	ck_assert_str_eq(c->vmfail->gave_up_attribute, "VMHEAL_GAVE_UP");
	assert_ladder(&c->vmfail->states[LCM("BOOT_FAILURE")], 1, "recreate");
	assert_ladder(&c->vmfail->states[LCM("UNKNOWN")], 2, "resched",
		      "recreate");
	assert_ladder(&c->vmfail->states[LCM("PROLOG_FAILURE")], 0);
	assert_ladder(&c->vmfail->states[VMH_VF_KEY_CLONING_FAILURE], 1,
		      "delete");
	/* evacuate is OpenStack's word for recreate. */
	assert_ladder(&c->vmfail->states[VMH_VF_KEY_ERROR], 2, "reboot-hard",
		      "recreate");
	assert_ladder(&c->vmfail->states[VMH_VF_KEY_SHUTOFF], 2, "resume",
		      "rebuild");
	/* Untouched states keep their defaults. */
	assert_ladder(&c->vmfail->states[LCM("EPILOG_FAILURE")], 1, "retry");
	vmh_conf_free(c);
}
END_TEST

START_TEST(section_errors_name_file_and_line)
{
	const char *m;

	m = load_err("max_recoveries = 3;\nwindw = 60;");
	ck_assert_msg(strstr(m, "vmheal.conf:4: unknown setting "
				"'vm_failure.windw'") != NULL,
		      "%s", m);
	m = load_err("states = {\n  RUNNING = [ \"retry\" ];\n};");
	ck_assert_msg(strstr(m, ":4: vm_failure.states: 'RUNNING' is not a "
				"failure state") != NULL,
		      "%s", m);
	m = load_err("states = { BOOT_FAILURE = [ \"reboot\" ]; };");
	ck_assert_msg(strstr(m, ":3: vm_failure.states.BOOT_FAILURE: unknown "
				"action 'reboot'") != NULL,
		      "%s", m);
	m = load_err("states = { UNKNOWN = [ \"retry\" ]; };");
	ck_assert_msg(strstr(m, "retry (recover op 2) only applies to "
				"*_FAILURE states") != NULL,
		      "%s", m);
	m = load_err("states = { BOOT_FAILURE = [ \"resume\" ]; };");
	ck_assert_msg(strstr(m, "only applies to UNKNOWN") != NULL, "%s", m);
	m = load_err("states = { UNKNOWN = [ \"reboot-hard\" ]; };");
	ck_assert_msg(strstr(m, "needs a RUNNING VM") != NULL, "%s", m);
	m = load_err("states = { BOOT_FAILURE = [ \"rebuild\" ]; };");
	ck_assert_msg(strstr(m, "rebuild is OpenStack's") != NULL, "%s", m);
	m = load_err("states = { ERROR = [ \"retry\" ]; };");
	ck_assert_msg(strstr(m, "only applies to *_FAILURE") != NULL, "%s", m);
	m = load_err("states = { ERROR = [ \"resume\" ]; };");
	ck_assert_msg(strstr(m, "only applies to UNKNOWN and SHUTOFF") != NULL,
		      "%s", m);
	m = load_err("states = { FAILED = [ \"none\", \"recreate\" ]; };");
	ck_assert_msg(strstr(m, "\"none\" must be alone") != NULL, "%s", m);
	m = load_err("states = { FAILED = [ \"recreate\", \"recreate\" ]; };");
	ck_assert_msg(strstr(m, "'recreate' twice") != NULL, "%s", m);
	m = load_err("states = { BOOT_FAILURE = \"retry\"; };");
	ck_assert_msg(strstr(m, "BOOT_FAILURE") != NULL, "%s", m);
	m = load_err("states = [ \"BOOT_FAILURE\" ];");
	ck_assert_msg(strstr(m, "must be a group") != NULL, "%s", m);
	m = load_err("gave_up_attribute = \"HA GAVE UP\";");
	ck_assert_msg(strstr(m, ":3: vm_failure.gave_up_attribute: 'HA GAVE "
				"UP' is not a template attribute name") != NULL,
		      "%s", m);
	m = load_err("backoff = 100;\nbackoff_max = 10;");
	ck_assert_msg(strstr(m, ":4: vm_failure.backoff_max (10) is below "
				"backoff (100)") != NULL,
		      "%s", m);
	m = load_err("max_recoveries = 0;");
	ck_assert_msg(strstr(m, "max_recoveries") != NULL, "%s", m);
	m = load_err("notify_command = [ ];");
	ck_assert_msg(strstr(m, "notify_command: empty") != NULL, "%s", m);
	m = load_err("window = \"an hour\";");
	ck_assert_msg(strstr(m, ":3:") != NULL, "%s", m);
}
END_TEST

/* ---- Decisions */

/* A KEY, value, ... vector (NULL k1/k2 end it early), copied. */
static char **
attrs(const char *k1, const char *v1, const char *k2, const char *v2)
{
	static char store[4][64];
	static char *vec[5];
	const char *in[4] = { k1, v1, k2, v2 };
	int i;

	for (i = 0; i < 4 && in[i] != NULL; i++) {
		vmh_strlcpy(store[i], in[i], sizeof(store[i]));
		vec[i] = store[i];
	}
	vec[i] = NULL;
	return vec;
}

/* An OpenNebula VM in STATE/LCM_STATE on host "7". */
static struct vmh_vm
one_vm(int state, int lcm, char **a)
{
	static char id[] = "42", hid[] = "7", hname[] = "node7",
		    text[] = "ACTIVE/?";
	struct vmh_vm vm;

	memset(&vm, 0, sizeof(vm));
	vm.id = id;
	vm.host_id = hid;
	vm.host_name = hname;
	vm.state_text = text;
	vm.raw_state = state;
	vm.raw_lcm = lcm;
	vm.attrs = a;
	switch (state) {
	case 3:
		vm.state = lcm == 3    ? VMH_VM_RUNNING
			   : lcm == 16 ? VMH_VM_UNKNOWN
			   : lcm >= 36 ? VMH_VM_FAILED
				       : VMH_VM_TRANSIENT;
		break;
	case 7:
	case 11:
		vm.state = VMH_VM_FAILED;
		break;
	default:
		vm.state = VMH_VM_OTHER;
	}
	return vm;
}

static void
assert_plan(const struct vmh_vmfail_plan *p, enum vmh_vmfail_verdict v, int n,
	    ...)
{
	va_list ap;
	int i;

	ck_assert_msg(p->verdict == v, "verdict %d, expected %d (%s)",
		      p->verdict, v, p->note);
	ck_assert_int_eq(p->n_steps, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(vmh_vmfail_action_name(p->steps[i]),
				 va_arg(ap, const char *));
	va_end(ap);
}

START_TEST(decision_table)
{
	struct vmh_vmfail_conf *c;
	struct vmh_vmfail_plan p;
	struct vmh_vm vm;

	ck_assert_int_eq(vmh_vmfail_conf_default(&c, NULL), VMH_OK);

	vm = one_vm(3, 36, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "retry", "recreate");
	ck_assert_str_eq(p.key, "BOOT_FAILURE");

	vm = one_vm(3, 40, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 1, "retry");

	/* UNKNOWN: healed on a healthy host, host_error's on a host in
	 * ERROR, left alone on an OFFLINE one, later on one in INIT. */
	vm = one_vm(3, 16, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "resume", "recreate");
	vmh_vmfail_decide(c, &vm, VMH_HOST_DISABLED, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "resume", "recreate");
	vmh_vmfail_decide(c, &vm, VMH_HOST_DOWN, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HOST_OWNED, 0);
	ck_assert_msg(strstr(p.note, "host_error owns it") != NULL, "%s",
		      p.note);
	vmh_vmfail_decide(c, &vm, VMH_HOST_OFFLINE, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NO_ACTION, 0);
	vmh_vmfail_decide(c, &vm, VMH_HOST_INIT, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HOST_WAIT, 0);

	/* A *_FAILURE on a host in ERROR is host_error's too. */
	vm = one_vm(3, 39, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_DOWN, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HOST_OWNED, 0);

	/* 4.x FAILED and CLONING_FAILURE. */
	vm = one_vm(7, 0, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 1, "recreate");
	ck_assert_str_eq(p.key, "FAILED");
	vm = one_vm(11, 0, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NO_ACTION, 0);

	/* A RUNNING VM: nothing, unless a probe says otherwise. */
	vm = one_vm(3, 3, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NOT_FAILED, 0);
	{
		const enum vmh_vmfail_action probe[] = { VMH_VF_REBOOT_HARD,
							 VMH_VF_RECREATE };

		vmh_vmfail_decide(c, &vm, VMH_HOST_UP, probe, 2, &p);
		assert_plan(&p, VMH_VF_ACT, 2, "reboot-hard", "recreate");
		ck_assert_ptr_null(p.key);
	}
	/* A transient state is not a failure. */
	vm = one_vm(3, 2, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NOT_FAILED, 0);

	/* Nova: ERROR is hard-rebooted, then rebuilt. */
	vm = one_vm(3, 36, NULL);
	vm.raw_state = vm.raw_lcm = -1;
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "reboot-hard", "rebuild");
	ck_assert_str_eq(p.key, "ERROR");
	/* ... but not on a host whose compute service is down. */
	vmh_vmfail_decide(c, &vm, VMH_HOST_DOWN, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HOST_OWNED, 0);
	/* Nova: a stopped server is a failure only when nobody asked. */
	vm.state = VMH_VM_POWEROFF;
	vm.stop_cause = VMH_STOP_UNKNOWN;
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NOT_FAILED, 0);
	vm.stop_cause = VMH_STOP_REQUESTED;
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NOT_FAILED, 0);
	vm.stop_cause = VMH_STOP_UNEXPECTED;
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "reboot-hard", "rebuild");
	ck_assert_str_eq(p.key, "SHUTOFF");
	/* An OpenNebula VM in POWEROFF never has the key, whatever the
	 * field says. */
	vm = one_vm(8, 0, NULL);
	vm.state = VMH_VM_POWEROFF;
	vm.stop_cause = VMH_STOP_UNEXPECTED;
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_NOT_FAILED, 0);
	vmh_vmfail_conf_free(c);
}
END_TEST

START_TEST(per_vm_policy)
{
	struct vmh_vmfail_conf *c;
	struct vmh_vmfail_plan p;
	struct vmh_vm vm;

	ck_assert_int_eq(vmh_vmfail_conf_default(&c, NULL), VMH_OK);

	vm = one_vm(3, 36, attrs("HA", "no", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HA_OFF, 0);
	vm = one_vm(3, 36, attrs("HA_Enabled", "False", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HA_OFF, 0);
	vm = one_vm(3, 36, attrs("HA_ACTION", "none", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HA_OFF, 0);

	/* HA_ACTION replaces the replacing steps; gentle ones stay. */
	vm = one_vm(3, 36, attrs("HA_ACTION", "delete", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "retry", "delete");
	vm = one_vm(3, 16, attrs("HA_ACTION", "migrate", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "resume", "resched");
	vm = one_vm(3, 36, attrs("HA_ACTION", "migrate", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "retry", "recreate");
	ck_assert_msg(strstr(p.note, "cannot move") != NULL, "%s", p.note);
	vm = one_vm(3, 40, attrs("HA_ACTION", "recreate", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 1, "retry");
	vm = one_vm(3, 36, attrs("HA_ACTION", "explode", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "retry", "recreate");
	ck_assert_msg(strstr(p.note, "not understood") != NULL, "%s", p.note);

	/* Given up earlier: left alone whatever else is set. */
	vm = one_vm(3, 36,
		    attrs("HA_GAVE_UP", "2026-01-01T00:00:00Z 3 recoveries",
			  "HA", "yes"));
	vmh_vmfail_decide(c, &vm, VMH_HOST_DOWN, NULL, 0, &p);
	assert_plan(&p, VMH_VF_GAVE_UP_EARLIER, 0);

	/* protect_by_default off: only VMs with HA=yes. */
	c->protect_by_default = 0;
	vm = one_vm(3, 36, NULL);
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_HA_OFF, 0);
	vm = one_vm(3, 36, attrs("HA", "yes", NULL, NULL));
	vmh_vmfail_decide(c, &vm, VMH_HOST_UP, NULL, 0, &p);
	assert_plan(&p, VMH_VF_ACT, 2, "retry", "recreate");
	vmh_vmfail_conf_free(c);
}
END_TEST

/* ---- Flap counters */

START_TEST(flap_backoff_and_give_up)
{
	struct vmh_vmfail_conf *c;
	struct vmh_vmfail_flap f;
	long long t = 1000000000LL * 1000, next;
	int n;

	ck_assert_int_eq(vmh_vmfail_conf_default(&c, NULL), VMH_OK);
	c->max_recoveries = 4;
	c->backoff_s = 60;
	c->backoff_factor = 2;
	c->backoff_max_s = 100;
	memset(&f, 0, sizeof(f));

	ck_assert_int_eq(vmh_vmfail_flap_check(c, &f, t, &next, &n),
			 VMH_VF_FLAP_GO);
	ck_assert_int_eq(n, 0);
	vmh_vmfail_flap_record(&f, t, 1);
	vmh_vmfail_flap_record(&f, t, 1); /* the same episode again */
	ck_assert_int_eq(f.n, 1);

	/* Second episode: 60 s after the first. */
	ck_assert_int_eq(vmh_vmfail_flap_check(c, &f, t + 59999, &next, &n),
			 VMH_VF_FLAP_WAIT);
	ck_assert_int_eq(next, t + 60000);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(vmh_vmfail_flap_check(c, &f, t + 60000, &next, &n),
			 VMH_VF_FLAP_GO);
	vmh_vmfail_flap_record(&f, t + 60000, 2);

	/* Third: 120 s, capped at backoff_max = 100 s. */
	ck_assert_int_eq(vmh_vmfail_flap_check(c, &f, t + 60001, &next, &n),
			 VMH_VF_FLAP_WAIT);
	ck_assert_int_eq(next, t + 160000);
	vmh_vmfail_flap_record(&f, t + 160000, 3);
	vmh_vmfail_flap_record(&f, t + 260000, 4);

	/* Four in the window: give up. */
	ck_assert_int_eq(vmh_vmfail_flap_check(c, &f, t + 400000, &next, &n),
			 VMH_VF_FLAP_GIVE_UP);
	ck_assert_int_eq(n, 4);

	/* An hour after the first, it leaves the window. */
	ck_assert_int_eq(
	    vmh_vmfail_flap_check(c, &f, t + 3600000 + 1, &next, &n),
	    VMH_VF_FLAP_GO);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(f.n, 3);

	/* An episode that sent nothing comes off. */
	ck_assert_int_eq(vmh_vmfail_flap_forget(&f, 3), 1);
	ck_assert_int_eq(vmh_vmfail_flap_forget(&f, 3), 0);
	ck_assert_int_eq(f.n, 2);
	ck_assert_int_eq(f.ep[0], 2);
	ck_assert_int_eq(f.ep[1], 4);

	/* No backoff configured: never wait. */
	c->backoff_s = 0;
	c->backoff_max_s = 0;
	ck_assert_int_eq(vmh_vmfail_flap_check(c, &f, t + 260001, &next, &n),
			 VMH_VF_FLAP_GO);
	vmh_vmfail_conf_free(c);
}
END_TEST

START_TEST(flap_counters_are_bounded)
{
	struct vmh_vmfail_flap f;
	int i;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < VMH_VMFAIL_FLAP_MAX + 10; i++)
		vmh_vmfail_flap_record(&f, 1000 + i, i + 1);
	ck_assert_int_eq(f.n, VMH_VMFAIL_FLAP_MAX);
	ck_assert_int_eq(f.ep[0], 11); /* the oldest went */
}
END_TEST

START_TEST(flap_file_round_trip)
{
	struct vmh_vmfail_flap f, g;
	struct vmh_error err;
	char *path;

	ck_assert(asprintf(&path, "%s/vm-1.json", dir) > 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vmfail_flap_load(path, &g, &err), VMH_OK);
	ck_assert_int_eq(g.n, 0); /* missing: empty */
	memset(&f, 0, sizeof(f));
	vmh_vmfail_flap_record(&f, 1700000000123LL, 1700000000100LL);
	vmh_vmfail_flap_record(&f, 1700000100456LL, 1700000100400LL);
	f.gave_up = 1700000200;
	f.gave_up_marked = 1;
	vmh_strlcpy(f.gave_up_reason, "2 recoveries \"quoted\"",
		    sizeof(f.gave_up_reason));
	ck_assert_int_eq(vmh_vmfail_flap_save(path, &f, &err), VMH_OK);
	ck_assert_int_eq(vmh_vmfail_flap_load(path, &g, &err), VMH_OK);
	ck_assert_int_eq(g.n, 2);
	ck_assert_int_eq(g.t[1], 1700000100456LL);
	ck_assert_int_eq(g.ep[0], 1700000000100LL);
	ck_assert_int_eq(g.gave_up, 1700000200);
	ck_assert_int_eq(g.gave_up_marked, 1);
	ck_assert_str_eq(g.gave_up_reason, "2 recoveries \"quoted\"");
	/* Replaced whole: no temporary file left beside it. */
	{
		DIR *d = opendir(dir);
		struct dirent *de;
		int n = 0;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.';
		closedir(d);
		ck_assert_int_eq(n, 1);
	}
	free(path);
}
END_TEST

START_TEST(flap_file_corruption)
{
	static const char *const bad[] = {
		"{\"episodes\": [",
		"[]",
		"{\"episodes\": {}}",
		"{\"episodes\": [{\"t\": \"yesterday\", \"ep\": 1}]}",
		"{\"episodes\": [{\"t\": -5, \"ep\": 1}]}",
		"{\"episodes\": [], \"gave_up\": true}",
		"{\"episodes\": [], \"gave_up_marked\": 1}",
		"{\"episodes\": [], \"reason\": 7}",
		"{\"episodes\": [], \"episodes\": []}",
		"",
	};
	struct vmh_vmfail_flap g;
	struct vmh_error err;
	char *path, *big, *link;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = tu_write(dir, "vm-2.json", bad[i], 0600);
		vmh_error_init(&err);
		ck_assert_msg(vmh_vmfail_flap_load(path, &g, &err) ==
				  VMH_E_DATA,
			      "accepted: %s", bad[i]);
		ck_assert_int_eq(g.n, 0);
		ck_assert_ptr_nonnull(strstr(err.source, "vm-2.json"));
		free(path);
	}
	/* Bigger than any file we write. */
	big = calloc(1, 70000);
	memset(big, ' ', 69999);
	big[0] = '{';
	path = tu_write(dir, "vm-3.json", big, 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vmfail_flap_load(path, &g, &err), VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "larger than"));
	free(big);
	/* A symlink planted in the state dir is not followed. */
	ck_assert(asprintf(&link, "%s/vm-4.json", dir) > 0);
	ck_assert_int_eq(symlink(path, link), 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vmfail_flap_load(link, &g, &err), VMH_E_SYSTEM);
	free(link);
	free(path);
}
END_TEST

/* ---- The hook's argument */

static char *
b64(const char *s)
{
	return vmh_base64_encode(s, strlen(s));
}

START_TEST(hook_arg_forms)
{
	struct vmh_error err;
	char *id, *arg;
	int state, lcm;

	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_vmfail_parse_hook_arg("42", &id, &state, &lcm, &err), VMH_OK);
	ck_assert_str_eq(id, "42");
	ck_assert_int_eq(state, -1);
	free(id);

	arg = b64("<VM><ID>17</ID><NAME><![CDATA[web-17]]></NAME>"
		  "<STATE>3</STATE><LCM_STATE>36</LCM_STATE>"
		  "<USER_TEMPLATE><HA><![CDATA[yes]]></HA></USER_TEMPLATE>"
		  "</VM>");
	ck_assert_int_eq(
	    vmh_vmfail_parse_hook_arg(arg, &id, &state, &lcm, &err), VMH_OK);
	ck_assert_str_eq(id, "17");
	ck_assert_int_eq(state, 3);
	ck_assert_int_eq(lcm, 36);
	free(id);
	free(arg);

	arg = b64("<VM><ID>5</ID><NAME>old</NAME><STATE>7</STATE>"
		  "<LCM_STATE>0</LCM_STATE></VM>");
	ck_assert_int_eq(
	    vmh_vmfail_parse_hook_arg(arg, &id, &state, &lcm, &err), VMH_OK);
	ck_assert_int_eq(state, 7);
	free(id);
	free(arg);
}
END_TEST

START_TEST(hook_arg_rejects)
{
	static const char *const xml[] = {
		"<VM><ID>1</ID>",                          /* malformed */
		"<HOST><ID>1</ID><NAME>h</NAME></HOST>",   /* not a VM */
		"<VM><NAME>x</NAME><STATE>3</STATE></VM>", /* no ID */
		"<VM><ID>-4</ID><NAME>x</NAME><STATE>3</STATE></VM>",
		"<VM><ID>1</ID><NAME>x</NAME><STATE>3</STATE></VM>",
		"<!DOCTYPE VM [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<VM><ID>1</ID><NAME>&x;</NAME><STATE>1</STATE></VM>",
		"not xml at all",
	};
	struct vmh_error err;
	static char sentinel[] = "sentinel";
	char *id = sentinel, *arg;
	int state, lcm;
	size_t i;

	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_vmfail_parse_hook_arg("not*base64", &id, &state, &lcm, &err),
	    VMH_E_DATA);
	ck_assert_ptr_null(id);
	ck_assert_ptr_nonnull(strstr(err.text, "neither a VM ID nor base64"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vmfail_parse_hook_arg("", &id, &state, &lcm, &err),
			 VMH_E_DATA);
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_vmfail_parse_hook_arg("99999999999", &id, &state, &lcm, &err),
	    VMH_E_DATA);
	for (i = 0; i < sizeof(xml) / sizeof(xml[0]); i++) {
		arg = b64(xml[i]);
		vmh_error_init(&err);
		ck_assert_msg(vmh_vmfail_parse_hook_arg(arg, &id, &state, &lcm,
							&err) == VMH_E_DATA,
			      "accepted: %s", xml[i]);
		ck_assert_ptr_null(id);
		ck_assert_str_eq(err.source, "hook argument");
		free(arg);
	}
	/* Binary, with a NUL byte. */
	arg = vmh_base64_encode("<VM>\0</VM>", 10);
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_vmfail_parse_hook_arg(arg, &id, &state, &lcm, &err),
	    VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "binary"));
	free(arg);
}
END_TEST

START_TEST(names_round_trip)
{
	int a;

	for (a = 0; a < VMH_VF_ACTION_COUNT; a++)
		ck_assert_int_eq(
		    vmh_vmfail_action_parse(vmh_vmfail_action_name(a)), a);
	ck_assert_int_eq(vmh_vmfail_action_parse("RECREATE"), VMH_VF_RECREATE);
	ck_assert_int_eq(vmh_vmfail_action_parse("reboot"), -1);
	ck_assert_str_eq(vmh_vmfail_outcome_name(VMH_VF_OUT_GAVE_UP),
			 "gave_up");
	ck_assert_str_eq(vmh_vmfail_trigger_name(VMH_VF_TRIGGER_PROBE),
			 "probe");
}
END_TEST

static Suite *
vmfail_suite(void)
{
	Suite *s = suite_create("vmfail");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_per_state);
	tcase_add_test(tc, valid_section);
	tcase_add_test(tc, section_errors_name_file_and_line);
	tcase_add_test(tc, decision_table);
	tcase_add_test(tc, per_vm_policy);
	tcase_add_test(tc, flap_backoff_and_give_up);
	tcase_add_test(tc, flap_counters_are_bounded);
	tcase_add_test(tc, flap_file_round_trip);
	tcase_add_test(tc, flap_file_corruption);
	tcase_add_test(tc, hook_arg_forms);
	tcase_add_test(tc, hook_arg_rejects);
	tcase_add_test(tc, names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(vmfail_suite());
}
