/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ICMP echo and TCP connect probes, all of a round at once on non-blocking
 * sockets and one poll() loop (see netcheck.h for the matching rules).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netcheck.h"
#include "str.h"

#define ICMP4_ECHO_REQUEST 8
#define ICMP4_ECHO_REPLY   0
#define ICMP6_ECHO_REQ     128
#define ICMP6_ECHO_REP     129
#define ICMP_HDR_LEN       8
#define COOKIE_LEN         16
#define ECHO_LEN           (ICMP_HDR_LEN + COOKIE_LEN + 8)
#define RECV_MAX           2048
#define RECV_BURST         64 /* datagrams read per wake-up and socket */

/* Linux raw ICMP socket filter (linux/icmp.h, not included because it
 * clashes with the libc headers): a bit set drops that ICMP type. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
#ifndef SOL_RAW
#define SOL_RAW 255
#endif

enum probe_kind { PROBE_ICMP, PROBE_TCP };

struct probe {
	struct vmh_probe_result *res;
	const struct vmh_netcheck_target *t;
	enum probe_kind kind;
	int fd;
	int family;
	int raw;
	uint16_t ident; /* raw sockets: our echo identifier */
	uint16_t seq0;  /* sequence number of the first request */
	int sent;       /* echo requests sent so far */
	long long sent_at[VMH_NETCHECK_MAX_ICMP];
	int done;
	int unreach; /* errno of an ICMP error seen, 0 if none */
};

const char *
vmh_probe_status_name(enum vmh_probe_status s)
{
	switch (s) {
	case VMH_PROBE_SKIPPED:
		return "skipped";
	case VMH_PROBE_OK:
		return "ok";
	case VMH_PROBE_REFUSED:
		return "refused";
	case VMH_PROBE_TIMEOUT:
		return "timeout";
	case VMH_PROBE_UNREACHABLE:
		return "unreachable";
	}
	return "unknown";
}

int
vmh_probe_is_up(const struct vmh_probe_result *r)
{
	return r->status == VMH_PROBE_OK || r->status == VMH_PROBE_REFUSED;
}

enum vmh_rc
vmh_netcheck_parse_addr(const char *text, struct sockaddr_storage *ss,
			socklen_t *len, struct vmh_error *err)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct addrinfo hints, *ai = NULL;

	if (text == NULL || text[0] == '\0' ||
	    strlen(text) >= VMH_NETCHECK_ADDR_TEXTLEN)
		goto bad;
	memset(ss, 0, sizeof(*ss));
	/* inet_pton, not getaddrinfo: the latter takes inet_aton's forms,
	 * and a typo like "10.1.2" would quietly become 10.1.0.2. */
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		*len = sizeof(*in);
		return VMH_OK;
	}
	if (strchr(text, ':') == NULL)
		goto bad;
	/* IPv6, with an optional %scope for link-local addresses. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET6;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(text, NULL, &hints, &ai) != 0 || ai == NULL ||
	    ai->ai_addrlen > sizeof(*ss)) {
		if (ai != NULL)
			freeaddrinfo(ai);
		goto bad;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return VMH_OK;
bad:
	return vmh_error_set(err, VMH_E_DATA, NULL, 0,
			     "'%.64s' is not a numeric IPv4 or IPv6 address "
			     "(host names are refused: resolving them needs "
			     "the network being checked)",
			     text != NULL ? text : "");
}

const char *
vmh_netcheck_format_addr(const struct sockaddr *sa, char *dst, size_t len)
{
	socklen_t salen = sa->sa_family == AF_INET6
			      ? (socklen_t)sizeof(struct sockaddr_in6)
			      : (socklen_t)sizeof(struct sockaddr_in);

	if (len == 0)
		return dst;
	if (getnameinfo(sa, salen, dst, (socklen_t)len, NULL, 0,
			NI_NUMERICHOST) != 0)
		vmh_strlcpy(dst, "?", len);
	return dst;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* RFC 1071 checksum; only IPv4 raw sockets need it (the kernel fills it in
 * for ping sockets and for every ICMPv6 socket). */
