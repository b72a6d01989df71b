/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net_fence's logic: the `net_fence` section of vmheal.conf, the verdict
 * from the network matrix, the hysteresis state machine and its state file,
 * and the local actions. hooks/net_fence.c only drives rounds.
 *
 * A round probes every network's targets (lib/netcheck); a network is
 * observed down when fewer than min_up of its targets answer. Each network
 * then moves through a small state machine: it is confirmed down only after
 * fail_rounds consecutive failed rounds (never on one blip) and confirmed up
 * again after recover_rounds consecutive good rounds. The set of confirmed
 * down networks selects an action through the matrix (first matching rule,
 * else default_action; all up is always "none"). The action runs through
 * lib/exec, logged before it starts and recorded in the state file before
 * and after, so a run killed half-way retries it instead of forgetting it.
 *
 * Actions, in increasing severity: none, alert, stop-vms, fence-self. alert
 * and fence-self run once per incident (again when they failed, or when the
 * verdict dropped below them and came back); stop-vms runs every round while
 * it is the verdict, because a VM started again on an isolated host must be
 * stopped again.
 */
#ifndef VMH_NETFENCE_H
#define VMH_NETFENCE_H

#include <stdio.h>
#include <sys/socket.h>

#include <jansson.h>

#include "conf.h"
#include "error.h"
#include "lock.h"
#include "netcheck.h"

#define VMH_NF_MAX_NETWORKS 8  /* 2^8 matrix combinations at most */
#define VMH_NF_MAX_TARGETS  32 /* per network */
#define VMH_NF_MAX_RULES    64
#define VMH_NF_NAME_MAX     32   /* network names: [A-Za-z0-9_-]{1,32} */
#define VMH_NF_MAX_VMS      1024 /* VMs stop-vms handles in one round */

#define VMH_NF_DEFAULT_INTERVAL       10   /* s between daemon rounds */
#define VMH_NF_DEFAULT_ROUND_TIMEOUT  2000 /* ms */
#define VMH_NF_DEFAULT_ICMP_COUNT     3
#define VMH_NF_DEFAULT_FAIL_ROUNDS    3
#define VMH_NF_DEFAULT_RECOVER_ROUNDS 2
#define VMH_NF_DEFAULT_ACTION_TIMEOUT 60 /* s per action command */
#define VMH_NF_VM_PLACEHOLDER         "%{vm}"

enum vmh_nf_action {
	VMH_NF_NONE = 0,
	VMH_NF_ALERT,
	VMH_NF_STOP_VMS,
	VMH_NF_FENCE_SELF,
	VMH_NF_ACTION_COUNT
};

/* "none", "alert", "stop-vms", "fence-self". */
const char *vmh_nf_action_name(enum vmh_nf_action a);

enum vmh_nf_probe {
	VMH_NF_PROBE_ICMP = 0, /* echo only */
	VMH_NF_PROBE_TCP,      /* connect only */
	VMH_NF_PROBE_BOTH,     /* both must answer */
	VMH_NF_PROBE_EITHER,   /* one of them is enough */
};

struct vmh_nf_target {
	char *address; /* as written in the configuration */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int port; /* 0 when the probe has no TCP part */
	enum vmh_nf_probe probe;
};

struct vmh_nf_network {
	char *name;
	char *interface; /* NULL: routing decides */
	struct vmh_nf_target *targets;
	size_t n_targets;
	int min_up;         /* targets that must answer for "up" */
	int fail_rounds;    /* K */
	int recover_rounds; /* R */
};

/* A matrix rule: matches when every network in down_mask is down and every
 * network in up_mask is up (bit i = networks[i]). */
struct vmh_nf_rule {
	unsigned down_mask;
	unsigned up_mask;
	enum vmh_nf_action action;
	int line; /* in the configuration, for messages */
};

