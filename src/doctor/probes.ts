import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { access, constants, open, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { fetch as fetchIldcp } from 'ilp-protocol-ildcp';
import type { Config, OpenPaymentsSettings } from '../config/config.js';
import { deviceProblems, type DeviceProblem } from '../host/device-nodes.js';
import { createIlpPlugin, type IlpSettings } from '../ilp/plugin.js';
import { createUnixHttpClient } from '../runtime/unix-http.js';
import { payerSettings } from '../self-test/paid-request.js';
import { publicRequest, type ConnectTo, type PublicResponse } from '../self-test/public-client.js';

const execFileAsync = promisify(execFile);

/** Everything the doctor reads from the machine, the network and the services: the real ones by default. */
export interface DoctorProbes {
  stat(path: string): Promise<{ isDirectory: boolean; mode: number; size: number } | null>;
  writable(path: string): Promise<boolean>;
  readStart(path: string, bytes: number): Promise<Buffer | null>;
  /** GET on a unix-socket HTTP API; null when nothing answers. */
  unixGet(socket: string, path: string): Promise<{ status: number; body: string } | null>;
  /** Runs a program; null when it is not installed. */
  command(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string } | null>;
  /** The host's asset from its ILP provider, on a connection of the doctor's own. */
  ildcp(
    settings: IlpSettings,
    timeoutMs: number,
  ): Promise<{ clientAddress: string; assetCode: string; assetScale: number }>;
  resolve(host: string): Promise<string[]>;
  localAddresses(): string[];
  httpGet(url: string, connectTo: ConnectTo | null): Promise<PublicResponse>;
  /** The certificate a TLS server presents for `servername`. */
  certificate(connectTo: ConnectTo, servername: string): Promise<tls.PeerCertificate>;
  freeBytes(path: string): Promise<number | null>;
  memory(): { total: number; free: number };
  randomHash(): string;
  /** The host's device nodes that are not root-owned character devices with mode 666. */
  devices(): Promise<DeviceProblem[]>;
  /** A certificate file codiusd keeps, or null when there is none. */
  certificateFile(path: string): Promise<{ names: string[]; notAfter: Date; mode: number } | null>;
  /** Publishes, checks and removes a test DNS-01 record as codiusd would. */
  acmeDnsDryRun(config: Config): Promise<{ name: string; how: string; publishMs: number; visibleMs: number }>;
  /** The Open Payments wallet: its asset (unsigned read), then a grant with the host's key. */
  openPayments(
    settings: OpenPaymentsSettings,
  ): Promise<{ assetCode: string; assetScale: number; granted: string | null }>;
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref(),
    ),
  ]);

export const realProbes: DoctorProbes = {
  async stat(path) {
    try {
      const info = await stat(path);
      return { isDirectory: info.isDirectory(), mode: info.mode & 0o777, size: info.size };
    } catch {
      return null;
    }
  },
  writable: (path) =>
    access(path, constants.W_OK).then(
      () => true,
      () => false,
    ),
  async readStart(path, bytes) {
    try {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(bytes);
        const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    } catch {
      return null;
    }
  },
  async unixGet(socket, path) {
    const client = createUnixHttpClient(socket, 5_000);
    try {
      const response = await client.request({ method: 'GET', path });
      return { status: response.status, body: response.body.toString('utf8') };
    } catch {
      return null;
    } finally {
      client.close();
    }
  },
  async command(file, args) {
    try {
      const { stdout, stderr } = await execFileAsync(file, args, { timeout: 15_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as NodeJS.ErrnoException & { code?: unknown; stdout?: string; stderr?: string };
      if (failed.code === 'ENOENT') return null;
      return {
        code: typeof failed.code === 'number' ? failed.code : 1,
        stdout: failed.stdout ?? '',
        stderr: failed.stderr ?? failed.message,
      };
    }
  },
  async ildcp(settings, timeoutMs) {
    const plugin = createIlpPlugin(payerSettings(settings));
    try {
      await withTimeout(plugin.connect(), timeoutMs, 'connecting to the ILP provider');
      return await withTimeout(
        fetchIldcp((data) => plugin.sendData(data)),
        timeoutMs,
        'ILDCP',
      );
    } finally {
      await plugin.disconnect().catch(() => undefined);
    }
  },
  resolve: async (host) => (await lookup(host, { all: true })).map((entry) => entry.address),
  localAddresses: () =>
    Object.values(os.networkInterfaces())
      .flatMap((list) => list ?? [])
      .map((entry) => entry.address),
  httpGet: (url, connectTo) => publicRequest(url, { method: 'GET', connectTo, timeoutMs: 10_000 }),
  certificate: (connectTo, servername) =>
    new Promise((resolve, reject) => {
      // The chain is judged by the check (names and dates), so an untrusted one is still read.
      const socket = tls.connect(
        { host: connectTo.host, port: connectTo.port, servername, rejectUnauthorized: false },
        () => {
          const cert = socket.getPeerCertificate();
          socket.destroy();
          resolve(cert);
        },
      );
      socket.setTimeout(10_000, () =>
        socket.destroy(new Error(`TLS to ${connectTo.host}:${connectTo.port}: no answer`)),
      );
      socket.once('error', reject);
    }),
  async freeBytes(path) {
    try {
      const info = await statfs(path);
      return info.bavail * info.bsize;
    } catch {
      return null;
    }
  },
  memory: () => ({ total: os.totalmem(), free: os.freemem() }),
  devices: () => deviceProblems(),
  async certificateFile(path) {
    const { readCertificateFile } = await import('./acme-probes.js');
    return readCertificateFile(path);
  },
  async acmeDnsDryRun(config) {
    const { acmeDnsDryRun } = await import('./acme-probes.js');
    return acmeDnsDryRun(config);
  },
  async openPayments(settings) {
    const { readFile, stat: statOf } = await import('node:fs/promises');
    const { createPrivateKey } = await import('node:crypto');
    const { createHostWallet } = await import('../payments/open-payments/host-wallet.js');
    const { createLogger } = await import('../logger.js');
    const mode = (await statOf(settings.privateKeyPath)).mode & 0o777;
    if (mode !== 0o600) throw new Error(`${settings.privateKeyPath} has mode ${mode.toString(8)}, not 600`);
    const wallet = createHostWallet({
      walletAddressUrl: settings.walletAddress,
      privateKey: createPrivateKey(await readFile(settings.privateKeyPath)),
      keyId: settings.keyId,
      useHttp: new URL(settings.walletAddress).protocol === 'http:',
      logger: createLogger('silent'),
    });
    const address = await withTimeout(wallet.address(), 15_000, 'reading the wallet address');
    const granted = await withTimeout(wallet.grant(), 15_000, 'the grant request').then(
      () => null,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    return { assetCode: address.assetCode, assetScale: address.assetScale, granted };
  },
  randomHash: () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    return [...randomBytes(52)].map((byte) => alphabet[byte % 32]).join('');
  },
};
