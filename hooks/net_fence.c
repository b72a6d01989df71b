/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net_fence: runs on every compute host (cron or systemd) and decides whether
 * the host is cut off from its networks; on isolation it takes the
 * configured local action so the controller can recover the VMs safely.
 * The logic is in lib/netfence.c; this file drives rounds: one (--once),
 * forever (--daemon, with signals and the watchdog), or none (--status).
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "netfence.h"
#include "str.h"
#include "watchdog.h"

enum { OPT_ONCE = VMH_OPT_PRIVATE, OPT_DAEMON, OPT_INTERVAL, OPT_STATUS };

static void
help(void)
{
	printf("Usage: net_fence [OPTION]... --once\n"
	       "  or:  net_fence [OPTION]... --daemon [--interval=S]\n"
	       "  or:  net_fence [OPTION]... --status\n"
	       "Check this host's networks and act when it is isolated.\n"
	       "\n"
	       "      --once            one round, then exit (cron)\n"
	       "      --daemon          rounds forever (systemd)\n"
	       "      --interval=S      seconds between rounds in daemon mode\n"
	       "      --status          show the saved state, probe nothing\n"
	       "\n"
	       "Common options:\n%s"
	       "\n"
	       "Exit status: 0 healthy, 85 degraded (alert), 82 isolated "
	       "(action taken),\n80 action failed, 64 usage, 71 system error, "
	       "75 another run holds the\nlock, 78 configuration.\n"
	       "See net_fence(8).\n",
	       vmh_cli_common_help);
}

/* One round's report on stdout: JSON (one line per round in daemon mode),
 * or text for --dry-run and -v. */
static void
report(const struct vmh_cli *cli, const struct vmh_nf_report *r,
       int daemon_mode)
{
	json_t *j;
	char *text;

	if (cli->json) {
		j = vmh_nf_report_json(r);
		text = j != NULL ? json_dumps(j, daemon_mode ? JSON_COMPACT
							     : JSON_INDENT(2))
				 : NULL;
		if (text != NULL)
			printf("%s\n", text);
		else
			vmh_log(VMH_LOG_ERR, "cannot build the JSON report");
		free(text);
		json_decref(j);
	} else if (cli->dry_run || cli->verbose > 0) {
		vmh_nf_report_print(stdout, r);
	}
	fflush(stdout);
}

static int
run_once(const struct vmh_cli *cli, const struct vmh_conf *conf)
{
	struct vmh_netfence *nf = NULL;
	struct vmh_nf_report rep;
	struct vmh_error err;
	int status;

	vmh_error_init(&err);
	memset(&rep, 0, sizeof(rep));
	if (vmh_netfence_open(&nf, conf->netfence, conf->state_dir,
			      cli->dry_run, &err) != VMH_OK ||
	    vmh_netfence_round(nf, &rep, &err) != VMH_OK) {
		status = vmh_cli_fail(&err);
		goto done;
	}
	report(cli, &rep, 0);
	status = vmh_nf_report_exit(&rep);
done:
	vmh_nf_report_free(&rep);
	vmh_netfence_close(nf);
	return status;
}

/* SIGHUP: parse the file again and switch only if it is good. */
static void
reload(const struct vmh_cli *cli, struct vmh_conf **conf,
       struct vmh_netfence *nf)
{
	struct vmh_conf *fresh = NULL;
	struct vmh_error err;
	char line[VMH_ERROR_SOURCE_MAX + VMH_ERROR_TEXT_MAX + 16];

	vmh_error_init(&err);
	if (vmh_conf_load(cli->config_path, &fresh, &err) == VMH_OK &&
	    fresh->netfence == NULL)
		vmh_error_set(&err, VMH_E_CONFIG, fresh->path, 0,
			      "no net_fence section");
	if (err.code == VMH_OK)
		vmh_netfence_check_commands(fresh->netfence, &err);
	if (err.code != VMH_OK) {
		vmh_log(VMH_LOG_ERR,
			"reload refused, the old configuration stays: %s",
			vmh_error_format(&err, line, sizeof(line)));
		vmh_conf_free(fresh);
		return;
	}
	if (strcmp(fresh->state_dir, (*conf)->state_dir) != 0 ||
	    (fresh->netfence->watchdog_device == NULL) !=
		((*conf)->netfence->watchdog_device == NULL))
		vmh_log(VMH_LOG_WARNING, "state_dir and watchdog_device "
					 "changes take effect on restart");
	vmh_netfence_set_conf(nf, fresh->netfence);
	vmh_conf_free(*conf);
	*conf = fresh;
	vmh_log(VMH_LOG_NOTICE, "configuration reloaded");
}

static int
open_watchdog(const struct vmh_netfence_conf *c, struct vmh_watchdog *wd)
{
	struct vmh_error err;

	vmh_error_init(&err);
	if (vmh_watchdog_open(c->watchdog_device, c->watchdog_timeout_s, wd,
			      &err) != VMH_OK)
		return vmh_cli_fail(&err);
	/* A round must fit between two keepalives, or the watchdog resets
	 * a healthy host. */
	if (wd->timeout_s > 0 &&
	    wd->timeout_s * 1000LL <= c->round_timeout_ms + 1000LL) {
		vmh_watchdog_close(wd, 1);
		vmh_error_set(&err, VMH_E_CONFIG, c->watchdog_device, 0,
			      "watchdog timeout %d s is shorter than a round "
			      "(%d ms) plus 1 s",
			      wd->timeout_s, c->round_timeout_ms);
		return vmh_cli_fail(&err);
	}
	if (wd->timeout_s > 0 &&
	    wd->timeout_s * 1000LL <=
		c->round_timeout_ms + c->action_timeout_s * 1000LL)
		vmh_log(VMH_LOG_WARNING,
			"watchdog timeout %d s is shorter than a round plus "
			"an action (%d s): a slow action resets the host",
			wd->timeout_s, c->action_timeout_s);
	vmh_log(VMH_LOG_NOTICE, "watchdog %s armed (timeout %d s)",
		c->watchdog_device, wd->timeout_s);
	return -1;
}

