/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenStack credentials and Keystone v3 sessions, for the Nova driver.
 *
 * Where credentials come from, strongest first (what openstackclient users
 * expect):
 *   1. the `openstack` section of vmheal.conf (secrets by name from the
 *      secrets file, never inline),
 *   2. the OS_* environment variables (OS_AUTH_URL, OS_USERNAME,
 *      OS_PASSWORD, OS_PROJECT_NAME, OS_APPLICATION_CREDENTIAL_ID...),
 *   3. one cloud of clouds.yaml, named by openstack.cloud or OS_CLOUD, with
 *      secure.yaml merged over it. Both are looked up as openstacksdk does:
 *      $OS_CLIENT_CONFIG_FILE (secure: $OS_CLIENT_SECURE_FILE), then
 *      ./clouds.{yaml,yml,json}, $XDG_CONFIG_HOME/openstack (default
 *      ~/.config/openstack), ~/.config/openstack, the first directory of
 *      $XDG_CONFIG_DIRS + /openstack (default /etc/xdg/openstack),
 *      /etc/openstack; the first file found wins, unreadable ones are
 *      skipped. A file that holds a password or secret must not be
 *      readable by group or others.
 *
 * Authentication: Keystone v3 "password" (user by name + domain or by id,
 * project-scoped) or "application_credential" (by id, or by name + user).
 * The auth type is taken from auth_type / OS_AUTH_TYPE, or guessed from
 * which fields are present. The token (X-Subject-Token) is renewed when
 * less than a minute (a tenth of its lifetime for short-lived tokens) is
 * left, and on demand after a 401. Passwords, secrets and tokens are
 * registered with vmh_log_add_secret() and never logged.
 *
 * TLS: cacert / OS_CACERT (a private CA), insecure / OS_INSECURE / verify:
 * false, and a client certificate: cert / OS_CERT with key / OS_KEY (PEM
 * files; only their names are kept, never the key itself). They are
 * checked when the credentials are loaded: unreadable files, and a key
 * file (or a cert file without a separate key) readable by group or
 * others, are configuration errors.
 */
#ifndef VMH_OSAUTH_H
#define VMH_OSAUTH_H

#include <jansson.h>

#include "conf.h"
#include "error.h"
#include "http.h"

/* The `openstack` section of vmheal.conf. */
struct vmh_openstack_conf {
	char *cloud;     /* clouds.yaml entry; NULL: OS_CLOUD */
	char *auth_url;  /* these override OS_* and clouds.yaml */
	char *auth_type; /* "password" or "v3applicationcredential" */
	char *username;
	char *user_id;
	char *user_domain_name;
	char *user_domain_id;
	char *project_name;
	char *project_id;
	char *project_domain_name;
	char *project_domain_id;
	char *password_secret; /* name of a secret in secrets_file */
	char *application_credential_id;
	char *application_credential_name;
	char *application_credential_secret; /* name of a secret */
	char *region;
	char *interface; /* public (default), internal, admin */
	char *cacert;
	char *cert; /* TLS client certificate (PEM) */
	char *key;  /* its private key (PEM, unencrypted, mode 0600) */
	int insecure;
	int timeout_s;             /* per request */
	int connect_timeout_s;     /* TCP + TLS */
	int monitoring_interval_s; /* what -p N waits per cycle; default 60 */
	int enable_wait_s; /* host_enable: wait for the service to be up */
	char *ha_key;      /* Masakari's metadata key, default HA_Enabled */
	char *lock_reason; /* reason of vmheal's locks (2.73) */
	char *min_microversion; /* refuse below; default "2.53" */
	char *max_microversion; /* pin; default "2.73" */
};

enum vmh_rc vmh_openstack_conf_parse(const vmh_setting *group,
				     struct vmh_openstack_conf **out,
				     struct vmh_error *err);
/* Defaults, for a configuration without the section. */
enum vmh_rc vmh_openstack_conf_default(struct vmh_openstack_conf **out,
				       struct vmh_error *err);
void vmh_openstack_conf_free(struct vmh_openstack_conf *c);

enum vmh_os_auth_type {
	VMH_OS_AUTH_PASSWORD,
	VMH_OS_AUTH_APPCRED,
};

/* Resolved credentials. Strings may be NULL when not given. */
struct vmh_os_creds {
	enum vmh_os_auth_type type;
	char *auth_url; /* normalised: ends in /v3, no trailing slash */
	char *username, *user_id, *user_domain_name, *user_domain_id;
	char *project_name, *project_id, *project_domain_name,
	    *project_domain_id;
	char *default_domain; /* OS_DEFAULT_DOMAIN, domain id */
	char *password;       /* secret */
	char *appcred_id, *appcred_name, *appcred_secret; /* secret */
	char *region;
	char *interface;
	char *cacert;
	char *cert, *key; /* TLS client certificate and key files (PEM); a
			     cert without key holds the key itself */
	const char *cacert_from, *cert_from, *key_from; /* "OS_CERT"... */
	int insecure;
	char *origin; /* "clouds.yaml /path (cloud x)", "environment"... */
};

/* Find the credentials (files and environment only, no network). The
 * secret values are registered with the log masker. */
enum vmh_rc vmh_os_creds_load(const struct vmh_conf *conf,
			      const struct vmh_openstack_conf *oc,
			      struct vmh_os_creds **out, struct vmh_error *err);
void vmh_os_creds_free(struct vmh_os_creds *c);

/* Is OpenStack configured by the environment (OS_CLOUD or OS_AUTH_URL)? */
int vmh_os_env_present(void);

/* Parse a YAML (or JSON) file into a jansson tree: mappings become
 * objects, sequences arrays, scalars strings. Aliases are refused; size
 * and depth are bounded. */
enum vmh_rc vmh_yaml_load(const char *path, json_t **out,
			  struct vmh_error *err);

/* A Keystone v3 session over an HTTP client the caller owns. */
struct vmh_os_session;

enum vmh_rc vmh_os_session_new(const struct vmh_os_creds *creds,
			       struct vmh_http *http, long timeout_ms,
			       struct vmh_os_session **out,
			       struct vmh_error *err);
void vmh_os_session_free(struct vmh_os_session *s);

/* A valid token (borrowed until the next call), authenticating when there
 * is none, it is about to expire, or force is set (after a 401). */
enum vmh_rc vmh_os_token(struct vmh_os_session *s, int force,
			 const char **token, struct vmh_error *err);

/* The endpoint of a service type (e.g. "compute") for the configured
 * interface and region, without a trailing slash. Authenticates first if
 * needed. Fails when several regions offer it and none is configured. */
enum vmh_rc vmh_os_endpoint(struct vmh_os_session *s, const char *type,
			    char **url, struct vmh_error *err);

/* Facts of the current token (valid after vmh_os_token()). */
int vmh_os_is_admin(const struct vmh_os_session *s);
const char *vmh_os_project_id(const struct vmh_os_session *s);
long long vmh_os_expires(const struct vmh_os_session *s);
unsigned long vmh_os_auth_count(const struct vmh_os_session *s);

/* Parse an ISO 8601 UTC time ("2015-11-07T02:58:43.578887Z", offset or
 * not) into epoch seconds. VMH_E_DATA if malformed. */
enum vmh_rc vmh_os_parse_time(const char *s, long long *out);

/* One line for an OpenStack error answer: the message of a Nova fault
 * body ({"badRequest": {"code": 400, "message": "..."}}) or a Keystone
 * one ({"error": {"message": ...}}), else the start of the body. */
void vmh_os_error_text(const char *body, size_t len, char *dst, size_t dstlen);

#endif
