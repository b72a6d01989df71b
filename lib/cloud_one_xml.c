/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oned's documents (<HOST>, <VM>, their pools, <DATASTORE_POOL>, the system
 * configuration) into the structs of lib/cloud.h, and oned's state numbers
 * into vmheal's states. Lenient to elements versions add or drop (4.4 to
 * 7.4), strict about the few values vmheal acts on: IDs and states.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "cloud_one.h"
#include "str.h"

/* ---- States (include/Host.h, include/VirtualMachine.h) */

static const char *const host_state_names[] = {
	"INIT",
	"MONITORING_MONITORED",
	"MONITORED",
	"ERROR",
	"DISABLED",
	"MONITORING_ERROR",
	"MONITORING_INIT",
	"MONITORING_DISABLED",
	"OFFLINE",
};

static const char *const vm_state_names[] = {
	"INIT",     "PENDING",    "HOLD",    "ACTIVE",
	"STOPPED",  "SUSPENDED",  "DONE",    "FAILED",
	"POWEROFF", "UNDEPLOYED", "CLONING", "CLONING_FAILURE",
};

static const char *const lcm_state_names[] = {
	"LCM_INIT",
	"PROLOG",
	"BOOT",
	"RUNNING",
	"MIGRATE",
	"SAVE_STOP",
	"SAVE_SUSPEND",
	"SAVE_MIGRATE",
	"PROLOG_MIGRATE",
	"PROLOG_RESUME",
	"EPILOG_STOP",
	"EPILOG",
	"SHUTDOWN",
	"CANCEL",
	"FAILURE",
	"CLEANUP_RESUBMIT",
	"UNKNOWN",
	"HOTPLUG",
	"SHUTDOWN_POWEROFF",
	"BOOT_UNKNOWN",
	"BOOT_POWEROFF",
	"BOOT_SUSPENDED",
	"BOOT_STOPPED",
	"CLEANUP_DELETE",
	"HOTPLUG_SNAPSHOT",
	"HOTPLUG_NIC",
	"HOTPLUG_SAVEAS",
	"HOTPLUG_SAVEAS_POWEROFF",
	"HOTPLUG_SAVEAS_SUSPENDED",
	"SHUTDOWN_UNDEPLOY",
	"EPILOG_UNDEPLOY",
	"PROLOG_UNDEPLOY",
	"BOOT_UNDEPLOY",
	"HOTPLUG_PROLOG_POWEROFF",
	"HOTPLUG_EPILOG_POWEROFF",
	"BOOT_MIGRATE",
	"BOOT_FAILURE",
	"BOOT_MIGRATE_FAILURE",
	"PROLOG_MIGRATE_FAILURE",
	"PROLOG_FAILURE",
	"EPILOG_FAILURE",
	"EPILOG_STOP_FAILURE",
	"EPILOG_UNDEPLOY_FAILURE",
	"PROLOG_MIGRATE_POWEROFF",
	"PROLOG_MIGRATE_POWEROFF_FAILURE",
	"PROLOG_MIGRATE_SUSPEND",
	"PROLOG_MIGRATE_SUSPEND_FAILURE",
	"BOOT_UNDEPLOY_FAILURE",
	"BOOT_STOPPED_FAILURE",
	"PROLOG_RESUME_FAILURE",
	"PROLOG_UNDEPLOY_FAILURE",
	"DISK_SNAPSHOT_POWEROFF",
	"DISK_SNAPSHOT_REVERT_POWEROFF",
	"DISK_SNAPSHOT_DELETE_POWEROFF",
	"DISK_SNAPSHOT_SUSPENDED",
	"DISK_SNAPSHOT_REVERT_SUSPENDED",
	"DISK_SNAPSHOT_DELETE_SUSPENDED",
	"DISK_SNAPSHOT",
	"DISK_SNAPSHOT_REVERT",
	"DISK_SNAPSHOT_DELETE",
	"PROLOG_MIGRATE_UNKNOWN",
	"PROLOG_MIGRATE_UNKNOWN_FAILURE",
	"DISK_RESIZE",
	"DISK_RESIZE_POWEROFF",
	"DISK_RESIZE_UNDEPLOYED",
	"HOTPLUG_NIC_POWEROFF",
	"HOTPLUG_RESIZE",
	"HOTPLUG_SAVEAS_UNDEPLOYED",
	"HOTPLUG_SAVEAS_STOPPED",
	"BACKUP",
	"BACKUP_POWEROFF",
	"RESTORE",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
vmh_one_host_state_name(int state)
{
	return state >= 0 && (size_t)state < NELEM(host_state_names)
		   ? host_state_names[state]
		   : "UNKNOWN_STATE";
}

const char *
vmh_one_vm_state_name(int state)
{
	return state >= 0 && (size_t)state < NELEM(vm_state_names)
		   ? vm_state_names[state]
		   : "UNKNOWN_STATE";
}

const char *
vmh_one_lcm_state_name(int lcm)
{
	return lcm >= 0 && (size_t)lcm < NELEM(lcm_state_names)
		   ? lcm_state_names[lcm]
		   : "UNKNOWN_LCM_STATE";
}

enum vmh_host_state
vmh_one_host_state(int state)
{
	switch (state) {
	case 1: /* MONITORING_MONITORED: up, being monitored again */
	case 2:
		return VMH_HOST_UP;
	case 3:
	case 5: /* MONITORING_ERROR (<= 5.10): still failed */
		return VMH_HOST_DOWN;
	case 4:
	case 7:
		return VMH_HOST_DISABLED;
	case 8:
		return VMH_HOST_OFFLINE;
	case 0:
	case 6:
		return VMH_HOST_INIT;
	default:
		return VMH_HOST_OTHER;
	}
}

/* LCM failure states (4.14+) and 4.x FAILURE. */
static int
lcm_is_failure(int lcm)
{
	return lcm == 14 || (lcm >= 36 && lcm <= 42) || lcm == 44 ||
	       (lcm >= 46 && lcm <= 50) || lcm == 61;
}

enum vmh_vm_state
vmh_one_vm_state(int state, int lcm)
{
	switch (state) {
	case 0:  /* INIT: being created */
	case 10: /* CLONING: images being copied */
		return VMH_VM_TRANSIENT;
	case 1:
		return VMH_VM_PENDING;
	case 2:
		return VMH_VM_HOLD;
	case 3:
		break;
	case 4:
		return VMH_VM_STOPPED;
	case 5:
		return VMH_VM_SUSPENDED;
	case 6:
		return VMH_VM_DONE;
	case 7:  /* FAILED, 4.4 - 4.12 */
	case 11: /* CLONING_FAILURE */
		return VMH_VM_FAILED;
	case 8:
		return VMH_VM_POWEROFF;
	case 9:
		return VMH_VM_UNDEPLOYED;
	default:
		return VMH_VM_OTHER;
	}
	if (lcm == 3)
		return VMH_VM_RUNNING;
	if (lcm == 16)
		return VMH_VM_UNKNOWN;
	if (lcm_is_failure(lcm))
		return VMH_VM_FAILED;
	if (lcm >= 0 && (size_t)lcm < NELEM(lcm_state_names))
		return VMH_VM_TRANSIENT;
	return VMH_VM_OTHER;
}

/* ---- Tree helpers */

static xmlNodePtr
first_elem(xmlNodePtr c)
{
	while (c != NULL && c->type != XML_ELEMENT_NODE)
		c = c->next;
	return c;
}

static int
is_elem(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr c;

	if (parent == NULL)
		return NULL;
	for (c = parent->children; c != NULL; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Text (and CDATA) of n, trimmed, allocated; NULL when out of memory. */
static char *
text_of(xmlNodePtr n)
{
	xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;
	const char *s = t != NULL ? (const char *)t : "";
	size_t len;
	char *out;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	out = strndup(s, len);
	if (t != NULL)
		xmlFree(t);
	return out;
}

/* Whole decimal number of n's text; -1 if n is missing or not a number
 * in range, 0 on success. */
static int
num_of(xmlNodePtr n, long long min, long long max, long long *out)
{
	char *s = text_of(n), *end;
	long long v;
	int ok;

	if (s == NULL || n == NULL) {
		free(s);
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	ok = *s != '\0' && *end == '\0' && errno == 0 && v >= min && v <= max;
	free(s);
	if (!ok)
		return -1;
	*out = v;
	return 0;
}

struct strv {
	char **v;
	size_t n, cap;
};

static int
strv_push(struct strv *sv, char *s)
{
	char **tmp;

	if (s == NULL)
		return -1;
	if (sv->n + 2 > sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;

		if ((tmp = realloc(sv->v, cap * sizeof(*tmp))) == NULL) {
			free(s);
			return -1;
		}
		sv->v = tmp;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

static void
strv_clear(struct strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* An empty vector is still a vector: callers may rely on non-NULL. */
static char **
strv_take(struct strv *sv)
{
	char **v = sv->v;

	if (v == NULL && (v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	memset(sv, 0, sizeof(*sv));
	return v;
}

/* Single-valued template attributes (leaf elements) of tmpl as KEY, value
 * pairs; vector attributes (with sub-elements) are left out. */
static int
template_attrs(xmlNodePtr tmpl, char ***out)
{
	struct strv sv = { 0 };
	xmlNodePtr c;

	for (c = tmpl != NULL ? tmpl->children : NULL; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE ||
		    first_elem(c->children) != NULL)
			continue;
		if (strv_push(&sv, strdup((const char *)c->name)) < 0 ||
		    strv_push(&sv, text_of(c)) < 0) {
			/* Keep the vector pairwise before freeing. */
			strv_clear(&sv);
			return -1;
		}
	}
	if ((*out = strv_take(&sv)) == NULL)
		return -1;
	return 0;
}

/* The addresses of every NIC of a VM template, in NIC order and per NIC
 * IPv4 first (the usual probe target), as a NULL-terminated vector. Empty
 * elements are skipped; an address is not validated here (vm_probe parses
 * each one numerically before use). */
static int
nic_addrs(xmlNodePtr tmpl, char ***out)
{
	static const char *const keys[] = { "IP", "IP6", "IP6_GLOBAL",
					    "IP6_ULA" };
	struct strv sv = { 0 };
	xmlNodePtr nic;
	size_t k;
	char *a;

	for (nic = tmpl != NULL ? tmpl->children : NULL; nic != NULL;
	     nic = nic->next) {
		if (!is_elem(nic, "NIC"))
			continue;
		for (k = 0; k < NELEM(keys); k++) {
			if (child(nic, keys[k]) == NULL)
				continue;
			if ((a = text_of(child(nic, keys[k]))) == NULL) {
				strv_clear(&sv);
				return -1;
			}
			if (a[0] == '\0') {
				free(a);
				continue;
			}
			if (strv_push(&sv, a) < 0) {
				strv_clear(&sv);
				return -1;
			}
		}
	}
	if ((*out = strv_take(&sv)) == NULL)
		return -1;
	return 0;
}

static char *
id_string(long long id)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", id);
	return strdup(buf);
}

static enum vmh_rc
nomem(struct vmh_error *err)
{
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

/* Parse and check the root element's name. */
static enum vmh_rc
parse_root(const char *xml, size_t len, const char *root_name, const char *what,
	   xmlDocPtr *doc, xmlNodePtr *root, struct vmh_error *err)
{
	enum vmh_rc rc;

	if ((rc = vmh_xml_parse(xml, len, what, 0, doc, err)) != VMH_OK)
		return rc;
	*root = xmlDocGetRootElement(*doc);
	if (!is_elem(*root, root_name)) {
		rc = vmh_error_set(err, VMH_E_DATA, what, 0,
				   "root element is <%.40s>, not <%s>",
				   (const char *)(*root)->name, root_name);
		xmlFreeDoc(*doc);
		*doc = NULL;
		return rc;
	}
	return VMH_OK;
}

/* ---- HOST */

static enum vmh_rc
host_from_node(xmlDocPtr doc, xmlNodePtr h, struct vmh_host *out, int dump,
	       struct vmh_error *err)
{
	struct strv vms = { 0 };
	xmlNodePtr share, c;
	xmlBufferPtr xb;
	long long id, state, v;
	enum vmh_rc rc = VMH_OK;

	memset(out, 0, sizeof(*out));
	out->raw_state = -1;
	if (num_of(child(h, "ID"), 0, 0x7fffffff, &id) < 0)
		return vmh_error_set(err, VMH_E_DATA, "HOST document", 0,
				     "missing or bad HOST/ID");
	if (num_of(child(h, "STATE"), 0, 1000, &state) < 0)
		return vmh_error_set(err, VMH_E_DATA, "HOST document", 0,
				     "host %lld: missing or bad HOST/STATE",
				     id);
	out->raw_state = (int)state;
	out->state = vmh_one_host_state((int)state);
	if ((out->id = id_string(id)) == NULL ||
	    (out->name = text_of(child(h, "NAME"))) == NULL ||
	    (out->state_text = strdup(vmh_one_host_state_name((int)state))) ==
		NULL)
		goto nomem;
	share = child(h, "HOST_SHARE");
	if (num_of(child(share, "MAX_CPU"), 0, 1LL << 53, &v) == 0)
		out->max_cpu = v;
	if (num_of(child(share, "MAX_MEM"), 0, 1LL << 53, &v) == 0)
		out->max_mem = v;
	for (c = child(h, "VMS") != NULL ? child(h, "VMS")->children : NULL;
	     c != NULL; c = c->next) {
		if (!is_elem(c, "ID"))
			continue;
		if (num_of(c, 0, 0x7fffffff, &v) < 0) {
			rc = vmh_error_set(err, VMH_E_DATA, "HOST document", 0,
					   "host %lld: bad HOST/VMS/ID", id);
			goto fail;
		}
		if (strv_push(&vms, id_string(v)) < 0)
			goto nomem;
	}
	if ((out->vm_ids = strv_take(&vms)) == NULL)
		goto nomem;
	if (template_attrs(child(h, "TEMPLATE"), &out->attrs) < 0)
		goto nomem;
	if (dump) {
		/* The element as XML for fence scripts; CDATA kept. */
		if ((xb = xmlBufferCreate()) == NULL)
			goto nomem;
		if (xmlNodeDump(xb, doc, h, 0, 0) < 0 ||
		    (out->document =
			 strdup((const char *)xmlBufferContent(xb))) == NULL) {
			xmlBufferFree(xb);
			goto nomem;
		}
		xmlBufferFree(xb);
	}
	return VMH_OK;
nomem:
	rc = nomem(err);
fail:
	strv_clear(&vms);
	vmh_host_clear(out);
	return rc;
}

enum vmh_rc
vmh_one_parse_host(const char *xml, size_t len, struct vmh_host *out,
		   struct vmh_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_root(xml, len, "HOST", "HOST document", &doc, &root,
			     err)) != VMH_OK)
		return rc;
	rc = host_from_node(doc, root, out, 0, err);
	xmlFreeDoc(doc);
	if (rc != VMH_OK)
		return rc;
	/* Keep the document exactly as oned sent it. */
	if ((out->document = strndup(xml, len)) == NULL) {
		vmh_host_clear(out);
		return nomem(err);
	}
	return VMH_OK;
}

enum vmh_rc
vmh_one_parse_host_pool(const char *xml, size_t len, struct vmh_host_list *out,
			struct vmh_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, c;
	size_t n = 0, i = 0;
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_root(xml, len, "HOST_POOL", "HOST_POOL document", &doc,
			     &root, err)) != VMH_OK)
		return rc;
	for (c = root->children; c != NULL; c = c->next)
		n += is_elem(c, "HOST");
	if (n > 0 && (out->hosts = calloc(n, sizeof(*out->hosts))) == NULL) {
		rc = nomem(err);
		goto done;
	}
	for (c = root->children; c != NULL && rc == VMH_OK; c = c->next) {
		if (!is_elem(c, "HOST"))
			continue;
		if ((rc = host_from_node(doc, c, &out->hosts[i], 1, err)) ==
		    VMH_OK)
			out->n = ++i;
	}
done:
	xmlFreeDoc(doc);
	if (rc != VMH_OK)
		vmh_host_list_free(out);
	return rc;
}

/* ---- VM */

static enum vmh_rc
vm_from_node(xmlNodePtr vmn, struct vmh_vm *out, struct vmh_error *err)
{
	xmlNodePtr hist = NULL, c;
	long long id, state, lcm = -1, v, seq, best = -1;
	char text[96];
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	out->ds_id = -1;
	out->history_seq = -1;
	if (num_of(child(vmn, "ID"), 0, 0x7fffffff, &id) < 0)
		return vmh_error_set(err, VMH_E_DATA, "VM document", 0,
				     "missing or bad VM/ID");
	if (num_of(child(vmn, "STATE"), 0, 1000, &state) < 0)
		return vmh_error_set(err, VMH_E_DATA, "VM document", 0,
				     "VM %lld: missing or bad VM/STATE", id);
	/* LCM_STATE only matters for ACTIVE; be strict only then. */
	if (num_of(child(vmn, "LCM_STATE"), 0, 1000, &lcm) < 0) {
		if (state == 3)
			return vmh_error_set(err, VMH_E_DATA, "VM document", 0,
					     "VM %lld: ACTIVE without a "
					     "valid LCM_STATE",
					     id);
		lcm = -1;
	}
	out->raw_state = (int)state;
	out->raw_lcm = (int)lcm;
	out->state = vmh_one_vm_state((int)state, (int)lcm);
	if (state == 3)
		snprintf(text, sizeof(text), "%s/%s",
			 vmh_one_vm_state_name((int)state),
			 vmh_one_lcm_state_name((int)lcm));
	else
		snprintf(text, sizeof(text), "%s",
			 vmh_one_vm_state_name((int)state));
	if ((out->id = id_string(id)) == NULL ||
	    (out->name = text_of(child(vmn, "NAME"))) == NULL ||
	    (out->state_text = strdup(text)) == NULL)
		goto nomem;
	if (num_of(child(vmn, "STIME"), 0, 1LL << 62, &v) == 0)
		out->stime = v;
	if (num_of(child(child(vmn, "LOCK"), "LOCKED"), 0, 100, &v) == 0)
		out->locked = (int)v;
	if (template_attrs(child(vmn, "USER_TEMPLATE"), &out->attrs) < 0 ||
	    nic_addrs(child(vmn, "TEMPLATE"), &out->ips) < 0)
		goto nomem;
	/* The current placement is the history record with the highest
	 * SEQ (short bodies carry only that one). */
	for (c = child(vmn, "HISTORY_RECORDS") != NULL
		     ? child(vmn, "HISTORY_RECORDS")->children
		     : NULL;
	     c != NULL; c = c->next) {
		if (!is_elem(c, "HISTORY"))
			continue;
		if (num_of(child(c, "SEQ"), 0, 1LL << 40, &seq) < 0)
			seq = -1;
		if (hist == NULL || seq >= best) {
			hist = c;
			best = seq;
		}
	}
	if (hist != NULL) {
		out->history_seq = best;
		if ((out->host_name = text_of(child(hist, "HOSTNAME"))) == NULL)
			goto nomem;
		if (num_of(child(hist, "HID"), -1, 0x7fffffff, &v) == 0 &&
		    (out->host_id = id_string(v)) == NULL)
			goto nomem;
		if (num_of(child(hist, "DS_ID"), -1, 0x7fffffff, &v) == 0)
			out->ds_id = v;
	}
	return VMH_OK;
nomem:
	rc = nomem(err);
	vmh_vm_clear(out);
	return rc;
}

enum vmh_rc
vmh_one_parse_vm(const char *xml, size_t len, struct vmh_vm *out,
		 struct vmh_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_root(xml, len, "VM", "VM document", &doc, &root,
			     err)) != VMH_OK)
		return rc;
	rc = vm_from_node(root, out, err);
	xmlFreeDoc(doc);
	return rc;
}

enum vmh_rc
vmh_one_parse_vm_pool(const char *xml, size_t len, struct vmh_vm_list *out,
		      struct vmh_error *err)
{
	struct vmh_vm *tmp;
	xmlDocPtr doc;
	xmlNodePtr root, c;
	size_t n = 0;
	enum vmh_rc rc;

	if ((rc = parse_root(xml, len, "VM_POOL", "VM_POOL document", &doc,
			     &root, err)) != VMH_OK)
		return rc;
	for (c = root->children; c != NULL; c = c->next)
		n += is_elem(c, "VM");
	if (n > 0) {
		tmp = realloc(out->vms, (out->n + n) * sizeof(*tmp));
		if (tmp == NULL) {
			rc = nomem(err);
			goto done;
		}
		out->vms = tmp;
	}
	for (c = root->children; c != NULL && rc == VMH_OK; c = c->next) {
		if (!is_elem(c, "VM"))
			continue;
		if ((rc = vm_from_node(c, &out->vms[out->n], err)) == VMH_OK)
			out->n++;
	}
done:
	xmlFreeDoc(doc);
	return rc;
}

/* ---- Datastores and configuration */

enum vmh_rc
vmh_one_parse_datastore_pool(const char *xml, size_t len, long long **ids,
			     int **shared, size_t *n, struct vmh_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, c;
	size_t count = 0;
	char *s;
	enum vmh_rc rc;

	*ids = NULL;
	*shared = NULL;
	*n = 0;
	if ((rc = parse_root(xml, len, "DATASTORE_POOL",
			     "DATASTORE_POOL document", &doc, &root, err)) !=
	    VMH_OK)
		return rc;
	for (c = root->children; c != NULL; c = c->next)
		count += is_elem(c, "DATASTORE");
	if (count > 0 &&
	    ((*ids = calloc(count, sizeof(**ids))) == NULL ||
	     (*shared = calloc(count, sizeof(**shared))) == NULL)) {
		rc = nomem(err);
		goto done;
	}
	for (c = root->children; c != NULL; c = c->next) {
		if (!is_elem(c, "DATASTORE"))
			continue;
		if (num_of(child(c, "ID"), 0, 0x7fffffff, &(*ids)[*n]) < 0) {
			rc = vmh_error_set(err, VMH_E_DATA,
					   "DATASTORE_POOL document", 0,
					   "missing or bad DATASTORE/ID");
			goto done;
		}
		if ((s = text_of(child(child(c, "TEMPLATE"), "SHARED"))) ==
		    NULL) {
			rc = nomem(err);
			goto done;
		}
		(*shared)[*n] = strcasecmp(s, "NO") != 0;
		free(s);
		(*n)++;
	}
done:
	xmlFreeDoc(doc);
	if (rc != VMH_OK) {
		free(*ids);
		free(*shared);
		*ids = NULL;
		*shared = NULL;
		*n = 0;
	}
	return rc;
}

enum vmh_rc
vmh_one_parse_monitoring_interval(const char *xml, size_t len, int *seconds,
				  struct vmh_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	long long v;
	enum vmh_rc rc;

	*seconds = 0;
	if ((rc = parse_root(xml, len, "OPENNEBULA_CONFIGURATION",
			     "system configuration", &doc, &root, err)) !=
	    VMH_OK)
		return rc;
	if (num_of(child(root, "MONITORING_INTERVAL_HOST"), 1, 86400, &v) ==
		0 ||
	    num_of(child(root, "MONITORING_INTERVAL"), 1, 86400, &v) == 0)
		*seconds = (int)v;
	xmlFreeDoc(doc);
	return VMH_OK;
}

/* ---- Templates */

/* Append len bytes of s to b as XML character data; VMH_E_DATA for a
 * control character (CR aside) XML cannot carry. */
static enum vmh_rc
put_xml_text(struct vmh_buf *b, const char *s, size_t len)
{
	enum vmh_rc rc = VMH_OK;
	size_t i;

	for (i = 0; i < len && rc == VMH_OK; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '&')
			rc = vmh_buf_puts(b, "&amp;");
		else if (ch == '<')
			rc = vmh_buf_puts(b, "&lt;");
		else if (ch == '>')
			rc = vmh_buf_puts(b, "&gt;");
		else if (ch < 0x20 && ch != '\t')
			return VMH_E_DATA;
		else
			rc = vmh_buf_append(b, &s[i], 1);
	}
	return rc;
}

/*
 * Written as oned's XML template form (<TEMPLATE><KEY>value</KEY>...):
 * exact for any value, where the KEY="value" form has escaping rules that
 * differ between oned versions.
 */
enum vmh_rc
vmh_one_update_template(const char *lines, struct vmh_buf *out,
			struct vmh_error *err)
{
	const char *p = lines, *eol, *eq, *k, *ke, *v, *ve, *q;
	char key[128];
	size_t line = 0, klen, i;
	enum vmh_rc rc;

	if ((rc = vmh_buf_puts(out, "<TEMPLATE>")) != VMH_OK)
		goto toobig;
	for (; p != NULL && *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
		line++;
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		for (k = p; k < eol && isspace((unsigned char)*k); k++)
			;
		if (k == eol)
			continue;
		if ((eq = memchr(k, '=', (size_t)(eol - k))) == NULL)
			return vmh_error_set(err, VMH_E_USAGE, "update", 0,
					     "line %zu: not KEY=value", line);
		for (ke = eq; ke > k && isspace((unsigned char)ke[-1]); ke--)
			;
		klen = (size_t)(ke - k);
		if (klen == 0 || klen >= sizeof(key) ||
		    isdigit((unsigned char)*k))
			return vmh_error_set(err, VMH_E_USAGE, "update", 0,
					     "line %zu: bad key", line);
		for (i = 0, q = k; q < ke; q++, i++) {
			if (!isalnum((unsigned char)*q) && *q != '_')
				return vmh_error_set(
				    err, VMH_E_USAGE, "update", 0,
				    "line %zu: key must be letters, digits "
				    "and _",
				    line);
			/* oned's template keys are upper case. */
			key[i] = (char)toupper((unsigned char)*q);
		}
		key[i] = '\0';
		for (v = eq + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		ve = eol;
		if (ve > v && ve[-1] == '\r')
			ve--;
		if ((rc = vmh_buf_printf(out, "<%s>", key)) != VMH_OK)
			goto toobig;
		if ((rc = put_xml_text(out, v, (size_t)(ve - v))) == VMH_E_DATA)
			return vmh_error_set(err, VMH_E_USAGE, "update", 0,
					     "line %zu: control character in "
					     "the value",
					     line);
		if (rc != VMH_OK ||
		    (rc = vmh_buf_printf(out, "</%s>", key)) != VMH_OK)
			goto toobig;
	}
	if ((rc = vmh_buf_puts(out, "</TEMPLATE>")) != VMH_OK)
		goto toobig;
	return VMH_OK;
toobig:
	return vmh_error_set(err, rc, "update", 0, "template too large");
}
