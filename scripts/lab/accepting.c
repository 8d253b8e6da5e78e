// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* acceptq-lab: Servers that accept while they overflow, under client threads and raw SYN floods. */
#include "lab.h"

/* ---- servers that accept while they overflow ---- */

volatile int accepting = 1;

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

/* Close with an RST (SO_LINGER 0): no TIME_WAIT, no half-open leftovers. */
void rst_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* The socket's sk_drops (SO_MEMINFO), or -1. */
long sk_drops_of(int fd)
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
void realtime_thread(void)
{
	struct sched_param sp = { .sched_priority = 10 };

	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

/* A server thread: accept one connection, close it, sleep pace_ms; until accepting ends. */
void *paced_accept(void *arg)
{
	struct listener *l = arg;

	if (l->serve)
		realtime_thread();

	while (accepting && !stop) {
		int c = accept_within(l->fd, 20);
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

/* Raw SYNs from 127.0.0.2 (source ports cycling), in bursts, for secs seconds or max SYNs. */
void *raw_syn_thread(void *arg)
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

void scenario_pace(int pace_ms)
{
	struct client_load cl[2] = {
		CLIENTS("127.0.0.1", 9800, 3, 1000, 6000),
		CLIENTS("127.0.0.1", 9800, 3, 1000, 6000),
	};

	add_listener(4, "127.0.0.1", 9800, 8, false, true);
	ls[0].pace_ms = pace_ms;
	run_paced(cl, 2, NULL);
}

void scenario_reuseport_mixed(void)
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

void scenario_nobind(void)
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

void scenario_two(void)
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

void scenario_cookie_flood(void)
{
	syn_flood(9840, "1", "SyncookiesSent");
}

/* The same with tcp_syncookies=0: a full SYN queue drops SYNs (TCPReqQFullDrop). */
void scenario_nocookie_flood(void)
{
	syn_flood(9845, "0", "TCPReqQFullDrop");
}

