// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * acceptq-lab: stages accept-queue overflows in the network namespace it
 * runs in (run it under `unshare -n`, which scripts/lab does). All traffic
 * stays on this namespace's loopback. After staging it prints one JSON
 * line describing its listeners, then holds them open (so a watcher can
 * read their queues) until --hold seconds pass, stdin closes or a signal.
 *
 * Scenarios:
 *   syn         SYN path: listen(2), never accept, 20 connects
 *   ack         final-ACK path, deterministic: raw SYNs, then fill, then ACKs
 *   ack-cookie  the same with net.ipv4.tcp_syncookies=2 (cookie ACK path)
 *   v6          SYN path on [::1]
 *   reuseport   SO_REUSEPORT group of 3 sockets, none accepting
 *   twoaddr     one port on 127.0.0.1 (overflowing) and 127.0.0.3 (not)
 *   dualstack   an IPv6 socket on [::] taking IPv4 connections
 *   idle        a listener that keeps up: zero overflows
 *   many N      N idle listeners (127.0.0.1, ports from 20000), for scale tests
 *   churn N S   N listeners opened and closed over S seconds (ports from 20000)
 *   flood S     connects as fast as one thread can for S seconds at a listener
 *               that never accepts (127.0.0.1:9700, backlog 4)
 *
 * Servers that accept while they overflow (each bounded to about 3 s of
 * traffic; clients close with RST so nothing lingers after the report):
 *   pace [MS]       127.0.0.1:9800, backlog 8, accepts one connection every MS
 *                   ms (default 5) while two client threads connect faster
 *   reuseport-mixed SO_REUSEPORT group of 3 on 127.0.0.1:9810 (backlog 8 each):
 *                   one accepts every 5 ms, two never accept
 *   nobind          listen(fd, 2) without bind(): the kernel picks the port
 *                   (0.0.0.0:PORT, in the report); 20 connects, never accepts
 *   two             127.0.0.1:9820 (accepts every 5 ms) and :9830 (every 11 ms),
 *                   both overflowing at once under concurrent clients
 *   cookie-flood    tcp_syncookies=1, tcp_max_syn_backlog=16, 127.0.0.1:9840
 *                   (backlog 8, accepts every 5 ms) hit by raw SYNs from
 *                   127.0.0.2 (SYN cookies are sent) and real connects
 *   nocookie-flood  the same with tcp_syncookies=0 on 127.0.0.1:9845: the full
 *                   SYN queue drops SYNs (TCPReqQFullDrop)
 * Their report adds per listener "accepted" (connections the lab accepted)
 * and "skDrops" (the socket's sk_drops, SO_MEMINFO: every listen drop of the
 * socket and more, so an upper bound of its overflows), and at the top level
 * "connects" (client connects made) and "rawSyns" (raw SYNs sent).
 *
 * Why it overflows (accept-queue waits, backlogs, floods); no overflow is
 * staged unless said. Their report adds at the top level what a test needs
 * to know, e.g. "startMs"/"endMs" (CLOCK_REALTIME ms of the first and last
 * connect), "pacePerSec", and the lab's own view of the waits:
 *   delay MS            127.0.0.1:9850, backlog 1024: 160 connects at 40/s; each
 *                       connection is accepted MS ms (at most 1000) after its
 *                       connect completed ("delayMs", "labWaitP50Ms", ...)
 *   somaxconn           net.core.somaxconn=128 here, listen(127.0.0.1:9860, 4096):
 *                       12 bursts of 200 connects, 250 ms apart, overflow the 128
 *                       though the server takes each burst within 20 ms
 *                       ("somaxconn", "requestedBacklog", "bursts", "burst")
 *   keepup              127.0.0.1:9870, backlog 128, accepted as they come: 300
 *                       connects at 100/s
 *   synflood-accepting  tcp_syncookies=1, tcp_max_syn_backlog=16; 127.0.0.1:9880
 *                       (backlog 32, accepts as they come) hit by raw SYNs from
 *                       127.0.0.2 for 3 s (SYN cookies are sent) and 60 real
 *                       connects at 20/s ("cookies": the namespace's SyncookiesSent)
 *   abandon             127.0.0.1:9890, backlog 64: 10 connects accepted after
 *                       100 ms; then 10 reset (SO_LINGER 0) and 10 closed (FIN)
 *                       by their client, and 10 left open, none accepted; after
 *                       1.5 s the listener closes with all 30 still queued
 *                       ("queuedAtClose": its accept queue then)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 8
#define MAX_MANY 60000
#define MAX_CLIENTS 256

struct listener {
	int fd, family, port, backlog;
	const char *addr;
	bool expect_overflow;
	/* servers that accept at a pace: the pace and what was accepted */
	int pace_ms;
	bool serve; /* accept as connections come (no pace) */
	volatile long accepted;
};

static struct listener ls[MAX_LISTENERS];
static int nls;
static int clients[MAX_CLIENTS];
static int nclients;
static volatile sig_atomic_t stop;
/* what the report says was sent: every scenario's client connects and raw SYNs */
static volatile long total_connects, total_raw_syns;

#define PROG "acceptq-lab"
#include "netlab.h"

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
		;
}

