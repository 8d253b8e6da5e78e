// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * acceptq-bench-load: the load generators of scripts/bench. Every mode runs
 * in the network namespace it is started in (the bench starts it under
 * `unshare -n`), brings that namespace's loopback up and keeps all traffic
 * on it. Every loop is bounded in time and count; the process dies with its
 * parent (PR_SET_PDEATHSIG) and by alarm() at the latest.
 *
 *   conn SECONDS CLIENTS   connect/accept/close as fast as CLIENTS client
 *                          threads can, against 2 accepting threads; the
 *                          server closes first (no client TIME_WAIT)
 *   bulk SECONDS [MTU]     one TCP stream, 256 KiB writes, as fast as it goes
 *                          (MTU: set the loopback MTU first; default 65536)
 *   flood SECONDS THREADS [--hold S]
 *                          a listener that never accepts (127.0.0.1:9800,
 *                          backlog 8), its accept queue filled, then raw SYNs
 *                          from many source addresses and ports in 127/8 from
 *                          THREADS threads; the namespace's own RSTs are
 *                          dropped by nftables. Prints a JSON line when the
 *                          flood starts and another when it ends, then holds
 *                          the listener until stdin closes or --hold passes.
 *
 * Results are one JSON line on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_SECONDS 600
/* hard caps on work, whatever the clock says */
#define MAX_CONNS_PER_THREAD 100000000UL
#define MAX_BYTES (1ULL << 46)
#define MAX_SYNS_PER_THREAD 4000000000ULL

static volatile sig_atomic_t stop;
static double deadline;

#define PROG "acceptq-bench-load"
#include "../lab/netlab.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int listener(int port, int backlog)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0)
		die("bind/listen");
	return fd;
}

/* ---- conn: connect/accept/close ---- */

static int conn_lfd;
static struct sockaddr_in conn_to;
static _Atomic unsigned long conn_done, conn_failed;

static void *conn_server(void *arg)
{
	(void)arg;
	while (!stop) {
		struct pollfd p = { conn_lfd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept4(conn_lfd, NULL, NULL, SOCK_NONBLOCK);
		if (c >= 0)
			close(c); /* the server closes first, like an HTTP/1.0 server */
	}
	return NULL;
}

static void *conn_client(void *arg)
{
	char b[64];
	unsigned long n = 0, failed = 0;
	struct timeval tv = { 1, 0 };

	(void)arg;
	for (unsigned long i = 0; !stop && n < MAX_CONNS_PER_THREAD; i++) {
		if ((i & 63) == 0 && now() >= deadline)
			break;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (void *)&conn_to, sizeof(conn_to)) == 0) {
			/* wait for the server's FIN, then close */
			while (read(fd, b, sizeof(b)) > 0)
				;
			n++;
		} else {
			if (failed++ == 0)
				fprintf(stderr, "acceptq-bench-load: connect: %s\n", strerror(errno));
		}
		close(fd);
	}
	atomic_fetch_add(&conn_done, n);
	atomic_fetch_add(&conn_failed, failed);
	return NULL;
}