struct vmh_netfence_conf {
	struct vmh_nf_network *networks;
	size_t n_networks;
	struct vmh_nf_rule *rules;
	size_t n_rules;
	int rules_builtin;                 /* 1: matrix absent, default used */
	enum vmh_nf_action default_action; /* combination no rule matches */
	int interval_s;
	int round_timeout_ms;
	int icmp_count;
	enum vmh_icmp_mode icmp_mode;
	int fail_rounds;
	int recover_rounds;
	/* actions = { ... } */
	int action_timeout_s;
	char **alert_cmd;      /* NULL: log only */
	char **stop_vms_cmd;   /* one command for all VMs, or NULL */
	char **list_vms_cmd;   /* else: list running VMs, one per line */
	char **stop_vm_cmd;    /* and stop each (VMH_NF_VM_PLACEHOLDER) */
	char **fence_self_cmd; /* power this host off */
	char sysrq_fallback;   /* 0, or 'b'/'c'/'o' after fence_self fails */
	char *sysrq_trigger;   /* where that letter is written */
	/* daemon mode */
	char *watchdog_device;  /* NULL: no watchdog */
	int watchdog_timeout_s; /* 0: keep the device's own */
};

/* The section parser registered in conf.c; *out is NULL on error. */
enum vmh_rc vmh_netfence_conf_parse(const vmh_setting *group,
				    struct vmh_netfence_conf **out,
				    struct vmh_error *err);
void vmh_netfence_conf_free(struct vmh_netfence_conf *c);

/* The action for a set of down networks (bit i = networks[i]). *rule gets
 * the 1-based matching rule, 0 for default_action, -1 when all are up. */
enum vmh_nf_action vmh_nf_lookup(const struct vmh_netfence_conf *c,
				 unsigned down_mask, int *rule);

/* Hysteresis and incident state, persisted between cron runs. */
enum vmh_nf_act_status {
	VMH_NF_ACT_NONE = 0, /* nothing run in this incident */
	VMH_NF_ACT_STARTED,  /* recorded before running; a crash leaves it */
	VMH_NF_ACT_DONE,
	VMH_NF_ACT_FAILED,
};

struct vmh_nf_netstate {
	char name[VMH_NF_NAME_MAX + 1];
	int down;        /* confirmed state */
	int fail_streak; /* consecutive failed rounds */
	int ok_streak;   /* consecutive good rounds */
	long long since; /* wall clock of the last confirmed change, 0 */
};

struct vmh_nf_state {
	long long rounds;  /* rounds ever recorded */
	long long updated; /* wall clock of the last round */
	struct vmh_nf_netstate net[VMH_NF_MAX_NETWORKS]; /* conf order */
	size_t n;
	enum vmh_nf_action acted; /* highest action of this incident */
	enum vmh_nf_act_status act_status;
	long long acted_at;
};

/* A fresh state for c: every network up, no streaks, no incident. */
void vmh_nf_state_init(const struct vmh_netfence_conf *c,
		       struct vmh_nf_state *st);

/*
 * One round of the state machine. observed[i] is 1 when networks[i] failed
 * this round, 0 when it was up. now is the wall clock.
 */
void vmh_nf_step(const struct vmh_netfence_conf *c, struct vmh_nf_state *st,
		 const int *observed, long long now);

/* Bit mask of the confirmed-down networks. */
unsigned vmh_nf_down_mask(const struct vmh_nf_state *st);

/*
 * Which action must run now for verdict, given what this incident already
 * did (VMH_NF_NONE: nothing to run). Lowers st->acted when the verdict
 * dropped below it, and ends the incident when the verdict is none.
 */
enum vmh_nf_action vmh_nf_due(struct vmh_nf_state *st,
			      enum vmh_nf_action verdict);

/*
 * Read a state file written by vmh_nf_state_save() into st (initialised
 * for c first). Networks are matched by name, so a changed configuration
 * keeps what still applies. A missing file is a fresh state (VMH_OK); an
 * unreadable or corrupt one gives VMH_E_DATA with the line, st fresh.
 */
enum vmh_rc vmh_nf_state_load(const char *path,
			      const struct vmh_netfence_conf *c,
			      struct vmh_nf_state *st, struct vmh_error *err);

/* Replace path atomically: temporary file, fsync, rename, fsync of the
 * directory. A crash leaves either the old or the new file. */
