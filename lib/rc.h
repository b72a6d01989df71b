/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Return codes of the vmheal library and the documented exit statuses of the
 * programs. Library functions return an enum vmh_rc; only main() turns one
 * into an exit status, once, through vmh_rc_to_exit().
 */
#ifndef VMH_RC_H
#define VMH_RC_H

enum vmh_rc {
	VMH_OK = 0,
	VMH_E_USAGE,       /* bad command line */
	VMH_E_DATA,        /* malformed input: base64, XML, JSON, answer */
	VMH_E_NOTFOUND,    /* the host or VM named does not exist */
	VMH_E_CONFIG,      /* configuration file wrong or unsafe */
	VMH_E_UNAVAILABLE, /* cloud/API unreachable or failing: transient */
	VMH_E_TIMEOUT,     /* an operation ran past its deadline */
	VMH_E_AUTH,        /* credentials refused */
	VMH_E_DENIED,      /* authorised user, but the API refused the call */
	VMH_E_API,         /* the API answered with a permanent error */
	VMH_E_TOOBIG,      /* a size cap was hit */
	VMH_E_NOMEM,       /* allocation failed */
	VMH_E_SYSTEM,      /* a system call failed (errno in the text) */
	VMH_E_BUSY,        /* another run holds the lock */
	VMH_E_FENCE,       /* fencing failed or not verified: nothing moved */
	VMH_E_PARTIAL,     /* some VMs recovered, some not */
	VMH_E_ISOLATED,    /* host alive on another network: not dead */
	VMH_E_STORM,       /* too many hosts failing at once: refused */
	VMH_E_GAVE_UP,     /* flap limit reached: VM marked, no action */
	VMH_E_INTERNAL,    /* a bug: should not happen */
	VMH_RC_COUNT
};

/*
 * Exit statuses (sysexits.h values where one fits, project codes 80-89).
 * They are documented in every man page; keep them stable.
 */
enum vmh_exit {
	VMH_EXIT_OK = 0,
	VMH_EXIT_FAILURE = 1,      /* generic failure */
	VMH_EXIT_USAGE = 64,       /* EX_USAGE */
	VMH_EXIT_DATAERR = 65,     /* EX_DATAERR */
	VMH_EXIT_NOINPUT = 66,     /* EX_NOINPUT: host/VM not found */
	VMH_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE */
	VMH_EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error */
	VMH_EXIT_OSERR = 71,       /* EX_OSERR */
	VMH_EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: try again later */
	VMH_EXIT_NOPERM = 77,      /* EX_NOPERM: credentials refused */
	VMH_EXIT_CONFIG = 78,      /* EX_CONFIG */
	VMH_EXIT_FENCE_FAILED = 80,
	VMH_EXIT_PARTIAL = 81,
	VMH_EXIT_ISOLATED = 82,
	VMH_EXIT_STORM = 83,
	VMH_EXIT_GAVE_UP = 84,
	VMH_EXIT_DEGRADED = 85, /* net_fence: a network is down, alert only */
};

/* Short constant description of a return code, never NULL. */
const char *vmh_strerror(enum vmh_rc rc);

/* The exit status a program uses for rc. Total over enum vmh_rc. */
int vmh_rc_to_exit(enum vmh_rc rc);

#endif
