/**
 * The exporter's metric families, listed once: name, type and help. The
 * exporter (metrics.ts) writes them; a fleet (src/fleet/figures.ts) reads
 * its figures back by these names.
 */
export interface FamilySpec {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
}

export const FAMILIES = {
  overflows: { name: 'acceptq_listen_overflows_total', type: 'counter', help: 'Accept-queue overflows of the listener since acceptq started, by the path that dropped them (syn or ack).' },
  synDrops: { name: 'acceptq_syn_queue_drops_total', type: 'counter', help: 'SYNs dropped because the SYN queue was full and SYN cookies were off.' },
  cookies: { name: 'acceptq_syncookies_sent_total', type: 'counter', help: 'SYNs answered with a SYN cookie.' },
  backlog: { name: 'acceptq_accept_queue_length', type: 'gauge', help: 'Connections waiting in the accept queue now.' },
  limit: { name: 'acceptq_accept_queue_limit', type: 'gauge', help: 'The listen() backlog; the kernel admits one more per socket before it drops.' },
  peak: { name: 'acceptq_accept_queue_peak', type: 'gauge', help: 'Deepest the accept queue got since the previous sample.' },
  synq: { name: 'acceptq_syn_queue_length', type: 'gauge', help: 'Half-open connections in the SYN queue now.' },
  sockets: { name: 'acceptq_listener_sockets', type: 'gauge', help: 'Sockets of the listener (a SO_REUSEPORT group has several).' },
  estimate: { name: 'acceptq_listener_estimate', type: 'gauge', help: "1 if the listener's counts are an estimate: several listeners of its namespace had drops or cookies where the kernel's count can go to the wrong one of them (the namespace total is exact); sticky." },
  nsOverflows: { name: 'acceptq_namespace_listen_overflows_total', type: 'counter', help: "The kernel's TcpExtListenOverflows of the namespace since acceptq started." },
  nsDrops: { name: 'acceptq_namespace_listen_drops_total', type: 'counter', help: "The kernel's TcpExtListenDrops of the namespace since acceptq started." },
  nsSynDrops: { name: 'acceptq_namespace_syn_queue_drops_total', type: 'counter', help: "The kernel's TcpExtTCPReqQFullDrop of the namespace since acceptq started." },
  nsCookies: { name: 'acceptq_namespace_syncookies_sent_total', type: 'counter', help: "The kernel's TcpExtSyncookiesSent of the namespace since acceptq started." },
  unattributed: { name: 'acceptq_namespace_unattributed_overflows', type: 'gauge', help: "The namespace's TcpExtListenOverflows minus the overflows acceptq credited to its listeners; negative if it credited more." },
  unattributedSynDrops: { name: 'acceptq_namespace_unattributed_syn_queue_drops', type: 'gauge', help: "The namespace's TcpExtTCPReqQFullDrop minus the SYN-queue drops acceptq credited to its listeners; negative if it credited more." },
  unattributedCookies: { name: 'acceptq_namespace_unattributed_syncookies', type: 'gauge', help: "The namespace's TcpExtSyncookiesSent minus the cookies acceptq credited to its listeners; negative if it credited more." },
  unmatched: { name: 'acceptq_namespace_unmatched_total', type: 'counter', help: 'Kernel counter moves in the namespace at sockets acceptq could not name.' },
  nsEstimate: { name: 'acceptq_namespace_estimate', type: 'gauge', help: "1 if the split of the namespace's counts among its listeners was an estimate in the last interval." },
  arrivals: { name: 'acceptq_arrivals_total', type: 'counter', help: 'Connections whose handshake completed into the accept queue since acceptq started (overflowed ones never arrive).' },
  accepts: { name: 'acceptq_accepts_total', type: 'counter', help: 'Connections the application took from the accept queue since acceptq started: arrivals minus the queue\'s growth, so io_uring accepts count too.' },
  wait: { name: 'acceptq_accept_wait_seconds', type: 'histogram', help: 'Time from the completed handshake to accept(), of the accept() calls timed since acceptq started (io_uring accepts are not timed); log2 buckets.' },
  oldest: { name: 'acceptq_oldest_wait_seconds', type: 'gauge', help: 'Age of the oldest connection waiting in the accept queue now (0: none waits).' },
  requested: { name: 'acceptq_listen_backlog_requested', type: 'gauge', help: 'The backlog listen() asked for, summed over the sockets, before net.core.somaxconn cut it (no sample: not seen, the socket listened before acceptq).' },
  somaxconn: { name: 'acceptq_namespace_somaxconn', type: 'gauge', help: "The namespace's net.core.somaxconn: every listen() backlog is cut to it." },
  maxSynBacklog: { name: 'acceptq_namespace_tcp_max_syn_backlog', type: 'gauge', help: "The namespace's net.ipv4.tcp_max_syn_backlog." },
  syncookies: { name: 'acceptq_namespace_tcp_syncookies', type: 'gauge', help: "The namespace's net.ipv4.tcp_syncookies (0 off, 1 when the SYN queue is full, 2 always)." },
  abortOnOverflow: { name: 'acceptq_namespace_tcp_abort_on_overflow', type: 'gauge', help: "The namespace's net.ipv4.tcp_abort_on_overflow (1: a full accept queue answers with a reset)." },
  open: { name: 'acceptq_listener_open', type: 'gauge', help: 'Whether the listener is open (1) or closed and kept until it ages out (0).' },
  pid: { name: 'acceptq_listener_pid', type: 'gauge', help: 'The process that owns the listener now (0: unknown).' },
  lastOverflow: { name: 'acceptq_listener_last_overflow_timestamp_seconds', type: 'gauge', help: "When the listener last overflowed, Unix seconds (no sample: not since acceptq started)." },
  lost: { name: 'acceptq_lost_events_total', type: 'counter', help: 'Detail events lost to a full ring buffer (counts do not travel with events: none is lost with them).' },
  info: { name: 'acceptq_probe_info', type: 'gauge', help: 'The probe set in use.' },
  host: { name: 'acceptq_host_info', type: 'gauge', help: 'The host acceptq runs on: its host name and kernel release.' },
  build: { name: 'acceptq_build_info', type: 'gauge', help: 'Always 1: the acceptq version serving these metrics, and the Node.js version it runs on.' },
  started: { name: 'acceptq_start_time_seconds', type: 'gauge', help: 'When this acceptq started, Unix seconds: its counters count from about then, so a new value is a restart and every counter here starts again from 0.' },
} as const satisfies Record<string, FamilySpec>;
