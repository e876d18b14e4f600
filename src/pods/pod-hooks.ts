import type { ManifestHash, PodPlan, PodRecord } from '../domain/types.js';
import type { Logger } from '../logger.js';

/** A pod's runtime pod was run (a new upload, or a paid pod recreated) and is recorded as running. */
export interface PodStartedEvent {
  plan: PodPlan;
  record: PodRecord;
  /** True when a paid pod the runtime had lost was run again. */
  recreated: boolean;
  /** Images the runtime had to pull for this start. */
  pulledImages: string[];
}

/** A pod's time was up: its runtime pod is gone and its record forgotten. */
export interface PodRemovedEvent {
  hash: ManifestHash;
  /** The last record, as it was when removal began. */
  record: PodRecord;
}

type Listener<E> = (event: E) => void | Promise<void>;

/** What features that follow pods (routing, accounts, metrics) subscribe to, instead of being edited in. */
export interface PodHooks {
  onPodStarted(listener: Listener<PodStartedEvent>): void;
  onPodRemoved(listener: Listener<PodRemovedEvent>): void;
}

export interface PodHookEmitter extends PodHooks {
  /** Runs every listener in turn; a listener's failure is logged and never undoes the event. */
  started(event: PodStartedEvent): Promise<void>;
  removed(event: PodRemovedEvent): Promise<void>;
}

export function createPodHooks(logger: Logger): PodHookEmitter {
  const startedListeners: Array<Listener<PodStartedEvent>> = [];
  const removedListeners: Array<Listener<PodRemovedEvent>> = [];

  async function emit<E extends { hash?: ManifestHash; record: PodRecord }>(
    name: string,
    listeners: ReadonlyArray<Listener<E>>,
    event: E,
  ): Promise<void> {
    for (const listener of listeners) {
      try {
        await listener(event);
      } catch (error) {
        logger.error({ hash: event.record.hash, err: error, hook: name }, 'a pod hook failed');
      }
    }
  }

  return {
    onPodStarted: (listener) => startedListeners.push(listener),
    onPodRemoved: (listener) => removedListeners.push(listener),
    started: (event) => emit('pod started', startedListeners, event),
    removed: (event) => emit('pod removed', removedListeners, event),
  };
}