static int make_addr(int family, const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *s = (void *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (void *)ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &s->sin6_addr);
	return sizeof(*s);
}

static int add_listener(int family, const char *addr, int port, int backlog, bool reuseport,
			bool expect_overflow)
{
	struct sockaddr_storage ss;
	int len = make_addr(family, addr, port, &ss), one = 1;
	int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (void *)&ss, len) < 0)
		die("bind");
	if (listen(fd, backlog) < 0)
		die("listen");
	ls[nls++] = (struct listener){ .fd = fd, .family = family, .port = port, .backlog = backlog,
				       .addr = addr, .expect_overflow = expect_overflow };
	return fd;
}

/* n non-blocking connects; they retry their SYNs while the queue is full */
static void connect_many(int family, const char *addr, int port, int n)
{
	struct sockaddr_storage ss;
	int len = make_addr(family, addr, port, &ss);

	for (int i = 0; i < n && nclients < MAX_CLIENTS; i++) {
		int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (void *)&ss, len) < 0 && errno != EINPROGRESS)
			die("connect");
		clients[nclients++] = fd;
		total_connects++;
	}
}

static void close_clients(void)
{
	for (int i = 0; i < nclients; i++)
		close(clients[i]);
	nclients = 0;
}

/* Accept-queue depth and limit of a listener (TCP_INFO reports them for LISTEN). */
static void queue_of(int fd, unsigned *depth, unsigned *limit)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
	*depth = ti.tcpi_unacked;
	*limit = ti.tcpi_sacked;
}

/* Wait (up to 10 s: a loaded machine is slow) until the accept queue is full. */
static void await_full(int fd)
{
	unsigned depth, limit;

	for (int i = 0; i < 1000; i++) {
		queue_of(fd, &depth, &limit);
		if (depth > limit)
			return;
		msleep(10);
	}
	fprintf(stderr, "acceptq-lab: the accept queue did not fill (%u/%u)\n", depth, limit);
	exit(1);
}

/* ---- raw TCP for the deterministic final-ACK scenario ---- */

static void send_raw(int raw, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		     uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct tcp_packet pkt;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = dst };

	tcp_packet_build(&pkt, src, dst, sport, dport, seq, ack, flags & TH_SYN, flags & TH_ACK);
	pkt.ip.check = csum(&pkt.ip, sizeof(pkt.ip), 0);
	if (sendto(raw, &pkt, sizeof(pkt), 0, (void *)&to, sizeof(to)) < 0)
		die("sendto raw");
	if ((flags & (TH_SYN | TH_ACK)) == TH_SYN)
		__atomic_add_fetch(&total_raw_syns, 1, __ATOMIC_RELAXED);
}

/* Wait for the SYN-ACK to 127.0.0.2:sport; returns the server's ISN. */
static uint32_t await_synack(int raw, uint16_t sport, uint16_t lport)
{
	unsigned char buf[2048];

	for (int tries = 0; tries < 200; tries++) {
		struct pollfd p = { raw, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(raw, buf, sizeof(buf), 0);
		if (n < (ssize_t)(sizeof(struct iphdr) + sizeof(struct tcphdr)))
			continue;
		struct iphdr *ip = (void *)buf;
		struct tcphdr *t = (void *)(buf + ip->ihl * 4);
		if (ntohs(t->source) == lport && ntohs(t->dest) == sport && t->syn && t->ack)
			return ntohl(t->seq);
	}
	fprintf(stderr, "acceptq-lab: no SYN-ACK for port %u\n", sport);
	exit(1);
}

/*
 * The namespace's own stack would answer SYN-ACKs sent to 127.0.0.2 (where
 * our raw SYNs come from) with RSTs, which end the request sockets: drop
 * those RSTs, and nothing else. The system's nft, by PATH: npm puts an
 * unrelated "nft" ahead of it.
 */
static void drop_rst_from_127_0_0_2(void)
{
	if (system("PATH=/usr/sbin:/usr/bin:/sbin:/bin nft -f - <<'EOF'\n"
		   "table ip acceptq_lab {\n"
		   "  chain out { type filter hook output priority 0; policy accept;\n"
		   "    ip saddr 127.0.0.2 tcp flags & rst == rst drop\n"
		   "  }\n"
		   "}\n"
		   "EOF\n") != 0) {
		fprintf(stderr, "acceptq-lab: nft failed (is nftables installed?)\n");
		exit(1);
	}
}

static void scenario_ack(bool cookies)
{
	const int port = cookies ? 9150 : 9100, backlog = 8, raw_conns = 5;
	uint32_t src = inet_addr("127.0.0.2"), dst = inet_addr("127.0.0.1");
	uint32_t isn[raw_conns];

	if (cookies)
		sysctl_write("/proc/sys/net/ipv4/tcp_syncookies", "2");
	drop_rst_from_127_0_0_2();
	add_listener(4, "127.0.0.1", port, backlog, false, true);
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_TCP), one = 1;
	if (raw < 0)
		die("raw socket");
	setsockopt(raw, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));

	/* 1: handshakes begin while the queue is empty */
	for (int i = 0; i < raw_conns; i++) {
		send_raw(raw, src, dst, 40000 + i, port, 1000 * (i + 1), 0, TH_SYN);
		isn[i] = await_synack(raw, 40000 + i, port);
	}
	/* 2: fill the accept queue with ordinary connections (backlog + 1) */
	connect_many(4, "127.0.0.1", port, backlog + 1);
	await_full(ls[0].fd);
	/* 3: the final ACKs now find the queue full */
	for (int i = 0; i < raw_conns; i++)
		send_raw(raw, src, dst, 40000 + i, port, 1000 * (i + 1) + 1, isn[i] + 1, TH_ACK);
	for (int i = 0; i < 500 && netstat_value("ListenOverflows") < raw_conns; i++)
		msleep(10);
	close(raw);
}

