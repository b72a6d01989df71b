/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP client over libcurl's multi interface. Synchronous requests are
 * batches of one, so both share the multi handle's connection cache.
 * Hardening follows libcurl-security.md: timeouts, protocol whitelist, no
 * redirects, TLS verification, a cap enforced in the write callback.
 */
#include "config.h"

#include <curl/curl.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "str.h"

#define HTTP_MAX_HEADER_BYTES   (64 * 1024)
#define HTTP_POLL_MS            1000
#define HTTP_URL_MSG_MAX        200
#define HTTP_SNIPPET_MAX        160
#define HTTP_ASYNC_IDLE_MAX     4    /* easy handles kept by an async client */
#define HTTP_CA_DIR_MAX_ENTRIES 4096 /* directory entries looked at */
#define HTTP_DEFAULT_CA_BUNDLE  "/etc/ssl/certs/ca-certificates.crt"

struct vmh_http {
	CURLM *multi;
	CURL **idle; /* easy handles kept for reuse */
	size_t n_idle;
	size_t idle_max; /* at most this many */
	struct vmh_http_opts opts;
	char *ca_file;
	char *cert_file, *key_file;
	char *ca_blob; /* opts.ca_dir: the bundle and the directory's PEM
			  files, for CURLOPT_CAINFO_BLOB; NULL: none */
	size_t ca_blob_len;
	unsigned long requests;
	int async;                 /* switched to event-driven use */
	struct vmh_http_events ev; /* the loop's callbacks when async */
	size_t async_active;       /* async transfers in flight */
};

/* One transfer in flight. */
struct xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	struct vmh_http_request req;
	struct vmh_http_response resp;
	struct vmh_buf hdrbuf; /* raw header lines of the latest response */
	char errbuf[CURL_ERROR_SIZE];
	char url[HTTP_URL_MSG_MAX]; /* for messages, without user:password */
	int in_use;
	int toobig;    /* the body or header cap was hit */
	int nomem;     /* a callback could not allocate */
	int attempts;  /* requests curl started for this transfer */
	int no_resend; /* a re-send of a non-idempotent request refused */
	size_t index;
	long long start_ms;
	vmh_http_async_cb acb; /* event-driven transfers: the callback */
	void *actx;
};

/* What vmh_http_async_start() hands out. */
struct vmh_http_xfer {
	struct xfer x;
};

static int http_global_ready;

enum vmh_rc
vmh_http_global_init(struct vmh_error *err)
{
	CURLcode c;

	if (http_global_ready)
		return VMH_OK;
	if ((c = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		return vmh_error_set(err, VMH_E_SYSTEM, NULL, 0,
				     "cannot initialise libcurl: %s",
				     curl_easy_strerror(c));
	http_global_ready = 1;
	return VMH_OK;
}

void
vmh_http_global_cleanup(void)
{
	if (!http_global_ready)
		return;
	curl_global_cleanup();
	http_global_ready = 0;
}

/* A CA file or directory that cannot be used: the setup is wrong. */
static enum vmh_rc
ca_errno(struct vmh_error *err, int errnum, const char *path, const char *doing,
	 const char *what)
{
	return vmh_error_set(err, errnum == ENOMEM ? VMH_E_NOMEM : VMH_E_CONFIG,
			     path, 0, "cannot %s the %s: %s", doing, what,
			     strerror(errnum));
}

/*
 * Read the regular file fd (named path in messages) into b, at most
 * VMH_HTTP_CA_FILE_MAX bytes; what names its role in messages.
 */
static enum vmh_rc
ca_read(int fd, const char *path, const char *what, struct vmh_buf *b,
	struct vmh_error *err)
{
	char chunk[8192];
	enum vmh_rc rc;
	ssize_t r;

	vmh_buf_reset(b);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ca_errno(err, errno, path, "read", what);
		}
		if ((rc = vmh_buf_append(b, chunk, (size_t)r)) == VMH_E_TOOBIG)
			return vmh_error_set(err, VMH_E_CONFIG, path, 0,
					     "%s larger than %d bytes", what,
					     VMH_HTTP_CA_FILE_MAX);
		if (rc != VMH_OK)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
	}
	return VMH_OK;
}

/* Open path (a regular file: checked on the descriptor) and read it. */
static enum vmh_rc
ca_read_path(const char *path, const char *what, struct vmh_buf *b,
	     struct vmh_error *err)
{
	struct stat st;
	enum vmh_rc rc;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return ca_errno(err, errno, path, "open", what);
	if (fstat(fd, &st) < 0)
		rc = ca_errno(err, errno, path, "stat", what);
	else if (!S_ISREG(st.st_mode))
		rc = vmh_error_set(err, VMH_E_CONFIG, path, 0,
				   "the %s is not a regular file", what);
	else
		rc = ca_read(fd, path, what, b, err);
	close(fd);
	return rc;
}

