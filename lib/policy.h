/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-VM recovery policy: which VMs of a failed host are recovered, how, and
 * in which order. Inputs are the operator's options (host_error.rb's -r, -d,
 * -m, -f), the configuration's defaults, and the VM's own attributes
 * (USER_TEMPLATE on OpenNebula, metadata on Nova):
 *   HA          yes|no      protect this VM (default: protect_by_default)
 *   HA_ACTION   recreate|migrate|delete|none
 *   HA_PRIORITY integer     higher first (default 0)
 * Masakari's metadata key HA_Enabled=True|False is read as HA.
 */
#ifndef VMH_POLICY_H
#define VMH_POLICY_H

#include <stddef.h>

#include "cloud.h"

enum vmh_ha_action {
	VMH_HA_UNSET = -1, /* no mode given */
	VMH_HA_NONE = 0,
	VMH_HA_RECREATE,
	VMH_HA_MIGRATE,
	VMH_HA_DELETE,
};

#define VMH_HA_PRIORITY_MIN (-1000)
#define VMH_HA_PRIORITY_MAX 1000

struct vmh_policy {
	enum vmh_ha_action mode;             /* from -r/-d/-m or the config */
	enum vmh_ha_action migrate_fallback; /* -m on a non-shared DS */
	int include_suspended;               /* -f */
	int protect_by_default;              /* VMs without HA */
	int unlock_locked;                   /* unlock, then recover */
};

/* Why a VM is not acted upon, or VMH_SKIP_NONE. */
enum vmh_skip {
	VMH_SKIP_NONE = 0,
	VMH_SKIP_HA_OFF,    /* HA=no or HA_ACTION=none */
	VMH_SKIP_STATE,     /* STOPPED, UNDEPLOYED, PENDING, DONE... */
	VMH_SKIP_IN_FLIGHT, /* already being recovered (CLEANUP_RESUBMIT...) */
	VMH_SKIP_LOCKED,    /* locked and unlock_locked is off: reported */
	VMH_SKIP_NO_MODE,   /* no action for it: no mode, no HA_ACTION */
};

struct vmh_vm_plan {
	enum vmh_ha_action action;
	int priority;
	enum vmh_skip skip;
	char note[160]; /* why, for the report ("HA_ACTION=foo ignored") */
};

/*
 * Decide for one VM. ds_shared: 1/0 whether the VM's system datastore is
 * shared, -1 unknown (treated as not shared for -m: migration of a VM on
 * local storage cannot work, OpenNebula issue #6099).
 */
void vmh_policy_decide(const struct vmh_policy *p, const struct vmh_vm *vm,
		       int ds_shared, struct vmh_vm_plan *out);

/*
 * Is the VM protected? Its HA attribute (or Masakari's HA_Enabled) read as
 * yes/no, else dflt. A value that is neither is described in note (when
 * not NULL) and dflt is used. Shared by host_error and vm_failure_recreate.
 */
int vmh_policy_ha_enabled(const struct vmh_vm *vm, int dflt, char *note,
			  size_t notelen);

/* Parse "recreate"... into an action; -1 if unknown. */
int vmh_ha_action_parse(const char *s);
const char *vmh_ha_action_name(enum vmh_ha_action a);
const char *vmh_skip_name(enum vmh_skip s);

/* The cloud action that carries out a policy action. */
enum vmh_vm_action vmh_policy_cloud_action(enum vmh_ha_action a);

#endif
