// Manifests: validation, canonical hashing, variables and the pod plan. Pure functions, no I/O.
export { ManifestError, type ValidationDetail } from './errors.js';
export { canonicalJson, hashManifest, hashPrivateVar, MANIFEST_HASH_PATTERN, podSecret } from './hash.js';
export { buildPodPlan, checkQuotedManifest, MACHINE_SIZES, parsePort } from './plan.js';
export { INVALID_PAYLOAD, parsePodRequest } from './schema.js';
export { resolveContainerEnv } from './vars.js';
