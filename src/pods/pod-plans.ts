import type { EnvVar, Manifest, ManifestHash, PodPlan, PodRequest } from '../domain/types.js';
import { buildPodPlan } from '../manifest/plan.js';
import type { ManifestRepository } from '../store/repositories/manifests.js';
import type { PrivateVarsCipher } from './private-vars.js';

/** Where the plans of pods come from: a request, or what the store kept of a paid pod. */
export interface PodPlanner {
  /** The plan of a request (throws a CodiusError for a manifest that cannot run). */
  plan(request: PodRequest): PodPlan;
  /** Rebuilds the plan of a stored pod from its public manifest and sealed private vars. */
  stored(hash: ManifestHash): Promise<PodPlan>;
  /** The request's private vars sealed for the store, or null when it has none. */
  sealedVars(hash: ManifestHash, request: PodRequest): string | null;
}

export interface PodPlannerOptions {
  /** CODIUS_PUBLIC_URI, injected into pods as CODIUS_HOST. */
  publicUri: string;
  manifests: Pick<ManifestRepository, 'get' | 'getSealedPrivateVars'>;
  cipher: PrivateVarsCipher;
  /** Environment the host adds to every container (a manifest's own variables of the same name win). */
  hostEnvironment?: (hash: ManifestHash) => EnvVar[];
}

export function createPodPlanner(options: PodPlannerOptions): PodPlanner {
  const { manifests, cipher } = options;
  const plan = (request: PodRequest): PodPlan =>
    buildPodPlan(request, {
      publicUri: options.publicUri,
      ...(options.hostEnvironment ? { hostEnvironment: options.hostEnvironment } : {}),
    });

  return {
    plan,
    async stored(hash) {
      const manifest = (await manifests.get(hash)) as Manifest | undefined;
      if (!manifest) throw new Error(`no stored manifest for pod ${hash}`);
      const sealed = await manifests.getSealedPrivateVars(hash);
      const request: PodRequest = sealed
        ? { manifest, private: { vars: cipher.open(hash, sealed) } }
        : { manifest };
      const rebuilt = plan(request);
      if (rebuilt.hash !== hash) throw new Error(`stored manifest of ${hash} hashes to ${rebuilt.hash}`);
      return rebuilt;
    },
    sealedVars(hash, request) {
      const vars = request.private?.vars;
      return vars && Object.keys(vars).length > 0 ? cipher.seal(hash, vars) : null;
    },
  };
}
