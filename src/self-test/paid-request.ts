import { randomBytes } from 'node:crypto';
import { createConnection } from 'ilp-protocol-stream';
import { btpEndpoint, DEFAULT_BTP_SERVER, type IlpPlugin, type IlpSettings } from '../ilp/plugin.js';
import { fixIlpProtocolStream } from '../ilp/stream-compat.js';
import { publicRequest, type PublicRequest, type PublicResponse } from './public-client.js';

/**
 * The payer's own connection to the host's ILP provider: for BTP, the same server with a fresh random
 * secret, so the payer is a sub-account of its own (the host's receiving account is never shared).
 */
export function payerSettings(host: IlpSettings): IlpSettings {
  const endpoint = btpEndpoint(host);
  if (!endpoint) return host;
  const configured = host.credentials?.server;
  const server = typeof configured === 'string' ? configured : (host.btpServer ?? DEFAULT_BTP_SERVER);
  const url = new URL(server);
  url.username = '';
  url.password = randomBytes(16).toString('hex');
  return { plugin: host.plugin, credentials: { server: url.href }, btpServer: null };
}

export interface PaidResult extends PublicResponse {
  /** Base units the payer streamed. */
  sent: bigint;
}

/**
 * A request that pays as a Codius client does: Pay-Token; on 402 with a `Pay` header, a STREAM payment of
 * at most `maxAmount` to the address in it, and the request again with the same token while the money
 * flows. Both requests go where `init.connectTo` says, with the public Host header.
 */
export async function paidRequest(
  url: string,
  init: PublicRequest & { maxAmount: bigint; plugin: () => IlpPlugin },
): Promise<PaidResult> {
  fixIlpProtocolStream();
  const token = randomBytes(16).toString('base64url');
  const headers = { ...init.headers, 'pay-token': token };
  const first = await publicRequest(url, { ...init, headers });
  const pay = first.headers.pay;
  if (first.status !== 402 || typeof pay !== 'string') return { ...first, sent: 0n };
  const [method, destinationAccount, secret] = pay.split(' ');
  if (method !== 'interledger-stream' || !destinationAccount || !secret) {
    throw new Error(`the host asked for payment with an unknown Pay header: ${pay.slice(0, 80)}`);
  }
  const plugin = init.plugin();
  try {
    const connection = await createConnection({
      plugin,
      destinationAccount,
      sharedSecret: Buffer.from(secret, 'base64'),
    });
    const stream = connection.createStream();
    stream.setSendMax(init.maxAmount.toString());
    // The host writes one byte once it holds the request; then the second request finds the payment.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the host never acknowledged the payment stream')),
        init.timeoutMs,
      );
      stream.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const final = await publicRequest(url, { ...init, headers });
    stream.end();
    await new Promise<void>((resolve) => {
      connection.once('close', resolve);
      connection.once('end', resolve);
      setTimeout(resolve, 2_000).unref();
    });
    return { ...final, sent: BigInt(stream.totalSent) };
  } finally {
    await plugin.disconnect().catch(() => undefined);
  }
}