static uint16_t
inet_cksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)((p[i] << 8) | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Unpredictable bytes, so that nobody off-host can forge a reply blindly;
 * the fallback only has to keep rounds apart. */
static void
random_bytes(uint8_t *buf, size_t n)
{
	size_t i;
	long long seed;

	if (getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n)
		return;
	seed = vmh_now_ms() ^ ((long long)getpid() << 16);
	for (i = 0; i < n; i++) {
		seed = seed * 6364136223846793005LL + 1442695040888963407LL;
		buf[i] = (uint8_t)(seed >> 33);
	}
}

/* errno values a send/connect/recv may report that mean "the network said
 * no" (or is not there), as opposed to a local failure. */
static int
is_network_errno(int e)
{
	switch (e) {
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case ECONNREFUSED:
	case EADDRNOTAVAIL:
	case ETIMEDOUT:
	case ECONNRESET:
	case EPROTO:
	case EPERM: /* a local firewall rule rejected the packet */
	case EACCES:
	case EMSGSIZE:
		return 1;
	default:
		return 0;
	}
}

/* Explain why no ICMP socket could be opened, with the way out. */
static enum vmh_rc
icmp_denied(enum vmh_icmp_mode mode, int family, struct vmh_error *err)
{
	char range[64] = "?";
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "re");
	const char *fam = family == AF_INET6 ? "ICMPv6" : "ICMP";

	if (f != NULL) {
		if (fgets(range, sizeof(range), f) == NULL)
			vmh_strlcpy(range, "?", sizeof(range));
		fclose(f);
		vmh_rstrip(range);
		for (char *c = range; *c != '\0'; c++)
			if (*c == '\t')
				*c = ' ';
	}
	if (mode == VMH_ICMP_RAW)
		return vmh_error_set(err, VMH_E_CONFIG, NULL, 0,
				     "%s echo: raw sockets need CAP_NET_RAW "
				     "(run as root, or set icmp_socket = "
				     "\"auto\")",
				     fam);
	return vmh_error_set(
	    err, VMH_E_CONFIG, NULL, 0,
	    "%s echo not permitted: group %u is outside "
	    "net.ipv4.ping_group_range (\"%s\")%s; widen it (sysctl -w "
	    "net.ipv4.ping_group_range=\"0 2147483647\"), run as root, or "
	    "probe with tcp",
	    fam, (unsigned)getegid(), range,
	    mode == VMH_ICMP_AUTO ? " and raw sockets need CAP_NET_RAW" : "");
}

static enum vmh_rc
socket_failed(int e, const char *what, int family, struct vmh_error *err)
{
	if (e == EAFNOSUPPORT)
		return vmh_error_set(err, VMH_E_CONFIG, NULL, 0,
				     "%s socket: %s is not available on this "
				     "host",
				     what,
				     family == AF_INET6 ? "IPv6" : "IPv4");
	return vmh_error_errno(err, e, NULL, "%s socket", what);
}

static enum vmh_rc
bind_device(int fd, const char *ifname, struct vmh_error *err)
{
	if (ifname == NULL)
		return VMH_OK;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
		       (socklen_t)strlen(ifname) + 1) == 0)
		return VMH_OK;
	/* A missing interface is far more often a typo or a rename than a
	 * network failure: never let it count as "down". */
	if (errno == ENODEV)
		return vmh_error_set(err, VMH_E_CONFIG, ifname, 0,
				     "no such network interface");
	return vmh_error_errno(err, errno, ifname, "cannot bind to interface");
}

