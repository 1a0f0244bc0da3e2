/**
 * One real `redis-server` process for tests (a node, a Cluster node or a Sentinel), on a free port
 * (never the shared default port), in its own temporary directory. Every process started here is
 * killed when the test file's process exits, also when a test fails or times out.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const live = new Set<RedisServer>();

/**
 * Runs redis-server under a shell that prints its pid, and a watchdog that kills it and removes
 * its directory when the test process's end of stdin closes: also when the test process is killed
 * and no 'exit' handler runs. ($1 is the directory; the rest are redis-server's arguments.)
 */
const WATCHDOG = `
dir=$1; shift
exec 3<&0
redis-server "$@" </dev/null &
pid=$!
echo "pid $pid"
(read -r _ <&3; kill -9 $pid 2>/dev/null; rm -rf "$dir") &
watchdog=$!
wait $pid; status=$?
kill $watchdog 2>/dev/null
exit $status
`;

process.once('exit', () => {
  for (const server of live) server.killNow();
});

/** One `redis-server` process. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #args: readonly string[];
  readonly #config: string | null;
  #child: ChildProcess | null = null;
  /** redis-server's own pid (the child is the watchdog shell around it). */
  #pid: number | null = null;

  /**
   * `args` follow the defaults on the command line; `config` is written to a file read first (a
   * Sentinel needs one it can rewrite).
   */
  constructor(port: number, args: readonly string[] = [], config: string | null = null) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), `infuse-redis-${port}-`));
    this.#args = args;
    this.#config = config;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** True once redis-server's pid is known and it has not been killed. */
  get running(): boolean {
    return this.#pid !== null;
  }

  get pid(): number {
    if (this.#pid === null) throw new Error(`redis-server on ${this.port} is not running`);
    return this.#pid;
  }

  /** Starts the process and resolves once it accepts connections. */
  async start(): Promise<this> {
    const config = this.#config === null ? [] : [join(this.dir, 'redis.conf')];
    if (this.#config !== null) writeFileSync(join(this.dir, 'redis.conf'), this.#config);
    const child = spawn(
      'sh',
      [
        '-c',
        WATCHDOG,
        'sh',
        this.dir,
        ...config,
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        ...this.#args,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#child = child;
    this.#pid = null;
    live.add(this);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      this.#pid ??= Number(/^pid (\d+)$/m.exec(output)?.[1]) || null;
    });
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`redis-server on ${this.port} exited (${code}): ${output}`)),
      );
    });
    await Promise.race([waitForPort(this.port, 10_000), exited]);
    // (a getter, so that the check is not narrowed to the null assigned above)
    for (let i = 0; !this.running; i++) {
      if (i > 200) throw new Error(`redis-server on ${this.port}: no pid reported`);
      await sleep(10);
    }
    return this;
  }

  /** Sends a signal to redis-server (SIGSTOP / SIGCONT freeze and thaw it). */
  signal(signal: NodeJS.Signals): void {
    if (this.#pid !== null) process.kill(this.#pid, signal);
  }

  /** Kills redis-server and waits for it to exit; the data directory is kept for a restart. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    const pid = this.#pid;
    if (child === null) return;
    this.#child = null;
    this.#pid = null;
    if (child.exitCode === null && child.signalCode === null && pid !== null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(pid, 'SIGCONT');
      process.kill(pid, signal);
      await exited;
    }
    child.stdin?.end();
  }

  /** Stops the process and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs `redis-cli` against this server and returns its output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), ...args]);
    return stdout.trim();
  }

  killNow(): void {
    try {
      if (this.#pid !== null) process.kill(this.#pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until something accepts TCP connections on `port`. */
export async function waitForPort(port: number, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await sleep(25);
  }
}

const taken = new Set<number>();

/** A free TCP port other than Redis's default one; with `bus`, port + 10000 is free too. */
export async function freePort(bus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (port === 6379 || taken.has(port)) continue;
    if (!(await canListen(port))) continue;
    if (bus && !(await canListen(port + 10_000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error('no free port found');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port nothing listens on (for tests of an unreachable Redis). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
