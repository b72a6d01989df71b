/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_probe's inputs: the probe specification syntax (a VM's HA_PROBE
 * attribute, or a configured target's `probe`) and the `vm_probe` section
 * of vmheal.conf. An HA_PROBE value is written by whoever owns the VM, so it
 * is untrusted: it is bounded, may only name the VM's own addresses, and can
 * run no command but the checks the operator named in the configuration.
 */
#include "config.h"

#include <ctype.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "str.h"
#include "vmfail.h"
#include "vmprobe.h"

/* Fixed bounds of every specification, whatever the configuration says. */
#define VP_PERIOD_MIN_MS  100
#define VP_PERIOD_MAX_MS  (3600 * 1000)
#define VP_TIMEOUT_MIN_MS 10
#define VP_TIMEOUT_MAX_MS (600 * 1000)
#define VP_DELAY_MAX_MS   (86400 * 1000)
#define VP_THRESHOLD_MAX  100
#define VP_NAME_MAX       128

/* Defaults (Kubernetes' liveness probe: 10 s, 1 s, 3 failures, 1 success). */
#define VP_DEFAULT_PERIOD_MS     10000
#define VP_DEFAULT_TIMEOUT_MS    1000
#define VP_DEFAULT_DELAY_MS      60000
#define VP_DEFAULT_FALL          3
#define VP_DEFAULT_RISE          1
#define VP_DEFAULT_JITTER        10
#define VP_DEFAULT_MIN_PERIOD_MS 1000
#define VP_DEFAULT_REFRESH_S     60
#define VP_DEFAULT_MAX_EXEC      4
#define VP_DEFAULT_HTTP_BODY     (64 * 1024)
#define VP_DEFAULT_HTTP_CONNS    4096
#define VP_DEFAULT_HEAL_GRACE_MS (120 * 1000)
#define VP_DEFAULT_HEAL_RESET_S  600
#define VP_DEFAULT_HEAL_RETRY_S  60
#define VP_DEFAULT_MAX_HEALS     4
#define VP_DEFAULT_NOTIFY_S      10
#define VP_DEFAULT_METRICS_S     15
#define VP_DEFAULT_ATTRIBUTE     "HA_PROBE"

static enum vmh_rc
nomem(struct vmh_error *err)
{
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

const char *
vmh_vp_kind_name(enum vmh_vp_kind k)
{
	switch (k) {
	case VMH_VP_ICMP:
		return "icmp";
	case VMH_VP_TCP:
		return "tcp";
	case VMH_VP_HTTP:
		return "http";
	case VMH_VP_EXEC:
		return "exec";
	}
	return "unknown";
}

void
vmh_vp_spec_clear(struct vmh_vp_spec *s)
{
	if (s == NULL)
		return;
	free(s->host);
	free(s->path);
	free(s->match);
	free(s->exec);
	free(s->ip);
	memset(s, 0, sizeof(*s));
}

enum vmh_rc
vmh_vp_parse_duration(const char *text, long long min_ms, long long max_ms,
		      int *ms, struct vmh_error *err)
{
	const char *p = text;
	long long whole = 0, frac = 0, scale = 1000, v;
	int digits = 0, fdigits = 0;

	while (isdigit((unsigned char)*p) && digits < 10)
		whole = whole * 10 + (*p++ - '0'), digits++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p) && fdigits < 3)
			frac = frac * 10 + (*p++ - '0'), fdigits++;
		if (fdigits == 0)
			goto bad;
	}
	if (digits == 0 || isdigit((unsigned char)*p))
		goto bad;
	if (strcmp(p, "ms") == 0)
		scale = 1;
	else if (strcmp(p, "s") == 0 || *p == '\0')
		scale = 1000;
	else if (strcmp(p, "m") == 0)
		scale = 60000;
	else
		goto bad;
	/* A fraction of a millisecond means nothing here. */
	if (fdigits > 0 && scale == 1)
		goto bad;
	while (fdigits++ < 3)
		frac *= 10;
	v = whole * scale + frac * scale / 1000;
	if (v < min_ms || v > max_ms)
		return vmh_error_set(
		    err, VMH_E_DATA, NULL, 0,
		    "'%s' is out of range (%lld ms .. %lld ms)", text, min_ms,
		    max_ms);
	*ms = (int)v;
	return VMH_OK;
bad:
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "'%.40s' is not a duration (e.g. 5, 5s, 500ms, "
			     "1m)",
			     text);
}

/* Bytes an operator may write: printable ASCII, and anything beyond ASCII
 * (UTF-8 in match=); never control characters. */
static int
spec_char_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

