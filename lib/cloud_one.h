/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenNebula: the XML-RPC client behind the "opennebula" cloud driver, and
 * the parsers of oned's HOST and VM documents. The programs use lib/cloud.h;
 * this header is for the driver itself, for OpenNebula-only operations
 * (migrate, deploy, any recover op) and for tests.
 *
 * Endpoint and credentials are found as OpenNebula's own CLI finds them
 * (see vmh_one_find_endpoint() and vmh_one_find_session()). The session
 * string is registered as a log secret and never written anywhere.
 */
#ifndef VMH_CLOUD_ONE_H
#define VMH_CLOUD_ONE_H

#include <stddef.h>

#include "buf.h"
#include "cloud.h"
#include "conf.h"
#include "error.h"
#include "xmlrpc.h"

#define VMH_ONE_DEFAULT_ENDPOINT  "http://localhost:2633/RPC2"
#define VMH_ONE_DEFAULT_PAGE_SIZE 1000

struct vmh_one; /* opaque client */

/* ---- Where to connect and who we are */

/*
 * The endpoint URL, allocated: conf endpoint, else $ONE_XMLRPC, else the
 * first line of $HOME/.one/one_endpoint, else of
 * /var/lib/one/.one/one_endpoint, else VMH_ONE_DEFAULT_ENDPOINT.
 * *source says where it came from (static string).
 */
enum vmh_rc vmh_one_find_endpoint(const struct vmh_conf_opennebula *o,
				  char **endpoint, const char **source,
				  struct vmh_error *err);

/*
 * Seconds for a whole call: conf timeout when set (> 0), else
 * $ONE_XMLRPC_TIMEOUT (set and non-empty; a value that is not a whole
 * number in 1..86400 is VMH_E_CONFIG naming the variable and the value),
 * else 30. *source says which (static string).
 */
enum vmh_rc vmh_one_find_timeout(const struct vmh_conf_opennebula *o,
				 int *seconds, const char **source,
				 struct vmh_error *err);

/*
 * The session string "user:password" (or "user:token"), allocated, trailing
 * whitespace stripped: the secret named by conf auth_secret, else the file
 * conf auth_file, else $ONE_AUTH (when set, non-empty and a regular file),
 * else $HOME/.one/one_auth, else /var/lib/one/.one/one_auth; none of them:
 * VMH_E_CONFIG "ONE_AUTH file not present". A file must be private
 * (vmh_conf_check_secrecy) and hold one "user:secret" line. *source names
 * the file or secret used (allocated).
 */
enum vmh_rc vmh_one_find_session(const struct vmh_conf *conf, char **session,
				 char **source, struct vmh_error *err);

/* ---- The client */

/* The client behind an open "opennebula" cloud, for the calls lib/cloud.h
 * has no place for (migrate, deploy, recover ops); NULL for another cloud.
 * Borrowed: it lives as long as c. */
struct vmh_one *vmh_one_from_cloud(struct vmh_cloud *c);

/*
 * Find endpoint, session and timeout, set up HTTP. No network traffic yet.
 * TLS: conf cacert replaces the system store; extra CAs come from conf
 * ca_dir, else $ONE_CERT_DIR (every regular PEM file of the directory,
 * read here: an unreadable directory is VMH_E_CONFIG naming the setting
 * and the path); $ONE_DISABLE_SSL_VERIFY (non-empty) turns verification
 * off, with a warning.
 */
enum vmh_rc vmh_one_open(const struct vmh_conf *conf, struct vmh_one **out,
			 struct vmh_error *err);
void vmh_one_close(struct vmh_one *one);
const char *vmh_one_endpoint(const struct vmh_one *one);
/* XML-RPC requests sent since open. */
unsigned long vmh_one_calls(const struct vmh_one *one);

/*
 * One call: the session is prepended to params. On VMH_OK, *value points
 * into resp (free resp with vmh_xmlrpc_response_free() in every case).
 * Errors as in lib/cloud.h; the message names the method.
 */
enum vmh_rc vmh_one_call(struct vmh_one *one, const char *method,
			 const struct vmh_xmlrpc_param *params, size_t n,
			 int mutating, struct vmh_xmlrpc_response *resp,
			 const struct vmh_xmlrpc_value **value,
			 struct vmh_error *err);

/* one.system.version ("6.10.5"), cached after the first success. */
enum vmh_rc vmh_one_system_version(struct vmh_one *one, char **version,
				   struct vmh_error *err);
/* The version as major * 10000 + minor * 100 + patch (6.10.5 = 61005). */
enum vmh_rc vmh_one_version_number(struct vmh_one *one, long *number,
				   struct vmh_error *err);
/* one.system.config: the <OPENNEBULA_CONFIGURATION> document. */
enum vmh_rc vmh_one_system_config(struct vmh_one *one, char **xml,
				  struct vmh_error *err);

enum vmh_rc vmh_one_host_info(struct vmh_one *one, long long id,
			      struct vmh_host **out, struct vmh_error *err);
enum vmh_rc vmh_one_hostpool_info(struct vmh_one *one,
				  struct vmh_host_list *out,
				  struct vmh_error *err);
/* status: 0 ENABLED, 1 DISABLED, 2 OFFLINE (one.host.enable before 5.0). */
enum vmh_rc vmh_one_host_status(struct vmh_one *one, long long id, int status,
				struct vmh_error *err);

enum vmh_rc vmh_one_vm_info(struct vmh_one *one, long long id,
			    struct vmh_vm **out, struct vmh_error *err);
