/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host-failure flow (see hosterr.h). Journal records of an incident,
 * one JSON object per line in STATE_DIR/incidents/host-ID.journal:
 *   begin     {host_id, host, mode, pid}
 *   fenced    {how, ms}            fence proven: never fence again
 *   unfenced  {why}                -u: the operator opted out
 *   fence_failed {detail}          closes the incident
 *   plan      {vms: [{id, name, action, prio, skip, note,
 *                     state, lcm, seq, resched}]}
 *   intent    {round, vms: [ids]}  durable before the requests go out
 *   result    {vm, ok, transient, detail}
 *   verified  {vm, outcome, host, detail}
 *   end       {outcome}            closes the incident
 * An incident whose journal has no `end` is resumed by the next run.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libconfig.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exec.h"
#include "fence.h"
#include "hosterr.h"
#include "journal.h"
#include "lock.h"
#include "log.h"
#include "str.h"

#define HOSTERR_HOOK_ARG_MAX (16 * 1024 * 1024)
/* How long to wait for vm_failure_recreate runs on the host to finish. */
#define HOSTERR_VMS_LOCK_WAIT_MS (120 * 1000)

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

enum vmh_rc
vmh_hosterr_conf_default(struct vmh_hosterr_conf **out, struct vmh_error *err)
{
	struct vmh_hosterr_conf *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	c->default_action = VMH_HA_UNSET;
	c->migrate_fallback = VMH_HA_RECREATE;
	c->protect_by_default = 1;
	c->concurrency = 32;
	c->retries = 3;
	c->retry_backoff_ms = 500;
	c->verify_timeout_s = 300;
	c->verify_interval_ms = 1000;
	c->accept_pending = 1;
	c->storm_max_percent = 50;
	c->storm_max_hosts = 0;
	c->disable_host = 0;
	c->require_down = -1; /* by cloud: see host_error_requires_down() */
	c->notify_timeout_s = 30;
	c->second_opinion_timeout_ms = 2000;
	c->second_opinion_bmc = 1;
	*out = c;
	return VMH_OK;
}

void
vmh_hosterr_conf_free(struct vmh_hosterr_conf *c)
{
	if (c == NULL)
		return;
	vmh_strv_free(c->notify_command);
	vmh_strv_free(c->second_opinion_attrs);
	free(c->metrics_file);
	free(c);
}

static enum vmh_rc
get_action(const vmh_setting *g, const char *key, int allow_unset,
	   enum vmh_ha_action *out, struct vmh_error *err)
{
	static const char *const names[] = { "none",   "recreate", "migrate",
					     "delete", "unset",    NULL };
	int idx = -1;
	enum vmh_rc rc;

	if ((rc = vmh_conf_get_enum(g, key, names, &idx, err)) != VMH_OK)
		return rc;
	if (idx < 0)
		return VMH_OK;
	if (idx == 4) {
		if (!allow_unset)
			return vmh_conf_error(config_setting_get_member(g, key),
					      err, "%s: \"unset\" not allowed",
					      key);
		*out = VMH_HA_UNSET;
	} else {
		*out = (enum vmh_ha_action)idx;
	}
	return VMH_OK;
}

enum vmh_rc
vmh_hosterr_conf_parse(const vmh_setting *g, struct vmh_hosterr_conf **out,
		       struct vmh_error *err)
{
	static const char *const keys[] = { "default_action",
					    "migrate_fallback",
					    "protect_by_default",
					    "unlock_locked",
					    "concurrency",
					    "retries",
					    "retry_backoff_ms",
					    "verify_timeout",
					    "verify_interval_ms",
					    "accept_pending",
					    "storm_max_percent",
					    "storm_max_hosts",
					    "disable_host",
					    "require_down",
					    "notify_command",
					    "notify_timeout",
					    "metrics_file",
					    "second_opinion",
					    NULL };
	static const char *const so_keys[] = { "attributes", "port",
					       "timeout_ms", "on_alive",
					       "bmc",        NULL };
	static const char *const disable[] = { "no", "disable", "offline",
					       NULL };
	static const char *const on_alive[] = { "refuse", "proceed", NULL };
	struct vmh_hosterr_conf *c = NULL;
	const vmh_setting *so;
	enum vmh_rc rc;

	*out = NULL;
	if ((rc = vmh_hosterr_conf_default(&c, err)) != VMH_OK)
		return rc;
	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = get_action(g, "default_action", 1, &c->default_action,
			     err)) != VMH_OK ||
	    (rc = get_action(g, "migrate_fallback", 0, &c->migrate_fallback,
			     err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "protect_by_default",
				    &c->protect_by_default, err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "unlock_locked", &c->unlock_locked,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "concurrency", 1, 256, &c->concurrency,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "retries", 0, 100, &c->retries, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_int(g, "retry_backoff_ms", 0, 600000,
				   &c->retry_backoff_ms, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "verify_timeout", 1, 86400,
				   &c->verify_timeout_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "verify_interval_ms", 10, 600000,
				   &c->verify_interval_ms, err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "accept_pending", &c->accept_pending,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "storm_max_percent", 1, 100,
				   &c->storm_max_percent, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "storm_max_hosts", 0, 100000,
				   &c->storm_max_hosts, err)) != VMH_OK ||
	    (rc = vmh_conf_get_enum(g, "disable_host", disable,
				    &c->disable_host, err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "require_down", &c->require_down,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_strv(g, "notify_command", &c->notify_command,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "notify_timeout", 1, 3600,
				   &c->notify_timeout_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "metrics_file", &c->metrics_file,
				      err)) != VMH_OK)
		goto done;
	if (c->notify_command != NULL && c->notify_command[0] == NULL) {
		rc = vmh_conf_error(
		    config_setting_get_member(g, "notify_command"), err,
		    "host_error.notify_command: empty");
		goto done;
	}
	if ((so = config_setting_get_member(g, "second_opinion")) != NULL) {
		if ((rc = vmh_conf_check_keys(so, so_keys, err)) != VMH_OK ||
		    (rc = vmh_conf_get_strv(so, "attributes",
					    &c->second_opinion_attrs, err)) !=
			VMH_OK ||
		    (rc = vmh_conf_get_int(so, "port", 0, 65535,
					   &c->second_opinion_port, err)) !=
			VMH_OK ||
		    (rc = vmh_conf_get_int(so, "timeout_ms", 10, 60000,
					   &c->second_opinion_timeout_ms,
					   err)) != VMH_OK ||
		    (rc = vmh_conf_get_enum(so, "on_alive", on_alive,
					    &c->second_opinion_on_alive,
					    err)) != VMH_OK ||
		    (rc = vmh_conf_get_bool(so, "bmc", &c->second_opinion_bmc,
					    err)) != VMH_OK)
			goto done;
	}
	*out = c;
	c = NULL;
done:
	vmh_hosterr_conf_free(c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The hook's argument                                                 */

/* Text of the first child element `name` of node, or NULL. Caller frees. */
static char *
child_text(xmlNode *node, const char *name)
{
	xmlNode *n;

	for (n = node->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0) {
			xmlChar *t = xmlNodeGetContent(n);
			char *copy = t ? strdup((const char *)t) : NULL;

			xmlFree(t);
			return copy;
		}
	return NULL;
}

/* libxml2 must not print on stderr: hooks' output is the operator's log. */
static void
xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

enum vmh_rc
vmh_hosterr_parse_hook_arg(const char *arg, char **id, char **name, char **xml,
			   struct vmh_error *err)
{
	char *decoded = NULL;
	size_t len = 0;
	xmlDoc *doc = NULL;
	xmlNode *root;
	enum vmh_rc rc = VMH_OK;
	long long n;

	*id = *name = *xml = NULL;
	if (vmh_str_isdigits(arg)) {
		if (vmh_strtonum(arg, 0, 0x7fffffff, &n, "host ID", err) !=
		    VMH_OK)
			return VMH_E_DATA;
		if ((*id = strdup(arg)) == NULL)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
		return VMH_OK;
	}
	if (strlen(arg) > HOSTERR_HOOK_ARG_MAX)
		return vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				     "larger than %d bytes",
				     HOSTERR_HOOK_ARG_MAX);
	if ((rc = vmh_base64_decode(arg, strlen(arg), &decoded, &len, err)) !=
	    VMH_OK) {
		vmh_error_reset(err);
		rc = vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				   "neither a host ID nor base64 of a <HOST> "
				   "document ('%.20s%s')",
				   arg, strlen(arg) > 20 ? "..." : "");
		goto done;
	}
	xmlSetGenericErrorFunc(NULL, xml_silent);
	doc = xmlReadMemory(decoded, (int)len, "host.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (doc == NULL) {
		const xmlError *xe = xmlGetLastError();

		rc = vmh_error_set(err, VMH_E_DATA, "hook argument",
				   xe ? xe->line : 0,
				   "base64 decodes to malformed XML: %s",
				   xe && xe->message ? xe->message : "?");
		goto done;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "HOST") != 0) {
		rc = vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				   "the document is <%s>, not <HOST>",
				   root ? (const char *)root->name : "");
		goto done;
	}
	*id = child_text(root, "ID");
	*name = child_text(root, "NAME");
	if (*id == NULL ||
	    vmh_strtonum(*id, 0, 0x7fffffff, &n, "HOST/ID", NULL) != VMH_OK) {
		rc = vmh_error_set(err, VMH_E_DATA, "hook argument", 0,
				   "<HOST> without a valid <ID>");
		goto done;
	}
	*xml = decoded;
	decoded = NULL;
done:
	if (rc != VMH_OK) {
		free(*id);
		free(*name);
		*id = *name = NULL;
	}
	xmlFreeDoc(doc);
	free(decoded);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The incident                                                        */

