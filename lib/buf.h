/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growable byte buffer with a mandatory ceiling (after curl's dynbuf): every
 * byte that comes from outside goes through one, so a hostile or broken peer
 * cannot make us allocate without bound. The data is always NUL-terminated.
 */
#ifndef VMH_BUF_H
#define VMH_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "rc.h"

struct vmh_buf {
	char *data;  /* NULL until the first append; then NUL-terminated */
	size_t len;  /* bytes used, without the terminating NUL */
	size_t size; /* bytes allocated */
	size_t max;  /* largest len allowed */
};

/* Initialise an empty buffer that may hold at most max bytes (max > 0). */
void vmh_buf_init(struct vmh_buf *b, size_t max);

/* Append len bytes. VMH_E_TOOBIG (buffer unchanged) past the ceiling. */
enum vmh_rc vmh_buf_append(struct vmh_buf *b, const void *data, size_t len);

/* Append a NUL-terminated string. */
enum vmh_rc vmh_buf_puts(struct vmh_buf *b, const char *s);

/* Append formatted text. VMH_E_TOOBIG leaves the buffer unchanged. */
enum vmh_rc vmh_buf_printf(struct vmh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum vmh_rc vmh_buf_vprintf(struct vmh_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The contents as a string: "" for an empty buffer, never NULL. */
const char *vmh_buf_str(const struct vmh_buf *b);

/* Forget the contents, keep the allocation. */
void vmh_buf_reset(struct vmh_buf *b);

/* Release the memory; the buffer is empty and reusable afterwards. */
void vmh_buf_free(struct vmh_buf *b);

/* Hand the memory to the caller (who frees it); the buffer becomes empty.
 * Returns an allocated "" for an empty buffer, NULL only on allocation
 * failure. */
char *vmh_buf_steal(struct vmh_buf *b);

#endif