/* Append a file's text to the blob, newline-terminated. */
static enum vmh_rc
ca_append(struct vmh_buf *blob, const struct vmh_buf *f, const char *dir,
	  struct vmh_error *err)
{
	enum vmh_rc rc = VMH_OK;

	if (f->len > 0)
		rc = vmh_buf_append(blob, f->data, f->len);
	if (rc == VMH_OK && f->len > 0 && f->data[f->len - 1] != '\n')
		rc = vmh_buf_append(blob, "\n", 1);
	if (rc == VMH_E_TOOBIG)
		return vmh_error_set(err, VMH_E_CONFIG, dir, 0,
				     "CA certificates larger than %d bytes "
				     "in all",
				     VMH_HTTP_CA_TOTAL_MAX);
	if (rc != VMH_OK)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	return VMH_OK;
}

static int
is_pem_certificate(const struct vmh_buf *f)
{
	const char *d = vmh_buf_str(f);

	/* A NUL byte ends the search early: binary, not PEM anyway. */
	return strstr(d, "-----BEGIN CERTIFICATE-----") != NULL ||
	       strstr(d, "-----BEGIN TRUSTED CERTIFICATE-----") != NULL;
}

/* The bundle ca_dir adds to: ca_file, else libcurl's built-in default. */
static void
ca_bundle_path(const struct vmh_http *h, char *dst, size_t len)
{
	const char *def = NULL;

	if (h->ca_file != NULL) {
		vmh_strlcpy(dst, h->ca_file, len);
		return;
	}
#if LIBCURL_VERSION_NUM >= 0x075400
	{
		CURL *e = curl_easy_init();

		if (e != NULL &&
		    curl_easy_getinfo(e, CURLINFO_CAINFO, &def) == CURLE_OK &&
		    def != NULL)
			vmh_strlcpy(dst, def, len);
		else
			def = NULL;
		if (e != NULL)
			curl_easy_cleanup(e);
	}
#endif
	if (def == NULL)
		vmh_strlcpy(dst, HTTP_DEFAULT_CA_BUNDLE, len);
}

/*
 * The store opts.ca_dir stands for: the bundle in use (ca_file, else
 * libcurl's default, which CURLOPT_CAINFO_BLOB replaces) followed by every
 * regular PEM file of dir, as OpenNebula's Ruby OCA builds its store from
 * ONE_CERT_DIR (CURLOPT_CAPATH would need hashed names).
 */
static enum vmh_rc
ca_dir_load(struct vmh_http *h, const char *dir, struct vmh_error *err)
{
#if LIBCURL_VERSION_NUM >= 0x074d00
	struct vmh_buf blob, f;
	struct vmh_error le;
	char bundle[4096], path[4096];
	struct dirent *de;
	struct stat st;
	size_t n_files = 0, n_entries = 0, n_certs = 0;
	enum vmh_rc rc;
	DIR *d = NULL;
	int dfd, fd;

	vmh_buf_init(&blob, VMH_HTTP_CA_TOTAL_MAX);
	vmh_buf_init(&f, VMH_HTTP_CA_FILE_MAX);
	ca_bundle_path(h, bundle, sizeof(bundle));
	/* ca_file must be usable; the default bundle may be missing: the
	 * directory's CAs alone are the store then. */
	vmh_error_init(&le);
	if ((rc = ca_read_path(bundle,
			       h->ca_file != NULL ? "CA file" : "CA bundle", &f,
			       &le)) != VMH_OK) {
		if (h->ca_file != NULL || rc != VMH_E_CONFIG) {
			rc = vmh_error_set(err, le.code, le.source, le.line,
					   "%s", le.text);
			goto done;
		}
		log_debug("http: default CA bundle skipped: %s: %s", le.source,
			  le.text);
		vmh_buf_reset(&f);
	}
	if ((rc = ca_append(&blob, &f, dir, err)) != VMH_OK)
		goto done;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(dfd)) == NULL) {
		rc = ca_errno(err, errno, dir, "read", "CA directory");
		if (dfd >= 0)
			close(dfd);
		goto done;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = ca_errno(err, errno, dir, "read",
					      "CA directory");
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (++n_entries > HTTP_CA_DIR_MAX_ENTRIES) {
			rc = vmh_error_set(err, VMH_E_CONFIG, dir, 0,
					   "more than %d entries in the CA "
					   "directory",
					   HTTP_CA_DIR_MAX_ENTRIES);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* As the OCA: regular files, symbolic links followed;
		 * anything else (and a dangling link) is skipped unopened. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode)) {
			log_debug("http: %s: not a regular file, skipped",
				  path);
			continue;
		}
		if (++n_files > VMH_HTTP_CA_DIR_MAX_FILES) {
			rc = vmh_error_set(err, VMH_E_CONFIG, dir, 0,
					   "more than %d files in the CA "
					   "directory",
					   VMH_HTTP_CA_DIR_MAX_FILES);
			break;
		}
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			rc = ca_errno(err, errno, path, "open",
				      "CA certificate file");
			break;
		}
		/* Replaced since the fstatat(): look again. */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			log_debug("http: %s: not a regular file, skipped",
				  path);
			continue;
		}
		rc = ca_read(fd, path, "CA certificate file", &f, err);
		close(fd);
		if (rc != VMH_OK)
			break;
		if (!is_pem_certificate(&f)) {
			log_debug("http: %s: no PEM certificate, skipped",
				  path);
			continue;
		}
		if ((rc = ca_append(&blob, &f, dir, err)) != VMH_OK)
			break;
		n_certs++;
	}
	closedir(d);
	if (rc != VMH_OK)
		goto done;
	h->ca_blob_len = blob.len;
	if ((h->ca_blob = vmh_buf_steal(&blob)) == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	log_debug("http: CA store: %s and %zu certificate file(s) of %s",
		  bundle, n_certs, dir);
done:
	vmh_buf_free(&f);
	vmh_buf_free(&blob);
	return rc;
#else
	(void)h;
	return vmh_error_set(err, VMH_E_CONFIG, dir, 0,
			     "a CA directory needs libcurl 7.77 or later "
			     "(CURLOPT_CAINFO_BLOB)");
#endif
}

