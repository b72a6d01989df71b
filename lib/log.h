/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging, OpenBSD style: to stderr while in the foreground, to syslog
 * otherwise, optionally as JSON lines. Strings registered as secrets are
 * masked in every message. errno is preserved across every call.
 */
#ifndef VMH_LOG_H
#define VMH_LOG_H

#include <stdarg.h>

enum vmh_log_level {
	VMH_LOG_ERR = 3,
	VMH_LOG_WARNING = 4,
	VMH_LOG_NOTICE = 5,
	VMH_LOG_INFO = 6,
	VMH_LOG_DEBUG = 7,
};

/* Destinations, may be combined. */
#define VMH_LOG_TO_STDERR 0x1
#define VMH_LOG_TO_SYSLOG 0x2
#define VMH_LOG_JSON      0x4 /* stderr lines as JSON objects */

/*
 * progname: ident for syslog and the prefix on stderr.
 * dest: VMH_LOG_TO_* flags. facility: a syslog facility (LOG_DAEMON...).
 */
void vmh_log_init(const char *progname, int dest, int facility);

/* 0: warnings and errors; 1: + info; 2: + debug. */
void vmh_log_setverbose(int verbose);
int vmh_log_getverbose(void);

/* Mask s (at least 4 characters long) as "****" from now on. The string is
 * copied. At most 16 secrets are kept; more are refused with -1. */
int vmh_log_add_secret(const char *s);
void vmh_log_clear_secrets(void);

void vmh_log(enum vmh_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vmh_vlog(enum vmh_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Append ": strerror(errno)" */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy src to dst (size dstlen) with every registered secret masked. */
void vmh_log_mask(const char *src, char *dst, unsigned long dstlen);

#endif
