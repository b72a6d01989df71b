/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_probe's building blocks: the HA_PROBE syntax and its errors, the
 * `vm_probe` configuration section (errors as file:line), the timer heap,
 * the jittered schedule, rise/fall, the delay histogram, and the persistent
 * probe primitives on loopback (reusable TCP socket, shared ICMP socket).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "conf.h"
#include "netcheck.h"
#include "str.h"
#include "testutil.h"
#include "vmfail.h"
#include "vmprobe.h"

static struct vmh_vmprobe_conf *
defaults(void)
{
	struct vmh_vmprobe_conf *c;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vmprobe_conf_default(&c, &err), VMH_OK);
	return c;
}

/* Parse text, expecting success. */
static void
parse_ok(const char *text, struct vmh_vp_spec *s)
{
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_msg(vmh_vp_spec_parse(text, s, &err) == VMH_OK, "%s: %s",
		      text, err.text);
}

/* Parse text, expecting VMH_E_DATA with a message containing want. */
static void
parse_bad(const char *text, const char *want)
{
	struct vmh_vp_spec s;
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_spec_parse(text, &s, &err), VMH_E_DATA);
	ck_assert_msg(strstr(err.text, want) != NULL, "%s: got '%s', want '%s'",
		      text, err.text, want);
	vmh_vp_spec_clear(&s);
}

START_TEST(spec_kinds)
{
	struct vmh_vp_spec s;

	parse_ok("icmp", &s);
	ck_assert_int_eq(s.kind, VMH_VP_ICMP);
	ck_assert_int_eq(s.heal, -1);
	ck_assert_uint_eq(s.given, 0);
	vmh_vp_spec_clear(&s);
	parse_ok("ping", &s);
	ck_assert_int_eq(s.kind, VMH_VP_ICMP);
	vmh_vp_spec_clear(&s);
	parse_ok("tcp:22", &s);
	ck_assert_int_eq(s.kind, VMH_VP_TCP);
	ck_assert_int_eq(s.port, 22);
	vmh_vp_spec_clear(&s);
	parse_ok("http://:8080/health", &s);
	ck_assert_int_eq(s.kind, VMH_VP_HTTP);
	ck_assert_int_eq(s.tls, 0);
	ck_assert_int_eq(s.port, 8080);
	ck_assert_ptr_null(s.host);
	ck_assert_str_eq(s.path, "/health");
	vmh_vp_spec_clear(&s);
	parse_ok("https://", &s);
	ck_assert_int_eq(s.tls, 1);
	ck_assert_int_eq(s.port, 443);
	ck_assert_str_eq(s.path, "/");
	vmh_vp_spec_clear(&s);
	parse_ok("http://[2001:db8::1]:81/a?b=c", &s);
	ck_assert_str_eq(s.host, "2001:db8::1");
	ck_assert_int_eq(s.port, 81);
	ck_assert_str_eq(s.path, "/a?b=c");
	vmh_vp_spec_clear(&s);
	parse_ok("http://192.0.2.7/x", &s);
	ck_assert_str_eq(s.host, "192.0.2.7");
	ck_assert_int_eq(s.port, 80);
	vmh_vp_spec_clear(&s);
	parse_ok("exec:check-db", &s);
	ck_assert_int_eq(s.kind, VMH_VP_EXEC);
	ck_assert_str_eq(s.exec, "check-db");
	vmh_vp_spec_clear(&s);
}
END_TEST