static void *accept_loop(void *arg)
{
	int fd = *(int *)arg;

	while (!stop) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) > 0) {
			int c = accept(fd, NULL, NULL);
			if (c >= 0)
				close(c);
		}
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void raise_nofile(void)
{
	struct rlimit r = { MAX_MANY + 1024, MAX_MANY + 1024 };

	setrlimit(RLIMIT_NOFILE, &r);
}

/* One plain listener socket on 127.0.0.1:port (not recorded in ls[]). */
static int quick_listener(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		die("socket (raise the open-files limit?)");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
		die("bind/listen");
	return fd;
}

static int *many_fds;
static int many_n;

static void scenario_many(int n)
{
	raise_nofile();
	many_fds = calloc(n, sizeof(int));
	for (many_n = 0; many_n < n; many_n++)
		many_fds[many_n] = quick_listener(20000 + many_n);
}

/* Open and close n listeners spread over secs seconds, in batches of 100. */
static void scenario_churn(int n, int secs)
{
	int batch[100];
	int batches = (n + 99) / 100;
	long pause_ms = batches ? (long)secs * 1000 / batches : 0;

	raise_nofile();
	for (int b = 0; b < batches && !stop; b++) {
		int k = 0;
		for (; k < 100 && b * 100 + k < n; k++)
			batch[k] = quick_listener(20000 + (b * 100 + k) % 40000);
		for (int i = 0; i < k; i++)
			close(batch[i]);
		msleep((int)pause_ms);
	}
}

/* Non-blocking connects in a loop, closed in batches, for secs seconds. */
static void scenario_flood(int secs)
{
	struct sockaddr_storage ss;
	int len = make_addr(4, "127.0.0.1", 9700, &ss);
	int batch[256], k = 0;
	struct timespec t0, t;

	add_listener(4, "127.0.0.1", 9700, 4, false, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (stop || t.tv_sec - t0.tv_sec >= secs)
			break;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (void *)&ss, len) < 0 && errno != EINPROGRESS)
			die("connect");
		batch[k++] = fd;
		if (k == 256) {
			while (k)
				close(batch[--k]);
		}
	}
	while (k)
		close(batch[--k]);
}


/* ---- servers that accept while they overflow ---- */

static volatile int accepting = 1;

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

/* Close with an RST (SO_LINGER 0): no TIME_WAIT, no half-open leftovers. */
static void rst_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* The socket's sk_drops (SO_MEMINFO), or -1. */
static long sk_drops_of(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return -1;
	return mi[SK_MEMINFO_DROPS];
}

/*
 * A server thread whose timing is the scenario's truth (accept at once, or
 * at a set time) runs SCHED_FIFO, so that a busy machine does not delay it;
 * it only ever sleeps or blocks in between. Best effort.
 */
static void realtime_thread(void)
{
	struct sched_param sp = { .sched_priority = 10 };

	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

/* A server thread: accept one connection, close it, sleep pace_ms; until accepting ends. */
static void *paced_accept(void *arg)
{
	struct listener *l = arg;

	if (l->serve)
		realtime_thread();

	while (accepting && !stop) {
		struct pollfd p = { l->fd, POLLIN, 0 };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK);
		if (c < 0)
			continue;
		close(c);
		l->accepted++;
		if (l->pace_ms > 0)
			msleep(l->pace_ms);
	}
	return NULL;
}

