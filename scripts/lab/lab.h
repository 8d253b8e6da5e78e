/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * acceptq-lab's parts (lab.c lists the scenarios): the listeners staged,
 * the clients, and the helpers every scenario file shares.
 */
#ifndef ACQ_LAB_H
#define ACQ_LAB_H

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

extern struct listener ls[MAX_LISTENERS];
extern int nls;
extern int clients[MAX_CLIENTS];
extern int nclients;
extern volatile sig_atomic_t stop;
extern volatile long total_connects, total_raw_syns;

#define PROG "acceptq-lab"
#include "netlab.h"

/* lab.c: listeners, clients, queues */
void msleep(int ms);
int make_addr(int family, const char *addr, int port, struct sockaddr_storage *ss);
int add_listener(int family, const char *addr, int port, int backlog, bool reuseport,
			bool expect_overflow);
void connect_many(int family, const char *addr, int port, int n);
void queue_of(int fd, unsigned *depth, unsigned *limit);
void await_full(int fd);
int accept_within(int fd, int timeout_ms);

/* final_ack.c */
void send_raw(int raw, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		     uint32_t seq, uint32_t ack, uint8_t flags);
void drop_rst_from_127_0_0_2(void);
void scenario_ack(bool cookies);

/* scale.c */
void scenario_many(int n);
void scenario_churn(int n, int secs);
void scenario_flood(int secs);

/* accepting.c: servers that accept while they overflow; what the report adds */
/* A raw SYN flood from 127.0.0.2 at port: bursts every gap_us, for secs seconds or max SYNs. */
struct raw_flood {
	uint16_t port;
	int secs, burst, gap_us;
	long max;
	pthread_t th;
};
void rst_close(int fd);
long sk_drops_of(int fd);
void realtime_thread(void);
void *paced_accept(void *arg);
void *raw_syn_thread(void *arg);
void scenario_pace(int pace_ms);
void scenario_reuseport_mixed(void);
void scenario_nobind(void);
void scenario_two(void);
void scenario_cookie_flood(void);
void scenario_nocookie_flood(void);
extern volatile int accepting;

/* why.c: why it overflows; report() adds top-level fields to the report */
void report(const char *fmt, ...);
void scenario_delay(int ms);
void scenario_somaxconn(void);
void scenario_keepup(void);
void scenario_synflood_accepting(void);
void scenario_abandon(void);
extern char report_extra[];

#endif /* ACQ_LAB_H */
