import type { PodRuntime } from '../runtime/driver.js';
import { observeRuntime } from '../runtime/observed-runtime.js';
import type { MetricsRecorder } from './host-metrics.js';

/**
 * The runtime with its calls counted: every failed call by operation, and how long successful pod starts
 * took. Behaviour is unchanged (errors pass through).
 */
export function meteredRuntime(runtime: PodRuntime, metrics: MetricsRecorder): PodRuntime {
  return observeRuntime(runtime, {
    succeeded: (operation, seconds) => {
      if (operation === 'run_pod') metrics.podStarted(seconds);
    },
    failed: (operation) => metrics.runtimeCallFailed(operation),
  });
}