START_TEST(spec_options)
{
	struct vmh_vp_spec s;

	parse_ok("  tcp:22   period=5 timeout=2s fall=4 rise=2 delay=1m "
		 "heal=no\t",
		 &s);
	ck_assert_int_eq(s.period_ms, 5000);
	ck_assert_int_eq(s.timeout_ms, 2000);
	ck_assert_int_eq(s.fall, 4);
	ck_assert_int_eq(s.rise, 2);
	ck_assert_int_eq(s.initial_delay_ms, 60000);
	ck_assert_int_eq(s.heal, 0);
	ck_assert_uint_eq(s.given, VMH_VP_GIVEN_PERIOD | VMH_VP_GIVEN_TIMEOUT |
				       VMH_VP_GIVEN_FALL | VMH_VP_GIVEN_RISE |
				       VMH_VP_GIVEN_DELAY | VMH_VP_GIVEN_HEAL);
	vmh_vp_spec_clear(&s);
	parse_ok("http://:80/ expect=200,204,300-399 match=\"it works\" "
		 "ip=10.0.0.5 initial_delay=500ms",
		 &s);
	ck_assert_int_eq(s.n_expect, 3);
	ck_assert_int_eq(s.expect[0][0], 200);
	ck_assert_int_eq(s.expect[0][1], 200);
	ck_assert_int_eq(s.expect[2][0], 300);
	ck_assert_int_eq(s.expect[2][1], 399);
	ck_assert_str_eq(s.match, "it works");
	ck_assert_str_eq(s.ip, "10.0.0.5");
	ck_assert_int_eq(s.initial_delay_ms, 500);
	vmh_vp_spec_clear(&s);
	/* Single quotes, for attribute values written in double quotes. */
	parse_ok("http://:80/ match='a \"b\" c'", &s);
	ck_assert_str_eq(s.match, "a \"b\" c");
	vmh_vp_spec_clear(&s);
}
END_TEST

START_TEST(spec_errors)
{
	char big[VMH_VP_SPEC_MAX + 10];

	parse_bad("", "empty probe");
	parse_bad("   ", "empty probe");
	parse_bad("udp:53", "is not a probe");
	parse_bad("tcp:0", "1..65535");
	parse_bad("tcp:65536", "1..65535");
	parse_bad("tcp:22x", "1..65535");
	parse_bad("tcp:22 period", "not an option");
	parse_bad("tcp:22 colour=red", "unknown option 'colour'");
	parse_bad("tcp:22 fall=2 fall=3", "given twice");
	parse_bad("tcp:22 delay=1 initial_delay=2", "given twice");
	parse_bad("tcp:22 fall=0", "fall");
	parse_bad("tcp:22 rise=101", "rise");
	parse_bad("tcp:22 period=10ms", "period: '10ms' is out of range");
	parse_bad("tcp:22 timeout=soon", "timeout: 'soon' is not a duration");
	parse_bad("tcp:22 expect=200", "applies to http probes only");
	parse_bad("icmp match=x", "applies to http probes only");
	parse_bad("http://:80/ expect=99", "not a status list");
	parse_bad("http://:80/ expect=300-200", "not a status list");
	parse_bad("http://:80/ expect=200,", "not a status list");
	parse_bad("http://:80/ match=\"open", "unterminated \" quote");
	parse_bad("http://:80/ match=", "match: 1 to");
	parse_bad("http://:80/ heal=maybe", "not yes or no");
	parse_bad("http://www.example.com/", "URL host");
	parse_bad("http://user@10.0.0.1/", "not a URL");
	parse_bad("http://:99999/", "not a URL");
	parse_bad("http://:80/a#frag", "not a URL");
	parse_bad("http://[::1/", "not a URL");
	parse_bad("exec:", "exec: needs the name");
	parse_bad("exec:../../bin/sh", "exec: needs the name");
	parse_bad("tcp:22 ip=10.1.2", "not a numeric");
	parse_bad("tcp:22\nperiod=1", "control character at offset 6");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_bad(big, "longer than");
}
END_TEST

START_TEST(spec_finish)
{
	struct vmh_vmprobe_conf *c = defaults();
	struct vmh_vp_spec s;
	struct vmh_error err;

	/* Defaults fill what is not written. */
	parse_ok("tcp:22 fall=5", &s);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 1, &err), VMH_OK);
	ck_assert_int_eq(s.period_ms, 10000);
	ck_assert_int_eq(s.timeout_ms, 1000);
	ck_assert_int_eq(s.fall, 5);
	ck_assert_int_eq(s.rise, 1);
	ck_assert_int_eq(s.initial_delay_ms, 60000);
	vmh_vp_spec_clear(&s);
	/* A short period alone shortens the default timeout. */
	parse_ok("tcp:22 period=500ms", &s);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 0, &err), VMH_OK);
	ck_assert_int_eq(s.timeout_ms, 500);
	vmh_vp_spec_clear(&s);
	/* ... but not below the floor for cloud attributes. */
	parse_ok("tcp:22 period=500ms", &s);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 1, &err), VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "below the configured minimum"));
	vmh_vp_spec_clear(&s);
	parse_ok("tcp:22 period=2 timeout=3", &s);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 0, &err), VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "longer than the period"));
	vmh_vp_spec_clear(&s);
	/* A VM's owner may not point the probe at another address. */
	parse_ok("http://192.0.2.9:80/", &s);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 1, &err), VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "not allowed here"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 0, &err), VMH_OK);
	vmh_vp_spec_clear(&s);
	/* Only the configuration's own exec checks. */
	parse_ok("exec:whatever", &s);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_spec_finish(&s, c, 1, &err), VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "no exec check 'whatever'"));
	vmh_vp_spec_clear(&s);
	vmh_vmprobe_conf_free(c);
}
END_TEST

