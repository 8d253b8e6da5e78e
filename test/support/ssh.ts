/**
 * A real ssh session to this machine: Debian's sshd on a loopback port, with
 * a host key, a user key and its own configuration in a temporary directory
 * (root logs in by that key only), and the ssh client command that opens it.
 * Also: reading a tmux pane as the terminal shows it (line drawing by the
 * terminal's alternate character set included), and the processes an sshd
 * started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SSHD = '/usr/sbin/sshd'; // sshd re-executes itself: it must be started by its absolute path
/** sshd's privilege separation directory: Debian's service creates it, so a bare sshd needs it made. */
const PRIVSEP_DIR = '/run/sshd';

/** A word for a POSIX shell, quoted. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A free TCP port on 127.0.0.1 (free now: the caller binds it next). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export class Sshd {
  private log = '';
  private madePrivsep = false;
  private proc: ChildProcess | null = null;
  /** The loopback port it listens on. */
  port = 0;

  private constructor(readonly dir: string) {}

  /** The client's private key. */
  get key(): string {
    return path.join(this.dir, 'id_ed25519');
  }

  get pid(): number {
    return this.proc!.pid!;
  }

  /** Starts sshd on a free loopback port (a few tries: the port may be taken meanwhile); resolves once it listens. */
  static async start(): Promise<Sshd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptq-ssh-'));
    const s = new Sshd(dir);
    try {
      if (!fs.existsSync(PRIVSEP_DIR)) {
        fs.mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
        s.madePrivsep = true;
      }
      const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'acceptq-test', '-f', path.join(dir, file)]);
      keygen('host_ed25519');
      keygen('id_ed25519');
      fs.copyFileSync(path.join(dir, 'id_ed25519.pub'), path.join(dir, 'authorized_keys'));
      for (let attempt = 0; ; attempt++) {
        if (await s.listen(await freePort())) return s;
        if (attempt >= 4) throw new Error(`sshd did not start: ${s.log}`);
      }
    } catch (e) {
      await s.stop();
      throw e;
    }
  }

  /** Starts sshd on the port; false when it did not come to listen there (within 10 s). */
  private async listen(port: number): Promise<boolean> {
    const config = path.join(this.dir, 'sshd_config');
    fs.writeFileSync(config, [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(this.dir, 'host_ed25519')}`,
      `PidFile ${path.join(this.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no', // the keys live in a temporary directory, not in root's home
      'AcceptEnv LANG LC_*', // as Debian's own sshd_config: the client's locale reaches the session
      'PrintMotd no',
      'PrintLastLog no',
      'MaxStartups 20',
      '',
    ].join('\n'));
    const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d) => (this.log += d));
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10000);
      const check = () => {
        if (/Server listening on 127\.0\.0\.1 port/.test(this.log)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      proc.stderr!.on('data', check);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (listening) {
      this.proc = proc;
      this.port = port;
      return true;
    }
    if (proc.exitCode === null) proc.kill('SIGKILL');
    return false;
  }

  /** What sshd logged (for a failure's message). */
  get logText(): string {
    return this.log;
  }

  /**
   * The ssh client command (for a shell) that runs `remote` on this server
   * in a terminal of its own (-tt), as root with the test's key; the client's
   * TERM and LANG go with it, as they do from a person's terminal.
   */
  client(remote: string): string {
    return ['ssh', '-tt', '-F', '/dev/null', '-i', this.key, '-p', String(this.port),
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'SendEnv=LANG LC_*',
      'root@127.0.0.1', remote].map(shq).join(' ');
  }

  /** Every process started under this sshd (its sessions and what they run), with its arguments. */
  descendants(): Array<{ pid: number; argv: string[] }> {
    const parent = new Map<number, number>();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // the field after the command name, which may hold spaces and parentheses
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    const out: Array<{ pid: number; argv: string[] }> = [];
    const under = (pid: number): boolean => {
      for (let p = parent.get(pid), hops = 0; p !== undefined && hops < 64; p = parent.get(p), hops++) if (p === this.pid) return true;
      return false;
    };
    for (const pid of parent.keys()) {
      if (!under(pid)) continue;
      try {
        out.push({ pid, argv: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1) });
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (this.madePrivsep) {
      try {
        fs.rmdirSync(PRIVSEP_DIR);
      } catch {
        // in use by an sshd started meanwhile: it stays
      }
    }
  }
}

/** The VT100 line-drawing characters as the terminal shows them. */
const ACS: Record<string, string> = { j: '┘', k: '┐', l: '┌', m: '└', n: '┼', q: '─', t: '├', u: '┤', v: '┴', w: '┬', x: '│' };

/**
 * A tmux pane as it looks: capture-pane with its attributes, where the text
 * drawn in the alternate character set (between SO and SI in tmux's dump)
 * becomes the line drawing the terminal shows for it, and colours and other
 * attributes are dropped. acs tells whether any text was drawn that way.
 */
export function renderedPane(target: string): { text: string; acs: boolean } {
  const raw = execFileSync('tmux', ['capture-pane', '-p', '-e', '-t', target], { encoding: 'utf8' });
  let text = '';
  let inAcs = false;
  let acs = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\x0e') inAcs = acs = true;
    else if (ch === '\x0f') inAcs = false;
    else if (ch === '\x1b') {
      const m = /^\x1b\[[0-9;:]*m/.exec(raw.slice(i));
      if (m) i += m[0].length - 1;
      else text += ch; // not an attribute: kept, for the caller to find
    } else text += inAcs ? ACS[ch] ?? ch : ch; // (tmux leaves SO on across line ends)
  }
  return { text, acs };
}
