/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Linux watchdog device API: open arms, ioctl or write pets, 'V' then
 * close disarms (Documentation/watchdog/watchdog-api.rst). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"
#include "watchdog.h"

enum vmh_rc
vmh_watchdog_open(const char *path, int timeout_s, struct vmh_watchdog *wd,
		  struct vmh_error *err)
{
	struct stat st;
	int t;

	memset(wd, 0, sizeof(*wd));
	wd->fd = -1;
	if (vmh_strlcpy(wd->path, path, sizeof(wd->path)) >= sizeof(wd->path))
		return vmh_error_set(err, VMH_E_CONFIG, path, 0,
				     "watchdog path too long");
	/* O_APPEND only matters for the regular file of the tests. */
	wd->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (wd->fd < 0)
		return vmh_error_errno(err, errno, path,
				       "cannot open watchdog");
	if (fstat(wd->fd, &st) == 0 && S_ISCHR(st.st_mode))
		wd->is_device = 1;
	if (!wd->is_device)
		return VMH_OK;
	if (timeout_s > 0) {
		t = timeout_s;
		if (ioctl(wd->fd, WDIOC_SETTIMEOUT, &t) < 0) {
			enum vmh_rc rc = vmh_error_errno(
			    err, errno, path, "cannot set the timeout to %d s",
			    timeout_s);

			/* Opened means armed: disarm before giving up. */
			vmh_watchdog_close(wd, 1);
			return rc;
		}
	}
	if (ioctl(wd->fd, WDIOC_GETTIMEOUT, &t) == 0 && t > 0)
		wd->timeout_s = t;
	return VMH_OK;
}

enum vmh_rc
vmh_watchdog_pet(struct vmh_watchdog *wd, struct vmh_error *err)
{
	int dummy = 0;

	if (wd->fd < 0)
		return VMH_OK;
	if (wd->is_device && ioctl(wd->fd, WDIOC_KEEPALIVE, &dummy) == 0)
		return VMH_OK;
	/* Any write other than 'V' is a keepalive for every driver. */
	if (write(wd->fd, ".", 1) == 1)
		return VMH_OK;
	return vmh_error_errno(err, errno, wd->path, "watchdog keepalive");
}

void
vmh_watchdog_close(struct vmh_watchdog *wd, int disarm)
{
	if (wd == NULL || wd->fd < 0)
		return;
	if (disarm)
		(void)!write(wd->fd, "V", 1);
	close(wd->fd);
	wd->fd = -1;
}
