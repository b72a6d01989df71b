/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A loopback responder for vm_probe's tests and benchmark: listens on many
 * (address, port) pairs, accepts TCP connections, answers HTTP requests on
 * them (keep-alive), and can be told per listener to misbehave:
 *
 *   ok           accept and answer (200 "ok")
 *   hang         stop answering: new connections are never accepted (the
 *                listen queue is full, so SYNs go unanswered) and requests
 *                on open connections get no reply
 *   refuse       close the listener: connections are refused
 *   slow MS      answer HTTP requests MS milliseconds late
 *   status CODE  answer with that HTTP status
 *   body TEXT    answer with that body
 *
 * Control: one line per command on a TCP connection to 127.0.0.1:PORT
 * (PORT written to the --control-file), answered with one line:
 *   set ADDR:PORT[-PORT2] MODE [ARG]     (ADDR "*" = every listener)
 *   stats                                "accepts N requests M"
 *   quit
 * Usage: responder --control-file FILE --listen ADDR:PORT[-PORT2]...
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 20000
#define MAX_FDS       65536
#define REQ_MAX       4096
#define BODY_MAX      256
#define TAG_LISTEN    (1ULL << 40)
#define TAG_CONTROL   (1ULL << 41)

enum mode { M_OK, M_HANG, M_REFUSE };

struct listener {
	struct sockaddr_in sa;
	int fd;       /* listening socket, -1 when refused */
	int hang_fd;  /* hang: the never-accepted socket */
	int dummy[2]; /* hang: connections that fill its queue */
	enum mode mode;
	int status;
	int delay_ms;
	char body[BODY_MAX];
};

struct conn {
	int used;
	int li;      /* listener, -1 for control connections */
	int control; /* a control connection */
	size_t len;
	char buf[REQ_MAX];
	long long reply_at; /* ms, 0: nothing pending */
	int reply_status;
};

