import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AxiosInstance, CreateAxiosDefaults } from 'axios';
import { publicOnlyLookup } from '../net/address-policy.js';

export interface PeerClientOptions {
  /** Whole-exchange deadline per request: connect, headers and body. */
  timeoutMs: number;
  /** Largest response body read from a peer; a bigger one fails the request. */
  maxBodyBytes: number;
  /** Dev mode: loopback and private peers are allowed (several hosts on one machine). */
  allowPrivateAddresses: boolean;
  userAgent: string;
}

/** What codiusd asks of other hosts. Every call is bounded in time and size and fails on anything odd. */
export interface PeerClient {
  /** The `uri` a host reports at GET /info. */
  infoUri(peer: string): Promise<string>;
  /** POST /peers/discover announcing `self`; the peers the other host lists. */
  discover(peer: string, self: string): Promise<string[]>;
  close(): void;
}

/** Only strings are taken from a peer's lists, and only so many. */
function stringsOf(value: unknown, max: number): string[] {
  if (!Array.isArray(value)) throw new Error('expected a list of peers');
  return value.filter((entry): entry is string => typeof entry === 'string').slice(0, max);
}

export function createPeerClient(options: PeerClientOptions): PeerClient {
  const lookup = options.allowPrivateAddresses ? undefined : publicOnlyLookup;
  const httpAgent = new HttpAgent({ keepAlive: false, lookup });
  const httpsAgent = new HttpsAgent({ keepAlive: false, lookup });
  // axios is loaded with the first exchange: a host without peers never needs it.
  let client: Promise<AxiosInstance> | undefined;
  const http = (): Promise<AxiosInstance> =>
    (client ??= import('axios').then(({ default: axios }) => axios.create(settings)));
  const settings: CreateAxiosDefaults = {
    timeout: options.timeoutMs,
    maxContentLength: options.maxBodyBytes,
    maxBodyLength: options.maxBodyBytes,
    maxRedirects: 0,
    proxy: false,
    httpAgent,
    httpsAgent,
    responseType: 'json',
    headers: { 'User-Agent': options.userAgent, Accept: 'application/json' },
    // Only 2xx counts: a host answering 503 (self test not passed) is not a usable peer.
    validateStatus: (status: number) => status >= 200 && status < 300,
  };
  // axios's timeout is per socket inactivity; this bounds the whole exchange (a slow drip included).
  const deadline = (): AbortSignal => AbortSignal.timeout(options.timeoutMs);

  return {
    async infoUri(peer) {
      const response = await (await http()).get<unknown>(`${peer}/info`, { signal: deadline() });
      const uri = (response.data as { uri?: unknown } | null)?.uri;
      if (typeof uri !== 'string') throw new Error('GET /info has no uri');
      return uri;
    },
    async discover(peer, self) {
      const response = await (
        await http()
      ).post<unknown>(`${peer}/peers/discover`, { peers: [self] }, { signal: deadline() });
      return stringsOf((response.data as { peers?: unknown } | null)?.peers, 1000);
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
