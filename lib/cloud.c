/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cloud interface: driver choice, dispatch, and the shared data types. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud_driver.h"
#include "osauth.h"

struct vmh_cloud {
	const struct vmh_cloud_driver *drv;
	void *state;
};

static const struct vmh_cloud_driver *const drivers[] = {
	&vmh__cloud_one_driver,
	&vmh__cloud_nova_driver,
	NULL,
};

enum vmh_rc
vmh_cloud_open(const struct vmh_conf *conf, struct vmh_cloud **out,
	       struct vmh_error *err)
{
	const struct vmh_cloud_driver *drv = NULL;
	const char *kind = conf->cloud;
	struct vmh_cloud *c;
	enum vmh_rc rc;
	size_t i;

	*out = NULL;
	/* A configuration that names no cloud, run where OS_CLOUD or
	 * OS_AUTH_URL is set (an openrc sourced, a clouds.yaml chosen):
	 * the operator means OpenStack. */
	if (!conf->cloud_set && vmh_os_env_present())
		kind = "openstack";
	for (i = 0; drivers[i] != NULL; i++)
		if (strcmp(drivers[i]->kind, kind) == 0)
			drv = drivers[i];
	if (drv == NULL)
		return vmh_error_set(err, VMH_E_CONFIG, conf->path, 0,
				     "cloud \"%s\" is not supported by this "
				     "build",
				     conf->cloud);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	c->drv = drv;
	if ((rc = drv->open(conf, &c->state, err)) != VMH_OK) {
		free(c);
		return rc;
	}
	*out = c;
	return VMH_OK;
}

void
vmh_cloud_close(struct vmh_cloud *c)
{
	if (c == NULL)
		return;
	c->drv->close(c->state);
	free(c);
}

const char *
vmh_cloud_kind(const struct vmh_cloud *c)
{
	return c->drv->kind;
}

enum vmh_rc
vmh_cloud_version(struct vmh_cloud *c, char **version, struct vmh_error *err)
{
	*version = NULL;
	return c->drv->version(c->state, version, err);
}

enum vmh_rc
vmh_cloud_monitoring_interval(struct vmh_cloud *c, int *seconds,
			      struct vmh_error *err)
{
	return c->drv->monitoring_interval(c->state, seconds, err);
}

enum vmh_rc
vmh_cloud_host_get(struct vmh_cloud *c, const char *name_or_id,
		   struct vmh_host **out, struct vmh_error *err)
{
	*out = NULL;
	if (name_or_id == NULL || *name_or_id == '\0')
		return vmh_error_set(err, VMH_E_USAGE, NULL, 0,
				     "empty host name");
	return c->drv->host_get(c->state, name_or_id, out, err);
}

enum vmh_rc
vmh_cloud_host_list(struct vmh_cloud *c, struct vmh_host_list *out,
		    struct vmh_error *err)
{
	memset(out, 0, sizeof(*out));
	return c->drv->host_list(c->state, out, err);
}

enum vmh_rc
vmh_cloud_host_disable(struct vmh_cloud *c, const struct vmh_host *h,
		       int offline, const char *reason, struct vmh_error *err)
{
	return c->drv->host_disable(c->state, h, offline, reason, err);
}

enum vmh_rc
vmh_cloud_host_enable(struct vmh_cloud *c, const struct vmh_host *h,
		      struct vmh_error *err)
{
	return c->drv->host_enable(c->state, h, err);
}

enum vmh_rc
vmh_cloud_vms_on_host(struct vmh_cloud *c, const struct vmh_host *h,
		      struct vmh_vm_list *out, struct vmh_error *err)
{
	memset(out, 0, sizeof(*out));
	return c->drv->vms_on_host(c->state, h, out, err);
}

enum vmh_rc
vmh_cloud_vm_list_all(struct vmh_cloud *c, struct vmh_vm_list *out,
		      struct vmh_error *err)
{
	struct vmh_host_list hosts;
	struct vmh_vm_list one;
	struct vmh_vm *tmp;
	enum vmh_rc rc;
	size_t i, k;

	memset(out, 0, sizeof(*out));
	if (c->drv->vm_list_all != NULL)
		return c->drv->vm_list_all(c->state, out, err);
	if ((rc = vmh_cloud_host_list(c, &hosts, err)) != VMH_OK)
		return rc;
	for (i = 0; i < hosts.n && rc == VMH_OK; i++) {
		if ((rc = vmh_cloud_vms_on_host(c, &hosts.hosts[i], &one,
						err)) != VMH_OK)
			break;
		tmp = one.n == 0
			  ? out->vms
			  : realloc(out->vms, (out->n + one.n) * sizeof(*tmp));
		if (tmp == NULL) {
			vmh_vm_list_free(&one);
			rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					   "out of memory");
			break;
		}
		out->vms = tmp;
		/* The VMs move over; only the emptied array is freed. */
		for (k = 0; k < one.n; k++)
			out->vms[out->n++] = one.vms[k];
		free(one.vms);
	}
	vmh_host_list_free(&hosts);
	if (rc != VMH_OK)
		vmh_vm_list_free(out);
	return rc;
}

enum vmh_rc
vmh_cloud_vm_get(struct vmh_cloud *c, const char *id, struct vmh_vm **out,
		 struct vmh_error *err)
{
	*out = NULL;
	return c->drv->vm_get(c->state, id, out, err);
}

enum vmh_rc
vmh_cloud_vms_get(struct vmh_cloud *c, const char *const *ids, size_t n,
		  struct vmh_vm_list *out, struct vmh_error *err)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return VMH_OK;
	return c->drv->vms_get(c->state, ids, n, out, err);
}

