/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running external programs: fork + execve, no shell, own process group,
 * scrubbed environment, bounded capture, deadline with SIGTERM -> SIGKILL
 * to the whole group (after keepalived's notify/check script handling).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "str.h"

#define EXEC_ENV_MAX 64

/* Close every descriptor above 2 in the child: one close_range() call
 * (Linux 5.9) however high the limit, else one close() per possible fd. */
static void
close_from(int lowfd)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		close(fd);
}

/* execve() takes char *const[] for historical reasons but never writes to
 * the strings (POSIX rationale); convert without a qualifier-dropping cast. */
static char *const *
argv_for_exec(const char *const *v)
{
	union {
		const char *const *c;
		char *const *m;
	} u = { .c = v };

	return u.m;
}

/* Child side: never returns. Only async-signal-safe calls after fork. */
static void
child_exec(const struct vmh_exec_opts *o, const char *const *envp, int in_fd,
	   int out_fd, int err_fd)
{
	sigset_t none;
	int sig;

	setpgid(0, 0);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	close_from(3);
	if (strchr(o->argv[0], '/') != NULL)
		execve(o->argv[0], argv_for_exec(o->argv), argv_for_exec(envp));
	else
		execvpe(o->argv[0], argv_for_exec(o->argv),
			argv_for_exec(envp));
	_exit(127);
}

/* Build the child's environment: PATH, LANG and the caller's entries. */
static int
build_env(const struct vmh_exec_opts *o, const char **envp)
{
	int n = 0, has_path = 0, i;

	if (o->env != NULL)
		for (i = 0; o->env[i] != NULL; i++)
			if (strncmp(o->env[i], "PATH=", 5) == 0)
				has_path = 1;
	if (!has_path)
		envp[n++] = "PATH=" VMH_EXEC_DEFAULT_PATH;
	envp[n++] = "LANG=C";
	if (o->env != NULL)
		for (i = 0; o->env[i] != NULL; i++) {
			if (n >= EXEC_ENV_MAX - 1)
				return -1;
			envp[n++] = o->env[i];
		}
	envp[n] = NULL;
	return 0;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Read what is available from fd into b; keep draining past the cap so the
 * child never blocks on a full pipe, but remember the truncation. */
static int
drain(int fd, struct vmh_buf *b, int *truncated)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			size_t room = b->max - b->len;
			size_t take = (size_t)n < room ? (size_t)n : room;

			if (take > 0)
				vmh_buf_append(b, chunk, take);
			if (take < (size_t)n)
				*truncated = 1;
			continue;
		}
		if (n == 0)
			return 1; /* EOF */
		if (errno == EINTR)
			continue;
		return 0; /* EAGAIN */
	}
}

enum vmh_rc
vmh_exec_run(const struct vmh_exec_opts *o, struct vmh_exec_result *res,
	     struct vmh_error *err)
{
	const char *envp[EXEC_ENV_MAX];
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int devnull = -1, status, reaped = 0, term_sent = 0, kill_sent = 0;
	size_t out_max, written = 0;
	long long start, deadline, now, kill_at = 0;
	struct sigaction ign, old_pipe;
	enum vmh_rc rc = VMH_OK;
	pid_t pid = -1;

	memset(res, 0, sizeof(*res));
	out_max = o->out_max ? o->out_max : VMH_EXEC_DEFAULT_OUT_MAX;
	vmh_buf_init(&res->out, out_max);
	vmh_buf_init(&res->err, out_max);
	if (o->argv == NULL || o->argv[0] == NULL || o->timeout_ms <= 0)
		return vmh_error_set(err, VMH_E_USAGE, "exec", 0,
				     "no program or no timeout given");
	if (build_env(o, envp) < 0)
		return vmh_error_set(err, VMH_E_USAGE, o->argv[0], 0,
				     "too many environment entries");

