import { CodiusError } from '../domain/errors.js';

/** Docker Hub: where a name without a registry part is pulled from, as Docker (and the Codius CLI) read it. */
export const DEFAULT_REGISTRY = 'docker.io';

// The reference grammar of the distribution project (docker/distribution reference), digest pinned.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?@(sha256:[a-f0-9]{64})$`,
);
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{12,64}$/;

/** Whether the first part of a name is a registry host, as Docker and Podman tell: a dot, a port or localhost. */
function isDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first.startsWith('[') || first === 'localhost';
}

function refuse(image: string, reason: string): never {
  throw new CodiusError('image_reference_invalid', { image: image.slice(0, 300), reason });
}

/**
 * The fully qualified, digest-pinned reference an image of a manifest is pulled and run by. A name without
 * a registry is Docker Hub's (`user/app` → `docker.io/user/app`, `nginx` → `docker.io/library/nginx`), so
 * the registry policy, the pull and the runtime all see one name, and the runtime never resolves a short
 * name against its local storage or search list. Image IDs and references not pinned by a sha256 digest
 * are refused (CodiusError `image_reference_invalid`): with them a pod could run whatever image the host
 * holds, pulled for someone else.
 */
export function qualifiedImage(image: string): string {
  if (IMAGE_ID.test(image))
    refuse(image, 'an image ID is not a reference; name the image by repository and digest');
  const match = REFERENCE.exec(image);
  if (!match) {
    if (!/@sha256:[a-f0-9]{64}$/.test(image))
      refuse(image, 'it is not pinned by digest; use name@sha256:<64 hex digits>');
    refuse(image, 'it is not a valid image reference (lower-case repository path, registry host optional)');
  }
  const [, domain, path = '', tag, digest = ''] = match;
  const suffix = `${tag === undefined ? '' : `:${tag}`}@${digest}`;
  if (domain !== undefined && isDomain(domain)) {
    const registry = domain.toLowerCase();
    // Docker Hub's official images live under library/, however the name is spelled.
    const repository = registry === DEFAULT_REGISTRY && !path.includes('/') ? `library/${path}` : path;
    return `${registry}/${repository}${suffix}`;
  }
  // The first component was part of the path, not a registry (Docker's reading of `user/app`).
  const fullPath = domain === undefined ? path : `${domain}/${path}`;
  if (!new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`).test(fullPath)) {
    refuse(image, 'it is not a valid image reference (lower-case repository path, registry host optional)');
  }
  const repository = fullPath.includes('/') ? fullPath : `library/${fullPath}`;
  if (/^[a-f0-9]{64}$/.test(repository.split('/').at(-1) ?? '') && !fullPath.includes('/')) {
    refuse(image, 'an image ID is not a reference; name the image by repository and digest');
  }
  return `${DEFAULT_REGISTRY}/${repository}${suffix}`;
}

/**
 * The short form Docker shows and resolves the same way (`docker.io/library/nginx@…` → `nginx@…`): what
 * a Docker-based runtime such as hyperd was always sent, and resolves to the very same image.
 */
export function familiarImage(qualified: string): string {
  const prefix = `${DEFAULT_REGISTRY}/`;
  if (!qualified.startsWith(prefix)) return qualified;
  const path = qualified.slice(prefix.length);
  return path.startsWith('library/') && !path.slice('library/'.length).split('@')[0]?.includes('/')
    ? path.slice('library/'.length)
    : path;
}