enum vmh_rc vmh_nf_state_save(const char *path, const struct vmh_nf_state *st,
			      struct vmh_error *err);

/* The outcome of one round, for reports and the exit status. */
struct vmh_nf_netreport {
	int observed_down; /* this round */
	int targets_up;
	struct vmh_nf_netstate st; /* after this round */
	int was_down;              /* confirmed state before this round */
};

struct vmh_nf_report {
	long long time; /* wall clock at the start */
	long long round;
	int dry_run;
	long long wall_us;  /* the round, probes to saved state */
	long long probe_us; /* of which the probes */
	long long cpu_us;   /* this process, user + system, same span */
	const struct vmh_netfence_conf *conf;
	struct vmh_netcheck_target *targets; /* all networks, conf order */
	struct vmh_nf_netreport net[VMH_NF_MAX_NETWORKS];
	unsigned down_mask;
	enum vmh_nf_action verdict;
	int rule;                  /* as vmh_nf_lookup() */
	enum vmh_nf_action action; /* run (or would run) this round */
	int action_ok;             /* it succeeded (always 1 in dry-run) */
	int action_earlier;        /* verdict's action already done */
	char action_detail[256];   /* "exit 0", "2 VMs stopped"... */
};

void vmh_nf_report_free(struct vmh_nf_report *r);

/* The report as a JSON object (caller decrefs), and as text. */
json_t *vmh_nf_report_json(const struct vmh_nf_report *r);
void vmh_nf_report_print(FILE *f, const struct vmh_nf_report *r);

/*
 * The exit status of a round (documented in net_fence(8)): 0 nothing to do,
 * 85 (VMH_EXIT_DEGRADED) alert, 82 (VMH_EXIT_ISOLATED) stop-vms/fence-self
 * done, 80 (VMH_EXIT_FENCE_FAILED) that action failed.
 */
int vmh_nf_report_exit(const struct vmh_nf_report *r);

/* A run of net_fence: configuration, lock, state. */
struct vmh_netfence {
	const struct vmh_netfence_conf *conf; /* borrowed */
	char *state_path;
	int dry_run;
	struct vmh_lock lock;
	struct vmh_nf_state st;
};

/*
 * Take the lock in state_dir (net_fence.lock, or net_fence.dry-run.lock:
 * a dry run keeps its own state and never blocks or disturbs the real one)
 * and load the state. VMH_E_BUSY when another run holds the lock. A corrupt
 * state file is logged, kept as *.corrupt, and replaced by a fresh state.
 */
enum vmh_rc vmh_netfence_open(struct vmh_netfence **out,
			      const struct vmh_netfence_conf *c,
			      const char *state_dir, int dry_run,
			      struct vmh_error *err);

/* Switch to a reloaded configuration (daemon SIGHUP); the state of each
 * network whose name is still configured is kept. */
void vmh_netfence_set_conf(struct vmh_netfence *nf,
			   const struct vmh_netfence_conf *c);

/*
 * One round: probe, step, decide, persist, act, persist. rep is filled
 * (release it with vmh_nf_report_free()) whenever the probes ran; an error
 * return means no verdict (the state is unchanged).
 */
enum vmh_rc vmh_netfence_round(struct vmh_netfence *nf,
			       struct vmh_nf_report *rep,
			       struct vmh_error *err);

void vmh_netfence_close(struct vmh_netfence *nf);

/*
 * Refuse action programs given by absolute path that others could replace
 * (vmh_exec_check_secure): they run as root when the host is in trouble.
 */
enum vmh_rc vmh_netfence_check_commands(const struct vmh_netfence_conf *c,
					struct vmh_error *err);

/*
 * --status: print the persisted state (no probes, no lock: the file is
 * only ever replaced whole) as JSON or text. Returns the exit status the
 * last round would give (0, 85, 82 or 80), or -1 with err set.
 */
int vmh_netfence_status(const struct vmh_netfence_conf *c,
			const char *state_dir, int dry_run, int json, FILE *f,
			struct vmh_error *err);

/* Path of the state file for state_dir (caller frees). */
char *vmh_netfence_state_path(const char *state_dir, int dry_run);

#endif
