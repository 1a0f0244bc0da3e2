// Requests per second through fetch and ky, with and without the infuse-breaker adapter, against a
// local keep-alive HTTP server (in a child process, so it does not share the client's event loop),
// with 64 requests in flight. Variants take turns within each round, in a rotating order; the table
// shows the median over the rounds and the ratio with/without the adapter.
//
//   npm run bench:http-fetch-ky -- --rounds 7 --duration 3000
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import ky from 'ky';
import { infuseFetch } from '../src/adapters/fetch.js';
import { infuseKy } from '../src/adapters/ky.js';
import { Infuse } from '../src/index.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2000' },
    inflight: { type: 'string', default: '64' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const inflight = Number(values.inflight);

const SERVER = `
const http = require('node:http');
const body = Buffer.from('{"ok":true}');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

type Client = (url: string) => Promise<unknown>;

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(server.stdout, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${chunk.toString().trim()}/`;

  const infuse = new Infuse();
  const guardedFetch = infuseFetch({ infuse });
  const guardedKy = ky.extend(infuseKy({ infuse }));
  const variants: [string, string, Client][] = [
    ['fetch', 'without', (u) => fetch(u).then((r) => r.arrayBuffer())],
    ['fetch', 'with', (u) => guardedFetch(u).then((r) => r.arrayBuffer())],
    ['ky', 'without', (u) => ky.get(u).arrayBuffer()],
    ['ky', 'with', (u) => guardedKy.get(u).arrayBuffer()],
  ];

  // Warm up every path (JIT, sockets) before measuring.
  for (const [, , client] of variants) await measure(client, url, Math.min(500, duration));
  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, mode, client] = variants[(i + round) % variants.length]!;
      const rate = await measure(client, url, duration);
      const label = `${name} ${mode}`;
      results.set(label, [...(results.get(label) ?? []), rate]);
    }
  }
  server.kill();

  const circuit = infuse.circuit(new URL(url).host).snapshot();
  console.log(
    `node ${process.version}, ${rounds} rounds of ${duration} ms, ${inflight} in flight; ` +
      `circuit ${circuit.state}, ${circuit.failures} failures`,
  );
  console.log('| client | without (req/s) | with adapter (req/s) | with / without |');
  console.log('|---|---:|---:|---:|');
  for (const name of ['fetch', 'ky']) {
    const without = median(results.get(`${name} without`)!);
    const withAdapter = median(results.get(`${name} with`)!);
    console.log(
      `| ${name} | ${Math.round(without)} | ${Math.round(withAdapter)} | ${((100 * withAdapter) / without).toFixed(1)}% |`,
    );
  }
}

/** Runs `inflight` loops of back-to-back requests for `ms`; returns completed requests per second. */
async function measure(client: Client, url: string, ms: number): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await client(url);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return (done * 1000) / (performance.now() - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

await main();
