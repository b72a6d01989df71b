/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenNebula driver: an XML-RPC client of oned (reference: OpenNebula's
 * own Ruby OCA and oned's RequestManager) and the table lib/cloud.c
 * dispatches through. Every call goes through lib/http.c (deadline, size
 * cap) and lib/xmlrpc.c (envelope, error codes).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloud_driver.h"
#include "cloud_one.h"
#include "http.h"
#include "log.h"
#include "str.h"

#define ONE_FILE_MAX        (64 * 1024) /* auth and endpoint files */
#define ONE_REQUEST_MAX     (16 * 1024 * 1024)
#define ONE_MAX_PARAMS      8
#define ONE_POOL_MAX_VMS    (4 * 1024 * 1024)
#define ONE_INFOSET_CHUNK   500
#define ONE_RANGE_CHUNK     2000
#define ONE_DEFAULT_MONITOR 60
#define ONE_SYSTEM_AUTH     "/var/lib/one/.one/one_auth"
#define ONE_SYSTEM_ENDPOINT "/var/lib/one/.one/one_endpoint"
#define ONE_DEFAULT_TIMEOUT 30    /* s, the Ruby OCA's XML-RPC default */
#define ONE_TIMEOUT_MAX     86400 /* s, for ONE_XMLRPC_TIMEOUT */

struct vmh_one {
	char *endpoint;
	char *session; /* a secret: never logged, never in messages */
	struct vmh_http *http;
	int concurrency;
	int monitoring_interval; /* configured; 0: ask oned */
	int page_size;           /* 0: no paging */
	char *version;
	long version_number;
	long long *ds_ids; /* datastore SHARED cache */
	int *ds_shared;
	size_t n_ds;
	int have_ds;
};

static const char *const one_headers[] = { "Content-Type: text/xml", NULL };

/* ---- Files and environment */

/*
 * Read a small regular file whole. VMH_E_NOTFOUND (no message) if it does
 * not exist, so callers can try the next place.
 */
static enum vmh_rc
read_small_file(const char *path, char **out, struct vmh_error *err)
{
	struct vmh_buf b;
	struct stat st;
	char chunk[4096];
	ssize_t r;
	int fd;
	enum vmh_rc rc = VMH_OK;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return VMH_E_NOTFOUND;
		return vmh_error_errno(err, errno, path, "cannot open");
	}
	vmh_buf_init(&b, ONE_FILE_MAX);
	if (fstat(fd, &st) < 0) {
		rc = vmh_error_errno(err, errno, path, "cannot stat");
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
				   "not a regular file");
		goto done;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vmh_error_errno(err, errno, path, "cannot read");
			goto done;
		}
		if (vmh_buf_append(&b, chunk, (size_t)r) != VMH_OK) {
			rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
					   "file larger than %d bytes",
					   ONE_FILE_MAX);
			goto done;
		}
	}
	if ((*out = vmh_buf_steal(&b)) == NULL)
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
done:
	vmh_buf_free(&b);
	close(fd);
	return rc;
}

/* $HOME/rel, allocated, or NULL without HOME. */
static char *
home_path(const char *rel)
{
	const char *home = getenv("HOME");
	char *p;

	if (home == NULL || *home == '\0')
		return NULL;
	if (asprintf(&p, "%s/%s", home, rel) < 0)
		return NULL;
	return p;
}

/* The endpoint file's first line, stripped. */
static enum vmh_rc
endpoint_from_file(const char *path, char **endpoint, struct vmh_error *err)
{
	char *text, *s, *nl;
	enum vmh_rc rc;

	if ((rc = read_small_file(path, &text, err)) != VMH_OK)
		return rc;
	for (s = text; isspace((unsigned char)*s); s++)
		;
	if ((nl = strchr(s, '\n')) != NULL)
		*nl = '\0';
	vmh_rstrip(s);
	if (*s == '\0') {
		free(text);
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "empty endpoint file");
	}
	*endpoint = strdup(s);
	free(text);
	return *endpoint != NULL
		   ? VMH_OK
		   : vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

