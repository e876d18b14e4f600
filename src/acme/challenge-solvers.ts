import type { ChallengeSolver } from './acme-issuer.js';
import type { DnsPublisher } from './dns-publisher.js';
import type { PropagationCheck } from './propagation.js';

/** The DNS-01 record name of an identifier (a wildcard's authorization names its base domain). */
export const dnsChallengeName = (identifier: string): string =>
  `_acme-challenge.${identifier.replace(/^\*\./, '')}`;

/** DNS-01: the key authorization's digest published as TXT, answered only once every server shows it. */
export function dnsChallengeSolver(publisher: DnsPublisher, propagation: PropagationCheck): ChallengeSolver {
  return {
    async present(identifier, _token, digest) {
      const name = dnsChallengeName(identifier);
      await publisher.add(name, digest);
      await propagation.waitFor(name, digest);
    },
    cleanup: (identifier, _token, digest) => publisher.remove(dnsChallengeName(identifier), digest),
  };
}

/** HTTP-01 proofs being served on the plain-HTTP port, by token. */
export interface HttpChallenges {
  answer(token: string): string | undefined;
  solver: ChallengeSolver;
}

export function createHttpChallenges(): HttpChallenges {
  const proofs = new Map<string, string>();
  return {
    answer: (token) => proofs.get(token),
    solver: {
      present(_identifier, token, keyAuthorization) {
        proofs.set(token, keyAuthorization);
        return Promise.resolve();
      },
      cleanup(_identifier, token) {
        proofs.delete(token);
        return Promise.resolve();
      },
    },
  };
}
