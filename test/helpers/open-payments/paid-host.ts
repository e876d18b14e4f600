// A real bin/codiusd that takes Open Payments into a wallet at the stand-in provider, beside STREAM through
// a real `moneyd local`, with real Podman pods and its admin listener open; and the requests of a client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { JWK } from '@interledger/http-signature-utils';
import type { Manifest } from '../../../src/domain/types.js';
import { writeOpenPaymentsKey } from '../../../src/payments/open-payments/keygen.js';
import { freePort, startDaemon, type DaemonProcess } from '../daemon.js';
import { setupMoneyd } from '../moneyd.js';
import { setupPodman, type PodmanFixture } from '../podman.js';
import { tempDir } from '../tmp.js';
import { until, untilAcceptingUploads } from '../wait.js';
import { startFakeProvider, type FakeProvider, type Wallet } from './provider.js';
import { adoptHostOf } from '../pod-fixture.js';

/** 10 XRP per month at scale 9: 600 s cost 2283106 base units. */
export const PRICE_600 = 2_283_106n;

export interface Answer {
  status: number;
  pay: string | null;
  body: Record<string, unknown>;
}

export interface Offer {
  incomingPayment: string;
  walletAddress: string;
  amount: { value: string; assetCode: string; assetScale: number };
  expiresAt: string;
}

export interface PaidHost {
  provider: FakeProvider;
  fixture: PodmanFixture;
  root: string;
  port: number;
  hostWallet: Wallet;
  hostKeyId: string;
  /** The daemon's environment, for a second host that differs in a few variables. */
  env: Record<string, string>;
  url(): string;
  /** A request of a Codius client with its Pay-Token. */
  send: (method: string, path: string, token: string, body?: unknown) => Promise<Answer>;
  /** GET through codiusd with the pod's Host header, as a browser on `<hash>.<host>` would: the status. */
  viaProxy: (hash: string) => Promise<number>;
  /** GET on the admin listener with the admin token. */
  admin(path: string): Promise<Response>;
  /** Stops the daemon with `signal`, runs `work` (which may open its store), starts it again. */
  restart<T>(signal: 'SIGTERM' | 'SIGKILL', work?: () => Promise<T>): Promise<T | undefined>;
  /** Waits until a host takes uploads, and Open Payments (its wallet's asset is read in the background). */
  untilTakingOpenPayments(url: string): Promise<void>;
}

export const offerOf = (answer: Answer): Offer => {
  assert.equal(answer.status, 402, JSON.stringify(answer.body));
  return answer.body.openPayments as Offer;
};

export const newToken = (): string => randomBytes(16).toString('base64url');

export function testManifest(fixture: PodmanFixture, name: string): Manifest {
  return {
    name: `${name}-${randomBytes(4).toString('hex')}`,
    version: '1.0.0',
    port: '3000',
    containers: [{ id: 'web', image: fixture.webImage }],
  };
}

function jsonOrText(text: string): Record<string, unknown> {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return { text };
  }
}

function answerOf(
  url: string,
  options: { method: string; headers: Record<string, string> },
  payload?: string,
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(url, { ...options, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          pay: typeof res.headers.pay === 'string' ? res.headers.pay : null,
          body: jsonOrText(text),
        }),
      );
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A paid host; `overrides` change or add variables of its environment. */
export async function startPaidHost(overrides: Record<string, string> = {}): Promise<PaidHost> {
  await setupMoneyd();
  const fixture = await setupPodman();
  const provider = await startFakeProvider();
  const root = await tempDir();
  await adoptHostOf(fixture, root);
  const keyFile = join(root, 'open-payments.pem');
  const hostKey = await writeOpenPaymentsKey(keyFile);
  const hostWallet = provider.wallet('codius-host', {
    assetCode: 'XRP',
    assetScale: 9,
    keys: [hostKey.jwk as unknown as JWK],
  });
  const port = await freePort();
  const adminPort = await freePort();
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    CODIUS_DEV: 'true',
    CODIUS_ROOT: root,
    CODIUS_PORT: String(port),
    CODIUS_BOOTSTRAP_PEERS: '[]',
    CODIUS_PODMAN_NETWORK: fixture.network,
    CODIUS_PODMAN_SUBNET: fixture.subnet,
    CONTAINERS_REGISTRIES_CONF: process.env.CONTAINERS_REGISTRIES_CONF ?? '',
    CODIUS_PAYMENT_TIMEOUT: '3',
    CODIUS_OPEN_PAYMENTS_OFFER_TTL: '8',
    CODIUS_OPEN_PAYMENTS_WALLET: hostWallet.id,
    CODIUS_OPEN_PAYMENTS_KEY_ID: hostKey.keyId,
    CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: keyFile,
    CODIUS_ADMIN_API: 'true',
    CODIUS_ADMIN_PORT: String(adminPort),
    CODIUS_ADMIN_TOKEN: adminToken,
    ...overrides,
  };
  const publicHost = new URL(env.CODIUS_PUBLIC_URI ?? `http://local.codius.org:${port}`).host;
  async function untilTakingOpenPayments(url: string): Promise<void> {
    await untilAcceptingUploads(url);
    await until('the host takes Open Payments', async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as {
        paymentMethods?: Array<{ method: string }>;
      };
      return info.paymentMethods?.some((m) => m.method === 'open-payments') === true;
    });
  }
  async function startHost(): Promise<DaemonProcess & { url: string }> {
    // It outlives the test that restarts it; the Podman fixture stops it (SIGTERM) before its own cleanup.
    const started = await startDaemon(env, [], { stoppedBy: 'caller', stopSignal: 'SIGTERM' });
    try {
      await untilTakingOpenPayments(started.url);
      // The admin listener starts after the public port: tests read it right after a restart.
      await until('the admin listener answers', async () => {
        const answer = await fetch(`http://127.0.0.1:${adminPort}/api/settings`, {
          headers: { authorization: `Bearer ${adminToken}` },
        }).catch(() => undefined);
        return answer?.ok === true;
      });
    } catch (error) {
      started.child.kill('SIGKILL');
      throw new Error(`${String(error)}; codiusd said:\n${started.output().slice(-4000)}`);
    }
    return started;
  }
  let current = await startHost();
  return {
    provider,
    fixture,
    root,
    port,
    hostWallet,
    hostKeyId: hostKey.keyId,
    env,
    url: () => current.url,
    untilTakingOpenPayments,
    send: (method, path, token, body) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { 'pay-token': token };
      if (payload) headers['content-type'] = 'application/json';
      return answerOf(`${current.url}${path}`, { method, headers }, payload);
    },
    viaProxy: async (hash) => {
      const answer = await answerOf(current.url, {
        method: 'GET',
        headers: { host: `${hash}.${publicHost}` },
      }).catch(() => ({ status: 0 }));
      return answer.status;
    },
    admin: (path) =>
      fetch(`http://127.0.0.1:${adminPort}${path}`, { headers: { authorization: `Bearer ${adminToken}` } }),
    async restart(signal, work) {
      current.child.kill(signal);
      await current.exited;
      try {
        return await work?.();
      } finally {
        current = await startHost();
      }
    },
  };
}
