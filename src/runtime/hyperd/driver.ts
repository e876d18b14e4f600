import type { ManifestHash } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { MANIFEST_HASH_PATTERN } from '../../manifest/hash.js';
import type { PodRuntime, RuntimePod } from '../driver.js';
import { openLogStreams, removeOnFailure, type LogTarget } from '../driver-support.js';
import { ImageUnavailableError, RuntimeApiError } from '../errors.js';
import { describeBody, parseJson, type UnixHttpClient, type UnixResponse } from '../unix-http.js';
import { hyperPodSpec, sidecarName } from './spec.js';

export interface HyperdDriverOptions {
  client: UnixHttpClient;
  hostSecret: Buffer;
  logger: Logger;
  pullTimeoutMs: number;
}

interface CreateResult {
  ID?: string;
  Code?: number;
  Cause?: string;
}

interface HyperPodInfo {
  spec?: { containers?: Array<{ name?: string; containerID?: string }> | null };
  status?: { phase?: string; podIP?: string[] | null };
}

function fail(response: UnixResponse, what: string): never {
  throw new RuntimeApiError(response.status, `hyperd ${what}: ${response.status} ${describeBody(response)}`);
}

/**
 * Parses hyperd's `GET /list?item=pod` entries `podID:podName:vmID:status`. Every entry is kept, in
 * whatever state and order (dropping one would forget a pod the runtime still has); malformed ones are
 * skipped. Pod names cannot contain ':', so the status is the last field.
 */
export function parsePodList(podData: unknown): RuntimePod[] {
  if (!Array.isArray(podData)) return [];
  return podData.flatMap((entry): RuntimePod[] => {
    if (typeof entry !== 'string') return [];
    const fields = entry.split(':');
    const [id] = fields;
    if (fields.length < 4 || id === undefined || !MANIFEST_HASH_PATTERN.test(id)) return [];
    return [{ hash: id, running: fields.at(-1) === 'running', ip: null }];
  });
}

/** The manifest's container id for a hyperd container name ("/<hash>__<id>", "/<hash>_moneyd"). */
export function logName(hash: ManifestHash, hyperName: string): string {
  const name = hyperName.startsWith('/') ? hyperName.slice(1) : hyperName;
  if (name.startsWith(`${hash}__`)) return name.slice(hash.length + 2);
  if (name === sidecarName(hash)) return 'moneyd';
  return name;
}

/**
 * Drives hyperd's HTTP API: pods are created from the hyperd pod spec, cleaned up when a start fails,
 * pull errors are read from the streamed body, every pod is listed whatever its state, and deletes
 * tolerate a pod that is already gone.
 */
