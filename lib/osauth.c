/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OpenStack credentials (config, OS_*, clouds.yaml) and Keystone v3. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "buf.h"
#include "log.h"
#include "osauth.h"
#include "str.h"

#define OS_YAML_MAX_BYTES (1024 * 1024)
#define OS_YAML_MAX_DEPTH 64
#define OS_RENEW_MARGIN_S 60
#define OS_AUTH_MAX_BODY  (4 * 1024 * 1024)

/* ------------------------------------------------------------------ conf */

static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

enum vmh_rc
vmh_openstack_conf_default(struct vmh_openstack_conf **out,
			   struct vmh_error *err)
{
	struct vmh_openstack_conf *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	c->timeout_s = 30;
	c->connect_timeout_s = 10;
	c->monitoring_interval_s = 60;
	c->enable_wait_s = 60;
	c->ha_key = strdup("HA_Enabled");
	c->lock_reason = strdup("vmheal: recovering this server");
	c->min_microversion = strdup("2.53");
	c->max_microversion = strdup("2.73");
	if (c->ha_key == NULL || c->lock_reason == NULL ||
	    c->min_microversion == NULL || c->max_microversion == NULL)
		goto nomem;
	*out = c;
	return VMH_OK;
nomem:
	vmh_openstack_conf_free(c);
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

void
vmh_openstack_conf_free(struct vmh_openstack_conf *c)
{
	if (c == NULL)
		return;
	free(c->cloud);
	free(c->auth_url);
	free(c->auth_type);
	free(c->username);
	free(c->user_id);
	free(c->user_domain_name);
	free(c->user_domain_id);
	free(c->project_name);
	free(c->project_id);
	free(c->project_domain_name);
	free(c->project_domain_id);
	free(c->password_secret);
	free(c->application_credential_id);
	free(c->application_credential_name);
	free(c->application_credential_secret);
	free(c->region);
	free(c->interface);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->ha_key);
	free(c->lock_reason);
	free(c->min_microversion);
	free(c->max_microversion);
	free(c);
}

/* "2.53" -> 2053; -1 when malformed. */
static int
mv_parse(const char *s)
{
	long long major, minor;
	const char *dot = s != NULL ? strchr(s, '.') : NULL;
	char buf[16];

	if (dot == NULL || (size_t)(dot - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(dot - s));
	buf[dot - s] = '\0';
	if (vmh_strtonum(buf, 2, 2, &major, "major", NULL) != VMH_OK ||
	    vmh_strtonum(dot + 1, 0, 999, &minor, "minor", NULL) != VMH_OK)
		return -1;
	return (int)(major * 1000 + minor);
}

enum vmh_rc
vmh_openstack_conf_parse(const vmh_setting *g, struct vmh_openstack_conf **out,
			 struct vmh_error *err)
{
	static const char *const keys[] = {
		"cloud",
		"auth_url",
		"auth_type",
		"username",
		"user_id",
		"user_domain_name",
		"user_domain_id",
		"project_name",
		"project_id",
		"project_domain_name",
		"project_domain_id",
		"password_secret",
		"application_credential_id",
		"application_credential_name",
		"application_credential_secret",
		"region",
		"interface",
		"cacert",
		"cert",
		"key",
		"insecure",
		"timeout",
		"connect_timeout",
		"monitoring_interval",
		"enable_wait",
		"ha_metadata_key",
		"lock_reason",
		"min_microversion",
		"max_microversion",
		NULL,
	};
	static const char *const ifaces[] = { "public", "internal", "admin",
					      NULL };
	static const char *const types[] = { "password", "v3password",
					     "v3applicationcredential",
					     "applicationcredential", NULL };
	struct vmh_openstack_conf *c = NULL;
	struct {
		const char *key;
		char **dst;
	} strs[] = {
		{ "cloud", NULL },
		{ "auth_url", NULL },
		{ "username", NULL },
		{ "user_id", NULL },
		{ "user_domain_name", NULL },
		{ "user_domain_id", NULL },
		{ "project_name", NULL },
		{ "project_id", NULL },
		{ "project_domain_name", NULL },
		{ "project_domain_id", NULL },
		{ "password_secret", NULL },
		{ "application_credential_id", NULL },
		{ "application_credential_name", NULL },
		{ "application_credential_secret", NULL },
		{ "region", NULL },
		{ "cacert", NULL },
		{ "ha_metadata_key", NULL },
		{ "lock_reason", NULL },
		{ "min_microversion", NULL },
		{ "max_microversion", NULL },
		{ "cert", NULL },
		{ "key", NULL },
	};
	int iface = -1, type = -1;
	size_t i;
	enum vmh_rc rc;

	*out = NULL;
	if ((rc = vmh_openstack_conf_default(&c, err)) != VMH_OK)
		return rc;
	strs[0].dst = &c->cloud;
	strs[1].dst = &c->auth_url;
	strs[2].dst = &c->username;
	strs[3].dst = &c->user_id;
	strs[4].dst = &c->user_domain_name;
	strs[5].dst = &c->user_domain_id;
	strs[6].dst = &c->project_name;
	strs[7].dst = &c->project_id;
	strs[8].dst = &c->project_domain_name;
	strs[9].dst = &c->project_domain_id;
	strs[10].dst = &c->password_secret;
	strs[11].dst = &c->application_credential_id;
	strs[12].dst = &c->application_credential_name;
	strs[13].dst = &c->application_credential_secret;
	strs[14].dst = &c->region;
	strs[15].dst = &c->cacert;
	strs[16].dst = &c->ha_key;
	strs[17].dst = &c->lock_reason;
	strs[18].dst = &c->min_microversion;
	strs[19].dst = &c->max_microversion;
	strs[20].dst = &c->cert;
	strs[21].dst = &c->key;
	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK)
		goto done;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((rc = vmh_conf_get_string(g, strs[i].key, strs[i].dst,
					      err)) != VMH_OK)
			goto done;
	if ((rc = vmh_conf_get_enum(g, "interface", ifaces, &iface, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_enum(g, "auth_type", types, &type, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "insecure", &c->insecure, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_int(g, "timeout", 1, 3600, &c->timeout_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "connect_timeout", 1, 600,
				   &c->connect_timeout_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "monitoring_interval", 1, 86400,
				   &c->monitoring_interval_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "enable_wait", 0, 3600, &c->enable_wait_s,
				   err)) != VMH_OK)
		goto done;
	if ((iface >= 0 && (c->interface = strdup(ifaces[iface])) == NULL) ||
	    (type >= 0 && (c->auth_type = strdup(types[type])) == NULL)) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	if (mv_parse(c->min_microversion) < 2053 ||
	    mv_parse(c->max_microversion) < mv_parse(c->min_microversion)) {
		rc = vmh_conf_error(g, err,
				    "openstack: min_microversion must be at "
				    "least \"2.53\" and max_microversion at "
				    "least min_microversion (\"2.X\")");
		goto done;
	}
	if (strncmp(c->lock_reason, "AUTO:", 5) == 0 ||
	    strlen(c->lock_reason) > 255 || c->ha_key[0] == '\0') {
		rc = vmh_conf_error(g, err,
				    "openstack: lock_reason must not start "
				    "with \"AUTO:\" nor exceed 255 "
				    "characters, ha_metadata_key must not be "
				    "empty");
		goto done;
	}
	*out = c;
	c = NULL;
done:
	vmh_openstack_conf_free(c);
	return rc;
}

/* ------------------------------------------------------------------ YAML */

/* Attach v to the container on top of the stack (key pending for
 * objects). Takes the reference. */
static int
yaml_attach(json_t *top, char **key, json_t *v)
{
	int r;

	if (json_is_array(top))
		return json_array_append_new(top, v);
	if (*key == NULL) {
		json_decref(v);
		return -1;
	}
	r = json_object_set_new(top, *key, v);
	free(*key);
	*key = NULL;
	return r;
}

static enum vmh_rc
read_small_file(const char *path, size_t max, struct vmh_buf *b,
		struct vmh_error *err)
{
	char chunk[8192];
	struct stat st;
	ssize_t n;
	int fd;
	enum vmh_rc rc = VMH_OK;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return vmh_error_errno(err, errno, path, "cannot open");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
				   "not a regular file");
		goto done;
	}
	vmh_buf_init(b, max);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = vmh_error_errno(err, errno, path, "cannot read");
			goto done;
		}
		if (vmh_buf_append(b, chunk, (size_t)n) != VMH_OK) {
			rc = vmh_error_set(err, VMH_E_TOOBIG, path, 0,
					   "larger than %zu bytes", max);
			goto done;
		}
	}
