import type { Server } from '@hapi/hapi';
import type { Config } from './config/config.js';
import { createHostInfoService, realMachine, type MachineProbe } from './host/host-info.js';
import { paymentsPlugin } from './http/plugins/payments.js';
import { infoRoutes } from './http/routes/info.js';
import { MAX_PEERS_LISTED, peerRoutes } from './http/routes/peers.js';
import { podLogRoutes } from './http/routes/pod-logs.js';
import { podRoutes } from './http/routes/pods.js';
import { statusPageRoutes } from './http/routes/status-page.js';
import { versionRoutes } from './http/routes/version.js';
import { createConnectionDrain, type ConnectionDrain } from './http/drain.js';
import { putPodProxyInFront } from './http/listener.js';
import { createHttpServer } from './http/server.js';
import type { Logger } from './logger.js';
import { createIlpLink, type IlpLink } from './ilp/link.js';
import { isListening, isMoneydLocalEndpoint, startEmbeddedMoneyd } from './ilp/moneyd-local.js';
import { btpEndpoint, createIlpPlugin, type IlpSettings } from './ilp/plugin.js';
import { createCreditBook } from './payments/credits.js';
import { createPaymentReceiver, type PaymentReceiver } from './payments/receiver.js';
import type { SupervisedProcess } from './process/supervisor.js';
import { createPodProxy, type PodProxy } from './proxy/pod-proxy.js';
import { createPeerClient } from './peers/peer-client.js';
import { createPeerNetwork, type PeerNetwork } from './peers/peer-network.js';
import { SERVICE_NAME, VERSION } from './version.js';
import { ensureRootDir } from './root-dir.js';
import { createCapacity } from './pods/capacity.js';
import { createPodDirectory } from './pods/pod-directory.js';
import { createPodManager, type PodManager } from './pods/pod-manager.js';
import { createPrivateVarsCipher } from './pods/private-vars.js';
import type { PodRuntime } from './runtime/driver.js';
import { openRuntime } from './runtime/index.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from './secret.js';
import { cachedUntilWrite, openStore, type Store } from './store/store.js';

/** A peer's answer (its /info, its peer list) is read up to this size; 1,000 URIs fit easily. */
const MAX_PEER_RESPONSE_BYTES = 1024 * 1024;

export interface AppDependencies {
  config: Config;
  logger: Logger;
  machine?: MachineProbe;
}