/* One VM of the incident, as planned and as it progressed. */
struct item {
	char *id;
	char *name;
	struct vmh_vm_plan plan;
	/* The VM as it was when planned: a later run compares the VM with
	 * this to learn whether a request whose answer was lost took
	 * effect. */
	int state, lcm, resched, vstate;
	long long seq;
	int intent;  /* an intent covering it is durable */
	int sent;    /* the cloud accepted the action (or it took effect) */
	int failed;  /* refused for good in this run */
	int unknown; /* transient failure: outcome unknown until re-read */
	int done;    /* verification finished */
	enum vmh_vm_outcome outcome;
	char *detail;
	char *new_host;
	int calls;
	long long t_sent;
	long ms;
};

struct incident {
	const struct vmh_conf *conf;
	const struct vmh_hosterr_conf *hc;
	struct vmh_cloud *cloud;
	const struct vmh_hosterr_opts *opts;
	struct vmh_hosterr_report *report;
	struct vmh_host *host;
	char journal_dir[512];
	char journal_name[64];
	struct vmh_journal j;
	struct vmh_lock lock;     /* the incident: one host_error per host */
	struct vmh_lock vms_lock; /* the host's VMs: vm_failure_recreate */
	struct item *items;
	size_t n;
	enum vmh_ha_action mode;
	int resumed, begun, fenced, unfenced, planned;
	long long t0;
};

static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? strdup(src) : NULL;
}

static void
set_stage(struct incident *in, const char *stage)
{
	set_str(&in->report->stage, stage);
	log_debug("stage: %s", stage);
}

/* Append a journal record built with json_pack-style arguments. */
static enum vmh_rc
jrec(struct incident *in, int sync, json_t *rec, struct vmh_error *err)
{
	enum vmh_rc rc;

	if (rec == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	rc = vmh_journal_append(&in->j, rec, sync, err);
	json_decref(rec);
	return rc;
}

static struct item *
find_item(struct incident *in, const char *id)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		if (strcmp(in->items[i].id, id) == 0)
			return &in->items[i];
	return NULL;
}

static void
items_free(struct incident *in)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		free(in->items[i].id);
		free(in->items[i].name);
		free(in->items[i].detail);
		free(in->items[i].new_host);
	}
	free(in->items);
	in->items = NULL;
	in->n = 0;
}

