/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP client against tests/http/httpd.py on loopback: methods, headers
 * both ways, status mapping, deadlines, size caps, dropped and cut
 * connections, refused connections, no redirects, schemes, TLS failures,
 * connection reuse, no silent re-send, and batches.
 */
#include "config.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "http.h"
#include "log.h"
#include "str.h"
#include "testutil.h"
#include "http/testserver.h"

static struct ts_server srv;

static struct vmh_http *
client(long timeout_ms, size_t max, int conc)
{
	struct vmh_http_opts o = { .timeout_ms = timeout_ms,
				   .connect_timeout_ms = 2000,
				   .max_response = max,
				   .max_concurrency = conc };
	struct vmh_http *h;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_new(&o, &h, &err), VMH_OK);
	return h;
}

static char *
url(const char *path)
{
	char *u;

	ck_assert(asprintf(&u, "%s%s", srv.base, path) > 0);
	return u;
}

/* One request; returns rc, fills resp and err. */
static enum vmh_rc
req(struct vmh_http *h, const char *method, const char *path, const char *body,
    int idempotent, struct vmh_http_response *resp, struct vmh_error *err)
{
	struct vmh_http_request r = { .method = method,
				      .body = body,
				      .body_len = body ? strlen(body) : 0,
				      .idempotent = idempotent };
	char *u = url(path);
	enum vmh_rc rc;

	r.url = u;
	vmh_error_init(err);
	rc = vmh_http_perform(h, &r, resp, err);
	free(u);
	return rc;
}

START_TEST(get_echo_and_response_headers)
{
	struct vmh_http *h = client(5000, 65536, 4);
	struct vmh_http_response resp;
	struct vmh_error err;

	vmh_http_response_init(&resp, 65536);
	ck_assert_int_eq(req(h, "GET", "/echo", NULL, 1, &resp, &err), VMH_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(vmh_buf_str(&resp.body), "GET /echo"));
	ck_assert_str_eq(vmh_http_header(&resp, "x-subject-token"), "tok-123");
	ck_assert_str_eq(vmh_http_header(&resp, "Content-Type"), "text/plain");
	ck_assert_ptr_null(vmh_http_header(&resp, "X-Nothing"));
	ck_assert_int_eq(vmh_http_check_status(&resp, "GET /echo", &err),
			 VMH_OK);
	ck_assert_uint_eq(vmh_http_requests(h), 1);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

START_TEST(methods_bodies_and_request_headers)
{
	static const char *const methods[] = { "POST", "PUT", "PATCH",
					       "DELETE" };
	static const char *const hdrs[] = { "X-Auth-Token: s3cr3t-token",
					    "Content-Type: application/json",
					    NULL };
	struct vmh_http *h = client(5000, 65536, 4);
	struct vmh_http_request r = { .headers = hdrs, .idempotent = 1 };
	struct vmh_http_response resp;
	struct vmh_error err;
	char want[64], body[3000];
	size_t i;

	/* Larger than curl's Expect: 100-continue threshold. */
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	r.url = url("/echo");
	r.body = body;
	r.body_len = strlen(body);
	vmh_http_response_init(&resp, 65536);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r.method = methods[i];
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_http_perform(h, &r, &resp, &err), VMH_OK);
		snprintf(want, sizeof(want), "%s /echo", methods[i]);
		ck_assert_ptr_nonnull(strstr(vmh_buf_str(&resp.body), want));
		ck_assert_ptr_nonnull(strstr(vmh_buf_str(&resp.body),
					     "X-Auth-Token: s3cr3t-token"));
		ck_assert_ptr_nonnull(strstr(vmh_buf_str(&resp.body), body));
		ck_assert_ptr_null(strstr(vmh_buf_str(&resp.body), "Expect"));
	}
	vmh_http_response_free(&resp);
	free((char *)(uintptr_t)r.url);
	vmh_http_free(h);
}
END_TEST

