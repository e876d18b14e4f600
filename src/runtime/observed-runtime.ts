import type { PodRuntime } from './driver.js';

/** Told of every call a runtime answers, by operation name (`run_pod`, `list_pods`, …). */
export interface RuntimeObserver {
  succeeded?(operation: string, seconds: number): void;
  failed?(operation: string, error: unknown): void;
}

/** The runtime with every call reported to `observer`; behaviour unchanged (results and errors pass through). */
export function observeRuntime(runtime: PodRuntime, observer: RuntimeObserver): PodRuntime {
  function observed<A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) {
    return async (...args: A): Promise<R> => {
      const started = performance.now();
      let result: R;
      try {
        result = await call(...args);
      } catch (error) {
        observer.failed?.(operation, error);
        throw error;
      }
      observer.succeeded?.(operation, (performance.now() - started) / 1000);
      return result;
    };
  }
  const wrapped: PodRuntime = {
    name: runtime.name,
    prepare: observed('prepare', () => runtime.prepare()),
    runPod: observed('run_pod', (plan) => runtime.runPod(plan)),
    inspectPod: observed('inspect_pod', (hash) => runtime.inspectPod(hash)),
    listPods: observed('list_pods', () => runtime.listPods()),
    deletePod: observed('delete_pod', (hash) => runtime.deletePod(hash)),
    pullImage: observed('pull_image', (image) => runtime.pullImage(image)),
    removeImage: observed('remove_image', (image) => runtime.removeImage(image)),
    openLogs: observed('open_logs', (hash, options) => runtime.openLogs(hash, options)),
    close: () => runtime.close(),
  };
  const importImage = runtime.importImage?.bind(runtime);
  if (importImage) wrapped.importImage = observed('import_image', (source) => importImage(source));
  const podNetwork = runtime.podNetwork?.bind(runtime);
  if (podNetwork) wrapped.podNetwork = observed('pod_network', () => podNetwork());
  if (runtime.watchPods) wrapped.watchPods = runtime.watchPods.bind(runtime);
  return wrapped;
}
