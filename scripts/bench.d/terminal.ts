/**
 * Terminal part of scripts/bench: the bytes the dashboard writes to its
 * terminal per second at the default 1 s interval, idle and while a SYN
 * flood overflows a listener (what a slow ssh link or a serial console has
 * to carry). The dashboard runs in tmux; tmux's pipe-pane copies every byte
 * the program writes to a file, whose growth is counted over each phase.
 *
 *   node dist/scripts/bench.d/terminal.js --seconds 20
 *
 * Prints one JSON line. Run as root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_COMMAND, LOAD, installSignalCleanup, progIdsOf, round, runMain, sleep, startInNamespace, stopChild, tmux, tmuxScratch, waitUntil } from './common';

const WIDTH = 120;
const HEIGHT = 40;
const TERM = 'xterm-256color';


/** Bytes the file grew by over `seconds` (a phase), per second. */
async function rate(file: string, seconds: number) {
  const b0 = fs.statSync(file).size;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const bytes = fs.statSync(file).size - b0;
  const elapsed = (performance.now() - t0) / 1000;
  return { seconds: round(elapsed, 1), bytes, bytesPerSec: round(bytes / elapsed, 0) };
}

async function main(): Promise<void> {
  installSignalCleanup('terminal');
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' } } });
  const seconds = Number(values.seconds);
  if (!(seconds > 0 && seconds <= 600)) throw new Error(`--seconds wants 1 to 600, not '${values.seconds}'`);

  const { session, dir, kill } = tmuxScratch('term');
  const file = path.join(dir, 'pane');
  fs.writeFileSync(file, '');

  tmux('new-session', '-d', '-s', session, '-x', String(WIDTH), '-y', String(HEIGHT),
    `exec env TERM=${TERM} LANG=C.UTF-8 ${CLI_COMMAND} --interval 1 --duration ${4 * seconds + 120}`);
  const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
  const drawn = await waitUntil(() => progIdsOf(pid).length >= 3 && tmux('capture-pane', '-p', '-t', session).includes('q quit'), 30000, 50);
  if (!drawn) throw new Error(`the dashboard did not start: ${tmux('capture-pane', '-p', '-t', session)}`);
  tmux('pipe-pane', '-o', '-t', session, `cat >> ${file}`);
  await sleep(3000); // past the first frames

  const idle = await rate(file, seconds);
  process.stderr.write(`terminal: idle ${idle.bytesPerSec} bytes/s\n`);

  const threads = Math.max(1, Math.min(8, os.cpus().length));
  const flood = await startInNamespace(LOAD, ['flood', String(seconds + 30), String(threads), '--hold', String(seconds + 60)], 30000);
  let busy;
  try {
    await sleep(3000); // the flood's listener shows up, its notice and sparkline start
    busy = await rate(file, seconds);
  } finally {
    await stopChild(flood.proc);
  }
  process.stderr.write(`terminal: under a flood ${busy.bytesPerSec} bytes/s\n`);

  tmux('send-keys', '-t', session, 'q');
  await waitUntil(() => progIdsOf(pid).length === 0, 5000);
  kill();
  process.stdout.write(JSON.stringify({ term: TERM, width: WIDTH, height: HEIGHT, interval: 1, idle, flood: busy }) + '\n');
}

runMain('terminal', main);