/*
 * Next whitespace-separated token of *pp into tok (size len), quotes
 * removed: key="a b" and key='a b' keep their spaces. Returns 1 with a
 * token, 0 at the end, -1 (err set) on an unterminated quote or an
 * overlong token.
 */
static int
next_token(const char **pp, char *tok, size_t len, struct vmh_error *err)
{
	const char *p = *pp;
	size_t n = 0;
	char q;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*pp = p;
		return 0;
	}
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		if (*p == '"' || *p == '\'') {
			q = *p++;
			while (*p != '\0' && *p != q) {
				if (n + 1 >= len)
					goto toolong;
				tok[n++] = *p++;
			}
			if (*p != q) {
				vmh_error_set(err, VMH_E_DATA, NULL, 0,
					      "unterminated %c quote", q);
				return -1;
			}
			p++;
			continue;
		}
		if (n + 1 >= len)
			goto toolong;
		tok[n++] = *p++;
	}
	tok[n] = '\0';
	*pp = p;
	return 1;
toolong:
	vmh_error_set(err, VMH_E_DATA, NULL, 0,
		      "a value is longer than %zu "
		      "bytes",
		      len - 1);
	return -1;
}

static enum vmh_rc
parse_int(const char *v, long long min, long long max, int *out,
	  const char *what, struct vmh_error *err)
{
	long long n;
	enum vmh_rc rc;

	if ((rc = vmh_strtonum(v, min, max, &n, what, err)) != VMH_OK)
		return rc;
	*out = (int)n;
	return VMH_OK;
}

/* expect=200 | 200-299 | 200,204,300-399 */
static enum vmh_rc
parse_expect(const char *v, struct vmh_vp_spec *s, struct vmh_error *err)
{
	const char *p = v;
	long long lo, hi;
	char num[8];
	size_t n;

	s->n_expect = 0;
	while (*p != '\0') {
		if (s->n_expect >= VMH_VP_EXPECT_MAX)
			return vmh_error_set(err, VMH_E_DATA, NULL, 0,
					     "expect: more than %d ranges",
					     VMH_VP_EXPECT_MAX);
		for (n = 0; isdigit((unsigned char)p[n]) && n < 4; n++)
			num[n] = p[n];
		num[n] = '\0';
		if (vmh_strtonum(num, 100, 599, &lo, "expect", NULL) != VMH_OK)
			goto bad;
		p += n;
		hi = lo;
		if (*p == '-') {
			p++;
			for (n = 0; isdigit((unsigned char)p[n]) && n < 4; n++)
				num[n] = p[n];
			num[n] = '\0';
			if (vmh_strtonum(num, lo, 599, &hi, "expect", NULL) !=
			    VMH_OK)
				goto bad;
			p += n;
		}
		s->expect[s->n_expect][0] = (int)lo;
		s->expect[s->n_expect][1] = (int)hi;
		s->n_expect++;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	if (s->n_expect > 0)
		return VMH_OK;
bad:
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "expect: '%.40s' is not a status list (e.g. 200, "
			     "200-299, 200,204)",
			     v);
}

static int
name_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max ||
		    !(isalnum((unsigned char)s[i]) || strchr("_.-:", s[i])))
			return 0;
	return i > 0;
}

/* A numeric address, or an error naming what it was for. */
static enum vmh_rc
check_addr(const char *a, const char *what, struct vmh_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (vmh_netcheck_parse_addr(a, &ss, &len, NULL) == VMH_OK)
		return VMH_OK;
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "%s: '%.64s' is not a numeric IPv4 or IPv6 "
			     "address",
			     what, a);
}

