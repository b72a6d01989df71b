/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net_fence: configuration section, matrix, hysteresis, state file, actions
 * and one round's orchestration (see netfence.h for the rules).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exec.h"
#include "log.h"
#include "netfence.h"
#include "str.h"

#define STATE_MAGIC     "vmheal-net_fence-state"
#define STATE_VERSION   1
#define STATE_MAX_BYTES (64 * 1024)
#define STATE_TOKENS    8
#define CMDLINE_MAX     512
#define VM_NAME_MAX     255
#define LIST_OUT_MAX    (256 * 1024)

static const char *const action_names[] = { "none", "alert", "stop-vms",
					    "fence-self", NULL };
static const char *const probe_names[] = { "icmp", "tcp", "both", "either",
					   NULL };
static const char *const icmp_modes[] = { "auto", "ping", "raw", NULL };
static const char *const status_names[] = { "none", "started", "done", "failed",
					    NULL };

const char *
vmh_nf_action_name(enum vmh_nf_action a)
{
	if ((unsigned)a >= VMH_NF_ACTION_COUNT)
		return "unknown";
	return action_names[a];
}

/* ---- configuration ---------------------------------------------------- */

static enum vmh_rc
nomem(struct vmh_error *err)
{
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

static int
valid_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return i > 0 && i <= VMH_NF_NAME_MAX;
}

static char **
strv_dup(const char *const *v)
{
	size_t n = 0, i;
	char **out;

	while (v[n] != NULL)
		n++;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL) {
			vmh_strv_free(out);
			return NULL;
		}
	return out;
}

void
vmh_netfence_conf_free(struct vmh_netfence_conf *c)
{
	size_t i, k;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_networks; i++) {
		struct vmh_nf_network *n = &c->networks[i];

		for (k = 0; k < n->n_targets; k++)
			free(n->targets[k].address);
		free(n->targets);
		free(n->name);
		free(n->interface);
	}
	free(c->networks);
	free(c->rules);
	vmh_strv_free(c->alert_cmd);
	vmh_strv_free(c->stop_vms_cmd);
	vmh_strv_free(c->list_vms_cmd);
	vmh_strv_free(c->stop_vm_cmd);
	vmh_strv_free(c->fence_self_cmd);
	free(c->sysrq_trigger);
	free(c->watchdog_device);
	free(c);
}

/* A target: "ADDRESS" (ICMP echo) or { address; port; probe; }. */
static enum vmh_rc
parse_target(const vmh_setting *s, struct vmh_nf_target *t,
	     struct vmh_error *err)
{
	static const char *const keys[] = { "address", "port", "probe", NULL };
	struct vmh_error perr;
	int probe = -1;
	enum vmh_rc rc;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if ((t->address = strdup(config_setting_get_string(s))) == NULL)
			return nomem(err);
		t->probe = VMH_NF_PROBE_ICMP;
	} else if (config_setting_is_group(s)) {
		if ((rc = vmh_conf_check_keys(s, keys, err)) != VMH_OK ||
		    (rc = vmh_conf_get_string(s, "address", &t->address,
					      err)) != VMH_OK ||
		    (rc = vmh_conf_get_int(s, "port", 1, 65535, &t->port,
					   err)) != VMH_OK ||
		    (rc = vmh_conf_get_enum(s, "probe", probe_names, &probe,
					    err)) != VMH_OK)
			return rc;
		if (t->address == NULL)
			return vmh_conf_error(s, err,
					      "target: address is missing");
		/* The probe follows from the port unless said. */
		if (probe < 0)
			probe = t->port ? VMH_NF_PROBE_TCP : VMH_NF_PROBE_ICMP;
		t->probe = (enum vmh_nf_probe)probe;
		if (t->probe == VMH_NF_PROBE_ICMP && t->port)
			return vmh_conf_error(s, err,
					      "target %s: port given but probe "
					      "is \"icmp\"",
					      t->address);
		if (t->probe != VMH_NF_PROBE_ICMP && !t->port)
			return vmh_conf_error(s, err,
					      "target %s: probe \"%s\" needs a "
					      "port",
					      t->address, probe_names[probe]);
	} else {
		return vmh_conf_error(s, err,
				      "a target is an address in quotes or a "
				      "group { address = ...; port = ...; }");
	}
	vmh_error_init(&perr);
	if (vmh_netcheck_parse_addr(t->address, &t->addr, &t->addrlen, &perr) !=
	    VMH_OK)
		return vmh_conf_error(s, err, "target: %s", perr.text);
	return VMH_OK;
}

static enum vmh_rc
parse_network(const vmh_setting *s, const struct vmh_netfence_conf *c,
	      struct vmh_nf_network *n, struct vmh_error *err)
{
	static const char *const keys[] = { "name",        "interface",
					    "targets",     "min_up",
					    "fail_rounds", "recover_rounds",
					    NULL };
	const vmh_setting *targets;
	enum vmh_rc rc;
	int i, count;

