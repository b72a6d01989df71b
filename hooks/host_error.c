/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host_error: recover the VMs of a failed compute host. Run by the cloud's
 * host state hook (any OpenNebula generation) or by an operator. The work is
 * in lib/hosterr.c; this file reads the invocation and maps the outcome to
 * an exit status.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "cli.h"
#include "cloud.h"
#include "hosterr.h"
#include "log.h"
#include "str.h"

/* Hook arguments on stdin (OpenNebula 6+): base64 XML and options. */
#define STDIN_MAX        (16 * 1024 * 1024)
#define STDIN_TOKENS_MAX 64

enum { OPT_HOST = VMH_OPT_PRIVATE, OPT_STATUS, OPT_FORCE, OPT_RESTORE };

struct args {
	struct vmh_cli cli;
	struct vmh_hosterr_opts opts;
	const char *positional;
	int status;
	int restore;
	int n_positional;
	const char *extra;
};

static void
help(void)
{
	printf("Usage: host_error [OPTION]... [HOST_ID | BASE64_HOST_XML] "
	       "[-r|-d|-m] [-f] [-p N] [-u]\n"
	       "  or:  host_error [OPTION]... --host NAME|ID\n"
	       "  or:  host_error [OPTION]... --status [HOST]\n"
	       "  or:  host_error [OPTION]... --restore --host NAME|ID\n"
	       "Fence a failed compute host and recover its virtual machines.\n"
	       "\n"
	       "With no host argument and no --host, the arguments are read "
	       "from standard\ninput (OpenNebula 6+ hooks with "
	       "ARGUMENTS_STDIN=yes).\n"
	       "\n"
	       "Recovery (compatible with OpenNebula's host_error.rb):\n"
	       "  -r, --recreate        delete and recreate the VMs "
	       "(recover op 4)\n"
	       "  -d, --delete          delete the VMs (recover op 3)\n"
	       "  -m, --migrate         reschedule the VMs to another host\n"
	       "  -f, --force           also recover SUSPENDED and POWEROFF "
	       "VMs\n"
	       "  -p, --pause=N         wait N monitoring cycles, then "
	       "re-check the host\n"
	       "  -u, --no-fencing      do not fence the host (unsafe)\n"
	       "      --host=NAME|ID    the failed host, by name or ID\n"
	       "      --ignore-storm    act even when too many hosts fail at "
	       "once\n"
	       "      --status          show the incidents and their VMs\n"
	       "      --restore         bring a repaired host back into "
	       "scheduling\n"
	       "\n"
	       "Common options:\n%s"
	       "\n"
	       "Exit status: 0 done or nothing to do, 64 usage, 65 bad input,\n"
	       "66 no such host, 69 cloud unavailable, 75 try again, 78 "
	       "configuration,\n80 fencing failed (nothing recovered), 81 "
	       "partially recovered,\n82 host isolated, 83 failure storm.\n"
	       "See host_error(8).\n",
	       vmh_cli_common_help);
}