static void mode_conn(int secs, int clients)
{
	pthread_t srv[2], cl[MAX_THREADS];

	lo_up_mtu(0);
	sysctl_write("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
	conn_lfd = listener(9900, 4096);
	/* two threads poll one listener: both wake, one accepts, the other must not block */
	fcntl(conn_lfd, F_SETFL, fcntl(conn_lfd, F_GETFL) | O_NONBLOCK);
	conn_to = loopback(9900);
	for (int i = 0; i < 2; i++)
		pthread_create(&srv[i], NULL, conn_server, NULL);
	double t0 = now();
	deadline = t0 + secs;
	for (int i = 0; i < clients; i++)
		pthread_create(&cl[i], NULL, conn_client, NULL);
	for (int i = 0; i < clients; i++)
		pthread_join(cl[i], NULL);
	double el = now() - t0;
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(srv[i], NULL);
	printf("{\"mode\":\"conn\",\"clients\":%d,\"seconds\":%.3f,\"connections\":%lu,\"failed\":%lu,\"rate\":%.1f}\n",
	       clients, el, (unsigned long)conn_done, (unsigned long)conn_failed, conn_done / el);
}

/* ---- bulk: one stream ---- */

#define BULK_BUF (256 * 1024)
static int bulk_lfd;
static _Atomic unsigned long long bulk_bytes;

static void *bulk_server(void *arg)
{
	char *buf = malloc(BULK_BUF);
	unsigned long long n = 0;
	int c = accept(bulk_lfd, NULL, NULL);

	(void)arg;
	if (c < 0 || !buf)
		die("accept");
	for (;;) {
		ssize_t r = read(c, buf, BULK_BUF);
		if (r <= 0)
			break;
		n += r;
	}
	bulk_bytes = n;
	close(c);
	free(buf);
	return NULL;
}

static void mode_bulk(int secs, int mtu)
{
	pthread_t th;
	struct sockaddr_in to = loopback(9901);
	char *buf = calloc(1, BULK_BUF);
	unsigned long long sent = 0;

	lo_up_mtu(mtu);
	bulk_lfd = listener(9901, 16);
	pthread_create(&th, NULL, bulk_server, NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (void *)&to, sizeof(to)) < 0)
		die("connect");
	double t0 = now();
	deadline = t0 + secs;
	for (unsigned i = 0; !stop && sent < MAX_BYTES; i++) {
		if ((i & 15) == 0 && now() >= deadline)
			break;
		ssize_t w = write(fd, buf, BULK_BUF);
		if (w < 0)
			die("write");
		sent += w;
	}
	shutdown(fd, SHUT_WR);
	pthread_join(th, NULL);
	double el = now() - t0;
	close(fd);
	printf("{\"mode\":\"bulk\",\"mtu\":%d,\"seconds\":%.3f,\"bytes\":%llu,\"rate\":%.1f}\n", mtu > 0 ? mtu : 65536,
	       el, (unsigned long long)bulk_bytes, bulk_bytes / el);
}

/* ---- flood: raw SYNs at a listener that never accepts ---- */

#define FLOOD_PORT 9800
#define FLOOD_BACKLOG 8
#define BATCH 64

static _Atomic unsigned long long flood_sent, flood_errors;

