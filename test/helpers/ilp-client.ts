import { randomBytes } from 'node:crypto';
import { createConnection } from 'ilp-protocol-stream';
import { testBtpCredentials } from './moneyd.js';
import { createIlpPlugin, type IlpPlugin } from '../../src/ilp/plugin.js';
import { fixIlpProtocolStream } from '../../src/ilp/stream-compat.js';

export interface PaidResponse {
  /** The first answer (402 when payment was asked). */
  first: { status: number; body: string; pay: string | null };
  status: number;
  body: string;
  json: () => Record<string, unknown>;
  /** What the payer streamed, in the host's base units. */
  totalSent: bigint;
  token: Buffer;
  /** Milliseconds from the start: first answer, ready byte on the stream, final answer. */
  timeline: { challenge: number; streamReady: number | null; done: number };
}

export interface PayingClient {
  /**
   * Sends a request the way ilp-fetch does (Pay-Token; on 402 opens STREAM, waits for the ready byte,
   * retries), with our own code so tests can see and vary every step.
   */
  request(
    url: string,
    init: {
      method: string;
      body?: unknown;
      maxPrice: bigint;
      token?: Buffer;
      /** Called with the final answer as soon as it arrives, before the payment stream is closed. */
      onResponse?: (response: { status: number; body: string }) => void;
    },
  ): Promise<PaidResponse>;
  close(): Promise<void>;
}

async function send(
  url: string,
  method: string,
  body: unknown,
  token: Buffer,
): Promise<{ status: number; body: string; pay: string | null }> {
  const response = await fetch(url, {
    method,
    headers: {
      'Pay-Token': token.toString('base64url'),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.text(), pay: response.headers.get('pay') };
}

/**
 * A payer on the local moneyd. Each payment gets its own plugin (hence BTP account), as with ilp-fetch:
 * a STREAM client connection disconnects its plugin when it closes.
 */
export function createPayingClient(): PayingClient {
  fixIlpProtocolStream();
  const plugins = new Set<IlpPlugin>();
  return {
    async request(url, init) {
      const started = Date.now();
      const token = init.token ?? randomBytes(16);
      const first = await send(url, init.method, init.body, token);
      const challenge = Date.now() - started;
      let totalSent = 0n;
      let streamReady: number | null = null;
      let final = first;
      if (first.status !== 402 || !first.pay) init.onResponse?.(first);
      else {
        const [method, destinationAccount, secret] = first.pay.split(' ');
        if (method !== 'interledger-stream' || !destinationAccount || !secret) {
          throw new Error(`unexpected Pay header: ${first.pay}`);
        }
        const plugin = createIlpPlugin({
          plugin: 'ilp-plugin-btp',
          credentials: testBtpCredentials(),
          btpServer: null,
        });
        plugins.add(plugin);
        const connection = await createConnection({
          plugin,
          destinationAccount,
          sharedSecret: Buffer.from(secret, 'base64'),
        });
        const stream = connection.createStream();
        stream.setSendMax(init.maxPrice.toString());
        const ready = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
        if (ready.length !== 1 || ready[0] !== 0xff) throw new Error('the host did not send the ready byte');
        streamReady = Date.now() - started;
        final = await send(url, init.method, init.body, token);
        init.onResponse?.(final);
        // As ilp-fetch does: end our side and wait for the stream to close, so in-flight money settles.
        const ended = new Promise<void>((resolve) => {
          stream.once('end', resolve);
          stream.once('close', resolve);
          setTimeout(resolve, 5_000).unref();
        });
        stream.end();
        await ended;
        totalSent = BigInt(stream.totalSent);
        // The host closes the connection after its response. Wait for that close frame before going away:
        // a close frame to a payer that has disconnected waits out the 35 s BTP timeout on the host side.
        // (No connection.destroy(), as in ilp-fetch: its own close frame could wait as long.)
        await new Promise<void>((resolve) => {
          connection.once('close', resolve);
          connection.once('end', resolve);
          setTimeout(resolve, 2_000).unref();
        });
        await plugin.disconnect().catch(() => undefined);
        plugins.delete(plugin);
      }
      return {
        first,
        status: final.status,
        body: final.body,
        json: () => JSON.parse(final.body) as Record<string, unknown>,
        totalSent,
        token,
        timeline: { challenge, streamReady, done: Date.now() - started },
      };
    },
    async close() {
      await Promise.all([...plugins].map((plugin) => plugin.disconnect().catch(() => undefined)));
    },
  };
}
