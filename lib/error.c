/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The caller-owned error record: first error wins, always one line. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

#include "error.h"
#include "str.h"

void
vmh_error_init(struct vmh_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}

void
vmh_error_reset(struct vmh_error *err)
{
	vmh_error_init(err);
}

/* Keep the message on one line: logs and hook output are line based. */
static void
flatten(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

static enum vmh_rc
error_vset(struct vmh_error *err, enum vmh_rc code, const char *source,
	   int line, const char *suffix, const char *fmt, va_list ap)
{
	size_t len;

	if (err == NULL || err->code != VMH_OK)
		return code;
	err->code = code;
	err->line = line;
	vmh_strlcpy(err->source, source != NULL ? source : "",
		    sizeof(err->source));
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	if (suffix != NULL) {
		len = strlen(err->text);
		snprintf(err->text + len, sizeof(err->text) - len, ": %s",
			 suffix);
	}
	flatten(err->text);
	flatten(err->source);
	return code;
}

enum vmh_rc
vmh_error_set(struct vmh_error *err, enum vmh_rc code, const char *source,
	      int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, source, line, NULL, fmt, ap);
	va_end(ap);
	return code;
}

enum vmh_rc
vmh_error_errno(struct vmh_error *err, int errnum, const char *source,
		const char *fmt, ...)
{
	va_list ap;
	enum vmh_rc code = errnum == ENOMEM ? VMH_E_NOMEM : VMH_E_SYSTEM;

	va_start(ap, fmt);
	error_vset(err, code, source, 0, strerror(errnum), fmt, ap);
	va_end(ap);
	return code;
}

const char *
vmh_error_format(const struct vmh_error *err, char *dst, size_t dstlen)
{
	if (dstlen == 0)
		return dst;
	if (err == NULL || err->code == VMH_OK)
		snprintf(dst, dstlen, "%s", "no error");
	else if (err->source[0] != '\0' && err->line > 0)
		snprintf(dst, dstlen, "%s:%d: %s", err->source, err->line,
			 err->text);
	else if (err->source[0] != '\0')
		snprintf(dst, dstlen, "%s: %s", err->source, err->text);
	else
		snprintf(dst, dstlen, "%s", err->text);
	return dst;
}