done:
	close(fd);
	return rc;
}

enum vmh_rc
vmh_yaml_load(const char *path, json_t **out, struct vmh_error *err)
{
	json_t *stack[OS_YAML_MAX_DEPTH + 1];
	struct vmh_buf text;
	yaml_parser_t parser;
	yaml_event_t ev;
	char *key = NULL;
	int depth = 0, have_parser = 0, done = 0, have_ev = 0;
	json_t *root = NULL;
	enum vmh_rc rc;

	*out = NULL;
	vmh_buf_init(&text, OS_YAML_MAX_BYTES);
	if ((rc = read_small_file(path, OS_YAML_MAX_BYTES, &text, err)) !=
	    VMH_OK)
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_string(
	    &parser, (const unsigned char *)vmh_buf_str(&text), text.len);
	rc = VMH_OK;
	while (!done) {
		json_t *v = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = vmh_error_set(
			    err, VMH_E_CONFIG, path,
			    (int)parser.problem_mark.line + 1, "YAML: %s",
			    parser.problem ? parser.problem : "parse error");
			goto out;
		}
		have_ev = 1;
		switch (ev.type) {
		case YAML_ALIAS_EVENT:
			/* Aliases can expand without bound ("billion
			 * laughs"); clouds.yaml has no need for them. */
			rc = vmh_error_set(err, VMH_E_CONFIG, path,
					   (int)ev.start_mark.line + 1,
					   "YAML aliases are not supported");
			goto out;
		case YAML_SCALAR_EVENT:
			if (depth == 0) {
				rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
						   "expected a mapping at the "
						   "top");
				goto out;
			}
			if (json_is_object(stack[depth - 1]) && key == NULL) {
				if ((key = strndup(
					 (const char *)ev.data.scalar.value,
					 ev.data.scalar.length)) == NULL)
					goto nomem;
				break;
			}
			v = json_stringn((const char *)ev.data.scalar.value,
					 ev.data.scalar.length);
			if (v == NULL) {
				rc = vmh_error_set(err, VMH_E_CONFIG, path,
						   (int)ev.start_mark.line + 1,
						   "a value is not UTF-8");
				goto out;
			}
			if (yaml_attach(stack[depth - 1], &key, v) < 0)
				goto nomem;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth >= OS_YAML_MAX_DEPTH) {
				rc = vmh_error_set(err, VMH_E_CONFIG, path,
						   (int)ev.start_mark.line + 1,
						   "nested too deeply");
				goto out;
			}
			if (depth > 0 && json_is_object(stack[depth - 1]) &&
			    key == NULL) {
				rc = vmh_error_set(err, VMH_E_CONFIG, path,
						   (int)ev.start_mark.line + 1,
						   "mapping keys must be "
						   "scalars");
				goto out;
			}
			v = ev.type == YAML_MAPPING_START_EVENT ? json_object()
								: json_array();
			if (v == NULL)
				goto nomem;
			if (depth == 0) {
				root = v;
			} else if (yaml_attach(stack[depth - 1], &key,
					       json_incref(v)) < 0) {
				json_decref(v);
				goto nomem;
			} else {
				json_decref(v); /* the parent holds it */
			}
			stack[depth++] = v;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = 1; /* only the first document counts */
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = 0;
	}
	if (root == NULL || !json_is_object(root)) {
		rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
				   "expected a mapping at the top");
		goto out;
	}
	*out = root;
	root = NULL;
	goto out;
nomem:
	rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
out:
	if (have_ev)
		yaml_event_delete(&ev);
	if (have_parser)
		yaml_parser_delete(&parser);
	free(key);
	json_decref(root);
	/* clouds.yaml may hold passwords */
	if (text.data != NULL)
		explicit_bzero(text.data, text.len);
	vmh_buf_free(&text);
	return rc;
}

/* ----------------------------------------------------------- credentials */

int
vmh_os_env_present(void)
{
	const char *a = getenv("OS_CLOUD"), *b = getenv("OS_AUTH_URL");

	return (a != NULL && *a != '\0') || (b != NULL && *b != '\0');
}

