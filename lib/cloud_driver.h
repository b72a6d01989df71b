/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to lib/: the table a cloud driver fills. lib/cloud.c dispatches
 * the public vmh_cloud_* calls through it after common argument checks.
 */
#ifndef VMH_CLOUD_DRIVER_H
#define VMH_CLOUD_DRIVER_H

#include "cloud.h"

struct vmh_cloud_driver {
	const char *kind;
	enum vmh_rc (*open)(const struct vmh_conf *conf, void **state,
			    struct vmh_error *err);
	void (*close)(void *state);
	enum vmh_rc (*version)(void *state, char **version,
			       struct vmh_error *err);
	enum vmh_rc (*monitoring_interval)(void *state, int *seconds,
					   struct vmh_error *err);
	enum vmh_rc (*host_get)(void *state, const char *name_or_id,
				struct vmh_host **out, struct vmh_error *err);
	enum vmh_rc (*host_list)(void *state, struct vmh_host_list *out,
				 struct vmh_error *err);
	enum vmh_rc (*host_disable)(void *state, const struct vmh_host *h,
				    int offline, const char *reason,
				    struct vmh_error *err);
	enum vmh_rc (*host_enable)(void *state, const struct vmh_host *h,
				   struct vmh_error *err);
	enum vmh_rc (*vms_on_host)(void *state, const struct vmh_host *h,
				   struct vmh_vm_list *out,
				   struct vmh_error *err);
	enum vmh_rc (*vm_get)(void *state, const char *id, struct vmh_vm **out,
			      struct vmh_error *err);
	enum vmh_rc (*vms_get)(void *state, const char *const *ids, size_t n,
			       struct vmh_vm_list *out, struct vmh_error *err);
	enum vmh_rc (*run_ops)(void *state, struct vmh_vm_op *ops, size_t n,
			       int concurrency, vmh_op_cb cb, void *ctx,
			       struct vmh_error *err);
	unsigned long (*calls)(const void *state);
	/* NULL: every datastore counts as shared. */
	enum vmh_rc (*datastore_shared)(void *state, long long ds_id,
					int *shared, struct vmh_error *err);
	/* NULL: the hosts' VMs, host by host (vms_on_host). */
	enum vmh_rc (*vm_list_all)(void *state, struct vmh_vm_list *out,
				   struct vmh_error *err);
	/* NULL: VMH_STOP_UNKNOWN. */
	enum vmh_rc (*vm_stop_cause)(void *state, const char *id,
				     enum vmh_stop_cause *cause, char *detail,
				     size_t dlen, struct vmh_error *err);
};

extern const struct vmh_cloud_driver vmh__cloud_one_driver;
extern const struct vmh_cloud_driver vmh__cloud_nova_driver;

/* The driver state behind c when drv is its driver, else NULL (for a
 * driver's own extra functions, e.g. cloud_nova.h). */
void *vmh__cloud_state(struct vmh_cloud *c, const struct vmh_cloud_driver *drv);

#endif
