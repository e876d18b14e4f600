// A payer with a wallet at the stand-in provider, paying through the official Open Payments client as any
// wallet app would: a quote for the host's incoming payment, an interactive outgoing-payment grant limited
// to the quote's debit amount (consent given at the provider's page, the finish hash checked), then the
// outgoing payment.
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import {
  createAuthenticatedClient,
  type AuthenticatedClient,
  type OutgoingPayment,
} from '@interledger/open-payments';
import type { FakeProvider, Wallet } from './provider.js';

export interface OpenPaymentsKey {
  privateKey: KeyObject;
  keyId: string;
  jwk: { kid: string; alg: 'EdDSA'; kty: 'OKP'; crv: 'Ed25519'; x: string };
}

/** A new Ed25519 key and its public JWK, as an owner registers it with their provider. */
export function openPaymentsKey(): OpenPaymentsKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = randomUUID();
  const { x = '' } = publicKey.export({ format: 'jwk' });
  return { privateKey, keyId, jwk: { kid: keyId, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x } };
}

export interface Payer {
  wallet: Wallet;
  /** Pays `debit` (the rest of the incoming payment's amount when unset) into an incoming payment. */
  pay(incomingPayment: string, debit?: bigint): Promise<OutgoingPayment>;
}

export async function createPayer(provider: FakeProvider, name: string, balance: bigint): Promise<Payer> {
  const key = openPaymentsKey();
  const wallet = provider.wallet(name, { assetCode: 'XRP', assetScale: 9, balance, keys: [key.jwk] });
  const client: AuthenticatedClient = await createAuthenticatedClient({
    walletAddressUrl: wallet.id,
    privateKey: key.privateKey,
    keyId: key.keyId,
    useHttp: true,
    logLevel: 'silent',
  });
  return {
    wallet,
    async pay(incomingPayment, debit) {
      const address = await client.walletAddress.get({ url: wallet.id });
      const quoteGrant = await client.grant.request(
        { url: address.authServer },
        { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } },
      );
      if (!('access_token' in quoteGrant) || !quoteGrant.access_token) throw new Error('no quote grant');
      const quote = await client.quote.create(
        { url: address.resourceServer, accessToken: quoteGrant.access_token.value },
        {
          walletAddress: address.id,
          receiver: incomingPayment,
          method: 'ilp',
          ...(debit === undefined
            ? {}
            : {
                debitAmount: {
                  value: debit.toString(),
                  assetCode: address.assetCode,
                  assetScale: address.assetScale,
                },
              }),
        },
      );
      const nonce = randomUUID();
      const pending = await client.grant.request(
        { url: address.authServer },
        {
          access_token: {
            access: [
              {
                type: 'outgoing-payment',
                actions: ['create', 'read'],
                identifier: address.id,
                limits: { debitAmount: quote.debitAmount },
              },
            ],
          },
          interact: {
            start: ['redirect'],
            finish: { method: 'redirect', uri: 'http://127.0.0.1:9/finished', nonce },
          },
        },
      );
      if (!('interact' in pending)) throw new Error('the outgoing-payment grant asked for no consent');
      // The person at the consent page approves; the page sends their browser back to the finish URI.
      const consent = await fetch(pending.interact.redirect, { redirect: 'manual' });
      const back = new URL(consent.headers.get('location') ?? '');
      const interactRef = back.searchParams.get('interact_ref');
      if (!interactRef) throw new Error(`consent refused: ${back.search}`);
      const expected = createHash('sha256')
        .update(`${nonce}\n${pending.interact.finish}\n${interactRef}\n${address.authServer}`)
        .digest('base64');
      if (back.searchParams.get('hash') !== expected) throw new Error('the finish hash does not match');
      const grant = await client.grant.continue(
        { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
        { interact_ref: interactRef },
      );
      if (!('access_token' in grant) || !grant.access_token) throw new Error('no outgoing-payment grant');
      return client.outgoingPayment.create(
        { url: address.resourceServer, accessToken: grant.access_token.value },
        { walletAddress: address.id, quoteId: quote.id },
      );
    },
  };
}
