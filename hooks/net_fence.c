/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net_fence: runs on every compute host (cron or systemd) and decides whether
 * the host is cut off from its networks; on isolation it takes the
 * configured local action so the controller can recover the VMs safely.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"
#include "str.h"

enum { OPT_ONCE = VMH_OPT_PRIVATE, OPT_DAEMON, OPT_INTERVAL };

static void
help(void)
{
	printf("Usage: net_fence [OPTION]... --once\n"
	       "  or:  net_fence [OPTION]... --daemon [--interval=S]\n"
	       "Check this host's networks and act when it is isolated.\n"
	       "\n"
	       "      --once            one round, then exit (cron)\n"
	       "      --daemon          rounds forever (systemd)\n"
	       "      --interval=S      seconds between rounds in daemon mode\n"
	       "\n"
	       "Common options:\n%s"
	       "\n"
	       "Exit status: 0 healthy, 64 usage, 75 try again, 78 "
	       "configuration.\nSee net_fence(8).\n",
	       vmh_cli_common_help);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ NULL, 0, NULL, 0 },
	};
	struct vmh_cli cli;
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	int opt, status, once = 0, daemon_mode = 0, interval = 0;
	long long n;

	vmh_cli_init(&cli, "net_fence", argv);
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
			once = 1;
			break;
		case OPT_DAEMON:
			daemon_mode = 1;
			break;
		case OPT_INTERVAL:
			if (vmh_strtonum(optarg, 1, 86400, &n, "--interval",
					 &err) != VMH_OK)
				return vmh_cli_usage_error(&cli, "%s",
							   err.text);
			interval = (int)n;
			break;
		default:
			return vmh_cli_usage_error(&cli, "unexpected option");
		}
	}
	if (optind < argc)
		return vmh_cli_usage_error(&cli, "unexpected argument '%s'",
					   argv[optind]);
	if (once && daemon_mode)
		return vmh_cli_usage_error(&cli, "--once and --daemon are "
						 "exclusive");
	if (interval && !daemon_mode)
		return vmh_cli_usage_error(&cli, "--interval needs --daemon");
	if ((status = vmh_cli_start(&cli, &conf)) >= 0)
		return status;
	vmh_log(VMH_LOG_ERR, "network checks are not built yet");
	vmh_conf_free(conf);
	return VMH_EXIT_SOFTWARE;
}
