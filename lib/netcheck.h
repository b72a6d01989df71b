/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reachability probes for net_fence (and later vm_probe): ICMP echo and TCP
 * connect, IPv4 and IPv6, every probe of a round in flight at once on
 * non-blocking sockets driven by one poll() loop, so a round costs one
 * timeout however many targets it has.
 *
 * ICMP uses an unprivileged ping socket (SOCK_DGRAM/IPPROTO_ICMP[V6]) when
 * the kernel lets this process's group open one (net.ipv4.ping_group_range,
 * which covers IPv6 too and is set per network namespace), a raw socket
 * otherwise (needs CAP_NET_RAW), and fails with a message naming both ways
 * out when neither is allowed. Replies are matched on the source address
 * (the sockets are connected), the echo identifier (raw sockets; the kernel
 * does it for ping sockets), the sequence numbers sent in this round and a
 * random per-round cookie in the payload, so a late reply to another run or
 * another target can never count.
 *
 * A TCP probe counts the target up when it accepts the connection or
 * refuses it (a RST proves the path works; a dead service is not an
 * isolated host). Only silence and ICMP errors count down.
 */
#ifndef VMH_NETCHECK_H
#define VMH_NETCHECK_H

#include <stddef.h>
#include <sys/socket.h>

#include "error.h"

#define VMH_NETCHECK_MAX_PROBES   512 /* sockets in flight in one round */
#define VMH_NETCHECK_MAX_ICMP     10  /* echo requests per target and round */
#define VMH_NETCHECK_ADDR_TEXTLEN 64  /* room for any numeric address */

enum vmh_icmp_mode {
	VMH_ICMP_AUTO = 0, /* ping socket, else raw socket */
	VMH_ICMP_PING,     /* ping socket only */
	VMH_ICMP_RAW,      /* raw socket only */
};

enum vmh_probe_status {
	VMH_PROBE_SKIPPED = 0, /* this probe was not asked for */
	VMH_PROBE_OK,          /* echo reply, or connection accepted */
	VMH_PROBE_REFUSED,     /* TCP RST: the host answered, port closed */
	VMH_PROBE_TIMEOUT,     /* no answer before the round's deadline */
	VMH_PROBE_UNREACHABLE, /* ICMP error or no route (errnum says) */
};

struct vmh_probe_result {
	enum vmh_probe_status status;
	int rtt_ms; /* OK/REFUSED: time to the answer; -1 otherwise */
	int errnum; /* errno behind UNREACHABLE, 0 otherwise */
	int raw;    /* ICMP only: 1 sent from a raw socket, 0 ping socket */
};

struct vmh_netcheck_target {
	/* In. */
	struct sockaddr_storage addr; /* numeric, from parse_addr */
	socklen_t addrlen;
	int icmp;           /* 1: send echo requests */
	int tcp_port;       /* 1..65535: connect to it; 0: no TCP probe */
	const char *ifname; /* SO_BINDTODEVICE, NULL: routing decides */
	/* Out, set by vmh_netcheck_run(). */
	struct vmh_probe_result icmp_res;
	struct vmh_probe_result tcp_res;
};

struct vmh_netcheck_opts {
	int timeout_ms; /* the round's deadline, > 0 */
	int icmp_count; /* echo requests per target, spread over the round */
	enum vmh_icmp_mode icmp_mode;
};

/*
 * Probe every target once, concurrently, and fill their results. Returns
 * VMH_OK when the round ran, whatever the targets answered. A local failure
 * that makes the round meaningless fails the whole round and no result may
 * be used: ICMP not permitted (VMH_E_CONFIG, with the sysctl and capability
 * to fix it), an unknown interface (VMH_E_CONFIG), out of descriptors or
 * memory (VMH_E_SYSTEM/VMH_E_NOMEM), bad arguments (VMH_E_USAGE).
 */
enum vmh_rc vmh_netcheck_run(struct vmh_netcheck_target *targets, size_t n,
			     const struct vmh_netcheck_opts *opts,
			     struct vmh_error *err);

/* 1 if r shows the target answered (OK or REFUSED). */
int vmh_probe_is_up(const struct vmh_probe_result *r);

/* "ok", "refused", "timeout", "unreachable", "skipped". */
const char *vmh_probe_status_name(enum vmh_probe_status s);

/*
 * Parse a numeric IPv4 or IPv6 address ("192.0.2.1", "2001:db8::1",
 * "fe80::1%eth0"); host names are refused on purpose, because resolving
 * them needs the very network being judged. Port is left 0.
 */
enum vmh_rc vmh_netcheck_parse_addr(const char *text,
				    struct sockaddr_storage *ss, socklen_t *len,
				    struct vmh_error *err);

/* The numeric form of sa into dst (at least VMH_NETCHECK_ADDR_TEXTLEN). */
const char *vmh_netcheck_format_addr(const struct sockaddr *sa, char *dst,
				     size_t len);

#endif
