/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmheal_fence: run the configured fence chain against one host by hand, to
 * test a host's fencing configuration (--dry-run shows what would run,
 * without secrets), to ask for its power state, or to fence it for real.
 * Nothing is recovered. The work is in lib/fence.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <curl/curl.h>

#include "buf.h"
#include "cli.h"
#include "cloud.h"
#include "fence.h"
#include "log.h"
#include "str.h"

#define HOST_XML_MAX (16 * 1024 * 1024)
#define ATTRS_MAX    512

enum {
	OPT_HOST = VMH_OPT_PRIVATE,
	OPT_ID,
	OPT_ATTR,
	OPT_HOST_XML,
	OPT_ACTION,
	OPT_FROM_CLOUD,
};

static void
help(void)
{
	printf(
	    "Usage: vmheal_fence [OPTION]... --host NAME [--attr KEY=VALUE]..."
	    "\n"
	    "  or:  vmheal_fence [OPTION]... --host-xml FILE\n"
	    "Run the fence chain of vmheal.conf against one host: power it "
	    "off and\nverify (default), ask for its power state, or power "
	    "it on. No VM is\nrecovered. Test a host's configuration with "
	    "--dry-run first.\n"
	    "\n"
	    "Host:\n"
	    "      --host=NAME       the host's name (sent as nodename=)\n"
	    "      --id=N            the host's cloud ID\n"
	    "      --attr=KEY=VALUE  a host template attribute, e.g. "
	    "FENCE_IP=10.0.0.5\n"
	    "                        (repeatable; overrides --host-xml)\n"
	    "      --host-xml=FILE   the host's <HOST> document, plain or "
	    "base64 ('-':\n"
	    "                        stdin): name, ID and TEMPLATE "
	    "attributes, and the\n"
	    "                        input of script levels\n"
	    "      --from-cloud      read the host (attributes and document) "
	    "from the\n"
	    "                        cloud of vmheal.conf, by --host or --id\n"
	    "      --action=ACTION   off (default), status or on\n"
	    "\n"
	    "Common options:\n%s"
	    "\n"
	    "Exit status: 0 fenced and verified (status: the power state "
	    "was read;\ndry run: a level could run), 64 usage, 65 bad "
	    "input, 70 internal error,\n71 system error, 78 configuration, "
	    "80 not fenced (every level failed).\nSee vmheal_fence(8).\n",
	    vmh_cli_common_help);
}

/* The host as the fence chain sees it; owns its strings. */
struct host {
	char *name;
	long long id;
	char *xml;
	char *attrs[2 * ATTRS_MAX + 1]; /* key, value, ..., NULL */
	size_t n_attrs;                 /* strings used in attrs */
};

static void
host_free(struct host *h)
{
	size_t i;

	free(h->name);
	free(h->xml);
	for (i = 0; i < h->n_attrs; i++)
		free(h->attrs[i]);
}

/* Set attribute key (case-insensitive) to value; the last setting wins. */
static enum vmh_rc
host_set_attr(struct host *h, const char *key, size_t keylen, const char *value,
	      struct vmh_error *err)
{
	char *k = NULL, *v = NULL;
	size_t i;

	if ((v = strdup(value)) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	for (i = 0; i < h->n_attrs; i += 2)
		if (strlen(h->attrs[i]) == keylen &&
		    strncasecmp(h->attrs[i], key, keylen) == 0) {
			free(h->attrs[i + 1]);
			h->attrs[i + 1] = v;
			return VMH_OK;
		}
	if (h->n_attrs / 2 >= ATTRS_MAX) {
		free(v);
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "more than %d host attributes", ATTRS_MAX);
	}
	if ((k = strndup(key, keylen)) == NULL) {
		free(v);
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	}
	h->attrs[h->n_attrs++] = k;
	h->attrs[h->n_attrs++] = v;
	h->attrs[h->n_attrs] = NULL;
	return VMH_OK;
}

