import { createHash, randomBytes } from 'node:crypto';
import { isCodiusError } from '../domain/errors.js';
import type { ManifestHash } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { Renewal, RenewalRepository } from '../store/repositories/renewals.js';
import type { PodAnswer, UploadService } from '../uploads/upload-service.js';
import type { GrantSeal } from './grant-seal.js';
import { incomingPaymentOf, runPod } from './run-pod.js';
import { statusOf, type GrantToken, type TenantWallet, type TenantWallets } from './tenant-wallet.js';

/** A renewal is tried again this long after the wallet or the host could not take part. */
const RETRY_MS = 15_000;
/** Due renewals are looked for this often. */
const TICK_MS = 1_000;

/** What GET /pods shows of a pod's renewal. */
export interface RenewalView {
  active: boolean;
  nextAt: string | null;
  interval: string;
  walletAddress: string;
  renewed: number;
  stopReason?: string;
}

export interface RenewalStart {
  hash: ManifestHash;
  wallet: TenantWallet;
  grant: GrantToken;
  durationSeconds: number;
  interval: string;
  /** The pod's expiry now (ISO 8601). */
  expiry: string;
}

export interface RenewalService {
  /** Keeps a pod running from its tenant's wallet; returns the key of the tenant's stop link. */
  begin(start: RenewalStart): Promise<{ stopKey: string; nextAt: number }>;
  view(hash: ManifestHash): Promise<RenewalView | undefined>;
  /** The renewal a stop link's key names. */
  byStopKey(key: string): Promise<{ hash: ManifestHash; view: RenewalView } | undefined>;
  /** Ends the renewal a stop link names and revokes its grant at the wallet; false for an unknown key. */
  stopByKey(key: string): Promise<boolean>;
  /** Renews what is due now (one pass). */
  runDue(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface RenewalServiceOptions {
  renewals: RenewalRepository;
  uploads: Pick<UploadService, 'upload' | 'extend'>;
  wallets: TenantWallets;
  seal: GrantSeal;
  logger: Logger;
  onRenewal?: (outcome: 'renewed' | 'stopped' | 'retry') => void;
  now?: () => number;
}

const keyHash = (key: string): string => createHash('sha256').update(key).digest('hex');

/**
 * When to renew a pod that expires at `expiresAt`: early enough that a host restart or a slow wallet does
 * not let it lapse (ten minutes, or half its period for short ones).
 */
export function renewalDueAt(expiresAt: number, durationSeconds: number): number {
  return expiresAt - renewalMarginMs(durationSeconds);
}

/** How long before expiry a renewal is due. */
export function renewalMarginMs(durationSeconds: number): number {
  return Math.min(600_000, (durationSeconds * 1000) / 2);
}

/** Why a renewal cannot go on, from the wallet's answer; undefined when trying again may help. */
function finalReason(error: unknown): string | undefined {
  const status = statusOf(error);
  if (status === 401) return 'the tenant revoked the grant';
  if (status === 403) return "the grant's limit is spent";
  return undefined;
}

/** A stored renewal as the API and the stop page show it. */
function viewOf(r: Renewal): RenewalView {
  return {
    active: r.active,
    nextAt: r.active ? new Date(r.nextAt).toISOString() : null,
    interval: r.interval,
    walletAddress: (JSON.parse(r.walletJson) as TenantWallet).id,
    renewed: r.renewed,
    ...(r.stopReason ? { stopReason: r.stopReason } : {}),
  };
}

/** Pays the host's offer with the tenant's grant, rotating its token once if it expired. */
async function payWithGrant(
  wallets: TenantWallets,
  wallet: TenantWallet,
  grant: GrantToken,
  receiver: string,
): Promise<GrantToken> {
  const quote = await wallets.quote(wallet, receiver);
  let current = grant;
  let payment;
  try {
    payment = await wallets.pay(wallet, current.value, quote.id);
  } catch (error) {
    if (statusOf(error) !== 401) throw error;
    current = await wallets.rotate(current);
    payment = await wallets.pay(wallet, current.value, quote.id);
  }
  if (payment.failed) throw Object.assign(new Error('the wallet could not pay'), { final: true });
  return current;
}

/**
 * Renews pods from their tenants' wallets before they expire: each renewal is an extension through the
 * upload service with a new pay token, paid with the grant the tenant approved at checkout (rotated when
 * its token expired), and booked once like any payment. It stops when the grant is revoked, its limit is
 * spent, a payment fails or the pod is gone; the pod then expires normally. State lives in the store, so
 * a restart loses no renewal; money a crash left between payment and extension becomes the manifest's
 * credit, which pays the next attempt.
 */
export function createRenewalService(options: RenewalServiceOptions): RenewalService {
  const { renewals, uploads, wallets, seal, logger } = options;
  const now = options.now ?? Date.now;
  const told = options.onRenewal ?? (() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function stopRenewal(hash: ManifestHash, reason: string): Promise<void> {
    await renewals.stop(hash, reason);
    told('stopped');
    logger.info({ manifestHash: hash, reason }, 'renewal stopped');
  }

  async function renewOnce(hash: ManifestHash): Promise<void> {
    const r = await renewals.get(hash);
    if (!r?.active) return;
    const wallet = JSON.parse(r.walletJson) as TenantWallet;
    let grant = seal.open(hash, r.grantSealed);
    const run = {
      pod: { kind: 'extend' as const, hash },
      durationSeconds: r.durationSeconds,
      token: randomBytes(16),
      client: 'renewal',
      key: `renewal:${hash}`,
    };
    let answer: PodAnswer;
    try {
      answer = await runPod(uploads, run);
    } catch (error) {
      if (isCodiusError(error, 'pod_not_found')) return stopRenewal(hash, 'the pod is gone');
      const offer = isCodiusError(error) ? incomingPaymentOf(error) : undefined;
      if (!offer) throw error;
      try {
        grant = await payWithGrant(wallets, wallet, grant, offer.url);
      } catch (payError) {
        const final = (payError as { final?: boolean }).final
          ? 'the wallet could not pay'
          : finalReason(payError);
        if (final) return stopRenewal(hash, final);
        throw payError;
      }
      answer = await runPod(uploads, run);
    }
    const nextAt = renewalDueAt(Date.parse(answer.expiry), r.durationSeconds);
    await renewals.renewed(hash, nextAt, seal.seal(hash, grant));
    told('renewed');
    logger.info({ manifestHash: hash, expiry: answer.expiry }, 'pod renewed from the tenant wallet');
  }

  async function runDue(): Promise<void> {
    for (const due of await renewals.due(now(), 20)) {
      try {
        await renewOnce(due.manifestHash);
      } catch (error) {
        told('retry');
        logger.warn({ err: error, manifestHash: due.manifestHash }, 'renewal failed; trying again');
        await renewals.postpone(due.manifestHash, now() + RETRY_MS);
      }
    }
  }

  return {
    async begin(start) {
      const stopKey = randomBytes(18).toString('base64url');
      const nextAt = renewalDueAt(Date.parse(start.expiry), start.durationSeconds);
      await renewals.put({
        manifestHash: start.hash,
        walletJson: JSON.stringify(start.wallet),
        grantSealed: seal.seal(start.hash, start.grant),
        durationSeconds: start.durationSeconds,
        interval: start.interval,
        nextAt,
        active: true,
        stopReason: null,
        stopKeyHash: keyHash(stopKey),
        renewed: 0,
        createdAt: now(),
      });
      return { stopKey, nextAt };
    },
    async view(hash) {
      const r = await renewals.get(hash);
      return r ? viewOf(r) : undefined;
    },
    async byStopKey(key) {
      const r = await renewals.byStopKey(keyHash(key));
      return r ? { hash: r.manifestHash, view: viewOf(r) } : undefined;
    },
    async stopByKey(key) {
      const r = await renewals.byStopKey(keyHash(key));
      if (!r) return false;
      if (!r.active) return true;
      await stopRenewal(r.manifestHash, 'stopped by the tenant');
      await wallets.revoke(seal.open(r.manifestHash, r.grantSealed)).catch((error: unknown) => {
        logger.warn({ err: error, manifestHash: r.manifestHash }, 'the wallet did not revoke the grant');
      });
      return true;
    },
    runDue,
    start() {
      const tick = () => {
        running = runDue()
          .catch((error: unknown) => logger.error({ err: error }, 'renewal pass failed'))
          .finally(() => {
            running = undefined;
            if (timer) timer = setTimeout(tick, TICK_MS);
          });
      };
      timer = setTimeout(tick, TICK_MS);
    },
    async stop() {
      const pending = timer;
      timer = undefined;
      clearTimeout(pending);
      await running;
    },
  };
}