	n->fail_rounds = c->fail_rounds;
	n->recover_rounds = c->recover_rounds;
	n->min_up = 1;
	if ((rc = vmh_conf_check_keys(s, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(s, "name", &n->name, err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(s, "interface", &n->interface, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_int(s, "fail_rounds", 2, 1000, &n->fail_rounds,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(s, "recover_rounds", 1, 1000,
				   &n->recover_rounds, err)) != VMH_OK)
		return rc;
	if (n->name == NULL)
		return vmh_conf_error(s, err, "network: name is missing");
	if (!valid_name(n->name))
		return vmh_conf_error(s, err,
				      "network name \"%s\": use 1 to %d "
				      "letters, digits, '_' or '-'",
				      n->name, VMH_NF_NAME_MAX);
	if (n->interface != NULL &&
	    (n->interface[0] == '\0' || strlen(n->interface) >= 16))
		return vmh_conf_error(s, err,
				      "network %s: interface must be a "
				      "network interface name",
				      n->name);
	targets = config_setting_get_member(s, "targets");
	if (targets == NULL)
		return vmh_conf_error(s, err, "network %s: targets are missing",
				      n->name);
	if (!config_setting_is_list(targets) &&
	    !config_setting_is_array(targets))
		return vmh_conf_error(targets, err,
				      "network %s: targets must be a list "
				      "( ... )",
				      n->name);
	count = config_setting_length(targets);
	if (count < 1 || count > VMH_NF_MAX_TARGETS)
		return vmh_conf_error(targets, err,
				      "network %s: between 1 and %d targets",
				      n->name, VMH_NF_MAX_TARGETS);
	if ((n->targets = calloc((size_t)count, sizeof(*n->targets))) == NULL)
		return nomem(err);
	for (i = 0; i < count; i++) {
		n->n_targets++;
		if ((rc = parse_target(
			 config_setting_get_elem(targets, (unsigned)i),
			 &n->targets[i], err)) != VMH_OK)
			return rc;
	}
	if ((rc = vmh_conf_get_int(s, "min_up", 1, count, &n->min_up, err)) !=
	    VMH_OK)
		return rc;
	return VMH_OK;
}

static int
network_index(const struct vmh_netfence_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++)
		if (strcmp(c->networks[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Names in a rule's down/up list to a bit mask. */
static enum vmh_rc
rule_mask(const vmh_setting *r, const char *key,
	  const struct vmh_netfence_conf *c, unsigned *mask,
	  struct vmh_error *err)
{
	char **names = NULL;
	enum vmh_rc rc;
	size_t i;
	int idx;

	*mask = 0;
	if ((rc = vmh_conf_get_strv(r, key, &names, err)) != VMH_OK)
		goto done;
	for (i = 0; names != NULL && names[i] != NULL; i++) {
		if ((idx = network_index(c, names[i])) < 0) {
			rc = vmh_conf_error(config_setting_get_member(r, key),
					    err,
					    "matrix: %s: no network is named "
					    "\"%s\"",
					    key, names[i]);
			goto done;
		}
		*mask |= 1u << idx;
	}
done:
	vmh_strv_free(names);
	return rc;
}

static enum vmh_rc
parse_matrix(const vmh_setting *m, struct vmh_netfence_conf *c,
	     struct vmh_error *err)
{
	static const char *const keys[] = { "down", "up", "action", NULL };
	enum vmh_rc rc;
	int i, n, action;

	if (!config_setting_is_list(m))
		return vmh_conf_error(
		    m, err,
		    "matrix must be a list of rules "
		    "( { down = [...]; action = \"...\"; } )");
	n = config_setting_length(m);
	if (n > VMH_NF_MAX_RULES)
		return vmh_conf_error(m, err, "matrix: more than %d rules",
				      VMH_NF_MAX_RULES);
	if (n > 0 && (c->rules = calloc((size_t)n, sizeof(*c->rules))) == NULL)
		return nomem(err);
	for (i = 0; i < n; i++) {
		const vmh_setting *r = config_setting_get_elem(m, (unsigned)i);
		struct vmh_nf_rule *rule = &c->rules[i];

		action = -1;
		if ((rc = vmh_conf_check_keys(r, keys, err)) != VMH_OK ||
		    (rc = rule_mask(r, "down", c, &rule->down_mask, err)) !=
			VMH_OK ||
		    (rc = rule_mask(r, "up", c, &rule->up_mask, err)) !=
			VMH_OK ||
		    (rc = vmh_conf_get_enum(r, "action", action_names, &action,
					    err)) != VMH_OK)
			return rc;
		if (action < 0)
			return vmh_conf_error(r, err,
					      "matrix rule %d: action is "
					      "missing",
					      i + 1);
		if (rule->down_mask == 0)
			return vmh_conf_error(r, err,
					      "matrix rule %d: down must name "
					      "at least one network (all up "
					      "is always \"none\")",
					      i + 1);
		if (rule->down_mask & rule->up_mask)
			return vmh_conf_error(r, err,
					      "matrix rule %d: a network is "
					      "both up and down",
					      i + 1);
		rule->action = (enum vmh_nf_action)action;
		rule->line = config_setting_source_line(r);
		c->n_rules++;
	}
	return VMH_OK;
}

/* A command: a non-empty list of strings, the program first. */
static enum vmh_rc
get_command(const vmh_setting *g, const char *key, char ***out,
	    struct vmh_error *err)
{
	const vmh_setting *s = config_setting_get_member(g, key);
	enum vmh_rc rc;

	if (s == NULL)
		return VMH_OK;
	if ((rc = vmh_conf_get_strv(g, key, out, err)) != VMH_OK)
		return rc;
	if ((*out)[0] == NULL || (*out)[0][0] == '\0')
		return vmh_conf_error(s, err,
				      "%s: a command is a list [ \"program\", "
				      "\"argument\", ... ] with a program",
				      key);
	return VMH_OK;
}

static enum vmh_rc
parse_actions(const vmh_setting *g, struct vmh_netfence_conf *c,
	      struct vmh_error *err)
{
	static const char *const keys[] = {
		"alert",         "stop_vms",   "list_vms",
		"stop_vm",       "fence_self", "sysrq_fallback",
		"sysrq_trigger", "timeout",    NULL
	};
	char *sysrq = NULL;
	enum vmh_rc rc;
	size_t i;
	int has_placeholder = 0;

	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = get_command(g, "alert", &c->alert_cmd, err)) != VMH_OK ||
	    (rc = get_command(g, "stop_vms", &c->stop_vms_cmd, err)) !=
		VMH_OK ||
	    (rc = get_command(g, "list_vms", &c->list_vms_cmd, err)) !=
		VMH_OK ||
	    (rc = get_command(g, "stop_vm", &c->stop_vm_cmd, err)) != VMH_OK ||
	    (rc = get_command(g, "fence_self", &c->fence_self_cmd, err)) !=
		VMH_OK ||
	    (rc = vmh_conf_get_string(g, "sysrq_trigger", &c->sysrq_trigger,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "timeout", 1, 3600, &c->action_timeout_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "sysrq_fallback", &sysrq, err)) !=
		VMH_OK)
		goto done;
	if (c->stop_vms_cmd != NULL &&
	    (config_setting_get_member(g, "list_vms") != NULL ||
	     config_setting_get_member(g, "stop_vm") != NULL)) {
		rc = vmh_conf_error(config_setting_get_member(g, "stop_vms"),
				    err,
				    "stop_vms replaces list_vms and stop_vm: "
				    "give one or the other");
		goto done;
	}
	for (i = 0; c->stop_vm_cmd != NULL && c->stop_vm_cmd[i] != NULL; i++)
		if (strstr(c->stop_vm_cmd[i], VMH_NF_VM_PLACEHOLDER) != NULL)
			has_placeholder = 1;
	if (c->stop_vm_cmd != NULL && !has_placeholder) {
		rc =
		    vmh_conf_error(config_setting_get_member(g, "stop_vm"), err,
				   "stop_vm: no argument holds %s (the VM's "
				   "name)",
				   VMH_NF_VM_PLACEHOLDER);
		goto done;
	}
	if (sysrq != NULL) {
		if (sysrq[0] != '\0' &&
		    (sysrq[1] != '\0' || strchr("bco", sysrq[0]) == NULL)) {
			rc = vmh_conf_error(
			    config_setting_get_member(g, "sysrq_fallback"), err,
			    "sysrq_fallback: \"o\" (power off), \"b\" "
			    "(reboot), \"c\" (crash dump) or \"\" (none)");
			goto done;
		}
		c->sysrq_fallback = sysrq[0];
	}
	if (c->sysrq_trigger != NULL && c->sysrq_trigger[0] != '/') {
		rc = vmh_conf_error(
		    config_setting_get_member(g, "sysrq_trigger"), err,
		    "sysrq_trigger: must be an absolute path");
		goto done;
	}
done:
	free(sysrq);
	return rc;
}

static enum vmh_rc
parse_networks(const vmh_setting *list, struct vmh_netfence_conf *c,
	       struct vmh_error *err)
{
	enum vmh_rc rc;
	int i, n;

	if (list == NULL)
		return VMH_E_CONFIG; /* reported by the caller */
	if (!config_setting_is_list(list))
		return vmh_conf_error(list, err,
				      "networks must be a list ( { name = "
				      "...; targets = (...); }, ... )");
	n = config_setting_length(list);
	if (n < 1 || n > VMH_NF_MAX_NETWORKS)
		return vmh_conf_error(list, err,
				      "networks: between 1 and %d networks",
				      VMH_NF_MAX_NETWORKS);
	if ((c->networks = calloc((size_t)n, sizeof(*c->networks))) == NULL)
		return nomem(err);
	for (i = 0; i < n; i++) {
		const vmh_setting *s =
		    config_setting_get_elem(list, (unsigned)i);

		c->n_networks++;
		if (!config_setting_is_group(s))
			return vmh_conf_error(s, err,
					      "networks: each network is a "
					      "group { ... }");
		if ((rc = parse_network(s, c, &c->networks[i], err)) != VMH_OK)
			return rc;
		if (network_index(c, c->networks[i].name) != i)
			return vmh_conf_error(s, err,
					      "network \"%s\" is defined twice",
					      c->networks[i].name);
	}
	return VMH_OK;
}

/* Built-in commands, used where the actions group says nothing. */
static enum vmh_rc
set_default_commands(struct vmh_netfence_conf *c, struct vmh_error *err)
{
	static const char *const list_vms[] = {
		"virsh",           "-c", "qemu:///system", "list", "--name",
		"--state-running", NULL
	};
	static const char *const stop_vm[] = { "virsh",
					       "-c",
					       "qemu:///system",
					       "destroy",
					       VMH_NF_VM_PLACEHOLDER,
					       NULL };
	static const char *const fence_self[] = { "poweroff", "--force", NULL };

	if (c->stop_vms_cmd == NULL && c->list_vms_cmd == NULL &&
	    (c->list_vms_cmd = strv_dup(list_vms)) == NULL)
		return nomem(err);
	if (c->stop_vms_cmd == NULL && c->stop_vm_cmd == NULL &&
	    (c->stop_vm_cmd = strv_dup(stop_vm)) == NULL)
		return nomem(err);
	if (c->fence_self_cmd == NULL &&
	    (c->fence_self_cmd = strv_dup(fence_self)) == NULL)
		return nomem(err);
	if (c->sysrq_trigger == NULL &&
	    (c->sysrq_trigger = strdup("/proc/sysrq-trigger")) == NULL)
		return nomem(err);
	return VMH_OK;
}

/* Without a matrix: losing a network named "storage" (alone or with
 * others) fences; any other loss is default_action (alert). */
static enum vmh_rc
set_default_matrix(struct vmh_netfence_conf *c, struct vmh_error *err)
{
	int storage = network_index(c, "storage");

	c->rules_builtin = 1;
	if (storage < 0)
		return VMH_OK;
	if ((c->rules = calloc(1, sizeof(*c->rules))) == NULL)
		return nomem(err);
	c->rules[0].down_mask = 1u << storage;
	c->rules[0].action = VMH_NF_FENCE_SELF;
	c->n_rules = 1;
	return VMH_OK;
}

enum vmh_rc
vmh_netfence_conf_parse(const vmh_setting *g, struct vmh_netfence_conf **out,
			struct vmh_error *err)
{
	static const char *const keys[] = { "interval",
					    "round_timeout",
					    "icmp_count",
					    "icmp_socket",
					    "fail_rounds",
					    "recover_rounds",
					    "default_action",
					    "networks",
					    "matrix",
					    "actions",
					    "watchdog_device",
					    "watchdog_timeout",
					    NULL };
	struct vmh_netfence_conf *c;
	const vmh_setting *s;
	int mode = VMH_ICMP_AUTO, def = VMH_NF_ALERT;
	enum vmh_rc rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return nomem(err);
	c->interval_s = VMH_NF_DEFAULT_INTERVAL;
	c->round_timeout_ms = VMH_NF_DEFAULT_ROUND_TIMEOUT;
	c->icmp_count = VMH_NF_DEFAULT_ICMP_COUNT;
	c->fail_rounds = VMH_NF_DEFAULT_FAIL_ROUNDS;
	c->recover_rounds = VMH_NF_DEFAULT_RECOVER_ROUNDS;
	c->action_timeout_s = VMH_NF_DEFAULT_ACTION_TIMEOUT;
	/* Every scalar first: networks inherit fail_rounds and
	 * recover_rounds, rules need the networks. */
	if ((rc = vmh_conf_check_keys(g, keys, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "interval", 1, 86400, &c->interval_s,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "round_timeout", 50, 60000,
				   &c->round_timeout_ms, err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "icmp_count", 1, VMH_NETCHECK_MAX_ICMP,
				   &c->icmp_count, err)) != VMH_OK ||
	    (rc = vmh_conf_get_enum(g, "icmp_socket", icmp_modes, &mode,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "fail_rounds", 2, 1000, &c->fail_rounds,
				   err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "recover_rounds", 1, 1000,
				   &c->recover_rounds, err)) != VMH_OK ||
	    (rc = vmh_conf_get_enum(g, "default_action", action_names, &def,
				    err)) != VMH_OK ||
	    (rc = vmh_conf_get_string(g, "watchdog_device", &c->watchdog_device,
				      err)) != VMH_OK ||
	    (rc = vmh_conf_get_int(g, "watchdog_timeout", 0, 3600,
				   &c->watchdog_timeout_s, err)) != VMH_OK)
		goto done;
	c->icmp_mode = (enum vmh_icmp_mode)mode;
	c->default_action = (enum vmh_nf_action)def;
	if (c->watchdog_device != NULL && c->watchdog_device[0] == '\0') {
		free(c->watchdog_device);
		c->watchdog_device = NULL;
	}
	s = config_setting_get_member(g, "networks");
	if (s == NULL) {
		rc = vmh_conf_error(g, err,
				    "net_fence: networks are missing (at "
				    "least one network with targets)");
		goto done;
	}
	if ((rc = parse_networks(s, c, err)) != VMH_OK)
		goto done;
	s = config_setting_get_member(g, "matrix");
	rc = s != NULL ? parse_matrix(s, c, err) : set_default_matrix(c, err);
	if (rc != VMH_OK)
		goto done;
	s = config_setting_get_member(g, "actions");
	if (s != NULL && (rc = parse_actions(s, c, err)) != VMH_OK)
		goto done;
	if ((rc = set_default_commands(c, err)) != VMH_OK)
		goto done;
	*out = c;
	c = NULL;
done:
	vmh_netfence_conf_free(c);
	return rc;
}

/* ---- matrix and state machine ----------------------------------------- */

enum vmh_nf_action
vmh_nf_lookup(const struct vmh_netfence_conf *c, unsigned down_mask, int *rule)
{
	size_t i;

	if (down_mask == 0) {
		*rule = -1;
		return VMH_NF_NONE;
	}
	for (i = 0; i < c->n_rules; i++) {
		const struct vmh_nf_rule *r = &c->rules[i];

		if ((down_mask & r->down_mask) == r->down_mask &&
		    (down_mask & r->up_mask) == 0) {
			*rule = (int)i + 1;
			return r->action;
		}
	}
	*rule = 0;
	return c->default_action;
}

void
vmh_nf_state_init(const struct vmh_netfence_conf *c, struct vmh_nf_state *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->n = c->n_networks;
	for (i = 0; i < c->n_networks; i++)
		vmh_strlcpy(st->net[i].name, c->networks[i].name,
			    sizeof(st->net[i].name));
}

void
vmh_nf_step(const struct vmh_netfence_conf *c, struct vmh_nf_state *st,
	    const int *observed, long long now)
{
	size_t i;

	for (i = 0; i < c->n_networks && i < st->n; i++) {
		const struct vmh_nf_network *n = &c->networks[i];
		struct vmh_nf_netstate *ns = &st->net[i];

		if (observed[i]) {
			if (ns->fail_streak < 1000000)
				ns->fail_streak++;
			ns->ok_streak = 0;
			if (!ns->down && ns->fail_streak >= n->fail_rounds) {
				ns->down = 1;
				ns->since = now;
			}
		} else {
			if (ns->ok_streak < 1000000)
				ns->ok_streak++;
			ns->fail_streak = 0;
			if (ns->down && ns->ok_streak >= n->recover_rounds) {
				ns->down = 0;
				ns->since = now;
			}
		}
	}
	st->rounds++;
	st->updated = now;
}

unsigned
vmh_nf_down_mask(const struct vmh_nf_state *st)
{
	unsigned mask = 0;
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->net[i].down)
			mask |= 1u << i;
	return mask;
}

enum vmh_nf_action
vmh_nf_due(struct vmh_nf_state *st, enum vmh_nf_action verdict)
{
	if (verdict == VMH_NF_NONE) {
		/* The incident is over: the next one starts from scratch. */
		st->acted = VMH_NF_NONE;
		st->act_status = VMH_NF_ACT_NONE;
		return VMH_NF_NONE;
	}
	if (verdict < st->acted) {
		/* Fewer networks down than before: the lesser action is
		 * new for this situation, and a later escalation must run
		 * the greater one again. */
		st->acted = VMH_NF_NONE;
		st->act_status = VMH_NF_ACT_NONE;
	}
	if (verdict == VMH_NF_STOP_VMS)
		return verdict;
	if (st->acted < verdict || st->act_status != VMH_NF_ACT_DONE)
		return verdict;
	return VMH_NF_NONE;
}

/* ---- state file ------------------------------------------------------- */

char *
vmh_netfence_state_path(const char *state_dir, int dry_run)
{
	char *p = NULL;

	if (asprintf(&p, "%s/net_fence%s.state", state_dir,
		     dry_run ? ".dry-run" : "") < 0)
		return NULL;
	return p;
}

/* Split line at spaces into at most max tokens; returns the count, or -1
 * when there are more. */
static int
split(char *line, char **tok, int max)
{
	int n = 0;

	while (*line != '\0') {
		while (*line == ' ')
			*line++ = '\0';
		if (*line == '\0')
			break;
		if (n == max)
			return -1;
		tok[n++] = line;
		while (*line != '\0' && *line != ' ')
			line++;
	}
	return n;
}

static int
lookup_word(const char *const *words, const char *w)
{
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], w) == 0)
			return i;
	return -1;
}

/* Parse one line into st; 0 on success. */
static int
state_line(char *line, const struct vmh_netfence_conf *c,
	   struct vmh_nf_state *st, int *seen_end)
{
	char *tok[STATE_TOKENS];
	long long v[4];
	int n = split(line, tok, STATE_TOKENS), i, k, idx;

