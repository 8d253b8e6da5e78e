/** A program in a real terminal: tmux at a fixed size, keys and mouse in, screen out. */
import { execFileSync } from 'node:child_process';

export class Tmux {
  constructor(readonly name: string) {}

  static start(name: string, command: string, width = 120, height = 40, env: Record<string, string> = {}): Tmux {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const args = ['new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), ...envArgs, command];
    // When the last session ends, the tmux server exits; a client that reached
    // its socket just then is told "server exited unexpectedly" (or "lost
    // server"). A new server is started on the next try.
    for (let attempt = 1; ; attempt++) {
      try {
        execFileSync('tmux', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        return new Tmux(name);
      } catch (e) {
        const said = String((e as { stderr?: Buffer }).stderr ?? '');
        if (attempt >= 5 || !/server exited unexpectedly|lost server/.test(said)) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200 * attempt);
      }
    }
  }

  capture(): string {
    return execFileSync('tmux', ['capture-pane', '-p', '-t', this.name], { encoding: 'utf8' });
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, ...keys]);
  }

  /** Text typed as it is (no key names): escape sequences, for one. */
  literal(text: string): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, '-l', text]);
  }

  /**
   * A left click at a cell (0-based column and row of the pane), as a
   * terminal with xterm's SGR mouse reports sends it: the press, then a
   * moment later the release (a program may read one report per read).
   */
  async click(col: number, row: number): Promise<void> {
    this.literal(`\x1b[<0;${col + 1};${row + 1}M`);
    await new Promise((r) => setTimeout(r, 60));
    this.literal(`\x1b[<0;${col + 1};${row + 1}m`);
  }

  /** One step of the mouse wheel at a cell (0-based). */
  wheel(col: number, row: number, dir: 'up' | 'down'): void {
    this.literal(`\x1b[<${dir === 'up' ? 64 : 65};${col + 1};${row + 1}M`);
  }

  resize(width: number, height: number): void {
    execFileSync('tmux', ['resize-window', '-t', this.name, '-x', String(width), '-y', String(height)]);
  }

  display(format: string): string {
    return execFileSync('tmux', ['display-message', '-p', '-t', this.name, format], { encoding: 'utf8' }).trim();
  }

  /** The first process started in the pane's shell (the program under test). */
  programPid(): number {
    const shell = this.display('#{pane_pid}');
    return Number(execFileSync('pgrep', ['-o', '-P', shell], { encoding: 'utf8' }).trim());
  }

  /** Poll the screen until pred holds (bounded); returns the last screen. */
  async waitFor(pred: (screen: string) => boolean, timeoutMs = 15000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.capture();
      if (pred(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`screen never matched; last screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  kill(): void {
    try {
      execFileSync('tmux', ['kill-session', '-t', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
