/**
 * A real Redis Cluster for tests: three masters, with or without one replica each, on free ports,
 * joined by `redis-cli --cluster create`. With replicas, a killed master is replaced by its replica
 * (the failover tests).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, RedisServer, sleep } from './redis-process.js';

const run = promisify(execFile);

export interface ClusterOptions {
  /** Replicas per master (0 or 1). @default 0 */
  readonly replicas?: 0 | 1;
  /**
   * `cluster-node-timeout`: how long a master may not answer before its replica takes over.
   * @default 2000
   */
  readonly nodeTimeout?: number;
}

/** One node as `CLUSTER NODES` reports it. */
export interface ClusterNode {
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** True when the cluster holds the node for failed. */
  readonly failed: boolean;
  /** The slot ranges it serves (masters only), as `CLUSTER NODES` prints them. */
  readonly slots: readonly string[];
}

export class RedisCluster {
  readonly nodes: readonly RedisServer[];

  constructor(nodes: readonly RedisServer[]) {
    this.nodes = nodes;
  }

  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** The cluster's view of its nodes, as told by the first running node. */
  async topology(): Promise<ClusterNode[]> {
    const reporter = this.nodes.find((node) => node.running);
    if (reporter === undefined) throw new Error('no node of the cluster is running');
    const text = await reporter.cli('cluster', 'nodes');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [, address = '', flags = '', , , , , , ...slots] = line.split(' ');
        return {
          port: Number(/:(\d+)@/.exec(address)?.[1]),
          role: flags.includes('master') ? 'master' : 'replica',
          failed: flags.includes('fail'),
          slots,
        } satisfies ClusterNode;
      });
  }

  /** The server of each master that serves slots. */
  async masters(): Promise<RedisServer[]> {
    const masters = (await this.topology()).filter((n) => n.role === 'master' && !n.failed);
    return masters.filter((node) => node.slots.length > 0).map((node) => this.#server(node.port));
  }

  /** The master serving `slot`. */
  async masterOf(slot: number): Promise<RedisServer> {
    for (const node of await this.topology()) {
      if (node.role !== 'master' || node.failed) continue;
      for (const range of node.slots) {
        const [from, to = from] = range.split('-').map(Number);
        if (from !== undefined && to !== undefined && slot >= from && slot <= to) {
          return this.#server(node.port);
        }
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /**
   * Resolves once every running node says `cluster_state:ok` and the masters that serve slots are
   * all running: after a failover, the replicas have taken over.
   */
  async healthy(timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const running = this.nodes.filter((node) => node.running);
      const states = await Promise.all(running.map((node) => node.cli('cluster', 'info')));
      const masters = await this.masters().catch(() => []);
      if (
        states.every((info) => info.includes('cluster_state:ok')) &&
        masters.length === 3 &&
        masters.every((node) => node.running)
      ) {
        return;
      }
      if (Date.now() > deadline) throw new Error('Redis Cluster did not become healthy');
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  #server(port: number): RedisServer {
    const server = this.nodes.find((node) => node.port === port);
    if (server === undefined) throw new Error(`port ${port} is not a node of this cluster`);
    return server;
  }
}

/** Starts three masters (and a replica for each, with `replicas: 1`) and joins them. */
export async function startCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const { replicas = 0, nodeTimeout = 2_000 } = options;
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      // The cluster bus listens on port + 10000: both must be free.
      const port = await freePort(true);
      nodes.push(
        new RedisServer(port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeout),
          // A replica takes over however long its link to the master has been down.
          '--cluster-replica-validity-factor',
          '0',
        ]),
      );
    }
    await Promise.all(nodes.map((node) => node.start()));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    const cluster = new RedisCluster(nodes);
    await cluster.healthy(20_000);
    if (replicas > 0) await replicasInSync(nodes);
    return cluster;
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
}

/** Waits until every replica's link to its master is up (a failover needs a synced replica). */
async function replicasInSync(nodes: readonly RedisServer[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const node of nodes) {
    for (;;) {
      const info = await node.cli('info', 'replication');
      if (info.includes('role:master') || info.includes('master_link_status:up')) break;
      if (Date.now() > deadline) throw new Error(`replica on ${node.port} did not sync`);
      await sleep(100);
    }
  }
}