/* Replace *dst by a copy of v when v is a non-empty string. */
static int
set_str(char **dst, const char *v, int secret)
{
	char *copy;

	if (v == NULL || *v == '\0')
		return 0;
	if ((copy = strdup(v)) == NULL)
		return -1;
	if (secret) {
		free_secret(*dst);
		vmh_log_add_secret(copy);
	} else {
		free(*dst);
	}
	*dst = copy;
	return 0;
}

/* set_str() for a TLS file name, remembering which setting named it. */
static int
set_file(char **dst, const char **from, const char *v, const char *setting)
{
	if (v == NULL || *v == '\0')
		return 0;
	if (set_str(dst, v, 0) < 0)
		return -1;
	*from = setting;
	return 0;
}

static int
truthy(const char *v)
{
	return v != NULL &&
	       (strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
		strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}

static int
falsy(const char *v)
{
	return v != NULL &&
	       (strcasecmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
		strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0);
}

/* Search one file name family in openstacksdk's order; the first
 * readable file wins. *found is allocated, NULL when none. */
static enum vmh_rc
find_config_file(const char *env_var, const char *base, char **found,
		 struct vmh_buf *searched, struct vmh_error *err)
{
	static const char *const exts[] = { ".yaml", ".yml", ".json" };
	const char *home = getenv("HOME");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *xdgdirs = getenv("XDG_CONFIG_DIRS");
	char dirs[6][512], path[600];
	const char *first = getenv(env_var);
	size_t nd = 0, d, e;

	*found = NULL;
	if (first != NULL && *first != '\0') {
		vmh_buf_printf(searched, "%s ", first);
		if (access(first, R_OK) == 0)
			return (*found = strdup(first)) != NULL
				   ? VMH_OK
				   : vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
						   "out of memory");
	}
	snprintf(dirs[nd++], sizeof(dirs[0]), ".");
	if (xdg != NULL && *xdg == '/')
		snprintf(dirs[nd++], sizeof(dirs[0]), "%s/openstack", xdg);
	else if (home != NULL && *home != '\0')
		snprintf(dirs[nd++], sizeof(dirs[0]), "%s/.config/openstack",
			 home);
	if (home != NULL && *home != '\0')
		snprintf(dirs[nd++], sizeof(dirs[0]), "%s/.config/openstack",
			 home);
	if (xdgdirs != NULL && *xdgdirs == '/') {
		size_t l = strcspn(xdgdirs, ":");

		snprintf(dirs[nd++], sizeof(dirs[0]), "%.*s/openstack",
			 (int)(l < 400 ? l : 400), xdgdirs);
	} else {
		snprintf(dirs[nd++], sizeof(dirs[0]), "/etc/xdg/openstack");
	}
	snprintf(dirs[nd++], sizeof(dirs[0]), "/etc/openstack");
	for (d = 0; d < nd; d++)
		for (e = 0; e < 3; e++) {
			snprintf(path, sizeof(path), "%s/%s%s", dirs[d], base,
				 exts[e]);
			if (e == 0)
				vmh_buf_printf(searched, "%s/%s.* ", dirs[d],
					       base);
			/* Unreadable files are skipped, as the SDK does. */
			if (access(path, R_OK) == 0) {
				if ((*found = strdup(path)) == NULL)
					return vmh_error_set(err, VMH_E_NOMEM,
							     NULL, 0,
							     "out of memory");
				return VMH_OK;
			}
		}
	return VMH_OK;
}

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Apply one clouds.yaml entry. *secret_seen tells whether it carried a
 * password or secret (then its file must be private). */
static int
apply_cloud(struct vmh_os_creds *c, const json_t *cloud, int *secret_seen)
{
	const json_t *auth = json_object_get(cloud, "auth");
	const json_t *regions = json_object_get(cloud, "regions");
	const char *v;

	if (json_is_object(auth)) {
		if (set_str(&c->auth_url, jstr(auth, "auth_url"), 0) ||
		    set_str(&c->username, jstr(auth, "username"), 0) ||
		    set_str(&c->user_id, jstr(auth, "user_id"), 0) ||
		    set_str(&c->user_domain_name,
			    jstr(auth, "user_domain_name"), 0) ||
		    set_str(&c->user_domain_id, jstr(auth, "user_domain_id"),
			    0) ||
		    set_str(&c->project_name, jstr(auth, "project_name"), 0) ||
		    set_str(&c->project_name, jstr(auth, "tenant_name"), 0) ||
		    set_str(&c->project_id, jstr(auth, "project_id"), 0) ||
		    set_str(&c->project_id, jstr(auth, "tenant_id"), 0) ||
		    set_str(&c->project_domain_name,
			    jstr(auth, "project_domain_name"), 0) ||
		    set_str(&c->project_domain_id,
			    jstr(auth, "project_domain_id"), 0) ||
		    set_str(&c->appcred_id,
			    jstr(auth, "application_credential_id"), 0) ||
		    set_str(&c->appcred_name,
			    jstr(auth, "application_credential_name"), 0))
			return -1;
		if (jstr(auth, "password") != NULL ||
		    jstr(auth, "application_credential_secret") != NULL)
			*secret_seen = 1;
		if (set_str(&c->password, jstr(auth, "password"), 1) ||
		    set_str(&c->appcred_secret,
			    jstr(auth, "application_credential_secret"), 1))
			return -1;
	}
	if ((v = jstr(cloud, "auth_type")) != NULL) {
		if (strstr(v, "applicationcredential") != NULL)
			c->type = VMH_OS_AUTH_APPCRED;
		else
			c->type = VMH_OS_AUTH_PASSWORD;
	}
	if (set_str(&c->region, jstr(cloud, "region_name"), 0) ||
	    set_str(&c->interface, jstr(cloud, "interface"), 0) ||
	    set_file(&c->cacert, &c->cacert_from, jstr(cloud, "cacert"),
		     "clouds.yaml cacert") ||
	    set_file(&c->cert, &c->cert_from, jstr(cloud, "cert"),
		     "clouds.yaml cert") ||
	    set_file(&c->key, &c->key_from, jstr(cloud, "key"),
		     "clouds.yaml key"))
		return -1;
	if (c->region == NULL && json_is_array(regions) &&
	    json_array_size(regions) > 0) {
		const json_t *r0 = json_array_get(regions, 0);

		if (set_str(&c->region,
			    json_is_string(r0) ? json_string_value(r0)
					       : jstr(r0, "name"),
			    0))
			return -1;
	}
	if (falsy(jstr(cloud, "verify")) || truthy(jstr(cloud, "insecure")))
		c->insecure = 1;
	return 0;
}