/*
 * Every VM in state (-2 any, -1 any but DONE, >= 0 that STATE) of every
 * user, short bodies or extended ones, fetched in pages of
 * $ONE_POOL_PAGE_SIZE (default VMH_ONE_DEFAULT_PAGE_SIZE) VMs; pages overlap
 * a little so a VM leaving the pool meanwhile does not hide another. Sorted
 * by ID, each VM once.
 */
enum vmh_rc vmh_one_vmpool(struct vmh_one *one, int extended, int state,
			   struct vmh_vm_list *out, struct vmh_error *err);
/* One raw vmpool call (filter, start, end, state as oned takes them);
 * extended is one.vmpool.infoextended from 5.8 on, one.vmpool.info before
 * (whose bodies were whole then). */
enum vmh_rc vmh_one_vmpool_page(struct vmh_one *one, int extended, int filter,
				long long start, long long end, int state,
				struct vmh_vm_list *out, struct vmh_error *err);
/* one.vmpool.infoset (6.0+): the VMs of a "1,2,3" list that exist. */
enum vmh_rc vmh_one_vmpool_infoset(struct vmh_one *one, const char *ids,
				   int extended, struct vmh_vm_list *out,
				   struct vmh_error *err);

/* one.vm.action: "resched", "resume", "reboot-hard", "terminate"... */
enum vmh_rc vmh_one_vm_action(struct vmh_one *one, const char *action,
			      long long id, struct vmh_error *err);
/* one.vm.recover op: 0 failure, 1 success, 2 retry, 3 delete,
 * 4 delete-recreate, 5 delete-db. */
enum vmh_rc vmh_one_vm_recover(struct vmh_one *one, long long id, int op,
			       struct vmh_error *err);
/* one.vm.migrate; ds_id -1: keep the datastore. */
enum vmh_rc vmh_one_vm_migrate(struct vmh_one *one, long long id,
			       long long host_id, int live, int enforce,
			       long long ds_id, struct vmh_error *err);
/* one.vm.deploy; ds_id -1: the scheduler's choice. */
enum vmh_rc vmh_one_vm_deploy(struct vmh_one *one, long long id,
			      long long host_id, int enforce, long long ds_id,
			      struct vmh_error *err);
/* one.vm.lock level 1 USE, 2 MANAGE, 3 ADMIN, 4 ALL; one.vm.unlock. */
enum vmh_rc vmh_one_vm_lock(struct vmh_one *one, long long id, int level,
			    struct vmh_error *err);
enum vmh_rc vmh_one_vm_unlock(struct vmh_one *one, long long id,
			      struct vmh_error *err);
/* one.vm.update of the USER_TEMPLATE: tmpl in OpenNebula template syntax;
 * merge 1 merges, 0 replaces. */
enum vmh_rc vmh_one_vm_update(struct vmh_one *one, long long id,
			      const char *tmpl, int merge,
			      struct vmh_error *err);
/* TEMPLATE/SHARED of a datastore from one.datastorepool.info (cached per
 * client): 0 only for SHARED=NO, as host_error.rb reads it. */
enum vmh_rc vmh_one_datastore_shared(struct vmh_one *one, long long ds_id,
				     int *shared, struct vmh_error *err);

/* ---- Documents (lib/cloud_one_xml.c) */

/* A <HOST> document; out->document gets a copy of the element's XML. */
enum vmh_rc vmh_one_parse_host(const char *xml, size_t len,
			       struct vmh_host *out, struct vmh_error *err);
enum vmh_rc vmh_one_parse_host_pool(const char *xml, size_t len,
				    struct vmh_host_list *out,
				    struct vmh_error *err);
/* A <VM> document, short or extended. */
enum vmh_rc vmh_one_parse_vm(const char *xml, size_t len, struct vmh_vm *out,
			     struct vmh_error *err);
/* A <VM_POOL>; the VMs are appended to out. */
enum vmh_rc vmh_one_parse_vm_pool(const char *xml, size_t len,
				  struct vmh_vm_list *out,
				  struct vmh_error *err);
/* A <DATASTORE_POOL>: ids[i] and shared[i] (0 only for SHARED=NO). */
enum vmh_rc vmh_one_parse_datastore_pool(const char *xml, size_t len,
					 long long **ids, int **shared,
					 size_t *n, struct vmh_error *err);
/* MONITORING_INTERVAL_HOST or MONITORING_INTERVAL of a system config
 * document; 0 when neither is there. */
enum vmh_rc vmh_one_parse_monitoring_interval(const char *xml, size_t len,
					      int *seconds,
					      struct vmh_error *err);

/* State mapping and names (oned's enum names, "UNKNOWN_<n>" otherwise). */
enum vmh_host_state vmh_one_host_state(int state);
enum vmh_vm_state vmh_one_vm_state(int state, int lcm_state);
const char *vmh_one_host_state_name(int state);
const char *vmh_one_vm_state_name(int state);
const char *vmh_one_lcm_state_name(int lcm_state);

/*
 * "KEY=value" lines (vmh_cloud_vm_op's VMH_ACT_UPDATE argument) as an
 * OpenNebula template in XML form, <TEMPLATE><KEY>value</KEY>...</TEMPLATE>,
 * keys upper-cased. Keys are letters, digits and _ (not starting with a
 * digit); blank lines are skipped; anything else is VMH_E_USAGE.
 */
enum vmh_rc vmh_one_update_template(const char *lines, struct vmh_buf *out,
				    struct vmh_error *err);

#endif
