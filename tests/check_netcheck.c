/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Probes: address parsing, ICMP and TCP on loopback (v4 and v6), ping and
 * raw sockets, concurrency, failures. Traffic goes to loopback only; tests
 * that need a broken network or other sysctls run in a private network
 * namespace of the test's own process (root only, skipped otherwise).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "netcheck.h"
#include "str.h"
#include "testutil.h"

static struct vmh_netcheck_target
target(const char *addr, int icmp, int port)
{
	struct vmh_netcheck_target t;
	struct vmh_error err;

	memset(&t, 0, sizeof(t));
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_netcheck_parse_addr(addr, &t.addr, &t.addrlen, &err), VMH_OK);
	t.icmp = icmp;
	t.tcp_port = port;
	return t;
}

static struct vmh_netcheck_opts
opts(int timeout_ms, int count, enum vmh_icmp_mode mode)
{
	struct vmh_netcheck_opts o = { timeout_ms, count, mode };

	return o;
}

/* A listening TCP socket on loopback; *port gets its port. */
static int
listener(int family, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port =
	    ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A port on loopback that nobody listens on. */
static int
closed_port(int family)
{
	int port, fd = listener(family, &port);

	close(fd);
	return port;
}

/*
 * Move this test's process into a fresh network namespace (Check forks a
 * process per test, so nothing leaks into other tests). lo_up brings
 * loopback up; range, when not NULL, sets net.ipv4.ping_group_range in it.
 * Returns 0 when the test cannot run here (not root, no namespaces).
 */
static int
private_netns(int lo_up, const char *range)
{
	struct ifreq ifr;
	int fd;
	FILE *f;

	if (getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0)
		return 0;
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "skipped: unshare(CLONE_NEWNET): %s\n",
			strerror(errno));
		return 0;
	}
	if (lo_up) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		memset(&ifr, 0, sizeof(ifr));
		vmh_strlcpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
		ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
		ifr.ifr_flags |= IFF_UP;
		ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
		close(fd);
	}
	if (range != NULL) {
		f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
		ck_assert_ptr_nonnull(f);
		fputs(range, f);
		ck_assert_int_eq(fclose(f), 0);
	}
	return 1;
}

static int
have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	close(fd);
	return access("/proc/net/if_inet6", R_OK) == 0;
}

START_TEST(parse_numeric_addresses_only)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct vmh_error err;
	char text[VMH_NETCHECK_ADDR_TEXTLEN];

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netcheck_parse_addr("192.0.2.7", &ss, &len, &err),
			 VMH_OK);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_str_eq(vmh_netcheck_format_addr((struct sockaddr *)&ss, text,
						  sizeof(text)),
			 "192.0.2.7");
	ck_assert_int_eq(
	    vmh_netcheck_parse_addr("2001:db8::17", &ss, &len, &err), VMH_OK);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_str_eq(vmh_netcheck_format_addr((struct sockaddr *)&ss, text,
						  sizeof(text)),
			 "2001:db8::17");
	ck_assert_int_eq(vmh_netcheck_parse_addr("fe80::1%lo", &ss, &len, &err),
			 VMH_OK);
	ck_assert_uint_ne(((struct sockaddr_in6 *)&ss)->sin6_scope_id, 0);

	ck_assert_int_eq(vmh_netcheck_parse_addr("localhost", &ss, &len, &err),
			 VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "host names are refused"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netcheck_parse_addr("", &ss, &len, &err),
			 VMH_E_DATA);
	vmh_error_init(&err);
	/* inet_aton's shorthand is a typo here, not 10.1.0.2. */
	ck_assert_int_eq(vmh_netcheck_parse_addr("10.1.2", &ss, &len, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_netcheck_parse_addr("0x7f.1", &ss, &len, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(vmh_netcheck_parse_addr("1.2.3.4.5", &ss, &len, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(
	    vmh_netcheck_parse_addr("0123456789012345678901234567890123456789"
				    "0123456789012345678901234567890",
				    &ss, &len, &err),
	    VMH_E_DATA);
	ck_assert_int_eq(vmh_netcheck_parse_addr(NULL, &ss, &len, &err),
			 VMH_E_DATA);
}
END_TEST

START_TEST(bad_options_refused)
{
	struct vmh_netcheck_target t = target("127.0.0.1", 1, 0);
	struct vmh_netcheck_opts o = opts(0, 1, VMH_ICMP_AUTO);
	struct vmh_error err;

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, &err), VMH_E_USAGE);
	o = opts(100, 0, VMH_ICMP_AUTO);
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, NULL), VMH_E_USAGE);
	o = opts(100, VMH_NETCHECK_MAX_ICMP + 1, VMH_ICMP_AUTO);
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, NULL), VMH_E_USAGE);
	o = opts(100, 1, VMH_ICMP_AUTO);
	t.tcp_port = 70000;
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, NULL), VMH_E_USAGE);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, NULL), VMH_E_USAGE);
	/* No targets: nothing to do, at once. */
	ck_assert_int_eq(vmh_netcheck_run(NULL, 0, &o, NULL), VMH_OK);
}
END_TEST

