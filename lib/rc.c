/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Return code strings and the one mapping from return codes to exit codes. */
#include "config.h"

#include <stddef.h>

#include "rc.h"

static const struct {
	const char *text;
	int exit_code;
} rc_table[VMH_RC_COUNT] = {
	[VMH_OK] = { "success", VMH_EXIT_OK },
	[VMH_E_USAGE] = { "usage error", VMH_EXIT_USAGE },
	[VMH_E_DATA] = { "malformed input", VMH_EXIT_DATAERR },
	[VMH_E_NOTFOUND] = { "no such object", VMH_EXIT_NOINPUT },
	[VMH_E_CONFIG] = { "configuration error", VMH_EXIT_CONFIG },
	[VMH_E_UNAVAILABLE] = { "service unavailable", VMH_EXIT_UNAVAILABLE },
	[VMH_E_TIMEOUT] = { "timed out", VMH_EXIT_TEMPFAIL },
	[VMH_E_AUTH] = { "authentication failed", VMH_EXIT_NOPERM },
	[VMH_E_DENIED] = { "request refused", VMH_EXIT_FAILURE },
	[VMH_E_API] = { "API error", VMH_EXIT_FAILURE },
	[VMH_E_TOOBIG] = { "size limit exceeded", VMH_EXIT_DATAERR },
	[VMH_E_NOMEM] = { "out of memory", VMH_EXIT_OSERR },
	[VMH_E_SYSTEM] = { "system error", VMH_EXIT_OSERR },
	[VMH_E_BUSY] = { "busy: another run holds the lock",
			 VMH_EXIT_TEMPFAIL },
	[VMH_E_FENCE] = { "fencing failed", VMH_EXIT_FENCE_FAILED },
	[VMH_E_PARTIAL] = { "partially recovered", VMH_EXIT_PARTIAL },
	[VMH_E_ISOLATED] = { "host isolated, not dead", VMH_EXIT_ISOLATED },
	[VMH_E_STORM] = { "failure storm: refused to act", VMH_EXIT_STORM },
	[VMH_E_GAVE_UP] = { "gave up: flap limit reached", VMH_EXIT_GAVE_UP },
	[VMH_E_INTERNAL] = { "internal error", VMH_EXIT_SOFTWARE },
};

const char *
vmh_strerror(enum vmh_rc rc)
{
	if ((unsigned)rc >= VMH_RC_COUNT || rc_table[rc].text == NULL)
		return "unknown error";
	return rc_table[rc].text;
}

int
vmh_rc_to_exit(enum vmh_rc rc)
{
	if ((unsigned)rc >= VMH_RC_COUNT || rc_table[rc].text == NULL)
		return VMH_EXIT_SOFTWARE;
	return rc_table[rc].exit_code;
}
