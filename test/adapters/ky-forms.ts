import type { KyInstance } from 'ky';
import { infuseKy, type InfuseKyOptions } from '../../src/adapters/ky.js';

/** What the ky tests use of ky 1's and ky 2's module. */
export interface KyModule {
  default: KyInstance;
  HTTPError: abstract new (...args: never[]) => Error;
  TimeoutError: abstract new (...args: never[]) => Error;
  isTimeoutError: (error: unknown) => boolean;
}

/** The ky majors every ky test runs against. */
export const kyClients = [
  { name: 'ky 1', load: () => import('ky') as Promise<KyModule>, minNode: 20 },
  // ky 2 is published for Node >= 22 only.
  { name: 'ky 2', load: () => import('ky2') as unknown as Promise<KyModule>, minNode: 22 },
];

/** The two forms users write; each ky test runs in both. */
export const kyForms = [
  {
    name: 'ky.extend(infuseKy())',
    extend: (parent: KyInstance, options: InfuseKyOptions) => parent.extend(infuseKy(options)),
  },
  {
    name: 'ky.extend({ hooks: infuseKy() })',
    extend: (parent: KyInstance, options: InfuseKyOptions) =>
      parent.extend({ hooks: infuseKy(options) }),
  },
];
