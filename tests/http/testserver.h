/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting and stopping the Python helper servers of the tests (the
 * loopback HTTP server tests/http/httpd.py and the simulator
 * tests/sim/onesim), header-only. A server runs in its own process group
 * with a private directory; its port is read from the port file it writes.
 */
#ifndef VMH_TESTSERVER_H
#define VMH_TESTSERVER_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct ts_server {
	pid_t pid;
	int port;
	char dir[256]; /* private directory, removed by ts_stop() */
	char base[64]; /* http://127.0.0.1:PORT */
};

/* The Python interpreter: $PYTHON3 (set by make check) or python3 on PATH;
 * NULL when there is none. */
static inline const char *
ts_python(void)
{
	static char found[512];
	const char *env = getenv("PYTHON3"), *path = getenv("PATH"), *p, *e;
	size_t n;

	if (env != NULL && *env != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n > 0 && n < sizeof(found) - 10) {
			memcpy(found, p, n);
			memcpy(found + n, "/python3", 9);
			if (access(found, X_OK) == 0)
				return found;
		}
		if (*e == ':')
			e++;
	}
	return NULL;
}

static inline const char *
ts_srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s != NULL && *s != '\0' ? s : ".";
}

/* Skip the whole test program (automake's 77) when Python is missing. */
static inline void
ts_require_python(const char *prog)
{
	if (ts_python() == NULL) {
		printf("SKIP: %s: python3 not found (set PYTHON3 or install "
		       "python3): the helper servers need it\n",
		       prog);
		exit(77);
	}
}

static inline int
ts_read_port(const char *file)
{
	char buf[32];
	ssize_t n;
	int fd, port;

	if ((fd = open(file, O_RDONLY)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	port = (int)strtol(buf, NULL, 10);
	return port > 0 && port < 65536 ? port : -1;
}

/*
 * Run python3 with argv (script first; "@DIR@" in an argument becomes the
 * server's directory) and wait up to 20 s for DIR/portfile. 0 on success.
 */
static inline int
ts_start(struct ts_server *s, const char *const *argv, const char *portfile)
{
	const char *py = ts_python();
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *args[32], file[512], arg[32][512];
	int i, status, devnull;
	long long waited;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/vmheal-srv.XXXXXX", tmp);
	if (py == NULL || mkdtemp(s->dir) == NULL)
		return -1;
	args[0] = (char *)(uintptr_t)py;
	for (i = 0; argv[i] != NULL && i < 30; i++) {
		const char *at = strstr(argv[i], "@DIR@");

		if (at != NULL)
			snprintf(arg[i], sizeof(arg[i]), "%.*s%s%s",
				 (int)(at - argv[i]), argv[i], s->dir, at + 5);
		else
			snprintf(arg[i], sizeof(arg[i]), "%s", argv[i]);
		args[i + 1] = arg[i];
	}
	args[i + 1] = NULL;
	snprintf(file, sizeof(file), "%s/%s", s->dir, portfile);
	if ((s->pid = fork()) < 0)
		return -1;
	if (s->pid == 0) {
		char log[600];
		int fd;

		/* The server's chatter goes to DIR/server.log, kept out of
		 * the test's own output (VMH_TEST_SERVER_LOG=1 shows it). */
		snprintf(log, sizeof(log), "%s/server.log", s->dir);
		setpgid(0, 0);
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (getenv("VMH_TEST_SERVER_LOG") == NULL &&
		    (fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
			dup2(fd, 2);
		execv(py, args);
		_exit(127);
	}
	setpgid(s->pid, s->pid);
	for (waited = 0; waited < 20000; waited += 20) {
		if ((s->port = ts_read_port(file)) > 0)
			break;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "%s exited before serving\n", arg[0]);
			s->pid = 0;
			return -1;
		}
		usleep(20000);
	}
	if (s->port <= 0)
		return -1;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	return 0;
}

static inline void
ts_stop(struct ts_server *s)
{
	char cmd[600];
	int i, status;

	if (s->pid > 0) {
		kill(-s->pid, SIGTERM);
		for (i = 0; i < 250; i++) {
			if (waitpid(s->pid, &status, WNOHANG) == s->pid)
				break;
			usleep(20000);
		}
		if (i == 250) {
			kill(-s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
		}
		s->pid = 0;
	}
	if (s->dir[0] != '\0') {
		/* Test-only cleanup of the directory this process made. */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", s->dir);
		s->dir[0] = '\0';
	}
}

#endif
