/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading vmheal.conf: libconfig parses, this module validates every key
 * (type, range, unknown names) and fills an immutable struct vmh_conf.
 * Section parsers of other modules use the vmh_conf_get_* helpers.
 */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "fence.h"
#include "hosterr.h"
#include "netfence.h"
#include "osauth.h"
#include "str.h"
#include "vmfail.h"
#include "vmprobe.h"

#define CONF_DEFAULT_STATE_DIR       LOCALSTATEDIR "/lib/vmheal"
#define CONF_DEFAULT_MAX_RESPONSE    (64 * 1024 * 1024)
#define CONF_DEFAULT_CONCURRENCY     32
#define CONF_DEFAULT_CONNECT_TIMEOUT 10
#define CONF_SECRETS_MAX             256

static const char *
setting_file(const vmh_setting *s)
{
	const char *f = config_setting_source_file(s);

	return f != NULL ? f : "(config)";
}

enum vmh_rc
vmh_conf_error(const vmh_setting *s, struct vmh_error *err, const char *fmt,
	       ...)
{
	char text[VMH_ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return vmh_error_set(err, VMH_E_CONFIG, setting_file(s),
			     (int)config_setting_source_line(s), "%s", text);
}

/* "group.key" for messages; the root group has no name. */
static const char *
setting_path(const vmh_setting *s, char *dst, size_t len)
{
	const vmh_setting *p = config_setting_parent(s);
	const char *name = config_setting_name(s);
	char parent[256];

	if (name == NULL)
		name = "(element)";
	if (p == NULL || config_setting_is_root(p))
		snprintf(dst, len, "%s", name);
	else
		snprintf(dst, len, "%s.%s",
			 setting_path(p, parent, sizeof(parent)), name);
	return dst;
}

enum vmh_rc
vmh_conf_check_keys(const vmh_setting *group, const char *const *allowed,
		    struct vmh_error *err)
{
	char path[256];
	int i, n, k;

	if (!config_setting_is_group(group))
		return vmh_conf_error(group, err, "%s: must be a group { ... }",
				      setting_path(group, path, sizeof(path)));
	n = config_setting_length(group);
	for (i = 0; i < n; i++) {
		vmh_setting *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		int ok = 0;

		for (k = 0; allowed[k] != NULL; k++)
			if (strcmp(allowed[k], name) == 0)
				ok = 1;
		if (!ok)
			return vmh_conf_error(
			    s, err, "unknown setting '%s'",
			    setting_path(s, path, sizeof(path)));
	}
	return VMH_OK;
}

/* Look key up in group; NULL when absent. */
static vmh_setting *
member(const vmh_setting *group, const char *key)
{
	return config_setting_get_member(group, key);
}

static enum vmh_rc
get_number(const vmh_setting *group, const char *key, long long min,
	   long long max, long long *out, int *found, struct vmh_error *err)
{
	vmh_setting *s = member(group, key);
	char path[256];
	long long v;

	*found = 0;
	if (s == NULL)
		return VMH_OK;
	setting_path(s, path, sizeof(path));
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		return vmh_conf_error(s, err, "%s: must be a whole number",
				      path);
	}
	if (v < min || v > max)
		return vmh_conf_error(s, err,
				      "%s: %lld is out of range "
				      "%lld..%lld",
				      path, v, min, max);
	*out = v;
	*found = 1;
	return VMH_OK;
}

enum vmh_rc
vmh_conf_get_int(const vmh_setting *group, const char *key, long long min,
		 long long max, int *out, struct vmh_error *err)
{
	long long v;
	int found;
	enum vmh_rc rc;

	if (min < -0x7fffffffLL)
		min = -0x7fffffffLL;
	if (max > 0x7fffffffLL)
		max = 0x7fffffffLL;
	rc = get_number(group, key, min, max, &v, &found, err);
	if (rc == VMH_OK && found)
		*out = (int)v;
	return rc;
}

enum vmh_rc
vmh_conf_get_size(const vmh_setting *group, const char *key, long long min,
		  long long max, size_t *out, struct vmh_error *err)
{
	long long v;
	int found;
	enum vmh_rc rc;

	if (min < 0)
		min = 0;
	rc = get_number(group, key, min, max, &v, &found, err);
	if (rc == VMH_OK && found)
		*out = (size_t)v;
	return rc;
}

enum vmh_rc
vmh_conf_get_bool(const vmh_setting *group, const char *key, int *out,
		  struct vmh_error *err)
{
	vmh_setting *s = member(group, key);
	char path[256];

	if (s == NULL)
		return VMH_OK;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return vmh_conf_error(s, err, "%s: must be true or false",
				      setting_path(s, path, sizeof(path)));
	*out = config_setting_get_bool(s);
	return VMH_OK;
}