START_TEST(durations)
{
	struct vmh_error err;
	int ms = -1;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_vp_parse_duration("5", 0, 1000000, &ms, &err),
			 VMH_OK);
	ck_assert_int_eq(ms, 5000);
	ck_assert_int_eq(vmh_vp_parse_duration("250ms", 0, 1000000, &ms, &err),
			 VMH_OK);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(vmh_vp_parse_duration("1.5", 0, 1000000, &ms, &err),
			 VMH_OK);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(vmh_vp_parse_duration("0.25s", 0, 1000000, &ms, &err),
			 VMH_OK);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(vmh_vp_parse_duration("2m", 0, 1000000, &ms, &err),
			 VMH_OK);
	ck_assert_int_eq(ms, 120000);
	ck_assert_int_eq(vmh_vp_parse_duration("0", 0, 1000000, &ms, &err),
			 VMH_OK);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(vmh_vp_parse_duration("1.5ms", 0, 9, &ms, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_vp_parse_duration("", 0, 9, &ms, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_vp_parse_duration("-1", 0, 9, &ms, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_vp_parse_duration("1.", 0, 9000, &ms, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_vp_parse_duration("1h", 0, 1 << 30, &ms, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(
	    vmh_vp_parse_duration("99999999999", 0, 1 << 30, &ms, &err),
	    VMH_E_DATA);
	ck_assert_int_eq(vmh_vp_parse_duration("2", 0, 1000, &ms, &err),
			 VMH_E_DATA);
}
END_TEST

/* ---- Configuration section */

static enum vmh_rc
load(const char *text, struct vmh_conf **conf, struct vmh_error *err,
     char **dir_out)
{
	char *dir = tu_mkdtemp(), *path, *full;
	enum vmh_rc rc;

	ck_assert(asprintf(&full, "state_dir = \"%s\";\n%s", dir, text) > 0);
	path = tu_write(dir, "vmheal.conf", full, 0600);
	vmh_error_init(err);
	rc = vmh_conf_load(path, conf, err);
	free(path);
	free(full);
	*dir_out = dir;
	return rc;
}

/* Load text, expecting a configuration error on line `line` (counting the
 * state_dir line load() adds) whose message contains want. */
static void
conf_bad(const char *text, int line, const char *want)
{
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	char *dir;

	ck_assert_int_eq(load(text, &conf, &err, &dir), VMH_E_CONFIG);
	ck_assert_ptr_null(conf);
	ck_assert_msg(strstr(err.text, want) != NULL, "got '%s', want '%s'",
		      err.text, want);
	ck_assert_msg(err.line == line, "'%s': line %d, want %d", err.text,
		      err.line, line);
	ck_assert_ptr_nonnull(strstr(err.source, "vmheal.conf"));
	tu_rmdir(dir);
}

START_TEST(conf_good)
{
	struct vmh_conf *conf = NULL;
	struct vmh_error err;
	const struct vmh_vmprobe_conf *c;
	char *dir;

	ck_assert_msg(
	    load("vm_probe = {\n"
		 "  period = 5; timeout = \"750ms\"; initial_delay = 0.5;\n"
		 "  fall = 2; rise = 3; jitter = 20; refresh_interval = 30;\n"
		 "  actions = [ \"reboot\", \"rebuild\", \"evacuate\" ];\n"
		 "  storm_percent = 60; storm_min_down = 2;\n"
		 "  exec = { pg = [ \"/usr/local/bin/check-pg\", \"-q\" ]; };\n"
		 "  metrics_file = \"/tmp/x.prom\"; heal = false;\n"
		 "  targets = (\n"
		 "    { name = \"db\"; address = \"10.0.0.9\";\n"
		 "      probe = \"exec:pg period=10\"; vm = 42; },\n"
		 "    { name = \"web\"; probe = \"http://10.0.0.8:80/\"; }\n"
		 "  );\n"
		 "};\n",
		 &conf, &err, &dir) == VMH_OK,
	    "%s:%d: %s", err.source, err.line, err.text);
	c = conf->vmprobe;
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->period_ms, 5000);
	ck_assert_int_eq(c->timeout_ms, 750);
	ck_assert_int_eq(c->initial_delay_ms, 500);
	ck_assert_int_eq(c->fall, 2);
	ck_assert_int_eq(c->rise, 3);
	ck_assert_int_eq(c->jitter_pct, 20);
	ck_assert_int_eq(c->refresh_s, 30);
	ck_assert_int_eq(c->n_actions, 3);
	ck_assert_int_eq(c->actions[1], VMH_VF_REBUILD);
	ck_assert_int_eq(c->actions[2], VMH_VF_RECREATE);
	ck_assert_int_eq(c->storm_percent, 60);
	ck_assert_int_eq(c->storm_min_down, 2);
	ck_assert_int_eq(c->heal, 0);
	ck_assert_uint_eq(c->n_exec, 1);
	ck_assert_str_eq(c->exec[0].argv[1], "-q");
	ck_assert_uint_eq(c->n_targets, 2);
	ck_assert_str_eq(c->targets[0].vm, "42");
	ck_assert_int_eq(c->targets[0].spec.period_ms, 10000);
	ck_assert_int_eq(c->targets[0].spec.rise, 3);
	ck_assert_str_eq(c->targets[1].spec.host, "10.0.0.8");
	ck_assert_ptr_null(c->targets[1].vm);
	vmh_conf_free(conf);
	tu_rmdir(dir);
}
END_TEST

START_TEST(conf_errors)
{
	conf_bad("vm_probe = {\n  periode = 5;\n};\n", 3,
		 "unknown setting 'vm_probe.periode'");
	conf_bad("vm_probe = {\n  fall = \"3\";\n};\n", 3,
		 "vm_probe.fall: must be a whole number");
	conf_bad("vm_probe = {\n  jitter = 80;\n};\n", 3,
		 "80 is out of range 0..50");
	conf_bad("vm_probe = {\n  period = \"1x\";\n};\n", 3,
		 "vm_probe.period: '1x' is not a duration");
	conf_bad("vm_probe = {\n  period = 1;\n  timeout = 2;\n};\n", 4,
		 "longer than the period");
	conf_bad("vm_probe = {\n  actions = [ \"pray\" ];\n};\n", 3,
		 "\"pray\" is not one of");
	conf_bad("vm_probe = {\n  storm_percent = 0;\n};\n", 3,
		 "0 is out of range 1..100");
	conf_bad("vm_probe = {\n  attribute = \"HA PROBE\";\n};\n", 3,
		 "not an attribute name");
	conf_bad("vm_probe = {\n  exec = { x = [ \"relative\" ]; };\n};\n", 3,
		 "absolute program path");
	conf_bad("vm_probe = {\n  notify_command = [ \"n\" ];\n};\n", 3,
		 "absolute program path");
	conf_bad(
	    "vm_probe = {\n  targets = (\n"
	    "    { address = \"127.0.0.1\"; probe = \"icmp\"; }\n  );\n};\n",
	    4, "every target needs a name");
	conf_bad(
	    "vm_probe = {\n  targets = (\n"
	    "    { name = \"a\"; address = \"127.0.0.1\"; probe = \"icmp\"; "
	    "},\n"
	    "    { name = \"a\"; address = \"127.0.0.2\"; probe = \"icmp\"; "
	    "}\n  );\n};\n",
	    5, "name 'a' used twice");
	conf_bad("vm_probe = {\n  targets = (\n"
		 "    { name = \"a\";\n      address = \"127.0.0.1\";\n"
		 "      probe = \"tcp:22 fall=x\"; }\n  );\n};\n",
		 6, "vm_probe.targets: a: probe: fall");
	conf_bad("vm_probe = {\n  targets = (\n"
		 "    { name = \"a\"; probe = \"tcp:22\"; }\n  );\n};\n",
		 4, "a: no address");
	conf_bad("vm_probe = {\n  targets = (\n"
		 "    { name = \"a\"; address = \"host.example\"; probe = "
		 "\"icmp\"; }\n  );\n};\n",
		 4, "not a numeric");
	conf_bad("vm_probe = {\n  targets = (\n"
		 "    { name = \"a\"; address = \"127.0.0.1\"; probe = "
		 "\"exec:nope\"; }\n  );\n};\n",
		 4, "no exec check 'nope'");
	conf_bad("vm_probe = {\n  targets = (\n"
		 "    { name = \"a\"; address = \"127.0.0.1\"; probe = "
		 "\"icmp\"; port = 1; }\n  );\n};\n",
		 4, "unknown setting");
}
END_TEST

/* ---- Heap */

START_TEST(heap_order)
{
	struct vmh_vp_heap h = { 0 };
	struct vmh_vp_timer t[500];
	unsigned long long rng = 7;
	long long last;
	size_t i, n;

	for (i = 0; i < 500; i++) {
		t[i].idx = VMH_VP_NOT_QUEUED;
		ck_assert_int_eq(
		    vmh_vp_heap_set(&h, &t[i],
				    (long long)(vmh_vp_rand(&rng) % 1000)),
		    VMH_OK);
	}
	/* Move some, remove some. */
	for (i = 0; i < 500; i += 3)
		ck_assert_int_eq(
		    vmh_vp_heap_set(&h, &t[i],
				    (long long)(vmh_vp_rand(&rng) % 2000)),
		    VMH_OK);
	for (i = 1; i < 500; i += 7)
		vmh_vp_heap_remove(&h, &t[i]);
	vmh_vp_heap_remove(&h, &t[1]); /* twice: harmless */
	n = h.n;
	ck_assert_uint_eq(n, 500 - 72);
	last = -1;
	for (i = 0; i < n; i++) {
		struct vmh_vp_timer *top = vmh_vp_heap_peek(&h);

		ck_assert_ptr_nonnull(top);
		ck_assert_int_ge(top->when, last);
		last = top->when;
		vmh_vp_heap_remove(&h, top);
		ck_assert_uint_eq(top->idx, VMH_VP_NOT_QUEUED);
	}
	ck_assert_ptr_null(vmh_vp_heap_peek(&h));
	vmh_vp_heap_free(&h);
}
END_TEST

/* ---- Schedule */

START_TEST(schedule_jitter)
{
	unsigned long long rng = 42;
	unsigned long skipped = 0;
	long long p = 1000000, now = 5000000, d, lo = p, hi = 0, sum = 0;
	int i;

	/* Each interval within period +- 10 %, centred on the period. */
	for (i = 0; i < 10000; i++) {
		d = vmh_vp_next_due(now, p, 10, now, &rng, &skipped) - now;
		ck_assert_int_ge(d, p - p / 10);
		ck_assert_int_le(d, p + p / 10);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	ck_assert_int_lt(lo, p - p / 20); /* really spread */
	ck_assert_int_gt(hi, p + p / 20);
	ck_assert_int_lt(sum / 10000 - p, p / 100);
	ck_assert_int_gt(sum / 10000 - p, -p / 100);
	/* No jitter: exactly the period. */
	ck_assert_int_eq(vmh_vp_next_due(now, p, 0, now, &rng, &skipped),
			 now + p);
	/* A loop 3.5 periods late skips rounds instead of bursting. */
	ck_assert_int_eq(
	    vmh_vp_next_due(now, p, 0, now + 4500000, &rng, &skipped),
	    now + 4500000);
	ck_assert_uint_eq(skipped, 3);
	/* First start: after the delay, within one period, spread. */
	lo = p;
	hi = 0;
	for (i = 0; i < 10000; i++) {
		d = vmh_vp_first_due(now, 2000000, p, &rng) - now - 2000000;
		ck_assert_int_ge(d, 0);
		ck_assert_int_lt(d, p);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	ck_assert_int_lt(lo, p / 100);
	ck_assert_int_gt(hi, p - p / 100);
}
END_TEST

/* ---- Rise and fall */

START_TEST(rise_fall)
{
	struct vmh_vp_fsm f;

	vmh_vp_fsm_reset(&f);
	ck_assert_int_eq(f.state, VMH_VP_UNKNOWN);
	/* rise 2, fall 3: from UNKNOWN whichever comes first. */
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 1, 2, 3), 0);
	ck_assert_int_eq(f.state, VMH_VP_UNKNOWN);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 1, 2, 3), 1);
	ck_assert_int_eq(f.state, VMH_VP_UP);
	/* Two failures, a success: the count starts over. */
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 0);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 0);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 1, 2, 3), 0);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 0);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 0);
	ck_assert_int_eq(f.state, VMH_VP_UP);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 1);
	ck_assert_int_eq(f.state, VMH_VP_DOWN);
	ck_assert_int_eq(f.fail_run, 3);
	/* More failures: no new transition. */
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 0);
	/* One success is not enough with rise 2, and a failure resets. */
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 1, 2, 3), 0);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 2, 3), 0);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 1, 2, 3), 0);
	ck_assert_int_eq(f.state, VMH_VP_DOWN);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 1, 2, 3), 1);
	ck_assert_int_eq(f.state, VMH_VP_UP);
	/* fall 1: the first failure. */
	vmh_vp_fsm_reset(&f);
	ck_assert_int_eq(vmh_vp_fsm_feed(&f, 0, 1, 1), 1);
	ck_assert_int_eq(f.state, VMH_VP_DOWN);
	ck_assert_str_eq(vmh_vp_state_name(VMH_VP_DOWN), "down");
}
END_TEST