enum vmh_rc
vmh_one_find_endpoint(const struct vmh_conf_opennebula *o, char **endpoint,
		      const char **source, struct vmh_error *err)
{
	const char *env = getenv("ONE_XMLRPC");
	char *path;
	enum vmh_rc rc;

	*endpoint = NULL;
	*source = "built-in default";
	if (o != NULL && o->endpoint != NULL && *o->endpoint != '\0') {
		*source = "configuration";
		*endpoint = strdup(o->endpoint);
	} else if (env != NULL && *env != '\0') {
		*source = "ONE_XMLRPC";
		*endpoint = strdup(env);
	} else {
		if ((path = home_path(".one/one_endpoint")) != NULL) {
			rc = endpoint_from_file(path, endpoint, err);
			free(path);
			if (rc == VMH_OK) {
				*source = "~/.one/one_endpoint";
				return VMH_OK;
			}
			if (rc != VMH_E_NOTFOUND)
				return rc;
		}
		rc = endpoint_from_file(ONE_SYSTEM_ENDPOINT, endpoint, err);
		if (rc == VMH_OK) {
			*source = ONE_SYSTEM_ENDPOINT;
			return VMH_OK;
		}
		if (rc != VMH_E_NOTFOUND)
			return rc;
		*endpoint = strdup(VMH_ONE_DEFAULT_ENDPOINT);
	}
	if (*endpoint == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	return VMH_OK;
}

/* Check a session string's shape; what names its origin. */
static enum vmh_rc
session_check(const char *s, const char *what, struct vmh_error *err)
{
	const char *colon = strchr(s, ':');

	if (*s == '\0')
		return vmh_error_set(err, VMH_E_CONFIG, what, 0,
				     "empty credentials");
	if (strchr(s, '\n') != NULL || strchr(s, '\r') != NULL)
		return vmh_error_set(err, VMH_E_CONFIG, what, 0,
				     "credentials must be one "
				     "\"user:password\" line");
	if (colon == NULL || colon == s || colon[1] == '\0')
		return vmh_error_set(err, VMH_E_CONFIG, what, 0,
				     "credentials must be \"user:password\" "
				     "(or \"user:token\")");
	return VMH_OK;
}

/* A private auth file's one line. VMH_E_NOTFOUND if it does not exist. */
static enum vmh_rc
session_from_file(const char *path, char **session, struct vmh_error *err)
{
	enum vmh_rc rc;
	char *text;

	if (access(path, F_OK) < 0 && (errno == ENOENT || errno == ENOTDIR))
		return VMH_E_NOTFOUND;
	if ((rc = vmh_conf_check_secrecy(path, "OpenNebula auth file", err)) !=
	    VMH_OK)
		return rc;
	if ((rc = read_small_file(path, &text, err)) != VMH_OK) {
		if (rc == VMH_E_NOTFOUND)
			rc = vmh_error_errno(err, ENOENT, path, "cannot open");
		return rc;
	}
	vmh_rstrip(text);
	if ((rc = session_check(text, path, err)) != VMH_OK) {
		explicit_bzero(text, strlen(text));
		free(text);
		return rc;
	}
	*session = text;
	return VMH_OK;
}

enum vmh_rc
vmh_one_find_session(const struct vmh_conf *conf, char **session, char **source,
		     struct vmh_error *err)
{
	const struct vmh_conf_opennebula *o = conf != NULL ? &conf->one : NULL;
	const char *env = getenv("ONE_AUTH"), *secret;
	char *paths[3] = { NULL, NULL, NULL };
	struct stat st;
	size_t i, np = 0;
	enum vmh_rc rc = VMH_E_NOTFOUND;

	*session = NULL;
	*source = NULL;
	if (o != NULL && o->auth_secret != NULL) {
		secret = vmh_conf_secret(conf, o->auth_secret);
		if (secret == NULL)
			return vmh_error_set(
			    err, VMH_E_CONFIG, conf->secrets_file, 0,
			    "opennebula.auth_secret: no secret \"%s\" in the "
			    "secrets file",
			    o->auth_secret);
		if ((rc = session_check(secret, "opennebula.auth_secret",
					err)) != VMH_OK)
			return rc;
		if ((*session = strdup(secret)) == NULL ||
		    asprintf(source, "secret %s", o->auth_secret) < 0)
			goto nomem;
		return VMH_OK;
	}
	if (o != NULL && o->auth_file != NULL) {
		/* Named explicitly: it must be there. */
		rc = session_from_file(o->auth_file, session, err);
		if (rc == VMH_E_NOTFOUND)
			return vmh_error_set(err, VMH_E_CONFIG, o->auth_file, 0,
					     "opennebula.auth_file does not "
					     "exist");
		if (rc != VMH_OK)
			return rc;
		if ((*source = strdup(o->auth_file)) == NULL)
			goto nomem;
		return VMH_OK;
	}
	/* As OpenNebula's CLI: $ONE_AUTH when it names a file, then the
	 * user's and oneadmin's one_auth. */
	if (env != NULL && *env != '\0' && stat(env, &st) == 0 &&
	    S_ISREG(st.st_mode) && (paths[np++] = strdup(env)) == NULL)
		goto nomem;
	if ((paths[np] = home_path(".one/one_auth")) != NULL)
		np++;
	if ((paths[np++] = strdup(ONE_SYSTEM_AUTH)) == NULL)
		goto nomem;
	for (i = 0, rc = VMH_E_NOTFOUND; i < np && rc == VMH_E_NOTFOUND; i++)
		if ((rc = session_from_file(paths[i], session, err)) == VMH_OK)
			*source = paths[i], paths[i] = NULL;
	for (i = 0; i < np; i++)
		free(paths[i]);
	if (rc == VMH_E_NOTFOUND)
		return vmh_error_set(err, VMH_E_CONFIG, NULL, 0,
				     "ONE_AUTH file not present: set ONE_AUTH, "
				     "create ~/.one/one_auth or configure "
				     "opennebula.auth_file");
	return rc;
nomem:
	for (i = 0; i < np; i++)
		free(paths[i]);
	free(*session);
	*session = NULL;
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

enum vmh_rc
vmh_one_find_timeout(const struct vmh_conf_opennebula *o, int *seconds,
		     const char **source, struct vmh_error *err)
{
	const char *env = getenv("ONE_XMLRPC_TIMEOUT");
	long long v;

	*seconds = ONE_DEFAULT_TIMEOUT;
	*source = "built-in default";
	if (o != NULL && o->timeout_s > 0) {
		*seconds = o->timeout_s;
		*source = "configuration";
		return VMH_OK;
	}
	if (env == NULL || *env == '\0')
		return VMH_OK;
	if (vmh_strtonum(env, 1, ONE_TIMEOUT_MAX, &v, "ONE_XMLRPC_TIMEOUT",
			 NULL) != VMH_OK)
		return vmh_error_set(err, VMH_E_CONFIG, NULL, 0,
				     "ONE_XMLRPC_TIMEOUT: '%.40s' is not a "
				     "whole number of seconds in 1..%d",
				     env, ONE_TIMEOUT_MAX);
	*seconds = (int)v;
	*source = "ONE_XMLRPC_TIMEOUT";
	return VMH_OK;
}

/*
 * TLS as OpenNebula's Ruby OCA sets it up: extra CAs from the
 * configuration's ca_dir, else $ONE_CERT_DIR (read when the HTTP client is
 * made; *ca_dir_from names the setting for messages), and no verification
 * at all when $ONE_DISABLE_SSL_VERIFY is set. cacert replaces the system
 * store (a configuration key only: the OCA has no such variable).
 */
static enum vmh_rc
one_tls(const struct vmh_conf_opennebula *o, const char *endpoint,
	struct vmh_http_opts *ho, const char **ca_dir_from,
	struct vmh_error *err)
{
	const char *env;

	*ca_dir_from = NULL;
	if (o->cacert != NULL && *o->cacert != '\0') {
		if (access(o->cacert, R_OK) != 0)
			return vmh_error_set(err, VMH_E_CONFIG, o->cacert, 0,
					     "opennebula.cacert: cannot read "
					     "the CA file: %s",
					     strerror(errno));
		ho->ca_file = o->cacert;
	}
	if (o->ca_dir != NULL && *o->ca_dir != '\0') {
		ho->ca_dir = o->ca_dir;
		*ca_dir_from = "opennebula.ca_dir";
	} else if ((env = getenv("ONE_CERT_DIR")) != NULL && *env != '\0') {
		ho->ca_dir = env;
		*ca_dir_from = "ONE_CERT_DIR";
	}
	if ((env = getenv("ONE_DISABLE_SSL_VERIFY")) != NULL && *env != '\0') {
		ho->insecure = 1;
		/* Only https:// has anything to verify. */
		if (strncasecmp(endpoint, "https://", 8) == 0)
			log_warnx("opennebula: TLS certificates are NOT "
				  "verified (ONE_DISABLE_SSL_VERIFY is set)");
		else
			log_debug("opennebula: ONE_DISABLE_SSL_VERIFY is set "
				  "(no TLS on %s)",
				  endpoint);
	}
	return VMH_OK;
}

/* ---- The client */

enum vmh_rc
vmh_one_open(const struct vmh_conf *conf, struct vmh_one **out,
	     struct vmh_error *err)
{
	struct vmh_http_opts ho;
	struct vmh_error he;
	struct vmh_one *one;
	const char *esrc, *env, *tsrc, *ca_from;
	char *asrc = NULL, *colon;
	long long v;
	int timeout_s;
	enum vmh_rc rc;

	*out = NULL;
	if ((one = calloc(1, sizeof(*one))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if ((rc = vmh_one_find_endpoint(&conf->one, &one->endpoint, &esrc,
					err)) != VMH_OK ||
	    (rc = vmh_one_find_session(conf, &one->session, &asrc, err)) !=
		VMH_OK ||
	    (rc = vmh_one_find_timeout(&conf->one, &timeout_s, &tsrc, err)) !=
		VMH_OK)
		goto fail;
	/* Mask the session, and the password alone, in every log line. */
	vmh_log_add_secret(one->session);
	if ((colon = strchr(one->session, ':')) != NULL)
		vmh_log_add_secret(colon + 1);
	one->concurrency =
	    conf->http_max_concurrency > 0 ? conf->http_max_concurrency : 1;
	one->monitoring_interval = conf->one.monitoring_interval_s;
	one->page_size = VMH_ONE_DEFAULT_PAGE_SIZE;
	if ((env = getenv("ONE_POOL_PAGE_SIZE")) != NULL && *env != '\0') {
		/* As the Ruby OCA: a number below 2 turns paging off. */
		if (vmh_strtonum(env, 0, 1000000, &v, "ONE_POOL_PAGE_SIZE",
				 NULL) == VMH_OK)
			one->page_size = v < 2 ? 0 : (int)v;
	}
	memset(&ho, 0, sizeof(ho));
	ho.timeout_ms = timeout_s * 1000L;
	ho.connect_timeout_ms =
	    (conf->one.connect_timeout_s > 0 ? conf->one.connect_timeout_s
					     : 10) *
	    1000L;
	ho.max_response = conf->http_max_response > 0
			      ? conf->http_max_response
			      : (size_t)64 * 1024 * 1024;
	ho.max_concurrency = one->concurrency;
	if ((rc = one_tls(&conf->one, one->endpoint, &ho, &ca_from, err)) !=
	    VMH_OK)
		goto fail;
	vmh_error_init(&he);
	if ((rc = vmh_http_new(&ho, &one->http, &he)) != VMH_OK) {
		/* Only the CA directory is read here: name its setting. */
		vmh_error_set(
		    err, rc, he.source, he.line, "%s%s%s",
		    rc == VMH_E_CONFIG && ca_from != NULL ? ca_from : "",
		    rc == VMH_E_CONFIG && ca_from != NULL ? ": " : "", he.text);
		goto fail;
	}
	log_debug("opennebula: endpoint %s (from %s), credentials from %s, "
		  "timeout %d s (from %s)",
		  one->endpoint, esrc, asrc, timeout_s, tsrc);
	free(asrc);
	*out = one;
	return VMH_OK;
fail:
	free(asrc);
	vmh_one_close(one);
	return rc;
}

void
vmh_one_close(struct vmh_one *one)
{
	if (one == NULL)
		return;
	vmh_http_free(one->http);
	if (one->session != NULL) {
		explicit_bzero(one->session, strlen(one->session));
		free(one->session);
	}
	free(one->endpoint);
	free(one->version);
	free(one->ds_ids);
	free(one->ds_shared);
	free(one);
}

const char *
vmh_one_endpoint(const struct vmh_one *one)
{
	return one->endpoint;
}

unsigned long
vmh_one_calls(const struct vmh_one *one)
{
	return vmh_http_requests(one->http);
}

/* The request body of a call, session first. */
static enum vmh_rc
build_call(struct vmh_one *one, const char *method,
	   const struct vmh_xmlrpc_param *params, size_t n,
	   struct vmh_buf *body, struct vmh_error *err)
{
	struct vmh_xmlrpc_param all[ONE_MAX_PARAMS + 1];
	size_t i;

	vmh_buf_init(body, ONE_REQUEST_MAX);
	if (n > ONE_MAX_PARAMS)
		return vmh_error_set(err, VMH_E_INTERNAL, method, 0,
				     "too many parameters");
	all[0] = VMH_XMLRPC_P_STR(one->session);
	for (i = 0; i < n; i++)
		all[i + 1] = params[i];
	return vmh_xmlrpc_request(body, method, all, n + 1, err);
}

/* Transport errors name the method first: "one.vm.info: url: text". */
static enum vmh_rc
transport_error(const char *method, const struct vmh_error *e,
		struct vmh_error *err)
{
	return vmh_error_set(err, e->code, method, 0, "%s%s%s",
			     e->source[0] != '\0' ? e->source : "",
			     e->source[0] != '\0' ? ": " : "", e->text);
}

/* An HTTP answer to method: status, envelope, oned's verdict. */
static enum vmh_rc
read_answer(const char *method, const char *endpoint,
	    const struct vmh_http_response *hr,
	    struct vmh_xmlrpc_response *resp,
	    const struct vmh_xmlrpc_value **value, struct vmh_error *err)
{
	struct vmh_one_result res;
	struct vmh_error e;
	enum vmh_rc rc;

	vmh_error_init(&e);
	if (vmh_http_check_status(hr, endpoint, &e) != VMH_OK)
		return transport_error(method, &e, err);
	if ((rc = vmh_xmlrpc_parse_response(
		 hr->body.data != NULL ? hr->body.data : "", hr->body.len,
		 method, resp, err)) != VMH_OK)
		return rc;
	if ((rc = vmh_xmlrpc_one_result(method, resp, &res, err)) != VMH_OK)
		return rc;
	if (value != NULL)
		*value = res.value;
	return VMH_OK;
}

enum vmh_rc
vmh_one_call(struct vmh_one *one, const char *method,
	     const struct vmh_xmlrpc_param *params, size_t n, int mutating,
	     struct vmh_xmlrpc_response *resp,
	     const struct vmh_xmlrpc_value **value, struct vmh_error *err)
{
	struct vmh_http_request req;
	struct vmh_http_response hr;
	struct vmh_buf body;
	struct vmh_error e;
	enum vmh_rc rc;

	memset(resp, 0, sizeof(*resp));
	if (value != NULL)
		*value = NULL;
	if ((rc = build_call(one, method, params, n, &body, err)) != VMH_OK)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = one->endpoint;
	req.headers = one_headers;
	req.body = body.data;
	req.body_len = body.len;
	req.idempotent = !mutating;
	vmh_http_response_init(&hr, 1);
	vmh_error_init(&e);
	if ((rc = vmh_http_perform(one->http, &req, &hr, &e)) != VMH_OK)
		rc = transport_error(method, &e, err);
	else
		rc = read_answer(method, one->endpoint, &hr, resp, value, err);
	vmh_http_response_free(&hr);
done:
	if (body.data != NULL)
		explicit_bzero(body.data, body.len); /* holds the session */
	vmh_buf_free(&body);
	return rc;
}

/* A call whose success value is a string (a document): *out allocated. */
static enum vmh_rc
call_string(struct vmh_one *one, const char *method,
	    const struct vmh_xmlrpc_param *params, size_t n, char **out,
	    size_t *len, struct vmh_error *err)
{
	struct vmh_xmlrpc_response resp;
	const struct vmh_xmlrpc_value *v;
	enum vmh_rc rc;

	*out = NULL;
	rc = vmh_one_call(one, method, params, n, 0, &resp, &v, err);
	if (rc == VMH_OK && (v->type != VMH_XMLRPC_STRING || v->s == NULL))
		rc = vmh_error_set(err, VMH_E_DATA, method, 0,
				   "bad answer: the value is not a string");
	if (rc == VMH_OK) {
		*out = v->s;
		if (len != NULL)
			*len = v->len;
		/* Take the string out of the tree instead of copying it:
		 * pools can be tens of megabytes. v is resp's items[1]. */
		resp.value.items[1].s = NULL;
	}
	vmh_xmlrpc_response_free(&resp);
	return rc;
}

/* A mutating call whose value (an ID) is not needed. */
static enum vmh_rc
call_action(struct vmh_one *one, const char *method,
	    const struct vmh_xmlrpc_param *params, size_t n,
	    struct vmh_error *err)
{
	struct vmh_xmlrpc_response resp;
	enum vmh_rc rc;

	rc = vmh_one_call(one, method, params, n, 1, &resp, NULL, err);
	vmh_xmlrpc_response_free(&resp);
	return rc;
}

static long
version_to_number(const char *v)
{
	long part[3] = { 0, 0, 0 };
	char *end;
	int i;

	for (i = 0; i < 3 && isdigit((unsigned char)*v); i++) {
		part[i] = strtol(v, &end, 10);
		if (part[i] > 99 && i > 0)
			part[i] = 99;
		v = end;
		if (*v != '.')
			break;
		v++;
	}
	return part[0] * 10000 + part[1] * 100 + part[2];
}

enum vmh_rc
vmh_one_system_version(struct vmh_one *one, char **version,
		       struct vmh_error *err)
{
	enum vmh_rc rc;
	char *v;

	*version = NULL;
	if (one->version == NULL) {
		rc = call_string(one, "one.system.version", NULL, 0, &v, NULL,
				 err);
		if (rc != VMH_OK)
			return rc;
		vmh_rstrip(v);
		if (!isdigit((unsigned char)v[0])) {
			free(v);
			return vmh_error_set(err, VMH_E_DATA,
					     "one.system.version", 0,
					     "bad version string");
		}
		one->version = v;
		one->version_number = version_to_number(v);
	}
	if ((*version = strdup(one->version)) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	return VMH_OK;
}

enum vmh_rc
vmh_one_version_number(struct vmh_one *one, long *number, struct vmh_error *err)
{
	char *v;
	enum vmh_rc rc;

	*number = 0;
	if (one->version_number == 0) {
		if ((rc = vmh_one_system_version(one, &v, err)) != VMH_OK)
			return rc;
		free(v);
	}
	*number = one->version_number;
	return VMH_OK;
}

enum vmh_rc
vmh_one_system_config(struct vmh_one *one, char **xml, struct vmh_error *err)
{
	return call_string(one, "one.system.config", NULL, 0, xml, NULL, err);
}

enum vmh_rc
vmh_one_host_info(struct vmh_one *one, long long id, struct vmh_host **out,
		  struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id) };
	struct vmh_host *h;
	enum vmh_rc rc;
	size_t len;
	char *xml;

	*out = NULL;
	if ((rc = call_string(one, "one.host.info", p, 1, &xml, &len, err)) !=
	    VMH_OK)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
	else if ((rc = vmh_one_parse_host(xml, len, h, err)) != VMH_OK)
		free(h);
	else
		*out = h;
	free(xml);
	return rc;
}

enum vmh_rc
vmh_one_hostpool_info(struct vmh_one *one, struct vmh_host_list *out,
		      struct vmh_error *err)
{
	enum vmh_rc rc;
	size_t len;
	char *xml;

	memset(out, 0, sizeof(*out));
	if ((rc = call_string(one, "one.hostpool.info", NULL, 0, &xml, &len,
			      err)) != VMH_OK)
		return rc;
	rc = vmh_one_parse_host_pool(xml, len, out, err);
	free(xml);
	return rc;
}

enum vmh_rc
vmh_one_host_status(struct vmh_one *one, long long id, int status,
		    struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[2] = { VMH_XMLRPC_P_INT(id),
					 VMH_XMLRPC_P_INT(status) };
	long version = 0;

	if (status < 0 || status > 2)
		return vmh_error_set(err, VMH_E_USAGE, "one.host.status", 0,
				     "bad host status %d", status);
	/* Before 5.0 there is only one.host.enable(id, bool) and no
	 * OFFLINE. An unknown version is taken as a current one. */
	if (vmh_one_version_number(one, &version, NULL) == VMH_OK &&
	    version < 50000) {
		p[1] = VMH_XMLRPC_P_BOOL(status == 0);
		return call_action(one, "one.host.enable", p, 2, err);
	}
	return call_action(one, "one.host.status", p, 2, err);
}

enum vmh_rc
vmh_one_vm_info(struct vmh_one *one, long long id, struct vmh_vm **out,
		struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id) };
	struct vmh_vm *vm;
	enum vmh_rc rc;
	size_t len;
	char *xml;

	*out = NULL;
	if ((rc = call_string(one, "one.vm.info", p, 1, &xml, &len, err)) !=
	    VMH_OK)
		return rc;
	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
	else if ((rc = vmh_one_parse_vm(xml, len, vm, err)) != VMH_OK)
		free(vm);
	else
		*out = vm;
	free(xml);
	return rc;
}

enum vmh_rc
vmh_one_vmpool_page(struct vmh_one *one, int extended, int filter,
		    long long start, long long end, int state,
		    struct vmh_vm_list *out, struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(filter),
					VMH_XMLRPC_P_INT(start),
					VMH_XMLRPC_P_INT(end),
					VMH_XMLRPC_P_INT(state) };
	long version = 0;
	enum vmh_rc rc;
	size_t len;
	char *xml;

	/* Before 5.8 one.vmpool.info itself returns whole bodies, and
	 * infoextended does not exist. */
	if (extended &&
	    (rc = vmh_one_version_number(one, &version, err)) != VMH_OK)
		return rc;
	rc =
	    call_string(one,
			extended && version >= 50800 ? "one.vmpool.infoextended"
						     : "one.vmpool.info",
			p, 4, &xml, &len, err);
	if (rc != VMH_OK)
		return rc;
	rc = vmh_one_parse_vm_pool(xml, len, out, err);
	free(xml);
	return rc;
}