/* Rebuild the items from a journal's plan record. */
static enum vmh_rc
load_plan(struct incident *in, const json_t *plan, struct vmh_error *err)
{
	json_t *vms = json_object_get(plan, "vms"), *v;
	size_t i;

	items_free(in);
	if (!json_is_array(vms))
		return vmh_error_set(err, VMH_E_DATA, in->j.path, 0,
				     "plan record without vms");
	in->items = calloc(json_array_size(vms) + 1, sizeof(*in->items));
	if (in->items == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	json_array_foreach(vms, i, v)
	{
		struct item *it = &in->items[in->n++];

		it->id = strdup(vmh_journal_str(v, "id"));
		it->name = strdup(vmh_journal_str(v, "name"));
		it->plan.action =
		    (enum vmh_ha_action)vmh_journal_int(v, "action", 0);
		it->plan.priority = (int)vmh_journal_int(v, "prio", 0);
		it->plan.skip = (enum vmh_skip)vmh_journal_int(v, "skip", 0);
		vmh_strlcpy(it->plan.note, vmh_journal_str(v, "note"),
			    sizeof(it->plan.note));
		it->state = (int)vmh_journal_int(v, "state", -1);
		it->lcm = (int)vmh_journal_int(v, "lcm", -1);
		it->seq = vmh_journal_int(v, "seq", -1);
		it->resched = (int)vmh_journal_int(v, "resched", 0);
		it->vstate = (int)vmh_journal_int(v, "vstate", -1);
		if (it->id == NULL || it->name == NULL)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
	}
	in->planned = 1;
	return VMH_OK;
}

/* A finished incident's journal is kept as host-ID.<UTC time>.journal. */
static void
archive_suffix(char *dst, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(dst, len, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000);
}

/*
 * Read the journal of an unfinished incident and take up where it stopped.
 * A finished one (with `end`) is archived and a new incident starts.
 */
static enum vmh_rc
resume_journal(struct incident *in, struct vmh_error *err)
{
	json_t *recs = NULL, *r;
	char suffix[64];
	enum vmh_rc rc;
	size_t i;
	int torn = 0, ended = 0;

	if ((rc = vmh_journal_read(in->j.path, &recs, &torn, err)) != VMH_OK)
		return rc;
	if (torn)
		log_warnx("journal %s: the last record was torn by a crash "
			  "and is ignored",
			  in->j.path);
	json_array_foreach(recs, i, r)
	{
		const char *ev = vmh_journal_str(r, "ev");
		struct item *it;

		if (strcmp(ev, "begin") == 0) {
			in->begun = 1;
			in->mode = (enum vmh_ha_action)vmh_journal_int(
			    r, "mode", in->mode);
		} else if (strcmp(ev, "fenced") == 0) {
			in->fenced = 1;
			set_str(&in->report->fence_how,
				vmh_journal_str(r, "how"));
		} else if (strcmp(ev, "unfenced") == 0) {
			in->unfenced = 1;
		} else if (strcmp(ev, "plan") == 0) {
			if ((rc = load_plan(in, r, err)) != VMH_OK)
				goto done;
		} else if (strcmp(ev, "intent") == 0) {
			json_t *ids = json_object_get(r, "vms"), *id;
			size_t k;

			json_array_foreach(ids, k, id)
			{
				it = find_item(in, json_string_value(id)
						       ? json_string_value(id)
						       : "");
				if (it != NULL)
					it->intent = 1;
			}
		} else if (strcmp(ev, "result") == 0) {
			it = find_item(in, vmh_journal_str(r, "vm"));
			if (it != NULL &&
			    json_is_true(json_object_get(r, "ok")))
				it->sent = 1;
		} else if (strcmp(ev, "verified") == 0) {
			it = find_item(in, vmh_journal_str(r, "vm"));
			if (it != NULL) {
				it->sent = 1;
				it->done = 1;
				it->outcome =
				    (enum vmh_vm_outcome)vmh_journal_int(
					r, "outcome", VMH_OUT_FAILED);
				set_str(&it->new_host,
					vmh_journal_str(r, "host"));
				set_str(&it->detail,
					vmh_journal_str(r, "detail"));
			}
		} else if (strcmp(ev, "end") == 0 ||
			   strcmp(ev, "fence_failed") == 0) {
			ended = 1;
		}
	}
	if (ended) {
		/* Killed between the last record and the archiving. */
		vmh_journal_close(&in->j);
		archive_suffix(suffix, sizeof(suffix));
		if ((rc = vmh_journal_archive(in->journal_dir, in->journal_name,
					      suffix, err)) != VMH_OK)
			goto done;
		items_free(in);
		in->begun = in->fenced = in->unfenced = in->planned = 0;
		rc = vmh_journal_open(in->journal_dir, in->journal_name, &in->j,
				      err);
		goto done;
	}
	in->resumed = in->begun;
	in->report->resumed = in->resumed;
	if (in->resumed)
		log_notice("host %s: resuming an interrupted incident "
			   "(journal %s)",
			   in->host->name, in->j.path);
done:
	json_decref(recs);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Notifications and metrics                                           */

/*
 * Run the configured notify command for a stage. The event is on stdin as
 * JSON and in VMHEAL_* environment variables. Failures are logged only: a
 * broken mailer must not stop a recovery.
 */
static void
notify(struct incident *in, const char *event, const char *detail)
{
	char ev[96], host[320], hid[96], det[1100];
	const char *env[] = { ev, host, hid, det, NULL };
	struct vmh_exec_opts o = { 0 };
	struct vmh_exec_result res;
	struct vmh_error err;
	json_t *j;
	char *body;

	if (in->hc->notify_command == NULL || in->opts->dry_run)
		return;
	snprintf(ev, sizeof(ev), "VMHEAL_EVENT=%s", event);
	snprintf(host, sizeof(host), "VMHEAL_HOST=%s", in->host->name);
	snprintf(hid, sizeof(hid), "VMHEAL_HOST_ID=%s", in->host->id);
	snprintf(det, sizeof(det), "VMHEAL_DETAIL=%s", detail);
	j = json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", event, "host",
		      in->host->name, "host_id", in->host->id, "detail", detail,
		      "time", (json_int_t)vmh_wall_s());
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	o.argv = (const char *const *)in->hc->notify_command;
	o.env = env;
	o.stdin_data = body;
	o.stdin_len = body ? strlen(body) : 0;
	o.timeout_ms = in->hc->notify_timeout_s * 1000;
	vmh_error_init(&err);
	log_info("notify %s: %s", event, detail);
	if (vmh_exec_run(&o, &res, &err) != VMH_OK)
		log_warnx("notify command for %s: %s", event, err.text);
	else if (!res.exited || res.exit_code != 0)
		log_warnx("notify command for %s: exit %d", event,
			  res.exited ? res.exit_code : 128 + res.signo);
	vmh_exec_result_free(&res);
	free(body);
}

/* Prometheus textfile (node_exporter's collector): written whole to a
 * temporary file, then renamed, so a scrape never sees half a file. */
static void
write_metrics(struct incident *in)
{
	const struct vmh_hosterr_report *r = in->report;
	char tmp[1100];
	size_t i, ok = 0, failed = 0, pending = 0;
	FILE *f;
	int fd;

	if (in->hc->metrics_file == NULL || in->opts->dry_run)
		return;
	for (i = 0; i < r->n_vms; i++) {
		if (r->vms[i].outcome == VMH_OUT_RECOVERED)
			ok++;
		else if (r->vms[i].outcome == VMH_OUT_PENDING)
			pending++;
		else if (r->vms[i].outcome == VMH_OUT_FAILED ||
			 r->vms[i].outcome == VMH_OUT_LOCKED)
			failed++;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", in->hc->metrics_file);
	if ((fd = mkstemp(tmp)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		log_warn("metrics file %s", tmp);
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f,
		"# HELP vmheal_host_error_last_run_timestamp_seconds When "
		"host_error last ran for the host.\n"
		"# TYPE vmheal_host_error_last_run_timestamp_seconds gauge\n"
		"vmheal_host_error_last_run_timestamp_seconds{host=\"%s\"} "
		"%lld\n",
		in->host->name, vmh_wall_s());
	fprintf(f,
		"# HELP vmheal_host_error_fence_seconds Time to fence and "
		"verify.\n# TYPE vmheal_host_error_fence_seconds gauge\n"
		"vmheal_host_error_fence_seconds{host=\"%s\"} %.3f\n",
		in->host->name, r->fence_ms / 1000.0);
	fprintf(f,
		"# HELP vmheal_host_error_recover_seconds Time from the "
		"first recover call to the last VM verified.\n"
		"# TYPE vmheal_host_error_recover_seconds gauge\n"
		"vmheal_host_error_recover_seconds{host=\"%s\"} %.3f\n",
		in->host->name, r->recover_ms / 1000.0);
	fprintf(f,
		"# HELP vmheal_host_error_vms VMs by outcome in the last "
		"incident.\n# TYPE vmheal_host_error_vms gauge\n"
		"vmheal_host_error_vms{host=\"%s\",outcome=\"recovered\"} "
		"%zu\n"
		"vmheal_host_error_vms{host=\"%s\",outcome=\"pending\"} %zu\n"
		"vmheal_host_error_vms{host=\"%s\",outcome=\"failed\"} %zu\n",
		in->host->name, ok, in->host->name, pending, in->host->name,
		failed);
	if (fchmod(fd, 0644) < 0 || fclose(f) != 0 ||
	    rename(tmp, in->hc->metrics_file) < 0) {
		log_warn("metrics file %s", in->hc->metrics_file);
		unlink(tmp);
	}
}

/* ------------------------------------------------------------------ */
/* Before fencing: grace, storm brake, second opinion                  */

/* Wait N monitoring cycles and re-read the host. *back: it recovered. */
static enum vmh_rc
grace(struct incident *in, int *back, struct vmh_error *err)
{
	struct vmh_host *fresh = NULL;
	int interval = 60;
	enum vmh_rc rc;

	*back = 0;
	if (in->opts->pause_cycles <= 0)
		return VMH_OK;
	set_stage(in, "grace");
	if ((rc = vmh_cloud_monitoring_interval(in->cloud, &interval, err)) !=
	    VMH_OK)
		return rc;
	log_notice("host %s: waiting %d monitoring cycles of %d s before "
		   "re-checking",
		   in->host->name, in->opts->pause_cycles, interval);
	if (in->opts->dry_run)
		return VMH_OK;
	vmh_sleep_ms((long long)in->opts->pause_cycles * interval * 1000);
	if ((rc = vmh_cloud_host_get(in->cloud, in->host->id, &fresh, err)) !=
	    VMH_OK)
		return rc;
	vmh_host_free(in->host);
	in->host = fresh;
	if (fresh->state != VMH_HOST_DOWN) {
		log_notice("host %s came back after waiting (state %s): "
			   "nothing to do",
			   fresh->name, fresh->state_text);
		*back = 1;
	}
	return VMH_OK;
}

static enum vmh_rc
storm_brake(struct incident *in, struct vmh_error *err)
{
	struct vmh_host_list hosts;
	size_t i, total = 0, down = 0;
	enum vmh_rc rc;

	set_stage(in, "storm-brake");
	if ((rc = vmh_cloud_host_list(in->cloud, &hosts, err)) != VMH_OK)
		return rc;
	for (i = 0; i < hosts.n; i++) {
		/* Hosts an operator took out of service do not count. */
		if (hosts.hosts[i].state == VMH_HOST_DISABLED ||
		    hosts.hosts[i].state == VMH_HOST_OFFLINE)
			continue;
		total++;
		if (hosts.hosts[i].state == VMH_HOST_DOWN)
			down++;
	}
	vmh_host_list_free(&hosts);
	if (total == 0)
		return VMH_OK;
	if (down * 100 > (size_t)in->hc->storm_max_percent * total ||
	    (in->hc->storm_max_hosts > 0 &&
	     down > (size_t)in->hc->storm_max_hosts)) {
		char what[200];

		snprintf(what, sizeof(what),
			 "%zu of %zu hosts are in error at once (limits: %d%%"
			 ", %d hosts)",
			 down, total, in->hc->storm_max_percent,
			 in->hc->storm_max_hosts);
		if (in->opts->force) {
			log_warnx(
			    "storm brake overridden by --ignore-storm: %s",
			    what);
			return VMH_OK;
		}
		notify(in, "storm", what);
		return vmh_error_set(err, VMH_E_STORM, in->host->name, 0,
				     "%s: refusing to act (a partition on "
				     "the controller's side looks like "
				     "this); use --ignore-storm to override",
				     what);
	}
	return VMH_OK;
}

/* TCP connect to addr:port within timeout_ms. */
static int
tcp_alive(const char *addr, int port, int timeout_ms)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char service[16];
	int alive = 0;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(addr, service, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !alive; ai = ai->ai_next) {
		struct pollfd pfd;
		int fd = socket(ai->ai_family,
				ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			alive = 1;
		} else if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
				       &len) == 0 &&
			    soerr == 0)
				alive = 1;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return alive;
}

/* Is addr reachable? port > 0: TCP connect; 0: ICMP echo through ping(8),
 * which has the privilege (ping sockets or a capability) we lack. */
static int
probe_alive(const char *addr, int port, int timeout_ms)
{
	char wait_s[16];
	const char *ping[] = { "ping", "-n",   "-q", "-c", "1",
			       "-W",   wait_s, addr, NULL };
	struct vmh_exec_opts o = { 0 };
	struct vmh_exec_result res;
	int alive;

	if (port > 0)
		return tcp_alive(addr, port, timeout_ms);
	snprintf(wait_s, sizeof(wait_s), "%d",
		 timeout_ms < 1000 ? 1 : timeout_ms / 1000);
	o.argv = ping;
	o.timeout_ms = timeout_ms + 2000;
	if (vmh_exec_run(&o, &res, NULL) != VMH_OK) {
		vmh_exec_result_free(&res);
		return 0;
	}
	alive = res.exited && res.exit_code == 0;
	vmh_exec_result_free(&res);
	return alive;
}

/*
 * Before fencing, look at the host through its other networks: a host that
 * answers on its storage network is isolated from the controller, not dead
 * (its own net_fence decides locally). The addresses are in the host's
 * attributes named by second_opinion.attributes.
 */
/* The fence chain's target for this host (borrowed strings). */
static void
fence_target(const struct incident *in, struct vmh_fence_target *t)
{
	long long id = -1;

	memset(t, 0, sizeof(*t));
	vmh_strtonum(in->host->id, 0, 0x7fffffffffffLL, &id, "host id", NULL);
	t->name = in->host->name;
	t->id = id;
	t->attrs = (const char *const *)in->host->attrs;
	t->host_xml =
	    in->opts->host_xml ? in->opts->host_xml : in->host->document;
}

/*
 * Ask the BMC (the fence chain's status, which changes nothing) before the
 * networks. OFF: the host is down, not cut off. ON: the OS may be hung or
 * isolated: the networks decide. No answer: a chassis without power, or a
 * BMC network that is down too; the fence will tell (and fail if the BMC
 * stays silent).
 */
static enum vmh_fence_power
bmc_power(struct incident *in)
{
	struct vmh_fence_target t;
	struct vmh_fence_report fr;
	enum vmh_fence_power power = VMH_FENCE_PW_UNKNOWN;
	struct vmh_error e2;
	long long t0 = vmh_now_ms();
	size_t i, readable = 0;

	if (!in->hc->second_opinion_bmc || in->opts->no_fencing ||
	    in->conf->fence == NULL || in->conf->fence->n_levels == 0)
		return VMH_FENCE_PW_UNKNOWN;
	for (i = 0; i < in->conf->fence->n_levels; i++)
		readable +=
		    in->conf->fence->levels[i].type == VMH_FENCE_AGENT ||
		    in->conf->fence->levels[i].status_command != NULL;
	if (readable == 0) {
		/* fence_host.sh-style scripts without a status command. */
		log_info("host %s: no fence level can read the power state: "
			 "the BMC is not asked",
			 in->host->name);
		return VMH_FENCE_PW_UNKNOWN;
	}
	if (in->opts->dry_run) {
		log_info("host %s: dry run: would ask the fence chain for the "
			 "power state",
			 in->host->name);
		return VMH_FENCE_PW_UNKNOWN;
	}
	fence_target(in, &t);
	vmh_fence_report_init(&fr);
	vmh_error_init(&e2);
	if (vmh_fence_status(in->conf->fence, in->conf, &t, 0, &power, &fr,
			     &e2) != VMH_OK)
		power = VMH_FENCE_PW_UNKNOWN;
	vmh_fence_report_free(&fr);
	set_str(&in->report->bmc_power, power == VMH_FENCE_PW_OFF  ? "off"
					: power == VMH_FENCE_PW_ON ? "on"
								   : "unknown");
	switch (power) {
	case VMH_FENCE_PW_OFF:
		log_notice("host %s: the BMC reports power OFF (%lld ms): "
			   "down, not cut off",
			   in->host->name, vmh_now_ms() - t0);
		break;
	case VMH_FENCE_PW_ON:
		log_notice("host %s: the BMC reports power ON (%lld ms): hung "
			   "or cut off; the networks decide",
			   in->host->name, vmh_now_ms() - t0);
		break;
	default:
		log_warnx("host %s: the BMC could not tell the power state "
			  "(%s): no power at all, or its network is down too",
			  in->host->name,
			  e2.text[0] ? e2.text : "no level answers status");
		break;
	}
	return power;
}

static enum vmh_rc
second_opinion(struct incident *in, struct vmh_error *err)
{
	char *const *names = in->hc->second_opinion_attrs;
	size_t i, asked = 0;
	enum vmh_fence_power power;

	set_stage(in, "second-opinion");
	power = bmc_power(in);
	if (names == NULL || names[0] == NULL) {
		log_info("host %s: no second channel configured "
			 "(host_error.second_opinion): proceeding on the "
			 "cloud's word",
			 in->host->name);
		return VMH_OK;
	}
	for (i = 0; names[i] != NULL; i++) {
		const char *addr = vmh_attr_get(in->host->attrs, names[i]);

		if (addr == NULL || *addr == '\0') {
			log_warnx("host %s: no %s attribute to probe",
				  in->host->name, names[i]);
			continue;
		}
		asked++;
		if (!probe_alive(addr, in->hc->second_opinion_port,
				 in->hc->second_opinion_timeout_ms)) {
			log_info("host %s: %s %s does not answer",
				 in->host->name, names[i], addr);
			continue;
		}
		/* Powered off, yet answering: the fence chain names
		 * another machine (a wrong BMC address), and fencing would
		 * "prove" the wrong host dead. Whatever on_alive says. */
		if (power == VMH_FENCE_PW_OFF) {
			notify(in, "fence_failed", names[i]);
			return vmh_error_set(
			    err, VMH_E_FENCE, in->host->name, 0,
			    "the BMC reports power OFF but the host answers "
			    "on %s (%s): does its fence configuration name "
			    "another machine? recovering nothing",
			    names[i], addr);
		}
		if (in->hc->second_opinion_on_alive) {
			log_warnx("host %s answers on %s (%s) but "
				  "second_opinion.on_alive is \"proceed\"",
				  in->host->name, names[i], addr);
			return VMH_OK;
		}
		notify(in, "isolated", names[i]);
		return vmh_error_set(err, VMH_E_ISOLATED, in->host->name, 0,
				     "host answers on %s (%s): isolated, not "
				     "dead; recovering nothing (its own "
				     "net_fence decides)",
				     names[i], addr);
	}
	if (asked == 0)
		log_warnx("host %s: second opinion configured but none of "
			  "its attributes is set: proceeding",
			  in->host->name);
	return VMH_OK;
}

/* ------------------------------------------------------------------ */
/* Fencing                                                             */

static enum vmh_rc
fence(struct incident *in, struct vmh_error *err)
{
	struct vmh_fence_report fr;
	struct vmh_fence_target t = { 0 };
	long long t0 = vmh_now_ms();
	enum vmh_rc rc;
	char detail[VMH_ERROR_TEXT_MAX];

	set_stage(in, "fence");
	if (in->fenced) {
		log_notice("host %s: fenced earlier in this incident (%s): "
			   "not fencing again",
			   in->host->name, in->report->fence_how);
		in->report->fenced = 1;
		return VMH_OK;
	}
	if (in->opts->no_fencing) {
		log_warnx("host %s: WARNING: fencing disabled (-u): if the "
			  "host is still running, its VMs will run twice",
			  in->host->name);
		in->report->fenced = -1;
		set_str(&in->report->fence_how, "-u");
		if (in->opts->dry_run)
			return VMH_OK;
		return jrec(
		    in, 1,
		    json_pack("{s:s, s:s}", "ev", "unfenced", "why", "-u"),
		    err);
	}
	if (in->conf->fence == NULL || in->conf->fence->n_levels == 0) {
		notify(in, "fence_failed", "no fence method configured");
		return vmh_error_set(
		    err, VMH_E_FENCE, in->host->name, 0,
		    "no fence method configured: add a fence section to "
		    "%s (see vmheal.conf(5)), or pass -u to recover "
		    "without fencing (unsafe); nothing was recovered",
		    in->conf->path ? in->conf->path : "vmheal.conf");
	}
	fence_target(in, &t);
	vmh_fence_report_init(&fr);
	rc = vmh_fence_host(in->conf->fence, in->conf, &t, in->opts->dry_run,
			    &fr, err);
	in->report->fence_ms = (long)(vmh_now_ms() - t0);
	if (in->opts->dry_run) {
		vmh_fence_report_print(&fr, stdout, 1);
		vmh_fence_report_free(&fr);
		if (rc != VMH_OK) {
			log_warnx("dry run: fencing could not run: %s",
				  err ? err->text : "");
			vmh_error_reset(err);
		}
		return VMH_OK;
	}
	if (rc == VMH_OK && fr.success && fr.winner >= 0) {
		const char *how = in->conf->fence->levels[fr.winner].name;

		set_str(&in->report->fence_how, how);
		in->report->fenced = 1;
		in->fenced = 1;
		log_notice("host %s: fenced and verified by level %s in %ld "
			   "ms",
			   in->host->name, how, in->report->fence_ms);
		vmh_fence_report_free(&fr);
		notify(in, "fenced", how);
		return jrec(in, 1,
			    json_pack("{s:s, s:s, s:I}", "ev", "fenced", "how",
				      how, "ms",
				      (json_int_t)in->report->fence_ms),
			    err);
	}
	vmh_fence_report_print(&fr, stderr, 0);
	vmh_fence_report_free(&fr);
	vmh_error_format(err, detail, sizeof(detail));
	jrec(in, 1,
	     json_pack("{s:s, s:s}", "ev", "fence_failed", "detail", detail),
	     NULL);
	notify(in, "fence_failed", detail);
	if (err != NULL && err->code != VMH_E_FENCE) {
		vmh_error_reset(err);
		vmh_error_set(err, VMH_E_FENCE, in->host->name, 0,
			      "fencing failed: %s", detail);
	}
	return VMH_E_FENCE;
}

/* ------------------------------------------------------------------ */
/* Planning                                                            */

static int
by_priority(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	long long ix, iy;

	if (x->plan.priority != y->plan.priority)
		return x->plan.priority > y->plan.priority ? -1 : 1;
	/* Stable, readable order: numeric IDs ascending. */
	if (vmh_strtonum(x->id, 0, 0x7fffffffffffLL, &ix, "id", NULL) ==
		VMH_OK &&
	    vmh_strtonum(y->id, 0, 0x7fffffffffffLL, &iy, "id", NULL) == VMH_OK)
		return ix < iy ? -1 : ix > iy;
	return strcmp(x->id, y->id);
}

/* Is the VM's system datastore shared? Asked once per datastore. */
static int
ds_shared(struct incident *in, long long ds_id, long long *cache_id,
	  int *cache_val)
{
	struct vmh_error err;
	int shared = -1;
	size_t i;

	if (ds_id < 0)
		return -1;
	for (i = 0; cache_id[i] != -2; i++)
		if (cache_id[i] == ds_id)
			return cache_val[i];
	vmh_error_init(&err);
	if (vmh_cloud_datastore_shared(in->cloud, ds_id, &shared, &err) !=
	    VMH_OK) {
		log_warnx("datastore %lld: %s", ds_id, err.text);
		shared = -1;
	}
	if (i < 63) {
		cache_id[i] = ds_id;
		cache_val[i] = shared;
		cache_id[i + 1] = -2;
	}
	return shared;
}

static enum vmh_rc
plan(struct incident *in, struct vmh_error *err)
{
	struct vmh_vm_list vms;
	struct vmh_policy pol = {
		.mode = in->mode,
		.migrate_fallback = in->hc->migrate_fallback,
		.include_suspended = in->opts->include_suspended,
		.protect_by_default = in->hc->protect_by_default,
		.unlock_locked = in->hc->unlock_locked,
	};
	long long cache_id[64] = { -2 };
	int cache_val[64];
	json_t *arr = NULL;
	enum vmh_rc rc;
	size_t i;

	set_stage(in, "plan");
	if ((rc = vmh_cloud_vms_on_host(in->cloud, in->host, &vms, err)) !=
	    VMH_OK)
		return rc;
	items_free(in);
	in->items = calloc(vms.n + 1, sizeof(*in->items));
	arr = json_array();
	if (in->items == NULL || arr == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < vms.n; i++) {
		const struct vmh_vm *vm = &vms.vms[i];
		struct item *it = &in->items[in->n++];
		int shared = -1;

		if (pol.mode == VMH_HA_MIGRATE ||
		    (vmh_attr_get(vm->attrs, "HA_ACTION") != NULL &&
		     vmh_ha_action_parse(vmh_attr_get(
			 vm->attrs, "HA_ACTION")) == VMH_HA_MIGRATE))
			shared = ds_shared(in, vm->ds_id, cache_id, cache_val);
		vmh_policy_decide(&pol, vm, shared, &it->plan);
		it->id = strdup(vm->id);
		it->name = strdup(vm->name ? vm->name : "");
		it->state = vm->raw_state;
		it->lcm = vm->raw_lcm;
		it->seq = vm->history_seq;
		it->resched = vm->resched;
		it->vstate = (int)vm->state;
		if (it->id == NULL || it->name == NULL) {
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			goto done;
		}
	}
	qsort(in->items, in->n, sizeof(*in->items), by_priority);
	for (i = 0; i < in->n; i++) {
		struct item *it = &in->items[i];

		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:i, "
			      "s:i, s:I, s:i, s:i}",
			      "id", it->id, "name", it->name, "action",
			      (int)it->plan.action, "prio", it->plan.priority,
			      "skip", (int)it->plan.skip, "note", it->plan.note,
			      "state", it->state, "lcm", it->lcm, "seq",
			      (json_int_t)it->seq, "resched", it->resched,
			      "vstate", it->vstate));
		if (it->plan.skip != VMH_SKIP_NONE)
			log_info("VM %s (%s): not recovered: %s%s%s", it->id,
				 it->name, vmh_skip_name(it->plan.skip),
				 it->plan.note[0] ? ": " : "", it->plan.note);
		else
			log_info("VM %s (%s): %s, priority %d%s%s", it->id,
				 it->name, vmh_ha_action_name(it->plan.action),
				 it->plan.priority,
				 it->plan.note[0] ? ", " : "", it->plan.note);
	}
	in->planned = 1;
	if (!in->opts->dry_run) {
		rc = jrec(in, 1,
			  json_pack("{s:s, s:O}", "ev", "plan", "vms", arr),
			  err);
	}
