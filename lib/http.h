/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP client: the only user of libcurl in vmheal. One client holds a curl
 * multi handle, so connections stay alive between calls and many requests
 * can run at once without threads. Every request has a connect and a total
 * deadline, the response is capped (body in the write callback, headers in
 * the header callback), only http and https are allowed, redirects are not
 * followed, and TLS peers are verified unless the caller opts out. Request
 * headers and bodies are never logged: they carry session strings and
 * tokens.
 *
 * Programs should ignore SIGPIPE (curl cannot always suppress it for TLS).
 */
#ifndef VMH_HTTP_H
#define VMH_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

struct vmh_http; /* opaque client */

struct vmh_http_opts {
	long timeout_ms;         /* whole request, > 0 */
	long connect_timeout_ms; /* TCP + TLS handshake, > 0 */
	size_t max_response;     /* body cap in bytes, > 0 */
	int max_concurrency;     /* transfers in flight in a batch, >= 1 */
	const char *ca_file;     /* PEM bundle; NULL: the system store */
	int insecure;      /* 1: do not verify TLS peers (explicit opt-out) */
	int numeric_hosts; /* 1: every URL names a numeric address (vm_probe):
			      libcurl's DNS cache then never expires, because
			      pruning it walks every entry on every request,
			      quadratic with thousands of hosts */
	const char *cert_file; /* TLS client certificate (PEM), sent to every
				  server that asks; NULL: none */
	const char *key_file;  /* its private key (PEM, unencrypted); NULL:
				  in cert_file. Only the names are kept:
				  libcurl reads the files per connection */
	const char *ca_dir;    /* extra trusted CAs: every regular PEM file
				  of this directory is added to the store
				  (ca_file, else libcurl's default bundle),
				  read once by vmh_http_new(); NULL: none */
};

/* Bounds of opts.ca_dir: files read, bytes per file, bytes in all (with
 * the bundle it adds to). */
#define VMH_HTTP_CA_DIR_MAX_FILES 256
#define VMH_HTTP_CA_FILE_MAX      (1024 * 1024)
#define VMH_HTTP_CA_TOTAL_MAX     (8 * 1024 * 1024)

struct vmh_http_request {
	const char *method;         /* "GET", "POST", "PUT", "DELETE"... */
	const char *url;            /* http:// or https:// */
	const char *const *headers; /* "Name: value" lines, NULL-terminated,
				       or NULL; may hold secrets */
	const void *body;           /* NULL: no body */
	size_t body_len;
	int idempotent;  /* 0: never sent twice. libcurl silently re-sends a
			    request whose reused connection died before any
			    answer; for a mutating call that could run it
			    twice, so a second attempt is refused and the call
			    fails as VMH_E_UNAVAILABLE (outcome unknown). */
	long timeout_ms; /* whole request; 0: the client's opts.timeout_ms
			    (the connect deadline never exceeds it) */
};

struct vmh_http_response {
	long status;         /* HTTP status code, 0 if none */
	struct vmh_buf body; /* capped at opts.max_response */
	char **headers;      /* name, value, ..., NULL: the final response's
				headers (names as sent) */
	long long duration_ms;
};

/*
 * Initialise libcurl once per process (curl_global_init). vmh_http_new()
 * calls it too; programs may call it early in main(), before any thread
 * exists. Returns VMH_E_SYSTEM if libcurl cannot initialise.
 */
enum vmh_rc vmh_http_global_init(struct vmh_error *err);
/* Release libcurl's global state; only at the very end of main(). */
void vmh_http_global_cleanup(void);

/*
 * A client with opts (copied). No network traffic yet, but opts.ca_dir is
 * read here: a directory that cannot be read, more than
 * VMH_HTTP_CA_DIR_MAX_FILES regular files in it, a file or a total too
 * large, or a libcurl without CURLOPT_CAINFO_BLOB is VMH_E_CONFIG (the
 * error's source is the directory or the file). Files that are not PEM
 * certificates, and entries that are not regular files, are skipped.
 */
enum vmh_rc vmh_http_new(const struct vmh_http_opts *opts,
			 struct vmh_http **out, struct vmh_error *err);
void vmh_http_free(struct vmh_http *h);

/* Number of requests started (each attempt counted once). */
unsigned long vmh_http_requests(const struct vmh_http *h);

void vmh_http_response_init(struct vmh_http_response *resp, size_t max_body);
void vmh_http_response_free(struct vmh_http_response *resp);

/* A response header by name (case-insensitive), or NULL. */
const char *vmh_http_header(const struct vmh_http_response *resp,
			    const char *name);

/*
 * One request, synchronously. VMH_OK when an HTTP answer arrived, whatever
 * its status (check it with vmh_http_check_status()). Otherwise:
 *   VMH_E_UNAVAILABLE  connection refused or reset, no answer, answer cut
 *                      short, DNS failure: transient
 *   VMH_E_TIMEOUT      the connect or total deadline passed
 *   VMH_E_TOOBIG       the answer exceeds max_response
 *   VMH_E_CONFIG       bad URL or scheme, TLS failure (certificate not
 *                      trusted, handshake refused, CA file unreadable,
 *                      client certificate or key unusable, the server
 *                      refusing the session with a TLS alert, e.g. for
 *                      a missing client certificate): permanent until
 *                      someone fixes the setup
 *   VMH_E_NOMEM, VMH_E_INTERNAL
 * The message names the method and the URL (without any user:password).
 * resp must have been initialised; it is reset first.
 */
