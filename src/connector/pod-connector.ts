import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { fetch as fetchIldcp } from 'ilp-protocol-ildcp';
import type { EnvVar, HostAsset, ManifestHash } from '../domain/types.js';
import { createIlpPlugin, type IlpPlugin, type IlpSettings } from '../ilp/plugin.js';
import type { Logger } from '../logger.js';
import { podSecret } from '../secret.js';
import { DEFAULT_RETRY_SCHEDULE_MS, scheduledDelay } from '../util/backoff.js';
import { sleep } from '../util/sleep.js';
import { createPodAccountsPlugin } from './pod-accounts-plugin.js';
import type { PodBalances } from './pod-balances.js';
import { createPodEndpoint } from './pod-endpoint.js';

const requireHere = createRequire(import.meta.url);
const UNKNOWN_ACCOUNT_REFRESH_MS = 1_000;

interface ConnectorApp {
  listen(): Promise<void>;
  shutdown(): Promise<void>;
}
type CreateConnector = (options: Record<string, unknown>) => ConnectorApp;

export interface PodConnectorOptions {
  /** How the connector reaches its parent: an account at the ILP provider of its own. */
  parent: IlpSettings;
  /** Where pods reach the connector: the pod network's gateway and CODIUS_POD_ILP_PORT. */
  endpoint: { host: string; port: number };
  hostSecret: Buffer;
  /** The connector's spread (0: no fee). */
  spread: number;
  balances: PodBalances;
  /** Manifest hashes that may have a pod account: pods in the store and accounts holding money. */
  knownPods: () => Promise<ManifestHash[]>;
  logger: Logger;
}

export interface PodConnector {
  /** Connects to the parent and opens the pods' endpoint in the background; retries until stop(). */
  start(): void;
  stop(): Promise<void>;
  /** The ILP address of a pod's account, once connected. */
  addressOf(hash: ManifestHash): string | null;
  /** The asset pods are paid in, once connected. */
  asset(): HostAsset | null;
  /** A pod started: its account is known, and the bridge now exists, so the endpoint can bind. */
  podStarted(hash: ManifestHash): void;
  /**
   * What pods may ask on their endpoint besides BTP: `GET /pods/<hash>/rent` (SPSP: pods pay their rent
   * there) and `GET /pods/<hash>` (a pod's expiry, so a program can tell when to pay).
   */
  answerPods(answers: PodAnswers): void;
}

/** What a pod may ask its host on the pods' endpoint; each throws for a hash that names no live pod. */
export interface PodAnswers {
  rent(hash: ManifestHash): Promise<unknown>;
  status(hash: ManifestHash): Promise<unknown>;
}

/** Plain HTTP on the pods' endpoint: `GET /pods/<hash>/rent` and `GET /pods/<hash>`; anything else 426. */
function podAnswerer(answers: () => PodAnswers | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const match = /^\/pods\/([a-z2-7]{52})(\/rent)?$/.exec(req.url ?? '');
    const known = answers();
    if (!match?.[1] || req.method !== 'GET' || !known) {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('BTP over WebSocket, GET /pods/<hash>/rent or GET /pods/<hash>\n');
      return;
    }
    const rent = match[2] !== undefined;
    (rent ? known.rent(match[1]) : known.status(match[1])).then(
      (body) => {
        const type = rent ? 'application/spsp4+json' : 'application/json';
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      },
      () => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'no live pod with this hash' }),
        );
      },
    );
  };
}

/** mini-accounts names an account by base64url(sha256(token)); a pod's token is its pod secret. */
export function podAccountId(hostSecret: Buffer, hash: ManifestHash): string {
  return createHash('sha256').update(podSecret(hostSecret, hash)).digest('base64url');
}

/** What every container of a pod is given to reach its account: the standard `ilp-plugin` variables. */
export function podIlpEnvironment(hostSecret: Buffer, endpoint: { host: string; port: number }) {
  return (hash: ManifestHash): EnvVar[] => [
    { name: 'ILP_PLUGIN', value: 'ilp-plugin-btp', secret: false },
    {
      name: 'ILP_CREDENTIALS',
      value: JSON.stringify({
        server: `btp+ws://:${podSecret(hostSecret, hash)}@${endpoint.host}:${endpoint.port}`,
      }),
      secret: true,
    },
    // The pod's own rent address: any SPSP client in the pod can pay for its time from its account.
    {
      name: 'CODIUS_RENT_SPSP',
      value: `http://${endpoint.host}:${endpoint.port}/pods/${hash}/rent`,
      secret: false,
    },
  ];
}

/**
 * The connector's parent settings: the host's ILP provider, on an account other than the one the host
 * is paid on (two BTP connections sharing one account would each see the other's packets). Without
 * explicit credentials every plugin gets a random secret anyway; an explicit BTP secret is derived from.
 * Null when the provider is no BTP server codiusd can open a second account at.
 */
export function connectorParentSettings(settings: IlpSettings): IlpSettings | null {
  if (settings.plugin !== 'ilp-plugin-btp') return settings.credentials ? null : settings;
  const server = settings.credentials?.server;
  if (typeof server !== 'string') return settings;
  const url = new URL(server);
  if (url.password === '') return settings;
  url.password = createHmac('sha256', decodeURIComponent(url.password))
    .update('codiusd pod connector')
    .digest('hex');
  return { ...settings, credentials: { ...settings.credentials, server: url.toString() } };
}

