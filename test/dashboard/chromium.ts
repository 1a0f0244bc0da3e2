/**
 * Debian's `chromium`, driven by playwright-core (no browser is downloaded), with the flags the
 * project's browser tests use. A missing `chromium` fails the test that needs it, with what to
 * install: a browser test that skips itself could never fail.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

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

function findChromium(): string {
  try {
    const found = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (found !== '') return found;
  } catch {
    // reported below
  }
  throw new Error(
    'no `chromium` on PATH: the dashboard is tested in a real browser (Debian: apt-get install -y chromium)',
  );
}

/** A headless Chromium; close it when done. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}
