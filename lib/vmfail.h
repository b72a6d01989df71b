/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one-VM recovery flow behind vm_failure_recreate, also used by the
 * vm_probe daemon to heal a VM whose guest stopped answering.
 *
 * One run handles one failure of one VM (an "episode"):
 *   1. take STATE_DIR/vms/vm-ID.lock (exclusive, non-blocking: a second run
 *      for the same VM leaves the failure to the first and returns VMH_OK);
 *   2. read the VM; a VM marked with the gave-up attribute is left alone;
 *   3. decide the steps from its state (the `states` table of the
 *      vm_failure section, or the caller's override), HA and HA_ACTION;
 *   4. flap limits: at most max_recoveries episodes per window, with a
 *      growing backoff between them; past the limit give up: set the
 *      gave-up attribute (one.vm.update, merge), notify, VMH_E_GAVE_UP;
 *   5. take STATE_DIR/incidents/host-HID.vms SHARED and non-blocking (HID:
 *      the VM's host): busy, the host in ERROR, or an open host_error
 *      incident journal there mean host_error owns the VM: VMH_OK, nothing
 *      done;
 *   6. run the steps in order: journal an intent (durable), send, journal
 *      the result, verify the VM reaches the step's target state; a step
 *      that ends in a failure state again (or is not verified in time)
 *      escalates to the next step;
 *   7. report.
 *
 * Exactly once: every step is journaled in STATE_DIR/vms/vm-ID.journal
 * before its request is sent. A run killed at any point and started again
 * re-reads the VM: a step whose intent is journaled is never sent again for
 * the same episode, whether or not its answer arrived; if the VM shows no
 * sign of it, the run goes on with the next step (or ends the episode).
 * Flap counters live in STATE_DIR/vms/vm-ID.json, replaced atomically.
 */
#ifndef VMH_VMFAIL_H
#define VMH_VMFAIL_H

#include <stdio.h>

#include "cloud.h"
#include "conf.h"
#include "error.h"

/* What a step does to the VM. */
enum vmh_vmfail_action {
	VMH_VF_NONE = 0,    /* nothing: report and alert only */
	VMH_VF_RETRY,       /* retry the failed driver action (recover op 2) */
	VMH_VF_RECREATE,    /* delete-recreate (recover op 4; 4.x action) */
	VMH_VF_RESUME,      /* resume / boot (UNKNOWN on a healthy host) */
	VMH_VF_REBOOT_HARD, /* reboot-hard (a RUNNING VM whose guest hangs) */
	VMH_VF_RESCHED,     /* resched: the scheduler moves it (UNKNOWN) */
	VMH_VF_DELETE,      /* recover op 3 (HA_ACTION=delete only) */
	VMH_VF_REBUILD,     /* Nova rebuild: same server, same host, root
			       disk re-imaged from its image */
	VMH_VF_ACTION_COUNT
};

#define VMH_VMFAIL_MAX_STEPS 4

/* The steps for one state key of the `states` table. */
struct vmh_vmfail_ladder {
	enum vmh_vmfail_action steps[VMH_VMFAIL_MAX_STEPS];
	int n; /* 0: nothing configured for this state (= "none") */
	int set;
};

/* State keys of the `states` table: the OpenNebula LCM state names of the
 * failure states (LCM numbers 0..VMH_VMFAIL_LCM_MAX), plus VM STATE names
 * FAILED (4.x) and CLONING_FAILURE, plus two OpenStack server states:
 * ERROR, and SHUTOFF when nobody asked for the stop. */
#define VMH_VMFAIL_LCM_MAX 80
enum {
	VMH_VF_KEY_FAILED = VMH_VMFAIL_LCM_MAX + 1, /* STATE 7, 4.x */
	VMH_VF_KEY_CLONING_FAILURE,                 /* STATE 11 */
	VMH_VF_KEY_ERROR,                           /* Nova vm_state error */
	VMH_VF_KEY_SHUTOFF, /* Nova vm_state stopped, stop not requested */
	VMH_VF_KEY_COUNT
};

/* The `vm_failure` section of vmheal.conf (see vmheal.conf(5)). */
struct vmh_vmfail_conf {
	int max_recoveries;      /* episodes per window before giving up */
	int window_s;            /* the flap window */
	int backoff_s;           /* least gap before the 2nd episode */
	int backoff_factor;      /* growth of the gap per further episode */
	int backoff_max_s;       /* cap of the gap */
	int max_wait_s;          /* longest backoff waited in the run; a
				    longer one defers (VMH_E_TIMEOUT) */
	int verify_timeout_s;    /* per step */
	int verify_interval_ms;  /* poll period */
	int settle_ms;           /* a VM still in the same failure state this
				    long after a step was accepted failed
				    again */
	int accept_pending;      /* recreated but PENDING (no capacity): ok */
	int protect_by_default;  /* VMs without an HA attribute */
	char *gave_up_attribute; /* USER_TEMPLATE key, "HA_GAVE_UP" */
	char **notify_command;   /* argv, NULL: none */
	int notify_timeout_s;
	/* Indexed by LCM state number, or VMH_VF_KEY_*. */
	struct vmh_vmfail_ladder states[VMH_VF_KEY_COUNT];
};

enum vmh_rc vmh_vmfail_conf_parse(const vmh_setting *group,
				  struct vmh_vmfail_conf **out,
				  struct vmh_error *err);
/* The defaults, for a configuration without the section. */
enum vmh_rc vmh_vmfail_conf_default(struct vmh_vmfail_conf **out,
				    struct vmh_error *err);
void vmh_vmfail_conf_free(struct vmh_vmfail_conf *c);

/* Who asked for the recovery (journal, report, notifications). */
enum vmh_vmfail_trigger {
	VMH_VF_TRIGGER_HOOK,   /* a cloud state hook */
	VMH_VF_TRIGGER_PROBE,  /* vm_probe: the guest stopped answering */
	VMH_VF_TRIGGER_MANUAL, /* an operator */
};

/* What the caller asks for. */
struct vmh_vmfail_opts {
	const char *vm_id; /* required */
	enum vmh_vmfail_trigger trigger;
	int dry_run; /* decide and report; no lock, no journal, no change */
	/*
	 * Steps to use instead of the `states` table, e.g. { REBOOT_HARD,
	 * RECREATE } from vm_probe. With an override the VM is acted upon
	 * even when the cloud shows it RUNNING (a probe knows better); HA=no,
	 * HA_ACTION=none and the gave-up attribute still win. NULL: the
	 * table decides, and a VM that is not in a failure or UNKNOWN state
	 * is left alone.
	 */
	const enum vmh_vmfail_action *steps;
	int n_steps;
	/* Never sleep for a backoff: return VMH_E_TIMEOUT at once with
	 * report->next_allowed set (a daemon reschedules instead). */
	int no_wait;
	int verify_timeout_s; /* per step; 0: the configured one */
	/*
	 * Optional, for probes: the guest's own answer, asked during
	 * verification once the cloud shows the step's target state
	 * (1 alive, 0 not yet). A step is verified only when it says 1; a
	 * reboot-hard, which the cloud shows as RUNNING at once, then
	 * escalates to the next step when the guest stays silent.
	 */
	int (*guest_alive)(const char *vm_id, void *ctx);
	void *guest_ctx;
	const char *reason; /* free text for journal and notifications, e.g.
			       "hook VM/ACTIVE/BOOT_FAILURE" or "probe: 3 of 3
			       pings lost"; may be NULL */
};

/* How the run ended (report->outcome). */
enum vmh_vmfail_outcome {
	VMH_VF_OUT_RECOVERED,  /* reached the target state */
	VMH_VF_OUT_PENDING,    /* recreated; waiting for capacity */
	VMH_VF_OUT_PLANNED,    /* dry run: what would be done */
	VMH_VF_OUT_NOTHING,    /* not failed, HA off, "none" configured */
	VMH_VF_OUT_HOST_ERROR, /* host_error owns it (host down/incident) */
	VMH_VF_OUT_BUSY,       /* another vm_failure_recreate run has it */
	VMH_VF_OUT_DEFERRED,   /* backoff not over: try again later */
	VMH_VF_OUT_GAVE_UP,    /* flap limit: marked, left alone */
	VMH_VF_OUT_FAILED,     /* steps refused or not verified */
};

/* One step as it went. */
struct vmh_vmfail_step_report {
	enum vmh_vmfail_action action;
	int sent;     /* 1 the cloud accepted it (or it visibly took effect) */
	int verified; /* 1 the VM reached the step's target */
	char *detail; /* state reached, or why it failed */
	long ms;      /* from send to verified or given up */
};

struct vmh_vmfail_report {
	char *vm_id;
	char *vm_name;
	char *state;     /* at the start: "ACTIVE/BOOT_FAILURE" */
	char *host;      /* its host at the start, or NULL */
	char *state_now; /* at the end */
	char *host_now;
	char *trigger; /* "hook", "probe", "manual" */
	char *summary; /* one line */
	enum vmh_vmfail_outcome outcome;
	enum vmh_rc rc;
	int resumed; /* continued an episode a killed run left open */
	struct vmh_vmfail_step_report steps[VMH_VMFAIL_MAX_STEPS];
	int n_steps;            /* planned */
	int recoveries;         /* episodes in the window, this one included */
	int max_recoveries;     /* the limit */
	long long next_allowed; /* epoch s of the next allowed episode (0) */
	long total_ms;
	unsigned long api_calls;
};

/*
 * Run one episode for opts->vm_id. Returns (also in report->rc):
 *   VMH_OK           recovered, pending for capacity, nothing to do, dry
 *                    run, another run has the VM, or host_error owns it
 *                    (report->outcome tells which);
 *   VMH_E_GAVE_UP    flap limit reached now or earlier (exit 84);
 *   VMH_E_TIMEOUT    deferred: the backoff is longer than max_wait (or
 *                    opts->no_wait); report->next_allowed says when;
 *   VMH_E_API / VMH_E_DENIED  steps refused or not verified (exit 1);
 *   VMH_E_NOTFOUND, VMH_E_UNAVAILABLE, VMH_E_AUTH, VMH_E_SYSTEM...
 * err says what went wrong. conf->vmfail may be NULL (defaults).
 * The report is filled in every case; free it with
 * vmh_vmfail_report_free().
 */
enum vmh_rc vmh_vmfail_run(const struct vmh_conf *conf, struct vmh_cloud *cloud,
			   const struct vmh_vmfail_opts *opts,
			   struct vmh_vmfail_report *report,
			   struct vmh_error *err);

void vmh_vmfail_report_free(struct vmh_vmfail_report *r);
void vmh_vmfail_report_print(const struct vmh_vmfail_report *r, FILE *f);
/* The report as one JSON document on f. */
void vmh_vmfail_report_json(const struct vmh_vmfail_report *r, FILE *f);

/* "retry", "recreate", ... and back (-1 when unknown). */
const char *vmh_vmfail_action_name(enum vmh_vmfail_action a);
int vmh_vmfail_action_parse(const char *s);
const char *vmh_vmfail_outcome_name(enum vmh_vmfail_outcome o);
const char *vmh_vmfail_trigger_name(enum vmh_vmfail_trigger t);

/*
 * Read the VM reference from a hook argument: all digits is an ID (4.x
 * VM_HOOK $ID); otherwise base64 of a <VM> document ($TEMPLATE), whose ID
 * is returned, and its STATE/LCM_STATE in *state and *lcm (-1 for an ID).
 * VMH_E_DATA names what was wrong. *id is allocated.
 */
enum vmh_rc vmh_vmfail_parse_hook_arg(const char *arg, char **id, int *state,
				      int *lcm, struct vmh_error *err);

/* ---- The pieces, exposed for unit tests */

/* The verdict of vmh_vmfail_decide(). */
enum vmh_vmfail_verdict {
	VMH_VF_ACT,        /* plan->steps to run */
	VMH_VF_NOT_FAILED, /* nothing to heal in this state */
	VMH_VF_HA_OFF,     /* HA=no or HA_ACTION=none */
	VMH_VF_NO_ACTION,  /* "none" configured for the state, or its host is
			      OFFLINE: alert only */
	VMH_VF_HOST_OWNED, /* its host is in ERROR: host_error's */
	VMH_VF_HOST_WAIT,  /* its host is not ready (INIT...): try later */
	VMH_VF_GAVE_UP_EARLIER, /* the gave-up attribute is set */
};

struct vmh_vmfail_plan {
	enum vmh_vmfail_verdict verdict;
	enum vmh_vmfail_action steps[VMH_VMFAIL_MAX_STEPS];
	int n_steps;
	const char *key; /* the state key used ("BOOT_FAILURE"), static */
	char note[200];  /* why, for the report */
};

/*
 * Decide for vm (whose host is in host_state; VMH_HOST_OTHER when the VM
 * has no host). override/n_override as opts->steps. Pure: no I/O.
 */
void vmh_vmfail_decide(const struct vmh_vmfail_conf *c, const struct vmh_vm *vm,
		       enum vmh_host_state host_state,
		       const enum vmh_vmfail_action *override, int n_override,
		       struct vmh_vmfail_plan *plan);

/* The state key of a VM ("BOOT_FAILURE", "UNKNOWN", "FAILED", "ERROR"...)
 * and its index in conf->states, or -1 when the state has no key. A stopped
 * OpenStack server has the key SHUTOFF only when vm->stop_cause (which the
 * caller fills from vmh_cloud_vm_stop_cause()) is VMH_STOP_UNEXPECTED. */
int vmh_vmfail_state_key(const struct vmh_vm *vm, const char **name);

/* Flap counters of one VM: the episodes that sent something, in time. */
#define VMH_VMFAIL_FLAP_MAX 64
struct vmh_vmfail_flap {
	long long t[VMH_VMFAIL_FLAP_MAX];  /* epoch ms of each episode */
	long long ep[VMH_VMFAIL_FLAP_MAX]; /* its episode id (ms) */
	int n;
	long long gave_up;  /* epoch s, 0: not given up */
	int gave_up_marked; /* the VM's gave-up attribute was set: when it
			       is gone again, an operator cleared it */
	char gave_up_reason[160];
};

enum vmh_vmfail_flap_verdict {
	VMH_VF_FLAP_GO,      /* an episode may start now */
	VMH_VF_FLAP_WAIT,    /* not before *next_allowed */
	VMH_VF_FLAP_GIVE_UP, /* max_recoveries reached within the window */
};

/*
 * Drop episodes older than the window, then judge an episode starting at
 * now (epoch ms). *next_allowed: the epoch ms it may start (now when GO).
 * *count: episodes left in the window.
 */
enum vmh_vmfail_flap_verdict
vmh_vmfail_flap_check(const struct vmh_vmfail_conf *c,
		      struct vmh_vmfail_flap *f, long long now,
		      long long *next_allowed, int *count);
/* Record episode ep at now (epoch ms; idempotent for an ep there). */
void vmh_vmfail_flap_record(struct vmh_vmfail_flap *f, long long now,
			    long long ep);
/* Take episode ep off the counters (it sent nothing); 1 if it was there. */
int vmh_vmfail_flap_forget(struct vmh_vmfail_flap *f, long long ep);
/* Load from path (missing file: empty counters). A file that is not what
 * vmh_vmfail_flap_save() writes is VMH_E_DATA. */
enum vmh_rc vmh_vmfail_flap_load(const char *path, struct vmh_vmfail_flap *f,
				 struct vmh_error *err);
/* Replace path atomically: temporary file, fsync, rename, fsync of the
 * directory. */
enum vmh_rc vmh_vmfail_flap_save(const char *path,
				 const struct vmh_vmfail_flap *f,
				 struct vmh_error *err);

#endif