struct client_load {
	const char *addr;
	int port, secs, gap_us, max;
	pthread_t th;
};

#define CLIENT_RING 64
#define CLIENTS(a, p, s, g, m) { .addr = (a), .port = (p), .secs = (s), .gap_us = (g), .max = (m) }

/*
 * A client thread: a non-blocking connect every gap_us, for secs seconds or
 * max connects; each connection lives for the next CLIENT_RING connects, then
 * is closed with an RST.
 */
static void *client_thread(void *arg)
{
	struct client_load *c = arg;
	struct sockaddr_storage ss;
	int len = make_addr(4, c->addr, c->port, &ss);
	int ring[CLIENT_RING], n = 0, head = 0;
	long until = now_ms() + c->secs * 1000L;

	for (int i = 0; i < c->max && !stop && now_ms() < until; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (void *)&ss, len) < 0 && errno != EINPROGRESS) {
			close(fd); /* e.g. no ephemeral port free: try again after the pause */
		} else {
			__atomic_add_fetch(&total_connects, 1, __ATOMIC_RELAXED);
			if (n < CLIENT_RING) {
				ring[n++] = fd;
			} else {
				rst_close(ring[head]);
				ring[head] = fd;
				head = (head + 1) % CLIENT_RING;
			}
		}
		usleep(c->gap_us);
	}
	for (int i = 0; i < n; i++)
		rst_close(ring[i]);
	return NULL;
}

struct raw_flood {
	uint16_t port;
	int secs, burst, gap_us;
	long max;
	pthread_t th;
};

/* Raw SYNs from 127.0.0.2 (source ports cycling), in bursts, for secs seconds or max SYNs. */
static void *raw_syn_thread(void *arg)
{
	struct raw_flood *f = arg;
	uint32_t src = inet_addr("127.0.0.2"), dst = inet_addr("127.0.0.1");
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	long until = now_ms() + f->secs * 1000L, sent = 0;
	uint16_t sport = 1024;

	if (raw < 0)
		die("raw socket");
	while (sent < f->max && !stop && now_ms() < until) {
		for (int i = 0; i < f->burst; i++, sent++) {
			sport = sport >= 65000 ? 1024 : sport + 1;
			send_raw(raw, src, dst, sport, f->port, (uint32_t)sent * 7919u + 1, 0, TH_SYN);
		}
		usleep(f->gap_us);
	}
	total_raw_syns = sent;
	close(raw);
	return NULL;
}

/*
 * Start a paced server thread on every listener with pace_ms > 0, run the
 * client loads (and a raw flood, if any) to their end, then let the servers
 * drain their queues for a moment and stop them.
 */
static void run_paced(struct client_load *cl, int ncl, struct raw_flood *flood)
{
	pthread_t srv[MAX_LISTENERS];
	int nsrv = 0;

	for (int i = 0; i < nls; i++)
		if (ls[i].pace_ms > 0 || ls[i].serve)
			pthread_create(&srv[nsrv++], NULL, paced_accept, &ls[i]);
	if (flood)
		pthread_create(&flood->th, NULL, raw_syn_thread, flood);
	for (int i = 0; i < ncl; i++)
		pthread_create(&cl[i].th, NULL, client_thread, &cl[i]);
	for (int i = 0; i < ncl; i++)
		pthread_join(cl[i].th, NULL);
	if (flood)
		pthread_join(flood->th, NULL);
	msleep(500); /* the RSTs land; the servers drain what is left */
	accepting = 0;
	for (int i = 0; i < nsrv; i++)
		pthread_join(srv[i], NULL);
}

static void scenario_pace(int pace_ms)
{
	struct client_load cl[2] = {
		CLIENTS("127.0.0.1", 9800, 3, 1000, 6000),
		CLIENTS("127.0.0.1", 9800, 3, 1000, 6000),
	};

	add_listener(4, "127.0.0.1", 9800, 8, false, true);
	ls[0].pace_ms = pace_ms;
	run_paced(cl, 2, NULL);
}

static void scenario_reuseport_mixed(void)
{
	struct client_load cl[2] = {
		CLIENTS("127.0.0.1", 9810, 3, 1000, 6000),
		CLIENTS("127.0.0.1", 9810, 3, 1000, 6000),
	};

	for (int i = 0; i < 3; i++)
		add_listener(4, "127.0.0.1", 9810, 8, true, true);
	ls[0].pace_ms = 5; /* the other two never accept */
	run_paced(cl, 2, NULL);
}

static void scenario_nobind(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (listen(fd, 2) < 0) /* no bind(): the kernel binds 0.0.0.0 and an ephemeral port */
		die("listen");
	if (getsockname(fd, (void *)&a, &alen) < 0)
		die("getsockname");
	ls[nls++] = (struct listener){ .fd = fd, .family = 4, .port = ntohs(a.sin_port), .backlog = 2,
				       .addr = "0.0.0.0", .expect_overflow = true };
	connect_many(4, "127.0.0.1", ls[0].port, 20);
	msleep(3000);
}