/* ---- Histogram */

START_TEST(histogram)
{
	struct vmh_vp_hist h;
	long long q;
	int i;

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(vmh_vp_hist_quantile(&h, 0.5), 0);
	for (i = 1; i <= 1000; i++)
		vmh_vp_hist_add(&h, i * 100); /* 100 us .. 100 ms */
	ck_assert_uint_eq(h.count, 1000);
	ck_assert_int_eq(h.max, 100000);
	q = vmh_vp_hist_quantile(&h, 0.5);
	ck_assert_int_ge(q, 50000);
	ck_assert_int_le(q, 50000 + 50000 / 8 + 1);
	q = vmh_vp_hist_quantile(&h, 0.99);
	ck_assert_int_ge(q, 99000);
	ck_assert_int_le(q, 100000);
	ck_assert_int_eq(vmh_vp_hist_quantile(&h, 1.0), 100000);
	/* Small values are exact; negative ones count as zero. */
	memset(&h, 0, sizeof(h));
	vmh_vp_hist_add(&h, -5);
	vmh_vp_hist_add(&h, 3);
	vmh_vp_hist_add(&h, 7);
	ck_assert_int_eq(vmh_vp_hist_quantile(&h, 0.34), 3);
	ck_assert_int_eq(vmh_vp_hist_quantile(&h, 0.1), 0);
	/* Huge values land in the last bucket, capped at max. */
	vmh_vp_hist_add(&h, 1LL << 50);
	ck_assert_int_eq(vmh_vp_hist_quantile(&h, 0.99), 1LL << 50);
}
END_TEST