	/* A child that exits before reading its stdin must not kill us. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old_pipe);

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = vmh_error_errno(err, errno, o->argv[0], "pipe");
		goto done;
	}
	if (o->stdin_data != NULL) {
		if (pipe2(inp, O_CLOEXEC) < 0) {
			rc = vmh_error_errno(err, errno, o->argv[0], "pipe");
			goto done;
		}
	} else if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = vmh_error_errno(err, errno, "/dev/null", "open");
		goto done;
	}

	start = vmh_now_ms();
	pid = fork();
	if (pid < 0) {
		rc = vmh_error_errno(err, errno, o->argv[0], "fork");
		goto done;
	}
	if (pid == 0)
		child_exec(o, envp, o->stdin_data != NULL ? inp[0] : devnull,
			   outp[1], errp[1]);
	/* Also from the parent, so the group exists before we signal it. */
	setpgid(pid, pid);

	close(outp[1]);
	outp[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (inp[0] >= 0) {
		close(inp[0]);
		inp[0] = -1;
		set_nonblock(inp[1]);
		if (o->stdin_len == 0) {
			close(inp[1]);
			inp[1] = -1;
		}
	}
	set_nonblock(outp[0]);
	set_nonblock(errp[0]);

	deadline = start + o->timeout_ms;
	for (;;) {
		struct pollfd pfd[3];
		int nfd = 0, wait_ms;

		if (!reaped) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid)
				reaped = 1;
		}
		if (reaped && outp[0] < 0 && errp[0] < 0)
			break;

		now = vmh_now_ms();
		if (!term_sent && now >= deadline) {
			/* Deadline: the group gets SIGTERM, then SIGKILL. A
			 * child already reaped whose descendants still hold
			 * the pipes is not a timeout of the child. */
			if (!reaped)
				res->timed_out = 1;
			kill(-pid, SIGTERM);
			term_sent = 1;
			kill_at = now + (o->kill_grace_ms > 0
					     ? o->kill_grace_ms
					     : VMH_EXEC_DEFAULT_GRACE_MS);
			if (reaped)
				kill_at = now;
		}
		if (term_sent && !kill_sent && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_sent = 1;
		}
		if (kill_sent && reaped) {
			/* Descendants killed: stop waiting for their EOF. */
			if (outp[0] >= 0)
				drain(outp[0], &res->out, &res->truncated);
			if (errp[0] >= 0)
				drain(errp[0], &res->err, &res->truncated);
			break;
		}

		if (inp[1] >= 0) {
			pfd[nfd].fd = inp[1];
			pfd[nfd++].events = POLLOUT;
		}
		if (outp[0] >= 0) {
			pfd[nfd].fd = outp[0];
			pfd[nfd++].events = POLLIN;
		}
		if (errp[0] >= 0) {
			pfd[nfd].fd = errp[0];
			pfd[nfd++].events = POLLIN;
		}
		wait_ms = 50; /* also the reaping granularity */
		if (!term_sent && deadline - now < wait_ms)
			wait_ms = (int)(deadline - now);
		if (wait_ms < 0)
			wait_ms = 0;
		if (nfd > 0) {
			if (poll(pfd, (nfds_t)nfd, wait_ms) < 0 &&
			    errno != EINTR) {
				rc = vmh_error_errno(err, errno, o->argv[0],
						     "poll");
				kill(-pid, SIGKILL);
				kill_sent = 1;
			}
		} else {
			vmh_sleep_ms(wait_ms);
		}

		if (inp[1] >= 0) {
			ssize_t n =
			    write(inp[1], (const char *)o->stdin_data + written,
				  o->stdin_len - written);

			if (n > 0)
				written += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    written == o->stdin_len) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (outp[0] >= 0 &&
		    drain(outp[0], &res->out, &res->truncated)) {
			close(outp[0]);
			outp[0] = -1;
		}
		if (errp[0] >= 0 &&
		    drain(errp[0], &res->err, &res->truncated)) {
			close(errp[0]);
			errp[0] = -1;
		}
	}
	if (!reaped) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		reaped = 1;
	}
	res->duration_ms = (long)(vmh_now_ms() - start);
	if (WIFEXITED(status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signaled = 1;
		res->signo = WTERMSIG(status);
	}
	if (res->timed_out)
		rc = vmh_error_set(err, VMH_E_TIMEOUT, o->argv[0], 0,
				   "timed out after %d ms", o->timeout_ms);
	else if (rc == VMH_OK && res->exited && res->exit_code == 127 &&
		 access(o->argv[0], X_OK) != 0 && strchr(o->argv[0], '/'))
		rc = vmh_error_set(err, VMH_E_SYSTEM, o->argv[0], 0,
				   "cannot execute: %s", strerror(errno));
done:
	if (pid > 0 && !reaped) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (inp[0] >= 0)
		close(inp[0]);
	if (inp[1] >= 0)
		close(inp[1]);
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (devnull >= 0)
		close(devnull);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}

