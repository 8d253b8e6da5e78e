// SPDX-License-Identifier: GPL-2.0
/*
 * The knobs user space sets before load and the counters it reads, shared
 * by every program: defined once here, declared extern where they are used
 * (common.bpf.h, counters.bpf.h). calibrate.bpf.c defines its own.
 */
#include "common.bpf.h"

const volatile __u32 events_per_sec = 50;
const volatile __u8 netns_by_inode = 0;
const volatile __u32 mib_listen_overflows = 0, mib_reqqfull_drop = 0, mib_syncookies_sent = 0;
const volatile __u64 rcv_state_start = 0, rcv_state_end = 0;
const volatile __u64 v4_cookie_start = 0, v4_cookie_end = 0;
const volatile __u64 v6_cookie_start = 0, v6_cookie_end = 0;
__u32 peak_gen = 0;
__u64 lost_events = 0;
__u64 suppressed_events = 0;
__u64 map_full = 0;
__u64 lost_arrivals = 0;
__u64 lost_waits = 0;
__u64 lost_listens = 0;
