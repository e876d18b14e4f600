import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createPodBalances, type PodBalances } from '../connector/pod-balances.js';
import {
  connectorParentSettings,
  createPodConnector,
  podIlpEnvironment,
  type PodConnector,
} from '../connector/pod-connector.js';
import type { EnvVar, HostAsset, ManifestHash } from '../domain/types.js';
import type { PortRule } from '../net/port-list.js';
import type { PodManager } from '../pods/pod-manager.js';
import type { PodDirectory } from '../pods/pod-directory.js';
import { podmanNetwork } from '../runtime/settings.js';
import type { PhaseContext, StoreAndSecret } from './phase-context.js';

/** Where hyperd pods' moneyd sidecars reach the host: an address on a bridge of codiusd's. */
const HYPERD_UPLINK = { host: '169.254.77.68', bridge: 'codius0' };

/** The pods' ILP endpoint for this runtime: the Podman network's gateway, or the hyperd sidecars' uplink. */
function endpointOf({ config }: PhaseContext): { host: string; port: number } {
  const host =
    config.runtime.kind === 'podman' ? podmanNetwork(config.runtime.podman).gateway : HYPERD_UPLINK.host;
  return { host, port: config.podIlp.port };
}

/** Pods in a Kubernetes cluster have no accounts yet: the connector would have to be a cluster service. */
const podIlpOn = ({ config }: PhaseContext): boolean =>
  config.podIlp.enabled &&
  config.runtime.kind !== 'kubernetes' &&
  !(config.runtime.kind === 'hyperd' && config.runtime.hyperd.noop);

/** The port pods may reach on this host (the firewall opens exactly it). */
export function podHostPorts(context: PhaseContext): PortRule[] {
  return podIlpOn(context) ? [{ port: context.config.podIlp.port, protocol: 'tcp' }] : [];
}

/**
 * What each container is given to reach its pod's account; none under hyperd, whose moneyd sidecar is
 * what the pod's apps use.
 */
export function podEnvironment(
  context: PhaseContext,
  hostSecret: Buffer,
): ((hash: ManifestHash) => EnvVar[]) | undefined {
  if (!podIlpOn(context) || context.config.runtime.kind !== 'podman') return undefined;
  return podIlpEnvironment(hostSecret, endpointOf(context));
}

export interface PodPayments {
  connector: PodConnector;
  balances: PodBalances;
}

/** hyperd pods' sidecars need the uplink bridge and address; codiusd creates them, best effort. */
async function hyperdUplink(): Promise<void> {
  const ip = (...args: string[]) => promisify(execFile)('ip', args).catch(() => undefined);
  await ip('link', 'add', 'name', HYPERD_UPLINK.bridge, 'type', 'bridge');
  await ip('link', 'set', HYPERD_UPLINK.bridge, 'up');
  await ip('addr', 'add', `${HYPERD_UPLINK.host}/32`, 'dev', HYPERD_UPLINK.bridge);
}

/** Pods' own ILP accounts: the connector inside codiusd, started after the host's own ILP link. */
export async function podPayments(
  context: PhaseContext,
  base: StoreAndSecret,
  pods: PodManager,
  directory: Pick<PodDirectory, 'size' | 'whenLoaded'>,
): Promise<PodPayments | undefined> {
  const { lifecycle, config, logger } = context;
  if (config.podIlp.enabled && config.runtime.kind === 'kubernetes') {
    logger.warn('pods get no ILP accounts under CODIUS_RUNTIME=kubernetes yet (see docs/scale-out.md)');
  }
  if (!podIlpOn(context)) return undefined;
  const parent = connectorParentSettings(config.ilp);
  if (!parent) {
    logger.warn(
      { plugin: config.ilp.plugin },
      'pods get no ILP accounts: the connector needs a BTP account of its own at the ILP provider',
    );
    return undefined;
  }
  if (config.runtime.kind === 'hyperd' && !config.dev) await hyperdUplink();
  const { store } = base;
  const balances = createPodBalances(store);
  const connector = createPodConnector({
    parent,
    endpoint: endpointOf(context),
    hostSecret: base.hostSecret,
    spread: config.podIlp.spread,
    balances,
    knownPods: async () => [
      ...new Set([
        ...(await store.pods.list()).map((p) => p.hash),
        ...(await store.podAccounts.list()).map((a) => a.hash),
      ]),
    ],
    logger: logger.child({ component: 'pod-ilp' }),
  });
  // A host without pods needs no connector (loading ilp-connector alone adds about 9 MiB of resident
  // memory): it starts with the first pod, or now when pods are already paid for. A first pod's apps
  // reach the endpoint a moment later than they would otherwise, as they do on any fresh host: the
  // endpoint binds on the pods' bridge, which exists only once a pod runs.
  await lifecycle.start(
    'pod connector',
    () => {
      // The directory is filled once the host serves: the connector starts when it shows a pod.
      void directory.whenLoaded().then(() => {
        if (directory.size() > 0) connector.start();
        else logger.info('the pod connector starts with the first pod');
      });
      return Promise.resolve();
    },
    () => connector.stop(),
  );
  pods.onPodStarted((event) => {
    connector.start();
    connector.podStarted(event.record.hash);
  });
  return { connector, balances };
}

/** A pod's ILP balance as GET /pods shows it: base units, with the asset (zero before any payment). */
export function podBalanceOf(podMoney: PodPayments, hostAsset: () => HostAsset | null) {
  return async (hash: ManifestHash) => {
    const account = await podMoney.balances.get(hash);
    const asset = account?.asset ?? podMoney.connector.asset() ?? hostAsset();
    if (!asset) return null;
    return { amount: (account?.balance ?? 0n).toString(), assetCode: asset.code, assetScale: asset.scale };
  };
}
