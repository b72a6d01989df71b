/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenStack driver: Nova's compute API over lib/http.c, with Keystone
 * sessions from lib/osauth.c. See cloud_nova.h for how cloud.h maps onto
 * Nova; shared/reference/openstack.md for the rules of the API.
 */
#include "config.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud_driver.h"
#include "cloud_nova.h"
#include "http.h"
#include "log.h"
#include "osauth.h"
#include "str.h"

#define NOVA_MAX_PAGES  100000 /* a runaway pager stops somewhere */
#define NOVA_RETRIES    3      /* extra tries of an idempotent GET */
#define NOVA_BACKOFF_MS 250
#define NOVA_REASON_MAX 255
#define NOVA_STATE_TEXT 200
#define NOVA_LIST_MIN   4  /* vms_get: from this many, try a host listing */
#define NOVA_MAX_ADDRS  32 /* addresses kept per server (vmh_vm.ips) */
/* state_text of a server whose evacuation may or may not have failed */
#define NOVA_EVAC_PENDING "ACTIVE/evacuation finishing"

struct evac_rec {
	char *id;
	char *source;
};

struct hint {
	char *id;
	char *host;
};

struct vmh_nova {
	const struct vmh_conf *conf;
	struct vmh_openstack_conf *own_oc; /* defaults when no section */
	const struct vmh_openstack_conf *oc;
	struct vmh_os_creds *creds;
	struct vmh_http *http;
	struct vmh_os_session *sess;
	long timeout_ms;
	int concurrency;
	char *endpoint; /* compute URL, as the catalog says */
	char mv[16];    /* "2.73" once negotiated */
	int mvnum;      /* 2073 */
	char *max_version;
	char mvhdr[2][64];      /* the two microversion headers */
	struct evac_rec *evacs; /* evacuations this process started */
	size_t n_evacs;
	struct hint *hints; /* last host seen per server */
	size_t n_hints;
};

/* ------------------------------------------------------------- helpers */

static enum vmh_rc
nomem(struct vmh_error *err)
{
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

static int
mv_num(const char *s)
{
	long long major, minor;
	char buf[16];
	const char *dot;

	if (s == NULL || (dot = strchr(s, '.')) == NULL ||
	    (size_t)(dot - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(dot - s));
	buf[dot - s] = '\0';
	if (vmh_strtonum(buf, 1, 9, &major, "major", NULL) != VMH_OK ||
	    vmh_strtonum(dot + 1, 0, 999, &minor, "minor", NULL) != VMH_OK)
		return -1;
	return (int)(major * 1000 + minor);
}

/* Percent-encode s for a query value into b. */
static enum vmh_rc
url_escape(struct vmh_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	enum vmh_rc rc = VMH_OK;

	for (; *s != '\0' && rc == VMH_OK; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~')
			rc = vmh_buf_append(b, s, 1);
		else
			rc = vmh_buf_printf(b, "%%%c%c", hex[ch >> 4],
					    hex[ch & 15]);
	}
	return rc;
}

/* Server ids go into paths: only the characters ids are made of. */
static int
id_ok(const char *id)
{
	size_t i;

	if (id == NULL || *id == '\0' || strlen(id) > 64)
		return 0;
	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-' ||
		      id[i] == '_'))
			return 0;
	return 1;
}

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
hint_set(struct vmh_nova *n, const char *id, const char *host)
{
	struct hint *h;
	size_t i;

	if (id == NULL || host == NULL)
		return;
	for (i = 0; i < n->n_hints; i++)
		if (strcmp(n->hints[i].id, id) == 0) {
			char *copy = strdup(host);

			if (copy != NULL) {
				free(n->hints[i].host);
				n->hints[i].host = copy;
			}
			return;
		}
	if ((h = realloc(n->hints, (n->n_hints + 1) * sizeof(*h))) == NULL)
		return;
	n->hints = h;
	h[n->n_hints].id = strdup(id);
	h[n->n_hints].host = strdup(host);
	if (h[n->n_hints].id == NULL || h[n->n_hints].host == NULL) {
		free(h[n->n_hints].id);
		free(h[n->n_hints].host);
		return;
	}
	n->n_hints++;
}

static const char *
hint_get(const struct vmh_nova *n, const char *id)
{
	size_t i;

	for (i = 0; i < n->n_hints; i++)
		if (strcmp(n->hints[i].id, id) == 0)
			return n->hints[i].host;
	return NULL;
}

static void
evac_note(struct vmh_nova *n, const char *id)
{
	const char *src = hint_get(n, id);
	struct evac_rec *e;
	size_t i;

	if (src == NULL)
		return;
	for (i = 0; i < n->n_evacs; i++)
		if (strcmp(n->evacs[i].id, id) == 0)
			return;
	if ((e = realloc(n->evacs, (n->n_evacs + 1) * sizeof(*e))) == NULL)
		return;
	n->evacs = e;
	e[n->n_evacs].id = strdup(id);
	e[n->n_evacs].source = strdup(src);
	if (e[n->n_evacs].id == NULL || e[n->n_evacs].source == NULL) {
		free(e[n->n_evacs].id);
		free(e[n->n_evacs].source);
		return;
	}
	n->n_evacs++;
}

static const char *
evac_source(const struct vmh_nova *n, const char *id)
{
	size_t i;

	for (i = 0; i < n->n_evacs; i++)
		if (strcmp(n->evacs[i].id, id) == 0)
			return n->evacs[i].source;
	return NULL;
}

/* ------------------------------------------------------------ requests */

/* Headers of one request: the token line is a secret. */
struct hdrs {
	const char *lines[7];
	char *token_line;
};

static void
hdrs_free(struct hdrs *h)
{
	if (h->token_line != NULL) {
		explicit_bzero(h->token_line, strlen(h->token_line));
		free(h->token_line);
		h->token_line = NULL;
	}
}

static enum vmh_rc
hdrs_build(struct vmh_nova *n, int force, struct hdrs *h, int with_mv,
	   struct vmh_error *err)
{
	const char *tok;
	size_t len, k = 0;
	enum vmh_rc rc;

	memset(h, 0, sizeof(*h));
	if ((rc = vmh_os_token(n->sess, force, &tok, err)) != VMH_OK)
		return rc;
	len = strlen(tok) + sizeof("X-Auth-Token: ");
	if ((h->token_line = malloc(len)) == NULL)
		return nomem(err);
	snprintf(h->token_line, len, "X-Auth-Token: %s", tok);
	h->lines[k++] = h->token_line;
	h->lines[k++] = "Content-Type: application/json";
	h->lines[k++] = "Accept: application/json";
	if (with_mv && n->mv[0] != '\0') {
		h->lines[k++] = n->mvhdr[0];
		h->lines[k++] = n->mvhdr[1];
	}
	h->lines[k] = NULL;
	return VMH_OK;
}

/* Turn an answer (or a transport failure) into a return code, a logged
 * line, and the parsed body. */
static enum vmh_rc
answer(const char *method, const char *path, const char *label, enum vmh_rc trc,
       const struct vmh_error *terr, const struct vmh_http_response *resp,
       json_t **out, struct vmh_error *err)
{
	const char *rid = NULL;
	char msg[300], what[300];
	json_error_t jerr;
	enum vmh_rc rc;

	if (out != NULL)
		*out = NULL;
	snprintf(what, sizeof(what), "%s %s%s%s%s", method, path,
		 label ? " (" : "", label ? label : "", label ? ")" : "");
	if (trc != VMH_OK)
		return vmh_error_set(err, trc, NULL, 0, "Nova: %s: %s", what,
				     terr != NULL && terr->text[0]
					 ? terr->text
					 : vmh_strerror(trc));
	rid = vmh_http_header(resp, "X-OpenStack-Request-Id");
	if (rid == NULL)
		rid = vmh_http_header(resp, "X-Compute-Request-Id");
	if (rid == NULL)
		rid = "no request id";
	if (resp->status >= 200 && resp->status < 300) {
		if (strcmp(method, "GET") == 0)
			log_debug("nova: %s: %ld (%s)", what, resp->status,
				  rid);
		else
			log_info("nova: %s: %ld (%s)", what, resp->status, rid);
		if (out == NULL || resp->body.len == 0)
			return VMH_OK;
		if ((*out = json_loadb(vmh_buf_str(&resp->body), resp->body.len,
				       0, &jerr)) == NULL)
			return vmh_error_set(err, VMH_E_DATA, NULL, 0,
					     "Nova: %s: the answer is not "
					     "JSON (%s at byte %d) (%s)",
					     what, jerr.text, jerr.position,
					     rid);
		return VMH_OK;
	}
	vmh_os_error_text(vmh_buf_str(&resp->body), resp->body.len, msg,
			  sizeof(msg));
	switch (resp->status) {
	case 401:
		rc = VMH_E_AUTH;
		break;
	case 403:
		rc = VMH_E_DENIED;
		break;
	case 404:
		rc = VMH_E_NOTFOUND;
		break;
	case 408:
	case 429:
		rc = VMH_E_UNAVAILABLE;
		break;
	case 409:
		rc =
		    strstr(msg, "is locked") != NULL ? VMH_E_DENIED : VMH_E_API;
		break;
	default:
		rc = resp->status >= 500 ? VMH_E_UNAVAILABLE : VMH_E_API;
	}
	log_debug("nova: %s: %ld %s (%s)", what, resp->status, msg, rid);
	return vmh_error_set(err, rc, NULL, 0, "Nova: %s: %ld %s (%s)", what,
			     resp->status, msg, rid);
}

static enum vmh_rc ready(struct vmh_nova *n, struct vmh_error *err);

