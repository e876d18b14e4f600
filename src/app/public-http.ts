import type { Server } from '@hapi/hapi';
import { createHostInfoService, type HostInfoService } from '../host/host-info.js';
import { createConnectionDrain, type ConnectionDrain } from '../http/drain.js';
import { putPodProxyInFront } from '../http/listener.js';
import { createPublicApi } from '../http/public-api.js';
import { MAX_PEERS_LISTED } from '../peers/sample.js';
import { createCapacity, type Capacity } from '../pods/capacity.js';
import { createPodProxy, type PodProxy } from '../proxy/pod-proxy.js';
import { uploadsAndCheckout } from './uploads.js';
import { cachedUntilWrite } from '../store/store.js';
import { isLive } from '../pods/pod-records.js';
import type { IlpAndPayments, PhaseContext, RuntimeAndPods, StoreAndSecret } from './phases.js';
import type { PeerNetwork } from '../peers/peer-network.js';
import type { PodPayments } from './pod-payments.js';
import type { SelfTest } from '../self-test/self-test.js';
import { installSelfTestGate } from '../http/self-test-gate.js';
import { createFastAnswers } from '../http/fast-answers.js';
import { SERVICE_NAME, VERSION } from '../version.js';
import { apiListen, prepareApiListener, startPlainHttpPort, startPublicFront } from './public-front.js';
import type { Certificates } from './certificates.js';
import { customDomainsFor } from './custom-domains.js';
import type { ManifestHash } from '../domain/types.js';
import type { PaymentReceiver } from '../payments/receiver.js';

/** The public listener once it listens. */
export interface PublicHttp {
  /** The URL it listens on. */
  url(): string;
}

export interface PublicHttpInputs {
  base: StoreAndSecret;
  pods: RuntimeAndPods;
  money: IlpAndPayments;
  podMoney: PodPayments | undefined;
  peers: PeerNetwork;
  selfTest: SelfTest | undefined;
  certificates: Certificates | null;
}

/**
 * Stops accepting, lets requests in flight finish (API and proxied alike) and closes their connections
 * after them; open WebSocket tunnels are ended at once. Whatever is still open after the shutdown timeout
 * is destroyed.
 */
async function stopListening(
  server: Server,
  drain: ConnectionDrain,
  proxy: PodProxy,
  receiver: PaymentReceiver,
  timeoutMs: number,
): Promise<void> {
  drain.begin();
  // Payments being collected end now with what they received, so their requests book it and answer.
  receiver.freezeAll();
  proxy.closeTunnels();
  const deadline = setTimeout(() => {
    server.listener.closeAllConnections();
    proxy.closeTunnels(true);
  }, timeoutMs);
  try {
    await server.stop();
  } finally {
    clearTimeout(deadline);
  }
}

/** Uploads and extensions answered, by status class, for /metrics. */
function countPodRequests(server: Server, context: PhaseContext): void {
  server.events.on('response', (request) => {
    if (request.path !== '/pods') return;
    const kind = request.method === 'post' ? 'upload' : request.method === 'put' ? 'extension' : null;
    if (kind === null) return;
    const response = request.response as { statusCode?: number; output?: { statusCode: number } } | null;
    const status = response?.output?.statusCode ?? response?.statusCode ?? 0;
    context.metrics.podRequestAnswered(kind, status);
  });
}

/** Memory accounting and the figures /info shows, from the pod directory, the store and the payment methods. */
function hostFigures(
  context: PhaseContext,
  inputs: PublicHttpInputs,
): { capacity: Capacity; hostInfo: HostInfoService } {
  const { config, machine } = context;
  const { store } = inputs.base;
  const { pods, directory } = inputs.pods;
  const { billing } = inputs.money;
  // Kept exact by the directory at every committed pod write: no scan of the pods table per request.
  // Right after a start they wait for the directory to hold every stored pod.
  const podUsage = () => directory.whenLoaded().then(() => directory.usage());
  const capacity = createCapacity(
    { totalMemoryBytes: machine.totalmem(), maxMemoryFraction: config.maxMemoryFraction },
    {
      usage: podUsage,
      hasLivePod: (hash) => directory.whenLoaded().then(() => isLive(directory.get(hash), Date.now())),
    },
  );
  const hostInfo = createHostInfoService(
    {
      publicUri: config.publicUri,
      additionalHostInfo: config.additionalHostInfo,
      maxListedPeers: MAX_PEERS_LISTED,
    },
    {
      revision: () => directory.revision() + capacity.revision(),
      podUsage,
      capacity,
      peerCount: cachedUntilWrite(store, () => store.peers.count()),
      peerUris: (limit) => store.peers.listUris(limit),
      asset: () => billing.methods()[0]?.asset ?? null,
      readyForUploads: () => pods.ready() && billing.methods().length > 0,
      podsReconciled: () => pods.firstPassDone(),
      paymentMethods: () =>
        billing.methods().map(({ method, asset, costPerMonth }) => ({
          method,
          assetCode: asset.code,
          assetScale: asset.scale,
          costPerMonth,
        })),
      selfTestSucceeded: () => inputs.selfTest?.stats().selfTestSuccess ?? false,
      costPerMonth: () => billing.methods()[0]?.costPerMonth ?? inputs.money.price.current(),
    },
    machine,
  );
  return { capacity, hostInfo };
}