enum vmh_rc
vmh_http_new(const struct vmh_http_opts *opts, struct vmh_http **out,
	     struct vmh_error *err)
{
	struct vmh_http *h = NULL;
	enum vmh_rc rc;
	long maxconn;

	*out = NULL;
	if (opts->timeout_ms <= 0 || opts->connect_timeout_ms <= 0 ||
	    opts->max_response == 0 || opts->max_concurrency < 1)
		return vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
				     "http: bad client options");
	if ((rc = vmh_http_global_init(err)) != VMH_OK)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto nomem;
	h->opts = *opts;
	h->opts.ca_file = h->opts.cert_file = h->opts.key_file = NULL;
	h->opts.ca_dir = NULL;
	if ((opts->ca_file != NULL &&
	     (h->ca_file = strdup(opts->ca_file)) == NULL) ||
	    (opts->cert_file != NULL &&
	     (h->cert_file = strdup(opts->cert_file)) == NULL) ||
	    (opts->key_file != NULL &&
	     (h->key_file = strdup(opts->key_file)) == NULL))
		goto nomem;
	h->idle = calloc((size_t)opts->max_concurrency, sizeof(*h->idle));
	if (h->idle == NULL || (h->multi = curl_multi_init()) == NULL)
		goto nomem;
	if (opts->ca_dir != NULL &&
	    (rc = ca_dir_load(h, opts->ca_dir, err)) != VMH_OK) {
		vmh_http_free(h);
		return rc;
	}
	/* Keep one idle connection per possible transfer so a batch reuses
	 * them all instead of reconnecting. */
	h->idle_max = (size_t)opts->max_concurrency;
	maxconn = opts->max_concurrency < 4 ? 4 : opts->max_concurrency;
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, maxconn);
	*out = h;
	return VMH_OK;
nomem:
	vmh_http_free(h);
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

void
vmh_http_free(struct vmh_http *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n_idle; i++)
		curl_easy_cleanup(h->idle[i]);
	free(h->idle);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	free(h->ca_blob);
	free(h);
}

unsigned long
vmh_http_requests(const struct vmh_http *h)
{
	return h->requests;
}

void
vmh_http_response_init(struct vmh_http_response *resp, size_t max_body)
{
	memset(resp, 0, sizeof(*resp));
	vmh_buf_init(&resp->body, max_body > 0 ? max_body : 1);
}

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
vmh_http_response_free(struct vmh_http_response *resp)
{
	size_t max = resp->body.max;

	vmh_buf_free(&resp->body);
	strv_free(resp->headers);
	vmh_http_response_init(resp, max);
}

