// Manifests: validation, canonical hashing, variables and the pod plan. Pure functions, no I/O.
export { canonicalJson, hashManifest, hashPrivateVar, MANIFEST_HASH_PATTERN } from './hash.js';
export { qualifiedImage } from './image-reference.js';
export { buildPodPlan, checkQuotedManifest, MACHINE_SIZES, parsePort } from './plan.js';
export { parsePodRequest } from './schema.js';
export { resolveContainerEnv } from './vars.js';