done:
	json_decref(arr);
	vmh_vm_list_free(&vms);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Recovery                                                            */

static int
actionable(const struct item *it)
{
	return it->plan.skip == VMH_SKIP_NONE &&
	       it->plan.action != VMH_HA_NONE &&
	       it->plan.action != VMH_HA_UNSET;
}

/* Did a request for it take effect? The VM differs from its planned
 * snapshot once the cloud accepted the action (oned changes the state or
 * the RESCHED flag before it answers). */
static int
took_effect(const struct item *it, const struct vmh_vm *vm)
{
	if (vm->state == VMH_VM_DONE)
		return 1;
	if (vm->raw_state != it->state || vm->raw_lcm != it->lcm ||
	    vm->history_seq != it->seq || (int)vm->state != it->vstate)
		return 1;
	return it->plan.action == VMH_HA_MIGRATE && vm->resched && !it->resched;
}

/* Re-read the VMs whose request's outcome is unknown and settle it. */
static enum vmh_rc
settle_unknown(struct incident *in, int only_flagged, struct vmh_error *err)
{
	const char **ids = calloc(in->n + 1, sizeof(*ids));
	struct item **its = calloc(in->n + 1, sizeof(*its));
	struct vmh_vm_list vms = { 0 };
	size_t i, k = 0;
	enum vmh_rc rc = VMH_OK;

	if (ids == NULL || its == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < in->n; i++) {
		struct item *it = &in->items[i];

		if (!actionable(it) || it->sent || !it->intent)
			continue;
		if (only_flagged && !it->unknown)
			continue;
		ids[k] = it->id;
		its[k++] = it;
	}
	if (k == 0)
		goto done;
	if ((rc = vmh_cloud_vms_get(in->cloud, ids, k, &vms, err)) != VMH_OK)
		goto done;
	for (i = 0; i < k && i < vms.n; i++) {
		its[i]->unknown = 0;
		if (took_effect(its[i], &vms.vms[i])) {
			its[i]->sent = 1;
			its[i]->t_sent = vmh_now_ms();
			log_notice("VM %s: the earlier %s request took effect "
				   "(now %s): not sending it again",
				   its[i]->id,
				   vmh_ha_action_name(its[i]->plan.action),
				   vms.vms[i].state_text
				       ? vms.vms[i].state_text
				       : vmh_vm_state_name(vms.vms[i].state));
			jrec(in, 0,
			     json_pack("{s:s, s:s, s:b, s:s}", "ev", "result",
				       "vm", its[i]->id, "ok", 1, "detail",
				       "learnt from the VM's state"),
			     NULL);
		}
	}
	rc = vmh_journal_sync(&in->j, err);
done:
	vmh_vm_list_free(&vms);
	free(ids);
	free(its);
	return rc;
}