/* Read a whole file ("-": stdin) up to HOST_XML_MAX bytes. */
static enum vmh_rc
read_file(const char *path, char **out, struct vmh_error *err)
{
	struct vmh_buf b;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char chunk[8192];
	size_t n;
	enum vmh_rc rc = VMH_OK;

	*out = NULL;
	if (f == NULL)
		return vmh_error_errno(err, errno, path, "cannot read");
	vmh_buf_init(&b, HOST_XML_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (vmh_buf_append(&b, chunk, n) != VMH_OK) {
			rc =
			    vmh_error_set(err, VMH_E_TOOBIG, path, 0,
					  "larger than %d bytes", HOST_XML_MAX);
			goto done;
		}
	if (ferror(f)) {
		rc = vmh_error_errno(err, errno, path, "cannot read");
		goto done;
	}
	if ((*out = vmh_buf_steal(&b)) == NULL)
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
done:
	if (f != stdin)
		fclose(f);
	vmh_buf_free(&b);
	return rc;
}

/* Text of the first child element of parent called name, or NULL. */
static xmlNode *
child(xmlNode *parent, const char *name)
{
	xmlNode *n;

	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, (const xmlChar *)name) == 0)
			return n;
	return NULL;
}

/*
 * Take name, ID and the simple TEMPLATE attributes from a <HOST> document
 * (OpenNebula's one.host.info answer or a hook's $TEMPLATE, plain or
 * base64). Attributes already set by --attr are kept.
 */
static enum vmh_rc
host_from_xml(struct host *h, const char *path, struct vmh_error *err)
{
	xmlDoc *doc = NULL;
	xmlNode *root, *n, *tmpl;
	xmlChar *text = NULL;
	char *raw = NULL, *decoded = NULL;
	const char *p;
	size_t len;
	enum vmh_rc rc;

	if ((rc = read_file(path, &raw, err)) != VMH_OK)
		goto done;
	for (p = raw; isspace((unsigned char)*p); p++)
		;
	if (*p != '<') {
		if ((rc = vmh_base64_decode(raw, strlen(raw), &decoded, &len,
					    err)) != VMH_OK)
			goto done;
		free(raw);
		raw = decoded;
		decoded = NULL;
	}
	doc = xmlReadMemory(raw, (int)strlen(raw), "host.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	if (root == NULL || xmlStrcmp(root->name, (const xmlChar *)"HOST")) {
		rc = vmh_error_set(err, VMH_E_DATA, path, 0,
				   "not a <HOST> XML document");
		goto done;
	}
	if (h->name == NULL && (n = child(root, "NAME")) != NULL) {
		text = xmlNodeGetContent(n);
		h->name = strdup((const char *)text);
		xmlFree(text);
		text = NULL;
	}
	if (h->id < 0 && (n = child(root, "ID")) != NULL) {
		long long id;

		text = xmlNodeGetContent(n);
		if ((rc = vmh_strtonum((const char *)text, 0, 0x7fffffff, &id,
				       "HOST/ID", err)) != VMH_OK)
			goto done;
		h->id = id;
	}
	if ((tmpl = child(root, "TEMPLATE")) != NULL)
		for (n = tmpl->children; n != NULL; n = n->next) {
			size_t i, known = 0;

			/* Vector attributes (elements with children) are not
			 * fence options. */
			if (n->type != XML_ELEMENT_NODE ||
			    xmlFirstElementChild(n) != NULL)
				continue;
			for (i = 0; i < h->n_attrs; i += 2)
				if (strcasecmp(h->attrs[i],
					       (const char *)n->name) == 0)
					known = 1;
			if (known)
				continue;
			xmlFree(text);
			text = xmlNodeGetContent(n);
			if ((rc = host_set_attr(h, (const char *)n->name,
						strlen((const char *)n->name),
						text ? (const char *)text : "",
						err)) != VMH_OK)
				goto done;
		}
	h->xml = raw;
	raw = NULL;
	rc = VMH_OK;
done:
	xmlFree(text);
	xmlFreeDoc(doc);
	free(raw);
	free(decoded);
	return rc;
}

/*
 * Everything known about the host: the command line first, then its XML.
 * The one place a cloud lookup (one.host.info) will plug in.
 */
static enum vmh_rc
load_target(struct host *h, const char *name, long long id,
	    char *const *attr_args, size_t n_attr_args, const char *xml_path,
	    struct vmh_error *err)
{
	size_t i;
	enum vmh_rc rc;

