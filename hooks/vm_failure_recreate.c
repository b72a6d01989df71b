/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_failure_recreate: recover one failed VM (retry, resume, recreate) within
 * flap limits. Run by the cloud's VM state hooks or by an operator.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"
#include "str.h"

enum { OPT_VM = VMH_OPT_PRIVATE };

static void
help(void)
{
	printf("Usage: vm_failure_recreate [OPTION]... [VM_ID | "
	       "BASE64_VM_XML]\n"
	       "  or:  vm_failure_recreate [OPTION]... --vm ID\n"
	       "Recover one failed virtual machine, within flap limits.\n"
	       "\n"
	       "With no VM argument and no --vm, the arguments are read from "
	       "standard\ninput (OpenNebula 6+ hooks with "
	       "ARGUMENTS_STDIN=yes).\n"
	       "\n"
	       "      --vm=ID           the failed VM\n"
	       "\n"
	       "Common options:\n%s"
	       "\n"
	       "Exit status: 0 recovered or nothing to do, 64 usage, 65 bad "
	       "input,\n66 no such VM, 69 cloud unavailable, 75 try again, 78 "
	       "configuration,\n84 gave up (flap limit reached).\n"
	       "See vm_failure_recreate(8).\n",
	       vmh_cli_common_help);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "vm", required_argument, NULL, OPT_VM },
		{ NULL, 0, NULL, 0 },
	};
	struct vmh_cli cli;
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	const char *vm = NULL;
	long long id;
	int opt, status;

	vmh_cli_init(&cli, "vm_failure_recreate", argv);
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
		if (opt != OPT_VM)
			return vmh_cli_usage_error(&cli, "unexpected option");
		if (vmh_strtonum(optarg, 0, 0x7fffffff, &id, "--vm", &err) !=
		    VMH_OK)
			return vmh_cli_usage_error(&cli, "%s", err.text);
		vm = optarg;
	}
	if (vm != NULL && optind < argc)
		return vmh_cli_usage_error(&cli, "--vm and a VM argument are "
						 "exclusive");
	if (optind + 1 < argc)
		return vmh_cli_usage_error(&cli, "unexpected argument '%s'",
					   argv[optind + 1]);
	if ((status = vmh_cli_start(&cli, &conf)) >= 0)
		return status;
	vmh_log(VMH_LOG_ERR, "the VM recovery flow is not built yet");
	vmh_conf_free(conf);
	return VMH_EXIT_SOFTWARE;
}
