import { fetch as fetchIldcp } from 'ilp-protocol-ildcp';
import { Server, type Connection } from 'ilp-protocol-stream';
import { CodiusError } from '../domain/errors.js';
import type { HostAsset } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { IlpPlugin } from './plugin.js';
import { DEFAULT_RETRY_SCHEDULE_MS, scheduledDelay } from '../util/backoff.js';
import { sleep } from '../util/sleep.js';
import { refuseLatePrepares } from './late-prepares.js';
import { fixIlpProtocolStream } from './stream-compat.js';

export type IlpState = 'connecting' | 'ready' | 'disconnected' | 'stopped';

export interface StreamCredentials {
  destinationAccount: string;
  sharedSecret: Buffer;
}

/** codiusd's connection to its ILP provider and the STREAM receiver that payers connect to. */
export interface IlpLink {
  /** Connects in the background; retries until stop(). Never throws. */
  start(): void;
  ready(): boolean;
  asset(): HostAsset | null;
  /**
   * STREAM address and secret for a payer; `connectionTag` comes back on the connection. Throws CodiusError
   * `payments_unavailable` while not connected.
   */
  credentialsFor(connectionTag: string): StreamCredentials;
  /**
   * The STREAM connections payers open whose tag starts with `prefix` (and with no longer registered
   * prefix): each kind of payee has its own tags.
   */
  onConnection(listener: (connection: Connection) => void, prefix?: string): void;
  /**
   * Asked before each incoming packet is fulfilled, with its amount and its connection's tag, for tags
   * chosen as for onConnection; a guard that rejects makes the packet rejected (no money moves). Payees
   * book here first.
   */
  guardFulfillment(guard: FulfillmentGuard, prefix?: string): void;
  stop(): Promise<void>;
}

export type FulfillmentGuard = (amount: bigint, connectionTag: string) => Promise<void>;

export interface IlpLinkOptions {
  createPlugin: () => IlpPlugin;
  logger: Logger;
  /** Shown in logs: where the provider is expected (never contains credentials). */
  providerLabel: string;
  /** Delays between attempts after a failed set-up; the last repeats. */
  retryDelaysMs?: readonly number[];
  /** After this long without a connection, say so in the log (once per outage). */
  slowConnectWarningMs?: number;
}

const STOP_GRACE_MS = 2_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A kind of payee: whose connections and packets carry tags with its prefix. */
interface Payee {
  listeners: Set<(connection: Connection) => void>;
  guard?: FulfillmentGuard;
}

