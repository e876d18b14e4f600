import os from 'node:os';
import type { HostAsset, HostInfo, PodUsage } from '../domain/types.js';
import type { Capacity, HostCapacity } from '../pods/capacity.js';

/** What the host-info service reads from the machine; the real `os` module in production. */
export interface MachineProbe {
  totalmem(): number;
  uptime(): number;
  loadavg(): number[];
  cpuCount(): number;
}

/** The kernel recomputes the load average every 5 s; reading it more often than this only costs syscalls. */
const LOAD_AVERAGE_TTL_MS = 1_000;

/**
 * The machine as `os` reports it, at the cost of one system call per second rather than two per /info
 * request: the uptime is the boot-relative uptime read once plus the monotonic time since (the same
 * clock), and the load average is read at most once a second.
 */
function createRealMachine(): MachineProbe {
  const uptimeAtStart = os.uptime();
  const startedAt = performance.now();
  let load = { values: os.loadavg(), readAt: performance.now() };
  return {
    totalmem: () => os.totalmem(),
    uptime: () => Math.round((uptimeAtStart + (performance.now() - startedAt) / 1000) * 100) / 100,
    loadavg() {
      const at = performance.now();
      if (at - load.readAt >= LOAD_AVERAGE_TTL_MS) load = { values: os.loadavg(), readAt: at };
      return load.values;
    },
    cpuCount: () => os.availableParallelism(),
  };
}

export const realMachine: MachineProbe = createRealMachine();

/**
 * How long the /info body's slow figures (free memory of the machine's pod budget once holds expire, the
 * peer count, the load) may be reused: what a request or an operator changes (pods, holds, readiness,
 * price) is seen at once, since it changes the reuse key.
 */
const INFO_REUSE_MS = 100;
/** The two clock fields, zeroed while the body is built and written fresh into every answer. */
const CLOCKS = '"serverUptime":0,"serviceUptime":0';

/** Sources of the figures other components own; each has an honest default until that component exists. */
export interface HostInfoSources {
  /** A number that changes whenever pods or memory set aside for uploads change. */
  revision(): number;
  podUsage(): Promise<PodUsage>;
  peerCount(): Promise<number>;
  peerUris(limit: number): Promise<string[]>;
  /** The asset the host is paid in, or null while unknown. */
  asset(): HostAsset | null;
  /** Whether payments and the runtime can take an upload right now (besides memory). */
  readyForUploads(): boolean;
  /** Whether the first reconcile pass since the start has finished. */
  podsReconciled(): boolean;
  selfTestSucceeded(): boolean;
  /** Current price per month in whole units of the asset (the admin API may change it). */
  costPerMonth(): string;
  capacity: Capacity;
  /** The payment methods that take payments now, for clients choosing how to pay. */
  paymentMethods?(): NonNullable<HostInfo['paymentMethods']>;
}

export interface HostInfoOptions {
  publicUri: string;
  additionalHostInfo: boolean;
  /** Upper bound on peers listed by /info?requestPeers=true. */
  maxListedPeers: number;
}

export interface HostInfoService {
  info(requestPeers: boolean): Promise<HostInfo>;
  /**
   * The JSON of `info(false)`, for the endpoint everything polls: reused while nothing it shows has changed
   * (at most 100 ms for the machine's figures), with the clocks read anew; synchronous when reused.
   */
  infoJson(): string | Promise<string>;
  capacity(): Promise<HostCapacity>;
  /** Seconds since this daemon started. */
  serviceUptime(): number;
}

export function createHostInfoService(
  options: HostInfoOptions,
  sources: HostInfoSources,
  machine: MachineProbe = realMachine,
  monotonicSeconds: () => number = () => process.uptime(),
): HostInfoService {
  // Fixed for the life of the process: read once, not per request.
  const cpuCount = Math.max(1, machine.cpuCount());
  const startedAt = monotonicSeconds();

  /** Seconds to the hundredth, as the machine's uptime: an answer's JSON then holds for 10 ms. */
  const serviceUptime = (): number => Math.round((monotonicSeconds() - startedAt) * 100) / 100;
  let reusable: { key: string; builtAt: number; head: string; tail: string } | undefined;

  const reuseKey = (): string =>
    `${sources.revision()} ${String(sources.readyForUploads())} ${String(sources.podsReconciled())} ` +
    `${String(sources.selfTestSucceeded())} ${sources.costPerMonth()}`;
  /** The last answer: between two ticks of the clocks' hundredths, every request gets the same string. */
  type Body = { head: string; tail: string };
  let answered: { from?: Body; serverUptime: number; serviceUptime: number; json: string } = {
    serverUptime: NaN,
    serviceUptime: NaN,
    json: '',
  };
  const withClocks = (body: Body): string => {
    const server = machine.uptime();
    const service = serviceUptime();
    if (answered.from !== body || answered.serverUptime !== server || answered.serviceUptime !== service) {
      const json = `${body.head}"serverUptime":${server},"serviceUptime":${service}${body.tail}`;
      answered = { from: body, serverUptime: server, serviceUptime: service, json };
    }
    return answered.json;
  };

  async function rebuild(key: string, at: number): Promise<string> {
    const json = JSON.stringify({ ...(await info(false)), serverUptime: 0, serviceUptime: 0 });
    const at0 = json.indexOf(CLOCKS);
    const body = { key, builtAt: at, head: json.slice(0, at0), tail: json.slice(at0 + CLOCKS.length) };
    reusable = body;
    return withClocks(body);
  }

  async function info(requestPeers: boolean): Promise<HostInfo> {
    const [usage, capacity, numPeers] = await Promise.all([
      sources.podUsage(),
      sources.capacity.snapshot(),
      sources.peerCount(),
    ]);
    const info: HostInfo = {
      fullMem: capacity.full,
      acceptingUploads: !capacity.full && sources.readyForUploads(),
      serverFreeMemory: capacity.freeMemoryBytes,
      serverUptime: machine.uptime(),
      serviceUptime: serviceUptime(),
      avgLoad: (machine.loadavg()[0] ?? 0) / cpuCount,
      numPeers,
      currency: sources.asset()?.code ?? null,
      costPerMonth: Number(sources.costPerMonth()),
      uri: options.publicUri,
      selfTestSuccess: sources.selfTestSucceeded(),
      podsReconciled: sources.podsReconciled(),
    };
    if (options.additionalHostInfo) {
      info.runningContracts = usage.runningCount;
      if (requestPeers) info.peers = await sources.peerUris(options.maxListedPeers);
    }
    if (sources.paymentMethods) info.paymentMethods = sources.paymentMethods();
    return info;
  }

  return {
    capacity: () => sources.capacity.snapshot(),
    serviceUptime,
    info,
    infoJson() {
      const key = reuseKey();
      const at = monotonicSeconds() * 1000;
      if (reusable && reusable.key === key && at - reusable.builtAt < INFO_REUSE_MS)
        return withClocks(reusable);
      return rebuild(key, at);
    },
  };
}
