import type { KyInstance } from 'ky';
import { beforeAll, describe, expect, it } from 'vitest';
import { infuseKy } from '../../src/adapters/ky.js';
import { CircuitBreakerError, Infuse } from '../../src/index.js';
import { record, rejectionOf, unsupportedNode, useMsw, useServers } from './helpers.js';
import { kyClients, kyForms, type KyModule } from './ky-forms.js';

// ky merges the breaker's hooks with every other hook of a chain, whichever form gives them.
useMsw('bypass');
const net = useServers();

for (const client of kyClients) {
  const unsupported = unsupportedNode(client.name, client.minNode);
  describe.skipIf(unsupported).each(kyForms)(
    `infuseKy in a chain, ${client.name}, $name`,
    (form) => {
      let mod: KyModule;
      beforeAll(async () => {
        mod = await client.load();
      });

      /** A parent with a hook in every list ky 1 and ky 2 share, each noting its name. */
      function parentWithHooks(ran: string[]): KyInstance {
        return mod.default.create({
          retry: 0,
          hooks: {
            beforeRequest: [
              (given: unknown) => {
                ran.push('beforeRequest');
                // ky 1 passes the Request, ky 2 a state object that holds it.
                const request =
                  given instanceof Request ? given : (given as { request: Request }).request;
                request.headers.set('x-parent', '1');
              },
            ],
            afterResponse: [() => void ran.push('afterResponse')],
            beforeError: [
              (error) => {
                ran.push('beforeError');
                return error;
              },
            ],
          },
        });
      }

      it("keeps the parent's own hooks running, and guards", async () => {
        const ran: string[] = [];
        const infuse = new Infuse({ failMax: 1 });
        const api = form.extend(parentWithHooks(ran), { infuse });
        const { origin, host } = net.up;
        expect(await api.get(`${origin}/ok`).text()).toBe('ok');
        expect(net.up.headers.at(-1)?.['x-parent']).toBe('1');
        expect(ran).toEqual(['beforeRequest', 'afterResponse']);
        ran.length = 0;
        expect(await rejectionOf(api.get(`${origin}/status/500`))).toBeInstanceOf(mod.HTTPError);
        expect(ran).toEqual(['beforeRequest', 'afterResponse', 'beforeError']);
        expect(infuse.circuit(host).state).toBe('open');
        const hits = net.up.hits;
        expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
        expect(net.up.hits).toBe(hits);
      });

      it('stays guarded under a later extend() with hooks of its own, which run', async () => {
        const infuse = new Infuse({ failMax: 1 });
        const recording = record(infuse);
        const later: string[] = [];
        const api = form.extend(mod.default.create({ retry: 0 }), { infuse }).extend({
          hooks: {
            beforeRequest: [() => void later.push('beforeRequest')],
            afterResponse: [() => void later.push('afterResponse')],
          },
        });
        const { origin, host } = net.up;
        expect(await api.get(`${origin}/ok`).text()).toBe('ok');
        // ky 1 runs no beforeRequest hook after one that hands it a response (the breaker's).
        const before = client.name === 'ky 1' ? [] : ['beforeRequest'];
        expect(later).toEqual([...before, 'afterResponse']);
        await infuse.circuit(host).forceOpen();
        const hits = net.up.hits;
        expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
        expect(net.up.hits).toBe(hits);
        expect(recording.verdicts()).toEqual(['success', 'reject']);
      });

      it('runs beforeRequest hooks given before the breaker, in the same extend()', async () => {
        const infuse = new Infuse({ failMax: 1 });
        const ran: string[] = [];
        const hooks = infuseKy({ infuse });
        const api = mod.default.create({ retry: 0 }).extend({
          hooks: {
            beforeRequest: [() => void ran.push('mine'), ...hooks.beforeRequest],
            init: hooks.init,
          },
        } as Parameters<KyInstance['extend']>[0]);
        const { origin, host } = net.up;
        expect(await api.get(`${origin}/ok`).text()).toBe('ok');
        expect(ran).toEqual(['mine']);
        await infuse.circuit(host).forceOpen();
        expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
      });

      it('counts each attempt once with two breakers in one chain: the first guards', async () => {
        const first = new Infuse({ failMax: 10 });
        const second = new Infuse({ failMax: 10 });
        const parent = mod.default.create({ retry: { limit: 2, delay: () => 1 } });
        const api = form.extend(form.extend(parent, { infuse: first }), { infuse: second });
        const { origin, host } = net.up;
        const hits = net.up.hits;
        expect(await rejectionOf(api.get(`${origin}/status/500`))).toBeInstanceOf(mod.HTTPError);
        expect(net.up.hits).toBe(hits + 3);
        expect(first.circuit(host).failCounter).toBe(3);
        expect([...second.keys()]).toEqual([]);
        // The first breaker's refusal reaches no other circuit.
        await first.circuit(host).forceOpen();
        expect(await rejectionOf(api.get(`${origin}/ok`))).toBeInstanceOf(CircuitBreakerError);
        expect(net.up.hits).toBe(hits + 3);
        expect([...second.keys()]).toEqual([]);
      });

      it('is ky options whose hooks are the only enumerable property', () => {
        const extension = infuseKy();
        expect(Object.keys(extension)).toEqual(['hooks']);
        expect(extension.beforeRequest).toBe(extension.hooks.beforeRequest);
        expect(extension.init).toBe(extension.hooks.init);
      });
    },
  );
}
