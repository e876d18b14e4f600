import type { PodRuntime } from './driver.js';
import { RuntimeUnavailableError } from './errors.js';
import { observeRuntime } from './observed-runtime.js';

/**
 * Whether the runtime answers, as its calls find out: false from the first call that found nothing
 * listening (Podman's service died) until a call succeeds again. Lets the host refuse uploads before
 * payment instead of charging and refunding each one. `onLost` is told each time it stops answering.
 */
export function watchAvailability(
  runtime: PodRuntime,
  onLost: () => void = () => undefined,
): { runtime: PodRuntime; available(): boolean } {
  let available = true;
  const watched = observeRuntime(runtime, {
    succeeded: () => (available = true),
    failed: (_operation, error) => {
      if (!(error instanceof RuntimeUnavailableError)) return;
      if (available) onLost();
      available = false;
    },
  });
  return { runtime: watched, available: () => available };
}
