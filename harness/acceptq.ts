/** Runs the real acceptq CLI and collects its NDJSON records. */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { CLI, NODE_ENV, NODE_FLAGS } from './paths';

export type JsonRecord = {
  time: string;
  probe: string;
  lostEvents: number;
  suppressedEvents: number;
  mapFull: number;
  notice?: string;
  namespaces: Array<Record<string, any>>;
  listeners: Array<Record<string, any>>;
  events: Array<Record<string, any>>;
};

export class AcceptqJson {
  readonly records: JsonRecord[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess) {
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on('line', (l) => {
      this.records.push(JSON.parse(l));
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((r) => proc.once('exit', (code) => {
      for (const w of this.waiters.splice(0)) w();
      r(code);
    }));
  }

  /**
   * asLaunched: with the V8 flags and environment ./acceptq gives node (what
   * memory is measured on); wrap: a command that execs the rest in place (so
   * proc.pid stays acceptq's), e.g. to run it in a mount namespace of its own.
   */
  static start(args: string[] = [], opts: { asLaunched?: boolean; wrap?: string[] } = {}): AcceptqJson {
    const flags = opts.asLaunched ? NODE_FLAGS : [];
    const env = opts.asLaunched ? { ...process.env, ...NODE_ENV } : process.env;
    const [cmd, ...rest] = [...(opts.wrap ?? []), process.execPath, ...flags, CLI, '--json', '--interval', '0.5', ...args];
    return new AcceptqJson(spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'], env }));
  }

  /** The first record (after index `from`) that satisfies pred; rejects after timeoutMs. */
  async waitFor(pred: (r: JsonRecord) => boolean, timeoutMs = 15000, from = 0): Promise<JsonRecord> {
    const deadline = Date.now() + timeoutMs;
    let i = from;
    for (;;) {
      for (; i < this.records.length; i++) if (pred(this.records[i])) return this.records[i];
      if (this.proc.exitCode !== null) throw new Error(`acceptq exited (${this.proc.exitCode}): ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching record within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** A record taken strictly after now (so it reflects everything so far). */
  async fresh(timeoutMs = 15000): Promise<JsonRecord> {
    const after = Date.now();
    return this.waitFor((r) => Date.parse(r.time) > after, timeoutMs, this.records.length);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill(signal);
    return this.exited;
  }
}
