import type { Logger } from '../../logger.js';
import type { KubeApi, KubeObject } from './api.js';

const WATCH_RETRY_MS = 2_000;

/**
 * Watches the host's pods for as long as it runs, watching again 2 s after the API ends a watch (API
 * servers end them every few minutes, and a failed one is retried the same way). Returns the stop.
 */
export function watchHostPods(
  api: Pick<KubeApi, 'watchPods'>,
  labelSelector: string,
  logger: Logger,
  onEvent: (event: { type: string; object: KubeObject }) => void,
): () => void {
  let stopCurrent: (() => void) | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  function restart(error: unknown): void {
    stopCurrent = undefined;
    if (stopped) return;
    if (error) logger.warn({ err: error }, 'the Kubernetes pod watch ended; watching again');
    retry = setTimeout(start, WATCH_RETRY_MS);
    retry.unref();
  }

  let attempt = 0;

  function start(): void {
    const mine = (attempt += 1);
    // The client may both report the end and reject its promise: one restart per attempt.
    const ended = (error: unknown): void => {
      if (mine !== attempt) return;
      attempt += 1;
      restart(error);
    };
    api
      .watchPods(labelSelector, (type, object) => onEvent({ type, object }), ended)
      .then((stop) => {
        if (stopped || mine !== attempt) stop();
        else stopCurrent = stop;
      }, ended);
  }

  start();
  return () => {
    stopped = true;
    clearTimeout(retry);
    stopCurrent?.();
  };
}
