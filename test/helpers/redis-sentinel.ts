/**
 * A real Sentinel setup for tests: one master, one replica and three `redis-server --sentinel`,
 * on free ports. When the master dies, the Sentinels promote the replica.
 */
import { freePort, RedisServer, sleep } from './redis-process.js';

/** The name the Sentinels monitor the master under. */
export const MASTER_NAME = 'infuse-master';

export class RedisSentinel {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  readonly sentinels: readonly RedisServer[];

  constructor(master: RedisServer, replica: RedisServer, sentinels: readonly RedisServer[]) {
    this.master = master;
    this.replica = replica;
    this.sentinels = sentinels;
  }

  /** What ioredis / iovalkey take: `new Redis({ sentinels, name })`. */
  get sentinelNodes(): { host: string; port: number }[] {
    return this.sentinels.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** The port every Sentinel names as the master now. */
  async masterPort(): Promise<number | null> {
    const answers = await Promise.all(
      this.sentinels.map((s) => s.cli('sentinel', 'get-master-addr-by-name', MASTER_NAME)),
    );
    const ports = new Set(answers.map((answer) => Number(answer.split('\n')[1])));
    return ports.size === 1 ? ([...ports][0] ?? null) : null;
  }

  /** Resolves once every Sentinel names the replica as master and it says it is one. */
  async promoted(timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const role = await this.replica.cli('role').catch(() => '');
      if ((await this.masterPort()) === this.replica.port && role.startsWith('master')) return;
      if (Date.now() > deadline) throw new Error('the Sentinels did not promote the replica');
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.master, this.replica, ...this.sentinels].map((node) => node.stop()));
  }
}

/** Starts the master, its replica and three Sentinels, and waits until they know each other. */
export async function startSentinel(): Promise<RedisSentinel> {
  const started: RedisServer[] = [];
  try {
    const master = new RedisServer(await freePort());
    started.push(master);
    await master.start();
    const replica = new RedisServer(await freePort(), [
      '--replicaof',
      '127.0.0.1',
      String(master.port),
    ]);
    started.push(replica);
    await replica.start();
    const config = [
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 10000`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      '',
    ].join('\n');
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = new RedisServer(await freePort(), ['--sentinel'], config);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    await Promise.all(sentinels.map((sentinel) => sentinel.start()));
    const setup = new RedisSentinel(master, replica, sentinels);
    await settled(setup);
    return setup;
  } catch (error) {
    await Promise.all(started.map((node) => node.stop()));
    throw error;
  }
}

/** Every Sentinel knows the replica (in sync) and the two other Sentinels: a failover can run. */
async function settled(setup: RedisSentinel): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const link = await setup.replica.cli('info', 'replication');
    const views = await Promise.all(
      setup.sentinels.map(async (sentinel) => ({
        replicas: await sentinel.cli('sentinel', 'replicas', MASTER_NAME),
        quorum: await sentinel.cli('sentinel', 'ckquorum', MASTER_NAME).catch(() => ''),
      })),
    );
    if (
      link.includes('master_link_status:up') &&
      views.every(
        (view) =>
          view.replicas.includes(String(setup.replica.port)) && view.quorum.includes('OK 3 usable'),
      )
    ) {
      return;
    }
    if (Date.now() > deadline) throw new Error('the Sentinels did not settle');
    await sleep(200);
  }
}
