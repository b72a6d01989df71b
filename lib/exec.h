/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run an external program safely (fence agents, notify and action scripts):
 * fork + execve with an argv, never a shell; its own process group; file
 * descriptors above 2 closed; a scrubbed environment; optional data on stdin;
 * stdout and stderr captured up to a cap; a deadline after which the whole
 * process group gets SIGTERM, then SIGKILL after a grace period.
 */
#ifndef VMH_EXEC_H
#define VMH_EXEC_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define VMH_EXEC_DEFAULT_PATH                                                  \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define VMH_EXEC_DEFAULT_OUT_MAX  (256 * 1024)
#define VMH_EXEC_DEFAULT_GRACE_MS 2000

struct vmh_exec_opts {
	/* argv[0] is the program: an absolute path, or a name looked up in
	 * the child's PATH. NULL-terminated. */
	const char *const *argv;
	/* Extra environment entries "NAME=value", NULL-terminated, may be
	 * NULL. The child's environment is only PATH (VMH_EXEC_DEFAULT_PATH
	 * unless given here), LANG=C, and these. */
	const char *const *env;
	const void *stdin_data; /* may be NULL: stdin is then /dev/null */
	size_t stdin_len;
	int timeout_ms;    /* > 0 */
	int kill_grace_ms; /* SIGTERM -> SIGKILL delay; 0: default */
	size_t out_max;    /* cap for stdout and for stderr; 0: default */
};

struct vmh_exec_result {
	int exited;         /* 1 if the program exited normally */
	int exit_code;      /* its exit status when exited */
	int signaled;       /* 1 if a signal ended it */
	int signo;          /* that signal */
	int timed_out;      /* 1 if the deadline passed and we killed it */
	int truncated;      /* 1 if stdout or stderr hit out_max */
	long duration_ms;   /* from fork to reaping */
	struct vmh_buf out; /* captured stdout, NUL-terminated */
	struct vmh_buf err; /* captured stderr, NUL-terminated */
};

/*
 * Run the program and wait for it. Returns VMH_OK when it ran (whatever its
 * exit status: read res), VMH_E_TIMEOUT when it was killed at the deadline
 * (res filled as far as known), VMH_E_SYSTEM when it could not be started
 * (program missing: res->exited with exit_code 127), VMH_E_USAGE for bad
 * options. res must be released with vmh_exec_result_free() in every case.
 */
enum vmh_rc vmh_exec_run(const struct vmh_exec_opts *opts,
			 struct vmh_exec_result *res, struct vmh_error *err);

void vmh_exec_result_free(struct vmh_exec_result *res);

/*
 * Start the program and return at once, for event loops that cannot wait
 * (vm_probe's exec probes and notifications). The same rules as
 * vmh_exec_run() (argv, no shell, own process group, scrubbed environment,
 * descriptors closed); stdin is /dev/null (opts->stdin_data must be NULL),
 * stdout and stderr go to one pipe whose non-blocking, close-on-exec read
 * end is *out_fd. The caller reads it, reaps *pid with waitpid() (SIGCHLD
 * says when) and enforces the deadline with kill(-*pid, ...):
 * opts->timeout_ms, out_max and kill_grace_ms are not used here.
 */
enum vmh_rc vmh_exec_spawn(const struct vmh_exec_opts *opts, int *pid,
			   int *out_fd, struct vmh_error *err);

/* One line describing how the program ended: "exit 2", "killed by signal 9",
 * "timed out after 5000 ms". Returns dst. */
const char *vmh_exec_describe(const struct vmh_exec_result *res, char *dst,
			      size_t dstlen);

/*
 * Refuse a program that anyone but root or the running user could change:
 * the file and its directory must not be group/world-writable. Mirrors
 * keepalived's script security check.
 */
enum vmh_rc vmh_exec_check_secure(const char *path, struct vmh_error *err);

#endif