/* The target's address with the given port (ICMP sockets want 0). */
static void
target_sockaddr(const struct vmh_netcheck_target *t, int port,
		struct sockaddr_storage *ss)
{
	memcpy(ss, &t->addr, sizeof(*ss));
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void
probe_finish(struct probe *p, enum vmh_probe_status st, int rtt, int errnum)
{
	p->done = 1;
	p->res->status = st;
	p->res->rtt_ms = rtt;
	p->res->errnum = errnum;
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

/* A non-blocking ICMP socket of family: a ping socket when allowed (and
 * mode permits), else a raw one. *fd and *raw are set on success. */
static enum vmh_rc
icmp_socket(int family, enum vmh_icmp_mode mode, int *fd, int *raw,
	    struct vmh_error *err)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int type = SOCK_NONBLOCK | SOCK_CLOEXEC;

	*fd = -1;
	*raw = 0;
	if (mode != VMH_ICMP_RAW) {
		*fd = socket(family, SOCK_DGRAM | type, proto);
		if (*fd < 0 && errno != EACCES && errno != EPERM)
			return socket_failed(errno, "ICMP", family, err);
		if (*fd < 0 && mode == VMH_ICMP_PING)
			return icmp_denied(mode, family, err);
	}
	if (*fd < 0) {
		*fd = socket(family, SOCK_RAW | type, proto);
		if (*fd < 0 && (errno == EPERM || errno == EACCES))
			return icmp_denied(mode, family, err);
		if (*fd < 0)
			return socket_failed(errno, "ICMP", family, err);
		*raw = 1;
	}
	if (*raw && family == AF_INET) {
		/* Only echo replies reach us; everything else the host
		 * receives would otherwise wake us up for nothing. */
		uint32_t drop = ~(uint32_t)(1u << ICMP4_ECHO_REPLY);

		(void)setsockopt(*fd, SOL_RAW, ICMP_FILTER, &drop,
				 sizeof(drop));
	}
	return VMH_OK;
}

static enum vmh_rc
open_icmp(struct probe *p, enum vmh_icmp_mode mode, struct vmh_error *err)
{
	struct sockaddr_storage ss;
	enum vmh_rc rc;

	if ((rc = icmp_socket(p->family, mode, &p->fd, &p->raw, err)) != VMH_OK)
		return rc;
	p->res->raw = p->raw;
	if ((rc = bind_device(p->fd, p->t->ifname, err)) != VMH_OK)
		return rc;
	/* Connected: the kernel drops datagrams from other sources and
	 * reports ICMP errors for this destination on the socket. */
	target_sockaddr(p->t, 0, &ss);
	if (connect(p->fd, (struct sockaddr *)&ss, p->t->addrlen) < 0) {
		if (!is_network_errno(errno))
			return vmh_error_errno(err, errno, NULL,
					       "ICMP connect");
		probe_finish(p, VMH_PROBE_UNREACHABLE, -1, errno);
	}
	return VMH_OK;
}

enum vmh_rc
vmh_tcp_probe_start(const struct sockaddr_storage *addr, socklen_t addrlen,
		    int port, const char *ifname, int *fd,
		    enum vmh_probe_status *st, int *errnum,
		    struct vmh_error *err)
{
	struct linger lg = { 1, 0 };
	struct sockaddr_storage ss;
	enum vmh_rc rc;
	int s;

	*fd = -1;
	*st = VMH_PROBE_SKIPPED;
	*errnum = 0;
	s = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		   0);
	if (s < 0)
		return socket_failed(errno, "TCP", addr->ss_family, err);
	/* Close with a RST: no TIME_WAIT left behind every round, and the
	 * peer's service sees no half-open connection. */
	(void)setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if ((rc = bind_device(s, ifname, err)) != VMH_OK) {
		close(s);
		return rc;
	}
	memcpy(&ss, addr, sizeof(ss));
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	if (connect(s, (struct sockaddr *)&ss, addrlen) == 0) {
		*st = VMH_PROBE_OK;
	} else if (errno == EINPROGRESS) {
		*fd = s;
		return VMH_OK;
	} else if (errno == ECONNREFUSED) {
		*st = VMH_PROBE_REFUSED;
	} else if (is_network_errno(errno)) {
		*st = VMH_PROBE_UNREACHABLE;
		*errnum = errno;
	} else {
		rc = vmh_error_errno(err, errno, NULL, "TCP connect");
		close(s);
		return rc;
	}
	close(s);
	return VMH_OK;
}

enum vmh_probe_status
vmh_tcp_probe_end(int fd, int *errnum)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	enum vmh_probe_status st;

	*errnum = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == 0)
		st = VMH_PROBE_OK;
	else if (soerr == ECONNREFUSED)
		st = VMH_PROBE_REFUSED;
	else if (soerr == EINPROGRESS || soerr == EALREADY)
		st = VMH_PROBE_TIMEOUT;
	else {
		st = VMH_PROBE_UNREACHABLE;
		*errnum = soerr;
	}
	close(fd);
	return st;
}

