/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared command-line handling and start-up of the vmheal programs. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "str.h"

const char vmh_cli_common_help[] =
    "  -c, --config=FILE     configuration file (default " VMH_CONF_DEFAULT_PATH
    ")\n"
    "  -n, --check-config    check the configuration and exit\n"
    "      --dry-run         plan and print, change nothing\n"
    "      --json            machine-readable report on stdout\n"
    "      --no-syslog       log to stderr only\n"
    "  -v, --verbose         more messages (repeat for debug)\n"
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n";

void
vmh_cli_init(struct vmh_cli *cli, const char *progname, char **argv)
{
	static char name[64];

	memset(cli, 0, sizeof(*cli));
	cli->progname = progname;
	vmh_strlcpy(name, progname, sizeof(name));
	argv[0] = name;
}

int
vmh_cli_usage_error(const struct vmh_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli->progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n",
		cli->progname);
	return VMH_EXIT_USAGE;
}

void
vmh_cli_version(const struct vmh_cli *cli)
{
	printf("%s (%s) %s\n", cli->progname, PACKAGE_NAME, PACKAGE_VERSION);
	printf("License GPLv2+: GNU GPL version 2 or later "
	       "<https://gnu.org/licenses/gpl.html>.\n"
	       "This is free software: you are free to change and "
	       "redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n");
}

enum vmh_cli_opt
vmh_cli_option(struct vmh_cli *cli, int opt, void (*help)(void))
{
	switch (opt) {
	case 'c':
		cli->config_path = optarg;
		return VMH_CLI_HANDLED;
	case 'n':
		cli->check_config = 1;
		return VMH_CLI_HANDLED;
	case 'v':
		cli->verbose++;
		return VMH_CLI_HANDLED;
	case VMH_OPT_DRY_RUN:
		cli->dry_run = 1;
		return VMH_CLI_HANDLED;
	case VMH_OPT_JSON:
		cli->json = 1;
		return VMH_CLI_HANDLED;
	case VMH_OPT_NO_SYSLOG:
		cli->no_syslog = 1;
		return VMH_CLI_HANDLED;
	case 'h':
		help();
		return VMH_CLI_EXIT_OK;
	case 'V':
		vmh_cli_version(cli);
		return VMH_CLI_EXIT_OK;
	case '?':
	case ':':
		/* getopt_long has already named the option. */
		fprintf(stderr, "Try '%s --help' for more information.\n",
			cli->progname);
		return VMH_CLI_EXIT_USAGE;
	default:
		return VMH_CLI_NOT_MINE;
	}
}

int
vmh_cli_fail(const struct vmh_error *err)
{
	char line[VMH_ERROR_SOURCE_MAX + VMH_ERROR_TEXT_MAX + 16];

	vmh_log(VMH_LOG_ERR, "%s", vmh_error_format(err, line, sizeof(line)));
	return vmh_rc_to_exit(err->code);
}

int
vmh_cli_start(struct vmh_cli *cli, struct vmh_conf **conf)
{
	struct vmh_error err;
	int dest = VMH_LOG_TO_STDERR;

	vmh_error_init(&err);
	/* Syslog is opened after the configuration names the facility; -n
	 * and configuration errors go to the terminal only. */
	vmh_log_init(cli->progname, dest, LOG_DAEMON);
	vmh_log_setverbose(cli->verbose);
	if (vmh_conf_load(cli->config_path, conf, &err) != VMH_OK)
		return vmh_cli_fail(&err);
	if (cli->check_config) {
		printf("configuration OK\n");
		vmh_conf_free(*conf);
		*conf = NULL;
		return VMH_EXIT_OK;
	}
	if ((*conf)->log_json)
		dest |= VMH_LOG_JSON;
	if (!cli->no_syslog && !cli->dry_run)
		dest |= VMH_LOG_TO_SYSLOG;
	vmh_log_init(cli->progname, dest, (*conf)->syslog_facility);
	return -1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Read stdin into in and split it into at most max words. */
static enum vmh_rc
stdin_words(struct vmh_buf *in, char **tokens, int max, int *n,
	    struct vmh_error *err)
{
	char chunk[65536], *p;
	ssize_t r;

	*n = 0;
	while ((r = read(0, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vmh_error_errno(err, errno, "stdin",
					       "cannot read the arguments");
		if (vmh_buf_append(in, chunk, (size_t)r) != VMH_OK)
			return vmh_error_set(err, VMH_E_DATA, "stdin", 0,
					     "arguments larger than %zu bytes",
					     in->max);
	}
	if (in->len != strlen(vmh_buf_str(in)))
		return vmh_error_set(err, VMH_E_DATA, "stdin", 0,
				     "arguments contain a NUL byte");
	for (p = in->data; p != NULL && *p != '\0';) {
		while (is_blank(*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (*n >= max)
			return vmh_error_set(err, VMH_E_DATA, "stdin", 0,
					     "more than %d arguments", max);
		tokens[(*n)++] = p;
		while (*p != '\0' && !is_blank(*p))
			p++;
	}
	return VMH_OK;
}

enum vmh_rc
vmh_cli_stdin_argv(struct vmh_buf *in, int argc, char **argv, int max_words,
		   char ***out, int *out_argc, struct vmh_error *err)
{
	char **v;
	enum vmh_rc rc;
	int n = 0;

	*out = NULL;
	*out_argc = 0;
	if ((v = calloc((size_t)argc + (size_t)max_words + 1, sizeof(*v))) ==
	    NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if ((rc = stdin_words(in, v + argc, max_words, &n, err)) != VMH_OK) {
		free(v);
		return rc;
	}
	memcpy(v, argv, (size_t)argc * sizeof(*v));
	*out = v;
	*out_argc = argc + n;
	return VMH_OK;
}
