import type { Config } from '../config/config.js';
import type { MachineProbe } from '../host/host-info.js';
import type { Logger } from '../logger.js';
import type { HostMetrics } from '../metrics/host-metrics.js';
import type { RuntimeDrivers } from '../runtime/registry.js';
import type { Store } from '../store/store.js';
import type { Lifecycle } from './lifecycle.js';

/** What every phase of the start gets: where to register components, and the host's configuration. */
export interface PhaseContext {
  lifecycle: Lifecycle;
  config: Config;
  logger: Logger;
  machine: MachineProbe;
  /** The runtime drivers CODIUS_RUNTIME chooses from. */
  runtimeDrivers: RuntimeDrivers;
  /** Where every component reports what it does (served on the admin listener's /metrics). */
  metrics: HostMetrics;
}

export interface StoreAndSecret {
  store: Store;
  hostSecret: Buffer;
  hostId: string;
}
