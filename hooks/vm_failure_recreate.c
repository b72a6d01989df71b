/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_failure_recreate: recover one failed VM (retry, resume, recreate) within
 * flap limits. Run by the cloud's VM state hooks (any OpenNebula
 * generation) or by an operator. The work is in lib/vmfail.c; this file
 * reads the invocation and maps the outcome to an exit status.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "cli.h"
#include "cloud.h"
#include "cloud_one.h"
#include "log.h"
#include "str.h"
#include "vmfail.h"

/* Hook arguments on stdin (OpenNebula 6+): base64 XML and options. */
#define STDIN_MAX        (16 * 1024 * 1024)
#define STDIN_TOKENS_MAX 64

enum { OPT_VM = VMH_OPT_PRIVATE, OPT_ACTION, OPT_NO_WAIT };

struct args {
	struct vmh_cli cli;
	struct vmh_vmfail_opts opts;
	enum vmh_vmfail_action steps[VMH_VMFAIL_MAX_STEPS];
	const char *vm;
	const char *positional;
	const char *extra;
};

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
	       "      --action=LIST     steps to take instead of the "
	       "configured ones, in\n"
	       "                        order: retry, recreate, resume, "
	       "reboot-hard,\n"
	       "                        resched, delete, rebuild, evacuate "
	       "(e.g.\n"
	       "                        retry,recreate)\n"
	       "      --no-wait         do not wait out a flap backoff: exit "
	       "75 instead\n"
	       "\n"
	       "Common options:\n%s"
	       "\n"
	       "Exit status: 0 recovered or nothing to do, 1 not recovered, "
	       "64 usage,\n65 bad input, 66 no such VM, 69 cloud unavailable, "
	       "75 try again,\n78 configuration, 84 gave up (flap limit "
	       "reached).\n"
	       "See vm_failure_recreate(8).\n",
	       vmh_cli_common_help);
}

/* "retry,recreate" into a->steps. */
static int
parse_actions(struct args *a, const char *list)
{
	char buf[256], *p, *comma;
	int act;

	if (vmh_strlcpy(buf, list, sizeof(buf)) >= sizeof(buf))
		return vmh_cli_usage_error(&a->cli, "--action: list too long");
	a->opts.n_steps = 0;
	for (p = buf; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		act = vmh_vmfail_action_parse(p);
		if (act <= VMH_VF_NONE)
			return vmh_cli_usage_error(
			    &a->cli,
			    "--action: '%s' is not one of retry, recreate, "
			    "resume, reboot-hard, resched, delete, rebuild, "
			    "evacuate",
			    p);
		if (a->opts.n_steps >= VMH_VMFAIL_MAX_STEPS)
			return vmh_cli_usage_error(&a->cli,
						   "--action: at most %d steps",
						   VMH_VMFAIL_MAX_STEPS);
		a->steps[a->opts.n_steps++] = (enum vmh_vmfail_action)act;
	}
	a->opts.steps = a->steps;
	return -1;
}

