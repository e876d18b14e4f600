import type { Config } from '../config/config.js';
import { realMachine, type MachineProbe } from '../host/host-info.js';
import type { Logger } from '../logger.js';
import type { PodManager } from '../pods/pod-manager.js';
import { RUNTIME_DRIVERS, type RuntimeDrivers } from '../runtime/registry.js';
import { lateBoundSources } from '../metrics/late-sources.js';
import { quietMetrics } from '../metrics/quiet-metrics.js';
import { certificates } from './certificates.js';
import { createLifecycle } from './lifecycle.js';
import { adminListener, hostSelfTest, metricsSources } from './operations.js';
import { ilpAndPayments, peerNetwork, runtimeAndPods, storeAndSecret, type PhaseContext } from './phases.js';
import { podPayments } from './pod-payments.js';
import { publicHttp, type PublicHttp } from './public-http.js';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  machine?: MachineProbe;
  /** The runtime drivers to choose from; the real ones by default. */
  runtimeDrivers?: RuntimeDrivers;
}

export interface App {
  /** Starts every component in order and listens. Whatever started is stopped again if a step fails. */
  start(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish within the shutdown timeout, stops the rest in reverse. */
  stop(): Promise<void>;
  /** The URL the public server listens on (after start). */
  listeningUrl(): string;
  /** Whether the first reconcile pass since the start has gone through every recorded pod (/info podsReconciled). */
  podsReconciled(): boolean;
}

/**
 * Composition root. The start reads as its phases: the store and secret, the runtime and pods, ILP and
 * payments, pods' own ILP accounts, the peer network, the public port, the admin listener and the self test. Each phase registers its components with the lifecycle,
 * which stops them in reverse order, so adding a component is one registration where it is built.
 */
export function createApp({ config, logger, machine = realMachine, runtimeDrivers }: AppDependencies): App {
  const lifecycle = createLifecycle(logger);
  const figures = lateBoundSources();
  const context: PhaseContext = {
    lifecycle,
    config,
    logger,
    machine,
    runtimeDrivers: runtimeDrivers ?? RUNTIME_DRIVERS,
    metrics: quietMetrics(),
  };
  let listening: PublicHttp | undefined;
  let podManager: PodManager | undefined;

  return {
    async start() {
      try {
        // Metrics are kept only where the admin listener serves them; Prometheus's client loads only then.
        if (config.admin.enabled) {
          const { createHostMetrics } = await import('../metrics/host-metrics.js');
          context.metrics = createHostMetrics(figures.sources);
        }
        const base = await storeAndSecret(context);
        const pods = await runtimeAndPods(context, base);
        const money = await ilpAndPayments(context, base);
        const podMoney = await podPayments(context, base, pods.pods, pods.directory);
        const peers = await peerNetwork(context, base);
        const tls = await certificates(context);
        const inputs = { base, pods, money, podMoney, peers, certificates: tls };
        const selfTest = hostSelfTest(context, inputs);
        figures.bind(metricsSources(inputs, selfTest));
        listening = await publicHttp(context, { ...inputs, selfTest });
        await adminListener(context, inputs, selfTest);
        // From here on, in the background: the pod records load into memory, then lost pods are recovered.
        podManager = pods.pods;
        podManager.startReconciling();
        if (selfTest) {
          await lifecycle.start(
            'self test',
            () => selfTest.start(),
            () => selfTest.stop(),
          );
        }
      } catch (error) {
        await lifecycle.stopAll();
        throw error;
      }
    },
    async stop() {
      listening = undefined;
      await lifecycle.stopAll();
    },
    listeningUrl() {
      if (!listening) throw new Error('codiusd is not listening');
      return listening.url();
    },
    podsReconciled: () => podManager?.firstPassDone() ?? false,
  };
}