/*
 * One request with the token and microversion. A 401 renews the token and
 * tries once more (the request was refused, so sending it again is safe).
 * Idempotent requests are also retried on transient failures, with
 * backoff, within the deadline; mutating ones never (the caller re-reads).
 */
static enum vmh_rc
call_raw(struct vmh_nova *n, const char *method, const char *url,
	 const char *path, const char *label, const char *body, int idem,
	 int with_mv, long *status, json_t **out, struct vmh_error *err)
{
	struct vmh_http_response resp;
	struct vmh_http_request req;
	struct vmh_error terr;
	struct hdrs h = { 0 };
	long long deadline = vmh_now_ms() + n->timeout_ms;
	int attempt = 0, reauth = 0;
	enum vmh_rc rc;

	vmh_http_response_init(&resp, n->conf->http_max_response);
	if (status != NULL)
		*status = 0;
	for (;;) {
		vmh_error_init(&terr);
		if ((rc = hdrs_build(n, reauth == 1, &h, with_mv, err)) !=
		    VMH_OK)
			goto done;
		if (reauth == 1)
			reauth = 2;
		memset(&req, 0, sizeof(req));
		req.method = method;
		req.url = url;
		req.headers = h.lines;
		req.body = body;
		req.body_len = body != NULL ? strlen(body) : 0;
		req.idempotent = idem;
		rc = vmh_http_perform(n->http, &req, &resp, &terr);
		hdrs_free(&h);
		if (rc == VMH_OK && resp.status == 401 && reauth == 0) {
			log_info("nova: %s %s: token refused, authenticating "
				 "again",
				 method, path);
			reauth = 1;
			continue;
		}
		if (idem && attempt < NOVA_RETRIES &&
		    (rc == VMH_E_UNAVAILABLE || rc == VMH_E_TIMEOUT ||
		     (rc == VMH_OK &&
		      (resp.status >= 500 || resp.status == 429))) &&
		    vmh_now_ms() + (NOVA_BACKOFF_MS << attempt) < deadline) {
			log_debug("nova: %s %s: %s, retrying", method, path,
				  rc != VMH_OK ? terr.text : "server error");
			vmh_sleep_ms(NOVA_BACKOFF_MS << attempt);
			attempt++;
			continue;
		}
		break;
	}
	if (status != NULL)
		*status = rc == VMH_OK ? resp.status : 0;
	rc = answer(method, path, label, rc, &terr, &resp, out, err);
done:
	hdrs_free(&h);
	vmh_http_response_free(&resp);
	return rc;
}

/* A call to a path under the compute endpoint. body is taken (decref'd). */
static enum vmh_rc
nova_call(struct vmh_nova *n, const char *method, const char *path,
	  const char *label, json_t *body, long *status, json_t **out,
	  struct vmh_error *err)
{
	struct vmh_buf url;
	char *text = NULL;
	enum vmh_rc rc;

	vmh_buf_init(&url, 8192);
	if (out != NULL)
		*out = NULL;
	if ((rc = ready(n, err)) != VMH_OK)
		goto done;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = nomem(err);
		goto done;
	}
	if (vmh_buf_printf(&url, "%s%s", n->endpoint, path) != VMH_OK) {
		rc = vmh_error_set(err, VMH_E_TOOBIG, NULL, 0,
				   "Nova: URL too long");
		goto done;
	}
	rc = call_raw(n, method, vmh_buf_str(&url), path, label, text,
		      strcmp(method, "GET") == 0, 1, status, out, err);
done:
	free(text);
	json_decref(body);
	vmh_buf_free(&url);
	return rc;
}

/* ------------------------------------------------------ microversions */

static enum vmh_rc
negotiate(struct vmh_nova *n, struct vmh_error *err)
{
	const char *pid = vmh_os_project_id(n->sess), *max = NULL, *min = NULL;
	json_t *doc = NULL, *ver, *v;
	struct vmh_buf root;
	size_t len, i;
	int cmax, cmin, pin = mv_num(n->oc->max_microversion),
			floor = mv_num(n->oc->min_microversion);
	enum vmh_rc rc;

	vmh_buf_init(&root, 4096);
	/* The catalog URL may end in the project id; the version document
	 * lives at the versioned root without it. */
	len = strlen(n->endpoint);
	if (pid != NULL && len > strlen(pid) + 1 &&
	    strcmp(n->endpoint + len - strlen(pid), pid) == 0 &&
	    n->endpoint[len - strlen(pid) - 1] == '/')
		len -= strlen(pid) + 1;
	if (vmh_buf_append(&root, n->endpoint, len) != VMH_OK ||
	    vmh_buf_puts(&root, "/") != VMH_OK) {
		rc = vmh_error_set(err, VMH_E_TOOBIG, NULL, 0, "URL too long");
		goto done;
	}
	if ((rc = call_raw(n, "GET", vmh_buf_str(&root), "/", "versions", NULL,
			   1, 0, NULL, &doc, err)) != VMH_OK)
		goto done;
	ver = json_object_get(doc, "version");
	if (!json_is_object(ver)) /* an unversioned root: the v2.1 entry */
		json_array_foreach(json_object_get(doc, "versions"), i,
				   v) if (jstr(v, "id") != NULL &&
					  strcmp(jstr(v, "id"), "v2.1") == 0)
		    ver = v;
	max = jstr(ver, "version");
	min = jstr(ver, "min_version");
	cmax = mv_num(max);
	cmin = mv_num(min);
	if (cmax < 0) {
		rc = vmh_error_set(err, VMH_E_API, vmh_buf_str(&root), 0,
				   "Nova does not announce compute API "
				   "microversions (no \"version\" in its "
				   "version document); vmheal needs %s or "
				   "later",
				   n->oc->min_microversion);
		goto done;
	}
	if (cmax < floor) {
		rc = vmh_error_set(err, VMH_E_API, vmh_buf_str(&root), 0,
				   "Nova supports compute API microversions "
				   "up to %s only; vmheal needs %s or later "
				   "(OpenStack Pike and newer): refusing to "
				   "work with this cloud",
				   max, n->oc->min_microversion);
		goto done;
	}
	/* Pin one version for the whole run: the newest we know well, else
	 * the floor (force-down + disable in one PUT, uuids). */
	if (cmax >= pin)
		snprintf(n->mv, sizeof(n->mv), "%s", n->oc->max_microversion);
	else
		snprintf(n->mv, sizeof(n->mv), "%s", n->oc->min_microversion);
	n->mvnum = mv_num(n->mv);
	if (cmin > n->mvnum) {
		rc = vmh_error_set(err, VMH_E_API, vmh_buf_str(&root), 0,
				   "Nova's oldest microversion is %s, newer "
				   "than vmheal's %s",
				   min, n->mv);
		n->mv[0] = '\0';
		goto done;
	}
	free(n->max_version);
	if ((n->max_version = strdup(max)) == NULL) {
		rc = nomem(err);
		goto done;
	}
	snprintf(n->mvhdr[0], sizeof(n->mvhdr[0]),
		 "OpenStack-API-Version: compute %s", n->mv);
	snprintf(n->mvhdr[1], sizeof(n->mvhdr[1]),
		 "X-OpenStack-Nova-API-Version: %s", n->mv);
	log_info("nova: %s, microversions %s..%s, using %s", n->endpoint,
		 min ? min : "?", max, n->mv);
done:
	json_decref(doc);
	vmh_buf_free(&root);
	return rc;
}

static enum vmh_rc
ready(struct vmh_nova *n, struct vmh_error *err)
{
	const char *tok;
	enum vmh_rc rc;

	if ((rc = vmh_os_token(n->sess, 0, &tok, err)) != VMH_OK)
		return rc;
	if (n->endpoint == NULL &&
	    (rc = vmh_os_endpoint(n->sess, "compute", &n->endpoint, err)) !=
		VMH_OK)
		return rc;
	if (n->mv[0] == '\0')
		return negotiate(n, err);
	return VMH_OK;
}

static enum vmh_rc
need_admin(struct vmh_nova *n, const char *why, struct vmh_error *err)
{
	enum vmh_rc rc;

	if ((rc = ready(n, err)) != VMH_OK)
		return rc;
	if (vmh_os_is_admin(n->sess))
		return VMH_OK;
	return vmh_error_set(err, VMH_E_DENIED, NULL, 0,
			     "the OpenStack user has no admin role in its "
			     "project; %s needs it (Nova shows a non-admin "
			     "only its own servers and ignores the host "
			     "filter)",
			     why);
}

/* --------------------------------------------------------------- mapping */

static char **
strv_new(size_t n)
{
	return calloc(n + 1, sizeof(char *));
}

/* One entry of a server's "addresses": its family (AF_INET, AF_INET6) and
 * canonical text, or 0 when it is not an object with a numeric "addr". */
static int
addr_entry(const json_t *e, char *text, size_t len)
{
	unsigned char bin[sizeof(struct in6_addr)];
	const char *a = jstr(e, "addr");

	if (!json_is_object(e) || a == NULL)
		return 0;
	if (inet_pton(AF_INET, a, bin) == 1)
		return inet_ntop(AF_INET, bin, text, (socklen_t)len) != NULL
			   ? AF_INET
			   : 0;
	if (inet_pton(AF_INET6, a, bin) == 1)
		return inet_ntop(AF_INET6, bin, text, (socklen_t)len) != NULL
			   ? AF_INET6
			   : 0;
	return 0;
}

/*
 * vmh_vm.ips from a server's "addresses" ({"net": [{"addr": "10.0.0.5",
 * "version": 4, "OS-EXT-IPS:type": "fixed"}, ...], ...}): fixed addresses
 * (or entries without a type) first, then floating ones, IPv4 before IPv6
 * within each, networks and entries in Nova's order, without duplicates,
 * at most NOVA_MAX_ADDRS. Entries that are not objects, or whose addr is
 * not a numeric address, are skipped; the family comes from the address
 * itself, not from "version". *out stays NULL when none is usable.
 */