static void scenario_two(void)
{
	struct client_load cl[2] = {
		CLIENTS("127.0.0.1", 9820, 3, 1000, 6000),
		CLIENTS("127.0.0.1", 9830, 3, 1500, 4000),
	};

	add_listener(4, "127.0.0.1", 9820, 8, false, true);
	add_listener(4, "127.0.0.1", 9830, 8, false, true);
	ls[0].pace_ms = 5;
	ls[1].pace_ms = 11;
	run_paced(cl, 2, NULL);
}

/*
 * A listener at port (backlog 8, accepts every 5 ms) hit by raw SYNs from
 * 127.0.0.2 and real connects, with tcp_syncookies set to cookies and
 * tcp_max_syn_backlog 16; counter is what the flood must move.
 */
static void syn_flood(int port, const char *cookies, const char *counter)
{
	struct client_load cl[1] = { CLIENTS("127.0.0.1", port, 3, 4000, 1000) };
	struct raw_flood flood = { .port = port, .secs = 3, .burst = 16, .gap_us = 5000, .max = 20000 };

	sysctl_write("/proc/sys/net/ipv4/tcp_syncookies", cookies);
	sysctl_write("/proc/sys/net/ipv4/tcp_max_syn_backlog", "16");
	/* the raw SYNs' request sockets must stay, or the SYN queue never fills */
	drop_rst_from_127_0_0_2();
	add_listener(4, "127.0.0.1", port, 8, false, true);
	ls[0].pace_ms = 5;
	run_paced(cl, 1, &flood);
	if (netstat_value(counter) <= 0)
		fprintf(stderr, "acceptq-lab: the SYN flood did not move %s\n", counter);
}

static void scenario_cookie_flood(void)
{
	syn_flood(9840, "1", "SyncookiesSent");
}

/* The same with tcp_syncookies=0: a full SYN queue drops SYNs (TCPReqQFullDrop). */
static void scenario_nocookie_flood(void)
{
	syn_flood(9845, "0", "TCPReqQFullDrop");
}

/* ---- why it overflows: waits, backlogs, floods ---- */

/* Top-level fields the scenario adds to its report (",\"name\":value..."). */
static char report_extra[1024];

static void report(const char *fmt, ...)
{
	size_t n = strlen(report_extra);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(report_extra + n, sizeof(report_extra) - n, fmt, ap);
	va_end(ap);
}

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void sleep_until_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

/* A non-blocking connect that waits (up to 2 s) for the handshake; the fd, or -1. */
static int connect_wait(const char *addr, int port)
{
	struct sockaddr_storage ss;
	int len = make_addr(4, addr, port, &ss), err = 0;
	socklen_t elen = sizeof(err);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (void *)&ss, len) < 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		if (errno != EINPROGRESS || poll(&p, 1, 2000) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
			rst_close(fd);
			return -1;
		}
	}
	return fd;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

#define DELAY_CONNS 160
#define DELAY_PER_SEC 40

static struct {
	int ms;
	int64_t connected_ns[DELAY_CONNS]; /* 0: not yet; -1: the connect failed */
	int64_t waited_ns[DELAY_CONNS];    /* as the lab saw it: connect done to accept() back */
	int nwaited;
} dl;

/*
 * The delayed server: connections arrive in order (one client thread), so
 * the accept queue gives them back in that order; the i-th is taken when
 * its connect completed plus the delay.
 */
static void *delay_accept(void *arg)
{
	struct listener *l = arg;
	int64_t give_up = mono_ns() + 30 * 1000000000LL;

	realtime_thread();
	for (int i = 0; i < DELAY_CONNS && !stop; i++) {
		int64_t t;
		while (!(t = __atomic_load_n(&dl.connected_ns[i], __ATOMIC_ACQUIRE)) && !stop && mono_ns() < give_up)
			msleep(1);
		if (t <= 0)
			continue;
		sleep_until_ns(t + dl.ms * 1000000LL);
		struct pollfd p = { l->fd, POLLIN, 0 };
		if (poll(&p, 1, 2000) <= 0)
			continue;
		int c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK);
		if (c < 0)
			continue;
		dl.waited_ns[dl.nwaited++] = mono_ns() - t;
		rst_close(c);
		l->accepted++;
	}
	return NULL;
}

