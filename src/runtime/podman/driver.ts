import { createHash } from 'node:crypto';
import type { ContainerPlan, ManifestHash, PodPlan } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { gatewayOf, parseIpv4Cidr } from '../../net/ipv4.js';
import type { PodRuntime, RuntimePod } from '../driver.js';
import { openLogStreams, removeOnFailure, type LogTarget } from '../driver-support.js';
import { ImageUnavailableError, RuntimeApiError } from '../errors.js';
import { describeBody, parseJson, type UnixHttpClient, type UnixResponse } from '../unix-http.js';

/** Names and labels other tools and operators rely on (issue contract). */
export const POD_NAME_PREFIX = 'codius-';
export const LABEL_MANIFEST_HASH = 'codius.manifest-hash';
export const LABEL_HOST = 'codius.host';
export const LABEL_CONTAINER_ID = 'codius.container-id';

/** Oldest libpod API with every call used here; Debian 12 serves 4.3.1. */
const API = '/v4.0.0/libpod';
/** Containers get this long to exit on SIGTERM before SIGKILL; `init: true` makes PID 1 forward it. */
const STOP_TIMEOUT_SECONDS = 2;
/** Processes per pod: enough for real apps, a stop for fork bombs. */
const PIDS_LIMIT = 1024;
const CPU_PERIOD_US = 100_000;

export interface PodmanDriverOptions {
  client: UnixHttpClient;
  /** Bridge network every pod joins. */
  network: string;
  /** Subnet used when the network must be created. */
  subnet: string;
  /** Value of the `codius.host` label: tells this host's pods from anyone else's on the same Podman. */
  hostId: string;
  pullTimeoutMs: number;
  logger: Logger;
}

export function podName(hash: ManifestHash): string {
  return `${POD_NAME_PREFIX}${hash}`;
}

