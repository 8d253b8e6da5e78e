// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* acceptq-lab: Why it overflows: accept-queue waits, backlogs cut by somaxconn, floods, abandoned connections. */
#include "lab.h"

/* ---- why it overflows: waits, backlogs, floods ---- */

/* Top-level fields the scenario adds to its report (",\"name\":value..."). */
char report_extra[1024];

void report(const char *fmt, ...)
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
		int c = accept_within(l->fd, 2000);
		if (c < 0)
			continue;
		dl.waited_ns[dl.nwaited++] = mono_ns() - t;
		rst_close(c);
		l->accepted++;
	}
	return NULL;
}

void scenario_delay(int ms)
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
void scenario_somaxconn(void)
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

void scenario_keepup(void)
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

void scenario_synflood_accepting(void)
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

void scenario_abandon(void)
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

