import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../src/logger.js';
import type { PodRuntime } from '../../src/runtime/driver.js';
import { describePodNetwork } from '../../src/runtime/pod-network.js';
import { createPodmanDriver } from '../../src/runtime/podman/driver.js';
import { hardeningFor } from '../../src/runtime/podman/oci-runtime.js';
import { startPodmanService, type PodmanService } from '../../src/runtime/podman/service.js';
import { installStdioHook } from '../../src/runtime/podman/stdio-hook.js';
import { createUnixHttpClient, type UnixHttpClient } from '../../src/runtime/unix-http.js';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import { BENCH_SUBNET, removeBenchFirewall } from './bench-host.js';
import { podman } from './podman-bench.js';

/** A bench's own Podman API service, a codiusd root with its host secret, and a driver on the bench network. */
export interface BenchPodman {
  service: PodmanService;
  /** CODIUS_ROOT of the bench's codiusd. */
  root: string;
  hostId: string;
  client: UnixHttpClient;
  driver: PodRuntime;
  /**
   * Removes what the bench made, in dependency order: pods of its host, its firewall table and network,
   * the service, then `alsoStop` (moneyd), the images and the directory.
   */
  tearDown(options: {
    network: string;
    images: string[];
    alsoStop?: Array<() => Promise<void>>;
  }): Promise<void>;
}

export async function startBenchPodman(dir: string, network: string, logger: Logger): Promise<BenchPodman> {
  const service = await startPodmanService({ root: dir, logger, hookDirs: await installStdioHook(dir) });
  const root = join(dir, 'root');
  await mkdir(root, { mode: 0o700 });
  const hostId = hostIdFromSecret((await loadOrCreateHostSecret(root)).secret);
  const client = createUnixHttpClient(service.socketPath);
  const driver = createPodmanDriver({
    client,
    network: describePodNetwork(network, BENCH_SUBNET),
    hostId,
    pullTimeoutMs: 60_000,
    hardening: hardeningFor('runc'),
    logger,
  });
  return {
    service,
    root,
    hostId,
    client,
    driver,
    async tearDown(options) {
      // Every step runs even when one before it failed, so one stuck pod leaves nothing else behind.
      const failures: unknown[] = [];
      const step = async (work: () => Promise<unknown>): Promise<void> => {
        await work().catch((error: unknown) => failures.push(error));
      };
      await step(async () => {
        // Podman sometimes finds a container's shm mount still busy right after stopping it, and may
        // then leave the pod behind, empty: list again and retry until none is left.
        for (let attempt = 1; ; attempt += 1) {
          const leftovers = (await podman('pod', 'ps', '-q', '--filter', `label=codius.host=${hostId}`))
            .split('\n')
            .filter(Boolean);
          if (leftovers.length === 0) return;
          try {
            await podman('pod', 'rm', '--force', '--ignore', ...leftovers);
          } catch (error) {
            if (attempt >= 10) throw error;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
          }
        }
      });
      client.close();
      await step(() => removeBenchFirewall(options.network));
      await podman('network', 'rm', '--force', options.network).catch(() => undefined);
      await step(() => service.stop());
      for (const stop of options.alsoStop ?? []) await step(stop);
      if (options.images.length > 0) await podman('rmi', '--force', ...options.images).catch(() => undefined);
      await step(() => rm(dir, { recursive: true, force: true }));
      if (failures.length > 0)
        throw new AggregateError(failures, 'the bench could not remove everything it made');
    },
  };
}