	if (n <= 0 || *seen_end)
		return -1;
	if (strcmp(tok[0], "end") == 0 && n == 1) {
		*seen_end = 1;
		return 0;
	}
	if ((strcmp(tok[0], "rounds") == 0 || strcmp(tok[0], "updated") == 0) &&
	    n == 2) {
		if (vmh_strtonum(tok[1], 0, 1LL << 62, &v[0], "n", NULL) !=
		    VMH_OK)
			return -1;
		*(tok[0][0] == 'r' ? &st->rounds : &st->updated) = v[0];
		return 0;
	}
	if (strcmp(tok[0], "acted") == 0 && n == 4) {
		if ((i = lookup_word(action_names, tok[1])) < 0 ||
		    (k = lookup_word(status_names, tok[2])) < 0 ||
		    vmh_strtonum(tok[3], 0, 1LL << 62, &v[0], "t", NULL) !=
			VMH_OK)
			return -1;
		st->acted = (enum vmh_nf_action)i;
		st->act_status = (enum vmh_nf_act_status)k;
		st->acted_at = v[0];
		return 0;
	}
	if (strcmp(tok[0], "net") == 0 && n == 6) {
		if (!valid_name(tok[1]))
			return -1;
		if (vmh_strtonum(tok[2], 0, 1, &v[0], "d", NULL) != VMH_OK ||
		    vmh_strtonum(tok[3], 0, 1000000, &v[1], "f", NULL) !=
			VMH_OK ||
		    vmh_strtonum(tok[4], 0, 1000000, &v[2], "o", NULL) !=
			VMH_OK ||
		    vmh_strtonum(tok[5], 0, 1LL << 62, &v[3], "s", NULL) !=
			VMH_OK)
			return -1;
		/* A network no longer configured is forgotten. */
		if ((idx = network_index(c, tok[1])) < 0)
			return 0;
		st->net[idx].down = (int)v[0];
		st->net[idx].fail_streak = (int)v[1];
		st->net[idx].ok_streak = (int)v[2];
		st->net[idx].since = v[3];
		return 0;
	}
	return -1;
}

enum vmh_rc
vmh_nf_state_load(const char *path, const struct vmh_netfence_conf *c,
		  struct vmh_nf_state *st, struct vmh_error *err)
{
	char *text = NULL, *line, *nl;
	struct stat sb;
	ssize_t got;
	size_t len = 0;
	int fd = -1, lineno = 0, seen_end = 0;
	enum vmh_rc rc = VMH_OK;
	char head[64];