struct round_ctx {
	struct incident *in;
	struct item **its;
};

static int
on_op(struct vmh_vm_op *op, int done, void *ctx)
{
	struct round_ctx *rc = ctx;
	struct item *it = op->user;
	int transient;

	(void)rc;
	if (!done) {
		it->calls++;
		if (it->t_sent == 0)
			it->t_sent = vmh_now_ms();
		return 0;
	}
	if (op->rc == VMH_OK) {
		it->sent = 1;
		log_info("VM %s: %s accepted (%ld ms)", it->id,
			 vmh_vm_action_name(op->action), op->duration_ms);
		jrec(rc->in, 0,
		     json_pack("{s:s, s:s, s:b}", "ev", "result", "vm", it->id,
			       "ok", 1),
		     NULL);
		return 0;
	}
	transient = op->rc == VMH_E_UNAVAILABLE || op->rc == VMH_E_TIMEOUT;
	set_str(&it->detail, op->err.text);
	if (transient) {
		it->unknown = 1;
		log_warnx("VM %s: %s: %s (transient: will re-read and retry)",
			  it->id, vmh_vm_action_name(op->action), op->err.text);
	} else {
		it->failed = 1;
		it->outcome =
		    op->rc == VMH_E_DENIED ? VMH_OUT_LOCKED : VMH_OUT_FAILED;
		log_warnx("VM %s: %s refused: %s", it->id,
			  vmh_vm_action_name(op->action), op->err.text);
	}
	jrec(rc->in, 0,
	     json_pack("{s:s, s:s, s:b, s:b, s:s}", "ev", "result", "vm",
		       it->id, "ok", 0, "transient", transient, "detail",
		       op->err.text),
	     NULL);
	return 0;
}

/* Unlock the locked VMs we are told to recover anyway. */
static void
unlock_locked(struct incident *in)
{
	struct vmh_error err;
	size_t i;

	if (!in->hc->unlock_locked)
		return;
	for (i = 0; i < in->n; i++) {
		struct item *it = &in->items[i];

		if (!actionable(it) || it->sent || it->done)
			continue;
		vmh_error_init(&err);
		if (vmh_cloud_vm_op(in->cloud, it->id, VMH_ACT_UNLOCK, NULL,
				    &err) == VMH_OK)
			log_info("VM %s: unlocked for recovery", it->id);
		else if (err.code != VMH_E_API)
			log_warnx("VM %s: unlock: %s", it->id, err.text);
	}
}

