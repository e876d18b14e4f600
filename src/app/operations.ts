import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { assetsTaken, type AdminServices, type SelfTestView } from '../admin/admin-services.js';
import { moneyByAssetCode } from '../admin/money.js';
import { createIlpPlugin } from '../ilp/plugin.js';
import type { MetricsSources } from '../metrics/host-metrics.js';
import type { PeerNetwork } from '../peers/peer-network.js';
import { selfTestImageSource } from '../self-test/image.js';
import { paidRequest, payerSettings } from '../self-test/paid-request.js';
import { createSelfTest, type SelfTest } from '../self-test/self-test.js';
import type { IlpAndPayments, PhaseContext, RuntimeAndPods, StoreAndSecret } from './phases.js';
import { podBalanceOf, type PodPayments } from './pod-payments.js';
import type { Certificates } from './certificates.js';

/** How long the self test's pod is paid for: five minutes. */
const SELF_TEST_POD_SECONDS = 300;

export interface OperationsInputs {
  base: StoreAndSecret;
  pods: RuntimeAndPods;
  money: IlpAndPayments;
  podMoney: PodPayments | undefined;
  peers: PeerNetwork;
  certificates: Certificates | null;
}

/** The figures /metrics reads at scrape time, from their owners. */
export function metricsSources(inputs: OperationsInputs, selfTest: SelfTest | undefined): MetricsSources {
  const { store } = inputs.base;
  const { directory } = inputs.pods;
  return {
    podsByState: () => directory.whenLoaded().then(() => directory.countByState()),
    peerCount: () => store.peers.count(),
    ilpConnected: () => inputs.money.link.ready(),
    selfTestPassed: () => selfTest?.stats().selfTestSuccess ?? false,
    certificates: () => inputs.certificates?.status() ?? [],
    async money() {
      const taken = assetsTaken({
        asset: () => inputs.money.link.asset(),
        paymentMethods: () => inputs.money.billing.methods(),
      });
      const figures = moneyByAssetCode(
        await store.ledger.accounts(),
        taken,
        await store.ledger.receivedByMethod(),
      );
      return Object.entries(figures).map(([assetCode, m]) => ({
        assetCode,
        received: Number(m.received),
        earned: Number(m.earned),
        credit: Number(m.credit),
        methods: Object.fromEntries(
          Object.entries(m.methods).map(([name, amount]) => [name, Number(amount)]),
        ),
      }));
    },
  };
}

/**
 * The self test, when enabled: it pays this host through its own ILP provider (a sub-account of its own)
 * to run a pod of an image built here, then reaches the pod through the public URI. Null when disabled.
 */
export function hostSelfTest(context: PhaseContext, inputs: OperationsInputs): SelfTest | undefined {
  const { config, logger } = context;
  if (!config.selfTest.enabled) return undefined;
  const { runtime, localImages } = inputs.pods;
  let image: string | undefined;
  return createSelfTest({
    publicUri: config.publicUri,
    retries: config.selfTest.retries,
    intervalMs: config.selfTest.intervalMs,
    repeatMs: config.selfTest.repeatMs,
    connectTo: config.selfTest.address,
    bypassToken: randomBytes(32).toString('hex'),
    logger: logger.child({ component: 'self-test' }),
    async image() {
      if (image) return image;
      if (!runtime.importImage) {
        throw new Error(`the ${runtime.name} runtime cannot run an image built on this host`);
      }
      const imported = await runtime.importImage(await selfTestImageSource(join(config.root, 'self-test')));
      localImages.add(imported);
      return (image = imported);
    },
    upload: (url, body, headers) =>
      paidRequest(url, {
        method: 'POST',
        headers,
        body,
        connectTo: config.selfTest.address,
        timeoutMs: config.payments.timeoutMs + 30_000,
        maxAmount: inputs.money.billing.price(SELF_TEST_POD_SECONDS).amount,
        plugin: () => createIlpPlugin(payerSettings(config.ilp)),
      }),
  });
}

function selfTestView(selfTest: SelfTest | undefined): SelfTestView | null {
  if (!selfTest) return null;
  const report = selfTest.report();
  return {
    selfTestSuccess: report.selfTestSuccess,
    uploadSuccess: report.uploadSuccess,
    httpSuccess: report.httpSuccess,
    wsSuccess: report.wsSuccess,
    running: report.running,
    finishedAt: report.finishedAt,
    failure: report.failure,
  };
}

/** The admin listener, when CODIUS_ADMIN_API=true. */
export async function adminListener(
  context: PhaseContext,
  inputs: OperationsInputs,
  selfTest: SelfTest | undefined,
): Promise<void> {
  const { lifecycle, config, logger } = context;
  if (!config.admin.enabled) return;
  const { store } = inputs.base;
  const { podMoney } = inputs;
  const services: AdminServices = {
    pods: { list: () => store.pods.list(), get: (hash) => store.pods.get(hash) },
    ledger: store.ledger,
    asset: () => inputs.money.link.asset(),
    paymentMethods: () => inputs.money.billing.methods(),
    renewalsActive: () => store.renewals.countActive(),
    price: inputs.money.price,
    peers: store.peers,
    metrics: context.metrics,
    selfTest: () => selfTestView(selfTest),
    certificates: () => inputs.certificates?.status() ?? [],
    publicUri: config.publicUri,
    logger: logger.child({ component: 'admin' }),
    settings: () => ({
      publicUri: config.publicUri,
      runtime: config.runtime.kind,
      ociRuntime: config.runtime.podman.ociRuntime,
      podFirewall: config.sandbox.firewall,
      maxMemoryFraction: config.maxMemoryFraction,
      maxDurationSeconds: config.payments.maxDurationSeconds,
      podIlp: config.podIlp.enabled,
      proxyEngine: config.proxy.engine,
      proxyEngineReason: config.proxy.engineReason,
      tls: config.https.acme ? 'acme' : config.proxy.tls ? 'files' : 'off',
      dev: config.dev,
    }),
    ...(podMoney ? { podBalance: podBalanceOf(podMoney, () => inputs.money.link.asset()) } : {}),
  };
  // Its routes and dashboard are loaded only for a host that opens it.
  const { createAdminApi } = await import('../admin/admin-api.js');
  const { loadOrCreateAdminToken } = await import('../admin/admin-token.js');
  // The listener always needs a token: a page in the operator's browser can reach loopback too.
  const kept = config.admin.token === null ? await loadOrCreateAdminToken(config.root) : null;
  const token = kept ? kept.token : config.admin.token;
  if (!token) throw new Error('the admin listener has no token');
  const server = createAdminApi({ ...config.admin, token }, services);
  await lifecycle.start(
    'admin listener',
    () => server.start(),
    () => server.stop({ timeout: 2_000 }),
  );
  logger.info(
    { listening: server.info.uri, token: kept ? kept.path : 'CODIUS_ADMIN_TOKEN' },
    `admin API on ${server.info.uri}; its token is in ${kept ? kept.path : 'CODIUS_ADMIN_TOKEN'}`,
  );
}
