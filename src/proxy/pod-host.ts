import type { ManifestHash } from '../domain/types.js';

const HASH_LABEL = /^[a-z2-7]{52}$/;
const HASH_LENGTH = 52;

/**
 * Recognises pod hostnames: `<52-char base32 hash>.<public hostname>`, in any letter case (DNS names are
 * case-insensitive), with or without a port or a trailing dot. Returns the hash in lower case (as the store
 * keeps it), or null for every other Host, which then goes to the API routes.
 */
export function createPodHostMatcher(publicUri: string): (host: string | undefined) => ManifestHash | null {
  const suffix = `.${new URL(publicUri).hostname.toLowerCase()}`;
  const length = HASH_LENGTH + suffix.length;
  return (host) => {
    // Cheap rejections first: this runs for every request the public server receives.
    if (host === undefined || host.length < length || host.charCodeAt(0) === 0x5b /* [ IPv6 */) return null;
    const colon = host.indexOf(':', length);
    let name = colon === -1 ? host : host.slice(0, colon);
    if (name.length === length + 1 && name.endsWith('.')) name = name.slice(0, -1);
    if (name.length !== length) return null;
    const lower = name.toLowerCase();
    if (!lower.endsWith(suffix)) return null;
    const label = lower.slice(0, HASH_LENGTH);
    return HASH_LABEL.test(label) ? label : null;
  };
}