export function createHyperdDriver(options: HyperdDriverOptions): PodRuntime {
  const { client, hostSecret, logger } = options;

  async function pullImage(image: string): Promise<void> {
    const response = await client.request({
      method: 'POST',
      path: `/image/create?imageName=${encodeURIComponent(image)}`,
      timeoutMs: options.pullTimeoutMs,
    });
    if (response.status !== 200) fail(response, `pull of ${image}`);
    // Progress is streamed as JSON objects; a failure after the headers arrives as {"error": ...}.
    const text = response.body.toString('utf8');
    const match = /"error"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text);
    if (match) throw new ImageUnavailableError(image, JSON.parse(`"${match[1] ?? ''}"`) as string);
  }

  async function create(spec: unknown): Promise<CreateResult> {
    const response = await client.request({ method: 'POST', path: '/pod/create', json: spec });
    if (response.status !== 200 && response.status !== 201) fail(response, 'pod create');
    const result = parseJson(response, 'pod create') as CreateResult;
    if (result.Code !== undefined && result.Code !== 0) {
      throw new RuntimeApiError(
        response.status,
        `hyperd pod create: code ${result.Code} ${result.Cause ?? ''}`,
      );
    }
    return result;
  }

  async function inspectPod(hash: ManifestHash): Promise<RuntimePod | null> {
    const info = await podInfo(hash);
    if (!info) return null;
    const address = info.status?.podIP?.[0]?.split('/')[0];
    return { hash, running: info.status?.phase?.toLowerCase() === 'running', ip: address ? address : null };
  }

  async function podInfo(hash: ManifestHash): Promise<HyperPodInfo | null> {
    const response = await client.request({ method: 'GET', path: `/pod/info?podName=${hash}` });
    if (response.status === 200) return parseJson(response, 'pod info') as HyperPodInfo;
    // hyperd answers an unknown pod with 500 "Can not get Pod info with pod ID(<id>)".
    if (response.status === 404 || /can not get pod info/i.test(response.body.toString('utf8'))) return null;
    return fail(response, 'pod info');
  }

  async function deletePod(hash: ManifestHash): Promise<void> {
    const response = await client.request({
      method: 'DELETE',
      path: `/pod?podId=${hash}`,
      timeoutMs: 60_000,
    });
    if (response.status === 200) return;
    // Already gone is what we wanted: 500 "Can not find that Pod(<id>)" or a 404.
    if (
      response.status === 404 ||
      /can not find that pod|not found|no such/i.test(response.body.toString('utf8'))
    ) {
      return;
    }
    fail(response, 'pod delete');
  }

  return {
    name: 'hyperd',
    async prepare() {
      const response = await client.request({ method: 'GET', path: '/list?item=pod' });
      if (response.status !== 200 && response.status !== 201) fail(response, 'list');
    },
    async runPod(plan) {
      const spec = hyperPodSpec(plan, hostSecret);
      try {
        await create(spec);
      } catch (error) {
        // A failed create usually means a missing image, so pull them all and retry once.
        logger.info({ hash: plan.hash, err: error }, 'hyperd pod create failed; pulling images and retrying');
        for (const container of spec.containers) await pullImage(container.image);
        await create(spec);
      }
      return removeOnFailure(
        async () => {
          const started = await client.request({
            method: 'POST',
            path: `/pod/start?podId=${plan.hash}`,
            timeoutMs: 60_000,
          });
          if (started.status !== 200) fail(started, 'pod start');
          const pod = await inspectPod(plan.hash);
          if (!pod) throw new RuntimeApiError(404, `hyperd pod ${plan.hash} vanished right after start`);
          return { ...pod, running: true };
        },
        () => deletePod(plan.hash),
        (error) =>
          logger.warn({ hash: plan.hash, err: error }, 'could not remove a pod that failed to start'),
      );
    },
    inspectPod,
    async listPods() {
      const response = await client.request({ method: 'GET', path: '/list?item=pod' });
      if (response.status !== 200 && response.status !== 201) fail(response, 'list');
      return parsePodList((parseJson(response, 'list') as { podData?: unknown }).podData);
    },
    deletePod,
    pullImage,
    // The part of hyperd's API codiusd uses has no image removal; its images are the operator's to prune.
    removeImage: () => Promise.resolve('missing' as const),
    async openLogs(hash, { follow, signal }) {
      const info = await podInfo(hash);
      if (!info) return null;
      const targets = (info.spec?.containers ?? []).flatMap((container): LogTarget[] =>
        container.containerID
          ? [
              {
                container: logName(hash, container.name ?? container.containerID),
                path: `/container/logs?container=${encodeURIComponent(container.containerID)}&stdout=true&stderr=true&follow=${String(follow)}`,
              },
            ]
          : [],
      );
      return openLogStreams(client, targets, signal);
    },
    async close() {
      client.close();
      await Promise.resolve();
    },
  };
}

/**
 * CODIUS_HYPER_NOOP=true: nothing reaches hyperd. Pods are remembered in memory so the rest
 * of the daemon behaves consistently, but nothing runs, so nothing can be served. For API testing only.
 */
export function createNoopHyperdDriver(logger: Logger): PodRuntime {
  const pods = new Set<ManifestHash>();
  return {
    name: 'hyperd-noop',
    async prepare() {
      logger.warn('CODIUS_HYPER_NOOP=true: pods are accepted but never run; nothing can be served');
      await Promise.resolve();
    },
    async runPod(plan) {
      pods.add(plan.hash);
      return Promise.resolve({ hash: plan.hash, running: true, ip: null });
    },
    async inspectPod(hash) {
      return Promise.resolve(pods.has(hash) ? { hash, running: true, ip: null } : null);
    },
    async listPods() {
      return Promise.resolve([...pods].map((hash) => ({ hash, running: true, ip: null })));
    },
    async deletePod(hash) {
      pods.delete(hash);
      return Promise.resolve();
    },
    async pullImage() {
      return Promise.resolve();
    },
    removeImage: () => Promise.resolve('missing' as const),
    async openLogs(hash) {
      return Promise.resolve(pods.has(hash) ? [] : null);
    },
    async close() {
      return Promise.resolve();
    },
  };
}
