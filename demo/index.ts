/**
 * npm run demo — axios, ky, got and fetch send requests through one Infuse to a local upstream
 * with two hosts: one healthy, one that fails for four seconds and then recovers. A live table
 * shows each host's circuit; a summary ends the run. Nothing leaves this machine.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import got from 'got';
import ky from 'ky';
import { CircuitBreakerError, Infuse } from '../src/index.js';
import { infuseAxios } from '../src/adapters/axios.js';
import { infuseFetch } from '../src/adapters/fetch.js';
import { infuseGot } from '../src/adapters/got.js';
import { infuseKy } from '../src/adapters/ky.js';

const RUN_MS = 7_000;
const DOWN_MS = 4_000;
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1).padStart(4);

function listen(
  handler: (path: string) => number,
): Promise<{ server: Server; host: string; seen: { count: number } }> {
  const seen = { count: 0 };
  const server = createServer((request, response) => {
    seen.count++;
    const status = handler(request.url ?? '/');
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, host: `127.0.0.1:${port}`, seen });
    });
  });
}

const healthy = await listen(() => 200);
const flaky = await listen(() => (Date.now() - started < DOWN_MS ? 503 : 200));
const hosts = [
  { label: 'healthy', ...healthy },
  { label: 'flaky', ...flaky },
];

// One Infuse: every client's calls to a host share that host's circuit.
const infuse = new Infuse({ failMax: 3, resetTimeout: 1_000 });
const transitions: string[] = [];
infuse.on('stateChange', ({ key, from, to, reason }) => {
  const label = hosts.find((h) => h.host === key)?.label ?? key;
  transitions.push(`${seconds()}s  ${label} (${key}): ${from} -> ${to}  (${reason})`);
});

const axiosClient = axios.create({ timeout: 2_000 });
infuseAxios(axiosClient, { infuse });
const kyClient = ky.extend(infuseKy({ infuse })).extend({ retry: 0, timeout: 2_000 });
const gotClient = got
  .extend(infuseGot({ infuse }))
  .extend({ retry: { limit: 0 }, timeout: { request: 2_000 } });
const fetchClient = infuseFetch({ infuse });

const clients: Record<string, (url: string) => Promise<unknown>> = {
  axios: (url) => axiosClient.get(url),
  ky: (url) => kyClient.get(url).json(),
  got: (url) => gotClient.get(url).json(),
  fetch: async (url) => {
    const response = await fetchClient(url, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) throw new Error(`status ${response.status}`);
    return response.json();
  },
};

type Tally = { ok: number; failed: number; rejected: number };
const tally = new Map<string, Tally>();
const count = (host: string, client: string, outcome: keyof Tally) => {
  for (const key of [host, `${host} ${client}`]) {
    const entry = tally.get(key) ?? { ok: 0, failed: 0, rejected: 0 };
    entry[outcome]++;
    tally.set(key, entry);
  }
};

async function request(client: string, host: string): Promise<void> {
  try {
    await clients[client]!(`http://${host}/inventory`);
    count(host, client, 'ok');
  } catch (error) {
    count(host, client, error instanceof CircuitBreakerError ? 'rejected' : 'failed');
  }
}

function table(): string[] {
  const lines = [
    `${seconds()}s  host                      state       fails  ok    failed  rejected  upstream saw`,
  ];
  for (const { label, host, seen } of hosts) {
    const circuit = infuse.circuit(host);
    const t = tally.get(host) ?? { ok: 0, failed: 0, rejected: 0 };
    const state =
      circuit.state === 'open'
        ? `open ${Math.ceil(circuit.snapshot().retryAfter / 100) / 10}s`
        : circuit.state;
    lines.push(
      `       ${`${label} ${host}`.padEnd(26)}${state.padEnd(12)}${String(circuit.failCounter).padEnd(7)}${String(t.ok).padEnd(6)}${String(t.failed).padEnd(8)}${String(t.rejected).padEnd(10)}${seen.count}`,
    );
  }
  return lines;
}

const live = process.stdout.isTTY;
let drawn = 0;
function draw(): void {
  const lines = table();
  if (live) {
    if (drawn > 0) process.stdout.write(`\x1b[${drawn}A`);
    process.stdout.write(lines.map((line) => `\x1b[2K${line}`).join('\n') + '\n');
    drawn = lines.length;
  } else {
    console.log(lines.join('\n'));
  }
}

console.log(
  `upstream: healthy ${healthy.host}, flaky ${flaky.host} (503 for the first ${DOWN_MS / 1000} s)`,
);
console.log(
  'clients: axios, ky, got and fetch, through one Infuse (failMax 3, resetTimeout 1 s)\n',
);
const timer = setInterval(draw, live ? 200 : 1_000);
while (Date.now() - started < RUN_MS) {
  await Promise.all(
    Object.keys(clients).flatMap((client) => hosts.map(({ host }) => request(client, host))),
  );
  await new Promise((resolve) => setTimeout(resolve, 40));
}
clearInterval(timer);
draw();

console.log('\ntransitions');
for (const line of transitions) console.log(`  ${line}`);
console.log('\nsummary              ok    failed  rejected (never sent)');
for (const { label, host } of hosts) {
  for (const client of Object.keys(clients)) {
    const t = tally.get(`${host} ${client}`) ?? { ok: 0, failed: 0, rejected: 0 };
    console.log(
      `  ${`${label} / ${client}`.padEnd(19)}${String(t.ok).padEnd(6)}${String(t.failed).padEnd(8)}${t.rejected}`,
    );
  }
}
const flakyTally = tally.get(flaky.host) ?? { ok: 0, failed: 0, rejected: 0 };
console.log(
  `\nThe flaky host was asked ${flakyTally.ok + flakyTally.failed + flakyTally.rejected} times and saw ${flaky.seen.count} requests: the breaker kept ${flakyTally.rejected} away from it while it was down.`,
);
await infuse.shutdown();
for (const { server } of hosts) server.close();