/** Podman names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; manifest container ids are free text. */
const SAFE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function containerName(hash: ManifestHash, container: Pick<ContainerPlan, 'id'>): string {
  if (SAFE_NAME.test(container.id) && container.id.length <= 128) return `${podName(hash)}-${container.id}`;
  // Still unique and stable; the real id travels in the codius.container-id label.
  const digest = createHash('sha256').update(container.id).digest('hex').slice(0, 16);
  return `${podName(hash)}-x${digest}`;
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

interface NetworkInspect {
  subnets?: Array<{ subnet: string }> | null;
  driver?: string;
}

function errorMessage(response: UnixResponse): string {
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as { message?: unknown; cause?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return describeBody(response);
}

function expectStatus(response: UnixResponse, what: string, ...ok: number[]): void {
  if (!ok.includes(response.status)) {
    throw new RuntimeApiError(
      response.status,
      `podman ${what}: ${response.status} ${errorMessage(response)}`,
    );
  }
}

export function createPodmanDriver(options: PodmanDriverOptions): PodRuntime {
  const { client, network, hostId, logger } = options;
  const cidr = parseIpv4Cidr(options.subnet);
  if (!cidr) throw new Error(`invalid podman subnet ${options.subnet}`);
  /** Pulls in flight by reference, so two pods with one image pull it once. */
  const pulls = new Map<string, Promise<void>>();

  const call = (method: 'GET' | 'POST' | 'DELETE', path: string, json?: unknown, timeoutMs?: number) =>
    client.request({
      method,
      path: `${API}${path}`,
      ...(json === undefined ? {} : { json }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  async function ensureNetwork(): Promise<void> {
    const existing = await call('GET', `/networks/${encodeURIComponent(network)}/json`);
    if (existing.status === 200) {
      const info = parseJson(existing, 'network inspect') as NetworkInspect;
      const subnets = (info.subnets ?? []).map((s) => s.subnet);
      if (!subnets.includes(options.subnet)) {
        logger.warn(
          { network, subnets, configured: options.subnet },
          `podman network ${network} exists with another subnet; using it as it is`,
        );
      }
      return;
    }
    expectStatus(existing, 'network inspect', 404);
    const created = await call('POST', '/networks/create', {
      name: network,
      driver: 'bridge',
      // One known bridge name, so firewall rules for pods have a single interface to match.
      network_interface: `${network}0`,
      subnets: [{ subnet: options.subnet, gateway: gatewayOf(cidr as NonNullable<typeof cidr>) }],
      dns_enabled: false,
      labels: { 'codius.network': 'true' },
    });
    // 409: another process created it between our two calls, which is what we wanted.
    expectStatus(created, 'network create', 200, 409);
    if (created.status === 200) logger.info({ network, subnet: options.subnet }, 'created podman network');
  }

  async function imageExists(image: string): Promise<boolean> {
    const response = await call('GET', `/images/${encodeURIComponent(image)}/exists`);
    if (response.status === 204) return true;
    if (response.status === 404) return false;
    // A malformed reference is the manifest's fault, not the runtime's.
    if (response.status === 400 || response.status === 500) {
      throw new ImageUnavailableError(image, errorMessage(response));
    }
    expectStatus(response, 'image exists', 204);
    return false;
  }

  async function pull(image: string): Promise<void> {
    const started = Date.now();
    let response: UnixResponse;
    try {
      response = await call(
        'POST',
        `/images/pull?reference=${encodeURIComponent(image)}&quiet=true&policy=missing`,
        undefined,
        options.pullTimeoutMs,
      );
    } catch (error) {
      if (error instanceof RuntimeApiError && error.status === 0 && /timed out/.test(error.message)) {
        throw new ImageUnavailableError(image, `pull timed out after ${options.pullTimeoutMs} ms`, {
          cause: error,
        });
      }
      throw error;
    }
    // The pull endpoint streams: failures after the headers arrive as {"error": ...} in a 200 body.
    const text = response.body.toString('utf8');
    const lastLine = text.trim().split('\n').at(-1) ?? '';
    let report: { error?: unknown; id?: unknown } = {};
    try {
      report = JSON.parse(lastLine) as typeof report;
    } catch {
      // Fall through: no id means failure below.
    }
    if (response.status !== 200 || typeof report.error === 'string' || typeof report.id !== 'string') {
      const reason = typeof report.error === 'string' ? report.error : errorMessage(response);
      throw new ImageUnavailableError(image, reason);
    }
    logger.info({ image, ms: Date.now() - started }, 'pulled image');
  }

  async function pullImage(image: string): Promise<void> {
    if (await imageExists(image)) return;
    let inFlight = pulls.get(image);
    if (!inFlight) {
      inFlight = pull(image).finally(() => pulls.delete(image));
      pulls.set(image, inFlight);
    }
    await inFlight;
  }

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
    const address = info.NetworkSettings?.Networks?.[network]?.IPAddress;
    return address ? address : null;
  }

  function isRunning(pod: PodInspect): boolean {
    // 'Degraded' means some container stopped: the pod no longer does what was paid for.
    return pod.State === 'Running';
  }

  async function inspectPod(hash: ManifestHash): Promise<RuntimePod | null> {
    const pod = await inspectRaw(hash);
    if (!pod) return null;
    return { hash, running: isRunning(pod), ip: await podIp(pod) };
  }

  async function deletePod(hash: ManifestHash): Promise<void> {
    const response = await call('DELETE', `/pods/${podName(hash)}?force=true`, undefined, 60_000);
    expectStatus(response, 'pod delete', 200, 404);
  }

  function containerSpec(hash: ManifestHash, container: ContainerPlan): Record<string, unknown> {
    return {
      name: containerName(hash, container),
      pod: podName(hash),
      image: container.image,
      // An empty command means "the image's own", as with the original's hyperd.
      ...(container.command?.length ? { command: container.command } : {}),
      ...(container.workdir ? { work_dir: container.workdir } : {}),
      env: Object.fromEntries(container.env.map((v) => [v.name, v.value])),
      labels: { [LABEL_MANIFEST_HASH]: hash, [LABEL_HOST]: hostId, [LABEL_CONTAINER_ID]: container.id },
      // PID 1 that reaps zombies and forwards SIGTERM: apps run as PID 1 ignore it and stall teardown.
      init: true,
      stop_timeout: STOP_TIMEOUT_SECONDS,
    };
  }

  async function createAndStart(plan: PodPlan): Promise<RuntimePod> {
    const { hash } = plan;
    const memoryBytes = plan.resources.memoryMiB * 2 ** 20;
    const created = await call('POST', '/pods/create', {
      name: podName(hash),
      labels: { [LABEL_MANIFEST_HASH]: hash, [LABEL_HOST]: hostId },
      Networks: { [network]: {} },
      netns: { nsmode: 'bridge' },
      // Limits apply to the pod's cgroup, shared by all its containers like the original's one VM.
      resource_limits: {
        memory: { limit: memoryBytes, swap: memoryBytes },
        cpu: { quota: plan.resources.vcpu * CPU_PERIOD_US, period: CPU_PERIOD_US },
        pids: { limit: PIDS_LIMIT },
      },
    });
    expectStatus(created, 'pod create', 201, 200);
    for (const container of plan.containers) {
      const response = await call('POST', '/containers/create', containerSpec(hash, container));
      expectStatus(response, `container create (${container.id})`, 201, 200);
    }
    const started = await call('POST', `/pods/${podName(hash)}/start`, undefined, 60_000);
    expectStatus(started, 'pod start', 200, 304);
    const pod = await inspectRaw(hash);
    if (!pod) throw new RuntimeApiError(404, `podman pod ${podName(hash)} vanished right after start`);
    if (!isRunning(pod)) {
      throw new RuntimeApiError(0, `podman pod ${podName(hash)} is ${pod.State} right after start`);
    }
    return { hash, running: true, ip: await podIp(pod) };
  }

  return {
    name: 'podman',
    async prepare() {
      const ping = await client.request({ method: 'GET', path: '/_ping' });
      expectStatus(ping, 'ping', 200);
      await ensureNetwork();
    },
    async runPod(plan) {
      for (const image of new Set(plan.containers.map((c) => c.image))) await pullImage(image);
      // A pod of this name is a leftover (a crash between create and record): it is replaced, not reused.
      await deletePod(plan.hash);
      return removeOnFailure(
        () => createAndStart(plan),
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
    pullImage,
    async openLogs(hash, { follow, signal }) {
      const pod = await inspectRaw(hash);
      if (!pod) return null;
      const targets: LogTarget[] = [];
      for (const container of pod.Containers ?? []) {
        if (container.Id === pod.InfraContainerID) continue;
        const inspected = await call('GET', `/containers/${container.Id}/json`);
        if (inspected.status === 404) continue;
        expectStatus(inspected, 'container inspect', 200);
        const labels = (parseJson(inspected, 'container inspect') as ContainerInspect).Config?.Labels ?? {};
        targets.push({
          container: labels[LABEL_CONTAINER_ID] ?? container.Name,
          path: `${API}/containers/${container.Id}/logs?follow=${String(follow)}&stdout=true&stderr=true`,
        });
      }
      return openLogStreams(client, targets, signal);
    },
    async close() {
      client.close();
      await Promise.resolve();
    },
  };
}
