// The page the browser test loads, bundled by esbuild from the package's ESM build (dist/): the
// adapters as a browser app imports them. Each client gets its own Infuse (failMax 2, a short
// resetTimeout) so that the test drives one circuit per client.
import axios from 'axios';
import ky from 'ky';
// By the package's own name, as an app imports it: esbuild resolves it through package.json's
// `exports` to dist/ (`npm run build`).
import { Infuse, findCircuitBreakerError } from 'infuse-breaker';
import { infuseAxios } from 'infuse-breaker/axios';
import { infuseFetch } from 'infuse-breaker/fetch';
import { infuseKy } from 'infuse-breaker/ky';

const options = { failMax: 2, resetTimeout: 300 };
const breakers = {
  fetch: new Infuse(options),
  ky: new Infuse(options),
  'ky hooks': new Infuse(options),
  axios: new Infuse(options),
  'axios interceptor': new Infuse(options),
};

const guardedFetch = infuseFetch({ infuse: breakers.fetch });
const api = ky.extend(infuseKy({ infuse: breakers.ky }));
const hooked = ky.extend({ hooks: infuseKy({ infuse: breakers['ky hooks'] }) });
const instance = axios.create();
infuseAxios(instance, { infuse: breakers.axios });
const intercepted = axios.create();
intercepted.interceptors.request.use(infuseAxios({ infuse: breakers['axios interceptor'] }));

/** What one call through a client gave: a status, or the breaker's refusal, or another error. */
async function call(client, path) {
  try {
    if (client === 'fetch') return { status: (await guardedFetch(path)).status };
    if (client === 'ky' || client === 'ky hooks') {
      const target = client === 'ky' ? api : hooked;
      return { status: (await target.get(path, { retry: 0, throwHttpErrors: false })).status };
    }
    const target = client === 'axios' ? instance : intercepted;
    return { status: (await target.get(path, { validateStatus: () => true })).status };
  } catch (error) {
    const refusal = findCircuitBreakerError(error);
    if (refusal !== undefined) return { refused: refusal.key, state: refusal.state };
    return { error: String(error) };
  }
}

/** The circuits one client's Infuse holds: key and state. */
function circuits(client) {
  return breakers[client].snapshot().map(({ key, state }) => ({ key, state }));
}

Object.assign(globalThis, { call, circuits });
