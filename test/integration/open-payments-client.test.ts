// The example client in examples/open-payments-client, run as a person would run it: it uploads a manifest
// to a real codiusd, prints the payer's consent page, and pays from the payer's wallet at the stand-in
// provider once the page is approved; the person here is a script that opens the printed URL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hashManifest } from '../../src/manifest/hash.js';
import { writeOpenPaymentsKey } from '../../src/payments/open-payments/keygen.js';
import { PRICE_600, startPaidHost, testManifest } from '../helpers/open-payments/paid-host.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const EXAMPLE = fileURLToPath(
  new URL('../../../examples/open-payments-client/pay-and-upload.mjs', import.meta.url),
);

const host = await startPaidHost();
const { provider, hostWallet } = host;
const home = await tempDir();
const keyFile = join(home, 'private.key');
const key = await writeOpenPaymentsKey(keyFile);
const bob = provider.wallet('bob', {
  assetCode: 'XRP',
  assetScale: 9,
  balance: 10n * PRICE_600,
  keys: [key.jwk as never],
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  consentUrl: string | null;
}

/** Runs the example; when it prints the consent URL, the payer opens it (following its redirect home). */
function runExample(args: string[]): Promise<Run> {
  const child = spawn(
    process.execPath,
    [
      EXAMPLE,
      '--host',
      host.url(),
      '--wallet',
      bob.id,
      '--key-id',
      key.keyId,
      '--private-key',
      keyFile,
      '--duration',
      '600',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let consentUrl: string | null = null;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const url = /Approve the payment in your wallet: (\S+)/.exec(stdout)?.[1];
    if (url && consentUrl === null) {
      consentUrl = url;
      // The browser follows the consent page's redirect back to the example's finish address.
      void fetch(url).then((page) => page.text());
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, consentUrl })));
}

describe('the Open Payments example client', () => {
  it('uploads a manifest, has the payer approve at their wallet, pays and gets the pod; then extends it', async (t) => {
    const manifest = testManifest(host.fixture, 'op-example');
    const hash = hashManifest(manifest);
    const file = join(home, 'codius.json');
    await writeFile(file, JSON.stringify(manifest));
    const before = { bob: bob.balance, host: hostWallet.balance };
    const upload = await runExample(['--manifest', file]);
    t.diagnostic(upload.stdout);
    assert.equal(upload.code, 0, upload.stderr);
    assert.match(upload.consentUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/auth\/interact\//);
    const answer = JSON.parse(upload.stdout.slice(upload.stdout.indexOf('{'))) as Record<string, unknown>;
    assert.equal(answer.manifestHash, hash);
    await until('the pod answers through the proxy', async () => (await host.viaProxy(hash)) === 200, 20_000);
    assert.equal(bob.balance, before.bob - PRICE_600, 'the payer paid the price once');
    assert.equal(hostWallet.balance, before.host + PRICE_600, 'the host received it');

    const extension = await runExample(['--extend', hash]);
    assert.equal(extension.code, 0, extension.stderr);
    const extended = JSON.parse(extension.stdout.slice(extension.stdout.indexOf('{'))) as { expiry: string };
    assert.ok(Date.parse(extended.expiry) - Date.parse(String(answer.expiry)) >= 599_000);
    assert.equal(bob.balance, before.bob - 2n * PRICE_600);
  });

  it('pays nothing when the payer refuses at the consent page, and says so', async () => {
    provider.consent = 'reject';
    try {
      const manifest = testManifest(host.fixture, 'op-example-refused');
      const file = join(home, 'refused.json');
      await writeFile(file, JSON.stringify({ manifest }));
      const before = bob.balance;
      const run = await runExample(['--manifest', file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /the wallet did not approve the payment \(\?result=grant_rejected\)/);
      assert.equal(bob.balance, before);
    } finally {
      provider.consent = 'approve';
    }
  });

  it('refuses bad arguments before it sends anything', async () => {
    const run = await runExample(['--extend', 'not-a-hash']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--extend takes a 52-character manifest hash/);
  });
});
