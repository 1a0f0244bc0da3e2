/**
 * A fleet of real child processes (test/redis/fixtures/worker.ts, run with tsx) sharing one
 * circuit through Redis, and the HTTP upstream they call, which records every request it gets.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { CallStats, WorkerCommand, WorkerConfig } from './fixtures/worker.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { Waiters } from '../helpers/waiters.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
// tsx, and .lua files as text (src/redis/scripts), as the build has them.
const RUN_TS = [
  '--import',
  'tsx',
  '--import',
  fileURLToPath(new URL('../../scripts/lua-text.mjs', import.meta.url)),
];
const children = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface WorkerMessage {
  readonly type: string;
  readonly name: string;
  /** Epoch milliseconds (sub-millisecond precision) when the worker sent it. */
  readonly at: number;
  readonly [field: string]: unknown;
}

export interface Hit {
  readonly from: string;
  readonly at: number;
  /** The circuit generation the call was admitted in (its recovery attempt, for a trial). */
  readonly generation: number;
}

/** What the upstream does with one request: a status, sent after `hold` ms (never if Infinity). */
export type Respond = (from: string) => { status: number; hold?: number };

export class Upstream {
  readonly hits: Hit[] = [];
  respond: Respond = () => ({ status: 200 });
  readonly #server: Server;
  readonly #held = new Set<ServerResponse>();

  private constructor(server: Server) {
    this.#server = server;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      const from = query.get('from') ?? '?';
      const generation = Number(query.get('gen'));
      this.hits.push({ from, generation, at: performance.timeOrigin + performance.now() });
      const { status, hold = 0 } = this.respond(from);
      const end = () => {
        this.#held.delete(response);
        response.writeHead(status).end(String(status));
      };
      if (hold === Infinity) this.#held.add(response);
      else if (hold > 0) setTimeout(end, hold);
      else end();
    });
  }

  static async start(): Promise<Upstream> {
    const server = createServer({ keepAlive: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new Upstream(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  hitsFrom(name: string): Hit[] {
    return this.hits.filter((hit) => hit.from === name);
  }

  async close(): Promise<void> {
    for (const response of this.#held) response.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** One child process of the fleet; `C` is what its script understands. */
export class Worker<C extends { readonly type: string } = WorkerCommand> {
  readonly name: string;
  readonly messages: WorkerMessage[] = [];
  readonly #child: ChildProcess;
  readonly #waiters = new Waiters();

  /** `script`: the worker to run (fixtures/worker.ts unless given), with `config` as argument. */
  constructor(config: { readonly name: string }, script = WORKER) {
    this.name = config.name;
    this.#child = fork(script, [JSON.stringify(config)], {
      execArgv: RUN_TS,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(this.#child);
    this.#child.on('message', (message: WorkerMessage) => {
      this.messages.push(message);
      this.#waiters.wake();
    });
    this.#child.on('exit', () => {
      children.delete(this.#child);
      this.#waiters.wake();
    });
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  send(command: C): void {
    this.#child.send(command);
  }

  /** Sends `command` and resolves with the first later message of type `reply`. */
  async ask(command: C, reply: string, timeout = 15_000): Promise<WorkerMessage> {
    const seen = this.messages.length;
    this.send(command);
    return this.waitFor((m, i) => i >= seen && m.type === reply, timeout);
  }

  async stats(command: C, reply: string): Promise<CallStats & { state: string }> {
    const message = await this.ask(command, reply);
    return { ...(message.stats as CallStats), state: message.state as string };
  }

  /** Resolves with the first message (already received or to come) that matches. */
  waitFor(
    match: (message: WorkerMessage, index: number) => boolean,
    timeout = 15_000,
  ): Promise<WorkerMessage> {
    return this.#waiters.until(
      () => {
        const found = this.messages.find(match);
        if (found === undefined && !this.alive) {
          throw new Error(`worker ${this.name} exited while waiting`);
        }
        return found;
      },
      timeout,
      () => new Error(`worker ${this.name}: no matching message within ${timeout} ms`),
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill(signal);
    return exited;
  }

  async exit(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    // Every worker script understands 'exit'.
    this.#child.send({ type: 'exit' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts `count` workers with `config(i)` and waits until each has reached Redis. */
export async function startWorkers<
  C extends { readonly type: string } = WorkerCommand,
  // Checks each caller's configs against its worker script's type (fixtures/worker.ts by default).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  Config extends { readonly name: string } = WorkerConfig,
>(count: number, config: (index: number) => Config, script?: string): Promise<Worker<C>[]> {
  const workers = Array.from({ length: count }, (_, i) => new Worker<C>(config(i), script));
  await Promise.all(
    workers.map(async (worker) => {
      const ready = await worker.waitFor((m) => m.type === 'ready', 30_000);
      if (ready.reached !== true) throw new Error(`worker ${worker.name} could not reach Redis`);
    }),
  );
  return workers;
}

/** Hits grouped by the generation their calls were admitted in, oldest first. */
export function byGeneration(hits: readonly Hit[]): Hit[][] {
  const groups = new Map<number, Hit[]>();
  for (const hit of hits) groups.set(hit.generation, [...(groups.get(hit.generation) ?? []), hit]);
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** What {@link fleetForFile} gives a test file; set before its first test runs. */
export interface FleetFile {
  readonly server: RedisServer;
  readonly upstream: Upstream;
  /** The workers a test started: they exit after it, and the upstream is reset. */
  workers: Worker[];
}

/** A redis-server and an upstream for the test file, and cleanup of each test's workers. */
export function fleetForFile(): FleetFile {
  const file = { workers: [] } as unknown as FleetFile & {
    server: RedisServer;
    upstream: Upstream;
  };
  beforeAll(async () => {
    [file.server, file.upstream] = await Promise.all([startRedis(), Upstream.start()]);
  });
  afterEach(async () => {
    await Promise.all(file.workers.map((worker) => worker.exit()));
    file.workers = [];
    file.upstream.hits.length = 0;
    file.upstream.respond = () => ({ status: 200 });
  });
  afterAll(async () => {
    await file.upstream.close();
    await file.server.stop();
  });
  return file;
}