/* Parse argv into a; returns -1 to go on, or an exit status. */
static int
parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "vm", required_argument, NULL, OPT_VM },
		{ "action", required_argument, NULL, OPT_ACTION },
		{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
		{ NULL, 0, NULL, 0 },
	};
	struct vmh_error err;
	long long id;
	int opt, status;

	vmh_error_init(&err);
	optind = 0; /* GNU: re-initialise, argv may be a new vector */
	while ((opt = getopt_long(argc, argv, VMH_CLI_SHORTOPTS, longopts,
				  NULL)) != -1) {
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
		case OPT_VM:
			/* OpenNebula: a number; OpenStack: a server UUID. */
			if (!vmh_str_isuuid(optarg) &&
			    vmh_strtonum(optarg, 0, 0x7fffffff, &id, "--vm",
					 &err) != VMH_OK)
				return vmh_cli_usage_error(
				    &a->cli,
				    "--vm: '%.40s' is neither a VM ID nor a "
				    "server UUID",
				    optarg);
			a->vm = optarg;
			break;
		case OPT_ACTION:
			if ((status = parse_actions(a, optarg)) >= 0)
				return status;
			break;
		case OPT_NO_WAIT:
			a->opts.no_wait = 1;
			break;
		default:
			return vmh_cli_usage_error(&a->cli,
						   "unexpected option");
		}
	}
	if (optind < argc)
		a->positional = argv[optind];
	if (optind + 1 < argc)
		a->extra = argv[optind + 1];
	return -1;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct vmh_conf *conf = NULL;
	struct vmh_cloud *cloud = NULL;
	struct vmh_vmfail_report report;
	struct vmh_error err;
	struct vmh_buf in;
	char **argv2 = NULL;
	char *vm_id = NULL, reason[160];
	int status, argc2 = 0, curl_ready = 0, state, lcm;
	enum vmh_rc rc;

	memset(&a, 0, sizeof(a));
	memset(&report, 0, sizeof(report));
	vmh_cli_init(&a.cli, "vm_failure_recreate", argv);
	vmh_error_init(&err);
	vmh_buf_init(&in, STDIN_MAX);
	if ((status = parse(argc, argv, &a)) >= 0)
		goto done;

	/* OpenNebula 6+ with ARGUMENTS_STDIN: no argv, "<b64>" on stdin.
	 * The stdin words are parsed like command-line words. */
	if (a.positional == NULL && a.vm == NULL && !a.cli.check_config) {
		if (vmh_cli_stdin_argv(&in, argc, argv, STDIN_TOKENS_MAX,
				       &argv2, &argc2, &err) != VMH_OK) {
			status = vmh_cli_fail(&err);
			goto done;
		}
		if (argc2 == argc) {
			status = vmh_cli_usage_error(
			    &a.cli, "no VM given: pass a VM ID or the base64 "
				    "<VM> document, --vm ID, or the hook "
				    "arguments on stdin");
			goto done;
		}
		if ((status = parse(argc2, argv2, &a)) >= 0)
			goto done;
	}
	if (a.vm != NULL && a.positional != NULL) {
		status = vmh_cli_usage_error(&a.cli, "--vm and a VM argument "
						     "are exclusive");
		goto done;
	}
	if (a.extra != NULL) {
		status = vmh_cli_usage_error(&a.cli, "unexpected argument '%s'",
					     a.extra);
		goto done;
	}
	if ((status = vmh_cli_start(&a.cli, &conf)) >= 0)
		goto done;

	a.opts.trigger = VMH_VF_TRIGGER_MANUAL;
	a.opts.vm_id = a.vm;
	if (a.positional != NULL) {
		if (vmh_vmfail_parse_hook_arg(a.positional, &vm_id, &state,
					      &lcm, &err) != VMH_OK) {
			status = vmh_cli_fail(&err);
			goto done;
		}
		a.opts.vm_id = vm_id;
		a.opts.trigger = VMH_VF_TRIGGER_HOOK;
		if (state == 3)
			snprintf(reason, sizeof(reason), "hook VM/%s/%s",
				 vmh_one_vm_state_name(state),
				 vmh_one_lcm_state_name(lcm));
		else if (state >= 0)
			snprintf(reason, sizeof(reason), "hook VM/%s",
				 vmh_one_vm_state_name(state));
		else
			snprintf(reason, sizeof(reason), "hook $ID");
		a.opts.reason = reason;
	}
	a.opts.dry_run = a.cli.dry_run;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_ready = 1;
	if (vmh_cloud_open(conf, &cloud, &err) != VMH_OK) {
		status = vmh_cli_fail(&err);
		goto done;
	}
	rc = vmh_vmfail_run(conf, cloud, &a.opts, &report, &err);
	if (a.cli.json)
		vmh_vmfail_report_json(&report, stdout);
	else
		vmh_vmfail_report_print(&report, stdout);
	status = rc == VMH_OK ? VMH_EXIT_OK : vmh_cli_fail(&err);
done:
	vmh_vmfail_report_free(&report);
	vmh_cloud_close(cloud);
	vmh_conf_free(conf);
	vmh_buf_free(&in);
	free(argv2);
	free(vm_id);
	if (curl_ready)
		curl_global_cleanup();
	vmh_log_clear_secrets();
	return status;
}