enum vmh_rc
vmh_conf_get_string(const vmh_setting *group, const char *key, char **out,
		    struct vmh_error *err)
{
	vmh_setting *s = member(group, key);
	char path[256];
	char *copy;

	if (s == NULL)
		return VMH_OK;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return vmh_conf_error(s, err, "%s: must be a string in quotes",
				      setting_path(s, path, sizeof(path)));
	if ((copy = strdup(config_setting_get_string(s))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	free(*out);
	*out = copy;
	return VMH_OK;
}

enum vmh_rc
vmh_conf_get_enum(const vmh_setting *group, const char *key,
		  const char *const *choices, int *out, struct vmh_error *err)
{
	vmh_setting *s = member(group, key);
	char path[256], list[256] = "";
	const char *v;
	int i;

	if (s == NULL)
		return VMH_OK;
	setting_path(s, path, sizeof(path));
	for (i = 0; choices[i] != NULL; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s\"%s\"", i ? ", " : "",
			 choices[i]);
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return vmh_conf_error(s, err, "%s: must be one of %s", path,
				      list);
	v = config_setting_get_string(s);
	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], v) == 0) {
			*out = i;
			return VMH_OK;
		}
	return vmh_conf_error(s, err, "%s: \"%s\" is not one of %s", path, v,
			      list);
}

void
vmh_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

enum vmh_rc
vmh_conf_get_strv(const vmh_setting *group, const char *key, char ***out,
		  struct vmh_error *err)
{
	vmh_setting *s = member(group, key);
	char path[256];
	char **v = NULL;
	int i, n;
	enum vmh_rc rc = VMH_OK;

	if (s == NULL)
		return VMH_OK;
	setting_path(s, path, sizeof(path));
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return vmh_conf_error(s, err,
				      "%s: must be a list of strings "
				      "[ \"a\", \"b\" ]",
				      path);
	n = config_setting_length(s);
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	for (i = 0; i < n; i++) {
		vmh_setting *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			rc = vmh_conf_error(e, err,
					    "%s: element %d must be a string",
					    path, i + 1);
			goto done;
		}
		if ((v[i] = strdup(config_setting_get_string(e))) == NULL) {
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			goto done;
		}
	}
	vmh_strv_free(*out);
	*out = v;
	v = NULL;
done:
	vmh_strv_free(v);
	return rc;
}

enum vmh_rc
vmh_conf_check_secrecy(const char *path, const char *what,
		       struct vmh_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return vmh_error_errno(err, errno, path, "cannot read %s",
				       what);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "%s must be owned by root or by the "
				     "user running vmheal (uid %u)",
				     what, (unsigned)geteuid());
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "%s holds secrets and is readable by "
				     "group or others (mode %04o); run chmod "
				     "600 %s",
				     what, (unsigned)(st.st_mode & 07777),
				     path);
	return VMH_OK;
}

/* Load secrets: a libconfig file of name = "value"; pairs, mode 0600. */
static enum vmh_rc
load_secrets(struct vmh_conf *conf, struct vmh_error *err)
{
	config_t cfg;
	vmh_setting *root;
	int i, n;
	enum vmh_rc rc;

	if ((rc = vmh_conf_check_secrecy(conf->secrets_file, "secrets file",
					 err)) != VMH_OK)
		return rc;
	config_init(&cfg);
	if (config_read_file(&cfg, conf->secrets_file) != CONFIG_TRUE) {
		rc = vmh_error_set(
		    err, VMH_E_CONFIG,
		    config_error_file(&cfg) ? config_error_file(&cfg)
					    : conf->secrets_file,
		    config_error_line(&cfg), "%s",
		    config_error_text(&cfg) ? config_error_text(&cfg)
					    : "cannot read file");
		goto done;
	}
	root = config_root_setting(&cfg);
	n = config_setting_length(root);
	if (n > CONF_SECRETS_MAX) {
		rc = vmh_error_set(err, VMH_E_CONFIG, conf->secrets_file, 0,
				   "more than %d secrets", CONF_SECRETS_MAX);
		goto done;
	}
	if ((conf->secrets = calloc((size_t)n + 1, sizeof(*conf->secrets))) ==
	    NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		vmh_setting *s = config_setting_get_elem(root, (unsigned)i);
		struct vmh_secret *sec = &conf->secrets[conf->n_secrets];

		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			rc = vmh_conf_error(s, err,
					    "secret '%s' must be a string",
					    config_setting_name(s));
			goto done;
		}
		sec->name = strdup(config_setting_name(s));
		sec->value = strdup(config_setting_get_string(s));
		conf->n_secrets++;
		if (sec->name == NULL || sec->value == NULL) {
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			goto done;
		}
	}
done:
	config_destroy(&cfg);
	return rc;
}

