import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { TlsMaterial } from '../../acme/tls-source.js';
import type { ManifestHash, PodRecord } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { stopLeftover } from '../../process/leftover.js';
import { startSupervised, type SupervisedProcess } from '../../process/supervisor.js';
import { HOP_BY_HOP_LUA, renderHaproxyConfig, type HaproxySettings } from './config-file.js';
import { createHaproxyCertificates } from './certificates.js';
import { createRouteMap, type RouteMap } from './route-map.js';
import { createHaproxyRuntimeApi, type HaproxyRuntimeApi } from './runtime-api.js';

const READY_TIMEOUT_MS = 10_000;

export interface HaproxyEngineOptions {
  settings: Omit<HaproxySettings, 'paths' | 'threads'>;
  /** The public URI's hostname: pods are served at `<hash>.<hostname>`. */
  publicHostname: string;
  /** Directory for HAProxy's files (configuration, routes, runtime socket), inside codiusd's data directory. */
  directory: string;
  /** HAProxy terminates TLS with this certificate and key (PEM), or serves plain HTTP. */
  tls: TlsMaterial | null;
  /** The haproxy executable. */
  command: string;
  pods: {
    get(hash: ManifestHash): PodRecord | undefined;
    watch(listener: (hash: ManifestHash) => void): void;
  };
  logger: Logger;
}

export interface HaproxyEngine {
  /**
   * Graceful stop: open WebSocket tunnels are ended, the public port stops accepting, requests in flight
   * finish (their connections closing after them), then HAProxy exits.
   */
  stop(): Promise<void>;
  /** Puts a new certificate into service through the runtime API: no reload, no connection dropped. */
  replaceCertificate(material: TlsMaterial): Promise<void>;
  /** Serves a custom domain's certificate (by SNI), added or replaced through the runtime API. */
  addCertificate(name: string, material: TlsMaterial): Promise<void>;
}

/**
 * HAProxy's threads: one fewer than the cores codiusd may run on, at least one. HAProxy shares the host
 * with codiusd and the pods it serves; a thread beyond the cores it can have to itself is preempted and
 * woken across cores instead of working through its events in batches. On 2 cores one thread serves more
 * requests per second than two, with a lower p99, TLS most of all (npm run bench:proxy).
 */
export function haproxyThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** HAProxy's alerts are errors and its warnings warnings, but not the notices it gives at every start and stop. */
function haproxyLineLevel(line: string): 'debug' | 'warn' | 'error' {
  if (line.includes('[ALERT]')) return 'error';
  if (!line.includes('[WARNING]') || /stopped \(cumulated conns|Stopping |soft-stop/.test(line))
    return 'debug';
  return 'warn';
}

async function waitForRuntimeApi(api: HaproxyRuntimeApi): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      if (/^Name: HAProxy/m.test(await api.send('show info'))) return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`HAProxy's runtime API did not answer: ${String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * CODIUS_PROXY_ENGINE=haproxy: runs HAProxy as a supervised child on the public port, with the pod routes
 * kept current through its runtime API (see route-map.ts). A restart after a crash writes the routes file
 * afresh and replaces the whole map once HAProxy answers, so no change made meanwhile is lost.
 */
export async function startHaproxyEngine(options: HaproxyEngineOptions): Promise<HaproxyEngine> {
  const { directory, logger } = options;
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const socket = join(directory, 'runtime.sock');
  const api = createHaproxyRuntimeApi(socket);
  const certificates = options.tls
    ? createHaproxyCertificates({ directory, api, host: options.tls, logger })
    : null;
  const paths = {
    config: join(directory, 'haproxy.cfg'),
    routes: join(directory, 'pod-routes.map'),
    socket,
    lua: join(directory, 'hop-by-hop.lua'),
    tlsBundle: certificates?.bundlePath ?? null,
    crtList: certificates?.listPath ?? null,
  };
  await writeFile(paths.lua, HOP_BY_HOP_LUA);
  await writeFile(
    paths.config,
    renderHaproxyConfig({ ...options.settings, threads: haproxyThreads(), paths }),
  );

  const pidFile = join(directory, 'haproxy.pid');
  const routeMap: RouteMap = createRouteMap({
    mapPath: paths.routes,
    publicHostname: options.publicHostname.toLowerCase(),
    lookup: (hash) => options.pods.get(hash),
    logger,
  });
  options.pods.watch((hash) => routeMap.refresh(hash));

  let supervised: SupervisedProcess;
  try {
    supervised = await startSupervised({
      name: 'HAProxy',
      command: options.command,
      args: ['-f', paths.config, '-db'],
      logger,
      outputLevel: haproxyLineLevel,
      // SIGUSR1 is HAProxy's soft stop; hard-stop-after in its configuration bounds it.
      stopSignal: 'SIGUSR1',
      stopTimeoutMs: options.settings.shutdownTimeoutMs + 2_000,
      async beforeLaunch() {
        routeMap.detach();
        await stopLeftover(
          pidFile,
          (commandLine) => commandLine.includes(paths.config),
          'an HAProxy',
          logger,
        );
        await rm(paths.socket, { force: true });
        await writeFile(paths.routes, routeMap.fileText());
        await certificates?.writeFiles();
      },
      waitReady: () => waitForRuntimeApi(api),
      async afterReady(child) {
        if (child.pid !== undefined) await writeFile(pidFile, `${child.pid}\n`, { mode: 0o600 });
        await routeMap.attach(api);
      },
      explainSpawnError: (error) =>
        error.code === 'ENOENT'
          ? new Error(
              `CODIUS_PROXY_ENGINE=haproxy but ${options.command} is not installed: apt-get install haproxy`,
            )
          : error,
    });
  } catch (error) {
    routeMap.close();
    throw error;
  }

  return {
    async stop() {
      routeMap.detach();
      // HAProxy's soft stop waits for tunnels; codiusd's engine ends them, as its own proxy does.
      await api.send('shutdown sessions server pod_sockets/pod').catch((error: unknown) => {
        logger.warn({ err: error }, 'could not end WebSocket tunnels before stopping HAProxy');
      });
      await supervised.stop();
      await rm(pidFile, { force: true });
      routeMap.close();
    },
    replaceCertificate(material) {
      if (!certificates) return Promise.reject(new Error('HAProxy serves no TLS'));
      return certificates.replaceDefault(material);
    },
    addCertificate(name, material) {
      if (!certificates) return Promise.reject(new Error('HAProxy serves no TLS'));
      return certificates.add(name, material);
    },
  };
}