/* http[s]://[HOST][:PORT][/PATH] with HOST empty or numeric. */
static enum vmh_rc
parse_url(const char *u, struct vmh_vp_spec *s, struct vmh_error *err)
{
	const char *p, *hs, *he, *slash;
	char host[VMH_NETCHECK_ADDR_TEXTLEN], num[8];
	size_t n, i;
	long long port;

	s->kind = VMH_VP_HTTP;
	s->tls = strncasecmp(u, "https://", 8) == 0;
	p = u + (s->tls ? 8 : 7);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	/* The authority: "", ":8080", "10.0.0.5:8080", "[2001:db8::1]:80" */
	hs = p;
	if (*p == '[') {
		he = memchr(p, ']', (size_t)(slash - p));
		if (he == NULL)
			goto bad;
		hs = p + 1;
		p = he + 1;
	} else {
		he = memchr(p, ':', (size_t)(slash - p));
		if (he == NULL)
			he = slash;
		p = he;
	}
	n = (size_t)(he - hs);
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, hs, n);
	host[n] = '\0';
	if (memchr(host, '@', n) != NULL)
		goto bad;
	port = s->tls ? 443 : 80;
	if (*p == ':') {
		p++;
		n = (size_t)(slash - p);
		if (n == 0 || n >= sizeof(num))
			goto bad;
		memcpy(num, p, n);
		num[n] = '\0';
		if (vmh_strtonum(num, 1, 65535, &port, "port", NULL) != VMH_OK)
			goto bad;
	} else if (p != slash) {
		goto bad;
	}
	s->port = (int)port;
	if (host[0] != '\0') {
		if (check_addr(host, "URL host", err) != VMH_OK)
			return VMH_E_DATA;
		if ((s->host = strdup(host)) == NULL)
			return nomem(err);
	}
	if (*slash == '\0')
		slash = "/";
	if (strlen(slash) > VMH_VP_PATH_MAX)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "URL path longer than %d bytes",
				     VMH_VP_PATH_MAX);
	/* No fragment, no spaces, nothing a request line cannot carry. */
	for (i = 0; slash[i] != '\0'; i++)
		if (slash[i] == '#' || slash[i] == ' ' ||
		    !spec_char_ok((unsigned char)slash[i]) ||
		    (unsigned char)slash[i] >= 0x80)
			goto bad;
	if ((s->path = strdup(slash)) == NULL)
		return nomem(err);
	return VMH_OK;
bad:
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "'%.80s' is not a URL vm_probe can use "
			     "(http[s]://[ADDRESS][:PORT][/PATH], numeric "
			     "address or none)",
			     u);
}

/* The probe itself, the first token. */
static enum vmh_rc
parse_kind(const char *t, struct vmh_vp_spec *s, struct vmh_error *err)
{
	long long port;

	if (strcasecmp(t, "icmp") == 0 || strcasecmp(t, "ping") == 0) {
		s->kind = VMH_VP_ICMP;
		return VMH_OK;
	}
	if (strncasecmp(t, "tcp:", 4) == 0) {
		s->kind = VMH_VP_TCP;
		if (vmh_strtonum(t + 4, 1, 65535, &port, "tcp port", NULL) !=
		    VMH_OK)
			return vmh_error_set(err, VMH_E_DATA, NULL, 0,
					     "'%.40s': the port must be "
					     "1..65535",
					     t);
		s->port = (int)port;
		return VMH_OK;
	}
	if (strncasecmp(t, "http://", 7) == 0 ||
	    strncasecmp(t, "https://", 8) == 0)
		return parse_url(t, s, err);
	if (strncasecmp(t, "exec:", 5) == 0) {
		s->kind = VMH_VP_EXEC;
		if (!name_ok(t + 5, 64))
			return vmh_error_set(err, VMH_E_DATA, NULL, 0,
					     "'%.80s': exec: needs the name of "
					     "a check from the configuration",
					     t);
		if ((s->exec = strdup(t + 5)) == NULL)
			return nomem(err);
		return VMH_OK;
	}
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "'%.40s' is not a probe (icmp, tcp:PORT, "
			     "http://:PORT/PATH, https://..., exec:NAME)",
			     t);
}

static enum vmh_rc
parse_bool(const char *v, int *out, const char *what, struct vmh_error *err)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
		*out = 1;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
		*out = 0;
	else
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "%s: '%.20s' is not yes or no", what, v);
	return VMH_OK;
}

/* One key=value option. */
static enum vmh_rc
parse_option(const char *tok, struct vmh_vp_spec *s, unsigned *seen,
	     struct vmh_error *err)
{
	static const char *const keys[] = {
		"period", "timeout", "fall",  "rise", "initial_delay",
		"delay",  "expect",  "match", "ip",   "heal",
		NULL
	};
	const char *eq = strchr(tok, '='), *v;
	char key[32];
	size_t n;
	int k;

