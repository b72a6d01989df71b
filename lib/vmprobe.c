/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vm_probe daemon: one epoll loop drives every probe. Each target sits
 * in one min-heap keyed by its next event (the next start, or the deadline
 * of the probe in flight), so the loop only ever looks at the targets that
 * are due. TCP probes are non-blocking connects closed with a RST, ICMP
 * goes through one shared socket per address family, HTTP through libcurl
 * multi (lib/http.c) with kept-alive connections, exec checks through
 * lib/exec.c, at most max_exec at a time.
 *
 * Blocking work never runs in the loop: listing the cloud's VMs and healing
 * a VM (lib/vmfail.c, the same code and journal as vm_failure_recreate) run
 * in forked children that write one JSON document to a pipe. Signals arrive
 * through a signalfd: SIGCHLD reaps, SIGHUP reloads the configuration
 * keeping every target's state, SIGUSR1 writes the status file,
 * SIGTERM/SIGINT stop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cloud.h"
#include "exec.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "str.h"
#include "vmfail.h"
#include "vmprobe.h"

#define VP_LOCK_NAME        "vm_probe"
#define VP_STATUS_FILE      "vm_probe.status.json"
#define VP_EVENTS           512
#define VP_CHILD_MAX        640 /* exec checks + heals + refresh + notify */
#define VP_NOTIFY_MAX       4   /* notification commands at once */
#define VP_NOTIFY_QUEUE     64  /* waiting notifications, then dropped */
#define VP_EXEC_OUT_MAX     512 /* bytes of an exec check's output kept */
#define VP_REFRESH_OUT_MAX  (256u * 1024 * 1024)
#define VP_HEAL_OUT_MAX     (64 * 1024)
#define VP_REFRESH_DEADLINE (300LL * 1000000)
#define VP_HEAL_DEADLINE    (3600LL * 1000000)
#define VP_REFRESH_RETRY_S  15
#define VP_STATUS_WAIT_MS   5000
#define VP_GAVE_UP_ATTR     "HA_GAVE_UP" /* vm_failure's default */
#define VP_LOCAL_RETRY_US   20000
/* libcurl before 8.x walks its whole connection cache each time a transfer
 * leaves a multi handle: with one cached connection per HTTP target that is
 * quadratic. Spreading the targets over several multi handles keeps each
 * cache small. */
#define VP_HTTP_SHARD_CONNS 32
#define VP_HTTP_SHARDS_MAX  2048

/* epoll data: the kind in the top byte, then a generation, then an index. */
enum ev_kind {
	EV_SIGNAL = 1,
	EV_PING4,
	EV_PING6,
	EV_CURL,
	EV_TCP,   /* a = target slot, b = probe generation */
	EV_CHILD, /* a = child index, b = child generation */
};

static uint64_t
ev_data(enum ev_kind k, uint32_t a, uint32_t b)
{
	return ((uint64_t)k << 56) | ((uint64_t)(b & 0xffffffu) << 32) | a;
}

/* How one probe ended. ERROR is ours (no descriptor, bad TLS setup...):
 * it says nothing about the target and never counts towards `fall`. */
enum result { PR_OK, PR_FAIL, PR_ERROR };

enum child_kind {
	CH_FREE = 0,
	CH_EXEC,
	CH_HEAL,
	CH_REFRESH,
	CH_NOTIFY,
	CH_STATUS
};

struct child {
	enum child_kind kind;
	uint32_t gen;
	int pid;
	int fd; /* its output, -1 once closed */
	struct vmh_buf out;
	long long deadline; /* us; killed with SIGKILL after it */
	int killed;
	uint32_t slot, tgen; /* CH_EXEC: the target and probe generation */
	char *key;           /* CH_HEAL: the target's key */
};

struct vp;

/* One libcurl multi handle (created on first use) and its timer. */
struct shard {
	struct vmh_vp_timer timer; /* first: in vp->shard_timers */
	struct vp *vp;
	int index;
	struct vmh_http *http;
};

struct target {
	struct vmh_vp_timer timer; /* first: the heap holds &t->timer */
	struct vp *vp;
	struct target *hnext; /* in vp->htab */
	uint32_t slot;
	uint32_t gen; /* changes with every probe started */
	char *key;    /* "vm:42", "cfg:NAME" */
	char *name;
	char *vm_id; /* the VM to heal, NULL: alert only */
	char *spec_text;
	struct vmh_vp_spec spec;
	int spec_ok;
	int from_cloud;
	int seen; /* by the current refresh or reload */
	int has_addr;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_text[VMH_NETCHECK_ADDR_TEXTLEN];
	char *url;
	char note[200]; /* why it is not probed, or the spec error */
	/* The probe in flight. */
	int busy;
	long long due; /* us: when it was (or is) due */
	long long started;
	int fd;        /* TCP: the socket kept between probes, -1 none */
	int fd_family; /* its address family */
	struct vmh_http_xfer *xfer;
	int child; /* index in vp->children, -1 */
	/* Results. */
	struct vmh_vp_fsm fsm;
	long long not_before; /* us: initial delay, results ignored before */
	unsigned long long probes, fails, errors;
	int last; /* enum result of the last probe, -1 none */
	long last_rtt_us;
	char last_msg[120];
	long long since; /* wall s of the last state change */
	/* What the cloud says. */
	int held; /* not probed: VM not running, host down */
	int gave_up;
	int gave_up_attr; /* ... because the attribute is set */
	/* Healing. */
	int healing;
	int heal_blocked;    /* vmfail said no for this down episode */
	int episodes;        /* heals in a row (the ladder's rung) */
	long long next_heal; /* wall s */
	long long up_since;  /* us */
	unsigned long long heals, heal_fails;
	char heal_note[200];
};

struct notice {
	char event[16];
	char *key, *name, *vm, *addr, *detail;
};

struct vp {
	struct vmh_conf *conf;
	const struct vmh_vmprobe_conf *vc;
	struct vmh_vmprobe_conf *defaults; /* when conf has no section */
	const struct vmh_vmprobe_opts *opts;
	struct vmh_lock lock;
	int ep, sfd;
	struct vmh_pinger *ping4, *ping6;
	int ping_tried4, ping_tried6;
	struct shard *shards;
	int n_shards;
	struct vmh_vp_heap shard_timers;
	struct vmh_http_opts http_opts;
	struct vmh_vp_heap heap;
	struct target **slots;
	size_t n_slots, cap_slots;
	uint32_t *free_slots;
	size_t n_free;
	size_t n_targets;
	struct target **htab; /* by key: refreshes look up every VM */
	size_t hcap;          /* a power of two */
	unsigned long long rng;
	struct child children[VP_CHILD_MAX];
	int n_exec, n_heal, n_notify, refreshing;
	long long child_deadline; /* the earliest, us; 0: none */
	struct notice notices[VP_NOTIFY_QUEUE];
	size_t nq_head, nq_len;
	/* Statistics. */
	struct vmh_vp_hist delay_all, delay_win;
	unsigned long long kind_probes[4], kind_fails[4], kind_errors[4];
	unsigned long long heals_ok, heals_failed, heals_planned, gave_ups;
	unsigned long long notify_dropped;
	unsigned long skipped;
	long long started_wall, started_us;
	/* Periodic work, us. */
	long long next_refresh, next_metrics;
	long long last_refresh_wall;
	int refresh_ok;
	char refresh_err[200];
	size_t refresh_vms;
	int storm;
	int storm_now;
	long long trimmed_at; /* us, the last malloc_trim() */
	long long storm_at;   /* us, when storm_now was computed */
	int pings_drained;    /* in this run_due() */
	unsigned long status_seq;
	int status_running;
	int status_again;
	int pid; /* the daemon's: the status is written by a child */
	double cpu_user, cpu_sys; /* the daemon's, when the status was asked */
	long rss;
	int stop;
	int once_pending; /* --once: targets still to probe */
	int once_failed;
	int once_refreshed;
	json_t *once_report;
};

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- Targets */

static struct target *
target_by_slot(struct vp *vp, uint32_t slot)
{
	return slot < vp->n_slots ? vp->slots[slot] : NULL;
}

/* FNV-1a */
static size_t
key_hash(const char *k)
{
	uint64_t h = 14695981039346656037ULL;

	while (*k != '\0')
		h = (h ^ (unsigned char)*k++) * 1099511628211ULL;
	return (size_t)h;
}

static struct target *
target_by_key(struct vp *vp, const char *key)
{
	struct target *t;

	if (vp->hcap == 0)
		return NULL;
	for (t = vp->htab[key_hash(key) & (vp->hcap - 1)]; t != NULL;
	     t = t->hnext)
		if (strcmp(t->key, key) == 0)
			return t;
	return NULL;
}

/* Insert t; the table grows to keep chains short. -1: out of memory. */
static int
hash_insert(struct vp *vp, struct target *t)
{
	struct target **nt, *x, *next;
	size_t cap, i, b;

	if (vp->n_targets + 1 > vp->hcap / 2) {
		cap = vp->hcap ? vp->hcap * 2 : 1024;
		if ((nt = calloc(cap, sizeof(*nt))) == NULL)
			return -1;
		for (i = 0; i < vp->hcap; i++)
			for (x = vp->htab[i]; x != NULL; x = next) {
				next = x->hnext;
				b = key_hash(x->key) & (cap - 1);
				x->hnext = nt[b];
				nt[b] = x;
			}
		free(vp->htab);
		vp->htab = nt;
		vp->hcap = cap;
	}
	b = key_hash(t->key) & (vp->hcap - 1);
	t->hnext = vp->htab[b];
	vp->htab[b] = t;
	return 0;
}

static void
hash_remove(struct vp *vp, struct target *t)
{
	struct target **pp;

	if (vp->hcap == 0)
		return;
	for (pp = &vp->htab[key_hash(t->key) & (vp->hcap - 1)]; *pp != NULL;
	     pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			return;
		}
}

static struct target *
target_new(struct vp *vp, const char *key, const char *name)
{
	struct target *t;
	uint32_t slot;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->timer.idx = VMH_VP_NOT_QUEUED;
	t->vp = vp;
	t->fd = -1;
	t->child = -1;
	t->last = -1;
	t->since = vmh_wall_s();
	t->gen = (uint32_t)vmh_vp_rand(&vp->rng) & 0xffffffu;
	vmh_vp_fsm_reset(&t->fsm);
	if ((t->key = strdup(key)) == NULL ||
	    (t->name = strdup(name)) == NULL || hash_insert(vp, t) < 0)
		goto fail;
	if (vp->n_free > 0) {
		slot = vp->free_slots[--vp->n_free];
	} else {
		if (vp->n_slots == vp->cap_slots) {
			size_t cap = vp->cap_slots ? vp->cap_slots * 2 : 256;
			struct target **ns;
			uint32_t *nf;

			if ((ns = realloc(vp->slots, cap * sizeof(*ns))) ==
			    NULL)
				goto fail;
			vp->slots = ns;
			if ((nf = realloc(vp->free_slots, cap * sizeof(*nf))) ==
			    NULL)
				goto fail;
			vp->free_slots = nf;
			vp->cap_slots = cap;
		}
		slot = (uint32_t)vp->n_slots++;
	}
	t->slot = slot;
	vp->slots[slot] = t;
	vp->n_targets++;
	return t;
fail:
	if (t->key != NULL && t->name != NULL)
		hash_remove(vp, t);
	free(t->key);
	free(t->name);
	free(t);
	return NULL;
}

static void child_kill(struct vp *vp, int idx);
static void curl_watch(void *ctx, int fd, int what);

