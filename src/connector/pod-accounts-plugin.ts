import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { HostAsset, ManifestHash } from '../domain/types.js';
import { loadIlpPacket, type IlpPrepare } from '../ilp/ilp-packet.js';
import type { Logger } from '../logger.js';
import { createTokenBuckets } from '../util/token-buckets.js';
import type { PodBalances } from './pod-balances.js';

/**
 * The largest WebSocket message the pods' endpoint reads: an ILP packet is at most 32 KiB of data plus its
 * envelope, and a BTP frame wraps one packet. Anything larger ends the connection before it is buffered.
 */
export const BTP_MAX_FRAME_BYTES = 64 * 1024;
/** A connection that has not authenticated as a pod of this host within this is closed. */
export const BTP_AUTH_DEADLINE_MS = 5_000;
/** Packets one pod may send: this many at once, and this many per second on average. */
export const POD_PACKET_BURST = 1_000;
export const POD_PACKETS_PER_SECOND = 500;

const requireHere = createRequire(import.meta.url);

interface WebSocketLike {
  terminate(): void;
}
interface BtpSubProtocol {
  protocolName: string;
  contentType: number;
  data: Buffer;
}
interface BtpPacket {
  data: { protocolData: BtpSubProtocol[] };
}
interface WebSocketServerLike {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, done: (ws: unknown) => void): void;
  emit(event: 'connection', ws: unknown, req: IncomingMessage): boolean;
}
/** The parts of ilp-plugin-mini-accounts (a BTP server with one sub-account per client) used here. */
interface MiniAccounts {
  _prefix: string;
  _wss: WebSocketServerLike | null;
  _dataHandler?: (data: Buffer) => Promise<Buffer>;
  _handleCustomData: (from: string, packet: BtpPacket) => Promise<BtpSubProtocol[]>;
  protocolDataToIlpAndCustom(data: BtpPacket['data']): { ilp?: Buffer };
  ilpAndCustomToProtocolData(data: { ilp: Buffer }): BtpSubProtocol[];
  ilpAddressToAccount(address: string): string;
  sendData(buffer: Buffer): Promise<Buffer>;
  registerDataHandler(handler: (data: Buffer) => Promise<Buffer>): void;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}
type MiniAccountsClass = new (options: Record<string, unknown>, modules: { log: unknown }) => MiniAccounts;

export interface PodAccountsPluginOptions {
  /** The pod a BTP client's account belongs to (mini-accounts names accounts by sha256 of the token). */
  podOfAccount(account: string): Promise<ManifestHash | undefined>;
  balances: PodBalances;
  /** The asset of the connector's parent, which pods' money is in. */
  asset(): HostAsset;
  port: number;
  logger: Logger;
  /** How long a connection may take to authenticate (BTP_AUTH_DEADLINE_MS by default). */
  authDeadlineMs?: number;
  /** Packets each pod may send (POD_PACKET_BURST at once, POD_PACKETS_PER_SECOND on average by default). */
  packetLimit?: { burst: number; perSecond: number };
}

/**
 * The pods' side of the connector: a BTP server (ilp-plugin-mini-accounts) where each pod has one account,
 * authenticated by its pod secret, with its balance in the store. Money arriving for a pod is credited
 * (committed) before the fulfillment goes back upstream; money a pod sends is taken before its packet goes
 * on, and given back when the packet is rejected; a pod cannot send more than it holds (T04 otherwise).
 */