static int
server_addrs(json_t *addresses, char ***out)
{
	static const struct {
		int floating;
		int family;
	} pass[] = {
		{ 0, AF_INET },
		{ 0, AF_INET6 },
		{ 1, AF_INET },
		{ 1, AF_INET6 },
	};
	char text[INET6_ADDRSTRLEN], **v = NULL;
	const char *net, *type;
	json_t *list, *e;
	size_t p, i, k, n = 0;

	*out = NULL;
	if (!json_is_object(addresses))
		return 0;
	for (p = 0; p < sizeof(pass) / sizeof(pass[0]); p++)
		json_object_foreach(addresses, net, list)
		{
			if (!json_is_array(list))
				continue;
			json_array_foreach(list, i, e)
			{
				if (n >= NOVA_MAX_ADDRS)
					goto done;
				type = jstr(e, "OS-EXT-IPS:type");
				if ((type != NULL &&
				     strcmp(type, "floating") == 0) !=
					pass[p].floating ||
				    addr_entry(e, text, sizeof(text)) !=
					pass[p].family)
					continue;
				for (k = 0; k < n && strcmp(v[k], text) != 0;
				     k++)
					;
				if (k < n)
					continue;
				if (v == NULL &&
				    (v = strv_new(NOVA_MAX_ADDRS)) == NULL)
					return -1;
				if ((v[n] = strdup(text)) == NULL) {
					for (k = 0; k < n; k++)
						free(v[k]);
					free(v);
					return -1;
				}
				n++;
			}
		}
done:
	*out = v;
	return 0;
}

static enum vmh_rc
service_to_host(const json_t *s, struct vmh_host *h, struct vmh_error *err)
{
	const char *host = jstr(s, "host"), *state = jstr(s, "state"),
		   *status = jstr(s, "status"),
		   *reason = jstr(s, "disabled_reason"),
		   *zone = jstr(s, "zone");
	const json_t *id = json_object_get(s, "id");
	int forced = json_is_true(json_object_get(s, "forced_down"));
	char text[300];
	size_t k = 0;

	memset(h, 0, sizeof(*h));
	h->raw_state = -1;
	if (host == NULL || state == NULL || status == NULL ||
	    !json_is_string(id))
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "Nova: a compute service without host, "
				     "state, status or uuid id");
	if (forced && strcmp(status, "disabled") == 0)
		h->state = VMH_HOST_OFFLINE;
	else if (strcmp(state, "up") != 0)
		h->state = VMH_HOST_DOWN;
	else if (strcmp(status, "disabled") == 0)
		h->state = VMH_HOST_DISABLED;
	else
		h->state = VMH_HOST_UP;
	snprintf(text, sizeof(text), "%s/%s%s%s%s", state, status,
		 forced ? " (forced down)" : "", reason ? ": " : "",
		 reason ? reason : "");
	if ((h->id = strdup(json_string_value(id))) == NULL ||
	    (h->name = strdup(host)) == NULL ||
	    (h->state_text = strdup(text)) == NULL ||
	    (h->vm_ids = strv_new(0)) == NULL ||
	    (h->attrs = strv_new(6)) == NULL ||
	    (h->document = json_dumps(s, JSON_COMPACT)) == NULL)
		goto fail;
	if (zone != NULL && ((h->attrs[k++] = strdup("ZONE")) == NULL ||
			     (h->attrs[k++] = strdup(zone)) == NULL))
		goto fail;
	if ((h->attrs[k++] = strdup("FORCED_DOWN")) == NULL ||
	    (h->attrs[k++] = strdup(forced ? "true" : "false")) == NULL)
		goto fail;
	if (reason != NULL &&
	    ((h->attrs[k++] = strdup("DISABLED_REASON")) == NULL ||
	     (h->attrs[k++] = strdup(reason)) == NULL))
		goto fail;
	return VMH_OK;
fail:
	vmh_host_clear(h);
	return nomem(err);
}

