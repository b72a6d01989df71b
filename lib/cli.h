/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every vmheal program shares on its command line: -c FILE, -n,
 * --dry-run, --json, -v, -h/--help, -V/--version, GNU-style diagnostics, and
 * the start-up sequence (logging, configuration, -n).
 */
#ifndef VMH_CLI_H
#define VMH_CLI_H

#include <getopt.h>

#include "buf.h"
#include "conf.h"
#include "error.h"

struct vmh_cli {
	const char *progname;
	const char *config_path; /* -c, NULL: default */
	int check_config;        /* -n */
	int dry_run;             /* --dry-run */
	int json;                /* --json */
	int verbose;             /* -v, repeatable */
	int no_syslog;           /* --no-syslog */
};

/* Long option values for the common options; programs number their own
 * long-only options from VMH_OPT_PRIVATE. */
enum {
	VMH_OPT_DRY_RUN = 0x100,
	VMH_OPT_JSON,
	VMH_OPT_NO_SYSLOG,
	VMH_OPT_PRIVATE = 0x200,
};

#define VMH_CLI_SHORTOPTS "c:nvhV"
#define VMH_CLI_LONGOPTS                                                       \
	{ "config", required_argument, NULL, 'c' },                            \
	    { "check-config", no_argument, NULL, 'n' },                        \
	    { "dry-run", no_argument, NULL, VMH_OPT_DRY_RUN },                 \
	    { "json", no_argument, NULL, VMH_OPT_JSON },                       \
	    { "no-syslog", no_argument, NULL, VMH_OPT_NO_SYSLOG },             \
	    { "verbose", no_argument, NULL, 'v' },                             \
	    { "help", no_argument, NULL, 'h' },                                \
	{                                                                      \
		"version", no_argument, NULL, 'V'                              \
	}

/*
 * Set up cli for the program progname and make getopt's own diagnostics
 * name the program, not the path it was started by (argv[0] is replaced).
 */
void vmh_cli_init(struct vmh_cli *cli, const char *progname, char **argv);

/* The help text lines of the common options, for each program's --help. */
extern const char vmh_cli_common_help[];

/* Outcome of vmh_cli_option(). */
enum vmh_cli_opt {
	VMH_CLI_HANDLED,   /* a common option, recorded in cli */
	VMH_CLI_NOT_MINE,  /* the program's own option */
	VMH_CLI_EXIT_OK,   /* --help/--version printed: exit 0 */
	VMH_CLI_EXIT_USAGE /* usage error printed: exit 64 */
};

/*
 * Handle opt (as returned by getopt_long) if it is a common option. help is
 * called for -h. Unknown options ('?') print the GNU "Try --help" line.
 */
enum vmh_cli_opt vmh_cli_option(struct vmh_cli *cli, int opt,
				void (*help)(void));

/* "prog: message" and "Try 'prog --help' for more information." on stderr.
 * Returns VMH_EXIT_USAGE. */
int vmh_cli_usage_error(const struct vmh_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "prog (vmheal) VERSION" and licence lines on stdout. */
void vmh_cli_version(const struct vmh_cli *cli);

/*
 * After option parsing: start logging (stderr, plus syslog unless
 * --no-syslog), read the configuration, and handle -n. Returns -1 to go on,
 * or the exit status the program must return now (0 after "configuration
 * OK", 78 with the configuration error on stderr).
 */
int vmh_cli_start(struct vmh_cli *cli, struct vmh_conf **conf);

/* Log err as one line at error level and return its exit status. */
int vmh_cli_fail(const struct vmh_error *err);

/*
 * Hook arguments on stdin (OpenNebula 6+ ARGUMENTS_STDIN=yes): read all of
 * stdin into in (its ceiling bounds the size), split it in place on blanks
 * into at most max_words words, as the stock Ruby hooks' split(' ') does,
 * and make *out (allocated, NULL-terminated; free() it) the command line
 * argv followed by those words, to be parsed as command-line words.
 * *out_argc is its length; the words point into in. VMH_E_DATA for a NUL
 * byte, too many words or too much data.
 */
enum vmh_rc vmh_cli_stdin_argv(struct vmh_buf *in, int argc, char **argv,
			       int max_words, char ***out, int *out_argc,
			       struct vmh_error *err);

#endif