enum vmh_rc
vmh_tcp_probe_socket(int family, int *fd, struct vmh_error *err)
{
	struct linger lg = { 1, 0 };

	*fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return socket_failed(errno, "TCP", family, err);
	/* Every disconnect and close is a RST: no TIME_WAIT, no half-open
	 * connection left on the peer. */
	(void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return VMH_OK;
}

enum vmh_rc
vmh_tcp_probe_connect(int fd, const struct sockaddr_storage *addr,
		      socklen_t addrlen, int port, int *pending,
		      enum vmh_probe_status *st, int *errnum,
		      struct vmh_error *err)
{
	struct sockaddr_storage ss;

	*pending = 0;
	*st = VMH_PROBE_SKIPPED;
	*errnum = 0;
	memcpy(&ss, addr, sizeof(ss));
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&ss, addrlen) == 0) {
		*st = VMH_PROBE_OK;
	} else if (errno == EINPROGRESS) {
		*pending = 1;
	} else if (errno == ECONNREFUSED) {
		*st = VMH_PROBE_REFUSED;
	} else if (is_network_errno(errno)) {
		*st = VMH_PROBE_UNREACHABLE;
		*errnum = errno;
	} else {
		return vmh_error_errno(err, errno, NULL, "TCP connect");
	}
	return VMH_OK;
}

enum vmh_probe_status
vmh_tcp_probe_check(int fd, int *errnum)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int soerr = 0;

	*errnum = 0;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
		if (ti.tcpi_state == TCP_SYN_SENT)
			return VMH_PROBE_TIMEOUT;
		/* Any state past the handshake: it was accepted (the peer
		 * may have closed since, which still proves it). */
		if (ti.tcpi_state != TCP_CLOSE)
			return VMH_PROBE_OK;
	}
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == ECONNREFUSED)
		return VMH_PROBE_REFUSED;
	*errnum = soerr != 0 ? soerr : ECONNABORTED;
	return VMH_PROBE_UNREACHABLE;
}

int
vmh_tcp_probe_reset(int fd)
{
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	return connect(fd, &sa, sizeof(sa)) == 0 ? 0 : -1;
}

static enum vmh_rc
open_tcp(struct probe *p, long long start, struct vmh_error *err)
{
	enum vmh_probe_status st;
	int errnum;
	enum vmh_rc rc;

	rc = vmh_tcp_probe_start(&p->t->addr, p->t->addrlen, p->t->tcp_port,
				 p->t->ifname, &p->fd, &st, &errnum, err);
	if (rc != VMH_OK || p->fd >= 0)
		return rc;
	if (st == VMH_PROBE_UNREACHABLE)
		probe_finish(p, st, -1, errnum);
	else
		probe_finish(p, st, (int)(vmh_now_ms() - start), 0);
	return VMH_OK;
}

/* An echo request: header, cookie, and 8 bytes of token (0 for rounds). */
static void
build_echo(uint8_t *pkt, int family, uint16_t ident, uint16_t seq,
	   const uint8_t *cookie, unsigned long long token)
{
	int i;

	memset(pkt, 0, ECHO_LEN);
	pkt[0] = family == AF_INET ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQ;
	put16(pkt + 4, ident); /* ping sockets: the kernel sets its own */
	put16(pkt + 6, seq);
	memcpy(pkt + ICMP_HDR_LEN, cookie, COOKIE_LEN);
	for (i = 0; i < 8; i++)
		pkt[ICMP_HDR_LEN + COOKIE_LEN + i] =
		    (uint8_t)(token >> (56 - 8 * i));
	if (family == AF_INET)
		put16(pkt + 2, inet_cksum(pkt, ECHO_LEN));
}

/* The ICMP message in a received datagram when it is an echo reply that
 * carries cookie (and ident, for raw sockets); NULL otherwise. */
static const uint8_t *
echo_reply(const uint8_t *buf, size_t n, int family, int raw, uint16_t ident,
	   const uint8_t *cookie)
{
	const uint8_t *icmp = buf;
	size_t off = 0;

	if (raw && family == AF_INET) {
		/* Raw IPv4 sockets see the IP header first. */
		if (n < 20 || (buf[0] >> 4) != 4)
			return NULL;
		off = (size_t)(buf[0] & 0x0f) * 4;
		if (off < 20 || off > n)
			return NULL;
		icmp = buf + off;
	}
	if (n - off < ECHO_LEN)
		return NULL;
	if (icmp[0] !=
		(family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REP) ||
	    icmp[1] != 0)
		return NULL;
	if (raw && get16(icmp + 4) != ident)
		return NULL;
	if (memcmp(icmp + ICMP_HDR_LEN, cookie, COOKIE_LEN) != 0)
		return NULL;
	return icmp;
}

