/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one-VM recovery flow (see vmfail.h). Journal records of an episode,
 * one JSON object per line in STATE_DIR/vms/vm-ID.journal:
 *   begin    {ep, key, steps, state, lcm, trigger, reason, pid}
 *   intent   {ep, step, action, state, lcm, seq, vstate, resched}
 *            durable before the request is sent
 *   result   {ep, step, ok, transient, detail}
 *   verified {ep, step, ok, how, detail}
 *   gave_up  {reason}          before the VM is marked
 *   marked   {ok, detail}      the answer to the mark
 *   end      {ep, outcome}     closes the episode; the journal then
 *                              becomes vm-ID.prev.journal
 * An episode with a `begin` and no `end` is taken up by the next run.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cloud_one.h"
#include "exec.h"
#include "journal.h"
#include "lock.h"
#include "log.h"
#include "policy.h"
#include "str.h"
#include "vmfail.h"

#define VMFAIL_HOOK_ARG_MAX (16 * 1024 * 1024)
#define VMFAIL_STATE_MAX    (64 * 1024)
#define VMFAIL_ID_MAX       0x7fffffffLL

/* OpenNebula numbers this module reasons about (reference §5). */
#define ONE_ACTIVE                          3
#define ONE_FAILED                          7
#define ONE_CLONING_FAILURE                 11
#define LCM_FAILURE                         14
#define LCM_UNKNOWN                         16
#define LCM_EPILOG_FAILURE                  40
#define LCM_EPILOG_STOP_FAILURE             41
#define LCM_EPILOG_UNDEPLOY_FAILURE         42
#define LCM_PROLOG_MIGRATE_POWEROFF_FAILURE 44
#define LCM_PROLOG_MIGRATE_SUSPEND_FAILURE  46

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The LCM states a `states` key may name: the *_FAILURE states of 4.14+,
 * 4.x's transient FAILURE, and UNKNOWN. */
static const int failure_lcms[] = { 36, 37, 38, 39, 40, 41, 42,
				    44, 46, 47, 48, 49, 50, 61 };

static const char *const action_names[VMH_VF_ACTION_COUNT] = {
	"none",        "retry",   "recreate", "resume",
	"reboot-hard", "resched", "delete",   "rebuild",
};

const char *
vmh_vmfail_action_name(enum vmh_vmfail_action a)
{
	if ((unsigned)a >= VMH_VF_ACTION_COUNT)
		return "unknown";
	return action_names[a];
}

int
vmh_vmfail_action_parse(const char *s)
{
	int i;

	for (i = 0; i < VMH_VF_ACTION_COUNT; i++)
		if (strcasecmp(s, action_names[i]) == 0)
			return i;
	/* What recreate does on OpenStack, in OpenStack's word. */
	if (strcasecmp(s, "evacuate") == 0)
		return VMH_VF_RECREATE;
	return -1;
}

const char *
vmh_vmfail_outcome_name(enum vmh_vmfail_outcome o)
{
	switch (o) {
	case VMH_VF_OUT_RECOVERED:
		return "recovered";
	case VMH_VF_OUT_PENDING:
		return "pending";
	case VMH_VF_OUT_PLANNED:
		return "planned";
	case VMH_VF_OUT_NOTHING:
		return "nothing";
	case VMH_VF_OUT_HOST_ERROR:
		return "host_error";
	case VMH_VF_OUT_BUSY:
		return "busy";
	case VMH_VF_OUT_DEFERRED:
		return "deferred";
	case VMH_VF_OUT_GAVE_UP:
		return "gave_up";
	case VMH_VF_OUT_FAILED:
		return "failed";
	}
	return "unknown";
}

const char *
vmh_vmfail_trigger_name(enum vmh_vmfail_trigger t)
{
	switch (t) {
	case VMH_VF_TRIGGER_HOOK:
		return "hook";
	case VMH_VF_TRIGGER_PROBE:
		return "probe";
	case VMH_VF_TRIGGER_MANUAL:
		return "manual";
	}
	return "unknown";
}

static int
is_failure_lcm(int lcm)
{
	size_t i;

	for (i = 0; i < NELEM(failure_lcms); i++)
		if (failure_lcms[i] == lcm)
			return 1;
	return 0;
}

/* Index in conf->states of a key name, or -1. */
static int
key_index(const char *name)
{
	size_t i;

	if (strcasecmp(name, "FAILED") == 0)
		return VMH_VF_KEY_FAILED;
	if (strcasecmp(name, "CLONING_FAILURE") == 0)
		return VMH_VF_KEY_CLONING_FAILURE;
	if (strcasecmp(name, "ERROR") == 0)
		return VMH_VF_KEY_ERROR;
	if (strcasecmp(name, "SHUTOFF") == 0)
		return VMH_VF_KEY_SHUTOFF;
	if (strcasecmp(name, vmh_one_lcm_state_name(LCM_UNKNOWN)) == 0)
		return LCM_UNKNOWN;
	if (strcasecmp(name, vmh_one_lcm_state_name(LCM_FAILURE)) == 0)
		return LCM_FAILURE;
	for (i = 0; i < NELEM(failure_lcms); i++)
		if (strcasecmp(name, vmh_one_lcm_state_name(failure_lcms[i])) ==
		    0)
			return failure_lcms[i];
	return -1;
}

static const char *
key_name(int idx)
{
	if (idx == VMH_VF_KEY_FAILED)
		return "FAILED";
	if (idx == VMH_VF_KEY_CLONING_FAILURE)
		return "CLONING_FAILURE";
	if (idx == VMH_VF_KEY_ERROR)
		return "ERROR";
	if (idx == VMH_VF_KEY_SHUTOFF)
		return "SHUTOFF";
	return vmh_one_lcm_state_name(idx);
}

int
vmh_vmfail_state_key(const struct vmh_vm *vm, const char **name)
{
	int idx = -1;

	if (vm->raw_state == ONE_ACTIVE &&
	    (vm->raw_lcm == LCM_UNKNOWN || vm->raw_lcm == LCM_FAILURE ||
	     is_failure_lcm(vm->raw_lcm)))
		idx = vm->raw_lcm;
	else if (vm->raw_state == ONE_FAILED)
		idx = VMH_VF_KEY_FAILED;
	else if (vm->raw_state == ONE_CLONING_FAILURE)
		idx = VMH_VF_KEY_CLONING_FAILURE;
	else if (vm->raw_state < 0 && vm->state == VMH_VM_FAILED)
		idx = VMH_VF_KEY_ERROR;
	else if (vm->raw_state < 0 && vm->state == VMH_VM_POWEROFF &&
		 vm->stop_cause == VMH_STOP_UNEXPECTED)
		idx = VMH_VF_KEY_SHUTOFF;
	else if (vm->raw_state < 0 && vm->state == VMH_VM_UNKNOWN)
		idx = LCM_UNKNOWN;
	if (name != NULL)
		*name = idx >= 0 ? key_name(idx) : NULL;
	return idx;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

static void
ladder(struct vmh_vmfail_conf *c, int idx, enum vmh_vmfail_action a,
       enum vmh_vmfail_action b)
{
	struct vmh_vmfail_ladder *l = &c->states[idx];

	l->n = 0;
	l->set = 1;
	if (a != VMH_VF_NONE)
		l->steps[l->n++] = a;
	if (b != VMH_VF_NONE)
		l->steps[l->n++] = b;
}

enum vmh_rc
vmh_vmfail_conf_default(struct vmh_vmfail_conf **out, struct vmh_error *err)
{
	struct vmh_vmfail_conf *c = calloc(1, sizeof(*c));
	size_t i;

	*out = NULL;
	if (c == NULL ||
	    (c->gave_up_attribute = strdup("HA_GAVE_UP")) == NULL) {
		free(c);
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	}
	c->max_recoveries = 3;
	c->window_s = 3600;
	c->backoff_s = 60;
	c->backoff_factor = 2;
	c->backoff_max_s = 3600;
	c->max_wait_s = 600;
	c->verify_timeout_s = 300;
	c->verify_interval_ms = 1000;
	c->settle_ms = 2000;
	c->accept_pending = 1;
	c->protect_by_default = 1;
	c->notify_timeout_s = 30;
	/* A retry re-runs the driver step that failed, on the same host:
	 * worth one try for every failure; when the VM was on its way to
	 * run, recreating it (on any host) comes next. A VM that failed
	 * while being terminated, stopped, undeployed, or moved while off or
	 * suspended is only retried: recreating it would boot a VM its owner
	 * did not want running. */
	for (i = 0; i < NELEM(failure_lcms); i++)
		ladder(c, failure_lcms[i], VMH_VF_RETRY, VMH_VF_RECREATE);
	ladder(c, LCM_EPILOG_FAILURE, VMH_VF_RETRY, VMH_VF_NONE);
	ladder(c, LCM_EPILOG_STOP_FAILURE, VMH_VF_RETRY, VMH_VF_NONE);
	ladder(c, LCM_EPILOG_UNDEPLOY_FAILURE, VMH_VF_RETRY, VMH_VF_NONE);
	ladder(c, LCM_PROLOG_MIGRATE_POWEROFF_FAILURE, VMH_VF_RETRY,
	       VMH_VF_NONE);
	ladder(c, LCM_PROLOG_MIGRATE_SUSPEND_FAILURE, VMH_VF_RETRY,
	       VMH_VF_NONE);
	ladder(c, LCM_UNKNOWN, VMH_VF_RESUME, VMH_VF_RECREATE);
	ladder(c, LCM_FAILURE, VMH_VF_RECREATE, VMH_VF_NONE);
	ladder(c, VMH_VF_KEY_FAILED, VMH_VF_RECREATE, VMH_VF_NONE);
	/* The VM's images could not be copied: an operator's matter. */
	ladder(c, VMH_VF_KEY_CLONING_FAILURE, VMH_VF_NONE, VMH_VF_NONE);
	/* OpenStack: a hard reboot on the same host clears most ERRORs and
	 * starts a server whose guest went down; a rebuild (the root disk
	 * re-imaged, as OpenNebula's recreate does) comes next. An
	 * evacuation needs the compute service down: host_error's case. */
	ladder(c, VMH_VF_KEY_ERROR, VMH_VF_REBOOT_HARD, VMH_VF_REBUILD);
	ladder(c, VMH_VF_KEY_SHUTOFF, VMH_VF_REBOOT_HARD, VMH_VF_REBUILD);
	*out = c;
	return VMH_OK;
}

void
vmh_vmfail_conf_free(struct vmh_vmfail_conf *c)
{
	if (c == NULL)
		return;
	free(c->gave_up_attribute);
	vmh_strv_free(c->notify_command);
	free(c);
}

/* Is action a meaningful for state key idx? NULL if so, else why not. */
static const char *
action_misfit(int idx, enum vmh_vmfail_action a)
{
	int failure = idx <= VMH_VMFAIL_LCM_MAX && is_failure_lcm(idx);
	int nova = idx == VMH_VF_KEY_ERROR || idx == VMH_VF_KEY_SHUTOFF;

	switch (a) {
	case VMH_VF_RETRY:
		return failure ? NULL
			       : "retry (recover op 2) only applies to "
				 "*_FAILURE states";
	case VMH_VF_RESUME:
		return idx == LCM_UNKNOWN || idx == VMH_VF_KEY_SHUTOFF
			   ? NULL
			   : "only applies to UNKNOWN and SHUTOFF";
	case VMH_VF_RESCHED:
		return idx == LCM_UNKNOWN ? NULL : "only applies to UNKNOWN";
	case VMH_VF_REBOOT_HARD:
		return nova ? NULL
			    : "reboot-hard needs a RUNNING VM on OpenNebula "
			      "(vm_probe asks for it); OpenStack's ERROR and "
			      "SHUTOFF take it";
	case VMH_VF_REBUILD:
		return nova ? NULL
			    : "rebuild is OpenStack's: it applies to ERROR "
			      "and SHUTOFF";
	default:
		return NULL;
	}
}

static enum vmh_rc
parse_ladder(const vmh_setting *g, const char *name, int idx,
	     struct vmh_vmfail_conf *c, struct vmh_error *err)
{
	const vmh_setting *s = config_setting_get_member(g, name);
	struct vmh_vmfail_ladder *l = &c->states[idx];
	char **v = NULL;
	enum vmh_rc rc;
	int i, k, a;

	if ((rc = vmh_conf_get_strv(g, name, &v, err)) != VMH_OK)
		return rc;
	memset(l, 0, sizeof(*l));
	l->set = 1;
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		const char *why;

		if ((a = vmh_vmfail_action_parse(v[i])) < 0) {
			rc = vmh_conf_error(
			    s, err,
			    "vm_failure.states.%s: unknown action '%.40s' "
			    "(retry, recreate, resume, resched, delete, "
			    "reboot-hard, rebuild, evacuate, none)",
			    name, v[i]);
			goto done;
		}
		if ((why = action_misfit(idx, a)) != NULL) {
			rc = vmh_conf_error(s, err,
					    "vm_failure.states.%s: %s: %s",
					    name, v[i], why);
			goto done;
		}
		if (a == VMH_VF_NONE) {
			if (i > 0 || v[1] != NULL) {
				rc = vmh_conf_error(
				    s, err,
				    "vm_failure.states.%s: \"none\" must "
				    "be alone",
				    name);
				goto done;
			}
			continue;
		}
		for (k = 0; k < l->n; k++)
			if (l->steps[k] == (enum vmh_vmfail_action)a) {
				rc = vmh_conf_error(
				    s, err, "vm_failure.states.%s: '%s' twice",
				    name, v[i]);
				goto done;
			}
		if (l->n >= VMH_VMFAIL_MAX_STEPS) {
			rc = vmh_conf_error(s, err,
					    "vm_failure.states.%s: at most %d "
					    "steps",
					    name, VMH_VMFAIL_MAX_STEPS);
			goto done;
		}
		l->steps[l->n++] = (enum vmh_vmfail_action)a;
	}
done:
	vmh_strv_free(v);
	return rc;
}

