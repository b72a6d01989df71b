/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bounded string and number helpers. */
#ifndef VMH_STR_H
#define VMH_STR_H

#include <stddef.h>

#include "error.h"

/* Parse a whole decimal integer within [min, max]. what names the value in
 * the error ("-p", "HOST/ID"...). */
enum vmh_rc vmh_strtonum(const char *s, long long min, long long max,
			 long long *out, const char *what,
			 struct vmh_error *err);

/* Copy with truncation; returns strlen(src) (truncated if >= dstlen). */
size_t vmh_strlcpy(char *dst, const char *src, size_t dstlen);

/* Strip trailing whitespace in place; returns s. */
char *vmh_rstrip(char *s);

/* 1 if s is all ASCII digits (and non-empty). */
int vmh_str_isdigits(const char *s);

/* 1 if s is a UUID in its canonical 8-4-4-4-12 hexadecimal form (Nova's
 * server and service ids). */
int vmh_str_isuuid(const char *s);

/* Base64 (RFC 4648, with padding; whitespace ignored on decode).
 * Decoding returns VMH_E_DATA naming the offset of the first bad byte.
 * *out is allocated (NUL-terminated), caller frees. */
enum vmh_rc vmh_base64_decode(const char *in, size_t inlen, char **out,
			      size_t *outlen, struct vmh_error *err);
char *vmh_base64_encode(const void *in, size_t inlen);

/* Monotonic milliseconds, and wall-clock seconds. */
long long vmh_now_ms(void);
long long vmh_wall_s(void);

/* Sleep ms milliseconds, resuming after signals. */
void vmh_sleep_ms(long long ms);

#endif