static int
task_in_flight(const char *task)
{
	static const char *const prefixes[] = {
		"rebuild",    "resize",     "migrat",
		"spawning",   "scheduling", "block_device_mapping",
		"networking", "deleting",   "shelving",
		"unshelving", NULL,
	};
	size_t i;

	for (i = 0; prefixes[i] != NULL; i++)
		if (strncmp(task, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

static enum vmh_vm_state
map_vm_state(const char *vm_state, const char *task, const char *host_status)
{
	if (vm_state == NULL)
		return VMH_VM_OTHER;
	if (strcmp(vm_state, "deleted") == 0 ||
	    strcmp(vm_state, "soft-delete") == 0)
		return VMH_VM_DONE;
	/* Work another party is doing to the server (an evacuation or
	 * rebuild, a migration, a build, a delete): in flight. Other tasks
	 * (a reboot, a power change) are casts to the server's compute that
	 * hang forever when it is dead, so the vm_state decides. */
	if (task != NULL && task_in_flight(task))
		return VMH_VM_TRANSIENT;
	if (strcmp(vm_state, "active") == 0) {
		if (host_status != NULL &&
		    (strcmp(host_status, "DOWN") == 0 ||
		     strcmp(host_status, "UNKNOWN") == 0))
			return VMH_VM_UNKNOWN;
		return VMH_VM_RUNNING;
	}
	if (strcmp(vm_state, "error") == 0)
		return VMH_VM_FAILED;
	if (strcmp(vm_state, "stopped") == 0)
		return VMH_VM_POWEROFF;
	if (strcmp(vm_state, "building") == 0)
		return VMH_VM_TRANSIENT;
	if (strcmp(vm_state, "paused") == 0 ||
	    strcmp(vm_state, "suspended") == 0)
		return VMH_VM_SUSPENDED;
	if (strncmp(vm_state, "shelved", 7) == 0)
		return VMH_VM_STOPPED;
	return VMH_VM_OTHER;
}

static enum vmh_rc
server_to_vm(struct vmh_nova *n, const json_t *s, struct vmh_vm *vm,
	     struct vmh_error *err)
{
	const char *id = jstr(s, "id"), *name = jstr(s, "name"),
		   *status = jstr(s, "status"),
		   *vm_state = jstr(s, "OS-EXT-STS:vm_state"),
		   *task = jstr(s, "OS-EXT-STS:task_state"),
		   *host = jstr(s, "OS-EXT-SRV-ATTR:host"),
		   *hstat = jstr(s, "host_status"),
		   *fault = jstr(json_object_get(s, "fault"), "message"), *src;
	json_t *md = json_object_get(s, "metadata");
	char text[NOVA_STATE_TEXT];
	const char *k;
	json_t *v;
	size_t i = 0;
	long long t;

	memset(vm, 0, sizeof(*vm));
	vm->raw_state = vm->raw_lcm = -1;
	vm->ds_id = vm->history_seq = -1;
	if (id == NULL || status == NULL)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "Nova: a server without id or status");
	vm->state = map_vm_state(vm_state, task, hstat);
	if (task != NULL)
		snprintf(text, sizeof(text), "%s/%s", status, task);
	else if (fault != NULL && vm->state == VMH_VM_FAILED)
		snprintf(text, sizeof(text), "%s: %s", status, fault);
	else
		snprintf(text, sizeof(text), "%s", status);
	/* An evacuation this process started, with the server back to no
	 * task on its old host: either Nova is finishing it (it clears the
	 * task a moment before it moves the host) or the destination refused
	 * the claim (Nova does not reschedule a rebuild). The migration
	 * record tells them apart: settle_evacuation() asks. */
	src = evac_source(n, id);
	if (src != NULL && task == NULL && host != NULL &&
	    strcmp(host, src) == 0 && vm->state != VMH_VM_FAILED &&
	    vm->state != VMH_VM_DONE) {
		vm->state = VMH_VM_TRANSIENT;
		snprintf(text, sizeof(text), "%s", NOVA_EVAC_PENDING);
	}
	if ((vm->id = strdup(id)) == NULL ||
	    (name != NULL && (vm->name = strdup(name)) == NULL) ||
	    (vm->state_text = strdup(text)) == NULL ||
	    (host != NULL && ((vm->host_name = strdup(host)) == NULL ||
			      (vm->host_id = strdup(host)) == NULL)))
		goto fail;
	hint_set(n, id, host);
	vm->locked = json_is_true(json_object_get(s, "locked"));
	vm->busy = task != NULL;
	if (vmh_os_parse_time(jstr(s, "created"), &t) == VMH_OK)
		vm->stime = t;
	if ((vm->attrs = strv_new(json_is_object(md) ? 2 * json_object_size(md)
						     : 0)) == NULL)
		goto fail;
	if (json_is_object(md))
		json_object_foreach(md, k, v)
		{
			if (!json_is_string(v))
				continue;
			if ((vm->attrs[i++] = strdup(k)) == NULL ||
			    (vm->attrs[i++] = strdup(json_string_value(v))) ==
				NULL)
				goto fail;
		}
	if (server_addrs(json_object_get(s, "addresses"), &vm->ips) < 0)
		goto fail;
	return VMH_OK;
fail:
	vmh_vm_clear(vm);
	return nomem(err);
}

/* For a server server_to_vm() could not judge: the newest evacuation
 * migration decides (failed or error: the evacuation failed; otherwise
 * it is still finishing). */
static enum vmh_rc
settle_evacuation(struct vmh_nova *n, struct vmh_vm *vm, struct vmh_error *err)
{
	char path[256], text[NOVA_STATE_TEXT];
	json_t *doc = NULL, *m;
	const char *st, *dest;
	enum vmh_rc rc;

	if (vm->state != VMH_VM_TRANSIENT || vm->state_text == NULL ||
	    strcmp(vm->state_text, NOVA_EVAC_PENDING) != 0)
		return VMH_OK;
	snprintf(path, sizeof(path),
		 "/os-migrations?migration_type=evacuation&instance_uuid=%s",
		 vm->id);
	if ((rc = nova_call(n, "GET", path, NULL, NULL, NULL, &doc, err)) !=
	    VMH_OK)
		return rc;
	m = json_array_get(json_object_get(doc, "migrations"), 0);
	st = jstr(m, "status");
	dest = jstr(m, "dest_compute");
	if (st != NULL &&
	    (strcmp(st, "failed") == 0 || strcmp(st, "error") == 0)) {
		char *copy;

		snprintf(text, sizeof(text),
			 "ACTIVE: evacuation failed (migration %s%s%s), still "
			 "on %s; see its instance actions",
			 st, dest ? " to " : "", dest ? dest : "",
			 vm->host_name ? vm->host_name : "?");
		if ((copy = strdup(text)) == NULL) {
			json_decref(doc);
			return nomem(err);
		}
		free(vm->state_text);
		vm->state_text = copy;
		vm->state = VMH_VM_FAILED;
	}
	json_decref(doc);
	return VMH_OK;
}

/* ------------------------------------------------------------- driver */

static void
nova_free(struct vmh_nova *n)
{
	size_t i;

	if (n == NULL)
		return;
	vmh_os_session_free(n->sess);
	vmh_http_free(n->http);
	vmh_os_creds_free(n->creds);
	vmh_openstack_conf_free(n->own_oc);
	free(n->endpoint);
	free(n->max_version);
	for (i = 0; i < n->n_evacs; i++) {
		free(n->evacs[i].id);
		free(n->evacs[i].source);
	}
	free(n->evacs);
	for (i = 0; i < n->n_hints; i++) {
		free(n->hints[i].id);
		free(n->hints[i].host);
	}
	free(n->hints);
	free(n);
}

static enum vmh_rc
drv_open(const struct vmh_conf *conf, void **state, struct vmh_error *err)
{
	struct vmh_http_opts ho = { 0 };
	struct vmh_nova *n;
	enum vmh_rc rc;

	*state = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return nomem(err);
	n->conf = conf;
	n->oc = conf->openstack;
	if (n->oc == NULL) {
		if ((rc = vmh_openstack_conf_default(&n->own_oc, err)) !=
		    VMH_OK)
			goto fail;
		n->oc = n->own_oc;
	}
	if ((rc = vmh_os_creds_load(conf, n->oc, &n->creds, err)) != VMH_OK)
		goto fail;
	n->timeout_ms = n->oc->timeout_s * 1000L;
	n->concurrency =
	    conf->http_max_concurrency > 0 ? conf->http_max_concurrency : 8;
	ho.timeout_ms = n->timeout_ms;
	ho.connect_timeout_ms = n->oc->connect_timeout_s * 1000L;
	ho.max_response = conf->http_max_response;
	ho.max_concurrency = n->concurrency;
	ho.ca_file = n->creds->cacert;
	ho.cert_file = n->creds->cert; /* file names only, Keystone and Nova */
	ho.key_file = n->creds->key;
	ho.insecure = n->creds->insecure;
	if (n->creds->insecure)
		log_warnx("openstack: TLS certificates are NOT verified "
			  "(insecure / OS_INSECURE / verify: false)");
	if ((rc = vmh_http_new(&ho, &n->http, err)) != VMH_OK ||
	    (rc = vmh_os_session_new(n->creds, n->http, n->timeout_ms, &n->sess,
				     err)) != VMH_OK)
		goto fail;
	log_debug("openstack: credentials from %s, Keystone %s",
		  n->creds->origin, n->creds->auth_url);
	if (n->creds->cert != NULL) /* file names; the key is never read */
		log_debug("openstack: TLS client certificate %s (%s)",
			  n->creds->cert, n->creds->cert_from);
	*state = n;
	return VMH_OK;
fail:
	nova_free(n);
	return rc;
}

static void
drv_close(void *state)
{
	nova_free(state);
}

static enum vmh_rc
drv_version(void *state, char **version, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	enum vmh_rc rc;

	if ((rc = ready(n, err)) != VMH_OK)
		return rc;
	if ((*version = strdup(n->max_version)) == NULL)
		return nomem(err);
	return VMH_OK;
}

static enum vmh_rc
drv_monitoring_interval(void *state, int *seconds, struct vmh_error *err)
{
	struct vmh_nova *n = state;

	(void)err;
	*seconds = n->oc->monitoring_interval_s;
	return VMH_OK;
}

/* GET /os-services?binary=nova-compute[&host=H] */
static enum vmh_rc
list_services(struct vmh_nova *n, const char *host, json_t **out,
	      struct vmh_error *err)
{
	struct vmh_buf path;
	json_t *doc = NULL;
	enum vmh_rc rc;

	*out = NULL;
	vmh_buf_init(&path, 2048);
	if ((rc = need_admin(n, "listing compute services", err)) != VMH_OK)
		goto done;
	if (vmh_buf_puts(&path, "/os-services?binary=nova-compute") != VMH_OK ||
	    (host != NULL && (vmh_buf_puts(&path, "&host=") != VMH_OK ||
			      url_escape(&path, host) != VMH_OK))) {
		rc = vmh_error_set(err, VMH_E_USAGE, NULL, 0,
				   "host name too long");
		goto done;
	}
	if ((rc = nova_call(n, "GET", vmh_buf_str(&path), NULL, NULL, NULL,
			    &doc, err)) != VMH_OK)
		goto done;
	if (!json_is_array(json_object_get(doc, "services"))) {
		rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
				   "Nova: GET /os-services: no services list");
		goto done;
	}
	*out = json_incref(json_object_get(doc, "services"));
done:
	json_decref(doc);
	vmh_buf_free(&path);
	return rc;
}

static enum vmh_rc
drv_host_get(void *state, const char *name_or_id, struct vmh_host **out,
	     struct vmh_error *err)
{
	struct vmh_nova *n = state;
	json_t *svcs = NULL, *s, *found = NULL;
	struct vmh_buf names;
	size_t i, count = 0;
	enum vmh_rc rc;

	vmh_buf_init(&names, 2048);
	if ((rc = list_services(n, name_or_id, &svcs, err)) != VMH_OK)
		goto done;
	json_array_foreach(svcs, i,
			   s) if (jstr(s, "host") != NULL &&
				  strcmp(jstr(s, "host"), name_or_id) == 0)
	{
		found = s;
		count++;
	}
	if (count == 0) {
		/* Not a host name: maybe a service id; say what exists. */
		json_decref(svcs);
		if ((rc = list_services(n, NULL, &svcs, err)) != VMH_OK)
			goto done;
		json_array_foreach(svcs, i, s)
		{
			const char *id = jstr(s, "id");

			vmh_buf_printf(&names, "%s%s", names.len ? ", " : "",
				       jstr(s, "host") ? jstr(s, "host") : "?");
			if (id != NULL && strcmp(id, name_or_id) == 0) {
				found = s;
				count++;
			}
		}
	}
	if (count == 0) {
		rc = vmh_error_set(err, VMH_E_NOTFOUND, NULL, 0,
				   "Nova has no nova-compute service on host "
				   "\"%s\" (it has: %s)",
				   name_or_id,
				   names.len ? vmh_buf_str(&names) : "none");
		goto done;
	}
	if (count > 1) {
		rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
				   "Nova lists %zu nova-compute services for "
				   "host \"%s\"",
				   count, name_or_id);
		goto done;
	}
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		rc = nomem(err);
		goto done;
	}
	if ((rc = service_to_host(found, *out, err)) != VMH_OK) {
		free(*out);
		*out = NULL;
	}
done:
	json_decref(svcs);
	vmh_buf_free(&names);
	return rc;
}

static enum vmh_rc
drv_host_list(void *state, struct vmh_host_list *out, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	json_t *svcs = NULL, *s;
	size_t i;
	enum vmh_rc rc;

	if ((rc = list_services(n, NULL, &svcs, err)) != VMH_OK)
		return rc;
	if ((out->hosts = calloc(json_array_size(svcs) + 1,
				 sizeof(*out->hosts))) == NULL) {
		rc = nomem(err);
		goto done;
	}
	json_array_foreach(svcs, i, s)
	{
		if ((rc = service_to_host(s, &out->hosts[out->n], err)) !=
		    VMH_OK)
			goto done;
		out->n++;
	}
done:
	if (rc != VMH_OK)
		vmh_host_list_free(out);
	json_decref(svcs);
	return rc;
}

/* The reason as Nova will store it: not starting with "AUTO:" (the
 * libvirt driver re-enables such services by itself), at most 255 bytes,
 * cut on a UTF-8 character boundary. */
static void
service_reason(const char *reason, char *dst, size_t dstlen)
{
	size_t l;

	if (reason == NULL || *reason == '\0')
		reason = "vmheal: host failed and was fenced";
	snprintf(dst, dstlen, "%s%s",
		 strncmp(reason, "AUTO:", 5) == 0 ? "vmheal " : "", reason);
	l = strlen(dst);
	if (l > NOVA_REASON_MAX) {
		l = NOVA_REASON_MAX;
		while (l > 0 && ((unsigned char)dst[l] & 0xc0) == 0x80)
			l--;
		dst[l] = '\0';
	}
}

