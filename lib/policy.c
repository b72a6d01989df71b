/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-VM recovery policy (see policy.h for the attributes). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy.h"
#include "str.h"

/* OpenNebula LCM states that mean a recovery is already under way. */
#define LCM_CLEANUP_RESUBMIT       15
#define LCM_CLEANUP_DELETE         23
#define LCM_PROLOG_MIGRATE_UNKNOWN 60

static const char *const action_names[] = { "none", "recreate", "migrate",
					    "delete", NULL };

int
vmh_ha_action_parse(const char *s)
{
	int i;

	for (i = 0; action_names[i] != NULL; i++)
		if (strcasecmp(s, action_names[i]) == 0)
			return i;
	return -1;
}

const char *
vmh_ha_action_name(enum vmh_ha_action a)
{
	if (a < VMH_HA_NONE || a > VMH_HA_DELETE)
		return "unset";
	return action_names[a];
}

const char *
vmh_skip_name(enum vmh_skip s)
{
	switch (s) {
	case VMH_SKIP_NONE:
		return "none";
	case VMH_SKIP_HA_OFF:
		return "ha-off";
	case VMH_SKIP_STATE:
		return "state";
	case VMH_SKIP_IN_FLIGHT:
		return "in-flight";
	case VMH_SKIP_LOCKED:
		return "locked";
	case VMH_SKIP_NO_MODE:
		return "no-mode";
	}
	return "unknown";
}

enum vmh_vm_action
vmh_policy_cloud_action(enum vmh_ha_action a)
{
	switch (a) {
	case VMH_HA_MIGRATE:
		return VMH_ACT_RESCHED;
	case VMH_HA_DELETE:
		return VMH_ACT_DELETE;
	default:
		return VMH_ACT_RECREATE;
	}
}

/* yes/no in the spellings OpenNebula users and Masakari write; -1 other. */
static int
parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "1", "on", NULL };
	static const char *const no[] = { "no", "false", "0", "off", NULL };
	int i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	return -1;
}

int
vmh_policy_ha_enabled(const struct vmh_vm *vm, int dflt, char *note,
		      size_t notelen)
{
	const char *ha = vmh_attr_get(vm->attrs, "HA");
	int b;

	if (ha == NULL)
		ha = vmh_attr_get(vm->attrs, "HA_Enabled"); /* Masakari */
	if (ha == NULL)
		return dflt;
	if ((b = parse_bool(ha)) >= 0)
		return b;
	if (note != NULL && notelen > 0)
		snprintf(note, notelen,
			 "HA=\"%.40s\" not understood, default used", ha);
	return dflt;
}

/* Append a note (notes are informational; truncation is acceptable). */
static void
note(struct vmh_vm_plan *out, const char *text)
{
	size_t len = strlen(out->note);

	snprintf(out->note + len, sizeof(out->note) - len, "%s%s",
		 len ? "; " : "", text);
}

void
vmh_policy_decide(const struct vmh_policy *p, const struct vmh_vm *vm,
		  int ds_shared, struct vmh_vm_plan *out)
{
	const char *act, *prio;
	int protect = p->protect_by_default, a;
	long long n;
	char text[120];

	memset(out, 0, sizeof(*out));
	out->action = p->mode;

	text[0] = '\0';
	protect = vmh_policy_ha_enabled(vm, protect, text, sizeof(text));
	if (text[0] != '\0')
		note(out, text);
	act = vmh_attr_get(vm->attrs, "HA_ACTION");
	if (act != NULL) {
		if ((a = vmh_ha_action_parse(act)) < 0) {
			snprintf(text, sizeof(text),
				 "HA_ACTION=\"%.40s\" not understood, "
				 "default used",
				 act);
			note(out, text);
		} else {
			out->action = a;
		}
	}
	prio = vmh_attr_get(vm->attrs, "HA_PRIORITY");
	if (prio != NULL) {
		if (vmh_strtonum(prio, VMH_HA_PRIORITY_MIN, VMH_HA_PRIORITY_MAX,
				 &n, "HA_PRIORITY", NULL) == VMH_OK) {
			out->priority = (int)n;
		} else {
			snprintf(text, sizeof(text),
				 "HA_PRIORITY=\"%.40s\" not understood, 0 used",
				 prio);
			note(out, text);
		}
	}

	if (!protect || out->action == VMH_HA_NONE) {
		out->skip = VMH_SKIP_HA_OFF;
		out->action = VMH_HA_NONE;
		return;
	}
	if (out->action == VMH_HA_UNSET) {
		out->skip = VMH_SKIP_NO_MODE;
		return;
	}

	/* Which states are recovered, as host_error.rb does: every ACTIVE VM
	 * whatever its LCM state; SUSPENDED and POWEROFF for -m and -d, and
	 * for -r only with -f. STOPPED and UNDEPLOYED VMs keep their disks
	 * off the host and are never touched. */
	switch (vm->state) {
	case VMH_VM_RUNNING:
	case VMH_VM_UNKNOWN:
	case VMH_VM_FAILED:
		break;
	case VMH_VM_TRANSIENT:
		/* Nova (no LCM state): its driver reports TRANSIENT only for
		 * work in flight (evacuation, rebuild, migration...), and
		 * Nova accepts a second evacuate in any task state. */
		if (vm->raw_lcm < 0 || vm->raw_lcm == LCM_CLEANUP_RESUBMIT ||
		    vm->raw_lcm == LCM_CLEANUP_DELETE ||
		    vm->raw_lcm == LCM_PROLOG_MIGRATE_UNKNOWN) {
			out->skip = VMH_SKIP_IN_FLIGHT;
			return;
		}
		break;
	case VMH_VM_SUSPENDED:
	case VMH_VM_POWEROFF:
		if (out->action == VMH_HA_RECREATE && !p->include_suspended) {
			out->skip = VMH_SKIP_STATE;
			note(out, "recreate of SUSPENDED/POWEROFF needs -f");
			return;
		}
		break;
	default:
		out->skip = VMH_SKIP_STATE;
		return;
	}
	if (vm->resched && out->action == VMH_HA_MIGRATE) {
		out->skip = VMH_SKIP_IN_FLIGHT;
		return;
	}

	if (out->action == VMH_HA_MIGRATE && ds_shared != 1) {
		out->action = p->migrate_fallback;
		snprintf(text, sizeof(text),
			 "system datastore %lld %s: %s instead of migrate",
			 vm->ds_id, ds_shared == 0 ? "not shared" : "unknown",
			 vmh_ha_action_name(out->action));
		note(out, text);
		if (out->action == VMH_HA_NONE || out->action == VMH_HA_UNSET) {
			out->skip = VMH_SKIP_HA_OFF;
			return;
		}
	}
	if (vm->locked && !p->unlock_locked) {
		out->skip = VMH_SKIP_LOCKED;
		snprintf(text, sizeof(text), "locked (level %d)", vm->locked);
		note(out, text);
	}
}