START_TEST(status_codes_map_to_return_codes)
{
	static const struct {
		const char *path;
		long status;
		enum vmh_rc rc;
	} cases[] = {
		{ "/status/500", 500, VMH_E_UNAVAILABLE },
		{ "/status/503", 503, VMH_E_UNAVAILABLE },
		{ "/status/429", 429, VMH_E_UNAVAILABLE },
		{ "/status/401", 401, VMH_E_AUTH },
		{ "/status/403", 403, VMH_E_DENIED },
		{ "/status/404", 404, VMH_E_NOTFOUND },
		{ "/status/400", 400, VMH_E_API },
		{ "/status/204", 204, VMH_OK },
	};
	struct vmh_http *h = client(5000, 65536, 4);
	struct vmh_http_response resp;
	struct vmh_error err;
	size_t i;

	vmh_http_response_init(&resp, 65536);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(
		    req(h, "GET", cases[i].path, NULL, 1, &resp, &err), VMH_OK);
		ck_assert_int_eq(resp.status, cases[i].status);
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_http_check_status(&resp, "call", &err),
				 cases[i].rc);
		if (cases[i].rc != VMH_OK) {
			ck_assert_str_eq(err.source, "call");
			ck_assert_ptr_nonnull(strstr(err.text, "HTTP status"));
		}
	}
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

