import { setTimeout as sleep } from 'node:timers/promises';
import type { EnvVar, Manifest, ManifestHash, PodPlan, PodRecord, PodRequest } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { PaymentBooking } from '../payments/billing.js';
import type { ContainerLogSource, LogOptions, PodRuntime } from '../runtime/driver.js';
import type { Store } from '../store/store.js';
import { createExpiryScheduler } from './expiry-scheduler.js';
import { createImageRetention } from './image-retention.js';
import type { PodDirectory } from './pod-directory.js';
import { createPodHooks, type PodHooks } from './pod-hooks.js';
import { createPodLifecycle } from './pod-lifecycle.js';
import { createPodRemoval } from './pod-removal.js';
import { createPodPlanner } from './pod-plans.js';
import { createPodRecords, isLive, type PodRecords } from './pod-records.js';
import type { PrivateVarsCipher } from './private-vars.js';
import { createKeyedMutex } from '../util/keyed-mutex.js';
import { createReconciler, type ReconcileGuard, type ReconcileReport } from './reconciler.js';
import { createStartCooldown } from './start-cooldown.js';
import { watchAvailability } from '../runtime/availability.js';

export type { ReconcileGuard, ReconcileReport } from './reconciler.js';

export interface PodManagerOptions {
  store: Store;
  /** Mirrors the store's pod records in memory for the proxy; this manager keeps it in step. */
  directory: PodDirectory;
  runtime: PodRuntime;
  cipher: PrivateVarsCipher;
  logger: Logger;
  /** CODIUS_PUBLIC_URI, injected into pods as CODIUS_HOST. */
  publicUri: string;
  reconcileIntervalMs: number;
  /** How often passes are retried while the runtime does not answer (see Reconciler); 5 s by default. */
  reconcileRetryMs?: number;
  /** Environment the host adds to every container of every pod. */
  hostEnvironment?: (hash: ManifestHash) => EnvVar[];
  /** Checked before every reconcile pass (the pod firewall); see Reconciler. */
  reconcileGuards?: readonly ReconcileGuard[];
  /** Images codiusd pulled are removed after this long unused; never when unset. */
  imageRetentionMs?: number;
  now?: () => number;
}

/** The pods of this host, as the HTTP layer and the composition root see them. */
export interface PodManager extends PodHooks {
  /**
   * Arms the expiry timers and prepares the runtime (one call, so uploads can start). Never throws for
   * runtime trouble.
   */
  start(): Promise<void>;
  /**
   * In the background, once the host serves: loads the records into the directory a page at a time
   * (retried while the store fails), then starts the reconcile passes, the first one at once. A host
   * with many pods thus serves at once; what needs every pod waits for the directory's `whenLoaded()`.
   */
  startReconciling(): void;
  /** Stops timers and waits for work in progress. Pods keep running. */
  stop(): Promise<void>;
  /** True while the runtime answers (and the pod firewall holds): new pods may start. */
  ready(): boolean;
  /** True once a reconcile pass has gone through every recorded pod since the start. */
  firstPassDone(): boolean;
  /** The plan of a request: what would run, under which hash (throws a CodiusError for a bad manifest). */
  plan(request: PodRequest): PodPlan;
  /**
   * Throws CodiusError `start_cooling_down` while a manifest's pod has failed to start (or crashed) too
   * often: checked before a payment for a new pod is asked for.
   */
  checkStart(hash: ManifestHash): void;
  /** See PodLifecycle.run. */
  run(request: PodRequest, durationSeconds: number, booking?: PaymentBooking): Promise<PodRecord>;
  /** See PodLifecycle.extend. */
  extend(hash: ManifestHash, durationSeconds: number, booking?: PaymentBooking): Promise<PodRecord | null>;
  /** The pod's record while it is paid for (not expired, not being removed). */
  get(hash: ManifestHash): Promise<PodRecord | undefined>;
  /** The stored public manifest of a live pod. */
  manifest(hash: ManifestHash): Promise<Manifest | undefined>;
  openLogs(hash: ManifestHash, options: LogOptions): Promise<ContainerLogSource[] | null>;
  /** Marks every pod whose time is up as terminating and starts removing it. */
  expireDue(): Promise<void>;
  /** Compares the runtime with the store and repairs both directions. */
  reconcile(): Promise<ReconcileReport>;
}

/** How long a failed load of the pod records waits before it is tried again, at most. */
const LOAD_RETRY_MAX_MS = 30_000;

/**
 * Loads the directory; a store that fails is tried again, a second later and then less often, until it
 * works or `signal` aborts (the manager stops). Resolves true once loaded.
 */