enum vmh_rc
vmh_cloud_run_ops(struct vmh_cloud *c, struct vmh_vm_op *ops, size_t n,
		  int concurrency, vmh_op_cb cb, void *ctx,
		  struct vmh_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ops[i].rc = VMH_OK;
		vmh_error_init(&ops[i].err);
		ops[i].duration_ms = 0;
		if ((unsigned)ops[i].action >= VMH_ACT_COUNT)
			return vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
					     "bad action %d for VM %s",
					     (int)ops[i].action, ops[i].vm_id);
	}
	if (concurrency < 1)
		concurrency = 1;
	return c->drv->run_ops(c->state, ops, n, concurrency, cb, ctx, err);
}

enum vmh_rc
vmh_cloud_vm_op(struct vmh_cloud *c, const char *vm_id,
		enum vmh_vm_action action, const char *arg,
		struct vmh_error *err)
{
	struct vmh_vm_op op = { .vm_id = vm_id, .action = action, .arg = arg };
	enum vmh_rc rc;

	if ((rc = vmh_cloud_run_ops(c, &op, 1, 1, NULL, NULL, err)) != VMH_OK)
		return rc;
	if (op.rc != VMH_OK && err != NULL && err->code == VMH_OK)
		*err = op.err;
	return op.rc;
}

enum vmh_rc
vmh_cloud_datastore_shared(struct vmh_cloud *c, long long ds_id, int *shared,
			   struct vmh_error *err)
{
	*shared = 1;
	if (c->drv->datastore_shared == NULL)
		return VMH_OK;
	return c->drv->datastore_shared(c->state, ds_id, shared, err);
}

enum vmh_rc
vmh_cloud_vm_stop_cause(struct vmh_cloud *c, const char *id,
			enum vmh_stop_cause *cause, char *detail, size_t dlen,
			struct vmh_error *err)
{
	*cause = VMH_STOP_UNKNOWN;
	if (detail != NULL && dlen > 0)
		detail[0] = '\0';
	if (c->drv->vm_stop_cause == NULL)
		return VMH_OK;
	return c->drv->vm_stop_cause(c->state, id, cause, detail, dlen, err);
}

void *
vmh__cloud_state(struct vmh_cloud *c, const struct vmh_cloud_driver *drv)
{
	return c != NULL && c->drv == drv ? c->state : NULL;
}

unsigned long
vmh_cloud_calls(const struct vmh_cloud *c)
{
	return c->drv->calls(c->state);
}

const char *
vmh_attr_get(char *const *attrs, const char *key)
{
	size_t i;

	if (attrs == NULL)
		return NULL;
	for (i = 0; attrs[i] != NULL && attrs[i + 1] != NULL; i += 2)
		if (strcasecmp(attrs[i], key) == 0)
			return attrs[i + 1];
	return NULL;
}

const char *
vmh_vm_state_name(enum vmh_vm_state s)
{
	static const char *const names[] = {
		"running",   "unknown",    "failed",   "pending",
		"transient", "hold",       "poweroff", "suspended",
		"stopped",   "undeployed", "done",     "other",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s]
							      : "other";
}

const char *
vmh_host_state_name(enum vmh_host_state s)
{
	static const char *const names[] = { "up",      "down", "disabled",
					     "offline", "init", "other" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s]
							      : "other";
}

const char *
vmh_vm_action_name(enum vmh_vm_action a)
{
	static const char *const names[VMH_ACT_COUNT] = {
		[VMH_ACT_RECREATE] = "recreate",
		[VMH_ACT_DELETE] = "delete",
		[VMH_ACT_RESCHED] = "resched",
		[VMH_ACT_RETRY] = "retry",
		[VMH_ACT_RESUME] = "resume",
		[VMH_ACT_REBOOT_HARD] = "reboot-hard",
		[VMH_ACT_REBUILD] = "rebuild",
		[VMH_ACT_RESET_STATE] = "reset-state",
		[VMH_ACT_LOCK] = "lock",
		[VMH_ACT_UNLOCK] = "unlock",
		[VMH_ACT_UPDATE] = "update",
	};

	return (unsigned)a < VMH_ACT_COUNT ? names[a] : "unknown";
}

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
vmh_host_clear(struct vmh_host *h)
{
	if (h == NULL)
		return;
	free(h->id);
	free(h->name);
	free(h->state_text);
	strv_free(h->attrs);
	strv_free(h->vm_ids);
	free(h->document);
	memset(h, 0, sizeof(*h));
}

void
vmh_host_free(struct vmh_host *h)
{
	vmh_host_clear(h);
	free(h);
}

void
vmh_host_list_free(struct vmh_host_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		vmh_host_clear(&l->hosts[i]);
	free(l->hosts);
	l->hosts = NULL;
	l->n = 0;
}

void
vmh_vm_clear(struct vmh_vm *vm)
{
	if (vm == NULL)
		return;
	free(vm->id);
	free(vm->name);
	free(vm->state_text);
	free(vm->host_name);
	free(vm->host_id);
	strv_free(vm->attrs);
	strv_free(vm->ips);
	memset(vm, 0, sizeof(*vm));
}

void
vmh_vm_free(struct vmh_vm *vm)
{
	vmh_vm_clear(vm);
	free(vm);
}

void
vmh_vm_list_free(struct vmh_vm_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		vmh_vm_clear(&l->vms[i]);
	free(l->vms);
	l->vms = NULL;
	l->n = 0;
}
