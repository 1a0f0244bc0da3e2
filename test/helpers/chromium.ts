// How tests launch Debian's `chromium` through playwright-core: no browser is downloaded, and
// nothing reaches the network.
import { execFileSync } from 'node:child_process';

/** Flags for a headless Chromium that stays off the network and out of the way. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The path of `chromium` on PATH, or null (after printing how to install it) when there is none. */
export function findChromium(test: string): string | null {
  try {
    const path = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (path !== '') return path;
  } catch {
    // not installed
  }
  console.warn(`${test} skipped: no \`chromium\` on PATH (Debian: apt-get install -y chromium)`);
  return null;
}