static enum vmh_rc
parse_states(const vmh_setting *g, struct vmh_vmfail_conf *c,
	     struct vmh_error *err)
{
	enum vmh_rc rc;
	int i, n, idx;

	if (!config_setting_is_group(g))
		return vmh_conf_error(g, err,
				      "vm_failure.states: must be a group "
				      "{ STATE = [ ... ]; ... }");
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const vmh_setting *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);

		if ((idx = key_index(name)) < 0)
			return vmh_conf_error(
			    s, err,
			    "vm_failure.states: '%s' is not a failure state "
			    "(a *_FAILURE LCM state, UNKNOWN, FAILED, "
			    "CLONING_FAILURE, or OpenStack's ERROR and "
			    "SHUTOFF)",
			    name);
		if ((rc = parse_ladder(g, name, idx, c, err)) != VMH_OK)
			return rc;
	}
	return VMH_OK;
}

/* An attribute name oned accepts as a template key. */
static int
valid_key(const char *k)
{
	const char *p;

	if (k == NULL || *k == '\0' || (*k >= '0' && *k <= '9') ||
	    strlen(k) > 64)
		return 0;
	for (p = k; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

enum vmh_rc
vmh_vmfail_conf_parse(const vmh_setting *g, struct vmh_vmfail_conf **out,
		      struct vmh_error *err)
{
	static const char *const keys[] = { "max_recoveries",
					    "window",
					    "backoff",
					    "backoff_factor",
					    "backoff_max",
					    "max_wait",
					    "verify_timeout",
					    "verify_interval_ms",
					    "settle_ms",
					    "accept_pending",
					    "protect_by_default",
					    "gave_up_attribute",
					    "notify_command",
					    "notify_timeout",
					    "states",
					    NULL };
	struct vmh_vmfail_conf *c = NULL;
	const vmh_setting *s;
	enum vmh_rc rc;

	*out = NULL;
	if ((rc = vmh_vmfail_conf_default(&c, err)) != VMH_OK)
		return rc;
	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "max_recoveries", 1, VMH_VMFAIL_FLAP_MAX,
				   &c->max_recoveries, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "window", 1, 30 * 86400, &c->window_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "backoff", 0, 86400, &c->backoff_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "backoff_factor", 1, 10,
				   &c->backoff_factor, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "backoff_max", 0, 7 * 86400,
				   &c->backoff_max_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "max_wait", 0, 86400, &c->max_wait_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "verify_timeout", 1, 86400,
				   &c->verify_timeout_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "verify_interval_ms", 10, 600000,
				   &c->verify_interval_ms, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "settle_ms", 0, 600000, &c->settle_ms,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "accept_pending", &c->accept_pending,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "protect_by_default",
				    &c->protect_by_default, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "gave_up_attribute",
				      &c->gave_up_attribute, err)) != VMH_OK ||
	    (rc = vmh_conf_get_strv(g, "notify_command", &c->notify_command,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "notify_timeout", 1, 3600,
				   &c->notify_timeout_s, err)) != VMH_OK)
		goto done;
	if (!valid_key(c->gave_up_attribute)) {
		rc = vmh_conf_error(
		    config_setting_get_member(g, "gave_up_attribute"), err,
		    "vm_failure.gave_up_attribute: '%.64s' is not a template "
		    "attribute name (letters, digits, _)",
		    c->gave_up_attribute);
		goto done;
	}
	if (c->backoff_max_s < c->backoff_s) {
		rc = vmh_conf_error(
		    config_setting_get_member(g, "backoff_max") != NULL
			? config_setting_get_member(g, "backoff_max")
			: config_setting_get_member(g, "backoff"),
		    err, "vm_failure.backoff_max (%d) is below backoff (%d)",
		    c->backoff_max_s, c->backoff_s);
		goto done;
	}
	if (c->notify_command != NULL && c->notify_command[0] == NULL) {
		rc = vmh_conf_error(
		    config_setting_get_member(g, "notify_command"), err,
		    "vm_failure.notify_command: empty");
		goto done;
	}
	if ((s = config_setting_get_member(g, "states")) != NULL &&
	    (rc = parse_states(s, c, err)) != VMH_OK)
		goto done;
	*out = c;
	c = NULL;
