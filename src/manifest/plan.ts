import type { ContainerPlan, EnvVar, ManifestHash, PodPlan, PodRequest } from '../domain/types.js';
import { hashManifest } from './hash.js';
import { qualifiedImage } from './image-reference.js';
import { resolveContainerEnv } from './vars.js';

/** Resources of each machine size, for the whole pod. Unknown sizes fall back to small. */
export const MACHINE_SIZES = { small: { vcpu: 1, memoryMiB: 512 } } as const;

/** The manifest's port when it is a usable TCP port; the manifest schema admits strings like "abc1". */
export function parsePort(port: string | undefined): number | null {
  if (port === undefined || !/^\d+$/.test(port)) return null;
  const value = Number(port);
  return value >= 1 && value <= 65535 ? value : null;
}

export interface PlanOptions {
  /** CODIUS_PUBLIC_URI, injected as CODIUS_HOST. */
  publicUri: string;
  /**
   * Variables the host gives every container of the pod (after the CODIUS ones); a container whose
   * manifest environment sets the same name keeps its own value.
   */
  hostEnvironment?: (hash: ManifestHash) => EnvVar[];
}

/** Builds the runtime-neutral pod plan for a validated request (throws ManifestError 422 on bad vars). */
export function buildPodPlan(request: PodRequest, options: PlanOptions): PodPlan {
  const { manifest } = request;
  const hash = hashManifest(manifest);
  // Input key order, not canonical: what Codius pods have always been given as CODIUS_MANIFEST.
  const manifestJson = JSON.stringify(manifest);
  const injected = [
    { name: 'CODIUS', value: 'true', secret: false },
    { name: 'CODIUS_HOST', value: options.publicUri, secret: false },
    { name: 'CODIUS_MANIFEST_HASH', value: hash, secret: false },
    { name: 'CODIUS_MANIFEST', value: manifestJson, secret: false },
  ];
  const hostEnv = options.hostEnvironment?.(hash) ?? [];
  const containers = manifest.containers.map((container): ContainerPlan => {
    const own = resolveContainerEnv(request, container.environment);
    const ownNames = new Set(own.map((v) => v.name));
    return {
      id: container.id,
      name: `${hash}__${container.id}`,
      image: qualifiedImage(container.image),
      ...(container.command === undefined ? {} : { command: [...container.command] }),
      ...(container.workdir === undefined ? {} : { workdir: container.workdir }),
      env: [...injected, ...hostEnv.filter((v) => !ownNames.has(v.name)), ...own],
    };
  });
  return {
    hash,
    manifest,
    containers,
    resources: { ...MACHINE_SIZES[manifest.machine ?? 'small'] },
    port: parsePort(manifest.port),
    debug: manifest.debug === true,
  };
}

/**
 * Checks a quote's manifest like an upload's (the same 422s), except that private values may be missing
 * (see PrivateValues), and returns its hash.
 */
export function checkQuotedManifest(request: PodRequest): ManifestHash {
  for (const container of request.manifest.containers) {
    qualifiedImage(container.image);
    resolveContainerEnv(request, container.environment, 'optional');
  }
  return hashManifest(request.manifest);
}