/** ilp-connector writes its log to stdout; codiusd's log is JSON lines, so its lines go there at debug. */
function quietConnectorLog(logger: Logger): void {
  const log = requireHere('ilp-connector/dist/common/log') as { setOutputStream(stream: Writable): void };
  log.setOutputStream(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line.trim()) logger.debug({ output: line.trim() }, 'connector');
        done();
      },
    }),
  );
}

/**
 * A real ILP connector (ilp-connector) inside codiusd: the host's ILP provider is its parent, and every pod
 * has an account on its child, reached over BTP on the pod network's gateway. Anyone on the provider's
 * network can pay a pod (its address is under the connector's), and a pod can pay anyone with what it holds.
 */
export function createPodConnector(options: PodConnectorOptions): PodConnector {
  const { logger, hostSecret } = options;
  const accounts = new Map<string, ManifestHash>();
  let parent: IlpPlugin | undefined;
  let app: ConnectorApp | undefined;
  let childPrefix: string | null = null;
  let asset: HostAsset | null = null;
  let stopped = false;
  /** Read through a function: `stopped` changes while awaits are pending. */
  const isStopped = (): boolean => stopped;
  let running: Promise<void> | undefined;

  const remember = (hash: ManifestHash): void => {
    accounts.set(podAccountId(hostSecret, hash), hash);
  };
  // Started pods are remembered as they start; the store is re-read for an unknown account at most once
  // a second, so packets to made-up accounts from anywhere on the ILP network cannot each cost a scan.
  let lastRefresh = 0;
  async function podOfAccount(account: string): Promise<ManifestHash | undefined> {
    if (!accounts.has(account) && Date.now() - lastRefresh >= UNKNOWN_ACCOUNT_REFRESH_MS) {
      lastRefresh = Date.now();
      for (const hash of await options.knownPods()) remember(hash);
    }
    return accounts.get(account);
  }

  /** The pods' BTP server, made on the first connection attempt (the endpoint opens only after it). */
  let pods: ReturnType<typeof createPodAccountsPlugin> | undefined;
  const podAccounts = (): ReturnType<typeof createPodAccountsPlugin> =>
    (pods ??= createPodAccountsPlugin({
      podOfAccount,
      balances: options.balances,
      asset: () => {
        if (!asset) throw new Error('the pod connector is not connected');
        return asset;
      },
      port: options.endpoint.port,
      logger,
    }));
  let podAnswers: PodAnswers | undefined;
  const endpoint = createPodEndpoint({
    ...options.endpoint,
    onUpgrade: (req, socket, head) => podAccounts().handleUpgrade(req, socket, head),
    onRequest: podAnswerer(() => podAnswers),
    logger,
  });

  async function connectOnce(): Promise<void> {
    const plugin = createIlpPlugin(options.parent);
    parent = plugin;
    await plugin.connect();
    if (isStopped()) return;
    const info = await fetchIldcp((data) => plugin.sendData(data));
    if (isStopped()) return;
    asset = { code: info.assetCode, scale: info.assetScale };
    quietConnectorLog(logger);
    const createApp = (requireHere('ilp-connector/dist/app') as { default: CreateConnector }).default;
    const account = { assetCode: info.assetCode, assetScale: info.assetScale };
    app = createApp({
      env: info.clientAddress.startsWith('g.') ? 'production' : 'test',
      backend: 'one-to-one',
      spread: options.spread,
      store: 'memory',
      // Everything not for a pod goes up to the ILP provider. The connector's own default route covers
      // only `g.` or `test.`; a provider on `private.` (moneyd local) needs its top segment routed too.
      defaultRoute: 'parent',
      routes: [{ targetPrefix: info.clientAddress.split('.')[0], peerId: 'parent' }],
      accounts: {
        parent: { ...account, relation: 'parent', plugin, sendRoutes: false, receiveRoutes: false },
        // Pods are limited one by one in their plugin; the connector's own limit would be one bucket
        // shared by all of them, so one pod's flood would slow every other pod's payments.
        pods: {
          ...account,
          relation: 'child',
          plugin: podAccounts().plugin,
          rateLimit: { refillPeriod: 1_000, refillCount: Number.MAX_SAFE_INTEGER },
        },
      },
    });
    await app.listen();
    if (isStopped()) {
      await app.shutdown();
      return;
    }
    childPrefix = `${info.clientAddress}.pods.`;
    endpoint.start();
    logger.info({ address: `${info.clientAddress}.pods`, asset: info.assetCode }, 'pod connector ready');
  }

  async function run(): Promise<void> {
    for (let attempt = 0; !stopped; attempt += 1) {
      try {
        await connectOnce();
        return;
      } catch (error) {
        await parent?.disconnect().catch(() => undefined);
        const delay = scheduledDelay(DEFAULT_RETRY_SCHEDULE_MS, attempt);
        logger.warn({ err: error, retryInMs: delay }, 'pod connector could not start; retrying');
        await sleep(delay, { background: true });
      }
    }
  }

  return {
    start() {
      running ??= run();
    },
    async stop() {
      stopped = true;
      await endpoint.stop();
      await app?.shutdown().catch(() => undefined);
      await parent?.disconnect().catch(() => undefined);
    },
    addressOf: (hash) => (childPrefix ? `${childPrefix}${podAccountId(hostSecret, hash)}` : null),
    asset: () => asset,
    answerPods(answers) {
      podAnswers = answers;
    },
    podStarted(hash) {
      remember(hash);
      endpoint.poke();
    },
  };
}