/* Merge secure.yaml's entry over the cloud (objects merged, depth 2). */
static int
merge_secure(json_t *cloud, json_t *sec)
{
	const char *k;
	json_t *v;

	json_object_foreach(sec, k, v)
	{
		json_t *mine = json_object_get(cloud, k);

		if (json_is_object(mine) && json_is_object(v)) {
			if (json_object_update(mine, v) < 0)
				return -1;
		} else if (json_object_set(cloud, k, v) < 0) {
			return -1;
		}
	}
	return 0;
}

static enum vmh_rc
load_clouds_yaml(struct vmh_os_creds *c, const char *name,
		 struct vmh_error *err)
{
	struct vmh_buf searched, names;
	char *path = NULL, *spath = NULL;
	json_t *doc = NULL, *sdoc = NULL, *cloud = NULL, *clouds;
	const char *k, *chosen = name;
	json_t *v;
	int secret = 0, ssecret = 0;
	enum vmh_rc rc;

	vmh_buf_init(&searched, 4096);
	vmh_buf_init(&names, 1024);
	if ((rc = find_config_file("OS_CLIENT_CONFIG_FILE", "clouds", &path,
				   &searched, err)) != VMH_OK)
		goto done;
	if (path == NULL) {
		if (name != NULL)
			rc = vmh_error_set(err, VMH_E_CONFIG, NULL, 0,
					   "OpenStack cloud \"%s\" requested, "
					   "but no clouds.yaml was found "
					   "(searched: %s)",
					   name, vmh_buf_str(&searched));
		goto done;
	}
	if ((rc = vmh_yaml_load(path, &doc, err)) != VMH_OK)
		goto done;
	clouds = json_object_get(doc, "clouds");
	if (!json_is_object(clouds)) {
		rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
				   "no \"clouds:\" mapping");
		goto done;
	}
	json_object_foreach(clouds, k, v)
	{
		vmh_buf_printf(&names, "%s%s", names.len ? ", " : "", k);
		if (name == NULL && json_object_size(clouds) == 1)
			chosen = k;
	}
	if (chosen == NULL) /* several clouds, none named: not ours */
		goto done;
	if (!json_is_object(json_object_get(clouds, chosen))) {
		rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
				   "no cloud \"%s\" in it (it has: %s)", chosen,
				   vmh_buf_str(&names));
		goto done;
	}
	if ((cloud = json_deep_copy(json_object_get(clouds, chosen))) == NULL)
		goto nomem;
	vmh_buf_reset(&searched);
	if ((rc = find_config_file("OS_CLIENT_SECURE_FILE", "secure", &spath,
				   &searched, err)) != VMH_OK)
		goto done;
	if (spath != NULL) {
		json_t *sc;

		if ((rc = vmh_yaml_load(spath, &sdoc, err)) != VMH_OK)
			goto done;
		sc = json_object_get(json_object_get(sdoc, "clouds"), chosen);
		if (json_is_object(sc)) {
			const json_t *sa = json_object_get(sc, "auth");

			ssecret =
			    jstr(sa, "password") != NULL ||
			    jstr(sa, "application_credential_secret") != NULL;
			if (merge_secure(cloud, sc) < 0)
				goto nomem;
		}
	}
	/* Which file supplied the secret decides which must be private. */
	{
		json_t *orig = json_object_get(
		    json_object_get(json_object_get(clouds, chosen), "auth"),
		    "password");
		json_t *orig2 = json_object_get(
		    json_object_get(json_object_get(clouds, chosen), "auth"),
		    "application_credential_secret");

		if (orig != NULL || orig2 != NULL)
			secret = 1;
	}
	if (secret &&
	    (rc = vmh_conf_check_secrecy(path, "clouds.yaml", err)) != VMH_OK)
		goto done;
	if (ssecret &&
	    (rc = vmh_conf_check_secrecy(spath, "secure.yaml", err)) != VMH_OK)
		goto done;
	{
		int seen = 0;

		if (apply_cloud(c, cloud, &seen) < 0)
			goto nomem;
	}
	free(c->origin);
	{
		size_t olen = strlen(path) + strlen(chosen) + 32;

		if ((c->origin = malloc(olen)) == NULL)
			goto nomem;
		snprintf(c->origin, olen, "%s (cloud %s)", path, chosen);
	}
	goto done;
nomem:
	rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
done:
	json_decref(doc);
	json_decref(sdoc);
	json_decref(cloud);
	free(path);
	free(spath);
	vmh_buf_free(&searched);
	vmh_buf_free(&names);
	return rc;
}

static int
apply_env(struct vmh_os_creds *c)
{
	static const struct {
		const char *var;
		size_t off;
		int secret;
	} map[] = {
#define F(v, f, s) { v, offsetof(struct vmh_os_creds, f), s }
		F("OS_AUTH_URL", auth_url, 0),
		F("OS_USERNAME", username, 0),
		F("OS_USER_ID", user_id, 0),
		F("OS_PASSWORD", password, 1),
		F("OS_USER_DOMAIN_NAME", user_domain_name, 0),
		F("OS_USER_DOMAIN_ID", user_domain_id, 0),
		F("OS_TENANT_NAME", project_name, 0),
		F("OS_PROJECT_NAME", project_name, 0),
		F("OS_TENANT_ID", project_id, 0),
		F("OS_PROJECT_ID", project_id, 0),
		F("OS_PROJECT_DOMAIN_NAME", project_domain_name, 0),
		F("OS_PROJECT_DOMAIN_ID", project_domain_id, 0),
		F("OS_DEFAULT_DOMAIN", default_domain, 0),
		F("OS_REGION_NAME", region, 0),
		F("OS_INTERFACE", interface, 0),
		F("OS_APPLICATION_CREDENTIAL_ID", appcred_id, 0),
		F("OS_APPLICATION_CREDENTIAL_NAME", appcred_name, 0),
		F("OS_APPLICATION_CREDENTIAL_SECRET", appcred_secret, 1),
#undef F
	};
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (set_str((char **)((char *)c + map[i].off),
			    getenv(map[i].var), map[i].secret) < 0)
			return -1;
	if (set_file(&c->cacert, &c->cacert_from, getenv("OS_CACERT"),
		     "OS_CACERT") < 0 ||
	    set_file(&c->cert, &c->cert_from, getenv("OS_CERT"), "OS_CERT") <
		0 ||
	    set_file(&c->key, &c->key_from, getenv("OS_KEY"), "OS_KEY") < 0)
		return -1;
	if (c->interface == NULL && (v = getenv("OS_ENDPOINT_TYPE")) != NULL) {
		/* the old "publicURL" style */
		char buf[32];

		vmh_strlcpy(buf, v, sizeof(buf));
		if (strlen(buf) > 3 &&
		    strcasecmp(buf + strlen(buf) - 3, "URL") == 0)
			buf[strlen(buf) - 3] = '\0';
		if (set_str(&c->interface, buf, 0) < 0)
			return -1;
	}
	if (truthy(getenv("OS_INSECURE")))
		c->insecure = 1;
	if ((v = getenv("OS_AUTH_TYPE")) != NULL && *v != '\0')
		c->type = strstr(v, "applicationcredential") != NULL
			      ? VMH_OS_AUTH_APPCRED
			      : VMH_OS_AUTH_PASSWORD;
	return 0;
}

