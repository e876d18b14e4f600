import type { ManifestHash, PodPlan } from '../../domain/types.js';
import { podSecret } from '../../secret.js';
import { familiarImage } from '../../manifest/image-reference.js';

/** The moneyd sidecar image hyperd pods have always run, pinned by digest. */
export const MONEYD_SIDECAR_IMAGE =
  'codius/codius-moneyd@sha256:4c02fc168e6b4cfde90475ed3c3243de0bce4ca76b73753a92fb74bf5116deef';

export interface HyperContainerSpec {
  name: string;
  image: string;
  command?: string[];
  workdir?: string;
  envs: Array<{ env: string; value: string }>;
}

export interface HyperPodSpec {
  id: ManifestHash;
  resource: { vcpu: number; memory: number };
  containers: HyperContainerSpec[];
}

/** Name of the moneyd sidecar container in a pod: `<hash>_moneyd`. */
export function sidecarName(hash: ManifestHash): string {
  return `${hash}_moneyd`;
}

/**
 * The exact pod spec hyperd hosts have always been sent with `POST /pod/create`: user
 * containers in manifest order with `command`/`workdir` only when present, then the moneyd sidecar whose
 * only variable is CODIUS_SECRET. Key order matters to nobody but is kept for byte-identical requests.
 */
export function hyperPodSpec(plan: PodPlan, hostSecret: Buffer): HyperPodSpec {
  return {
    id: plan.hash,
    resource: { vcpu: plan.resources.vcpu, memory: plan.resources.memoryMiB },
    containers: [
      ...plan.containers.map((container): HyperContainerSpec => ({
        name: container.name,
        image: familiarImage(container.image),
        ...(container.command ? { command: container.command } : {}),
        ...(container.workdir === undefined ? {} : { workdir: container.workdir }),
        envs: container.env.map((v) => ({ env: v.name, value: v.value })),
      })),
      {
        name: sidecarName(plan.hash),
        image: MONEYD_SIDECAR_IMAGE,
        envs: [{ env: 'CODIUS_SECRET', value: podSecret(hostSecret, plan.hash) }],
      },
    ],
  };
}
