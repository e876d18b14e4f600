import { createInterface } from 'node:readline';
import type { ManifestHash } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import type { UnixHttpClient } from '../unix-http.js';
import { LIBPOD_API } from './libpod.js';
import { LABEL_HOST, LABEL_MANIFEST_HASH } from './specs.js';

/** After the event stream ends (the service restarted, say), it is opened again this long after. */
const REOPEN_MS = 2_000;
/** What a container of a running pod can do that leaves its pod not running. */
const LEAVING_EVENTS = ['died', 'stop', 'kill', 'pause', 'remove', 'cleanup'];

interface LibpodEvent {
  Actor?: { Attributes?: Record<string, string> | null };
  Attributes?: Record<string, string> | null;
}

/**
 * Follows Podman's event stream for the containers of this host's pods and reports the manifest hash of
 * each that stopped running, at once, so a pod that died (or was stopped or removed behind codiusd's back)
 * is repaired within a second instead of at the next reconcile pass. Returns the stop.
 */
export function followPodEvents(
  client: UnixHttpClient,
  hostId: string,
  changed: (hash: ManifestHash) => void,
  logger: Logger,
): () => void {
  const filters = encodeURIComponent(
    JSON.stringify({ type: ['container'], event: LEAVING_EVENTS, label: [`${LABEL_HOST}=${hostId}`] }),
  );
  const path = `${LIBPOD_API}/events?stream=true&filters=${filters}`;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function reopen(): void {
    if (stopped) return;
    timer = setTimeout(open, REOPEN_MS);
    timer.unref();
  }

  function open(): void {
    controller = new AbortController();
    client.stream({ method: 'GET', path, signal: controller.signal }).then(
      ({ status, body }) => {
        if (stopped) {
          body.destroy();
          return;
        }
        if (status !== 200) {
          body.destroy();
          logger.debug({ status }, 'podman events answered an error; opening them again');
          reopen();
          return;
        }
        const lines = createInterface({ input: body, crlfDelay: Infinity });
        lines.on('line', (line) => {
          let event: LibpodEvent;
          try {
            event = JSON.parse(line) as LibpodEvent;
          } catch {
            return;
          }
          const hash = (event.Actor?.Attributes ?? event.Attributes)?.[LABEL_MANIFEST_HASH];
          if (hash) changed(hash);
        });
        body.once('close', reopen);
        // The stream ends with an error when the service goes or close() aborts it: reopened, or done.
        body.on('error', () => undefined);
        lines.on('error', () => undefined);
      },
      () => reopen(),
    );
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
}