/* Send echo request number k of this round. Errors are not fatal: a lost
 * request is what a probe is there to find out. */
static void
send_echo(struct probe *p, int k, const uint8_t *cookie)
{
	uint8_t pkt[ECHO_LEN];

	build_echo(pkt, p->family, p->ident, (uint16_t)(p->seq0 + k), cookie,
		   0);
	p->sent_at[k] = vmh_now_ms();
	p->sent++;
	if (send(p->fd, pkt, sizeof(pkt), MSG_DONTWAIT) < 0 &&
	    is_network_errno(errno))
		p->unreach = errno;
}

int
vmh_netcheck_same_addr(const struct sockaddr_storage *a,
		       const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr,
			      sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

/* Index of the request this datagram answers, or -1 if it is not ours. */
static int
match_reply(const struct probe *p, const uint8_t *buf, size_t n,
	    const uint8_t *cookie)
{
	const uint8_t *icmp;
	uint16_t k;

	icmp = echo_reply(buf, n, p->family, p->raw, p->ident, cookie);
	if (icmp == NULL)
		return -1;
	k = (uint16_t)(get16(icmp + 6) - p->seq0);
	if (k >= (uint16_t)p->sent)
		return -1;
	return (int)k;
}

static void
read_replies(struct probe *p, const uint8_t *cookie)
{
	uint8_t buf[RECV_MAX];
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t n;
	int i, k;

	for (i = 0; i < RECV_BURST && !p->done; i++) {
		fromlen = sizeof(from);
		n = recvfrom(p->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				p->unreach = errno;
			return;
		}
		if (!vmh_netcheck_same_addr(&from, &p->t->addr))
			continue;
		k = match_reply(p, buf, (size_t)n, cookie);
		if (k >= 0)
			probe_finish(p, VMH_PROBE_OK,
				     (int)(vmh_now_ms() - p->sent_at[k]), 0);
	}
}

static void
tcp_ready(struct probe *p, long long start)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	int rtt = (int)(vmh_now_ms() - start);

	/* Peek first: a socket still connecting stays open for the next
	 * wake-up, which vmh_tcp_probe_end() would not allow. */
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == 0)
		probe_finish(p, VMH_PROBE_OK, rtt, 0);
	else if (soerr == ECONNREFUSED)
		probe_finish(p, VMH_PROBE_REFUSED, rtt, 0);
	else if (soerr != EINPROGRESS && soerr != EALREADY)
		probe_finish(p, VMH_PROBE_UNREACHABLE, -1, soerr);
}

/* Fill probes[] from the targets; returns how many. */
static size_t
plan_probes(struct vmh_netcheck_target *t, size_t n, struct probe *probes,
	    const uint8_t *rnd)
{
	size_t i, np = 0;
	uint16_t ident = get16(rnd), seq0 = get16(rnd + 2);

	for (i = 0; i < n; i++) {
		memset(&t[i].icmp_res, 0, sizeof(t[i].icmp_res));
		memset(&t[i].tcp_res, 0, sizeof(t[i].tcp_res));
		t[i].icmp_res.rtt_ms = t[i].tcp_res.rtt_ms = -1;
		if (t[i].icmp) {
			probes[np].t = &t[i];
			probes[np].res = &t[i].icmp_res;
			probes[np].kind = PROBE_ICMP;
			probes[np].family = t[i].addr.ss_family;
			/* Distinct identifiers keep two raw probes of the
			 * same address apart. */
			probes[np].ident = (uint16_t)(ident + np);
			probes[np].seq0 = seq0;
			probes[np].fd = -1;
			np++;
		}
		if (t[i].tcp_port > 0) {
			probes[np].t = &t[i];
			probes[np].res = &t[i].tcp_res;
			probes[np].kind = PROBE_TCP;
			probes[np].family = t[i].addr.ss_family;
			probes[np].fd = -1;
			np++;
		}
	}
	return np;
}