	if (eq == NULL || eq == tok || (size_t)(eq - tok) >= sizeof(key))
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "'%.40s' is not an option (key=value)",
				     tok);
	n = (size_t)(eq - tok);
	memcpy(key, tok, n);
	key[n] = '\0';
	v = eq + 1;
	for (k = 0; keys[k] != NULL; k++)
		if (strcmp(keys[k], key) == 0)
			break;
	if (keys[k] == NULL)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "unknown option '%s' (period, timeout, "
				     "fall, rise, initial_delay, expect, "
				     "match, ip, heal)",
				     key);
	if (k == 5) /* delay is initial_delay */
		k = 4;
	if (*seen & (1u << k))
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "option '%s' given twice", key);
	*seen |= 1u << k;
	if ((k == 6 || k == 7) && s->kind != VMH_VP_HTTP)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "%s= applies to http probes only", key);
	switch (k) {
	case 0:
		s->given |= VMH_VP_GIVEN_PERIOD;
		if (vmh_vp_parse_duration(v, VP_PERIOD_MIN_MS, VP_PERIOD_MAX_MS,
					  &s->period_ms, err) != VMH_OK)
			goto ctx;
		return VMH_OK;
	case 1:
		s->given |= VMH_VP_GIVEN_TIMEOUT;
		if (vmh_vp_parse_duration(v, VP_TIMEOUT_MIN_MS,
					  VP_TIMEOUT_MAX_MS, &s->timeout_ms,
					  err) != VMH_OK)
			goto ctx;
		return VMH_OK;
	case 2:
		s->given |= VMH_VP_GIVEN_FALL;
		return parse_int(v, 1, VP_THRESHOLD_MAX, &s->fall, "fall", err);
	case 3:
		s->given |= VMH_VP_GIVEN_RISE;
		return parse_int(v, 1, VP_THRESHOLD_MAX, &s->rise, "rise", err);
	case 4:
		s->given |= VMH_VP_GIVEN_DELAY;
		if (vmh_vp_parse_duration(v, 0, VP_DELAY_MAX_MS,
					  &s->initial_delay_ms, err) != VMH_OK)
			goto ctx;
		return VMH_OK;
	case 6:
		return parse_expect(v, s, err);
	case 7:
		if (v[0] == '\0' || strlen(v) > VMH_VP_MATCH_MAX)
			return vmh_error_set(err, VMH_E_DATA, NULL, 0,
					     "match: 1 to %d bytes",
					     VMH_VP_MATCH_MAX);
		if ((s->match = strdup(v)) == NULL)
			return nomem(err);
		return VMH_OK;
	case 8:
		if (check_addr(v, "ip", err) != VMH_OK)
			return VMH_E_DATA;
		if ((s->ip = strdup(v)) == NULL)
			return nomem(err);
		return VMH_OK;
	default:
		s->given |= VMH_VP_GIVEN_HEAL;
		return parse_bool(v, &s->heal, "heal", err);
	}
ctx:
	/* Say which option the duration belonged to. */
	{
		char text[VMH_ERROR_TEXT_MAX];

		vmh_strlcpy(text, err != NULL ? err->text : "", sizeof(text));
		vmh_error_reset(err);
		return vmh_error_set(err, VMH_E_DATA, NULL, 0, "%s: %s", key,
				     text);
	}
}

enum vmh_rc
vmh_vp_spec_parse(const char *text, struct vmh_vp_spec *out,
		  struct vmh_error *err)
{
	char tok[VMH_VP_SPEC_MAX + 1];
	const char *p = text;
	unsigned seen = 0;
	size_t i, len;
	enum vmh_rc rc;
	int r;

	memset(out, 0, sizeof(*out));
	out->heal = -1;
	if (text == NULL)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0, "empty probe");
	len = strnlen(text, VMH_VP_SPEC_MAX + 1);
	if (len > VMH_VP_SPEC_MAX)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "longer than %d bytes", VMH_VP_SPEC_MAX);
	for (i = 0; i < len; i++)
		if (!spec_char_ok((unsigned char)text[i]) && text[i] != '\t')
			return vmh_error_set(err, VMH_E_DATA, NULL, 0,
					     "control character at offset %zu",
					     i);
	if ((r = next_token(&p, tok, sizeof(tok), err)) <= 0) {
		if (r == 0)
			vmh_error_set(err, VMH_E_DATA, NULL, 0, "empty probe");
		return VMH_E_DATA;
	}
	if ((rc = parse_kind(tok, out, err)) != VMH_OK)
		goto fail;
	while ((r = next_token(&p, tok, sizeof(tok), err)) > 0)
		if ((rc = parse_option(tok, out, &seen, err)) != VMH_OK)
			goto fail;
	if (r < 0) {
		rc = VMH_E_DATA;
		goto fail;
	}
	return VMH_OK;
fail:
	vmh_vp_spec_clear(out);
	out->heal = -1;
	return rc;
}

