/**
 * A process holding listening and connected sockets in a network namespace
 * of its own (test/support/sockets.py under `unshare -n`), driven a command
 * at a time. Bounded: every answer has a time limit, and stop() kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT } from '../../harness/paths';

const SCRIPT = path.join(ROOT, 'test', 'support', 'sockets.py');

export class Sockets {
  private answers: string[] = [];
  private waiters: Array<() => void> = [];
  netns = 0;
  pid = 0;

  private constructor(private readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.answers.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    proc.once('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async start(): Promise<Sockets> {
    const s = new Sockets(spawn('unshare', ['-n', 'python3', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const hello = await s.next();
    s.netns = hello.netns;
    s.pid = hello.pid;
    return s;
  }

  private async next(timeoutMs = 10000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (!this.answers.length) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error('sockets.py: no answer');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    const a = JSON.parse(this.answers.shift()!);
    if (a.error) throw new Error(`sockets.py: ${a.error}`);
    return a;
  }

  /** One command (see sockets.py), its answer. */
  async run(cmd: string): Promise<any> {
    this.proc.stdin!.write(cmd + '\n');
    return this.next();
  }

  async listen(port: number, backlog: number, opts: { reuseport?: boolean; python?: boolean } = {}): Promise<number> {
    const verb = opts.python ? 'pylisten' : 'listen';
    return (await this.run(`${verb} ${port} ${backlog}${opts.reuseport ? ' reuseport' : ''}`)).id;
  }

  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
