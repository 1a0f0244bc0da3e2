// A `circuits` entry that names a host applies to it on any port, as users write them; an entry
// with the port beats it.
import { describe, expect, it } from 'vitest';
import { infuseFetch } from '../../src/adapters/fetch.js';
import { Infuse } from '../../src/index.js';
import { useServers } from './helpers.js';

/** How many failures open the circuit of `key`. */
async function failMaxOf(infuse: Infuse, key: string): Promise<number> {
  const circuit = infuse.circuit(key);
  let failures = 0;
  while (circuit.state === 'closed' && failures < 20) {
    failures++;
    await circuit.call(() => Promise.reject(new Error('down'))).catch(() => undefined);
  }
  return failures;
}

describe('circuits entries and ports', () => {
  const net = useServers();

  it("an entry naming a host applies to that host's requests on any port", async () => {
    const fetch = infuseFetch({ failMax: 5, circuits: { '127.0.0.1': { failMax: 1 } } });
    await expect(fetch(`${net.up.origin}/status/503`).then((r) => r.status)).resolves.toBe(503);
    const seen = net.up.hits;
    await expect(fetch(`${net.up.origin}/ok`)).rejects.toMatchObject({
      name: 'CircuitBreakerError',
      key: net.up.host,
    });
    expect(net.up.hits).toBe(seen);
  });

  it('an entry with the port beats the one without; patterns match keys with ports', async () => {
    const infuse = new Infuse({
      failMax: 9,
      circuits: {
        'api.example.com': { failMax: 2 },
        'api.example.com:8443': { failMax: 3 },
        '*.example.com': { failMax: 4 },
        '*.example.com:9000': { failMax: 5 },
        '[::1]': { failMax: 6 },
      },
    });
    expect(await failMaxOf(infuse, 'api.example.com:8080')).toBe(2);
    expect(await failMaxOf(infuse, 'api.example.com:8443')).toBe(3);
    expect(await failMaxOf(infuse, 'www.example.com:8443')).toBe(4);
    expect(await failMaxOf(infuse, 'www.example.com:9000')).toBe(5);
    expect(await failMaxOf(infuse, '[::1]:8080')).toBe(6);
    expect(await failMaxOf(infuse, 'example.com:8080')).toBe(9);
    // A key that is not host:port is looked up as it is.
    expect(await failMaxOf(infuse, 'api.example.com:name')).toBe(9);
  });
});
