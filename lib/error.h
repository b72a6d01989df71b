/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Caller-owned error record, in the manner of jansson's json_error_t: the
 * function that fails fills it, the first error set wins, and the caller
 * decides whether to log or print it. Every pointer argument may be NULL.
 */
#ifndef VMH_ERROR_H
#define VMH_ERROR_H

#include <stddef.h>

#include "rc.h"

#define VMH_ERROR_SOURCE_MAX 160
#define VMH_ERROR_TEXT_MAX   512

struct vmh_error {
	enum vmh_rc code;                  /* VMH_OK while unset */
	int line;                          /* line in source, 0 when none */
	char source[VMH_ERROR_SOURCE_MAX]; /* file, URL or method */
	char text[VMH_ERROR_TEXT_MAX];     /* one line, no trailing newline */
};

void vmh_error_init(struct vmh_error *err);

/*
 * Record an error unless one is already recorded. source may be NULL.
 * Newlines in the formatted text are replaced so the message stays one line.
 * Returns code, so that callers can write `return vmh_error_set(...)`.
 */
enum vmh_rc vmh_error_set(struct vmh_error *err, enum vmh_rc code,
			  const char *source, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Like vmh_error_set() but appends ": strerror(errnum)". */
enum vmh_rc vmh_error_errno(struct vmh_error *err, int errnum,
			    const char *source, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Replace whatever is recorded (used to add context to a lower error). */
void vmh_error_reset(struct vmh_error *err);

/*
 * Format the error as one line: "source:line: text", "source: text" or
 * "text". Returns dst.
 */
const char *vmh_error_format(const struct vmh_error *err, char *dst,
			     size_t dstlen);

#endif