static void scenario_delay(int ms)
{
	int fds[DELAY_CONNS], nfds = 0;
	const int64_t gap = 1000000000LL / DELAY_PER_SEC;
	long long start_ms = 0, end_ms = 0;
	pthread_t srv;
	int64_t t0;

	dl.ms = ms;
	add_listener(4, "127.0.0.1", 9850, 1024, false, false);
	pthread_create(&srv, NULL, delay_accept, &ls[0]);
	/* the client's connect-completion time is the truth the waits are measured from: no lag */
	realtime_thread();
	t0 = mono_ns() + 50000000LL;
	for (int i = 0; i < DELAY_CONNS && !stop; i++) {
		sleep_until_ns(t0 + i * gap);
		if (i == 0)
			start_ms = wall_ms();
		end_ms = wall_ms();
		int fd = connect_wait("127.0.0.1", 9850);
		__atomic_store_n(&dl.connected_ns[i], fd < 0 ? -1 : mono_ns(), __ATOMIC_RELEASE);
		if (fd >= 0) {
			fds[nfds++] = fd;
			total_connects++;
		}
	}
	pthread_join(srv, NULL);
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &(struct sched_param){ 0 });
	for (int i = 0; i < nfds; i++)
		rst_close(fds[i]);
	qsort(dl.waited_ns, dl.nwaited, sizeof(dl.waited_ns[0]), cmp_i64);
	report(",\"delayMs\":%d,\"pacePerSec\":%d,\"startMs\":%lld,\"endMs\":%lld", ms, DELAY_PER_SEC,
	       start_ms, end_ms);
	if (dl.nwaited)
		report(",\"labWaitMinMs\":%.3f,\"labWaitP50Ms\":%.3f,\"labWaitMaxMs\":%.3f",
		       dl.waited_ns[0] / 1e6, dl.waited_ns[dl.nwaited / 2] / 1e6,
		       dl.waited_ns[dl.nwaited - 1] / 1e6);
}

/* A server thread that takes connections in batches: at the first waiting, pace_ms more, then all. */
static void *batch_accept(void *arg)
{
	struct listener *l = arg;

	while (accepting && !stop) {
		struct pollfd p = { l->fd, POLLIN, 0 };
		if (poll(&p, 1, 20) <= 0)
			continue;
		msleep(l->pace_ms);
		for (int c; (c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0;) {
			rst_close(c);
			l->accepted++;
		}
	}
	return NULL;
}

#define SOMAXCONN_BURSTS 12
#define SOMAXCONN_BURST 200

/*
 * net.core.somaxconn=128 cuts listen(4096) to 128: bursts of 200 connects
 * every 250 ms overflow it, though the server takes each burst within 20 ms
 * (the 4096 asked for would have held them). Each burst's sockets are closed
 * (RST) at the next, so no SYN is retried.
 */
static void scenario_somaxconn(void)
{
	struct sockaddr_storage ss;
	int len = make_addr(4, "127.0.0.1", 9860, &ss);
	int burst[SOMAXCONN_BURST], k = 0;
	long long start_ms = wall_ms(), end_ms = start_ms;
	pthread_t srv;
	int64_t t0;

	sysctl_write("/proc/sys/net/core/somaxconn", "128");
	add_listener(4, "127.0.0.1", 9860, 4096, false, true);
	fcntl(ls[0].fd, F_SETFL, fcntl(ls[0].fd, F_GETFL) | O_NONBLOCK);
	ls[0].pace_ms = 20;
	pthread_create(&srv, NULL, batch_accept, &ls[0]);
	t0 = mono_ns();
	for (int b = 0; b < SOMAXCONN_BURSTS && !stop; b++) {
		sleep_until_ns(t0 + b * 250000000LL);
		while (k)
			rst_close(burst[--k]);
		if (b == 0)
			start_ms = wall_ms();
		end_ms = wall_ms();
		for (int i = 0; i < SOMAXCONN_BURST; i++) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (fd < 0)
				die("socket");
			if (connect(fd, (void *)&ss, len) < 0 && errno != EINPROGRESS) {
				close(fd);
				continue;
			}
			burst[k++] = fd;
			total_connects++;
		}
	}
	msleep(250);
	while (k)
		rst_close(burst[--k]);
	msleep(200);
	accepting = 0;
	pthread_join(srv, NULL);
	report(",\"somaxconn\":128,\"requestedBacklog\":4096,\"bursts\":%d,\"burst\":%d,\"startMs\":%lld,\"endMs\":%lld",
	       SOMAXCONN_BURSTS, SOMAXCONN_BURST, start_ms, end_ms);
}

/* Connects at per_sec for n connects (each closed with an RST at the end); the realtime span. */
static void paced_connects(int port, int per_sec, int n)
{
	int *fds = calloc(n, sizeof(int)), nfds = 0;
	const int64_t gap = 1000000000LL / per_sec;
	int64_t t0 = mono_ns();
	long long start_ms = wall_ms(), end_ms = start_ms;

	if (!fds)
		die("calloc");
	for (int i = 0; i < n && !stop; i++) {
		sleep_until_ns(t0 + i * gap);
		end_ms = wall_ms();
		int fd = connect_wait("127.0.0.1", port);
		if (fd >= 0) {
			fds[nfds++] = fd;
			total_connects++;
		}
	}
	for (int i = 0; i < nfds; i++)
		rst_close(fds[i]);
	free(fds);
	report(",\"pacePerSec\":%d,\"startMs\":%lld,\"endMs\":%lld", per_sec, start_ms, end_ms);
}