/* IDs are digit strings without leading zeros: shorter is smaller. */
static int
id_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static int
vm_cmp(const void *a, const void *b)
{
	return id_cmp(((const struct vmh_vm *)a)->id,
		      ((const struct vmh_vm *)b)->id);
}

/* Sort by ID and keep one VM per ID (the copy seen last). */
static void
sort_unique(struct vmh_vm_list *l)
{
	size_t i, k = 0;

	if (l->n < 2)
		return;
	/* A stable order among duplicates is not needed: duplicates come
	 * from overlapping pages, seconds apart at most. */
	qsort(l->vms, l->n, sizeof(l->vms[0]), vm_cmp);
	for (i = 1; i < l->n; i++) {
		if (id_cmp(l->vms[k].id, l->vms[i].id) == 0) {
			vmh_vm_clear(&l->vms[k]);
			l->vms[k] = l->vms[i];
		} else {
			l->vms[++k] = l->vms[i];
		}
	}
	l->n = k + 1;
}

enum vmh_rc
vmh_one_vmpool(struct vmh_one *one, int extended, int state,
	       struct vmh_vm_list *out, struct vmh_error *err)
{
	long long offset = 0, size = one->page_size, overlap;
	size_t before;
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	if (size == 0) {
		rc = vmh_one_vmpool_page(one, extended, -2, -1, -1, state, out,
					 err);
		goto done;
	}
	/* Pages by offset: a VM leaving the pool between two calls shifts
	 * the later ones down, so pages overlap by a tenth. */
	overlap = size / 10;
	for (;;) {
		before = out->n;
		rc = vmh_one_vmpool_page(one, extended, -2, offset, -size,
					 state, out, err);
		if (rc != VMH_OK)
			goto done;
		if ((long long)(out->n - before) < size)
			break;
		if (out->n > ONE_POOL_MAX_VMS) {
			rc = vmh_error_set(err, VMH_E_TOOBIG,
					   extended ? "one.vmpool.infoextended"
						    : "one.vmpool.info",
					   0, "more than %d VMs in the pool",
					   ONE_POOL_MAX_VMS);
			goto done;
		}
		offset += size - overlap;
	}
done:
	if (rc != VMH_OK)
		vmh_vm_list_free(out);
	else
		sort_unique(out);
	return rc;
}

