// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* acceptq-lab: The final-ACK path, deterministic: raw SYNs and ACKs on loopback. */
#include "lab.h"

/* ---- raw TCP for the deterministic final-ACK scenario ---- */

void send_raw(int raw, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
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
void drop_rst_from_127_0_0_2(void)
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

void scenario_ack(bool cookies)
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

