/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fencing: power a failed host off through a chain of levels read from the
 * `fence` section of vmheal.conf, and prove that it is off before anything
 * else happens. The first level that both fences and verifies wins; when
 * every level fails the host is NOT fenced and the caller must not recover
 * any of its VMs.
 *
 * Two kinds of level:
 *
 *  agent   a program speaking the fence-agents interface (fence_ipmilan,
 *          fence_redfish, fence_ilo...; ClusterLabs' FenceAgentAPI.md):
 *          options as key=value lines on stdin, `action=off`, exit 0 for
 *          success. Afterwards `action=status` must answer OFF (exit 2); exit
 *          0 means ON and anything else is unknown. The status query is
 *          repeated up to verify_retries times, verify_interval seconds
 *          apart; a timeout, ON or unknown after the last try fails the
 *          level. Per-host options come from the host's template attributes
 *          (host_options maps an agent option to an attribute name), the
 *          password from the private secrets file: the secret named
 *          "<password_secret>_<host>" (each character of the host name
 *          other than a letter, digit or '-' written '_') if there is one,
 *          else "<password_secret>". The stdin lines are, in order:
 *          action=, nodename=<host>, options, host options (which replace
 *          options of the same key), <password_option>=. Secrets travel on
 *          stdin only: never on argv, in the environment, in a log line or
 *          in a report; the configuration cannot set action, nodename or a
 *          password option, and no value may hold a line break.
 *
 *  script  an OpenNebula fence_host.sh-style program: the base64 of the
 *          <HOST> XML document on stdin, exit 0 only when the host is
 *          fenced. That contract makes the script verify itself; when the
 *          level has a status_command, it is run like an agent's status
 *          (same stdin, exit 2 = OFF, 0 = ON) and must answer OFF.
 *
 * Every program run is bounded by the level's timeout (lib/exec: SIGTERM
 * then SIGKILL to its process group). Every step is logged and recorded,
 * with its timing, in a struct vmh_fence_report for the caller.
 */
#ifndef VMH_FENCE_H
#define VMH_FENCE_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "error.h"

#define VMH_FENCE_MAX_LEVELS  16
#define VMH_FENCE_MAX_OPTIONS 64
#define VMH_FENCE_DETAIL_MAX  256

#define VMH_FENCE_DEFAULT_TIMEOUT         60 /* seconds per program run */
#define VMH_FENCE_DEFAULT_VERIFY_RETRIES  5  /* status queries after off */
#define VMH_FENCE_DEFAULT_VERIFY_INTERVAL 2  /* seconds between them */
#define VMH_FENCE_DEFAULT_PASSWORD_OPTION "password"

enum vmh_fence_type {
	VMH_FENCE_AGENT,
	VMH_FENCE_SCRIPT,
};

/* One key=value pair. In host_options the value is an attribute name. */
struct vmh_fence_opt {
	char *key;
	char *value;
	int line; /* in the configuration file, for messages */
};

/* One level of the chain; immutable after vmh_fence_conf_parse(). */
struct vmh_fence_level {
	char *name;
	enum vmh_fence_type type;
	char *command;        /* absolute path of the agent or script */
	int timeout_s;        /* each run of command (off, on, status) */
	int status_timeout_s; /* each status run; defaults to timeout_s */
	/* agent levels only */
	struct vmh_fence_opt *options; /* fixed options, in file order */
	size_t n_options;
	struct vmh_fence_opt *host_options; /* option = attribute: required */
	size_t n_host_options;
	struct vmh_fence_opt *host_options_optional; /* skipped if absent */
	size_t n_host_options_optional;
	char *password_secret; /* secret name, NULL: no password sent */
	char *password_option; /* "password" unless configured */
	/* verification */
	int verify_retries; /* status queries, >= 1 */
	int verify_interval_s;
	int verify_delay_s;   /* wait before the first status query */
	char *status_command; /* script levels: optional status program */
};

struct vmh_fence_conf {
	struct vmh_fence_level *levels;
	size_t n_levels;
};

/*
 * Parse the `fence` group (called by vmh_conf_load()). Unknown keys, wrong
 * types, out-of-range numbers, relative command paths, option values with
 * line breaks and options the chain sets itself (action, nodename, the
 * password option) are errors reported as "file:line: what". On error *out
 * is NULL. The caller frees *out with vmh_fence_conf_free().
 */
enum vmh_rc vmh_fence_conf_parse(const vmh_setting *group,
				 struct vmh_fence_conf **out,
				 struct vmh_error *err);
void vmh_fence_conf_free(struct vmh_fence_conf *fc);

/* The host to fence. Everything is borrowed for the duration of a call. */
struct vmh_fence_target {
	const char *name; /* host name: required; sent as nodename= */
	long long id;     /* cloud id, -1 when unknown */
	/* Template attributes as key, value, key, value, ..., NULL; keys
	 * compare case-insensitively (OpenNebula writes them upper-case).
	 * May be NULL. */
	const char *const *attrs;
	/* The <HOST> XML document (not base64) for script levels; NULL when
	 * unavailable, which makes script levels fail. */
	const char *host_xml;
};

enum vmh_fence_action {
	VMH_FENCE_OFF,    /* fence: off, then verify */
	VMH_FENCE_STATUS, /* only ask for the power state */
	VMH_FENCE_ON,     /* power on again (return to service) */
};

