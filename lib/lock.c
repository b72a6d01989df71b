/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lock files with OFD locks, and the state directory's safety checks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "str.h"

enum vmh_rc
vmh_state_dir_ensure(const char *dir, struct vmh_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	if (vmh_strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		return vmh_error_set(err, VMH_E_CONFIG, dir, 0,
				     "state directory path too long");
	/* mkdir -p, parents with the same private mode. */
	for (i = 1; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return vmh_error_errno(err, errno, path,
					       "cannot create state directory");
		path[i] = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return vmh_error_errno(err, errno, path,
				       "cannot create state directory");
	if (lstat(path, &st) < 0)
		return vmh_error_errno(err, errno, path, "state directory");
	if (!S_ISDIR(st.st_mode))
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "state directory is not a directory "
				     "(a symbolic link is refused)");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "state directory is writable by group or "
				     "others (mode %04o)",
				     (unsigned)(st.st_mode & 07777));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "state directory belongs to another user");
	return VMH_OK;
}

/* The pid recorded by the holder, or 0. */
static long
holder_pid(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	long long pid;

	if (n <= 0)
		return 0;
	text[n] = '\0';
	vmh_rstrip(text);
	if (vmh_strtonum(text, 1, 0x7fffffff, &pid, "pid", NULL) != VMH_OK)
		return 0;
	return (long)pid;
}

enum vmh_rc
vmh_lock_acquire(const char *dir, const char *name, int nonblocking,
		 int timeout_ms, struct vmh_lock *lock, struct vmh_error *err)
{
	return vmh_lock_acquire_mode(dir, name, 0, nonblocking, timeout_ms,
				     lock, err);
}

enum vmh_rc
vmh_lock_acquire_mode(const char *dir, const char *name, int shared,
		      int nonblocking, int timeout_ms, struct vmh_lock *lock,
		      struct vmh_error *err)
{
	struct flock fl;
	char path[512], pid[32];
	long long deadline = vmh_now_ms() + timeout_ms;
	enum vmh_rc rc;
	int fd = -1, n;

	if ((rc = vmh_state_dir_ensure(dir, err)) != VMH_OK)
		return rc;
	n = snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path) || strchr(name, '/') != NULL)
		return vmh_error_set(err, VMH_E_INTERNAL, dir, 0,
				     "bad lock name '%s'", name);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vmh_error_errno(err, errno, path, "cannot open lock");
	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = shared ? F_RDLCK : F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			break;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			rc = vmh_error_errno(err, errno, path, "cannot lock");
			goto fail;
		}
		if (nonblocking ||
		    (timeout_ms > 0 && vmh_now_ms() >= deadline)) {
			long holder = holder_pid(fd);

			if (holder > 0)
				rc = vmh_error_set(err, VMH_E_BUSY, path, 0,
						   "held by another process "
						   "(pid %ld)",
						   holder);
			else
				rc = vmh_error_set(err, VMH_E_BUSY, path, 0,
						   "held by another process");
			goto fail;
		}
		vmh_sleep_ms(50);
	}
	/* Shared holders do not write: the file names the exclusive one. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (!shared &&
	    (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)) {
		rc = vmh_error_errno(err, errno, path, "cannot write lock");
		goto fail;
	}
	lock->fd = fd;
	vmh_strlcpy(lock->path, path, sizeof(lock->path));
	return VMH_OK;
fail:
	close(fd);
	return rc;
}

void
vmh_lock_release(struct vmh_lock *lock)
{
	if (lock == NULL || lock->fd < 0)
		return;
	/* Closing the last descriptor of the description drops the OFD
	 * lock; the pid is left behind, harmless: holder_pid is only read
	 * while the lock is held by someone. */
	close(lock->fd);
	lock->fd = -1;
}