static enum vmh_rc
check_args(const struct vmh_netcheck_target *t, size_t n,
	   const struct vmh_netcheck_opts *o, struct vmh_error *err)
{
	size_t i, np = 0;

	if (o == NULL || o->timeout_ms <= 0 || o->icmp_count < 1 ||
	    o->icmp_count > VMH_NETCHECK_MAX_ICMP)
		return vmh_error_set(err, VMH_E_USAGE, "netcheck", 0,
				     "bad probe options");
	for (i = 0; i < n; i++) {
		if (t[i].addr.ss_family != AF_INET &&
		    t[i].addr.ss_family != AF_INET6)
			return vmh_error_set(err, VMH_E_USAGE, "netcheck", 0,
					     "target %zu has no address", i);
		if (t[i].tcp_port < 0 || t[i].tcp_port > 65535)
			return vmh_error_set(err, VMH_E_USAGE, "netcheck", 0,
					     "target %zu: bad port", i);
		np += (t[i].icmp != 0) + (t[i].tcp_port > 0);
	}
	if (np > VMH_NETCHECK_MAX_PROBES)
		return vmh_error_set(err, VMH_E_USAGE, "netcheck", 0,
				     "more than %d probes in one round",
				     VMH_NETCHECK_MAX_PROBES);
	return VMH_OK;
}

enum vmh_rc
vmh_netcheck_run(struct vmh_netcheck_target *targets, size_t n,
		 const struct vmh_netcheck_opts *o, struct vmh_error *err)
{
	struct probe *probes = NULL;
	struct pollfd *pfd = NULL;
	size_t *map = NULL, np, i, nfd;
	uint8_t rnd[COOKIE_LEN + 4];
	const uint8_t *cookie = rnd + 4;
	long long setup, start, deadline, now, next, spacing;
	int last;
	enum vmh_rc rc = VMH_OK;

	if ((rc = check_args(targets, n, o, err)) != VMH_OK)
		return rc;
	if (n == 0)
		return VMH_OK;
	probes = calloc(2 * n, sizeof(*probes));
	pfd = calloc(2 * n, sizeof(*pfd));
	map = calloc(2 * n, sizeof(*map));
	if (probes == NULL || pfd == NULL || map == NULL) {
		rc = vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
		goto done;
	}
	random_bytes(rnd, sizeof(rnd));
	np = plan_probes(targets, n, probes, rnd);

	setup = vmh_now_ms();
	for (i = 0; i < np; i++) {
		rc = probes[i].kind == PROBE_ICMP
			 ? open_icmp(&probes[i], o->icmp_mode, err)
			 : open_tcp(&probes[i], setup, err);
		if (rc != VMH_OK)
			goto done;
	}
	/* The round's clock starts when the probes go out, not before the
	 * sockets were opened. */
	start = vmh_now_ms();
	deadline = start + o->timeout_ms;
	spacing = o->timeout_ms / o->icmp_count;

	for (;;) {
		now = vmh_now_ms();
		last = now >= deadline;
		next = deadline;
		nfd = 0;
		for (i = 0; i < np; i++) {
			struct probe *p = &probes[i];

			if (p->done)
				continue;
			if (p->kind == PROBE_ICMP) {
				/* The first request always goes out, even
				 * when we were scheduled too late for it. */
				while (p->sent < o->icmp_count &&
				       now >= start + p->sent * spacing &&
				       (!last || p->sent == 0))
					send_echo(p, p->sent, cookie);
				if (p->sent < o->icmp_count &&
				    start + p->sent * spacing < next)
					next = start + p->sent * spacing;
			}
			pfd[nfd].fd = p->fd;
			pfd[nfd].events =
			    p->kind == PROBE_ICMP ? POLLIN : POLLOUT;
			pfd[nfd].revents = 0;
			map[nfd++] = i;
		}
		if (nfd == 0)
			break;
		/* At the deadline, one last look without waiting: answers
		 * already queued count even when a loaded host did not
		 * schedule us in time to see them arrive. */
		if (poll(pfd, (nfds_t)nfd, last ? 0 : (int)(next - now)) < 0) {
			if (errno == EINTR)
				continue;
			rc = vmh_error_errno(err, errno, NULL, "poll");
			goto done;
		}
		for (i = 0; i < nfd; i++) {
			struct probe *p = &probes[map[i]];

			if (pfd[i].revents == 0)
				continue;
			if (p->kind == PROBE_ICMP)
				read_replies(p, cookie);
			else
				tcp_ready(p, setup);
		}
		if (last)
			break;
	}
	for (i = 0; i < np; i++) {
		struct probe *p = &probes[i];

		if (p->done)
			continue;
		if (p->kind == PROBE_ICMP && p->unreach != 0)
			probe_finish(p, VMH_PROBE_UNREACHABLE, -1, p->unreach);
		else
			probe_finish(p, VMH_PROBE_TIMEOUT, -1, 0);
	}
done:
	if (probes != NULL)
		for (i = 0; i < 2 * n; i++)
			if (probes[i].fd >= 0 && probes[i].t != NULL)
				close(probes[i].fd);
	free(probes);
	free(pfd);
	free(map);
	return rc;
}

