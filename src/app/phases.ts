import type { Config } from '../config/config.js';
import { loadPriceSetting, type PriceSetting } from '../host/price-setting.js';
import { meteredRuntime } from '../metrics/metered-runtime.js';
import { createIlpLink, type IlpLink } from '../ilp/link.js';
import { isListening, isMoneydLocalEndpoint, startEmbeddedMoneyd } from '../ilp/moneyd-local.js';
import { btpEndpoint, createIlpPlugin, type IlpSettings } from '../ilp/plugin.js';
import type { Logger } from '../logger.js';
import { createBillingService, type BillingService } from '../payments/billing.js';
import { createPaymentReceiver, type PaymentReceiver } from '../payments/receiver.js';
import { createPeerClient } from '../peers/peer-client.js';
import { createPeerNetwork, type PeerNetwork } from '../peers/peer-network.js';
import { createPodDirectory, type PodDirectory } from '../pods/pod-directory.js';
import { createPodManager, type PodManager } from '../pods/pod-manager.js';
import { createPrivateVarsCipher } from '../pods/private-vars.js';
import type { SupervisedProcess } from '../process/supervisor.js';
import { ensureRootDir } from '../root-dir.js';
import type { PodRuntime } from '../runtime/driver.js';
import { openRuntime } from '../runtime/registry.js';
import type { RegistryPolicy } from '../runtime/registry-policy.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../secret.js';
import { openStore } from '../store/store.js';
import { SERVICE_NAME, VERSION } from '../version.js';
import type { PhaseContext, StoreAndSecret } from './phase-context.js';
import { paymentMethods } from './payment-methods.js';
import { podEnvironment, podHostPorts } from './pod-payments.js';
import { podContainment, registryPolicyFor } from './sandbox.js';
import { createTenantWallets, type TenantWallets } from '../checkout/tenant-wallet.js';

/** A peer's answer (its /info, its peer list) is read up to this size; 1,000 URIs fit easily. */
const MAX_PEER_RESPONSE_BYTES = 1024 * 1024;

export type { PhaseContext, StoreAndSecret } from './phase-context.js';

/** The data directory, the host secret and the store: everything else keeps its state here. */
export async function storeAndSecret({ lifecycle, config, logger }: PhaseContext): Promise<StoreAndSecret> {
  const root = await ensureRootDir(config.root);
  if (root.warning) logger.warn(root.warning);
  const secret = await loadOrCreateHostSecret(config.root);
  if (secret.created) logger.info({ root: config.root }, 'created a new host secret');
  const store = await lifecycle.start(
    'store',
    () => openStore({ root: config.root, inMemory: config.inMemoryStore }),
    (opened) => opened.close(),
  );
  if (config.inMemoryStore)
    logger.warn('CODIUS_MEMDOWN_PERSIST=true: the store is in memory and is lost on exit');
  return { store, hostSecret: secret.secret, hostId: hostIdFromSecret(secret.secret) };
}

export interface RuntimeAndPods {
  runtime: PodRuntime;
  directory: PodDirectory;
  pods: PodManager;
  registries: RegistryPolicy;
  /** Images this host imported itself (the self test's), by reference: allowed without a registry. */
  localImages: Set<string>;
}

/** Changes a runtime reports at once are reconciled within a second (one pass for a burst of them). */
const CHANGE_RECONCILE_DELAY_MS = 500;

function reconcileOnRuntimeChanges(runtime: PodRuntime, pods: PodManager, logger: Logger): void {
  let pending: NodeJS.Timeout | undefined;
  runtime.watchPods?.((hash) => {
    logger.debug({ hash }, 'the runtime reports a pod change');
    pending ??= setTimeout(() => {
      pending = undefined;
      pods
        .reconcile()
        .catch((error: unknown) => logger.warn({ err: error }, 'reconcile after a pod change failed'));
    }, CHANGE_RECONCILE_DELAY_MS);
    pending.unref();
  });
}