static void *flood_thread(void *arg)
{
	long id = (long)arg;
	/* IPPROTO_RAW: send-only, so no copy of every TCP packet comes back to us */
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	struct tcp_packet pkts[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	struct sockaddr_in to = loopback(FLOOD_PORT);
	unsigned long long n = 0, errs = 0;
	uint32_t ctr = (uint32_t)id << 24;

	if (raw < 0)
		die("raw socket");
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = &pkts[i];
		iov[i].iov_len = sizeof(pkts[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}
	while (!stop && n < MAX_SYNS_PER_THREAD && now() < deadline) {
		for (int i = 0; i < BATCH; i++, ctr++) {
			/* sources 127.1.0.0 - 127.254.255.255, ports 1024-65535 */
			uint32_t h = ctr * 2654435761u;
			uint32_t src = htonl(0x7f000000u | ((1 + (h >> 24) % 254) << 16) | (h & 0xffff));
			/* the kernel fills in the IP checksum (and id) for IP_HDRINCL */
			tcp_packet_build(&pkts[i], src, to.sin_addr.s_addr, 1024 + (ctr >> 8) % 64512, FLOOD_PORT, h, 0, true, false);
		}
		int r = sendmmsg(raw, msgs, BATCH, 0);
		if (r > 0)
			n += r;
		else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
			errs++;
		else
			die("sendmmsg");
	}
	atomic_fetch_add(&flood_sent, n);
	atomic_fetch_add(&flood_errors, errs);
	close(raw);
	return NULL;
}

static void mode_flood(int secs, int threads, int hold)
{
	pthread_t th[MAX_THREADS];
	struct sockaddr_in to = loopback(FLOOD_PORT);
	int clients[FLOOD_BACKLOG + 1];
	struct tcp_info ti;
	socklen_t len;
	int lfd;

	lo_up_mtu(0);
	/* the system's nft by PATH: npm puts an unrelated "nft" ahead of it */
	if (system("PATH=/usr/sbin:/usr/bin:/sbin:/bin nft -f - <<'EOF'\n"
		   "table ip acceptq_bench {\n"
		   "  chain out { type filter hook output priority 0; policy accept;\n"
		   "    tcp flags & rst == rst drop\n"
		   "  }\n"
		   "}\n"
		   "EOF\n") != 0) {
		fprintf(stderr, "acceptq-bench-load: nft failed (is nftables installed?)\n");
		exit(1);
	}
	lfd = listener(FLOOD_PORT, FLOOD_BACKLOG);
	/* fill the accept queue (backlog + 1) with ordinary connections */
	for (int i = 0; i < FLOOD_BACKLOG + 1; i++) {
		clients[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (clients[i] < 0 || connect(clients[i], (void *)&to, sizeof(to)) < 0)
			die("connect (fill)");
	}
	for (int i = 0; i < 1000; i++) {
		memset(&ti, 0, sizeof(ti));
		len = sizeof(ti);
		getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len);
		if (ti.tcpi_unacked > ti.tcpi_sacked)
			break;
		usleep(10000);
	}
	if (!(ti.tcpi_unacked > ti.tcpi_sacked)) {
		fprintf(stderr, "acceptq-bench-load: the accept queue did not fill\n");
		exit(1);
	}
	long before = netstat_value("ListenOverflows");
	printf("{\"mode\":\"flood\",\"state\":\"start\",\"pid\":%d,\"netns\":%lu,\"port\":%d,\"threads\":%d,\"listenOverflowsBefore\":%ld}\n",
	       getpid(), netns_inode(), FLOOD_PORT, threads, before);
	fflush(stdout);
	double t0 = now();
	deadline = t0 + secs;
	for (long i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, flood_thread, (void *)i);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	double el = now() - t0;
	usleep(200000); /* let the last packets through the backlog */
	long after = netstat_value("ListenOverflows");
	printf("{\"mode\":\"flood\",\"state\":\"end\",\"pid\":%d,\"netns\":%lu,\"port\":%d,\"threads\":%d,\"seconds\":%.3f,"
	       "\"sent\":%llu,\"sendErrors\":%llu,\"rate\":%.1f,\"listenOverflows\":%ld}\n",
	       getpid(), netns_inode(), FLOOD_PORT, threads, el, (unsigned long long)flood_sent,
	       (unsigned long long)flood_errors, flood_sent / el, after - before);
	fflush(stdout);

	/* hold the listener (and so the namespace) until told to go */
	hold_until_told(hold);
	for (int i = 0; i < FLOOD_BACKLOG + 1; i++)
		close(clients[i]);
	close(lfd);
}

static void usage(void)
{
	fprintf(stderr, "usage: acceptq-bench-load conn SECONDS CLIENTS | bulk SECONDS [MTU] | "
			"flood SECONDS THREADS [--hold S]\n(inside a network namespace of its own: unshare -n)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int hold = 30;
	const char *pos[4] = { 0 };
	int npos = parse_hold_args(argc, argv, pos, 4, &hold, usage);
	if (npos < 2)
		usage();
	int secs = atoi(pos[1]);
	if (secs <= 0 || secs > MAX_SECONDS || hold < 0 || hold > MAX_SECONDS)
		usage();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		exit(1);
	/* a last bound, whatever happens to the loops */
	alarm(secs + hold + 60);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(pos[0], "conn") && npos >= 3) {
		int clients = atoi(pos[2]);
		if (clients < 1 || clients > MAX_THREADS)
			usage();
		mode_conn(secs, clients);
	} else if (!strcmp(pos[0], "bulk")) {
		int mtu = npos >= 3 ? atoi(pos[2]) : 0;
		if (mtu && (mtu < 1280 || mtu > 65536))
			usage();
		mode_bulk(secs, mtu);
	} else if (!strcmp(pos[0], "flood") && npos >= 3) {
		int threads = atoi(pos[2]);
		if (threads < 1 || threads > MAX_THREADS)
			usage();
		mode_flood(secs, threads, hold);
	} else {
		usage();
	}
	return 0;
}
