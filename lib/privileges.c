// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Least privilege: after attaching, an unprivileged uid and only the kept capabilities. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "internal.h"

/*
 * Capabilities are per thread, Node runs several threads, and capset() only
 * ever changes the calling one; libuv's worker threads also block every
 * signal, so no signal can make them drop theirs. A change of uid is the one
 * thing glibc applies to every thread (its setxid broadcast cannot be
 * blocked), and the kernel clears the capabilities of each thread whose uid
 * leaves 0. So: keep capabilities across the change on this thread only,
 * move the process to the unprivileged uid, then raise just what is kept on
 * this thread. Threads created later by this one (the namespace walker)
 * inherit that set; every other thread ends with none.
 */
int acq_drop_caps(__u64 keep, __u32 uid, __u32 gid, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int last = 63;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

	/* unreadable: every possible capability (the kernel refuses those it lacks with EINVAL) */
	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = 63;
		fclose(f);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return fail(NULL, err, errlen, -errno, "PR_SET_KEEPCAPS: %s", strerror(errno));
	/* the bounding set, so that nothing exec'd later gets more back */
	for (int c = 0; c <= last; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
			return fail(NULL, err, errlen, -errno, "PR_CAPBSET_DROP %d: %s", c, strerror(errno));
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return fail(NULL, err, errlen, -errno, "cannot change to uid %u: %s", uid, strerror(errno));
	for (int i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted = (__u32)(keep >> (32 * i));
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data))
		return fail(NULL, err, errlen, -errno, "capset: %s", strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return fail(NULL, err, errlen, -errno, "PR_SET_KEEPCAPS 0: %s", strerror(errno));
	/* the uid change made the process non-dumpable: /proc/self stays readable */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return fail(NULL, err, errlen, -errno, "PR_SET_DUMPABLE: %s", strerror(errno));
	return 0;
}
