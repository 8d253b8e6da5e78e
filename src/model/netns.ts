/**
 * A network namespace's stable id. Its inode number is what `ip netns` and
 * `lsns` show, but the kernel reuses it once the namespace is gone; the
 * cookie (SO_NETNS_COOKIE, Linux 5.14) never is. Before 5.14 the library
 * uses the inode number with bit 63 set instead (lib/netns.c netns_id), so
 * there a reused inode still names both namespaces alike.
 *
 * In the model the id is a JS number: the kernel's cookie (a counter, far
 * below 2^53), or for the pre-5.14 form, which a double cannot hold exactly
 * (inodes 2,048 apart would collide), the inode negated. Out of the model
 * (JSON, metrics, the --netns filter) it is the exact decimal of the u64.
 */

const BIT63 = 1n << 63n;

/** The model's id from the u64's two 32-bit halves, as the library wrote it. */
export function netnsIdFromWords(lo: number, hi: number): number {
  if (hi & 0x80000000) return -lo; // inode | 1 << 63: the inode is the low word
  return hi * 4294967296 + lo;
}

/** The exact decimal of the library's u64 id: "4097", or "9223372041149743104" for inode|1<<63. */
export function netnsCookieText(id: number): string {
  return id < 0 ? (BIT63 | BigInt(-id)).toString() : String(id);
}

/**
 * A namespace id read from a recording: a format-3 (or older) recording made
 * before 5.14 holds inode|1<<63 as a rounded double, which the inode (beside
 * it in the row) puts right; anything else is as written.
 */
export function netnsIdFromRecording(id: number, inode: number): number {
  return id >= 2 ** 63 ? -inode : id;
}

/**
 * What --netns matches: the inode number (every namespace that had it, a
 * closed one included) or the cookie (that one namespace), as decimal text.
 */
export function matchesNetns(want: string, inode: number, id: number): boolean {
  return want === String(inode) || want === netnsCookieText(id);
}

/** The model's id from its exact decimal text (a metrics label, JSON); 0 for text that is none. */
export function netnsIdFromText(text: string): number {
  if (!/^\d{1,20}$/.test(text)) return 0;
  const v = BigInt(text);
  if (v >= 1n << 64n) return 0;
  return v & BIT63 ? -Number(v & 0xffffffffn) : Number(v);
}
