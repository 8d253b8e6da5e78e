// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The layout report: struct sizes and field offsets, for the binding's mirrors. */
#define _GNU_SOURCE
#include <string.h>
#include "internal.h"

#define L_STRUCT(T) { #T, sizeof(struct T), 0 }
#define L_FIELD(T, F) { #T "." #F, sizeof(((struct T *)0)->F), offsetof(struct T, F) }

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct acq_layout layout[] = {
	L_STRUCT(acq_open_opts),
	L_FIELD(acq_open_opts, abi_version), L_FIELD(acq_open_opts, probe),
	L_FIELD(acq_open_opts, events_per_sec), L_FIELD(acq_open_opts, ringbuf_kb),
	L_FIELD(acq_open_opts, retain_closed_s), L_FIELD(acq_open_opts, log_path),
	L_STRUCT(acq_listener),
	L_FIELD(acq_listener, netns_cookie),
	L_FIELD(acq_listener, netns), L_FIELD(acq_listener, family), L_FIELD(acq_listener, port),
	L_FIELD(acq_listener, addr), L_FIELD(acq_listener, pid), L_FIELD(acq_listener, sockets),
	L_FIELD(acq_listener, backlog), L_FIELD(acq_listener, max_backlog),
	L_FIELD(acq_listener, peak_backlog), L_FIELD(acq_listener, syn_backlog),
	L_FIELD(acq_listener, overflows_syn), L_FIELD(acq_listener, overflows_ack),
	L_FIELD(acq_listener, syn_drops), L_FIELD(acq_listener, cookies),
	L_FIELD(acq_listener, first_overflow_ms), L_FIELD(acq_listener, last_overflow_ms),
	L_FIELD(acq_listener, cgroup_id), L_FIELD(acq_listener, closed_ms),
	L_FIELD(acq_listener, uid), L_FIELD(acq_listener, flags), L_FIELD(acq_listener, comm),
	L_FIELD(acq_listener, requested_backlog), L_FIELD(acq_listener, oldest_wait_us),
	L_FIELD(acq_listener, arrivals), L_FIELD(acq_listener, accepts),
	L_FIELD(acq_listener, waited), L_FIELD(acq_listener, wait_sum_us),
	L_FIELD(acq_listener, wait_min_us), L_FIELD(acq_listener, wait_max_us),
	L_FIELD(acq_listener, wait_hist), L_FIELD(acq_listener, cgroup),
	L_STRUCT(acq_netns),
	L_FIELD(acq_netns, netns), L_FIELD(acq_netns, pid), L_FIELD(acq_netns, cookie),
	L_FIELD(acq_netns, listen_overflows),
	L_FIELD(acq_netns, listen_drops), L_FIELD(acq_netns, syncookies_sent),
	L_FIELD(acq_netns, reqqfull_drop), L_FIELD(acq_netns, reqqfull_cookies),
	L_FIELD(acq_netns, attributed), L_FIELD(acq_netns, attributed_syn_drops),
	L_FIELD(acq_netns, attributed_cookies), L_FIELD(acq_netns, unmatched),
	L_FIELD(acq_netns, start_attributed),
	L_FIELD(acq_netns, start_listen_overflows), L_FIELD(acq_netns, start_listen_drops),
	L_FIELD(acq_netns, start_syncookies_sent), L_FIELD(acq_netns, start_reqqfull_drop),
	L_FIELD(acq_netns, start_attributed_syn_drops), L_FIELD(acq_netns, start_attributed_cookies),
	L_FIELD(acq_netns, start_unmatched),
	L_FIELD(acq_netns, gone), L_FIELD(acq_netns, estimate),
	L_FIELD(acq_netns, somaxconn), L_FIELD(acq_netns, max_syn_backlog),
	L_FIELD(acq_netns, syncookies), L_FIELD(acq_netns, abort_on_overflow),
	L_STRUCT(acq_stats),
	L_FIELD(acq_stats, lost_events), L_FIELD(acq_stats, suppressed_events),
	L_FIELD(acq_stats, map_full), L_FIELD(acq_stats, snapshot_ns), L_FIELD(acq_stats, probe),
	L_FIELD(acq_stats, rows), L_FIELD(acq_stats, namespaces), L_FIELD(acq_stats, sockets),
	L_STRUCT(acq_event),
	L_FIELD(acq_event, ts_ns), L_FIELD(acq_event, key), L_FIELD(acq_event, raddr),
	L_FIELD(acq_event, rport), L_FIELD(acq_event, path), L_FIELD(acq_event, rfamily),
	L_FIELD(acq_event, backlog), L_FIELD(acq_event, max_backlog),
	L_FIELD(acq_event, syn_backlog),
	L_STRUCT(acq_lkey),
	L_FIELD(acq_lkey, netns_cookie), L_FIELD(acq_lkey, netns), L_FIELD(acq_lkey, family), L_FIELD(acq_lkey, port),
	L_FIELD(acq_lkey, addr),
};

int acq_layout(struct acq_layout *out, __u32 max)
{
	__u32 n = sizeof(layout) / sizeof(layout[0]);

	if (!out)
		return (int)n;
	if (n > max)
		n = max;
	memcpy(out, layout, n * sizeof(*out));
	return (int)n;
}
