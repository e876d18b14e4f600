import type { PodRuntime } from '../runtime/driver.js';
import type { MetricsRecorder } from './host-metrics.js';

/**
 * The runtime with its calls counted: every failed call by operation, and how long successful pod starts
 * took. Behaviour is unchanged (errors pass through).
 */
export function meteredRuntime(runtime: PodRuntime, metrics: MetricsRecorder): PodRuntime {
  async function counted<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      metrics.runtimeCallFailed(operation);
      throw error;
    }
  }
  const metered: PodRuntime = {
    name: runtime.name,
    prepare: () => counted('prepare', () => runtime.prepare()),
    async runPod(plan) {
      const started = performance.now();
      const pod = await counted('run_pod', () => runtime.runPod(plan));
      metrics.podStarted((performance.now() - started) / 1000);
      return pod;
    },
    inspectPod: (hash) => counted('inspect_pod', () => runtime.inspectPod(hash)),
    listPods: () => counted('list_pods', () => runtime.listPods()),
    deletePod: (hash) => counted('delete_pod', () => runtime.deletePod(hash)),
    pullImage: (image) => counted('pull_image', () => runtime.pullImage(image)),
    removeImage: (image) => counted('remove_image', () => runtime.removeImage(image)),
    openLogs: (hash, options) => counted('open_logs', () => runtime.openLogs(hash, options)),
    close: () => runtime.close(),
  };
  const importImage = runtime.importImage?.bind(runtime);
  if (importImage) metered.importImage = (source) => counted('import_image', () => importImage(source));
  return metered;
}
