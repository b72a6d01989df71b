/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cloud interface: what the programs need from a cloud manager, without
 * knowing which one is behind it. Drivers: lib/cloud_one.c (OpenNebula
 * XML-RPC) and lib/cloud_nova.c (Keystone v3 + Nova REST). The driver is
 * chosen by the configuration (`cloud = ...`), or for OpenStack by OS_CLOUD /
 * OS_AUTH_URL being set.
 *
 * Identifiers are strings: OpenNebula's are decimal numbers, Nova's UUIDs and
 * host names. Every call has a deadline (the configured API timeout) and
 * reports failures as:
 *   VMH_E_UNAVAILABLE / VMH_E_TIMEOUT  transient: connection refused, 5xx,
 *                                      timeouts, oned in election... The
 *                                      outcome of a mutating call is then
 *                                      UNKNOWN: re-read before retrying.
 *   VMH_E_AUTH                         credentials refused
 *   VMH_E_NOTFOUND                     the object does not exist
 *   VMH_E_DENIED                       refused, e.g. the VM is locked
 *   VMH_E_API                          other permanent refusals (wrong state)
 *   VMH_E_DATA                         the answer could not be understood
 */
#ifndef VMH_CLOUD_H
#define VMH_CLOUD_H

#include <stddef.h>

#include "conf.h"
#include "error.h"

/* A host's condition, mapped from the cloud's own states. */
enum vmh_host_state {
	VMH_HOST_UP,       /* ONE MONITORED; Nova service up and enabled */
	VMH_HOST_DOWN,     /* ONE ERROR (or MONITORING_ERROR); Nova down */
	VMH_HOST_DISABLED, /* ONE DISABLED; Nova disabled (up) */
	VMH_HOST_OFFLINE,  /* ONE OFFLINE; Nova forced down + disabled */
	VMH_HOST_INIT,     /* ONE INIT and MONITORING_INIT */
	VMH_HOST_OTHER,
};

/* A VM's condition, mapped from STATE/LCM_STATE or Nova's status. */
enum vmh_vm_state {
	VMH_VM_RUNNING,    /* ACTIVE/RUNNING; Nova ACTIVE */
	VMH_VM_UNKNOWN,    /* ACTIVE/UNKNOWN: its host stopped reporting */
	VMH_VM_FAILED,     /* *_FAILURE LCM states, FAILED (4.x); Nova ERROR */
	VMH_VM_PENDING,    /* PENDING: waiting for the scheduler */
	VMH_VM_TRANSIENT,  /* PROLOG, BOOT, MIGRATE, CLEANUP...; Nova BUILD,
			      REBUILD, MIGRATING... */
	VMH_VM_HOLD,       /* HOLD */
	VMH_VM_POWEROFF,   /* POWEROFF; Nova SHUTOFF */
	VMH_VM_SUSPENDED,  /* SUSPENDED; Nova SUSPENDED/PAUSED */
	VMH_VM_STOPPED,    /* STOPPED; Nova SHELVED* */
	VMH_VM_UNDEPLOYED, /* UNDEPLOYED */
	VMH_VM_DONE,       /* DONE or gone */
	VMH_VM_OTHER,
};

struct vmh_host {
	char *id; /* "5" or the Nova service id */
	char *name;
	enum vmh_host_state state;
	int raw_state;     /* ONE STATE number, -1 for Nova */
	char *state_text;  /* "ERROR", "down/enabled"... for messages */
	char **attrs;      /* KEY, value, KEY, value, ..., NULL: template
			      attributes (FENCE_IP...), Nova: none */
	char **vm_ids;     /* ONE HOST/VMS, NULL-terminated; may be empty */
	char *document;    /* the host as the cloud returned it (ONE: the
			      <HOST> XML, given to fence scripts) */
	long long max_cpu; /* capacity, 0 if unknown */
	long long max_mem;
};

struct vmh_host_list {
	struct vmh_host *hosts;
	size_t n;
};

/* Why a stopped VM is stopped (vmh_cloud_vm_stop_cause). */
enum vmh_stop_cause {
	VMH_STOP_UNKNOWN = 0, /* the cloud keeps no record that tells */
	VMH_STOP_REQUESTED,   /* someone asked for it (a user's stop) */
	VMH_STOP_UNEXPECTED,  /* nobody did: the guest powered off or
				 crashed, and the cloud only noticed */
};

