/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Growable byte buffer with a mandatory ceiling. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
vmh_buf_init(struct vmh_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->max = max;
}

/* Make room for need more bytes plus the NUL, doubling up to max + 1. */
static enum vmh_rc
buf_reserve(struct vmh_buf *b, size_t need)
{
	size_t want, size;
	char *p;

	if (need > b->max || b->len > b->max - need ||
	    b->len + need >= SIZE_MAX)
		return VMH_E_TOOBIG;
	want = b->len + need + 1;
	if (want <= b->size)
		return VMH_OK;
	size = b->size ? b->size : 64;
	while (size < want)
		size = size > SIZE_MAX / 2 ? want : size * 2;
	/* Never allocate past the ceiling (max + 1 cannot overflow here:
	 * want <= max + 1 was checked above). */
	if (b->max < SIZE_MAX && size > b->max + 1)
		size = b->max + 1;
	p = realloc(b->data, size);
	if (p == NULL)
		return VMH_E_NOMEM;
	b->data = p;
	b->size = size;
	return VMH_OK;
}

enum vmh_rc
vmh_buf_append(struct vmh_buf *b, const void *data, size_t len)
{
	enum vmh_rc rc;

	if ((rc = buf_reserve(b, len)) != VMH_OK)
		return rc;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return VMH_OK;
}

enum vmh_rc
vmh_buf_puts(struct vmh_buf *b, const char *s)
{
	return vmh_buf_append(b, s, strlen(s));
}

enum vmh_rc
vmh_buf_vprintf(struct vmh_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;
	enum vmh_rc rc;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return VMH_E_INTERNAL;
	if ((rc = buf_reserve(b, (size_t)n)) != VMH_OK)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return VMH_OK;
}

enum vmh_rc
vmh_buf_printf(struct vmh_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum vmh_rc rc;

	va_start(ap, fmt);
	rc = vmh_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
vmh_buf_str(const struct vmh_buf *b)
{
	return b->data != NULL ? b->data : "";
}

void
vmh_buf_reset(struct vmh_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
vmh_buf_free(struct vmh_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->size = 0;
}

char *
vmh_buf_steal(struct vmh_buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	return p;
}
