/**
 * The one way tests (and the dashboard benchmark) launch a browser: Debian's `chromium`, driven by
 * playwright-core, so that no browser is downloaded and nothing reaches the network. A missing
 * `chromium` fails the test that needs it, with what to install: a browser test that skips itself
 * could never fail.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** Flags for a headless Chromium that stays off the network and out of the way. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The path of `chromium` on PATH; throws, naming the package to install, when there is none. */
export function chromiumPath(): string {
  try {
    const found = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (found !== '') return found;
  } catch {
    // reported below
  }
  throw new Error(
    'no `chromium` on PATH: browser tests run in a real Chromium; install it (Debian/Ubuntu: apt-get install -y chromium)',
  );
}

/** A headless Chromium; close it when done. Rejects with {@link chromiumPath}'s error. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}
