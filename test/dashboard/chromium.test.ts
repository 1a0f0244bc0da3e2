/**
 * The browser helper every browser test uses fails, naming what to install, when there is no
 * `chromium`: a browser test that skipped itself instead could never fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../helpers/chromium.js';

describe('the Chromium helper', () => {
  const path = process.env.PATH;
  const empty = mkdtempSync(join(tmpdir(), 'no-chromium-'));
  afterEach(() => {
    process.env.PATH = path;
  });

  it('finds chromium on PATH', () => {
    expect(chromiumPath()).toMatch(/chromium$/);
  });

  it('throws, naming the package to install, when chromium is not on PATH', async () => {
    process.env.PATH = empty;
    expect(() => chromiumPath()).toThrow('apt-get install -y chromium');
    await expect(launchChromium()).rejects.toThrow('no `chromium` on PATH');
    rmSync(empty, { recursive: true, force: true });
  });
});
