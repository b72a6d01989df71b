/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host-failure flow behind host_error: identify the host, wait out the
 * grace period, ask for a second opinion, apply the storm brake, fence, plan
 * by policy, recover with bounded concurrency, verify, report. Exactly once:
 * a per-host lock and a per-incident journal (see journal.h) let a run that
 * was killed at any point be started again and finish the incident without
 * a second recover call for any VM and without fencing twice.
 */
#ifndef VMH_HOSTERR_H
#define VMH_HOSTERR_H

#include <stdio.h>

#include "cloud.h"
#include "conf.h"
#include "policy.h"

/* The `host_error` section of vmheal.conf. */
struct vmh_hosterr_conf {
	enum vmh_ha_action default_action;   /* when no -r/-d/-m */
	enum vmh_ha_action migrate_fallback; /* -m on non-shared DS */
	int protect_by_default;              /* VMs without HA attribute */
	int unlock_locked;                   /* unlock locked VMs first */
	int concurrency;                     /* requests in flight */
	int retries;            /* extra rounds on transient errors */
	int retry_backoff_ms;   /* first backoff, doubles */
	int verify_timeout_s;   /* wait for RUNNING elsewhere */
	int verify_interval_ms; /* poll period */
	int accept_pending;     /* PENDING (no capacity) is OK */
	int storm_max_percent;  /* share of hosts down */
	int storm_max_hosts;    /* hosts down, 0: no cap */
	int disable_host;       /* 0 no, 1 disable, 2 offline */
	int require_down;       /* refuse a host not in ERROR; -1 (unset):
				   yes on OpenNebula, no on OpenStack */
	char **notify_command;  /* argv, NULL: none */
	int notify_timeout_s;
	char *metrics_file;          /* Prometheus textfile, NULL: none */
	char **second_opinion_attrs; /* host attributes holding addresses
					to probe (e.g. STORAGE_IP) */
	int second_opinion_port;     /* TCP port, 0: ICMP echo */
	int second_opinion_timeout_ms;
	int second_opinion_on_alive; /* 0 refuse (isolated), 1 proceed */
	int second_opinion_bmc;      /* ask the fence chain for the power
					state first (default 1) */
};

enum vmh_rc vmh_hosterr_conf_parse(const vmh_setting *group,
				   struct vmh_hosterr_conf **out,
				   struct vmh_error *err);
void vmh_hosterr_conf_free(struct vmh_hosterr_conf *c);
/* The defaults, for a configuration without the section. */
enum vmh_rc vmh_hosterr_conf_default(struct vmh_hosterr_conf **out,
				     struct vmh_error *err);

/* What the command line asked for. */
struct vmh_hosterr_opts {
	const char *host;        /* name or ID */
	enum vmh_ha_action mode; /* -r/-d/-m, VMH_HA_UNSET if none */
	int include_suspended;   /* -f */
	int pause_cycles;        /* -p N */
	int no_fencing;          /* -u */
	int force;               /* --ignore-storm: past the storm brake */
	int dry_run;
	const char *host_xml; /* the hook's <HOST> document, if given */
};

/* Per-VM outcome in the report. */
enum vmh_vm_outcome {
	VMH_OUT_SKIPPED,   /* policy: not ours to recover */
	VMH_OUT_PLANNED,   /* dry run */
	VMH_OUT_RECOVERED, /* running on another host (or deleted) */
	VMH_OUT_PENDING,   /* recreated, waiting for capacity */
	VMH_OUT_LOCKED,    /* locked: reported, not recovered */
	VMH_OUT_FAILED,    /* refused, failed or not verified in time */
};

struct vmh_vm_report {
	char *id;
	char *name;
	enum vmh_ha_action action;
	int priority;
	enum vmh_skip skip;
	enum vmh_vm_outcome outcome;
	char *detail; /* note, error or where it runs now */
	char *new_host;
	int calls; /* recover calls sent for it by this run */
	long ms;   /* from send to verified */
};

struct vmh_hosterr_report {
	char *host_id;
	char *host_name;
	char *stage;   /* last stage reached: "fence", "recover"... */
	char *summary; /* one line */
	enum vmh_rc rc;
	int resumed;     /* this run continued an interrupted incident */
	int fenced;      /* 1 fenced and verified, 0 not, -1 skipped (-u) */
	char *fence_how; /* fence level or "-u" */
	char *bmc_power; /* the second opinion's power state: "on", "off",
			    "unknown"; NULL: not asked */
	long fence_ms;
	long recover_ms;
	long total_ms;
	unsigned long api_calls;
	struct vmh_vm_report *vms;
	size_t n_vms;
};

/*
 * Run the whole flow. Returns the outcome (also in report->rc): VMH_OK
 * (done, nothing to do, host came back, or another run owns the incident),
 * VMH_E_FENCE, VMH_E_PARTIAL, VMH_E_ISOLATED, VMH_E_STORM, or the error
 * that stopped it (err says what).
 */
enum vmh_rc vmh_hosterr_run(const struct vmh_conf *conf,
			    struct vmh_cloud *cloud,
			    const struct vmh_hosterr_opts *opts,
			    struct vmh_hosterr_report *report,
			    struct vmh_error *err);

void vmh_hosterr_report_free(struct vmh_hosterr_report *r);
void vmh_hosterr_report_print(const struct vmh_hosterr_report *r, FILE *f);
/* The report as one JSON document on f. */
void vmh_hosterr_report_json(const struct vmh_hosterr_report *r, FILE *f);

/* host_error --status [HOST]: the incidents in the state dir. */
enum vmh_rc vmh_hosterr_status(const struct vmh_conf *conf, const char *host,
			       int json, FILE *f, struct vmh_error *err);

/*
 * host_error --restore HOST: bring a repaired host back into scheduling
 * (OpenNebula: host.status ENABLED; Nova: clear force-down, enable).
 * Refused while the host is still down, and while an incident for it is
 * open (finish the incident first).
 */
enum vmh_rc vmh_hosterr_restore(const struct vmh_conf *conf,
				struct vmh_cloud *cloud, const char *host,
				int dry_run, struct vmh_error *err);

/*
 * Read the host reference from a hook argument: all digits is an ID;
 * otherwise base64 of a <HOST> document, whose ID and NAME are returned
 * (and the decoded XML in *xml). VMH_E_DATA names what was wrong.
 */
enum vmh_rc vmh_hosterr_parse_hook_arg(const char *arg, char **id, char **name,
				       char **xml, struct vmh_error *err);

#endif