/** The payee of a connection tag: the one with the longest prefix it starts with. */
function payeeOf(payees: ReadonlyMap<string, Payee>, tag: string): Payee | undefined {
  let best: string | undefined;
  for (const prefix of payees.keys()) {
    if (tag.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? undefined : payees.get(best);
}

/** The payee registered for `prefix`, made on first use. */
function payeeFor(payees: Map<string, Payee>, prefix: string): Payee {
  const found = payees.get(prefix) ?? { listeners: new Set() };
  payees.set(prefix, found);
  return found;
}

/** A STREAM server on the plugin, handing every payer's connection and packet to its payee. */
function streamServer(plugin: IlpPlugin, payees: ReadonlyMap<string, Payee>): Server {
  const created = new Server({
    plugin,
    // No guard, no money: a packet is only fulfilled once someone has said where it is booked.
    shouldFulfill: (amount, _packetId, tag) => {
      const guard = payeeOf(payees, tag ?? '')?.guard;
      return guard
        ? guard(BigInt(amount.toString()), tag ?? '')
        : Promise.reject(new Error('no payment receiver'));
    },
  });
  created.on('connection', (connection: Connection) => {
    const payee = payeeOf(payees, connection.connectionTag ?? '');
    for (const listener of payee?.listeners ?? []) listener(connection);
  });
  return created;
}

/**
 * One plugin for the daemon's life: the BTP plugin reconnects by itself (0.1 s to 5 s apart, forever), so
 * a moneyd that is down at start or restarts later only makes the host "not accepting uploads" for that
 * time; the daemon keeps serving. After each reconnection ILDCP is asked again and, should the address or
 * asset have changed (moneyd reconfigured), a new STREAM server replaces the old one.
 */
export function createIlpLink(options: IlpLinkOptions): IlpLink {
  const { logger } = options;
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  fixIlpProtocolStream();

  const payees = new Map<string, Payee>();
  const payee = (prefix: string): Payee => payeeFor(payees, prefix);
  let plugin: IlpPlugin | undefined;
  let server: Server | undefined;
  let state: IlpState = 'connecting';
  let address: string | null = null;
  let asset: HostAsset | null = null;
  let problem: string | null = null;
  let stopped = false;
  /** Read through a function: `stopped` changes while awaits are pending. */
  const isStopped = (): boolean => stopped;
  let running: Promise<void> | undefined;
  /** Warns when connecting takes long; cleared by stop() too, so it never outlives the link. */
  let slowConnectTimer: NodeJS.Timeout | undefined;

  /** Connects and learns address and asset; retries with backoff until it works or stop(). */
  async function establish(current: IlpPlugin): Promise<void> {
    for (let attempt = 0; !stopped; attempt += 1) {
      slowConnectTimer = setTimeout(() => {
        logger.warn(
          { provider: options.providerLabel },
          'cannot reach the ILP provider (moneyd) yet; not accepting uploads until it answers',
        );
      }, options.slowConnectWarningMs ?? 5_000);
      try {
        server ??= streamServer(current, payees);
        await server.listen();
        clearTimeout(slowConnectTimer);
        if (isStopped()) return;
        address = (server as unknown as { serverAccount: string }).serverAccount;
        asset = { code: server.assetCode, scale: server.assetScale };
        state = 'ready';
        problem = null;
        logger.info(
          { address, assetCode: asset.code, assetScale: asset.scale },
          'connected to the ILP provider',
        );
        return;
      } catch (error) {
        clearTimeout(slowConnectTimer);
        state = 'disconnected';
        problem = message(error);
        // A half-set-up server keeps the plugin's data handler; start over with a new one.
        current.deregisterDataHandler();
        server = undefined;
        const delay = scheduledDelay(retryDelays, attempt);
        logger.error({ err: error, retryInMs: delay }, 'ILP set-up failed; retrying');
        await sleep(delay, { background: true });
      }
    }
  }

  /** After the plugin reconnects: checks the provider still gives the same address and asset. */
  async function recheck(current: IlpPlugin): Promise<void> {
    try {
      const info = await fetchIldcp((data) => current.sendData(data));
      if (
        info.clientAddress === address &&
        info.assetCode === asset?.code &&
        info.assetScale === asset.scale
      ) {
        state = 'ready';
        problem = null;
        logger.info({ address }, 'reconnected to the ILP provider');
        return;
      }
      logger.warn(
        { was: { address, asset }, now: { address: info.clientAddress, assetCode: info.assetCode } },
        'the ILP provider changed address or asset; restarting the STREAM receiver',
      );
    } catch (error) {
      logger.warn({ err: error }, 'ILDCP after reconnecting failed; restarting the STREAM receiver');
    }
    current.deregisterDataHandler();
    server = undefined;
    await establish(current);
  }

  return {
    start() {
      if (running || stopped) return;
      const current = options.createPlugin();
      // Payers' packets reach the STREAM server through the handler it registers: late ones are refused.
      refuseLatePrepares(current);
      plugin = current;
      current.on('disconnect', () => {
        if (stopped || state !== 'ready') return;
        state = 'disconnected';
        problem = 'connection to the ILP provider lost';
        logger.warn({ provider: options.providerLabel }, 'lost the ILP provider; reconnecting');
      });
      current.on('connect', () => {
        if (stopped || state !== 'disconnected' || !server) return;
        running = (running ?? Promise.resolve()).then(() => recheck(current));
      });
      running = establish(current);
    },
    ready: () => state === 'ready',
    asset: () => (state === 'ready' ? asset : null),
    credentialsFor(connectionTag) {
      if (state !== 'ready' || !server) throw new CodiusError('payments_unavailable', { problem });
      const { destinationAccount, sharedSecret } = server.generateAddressAndSecret({ connectionTag });
      return { destinationAccount, sharedSecret };
    },
    guardFulfillment(guard, prefix = '') {
      payee(prefix).guard = guard;
    },
    onConnection(listener, prefix = '') {
      payee(prefix).listeners.add(listener);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      state = 'stopped';
      clearTimeout(slowConnectTimer);
      const current = plugin;
      if (!current) return;
      // server.close() waits for STREAM connections to wind down (up to ~30 s); the plugin is what holds
      // the socket, so disconnecting it is enough and bounded.
      await Promise.race([current.disconnect().catch(() => undefined), sleep(STOP_GRACE_MS)]);
    },
  };
}
