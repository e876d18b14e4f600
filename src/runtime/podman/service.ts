import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { createUnixHttpClient } from '../unix-http.js';

export const PODMAN_SOCKET_FILE = 'podman.sock';
const PID_FILE = 'podman-service.pid';
const READY_TIMEOUT_MS = 15_000;
const RESTART_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

export interface PodmanServiceOptions {
  root: string;
  logger: Logger;
  /** The podman binary; looked up on PATH by default. */
  podmanPath?: string;
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A service left behind by a codiusd that was killed (SIGKILL, crash) would keep the socket: stop it.
 * The pid is only trusted when that process is still a podman service on our socket.
 */
async function stopLeftover(pidFile: string, socketPath: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return;
  }
  if (!cmdline.includes('system service') || !cmdline.includes(socketPath)) return;
  logger.warn({ pid }, 'stopping a podman API service left by an earlier codiusd');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50; i += 1) {
    await sleep(100);
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
}

async function waitUntilAnswering(socketPath: string, child: ChildProcess): Promise<void> {
  const client = createUnixHttpClient(socketPath, 2_000);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`podman system service exited (${String(child.exitCode ?? child.signalCode)})`);
      }
      try {
        const response = await client.request({ method: 'GET', path: '/_ping' });
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await sleep(50);
    }
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
  const podman = options.podmanPath ?? 'podman';
  const socketPath = join(root, PODMAN_SOCKET_FILE);
  const pidFile = join(root, PID_FILE);
  await stopLeftover(pidFile, socketPath, logger);

  let child: ChildProcess | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  /** Restarts are for a service that worked once; a first start that fails is reported to the caller. */
  let everReady = false;

  async function launch(): Promise<void> {
    await rm(socketPath, { force: true });
    const spawned = spawn(podman, ['system', 'service', '--time=0', `unix://${socketPath}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = spawned;
    const spawnError = new Promise<never>((_resolve, reject) => {
      spawned.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'ENOENT' ? new PodmanNotInstalledError() : error);
      });
    });
    spawned.stderr.setEncoding('utf8');
    spawned.stderr.on('data', (text: string) => {
      for (const line of text.split('\n'))
        if (line.trim()) logger.debug({ podman: line.trim() }, 'podman service');
    });
    spawned.once('exit', (code, signal) => {
      if (stopping || child !== spawned || !everReady) return;
      const delay = RESTART_DELAYS_MS[Math.min(failures, RESTART_DELAYS_MS.length - 1)] ?? 30_000;
      failures += 1;
      logger.error({ code, signal, restartInMs: delay }, 'podman API service exited; restarting it');
      restartTimer = setTimeout(() => {
        launch().then(
          () => {
            failures = 0;
          },
          (error: unknown) => {
            logger.error({ err: error }, 'podman API service did not come back');
          },
        );
      }, delay);
    });
    await Promise.race([waitUntilAnswering(socketPath, spawned), spawnError]);
    everReady = true;
    if (spawned.pid !== undefined) await writeFile(pidFile, `${spawned.pid}\n`, { mode: 0o600 });
    logger.info({ socket: socketPath, pid: spawned.pid }, 'started podman API service');
  }

  try {
    await launch();
  } catch (error) {
    stopping = true;
    child?.kill('SIGKILL');
    throw error;
  }

  return {
    socketPath,
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const running = child;
      if (running && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
        running.kill('SIGTERM');
        const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(pidFile, { force: true });
      await rm(socketPath, { force: true });
    },
  };
}
