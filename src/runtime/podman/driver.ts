import type { ManifestHash, PodPlan } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { sleep } from '../../util/sleep.js';
import type { PodRuntime, RuntimePod } from '../driver.js';
import { openLogStreams, removeOnFailure, type LogTarget } from '../driver-support.js';
import { RuntimeApiError } from '../errors.js';
import type { PodNetwork } from '../pod-network.js';
import type { OciRuntime } from '../settings.js';
import type { RegistryPolicy } from '../registry-policy.js';
import { parseJson, type UnixHttpClient } from '../unix-http.js';
import { createImagePuller } from './images.js';
import { ensurePodNetwork } from './network.js';
import { followPodEvents } from './pod-events.js';
import { settle, whyNotRunning } from './settle.js';
import { errorMessage, expectStatus, LIBPOD_API, libpodCaller, type LibpodCall } from './libpod.js';
import {
  containerSpec,
  type Hardening,
  LABEL_CONTAINER_ID,
  LABEL_HOST,
  LABEL_MANIFEST_HASH,
  podName,
  podSpec,
} from './specs.js';

export {
  containerName,
  LABEL_CONTAINER_ID,
  LABEL_HOST,
  LABEL_MANIFEST_HASH,
  POD_NAME_PREFIX,
  podName,
} from './specs.js';

export interface PodmanDriverOptions {
  client: UnixHttpClient;
  /** The bridge network every pod joins (created when missing). */
  network: PodNetwork;
  /** Value of the `codius.host` label: tells this host's pods from anyone else's on the same Podman. */
  hostId: string;
  pullTimeoutMs: number;
  /** How containers are confined (user namespace, gVisor). */
  hardening: Hardening;
  /** The OCI runtime the service must run containers under; checked when the runtime is prepared. */
  ociRuntime?: OciRuntime;
  /** Checked again right before each pull (a name may resolve elsewhere by then). */
  registryPolicy?: RegistryPolicy;
  /** How long a started pod gets to show it stays up (its port accepting); default 2 s. */
  settleMs?: number;
  logger: Logger;
}

interface PodInspect {
  Name: string;
  State: string;
  InfraContainerID?: string;
  Labels?: Record<string, string> | null;
  Containers?: Array<{ Id: string; Name: string; State: string }> | null;
}

interface PodListEntry {
  Name: string;
  Status: string;
  Labels?: Record<string, string> | null;
}

interface ContainerInspect {
  Config?: { Labels?: Record<string, string> | null };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null };
}

/**
 * The service must run containers under the configured runtime: with gVisor configured but a runc service,
 * pods would run unsandboxed without anyone noticing.
 */
async function checkServiceRuntime(call: LibpodCall, wanted: OciRuntime): Promise<void> {
  const response = await call('GET', '/info');
  expectStatus(response, 'info', 200);
  const runtime = (
    parseJson(response, 'info') as { host?: { ociRuntime?: { name?: string; path?: string } } }
  ).host?.ociRuntime;
  const names = `${runtime?.name ?? ''} ${runtime?.path ?? ''}`;
  if (!names.includes(wanted)) {
    throw new RuntimeApiError(
      0,
      `CODIUS_OCI_RUNTIME=${wanted}, but the Podman service runs containers under ${runtime?.name ?? 'an unknown runtime'}: start it with --runtime ${wanted}, or let codiusd start its own (unset CODIUS_PODMAN_SOCKET)`,
    );
  }
}

function isRunning(pod: PodInspect): boolean {
  // 'Degraded' means some container stopped: the pod no longer does what was paid for.
  return pod.State === 'Running';
}

/** Where each container's log of a pod is read (the infra container has none). */
async function logTargets(call: LibpodCall, pod: PodInspect, follow: boolean): Promise<LogTarget[]> {
  const targets: LogTarget[] = [];
  for (const container of pod.Containers ?? []) {
    if (container.Id === pod.InfraContainerID) continue;
    const inspected = await call('GET', `/containers/${container.Id}/json`);
    if (inspected.status === 404) continue;
    expectStatus(inspected, 'container inspect', 200);
    const labels = (parseJson(inspected, 'container inspect') as ContainerInspect).Config?.Labels ?? {};
    targets.push({
      container: labels[LABEL_CONTAINER_ID] ?? container.Name,
      path: `${LIBPOD_API}/containers/${container.Id}/logs?follow=${String(follow)}&stdout=true&stderr=true`,
    });
  }
  return targets;
}