/* ---- Persistent probe primitives on loopback */

static int
listener(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Wait until the probe socket is done connecting; its status. */
static enum vmh_probe_status
wait_connect(int fd, int *errnum)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	enum vmh_probe_status st;
	int i;

	for (i = 0; i < 100; i++) {
		(void)poll(&p, 1, 20);
		if ((st = vmh_tcp_probe_check(fd, errnum)) != VMH_PROBE_TIMEOUT)
			return st;
	}
	return VMH_PROBE_TIMEOUT;
}

START_TEST(tcp_reuse)
{
	struct sockaddr_storage ss;
	struct vmh_error err;
	enum vmh_probe_status st;
	socklen_t len;
	int lfd, port, fd, pending, errnum, i, c, closed;

	vmh_error_init(&err);
	lfd = listener(&port);
	ck_assert_int_eq(vmh_netcheck_parse_addr("127.0.0.1", &ss, &len, &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_tcp_probe_socket(AF_INET, &fd, &err), VMH_OK);
	/* The same socket connects again and again. */
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(vmh_tcp_probe_connect(fd, &ss, len, port,
						       &pending, &st, &errnum,
						       &err),
				 VMH_OK);
		if (pending)
			st = wait_connect(fd, &errnum);
		ck_assert_int_eq(st, VMH_PROBE_OK);
		ck_assert_int_eq(vmh_tcp_probe_reset(fd), 0);
		c = accept(lfd, NULL, NULL);
		ck_assert_int_ge(c, 0);
		close(c);
	}
	/* After a reset and nothing connected, the state is not "up". */
	ck_assert_int_ne(vmh_tcp_probe_check(fd, &errnum), VMH_PROBE_OK);
	/* Nobody listening: refused, then the socket is still usable. */
	close(lfd);
	ck_assert_int_eq(vmh_tcp_probe_connect(fd, &ss, len, port, &pending,
					       &st, &errnum, &err),
			 VMH_OK);
	if (pending)
		st = wait_connect(fd, &errnum);
	ck_assert_int_eq(st, VMH_PROBE_REFUSED);
	closed = vmh_tcp_probe_reset(fd);
	ck_assert_int_eq(closed, 0);
	lfd = listener(&port);
	ck_assert_int_eq(vmh_tcp_probe_connect(fd, &ss, len, port, &pending,
					       &st, &errnum, &err),
			 VMH_OK);
	if (pending)
		st = wait_connect(fd, &errnum);
	ck_assert_int_eq(st, VMH_PROBE_OK);
	close(fd);
	close(lfd);
}
END_TEST

