import type { Logger } from '../logger.js';

/**
 * The composition root's start/stop stack: components start in order, and each one that started is
 * stopped in reverse order, once. A start that fails leaves exactly the components before it to stop.
 */
export interface Lifecycle {
  /**
   * Starts one component now (`start`'s value is returned) and remembers `stop` for it. Nothing is
   * remembered when `start` throws.
   */
  start<T>(
    name: string,
    start: () => Promise<T> | T,
    stop?: (started: T) => Promise<void> | void,
  ): Promise<T>;
  /**
   * Stops every started component, last started first. A stop that fails is logged; the rest still run.
   * A start under way is waited for first, so what it started (a child process, say) is stopped too, and
   * no start begins after it.
   */
  stopAll(): Promise<void>;
  /** Names of the started components, in start order. */
  started(): string[];
}

interface Started {
  name: string;
  stop: () => Promise<void> | void;
}

export function createLifecycle(logger: Logger): Lifecycle {
  const stack: Started[] = [];
  let stopping: Promise<void> | undefined;
  let pending: Promise<unknown> | undefined;

  async function unwind(): Promise<void> {
    for (let entry = stack.pop(); entry; entry = stack.pop()) {
      try {
        await entry.stop();
      } catch (error) {
        logger.error({ err: error, component: entry.name }, `could not stop ${entry.name}`);
      }
    }
  }

  return {
    async start(name, start, stop) {
      if (stopping) throw new Error(`cannot start ${name}: stopping`);
      const starting = (async () => {
        const value = await start();
        stack.push({ name, stop: () => stop?.(value) });
        return value;
      })();
      pending = starting;
      try {
        return await starting;
      } finally {
        if (pending === starting) pending = undefined;
      }
    },
    stopAll() {
      stopping ??= (async () => {
        await pending?.catch(() => undefined);
        await unwind();
      })().finally(() => {
        stopping = undefined;
      });
      return stopping;
    },
    started: () => stack.map((entry) => entry.name),
  };
}
