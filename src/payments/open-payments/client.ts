import type { KeyObject } from 'node:crypto';
import type { AuthenticatedClient } from '@interledger/open-payments';

/** Who codiusd is to Open Payments servers: the host's wallet address and its registered key. */
export interface ClientIdentity {
  walletAddressUrl: string;
  /** The host's Ed25519 key, registered with the provider under `keyId`. */
  privateKey: KeyObject;
  keyId: string;
  /** Loopback `http://` servers (development only). */
  useHttp: boolean;
}

/**
 * The official Open Payments client signing as the host, made on first use; a failed start is not kept,
 * so the next call tries again.
 */
export function lazyOpenPaymentsClient(identity: ClientIdentity): () => Promise<AuthenticatedClient> {
  let client: Promise<AuthenticatedClient> | undefined;
  async function open(): Promise<AuthenticatedClient> {
    // Loaded with the first payment: a host without Open Payments never loads the client and its specs.
    const { createAuthenticatedClient } = await import('@interledger/open-payments');
    return createAuthenticatedClient({
      walletAddressUrl: identity.walletAddressUrl,
      privateKey: identity.privateKey,
      keyId: identity.keyId,
      useHttp: identity.useHttp,
      logLevel: 'silent',
      requestTimeoutMs: 10_000,
    });
  }
  return () =>
    (client ??= open().catch((error: unknown) => {
      client = undefined;
      throw error;
    }));
}