enum vmh_rc
vmh_exec_spawn(const struct vmh_exec_opts *o, int *pid_out, int *out_fd,
	       struct vmh_error *err)
{
	const char *envp[EXEC_ENV_MAX];
	int outp[2] = { -1, -1 }, devnull = -1;
	enum vmh_rc rc = VMH_OK;
	pid_t pid;

	*pid_out = -1;
	*out_fd = -1;
	if (o->argv == NULL || o->argv[0] == NULL || o->stdin_data != NULL)
		return vmh_error_set(err, VMH_E_USAGE, "exec", 0,
				     "no program, or stdin data given");
	if (build_env(o, envp) < 0)
		return vmh_error_set(err, VMH_E_USAGE, o->argv[0], 0,
				     "too many environment entries");
	if (pipe2(outp, O_CLOEXEC) < 0) {
		rc = vmh_error_errno(err, errno, o->argv[0], "pipe");
		goto done;
	}
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = vmh_error_errno(err, errno, "/dev/null", "open");
		goto done;
	}
	pid = fork();
	if (pid < 0) {
		rc = vmh_error_errno(err, errno, o->argv[0], "fork");
		goto done;
	}
	if (pid == 0)
		child_exec(o, envp, devnull, outp[1], outp[1]);
	/* Also from the parent, so the group exists before we signal it. */
	setpgid(pid, pid);
	set_nonblock(outp[0]);
	*pid_out = (int)pid;
	*out_fd = outp[0];
	outp[0] = -1;
done:
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (devnull >= 0)
		close(devnull);
	return rc;
}

void
vmh_exec_result_free(struct vmh_exec_result *res)
{
	vmh_buf_free(&res->out);
	vmh_buf_free(&res->err);
}

const char *
vmh_exec_describe(const struct vmh_exec_result *res, char *dst, size_t dstlen)
{
	if (res->timed_out)
		snprintf(dst, dstlen, "timed out after %ld ms, killed",
			 res->duration_ms);
	else if (res->exited)
		snprintf(dst, dstlen, "exit %d", res->exit_code);
	else if (res->signaled)
		snprintf(dst, dstlen, "killed by signal %d", res->signo);
	else
		snprintf(dst, dstlen, "did not run");
	return dst;
}

enum vmh_rc
vmh_exec_check_secure(const char *path, struct vmh_error *err)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;
	uid_t me = geteuid();

	if (path[0] != '/')
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "program path must be absolute");
	if (stat(path, &st) < 0)
		return vmh_error_errno(err, errno, path, "cannot use program");
	if (!S_ISREG(st.st_mode))
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "not a regular file");
	if ((st.st_mode & S_IXUSR) == 0)
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "not executable");
	if (st.st_mode & (S_IWGRP | S_IWOTH) ||
	    (st.st_uid != 0 && st.st_uid != me))
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "unsafe program: writable by group/others "
				     "or owned by another user");
	vmh_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) < 0)
		return vmh_error_errno(err, errno, dir, "cannot use directory");
	/* World-writable sticky directories (/tmp) still let others swap the
	 * file only if they own it, which the check above excludes. */
	if ((st.st_mode & S_IWOTH && !(st.st_mode & S_ISVTX)) ||
	    (st.st_uid != 0 && st.st_uid != me))
		return vmh_error_set(err, VMH_E_CONFIG, dir, 0,
				     "unsafe directory for %s", path);
	return VMH_OK;
}