	vmh_nf_state_init(c, st);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return VMH_OK;
		return vmh_error_errno(err, errno, path, "cannot read state");
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > STATE_MAX_BYTES) {
		rc = vmh_error_set(err, VMH_E_DATA, path, 0,
				   "not a regular file of at most %d bytes",
				   STATE_MAX_BYTES);
		goto done;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = nomem(err);
		goto done;
	}
	while (len < (size_t)sb.st_size) {
		got = read(fd, text + len, (size_t)sb.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		rc = vmh_error_set(err, VMH_E_DATA, path, 0,
				   "binary data in state file");
		goto done;
	}
	snprintf(head, sizeof(head), "%s %d", STATE_MAGIC, STATE_VERSION);
	for (line = text; *line != '\0'; line = nl + 1) {
		lineno++;
		if ((nl = strchr(line, '\n')) == NULL) {
			rc = vmh_error_set(err, VMH_E_DATA, path, lineno,
					   "truncated line");
			goto done;
		}
		*nl = '\0';
		if (lineno == 1) {
			if (strcmp(line, head) != 0) {
				rc = vmh_error_set(err, VMH_E_DATA, path, 1,
						   "not a version %d state "
						   "file",
						   STATE_VERSION);
				goto done;
			}
			continue;
		}
		if (line[0] == '#')
			continue;
		if (state_line(line, c, st, &seen_end) != 0) {
			rc = vmh_error_set(err, VMH_E_DATA, path, lineno,
					   "malformed line");
			goto done;
		}
	}
	if (!seen_end)
		rc = vmh_error_set(err, VMH_E_DATA, path, lineno,
				   "incomplete state file (no end line)");
done:
	if (rc != VMH_OK)
		vmh_nf_state_init(c, st);
	free(text);
	if (fd >= 0)
		close(fd);
	return rc;
}

static enum vmh_rc
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VMH_E_SYSTEM;
		p += w;
		n -= (size_t)w;
	}
	return VMH_OK;
}

enum vmh_rc
vmh_nf_state_save(const char *path, const struct vmh_nf_state *st,
		  struct vmh_error *err)
{
	struct vmh_buf b, tmp, dir;
	enum vmh_rc rc = VMH_OK;
	int fd = -1, dfd = -1;
	const char *slash;
	size_t i;

