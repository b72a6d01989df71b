/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr (foreground) and/or syslog, optionally as JSON lines.
 * Every message passes through the secret mask before it leaves the process.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "str.h"

#define LOG_LINE_MAX    2048
#define LOG_SECRETS_MAX 16
#define LOG_SECRET_MIN  4

static const char *log_progname = "vmheal";
static int log_dest = VMH_LOG_TO_STDERR;
static int log_verbose;
static char *log_secrets[LOG_SECRETS_MAX];

void
vmh_log_init(const char *progname, int dest, int facility)
{
	log_progname = progname;
	log_dest = dest;
	if (dest & VMH_LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, facility);
}

void
vmh_log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
vmh_log_getverbose(void)
{
	return log_verbose;
}

int
vmh_log_add_secret(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) < LOG_SECRET_MIN)
		return -1;
	for (i = 0; i < LOG_SECRETS_MAX; i++) {
		if (log_secrets[i] != NULL && strcmp(log_secrets[i], s) == 0)
			return 0;
		if (log_secrets[i] == NULL) {
			if ((log_secrets[i] = strdup(s)) == NULL)
				return -1;
			return 0;
		}
	}
	return -1;
}

void
vmh_log_clear_secrets(void)
{
	size_t i;

	for (i = 0; i < LOG_SECRETS_MAX; i++) {
		free(log_secrets[i]);
		log_secrets[i] = NULL;
	}
}

void
vmh_log_mask(const char *src, char *dst, unsigned long dstlen)
{
	size_t o = 0, i, n;
	int hit;

	if (dstlen == 0)
		return;
	while (*src != '\0' && o + 1 < dstlen) {
		hit = 0;
		for (i = 0; i < LOG_SECRETS_MAX && log_secrets[i]; i++) {
			n = strlen(log_secrets[i]);
			if (strncmp(src, log_secrets[i], n) == 0) {
				hit = 1;
				src += n;
				for (n = 0; n < 4 && o + 1 < dstlen; n++)
					dst[o++] = '*';
				break;
			}
		}
		if (!hit)
			dst[o++] = *src++;
	}
	dst[o] = '\0';
}

static const char *
level_name(enum vmh_log_level level)
{
	switch (level) {
	case VMH_LOG_ERR:
		return "error";
	case VMH_LOG_WARNING:
		return "warning";
	case VMH_LOG_NOTICE:
		return "notice";
	case VMH_LOG_INFO:
		return "info";
	case VMH_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

/* Write s as a JSON string body (without the quotes). */
static void
json_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void
vmh_vlog(enum vmh_log_level level, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX];
	int saved_errno = errno;
	struct timespec ts;
	struct tm tm;
	char stamp[40];

	if ((level == VMH_LOG_INFO && log_verbose < 1) ||
	    (level == VMH_LOG_DEBUG && log_verbose < 2))
		goto done;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	vmh_log_mask(raw, line, sizeof(line));

	if (log_dest & VMH_LOG_TO_SYSLOG)
		syslog((int)level, "%s", line);
	if (log_dest & VMH_LOG_JSON) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr,
			"{\"time\":\"%s.%03ldZ\",\"prog\":\"%s\","
			"\"level\":\"%s\",\"msg\":\"",
			stamp, ts.tv_nsec / 1000000, log_progname,
			level_name(level));
		json_escape(stderr, line);
		fputs("\"}\n", stderr);
	} else if (log_dest & VMH_LOG_TO_STDERR) {
		fprintf(stderr, "%s: %s\n", log_progname, line);
	}
done:
	errno = saved_errno;
}

void
vmh_log(enum vmh_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmh_vlog(level, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmh_log(VMH_LOG_WARNING, "%s: %s", msg, strerror(saved_errno));
	errno = saved_errno;
}

#define LOG_WRAPPER(name, level)                                               \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vmh_vlog(level, fmt, ap);                                      \
		va_end(ap);                                                    \
	}

LOG_WRAPPER(log_warnx, VMH_LOG_WARNING)
LOG_WRAPPER(log_info, VMH_LOG_INFO)
LOG_WRAPPER(log_notice, VMH_LOG_NOTICE)
LOG_WRAPPER(log_debug, VMH_LOG_DEBUG)