const char *
vmh_http_header(const struct vmh_http_response *resp, const char *name)
{
	size_t i;

	if (resp->headers == NULL)
		return NULL;
	for (i = 0; resp->headers[i] != NULL && resp->headers[i + 1] != NULL;
	     i += 2)
		if (strcasecmp(resp->headers[i], name) == 0)
			return resp->headers[i + 1];
	return NULL;
}

/* The URL for messages: user:password@ removed, length bounded. */
static void
url_for_msg(const char *url, char *dst, size_t len)
{
	const char *p = strstr(url, "://"), *host, *end, *at = NULL;
	size_t n;

	if (p == NULL) {
		vmh_strlcpy(dst, url, len);
		return;
	}
	host = p + 3;
	for (end = host;
	     *end != '\0' && *end != '/' && *end != '?' && *end != '#'; end++)
		if (*end == '@')
			at = end;
	if (at == NULL) {
		vmh_strlcpy(dst, url, len);
		return;
	}
	n = (size_t)(host - url);
	if (n >= len)
		n = len - 1;
	memcpy(dst, url, n);
	dst[n] = '\0';
	vmh_strlcpy(dst + n, at + 1, len - n);
}

static size_t
body_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	enum vmh_rc rc;

	rc = vmh_buf_append(&x->resp.body, ptr, n);
	if (rc == VMH_OK)
		return n;
	if (rc == VMH_E_TOOBIG)
		x->toobig = 1;
	else
		x->nomem = 1;
	return 0; /* makes curl stop with CURLE_WRITE_ERROR */
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	enum vmh_rc rc;

	/* A new status line starts a new response (after 100 Continue, or a
	 * re-sent request): keep only the last one's headers. */
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		vmh_buf_reset(&x->hdrbuf);
	rc = vmh_buf_append(&x->hdrbuf, ptr, n);
	if (rc == VMH_OK)
		return n;
	if (rc == VMH_E_TOOBIG)
		x->toobig = 1;
	else
		x->nomem = 1;
	return 0;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * Called before each request curl sends for this transfer. A second call
 * means curl is re-sending it because the reused connection died: the
 * server may have run the first one, so refuse for non-idempotent calls.
 */
static int
prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
	  int conn_primary_port, int conn_local_port)
{
	struct xfer *x = clientp;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (++x->attempts > 1 && !x->req.idempotent) {
		x->no_resend = 1;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}
#endif

/* Split the raw header block into name, value, ..., NULL. */
static enum vmh_rc
parse_headers(struct xfer *x)
{
	const char *p = vmh_buf_str(&x->hdrbuf), *eol, *colon, *v, *e;
	size_t n = 0, cap = 0;
	char **vec = NULL, **tmp, *name, *value;

	for (; *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p || *p == ' ' || *p == '\t')
			continue; /* status line, blank line, folding */
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (e = eol; e > v && isspace((unsigned char)e[-1]); e--)
			;
		if (n + 3 > cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = realloc(vec, cap * sizeof(*vec))) == NULL)
				goto nomem;
			vec = tmp;
		}
		name = strndup(p, (size_t)(colon - p));
		value = strndup(v, (size_t)(e - v));
		if (name == NULL || value == NULL) {
			free(name);
			free(value);
			goto nomem;
		}
		vec[n++] = name;
		vec[n++] = value;
		vec[n] = NULL;
	}
	x->resp.headers = vec;
	return VMH_OK;
nomem:
	if (vec != NULL)
		vec[n] = NULL;
	strv_free(vec);
	return VMH_E_NOMEM;
}

static int
method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++)
		if (i >= 16 || !isupper((unsigned char)m[i]))
			return 0;
	return i > 0;
}

/* Options of one transfer. Every option is set each time: handles are
 * reset before reuse. */
