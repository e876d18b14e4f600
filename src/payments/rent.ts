import type { DataAndMoneyStream } from 'ilp-protocol-stream';
import { CodiusError } from '../domain/errors.js';
import type { ManifestHash, PodRecord } from '../domain/types.js';
import type { IlpLink } from '../ilp/link.js';
import type { Logger } from '../logger.js';
import type { LedgerRepository } from '../store/repositories/ledger.js';

/** The most a STREAM stream can be told it may receive (an unsigned 64-bit amount). */
const MAX_UINT64 = '18446744073709551615';

/** Connection tags of rent payments: this prefix and the manifest hash. */
export const RENT_TAG_PREFIX = 'rent-';

/** An SPSP answer (RFC 0009): where to send a STREAM payment, and its shared secret. */
export interface SpspAnswer {
  destination_account: string;
  shared_secret: string;
  receipts_enabled: false;
}

export interface RentOptions {
  link: Pick<IlpLink, 'credentialsFor' | 'onConnection' | 'guardFulfillment' | 'asset'>;
  ledger: Pick<LedgerRepository, 'append' | 'creditBalance'>;
  pods: { get(hash: ManifestHash): Promise<PodRecord | undefined> };
  /** The STREAM price of `seconds`, in base units of the link's asset. */
  priceOf(seconds: number): bigint;
  /** Buys `seconds` more for the pod with its manifest's credit (an extension credit pays for). */
  extendWithCredit(hash: ManifestHash, seconds: number): Promise<void>;
  /** CODIUS_MAX_DURATION: a pod is never paid for further ahead than this. */
  maxDurationSeconds: number;
  logger: Logger;
  now?: () => number;
}

export interface RentReceiver {
  /** A fresh SPSP answer for a live pod's rent address; CodiusError `manifest_not_found` otherwise. */
  spsp(hash: ManifestHash): Promise<SpspAnswer>;
  /** Waits for the conversions of rent into time under way (tests, shutdown). */
  settled(): Promise<void>;
}

/** The most whole seconds whose price is at most `credit`, and at most `room` (prices grow with time). */
export function secondsFor(credit: bigint, room: number, priceOf: (seconds: number) => bigint): number {
  let low = 0;
  let high = Math.max(0, room);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (priceOf(middle) <= credit) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * Every pod's rent address: STREAM money sent there buys the pod time at the host's price. Each packet is
 * booked as the manifest's credit before it is fulfilled (so it is booked exactly once, whatever happens
 * after), and then the credit buys as many whole seconds as it pays for, up to CODIUS_MAX_DURATION ahead;
 * what is left (less than a second, or beyond that bound) stays credit and counts towards the next
 * payment. Money for a pod that is not running a paid record (never uploaded, expired, removed) is
 * refused: it starts nothing.
 */
export function createRentReceiver(options: RentOptions): RentReceiver {
  const { link, ledger, pods, logger } = options;
  const now = options.now ?? Date.now;
  const converting = new Map<ManifestHash, Promise<void>>();

  async function livePod(hash: ManifestHash): Promise<PodRecord> {
    const pod = await pods.get(hash);
    if (!pod || pod.expiresAt <= now()) throw new CodiusError('manifest_not_found', { hash });
    return pod;
  }

  async function convert(hash: ManifestHash): Promise<void> {
    const asset = link.asset();
    const pod = await pods.get(hash);
    if (!asset || !pod) return;
    const credit = await ledger.creditBalance(hash, asset);
    const room = Math.floor((now() + options.maxDurationSeconds * 1000 - pod.expiresAt) / 1000);
    const seconds = secondsFor(credit, room, (time) => options.priceOf(time));
    if (seconds < 1) return;
    await options.extendWithCredit(hash, seconds);
    logger.info({ manifestHash: hash, seconds }, 'rent bought pod time');
  }

  /** One conversion per pod at a time; money arriving meanwhile is converted by the next. */
  function convertSoon(hash: ManifestHash): void {
    const next = (converting.get(hash) ?? Promise.resolve())
      .then(() => convert(hash))
      .catch((error: unknown) => logger.warn({ err: error, manifestHash: hash }, 'rent not converted yet'))
      .finally(() => {
        if (converting.get(hash) === next) converting.delete(hash);
      });
    converting.set(hash, next);
  }

  link.guardFulfillment(async (amount, tag) => {
    const hash = tag.slice(RENT_TAG_PREFIX.length);
    await livePod(hash);
    const asset = link.asset();
    if (!asset) throw new Error('no asset while disconnected');
    await ledger.append({
      manifestHash: hash,
      amount: amount.toString(),
      credit: amount.toString(),
      assetCode: asset.code,
      assetScale: asset.scale,
      purpose: 'rent',
      payTokenHash: null,
      method: 'stream',
    });
    convertSoon(hash);
  }, RENT_TAG_PREFIX);

  link.onConnection((connection) => {
    connection.on('error', (error: unknown) => logger.debug({ err: error }, 'rent connection error'));
    // A pod that is gone (or never was) is told at once, with a close the sender takes as final.
    const hash = (connection.connectionTag ?? '').slice(RENT_TAG_PREFIX.length);
    livePod(hash).catch(() => connection.destroy(new Error('no live pod has this rent address')));
    connection.on('stream', (stream: DataAndMoneyStream) => {
      stream.on('error', (error: unknown) => logger.debug({ err: error }, 'rent stream error'));
      // Rent takes any amount: each packet is booked (or refused) by the guard as it arrives. Data sent
      // along is not read.
      stream.setReceiveMax(MAX_UINT64);
      stream.resume();
    });
  }, RENT_TAG_PREFIX);

  return {
    async spsp(hash) {
      await livePod(hash);
      const { destinationAccount, sharedSecret } = link.credentialsFor(`${RENT_TAG_PREFIX}${hash}`);
      return {
        destination_account: destinationAccount,
        shared_secret: sharedSecret.toString('base64'),
        receipts_enabled: false,
      };
    },
    async settled() {
      while (converting.size > 0) await Promise.all(converting.values());
    },
  };
}
