/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * netlab.h: what the lab (acceptq-lab) and the benchmark's tools
 * (acceptq-bench-load, acceptq-bench-stats) share: errors, the namespace's
 * loopback and sysctls, its kernel counters, TCP checksums, and holding on
 * until told to go. Each program defines PROG (its name) and a
 * `static volatile sig_atomic_t stop` before including it.
 */
#ifndef ACCEPTQ_NETLAB_H
#define ACCEPTQ_NETLAB_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static inline __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Bring this namespace's loopback up (with an MTU, when mtu > 0). */
static inline void lo_up_mtu(int mtu)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, "lo");
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
			die("set lo mtu");
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die("bring lo up (run inside unshare -n, as root)");
	close(fd);
}

static inline void sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die(path);
	close(fd);
}

/* This namespace's TcpExt counter NAME, or -1. */
static inline long netstat_value(const char *name)
{
	char names[8192], vals[8192];
	long v = -1;
	FILE *f = fopen("/proc/self/net/netstat", "r");

	while (f && fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		char *sn, *sv;
		char *n = strtok_r(names, " \n", &sn), *x = strtok_r(vals, " \n", &sv);
		for (; n && x; n = strtok_r(NULL, " \n", &sn), x = strtok_r(NULL, " \n", &sv))
			if (!strcmp(n, name))
				v = atol(x);
	}
	if (f)
		fclose(f);
	return v;
}

static inline unsigned long netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* The Internet checksum over data, starting from sum. */
static inline uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint16_t *p = data;

	while (len > 1) {
		sum += *p++;
		len -= 2;
	}
	if (len)
		sum += *(const uint8_t *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4 TCP segment without options, as sent through a raw socket. */
struct tcp_packet {
	struct iphdr ip;
	struct tcphdr tcp;
};

/* Fill in a segment (addresses in network order, the rest in host order), TCP checksum included. */
static inline void tcp_packet_build(struct tcp_packet *pkt, uint32_t src, uint32_t dst, uint16_t sport,
				    uint16_t dport, uint32_t seq, uint32_t ack, bool syn, bool is_ack)
{
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
		struct tcphdr tcp;
	} ph = { 0 };

	memset(pkt, 0, sizeof(*pkt));
	pkt->ip.version = 4;
	pkt->ip.ihl = 5;
	pkt->ip.ttl = 64;
	pkt->ip.protocol = IPPROTO_TCP;
	pkt->ip.saddr = src;
	pkt->ip.daddr = dst;
	pkt->ip.tot_len = htons(sizeof(*pkt));
	pkt->tcp.source = htons(sport);
	pkt->tcp.dest = htons(dport);
	pkt->tcp.seq = htonl(seq);
	pkt->tcp.ack_seq = htonl(ack);
	pkt->tcp.doff = 5;
	pkt->tcp.syn = syn;
	pkt->tcp.ack = is_ack;
	pkt->tcp.window = htons(65535);
	ph.src = src;
	ph.dst = dst;
	ph.proto = IPPROTO_TCP;
	ph.len = htons(sizeof(struct tcphdr));
	ph.tcp = pkt->tcp;
	pkt->tcp.check = csum(&ph, sizeof(ph), 0);
}

/*
 * Hold on for up to `seconds`, until stop is set, or until stdin closes
 * when stdin is a pipe or a terminal (so a parent that goes lets us go).
 */
static inline void hold_until_told(int seconds)
{
	struct stat st;
	bool watch_stdin = isatty(0) || (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode));

	for (int t = 0; t < seconds * 10 && !stop; t++) {
		struct pollfd p = { watch_stdin ? 0 : -1, POLLIN, 0 };
		if (poll(&p, 1, 100) > 0) {
			char c;
			if (read(0, &c, 1) <= 0)
				break;
		}
	}
}

/* Positional arguments into pos (at most maxpos) and "--hold S"; usage() on too many. */
static inline int parse_hold_args(int argc, char **argv, const char **pos, int maxpos, int *hold,
				  void (*usage)(void))
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			*hold = atoi(argv[++i]);
		else if (npos < maxpos)
			pos[npos++] = argv[i];
		else
			usage();
	}
	return npos;
}

#endif