static CURLcode
xfer_options(struct vmh_http *h, struct xfer *x)
{
	const struct vmh_http_request *r = &x->req;
	CURL *e = x->easy;
	CURLcode c = CURLE_OK;
	long timeout = r->timeout_ms > 0 ? r->timeout_ms : h->opts.timeout_ms;

#define SETOPT(opt, val)                                                       \
	do {                                                                   \
		if (c == CURLE_OK)                                             \
			c = curl_easy_setopt(e, opt, val);                     \
	} while (0)

	SETOPT(CURLOPT_URL, r->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(CURLOPT_REDIR_PROTOCOLS,
	       (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_MAXREDIRS, 0L);
	SETOPT(CURLOPT_TIMEOUT_MS, timeout);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms < timeout
					      ? h->opts.connect_timeout_ms
					      : timeout);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->opts.max_response);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, body_cb);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, x);
	SETOPT(CURLOPT_PRIVATE, x);
	SETOPT(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	if (h->opts.numeric_hosts)
		SETOPT(CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	/* An event-driven program ignores SIGPIPE itself (see http.h): spare
	 * the two sigaction() calls libcurl makes around every step. */
	if (h->async)
		SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, h->opts.insecure ? 0L : 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, h->opts.insecure ? 0L : 2L);
	if (h->ca_file != NULL && h->ca_blob == NULL)
		SETOPT(CURLOPT_CAINFO, h->ca_file);
#if LIBCURL_VERSION_NUM >= 0x074d00
	if (h->ca_blob != NULL) { /* opts.ca_dir: ca_file is in it */
		struct curl_blob blob = { h->ca_blob, h->ca_blob_len,
					  CURL_BLOB_COPY };

		SETOPT(CURLOPT_CAINFO_BLOB, &blob);
	}
#endif
	if (h->cert_file != NULL) {
		SETOPT(CURLOPT_SSLCERT, h->cert_file);
		SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (h->key_file != NULL) {
		SETOPT(CURLOPT_SSLKEY, h->key_file);
		SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
	}
#if LIBCURL_VERSION_NUM >= 0x075000
	SETOPT(CURLOPT_PREREQFUNCTION, prereq_cb);
	SETOPT(CURLOPT_PREREQDATA, x);
#else
	/* No way to stop a silent re-send: use a fresh connection. */
	if (!r->idempotent)
		SETOPT(CURLOPT_FRESH_CONNECT, 1L);
#endif
	if (strcmp(r->method, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "HEAD") == 0) {
		SETOPT(CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(r->method, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, r->method);
		if (r->body != NULL || strcmp(r->method, "POST") == 0) {
			SETOPT(CURLOPT_POSTFIELDSIZE_LARGE,
			       (curl_off_t)(r->body != NULL ? r->body_len : 0));
			SETOPT(CURLOPT_POSTFIELDS,
			       r->body != NULL ? (const char *)r->body : "");
		}
	}
	SETOPT(CURLOPT_HTTPHEADER, x->hdrs);
#undef SETOPT
	return c;
}

static void
xfer_release(struct vmh_http *h, struct xfer *x)
{
	if (x->easy != NULL) {
		if (h->n_idle < h->idle_max)
			h->idle[h->n_idle++] = x->easy;
		else
			curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->hdrs);
	vmh_http_response_free(&x->resp);
	vmh_buf_free(&x->hdrbuf);
	memset(x, 0, sizeof(*x));
}

/* Prepare x for req and add it to the multi handle. */
static enum vmh_rc
xfer_start(struct vmh_http *h, struct xfer *x, size_t index,
	   const struct vmh_http_request *req, struct vmh_error *err)
{
	struct curl_slist *l;
	size_t i;
	CURLcode c;
	CURLMcode mc;

	memset(x, 0, sizeof(*x));
	x->in_use = 1;
	x->index = index;
	x->req = *req;
	x->start_ms = vmh_now_ms();
	vmh_http_response_init(&x->resp, h->opts.max_response);
	vmh_buf_init(&x->hdrbuf, HTTP_MAX_HEADER_BYTES);
	url_for_msg(req->url != NULL ? req->url : "(null)", x->url,
		    sizeof(x->url));
	if (req->url == NULL || req->method == NULL || !method_ok(req->method))
		return vmh_error_set(err, VMH_E_INTERNAL, x->url, 0,
				     "http: bad request method");
	/* curl enforces the same; checking here keeps its "unsupported
	 * protocol" for servers that answer with something else than HTTP. */
	if (strncasecmp(req->url, "http://", 7) != 0 &&
	    strncasecmp(req->url, "https://", 8) != 0)
		return vmh_error_set(err, VMH_E_CONFIG, x->url, 0,
				     "%s: only http:// and https:// URLs are "
				     "allowed",
				     req->method);
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		/* A header with a line break would smuggle another header. */
		if (strpbrk(req->headers[i], "\r\n") != NULL)
			return vmh_error_set(err, VMH_E_INTERNAL, x->url, 0,
					     "http: line break in a request "
					     "header");
		if ((l = curl_slist_append(x->hdrs, req->headers[i])) == NULL)
			goto nomem;
		x->hdrs = l;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	if ((l = curl_slist_append(x->hdrs, "Expect:")) == NULL)
		goto nomem;
	x->hdrs = l;
	if (h->n_idle > 0) {
		x->easy = h->idle[--h->n_idle];
		curl_easy_reset(x->easy);
	} else if ((x->easy = curl_easy_init()) == NULL) {
		goto nomem;
	}
	if ((c = xfer_options(h, x)) != CURLE_OK)
		return vmh_error_set(err, VMH_E_INTERNAL, x->url, 0,
				     "http: cannot set up the request: %s",
				     curl_easy_strerror(c));
	if ((mc = curl_multi_add_handle(h->multi, x->easy)) != CURLM_OK)
		return vmh_error_set(err, VMH_E_INTERNAL, x->url, 0,
				     "http: cannot start the request: %s",
				     curl_multi_strerror(mc));
	h->requests++;
	return VMH_OK;
nomem:
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

static int
curl_is_tls_error(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return 0;
	}
}

/* Turn a finished transfer's curl result into our code and message. */
static enum vmh_rc
xfer_result(struct vmh_http *h, struct xfer *x, CURLcode c,
	    struct vmh_error *err)
{
	const char *why =
	    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(c);
	const char *m = x->req.method;

	if (c == CURLE_OK) {
		if (x->nomem || parse_headers(x) != VMH_OK)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
		return VMH_OK;
	}
	if (x->no_resend)
		return vmh_error_set(err, VMH_E_UNAVAILABLE, x->url, 0,
				     "%s: the connection closed before an "
				     "answer; the request may have been "
				     "processed, not re-sent",
				     m);
	if (x->toobig || c == CURLE_FILESIZE_EXCEEDED)
		return vmh_error_set(err, VMH_E_TOOBIG, x->url, 0,
				     "%s: the answer exceeds the limit of %zu "
				     "bytes",
				     m, h->opts.max_response);
	if (x->nomem || c == CURLE_OUT_OF_MEMORY)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if (c == CURLE_OPERATION_TIMEDOUT)
		return vmh_error_set(err, VMH_E_TIMEOUT, x->url, 0,
				     "%s: no complete answer within %ld ms: "
				     "%s",
				     m,
				     x->req.timeout_ms > 0 ? x->req.timeout_ms
							   : h->opts.timeout_ms,
				     why);
	if (c == CURLE_SSL_CERTPROBLEM)
		return vmh_error_set(err, VMH_E_CONFIG, x->url, 0,
				     "%s: TLS failure: %s (check the client "
				     "certificate and its key)",
				     m, why);
	if (curl_is_tls_error(c))
		return vmh_error_set(err, VMH_E_CONFIG, x->url, 0,
				     "%s: TLS failure: %s (check the server "
				     "certificate and the CA file)",
				     m, why);
	/* With TLS 1.3 a server checks the client's certificate after the
	 * handshake: its refusal arrives as an alert on the first read. */
	if ((c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR) &&
	    strncasecmp(x->req.url, "https://", 8) == 0 &&
	    strstr(why, " alert ") != NULL)
		return vmh_error_set(err, VMH_E_CONFIG, x->url, 0,
				     "%s: TLS failure: the server refused the "
				     "session: %s (does it require a client "
				     "certificate, or not trust this one?)",
				     m, why);
	switch (c) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		/* The scheme was checked before: the answer is not HTTP. */
		return vmh_error_set(err, VMH_E_UNAVAILABLE, x->url, 0,
				     "%s: the answer is not HTTP: %s", m, why);
	case CURLE_URL_MALFORMAT:
		return vmh_error_set(err, VMH_E_CONFIG, x->url, 0,
				     "%s: bad URL: %s", m, why);
	case CURLE_TOO_MANY_REDIRECTS:
		return vmh_error_set(err, VMH_E_API, x->url, 0,
				     "%s: redirected, redirects are not "
				     "followed: %s",
				     m, why);
	default:
		/* Refused, reset, nothing or half an answer, DNS: the
		 * server may be back in a moment. */
		return vmh_error_set(err, VMH_E_UNAVAILABLE, x->url, 0,
				     "%s: %s", m, why);
	}
}

/* Finish one transfer: result, callback, handle back to the pool. */
static void
xfer_finish(struct vmh_http *h, struct xfer *x, CURLcode c,
	    vmh_http_done_cb done, void *ctx)
{
	struct vmh_error e;
	enum vmh_rc rc;
	long status = 0;

	vmh_error_init(&e);
	curl_multi_remove_handle(h->multi, x->easy);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->resp.status = status;
	x->resp.duration_ms = vmh_now_ms() - x->start_ms;
	rc = xfer_result(h, x, c, &e);
	if (vmh_log_getverbose() >= 2)
		log_debug("http: %s %s -> %ld (%s) in %lld ms", x->req.method,
			  x->url, status, vmh_strerror(rc),
			  x->resp.duration_ms);
	done(ctx, x->index, rc, &x->resp, &e);
	xfer_release(h, x);
}

enum vmh_rc
vmh_http_batch(struct vmh_http *h, size_t n, int concurrency,
	       vmh_http_prepare_cb prepare, vmh_http_done_cb done, void *ctx,
	       struct vmh_error *err)
{
	struct xfer *slots = NULL, *x;
	struct vmh_http_request req;
	struct vmh_error e;
	size_t next = 0, active = 0, nslots, k;
	enum vmh_rc rc = VMH_OK;
	CURLMcode mc;
	CURLMsg *msg;
	int running, left;

	if (n == 0)
		return VMH_OK;
	/* The multi handle is driven by someone else's loop now. */
	if (h->async)
		return vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
				     "http: batch on an event-driven client");
	if (concurrency > h->opts.max_concurrency)
		concurrency = h->opts.max_concurrency;
	if (concurrency < 1)
		concurrency = 1;
	nslots = (size_t)concurrency < n ? (size_t)concurrency : n;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	while (next < n || active > 0) {
		while (active < nslots && next < n) {
			size_t i = next++;

			memset(&req, 0, sizeof(req));
			if (prepare(ctx, i, &req) != 0)
				continue;
			for (k = 0; slots[k].in_use; k++)
				;
			x = &slots[k];
			vmh_error_init(&e);
			if (xfer_start(h, x, i, &req, &e) != VMH_OK) {
				done(ctx, i, e.code, &x->resp, &e);
				xfer_release(h, x);
				continue;
			}
			active++;
		}
		if (active == 0)
			break;
		if ((mc = curl_multi_perform(h->multi, &running)) != CURLM_OK) {
			rc = vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
					   "http: %s", curl_multi_strerror(mc));
			break;
		}
		while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			x = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&x);
			if (x == NULL)
				continue;
			xfer_finish(h, x, msg->data.result, done, ctx);
			active--;
		}
		/* Start more at once when there is room; else wait for
		 * sockets or curl's next timeout. */
		if (active > 0 && (active >= nslots || next >= n)) {
			mc = curl_multi_poll(h->multi, NULL, 0, HTTP_POLL_MS,
					     NULL);
			if (mc != CURLM_OK) {
				rc = vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
						   "http: %s",
						   curl_multi_strerror(mc));
				break;
			}
		}
	}
	/* Only after a multi failure: give every started item its answer. */
	for (k = 0; k < nslots; k++) {
		if (!slots[k].in_use)
			continue;
		xfer_finish(h, &slots[k], CURLE_ABORTED_BY_CALLBACK, done, ctx);
	}
	free(slots);
	return rc;
}

