import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from './driver.js';
import { createHyperdDriver, createNoopHyperdDriver } from './hyperd/driver.js';
import { createPodmanDriver } from './podman/driver.js';
import { startPodmanService } from './podman/service.js';
import { createUnixHttpClient } from './unix-http.js';

export interface RuntimeDependencies {
  config: Config;
  logger: Logger;
  hostSecret: Buffer;
  /** Label value telling this host's pods apart on a shared runtime. */
  hostId: string;
}

/**
 * Builds the runtime CODIUS_RUNTIME names. For Podman without CODIUS_PODMAN_SOCKET this starts the API
 * service under CODIUS_ROOT; the returned runtime's close() stops it again.
 */
export async function openRuntime({
  config,
  logger,
  hostSecret,
  hostId,
}: RuntimeDependencies): Promise<PodRuntime> {
  const settings = config.runtime;
  const log = logger.child({ runtime: settings.kind });
  if (settings.kind === 'hyperd') {
    if (settings.hyperNoop) return createNoopHyperdDriver(log);
    return createHyperdDriver({
      client: createUnixHttpClient(settings.hyperSocket),
      hostSecret,
      logger: log,
      pullTimeoutMs: settings.imagePullTimeoutMs,
    });
  }
  const service = settings.podmanSocket
    ? undefined
    : await startPodmanService({ root: config.root, logger: log });
  const driver = createPodmanDriver({
    client: createUnixHttpClient(settings.podmanSocket ?? service?.socketPath ?? ''),
    network: settings.podmanNetwork,
    subnet: settings.podmanSubnet,
    hostId,
    pullTimeoutMs: settings.imagePullTimeoutMs,
    logger: log,
  });
  return {
    ...driver,
    async close() {
      await driver.close();
      await service?.stop();
    },
  };
}