done:
	vmh_vmfail_conf_free(c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The hook's argument                                                 */

enum vmh_rc
vmh_vmfail_parse_hook_arg(const char *arg, char **id, int *state, int *lcm,
			  struct vmh_error *err)
{
	struct vmh_error e2;
	struct vmh_vm vm;
	char *decoded = NULL;
	size_t len = 0, alen;
	long long n;
	enum vmh_rc rc;

	*id = NULL;
	*state = *lcm = -1;
	memset(&vm, 0, sizeof(vm));
	if (vmh_str_isdigits(arg)) {
		if (vmh_strtonum(arg, 0, VMFAIL_ID_MAX, &n, "VM ID", err) !=
		    VMH_OK)
			return VMH_E_DATA;
		if ((*id = strdup(arg)) == NULL)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
		return VMH_OK;
	}
	if ((alen = strnlen(arg, VMFAIL_HOOK_ARG_MAX + 1)) >
	    VMFAIL_HOOK_ARG_MAX)
		return vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				     "larger than %d bytes",
				     VMFAIL_HOOK_ARG_MAX);
	vmh_error_init(&e2);
	if (alen == 0 ||
	    vmh_base64_decode(arg, alen, &decoded, &len, &e2) != VMH_OK) {
		rc = vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				   "neither a VM ID nor base64 of a <VM> "
				   "document ('%.20s%s')",
				   arg, alen > 20 ? "..." : "");
		goto done;
	}
	if (memchr(decoded, '\0', len) != NULL) {
		rc = vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				   "base64 decodes to binary data, not a <VM> "
				   "document");
		goto done;
	}
	if (vmh_one_parse_vm(decoded, len, &vm, &e2) != VMH_OK) {
		rc = vmh_error_set(err, VMH_E_DATA, "hook argument", e2.line,
				   "base64 decodes to no usable <VM> document: "
				   "%s",
				   e2.text);
		goto done;
	}
	if ((*id = strdup(vm.id)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	*state = vm.raw_state;
	*lcm = vm.raw_lcm;
	rc = VMH_OK;
done:
	vmh_vm_clear(&vm);
	free(decoded);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The decision                                                        */

static int
needs_healing(const struct vmh_vm *vm, const char *key)
{
	/* A stopped OpenStack server, in an episode that began because
	 * nobody had asked for the stop. */
	return vm->state == VMH_VM_FAILED || vm->state == VMH_VM_UNKNOWN ||
	       (vm->raw_state < 0 && vm->state == VMH_VM_POWEROFF &&
		key != NULL && strcmp(key, "SHUTOFF") == 0);
}

/* HA_ACTION names what to do when the VM must be replaced or moved: it
 * takes the place of the ladder's recreate/delete/resched steps; the
 * gentle steps (retry, resume, reboot-hard) stay. */
static void
apply_ha_action(struct vmh_vmfail_plan *p, const struct vmh_vm *vm,
		enum vmh_ha_action ha)
{
	enum vmh_vmfail_action with, out[VMH_VMFAIL_MAX_STEPS];
	int i, n = 0, k, dup;
	size_t len;

	switch (ha) {
	case VMH_HA_RECREATE:
		with = VMH_VF_RECREATE;
		break;
	case VMH_HA_DELETE:
		with = VMH_VF_DELETE;
		break;
	case VMH_HA_MIGRATE:
		/* resched moves only RUNNING and UNKNOWN VMs. */
		if (vm->state != VMH_VM_UNKNOWN &&
		    vm->state != VMH_VM_RUNNING) {
			len = strlen(p->note);
			snprintf(p->note + len, sizeof(p->note) - len,
				 "%sHA_ACTION=migrate cannot move a VM in "
				 "this state: kept the configured steps",
				 len ? "; " : "");
			return;
		}
		with = VMH_VF_RESCHED;
		break;
	default:
		return;
	}
	for (i = 0; i < p->n_steps; i++) {
		enum vmh_vmfail_action a = p->steps[i];

		if (a == VMH_VF_RECREATE || a == VMH_VF_DELETE ||
		    a == VMH_VF_RESCHED)
			a = with;
		for (k = 0, dup = 0; k < n; k++)
			dup |= out[k] == a;
		if (!dup)
			out[n++] = a;
	}
	memcpy(p->steps, out, sizeof(out[0]) * (size_t)n);
	p->n_steps = n;
}

void
vmh_vmfail_decide(const struct vmh_vmfail_conf *c, const struct vmh_vm *vm,
		  enum vmh_host_state host_state,
		  const enum vmh_vmfail_action *override, int n_override,
		  struct vmh_vmfail_plan *p)
{
	const char *mark = vmh_attr_get(vm->attrs, c->gave_up_attribute);
	const char *act = vmh_attr_get(vm->attrs, "HA_ACTION");
	int idx, ha = VMH_HA_UNSET, i, have_host;

	memset(p, 0, sizeof(*p));
	idx = vmh_vmfail_state_key(vm, &p->key);
	have_host = vm->host_id != NULL && vm->host_id[0] != '\0';

	if (mark != NULL && *mark != '\0') {
		p->verdict = VMH_VF_GAVE_UP_EARLIER;
		snprintf(p->note, sizeof(p->note),
			 "%s=\"%.100s\": left alone until an operator "
			 "removes it",
			 c->gave_up_attribute, mark);
		return;
	}
	if (override == NULL && idx < 0) {
		p->verdict = VMH_VF_NOT_FAILED;
		snprintf(p->note, sizeof(p->note), "%s: nothing to heal",
			 vm->state_text ? vm->state_text
					: vmh_vm_state_name(vm->state));
		return;
	}
	if (!vmh_policy_ha_enabled(vm, c->protect_by_default, p->note,
				   sizeof(p->note))) {
		p->verdict = VMH_VF_HA_OFF;
		snprintf(p->note, sizeof(p->note), "%s",
			 vmh_attr_get(vm->attrs, "HA") != NULL ||
				 vmh_attr_get(vm->attrs, "HA_Enabled") != NULL
			     ? "HA=no"
			     : "no HA attribute and protect_by_default is "
			       "off");
		return;
	}
	if (act != NULL && (ha = vmh_ha_action_parse(act)) < 0) {
		size_t len = strlen(p->note);

		snprintf(p->note + len, sizeof(p->note) - len,
			 "%sHA_ACTION=\"%.40s\" not understood, ignored",
			 len ? "; " : "", act);
		ha = VMH_HA_UNSET;
	}
	if (ha == VMH_HA_NONE) {
		p->verdict = VMH_VF_HA_OFF;
		snprintf(p->note, sizeof(p->note), "HA_ACTION=none");
		return;
	}
	if (have_host && host_state == VMH_HOST_DOWN) {
		p->verdict = VMH_VF_HOST_OWNED;
		snprintf(p->note, sizeof(p->note),
			 "its host %s is in ERROR: host_error owns it",
			 vm->host_name ? vm->host_name : vm->host_id);
		return;
	}
	if (override != NULL) {
		for (i = 0; i < n_override && i < VMH_VMFAIL_MAX_STEPS; i++)
			if (override[i] != VMH_VF_NONE)
				p->steps[p->n_steps++] = override[i];
	} else {
		const struct vmh_vmfail_ladder *l = &c->states[idx];

		for (i = 0; i < l->n; i++)
			p->steps[p->n_steps++] = l->steps[i];
	}
	if (p->n_steps == 0) {
		p->verdict = VMH_VF_NO_ACTION;
		snprintf(p->note, sizeof(p->note),
			 "no action configured for %s (vm_failure.states): "
			 "alert only",
			 p->key ? p->key : "this state");
		return;
	}
	/* UNKNOWN is healed on its own host: that host must be up. */
	if (vm->state == VMH_VM_UNKNOWN && have_host &&
	    host_state != VMH_HOST_UP && host_state != VMH_HOST_DISABLED) {
		p->n_steps = 0;
		if (host_state == VMH_HOST_OFFLINE) {
			p->verdict = VMH_VF_NO_ACTION;
			snprintf(p->note, sizeof(p->note),
				 "its host %s is OFFLINE (taken out by an "
				 "operator): not touching it",
				 vm->host_name ? vm->host_name : vm->host_id);
			return;
		}
		p->verdict = VMH_VF_HOST_WAIT;
		snprintf(p->note, sizeof(p->note),
			 "its host %s is %s, not yet healthy: try again later",
			 vm->host_name ? vm->host_name : vm->host_id,
			 vmh_host_state_name(host_state));
		return;
	}
	apply_ha_action(p, vm, (enum vmh_ha_action)ha);
	p->verdict = VMH_VF_ACT;
}

/* ------------------------------------------------------------------ */
/* Flap counters                                                       */

enum vmh_vmfail_flap_verdict
vmh_vmfail_flap_check(const struct vmh_vmfail_conf *c,
		      struct vmh_vmfail_flap *f, long long now,
		      long long *next_allowed, int *count)
{
	long long gap, last = 0;
	int i, k = 0, n;

	for (i = 0; i < f->n; i++) {
		if (f->t[i] <= now - c->window_s * 1000LL)
			continue;
		f->t[k] = f->t[i];
		f->ep[k] = f->ep[i];
		k++;
	}
	f->n = k;
	*count = k;
	*next_allowed = now;
	if (k >= c->max_recoveries)
		return VMH_VF_FLAP_GIVE_UP;
	if (k == 0)
		return VMH_VF_FLAP_GO;
	for (i = 0; i < k; i++)
		if (f->t[i] > last)
			last = f->t[i];
	/* backoff * factor^(k-1), capped without overflowing. */
	gap = c->backoff_s;
	for (n = 1; n < k && gap < c->backoff_max_s; n++)
		gap *= c->backoff_factor;
	if (gap > c->backoff_max_s)
		gap = c->backoff_max_s;
	gap *= 1000;
	if (now >= last + gap)
		return VMH_VF_FLAP_GO;
	*next_allowed = last + gap;
	return VMH_VF_FLAP_WAIT;
}

void
vmh_vmfail_flap_record(struct vmh_vmfail_flap *f, long long now, long long ep)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->ep[i] == ep)
			return;
	if (f->n == VMH_VMFAIL_FLAP_MAX) {
		memmove(f->t, f->t + 1, sizeof(f->t[0]) * (size_t)(f->n - 1));
		memmove(f->ep, f->ep + 1,
			sizeof(f->ep[0]) * (size_t)(f->n - 1));
		f->n--;
	}
	f->t[f->n] = now;
	f->ep[f->n] = ep;
	f->n++;
}

int
vmh_vmfail_flap_forget(struct vmh_vmfail_flap *f, long long ep)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->ep[i] == ep) {
			memmove(f->t + i, f->t + i + 1,
				sizeof(f->t[0]) * (size_t)(f->n - i - 1));
			memmove(f->ep + i, f->ep + i + 1,
				sizeof(f->ep[0]) * (size_t)(f->n - i - 1));
			f->n--;
			return 1;
		}
	return 0;
}

static enum vmh_rc
corrupt(const char *path, struct vmh_error *err, const char *what)
{
	return vmh_error_set(err, VMH_E_DATA, path, 0,
			     "not a vm_failure_recreate state file: %s", what);
}

enum vmh_rc
vmh_vmfail_flap_load(const char *path, struct vmh_vmfail_flap *f,
		     struct vmh_error *err)
{
	char *data = NULL;
	json_t *doc = NULL, *eps, *e, *v;
	json_error_t je;
	ssize_t r;
	size_t len = 0, i;
	enum vmh_rc rc = VMH_OK;
	int fd;