/* vmh_http_perform() as a batch of one. */
struct perform_ctx {
	const struct vmh_http_request *req;
	struct vmh_http_response *resp;
	struct vmh_error *err;
	enum vmh_rc rc;
};

static int
perform_prepare(void *ctx, size_t i, struct vmh_http_request *req)
{
	struct perform_ctx *p = ctx;

	(void)i;
	*req = *p->req;
	return 0;
}

static void
perform_done(void *ctx, size_t i, enum vmh_rc rc,
	     struct vmh_http_response *resp, const struct vmh_error *err)
{
	struct perform_ctx *p = ctx;
	size_t max = p->resp->body.max;

	(void)i;
	p->rc = rc;
	if (rc != VMH_OK && p->err != NULL && p->err->code == VMH_OK)
		*p->err = *err;
	/* Hand the answer over; the batch frees an empty shell. */
	vmh_http_response_free(p->resp);
	*p->resp = *resp;
	vmh_http_response_init(resp, max);
}

enum vmh_rc
vmh_http_perform(struct vmh_http *h, const struct vmh_http_request *req,
		 struct vmh_http_response *resp, struct vmh_error *err)
{
	struct perform_ctx p = { req, resp, err, VMH_E_INTERNAL };
	enum vmh_rc rc;

	vmh_http_response_free(resp);
	rc = vmh_http_batch(h, 1, 1, perform_prepare, perform_done, &p, err);
	return rc != VMH_OK ? rc : p.rc;
}