static enum vmh_rc
apply_conf(struct vmh_os_creds *c, const struct vmh_conf *conf,
	   const struct vmh_openstack_conf *oc, struct vmh_error *err)
{
	const char *sec;

	if (set_str(&c->auth_url, oc->auth_url, 0) ||
	    set_str(&c->username, oc->username, 0) ||
	    set_str(&c->user_id, oc->user_id, 0) ||
	    set_str(&c->user_domain_name, oc->user_domain_name, 0) ||
	    set_str(&c->user_domain_id, oc->user_domain_id, 0) ||
	    set_str(&c->project_name, oc->project_name, 0) ||
	    set_str(&c->project_id, oc->project_id, 0) ||
	    set_str(&c->project_domain_name, oc->project_domain_name, 0) ||
	    set_str(&c->project_domain_id, oc->project_domain_id, 0) ||
	    set_str(&c->appcred_id, oc->application_credential_id, 0) ||
	    set_str(&c->appcred_name, oc->application_credential_name, 0) ||
	    set_str(&c->region, oc->region, 0) ||
	    set_str(&c->interface, oc->interface, 0) ||
	    set_file(&c->cacert, &c->cacert_from, oc->cacert,
		     "openstack.cacert") ||
	    set_file(&c->cert, &c->cert_from, oc->cert, "openstack.cert") ||
	    set_file(&c->key, &c->key_from, oc->key, "openstack.key"))
		goto nomem;
	if (oc->insecure)
		c->insecure = 1;
	if (oc->auth_type != NULL)
		c->type = strstr(oc->auth_type, "applicationcredential") != NULL
			      ? VMH_OS_AUTH_APPCRED
			      : VMH_OS_AUTH_PASSWORD;
	if (oc->password_secret != NULL) {
		if ((sec = vmh_conf_secret(conf, oc->password_secret)) == NULL)
			return vmh_error_set(err, VMH_E_CONFIG, conf->path, 0,
					     "openstack.password_secret: no "
					     "secret \"%s\" in the secrets "
					     "file",
					     oc->password_secret);
		if (set_str(&c->password, sec, 1))
			goto nomem;
	}
	if (oc->application_credential_secret != NULL) {
		if ((sec = vmh_conf_secret(
			 conf, oc->application_credential_secret)) == NULL)
			return vmh_error_set(
			    err, VMH_E_CONFIG, conf->path, 0,
			    "openstack.application_credential_secret: no "
			    "secret \"%s\" in the secrets file",
			    oc->application_credential_secret);
		if (set_str(&c->appcred_secret, sec, 1))
			goto nomem;
	}
	return VMH_OK;
nomem:
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

/* http://k:5000, http://k:5000/, http://k/identity -> .../v3 */
static enum vmh_rc
normalise_auth_url(struct vmh_os_creds *c, struct vmh_error *err)
{
	size_t l = strlen(c->auth_url);
	char *u;

	while (l > 0 && c->auth_url[l - 1] == '/')
		c->auth_url[--l] = '\0';
	if (strncmp(c->auth_url, "http://", 7) != 0 &&
	    strncmp(c->auth_url, "https://", 8) != 0)
		return vmh_error_set(err, VMH_E_CONFIG, c->origin, 0,
				     "Keystone URL \"%s\" must start with "
				     "http:// or https://",
				     c->auth_url);
	if (l >= 5 && strcmp(c->auth_url + l - 5, "/v2.0") == 0)
		return vmh_error_set(err, VMH_E_CONFIG, c->origin, 0,
				     "Keystone URL \"%s\" is the v2.0 API; "
				     "vmheal speaks Identity v3 only",
				     c->auth_url);
	if (l >= 3 && strcmp(c->auth_url + l - 3, "/v3") == 0)
		return VMH_OK;
	if ((u = malloc(l + 4)) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	memcpy(u, c->auth_url, l);
	memcpy(u + l, "/v3", 4);
	free(c->auth_url);
	c->auth_url = u;
	return VMH_OK;
}

/* A TLS file the credentials name: readable, and when it holds a private
 * key, private (as secret files are). what: "TLS client key"; from: the
 * setting that named it ("OS_KEY"). */
static enum vmh_rc
check_tls_file(const char *path, const char *what, const char *from, int secret,
	       struct vmh_error *err)
{
	char label[128];

	snprintf(label, sizeof(label), "%s (%s)", what, from);
	if (access(path, R_OK) != 0)
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "%s unreadable: %s", label,
				     strerror(errno));
	if (secret)
		return vmh_conf_check_secrecy(path, label, err);
	return VMH_OK;
}

/* cacert, cert and key: present and safe, at open time (no network). */
static enum vmh_rc
check_tls_files(const struct vmh_os_creds *c, struct vmh_error *err)
{
	enum vmh_rc rc;

	if (c->cacert != NULL &&
	    (rc = check_tls_file(c->cacert, "CA bundle", c->cacert_from, 0,
				 err)) != VMH_OK)
		return rc;
	if (c->key != NULL && c->cert == NULL)
		return vmh_error_set(err, VMH_E_CONFIG, c->key, 0,
				     "TLS client key (%s) without a client "
				     "certificate: set OS_CERT (cert) too",
				     c->key_from);
	if (c->cert == NULL)
		return VMH_OK;
	/* Without a key file, the certificate file must hold the key. */
	if ((rc = check_tls_file(c->cert, "TLS client certificate",
				 c->cert_from, c->key == NULL, err)) != VMH_OK)
		return rc;
	if (c->key != NULL &&
	    (rc = check_tls_file(c->key, "TLS client key", c->key_from, 1,
				 err)) != VMH_OK)
		return rc;
	return VMH_OK;
}

static enum vmh_rc
validate_creds(struct vmh_os_creds *c, struct vmh_error *err)
{
	const char *o = c->origin;
	enum vmh_rc rc;

	if (c->auth_url == NULL)
		return vmh_error_set(err, VMH_E_CONFIG, NULL, 0,
				     "no OpenStack credentials: set "
				     "OS_CLOUD (clouds.yaml) or OS_AUTH_URL "
				     "and the other OS_* variables, or "
				     "openstack.cloud / openstack.auth_url "
				     "in the configuration");
	if ((rc = normalise_auth_url(c, err)) != VMH_OK)
		return rc;
	if (c->interface == NULL && set_str(&c->interface, "public", 0) < 0)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if (strcmp(c->interface, "public") != 0 &&
	    strcmp(c->interface, "internal") != 0 &&
	    strcmp(c->interface, "admin") != 0)
		return vmh_error_set(err, VMH_E_CONFIG, o, 0,
				     "interface \"%s\": use public, internal "
				     "or admin",
				     c->interface);
	if ((rc = check_tls_files(c, err)) != VMH_OK)
		return rc;
	if (c->type == VMH_OS_AUTH_APPCRED) {
		if (c->appcred_secret == NULL ||
		    (c->appcred_id == NULL &&
		     (c->appcred_name == NULL ||
		      (c->user_id == NULL && c->username == NULL))))
			return vmh_error_set(
			    err, VMH_E_CONFIG, o, 0,
			    "application credential needs a secret and an id "
			    "(or a name and the user's name or id)");
		return VMH_OK;
	}
	if (c->username == NULL && c->user_id == NULL)
		return vmh_error_set(err, VMH_E_CONFIG, o, 0,
				     "no user: set OS_USERNAME or OS_USER_ID "
				     "(or use an application credential)");
	if (c->password == NULL)
		return vmh_error_set(err, VMH_E_CONFIG, o, 0,
				     "no password for user %s: set "
				     "OS_PASSWORD, put it in secure.yaml, or "
				     "name a secret with "
				     "openstack.password_secret",
				     c->username ? c->username : c->user_id);
	if (c->project_name == NULL && c->project_id == NULL)
		return vmh_error_set(err, VMH_E_CONFIG, o, 0,
				     "no project: Nova needs a project-scoped "
				     "token (OS_PROJECT_NAME or "
				     "OS_PROJECT_ID)");
	return VMH_OK;
}

enum vmh_rc
vmh_os_creds_load(const struct vmh_conf *conf,
		  const struct vmh_openstack_conf *oc,
		  struct vmh_os_creds **out, struct vmh_error *err)
{
	struct vmh_os_creds *c;
	const char *name = oc->cloud;
	enum vmh_rc rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	c->type = VMH_OS_AUTH_PASSWORD;
	if (name == NULL && getenv("OS_CLOUD") != NULL &&
	    *getenv("OS_CLOUD") != '\0')
		name = getenv("OS_CLOUD");
	/* Without a cloud name, clouds.yaml is consulted only when nothing
	 * else says where Keystone is (and then only a lone cloud). */
	if (name != NULL ||
	    (oc->auth_url == NULL &&
	     (getenv("OS_AUTH_URL") == NULL || *getenv("OS_AUTH_URL") == 0))) {
		if ((rc = load_clouds_yaml(c, name, err)) != VMH_OK)
			goto fail;
	}
	if (c->origin == NULL &&
	    (c->origin = strdup(oc->auth_url ? "vmheal.conf openstack"
					     : "OS_* environment")) == NULL)
		goto nomem;
	if (apply_env(c) < 0)
		goto nomem;
	if ((rc = apply_conf(c, conf, oc, err)) != VMH_OK)
		goto fail;
	if (c->appcred_id != NULL || c->appcred_name != NULL) {
		/* an application credential without an explicit auth type:
		 * openstackclient would need OS_AUTH_TYPE, we infer it */
		if (c->password == NULL)
			c->type = VMH_OS_AUTH_APPCRED;
	}
	if ((rc = validate_creds(c, err)) != VMH_OK)
		goto fail;
	*out = c;
	return VMH_OK;
nomem:
	rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
fail:
	vmh_os_creds_free(c);
	return rc;
}

void
vmh_os_creds_free(struct vmh_os_creds *c)
{
	if (c == NULL)
		return;
	free(c->auth_url);
	free(c->username);
	free(c->user_id);
	free(c->user_domain_name);
	free(c->user_domain_id);
	free(c->project_name);
	free(c->project_id);
	free(c->project_domain_name);
	free(c->project_domain_id);
	free(c->default_domain);
	free_secret(c->password);
	free(c->appcred_id);
	free(c->appcred_name);
	free_secret(c->appcred_secret);
	free(c->region);
	free(c->interface);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->origin);
	free(c);
}

