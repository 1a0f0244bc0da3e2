/**
 * A TCP proxy that delays every chunk by `delay` ms in each direction, to show what Redis latency
 * does (and does not do) to the breaker. Chunks keep their order: timers of equal delay fire in
 * the order they were set.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class DelayProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(target: number, delay: number) {
    this.#server = createServer((client) => {
      const upstream = connect(target, '127.0.0.1');
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      this.#sockets.add(client).add(upstream);
      const pipe = (from: Socket, to: Socket) => {
        from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), delay));
        from.on('close', () => setTimeout(() => to.destroy(), delay));
        from.on('error', () => to.destroy());
      };
      pipe(client, upstream);
      pipe(upstream, client);
    });
  }

  static async start(target: number, delay: number): Promise<DelayProxy> {
    const proxy = new DelayProxy(target, delay);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
