/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fence chain: configuration of its levels, running fence agents and
 * fence_host.sh-style scripts through lib/exec, verification of the power
 * state, and the report of every step. See fence.h for the contract.
 */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "exec.h"
#include "fence.h"
#include "log.h"
#include "str.h"

#define FENCE_NAME_MAX  64
#define FENCE_KEY_MAX   64
#define FENCE_STDIN_MAX (64 * 1024)
#define FENCE_OUT_MAX   (64 * 1024)
#define FENCE_MASK      "****"

/* fence-agents exit statuses of action=status (FenceAgentAPI.md). */
#define AGENT_STATUS_ON  0
#define AGENT_STATUS_OFF 2

/* ------------------------------------------------------------------ */
/* Names */

const char *
vmh_fence_outcome_name(enum vmh_fence_outcome o)
{
	switch (o) {
	case VMH_FENCE_DONE:
		return "done";
	case VMH_FENCE_FAILED:
		return "failed";
	case VMH_FENCE_TIMEDOUT:
		return "timeout";
	case VMH_FENCE_POWER_OFF:
		return "off";
	case VMH_FENCE_POWER_ON:
		return "on";
	case VMH_FENCE_POWER_UNKNOWN:
		return "unknown";
	case VMH_FENCE_NOT_RUN:
		return "not-run";
	case VMH_FENCE_PLANNED:
		return "planned";
	}
	return "unknown";
}

const char *
vmh_fence_verdict_name(enum vmh_fence_verdict v)
{
	switch (v) {
	case VMH_FENCE_V_NOT_TRIED:
		return "not-tried";
	case VMH_FENCE_V_FENCED:
		return "ok";
	case VMH_FENCE_V_FAILED:
		return "failed";
	case VMH_FENCE_V_PLANNED:
		return "planned";
	}
	return "failed";
}

const char *
vmh_fence_power_name(enum vmh_fence_power p)
{
	switch (p) {
	case VMH_FENCE_PW_ON:
		return "on";
	case VMH_FENCE_PW_OFF:
		return "off";
	case VMH_FENCE_PW_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *
vmh_fence_action_name(enum vmh_fence_action a)
{
	switch (a) {
	case VMH_FENCE_OFF:
		return "off";
	case VMH_FENCE_STATUS:
		return "status";
	case VMH_FENCE_ON:
		return "on";
	}
	return "off";
}

/* ------------------------------------------------------------------ */
/* Configuration */

static const char *const level_types[] = { "agent", "script", NULL };

/* Option names the chain writes itself; a configuration that set them could
 * turn "off" into "on" or put a password in the configuration file. */
static const char *const reserved_options[] = { "action", "nodename",
						"password", "passwd", NULL };

static int
valid_name(const char *s, size_t max, const char *extra)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	return n > 0 && n <= max;
}

static int
has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static void
free_opts(struct vmh_fence_opt *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(o[i].key);
		free(o[i].value);
	}
	free(o);
}

/*
 * Read a group of options. attr_names: the values are host template
 * attribute names (strings only); otherwise strings, integers and booleans
 * are accepted and rendered as an agent expects them ("1"/"0").
 */