/* --------------------------------------------------------------- session */

struct vmh_os_session {
	const struct vmh_os_creds *creds;
	struct vmh_http *http;
	long timeout_ms;
	char *token;
	long long expires, issued;
	char *project_id;
	int admin;
	json_t *catalog;
	unsigned long auths;
};

enum vmh_rc
vmh_os_session_new(const struct vmh_os_creds *creds, struct vmh_http *http,
		   long timeout_ms, struct vmh_os_session **out,
		   struct vmh_error *err)
{
	struct vmh_os_session *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	s->creds = creds;
	s->http = http;
	s->timeout_ms = timeout_ms;
	*out = s;
	return VMH_OK;
}

static void
session_forget(struct vmh_os_session *s)
{
	free_secret(s->token);
	s->token = NULL;
	free(s->project_id);
	s->project_id = NULL;
	json_decref(s->catalog);
	s->catalog = NULL;
	s->admin = 0;
	s->expires = s->issued = 0;
}

void
vmh_os_session_free(struct vmh_os_session *s)
{
	if (s == NULL)
		return;
	session_forget(s);
	free(s);
}

enum vmh_rc
vmh_os_parse_time(const char *str, long long *out)
{
	struct tm tm;
	const char *p;
	long off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (str == NULL ||
	    (p = strptime(str, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return vmh_error_set(NULL, VMH_E_DATA, NULL, 0, "bad time");
	if (*p == '.') /* fractions of a second */
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* +HH:MM, +HHMM or +HH */
		int sign = *p == '-' ? -1 : 1, digits[4], nd = 0;

		for (p++; nd < 4 && *p != '\0'; p++) {
			if (*p == ':' && nd == 2)
				continue;
			if (*p < '0' || *p > '9')
				return VMH_E_DATA;
			digits[nd++] = *p - '0';
		}
		if (nd != 2 && nd != 4)
			return VMH_E_DATA;
		off = (digits[0] * 10 + digits[1]) * 3600L;
		if (nd == 4)
			off += (digits[2] * 10 + digits[3]) * 60L;
		off *= sign;
	}
	if (*p != '\0')
		return VMH_E_DATA;
	if ((t = timegm(&tm)) == (time_t)-1)
		return VMH_E_DATA;
	*out = (long long)t - off;
	return VMH_OK;
}

void
vmh_os_error_text(const char *body, size_t len, char *dst, size_t dstlen)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	const char *k, *msg = NULL;
	json_t *v;
	size_t i;

	if (json_is_object(doc)) {
		json_object_foreach(doc, k, v)
		{
			if (json_is_object(v) &&
			    json_is_string(json_object_get(v, "message"))) {
				msg = json_string_value(
				    json_object_get(v, "message"));
				break;
			}
			if (json_is_string(v) && strcmp(k, "message") == 0) {
				msg = json_string_value(v);
				break;
			}
		}
	}
	if (msg != NULL) {
		snprintf(dst, dstlen, "%s", msg);
	} else if (len == 0) {
		snprintf(dst, dstlen, "(empty answer)");
	} else {
		snprintf(dst, dstlen, "%.*s", (int)(len < 160 ? len : 160),
			 body);
	}
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] == '\n' || dst[i] == '\r' || dst[i] == '\t')
			dst[i] = ' ';
	json_decref(doc);
}