enum vmh_rc vmh_http_perform(struct vmh_http *h,
			     const struct vmh_http_request *req,
			     struct vmh_http_response *resp,
			     struct vmh_error *err);

/*
 * Map a response status to a return code: 2xx VMH_OK; 5xx, 408 and 429
 * VMH_E_UNAVAILABLE (transient); 401 VMH_E_AUTH; 403 VMH_E_DENIED; 404
 * VMH_E_NOTFOUND; anything else VMH_E_API. The message quotes the start of
 * the body. what names the call ("one.vm.info", "GET /servers").
 */
enum vmh_rc vmh_http_check_status(const struct vmh_http_response *resp,
				  const char *what, struct vmh_error *err);

/*
 * Batches: run n requests with at most `concurrency` in flight (capped at
 * opts.max_concurrency), started in index order, over kept-alive
 * connections.
 *
 * prepare(ctx, i, req) fills *req for item i right before it starts (req is
 * zeroed first); everything req points to must stay valid until done(i)
 * returns. It returns 0 to start the item, non-zero to skip it (done is not
 * called for a skipped item).
 *
 * done(ctx, i, rc, resp, err) is called once per started item, in
 * completion order: rc and err as for vmh_http_perform(). resp belongs to
 * the batch and is freed after done returns (steal resp->body with
 * vmh_buf_steal() to keep it).
 *
 * Returns VMH_OK unless the batch itself could not run (out of memory, a
 * curl multi failure); items not started then get no callback.
 */
typedef int (*vmh_http_prepare_cb)(void *ctx, size_t i,
				   struct vmh_http_request *req);
typedef void (*vmh_http_done_cb)(void *ctx, size_t i, enum vmh_rc rc,
				 struct vmh_http_response *resp,
				 const struct vmh_error *err);

enum vmh_rc vmh_http_batch(struct vmh_http *h, size_t n, int concurrency,
			   vmh_http_prepare_cb prepare, vmh_http_done_cb done,
			   void *ctx, struct vmh_error *err);

/*
 * Event-driven use, for a program with its own event loop (vm_probe's HTTP
 * probes): transfers are started one by one and make progress only when
 * the loop reports socket activity or the timer. The loop learns which
 * sockets to watch and when to fire the timer through the callbacks below.
 * A client switched to this mode must not be used for batches any more.
 */
#define VMH_HTTP_WATCH_IN  0x1
#define VMH_HTTP_WATCH_OUT 0x2

struct vmh_http_events {
	/* Watch fd for what (VMH_HTTP_WATCH_* bits); what == 0: stop
	 * watching it (it may be closed right after). */
	void (*watch)(void *ctx, int fd, int what);
	/* Call vmh_http_async_timeout() in ms milliseconds, replacing the
	 * previous timer; ms < 0: no timer. */
	void (*timer)(void *ctx, long ms);
	void *ctx;
};

struct vmh_http_xfer; /* one transfer in flight, opaque */

/*
 * Called once per transfer that was not cancelled, from
 * vmh_http_async_socket() or vmh_http_async_timeout(), never from inside
 * vmh_http_async_start(). rc, resp and err as for a batch's done callback
 * (resp->status is set whenever an answer arrived, even with
 * VMH_E_TOOBIG). resp is freed after the callback returns.
 */
typedef void (*vmh_http_async_cb)(void *ctx, enum vmh_rc rc,
				  struct vmh_http_response *resp,
				  const struct vmh_error *err);

/* Switch h to event-driven use with ev (copied). The program must ignore
 * SIGPIPE: libcurl is told not to touch signals for these transfers. */
enum vmh_rc vmh_http_async_init(struct vmh_http *h,
				const struct vmh_http_events *ev,
				struct vmh_error *err);

/*
 * Start req; everything it points to must stay valid until the callback
 * or vmh_http_async_cancel(). *out (may be NULL) identifies the transfer
 * until then. A request that cannot even start (bad URL, out of memory)
 * fails here, and done is not called.
 */
enum vmh_rc vmh_http_async_start(struct vmh_http *h,
				 const struct vmh_http_request *req,
				 vmh_http_async_cb done, void *ctx,
				 struct vmh_http_xfer **out,
				 struct vmh_error *err);

/* Stop a transfer in flight; its callback is never called. */
void vmh_http_async_cancel(struct vmh_http *h, struct vmh_http_xfer *x);

/* Report activity on fd (VMH_HTTP_WATCH_* bits; an error or hang-up
 * counts as both), or the timer firing. Callbacks run from here. */
void vmh_http_async_socket(struct vmh_http *h, int fd, int what);
void vmh_http_async_timeout(struct vmh_http *h);

/* Transfers in flight. */
size_t vmh_http_async_active(const struct vmh_http *h);

#endif