static enum vmh_rc
parse_opts(const vmh_setting *level, const char *key, int attr_names,
	   const char *password_option, struct vmh_fence_opt **out,
	   size_t *nout, struct vmh_error *err)
{
	const vmh_setting *g = config_setting_get_member(level, key);
	struct vmh_fence_opt *v = NULL;
	enum vmh_rc rc = VMH_OK;
	size_t n = 0;
	int i, len;

	*out = NULL;
	*nout = 0;
	if (g == NULL)
		return VMH_OK;
	if (!config_setting_is_group(g))
		return vmh_conf_error(
		    g, err, "%s: must be a group { key = value; }", key);
	len = config_setting_length(g);
	if (len > VMH_FENCE_MAX_OPTIONS)
		return vmh_conf_error(g, err, "%s: more than %d options", key,
				      VMH_FENCE_MAX_OPTIONS);
	if (len > 0 && (v = calloc((size_t)len, sizeof(*v))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	for (i = 0; i < len; i++) {
		const vmh_setting *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		char num[32];
		const char *val = NULL;
		int k;

		for (k = 0; reserved_options[k] != NULL; k++)
			if (strcmp(name, reserved_options[k]) == 0)
				break;
		if (reserved_options[k] != NULL ||
		    strcmp(name, password_option) == 0) {
			rc = vmh_conf_error(
			    s, err,
			    "%s.%s: set by vmheal itself; passwords "
			    "come from the secrets file (password_secret)",
			    key, name);
			goto done;
		}
		switch (config_setting_type(s)) {
		case CONFIG_TYPE_STRING:
			val = config_setting_get_string(s);
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			if (!attr_names) {
				snprintf(num, sizeof(num), "%lld",
					 config_setting_get_int64(s));
				val = num;
			}
			break;
		case CONFIG_TYPE_BOOL:
			if (!attr_names)
				val = config_setting_get_bool(s) ? "1" : "0";
			break;
		default:
			break;
		}
		if (val == NULL) {
			rc = vmh_conf_error(
			    s, err, "%s.%s: must be %s", key, name,
			    attr_names ? "a host attribute name in quotes"
				       : "a string, a number or a boolean");
			goto done;
		}
		if (has_line_break(val)) {
			rc = vmh_conf_error(
			    s, err, "%s.%s: line breaks are not allowed", key,
			    name);
			goto done;
		}
		if (attr_names && !valid_name(val, FENCE_NAME_MAX, "_-")) {
			rc = vmh_conf_error(s, err,
					    "%s.%s: \"%s\" is not an attribute "
					    "name (letters, digits, _ and -)",
					    key, name, val);
			goto done;
		}
		v[n].line = (int)config_setting_source_line(s);
		v[n].key = strdup(name);
		v[n].value = strdup(val);
		n++;
		if (v[n - 1].key == NULL || v[n - 1].value == NULL) {
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			goto done;
		}
	}
	*out = v;
	*nout = n;
	v = NULL;
done:
	if (v != NULL)
		free_opts(v, n);
	return rc;
}

static void
free_level(struct vmh_fence_level *l)
{
	free(l->name);
	free(l->command);
	free_opts(l->options, l->n_options);
	free_opts(l->host_options, l->n_host_options);
	free_opts(l->host_options_optional, l->n_host_options_optional);
	free(l->password_secret);
	free(l->password_option);
	free(l->status_command);
}

void
vmh_fence_conf_free(struct vmh_fence_conf *fc)
{
	size_t i;

	if (fc == NULL)
		return;
	for (i = 0; i < fc->n_levels; i++)
		free_level(&fc->levels[i]);
	free(fc->levels);
	free(fc);
}

static enum vmh_rc
parse_level(const vmh_setting *s, struct vmh_fence_conf *fc,
	    struct vmh_error *err)
{
	static const char *const keys[] = {
		"name",
		"type",
		"command",
		"timeout",
		"status_timeout",
		"options",
		"host_options",
		"host_options_optional",
		"password_secret",
		"password_option",
		"verify_retries",
		"verify_interval",
		"verify_delay",
		"status_command",
		NULL,
	};
	struct vmh_fence_level *l = &fc->levels[fc->n_levels];
	int type = VMH_FENCE_AGENT, status_timeout = 0;
	enum vmh_rc rc;
	size_t i;

	if (!config_setting_is_group(s))
		return vmh_conf_error(s, err,
				      "fence.levels: each level must be a "
				      "group { name = ...; command = ...; }");
	/* Counted before anything can fail, so vmh_fence_conf_free() sees
	 * every allocation of a half-parsed level. */
	fc->n_levels++;
	l->timeout_s = VMH_FENCE_DEFAULT_TIMEOUT;
	l->verify_retries = VMH_FENCE_DEFAULT_VERIFY_RETRIES;
	l->verify_interval_s = VMH_FENCE_DEFAULT_VERIFY_INTERVAL;
	if ((rc = vmh_conf_check_keys(s, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(s, "name", &l->name, err)) != VMH_OK ||
	    (rc = vmh_conf_get_enum(s, "type", level_types, &type, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(s, "command", &l->command, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_int(s, "timeout", 1, 3600, &l->timeout_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(s, "status_timeout", 1, 3600,
				   &status_timeout, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(s, "password_secret", &l->password_secret,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(s, "password_option", &l->password_option,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(s, "verify_retries", 1, 100,
				   &l->verify_retries, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(s, "verify_interval", 0, 300,
				   &l->verify_interval_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(s, "verify_delay", 0, 600,
				   &l->verify_delay_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(s, "status_command", &l->status_command,
				      err)) != VMH_OK)
		return rc;
	l->type = (enum vmh_fence_type)type;
	l->status_timeout_s =
	    status_timeout > 0 ? status_timeout : l->timeout_s;

	if (l->name == NULL)
		return vmh_conf_error(s, err, "fence level: name is missing");
	if (!valid_name(l->name, FENCE_NAME_MAX, "_-."))
		return vmh_conf_error(s, err,
				      "fence level \"%s\": name must be 1-%d "
				      "letters, digits, '_', '-' or '.'",
				      l->name, FENCE_NAME_MAX);
	for (i = 0; i + 1 < fc->n_levels; i++)
		if (strcmp(fc->levels[i].name, l->name) == 0)
			return vmh_conf_error(s, err,
					      "fence level \"%s\": name used "
					      "twice",
					      l->name);
	if (l->command == NULL)
		return vmh_conf_error(
		    s, err, "fence level \"%s\": command is missing", l->name);
	if (l->command[0] != '/')
		return vmh_conf_error(s, err,
				      "fence level \"%s\": command must be an "
				      "absolute path",
				      l->name);
	if (l->status_command != NULL && l->status_command[0] != '/')
		return vmh_conf_error(s, err,
				      "fence level \"%s\": status_command must "
				      "be an absolute path",
				      l->name);
	if (l->password_option == NULL &&
	    (l->password_option = strdup(VMH_FENCE_DEFAULT_PASSWORD_OPTION)) ==
		NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if (!valid_name(l->password_option, FENCE_KEY_MAX, "_-"))
		return vmh_conf_error(s, err,
				      "fence level \"%s\": password_option "
				      "must be an option name",
				      l->name);
	if (l->password_secret != NULL &&
	    !valid_name(l->password_secret, FENCE_NAME_MAX, "_-"))
		return vmh_conf_error(s, err,
				      "fence level \"%s\": password_secret "
				      "must name a secret (letters, digits, "
				      "'_', '-')",
				      l->name);

	if (l->type == VMH_FENCE_SCRIPT) {
		static const char *const agent_only[] = {
			"options",
			"host_options",
			"host_options_optional",
			"password_secret",
			"password_option",
			NULL
		};

		for (i = 0; agent_only[i] != NULL; i++) {
			const vmh_setting *m =
			    config_setting_get_member(s, agent_only[i]);

			if (m != NULL)
				return vmh_conf_error(
				    m, err,
				    "fence level \"%s\": %s is for agent "
				    "levels; a script gets the host XML "
				    "on stdin",
				    l->name, agent_only[i]);
		}
		return VMH_OK;
	}
	if (l->status_command != NULL)
		return vmh_conf_error(s, err,
				      "fence level \"%s\": status_command is "
				      "for script levels; agents answer "
				      "action=status themselves",
				      l->name);
	if ((rc = parse_opts(s, "options", 0, l->password_option, &l->options,
			     &l->n_options, err)) != VMH_OK ||
	    (rc = parse_opts(s, "host_options", 1, l->password_option,
			     &l->host_options, &l->n_host_options, err)) !=
		VMH_OK ||
	    (rc = parse_opts(s, "host_options_optional", 1, l->password_option,
			     &l->host_options_optional,
			     &l->n_host_options_optional, err)) != VMH_OK)
		return rc;
	return VMH_OK;
}

enum vmh_rc
vmh_fence_conf_parse(const vmh_setting *group, struct vmh_fence_conf **out,
		     struct vmh_error *err)
{
	static const char *const keys[] = { "levels", NULL };
	struct vmh_fence_conf *fc = NULL;
	const vmh_setting *list;
	enum vmh_rc rc;
	int i, n;

	*out = NULL;
	if ((rc = vmh_conf_check_keys(group, keys, err)) != VMH_OK)
		return rc;
	list = config_setting_get_member(group, "levels");
	if (list == NULL)
		return vmh_conf_error(group, err,
				      "fence: levels = ( { ... } ) is missing");
	if (config_setting_type(list) != CONFIG_TYPE_LIST)
		return vmh_conf_error(list, err,
				      "fence.levels: must be a list ( { ... }, "
				      "{ ... } )");
	n = config_setting_length(list);
	if (n < 1 || n > VMH_FENCE_MAX_LEVELS)
		return vmh_conf_error(list, err,
				      "fence.levels: between 1 and %d levels",
				      VMH_FENCE_MAX_LEVELS);
	if ((fc = calloc(1, sizeof(*fc))) == NULL ||
	    (fc->levels = calloc((size_t)n, sizeof(*fc->levels))) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		if ((rc =
			 parse_level(config_setting_get_elem(list, (unsigned)i),
				     fc, err)) != VMH_OK)
			goto done;
	*out = fc;
	fc = NULL;
	rc = VMH_OK;
done:
	vmh_fence_conf_free(fc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reports */

void
vmh_fence_report_init(struct vmh_fence_report *r)
{
	memset(r, 0, sizeof(*r));
	r->winner = -1;
	r->host_id = -1;
}

void
vmh_fence_report_free(struct vmh_fence_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_steps; i++) {
		free(r->steps[i].argv_text);
		free(r->steps[i].stdin_text);
	}
	free(r->steps);
	free(r->levels);
	free(r->host);
	vmh_fence_report_init(r);
}

static struct vmh_fence_step *
add_step(struct vmh_fence_report *r, size_t level, const char *action,
	 int attempt, long long t0)
{
	struct vmh_fence_step *s;

	if (r->n_steps % 8 == 0) {
		s = realloc(r->steps, (r->n_steps + 8) * sizeof(*s));
		if (s == NULL)
			return NULL;
		r->steps = s;
	}
	s = &r->steps[r->n_steps++];
	memset(s, 0, sizeof(*s));
	s->level = level;
	s->action = action;
	s->attempt = attempt;
	s->exit_code = -1;
	s->start_ms = vmh_now_ms() - t0;
	return s;
}

/* ------------------------------------------------------------------ */
/* Running one level */

/* Everything one call needs, so helpers take one argument. */
struct run {
	const struct vmh_fence_conf *fc;
	const struct vmh_conf *vconf;
	const struct vmh_fence_target *t;
	struct vmh_fence_report *r;
	int dry_run;
	long long t0;
};

/* The stdin of one program run, in the clear and masked. */
struct input {
	struct vmh_buf clear;  /* sent to the program; wiped after use */
	struct vmh_buf masked; /* for dry runs and reports */
	const char *password;  /* borrowed from the secrets, or NULL */
};

static void
input_init(struct input *in)
{
	vmh_buf_init(&in->clear, FENCE_STDIN_MAX);
	vmh_buf_init(&in->masked, FENCE_STDIN_MAX);
	in->password = NULL;
}

static void
input_free(struct input *in)
{
	if (in->clear.data != NULL)
		explicit_bzero(in->clear.data, in->clear.size);
	vmh_buf_free(&in->clear);
	vmh_buf_free(&in->masked);
}

static const char *
find_attr(const struct vmh_fence_target *t, const char *name)
{
	size_t i;

	if (t->attrs == NULL)
		return NULL;
	for (i = 0; t->attrs[i] != NULL && t->attrs[i + 1] != NULL; i += 2)
		if (strcasecmp(t->attrs[i], name) == 0)
			return t->attrs[i + 1];
	return NULL;
}

/* Replace every occurrence of secret in s (in place) by FENCE_MASK; the
 * log module's registry covers registered secrets, this also covers short
 * ones it refuses to register. */
static void
mask_secret(char *s, size_t size, const char *secret)
{
	char tmp[VMH_FENCE_DETAIL_MAX * 2];
	size_t n, o = 0;
	const char *p = s;

	if (secret == NULL || (n = strlen(secret)) == 0)
		return;
	while (*p != '\0' && o + 1 < sizeof(tmp)) {
		if (strncmp(p, secret, n) == 0) {
			vmh_strlcpy(tmp + o, FENCE_MASK, sizeof(tmp) - o);
			o += strlen(tmp + o);
			p += n;
		} else {
			tmp[o++] = *p++;
		}
	}
	tmp[o] = '\0';
	vmh_strlcpy(s, tmp, size);
}

/* The last non-empty line of text, with control characters flattened. */
static void
last_line(const char *text, char *dst, size_t len)
{
	const char *end = text + strlen(text), *start;
	size_t i, n;

	while (end > text && isspace((unsigned char)end[-1]))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	while (start < end && isspace((unsigned char)*start))
		start++;
	n = (size_t)(end - start);
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		dst[i] = iscntrl((unsigned char)start[i]) ? ' ' : start[i];
	dst[n] = '\0';
}

static void set_detail(struct vmh_fence_step *s, const char *secret,
		       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_detail(struct vmh_fence_step *s, const char *secret, const char *fmt, ...)
{
	char raw[VMH_FENCE_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	mask_secret(raw, sizeof(raw), secret);
	vmh_log_mask(raw, s->detail, sizeof(s->detail));
}

static enum vmh_rc
add_line(struct input *in, const char *key, const char *value, int secret)
{
	if (vmh_buf_printf(&in->clear, "%s=%s\n", key, value) != VMH_OK ||
	    vmh_buf_printf(&in->masked, "%s=%s\n", key,
			   secret ? FENCE_MASK : value) != VMH_OK)
		return VMH_E_TOOBIG;
	return VMH_OK;
}

/* Put key=value into the option list, replacing an earlier value of key. */
static void
set_opt(const char **keys, const char **vals, size_t *n, const char *key,
	const char *val)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(keys[i], key) == 0) {
			vals[i] = val;
			return;
		}
	keys[*n] = key;
	vals[*n] = val;
	(*n)++;
}

/*
 * The per-host secret name: "<secret>_<host>" with every character of the
 * host name that a libconfig setting name cannot hold (anything but
 * letters, digits and '-') written as '_': ipmi_node1_example_com.
 */
static void
host_secret_name(char *dst, size_t len, const char *secret, const char *host)
{
	size_t o;

	snprintf(dst, len, "%s_", secret);
	for (o = strlen(dst); *host != '\0' && o + 1 < len; host++)
		dst[o++] =
		    isalnum((unsigned char)*host) || *host == '-' ? *host : '_';
	dst[o] = '\0';
}

/*
 * Build the stdin of an agent: action, nodename, the configured options
 * with host attributes merged over them, then the password. reason gets
 * why the level cannot run for this host.
 */
static enum vmh_rc
agent_input(const struct run *run, const struct vmh_fence_level *l,
	    const char *action, struct input *in, char *reason, size_t rlen)
{
	const char *keys[3 * VMH_FENCE_MAX_OPTIONS],
	    *vals[3 * VMH_FENCE_MAX_OPTIONS];
	char secret_name[2 * FENCE_NAME_MAX + 256];
	size_t i, n = 0;

	for (i = 0; i < l->n_options; i++)
		set_opt(keys, vals, &n, l->options[i].key, l->options[i].value);
	for (i = 0; i < l->n_host_options; i++) {
		const struct vmh_fence_opt *o = &l->host_options[i];
		const char *v = find_attr(run->t, o->value);

		if (v == NULL || *v == '\0') {
			snprintf(reason, rlen,
				 "host %s has no attribute %s (needed for "
				 "option %s)",
				 run->t->name, o->value, o->key);
			return VMH_E_CONFIG;
		}
		if (has_line_break(v)) {
			snprintf(reason, rlen,
				 "attribute %s of host %s has a line break; "
				 "refused",
				 o->value, run->t->name);
			return VMH_E_DATA;
		}
		set_opt(keys, vals, &n, o->key, v);
	}
	for (i = 0; i < l->n_host_options_optional; i++) {
		const struct vmh_fence_opt *o = &l->host_options_optional[i];
		const char *v = find_attr(run->t, o->value);

		if (v == NULL || *v == '\0')
			continue;
		if (has_line_break(v)) {
			snprintf(reason, rlen,
				 "attribute %s of host %s has a line break; "
				 "refused",
				 o->value, run->t->name);
			return VMH_E_DATA;
		}
		set_opt(keys, vals, &n, o->key, v);
	}
	if (l->password_secret != NULL) {
		/* A per-host secret "<secret>_<host>" wins over the shared
		 * one, so each BMC can have its own password. */
		host_secret_name(secret_name, sizeof(secret_name),
				 l->password_secret, run->t->name);
		in->password = vmh_conf_secret(run->vconf, secret_name);
		if (in->password == NULL)
			in->password =
			    vmh_conf_secret(run->vconf, l->password_secret);
		if (in->password == NULL) {
			snprintf(reason, rlen,
				 "secret \"%s\" (or \"%s\") is not in the "
				 "secrets file",
				 secret_name, l->password_secret);
			return VMH_E_CONFIG;
		}
		if (has_line_break(in->password)) {
			snprintf(reason, rlen,
				 "secret \"%s\" has a line break; refused",
				 l->password_secret);
			in->password = NULL;
			return VMH_E_CONFIG;
		}
		/* Before any program runs, so that even a password an agent
		 * echoes on stderr is masked in every log line. */
		vmh_log_add_secret(in->password);
	}
	if (add_line(in, "action", action, 0) != VMH_OK ||
	    add_line(in, "nodename", run->t->name, 0) != VMH_OK)
		goto toobig;
	for (i = 0; i < n; i++)
		if (add_line(in, keys[i], vals[i], 0) != VMH_OK)
			goto toobig;
	if (in->password != NULL &&
	    add_line(in, l->password_option, in->password, 1) != VMH_OK)
		goto toobig;
	return VMH_OK;
toobig:
	snprintf(reason, rlen, "agent input larger than %d bytes",
		 FENCE_STDIN_MAX);
	return VMH_E_TOOBIG;
}

/* stdin of a script level: base64 of the <HOST> document, one line. */
static enum vmh_rc
script_input(const struct run *run, struct input *in, char *reason, size_t rlen)
{
	char *b64;
	enum vmh_rc rc = VMH_OK;

	if (run->t->host_xml == NULL || run->t->host_xml[0] == '\0') {
		snprintf(reason, rlen,
			 "no <HOST> XML of host %s for a script level",
			 run->t->name);
		return VMH_E_DATA;
	}
	if ((b64 = vmh_base64_encode(run->t->host_xml,
				     strlen(run->t->host_xml))) == NULL) {
		snprintf(reason, rlen, "out of memory");
		return VMH_E_NOMEM;
	}
	if (vmh_buf_printf(&in->clear, "%s\n", b64) != VMH_OK ||
	    vmh_buf_printf(&in->masked, "%s\n", b64) != VMH_OK) {
		snprintf(reason, rlen, "host XML larger than %d bytes",
			 FENCE_STDIN_MAX);
		rc = VMH_E_TOOBIG;
	}
	free(b64);
	return rc;
}

static enum vmh_rc
check_program(const char *path, char *reason, size_t rlen)
{
	struct vmh_error e;

	vmh_error_init(&e);
	if (vmh_exec_check_secure(path, &e) != VMH_OK) {
		char line[VMH_ERROR_SOURCE_MAX + VMH_ERROR_TEXT_MAX + 8];

		snprintf(reason, rlen, "%s",
			 vmh_error_format(&e, line, sizeof(line)));
		return e.code;
	}
	return VMH_OK;
}

/* Record the dry-run rendering of a step. */
static enum vmh_rc
render(struct vmh_fence_step *s, const char *program, const struct input *in)
{
	s->argv_text = strdup(program);
	s->stdin_text = strdup(vmh_buf_str(&in->masked));
	if (s->argv_text == NULL || s->stdin_text == NULL)
		return VMH_E_NOMEM;
	return VMH_OK;
}

/*
 * Run program with in on stdin and fill step s. Status queries classify
 * the exit status as a power state.
 */
static void
run_program(const struct run *run, const struct vmh_fence_level *l,
	    const char *program, int timeout_s, int is_status, struct input *in,
	    struct vmh_fence_step *s)
{
	const char *argv[] = { program, NULL };
	char env_host[FENCE_NAME_MAX + 512], env_id[64], env_action[64];
	const char *env[] = { env_host, env_id, env_action, NULL };
	struct vmh_exec_opts o;
	struct vmh_exec_result res;
	struct vmh_error e;
	char line[VMH_FENCE_DETAIL_MAX];
	enum vmh_rc rc;

	/* Scripts get the host in the environment too (no secrets there);
	 * fence agents ignore it. */
	snprintf(env_host, sizeof(env_host), "VMHEAL_HOST=%s", run->t->name);
	snprintf(env_id, sizeof(env_id), "VMHEAL_HOST_ID=%lld", run->t->id);
	snprintf(env_action, sizeof(env_action), "VMHEAL_ACTION=%s",
		 strcmp(s->action, "script") == 0 ? "off" : s->action);
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.env = l->type == VMH_FENCE_SCRIPT ? env : NULL;
	o.stdin_data = in->clear.data != NULL ? in->clear.data : "";
	o.stdin_len = in->clear.len;
	o.timeout_ms = timeout_s * 1000;
	o.out_max = FENCE_OUT_MAX;
	vmh_error_init(&e);
	rc = vmh_exec_run(&o, &res, &e);
	s->duration_ms = res.duration_ms;
	if (res.exited)
		s->exit_code = res.exit_code;
	if (res.signaled)
		s->signo = res.signo;

	if (rc == VMH_E_TIMEOUT || res.timed_out) {
		s->outcome = VMH_FENCE_TIMEDOUT;
		set_detail(s, in->password, "timed out after %d s, killed",
			   timeout_s);
	} else if (rc != VMH_OK) {
		char msg[VMH_ERROR_SOURCE_MAX + VMH_ERROR_TEXT_MAX + 8];

		s->outcome = VMH_FENCE_NOT_RUN;
		set_detail(s, in->password, "%s",
			   vmh_error_format(&e, msg, sizeof(msg)));
	} else if (!res.exited) {
		s->outcome =
		    is_status ? VMH_FENCE_POWER_UNKNOWN : VMH_FENCE_FAILED;
		last_line(vmh_buf_str(&res.err), line, sizeof(line));
		set_detail(s, in->password, "killed by signal %d%s%s",
			   res.signo, line[0] ? ": " : "", line);
	} else {
		int ok;

		if (is_status)
			s->outcome = res.exit_code == AGENT_STATUS_OFF
					 ? VMH_FENCE_POWER_OFF
				     : res.exit_code == AGENT_STATUS_ON
					 ? VMH_FENCE_POWER_ON
					 : VMH_FENCE_POWER_UNKNOWN;
		else
			s->outcome = res.exit_code == 0 ? VMH_FENCE_DONE
							: VMH_FENCE_FAILED;
		ok = s->outcome != VMH_FENCE_FAILED &&
		     s->outcome != VMH_FENCE_POWER_UNKNOWN;
		/* Agents say what went wrong on stderr and what they did on
		 * stdout; an empty stream falls back to the other. */
		last_line(vmh_buf_str(ok ? &res.out : &res.err), line,
			  sizeof(line));
		if (line[0] == '\0')
			last_line(vmh_buf_str(ok ? &res.err : &res.out), line,
				  sizeof(line));
		set_detail(s, in->password, "exit %d%s%s", res.exit_code,
			   line[0] ? ": " : "", line);
	}
	vmh_exec_result_free(&res);
}

static void
log_step(const struct run *run, const struct vmh_fence_level *l,
	 const struct vmh_fence_step *s)
{
	char attempt[32] = "";

	if (s->attempt > 1 || strcmp(s->action, "status") == 0)
		snprintf(attempt, sizeof(attempt), " #%d", s->attempt);
	vmh_log(s->outcome == VMH_FENCE_FAILED ||
			s->outcome == VMH_FENCE_TIMEDOUT ||
			s->outcome == VMH_FENCE_NOT_RUN
		    ? VMH_LOG_WARNING
		    : VMH_LOG_NOTICE,
		"fence %s: level %s: %s%s: %s (%ld ms) %s", run->t->name,
		l->name, s->action, attempt, vmh_fence_outcome_name(s->outcome),
		s->duration_ms, s->detail);
}

/* Debug: the program and its stdin on one line, secrets masked. */
static void
log_stdin(const struct run *run, const struct vmh_fence_level *l,
	  const char *program, const struct input *in)
{
	char line[1024];
	size_t i;

	vmh_strlcpy(line, vmh_buf_str(&in->masked), sizeof(line));
	vmh_rstrip(line);
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	log_debug("fence %s: level %s: running %s, stdin: %s", run->t->name,
		  l->name, program, line);
}

/* Prepare the input of one run; record a NOT_RUN step when impossible. */
static enum vmh_rc
prepare(const struct run *run, size_t li, const char *action,
	const char *program, struct input *in,
	struct vmh_fence_level_result *lr)
{
	const struct vmh_fence_level *l = &run->fc->levels[li];
	enum vmh_rc rc;

	rc = check_program(program, lr->reason, sizeof(lr->reason));
	if (rc == VMH_OK)
		rc =
		    l->type == VMH_FENCE_AGENT
			? agent_input(run, l, action, in, lr->reason,
				      sizeof(lr->reason))
			: script_input(run, in, lr->reason, sizeof(lr->reason));
	if (rc != VMH_OK) {
		struct vmh_fence_step *s =
		    add_step(run->r, li, action, 1, run->t0);

		if (s == NULL)
			return VMH_E_NOMEM;
		s->outcome = VMH_FENCE_NOT_RUN;
		set_detail(s, in->password, "%s", lr->reason);
		if (!run->dry_run)
			log_step(run, l, s);
	}
	return rc;
}

/*
 * One step of a level: prepare, then run (or only render for a dry run).
 * On return *out is the recorded step, or NULL when out of memory.
 */
static enum vmh_rc
step(const struct run *run, size_t li, const char *action, int attempt,
     int is_status, struct vmh_fence_level_result *lr,
     struct vmh_fence_step **out)
{
	const struct vmh_fence_level *l = &run->fc->levels[li];
	const char *program = l->command;
	const char *agent_action = action;
	struct vmh_fence_step *s = NULL;
	struct input in;
	enum vmh_rc rc;
	int timeout = is_status ? l->status_timeout_s : l->timeout_s;

	*out = NULL;
	if (l->type == VMH_FENCE_SCRIPT && is_status)
		program = l->status_command;
	if (strcmp(action, "script") == 0)
		agent_action = "off";
	input_init(&in);
	if ((rc = prepare(run, li, agent_action, program, &in, lr)) != VMH_OK) {
		if (run->r->n_steps > 0)
			*out = &run->r->steps[run->r->n_steps - 1];
		goto done;
	}
	if ((s = add_step(run->r, li, action, attempt, run->t0)) == NULL) {
		rc = VMH_E_NOMEM;
		goto done;
	}
	if (run->dry_run) {
		s->outcome = VMH_FENCE_PLANNED;
		rc = render(s, program, &in);
	} else {
		if (vmh_log_getverbose() > 1)
			log_stdin(run, l, program, &in);
		run_program(run, l, program, timeout, is_status, &in, s);
		log_step(run, l, s);
	}
	*out = s;
done:
	input_free(&in);
	return rc;
}

/* Why a level failed, truncated to the report's field. */
static void set_reason(struct vmh_fence_level_result *lr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct vmh_fence_level_result *lr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lr->reason, sizeof(lr->reason), fmt, ap);
	va_end(ap);
}

/* Off, then verify: the heart of the chain. */
static enum vmh_rc
fence_level(const struct run *run, size_t li, struct vmh_fence_level_result *lr)
{
	const struct vmh_fence_level *l = &run->fc->levels[li];
	struct vmh_fence_step *s;
	int verifiable =
	    l->type == VMH_FENCE_AGENT || l->status_command != NULL;
	int a;
	enum vmh_rc rc;

	rc = step(run, li, l->type == VMH_FENCE_AGENT ? "off" : "script", 1, 0,
		  lr, &s);
	if (rc == VMH_E_NOMEM || s == NULL)
		return VMH_E_NOMEM;
	if (rc != VMH_OK)
		return VMH_E_FENCE; /* reason set by prepare() */
	if (run->dry_run) {
		if (verifiable &&
		    (rc = step(run, li, "status", 1, 1, lr, &s)) != VMH_OK)
			return rc == VMH_E_NOMEM ? rc : VMH_E_FENCE;
		return VMH_OK;
	}
	if (s->outcome != VMH_FENCE_DONE) {
		set_reason(lr, "%s %s: %s", s->action,
			   vmh_fence_outcome_name(s->outcome), s->detail);
		return VMH_E_FENCE;
	}
	if (!verifiable) {
		/* fence_host.sh contract: exit 0 only when the host is really
		 * fenced; the script verified it. */
		return VMH_OK;
	}
	if (l->verify_delay_s > 0)
		vmh_sleep_ms(l->verify_delay_s * 1000LL);
	for (a = 1; a <= l->verify_retries; a++) {
		rc = step(run, li, "status", a, 1, lr, &s);
		if (rc == VMH_E_NOMEM || s == NULL)
			return VMH_E_NOMEM;
		if (rc != VMH_OK)
			return VMH_E_FENCE;
		if (s->outcome == VMH_FENCE_POWER_OFF)
			return VMH_OK;
		if (a < l->verify_retries && l->verify_interval_s > 0)
			vmh_sleep_ms(l->verify_interval_s * 1000LL);
	}
	set_reason(lr, "not verified: power %s after %d status quer%s (%s)",
		   s->outcome == VMH_FENCE_POWER_ON   ? "still ON"
		   : s->outcome == VMH_FENCE_TIMEDOUT ? "status timed out"
						      : "status unknown",
		   l->verify_retries, l->verify_retries == 1 ? "y" : "ies",
		   s->detail);
	return VMH_E_FENCE;
}

/* Status only: one query per level. */
static enum vmh_rc
status_level(const struct run *run, size_t li,
	     struct vmh_fence_level_result *lr, enum vmh_fence_power *power)
{
	const struct vmh_fence_level *l = &run->fc->levels[li];
	struct vmh_fence_step *s;
	enum vmh_rc rc;

	if (l->type == VMH_FENCE_SCRIPT && l->status_command == NULL) {
		set_reason(lr, "script level without status_command");
		return VMH_E_FENCE;
	}
	rc = step(run, li, "status", 1, 1, lr, &s);
	if (rc == VMH_E_NOMEM || s == NULL)
		return VMH_E_NOMEM;
	if (rc != VMH_OK)
		return VMH_E_FENCE;
	if (run->dry_run)
		return VMH_OK;
	if (s->outcome == VMH_FENCE_POWER_OFF ||
	    s->outcome == VMH_FENCE_POWER_ON) {
		*power = s->outcome == VMH_FENCE_POWER_OFF ? VMH_FENCE_PW_OFF
							   : VMH_FENCE_PW_ON;
		return VMH_OK;
	}
	set_reason(lr, "status %s: %s", vmh_fence_outcome_name(s->outcome),
		   s->detail);
	return VMH_E_FENCE;
}

static enum vmh_rc
on_level(const struct run *run, size_t li, struct vmh_fence_level_result *lr)
{
	const struct vmh_fence_level *l = &run->fc->levels[li];
	struct vmh_fence_step *s;
	enum vmh_rc rc;

	if (l->type == VMH_FENCE_SCRIPT) {
		set_reason(lr, "script levels cannot power on");
		return VMH_E_FENCE;
	}
	rc = step(run, li, "on", 1, 0, lr, &s);
	if (rc == VMH_E_NOMEM || s == NULL)
		return VMH_E_NOMEM;
	if (rc != VMH_OK)
		return VMH_E_FENCE;
	if (run->dry_run || s->outcome == VMH_FENCE_DONE)
		return VMH_OK;
	set_reason(lr, "on %s: %s", vmh_fence_outcome_name(s->outcome),
		   s->detail);
	return VMH_E_FENCE;
}

static int
valid_host_name(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 255)
		return 0;
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return 0;
	return 1;
}

/* The chain walk shared by the three public entry points. */
static enum vmh_rc
walk(const struct vmh_fence_conf *fc, const struct vmh_conf *vconf,
     const struct vmh_fence_target *t, int dry_run,
     enum vmh_fence_action action, struct vmh_fence_report *r,
     struct vmh_error *err)
{
	struct run run;
	enum vmh_rc rc = VMH_E_FENCE, lrc;
	size_t i;

	vmh_fence_report_init(r);
	r->action = action;
	r->dry_run = dry_run;
	if (t == NULL || !valid_host_name(t->name))
		return vmh_error_set(err, VMH_E_USAGE, "fence", 0,
				     "a host name without control characters "
				     "is needed");
	r->host_id = t->id;
	if ((r->host = strdup(t->name)) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if (fc == NULL || fc->n_levels == 0)
		return vmh_error_set(err, VMH_E_CONFIG, "fence", 0,
				     "no fence levels configured: host %s "
				     "cannot be fenced",
				     t->name);
	if ((r->levels = calloc(fc->n_levels, sizeof(*r->levels))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	r->n_levels = fc->n_levels;
	memset(&run, 0, sizeof(run));
	run.fc = fc;
	run.vconf = vconf;
	run.t = t;
	run.r = r;
	run.dry_run = dry_run;
	run.t0 = vmh_now_ms();

	if (!dry_run)
		vmh_log(VMH_LOG_NOTICE, "fence %s: %s through %zu level%s",
			t->name, vmh_fence_action_name(action), fc->n_levels,
			fc->n_levels == 1 ? "" : "s");
	for (i = 0; i < fc->n_levels; i++) {
		struct vmh_fence_level_result *lr = &r->levels[i];

		lr->name = fc->levels[i].name;
		if (r->success && !dry_run)
			continue; /* stays NOT_TRIED */
		lr->start_ms = vmh_now_ms() - run.t0;
		switch (action) {
		case VMH_FENCE_OFF:
			lrc = fence_level(&run, i, lr);
			break;
		case VMH_FENCE_STATUS:
			lrc = status_level(&run, i, lr, &r->power);
			break;
		default:
			lrc = on_level(&run, i, lr);
			break;
		}
		lr->duration_ms = (long)(vmh_now_ms() - run.t0 - lr->start_ms);
		if (lrc == VMH_E_NOMEM) {
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			goto done;
		}
		if (lrc == VMH_OK) {
			lr->verdict =
			    dry_run ? VMH_FENCE_V_PLANNED : VMH_FENCE_V_FENCED;
			if (!r->success)
				r->winner = (long)i;
			r->success = 1;
			if (!dry_run)
				vmh_log(VMH_LOG_NOTICE,
					"fence %s: level %s: %s in %ld ms",
					t->name, lr->name,
					action == VMH_FENCE_OFF
					    ? "fenced and verified OFF"
					: action == VMH_FENCE_STATUS
					    ? vmh_fence_power_name(r->power)
					    : "powered on",
					lr->duration_ms);
		} else {
			lr->verdict = VMH_FENCE_V_FAILED;
			if (!dry_run)
				log_warnx("fence %s: level %s failed: %s",
					  t->name, lr->name, lr->reason);
		}
	}
	if (r->success) {
		rc = VMH_OK;
	} else {
		char msg[VMH_ERROR_TEXT_MAX];

		snprintf(msg, sizeof(msg), "host %s %s", t->name,
			 dry_run ? "cannot be fenced: no level could run"
			 : action == VMH_FENCE_OFF
			     ? "is NOT fenced: every fence level failed"
			 : action == VMH_FENCE_STATUS
			     ? "power state unknown: no level could tell"
			     : "not powered on: every level failed");
		rc = vmh_error_set(err, VMH_E_FENCE, "fence", 0, "%s", msg);
		if (!dry_run)
			vmh_log(VMH_LOG_ERR, "%s", msg);
	}
done:
	r->duration_ms = (long)(vmh_now_ms() - run.t0);
	return rc;
}

enum vmh_rc
vmh_fence_host(const struct vmh_fence_conf *fc, const struct vmh_conf *vconf,
	       const struct vmh_fence_target *target, int dry_run,
	       struct vmh_fence_report *report, struct vmh_error *err)
{
	return walk(fc, vconf, target, dry_run, VMH_FENCE_OFF, report, err);
}

enum vmh_rc
vmh_fence_status(const struct vmh_fence_conf *fc, const struct vmh_conf *vconf,
		 const struct vmh_fence_target *target, int dry_run,
		 enum vmh_fence_power *power, struct vmh_fence_report *report,
		 struct vmh_error *err)
{
	enum vmh_rc rc;

	rc = walk(fc, vconf, target, dry_run, VMH_FENCE_STATUS, report, err);
	if (power != NULL)
		*power = report->power;
	return rc;
}

enum vmh_rc
vmh_fence_power_on(const struct vmh_fence_conf *fc,
		   const struct vmh_conf *vconf,
		   const struct vmh_fence_target *target, int dry_run,
		   struct vmh_fence_report *report, struct vmh_error *err)
{
	return walk(fc, vconf, target, dry_run, VMH_FENCE_ON, report, err);
}

/* ------------------------------------------------------------------ */
/* Rendering */

/* Print text indented, one line at a time. */
static void
print_block(FILE *f, const char *label, const char *text)
{
	const char *p = text, *nl;

	fprintf(f, "      %s\n", label);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		fprintf(f, "        %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

void
vmh_fence_report_print(const struct vmh_fence_report *r, FILE *f, int verbose)
{
	size_t i, j;

	const char *winner = r->winner >= 0 && (size_t)r->winner < r->n_levels
				 ? r->levels[r->winner].name
				 : NULL;
	const char *host = r->host ? r->host : "?";

	if (r->dry_run && winner != NULL)
		fprintf(f, "host %s: dry run of %s: level %s would run first\n",
			host, vmh_fence_action_name(r->action), winner);
	else if (r->dry_run)
		fprintf(f, "host %s: dry run of %s: no level can run\n", host,
			vmh_fence_action_name(r->action));
	else if (winner != NULL && r->action == VMH_FENCE_STATUS)
		fprintf(f, "host %s: power %s (level %s, %ld ms)\n", host,
			r->power == VMH_FENCE_PW_OFF ? "OFF" : "ON", winner,
			r->duration_ms);
	else if (winner != NULL)
		fprintf(f, "host %s: %s by level %s in %ld ms\n", host,
			r->action == VMH_FENCE_OFF ? "FENCED (verified OFF)"
						   : "powered on",
			winner, r->duration_ms);
	else
		fprintf(f, "host %s: %s (%ld ms)\n", host,
			r->action == VMH_FENCE_OFF
			    ? "NOT FENCED: every level failed"
			: r->action == VMH_FENCE_STATUS
			    ? "power state unknown: no level could tell"
			    : "NOT powered on: every level failed",
			r->duration_ms);
	for (i = 0; i < r->n_levels; i++) {
		const struct vmh_fence_level_result *lr = &r->levels[i];

		fprintf(f, "  level %zu %s: %s", i + 1, lr->name,
			vmh_fence_verdict_name(lr->verdict));
		if (lr->verdict != VMH_FENCE_V_NOT_TRIED && !r->dry_run)
			fprintf(f, " (%ld ms)", lr->duration_ms);
		if (lr->reason[0] != '\0' && lr->verdict == VMH_FENCE_V_FAILED)
			fprintf(f, ": %s", lr->reason);
		fputc('\n', f);
		for (j = 0; j < r->n_steps; j++) {
			const struct vmh_fence_step *s = &r->steps[j];

			if (s->level != i)
				continue;
			fprintf(f, "    %s", s->action);
			if (strcmp(s->action, "status") == 0 && !r->dry_run)
				fprintf(f, " #%d", s->attempt);
			fprintf(f, ": %s", vmh_fence_outcome_name(s->outcome));
			if (s->outcome != VMH_FENCE_PLANNED &&
			    s->outcome != VMH_FENCE_NOT_RUN)
				fprintf(f, " at +%lld ms, %ld ms", s->start_ms,
					s->duration_ms);
			if (s->detail[0] != '\0')
				fprintf(f, ": %s", s->detail);
			fputc('\n', f);
			if ((r->dry_run || verbose > 0) && s->argv_text) {
				print_block(f, "command:", s->argv_text);
				print_block(f, "stdin:", s->stdin_text);
			}
		}
	}
}

/* A JSON string even from bytes that are not UTF-8 (agent output, host
 * attributes): those bytes become '?'. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;
	size_t i;

	if (j != NULL || s == NULL || (copy = strdup(s)) == NULL)
		return j;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* json_object_set_new() that remembers a failure. */
static void
jset(json_t *o, const char *k, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

static json_t *
lines_array(const char *text, int *bad)
{
	json_t *a = json_array();
	const char *p = text, *nl;

	if (a == NULL) {
		*bad = 1;
		return NULL;
	}
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		char *line = strndup(p, (size_t)(nl - p));

		if (line == NULL || json_array_append_new(a, jstr(line)) != 0)
			*bad = 1;
		free(line);
		p = *nl ? nl + 1 : nl;
	}
	return a;
}

char *
vmh_fence_report_json(const struct vmh_fence_report *r)
{
	json_t *root = json_object(), *levels = json_array(),
	       *steps = json_array(), *o;
	char *out = NULL;
	int bad = 0;
	size_t i;

	if (root == NULL || levels == NULL || steps == NULL)
		goto done;
	jset(root, "host", jstr(r->host ? r->host : ""), &bad);
	jset(root, "host_id",
	     r->host_id >= 0 ? json_integer(r->host_id) : json_null(), &bad);
	jset(root, "action", jstr(vmh_fence_action_name(r->action)), &bad);
	jset(root, "dry_run", json_boolean(r->dry_run), &bad);
	jset(root, "success", json_boolean(r->success), &bad);
	if (r->action == VMH_FENCE_OFF)
		jset(root, "fenced", json_boolean(r->success && !r->dry_run),
		     &bad);
	if (r->action == VMH_FENCE_STATUS)
		jset(root, "power", jstr(vmh_fence_power_name(r->power)), &bad);
	jset(root, "level",
	     r->winner >= 0 && (size_t)r->winner < r->n_levels
		 ? jstr(r->levels[r->winner].name)
		 : json_null(),
	     &bad);
	jset(root, "duration_ms", json_integer(r->duration_ms), &bad);
	for (i = 0; i < r->n_levels; i++) {
		const struct vmh_fence_level_result *lr = &r->levels[i];

		if ((o = json_object()) == NULL ||
		    json_array_append_new(levels, o) != 0) {
			bad = 1;
			break;
		}
		jset(o, "name", jstr(lr->name), &bad);
		jset(o, "verdict", jstr(vmh_fence_verdict_name(lr->verdict)),
		     &bad);
		jset(o, "start_ms", json_integer(lr->start_ms), &bad);
		jset(o, "duration_ms", json_integer(lr->duration_ms), &bad);
		jset(o, "reason", jstr(lr->reason), &bad);
	}
	for (i = 0; i < r->n_steps; i++) {
		const struct vmh_fence_step *s = &r->steps[i];

		if ((o = json_object()) == NULL ||
		    json_array_append_new(steps, o) != 0) {
			bad = 1;
			break;
		}
		jset(o, "level",
		     jstr(s->level < r->n_levels ? r->levels[s->level].name
						 : ""),
		     &bad);
		jset(o, "action", jstr(s->action), &bad);
		jset(o, "attempt", json_integer(s->attempt), &bad);
		jset(o, "outcome", jstr(vmh_fence_outcome_name(s->outcome)),
		     &bad);
		jset(o, "exit",
		     s->exit_code >= 0 ? json_integer(s->exit_code)
				       : json_null(),
		     &bad);
		if (s->signo)
			jset(o, "signal", json_integer(s->signo), &bad);
		jset(o, "start_ms", json_integer(s->start_ms), &bad);
		jset(o, "duration_ms", json_integer(s->duration_ms), &bad);
		jset(o, "detail", jstr(s->detail), &bad);
		if (s->argv_text != NULL)
			jset(o, "argv", lines_array(s->argv_text, &bad), &bad);
		if (s->stdin_text != NULL)
			jset(o, "stdin", lines_array(s->stdin_text, &bad),
			     &bad);
	}
	/* Last, so that they follow the summary (JSON_PRESERVE_ORDER). */
	if (json_object_set(root, "levels", levels) != 0 ||
	    json_object_set(root, "steps", steps) != 0)
		bad = 1;
	if (!bad)
		out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
done:
	json_decref(levels);
	json_decref(steps);
	json_decref(root);
	return out;
}