export interface App {
  /** Opens the store and starts listening. Nothing is bound if an earlier step fails. */
  start(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish within the shutdown timeout, closes the store. */
  stop(): Promise<void>;
  /** The URL the public server listens on (after start). */
  listeningUrl(): string;
}

/** Where the ILP provider is expected, for logs: never the credentials. */
function providerLabel(settings: IlpSettings): string {
  const endpoint = btpEndpoint(settings);
  return endpoint ? `${settings.plugin} at ${endpoint.host}:${endpoint.port}` : settings.plugin;
}

/**
 * In dev mode only, a host with nothing on the moneyd port gets an embedded `moneyd local`, so the quick
 * start needs nothing else. Production never does this: that moneyd's money is not real.
 */
async function maybeStartEmbeddedMoneyd(
  config: Config,
  logger: Logger,
): Promise<SupervisedProcess | undefined> {
  if (!config.dev) return undefined;
  const endpoint = btpEndpoint(config.ilp);
  if (!endpoint || !isMoneydLocalEndpoint(endpoint)) return undefined;
  if (await isListening(endpoint.host, endpoint.port)) return undefined;
  logger.warn(
    'dev mode: nothing listens on localhost:7768, starting an embedded `moneyd local` (play money)',
  );
  return startEmbeddedMoneyd({ logger: logger.child({ component: 'moneyd' }) });
}

/** Composition root: builds every component from the config and wires them together. */
export function createApp({ config, logger, machine = realMachine }: AppDependencies): App {
  let store: Store | undefined;
  let server: Server | undefined;
  let runtime: PodRuntime | undefined;
  let pods: PodManager | undefined;
  let moneyd: SupervisedProcess | undefined;
  let ilp: IlpLink | undefined;
  let receiver: PaymentReceiver | undefined;
  let proxy: PodProxy | undefined;
  let drain: ConnectionDrain | undefined;
  let peers: PeerNetwork | undefined;

  /** Releases whatever start() got to, in reverse order; used by stop() and by a failed start(). */
  async function release(): Promise<void> {
    await peers?.stop();
    peers = undefined;
    await proxy?.close();
    proxy = undefined;
    await pods?.stop();
    pods = undefined;
    receiver?.close();
    receiver = undefined;
    await ilp?.stop();
    ilp = undefined;
    await moneyd?.stop();
    moneyd = undefined;
    await runtime?.close();
    runtime = undefined;
    await store?.close();
    store = undefined;
  }

  async function start(): Promise<void> {
    const root = await ensureRootDir(config.root);
    if (root.warning) logger.warn(root.warning);
    const secret = await loadOrCreateHostSecret(config.root);
    if (secret.created) logger.info({ root: config.root }, 'created a new host secret');

    store = await openStore({ root: config.root, inMemory: config.inMemoryStore });
    const openedStore = store;
    if (config.inMemoryStore)
      logger.warn('CODIUS_MEMDOWN_PERSIST=true: the store is in memory and is lost on exit');

    try {
      runtime = await openRuntime({
        config,
        logger,
        hostSecret: secret.secret,
        hostId: hostIdFromSecret(secret.secret),
      });
    } catch (error) {
      await release();
      throw error;
    }
    const directory = createPodDirectory();
    const podManager = createPodManager({
      store: openedStore,
      directory,
      runtime,
      cipher: createPrivateVarsCipher(secret.secret),
      logger: logger.child({ component: 'pods' }),
      publicUri: config.publicUri,
      reconcileIntervalMs: config.runtime.reconcileIntervalMs,
    });
    pods = podManager;
    // Recovers paid pods and removes orphans before serving; runtime trouble is retried in the background.
    await podManager.start();

    try {
      moneyd = await maybeStartEmbeddedMoneyd(config, logger);
    } catch (error) {
      // The link below reports and retries; a dev host still serves everything but uploads.
      logger.error({ err: error }, 'could not start the embedded moneyd');
    }
    const link = createIlpLink({
      createPlugin: () => createIlpPlugin(config.ilp),
      logger: logger.child({ component: 'ilp' }),
      providerLabel: providerLabel(config.ilp),
    });
    ilp = link;
    link.start();
    const paymentReceiver = createPaymentReceiver({ link, logger: logger.child({ component: 'payments' }) });
    receiver = paymentReceiver;

    const network = createPeerNetwork({
      store: openedStore.peers,
      client: createPeerClient({
        timeoutMs: config.peers.timeoutMs,
        maxBodyBytes: MAX_PEER_RESPONSE_BYTES,
        allowPrivateAddresses: config.dev,
        userAgent: `${SERVICE_NAME}/${VERSION}`,
      }),
      logger: logger.child({ component: 'peers' }),
      selfUri: config.publicUri,
      bootstrap: config.bootstrapPeers,
      dev: config.dev,
      discoveryIntervalMs: config.peers.discoveryIntervalMs,
      fanout: config.peers.fanout,
      maxFailures: config.peers.maxFailures,
      dropAfterMs: config.peers.dropAfterMs,
    });
    peers = network;
    await network.start();

    const podUsage = cachedUntilWrite(openedStore, () => openedStore.pods.usage());
    const capacity = createCapacity(
      { totalMemoryBytes: machine.totalmem(), maxMemoryFraction: config.maxMemoryFraction },
      { usage: podUsage, hasLivePod: async (hash) => (await podManager.get(hash)) !== undefined },
    );
    const hostInfo = createHostInfoService(
      {
        publicUri: config.publicUri,
        additionalHostInfo: config.additionalHostInfo,
        // The original listed every peer; bounded like GET /peers.
        maxListedPeers: MAX_PEERS_LISTED,
      },
      {
        podUsage,
        capacity,
        peerCount: cachedUntilWrite(openedStore, () => openedStore.peers.count()),
        peerUris: (limit) => openedStore.peers.listUris(limit),
        asset: () => link.asset(),
        readyForUploads: () => podManager.ready() && link.ready(),
        selfTestSucceeded: () => false,
        costPerMonth: () => config.costPerMonth,
      },
      machine,
    );

    // Shutdown drains connections itself, for proxied requests as much as for the API's.
    server = createHttpServer({ host: config.bindIp, port: config.port, logger, cleanStop: false });
    proxy = createPodProxy({
      publicUri: config.publicUri,
      trustedProxies: config.proxy.trustedProxies,
      timeoutMs: config.proxy.timeoutMs,
      maxConnectionsPerPod: config.proxy.maxConnectionsPerPod,
      lookup: (hash) => directory.get(hash),
      logger: logger.child({ component: 'proxy' }),
    });
    drain = createConnectionDrain(server.listener);
    putPodProxyInFront(server.listener, proxy, drain);
    await server.register({
      plugin: paymentsPlugin,
      options: {
        receiver: paymentReceiver,
        book: (entry) => openedStore.ledger.append(entry),
        timeoutMs: config.payments.timeoutMs,
        logger: logger.child({ component: 'payments' }),
      },
    });
    server.route([
      ...versionRoutes(),
      ...infoRoutes(hostInfo),
      ...podRoutes(
        {
          publicUri: config.publicUri,
          quoteMode: config.quoteMode,
          maxDurationSeconds: config.payments.maxDurationSeconds,
          costPerMonth: () => config.costPerMonth,
          asset: () => link.asset(),
          logger: logger.child({ component: 'pods-api' }),
        },
        {
          pods: podManager,
          capacity,
          credits: createCreditBook((hash, asset) => openedStore.ledger.creditBalance(hash, asset)),
        },
      ),
      ...podLogRoutes(podManager),
      ...peerRoutes({
        listUris: () => openedStore.peers.listUris(),
        offer: (uris) => network.offer(uris),
      }),
      ...statusPageRoutes(hostInfo),
    ]);
    // hapi emits 'closing' right after the listener stops accepting: from here new connections are refused.
    server.events.on('closing', () => {
      logger.info({ timeoutMs: config.shutdownTimeoutMs }, 'shutting down: draining requests');
    });
    try {
      await server.start();
    } catch (error) {
      server = undefined;
      await release();
      throw error;
    }
    logger.info(
      {
        listening: server.info.uri,
        publicUri: config.publicUri,
        dev: config.dev,
        store: openedStore.location,
      },
      `codiusd listening on ${server.info.uri}, public URI ${config.publicUri}`,
    );
  }

  /**
   * Stops accepting, lets requests in flight finish (API and proxied alike) and closes their connections
   * after them; open WebSocket tunnels are ended at once. Whatever is still open after the shutdown
   * timeout is destroyed.
   */
  async function stopListening(listening: Server): Promise<void> {
    drain?.begin();
    proxy?.closeTunnels();
    const listener = listening.listener;
    const deadline = setTimeout(() => {
      listener.closeAllConnections();
      proxy?.closeTunnels(true);
    }, config.shutdownTimeoutMs);
    try {
      await listening.stop();
    } finally {
      clearTimeout(deadline);
    }
  }

  async function stop(): Promise<void> {
    if (server) {
      const listening = server;
      server = undefined;
      await stopListening(listening);
    }
    await release();
  }

  return {
    start,
    stop,
    listeningUrl: () => {
      if (!server) throw new Error('codiusd is not listening');
      return server.info.uri;
    },
  };
}
