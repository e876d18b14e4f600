import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

/** Where tests write what a person may want to look at (screenshots); kept after the run, ignored by git. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

export interface LaunchOptions {
  /** A CA (PEM) Chromium trusts besides the system's, through an NSS database in a home of its own. */
  trust?: string;
  /** Every name resolves to this address (a loopback address the test listens on). */
  resolveTo?: string;
}

/** A home directory whose NSS database (where Chromium on Linux reads trust) trusts `ca` for TLS servers. */
async function trustingHome(ca: string): Promise<string> {
  const home = await tempDir('codiusd-chromium-home-');
  const database = join(home, '.pki', 'nssdb');
  await mkdir(database, { recursive: true });
  await writeFile(join(home, 'ca.pem'), ca);
  await run('certutil', ['-N', '-d', `sql:${database}`, '--empty-password']);
  await run('certutil', [
    '-A',
    '-d',
    `sql:${database}`,
    '-n',
    'test CA',
    '-t',
    'C,,',
    '-i',
    join(home, 'ca.pem'),
  ]);
  return home;
}

/**
 * Debian's Chromium, headless, with a fresh profile (playwright makes one per launch) and nothing of its own on the network (no updates,
 * sync, QUIC or background requests): it loads only what the test points it at. Closed after the file.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const home = options.trust ? await trustingHome(options.trust) : null;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    ...(home ? { env: { ...process.env, HOME: home } } : {}),
    args: [
      ...(options.resolveTo ? [`--host-resolver-rules=MAP * ${options.resolveTo}`] : []),
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