enum vmh_rc
vmh_one_vmpool_infoset(struct vmh_one *one, const char *ids, int extended,
		       struct vmh_vm_list *out, struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_STR(ids),
					VMH_XMLRPC_P_BOOL(extended) };
	enum vmh_rc rc;
	size_t len;
	char *xml;

	if ((rc = call_string(one, "one.vmpool.infoset", p, 2, &xml, &len,
			      err)) != VMH_OK)
		return rc;
	rc = vmh_one_parse_vm_pool(xml, len, out, err);
	free(xml);
	return rc;
}

enum vmh_rc
vmh_one_vm_action(struct vmh_one *one, const char *action, long long id,
		  struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_STR(action),
					VMH_XMLRPC_P_INT(id) };

	return call_action(one, "one.vm.action", p, 2, err);
}

enum vmh_rc
vmh_one_vm_recover(struct vmh_one *one, long long id, int op,
		   struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id),
					VMH_XMLRPC_P_INT(op) };

	if (op < 0 || op > 5)
		return vmh_error_set(err, VMH_E_USAGE, "one.vm.recover", 0,
				     "bad recover operation %d", op);
	return call_action(one, "one.vm.recover", p, 2, err);
}

enum vmh_rc
vmh_one_vm_migrate(struct vmh_one *one, long long id, long long host_id,
		   int live, int enforce, long long ds_id,
		   struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id),
					VMH_XMLRPC_P_INT(host_id),
					VMH_XMLRPC_P_BOOL(live),
					VMH_XMLRPC_P_BOOL(enforce),
					VMH_XMLRPC_P_INT(ds_id) };

	return call_action(one, "one.vm.migrate", p, 5, err);
}

