import { createHash } from 'node:crypto';
import type { ContainerPlan, ManifestHash, PodPlan } from '../../domain/types.js';
import type { PodNetwork } from '../pod-network.js';
import { STDIO_HOOK_ANNOTATION } from './stdio-hook.js';

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
/** Each container's log is kept to this size (older lines are dropped), so a chatty pod cannot fill the disk. */
export const CONTAINER_LOG_MAX_BYTES = 10 * 2 ** 20;
/** A pod's user namespace: container uids 0–65535 map to an unused range of host uids no one else has. */
const USERNS_SIZE = 65_536;
/**
 * What an app may do as root inside its pod: own and access its files, bind low ports, change to other
 * users, signal its processes. Everything else (raw sockets, mknod, chroot, setting file capabilities…)
 * is dropped; no new privileges can be gained (setuid binaries do not elevate).
 */
export const POD_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'NET_BIND_SERVICE',
  'SETGID',
  'SETUID',
];
/**
 * Under runc and crun the root filesystem is read-only; these are writable, as memory (tmpfs, counted
 * against the pod's memory limit, starting with the image's own files there). Image volumes are memory too.
 */
export const WRITABLE_DIRS = ['/tmp', '/var/tmp', '/run', '/var/cache', '/var/log'];
const WRITABLE_DIR_MAX = '128m';

/**
 * Where a container may write. gVisor does not copy the image's files into a tmpfs mount (it ignores
 * `tmpcopyup`), so the writable directories would hide what the image ships there (a program under
 * /var/cache, nginx's /var/cache/nginx). Under gVisor the whole root filesystem is instead an overlay in
 * the sandbox's memory (the wrapper's `--overlay2=root:memory`): writes never reach the host's disk, count
 * against the pod's memory limit, and go with the container.
 */
function filesystemSpec(hardening: Hardening): Record<string, unknown> {
  if (hardening.gvisor) return { read_only_filesystem: false, image_volume_mode: 'tmpfs' };
  return {
    read_only_filesystem: true,
    mounts: WRITABLE_DIRS.map((destination) => ({
      destination,
      type: 'tmpfs',
      source: 'tmpfs',
      options: [`size=${WRITABLE_DIR_MAX}`, 'nosuid', 'nodev', 'tmpcopyup'],
    })),
    image_volume_mode: 'tmpfs',
  };
}

/** How containers are confined beyond their pod's cgroup. */
export interface Hardening {
  /** A user namespace per pod (container root is not host root); off under gVisor, which is its own. */
  userNamespace: boolean;
  /** Every container is its own gVisor sandbox in the pod's network namespace. */
  gvisor: boolean;
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

/** The libpod `pods/create` body of a plan: one cgroup for all its containers, as a manifest's limits are per pod. */
export function podSpec(
  plan: PodPlan,
  network: PodNetwork,
  hostId: string,
  hardening: Hardening,
): Record<string, unknown> {
  const memoryBytes = plan.resources.memoryMiB * 2 ** 20;
  return {
    name: podName(plan.hash),
    ...(hardening.userNamespace
      ? {
          userns: { nsmode: 'auto' },
          idmappings: { AutoUserNs: true, AutoUserNsOpts: { Size: USERNS_SIZE } },
        }
      : {}),
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
  hardening: Hardening,
): Record<string, unknown> {
  return {
    name: containerName(hash, container),
    pod: podName(hash),
    image: container.image,
    // An empty command means "the image's own", as it does for every runtime.
    ...(container.command?.length ? { command: container.command } : {}),
    ...(container.workdir ? { work_dir: container.workdir } : {}),
    env: Object.fromEntries(container.env.map((v) => [v.name, v.value])),
    labels: { [LABEL_MANIFEST_HASH]: hash, [LABEL_HOST]: hostId, [LABEL_CONTAINER_ID]: container.id },
    // PID 1 that reaps zombies and forwards SIGTERM: apps run as PID 1 ignore it and stall teardown.
    init: true,
    stop_timeout: STOP_TIMEOUT_SECONDS,
    no_new_privileges: true,
    cap_drop: ['ALL'],
    cap_add: POD_CAPABILITIES,
    ...filesystemSpec(hardening),
    log_configuration: { driver: 'k8s-file', size: CONTAINER_LOG_MAX_BYTES },
    annotations: {
      // gVisor: each container is a sandbox of its own; they share the pod's network namespace.
      ...(hardening.gvisor ? { 'io.kubernetes.cri-o.ContainerType': 'sandbox' } : {}),
      // In a user namespace the container's root must own its stdio, or /dev/stdout cannot be reopened.
      ...(hardening.userNamespace ? STDIO_HOOK_ANNOTATION : {}),
    },
  };
}
