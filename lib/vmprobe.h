/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_probe: agentless liveness probes of many VMs (ICMP echo, TCP connect,
 * HTTP(S) GET with status and body checks, and named exec checks), healing
 * a VM through lib/vmfail.c after its probe failed `fall` times in a row.
 *
 * The pieces, from the bottom up:
 *   - the probe specification, written by operators in a VM's HA_PROBE
 *     attribute or in the configuration ("tcp:22 period=5 fall=3"),
 *     parsed and bounded here (vm_probe(8) documents the syntax);
 *   - the `vm_probe` section of vmheal.conf;
 *   - pure building blocks with unit tests: a min-heap of timers, the
 *     jittered schedule, the rise/fall state machine, and a histogram of
 *     scheduling delays;
 *   - the daemon (lib/vmprobe.c): one epoll loop over non-blocking
 *     sockets, one shared ICMP socket per address family, libcurl multi
 *     for HTTP, lib/exec for exec checks; cloud listings and heals run in
 *     short-lived child processes so that a slow cloud never delays a
 *     probe.
 */
#ifndef VMH_VMPROBE_H
#define VMH_VMPROBE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "conf.h"
#include "error.h"
#include "netcheck.h"

/* ---- Probe specifications (HA_PROBE syntax) */

enum vmh_vp_kind {
	VMH_VP_ICMP,
	VMH_VP_TCP,
	VMH_VP_HTTP, /* http:// or https:// */
	VMH_VP_EXEC, /* a check named in the configuration's exec group */
};

#define VMH_VP_SPEC_MAX   1024 /* bytes of one specification */
#define VMH_VP_EXPECT_MAX 8    /* status ranges in expect= */
#define VMH_VP_MATCH_MAX  256  /* bytes of match= */
#define VMH_VP_PATH_MAX   512  /* bytes of an HTTP path */

/* Options given explicitly (the rest come from the configuration). */
#define VMH_VP_GIVEN_PERIOD  0x01
#define VMH_VP_GIVEN_TIMEOUT 0x02
#define VMH_VP_GIVEN_FALL    0x04
#define VMH_VP_GIVEN_RISE    0x08
#define VMH_VP_GIVEN_DELAY   0x10
#define VMH_VP_GIVEN_HEAL    0x20

struct vmh_vp_spec {
	enum vmh_vp_kind kind;
	int port;    /* TCP and HTTP: 1..65535 */
	int tls;     /* https */
	char *host;  /* HTTP: numeric address written in the URL, NULL:
			the target's (configuration targets only) */
	char *path;  /* HTTP: "/health?full=1", starts with '/' */
	char *match; /* HTTP: body must contain it, NULL: no check */
	int expect[VMH_VP_EXPECT_MAX][2]; /* HTTP status ranges, inclusive */
	int n_expect;                     /* 0: 200-399 */
	char *exec;                       /* EXEC: the check's name */
	char *ip; /* ip=: which of the VM's addresses, NULL: the first */
	int period_ms;
	int timeout_ms;
	int initial_delay_ms;
	int fall;
	int rise;
	int heal;       /* heal=yes|no; -1: not given (the configuration's) */
	unsigned given; /* VMH_VP_GIVEN_* */
};

/*
 * Parse text (NUL-terminated, at most VMH_VP_SPEC_MAX bytes) into *out
 * (zeroed first; release with vmh_vp_spec_clear()). Syntax errors are
 * VMH_E_DATA with a message naming the token. Values are checked against
 * fixed bounds only; vmh_vp_spec_finish() applies the configuration.
 */
enum vmh_rc vmh_vp_spec_parse(const char *text, struct vmh_vp_spec *out,
			      struct vmh_error *err);
void vmh_vp_spec_clear(struct vmh_vp_spec *s);

/* Parse a duration: "500ms", "2s", "1m", "1.5" (seconds) into *ms.
 * VMH_E_DATA when malformed or outside [min_ms, max_ms]. */
enum vmh_rc vmh_vp_parse_duration(const char *text, long long min_ms,
				  long long max_ms, int *ms,
				  struct vmh_error *err);

/* "icmp", "tcp", "http", "exec". */
const char *vmh_vp_kind_name(enum vmh_vp_kind k);

