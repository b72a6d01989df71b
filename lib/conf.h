/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration file (libconfig syntax, see vmheal.conf(5)): read once,
 * validated completely (unknown keys and wrong types are errors reported as
 * "file:line: what"), then immutable. Each module that has settings owns a
 * section parser built on the helpers below, so the schema of a section
 * lives next to the code that uses it.
 */
#ifndef VMH_CONF_H
#define VMH_CONF_H

#include <stddef.h>

#include "error.h"

#define VMH_CONF_DEFAULT_PATH SYSCONFDIR "/vmheal/vmheal.conf"

struct config_setting_t; /* libconfig, kept out of this header */

/* Secrets read from the private secrets file: name = "value" pairs. */
struct vmh_secret {
	char *name;
	char *value;
};

struct vmh_conf_opennebula {
	char *endpoint;    /* NULL: ONE_XMLRPC / one_endpoint lookup */
	char *auth_file;   /* NULL: ONE_AUTH / one_auth lookup */
	char *auth_secret; /* name of a secret holding "user:password" */
	char *cacert;      /* PEM bundle replacing the system store; NULL:
			      the system store */
	char *ca_dir;      /* extra trusted CAs (PEM files); NULL:
			      ONE_CERT_DIR, else none */
	int timeout_s;     /* per call; 0 (not set): ONE_XMLRPC_TIMEOUT,
			      else 30 */
	int connect_timeout_s;
	int monitoring_interval_s; /* 0: ask oned, else 60 */
};

struct vmh_fence_conf;     /* lib/fence.h */
struct vmh_hosterr_conf;   /* lib/hosterr.h (later) */
struct vmh_netfence_conf;  /* lib/netfence.h (later) */
struct vmh_openstack_conf; /* lib/osauth.h */
struct vmh_vmfail_conf;    /* lib/vmfail.h */
struct vmh_vmprobe_conf;   /* lib/vmprobe.h */

struct vmh_conf {
	char *path;      /* file read, or NULL for built-in defaults */
	char *cloud;     /* "opennebula" or "openstack" */
	char *state_dir; /* locks, journals, counters */
	char *secrets_file;
	int log_json; /* JSON lines on stderr */
	int syslog_facility;
	int http_max_concurrency;
	size_t http_max_response;
	struct vmh_conf_opennebula one;
	struct vmh_secret *secrets; /* from secrets_file */
	size_t n_secrets;
	struct vmh_fence_conf *fence;       /* NULL if no fence section */
	struct vmh_hosterr_conf *hosterr;   /* NULL if no host_error section */
	struct vmh_netfence_conf *netfence; /* NULL if no net_fence section */
	struct vmh_openstack_conf *openstack; /* NULL if no openstack section */
	struct vmh_vmfail_conf *vmfail;   /* NULL if no vm_failure section */
	struct vmh_vmprobe_conf *vmprobe; /* NULL if no vm_probe section */
	int cloud_set; /* `cloud` was in the file (else OS_CLOUD/OS_AUTH_URL
			  may choose OpenStack) */
};

/*
 * Read and validate path. If path is NULL the default path is read when it
 * exists, built-in defaults are used otherwise. On error *out is NULL and err
 * says "file:line: what". The caller frees *out with vmh_conf_free().
 */
enum vmh_rc vmh_conf_load(const char *path, struct vmh_conf **out,
			  struct vmh_error *err);
void vmh_conf_free(struct vmh_conf *conf);

/* The value of a secret from the secrets file, or NULL. Borrowed. */
const char *vmh_conf_secret(const struct vmh_conf *conf, const char *name);

/*
 * Refuse a file that holds secrets when group or world can read it, or when
 * it is owned by neither root nor the running user (relayd's
 * check_file_secrecy). what names the file's role in the message.
 */
enum vmh_rc vmh_conf_check_secrecy(const char *path, const char *what,
				   struct vmh_error *err);

/*
 * Helpers for section parsers. Each reports "file:line: key: what" through
 * err and returns VMH_E_CONFIG on a wrong type or range. A missing key keeps
 * *out unchanged (so callers preset defaults).
 */
typedef struct config_setting_t vmh_setting;

enum vmh_rc vmh_conf_check_keys(const vmh_setting *group,
				const char *const *allowed,
				struct vmh_error *err);
enum vmh_rc vmh_conf_get_int(const vmh_setting *group, const char *key,
			     long long min, long long max, int *out,
			     struct vmh_error *err);
enum vmh_rc vmh_conf_get_size(const vmh_setting *group, const char *key,
			      long long min, long long max, size_t *out,
			      struct vmh_error *err);
enum vmh_rc vmh_conf_get_bool(const vmh_setting *group, const char *key,
			      int *out, struct vmh_error *err);
/* *out is replaced by an allocated copy (the old value is freed). */
enum vmh_rc vmh_conf_get_string(const vmh_setting *group, const char *key,
				char **out, struct vmh_error *err);
/* One of choices[]; *out gets its index. */
enum vmh_rc vmh_conf_get_enum(const vmh_setting *group, const char *key,
			      const char *const *choices, int *out,
			      struct vmh_error *err);
/* A list or array of strings into a NULL-terminated allocated vector. */
enum vmh_rc vmh_conf_get_strv(const vmh_setting *group, const char *key,
			      char ***out, struct vmh_error *err);
void vmh_strv_free(char **v);

/* Record "file:line: fmt" for setting s. Returns VMH_E_CONFIG. */
enum vmh_rc vmh_conf_error(const vmh_setting *s, struct vmh_error *err,
			   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
