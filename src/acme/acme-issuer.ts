import type { Logger } from '../logger.js';
import { readCertificate } from './certificate-files.js';

/** The challenge types codiusd answers. */
export type ChallengeType = 'dns-01' | 'http-01';

/** Puts a challenge's proof where the CA looks for it, and takes it away after. */
export interface ChallengeSolver {
  present(identifier: string, token: string, keyAuthorization: string): Promise<void>;
  cleanup(identifier: string, token: string, keyAuthorization: string): Promise<void>;
}

interface AcmeChallenge {
  type: string;
  url: string;
  token: string;
  status?: string;
}
interface AcmeAuthorization {
  url: string;
  status: string;
  identifier: { type: string; value: string };
  wildcard?: boolean;
  challenges: AcmeChallenge[];
}
interface AcmeOrder {
  url: string;
  status: string;
}

/** What codiusd uses of an RFC 8555 client (acme-client's Client). */
export interface AcmeClient {
  createAccount(data: { termsOfServiceAgreed: boolean; contact?: string[] }): Promise<unknown>;
  createOrder(data: { identifiers: { type: string; value: string }[] }): Promise<AcmeOrder>;
  getAuthorizations(order: AcmeOrder): Promise<AcmeAuthorization[]>;
  getChallengeKeyAuthorization(challenge: AcmeChallenge): Promise<string>;
  completeChallenge(challenge: AcmeChallenge): Promise<unknown>;
  waitForValidStatus(item: { url: string }): Promise<unknown>;
  finalizeOrder(order: AcmeOrder, csr: Buffer): Promise<AcmeOrder>;
  getCertificate(order: AcmeOrder): Promise<string>;
}

/** Makes a private key and a CSR for the names (the first is the common name). */
export type CsrMaker = (names: readonly string[]) => Promise<{ privateKey: Buffer; csr: Buffer }>;

export interface IssuedCertificate {
  /** PEM: the certificate, then its chain. */
  certificate: string;
  privateKey: string;
  notBefore: Date;
  notAfter: Date;
}

export interface AcmeIssuerOptions {
  client: AcmeClient;
  makeCsr: CsrMaker;
  solvers: Partial<Record<ChallengeType, ChallengeSolver>>;
  contactEmail: string | null;
  logger: Logger;
}

export interface AcmeIssuer {
  /** Orders a certificate for `names`, proving each with `challenge` (a wildcard always with dns-01). */
  issue(names: readonly string[], challenge: ChallengeType): Promise<IssuedCertificate>;
}

/** A CA's refusal or failure during an order, with the step it happened in. */
export class AcmeOrderError extends Error {
  constructor(step: string, cause: unknown) {
    super(`ACME ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'AcmeOrderError';
  }
}

async function step<T>(name: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw error instanceof AcmeOrderError ? error : new AcmeOrderError(name, error);
  }
}

/**
 * Orders certificates from an RFC 8555 CA: one order per certificate, each authorization proved with the
 * chosen challenge, the proof taken away whatever the outcome. Each step is logged with its duration.
 */
export function createAcmeIssuer(options: AcmeIssuerOptions): AcmeIssuer {
  const { client, logger } = options;
  let account: Promise<unknown> | null = null;

  const ensureAccount = (): Promise<unknown> => {
    account ??= step('account registration', () =>
      client.createAccount({
        termsOfServiceAgreed: true,
        ...(options.contactEmail ? { contact: [`mailto:${options.contactEmail}`] } : {}),
      }),
    ).catch((error: unknown) => {
      account = null;
      throw error;
    });
    return account;
  };

  async function authorize(authz: AcmeAuthorization, preferred: ChallengeType): Promise<void> {
    const identifier = authz.identifier.value;
    if (authz.status === 'valid') {
      logger.info({ identifier }, 'ACME authorization already valid');
      return;
    }
    const type: ChallengeType = authz.wildcard === true ? 'dns-01' : preferred;
    const challenge = authz.challenges.find((offered) => offered.type === type);
    const solver = options.solvers[type];
    if (!challenge || !solver) {
      throw new AcmeOrderError(`authorization of ${identifier}`, `no ${type} challenge can be answered`);
    }
    const started = Date.now();
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    try {
      await step(`${type} publication for ${identifier}`, () =>
        solver.present(identifier, challenge.token, keyAuthorization),
      );
      await step(`${type} challenge of ${identifier}`, async () => {
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      });
      logger.info(
        { identifier, wildcard: authz.wildcard === true, type, ms: Date.now() - started },
        'ACME challenge valid',
      );
    } finally {
      await solver.cleanup(identifier, challenge.token, keyAuthorization).catch((error: unknown) => {
        logger.warn({ err: error, identifier, type }, 'could not take the ACME challenge proof away');
      });
    }
  }

  return {
    async issue(names, challenge) {
      const started = Date.now();
      await ensureAccount();
      const order = await step('order', () =>
        client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) }),
      );
      logger.info({ names, order: order.url }, 'ACME order created');
      const authorizations = await step('authorizations', () => client.getAuthorizations(order));
      // The CA validates authorizations independently; proving them at once halves a wildcard's wait.
      await Promise.all(authorizations.map((authz) => authorize(authz, challenge)));
      const { privateKey, csr } = await options.makeCsr(names);
      const certificate = await step('finalization', async () => {
        const finalized = await client.finalizeOrder(order, csr);
        return client.getCertificate(finalized);
      });
      const info = readCertificate(certificate);
      logger.info(
        { names, notAfter: info.notAfter.toISOString(), ms: Date.now() - started },
        'ACME certificate issued',
      );
      return {
        certificate,
        privateKey: privateKey.toString(),
        notBefore: info.notBefore,
        notAfter: info.notAfter,
      };
    },
  };
}