/* Parse argv into a; returns -1 to go on, or an exit status. */
static int
parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "recreate", no_argument, NULL, 'r' },
		{ "delete", no_argument, NULL, 'd' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "pause", required_argument, NULL, 'p' },
		{ "no-fencing", no_argument, NULL, 'u' },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "ignore-storm", no_argument, NULL, OPT_FORCE },
		{ "restore", no_argument, NULL, OPT_RESTORE },
		{ NULL, 0, NULL, 0 },
	};
	struct vmh_error err;
	long long n;
	int opt;

	vmh_error_init(&err);
	optind = 0; /* GNU: re-initialise, argv may be a new vector */
	while ((opt = getopt_long(argc, argv, VMH_CLI_SHORTOPTS "rdmfp:u",
				  longopts, NULL)) != -1) {
		switch (vmh_cli_option(&a->cli, opt, help)) {
		case VMH_CLI_HANDLED:
			continue;
		case VMH_CLI_EXIT_OK:
			return VMH_EXIT_OK;
		case VMH_CLI_EXIT_USAGE:
			return VMH_EXIT_USAGE;
		case VMH_CLI_NOT_MINE:
			break;
		}
		switch (opt) {
		case 'r':
			a->opts.mode = VMH_HA_RECREATE; /* last wins, */
			break; /* as in host_error.rb */
		case 'd':
			a->opts.mode = VMH_HA_DELETE;
			break;
		case 'm':
			a->opts.mode = VMH_HA_MIGRATE;
			break;
		case 'f':
			a->opts.include_suspended = 1;
			break;
		case 'u':
			a->opts.no_fencing = 1;
			break;
		case 'p':
			if (vmh_strtonum(optarg, 0, 1000, &n, "-p", &err) !=
			    VMH_OK)
				return vmh_cli_usage_error(&a->cli, "%s",
							   err.text);
			a->opts.pause_cycles = (int)n;
			break;
		case OPT_HOST:
			a->opts.host = optarg;
			break;
		case OPT_STATUS:
			a->status = 1;
			break;
		case OPT_FORCE:
			a->opts.force = 1;
			break;
		case OPT_RESTORE:
			a->restore = 1;
			break;
		default:
			return vmh_cli_usage_error(&a->cli,
						   "unexpected option");
		}
	}
	a->n_positional = argc - optind;
	if (a->n_positional > 0)
		a->positional = argv[optind];
	if (a->n_positional > 1)
		a->extra = argv[optind + 1];
	return -1;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct vmh_conf *conf = NULL;
	struct vmh_cloud *cloud = NULL;
	struct vmh_hosterr_report report = { 0 };
	struct vmh_error err;
	struct vmh_buf in;
	char **argv2 = NULL;
	char *host_id = NULL, *host_name = NULL, *host_xml = NULL;
	int status, argc2 = 0, curl_ready = 0;
	enum vmh_rc rc;

	memset(&a, 0, sizeof(a));
	vmh_cli_init(&a.cli, "host_error", argv);
	a.opts.mode = VMH_HA_UNSET;
	vmh_error_init(&err);
	vmh_buf_init(&in, STDIN_MAX);
	if ((status = parse(argc, argv, &a)) >= 0)
		goto done;

	/* OpenNebula 6+ with ARGUMENTS_STDIN: no argv, "<b64> -m -p 5" on
	 * stdin. The stdin words are parsed like command-line words. */
	if (a.restore && a.opts.host == NULL) {
		status = vmh_cli_usage_error(&a.cli, "--restore needs --host");
		goto done;
	}
	if (!a.status && !a.restore && a.positional == NULL &&
	    a.opts.host == NULL && !a.cli.check_config) {
		if (vmh_cli_stdin_argv(&in, argc, argv, STDIN_TOKENS_MAX,
				       &argv2, &argc2, &err) != VMH_OK) {
			status = vmh_cli_fail(&err);
			goto done;
		}
		if (argc2 == argc) {
			status = vmh_cli_usage_error(
			    &a.cli, "no host given: pass a host ID or the "
				    "base64 <HOST> document, --host NAME, "
				    "or the hook arguments on stdin");
			goto done;
		}
		if ((status = parse(argc2, argv2, &a)) >= 0)
			goto done;
	}
	if (a.opts.host != NULL && a.positional != NULL) {
		status = vmh_cli_usage_error(&a.cli, "--host and a host "
						     "argument are exclusive");
		goto done;
	}
	if (a.extra != NULL && !a.status) {
		status = vmh_cli_usage_error(&a.cli, "unexpected argument '%s'",
					     a.extra);
		goto done;
	}
	if ((status = vmh_cli_start(&a.cli, &conf)) >= 0)
		goto done;

	if (a.status) {
		rc = vmh_hosterr_status(
		    conf, a.positional ? a.positional : a.opts.host, a.cli.json,
		    stdout, &err);
		status = rc == VMH_OK ? VMH_EXIT_OK : vmh_cli_fail(&err);
		goto done;
	}
	if (a.positional != NULL) {
		if (vmh_hosterr_parse_hook_arg(a.positional, &host_id,
					       &host_name, &host_xml,
					       &err) != VMH_OK) {
			status = vmh_cli_fail(&err);
			goto done;
		}
		a.opts.host = host_id;
		a.opts.host_xml = host_xml;
	}
	a.opts.dry_run = a.cli.dry_run;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_ready = 1;
	if (vmh_cloud_open(conf, &cloud, &err) != VMH_OK) {
		status = vmh_cli_fail(&err);
		goto done;
	}
	if (a.restore) {
		rc = vmh_hosterr_restore(conf, cloud, a.opts.host,
					 a.cli.dry_run, &err);
		status = rc == VMH_OK ? VMH_EXIT_OK : vmh_cli_fail(&err);
		goto done;
	}
	rc = vmh_hosterr_run(conf, cloud, &a.opts, &report, &err);
	if (a.cli.json)
		vmh_hosterr_report_json(&report, stdout);
	else
		vmh_hosterr_report_print(&report, stdout);
	if (rc != VMH_OK)
		status = vmh_cli_fail(&err);
	else
		status = VMH_EXIT_OK;
done:
	vmh_hosterr_report_free(&report);
	vmh_cloud_close(cloud);
	vmh_conf_free(conf);
	vmh_buf_free(&in);
	free(argv2);
	free(host_id);
	free(host_name);
	free(host_xml);
	if (curl_ready)
		curl_global_cleanup();
	vmh_log_clear_secrets();
	return status;
}
