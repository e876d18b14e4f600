import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CodiusError } from '../domain/errors.js';
import { isPublicAddress } from '../net/address-policy.js';

/** Docker's default registry, for references without a registry part (`nginx`, `library/node:20`). */
const DEFAULT_REGISTRY = 'docker.io';

/**
 * The registry host (and port) an image reference is pulled from, as Docker and Podman read it: the
 * first path component when it looks like a host (has a dot or a port, or is `localhost`), else Docker
 * Hub. Lower case; IPv6 literals keep their brackets.
 */
export function registryOf(image: string): string {
  const name = image.split('@')[0] ?? image;
  const slash = name.indexOf('/');
  if (slash === -1) return DEFAULT_REGISTRY;
  const first = name.slice(0, slash);
  const looksLikeHost = first.includes('.') || first.includes(':') || first === 'localhost';
  return looksLikeHost ? first.toLowerCase() : DEFAULT_REGISTRY;
}

/** The host part of `host:port` / `[v6]:port`. */
function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  return registry.split(':')[0] ?? registry;
}

/** Where images may be pulled from: pulls must not be turned against the host or its network. */
export interface RegistryPolicy {
  /**
   * Resolves when the image's registry may be used; throws CodiusError `registry_not_allowed` when it is,
   * or resolves to, a loopback, private or link-local address (and is not allowed by name).
   */
  check(image: string): Promise<void>;
  /**
   * Whether an image found in local storage may run without its registry confirming it: in dev mode, and
   * for images this host built itself. Otherwise the registry must serve the reference at every start.
   */
  trustsLocalStorage(image: string): boolean;
}

export interface RegistryPolicyOptions {
  /** Dev mode: every registry is allowed (loopback registries on one machine). */
  allowPrivate: boolean;
  /** Registry hosts allowed by name (`host` or `host:port`, lower case) whatever their addresses. */
  allowed: readonly string[];
  lookup?: (host: string) => Promise<string[]>;
  /** Images this host imported itself (the self test's), allowed by exact reference: nothing is pulled. */
  isLocalImage?: (image: string) => boolean;
}

const resolveAll = async (host: string): Promise<string[]> =>
  (await dnsLookup(host, { all: true, order: 'verbatim' })).map((entry) => entry.address);

export function createRegistryPolicy(options: RegistryPolicyOptions): RegistryPolicy {
  const lookup = options.lookup ?? resolveAll;
  const allowed = new Set(options.allowed.map((entry) => entry.toLowerCase()));

  function refuse(image: string, registry: string, reason: string): never {
    throw new CodiusError('registry_not_allowed', { image, registry, reason });
  }

  return {
    trustsLocalStorage: (image) => options.allowPrivate || options.isLocalImage?.(image) === true,
    async check(image) {
      if (options.allowPrivate || options.isLocalImage?.(image)) return;
      const registry = registryOf(image);
      if (allowed.has(registry) || allowed.has(hostOf(registry))) return;
      const host = hostOf(registry);
      if (isIP(host) !== 0) {
        if (!isPublicAddress(host)) refuse(image, registry, 'is not a public address');
        return;
      }
      let addresses: string[];
      try {
        addresses = await lookup(host);
      } catch {
        return refuse(image, registry, 'cannot be resolved');
      }
      if (addresses.length === 0) refuse(image, registry, 'cannot be resolved');
      if (addresses.some((address) => !isPublicAddress(address))) {
        refuse(image, registry, 'resolves to an address that is not public');
      }
    },
  };
}