enum vmh_rc
vmh_vp_spec_finish(struct vmh_vp_spec *s, const struct vmh_vmprobe_conf *c,
		   int from_cloud, struct vmh_error *err)
{
	if (!(s->given & VMH_VP_GIVEN_PERIOD))
		s->period_ms = c->period_ms;
	if (!(s->given & VMH_VP_GIVEN_FALL))
		s->fall = c->fall;
	if (!(s->given & VMH_VP_GIVEN_RISE))
		s->rise = c->rise;
	if (!(s->given & VMH_VP_GIVEN_DELAY))
		s->initial_delay_ms = c->initial_delay_ms;
	if (!(s->given & VMH_VP_GIVEN_TIMEOUT))
		/* A short period given alone shortens the default timeout
		 * rather than failing. */
		s->timeout_ms =
		    c->timeout_ms < s->period_ms ? c->timeout_ms : s->period_ms;
	if (s->timeout_ms > s->period_ms)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "timeout (%d ms) longer than the period "
				     "(%d ms)",
				     s->timeout_ms, s->period_ms);
	if (from_cloud && s->period_ms < c->min_period_ms)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "period %d ms is below the configured "
				     "minimum of %d ms",
				     s->period_ms, c->min_period_ms);
	if (from_cloud && s->host != NULL)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "an address in the URL is not allowed "
				     "here: write http://:PORT/PATH (the VM's "
				     "address), or ip=ADDRESS for another of "
				     "its NICs");
	if (s->kind == VMH_VP_EXEC &&
	    vmh_vmprobe_exec_check(c, s->exec) == NULL)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "no exec check '%s' in the configuration",
				     s->exec);
	return VMH_OK;
}

const struct vmh_vp_exec_check *
vmh_vmprobe_exec_check(const struct vmh_vmprobe_conf *c, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < c->n_exec; i++)
		if (strcmp(c->exec[i].name, name) == 0)
			return &c->exec[i];
	return NULL;
}

/* ---- The configuration section */

/*
 * A duration setting: a number is seconds (10, 0.5), a string may carry a
 * unit ("500ms", "2s", "1m"). A missing key keeps *ms.
 */
static enum vmh_rc
get_duration(const vmh_setting *g, const char *key, long long min_ms,
	     long long max_ms, int *ms, struct vmh_error *err)
{
	vmh_setting *s = config_setting_get_member(g, key);
	struct vmh_error e;
	char text[64];
	double d;

	if (s == NULL)
		return VMH_OK;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(text, sizeof(text), "%lld",
			 (long long)config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		d = config_setting_get_float(s);
		if (!(d >= 0 && d < 1e9))
			return vmh_conf_error(s, err,
					      "vm_probe.%s: %g is out "
					      "of range",
					      key, d);
		snprintf(text, sizeof(text), "%.3f", d);
		break;
	case CONFIG_TYPE_STRING:
		vmh_strlcpy(text, config_setting_get_string(s), sizeof(text));
		break;
	default:
		return vmh_conf_error(s, err,
				      "vm_probe.%s: must be seconds (10, 0.5) "
				      "or a string with a unit (\"500ms\")",
				      key);
	}
	vmh_error_init(&e);
	if (vmh_vp_parse_duration(text, min_ms, max_ms, ms, &e) != VMH_OK)
		return vmh_conf_error(s, err, "vm_probe.%s: %s", key, e.text);
	return VMH_OK;
}

/* reboot (reboot-hard), recreate (evacuate), rebuild, resched, none. */
static int
action_parse(const char *s)
{
	if (strcmp(s, "reboot") == 0 || strcmp(s, "reboot-hard") == 0)
		return VMH_VF_REBOOT_HARD;
	if (strcmp(s, "recreate") == 0 || strcmp(s, "evacuate") == 0)
		return VMH_VF_RECREATE;
	if (strcmp(s, "rebuild") == 0)
		return VMH_VF_REBUILD;
	if (strcmp(s, "resched") == 0)
		return VMH_VF_RESCHED;
	if (strcmp(s, "none") == 0)
		return VMH_VF_NONE;
	return -1;
}

static enum vmh_rc
parse_actions(const vmh_setting *g, struct vmh_vmprobe_conf *c,
	      struct vmh_error *err)
{
	vmh_setting *s = config_setting_get_member(g, "actions");
	char **v = NULL;
	enum vmh_rc rc;
	int i, a;

	if (s == NULL)
		return VMH_OK;
	if ((rc = vmh_conf_get_strv(g, "actions", &v, err)) != VMH_OK)
		return rc;
	c->n_actions = 0;
	for (i = 0; v[i] != NULL; i++) {
		if (i >= VMH_VP_MAX_ACTIONS) {
			rc = vmh_conf_error(s, err,
					    "vm_probe.actions: at most %d "
					    "actions",
					    VMH_VP_MAX_ACTIONS);
			goto done;
		}
		if ((a = action_parse(v[i])) < 0) {
			rc = vmh_conf_error(s, err,
					    "vm_probe.actions: \"%s\" is not "
					    "one of \"reboot\", \"recreate\", "
					    "\"rebuild\", \"resched\", "
					    "\"none\"",
					    v[i]);
			goto done;
		}
		c->actions[c->n_actions++] = a;
	}
	if (c->n_actions == 0)
		rc = vmh_conf_error(s, err,
				    "vm_probe.actions: empty (say "
				    "[ \"none\" ] to only alert)");
done:
	vmh_strv_free(v);
	return rc;
}