START_TEST(tcp_accepted_and_refused_both_count_up)
{
	struct vmh_netcheck_target t[4];
	struct vmh_netcheck_opts o = opts(1000, 1, VMH_ICMP_AUTO);
	struct vmh_error err;
	int port4, port6 = 0, fd4, fd6 = -1, n = 2;

	vmh_error_init(&err);
	fd4 = listener(AF_INET, &port4);
	t[0] = target("127.0.0.1", 0, port4);
	t[1] = target("127.0.0.1", 0, closed_port(AF_INET));
	if (have_ipv6()) {
		fd6 = listener(AF_INET6, &port6);
		t[2] = target("::1", 0, port6);
		t[3] = target("::1", 0, closed_port(AF_INET6));
		n = 4;
	}
	ck_assert_int_eq(vmh_netcheck_run(t, (size_t)n, &o, &err), VMH_OK);
	ck_assert_int_eq(t[0].tcp_res.status, VMH_PROBE_OK);
	ck_assert_int_eq(t[1].tcp_res.status, VMH_PROBE_REFUSED);
	ck_assert(vmh_probe_is_up(&t[0].tcp_res));
	ck_assert(vmh_probe_is_up(&t[1].tcp_res));
	ck_assert_int_ge(t[0].tcp_res.rtt_ms, 0);
	ck_assert_int_eq(t[0].icmp_res.status, VMH_PROBE_SKIPPED);
	if (n == 4) {
		ck_assert_int_eq(t[2].tcp_res.status, VMH_PROBE_OK);
		ck_assert_int_eq(t[3].tcp_res.status, VMH_PROBE_REFUSED);
		close(fd6);
	}
	close(fd4);
}
END_TEST

START_TEST(icmp_echo_on_loopback)
{
	struct vmh_netcheck_target t[2];
	struct vmh_netcheck_opts o = opts(1000, 2, VMH_ICMP_AUTO);
	struct vmh_error err;
	int n = have_ipv6() ? 2 : 1;
	enum vmh_rc rc;

	vmh_error_init(&err);
	t[0] = target("127.0.0.1", 1, 0);
	t[1] = target("::1", 1, 0);
	rc = vmh_netcheck_run(t, (size_t)n, &o, &err);
	if (rc == VMH_E_CONFIG) {
		/* Neither ping sockets nor raw sockets here: the message
		 * must say how to get one. */
		ck_assert_ptr_nonnull(strstr(err.text, "ping_group_range"));
		return;
	}
	ck_assert_int_eq(rc, VMH_OK);
	ck_assert_int_eq(t[0].icmp_res.status, VMH_PROBE_OK);
	ck_assert_int_ge(t[0].icmp_res.rtt_ms, 0);
	ck_assert_int_eq(t[0].tcp_res.status, VMH_PROBE_SKIPPED);
	if (n == 2)
		ck_assert_int_eq(t[1].icmp_res.status, VMH_PROBE_OK);
}
END_TEST

START_TEST(many_targets_in_one_timeout)
{
	enum { N = 60 };
	struct vmh_netcheck_target t[N];
	struct vmh_netcheck_opts o = opts(2000, 1, VMH_ICMP_AUTO);
	struct vmh_error err;
	long long start;
	int i, port, fd = listener(AF_INET, &port), closed;

	closed = closed_port(AF_INET);
	vmh_error_init(&err);
	for (i = 0; i < N; i++)
		t[i] = target(i % 2 ? "127.0.0.1" : "127.0.0.2", i % 3 == 0,
			      i % 2 ? port : closed);
	if (geteuid() != 0) /* ICMP may need privileges; TCP never does */
		for (i = 0; i < N; i++)
			t[i].icmp = 0;
	start = vmh_now_ms();
	ck_assert_int_eq(vmh_netcheck_run(t, N, &o, &err), VMH_OK);
	/* Everything answers at once: the round ends long before its
	 * deadline, not after N sequential probes. */
	ck_assert_int_lt(vmh_now_ms() - start, 1000);
	for (i = 0; i < N; i++) {
		ck_assert(vmh_probe_is_up(&t[i].tcp_res));
		if (t[i].icmp)
			ck_assert_int_eq(t[i].icmp_res.status, VMH_PROBE_OK);
	}
	close(fd);
}
END_TEST

START_TEST(ping_sockets_when_the_range_allows)
{
	struct vmh_netcheck_target t[2];
	struct vmh_netcheck_opts o = opts(1000, 1, VMH_ICMP_PING);
	struct vmh_error err;
	int n = have_ipv6() ? 2 : 1;

	if (!private_netns(1, "0 2147483647"))
		return;
	vmh_error_init(&err);
	t[0] = target("127.0.0.1", 1, 0);
	t[1] = target("::1", 1, 0);
	ck_assert_int_eq(vmh_netcheck_run(t, (size_t)n, &o, &err), VMH_OK);
	ck_assert_int_eq(t[0].icmp_res.status, VMH_PROBE_OK);
	ck_assert_int_eq(t[0].icmp_res.raw, 0);
	if (n == 2) {
		ck_assert_int_eq(t[1].icmp_res.status, VMH_PROBE_OK);
		ck_assert_int_eq(t[1].icmp_res.raw, 0);
	}
	/* auto prefers them too */
	o.icmp_mode = VMH_ICMP_AUTO;
	ck_assert_int_eq(vmh_netcheck_run(t, 1, &o, &err), VMH_OK);
	ck_assert_int_eq(t[0].icmp_res.raw, 0);
}
END_TEST

