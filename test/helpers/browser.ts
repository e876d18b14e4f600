import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

/** Where tests write what a person may want to look at (screenshots); kept after the run, ignored by git. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

/**
 * Debian's Chromium, headless, with a fresh profile (playwright makes one per launch) and nothing of its own on the network (no updates,
 * sync, QUIC or background requests): it loads only what the test points it at. Closed after the file.
 */
export async function launchChromium(): Promise<Browser> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  after(() => browser.close());
  return browser;
}