enum vmh_rc
vmh_http_check_status(const struct vmh_http_response *resp, const char *what,
		      struct vmh_error *err)
{
	char snippet[HTTP_SNIPPET_MAX + 1];
	const char *b = vmh_buf_str(&resp->body);
	size_t i;
	enum vmh_rc rc;

	if (resp->status >= 200 && resp->status <= 299)
		return VMH_OK;
	/* Printable start of the body, one line, for the message. */
	for (i = 0; i < HTTP_SNIPPET_MAX && i < resp->body.len; i++)
		snippet[i] = isprint((unsigned char)b[i]) ? b[i] : ' ';
	snippet[i] = '\0';
	if (resp->status >= 500 || resp->status == 408 || resp->status == 429)
		rc = VMH_E_UNAVAILABLE;
	else if (resp->status == 401)
		rc = VMH_E_AUTH;
	else if (resp->status == 403)
		rc = VMH_E_DENIED;
	else if (resp->status == 404)
		rc = VMH_E_NOTFOUND;
	else
		rc = VMH_E_API;
	return vmh_error_set(err, rc, what, 0, "HTTP status %ld%s%s",
			     resp->status, snippet[0] != '\0' ? ": " : "",
			     vmh_rstrip(snippet));
}

/* ---- Event-driven use: curl's socket and timer callbacks are relayed to
 * the caller's loop, which calls back with curl_multi_socket_action(). */

