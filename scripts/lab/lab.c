// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * acceptq-lab: stages accept-queue overflows in the network namespace it
 * runs in (run it under `unshare -n`, which scripts/lab does). All traffic
 * stays on this namespace's loopback. After staging it prints one JSON
 * line describing its listeners, then holds them open (so a watcher can
 * read their queues) until --hold seconds pass, stdin closes or a signal.
 * This file holds the listeners, the clients and main(); the scenarios are
 * in final_ack.c, scale.c, accepting.c and why.c (lab.h: what they share).
 *
 * Scenarios:
 *   syn         SYN path: listen(2), never accept, 20 connects (3 fill the
 *               queue, then 17 find it full)
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
#include "lab.h"

struct listener ls[MAX_LISTENERS];
int nls;
int clients[MAX_CLIENTS];
int nclients;
volatile sig_atomic_t stop;
/* what the report says was sent: every scenario's client connects and raw SYNs */
volatile long total_connects, total_raw_syns;

void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
		;
}

int make_addr(int family, const char *addr, int port, struct sockaddr_storage *ss)
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

int add_listener(int family, const char *addr, int port, int backlog, bool reuseport,
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
void connect_many(int family, const char *addr, int port, int n)
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
void queue_of(int fd, unsigned *depth, unsigned *limit)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
	*depth = ti.tcpi_unacked;
	*limit = ti.tcpi_sacked;
}

/* Wait (up to 10 s: a loaded machine is slow) until the accept queue is full. */
void await_full(int fd)
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

/*
 * n connects to the last listener added, which never accepts: first as many
 * as its queue admits (backlog + 1), and once they are all in it, the rest,
 * whose SYNs (and their retries) then find it full. Connected all at once,
 * a slow machine (a kernel under emulation) lets some SYNs in before the
 * queue fills, and their final ACKs overflow on the other path.
 */
static void syn_path_overflow(int family, const char *addr, int port, int n)
{
	struct listener *l = &ls[nls - 1];

	connect_many(family, addr, port, l->backlog + 1);
	await_full(l->fd);
	connect_many(family, addr, port, n - (l->backlog + 1));
	msleep(3000);
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

/* A connection accepted within timeout_ms (non-blocking), or -1. */
int accept_within(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	return accept4(fd, NULL, NULL, SOCK_NONBLOCK);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The scenarios that take no argument, by name. */
static const struct {
	const char *name;
	void (*run)(void);
} plain_scenarios[] = {
	{ "reuseport-mixed", scenario_reuseport_mixed }, { "nobind", scenario_nobind }, { "two", scenario_two },
	{ "cookie-flood", scenario_cookie_flood }, { "nocookie-flood", scenario_nocookie_flood },
	{ "somaxconn", scenario_somaxconn }, { "keepup", scenario_keepup },
	{ "synflood-accepting", scenario_synflood_accepting }, { "abandon", scenario_abandon },
};

static void (*plain_scenario(const char *name))(void)
{
	for (size_t i = 0; i < sizeof(plain_scenarios) / sizeof(plain_scenarios[0]); i++)
		if (!strcmp(plain_scenarios[i].name, name))
			return plain_scenarios[i].run;
	return NULL;
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
	void (*plain)(void);

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
		syn_path_overflow(4, "127.0.0.1", 9000, 20);
	} else if (!strcmp(sc, "ack")) {
		scenario_ack(false);
	} else if (!strcmp(sc, "ack-cookie")) {
		scenario_ack(true);
	} else if (!strcmp(sc, "v6")) {
		msleep(200); /* ::1 appears shortly after lo comes up */
		add_listener(6, "::1", 9200, 2, false, true);
		syn_path_overflow(6, "::1", 9200, 20);
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
	} else if ((plain = plain_scenario(sc)) && !pos[1]) {
		plain();
	} else if (!strcmp(sc, "delay") && pos[1] && atoi(pos[1]) > 0 && atoi(pos[1]) <= 1000 && !pos[2]) {
		scenario_delay(atoi(pos[1]));
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

