import type { ManifestHash, PodPlan } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { MANIFEST_HASH_PATTERN } from '../../manifest/hash.js';
import { sleep } from '../../util/sleep.js';
import type { ContainerLogSource, PodRuntime, RuntimePod } from '../driver.js';
import { removeOnFailure } from '../driver-support.js';
import { ContainerExitedError, ImageUnavailableError, RuntimeApiError } from '../errors.js';
import { LABEL_MANIFEST_HASH } from '../podman/specs.js';
import { encodeFrame } from '../stdcopy.js';
import type { KubeApi, KubeObject } from './api.js';
import { watchHostPods } from './pod-watch.js';
import {
  ANNOTATION_CONTAINER_IDS,
  hostSelector,
  networkPolicyObject,
  podObject,
  podObjectName,
  secretName,
  secretObject,
  type ObjectSettings,
} from './objects.js';

const POLL_MS = 250;
const DELETE_WAIT_MS = 30_000;
/** Waiting reasons that mean the image will not come. */
const IMAGE_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

export interface KubernetesDriverOptions {
  api: KubeApi;
  objects: ObjectSettings;
  pullTimeoutMs: number;
  logger: Logger;
}

function hashOf(object: KubeObject): ManifestHash | null {
  const hash = object.metadata?.labels?.[LABEL_MANIFEST_HASH];
  return hash !== undefined && MANIFEST_HASH_PATTERN.test(hash) ? hash : null;
}

/** The manifest's container ids, in the order of the pod's containers `c0`, `c1`… */
function containerIdsOf(pod: KubeObject): string[] {
  return JSON.parse(pod.metadata?.annotations?.[ANNOTATION_CONTAINER_IDS] ?? '[]') as string[];
}

/** Running when the pod is and every container in it; its address is the pod's IP. */
function runtimePodOf(hash: ManifestHash, pod: KubeObject): RuntimePod {
  const statuses = pod.status?.containerStatuses ?? [];
  const running =
    pod.status?.phase === 'Running' &&
    pod.metadata?.deletionTimestamp === undefined &&
    statuses.length > 0 &&
    statuses.every((status) => status.state?.running !== undefined);
  return { hash, running, ip: pod.status?.podIP ?? null };
}

/** Why a pod that is not running will not run, as the error the lifecycle answers with; null while it may. */
function startFailure(plan: PodPlan, pod: KubeObject): Error | null {
  const ids = containerIdsOf(pod);
  for (const status of pod.status?.containerStatuses ?? []) {
    const index = Number(status.name.slice(1));
    const id = ids[index] ?? status.name;
    const waiting = status.state?.waiting;
    if (waiting?.reason !== undefined && IMAGE_FAILURES.has(waiting.reason)) {
      return new ImageUnavailableError(
        plan.containers[index]?.image ?? id,
        waiting.message ?? waiting.reason,
      );
    }
    const terminated = status.state?.terminated;
    if (terminated || waiting?.reason === 'CrashLoopBackOff') {
      return new ContainerExitedError(id, terminated?.exitCode ?? null);
    }
  }
  if (pod.status?.phase === 'Failed') return new ContainerExitedError(ids[0] ?? 'pod', null);
  return null;
}

/**
 * CODIUS_RUNTIME=kubernetes: one Pod per manifest (named and labelled by its hash), its private values in a
 * Secret the Pod refers to, and a NetworkPolicy containing it as the host firewall contains Podman pods.
 * The proxy reaches the pod at its podIP. A watch on this host's pods reports pods that stop or go away.
 */
