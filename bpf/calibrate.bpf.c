// SPDX-License-Identifier: GPL-2.0
/*
 * Finding each CPU's per-CPU offset, once, at start (see counters.bpf.h).
 *
 * A per-CPU array map's lookup on a CPU returns its slot in that CPU's
 * copy: the slot's address minus the slot's per-CPU address (the map's
 * pptrs[0]) is the CPU's offset, for every CPU through
 * bpf_map_lookup_percpu_elem(). The static per-CPU variables (the kernel's
 * own, at their .data..percpu offsets) also need where that section
 * starts, which is found from this CPU's run queue (the running task's
 * cfs_rq->rq is this CPU's copy of runqueues). Every result is checked
 * against what the kernel itself keeps there (this_cpu_off holds each
 * CPU's offset, current_task the running task, __preempt_count says this is
 * process context), so a layout this does not
 * understand leaves calibrated_cpus at 0 and acceptq refuses to start
 * rather than read the wrong memory.
 */
#include "counters.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_anchor SEC(".maps");

static long offset_of_cpu(__u32 cpu, __u64 *slot)
{
	__u32 zero = 0;
	void *v;

	if (cpu >= ACQ_MAX_CPUS)
		return 1;
	v = lookup_percpu_elem(&cpu_anchor, &zero, cpu);
	if (!v)
		return 1;
	cpu_off[cpu] = addr_of(v) - *slot;
	return 0;
}

static long check_cpu(__u32 cpu, __u32 *ok)
{
	__u64 self = 0;

	if (cpu >= ACQ_MAX_CPUS)
		return 1;
	if (bpf_probe_read_kernel(&self, sizeof(self),
				  (void *)(percpu_start + percpu_this_cpu_off + cpu_off[cpu])) ||
	    self != cpu_off[cpu])
		return 1;
	*ok = cpu + 1;
	return 0;
}

/* Never attached: user space runs it once after load (BPF_PROG_TEST_RUN). */
SEC("raw_tp")
int acq_calibrate(void *ctx)
{
	struct bpf_array *array = (void *)&cpu_anchor;
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id(), ok = 0;
	__u64 slot = 0, rq, current = 0;

	if (!percpu_this_cpu_off || !percpu_runqueues || !percpu_current_task || cpu >= ACQ_MAX_CPUS)
		return 0;
	if (bpf_probe_read_kernel(&slot, sizeof(slot),
				  (void *)(addr_of(array) + bpf_core_field_offset(struct bpf_array, pptrs))))
		return 0;
	bpf_loop(nr_cpus, offset_of_cpu, &slot, 0);
	if (!bpf_core_field_exists(struct cfs_rq, rq))
		return 0;
	rq = addr_of(BPF_CORE_READ(task, se.cfs_rq, rq));
	percpu_start = rq - cpu_off[cpu] - percpu_runqueues;
	if (bpf_probe_read_kernel(&current, sizeof(current),
				  (void *)(percpu_start + percpu_current_task + cpu_off[cpu])) ||
	    current != addr_of(task))
		return 0;
	bpf_loop(nr_cpus, check_cpu, &ok, 0);
	calibrated_cpus = ok == nr_cpus ? ok : 0;
	/*
	 * This runs in process context with softirqs enabled: a preemption
	 * count read here must say so, or it is not trusted (and every
	 * observation counts as one another packet could have run into).
	 */
	int pc = -1;
	preempt_count_ok = percpu_preempt_count &&
			   !bpf_probe_read_kernel(&pc, sizeof(pc), (void *)(percpu_start + percpu_preempt_count +
									    cpu_off[cpu])) &&
			   !(pc & SOFTIRQ_MASK_); /* x86 keeps need-resched inverted in bit 31 */
	return 0;
}
