import type { ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { stopLeftover } from '../../process/leftover.js';
import { isAlive, startSupervised } from '../../process/supervisor.js';
import { createUnixHttpClient } from '../unix-http.js';
import { sleep } from '../../util/sleep.js';

export const PODMAN_SOCKET_FILE = 'podman.sock';
const PID_FILE = 'podman-service.pid';
const READY_TIMEOUT_MS = 15_000;

export interface PodmanServiceOptions {
  root: string;
  logger: Logger;
  /** The podman binary; looked up on PATH by default. */
  podmanPath?: string;
  /**
   * The OCI runtime (name or path) every container of the service runs under, pods' infra containers
   * included; the engine's default when unset.
   */
  ociRuntime?: string;
  /** Directories of OCI hooks the service runs (replacing Podman's default list). */
  hookDirs?: readonly string[];
}

export interface PodmanService {
  readonly socketPath: string;
  /** Stops the API service. Pods keep running: conmon, not the service, supervises them. */
  stop(): Promise<void>;
}

export class PodmanNotInstalledError extends Error {
  constructor() {
    super(
      'podman is not installed and CODIUS_PODMAN_SOCKET is not set: run scripts/setup-podman.sh, ' +
        'point CODIUS_PODMAN_SOCKET at a running Podman API service, or set CODIUS_RUNTIME=hyperd',
    );
    this.name = 'PodmanNotInstalledError';
  }
}

async function waitUntilAnswering(socketPath: string, child: ChildProcess): Promise<void> {
  const client = createUnixHttpClient(socketPath, 2_000);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (Date.now() < deadline && isAlive(child)) {
      try {
        const response = await client.request({ method: 'GET', path: '/_ping' });
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await sleep(50);
    }
    if (!isAlive(child)) return; // the supervisor reports the exit
    throw new Error(`podman system service did not answer on ${socketPath} within ${READY_TIMEOUT_MS} ms`);
  } finally {
    client.close();
  }
}

/**
 * Starts `podman system service` on `<root>/podman.sock` and keeps it running (restarting it with backoff
 * if it dies) until stop(). Used when CODIUS_PODMAN_SOCKET is unset.
 */
export async function startPodmanService(options: PodmanServiceOptions): Promise<PodmanService> {
  const { root, logger } = options;
  const socketPath = join(root, PODMAN_SOCKET_FILE);
  const pidFile = join(root, PID_FILE);
  await stopLeftover(
    pidFile,
    (commandLine) => commandLine.includes('system service') && commandLine.includes(socketPath),
    'a podman API service',
    logger,
  );

  const service = await startSupervised({
    name: 'podman API service',
    command: options.podmanPath ?? 'podman',
    args: [
      ...(options.ociRuntime === undefined ? [] : ['--runtime', options.ociRuntime]),
      ...(options.hookDirs ?? []).flatMap((dir) => ['--hooks-dir', dir]),
      'system',
      'service',
      '--time=0',
      `unix://${socketPath}`,
    ],
    logger,
    beforeLaunch: () => rm(socketPath, { force: true }),
    waitReady: (child) => waitUntilAnswering(socketPath, child),
    afterReady: async (child) => {
      if (child.pid !== undefined) await writeFile(pidFile, `${child.pid}\n`, { mode: 0o600 });
    },
    explainSpawnError: (error) => (error.code === 'ENOENT' ? new PodmanNotInstalledError() : error),
  });

  return {
    socketPath,
    async stop() {
      await service.stop();
      await rm(pidFile, { force: true });
      await rm(socketPath, { force: true });
    },
  };
}
