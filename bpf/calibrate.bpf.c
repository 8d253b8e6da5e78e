// SPDX-License-Identifier: GPL-2.0
/*
 * Finding each CPU's per-CPU offset, once, at start (see counters.bpf.h).
 *
 * Where /proc/kallsyms lists data symbols, the kernel's own
 * __per_cpu_offset[] is read as it is. Elsewhere (5.19+ only): a per-CPU
 * array map's lookup on a CPU returns its slot in that CPU's copy: the
 * slot's address minus the slot's per-CPU address (the map's pptrs[0]) is
 * the CPU's offset, for every CPU through bpf_map_lookup_percpu_elem(); the
 * static per-CPU variables (at their .data..percpu offsets) also need where
 * that section starts, found from this CPU's run queue (the running task's
 * cfs_rq->rq is this CPU's copy of runqueues).
 *
 * Every result is checked against what the kernel itself keeps there
 * (this_cpu_off holds each CPU's offset, __preempt_count says this is
 * process context), so a layout this does not understand leaves
 * calibrated_cpus at 0 and acceptq refuses to start rather than read the
 * wrong memory.
 */
#include "counters.bpf.h"

/* What calibration is told (before load) and finds (declared extern in counters.bpf.h). */
const volatile __u64 per_cpu_offset_addr = 0;
const volatile __u32 nr_cpus = 1;
const volatile __u64 percpu_this_cpu_off = 0;
const volatile __u64 percpu_preempt_count = 0;
const volatile __u64 percpu_current_task = 0;
const volatile __u64 percpu_runqueues = 0;
__u64 cpu_off[ACQ_MAX_CPUS] = {};
__u64 percpu_start = 0;
__u32 calibrated_cpus = 0;
__u32 preempt_count_ok = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_anchor SEC(".maps");

/* __per_cpu_offset[cpu] for every CPU; 0 if one cannot be read. */
static __always_inline int offsets_from_kallsyms(void)
{
	for (__u32 cpu = 0; cpu < ACQ_MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		if (bpf_probe_read_kernel(&cpu_off[cpu], sizeof(cpu_off[cpu]),
					  (void *)(per_cpu_offset_addr + 8 * (__u64)cpu)))
			return -1;
	}
	percpu_start = 0;
	return 0;
}

/* The same from a per-CPU map and the run queue (kernels whose kallsyms lists no data). */
static __always_inline int offsets_from_map(__u32 this_cpu)
{
	struct bpf_array *array = (void *)&cpu_anchor;
	__u32 zero = 0;
	__u64 slot = 0, rq, current = 0;
	struct task_struct *task;

	if (!KERNEL_HAS_HELPER(map_lookup_percpu_elem) || !bpf_core_field_exists(struct cfs_rq, rq) ||
	    !percpu_runqueues || !percpu_current_task)
		return -1;
	if (bpf_probe_read_kernel(&slot, sizeof(slot),
				  (void *)(addr_of(array) + bpf_core_field_offset(struct bpf_array, pptrs))))
		return -1;
	for (__u32 cpu = 0; cpu < ACQ_MAX_CPUS; cpu++) {
		void *v;

		if (cpu >= nr_cpus)
			break;
		v = lookup_percpu_elem(&cpu_anchor, &zero, cpu);
		if (!v)
			return -1;
		cpu_off[cpu] = addr_of(v) - slot;
	}
	task = (struct task_struct *)bpf_get_current_task();
	rq = addr_of(BPF_CORE_READ(task, se.cfs_rq, rq));
	percpu_start = rq - cpu_offset(this_cpu) - percpu_runqueues;
	if (bpf_probe_read_kernel(&current, sizeof(current),
				  (void *)(percpu_start + percpu_current_task + cpu_offset(this_cpu))) ||
	    current != addr_of(task))
		return -1;
	return 0;
}

/* Never attached: user space runs it once after load (BPF_PROG_TEST_RUN). */
SEC("raw_tp")
int acq_calibrate(void *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id(), ok = 0;
	int pc = -1;

	if (!percpu_this_cpu_off || cpu >= ACQ_MAX_CPUS)
		return 0;
	if (per_cpu_offset_addr ? offsets_from_kallsyms() : offsets_from_map(cpu))
		return 0;
	/* this_cpu_off of every CPU holds that CPU's offset */
	for (__u32 c = 0; c < ACQ_MAX_CPUS; c++) {
		__u64 self = 0;

		if (c >= nr_cpus)
			break;
		if (bpf_probe_read_kernel(&self, sizeof(self),
					  (void *)(percpu_start + percpu_this_cpu_off + cpu_off[c])) ||
		    self != cpu_off[c])
			break;
		ok = c + 1;
	}
	calibrated_cpus = ok == nr_cpus ? ok : 0;
	/*
	 * This runs in process context with softirqs enabled: a preemption
	 * count read here must say so, or it is not trusted (and every
	 * observation counts as one another packet could have run into).
	 */
	preempt_count_ok = percpu_preempt_count &&
			   !bpf_probe_read_kernel(&pc, sizeof(pc), (void *)(percpu_start + percpu_preempt_count +
									    cpu_offset(cpu))) &&
			   !(pc & SOFTIRQ_MASK_); /* x86 keeps need-resched inverted in bit 31 */
	return 0;
}