	/* A host read from the cloud already has its name and ID. */
	if (h->id < 0)
		h->id = id;
	if (name != NULL && h->name == NULL && (h->name = strdup(name)) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	for (i = 0; i < n_attr_args; i++) {
		const char *eq = strchr(attr_args[i], '=');

		if (eq == NULL || eq == attr_args[i])
			return vmh_error_set(err, VMH_E_USAGE, NULL, 0,
					     "--attr %s: KEY=VALUE expected",
					     attr_args[i]);
		if ((rc = host_set_attr(h, attr_args[i],
					(size_t)(eq - attr_args[i]), eq + 1,
					err)) != VMH_OK)
			return rc;
	}
	if (xml_path != NULL &&
	    (rc = host_from_xml(h, xml_path, err)) != VMH_OK)
		return rc;
	if (h->name == NULL)
		return vmh_error_set(err, VMH_E_USAGE, NULL, 0,
				     "no host: give --host NAME or "
				     "--host-xml FILE");
	return VMH_OK;
}

/* The host as the cloud knows it: what host_error gives the chain. */
static enum vmh_rc
host_from_cloud(struct host *h, const struct vmh_conf *conf, const char *ref,
		struct vmh_error *err)
{
	struct vmh_cloud *cloud = NULL;
	struct vmh_host *ch = NULL;
	enum vmh_rc rc;
	long long id = -1;
	size_t i;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((rc = vmh_cloud_open(conf, &cloud, err)) != VMH_OK ||
	    (rc = vmh_cloud_host_get(cloud, ref, &ch, err)) != VMH_OK)
		goto done;
	free(h->name);
	h->name = strdup(ch->name);
	if (vmh_strtonum(ch->id, 0, 0x7fffffffffffLL, &id, "id", NULL) ==
	    VMH_OK)
		h->id = id;
	if (ch->document != NULL) {
		free(h->xml);
		h->xml = strdup(ch->document);
	}
	for (i = 0; ch->attrs != NULL && ch->attrs[i] != NULL &&
		    ch->attrs[i + 1] != NULL;
	     i += 2)
		if ((rc = host_set_attr(h, ch->attrs[i], strlen(ch->attrs[i]),
					ch->attrs[i + 1], err)) != VMH_OK)
			goto done;
	if (h->name == NULL)
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
done:
	vmh_host_free(ch);
	vmh_cloud_close(cloud);
	curl_global_cleanup();
	return rc;
}

static int
output(const struct vmh_cli *cli, const struct vmh_fence_report *r)
{
	char *json;

	if (!cli->json) {
		vmh_fence_report_print(r, stdout, cli->verbose);
		return 0;
	}
	if ((json = vmh_fence_report_json(r)) == NULL)
		return -1;
	printf("%s\n", json);
	free(json);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "host", required_argument, NULL, OPT_HOST },
		{ "id", required_argument, NULL, OPT_ID },
		{ "attr", required_argument, NULL, OPT_ATTR },
		{ "host-xml", required_argument, NULL, OPT_HOST_XML },
		{ "action", required_argument, NULL, OPT_ACTION },
		{ "from-cloud", no_argument, NULL, OPT_FROM_CLOUD },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const actions[] = { "off", "status", "on", NULL };
	struct vmh_cli cli;
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	struct vmh_fence_report report;
	struct vmh_fence_target target;
	struct host host;
	char **attr_args = NULL;
	const char *name = NULL, *xml_path = NULL;
	long long id = -1;
	size_t n_attr_args = 0;
	int opt, status, action = VMH_FENCE_OFF, i, from_cloud = 0;
	char idtext[32];
	enum vmh_rc rc;