async function loadRecords(records: PodRecords, logger: Logger, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 1; !signal.aborted; attempt += 1) {
    try {
      await records.loadDirectory();
      return true;
    } catch (error) {
      logger.error({ err: error, attempt }, 'could not load the pod records; trying again');
      const delayMs = Math.min(LOAD_RETRY_MAX_MS, 1_000 * 2 ** (attempt - 1));
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
  return false;
}

/**
 * Wires the pod modules together over one store and one lock per manifest: records, plans, the lifecycle,
 * removal, the expiry scheduler and the reconciler.
 */
export function createPodManager(options: PodManagerOptions): PodManager {
  const { store, logger } = options;
  // The reconciler is made below; an outage before it exists needs nothing of it.
  let onRuntimeLost = (): void => undefined;
  const watched = watchAvailability(options.runtime, () => onRuntimeLost());
  const { runtime } = watched;
  const now = options.now ?? Date.now;
  const records = createPodRecords(store, options.directory);
  const planner = createPodPlanner({
    publicUri: options.publicUri,
    manifests: store.manifests,
    cipher: options.cipher,
    ...(options.hostEnvironment ? { hostEnvironment: options.hostEnvironment } : {}),
  });
  const hooks = createPodHooks(logger);
  const mutex = createKeyedMutex();
  const cooldown = createStartCooldown({ now });
  const removal = createPodRemoval({ records, runtime, hooks, mutex, logger, now });
  const lifecycle = createPodLifecycle({ records, runtime, planner, hooks, mutex, logger, now, cooldown });
  const scheduler = createExpiryScheduler({ pods: store.pods, removal, logger, now });
  lifecycle.onExpiryChanged(() => scheduler.arm());
  const retention =
    options.imageRetentionMs === undefined
      ? undefined
      : createImageRetention({
          images: store.images,
          records,
          manifests: store.manifests,
          runtime,
          retentionMs: options.imageRetentionMs,
          now,
          logger,
        });
  if (retention) hooks.onPodStarted((event) => retention.podStarted(event));
  const reconciler = createReconciler({
    runtime,
    records,
    lifecycle,
    removal,
    scheduler,
    logger,
    now,
    intervalMs: options.reconcileIntervalMs,
    ...(options.reconcileRetryMs === undefined ? {} : { retryMs: options.reconcileRetryMs }),
    guards: options.reconcileGuards ?? [],
    chores: retention ? [() => retention.sweep()] : [],
  });
  onRuntimeLost = () => reconciler.runtimeLost();
  const stopping = new AbortController();
  let loading: Promise<boolean> | undefined;

  return {
    async start() {
      scheduler.arm();
      // One call whatever the number of pods: uploads need the runtime to answer, not every pod seen to.
      await reconciler.prepare().catch((error: unknown) => {
        logger.error(
          { err: error, runtime: runtime.name },
          'container runtime not ready; retrying in the background',
        );
      });
    },
    startReconciling() {
      // Armed once the first pass ends, so its outcome picks the cadence (quick until the runtime answers).
      loading = loadRecords(records, logger, stopping.signal);
      loading
        .then((loaded) => (loaded ? reconciler.reconcile() : undefined))
        .catch((error: unknown) => logger.error({ err: error, runtime: runtime.name }, 'reconcile failed'))
        .finally(() => reconciler.schedule());
    },
    async stop() {
      stopping.abort();
      await loading;
      scheduler.stop();
      await reconciler.stop();
      await mutex.idle();
    },
    ready: () => reconciler.ready() && watched.available(),
    firstPassDone: () => reconciler.firstPassDone(),
    plan: (request) => planner.plan(request),
    checkStart: (hash) => cooldown.check(hash),
    run: (request, durationSeconds, booking) => lifecycle.run(request, durationSeconds, booking),
    extend: (hash, durationSeconds, booking) => lifecycle.extend(hash, durationSeconds, booking),
    async get(hash) {
      const record = await store.pods.get(hash);
      return isLive(record, now()) ? record : undefined;
    },
    async manifest(hash) {
      if (!isLive(await store.pods.get(hash), now())) return undefined;
      return (await store.manifests.get(hash)) as Manifest | undefined;
    },
    openLogs: (hash, logOptions) => runtime.openLogs(hash, logOptions),
    expireDue: () => scheduler.expireDue(),
    // After the load, so a pass asked for during it joins the first pass instead of running before it.
    reconcile: () => (loading ?? Promise.resolve()).then(() => reconciler.reconcile()),
    onPodStarted: (listener) => hooks.onPodStarted(listener),
    onPodRemoved: (listener) => hooks.onPodRemoved(listener),
  };
}