static enum vmh_rc
parse_exec(const vmh_setting *g, struct vmh_vmprobe_conf *c,
	   struct vmh_error *err)
{
	vmh_setting *s = config_setting_get_member(g, "exec"), *e;
	const char *name;
	enum vmh_rc rc;
	int i, n;

	if (s == NULL)
		return VMH_OK;
	if (!config_setting_is_group(s))
		return vmh_conf_error(s, err,
				      "vm_probe.exec: must be a group { name "
				      "= [ \"/path\", \"arg\" ]; ... }");
	n = config_setting_length(s);
	if ((c->exec = calloc((size_t)n + 1, sizeof(*c->exec))) == NULL)
		return nomem(err);
	for (i = 0; i < n; i++) {
		struct vmh_vp_exec_check *x = &c->exec[c->n_exec];

		e = config_setting_get_elem(s, (unsigned)i);
		name = config_setting_name(e);
		if (!name_ok(name, 64))
			return vmh_conf_error(
			    e, err, "vm_probe.exec: bad name '%s'", name);
		if ((x->name = strdup(name)) == NULL)
			return nomem(err);
		c->n_exec++;
		if ((rc = vmh_conf_get_strv(s, name, &x->argv, err)) != VMH_OK)
			return rc;
		if (x->argv[0] == NULL || x->argv[0][0] != '/')
			return vmh_conf_error(e, err,
					      "vm_probe.exec.%s: the first "
					      "element must be an absolute "
					      "program path",
					      name);
	}
	return VMH_OK;
}

/* One element of `targets`. */
static enum vmh_rc
parse_target(const vmh_setting *e, struct vmh_vmprobe_conf *c,
	     struct vmh_vp_target_conf *t, struct vmh_error *err)
{
	static const char *const keys[] = { "name", "address", "probe", "vm",
					    NULL };
	vmh_setting *vm = config_setting_get_member(e, "vm");
	struct vmh_error pe;
	char num[32];
	enum vmh_rc rc;
	size_t i;

