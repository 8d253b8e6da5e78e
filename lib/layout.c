// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The layout report: struct sizes and field offsets, for the binding's mirrors. */
#define _GNU_SOURCE
#include <string.h>
#include "internal.h"

#define L_STRUCT(T) { #T, sizeof(struct T), 0 }
#define L_FIELD(T, F) { #T "." #F, sizeof(((struct T *)0)->F), offsetof(struct T, F) },

/* Each struct's fields, in the order of libacceptq.h. */
#define OPEN_OPTS_FIELDS(F, T) F(T, abi_version) F(T, probe) F(T, events_per_sec) \
	F(T, ringbuf_kb) F(T, retain_closed_s) F(T, max_listeners) F(T, max_namespaces) F(T, log_path)
#define LISTENER_FIELDS(F, T) F(T, netns_cookie) F(T, netns) F(T, family) F(T, port) F(T, addr) \
	F(T, pid) F(T, sockets) F(T, backlog) F(T, max_backlog) F(T, peak_backlog) F(T, syn_backlog) \
	F(T, overflows_syn) F(T, overflows_ack) F(T, syn_drops) F(T, cookies) F(T, first_overflow_ms) \
	F(T, last_overflow_ms) F(T, cgroup_id) F(T, inode) F(T, closed_ms) F(T, uid) F(T, flags) F(T, comm) \
	F(T, requested_backlog) F(T, oldest_wait_us) F(T, requested_known) F(T, arrivals) F(T, accepts) F(T, waited) \
	F(T, wait_sum_us) F(T, wait_min_us) F(T, wait_max_us) F(T, wait_hist) F(T, cgroup)
#define NETNS_FIELDS(F, T) F(T, netns) F(T, pid) F(T, cookie) F(T, listen_overflows) \
	F(T, listen_drops) F(T, syncookies_sent) F(T, reqqfull_drop) F(T, reqqfull_cookies) \
	F(T, attributed) F(T, attributed_syn_drops) F(T, attributed_cookies) F(T, unmatched) \
	F(T, start_attributed) F(T, start_listen_overflows) F(T, start_listen_drops) \
	F(T, start_syncookies_sent) F(T, start_reqqfull_drop) F(T, start_attributed_syn_drops) \
	F(T, start_attributed_cookies) F(T, start_unmatched) F(T, gone) F(T, estimate) F(T, somaxconn) \
	F(T, max_syn_backlog) F(T, syncookies) F(T, abort_on_overflow)
#define STATS_FIELDS(F, T) F(T, lost_events) F(T, suppressed_events) F(T, map_full) \
	F(T, lost_arrivals) F(T, lost_waits) F(T, lost_listens) \
	F(T, snapshot_ns) F(T, probe) F(T, rows) F(T, namespaces) F(T, sockets)
#define EVENT_FIELDS(F, T) F(T, ts_ns) F(T, key) F(T, raddr) F(T, rport) F(T, path) \
	F(T, rfamily) F(T, backlog) F(T, max_backlog) F(T, syn_backlog)
#define LKEY_FIELDS(F, T) F(T, netns_cookie) F(T, netns) F(T, family) F(T, port) F(T, addr)

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct acq_layout layout[] = {
	L_STRUCT(acq_open_opts), OPEN_OPTS_FIELDS(L_FIELD, acq_open_opts)
	L_STRUCT(acq_listener), LISTENER_FIELDS(L_FIELD, acq_listener)
	L_STRUCT(acq_netns), NETNS_FIELDS(L_FIELD, acq_netns)
	L_STRUCT(acq_stats), STATS_FIELDS(L_FIELD, acq_stats)
	L_STRUCT(acq_event), EVENT_FIELDS(L_FIELD, acq_event)
	L_STRUCT(acq_lkey), LKEY_FIELDS(L_FIELD, acq_lkey)
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