const char *
vmh_conf_secret(const struct vmh_conf *conf, const char *name)
{
	size_t i;

	if (conf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < conf->n_secrets; i++)
		if (strcmp(conf->secrets[i].name, name) == 0)
			return conf->secrets[i].value;
	return NULL;
}

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

static enum vmh_rc
parse_log(const vmh_setting *g, struct vmh_conf *conf, struct vmh_error *err)
{
	static const char *const keys[] = { "json", "facility", NULL };
	static const char *names[sizeof(facilities) / sizeof(facilities[0])];
	int idx = -1, i;
	enum vmh_rc rc;

	for (i = 0; facilities[i].name != NULL; i++)
		names[i] = facilities[i].name;
	names[i] = NULL;
	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "json", &conf->log_json, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_enum(g, "facility", names, &idx, err)) != VMH_OK)
		return rc;
	if (idx >= 0)
		conf->syslog_facility = facilities[idx].value;
	return VMH_OK;
}

static enum vmh_rc
parse_http(const vmh_setting *g, struct vmh_conf *conf, struct vmh_error *err)
{
	static const char *const keys[] = { "max_concurrency", "max_response",
					    NULL };
	enum vmh_rc rc;

	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "max_concurrency", 1, 256,
				   &conf->http_max_concurrency, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_size(g, "max_response", 4096, 1LL << 32,
				    &conf->http_max_response, err)) != VMH_OK)
		return rc;
	return VMH_OK;
}

static enum vmh_rc
parse_opennebula(const vmh_setting *g, struct vmh_conf *conf,
		 struct vmh_error *err)
{
	static const char *const keys[] = {
		"endpoint",
		"auth_file",
		"auth_secret",
		"cacert",
		"ca_dir",
		"timeout",
		"connect_timeout",
		"monitoring_interval",
		NULL,
	};
	struct vmh_conf_opennebula *o = &conf->one;
	enum vmh_rc rc;

	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "endpoint", &o->endpoint, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(g, "auth_file", &o->auth_file, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(g, "auth_secret", &o->auth_secret,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "cacert", &o->cacert, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(g, "ca_dir", &o->ca_dir, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_int(g, "timeout", 1, 3600, &o->timeout_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "connect_timeout", 1, 600,
				   &o->connect_timeout_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "monitoring_interval", 0, 86400,
				   &o->monitoring_interval_s, err)) != VMH_OK)
		return rc;
	return VMH_OK;
}

static enum vmh_rc
parse_fence(const vmh_setting *g, struct vmh_conf *conf, struct vmh_error *err)
{
	return vmh_fence_conf_parse(g, &conf->fence, err);
}

static enum vmh_rc
parse_hosterr(const vmh_setting *g, struct vmh_conf *conf,
	      struct vmh_error *err)
{
	return vmh_hosterr_conf_parse(g, &conf->hosterr, err);
}

static enum vmh_rc
parse_openstack(const vmh_setting *g, struct vmh_conf *conf,
		struct vmh_error *err)
{
	return vmh_openstack_conf_parse(g, &conf->openstack, err);
}

static enum vmh_rc
parse_vmfail(const vmh_setting *g, struct vmh_conf *conf, struct vmh_error *err)
{
	return vmh_vmfail_conf_parse(g, &conf->vmfail, err);
}

static enum vmh_rc
parse_vmprobe(const vmh_setting *g, struct vmh_conf *conf,
	      struct vmh_error *err)
{
	return vmh_vmprobe_conf_parse(g, &conf->vmprobe, err);
}

static enum vmh_rc
parse_netfence(const vmh_setting *g, struct vmh_conf *conf,
	       struct vmh_error *err)
{
	return vmh_netfence_conf_parse(g, &conf->netfence, err);
}

/* Top-level sections and the parser of each. */
static const struct {
	const char *name;
	enum vmh_rc (*parse)(const vmh_setting *, struct vmh_conf *,
			     struct vmh_error *);
} sections[] = {
	{ "log", parse_log },
	{ "http", parse_http },
	{ "opennebula", parse_opennebula },
	{ "openstack", parse_openstack },
	{ "net_fence", parse_netfence },
	{ "fence", parse_fence },
	{ "host_error", parse_hosterr },
	{ "vm_failure", parse_vmfail },
	{ "vm_probe", parse_vmprobe },
};

static enum vmh_rc
parse_root(const vmh_setting *root, struct vmh_conf *conf,
	   struct vmh_error *err)
{
	static const char *const scalars[] = { "cloud", "state_dir",
					       "secrets_file", NULL };
	static const char *const clouds[] = { "opennebula", "openstack", NULL };
	int i, n, k, cloud = 0;
	enum vmh_rc rc;

	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		vmh_setting *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		int known = 0;