	vmh_cli_init(&cli, "vmheal_fence", argv);
	vmh_error_init(&err);
	vmh_fence_report_init(&report);
	memset(&host, 0, sizeof(host));
	host.id = -1;
	if ((attr_args = calloc((size_t)argc + 1, sizeof(*attr_args))) ==
	    NULL) {
		fprintf(stderr, "vmheal_fence: out of memory\n");
		return VMH_EXIT_OSERR;
	}
	while ((opt = getopt_long(argc, argv, VMH_CLI_SHORTOPTS, longopts,
				  NULL)) != -1) {
		switch (vmh_cli_option(&cli, opt, help)) {
		case VMH_CLI_HANDLED:
			continue;
		case VMH_CLI_EXIT_OK:
			status = VMH_EXIT_OK;
			goto done;
		case VMH_CLI_EXIT_USAGE:
			status = VMH_EXIT_USAGE;
			goto done;
		case VMH_CLI_NOT_MINE:
			break;
		}
		switch (opt) {
		case OPT_HOST:
			name = optarg;
			break;
		case OPT_ID:
			if (vmh_strtonum(optarg, 0, 0x7fffffff, &id, "--id",
					 &err) != VMH_OK) {
				status =
				    vmh_cli_usage_error(&cli, "%s", err.text);
				goto done;
			}
			break;
		case OPT_ATTR:
			attr_args[n_attr_args++] = optarg;
			break;
		case OPT_HOST_XML:
			xml_path = optarg;
			break;
		case OPT_FROM_CLOUD:
			from_cloud = 1;
			break;
		case OPT_ACTION:
			for (i = 0; actions[i] != NULL; i++)
				if (strcmp(actions[i], optarg) == 0)
					action = i;
			if (strcmp(actions[action], optarg) != 0) {
				status = vmh_cli_usage_error(
				    &cli,
				    "--action: '%s' is not off, status "
				    "or on",
				    optarg);
				goto done;
			}
			break;
		default:
			status = vmh_cli_usage_error(&cli, "unexpected option");
			goto done;
		}
	}
	if (optind < argc) {
		status = vmh_cli_usage_error(&cli, "unexpected argument '%s'",
					     argv[optind]);
		goto done;
	}
	if (from_cloud && xml_path != NULL) {
		status =
		    vmh_cli_usage_error(&cli, "--from-cloud and --host-xml "
					      "are exclusive");
		goto done;
	}
	if (from_cloud && name == NULL && id >= 0) {
		snprintf(idtext, sizeof(idtext), "%lld", id);
		name = idtext;
	}
	if (name == NULL && xml_path == NULL && !cli.check_config) {
		status = vmh_cli_usage_error(&cli, "--host NAME or --host-xml "
						   "FILE is required");
		goto done;
	}

	if ((status = vmh_cli_start(&cli, &conf)) >= 0)
		goto done;
	if (conf->fence == NULL) {
		vmh_error_set(&err, VMH_E_CONFIG,
			      conf->path ? conf->path : "(built-in defaults)",
			      0, "no fence section: nothing to run");
		status = vmh_cli_fail(&err);
		goto done;
	}
	if (from_cloud &&
	    (rc = host_from_cloud(&host, conf, name, &err)) != VMH_OK) {
		status = vmh_cli_fail(&err);
		goto done;
	}
	if ((rc = load_target(&host, name, id, attr_args, n_attr_args, xml_path,
			      &err)) != VMH_OK) {
		status = rc == VMH_E_USAGE
			     ? vmh_cli_usage_error(&cli, "%s", err.text)
			     : vmh_cli_fail(&err);
		goto done;
	}
	memset(&target, 0, sizeof(target));
	target.name = host.name;
	target.id = host.id;
	target.attrs = (const char *const *)host.attrs;
	target.host_xml = host.xml;

	switch (action) {
	case VMH_FENCE_STATUS:
		rc = vmh_fence_status(conf->fence, conf, &target, cli.dry_run,
				      NULL, &report, &err);
		break;
	case VMH_FENCE_ON:
		rc = vmh_fence_power_on(conf->fence, conf, &target, cli.dry_run,
					&report, &err);
		break;
	default:
		rc = vmh_fence_host(conf->fence, conf, &target, cli.dry_run,
				    &report, &err);
		break;
	}
	/* A report exists for every outcome of the chain; print it first,
	 * the reason for the exit status comes last. */
	if (report.host != NULL && output(&cli, &report) < 0) {
		vmh_error_reset(&err);
		rc = vmh_error_set(&err, VMH_E_NOMEM, NULL, 0, "out of memory");
	}
	status = rc == VMH_OK ? VMH_EXIT_OK : vmh_rc_to_exit(rc);
	if (rc != VMH_OK && rc != VMH_E_FENCE)
		status = vmh_cli_fail(&err);
done:
	fflush(stdout);
	vmh_fence_report_free(&report);
	host_free(&host);
	free(attr_args);
	vmh_conf_free(conf);
	vmh_log_clear_secrets();
	xmlCleanupParser();
	return status;
}