enum vmh_rc
vmh_one_vm_deploy(struct vmh_one *one, long long id, long long host_id,
		  int enforce, long long ds_id, struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id),
					VMH_XMLRPC_P_INT(host_id),
					VMH_XMLRPC_P_BOOL(enforce),
					VMH_XMLRPC_P_INT(ds_id) };

	return call_action(one, "one.vm.deploy", p, 4, err);
}

enum vmh_rc
vmh_one_vm_lock(struct vmh_one *one, long long id, int level,
		struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id),
					VMH_XMLRPC_P_INT(level) };

	return call_action(one, "one.vm.lock", p, 2, err);
}

enum vmh_rc
vmh_one_vm_unlock(struct vmh_one *one, long long id, struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id) };

	return call_action(one, "one.vm.unlock", p, 1, err);
}

enum vmh_rc
vmh_one_vm_update(struct vmh_one *one, long long id, const char *tmpl,
		  int merge, struct vmh_error *err)
{
	struct vmh_xmlrpc_param p[] = { VMH_XMLRPC_P_INT(id),
					VMH_XMLRPC_P_STR(tmpl),
					VMH_XMLRPC_P_INT(merge ? 1 : 0) };

	return call_action(one, "one.vm.update", p, 3, err);
}

static enum vmh_rc
load_datastores(struct vmh_one *one, struct vmh_error *err)
{
	enum vmh_rc rc;
	size_t len;
	char *xml;

	free(one->ds_ids);
	free(one->ds_shared);
	one->ds_ids = NULL;
	one->ds_shared = NULL;
	one->n_ds = 0;
	one->have_ds = 0;
	if ((rc = call_string(one, "one.datastorepool.info", NULL, 0, &xml,
			      &len, err)) != VMH_OK)
		return rc;
	rc = vmh_one_parse_datastore_pool(xml, len, &one->ds_ids,
					  &one->ds_shared, &one->n_ds, err);
	free(xml);
	one->have_ds = rc == VMH_OK;
	return rc;
}

enum vmh_rc
vmh_one_datastore_shared(struct vmh_one *one, long long ds_id, int *shared,
			 struct vmh_error *err)
{
	enum vmh_rc rc;
	size_t i;
	int pass;

	*shared = 0;
	/* A datastore created since the cache was filled: refresh once. */
	for (pass = 0; pass < 2; pass++) {
		if ((!one->have_ds || pass == 1) &&
		    (rc = load_datastores(one, err)) != VMH_OK)
			return rc;
		for (i = 0; i < one->n_ds; i++) {
			if (one->ds_ids[i] == ds_id) {
				*shared = one->ds_shared[i];
				return VMH_OK;
			}
		}
	}
	return vmh_error_set(err, VMH_E_NOTFOUND, "one.datastorepool.info", 0,
			     "no datastore %lld", ds_id);
}

/* ---- The driver */

static enum vmh_rc
parse_id(const char *s, const char *what, long long *id, struct vmh_error *err)
{
	if (!vmh_str_isdigits(s) ||
	    vmh_strtonum(s, 0, 0x7fffffff, id, what, NULL) != VMH_OK)
		return vmh_error_set(err, VMH_E_USAGE, NULL, 0,
				     "%s '%.40s' is not an OpenNebula ID", what,
				     s != NULL ? s : "");
	return VMH_OK;
}

static enum vmh_rc
drv_open(const struct vmh_conf *conf, void **state, struct vmh_error *err)
{
	return vmh_one_open(conf, (struct vmh_one **)state, err);
}

static void
drv_close(void *state)
{
	vmh_one_close(state);
}

static enum vmh_rc
drv_version(void *state, char **version, struct vmh_error *err)
{
	return vmh_one_system_version(state, version, err);
}

