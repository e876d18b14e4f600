import { RuntimeUnavailableError } from '../errors.js';

/** The Kubernetes client library (on undici 8) loads on Node.js 22.19 and later only. */
const MIN_NODE = { major: 22, minor: 19 };

export function kubernetesClientRuns(nodeVersion: string): boolean {
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  return major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor);
}

/** Says plainly why the Kubernetes runtime cannot start on an older Node.js, instead of a library's TypeError. */
export function checkKubernetesClientRuns(nodeVersion: string = process.versions.node): void {
  if (kubernetesClientRuns(nodeVersion)) return;
  throw new RuntimeUnavailableError(
    `CODIUS_RUNTIME=kubernetes needs Node.js ${MIN_NODE.major}.${MIN_NODE.minor} or later (this is ${nodeVersion}): its client library does not load on older lines; the Debian package carries Node.js 24`,
  );
}