	if ((rc = vmh_conf_check_keys(e, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(e, "name", &t->name, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(e, "address", &t->address, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(e, "probe", &t->probe, err)) != VMH_OK)
		return rc;
	if (vm != NULL) {
		if (config_setting_type(vm) == CONFIG_TYPE_INT ||
		    config_setting_type(vm) == CONFIG_TYPE_INT64) {
			snprintf(num, sizeof(num), "%lld",
				 (long long)config_setting_get_int64(vm));
			if ((t->vm = strdup(num)) == NULL)
				return nomem(err);
		} else if ((rc = vmh_conf_get_string(e, "vm", &t->vm, err)) !=
			   VMH_OK) {
			return rc;
		}
		if (t->vm[0] == '\0' || strlen(t->vm) > 64)
			return vmh_conf_error(vm, err,
					      "vm_probe.targets: vm: "
					      "a VM ID");
	}
	if (t->name == NULL || !name_ok(t->name, VP_NAME_MAX))
		return vmh_conf_error(e, err,
				      "vm_probe.targets: every target needs a "
				      "name (letters, digits, _ . - :)");
	for (i = 0; i < (size_t)(t - c->targets); i++)
		if (strcmp(c->targets[i].name, t->name) == 0)
			return vmh_conf_error(e, err,
					      "vm_probe.targets: name '%s' "
					      "used twice",
					      t->name);
	if (t->probe == NULL)
		return vmh_conf_error(e, err, "vm_probe.targets: %s: no probe",
				      t->name);
	vmh_error_init(&pe);
	/* Errors point at the line of the setting itself. */
	if (vmh_vp_spec_parse(t->probe, &t->spec, &pe) != VMH_OK ||
	    vmh_vp_spec_finish(&t->spec, c, 0, &pe) != VMH_OK)
		return vmh_conf_error(config_setting_get_member(e, "probe"),
				      err, "vm_probe.targets: %s: probe: %s",
				      t->name, pe.text);
	if (t->address != NULL &&
	    check_addr(t->address, "address", &pe) != VMH_OK)
		return vmh_conf_error(config_setting_get_member(e, "address"),
				      err, "vm_probe.targets: %s: %s", t->name,
				      pe.text);
	if (t->address == NULL && t->spec.kind != VMH_VP_EXEC &&
	    t->spec.host == NULL)
		return vmh_conf_error(
		    e, err, "vm_probe.targets: %s: no address", t->name);
	return VMH_OK;
}

static enum vmh_rc
parse_targets(const vmh_setting *g, struct vmh_vmprobe_conf *c,
	      struct vmh_error *err)
{
	vmh_setting *s = config_setting_get_member(g, "targets");
	enum vmh_rc rc;
	int i, n;

	if (s == NULL)
		return VMH_OK;
	if (!config_setting_is_list(s))
		return vmh_conf_error(s, err,
				      "vm_probe.targets: must be a list ( { "
				      "name = ...; probe = ...; }, ... )");
	n = config_setting_length(s);
	if ((c->targets = calloc((size_t)n + 1, sizeof(*c->targets))) == NULL)
		return nomem(err);
	for (i = 0; i < n; i++) {
		vmh_setting *e = config_setting_get_elem(s, (unsigned)i);

		if (!config_setting_is_group(e))
			return vmh_conf_error(e, err,
					      "vm_probe.targets: element %d "
					      "must be a group { ... }",
					      i + 1);
		c->n_targets++;
		if ((rc = parse_target(e, c, &c->targets[i], err)) != VMH_OK)
			return rc;
	}
	return VMH_OK;
}

static enum vmh_rc
set_defaults(struct vmh_vmprobe_conf *c, struct vmh_error *err)
{
	c->cloud_targets = 1;
	c->refresh_s = VP_DEFAULT_REFRESH_S;
	c->period_ms = VP_DEFAULT_PERIOD_MS;
	c->timeout_ms = VP_DEFAULT_TIMEOUT_MS;
	c->initial_delay_ms = VP_DEFAULT_DELAY_MS;
	c->fall = VP_DEFAULT_FALL;
	c->rise = VP_DEFAULT_RISE;
	c->jitter_pct = VP_DEFAULT_JITTER;
	c->min_period_ms = VP_DEFAULT_MIN_PERIOD_MS;
	c->icmp_mode = VMH_ICMP_AUTO;
	c->max_exec = VP_DEFAULT_MAX_EXEC;
	c->https_verify = 1;
	c->http_max_body = VP_DEFAULT_HTTP_BODY;
	c->http_connections = VP_DEFAULT_HTTP_CONNS;
	c->heal = 1;
	c->actions[0] = VMH_VF_REBOOT_HARD;
	c->actions[1] = VMH_VF_RECREATE;
	c->n_actions = 2;
	c->heal_grace_ms = VP_DEFAULT_HEAL_GRACE_MS;
	c->heal_reset_s = VP_DEFAULT_HEAL_RESET_S;
	c->heal_retry_s = VP_DEFAULT_HEAL_RETRY_S;
	c->max_heals = VP_DEFAULT_MAX_HEALS;
	c->storm_percent = 25;
	c->storm_min_down = 5;
	c->notify_timeout_s = VP_DEFAULT_NOTIFY_S;
	c->metrics_interval_s = VP_DEFAULT_METRICS_S;
	if ((c->attribute = strdup(VP_DEFAULT_ATTRIBUTE)) == NULL)
		return nomem(err);
	return VMH_OK;
}

enum vmh_rc
vmh_vmprobe_conf_default(struct vmh_vmprobe_conf **out, struct vmh_error *err)
{
	struct vmh_vmprobe_conf *c;
	enum vmh_rc rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return nomem(err);
	if ((rc = set_defaults(c, err)) != VMH_OK) {
		vmh_vmprobe_conf_free(c);
		return rc;
	}
	*out = c;
	return VMH_OK;
}

enum vmh_rc
vmh_vmprobe_conf_parse(const vmh_setting *g, struct vmh_vmprobe_conf **out,
		       struct vmh_error *err)
{
	static const char *const keys[] = { "cloud_targets",
					    "attribute",
					    "refresh_interval",
					    "period",
					    "timeout",
					    "initial_delay",
					    "fall",
					    "rise",
					    "jitter",
					    "min_period",
					    "icmp_socket",
					    "max_exec",
					    "exec",
					    "https_verify",
					    "ca_file",
					    "http_max_body",
					    "http_connections",
					    "heal",
					    "actions",
					    "heal_grace",
					    "heal_reset",
					    "heal_retry",
					    "max_heals",
					    "storm_percent",
					    "storm_min_down",
					    "notify_command",
					    "notify_timeout",
					    "metrics_file",
					    "metrics_interval",
					    "targets",
					    NULL };
	static const char *const icmp_modes[] = { "auto", "ping", "raw", NULL };
	struct vmh_vmprobe_conf *c = NULL;
	int mode = VMH_ICMP_AUTO;
	enum vmh_rc rc;

	*out = NULL;
	if ((rc = vmh_vmprobe_conf_default(&c, err)) != VMH_OK)
		return rc;
	/* Scalars first: targets take their defaults from them. */
	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "cloud_targets", &c->cloud_targets,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "attribute", &c->attribute, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_int(g, "refresh_interval", 5, 86400,
				   &c->refresh_s, err)) != VMH_OK ||
	    (rc = get_duration(g, "period", VP_PERIOD_MIN_MS, VP_PERIOD_MAX_MS,
			       &c->period_ms, err)) != VMH_OK ||
	    (rc = get_duration(g, "timeout", VP_TIMEOUT_MIN_MS,
			       VP_TIMEOUT_MAX_MS, &c->timeout_ms, err)) !=
		VMH_OK ||
	    (rc = get_duration(g, "initial_delay", 0, VP_DELAY_MAX_MS,
			       &c->initial_delay_ms, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "fall", 1, VP_THRESHOLD_MAX, &c->fall,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "rise", 1, VP_THRESHOLD_MAX, &c->rise,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "jitter", 0, 50, &c->jitter_pct, err)) !=
		VMH_OK ||
	    (rc = get_duration(g, "min_period", VP_PERIOD_MIN_MS,
			       VP_PERIOD_MAX_MS, &c->min_period_ms, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_enum(g, "icmp_socket", icmp_modes, &mode,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "max_exec", 1, 256, &c->max_exec, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "https_verify", &c->https_verify,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "ca_file", &c->ca_file, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_size(g, "http_max_body", 256, 16 * 1024 * 1024,
				    &c->http_max_body, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "http_connections", 1, 65536,
				   &c->http_connections, err)) != VMH_OK ||
	    (rc = vmh_conf_get_bool(g, "heal", &c->heal, err)) != VMH_OK ||
	    (rc = parse_actions(g, c, err)) != VMH_OK ||
	    (rc = get_duration(g, "heal_grace", 0, VP_DELAY_MAX_MS,
			       &c->heal_grace_ms, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "heal_reset", 0, 86400 * 30,
				   &c->heal_reset_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "heal_retry", 1, 86400, &c->heal_retry_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "max_heals", 1, 256, &c->max_heals,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "storm_percent", 1, 100,
				   &c->storm_percent, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "storm_min_down", 1, 1000000,
				   &c->storm_min_down, err)) != VMH_OK ||
	    (rc = vmh_conf_get_strv(g, "notify_command", &c->notify_command,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "notify_timeout", 1, 3600,
				   &c->notify_timeout_s, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "metrics_file", &c->metrics_file,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "metrics_interval", 1, 3600,
				   &c->metrics_interval_s, err)) != VMH_OK)
		goto done;
	c->icmp_mode = (enum vmh_icmp_mode)mode;
	if (c->timeout_ms > c->period_ms) {
		rc =
		    vmh_conf_error(config_setting_get_member(g, "timeout"), err,
				   "vm_probe.timeout: longer than the period");
		goto done;
	}
	if (!name_ok(c->attribute, 64)) {
		rc = vmh_conf_error(config_setting_get_member(g, "attribute"),
				    err,
				    "vm_probe.attribute: not an attribute "
				    "name");
		goto done;
	}
	if (c->notify_command != NULL &&
	    (c->notify_command[0] == NULL || c->notify_command[0][0] != '/')) {
		rc = vmh_conf_error(
		    config_setting_get_member(g, "notify_command"), err,
		    "vm_probe.notify_command: the first element must be an "
		    "absolute program path");
		goto done;
	}
	if ((rc = parse_exec(g, c, err)) != VMH_OK ||
	    (rc = parse_targets(g, c, err)) != VMH_OK)
		goto done;
	*out = c;
	c = NULL;
done:
	vmh_vmprobe_conf_free(c);
	return rc;
}

void
vmh_vmprobe_conf_free(struct vmh_vmprobe_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->attribute);
	for (i = 0; i < c->n_exec; i++) {
		free(c->exec[i].name);
		vmh_strv_free(c->exec[i].argv);
	}
	free(c->exec);
	free(c->ca_file);
	vmh_strv_free(c->notify_command);
	free(c->metrics_file);
	for (i = 0; i < c->n_targets; i++) {
		free(c->targets[i].name);
		free(c->targets[i].address);
		free(c->targets[i].probe);
		free(c->targets[i].vm);
		vmh_vp_spec_clear(&c->targets[i].spec);
	}
	free(c->targets);
	free(c);
}