/** The public port: the pod proxy in front of the API routes, drained gracefully on stop. */
export async function publicHttp(context: PhaseContext, inputs: PublicHttpInputs): Promise<PublicHttp> {
  const { lifecycle, config, logger } = context;
  const { store } = inputs.base;
  const { pods, directory } = inputs.pods;
  const { receiver } = inputs.money;

  const { capacity, hostInfo } = hostFigures(context, inputs);

  const custom = customDomainsFor(context, inputs.certificates, directory);
  const proxy = await lifecycle.start(
    'pod proxy',
    () =>
      createPodProxy({
        publicUri: config.publicUri,
        trustedProxies: config.proxy.trustedProxies,
        timeoutMs: config.proxy.timeoutMs,
        maxConnectionsPerPod: config.proxy.maxConnectionsPerPod,
        lookup: (hash) => directory.get(hash),
        // Until the directory holds every stored pod, one it lacks is read from the store.
        lookupStored: (hash) => (directory.loaded() ? undefined : store.pods.get(hash)),
        ...(custom ? { customHost: (host: string | undefined) => custom.domains.podFor(host) } : {}),
        logger: logger.child({ component: 'proxy' }),
        // Timing every proxied request is work only a host serving metrics needs.
        ...(config.admin.enabled
          ? {
              onAnswered: (status: number, seconds: number) => context.metrics.proxyAnswered(status, seconds),
            }
          : {}),
      }),
    (started) => started.close(),
  );
  const { uploads, checkout, renewals, rent } = await uploadsAndCheckout(
    context,
    { ...inputs, ...(custom ? { domainsOf: (hash: ManifestHash) => custom.domains.domainsOf(hash) } : {}) },
    capacity,
  );
  // Shutdown drains connections itself, for proxied requests as much as for the API's.
  const tls = inputs.certificates?.tls ?? null;
  const listen = apiListen(context, tls, custom);
  const server = await createPublicApi(
    {
      ...listen,
      publicUri: config.publicUri,
      maxDurationSeconds: config.payments.maxDurationSeconds,
      trustedProxies: config.proxy.trustedProxies,
      logger,
      cleanStop: false,
      dev: config.dev,
    },
    {
      hostInfo,
      uploads,
      ...(checkout ? { checkout } : {}),
      ...(renewals ? { renewals } : {}),
      rent,
      pods,
      peers: { listUris: () => store.peers.listUris(), offer: (uris) => inputs.peers.offer(uris) },
    },
  );
  countPodRequests(server, context);
  // A production host takes no money before it has shown that it can serve what is paid for.
  if (inputs.selfTest && !config.dev) {
    const selfTest = inputs.selfTest;
    installSelfTestGate(server, { stats: () => selfTest.stats(), bypassToken: selfTest.bypassToken });
  }
  // One bound for everything the port holds, under the per-pod and per-client ones.
  server.listener.maxConnections = config.proxy.maxConnections;
  const drain = createConnectionDrain(server.listener);
  const fastAnswer = createFastAnswers({
    version: { name: SERVICE_NAME, version: VERSION },
    infoJson: () => hostInfo.infoJson(),
    logger,
  });
  putPodProxyInFront(server.listener, proxy, drain, fastAnswer);
  prepareApiListener(context, server, tls);
  // hapi emits 'closing' right after the listener stops accepting: from here new connections are refused.
  server.events.on('closing', () => {
    logger.info({ timeoutMs: config.shutdownTimeoutMs }, 'shutting down: draining requests');
  });
  await lifecycle.start(
    'public listener',
    () => server.start(),
    () => stopListening(server, drain, proxy, receiver, config.shutdownTimeoutMs),
  );
  const url = await startPublicFront(context, { server, directory, tls, custom });
  if (inputs.certificates) await startPlainHttpPort(context, inputs.certificates, custom);
  logger.info(
    {
      listening: url,
      engine: config.proxy.engine,
      publicUri: config.publicUri,
      dev: config.dev,
      store: store.location,
    },
    `codiusd listening on ${url}, public URI ${config.publicUri}`,
  );
  return { url: () => url };
}