static enum vmh_rc
recover(struct incident *in, struct vmh_error *err)
{
	struct vmh_vm_op *ops = calloc(in->n + 1, sizeof(*ops));
	struct round_ctx ctx = { .in = in };
	json_t *ids = NULL;
	enum vmh_rc rc = VMH_OK;
	size_t i, k;
	int round;

	set_stage(in, "recover");
	if (ops == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	/* A previous run's requests whose answers were not journaled. */
	if ((rc = settle_unknown(in, 0, err)) != VMH_OK)
		goto done;
	unlock_locked(in);
	for (round = 0; round <= in->hc->retries; round++) {
		for (i = 0; i < in->n; i++)
			in->items[i].failed = 0;
		k = 0;
		ids = json_array();
		for (i = 0; i < in->n; i++) {
			struct item *it = &in->items[i];

			if (!actionable(it) || it->sent || it->done)
				continue;
			memset(&ops[k], 0, sizeof(ops[k]));
			ops[k].vm_id = it->id;
			ops[k].action =
			    vmh_policy_cloud_action(it->plan.action);
			ops[k].user = it;
			json_array_append_new(ids, json_string(it->id));
			k++;
		}
		if (k == 0)
			break;
		if (round > 0) {
			long long backoff = (long long)in->hc->retry_backoff_ms
					    << (round - 1);

			log_notice("retrying %zu VMs in %lld ms (round %d of "
				   "%d)",
				   k, backoff, round, in->hc->retries);
			vmh_sleep_ms(backoff);
		}
		/* Durable before any request leaves: a run killed from here
		 * on re-reads these VMs instead of sending blindly. */
		rc = jrec(in, 1,
			  json_pack("{s:s, s:i, s:O}", "ev", "intent", "round",
				    round, "vms", ids),
			  err);
		json_decref(ids);
		ids = NULL;
		if (rc != VMH_OK)
			goto done;
		for (i = 0; i < k; i++)
			((struct item *)ops[i].user)->intent = 1;
		if ((rc = vmh_cloud_run_ops(in->cloud, ops, k,
					    in->hc->concurrency, on_op, &ctx,
					    err)) != VMH_OK)
			goto done;
		if ((rc = vmh_journal_sync(&in->j, err)) != VMH_OK)
			goto done;
		/* Transient failures: did the request land anyway? */
		if ((rc = settle_unknown(in, 1, err)) != VMH_OK) {
			if (rc != VMH_E_UNAVAILABLE && rc != VMH_E_TIMEOUT)
				goto done;
			log_warnx("re-reading VMs: %s", err->text);
			vmh_error_reset(err);
			rc = VMH_OK;
		}
		/* Permanent refusals are final for this run. */
		for (i = 0; i < in->n; i++)
			if (in->items[i].failed)
				in->items[i].done = 1;
	}
done:
	json_decref(ids);
	free(ops);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

static void
finish_item(struct incident *in, struct item *it, enum vmh_vm_outcome out,
	    const char *host, const char *detail)
{
	it->done = 1;
	it->outcome = out;
	set_str(&it->new_host, host);
	if (detail != NULL)
		set_str(&it->detail, detail);
	it->ms = it->t_sent ? (long)(vmh_now_ms() - it->t_sent) : 0;
	jrec(in, 0,
	     json_pack("{s:s, s:s, s:i, s:s, s:s}", "ev", "verified", "vm",
		       it->id, "outcome", (int)out, "host", host ? host : "",
		       "detail", detail ? detail : ""),
	     NULL);
}

/* Where is the VM now, and is that the end of its recovery? */
static void
judge(struct incident *in, struct item *it, const struct vmh_vm *vm, int final)
{
	char text[200];
	int elsewhere =
	    vm->host_name != NULL && strcmp(vm->host_name, in->host->name) != 0;

	if (it->plan.action == VMH_HA_DELETE) {
		if (vm->state == VMH_VM_DONE)
			finish_item(in, it, VMH_OUT_RECOVERED, NULL, "deleted");
		else if (final) {
			snprintf(text, sizeof(text), "not deleted in time (%s)",
				 vm->state_text ? vm->state_text : "?");
			finish_item(in, it, VMH_OUT_FAILED, NULL, text);
		}
		return;
	}
	if (vm->state == VMH_VM_RUNNING && elsewhere) {
		finish_item(in, it, VMH_OUT_RECOVERED, vm->host_name,
			    "running");
		return;
	}
	/* A powered-off or suspended VM moved by -m stays so, elsewhere. */
	if (elsewhere && (int)vm->state == it->vstate &&
	    (vm->state == VMH_VM_POWEROFF || vm->state == VMH_VM_SUSPENDED)) {
		finish_item(in, it, VMH_OUT_RECOVERED, vm->host_name,
			    vmh_vm_state_name(vm->state));
		return;
	}
	if (vm->state == VMH_VM_FAILED || vm->state == VMH_VM_DONE) {
		snprintf(text, sizeof(text), "%s on %s",
			 vm->state_text ? vm->state_text
					: vmh_vm_state_name(vm->state),
			 vm->host_name ? vm->host_name : "no host");
		finish_item(in, it, VMH_OUT_FAILED, vm->host_name, text);
		return;
	}
	if (!final)
		return;
	if (vm->state == VMH_VM_PENDING && in->hc->accept_pending) {
		finish_item(in, it, VMH_OUT_PENDING, NULL,
			    "pending: no host has capacity yet");
		return;
	}
	snprintf(
	    text, sizeof(text), "not running elsewhere after %d s (%s%s%s)",
	    in->hc->verify_timeout_s,
	    vm->state_text ? vm->state_text : vmh_vm_state_name(vm->state),
	    vm->host_name ? " on " : "", vm->host_name ? vm->host_name : "");
	finish_item(in, it, VMH_OUT_FAILED, vm->host_name, text);
}

static enum vmh_rc
verify(struct incident *in, struct vmh_error *err)
{
	const char **ids = calloc(in->n + 1, sizeof(*ids));
	struct item **its = calloc(in->n + 1, sizeof(*its));
	long long deadline = vmh_now_ms() + in->hc->verify_timeout_s * 1000LL;
	enum vmh_rc rc = VMH_OK;
	size_t i, k;
	int final = 0;

	set_stage(in, "verify");
	if (ids == NULL || its == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	for (;;) {
		struct vmh_vm_list vms = { 0 };

		k = 0;
		for (i = 0; i < in->n; i++) {
			struct item *it = &in->items[i];

			if (actionable(it) && it->sent && !it->done) {
				ids[k] = it->id;
				its[k++] = it;
			}
		}
		if (k == 0)
			break;
		final = vmh_now_ms() >= deadline;
		rc = vmh_cloud_vms_get(in->cloud, ids, k, &vms, err);
		if (rc == VMH_E_UNAVAILABLE || rc == VMH_E_TIMEOUT) {
			/* A flaky API must not end verification early. */
			log_warnx("verify: %s", err->text);
			vmh_error_reset(err);
			rc = VMH_OK;
			if (final) {
				for (i = 0; i < k; i++)
					finish_item(in, its[i], VMH_OUT_FAILED,
						    NULL,
						    "could not be verified: "
						    "cloud unavailable");
				break;
			}
		} else if (rc != VMH_OK) {
			goto done;
		} else {
			for (i = 0; i < k && i < vms.n; i++)
				judge(in, its[i], &vms.vms[i], final);
		}
		vmh_vm_list_free(&vms);
		if ((rc = vmh_journal_sync(&in->j, err)) != VMH_OK)
			goto done;
		if (final)
			break;
		vmh_sleep_ms(in->hc->verify_interval_ms);
	}
done:
	free(ids);
	free(its);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                             */

/* Fill the report's VM list from the items. */
static enum vmh_rc
report_vms(struct incident *in, struct vmh_error *err)
{
	struct vmh_hosterr_report *r = in->report;
	size_t i;

	r->vms = calloc(in->n + 1, sizeof(*r->vms));
	if (r->vms == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	for (i = 0; i < in->n; i++) {
		struct item *it = &in->items[i];
		struct vmh_vm_report *v = &r->vms[r->n_vms++];

		v->id = strdup(it->id);
		v->name = strdup(it->name);
		v->action = it->plan.action;
		v->priority = it->plan.priority;
		v->skip = it->plan.skip;
		v->calls = it->calls;
		v->ms = it->ms;
		if (in->opts->dry_run)
			v->outcome =
			    actionable(it) ? VMH_OUT_PLANNED : VMH_OUT_SKIPPED;
		else if (it->plan.skip == VMH_SKIP_LOCKED)
			v->outcome = VMH_OUT_LOCKED;
		else if (!actionable(it))
			v->outcome = VMH_OUT_SKIPPED;
		else if (it->done)
			v->outcome = it->outcome;
		else
			v->outcome = VMH_OUT_FAILED;
		v->detail = strdup(it->detail         ? it->detail
				   : it->plan.note[0] ? it->plan.note
						      : "");
		v->new_host = it->new_host ? strdup(it->new_host) : NULL;
	}
	return VMH_OK;
}

/* The outcome of the incident from its VMs. */
static enum vmh_rc
outcome(struct incident *in, struct vmh_error *err)
{
	size_t i, ok = 0, bad = 0, skipped = 0;
	char line[240];

	for (i = 0; i < in->report->n_vms; i++) {
		switch (in->report->vms[i].outcome) {
		case VMH_OUT_RECOVERED:
		case VMH_OUT_PENDING:
		case VMH_OUT_PLANNED:
			ok++;
			break;
		case VMH_OUT_SKIPPED:
			skipped++;
			break;
		default:
			bad++;
		}
	}
	snprintf(line, sizeof(line),
		 "host %s: %zu VM%s %s, %zu not recovered, %zu not ours",
		 in->host->name, ok, ok == 1 ? "" : "s",
		 in->opts->dry_run ? "to recover" : "recovered", bad, skipped);
	set_str(&in->report->summary, line);
	if (bad > 0) {
		notify(in, "failed", line);
		return vmh_error_set(err, VMH_E_PARTIAL, in->host->name, 0,
				     "%zu of %zu VMs not recovered: see the "
				     "report",
				     bad, ok + bad);
	}
	if (ok > 0)
		notify(in, "recovered", line);
	return VMH_OK;
}

/* Close the incident: `end` record, then the journal is archived. */
static void
close_incident(struct incident *in, enum vmh_rc rc)
{
	char suffix[64];
	struct vmh_error err;

	if (in->opts->dry_run || in->j.fd < 0)
		return;
	vmh_error_init(&err);
	jrec(in, 1,
	     json_pack("{s:s, s:s}", "ev", "end", "outcome", vmh_strerror(rc)),
	     &err);
	vmh_journal_close(&in->j);
	archive_suffix(suffix, sizeof(suffix));
	if (vmh_journal_archive(in->journal_dir, in->journal_name, suffix,
				&err) != VMH_OK)
		log_warnx("%s", err.text);
}

static enum vmh_rc
open_incident(struct incident *in, struct vmh_error *err)
{
	enum vmh_rc rc;

	snprintf(in->journal_dir, sizeof(in->journal_dir), "%s/incidents",
		 in->conf->state_dir);
	snprintf(in->journal_name, sizeof(in->journal_name), "host-%s",
		 in->host->id);
	if ((rc = vmh_state_dir_ensure(in->journal_dir, err)) != VMH_OK)
		return rc;
	rc = vmh_lock_acquire(in->journal_dir, in->journal_name, 1, 0,
			      &in->lock, err);
	if (rc != VMH_OK)
		return rc;
	if ((rc = vmh_journal_open(in->journal_dir, in->journal_name, &in->j,
				   err)) != VMH_OK)
		return rc;
	return resume_journal(in, err);
}

enum vmh_rc
vmh_hosterr_run(const struct vmh_conf *conf, struct vmh_cloud *cloud,
		const struct vmh_hosterr_opts *opts,
		struct vmh_hosterr_report *report, struct vmh_error *err)
{
	struct vmh_hosterr_conf *dflt = NULL;
	struct incident in = { 0 };
	enum vmh_rc rc;
	int back = 0, closed = 0, force_down;

	memset(report, 0, sizeof(*report));
	in.conf = conf;
	in.cloud = cloud;
	in.opts = opts;
	in.report = report;
	in.j.fd = -1;
	in.lock.fd = -1;
	in.vms_lock.fd = -1;
	in.t0 = vmh_now_ms();
	if (conf->hosterr != NULL) {
		in.hc = conf->hosterr;
	} else {
		if ((rc = vmh_hosterr_conf_default(&dflt, err)) != VMH_OK)
			return rc;
		in.hc = dflt;
	}
	in.mode =
	    opts->mode != VMH_HA_UNSET ? opts->mode : in.hc->default_action;

	set_stage(&in, "host");
	if ((rc = vmh_cloud_host_get(cloud, opts->host, &in.host, err)) !=
	    VMH_OK)
		goto done;
	set_str(&report->host_id, in.host->id);
	set_str(&report->host_name, in.host->name);
	log_notice("host %s (id %s) is %s", in.host->name, in.host->id,
		   in.host->state_text ? in.host->state_text
				       : vmh_host_state_name(in.host->state));

	if (!opts->dry_run) {
		rc = open_incident(&in, err);
		if (rc == VMH_E_BUSY) {
			/* Two hooks for one failure: the first one owns it. */
			log_notice("host %s: another host_error run is "
				   "handling this incident (%s): leaving it "
				   "to it",
				   in.host->name, err->text);
			vmh_error_reset(err);
			set_str(&report->summary, "another run owns the "
						  "incident");
			rc = VMH_OK;
			goto done;
		}
		if (rc != VMH_OK)
			goto done;
	}

	if (!in.resumed) {
		int require =
		    in.hc->require_down >= 0
			? in.hc->require_down
			: strcmp(vmh_cloud_kind(in.cloud), "openstack") != 0;

		if (in.host->state != VMH_HOST_DOWN && require &&
		    opts->pause_cycles == 0) {
			log_notice("host %s is %s, not in error: nothing to "
				   "do",
				   in.host->name, in.host->state_text);
			set_str(&report->summary, "host not in error");
			goto done;
		}
		/* Nova shows a dead compute up until service_down_time has
		 * passed: on OpenStack the caller's word starts the flow,
		 * and the second opinion and the fence decide. */
		if (in.host->state != VMH_HOST_DOWN && !require)
			log_notice("host %s is %s in the cloud; acting on the "
				   "caller's word: the second opinion and the "
				   "fence decide",
				   in.host->name, in.host->state_text);
		if ((rc = grace(&in, &back, err)) != VMH_OK)
			goto done;
		if (back) {
			set_str(&report->summary,
				"host came back after waiting");
			goto done;
		}
		if ((rc = storm_brake(&in, err)) != VMH_OK)
			goto done;
		if ((rc = second_opinion(&in, err)) != VMH_OK)
			goto done;
		if (!opts->dry_run) {
			rc = jrec(&in, 1,
				  json_pack("{s:s, s:s, s:s, s:i, s:I}", "ev",
					    "begin", "host_id", in.host->id,
					    "host", in.host->name, "mode",
					    (int)in.mode, "pid",
					    (json_int_t)getpid()),
				  err);
			if (rc != VMH_OK)
				goto done;
			in.begun = 1;
		}
	}
	if (in.unfenced && !in.fenced) {
		/* The incident was opened with -u: it stays so. */
		in.report->fenced = -1;
		set_str(&in.report->fence_how, "-u");
	} else if ((rc = fence(&in, err)) != VMH_OK) {
		closed = in.begun;
		goto done;
	}
	if (!in.planned) {
		if (in.mode == VMH_HA_UNSET)
			log_warnx("no recovery mode given (-r, -d, -m) and no "
				  "host_error.default_action: only VMs with "
				  "HA_ACTION are recovered");
		if ((rc = plan(&in, err)) != VMH_OK)
			goto done;
	}
	/* Nova evacuates only from a host whose compute service is down:
	 * force it down (the fence has just proven it) and disable it, on
	 * every run, since the call is idempotent and a resumed run may have
	 * been killed before it. */
	force_down = strcmp(vmh_cloud_kind(cloud), "openstack") == 0;
	if ((in.hc->disable_host && !in.resumed) || force_down) {
		struct vmh_error derr;

		vmh_error_init(&derr);
		if (opts->dry_run) {
			log_notice("host %s: would take it out of scheduling",
				   in.host->name);
		} else if (vmh_cloud_host_disable(
			       cloud, in.host,
			       in.hc->disable_host == 2 || force_down,
			       "vmheal: fenced after failure",
			       &derr) != VMH_OK) {
			log_warnx("host %s: could not take it out of "
				  "scheduling: %s",
				  in.host->name, derr.text);
			if (force_down) {
				/* Evacuations would all be refused. */
				rc = derr.code;
				if (err != NULL)
					*err = derr;
				goto done;
			}
		}
	}
	if (!opts->dry_run) {
		long long t = vmh_now_ms();
		char name[96];

		/* vm_failure_recreate holds this shared while it heals one VM
		 * of the host: wait for it rather than act on the same VM. */
		snprintf(name, sizeof(name), "%s.vms", in.journal_name);
		rc = vmh_lock_acquire_mode(in.journal_dir, name, 0, 0,
					   HOSTERR_VMS_LOCK_WAIT_MS,
					   &in.vms_lock, err);
		if (rc != VMH_OK)
			goto done;
		if ((rc = recover(&in, err)) != VMH_OK)
			goto done;
		if ((rc = verify(&in, err)) != VMH_OK)
			goto done;
		report->recover_ms = (long)(vmh_now_ms() - t);
	}
	set_stage(&in, "report");
	if ((rc = report_vms(&in, err)) != VMH_OK)
		goto done;
	rc = outcome(&in, err);
	closed = 1;
done:
	if (in.host != NULL && report->vms == NULL && in.n > 0)
		report_vms(&in, NULL);
	if (closed)
		close_incident(&in, rc);
	else if (in.j.fd >= 0 && !in.begun) {
		/* Nothing was journaled: leave no empty incident behind. */
		vmh_journal_close(&in.j);
		unlink(in.j.path);
	}
	vmh_journal_close(&in.j);
	vmh_lock_release(&in.vms_lock);
	vmh_lock_release(&in.lock);
	if (in.host != NULL && report->summary == NULL && rc != VMH_OK) {
		char line[VMH_ERROR_TEXT_MAX + 64];

		snprintf(line, sizeof(line), "host %s: %s", in.host->name,
			 err ? err->text : vmh_strerror(rc));
		set_str(&report->summary, line);
	}
	report->rc = rc;
	report->total_ms = (long)(vmh_now_ms() - in.t0);
	report->api_calls = vmh_cloud_calls(cloud);
	write_metrics(&in);
	items_free(&in);
	vmh_host_free(in.host);
	vmh_hosterr_conf_free(dflt);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

static const char *
outcome_name(enum vmh_vm_outcome o)
{
	switch (o) {
	case VMH_OUT_SKIPPED:
		return "skipped";
	case VMH_OUT_PLANNED:
		return "planned";
	case VMH_OUT_RECOVERED:
		return "recovered";
	case VMH_OUT_PENDING:
		return "pending";
	case VMH_OUT_LOCKED:
		return "locked";
	case VMH_OUT_FAILED:
		return "failed";
	}
	return "unknown";
}

void
vmh_hosterr_report_free(struct vmh_hosterr_report *r)
{
	size_t i;

	for (i = 0; i < r->n_vms; i++) {
		free(r->vms[i].id);
		free(r->vms[i].name);
		free(r->vms[i].detail);
		free(r->vms[i].new_host);
	}
	free(r->vms);
	free(r->host_id);
	free(r->host_name);
	free(r->stage);
	free(r->summary);
	free(r->fence_how);
	free(r->bmc_power);
	memset(r, 0, sizeof(*r));
}

void
vmh_hosterr_report_print(const struct vmh_hosterr_report *r, FILE *f)
{
	size_t i;

	if (r->host_name == NULL)
		return;
	fprintf(f, "host %s (id %s)%s\n", r->host_name, r->host_id,
		r->resumed ? ": resumed an interrupted incident" : "");
	if (r->bmc_power != NULL)
		fprintf(f, "  BMC:      power %s before fencing\n",
			r->bmc_power);
	if (r->fenced == 1)
		fprintf(f, "  fenced:   yes, by %s (%.1f s)\n",
			r->fence_how ? r->fence_how : "?",
			r->fence_ms / 1000.0);
	else if (r->fenced == -1)
		fprintf(f, "  fenced:   NO (fencing disabled with -u)\n");
	else
		fprintf(f, "  fenced:   no\n");
	for (i = 0; i < r->n_vms; i++) {
		const struct vmh_vm_report *v = &r->vms[i];

		fprintf(f, "  VM %-6s %-20.20s %-9s %-10s", v->id, v->name,
			vmh_ha_action_name(v->action),
			outcome_name(v->outcome));
		if (v->new_host != NULL && v->new_host[0] != '\0')
			fprintf(f, " on %s", v->new_host);
		if (v->skip != VMH_SKIP_NONE)
			fprintf(f, " (%s)", vmh_skip_name(v->skip));
		if (v->detail != NULL && v->detail[0] != '\0' &&
		    strcmp(v->detail, "running") != 0)
			fprintf(f, " %s", v->detail);
		fputc('\n', f);
	}
	fprintf(f, "  %s\n", r->summary ? r->summary : vmh_strerror(r->rc));
	fprintf(f,
		"  time: %.2f s total, recover+verify %.2f s, %lu API "
		"calls\n",
		r->total_ms / 1000.0, r->recover_ms / 1000.0, r->api_calls);
}

void
vmh_hosterr_report_json(const struct vmh_hosterr_report *r, FILE *f)
{
	json_t *doc, *vms = json_array();
	size_t i;

	for (i = 0; i < r->n_vms; i++) {
		const struct vmh_vm_report *v = &r->vms[i];

		json_array_append_new(
		    vms,
		    json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s?, s:s, "
			      "s:i, s:I}",
			      "id", v->id, "name", v->name, "action",
			      vmh_ha_action_name(v->action), "priority",
			      v->priority, "outcome", outcome_name(v->outcome),
			      "skip", vmh_skip_name(v->skip), "host",
			      v->new_host, "detail", v->detail ? v->detail : "",
			      "calls", v->calls, "ms", (json_int_t)v->ms));
	}
	doc = json_pack(
	    "{s:s?, s:s?, s:s, s:i, s:s?, s:b, s:i, s:s?, s:s?, s:I, s:I, "
	    "s:I, s:I, s:o}",
	    "host", r->host_name, "host_id", r->host_id, "outcome",
	    vmh_strerror(r->rc), "exit_status", vmh_rc_to_exit(r->rc),
	    "summary", r->summary, "resumed", r->resumed, "fenced", r->fenced,
	    "fence_how", r->fence_how, "bmc_power", r->bmc_power, "fence_ms",
	    (json_int_t)r->fence_ms, "recover_ms", (json_int_t)r->recover_ms,
	    "total_ms", (json_int_t)r->total_ms, "api_calls",
	    (json_int_t)r->api_calls, "vms", vms);
	if (doc != NULL) {
		json_dumpf(doc, f, JSON_INDENT(2));
		fputc('\n', f);
	}
	json_decref(doc);
}

/* ------------------------------------------------------------------ */
/* host_error --restore                                                */

enum vmh_rc
vmh_hosterr_restore(const struct vmh_conf *conf, struct vmh_cloud *cloud,
		    const char *ref, int dry_run, struct vmh_error *err)
{
	struct vmh_host *h = NULL;
	char path[700];
	enum vmh_rc rc;

	if ((rc = vmh_cloud_host_get(cloud, ref, &h, err)) != VMH_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/incidents/host-%s.journal",
		 conf->state_dir, h->id);
	if (access(path, F_OK) == 0) {
		rc = vmh_error_set(err, VMH_E_BUSY, h->name, 0,
				   "an incident for this host is still open "
				   "(%s): run host_error --host %s to finish "
				   "it first",
				   path, h->name);
		goto done;
	}
	if (h->state == VMH_HOST_DOWN) {
		rc = vmh_error_set(err, VMH_E_BUSY, h->name, 0,
				   "host is still %s: repair it (its "
				   "monitoring must report it) before "
				   "bringing it back",
				   h->state_text ? h->state_text : "down");
		goto done;
	}
	if (h->state == VMH_HOST_UP) {
		log_notice("host %s is already in service (%s)", h->name,
			   h->state_text ? h->state_text : "up");
		goto done;
	}
	if (conf->fence != NULL) {
		/* A disabled host is not monitored into ERROR: ask its BMC
		 * whether it runs at all. */
		struct vmh_fence_target t = { 0 };
		struct vmh_fence_report fr;
		enum vmh_fence_power power = VMH_FENCE_PW_UNKNOWN;
		struct vmh_error ferr;

		t.name = h->name;
		t.id = -1;
		t.attrs = (const char *const *)h->attrs;
		t.host_xml = h->document;
		vmh_error_init(&ferr);
		vmh_fence_report_init(&fr);
		if (vmh_fence_status(conf->fence, conf, &t, 0, &power, &fr,
				     &ferr) != VMH_OK)
			log_info("host %s: power state unknown (%s)", h->name,
				 ferr.text);
		vmh_fence_report_free(&fr);
		if (power == VMH_FENCE_PW_OFF) {
			rc = vmh_error_set(err, VMH_E_BUSY, h->name, 0,
					   "host is powered off: power it on "
					   "(vmheal_fence --action on) and let "
					   "it boot before bringing it back");
			goto done;
		}
	}
	log_notice("host %s (%s): %s back into scheduling", h->name,
		   h->state_text ? h->state_text : "?",
		   dry_run ? "would bring it" : "bringing it");
	if (!dry_run)
		rc = vmh_cloud_host_enable(cloud, h, err);
done:
	vmh_host_free(h);
	return rc;
}

/* ------------------------------------------------------------------ */
/* host_error --status                                                 */

/* Summarise one journal as a JSON object, or NULL if it is not for host. */
static json_t *
summarise(const char *path, const char *host, struct vmh_error *err)
{
	json_t *recs = NULL, *r, *sum = NULL, *vms = json_object();
	const char *state = "open";
	size_t i;

	if (vmh_journal_read(path, &recs, NULL, err) != VMH_OK)
		goto done;
	sum = json_object();
	json_array_foreach(recs, i, r)
	{
		const char *ev = vmh_journal_str(r, "ev");
		json_t *v;
		size_t k;

		if (strcmp(ev, "begin") == 0) {
			json_object_set(sum, "host",
					json_object_get(r, "host"));
			json_object_set(sum, "host_id",
					json_object_get(r, "host_id"));
			json_object_set(sum, "started",
					json_object_get(r, "t"));
		} else if (strcmp(ev, "fenced") == 0) {
			json_object_set(sum, "fenced",
					json_object_get(r, "how"));
		} else if (strcmp(ev, "unfenced") == 0) {
			json_object_set_new(sum, "fenced", json_string("-u"));
		} else if (strcmp(ev, "plan") == 0) {
			json_array_foreach(json_object_get(r, "vms"), k, v)
			{
				const char *st = vmh_journal_int(v, "skip", 0)
						     ? "skipped"
						     : "planned";

				json_object_set_new(vms,
						    vmh_journal_str(v, "id"),
						    json_string(st));
			}
		} else if (strcmp(ev, "intent") == 0) {
			json_array_foreach(json_object_get(r, "vms"), k, v)
			{
				if (json_string_value(v) != NULL)
					json_object_set_new(
					    vms, json_string_value(v),
					    json_string("sent?"));
			}
		} else if (strcmp(ev, "result") == 0) {
			json_object_set_new(
			    vms, vmh_journal_str(r, "vm"),
			    json_string(json_is_true(json_object_get(r, "ok"))
					    ? "accepted"
					    : "refused"));
		} else if (strcmp(ev, "verified") == 0) {
			json_object_set_new(
			    vms, vmh_journal_str(r, "vm"),
			    json_string(outcome_name(
				(enum vmh_vm_outcome)vmh_journal_int(
				    r, "outcome", VMH_OUT_FAILED))));
		} else if (strcmp(ev, "end") == 0) {
			state = vmh_journal_str(r, "outcome");
		} else if (strcmp(ev, "fence_failed") == 0) {
			state = "fencing failed";
		}
	}
	if (host != NULL && strcmp(vmh_journal_str(sum, "host"), host) != 0 &&
	    strcmp(vmh_journal_str(sum, "host_id"), host) != 0) {
		json_decref(sum);
		sum = NULL;
		goto done;
	}
	json_object_set_new(sum, "state", json_string(state));
	json_object_set_new(sum, "journal", json_string(path));
	json_object_set(sum, "vms", vms);
done:
	json_decref(vms);
	json_decref(recs);
	return sum;
}

static int
by_started(const void *a, const void *b)
{
	json_int_t x = vmh_journal_int(*(json_t *const *)a, "started", 0);
	json_int_t y = vmh_journal_int(*(json_t *const *)b, "started", 0);

	return x < y ? -1 : x > y;
}

enum vmh_rc
vmh_hosterr_status(const struct vmh_conf *conf, const char *host, int json,
		   FILE *f, struct vmh_error *err)
{
	char dir[512], path[1100];
	json_t *list = json_array(), **sorted = NULL;
	struct dirent *de;
	DIR *d;
	size_t i, n;
	enum vmh_rc rc = VMH_OK;

	snprintf(dir, sizeof(dir), "%s/incidents", conf->state_dir);
	if ((d = opendir(dir)) == NULL && errno != ENOENT) {
		rc = vmh_error_errno(err, errno, dir, "cannot read incidents");
		goto done;
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		json_t *s;

		if (len < 9 || strcmp(de->d_name + len - 8, ".journal") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((s = summarise(path, host, err)) != NULL)
			json_array_append_new(list, s);
		else if (err != NULL && err->code != VMH_OK) {
			log_warnx("%s: %s", path, err->text);
			vmh_error_reset(err);
		}
	}
	if (d != NULL)
		closedir(d);
	n = json_array_size(list);
	sorted = calloc(n + 1, sizeof(*sorted));
	for (i = 0; i < n && sorted; i++)
		sorted[i] = json_array_get(list, i);
	if (sorted)
		qsort(sorted, n, sizeof(*sorted), by_started);
	if (json) {
		json_t *out = json_array();

		for (i = 0; i < n && sorted; i++)
			json_array_append(out, sorted[i]);
		json_dumpf(out, f, JSON_INDENT(2));
		fputc('\n', f);
		json_decref(out);
		goto done;
	}
	if (n == 0)
		fprintf(f, "no incidents%s%s\n", host ? " for host " : "",
			host ? host : "");
	for (i = 0; i < n && sorted; i++) {
		json_t *s = sorted[i], *v;
		const char *id;

		fprintf(f, "host %s (id %s): %s, fenced: %s, journal %s\n",
			vmh_journal_str(s, "host"),
			vmh_journal_str(s, "host_id"),
			vmh_journal_str(s, "state"),
			json_is_string(json_object_get(s, "fenced"))
			    ? vmh_journal_str(s, "fenced")
			    : "no",
			vmh_journal_str(s, "journal"));
		json_object_foreach(json_object_get(s, "vms"), id, v)
		{
			fprintf(f, "  VM %s: %s\n", id, json_string_value(v));
		}
	}
done:
	free(sorted);
	json_decref(list);
	return rc;
}