static void scenario_keepup(void)
{
	pthread_t srv;

	add_listener(4, "127.0.0.1", 9870, 128, false, false);
	ls[0].serve = true;
	pthread_create(&srv, NULL, paced_accept, &ls[0]);
	paced_connects(9870, 100, 300);
	msleep(300); /* the server takes what is left */
	accepting = 0;
	pthread_join(srv, NULL);
}

static void scenario_synflood_accepting(void)
{
	struct raw_flood flood = { .port = 9880, .secs = 3, .burst = 8, .gap_us = 5000, .max = 10000 };
	pthread_t srv;

	sysctl_write("/proc/sys/net/ipv4/tcp_syncookies", "1");
	sysctl_write("/proc/sys/net/ipv4/tcp_max_syn_backlog", "16");
	/* the raw SYNs' request sockets must stay, or the SYN queue never fills */
	drop_rst_from_127_0_0_2();
	add_listener(4, "127.0.0.1", 9880, 32, false, false);
	ls[0].serve = true;
	pthread_create(&srv, NULL, paced_accept, &ls[0]);
	pthread_create(&flood.th, NULL, raw_syn_thread, &flood);
	paced_connects(9880, 20, 60);
	pthread_join(flood.th, NULL);
	msleep(300);
	accepting = 0;
	pthread_join(srv, NULL);
	report(",\"cookies\":%ld", netstat_value("SyncookiesSent"));
	if (netstat_value("SyncookiesSent") <= 0)
		fprintf(stderr, "acceptq-lab: synflood-accepting: no SYN cookie was sent\n");
}

static void scenario_abandon(void)
{
	int ok[10], reset[10], fin[10], open_[10];
	unsigned depth = 0, limit = 0;
	struct listener *l;

	add_listener(4, "127.0.0.1", 9890, 64, false, false);
	l = &ls[0];
	/* 10 that the application takes, after 100 ms in the queue */
	for (int i = 0; i < 10; i++)
		if ((ok[i] = connect_wait("127.0.0.1", 9890)) >= 0)
			total_connects++;
	msleep(100);
	for (int i = 0; i < 10; i++) {
		struct pollfd p = { l->fd, POLLIN, 0 };
		if (poll(&p, 1, 1000) <= 0)
			break;
		int c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK);
		if (c >= 0) {
			rst_close(c);
			l->accepted++;
		}
	}
	for (int i = 0; i < 10; i++)
		if (ok[i] >= 0)
			rst_close(ok[i]);
	/* 30 that it never takes: reset by their client, closed by it, left open */
	for (int i = 0; i < 10; i++)
		if ((reset[i] = connect_wait("127.0.0.1", 9890)) >= 0)
			total_connects++;
	for (int i = 0; i < 10; i++)
		if ((fin[i] = connect_wait("127.0.0.1", 9890)) >= 0)
			total_connects++;
	for (int i = 0; i < 10; i++)
		if ((open_[i] = connect_wait("127.0.0.1", 9890)) >= 0)
			total_connects++;
	for (int i = 0; i < 10; i++) {
		if (reset[i] >= 0)
			rst_close(reset[i]);
		if (fin[i] >= 0)
			close(fin[i]);
	}
	msleep(1500);
	queue_of(l->fd, &depth, &limit);
	close(l->fd); /* with 30 connections still in its accept queue */
	l->fd = -1;
	msleep(200);
	for (int i = 0; i < 10; i++)
		if (open_[i] >= 0)
			rst_close(open_[i]);
	report(",\"queuedAtClose\":%u", depth);
}