	memset(f, 0, sizeof(*f));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return VMH_OK;
		return vmh_error_errno(err, errno, path,
				       "cannot read flap counters");
	}
	if ((data = malloc(VMFAIL_STATE_MAX + 1)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	while (len <= VMFAIL_STATE_MAX &&
	       (r = read(fd, data + len, VMFAIL_STATE_MAX + 1 - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vmh_error_errno(err, errno, path,
					     "cannot read flap counters");
			goto done;
		}
		len += (size_t)r;
	}
	if (len > VMFAIL_STATE_MAX) {
		rc = corrupt(path, err, "larger than 64 KiB");
		goto done;
	}
	if ((doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		rc = vmh_error_set(err, VMH_E_DATA, path, je.line,
				   "not a vm_failure_recreate state file: %s",
				   je.text);
		goto done;
	}
	eps = json_object_get(doc, "episodes");
	if (!json_is_object(doc) || !json_is_array(eps)) {
		rc = corrupt(path, err, "no \"episodes\" array");
		goto done;
	}
	if (json_array_size(eps) > VMH_VMFAIL_FLAP_MAX) {
		rc = corrupt(path, err, "too many episodes");
		goto done;
	}
	json_array_foreach(eps, i, e)
	{
		json_t *t = json_object_get(e, "t"),
		       *ep = json_object_get(e, "ep");

		if (!json_is_integer(t) || !json_is_integer(ep) ||
		    json_integer_value(t) < 0 || json_integer_value(ep) < 0) {
			rc = corrupt(path, err, "an episode without t and ep");
			goto done;
		}
		f->t[f->n] = json_integer_value(t);
		f->ep[f->n] = json_integer_value(ep);
		f->n++;
	}
	v = json_object_get(doc, "gave_up");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			rc = corrupt(path, err, "bad \"gave_up\"");
			goto done;
		}
		f->gave_up = json_integer_value(v);
	}
	v = json_object_get(doc, "gave_up_marked");
	if (v != NULL) {
		if (!json_is_boolean(v)) {
			rc = corrupt(path, err, "bad \"gave_up_marked\"");
			goto done;
		}
		f->gave_up_marked = json_is_true(v);
	}
	v = json_object_get(doc, "reason");
	if (v != NULL) {
		if (!json_is_string(v)) {
			rc = corrupt(path, err, "bad \"reason\"");
			goto done;
		}
		vmh_strlcpy(f->gave_up_reason, json_string_value(v),
			    sizeof(f->gave_up_reason));
	}
done:
	if (rc != VMH_OK)
		memset(f, 0, sizeof(*f));
	json_decref(doc);
	free(data);
	close(fd);
	return rc;
}

enum vmh_rc
vmh_vmfail_flap_save(const char *path, const struct vmh_vmfail_flap *f,
		     struct vmh_error *err)
{
	char tmp[600], dir[600], *text = NULL, *slash;
	json_t *doc = NULL, *eps = json_array();
	enum vmh_rc rc = VMH_OK;
	size_t len, off = 0;
	int fd = -1, i;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return vmh_error_set(err, VMH_E_SYSTEM, path, 0,
				     "path too long");
	for (i = 0; i < f->n && eps != NULL; i++)
		json_array_append_new(eps, json_pack("{s:I, s:I}", "t",
						     (json_int_t)f->t[i], "ep",
						     (json_int_t)f->ep[i]));
	doc =
	    json_pack("{s:i, s:o, s:I, s:b, s:s}", "version", 1, "episodes",
		      eps, "gave_up", (json_int_t)f->gave_up, "gave_up_marked",
		      f->gave_up_marked, "reason", f->gave_up_reason);
	eps = NULL; /* stolen by "o", even on failure */
	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		rc = vmh_error_errno(err, errno, tmp,
				     "cannot write flap counters");
		goto done;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = vmh_error_errno(err, errno, tmp,
					     "cannot write flap counters");
			goto done;
		}
		off += (size_t)w;
	}
	/* Durable before it replaces the old file: a crash leaves the old
	 * counters or the new ones, never a torn file. */
	if (write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		rc = vmh_error_errno(err, errno, tmp,
				     "cannot write flap counters");
		goto done;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = vmh_error_errno(err, errno, path,
				     "cannot replace flap counters");
		goto done;
	}
	tmp[0] = '\0';
	vmh_strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL) {
		int dfd;

		*slash = '\0';
		if ((dfd = open(slash == dir ? "/" : dir,
				O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc != VMH_OK && tmp[0] != '\0')
		unlink(tmp);
	free(text);
	json_decref(eps);
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                             */

/* The VM as it was right before a step was sent: a later read that
 * differs shows the step took effect. */
struct snap {
	int state, lcm, vstate, resched, busy;
	long long seq;
};

struct run {
	const struct vmh_conf *conf;
	const struct vmh_vmfail_conf *c;
	struct vmh_cloud *cloud;
	const struct vmh_vmfail_opts *opts;
	struct vmh_vmfail_report *rep;
	struct vmh_vm *vm; /* the latest read */
	enum vmh_host_state host_state;
	char dir[512];     /* STATE_DIR/vms */
	char inc_dir[512]; /* STATE_DIR/incidents */
	char name[64];     /* vm-ID */
	char state_path[600];
	struct vmh_lock lock, host_lock;
	struct vmh_journal j;
	struct vmh_vmfail_flap flap;
	/* The episode. */
	long long ep; /* its id (wall ms), 0 when none is open */
	const char *key;
	enum vmh_vmfail_action steps[VMH_VMFAIL_MAX_STEPS];
	int n_steps;
	int next;       /* first step not yet tried */
	int pending;    /* step whose intent is journaled, unverified: -1 */
	int pending_ok; /* its result was journaled as accepted */
	struct snap snap;
	long long t0;
};

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? strdup(src) : NULL;
}

static const char *
vm_text(const struct vmh_vm *vm)
{
	return vm->state_text ? vm->state_text : vmh_vm_state_name(vm->state);
}

static enum vmh_rc
jrec(struct run *r, int sync, json_t *rec, struct vmh_error *err)
{
	enum vmh_rc rc;

	if (r->opts->dry_run || r->j.fd < 0) {
		json_decref(rec);
		return VMH_OK;
	}
	if (rec == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	rc = vmh_journal_append(&r->j, rec, sync, err);
	json_decref(rec);
	return rc;
}

/*
 * Run the configured notify command. The event is on stdin as JSON and in
 * VMHEAL_* environment variables. Failures are only logged: a broken mailer
 * must not stop a recovery.
 */
static void
notify(struct run *r, const char *event, const char *detail)
{
	char ev[96], vm[320], vid[96], det[1100], trig[64];
	const char *env[] = { ev, vm, vid, det, trig, NULL };
	struct vmh_exec_opts o = { 0 };
	struct vmh_exec_result res;
	struct vmh_error err;
	const char *name = r->rep->vm_name ? r->rep->vm_name : "";
	json_t *j;
	char *body;

	if (r->c->notify_command == NULL || r->opts->dry_run)
		return;
	snprintf(ev, sizeof(ev), "VMHEAL_EVENT=vm_%s", event);
	snprintf(vm, sizeof(vm), "VMHEAL_VM=%s", name);
	snprintf(vid, sizeof(vid), "VMHEAL_VM_ID=%s", r->opts->vm_id);
	snprintf(det, sizeof(det), "VMHEAL_DETAIL=%s", detail);
	snprintf(trig, sizeof(trig), "VMHEAL_TRIGGER=%s",
		 vmh_vmfail_trigger_name(r->opts->trigger));
	j = json_pack("{s:s+, s:s, s:s, s:s, s:s, s:I}", "event", "vm_", event,
		      "vm", name, "vm_id", r->opts->vm_id, "detail", detail,
		      "trigger", vmh_vmfail_trigger_name(r->opts->trigger),
		      "time", (json_int_t)vmh_wall_s());
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	o.argv = (const char *const *)r->c->notify_command;
	o.env = env;
	o.stdin_data = body;
	o.stdin_len = body ? strlen(body) : 0;
	o.timeout_ms = r->c->notify_timeout_s * 1000;
	vmh_error_init(&err);
	log_info("notify vm_%s: %s", event, detail);
	if (vmh_exec_run(&o, &res, &err) != VMH_OK)
		log_warnx("notify command for vm_%s: %s", event, err.text);
	else if (!res.exited || res.exit_code != 0)
		log_warnx("notify command for vm_%s: exit %d", event,
			  res.exited ? res.exit_code : 128 + res.signo);
	vmh_exec_result_free(&res);
	free(body);
}

static void finish(struct run *r, enum vmh_vmfail_outcome o, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

/* Set the outcome and the one-line summary. */
static void
finish(struct run *r, enum vmh_vmfail_outcome o, const char *fmt, ...)
{
	char line[VMH_ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->rep->outcome = o;
	set_str(&r->rep->summary, line);
}

/* Read the VM afresh (and its host's state). */
static enum vmh_rc
reread(struct run *r, int with_host, struct vmh_error *err)
{
	struct vmh_vm *vm = NULL;
	struct vmh_host *h = NULL;
	struct vmh_error herr;
	enum vmh_rc rc;

	if ((rc = vmh_cloud_vm_get(r->cloud, r->opts->vm_id, &vm, err)) !=
	    VMH_OK)
		return rc;
	vmh_vm_free(r->vm);
	r->vm = vm;
	r->host_state = VMH_HOST_OTHER;
	if (!with_host || vm->host_id == NULL || vm->host_id[0] == '\0')
		return VMH_OK;
	vmh_error_init(&herr);
	rc = vmh_cloud_host_get(r->cloud, vm->host_id, &h, &herr);
	if (rc == VMH_OK) {
		r->host_state = h->state;
		vmh_host_free(h);
	} else if (rc == VMH_E_NOTFOUND) {
		/* A host deleted since: nothing to wait for. */
		log_info("VM %s: its host %s no longer exists", vm->id,
			 vm->host_id);
	} else {
		vmh_error_reset(err);
		vmh_error_set(err, herr.code, herr.source, herr.line, "%s",
			      herr.text);
		return rc;
	}
	return VMH_OK;
}

/* Is host_error recovering the VM's current host? why gets the reason. */
static int
host_error_owns(struct run *r, int check_state, char *why, size_t whylen)
{
	char path[1100];
	struct stat st;
	const char *hid = r->vm->host_id;

	if (hid == NULL || hid[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/host-%s.journal", r->inc_dir, hid);
	if (stat(path, &st) == 0) {
		snprintf(why, whylen,
			 "host_error has an open incident for host %.100s",
			 r->vm->host_name ? r->vm->host_name : hid);
		return 1;
	}
	if (check_state && r->host_state == VMH_HOST_DOWN) {
		snprintf(why, whylen, "its host %s is in ERROR",
			 r->vm->host_name ? r->vm->host_name : hid);
		return 1;
	}
	return 0;
}

static void
take_snap(struct run *r)
{
	r->snap.state = r->vm->raw_state;
	r->snap.lcm = r->vm->raw_lcm;
	r->snap.vstate = (int)r->vm->state;
	r->snap.resched = r->vm->resched;
	r->snap.busy = r->vm->busy;
	r->snap.seq = r->vm->history_seq;
}

/* Does vm differ from the snapshot taken before the step was sent? oned
 * changes the state (or RESCHED) before it answers. */
static int
took_effect(const struct run *r, const struct vmh_vm *vm,
	    enum vmh_vmfail_action a)
{
	if (vm->state == VMH_VM_DONE)
		return 1;
	if (vm->raw_state != r->snap.state || vm->raw_lcm != r->snap.lcm ||
	    vm->history_seq != r->snap.seq ||
	    (int)vm->state != r->snap.vstate || (vm->busy && !r->snap.busy))
		return 1;
	return a == VMH_VF_RESCHED && vm->resched && !r->snap.resched;
}

/* Can step a be sent to the VM in its present state? */
static int
applicable(enum vmh_vmfail_action a, const struct vmh_vm *vm)
{
	switch (a) {
	case VMH_VF_RETRY:
		return vm->state == VMH_VM_FAILED &&
		       vm->raw_state == ONE_ACTIVE;
	case VMH_VF_RESUME:
		return vm->state == VMH_VM_UNKNOWN ||
		       (vm->raw_state < 0 && vm->state == VMH_VM_POWEROFF);
	case VMH_VF_RESCHED:
		return vm->state == VMH_VM_UNKNOWN ||
		       vm->state == VMH_VM_RUNNING;
	case VMH_VF_REBOOT_HARD:
		/* Nova hard-reboots ERROR and stopped servers too. */
		return vm->state == VMH_VM_RUNNING ||
		       (vm->raw_state < 0 && (vm->state == VMH_VM_FAILED ||
					      vm->state == VMH_VM_POWEROFF));
	case VMH_VF_REBUILD:
		return vm->raw_state < 0 && (vm->state == VMH_VM_FAILED ||
					     vm->state == VMH_VM_POWEROFF ||
					     vm->state == VMH_VM_RUNNING);
	case VMH_VF_RECREATE:
		return vm->state != VMH_VM_DONE &&
		       vm->state != VMH_VM_POWEROFF &&
		       vm->state != VMH_VM_SUSPENDED;
	case VMH_VF_DELETE:
		return vm->state != VMH_VM_DONE;
	default:
		return 0;
	}
}

/* The state a step leads to, from the failure it heals. */
static enum vmh_vm_state
target_of(enum vmh_vmfail_action a, int key)
{
	if (a == VMH_VF_DELETE)
		return VMH_VM_DONE;
	if (a != VMH_VF_RETRY)
		return VMH_VM_RUNNING;
	switch (key) {
	case LCM_EPILOG_FAILURE:
		return VMH_VM_DONE;
	case LCM_EPILOG_STOP_FAILURE:
		return VMH_VM_STOPPED;
	case LCM_EPILOG_UNDEPLOY_FAILURE:
		return VMH_VM_UNDEPLOYED;
	case LCM_PROLOG_MIGRATE_POWEROFF_FAILURE:
		return VMH_VM_POWEROFF;
	case LCM_PROLOG_MIGRATE_SUSPEND_FAILURE:
		return VMH_VM_SUSPENDED;
	default:
		return VMH_VM_RUNNING;
	}
}

/* Send one action. OpenNebula before 5.0 boots an UNKNOWN VM with the
 * "boot" action; later versions (and Nova) with resume. */
static enum vmh_rc
send_action(struct run *r, enum vmh_vmfail_action a, struct vmh_error *err)
{
	static const enum vmh_vm_action map[VMH_VF_ACTION_COUNT] = {
		[VMH_VF_RETRY] = VMH_ACT_RETRY,
		[VMH_VF_RECREATE] = VMH_ACT_RECREATE,
		[VMH_VF_RESUME] = VMH_ACT_RESUME,
		[VMH_VF_REBOOT_HARD] = VMH_ACT_REBOOT_HARD,
		[VMH_VF_RESCHED] = VMH_ACT_RESCHED,
		[VMH_VF_DELETE] = VMH_ACT_DELETE,
		[VMH_VF_REBUILD] = VMH_ACT_REBUILD,
	};
	struct vmh_one *one = vmh_one_from_cloud(r->cloud);
	long version = 0;
	long long id;

	if (a == VMH_VF_RESUME && one != NULL &&
	    vmh_one_version_number(one, &version, NULL) == VMH_OK &&
	    version > 0 && version < 50000 &&
	    vmh_strtonum(r->opts->vm_id, 0, VMFAIL_ID_MAX, &id, "VM ID",
			 NULL) == VMH_OK)
		return vmh_one_vm_action(one, "boot", id, err);
	return vmh_cloud_vm_op(r->cloud, r->opts->vm_id, map[a], NULL, err);
}

enum step_end {
	STEP_OK,      /* target reached */
	STEP_PENDING, /* recreated, waiting for capacity */
	STEP_NEXT,    /* failed: try the next step */
	STEP_STOP,    /* the VM went elsewhere: stop the ladder */
	STEP_OWNED,   /* host_error took over */
};

static enum step_end
verified(struct run *r, int i, enum step_end how, const char *detail)
{
	struct vmh_vmfail_step_report *s = &r->rep->steps[i];
	static const char *const names[] = { "ok", "pending", "failed",
					     "stopped", "host_error" };

	s->verified = how == STEP_OK || how == STEP_PENDING;
	set_str(&s->detail, detail);
	jrec(r, 1,
	     json_pack("{s:s, s:I, s:i, s:b, s:s, s:s}", "ev", "verified", "ep",
		       (json_int_t)r->ep, "step", i, "ok", s->verified, "how",
		       names[how], "detail", detail),
	     NULL);
	r->pending = -1;
	return how;
}

/* Poll until the step's target state, a new failure, or the timeout. */
static enum step_end
verify_step(struct run *r, int i, long long t_sent, struct vmh_error *err)
{
	enum vmh_vmfail_action a = r->steps[i];
	enum vmh_vm_state target =
	    target_of(a, r->key != NULL ? key_index(r->key) : -1);
	int timeout_s = r->opts->verify_timeout_s > 0
			    ? r->opts->verify_timeout_s
			    : r->c->verify_timeout_s;
	long long deadline = vmh_now_ms() + timeout_s * 1000LL;
	int seen_change = 0;
	char text[300], why[300];
	enum vmh_rc rc;

	for (;;) {
		const struct vmh_vm *vm;
		int final = vmh_now_ms() >= deadline;

		rc = reread(r, 0, err);
		r->rep->steps[i].ms = (long)(vmh_now_ms() - t_sent);
		if (rc != VMH_OK) {
			/* A flaky API must not end verification early. */
			log_warnx("VM %s: verify: %s", r->opts->vm_id,
				  err->text);
			vmh_error_reset(err);
			if (final)
				return verified(r, i, STEP_NEXT,
						"could not be verified: cloud "
						"unavailable");
			vmh_sleep_ms(r->c->verify_interval_ms);
			continue;
		}
		vm = r->vm;
		if (took_effect(r, vm, a))
			seen_change = 1;

		if (vm->busy) {
			/* Nova: a task under way (a hard reboot shows the
			 * server ACTIVE, or ERROR, until it ends). */
		} else if (vm->state == target) {
			int alive = 1;

			if (r->opts->guest_alive != NULL)
				alive = r->opts->guest_alive(
				    r->opts->vm_id, r->opts->guest_ctx);
			if (alive) {
				snprintf(text, sizeof(text), "%s%s%s",
					 vm_text(vm),
					 vm->host_name ? " on " : "",
					 vm->host_name ? vm->host_name : "");
				return verified(r, i, STEP_OK, text);
			}
		} else if (vm->state == VMH_VM_DONE) {
			return verified(r, i, STEP_STOP,
					"the VM was deleted meanwhile");
		} else if (vm->state == VMH_VM_FAILED ||
			   (vm->state == VMH_VM_UNKNOWN &&
			    (seen_change || a != VMH_VF_RESCHED)) ||
			   (vm->state == VMH_VM_POWEROFF &&
			    r->snap.vstate == VMH_VM_POWEROFF)) {
			/* The same failure right after the step was accepted
			 * is oned not having moved yet; after settle_ms it
			 * is the step failing again. */
			if (seen_change ||
			    vmh_now_ms() - t_sent >= r->c->settle_ms) {
				if (vm->state == VMH_VM_UNKNOWN &&
				    vm->host_id != NULL &&
				    reread(r, 1, NULL) == VMH_OK &&
				    host_error_owns(r, 1, why, sizeof(why)))
					return verified(r, i, STEP_OWNED, why);
				snprintf(text, sizeof(text),
					 "failed again: %s%s%s", vm_text(r->vm),
					 r->vm->host_name ? " on " : "",
					 r->vm->host_name ? r->vm->host_name
							  : "");
				return verified(r, i, STEP_NEXT, text);
			}
		} else if (seen_change && (vm->state == VMH_VM_POWEROFF ||
					   vm->state == VMH_VM_SUSPENDED ||
					   vm->state == VMH_VM_STOPPED ||
					   vm->state == VMH_VM_UNDEPLOYED ||
					   vm->state == VMH_VM_HOLD)) {
			snprintf(text, sizeof(text),
				 "now %s: changed by someone else, left alone",
				 vm_text(vm));
			return verified(r, i, STEP_STOP, text);
		}
		if (host_error_owns(r, 0, why, sizeof(why)))
			return verified(r, i, STEP_OWNED, why);
		if (final) {
			if (a == VMH_VF_RECREATE &&
			    vm->state == VMH_VM_PENDING && r->c->accept_pending)
				return verified(r, i, STEP_PENDING,
						"pending: no host has capacity "
						"yet");
			snprintf(text, sizeof(text),
				 "not %s after %d s (%s%s%s)",
				 vmh_vm_state_name(target), timeout_s,
				 vm_text(vm), vm->host_name ? " on " : "",
				 vm->host_name ? vm->host_name : "");
			return verified(r, i, STEP_NEXT, text);
		}
		vmh_sleep_ms(r->c->verify_interval_ms);
	}
}

/* Steps that always change what the cloud shows (state, history or
 * RESCHED): no sign of one on the VM proves it was not executed, so it may
 * be sent again. A retry, resume or reboot-hard can fail back into the very
 * state it started from: with its answer lost, it may have run. */
static int
visible_step(enum vmh_vmfail_action a)
{
	return a == VMH_VF_RECREATE || a == VMH_VF_DELETE ||
	       a == VMH_VF_RESCHED;
}

#define VMFAIL_RESENDS        2
#define VMFAIL_RESEND_WAIT_MS 500

static enum vmh_rc
result_ok(struct run *r, int i, const char *detail, struct vmh_error *err)
{
	r->rep->steps[i].sent = 1;
	r->pending_ok = 1;
	return jrec(r, 1,
		    json_pack("{s:s, s:I, s:i, s:b, s:s?}", "ev", "result",
			      "ep", (json_int_t)r->ep, "step", i, "ok", 1,
			      "detail", detail),
		    err);
}

/*
 * Send step i: intent (durable), request, result. *sent: the cloud
 * accepted it or it visibly took effect. A step whose answer was lost is
 * sent again only when the VM proves it never arrived (visible_step);
 * otherwise it is never sent twice and the ladder goes on.
 */
static enum vmh_rc
send_step(struct run *r, int i, int *sent, long long *t_sent,
	  struct vmh_error *err)
{
	enum vmh_vmfail_action a = r->steps[i];
	struct vmh_vmfail_step_report *s = &r->rep->steps[i];
	char text[VMH_ERROR_TEXT_MAX + 80];
	struct vmh_error e2;
	enum vmh_rc rc;
	int transient, attempt;

	*sent = 0;
	take_snap(r);
	for (attempt = 0;; attempt++) {
		rc = jrec(r, 1,
			  json_pack("{s:s, s:I, s:i, s:s, s:i, s:i, s:i, s:I, "
				    "s:i, s:i, s:i}",
				    "ev", "intent", "ep", (json_int_t)r->ep,
				    "step", i, "action",
				    vmh_vmfail_action_name(a), "attempt",
				    attempt, "state", r->snap.state, "lcm",
				    r->snap.lcm, "seq", (json_int_t)r->snap.seq,
				    "vstate", r->snap.vstate, "resched",
				    r->snap.resched, "busy", r->snap.busy),
			  err);
		if (rc != VMH_OK)
			return rc;
		r->pending = i;
		r->pending_ok = 0;
		log_notice("VM %s (%s): %s%s", r->opts->vm_id, vm_text(r->vm),
			   vmh_vmfail_action_name(a),
			   attempt ? " (sent again)" : "");
		*t_sent = vmh_now_ms();
		vmh_error_init(&e2);
		rc = send_action(r, a, &e2);
		if (rc == VMH_OK) {
			*sent = 1;
			return result_ok(r, i, NULL, err);
		}
		transient = rc == VMH_E_UNAVAILABLE || rc == VMH_E_TIMEOUT;
		jrec(r, 1,
		     json_pack("{s:s, s:I, s:i, s:b, s:b, s:s}", "ev", "result",
			       "ep", (json_int_t)r->ep, "step", i, "ok", 0,
			       "transient", transient, "detail", e2.text),
		     NULL);
		if (!transient) {
			log_warnx("VM %s: %s refused: %s", r->opts->vm_id,
				  vmh_vmfail_action_name(a), e2.text);
			set_str(&s->detail, e2.text);
			snprintf(text, sizeof(text), "refused: %s", e2.text);
			verified(r, i, STEP_NEXT, text);
			return VMH_OK;
		}
		/* The answer was lost: did the request land anyway? */
		log_warnx("VM %s: %s: %s: re-reading the VM", r->opts->vm_id,
			  vmh_vmfail_action_name(a), e2.text);
		if (reread(r, 0, NULL) == VMH_OK && took_effect(r, r->vm, a))
			break;
		if (!visible_step(a) || attempt >= VMFAIL_RESENDS) {
			snprintf(text, sizeof(text),
				 "outcome unknown (%s), no sign of it on the "
				 "VM: not sent again",
				 e2.text);
			verified(r, i, STEP_NEXT, text);
			return VMH_OK;
		}
		/* A late arrival must show before a second send. */
		vmh_sleep_ms((long long)VMFAIL_RESEND_WAIT_MS << attempt);
		if (reread(r, 0, NULL) == VMH_OK && took_effect(r, r->vm, a))
			break;
	}
	log_notice("VM %s: the %s took effect (now %s)", r->opts->vm_id,
		   vmh_vmfail_action_name(a), vm_text(r->vm));
	*sent = 1;
	return result_ok(r, i, "learnt from the VM's state", err);
}

/* Run the steps from r->next on. */
static enum vmh_rc
run_steps(struct run *r, struct vmh_error *err)
{
	char why[300];
	enum vmh_rc rc;

	for (; r->next < r->n_steps; r->next++) {
		int i = r->next, sent = 0;
		enum vmh_vmfail_action a = r->steps[i];
		long long t_sent = vmh_now_ms();
		enum step_end end;

		if (i > 0 && (rc = reread(r, 1, err)) != VMH_OK)
			return rc;
		if (host_error_owns(r, 1, why, sizeof(why))) {
			finish(r, VMH_VF_OUT_HOST_ERROR,
			       "VM %s: %s: host_error owns it, stopping",
			       r->opts->vm_id, why);
			return VMH_OK;
		}
		if (r->opts->steps == NULL && !needs_healing(r->vm, r->key)) {
			if (r->vm->state == VMH_VM_RUNNING)
				finish(r, VMH_VF_OUT_RECOVERED,
				       "VM %s: running%s%s", r->opts->vm_id,
				       r->vm->host_name ? " on " : "",
				       r->vm->host_name ? r->vm->host_name
							: "");
			else
				finish(r, VMH_VF_OUT_NOTHING,
				       "VM %s: now %s: nothing to heal",
				       r->opts->vm_id, vm_text(r->vm));
			return VMH_OK;
		}
		if (!applicable(a, r->vm)) {
			char text[160];

			snprintf(text, sizeof(text),
				 "skipped: not possible in state %s",
				 vm_text(r->vm));
			set_str(&r->rep->steps[i].detail, text);
			log_info("VM %s: %s %s", r->opts->vm_id,
				 vmh_vmfail_action_name(a), text);
			continue;
		}
		if ((rc = send_step(r, i, &sent, &t_sent, err)) != VMH_OK)
			return rc;
		if (!sent)
			continue;
		end = verify_step(r, i, t_sent, err);
		switch (end) {
		case STEP_OK:
			finish(r, VMH_VF_OUT_RECOVERED,
			       "VM %s: recovered by %s: %s", r->opts->vm_id,
			       vmh_vmfail_action_name(a),
			       r->rep->steps[i].detail);
			r->next = i + 1;
			return VMH_OK;
		case STEP_PENDING:
			finish(r, VMH_VF_OUT_PENDING,
			       "VM %s: recreated, pending: no host has "
			       "capacity yet",
			       r->opts->vm_id);
			r->next = i + 1;
			return VMH_OK;
		case STEP_STOP:
			finish(r, VMH_VF_OUT_NOTHING, "VM %s: %s",
			       r->opts->vm_id, r->rep->steps[i].detail);
			r->next = i + 1;
			return VMH_OK;
		case STEP_OWNED:
			finish(r, VMH_VF_OUT_HOST_ERROR,
			       "VM %s: %s: host_error owns it, stopping",
			       r->opts->vm_id, r->rep->steps[i].detail);
			r->next = i + 1;
			return VMH_OK;
		case STEP_NEXT:
			log_warnx("VM %s: %s: %s", r->opts->vm_id,
				  vmh_vmfail_action_name(a),
				  r->rep->steps[i].detail);
			break;
		}
	}
	finish(r, VMH_VF_OUT_FAILED, "VM %s: not recovered (%s)",
	       r->opts->vm_id, vm_text(r->vm));
	notify(r, "failed", r->rep->summary);
	return vmh_error_set(err, VMH_E_API, r->opts->vm_id, 0,
			     "VM %s not recovered: every step failed (see "
			     "the report)",
			     r->opts->vm_id);
}

/* Close the open episode: `end`, then the journal becomes .prev. */
static void
end_episode(struct run *r, const char *outcome)
{
	struct vmh_error err;

	if (r->opts->dry_run || r->j.fd < 0 || r->ep == 0)
		return;
	vmh_error_init(&err);
	if (jrec(r, 1,
		 json_pack("{s:s, s:I, s:s}", "ev", "end", "ep",
			   (json_int_t)r->ep, "outcome", outcome),
		 &err) != VMH_OK) {
		log_warnx("%s", err.text);
		return;
	}
	r->ep = 0;
	vmh_journal_close(&r->j);
	if (vmh_journal_archive(r->dir, r->name, "prev", &err) != VMH_OK)
		log_warnx("%s", err.text);
	else if (vmh_journal_open(r->dir, r->name, &r->j, &err) != VMH_OK)
		log_warnx("%s", err.text);
}

/* Read the journal: is an episode open, and where did it stop? */
static enum vmh_rc
load_journal(struct run *r, struct vmh_error *err)
{
	json_t *recs = NULL, *rec, *s;
	enum vmh_rc rc;
	size_t i, k;
	int torn = 0, intents = 0, ok_seen = 0, idx;

	if ((rc = vmh_journal_read(r->j.path, &recs, &torn, err)) != VMH_OK)
		return rc;
	if (torn)
		log_warnx("journal %s: the last record was torn by a crash "
			  "and is ignored",
			  r->j.path);
	json_array_foreach(recs, i, rec)
	{
		const char *ev = vmh_journal_str(rec, "ev");

		if (strcmp(ev, "begin") == 0) {
			r->ep = vmh_journal_int(rec, "ep", 0);
			idx = key_index(vmh_journal_str(rec, "key"));
			r->key = idx >= 0 ? key_name(idx) : NULL;
			r->n_steps = 0;
			json_array_foreach(json_object_get(rec, "steps"), k, s)
			{
				int a = vmh_vmfail_action_parse(
				    json_string_value(s) ? json_string_value(s)
							 : "");

				if (a > 0 && r->n_steps < VMH_VMFAIL_MAX_STEPS)
					r->steps[r->n_steps++] = a;
			}
			r->next = 0;
			r->pending = -1;
			intents = ok_seen = 0;
		} else if (r->ep == 0 ||
			   vmh_journal_int(rec, "ep", -1) != r->ep) {
			continue; /* gave_up, marked, or another episode */
		} else if (strcmp(ev, "intent") == 0) {
			r->pending = (int)vmh_journal_int(rec, "step", 0);
			r->next = r->pending + 1;
			r->pending_ok = 0;
			r->snap.state = (int)vmh_journal_int(rec, "state", -1);
			r->snap.lcm = (int)vmh_journal_int(rec, "lcm", -1);
			r->snap.seq = vmh_journal_int(rec, "seq", -1);
			r->snap.vstate =
			    (int)vmh_journal_int(rec, "vstate", -1);
			r->snap.resched =
			    (int)vmh_journal_int(rec, "resched", 0);
			r->snap.busy = (int)vmh_journal_int(rec, "busy", 0);
			intents++;
		} else if (strcmp(ev, "result") == 0) {
			if (vmh_journal_int(rec, "step", -1) == r->pending &&
			    json_is_true(json_object_get(rec, "ok")))
				r->pending_ok = 1;
		} else if (strcmp(ev, "verified") == 0) {
			if (vmh_journal_int(rec, "step", -1) == r->pending)
				r->pending = -1;
			if (json_is_true(json_object_get(rec, "ok")))
				ok_seen = 1;
		} else if (strcmp(ev, "end") == 0) {
			r->ep = 0;
		}
	}
	json_decref(recs);
	if (r->ep == 0)
		return VMH_OK;
	if (intents == 0 || ok_seen || r->n_steps == 0 ||
	    (r->pending < 0 && r->next >= r->n_steps)) {
		/* Nothing was sent, or it had finished but for its `end`:
		 * close it, and judge the VM afresh. */
		log_info("VM %s: closing an episode a killed run left open",
			 r->opts->vm_id);
		if (intents == 0 && vmh_vmfail_flap_forget(&r->flap, r->ep) &&
		    (rc = vmh_vmfail_flap_save(r->state_path, &r->flap, err)) !=
			VMH_OK)
			return rc;
		end_episode(r, ok_seen ? "recovered" : "abandoned");
		return VMH_OK;
	}
	r->rep->resumed = 1;
	log_notice("VM %s: taking up an episode a killed run left open "
		   "(journal %s)",
		   r->opts->vm_id, r->j.path);
	return VMH_OK;
}

/* Count this episode in the flap counters, durably, before any request. */
static enum vmh_rc
count_episode(struct run *r, struct vmh_error *err)
{
	vmh_vmfail_flap_record(&r->flap, wall_ms(), r->ep);
	return vmh_vmfail_flap_save(r->state_path, &r->flap, err);
}

/* Set the gave-up attribute on the VM (merge). */
static enum vmh_rc
mark_gave_up(struct run *r, struct vmh_error *err)
{
	char line[400], when[32];
	struct vmh_error e2;
	time_t t = (time_t)r->flap.gave_up;
	struct tm tm;
	enum vmh_rc rc;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(line, sizeof(line), "%s=%s %s", r->c->gave_up_attribute, when,
		 r->flap.gave_up_reason);
	vmh_error_init(&e2);
	rc = vmh_cloud_vm_op(r->cloud, r->opts->vm_id, VMH_ACT_UPDATE, line,
			     &e2);
	jrec(r, 1,
	     json_pack("{s:s, s:b, s:s}", "ev", "marked", "ok", rc == VMH_OK,
		       "detail", rc == VMH_OK ? line : e2.text),
	     NULL);
	if (rc != VMH_OK) {
		log_warnx("VM %s: could not set %s: %s", r->opts->vm_id,
			  r->c->gave_up_attribute, e2.text);
		return VMH_OK; /* the counters still say gave up */
	}
	r->flap.gave_up_marked = 1;
	return vmh_vmfail_flap_save(r->state_path, &r->flap, err);
}

static enum vmh_rc
give_up(struct run *r, int count, struct vmh_error *err)
{
	enum vmh_rc rc;

	snprintf(r->flap.gave_up_reason, sizeof(r->flap.gave_up_reason),
		 "%d recoveries in %d s, failed again (%s)", count,
		 r->c->window_s, vm_text(r->vm));
	if (r->opts->dry_run) {
		finish(r, VMH_VF_OUT_PLANNED, "VM %s: would give up: %s",
		       r->opts->vm_id, r->flap.gave_up_reason);
		return VMH_OK;
	}
	r->flap.gave_up = vmh_wall_s();
	r->flap.gave_up_marked = 0;
	if ((rc = vmh_vmfail_flap_save(r->state_path, &r->flap, err)) != VMH_OK)
		return rc;
	jrec(r, 1,
	     json_pack("{s:s, s:s}", "ev", "gave_up", "reason",
		       r->flap.gave_up_reason),
	     NULL);
	log_warnx("VM %s: giving up: %s", r->opts->vm_id,
		  r->flap.gave_up_reason);
	notify(r, "gave_up", r->flap.gave_up_reason);
	if ((rc = mark_gave_up(r, err)) != VMH_OK)
		return rc;
	finish(r, VMH_VF_OUT_GAVE_UP,
	       "VM %s: gave up: %s; remove %s to "
	       "re-enable",
	       r->opts->vm_id, r->flap.gave_up_reason, r->c->gave_up_attribute);
	return vmh_error_set(err, VMH_E_GAVE_UP, r->opts->vm_id, 0,
			     "gave up: %s; %s is set on the VM, remove it "
			     "to re-enable recovery",
			     r->flap.gave_up_reason, r->c->gave_up_attribute);
}

/* Load the flap counters; a damaged file is set aside, not fatal. */
static enum vmh_rc
load_flap(struct run *r, struct vmh_error *err)
{
	char aside[700];
	enum vmh_rc rc;

	rc = vmh_vmfail_flap_load(r->state_path, &r->flap, err);
	if (rc != VMH_E_DATA)
		return rc;
	snprintf(aside, sizeof(aside), "%s.corrupt", r->state_path);
	log_warnx("%s: %s; moved to %s, the counters start again",
		  r->state_path, err->text, aside);
	vmh_error_reset(err);
	if (rename(r->state_path, aside) < 0)
		return vmh_error_errno(err, errno, r->state_path,
				       "cannot move a damaged state file "
				       "aside");
	return VMH_OK;
}

/* The VM lock, the journal and the flap counters. */
static enum vmh_rc
open_vm_state(struct run *r, struct vmh_error *err)
{
	enum vmh_rc rc;

	snprintf(r->dir, sizeof(r->dir), "%s/vms", r->conf->state_dir);
	snprintf(r->inc_dir, sizeof(r->inc_dir), "%s/incidents",
		 r->conf->state_dir);
	snprintf(r->name, sizeof(r->name), "vm-%s", r->opts->vm_id);
	snprintf(r->state_path, sizeof(r->state_path), "%s/%s.json", r->dir,
		 r->name);
	if (r->opts->dry_run) {
		/* Read what is there, change nothing. */
		if (vmh_vmfail_flap_load(r->state_path, &r->flap, err) !=
		    VMH_OK) {
			log_warnx("%s", err->text);
			vmh_error_reset(err);
		}
		return VMH_OK;
	}
	if ((rc = vmh_state_dir_ensure(r->dir, err)) != VMH_OK)
		return rc;
	if ((rc = vmh_lock_acquire(r->dir, r->name, 1, 0, &r->lock, err)) !=
	    VMH_OK)
		return rc;
	if ((rc = vmh_journal_open(r->dir, r->name, &r->j, err)) != VMH_OK)
		return rc;
	if ((rc = load_flap(r, err)) != VMH_OK)
		return rc;
	return load_journal(r, err);
}

/* The host's VMs lock, shared: host_error takes it exclusively. */
static enum vmh_rc
lock_host(struct run *r, int *owned, struct vmh_error *err)
{
	char name[96], why[300];
	enum vmh_rc rc;

	*owned = 0;
	if (r->opts->dry_run || r->vm->host_id == NULL ||
	    r->vm->host_id[0] == '\0')
		return VMH_OK;
	snprintf(name, sizeof(name), "host-%s.vms", r->vm->host_id);
	rc = vmh_lock_acquire_mode(r->inc_dir, name, 1, 1, 0, &r->host_lock,
				   err);
	if (rc == VMH_E_BUSY) {
		vmh_error_reset(err);
		*owned = 1;
		finish(r, VMH_VF_OUT_HOST_ERROR,
		       "VM %s: host_error is recovering host %s: it owns the "
		       "VM",
		       r->opts->vm_id,
		       r->vm->host_name ? r->vm->host_name : r->vm->host_id);
		return VMH_OK;
	}
	if (rc != VMH_OK)
		return rc;
	if (host_error_owns(r, 1, why, sizeof(why))) {
		*owned = 1;
		finish(r, VMH_VF_OUT_HOST_ERROR,
		       "VM %s: %s: host_error owns it", r->opts->vm_id, why);
	}
	return VMH_OK;
}

/* Continue an episode a killed run left open. */
static enum vmh_rc
resume_episode(struct run *r, struct vmh_error *err)
{
	int owned, k;
	enum vmh_rc rc;

	r->rep->n_steps = r->n_steps;
	for (k = 0; k < r->n_steps; k++)
		r->rep->steps[k].action = r->steps[k];
	if ((rc = lock_host(r, &owned, err)) != VMH_OK || owned)
		return rc;
	if ((rc = count_episode(r, err)) != VMH_OK)
		return rc;
	if (r->pending >= 0) {
		int i = r->pending;
		enum step_end end;

		/* A request of the killed run may still be on its way: give
		 * it time to show before judging it lost. */
		if (!r->pending_ok && !took_effect(r, r->vm, r->steps[i]) &&
		    visible_step(r->steps[i])) {
			vmh_sleep_ms(VMFAIL_RESEND_WAIT_MS);
			if ((rc = reread(r, 0, err)) != VMH_OK)
				return rc;
		}
		if (r->pending_ok || took_effect(r, r->vm, r->steps[i])) {
			log_notice("VM %s: the %s sent before the crash took "
				   "effect: verifying it",
				   r->opts->vm_id,
				   vmh_vmfail_action_name(r->steps[i]));
			r->rep->steps[i].sent = 1;
			end = verify_step(r, i, vmh_now_ms(), err);
			if (end == STEP_OK || end == STEP_PENDING) {
				finish(r,
				       end == STEP_OK ? VMH_VF_OUT_RECOVERED
						      : VMH_VF_OUT_PENDING,
				       "VM %s: recovered by %s: %s",
				       r->opts->vm_id,
				       vmh_vmfail_action_name(r->steps[i]),
				       r->rep->steps[i].detail);
				return VMH_OK;
			}
			if (end != STEP_NEXT) {
				finish(r,
				       end == STEP_OWNED ? VMH_VF_OUT_HOST_ERROR
							 : VMH_VF_OUT_NOTHING,
				       "VM %s: %s", r->opts->vm_id,
				       r->rep->steps[i].detail);
				return VMH_OK;
			}
		} else if (visible_step(r->steps[i])) {
			/* No sign of it: it never reached the cloud. */
			log_notice(
			    "VM %s: the %s a killed run was sending never "
			    "arrived: sending it now",
			    r->opts->vm_id,
			    vmh_vmfail_action_name(r->steps[i]));
			r->pending = -1;
			r->next = i;
		} else {
			/* It may have run and failed at once: never twice. */
			log_notice("VM %s: a %s was being sent when a run was "
				   "killed; no sign of it on the VM: not "
				   "sending it again",
				   r->opts->vm_id,
				   vmh_vmfail_action_name(r->steps[i]));
			verified(r, i, STEP_NEXT,
				 "outcome unknown (run killed), not sent "
				 "again");
		}
	}
	return run_steps(r, err);
}

/* A fresh episode for r->vm as decided in plan. */
static enum vmh_rc
new_episode(struct run *r, const struct vmh_vmfail_plan *plan,
	    struct vmh_error *err)
{
	json_t *steps = json_array();
	enum vmh_rc rc;
	int owned, i;

	if ((rc = lock_host(r, &owned, err)) != VMH_OK || owned) {
		json_decref(steps);
		return rc;
	}
	r->ep = wall_ms();
	r->key = plan->key;
	r->n_steps = plan->n_steps;
	r->next = 0;
	r->pending = -1;
	for (i = 0; i < plan->n_steps; i++) {
		r->steps[i] = plan->steps[i];
		json_array_append_new(
		    steps, json_string(vmh_vmfail_action_name(plan->steps[i])));
	}
	/* begin, then the count, then the first intent: a run killed before
	 * the intent left an episode that sent nothing, which the next run
	 * closes and takes off the counters. */
	rc = jrec(r, 1,
		  json_pack("{s:s, s:I, s:s, s:o, s:i, s:i, s:s, s:s, s:I}",
			    "ev", "begin", "ep", (json_int_t)r->ep, "key",
			    r->key ? r->key : "", "steps", steps, "state",
			    r->vm->raw_state, "lcm", r->vm->raw_lcm, "trigger",
			    vmh_vmfail_trigger_name(r->opts->trigger), "reason",
			    r->opts->reason ? r->opts->reason : "", "pid",
			    (json_int_t)getpid()),
		  err);
	if (rc != VMH_OK || (rc = count_episode(r, err)) != VMH_OK)
		return rc;
	return run_steps(r, err);
}

static void
report_vm(struct run *r, int start)
{
	struct vmh_vmfail_report *rep = r->rep;

	if (r->vm == NULL)
		return;
	if (start) {
		set_str(&rep->vm_name, r->vm->name);
		set_str(&rep->state, vm_text(r->vm));
		set_str(&rep->host, r->vm->host_name);
	}
	set_str(&rep->state_now, vm_text(r->vm));
	set_str(&rep->host_now, r->vm->host_name);
}

/*
 * A stopped OpenStack server is a failure only when nobody asked for the
 * stop: ask the cloud's record of actions. When it cannot tell, or the
 * question fails, the server stays a stopped server (left alone).
 */
static void
note_stop_cause(struct run *r)
{
	char detail[200];
	struct vmh_error e2;

	if (r->vm->raw_state >= 0 || r->vm->state != VMH_VM_POWEROFF)
		return;
	vmh_error_init(&e2);
	if (vmh_cloud_vm_stop_cause(r->cloud, r->opts->vm_id,
				    &r->vm->stop_cause, detail, sizeof(detail),
				    &e2) != VMH_OK) {
		log_warnx("VM %s: stopped, and why is unknown (%s): left "
			  "alone",
			  r->opts->vm_id, e2.text);
		r->vm->stop_cause = VMH_STOP_UNKNOWN;
		return;
	}
	if (detail[0] != '\0')
		log_notice("VM %s: stopped: %s", r->opts->vm_id, detail);
}

/* Decide, wait out a backoff, and act. */
static enum vmh_rc
decide_and_act(struct run *r, struct vmh_error *err)
{
	struct vmh_vmfail_plan plan;
	long long next, now, wait_ms;
	enum vmh_rc rc;
	int count, round, i;

	for (round = 0;; round++) {
		note_stop_cause(r);
		vmh_vmfail_decide(r->c, r->vm, r->host_state, r->opts->steps,
				  r->opts->n_steps, &plan);
		if (plan.note[0] != '\0')
			log_info("VM %s: %s", r->opts->vm_id, plan.note);
		switch (plan.verdict) {
		case VMH_VF_ACT:
			break;
		case VMH_VF_GAVE_UP_EARLIER:
			finish(r, VMH_VF_OUT_GAVE_UP,
			       "VM %s: gave up earlier: %s", r->opts->vm_id,
			       plan.note);
			return vmh_error_set(err, VMH_E_GAVE_UP, r->opts->vm_id,
					     0, "gave up earlier: %s",
					     plan.note);
		case VMH_VF_HOST_OWNED:
			finish(r, VMH_VF_OUT_HOST_ERROR, "VM %s: %s",
			       r->opts->vm_id, plan.note);
			return VMH_OK;
		case VMH_VF_HOST_WAIT:
			finish(r, VMH_VF_OUT_DEFERRED, "VM %s: %s",
			       r->opts->vm_id, plan.note);
			return vmh_error_set(err, VMH_E_TIMEOUT, r->opts->vm_id,
					     0, "%s", plan.note);
		case VMH_VF_NO_ACTION:
			finish(r, VMH_VF_OUT_NOTHING, "VM %s (%s): %s",
			       r->opts->vm_id, vm_text(r->vm), plan.note);
			log_warnx("%s", r->rep->summary);
			notify(r, "not_handled", r->rep->summary);
			return VMH_OK;
		case VMH_VF_NOT_FAILED:
		case VMH_VF_HA_OFF:
			finish(r, VMH_VF_OUT_NOTHING, "VM %s: %s",
			       r->opts->vm_id, plan.note);
			return VMH_OK;
		}
		r->rep->n_steps = plan.n_steps;
		for (i = 0; i < plan.n_steps; i++)
			r->rep->steps[i].action = plan.steps[i];

		now = wall_ms();
		switch (
		    vmh_vmfail_flap_check(r->c, &r->flap, now, &next, &count)) {
		case VMH_VF_FLAP_GIVE_UP:
			r->rep->recoveries = count;
			return give_up(r, count, err);
		case VMH_VF_FLAP_WAIT:
			r->rep->recoveries = count;
			r->rep->next_allowed = (next + 999) / 1000;
			wait_ms = next - now;
			if (r->opts->dry_run || r->opts->no_wait ||
			    wait_ms > r->c->max_wait_s * 1000LL || round > 0) {
				finish(r, VMH_VF_OUT_DEFERRED,
				       "VM %s: recovery %d of %d deferred: "
				       "flap backoff for %.1f s more",
				       r->opts->vm_id, count + 1,
				       r->c->max_recoveries, wait_ms / 1000.0);
				if (r->opts->dry_run)
					return VMH_OK;
				return vmh_error_set(
				    err, VMH_E_TIMEOUT, r->opts->vm_id, 0,
				    "deferred: flap backoff for %.1f s more "
				    "(max_wait %d s%s): run again later",
				    wait_ms / 1000.0, r->c->max_wait_s,
				    r->opts->no_wait ? ", --no-wait" : "");
			}
			log_notice("VM %s: flap backoff: waiting %.1f s before "
				   "recovery %d of %d",
				   r->opts->vm_id, wait_ms / 1000.0, count + 1,
				   r->c->max_recoveries);
			vmh_sleep_ms(wait_ms);
			/* The VM may have been healed meanwhile. */
			if ((rc = reread(r, 1, err)) != VMH_OK)
				return rc;
			continue;
		case VMH_VF_FLAP_GO:
			break;
		}
		r->rep->recoveries = count + 1;
		r->rep->next_allowed = 0;
		break;
	}
	if (r->opts->dry_run) {
		char steps[120] = "";
		size_t len = 0;

		for (i = 0; i < plan.n_steps; i++) {
			snprintf(steps + len, sizeof(steps) - len, "%s%s",
				 i ? ", then " : "",
				 vmh_vmfail_action_name(plan.steps[i]));
			len = strlen(steps);
		}
		finish(r, VMH_VF_OUT_PLANNED, "VM %s (%s): would %s",
		       r->opts->vm_id, vm_text(r->vm), steps);
		return VMH_OK;
	}
	return new_episode(r, &plan, err);
}

/* A VM whose gave-up mark an operator removed starts afresh; a mark whose
 * answer was lost is set again. Returns 1 when the run must stop (84). */
static int
check_gave_up(struct run *r, enum vmh_rc *rc, struct vmh_error *err)
{
	const char *mark = vmh_attr_get(r->vm->attrs, r->c->gave_up_attribute);

	if (r->flap.gave_up == 0 || (mark != NULL && *mark != '\0'))
		return 0;
	if (r->flap.gave_up_marked) {
		log_notice("VM %s: %s was removed: flap counters reset",
			   r->opts->vm_id, r->c->gave_up_attribute);
		memset(&r->flap, 0, sizeof(r->flap));
		if (!r->opts->dry_run)
			*rc =
			    vmh_vmfail_flap_save(r->state_path, &r->flap, err);
		return *rc != VMH_OK;
	}
	if (r->opts->dry_run)
		return 0;
	/* Gave up, but the mark never got there: set it now. */
	if ((*rc = mark_gave_up(r, err)) != VMH_OK)
		return 1;
	finish(r, VMH_VF_OUT_GAVE_UP, "VM %s: gave up earlier: %s",
	       r->opts->vm_id, r->flap.gave_up_reason);
	*rc = vmh_error_set(err, VMH_E_GAVE_UP, r->opts->vm_id, 0,
			    "gave up earlier: %s", r->flap.gave_up_reason);
	return 1;
}

enum vmh_rc
vmh_vmfail_run(const struct vmh_conf *conf, struct vmh_cloud *cloud,
	       const struct vmh_vmfail_opts *opts,
	       struct vmh_vmfail_report *report, struct vmh_error *err)
{
	struct vmh_vmfail_conf *dflt = NULL;
	struct run r;
	enum vmh_rc rc;
	long long n;
	int round, i;

	memset(report, 0, sizeof(*report));
	memset(&r, 0, sizeof(r));
	r.conf = conf;
	r.cloud = cloud;
	r.opts = opts;
	r.rep = report;
	r.lock.fd = r.host_lock.fd = r.j.fd = -1;
	r.pending = -1;
	r.t0 = vmh_now_ms();
	report->outcome = VMH_VF_OUT_FAILED;
	set_str(&report->vm_id, opts->vm_id);
	set_str(&report->trigger, vmh_vmfail_trigger_name(opts->trigger));
	if (conf->vmfail != NULL) {
		r.c = conf->vmfail;
	} else {
		if ((rc = vmh_vmfail_conf_default(&dflt, err)) != VMH_OK)
			goto done;
		r.c = dflt;
	}
	report->max_recoveries = r.c->max_recoveries;
	if (opts->vm_id == NULL ||
	    (!vmh_str_isuuid(opts->vm_id) &&
	     vmh_strtonum(opts->vm_id, 0, VMFAIL_ID_MAX, &n, "VM ID", NULL) !=
		 VMH_OK) ||
	    opts->n_steps < 0 || opts->n_steps > VMH_VMFAIL_MAX_STEPS) {
		rc = vmh_error_set(
		    err, VMH_E_USAGE, NULL, 0,
		    "a VM ID (a number, or a server UUID) and at most %d "
		    "steps are needed",
		    VMH_VMFAIL_MAX_STEPS);
		goto done;
	}
	if ((rc = open_vm_state(&r, err)) != VMH_OK) {
		if (rc == VMH_E_BUSY) {
			/* Two hooks for one failure: the first one has it. */
			log_notice("VM %s: another vm_failure_recreate run is "
				   "handling it (%s): leaving it to it",
				   opts->vm_id, err->text);
			vmh_error_reset(err);
			finish(&r, VMH_VF_OUT_BUSY,
			       "VM %s: another run is healing it", opts->vm_id);
			rc = VMH_OK;
		}
		goto done;
	}
	if ((rc = reread(&r, 1, err)) != VMH_OK)
		goto done;
	report_vm(&r, 1);
	log_notice("VM %s (%s) is %s%s%s (%s)", r.vm->id,
		   r.vm->name ? r.vm->name : "", vm_text(r.vm),
		   r.vm->host_name ? " on " : "",
		   r.vm->host_name ? r.vm->host_name : "",
		   opts->reason ? opts->reason : report->trigger);
	if (check_gave_up(&r, &rc, err))
		goto done;
	if (r.ep != 0) {
		const char *mark =
		    vmh_attr_get(r.vm->attrs, r.c->gave_up_attribute);

		if (mark != NULL && *mark != '\0') {
			end_episode(&r, "gave up");
			rc = decide_and_act(&r, err);
		} else {
			rc = resume_episode(&r, err);
		}
	} else {
		rc = decide_and_act(&r, err);
	}
	/*
	 * The VM failed again after the last step: the hook that fired for
	 * that found the VM lock taken and left it to this run. A new
	 * episode, under the flap limits, so the VM ends recovered or given
	 * up, never failed and forgotten.
	 */
	for (round = 1;
	     rc == VMH_E_API && report->outcome == VMH_VF_OUT_FAILED &&
	     opts->steps == NULL && r.vm != NULL &&
	     needs_healing(r.vm, r.key) && round < r.c->max_recoveries + 1;
	     round++) {
		end_episode(&r, "failed");
		vmh_error_reset(err);
		for (i = 0; i < VMH_VMFAIL_MAX_STEPS; i++)
			free(report->steps[i].detail);
		memset(report->steps, 0, sizeof(report->steps));
		report->n_steps = 0;
		log_notice("VM %s: failed again after every step: a new "
			   "recovery, within the flap limits",
			   opts->vm_id);
		if ((rc = reread(&r, 1, err)) != VMH_OK)
			break;
		rc = decide_and_act(&r, err);
	}
done:
	/* An episode ends with a verdict; one cut short by an outage, a
	 * local error or a step in doubt stays open for the next run. */
	if (r.ep != 0 && r.pending < 0 &&
	    (rc == VMH_OK || rc == VMH_E_API || rc == VMH_E_DENIED ||
	     rc == VMH_E_GAVE_UP || rc == VMH_E_NOTFOUND))
		end_episode(&r, vmh_vmfail_outcome_name(report->outcome));
	else if (r.ep != 0)
		log_warnx("VM %s: episode left open in %s: the next run takes "
			  "it up",
			  opts->vm_id, r.j.path);
	if (report->outcome == VMH_VF_OUT_RECOVERED ||
	    report->outcome == VMH_VF_OUT_PENDING)
		notify(&r, "recovered", report->summary);
	report_vm(&r, 0);
	if (r.j.fd >= 0) {
		struct stat st;

		/* No episode open: leave no empty journal behind (the VM
		 * lock is still ours, nobody else has it open). */
		if (fstat(r.j.fd, &st) == 0 && st.st_size == 0)
			unlink(r.j.path);
		vmh_journal_close(&r.j);
	}
	vmh_lock_release(&r.host_lock);
	vmh_lock_release(&r.lock);
	if (report->summary == NULL) {
		char line[VMH_ERROR_TEXT_MAX + 64];

		snprintf(line, sizeof(line), "VM %s: %s",
			 opts->vm_id ? opts->vm_id : "?",
			 err && err->code != VMH_OK ? err->text
						    : vmh_strerror(rc));
		set_str(&report->summary, line);
	}
	report->rc = rc;
	report->total_ms = (long)(vmh_now_ms() - r.t0);
	report->api_calls = vmh_cloud_calls(cloud);
	vmh_vm_free(r.vm);
	vmh_vmfail_conf_free(dflt);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

void
vmh_vmfail_report_free(struct vmh_vmfail_report *r)
{
	int i;

	for (i = 0; i < VMH_VMFAIL_MAX_STEPS; i++)
		free(r->steps[i].detail);
	free(r->vm_id);
	free(r->vm_name);
	free(r->state);
	free(r->host);
	free(r->state_now);
	free(r->host_now);
	free(r->trigger);
	free(r->summary);
	memset(r, 0, sizeof(*r));
}

void
vmh_vmfail_report_print(const struct vmh_vmfail_report *r, FILE *f)
{
	int i;

	if (r->vm_id == NULL)
		return;
	fprintf(f, "VM %s (%s): %s%s%s, %s%s\n", r->vm_id,
		r->vm_name ? r->vm_name : "?", r->state ? r->state : "?",
		r->host ? " on " : "", r->host ? r->host : "",
		r->trigger ? r->trigger : "?",
		r->resumed ? ", took up an interrupted episode" : "");
	for (i = 0; i < r->n_steps; i++) {
		const struct vmh_vmfail_step_report *s = &r->steps[i];

		fprintf(f, "  step %d %-12s %s", i + 1,
			vmh_vmfail_action_name(s->action),
			s->verified ? "ok"
			: s->sent   ? "failed"
			: s->detail ? "not sent"
				    : "not tried");
		if (s->detail != NULL)
			fprintf(f, ": %s", s->detail);
		if (s->sent)
			fprintf(f, " (%.1f s)", s->ms / 1000.0);
		fputc('\n', f);
	}
	fprintf(f, "  %s: %s\n", vmh_vmfail_outcome_name(r->outcome),
		r->summary ? r->summary : vmh_strerror(r->rc));
	if (r->recoveries > 0)
		fprintf(f, "  recoveries in the window: %d of %d\n",
			r->recoveries, r->max_recoveries);
	fprintf(f, "  time: %.2f s, %lu API calls\n", r->total_ms / 1000.0,
		r->api_calls);
}

void
vmh_vmfail_report_json(const struct vmh_vmfail_report *r, FILE *f)
{
	json_t *doc, *steps = json_array();
	int i;

	for (i = 0; i < r->n_steps && steps != NULL; i++) {
		const struct vmh_vmfail_step_report *s = &r->steps[i];

		json_array_append_new(
		    steps, json_pack("{s:s, s:b, s:b, s:s?, s:I}", "action",
				     vmh_vmfail_action_name(s->action), "sent",
				     s->sent, "verified", s->verified, "detail",
				     s->detail, "ms", (json_int_t)s->ms));
	}
	doc = json_pack(
	    "{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, "
	    "s:i, s:s?, s:b, s:o, s:i, s:i, s:I, s:I, s:I}",
	    "vm_id", r->vm_id, "vm", r->vm_name, "trigger", r->trigger, "state",
	    r->state, "host", r->host, "state_now", r->state_now, "host_now",
	    r->host_now, "outcome", vmh_vmfail_outcome_name(r->outcome),
	    "exit_status", vmh_rc_to_exit(r->rc), "summary", r->summary,
	    "resumed", r->resumed, "steps", steps, "recoveries", r->recoveries,
	    "max_recoveries", r->max_recoveries, "next_allowed",
	    (json_int_t)r->next_allowed, "total_ms", (json_int_t)r->total_ms,
	    "api_calls", (json_int_t)r->api_calls);
	if (doc != NULL) {
		json_dumpf(doc, f, JSON_INDENT(2));
		fputc('\n', f);
	}
	json_decref(doc);
}