static int
run_daemon(const struct vmh_cli *cli, struct vmh_conf **conf, int interval_opt)
{
	struct vmh_watchdog wd = { .fd = -1 };
	struct vmh_netfence *nf = NULL;
	struct vmh_nf_report rep;
	struct vmh_error err;
	struct timespec ts;
	sigset_t sigs;
	long long next, now, pet_ms = 1000;
	int status = VMH_EXIT_OK, stop = 0, sig, interval, fenced;

	vmh_error_init(&err);
	/* Signals wait for sigtimedwait() between rounds: a round and its
	 * action are never cut in half. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if (vmh_netfence_open(&nf, (*conf)->netfence, (*conf)->state_dir,
			      cli->dry_run, &err) != VMH_OK) {
		status = vmh_cli_fail(&err);
		goto done;
	}
	if ((*conf)->netfence->watchdog_device != NULL &&
	    (status = open_watchdog((*conf)->netfence, &wd)) >= 0)
		goto done;
	status = VMH_EXIT_OK;
	if (wd.timeout_s > 0)
		pet_ms = wd.timeout_s * 1000LL / 3;
	if (pet_ms < 500)
		pet_ms = 500;
	vmh_log(VMH_LOG_NOTICE, "started: %zu networks%s",
		(*conf)->netfence->n_networks, cli->dry_run ? ", dry run" : "");
	next = vmh_now_ms();
	while (!stop) {
		vmh_error_init(&err);
		if (vmh_netfence_round(nf, &rep, &err) == VMH_OK)
			report(cli, &rep, 1);
		else
			(void)vmh_cli_fail(&err);
		vmh_nf_report_free(&rep);
		(void)vmh_watchdog_pet(&wd, NULL);
		interval =
		    interval_opt ? interval_opt : (*conf)->netfence->interval_s;
		/* A fixed rate; a late round does not pile up the next. */
		next += interval * 1000LL;
		if (next < vmh_now_ms())
			next = vmh_now_ms();
		while (!stop && (now = vmh_now_ms()) < next) {
			long long wait =
			    next - now < pet_ms ? next - now : pet_ms;

			ts.tv_sec = (time_t)(wait / 1000);
			ts.tv_nsec = (long)(wait % 1000) * 1000000L;
			sig = sigtimedwait(&sigs, NULL, &ts);
			if (sig == SIGTERM || sig == SIGINT)
				stop = 1;
			else if (sig == SIGHUP)
				reload(cli, conf, nf);
			(void)vmh_watchdog_pet(&wd, NULL);
		}
	}
	vmh_log(VMH_LOG_NOTICE, "stopping");
done:
	/* After a fence-self this host should be gone already: leave the
	 * watchdog armed so that it finishes the job. */
	fenced =
	    nf != NULL && !cli->dry_run && nf->st.acted == VMH_NF_FENCE_SELF;
	if (fenced && wd.fd >= 0)
		vmh_log(VMH_LOG_WARNING, "fence-self ran: leaving the watchdog "
					 "armed");
	vmh_watchdog_close(&wd, !fenced);
	vmh_netfence_close(nf);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VMH_CLI_LONGOPTS,
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ NULL, 0, NULL, 0 },
	};
	struct vmh_cli cli;
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	int opt, status, once = 0, daemon_mode = 0, interval = 0, show = 0;
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
		case OPT_STATUS:
			show = 1;
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
	if (once + daemon_mode + show > 1)
		return vmh_cli_usage_error(&cli, "--once, --daemon and "
						 "--status are exclusive");
	if (interval && !daemon_mode)
		return vmh_cli_usage_error(&cli, "--interval needs --daemon");
	if (!once && !daemon_mode && !show && !cli.check_config)
		return vmh_cli_usage_error(&cli, "say --once, --daemon or "
						 "--status");
	if ((status = vmh_cli_start(&cli, &conf)) >= 0)
		return status;
	if (conf->netfence == NULL) {
		vmh_error_set(&err, VMH_E_CONFIG,
			      conf->path ? conf->path : "(built-in defaults)",
			      0, "no net_fence section: nothing to check");
		status = vmh_cli_fail(&err);
	} else if (show) {
		status =
		    vmh_netfence_status(conf->netfence, conf->state_dir,
					cli.dry_run, cli.json, stdout, &err);
		if (status < 0)
			status = vmh_cli_fail(&err);
	} else if (vmh_netfence_check_commands(conf->netfence, &err) !=
		   VMH_OK) {
		status = vmh_cli_fail(&err);
	} else if (daemon_mode) {
		status = run_daemon(&cli, &conf, interval);
	} else {
		status = run_once(&cli, conf);
	}
	vmh_conf_free(conf);
	return status;
}