static void usage(void)
{
	fprintf(stderr, "usage: acceptq-lab syn|ack|ack-cookie|v6|reuseport|twoaddr|dualstack|idle|many N|churn N SECONDS|flood SECONDS\n"
			"       |pace [MS]|reuseport-mixed|nobind|two|cookie-flood|nocookie-flood\n"
			"       |delay MS|somaxconn|keepup|synflood-accepting|abandon "
			"[--hold SECONDS]\n(run inside a network namespace of its own: "
			"unshare -n acceptq-lab syn)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *sc;
	int hold = 30;
	pthread_t th;

	const char *pos[3] = { NULL, NULL, NULL };

	parse_hold_args(argc, argv, pos, 3, &hold, usage);
	if (!pos[0])
		usage();
	sc = pos[0];
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lo_up_mtu(0);

	if (!strcmp(sc, "syn")) {
		add_listener(4, "127.0.0.1", 9000, 2, false, true);
		connect_many(4, "127.0.0.1", 9000, 20);
		msleep(3000);
	} else if (!strcmp(sc, "ack")) {
		scenario_ack(false);
	} else if (!strcmp(sc, "ack-cookie")) {
		scenario_ack(true);
	} else if (!strcmp(sc, "v6")) {
		msleep(200); /* ::1 appears shortly after lo comes up */
		add_listener(6, "::1", 9200, 2, false, true);
		connect_many(6, "::1", 9200, 20);
		msleep(3000);
	} else if (!strcmp(sc, "reuseport")) {
		for (int i = 0; i < 3; i++)
			add_listener(4, "127.0.0.1", 9300, 2, true, true);
		connect_many(4, "127.0.0.1", 9300, 30);
		msleep(3000);
	} else if (!strcmp(sc, "twoaddr")) {
		add_listener(4, "127.0.0.1", 9400, 2, false, true);
		add_listener(4, "127.0.0.3", 9400, 16, false, false);
		connect_many(4, "127.0.0.1", 9400, 20);
		connect_many(4, "127.0.0.3", 9400, 2);
		msleep(3000);
	} else if (!strcmp(sc, "dualstack")) {
		add_listener(6, "::", 9600, 2, false, true);
		connect_many(4, "127.0.0.1", 9600, 20);
		msleep(3000);
	} else if (!strcmp(sc, "many") && pos[1] && atoi(pos[1]) > 0 && atoi(pos[1]) <= MAX_MANY) {
		scenario_many(atoi(pos[1]));
	} else if (!strcmp(sc, "churn") && pos[2] && atoi(pos[1]) > 0 && atoi(pos[2]) >= 0) {
		scenario_churn(atoi(pos[1]), atoi(pos[2]));
	} else if (!strcmp(sc, "flood") && pos[1] && atoi(pos[1]) > 0 && atoi(pos[1]) <= 7200) {
		scenario_flood(atoi(pos[1]));
	} else if (!strcmp(sc, "pace") && (!pos[1] || (atoi(pos[1]) > 0 && atoi(pos[1]) <= 1000))) {
		scenario_pace(pos[1] ? atoi(pos[1]) : 5);
	} else if (!strcmp(sc, "reuseport-mixed") && !pos[1]) {
		scenario_reuseport_mixed();
	} else if (!strcmp(sc, "nobind") && !pos[1]) {
		scenario_nobind();
	} else if (!strcmp(sc, "two") && !pos[1]) {
		scenario_two();
	} else if (!strcmp(sc, "cookie-flood") && !pos[1]) {
		scenario_cookie_flood();
	} else if (!strcmp(sc, "nocookie-flood") && !pos[1]) {
		scenario_nocookie_flood();
	} else if (!strcmp(sc, "delay") && pos[1] && atoi(pos[1]) > 0 && atoi(pos[1]) <= 1000 && !pos[2]) {
		scenario_delay(atoi(pos[1]));
	} else if (!strcmp(sc, "somaxconn") && !pos[1]) {
		scenario_somaxconn();
	} else if (!strcmp(sc, "keepup") && !pos[1]) {
		scenario_keepup();
	} else if (!strcmp(sc, "synflood-accepting") && !pos[1]) {
		scenario_synflood_accepting();
	} else if (!strcmp(sc, "abandon") && !pos[1]) {
		scenario_abandon();
	} else if (!strcmp(sc, "idle")) {
		add_listener(4, "127.0.0.1", 9500, 64, false, false);
		pthread_create(&th, NULL, accept_loop, &ls[0].fd);
		for (int round = 0; round < 5; round++) {
			connect_many(4, "127.0.0.1", 9500, 10);
			msleep(200);
			close_clients();
		}
	} else {
		usage();
	}
	/* stop the clients' SYN retries so the counts hold still */
	close_clients();
	msleep(300);

	printf("{\"scenario\":\"%s\",\"pid\":%d,\"netns\":%lu,\"listeners\":[", sc, getpid(),
	       netns_inode());
	for (int i = 0; i < nls; i++)
		printf("%s{\"family\":%d,\"address\":\"%s\",\"port\":%d,\"backlog\":%d,"
		       "\"expectOverflow\":%s,\"accepted\":%ld,\"skDrops\":%ld}", i ? "," : "", ls[i].family,
		       ls[i].addr, ls[i].port, ls[i].backlog, ls[i].expect_overflow ? "true" : "false",
		       ls[i].accepted, sk_drops_of(ls[i].fd));
	printf("],\"connects\":%ld,\"rawSyns\":%ld%s}\n", total_connects, total_raw_syns, report_extra);
	fflush(stdout);

	/* hold the listeners until told to go */
	hold_until_told(hold);
	stop = 1;
	return 0;
}