/* ---- Persistent ICMP: one shared socket per address family */

#define PINGER_RCVBUF (1024 * 1024)

struct vmh_pinger {
	int fd;
	int family;
	int raw;
	uint16_t ident; /* raw sockets: ours; ping sockets: the kernel's */
	uint16_t seq;
	uint8_t cookie[COOKIE_LEN];
};

enum vmh_rc
vmh_pinger_open(int family, enum vmh_icmp_mode mode, struct vmh_pinger **out,
		struct vmh_error *err)
{
	struct vmh_pinger *p;
	uint8_t rnd[4];
	int rcvbuf = PINGER_RCVBUF;
	enum vmh_rc rc;

	*out = NULL;
	if (family != AF_INET && family != AF_INET6)
		return vmh_error_set(err, VMH_E_USAGE, "netcheck", 0,
				     "bad address family");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	p->family = family;
	if ((rc = icmp_socket(family, mode, &p->fd, &p->raw, err)) != VMH_OK) {
		free(p);
		return rc;
	}
	/* Replies to a burst of requests arrive before we read any: room
	 * for thousands of them (capped by net.core.rmem_max). */
	(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	random_bytes(p->cookie, sizeof(p->cookie));
	random_bytes(rnd, sizeof(rnd));
	p->ident = get16(rnd);
	p->seq = get16(rnd + 2);
	*out = p;
	return VMH_OK;
}

void
vmh_pinger_close(struct vmh_pinger *p)
{
	if (p == NULL)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

int
vmh_pinger_fd(const struct vmh_pinger *p)
{
	return p->fd;
}

int
vmh_pinger_is_raw(const struct vmh_pinger *p)
{
	return p->raw;
}

int
vmh_pinger_send(struct vmh_pinger *p, const struct sockaddr_storage *addr,
		socklen_t addrlen, unsigned long long token)
{
	uint8_t pkt[ECHO_LEN];
	struct sockaddr_storage ss;

	if (addr->ss_family != p->family)
		return EAFNOSUPPORT;
	memcpy(&ss, addr, sizeof(ss));
	/* ICMP sockets take the "port" as the protocol number on IPv6 raw
	 * sockets and ignore it elsewhere: zero it. */
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	build_echo(pkt, p->family, p->ident, p->seq++, p->cookie, token);
	if (sendto(p->fd, pkt, sizeof(pkt), MSG_DONTWAIT,
		   (struct sockaddr *)&ss, addrlen) < 0)
		return errno;
	return 0;
}

int
vmh_pinger_read(struct vmh_pinger *p, int max, vmh_pinger_cb cb, void *ctx)
{
	uint8_t buf[RECV_MAX];
	struct sockaddr_storage from;
	socklen_t fromlen;
	const uint8_t *icmp;
	unsigned long long token;
	ssize_t n;
	int i, k;

	for (i = 0; i < max; i++) {
		fromlen = sizeof(from);
		memset(&from, 0, sizeof(from));
		n = recvfrom(p->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN, or an ICMP error queued on the socket:
			 * nothing to hand back either way. */
			break;
		}
		icmp = echo_reply(buf, (size_t)n, p->family, p->raw, p->ident,
				  p->cookie);
		if (icmp == NULL || from.ss_family != p->family)
			continue;
		token = 0;
		for (k = 0; k < 8; k++)
			token =
			    (token << 8) | icmp[ICMP_HDR_LEN + COOKIE_LEN + k];
		cb(ctx, token, &from);
	}
	return i;
}