static enum vmh_rc
put_service(struct vmh_nova *n, const char *id, json_t *body, json_t **svc,
	    struct vmh_error *err)
{
	char path[160];
	json_t *doc = NULL;
	enum vmh_rc rc;

	if (svc != NULL)
		*svc = NULL;
	if (!id_ok(id))
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "Nova: bad service id");
	snprintf(path, sizeof(path), "/os-services/%s", id);
	rc = nova_call(n, "PUT", path, NULL, body, NULL, &doc, err);
	if (rc == VMH_OK && svc != NULL)
		*svc = json_incref(json_object_get(doc, "service"));
	json_decref(doc);
	return rc;
}

static enum vmh_rc
drv_host_disable(void *state, const struct vmh_host *h, int offline,
		 const char *reason, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	struct vmh_host *fresh = NULL;
	char why[NOVA_REASON_MAX + 16];
	const char *forced;
	json_t *body;
	enum vmh_rc rc;

	/* Nova evacuates only from a host whose service is down; forcing it
	 * down is the assertion that the host is fenced, so it is done
	 * whatever `offline` says. Both fields in one PUT: a disable alone
	 * on a service Nova still believes up makes nova-api wait for the
	 * dead compute over RPC. */
	(void)offline;
	if ((rc = drv_host_get(n, h->name, &fresh, err)) != VMH_OK)
		return rc;
	forced = vmh_attr_get(fresh->attrs, "FORCED_DOWN");
	if (fresh->state == VMH_HOST_OFFLINE && forced != NULL &&
	    strcmp(forced, "true") == 0) {
		log_info("nova: %s is already forced down and disabled (%s)",
			 fresh->name, fresh->state_text);
		goto done;
	}
	service_reason(reason, why, sizeof(why));
	if ((body = json_pack("{s:b,s:s,s:s}", "forced_down", 1, "status",
			      "disabled", "disabled_reason", why)) == NULL) {
		rc = nomem(err);
		goto done;
	}
	if ((rc = put_service(n, fresh->id, body, NULL, err)) == VMH_OK)
		log_notice("nova: %s forced down and disabled: %s", fresh->name,
			   why);
done:
	vmh_host_free(fresh);
	return rc;
}

static enum vmh_rc
drv_host_enable(void *state, const struct vmh_host *h, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	struct vmh_host *cur = NULL;
	const char *forced;
	long long deadline;
	json_t *svc = NULL;
	enum vmh_rc rc;

	if ((rc = drv_host_get(n, h->name, &cur, err)) != VMH_OK)
		return rc;
	forced = vmh_attr_get(cur->attrs, "FORCED_DOWN");
	if (forced != NULL && strcmp(forced, "true") == 0) {
		/* Nova itself refuses this until the restarted compute has
		 * cleaned up what was evacuated from it. */
		struct vmh_error e;

		vmh_error_init(&e);
		rc = put_service(
		    n, cur->id, json_pack("{s:b}", "forced_down", 0), NULL, &e);
		if (rc == VMH_E_API)
			rc = vmh_error_set(
			    err, VMH_E_API, NULL, 0,
			    "%s stays forced down: start nova-compute on it "
			    "and let it clean up its evacuated servers first "
			    "(%s)",
			    cur->name, e.text);
		else if (rc != VMH_OK && err != NULL && err->code == VMH_OK)
			*err = e;
		if (rc != VMH_OK)
			goto done;
		log_notice("nova: %s is no longer forced down", cur->name);
	} else if (cur->state == VMH_HOST_DOWN) {
		rc = vmh_error_set(err, VMH_E_API, NULL, 0,
				   "%s: its nova-compute service is down "
				   "(%s); start it before bringing the host "
				   "back",
				   cur->name, cur->state_text);
		goto done;
	}
	/* Enable only once the service reports up: Nova cannot reach a down
	 * compute to clear its placement trait, and the host would stay
	 * unschedulable for a while. */
	deadline = vmh_now_ms() + n->oc->enable_wait_s * 1000LL;
	for (;;) {
		vmh_host_free(cur);
		cur = NULL;
		if ((rc = drv_host_get(n, h->name, &cur, err)) != VMH_OK)
			goto done;
		if (cur->state == VMH_HOST_UP ||
		    cur->state == VMH_HOST_DISABLED)
			break;
		if (vmh_now_ms() >= deadline) {
			rc = vmh_error_set(err, VMH_E_API, NULL, 0,
					   "%s: nova-compute does not report "
					   "up (%s); it stays disabled. Start "
					   "it and run again",
					   cur->name, cur->state_text);
			goto done;
		}
		vmh_sleep_ms(1000);
	}
	if (cur->state == VMH_HOST_DISABLED) {
		if ((rc = put_service(n, cur->id,
				      json_pack("{s:s}", "status", "enabled"),
				      &svc, err)) != VMH_OK)
			goto done;
		log_notice("nova: %s enabled again", cur->name);
	}
done:
	json_decref(svc);
	vmh_host_free(cur);
	return rc;
}

static enum vmh_rc
list_append(struct vmh_vm_list *out, size_t *cap, struct vmh_error *err)
{
	struct vmh_vm *v;
	size_t ncap;

	if (out->n < *cap)
		return VMH_OK;
	ncap = *cap ? *cap * 2 : 64;
	if ((v = realloc(out->vms, ncap * sizeof(*v))) == NULL)
		return nomem(err);
	out->vms = v;
	*cap = ncap;
	return VMH_OK;
}

/*
 * Every server placed on host, all projects, every page, exact host
 * matches only (Nova's filter may match more: cmp1 also finds cmp10 on
 * some clouds), as a JSON array (*out, the caller's).
 */
static enum vmh_rc
list_host_servers(struct vmh_nova *n, const char *host, json_t **out,
		  struct vmh_error *err)
{
	struct vmh_buf path;
	char *marker = NULL;
	json_t *doc = NULL, *s, *servers, *all;
	size_t i, pages = 0, dropped = 0;
	enum vmh_rc rc;

	*out = NULL;
	vmh_buf_init(&path, 4096);
	if ((all = json_array()) == NULL)
		return nomem(err);
	if ((rc = need_admin(n, "listing the servers of a host", err)) !=
	    VMH_OK)
		goto done;
	for (;;) {
		int more;

		vmh_buf_reset(&path);
		if (vmh_buf_puts(&path,
				 "/servers/detail?all_tenants=1&host=") !=
			VMH_OK ||
		    url_escape(&path, host) != VMH_OK ||
		    (marker != NULL &&
		     (vmh_buf_puts(&path, "&marker=") != VMH_OK ||
		      url_escape(&path, marker) != VMH_OK))) {
			rc = vmh_error_set(err, VMH_E_USAGE, NULL, 0,
					   "host name too long");
			goto done;
		}
		json_decref(doc);
		doc = NULL;
		if ((rc = nova_call(n, "GET", vmh_buf_str(&path), NULL, NULL,
				    NULL, &doc, err)) != VMH_OK)
			goto done;
		servers = json_object_get(doc, "servers");
		if (!json_is_array(servers)) {
			rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
					   "Nova: GET /servers/detail: no "
					   "servers list");
			goto done;
		}
		json_array_foreach(servers, i, s)
		{
			const json_t *hv =
			    json_object_get(s, "OS-EXT-SRV-ATTR:host");

			if (hv == NULL) {
				rc = vmh_error_set(
				    err, VMH_E_DENIED, NULL, 0,
				    "Nova: servers come without "
				    "OS-EXT-SRV-ATTR:host (not an admin "
				    "view): refusing to guess which are on "
				    "%s",
				    host);
				goto done;
			}
			if (!json_is_string(hv) ||
			    strcmp(json_string_value(hv), host) != 0) {
				dropped++;
				continue;
			}
			if (json_array_append(all, s) < 0) {
				rc = nomem(err);
				goto done;
			}
		}
		more = 0;
		json_array_foreach(json_object_get(doc, "servers_links"), i, s)
		    more |= jstr(s, "rel") != NULL &&
			    strcmp(jstr(s, "rel"), "next") == 0;
		if (!more || json_array_size(servers) == 0)
			break;
		/* Next page after the last server of this one (what the
		 * next link says too, without trusting its host part). */
		free(marker);
		s = json_array_get(servers, json_array_size(servers) - 1);
		if (jstr(s, "id") == NULL ||
		    (marker = strdup(jstr(s, "id"))) == NULL) {
			rc = jstr(s, "id") == NULL
				 ? vmh_error_set(err, VMH_E_DATA, NULL, 0,
						 "Nova: a server without id")
				 : nomem(err);
			goto done;
		}
		if (++pages >= NOVA_MAX_PAGES) {
			rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
					   "Nova: more than %d pages of "
					   "servers",
					   NOVA_MAX_PAGES);
			goto done;
		}
	}
	if (dropped > 0)
		log_debug("nova: %zu server(s) matched the host filter "
			  "\"%s\" but run on another host: ignored",
			  dropped, host);
	*out = all;
	all = NULL;
done:
	json_decref(all);
	free(marker);
	json_decref(doc);
	vmh_buf_free(&path);
	return rc;
}

static enum vmh_rc
drv_vms_on_host(void *state, const struct vmh_host *h, struct vmh_vm_list *out,
		struct vmh_error *err)
{
	struct vmh_nova *n = state;
	json_t *all = NULL, *s;
	size_t i, cap = 0;
	enum vmh_rc rc;

	if ((rc = list_host_servers(n, h->name, &all, err)) != VMH_OK)
		return rc;
	json_array_foreach(all, i, s)
	{
		if ((rc = list_append(out, &cap, err)) != VMH_OK ||
		    (rc = server_to_vm(n, s, &out->vms[out->n], err)) != VMH_OK)
			goto done;
		if (out->vms[out->n].state == VMH_VM_DONE)
			vmh_vm_clear(&out->vms[out->n]);
		else
			out->n++;
	}
done:
	if (rc != VMH_OK)
		vmh_vm_list_free(out);
	json_decref(all);
	return rc;
}