struct vmh_vm {
	char *id;
	char *name;
	enum vmh_vm_state state;
	int raw_state;    /* ONE STATE, -1 for Nova */
	int raw_lcm;      /* ONE LCM_STATE, -1 for Nova */
	char *state_text; /* "ACTIVE/UNKNOWN", "ERROR"... */
	char *host_name;  /* current or last host, NULL if never placed */
	char *host_id;    /* ONE HID of the last history, Nova: host name */
	long long ds_id;  /* ONE system datastore of the last history, or -1 */
	long long history_seq; /* ONE SEQ of the last history, or -1 */
	int locked;            /* ONE lock level, Nova locked (1), 0 none */
	int resched;           /* ONE RESCHED flag: a resched is pending */
	char **attrs;          /* USER_TEMPLATE / metadata: KEY, value, ... */
	long long stime;       /* start time, epoch seconds, 0 if unknown */
	int busy; /* the cloud is working on it (Nova: a task_state such as
		     reboot_started_hard); ONE shows that in the LCM state */
	enum vmh_stop_cause stop_cause; /* not read by the drivers: filled
					   by callers that asked
					   vmh_cloud_vm_stop_cause() */
	char **ips; /* its NICs' addresses, NULL-terminated, or NULL: ONE
		       TEMPLATE/NIC IP, IP6, IP6_GLOBAL, IP6_ULA per NIC in
		       order (vm_probe's targets); Nova: the server's
		       "addresses", fixed before floating, IPv4 before
		       IPv6, no duplicates, at most 32 */
};

struct vmh_vm_list {
	struct vmh_vm *vms;
	size_t n;
};

/* What can be done to one VM. Drivers map each to their API; an action a
 * cloud cannot do returns VMH_E_API naming it. */
enum vmh_vm_action {
	VMH_ACT_RECREATE,    /* ONE recover op 4 (delete-recreate, same ID);
				Nova evacuate (scheduler picks the host) */
	VMH_ACT_DELETE,      /* ONE recover op 3; Nova delete */
	VMH_ACT_RESCHED,     /* ONE action resched; Nova evacuate */
	VMH_ACT_RETRY,       /* ONE recover op 2 (retry the failed action) */
	VMH_ACT_RESUME,      /* ONE action resume; Nova start */
	VMH_ACT_REBOOT_HARD, /* ONE action reboot-hard; Nova hard reboot */
	VMH_ACT_REBUILD,     /* Nova rebuild; ONE: recover op 4 */
	VMH_ACT_RESET_STATE, /* Nova reset-state active; ONE: not supported */
	VMH_ACT_LOCK,        /* ONE lock level arg (default 3); Nova lock */
	VMH_ACT_UNLOCK,
	VMH_ACT_UPDATE, /* merge arg ("KEY=value" lines) into the
			   USER_TEMPLATE / metadata */
	VMH_ACT_COUNT
};

/* One queued operation for vmh_cloud_run_ops(). The caller fills the input
 * fields; the driver fills rc and err. */
struct vmh_vm_op {
	const char *vm_id;
	enum vmh_vm_action action;
	const char *arg; /* action argument, or NULL */
	void *user;      /* the caller's, untouched */
	enum vmh_rc rc;  /* VMH_OK when the cloud accepted the action */
	struct vmh_error err;
	long duration_ms;
};

/*
 * Called for each op: with done == 0 right before its request is sent (the
 * place to journal "about to"), with done == 1 when its answer (or failure)
 * is known. Returning non-zero from a done == 0 call skips that op (rc is
 * then VMH_E_INTERNAL with the text "skipped by caller").
 */
typedef int (*vmh_op_cb)(struct vmh_vm_op *op, int done, void *ctx);

struct vmh_cloud; /* opaque */

/* Open the driver the configuration names; no network traffic yet. */
enum vmh_rc vmh_cloud_open(const struct vmh_conf *conf, struct vmh_cloud **out,
			   struct vmh_error *err);
void vmh_cloud_close(struct vmh_cloud *c);

/* "opennebula" or "openstack". */
const char *vmh_cloud_kind(const struct vmh_cloud *c);

/* Log in / check reachability, and the cloud's version ("6.10.5", "2.93"). */
enum vmh_rc vmh_cloud_version(struct vmh_cloud *c, char **version,
			      struct vmh_error *err);

/* Seconds between host monitoring cycles, for -p N: the configured value,
 * else what the cloud says, else 60. */
enum vmh_rc vmh_cloud_monitoring_interval(struct vmh_cloud *c, int *seconds,
					  struct vmh_error *err);

/* A host by name or ID (all digits = ID on OpenNebula). */
enum vmh_rc vmh_cloud_host_get(struct vmh_cloud *c, const char *name_or_id,
			       struct vmh_host **out, struct vmh_error *err);
enum vmh_rc vmh_cloud_host_list(struct vmh_cloud *c, struct vmh_host_list *out,
				struct vmh_error *err);