static enum vmh_rc
drv_monitoring_interval(void *state, int *seconds, struct vmh_error *err)
{
	struct vmh_one *one = state;
	struct vmh_error e;
	enum vmh_rc rc;
	size_t len = 0;
	char *xml;
	int v = 0;

	*seconds = ONE_DEFAULT_MONITOR;
	if (one->monitoring_interval > 0) {
		*seconds = one->monitoring_interval;
		return VMH_OK;
	}
	vmh_error_init(&e);
	rc = vmh_one_system_config(one, &xml, &e);
	if (rc == VMH_OK) {
		len = strlen(xml);
		rc = vmh_one_parse_monitoring_interval(xml, len, &v, &e);
		free(xml);
	}
	if (rc == VMH_OK) {
		/* 5.12+ moved the setting to monitord.conf: 0 here. */
		if (v > 0)
			*seconds = v;
		return VMH_OK;
	}
	/* A user outside oneadmin may not read the configuration, and an
	 * odd document is no reason to fail: use the default. Transport and
	 * credential failures are real. */
	if (rc == VMH_E_DENIED || rc == VMH_E_API || rc == VMH_E_DATA) {
		log_debug("opennebula: monitoring interval: %s; using %d s",
			  e.text, *seconds);
		return VMH_OK;
	}
	if (err != NULL && err->code == VMH_OK)
		*err = e;
	return rc;
}

static enum vmh_rc
drv_host_get(void *state, const char *name_or_id, struct vmh_host **out,
	     struct vmh_error *err)
{
	struct vmh_host_list l;
	struct vmh_host *h;
	long long id;
	size_t i;
	enum vmh_rc rc;

	if (vmh_str_isdigits(name_or_id)) {
		if ((rc = parse_id(name_or_id, "host", &id, err)) != VMH_OK)
			return rc;
		return vmh_one_host_info(state, id, out, err);
	}
	if ((rc = vmh_one_hostpool_info(state, &l, err)) != VMH_OK)
		return rc;
	for (i = 0; i < l.n; i++)
		if (l.hosts[i].name != NULL &&
		    strcmp(l.hosts[i].name, name_or_id) == 0)
			break;
	if (i == l.n) {
		vmh_host_list_free(&l);
		return vmh_error_set(err, VMH_E_NOTFOUND, "one.hostpool.info",
				     0, "no host named '%.80s'", name_or_id);
	}
	if ((h = malloc(sizeof(*h))) == NULL) {
		vmh_host_list_free(&l);
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	}
	*h = l.hosts[i];
	memset(&l.hosts[i], 0, sizeof(l.hosts[i]));
	vmh_host_list_free(&l);
	*out = h;
	return VMH_OK;
}

static enum vmh_rc
drv_host_list(void *state, struct vmh_host_list *out, struct vmh_error *err)
{
	return vmh_one_hostpool_info(state, out, err);
}

static enum vmh_rc
drv_host_disable(void *state, const struct vmh_host *h, int offline,
		 const char *reason, struct vmh_error *err)
{
	long long id;
	enum vmh_rc rc;

	if ((rc = parse_id(h->id, "host", &id, err)) != VMH_OK)
		return rc;
	/* oned keeps no reason with a host's status; say it in our log. */
	log_info("opennebula: host %s (%s) -> %s%s%s", h->id,
		 h->name != NULL ? h->name : "?",
		 offline ? "OFFLINE" : "DISABLED", reason != NULL ? ": " : "",
		 reason != NULL ? reason : "");
	return vmh_one_host_status(state, id, offline ? 2 : 1, err);
}

static enum vmh_rc
drv_host_enable(void *state, const struct vmh_host *h, struct vmh_error *err)
{
	long long id;
	enum vmh_rc rc;

	if ((rc = parse_id(h->id, "host", &id, err)) != VMH_OK)
		return rc;
	return vmh_one_host_status(state, id, 0, err);
}

static int
vm_on_host(const struct vmh_vm *vm, const struct vmh_host *h)
{
	if (vm->state == VMH_VM_DONE)
		return 0;
	/* By HID: names can change, IDs cannot. */
	if (vm->host_id != NULL && h->id != NULL)
		return strcmp(vm->host_id, h->id) == 0;
	return vm->host_name != NULL && h->name != NULL &&
	       strcmp(vm->host_name, h->name) == 0;
}

static enum vmh_rc
drv_vms_on_host(void *state, const struct vmh_host *h, struct vmh_vm_list *out,
		struct vmh_error *err)
{
	struct vmh_vm_list all;
	enum vmh_rc rc;
	size_t i, k = 0;

	/* One pool listing, every user, every state but DONE. Whole bodies:
	 * the short ones (5.8+) leave out USER_TEMPLATE attributes such as
	 * HA that the policy reads. */
	if ((rc = vmh_one_vmpool(state, 1, -1, &all, err)) != VMH_OK)
		return rc;
	for (i = 0; i < all.n; i++) {
		if (vm_on_host(&all.vms[i], h))
			all.vms[k++] = all.vms[i];
		else
			vmh_vm_clear(&all.vms[i]);
	}
	all.n = k;
	*out = all;
	return VMH_OK;
}

static enum vmh_rc
drv_vm_list_all(void *state, struct vmh_vm_list *out, struct vmh_error *err)
{
	/* Whole bodies: the short ones leave out USER_TEMPLATE. */
	return vmh_one_vmpool(state, 1, -1, out, err);
}

static enum vmh_rc
drv_vm_get(void *state, const char *id, struct vmh_vm **out,
	   struct vmh_error *err)
{
	long long v;
	enum vmh_rc rc;

	if ((rc = parse_id(id, "VM", &v, err)) != VMH_OK)
		return rc;
	return vmh_one_vm_info(state, v, out, err);
}