static enum vmh_rc
get_server(struct vmh_nova *n, const char *id, json_t **server,
	   struct vmh_error *err)
{
	char path[128];
	json_t *doc = NULL;
	enum vmh_rc rc;

	*server = NULL;
	if (!id_ok(id))
		return vmh_error_set(err, VMH_E_NOTFOUND, NULL, 0,
				     "\"%s\" is not a Nova server id",
				     id != NULL ? id : "");
	snprintf(path, sizeof(path), "/servers/%s", id);
	if ((rc = nova_call(n, "GET", path, NULL, NULL, NULL, &doc, err)) !=
	    VMH_OK)
		return rc;
	if (!json_is_object(json_object_get(doc, "server"))) {
		json_decref(doc);
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "Nova: GET %s: no server object", path);
	}
	*server = json_incref(json_object_get(doc, "server"));
	json_decref(doc);
	return VMH_OK;
}

static enum vmh_rc
drv_vm_get(void *state, const char *id, struct vmh_vm **out,
	   struct vmh_error *err)
{
	struct vmh_nova *n = state;
	json_t *s = NULL;
	enum vmh_rc rc;

	if ((rc = get_server(n, id, &s, err)) != VMH_OK)
		return rc;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		rc = nomem(err);
	else if ((rc = server_to_vm(n, s, *out, err)) != VMH_OK ||
		 (rc = settle_evacuation(n, *out, err)) != VMH_OK) {
		vmh_vm_free(*out);
		*out = NULL;
	}
	json_decref(s);
	return rc;
}

/* ----------------------------------------------------- batched requests */

struct batch_item {
	char *url;
	char path[160];
	const char *method;
	const char *label;
	char *body;
	struct hdrs h;
	long long start;
	int retry; /* 401, or a state conflict worth a second try */
	int sent;
	int settled; /* answered without a request of its own */
};

struct batch {
	struct vmh_nova *n;
	struct batch_item *items;
	size_t n_items;
	/* vms_get */
	const char *const *ids;
	struct vmh_vm_list *vms;
	enum vmh_rc first_rc;
	struct vmh_error *err;
	/* run_ops */
	struct vmh_vm_op *ops;
	vmh_op_cb cb;
	void *ctx;
};

static void
item_clear(struct batch_item *it)
{
	hdrs_free(&it->h);
	free(it->url);
	free(it->body);
	it->url = it->body = NULL;
}

static enum vmh_rc
item_url(struct vmh_nova *n, struct batch_item *it, struct vmh_error *err)
{
	size_t len = strlen(n->endpoint) + strlen(it->path) + 1;

	free(it->url);
	if ((it->url = malloc(len)) == NULL)
		return nomem(err);
	snprintf(it->url, len, "%s%s", n->endpoint, it->path);
	return VMH_OK;
}

static int
get_prepare(void *ctx, size_t i, struct vmh_http_request *req)
{
	struct batch *b = ctx;
	struct batch_item *it = &b->items[i];

	if (it->settled)
		return 1;
	if (hdrs_build(b->n, 0, &it->h, 1, NULL) != VMH_OK)
		return 1;
	it->sent = 1;
	req->method = "GET";
	req->url = it->url;
	req->headers = it->h.lines;
	req->idempotent = 1;
	return 0;
}

/* A VM that is gone, for vms_get. */
static enum vmh_rc
vm_gone(struct vmh_vm *vm, const char *id, struct vmh_error *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->state = VMH_VM_DONE;
	vm->raw_state = vm->raw_lcm = -1;
	vm->ds_id = vm->history_seq = -1;
	if ((vm->id = strdup(id)) == NULL ||
	    (vm->state_text = strdup("DELETED")) == NULL ||
	    (vm->attrs = strv_new(0)) == NULL) {
		vmh_vm_clear(vm);
		return nomem(err);
	}
	return VMH_OK;
}

static void
get_done(void *ctx, size_t i, enum vmh_rc trc, struct vmh_http_response *resp,
	 const struct vmh_error *terr)
{
	struct batch *b = ctx;
	struct batch_item *it = &b->items[i];
	struct vmh_error e;
	json_t *doc = NULL;
	enum vmh_rc rc;

	hdrs_free(&it->h);
	vmh_error_init(&e);
	if (trc == VMH_OK && (resp->status == 401 || resp->status >= 500)) {
		it->retry = 1; /* done again, synchronously */
		return;
	}
	if (trc == VMH_OK && resp->status == 404) {
		rc = vm_gone(&b->vms->vms[i], b->ids[i], &e);
	} else {
		rc = answer("GET", it->path, NULL, trc, terr, resp, &doc, &e);
		if (rc == VMH_OK)
			rc = server_to_vm(b->n, json_object_get(doc, "server"),
					  &b->vms->vms[i], &e);
	}
	if (rc != VMH_OK) {
		if (trc != VMH_OK) {
			it->retry = 1;
			rc = VMH_OK;
		} else if (b->first_rc == VMH_OK) {
			b->first_rc = rc;
			if (b->err != NULL)
				*b->err = e;
		}
	}
	json_decref(doc);
}

/* vms_get's shortcut: when every id was last seen on the same host, one
 * listing of that host settles the ids still there. */
static enum vmh_rc
from_host_listing(struct vmh_nova *n, struct batch *b)
{
	const char *first = hint_get(n, b->ids[0]);
	char *host = NULL;
	json_t *all = NULL, *s;
	size_t i, k;
	enum vmh_rc rc = VMH_OK;

	if (first == NULL)
		return VMH_OK;
	for (i = 1; i < b->vms->n; i++) {
		const char *h = hint_get(n, b->ids[i]);

		if (h == NULL || strcmp(h, first) != 0)
			return VMH_OK;
	}
	/* a copy: server_to_vm() below updates the hints */
	if ((host = strdup(first)) == NULL)
		return nomem(b->err);
	if ((rc = list_host_servers(n, host, &all, b->err)) != VMH_OK)
		goto done;
	json_array_foreach(all, k, s)
	{
		const char *id = jstr(s, "id");

		for (i = 0; id != NULL && i < b->vms->n; i++) {
			if (b->items[i].settled || strcmp(b->ids[i], id) != 0)
				continue;
			if ((rc = server_to_vm(n, s, &b->vms->vms[i],
					       b->err)) != VMH_OK)
				goto done;
			b->items[i].settled = 1;
		}
	}
done:
	free(host);
	json_decref(all);
	return rc;
}

static enum vmh_rc
drv_vms_get(void *state, const char *const *ids, size_t n_ids,
	    struct vmh_vm_list *out, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	struct batch b;
	size_t i;
	enum vmh_rc rc;

	memset(&b, 0, sizeof(b));
	b.n = n;
	b.ids = ids;
	b.vms = out;
	b.err = err;
	if ((rc = ready(n, err)) != VMH_OK)
		return rc;
	if ((out->vms = calloc(n_ids, sizeof(*out->vms))) == NULL ||
	    (b.items = calloc(n_ids, sizeof(*b.items))) == NULL) {
		rc = nomem(err);
		goto done;
	}
	out->n = n_ids;
	for (i = 0; i < n_ids; i++) {
		if (!id_ok(ids[i])) {
			rc = vmh_error_set(err, VMH_E_NOTFOUND, NULL, 0,
					   "\"%s\" is not a Nova server id",
					   ids[i]);
			goto done;
		}
		snprintf(b.items[i].path, sizeof(b.items[i].path),
			 "/servers/%s", ids[i]);
		if ((rc = item_url(n, &b.items[i], err)) != VMH_OK)
			goto done;
	}
	/* Polling many servers that were last seen on one host (an
	 * evacuation being verified): one listing of that host answers for
	 * those still there; only the others are fetched one by one. That
	 * keeps the load on nova-api low while it evacuates. */
	if (n_ids >= NOVA_LIST_MIN && (rc = from_host_listing(n, &b)) != VMH_OK)
		goto done;
	if ((rc = vmh_http_batch(n->http, n_ids, n->concurrency, get_prepare,
				 get_done, &b, err)) != VMH_OK)
		goto done;
	if ((rc = b.first_rc) != VMH_OK)
		goto done;
	/* What the batch could not settle (token refused, transient error,
	 * never started), one by one with the full retry logic. */
	for (i = 0; i < n_ids; i++) {
		json_t *s = NULL;

		if (b.items[i].settled ||
		    (b.items[i].sent && !b.items[i].retry))
			continue;
		rc = get_server(n, ids[i], &s, err);
		if (rc == VMH_E_NOTFOUND && id_ok(ids[i])) {
			vmh_error_init(err);
			rc = vm_gone(&out->vms[i], ids[i], err);
		} else if (rc == VMH_OK) {
			rc = server_to_vm(n, s, &out->vms[i], err);
		}
		json_decref(s);
		if (rc != VMH_OK)
			goto done;
	}
	for (i = 0; i < n_ids; i++)
		if ((rc = settle_evacuation(n, &out->vms[i], err)) != VMH_OK)
			goto done;
done:
	for (i = 0; b.items != NULL && i < n_ids; i++)
		item_clear(&b.items[i]);
	free(b.items);
	if (rc != VMH_OK)
		vmh_vm_list_free(out);
	return rc;
}