/* What one program run (or a step that could not run) came to. */
enum vmh_fence_outcome {
	VMH_FENCE_DONE,          /* off/on/script: exit 0 */
	VMH_FENCE_FAILED,        /* non-zero exit or killed by a signal */
	VMH_FENCE_TIMEDOUT,      /* killed at the level's timeout */
	VMH_FENCE_POWER_OFF,     /* status: exit 2 */
	VMH_FENCE_POWER_ON,      /* status: exit 0 */
	VMH_FENCE_POWER_UNKNOWN, /* status: any other exit */
	VMH_FENCE_NOT_RUN,       /* could not be prepared or started */
	VMH_FENCE_PLANNED,       /* dry run: shown, not run */
};

/* The power state vmh_fence_status() found. */
enum vmh_fence_power {
	VMH_FENCE_PW_UNKNOWN,
	VMH_FENCE_PW_ON,
	VMH_FENCE_PW_OFF,
};

struct vmh_fence_step {
	size_t level;       /* index into the conf's levels */
	const char *action; /* "off", "on", "status", "script" (static) */
	int attempt;        /* 1.. for status queries, else 1 */
	enum vmh_fence_outcome outcome;
	int exit_code;      /* -1 unless the program exited */
	int signo;          /* signal that ended it, 0 if none */
	long long start_ms; /* since the start of the call */
	long duration_ms;
	/* Why, in one line: the reason a step did not run, or the last line
	 * of the program's stderr (failures) or stdout, secrets masked. */
	char detail[VMH_FENCE_DETAIL_MAX];
	/* The command line and the stdin lines with every secret shown as
	 * "****": always for dry runs, else NULL. Allocated. */
	char *argv_text;
	char *stdin_text;
};

enum vmh_fence_verdict {
	VMH_FENCE_V_NOT_TRIED, /* an earlier level succeeded */
	VMH_FENCE_V_FENCED,    /* off and verified (or status answered) */
	VMH_FENCE_V_FAILED,
	VMH_FENCE_V_PLANNED, /* dry run: could run */
};

struct vmh_fence_level_result {
	const char *name; /* borrowed from the conf */
	enum vmh_fence_verdict verdict;
	long long start_ms;
	long duration_ms;
	char reason[VMH_FENCE_DETAIL_MAX]; /* why it failed, or "" */
};

struct vmh_fence_report {
	char *host; /* copy of target->name */
	long long host_id;
	enum vmh_fence_action action;
	int dry_run;
	int success;                /* fenced and verified / answered */
	long winner;                /* level index that succeeded, -1 */
	enum vmh_fence_power power; /* for VMH_FENCE_STATUS */
	long duration_ms;
	struct vmh_fence_level_result *levels; /* one per configured level */
	size_t n_levels;
	struct vmh_fence_step *steps;
	size_t n_steps;
};

void vmh_fence_report_init(struct vmh_fence_report *r);
void vmh_fence_report_free(struct vmh_fence_report *r);

/*
 * Fence target: try each level in order until one powers the host off and
 * the power-off is verified. Returns VMH_OK only then; VMH_E_FENCE when
 * every level failed (the host is NOT fenced), VMH_E_CONFIG when there is no
 * level, VMH_E_USAGE for a target without a name, VMH_E_NOMEM. vconf gives
 * the secrets and may be NULL (levels that need a password then fail).
 *
 * With dry_run nothing runs: each level is prepared (attributes, secret,
 * command checks) and its steps are recorded as VMH_FENCE_PLANNED with the
 * command line and stdin shown, secrets masked. VMH_OK when at least one
 * level could run, VMH_E_FENCE otherwise.
 *
 * report (required) is filled in every case; release it with
 * vmh_fence_report_free(). Passwords are registered with
 * vmh_log_add_secret() before any program runs.
 */
enum vmh_rc vmh_fence_host(const struct vmh_fence_conf *fc,
			   const struct vmh_conf *vconf,
			   const struct vmh_fence_target *target, int dry_run,
			   struct vmh_fence_report *report,
			   struct vmh_error *err);

/*
 * Ask for the power state without changing it: agent levels run
 * `action=status`, script levels their status_command (levels without one
 * are skipped). The first level that answers ON or OFF wins; *power (may be
 * NULL) gets the state. VMH_OK when a level answered, VMH_E_FENCE when none
 * could tell.
 */
enum vmh_rc vmh_fence_status(const struct vmh_fence_conf *fc,
			     const struct vmh_conf *vconf,
			     const struct vmh_fence_target *target, int dry_run,
			     enum vmh_fence_power *power,
			     struct vmh_fence_report *report,
			     struct vmh_error *err);

/*
 * Power the host on again through the first agent level that succeeds with
 * `action=on` (script levels cannot). VMH_OK or VMH_E_FENCE.
 */
enum vmh_rc vmh_fence_power_on(const struct vmh_fence_conf *fc,
			       const struct vmh_conf *vconf,
			       const struct vmh_fence_target *target,
			       int dry_run, struct vmh_fence_report *report,
			       struct vmh_error *err);

/* Static names for messages and JSON. */
const char *vmh_fence_outcome_name(enum vmh_fence_outcome o);
const char *vmh_fence_verdict_name(enum vmh_fence_verdict v);
const char *vmh_fence_power_name(enum vmh_fence_power p);
const char *vmh_fence_action_name(enum vmh_fence_action a);

/*
 * Human-readable report on f: one line per level and per step (verbose > 0
 * adds the command line and stdin of each step, secrets masked; dry runs
 * always show them).
 */
void vmh_fence_report_print(const struct vmh_fence_report *r, FILE *f,
			    int verbose);

/*
 * The report as one JSON object (see vmheal_fence(8)). Returns an allocated
 * NUL-terminated string the caller frees, NULL when out of memory.
 */
char *vmh_fence_report_json(const struct vmh_fence_report *r);

#endif