struct got {
	unsigned long long tokens[8];
	int n;
};

static void
on_reply(void *ctx, unsigned long long token,
	 const struct sockaddr_storage *from)
{
	struct got *g = ctx;
	struct sockaddr_storage want;
	socklen_t len;

	ck_assert_int_eq(
	    vmh_netcheck_parse_addr("127.0.0.1", &want, &len, NULL), VMH_OK);
	ck_assert(vmh_netcheck_same_addr(from, &want));
	if (g->n < 8)
		g->tokens[g->n++] = token;
}

START_TEST(pinger_loopback)
{
	struct vmh_pinger *p = NULL;
	struct sockaddr_storage ss;
	struct vmh_error err;
	struct got g = { { 0 }, 0 };
	socklen_t len;
	struct pollfd pfd;
	int i;

	vmh_error_init(&err);
	if (vmh_pinger_open(AF_INET, VMH_ICMP_AUTO, &p, &err) != VMH_OK) {
		/* Neither ping sockets nor CAP_NET_RAW here. */
		ck_assert_int_eq(err.code, VMH_E_CONFIG);
		return;
	}
	ck_assert_int_eq(vmh_netcheck_parse_addr("127.0.0.1", &ss, &len, &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_pinger_send(p, &ss, len, 0x1234567890abcdefULL),
			 0);
	ck_assert_int_eq(vmh_pinger_send(p, &ss, len, 42), 0);
	pfd.fd = vmh_pinger_fd(p);
	pfd.events = POLLIN;
	for (i = 0; i < 50 && g.n < 2; i++) {
		(void)poll(&pfd, 1, 20);
		(void)vmh_pinger_read(p, 16, on_reply, &g);
	}
	ck_assert_int_eq(g.n, 2);
	ck_assert(g.tokens[0] == 0x1234567890abcdefULL || g.tokens[1] == 42);
	ck_assert(g.tokens[0] == 42 || g.tokens[1] == 42);
	/* Wrong family: refused without sending. */
	ck_assert_int_eq(vmh_netcheck_parse_addr("::1", &ss, &len, &err),
			 VMH_OK);
	ck_assert_int_eq(vmh_pinger_send(p, &ss, len, 1), EAFNOSUPPORT);
	vmh_pinger_close(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("vmprobe");
	TCase *tc = tcase_create("spec");

	tcase_add_test(tc, spec_kinds);
	tcase_add_test(tc, spec_options);
	tcase_add_test(tc, spec_errors);
	tcase_add_test(tc, spec_finish);
	tcase_add_test(tc, durations);
	suite_add_tcase(s, tc);
	tc = tcase_create("conf");
	tcase_add_test(tc, conf_good);
	tcase_add_test(tc, conf_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("sched");
	tcase_add_test(tc, heap_order);
	tcase_add_test(tc, schedule_jitter);
	tcase_add_test(tc, rise_fall);
	tcase_add_test(tc, histogram);
	suite_add_tcase(s, tc);
	tc = tcase_create("net");
	tcase_add_test(tc, tcp_reuse);
	tcase_add_test(tc, pinger_loopback);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