static struct listener *ls;
static size_t n_ls;
static struct conn *conns; /* indexed by fd */
static int ep;
static unsigned long long n_accepts, n_requests;
static int pend[MAX_FDS]; /* connections with a delayed reply */
static size_t n_pend;
static int stop;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
die(const char *what)
{
	fprintf(stderr, "responder: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
watch(int fd, uint64_t data)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = data;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

static void
conn_close(int fd)
{
	struct linger lg = { 1, 0 };

	/* A RST: no TIME_WAIT on the responder's side either. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conns[fd].used = 0;
	close(fd);
}

static int
listen_on(const struct sockaddr_in *sa, int backlog)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		fprintf(stderr, "responder: bind %s:%d: %s\n",
			inet_ntoa(sa->sin_addr), ntohs(sa->sin_port),
			strerror(errno));
		exit(1);
	}
	if (listen(fd, backlog) < 0)
		die("listen");
	return fd;
}

static void
listener_open(size_t i)
{
	struct listener *l = &ls[i];

	l->fd = listen_on(&l->sa, 4096);
	fcntl(l->fd, F_SETFL, O_NONBLOCK);
	watch(l->fd, TAG_LISTEN | i);
}

/* Undo hang/refuse. */
static void
listener_normal(size_t i)
{
	struct listener *l = &ls[i];
	int k;

	for (k = 0; k < 2; k++)
		if (l->dummy[k] >= 0) {
			close(l->dummy[k]);
			l->dummy[k] = -1;
		}
	if (l->hang_fd >= 0) {
		close(l->hang_fd);
		l->hang_fd = -1;
	}
	if (l->fd < 0)
		listener_open(i);
}

static void
close_conns_of(size_t i)
{
	int fd;

	for (fd = 0; fd < MAX_FDS; fd++)
		if (conns[fd].used && !conns[fd].control &&
		    conns[fd].li == (int)i)
			conn_close(fd);
}

static void
set_mode(size_t i, const char *mode, const char *arg)
{
	struct listener *l = &ls[i];
	int k;

	if (strcmp(mode, "ok") == 0) {
		listener_normal(i);
		l->mode = M_OK;
		l->status = 200;
		l->delay_ms = 0;
		snprintf(l->body, sizeof(l->body), "ok\n");
	} else if (strcmp(mode, "slow") == 0) {
		listener_normal(i);
		l->mode = M_OK;
		l->delay_ms = atoi(arg);
	} else if (strcmp(mode, "status") == 0) {
		listener_normal(i);
		l->mode = M_OK;
		l->status = atoi(arg);
	} else if (strcmp(mode, "body") == 0) {
		listener_normal(i);
		l->mode = M_OK;
		snprintf(l->body, sizeof(l->body), "%s\n", arg);
	} else if (strcmp(mode, "refuse") == 0) {
		listener_normal(i);
		close(l->fd); /* leaves epoll with it */
		l->fd = -1;
		close_conns_of(i);
		l->mode = M_REFUSE;
	} else if (strcmp(mode, "hang") == 0 && l->mode != M_HANG) {
		listener_normal(i);
		close(l->fd);
		l->fd = -1;
		/* A listener nobody accepts from, its queue filled by our
		 * own connections: the kernel drops further SYNs. */
		l->hang_fd = listen_on(&l->sa, 0);
		for (k = 0; k < 2; k++) {
			l->dummy[k] =
			    socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (l->dummy[k] >= 0)
				(void)connect(l->dummy[k],
					      (struct sockaddr *)&l->sa,
					      sizeof(l->sa));
		}
		l->mode = M_HANG;
	}
}

static int
parse_ap(const char *s, struct in_addr *a, int *any, int *p1, int *p2)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	*any = strcmp(host, "*") == 0;
	if (!*any && inet_pton(AF_INET, host, a) != 1)
		return -1;
	if (sscanf(colon + 1, "%d-%d", p1, p2) == 2)
		return 0;
	if (sscanf(colon + 1, "%d", p1) == 1) {
		*p2 = *p1;
		return 0;
	}
	return -1;
}

static void
control_line(int fd, char *line)
{
	char cmd[16] = "", ap[96] = "", mode[16] = "", arg[BODY_MAX] = "";
	char reply[128];
	struct in_addr a;
	int any, p1, p2, n = 0;
	size_t i;

	sscanf(line, "%15s %95s %15s %255[^\n]", cmd, ap, mode, arg);
	if (strcmp(cmd, "stats") == 0) {
		snprintf(reply, sizeof(reply), "accepts %llu requests %llu\n",
			 n_accepts, n_requests);
	} else if (strcmp(cmd, "quit") == 0) {
		stop = 1;
		snprintf(reply, sizeof(reply), "bye\n");
	} else if (strcmp(cmd, "set") == 0 &&
		   parse_ap(ap, &a, &any, &p1, &p2) == 0) {
		for (i = 0; i < n_ls; i++) {
			int port = ntohs(ls[i].sa.sin_port);

			if ((any || ls[i].sa.sin_addr.s_addr == a.s_addr) &&
			    port >= p1 && port <= p2) {
				set_mode(i, mode, arg);
				n++;
			}
		}
		snprintf(reply, sizeof(reply), "ok %d\n", n);
	} else {
		snprintf(reply, sizeof(reply), "error\n");
	}
	(void)!write(fd, reply, strlen(reply));
}

static void
http_reply(int fd)
{
	struct conn *c = &conns[fd];
	struct listener *l = &ls[c->li];
	char out[BODY_MAX + 256];
	int n;

	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     c->reply_status, strlen(l->body), l->body);
	c->reply_at = 0;
	if (write(fd, out, (size_t)n) != n)
		conn_close(fd);
}

static void
conn_read(int fd)
{
	struct conn *c = &conns[fd];
	ssize_t n;
	char *end, *nl;

	n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(fd);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (c->control) {
		while ((nl = strchr(c->buf, '\n')) != NULL) {
			*nl = '\0';
			control_line(fd, c->buf);
			c->len -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->len + 1);
		}
		return;
	}
	/* One request at a time (curl does not pipeline). */
	while ((end = strstr(c->buf, "\r\n\r\n")) != NULL) {
		struct listener *l = &ls[c->li];

		n_requests++;
		c->len -= (size_t)(end + 4 - c->buf);
		memmove(c->buf, end + 4, c->len + 1);
		if (l->mode == M_HANG)
			continue; /* never answered */
		c->reply_status = l->status;
		if (l->delay_ms > 0) {
			c->reply_at = now_ms() + l->delay_ms;
			if (n_pend < MAX_FDS)
				pend[n_pend++] = fd;
			return;
		}
		http_reply(fd);
		if (!conns[fd].used)
			return;
	}
	if (c->len >= sizeof(c->buf) - 1)
		conn_close(fd);
}