/* ---- The `vm_probe` section of vmheal.conf */

/* A named exec check: argv, run with VMH_PROBE_* in the environment. */
struct vmh_vp_exec_check {
	char *name;
	char **argv;
};

/* A target written in the configuration. */
struct vmh_vp_target_conf {
	char *name;
	char *address; /* numeric; NULL for exec checks that need none */
	char *probe;   /* the specification as written */
	char *vm;      /* the VM to heal, NULL: alert only */
	struct vmh_vp_spec spec;
};

#define VMH_VP_MAX_ACTIONS 4

struct vmh_vmprobe_conf {
	int cloud_targets; /* probe the VMs that carry `attribute` */
	char *attribute;   /* "HA_PROBE" */
	int refresh_s;     /* seconds between cloud listings */
	int period_ms;     /* defaults of every probe ... */
	int timeout_ms;
	int initial_delay_ms; /* after boot and after a heal */
	int fall;
	int rise;
	int jitter_pct;    /* each interval: period +- this percentage */
	int min_period_ms; /* floor for periods set in the cloud */
	enum vmh_icmp_mode icmp_mode;
	int max_exec; /* exec checks running at once */
	struct vmh_vp_exec_check *exec;
	size_t n_exec;
	int https_verify; /* 0: accept any certificate */
	char *ca_file;
	size_t http_max_body;            /* bytes of a body looked at */
	int http_connections;            /* kept-alive HTTP connections */
	int heal;                        /* 0: alert only */
	int actions[VMH_VP_MAX_ACTIONS]; /* enum vmh_vmfail_action ladder */
	int n_actions;
	int heal_grace_ms;     /* no probe results count this long after a
				  heal (the guest boots) */
	int heal_reset_s;      /* up this long: the ladder starts over */
	int heal_retry_s;      /* after a heal that could not run */
	int max_heals;         /* heals running at once */
	int storm_percent;     /* more targets down than this share ... */
	int storm_min_down;    /* ... and at least this many: no heals */
	char **notify_command; /* argv, NULL: none */
	int notify_timeout_s;
	char *metrics_file; /* Prometheus textfile, NULL: none */
	int metrics_interval_s;
	struct vmh_vp_target_conf *targets;
	size_t n_targets;
};

enum vmh_rc vmh_vmprobe_conf_parse(const vmh_setting *group,
				   struct vmh_vmprobe_conf **out,
				   struct vmh_error *err);
/* The defaults, for a configuration without the section. */
enum vmh_rc vmh_vmprobe_conf_default(struct vmh_vmprobe_conf **out,
				     struct vmh_error *err);
void vmh_vmprobe_conf_free(struct vmh_vmprobe_conf *c);

/* The exec check called name, or NULL. */
const struct vmh_vp_exec_check *
vmh_vmprobe_exec_check(const struct vmh_vmprobe_conf *c, const char *name);

/*
 * Complete a parsed specification with the configuration's defaults and
 * check it against the configuration: timeout below the period, a known
 * exec check, and for a specification read from a cloud attribute
 * (from_cloud) the period floor and no address in an HTTP URL (a VM's
 * owner may only make vm_probe knock on that VM's own addresses).
 */
enum vmh_rc vmh_vp_spec_finish(struct vmh_vp_spec *s,
			       const struct vmh_vmprobe_conf *c, int from_cloud,
			       struct vmh_error *err);

/* ---- Building blocks (pure, unit-tested) */

/* A timer in a min-heap; embed it in the object that owns it. */
struct vmh_vp_timer {
	long long when; /* the heap's key */
	size_t idx;     /* position in the heap, VMH_VP_NOT_QUEUED if none */
};
#define VMH_VP_NOT_QUEUED ((size_t)-1)

/* The key is kept next to the pointer: comparing never touches the
 * timers themselves, which lie scattered over the heap memory. */
struct vmh_vp_hent {
	long long when;
	struct vmh_vp_timer *t;
};

struct vmh_vp_heap {
	struct vmh_vp_hent *v;
	size_t n, cap;
};

/* Queue t at when, or move it there if queued. VMH_E_NOMEM only when a
 * new timer cannot be added (the heap is unchanged then). */
