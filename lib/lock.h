/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lock files in the state directory: one per protected resource (a host
 * under recovery, a VM, net_fence's state). Opened O_NOFOLLOW|O_CLOEXEC and
 * locked with an open file description lock (F_OFD_SETLK), so the lock dies
 * with the process however it ends, and a second run learns at once that
 * another holds it. The holder's pid is written into the file for messages.
 */
#ifndef VMH_LOCK_H
#define VMH_LOCK_H

#include "error.h"

struct vmh_lock {
	int fd; /* -1 when not held */
	char path[512];
};

/*
 * Take dir/name.lock (dir is created 0700 if missing). nonblocking: fail at
 * once with VMH_E_BUSY (err names the holder's pid) when another process
 * holds it; otherwise wait up to timeout_ms (0: forever). The lock struct
 * is filled only on success.
 */
enum vmh_rc vmh_lock_acquire(const char *dir, const char *name, int nonblocking,
			     int timeout_ms, struct vmh_lock *lock,
			     struct vmh_error *err);

/*
 * The same with a shared (read) lock when shared is non-zero: any number of
 * shared holders, or one exclusive holder. host_error holds a host's
 * "host-ID.vms" lock exclusively while it acts on the host's VMs;
 * vm_failure_recreate holds it shared while it acts on one VM of that host,
 * so neither ever acts on a VM the other is recovering.
 */
enum vmh_rc vmh_lock_acquire_mode(const char *dir, const char *name, int shared,
				  int nonblocking, int timeout_ms,
				  struct vmh_lock *lock, struct vmh_error *err);

/* Release and close; harmless on a lock not held. The file stays (removing
 * it would race with a waiter that already opened it). */
void vmh_lock_release(struct vmh_lock *lock);

/* Create dir (and parents) with mode 0700 if missing; refuse a symlink or a
 * directory writable by group/others. */
enum vmh_rc vmh_state_dir_ensure(const char *dir, struct vmh_error *err);

#endif
