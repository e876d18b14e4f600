import { fileURLToPath } from 'node:url';
import { hostIdFromSecret, loadOrCreateHostSecret } from '../../src/secret.js';
import type { PodmanFixture } from './podman.js';

/** The test pod server (test/fixtures/pod-server: HTTP and WebSocket) as an image in the fixture's registry. */
export function podServerImage(fixture: PodmanFixture): Promise<string> {
  const appDir = fileURLToPath(new URL('../../../test/fixtures/pod-server/', import.meta.url));
  return fixture.nodeAppImage(appDir, 'server.mjs', ['ws']);
}

/** Has the fixture remove, at the end of the file, every pod of the host whose data directory is `root`. */
export async function adoptHostOf(fixture: PodmanFixture, root: string): Promise<void> {
  fixture.adoptHostId(hostIdFromSecret((await loadOrCreateHostSecret(root)).secret));
}