		for (k = 0; scalars[k] != NULL; k++)
			if (strcmp(scalars[k], name) == 0)
				known = 1;
		for (k = 0; k < (int)(sizeof(sections) / sizeof(sections[0]));
		     k++) {
			if (strcmp(sections[k].name, name) != 0)
				continue;
			known = 1;
			if ((rc = sections[k].parse(s, conf, err)) != VMH_OK)
				return rc;
		}
		if (!known)
			return vmh_conf_error(s, err, "unknown setting '%s'",
					      name);
	}
	if ((rc = vmh_conf_get_enum(root, "cloud", clouds, &cloud, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(root, "state_dir", &conf->state_dir,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(root, "secrets_file", &conf->secrets_file,
				      err)) != VMH_OK)
		return rc;
	conf->cloud_set = config_setting_get_member(root, "cloud") != NULL;
	free(conf->cloud);
	if ((conf->cloud = strdup(clouds[cloud])) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if (conf->state_dir[0] != '/')
		return vmh_conf_error(
		    config_setting_get_member(root, "state_dir"), err,
		    "state_dir: must be an absolute "
		    "path");
	return VMH_OK;
}

static enum vmh_rc
set_defaults(struct vmh_conf *conf, struct vmh_error *err)
{
	conf->cloud = strdup("opennebula");
	conf->state_dir = strdup(CONF_DEFAULT_STATE_DIR);
	conf->syslog_facility = LOG_DAEMON;
	conf->http_max_concurrency = CONF_DEFAULT_CONCURRENCY;
	conf->http_max_response = CONF_DEFAULT_MAX_RESPONSE;
	/* conf->one.timeout_s stays 0: ONE_XMLRPC_TIMEOUT, else 30 s (see
	 * lib/cloud_one.c), unless the file sets it. */
	conf->one.connect_timeout_s = CONF_DEFAULT_CONNECT_TIMEOUT;
	if (conf->cloud == NULL || conf->state_dir == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	return VMH_OK;
}

enum vmh_rc
vmh_conf_load(const char *path, struct vmh_conf **out, struct vmh_error *err)
{
	struct vmh_conf *conf = NULL;
	config_t cfg;
	int have_cfg = 0;
	enum vmh_rc rc;

	*out = NULL;
	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if ((rc = set_defaults(conf, err)) != VMH_OK)
		goto done;
	if (path == NULL && access(VMH_CONF_DEFAULT_PATH, F_OK) == 0)
		path = VMH_CONF_DEFAULT_PATH;
	if (path != NULL) {
		FILE *f;

		if ((conf->path = strdup(path)) == NULL) {
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			goto done;
		}
		/* Check readability first: libconfig's own message for a
		 * missing file is only "file I/O error". */
		if ((f = fopen(path, "r")) == NULL) {
			rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
					   "cannot read configuration: %s",
					   strerror(errno));
			goto done;
		}
		fclose(f);
		config_init(&cfg);
		have_cfg = 1;
		if (config_read_file(&cfg, path) != CONFIG_TRUE) {
			rc = vmh_error_set(err, VMH_E_CONFIG,
					   config_error_file(&cfg)
					       ? config_error_file(&cfg)
					       : path,
					   config_error_line(&cfg), "%s",
					   config_error_text(&cfg));
			goto done;
		}
		if ((rc = parse_root(config_root_setting(&cfg), conf, err)) !=
		    VMH_OK)
			goto done;
	}
	if (conf->secrets_file != NULL &&
	    (rc = load_secrets(conf, err)) != VMH_OK)
		goto done;
	*out = conf;
	conf = NULL;
	rc = VMH_OK;
done:
	if (have_cfg)
		config_destroy(&cfg);
	vmh_conf_free(conf);
	return rc;
}

void
vmh_conf_free(struct vmh_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	free(conf->path);
	free(conf->cloud);
	free(conf->state_dir);
	free(conf->secrets_file);
	free(conf->one.endpoint);
	free(conf->one.auth_file);
	free(conf->one.auth_secret);
	free(conf->one.cacert);
	free(conf->one.ca_dir);
	for (i = 0; i < conf->n_secrets; i++) {
		/* Secrets do not linger in freed memory. */
		explicit_bzero(conf->secrets[i].value,
			       strlen(conf->secrets[i].value));
		free(conf->secrets[i].name);
		free(conf->secrets[i].value);
	}
	free(conf->secrets);
	vmh_netfence_conf_free(conf->netfence);
	vmh_openstack_conf_free(conf->openstack);
	vmh_fence_conf_free(conf->fence);
	vmh_hosterr_conf_free(conf->hosterr);
	vmh_vmfail_conf_free(conf->vmfail);
	vmh_vmprobe_conf_free(conf->vmprobe);
	free(conf);
}
