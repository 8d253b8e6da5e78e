/**
 * Runs every lab scenario, each in a network namespace of its own, beside a
 * live acceptq, and prints acceptq's count next to the kernel's.
 */
import { AcceptqJson } from '../../harness/acceptq';
import { startLab } from '../../harness/lab';

const ALL = ['syn', 'ack', 'ack-cookie', 'v6', 'reuseport', 'twoaddr', 'dualstack', 'idle'];

async function main(): Promise<void> {
  const scenarios = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
  for (const s of scenarios) {
    if (!ALL.includes(s)) {
      process.stderr.write(`scripts/lab: unknown scenario '${s}' (one of ${ALL.join(', ')})\n`);
      process.exit(2);
    }
  }
  const aq = AcceptqJson.start();
  try {
    const first = await aq.waitFor(() => true, 20000);
    console.log(`acceptq attached (probe set: ${first.probe})\n`);
    console.log('scenario     listener                 acceptq  (syn+ack)  kernel ListenOverflows');
    for (const s of scenarios) {
      const lab = await startLab(s, 30);
      try {
        const kernel = lab.netstat().TcpExtListenOverflows;
        const rec = await aq.waitFor((r) => Date.parse(r.time) > Date.now() - 100 && r.listeners.some((l) => l.netns === lab.netns), 20000, aq.records.length);
        for (const l of rec.listeners.filter((x) => x.netns === lab.netns && !x.closed)) {
          const ep = l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
          console.log(`${s.padEnd(12)} ${ep.padEnd(24)} ${String(l.overflows).padStart(7)}  (${l.overflowsSyn}+${l.overflowsAck})`.padEnd(56) + `${kernel}`);
        }
      } finally {
        await lab.stop();
      }
    }
  } finally {
    await aq.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`scripts/lab: ${e.message}\n`);
  process.exit(1);
});
