import { createHash } from 'node:crypto';
import type { ContainerPlan, ManifestHash, PodPlan } from '../../domain/types.js';
import type { PodNetwork } from '../pod-network.js';

/** Names and labels other tools and operators rely on (issue contract). */
export const POD_NAME_PREFIX = 'codius-';
export const LABEL_MANIFEST_HASH = 'codius.manifest-hash';
export const LABEL_HOST = 'codius.host';
export const LABEL_CONTAINER_ID = 'codius.container-id';

/** Containers get this long to exit on SIGTERM before SIGKILL; `init: true` makes PID 1 forward it. */
const STOP_TIMEOUT_SECONDS = 2;
/** Processes per pod: enough for real apps, a stop for fork bombs. */
const PIDS_LIMIT = 1024;
const CPU_PERIOD_US = 100_000;

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

/** The libpod `pods/create` body of a plan: one cgroup for all its containers, like the original's VM. */
export function podSpec(plan: PodPlan, network: PodNetwork, hostId: string): Record<string, unknown> {
  const memoryBytes = plan.resources.memoryMiB * 2 ** 20;
  return {
    name: podName(plan.hash),
    labels: { [LABEL_MANIFEST_HASH]: plan.hash, [LABEL_HOST]: hostId },
    Networks: { [network.name]: {} },
    netns: { nsmode: 'bridge' },
    resource_limits: {
      memory: { limit: memoryBytes, swap: memoryBytes },
      cpu: { quota: plan.resources.vcpu * CPU_PERIOD_US, period: CPU_PERIOD_US },
      pids: { limit: PIDS_LIMIT },
    },
  };
}

/** The libpod `containers/create` body (SpecGenerator) of one container of a plan. */
export function containerSpec(
  hash: ManifestHash,
  container: ContainerPlan,
  hostId: string,
): Record<string, unknown> {
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