/* {"id": X} or {"name": Y} for a domain, defaulting to the default one. */
static json_t *
domain_ref(const char *id, const char *name, const char *dflt)
{
	if (id != NULL)
		return json_pack("{s:s}", "id", id);
	if (name != NULL)
		return json_pack("{s:s}", "name", name);
	return json_pack("{s:s}", "id", dflt != NULL ? dflt : "default");
}

static json_t *
auth_body(const struct vmh_os_creds *c)
{
	json_t *ident, *user, *scope = NULL, *proj;

	if (c->type == VMH_OS_AUTH_APPCRED) {
		json_t *ac = json_pack("{s:s}", "secret", c->appcred_secret);

		if (ac == NULL)
			return NULL;
		if (c->appcred_id != NULL) {
			json_object_set_new(ac, "id",
					    json_string(c->appcred_id));
		} else {
			json_object_set_new(ac, "name",
					    json_string(c->appcred_name));
			user = c->user_id != NULL
				   ? json_pack("{s:s}", "id", c->user_id)
				   : json_pack("{s:s,s:o}", "name", c->username,
					       "domain",
					       domain_ref(c->user_domain_id,
							  c->user_domain_name,
							  c->default_domain));
			json_object_set_new(ac, "user", user);
		}
		/* No scope: the credential carries its project. */
		return json_pack("{s:{s:{s:[s],s:o}}}", "auth", "identity",
				 "methods", "application_credential",
				 "application_credential", ac);
	}
	user =
	    c->user_id != NULL
		? json_pack("{s:s,s:s}", "id", c->user_id, "password",
			    c->password)
		: json_pack("{s:s,s:s,s:o}", "name", c->username, "password",
			    c->password, "domain",
			    domain_ref(c->user_domain_id, c->user_domain_name,
				       c->default_domain));
	if (user == NULL)
		return NULL;
	proj = c->project_id != NULL
		   ? json_pack("{s:s}", "id", c->project_id)
		   : json_pack("{s:s,s:o}", "name", c->project_name, "domain",
			       domain_ref(c->project_domain_id,
					  c->project_domain_name,
					  c->default_domain));
	if (proj != NULL)
		scope = json_pack("{s:o}", "project", proj);
	ident = json_pack("{s:[s],s:{s:o}}", "methods", "password", "password",
			  "user", user);
	if (ident == NULL || scope == NULL) {
		json_decref(ident);
		json_decref(scope);
		return NULL;
	}
	return json_pack("{s:{s:o,s:o}}", "auth", "identity", ident, "scope",
			 scope);
}