static int
ll_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* A deep copy of a VM (for an ID asked for twice). */
static int
vm_copy(struct vmh_vm *dst, const struct vmh_vm *src)
{
	size_t i, n = 0;

	*dst = *src;
	dst->id = dst->name = dst->state_text = dst->host_name = NULL;
	dst->host_id = NULL;
	dst->attrs = NULL;
	dst->ips = NULL;
#define DUP(f)                                                                 \
	do {                                                                   \
		if (src->f != NULL && (dst->f = strdup(src->f)) == NULL)       \
			goto fail;                                             \
	} while (0)
	DUP(id);
	DUP(name);
	DUP(state_text);
	DUP(host_name);
	DUP(host_id);
#undef DUP
	while (src->attrs != NULL && src->attrs[n] != NULL)
		n++;
	if ((dst->attrs = calloc(n + 1, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if ((dst->attrs[i] = strdup(src->attrs[i])) == NULL)
			goto fail;
	for (n = 0; src->ips != NULL && src->ips[n] != NULL; n++)
		;
	if (src->ips != NULL &&
	    (dst->ips = calloc(n + 1, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if ((dst->ips[i] = strdup(src->ips[i])) == NULL)
			goto fail;
	return 0;
fail:
	vmh_vm_clear(dst);
	return -1;
}

/* The stand-in for a VM that is not in the pool any more. */
static int
vm_gone(struct vmh_vm *vm, long long id)
{
	char buf[32];

	memset(vm, 0, sizeof(*vm));
	snprintf(buf, sizeof(buf), "%lld", id);
	vm->state = VMH_VM_DONE;
	vm->raw_state = -1;
	vm->raw_lcm = -1;
	vm->ds_id = -1;
	vm->history_seq = -1;
	if ((vm->id = strdup(buf)) == NULL ||
	    (vm->state_text = strdup("DONE (gone)")) == NULL ||
	    (vm->attrs = calloc(1, sizeof(char *))) == NULL) {
		vmh_vm_clear(vm);
		return -1;
	}
	return 0;
}

/* Fetch the VMs of sorted unique ids into got (any order). */
static enum vmh_rc
fetch_vms(struct vmh_one *one, const long long *ids, size_t n,
	  struct vmh_vm_list *got, struct vmh_error *err)
{
	struct vmh_buf list;
	long version = 0;
	size_t i = 0, k;
	enum vmh_rc rc = VMH_OK;

	if (vmh_one_version_number(one, &version, err) != VMH_OK)
		return err != NULL ? err->code : VMH_E_UNAVAILABLE;
	vmh_buf_init(&list, ONE_REQUEST_MAX);
	while (i < n && rc == VMH_OK) {
		if (version >= 60000) {
			/* one.vmpool.infoset, a few hundred IDs a call. */
			vmh_buf_reset(&list);
			for (k = i;
			     k < n && k < i + ONE_INFOSET_CHUNK && rc == VMH_OK;
			     k++)
				rc = vmh_buf_printf(&list, "%s%lld",
						    k > i ? "," : "", ids[k]);
			if (rc != VMH_OK) {
				rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
						   "out of memory");
				break;
			}
			rc = vmh_one_vmpool_infoset(one, vmh_buf_str(&list), 1,
						    got, err);
		} else {
			/* Older: ID ranges of every state (DONE too),
			 * each range spanning at most ONE_RANGE_CHUNK IDs. */
			for (k = i; k < n && ids[k] - ids[i] < ONE_RANGE_CHUNK;
			     k++)
				;
			rc = vmh_one_vmpool_page(one, 1, -2, ids[i], ids[k - 1],
						 -2, got, err);
		}
		i = k;
	}
	vmh_buf_free(&list);
	return rc;
}

static enum vmh_rc
drv_vms_get(void *state, const char *const *ids, size_t n,
	    struct vmh_vm_list *out, struct vmh_error *err)
{
	struct vmh_one *one = state;
	struct vmh_vm_list got = { NULL, 0 };
	long long *want = NULL, *sorted = NULL, *gid = NULL;
	size_t *where = NULL, i, j, u = 0, lo, hi;
	enum vmh_rc rc = VMH_OK;

	if ((want = calloc(n, sizeof(*want))) == NULL ||
	    (sorted = calloc(n, sizeof(*sorted))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((rc = parse_id(ids[i], "VM", &want[i], err)) != VMH_OK)
			goto done;
		sorted[i] = want[i];
	}
	qsort(sorted, n, sizeof(*sorted), ll_cmp);
	for (i = 0; i < n; i++)
		if (u == 0 || sorted[u - 1] != sorted[i])
			sorted[u++] = sorted[i];
	if ((rc = fetch_vms(one, sorted, u, &got, err)) != VMH_OK)
		goto done;
	sort_unique(&got); /* by ID, so the lookup below can bisect */
	if ((out->vms = calloc(n, sizeof(*out->vms))) == NULL ||
	    (got.n > 0 && ((gid = calloc(got.n, sizeof(*gid))) == NULL ||
			   (where = calloc(got.n, sizeof(*where))) == NULL)))
		goto nomem;
	for (j = 0; j < got.n; j++) {
		where[j] = SIZE_MAX;
		if (parse_id(got.vms[j].id, "VM", &gid[j], NULL) != VMH_OK)
			gid[j] = -1;
	}
	for (i = 0; i < n; i++) {
		for (lo = 0, hi = got.n; lo < hi;) {
			j = lo + (hi - lo) / 2;
			if (gid[j] < want[i])
				lo = j + 1;
			else
				hi = j;
		}
		j = lo;
		if (j == got.n || gid[j] != want[i]) {
			if (vm_gone(&out->vms[i], want[i]) < 0)
				goto nomem;
		} else if (where[j] == SIZE_MAX) {
			out->vms[i] = got.vms[j];
			memset(&got.vms[j], 0, sizeof(got.vms[j]));
			where[j] = i;
		} else if (vm_copy(&out->vms[i], &out->vms[where[j]]) < 0) {
			goto nomem;
		}
		out->n = i + 1;
	}
	goto done;
nomem:
	rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
done:
	vmh_vm_list_free(&got); /* what was handed to out is zeroed */
	free(gid);
	free(where);
	free(want);
	free(sorted);
	if (rc != VMH_OK)
		vmh_vm_list_free(out);
	return rc;
}

/* ---- Operations, many at a time */

struct op_call {
	const char *method;
	struct vmh_xmlrpc_param p[3];
	size_t n;
	struct vmh_buf tmpl; /* the update template */
};

/* What an op is in oned's API, for a server of the given version (0:
 * unknown, taken as current). */
static enum vmh_rc
op_to_call(const struct vmh_vm_op *op, long version, struct op_call *c,
	   struct vmh_error *err)
{
	const char *method_name = vmh_vm_action_name(op->action);
	long long id, level = 3;
	int legacy = version > 0 && version < 50000;
	enum vmh_rc rc;

	memset(c, 0, sizeof(*c));
	vmh_buf_init(&c->tmpl, ONE_REQUEST_MAX / 2);
	if ((rc = parse_id(op->vm_id, "VM", &id, err)) != VMH_OK)
		return rc;
	c->p[0] = VMH_XMLRPC_P_INT(id);
	c->n = 2;
	switch (op->action) {
	case VMH_ACT_RECREATE:
	case VMH_ACT_REBUILD:
	case VMH_ACT_DELETE:
		if (legacy) {
			/* 4.x: delete and delete-recreate are actions. */
			c->method = "one.vm.action";
			c->p[0] = VMH_XMLRPC_P_STR(op->action == VMH_ACT_DELETE
						       ? "delete"
						       : "delete-recreate");
			c->p[1] = VMH_XMLRPC_P_INT(id);
		} else {
			c->method = "one.vm.recover";
			c->p[1] = VMH_XMLRPC_P_INT(
			    op->action == VMH_ACT_DELETE ? 3 : 4);
		}
		return VMH_OK;
	case VMH_ACT_RETRY:
		if (version > 0 && version < 41400)
			break;
		c->method = "one.vm.recover";
		c->p[1] = VMH_XMLRPC_P_INT(2);
		return VMH_OK;
	case VMH_ACT_RESCHED:
	case VMH_ACT_RESUME:
	case VMH_ACT_REBOOT_HARD:
		c->method = "one.vm.action";
		c->p[0] = VMH_XMLRPC_P_STR(method_name);
		c->p[1] = VMH_XMLRPC_P_INT(id);
		return VMH_OK;
	case VMH_ACT_LOCK:
		if (op->arg != NULL &&
		    vmh_strtonum(op->arg, 1, 4, &level, "lock level", NULL) !=
			VMH_OK)
			return vmh_error_set(err, VMH_E_USAGE, NULL, 0,
					     "bad lock level '%.20s' (1 to 4)",
					     op->arg);
		c->method = "one.vm.lock";
		c->p[1] = VMH_XMLRPC_P_INT(level);
		return VMH_OK;
	case VMH_ACT_UNLOCK:
		c->method = "one.vm.unlock";
		c->n = 1;
		return VMH_OK;
	case VMH_ACT_UPDATE:
		if (op->arg == NULL)
			return vmh_error_set(err, VMH_E_USAGE, "update", 0,
					     "nothing to update");
		if ((rc = vmh_one_update_template(op->arg, &c->tmpl, err)) !=
		    VMH_OK)
			return rc;
		c->method = "one.vm.update";
		c->p[1] = VMH_XMLRPC_P_STR(vmh_buf_str(&c->tmpl));
		c->p[2] = VMH_XMLRPC_P_INT(1); /* merge */
		c->n = 3;
		return VMH_OK;
	case VMH_ACT_RESET_STATE:
	default:
		break;
	}
	return vmh_error_set(err, VMH_E_API, NULL, 0,
			     "%s: not an operation OpenNebula %s offers",
			     method_name,
			     legacy || op->action == VMH_ACT_RETRY ? "of this "
								     "version"
								   : "");
}

struct ops_run {
	struct vmh_one *one;
	struct vmh_vm_op *ops;
	vmh_op_cb cb;
	void *ctx;
	long version;
	struct op_call *calls; /* per op, while it runs */
	struct vmh_buf *bodies;
	long long *start;
	unsigned char *finished;
};

static void
op_finish(struct ops_run *r, size_t i)
{
	struct vmh_vm_op *op = &r->ops[i];

	r->finished[i] = 1;
	op->duration_ms = (long)(vmh_now_ms() - r->start[i]);
	vmh_buf_free(&r->calls[i].tmpl);
	if (r->bodies[i].data != NULL)
		explicit_bzero(r->bodies[i].data, r->bodies[i].len);
	vmh_buf_free(&r->bodies[i]);
	if (r->cb != NULL)
		r->cb(op, 1, r->ctx);
}

static int
ops_prepare(void *ctx, size_t i, struct vmh_http_request *req)
{
	struct ops_run *r = ctx;
	struct vmh_vm_op *op = &r->ops[i];
	struct op_call *c = &r->calls[i];

	r->start[i] = vmh_now_ms();
	vmh_buf_init(&r->bodies[i], 1);
	if ((op->rc = op_to_call(op, r->version, c, &op->err)) != VMH_OK) {
		op_finish(r, i);
		return 1;
	}
	if (r->cb != NULL && r->cb(op, 0, r->ctx) != 0) {
		op->rc = vmh_error_set(&op->err, VMH_E_INTERNAL, NULL, 0,
				       "skipped by caller");
		op_finish(r, i);
		return 1;
	}
	if ((op->rc = build_call(r->one, c->method, c->p, c->n, &r->bodies[i],
				 &op->err)) != VMH_OK) {
		op_finish(r, i);
		return 1;
	}
	req->method = "POST";
	req->url = r->one->endpoint;
	req->headers = one_headers;
	req->body = r->bodies[i].data;
	req->body_len = r->bodies[i].len;
	req->idempotent = 0;
	return 0;
}

static void
ops_done(void *ctx, size_t i, enum vmh_rc rc, struct vmh_http_response *hr,
	 const struct vmh_error *e)
{
	struct ops_run *r = ctx;
	struct vmh_vm_op *op = &r->ops[i];
	struct vmh_xmlrpc_response resp;
	const char *method = r->calls[i].method;

	memset(&resp, 0, sizeof(resp));
	if (rc != VMH_OK) {
		op->rc = transport_error(method, e, &op->err);
	} else {
		op->rc = read_answer(method, r->one->endpoint, hr, &resp, NULL,
				     &op->err);
		vmh_xmlrpc_response_free(&resp);
	}
	op_finish(r, i);
}

static int
needs_version(const struct vmh_vm_op *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ops[i].action == VMH_ACT_RECREATE ||
		    ops[i].action == VMH_ACT_REBUILD ||
		    ops[i].action == VMH_ACT_DELETE ||
		    ops[i].action == VMH_ACT_RETRY)
			return 1;
	return 0;
}

static enum vmh_rc
drv_run_ops(void *state, struct vmh_vm_op *ops, size_t n, int concurrency,
	    vmh_op_cb cb, void *ctx, struct vmh_error *err)
{
	struct ops_run r;
	enum vmh_rc rc;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.one = state;
	r.ops = ops;
	r.cb = cb;
	r.ctx = ctx;
	if (n == 0)
		return VMH_OK;
	/* Which method a recover maps to depends on the version (4.x took
	 * actions); if oned cannot say, assume a current one: on a 4.x oned
	 * the call then fails with a type fault, nothing done. */
	if (needs_version(ops, n) &&
	    vmh_one_version_number(r.one, &r.version, NULL) != VMH_OK)
		r.version = 0;
	if ((r.calls = calloc(n, sizeof(*r.calls))) == NULL ||
	    (r.bodies = calloc(n, sizeof(*r.bodies))) == NULL ||
	    (r.start = calloc(n, sizeof(*r.start))) == NULL ||
	    (r.finished = calloc(n, 1)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	rc = vmh_http_batch(r.one->http, n, concurrency, ops_prepare, ops_done,
			    &r, err);
	/* The batch broke off: what was never sent says so. */
	for (i = 0; rc != VMH_OK && i < n; i++) {
		if (r.finished[i])
			continue;
		r.start[i] = vmh_now_ms();
		ops[i].rc =
		    vmh_error_set(&ops[i].err, rc, NULL, 0, "not sent: %s",
				  err != NULL ? err->text : "batch failed");
		r.calls[i].method = NULL;
		vmh_buf_init(&r.bodies[i], 1);
		vmh_buf_init(&r.calls[i].tmpl, 1);
		op_finish(&r, i);
	}
done:
	free(r.finished);
	free(r.calls);
	free(r.bodies);
	free(r.start);
	return rc;
}

static enum vmh_rc
drv_datastore_shared(void *state, long long ds_id, int *shared,
		     struct vmh_error *err)
{
	return vmh_one_datastore_shared(state, ds_id, shared, err);
}

static unsigned long
drv_calls(const void *state)
{
	return vmh_one_calls(state);
}

struct vmh_one *
vmh_one_from_cloud(struct vmh_cloud *c)
{
	return vmh__cloud_state(c, &vmh__cloud_one_driver);
}

const struct vmh_cloud_driver vmh__cloud_one_driver = {
	.kind = "opennebula",
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
	.datastore_shared = drv_datastore_shared,
	.vm_list_all = drv_vm_list_all,
};