/** The container runtime and the pods on it, reconciled with the store before anything is served. */
export async function runtimeAndPods(context: PhaseContext, base: StoreAndSecret): Promise<RuntimeAndPods> {
  const { lifecycle, config, logger } = context;
  const localImages = new Set<string>();
  const registries = registryPolicyFor(context, (image) => localImages.has(image));
  const opened = await lifecycle.start(
    'runtime',
    () =>
      openRuntime(
        config.runtime,
        {
          root: config.root,
          logger,
          hostSecret: base.hostSecret,
          hostId: base.hostId,
          registryPolicy: registries,
        },
        context.runtimeDrivers,
      ),
    (started) => started.close(),
  );
  const runtime = meteredRuntime(opened, context.metrics);
  // Before the first pod runs; the firewall stays in place when codiusd stops, since pods keep running.
  const containment = await podContainment(context, runtime, podHostPorts(context));
  const hostEnvironment = podEnvironment(context, base.hostSecret);
  const directory = createPodDirectory();
  const pods = createPodManager({
    store: base.store,
    directory,
    runtime,
    cipher: createPrivateVarsCipher(base.hostSecret),
    logger: logger.child({ component: 'pods' }),
    publicUri: config.publicUri,
    reconcileIntervalMs: config.runtime.reconcileIntervalMs,
    reconcileGuards: containment ? [containment] : [],
    ...(hostEnvironment ? { hostEnvironment } : {}),
    imageRetentionMs: config.sandbox.imageRetentionMs,
  });
  // Prepares the runtime; the pod records are loaded, and lost pods recovered, once the host serves
  // (startReconciling), so a host with many pods serves at once. Until the load ends the proxy reads a
  // pod it lacks from the store, and what counts every pod waits for it.
  await lifecycle.start(
    'pods',
    () => pods.start(),
    () => pods.stop(),
  );
  reconcileOnRuntimeChanges(runtime, pods, logger);
  return { runtime, directory, pods, registries, localImages };
}

/** Where the ILP provider is expected, for logs: never the credentials. */
function providerLabel(settings: IlpSettings): string {
  const endpoint = btpEndpoint(settings);
  return endpoint ? `${settings.plugin} at ${endpoint.host}:${endpoint.port}` : settings.plugin;
}

/**
 * In dev mode only, a host with nothing on the moneyd port gets an embedded `moneyd local`, so the quick
 * start needs nothing else. Production never does this: that moneyd's money is not real. A moneyd that
 * will not start is logged: the ILP link reports and retries, and a dev host serves everything but uploads.
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
  try {
    return await startEmbeddedMoneyd({ logger: logger.child({ component: 'moneyd' }) });
  } catch (error) {
    logger.error({ err: error }, 'could not start the embedded moneyd');
    return undefined;
  }
}

export interface IlpAndPayments {
  link: IlpLink;
  receiver: PaymentReceiver;
  billing: BillingService;
  /** The price per month, as configured or as last set through the admin API. */
  price: PriceSetting;
  /** Tenants' Open Payments wallets, reached as the host (when it takes Open Payments): the checkout pays from them. */
  tenantWallets?: TenantWallets;
}

/** The host's ILP connection, the STREAM receiver payers pay into, and billing over the ledger. */
export async function ilpAndPayments(context: PhaseContext, base: StoreAndSecret): Promise<IlpAndPayments> {
  const { lifecycle, config, logger } = context;
  await lifecycle.start(
    'embedded moneyd',
    () => maybeStartEmbeddedMoneyd(config, logger),
    (moneyd) => moneyd?.stop(),
  );
  const link = createIlpLink({
    createPlugin: () => createIlpPlugin(config.ilp),
    logger: logger.child({ component: 'ilp' }),
    providerLabel: providerLabel(config.ilp),
  });
  await lifecycle.start(
    'ILP link',
    () => link.start(),
    () => link.stop(),
  );
  const paymentsLogger = logger.child({ component: 'payments' });
  const receiver = await lifecycle.start(
    'payment receiver',
    () => createPaymentReceiver({ link, packets: base.store.paymentPackets, logger: paymentsLogger }),
    (started) => started.close(),
  );
  const price = await loadPriceSetting(base.store.kv, config.costPerMonth, paymentsLogger);
  const { methods, openPaymentsClient } = await paymentMethods(context, {
    store: base.store,
    link,
    receiver,
    price,
    logger: paymentsLogger,
  });
  // Before any payment is taken: money a stop interrupted becomes its manifest's credit.
  await lifecycle.start(
    'payment methods',
    async () => {
      for (const method of methods) await method.recover();
    },
    async () => {
      for (const method of methods) await method.stop?.();
    },
  );
  const billing = createBillingService({
    ledger: base.store.ledger,
    methods,
    logger: paymentsLogger,
    onPaymentEnded: (method, code, outcome, received) =>
      context.metrics.paymentEnded(method, code, outcome, received),
  });
  const tenantWallets = openPaymentsClient && createTenantWallets(openPaymentsClient, config.dev);
  return { link, receiver, billing, price, ...(tenantWallets ? { tenantWallets } : {}) };
}

/** The Codius host network: bootstrap peers, discovery and revalidation. */
export async function peerNetwork(
  { lifecycle, config, logger }: PhaseContext,
  base: StoreAndSecret,
): Promise<PeerNetwork> {
  const network = createPeerNetwork({
    store: base.store.peers,
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
    maxPeers: config.peers.maxPeers,
  });
  await lifecycle.start(
    'peer network',
    () => network.start(),
    () => network.stop(),
  );
  return network;
}