enum vmh_rc vmh_vp_heap_set(struct vmh_vp_heap *h, struct vmh_vp_timer *t,
			    long long when);
void vmh_vp_heap_remove(struct vmh_vp_heap *h, struct vmh_vp_timer *t);
/* The earliest timer (not removed), or NULL when empty. */
struct vmh_vp_timer *vmh_vp_heap_peek(const struct vmh_vp_heap *h);
void vmh_vp_heap_free(struct vmh_vp_heap *h);

/* xorshift64*: jitter needs speed and spread, not secrecy. */
unsigned long long vmh_vp_rand(unsigned long long *state);

/*
 * The next start after a probe due at `due`: due + period +- jitter (a
 * uniform draw within jitter_pct of the period), never before now (a loop
 * that fell behind skips rounds instead of bursting; *skipped counts the
 * rounds skipped, may be NULL). Times in microseconds.
 */
long long vmh_vp_next_due(long long due, long long period_us, int jitter_pct,
			  long long now, unsigned long long *rng,
			  unsigned long *skipped);

/* The first start of a new target: after the initial delay, at a random
 * phase within one period, so targets added together do not fire
 * together. */
long long vmh_vp_first_due(long long now, long long delay_us,
			   long long period_us, unsigned long long *rng);

enum vmh_vp_state {
	VMH_VP_UNKNOWN = 0, /* not enough results yet */
	VMH_VP_UP,
	VMH_VP_DOWN,
};

/* Rise/fall: `rise` successes in a row make a target UP, `fall` failures
 * in a row make it DOWN (keepalived's rise/fall, Kubernetes' success and
 * failure thresholds). From UNKNOWN whichever threshold comes first. */
struct vmh_vp_fsm {
	enum vmh_vp_state state;
	int ok_run;   /* successes in a row */
	int fail_run; /* failures in a row */
};

/* Feed one result; returns 1 when the state changed. */
int vmh_vp_fsm_feed(struct vmh_vp_fsm *f, int ok, int rise, int fall);
void vmh_vp_fsm_reset(struct vmh_vp_fsm *f);
const char *vmh_vp_state_name(enum vmh_vp_state s);

/* Histogram of non-negative values (scheduling delays in microseconds):
 * 8 sub-buckets per power of two, so quantiles are within 12.5 %. */
#define VMH_VP_HIST_BUCKETS 272
struct vmh_vp_hist {
	unsigned long long count;
	long long max;
	long double sum;
	unsigned long long b[VMH_VP_HIST_BUCKETS];
};

void vmh_vp_hist_add(struct vmh_vp_hist *h, long long v);
/* The value below which a fraction q (0..1) of the samples lie (the upper
 * edge of its bucket, at most max); 0 when empty. */
long long vmh_vp_hist_quantile(const struct vmh_vp_hist *h, double q);

/* ---- The daemon */

struct vmh_vmprobe_opts {
	const char *config_path; /* for SIGHUP reloads (NULL: default) */
	int dry_run;             /* probe, decide, heal nothing */
	int once;                /* probe every target once, report, exit */
	int json;                /* --once report as JSON */
	int verbose;
};

/*
 * Run until SIGTERM/SIGINT (or, with opts->once, until every target was
 * probed once). *conf may be replaced by a SIGHUP reload (the caller
 * frees whatever *conf is at the end). Returns VMH_OK on a clean stop;
 * with once, VMH_E_API when some target failed its probe (the report is
 * printed on stdout either way), VMH_E_UNAVAILABLE when the cloud could
 * not be listed. VMH_E_BUSY: another vm_probe holds the state directory.
 */
enum vmh_rc vmh_vmprobe_run(struct vmh_conf **conf,
			    const struct vmh_vmprobe_opts *opts,
			    struct vmh_error *err);

/*
 * vm_probe --status: ask the running daemon (SIGUSR1) for a fresh status
 * and print it: a summary and every target not UP (all of them with
 * verbose), or the whole document as JSON. VMH_E_UNAVAILABLE when no
 * daemon runs.
 */
enum vmh_rc vmh_vmprobe_status(const struct vmh_conf *conf, int json,
			       int verbose, FILE *f, struct vmh_error *err);

#endif