/* "KEY=value" lines into {"metadata": {...}} */
static json_t *
metadata_body(const char *arg, struct vmh_error *err)
{
	json_t *md = json_object();
	const char *p = arg, *eol, *eq;

	if (md == NULL)
		return NULL;
	while (p != NULL && *p != '\0') {
		char key[256], val[256];
		size_t kl, vl;

		eol = strchr(p, '\n');
		vl = eol ? (size_t)(eol - p) : strlen(p);
		eq = memchr(p, '=', vl);
		if (eq == NULL || eq == p || (size_t)(eq - p) >= sizeof(key) ||
		    vl - (size_t)(eq - p) - 1 >= sizeof(val)) {
			if (vl > 0) {
				vmh_error_set(err, VMH_E_USAGE, NULL, 0,
					      "metadata line \"%.*s\": want "
					      "KEY=value (at most 255 bytes "
					      "each)",
					      (int)(vl < 60 ? vl : 60), p);
				json_decref(md);
				return NULL;
			}
		} else {
			kl = (size_t)(eq - p);
			memcpy(key, p, kl);
			key[kl] = '\0';
			memcpy(val, eq + 1, vl - kl - 1);
			val[vl - kl - 1] = '\0';
			json_object_set_new(md, key, json_string(val));
		}
		p = eol ? eol + 1 : NULL;
	}
	return json_pack("{s:o}", "metadata", md);
}

/* The request for one op; VMH_OK or an error for op->err. */
static enum vmh_rc
op_request(struct vmh_nova *n, struct vmh_vm_op *op, struct batch_item *it,
	   const char *image, struct vmh_error *err)
{
	json_t *body = NULL;

	it->method = "POST";
	snprintf(it->path, sizeof(it->path), "/servers/%s/action", op->vm_id);
	switch (op->action) {
	case VMH_ACT_RECREATE:
	case VMH_ACT_RESCHED:
		it->label = "evacuate";
		/* No onSharedStorage (2.14+ detects it), no force (2.68+
		 * refuses it, and it bypasses the scheduler). */
		body = op->arg != NULL && *op->arg != '\0'
			   ? json_pack("{s:{s:s}}", "evacuate", "host", op->arg)
			   : json_pack("{s:{}}", "evacuate");
		break;
	case VMH_ACT_DELETE:
		it->label = "delete";
		it->method = "DELETE";
		snprintf(it->path, sizeof(it->path), "/servers/%s", op->vm_id);
		break;
	case VMH_ACT_RESUME:
		it->label = "os-start";
		body = json_pack("{s:n}", "os-start");
		break;
	case VMH_ACT_REBOOT_HARD:
		it->label = "reboot";
		body = json_pack("{s:{s:s}}", "reboot", "type", "HARD");
		break;
	case VMH_ACT_REBUILD:
		it->label = "rebuild";
		if (image == NULL)
			return vmh_error_set(err, VMH_E_API, NULL, 0,
					     "rebuild of %s: no image known "
					     "(volume-backed server?)",
					     op->vm_id);
		body = json_pack("{s:{s:s}}", "rebuild", "imageRef", image);
		break;
	case VMH_ACT_RESET_STATE:
		it->label = "os-resetState";
		if (op->arg != NULL && strcmp(op->arg, "active") != 0 &&
		    strcmp(op->arg, "error") != 0)
			return vmh_error_set(err, VMH_E_USAGE, NULL, 0,
					     "reset-state to \"%s\": Nova "
					     "knows active and error",
					     op->arg);
		body = json_pack("{s:{s:s}}", "os-resetState", "state",
				 op->arg ? op->arg : "active");
		break;
	case VMH_ACT_LOCK:
		it->label = "lock";
		body = n->mvnum >= 2073
			   ? json_pack("{s:{s:s}}", "lock", "locked_reason",
				       op->arg && *op->arg ? op->arg
							   : n->oc->lock_reason)
			   : json_pack("{s:n}", "lock");
		break;
	case VMH_ACT_UNLOCK:
		it->label = "unlock";
		body = json_pack("{s:n}", "unlock");
		break;
	case VMH_ACT_UPDATE:
		it->label = "metadata";
		snprintf(it->path, sizeof(it->path), "/servers/%s/metadata",
			 op->vm_id);
		if ((body = metadata_body(op->arg, err)) == NULL)
			return err != NULL && err->code != VMH_OK ? err->code
								  : nomem(err);
		break;
	default:
		return vmh_error_set(err, VMH_E_API, NULL, 0,
				     "%s has no equivalent on OpenStack",
				     vmh_vm_action_name(op->action));
	}
	if (strcmp(it->method, "DELETE") != 0) {
		if (body == NULL)
			return nomem(err);
		it->body = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (it->body == NULL)
			return nomem(err);
	}
	return item_url(n, it, err);
}

static void
op_done_common(struct batch *b, size_t i)
{
	struct vmh_vm_op *op = &b->ops[i];

	op->duration_ms = (long)(vmh_now_ms() - b->items[i].start);
	if (op->rc == VMH_OK &&
	    (op->action == VMH_ACT_RECREATE || op->action == VMH_ACT_RESCHED))
		evac_note(b->n, op->vm_id);
	if (b->cb != NULL)
		b->cb(op, 1, b->ctx);
}

static int
op_prepare(void *ctx, size_t i, struct vmh_http_request *req)
{
	struct batch *b = ctx;
	struct batch_item *it = &b->items[i];
	struct vmh_vm_op *op = &b->ops[i];

	it->start = vmh_now_ms();
	if (op->rc != VMH_OK) { /* failed while building */
		op_done_common(b, i);
		return 1;
	}
	if (b->cb != NULL && b->cb(op, 0, b->ctx) != 0) {
		op->rc = vmh_error_set(&op->err, VMH_E_INTERNAL, NULL, 0,
				       "skipped by caller");
		op_done_common(b, i);
		return 1;
	}
	if ((op->rc = hdrs_build(b->n, 0, &it->h, 1, &op->err)) != VMH_OK) {
		op_done_common(b, i);
		return 1;
	}
	it->sent = 1;
	req->method = it->method;
	req->url = it->url;
	req->headers = it->h.lines;
	req->body = it->body;
	req->body_len = it->body != NULL ? strlen(it->body) : 0;
	req->idempotent = 0;
	return 0;
}

static void
op_done(void *ctx, size_t i, enum vmh_rc trc, struct vmh_http_response *resp,
	const struct vmh_error *terr)
{
	struct batch *b = ctx;
	struct batch_item *it = &b->items[i];
	struct vmh_vm_op *op = &b->ops[i];

	hdrs_free(&it->h);
	if (trc == VMH_OK && resp->status == 401) {
		/* refused before doing anything: safe to send again */
		it->retry = 1;
		return;
	}
	op->rc = answer(it->method, it->path, it->label, trc, terr, resp, NULL,
			&op->err);
	if (op->rc == VMH_E_API && it->label != NULL &&
	    strcmp(it->label, "evacuate") == 0 &&
	    strstr(op->err.text, "while it is in vm_state") != NULL) {
		it->retry = 2; /* reset to error, then evacuate again */
		return;
	}
	op_done_common(b, i);
}

/* The second chance after the batch, synchronously. */
static void
op_retry(struct batch *b, size_t i)
{
	struct batch_item *it = &b->items[i];
	struct vmh_vm_op *op = &b->ops[i];
	struct vmh_buf url;
	json_t *reset;
	char *text;
	char path[128];

	if (it->retry == 2) {
		log_notice("nova: %s: %s; resetting it to error first, as "
			   "Masakari does",
			   op->vm_id, op->err.text);
		snprintf(path, sizeof(path), "/servers/%s/action", op->vm_id);
		reset =
		    json_pack("{s:{s:s}}", "os-resetState", "state", "error");
		vmh_error_init(&op->err);
		if ((op->rc = nova_call(b->n, "POST", path, "os-resetState",
					reset, NULL, NULL, &op->err)) !=
		    VMH_OK) {
			op_done_common(b, i);
			return;
		}
	}
	vmh_error_init(&op->err);
	vmh_buf_init(&url, 8192);
	text = it->body;
	if (vmh_buf_printf(&url, "%s%s", b->n->endpoint, it->path) != VMH_OK)
		op->rc = vmh_error_set(&op->err, VMH_E_TOOBIG, NULL, 0,
				       "URL too long");
	else
		op->rc = call_raw(b->n, it->method, vmh_buf_str(&url), it->path,
				  it->label, text, 0, 1, NULL, NULL, &op->err);
	vmh_buf_free(&url);
	op_done_common(b, i);
}

static enum vmh_rc
drv_run_ops(void *state, struct vmh_vm_op *ops, size_t n_ops, int concurrency,
	    vmh_op_cb cb, void *ctx, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	struct batch b;
	size_t i;
	enum vmh_rc rc;

	memset(&b, 0, sizeof(b));
	b.n = n;
	b.ops = ops;
	b.cb = cb;
	b.ctx = ctx;
	if (n_ops == 0)
		return VMH_OK;
	if ((rc = ready(n, err)) != VMH_OK)
		return rc;
	if ((b.items = calloc(n_ops, sizeof(*b.items))) == NULL)
		return nomem(err);
	for (i = 0; i < n_ops; i++) {
		struct vmh_vm_op *op = &ops[i];
		char *image = NULL;

		if (!id_ok(op->vm_id)) {
			op->rc =
			    vmh_error_set(&op->err, VMH_E_NOTFOUND, NULL, 0,
					  "\"%s\" is not a Nova server "
					  "id",
					  op->vm_id ? op->vm_id : "");
			continue;
		}
		if (op->action == VMH_ACT_REBUILD) {
			/* Rebuild needs an image: the one given, else the
			 * server's own. */
			json_t *s = NULL;

			if (op->arg != NULL && *op->arg != '\0') {
				image = strdup(op->arg);
			} else if ((op->rc = get_server(n, op->vm_id, &s,
							&op->err)) == VMH_OK) {
				const char *img =
				    jstr(json_object_get(s, "image"), "id");

				image = img ? strdup(img) : NULL;
			}
			json_decref(s);
			if (op->rc != VMH_OK)
				continue;
		}
		op->rc = op_request(n, op, &b.items[i], image, &op->err);
		free(image);
	}
	rc = vmh_http_batch(n->http, n_ops, concurrency, op_prepare, op_done,
			    &b, err);
	for (i = 0; i < n_ops; i++) {
		if (b.items[i].retry)
			op_retry(&b, i);
		else if (!b.items[i].sent && rc != VMH_OK &&
			 ops[i].rc == VMH_OK) {
			/* the batch broke off before this one */
			ops[i].rc =
			    vmh_error_set(&ops[i].err, rc, NULL, 0,
					  "not sent: %s", err ? err->text : "");
			op_done_common(&b, i);
		}
	}
	for (i = 0; i < n_ops; i++)
		item_clear(&b.items[i]);
	free(b.items);
	return rc;
}

