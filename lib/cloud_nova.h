/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenStack driver behind cloud.h: Keystone v3 (lib/osauth.c) and the
 * Nova compute API, one microversion per run (2.73, else 2.53; older
 * clouds are refused). Every request carries the token and the pinned
 * microversion; every answer's X-OpenStack-Request-Id is logged with the
 * call; error bodies become one line ("Nova: POST /servers/ID/action
 * (evacuate): 400 Compute service of cmp1 is still in use. (req-...)").
 *
 * How cloud.h maps onto Nova:
 *   host           a nova-compute service: id = its UUID, name = its host
 *   host state     up+enabled UP, up+disabled DISABLED, down (heartbeat)
 *                  DOWN, forced down + disabled OFFLINE
 *   host_disable   one PUT /os-services/{id}: forced_down + disabled with
 *                  the reason (never starting with "AUTO: ", which the
 *                  libvirt driver would clear by itself)
 *   host_enable    refused while the service is down; else force-up (Nova
 *                  refuses while evacuations are not cleaned up), wait
 *                  for "up", enable
 *   vms_on_host    GET /servers/detail?all_tenants=1&host=H, every page,
 *                  exact matches only (Nova's filter may match more, and
 *                  a non-admin token gets its own servers instead: the
 *                  token must have the admin role)
 *   VM state       from vm_state + task_state: work in flight (rebuild
 *                  or evacuation, migration, resize, build, delete) is
 *                  TRANSIENT; other tasks (reboot, power changes: casts
 *                  that hang on a dead compute) leave the vm_state to
 *                  decide; ACTIVE on a host whose service is down is
 *                  UNKNOWN; ERROR FAILED (the fault message in
 *                  state_text); SHUTOFF POWEROFF. A server this process
 *                  evacuated that is back to no task on its old host is
 *                  TRANSIENT while its migration goes on (Nova clears the
 *                  task just before it moves the host), FAILED once the
 *                  migration failed (claim refused).
 *   RECREATE/RESCHED  evacuate ({} or {"host": arg}; never onSharedStorage
 *                  or force). A server in a vm_state Nova will not
 *                  evacuate gets os-resetState error first, as Masakari
 *                  does.
 *   REBOOT_HARD, REBUILD (arg: image, default the server's own),
 *   RESUME (os-start), RESET_STATE (arg active|error), LOCK (arg: reason
 *   at 2.73), UNLOCK, UPDATE (metadata merge of "KEY=value" lines),
 *   DELETE. RETRY has no Nova equivalent (VMH_E_API).
 */
#ifndef VMH_CLOUD_NOVA_H
#define VMH_CLOUD_NOVA_H

#include "cloud.h"

struct vmh_nova; /* the driver's state */

/* The Nova state behind c, or NULL when c is not an OpenStack cloud. */
struct vmh_nova *vmh_nova_of(struct vmh_cloud *c);

/* The microversion in use ("2.73"), negotiating it first if needed. */
enum vmh_rc vmh_nova_microversion(struct vmh_nova *n, const char **mv,
				  struct vmh_error *err);

/* How an evacuation of one server went, from its instance actions and
 * its evacuation migrations (reference: a server counts as evacuated
 * once when it has one evacuate action and one migration, done or
 * completed). */
struct vmh_nova_evac {
	int actions;       /* "evacuate" instance actions */
	int migrations;    /* evacuation migrations (from source if given) */
	char status[32];   /* the newest migration's status, "" if none */
	char dest[256];    /* its destination, "" if none */
	char message[256]; /* the newest evacuate action's message or the
			      failed event's details, "" if none */
};
enum vmh_rc vmh_nova_evacuation(struct vmh_nova *n, const char *server_id,
				const char *source_host,
				struct vmh_nova_evac *out,
				struct vmh_error *err);

/* Stop a server (os-stop), for vm_failure_recreate's stop/start flow. */
enum vmh_rc vmh_nova_stop(struct vmh_nova *n, const char *server_id,
			  struct vmh_error *err);

/* Keystone authentications done so far (tests check re-authentication). */
unsigned long vmh_nova_auth_count(const struct vmh_nova *n);

#endif