static void
accept_on(size_t i, int control)
{
	int fd;

	for (;;) {
		fd = accept4(control ? (int)i : ls[i].fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (fd >= MAX_FDS) {
			close(fd);
			continue;
		}
		memset(&conns[fd], 0, sizeof(conns[fd]));
		conns[fd].used = 1;
		conns[fd].control = control;
		conns[fd].li = control ? -1 : (int)i;
		if (!control)
			n_accepts++;
		watch(fd, (uint64_t)fd);
	}
}

static void
add_listen_arg(const char *s)
{
	struct in_addr a;
	int any, p1, p2, p;

	if (parse_ap(s, &a, &any, &p1, &p2) < 0 || any || p1 < 1 ||
	    p2 > 65535 || p2 < p1) {
		fprintf(stderr, "responder: bad --listen %s\n", s);
		exit(2);
	}
	for (p = p1; p <= p2; p++) {
		struct listener *l;

		if (n_ls >= MAX_LISTENERS) {
			fprintf(stderr, "responder: too many listeners\n");
			exit(2);
		}
		l = &ls[n_ls++];
		memset(l, 0, sizeof(*l));
		l->sa.sin_family = AF_INET;
		l->sa.sin_addr = a;
		l->sa.sin_port = htons((uint16_t)p);
		l->hang_fd = l->dummy[0] = l->dummy[1] = -1;
		l->status = 200;
		snprintf(l->body, sizeof(l->body), "ok\n");
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[512];
	struct sockaddr_in sa;
	struct rlimit rl;
	socklen_t len = sizeof(sa);
	const char *control_file = NULL;
	long long now, next;
	int i, n, cfd, fd, wait;
	size_t k;
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ls = calloc(MAX_LISTENERS, sizeof(*ls));
	conns = calloc(MAX_FDS, sizeof(*conns));
	if (ls == NULL || conns == NULL)
		die("calloc");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			add_listen_arg(argv[++i]);
		else if (strcmp(argv[i], "--control-file") == 0 && i + 1 < argc)
			control_file = argv[++i];
		else {
			fprintf(stderr, "usage: responder --control-file FILE "
					"--listen ADDR:PORT[-PORT2]...\n");
			return 2;
		}
	}
	if (control_file == NULL)
		return 2;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	for (i = 0; i < (int)n_ls; i++)
		listener_open((size_t)i);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = listen_on(&sa, 16);
	fcntl(cfd, F_SETFL, O_NONBLOCK);
	watch(cfd, TAG_CONTROL | (uint64_t)cfd);
	if (getsockname(cfd, (struct sockaddr *)&sa, &len) < 0)
		die("getsockname");
	if ((f = fopen(control_file, "w")) == NULL)
		die(control_file);
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	while (!stop) {
		now = now_ms();
		next = now + 1000;
		for (k = 0; k < n_pend;) {
			fd = pend[k];
			if (conns[fd].used && conns[fd].reply_at > now) {
				if (conns[fd].reply_at < next)
					next = conns[fd].reply_at;
				k++;
				continue;
			}
			if (conns[fd].used && conns[fd].reply_at > 0)
				http_reply(fd);
			pend[k] = pend[--n_pend];
		}
		wait = (int)(next - now);
		n = epoll_wait(ep, evs, 512, wait < 0 ? 0 : wait);
		for (i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;

			if (d & TAG_LISTEN)
				accept_on((size_t)(d & 0xffffffff), 0);
			else if (d & TAG_CONTROL)
				accept_on((size_t)(d & 0xffffffff), 1);
			else if (conns[d].used)
				conn_read((int)d);
		}
	}
	return 0;
}
