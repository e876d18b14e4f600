import type { PodRuntime } from './driver.js';
import { RuntimeUnavailableError } from './errors.js';

/**
 * Whether the runtime answers, as its calls find out: false from the first call that found nothing
 * listening (Podman's service died) until a call succeeds again. Lets the host refuse uploads before
 * payment instead of charging and refunding each one.
 */
export function watchAvailability(runtime: PodRuntime): { runtime: PodRuntime; available(): boolean } {
  let available = true;
  function watched<A extends unknown[], R>(call: (...args: A) => Promise<R>) {
    return async (...args: A): Promise<R> => {
      try {
        const result = await call(...args);
        available = true;
        return result;
      } catch (error) {
        if (error instanceof RuntimeUnavailableError) available = false;
        throw error;
      }
    };
  }
  const result: PodRuntime = {
    name: runtime.name,
    prepare: watched(() => runtime.prepare()),
    runPod: watched((plan) => runtime.runPod(plan)),
    inspectPod: watched((hash) => runtime.inspectPod(hash)),
    listPods: watched(() => runtime.listPods()),
    deletePod: watched((hash) => runtime.deletePod(hash)),
    pullImage: watched((image) => runtime.pullImage(image)),
    removeImage: watched((image) => runtime.removeImage(image)),
    openLogs: watched((hash, options) => runtime.openLogs(hash, options)),
    close: () => runtime.close(),
  };
  const importImage = runtime.importImage?.bind(runtime);
  if (importImage) result.importImage = watched((source) => importImage(source));
  return { runtime: result, available: () => available };
}