export function createPodAccountsPlugin(options: PodAccountsPluginOptions): {
  plugin: MiniAccounts;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
} {
  const { balances, logger } = options;
  // Loaded here rather than at import: a host only needs them once its first pod runs.
  const IlpPacket = loadIlpPacket();
  const MiniAccountsPlugin = requireHere('ilp-plugin-mini-accounts') as MiniAccountsClass;
  const log = {
    info: (...args: unknown[]) => logger.debug({ detail: args.map(String).join(' ') }, 'pod accounts'),
    warn: (...args: unknown[]) => logger.warn({ detail: args.map(String).join(' ') }, 'pod accounts'),
    error: (...args: unknown[]) => logger.error({ detail: args.map(String).join(' ') }, 'pod accounts'),
    debug: () => undefined,
    trace: () => undefined,
  };
  const base = new MiniAccountsPlugin(
    { port: options.port, wsOpts: { noServer: true, maxPayload: BTP_MAX_FRAME_BYTES } },
    { log },
  );
  /** Each pod's own allowance of packets: one pod's flood does not slow another's payments. */
  const packets = createTokenBuckets(
    options.packetLimit ?? { burst: POD_PACKET_BURST, perSecond: POD_PACKETS_PER_SECOND },
  );
  /** Connections not yet authenticated, each with the timer that closes it. */
  const unauthenticated = new Map<WebSocketLike, NodeJS.Timeout>();

  const reject = (code: string, message: string): Buffer =>
    IlpPacket.serializeIlpReject({
      code,
      message,
      triggeredBy: base._prefix.replace(/\.$/, ''),
      data: Buffer.alloc(0),
    });

  async function podOf(address: string): Promise<ManifestHash> {
    const hash = await options.podOfAccount(base.ilpAddressToAccount(address));
    if (!hash) throw new Error('no pod has this account');
    return hash;
  }

  // A pod sends: its money is taken first, given back if the packet does not go through.
  base._handleCustomData = async (from, btpPacket) => {
    const { ilp } = base.protocolDataToIlpAndCustom(btpPacket.data);
    if (!ilp || !base._dataHandler) throw new Error('invalid packet, no ilp protocol data.');
    const hash = await podOf(from);
    if (!packets.take(hash)) {
      return base.ilpAndCustomToProtocolData({
        ilp: reject('T05', 'too many packets from this pod; slow down'),
      });
    }
    const amount = BigInt(IlpPacket.deserializeIlpPrepare(ilp).amount);
    if (amount > 0n && (await balances.debit(hash, amount, options.asset())) === null) {
      return base.ilpAndCustomToProtocolData({ ilp: reject('T04', 'account has insufficient balance.') });
    }
    let response: Buffer;
    try {
      response = await base._dataHandler(ilp);
    } catch (error) {
      if (amount > 0n) await balances.credit(hash, amount, options.asset());
      throw error;
    }
    if (amount > 0n && IlpPacket.deserializeIlpPacket(response).type !== IlpPacket.Type.TYPE_ILP_FULFILL) {
      await balances.credit(hash, amount, options.asset());
    }
    return base.ilpAndCustomToProtocolData({ ilp: response });
  };

  // A pod is paid: the credit is committed before the fulfillment goes back, or the packet is rejected.
  const forward = base.sendData.bind(base);
  base.sendData = async (buffer) => {
    const response = await forward(buffer);
    const parsed = IlpPacket.deserializeIlpPacket(buffer);
    if (parsed.type !== IlpPacket.Type.TYPE_ILP_PREPARE) return response;
    const prepare = parsed.data as IlpPrepare;
    if (IlpPacket.deserializeIlpPacket(response).type !== IlpPacket.Type.TYPE_ILP_FULFILL) return response;
    const amount = BigInt(prepare.amount);
    if (amount === 0n) return response;
    try {
      await balances.credit(await podOf(prepare.destination), amount, options.asset());
      return response;
    } catch (error) {
      logger.error({ err: error }, 'could not credit a pod; the payment is refused');
      return reject('T00', 'the receiving account could not be credited');
    }
  };

  // Only pods of this host get in: mini-accounts would give any token an account of its own.
  type Connect = (address: string, auth: unknown, opts?: { ws?: WebSocketLike }) => Promise<void>;
  const connect = (base as unknown as { _connect: Connect })._connect;
  (base as unknown as { _connect: Connect })._connect = async (address, auth, opts) => {
    await podOf(address);
    const ws = opts?.ws;
    if (ws) {
      clearTimeout(unauthenticated.get(ws));
      unauthenticated.delete(ws);
    }
    await connect.call(base, address, auth, opts);
  };

  return {
    plugin: base,
    handleUpgrade(req, socket, head) {
      const wss = base._wss;
      if (!wss) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const client = ws as WebSocketLike;
        const timer = setTimeout(() => {
          unauthenticated.delete(client);
          client.terminate();
        }, options.authDeadlineMs ?? BTP_AUTH_DEADLINE_MS);
        timer.unref();
        unauthenticated.set(client, timer);
        socket.once('close', () => {
          clearTimeout(unauthenticated.get(client));
          unauthenticated.delete(client);
        });
        wss.emit('connection', ws, req);
      });
    },
  };
}