/* Drop a target's TCP socket (closing also leaves the epoll set). */
static void
tcp_close(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
static void curl_timer(void *ctx, long ms);

static struct shard *
shard_of(struct vp *vp, const struct target *t)
{
	return &vp->shards[t->slot % (uint32_t)vp->n_shards];
}

/* The shard's client, made on its first HTTP probe. */
static enum vmh_rc
shard_open(struct vp *vp, struct shard *sh, struct vmh_error *err)
{
	struct vmh_http_events hev;
	enum vmh_rc rc;

	hev.watch = curl_watch;
	hev.timer = curl_timer;
	hev.ctx = sh;
	if ((rc = vmh_http_new(&vp->http_opts, &sh->http, err)) != VMH_OK)
		return rc;
	if ((rc = vmh_http_async_init(sh->http, &hev, err)) != VMH_OK) {
		vmh_http_free(sh->http);
		sh->http = NULL;
	}
	return rc;
}

/* Stop the probe in flight, if any, without a result. */
static void
probe_abort(struct vp *vp, struct target *t)
{
	if (!t->busy)
		return;
	if (t->fd >= 0 && vmh_tcp_probe_reset(t->fd) < 0)
		tcp_close(t);
	if (t->xfer != NULL) {
		vmh_http_async_cancel(shard_of(vp, t)->http, t->xfer);
		t->xfer = NULL;
	}
	if (t->child >= 0) {
		child_kill(vp, t->child);
		t->child = -1;
	}
	t->busy = 0;
	t->gen = (t->gen + 1) & 0xffffffu;
}

static void
target_free(struct vp *vp, struct target *t)
{
	probe_abort(vp, t);
	tcp_close(t);
	vmh_vp_heap_remove(&vp->heap, &t->timer);
	hash_remove(vp, t);
	vp->slots[t->slot] = NULL;
	vp->free_slots[vp->n_free++] = t->slot;
	vp->n_targets--;
	free(t->key);
	free(t->name);
	free(t->vm_id);
	free(t->spec_text);
	free(t->url);
	vmh_vp_spec_clear(&t->spec);
	free(t);
}

static int
set_str(char **dst, const char *src)
{
	char *c = NULL;

	if (src != NULL && (c = strdup(src)) == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* Probe identity: changing any of these makes old results meaningless. */
static int
same_probe(const struct vmh_vp_spec *a, const struct vmh_vp_spec *b)
{
#define SAME_STR(x, y)                                                         \
	((x) == NULL ? (y) == NULL : (y) != NULL && !strcmp(x, y))
	return a->kind == b->kind && a->port == b->port && a->tls == b->tls &&
	       SAME_STR(a->path, b->path) && SAME_STR(a->match, b->match) &&
	       SAME_STR(a->exec, b->exec) && SAME_STR(a->host, b->host) &&
	       a->n_expect == b->n_expect &&
	       memcmp(a->expect, b->expect, sizeof(a->expect)) == 0;
#undef SAME_STR
}

/* Forget the results: the target is new again (after a change of probe
 * or address, or when its VM starts again). */
static void
target_restart(struct vp *vp, struct target *t, long long now, long long delay)
{
	probe_abort(vp, t);
	vmh_vp_fsm_reset(&t->fsm);
	t->not_before = now + delay;
	t->since = vmh_wall_s();
	t->heal_blocked = 0;
}

static int
probeable(const struct target *t)
{
	return t->spec_ok && !t->held &&
	       (t->has_addr || t->spec.kind == VMH_VP_EXEC);
}

/* Put a target on the schedule (or take it off when it cannot be
 * probed). A target already queued keeps its place. */
static void
target_schedule(struct vp *vp, struct target *t, long long now)
{
	long long when;

	if (!probeable(t)) {
		probe_abort(vp, t);
		vmh_vp_heap_remove(&vp->heap, &t->timer);
		return;
	}
	if (t->timer.idx != VMH_VP_NOT_QUEUED)
		return;
	if (vp->opts->once)
		/* Everything at once, spread over a few milliseconds. */
		when = now + (long long)(vmh_vp_rand(&vp->rng) % 20000);
	else
		when = vmh_vp_first_due(
		    now, t->not_before > now ? t->not_before - now : 0,
		    t->spec.period_ms * 1000LL, &vp->rng);
	t->due = when;
	if (vmh_vp_heap_set(&vp->heap, &t->timer, when) != VMH_OK)
		vmh_log(VMH_LOG_ERR, "%s: out of memory: not scheduled",
			t->name);
}

/* The URL of an HTTP target, built once per address. */
static int
build_url(struct target *t)
{
	char host[VMH_NETCHECK_ADDR_TEXTLEN * 3 + 4];
	const char *a = t->addr_text;
	size_t i, n = 0;
	struct vmh_buf b;

	free(t->url);
	t->url = NULL;
	if (t->spec.kind != VMH_VP_HTTP)
		return 0;
	/* IPv6 in brackets, a zone's '%' written as %25 (RFC 6874). */
	if (strchr(a, ':') != NULL)
		host[n++] = '[';
	for (i = 0; a[i] != '\0' && n + 4 < sizeof(host); i++) {
		if (a[i] == '%') {
			memcpy(host + n, "%25", 3);
			n += 3;
		} else {
			host[n++] = a[i];
		}
	}
	if (strchr(a, ':') != NULL)
		host[n++] = ']';
	host[n] = '\0';
	vmh_buf_init(&b, 2 * VMH_VP_PATH_MAX);
	if (vmh_buf_printf(&b, "%s://%s:%d%s", t->spec.tls ? "https" : "http",
			   host, t->spec.port, t->spec.path) != VMH_OK ||
	    (t->url = vmh_buf_steal(&b)) == NULL) {
		vmh_buf_free(&b);
		return -1;
	}
	return 0;
}

static void
target_set_addr(struct target *t, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;

	t->has_addr = 0;
	t->addr_text[0] = '\0';
	if (text == NULL ||
	    vmh_netcheck_parse_addr(text, &ss, &len, NULL) != VMH_OK)
		return;
	t->addr = ss;
	t->addrlen = len;
	vmh_strlcpy(t->addr_text, text, sizeof(t->addr_text));
	t->has_addr = 1;
}

/*
 * (Re)configure a target from a specification text and an address; keeps
 * the results when neither the probe nor the address changed. vm may be
 * NULL. Returns -1 when out of memory.
 */
static int
target_apply(struct vp *vp, struct target *t, const char *spec_text,
	     const char *addr, const char *vm, int from_cloud, long long now)
{
	struct vmh_vp_spec spec;
	struct vmh_error e;
	int changed, ok;
	char old_addr[VMH_NETCHECK_ADDR_TEXTLEN];

	vmh_error_init(&e);
	ok = vmh_vp_spec_parse(spec_text, &spec, &e) == VMH_OK &&
	     vmh_vp_spec_finish(&spec, vp->vc, from_cloud, &e) == VMH_OK;
	if (!ok && (t->spec_text == NULL || strcmp(t->spec_text, spec_text) ||
		    t->spec_ok))
		vmh_log(VMH_LOG_WARNING, "%s: %s \"%s\": %s: not probed",
			t->name, from_cloud ? vp->vc->attribute : "probe",
			spec_text, e.text);
	if (!ok)
		snprintf(t->note, sizeof(t->note), "bad probe: %.180s", e.text);
	changed = !t->spec_ok || !ok || !same_probe(&t->spec, &spec);
	vmh_strlcpy(old_addr, t->addr_text, sizeof(old_addr));
	if (ok && spec.host != NULL)
		addr = spec.host;
	target_set_addr(t, addr);
	if (strcmp(old_addr, t->addr_text) != 0)
		changed = 1;
	if (set_str(&t->spec_text, spec_text) < 0 || set_str(&t->vm_id, vm) < 0)
		goto nomem;
	/* New timing applies from the next round; a new probe starts
	 * over (the VM is not new, so no initial delay). */
	if (changed && t->spec_ok)
		target_restart(vp, t, now, 0);
	if (changed || !ok) {
		probe_abort(vp, t);
		vmh_vp_heap_remove(&vp->heap, &t->timer);
	}
	vmh_vp_spec_clear(&t->spec);
	t->spec = spec; /* the cleared spec when !ok */
	t->spec_ok = ok;
	t->from_cloud = from_cloud;
	if (ok)
		t->note[0] = '\0';
	if (ok && build_url(t) < 0)
		goto nomem;
	return 0;
nomem:
	vmh_log(VMH_LOG_ERR, "%s: out of memory", t->name);
	return -1;
}

/* ---- Notifications (the operator's command, one event each) */

static void child_reaped(struct vp *vp, int idx, int status);
static int spawn_exec(struct vp *vp, enum child_kind kind,
		      const char *const *argv, const char *const *env,
		      long long deadline, int *idx);

static void
notice_free(struct notice *n)
{
	free(n->key);
	free(n->name);
	free(n->vm);
	free(n->addr);
	free(n->detail);
	memset(n, 0, sizeof(*n));
}

static void
notify_start(struct vp *vp)
{
	char ev[64], tg[256], vm[96], ad[96], det[320];
	const char *env[6];
	struct notice *n;
	int idx;

	while (vp->nq_len > 0 && vp->n_notify < VP_NOTIFY_MAX &&
	       vp->vc->notify_command != NULL) {
		n = &vp->notices[vp->nq_head];
		snprintf(ev, sizeof(ev), "VMH_EVENT=%s", n->event);
		snprintf(tg, sizeof(tg), "VMH_TARGET=%s", n->name);
		snprintf(vm, sizeof(vm), "VMH_VM=%s", n->vm ? n->vm : "");
		snprintf(ad, sizeof(ad), "VMH_ADDRESS=%s",
			 n->addr ? n->addr : "");
		snprintf(det, sizeof(det), "VMH_DETAIL=%s",
			 n->detail ? n->detail : "");
		env[0] = ev;
		env[1] = tg;
		env[2] = vm;
		env[3] = ad;
		env[4] = det;
		env[5] = NULL;
		if (spawn_exec(vp, CH_NOTIFY,
			       (const char *const *)vp->vc->notify_command, env,
			       now_us() + vp->vc->notify_timeout_s * 1000000LL,
			       &idx) == 0)
			vp->n_notify++;
		notice_free(n);
		vp->nq_head = (vp->nq_head + 1) % VP_NOTIFY_QUEUE;
		vp->nq_len--;
	}
}

/* Queue an event for the notify command (and log it). */
static void
notify(struct vp *vp, const char *event, const struct target *t,
       const char *detail)
{
	struct notice *n;

	if (vp->vc->notify_command == NULL || vp->opts->once)
		return;
	if (vp->nq_len == VP_NOTIFY_QUEUE) {
		vp->notify_dropped++;
		return;
	}
	n = &vp->notices[(vp->nq_head + vp->nq_len) % VP_NOTIFY_QUEUE];
	vmh_strlcpy(n->event, event, sizeof(n->event));
	n->key = strdup(t->key);
	n->name = strdup(t->name);
	n->vm = t->vm_id ? strdup(t->vm_id) : NULL;
	n->addr = strdup(t->addr_text);
	n->detail = strdup(detail ? detail : "");
	vp->nq_len++;
	notify_start(vp);
}

/* ---- Children: exec checks, notifications, workers */

static void
child_deadline_update(struct vp *vp)
{
	long long min = 0;
	size_t i;

	for (i = 0; i < VP_CHILD_MAX; i++)
		if (vp->children[i].kind != CH_FREE &&
		    !vp->children[i].killed &&
		    (min == 0 || vp->children[i].deadline < min))
			min = vp->children[i].deadline;
	vp->child_deadline = min;
}

static int
child_alloc(struct vp *vp)
{
	int i;

	for (i = 0; i < VP_CHILD_MAX; i++)
		if (vp->children[i].kind == CH_FREE)
			return i;
	return -1;
}

/* Register a new child's output pipe with the loop. */
static void
child_watch(struct vp *vp, int idx)
{
	struct child *c = &vp->children[idx];
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = ev_data(EV_CHILD, (uint32_t)idx, c->gen);
	if (epoll_ctl(vp->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		log_warn("epoll_ctl (child pipe)");
}

static void
child_close_fd(struct vp *vp, struct child *c)
{
	if (c->fd < 0)
		return;
	(void)epoll_ctl(vp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Read what the child wrote; keeps reading past the cap so it never
 * blocks on a full pipe. Closes the pipe at end of file. */
static void
child_drain(struct vp *vp, struct child *c)
{
	char chunk[65536];
	ssize_t n;
	size_t room, take;

	while (c->fd >= 0) {
		n = read(c->fd, chunk, sizeof(chunk));
		if (n > 0) {
			room = c->out.max - c->out.len;
			take = (size_t)n < room ? (size_t)n : room;
			if (take > 0)
				(void)vmh_buf_append(&c->out, chunk, take);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			child_close_fd(vp, c);
		break;
	}
}

static void
child_kill(struct vp *vp, int idx)
{
	struct child *c = &vp->children[idx];

	if (c->kind == CH_FREE || c->killed)
		return;
	/* Exec checks and notifications lead their own process group. */
	if (c->kind == CH_EXEC || c->kind == CH_NOTIFY)
		kill(-c->pid, SIGKILL);
	else
		kill(c->pid, SIGKILL);
	c->killed = 1;
	child_deadline_update(vp);
}

static int
spawn_exec(struct vp *vp, enum child_kind kind, const char *const *argv,
	   const char *const *env, long long deadline, int *idx)
{
	struct vmh_exec_opts o;
	struct vmh_error e;
	struct child *c;
	int i, pid, fd;

	*idx = -1;
	if ((i = child_alloc(vp)) < 0)
		return -1;
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.env = env;
	o.timeout_ms = 1;
	vmh_error_init(&e);
	if (vmh_exec_spawn(&o, &pid, &fd, &e) != VMH_OK) {
		vmh_log(VMH_LOG_ERR, "cannot run %s: %s", argv[0], e.text);
		return -1;
	}
	c = &vp->children[i];
	c->kind = kind;
	c->gen = (c->gen + 1) & 0xffffffu;
	c->pid = pid;
	c->fd = fd;
	c->killed = 0;
	c->deadline = deadline;
	vmh_buf_init(&c->out, VP_EXEC_OUT_MAX);
	child_watch(vp, i);
	child_deadline_update(vp);
	*idx = i;
	return 0;
}

/* In a forked worker: the loop's descriptors and signal set are not ours. */
static void
worker_setup(int keep)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Sockets of probes in flight would otherwise stay open (and in the
	 * parent's epoll set) as long as this child lives. */
	if (keep > 3)
		(void)close_range(3, (unsigned)keep - 1, 0);
	(void)close_range((unsigned)keep + 1, ~0U, 0);
}

static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void
worker_reply(int fd, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s != NULL)
		write_all(fd, s, strlen(s));
	free(s);
	json_decref(j);
}

typedef void (*worker_fn)(struct vp *vp, const void *arg, int fd);

static int
spawn_worker(struct vp *vp, enum child_kind kind, worker_fn fn, const void *arg,
	     long long deadline, size_t out_max, int *idx)
{
	struct child *c;
	int p[2], i;
	pid_t pid;

	*idx = -1;
	if ((i = child_alloc(vp)) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("pipe");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		log_warn("fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		worker_setup(p[1]);
		fn(vp, arg, p[1]);
		_exit(0);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	c = &vp->children[i];
	c->kind = kind;
	c->gen = (c->gen + 1) & 0xffffffu;
	c->pid = pid;
	c->fd = p[0];
	c->killed = 0;
	c->deadline = deadline;
	vmh_buf_init(&c->out, out_max);
	child_watch(vp, i);
	child_deadline_update(vp);
	*idx = i;
	return 0;
}

/* ---- Probes */

static void probe_done(struct vp *vp, struct target *t, enum result r,
		       const char *msg, long long now);
static void ping_reply(void *ctx, unsigned long long token,
		       const struct sockaddr_storage *from);

static void
http_done(void *ctx, enum vmh_rc rc, struct vmh_http_response *resp,
	  const struct vmh_error *err)
{
	struct target *t = ctx;
	struct vp *vp = t->vp;
	const struct vmh_vp_spec *s = &t->spec;
	long long now = now_us();
	char msg[120];
	int i, ok = 0;

	t->xfer = NULL;
	if (rc == VMH_E_CONFIG || rc == VMH_E_NOMEM || rc == VMH_E_INTERNAL) {
		/* A TLS setup or local problem: not the guest's fault. */
		probe_done(vp, t, PR_ERROR, err->text, now);
		return;
	}
	if (rc != VMH_OK && !(rc == VMH_E_TOOBIG && resp->status > 0)) {
		probe_done(
		    vp, t, PR_FAIL,
		    rc == VMH_E_TIMEOUT ? "no answer in time" : err->text, now);
		return;
	}
	if (s->n_expect == 0)
		ok = resp->status >= 200 && resp->status <= 399;
	for (i = 0; i < s->n_expect; i++)
		if (resp->status >= s->expect[i][0] &&
		    resp->status <= s->expect[i][1])
			ok = 1;
	if (!ok) {
		snprintf(msg, sizeof(msg), "HTTP status %ld", resp->status);
		probe_done(vp, t, PR_FAIL, msg, now);
		return;
	}
	if (s->match != NULL &&
	    memmem(resp->body.data != NULL ? resp->body.data : "",
		   resp->body.len, s->match, strlen(s->match)) == NULL) {
		snprintf(msg, sizeof(msg),
			 "HTTP %ld: body does not contain "
			 "the match text",
			 resp->status);
		probe_done(vp, t, PR_FAIL, msg, now);
		return;
	}
	probe_done(vp, t, PR_OK, NULL, now);
}

static struct vmh_pinger *
pinger(struct vp *vp, int family, struct vmh_error *err)
{
	struct vmh_pinger **p = family == AF_INET ? &vp->ping4 : &vp->ping6;
	int *tried = family == AF_INET ? &vp->ping_tried4 : &vp->ping_tried6;
	struct epoll_event ev;

	if (*p != NULL || *tried)
		return *p;
	/* Opened on first use: a deployment without ICMP targets needs no
	 * ping permission at all. */
	*tried = 1;
	if (vmh_pinger_open(family, vp->vc->icmp_mode, p, err) != VMH_OK)
		return NULL;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = ev_data(family == AF_INET ? EV_PING4 : EV_PING6, 0, 0);
	if (epoll_ctl(vp->ep, EPOLL_CTL_ADD, vmh_pinger_fd(*p), &ev) < 0) {
		vmh_error_errno(err, errno, NULL, "epoll_ctl");
		vmh_pinger_close(*p);
		*p = NULL;
	}
	return *p;
}

/* Start one probe of t. Returns 0 when it is in flight (or ended at once),
 * -1 when it could not start for a local reason (retried shortly). */
static int
probe_start(struct vp *vp, struct target *t, long long now)
{
	const struct vmh_vp_exec_check *x;
	struct vmh_http_request req;
	struct vmh_pinger *p;
	struct epoll_event ev;
	struct vmh_error e;
	struct shard *sh;
	enum vmh_probe_status st;
	char env_a[96], env_n[200], env_v[96], env_t[48];
	const char *env[5];
	int rc, errnum, idx, pending;

	vmh_error_init(&e);
	t->gen = (t->gen + 1) & 0xffffffu;
	t->started = now;
	t->busy = 1;
	switch (t->spec.kind) {
	case VMH_VP_ICMP:
		if ((p = pinger(vp, t->addr.ss_family, &e)) == NULL) {
			t->busy = 0;
			probe_done(vp, t, PR_ERROR,
				   e.code != VMH_OK ? e.text
						    : "ICMP not available",
				   now);
			return 0;
		}
		rc = vmh_pinger_send(p, &t->addr, t->addrlen,
				     ((unsigned long long)t->slot << 32) |
					 t->gen);
		if (rc == EAGAIN || rc == ENOBUFS || rc == EINTR) {
			t->busy = 0;
			return -1;
		}
		if (rc != 0) {
			snprintf(t->last_msg, sizeof(t->last_msg), "%s",
				 strerror(rc));
			probe_done(vp, t, PR_FAIL, t->last_msg, now);
		}
		return 0;
	case VMH_VP_TCP:
		if (t->fd >= 0 && t->fd_family != t->addr.ss_family)
			tcp_close(t);
		if (t->fd < 0) {
			if (vmh_tcp_probe_socket(t->addr.ss_family, &t->fd,
						 &e) != VMH_OK) {
				t->busy = 0;
				if (errno == EMFILE || errno == ENFILE ||
				    errno == ENOBUFS)
					return -1;
				probe_done(vp, t, PR_ERROR, e.text, now);
				return 0;
			}
			t->fd_family = t->addr.ss_family;
			/* Edge-triggered: each connection's completion is
			 * one wake-up, on a socket that stays registered. */
			memset(&ev, 0, sizeof(ev));
			ev.events = EPOLLOUT | EPOLLET;
			ev.data.u64 = ev_data(EV_TCP, t->slot, 0);
			if (epoll_ctl(vp->ep, EPOLL_CTL_ADD, t->fd, &ev) < 0) {
				tcp_close(t);
				t->busy = 0;
				return -1;
			}
		}
		if (vmh_tcp_probe_connect(t->fd, &t->addr, t->addrlen,
					  t->spec.port, &pending, &st, &errnum,
					  &e) != VMH_OK) {
			tcp_close(t);
			t->busy = 0;
			if (errno == EADDRNOTAVAIL || errno == ENOBUFS ||
			    errno == EAGAIN)
				return -1;
			probe_done(vp, t, PR_ERROR, e.text, now);
			return 0;
		}
		if (!pending) {
			if (vmh_tcp_probe_reset(t->fd) < 0)
				tcp_close(t);
			if (st == VMH_PROBE_OK)
				probe_done(vp, t, PR_OK, NULL, now);
			else
				probe_done(vp, t, PR_FAIL,
					   st == VMH_PROBE_REFUSED
					       ? "connection refused"
					       : strerror(errnum),
					   now);
		}
		return 0;
	case VMH_VP_HTTP:
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = t->url;
		req.idempotent = 1;
		/* Our own deadline cancels first; curl's is a backstop. */
		req.timeout_ms = t->spec.timeout_ms + 200;
		if ((sh = shard_of(vp, t))->http == NULL &&
		    shard_open(vp, sh, &e) != VMH_OK) {
			t->busy = 0;
			probe_done(vp, t, PR_ERROR, e.text, now);
			return 0;
		}
		if (vmh_http_async_start(sh->http, &req, http_done, t, &t->xfer,
					 &e) != VMH_OK) {
			t->busy = 0;
			if (e.code == VMH_E_NOMEM)
				return -1;
			probe_done(vp, t, PR_ERROR, e.text, now);
		}
		return 0;
	case VMH_VP_EXEC:
		if (vp->n_exec >= vp->vc->max_exec) {
			t->busy = 0;
			return -1;
		}
		x = vmh_vmprobe_exec_check(vp->vc, t->spec.exec);
		if (x == NULL) {
			t->busy = 0;
			probe_done(vp, t, PR_ERROR, "exec check gone", now);
			return 0;
		}
		snprintf(env_a, sizeof(env_a), "VMH_PROBE_ADDRESS=%s",
			 t->addr_text);
		snprintf(env_n, sizeof(env_n), "VMH_PROBE_TARGET=%s", t->name);
		snprintf(env_v, sizeof(env_v), "VMH_PROBE_VM=%s",
			 t->vm_id ? t->vm_id : "");
		snprintf(env_t, sizeof(env_t), "VMH_PROBE_TIMEOUT_MS=%d",
			 t->spec.timeout_ms);
		env[0] = env_a;
		env[1] = env_n;
		env[2] = env_v;
		env[3] = env_t;
		env[4] = NULL;
		/* The probe's own deadline kills it (probe_timeout). */
		if (spawn_exec(vp, CH_EXEC, (const char *const *)x->argv, env,
			       now + VP_HEAL_DEADLINE, &idx) < 0) {
			t->busy = 0;
			return -1;
		}
		vp->children[idx].slot = t->slot;
		vp->children[idx].tgen = t->gen;
		t->child = idx;
		vp->n_exec++;
		return 0;
	}
	t->busy = 0;
	return 0;
}

/* The deadline passed with the probe still in flight. */
static void
probe_timeout(struct vp *vp, struct target *t, long long now)
{
	const char *msg = "no answer in time";
	int errnum;

	/* One last look: an answer that arrived while the loop was busy
	 * elsewhere still counts. */
	if (t->spec.kind == VMH_VP_TCP && t->fd >= 0 &&
	    vmh_tcp_probe_check(t->fd, &errnum) == VMH_PROBE_OK) {
		if (vmh_tcp_probe_reset(t->fd) < 0)
			tcp_close(t);
		probe_done(vp, t, PR_OK, NULL, now);
		return;
	}
	if (t->spec.kind == VMH_VP_ICMP && !vp->pings_drained) {
		vp->pings_drained = 1;
		if (vp->ping4 != NULL)
			(void)vmh_pinger_read(vp->ping4, 100000, ping_reply,
					      vp);
		if (vp->ping6 != NULL)
			(void)vmh_pinger_read(vp->ping6, 100000, ping_reply,
					      vp);
		if (!t->busy)
			return;
	}

	switch (t->spec.kind) {
	case VMH_VP_ICMP:
		msg = "no echo reply in time";
		break;
	case VMH_VP_TCP:
		msg = "connect timed out";
		break;
	case VMH_VP_EXEC:
		msg = "check timed out, killed";
		break;
	case VMH_VP_HTTP:
		break;
	}
	probe_abort(vp, t);
	probe_done(vp, t, PR_FAIL, msg, now);
}

/* ---- Healing */

struct heal_arg {
	char vm_id[64];
	int steps[VMH_VP_MAX_ACTIONS];
	int n;
	char reason[200];
};

/* In the child: one vm_failure episode with the probe's steps. */
static void
heal_worker(struct vp *vp, const void *argp, int fd)
{
	const struct heal_arg *a = argp;
	enum vmh_vmfail_action steps[VMH_VP_MAX_ACTIONS];
	struct vmh_vmfail_opts o;
	struct vmh_vmfail_report rep;
	struct vmh_cloud *cloud = NULL;
	struct vmh_error e;
	enum vmh_rc rc;
	int i;

	vmh_error_init(&e);
	memset(&rep, 0, sizeof(rep));
	for (i = 0; i < a->n; i++)
		steps[i] = (enum vmh_vmfail_action)a->steps[i];
	memset(&o, 0, sizeof(o));
	o.vm_id = a->vm_id;
	o.trigger = VMH_VF_TRIGGER_PROBE;
	o.dry_run = vp->opts->dry_run;
	o.steps = steps;
	o.n_steps = a->n;
	o.no_wait = 1;
	o.reason = a->reason;
	if ((rc = vmh_cloud_open(vp->conf, &cloud, &e)) == VMH_OK)
		rc = vmh_vmfail_run(vp->conf, cloud, &o, &rep, &e);
	worker_reply(
	    fd,
	    json_pack(
		"{s:i, s:s, s:s, s:s, s:I, s:i, s:i}", "rc", (int)rc, "outcome",
		rep.summary != NULL ? vmh_vmfail_outcome_name(rep.outcome)
				    : "failed",
		"summary", rep.summary ? rep.summary : "", "error", e.text,
		"next_allowed", (json_int_t)rep.next_allowed, "recoveries",
		rep.recoveries, "max_recoveries", rep.max_recoveries));
	vmh_vmfail_report_free(&rep);
	vmh_cloud_close(cloud);
}

/* Too many targets down at once looks like our own network, not the
 * guests: healing them all would be a storm of reboots. */
static int
storm_check(struct vp *vp)
{
	size_t i, down = 0, probed = 0;

	for (i = 0; i < vp->n_slots; i++) {
		struct target *t = vp->slots[i];

		if (t == NULL || !probeable(t))
			continue;
		probed++;
		down += t->fsm.state == VMH_VP_DOWN;
	}
	return down >= (size_t)vp->vc->storm_min_down &&
	       down * 100 > probed * (size_t)vp->vc->storm_percent;
}

static void
maybe_heal(struct vp *vp, struct target *t)
{
	const struct vmh_vmprobe_conf *c = vp->vc;
	struct heal_arg a;
	long long wall = vmh_wall_s();
	int i, first, idx, storm;

	if (t->vm_id == NULL || !c->heal || t->spec.heal == 0 ||
	    t->fsm.state != VMH_VP_DOWN || t->healing || t->held ||
	    t->gave_up || t->heal_blocked || vp->opts->once ||
	    c->actions[0] == VMH_VF_NONE)
		return;
	if (wall < t->next_heal || vp->n_heal >= c->max_heals)
		return;
	/* Counting every target is O(n): not more than ten times a second,
	 * however many down targets ask. */
	if (now_us() - vp->storm_at >= 100000) {
		vp->storm_at = now_us();
		vp->storm_now = storm_check(vp);
	}
	storm = vp->storm_now;
	if (storm != vp->storm) {
		vp->storm = storm;
		vmh_log(storm ? VMH_LOG_WARNING : VMH_LOG_NOTICE,
			storm ? "more than %d%% of the targets are down: no "
				"heals (this looks like our network, not the "
				"guests)"
			      : "fewer than %d%% of the targets are down: "
				"heals allowed again",
			vp->vc->storm_percent);
	}
	if (storm)
		return;
	memset(&a, 0, sizeof(a));
	vmh_strlcpy(a.vm_id, t->vm_id, sizeof(a.vm_id));
	/* The ladder: the first heal of a streak starts with the first
	 * action (reboot), later ones further down (recreate); vm_failure
	 * escalates within an episode when a step does not take. */
	first = t->episodes < c->n_actions ? t->episodes : c->n_actions - 1;
	for (i = first; i < c->n_actions && c->actions[i] != VMH_VF_NONE; i++)
		a.steps[a.n++] = c->actions[i];
	if (a.n == 0)
		return;
	snprintf(a.reason, sizeof(a.reason), "probe %s %s: %d failures: %.100s",
		 vmh_vp_kind_name(t->spec.kind), t->addr_text, t->fsm.fail_run,
		 t->last_msg);
	if (spawn_worker(vp, CH_HEAL, heal_worker, &a,
			 now_us() + VP_HEAL_DEADLINE, VP_HEAL_OUT_MAX,
			 &idx) < 0) {
		t->next_heal = wall + c->heal_retry_s;
		return;
	}
	vp->children[idx].key = strdup(t->key);
	vp->n_heal++;
	t->healing = 1;
	vmh_log(VMH_LOG_NOTICE, "%s: healing VM %s (%s%s)%s", t->name, t->vm_id,
		vmh_vmfail_action_name(a.steps[0]),
		a.n > 1 ? ", then further steps" : "",
		vp->opts->dry_run ? " [dry run]" : "");
}

static void
heal_finished(struct vp *vp, struct child *c, int status)
{
	struct target *t = c->key != NULL ? target_by_key(vp, c->key) : NULL;
	const struct vmh_vmprobe_conf *vc = vp->vc;
	json_t *j = NULL;
	json_error_t je;
	const char *outcome = "failed", *summary = "", *error = "";
	json_int_t next_allowed = 0;
	long long wall = vmh_wall_s(), now = now_us();
	int rc = VMH_E_INTERNAL;

	vp->n_heal--;
	if (c->out.len > 0)
		j = json_loadb(c->out.data, c->out.len, 0, &je);
	if (j != NULL)
		(void)json_unpack(j, "{s?i, s?s, s?s, s?s, s?I}", "rc", &rc,
				  "outcome", &outcome, "summary", &summary,
				  "error", &error, "next_allowed",
				  &next_allowed);
	else
		error = WIFSIGNALED(status) ? "the heal worker was killed"
					    : "the heal worker said nothing";
	if (t == NULL) {
		vmh_log(VMH_LOG_NOTICE, "heal of a removed target: %s %s",
			outcome, summary);
		goto done;
	}
	t->healing = 0;
	snprintf(t->heal_note, sizeof(t->heal_note), "%s: %s", outcome,
		 summary[0] ? summary : error);
	if (strcmp(outcome, "recovered") == 0 ||
	    strcmp(outcome, "pending") == 0) {
		t->episodes++;
		t->heals++;
		vp->heals_ok++;
		/* The guest boots again: give it the grace period. */
		target_restart(vp, t, now, vc->heal_grace_ms * 1000LL);
		vmh_vp_heap_remove(&vp->heap, &t->timer);
		target_schedule(vp, t, now);
		vmh_log(VMH_LOG_NOTICE, "%s: VM %s healed: %s", t->name,
			t->vm_id, summary);
		notify(vp, "heal", t, summary);
	} else if (strcmp(outcome, "planned") == 0) {
		vp->heals_planned++;
		t->next_heal = wall + vc->heal_retry_s;
		vmh_log(VMH_LOG_NOTICE, "%s: would heal VM %s: %s [dry run]",
			t->name, t->vm_id, summary);
	} else if (strcmp(outcome, "gave-up") == 0 ||
		   strcmp(outcome, "gave_up") == 0 || rc == VMH_E_GAVE_UP) {
		t->gave_up = 1;
		vp->gave_ups++;
		vmh_log(VMH_LOG_WARNING, "%s: gave up on VM %s: %s", t->name,
			t->vm_id, summary[0] ? summary : error);
		notify(vp, "gave-up", t, summary[0] ? summary : error);
	} else if (strcmp(outcome, "deferred") == 0 || rc == VMH_E_TIMEOUT) {
		t->next_heal = next_allowed > wall ? (long long)next_allowed
						   : wall + vc->heal_retry_s;
		vmh_log(VMH_LOG_INFO, "%s: VM %s: heal deferred %lld s (%s)",
			t->name, t->vm_id, t->next_heal - wall, summary);
	} else if (strcmp(outcome, "nothing") == 0) {
		/* HA=no, HA_ACTION=none...: not for this down episode. */
		t->heal_blocked = 1;
		vmh_log(VMH_LOG_NOTICE, "%s: VM %s is not healed: %s", t->name,
			t->vm_id, summary);
	} else if (strcmp(outcome, "host-error") == 0 ||
		   strcmp(outcome, "host_error") == 0) {
		/* host_error's until the cloud says otherwise: ask again
		 * after the next listing, not every heal_retry. */
		t->next_heal = wall + (vc->refresh_s > vc->heal_retry_s
					   ? vc->refresh_s
					   : vc->heal_retry_s);
		vmh_log(VMH_LOG_NOTICE, "%s: VM %s: %s", t->name, t->vm_id,
			summary);
	} else if (strcmp(outcome, "busy") == 0) {
		t->next_heal = wall + vc->heal_retry_s;
		vmh_log(VMH_LOG_NOTICE, "%s: VM %s: %s", t->name, t->vm_id,
			summary);
	} else {
		t->heal_fails++;
		vp->heals_failed++;
		t->next_heal = wall + vc->heal_retry_s;
		vmh_log(VMH_LOG_WARNING, "%s: heal of VM %s failed: %s",
			t->name, t->vm_id, summary[0] ? summary : error);
		notify(vp, "heal-failed", t, summary[0] ? summary : error);
	}
done:
	json_decref(j);
}

/* ---- Results */

static void
probe_done(struct vp *vp, struct target *t, enum result r, const char *msg,
	   long long now)
{
	const struct vmh_vmprobe_conf *c = vp->vc;
	int k = (int)t->spec.kind, changed;
	long long next;

	t->busy = 0;
	t->gen = (t->gen + 1) & 0xffffffu;
	t->last = (int)r;
	t->last_rtt_us = r == PR_OK ? (long)(now - t->started) : -1;
	if (msg != t->last_msg)
		vmh_strlcpy(t->last_msg, msg != NULL ? msg : "",
			    sizeof(t->last_msg));
	t->probes++;
	vp->kind_probes[k]++;
	if (r == PR_FAIL) {
		t->fails++;
		vp->kind_fails[k]++;
	} else if (r == PR_ERROR) {
		t->errors++;
		vp->kind_errors[k]++;
		if (t->errors == 1 || t->errors % 1000 == 0)
			vmh_log(VMH_LOG_WARNING,
				"%s: probe error (not counted "
				"against the target): %s",
				t->name, t->last_msg);
	}
	if (vp->opts->once) {
		json_array_append_new(
		    vp->once_report,
		    json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "target",
			      t->name, "address", t->addr_text, "probe",
			      t->spec_text, "result",
			      r == PR_OK     ? "ok"
			      : r == PR_FAIL ? "fail"
					     : "error",
			      "rtt_ms",
			      r == PR_OK ? (double)t->last_rtt_us / 1000.0
					 : -1.0,
			      "message", t->last_msg));
		vp->once_failed += r != PR_OK;
		vp->once_pending--;
		vmh_vp_heap_remove(&vp->heap, &t->timer);
		return;
	}
	/* Results during the initial delay do not count. */
	if (r != PR_ERROR && now >= t->not_before) {
		changed = vmh_vp_fsm_feed(&t->fsm, r == PR_OK, t->spec.rise,
					  t->spec.fall);
		if (changed) {
			t->since = vmh_wall_s();
			vmh_log(t->fsm.state == VMH_VP_DOWN ? VMH_LOG_WARNING
							    : VMH_LOG_NOTICE,
				"%s (%s %s): %s%s%s", t->name,
				vmh_vp_kind_name(t->spec.kind), t->addr_text,
				vmh_vp_state_name(t->fsm.state),
				t->fsm.state == VMH_VP_DOWN ? ": " : "",
				t->fsm.state == VMH_VP_DOWN ? t->last_msg : "");
			if (t->fsm.state == VMH_VP_UP) {
				t->up_since = now;
				t->heal_blocked = 0;
				notify(vp, "up", t, "");
			} else if (t->fsm.state == VMH_VP_DOWN) {
				notify(vp, "down", t, t->last_msg);
			}
		}
		if (t->fsm.state == VMH_VP_UP && t->episodes > 0 &&
		    now - t->up_since >= c->heal_reset_s * 1000000LL)
			t->episodes = 0; /* healthy long enough */
		if (t->fsm.state == VMH_VP_DOWN)
			maybe_heal(vp, t);
	}
	if (t->timer.idx == VMH_VP_NOT_QUEUED && !probeable(t))
		return;
	next = vmh_vp_next_due(t->due, t->spec.period_ms * 1000LL,
			       c->jitter_pct, now, &vp->rng, &vp->skipped);
	if (next < t->not_before)
		next = t->not_before;
	t->due = next;
	(void)vmh_vp_heap_set(&vp->heap, &t->timer, next);
}

/* Start or time out every target whose time has come. */
static void
run_due(struct vp *vp, long long now)
{
	struct vmh_vp_timer *tm;
	struct target *t;
	long long delay;

	vp->pings_drained = 0;
	while ((tm = vmh_vp_heap_peek(&vp->heap)) != NULL && tm->when <= now) {
		t = (struct target *)tm;
		if (t->busy) {
			probe_timeout(vp, t, now);
			continue;
		}
		delay = now - t->due;
		if (probe_start(vp, t, now) < 0) {
			/* Local shortage (descriptors, exec slots): soon
			 * again, without a result. */
			(void)vmh_vp_heap_set(&vp->heap, &t->timer,
					      now + VP_LOCAL_RETRY_US);
			continue;
		}
		vmh_vp_hist_add(&vp->delay_all, delay);
		vmh_vp_hist_add(&vp->delay_win, delay);
		if (t->busy)
			(void)vmh_vp_heap_set(&vp->heap, &t->timer,
					      now +
						  t->spec.timeout_ms * 1000LL);
	}
}

/* ---- Events */

static void
ping_reply(void *ctx, unsigned long long token,
	   const struct sockaddr_storage *from)
{
	struct vp *vp = ctx;
	struct target *t = target_by_slot(vp, (uint32_t)(token >> 32));

	if (t == NULL || !t->busy || t->spec.kind != VMH_VP_ICMP ||
	    t->gen != (uint32_t)(token & 0xffffffffu) ||
	    !vmh_netcheck_same_addr(from, &t->addr))
		return;
	probe_done(vp, t, PR_OK, NULL, now_us());
}

/* A wake-up of a target's TCP socket. It may be stale (the previous
 * connection's reset), so the connection state decides. */
static void
tcp_event(struct vp *vp, uint32_t slot)
{
	struct target *t = target_by_slot(vp, slot);
	enum vmh_probe_status st;
	int errnum;

	if (t == NULL || !t->busy || t->spec.kind != VMH_VP_TCP || t->fd < 0)
		return;
	st = vmh_tcp_probe_check(t->fd, &errnum);
	if (st == VMH_PROBE_TIMEOUT)
		return; /* still connecting */
	if (vmh_tcp_probe_reset(t->fd) < 0)
		tcp_close(t);
	if (st == VMH_PROBE_OK)
		probe_done(vp, t, PR_OK, NULL, now_us());
	else if (st == VMH_PROBE_REFUSED)
		probe_done(vp, t, PR_FAIL, "connection refused", now_us());
	else
		probe_done(vp, t, PR_FAIL, strerror(errnum), now_us());
}

static void refresh_finished(struct vp *vp, struct child *c, int status);
static void write_status(struct vp *vp);

static void
exec_finished(struct vp *vp, struct child *c, int status)
{
	struct target *t = target_by_slot(vp, c->slot);
	char msg[120], *nl;
	const char *out = vmh_buf_str(&c->out);

	vp->n_exec--;
	if (t == NULL || !t->busy || t->gen != c->tgen || t->child < 0)
		return; /* timed out or removed meanwhile */
	t->child = -1;
	/* The first line of its output says why. */
	while (*out == ' ' || *out == '\n')
		out++;
	snprintf(msg, sizeof(msg), "%s", out);
	if ((nl = strchr(msg, '\n')) != NULL)
		*nl = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		probe_done(vp, t, PR_OK, NULL, now_us());
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		probe_done(vp, t, PR_ERROR, "check could not be run (127)",
			   now_us());
	} else {
		char m2[160];

		if (WIFEXITED(status))
			snprintf(m2, sizeof(m2), "exit %d%s%s",
				 WEXITSTATUS(status), msg[0] ? ": " : "", msg);
		else
			snprintf(m2, sizeof(m2), "killed by signal %d",
				 WTERMSIG(status));
		probe_done(vp, t, PR_FAIL, m2, now_us());
	}
}

static void
child_reaped(struct vp *vp, int idx, int status)
{
	struct child *c = &vp->children[idx];

	child_drain(vp, c);
	child_close_fd(vp, c);
	switch (c->kind) {
	case CH_EXEC:
		exec_finished(vp, c, status);
		break;
	case CH_HEAL:
		heal_finished(vp, c, status);
		break;
	case CH_REFRESH:
		refresh_finished(vp, c, status);
		break;
	case CH_STATUS:
		vp->status_running = 0;
		if (vp->status_again) {
			/* Asked again while it was being written. */
			vp->status_again = 0;
			write_status(vp);
		}
		break;
	case CH_NOTIFY:
		vp->n_notify--;
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			vmh_log(VMH_LOG_WARNING, "notify command: %s%s",
				WIFEXITED(status) ? "exit status " : "signal ",
				WIFEXITED(status) ? "non-zero" : "");
		break;
	case CH_FREE:
		break;
	}
	vmh_buf_free(&c->out);
	free(c->key);
	c->key = NULL;
	c->kind = CH_FREE;
	child_deadline_update(vp);
	notify_start(vp);
}

static void
reap(struct vp *vp)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < VP_CHILD_MAX; i++)
			if (vp->children[i].kind != CH_FREE &&
			    vp->children[i].pid == pid)
				break;
		if (i < VP_CHILD_MAX)
			child_reaped(vp, i, status);
	}
}

static void
children_deadlines(struct vp *vp, long long now)
{
	int i;

	if (vp->child_deadline == 0 || now < vp->child_deadline)
		return;
	for (i = 0; i < VP_CHILD_MAX; i++)
		if (vp->children[i].kind != CH_FREE &&
		    !vp->children[i].killed &&
		    vp->children[i].deadline <= now) {
			vmh_log(VMH_LOG_WARNING,
				"child %d (%s) past its "
				"deadline: killed",
				vp->children[i].pid,
				vp->children[i].kind == CH_NOTIFY
				    ? "notify command"
				    : "worker");
			child_kill(vp, i);
		}
	child_deadline_update(vp);
}

/* ---- Cloud refresh */

/* In the child: list the VMs that carry the attribute (and those the
 * configured targets name) with what vm_probe needs of each. */
static void
refresh_worker(struct vp *vp, const void *arg, int fd)
{
	const struct vmh_vmprobe_conf *c = vp->vc;
	const char *gave_attr = VP_GAVE_UP_ATTR;
	struct vmh_cloud *cloud = NULL;
	struct vmh_host_list hosts = { 0 };
	struct vmh_vm_list vms = { 0 };
	struct vmh_error e;
	json_t *out = NULL, *arr, *ips, *o;
	size_t i, k, h;
	enum vmh_rc rc;
	int want, hs;

	(void)arg;
	vmh_error_init(&e);
	if (vp->conf->vmfail != NULL &&
	    vp->conf->vmfail->gave_up_attribute != NULL)
		gave_attr = vp->conf->vmfail->gave_up_attribute;
	if ((rc = vmh_cloud_open(vp->conf, &cloud, &e)) != VMH_OK ||
	    (rc = vmh_cloud_host_list(cloud, &hosts, &e)) != VMH_OK ||
	    (rc = vmh_cloud_vm_list_all(cloud, &vms, &e)) != VMH_OK) {
		out = json_pack("{s:b, s:i, s:s}", "ok", 0, "rc", (int)rc,
				"error", e.text);
		goto done;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < vms.n; i++) {
		const struct vmh_vm *vm = &vms.vms[i];
		const char *probe = c->cloud_targets
					? vmh_attr_get(vm->attrs, c->attribute)
					: NULL;

		want = probe != NULL;
		for (k = 0; !want && k < c->n_targets; k++)
			want = c->targets[k].vm != NULL &&
			       strcmp(c->targets[k].vm, vm->id) == 0;
		if (!want)
			continue;
		/* By ID (OpenNebula's HID), or by name: a Nova server names
		 * its compute host, whose ID is the service's UUID. */
		hs = -1;
		for (h = 0; vm->host_id != NULL && h < hosts.n && hs < 0; h++)
			if ((hosts.hosts[h].id != NULL &&
			     strcmp(hosts.hosts[h].id, vm->host_id) == 0) ||
			    (hosts.hosts[h].name != NULL &&
			     vm->host_name != NULL &&
			     strcmp(hosts.hosts[h].name, vm->host_name) == 0))
				hs = (int)hosts.hosts[h].state;
		ips = json_array();
		for (k = 0; ips != NULL && vm->ips != NULL && vm->ips[k]; k++)
			json_array_append_new(ips, json_string(vm->ips[k]));
		o = json_pack("{s:s, s:s?, s:i, s:s?, s:s?, s:i, s:s?, s:o?, "
			      "s:s?, s:I}",
			      "id", vm->id, "name", vm->name, "state",
			      (int)vm->state, "state_text", vm->state_text,
			      "host", vm->host_name, "host_state", hs, "probe",
			      probe, "ips", ips, "gave_up",
			      vmh_attr_get(vm->attrs, gave_attr), "stime",
			      (json_int_t)vm->stime);
		if (o != NULL)
			json_array_append_new(arr, o);
	}
	out = json_pack("{s:b, s:o, s:I}", "ok", 1, "vms", arr, "total",
			(json_int_t)vms.n);
done:
	worker_reply(fd, out);
	vmh_vm_list_free(&vms);
	vmh_host_list_free(&hosts);
	vmh_cloud_close(cloud);
}

static int
needs_cloud(const struct vmh_vmprobe_conf *c)
{
	size_t i;

	if (c->cloud_targets)
		return 1;
	for (i = 0; i < c->n_targets; i++)
		if (c->targets[i].vm != NULL)
			return 1;
	return 0;
}

static void
refresh_start(struct vp *vp, long long now)
{
	int idx;

	if (vp->refreshing || !needs_cloud(vp->vc))
		return;
	if (spawn_worker(vp, CH_REFRESH, refresh_worker, NULL,
			 now + VP_REFRESH_DEADLINE, VP_REFRESH_OUT_MAX,
			 &idx) < 0) {
		vp->next_refresh = now + VP_REFRESH_RETRY_S * 1000000LL;
		return;
	}
	vp->refreshing = 1;
}

/* The address to probe: ip= when it is one of the VM's, else the first
 * numeric one. NULL (with why) when there is none. */
static const char *
pick_addr(const char *spec_text, json_t *ips, char *why, size_t wlen)
{
	struct sockaddr_storage want, ss;
	socklen_t len;
	const char *a, *first = NULL;
	size_t i;
	struct vmh_vp_spec spec;
	char ip[VMH_NETCHECK_ADDR_TEXTLEN] = "";

	/* The spec is parsed again: the target's is not updated yet. */
	if (vmh_vp_spec_parse(spec_text, &spec, NULL) == VMH_OK) {
		if (spec.ip != NULL)
			vmh_strlcpy(ip, spec.ip, sizeof(ip));
		vmh_vp_spec_clear(&spec);
	}
	if (ip[0] != '\0' &&
	    vmh_netcheck_parse_addr(ip, &want, &len, NULL) != VMH_OK)
		ip[0] = '\0';
	for (i = 0; i < json_array_size(ips); i++) {
		a = json_string_value(json_array_get(ips, i));
		if (a == NULL ||
		    vmh_netcheck_parse_addr(a, &ss, &len, NULL) != VMH_OK)
			continue;
		if (ip[0] == '\0')
			return a;
		if (vmh_netcheck_same_addr(&ss, &want))
			return a;
		if (first == NULL)
			first = a;
	}
	if (ip[0] != '\0')
		snprintf(why, wlen, "ip=%s is not one of the VM's addresses",
			 ip);
	else
		snprintf(why, wlen, "the VM has no NIC address");
	return NULL;
}

/* Hold (or release) a target according to its VM as the cloud shows it. */
static void
apply_vm_state(struct vp *vp, struct target *t, json_t *vm, long long now)
{
	int state = (int)json_integer_value(json_object_get(vm, "state"));
	int hs = (int)json_integer_value(json_object_get(vm, "host_state"));
	const char *st = json_string_value(json_object_get(vm, "state_text"));
	const char *host = json_string_value(json_object_get(vm, "host"));
	const char *gave = json_string_value(json_object_get(vm, "gave_up"));
	int was = t->held;
	char why[160] = "";

	if (json_object_get(vm, "host_state") != NULL && hs >= 0 &&
	    hs == VMH_HOST_DOWN)
		snprintf(why, sizeof(why),
			 "host %s is in ERROR: host_error owns the VM",
			 host ? host : "?");
	else if (state != VMH_VM_RUNNING)
		snprintf(why, sizeof(why), "VM is %s", st ? st : "not running");
	t->held = why[0] != '\0';
	if (t->held) {
		vmh_strlcpy(t->note, why, sizeof(t->note));
		if (!was)
			vmh_log(VMH_LOG_INFO, "%s: not probed: %s", t->name,
				why);
		vmh_vp_fsm_reset(&t->fsm);
	} else if (was) {
		/* Running again (booted, recreated, host back): the
		 * initial delay applies as after any boot. */
		target_restart(vp, t, now, t->spec.initial_delay_ms * 1000LL);
		t->note[0] = '\0';
		vmh_log(VMH_LOG_INFO, "%s: VM running: probing again", t->name);
	}
	if (gave != NULL && gave[0] != '\0') {
		t->gave_up = 1;
		t->gave_up_attr = 1;
	} else if (t->gave_up_attr) {
		/* The operator cleared the mark: start over. */
		t->gave_up = 0;
		t->gave_up_attr = 0;
		t->episodes = 0;
		vmh_log(VMH_LOG_NOTICE,
			"%s: gave-up mark cleared: healing "
			"again",
			t->name);
	}
}

static int
cfg_vm_cmp(const void *a, const void *b)
{
	return strcmp((*(struct target *const *)a)->vm_id,
		      (*(struct target *const *)b)->vm_id);
}

/* The configured targets that name a VM, sorted by VM ID (allocated, may
 * be NULL when there are none). */
static struct target **
cfg_vm_index(struct vp *vp, size_t *n)
{
	struct target **v;
	size_t i;

	*n = 0;
	if ((v = calloc(vp->n_slots + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < vp->n_slots; i++)
		if (vp->slots[i] != NULL && !vp->slots[i]->from_cloud &&
		    vp->slots[i]->vm_id != NULL)
			v[(*n)++] = vp->slots[i];
	qsort(v, *n, sizeof(*v), cfg_vm_cmp);
	return v;
}

/* The first index of VM id in the sorted index, or n. */
static size_t
cfg_vm_find(struct target **v, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid]->vm_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
refresh_finished(struct vp *vp, struct child *c, int status)
{
	long long now = now_us(), wall_ms, stime;
	json_t *j = NULL, *vms, *vm;
	json_error_t je;
	struct target *t, **cfg = NULL;
	size_t i, k, n_cfg = 0;
	struct timespec ts;
	int new_vm = 0;
	char key[96], why[160];
	const char *id, *probe, *addr, *name;

	vp->refreshing = 0;
	vp->once_refreshed = 1;
	vp->next_refresh = now + vp->vc->refresh_s * 1000000LL;
	if (c->out.len > 0)
		j = json_loadb(c->out.data, c->out.len, 0, &je);
	if (j == NULL || !json_is_true(json_object_get(j, "ok"))) {
		snprintf(
		    vp->refresh_err, sizeof(vp->refresh_err), "%s",
		    j != NULL ? json_string_value(json_object_get(j, "error"))
		    : WIFSIGNALED(status) ? "the listing worker was killed"
					  : "the listing worker said nothing");
		if (vp->refresh_ok || vp->last_refresh_wall == 0)
			vmh_log(VMH_LOG_ERR,
				"cannot list the cloud's VMs: %s (targets "
				"kept, retrying)",
				vp->refresh_err);
		vp->refresh_ok = 0;
		vp->next_refresh = now + VP_REFRESH_RETRY_S * 1000000LL;
		vp->last_refresh_wall = vmh_wall_s();
		json_decref(j);
		return;
	}
	if (!vp->refresh_ok && vp->last_refresh_wall != 0)
		vmh_log(VMH_LOG_NOTICE, "the cloud answers again");
	vp->refresh_ok = 1;
	vp->refresh_err[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	wall_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	vp->last_refresh_wall = vmh_wall_s();
	vms = json_object_get(j, "vms");
	vp->refresh_vms = json_array_size(vms);
	cfg = cfg_vm_index(vp, &n_cfg);
	for (i = 0; i < vp->n_slots; i++)
		if (vp->slots[i] != NULL && vp->slots[i]->from_cloud)
			vp->slots[i]->seen = 0;
	json_array_foreach(vms, i, vm)
	{
		id = json_string_value(json_object_get(vm, "id"));
		probe = json_string_value(json_object_get(vm, "probe"));
		name = json_string_value(json_object_get(vm, "name"));
		if (id == NULL)
			continue;
		/* Configured targets naming this VM follow its state. */
		for (k = cfg_vm_find(cfg, n_cfg, id);
		     k < n_cfg && strcmp(cfg[k]->vm_id, id) == 0; k++) {
			apply_vm_state(vp, cfg[k], vm, now);
			target_schedule(vp, cfg[k], now);
		}
		if (probe == NULL || !vp->vc->cloud_targets)
			continue;
		snprintf(key, sizeof(key), "vm:%s", id);
		if ((t = target_by_key(vp, key)) == NULL) {
			char dn[160];

			snprintf(dn, sizeof(dn), "vm-%s%s%s", id,
				 name ? "/" : "", name ? name : "");
			if ((t = target_new(vp, key, dn)) == NULL) {
				vmh_log(VMH_LOG_ERR, "out of memory");
				break;
			}
			/* A VM found running now may have booted long ago:
			 * its first results count at once, unless it was
			 * created less than an initial delay ago. */
			t->from_cloud = 1;
			new_vm = 1;
		}
		t->seen = 1;
		why[0] = '\0';
		addr = pick_addr(probe, json_object_get(vm, "ips"), why,
				 sizeof(why));
		if (target_apply(vp, t, probe, addr, id, 1, now) < 0)
			continue;
		if (addr == NULL && t->spec_ok && t->spec.kind != VMH_VP_EXEC) {
			if (strcmp(t->note, why) != 0)
				vmh_log(VMH_LOG_WARNING, "%s: not probed: %s",
					t->name, why);
			vmh_strlcpy(t->note, why, sizeof(t->note));
		}
		apply_vm_state(vp, t, vm, now);
		stime = json_integer_value(json_object_get(vm, "stime"));
		if (new_vm && t->spec_ok && stime > 0 &&
		    stime * 1000 + t->spec.initial_delay_ms > wall_ms)
			t->not_before =
			    now + (stime * 1000 + t->spec.initial_delay_ms -
				   wall_ms) *
				      1000;
		new_vm = 0;
		target_schedule(vp, t, now);
	}
	free(cfg);
	/* VMs gone, or whose attribute was removed. */
	for (i = 0; i < vp->n_slots; i++) {
		t = vp->slots[i];
		if (t != NULL && t->from_cloud && !t->seen && !t->healing) {
			vmh_log(VMH_LOG_INFO,
				"%s: no longer probed (VM gone "
				"or attribute removed)",
				t->name);
			target_free(vp, t);
		}
	}
	json_decref(j);
	if (vp->opts->once) {
		vp->once_pending = 0;
		for (i = 0; i < vp->n_slots; i++)
			if (vp->slots[i] != NULL &&
			    vp->slots[i]->timer.idx != VMH_VP_NOT_QUEUED)
				vp->once_pending++;
	}
}

/* ---- Configured targets (start and reload) */

static int
apply_conf_targets(struct vp *vp, long long now)
{
	const struct vmh_vmprobe_conf *c = vp->vc;
	struct target *t;
	char key[160];
	size_t i;
	int fresh;

	for (i = 0; i < vp->n_slots; i++)
		if (vp->slots[i] != NULL && !vp->slots[i]->from_cloud)
			vp->slots[i]->seen = 0;
	for (i = 0; i < c->n_targets; i++) {
		const struct vmh_vp_target_conf *tc = &c->targets[i];

		snprintf(key, sizeof(key), "cfg:%s", tc->name);
		fresh = (t = target_by_key(vp, key)) == NULL;
		if (fresh && (t = target_new(vp, key, tc->name)) == NULL)
			return -1;
		t->seen = 1;
		if (target_apply(vp, t, tc->probe, tc->address, tc->vm, 0,
				 now) < 0)
			return -1;
		/* When its guest booted is unknown: the host may have just
		 * started it together with vm_probe. Wait as after a boot. */
		if (fresh && t->spec_ok)
			t->not_before = now + t->spec.initial_delay_ms * 1000LL;
		target_schedule(vp, t, now);
	}
	for (i = 0; i < vp->n_slots; i++) {
		t = vp->slots[i];
		if (t != NULL && !t->from_cloud && !t->seen)
			target_free(vp, t);
	}
	return 0;
}

/* Re-read every cloud target's specification under new defaults. */
static void
reapply_cloud_targets(struct vp *vp, long long now)
{
	struct target *t;
	char *text, addr[VMH_NETCHECK_ADDR_TEXTLEN];
	size_t i;

	for (i = 0; i < vp->n_slots; i++) {
		t = vp->slots[i];
		if (t == NULL || !t->from_cloud)
			continue;
		if (!vp->vc->cloud_targets) {
			target_free(vp, t);
			continue;
		}
		if ((text = strdup(t->spec_text)) == NULL)
			continue;
		vmh_strlcpy(addr, t->addr_text, sizeof(addr));
		(void)target_apply(vp, t, text, t->has_addr ? addr : NULL,
				   t->vm_id, 1, now);
		free(text);
		target_schedule(vp, t, now);
	}
}

/* ---- Status and metrics */

static void
hist_json(json_t *o, const char *name, const struct vmh_vp_hist *h)
{
	json_object_set_new(
	    o, name,
	    json_pack("{s:I, s:f, s:f, s:f, s:f}", "count",
		      (json_int_t)h->count, "p50_ms",
		      (double)vmh_vp_hist_quantile(h, 0.5) / 1000.0, "p99_ms",
		      (double)vmh_vp_hist_quantile(h, 0.99) / 1000.0, "max_ms",
		      (double)h->max / 1000.0, "mean_ms",
		      h->count ? (double)(h->sum / h->count) / 1000.0 : 0.0));
}

static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long pages = 0, res = 0;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static json_t *
target_json(const struct vp *vp, const struct target *t)
{
	json_t *o;
	const char *st = !t->spec_ok ? "bad-probe"
			 : t->held   ? "not-probed"
				     : vmh_vp_state_name(t->fsm.state);

	(void)vp;
	o = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s, s:I, s:I, s:I, s:I}",
		      "name", t->name, "key", t->key, "vm", t->vm_id, "address",
		      t->addr_text, "probe", t->spec_text, "state", st, "since",
		      (json_int_t)t->since, "probes", (json_int_t)t->probes,
		      "failures", (json_int_t)t->fails, "errors",
		      (json_int_t)t->errors);
	if (o == NULL)
		return NULL;
	if (t->last >= 0)
		json_object_set_new(
		    o, "last",
		    json_pack("{s:s, s:f, s:s}", "result",
			      t->last == PR_OK     ? "ok"
			      : t->last == PR_FAIL ? "fail"
						   : "error",
			      "rtt_ms",
			      t->last == PR_OK ? (double)t->last_rtt_us / 1000.0
					       : -1.0,
			      "message", t->last_msg));
	json_object_set_new(o, "ok_run", json_integer(t->fsm.ok_run));
	json_object_set_new(o, "fail_run", json_integer(t->fsm.fail_run));
	if (t->note[0] != '\0')
		json_object_set_new(o, "note", json_string(t->note));
	if (t->vm_id != NULL)
		json_object_set_new(
		    o, "heal",
		    json_pack("{s:b, s:b, s:i, s:I, s:I, s:I, s:s}", "running",
			      t->healing, "gave_up", t->gave_up, "episodes",
			      t->episodes, "heals", (json_int_t)t->heals,
			      "failed", (json_int_t)t->heal_fails,
			      "next_allowed", (json_int_t)t->next_heal, "note",
			      t->heal_note));
	return o;
}

static void
count_states(const struct vp *vp, size_t *up, size_t *down, size_t *unknown,
	     size_t *held, size_t *bad)
{
	size_t i;

	*up = *down = *unknown = *held = *bad = 0;
	for (i = 0; i < vp->n_slots; i++) {
		const struct target *t = vp->slots[i];

		if (t == NULL)
			continue;
		if (!t->spec_ok)
			(*bad)++;
		else if (!probeable(t))
			(*held)++;
		else if (t->fsm.state == VMH_VP_UP)
			(*up)++;
		else if (t->fsm.state == VMH_VP_DOWN)
			(*down)++;
		else
			(*unknown)++;
	}
}

static json_t *
status_json(struct vp *vp)
{
	static const char *const kinds[] = { "icmp", "tcp", "http", "exec" };
	json_t *o, *by, *d;
	size_t up, down, unknown, held, bad, i;
	unsigned long long tot = 0, fail = 0, errs = 0;

	count_states(vp, &up, &down, &unknown, &held, &bad);
	by = json_object();
	for (i = 0; i < 4; i++) {
		tot += vp->kind_probes[i];
		fail += vp->kind_fails[i];
		errs += vp->kind_errors[i];
		json_object_set_new(
		    by, kinds[i],
		    json_pack("{s:I, s:I, s:I}", "total",
			      (json_int_t)vp->kind_probes[i], "failed",
			      (json_int_t)vp->kind_fails[i], "errors",
			      (json_int_t)vp->kind_errors[i]));
	}
	o = json_pack(
	    "{s:s, s:i, s:I, s:I, s:I, s:b, s:b, s:{s:I, s:I, s:I, s:I, s:I, "
	    "s:I}, s:{s:I, s:I, s:I, s:o, s:I}, s:{s:i, s:I, s:I, s:I, s:I}, "
	    "s:{s:f, s:f, s:i}}",
	    "version", PACKAGE_VERSION, "pid", vp->pid, "time",
	    (json_int_t)vmh_wall_s(), "seq", (json_int_t)vp->status_seq,
	    "uptime_s", (json_int_t)(vmh_wall_s() - vp->started_wall),
	    "dry_run", vp->opts->dry_run, "storm", vp->storm, "targets",
	    "total", (json_int_t)vp->n_targets, "up", (json_int_t)up, "down",
	    (json_int_t)down, "unknown", (json_int_t)unknown, "not_probed",
	    (json_int_t)held, "bad_probe", (json_int_t)bad, "probes", "total",
	    (json_int_t)tot, "failed", (json_int_t)fail, "errors",
	    (json_int_t)errs, "by_kind", by, "skipped_rounds",
	    (json_int_t)vp->skipped, "heals", "running", vp->n_heal, "done",
	    (json_int_t)vp->heals_ok, "failed", (json_int_t)vp->heals_failed,
	    "planned", (json_int_t)vp->heals_planned, "gave_up",
	    (json_int_t)vp->gave_ups, "process", "cpu_user_s", vp->cpu_user,
	    "cpu_sys_s", vp->cpu_sys, "rss_kb", (int)vp->rss);
	if (o == NULL)
		return NULL;
	d = json_object();
	hist_json(d, "since_start", &vp->delay_all);
	hist_json(d, "since_last_status", &vp->delay_win);
	json_object_set_new(o, "schedule_delay", d);
	json_object_set_new(o, "refresh",
			    json_pack("{s:b, s:I, s:b, s:s, s:I}", "enabled",
				      needs_cloud(vp->vc), "last",
				      (json_int_t)vp->last_refresh_wall, "ok",
				      vp->refresh_ok, "error", vp->refresh_err,
				      "vms", (json_int_t)vp->refresh_vms));
	return o;
}

/* Write text to dir/name through a temporary file and a rename, so that a
 * reader never sees half of it. */
static int
write_atomic(const char *path, const char *text, size_t len)
{
	char tmp[4200];
	int fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path,
			     (int)getpid()) >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -1;
	write_all(fd, text, len);
	ok = close(fd) == 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * The status document: the summary object, then "list" with one entry per
 * target, dumped one at a time so that ten thousand targets never exist as
 * one JSON tree in memory.
 */
static void
write_status_file(struct vp *vp)
{
	char path[4096], *s;
	struct vmh_buf b;
	json_t *j;
	size_t i, n = 0;
	int ok;

	vmh_buf_init(&b, 256 * 1024 * 1024);
	j = status_json(vp);
	s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6))
		      : NULL;
	json_decref(j);
	ok = s != NULL && strlen(s) > 2 &&
	     vmh_buf_append(&b, s, strlen(s) - 1) == VMH_OK &&
	     vmh_buf_puts(&b, ",\"list\":[\n") == VMH_OK;
	free(s);
	for (i = 0; ok && i < vp->n_slots; i++) {
		if (vp->slots[i] == NULL)
			continue;
		j = target_json(vp, vp->slots[i]);
		s = j != NULL
			? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6))
			: NULL;
		json_decref(j);
		ok = s != NULL &&
		     vmh_buf_puts(&b, n++ ? ",\n" : "") == VMH_OK &&
		     vmh_buf_puts(&b, s) == VMH_OK;
		free(s);
	}
	ok = ok && vmh_buf_puts(&b, "\n]}\n") == VMH_OK;
	snprintf(path, sizeof(path), "%s/%s", vp->conf->state_dir,
		 VP_STATUS_FILE);
	if (!ok || write_atomic(path, b.data, b.len) < 0)
		log_warn("cannot write %s", path);
	vmh_buf_free(&b);
}

/* In a child: the status of ten thousand targets takes tens of
 * milliseconds to write, which the loop must not spend. */
static void
status_worker(struct vp *vp, const void *arg, int fd)
{
	(void)arg;
	(void)fd;
	write_status_file(vp);
}

static void
write_status(struct vp *vp)
{
	size_t up, down, unknown, held, bad;
	struct rusage ru;
	int idx;

	vp->status_seq++;
	/* The daemon's own figures, taken before the child exists. */
	memset(&ru, 0, sizeof(ru));
	getrusage(RUSAGE_SELF, &ru);
	vp->cpu_user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	vp->cpu_sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	vp->rss = rss_kb();
	if (vp->status_running)
		vp->status_again = 1;
	else if (spawn_worker(vp, CH_STATUS, status_worker, NULL,
			      now_us() + 60 * 1000000LL, 64, &idx) == 0)
		vp->status_running = 1;
	else
		write_status_file(vp);
	count_states(vp, &up, &down, &unknown, &held, &bad);
	vmh_log(VMH_LOG_INFO,
		"status: %zu targets: %zu up, %zu down, %zu unknown, %zu not "
		"probed, %zu bad; delay p50 %.1f ms p99 %.1f ms; heals %llu "
		"done, %d running",
		vp->n_targets, up, down, unknown, held, bad,
		(double)vmh_vp_hist_quantile(&vp->delay_win, 0.5) / 1000.0,
		(double)vmh_vp_hist_quantile(&vp->delay_win, 0.99) / 1000.0,
		vp->heals_ok, vp->n_heal);
	memset(&vp->delay_win, 0, sizeof(vp->delay_win));
}

static void
write_metrics(struct vp *vp)
{
	static const char *const kinds[] = { "icmp", "tcp", "http", "exec" };
	struct vmh_buf b;
	size_t up, down, unknown, held, bad, i;
	int k;

	if (vp->vc->metrics_file == NULL)
		return;
	count_states(vp, &up, &down, &unknown, &held, &bad);
	vmh_buf_init(&b, 64 * 1024 * 1024);
	vmh_buf_printf(&b,
		       "# HELP vmheal_probe_targets Probe targets by state.\n"
		       "# TYPE vmheal_probe_targets gauge\n"
		       "vmheal_probe_targets{state=\"up\"} %zu\n"
		       "vmheal_probe_targets{state=\"down\"} %zu\n"
		       "vmheal_probe_targets{state=\"unknown\"} %zu\n"
		       "vmheal_probe_targets{state=\"not_probed\"} %zu\n"
		       "vmheal_probe_targets{state=\"bad_probe\"} %zu\n",
		       up, down, unknown, held, bad);
	vmh_buf_puts(&b, "# HELP vmheal_probe_probes_total Probes run.\n"
			 "# TYPE vmheal_probe_probes_total counter\n");
	for (k = 0; k < 4; k++)
		vmh_buf_printf(&b,
			       "vmheal_probe_probes_total{type=\"%s\"} %llu\n",
			       kinds[k], vp->kind_probes[k]);
	vmh_buf_puts(&b, "# HELP vmheal_probe_failures_total Probes that "
			 "failed.\n"
			 "# TYPE vmheal_probe_failures_total counter\n");
	for (k = 0; k < 4; k++)
		vmh_buf_printf(
		    &b, "vmheal_probe_failures_total{type=\"%s\"} %llu\n",
		    kinds[k], vp->kind_fails[k]);
	vmh_buf_puts(&b, "# HELP vmheal_probe_errors_total Probes that could "
			 "not be judged (local errors).\n"
			 "# TYPE vmheal_probe_errors_total counter\n");
	for (k = 0; k < 4; k++)
		vmh_buf_printf(&b,
			       "vmheal_probe_errors_total{type=\"%s\"} %llu\n",
			       kinds[k], vp->kind_errors[k]);
	vmh_buf_printf(
	    &b,
	    "# HELP vmheal_probe_heals_total Heals by outcome.\n"
	    "# TYPE vmheal_probe_heals_total counter\n"
	    "vmheal_probe_heals_total{outcome=\"healed\"} %llu\n"
	    "vmheal_probe_heals_total{outcome=\"failed\"} %llu\n"
	    "vmheal_probe_heals_total{outcome=\"planned\"} %llu\n"
	    "vmheal_probe_heals_total{outcome=\"gave_up\"} %llu\n"
	    "# HELP vmheal_probe_heals_running Heals in progress.\n"
	    "# TYPE vmheal_probe_heals_running gauge\n"
	    "vmheal_probe_heals_running %d\n"
	    "# HELP vmheal_probe_schedule_delay_seconds Delay between a "
	    "probe's due time and its start.\n"
	    "# TYPE vmheal_probe_schedule_delay_seconds summary\n"
	    "vmheal_probe_schedule_delay_seconds{quantile=\"0.5\"} %.6f\n"
	    "vmheal_probe_schedule_delay_seconds{quantile=\"0.99\"} %.6f\n"
	    "vmheal_probe_schedule_delay_seconds_sum %.6f\n"
	    "vmheal_probe_schedule_delay_seconds_count %llu\n"
	    "# HELP vmheal_probe_storm 1 while heals are held back because "
	    "too many targets are down.\n"
	    "# TYPE vmheal_probe_storm gauge\n"
	    "vmheal_probe_storm %d\n"
	    "# HELP vmheal_probe_target_down Targets down (only those).\n"
	    "# TYPE vmheal_probe_target_down gauge\n",
	    vp->heals_ok, vp->heals_failed, vp->heals_planned, vp->gave_ups,
	    vp->n_heal, (double)vmh_vp_hist_quantile(&vp->delay_all, 0.5) / 1e6,
	    (double)vmh_vp_hist_quantile(&vp->delay_all, 0.99) / 1e6,
	    (double)(vp->delay_all.sum / 1e6), vp->delay_all.count, vp->storm);
	for (i = 0; i < vp->n_slots; i++) {
		const struct target *t = vp->slots[i];

		/* Names are [A-Za-z0-9_.:-/] plus a VM's name: escape. */
		if (t != NULL && t->fsm.state == VMH_VP_DOWN && probeable(t)) {
			char nm[200];
			size_t n = 0, p;

			for (p = 0; t->name[p] != '\0' && n + 2 < sizeof(nm);
			     p++) {
				if (t->name[p] == '"' || t->name[p] == '\\')
					nm[n++] = '\\';
				nm[n++] = t->name[p] == '\n' ? ' ' : t->name[p];
			}
			nm[n] = '\0';
			vmh_buf_printf(&b,
				       "vmheal_probe_target_down{target=\"%s\","
				       "vm=\"%s\"} 1\n",
				       nm, t->vm_id ? t->vm_id : "");
		}
	}
	if (write_atomic(vp->vc->metrics_file, vmh_buf_str(&b), b.len) < 0)
		log_warn("cannot write %s", vp->vc->metrics_file);
	vmh_buf_free(&b);
}

/* ---- Reload */

static enum vmh_rc
check_programs(const struct vmh_vmprobe_conf *c, struct vmh_error *err)
{
	enum vmh_rc rc;
	size_t i;

	for (i = 0; i < c->n_exec; i++)
		if ((rc = vmh_exec_check_secure(c->exec[i].argv[0], err)) !=
		    VMH_OK)
			return rc;
	if (c->notify_command != NULL)
		return vmh_exec_check_secure(c->notify_command[0], err);
	return VMH_OK;
}

static void
reload(struct vp *vp)
{
	struct vmh_conf *fresh = NULL;
	struct vmh_vmprobe_conf *defaults = NULL;
	const struct vmh_vmprobe_conf *nc;
	struct vmh_error e;
	char line[VMH_ERROR_SOURCE_MAX + VMH_ERROR_TEXT_MAX + 16];
	long long now = now_us();

	vmh_error_init(&e);
	if (vmh_conf_load(vp->opts->config_path, &fresh, &e) != VMH_OK)
		goto refused;
	if (fresh->vmprobe == NULL &&
	    vmh_vmprobe_conf_default(&defaults, &e) != VMH_OK)
		goto refused;
	nc = fresh->vmprobe != NULL ? fresh->vmprobe : defaults;
	if (check_programs(nc, &e) != VMH_OK)
		goto refused;
	if (strcmp(fresh->state_dir, vp->conf->state_dir) != 0 ||
	    nc->icmp_mode != vp->vc->icmp_mode ||
	    nc->https_verify != vp->vc->https_verify ||
	    nc->http_connections != vp->vc->http_connections ||
	    nc->http_max_body != vp->vc->http_max_body)
		vmh_log(VMH_LOG_WARNING,
			"state_dir, icmp_socket and the https_verify, "
			"ca_file and http_* settings take effect on restart");
	vmh_conf_free(vp->conf);
	vmh_vmprobe_conf_free(vp->defaults);
	vp->conf = fresh;
	vp->defaults = defaults;
	vp->vc = nc;
	(void)apply_conf_targets(vp, now);
	reapply_cloud_targets(vp, now);
	vp->next_refresh = now; /* and pick up attribute changes now */
	vp->next_metrics = now;
	vmh_log(VMH_LOG_NOTICE, "configuration reloaded: %zu targets kept",
		vp->n_targets);
	return;
refused:
	vmh_log(VMH_LOG_ERR, "reload refused, the old configuration stays: %s",
		vmh_error_format(&e, line, sizeof(line)));
	vmh_vmprobe_conf_free(defaults);
	vmh_conf_free(fresh);
}

/* ---- The loop */

static void
curl_watch(void *ctx, int fd, int what)
{
	struct shard *sh = ctx;
	struct vp *vp = sh->vp;
	struct epoll_event ev;

	if (what == 0) {
		(void)epoll_ctl(vp->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & VMH_HTTP_WATCH_IN ? EPOLLIN : 0) |
		    (what & VMH_HTTP_WATCH_OUT ? EPOLLOUT : 0);
	ev.data.u64 = ev_data(EV_CURL, (uint32_t)fd, (uint32_t)sh->index);
	if (epoll_ctl(vp->ep, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT &&
	    epoll_ctl(vp->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_warn("epoll_ctl (http)");
}

static void
curl_timer(void *ctx, long ms)
{
	struct shard *sh = ctx;

	if (ms < 0)
		vmh_vp_heap_remove(&sh->vp->shard_timers, &sh->timer);
	else
		(void)vmh_vp_heap_set(&sh->vp->shard_timers, &sh->timer,
				      now_us() + ms * 1000LL);
}

static void
signal_event(struct vp *vp)
{
	struct signalfd_siginfo si;

	while (read(vp->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(vp);
			break;
		case SIGHUP:
			reload(vp);
			break;
		case SIGUSR1:
			write_status(vp);
			break;
		case SIGTERM:
		case SIGINT:
			vp->stop = 1;
			break;
		default:
			break;
		}
	}
}

static void
dispatch(struct vp *vp, const struct epoll_event *ev)
{
	uint64_t d = ev->data.u64;
	enum ev_kind k = (enum ev_kind)(d >> 56);
	uint32_t a = (uint32_t)d, b = (uint32_t)(d >> 32) & 0xffffffu;
	int what = 0;

	switch (k) {
	case EV_SIGNAL:
		signal_event(vp);
		break;
	case EV_PING4:
	case EV_PING6:
		(void)vmh_pinger_read(k == EV_PING4 ? vp->ping4 : vp->ping6,
				      256, ping_reply, vp);
		break;
	case EV_CURL:
		if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			what |= VMH_HTTP_WATCH_IN;
		if (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			what |= VMH_HTTP_WATCH_OUT;
		if (b < (uint32_t)vp->n_shards && vp->shards[b].http != NULL)
			vmh_http_async_socket(vp->shards[b].http, (int)a, what);
		break;
	case EV_TCP:
		tcp_event(vp, a);
		break;
	case EV_CHILD:
		if (a < VP_CHILD_MAX && vp->children[a].kind != CH_FREE &&
		    vp->children[a].gen == b)
			child_drain(vp, &vp->children[a]);
		break;
	}
}

/* After a burst (thousands of HTTP transfers stuck in flight, a large
 * status), give freed memory back to the system once a minute. */
static void
housekeeping(struct vp *vp, long long now)
{
	if (now - vp->trimmed_at < 60 * 1000000LL)
		return;
	vp->trimmed_at = now;
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static int
ms_until(long long when, long long now)
{
	long long d = when - now;

	if (d <= 0)
		return 0;
	d = (d + 999) / 1000;
	return d > 1000 ? 1000 : (int)d;
}

static void
loop(struct vp *vp)
{
	struct epoll_event evs[VP_EVENTS];
	long long now, next;
	struct vmh_vp_timer *tm;
	int n, i;

	while (!vp->stop) {
		now = now_us();
		while ((tm = vmh_vp_heap_peek(&vp->shard_timers)) != NULL &&
		       tm->when <= now) {
			/* Off the heap first: curl sets its next timer from
			 * inside the call. */
			vmh_vp_heap_remove(&vp->shard_timers, tm);
			vmh_http_async_timeout(((struct shard *)tm)->http);
		}
		run_due(vp, now);
		children_deadlines(vp, now);
		if (!vp->opts->once && now >= vp->next_refresh) {
			vp->next_refresh = now + vp->vc->refresh_s * 1000000LL;
			refresh_start(vp, now);
		}
		if (!vp->opts->once && now >= vp->next_metrics) {
			vp->next_metrics =
			    now + vp->vc->metrics_interval_s * 1000000LL;
			write_metrics(vp);
			housekeeping(vp, now);
		}
		if (vp->opts->once && vp->once_refreshed &&
		    vp->once_pending <= 0)
			break;
		next = now + 1000000;
		if ((tm = vmh_vp_heap_peek(&vp->heap)) != NULL &&
		    tm->when < next)
			next = tm->when;
		if ((tm = vmh_vp_heap_peek(&vp->shard_timers)) != NULL &&
		    tm->when < next)
			next = tm->when;
		if (vp->child_deadline > 0 && vp->child_deadline < next)
			next = vp->child_deadline;
		n = epoll_wait(vp->ep, evs, VP_EVENTS, ms_until(next, now));
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			break;
		}
		for (i = 0; i < n; i++)
			dispatch(vp, &evs[i]);
	}
}

/* Room for a descriptor per target and per HTTP connection. */
static void
raise_nofile(const struct vp *vp)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)vp->vc->n_targets + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		vmh_log(VMH_LOG_WARNING,
			"open files limit %llu is low for %zu targets (raise "
			"LimitNOFILE)",
			(unsigned long long)rl.rlim_cur, vp->vc->n_targets);
}

static enum vmh_rc
setup(struct vp *vp, struct vmh_error *err)
{
	struct vmh_http_opts ho;
	struct epoll_event ev;
	sigset_t sigs;
	enum vmh_rc rc;
	int i;

	if ((rc = check_programs(vp->vc, err)) != VMH_OK)
		return rc;
	if (!vp->opts->once) {
		if ((rc = vmh_state_dir_ensure(vp->conf->state_dir, err)) !=
			VMH_OK ||
		    (rc = vmh_lock_acquire(vp->conf->state_dir, VP_LOCK_NAME, 1,
					   0, &vp->lock, err)) != VMH_OK)
			return rc;
	}
	raise_nofile(vp);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if ((vp->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (vp->sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return vmh_error_errno(err, errno, NULL, "epoll/signalfd");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = ev_data(EV_SIGNAL, 0, 0);
	if (epoll_ctl(vp->ep, EPOLL_CTL_ADD, vp->sfd, &ev) < 0)
		return vmh_error_errno(err, errno, NULL, "epoll_ctl");
	memset(&ho, 0, sizeof(ho));
	ho.timeout_ms = 10000;
	ho.connect_timeout_ms = 10000;
	ho.max_response = vp->vc->http_max_body;
	ho.max_concurrency = vp->vc->http_connections;
	ho.ca_file = vp->vc->ca_file;
	ho.insecure = !vp->vc->https_verify;
	ho.numeric_hosts = 1; /* target addresses are numeric, always */
	vp->n_shards = (vp->vc->http_connections + VP_HTTP_SHARD_CONNS - 1) /
		       VP_HTTP_SHARD_CONNS;
	if (vp->n_shards > VP_HTTP_SHARDS_MAX)
		vp->n_shards = VP_HTTP_SHARDS_MAX;
	/* Room for a few more than the shard's share of connections:
	 * targets spread by slot, not perfectly evenly. */
	ho.max_concurrency =
	    (vp->vc->http_connections + vp->n_shards - 1) / vp->n_shards + 8;
	vp->http_opts = ho;
	if ((vp->shards = calloc((size_t)vp->n_shards, sizeof(*vp->shards))) ==
	    NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	for (i = 0; i < vp->n_shards; i++) {
		vp->shards[i].timer.idx = VMH_VP_NOT_QUEUED;
		vp->shards[i].vp = vp;
		vp->shards[i].index = i;
	}
	return VMH_OK;
}

static void
teardown(struct vp *vp)
{
	long long until;
	size_t i;
	int j, busy;

	for (i = 0; i < vp->n_slots; i++)
		if (vp->slots[i] != NULL)
			target_free(vp, vp->slots[i]);
	/* Children: exec checks and listings are useless now; a heal is
	 * journaled step by step, so stopping it is safe too. */
	for (j = 0; j < VP_CHILD_MAX; j++)
		if (vp->children[j].kind != CH_FREE) {
			if (vp->children[j].kind == CH_EXEC ||
			    vp->children[j].kind == CH_NOTIFY)
				kill(-vp->children[j].pid, SIGTERM);
			else
				kill(vp->children[j].pid, SIGTERM);
		}
	until = now_us() + 2000000;
	do {
		int status;
		pid_t pid;

		busy = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (j = 0; j < VP_CHILD_MAX; j++)
				if (vp->children[j].kind != CH_FREE &&
				    vp->children[j].pid == pid) {
					child_close_fd(vp, &vp->children[j]);
					vmh_buf_free(&vp->children[j].out);
					free(vp->children[j].key);
					vp->children[j].key = NULL;
					vp->children[j].kind = CH_FREE;
				}
		for (j = 0; j < VP_CHILD_MAX; j++)
			busy += vp->children[j].kind != CH_FREE;
		if (busy)
			vmh_sleep_ms(20);
	} while (busy && now_us() < until);
	for (j = 0; j < VP_CHILD_MAX; j++)
		if (vp->children[j].kind != CH_FREE) {
			kill(vp->children[j].pid, SIGKILL);
			child_close_fd(vp, &vp->children[j]);
			vmh_buf_free(&vp->children[j].out);
			free(vp->children[j].key);
			vp->children[j].kind = CH_FREE;
		}
	while (vp->nq_len > 0) {
		notice_free(&vp->notices[vp->nq_head]);
		vp->nq_head = (vp->nq_head + 1) % VP_NOTIFY_QUEUE;
		vp->nq_len--;
	}
	for (j = 0; vp->shards != NULL && j < vp->n_shards; j++)
		vmh_http_free(vp->shards[j].http);
	free(vp->shards);
	vmh_vp_heap_free(&vp->shard_timers);
	vmh_pinger_close(vp->ping4);
	vmh_pinger_close(vp->ping6);
	if (vp->sfd >= 0)
		close(vp->sfd);
	if (vp->ep >= 0)
		close(vp->ep);
	vmh_vp_heap_free(&vp->heap);
	free(vp->slots);
	free(vp->free_slots);
	free(vp->htab);
	vmh_lock_release(&vp->lock);
	vmh_vmprobe_conf_free(vp->defaults);
	json_decref(vp->once_report);
}

static void
once_print(struct vp *vp)
{
	json_t *e;
	size_t i;

	if (vp->opts->json) {
		json_t *doc =
		    json_pack("{s:O, s:i, s:i}", "targets", vp->once_report,
			      "failed", vp->once_failed, "total",
			      (int)json_array_size(vp->once_report));
		char *s = doc != NULL
			      ? json_dumps(doc, JSON_INDENT(2) |
						    JSON_REAL_PRECISION(6))
			      : NULL;

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(doc);
		return;
	}
	json_array_foreach(vp->once_report, i, e)
	{
		const char *r = json_string_value(json_object_get(e, "result"));
		double rtt = json_real_value(json_object_get(e, "rtt_ms"));

		printf("%-24s %-18s %-6s",
		       json_string_value(json_object_get(e, "target")),
		       json_string_value(json_object_get(e, "address")), r);
		if (rtt >= 0)
			printf(" %.2f ms", rtt);
		else
			printf(" %s", json_string_value(
					  json_object_get(e, "message")));
		printf("  (%s)\n",
		       json_string_value(json_object_get(e, "probe")));
	}
}

enum vmh_rc
vmh_vmprobe_run(struct vmh_conf **conf, const struct vmh_vmprobe_opts *opts,
		struct vmh_error *err)
{
	struct vp *vp;
	long long now;
	enum vmh_rc rc;
	size_t i;

	if ((vp = calloc(1, sizeof(*vp))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	vp->conf = *conf;
	vp->opts = opts;
	vp->ep = vp->sfd = -1;
	vp->lock.fd = -1;
	vp->started_wall = vmh_wall_s();
	vp->pid = (int)getpid();
	vp->started_us = now_us();
	vp->rng = (unsigned long long)vp->started_us ^
		  ((unsigned long long)getpid() << 32);
	for (i = 0; i < VP_CHILD_MAX; i++)
		vp->children[i].fd = -1;
	if (vp->conf->vmprobe == NULL &&
	    (rc = vmh_vmprobe_conf_default(&vp->defaults, err)) != VMH_OK)
		goto done;
	vp->vc = vp->conf->vmprobe != NULL ? vp->conf->vmprobe : vp->defaults;
	if (opts->once && (vp->once_report = json_array()) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	if ((rc = setup(vp, err)) != VMH_OK)
		goto done;
	if (apply_conf_targets(vp, now_us()) < 0) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	/* The schedule starts after the set-up, however long that took. */
	now = now_us();
	vp->next_metrics = now;
	if (needs_cloud(vp->vc)) {
		refresh_start(vp, now);
		if (!vp->refreshing) {
			rc = vmh_error_set(err, VMH_E_SYSTEM, NULL, 0,
					   "cannot start the cloud listing");
			goto done;
		}
	} else {
		vp->once_refreshed = 1;
	}
	vp->next_refresh = now + vp->vc->refresh_s * 1000000LL;
	vp->once_pending = (int)vp->heap.n;
	if (!opts->once)
		vmh_log(VMH_LOG_NOTICE,
			"started: %zu configured targets%s%s, pid %d",
			vp->vc->n_targets,
			needs_cloud(vp->vc) ? ", VMs from the cloud" : "",
			opts->dry_run ? ", dry run (no heals)" : "",
			(int)getpid());
	loop(vp);
	if (opts->once) {
		if (needs_cloud(vp->vc) && !vp->refresh_ok) {
			rc = vmh_error_set(err, VMH_E_UNAVAILABLE, NULL, 0,
					   "cannot list the cloud's VMs: %s",
					   vp->refresh_err);
			goto done;
		}
		once_print(vp);
		if (vp->once_failed > 0)
			rc = vmh_error_set(
			    err, VMH_E_API, NULL, 0, "%d of %zu targets failed",
			    vp->once_failed, json_array_size(vp->once_report));
	} else {
		write_metrics(vp);
		vmh_log(VMH_LOG_NOTICE, "stopping");
	}
done:
	*conf = vp->conf;
	teardown(vp);
	free(vp);
	return rc;
}

/* ---- vm_probe --status */

/* The pid of the daemon holding the lock, or 0 when none does. */
static long
daemon_pid(const char *state_dir)
{
	char path[4096], text[32];
	struct flock fl;
	long long pid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.lock", state_dir, VP_LOCK_NAME);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	/* Ask who holds it without taking it: a daemon starting right now
	 * must not find its lock taken by a status query. */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	vmh_rstrip(text);
	if (vmh_strtonum(text, 1, 0x7fffffff, &pid, "pid", NULL) != VMH_OK)
		return 0;
	return (long)pid;
}

static json_t *
read_status(const char *path)
{
	json_error_t je;

	return json_load_file(path, 0, &je);
}

static void
status_print(json_t *s, int verbose, FILE *f)
{
	json_t *tg = json_object_get(s, "targets");
	json_t *d = json_object_get(json_object_get(s, "schedule_delay"),
				    "since_start");
	json_t *h = json_object_get(s, "heals");
	json_t *r = json_object_get(s, "refresh");
	json_t *e;
	size_t i;

	fprintf(f,
		"vm_probe pid %lld, up %lld s%s%s\n"
		"targets: %lld (%lld up, %lld down, %lld unknown, %lld not "
		"probed, %lld bad probe)\n"
		"probes: %lld, %lld failed; schedule delay p50 %.2f ms, p99 "
		"%.2f ms, max %.2f ms\n"
		"heals: %lld done, %lld running, %lld failed, %lld gave up\n",
		json_integer_value(json_object_get(s, "pid")),
		json_integer_value(json_object_get(s, "uptime_s")),
		json_is_true(json_object_get(s, "dry_run")) ? ", dry run" : "",
		json_is_true(json_object_get(s, "storm"))
		    ? ", STORM: heals held back"
		    : "",
		json_integer_value(json_object_get(tg, "total")),
		json_integer_value(json_object_get(tg, "up")),
		json_integer_value(json_object_get(tg, "down")),
		json_integer_value(json_object_get(tg, "unknown")),
		json_integer_value(json_object_get(tg, "not_probed")),
		json_integer_value(json_object_get(tg, "bad_probe")),
		json_integer_value(
		    json_object_get(json_object_get(s, "probes"), "total")),
		json_integer_value(
		    json_object_get(json_object_get(s, "probes"), "failed")),
		json_real_value(json_object_get(d, "p50_ms")),
		json_real_value(json_object_get(d, "p99_ms")),
		json_real_value(json_object_get(d, "max_ms")),
		json_integer_value(json_object_get(h, "done")),
		json_integer_value(json_object_get(h, "running")),
		json_integer_value(json_object_get(h, "failed")),
		json_integer_value(json_object_get(h, "gave_up")));
	if (json_is_true(json_object_get(r, "enabled")))
		fprintf(f, "cloud: %lld VMs with a probe, last listing %s%s\n",
			json_integer_value(json_object_get(r, "vms")),
			json_is_true(json_object_get(r, "ok")) ? "ok"
							       : "FAILED: ",
			json_is_true(json_object_get(r, "ok"))
			    ? ""
			    : json_string_value(json_object_get(r, "error")));
	json_array_foreach(json_object_get(s, "list"), i, e)
	{
		const char *st = json_string_value(json_object_get(e, "state"));
		json_t *last = json_object_get(e, "last");
		json_t *heal = json_object_get(e, "heal");
		const char *note =
		    json_string_value(json_object_get(e, "note"));

		if (!verbose && st != NULL && strcmp(st, "up") == 0)
			continue;
		fprintf(f, "  %-24s %-10s %-18s %s",
			json_string_value(json_object_get(e, "name")), st,
			json_string_value(json_object_get(e, "address")),
			json_string_value(json_object_get(e, "probe")));
		if (last != NULL &&
		    strcmp(json_string_value(json_object_get(last, "result")),
			   "ok") != 0)
			fprintf(f, " -- %s",
				json_string_value(
				    json_object_get(last, "message")));
		if (note != NULL)
			fprintf(f, " -- %s", note);
		if (heal != NULL &&
		    (json_integer_value(json_object_get(heal, "heals")) > 0 ||
		     json_is_true(json_object_get(heal, "gave_up")) ||
		     json_is_true(json_object_get(heal, "running"))))
			fprintf(
			    f, " [heals %lld%s%s]",
			    json_integer_value(json_object_get(heal, "heals")),
			    json_is_true(json_object_get(heal, "running"))
				? ", healing now"
				: "",
			    json_is_true(json_object_get(heal, "gave_up"))
				? ", GAVE UP"
				: "");
		fputc('\n', f);
	}
}

enum vmh_rc
vmh_vmprobe_status(const struct vmh_conf *conf, int json, int verbose, FILE *f,
		   struct vmh_error *err)
{
	char path[4096];
	json_t *before, *s = NULL;
	long long seq0 = -1, waited = 0;
	long pid;

	pid = daemon_pid(conf->state_dir);
	if (pid <= 0)
		return vmh_error_set(err, VMH_E_UNAVAILABLE, conf->state_dir, 0,
				     "vm_probe is not running (no lock held in "
				     "the state directory)");
	snprintf(path, sizeof(path), "%s/%s", conf->state_dir, VP_STATUS_FILE);
	if ((before = read_status(path)) != NULL)
		seq0 = json_integer_value(json_object_get(before, "seq"));
	json_decref(before);
	if (kill((pid_t)pid, SIGUSR1) < 0)
		return vmh_error_errno(err, errno, NULL,
				       "cannot signal vm_probe (pid %ld)", pid);
	while (waited < VP_STATUS_WAIT_MS) {
		vmh_sleep_ms(50);
		waited += 50;
		if ((s = read_status(path)) == NULL)
			continue;
		if (json_integer_value(json_object_get(s, "pid")) == pid &&
		    json_integer_value(json_object_get(s, "seq")) != seq0)
			break;
		json_decref(s);
		s = NULL;
	}
	if (s == NULL)
		return vmh_error_set(err, VMH_E_TIMEOUT, path, 0,
				     "vm_probe (pid %ld) wrote no status "
				     "within %d ms",
				     pid, VP_STATUS_WAIT_MS);
	if (json) {
		char *text =
		    json_dumps(s, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

		if (text != NULL)
			fprintf(f, "%s\n", text);
		free(text);
	} else {
		status_print(s, verbose, f);
	}
	json_decref(s);
	return VMH_OK;
}