/* Take a failed host out of scheduling (ONE: host.status DISABLED or, with
 * offline != 0, OFFLINE; Nova: force-down + disable with reason). */
enum vmh_rc vmh_cloud_host_disable(struct vmh_cloud *c,
				   const struct vmh_host *h, int offline,
				   const char *reason, struct vmh_error *err);
/* Bring a repaired host back (ONE: ENABLED; Nova: refuse while its service
 * is down, else clear force-down and enable). */
enum vmh_rc vmh_cloud_host_enable(struct vmh_cloud *c, const struct vmh_host *h,
				  struct vmh_error *err);

/* Every VM placed on h (last history on h / Nova host match), from one pool
 * call (paged where the cloud pages), excluding DONE. */
enum vmh_rc vmh_cloud_vms_on_host(struct vmh_cloud *c, const struct vmh_host *h,
				  struct vmh_vm_list *out,
				  struct vmh_error *err);

/* One VM, fresh. */
enum vmh_rc vmh_cloud_vm_get(struct vmh_cloud *c, const char *id,
			     struct vmh_vm **out, struct vmh_error *err);

/* Every VM of the cloud (every user, every state but DONE), with its
 * attributes and addresses, in as few calls as the cloud allows (ONE: the
 * extended pool, paged; clouds without a pool listing: each host's VMs).
 * vm_probe reads its targets from it. */
enum vmh_rc vmh_cloud_vm_list_all(struct vmh_cloud *c, struct vmh_vm_list *out,
				  struct vmh_error *err);

/* Several VMs by id in as few calls as the cloud allows (ONE: one
 * vmpool.infoset, or vmpool.info filtered). A VM that no longer exists comes
 * back with state VMH_VM_DONE. out->vms[i] matches ids[i]. */
enum vmh_rc vmh_cloud_vms_get(struct vmh_cloud *c, const char *const *ids,
			      size_t n, struct vmh_vm_list *out,
			      struct vmh_error *err);

/*
 * Run n operations with at most `concurrency` requests in flight (libcurl
 * multi, no threads), in array order. Each op's own outcome is in op->rc;
 * the return value is VMH_OK unless the batch itself could not run. cb may
 * be NULL.
 */
enum vmh_rc vmh_cloud_run_ops(struct vmh_cloud *c, struct vmh_vm_op *ops,
			      size_t n, int concurrency, vmh_op_cb cb,
			      void *ctx, struct vmh_error *err);

/* Is system datastore ds_id shared between hosts (ONE: TEMPLATE/SHARED
 * of the datastore)? *shared is 1 or 0. Clouds without the notion answer
 * 1 (Nova's evacuate handles both). */
enum vmh_rc vmh_cloud_datastore_shared(struct vmh_cloud *c, long long ds_id,
				       int *shared, struct vmh_error *err);

/*
 * Why VM id is stopped, from the cloud's record of what was done to it.
 * Nova: the newest instance action that changes the power state; a "stop"
 * with no user is Nova's own power-state sync noticing a guest that went
 * down by itself (unexpected), a "stop" by a user is requested, and a
 * start, reboot, create, rebuild... as the newest means the server was
 * meant to run (unexpected). OpenNebula keeps no such record: UNKNOWN.
 * detail (may be NULL) gets a short "stop by <user> at <time>" text.
 */
enum vmh_rc vmh_cloud_vm_stop_cause(struct vmh_cloud *c, const char *id,
				    enum vmh_stop_cause *cause, char *detail,
				    size_t dlen, struct vmh_error *err);

/* Convenience: one operation, synchronously. */
enum vmh_rc vmh_cloud_vm_op(struct vmh_cloud *c, const char *vm_id,
			    enum vmh_vm_action action, const char *arg,
			    struct vmh_error *err);

/* Number of API requests made since open (for reports and benchmarks). */
unsigned long vmh_cloud_calls(const struct vmh_cloud *c);

/* Attribute lookup in a KEY, value, ... vector (case-insensitive key). */
const char *vmh_attr_get(char *const *attrs, const char *key);

/* Names for messages and reports. */
const char *vmh_vm_state_name(enum vmh_vm_state s);
const char *vmh_host_state_name(enum vmh_host_state s);
const char *vmh_vm_action_name(enum vmh_vm_action a);

void vmh_host_free(struct vmh_host *h);  /* frees h too */
void vmh_host_clear(struct vmh_host *h); /* frees the members only */
void vmh_host_list_free(struct vmh_host_list *l);
void vmh_vm_free(struct vmh_vm *vm);
void vmh_vm_clear(struct vmh_vm *vm);
void vmh_vm_list_free(struct vmh_vm_list *l);

#endif
