import type { Logger } from '../logger.js';
import type { PodRuntime } from './driver.js';
import {
  podmanNetwork,
  type HyperdSettings,
  type KubernetesSettings,
  type PodmanSettings,
  type RuntimeSettings,
} from './settings.js';

export type {
  HyperdSettings,
  KubernetesSettings,
  OciRuntime,
  PodmanSettings,
  RuntimeSettings,
} from './settings.js';
export { podmanNetwork } from './settings.js';
import { createPodmanDriver } from './podman/driver.js';
import { checkUserNamespaceIds, hardeningFor, prepareOciRuntime } from './podman/oci-runtime.js';
import { startPodmanService } from './podman/service.js';
import { installStdioHook } from './podman/stdio-hook.js';
import type { RegistryPolicy } from './registry-policy.js';
import { createUnixHttpClient } from './unix-http.js';

/** What every driver may need from the host, besides its own section. */
export interface RuntimeContext {
  /** CODIUS_ROOT: where a driver keeps sockets and pid files of services it starts. */
  root: string;
  logger: Logger;
  hostSecret: Buffer;
  /** Label value telling this host's pods apart on a shared runtime. */
  hostId: string;
  imagePullTimeoutMs: number;
  /** Where images may come from, checked again before each pull. */
  registryPolicy?: RegistryPolicy;
}

type DriverOpener<S> = (settings: S, context: RuntimeContext) => Promise<PodRuntime>;

export interface RuntimeDrivers {
  podman: DriverOpener<PodmanSettings>;
  hyperd: DriverOpener<HyperdSettings>;
  kubernetes: DriverOpener<KubernetesSettings>;
}

/**
 * Podman over libpod. Without a configured socket this starts the API service under CODIUS_ROOT; the
 * runtime's close() stops it again.
 */
async function openPodman(settings: PodmanSettings, context: RuntimeContext): Promise<PodRuntime> {
  const hardening = hardeningFor(settings.ociRuntime);
  if (hardening.userNamespace) await checkUserNamespaceIds();
  // Written even for a service of the operator's, which must then run with --hooks-dir <root>/hooks.
  const hookDirs = hardening.userNamespace ? await installStdioHook(context.root) : undefined;
  // A service of codiusd's own runs every container, infra ones included, under the chosen runtime.
  const service = settings.socket
    ? undefined
    : await startPodmanService({
        root: context.root,
        logger: context.logger,
        ociRuntime: await prepareOciRuntime(settings.ociRuntime, context.root),
        ...(hookDirs ? { hookDirs } : {}),
      });
  const driver = createPodmanDriver({
    client: createUnixHttpClient(settings.socket ?? service?.socketPath ?? ''),
    network: podmanNetwork(settings),
    hostId: context.hostId,
    pullTimeoutMs: context.imagePullTimeoutMs,
    hardening,
    ociRuntime: settings.ociRuntime,
    ...(context.registryPolicy ? { registryPolicy: context.registryPolicy } : {}),
    logger: context.logger,
  });
  return {
    ...driver,
    async close() {
      await driver.close();
      await service?.stop();
    },
  };
}

/** hyperd, the runtime Codius hosts first ran on; its driver is loaded only when it is the one configured. */
async function openHyperd(settings: HyperdSettings, context: RuntimeContext): Promise<PodRuntime> {
  const { createHyperdDriver, createNoopHyperdDriver } = await import('./hyperd/driver.js');
  if (settings.noop) return createNoopHyperdDriver(context.logger);
  return createHyperdDriver({
    client: createUnixHttpClient(settings.socket),
    hostSecret: context.hostSecret,
    logger: context.logger,
    pullTimeoutMs: context.imagePullTimeoutMs,
  });
}

/**
 * Kubernetes through its client library, loaded only for this driver (it is large). The cluster and
 * credentials come from KUBECONFIG (or ~/.kube/config), else from the in-cluster service account.
 */
async function openKubernetes(settings: KubernetesSettings, context: RuntimeContext): Promise<PodRuntime> {
  const { loadKubeConfig } = await import('./kubernetes/kubeconfig.js');
  const { createKubeApi } = await import('./kubernetes/api.js');
  const { createKubernetesDriver } = await import('./kubernetes/driver.js');
  const api = await createKubeApi(await loadKubeConfig(), settings.namespace);
  return createKubernetesDriver({
    api,
    objects: {
      namespace: settings.namespace,
      hostId: context.hostId,
      runtimeClass: settings.runtimeClass,
      blockedNetworks: settings.blockedNetworks,
      blockedPorts: settings.blockedPorts,
      ilpPort: null,
    },
    pullTimeoutMs: context.imagePullTimeoutMs,
    logger: context.logger,
  });
}

/** Every runtime codiusd can drive, by the name CODIUS_RUNTIME gives it. */
export const RUNTIME_DRIVERS: RuntimeDrivers = {
  podman: openPodman,
  hyperd: openHyperd,
  kubernetes: openKubernetes,
};

/** Opens the runtime `settings.kind` names, with that driver's own section. */
export function openRuntime(
  settings: RuntimeSettings,
  context: Omit<RuntimeContext, 'imagePullTimeoutMs'>,
  drivers: RuntimeDrivers = RUNTIME_DRIVERS,
): Promise<PodRuntime> {
  const full = {
    ...context,
    imagePullTimeoutMs: settings.imagePullTimeoutMs,
    logger: context.logger.child({ runtime: settings.kind }),
  };
  if (settings.kind === 'kubernetes') return drivers.kubernetes(settings.kubernetes, full);
  return settings.kind === 'podman'
    ? drivers.podman(settings.podman, full)
    : drivers.hyperd(settings.hyperd, full);
}