static unsigned long
drv_calls(const void *state)
{
	const struct vmh_nova *n = state;

	return vmh_http_requests(n->http);
}

/* Instance actions that leave a server meant to run, or meant to be down;
 * the others (lock, resetState, migrate, resize, createImage...) say
 * nothing about its power state. */
static int
power_intent(const char *action)
{
	static const char *const up[] = {
		"create",   "start",    "reboot",       "rebuild",
		"evacuate", "resume",   "unpause",      "unshelve",
		"restore",  "unrescue", "revertResize", "live-migration",
		NULL
	};
	static const char *const down[] = {
		"stop",   "shelve", "shelveOffload", "suspend", "pause",
		"rescue", NULL
	};
	size_t i;

	for (i = 0; up[i] != NULL; i++)
		if (strcmp(action, up[i]) == 0)
			return 1;
	for (i = 0; down[i] != NULL; i++)
		if (strcmp(action, down[i]) == 0)
			return -1;
	return 0;
}

/* Nova records every API action with the caller's user; its own power-state
 * sync, finding the guest of an ACTIVE server shut down or crashed, calls the
 * stop API with an admin context that has no user. */
static enum vmh_rc
drv_vm_stop_cause(void *state, const char *id, enum vmh_stop_cause *cause,
		  char *detail, size_t dlen, struct vmh_error *err)
{
	struct vmh_nova *n = state;
	char path[256];
	json_t *doc = NULL, *a;
	const char *act, *user, *when;
	size_t i;
	enum vmh_rc rc;
	int intent;

	if (!id_ok(id))
		return vmh_error_set(err, VMH_E_NOTFOUND, NULL, 0,
				     "\"%s\" is not a Nova server id",
				     id ? id : "");
	snprintf(path, sizeof(path), "/servers/%s/os-instance-actions", id);
	if ((rc = nova_call(n, "GET", path, NULL, NULL, NULL, &doc, err)) !=
	    VMH_OK)
		return rc;
	/* newest first */
	json_array_foreach(json_object_get(doc, "instanceActions"), i, a)
	{
		if ((act = jstr(a, "action")) == NULL ||
		    (intent = power_intent(act)) == 0)
			continue;
		user = jstr(a, "user_id");
		when = jstr(a, "start_time") ? jstr(a, "start_time") : "?";
		if (intent > 0) {
			*cause = VMH_STOP_UNEXPECTED;
			if (detail != NULL)
				snprintf(detail, dlen,
					 "newest action %s at %s, nothing "
					 "stopped it since",
					 act, when);
		} else if (strcmp(act, "stop") == 0 &&
			   (user == NULL || *user == '\0')) {
			*cause = VMH_STOP_UNEXPECTED;
			if (detail != NULL)
				snprintf(detail, dlen,
					 "stopped by Nova's power-state sync "
					 "at %s: the guest went down by itself",
					 when);
		} else {
			*cause = VMH_STOP_REQUESTED;
			if (detail != NULL)
				snprintf(detail, dlen, "%s by user %.64s at %s",
					 act, user ? user : "?", when);
		}
		break;
	}
	json_decref(doc);
	return VMH_OK;
}

const struct vmh_cloud_driver vmh__cloud_nova_driver = {
	.kind = "openstack",
	.open = drv_open,
	.close = drv_close,
	.version = drv_version,
	.monitoring_interval = drv_monitoring_interval,
	.host_get = drv_host_get,
	.host_list = drv_host_list,
	.host_disable = drv_host_disable,
	.host_enable = drv_host_enable,
	.vms_on_host = drv_vms_on_host,
	.vm_get = drv_vm_get,
	.vms_get = drv_vms_get,
	.run_ops = drv_run_ops,
	.calls = drv_calls,
	.datastore_shared = NULL,
	.vm_stop_cause = drv_vm_stop_cause,
};

/* ------------------------------------------------------- Nova extras */

struct vmh_nova *
vmh_nova_of(struct vmh_cloud *c)
{
	return vmh__cloud_state(c, &vmh__cloud_nova_driver);
}

enum vmh_rc
vmh_nova_microversion(struct vmh_nova *n, const char **mv,
		      struct vmh_error *err)
{
	enum vmh_rc rc;

	*mv = NULL;
	if ((rc = ready(n, err)) != VMH_OK)
		return rc;
	*mv = n->mv;
	return VMH_OK;
}

unsigned long
vmh_nova_auth_count(const struct vmh_nova *n)
{
	return vmh_os_auth_count(n->sess);
}

enum vmh_rc
vmh_nova_stop(struct vmh_nova *n, const char *server_id, struct vmh_error *err)
{
	char path[128];

	if (!id_ok(server_id))
		return vmh_error_set(err, VMH_E_NOTFOUND, NULL, 0,
				     "\"%s\" is not a Nova server id",
				     server_id ? server_id : "");
	snprintf(path, sizeof(path), "/servers/%s/action", server_id);
	return nova_call(n, "POST", path, "os-stop",
			 json_pack("{s:n}", "os-stop"), NULL, NULL, err);
}

enum vmh_rc
vmh_nova_evacuation(struct vmh_nova *n, const char *server_id,
		    const char *source_host, struct vmh_nova_evac *out,
		    struct vmh_error *err)
{
	struct vmh_buf path;
	json_t *acts = NULL, *migs = NULL, *a, *m, *one = NULL;
	const char *newest_rid = NULL;
	size_t i;
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	vmh_buf_init(&path, 2048);
	if (!id_ok(server_id))
		return vmh_error_set(err, VMH_E_NOTFOUND, NULL, 0,
				     "\"%s\" is not a Nova server id",
				     server_id ? server_id : "");
	vmh_buf_printf(&path, "/servers/%s/os-instance-actions", server_id);
	if ((rc = nova_call(n, "GET", vmh_buf_str(&path), NULL, NULL, NULL,
			    &acts, err)) != VMH_OK)
		goto done;
	/* newest first */
	json_array_foreach(json_object_get(acts, "instanceActions"), i, a)
	{
		if (jstr(a, "action") == NULL ||
		    strcmp(jstr(a, "action"), "evacuate") != 0)
			continue;
		if (out->actions++ == 0) {
			newest_rid = jstr(a, "request_id");
			if (jstr(a, "message") != NULL)
				snprintf(out->message, sizeof(out->message),
					 "%s", jstr(a, "message"));
		}
	}
	vmh_buf_reset(&path);
	vmh_buf_printf(&path,
		       "/os-migrations?migration_type=evacuation&"
		       "instance_uuid=%s",
		       server_id);
	if (source_host != NULL) {
		vmh_buf_puts(&path, "&source_compute=");
		url_escape(&path, source_host);
	}
	if ((rc = nova_call(n, "GET", vmh_buf_str(&path), NULL, NULL, NULL,
			    &migs, err)) != VMH_OK)
		goto done;
	json_array_foreach(json_object_get(migs, "migrations"), i, m)
	{
		/* the filter is honoured by Nova, checked here anyway */
		if (jstr(m, "instance_uuid") == NULL ||
		    strcmp(jstr(m, "instance_uuid"), server_id) != 0)
			continue;
		/* Nova lists the newest first */
		if (out->migrations++ == 0) {
			snprintf(out->status, sizeof(out->status), "%s",
				 jstr(m, "status") ? jstr(m, "status") : "");
			snprintf(out->dest, sizeof(out->dest), "%s",
				 jstr(m, "dest_compute")
				     ? jstr(m, "dest_compute")
				     : "");
		}
	}
	/* Why it failed, from the events of the newest evacuate action. */
	if (newest_rid != NULL && out->message[0] != '\0' && id_ok(server_id)) {
		vmh_buf_reset(&path);
		vmh_buf_printf(&path, "/servers/%s/os-instance-actions/",
			       server_id);
		url_escape(&path, newest_rid);
		if (nova_call(n, "GET", vmh_buf_str(&path), NULL, NULL, NULL,
			      &one, NULL) == VMH_OK) {
			json_array_foreach(
			    json_object_get(
				json_object_get(one, "instanceAction"),
				"events"),
			    i, a)
			{
				if (jstr(a, "result") != NULL &&
				    strcmp(jstr(a, "result"), "Error") == 0)
					snprintf(out->message,
						 sizeof(out->message), "%s: %s",
						 jstr(a, "event")
						     ? jstr(a, "event")
						     : "?",
						 jstr(a, "details")
						     ? jstr(a, "details")
						     : "Error");
			}
		}
	}
done:
	json_decref(acts);
	json_decref(migs);
	json_decref(one);
	vmh_buf_free(&path);
	return rc;
}