static enum vmh_rc
authenticate(struct vmh_os_session *s, struct vmh_error *err)
{
	const struct vmh_os_creds *c = s->creds;
	const char *hdrs[] = { "Content-Type: application/json",
			       "Accept: application/json", NULL };
	struct vmh_http_request req = { 0 };
	struct vmh_http_response resp;
	char url[1024], msg[300];
	json_t *body = NULL, *doc = NULL, *tok, *roles, *r;
	const char *subject;
	char *text = NULL;
	size_t i;
	enum vmh_rc rc;

	vmh_http_response_init(&resp, OS_AUTH_MAX_BODY);
	session_forget(s);
	snprintf(url, sizeof(url), "%s/auth/tokens", c->auth_url);
	if ((body = auth_body(c)) == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = text;
	req.body_len = strlen(text);
	req.idempotent = 1; /* a second token does no harm */
	s->auths++;
	if ((rc = vmh_http_perform(s->http, &req, &resp, err)) != VMH_OK)
		goto done;
	if (resp.status != 201) {
		vmh_os_error_text(vmh_buf_str(&resp.body), resp.body.len, msg,
				  sizeof(msg));
		if (resp.status == 401 || resp.status == 403)
			rc = vmh_error_set(
			    err, VMH_E_AUTH, c->auth_url, 0,
			    "Keystone refused the %s credentials from %s: "
			    "%ld %s",
			    c->type == VMH_OS_AUTH_APPCRED
				? "application credential"
				: "password",
			    c->origin, resp.status, msg);
		else
			rc = vmh_error_set(
			    err,
			    resp.status >= 500 ? VMH_E_UNAVAILABLE : VMH_E_API,
			    c->auth_url, 0,
			    "Keystone: POST /auth/tokens: %ld %s", resp.status,
			    msg);
		goto done;
	}
	if ((subject = vmh_http_header(&resp, "X-Subject-Token")) == NULL ||
	    *subject == '\0') {
		rc = vmh_error_set(err, VMH_E_DATA, c->auth_url, 0,
				   "Keystone answered 201 without an "
				   "X-Subject-Token header");
		goto done;
	}
	doc = json_loadb(vmh_buf_str(&resp.body), resp.body.len, 0, NULL);
	tok = json_object_get(doc, "token");
	if (!json_is_object(tok) ||
	    vmh_os_parse_time(jstr(tok, "expires_at"), &s->expires) != VMH_OK) {
		rc = vmh_error_set(err, VMH_E_DATA, c->auth_url, 0,
				   "Keystone's token answer has no readable "
				   "token.expires_at");
		goto done;
	}
	if (vmh_os_parse_time(jstr(tok, "issued_at"), &s->issued) != VMH_OK)
		s->issued = vmh_wall_s();
	if ((s->token = strdup(subject)) == NULL ||
	    (jstr(json_object_get(tok, "project"), "id") != NULL &&
	     (s->project_id = strdup(
		  jstr(json_object_get(tok, "project"), "id"))) == NULL)) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	vmh_log_add_secret(s->token);
	roles = json_object_get(tok, "roles");
	json_array_foreach(roles, i, r)
	{
		const char *n = jstr(r, "name");

		if (n != NULL && strcmp(n, "admin") == 0)
			s->admin = 1;
	}
	s->catalog = json_incref(json_object_get(tok, "catalog"));
	if (!json_is_array(s->catalog)) {
		rc = vmh_error_set(err, VMH_E_DATA, c->auth_url, 0,
				   "Keystone's token has no service catalog "
				   "(is it project-scoped?)");
		goto done;
	}
	log_debug("keystone: token for project %s, expires in %lld s (%s)",
		  s->project_id ? s->project_id : "?",
		  s->expires - vmh_wall_s(),
		  vmh_http_header(&resp, "X-OpenStack-Request-Id")
		      ? vmh_http_header(&resp, "X-OpenStack-Request-Id")
		      : "no request id");
	rc = VMH_OK;
done:
	if (rc != VMH_OK)
		session_forget(s);
	if (text != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_decref(body);
	json_decref(doc);
	vmh_http_response_free(&resp);
	return rc;
}

enum vmh_rc
vmh_os_token(struct vmh_os_session *s, int force, const char **token,
	     struct vmh_error *err)
{
	long long now = vmh_wall_s(), life, margin;
	enum vmh_rc rc;

	*token = NULL;
	if (s->token != NULL && !force) {
		life = s->expires - s->issued;
		margin = life >= 10 * OS_RENEW_MARGIN_S ? OS_RENEW_MARGIN_S
							: life / 10;
		if (now < s->expires - margin) {
			*token = s->token;
			return VMH_OK;
		}
		log_debug("keystone: token expires in %lld s, renewing",
			  s->expires - now);
	}
	if ((rc = authenticate(s, err)) != VMH_OK)
		return rc;
	*token = s->token;
	return VMH_OK;
}

enum vmh_rc
vmh_os_endpoint(struct vmh_os_session *s, const char *type, char **url,
		struct vmh_error *err)
{
	const struct vmh_os_creds *c = s->creds;
	const char *tok, *found = NULL, *found_region = NULL;
	struct vmh_buf seen;
	json_t *svc, *ep;
	size_t i, j;
	int ambiguous = 0;
	enum vmh_rc rc;

	*url = NULL;
	if ((rc = vmh_os_token(s, 0, &tok, err)) != VMH_OK)
		return rc;
	vmh_buf_init(&seen, 2048);
	json_array_foreach(s->catalog, i, svc)
	{
		if (jstr(svc, "type") == NULL ||
		    strcmp(jstr(svc, "type"), type) != 0)
			continue;
		json_array_foreach(json_object_get(svc, "endpoints"), j, ep)
		{
			const char *iface = jstr(ep, "interface");
			const char *region = jstr(ep, "region_id");

			if (region == NULL)
				region = jstr(ep, "region");
			vmh_buf_printf(&seen, "%s%s/%s", seen.len ? ", " : "",
				       iface ? iface : "?",
				       region ? region : "?");
			if (iface == NULL || strcmp(iface, c->interface) != 0 ||
			    jstr(ep, "url") == NULL)
				continue;
			if (c->region != NULL &&
			    (region == NULL || strcmp(region, c->region) != 0))
				continue;
			if (found != NULL && found_region != NULL &&
			    region != NULL && strcmp(found_region, region) != 0)
				ambiguous = 1;
			if (found == NULL) {
				found = jstr(ep, "url");
				found_region = region;
			}
		}
	}
	if (found == NULL) {
		rc = vmh_error_set(err, VMH_E_CONFIG, c->auth_url, 0,
				   "no %s endpoint with interface %s%s%s in "
				   "the catalog (it has: %s)",
				   type, c->interface,
				   c->region ? " in region " : "",
				   c->region ? c->region : "",
				   seen.len ? vmh_buf_str(&seen) : "none");
		goto done;
	}
	if (ambiguous) {
		rc = vmh_error_set(err, VMH_E_CONFIG, c->auth_url, 0,
				   "several regions offer %s (%s): set "
				   "OS_REGION_NAME or openstack.region",
				   type, vmh_buf_str(&seen));
		goto done;
	}
	if ((*url = strdup(found)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	for (i = strlen(*url); i > 0 && (*url)[i - 1] == '/'; i--)
		(*url)[i - 1] = '\0';
	rc = VMH_OK;
done:
	vmh_buf_free(&seen);
	return rc;
}

int
vmh_os_is_admin(const struct vmh_os_session *s)
{
	return s->admin;
}

const char *
vmh_os_project_id(const struct vmh_os_session *s)
{
	return s->project_id;
}

long long
vmh_os_expires(const struct vmh_os_session *s)
{
	return s->expires;
}

unsigned long
vmh_os_auth_count(const struct vmh_os_session *s)
{
	return s->auths;
}
