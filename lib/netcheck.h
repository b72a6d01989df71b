/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reachability probes for net_fence and vm_probe: ICMP echo and TCP
 * connect, IPv4 and IPv6. net_fence runs rounds: every probe of a round in
 * flight at once on non-blocking sockets driven by one poll() loop, so a
 * round costs one timeout however many targets it has. vm_probe runs
 * single probes from its own event loop (the persistent API at the end).
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

/*
 * The same probes one at a time, for an event loop that runs many of them
 * continuously (vm_probe).
 *
 * TCP: start a connect on a new non-blocking socket. VMH_OK with *fd >= 0:
 * watch it for writability (or wait for the deadline), then call
 * vmh_tcp_probe_end(). VMH_OK with *fd == -1: it ended at once, *st and
 * *errnum say how. Any other return: a local failure (as for
 * vmh_netcheck_run()), nothing to watch.
 */
enum vmh_rc vmh_tcp_probe_start(const struct sockaddr_storage *addr,
				socklen_t addrlen, int port, const char *ifname,
				int *fd, enum vmh_probe_status *st, int *errnum,
				struct vmh_error *err);

/* The outcome once fd is writable: OK, REFUSED, UNREACHABLE (with
 * *errnum), or TIMEOUT when it is still connecting. fd is closed with a
 * RST in every case, so no TIME_WAIT is left behind. */
enum vmh_probe_status vmh_tcp_probe_end(int fd, int *errnum);

/*
 * A TCP probe socket kept from one probe to the next (vm_probe probes
 * thousands of targets every second): each probe connects it, and
 * vmh_tcp_probe_reset() breaks the connection with a RST (connect() to
 * AF_UNSPEC) so that the same socket connects again next time. That saves
 * creating, registering and closing a socket per probe. Watch it
 * edge-triggered for writability; a wake-up may be stale (from the previous
 * connection), so vmh_tcp_probe_check() looks at the connection state.
 */
enum vmh_rc vmh_tcp_probe_socket(int family, int *fd, struct vmh_error *err);

/* Start a connect on fd (made by vmh_tcp_probe_socket(), not connected).
 * VMH_OK with *pending: wait; without: it ended at once (*st, *errnum). */
enum vmh_rc vmh_tcp_probe_connect(int fd, const struct sockaddr_storage *addr,
				  socklen_t addrlen, int port, int *pending,
				  enum vmh_probe_status *st, int *errnum,
				  struct vmh_error *err);

/* The connect's outcome so far: OK (connected), REFUSED, UNREACHABLE
 * (*errnum), or TIMEOUT while it is still connecting. fd stays open. */
enum vmh_probe_status vmh_tcp_probe_check(int fd, int *errnum);

/* Drop the connection (a RST when connected) so that fd can connect
 * again. -1: it cannot be reused; close it. */
int vmh_tcp_probe_reset(int fd);

/*
 * ICMP echo through one socket per address family shared by every target:
 * no socket per probe, so thousands of targets cost two descriptors.
 * Requests carry a random per-socket cookie and the caller's 64-bit token
 * in the payload; a reply is handed back only when the cookie (and on raw
 * sockets the identifier) matches. The caller must still check that the
 * token is one it has in flight and that the reply came from the address
 * it sent that token to (vmh_pinger_read() passes it on).
 */
struct vmh_pinger;

enum vmh_rc vmh_pinger_open(int family, enum vmh_icmp_mode mode,
			    struct vmh_pinger **out, struct vmh_error *err);
void vmh_pinger_close(struct vmh_pinger *p);

/* The socket to watch for readability. */
int vmh_pinger_fd(const struct vmh_pinger *p);

/* 1 when it is a raw socket (CAP_NET_RAW), 0 for a ping socket. */
int vmh_pinger_is_raw(const struct vmh_pinger *p);

/* Send one echo request to addr (of the pinger's family). Returns 0, or
 * the errno of a send that failed: a network errno means the target is
 * unreachable now, EAGAIN/ENOBUFS that the local queue is full. */
int vmh_pinger_send(struct vmh_pinger *p, const struct sockaddr_storage *addr,
		    socklen_t addrlen, unsigned long long token);

typedef void (*vmh_pinger_cb)(void *ctx, unsigned long long token,
			      const struct sockaddr_storage *from);

/* Read up to max waiting datagrams; cb for every echo reply of ours.
 * Returns the number of datagrams read (0: none waiting). */
int vmh_pinger_read(struct vmh_pinger *p, int max, vmh_pinger_cb cb, void *ctx);

/* 1 when a and b hold the same IP address (ports and scope ignored). */
int vmh_netcheck_same_addr(const struct sockaddr_storage *a,
			   const struct sockaddr_storage *b);

#endif