/** Drives Podman's libpod REST API: one pod per manifest on the host's bridge network. */
export function createPodmanDriver(options: PodmanDriverOptions): PodRuntime {
  const { client, network, hostId, hardening, logger } = options;
  const call = libpodCaller(client);
  const images = createImagePuller(client, options.pullTimeoutMs, logger, options.registryPolicy);
  const stopWatching: Array<() => void> = [];

  async function inspectRaw(hash: ManifestHash): Promise<PodInspect | null> {
    const response = await call('GET', `/pods/${podName(hash)}/json`);
    if (response.status === 404) return null;
    // Podman 4.3 answers 500 "no such pod" for a pod whose removal is under way: it is gone all the same.
    if (response.status === 500 && /no such pod/.test(errorMessage(response))) return null;
    expectStatus(response, 'pod inspect', 200);
    return parseJson(response, 'pod inspect') as PodInspect;
  }

  async function podIp(pod: PodInspect): Promise<string | null> {
    if (!pod.InfraContainerID) return null;
    const response = await call('GET', `/containers/${pod.InfraContainerID}/json`);
    if (response.status === 404) return null;
    expectStatus(response, 'infra container inspect', 200);
    const info = parseJson(response, 'infra container inspect') as ContainerInspect;
    const address = info.NetworkSettings?.Networks?.[network.name]?.IPAddress;
    return address ? address : null;
  }

  async function inspectPod(hash: ManifestHash): Promise<RuntimePod | null> {
    const pod = await inspectRaw(hash);
    if (!pod) return null;
    return { hash, running: isRunning(pod), ip: await podIp(pod) };
  }

  async function deletePod(hash: ManifestHash): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const response = await call('DELETE', `/pods/${podName(hash)}?force=true`, undefined, 60_000);
      // Podman 4.3 can race its own unmount of a container's /dev/shm ("device or resource busy") while
      // a pod with a user namespace is torn down; a moment later the removal goes through.
      if (attempt < 5 && response.status === 500 && /device or resource busy/.test(errorMessage(response))) {
        await sleep(200 * attempt);
        continue;
      }
      expectStatus(response, 'pod delete', 200, 404);
      return;
    }
  }

  async function createAndStart(plan: PodPlan): Promise<RuntimePod> {
    const { hash } = plan;
    const created = await call('POST', '/pods/create', podSpec(plan, network, hostId, hardening));
    expectStatus(created, 'pod create', 201, 200);
    for (const container of plan.containers) {
      const response = await call(
        'POST',
        '/containers/create',
        containerSpec(hash, container, hostId, hardening),
      );
      expectStatus(response, `container create (${container.id})`, 201, 200);
    }
    const started = await call('POST', `/pods/${podName(hash)}/start`, undefined, 60_000);
    expectStatus(started, 'pod start', 200, 304);
    const pod = await inspectRaw(hash);
    if (!pod) throw new RuntimeApiError(404, `podman pod ${podName(hash)} vanished right after start`);
    if (!isRunning(pod)) throw await whyNotRunning(call, pod);
    const ip = await podIp(pod);
    await settle(call, plan, ip, () => inspectRaw(hash), isRunning, options.settleMs ?? 2_000);
    return { hash, running: true, ip };
  }

  return {
    name: 'podman',
    async prepare() {
      const ping = await client.request({ method: 'GET', path: '/_ping' });
      expectStatus(ping, 'ping', 200);
      if (options.ociRuntime) await checkServiceRuntime(call, options.ociRuntime);
      await ensurePodNetwork(call, network, logger);
    },
    podNetwork: () => ensurePodNetwork(call, network, logger),
    async runPod(plan) {
      const pulledImages: string[] = [];
      for (const image of new Set(plan.containers.map((c) => c.image))) {
        if (await images.pullImage(image)) pulledImages.push(image);
      }
      // A pod of this name is a leftover (a crash between create and record): it is replaced, not reused.
      await deletePod(plan.hash);
      return removeOnFailure(
        async () => ({ ...(await createAndStart(plan)), pulledImages }),
        () => deletePod(plan.hash),
        (error) =>
          logger.warn({ hash: plan.hash, err: error }, 'could not remove a pod that failed to start'),
      );
    },
    inspectPod,
    async listPods() {
      const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL_HOST}=${hostId}`] }));
      const response = await call('GET', `/pods/json?filters=${filters}`);
      expectStatus(response, 'pod list', 200);
      const pods = (parseJson(response, 'pod list') as PodListEntry[] | null) ?? [];
      return pods.flatMap((pod): RuntimePod[] => {
        const hash = pod.Labels?.[LABEL_MANIFEST_HASH];
        return hash ? [{ hash, running: pod.Status === 'Running', ip: null }] : [];
      });
    },
    deletePod,
    async pullImage(image) {
      await images.pullImage(image);
    },
    removeImage: (image) => images.removeImage(image),
    importImage: (source) => images.importImage(source),
    async openLogs(hash, { follow, signal }) {
      const pod = await inspectRaw(hash);
      if (!pod) return null;
      return openLogStreams(client, await logTargets(call, pod, follow), signal);
    },
    watchPods(changed) {
      stopWatching.push(followPodEvents(client, hostId, changed, logger));
    },
    async close() {
      for (const stop of stopWatching.splice(0)) stop();
      client.close();
      await Promise.resolve();
    },
  };
}