export function createKubernetesDriver(options: KubernetesDriverOptions): PodRuntime {
  const { api, objects, logger } = options;
  const selector = hostSelector(objects.hostId);
  let stopWatch: (() => void) | undefined;

  async function removeObjects(hash: ManifestHash): Promise<void> {
    await api.remove('pods', podObjectName(hash), 2);
    await api.remove('secrets', secretName(hash));
    await api.remove('networkpolicies', podObjectName(hash));
  }

  async function waitGone(hash: ManifestHash): Promise<void> {
    const deadline = Date.now() + DELETE_WAIT_MS;
    while ((await api.read('pods', podObjectName(hash))) !== null) {
      if (Date.now() > deadline)
        throw new RuntimeApiError(0, `pod ${podObjectName(hash)} is still terminating`);
      await sleep(POLL_MS);
    }
  }

  async function create(plan: PodPlan): Promise<void> {
    const secret = secretObject(plan, objects);
    if (secret) await api.create('secrets', secret);
    // The policy first: the pod never runs uncontained.
    await api.create('networkpolicies', networkPolicyObject(plan, objects));
    await api.create('pods', podObject(plan, objects));
  }

  async function waitRunning(plan: PodPlan): Promise<RuntimePod> {
    const deadline = Date.now() + options.pullTimeoutMs;
    for (;;) {
      const pod = await api.read('pods', podObjectName(plan.hash));
      if (pod === null)
        throw new RuntimeApiError(404, `pod ${podObjectName(plan.hash)} went away while starting`);
      const state = runtimePodOf(plan.hash, pod);
      if (state.running && state.ip !== null) return { ...state, pulledImages: [] };
      const failure = startFailure(plan, pod);
      if (failure) throw failure;
      if (Date.now() > deadline) {
        throw new ImageUnavailableError(
          plan.containers[0]?.image ?? '',
          `the pod did not start in ${options.pullTimeoutMs} ms`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  return {
    name: 'kubernetes',
    async prepare() {
      // Proves the namespace exists and the service account may list in it.
      await api.list('pods', selector);
    },
    async runPod(plan) {
      return removeOnFailure(
        async () => {
          try {
            await create(plan);
          } catch (error) {
            // A leftover of the same hash (its objects are named by it): replace it.
            if (!(error instanceof RuntimeApiError) || error.status !== 409) throw error;
            await removeObjects(plan.hash);
            await waitGone(plan.hash);
            await create(plan);
          }
          return waitRunning(plan);
        },
        () => removeObjects(plan.hash),
        (error) =>
          logger.warn({ hash: plan.hash, err: error }, 'could not remove a pod that failed to start'),
      );
    },
    async inspectPod(hash) {
      const pod = await api.read('pods', podObjectName(hash));
      return pod === null ? null : runtimePodOf(hash, pod);
    },
    async listPods() {
      const found = new Map<ManifestHash, RuntimePod>();
      for (const pod of await api.list('pods', selector)) {
        const hash = hashOf(pod);
        if (hash !== null) found.set(hash, runtimePodOf(hash, pod));
      }
      // A Secret or NetworkPolicy without its Pod is reported too, so reconcile removes it if unpaid.
      for (const resource of ['secrets', 'networkpolicies'] as const) {
        for (const object of await api.list(resource, selector)) {
          const hash = hashOf(object);
          if (hash !== null && !found.has(hash)) found.set(hash, { hash, running: false, ip: null });
        }
      }
      return [...found.values()];
    },
    async deletePod(hash) {
      await removeObjects(hash);
      await waitGone(hash);
    },
    // Nodes pull images themselves, when the pod is scheduled.
    pullImage: () => Promise.resolve(),
    removeImage: () => Promise.resolve('missing' as const),
    async openLogs(hash, { follow, signal }) {
      const pod = await api.read('pods', podObjectName(hash));
      if (pod === null) return null;
      const ids = containerIdsOf(pod);
      return Promise.all(
        ids.map(async (id, index): Promise<ContainerLogSource> => {
          const text = await api.logs(podObjectName(hash), `c${index}`, { follow, signal });
          // The log followers read Docker stdcopy frames: the log API's text is all stdout.
          const frames = text.map((chunk: Buffer) => encodeFrame(1, chunk));
          return { container: id, frames };
        }),
      );
    },
    watchPods(changed) {
      stopWatch ??= watchHostPods(api, selector, logger, (pod) => {
        const hash = hashOf(pod.object);
        if (hash === null) return;
        if (pod.type === 'DELETED' || (pod.type === 'MODIFIED' && !runtimePodOf(hash, pod.object).running)) {
          changed(hash);
        }
      });
    },
    close() {
      stopWatch?.();
      return Promise.resolve();
    },
  };
}
