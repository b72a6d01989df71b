/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bounded string, number, base64 and time helpers. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "str.h"

enum vmh_rc
vmh_strtonum(const char *s, long long min, long long max, long long *out,
	     const char *what, struct vmh_error *err)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "%s: empty number", what);
	if (isspace((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		goto bad;
	if (errno == ERANGE || v < min || v > max)
		return vmh_error_set(err, VMH_E_DATA, NULL, 0,
				     "%s: %s is out of range %lld..%lld", what,
				     s, min, max);
	*out = v;
	return VMH_OK;
bad:
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "%s: '%.40s' is not a whole number", what, s);
}

size_t
vmh_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);

	if (dstlen > 0) {
		size_t c = n < dstlen - 1 ? n : dstlen - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
vmh_rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int
vmh_str_isdigits(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int
vmh_str_isuuid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum vmh_rc
vmh_base64_decode(const char *in, size_t inlen, char **out, size_t *outlen,
		  struct vmh_error *err)
{
	unsigned char *res = NULL;
	size_t i, o = 0, pad = 0, nchars = 0;
	unsigned acc = 0;
	int v;
	enum vmh_rc rc = VMH_OK;

	*out = NULL;
	if ((res = malloc(inlen / 4 * 3 + 4)) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "base64: out of memory");
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0) {
			rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
					   "base64: invalid character at "
					   "offset %zu",
					   i);
			goto done;
		}
		acc = (acc << 6) | (unsigned)v;
		if (++nchars % 4 == 0) {
			res[o++] = (unsigned char)(acc >> 16);
			res[o++] = (unsigned char)(acc >> 8);
			res[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	switch (nchars % 4) {
	case 0:
		break;
	case 2:
		res[o++] = (unsigned char)(acc >> 4);
		break;
	case 3:
		res[o++] = (unsigned char)(acc >> 10);
		res[o++] = (unsigned char)(acc >> 2);
		break;
	default:
		rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
				   "base64: truncated input (%zu characters)",
				   nchars);
		goto done;
	}
	if (pad > 2 || (pad > 0 && (nchars + pad) % 4 != 0)) {
		rc = vmh_error_set(err, VMH_E_DATA, NULL, 0,
				   "base64: bad padding");
		goto done;
	}
	res[o] = '\0';
	*out = (char *)res;
	if (outlen != NULL)
		*outlen = o;
	res = NULL;
done:
	free(res);
	return rc;
}

char *
vmh_base64_encode(const void *in, size_t inlen)
{
	const unsigned char *p = in;
	char *res;
	size_t i, o = 0;
	unsigned v;

	if (inlen > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	if ((res = malloc((inlen + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < inlen; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		res[o++] = b64_alphabet[(v >> 18) & 63];
		res[o++] = b64_alphabet[(v >> 12) & 63];
		res[o++] = b64_alphabet[(v >> 6) & 63];
		res[o++] = b64_alphabet[v & 63];
	}
	if (inlen - i == 1) {
		v = (unsigned)p[i] << 16;
		res[o++] = b64_alphabet[(v >> 18) & 63];
		res[o++] = b64_alphabet[(v >> 12) & 63];
		res[o++] = '=';
		res[o++] = '=';
	} else if (inlen - i == 2) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		res[o++] = b64_alphabet[(v >> 18) & 63];
		res[o++] = b64_alphabet[(v >> 12) & 63];
		res[o++] = b64_alphabet[(v >> 6) & 63];
		res[o++] = '=';
	}
	res[o] = '\0';
	return res;
}

long long
vmh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
vmh_wall_s(void)
{
	return (long long)time(NULL);
}

void
vmh_sleep_ms(long long ms)
{
	struct timespec ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}