START_TEST(raw_fallback_and_clear_error_without_ping_sockets)
{
	struct vmh_netcheck_target t = target("127.0.0.1", 1, 0);
	struct vmh_netcheck_opts o = opts(1000, 1, VMH_ICMP_PING);
	struct vmh_error err;

	if (!private_netns(1, "1 0"))
		return;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "ping_group_range"));
	ck_assert_ptr_nonnull(strstr(err.text, "\"1 0\""));
	/* As root, auto falls back to a raw socket. */
	o.icmp_mode = VMH_ICMP_AUTO;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, &err), VMH_OK);
	ck_assert_int_eq(t.icmp_res.status, VMH_PROBE_OK);
	ck_assert_int_eq(t.icmp_res.raw, 1);
	o.icmp_mode = VMH_ICMP_RAW;
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, &err), VMH_OK);
	ck_assert_int_eq(t.icmp_res.raw, 1);
}
END_TEST

START_TEST(dead_network_is_down_within_the_timeout)
{
	struct vmh_netcheck_target t[3];
	struct vmh_netcheck_opts o = opts(300, 3, VMH_ICMP_AUTO);
	struct vmh_error err;
	long long start, took;
	int n = have_ipv6() ? 3 : 2;

	/* Loopback down: nothing answers, as on a cut link. */
	if (!private_netns(0, NULL))
		return;
	vmh_error_init(&err);
	t[0] = target("127.0.0.1", 1, 0);
	t[1] = target("127.0.0.1", 0, 22);
	t[2] = target("::1", 1, 22);
	start = vmh_now_ms();
	ck_assert_int_eq(vmh_netcheck_run(t, (size_t)n, &o, &err), VMH_OK);
	took = vmh_now_ms() - start;
	ck_assert_int_le(took, 600);
	ck_assert(!vmh_probe_is_up(&t[0].icmp_res));
	ck_assert(!vmh_probe_is_up(&t[1].tcp_res));
	ck_assert(t[0].icmp_res.status == VMH_PROBE_TIMEOUT ||
		  t[0].icmp_res.status == VMH_PROBE_UNREACHABLE);
	ck_assert_int_eq(t[0].icmp_res.rtt_ms, -1);
	if (n == 3) {
		ck_assert(!vmh_probe_is_up(&t[2].icmp_res));
		ck_assert(!vmh_probe_is_up(&t[2].tcp_res));
	}
}
END_TEST

START_TEST(unknown_interface_is_a_config_error_not_down)
{
	struct vmh_netcheck_target t = target("127.0.0.1", 0, 22);
	struct vmh_netcheck_opts o = opts(200, 1, VMH_ICMP_AUTO);
	struct vmh_error err;

	if (geteuid() != 0)
		return; /* SO_BINDTODEVICE rules differ for users */
	vmh_error_init(&err);
	t.ifname = "vmhnf-none0";
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, &err), VMH_E_CONFIG);
	ck_assert_str_eq(err.source, "vmhnf-none0");
	ck_assert_ptr_nonnull(strstr(err.text, "no such network interface"));
	/* An existing one is fine. */
	t.ifname = "lo";
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netcheck_run(&t, 1, &o, &err), VMH_OK);
	ck_assert(vmh_probe_is_up(&t.tcp_res));
}
END_TEST

START_TEST(status_names)
{
	ck_assert_str_eq(vmh_probe_status_name(VMH_PROBE_OK), "ok");
	ck_assert_str_eq(vmh_probe_status_name(VMH_PROBE_REFUSED), "refused");
	ck_assert_str_eq(vmh_probe_status_name(VMH_PROBE_TIMEOUT), "timeout");
	ck_assert_str_eq(vmh_probe_status_name(VMH_PROBE_UNREACHABLE),
			 "unreachable");
	ck_assert_str_eq(vmh_probe_status_name(VMH_PROBE_SKIPPED), "skipped");
	ck_assert_str_eq(vmh_probe_status_name((enum vmh_probe_status)42),
			 "unknown");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("netcheck");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, parse_numeric_addresses_only);
	tcase_add_test(tc, bad_options_refused);
	tcase_add_test(tc, tcp_accepted_and_refused_both_count_up);
	tcase_add_test(tc, icmp_echo_on_loopback);
	tcase_add_test(tc, many_targets_in_one_timeout);
	tcase_add_test(tc, ping_sockets_when_the_range_allows);
	tcase_add_test(tc, raw_fallback_and_clear_error_without_ping_sockets);
	tcase_add_test(tc, dead_network_is_down_within_the_timeout);
	tcase_add_test(tc, unknown_interface_is_a_config_error_not_down);
	tcase_add_test(tc, status_names);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
