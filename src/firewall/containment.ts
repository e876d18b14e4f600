import type { Logger } from '../logger.js';
import type { PodNetwork } from '../runtime/pod-network.js';
import type { BridgeLink } from './bridge-link.js';
import type { PodFirewall } from './pod-firewall.js';

/** How often the firewall is checked between reconcile passes: a changed table is found within this. */
export const CONTAINMENT_CHECK_MS = 5_000;

/** Pods must not run: the message says what is wrong and what to do. */
export class ContainmentError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ContainmentError';
  }
}

export interface ContainmentOptions {
  /** The network as configured: its subnet and gateway are what the pods' endpoint and variables use. */
  expected: PodNetwork;
  /** The network as the runtime has it (its real bridge name), made when missing; absent for runtimes with none of codiusd's. */
  podNetwork?: () => Promise<PodNetwork>;
  /** Absent when CODIUS_POD_FIREWALL=false: an operator's own firewall contains the pods. */
  firewall?: PodFirewall;
  /** Throws while the host's device nodes are not as they must be. */
  devices: () => Promise<void>;
  link: BridgeLink;
  logger: Logger;
  intervalMs?: number;
}

/**
 * The conditions pods run under, checked before every reconcile pass (no pod starts unless they hold) and
 * every few seconds in between: the host's device nodes are intact, the pod network is the configured one,
 * and the firewall holds exactly its rules for the bridge pods really use. When the firewall cannot be
 * restored, the pods' bridge is taken down, so no pod sends or receives anything unfiltered; it comes up
 * again once the rules are back.
 */
export interface Containment {
  /** Resolves when pods may run; throws (ContainmentError, NftError, …) saying why not. Concurrent calls share one check. */
  check(): Promise<void>;
  /** Whether the last check found every condition holding (false until one ran). */
  holds(): boolean;
  /** Starts the checks between reconcile passes. */
  watch(): void;
  stop(): Promise<void>;
}

export function createContainment(options: ContainmentOptions): Containment {
  const { expected, firewall, link, logger } = options;
  /** The network last read from the runtime: guarded even while the runtime does not answer. */
  let known: PodNetwork | undefined;
  /** The bridge codiusd took down, to bring up again. */
  let cut: string | undefined;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let holding = false;

  /** The network as the runtime last reported it: guarded even while the runtime does not answer. */
  async function network(read: () => Promise<PodNetwork>): Promise<PodNetwork> {
    try {
      known = await read();
    } catch (error) {
      if (!known) throw error;
    }
    return known;
  }

  function requireConfiguredSubnet(current: PodNetwork): void {
    if (current.subnet === expected.subnet && current.gateway === expected.gateway) return;
    throw new ContainmentError(
      `the pod network ${current.name} uses subnet ${current.subnet} (gateway ${current.gateway}), not CODIUS_PODMAN_SUBNET=${expected.subnet}: set CODIUS_PODMAN_SUBNET=${current.subnet}, or remove the network so codiusd makes it`,
    );
  }

  async function cutOff(bridge: string, reason: unknown): Promise<void> {
    // Checked every time: netavark or an operator may bring the bridge up again meanwhile.
    if (cut === bridge && (await link.isDown(bridge).catch(() => false))) return;
    try {
      if (await link.set(bridge, false)) {
        if (cut !== bridge) {
          logger.error(
            { bridge, err: reason },
            'the pod firewall cannot be restored: pods are cut off from the network',
          );
        }
        cut = bridge;
      }
    } catch (error) {
      logger.error({ bridge, err: error }, 'could not take the pod bridge down');
    }
  }

  async function reconnect(bridge: string): Promise<void> {
    if (cut === undefined && !(await link.isDown(bridge))) return;
    await link.set(bridge, true);
    if (cut !== undefined) logger.warn({ bridge }, 'the pod firewall is back: pods are on the network again');
    cut = undefined;
  }

  async function once(): Promise<void> {
    // The firewall first, whatever else is wrong: pods already running stay contained meanwhile.
    const current = options.podNetwork ? await network(options.podNetwork) : undefined;
    if (firewall && current) {
      try {
        await firewall.ensure(current);
      } catch (error) {
        await cutOff(current.bridge, error);
        throw error;
      }
      await reconnect(current.bridge);
    }
    if (current) requireConfiguredSubnet(current);
    await options.devices();
  }

  function check(): Promise<void> {
    running ??= once().then(
      () => {
        holding = true;
        running = undefined;
      },
      (error: unknown) => {
        holding = false;
        running = undefined;
        throw error;
      },
    );
    return running;
  }

  function schedule(): void {
    if (stopped || !firewall) return;
    timer = setTimeout(() => {
      check()
        .catch(() => undefined)
        .finally(schedule);
    }, options.intervalMs ?? CONTAINMENT_CHECK_MS);
    timer.unref();
  }

  return {
    check,
    holds: () => holding,
    watch: schedule,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
