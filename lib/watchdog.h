/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A Linux watchdog device (/dev/watchdog, softdog or hardware) kept alive by
 * a daemon: if the daemon hangs, stops petting, or dies without the magic
 * close, the kernel resets the machine. net_fence uses it so that a hung
 * net_fence still fences (the Proxmox self-fencing model). A regular file
 * stands in for the device in tests: each keepalive appends '.', the magic
 * close appends 'V'.
 */
#ifndef VMH_WATCHDOG_H
#define VMH_WATCHDOG_H

#include "error.h"

struct vmh_watchdog {
	int fd; /* -1 when closed */
	int is_device;
	int timeout_s; /* as the device reports it, 0 when unknown */
	char path[256];
};

/*
 * Open and so arm the watchdog at path. timeout_s > 0 asks the device for
 * that timeout (WDIOC_SETTIMEOUT); the one in force is read back into
 * wd->timeout_s when the device tells.
 */
enum vmh_rc vmh_watchdog_open(const char *path, int timeout_s,
			      struct vmh_watchdog *wd, struct vmh_error *err);

/* Keep it alive. */
enum vmh_rc vmh_watchdog_pet(struct vmh_watchdog *wd, struct vmh_error *err);

/*
 * Close it. disarm: write the magic 'V' first, so the device stops
 * counting; without it the machine is reset when the timeout expires
 * (unless the driver ignores magic close, "nowayout"). Harmless when
 * closed.
 */
void vmh_watchdog_close(struct vmh_watchdog *wd, int disarm);

#endif
