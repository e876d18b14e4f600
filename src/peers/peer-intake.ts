import type { Logger } from '../logger.js';
import type { PeerRepository } from '../store/repositories/peers.js';
import type { PeerAdmission } from './peer-admission.js';
import type { PeerClient } from './peer-client.js';
import { normalizePeerUri } from './peer-uri.js';

/** Candidates waiting for validation beyond this are dropped (a flood of offers cannot grow memory). */
const MAX_QUEUED = 1000;
/** Validations (GET /info) running at once. */
const VALIDATION_CONCURRENCY = 4;

/**
 * Peers offered by anyone, validated in the background before they are added: a bounded queue, a few
 * `/info` checks at a time, and only a host whose `/info` names the very URI offered is kept.
 */
export interface PeerIntake {
  /** Queues the acceptable URIs among `uris` (see `acceptable`) for validation. Never throws. */
  offer(uris: readonly unknown[]): void;
  /** Drops what is queued and resolves once the validations running have ended. */
  stop(): Promise<void>;
}

export function createPeerIntake(options: {
  store: Pick<PeerRepository, 'get'>;
  /** Adds a validated peer within the table's bounds. */
  admission: Pick<PeerAdmission, 'admit'>;
  client: Pick<PeerClient, 'infoUri'>;
  logger: Logger;
  dev: boolean;
  /** The canonical form of an offered URI when it may be a peer at all (no network involved), else null. */
  acceptable(raw: unknown): string | null;
}): PeerIntake {
  const { store, client, logger } = options;
  const queue: string[] = [];
  const queued = new Set<string>();
  const idle: Array<() => void> = [];
  let validating = 0;
  let stopped = false;

  async function validate(uri: string): Promise<void> {
    if (await store.get(uri)) return;
    const reported = await client.infoUri(uri);
    if (normalizePeerUri(reported, options.dev) !== uri) {
      // Debug only: anyone can offer peers, so per-offer lines would let them flood the log.
      logger.debug({ peer: uri, reported }, 'not adding a peer whose /info names another URI');
      return;
    }
    const admitted = await options.admission.admit(uri, true);
    if (admitted === 'added') logger.info({ peer: uri }, 'added a peer');
    else if (admitted !== 'known') logger.debug({ peer: uri, admitted }, 'peer table bound: not added');
  }

  function pump(): void {
    while (!stopped && validating < VALIDATION_CONCURRENCY && queue.length > 0) {
      const uri = queue.shift() as string;
      validating += 1;
      validate(uri)
        .catch((error: unknown) => {
          logger.debug(
            { peer: uri, err: error instanceof Error ? error.message : String(error) },
            'peer not added',
          );
        })
        .finally(() => {
          validating -= 1;
          queued.delete(uri);
          pump();
          if (validating === 0 && queue.length === 0) for (const resolve of idle.splice(0)) resolve();
        });
    }
  }

  return {
    offer(uris) {
      for (const raw of uris) {
        const uri = options.acceptable(raw);
        if (uri === null || queued.has(uri)) continue;
        if (queued.size >= MAX_QUEUED) break;
        queued.add(uri);
        queue.push(uri);
      }
      pump();
    },
    async stop() {
      stopped = true;
      queue.length = 0;
      if (validating > 0) await new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
