/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_probe: agentless liveness probes of VMs (ICMP, TCP, HTTP(S), exec
 * checks) and healing after repeated failures. Runs in the foreground under
 * systemd; --once probes every target once and reports; --status asks the
 * running daemon for its status. The work is in lib/vmprobe.c.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "http.h"
#include "log.h"
#include "vmprobe.h"

enum { OPT_ONCE = VMH_OPT_PRIVATE, OPT_STATUS };

static void
help(void)
{
	printf(
	    "Usage: vm_probe [OPTION]...\n"
	    "  or:  vm_probe [OPTION]... --once\n"
	    "  or:  vm_probe [OPTION]... --status\n"
	    "Probe VMs (ICMP, TCP, HTTP(S), exec checks) and heal those "
	    "that stop\nanswering. Without --once or --status, run in the "
	    "foreground until SIGTERM;\nSIGHUP reloads the configuration, "
	    "SIGUSR1 writes the status file.\n"
	    "\n"
	    "      --once            probe every target once, print the "
	    "results, exit\n"
	    "      --status          show the running daemon's status (-v: "
	    "every target)\n"
	    "\n"
	    "Common options:\n%s"
	    "\n"
	    "Exit status: 0 stopped cleanly (--once: every target answered), "
	    "1 --once:\nsome target failed, 64 usage, 69 cloud unavailable "
	    "or (--status) not\nrunning, 71 system error, 75 another "
	    "vm_probe holds the state directory,\n78 configuration.\n"
	    "See vm_probe(8).\n",
	    vmh_cli_common_help);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ NULL, 0, NULL, 0 },
	};
	struct vmh_vmprobe_opts o = { 0 };
	struct vmh_cli cli;
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	int opt, status, show = 0;
	enum vmh_rc rc;

	vmh_cli_init(&cli, "vm_probe", argv);
	vmh_error_init(&err);
	while ((opt = getopt_long(argc, argv, VMH_CLI_SHORTOPTS, longopts,
				  NULL)) != -1) {
		switch (vmh_cli_option(&cli, opt, help)) {
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
		case OPT_ONCE:
			o.once = 1;
			break;
		case OPT_STATUS:
			show = 1;
			break;
		default:
			return vmh_cli_usage_error(&cli, "unexpected option");
		}
	}
	if (optind < argc)
		return vmh_cli_usage_error(&cli, "unexpected argument '%s'",
					   argv[optind]);
	if (o.once && show)
		return vmh_cli_usage_error(&cli, "--once and --status are "
						 "exclusive");
	/* A status query or a one-shot run is not a daemon: no syslog. */
	if (o.once || show)
		cli.no_syslog = 1;
	if ((status = vmh_cli_start(&cli, &conf)) >= 0)
		return status;
	if (show) {
		rc = vmh_vmprobe_status(conf, cli.json, cli.verbose, stdout,
					&err);
		status = rc == VMH_OK ? VMH_EXIT_OK : vmh_cli_fail(&err);
		vmh_conf_free(conf);
		return status;
	}
	if (vmh_http_global_init(&err) != VMH_OK) {
		status = vmh_cli_fail(&err);
		vmh_conf_free(conf);
		return status;
	}
	o.config_path = cli.config_path;
	o.dry_run = cli.dry_run;
	o.json = cli.json;
	o.verbose = cli.verbose;
	rc = vmh_vmprobe_run(&conf, &o, &err);
	if (rc == VMH_OK)
		status = VMH_EXIT_OK;
	else if (o.once && rc == VMH_E_API)
		status = VMH_EXIT_FAILURE; /* the report says which */
	else
		status = vmh_cli_fail(&err);
	vmh_conf_free(conf);
	vmh_http_global_cleanup();
	return status;
}