	vmh_buf_init(&b, STATE_MAX_BYTES);
	vmh_buf_init(&tmp, 4096);
	vmh_buf_init(&dir, 4096);
	if (vmh_buf_printf(&b,
			   "%s %d\n# written by net_fence; edit only while "
			   "it is stopped\nrounds %lld\nupdated %lld\n"
			   "acted %s %s %lld\n",
			   STATE_MAGIC, STATE_VERSION, st->rounds, st->updated,
			   vmh_nf_action_name(st->acted),
			   status_names[st->act_status],
			   st->acted_at) != VMH_OK) {
		rc = nomem(err);
		goto done;
	}
	for (i = 0; i < st->n; i++)
		if (vmh_buf_printf(&b, "net %s %d %d %d %lld\n",
				   st->net[i].name, st->net[i].down,
				   st->net[i].fail_streak, st->net[i].ok_streak,
				   st->net[i].since) != VMH_OK) {
			rc = nomem(err);
			goto done;
		}
	/* The directory to fsync after the rename. */
	slash = strrchr(path, '/');
	if (slash == NULL)
		rc = vmh_buf_puts(&dir, ".");
	else
		rc = vmh_buf_append(&dir, path,
				    slash == path ? 1 : (size_t)(slash - path));
	if (rc != VMH_OK || vmh_buf_puts(&b, "end\n") != VMH_OK ||
	    vmh_buf_printf(&tmp, "%s.tmp", path) != VMH_OK) {
		rc = nomem(err);
		goto done;
	}
	fd = open(vmh_buf_str(&tmp),
		  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = vmh_error_errno(err, errno, vmh_buf_str(&tmp),
				     "cannot write state");
		goto done;
	}
	if (write_all(fd, b.data, b.len) != VMH_OK || fsync(fd) < 0) {
		rc = vmh_error_errno(err, errno, vmh_buf_str(&tmp),
				     "cannot write state");
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = vmh_error_errno(err, errno, vmh_buf_str(&tmp),
				     "cannot write state");
		goto done;
	}
	fd = -1;
	if (rename(vmh_buf_str(&tmp), path) < 0) {
		rc = vmh_error_errno(err, errno, path, "cannot replace state");
		goto done;
	}
	/* The rename itself must survive a crash too. */
	if ((dfd = open(vmh_buf_str(&dir),
			O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(dfd);
done:
	if (fd >= 0) {
		close(fd);
		unlink(vmh_buf_str(&tmp));
	}
	if (dfd >= 0)
		close(dfd);
	vmh_buf_free(&b);
	vmh_buf_free(&tmp);
	vmh_buf_free(&dir);
	return rc;
}

/* ---- actions ---------------------------------------------------------- */

/* snprintf for texts that may be cut short on purpose (details, logs). */
static void __attribute__((format(printf, 3, 4)))
set_detail(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* "prog arg arg" for logs, bounded. */
static const char *
cmdline(char *const *argv, char *dst, size_t len)
{
	size_t o = 0, i;

	dst[0] = '\0';
	for (i = 0; argv[i] != NULL && o + 1 < len; i++)
		o += (size_t)snprintf(dst + o, len - o, "%s%s", i ? " " : "",
				      argv[i]);
	return dst;
}

/* Environment the action commands see, beside PATH and LANG. */
struct action_env {
	char action[64];
	char down[32 + VMH_NF_MAX_NETWORKS * (VMH_NF_NAME_MAX + 1)];
	char vm[32 + VM_NAME_MAX];
	const char *envp[4];
};

static void
action_env_init(struct action_env *e, const struct vmh_netfence_conf *c,
		enum vmh_nf_action a, unsigned mask)
{
	size_t i, o;

	snprintf(e->action, sizeof(e->action), "VMHEAL_NET_FENCE_ACTION=%s",
		 vmh_nf_action_name(a));
	o = (size_t)snprintf(e->down, sizeof(e->down),
			     "VMHEAL_NET_FENCE_DOWN=");
	for (i = 0; i < c->n_networks; i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(e->down + o, sizeof(e->down) - o,
					      "%s%s",
					      e->down[o - 1] == '=' ? "" : ",",
					      c->networks[i].name);
	e->vm[0] = '\0';
	e->envp[0] = e->action;
	e->envp[1] = e->down;
	e->envp[2] = NULL;
	e->envp[3] = NULL;
}

/* Length of s without trailing white space and at most 300 bytes. */
static size_t
trimmed_len(const char *s)
{
	size_t n = strnlen(s, 300);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return n;
}

/*
 * Run one command of an action: logged before it starts, its outcome
 * logged after. Returns 1 when it exited 0. out (may be NULL) receives its
 * standard output.
 */
static int
run_command(const struct vmh_netfence_conf *c, const char *what,
	    char *const *argv, const char *const *envp, struct vmh_buf *out,
	    char *detail, size_t dlen)
{
	struct vmh_exec_opts o;
	struct vmh_exec_result res;
	struct vmh_error err;
	char line[CMDLINE_MAX], how[128];
	int ok;

	vmh_error_init(&err);
	memset(&o, 0, sizeof(o));
	o.argv = (const char *const *)argv;
	o.env = envp;
	o.timeout_ms = c->action_timeout_s * 1000;
	o.out_max = out != NULL ? LIST_OUT_MAX : 0;
	vmh_log(VMH_LOG_NOTICE, "%s: running %s", what,
		cmdline(argv, line, sizeof(line)));
	(void)vmh_exec_run(&o, &res, &err);
	vmh_exec_describe(&res, how, sizeof(how));
	ok = err.code == VMH_OK && res.exited && res.exit_code == 0;
	if (ok)
		vmh_log(VMH_LOG_NOTICE, "%s: %s: %s", what, argv[0], how);
	else
		vmh_log(VMH_LOG_ERR, "%s: %s failed: %s%s%.*s", what, argv[0],
			err.code != VMH_OK ? err.text : how,
			res.err.len ? "; stderr: " : "",
			(int)trimmed_len(vmh_buf_str(&res.err)),
			vmh_buf_str(&res.err));
	set_detail(detail, dlen, "%s", err.code != VMH_OK ? err.text : how);
	if (out != NULL && res.out.data != NULL)
		vmh_buf_append(out, res.out.data, res.out.len);
	vmh_exec_result_free(&res);
	return ok;
}

/* argv with every VMH_NF_VM_PLACEHOLDER replaced by vm (caller frees). */
static char **
substitute_vm(char *const *argv, const char *vm)
{
	struct vmh_buf b;
	size_t n = 0, i;
	char **out, *at;
	const char *p;

	while (argv[n] != NULL)
		n++;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		vmh_buf_init(&b, 4096);
		for (p = argv[i];
		     (at = strstr(p, VMH_NF_VM_PLACEHOLDER)) != NULL;
		     p = at + strlen(VMH_NF_VM_PLACEHOLDER))
			if (vmh_buf_append(&b, p, (size_t)(at - p)) != VMH_OK ||
			    vmh_buf_puts(&b, vm) != VMH_OK)
				goto fail;
		if (vmh_buf_puts(&b, p) != VMH_OK ||
		    (out[i] = vmh_buf_steal(&b)) == NULL)
			goto fail;
	}
	return out;
fail:
	vmh_buf_free(&b);
	vmh_strv_free(out);
	return NULL;
}

/* A VM name from list_vms is used as one argument: refuse anything that
 * could be read as an option or carries control characters. */
static int
valid_vm_name(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-' || strlen(s) > VM_NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
stop_vms(const struct vmh_netfence_conf *c, struct action_env *e, char *detail,
	 size_t dlen)
{
	struct vmh_buf list;
	char *line, *nl, **argv;
	char sub[128];
	int stopped = 0, failed = 0, bad = 0, ok;

	if (c->stop_vms_cmd != NULL)
		return run_command(c, "stop-vms", c->stop_vms_cmd, e->envp,
				   NULL, detail, dlen);
	vmh_buf_init(&list, LIST_OUT_MAX);
	if (!run_command(c, "stop-vms: list", c->list_vms_cmd, e->envp, &list,
			 detail, dlen)) {
		vmh_buf_free(&list);
		return 0;
	}
	for (line = list.data; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		vmh_rstrip(line);
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0')
			continue;
		if (!valid_vm_name(line) ||
		    stopped + failed >= VMH_NF_MAX_VMS) {
			vmh_log(VMH_LOG_ERR,
				"stop-vms: ignoring VM name '%.64s' from "
				"list_vms",
				line);
			bad++;
			continue;
		}
		if ((argv = substitute_vm(c->stop_vm_cmd, line)) == NULL) {
			failed++;
			continue;
		}
		snprintf(e->vm, sizeof(e->vm), "VMHEAL_VM=%s", line);
		e->envp[2] = e->vm;
		ok = run_command(c, "stop-vms", argv, e->envp, NULL, sub,
				 sizeof(sub));
		e->envp[2] = NULL;
		vmh_strv_free(argv);
		if (ok)
			stopped++;
		else
			failed++;
	}
	vmh_buf_free(&list);
	set_detail(detail, dlen, "%d VMs stopped, %d failed%s", stopped, failed,
		   bad ? ", bad names ignored" : "");
	return failed == 0 && bad == 0;
}

/* The last resort when the fence command failed: the kernel's magic SysRq,
 * which needs no process, no disk and no network. */
static int
sysrq(const struct vmh_netfence_conf *c, char *detail, size_t dlen)
{
	int fd, ok;

	vmh_log(VMH_LOG_ERR, "fence-self: writing '%c' to %s",
		c->sysrq_fallback, c->sysrq_trigger);
	fd = open(c->sysrq_trigger, O_WRONLY | O_APPEND | O_CLOEXEC);
	ok = fd >= 0 && write(fd, &c->sysrq_fallback, 1) == 1;
	if (!ok)
		vmh_log(VMH_LOG_ERR, "fence-self: %s: %s", c->sysrq_trigger,
			strerror(errno));
	if (fd >= 0)
		close(fd);
	set_detail(detail, dlen, "%s; sysrq '%c' %s",
		   ok ? "command failed" : "", c->sysrq_fallback,
		   ok ? "written" : "failed");
	return ok;
}

static int
run_action(const struct vmh_netfence_conf *c, enum vmh_nf_action a,
	   unsigned mask, char *detail, size_t dlen)
{
	struct action_env e;

	action_env_init(&e, c, a, mask);
	switch (a) {
	case VMH_NF_ALERT:
		if (c->alert_cmd == NULL) {
			set_detail(detail, dlen, "logged");
			return 1;
		}
		return run_command(c, "alert", c->alert_cmd, e.envp, NULL,
				   detail, dlen);
	case VMH_NF_STOP_VMS:
		return stop_vms(c, &e, detail, dlen);
	case VMH_NF_FENCE_SELF:
		if (run_command(c, "fence-self", c->fence_self_cmd, e.envp,
				NULL, detail, dlen))
			return 1;
		if (c->sysrq_fallback)
			return sysrq(c, detail, dlen);
		return 0;
	default:
		return 1;
	}
}

/* What would run, for --dry-run. */
static void
describe_action(const struct vmh_netfence_conf *c, enum vmh_nf_action a,
		char *detail, size_t dlen)
{
	char line[CMDLINE_MAX], line2[CMDLINE_MAX];

	switch (a) {
	case VMH_NF_ALERT:
		set_detail(detail, dlen, "would run: %s",
			   c->alert_cmd
			       ? cmdline(c->alert_cmd, line, sizeof(line))
			       : "(log only)");
		break;
	case VMH_NF_STOP_VMS:
		if (c->stop_vms_cmd != NULL)
			set_detail(
			    detail, dlen, "would run: %s",
			    cmdline(c->stop_vms_cmd, line, sizeof(line)));
		else
			set_detail(
			    detail, dlen,
			    "would run: %.200s, then for each VM: %.200s",
			    cmdline(c->list_vms_cmd, line, sizeof(line)),
			    cmdline(c->stop_vm_cmd, line2, sizeof(line2)));
		break;
	case VMH_NF_FENCE_SELF:
		set_detail(detail, dlen, "would run: %s",
			   cmdline(c->fence_self_cmd, line, sizeof(line)));
		break;
	default:
		detail[0] = '\0';
	}
}

/* ---- one round -------------------------------------------------------- */

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long
cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

void
vmh_nf_report_free(struct vmh_nf_report *r)
{
	if (r == NULL)
		return;
	free(r->targets);
	r->targets = NULL;
}

/* The probe targets of every network, in configuration order. */
static struct vmh_netcheck_target *
build_targets(const struct vmh_netfence_conf *c, size_t *count)
{
	struct vmh_netcheck_target *t;
	size_t i, k, n = 0;

	for (i = 0; i < c->n_networks; i++)
		n += c->networks[i].n_targets;
	if ((t = calloc(n, sizeof(*t))) == NULL)
		return NULL;
	n = 0;
	for (i = 0; i < c->n_networks; i++) {
		const struct vmh_nf_network *net = &c->networks[i];

		for (k = 0; k < net->n_targets; k++, n++) {
			const struct vmh_nf_target *src = &net->targets[k];

			memcpy(&t[n].addr, &src->addr, sizeof(src->addr));
			t[n].addrlen = src->addrlen;
			t[n].icmp = src->probe != VMH_NF_PROBE_TCP;
			t[n].tcp_port =
			    src->probe != VMH_NF_PROBE_ICMP ? src->port : 0;
			t[n].ifname = net->interface;
		}
	}
	*count = n;
	return t;
}

static int
target_up(const struct vmh_nf_target *cfg, const struct vmh_netcheck_target *t)
{
	int icmp = vmh_probe_is_up(&t->icmp_res);
	int tcp = vmh_probe_is_up(&t->tcp_res);

	switch (cfg->probe) {
	case VMH_NF_PROBE_ICMP:
		return icmp;
	case VMH_NF_PROBE_TCP:
		return tcp;
	case VMH_NF_PROBE_BOTH:
		return icmp && tcp;
	case VMH_NF_PROBE_EITHER:
		return icmp || tcp;
	}
	return 0;
}

static void
save_state(struct vmh_netfence *nf)
{
	struct vmh_error err;

	vmh_error_init(&err);
	/* Never let a full or read-only disk stop the action: the root
	 * file system may sit on the very storage that was lost. */
	if (vmh_nf_state_save(nf->state_path, &nf->st, &err) != VMH_OK)
		vmh_log(VMH_LOG_ERR, "%s: %s", err.source, err.text);
}

static void
log_changes(const struct vmh_netfence_conf *c, const struct vmh_nf_report *r)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++) {
		const struct vmh_nf_netreport *n = &r->net[i];

		if (n->st.down && !n->was_down)
			vmh_log(VMH_LOG_WARNING,
				"network %s is down: %d of %zu targets "
				"answered (%d needed) for %d rounds",
				c->networks[i].name, n->targets_up,
				c->networks[i].n_targets, c->networks[i].min_up,
				n->st.fail_streak);
		else if (!n->st.down && n->was_down)
			vmh_log(VMH_LOG_NOTICE,
				"network %s is up again after %d good rounds",
				c->networks[i].name, n->st.ok_streak);
		else if (n->observed_down)
			vmh_log(VMH_LOG_INFO,
				"network %s failed this round (%d of %zu "
				"targets answered)",
				c->networks[i].name, n->targets_up,
				c->networks[i].n_targets);
	}
}

enum vmh_rc
vmh_netfence_round(struct vmh_netfence *nf, struct vmh_nf_report *rep,
		   struct vmh_error *err)
{
	const struct vmh_netfence_conf *c = nf->conf;
	struct vmh_netcheck_opts o;
	int observed[VMH_NF_MAX_NETWORKS] = { 0 };
	long long t0 = now_us(), c0 = cpu_us();
	size_t count, i, k, base = 0;
	enum vmh_nf_action due;
	enum vmh_rc rc;

	memset(rep, 0, sizeof(*rep));
	rep->conf = c;
	rep->dry_run = nf->dry_run;
	rep->time = vmh_wall_s();
	if ((rep->targets = build_targets(c, &count)) == NULL)
		return nomem(err);
	o.timeout_ms = c->round_timeout_ms;
	o.icmp_count = c->icmp_count;
	o.icmp_mode = c->icmp_mode;
	if ((rc = vmh_netcheck_run(rep->targets, count, &o, err)) != VMH_OK) {
		vmh_nf_report_free(rep);
		return rc;
	}
	rep->probe_us = now_us() - t0;
	for (i = 0; i < c->n_networks; i++) {
		const struct vmh_nf_network *net = &c->networks[i];

		for (k = 0; k < net->n_targets; k++)
			rep->net[i].targets_up += target_up(
			    &net->targets[k], &rep->targets[base + k]);
		base += net->n_targets;
		observed[i] = rep->net[i].targets_up < net->min_up;
		rep->net[i].observed_down = observed[i];
		rep->net[i].was_down = nf->st.net[i].down;
	}
	vmh_nf_step(c, &nf->st, observed, rep->time);
	rep->round = nf->st.rounds;
	for (i = 0; i < c->n_networks; i++)
		rep->net[i].st = nf->st.net[i];
	log_changes(c, rep);
	rep->down_mask = vmh_nf_down_mask(&nf->st);
	rep->verdict = vmh_nf_lookup(c, rep->down_mask, &rep->rule);
	due = vmh_nf_due(&nf->st, rep->verdict);
	rep->action = due;
	if (due == VMH_NF_NONE) {
		rep->action_earlier = rep->verdict != VMH_NF_NONE;
		save_state(nf);
	} else if (nf->dry_run) {
		describe_action(c, due, rep->action_detail,
				sizeof(rep->action_detail));
		rep->action_ok = 1;
		nf->st.acted = due;
		nf->st.act_status = VMH_NF_ACT_DONE;
		nf->st.acted_at = rep->time;
		save_state(nf);
	} else {
		/* Recorded before it runs: if we die inside the action, the
		 * next run sees "started" and runs it again. */
		nf->st.acted = due;
		nf->st.act_status = VMH_NF_ACT_STARTED;
		nf->st.acted_at = rep->time;
		save_state(nf);
		rep->action_ok =
		    run_action(c, due, rep->down_mask, rep->action_detail,
			       sizeof(rep->action_detail));
		nf->st.act_status =
		    rep->action_ok ? VMH_NF_ACT_DONE : VMH_NF_ACT_FAILED;
		nf->st.acted_at = vmh_wall_s();
		save_state(nf);
	}
	rep->wall_us = now_us() - t0;
	rep->cpu_us = cpu_us() - c0;
	return VMH_OK;
}

/* ---- reports ---------------------------------------------------------- */

static const char *
net_state_word(const struct vmh_nf_netreport *n)
{
	if (n->st.down)
		return n->observed_down ? "down" : "recovering";
	return n->observed_down ? "failing" : "up";
}

static json_t *
probe_json(const struct vmh_probe_result *r, int icmp)
{
	json_t *o;

	if (r->status == VMH_PROBE_SKIPPED)
		return json_null();
	o = json_pack("{s:s}", "status", vmh_probe_status_name(r->status));
	if (o == NULL)
		return NULL;
	if (r->rtt_ms >= 0)
		json_object_set_new(o, "rtt_ms", json_integer(r->rtt_ms));
	if (r->errnum != 0)
		json_object_set_new(o, "error",
				    json_string(strerror(r->errnum)));
	if (icmp)
		json_object_set_new(o, "socket",
				    json_string(r->raw ? "raw" : "ping"));
	return o;
}

static json_t *
network_json(const struct vmh_nf_report *r, size_t i, size_t base)
{
	const struct vmh_nf_network *net = &r->conf->networks[i];
	const struct vmh_nf_netreport *n = &r->net[i];
	json_t *o, *targets;
	size_t k;

	targets = json_array();
	for (k = 0; targets != NULL && k < net->n_targets; k++) {
		const struct vmh_nf_target *cfg = &net->targets[k];
		const struct vmh_netcheck_target *t = &r->targets[base + k];
		json_t *to = json_pack(
		    "{s:s,s:s,s:b,s:o,s:o}", "address", cfg->address, "probe",
		    probe_names[cfg->probe], "up", target_up(cfg, t), "icmp",
		    probe_json(&t->icmp_res, 1), "tcp",
		    probe_json(&t->tcp_res, 0));

		if (to != NULL && cfg->port)
			json_object_set_new(to, "port",
					    json_integer(cfg->port));
		json_array_append_new(targets, to);
	}
	o = json_pack("{s:s,s:s,s:s,s:b,s:i,s:i,s:i,s:i,s:i,s:I,s:o}", "name",
		      net->name, "observed", n->observed_down ? "down" : "up",
		      "state", net_state_word(n), "down", n->st.down,
		      "targets_up", n->targets_up, "min_up", net->min_up,
		      "fail_streak", n->st.fail_streak, "ok_streak",
		      n->st.ok_streak, "fail_rounds", net->fail_rounds, "since",
		      (json_int_t)n->st.since, "targets", targets);
	return o;
}

json_t *
vmh_nf_report_json(const struct vmh_nf_report *r)
{
	json_t *o, *nets, *down, *action = json_null();
	size_t i, base = 0;

	nets = json_array();
	down = json_array();
	for (i = 0; i < r->conf->n_networks; i++) {
		json_array_append_new(nets, network_json(r, i, base));
		base += r->conf->networks[i].n_targets;
		if (r->down_mask & (1u << i))
			json_array_append_new(
			    down, json_string(r->conf->networks[i].name));
	}
	if (r->action != VMH_NF_NONE)
		action =
		    json_pack("{s:s,s:b,s:b,s:s}", "name",
			      vmh_nf_action_name(r->action), "ran", !r->dry_run,
			      "ok", r->action_ok, "result", r->action_detail);
	o = json_pack("{s:s,s:s,s:I,s:I,s:b,s:I,s:I,s:I,s:o,s:o,s:s,s:o,s:o,"
		      "s:b,s:i}",
		      "program", "net_fence", "version", PACKAGE_VERSION,
		      "time", (json_int_t)r->time, "round",
		      (json_int_t)r->round, "dry_run", r->dry_run, "wall_us",
		      (json_int_t)r->wall_us, "probe_us",
		      (json_int_t)r->probe_us, "cpu_us", (json_int_t)r->cpu_us,
		      "networks", nets, "down", down, "verdict",
		      vmh_nf_action_name(r->verdict), "rule",
		      r->rule >= 0 ? json_integer(r->rule) : json_null(),
		      "action", action, "action_done_earlier",
		      r->action_earlier, "exit", vmh_nf_report_exit(r));
	return o;
}

void
vmh_nf_report_print(FILE *f, const struct vmh_nf_report *r)
{
	const struct vmh_netfence_conf *c = r->conf;
	size_t i;

	fprintf(f, "round %lld%s\n", r->round, r->dry_run ? " (dry run)" : "");
	for (i = 0; i < c->n_networks; i++) {
		const struct vmh_nf_network *net = &c->networks[i];
		const struct vmh_nf_netreport *n = &r->net[i];

		fprintf(f, "  %-12s %-10s %d/%zu targets up (need %d)",
			net->name, net_state_word(n), n->targets_up,
			net->n_targets, net->min_up);
		if (n->observed_down)
			fprintf(f, ", %d of %d failed rounds",
				n->st.fail_streak, net->fail_rounds);
		else if (n->st.down)
			fprintf(f, ", %d of %d good rounds", n->st.ok_streak,
				net->recover_rounds);
		fputc('\n', f);
	}
	fprintf(f, "verdict: %s", vmh_nf_action_name(r->verdict));
	if (r->rule > 0)
		fprintf(f, " (matrix rule %d)", r->rule);
	else if (r->rule == 0)
		fprintf(f, " (default_action)");
	fputc('\n', f);
	if (r->action != VMH_NF_NONE)
		fprintf(f, "action: %s: %s%s\n", vmh_nf_action_name(r->action),
			r->action_detail,
			r->dry_run || r->action_ok ? "" : " (FAILED)");
	else if (r->action_earlier)
		fprintf(f, "action: %s: done in an earlier round\n",
			vmh_nf_action_name(r->verdict));
}

int
vmh_nf_report_exit(const struct vmh_nf_report *r)
{
	switch (r->verdict) {
	case VMH_NF_NONE:
		return VMH_EXIT_OK;
	case VMH_NF_ALERT:
		return VMH_EXIT_DEGRADED;
	default:
		if (r->action == r->verdict && !r->action_ok)
			return VMH_EXIT_FENCE_FAILED;
		return VMH_EXIT_ISOLATED;
	}
}

/* ---- the run ------------------------------------------------------------ */

enum vmh_rc
vmh_netfence_open(struct vmh_netfence **out, const struct vmh_netfence_conf *c,
		  const char *state_dir, int dry_run, struct vmh_error *err)
{
	struct vmh_netfence *nf;
	struct vmh_error lerr;
	char *aside = NULL;
	enum vmh_rc rc;

	*out = NULL;
	if ((nf = calloc(1, sizeof(*nf))) == NULL)
		return nomem(err);
	nf->conf = c;
	nf->dry_run = dry_run;
	nf->lock.fd = -1;
	if ((nf->state_path = vmh_netfence_state_path(state_dir, dry_run)) ==
	    NULL) {
		rc = nomem(err);
		goto done;
	}
	if ((rc = vmh_lock_acquire(state_dir,
				   dry_run ? "net_fence.dry-run" : "net_fence",
				   1, 0, &nf->lock, err)) != VMH_OK)
		goto done;
	vmh_error_init(&lerr);
	rc = vmh_nf_state_load(nf->state_path, c, &nf->st, &lerr);
	if (rc == VMH_E_DATA) {
		/* Starting over only delays an action by the hysteresis; it
		 * can never cause one. Keep the bad file for a post-mortem. */
		vmh_log(VMH_LOG_WARNING,
			"%s:%d: %s; starting from a fresh state", lerr.source,
			lerr.line, lerr.text);
		if (asprintf(&aside, "%s.corrupt", nf->state_path) > 0)
			(void)rename(nf->state_path, aside);
		rc = VMH_OK;
	} else if (rc != VMH_OK) {
		vmh_error_set(err, rc, lerr.source, lerr.line, "%s", lerr.text);
		goto done;
	}
	*out = nf;
	nf = NULL;
done:
	free(aside);
	vmh_netfence_close(nf);
	return rc;
}

void
vmh_netfence_set_conf(struct vmh_netfence *nf,
		      const struct vmh_netfence_conf *c)
{
	struct vmh_nf_state old = nf->st;
	size_t i;
	int idx;

	vmh_nf_state_init(c, &nf->st);
	nf->st.rounds = old.rounds;
	nf->st.updated = old.updated;
	nf->st.acted = old.acted;
	nf->st.act_status = old.act_status;
	nf->st.acted_at = old.acted_at;
	for (i = 0; i < old.n; i++)
		if ((idx = network_index(c, old.net[i].name)) >= 0)
			nf->st.net[idx] = old.net[i];
	nf->conf = c;
}

void
vmh_netfence_close(struct vmh_netfence *nf)
{
	if (nf == NULL)
		return;
	vmh_lock_release(&nf->lock);
	free(nf->state_path);
	free(nf);
}

enum vmh_rc
vmh_netfence_check_commands(const struct vmh_netfence_conf *c,
			    struct vmh_error *err)
{
	char **const cmds[] = { c->alert_cmd, c->stop_vms_cmd, c->list_vms_cmd,
				c->stop_vm_cmd, c->fence_self_cmd };
	enum vmh_rc rc;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i] != NULL && strchr(cmds[i][0], '/') != NULL &&
		    (rc = vmh_exec_check_secure(cmds[i][0], err)) != VMH_OK)
			return rc;
	return VMH_OK;
}

static const char *
saved_state_word(const struct vmh_nf_netstate *n)
{
	if (n->down)
		return n->ok_streak > 0 ? "recovering" : "down";
	return n->fail_streak > 0 ? "failing" : "up";
}

int
vmh_netfence_status(const struct vmh_netfence_conf *c, const char *state_dir,
		    int dry_run, int json, FILE *f, struct vmh_error *err)
{
	struct vmh_nf_state st;
	enum vmh_nf_action verdict;
	char *path = vmh_netfence_state_path(state_dir, dry_run);
	json_t *o = NULL, *nets, *down;
	int rule, status = -1;
	size_t i;
	char *text;

	if (path == NULL) {
		nomem(err);
		return -1;
	}
	if (vmh_nf_state_load(path, c, &st, err) != VMH_OK)
		goto done;
	verdict = vmh_nf_lookup(c, vmh_nf_down_mask(&st), &rule);
	if (verdict == VMH_NF_NONE)
		status = VMH_EXIT_OK;
	else if (verdict == VMH_NF_ALERT)
		status = VMH_EXIT_DEGRADED;
	else if (st.acted == verdict && st.act_status == VMH_NF_ACT_FAILED)
		status = VMH_EXIT_FENCE_FAILED;
	else
		status = VMH_EXIT_ISOLATED;
	if (!json) {
		fprintf(f, "state %s: %lld rounds, last at %lld\n", path,
			st.rounds, st.updated);
		for (i = 0; i < st.n; i++)
			fprintf(f, "  %-12s %-10s failed %d, good %d\n",
				st.net[i].name, saved_state_word(&st.net[i]),
				st.net[i].fail_streak, st.net[i].ok_streak);
		fprintf(f, "verdict: %s\nlast action: %s (%s)\n",
			vmh_nf_action_name(verdict),
			vmh_nf_action_name(st.acted),
			status_names[st.act_status]);
		goto done;
	}
	nets = json_array();
	down = json_array();
	for (i = 0; i < st.n; i++) {
		json_array_append_new(
		    nets, json_pack("{s:s,s:s,s:b,s:i,s:i,s:I}", "name",
				    st.net[i].name, "state",
				    saved_state_word(&st.net[i]), "down",
				    st.net[i].down, "fail_streak",
				    st.net[i].fail_streak, "ok_streak",
				    st.net[i].ok_streak, "since",
				    (json_int_t)st.net[i].since));
		if (st.net[i].down)
			json_array_append_new(down,
					      json_string(st.net[i].name));
	}
	o = json_pack(
	    "{s:s,s:s,s:I,s:I,s:o,s:o,s:s,s:{s:s,s:s,s:I},s:i}", "program",
	    "net_fence", "state_file", path, "rounds", (json_int_t)st.rounds,
	    "updated", (json_int_t)st.updated, "networks", nets, "down", down,
	    "verdict", vmh_nf_action_name(verdict), "acted", "name",
	    vmh_nf_action_name(st.acted), "status", status_names[st.act_status],
	    "at", (json_int_t)st.acted_at, "exit", status);
	if (o != NULL && (text = json_dumps(o, JSON_INDENT(2))) != NULL) {
		fprintf(f, "%s\n", text);
		free(text);
	}
done:
	json_decref(o);
	free(path);
	return status;
}