/* A deadline is kept: slow answer, and an answer that never comes. */
START_TEST(deadline_slow_and_stalled)
{
	static const char *const paths[] = { "/sleep/3000", "/stall" };
	struct vmh_http *h = client(500, 65536, 4);
	struct vmh_http_response resp;
	struct vmh_error err;
	long long t0;
	size_t i;

	vmh_http_response_init(&resp, 65536);
	for (i = 0; i < 2; i++) {
		t0 = vmh_now_ms();
		ck_assert_int_eq(req(h, "GET", paths[i], NULL, 1, &resp, &err),
				 VMH_E_TIMEOUT);
		ck_assert_int_lt(vmh_now_ms() - t0, 1500);
		ck_assert_ptr_nonnull(strstr(err.text, "within 500 ms"));
	}
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

START_TEST(size_cap_known_and_streamed)
{
	struct vmh_http *h = client(5000, 1000, 4);
	struct vmh_http_response resp;
	struct vmh_error err;

	vmh_http_response_init(&resp, 1000);
	ck_assert_int_eq(req(h, "GET", "/big/1000", NULL, 1, &resp, &err),
			 VMH_OK);
	ck_assert_uint_eq(resp.body.len, 1000);
	ck_assert_int_eq(req(h, "GET", "/big/1001", NULL, 1, &resp, &err),
			 VMH_E_TOOBIG);
	ck_assert_int_eq(req(h, "GET", "/chunked/50000", NULL, 1, &resp, &err),
			 VMH_E_TOOBIG);
	ck_assert_ptr_nonnull(strstr(err.text, "1000 bytes"));
	ck_assert_int_eq(req(h, "GET", "/chunked/900", NULL, 1, &resp, &err),
			 VMH_OK);
	ck_assert_uint_eq(resp.body.len, 900);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

START_TEST(dropped_cut_and_garbage_are_transient)
{
	static const char *const paths[] = { "/drop", "/partial", "/garbage" };
	struct vmh_http *h = client(3000, 65536, 4);
	struct vmh_http_response resp;
	struct vmh_error err;
	size_t i;

	vmh_http_response_init(&resp, 65536);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(req(h, "GET", paths[i], NULL, 1, &resp, &err),
				 VMH_E_UNAVAILABLE);
	/* The client still works afterwards. */
	ck_assert_int_eq(req(h, "GET", "/echo", NULL, 1, &resp, &err), VMH_OK);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

/* A port nobody listens on, with credentials in the URL that must not
 * show in the message. */
START_TEST(refused_connection_hides_userinfo)
{
	struct vmh_http *h = client(3000, 65536, 4);
	struct vmh_http_request r = { .method = "GET", .idempotent = 1 };
	struct vmh_http_response resp;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct vmh_error err;
	char u[128], line[1024];
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(u, sizeof(u), "http://admin:hunter2@127.0.0.1:%d/RPC2",
		 ntohs(sa.sin_port));
	r.url = u;
	vmh_http_response_init(&resp, 65536);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_perform(h, &r, &resp, &err),
			 VMH_E_UNAVAILABLE);
	vmh_error_format(&err, line, sizeof(line));
	ck_assert_ptr_null(strstr(line, "hunter2"));
	ck_assert_ptr_nonnull(strstr(line, "127.0.0.1"));
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

START_TEST(redirects_are_not_followed)
{
	struct vmh_http *h = client(3000, 65536, 4);
	struct vmh_http_response resp;
	struct vmh_error err;

	vmh_http_response_init(&resp, 65536);
	ck_assert_int_eq(req(h, "GET", "/redirect", NULL, 1, &resp, &err),
			 VMH_OK);
	ck_assert_int_eq(resp.status, 302);
	ck_assert_str_eq(vmh_buf_str(&resp.body), "moved");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_check_status(&resp, "GET", &err), VMH_E_API);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

START_TEST(only_http_and_https)
{
	static const char *const urls[] = { "file:///etc/passwd",
					    "ftp://127.0.0.1/x",
					    "gopher://127.0.0.1/" };
	struct vmh_http *h = client(3000, 65536, 4);
	struct vmh_http_request r = { .method = "GET", .idempotent = 1 };
	struct vmh_http_response resp;
	struct vmh_error err;
	size_t i;

	vmh_http_response_init(&resp, 65536);
	for (i = 0; i < 3; i++) {
		r.url = urls[i];
		vmh_error_init(&err);
		ck_assert_int_eq(vmh_http_perform(h, &r, &resp, &err),
				 VMH_E_CONFIG);
	}
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

/* TLS against a plain-HTTP port, and an unreadable CA file: permanent. */
START_TEST(tls_failures_are_permanent)
{
	struct vmh_http_opts o = { .timeout_ms = 3000,
				   .connect_timeout_ms = 3000,
				   .max_response = 65536,
				   .max_concurrency = 2,
				   .ca_file = "/nonexistent/ca.pem" };
	struct vmh_http *h = client(3000, 65536, 2), *h2;
	struct vmh_http_request r = { .method = "GET", .idempotent = 1 };
	struct vmh_http_response resp;
	struct vmh_error err;
	char u[128];

	snprintf(u, sizeof(u), "https://127.0.0.1:%d/echo", srv.port);
	r.url = u;
	vmh_http_response_init(&resp, 65536);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_perform(h, &r, &resp, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "TLS"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_new(&o, &h2, &err), VMH_OK);
	ck_assert_int_eq(vmh_http_perform(h2, &r, &resp, &err), VMH_E_CONFIG);
	vmh_http_response_free(&resp);
	vmh_http_free(h2);
	vmh_http_free(h);
}
END_TEST

/* A file of n bytes: a PEM header, then padding. */
static void
write_sized(const char *dir, const char *name, size_t n)
{
	char *path;
	FILE *f;
	size_t i;

	ck_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("-----BEGIN CERTIFICATE-----\n", f);
	for (i = 28; i < n; i++)
		fputc(i % 65 == 64 ? '\n' : 'A', f);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

/* vmh_http_new() with opts.ca_dir = dir: the code, err filled. */
static enum vmh_rc
new_with_ca_dir(const char *dir, const char *ca_file, struct vmh_error *err)
{
	struct vmh_http_opts o = { .timeout_ms = 3000,
				   .connect_timeout_ms = 3000,
				   .max_response = 65536,
				   .max_concurrency = 2,
				   .ca_file = ca_file,
				   .ca_dir = dir };
	struct vmh_http *h = NULL;
	enum vmh_rc rc;

	vmh_error_init(err);
	rc = vmh_http_new(&o, &h, err);
	ck_assert(rc == VMH_OK ? h != NULL : h == NULL);
	vmh_http_free(h);
	return rc;
}

/* opts.ca_dir: read at creation, non-PEM and non-regular entries
 * skipped, every limit and every unusable path a configuration error.
 * (Certificates really trusted: tests/check_one_onesim.c, over HTTPS.) */
START_TEST(ca_dir_is_read_and_bounded)
{
	char *dir = tu_mkdtemp(), *sub, *f, name[32];
	struct vmh_http_opts o = { .timeout_ms = 3000,
				   .connect_timeout_ms = 3000,
				   .max_response = 65536,
				   .max_concurrency = 2 };
	struct vmh_http_response resp;
	struct vmh_error err;
	struct vmh_http *h;
	int i;

	/* a certificate (no final newline), a note, a directory, a
	 * dangling link, a FIFO: fine, only the first one counts */
	free(tu_write(dir, "ca.pem",
		      "-----BEGIN CERTIFICATE-----\nMIIB\n"
		      "-----END CERTIFICATE-----",
		      0644));
	free(tu_write(dir, "README", "not a certificate\n", 0644));
	ck_assert(asprintf(&sub, "%s/sub", dir) > 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert(asprintf(&f, "%s/gone", dir) > 0);
	ck_assert_int_eq(symlink("/nonexistent/ca.pem", f), 0);
	free(f);
	ck_assert(asprintf(&f, "%s/fifo", dir) > 0);
	ck_assert_int_eq(mkfifo(f, 0600), 0);
	free(f);
	ck_assert_int_eq(new_with_ca_dir(dir, NULL, &err), VMH_OK);
	/* with a CA file instead of the default bundle */
	f = tu_write(sub, "bundle.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	ck_assert_int_eq(new_with_ca_dir(dir, f, &err), VMH_OK);
	free(f);
	/* plain HTTP is untouched */
	o.ca_dir = dir;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_new(&o, &h, &err), VMH_OK);
	vmh_http_response_init(&resp, 65536);
	ck_assert_int_eq(req(h, "GET", "/echo", NULL, 1, &resp, &err), VMH_OK);
	ck_assert_int_eq(resp.status, 200);
	vmh_http_response_free(&resp);
	vmh_http_free(h);

	/* a missing CA file, a missing directory, a file */
	ck_assert_int_eq(new_with_ca_dir(dir, "/nonexistent/ca.pem", &err),
			 VMH_E_CONFIG);
	ck_assert_str_eq(err.source, "/nonexistent/ca.pem");
	ck_assert_ptr_nonnull(strstr(err.text, "cannot open the CA file"));
	ck_assert_int_eq(new_with_ca_dir("/nonexistent/certs", NULL, &err),
			 VMH_E_CONFIG);
	ck_assert_str_eq(err.source, "/nonexistent/certs");
	ck_assert_ptr_nonnull(strstr(err.text, "cannot read the CA directory: "
					       "No such file"));
	f = tu_write(sub, "plain", "x\n", 0644);
	ck_assert_int_eq(new_with_ca_dir(f, NULL, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "Not a directory"));
	free(f);
	/* a file that cannot be read (root reads anything) */
	f = tu_write(sub, "secret.pem", "-----BEGIN CERTIFICATE-----\n", 0);
	if (geteuid() != 0) {
		ck_assert_int_eq(new_with_ca_dir(sub, NULL, &err),
				 VMH_E_CONFIG);
		ck_assert_str_eq(err.source, f);
		ck_assert_ptr_nonnull(strstr(err.text, "Permission denied"));
	}
	ck_assert_int_eq(unlink(f), 0);
	free(f);
	/* a file over 1 MiB */
	write_sized(sub, "big.pem", VMH_HTTP_CA_FILE_MAX + 1);
	ck_assert_int_eq(new_with_ca_dir(sub, NULL, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.source, "big.pem"));
	ck_assert_ptr_nonnull(strstr(err.text, "larger than 1048576 bytes"));
	/* more than 8 MiB in all */
	f = NULL;
	ck_assert(asprintf(&f, "%s/big.pem", sub) > 0);
	ck_assert_int_eq(unlink(f), 0);
	free(f);
	for (i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "c%d.pem", i);
		write_sized(sub, name, VMH_HTTP_CA_FILE_MAX);
	}
	ck_assert_int_eq(new_with_ca_dir(sub, NULL, &err), VMH_E_CONFIG);
	ck_assert_str_eq(err.source, sub);
	ck_assert_ptr_nonnull(strstr(err.text, "in all"));
	/* more than 256 files */
	for (i = 0; i < VMH_HTTP_CA_DIR_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "n%d.txt", i);
		free(tu_write(dir, name, "x\n", 0644));
	}
	ck_assert_int_eq(new_with_ca_dir(dir, NULL, &err), VMH_E_CONFIG);
	ck_assert_str_eq(err.source, dir);
	ck_assert_ptr_nonnull(strstr(err.text, "more than 256 files"));
	free(sub);
	tu_rmdir(dir);
}
END_TEST

START_TEST(header_with_line_break_is_refused)
{
	static const char *const hdrs[] = { "X-A: 1\r\nX-Injected: 2", NULL };
	struct vmh_http *h = client(3000, 65536, 2);
	struct vmh_http_request r = { .method = "GET", .headers = hdrs };
	struct vmh_http_response resp;
	struct vmh_error err;

	r.url = srv.base;
	vmh_http_response_init(&resp, 65536);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_perform(h, &r, &resp, &err), VMH_E_INTERNAL);
	ck_assert_uint_eq(vmh_http_requests(h), 0);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

/* The peer port is the same for consecutive requests: kept alive. */
START_TEST(connections_are_reused)
{
	struct vmh_http *h = client(3000, 65536, 2);
	struct vmh_http_response resp;
	struct vmh_error err;
	char first[64] = "", *p;
	int i;

	vmh_http_response_init(&resp, 65536);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(req(h, "POST", "/echo", "x", 0, &resp, &err),
				 VMH_OK);
		p = strstr(vmh_buf_str(&resp.body), "peer ");
		ck_assert_ptr_nonnull(p);
		if (i == 0)
			snprintf(first, sizeof(first), "%.*s",
				 (int)strcspn(p, "\n"), p);
		else
			ck_assert_int_eq(strncmp(p, first, strlen(first)), 0);
	}
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

static int
counter(struct vmh_http *h, const char *name)
{
	struct vmh_http_response resp;
	struct vmh_error err;
	char path[64];
	long long n;

	snprintf(path, sizeof(path), "/counter/%s", name);
	vmh_http_response_init(&resp, 1000);
	ck_assert_int_eq(req(h, "GET", path, NULL, 1, &resp, &err), VMH_OK);
	ck_assert_int_eq(
	    vmh_strtonum(vmh_buf_str(&resp.body), 0, 100, &n, "counter", NULL),
	    VMH_OK);
	vmh_http_response_free(&resp);
	return (int)n;
}

/*
 * A call that reached the server on a kept-alive connection, whose answer
 * was lost: libcurl would send it again; a mutating one must not be.
 */
START_TEST(lost_answer_is_not_resent)
{
	struct vmh_http *h = client(3000, 65536, 2);
	struct vmh_http_response resp;
	struct vmh_error err;

	vmh_http_response_init(&resp, 65536);
	ck_assert_int_eq(req(h, "POST", "/echo", "x", 0, &resp, &err), VMH_OK);
	ck_assert_int_eq(req(h, "POST", "/count/mut", "x", 0, &resp, &err),
			 VMH_E_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(err.text, "not re-sent"));
	ck_assert_int_eq(counter(h, "mut"), 1);
	/* An idempotent call may be retried by libcurl. */
	ck_assert_int_eq(req(h, "POST", "/echo", "x", 1, &resp, &err), VMH_OK);
	ck_assert_int_eq(req(h, "POST", "/count/idem", "x", 1, &resp, &err),
			 VMH_E_UNAVAILABLE);
	ck_assert_int_eq(counter(h, "idem"), 2);
	vmh_http_response_free(&resp);
	vmh_http_free(h);
}
END_TEST

struct batch_ctx {
	char *urls[64];
	size_t order[64];
	size_t n_prepared;
	enum vmh_rc rc[64];
	long status[64];
	int done[64];
	int skip_odd;
};

static int
b_prepare(void *ctx, size_t i, struct vmh_http_request *r)
{
	struct batch_ctx *b = ctx;

	b->order[b->n_prepared++] = i;
	if (b->skip_odd && i % 2 == 1)
		return 1;
	r->method = "GET";
	r->url = b->urls[i];
	r->idempotent = 1;
	return 0;
}

static void
b_done(void *ctx, size_t i, enum vmh_rc rc, struct vmh_http_response *resp,
       const struct vmh_error *err)
{
	struct batch_ctx *b = ctx;

	(void)err;
	b->rc[i] = rc;
	b->status[i] = resp->status;
	b->done[i]++;
}

/* 20 calls of 300 ms with 10 in flight take about 600 ms, not 6 s. */
START_TEST(batch_runs_concurrently_in_order)
{
	struct vmh_http *h = client(5000, 65536, 10);
	struct vmh_error err;
	struct batch_ctx b;
	long long t0, dt;
	size_t i;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < 20; i++)
		b.urls[i] = url(i == 7 ? "/status/503" : "/sleep/300");
	vmh_error_init(&err);
	t0 = vmh_now_ms();
	ck_assert_int_eq(vmh_http_batch(h, 20, 32, b_prepare, b_done, &b, &err),
			 VMH_OK);
	dt = vmh_now_ms() - t0;
	ck_assert_int_lt(dt, 2000);
	ck_assert_int_ge(dt, 500);
	ck_assert_uint_eq(b.n_prepared, 20);
	for (i = 0; i < 20; i++) {
		ck_assert_uint_eq(b.order[i], i);
		ck_assert_int_eq(b.done[i], 1);
		ck_assert_int_eq(b.rc[i], VMH_OK);
		ck_assert_int_eq(b.status[i], i == 7 ? 503 : 200);
		free(b.urls[i]);
	}
	vmh_http_free(h);
}
END_TEST

START_TEST(batch_skips_and_reports_failures)
{
	struct vmh_http *h = client(1000, 65536, 4);
	struct vmh_error err;
	struct batch_ctx b;
	size_t i;

	memset(&b, 0, sizeof(b));
	b.skip_odd = 1;
	for (i = 0; i < 10; i++)
		b.urls[i] = url(i == 4 ? "/drop" : i == 6 ? "/stall" : "/echo");
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_http_batch(h, 10, 3, b_prepare, b_done, &b, &err),
			 VMH_OK);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(b.done[i], i % 2 == 0);
		if (i % 2 == 0)
			ck_assert_int_eq(b.rc[i], i == 4   ? VMH_E_UNAVAILABLE
						  : i == 6 ? VMH_E_TIMEOUT
							   : VMH_OK);
		free(b.urls[i]);
	}
	ck_assert_uint_eq(vmh_http_requests(h), 5);
	vmh_http_free(h);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("loopback");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, get_echo_and_response_headers);
	tcase_add_test(tc, methods_bodies_and_request_headers);
	tcase_add_test(tc, status_codes_map_to_return_codes);
	tcase_add_test(tc, deadline_slow_and_stalled);
	tcase_add_test(tc, size_cap_known_and_streamed);
	tcase_add_test(tc, dropped_cut_and_garbage_are_transient);
	tcase_add_test(tc, refused_connection_hides_userinfo);
	tcase_add_test(tc, redirects_are_not_followed);
	tcase_add_test(tc, only_http_and_https);
	tcase_add_test(tc, tls_failures_are_permanent);
	tcase_add_test(tc, ca_dir_is_read_and_bounded);
	tcase_add_test(tc, header_with_line_break_is_refused);
	tcase_add_test(tc, connections_are_reused);
	tcase_add_test(tc, lost_answer_is_not_resent);
	tcase_add_test(tc, batch_runs_concurrently_in_order);
	tcase_add_test(tc, batch_skips_and_reports_failures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char script[512];
	const char *argv[] = { script, "@DIR@/port", NULL };
	struct vmh_error err;
	int rc;

	ts_require_python("check_http");
	signal(SIGPIPE, SIG_IGN);
	vmh_error_init(&err);
	if (vmh_http_global_init(&err) != VMH_OK)
		return 1;
	snprintf(script, sizeof(script), "%s/tests/http/httpd.py", ts_srcdir());
	if (ts_start(&srv, argv, "port") != 0) {
		fprintf(stderr, "check_http: cannot start %s\n", script);
		ts_stop(&srv);
		return 1;
	}
	rc = tu_run(http_suite());
	ts_stop(&srv);
	vmh_http_global_cleanup();
	return rc;
}