static int
async_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
		void *socketp)
{
	struct vmh_http *h = userp;
	int w = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		w |= VMH_HTTP_WATCH_IN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		w |= VMH_HTTP_WATCH_OUT;
	h->ev.watch(h->ev.ctx, (int)fd, w);
	return 0;
}

static int
async_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct vmh_http *h = userp;

	(void)multi;
	h->ev.timer(h->ev.ctx, timeout_ms);
	return 0;
}

enum vmh_rc
vmh_http_async_init(struct vmh_http *h, const struct vmh_http_events *ev,
		    struct vmh_error *err)
{
	if (ev == NULL || ev->watch == NULL || ev->timer == NULL)
		return vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
				     "http: no event callbacks");
	h->ev = *ev;
	h->async = 1;
	/* Transfers in flight come and go one by one: a short pool of
	 * handles (16 KiB of buffer each) is enough, however many
	 * connections stay open. */
	if (h->idle_max > HTTP_ASYNC_IDLE_MAX)
		h->idle_max = HTTP_ASYNC_IDLE_MAX;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, async_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, async_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return VMH_OK;
}

/* xfer_finish()'s callback shape, relayed to the transfer's own. */
static void
async_relay(void *ctx, size_t i, enum vmh_rc rc, struct vmh_http_response *resp,
	    const struct vmh_error *err)
{
	struct xfer *x = ctx;

	(void)i;
	x->acb(x->actx, rc, resp, err);
}

enum vmh_rc
vmh_http_async_start(struct vmh_http *h, const struct vmh_http_request *req,
		     vmh_http_async_cb done, void *ctx,
		     struct vmh_http_xfer **out, struct vmh_error *err)
{
	struct vmh_http_xfer *t;
	enum vmh_rc rc;

	if (out != NULL)
		*out = NULL;
	if (!h->async || done == NULL)
		return vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
				     "http: not an event-driven client");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	if ((rc = xfer_start(h, &t->x, 0, req, err)) != VMH_OK) {
		/* Never added to the multi handle. */
		xfer_release(h, &t->x);
		free(t);
		return rc;
	}
	t->x.acb = done;
	t->x.actx = ctx;
	t->x.index = 0;
	h->async_active++;
	if (out != NULL)
		*out = t;
	return VMH_OK;
}

void
vmh_http_async_cancel(struct vmh_http *h, struct vmh_http_xfer *t)
{
	if (t == NULL)
		return;
	curl_multi_remove_handle(h->multi, t->x.easy);
	xfer_release(h, &t->x);
	free(t);
	h->async_active--;
}

/* Hand every finished transfer to its callback. */
static void
async_drain(struct vmh_http *h)
{
	struct xfer *x;
	CURLMsg *msg;
	CURLcode c;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				  (char **)&x);
		if (x == NULL)
			continue;
		/* msg dies with the handle's removal: copy what is needed.
		 * x is the first member of its struct vmh_http_xfer. */
		c = msg->data.result;
		h->async_active--;
		xfer_finish(h, x, c, async_relay, x);
		free(x);
	}
}

void
vmh_http_async_socket(struct vmh_http *h, int fd, int what)
{
	int mask = 0, running;

	if (what & VMH_HTTP_WATCH_IN)
		mask |= CURL_CSELECT_IN;
	if (what & VMH_HTTP_WATCH_OUT)
		mask |= CURL_CSELECT_OUT;
	(void)curl_multi_socket_action(h->multi, (curl_socket_t)fd, mask,
				       &running);
	async_drain(h);
}

void
vmh_http_async_timeout(struct vmh_http *h)
{
	int running;

	(void)curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
				       &running);
	async_drain(h);
}

size_t
vmh_http_async_active(const struct vmh_http *h)
{
	return h->async_active;
}
